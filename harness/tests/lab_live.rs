//! The built-in launcher against real NFS-Ganesha: start, readiness, restart,
//! crash, failover, cut links, teardown (also after Ctrl-C and SIGKILL).
//!
//! Needs root and `ganesha.nfsd`; without them each test prints why it is
//! skipped and passes, unless `TRUNKCHECK_REQUIRE_GANESHA=1` (set by CI).

mod common;

use common::{can_run, processes_using, start_lab, LAB};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use trunkcheck::lab::Lab;
use trunkcheck::targets::Target;

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
    if !can_run("default_lab", LAB) {
        return;
    }
    let target = Target::builtin("default").expect("default profile");
    // (Unless something on the host already serves that address.)
    let host_probe: SocketAddr = "127.0.0.3:2049".parse().expect("addr");
    let host_had_server =
        TcpStream::connect_timeout(&host_probe, Duration::from_millis(300)).is_ok();
    let t0 = Instant::now();
    let lab = Lab::start(&target).expect("lab starts");
    eprintln!("default lab ready in {:?}", t0.elapsed());
    let dir: PathBuf = lab.dir().expect("dir").to_path_buf();
    assert!(dir.join(".trunkcheck-lab").is_file());
    assert_eq!(lab.servers().len(), 3);
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
    // Servers reach the client addresses (v4.0 callbacks, backchannel).
    let listener = lab
        .netns()
        .expect("ns")
        .run(move || std::net::TcpListener::bind((src, 0)))
        .expect("thread")
        .expect("listen on a client address");
    let cb = listener.local_addr().expect("addr");
    let from_server = lab
        .server_netns("a")
        .expect("server namespace")
        .run(move || {
            TcpStream::connect_timeout(&cb, Duration::from_secs(2)).and_then(|s| s.local_addr())
        })
        .expect("thread")
        .expect("a server connects back to a client address");
    assert!(
        lab.server("a")
            .expect("a")
            .addresses
            .iter()
            .any(|a| a.ip() == from_server.ip()),
        "the callback comes from one of the server's addresses: {from_server}"
    );
    assert!(lab.link_device("b").is_some());
    // Nothing of the lab is visible from the host's namespace.
    assert_eq!(dst, host_probe);
    if !host_had_server {
        assert!(TcpStream::connect_timeout(&dst, Duration::from_millis(300)).is_err());
    }
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

/// Sends one v4.1 COMPOUND (AUTH_SYS) on `s` and returns the reply record.
fn rpc_compound(
    s: &mut TcpStream,
    xid: u32,
    ops: Vec<analyzer::nfs4::NfsArgOp<'_>>,
) -> Result<Vec<u8>, String> {
    use analyzer::nfs4::Compound4Args;
    use analyzer::rpc::auth::AuthSysParms;
    use analyzer::rpc::{AuthFlavor, OpaqueAuth, RpcMessage};
    use analyzer::xdr::{to_bytes, Opaque};
    let args = Compound4Args {
        tag: Opaque::from("lab"),
        minorversion: 1,
        argarray: ops,
    };
    let cred = to_bytes(&AuthSysParms {
        stamp: 1,
        machinename: Opaque::from("trunkcheck-lab-test"),
        uid: 0,
        gid: 0,
        gids: vec![],
    });
    let call = RpcMessage::call(
        xid,
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
    Ok(reply)
}

/// The COMPOUND results in a reply record.
fn results(reply: &[u8]) -> Result<analyzer::nfs4::Compound4Res<'_>, String> {
    let (msg, payload) = analyzer::rpc::RpcMessage::parse(reply).map_err(|e| e.to_string())?;
    if !msg.is_success() {
        return Err(format!("RPC not accepted: {msg:?}"));
    }
    payload.decode().map_err(|e| e.to_string())
}

fn exchange_id_op(owner: &str) -> analyzer::nfs4::NfsArgOp<'_> {
    use analyzer::nfs4::{
        ClientOwner4, ExchangeId4Args, ExchgId4Flags, NfsArgOp, StateProtect4A, Verifier4,
    };
    NfsArgOp::ExchangeId(ExchangeId4Args {
        eia_clientowner: ClientOwner4 {
            co_verifier: Verifier4([7; 8]),
            co_ownerid: analyzer::xdr::Opaque::from(owner),
        },
        eia_flags: ExchgId4Flags(0),
        eia_state_protect: StateProtect4A::None,
        eia_client_impl_id: vec![],
    })
}

/// Sends EXCHANGE_ID and returns (so_major_id, scope).
fn exchange_id(s: &mut TcpStream, owner: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    use analyzer::nfs4::{NfsRes, NfsResOp};
    let reply = rpc_compound(s, 0x4c41_4201, vec![exchange_id_op(owner)])?;
    let res = results(&reply)?;
    match res.resarray.first() {
        Some(NfsResOp::ExchangeId(NfsRes::Ok(ok))) => Ok((
            ok.eir_server_owner.so_major_id.0.to_vec(),
            ok.eir_server_scope.0.to_vec(),
        )),
        other => Err(format!("EXCHANGE_ID failed: {other:?}")),
    }
}

/// A confirmed v4.1 client with a session that sent RECLAIM_COMPLETE, so
/// the server keeps a recovery record for it.
fn establish_client(s: &mut TcpStream, owner: &str) -> Result<(), String> {
    use analyzer::nfs4::{
        CallbackSecParms4, ChannelAttrs4, CreateSession4Args, CreateSession4Flags, NfsArgOp,
        NfsRes, NfsResOp, NfsStat4, ReclaimComplete4Args, Sequence4Args,
    };
    let reply = rpc_compound(s, 0x4c41_4211, vec![exchange_id_op(owner)])?;
    let (clientid, seq) = match results(&reply)?.resarray.first() {
        Some(NfsResOp::ExchangeId(NfsRes::Ok(ok))) => (ok.eir_clientid, ok.eir_sequenceid),
        other => return Err(format!("EXCHANGE_ID: {other:?}")),
    };
    let attrs = |max: u32, cached: u32, reqs: u32| ChannelAttrs4 {
        ca_headerpadsize: 0,
        ca_maxrequestsize: max,
        ca_maxresponsesize: max,
        ca_maxresponsesize_cached: cached,
        ca_maxoperations: 8,
        ca_maxrequests: reqs,
        ca_rdma_ird: vec![],
    };
    let reply = rpc_compound(
        s,
        0x4c41_4212,
        vec![NfsArgOp::CreateSession(CreateSession4Args {
            csa_clientid: clientid,
            csa_sequence: seq,
            csa_flags: CreateSession4Flags(0),
            csa_fore_chan_attrs: attrs(1 << 20, 4096, 8),
            csa_back_chan_attrs: attrs(4096, 0, 1),
            csa_cb_program: 0x4000_0000,
            csa_sec_parms: vec![CallbackSecParms4::AuthNone],
        })],
    )?;
    let session = match results(&reply)?.resarray.first() {
        Some(NfsResOp::CreateSession(NfsRes::Ok(ok))) => ok.csr_sessionid,
        other => return Err(format!("CREATE_SESSION: {other:?}")),
    };
    let reply = rpc_compound(
        s,
        0x4c41_4213,
        vec![
            NfsArgOp::Sequence(Sequence4Args {
                sa_sessionid: session,
                sa_sequenceid: 1,
                sa_slotid: 0,
                sa_highest_slotid: 0,
                sa_cachethis: false,
            }),
            NfsArgOp::ReclaimComplete(ReclaimComplete4Args { rca_one_fs: false }),
        ],
    )?;
    let res = results(&reply)?;
    if res.status != NfsStat4::NFS4_OK {
        return Err(format!("SEQUENCE+RECLAIM_COMPLETE: {:?}", res.status));
    }
    Ok(())
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
    if !can_run("lab_actions", LAB) {
        return;
    }
    let lab = start_lab("default");
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
    // (TCP backs off while the link is cut: the next retransmission may come
    // a few seconds after the restore on a loaded machine.)
    s.set_read_timeout(Some(Duration::from_secs(30)))
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
        // `--for`: should this test fail before it stops the lab, the lab
        // still ends by itself (and takes its servers along).
        .args(["lab", "default", "--for", "120"])
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
fn interrupted_lab_command_tears_everything_down_on_sigint_and_sigterm() {
    if !can_run("interrupted_lab", LAB) {
        return;
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        interrupt_lab_cli(sig);
    }
}

fn interrupt_lab_cli(sig: i32) {
    let (mut child, dir) = spawn_lab_cli();
    let servers = processes_using(&dir);
    assert_eq!(
        servers.len(),
        3,
        "three instances run (a, b, c): {servers:?}"
    );
    let namespaces: Vec<u64> = servers.iter().filter_map(|p| net_namespace(*p)).collect();
    assert_eq!(namespaces.len(), 3, "each server in a namespace of its own");
    // SAFETY: a signal to the child we spawned.
    unsafe { libc::kill(child.id() as i32, sig) };
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "exit status after signal {sig}");
    assert!(processes_using(&dir).is_empty(), "no instance left");
    for pid in servers {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "ganesha {pid} gone"
        );
    }
    assert!(!dir.exists(), "lab directory removed");
    // The namespaces were anonymous, held only by the harness's descriptors
    // and its servers' processes, all gone now: the kernel freed them.
    // (nsfs inode numbers are reused at once by other labs, so they cannot
    // be checked by number.)
    assert_ne!(
        namespaces[0], namespaces[1],
        "each server had a namespace of its own"
    );
}

/// The inode of the network namespace process `pid` is in.
fn net_namespace(pid: u32) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| m.ino())
}

#[test]
fn killed_lab_command_takes_its_servers_along_and_the_next_start_sweeps_its_directory() {
    if !can_run("killed_lab", LAB) {
        return;
    }
    let (mut child, dir) = spawn_lab_cli();
    let servers = processes_using(&dir);
    assert_eq!(
        servers.len(),
        3,
        "three instances run (a, b, c): {servers:?}"
    );
    child.kill().expect("SIGKILL");
    let _ = wait_exit(&mut child, Duration::from_secs(10));
    // PR_SET_PDEATHSIG: the servers die with the harness.
    wait_until(
        "the servers to die with their parent",
        Duration::from_secs(10),
        || processes_using(&dir).is_empty(),
    );
    // A SIGKILLed harness cannot clean its directory, but a lab started
    // meanwhile by any other process may already have swept it.
    assert!(
        !dir.exists() || dir.join(".trunkcheck-lab").is_file(),
        "what remains carries the marker the sweep looks for"
    );
    // The next start removes the dead process's directory.
    let lab = start_lab("two-addresses");
    assert!(!dir.exists(), "stale lab directory swept at the next start");
    drop(lab);
}

#[test]
fn a_lab_never_reuses_a_directory_it_did_not_create() {
    if !can_run("no_reuse", LAB) {
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
    let lab = start_lab("restartable");
    let dir = lab.dir().expect("dir").to_path_buf();
    assert!(!squatted.contains(&dir), "a fresh directory");
    drop(lab);
    for p in &squatted {
        assert!(p.join("precious").is_file(), "{} untouched", p.display());
        std::fs::remove_dir_all(p).expect("cleanup");
    }
}

#[test]
fn failover_serves_the_failed_nodes_clients_in_grace_under_the_peers_identity() {
    if !can_run("failover_grace", LAB) {
        return;
    }
    let lab = start_lab("cluster");
    let a = lab.server("a").expect("a").addresses[0];
    let src = lab.client_addresses()[0];
    let mut s = lab
        .netns()
        .expect("ns")
        .run(move || connect_from(src, a))
        .expect("thread")
        .expect("connect from a client address");
    establish_client(&mut s, "trunkcheck-failover-client").expect("client established on a");
    let records = lab
        .dir()
        .expect("dir")
        .join("shared/recovery-cluster/v4recov/node1");
    let n = std::fs::read_dir(&records).map(|d| d.count()).unwrap_or(0);
    assert!(
        n >= 1,
        "a keeps a recovery record for its client in {}",
        records.display()
    );
    lab.failover("a", "b").expect("failover");
    let log = lab.log_tail("a", 100).expect("log").join("\n");
    assert!(
        log.contains("IN GRACE"),
        "the takeover instance starts in grace:\n{log}"
    );
    assert!(
        log.contains("clid count(1)"),
        "with a's recorded client:\n{log}"
    );
    assert_eq!(
        identity_at(&lab, a),
        ("trunkcheck-node-b".into(), "trunkcheck-cluster".into())
    );
}

/// A TCP connection to `dst` from the source address `src` (bind before
/// connect; std has no such call, libc keeps the test free of extra crates).
fn connect_from(src: std::net::IpAddr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let (std::net::IpAddr::V4(v4), SocketAddr::V4(to)) = (src, dst) else {
        return Err(std::io::Error::other("IPv4 only"));
    };
    let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: plain socket/bind calls on a descriptor we own.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let from = sin(v4, 0);
        if libc::bind(fd, &from as *const _ as *const libc::sockaddr, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let to = sin(*to.ip(), to.port());
        if libc::connect(fd, &to as *const _ as *const libc::sockaddr, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

#[test]
fn a_server_that_fails_to_start_is_reported_with_its_log_and_nothing_is_left() {
    if !can_run("failing_start", LAB) {
        return;
    }
    let mut target = Target::builtin("restartable").expect("profile");
    // Bypasses validation on purpose (a file could not say this): the
    // quote breaks the configuration and Ganesha refuses to start.
    if let Some(g) = target.servers[0].ganesha.as_mut() {
        g.server_scope = "broken\" } X".into();
    }
    let t0 = Instant::now();
    let e = Lab::start(&target)
        .err()
        .expect("Ganesha refuses the configuration");
    let text = e.to_string();
    eprintln!("{text}");
    assert!(text.contains("server a"), "{text}");
    assert!(text.contains("exited while starting"), "{text}");
    assert!(
        text.contains("ganesha.conf:18") && text.contains("Fatal errors"),
        "the log lines say why: {text}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "reported before the readiness timeout"
    );
    // Other tests of this process may run labs: ours is the broken one.
    for d in lab_dirs() {
        let conf = std::fs::read_to_string(d.join("a/ganesha.conf")).unwrap_or_default();
        assert!(
            !conf.contains("broken"),
            "failed lab removed: {}",
            d.display()
        );
    }
}

/// This process's lab directories.
fn lab_dirs() -> Vec<PathBuf> {
    let prefix = format!("trunkcheck-lab-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn lab_command_runs_actions_typed_on_its_input() {
    if !can_run("lab_actions_stdin", LAB) {
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_trunkcheck"))
        .args(["lab", "cluster", "--for", "60"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("trunkcheck runs");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = |what: &str| -> String {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {what} from `trunkcheck lab`"));
            if line.starts_with(what) {
                return line;
            }
        }
    };
    next("ready");
    let mut input = child.stdin.take().expect("stdin");
    for (command, answer) in [
        ("restart a", "ok: restart a"),
        ("cut b", "ok: cut b"),
        ("restore b", "ok: restore b"),
        ("failover a b", "ok: failover a b"),
        (
            "crash z",
            "error: crash z: target cluster has no server named \"z\"",
        ),
        ("dance", "? dance"),
    ] {
        writeln!(input, "{command}").expect("write");
        let prefix = answer.split(" (").next().unwrap_or(answer);
        let got = next(&prefix[..prefix.len().min(8)]);
        assert!(
            got.starts_with(prefix),
            "{command}: want {answer:?}, got {got:?}"
        );
    }
    drop(input);
    // SAFETY: SIGINT to the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(30)).code(),
        Some(130)
    );
}
