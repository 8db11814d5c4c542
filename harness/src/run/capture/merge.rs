//! One trial's capture file from the files of its interfaces: frames of
//! the harness's own probe connections left out, the rest in time order,
//! written as pcap (one link type) or pcapng (several).

use analyzer::capture::packet::Transport;
use analyzer::capture::{for_each_frame, slice};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;

/// A frame kept for the merged file.
struct Kept {
    secs: i64,
    nanos: u32,
    part: usize,
    linktype: u32,
    data: Vec<u8>,
    orig_len: u32,
}

/// Whether a frame belongs to one of `flows` (either direction).
fn in_flows(
    linktype: analyzer::capture::LinkType,
    data: &[u8],
    orig_len: u32,
    flows: &[(SocketAddr, SocketAddr)],
) -> bool {
    if flows.is_empty() {
        return false;
    }
    let Ok(p) = slice(linktype, data, orig_len) else {
        return false;
    };
    let Transport::Tcp(t) = p.transport else {
        return false;
    };
    let src = SocketAddr::new(p.src, t.src_port);
    let dst = SocketAddr::new(p.dst, t.dst_port);
    flows
        .iter()
        .any(|&(a, b)| (src == a && dst == b) || (src == b && dst == a))
}

/// Writes the frames of `parts` (one file per interface), except those of
/// `excluded` connections, to `out` in time order; returns the frames
/// written.
pub fn merge(
    parts: &[&Path],
    excluded: &[(SocketAddr, SocketAddr)],
    out: &Path,
) -> Result<u64, String> {
    let mut kept: Vec<Kept> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        for_each_frame(part, |f| {
            if !in_flows(f.linktype, f.data, f.orig_len, excluded) {
                kept.push(Kept {
                    secs: f.ts.secs,
                    nanos: f.ts.nanos,
                    part: i,
                    linktype: f.linktype.0,
                    data: f.data.to_vec(),
                    orig_len: f.orig_len,
                });
            }
        })
        .map_err(|e| e.to_string())?;
    }
    // Stable: frames of one interface keep their order on equal times.
    kept.sort_by_key(|k| (k.secs, k.nanos));
    let file = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut w = BufWriter::new(file);
    let one_type = kept.windows(2).all(|p| p[0].linktype == p[1].linktype);
    let written = if one_type {
        write_pcap(&mut w, &kept)
    } else {
        write_pcapng(&mut w, &kept, parts.len())
    };
    written
        .and_then(|()| w.flush())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(kept.len() as u64)
}

/// Classic pcap with nanosecond timestamps.
fn write_pcap(w: &mut impl Write, frames: &[Kept]) -> io::Result<()> {
    let linktype = frames.first().map_or(1, |f| f.linktype);
    w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0; 8])?;
    w.write_all(&262_144u32.to_le_bytes())?;
    w.write_all(&linktype.to_le_bytes())?;
    for f in frames {
        w.write_all(&(f.secs as u32).to_le_bytes())?;
        w.write_all(&f.nanos.to_le_bytes())?;
        w.write_all(&(f.data.len() as u32).to_le_bytes())?;
        w.write_all(&f.orig_len.to_le_bytes())?;
        w.write_all(&f.data)?;
    }
    Ok(())
}

/// One pcapng block: type, body, padding, lengths.
fn block(w: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let pad = (4 - body.len() % 4) % 4;
    let total = (12 + body.len() + pad) as u32;
    w.write_all(&kind.to_le_bytes())?;
    w.write_all(&total.to_le_bytes())?;
    w.write_all(body)?;
    w.write_all(&[0; 3][..pad])?;
    w.write_all(&total.to_le_bytes())
}

/// pcapng: one interface per part (its link type taken from its first
/// frame), nanosecond timestamps.
fn write_pcapng(w: &mut impl Write, frames: &[Kept], parts: usize) -> io::Result<()> {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(w, 0x0a0d_0d0a, &shb)?;
    for part in 0..parts {
        let linktype = frames
            .iter()
            .find(|f| f.part == part)
            .map_or(1, |f| f.linktype);
        let mut idb = Vec::new();
        idb.extend_from_slice(&(linktype as u16).to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        // if_tsresol = 9 (nanoseconds), then opt_endofopt.
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        block(w, 1, &idb)?;
    }
    for f in frames {
        let ts = (f.secs.max(0) as u64) * 1_000_000_000 + u64::from(f.nanos);
        let mut epb = Vec::with_capacity(20 + f.data.len());
        epb.extend_from_slice(&(f.part as u32).to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.orig_len.to_le_bytes());
        epb.extend_from_slice(&f.data);
        let pad = (4 - f.data.len() % 4) % 4;
        epb.extend_from_slice(&[0; 3][..pad]);
        block(w, 6, &epb)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
    }

    fn frames(p: &Path) -> Vec<(i64, u32, u32, usize)> {
        let mut v = Vec::new();
        for_each_frame(p, |f| {
            v.push((f.ts.secs, f.ts.nanos, f.linktype.0, f.data.len()))
        })
        .expect("reads");
        v
    }

    #[test]
    fn parts_merge_in_time_order_and_own_flows_are_left_out() {
        let dir = std::env::temp_dir().join(format!("trunkcheck-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let a = repo("captures/ganesha-v41-session.pcap");
        let one = dir.join("one.pcap");
        // One part, nothing excluded: the same frames, rewritten.
        assert_eq!(
            merge(&[&a], &[], &one).expect("merged"),
            frames(&a).len() as u64
        );
        assert_eq!(frames(&one), frames(&a));
        // Two parts of different link types: pcapng, in time order.
        let b = repo("captures/linux/knfsd-v41-mount-io.pcap");
        let two = dir.join("two.pcapng");
        let n = merge(&[&a, &b], &[], &two).expect("merged");
        let got = frames(&two);
        assert_eq!(n as usize, frames(&a).len() + frames(&b).len());
        assert!(got.windows(2).all(|w| (w[0].0, w[0].1) <= (w[1].0, w[1].1)));
        // Leaving out one connection of a capture.
        let mut first = None;
        for_each_frame(&a, |f| {
            if first.is_none() {
                if let Ok(p) = slice(f.linktype, f.data, f.orig_len) {
                    if let Transport::Tcp(t) = p.transport {
                        first = Some((
                            SocketAddr::new(p.src, t.src_port),
                            SocketAddr::new(p.dst, t.dst_port),
                        ));
                    }
                }
            }
        })
        .expect("reads");
        let flow = first.expect("a TCP frame");
        let less = dir.join("less.pcap");
        let kept = merge(&[&a], &[flow], &less).expect("merged");
        assert!(kept < frames(&a).len() as u64);
        let mut seen = false;
        for_each_frame(&less, |f| {
            seen |= in_flows(f.linktype, f.data, f.orig_len, &[flow])
        })
        .expect("reads");
        assert!(!seen);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
