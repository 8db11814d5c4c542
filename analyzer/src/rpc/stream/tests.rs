//! Tests of the RPC stream layer: records cut from delivered chunks with the
//! right frames, mid-record starts, gaps, bad fragment headers, non-RPC.

use super::*;
use crate::rpc::encode_record;
use std::net::SocketAddr;

#[derive(Default)]
struct Seen {
    records: Vec<(Direction, Vec<u8>, u64, u64, u64)>,
    notices: Vec<NoticeKind>,
    closed: Vec<ConnId>,
}

impl RecordSink for Seen {
    fn record(&mut self, r: RecordRef<'_>) {
        self.records
            .push((r.dir, r.bytes.to_vec(), r.offset, r.first_frame, r.frame));
    }
    fn notice(&mut self, n: StreamNotice) {
        self.notices.push(n.what);
    }
    fn closed(&mut self, conn: ConnId, _: CloseReason, _: u64) {
        self.closed.push(conn);
    }
}

fn info() -> ConnInfo {
    let c: SocketAddr = "127.0.0.1:900".parse().unwrap();
    let s: SocketAddr = "127.0.0.2:2049".parse().unwrap();
    ConnInfo {
        client: c,
        server: s,
        handshake_seen: true,
        first_frame: 1,
        first_ts: Timestamp::default(),
    }
}

/// A plausible RPC call message of `len` bytes (>= 40) with xid `xid`.
fn call(xid: u32, len: usize) -> Vec<u8> {
    let mut m = Vec::new();
    for v in [xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0] {
        m.extend_from_slice(&u32::to_be_bytes(v));
    }
    m.resize(len.max(40), 0xab);
    m
}

/// A plausible accepted-SUCCESS reply with xid `xid`.
fn reply(xid: u32, len: usize) -> Vec<u8> {
    let mut m = Vec::new();
    for v in [xid, 1, 0, 0, 0, 0] {
        m.extend_from_slice(&u32::to_be_bytes(v));
    }
    m.resize(len.max(24), 0xcd);
    m
}

fn streams() -> RpcStreams<Seen> {
    let mut s = RpcStreams::new(StreamLimits::default(), Seen::default());
    s.open(ConnId(1), &info());
    s
}

/// Feeds `stream` in chunks of the given sizes, frame numbers 10, 11, ...
fn feed(s: &mut RpcStreams<Seen>, dir: Direction, stream: &[u8], sizes: &[usize], start: u64) {
    let mut off = 0usize;
    for (i, &n) in sizes.iter().enumerate() {
        let n = n.min(stream.len() - off);
        s.data(
            ConnId(1),
            dir,
            start + off as u64,
            &stream[off..off + n],
            10 + i as u64,
            Timestamp::default(),
        );
        off += n;
    }
    assert_eq!(off, stream.len(), "sizes cover the stream");
}

#[test]
fn whole_records_in_one_chunk_and_split_ones_get_their_frames() {
    let a = call(1, 60);
    let b = call(2, 300);
    let c = call(3, 40);
    let mut stream = encode_record(&a, 1 << 20);
    stream.extend(encode_record(&b, 100)); // three fragments
    stream.extend(encode_record(&c, 1 << 20));
    let mut s = streams();
    // Chunk 10: record a and part of b; 11: more of b; 12: rest of b and c.
    feed(&mut s, Direction::ToServer, &stream, &[100, 200, 1000], 0);
    let r = &s.sink.records;
    assert_eq!(r.len(), 3);
    assert_eq!((r[0].1.clone(), r[0].3, r[0].4), (a, 10, 10));
    assert_eq!((r[1].1.clone(), r[1].3, r[1].4), (b, 10, 12));
    assert_eq!((r[2].1.clone(), r[2].3, r[2].4), (c, 12, 12));
    assert_eq!(r[1].2, 64, "record b starts after a's 4+60 bytes");
    assert!(s.sink.notices.is_empty(), "{:?}", s.sink.notices);
    assert_eq!(s.stats().reassembled_records, 1);
}

#[test]
fn every_two_chunk_split_gives_the_same_records() {
    let mut stream = Vec::new();
    let msgs: Vec<Vec<u8>> = (0..4).map(|i| call(i, 40 + 13 * i as usize)).collect();
    for m in &msgs {
        stream.extend(encode_record(m, 37));
    }
    for cut in 1..stream.len() {
        let mut s = streams();
        feed(
            &mut s,
            Direction::ToServer,
            &stream,
            &[cut, stream.len()],
            0,
        );
        let got: Vec<_> = s.sink.records.iter().map(|r| r.1.clone()).collect();
        assert_eq!(got, msgs, "cut at {cut}");
    }
}

#[test]
fn capture_starting_mid_record_finds_the_next_record() {
    let a = reply(7, 200);
    let b = reply(8, 64);
    let mut stream = encode_record(&a, 1 << 20);
    stream.extend(encode_record(&b, 1 << 20));
    // Start 50 bytes into record a.
    let mut s = streams();
    feed(&mut s, Direction::ToClient, &stream[50..], &[1000], 50);
    let r = &s.sink.records;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, b);
    assert!(s.sink.notices.iter().any(|n| matches!(
        n,
        NoticeKind::Skipped {
            offset: 50,
            len: 154
        }
    )));
}

#[test]
fn gap_resynchronises_at_the_next_record() {
    let msgs: Vec<Vec<u8>> = (0..5).map(|i| call(i, 100)).collect();
    let mut stream = Vec::new();
    for m in &msgs {
        stream.extend(encode_record(m, 1 << 20));
    }
    let mut s = streams();
    // Records are 104 bytes on the wire: deliver record 0 and half of record
    // 1, lose 30 bytes inside record 1, deliver the rest.
    s.data(
        ConnId(1),
        Direction::ToServer,
        0,
        &stream[..154],
        10,
        Timestamp::default(),
    );
    s.gap(ConnId(1), Direction::ToServer, 154, 30, 11);
    s.data(
        ConnId(1),
        Direction::ToServer,
        184,
        &stream[184..],
        12,
        Timestamp::default(),
    );
    let got: Vec<_> = s.sink.records.iter().map(|r| r.1.clone()).collect();
    assert_eq!(
        got,
        vec![
            msgs[0].clone(),
            msgs[2].clone(),
            msgs[3].clone(),
            msgs[4].clone()
        ]
    );
    assert!(s.sink.notices.contains(&NoticeKind::Gap {
        offset: 154,
        len: 30
    }));
    assert_eq!(s.stats().resyncs, 1);
}

#[test]
fn oversized_fragment_header_sends_the_stream_hunting() {
    let good = call(9, 80);
    let mut stream = vec![0xff, 0xff, 0xff, 0xff]; // claims 2 GiB
    stream.extend_from_slice(&[0u8; 20]);
    stream.extend(encode_record(&good, 1 << 20));
    let mut s = streams();
    // Make the direction "in step" first with one good record.
    let first = encode_record(&call(1, 40), 1 << 20);
    feed(&mut s, Direction::ToServer, &first, &[first.len()], 0);
    feed(
        &mut s,
        Direction::ToServer,
        &stream,
        &[stream.len()],
        first.len() as u64,
    );
    let got: Vec<_> = s.sink.records.iter().map(|r| r.1.clone()).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1], good);
    assert!(s
        .sink
        .notices
        .iter()
        .any(|n| matches!(n, NoticeKind::OversizedRecord { .. })));
}

#[test]
fn a_stream_that_is_not_rpc_is_given_up_with_bounded_memory() {
    let mut s = streams();
    // NetBIOS-like framing: never a last-fragment bit with a valid header.
    let junk: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 127) as u8).collect();
    for i in 0..40u64 {
        s.data(
            ConnId(1),
            Direction::ToServer,
            i * junk.len() as u64,
            &junk,
            10 + i,
            Timestamp::default(),
        );
    }
    assert!(s.sink.records.is_empty());
    assert!(s.sink.notices.contains(&NoticeKind::NotRpc));
    assert_eq!(s.stats().non_rpc_directions, 1);
}

#[test]
fn close_inside_a_record_reports_it() {
    let a = call(1, 500);
    let stream = encode_record(&a, 1 << 20);
    let mut s = streams();
    feed(&mut s, Direction::ToServer, &stream[..300], &[300], 0);
    s.close(ConnId(1), CloseReason::EndOfCapture, 20);
    assert!(s
        .sink
        .notices
        .iter()
        .any(|n| matches!(n, NoticeKind::TruncatedRecord { offset: 0 })));
    assert_eq!(s.sink.closed, vec![ConnId(1)]);
    assert_eq!(s.connections(), 0);
}

#[test]
fn random_bytes_and_random_chunking_never_panic() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let mut s = streams();
        let mut off = 0u64;
        for f in 0..30 {
            let n = (next() % 3000) as usize;
            let b: Vec<u8> = (0..n).map(|_| (next() % 4) as u8 * 0x40).collect();
            if next() % 10 == 0 {
                s.gap(ConnId(1), Direction::ToClient, off, 17, f);
                off += 17;
            }
            s.data(
                ConnId(1),
                Direction::ToClient,
                off,
                &b,
                f,
                Timestamp::default(),
            );
            off += n as u64;
        }
        s.close(ConnId(1), CloseReason::Fin, 99);
    }
}

#[test]
fn skipped_bytes_are_reported_as_one_run_across_chunks() {
    // A record mark claiming 2 GiB, 160 bytes of its body in the same chunk,
    // then the next record in a later chunk: the whole run from the byte
    // after the bad mark to the next record is skipped and reported.
    let mut stream = encode_record(&call(8, 40), 1 << 20);
    let mark = stream.len() as u64;
    stream.extend([0xff, 0xff, 0xff, 0xf0]);
    stream.extend(std::iter::repeat_n(0u8, 160));
    let body_end = stream.len() as u64;
    let next = call(9, 60);
    stream.extend(encode_record(&next, 1 << 20));
    let mut s = streams();
    feed(
        &mut s,
        Direction::ToServer,
        &stream,
        &[body_end as usize, 1000],
        0,
    );
    assert_eq!(s.sink.records.len(), 2);
    let skipped: Vec<_> = s
        .sink
        .notices
        .iter()
        .filter(|n| matches!(n, NoticeKind::Skipped { .. }))
        .collect();
    assert_eq!(
        skipped,
        [&NoticeKind::Skipped {
            offset: mark + 4,
            len: body_end - mark - 4
        }]
    );
    assert_eq!(s.stats().skipped_bytes, body_end - mark - 4);
}

#[test]
fn records_in_progress_stay_under_the_total_buffer_limit() {
    let limits = StreamLimits {
        max_buffered_bytes: 1000,
        ..StreamLimits::default()
    };
    let mut s = RpcStreams::new(limits, Seen::default());
    let big = encode_record(&call(1, 800), 1 << 20);
    let other = encode_record(&call(2, 800), 1 << 20);
    for c in 1..=2 {
        s.open(ConnId(c), &info());
    }
    // Connection 1 holds 700 bytes of its record; connection 2's 700 would
    // take the total past 1000: it drops what it holds, and says so.
    s.data(
        ConnId(1),
        Direction::ToServer,
        0,
        &big[..700],
        10,
        Timestamp::default(),
    );
    assert_eq!(s.buffered_bytes(), 696);
    s.data(
        ConnId(2),
        Direction::ToServer,
        0,
        &other[..700],
        11,
        Timestamp::default(),
    );
    assert!(s.buffered_bytes() <= 1000, "{}", s.buffered_bytes());
    assert_eq!(s.stats().buffer_limit_drops, 1);
    assert!(s.sink.notices.iter().any(|n| matches!(
        n,
        NoticeKind::BufferLimit {
            offset: 700,
            dropped: 696
        }
    )));
    // Connection 1 is untouched: its record completes.
    s.data(
        ConnId(1),
        Direction::ToServer,
        700,
        &big[700..],
        12,
        Timestamp::default(),
    );
    assert_eq!(s.sink.records.len(), 1);
    assert_eq!(s.buffered_bytes(), 0);
    // Closing forgets what a connection held.
    s.data(
        ConnId(2),
        Direction::ToServer,
        700,
        &other[700..],
        13,
        Timestamp::default(),
    );
    s.close(ConnId(2), CloseReason::Fin, 14);
    s.close(ConnId(1), CloseReason::Fin, 14);
    assert_eq!(s.buffered_bytes(), 0);
    assert!(s.stats().peak_buffered_bytes <= 1000);
}

#[test]
fn a_short_connection_without_any_record_is_reported_at_close() {
    let mut s = streams();
    let text = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n".repeat(10);
    feed(&mut s, Direction::ToServer, &text, &[100, 1000], 0);
    assert!(s.sink.notices.is_empty(), "{:?}", s.sink.notices);
    s.close(ConnId(1), CloseReason::Fin, 20);
    assert_eq!(
        s.sink.notices,
        [NoticeKind::NoRecord {
            bytes: text.len() as u64
        }]
    );
    assert_eq!(s.stats().non_rpc_directions, 1);
}
