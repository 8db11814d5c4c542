//! TCP reassembly: captured segments in, in-order byte streams per
//! connection and direction out (to a [`StreamSink`]).
//!
//! - Connections are keyed by their 5-tuple. The SYN sender is the client;
//!   without a captured handshake the side on port 2049 (else the only side
//!   on a port below 1024, else the side on the lower port) is the server.
//! - Offsets count from the byte after the SYN, or from the first payload
//!   byte seen in a direction (mid-stream start), as 64-bit numbers that
//!   follow the 32-bit sequence numbers across wraparound.
//! - In-order bytes are delivered at once, without copying. Out-of-order
//!   bytes are copied into a bounded buffer and delivered when the hole
//!   before them fills. Bytes already delivered or buffered are not
//!   delivered again: the first copy wins.
//! - A hole is reported as a gap, and the data after it delivered, when the
//!   peer acknowledges past it while data waits after it (the bytes were
//!   lost from the capture), when the data after it waited too long
//!   ([`TcpLimits::hole_timeout_secs`], [`TcpLimits::hole_max_segments`]),
//!   when a buffer limit is reached, and when the connection ends. Bytes
//!   not captured (snap length) are a gap at once.
//! - FINs from both sides or a RST close a connection and drop it from the
//!   table; a SYN with a new ISN after a FIN or a long idle starts a new
//!   connection on the same 5-tuple. Segments still in flight after the
//!   close are recognised and ignored for a while.

mod conn;
pub mod flow;
pub(crate) mod hash;
mod stream;
mod table;

use crate::capture::packet::{TcpSegment, Timestamp};
use crate::tcp::flow::{CloseReason, ConnId, ConnInfo, StreamSink};
use conn::{guess_roles, Conn};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use stream::Emit;
use table::{FlowKey, LruTable, Tombstones};

/// Bounds on what the reassembler keeps, and its time-outs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TcpLimits {
    /// Most bytes buffered out of order in one direction of a connection.
    pub max_ooo_bytes: usize,
    /// Most out-of-order runs buffered in one direction of a connection.
    pub max_ooo_segments: usize,
    /// Most bytes buffered out of order across all connections.
    pub max_total_bytes: usize,
    /// Most connections tracked at once (least recently active evicted).
    pub max_connections: usize,
    /// Capture seconds data may wait behind a hole before it is given up.
    pub hole_timeout_secs: f64,
    /// Segments of a direction data may wait behind a hole before it is
    /// given up.
    pub hole_max_segments: u64,
    /// Idle seconds after which a SYN with a new ISN replaces a connection
    /// that saw no FIN.
    pub reuse_idle_secs: f64,
    /// Seconds a closed connection is remembered to ignore its stragglers.
    pub closed_linger_secs: f64,
    /// Most closed connections remembered.
    pub max_closed_remembered: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_ooo_bytes: 4 << 20,
            max_ooo_segments: 1024,
            max_total_bytes: 256 << 20,
            max_connections: 16_384,
            hole_timeout_secs: 10.0,
            hole_max_segments: 1024,
            reuse_idle_secs: 60.0,
            closed_linger_secs: 60.0,
            max_closed_remembered: 16_384,
        }
    }
}

/// Why a range of a stream became a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// The bytes were sent but not in the capture (the peer acknowledged
    /// them, or the connection ended with data after them).
    Lost,
    /// The segment was captured truncated (snap length).
    NotCaptured,
    /// Given up at a buffer limit, after a time-out, or on eviction.
    GivenUp,
}

/// A count of gaps and of the bytes in them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GapStats {
    /// Number of gaps.
    pub gaps: u64,
    /// Bytes in them.
    pub bytes: u64,
}

impl GapStats {
    /// Counts one gap of `len` bytes.
    fn add(&mut self, len: u64) {
        self.gaps += 1;
        self.bytes += len;
    }
}

/// What the reassembler saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// TCP segments given to the reassembler.
    pub segments: u64,
    /// Captured payload bytes in them.
    pub payload_bytes: u64,
    /// Bytes delivered in order.
    pub bytes_delivered: u64,
    /// Segments whose payload had all been seen already.
    pub retransmitted_segments: u64,
    /// Payload bytes seen already (delivered or buffered), and bytes before
    /// the start of a mid-stream direction.
    pub retransmitted_bytes: u64,
    /// Segments partly new and partly seen already.
    pub overlapping_segments: u64,
    /// Segments whose bytes differ from the buffered copy of the same range
    /// (the first copy wins; a sign of corruption or of an evasion attempt).
    pub overlap_mismatches: u64,
    /// Segments from which bytes were buffered out of order.
    pub out_of_order_segments: u64,
    /// Gaps of bytes lost from the capture.
    pub gaps_lost: GapStats,
    /// Gaps of bytes not captured (snap length).
    pub gaps_not_captured: GapStats,
    /// Gaps given up at a limit, after a time-out or on eviction.
    pub gaps_given_up: GapStats,
    /// Bytes that arrived after their range had been reported as a gap.
    pub late_bytes: u64,
    /// Connections opened.
    pub connections_opened: u64,
    /// Connections opened without a captured SYN or SYN/ACK.
    pub mid_stream_starts: u64,
    /// New connections on the 5-tuple of a tracked one.
    pub tuple_reuses: u64,
    /// Connections evicted at the connection limit.
    pub evictions: u64,
    /// Segments that belong to no connection: without payload on an unknown
    /// 5-tuple, or a SYN out of place on an established connection.
    pub ignored_segments: u64,
    /// Segments of a recently closed connection (in flight after a RST,
    /// retransmitted after the FINs), ignored.
    pub late_segments: u64,
    /// Payload bytes after a FIN, dropped.
    pub bytes_after_fin: u64,
    /// Payload bytes of RST segments (not stream data).
    pub rst_payload_bytes: u64,
    /// Most bytes buffered out of order at once.
    pub peak_buffered_bytes: u64,
    /// Most connections tracked at once.
    pub peak_connections: u64,
    /// Holes given up because a direction reached `max_ooo_bytes` or
    /// `max_ooo_segments`.
    pub ooo_limit_hits: u64,
    /// Holes given up to stay under `max_total_bytes`.
    pub total_limit_hits: u64,
    /// Holes given up after `hole_timeout_secs` or `hole_max_segments`.
    pub hole_timeouts: u64,
}

impl TcpStats {
    /// Adds the counters of another reassembler (peaks: the larger).
    pub fn absorb(&mut self, o: &TcpStats) {
        let gaps = |a: &mut GapStats, b: &GapStats| {
            a.gaps += b.gaps;
            a.bytes += b.bytes;
        };
        self.segments += o.segments;
        self.payload_bytes += o.payload_bytes;
        self.bytes_delivered += o.bytes_delivered;
        self.retransmitted_segments += o.retransmitted_segments;
        self.retransmitted_bytes += o.retransmitted_bytes;
        self.overlapping_segments += o.overlapping_segments;
        self.overlap_mismatches += o.overlap_mismatches;
        self.out_of_order_segments += o.out_of_order_segments;
        gaps(&mut self.gaps_lost, &o.gaps_lost);
        gaps(&mut self.gaps_not_captured, &o.gaps_not_captured);
        gaps(&mut self.gaps_given_up, &o.gaps_given_up);
        self.late_bytes += o.late_bytes;
        self.connections_opened += o.connections_opened;
        self.mid_stream_starts += o.mid_stream_starts;
        self.tuple_reuses += o.tuple_reuses;
        self.evictions += o.evictions;
        self.ignored_segments += o.ignored_segments;
        self.late_segments += o.late_segments;
        self.bytes_after_fin += o.bytes_after_fin;
        self.rst_payload_bytes += o.rst_payload_bytes;
        self.peak_buffered_bytes = self.peak_buffered_bytes.max(o.peak_buffered_bytes);
        self.peak_connections = self.peak_connections.max(o.peak_connections);
    }

    /// All gaps, whatever the cause.
    pub fn gaps(&self) -> GapStats {
        GapStats {
            gaps: self.gaps_lost.gaps + self.gaps_not_captured.gaps + self.gaps_given_up.gaps,
            bytes: self.gaps_lost.bytes + self.gaps_not_captured.bytes + self.gaps_given_up.bytes,
        }
    }

    /// Counts one gap.
    fn count_gap(&mut self, cause: GapCause, len: u64) {
        match cause {
            GapCause::Lost => self.gaps_lost.add(len),
            GapCause::NotCaptured => self.gaps_not_captured.add(len),
            GapCause::GivenUp => self.gaps_given_up.add(len),
        }
    }
}

/// Capture seconds between two looks for stalled holes in all connections.
const SWEEP_INTERVAL_SECS: f64 = 1.0;

/// Rebuilds the byte streams of TCP connections from captured segments.
pub struct Reassembler {
    limits: TcpLimits,
    stats: TcpStats,
    table: LruTable<FlowKey, Conn>,
    /// Slots of the connections with data waiting behind a hole (ordered,
    /// so that the choices made at the limits are reproducible).
    pending: BTreeSet<usize>,
    closed: Tombstones,
    total_buffered: usize,
    next_id: u64,
    last_sweep: Option<Timestamp>,
}

impl Reassembler {
    /// A reassembler with nothing tracked.
    pub fn new(limits: TcpLimits) -> Self {
        Reassembler {
            limits,
            stats: TcpStats::default(),
            table: LruTable::new(),
            pending: BTreeSet::new(),
            closed: Tombstones::new(),
            total_buffered: 0,
            next_id: 0,
            last_sweep: None,
        }
    }

    /// A reassembler whose connection ids start at `first_id` (several
    /// reassemblers feeding one sink, e.g. one per file of a merged
    /// analysis, keep their connections apart this way).
    pub fn with_first_id(limits: TcpLimits, first_id: u64) -> Self {
        Reassembler {
            next_id: first_id,
            ..Reassembler::new(limits)
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &TcpLimits {
        &self.limits
    }

    /// What was seen and done so far.
    pub fn stats(&self) -> &TcpStats {
        &self.stats
    }

    /// Bytes buffered out of order across all connections.
    pub fn buffered_bytes(&self) -> usize {
        self.total_buffered
    }

    /// Connections tracked.
    pub fn connections(&self) -> usize {
        self.table.len()
    }

    /// One captured segment (frame `frame`, sent by `src` to `dst`).
    pub fn segment(
        &mut self,
        frame: u64,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &TcpSegment<'_>,
        sink: &mut impl StreamSink,
    ) {
        self.stats.segments += 1;
        self.stats.payload_bytes += seg.payload.len() as u64;
        self.sweep_if_due(frame, ts, sink);
        let Some(idx) = self.connection_for(frame, ts, src, dst, seg, sink) else {
            return;
        };
        self.make_room(seg.payload.len(), frame, ts, sink);
        self.apply(idx, frame, ts, src, seg, sink);
    }

    /// End of capture: every connection delivers what it can (holes become
    /// gaps) and is closed (`Fin` if a side sent one, else `EndOfCapture`).
    pub fn finish(&mut self, frame: u64, sink: &mut impl StreamSink) {
        for idx in self.table.oldest_first() {
            let Some(conn) = self.table.get(idx) else {
                continue;
            };
            let reason = if conn.fin_seen() {
                CloseReason::Fin
            } else {
                CloseReason::EndOfCapture
            };
            let ts = conn.last_ts;
            self.close(idx, reason, frame, ts, sink);
        }
        self.closed.clear();
        self.pending.clear();
        self.last_sweep = None;
    }

    /// The connection slot a segment belongs to, opening (or replacing) one
    /// if it starts a connection; `None` if the segment is to be ignored.
    fn connection_for(
        &mut self,
        frame: u64,
        ts: Timestamp,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &TcpSegment<'_>,
        sink: &mut impl StreamSink,
    ) -> Option<usize> {
        let key = FlowKey::new(src, dst);
        let flags = seg.flags;
        let syn_only = flags.syn && !flags.ack;
        match self.table.find(&key) {
            Some(idx) if syn_only => {
                let conn = self.table.get(idx)?;
                if conn.is_same_syn(conn.direction(src), seg.seq) {
                    return Some(idx);
                }
                if !conn.may_be_replaced(ts, &self.limits) {
                    self.stats.ignored_segments += 1;
                    return None;
                }
                self.stats.tuple_reuses += 1;
                self.close(idx, CloseReason::Reused, frame, ts, sink);
                Some(self.open(src, dst, seg, frame, ts, sink))
            }
            Some(idx) => Some(idx),
            None => {
                let carries = !seg.payload.is_empty() || seg.missing > 0;
                if flags.rst || !(flags.syn || carries) {
                    self.stats.ignored_segments += 1;
                    return None;
                }
                let linger = self.limits.closed_linger_secs;
                if !flags.syn && self.closed.is_straggler(&key, src, seg.seq, ts, linger) {
                    self.stats.late_segments += 1;
                    return None;
                }
                Some(self.open(src, dst, seg, frame, ts, sink))
            }
        }
    }

    /// Opens a connection for the first segment `seg` (from `src`), evicting
    /// the least recently active one at the connection limit.
    fn open(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &TcpSegment<'_>,
        frame: u64,
        ts: Timestamp,
        sink: &mut impl StreamSink,
    ) -> usize {
        while self.table.len() >= self.limits.max_connections.max(1) {
            let Some(oldest) = self.table.oldest() else {
                break;
            };
            self.stats.evictions += 1;
            self.close(oldest, CloseReason::Evicted, frame, ts, sink);
        }
        let flags = seg.flags;
        let handshake_seen = flags.syn;
        let (client, server) = match (flags.syn, flags.ack) {
            (true, false) => (src, dst),
            (true, true) => (dst, src),
            _ => guess_roles(src, dst),
        };
        let id = ConnId(self.next_id);
        self.next_id += 1;
        let key = FlowKey::new(src, dst);
        self.closed.forget(&key);
        let idx = self.table.insert(key, Conn::new(id, client, server, ts));
        self.stats.connections_opened += 1;
        if !handshake_seen {
            self.stats.mid_stream_starts += 1;
        }
        self.stats.peak_connections = self.stats.peak_connections.max(self.table.len() as u64);
        let info = ConnInfo {
            client,
            server,
            handshake_seen,
            first_frame: frame,
            first_ts: ts,
        };
        sink.open(id, &info);
        idx
    }

    /// Applies a segment to the connection in slot `idx`.
    fn apply(
        &mut self,
        idx: usize,
        frame: u64,
        ts: Timestamp,
        src: SocketAddr,
        seg: &TcpSegment<'_>,
        sink: &mut impl StreamSink,
    ) {
        self.table.touch(idx);
        let limits = self.limits;
        let room = limits.max_total_bytes.saturating_sub(self.total_buffered);
        let Some(conn) = self.table.get_mut(idx) else {
            return;
        };
        conn.last_ts = ts;
        let dir = conn.direction(src);
        let (before, was_pending) = (conn.buffered(), conn.pending());
        let mut out = Emit {
            sink,
            stats: &mut self.stats,
            conn: conn.id,
            frame,
            ts,
        };
        let verdict = conn.segment(dir, seg, &limits, room, &mut out);
        let (after, pending) = (conn.buffered(), conn.pending());
        self.account(idx, before, after, was_pending, pending);
        if let Some(reason) = verdict {
            self.close(idx, reason, frame, ts, sink);
        }
    }

    /// Updates the buffer totals after the connection in slot `idx` went
    /// from `before` to `after` buffered bytes.
    fn account(
        &mut self,
        idx: usize,
        before: usize,
        after: usize,
        was_pending: bool,
        pending: bool,
    ) {
        self.total_buffered = self
            .total_buffered
            .saturating_sub(before)
            .saturating_add(after);
        let total = self.total_buffered as u64;
        self.stats.peak_buffered_bytes = self.stats.peak_buffered_bytes.max(total);
        if pending && !was_pending {
            self.pending.insert(idx);
        } else if was_pending && !pending {
            self.pending.remove(&idx);
        }
    }

    /// Gives up holes, largest buffers first, until `need` more bytes fit
    /// under the total limit.
    fn make_room(&mut self, need: usize, frame: u64, ts: Timestamp, sink: &mut impl StreamSink) {
        while self.total_buffered.saturating_add(need) > self.limits.max_total_bytes
            && self.total_buffered > 0
        {
            let largest = self
                .pending
                .iter()
                .filter_map(|&idx| Some((idx, self.table.get(idx)?.largest_buffer())))
                .max_by_key(|&(_, bytes)| bytes);
            let Some((idx, _)) = largest else {
                break;
            };
            self.stats.total_limit_hits += 1;
            self.with_conn(idx, frame, ts, sink, |conn, out| {
                conn.give_up_largest_hole(out)
            });
        }
    }

    /// Looks for stalled holes in every connection with data waiting, once
    /// per [`SWEEP_INTERVAL_SECS`] of capture time.
    fn sweep_if_due(&mut self, frame: u64, ts: Timestamp, sink: &mut impl StreamSink) {
        let due = self.last_sweep.is_none_or(|last| {
            let elapsed = ts.since(last);
            !(0.0..SWEEP_INTERVAL_SECS).contains(&elapsed)
        });
        if !due {
            return;
        }
        self.last_sweep = Some(ts);
        let limits = self.limits;
        let waiting: Vec<usize> = self.pending.iter().copied().collect();
        for idx in waiting {
            self.with_conn(idx, frame, ts, sink, |conn, out| {
                conn.check_stalls(&limits, out)
            });
        }
    }

    /// Runs `f` on the connection in slot `idx` outside of its own segment,
    /// keeping the buffer totals right.
    fn with_conn<S: StreamSink>(
        &mut self,
        idx: usize,
        frame: u64,
        ts: Timestamp,
        sink: &mut S,
        f: impl FnOnce(&mut Conn, &mut Emit<'_, S>),
    ) {
        let Some(conn) = self.table.get_mut(idx) else {
            self.pending.remove(&idx);
            return;
        };
        let (before, was_pending) = (conn.buffered(), conn.pending());
        let mut out = Emit {
            sink,
            stats: &mut self.stats,
            conn: conn.id,
            frame,
            ts,
        };
        f(conn, &mut out);
        let (after, pending) = (conn.buffered(), conn.pending());
        self.account(idx, before, after, was_pending, pending);
    }

    /// Flushes and closes the connection in slot `idx`, removing it from the
    /// table (and remembering it if it ended by FIN or RST).
    fn close(
        &mut self,
        idx: usize,
        reason: CloseReason,
        frame: u64,
        ts: Timestamp,
        sink: &mut impl StreamSink,
    ) {
        let Some((key, mut conn)) = self.table.remove(idx) else {
            return;
        };
        self.pending.remove(&idx);
        self.total_buffered = self.total_buffered.saturating_sub(conn.buffered());
        let mut out = Emit {
            sink,
            stats: &mut self.stats,
            conn: conn.id,
            frame,
            ts,
        };
        // An evicted connection is alive: its holes may yet have filled.
        let cause = match reason {
            CloseReason::Evicted => GapCause::GivenUp,
            _ => GapCause::Lost,
        };
        conn.flush(cause, &mut out);
        sink.close(conn.id, reason, frame);
        if matches!(reason, CloseReason::Fin | CloseReason::Reset) {
            let capacity = self.limits.max_closed_remembered;
            self.closed.remember(key, conn.ends(), ts, capacity);
        }
    }
}

#[cfg(test)]
mod tests;
