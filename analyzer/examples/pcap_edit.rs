//! Derives precision-corpus captures (`captures/precision/`) from real ones.
//!
//! ```text
//! cargo run --release -p trunkcheck-analyzer --example pcap_edit -- INPUT OUTPUT COMMAND [ARGS]
//! ```
//!
//! INPUT is a pcap or pcapng file (every frame of one link type), OUTPUT a
//! classic pcap with nanosecond timestamps and the input's link type. Frame
//! numbers in the arguments are those of INPUT, counted from 1 as tshark and
//! `trunkcheck decode` count them (run the commands one after the other to
//! combine them, each on the previous output). Every command prints what it
//! did on stderr; an error names the file and the frame.
//!
//! Commands:
//!
//! - `keep-host ADDR[:PORT]` — keeps only the IP frames to or from ADDR (and
//!   PORT when given; IPv6 as `[ADDR]:PORT`): what a capture taken at one
//!   server address shows. Frames that are not IP are left out too.
//! - `drop-frames LIST` — removes frames; LIST is comma-separated numbers and
//!   ranges (`7`, `10-14`, `30-` to the end). Removing segments that carry
//!   data leaves gaps in the TCP streams, as a capture that lost them.
//! - `from-frame N` — removes every frame before N: a capture started
//!   mid-stream (no handshake, possibly mid-record).
//! - `remap-port OLD NEW` — every TCP or UDP port OLD becomes NEW, in both
//!   directions (e.g. 2049 → 12049: a server on a port of its own; or a
//!   client's ephemeral port → 800: a client on a reserved port). Checksums
//!   are recomputed.
//! - `shift-time SECS` — adds SECS (a decimal, may be negative) to every
//!   timestamp.
//! - `rewrite-reply --frame N --op OPNAME --status NFS4ERR_X [--nth K]
//!   [--xid XID]` — the RPC reply whose last byte is in frame N (as `trunkcheck
//!   decode` numbers replies) must be an accepted COMPOUND reply holding
//!   operation OPNAME (its K-th occurrence, default 1). Its result is replaced
//!   by one that carries only the status NFS4ERR_X, the results after it are
//!   removed (they were not executed) and the COMPOUND status becomes
//!   NFS4ERR_X: the reply a server that refused that operation would have
//!   sent. The reply is re-encoded with the analyzer's own codec and sent as
//!   one record (one last fragment); the segments that carried it get the
//!   new bytes, the later segments of that direction get sequence numbers
//!   moved by the change in length, and the other direction's
//!   acknowledgments are moved with them. `--xid` picks one of several
//!   replies ending in frame N.
//! - `set-chan-attrs --frame N [--back] NAME=VALUE...` — in the CREATE_SESSION
//!   reply ending in frame N, sets fields of `csr_fore_chan_attrs` (or
//!   `csr_back_chan_attrs` with `--back`): `ca_maxrequestsize`,
//!   `ca_maxresponsesize`, `ca_maxresponsesize_cached`, `ca_maxoperations`,
//!   `ca_maxrequests`, `ca_headerpadsize`. Re-encoded like `rewrite-reply`.
//!
//! Limits: a rewritten reply must have been captured whole (no snap length
//! cut) and its bytes must not be retransmitted; TCP options (timestamps,
//! SACK blocks) are kept as they are, so SACK blocks of the other direction
//! are not moved; the input's IP and TCP checksums are recomputed only in
//! the frames that change.

use analyzer::capture::packet::Timestamp;
use analyzer::capture::{FileSource, LinkType};
use analyzer::nfs4::{Compound4Res, NfsOpnum4, NfsRes, NfsResOp, NfsStat4};
use analyzer::rpc::{encode_record, RpcMessage};
use analyzer::xdr::{self, Reader, Xdr};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// Errors are messages naming the file and frame.
pub type Result<T> = std::result::Result<T, String>;

/// One frame of a capture held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its number in the input file (from 1).
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// The captured bytes.
    pub data: Vec<u8>,
    /// Length on the wire.
    pub orig_len: u32,
}

/// A capture held in memory: one link type, its frames in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// Name shown in errors.
    pub name: String,
    /// Link type of every frame.
    pub linktype: LinkType,
    /// The frames.
    pub frames: Vec<Frame>,
}

/// Reads a whole capture file.
pub fn read_capture(path: &Path) -> Result<Capture> {
    let name = path.display().to_string();
    let mut src = FileSource::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut linktype = None;
    let mut frames = Vec::new();
    while let Some(f) = src.next_frame().map_err(|e| format!("{name}: {e}"))? {
        match linktype {
            None => linktype = Some(f.linktype),
            Some(l) if l != f.linktype => {
                return Err(format!(
                    "{name}: frame {}: link type {} differs from the first frame's {} \
                     (one link type per file)",
                    f.number, f.linktype.0, l.0
                ))
            }
            Some(_) => {}
        }
        frames.push(Frame {
            number: f.number,
            ts: f.ts,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }
    let linktype = linktype.ok_or_else(|| format!("{name}: no frames"))?;
    Ok(Capture {
        name,
        linktype,
        frames,
    })
}

/// Largest frame written.
const SNAPLEN: u32 = 262_144;

/// Writes a classic pcap (nanosecond timestamps, the capture's link type).
pub fn write_capture(path: &Path, cap: &Capture) -> Result<()> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| format!("{name}: {e}");
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    out.write_all(&0xa1b2_3c4du32.to_le_bytes()).map_err(io)?;
    out.write_all(&2u16.to_le_bytes()).map_err(io)?;
    out.write_all(&4u16.to_le_bytes()).map_err(io)?;
    out.write_all(&0i32.to_le_bytes()).map_err(io)?;
    out.write_all(&0u32.to_le_bytes()).map_err(io)?;
    out.write_all(&SNAPLEN.to_le_bytes()).map_err(io)?;
    out.write_all(&cap.linktype.0.to_le_bytes()).map_err(io)?;
    for f in &cap.frames {
        let secs = u32::try_from(f.ts.secs)
            .map_err(|_| format!("{name}: frame {}: time outside 1970..2106", f.number))?;
        let caplen = u32::try_from(f.data.len())
            .ok()
            .filter(|&l| l <= SNAPLEN)
            .ok_or_else(|| format!("{name}: frame {}: longer than {SNAPLEN} bytes", f.number))?;
        out.write_all(&secs.to_le_bytes()).map_err(io)?;
        out.write_all(&f.ts.nanos.to_le_bytes()).map_err(io)?;
        out.write_all(&caplen.to_le_bytes()).map_err(io)?;
        out.write_all(&f.orig_len.max(caplen).to_le_bytes())
            .map_err(io)?;
        out.write_all(&f.data).map_err(io)?;
    }
    out.flush().map_err(io)
}

// ---------------------------------------------------------------------------
// Where the IP and TCP/UDP headers are in a frame.

/// IP protocol number of TCP.
const TCP: u8 = 6;
/// IP protocol number of UDP.
const UDP: u8 = 17;

/// The positions of a frame's IP header, transport header and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Start of the IP header.
    pub ip: usize,
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Transport protocol (6 TCP, 17 UDP, other values carry no ports).
    pub proto: u8,
    /// Start of the transport header.
    pub l4: usize,
    /// Start of the transport payload.
    pub payload: usize,
    /// End of the IP packet in the frame (its payload may extend past the
    /// captured bytes when the snap length cut it).
    pub end: usize,
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Where the IP header starts for a link type.
fn ip_start(linktype: LinkType, data: &[u8]) -> Option<usize> {
    match linktype {
        LinkType::ETHERNET => {
            let mut at = 12;
            for _ in 0..4 {
                match be16(data, at)? {
                    0x8100 | 0x88a8 | 0x9100 => at += 4,
                    0x0800 | 0x86dd => return Some(at + 2),
                    _ => return None,
                }
            }
            None
        }
        LinkType::LINUX_SLL => Some(16),
        LinkType::LINUX_SLL2 => Some(20),
        LinkType::NULL | LinkType::LOOP => Some(4),
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 | LinkType::IPV4 | LinkType::IPV6 => {
            Some(0)
        }
        _ => None,
    }
}

/// The layout of a frame, for unfragmented IPv4 and IPv6 without extension
/// headers; `None` for anything else.
pub fn layout(linktype: LinkType, data: &[u8]) -> Option<Layout> {
    let ip = ip_start(linktype, data)?;
    let (v6, proto, l4, end) = match data.get(ip)? >> 4 {
        4 => {
            let ihl = usize::from(data.get(ip)? & 0x0f) * 4;
            let total = usize::from(be16(data, ip + 2)?);
            let frag = be16(data, ip + 6)? & 0x3fff;
            if ihl < 20 || total < ihl || frag != 0 {
                return None;
            }
            (false, *data.get(ip + 9)?, ip + ihl, ip + total)
        }
        6 => {
            let len = usize::from(be16(data, ip + 4)?);
            (true, *data.get(ip + 6)?, ip + 40, ip + 40 + len)
        }
        _ => return None,
    };
    let payload = match proto {
        TCP => l4 + usize::from(data.get(l4 + 12)? >> 4) * 4,
        UDP => l4 + 8,
        _ => l4,
    };
    if payload > end || (proto == TCP && payload > data.len()) {
        return None;
    }
    Some(Layout {
        ip,
        v6,
        proto,
        l4,
        payload,
        end,
    })
}

impl Layout {
    fn addr(&self, data: &[u8], src: bool) -> Option<IpAddr> {
        if self.v6 {
            let at = self.ip + if src { 8 } else { 24 };
            let b: [u8; 16] = data.get(at..at + 16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        } else {
            let at = self.ip + if src { 12 } else { 16 };
            let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(b)))
        }
    }

    fn port(&self, data: &[u8], src: bool) -> Option<u16> {
        match self.proto {
            TCP | UDP => be16(data, self.l4 + if src { 0 } else { 2 }),
            _ => None,
        }
    }

    /// Source address and port (port 0 without TCP/UDP).
    pub fn src(&self, data: &[u8]) -> Option<SocketAddr> {
        Some(SocketAddr::new(
            self.addr(data, true)?,
            self.port(data, true).unwrap_or(0),
        ))
    }

    /// Destination address and port (port 0 without TCP/UDP).
    pub fn dst(&self, data: &[u8]) -> Option<SocketAddr> {
        Some(SocketAddr::new(
            self.addr(data, false)?,
            self.port(data, false).unwrap_or(0),
        ))
    }

    /// The TCP payload bytes captured.
    pub fn tcp_payload<'d>(&self, data: &'d [u8]) -> &'d [u8] {
        data.get(self.payload..self.end.min(data.len()))
            .unwrap_or_default()
    }

    /// True when the whole IP packet was captured.
    pub fn whole(&self, data: &[u8]) -> bool {
        self.end <= data.len()
    }
}

/// TCP flags.
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

fn tcp_seq(l: &Layout, d: &[u8]) -> u32 {
    be32(d, l.l4 + 4).unwrap_or(0)
}

fn tcp_ack(l: &Layout, d: &[u8]) -> u32 {
    be32(d, l.l4 + 8).unwrap_or(0)
}

fn tcp_flags(l: &Layout, d: &[u8]) -> u8 {
    d.get(l.l4 + 13).copied().unwrap_or(0)
}

fn put32(d: &mut [u8], at: usize, v: u32) {
    if let Some(s) = d.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

fn put16(d: &mut [u8], at: usize, v: u16) {
    if let Some(s) = d.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

/// Ones' complement sum of `bytes` (added to `sum`).
fn sum16(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Recomputes the IPv4 header checksum and the TCP or UDP checksum of a
/// whole captured packet (nothing when the snap length cut it).
pub fn fix_checksums(l: &Layout, d: &mut [u8]) {
    if !l.whole(d) {
        return;
    }
    if !l.v6 {
        put16(d, l.ip + 10, 0);
        let s = fold(sum16(0, &d[l.ip..l.l4]));
        put16(d, l.ip + 10, s);
    }
    let at = match l.proto {
        TCP => l.l4 + 16,
        UDP => l.l4 + 6,
        _ => return,
    };
    put16(d, at, 0);
    let seg_len = l.end - l.l4;
    let mut sum = if l.v6 {
        sum16(0, &d[l.ip + 8..l.ip + 40])
    } else {
        sum16(0, &d[l.ip + 12..l.ip + 20])
    };
    sum += u32::from(l.proto);
    sum += (seg_len as u32 >> 16) + (seg_len as u32 & 0xffff);
    sum = sum16(sum, &d[l.l4..l.end]);
    let mut c = fold(sum);
    if l.proto == UDP && c == 0 {
        c = 0xffff;
    }
    put16(d, at, c);
}

/// Replaces the TCP payload of a frame, fixing the IP length fields and
/// the checksums. Bytes after the IP packet (Ethernet padding) are dropped.
pub fn set_tcp_payload(linktype: LinkType, f: &mut Frame, payload: &[u8]) -> Result<()> {
    let l = layout(linktype, &f.data)
        .filter(|l| l.proto == TCP && l.whole(&f.data))
        .ok_or_else(|| format!("frame {}: not a whole TCP segment", f.number))?;
    let mut d = f.data[..l.payload].to_vec();
    d.extend_from_slice(payload);
    let ip_len = d.len() - l.ip;
    if l.v6 {
        let len = u16::try_from(ip_len - 40)
            .map_err(|_| format!("frame {}: IPv6 payload over 65535 bytes", f.number))?;
        put16(&mut d, l.ip + 4, len);
    } else {
        let len = u16::try_from(ip_len)
            .map_err(|_| format!("frame {}: IPv4 packet over 65535 bytes", f.number))?;
        put16(&mut d, l.ip + 2, len);
    }
    let nl = Layout { end: d.len(), ..l };
    fix_checksums(&nl, &mut d);
    let cut = f.orig_len as usize - f.data.len().min(f.orig_len as usize);
    f.orig_len = u32::try_from(d.len() + cut).unwrap_or(u32::MAX);
    f.data = d;
    Ok(())
}

// ---------------------------------------------------------------------------
// Simple commands.

/// `ADDR` or `ADDR:PORT` (`[V6]:PORT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSpec {
    /// The address.
    pub addr: IpAddr,
    /// The port, when given.
    pub port: Option<u16>,
}

impl std::str::FromStr for HostSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self> {
        if let Ok(addr) = s.parse::<IpAddr>() {
            return Ok(HostSpec { addr, port: None });
        }
        let sa: SocketAddr = s
            .parse()
            .map_err(|_| format!("{s:?} is neither ADDR nor ADDR:PORT"))?;
        Ok(HostSpec {
            addr: sa.ip(),
            port: Some(sa.port()),
        })
    }
}

impl HostSpec {
    fn matches(&self, a: SocketAddr) -> bool {
        a.ip() == self.addr && self.port.is_none_or(|p| p == a.port())
    }
}

/// Keeps the frames to or from `host`; returns how many were left out.
pub fn keep_host(cap: &mut Capture, host: HostSpec) -> usize {
    let lt = cap.linktype;
    let before = cap.frames.len();
    cap.frames.retain(|f| {
        layout(lt, &f.data).is_some_and(|l| {
            l.src(&f.data).is_some_and(|a| host.matches(a))
                || l.dst(&f.data).is_some_and(|a| host.matches(a))
        })
    });
    before - cap.frames.len()
}

/// Frame numbers and ranges: `7`, `10-14`, `30-`.
pub fn parse_frame_list(s: &str) -> Result<Vec<(u64, u64)>> {
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("bad frame number {t:?} in {s:?}"))
    };
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('-') {
            Some((a, "")) => Ok((num(a)?, u64::MAX)),
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    Err(format!("range {p:?} runs backwards"))
                } else {
                    Ok((a, b))
                }
            }
            None => num(p).map(|n| (n, n)),
        })
        .collect()
}

/// Removes the frames whose numbers fall in `ranges`; returns how many.
pub fn drop_frames(cap: &mut Capture, ranges: &[(u64, u64)]) -> usize {
    let before = cap.frames.len();
    cap.frames
        .retain(|f| !ranges.iter().any(|&(a, b)| (a..=b).contains(&f.number)));
    before - cap.frames.len()
}

/// Replaces TCP and UDP port `old` by `new` in both directions; returns the
/// number of frames changed.
pub fn remap_port(cap: &mut Capture, old: u16, new: u16) -> usize {
    let lt = cap.linktype;
    let mut n = 0;
    for f in &mut cap.frames {
        let Some(l) = layout(lt, &f.data).filter(|l| matches!(l.proto, TCP | UDP)) else {
            continue;
        };
        let mut changed = false;
        for at in [l.l4, l.l4 + 2] {
            if be16(&f.data, at) == Some(old) {
                put16(&mut f.data, at, new);
                changed = true;
            }
        }
        if changed {
            fix_checksums(&l, &mut f.data);
            n += 1;
        }
    }
    n
}

/// Adds `nanos` to every timestamp.
pub fn shift_time(cap: &mut Capture, nanos: i128) -> Result<()> {
    for f in &mut cap.frames {
        let t = i128::from(f.ts.secs) * 1_000_000_000 + i128::from(f.ts.nanos) + nanos;
        let secs = i64::try_from(t.div_euclid(1_000_000_000))
            .map_err(|_| format!("frame {}: shifted time out of range", f.number))?;
        f.ts = Timestamp {
            secs,
            nanos: t.rem_euclid(1_000_000_000) as u32,
        };
    }
    Ok(())
}

/// Parses a decimal number of seconds (`-1.5`, `3600`) as nanoseconds.
pub fn parse_secs(s: &str) -> Result<i128> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let bad = || format!("bad number of seconds {s:?}");
    if (int.is_empty() && frac.is_empty())
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 9
    {
        return Err(bad());
    }
    let i: i128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let f: i128 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    let v = i * 1_000_000_000 + f;
    Ok(if neg { -v } else { v })
}

// ---------------------------------------------------------------------------
// TCP streams and record splicing.

/// True when sequence number `a` is at or after `b` (serial arithmetic).
pub fn seq_at_or_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// One direction of a TCP connection, as `(src, dst)`.
pub type Dir = (SocketAddr, SocketAddr);

/// A contiguous run of one direction's stream: the frames that carry it and
/// their bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// (index into the capture's frames, sequence number, payload length).
    pub segments: Vec<(usize, u32, usize)>,
    /// Sequence number of `bytes[0]`.
    pub base: u32,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Frame indices of retransmitted segments inside the run (skipped).
    pub retransmitted: Vec<usize>,
}

impl Run {
    /// Offsets `[start, end)` of segment `k`'s payload in `bytes`.
    pub fn span(&self, k: usize) -> (usize, usize) {
        let (_, seq, len) = self.segments[k];
        let start = seq.wrapping_sub(self.base) as usize;
        (start, start + len)
    }
}

/// The contiguous run of the direction of frame `idx` that contains it.
pub fn run_containing(cap: &Capture, idx: usize) -> Result<(Dir, Run)> {
    let lt = cap.linktype;
    let f = &cap.frames[idx];
    let l = layout(lt, &f.data)
        .filter(|l| l.proto == TCP)
        .ok_or_else(|| format!("{}: frame {}: not a TCP segment", cap.name, f.number))?;
    let dir = match (l.src(&f.data), l.dst(&f.data)) {
        (Some(s), Some(d)) => (s, d),
        _ => return Err(format!("{}: frame {}: no addresses", cap.name, f.number)),
    };
    let mut runs: Vec<Run> = Vec::new();
    let mut which = None;
    for (i, g) in cap.frames.iter().enumerate() {
        let Some(gl) = layout(lt, &g.data).filter(|gl| gl.proto == TCP) else {
            continue;
        };
        if gl.src(&g.data) != Some(dir.0) || gl.dst(&g.data) != Some(dir.1) {
            continue;
        }
        if tcp_flags(&gl, &g.data) & SYN != 0 {
            // A new connection on the same 5-tuple starts a new run.
            runs.push(Run::default());
            continue;
        }
        let payload = gl.tcp_payload(&g.data);
        if payload.is_empty() {
            continue;
        }
        if !gl.whole(&g.data) {
            if i == idx {
                return Err(format!(
                    "{}: frame {}: payload cut by the snap length",
                    cap.name, g.number
                ));
            }
            continue;
        }
        let seq = tcp_seq(&gl, &g.data);
        let need_new = match runs.last() {
            None => true,
            Some(r) if r.segments.is_empty() => false,
            Some(r) => seq != r.base.wrapping_add(r.bytes.len() as u32),
        };
        if need_new {
            if let Some(r) = runs.last_mut() {
                let end = r.base.wrapping_add(r.bytes.len() as u32);
                let dup = !r.segments.is_empty()
                    && seq_at_or_after(seq, r.base)
                    && seq_at_or_after(end, seq.wrapping_add(payload.len() as u32));
                if dup {
                    r.retransmitted.push(i);
                    if i == idx {
                        return Err(format!(
                            "{}: frame {}: a retransmission",
                            cap.name, g.number
                        ));
                    }
                    continue;
                }
            }
            runs.push(Run::default());
        }
        let r = runs.last_mut().ok_or("no run")?;
        if r.segments.is_empty() {
            r.base = seq;
        }
        r.segments.push((i, seq, payload.len()));
        r.bytes.extend_from_slice(payload);
        if i == idx {
            which = Some(runs.len() - 1);
        }
    }
    let k = which.ok_or_else(|| {
        format!(
            "{}: frame {}: carries no TCP payload",
            cap.name, cap.frames[idx].number
        )
    })?;
    Ok((dir, runs.swap_remove(k)))
}

/// A record found in a run: byte offsets `[start, end)` (record mark
/// included), the message's xid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Offset of the record mark.
    pub start: usize,
    /// Offset after the record's last byte.
    pub end: usize,
    /// The RPC xid.
    pub xid: u32,
}

/// The single-fragment RPC replies of `run` whose last byte lies in
/// `[lo, hi)` (offsets in the run) and whose record decodes as an accepted
/// reply for which `accept` holds.
pub fn replies_ending_in(
    run: &Run,
    lo: usize,
    hi: usize,
    accept: &dyn Fn(&[u8]) -> bool,
) -> Vec<Found> {
    let b = &run.bytes;
    let mut out = Vec::new();
    let mut q = 0;
    while q + 12 <= hi.min(b.len()) {
        let mark = be32(b, q).unwrap_or(0);
        let len = (mark & 0x7fff_ffff) as usize;
        let end = q + 4 + len;
        if mark & 0x8000_0000 != 0
            && end > lo
            && end <= hi
            && be32(b, q + 8) == Some(1)
            && accept(&b[q + 4..end])
        {
            out.push(Found {
                start: q,
                end,
                xid: be32(b, q + 4).unwrap_or(0),
            });
        }
        q += 4;
    }
    out
}

/// Splits `content` over segments of the given lengths: each keeps its
/// length, in order, and the last takes what remains (more or less);
/// segments beyond the content get nothing.
pub fn redistribute(lens: &[usize], content: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0;
    for (k, &len) in lens.iter().enumerate() {
        let take = if k + 1 == lens.len() {
            content.len() - at
        } else {
            len.min(content.len() - at)
        };
        out.push(content[at..at + take].to_vec());
        at += take;
    }
    out
}

/// What a splice changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spliced {
    /// Old and new record lengths (record mark included).
    pub old_len: usize,
    /// New record length.
    pub new_len: usize,
    /// Later segments of the direction whose sequence number moved.
    pub moved: usize,
    /// Segments of the other direction whose acknowledgment moved.
    pub acks_moved: usize,
}

/// Replaces bytes `[found.start, found.end)` of `run` (direction `dir`) by
/// `record`, rewriting the frames that carried them and moving the later
/// sequence and acknowledgment numbers by the change in length.
pub fn splice(
    cap: &mut Capture,
    dir: Dir,
    run: &Run,
    found: Found,
    record: &[u8],
) -> Result<Spliced> {
    let lt = cap.linktype;
    // Segments of the run touching the record.
    let touched: Vec<usize> = (0..run.segments.len())
        .filter(|&k| {
            let (s, e) = run.span(k);
            s < found.end && e > found.start
        })
        .collect();
    let (first, last) = match (touched.first(), touched.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => return Err(format!("{}: the record is in no segment", cap.name)),
    };
    let (from, _) = run.span(first);
    let (_, to) = run.span(last);
    for &i in &run.retransmitted {
        let f = &cap.frames[i];
        if let Some(l) = layout(lt, &f.data) {
            let s = tcp_seq(&l, &f.data).wrapping_sub(run.base) as usize;
            let e = s + l.tcp_payload(&f.data).len();
            if s < found.end && e > found.start {
                return Err(format!(
                    "{}: frame {}: retransmits bytes of the record (not supported)",
                    cap.name, f.number
                ));
            }
        }
    }
    let mut content = run.bytes[from..found.start].to_vec();
    content.extend_from_slice(record);
    content.extend_from_slice(&run.bytes[found.end..to]);
    let lens: Vec<usize> = (first..=last).map(|k| run.segments[k].2).collect();
    let parts = redistribute(&lens, &content);
    let mut seq = run.segments[first].1;
    for (k, part) in (first..=last).zip(&parts) {
        let i = run.segments[k].0;
        let f = &mut cap.frames[i];
        set_tcp_payload(lt, f, part).map_err(|e| format!("{}: {e}", cap.name))?;
        if let Some(l) = layout(lt, &f.data) {
            put32(&mut f.data, l.l4 + 4, seq);
            fix_checksums(&l, &mut f.data);
        }
        seq = seq.wrapping_add(part.len() as u32);
    }
    let old_end = run.base.wrapping_add(found.end as u32);
    let old_start = run.base.wrapping_add(found.start as u32);
    let delta = record.len() as i64 - (found.end - found.start) as i64;
    let new_end = old_end.wrapping_add(delta as u32);
    let touched_frames: Vec<usize> = (first..=last).map(|k| run.segments[k].0).collect();
    let mut out = Spliced {
        old_len: found.end - found.start,
        new_len: record.len(),
        ..Spliced::default()
    };
    if delta == 0 {
        return Ok(out);
    }
    // Later segments of this direction (and its FIN), and acknowledgments of
    // the other direction, of this connection only: from the run's first
    // frame on (an earlier connection on the same 5-tuple is left alone).
    let start_idx = run.segments[0].0;
    let mut seen_syn_after = false;
    for (i, f) in cap.frames.iter_mut().enumerate().skip(start_idx) {
        let Some(l) = layout(lt, &f.data).filter(|l| l.proto == TCP) else {
            continue;
        };
        let (s, d) = match (l.src(&f.data), l.dst(&f.data)) {
            (Some(s), Some(d)) => (s, d),
            _ => continue,
        };
        let flags = tcp_flags(&l, &f.data);
        if flags & SYN != 0 && ((s, d) == dir || (d, s) == dir) {
            seen_syn_after = true;
        }
        if seen_syn_after {
            break;
        }
        if (s, d) == dir && !touched_frames.contains(&i) {
            let sq = tcp_seq(&l, &f.data);
            if seq_at_or_after(sq, old_end) {
                put32(&mut f.data, l.l4 + 4, sq.wrapping_add(delta as u32));
                fix_checksums(&l, &mut f.data);
                out.moved += 1;
            }
        } else if (d, s) == dir && flags & ACK != 0 && flags & RST == 0 {
            let ack = tcp_ack(&l, &f.data);
            let new = if seq_at_or_after(ack, old_end) {
                ack.wrapping_add(delta as u32)
            } else if seq_at_or_after(ack, old_start) && !seq_at_or_after(ack, new_end) {
                ack
            } else if seq_at_or_after(ack, old_start) {
                new_end
            } else {
                ack
            };
            if new != ack {
                put32(&mut f.data, l.l4 + 8, new);
                fix_checksums(&l, &mut f.data);
                out.acks_moved += 1;
            }
        }
    }
    Ok(out)
}

/// Finds the COMPOUND reply ending in frame `number` (optionally with xid
/// `xid`) for which `accept` holds on the record's message bytes.
fn reply_in_frame(
    cap: &Capture,
    number: u64,
    xid: Option<u32>,
    what: &str,
    accept: &dyn Fn(&[u8]) -> bool,
) -> Result<(usize, Dir, Run, Found)> {
    let idx = cap
        .frames
        .iter()
        .position(|f| f.number == number)
        .ok_or_else(|| format!("{}: no frame {number}", cap.name))?;
    let (dir, run) = run_containing(cap, idx)?;
    let k = run
        .segments
        .iter()
        .position(|s| s.0 == idx)
        .ok_or_else(|| format!("{}: frame {number}: not in its own stream", cap.name))?;
    let (lo, hi) = run.span(k);
    let mut found = replies_ending_in(&run, lo, hi, accept);
    if let Some(x) = xid {
        found.retain(|f| f.xid == x);
    }
    match found.as_slice() {
        [one] => {
            let one = *one;
            Ok((idx, dir, run, one))
        }
        [] => Err(format!(
            "{}: frame {number}: no {what} ends in this frame",
            cap.name
        )),
        many => Err(format!(
            "{}: frame {number}: {} replies end in this frame (xids {}); choose one with --xid",
            cap.name,
            many.len(),
            many.iter()
                .map(|f| format!("{:#010x}", f.xid))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Decodes a record's message as an accepted COMPOUND reply.
fn compound_reply(msg: &[u8]) -> Option<(RpcMessage<'_>, Compound4Res<'_>)> {
    let (m, payload) = RpcMessage::parse(msg).ok()?;
    if !m.is_success() {
        return None;
    }
    let res: Compound4Res = payload.decode_all().ok()?;
    Some((m, res))
}

/// Re-encodes a reply header with new COMPOUND results, as one record.
fn reply_record(m: &RpcMessage<'_>, res: &Compound4Res<'_>) -> Vec<u8> {
    let body = m.to_bytes_with_payload(&xdr::to_bytes(res));
    encode_record(&body, usize::MAX)
}

/// The operation number of an RFC operation name (`SEQUENCE`, `OP_OPEN`).
pub fn opnum_by_name(name: &str) -> Result<NfsOpnum4> {
    let n = name.to_ascii_uppercase();
    let n = n.strip_prefix("OP_").unwrap_or(&n);
    NfsOpnum4::from_name(&format!("OP_{n}")).ok_or_else(|| format!("unknown operation {name:?}"))
}

/// The status of a name (`NFS4ERR_NOTSUPP`).
pub fn status_by_name(name: &str) -> Result<NfsStat4> {
    NfsStat4::from_name(&name.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown status {name:?}"))
}

/// The result of `op` carrying only `status`, built with the codec (so a
/// status whose result arm has a body is refused).
pub fn error_result(op: NfsOpnum4, status: NfsStat4) -> Result<NfsResOp<'static>> {
    let mut b = Vec::with_capacity(8);
    b.extend_from_slice(&op.0.to_be_bytes());
    b.extend_from_slice(&status.0.to_be_bytes());
    let mut r = Reader::new(&b);
    let v = NfsResOp::decode(&mut r).map_err(|e| {
        format!(
            "{} cannot carry {} without result data: {e}",
            op.op_name().unwrap_or("?"),
            status.name().unwrap_or("?")
        )
    })?;
    if !r.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(analyzer::xdr::IntoStatic::into_static(v))
}

/// What `rewrite-reply` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The reply's xid.
    pub xid: u32,
    /// Operations in the reply before and after.
    pub ops_before: usize,
    /// Operations after.
    pub ops_after: usize,
    /// The splice.
    pub spliced: Spliced,
}

/// `rewrite-reply`: see the module documentation.
pub fn rewrite_reply(
    cap: &mut Capture,
    frame: u64,
    op: NfsOpnum4,
    status: NfsStat4,
    nth: usize,
    xid: Option<u32>,
) -> Result<Rewritten> {
    let nth = nth.max(1);
    let has_op = |msg: &[u8]| {
        compound_reply(msg)
            .is_some_and(|(_, r)| r.resarray.iter().filter(|x| x.opnum() == op).count() >= nth)
    };
    let what = format!(
        "accepted COMPOUND reply with {} (occurrence {nth})",
        op.op_name().unwrap_or("?")
    );
    let (_, dir, run, found) = reply_in_frame(cap, frame, xid, &what, &has_op)?;
    let msg = &run.bytes[found.start + 4..found.end];
    let (m, res) = compound_reply(msg).ok_or("the reply no longer decodes")?;
    let at = res
        .resarray
        .iter()
        .enumerate()
        .filter(|(_, x)| x.opnum() == op)
        .nth(nth - 1)
        .map(|(i, _)| i)
        .ok_or("operation not found")?;
    let mut resarray: Vec<NfsResOp<'_>> = res.resarray[..at].to_vec();
    resarray.push(error_result(op, status)?);
    let new = Compound4Res {
        status,
        tag: res.tag.clone(),
        resarray,
    };
    let record = reply_record(&m, &new);
    let spliced = splice(cap, dir, &run, found, &record)?;
    Ok(Rewritten {
        xid: found.xid,
        ops_before: res.resarray.len(),
        ops_after: at + 1,
        spliced,
    })
}

/// `set-chan-attrs`: see the module documentation. `fields` are
/// (name, value) pairs.
pub fn set_chan_attrs(
    cap: &mut Capture,
    frame: u64,
    back: bool,
    fields: &[(String, u32)],
) -> Result<Spliced> {
    let is_cs = |msg: &[u8]| {
        compound_reply(msg).is_some_and(|(_, r)| {
            r.resarray
                .iter()
                .any(|x| matches!(x, NfsResOp::CreateSession(NfsRes::Ok(_))))
        })
    };
    let (_, dir, run, found) =
        reply_in_frame(cap, frame, None, "successful CREATE_SESSION reply", &is_cs)?;
    let msg = &run.bytes[found.start + 4..found.end];
    let (m, mut res) = compound_reply(msg).ok_or("the reply no longer decodes")?;
    for x in &mut res.resarray {
        if let NfsResOp::CreateSession(NfsRes::Ok(ok)) = x {
            let ca = if back {
                &mut ok.csr_back_chan_attrs
            } else {
                &mut ok.csr_fore_chan_attrs
            };
            for (name, v) in fields {
                let slot = match name.as_str() {
                    "ca_headerpadsize" => &mut ca.ca_headerpadsize,
                    "ca_maxrequestsize" => &mut ca.ca_maxrequestsize,
                    "ca_maxresponsesize" => &mut ca.ca_maxresponsesize,
                    "ca_maxresponsesize_cached" => &mut ca.ca_maxresponsesize_cached,
                    "ca_maxoperations" => &mut ca.ca_maxoperations,
                    "ca_maxrequests" => &mut ca.ca_maxrequests,
                    other => return Err(format!("unknown channel attribute {other:?}")),
                };
                *slot = *v;
            }
        }
    }
    let record = reply_record(&m, &res);
    splice(cap, dir, &run, found, &record)
}

// ---------------------------------------------------------------------------
// Command line.

fn usage() -> String {
    "usage: pcap_edit INPUT OUTPUT COMMAND [ARGS]\n\
     commands:\n  \
       keep-host ADDR[:PORT]\n  \
       drop-frames N,M-K,L-\n  \
       from-frame N\n  \
       remap-port OLD NEW\n  \
       shift-time SECS\n  \
       rewrite-reply --frame N --op OPNAME --status NFS4ERR_X [--nth K] [--xid XID]\n  \
       set-chan-attrs --frame N [--back] NAME=VALUE...\n\
     (see the documentation at the top of analyzer/examples/pcap_edit.rs)"
        .to_string()
}

fn parse_u64(s: &str, what: &str) -> Result<u64> {
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    v.map_err(|_| format!("bad {what} {s:?}"))
}

/// Options `--name value` and flags of a command's arguments.
struct Opts {
    pairs: Vec<(String, String)>,
    flags: Vec<String>,
    rest: Vec<String>,
}

fn opts(args: &[String], flags: &[&str]) -> Result<Opts> {
    let mut o = Opts {
        pairs: Vec::new(),
        flags: Vec::new(),
        rest: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if flags.contains(&a.as_str()) {
            o.flags.push(a.clone());
        } else if let Some(name) = a.strip_prefix("--") {
            let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            o.pairs.push((name.to_string(), v.clone()));
        } else {
            o.rest.push(a.clone());
        }
    }
    Ok(o)
}

impl Opts {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn need(&self, name: &str) -> Result<&str> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required\n{}", usage()))
    }

    fn only(&self, known: &[&str]) -> Result<()> {
        match self
            .pairs
            .iter()
            .find(|(n, _)| !known.contains(&n.as_str()))
        {
            Some((n, _)) => Err(format!("unknown option --{n}\n{}", usage())),
            None => Ok(()),
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 || args.iter().any(|a| a == "-h" || a == "--help") {
        return Err(usage());
    }
    let (input, output, cmd, rest) = (&args[0], &args[1], args[2].as_str(), &args[3..]);
    let mut cap = read_capture(Path::new(input))?;
    let n_in = cap.frames.len();
    let report = match cmd {
        "keep-host" => {
            let [h] = rest else { return Err(usage()) };
            let host: HostSpec = h.parse()?;
            let gone = keep_host(&mut cap, host);
            format!("kept the frames to or from {h}: {gone} left out")
        }
        "drop-frames" => {
            let [list] = rest else { return Err(usage()) };
            let gone = drop_frames(&mut cap, &parse_frame_list(list)?);
            format!("dropped {gone} frames ({list})")
        }
        "from-frame" => {
            let [n] = rest else { return Err(usage()) };
            let n = parse_u64(n, "frame number")?;
            let gone = drop_frames(&mut cap, &[(0, n.saturating_sub(1))]);
            format!("dropped the {gone} frames before frame {n}")
        }
        "remap-port" => {
            let [old, new] = rest else {
                return Err(usage());
            };
            let old = u16::try_from(parse_u64(old, "port")?).map_err(|_| "port over 65535")?;
            let new = u16::try_from(parse_u64(new, "port")?).map_err(|_| "port over 65535")?;
            let n = remap_port(&mut cap, old, new);
            format!("port {old} → {new} in {n} frames")
        }
        "shift-time" => {
            let [s] = rest else { return Err(usage()) };
            shift_time(&mut cap, parse_secs(s)?).map_err(|e| format!("{input}: {e}"))?;
            format!("timestamps moved by {s} s")
        }
        "rewrite-reply" => {
            let o = opts(rest, &[])?;
            o.only(&["frame", "op", "status", "nth", "xid"])?;
            if !o.rest.is_empty() {
                return Err(usage());
            }
            let frame = parse_u64(o.need("frame")?, "frame number")?;
            let op = opnum_by_name(o.need("op")?)?;
            let status = status_by_name(o.need("status")?)?;
            let nth = match o.get("nth") {
                Some(v) => parse_u64(v, "--nth")? as usize,
                None => 1,
            };
            let xid = match o.get("xid") {
                Some(v) => {
                    Some(u32::try_from(parse_u64(v, "xid")?).map_err(|_| "xid over 32 bits")?)
                }
                None => None,
            };
            let r = rewrite_reply(&mut cap, frame, op, status, nth, xid)?;
            format!(
                "frame {frame}: reply xid {:#010x}: {} → {} ({} of {} results kept), \
                 record {} → {} bytes, {} later segments and {} acknowledgments moved",
                r.xid,
                op.op_name().unwrap_or("?"),
                status.name().unwrap_or("?"),
                r.ops_after,
                r.ops_before,
                r.spliced.old_len,
                r.spliced.new_len,
                r.spliced.moved,
                r.spliced.acks_moved
            )
        }
        "set-chan-attrs" => {
            let o = opts(rest, &["--back"])?;
            o.only(&["frame"])?;
            let frame = parse_u64(o.need("frame")?, "frame number")?;
            let back = !o.flags.is_empty();
            let mut fields = Vec::new();
            for f in &o.rest {
                let (n, v) = f
                    .split_once('=')
                    .ok_or_else(|| format!("expected NAME=VALUE, got {f:?}"))?;
                let v = u32::try_from(parse_u64(v, n)?).map_err(|_| format!("{n} over 32 bits"))?;
                fields.push((n.to_string(), v));
            }
            if fields.is_empty() {
                return Err(usage());
            }
            let s = set_chan_attrs(&mut cap, frame, back, &fields)?;
            format!(
                "frame {frame}: {} channel attributes set ({}), record {} → {} bytes",
                if back { "back" } else { "fore" },
                o.rest.join(", "),
                s.old_len,
                s.new_len
            )
        }
        other => return Err(format!("unknown command {other:?}\n{}", usage())),
    };
    write_capture(Path::new(output), &cap)?;
    eprintln!("{output}: {report}; {n_in} → {} frames", cap.frames.len());
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pcap_edit: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
