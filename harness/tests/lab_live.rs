//! The built-in launcher against real NFS-Ganesha: start, readiness, restart,
//! crash, failover, cut links, teardown (also after Ctrl-C and SIGKILL).
//!
//! Needs root and `ganesha.nfsd`; without them each test prints why it is
//! skipped and passes, unless `TRUNKCHECK_REQUIRE_GANESHA=1` (set by CI).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trunkcheck::target::{Lab, Target};

/// Whether the live tests can run here; prints the reason when not.
fn ganesha_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let installed = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("ganesha.nfsd").is_file()))
        .unwrap_or(false);
    let reason = match (root, installed) {
        (true, true) => return true,
        (false, _) => "not root",
        (true, false) => {
            "ganesha.nfsd is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)"
        }
    };
    if std::env::var_os("TRUNKCHECK_REQUIRE_GANESHA").is_some_and(|v| v == "1") {
        panic!("{test}: TRUNKCHECK_REQUIRE_GANESHA=1 but {reason}");
    }
    eprintln!("{test}: skipped: {reason}");
    false
}

/// The 44-byte RPC NULL call to NFS version 4 (record mark + 40 bytes).
fn null_call(xid: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for w in [0x8000_0028u32, xid, 0, 2, 100_003, 4, 0, 0, 0, 0, 0] {
        v.extend_from_slice(&w.to_be_bytes());
    }
    v
}

/// Sends an RPC NULL on `s` and checks the accepted, successful reply.
fn null_ping(s: &mut TcpStream, xid: u32, wait: Duration) -> std::io::Result<()> {
    s.set_read_timeout(Some(wait))?;
    s.write_all(&null_call(xid))?;
    let mut reply = [0u8; 28];
    s.read_exact(&mut reply)?;
    let word = |i: usize| u32::from_be_bytes([reply[i], reply[i + 1], reply[i + 2], reply[i + 3]]);
    let ok = word(0) & 0x7fff_ffff == 24
        && word(4) == xid
        && word(8) == 1
        && word(12) == 0
        && word(24) == 0;
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "unexpected reply {reply:02x?}"
        )))
    }
}

/// Connects from inside the lab's client namespace.
fn connect(lab: &Lab, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let ns = lab.netns().expect("built-in lab has a namespace");
    ns.run(move || TcpStream::connect_timeout(&addr, Duration::from_secs(2)))?
}

fn assert_answers(lab: &Lab, server: &str) {
    let info = lab.server(server).expect("server");
    for (k, &addr) in info.addresses.iter().enumerate() {
        let mut s =
            connect(lab, addr).unwrap_or_else(|e| panic!("{server} at {addr}: connect: {e}"));
        null_ping(&mut s, 0x7c00 + k as u32, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{server} at {addr}: NULL: {e}"));
    }
}

/// Every process whose command line mentions `dir`.
fn processes_using(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmd)
                .contains(&needle)
                .then_some(pid)
        })
        .collect()
}

#[allow(dead_code)]
fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn default_lab_starts_answers_on_every_address_and_leaves_nothing_behind() {
    if !ganesha_or_skip("default_lab") {
        return;
    }
    let target = Target::builtin("default").expect("default profile");
    let t0 = Instant::now();
    let lab = Lab::start(&target).expect("lab starts");
    eprintln!("default lab ready in {:?}", t0.elapsed());
    let dir: PathBuf = lab.dir().expect("dir").to_path_buf();
    assert!(dir.join(".trunkcheck-lab").is_file());
    assert_eq!(lab.servers().len(), 2);
    assert_eq!(lab.client_addresses().len(), 2);
    for s in lab.servers() {
        assert_answers(&lab, &s.name);
        assert_eq!(s.lease, Some(Duration::from_secs(5)));
    }
    // Client source addresses are usable (bind before connect).
    let src = lab.client_addresses()[1];
    let dst = lab.servers()[0].addresses[1];
    let bound = lab
        .netns()
        .expect("ns")
        .run(move || -> std::io::Result<SocketAddr> {
            let sock = std::net::TcpListener::bind((src, 0))?; // proves the address exists
            drop(sock);
            let s = TcpStream::connect_timeout(&dst, Duration::from_secs(2))?;
            s.local_addr()
        })
        .expect("thread")
        .expect("connect");
    assert!(bound.ip().is_loopback());
    // Nothing of the lab is visible from the host's namespace.
    assert!(TcpStream::connect_timeout(&dst, Duration::from_millis(300)).is_err());
    assert!(!processes_using(&dir).is_empty(), "instances run");
    let t1 = Instant::now();
    drop(lab);
    eprintln!("default lab torn down in {:?}", t1.elapsed());
    assert!(
        processes_using(&dir).is_empty(),
        "no ganesha.nfsd left with our config path"
    );
    assert!(!dir.exists(), "lab directory removed");
}
