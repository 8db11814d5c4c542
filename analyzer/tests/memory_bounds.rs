//! Memory stays flat whatever the capture's length: captures of many short
//! connections, of many unanswered calls on a few connections and of many
//! connections never closed, and of records left in progress on many
//! connections are generated in memory and fed to the pipeline.
//! The tracked state stays within the configured limits, every eviction is
//! counted in the stats, and the peak of live heap bytes (a counting global
//! allocator) stays within a budget set by the limits, not by the number of
//! connections or calls. The
//! release-build figures on a million connections and calls are measured by
//! `scripts/bench-memory.sh`, not here.

#[path = "../examples/common/pcapgen.rs"]
mod pcapgen;

use analyzer::capture::packet::Timestamp;
use analyzer::capture::{Frame, LinkType};
use analyzer::exchange::{Message, MessageSink, Notice};
use analyzer::pipeline::{Pipeline, PipelineLimits, PipelineStats};
use pcapgen::{client_addr, nfs_call_record, nfs_reply_record, server_addr, TcpConn};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Counts messages without keeping them.
#[derive(Default)]
struct Count {
    messages: u64,
}

impl MessageSink for Count {
    fn message(&mut self, _m: &Message<'_>) {
        self.messages += 1;
    }
    fn notice(&mut self, _n: &Notice) {}
    fn finish(&mut self) {}
}

/// Feeds frames to a pipeline, as a capture file would.
struct Feeder {
    p: Pipeline<Count>,
    number: u64,
    micros: u64,
}

impl Feeder {
    fn new(limits: PipelineLimits) -> Self {
        Feeder {
            p: Pipeline::new(limits, Count::default()),
            number: 0,
            micros: 0,
        }
    }

    fn put(&mut self, data: &[u8]) {
        self.number += 1;
        self.micros += 10;
        let ts = Timestamp {
            secs: 1_700_000_000 + (self.micros / 1_000_000) as i64,
            nanos: (self.micros % 1_000_000) as u32 * 1000,
        };
        self.p.frame(&Frame {
            number: self.number,
            ts,
            linktype: LinkType::ETHERNET,
            interface: 0,
            data,
            orig_len: data.len() as u32,
        });
    }
}

/// Runs `feed` on a fresh pipeline; returns the stats, the messages and the
/// peak of live heap bytes above what was held before.
fn run(limits: PipelineLimits, feed: impl FnOnce(&mut Feeder)) -> (PipelineStats, u64, usize) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut f = Feeder::new(limits);
    feed(&mut f);
    let (sink, mut stats) = f.p.finish();
    let peak = PEAK.load(Relaxed).saturating_sub(base);
    // What the test keeps of the stats is not part of the pipeline's state.
    stats.problems.clear();
    (stats, sink.messages, peak)
}

fn short_connections(n: u32) -> impl FnOnce(&mut Feeder) {
    move |f| {
        for i in 0..n {
            let mut c = TcpConn::new(client_addr(i), server_addr(), i);
            let compound = i % 2 == 1;
            let [syn, synack, _] = c.handshake();
            f.put(&syn);
            f.put(&synack);
            f.put(&c.client_sends(&nfs_call_record(i + 1, compound)));
            f.put(&c.server_sends(&nfs_reply_record(i + 1, compound)));
            for fr in c.close() {
                f.put(&fr);
            }
        }
    }
}

/// `n` calls spread over `conns` connections (opened, never closed).
fn unanswered(n: u32, conns: u32) -> impl FnOnce(&mut Feeder) {
    move |f| {
        let mut table = Vec::new();
        for i in 0..conns {
            let mut c = TcpConn::new(client_addr(i), server_addr(), i);
            let [syn, synack, ack] = c.handshake();
            f.put(&syn);
            f.put(&synack);
            f.put(&ack);
            table.push(c);
        }
        for i in 0..n {
            let Some(c) = table.get_mut((i % conns) as usize) else {
                continue;
            };
            let frame = c.client_sends(&nfs_call_record(i + 1, true));
            f.put(&frame);
        }
    }
}

/// `n` connections, each with one call and no reply, never closed.
fn open_connections(n: u32) -> impl FnOnce(&mut Feeder) {
    move |f| {
        for i in 0..n {
            let mut c = TcpConn::new(client_addr(i), server_addr(), i);
            let [syn, synack, ack] = c.handshake();
            f.put(&syn);
            f.put(&synack);
            f.put(&ack);
            f.put(&c.client_sends(&nfs_call_record(i + 1, true)));
        }
    }
}

/// `n` connections, each sending the first 4000 bytes of a 64 KiB call
/// that never completes.
fn partial_records(n: u32) -> impl FnOnce(&mut Feeder) {
    move |f| {
        let mut body = vec![0u8; 65_536];
        let rec = pcapgen::record(&pcapgen::rpc_call(1, pcapgen::NFS_PROGRAM, 4, 1, &body));
        body.clear();
        for i in 0..n {
            let mut c = TcpConn::new(client_addr(i), server_addr(), i);
            let [syn, synack, ack] = c.handshake();
            f.put(&syn);
            f.put(&synack);
            f.put(&ack);
            f.put(&c.client_sends(&rec[..4000]));
        }
    }
}

fn limits() -> PipelineLimits {
    let mut l = PipelineLimits::default();
    l.tcp.max_connections = 1000;
    l.tcp.max_closed_remembered = 1000;
    l.exchange.max_pending_per_conn = 1000;
    l.exchange.max_pending_total = 4000;
    l.stream.max_buffered_bytes = 1 << 20;
    l
}

/// What the pipeline may hold at its limits: a fixed part, for each
/// tracked connection, remembered closed connection and pending call a
/// generous allowance (hash tables over-allocate up to 4 times; a
/// connection holds its reassembly and stream state), and twice the stream
/// buffer limit (a record's buffer may have twice the capacity it uses). Far below what 100k
/// connections or calls would need if anything grew with the input (at
/// least 100 bytes each, i.e. 10 MB).
fn budget(l: &PipelineLimits) -> usize {
    (1 << 20)
        + l.tcp.max_connections * 4096
        + l.tcp.max_closed_remembered * 128
        + l.exchange.max_pending_total * 512
        + l.stream.max_buffered_bytes * 2
}

fn assert_within(what: &str, peak: usize, l: &PipelineLimits) {
    let b = budget(l);
    assert!(
        peak <= b,
        "{what}: {peak} live bytes at the peak, over the budget of {b}"
    );
    eprintln!("{what}: peak {peak} live bytes (budget {b})");
}

#[test]
fn memory_stays_flat_and_every_limit_hit_is_counted() {
    let l = limits();

    // Many short connections: every call answered, nothing evicted; the
    // table never holds more than the one connection in progress.
    let (s, m, peak) = run(l, short_connections(100_000));
    assert_eq!((s.exchange.calls, s.exchange.replies), (100_000, 100_000));
    assert_eq!(m, 200_000);
    assert_eq!(s.exchange.unanswered_calls, 0);
    assert_eq!(s.exchange.unmatched_replies, 0);
    assert_eq!(s.connections, 100_000);
    assert!(s.tcp.peak_connections <= 2, "{}", s.tcp.peak_connections);
    assert_eq!(s.tcp.evictions, 0);
    assert_within("100k short connections", peak, &l);

    // Many unanswered calls on 16 connections: the table stops at the
    // total limit; every call is either forgotten (counted) or unanswered
    // at the end.
    let (s, _, peak) = run(l, unanswered(100_000, 16));
    assert_eq!(s.exchange.calls, 100_000);
    assert_eq!(s.exchange.peak_pending_calls, 4000);
    assert_eq!(s.exchange.evicted_calls_total_limit, 100_000 - 4000);
    assert_eq!(s.exchange.evicted_calls_conn_limit, 0);
    assert_eq!(s.exchange.unanswered_calls, 4000);
    let hit = s
        .limit_hits()
        .into_iter()
        .find(|h| h.name == "max_pending_total")
        .map(|h| (h.limit, h.hits));
    assert_eq!(hit, Some((4000, 96_000)));
    assert_within("100k unanswered calls on 16 connections", peak, &l);

    // The per-connection limit: 4 connections of at most 1000 calls each.
    let (s, _, peak) = run(l, unanswered(100_000, 4));
    assert_within("100k unanswered calls on 4 connections", peak, &l);
    assert_eq!(s.exchange.peak_pending_calls, 4000);
    assert_eq!(s.exchange.evicted_calls_conn_limit, 100_000 - 4000);
    assert_eq!(s.exchange.evicted_calls_total_limit, 0);

    // Many connections never closed: the connection table stops at its
    // limit, the evicted connections' calls are counted unanswered.
    let (s, _, peak) = run(l, open_connections(100_000));
    assert_eq!(s.connections, 100_000);
    assert_eq!(s.tcp.peak_connections, 1000);
    assert_eq!(s.tcp.evictions, 100_000 - 1000);
    assert_eq!(s.exchange.unanswered_calls, 100_000);
    assert!(s.exchange.peak_pending_calls <= 1000);
    let hit = s
        .limit_hits()
        .into_iter()
        .find(|h| h.name == "max_connections")
        .map(|h| h.hits);
    assert_eq!(hit, Some(99_000));
    assert_within("100k connections never closed", peak, &l);

    // Records in progress on many connections: the bytes held stop at the
    // stream buffer limit (1 MiB here; 1000 connections × 4000 bytes would
    // be 4 MB), and each drop is counted and reported.
    let (s, _, peak) = run(l, partial_records(20_000));
    assert!(s.stream.peak_buffered_bytes <= 1 << 20);
    // Each connection's record is either dropped at the limit or cut short
    // when the connection is evicted; none is mistaken for non-RPC.
    assert_eq!(
        s.stream.buffer_limit_drops + s.stream.truncated_records,
        20_000
    );
    assert!(s.stream.buffer_limit_drops > 0);
    assert_eq!(s.stream.non_rpc_directions, 0);
    let hit = s
        .limit_hits()
        .into_iter()
        .find(|h| h.name == "max_stream_buffer")
        .map(|h| h.hits);
    assert_eq!(hit, Some(s.stream.buffer_limit_drops));
    assert_within("20k records in progress", peak, &l);
}
