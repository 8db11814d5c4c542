//! Tests of the capture sources and the link layer: real captures (counts
//! checked against tshark 4.0), hand-built files and frames, damaged and
//! hostile files, and a time-bounded mutation fuzz.

use super::*;
use crate::capture::packet::{Packet, TcpFlags, Timestamp, Transport};
use std::io::{Cursor, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// The third-party captures: `$TRUNKCHECK_SHARED_CAPTURES`, else
/// `../shared/captures` beside the repository. `None` (with a note) when
/// absent, so that `cargo test` passes on a machine with only Rust.
fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TRUNKCHECK_SHARED_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/captures"
            ))
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} not found: skipping the shared captures \
             (set TRUNKCHECK_SHARED_CAPTURES to their folder)",
            dir.display()
        );
        None
    }
}

/// The project's own captures (in the repository).
fn own_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../captures"))
}

fn own(name: &str) -> Vec<u8> {
    std::fs::read(own_dir().join(name)).unwrap()
}

/// Reads a whole capture from memory: the frames (owned) and how it ended.
struct Outcome {
    frames: Vec<(u64, Timestamp, LinkType, u32, Vec<u8>, u32)>,
    end: Result<(), CaptureError>,
}

fn read_source(mut src: FileSource) -> Outcome {
    let mut frames = Vec::new();
    let end = loop {
        match src.next_frame() {
            Ok(Some(f)) => frames.push((
                f.number,
                f.ts,
                f.linktype,
                f.interface,
                f.data.to_vec(),
                f.orig_len,
            )),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    // Fused after the end or an error.
    assert!(matches!(src.next_frame(), Ok(None)));
    Outcome { frames, end }
}

fn read_bytes(bytes: Vec<u8>) -> Outcome {
    let len = bytes.len() as u64;
    read_source(FileSource::from_reader("test.pcap", Cursor::new(bytes), Some(len)).unwrap())
}

fn ts(secs: i64, nanos: u32) -> Timestamp {
    Timestamp { secs, nanos }
}

fn put16(v: &mut Vec<u8>, x: u16, be: bool) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

fn put32(v: &mut Vec<u8>, x: u32, be: bool) {
    v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
}

#[derive(Clone, Copy)]
enum PcapKind {
    Micro,
    Nano,
    Modified,
}

/// A classic pcap file; records are (secs, sub-second, data, orig_len).
fn pcap_file(
    be: bool,
    kind: PcapKind,
    linktype: u32,
    records: &[(u32, u32, &[u8], u32)],
) -> Vec<u8> {
    let magic = match kind {
        PcapKind::Micro => 0xa1b2_c3d4,
        PcapKind::Nano => 0xa1b2_3c4d,
        PcapKind::Modified => 0xa1b2_cd34,
    };
    let mut v = Vec::new();
    put32(&mut v, magic, be);
    put16(&mut v, 2, be);
    put16(&mut v, 4, be);
    put32(&mut v, 0, be);
    put32(&mut v, 0, be);
    put32(&mut v, 65535, be);
    put32(&mut v, linktype, be);
    for (secs, frac, data, orig) in records {
        put32(&mut v, *secs, be);
        put32(&mut v, *frac, be);
        put32(&mut v, data.len() as u32, be);
        put32(&mut v, *orig, be);
        if let PcapKind::Modified = kind {
            v.extend_from_slice(&[0, 0, 0, 1, 0x08, 0x00, 0, 0]);
        }
        v.extend_from_slice(data);
    }
    v
}

/// One pcapng block: type, length, body padded to 4, length.
fn ng_block(be: bool, btype: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    let mut v = Vec::new();
    put32(&mut v, btype, be);
    put32(&mut v, len, be);
    v.extend_from_slice(body);
    v.resize(8 + padded, 0);
    put32(&mut v, len, be);
    v
}

fn ng_options(be: bool, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, value) in opts {
        put16(&mut v, *code, be);
        put16(&mut v, value.len() as u16, be);
        v.extend_from_slice(value);
        v.resize(v.len().div_ceil(4) * 4, 0);
    }
    if !opts.is_empty() {
        v.extend_from_slice(&[0, 0, 0, 0]);
    }
    v
}

fn shb(be: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, 0x1A2B_3C4D, be);
    put16(&mut body, 1, be);
    put16(&mut body, 0, be);
    body.extend_from_slice(&(-1i64).to_le_bytes());
    ng_block(be, 0x0A0D_0D0A, &body)
}

fn idb(be: bool, linktype: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, linktype, be);
    put16(&mut body, 0, be);
    put32(&mut body, snaplen, be);
    body.extend(ng_options(be, opts));
    ng_block(be, 1, &body)
}

fn epb(be: bool, if_id: u32, units: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, if_id, be);
    put32(&mut body, (units >> 32) as u32, be);
    put32(&mut body, units as u32, be);
    put32(&mut body, data.len() as u32, be);
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    body.resize(body.len().div_ceil(4) * 4, 0);
    // An epb_flags option, to be skipped.
    body.extend(ng_options(be, &[(2, &[0, 0, 0, 1])]));
    ng_block(be, 6, &body)
}

fn spb(be: bool, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    ng_block(be, 3, &body)
}

fn pb(be: bool, if_id: u16, units: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, if_id, be);
    put16(&mut body, 0, be);
    put32(&mut body, (units >> 32) as u32, be);
    put32(&mut body, units as u32, be);
    put32(&mut body, data.len() as u32, be);
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    ng_block(be, 2, &body)
}

// Frames, written byte by byte.

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_PSH: u8 = 0x08;
const TCP_ACK: u8 = 0x10;

fn tcp_header(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, window: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.push(0x50);
    v.push(flags);
    v.extend_from_slice(&window.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v
}

fn udp_header(sport: u16, dport: u16, payload_len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

/// An IPv4 packet; `frag` is the flags/fragment-offset field.
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, frag: u16, l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0x12, 0x34]);
    v.extend_from_slice(&frag.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(l4);
    v
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, after: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(after.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(after);
    v
}

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&MAC_B);
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

const V4_A: [u8; 4] = [192, 0, 2, 1];
const V4_B: [u8; 4] = [192, 0, 2, 2];

fn v6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
    a
}

/// The TCP segment every link-type test carries: 10.. → 2049, PSH|ACK.
fn sample_tcp() -> Vec<u8> {
    let mut l4 = tcp_header(40000, 2049, 1000, 2000, TCP_PSH | TCP_ACK, 512);
    l4.extend_from_slice(b"\x80\x00\x00\x04abcd");
    l4
}

fn sample_v4() -> Vec<u8> {
    ipv4(V4_A, V4_B, 6, 0x4000, &sample_tcp())
}

fn sample_v6() -> Vec<u8> {
    ipv6(v6(1), v6(2), 6, &sample_tcp())
}

fn tcp_of(p: Packet<'_>) -> crate::capture::packet::TcpSegment<'_> {
    match p.transport {
        Transport::Tcp(t) => t,
        other => panic!("expected TCP, got {other:?}"),
    }
}

fn assert_sample(p: Packet<'_>, v6_addrs: bool) {
    if v6_addrs {
        assert_eq!(p.src, IpAddr::from(v6(1)));
        assert_eq!(p.dst, IpAddr::from(v6(2)));
    } else {
        assert_eq!(p.src, IpAddr::from(V4_A));
        assert_eq!(p.dst, IpAddr::from(V4_B));
    }
    let t = tcp_of(p);
    assert_eq!((t.src_port, t.dst_port), (40000, 2049));
    assert_eq!((t.seq, t.ack, t.window), (1000, 2000, 512));
    assert_eq!(
        t.flags,
        TcpFlags {
            psh: true,
            ack: true,
            ..TcpFlags::default()
        }
    );
    assert_eq!(t.payload, b"\x80\x00\x00\x04abcd");
    assert_eq!(t.missing, 0);
}

// ------------------------------------------------------- real captures

/// Expected per capture, from tshark 4.0.17 (`tshark -r F | wc -l`; the
/// TCP/UDP/fragment counts with `-Y "tcp and not icmp"`, `-Y udp`,
/// `-Y "ip.frag_offset>0"`, `-Y "not ip and not ipv6"`, and the sum of
/// `tcp.len`).
struct Expect {
    file: &'static str,
    frames: u64,
    tcp: u64,
    udp: u64,
    fragments: u64,
    tcp_bytes: u64,
    not_ip: u64,
}

const fn e(
    file: &'static str,
    frames: u64,
    tcp: u64,
    udp: u64,
    fragments: u64,
    tcp_bytes: u64,
    not_ip: u64,
) -> Expect {
    Expect {
        file,
        frames,
        tcp,
        udp,
        fragments,
        tcp_bytes,
        not_ip,
    }
}

const SHARED_EXPECT: &[Expect] = &[
    e("dittofs__nfsv4-acl__reference.pcap", 53, 53, 0, 0, 5696, 0),
    e("lab__libnfs-v40-ganesha.pcap", 88, 88, 0, 0, 9060, 0),
    e(
        "nfstrace__eth-ipv4-tcp-nfsv41.pcap",
        1062,
        1062,
        0,
        0,
        267_900,
        0,
    ),
    e(
        "nfstrace__eth-ipv4-tcp-smb2-putty.pcap",
        161,
        161,
        0,
        0,
        546_049,
        0,
    ),
    // 19 whole datagrams and 16 first fragments (tshark shows these as
    // "Fragmented IP protocol"); 171 later fragments.
    e(
        "nfstrace__eth-ipv4-udp-nfsv3-dup-retransm.pcap",
        206,
        0,
        35,
        171,
        0,
        0,
    ),
    e(
        "pnfs-lattice__0003__phase_a_linux_default.pcap",
        526,
        526,
        0,
        0,
        90_356,
        0,
    ),
    e("suricata-verify__nfs3-01__input.pcap", 128, 0, 128, 0, 0, 0),
    e("tcpdump__hoobr_nfs_printfh.pcap", 9, 1, 0, 0, 12_296, 8),
    e("tcpdump__hoobr_nfs_xid_map_enter.pcap", 9, 0, 1, 0, 0, 8),
    e("tcpdump__nfs-attr-oobr.pcap", 48, 0, 2, 0, 0, 46),
    e("tcpdump__nfs-cannot-pad-32-bit.pcap", 1, 0, 1, 0, 0, 0),
    e("tcpdump__nfs-seg-fault-1.pcapng", 1, 1, 0, 0, 7960, 0),
    e("tcpdump__nfs-write-verf-cookie.pcapng", 2, 2, 0, 0, 312, 0),
    e(
        "tcpdump__nfs_large_credentials_length.pcap",
        1,
        0,
        1,
        0,
        0,
        0,
    ),
    e("tcpdump__unaligned-nfs-1.pcap", 1, 1, 0, 0, 116, 0),
    e(
        "zeek__mount-unmount-bad-auth-flavor.pcap",
        10,
        0,
        10,
        0,
        0,
        0,
    ),
    e("zeek__nfs_fsinfo_bad_status.pcap", 99, 89, 10, 0, 10_904, 0),
    e("zeek__nfs_getattr_bad_ftype.pcap", 99, 89, 10, 0, 10_904, 0),
    e(
        "zeek__nfs_setattr_bad_set_it.pcap",
        99,
        89,
        10,
        0,
        10_904,
        0,
    ),
];

const OWN_EXPECT: &[Expect] = &[
    e("ganesha-v40-libnfs.pcap", 146, 146, 0, 0, 1_584_740, 0),
    e("ganesha-v41-session.pcap", 48, 48, 0, 0, 4948, 0),
    e("ganesha-two-servers-one-claim.pcap", 28, 28, 0, 0, 1984, 0),
    // Recorded by `trunkcheck run --capture-all` (Linux cooked v2 on `any`).
    e("suite-client-owner-per-address.pcap", 28, 28, 0, 0, 1696, 0),
    e(
        "ganesha-backchannel-ctl-illegal.pcap",
        18,
        18,
        0,
        0,
        1384,
        0,
    ),
    e(
        "suite-knfsd-referral-readdir-locations.pcap",
        24,
        24,
        0,
        0,
        1632,
        0,
    ),
    e(
        "suite-knfsd-referral-readdir-moved.pcap",
        24,
        24,
        0,
        0,
        1580,
        0,
    ),
    e("suite-knfsd-referral-trunk.pcap", 38, 38, 0, 0, 2196, 0),
    e("suite-one-scope-two-owners.pcap", 30, 30, 0, 0, 1964, 0),
    e("suite-one-server-two-addresses.pcap", 26, 26, 0, 0, 1492, 0),
    e("suite-restart-grace-reclaim.pcap", 42, 42, 0, 0, 4084, 0),
    e("suite-session-two-connections.pcap", 28, 28, 0, 0, 1552, 0),
    e("suite-two-servers-claim-one.pcap", 28, 28, 0, 0, 1704, 0),
];

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    frames: u64,
    tcp: u64,
    udp: u64,
    fragments: u64,
    tcp_bytes: u64,
    not_ip: u64,
    other: u64,
    errors: u64,
}

fn tally(path: &std::path::Path) -> Result<Tally, CaptureError> {
    let mut t = Tally::default();
    let mut last = 0;
    let n = for_each_frame(path, |f| {
        assert_eq!(f.number, last + 1, "frames numbered from 1 without gaps");
        last = f.number;
        assert!(f.orig_len as usize >= f.data.len());
        match slice(f.linktype, f.data, f.orig_len) {
            Ok(p) => match p.transport {
                Transport::Tcp(s) => {
                    t.tcp += 1;
                    t.tcp_bytes += s.payload.len() as u64 + u64::from(s.missing);
                }
                Transport::Udp(_) => t.udp += 1,
                Transport::Fragment => t.fragments += 1,
                Transport::Other(_) => t.other += 1,
            },
            Err(e) if e.is_not_ip() => t.not_ip += 1,
            Err(_) => t.errors += 1,
        }
    })?;
    t.frames = n;
    Ok(t)
}

fn check_expectations(dir: &std::path::Path, expect: &[Expect]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    let mut listed: Vec<String> = expect.iter().map(|e| e.file.to_string()).collect();
    listed.sort();
    assert_eq!(
        names,
        listed,
        "every capture in {} has expectations",
        dir.display()
    );
    for x in expect {
        let path = dir.join(x.file);
        let got = tally(&path).unwrap_or_else(|e| panic!("{e}"));
        let want = Tally {
            frames: x.frames,
            tcp: x.tcp,
            udp: x.udp,
            fragments: x.fragments,
            tcp_bytes: x.tcp_bytes,
            not_ip: x.not_ip,
            other: 0,
            errors: 0,
        };
        assert_eq!(got, want, "{}", x.file);
        // The size is known for progress bars, and all of it is read.
        let mut src = FileSource::open(&path).unwrap();
        while src.next_frame().unwrap().is_some() {}
        assert_eq!(Some(src.bytes_read()), src.total_bytes(), "{}", x.file);
    }
}

#[test]
fn shared_captures_match_tshark() {
    if let Some(dir) = shared_dir() {
        check_expectations(&dir, SHARED_EXPECT);
    }
}

#[test]
fn own_captures_match_tshark() {
    check_expectations(&own_dir(), OWN_EXPECT);
}

/// First and last frame: (number, timestamp, frame length, captured length)
/// as `tshark -T fields -e frame.number -e frame.time_epoch -e frame.len
/// -e frame.cap_len` prints them.
fn first_and_last(path: &std::path::Path) -> Vec<(u64, Timestamp, u32, usize)> {
    let mut all = Vec::new();
    for_each_frame(path, |f| {
        all.push((f.number, f.ts, f.orig_len, f.data.len()))
    })
    .unwrap();
    vec![all[0], all[all.len() - 1]]
}

#[test]
fn timestamps_and_lengths_match_tshark() {
    assert_eq!(
        first_and_last(&own_dir().join("ganesha-v41-session.pcap")),
        vec![
            (1, ts(1_795_646_197, 800_250_000), 74, 74),
            (48, ts(1_795_646_197, 810_169_000), 66, 66)
        ]
    );
    let Some(dir) = shared_dir() else { return };
    // A big-endian pcap file.
    assert_eq!(
        first_and_last(&dir.join("suricata-verify__nfs3-01__input.pcap")),
        vec![
            (1, ts(944_207_397, 280_000_000), 106, 106),
            (128, ts(944_207_397, 750_000_000), 66, 66)
        ]
    );
    // A pcapng file.
    assert_eq!(
        first_and_last(&dir.join("tcpdump__nfs-write-verf-cookie.pcapng")),
        vec![
            (1, ts(1_535_100_872, 729_464_000), 214, 214),
            (2, ts(1_535_100_872, 731_527_000), 230, 230)
        ]
    );
}

#[test]
fn first_frame_of_a_real_capture_slices() {
    let mut src = FileSource::open(own_dir().join("ganesha-v41-session.pcap")).unwrap();
    let f = src.next_frame().unwrap().unwrap();
    assert_eq!(f.number, 1);
    assert_eq!(f.linktype, LinkType::ETHERNET);
    assert_eq!(f.interface, 0);
    let p = slice(f.linktype, f.data, f.orig_len).unwrap();
    let t = tcp_of(p);
    assert!(t.flags.syn && !t.flags.ack);
    assert_eq!(t.dst_port, 2049);
    assert_eq!(p.src, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst, "127.0.0.2".parse::<IpAddr>().unwrap());
}

// ------------------------------------------------------------ gzip

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_copy_gives_the_same_frames() {
    let plain = own("ganesha-v41-session.pcap");
    let original = read_bytes(plain.clone());
    original.end.unwrap();
    assert_eq!(original.frames.len(), 48);

    let dir = std::env::temp_dir().join(format!("trunkcheck-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = dir.join("session.pcap.gz");
    std::fs::write(&gz, gzip(&plain)).unwrap();
    let src = FileSource::open(&gz).unwrap();
    assert_eq!(src.total_bytes(), None);
    let unzipped = read_source(src);
    unzipped.end.unwrap();
    assert_eq!(unzipped.frames, original.frames);
    std::fs::remove_dir_all(&dir).unwrap();

    // Two gzip members one after the other (as `cat a.gz b.gz`) are one stream.
    let mut two = gzip(&plain[..1000]);
    two.extend(gzip(&plain[1000..]));
    let concatenated =
        read_source(FileSource::from_reader("two.gz", Cursor::new(two), None).unwrap());
    concatenated.end.unwrap();
    assert_eq!(concatenated.frames, original.frames);
}

#[test]
fn gzip_pcapng_and_corrupt_gzip() {
    let mut ng = shb(false);
    ng.extend(idb(false, 101, 0, &[]));
    ng.extend(epb(false, 0, 5_000_001, &sample_v4(), 60));
    let r =
        read_source(FileSource::from_reader("x.pcapng.gz", Cursor::new(gzip(&ng)), None).unwrap());
    r.end.unwrap();
    assert_eq!(r.frames.len(), 1);
    assert_eq!(r.frames[0].1, ts(5, 1000));

    // A damaged deflate stream: frames before the damage, then an error.
    let mut gz = gzip(&own("ganesha-v41-session.pcap"));
    let n = gz.len();
    for b in &mut gz[n / 2..n / 2 + 64] {
        *b ^= 0x5a;
    }
    let r = read_source(FileSource::from_reader("bad.gz", Cursor::new(gz), None).unwrap());
    let err = r.end.unwrap_err();
    assert!(r.frames.len() < 48);
    assert!(err.to_string().starts_with("bad.gz: "), "{err}");
}

// ------------------------------------------------- classic pcap variants

#[test]
fn pcap_byte_orders_and_resolutions() {
    let frame = ethernet(0x0800, &sample_v4());
    for be in [false, true] {
        let micro = pcap_file(
            be,
            PcapKind::Micro,
            1,
            &[(1_700_000_000, 123_456, &frame, 1500)],
        );
        let r = read_bytes(micro);
        r.end.unwrap();
        assert_eq!(r.frames.len(), 1);
        let (n, t, lt, iface, data, orig) = &r.frames[0];
        assert_eq!(
            (*n, *t, *lt, *iface),
            (1, ts(1_700_000_000, 123_456_000), LinkType::ETHERNET, 0)
        );
        assert_eq!((data, *orig), (&frame, 1500));
        assert_sample(slice(*lt, data, *orig).unwrap(), false);

        let nano = pcap_file(
            be,
            PcapKind::Nano,
            101,
            &[(7, 999_999_999, &sample_v4(), 0)],
        );
        let r = read_bytes(nano);
        r.end.unwrap();
        assert_eq!(r.frames[0].1, ts(7, 999_999_999));
        assert_eq!(r.frames[0].2, LinkType::RAW);
        // An original length below the captured one is raised to it.
        assert_eq!(r.frames[0].5 as usize, sample_v4().len());

        let modified = pcap_file(
            be,
            PcapKind::Modified,
            1,
            &[(1, 5, &frame, 80), (2, 6, &frame, 80)],
        );
        let r = read_bytes(modified);
        r.end.unwrap();
        assert_eq!(r.frames.len(), 2, "modified, big endian {be}");
        assert_eq!(r.frames[1].1, ts(2, 6000));
        assert_eq!(r.frames[1].4, frame);
    }
    // Sub-second fields past one second carry into the seconds.
    let r = read_bytes(pcap_file(
        false,
        PcapKind::Micro,
        1,
        &[(10, 2_500_000, &frame, 80)],
    ));
    assert_eq!(r.frames[0].1, ts(12, 500_000_000));
    // FCS bits above the link type are ignored.
    let r = read_bytes(pcap_file(
        false,
        PcapKind::Micro,
        0x1000_0001,
        &[(1, 0, &frame, 80)],
    ));
    assert_eq!(r.frames[0].2, LinkType::ETHERNET);
    // A file with only a header has no frames.
    let r = read_bytes(pcap_file(true, PcapKind::Nano, 1, &[]));
    r.end.unwrap();
    assert!(r.frames.is_empty());
}

#[test]
fn unknown_format_empty_and_bad_version() {
    let err = FileSource::from_reader("notes.txt", Cursor::new(b"hello world".to_vec()), Some(11))
        .unwrap_err();
    assert!(matches!(err.kind(), CaptureErrorKind::UnknownFormat { .. }));
    assert_eq!(
        err.to_string(),
        "notes.txt: not a pcap, pcapng or gzip-compressed capture (starts with 68 65 6c 6c) \
         (reading frame 1 at byte offset 0)"
    );
    let err = FileSource::from_reader("empty.pcap", Cursor::new(Vec::new()), Some(0)).unwrap_err();
    assert!(matches!(err.kind(), CaptureErrorKind::Empty));
    let err = FileSource::open("/nonexistent/x.pcap").unwrap_err();
    assert!(matches!(err.kind(), CaptureErrorKind::Io(_)));
    assert!(err.to_string().starts_with("/nonexistent/x.pcap: "));

    let mut v = pcap_file(false, PcapKind::Micro, 1, &[]);
    v[4] = 3;
    let err = FileSource::from_reader("v3.pcap", Cursor::new(v), None).unwrap_err();
    assert!(matches!(
        err.kind(),
        CaptureErrorKind::UnsupportedVersion { major: 3, .. }
    ));
    // Only part of a file header.
    let v = pcap_file(false, PcapKind::Micro, 1, &[])[..10].to_vec();
    let err = FileSource::from_reader("short.pcap", Cursor::new(v), Some(10)).unwrap_err();
    assert!(matches!(
        err.kind(),
        CaptureErrorKind::Truncated {
            needed: 24,
            available: 10
        }
    ));
}

// ------------------------------------------------------------ pcapng

#[test]
fn pcapng_interfaces_resolutions_and_sections() {
    let eth = ethernet(0x0800, &sample_v4());
    let raw6 = sample_v6();
    let mut f = shb(false);
    // Interface 0: Ethernet, default microseconds.
    f.extend(idb(false, 1, 0, &[(2, b"eth0")]));
    // Interface 1: raw IP, nanoseconds, clock offset of 1000 s.
    f.extend(idb(
        false,
        101,
        0,
        &[(9, &[9]), (14, &1000i64.to_le_bytes())],
    ));
    // A name resolution block and a custom block: skipped.
    f.extend(ng_block(false, 4, &[0, 0, 0, 0]));
    f.extend(ng_block(
        false,
        0x0000_0BAD,
        &[0, 0, 0x7e, 0x2e, 1, 2, 3, 4],
    ));
    f.extend(epb(false, 0, 1_600_000_000_250_000, &eth, eth.len() as u32));
    f.extend(epb(
        false,
        1,
        1_600_000_000_000_000_007,
        &raw6,
        raw6.len() as u32,
    ));
    f.extend(spb(false, &eth, eth.len() as u32));
    f.extend(pb(false, 1, 42_000_000_001, &raw6, 1500));
    // A second section, big-endian, with one interface counting 1/1024 s.
    f.extend(shb(true));
    f.extend(idb(
        true,
        276,
        0,
        &[(9, &[0x80 | 10]), (14, &(-5i64).to_be_bytes())],
    ));
    let mut sll2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6];
    sll2.extend_from_slice(&MAC_A);
    sll2.extend_from_slice(&[0, 0]);
    sll2.extend_from_slice(&raw6);
    f.extend(epb(true, 0, 2048 * 10 + 512, &sll2, sll2.len() as u32));
    // An interface statistics block at the end: skipped.
    f.extend(ng_block(true, 5, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));

    let r = read_bytes(f);
    r.end.unwrap();
    let got: Vec<_> = r.frames.iter().map(|f| (f.0, f.1, f.2, f.3)).collect();
    assert_eq!(
        got,
        vec![
            (1, ts(1_600_000_000, 250_000_000), LinkType::ETHERNET, 0),
            (2, ts(1_600_001_000, 7), LinkType::RAW, 1),
            // A simple packet block has no timestamp: it keeps the last one.
            (3, ts(1_600_001_000, 7), LinkType::ETHERNET, 0),
            (4, ts(1042, 1), LinkType::RAW, 1),
            (5, ts(15, 500_000_000), LinkType::LINUX_SLL2, 2),
        ]
    );
    assert_eq!(r.frames[3].5, 1500);
    for f in &r.frames {
        let p = slice(f.2, &f.4, f.5).unwrap();
        assert_sample(p, f.2 != LinkType::ETHERNET);
    }
}

#[test]
fn pcapng_unknown_interface_and_bad_blocks() {
    let mut f = shb(false);
    f.extend(idb(false, 1, 0, &[]));
    f.extend(epb(false, 0, 1, &[1, 2, 3], 3));
    f.extend(epb(false, 3, 1, &[1, 2, 3], 3));
    let r = read_bytes(f);
    assert_eq!(r.frames.len(), 1);
    let err = r.end.unwrap_err();
    assert!(matches!(
        err.kind(),
        CaptureErrorKind::UnknownInterface { id: 3, declared: 1 }
    ));
    assert_eq!(err.frame(), Some(2));

    // A packet before any interface.
    let mut f = shb(true);
    f.extend(spb(true, &[1, 2, 3, 4], 4));
    let err = read_bytes(f).end.unwrap_err();
    assert!(matches!(
        err.kind(),
        CaptureErrorKind::UnknownInterface { id: 0, declared: 0 }
    ));

    // Leading and trailing lengths disagree.
    let mut f = shb(false);
    f.extend(idb(false, 1, 0, &[]));
    let mut block = epb(false, 0, 1, &[1, 2, 3], 3);
    let n = block.len();
    block[n - 4] ^= 4;
    f.extend(block);
    let err = read_bytes(f).end.unwrap_err();
    assert!(err.to_string().contains("at its end"), "{err}");

    // A length that is not a multiple of 4, and one below 12.
    for bad in [13u32, 8] {
        let mut f = shb(false);
        let at = f.len();
        f.extend(idb(false, 1, 0, &[]));
        f[at + 4..at + 8].copy_from_slice(&bad.to_le_bytes());
        let err = read_bytes(f).end.unwrap_err();
        assert!(
            matches!(err.kind(), CaptureErrorKind::Malformed(_)),
            "{err}"
        );
        assert_eq!(err.offset(), Some(at as u64));
    }

    // An EPB whose captured length runs past its block.
    let mut f = shb(false);
    f.extend(idb(false, 1, 0, &[]));
    let at = f.len();
    f.extend(epb(false, 0, 1, &[1, 2, 3, 4], 4));
    f[at + 20..at + 24].copy_from_slice(&400u32.to_le_bytes());
    let err = read_bytes(f).end.unwrap_err();
    assert!(
        matches!(err.kind(), CaptureErrorKind::Malformed(_)),
        "{err}"
    );

    // An if_tsresol that no clock has.
    let mut f = shb(false);
    f.extend(idb(false, 1, 0, &[(9, &[20])]));
    let err = read_bytes(f).end.unwrap_err();
    assert!(err.to_string().contains("if_tsresol"), "{err}");

    // A section header with a wrong byte-order magic (at open).
    let mut f = shb(false);
    f[8] = 0;
    let err = FileSource::from_reader("bom.pcapng", Cursor::new(f), None).unwrap_err();
    assert!(matches!(err.kind(), CaptureErrorKind::Malformed(_)));
}

// ------------------------------------------ damaged and hostile files

#[test]
fn truncated_real_capture_gives_frames_then_the_place() {
    let plain = own("ganesha-v41-session.pcap");
    let whole = read_bytes(plain.clone());
    // Offsets where each frame's record starts (24-byte header, 16 per record).
    let mut starts = Vec::new();
    let mut at = 24;
    for f in &whole.frames {
        starts.push(at);
        at += 16 + f.4.len();
    }
    assert_eq!(at, plain.len());
    for cut in [30, starts[9] + 5, starts[9] + 20, plain.len() - 1] {
        // With the size known (a file): a record claiming more than
        // remains is caught before reading it.
        let r = read_bytes(plain[..cut].to_vec());
        let err = r.end.unwrap_err();
        let frame = starts.iter().rposition(|&s| s <= cut).unwrap() as u64 + 1;
        assert_eq!(r.frames.len() as u64, frame - 1, "cut at {cut}");
        assert_eq!(r.frames[..], whole.frames[..frame as usize - 1]);
        assert_eq!(err.frame(), Some(frame));
        assert_eq!(err.offset(), Some(starts[frame as usize - 1] as u64));
        assert!(matches!(
            err.kind(),
            CaptureErrorKind::Truncated { .. } | CaptureErrorKind::PastEnd { .. }
        ));
        // A stream of unknown size (as gzip): the same frames, then "truncated".
        let src = FileSource::from_reader("cut", Cursor::new(plain[..cut].to_vec()), None).unwrap();
        let r = read_source(src);
        assert_eq!(r.frames.len() as u64, frame - 1);
        let err = r.end.unwrap_err();
        assert!(
            matches!(err.kind(), CaptureErrorKind::Truncated { .. }),
            "{err}"
        );
        assert_eq!(err.frame(), Some(frame));
    }
}

#[test]
fn hostile_lengths_cost_an_error_not_memory() {
    let frame = ethernet(0x0800, &sample_v4());
    let good = pcap_file(
        false,
        PcapKind::Micro,
        1,
        &[(1, 0, &frame, 80), (2, 0, &frame, 80)],
    );
    let second = 24 + 16 + frame.len();
    for (claim, file_size_known) in [
        (u32::MAX, true),
        (u32::MAX, false),
        (200 << 20, true),
        (200 << 20, false),
        (0x0fff_fff0, false),
    ] {
        let mut v = good.clone();
        v[second + 8..second + 12].copy_from_slice(&claim.to_le_bytes());
        let total = file_size_known.then_some(v.len() as u64);
        let mut src = FileSource::from_reader("hostile.pcap", Cursor::new(v), total).unwrap();
        assert!(src.next_frame().unwrap().is_some());
        let err = src.next_frame().unwrap_err();
        assert_eq!(err.frame(), Some(2));
        assert_eq!(err.offset(), Some(second as u64));
        match err.kind() {
            CaptureErrorKind::TooLarge { claimed, limit } => {
                assert!(u64::from(claim) + 16 > MAX_BLOCK_LEN);
                assert_eq!((*claimed, *limit), (u64::from(claim) + 16, MAX_BLOCK_LEN));
            }
            CaptureErrorKind::PastEnd { .. } => assert!(file_size_known),
            CaptureErrorKind::Truncated { .. } => assert!(!file_size_known),
            other => panic!("{other}"),
        }
        // The buffer grew only to what the stream really held.
        assert!(
            src.buffer_capacity() <= 256 * 1024,
            "{}",
            src.buffer_capacity()
        );
        assert!(src.next_frame().unwrap().is_none());
    }

    // pcapng: a block length of 0xfffffffc and one of 200 MiB.
    for claim in [0xffff_fffcu32, 200 << 20] {
        let mut f = shb(false);
        let at = f.len();
        f.extend(idb(false, 1, 0, &[]));
        f[at + 4..at + 8].copy_from_slice(&claim.to_le_bytes());
        for total in [Some(f.len() as u64), None] {
            let mut src =
                FileSource::from_reader("hostile.pcapng", Cursor::new(f.clone()), total).unwrap();
            let err = src.next_frame().unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    CaptureErrorKind::TooLarge { .. }
                        | CaptureErrorKind::PastEnd { .. }
                        | CaptureErrorKind::Truncated { .. }
                ),
                "{err}"
            );
            assert!(src.buffer_capacity() <= 256 * 1024);
        }
    }
}

#[test]
fn memory_does_not_grow_with_the_file() {
    // 20 000 frames streamed through: the buffer stays at its chunk size.
    let frame = ethernet(0x0800, &sample_v4());
    let records: Vec<_> = (0..20_000u32).map(|i| (i, 0, &frame[..], 80)).collect();
    let v = pcap_file(false, PcapKind::Micro, 1, &records);
    let len = v.len() as u64;
    let mut src = FileSource::from_reader("big.pcap", Cursor::new(v), Some(len)).unwrap();
    let mut n = 0;
    while let Some(f) = src.next_frame().unwrap() {
        n += 1;
        assert_eq!(f.data.len(), frame.len());
    }
    assert_eq!(n, 20_000);
    assert!(src.buffer_capacity() <= 256 * 1024);
    assert_eq!(src.bytes_read(), len);
}

// ------------------------------------------------------- link layer

#[test]
fn ethernet_and_vlan_tags() {
    let f = ethernet(0x0800, &sample_v4());
    assert_sample(
        slice(LinkType::ETHERNET, &f, f.len() as u32).unwrap(),
        false,
    );

    // 802.1ad outer tag, 802.1Q inner tag, then IPv6.
    let mut tagged = Vec::new();
    tagged.extend_from_slice(&MAC_B);
    tagged.extend_from_slice(&MAC_A);
    tagged.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x86, 0xdd]);
    tagged.extend(sample_v6());
    assert_sample(
        slice(LinkType::ETHERNET, &tagged, tagged.len() as u32).unwrap(),
        true,
    );

    // Minimum-size frame padding is not payload.
    let mut small = ethernet(
        0x0800,
        &ipv4(V4_A, V4_B, 17, 0, &{
            let mut u = udp_header(111, 2049, 2);
            u.extend_from_slice(b"hi");
            u
        }),
    );
    small.resize(60, 0);
    let p = slice(LinkType::ETHERNET, &small, 60).unwrap();
    match p.transport {
        Transport::Udp(u) => {
            assert_eq!(
                (u.src_port, u.dst_port, u.payload, u.missing),
                (111, 2049, &b"hi"[..], 0)
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn linux_cooked_v1_and_v2() {
    // SLL: packet type 4 (outgoing), ARPHRD_LOOPBACK (772), as `tcpdump -i any` on lo.
    for packet_type in [0u8, 4] {
        let mut f = vec![0, packet_type, 0x03, 0x04, 0, 6];
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&[0, 0, 0x08, 0x00]);
        f.extend(sample_v4());
        assert_sample(
            slice(LinkType::LINUX_SLL, &f, f.len() as u32).unwrap(),
            false,
        );
    }
    // SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address.
    let mut f = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 4, 6];
    f.extend_from_slice(&[0; 8]);
    f.extend(sample_v6());
    assert_sample(
        slice(LinkType::LINUX_SLL2, &f, f.len() as u32).unwrap(),
        true,
    );
    // SLL2 carrying ARP.
    let mut arp = vec![0x08, 0x06, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6];
    arp.extend_from_slice(&[0; 8 + 28]);
    assert_eq!(
        slice(LinkType::LINUX_SLL2, &arp, 48),
        Err(LinkError::NotIp(NonIp::EtherType(0x0806)))
    );
    // Cut inside the SLL headers.
    assert!(matches!(
        slice(LinkType::LINUX_SLL, &f[..10], 10),
        Err(LinkError::Truncated { .. })
    ));
    assert!(matches!(
        slice(LinkType::LINUX_SLL2, &f[..19], 19),
        Err(LinkError::Truncated { .. })
    ));
}

#[test]
fn bsd_null_and_loop_in_both_byte_orders() {
    for (af, v6_addrs) in [(2u32, false), (24, true), (28, true), (30, true)] {
        let ip = if v6_addrs { sample_v6() } else { sample_v4() };
        for bytes in [af.to_le_bytes(), af.to_be_bytes()] {
            for lt in [LinkType::NULL, LinkType::LOOP] {
                let mut f = bytes.to_vec();
                f.extend_from_slice(&ip);
                assert_sample(slice(lt, &f, f.len() as u32).unwrap(), v6_addrs);
            }
        }
    }
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend(sample_v4());
    assert_eq!(
        slice(LinkType::NULL, &f, 60),
        Err(LinkError::NotIp(NonIp::AddressFamily(7)))
    );
}

#[test]
fn raw_ip_link_types() {
    for lt in [LinkType::RAW, LinkType::IPV4, LinkType(12)] {
        assert_sample(slice(lt, &sample_v4(), 0).unwrap(), false);
    }
    for lt in [LinkType::RAW, LinkType::IPV6, LinkType(14)] {
        assert_sample(slice(lt, &sample_v6(), 0).unwrap(), true);
    }
    assert_eq!(
        slice(LinkType::RAW, &[0x12, 0, 0, 0], 4),
        Err(LinkError::NotIp(NonIp::IpVersion(1)))
    );
    assert!(matches!(
        slice(LinkType::IPV4, &[0x12, 0, 0, 0], 4),
        Err(LinkError::Malformed { .. })
    ));
}

#[test]
fn ipv6_extension_headers_and_fragments() {
    // Hop-by-hop (8 bytes of padding options) then destination options, then TCP.
    let mut after = vec![60, 0, 1, 4, 0, 0, 0, 0];
    after.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
    after.extend(sample_tcp());
    let f = ipv6(v6(1), v6(2), 0, &after);
    assert_sample(slice(LinkType::RAW, &f, 0).unwrap(), true);

    // A fragment header with offset 0 and more-fragments: the first fragment.
    let mut first = vec![6, 0, 0x00, 0x01, 0, 0, 0, 9];
    first.extend(sample_tcp());
    let f = ipv6(v6(1), v6(2), 44, &first);
    assert_sample(slice(LinkType::RAW, &f, 0).unwrap(), true);

    // Offset 185 (1480 bytes): a later fragment.
    let mut later = vec![6, 0, 0x05, 0xc8, 0, 0, 0, 9];
    later.extend_from_slice(b"more data of the segment");
    let f = ipv6(v6(1), v6(2), 44, &later);
    let p = slice(LinkType::RAW, &f, 0).unwrap();
    assert_eq!(p.transport, Transport::Fragment);
    assert_eq!(p.src, IpAddr::from(v6(1)));
}

#[test]
fn ipv4_fragments() {
    // Non-first: offset 185 (1480 bytes), last.
    let l4 = b"the middle of a UDP datagram".to_vec();
    let f = ethernet(0x0800, &ipv4(V4_A, V4_B, 17, 185, &l4));
    let p = slice(LinkType::ETHERNET, &f, f.len() as u32).unwrap();
    assert_eq!(p.transport, Transport::Fragment);
    assert_eq!(p.dst, IpAddr::from(V4_B));

    // First fragment of a 4000-byte datagram: UDP with the rest missing.
    let mut u = udp_header(700, 2049, 4000);
    u.extend_from_slice(&[0xab; 1472]);
    let f = ipv4(V4_A, V4_B, 17, 0x2000, &u);
    match slice(LinkType::RAW, &f, f.len() as u32).unwrap().transport {
        Transport::Udp(d) => {
            assert_eq!(
                (d.src_port, d.payload.len(), d.missing),
                (700, 1472, 4000 - 1472)
            )
        }
        other => panic!("{other:?}"),
    }

    // A first fragment too short for the TCP header.
    let f = ipv4(V4_A, V4_B, 6, 0x2000, &sample_tcp()[..8]);
    assert_eq!(
        slice(LinkType::RAW, &f, 0).unwrap().transport,
        Transport::Fragment
    );
}

#[test]
fn snaplen_truncation_counts_missing_bytes() {
    let mut l4 = tcp_header(2049, 40000, 7, 8, TCP_ACK, 100);
    l4.extend(vec![0x55; 1000]);
    let f = ethernet(0x0800, &ipv4(V4_A, V4_B, 6, 0, &l4));
    // Captured 14 + 20 + 20 + 46 = 100 bytes of 1054.
    let p = slice(LinkType::ETHERNET, &f[..100], f.len() as u32).unwrap();
    let t = tcp_of(p);
    assert_eq!((t.payload.len(), t.missing), (46, 954));
    assert_eq!((t.src_port, t.seq, t.ack, t.flags.ack), (2049, 7, 8, true));

    // IPv6 the same way.
    let f = ipv6(v6(1), v6(2), 6, &l4);
    let t = tcp_of(slice(LinkType::IPV6, &f[..96], f.len() as u32).unwrap());
    assert_eq!((t.payload.len(), t.missing), (36, 964));

    // Segmentation offload: total length 0; the frame's length on the wire counts.
    let mut f = ipv4(V4_A, V4_B, 6, 0, &l4);
    f[2] = 0;
    f[3] = 0;
    let t = tcp_of(slice(LinkType::RAW, &f[..200], 5000).unwrap());
    assert_eq!((t.payload.len(), t.missing), (160, 4800));

    // UDP cut short.
    let mut u = udp_header(1, 2, 500);
    u.extend(vec![1; 500]);
    let f = ipv4(V4_A, V4_B, 17, 0, &u);
    match slice(LinkType::RAW, &f[..128], f.len() as u32)
        .unwrap()
        .transport
    {
        Transport::Udp(d) => assert_eq!((d.payload.len(), d.missing), (100, 400)),
        other => panic!("{other:?}"),
    }

    // Cut inside the TCP header: truncated, not a segment.
    let f = ipv4(V4_A, V4_B, 6, 0, &l4);
    assert!(matches!(
        slice(LinkType::RAW, &f[..30], f.len() as u32),
        Err(LinkError::Truncated {
            layer: "TCP header",
            ..
        })
    ));
}

#[test]
fn flags_and_other_protocols() {
    for (bits, flags) in [
        (
            TCP_SYN,
            TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
        ),
        (
            TCP_SYN | TCP_ACK,
            TcpFlags {
                syn: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        (
            TCP_FIN | TCP_ACK,
            TcpFlags {
                fin: true,
                ack: true,
                ..TcpFlags::default()
            },
        ),
        (
            TCP_RST,
            TcpFlags {
                rst: true,
                ..TcpFlags::default()
            },
        ),
    ] {
        let f = ipv4(V4_A, V4_B, 6, 0, &tcp_header(1, 2, 3, 4, bits, 5));
        let t = tcp_of(slice(LinkType::RAW, &f, 0).unwrap());
        assert_eq!(t.flags, flags);
        assert!(t.payload.is_empty());
    }
    // ICMP echo.
    let f = ipv4(V4_A, V4_B, 1, 0, &[8, 0, 0, 0, 0, 1, 0, 1]);
    assert_eq!(
        slice(LinkType::RAW, &f, 0).unwrap().transport,
        Transport::Other(1)
    );
}

#[test]
fn not_ip_and_garbage() {
    let mut arp_body = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp_body.extend_from_slice(&[0; 20]);
    let arp = ethernet(0x0806, &arp_body);
    let err = slice(LinkType::ETHERNET, &arp, 42).unwrap_err();
    assert_eq!(err, LinkError::NotIp(NonIp::EtherType(0x0806)));
    assert!(err.is_not_ip());
    assert_eq!(err.to_string(), "not IP: ARP");

    // 802.3 with an LLC header (spanning tree).
    let stp = ethernet(0x0026, &[0x42, 0x42, 0x03, 0, 0]);
    assert_eq!(
        slice(LinkType::ETHERNET, &stp, 60),
        Err(LinkError::NotIp(NonIp::Ieee8023Length(0x26)))
    );
    let err = slice(LinkType::IEEE802_11, &stp, 60).unwrap_err();
    assert_eq!(err, LinkError::UnsupportedLinkType(LinkType::IEEE802_11));
    assert!(!err.is_not_ip());

    // IPv4 with a header length below 5 words; an IP header cut short.
    let mut bad = sample_v4();
    bad[0] = 0x43;
    assert!(matches!(
        slice(LinkType::RAW, &bad, 0),
        Err(LinkError::Malformed { .. })
    ));
    assert!(matches!(
        slice(LinkType::RAW, &sample_v4()[..12], 0),
        Err(LinkError::Truncated { .. })
    ));
    assert!(matches!(
        slice(LinkType::ETHERNET, &[1, 2, 3], 3),
        Err(LinkError::Truncated { .. })
    ));
    assert!(slice(LinkType::RAW, &[], 0).is_err());

    // Every prefix of every sample frame, on every link type: no panic.
    let mut frames = vec![
        ethernet(0x0800, &sample_v4()),
        ethernet(0x86dd, &sample_v6()),
        sample_v4(),
        sample_v6(),
    ];
    let mut rng = Rng(0x1234_5678);
    for _ in 0..200 {
        let n = rng.below(120) as usize;
        frames.push((0..n).map(|_| rng.next() as u8).collect());
    }
    for f in &frames {
        for cut in 0..=f.len() {
            for lt in ALL_LINK_TYPES {
                let _ = slice(lt, &f[..cut], f.len() as u32);
            }
        }
    }
}

const ALL_LINK_TYPES: [LinkType; 9] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(12),
];

#[test]
fn link_type_names() {
    assert_eq!(format!("{:?}", LinkType(276)), "LINUX_SLL2");
    assert_eq!(LinkType(1).to_string(), "ETHERNET (1)");
    assert_eq!(LinkType(9999).to_string(), "link type 9999");
    assert_eq!(format!("{:?}", LinkType(9999)), "LinkType(9999)");
}

// -------------------------------------------------------------- fuzz

/// xorshift64*: a small deterministic generator for the fuzz loops.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// Runs and seconds for a fuzz loop; `TRUNKCHECK_FUZZ_RUNS`,
/// `TRUNKCHECK_FUZZ_SECS` and `TRUNKCHECK_FUZZ_SEED` raise them for a
/// longer hunt (e.g. 1000000 runs, 600 s).
fn fuzz_budget(runs: u64, secs: u64) -> (u64, u64, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("TRUNKCHECK_FUZZ_RUNS", runs),
        var("TRUNKCHECK_FUZZ_SECS", secs),
        var("TRUNKCHECK_FUZZ_SEED", 0),
    )
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..=rng.below(3) {
        let len = v.len() as u64;
        match rng.below(6) {
            0 => {
                // Bit flips.
                for _ in 0..=rng.below(8) {
                    let at = rng.below(len) as usize;
                    if let Some(b) = v.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                }
            }
            1 => v.truncate(rng.below(len + 1) as usize),
            2 | 3 => {
                // A 4-byte field (lengths are 4-aligned in both formats) set
                // to a hostile value.
                let at = (rng.below(len / 4 + 1) * 4) as usize;
                let value: u32 = match rng.below(5) {
                    0 => 0xffff_ffff,
                    1 => 0,
                    2 => 0x0fff_fffc,
                    3 => rng.below(1 << 16) as u32,
                    _ => rng.next() as u32,
                };
                for (i, b) in value.to_le_bytes().iter().enumerate() {
                    if let Some(x) = v.get_mut(at + i) {
                        *x = *b;
                    }
                }
            }
            4 => {
                let at = rng.below(len + 1) as usize;
                let n = rng.below(16) as usize;
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            _ => {
                let at = rng.below(len + 1) as usize;
                let end = (at + rng.below(16) as usize).min(v.len());
                v.drain(at..end);
            }
        }
    }
    v
}

#[test]
fn mutated_captures_never_panic_or_hang() {
    let mut bases = vec![own("ganesha-v41-session.pcap")];
    let mut ng = shb(false);
    ng.extend(idb(false, 1, 0, &[(9, &[9]), (14, &3i64.to_le_bytes())]));
    ng.extend(idb(false, 113, 128, &[]));
    let eth = ethernet(0x0800, &sample_v4());
    ng.extend(epb(false, 0, 123_456_789, &eth, 1500));
    ng.extend(spb(false, &eth, eth.len() as u32));
    ng.extend(pb(false, 1, 5, &eth, 90));
    ng.extend(shb(true));
    ng.extend(idb(true, 229, 0, &[]));
    ng.extend(epb(true, 0, 1, &sample_v6(), 300));
    bases.push(ng);
    bases.push(pcap_file(
        true,
        PcapKind::Nano,
        101,
        &[(1, 2, &sample_v4(), 80), (3, 4, &sample_v6(), 90)],
    ));
    bases.push(pcap_file(
        false,
        PcapKind::Modified,
        1,
        &[(1, 2, &eth, 80), (3, 4, &eth, 90)],
    ));
    if let Some(dir) = shared_dir() {
        bases.push(std::fs::read(dir.join("tcpdump__nfs-write-verf-cookie.pcapng")).unwrap());
    }

    let (max_runs, secs, seed) = fuzz_budget(10_000, 20);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    let mut errors = 0u64;
    while runs < max_runs && Instant::now() < deadline {
        let base = &bases[(runs % bases.len() as u64) as usize];
        let v = mutate(&mut rng, base);
        let len = v.len() as u64;
        // Half with the size known (a file), half without (a gzip stream).
        let total = (runs % 2 == 0).then_some(len);
        runs += 1;
        let mut src = match FileSource::from_reader("fuzz", Cursor::new(v), total) {
            Ok(s) => s,
            Err(_) => {
                errors += 1;
                continue;
            }
        };
        let mut frames = 0u64;
        loop {
            match src.next_frame() {
                Ok(Some(f)) => {
                    frames += 1;
                    assert_eq!(f.number, frames);
                    assert!(f.data.len() as u64 <= len);
                    let _ = slice(f.linktype, f.data, f.orig_len);
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(e.frame(), Some(frames + 1));
                    errors += 1;
                    break;
                }
            }
            // Every record takes at least 12 bytes of the input.
            assert!(frames <= len / 12 + 1, "no progress");
        }
        assert!(src.buffer_capacity() <= (len as usize).max(64 * 1024) * 2 + 64 * 1024);
    }
    eprintln!("fuzz: {runs} mutated captures, {errors} ended in an error");
    assert!(runs >= 500, "only {runs} runs in the time allowed");
}

#[test]
fn mutated_frames_never_panic() {
    let eth = ethernet(0x0800, &sample_v4());
    let mut tagged = Vec::new();
    tagged.extend_from_slice(&MAC_B);
    tagged.extend_from_slice(&MAC_A);
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x86, 0xdd]);
    tagged.extend(sample_v6());
    let bases = [eth, tagged, sample_v4(), sample_v6()];
    let (max_runs, secs, seed) = fuzz_budget(20_000, 10);
    let mut rng = Rng(42 ^ seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0;
    while (runs as u64) < max_runs && Instant::now() < deadline {
        let f = mutate(&mut rng, &bases[runs % bases.len()]);
        for lt in ALL_LINK_TYPES {
            if let Ok(p) = slice(lt, &f, rng.next() as u32) {
                if let Transport::Tcp(t) = p.transport {
                    assert!(t.payload.len() <= f.len());
                }
            }
        }
        runs += 1;
    }
    assert!(runs >= 1000);
}
