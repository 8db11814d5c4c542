//! The whole decoding pipeline: frames → link/IP/TCP slices → reassembled
//! streams → RPC records → decoded messages, with the counters and the list
//! of problems (each with its frame) that `decode` and `analyze` report.

pub mod merge;
pub mod parallel;

use crate::capture::packet::Transport;
use crate::capture::{CaptureError, FileSource, Frame};
use crate::exchange::{ExchangeLimits, ExchangeStats, Exchanges, Message, MessageSink, Notice};
use crate::rpc::stream::{NoticeKind, RpcStreams, StreamLimits, StreamStats};
use crate::tcp::flow::ConnId;
use crate::tcp::flow::StreamSink;
use crate::tcp::{Reassembler, TcpLimits, TcpStats};
use std::net::SocketAddr;
use std::path::Path;

/// Every bound of the pipeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineLimits {
    /// TCP reassembly bounds.
    pub tcp: TcpLimits,
    /// RPC stream bounds.
    pub stream: StreamLimits,
    /// Call table bounds.
    pub exchange: ExchangeLimits,
    /// Problems listed individually (more are only counted); 0 means 1000.
    pub max_problems: usize,
}

/// A problem found in the input, with the frame where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The frame.
    pub frame: u64,
    /// A short, stable kind: `malformed-frame`, `gap`, `skipped`,
    /// `oversized-record`, `truncated-record`, `not-rpc`, `buffer-limit`,
    /// `bad-rpc-header`, `malformed-compound`, `read-error`.
    pub kind: &'static str,
    /// What happened, in words.
    pub message: String,
}

/// What the pipeline saw.
#[derive(Debug, Clone, Default)]
pub struct PipelineStats {
    /// Frames read.
    pub frames: u64,
    /// Captured bytes in them.
    pub bytes: u64,
    /// Frames that carry no IP (ARP, ...).
    pub non_ip_frames: u64,
    /// Frames that could not be sliced (truncated or malformed headers,
    /// unsupported link types).
    pub malformed_frames: u64,
    /// UDP datagrams (not decoded further).
    pub udp_datagrams: u64,
    /// IP fragments and other IP protocols.
    pub other_ip: u64,
    /// TCP connections seen.
    pub connections: u64,
    /// Gaps in TCP streams.
    pub gaps: u64,
    /// Bytes in those gaps.
    pub gap_bytes: u64,
    /// TCP reassembly counters.
    pub tcp: TcpStats,
    /// RPC stream counters.
    pub stream: StreamStats,
    /// Call/reply counters.
    pub exchange: ExchangeStats,
    /// Problems, in frame order (at most `max_problems`).
    pub problems: Vec<Problem>,
    /// Problems beyond the listed ones.
    pub problems_dropped: u64,
    /// The error that stopped reading the file early, if any (the frames
    /// before it were decoded).
    pub read_error: Option<String>,
    /// The limits in force.
    pub limits: PipelineLimits,
    /// The kind of that error (see [`CaptureErrorKind::name`](crate::capture::CaptureErrorKind::name)).
    pub read_error_kind: Option<&'static str>,
}

/// One bound of the pipeline and how often input reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitHit {
    /// A short, stable name (`max_connections`, ...).
    pub name: &'static str,
    /// The bound in force.
    pub limit: u64,
    /// Times it was reached (each time something was evicted, given up or
    /// dropped, and counted).
    pub hits: u64,
    /// What reaching it cost, in words.
    pub effect: &'static str,
}

impl PipelineStats {
    /// Every bound, with how often it was reached (0 when never).
    pub fn limit_hits(&self) -> Vec<LimitHit> {
        let l = &self.limits;
        let hit = |name, limit: usize, hits, effect| LimitHit {
            name,
            limit: limit as u64,
            hits,
            effect,
        };
        vec![
            hit(
                "max_connections",
                l.tcp.max_connections,
                self.tcp.evictions,
                "least recently active connections evicted",
            ),
            hit(
                "max_ooo_bytes",
                l.tcp.max_ooo_bytes,
                self.tcp.ooo_limit_hits,
                "holes given up in a direction buffering too much out of order",
            ),
            hit(
                "max_total_ooo_bytes",
                l.tcp.max_total_bytes,
                self.tcp.total_limit_hits,
                "holes given up to keep out-of-order bytes under the total",
            ),
            hit(
                "hole_timeout",
                l.tcp.hole_timeout_secs as usize,
                self.tcp.hole_timeouts,
                "holes given up after waiting too long",
            ),
            hit(
                "max_record",
                l.stream.max_record,
                self.stream.oversized_records,
                "records over the size limit skipped",
            ),
            hit(
                "max_stream_buffer",
                l.stream.max_buffered_bytes,
                self.stream.buffer_limit_drops,
                "records in progress dropped to keep buffered bytes under the total",
            ),
            hit(
                "max_pending_per_conn",
                l.exchange.max_pending_per_conn,
                self.exchange.evicted_calls_conn_limit,
                "oldest unanswered calls of a connection forgotten",
            ),
            hit(
                "max_pending_total",
                l.exchange.max_pending_total,
                self.exchange.evicted_calls_total_limit,
                "oldest unanswered calls forgotten",
            ),
            hit(
                "max_cb_programs",
                l.exchange.max_cb_programs,
                self.exchange.cb_programs_dropped,
                "callback program numbers not remembered",
            ),
            hit(
                "max_problems",
                l.max_problems_or_default(),
                self.problems_dropped,
                "problems counted but not listed",
            ),
        ]
    }

    /// Records that were not well-formed RPC / NFS messages.
    pub fn malformed_records(&self) -> u64 {
        self.exchange.bad_rpc_headers
            + self.exchange.bad_bodies
            + self.stream.oversized_records
            + self.stream.truncated_records
    }
}

/// The problems found, in the order they were found (each with a key that
/// says so), at most `max` of them listed: the first ones by key.
#[derive(Debug)]
pub(crate) struct ProblemList {
    problems: Vec<(u64, Problem)>,
    /// The largest key in `problems`.
    max_key: u64,
    next_key: u64,
    dropped: u64,
    max: usize,
}

impl ProblemList {
    fn new(max: usize) -> Self {
        ProblemList {
            problems: Vec::new(),
            max_key: 0,
            next_key: 0,
            dropped: 0,
            max,
        }
    }

    /// A key for something found now (keys grow in the order found).
    pub(crate) fn next_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    /// Adds a problem found now.
    pub(crate) fn add(&mut self, frame: u64, kind: &'static str, message: String) {
        let key = self.next_key();
        self.add_keyed(key, frame, kind, message);
    }

    /// Adds a problem found at `key` (possibly before others already
    /// added: the ones kept are the first `max` by key).
    pub(crate) fn add_keyed(&mut self, key: u64, frame: u64, kind: &'static str, message: String) {
        // After every problem kept, with `max` kept already: not kept.
        if key > self.max_key && self.problems.len() >= self.max {
            self.dropped += 1;
            return;
        }
        self.max_key = self.max_key.max(key);
        self.problems.push((
            key,
            Problem {
                frame,
                kind,
                message,
            },
        ));
        if self.problems.len() > 2 * self.max.max(1) {
            self.keep_first();
        }
    }

    /// Sorts by key and keeps the first `max`.
    fn keep_first(&mut self) {
        self.problems.sort_by_key(|(k, _)| *k);
        if self.problems.len() > self.max {
            self.dropped += (self.problems.len() - self.max) as u64;
            self.problems.truncate(self.max);
        }
        self.max_key = self.problems.last().map_or(0, |(k, _)| *k);
    }

    /// The problems kept, in frame order (found first first within a
    /// frame), and how many more there were.
    fn into_sorted(mut self) -> (Vec<Problem>, u64) {
        self.keep_first();
        let mut problems: Vec<Problem> = self.problems.into_iter().map(|(_, p)| p).collect();
        problems.sort_by_key(|p| p.frame);
        (problems, self.dropped)
    }
}

/// Passes messages on and turns notices into [`Problem`]s.
struct Collector<M> {
    inner: M,
    problems: ProblemList,
}

impl PipelineLimits {
    /// `max_problems`, with 0 meaning the default of 1000.
    pub fn max_problems_or_default(&self) -> usize {
        if self.max_problems == 0 {
            1000
        } else {
            self.max_problems
        }
    }
}

impl<M> Collector<M> {
    fn add(&mut self, frame: u64, kind: &'static str, message: String) {
        self.problems.add(frame, kind, message);
    }
}

fn conn_text(c: ConnId) -> String {
    format!("connection {c}")
}

/// The problem a notice reports: its frame, kind and words.
pub(crate) fn notice_problem(n: &Notice) -> (u64, &'static str, String) {
    match n {
        Notice::Stream(s) => {
            let (kind, what) = match &s.what {
                NoticeKind::Gap { offset, len } => {
                    ("gap", format!("{len} bytes missing at stream offset {offset}"))
                }
                NoticeKind::Skipped { offset, len } => (
                    "skipped",
                    format!("{len} bytes at stream offset {offset} skipped to find the next RPC record"),
                ),
                NoticeKind::OversizedRecord { offset, claimed } => (
                    "oversized-record",
                    format!("record marker at stream offset {offset} claims {claimed} bytes"),
                ),
                NoticeKind::TruncatedRecord { offset } => (
                    "truncated-record",
                    format!("stream ends inside the record starting at offset {offset}"),
                ),
                NoticeKind::NotRpc => ("not-rpc", "carries no ONC RPC".to_string()),
                NoticeKind::BufferLimit { offset, dropped } => (
                    "buffer-limit",
                    format!("{dropped} bytes held dropped at the stream buffer limit; hunting again from stream offset {offset}"),
                ),
                NoticeKind::NoRecord { bytes } => (
                    "not-rpc",
                    format!("ended after {bytes} bytes without any ONC RPC record"),
                ),
            };
            let dir = match s.dir {
                crate::tcp::flow::Direction::ToServer => "to server",
                crate::tcp::flow::Direction::ToClient => "to client",
            };
            (
                s.frame,
                kind,
                format!("{} {dir}: {what}", conn_text(s.conn)),
            )
        }
        Notice::BadRpcHeader { conn, frame, error } => (
            *frame,
            "bad-rpc-header",
            format!(
                "{}: record is not an RPC message: {error}",
                conn_text(*conn)
            ),
        ),
        Notice::BadBody {
            conn,
            frame,
            xid,
            kind,
            error,
        } => (
            *frame,
            "malformed-compound",
            format!(
                "{}: {} xid {xid:#010x}: {error}",
                conn_text(*conn),
                kind.as_str()
            ),
        ),
    }
}

impl<M: MessageSink> MessageSink for Collector<M> {
    fn message(&mut self, m: &Message<'_>) {
        self.inner.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        let (frame, kind, message) = notice_problem(n);
        self.add(frame, kind, message);
        self.inner.notice(n);
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

/// The stages before the RPC stream layer: frames sliced and their TCP
/// segments reassembled (one reassembler per file of a merged analysis).
struct Front {
    tcp: Reassembler,
    /// Reassemblers of the other files of a merged analysis (file n at n-1),
    /// so that each file's connections stay its own.
    more_tcp: Vec<Reassembler>,
    tcp_limits: TcpLimits,
    stats: PipelineStats,
    last_frame: u64,
}

impl Front {
    fn new(limits: PipelineLimits) -> Self {
        Front {
            tcp: Reassembler::new(limits.tcp),
            more_tcp: Vec::new(),
            tcp_limits: limits.tcp,
            stats: PipelineStats {
                limits,
                ..PipelineStats::default()
            },
            last_frame: 0,
        }
    }

    /// One frame of the `source`-th file into `streams`; a frame that
    /// cannot be sliced is returned as a problem's words.
    fn frame_from<S: StreamSink>(
        &mut self,
        source: usize,
        f: &Frame<'_>,
        streams: &mut S,
    ) -> Option<String> {
        self.stats.frames += 1;
        self.stats.bytes += f.data.len() as u64;
        self.last_frame = f.number;
        let packet = match crate::capture::slice(f.linktype, f.data, f.orig_len) {
            Ok(p) => p,
            Err(e) if e.is_not_ip() => {
                self.stats.non_ip_frames += 1;
                return None;
            }
            Err(e) => {
                self.stats.malformed_frames += 1;
                return Some(e.to_string());
            }
        };
        match packet.transport {
            Transport::Tcp(seg) => {
                let src = SocketAddr::new(packet.src, seg.src_port);
                let dst = SocketAddr::new(packet.dst, seg.dst_port);
                let tcp = if source == 0 {
                    &mut self.tcp
                } else {
                    while self.more_tcp.len() < source {
                        let n = self.more_tcp.len() as u64 + 1;
                        self.more_tcp.push(Reassembler::with_first_id(
                            self.tcp_limits,
                            n << crate::tcp::flow::CONN_FILE_SHIFT,
                        ));
                    }
                    &mut self.more_tcp[source - 1]
                };
                tcp.segment(f.number, f.ts, src, dst, &seg, streams);
            }
            Transport::Udp(_) => self.stats.udp_datagrams += 1,
            Transport::Fragment | Transport::Other(_) => self.stats.other_ip += 1,
        }
        None
    }

    /// Notes that reading stopped early; returns the frame to blame.
    fn read_error(&mut self, e: &CaptureError) -> u64 {
        self.stats.read_error = Some(e.to_string());
        self.stats.read_error_kind = Some(e.kind().name());
        e.frame().unwrap_or(self.last_frame + 1)
    }

    /// End of capture: every connection flushed into `streams`.
    fn flush<S: StreamSink>(&mut self, streams: &mut S) {
        let last = self.last_frame;
        self.tcp.finish(last, streams);
        for t in &mut self.more_tcp {
            t.finish(last, streams);
        }
    }

    /// The counters, with the TCP and stream layers' and these.
    fn stats(
        self,
        stream: StreamStats,
        exchange: ExchangeStats,
        problems: ProblemList,
    ) -> PipelineStats {
        let mut stats = self.stats;
        stats.tcp = self.tcp.stats().clone();
        for t in &self.more_tcp {
            stats.tcp.absorb(t.stats());
        }
        stats.stream = stream;
        stats.exchange = exchange;
        stats.connections = stats.tcp.connections_opened;
        let g = stats.tcp.gaps();
        stats.gaps = g.gaps;
        stats.gap_bytes = g.bytes;
        let (problems, dropped) = problems.into_sorted();
        stats.problems = problems;
        stats.problems_dropped = dropped;
        stats
    }
}

/// The pipeline for one capture (one observation).
pub struct Pipeline<M: MessageSink> {
    front: Front,
    streams: RpcStreams<Exchanges<Collector<M>>>,
}

impl<M: MessageSink> Pipeline<M> {
    /// A pipeline that hands decoded messages to `sink`.
    pub fn new(limits: PipelineLimits, sink: M) -> Self {
        let collector = Collector {
            inner: sink,
            problems: ProblemList::new(limits.max_problems_or_default()),
        };
        Pipeline {
            front: Front::new(limits),
            streams: RpcStreams::new(limits.stream, Exchanges::new(limits.exchange, collector)),
        }
    }

    /// Processes one captured frame.
    pub fn frame(&mut self, f: &Frame<'_>) {
        self.frame_from(0, f)
    }

    /// Processes one frame of the `source`-th file of a merged analysis:
    /// its TCP connections are reassembled apart from other files' (ids
    /// from `source << CONN_FILE_SHIFT`), whatever their 5-tuples.
    pub fn frame_from(&mut self, source: usize, f: &Frame<'_>) {
        if let Some(e) = self.front.frame_from(source, f, &mut self.streams) {
            self.collector().add(f.number, "malformed-frame", e);
        }
    }

    fn collector(&mut self) -> &mut Collector<M> {
        &mut self.streams.sink.sink
    }

    /// Notes that reading stopped early (the error names the file and frame).
    pub fn read_error(&mut self, e: &CaptureError) {
        let frame = self.front.read_error(e);
        self.collector().add(frame, "read-error", e.to_string());
    }

    /// Ends the capture: flushes streams, counts what never completed, and
    /// returns the sink and the counters.
    pub fn finish(mut self) -> (M, PipelineStats) {
        self.front.flush(&mut self.streams);
        self.streams.sink.finish();
        let stream = self.streams.stats().clone();
        let exchange = self.streams.sink.stats();
        let collector = self.streams.sink.sink;
        let stats = self.front.stats(stream, exchange, collector.problems);
        (collector.inner, stats)
    }
}

/// Where frames come from: one capture file, several merged by time, or a
/// live device. Every way of reading a capture goes through
/// [`Pipeline::run`] with one of these.
pub trait FrameSource {
    /// The next frame and the index of the input it came from (0 when there
    /// is one input); `Ok(None)` at the end. An error ends the input it came
    /// from: a source of one input returns `Ok(None)` after it, a merged
    /// source goes on with its other inputs.
    fn next_frame(&mut self) -> Result<Option<(usize, Frame<'_>)>, CaptureError>;

    /// Bytes read so far, and the total when known (for progress bars).
    fn progress(&self) -> (u64, Option<u64>) {
        (0, None)
    }
}

impl FrameSource for FileSource {
    fn next_frame(&mut self) -> Result<Option<(usize, Frame<'_>)>, CaptureError> {
        Ok(FileSource::next_frame(self)?.map(|f| (0, f)))
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.bytes_read(), self.total_bytes())
    }
}

#[cfg(feature = "live")]
impl FrameSource for crate::capture::LiveSource {
    fn next_frame(&mut self) -> Result<Option<(usize, Frame<'_>)>, CaptureError> {
        Ok(crate::capture::LiveSource::next_frame(self)?.map(|f| (0, f)))
    }
}

/// How many frames go by between two progress reports.
const PROGRESS_EVERY: u64 = 4096;

impl<M: MessageSink> Pipeline<M> {
    /// Runs the pipeline over every frame of `source` and finishes it.
    /// `progress` is called now and then with (bytes read, total bytes if
    /// known). An error reading the source is reported in the stats
    /// (`read_error` and a `read-error` problem) after every frame before it
    /// was decoded.
    pub fn run<S: FrameSource + ?Sized>(
        mut self,
        source: &mut S,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> (M, PipelineStats) {
        let mut n = 0u64;
        loop {
            match source.next_frame() {
                Ok(Some((input, f))) => {
                    self.frame_from(input, &f);
                    n += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    self.read_error(&e);
                    continue;
                }
            }
            if n % PROGRESS_EVERY == 0 {
                let (done, total) = source.progress();
                progress(done, total);
            }
        }
        let (done, total) = source.progress();
        progress(done, total);
        self.finish()
    }
}

/// Decodes a capture file into `sink` ([`Pipeline::run`] over a
/// [`FileSource`]). An error opening the file is an `Err`; an error later in
/// the file stops reading and is reported in the stats.
pub fn decode_file<M: MessageSink>(
    path: &Path,
    limits: PipelineLimits,
    sink: M,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<(M, PipelineStats), CaptureError> {
    let mut src = FileSource::open(path)?;
    Ok(Pipeline::new(limits, sink).run(&mut src, progress))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problems added out of order keep the first `max` by key, as if
    /// added in order.
    #[test]
    fn problem_lists_keep_the_first_by_key_whatever_the_arrival() {
        for max in [1, 3, 10] {
            let mut keys: Vec<u64> = (1..=40).collect();
            // A fixed shuffle: reversed runs of 7.
            for c in keys.chunks_mut(7) {
                c.reverse();
            }
            let mut l = ProblemList::new(max);
            for &k in &keys {
                l.add_keyed(k, 100 - k, "gap", k.to_string());
            }
            let (got, dropped) = l.into_sorted();
            let mut want: Vec<u64> = (1..=max as u64).collect();
            want.sort_by_key(|k| 100 - k);
            let got: Vec<u64> = got.iter().map(|p| p.message.parse().unwrap()).collect();
            assert_eq!(got, want, "max {max}");
            assert_eq!(dropped, 40 - max as u64);
        }
    }
}
