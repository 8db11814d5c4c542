//! `trunkcheck analyze`: the arguments, and the loop over files (one
//! observation each, or all merged into one) that writes the text or JSON
//! report, the graph, the sequence diagram and the JUnit report.

use super::progress::decode_file;
use super::{EXIT_INPUT, EXIT_OK, EXIT_VIOLATION};
use analyzer::pipeline::PipelineStats;
use analyzer::rules::{Analysis, Policy};
use anyhow::Result;
use clap::Args;
use std::io::IsTerminal;
use std::io::Write;
use std::path::PathBuf;
use trunkcheck::report::frames::Frames;
use trunkcheck::report::sequence::{Marks, SequenceRecorder, Tee};
use trunkcheck::report::{analyze_json, analyze_text, graph, junit, sequence};

/// Arguments of `trunkcheck analyze`.
#[derive(Args)]
pub struct AnalyzeArgs {
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
    /// Also draw a sequence diagram (SVG) to this file: a lifeline per
    /// client connection and server address, every call and reply, the
    /// findings in red (at most the first 2000 messages; the picture says
    /// when more were left out). With several files, one per file,
    /// suffixed with its index.
    #[arg(long, value_name = "FILE")]
    sequence: Option<PathBuf>,
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

impl AnalyzeArgs {
    /// A new analysis as these options ask.
    fn analysis(&self) -> Analysis {
        let mut a = Analysis::new(Default::default());
        if self.complete {
            a = a.complete();
        }
        a
    }

    /// What records the sequence diagram: nothing unless it is asked for.
    fn recorder(&self) -> SequenceRecorder {
        let max = if self.sequence.is_some() {
            sequence::MAX_MESSAGES
        } else {
            0
        };
        SequenceRecorder::new(max)
    }
}

/// `trunkcheck analyze …`; the exit status.
pub fn run(args: &AnalyzeArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let mut code = EXIT_OK;
    let mut report = junit::report();
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    if args.merge {
        let paths: Vec<&std::path::Path> = args.files.iter().map(|p| p.as_path()).collect();
        let sink = Tee(args.analysis(), args.recorder());
        match analyzer::pipeline::merge::decode_files_merged(&paths, Default::default(), sink) {
            Ok((Tee(analysis, seq), stats, map)) => {
                let name = names.join(" + ");
                let obs = Observation {
                    name: &name,
                    files: &names,
                    index: None,
                    frames: Frames::Merged(&map),
                };
                code = write_reports(args, &mut out, &mut report, &obs, &analysis, &stats)?;
                write_sequence(args, &obs, &analysis, &seq);
            }
            Err(e) => {
                eprintln!("trunkcheck: {e}");
                code = EXIT_INPUT;
            }
        }
    }
    for (idx, path) in args.files.iter().enumerate().filter(|_| !args.merge) {
        let name = path.display().to_string();
        let sink = Tee(args.analysis(), args.recorder());
        match decode_file(path, Default::default(), sink) {
            Ok((Tee(analysis, seq), stats)) => {
                let obs = Observation {
                    name: &name,
                    files: std::slice::from_ref(&name),
                    index: (args.files.len() > 1).then_some(idx),
                    frames: Frames::Single,
                };
                let c = write_reports(args, &mut out, &mut report, &obs, &analysis, &stats)?;
                write_sequence(args, &obs, &analysis, &seq);
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
    frames: Frames<'a>,
}

/// Writes the reports of one observation; returns its exit status.
fn write_reports(
    args: &AnalyzeArgs,
    out: &mut impl Write,
    report: &mut quick_junit::Report,
    obs: &Observation<'_>,
    analysis: &Analysis,
    stats: &PipelineStats,
) -> Result<u8> {
    if let Some(e) = &stats.read_error {
        eprintln!("trunkcheck: warning: {e}");
    }
    let text = if args.json {
        analyze_json::json_report(obs.name, obs.files, analysis, stats, &obs.frames)
    } else {
        let paint = analyze_text::Paint::for_output(std::io::stdout().is_terminal());
        analyze_text::text_report_painted(obs.name, analysis, stats, &obs.frames, paint)
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
    let policy = Policy::default();
    junit::add_suite(report, obs.name, analysis, &obs.frames, &policy);
    Ok(if policy.capture_fails(analysis.findings()) {
        EXIT_VIOLATION
    } else {
        EXIT_OK
    })
}

/// Writes the sequence diagram of one observation, when asked for.
fn write_sequence(
    args: &AnalyzeArgs,
    obs: &Observation<'_>,
    analysis: &Analysis,
    seq: &SequenceRecorder,
) {
    let Some(path) = &args.sequence else {
        return;
    };
    let target = match obs.index {
        Some(idx) => path.with_extension(format!("{idx}.svg")),
        None => path.clone(),
    };
    let svg = seq.svg(obs.name, &Marks::findings(analysis.findings()));
    match std::fs::write(&target, svg) {
        Ok(()) => eprintln!("sequence: {}", target.display()),
        Err(e) => eprintln!("trunkcheck: cannot write {}: {e}", target.display()),
    }
}
