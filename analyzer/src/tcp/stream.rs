//! One direction of a connection: sequence numbers to 64-bit stream
//! offsets, the out-of-order buffer, and the decisions to give up holes.

use super::{GapCause, TcpLimits, TcpStats};
use crate::capture::packet::Timestamp;
use crate::tcp::flow::{ConnId, Direction, StreamSink};
use std::collections::BTreeMap;

/// Where a segment's events go and what they are attributed to.
pub(super) struct Emit<'a, S> {
    pub(super) sink: &'a mut S,
    pub(super) stats: &'a mut TcpStats,
    pub(super) conn: ConnId,
    pub(super) frame: u64,
    pub(super) ts: Timestamp,
}

impl<S: StreamSink> Emit<'_, S> {
    /// Delivers in-order bytes.
    fn data(&mut self, dir: Direction, offset: u64, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.stats.bytes_delivered += bytes.len() as u64;
        self.sink
            .data(self.conn, dir, offset, bytes, self.frame, self.ts);
    }

    /// Reports bytes that will never be delivered.
    fn gap(&mut self, dir: Direction, offset: u64, len: u64, cause: GapCause) {
        if len == 0 {
            return;
        }
        self.stats.count_gap(cause, len);
        self.sink.gap(self.conn, dir, offset, len, self.frame);
    }
}

/// A run of a segment's sequence space: captured bytes, or bytes that were
/// on the wire but not captured.
#[derive(Debug, Clone, Copy)]
enum Span<'a> {
    Bytes(&'a [u8]),
    Missing(u64),
}

impl<'a> Span<'a> {
    /// Sequence numbers covered.
    fn len(self) -> u64 {
        match self {
            Span::Bytes(b) => b.len() as u64,
            Span::Missing(n) => n,
        }
    }

    /// The span without its first `n` sequence numbers.
    fn skip(self, n: u64) -> Span<'a> {
        match self {
            Span::Bytes(b) => Span::Bytes(b.get(clamp(n, b.len())..).unwrap_or_default()),
            Span::Missing(m) => Span::Missing(m.saturating_sub(n)),
        }
    }

    /// The first `n` sequence numbers of the span.
    fn take(self, n: u64) -> Span<'a> {
        match self {
            Span::Bytes(b) => Span::Bytes(b.get(..clamp(n, b.len())).unwrap_or_default()),
            Span::Missing(m) => Span::Missing(m.min(n)),
        }
    }

    /// The part from `from` to `to` (offsets within the span).
    fn slice(self, from: u64, to: u64) -> Span<'a> {
        self.take(to).skip(from)
    }
}

/// `n` as an index into something of length `len`, capped at `len`.
fn clamp(n: u64, len: usize) -> usize {
    usize::try_from(n).map_or(len, |n| n.min(len))
}

/// A buffered out-of-order run.
#[derive(Debug)]
enum Piece {
    /// Captured bytes (a copy).
    Bytes(Vec<u8>),
    /// This many bytes that were not captured (snap length).
    Missing(u64),
}

impl Piece {
    /// Sequence numbers covered.
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Missing(n) => *n,
        }
    }

    /// Bytes of memory held (counted against the limits).
    fn mem(&self) -> usize {
        match self {
            Piece::Bytes(b) => b.len(),
            Piece::Missing(_) => 0,
        }
    }
}

/// What one segment's payload turned out to be.
#[derive(Debug, Default)]
struct Tally {
    /// Bytes already delivered or buffered.
    seen: u64,
    /// Overlapping bytes differ from the buffered copy.
    mismatch: bool,
    /// Some bytes were buffered out of order.
    buffered: bool,
}

/// One direction of a connection.
#[derive(Debug)]
pub(super) struct HalfStream {
    dir: Direction,
    /// The sequence number of the SYN, when seen.
    isn: Option<u32>,
    /// The sequence number of stream offset 0.
    base: Option<u32>,
    /// The next offset to deliver: everything before it was delivered or
    /// reported as a gap.
    next: u64,
    /// Out-of-order runs by offset; none overlap and all start after `next`.
    ooo: BTreeMap<u64, Piece>,
    /// Bytes held in `ooo`.
    ooo_bytes: usize,
    /// Offset of the FIN, once seen.
    fin_at: Option<u64>,
    /// Highest offset the peer acknowledged.
    acked: u64,
    /// Payload-carrying segments seen in this direction.
    segments: u64,
    /// Since when (time, `segments`) data has waited behind a hole.
    stalled_since: Option<(Timestamp, u64)>,
    /// The last range reported as a gap: bytes arriving there are late.
    last_gap: (u64, u64),
}

impl HalfStream {
    /// A direction about which nothing is known yet.
    pub(super) fn new(dir: Direction) -> Self {
        HalfStream {
            dir,
            isn: None,
            base: None,
            next: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            fin_at: None,
            acked: 0,
            segments: 0,
            stalled_since: None,
            last_gap: (0, 0),
        }
    }

    /// Bytes buffered out of order.
    pub(super) fn buffered(&self) -> usize {
        self.ooo_bytes
    }

    /// True if anything waits behind a hole.
    pub(super) fn pending(&self) -> bool {
        !self.ooo.is_empty()
    }

    /// True once a FIN was seen.
    pub(super) fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// The sequence number after the last delivered byte, if known.
    pub(super) fn next_seq(&self) -> Option<u32> {
        Some(self.base?.wrapping_add(self.next as u32))
    }

    /// True if a SYN with sequence number `seq` is the one already seen.
    pub(super) fn same_isn(&self, seq: u32) -> bool {
        match self.isn {
            Some(isn) => isn == seq,
            None => self.base == Some(seq.wrapping_add(1)),
        }
    }

    /// A SYN with sequence number `seq` was sent in this direction.
    pub(super) fn on_syn(&mut self, seq: u32) {
        self.isn.get_or_insert(seq);
        self.base.get_or_insert(seq.wrapping_add(1));
    }

    /// The peer's SYN/ACK acknowledged `ack`: offset 0 of this direction.
    pub(super) fn on_syn_acked(&mut self, ack: u32) {
        self.base.get_or_insert(ack);
    }

    /// The stream offset of sequence number `seq`: the one nearest to
    /// `next` (so wraparound is followed); negative before offset 0.
    fn offset_of(&self, seq: u32) -> Option<i128> {
        let rel = seq.wrapping_sub(self.base?);
        let delta = rel.wrapping_sub(self.next as u32) as i32;
        Some(i128::from(self.next) + i128::from(delta))
    }

    /// The first buffered offset.
    fn first_piece(&self) -> Option<u64> {
        self.ooo.keys().next().copied()
    }

    /// The peer acknowledged sequence number `ack` in this direction. If it
    /// acknowledges bytes never seen while later data waits, the bytes are
    /// lost from the capture: skip them.
    pub(super) fn on_ack<S: StreamSink>(&mut self, ack: u32, out: &mut Emit<'_, S>) {
        let Some(off) = self.offset_of(ack) else {
            return;
        };
        let Ok(off) = u64::try_from(off) else {
            return;
        };
        self.acked = self.acked.max(off);
        if self.acked > self.next && self.pending() {
            self.skip_acked_holes(out);
        }
    }

    /// Payload (`bytes` then `missing` uncaptured bytes) starting at
    /// sequence number `seq`. `room` is how many bytes may still be
    /// buffered across all connections.
    pub(super) fn payload<S: StreamSink>(
        &mut self,
        seq: u32,
        bytes: &[u8],
        missing: u32,
        limits: &TcpLimits,
        room: usize,
        out: &mut Emit<'_, S>,
    ) {
        self.segments += 1;
        self.base.get_or_insert(seq);
        let Some(start) = self.offset_of(seq) else {
            return;
        };
        let next_before = self.next;
        let mut room = room;
        let mut tally = Tally::default();
        let captured_end = start + bytes.len() as i128;
        self.accept(
            start,
            Span::Bytes(bytes),
            limits,
            &mut room,
            &mut tally,
            out,
        );
        let gap = Span::Missing(u64::from(missing));
        self.accept(captured_end, gap, limits, &mut room, &mut tally, out);
        self.count_segment(bytes.len() as u64, &tally, out.stats);
        if self.acked > self.next && self.pending() {
            self.skip_acked_holes(out);
        }
        if self.next != next_before || self.stalled_since.is_none() {
            self.restart_stall_clock(out.ts);
        }
    }

    /// A FIN after the payload of the segment starting at `seq` (`len`
    /// sequence numbers): the stream ends there. Buffered bytes beyond the
    /// first FIN are dropped.
    pub(super) fn on_fin(&mut self, seq: u32, len: u64, stats: &mut TcpStats) {
        if self.fin_at.is_some() {
            return;
        }
        self.base.get_or_insert(seq);
        let Some(start) = self.offset_of(seq) else {
            return;
        };
        let at = u64::try_from(start + i128::from(len)).unwrap_or(0);
        let at = at.max(self.next);
        self.fin_at = Some(at);
        let beyond = self.ooo.split_off(&at);
        for piece in beyond.values() {
            self.drop_piece_bytes(piece.mem(), stats);
        }
        if let Some((&s, piece)) = self.ooo.range_mut(..at).next_back() {
            let keep = at.saturating_sub(s);
            let before = piece.mem();
            match piece {
                Piece::Bytes(b) => b.truncate(clamp(keep, b.len())),
                Piece::Missing(n) => *n = (*n).min(keep),
            }
            let after = piece.mem();
            self.drop_piece_bytes(before - after, stats);
        }
    }

    /// Accounts for `n` buffered bytes dropped because they lie after the FIN.
    fn drop_piece_bytes(&mut self, n: usize, stats: &mut TcpStats) {
        self.ooo_bytes = self.ooo_bytes.saturating_sub(n);
        stats.bytes_after_fin += n as u64;
    }

    /// Gives up the first hole if data has waited behind it too long (in
    /// capture time or in segments of this direction).
    pub(super) fn check_stall<S: StreamSink>(&mut self, limits: &TcpLimits, out: &mut Emit<'_, S>) {
        let Some((since, segments)) = self.stalled_since else {
            return;
        };
        if !self.pending() {
            self.stalled_since = None;
            return;
        }
        let timed_out = out.ts.since(since) > limits.hole_timeout_secs;
        let too_many = self.segments.saturating_sub(segments) > limits.hole_max_segments;
        if timed_out || too_many {
            out.stats.hole_timeouts += 1;
            self.give_up_first_hole(GapCause::GivenUp, out);
        }
    }

    /// Reports the first hole as a gap and delivers what follows it.
    pub(super) fn give_up_first_hole<S: StreamSink>(
        &mut self,
        cause: GapCause,
        out: &mut Emit<'_, S>,
    ) {
        if let Some(first) = self.first_piece() {
            self.skip_to(first, cause, out);
            self.drain(out);
            self.restart_stall_clock(out.ts);
        }
    }

    /// The connection ends: every hole becomes a gap (of `cause`),
    /// everything buffered is delivered, and bytes known to exist up to the
    /// FIN (or acknowledged by the peer) but never seen become a final gap.
    pub(super) fn flush<S: StreamSink>(&mut self, cause: GapCause, out: &mut Emit<'_, S>) {
        while let Some(first) = self.first_piece() {
            self.skip_to(first, cause, out);
            self.drain(out);
        }
        // Without a FIN, an acknowledgment one past the data is likely that
        // of an uncaptured FIN rather than of a lost byte.
        let end = match self.fin_at {
            Some(fin) => fin,
            None if self.acked > self.next.saturating_add(1) => self.acked,
            None => self.next,
        };
        self.skip_to(end, GapCause::Lost, out);
        self.stalled_since = None;
    }

    /// Skips every hole below the peer's acknowledgment that has data
    /// waiting after it.
    fn skip_acked_holes<S: StreamSink>(&mut self, out: &mut Emit<'_, S>) {
        let limit = self.fin_at.map_or(self.acked, |fin| self.acked.min(fin));
        while self.next < limit {
            let Some(first) = self.first_piece() else {
                break;
            };
            self.skip_to(first.min(limit), GapCause::Lost, out);
            self.drain(out);
        }
        self.restart_stall_clock(out.ts);
    }

    /// Takes one run of a segment starting at offset `start`.
    fn accept<S: StreamSink>(
        &mut self,
        start: i128,
        span: Span<'_>,
        limits: &TcpLimits,
        room: &mut usize,
        tally: &mut Tally,
        out: &mut Emit<'_, S>,
    ) {
        let mut span = span;
        if let Some(fin) = self.fin_at {
            let keep = (i128::from(fin) - start).clamp(0, i128::from(span.len()));
            let keep = u64::try_from(keep).unwrap_or(0);
            if let Span::Bytes(_) = span {
                out.stats.bytes_after_fin += span.len() - keep;
            }
            span = span.take(keep);
        }
        let next = i128::from(self.next);
        let mut start = start;
        if start < next {
            let old = u64::try_from(next - start).map_or(span.len(), |n| n.min(span.len()));
            if let Span::Bytes(_) = span {
                self.count_old(start, old, tally, out.stats);
            }
            span = span.skip(old);
            start = next;
        }
        if span.len() == 0 {
            return;
        }
        let Ok(start) = u64::try_from(start) else {
            return;
        };
        if let Span::Bytes(bytes) = span {
            self.compare_with_buffered(start, bytes, tally);
        }
        self.place(start, span, limits, room, tally, out);
    }

    /// `len` bytes at `start` (before `next`) arrived again: duplicates,
    /// or late if they fall in the last gap.
    fn count_old(&self, start: i128, len: u64, tally: &mut Tally, stats: &mut TcpStats) {
        let (gap_start, gap_end) = (i128::from(self.last_gap.0), i128::from(self.last_gap.1));
        let end = start + i128::from(len);
        let late = (end.min(gap_end) - start.max(gap_start)).max(0);
        let late = u64::try_from(late).unwrap_or(0);
        stats.late_bytes += late;
        tally.seen += len - late;
    }

    /// Counts the bytes of `bytes` (at `start`) already buffered, and
    /// whether any differ from the buffered copy (which wins).
    fn compare_with_buffered(&self, start: u64, bytes: &[u8], tally: &mut Tally) {
        let end = start.saturating_add(bytes.len() as u64);
        let from = self
            .ooo
            .range(..start)
            .next_back()
            .map_or(start, |(&s, _)| s);
        for (&s, piece) in self.ooo.range(from..end) {
            let lo = s.max(start);
            let hi = s.saturating_add(piece.len()).min(end);
            if hi <= lo {
                continue;
            }
            tally.seen += hi - lo;
            if let Piece::Bytes(held) = piece {
                let held = held.get(clamp(lo - s, held.len())..clamp(hi - s, held.len()));
                let new = bytes.get(clamp(lo - start, bytes.len())..clamp(hi - start, bytes.len()));
                if held != new {
                    tally.mismatch = true;
                }
            }
        }
    }

    /// Delivers, buffers, or (at a limit) gives up holes to make room for
    /// a run starting at or after `next`.
    fn place<S: StreamSink>(
        &mut self,
        start: u64,
        span: Span<'_>,
        limits: &TcpLimits,
        room: &mut usize,
        tally: &mut Tally,
        out: &mut Emit<'_, S>,
    ) {
        let (mut start, mut span) = (start, span);
        loop {
            if start < self.next {
                // Overlapped buffered data just delivered (counted already).
                span = span.skip(self.next - start);
                start = self.next;
            }
            if span.len() == 0 {
                return;
            }
            if start == self.next {
                let until_buffered = self
                    .first_piece()
                    .map_or(u64::MAX, |s| s.saturating_sub(start));
                let now = span.take(until_buffered);
                self.deliver(start, now, out);
                start = self.next;
                span = span.skip(now.len());
                *room = room.saturating_add(self.drain(out));
                continue;
            }
            let holes = self.uncovered(start, start.saturating_add(span.len()));
            if holes.is_empty() {
                return;
            }
            let mem = match span {
                Span::Bytes(_) => holes.iter().map(|&(a, b)| clamp(b - a, usize::MAX)).sum(),
                Span::Missing(_) => 0,
            };
            let fits = self.ooo_bytes.saturating_add(mem) <= limits.max_ooo_bytes
                && self.ooo.len().saturating_add(holes.len()) <= limits.max_ooo_segments
                && mem <= *room;
            if fits {
                self.buffer(start, span, &holes);
                *room -= mem;
                tally.buffered = true;
                return;
            }
            // At a limit: give up the first hole (up to this run if it is
            // the first thing after the hole) rather than grow.
            let hole_end = self.first_piece().map_or(start, |s| s.min(start));
            if mem <= *room {
                out.stats.ooo_limit_hits += 1;
            } else {
                out.stats.total_limit_hits += 1;
            }
            self.skip_to(hole_end, GapCause::GivenUp, out);
            *room = room.saturating_add(self.drain(out));
        }
    }

    /// The sub-ranges of `start..end` not covered by buffered runs.
    fn uncovered(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let mut holes = Vec::new();
        let mut cursor = start;
        if let Some((&s, piece)) = self.ooo.range(..start).next_back() {
            cursor = cursor.max(s.saturating_add(piece.len()));
        }
        for (&s, piece) in self.ooo.range(start..end) {
            if s > cursor {
                holes.push((cursor, s));
            }
            cursor = cursor.max(s.saturating_add(piece.len()));
        }
        if cursor < end {
            holes.push((cursor, end));
        }
        holes
    }

    /// Copies the parts `holes` of a run starting at `start` into the buffer.
    fn buffer(&mut self, start: u64, span: Span<'_>, holes: &[(u64, u64)]) {
        for &(a, b) in holes {
            let piece = match span.slice(a - start, b - start) {
                Span::Bytes(bytes) => Piece::Bytes(bytes.to_vec()),
                Span::Missing(n) => Piece::Missing(n),
            };
            self.ooo_bytes += piece.mem();
            self.ooo.insert(a, piece);
        }
    }

    /// Delivers a run starting at `next` and moves `next` past it.
    fn deliver<S: StreamSink>(&mut self, start: u64, span: Span<'_>, out: &mut Emit<'_, S>) {
        match span {
            Span::Bytes(bytes) => out.data(self.dir, start, bytes),
            Span::Missing(n) => self.report_gap(start, n, GapCause::NotCaptured, out),
        }
        self.next = start.saturating_add(span.len());
    }

    /// Delivers the buffered runs that now follow `next`; returns the bytes
    /// of memory freed.
    fn drain<S: StreamSink>(&mut self, out: &mut Emit<'_, S>) -> usize {
        let mut freed = 0;
        while let Some(entry) = self.ooo.first_entry() {
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let piece = entry.remove();
            freed += piece.mem();
            self.ooo_bytes = self.ooo_bytes.saturating_sub(piece.mem());
            let end = start.saturating_add(piece.len());
            if end <= self.next {
                continue;
            }
            let skip = self.next - start;
            match &piece {
                Piece::Bytes(bytes) => {
                    let rest = bytes.get(clamp(skip, bytes.len())..).unwrap_or_default();
                    out.data(self.dir, self.next, rest);
                }
                Piece::Missing(_) => {
                    self.report_gap(self.next, end - self.next, GapCause::NotCaptured, out)
                }
            }
            self.next = end;
        }
        freed
    }

    /// Reports everything from `next` to `to` as a gap and moves past it.
    fn skip_to<S: StreamSink>(&mut self, to: u64, cause: GapCause, out: &mut Emit<'_, S>) {
        if to > self.next {
            self.report_gap(self.next, to - self.next, cause, out);
            self.next = to;
        }
    }

    /// Emits a gap and remembers it (to recognise late bytes).
    fn report_gap<S: StreamSink>(
        &mut self,
        offset: u64,
        len: u64,
        cause: GapCause,
        out: &mut Emit<'_, S>,
    ) {
        out.gap(self.dir, offset, len, cause);
        self.last_gap = (offset, offset.saturating_add(len));
    }

    /// Data waits behind a hole from now on (or nothing waits).
    fn restart_stall_clock(&mut self, ts: Timestamp) {
        self.stalled_since = self.pending().then_some((ts, self.segments));
    }

    /// Classifies one payload-carrying segment in the statistics.
    fn count_segment(&self, len: u64, tally: &Tally, stats: &mut TcpStats) {
        stats.retransmitted_bytes += tally.seen;
        if len > 0 && tally.seen >= len {
            stats.retransmitted_segments += 1;
        } else if tally.seen > 0 {
            stats.overlapping_segments += 1;
        }
        if tally.mismatch {
            stats.overlap_mismatches += 1;
        }
        if tally.buffered {
            stats.out_of_order_segments += 1;
        }
    }
}
