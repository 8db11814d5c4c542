//! Running the pipeline over one capture file with a progress bar on
//! stderr when that helps (a large file, on a terminal).

use analyzer::capture::CaptureError;
use analyzer::exchange::MessageSink;
use analyzer::pipeline::parallel::{run_parallel, run_pipelined, ByteSink};
use analyzer::pipeline::{PipelineLimits, PipelineStats};
use std::io::IsTerminal;
use std::path::Path;

/// Files this large are read on a thread of their own while the messages
/// go to the sink on this one (when there are two cores or more).
const PIPELINE_ABOVE: u64 = 4 << 20;

/// Runs the pipeline over `path` into `sink` within `limits`, with a
/// progress bar when that helps; a large file is read, reassembled and
/// routed on another thread meanwhile (same messages, same counters; see
/// [`analyzer::pipeline::parallel::run_pipelined`]).
pub fn decode_file<M: MessageSink>(
    path: &Path,
    limits: PipelineLimits,
    sink: M,
) -> Result<(M, PipelineStats), CaptureError> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let large = std::fs::metadata(path).is_ok_and(|m| m.len() >= PIPELINE_ABOVE);
    if cores < 2 || !large {
        return decode_file_one_thread(path, limits, sink);
    }
    let mut src = analyzer::capture::FileSource::open(path)?;
    let bar = progress_bar(path);
    let result = run_pipelined(&mut src, limits, sink, |done, total| {
        if let (Some(b), Some(t)) = (&bar, total) {
            b.set_length(t);
            b.set_position(done);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(result)
}

/// [`decode_file`] on this thread alone.
pub fn decode_file_one_thread<M: MessageSink>(
    path: &Path,
    limits: PipelineLimits,
    sink: M,
) -> Result<(M, PipelineStats), CaptureError> {
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

/// [`decode_file`] with `workers` threads decoding and formatting (see
/// [`analyzer::pipeline::parallel::run_parallel`]; same output).
pub fn decode_file_parallel<M, S, F>(
    path: &Path,
    limits: PipelineLimits,
    sink: M,
    workers: usize,
    make_sink: F,
) -> Result<(M, PipelineStats), CaptureError>
where
    M: ByteSink,
    S: ByteSink + Send,
    F: Fn() -> S + Sync,
{
    let mut src = analyzer::capture::FileSource::open(path)?;
    let bar = progress_bar(path);
    let result = run_parallel(&mut src, limits, sink, workers, make_sink, |done, total| {
        if let (Some(b), Some(t)) = (&bar, total) {
            b.set_length(t);
            b.set_position(done);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(result)
}

/// A progress bar on stderr for files over 16 MiB, when stderr is a terminal.
fn progress_bar(path: &Path) -> Option<indicatif::ProgressBar> {
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
