//! Builds a large benchmark capture from a small real one.
//!
//! ```text
//! cargo run --release -p trunkcheck-analyzer --example synth_capture -- INPUT OUTPUT --size 1G
//! cargo run --release -p trunkcheck-analyzer --example synth_capture -- INPUT OUTPUT --copies 10
//! ```
//!
//! The output is a classic pcap (nanosecond timestamps, Ethernet) made of
//! whole copies of the input's TCP frames, written until it reaches the
//! requested size (`--size`, with K/M/G = 10^3/10^6/10^9 and Ki/Mi/Gi =
//! 2^10/2^20/2^30) or number of copies (`--copies`). In copy `k` every IP
//! address is replaced by one of its own in a benchmarking range
//! (198.18.0.0/15, RFC 2544; 2001:2::/48, RFC 5180), so no two copies share
//! a 5-tuple; ports, TCP sequence numbers and payloads stay as they are, and
//! checksums are not recomputed (neither trunkcheck nor tshark checks them
//! by default). Timestamps are shifted so that each copy starts 1 ms after
//! the previous one ended. Frames that are not TCP over IP are left out.
//! Frames of other link types get a synthesized Ethernet header.
//!
//! Input and output are streamed: the input is read once per copy, so memory
//! stays flat whatever the output size.

use analyzer::capture::packet::{Timestamp, Transport};
use analyzer::capture::{slice, FileSource, Frame, LinkType};
use std::collections::HashMap;
use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Addresses in 198.18.0.0/15.
const V4_RANGE: u64 = 1 << 17;
/// Most distinct addresses accepted in the input.
const MAX_ADDRESSES: usize = 4096;
/// Snap length written in the file header.
const SNAPLEN: u32 = 262_144;
/// Pause between two copies.
const COPY_GAP_NANOS: i128 = 1_000_000;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// When to stop writing copies.
enum Until {
    Bytes(u64),
    Copies(u64),
}

struct Args {
    input: PathBuf,
    output: PathBuf,
    until: Until,
}

fn usage() -> String {
    "usage: synth_capture INPUT OUTPUT (--size SIZE | --copies N)\n  \
     SIZE: bytes, with an optional K, M, G (10^3, 10^6, 10^9) or Ki, Mi, Gi suffix"
        .to_string()
}

fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim().trim_end_matches(['B', 'b']);
    let (digits, mult) = [
        ("Ki", 1u64 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("K", 1_000),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ]
    .iter()
    .find_map(|(suffix, m)| s.strip_suffix(suffix).map(|d| (d, *m)))
    .unwrap_or((s, 1));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("bad size {s:?}\n{}", usage()))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large").into())
}

fn parse_args() -> Result<Args> {
    let mut positional = Vec::new();
    let mut until = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--size" => {
                let v = it.next().ok_or_else(usage)?;
                until = Some(Until::Bytes(parse_size(&v)?));
            }
            "--copies" => {
                let v = it.next().ok_or_else(usage)?;
                let n = v.parse().map_err(|_| format!("bad count {v:?}"))?;
                until = Some(Until::Copies(n));
            }
            "-h" | "--help" => return Err(usage().into()),
            _ if a.starts_with("--") => {
                return Err(format!("unknown option {a}\n{}", usage()).into())
            }
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let [input, output] = <[PathBuf; 2]>::try_from(positional).map_err(|_| usage())?;
    let until = until.ok_or_else(usage)?;
    Ok(Args {
        input,
        output,
        until,
    })
}

/// Where the IP header starts in a frame of `linktype`, and whether the
/// frame already has an Ethernet header to keep.
fn ip_start(linktype: LinkType, data: &[u8]) -> Option<(usize, bool)> {
    match linktype {
        LinkType::ETHERNET => {
            let mut at = 12;
            // Skip 802.1Q / 802.1ad tags (bounded).
            for _ in 0..8 {
                let t = u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?);
                if matches!(t, 0x8100 | 0x88a8 | 0x9100) {
                    at += 4;
                } else {
                    return Some((at + 2, true));
                }
            }
            None
        }
        LinkType::LINUX_SLL => Some((16, false)),
        LinkType::LINUX_SLL2 => Some((20, false)),
        LinkType::NULL | LinkType::LOOP => Some((4, false)),
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 | LinkType::IPV4 | LinkType::IPV6 => {
            Some((0, false))
        }
        _ => None,
    }
}

/// A TCP frame of the input: where its IP header starts, its IP version.
struct TcpFrame {
    ip_at: usize,
    keep_ethernet: bool,
    v6: bool,
}

fn tcp_frame(f: &Frame<'_>) -> Option<TcpFrame> {
    let packet = slice(f.linktype, f.data, f.orig_len).ok()?;
    if !matches!(packet.transport, Transport::Tcp(_)) {
        return None;
    }
    let (ip_at, keep_ethernet) = ip_start(f.linktype, f.data)?;
    let v6 = match f.data.get(ip_at).map(|b| b >> 4) {
        Some(4) => false,
        Some(6) => true,
        _ => return None,
    };
    // The slicer found the addresses, so the header holds them.
    let need = if v6 { 40 } else { 20 };
    (f.data.len() >= ip_at + need).then_some(TcpFrame {
        ip_at,
        keep_ethernet,
        v6,
    })
}

fn nanos(ts: Timestamp) -> i128 {
    i128::from(ts.secs) * 1_000_000_000 + i128::from(ts.nanos)
}

/// What one pass over the input found.
struct Scan {
    /// Distinct IPv4 / IPv6 addresses, numbered in order of appearance.
    v4: HashMap<Ipv4Addr, u64>,
    v6: HashMap<Ipv6Addr, u64>,
    first: i128,
    last: i128,
    frames: u64,
    /// Bytes one copy adds to the output.
    copy_bytes: u64,
    skipped: u64,
}

fn scan(path: &Path) -> Result<Scan> {
    let mut src = FileSource::open(path)?;
    let mut s = Scan {
        v4: HashMap::new(),
        v6: HashMap::new(),
        first: i128::MAX,
        last: i128::MIN,
        frames: 0,
        copy_bytes: 0,
        skipped: 0,
    };
    while let Some(f) = src.next_frame()? {
        let Some(t) = tcp_frame(&f) else {
            s.skipped += 1;
            continue;
        };
        let packet = slice(f.linktype, f.data, f.orig_len)
            .map_err(|e| format!("frame {}: {e}", f.number))?;
        for a in [packet.src, packet.dst] {
            match a {
                IpAddr::V4(a) => {
                    let n = s.v4.len() as u64;
                    s.v4.entry(a).or_insert(n);
                }
                IpAddr::V6(a) => {
                    let n = s.v6.len() as u64;
                    s.v6.entry(a).or_insert(n);
                }
            }
        }
        if s.v4.len() + s.v6.len() > MAX_ADDRESSES {
            return Err(format!("more than {MAX_ADDRESSES} distinct addresses").into());
        }
        let t_ns = nanos(f.ts);
        s.first = s.first.min(t_ns);
        s.last = s.last.max(t_ns);
        s.frames += 1;
        let link = if t.keep_ethernet { t.ip_at } else { 14 };
        s.copy_bytes += 16 + (f.data.len() - t.ip_at + link) as u64;
    }
    if s.frames == 0 {
        return Err(format!("{}: no TCP frames", path.display()).into());
    }
    Ok(s)
}

/// Rewrites the addresses of copy `k` in an IP header.
fn rewrite(ip: &mut [u8], v6: bool, k: u64, scan: &Scan) -> Result<()> {
    if v6 {
        for at in [8usize, 24] {
            let field = ip.get_mut(at..at + 16).ok_or("short IPv6 header")?;
            let bytes: [u8; 16] = (&*field).try_into()?;
            let idx = *scan
                .v6
                .get(&Ipv6Addr::from(bytes))
                .ok_or("unknown address")?;
            let n = k * scan.v6.len() as u64 + idx;
            // 2001:2:0:HHHH:HHHH:HHHH:HHHH:HHHH, n in the last 64 bits.
            let mut new = [0u8; 16];
            new[..4].copy_from_slice(&[0x20, 0x01, 0x00, 0x02]);
            new[8..].copy_from_slice(&n.to_be_bytes());
            field.copy_from_slice(&new);
        }
    } else {
        for at in [12usize, 16] {
            let field = ip.get_mut(at..at + 4).ok_or("short IPv4 header")?;
            let bytes: [u8; 4] = (&*field).try_into()?;
            let idx = *scan
                .v4
                .get(&Ipv4Addr::from(bytes))
                .ok_or("unknown address")?;
            let n = k * scan.v4.len() as u64 + idx;
            if n >= V4_RANGE {
                return Err("out of benchmarking addresses".into());
            }
            let addr = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n as u32;
            field.copy_from_slice(&addr.to_be_bytes());
        }
    }
    Ok(())
}

fn write_header(out: &mut impl Write) -> std::io::Result<()> {
    out.write_all(&0xa1b2_3c4du32.to_le_bytes())?; // nanosecond pcap
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&0i32.to_le_bytes())?;
    out.write_all(&0u32.to_le_bytes())?;
    out.write_all(&SNAPLEN.to_le_bytes())?;
    out.write_all(&u32::from(LinkType::ETHERNET.0 as u16).to_le_bytes())
}

/// Writes copy `k` of the input; returns the bytes written.
fn write_copy(
    path: &Path,
    k: u64,
    shift: i128,
    scan: &Scan,
    out: &mut impl Write,
    frame: &mut Vec<u8>,
) -> Result<u64> {
    let mut src = FileSource::open(path)?;
    let mut written = 0u64;
    while let Some(f) = src.next_frame()? {
        let Some(t) = tcp_frame(&f) else {
            continue;
        };
        frame.clear();
        if t.keep_ethernet {
            frame.extend_from_slice(&f.data[..t.ip_at]);
        } else {
            frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
            let et = if t.v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
            frame.extend_from_slice(&et.to_be_bytes());
        }
        let ip_out = frame.len();
        frame.extend_from_slice(&f.data[t.ip_at..]);
        rewrite(&mut frame[ip_out..], t.v6, k, scan)?;
        let ts = nanos(f.ts) + shift;
        let secs = u32::try_from(ts.div_euclid(1_000_000_000))
            .map_err(|_| "shifted timestamp past 2106")?;
        let sub = ts.rem_euclid(1_000_000_000) as u32;
        let caplen = u32::try_from(frame.len())?;
        if caplen > SNAPLEN {
            return Err(format!("frame {} longer than {SNAPLEN} bytes", f.number).into());
        }
        let link_delta = i64::from(caplen) - f.data.len() as i64;
        let orig = (i64::from(f.orig_len) + link_delta).max(i64::from(caplen));
        out.write_all(&secs.to_le_bytes())?;
        out.write_all(&sub.to_le_bytes())?;
        out.write_all(&caplen.to_le_bytes())?;
        out.write_all(&u32::try_from(orig)?.to_le_bytes())?;
        out.write_all(frame)?;
        written += 16 + u64::from(caplen);
    }
    Ok(written)
}

fn run() -> Result<()> {
    let args = parse_args()?;
    let scan = scan(&args.input)?;
    let copies = match args.until {
        Until::Copies(n) => n,
        Until::Bytes(b) => b.saturating_sub(24).div_ceil(scan.copy_bytes).max(1),
    };
    let per_copy = scan.v4.len().max(1) as u64;
    if !scan.v4.is_empty() && copies.saturating_mul(per_copy) > V4_RANGE {
        return Err(format!(
            "{copies} copies of {per_copy} IPv4 addresses do not fit in 198.18.0.0/15"
        )
        .into());
    }
    let period = scan.last - scan.first + COPY_GAP_NANOS;
    let file = File::create(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write_header(&mut out)?;
    let mut bytes = 24u64;
    let mut frame = Vec::new();
    for k in 0..copies {
        let shift = period * i128::from(k);
        bytes += write_copy(&args.input, k, shift, &scan, &mut out, &mut frame)?;
    }
    out.flush()?;
    eprintln!(
        "{}: {copies} copies of {} TCP frames ({} other frames left out), {} frames, {bytes} bytes",
        args.output.display(),
        scan.frames,
        scan.skipped,
        copies * scan.frames,
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth_capture: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
