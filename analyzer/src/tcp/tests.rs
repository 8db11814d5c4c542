//! Tests of TCP reassembly on hand-built segment sequences, a property test
//! and a garbage test.

use super::*;
use crate::capture::packet::TcpFlags;
use crate::tcp::flow::Direction;
use std::collections::HashMap;

// ---------------------------------------------------------------------------
// A recording sink that checks the StreamSink contract as events arrive.

/// One direction of one connection as delivered.
#[derive(Debug, Default, Clone)]
struct Delivered {
    /// Delivered bytes, concatenated (gaps leave nothing).
    bytes: Vec<u8>,
    /// Gaps as (offset, len, frame).
    gaps: Vec<(u64, u64, u64)>,
    /// Data events as (offset, len, frame).
    data: Vec<(u64, u64, u64)>,
    /// The offset after the last event.
    end: u64,
}

/// Records what a reassembler emits and panics on any breach of the sink
/// contract: events before `open` or after `close`, two opens or closes,
/// data or gaps that are not contiguous.
#[derive(Default)]
struct Recorder {
    /// Keep the bytes (off for the long-stream tests).
    skip_bytes: bool,
    /// Forget a connection's streams once it is closed.
    forget_closed: bool,
    opened: HashMap<ConnId, ConnInfo>,
    closed: HashMap<ConnId, (CloseReason, u64)>,
    streams: HashMap<(ConnId, Direction), Delivered>,
    opens: Vec<ConnId>,
    closes: u64,
}

impl Recorder {
    fn live(&self, conn: ConnId) {
        assert!(self.opened.contains_key(&conn), "{conn}: event before open");
        assert!(
            !self.closed.contains_key(&conn),
            "{conn}: event after close"
        );
    }

    fn stream(&self, conn: ConnId, dir: Direction) -> Delivered {
        self.streams.get(&(conn, dir)).cloned().unwrap_or_default()
    }

    fn bytes(&self, conn: ConnId, dir: Direction) -> Vec<u8> {
        self.stream(conn, dir).bytes
    }

    fn gaps(&self, conn: ConnId, dir: Direction) -> Vec<(u64, u64)> {
        self.stream(conn, dir)
            .gaps
            .iter()
            .map(|&(o, l, _)| (o, l))
            .collect()
    }

    fn reason(&self, conn: ConnId) -> Option<CloseReason> {
        self.closed.get(&conn).map(|&(r, _)| r)
    }
}

impl StreamSink for Recorder {
    fn open(&mut self, conn: ConnId, info: &ConnInfo) {
        assert!(
            self.opened.insert(conn, *info).is_none(),
            "{conn}: opened twice"
        );
        self.opens.push(conn);
    }

    fn data(
        &mut self,
        conn: ConnId,
        dir: Direction,
        offset: u64,
        bytes: &[u8],
        frame: u64,
        _: Timestamp,
    ) {
        self.live(conn);
        assert!(!bytes.is_empty(), "{conn}: empty data event");
        let skip = self.skip_bytes;
        let s = self.streams.entry((conn, dir)).or_default();
        assert_eq!(offset, s.end, "{conn} {dir:?}: data not contiguous");
        s.end += bytes.len() as u64;
        if !skip {
            s.bytes.extend_from_slice(bytes);
            s.data.push((offset, bytes.len() as u64, frame));
        }
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, offset: u64, len: u64, frame: u64) {
        self.live(conn);
        assert!(len > 0, "{conn}: empty gap");
        let s = self.streams.entry((conn, dir)).or_default();
        assert_eq!(offset, s.end, "{conn} {dir:?}: gap not contiguous");
        s.end += len;
        s.gaps.push((offset, len, frame));
    }

    fn close(&mut self, conn: ConnId, reason: CloseReason, frame: u64) {
        self.live(conn);
        self.closes += 1;
        if self.forget_closed {
            self.opened.remove(&conn);
            self.streams.remove(&(conn, Direction::ToServer));
            self.streams.remove(&(conn, Direction::ToClient));
        } else {
            self.closed.insert(conn, (reason, frame));
        }
    }
}

// ---------------------------------------------------------------------------
// Building segments.

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The client and server of most tests.
fn cli() -> SocketAddr {
    addr("10.0.0.1:40000")
}
fn srv() -> SocketAddr {
    addr("10.0.0.2:2049")
}

/// Flags from letters: S(YN) A(CK) F(IN) R(ST) P(SH).
fn flags(f: &str) -> TcpFlags {
    TcpFlags {
        syn: f.contains('S'),
        ack: f.contains('A'),
        fin: f.contains('F'),
        rst: f.contains('R'),
        psh: f.contains('P'),
    }
}

fn seg<'a>(
    src: SocketAddr,
    dst: SocketAddr,
    f: &str,
    seq: u32,
    ack: u32,
    payload: &'a [u8],
) -> TcpSegment<'a> {
    TcpSegment {
        src_port: src.port(),
        dst_port: dst.port(),
        seq,
        ack,
        flags: flags(f),
        window: 65535,
        payload,
        missing: 0,
    }
}

/// Drives a reassembler, one frame per segment, 1 ms apart.
struct Run {
    r: Reassembler,
    sink: Recorder,
    frame: u64,
    ts: Timestamp,
}

impl Run {
    fn new() -> Run {
        Run::with(TcpLimits::default())
    }

    fn with(limits: TcpLimits) -> Run {
        Run {
            r: Reassembler::new(limits),
            sink: Recorder::default(),
            frame: 0,
            ts: Timestamp {
                secs: 1_000,
                nanos: 0,
            },
        }
    }

    /// Sends one segment; returns its frame number.
    fn send(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        f: &str,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> u64 {
        let s = seg(src, dst, f, seq, ack, payload);
        self.send_seg(src, dst, &s)
    }

    fn send_seg(&mut self, src: SocketAddr, dst: SocketAddr, s: &TcpSegment<'_>) -> u64 {
        self.frame += 1;
        self.ts = advance(self.ts, 0.001);
        self.r
            .segment(self.frame, self.ts, src, dst, s, &mut self.sink);
        self.check_accounting();
        self.frame
    }

    /// Client data at stream offset `off` (ISN 1000).
    fn c(&mut self, off: u32, data: &[u8]) -> u64 {
        self.send(cli(), srv(), "PA", C_ISN + 1 + off, S_ISN + 1, data)
    }

    /// The server acknowledges client offset `off`.
    fn s_ack(&mut self, off: u32) -> u64 {
        self.send(srv(), cli(), "A", S_ISN + 1, C_ISN + 1 + off, b"")
    }

    fn handshake(&mut self) {
        self.send(cli(), srv(), "S", C_ISN, 0, b"");
        self.send(srv(), cli(), "SA", S_ISN, C_ISN + 1, b"");
        self.send(cli(), srv(), "A", C_ISN + 1, S_ISN + 1, b"");
    }

    fn finish(&mut self) {
        self.frame += 1;
        self.r.finish(self.frame, &mut self.sink);
        self.check_accounting();
        assert_eq!(self.r.connections(), 0);
        assert_eq!(self.r.buffered_bytes(), 0);
    }

    /// The reassembler's running totals agree with its connections.
    fn check_accounting(&self) {
        let r = &self.r;
        let sum: usize = r
            .table
            .oldest_first()
            .iter()
            .filter_map(|&i| r.table.get(i))
            .map(|c| c.buffered())
            .sum();
        assert_eq!(sum, r.total_buffered, "total buffered out of step");
        assert!(
            r.total_buffered <= r.limits.max_total_bytes,
            "over the total limit"
        );
        assert!(
            r.connections() <= r.limits.max_connections.max(1),
            "over the connection limit"
        );
        for idx in r.table.oldest_first() {
            let Some(conn) = r.table.get(idx) else {
                continue;
            };
            assert_eq!(
                conn.pending(),
                r.pending.contains(&idx),
                "pending set out of step"
            );
        }
    }

    fn only_conn(&self) -> ConnId {
        assert_eq!(self.sink.opens.len(), 1, "expected one connection");
        self.sink.opens[0]
    }
}

const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;

fn advance(ts: Timestamp, secs: f64) -> Timestamp {
    let total = ts.nanos as f64 / 1e9 + secs;
    let whole = total.floor();
    Timestamp {
        secs: ts.secs + whole as i64,
        nanos: ((total - whole) * 1e9).round().min(999_999_999.0) as u32,
    }
}

/// Deterministic pseudo-random numbers (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

use Direction::{ToClient, ToServer};

// ---------------------------------------------------------------------------
// In order, handshake, close.

#[test]
fn handshake_data_both_ways_and_fins() {
    let mut run = Run::new();
    run.handshake();
    let f1 = run.c(0, b"hello ");
    run.c(6, b"world");
    let f3 = run.send(srv(), cli(), "PA", S_ISN + 1, C_ISN + 12, b"reply");
    run.send(cli(), srv(), "FA", C_ISN + 12, S_ISN + 6, b"");
    assert_eq!(run.r.connections(), 1);
    let f5 = run.send(srv(), cli(), "FA", S_ISN + 6, C_ISN + 13, b"");
    let c = run.only_conn();
    let info = run.sink.opened[&c];
    assert_eq!(
        (info.client, info.server, info.handshake_seen),
        (cli(), srv(), true)
    );
    assert_eq!(info.first_frame, 1);
    assert_eq!(run.sink.bytes(c, ToServer), b"hello world");
    assert_eq!(run.sink.bytes(c, ToClient), b"reply");
    assert_eq!(run.sink.stream(c, ToServer).data[0], (0, 6, f1));
    assert_eq!(run.sink.stream(c, ToClient).data[0], (0, 5, f3));
    assert_eq!(run.sink.closed[&c], (CloseReason::Fin, f5));
    assert_eq!(run.r.connections(), 0, "closed connections leave the table");
    // The last ACK of the close is not a new connection.
    run.send(cli(), srv(), "A", C_ISN + 13, S_ISN + 7, b"");
    assert_eq!(run.r.connections(), 0);
    let st = run.r.stats();
    assert_eq!(st.connections_opened, 1);
    assert_eq!(st.bytes_delivered, 16);
    assert_eq!(st.gaps().gaps, 0);
    assert_eq!(st.ignored_segments, 1);
    run.finish();
}

#[test]
fn syn_carrying_data_and_pure_acks() {
    let mut run = Run::new();
    run.send(cli(), srv(), "S", C_ISN, 0, b"early");
    run.send(srv(), cli(), "SA", S_ISN, C_ISN + 6, b"");
    run.s_ack(5);
    run.s_ack(5);
    run.c(5, b"!");
    let c = run.only_conn();
    assert_eq!(run.sink.bytes(c, ToServer), b"early!");
    run.finish();
    assert_eq!(run.sink.reason(c), Some(CloseReason::EndOfCapture));
}

#[test]
fn syn_ack_alone_sets_roles_and_both_bases() {
    let mut run = Run::new();
    run.send(srv(), cli(), "SA", S_ISN, C_ISN + 1, b"");
    run.c(0, b"abc");
    run.send(srv(), cli(), "PA", S_ISN + 1, C_ISN + 4, b"xyz");
    let c = run.only_conn();
    let info = run.sink.opened[&c];
    assert_eq!((info.client, info.handshake_seen), (cli(), true));
    assert_eq!(run.sink.bytes(c, ToServer), b"abc");
    assert_eq!(run.sink.bytes(c, ToClient), b"xyz");
    assert_eq!(run.r.stats().mid_stream_starts, 0);
}

// ---------------------------------------------------------------------------
// Out of order, retransmissions, overlaps.

/// All orderings of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut all = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            all.push(q);
        }
    }
    all
}

#[test]
fn every_order_of_four_segments() {
    let parts: [&[u8]; 4] = [b"alpha-", b"bravo--", b"c", b"delta!!!"];
    let whole: Vec<u8> = parts.concat();
    let starts: Vec<u32> = parts
        .iter()
        .scan(0, |off, p| {
            let s = *off;
            *off += p.len() as u32;
            Some(s)
        })
        .collect();
    let orders = permutations(4);
    assert_eq!(orders.len(), 24);
    for order in orders {
        let mut run = Run::new();
        run.handshake();
        let mut arrival = [0u64; 4];
        for &i in &order {
            arrival[i] = run.c(starts[i], parts[i]);
        }
        let c = run.only_conn();
        let got = run.sink.stream(c, ToServer);
        assert_eq!(got.bytes, whole, "order {order:?}");
        assert!(got.gaps.is_empty());
        // Each byte is delivered with the frame that completed its prefix.
        for &(off, len, frame) in &got.data {
            for b in off..off + len {
                let i = starts.iter().rposition(|&s| u64::from(s) <= b).unwrap();
                let expected = arrival[..=i].iter().max().copied().unwrap();
                assert_eq!(frame, expected, "order {order:?} byte {b}");
            }
        }
        assert_eq!(run.r.buffered_bytes(), 0);
        let ooo = order.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(run.r.stats().out_of_order_segments as usize >= ooo.min(1));
        run.finish();
    }
}

#[test]
fn retransmissions_and_partial_overlaps() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"abcdefgh");
    run.c(0, b"abcdefgh"); // full retransmission
    run.c(4, b"efghijkl"); // half old, half new
    run.c(16, b"qrst"); // out of order
    run.c(16, b"qrst"); // duplicate of buffered data
    let f = run.c(14, b"XXxx"); // overlaps the buffered "qr" with other bytes
    run.c(12, b"mn");
    let c = run.only_conn();
    assert_eq!(
        run.sink.bytes(c, ToServer),
        b"abcdefghijklmnXXqrst",
        "first copy wins"
    );
    let st = run.r.stats().clone();
    assert_eq!(st.retransmitted_segments, 2);
    assert_eq!(st.overlapping_segments, 2);
    assert_eq!(st.overlap_mismatches, 1);
    assert_eq!(st.retransmitted_bytes, 8 + 4 + 4 + 2);
    assert_eq!(st.bytes_delivered, 20);
    assert!(f > 0);
    // Same bytes overlapping a buffered run: not a mismatch.
    run.c(24, b"yz");
    run.c(22, b"wxyz");
    run.c(20, b"uv");
    assert_eq!(run.sink.bytes(c, ToServer), b"abcdefghijklmnXXqrstuvwxyz");
    assert_eq!(run.r.stats().overlap_mismatches, 1);
    // A segment spanning several buffered runs and the holes between them.
    run.c(30, b"4");
    run.c(32, b"6");
    run.c(26, b"0123456789");
    assert_eq!(&run.sink.bytes(c, ToServer)[26..], b"0123456789");
    run.finish();
}

#[test]
fn zero_window_probe_and_keepalive() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"abc");
    run.c(3, b"d"); // zero-window probe: one new byte
    run.c(3, b"d"); // its retransmission once the window opens
    run.c(3, b"def");
    run.c(5, b"\0"); // keep-alive: one old byte, other content
    let c = run.only_conn();
    assert_eq!(run.sink.bytes(c, ToServer), b"abcdef");
    assert!(run.sink.gaps(c, ToServer).is_empty());
}

// ---------------------------------------------------------------------------
// Mid-stream starts and roles.

#[test]
fn mid_stream_roles_are_guessed() {
    let cases = [
        // (sender, receiver, expected client)
        ("10.0.0.2:2049", "10.0.0.1:800", "10.0.0.1:800"),
        ("10.0.0.1:800", "10.0.0.2:2049", "10.0.0.1:800"),
        ("10.0.0.1:700", "10.0.0.2:40000", "10.0.0.2:40000"),
        ("10.0.0.1:50000", "10.0.0.2:40000", "10.0.0.1:50000"),
        ("10.0.0.1:40000", "10.0.0.2:50000", "10.0.0.2:50000"),
    ];
    for (src, dst, client) in cases {
        let mut run = Run::new();
        run.send(addr(src), addr(dst), "PA", 77_777, 1, b"mid");
        run.send(addr(src), addr(dst), "PA", 77_780, 1, b"dle");
        let c = run.only_conn();
        let info = run.sink.opened[&c];
        assert_eq!(info.client, addr(client), "{src} -> {dst}");
        assert!(!info.handshake_seen);
        let dir = if addr(src) == info.client {
            ToServer
        } else {
            ToClient
        };
        assert_eq!(run.sink.bytes(c, dir), b"middle");
        assert_eq!(
            run.sink.stream(c, dir).data[0].0,
            0,
            "offsets start at the first byte seen"
        );
        assert_eq!(run.r.stats().mid_stream_starts, 1);
    }
}

#[test]
fn mid_stream_retransmission_before_the_first_byte_is_dropped() {
    let mut run = Run::new();
    run.send(cli(), srv(), "PA", 5000, 1, b"world");
    run.send(cli(), srv(), "PA", 4994, 1, b"hello world");
    run.send(cli(), srv(), "PA", 5005, 1, b"!");
    let c = run.only_conn();
    assert_eq!(run.sink.bytes(c, ToServer), b"world!");
    run.finish();
}

#[test]
fn pure_acks_and_fins_on_unknown_tuples_are_ignored() {
    let mut run = Run::new();
    run.send(cli(), srv(), "A", 1, 1, b"");
    run.send(cli(), srv(), "FA", 1, 1, b"");
    run.send(cli(), srv(), "RA", 1, 1, b"rst-text");
    assert_eq!(run.r.connections(), 0);
    assert_eq!(run.r.stats().ignored_segments, 3);
    assert!(run.sink.opens.is_empty());
}

// ---------------------------------------------------------------------------
// Sequence wraparound.

#[test]
fn sequence_numbers_wrap() {
    let mut run = Run::new();
    let isn = u32::MAX - 5;
    run.send(cli(), srv(), "S", isn, 0, b"");
    run.send(srv(), cli(), "SA", S_ISN, isn.wrapping_add(1), b"");
    let at = |off: u32| isn.wrapping_add(1).wrapping_add(off);
    run.send(cli(), srv(), "PA", at(0), S_ISN + 1, b"0123");
    run.send(cli(), srv(), "PA", at(8), S_ISN + 1, b"89ab"); // past the wrap, early
    run.send(cli(), srv(), "PA", at(4), S_ISN + 1, b"4567"); // straddles the wrap
    run.send(srv(), cli(), "A", S_ISN + 1, at(12), b"");
    let c = run.only_conn();
    assert_eq!(run.sink.bytes(c, ToServer), b"0123456789ab");
    assert!(run.sink.gaps(c, ToServer).is_empty());
    run.finish();
}

#[test]
fn offsets_pass_four_gibibytes() {
    let mut run = Run::new();
    run.sink.skip_bytes = true;
    let chunk = vec![7u8; 65_536];
    let total: u64 = (1 << 32) + (1 << 20);
    let isn = 0xF000_0000u32;
    run.send(cli(), srv(), "S", isn, 0, b"");
    run.send(srv(), cli(), "SA", S_ISN, isn.wrapping_add(1), b"");
    let mut off = 0u64;
    while off < total {
        let seq = isn.wrapping_add(1).wrapping_add(off as u32);
        run.send(cli(), srv(), "A", seq, S_ISN + 1, &chunk);
        off += chunk.len() as u64;
        if off % (1 << 24) == 0 {
            run.send(srv(), cli(), "A", S_ISN + 1, seq.wrapping_add(65_536), b"");
        }
    }
    let c = run.only_conn();
    let s = run.sink.stream(c, ToServer);
    assert_eq!(s.end, total);
    assert!(s.gaps.is_empty());
    assert_eq!(run.r.stats().bytes_delivered, total);
    assert_eq!(
        run.r.stats().peak_buffered_bytes,
        0,
        "in-order bytes are never buffered"
    );
    run.finish();
}

// ---------------------------------------------------------------------------
// Gaps.

#[test]
fn snaplen_truncation_is_a_gap_at_once() {
    let mut run = Run::new();
    run.handshake();
    let mut s = seg(cli(), srv(), "PA", C_ISN + 1, S_ISN + 1, b"abcd");
    s.missing = 6;
    let f = run.send_seg(cli(), srv(), &s);
    let c = run.only_conn();
    assert_eq!(run.sink.stream(c, ToServer).gaps, vec![(4, 6, f)]);
    run.c(10, b"after");
    // Truncated and out of order: the gap comes when the hole fills.
    let mut s = seg(cli(), srv(), "PA", C_ISN + 1 + 20, S_ISN + 1, b"xy");
    s.missing = 3;
    run.send_seg(cli(), srv(), &s);
    run.c(25, b"tail");
    assert_eq!(run.sink.gaps(c, ToServer), vec![(4, 6)]);
    let f = run.c(15, b"12345");
    assert_eq!(run.sink.bytes(c, ToServer), b"abcdafter12345xytail");
    assert_eq!(
        run.sink.stream(c, ToServer).gaps,
        vec![(4, 6, 4), (22, 3, f)]
    );
    let st = run.r.stats();
    assert_eq!(st.gaps_not_captured, GapStats { gaps: 2, bytes: 9 });
    assert_eq!(st.gaps_lost.gaps + st.gaps_given_up.gaps, 0);
    run.finish();
}

#[test]
fn ack_past_a_lost_segment_skips_it() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"0123456789");
    // 10..20 lost in the capture.
    run.c(20, b"KLMNOPQRST");
    let c = run.only_conn();
    assert!(
        run.sink.gaps(c, ToServer).is_empty(),
        "waiting for a retransmission"
    );
    let f = run.s_ack(30);
    let s = run.sink.stream(c, ToServer);
    assert_eq!(s.gaps, vec![(10, 10, f)]);
    assert_eq!(s.data.last(), Some(&(20, 10, f)));
    assert_eq!(run.r.buffered_bytes(), 0);
    assert_eq!(run.r.stats().gaps_lost, GapStats { gaps: 1, bytes: 10 });
    // The retransmission, if it comes after all, is late.
    run.c(10, b"abcdefghij");
    assert_eq!(run.r.stats().late_bytes, 10);
    run.c(30, b"more");
    assert_eq!(run.sink.bytes(c, ToServer), b"0123456789KLMNOPQRSTmore");
    run.finish();
}

#[test]
fn ack_seen_before_the_data_after_the_hole() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"0123456789");
    run.s_ack(20); // acknowledges 10..20, which the capture never had
    let c = run.only_conn();
    assert!(run.sink.gaps(c, ToServer).is_empty());
    let f = run.c(20, b"KLMN");
    assert_eq!(run.sink.stream(c, ToServer).gaps, vec![(10, 10, f)]);
    assert_eq!(run.sink.bytes(c, ToServer), b"0123456789KLMN");
    // An ACK that is only one past the data (a FIN's) makes no gap at the end.
    run.s_ack(25);
    run.finish();
    assert_eq!(run.sink.gaps(c, ToServer), vec![(10, 10)]);
}

#[test]
fn acked_but_never_seen_tail_is_a_gap_at_close() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"0123456789");
    run.s_ack(25);
    run.finish();
    let c = run.only_conn();
    assert_eq!(run.sink.gaps(c, ToServer), vec![(10, 15)]);
}

#[test]
fn lost_segment_at_the_end_is_a_gap_at_finish() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"0123456789");
    run.c(20, b"KLMNOPQRST");
    run.c(30, b"UV");
    let c = run.only_conn();
    assert_eq!(run.r.buffered_bytes(), 12);
    run.finish();
    let s = run.sink.stream(c, ToServer);
    assert_eq!(s.gaps, vec![(10, 10, run.frame)]);
    assert_eq!(s.bytes, b"0123456789KLMNOPQRSTUV");
    assert_eq!(run.sink.reason(c), Some(CloseReason::EndOfCapture));
    assert_eq!(run.r.stats().gaps_lost.bytes, 10);
}

#[test]
fn fins_with_a_hole_close_with_gaps() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"0123");
    run.send(cli(), srv(), "FA", C_ISN + 1 + 10, S_ISN + 1, b"ABCD"); // 4..10 lost
    run.send(srv(), cli(), "FA", S_ISN + 1, C_ISN + 1 + 4, b"");
    let c = run.only_conn();
    assert_eq!(run.sink.reason(c), Some(CloseReason::Fin));
    assert_eq!(run.sink.gaps(c, ToServer), vec![(4, 6)]);
    assert_eq!(run.sink.bytes(c, ToServer), b"0123ABCD");
    // A FIN with bytes missing before it: the gap runs up to the FIN.
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"0123");
    run.send(cli(), srv(), "FA", C_ISN + 1 + 10, S_ISN + 1, b"");
    run.send(srv(), cli(), "FA", S_ISN + 1, C_ISN + 1 + 4, b"");
    let c = run.only_conn();
    assert_eq!(run.sink.gaps(c, ToServer), vec![(4, 6)]);
}

#[test]
fn out_of_order_limit_gives_up_the_hole() {
    let mut run = Run::with(TcpLimits {
        max_ooo_bytes: 100,
        ..TcpLimits::default()
    });
    run.handshake();
    let data: Vec<u8> = (0..200u8).collect();
    run.c(0, &data[..10]);
    // 10..20 never comes.
    run.c(20, &data[20..60]);
    run.c(60, &data[60..100]);
    let c = run.only_conn();
    assert_eq!(run.r.buffered_bytes(), 80);
    let f = run.c(100, &data[100..140]);
    assert_eq!(run.sink.stream(c, ToServer).gaps, vec![(10, 10, f)]);
    assert_eq!(run.r.buffered_bytes(), 0);
    run.c(140, &data[140..200]);
    let mut expected = data[..10].to_vec();
    expected.extend_from_slice(&data[20..]);
    assert_eq!(run.sink.bytes(c, ToServer), expected);
    assert_eq!(run.r.stats().gaps_given_up, GapStats { gaps: 1, bytes: 10 });
    // The segment-count limit works the same way.
    let mut run = Run::with(TcpLimits {
        max_ooo_segments: 2,
        ..TcpLimits::default()
    });
    run.handshake();
    run.c(2, b"c");
    run.c(4, b"e");
    run.c(6, b"g"); // a third run: give up 0..2, deliver "c", keep "e", "g"
    let c = run.only_conn();
    assert_eq!(run.sink.gaps(c, ToServer), vec![(0, 2)]);
    assert_eq!(run.sink.bytes(c, ToServer), b"c");
    run.c(3, b"d");
    run.c(5, b"f");
    assert_eq!(run.sink.bytes(c, ToServer), b"cdefg");
}

#[test]
fn a_single_segment_larger_than_the_limit_still_flows() {
    let mut run = Run::with(TcpLimits {
        max_ooo_bytes: 4,
        ..TcpLimits::default()
    });
    run.handshake();
    run.c(3, b"0123456789");
    let c = run.only_conn();
    assert_eq!(run.sink.gaps(c, ToServer), vec![(0, 3)]);
    assert_eq!(run.sink.bytes(c, ToServer), b"0123456789");
}

#[test]
fn total_limit_gives_up_the_largest_buffer_first() {
    let mut run = Run::with(TcpLimits {
        max_total_bytes: 100,
        ..TcpLimits::default()
    });
    let big = addr("10.0.0.3:40001");
    let small = addr("10.0.0.4:40002");
    run.send(big, srv(), "PA", 100, 1, b"x");
    run.send(big, srv(), "PA", 111, 1, &[1; 60]); // hole 1..11
    run.send(small, srv(), "PA", 500, 1, b"y");
    run.send(small, srv(), "PA", 502, 1, &[2; 30]); // hole 1..2
    assert_eq!(run.r.buffered_bytes(), 90);
    run.send(cli(), srv(), "PA", 900, 1, b"z");
    run.send(cli(), srv(), "PA", 910, 1, &[3; 20]); // needs 20: 110 > 100
    let big_id = run.sink.opens[0];
    let small_id = run.sink.opens[1];
    assert_eq!(run.sink.gaps(big_id, ToServer), vec![(1, 10)]);
    assert!(run.sink.gaps(small_id, ToServer).is_empty());
    assert_eq!(run.r.buffered_bytes(), 50);
    assert_eq!(run.r.stats().gaps_given_up.gaps, 1);
    run.finish();
}

#[test]
fn stalled_hole_is_given_up_after_the_timeout() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"ab");
    run.c(4, b"ef");
    let c = run.only_conn();
    run.ts = advance(run.ts, 5.0);
    run.send(addr("10.9.9.9:1"), srv(), "PA", 1, 1, b"other");
    assert!(run.sink.gaps(c, ToServer).is_empty());
    run.ts = advance(run.ts, 6.0);
    let f = run.send(addr("10.9.9.9:1"), srv(), "PA", 6, 1, b"other");
    assert_eq!(run.sink.stream(c, ToServer).gaps, vec![(2, 2, f)]);
    assert_eq!(run.sink.bytes(c, ToServer), b"abef");
    assert_eq!(run.r.stats().gaps_given_up.bytes, 2);
}

// ---------------------------------------------------------------------------
// FIN, RST, reuse, eviction.

#[test]
fn data_after_fin_is_dropped() {
    let mut run = Run::new();
    run.handshake();
    run.c(6, b"beyond"); // buffered, then cut by the FIN at 4
    run.send(cli(), srv(), "FPA", C_ISN + 1, S_ISN + 1, b"last");
    run.c(4, b"more");
    let c = run.only_conn();
    assert_eq!(run.sink.bytes(c, ToServer), b"last");
    assert_eq!(run.r.stats().bytes_after_fin, 10);
    assert_eq!(run.r.buffered_bytes(), 0);
    run.finish();
    assert_eq!(run.sink.reason(c), Some(CloseReason::Fin));
    assert!(run.sink.gaps(c, ToServer).is_empty());
}

#[test]
fn rst_closes_and_its_stragglers_are_ignored() {
    let mut run = Run::new();
    run.handshake();
    run.c(0, b"request");
    run.c(10, b"ooo");
    let f = run.send(srv(), cli(), "RA", S_ISN + 1, C_ISN + 8, b"diagnostic");
    let c = run.only_conn();
    assert_eq!(run.sink.closed[&c], (CloseReason::Reset, f));
    assert_eq!(run.sink.gaps(c, ToServer), vec![(7, 3)]);
    assert_eq!(run.sink.bytes(c, ToServer), b"requestooo");
    assert!(run.sink.bytes(c, ToClient).is_empty());
    assert_eq!(run.r.connections(), 0);
    // In flight when the RST came: not a new connection.
    run.c(13, b"in flight");
    run.c(7, b"old");
    assert_eq!(run.r.connections(), 0);
    assert_eq!(run.r.stats().late_segments, 2);
    assert_eq!(run.r.stats().rst_payload_bytes, 10);
    // Much later, or far away in sequence space: a new (mid-stream) one.
    run.ts = advance(run.ts, 61.0);
    run.c(13, b"new");
    assert_eq!(run.r.connections(), 1);
    run.finish();
}

#[test]
fn reused_tuple_gets_a_new_connection() {
    let mut run = Run::new();
    run.handshake();
    run.send(cli(), srv(), "S", C_ISN, 0, b""); // retransmitted SYN
    run.c(0, b"first");
    run.send(cli(), srv(), "FA", C_ISN + 6, S_ISN + 1, b""); // one FIN only
    assert_eq!(run.sink.opens.len(), 1);
    let f = run.send(cli(), srv(), "S", 90_000, 0, b"");
    assert_eq!(run.sink.opens.len(), 2);
    let (old, new) = (run.sink.opens[0], run.sink.opens[1]);
    assert_ne!(old, new);
    assert_eq!(run.sink.closed[&old], (CloseReason::Reused, f));
    assert!(run.sink.opened[&new].handshake_seen);
    run.send(srv(), cli(), "SA", 70_000, 90_001, b"");
    run.send(cli(), srv(), "PA", 90_001, 70_001, b"second");
    assert_eq!(run.sink.bytes(old, ToServer), b"first");
    assert_eq!(run.sink.bytes(new, ToServer), b"second");
    assert_eq!(run.r.stats().tuple_reuses, 1);
    // An out-of-place SYN on a busy connection is ignored...
    run.send(cli(), srv(), "S", 123, 0, b"");
    assert_eq!(run.sink.opens.len(), 2);
    assert_eq!(run.r.stats().ignored_segments, 1);
    // ...but not after a long idle.
    run.ts = advance(run.ts, 61.0);
    run.send(cli(), srv(), "S", 123, 0, b"");
    assert_eq!(run.sink.opens.len(), 3);
    assert_eq!(run.sink.reason(new), Some(CloseReason::Reused));
    // After a full close the tuple is free: a plain new connection.
    let third = run.sink.opens[2];
    run.send(srv(), cli(), "SA", 9, 124, b"");
    run.send(cli(), srv(), "FA", 124, 10, b"");
    run.send(srv(), cli(), "FA", 10, 125, b"");
    assert_eq!(run.sink.reason(third), Some(CloseReason::Fin));
    run.send(cli(), srv(), "S", 555, 0, b"");
    assert_eq!(run.sink.opens.len(), 4);
    assert_eq!(run.r.stats().tuple_reuses, 2);
    run.finish();
}

#[test]
fn connection_limit_evicts_the_least_recently_active() {
    let mut run = Run::with(TcpLimits {
        max_connections: 3,
        ..TcpLimits::default()
    });
    let client = |i: u16| addr(&format!("10.0.1.1:{}", 40000 + i));
    for i in 0..3 {
        run.send(client(i), srv(), "PA", 1, 1, b"a");
    }
    run.send(client(1), srv(), "PA", 4, 1, b"d"); // buffered behind a hole
    run.send(client(0), srv(), "PA", 2, 1, b"b"); // 0 and 2 active again
    run.send(client(2), srv(), "PA", 2, 1, b"b");
    run.send(client(3), srv(), "PA", 1, 1, b"a");
    let ids = run.sink.opens.clone();
    assert_eq!(run.sink.reason(ids[1]), Some(CloseReason::Evicted));
    assert_eq!(run.sink.gaps(ids[1], ToServer), vec![(1, 2)]);
    assert_eq!(run.sink.bytes(ids[1], ToServer), b"ad");
    assert_eq!(run.r.stats().gaps_given_up.gaps, 1);
    assert_eq!(run.sink.reason(ids[0]), None);
    assert_eq!(run.r.connections(), 3);
    assert_eq!(run.r.stats().evictions, 1);
    // The evicted connection comes back as a new one.
    run.send(client(1), srv(), "PA", 5, 1, b"e");
    assert_eq!(run.sink.opens.len(), 5);
    assert_eq!(run.sink.reason(ids[0]), Some(CloseReason::Evicted));
    run.finish();
}

#[test]
fn a_hundred_thousand_short_connections_stay_flat() {
    let mut run = Run::new();
    run.sink.forget_closed = true;
    for i in 0..100_000u32 {
        let c = SocketAddr::new(addr("10.0.0.1:1").ip(), 1024 + (i % 60_000) as u16);
        let isn = i.wrapping_mul(2_654_435_761);
        let at = |n: u32| isn.wrapping_add(n);
        run.send(c, srv(), "S", isn, 0, b"");
        run.send(srv(), c, "SA", 7, at(1), b"");
        run.send(c, srv(), "A", at(1), 8, b"");
        run.send(c, srv(), "PA", at(1), 8, b"call");
        run.send(srv(), c, "PA", 8, at(5), b"reply!");
        run.send(c, srv(), "FA", at(5), 14, b"");
        run.send(srv(), c, "FA", 14, at(6), b"");
        run.send(c, srv(), "A", at(6), 15, b"");
        assert!(run.r.connections() <= 1);
        assert_eq!(run.r.buffered_bytes(), 0);
    }
    let st = run.r.stats();
    assert_eq!(st.connections_opened, 100_000);
    assert_eq!(run.sink.closes, 100_000);
    assert_eq!(st.bytes_delivered, 1_000_000);
    assert_eq!(st.tuple_reuses, 0);
    assert_eq!(st.peak_connections, 1);
    let (remembered, queued) = run.r.closed.sizes();
    assert!(remembered <= run.r.limits.max_closed_remembered);
    assert!(queued <= run.r.limits.max_closed_remembered);
    assert!(run.r.table.slot_count() <= 1, "slots are reused");
    run.finish();
}

// ---------------------------------------------------------------------------
// Property and garbage tests.

/// A random stream cut into random segments, some duplicated or
/// re-segmented, reordered within a window, with the peer acknowledging
/// what it has received so far: delivered exactly, once, without gaps.
#[test]
fn random_reordering_and_duplication_deliver_exactly_once() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..300 {
        let len = rng.below(20_000) as usize;
        let data = rng.bytes(len);
        let isn = if rng.chance(30) {
            u32::MAX - rng.below(30_000) as u32
        } else {
            rng.next() as u32
        };
        // Segments as (offset, len).
        let mut segs = Vec::new();
        let mut off = 0;
        while off < len {
            let n = (1 + rng.below(1500) as usize).min(len - off);
            segs.push((off, n));
            off += n;
        }
        let mut extra = Vec::new();
        for &(o, n) in &segs {
            if rng.chance(15) {
                extra.push((o, n));
            }
            if rng.chance(10) && len > 0 {
                let a = rng.below(len as u64) as usize;
                let b = (a + 1 + rng.below(3000) as usize).min(len);
                extra.push((a, b - a));
            }
        }
        for e in extra {
            let at = rng.below(segs.len() as u64 + 1) as usize;
            segs.insert(at, e);
        }
        let window = 1 + rng.below(12) as usize;
        for i in 0..segs.len() {
            let j = (i + rng.below(window as u64) as usize).min(segs.len() - 1);
            segs.swap(i, j);
        }
        let mut run = Run::new();
        run.send(cli(), srv(), "S", isn, 0, b"");
        run.send(srv(), cli(), "SA", S_ISN, isn.wrapping_add(1), b"");
        let mut received = vec![false; len];
        let mut prefix = 0;
        for &(o, n) in &segs {
            let seq = isn.wrapping_add(1).wrapping_add(o as u32);
            run.send(cli(), srv(), "PA", seq, S_ISN + 1, &data[o..o + n]);
            received[o..o + n].iter_mut().for_each(|r| *r = true);
            while prefix < len && received[prefix] {
                prefix += 1;
            }
            if rng.chance(40) {
                let ack = isn.wrapping_add(1).wrapping_add(prefix as u32);
                run.send(srv(), cli(), "A", S_ISN + 1, ack, b"");
            }
        }
        run.send(
            cli(),
            srv(),
            "FA",
            isn.wrapping_add(1).wrapping_add(len as u32),
            S_ISN + 1,
            b"",
        );
        run.send(
            srv(),
            cli(),
            "FA",
            S_ISN + 1,
            isn.wrapping_add(2).wrapping_add(len as u32),
            b"",
        );
        let c = run.only_conn();
        let got = run.sink.stream(c, ToServer);
        assert!(got.gaps.is_empty(), "round {round}: gaps {:?}", got.gaps);
        assert!(got.bytes == data, "round {round}: stream differs");
        assert_eq!(run.sink.reason(c), Some(CloseReason::Fin), "round {round}");
        assert_eq!(run.r.stats().bytes_delivered, len as u64);
        assert_eq!(run.r.stats().overlap_mismatches, 0);
        run.finish();
    }
}

/// Random segments on a few 5-tuples, with small limits: no panic, the sink
/// contract holds, and the accounting stays right.
#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    let hosts: Vec<SocketAddr> = [
        "10.0.0.1:2049",
        "10.0.0.2:800",
        "10.0.0.3:40000",
        "[fe80::1]:2049",
        "[fe80::2]:5",
    ]
    .iter()
    .map(|s| addr(s))
    .collect();
    let limits = TcpLimits {
        max_ooo_bytes: 3_000,
        max_ooo_segments: 20,
        max_total_bytes: 4_000,
        max_connections: 4,
        hole_timeout_secs: 2.0,
        hole_max_segments: 30,
        reuse_idle_secs: 3.0,
        closed_linger_secs: 2.0,
        max_closed_remembered: 3,
    };
    for round in 0..40 {
        let mut run = Run::with(limits);
        let mut seqs = [rng.next() as u32; 8];
        for _ in 0..3_000 {
            let a = hosts[rng.below(hosts.len() as u64) as usize];
            let mut b = hosts[rng.below(hosts.len() as u64) as usize];
            if a.is_ipv4() != b.is_ipv4() || rng.chance(2) {
                b = a;
            }
            let k = rng.below(8) as usize;
            let seq = match rng.below(6) {
                0 => rng.next() as u32,
                1 => seqs[k].wrapping_add(1 << 31),
                2 => seqs[k].wrapping_sub(rng.below(3000) as u32),
                _ => seqs[k],
            };
            let n = match rng.below(10) {
                0 => 0,
                1 => rng.below(5_000) as usize,
                _ => rng.below(300) as usize,
            };
            seqs[k] = seq.wrapping_add(n as u32);
            let payload = rng.bytes(n);
            let f = rng.next();
            let mut s = seg(a, b, "", seq, seqs[rng.below(8) as usize], &payload);
            s.flags = TcpFlags {
                syn: f & 0x7 == 0,
                ack: f & 0x18 != 0,
                fin: f & 0x60 == 0x60,
                rst: f & 0x380 == 0x380,
                psh: f & 0x400 != 0,
            };
            s.missing = match rng.below(20) {
                0 => rng.next() as u32,
                1 => rng.below(100) as u32,
                _ => 0,
            };
            let step = match rng.below(50) {
                0 => 10.0,
                1 => -1.0,
                _ => 0.01,
            };
            run.ts = advance(run.ts, step);
            run.send_seg(a, b, &s);
            assert!(run.r.connections() <= 4, "round {round}");
        }
        run.finish();
        for id in &run.sink.opens {
            assert!(
                run.sink.closed.contains_key(id),
                "round {round}: {id} never closed"
            );
        }
    }
}
