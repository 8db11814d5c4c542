//! The built-in launcher against real NFS-Ganesha: start, readiness, restart,
//! crash, failover, cut links, teardown (also after Ctrl-C and SIGKILL).
//!
//! Needs root and `ganesha.nfsd`; without them each test prints why it is
//! skipped and passes, unless `TRUNKCHECK_REQUIRE_GANESHA=1` (set by CI).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

/// Sends EXCHANGE_ID (v4.1, AUTH_SYS) and returns (so_major_id, scope).
fn exchange_id(s: &mut TcpStream, owner: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    use analyzer::nfs4::{
        ClientOwner4, Compound4Args, Compound4Res, ExchangeId4Args, ExchgId4Flags, NfsArgOp,
        NfsRes, NfsResOp, StateProtect4A, Verifier4,
    };
    use analyzer::rpc::auth::AuthSysParms;
    use analyzer::rpc::{AuthFlavor, OpaqueAuth, RpcMessage};
    use analyzer::xdr::{to_bytes, Opaque};
    let args = Compound4Args {
        tag: Opaque::from("lab"),
        minorversion: 1,
        argarray: vec![NfsArgOp::ExchangeId(ExchangeId4Args {
            eia_clientowner: ClientOwner4 {
                co_verifier: Verifier4([7; 8]),
                co_ownerid: Opaque::from(owner),
            },
            eia_flags: ExchgId4Flags(0),
            eia_state_protect: StateProtect4A::None,
            eia_client_impl_id: vec![],
        })],
    };
    let cred = to_bytes(&AuthSysParms {
        stamp: 1,
        machinename: Opaque::from("trunkcheck-lab-test"),
        uid: 0,
        gid: 0,
        gids: vec![],
    });
    let call = RpcMessage::call(
        0x4c41_4201,
        100_003,
        4,
        1,
        OpaqueAuth {
            flavor: AuthFlavor::AUTH_SYS,
            body: Opaque::from(cred.as_slice()),
        },
        OpaqueAuth::none(),
    )
    .to_bytes_with_payload(&to_bytes(&args));
    let mut record = (0x8000_0000u32 | call.len() as u32).to_be_bytes().to_vec();
    record.extend_from_slice(&call);
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(&record).map_err(|e| e.to_string())?;
    let mut mark = [0u8; 4];
    s.read_exact(&mut mark).map_err(|e| e.to_string())?;
    let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
    if len > 1 << 20 {
        return Err(format!("reply record of {len} bytes"));
    }
    let mut reply = vec![0u8; len];
    s.read_exact(&mut reply).map_err(|e| e.to_string())?;
    let (msg, payload) = RpcMessage::parse(&reply).map_err(|e| e.to_string())?;
    if !msg.is_success() {
        return Err(format!("RPC not accepted: {msg:?}"));
    }
    let res: Compound4Res = payload.decode().map_err(|e| e.to_string())?;
    match res.resarray.first() {
        Some(NfsResOp::ExchangeId(NfsRes::Ok(ok))) => Ok((
            ok.eir_server_owner.so_major_id.0.to_vec(),
            ok.eir_server_scope.0.to_vec(),
        )),
        other => Err(format!("EXCHANGE_ID failed: {other:?}")),
    }
}

/// The server owner and scope the server at `addr` declares now.
fn identity_at(lab: &Lab, addr: SocketAddr) -> (String, String) {
    let mut s = connect(lab, addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let (owner, scope) =
        exchange_id(&mut s, "trunkcheck-lab-live").unwrap_or_else(|e| panic!("{addr}: {e}"));
    let text = |b: Vec<u8>| {
        String::from_utf8_lossy(&b)
            .trim_end_matches('\0')
            .to_string()
    };
    (text(owner), text(scope))
}

#[test]
fn restart_crash_cut_link_and_failover_on_the_default_lab() {
    if !ganesha_or_skip("lab_actions") {
        return;
    }
    let lab = Lab::start(&Target::builtin("default").expect("default")).expect("lab starts");
    let a0 = lab.server("a").expect("a").addresses[0];
    let a1 = lab.server("a").expect("a").addresses[1];
    let b0 = lab.server("b").expect("b").addresses[0];
    assert_eq!(
        identity_at(&lab, a0),
        ("trunkcheck-node-a".into(), "trunkcheck-cluster".into())
    );
    assert_eq!(
        identity_at(&lab, a1),
        identity_at(&lab, a0),
        "one server on two addresses"
    );
    assert_eq!(identity_at(&lab, b0).0, "trunkcheck-node-b");

    // Clean restart: a new process, back on the same addresses.
    let pid = lab.pid("a").expect("running");
    let t = Instant::now();
    lab.restart("a").expect("restart");
    eprintln!("restart of a: {:?}", t.elapsed());
    assert_ne!(lab.pid("a"), Some(pid));
    assert_answers(&lab, "a");

    // Crash: SIGKILL and start again.
    let pid = lab.pid("a").expect("running");
    let t = Instant::now();
    lab.crash("a").expect("crash");
    eprintln!("crash of a: {:?}", t.elapsed());
    assert_ne!(lab.pid("a"), Some(pid));
    assert_answers(&lab, "a");

    // Stop and start.
    lab.stop("b").expect("stop");
    assert!(lab.pid("b").is_none());
    assert!(
        connect(&lab, b0).is_err(),
        "nothing listens on a stopped server"
    );
    lab.start_server("b").expect("start");
    assert_answers(&lab, "b");

    // Cut link: an established connection stalls (no reply, no reset), a new
    // connect times out; after restore the pending call is answered.
    let mut s = connect(&lab, a0).expect("connect");
    null_ping(&mut s, 1, Duration::from_secs(5)).expect("NULL before the cut");
    let t = Instant::now();
    lab.cut_link("a").expect("cut");
    eprintln!("cut_link: {:?}", t.elapsed());
    let stalled = null_ping(&mut s, 2, Duration::from_secs(1));
    let kind = stalled.as_ref().map_err(|e| e.kind());
    assert!(
        matches!(
            kind,
            Err(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        ),
        "a NULL over a cut link gets no reply and no reset: {stalled:?}"
    );
    assert!(
        lab.netns()
            .expect("ns")
            .run(move || TcpStream::connect_timeout(&a1, Duration::from_millis(700)))
            .expect("thread")
            .is_err(),
        "no new connection through a cut link"
    );
    assert_answers(&lab, "b"); // only a's link is cut
    lab.restore_link("a").expect("restore");
    // The stalled call's reply arrives once the retransmission gets through.
    let mut late = [0u8; 28];
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.read_exact(&mut late)
        .expect("reply to the call sent during the cut");
    null_ping(&mut s, 3, Duration::from_secs(5)).expect("NULL after restore");
    assert_answers(&lab, "a");

    // Failover: a's addresses answer with b's owner and the shared scope.
    let t = Instant::now();
    lab.failover("a", "b").expect("failover");
    eprintln!("failover a -> b: {:?}", t.elapsed());
    for addr in [a0, a1] {
        assert_eq!(
            identity_at(&lab, addr),
            ("trunkcheck-node-b".into(), "trunkcheck-cluster".into())
        );
    }
    assert_eq!(
        identity_at(&lab, b0).0,
        "trunkcheck-node-b",
        "b itself still runs"
    );
    let log = lab.log_tail("a", 200).expect("log").join("\n");
    assert!(!log.is_empty());
    // Ending the takeover brings a's own identity back.
    lab.start_server("a").expect("start a again");
    assert_eq!(identity_at(&lab, a0).0, "trunkcheck-node-a");
    let dir = lab.dir().expect("dir").to_path_buf();
    drop(lab);
    assert!(processes_using(&dir).is_empty());
    assert!(!dir.exists());
}

/// `trunkcheck lab default` as a child; returns it and its lab directory
/// once it printed that it is ready.
fn spawn_lab_cli() -> (std::process::Child, PathBuf) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trunkcheck"))
        .args(["lab", "default"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("trunkcheck runs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut dir = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(d) = line.strip_prefix("configs and logs: ") {
                dir = Some(PathBuf::from(d));
            }
            if line.starts_with("ready") {
                let _ = tx.send(dir.take());
            }
        }
    });
    let dir = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("`trunkcheck lab` says ready")
        .expect("it prints its directory");
    (child, dir)
}

fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("trunkcheck lab did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn interrupted_lab_command_tears_everything_down() {
    if !ganesha_or_skip("interrupted_lab") {
        return;
    }
    let (mut child, dir) = spawn_lab_cli();
    let servers = processes_using(&dir);
    assert_eq!(servers.len(), 2, "two instances run: {servers:?}");
    // SAFETY: SIGINT to the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "exit status after Ctrl-C");
    assert!(processes_using(&dir).is_empty(), "no instance left");
    for pid in servers {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "ganesha {pid} gone"
        );
    }
    assert!(!dir.exists(), "lab directory removed");
}

#[test]
fn killed_lab_command_takes_its_servers_along_and_the_next_start_sweeps_its_directory() {
    if !ganesha_or_skip("killed_lab") {
        return;
    }
    let (mut child, dir) = spawn_lab_cli();
    let servers = processes_using(&dir);
    assert_eq!(servers.len(), 2, "two instances run: {servers:?}");
    child.kill().expect("SIGKILL");
    let _ = wait_exit(&mut child, Duration::from_secs(10));
    // PR_SET_PDEATHSIG: the servers die with the harness.
    wait_until(
        "the servers to die with their parent",
        Duration::from_secs(10),
        || processes_using(&dir).is_empty(),
    );
    assert!(
        dir.join(".trunkcheck-lab").is_file(),
        "a SIGKILLed harness cannot clean its directory"
    );
    // The next start removes the dead process's directory.
    let lab = Lab::start(&Target::builtin("two-addresses").expect("profile")).expect("lab starts");
    assert!(!dir.exists(), "stale lab directory swept at the next start");
    drop(lab);
}

#[test]
fn a_lab_never_reuses_a_directory_it_did_not_create() {
    if !ganesha_or_skip("no_reuse") {
        return;
    }
    // Occupy the next few names this process would use.
    let mut squatted = Vec::new();
    for n in 0..200 {
        let p = std::env::temp_dir().join(format!("trunkcheck-lab-{}-{n}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            std::fs::write(p.join("precious"), "not the lab's").expect("write");
            squatted.push(p);
        }
    }
    let lab = Lab::start(&Target::builtin("restartable").expect("profile")).expect("lab starts");
    let dir = lab.dir().expect("dir").to_path_buf();
    assert!(!squatted.contains(&dir), "a fresh directory");
    drop(lab);
    for p in &squatted {
        assert!(p.join("precious").is_file(), "{} untouched", p.display());
        std::fs::remove_dir_all(p).expect("cleanup");
    }
}
