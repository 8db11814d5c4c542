//! `trunkcheck decode`: the arguments and the loop over files (or a live
//! interface) that feeds the decode report.

use super::progress::{decode_file_one_thread, decode_file_parallel};
use super::{EXIT_INPUT, EXIT_OK};
use analyzer::pipeline::PipelineLimits;
use analyzer::xdr::PayloadMode;
use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use trunkcheck::report::decode::DecodeOutput;
use trunkcheck::report::stats::problem_text;

/// Arguments of `trunkcheck decode`.
#[derive(Args)]
pub struct DecodeArgs {
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
    /// How `--json` writes file data (READ and WRITE payload): `len` its
    /// length in bytes, `hex`, or `escaped` text (`\xNN` for bytes that
    /// are not printable).
    #[arg(long, value_enum, value_name = "MODE", default_value = "len")]
    data: DataMode,
    /// List each problem found (gaps, malformed records) on stderr.
    #[arg(long)]
    problems: bool,
    /// Threads decoding and formatting messages while another reads and
    /// reassembles (default: one per core for files of 4 MiB or more; 1:
    /// everything on one thread). The output is the same.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Files smaller than this are decoded on one thread unless `--threads`
/// says otherwise (starting threads costs more than they save).
const PARALLEL_ABOVE: u64 = 4 << 20;

/// One thread per core for a file worth it, else one.
fn default_threads(path: &std::path::Path) -> usize {
    let big = std::fs::metadata(path).is_ok_and(|m| m.len() >= PARALLEL_ABOVE);
    if big {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    } else {
        1
    }
}

/// How `--json` writes file data.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataMode {
    /// Its length in bytes (a number).
    Len,
    /// Lower-case hexadecimal.
    Hex,
    /// Text, non-printable bytes as `\xNN` (lossless).
    Escaped,
}

impl DataMode {
    fn payload(self) -> PayloadMode {
        match self {
            DataMode::Len => PayloadMode::Len,
            DataMode::Hex => PayloadMode::Hex,
            DataMode::Escaped => PayloadMode::Escaped,
        }
    }
}

/// The pipeline's bounds as command-line options (each unset option keeps
/// its default); one struct for every subcommand that decodes captures.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Most TCP connections tracked at once (least recently active evicted).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most unanswered calls remembered in all (oldest forgotten).
    #[arg(long, value_name = "N")]
    pub max_pending_calls: Option<usize>,
    /// Most unanswered calls remembered per connection.
    #[arg(long, value_name = "N")]
    pub max_pending_per_conn: Option<usize>,
    /// Largest RPC record accepted, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_record: Option<usize>,
    /// Most bytes buffered out of order per connection direction.
    #[arg(long, value_name = "BYTES")]
    pub max_ooo_bytes: Option<usize>,
    /// Most bytes buffered out of order in all.
    #[arg(long, value_name = "BYTES")]
    pub max_total_ooo_bytes: Option<usize>,
    /// Most bytes of records in progress held in all.
    #[arg(long, value_name = "BYTES")]
    pub max_stream_buffer: Option<usize>,
}

impl LimitArgs {
    /// The pipeline limits: the defaults with the options given.
    pub fn limits(&self) -> PipelineLimits {
        let mut l = PipelineLimits::default();
        let set = |v: Option<usize>, field: &mut usize| {
            if let Some(v) = v {
                *field = v.max(1);
            }
        };
        set(self.max_connections, &mut l.tcp.max_connections);
        set(self.max_pending_calls, &mut l.exchange.max_pending_total);
        set(
            self.max_pending_per_conn,
            &mut l.exchange.max_pending_per_conn,
        );
        set(self.max_record, &mut l.stream.max_record);
        set(self.max_ooo_bytes, &mut l.tcp.max_ooo_bytes);
        set(self.max_total_ooo_bytes, &mut l.tcp.max_total_bytes);
        set(self.max_stream_buffer, &mut l.stream.max_buffered_bytes);
        l
    }
}

/// `trunkcheck decode …`; the exit status.
pub fn run(args: &DecodeArgs) -> Result<u8> {
    if let Some(iface) = &args.interface {
        return run_live(args, iface);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut err = std::io::stderr();
    let mut code = EXIT_OK;
    for path in &args.files {
        let name = path.display().to_string();
        let payload = args.data.payload();
        let sink = DecodeOutput::new(&mut out, args.json, &name).payload(payload);
        let workers = args.threads.unwrap_or_else(|| default_threads(path));
        let result = if workers > 1 {
            let json = args.json;
            decode_file_parallel(path, args.limits.limits(), sink, workers, || {
                DecodeOutput::in_memory(json, &name).payload(payload)
            })
        } else {
            decode_file_one_thread(path, args.limits.limits(), sink)
        };
        match result {
            Ok((mut sink, stats)) => {
                if let Some(e) = &stats.read_error {
                    let _ = writeln!(err, "trunkcheck: warning: {e}");
                }
                if args.problems {
                    for p in &stats.problems {
                        let _ = writeln!(err, "{name}: {}", problem_text(p));
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
    let sink = DecodeOutput::new(out, args.json, &name).payload(args.data.payload());
    let (mut sink, stats) =
        analyzer::pipeline::Pipeline::new(args.limits.limits(), sink).run(&mut src, |_, _| {});
    let _ = src.flush();
    let mut err = std::io::stderr();
    if args.problems {
        for pr in &stats.problems {
            let _ = writeln!(err, "{name}: {}", problem_text(pr));
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
