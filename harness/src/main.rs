//! `trunkcheck`: a conformance suite and packet analyzer for NFSv4 identity,
//! trunking and failover.

mod analyze;
mod decode;
mod graph;
mod junit;
mod run_cli;
mod targets_cli;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status: everything read and nothing violated.
const EXIT_OK: u8 = 0;
/// Exit status: a violation was found.
const EXIT_VIOLATION: u8 = 1;
/// Exit status: unusable input (a file that cannot be read) or bad usage.
const EXIT_INPUT: u8 = 2;

#[derive(Parser)]
#[command(name = "trunkcheck", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode NFSv4 traffic in capture files: one line per RPC message.
    Decode(DecodeArgs),
    /// Rebuild who is who in captures: servers, clients, client IDs, sessions.
    Analyze(AnalyzeArgs),
    /// List the built-in target profiles, or check a target file.
    Targets(targets_cli::TargetsArgs),
    /// Start a target's servers (built-in Ganesha lab) and keep them up
    /// until Ctrl-C or `--for SECS`.
    Lab(targets_cli::LabArgs),
    /// Run the conformance scenarios against a target (default: local
    /// Ganesha started by trunkcheck).
    Run(run_cli::RunArgs),
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed); each is
    /// analysed on its own unless `--merge` is given.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Analyse all the files as one observation (e.g. captures taken at two
    /// servers, or before and after a restart): frames interleaved by
    /// timestamp, each file's connections kept apart, evidence named
    /// `file#frame`.
    #[arg(long)]
    merge: bool,
    /// Write the report as JSON (one document per file, one per line).
    #[arg(long)]
    json: bool,
    /// Also draw the model as Graphviz DOT to this file (and SVG beside it
    /// when `dot` is installed); with several files, one per file is
    /// written, suffixed with its index.
    #[arg(long, value_name = "FILE")]
    graph: Option<PathBuf>,
    /// Also write a JUnit XML report (a test case per rule per capture).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// The capture is complete: it holds every connection of every client
    /// in it, with nothing lost, so that rules resting on something not
    /// happening (no RECLAIM_COMPLETE, no earlier request on a slot) may
    /// judge. Without it they are reported as not judged.
    #[arg(long)]
    complete: bool,
}

#[derive(Args)]
struct DecodeArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed).
    #[arg(required_unless_present = "interface")]
    files: Vec<PathBuf>,
    /// Capture live from this interface instead (build with `--features live`).
    #[arg(long, conflicts_with = "files")]
    interface: Option<String>,
    /// BPF filter for live capture.
    #[arg(long, default_value = "tcp", requires = "interface")]
    filter: String,
    /// Stop a live capture after this many seconds.
    #[arg(long, requires = "interface")]
    duration: Option<f64>,
    /// Also write the live capture to this pcap file.
    #[arg(long, requires = "interface")]
    save: Option<PathBuf>,
    /// Write JSON Lines (one object per message, then a summary object).
    #[arg(long)]
    json: bool,
    /// List each problem found (gaps, malformed records) on stderr.
    #[arg(long)]
    problems: bool,
    #[command(flatten)]
    limits: decode::LimitArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => run_decode(&args),
        Command::Analyze(args) => run_analyze(&args),
        Command::Targets(args) => targets_cli::run_targets(&args),
        Command::Lab(args) => targets_cli::run_lab(&args),
        Command::Run(args) => run_cli::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("trunkcheck: {e:#}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

fn run_decode(args: &DecodeArgs) -> Result<u8> {
    if let Some(iface) = &args.interface {
        return run_live(args, iface);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut err = std::io::stderr();
    let mut code = EXIT_OK;
    for path in &args.files {
        let name = path.display().to_string();
        let sink = decode::DecodeOutput::new(&mut out, args.json, &name);
        let result = decode_with_limits(path, args.limits.limits(), sink);
        match result {
            Ok((mut sink, stats)) => {
                if let Some(e) = &stats.read_error {
                    let _ = writeln!(err, "trunkcheck: warning: {e}");
                }
                if args.problems {
                    for p in &stats.problems {
                        let _ = writeln!(err, "{name}: {}", decode::problem_text(p));
                    }
                }
                sink.summary(&stats, &mut err);
                if let Some(e) = sink.write_error.take() {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(code);
                    }
                    return Err(e.into());
                }
            }
            Err(e) => {
                let _ = writeln!(err, "trunkcheck: {e}");
                code = EXIT_INPUT;
            }
        }
    }
    out.flush()?;
    Ok(code)
}

/// Runs the pipeline over one file into `sink`, with a progress bar when
/// that helps.
fn decode_with_progress<M: analyzer::exchange::MessageSink>(
    path: &std::path::Path,
    sink: M,
) -> std::result::Result<(M, analyzer::pipeline::PipelineStats), analyzer::capture::CaptureError> {
    decode_with_limits(path, Default::default(), sink)
}

/// [`decode_with_progress`] within the given limits.
fn decode_with_limits<M: analyzer::exchange::MessageSink>(
    path: &std::path::Path,
    limits: analyzer::pipeline::PipelineLimits,
    sink: M,
) -> std::result::Result<(M, analyzer::pipeline::PipelineStats), analyzer::capture::CaptureError> {
    let bar = progress_bar(path);
    let result = analyzer::pipeline::decode_file(path, limits, sink, |done, total| {
        if let (Some(b), Some(t)) = (&bar, total) {
            b.set_length(t);
            b.set_position(done);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

/// A progress bar on stderr for files over 16 MiB, when stderr is a terminal.
fn progress_bar(path: &std::path::Path) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let len = std::fs::metadata(path).ok()?.len();
    if len < 16 << 20 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(feature = "live")]
fn run_live(args: &DecodeArgs, iface: &str) -> Result<u8> {
    let mut src = analyzer::capture::LiveSource::open(iface, &args.filter, 262_144)?;
    if let Some(path) = &args.save {
        src.save_to(path)?;
    }
    if let Some(secs) = args.duration {
        let stop = src.stop_handle();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.0)));
            stop.stop();
        });
    }
    let stdout = std::io::stdout();
    let out = std::io::LineWriter::new(stdout.lock());
    let name = format!("live:{iface}");
    let sink = decode::DecodeOutput::new(out, args.json, &name);
    let (mut sink, stats) =
        analyzer::pipeline::Pipeline::new(args.limits.limits(), sink).run(&mut src, |_, _| {});
    let _ = src.flush();
    let mut err = std::io::stderr();
    if args.problems {
        for pr in &stats.problems {
            let _ = writeln!(err, "{name}: {}", decode::problem_text(pr));
        }
    }
    sink.summary(&stats, &mut err);
    Ok(EXIT_OK)
}

#[cfg(not(feature = "live"))]
fn run_live(_args: &DecodeArgs, iface: &str) -> Result<u8> {
    anyhow::bail!(
        "live capture from {iface} needs a build with `--features live` (and libpcap-dev installed)"
    )
}

fn run_analyze(args: &AnalyzeArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let mut code = EXIT_OK;
    let mut report = junit::report();
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    if args.merge {
        let paths: Vec<&std::path::Path> = args.files.iter().map(|p| p.as_path()).collect();
        let mut analysis = analyzer::rules::Analysis::new(Default::default());
        if args.complete {
            analysis = analysis.complete();
        }
        match analyzer::pipeline::merge::decode_files_merged(&paths, Default::default(), analysis) {
            Ok((analysis, stats, map)) => {
                let name = names.join(" + ");
                let obs = Observation {
                    name: &name,
                    files: &names,
                    index: None,
                    frames: analyze::Frames::Merged(&map),
                };
                code = analyze_report(args, &mut out, &mut report, &obs, &analysis, &stats)?;
            }
            Err(e) => {
                eprintln!("trunkcheck: {e}");
                code = EXIT_INPUT;
            }
        }
    }
    for (idx, path) in args.files.iter().enumerate().filter(|_| !args.merge) {
        let name = path.display().to_string();
        let mut analysis = analyzer::rules::Analysis::new(Default::default());
        if args.complete {
            analysis = analysis.complete();
        }
        match decode_with_progress(path, analysis) {
            Ok((analysis, stats)) => {
                let obs = Observation {
                    name: &name,
                    files: std::slice::from_ref(&name),
                    index: (args.files.len() > 1).then_some(idx),
                    frames: analyze::Frames::Single,
                };
                let c = analyze_report(args, &mut out, &mut report, &obs, &analysis, &stats)?;
                if code == EXIT_OK {
                    code = c;
                }
            }
            Err(e) => {
                eprintln!("trunkcheck: {e}");
                code = EXIT_INPUT;
            }
        }
    }
    out.flush()?;
    if let Some(path) = &args.junit {
        let xml = report.to_string()?;
        std::fs::write(path, xml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(code)
}

/// What one report is about: a file, or several merged.
struct Observation<'a> {
    /// The name shown (file names joined by " + " when merged).
    name: &'a str,
    /// The capture files.
    files: &'a [String],
    /// Index of the file among several analysed one by one (graph suffix).
    index: Option<usize>,
    /// How frames are named.
    frames: analyze::Frames<'a>,
}

/// Writes the reports of one observation; returns its exit status.
fn analyze_report(
    args: &AnalyzeArgs,
    out: &mut impl Write,
    report: &mut quick_junit::Report,
    obs: &Observation<'_>,
    analysis: &analyzer::rules::Analysis,
    stats: &analyzer::pipeline::PipelineStats,
) -> Result<u8> {
    if let Some(e) = &stats.read_error {
        eprintln!("trunkcheck: warning: {e}");
    }
    let text = if args.json {
        analyze::json_report(obs.name, obs.files, analysis, stats, &obs.frames)
    } else {
        analyze::text_report(obs.name, analysis, stats, &obs.frames)
    };
    writeln!(out, "{text}")?;
    if let Some(g) = &args.graph {
        let target = match obs.index {
            Some(idx) => g.with_extension(format!("{idx}.dot")),
            None => g.clone(),
        };
        match graph::write(&target, &graph::dot(obs.name, analysis)) {
            Ok(Some(svg)) => eprintln!("graph: {} and {}", target.display(), svg.display()),
            Ok(None) => eprintln!("graph: {} (install graphviz for SVG)", target.display()),
            Err(e) => eprintln!("trunkcheck: cannot write {}: {e}", target.display()),
        }
    }
    let policy = analyzer::rules::Policy::default();
    junit::add_suite(report, obs.name, analysis, &obs.frames, &policy);
    Ok(if analyze::fails(analysis, &policy) {
        EXIT_VIOLATION
    } else {
        EXIT_OK
    })
}
