//! The runner's per-trial live capture under a fast burst: every byte a
//! trial sent must be in its capture, or the capture must say that it lost
//! frames (and is then not judged as complete).
//!
//! Needs root (a private network namespace, packet capture) and a build
//! with `--features live`; skipped with the reason otherwise, unless
//! TRUNKCHECK_REQUIRE_LAB=1 (set by `.ci/run`) demands it.

mod common;

use analyzer::capture::{for_each_frame, packet::Transport, slice};
use common::{can_run, Need};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use trunkcheck::netns::NetNs;
use trunkcheck::run::capture::{analyze, Health, TrialCapture};
use trunkcheck::run::env::{Env, Sources};

/// The environment of a run whose clients live in `ns` and are captured on
/// its `any` device, as in the built-in lab.
fn env_in(ns: &NetNs) -> Env {
    Env {
        netns: Some(ns.clone()),
        sources: Sources::PerTrial { first_octet: 127 },
        ..Env::listing()
    }
}

/// Client payload bytes (client → server) in a capture file.
fn payload_bytes(path: &std::path::Path, server_port: u16) -> (u64, u64) {
    let mut bytes = 0u64;
    let mut frames = 0u64;
    for_each_frame(path, |f| {
        frames += 1;
        if let Ok(p) = slice(f.linktype, f.data, f.orig_len) {
            if let Transport::Tcp(t) = p.transport {
                if t.dst_port == server_port {
                    bytes += t.payload.len() as u64;
                }
            }
        }
    })
    .expect("the capture reads");
    (frames, bytes)
}

/// A namespace with loopback up and the first trial's client address.
fn lab_namespace() -> NetNs {
    let ns = NetNs::new().expect("namespace");
    let st = ns
        .command("ip")
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"link set lo up\naddress add 127.100.0.1/32 dev lo\n")?;
            c.wait()
        })
        .expect("ip runs");
    assert!(st.success());
    ns
}

const RECORDS: usize = 600;
const SIZE: usize = 100;

/// Sends a burst of `records` writes of `size` bytes (TCP_NODELAY) from
/// trial 0's address in `ns` to a listener there; returns the listener's
/// port and the bytes sent (all of which it read).
fn send_burst(ns: &NetNs, records: usize, size: usize) -> (u16, usize) {
    let listener = ns
        .run(|| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .expect("thread")
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
        sink.len()
    });
    let sent = ns
        .run(move || {
            let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            sock.bind(&SocketAddr::new(IpAddr::from([127, 100, 0, 1]), 0).into())?;
            sock.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
            let mut s: TcpStream = sock.into();
            s.set_nodelay(true)?;
            let chunk = vec![0x55; size];
            for _ in 0..records {
                s.write_all(&chunk)?;
            }
            s.shutdown(std::net::Shutdown::Write)?;
            Ok::<usize, std::io::Error>(records * size)
        })
        .expect("thread")
        .expect("burst sent");
    assert_eq!(reader.join().expect("reader"), sent);
    (port, sent)
}

/// A burst while `capture` runs: its health, its file, and the client
/// payload bytes in it.
fn burst(ns: &NetNs, capture: TrialCapture) -> (Health, std::path::PathBuf, u64) {
    let (port, sent) = send_burst(ns, RECORDS, SIZE);
    let (path, health) = capture.stop().expect("capture stops");
    let (frames, bytes) = payload_bytes(&path, port);
    eprintln!("burst: {frames} frames, {bytes} of {sent} payload bytes captured; {health:?}");
    assert_eq!(frames, health.frames);
    (health, path, bytes)
}

#[test]
fn a_fast_burst_is_captured_whole() {
    if !can_run("capture_burst", &[Need::Root, Need::LiveCapture]) {
        return;
    }
    let ns = lab_namespace();
    let dir = std::env::temp_dir().join(format!("trunkcheck-burst-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let capture = TrialCapture::start(&env_in(&ns), 0, &[], &dir, "BURST").expect("capture starts");
    let (health, path, bytes) = burst(&ns, capture);
    assert_eq!(health.lost, 0, "{health:?}");
    assert_eq!(bytes, (RECORDS * SIZE) as u64, "{health:?}");
    // A whole capture is judged as complete.
    let observed = analyze(&path, health.lost == 0).expect("analysed");
    assert!(observed.complete && observed.note.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_capture_that_lost_frames_says_so_and_is_not_complete() {
    if !can_run("capture_drops", &[Need::Root, Need::LiveCapture]) {
        return;
    }
    let ns = lab_namespace();
    let dir = std::env::temp_dir().join(format!("trunkcheck-drops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // The smallest ring libpcap takes (one block) and 8 MiB at once: the
    // kernel drops whatever arrives while the reader holds the block.
    let capture = TrialCapture::start_with_ring(&env_in(&ns), 0, &[], &dir, "DROPS", 1 << 16)
        .expect("capture starts");
    let (port, sent) = send_burst(&ns, 2048, 4096);
    let (path, health) = capture.stop().expect("capture stops");
    let (_, bytes) = payload_bytes(&path, port);
    eprintln!("small ring: {bytes} of {sent} payload bytes captured; {health:?}");
    assert!(bytes < sent as u64, "{health:?}");
    assert!(
        health.lost > 0,
        "frames were lost, and libpcap must say so: {health:?}"
    );
    // The runner's whole path: a capture that lost frames is analysed as
    // partial, and the trial's record says why.
    let capture = TrialCapture::start_with_ring(&env_in(&ns), 0, &[], &dir, "DROPS2", 1 << 16)
        .expect("capture starts");
    send_burst(&ns, 2048, 4096);
    let observed = capture.finish().expect("analysed");
    assert!(!observed.complete);
    let note = observed.note.unwrap_or_default();
    assert!(note.contains("lost") && note.contains("partial"), "{note}");
    let _ = std::fs::remove_dir_all(&dir);
}
