//! Builds the malformed-input corpus (`analyzer/tests/malformed/`) from the
//! project's own capture `captures/ganesha-v41-session.pcap`.
//!
//! ```text
//! cargo run -p trunkcheck-analyzer --example gen_malformed -- OUTDIR [SOURCE.pcap]
//! ```
//!
//! Each file is the source capture with one kind of damage: files cut short,
//! bad headers, RPC records and COMPOUNDs whose lengths and counts lie,
//! unknown operations, huge lengths, unrelated protocols mixed in, and TCP
//! segments dropped, duplicated, reordered or cut. The damage is applied to
//! the frames (numbered from 1 as tshark numbers them): when a payload
//! changes length the IP length and checksum are fixed and the later TCP
//! sequence and acknowledgement numbers of the connection shifted, so that
//! the only damage is the one intended. Each step checks that the source
//! holds what it expects (an operation number at an offset, ...), so a
//! different source is an error rather than a silently different corpus.
//! The expected outcome of each file is in `analyzer/tests/malformed/EXPECTED`.

#[path = "common/pcapgen.rs"]
mod pcapgen;

use analyzer::capture::{FileSource, LinkType};
use std::error::Error;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// One frame of the capture being damaged.
#[derive(Clone)]
struct Pkt {
    micros: u64,
    data: Vec<u8>,
    /// Bytes captured (less than `data.len()` to simulate a snap length).
    caplen: usize,
}

/// Where the parts of an Ethernet/IPv4/TCP frame start.
struct Parts {
    ip: usize,
    payload: usize,
    /// (source address and port, destination address and port) as bytes.
    flow: ([u8; 6], [u8; 6]),
}

fn be32(b: &[u8], at: usize) -> Result<u32> {
    let w = b.get(at..at + 4).ok_or("offset past the end")?;
    Ok(u32::from_be_bytes(w.try_into()?))
}

fn put32(b: &mut [u8], at: usize, v: u32) -> Result<()> {
    b.get_mut(at..at + 4)
        .ok_or("offset past the end")?
        .copy_from_slice(&v.to_be_bytes());
    Ok(())
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn parts(d: &[u8]) -> Result<Parts> {
    if d.get(12..14) != Some(&[0x08, 0x00]) {
        return Err("not an Ethernet/IPv4 frame".into());
    }
    let ip = 14;
    let ihl = usize::from(d.get(ip).ok_or("short frame")? & 0x0f) * 4;
    if d.get(ip + 9) != Some(&6) {
        return Err("not TCP".into());
    }
    let tcp = ip + ihl;
    let doff = usize::from(d.get(tcp + 12).ok_or("short frame")? >> 4) * 4;
    let mut src = [0u8; 6];
    let mut dst = [0u8; 6];
    src[..4].copy_from_slice(d.get(ip + 12..ip + 16).ok_or("short frame")?);
    dst[..4].copy_from_slice(d.get(ip + 16..ip + 20).ok_or("short frame")?);
    src[4..].copy_from_slice(d.get(tcp..tcp + 2).ok_or("short frame")?);
    dst[4..].copy_from_slice(d.get(tcp + 2..tcp + 4).ok_or("short frame")?);
    Ok(Parts {
        ip,
        payload: tcp + doff,
        flow: (src, dst),
    })
}

/// The capture being damaged, frames numbered from 1.
#[derive(Clone)]
struct Capture {
    pkts: Vec<Pkt>,
}

impl Capture {
    fn load(path: &Path) -> Result<Capture> {
        let mut src = FileSource::open(path)?;
        let mut pkts = Vec::new();
        while let Some(f) = src.next_frame()? {
            if f.linktype != LinkType::ETHERNET {
                return Err(format!("frame {}: not Ethernet", f.number).into());
            }
            let micros = u64::try_from(f.ts.secs)? * 1_000_000 + u64::from(f.ts.nanos / 1000);
            pkts.push(Pkt {
                micros,
                data: f.data.to_vec(),
                caplen: f.data.len(),
            });
        }
        Ok(Capture { pkts })
    }

    fn pkt(&self, n: usize) -> Result<&Pkt> {
        n.checked_sub(1)
            .and_then(|i| self.pkts.get(i))
            .ok_or_else(|| format!("no frame {n}").into())
    }

    fn pkt_mut(&mut self, n: usize) -> Result<&mut Pkt> {
        n.checked_sub(1)
            .and_then(|i| self.pkts.get_mut(i))
            .ok_or_else(|| format!("no frame {n}").into())
    }

    /// The TCP payload of frame `n`.
    fn payload(&self, n: usize) -> Result<Vec<u8>> {
        let p = self.pkt(n)?;
        let at = parts(&p.data)?.payload;
        Ok(p.data.get(at..).ok_or("short frame")?.to_vec())
    }

    /// Replaces the TCP payload of frame `n`; later segments of the
    /// connection get their sequence (same direction) and acknowledgement
    /// (other direction) numbers shifted by the change in length.
    fn set_payload(&mut self, n: usize, new: &[u8]) -> Result<()> {
        let (flow, delta) = {
            let p = self.pkt_mut(n)?;
            let pr = parts(&p.data)?;
            let old = p.data.len() - pr.payload;
            p.data.truncate(pr.payload);
            p.data.extend_from_slice(new);
            p.caplen = p.data.len();
            let total = u16::try_from(p.data.len() - pr.ip)?;
            p.data[pr.ip + 2..pr.ip + 4].copy_from_slice(&total.to_be_bytes());
            p.data[pr.ip + 10..pr.ip + 12].copy_from_slice(&[0, 0]);
            let sum = pcapgen::ipv4_checksum(&p.data[pr.ip..pr.ip + 20]);
            p.data[pr.ip + 10..pr.ip + 12].copy_from_slice(&sum.to_be_bytes());
            (pr.flow, new.len() as i64 - old as i64)
        };
        if delta == 0 {
            return Ok(());
        }
        for p in self.pkts.iter_mut().skip(n) {
            let Ok(pr) = parts(&p.data) else { continue };
            let tcp = pr.ip + 20;
            if pr.flow == flow {
                let seq = be32(&p.data, tcp + 4)?;
                put32(&mut p.data, tcp + 4, seq.wrapping_add(delta as u32))?;
            } else if pr.flow == (flow.1, flow.0) {
                let ack = be32(&p.data, tcp + 8)?;
                put32(&mut p.data, tcp + 8, ack.wrapping_add(delta as u32))?;
            }
        }
        Ok(())
    }

    /// Removes frame `n` as if its payload had never been sent (the stream
    /// stays continuous).
    fn remove_unsent(&mut self, n: usize) -> Result<()> {
        self.set_payload(n, &[])?;
        self.pkts.remove(n - 1);
        Ok(())
    }

    /// Removes frame `n` as if it was lost from the capture (sequence
    /// numbers untouched: a hole).
    fn drop_frame(&mut self, n: usize) -> Result<()> {
        self.pkt(n)?;
        self.pkts.remove(n - 1);
        Ok(())
    }

    /// Rewrites one 32-bit word of frame `n`'s payload, checking the old value.
    fn patch(&mut self, n: usize, at: usize, old: u32, new: u32) -> Result<()> {
        let mut pl = self.payload(n)?;
        let found = be32(&pl, at)?;
        if found != old {
            return Err(
                format!("frame {n} offset {at}: expected {old:#x}, found {found:#x}").into(),
            );
        }
        put32(&mut pl, at, new)?;
        self.set_payload(n, &pl)
    }

    /// The classic pcap bytes, and the file offset of each frame's record.
    fn pcap(&self) -> Result<(Vec<u8>, Vec<usize>)> {
        let mut w = pcapgen::PcapWriter::new(Vec::new())?;
        let mut offsets = Vec::new();
        for p in &self.pkts {
            offsets.push(usize::try_from(w.bytes)?);
            w.frame_cut(p.micros, &p.data, p.caplen)?;
        }
        Ok((w.finish()?, offsets))
    }

    /// The pcapng bytes (one section, one Ethernet interface), and the file
    /// offset of each frame's block.
    fn pcapng(&self) -> Result<(Vec<u8>, Vec<usize>)> {
        let mut out = Vec::new();
        let le = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        le(&mut out, 0x0a0d_0d0a);
        le(&mut out, 28);
        le(&mut out, 0x1a2b_3c4d);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(-1i64).to_le_bytes());
        le(&mut out, 28);
        le(&mut out, 1);
        le(&mut out, 20);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        le(&mut out, 262_144);
        le(&mut out, 20);
        let mut offsets = Vec::new();
        for p in &self.pkts {
            offsets.push(out.len());
            let cap = p.caplen.min(p.data.len());
            let len = u32::try_from(32 + padded(cap))?;
            le(&mut out, 6);
            le(&mut out, len);
            le(&mut out, 0);
            le(&mut out, (p.micros >> 32) as u32);
            le(&mut out, p.micros as u32);
            le(&mut out, u32::try_from(cap)?);
            le(&mut out, u32::try_from(p.data.len())?);
            out.extend_from_slice(&p.data[..cap]);
            out.resize(out.len() + padded(cap) - cap, 0);
            le(&mut out, len);
        }
        Ok((out, offsets))
    }
}

/// Offsets in a record-marked RPC message (a TCP payload holding one record).
mod rpc {
    use super::{be32, padded, Result};

    /// Offset of a call's body (after the verifier).
    pub fn call_body(pl: &[u8]) -> Result<usize> {
        if be32(pl, 8)? != 0 {
            return Err("not a call".into());
        }
        let cred = 36 + padded(be32(pl, 32)? as usize);
        Ok(cred + 8 + padded(be32(pl, cred + 4)? as usize))
    }

    /// Offset of an accepted reply's body (after accept_stat).
    pub fn reply_body(pl: &[u8]) -> Result<usize> {
        if be32(pl, 8)? != 1 || be32(pl, 12)? != 0 {
            return Err("not an accepted reply".into());
        }
        Ok(24 + padded(be32(pl, 20)? as usize) + 4)
    }

    /// Offset of the op count of COMPOUND args at `body`.
    pub fn args_numops(pl: &[u8], body: usize) -> Result<usize> {
        Ok(body + 4 + padded(be32(pl, body)? as usize) + 4)
    }

    /// Offset of the result count of COMPOUND results at `body`.
    pub fn res_numres(pl: &[u8], body: usize) -> Result<usize> {
        Ok(body + 8 + padded(be32(pl, body + 4)? as usize))
    }
}

/// Operation numbers met in the source.
const OP_GETATTR: u32 = 9;
const OP_LOOKUP: u32 = 15;
const OP_PUTROOTFH: u32 = 24;
const OP_EXCHANGE_ID: u32 = 42;
const OP_SEQUENCE: u32 = 53;
/// Bytes of SEQUENCE4args.
const SEQUENCE_ARGS: usize = 32;
/// Bytes of a successful SEQUENCE4res (status included).
const SEQUENCE_RES: usize = 4 + 36;

/// Offset of the first op of the COMPOUND call in frame `n`, after checking
/// its count; returns (offset of numops, offset of the first op).
fn first_op(c: &Capture, n: usize, numops: u32) -> Result<(usize, usize)> {
    let pl = c.payload(n)?;
    let at = rpc::args_numops(&pl, rpc::call_body(&pl)?)?;
    if be32(&pl, at)? != numops {
        return Err(format!("frame {n}: expected {numops} ops").into());
    }
    Ok((at, at + 4))
}

/// A frame carrying unrelated bytes on a new connection: handshake frames
/// then `data` from client to server, then FINs.
fn foreign_conn(
    client: [u8; 4],
    cport: u16,
    server: [u8; 4],
    sport: u16,
    data: &[u8],
) -> Vec<Vec<u8>> {
    let c = std::net::SocketAddrV4::new(client.into(), cport);
    let s = std::net::SocketAddrV4::new(server.into(), sport);
    let mut conn = pcapgen::TcpConn::new(c, s, u32::from(cport));
    let mut frames: Vec<Vec<u8>> = conn.handshake().into();
    for chunk in data.chunks(1000) {
        frames.push(conn.client_sends(chunk));
    }
    frames.push(conn.server_sends(b"HTTP/1.1 400 Bad Request\r\n\r\n"));
    frames.extend(conn.close());
    frames
}

fn insert_after(c: &mut Capture, n: usize, frames: Vec<Vec<u8>>) -> Result<()> {
    let micros = c.pkt(n)?.micros;
    let new: Vec<Pkt> = frames
        .into_iter()
        .enumerate()
        .map(|(i, data)| Pkt {
            micros: micros + i as u64 + 1,
            caplen: data.len(),
            data,
        })
        .collect();
    c.pkts.splice(n..n, new);
    Ok(())
}

/// Every file of the corpus: name and bytes.
fn corpus(src: &Capture) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut files = Vec::new();
    let (whole, offs) = src.pcap()?;
    let frame_at = |n: usize| -> Result<usize> {
        offs.get(n - 1)
            .copied()
            .ok_or_else(|| format!("no frame {n}").into())
    };

    // Files cut short, bad file headers.
    files.push((
        "truncated-mid-header.pcap",
        whole[..frame_at(20)? + 8].to_vec(),
    ));
    files.push((
        "truncated-mid-packet.pcap",
        whole[..frame_at(29)? + 16 + 100].to_vec(),
    ));
    let (ng, ng_offs) = src.pcapng()?;
    let ng20 = *ng_offs.get(19).ok_or("no frame 20")?;
    files.push(("truncated-block.pcapng", ng[..ng20 + 40].to_vec()));
    let mut bad = whole.clone();
    bad[..4].copy_from_slice(b"NOPE");
    files.push(("bad-magic.pcap", bad));
    files.push(("empty.pcap", Vec::new()));
    let mut huge = whole.clone();
    let at = frame_at(20)? + 8;
    huge[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    files.push(("huge-caplen.pcap", huge));

    // Record marking.
    let mut c = src.clone();
    c.patch(12, 0, 0x8000_00a0, 0xffff_fff0)?;
    files.push(("oversized-record-mark.pcap", c.pcap()?.0));
    let mut c = src.clone();
    let pl = c.payload(41)?;
    c.set_payload(41, pl.get(..40).ok_or("short frame 41")?)?;
    files.push(("truncated-rpc-record.pcap", c.pcap()?.0));
    let mut c = src.clone();
    let mut pl = c.payload(27)?;
    let garbage = b"this is not an RPC record, just text that went the wrong way\n";
    pl.splice(0..0, garbage.iter().copied());
    c.set_payload(27, &pl)?;
    files.push(("garbage-between-records.pcap", c.pcap()?.0));

    // Lengths and counts that point past the end.
    let mut c = src.clone();
    let (_, op) = first_op(&c, 8, 1)?;
    c.patch(8, op, OP_EXCHANGE_ID, OP_EXCHANGE_ID)?;
    // client_owner4: verifier (8 bytes), then co_ownerid's length.
    c.patch(8, op + 12, 16, 0x1000)?;
    files.push(("opaque-past-end.pcap", c.pcap()?.0));
    let mut c = src.clone();
    let (_, op) = first_op(&c, 12, 3)?;
    let getattr = op + 4 + SEQUENCE_ARGS + 4;
    c.patch(12, getattr, OP_GETATTR, OP_GETATTR)?;
    c.patch(12, getattr + 4, 2, 0x0010_0000)?;
    files.push(("array-count-past-end.pcap", c.pcap()?.0));

    // COMPOUNDs whose op count lies.
    let mut c = src.clone();
    let (numops, _) = first_op(&c, 12, 3)?;
    c.patch(12, numops, 3, 7)?;
    files.push(("compound-count-larger.pcap", c.pcap()?.0));
    let mut c = src.clone();
    c.patch(12, numops, 3, 2)?;
    files.push(("compound-count-smaller.pcap", c.pcap()?.0));

    // An unknown op, a huge opaque length.
    let mut c = src.clone();
    let (_, op) = first_op(&c, 27, 5)?;
    c.patch(27, op, OP_SEQUENCE, OP_SEQUENCE)?;
    c.patch(27, op + 4 + SEQUENCE_ARGS, OP_PUTROOTFH, OP_PUTROOTFH)?;
    let lookup = op + 4 + SEQUENCE_ARGS + 4;
    c.patch(27, lookup, OP_LOOKUP, 9999)?;
    files.push(("unknown-op-mid-compound.pcap", c.pcap()?.0));
    let mut c = src.clone();
    let len = be32(&c.payload(27)?, lookup + 4)?;
    c.patch(27, lookup + 4, len, 0xffff_fff0)?;
    files.push(("huge-opaque-length.pcap", c.pcap()?.0));

    // Huge attribute bitmaps: a GETATTR asking for 4096 words of
    // attributes, and a GETATTR reply whose fattr4 claims 2^30 words.
    let mut c = src.clone();
    let mut pl = c.payload(12)?;
    let bitmap = getattr + 4;
    let words = be32(&pl, bitmap)? as usize;
    let mut big = Vec::new();
    pcapgen::words(&mut big, &[4096]);
    big.extend(std::iter::repeat_n([0xff; 4], 4096).flatten());
    pl.splice(bitmap..bitmap + 4 + 4 * words, big);
    let mark = 0x8000_0000 | u32::try_from(pl.len() - 4)?;
    put32(&mut pl, 0, mark)?;
    c.set_payload(12, &pl)?;
    files.push(("huge-attr-bitmap.pcap", c.pcap()?.0));
    let mut c = src.clone();
    let pl = c.payload(13)?;
    let numres = rpc::res_numres(&pl, rpc::reply_body(&pl)?)?;
    let res_getattr = numres + 4 + 4 + SEQUENCE_RES + 8;
    c.patch(13, res_getattr, OP_GETATTR, OP_GETATTR)?;
    c.patch(13, res_getattr + 8, 2, 0x4000_0000)?;
    files.push(("huge-fattr4-bitmap.pcap", c.pcap()?.0));

    // Other protocols on the NFS port and on other ports, UDP and ARP.
    let mut c = src.clone();
    let http = b"GET / HTTP/1.1\r\nHost: 127.0.0.2:2049\r\nUser-Agent: not-nfs\r\n\r\n".repeat(40);
    let mut noise = foreign_conn([127, 0, 0, 9], 40_000, [127, 0, 0, 2], 2049, &http);
    let smb: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    noise.extend(foreign_conn(
        [127, 0, 0, 1],
        40_001,
        [127, 0, 0, 2],
        445,
        &smb,
    ));
    let udp = pcapgen::udp_frame(
        "127.0.0.1:53".parse()?,
        "127.0.0.2:53".parse()?,
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
    );
    noise.push(udp);
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 127, 0, 0, 1]);
    arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 127, 0, 0, 2]);
    noise.push(arp);
    insert_after(&mut c, 15, noise)?;
    files.push(("interleaved-protocols.pcap", c.pcap()?.0));

    // TCP damage.
    let mut c = src.clone();
    c.drop_frame(12)?;
    files.push(("tcp-gap.pcap", c.pcap()?.0));
    let mut c = src.clone();
    for n in [27, 13, 12] {
        let p = c.pkt(n)?.clone();
        c.pkts.insert(n, p);
    }
    files.push(("tcp-duplicates.pcap", c.pcap()?.0));
    let mut c = src.clone();
    // 27 28 29 30 → 29 27 28 30: the second call arrives before the first.
    let p29 = c.pkts.remove(28);
    c.pkts.insert(26, p29);
    files.push(("tcp-reordered.pcap", c.pcap()?.0));
    let mut c = src.clone();
    c.pkts.drain(..11);
    files.push(("mid-stream-start.pcap", c.pcap()?.0));
    let mut c = src.clone();
    c.remove_unsent(8)?;
    files.push(("reply-without-call.pcap", c.pcap()?.0));
    let mut c = src.clone();
    c.pkt_mut(12)?.caplen = 120;
    files.push(("snaplen-cut.pcap", c.pcap()?.0));
    let mut c = src.clone();
    // The EXCHANGE_ID call in 7-byte segments.
    let pl = c.payload(8)?;
    let p8 = c.pkt(8)?.clone();
    let pr = parts(&p8.data)?;
    let seq0 = be32(&p8.data, pr.ip + 20 + 4)?;
    let mut pieces = Vec::new();
    for (i, chunk) in pl.chunks(7).enumerate() {
        let mut d = p8.data[..pr.payload].to_vec();
        d.extend_from_slice(chunk);
        put32(&mut d, pr.ip + 20 + 4, seq0.wrapping_add(7 * i as u32))?;
        let total = u16::try_from(d.len() - pr.ip)?;
        d[pr.ip + 2..pr.ip + 4].copy_from_slice(&total.to_be_bytes());
        pieces.push(Pkt {
            micros: p8.micros,
            caplen: d.len(),
            data: d,
        });
    }
    c.pkts.splice(7..8, pieces);
    files.push(("record-in-tiny-segments.pcap", c.pcap()?.0));
    Ok(files)
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: gen_malformed OUTDIR [SOURCE.pcap]")?,
    );
    let source = args.next().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/ganesha-v41-session.pcap")
    });
    let src = Capture::load(&source)?;
    std::fs::create_dir_all(&out)?;
    let mut total = 0;
    for (name, bytes) in corpus(&src)? {
        let path = out.join(name);
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        total += bytes.len();
        eprintln!("{name}: {} bytes", bytes.len());
    }
    eprintln!("{}: {total} bytes in all", out.display());
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_malformed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
