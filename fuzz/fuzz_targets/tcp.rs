//! TCP reassembly of a sequence of small segments between a few endpoints,
//! under small limits, with a sink that checks the `StreamSink` contract.
//!
//! Invariants: each connection is opened once and closed once, nothing is
//! emitted before its open or after its close, data and gaps of a
//! (connection, direction) are contiguous from offset 0 and never empty,
//! the bytes delivered match the counters, and after `finish` nothing is
//! tracked or buffered.
#![no_main]

use analyzer::tcp::flow::{CloseReason, ConnId, ConnInfo, Direction, StreamSink};
use analyzer::capture::packet::{TcpFlags, TcpSegment, Timestamp};
use analyzer::tcp::{Reassembler, TcpLimits};
use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

#[derive(Default)]
struct Checker {
    open: HashMap<ConnId, ConnInfo>,
    closed: HashSet<ConnId>,
    /// Offset after the last event of each (connection, direction).
    end: HashMap<(ConnId, Direction), u64>,
    delivered: u64,
}

impl Checker {
    fn live(&self, conn: ConnId) {
        assert!(self.open.contains_key(&conn), "{conn}: event before open");
        assert!(!self.closed.contains(&conn), "{conn}: event after close");
    }

    fn advance(&mut self, conn: ConnId, dir: Direction, offset: u64, len: u64, what: &str) {
        self.live(conn);
        assert!(len > 0, "{conn} {dir:?}: empty {what}");
        let end = self.end.entry((conn, dir)).or_insert(0);
        assert_eq!(offset, *end, "{conn} {dir:?}: {what} not contiguous");
        *end = offset.checked_add(len).expect("stream offset overflow");
    }
}

impl StreamSink for Checker {
    fn open(&mut self, conn: ConnId, info: &ConnInfo) {
        assert!(!self.closed.contains(&conn), "{conn}: reopened");
        assert!(
            self.open.insert(conn, *info).is_none(),
            "{conn}: opened twice"
        );
        assert_ne!(info.client, info.server);
    }

    fn data(
        &mut self,
        conn: ConnId,
        dir: Direction,
        offset: u64,
        bytes: &[u8],
        _: u64,
        _: Timestamp,
    ) {
        self.advance(conn, dir, offset, bytes.len() as u64, "data");
        self.delivered += bytes.len() as u64;
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, offset: u64, len: u64, _: u64) {
        self.advance(conn, dir, offset, len, "gap");
    }

    fn close(&mut self, conn: ConnId, _: CloseReason, _: u64) {
        self.live(conn);
        self.closed.insert(conn);
    }
}

/// Endpoints: two clients (one on a reserved port) of an NFS server, and a
/// pair of unprivileged ports with no NFS side.
const ENDPOINTS: [&str; 5] = [
    "10.0.0.1:800",
    "10.0.0.1:40000",
    "10.0.0.2:2049",
    "[fd00::1]:5000",
    "[fd00::2]:6000",
];

/// Initial sequence numbers to build on (one close to the wraparound).
const BASES: [u32; 4] = [0, 1000, 0xffff_ff00, 0x8000_0000];

fn seq_number(u: &mut Unstructured<'_>) -> Result<u32> {
    Ok(if u.ratio(1, 16)? {
        u.arbitrary()?
    } else {
        let base = BASES[u.choose_index(BASES.len())?];
        base.wrapping_add(u32::from(u.arbitrary::<u8>()?) * 4)
    })
}

/// A segment drawn from the input: sender, receiver, time and the segment.
type Drawn<'a> = (SocketAddr, SocketAddr, Timestamp, TcpSegment<'a>);

fn draw<'a>(
    u: &mut Unstructured<'a>,
    endpoints: &[SocketAddr],
    mut ts: Timestamp,
) -> Result<Option<Drawn<'a>>> {
    let (a, b) = if u.ratio(3, 4)? {
        // Mostly the NFS server and one of its clients.
        let c = endpoints[u.choose_index(2)?];
        let s = endpoints[2];
        if u.arbitrary()? {
            (c, s)
        } else {
            (s, c)
        }
    } else {
        let a = endpoints[u.choose_index(endpoints.len())?];
        let b = endpoints[u.choose_index(endpoints.len())?];
        if a == b || a.is_ipv4() != b.is_ipv4() {
            return Ok(None);
        }
        (a, b)
    };
    let f: u8 = u.arbitrary()?;
    let flags = TcpFlags {
        syn: f & 1 != 0,
        ack: f & 2 != 0,
        fin: f & 4 != 0,
        rst: f & 8 != 0 && f & 0x30 == 0x30,
        psh: f & 64 != 0,
    };
    let seq = seq_number(u)?;
    let ack = seq_number(u)?;
    let len = usize::from(u.arbitrary::<u8>()? % 48);
    let payload = u.bytes(len.min(u.len()))?;
    let missing = match u.arbitrary::<u8>()? {
        0..=239 => 0,
        240..=254 => u32::from(u.arbitrary::<u8>()?),
        255 => u.arbitrary()?,
    };
    // Time moves on by up to ~4 s, rarely backwards.
    let step: u16 = u.arbitrary()?;
    if step == 0xffff {
        ts.secs -= 3;
    } else {
        let nanos = u64::from(ts.nanos) + u64::from(step) * 62_500;
        ts.secs += (nanos / 1_000_000_000) as i64;
        ts.nanos = (nanos % 1_000_000_000) as u32;
    }
    let seg = TcpSegment {
        src_port: a.port(),
        dst_port: b.port(),
        seq,
        ack,
        flags,
        window: 65535,
        payload,
        missing,
    };
    Ok(Some((a, b, ts, seg)))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let limits = TcpLimits {
        max_ooo_bytes: 256,
        max_ooo_segments: 4,
        max_total_bytes: 512,
        max_connections: 3,
        hole_timeout_secs: 2.0,
        hole_max_segments: 6,
        reuse_idle_secs: 5.0,
        closed_linger_secs: 5.0,
        max_closed_remembered: 2,
    };
    let endpoints: Vec<SocketAddr> = ENDPOINTS.iter().map(|s| s.parse().unwrap()).collect();
    let mut r = Reassembler::new(limits);
    let mut sink = Checker::default();
    let mut ts = Timestamp {
        secs: 1_000,
        nanos: 0,
    };
    let mut frame = 0u64;
    while !u.is_empty() && frame < 512 {
        frame += 1;
        let (a, b, t, seg) = match draw(&mut u, &endpoints, ts) {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(_) => break,
        };
        ts = t;
        r.segment(frame, ts, a, b, &seg, &mut sink);
        assert!(r.connections() <= limits.max_connections);
        assert!(r.buffered_bytes() <= limits.max_total_bytes);
    }
    r.finish(frame, &mut sink);
    assert_eq!(r.connections(), 0);
    assert_eq!(r.buffered_bytes(), 0);
    for conn in sink.open.keys() {
        assert!(sink.closed.contains(conn), "{conn}: never closed");
    }
    let stats = r.stats();
    assert_eq!(stats.bytes_delivered, sink.delivered);
    assert_eq!(stats.connections_opened, sink.open.len() as u64);
});
