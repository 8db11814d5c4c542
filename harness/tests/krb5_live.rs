//! RPCSEC_GSS with Kerberos against real programs: an MIT KDC started by
//! `trunkcheck::krb5::Kdc` and a real NFS-Ganesha with krb5, krb5i and
//! krb5p exports, reached over loopback TCP by the harness's RPCSEC_GSS
//! client (`trunkcheck::gss`) on a socket of the test's own (the client in
//! `trunkcheck::client` cannot carry GSS yet).
//!
//! Proven here: a realm comes up and hands out tickets to keytab and
//! password principals; GSS contexts are created with Ganesha; an NFSv4.1
//! EXCHANGE_ID gets NFS4_OK under each service with every reply verifier,
//! integrity checksum and privacy body verified; a forged verifier is not
//! accepted; SP4_MACH_CRED is asked for under the machine credential and
//! what Ganesha grants is printed (only what RFC 8881 §18.35 requires is
//! asserted); the traffic is captured and `trunkcheck decode` and tshark
//! agree on every RPCSEC_GSS credential in it. Outside the capture: a
//! session created under krb5p, each export entered only under its own
//! service, files created by user principals (their owners show Ganesha's
//! idmapping: the run's own idmapd.conf maps `daemon@REALM` to the local
//! user daemon), and the mean cost of a call under each service.
//!
//! Needs root (FSAL VFS, tcpdump), `krb5kdc`, `kdb5_util`, `kadmin.local`,
//! `kinit` (Debian krb5-kdc, krb5-admin-server, krb5-user), `ganesha.nfsd`
//! with its VFS plugin, `tcpdump` and `tshark`. Without them each test
//! prints why it is skipped and passes, unless `TRUNKCHECK_REQUIRE_KRB5=1`:
//! then it fails. `TRUNKCHECK_RECORD_KRB5=1` also copies the capture to
//! `captures/krb5/ganesha-krb5-exchange-id.pcap`.
//!
//! The GSS library reads `KRB5_CONFIG` from the environment, so tests that
//! start a realm run one at a time (they set it for the process).

mod common;

use analyzer::nfs4::attr::{AttrValue, Fattr4Num};
use analyzer::nfs4::{
    Compound4Args, Compound4Res, CreateSession4Flags, ExchangeId4ResOk, ExchgId4Flags, NfsArgOp,
    NfsOpnum4, NfsRes, NfsResOp, NfsStat4, StateProtect4A, StateProtect4R, NFS4_PROGRAM,
    NFSPROC4_COMPOUND, NFS_V4,
};
use analyzer::rpc::{
    write_record, AcceptedReply, AcceptedReplyData, AuthFlavor, AuthStat, MsgBody, OpaqueAuth,
    RecordAssembler, RejectedReply, ReplyBody, RpcGssService, RpcMessage,
};
use analyzer::xdr::{from_bytes, to_bytes, IntoStatic, Opaque};
use common::{repo, trunkcheck};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trunkcheck::client::ops;
use trunkcheck::client::session::{default_back_attrs, default_fore_attrs};
use trunkcheck::client::Principal;
use trunkcheck::gss::{Cred, GssContext, InitCall, InitReply, Name, SealedCall};
use trunkcheck::krb5::{self, Daemon, Kdc, KdcOptions, Keytab};

/// Tests that set `KRB5_CONFIG` run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const REQUIRE: &str = "TRUNKCHECK_REQUIRE_KRB5";
const RECORD: &str = "TRUNKCHECK_RECORD_KRB5";
const PLUGINS_DIR: &str = "/usr/lib/x86_64-linux-gnu/ganesha";
const SERVER_HOST: &str = "srv1.trunkcheck.test";
const CLIENT_HOST: &str = "client1.trunkcheck.test";
const CAPTURE: &str = "captures/krb5/ganesha-krb5-exchange-id.pcap";

fn on_path(program: &str) -> bool {
    krb5::find_program(program).is_some()
}

/// Why this machine cannot run a test needing `ganesha` (and tcpdump and
/// tshark) besides the KDC, or None.
fn missing(ganesha: bool) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if ganesha && unsafe { libc::geteuid() } != 0 {
        return Some("not root (FSAL VFS and tcpdump need it)".into());
    }
    if let Some((program, package)) = krb5::missing_tool() {
        return Some(format!(
            "{program} is not installed (apt-get install {package})"
        ));
    }
    if let Err(e) = trunkcheck::gss::Gssapi::get() {
        return Some(e.to_string());
    }
    if ganesha {
        if !on_path("ganesha.nfsd") {
            return Some("ganesha.nfsd is not installed (apt-get install nfs-ganesha)".into());
        }
        if !Path::new(PLUGINS_DIR).join("libfsalvfs.so").is_file() {
            return Some("FSAL VFS missing (apt-get install nfs-ganesha-vfs)".into());
        }
        for (p, pkg) in [("tcpdump", "tcpdump"), ("tshark", "tshark")] {
            if !on_path(p) {
                return Some(format!("{p} is not installed (apt-get install {pkg})"));
            }
        }
    }
    None
}

/// False (with the reason on stderr) when the test cannot run here; a
/// panic instead when `TRUNKCHECK_REQUIRE_KRB5=1`.
fn can_run(test: &str, ganesha: bool) -> bool {
    match missing(ganesha) {
        None => true,
        Some(reason) => {
            if std::env::var_os(REQUIRE).is_some_and(|v| v == "1") {
                panic!("{test}: {REQUIRE}=1 but {reason}");
            }
            eprintln!("{test}: skipped: {reason}");
            false
        }
    }
}

/// Starts a realm and points this process's GSS library at it.
fn start_realm() -> Kdc {
    let kdc = Kdc::start(&KdcOptions::default()).unwrap_or_else(|e| panic!("KDC starts: {e}"));
    // The library reads KRB5_CONFIG at each new krb5 context; tests using
    // it hold SERIAL, so no other test thread reads the environment now.
    std::env::set_var("KRB5_CONFIG", kdc.krb5_config());
    kdc
}

/// Loopback addresses of one test run: server `.1`, client `.2` of a
/// /24 chosen by the process id (others may run at the same time).
fn run_addresses() -> (Ipv4Addr, Ipv4Addr) {
    let n = (std::process::id() % 200 + 20) as u8;
    (Ipv4Addr::new(127, 77, n, 1), Ipv4Addr::new(127, 77, n, 2))
}

fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port on {ip}: {e}"))
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------
// A minimal NFS-Ganesha launcher: the lab cannot add an NFS_KRB5 block,
// krb5 SecTypes, an IdmapConf or environment variables to its instances.
// Ganesha needs: KRB5_CONFIG (the run's realm), the keytab of
// nfs/HOST (KeytabPath, KRB5_KTNAME), PrincipalName "nfs@HOST" (a
// host-based name: the acceptor takes only tickets for that principal),
// its own CCacheDir and replay cache directory, and an idmapd.conf whose
// Local-Realms is the run's realm (else every principal is anonymous).

struct Ganesha {
    daemon: Daemon,
    address: SocketAddr,
    log: PathBuf,
}

impl Ganesha {
    fn start(kdc: &Kdc, keytab: &Keytab, dir: &Path, ip: Ipv4Addr) -> Ganesha {
        std::fs::create_dir_all(dir.join("ccache")).expect("ccache dir");
        std::fs::create_dir_all(dir.join("recovery")).expect("recovery dir");
        let mut exports = String::new();
        for (i, sec) in ["krb5", "krb5i", "krb5p"].iter().enumerate() {
            let data = dir.join(format!("data-{sec}"));
            std::fs::create_dir_all(&data).expect("export dir");
            // Several principals create files: sticky and world-writable.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o1777))
                .expect("chmod export dir");
            exports.push_str(&format!(
                "EXPORT {{
    Export_Id = {id};
    Path = {path};
    Pseudo = /{sec};
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = {sec};
    FSAL {{ Name = VFS; }}
}}
",
                id = i + 1,
                path = data.display(),
            ));
        }
        let port = free_port(ip);
        let idmap = dir.join("idmapd.conf");
        std::fs::write(
            &idmap,
            format!(
                "[General]\nDomain = {}\nLocal-Realms = {}\n[Translation]\nMethod = nsswitch\n",
                kdc.realm().to_ascii_lowercase(),
                kdc.realm()
            ),
        )
        .expect("write idmapd.conf");
        let conf = format!(
            "NFS_CORE_PARAM {{
    Protocols = 4;
    Bind_Addr = ::ffff:{ip};
    NFS_Port = {port};
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = {PLUGINS_DIR};
}}
NFS_KRB5 {{
    Active_krb5 = true;
    PrincipalName = \"nfs@{SERVER_HOST}\";
    KeytabPath = {keytab};
    CCacheDir = {ccache};
}}
NFSv4 {{
    Minor_Versions = 1, 2;
    Lease_Lifetime = 30;
    Graceless = true;
    RecoveryBackend = fs;
    RecoveryRoot = {recovery};
    Server_Owner = \"trunkcheck-krb5-srv1\";
    Server_Scope = \"trunkcheck-krb5\";
    IdmapConf = {idmap};
}}
{exports}LOG {{ Default_Log_Level = EVENT; }}
",
            keytab = keytab.path.display(),
            ccache = dir.join("ccache").display(),
            recovery = dir.join("recovery").display(),
            idmap = idmap.display(),
        );
        let conf_path = dir.join("ganesha.conf");
        std::fs::write(&conf_path, conf).expect("write ganesha.conf");
        let log = dir.join("ganesha.log");
        let out = std::fs::File::create(dir.join("stdout.log")).expect("stdout.log");
        let err = out.try_clone().expect("dup");
        let mut cmd = Command::new("ganesha.nfsd");
        cmd.arg("-F")
            .arg("-f")
            .arg(&conf_path)
            .arg("-L")
            .arg(&log)
            .arg("-p")
            .arg(dir.join("ganesha.pid"))
            .args(["-N", "NIV_EVENT"])
            .envs(kdc.server_env(keytab))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let mut g = Ganesha {
            daemon: Daemon::spawn("ganesha.nfsd", cmd).expect("ganesha.nfsd starts"),
            address: SocketAddr::new(IpAddr::V4(ip), port),
            log,
        };
        g.wait_ready(Duration::from_secs(30));
        g
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.daemon.try_wait() {
                panic!(
                    "ganesha.nfsd exited while starting ({status}):\n{}",
                    tail(&self.log, 30)
                );
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "ganesha.nfsd not accepting on {} after {timeout:?}:\n{}",
                self.address,
                tail(&self.log, 30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------
// tcpdump around the traffic.

struct Tcpdump {
    daemon: Daemon,
    file: PathBuf,
    stderr: PathBuf,
}

impl Tcpdump {
    fn start(file: &Path, filter: &str) -> Tcpdump {
        let stderr = file.with_extension("tcpdump.err");
        let err = std::fs::File::create(&stderr).expect("tcpdump stderr file");
        let mut cmd = Command::new(krb5::find_program("tcpdump").expect("tcpdump"));
        cmd.args([
            "-i",
            "lo",
            "-U",
            "--immediate-mode",
            "-s",
            "0",
            "-Z",
            "root",
            "-w",
        ])
        .arg(file)
        .arg(filter)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
        let mut t = Tcpdump {
            daemon: Daemon::spawn("tcpdump", cmd).expect("tcpdump starts"),
            file: file.to_path_buf(),
            stderr,
        };
        let started = Instant::now();
        while !std::fs::read_to_string(&t.stderr)
            .unwrap_or_default()
            .contains("listening on")
        {
            if let Ok(Some(s)) = t.daemon.try_wait() {
                panic!("tcpdump exited ({s}): {}", tail(&t.stderr, 5));
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "tcpdump not listening: {}",
                tail(&t.stderr, 5)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        t
    }

    /// Stops it (SIGTERM flushes the file) and checks nothing was dropped.
    fn finish(mut self) -> PathBuf {
        // Let the last segments (FIN/ACK) reach the socket first.
        std::thread::sleep(Duration::from_millis(200));
        self.daemon.stop(Duration::from_secs(5));
        let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(
            err.lines()
                .any(|l| l.trim() == "0 packets dropped by kernel"),
            "tcpdump dropped packets: {err}"
        );
        self.file.clone()
    }
}

// ---------------------------------------------------------------------------
// RPC over the test's own TCP connection.

struct RpcStream {
    stream: TcpStream,
    asm: RecordAssembler,
    next_xid: u32,
    to: SocketAddr,
}

/// An accepted SUCCESS reply: its verifier and results.
type Reply = (OpaqueAuth<'static>, Vec<u8>);

/// Why no accepted SUCCESS reply came.
#[derive(Debug)]
enum Failure {
    /// MSG_DENIED, with the reason.
    Denied(RejectedReply),
    /// Anything else (transport, other accept_stat, garbage).
    Other(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Failure {
        Failure::Other(s)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Denied(d) => write!(f, "MSG_DENIED {d:?}"),
            Failure::Other(s) => f.write_str(s),
        }
    }
}

impl RpcStream {
    fn connect(from: Ipv4Addr, to: SocketAddr) -> RpcStream {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
        sock.bind(&SocketAddr::new(IpAddr::V4(from), 0).into())
            .unwrap_or_else(|e| panic!("bind {from}: {e}"));
        sock.connect_timeout(&to.into(), Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {to}: {e}"));
        sock.set_nodelay(true).expect("nodelay");
        let stream: TcpStream = sock.into();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        RpcStream {
            stream,
            asm: RecordAssembler::new(),
            next_xid: 0,
            to,
        }
    }

    /// A fresh xid (unique across the test's connections).
    fn xid(&mut self) -> u32 {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        self.next_xid =
            0x7c00_0000 ^ (std::process::id() << 12) ^ NEXT.fetch_add(1, Ordering::Relaxed);
        self.next_xid
    }

    /// Sends one call message and waits for the reply with its xid.
    fn exchange(&mut self, xid: u32, message: &[u8]) -> Result<Reply, Failure> {
        let mut rec = Vec::with_capacity(message.len() + 4);
        write_record(&mut rec, message, 1 << 20);
        self.stream
            .write_all(&rec)
            .map_err(|e| format!("sending to {}: {e}", self.to))?;
        let mut buf = [0u8; 64 * 1024];
        loop {
            while let Some(r) = self.asm.pop() {
                let (msg, payload) =
                    RpcMessage::parse(&r.data).map_err(|e| format!("not RPC: {e}"))?;
                if msg.xid != xid {
                    continue;
                }
                return match msg.body {
                    MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
                        verf,
                        reply_data: AcceptedReplyData::Success,
                    })) => Ok((verf.into_static(), payload.bytes.to_vec())),
                    MsgBody::Reply(ReplyBody::Accepted(a)) => {
                        Err(format!("accepted but {:?}", a.reply_data).into())
                    }
                    MsgBody::Reply(ReplyBody::Denied(d)) => Err(Failure::Denied(d)),
                    MsgBody::Call(_) => Err("a call instead of a reply".to_string().into()),
                };
            }
            let n = self
                .stream
                .read(&mut buf)
                .map_err(|e| format!("reading from {}: {e}", self.to))?;
            if n == 0 {
                return Err(format!("{} closed the connection", self.to).into());
            }
            self.asm
                .feed(&buf[..n])
                .map_err(|e| format!("record marking: {e}"))?;
        }
    }

    /// A context-creation call (NULL procedure of NFSv4).
    fn init_call(&mut self, c: &InitCall) -> Result<InitReply, String> {
        let xid = self.xid();
        let msg = RpcMessage::call(xid, NFS4_PROGRAM, NFS_V4, 0, c.cred.clone(), c.verf.clone())
            .to_bytes_with_payload(&c.args);
        let (verf, results) = self.exchange(xid, &msg).map_err(|e| e.to_string())?;
        Ok(InitReply { verf, results })
    }

    /// A COMPOUND sealed by `ctx` with `service`; the verified results.
    fn gss_compound(
        &mut self,
        ctx: &GssContext,
        service: RpcGssService,
        ops: Vec<NfsArgOp<'_>>,
    ) -> (Compound4Res<'static>, SealedCall) {
        let args = to_bytes(&Compound4Args {
            tag: Opaque::from("krb5-live"),
            minorversion: 1,
            argarray: ops,
        });
        let xid = self.xid();
        let call = ctx
            .seal_call_with(service, xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, &args)
            .expect("seals");
        let msg = call.message(xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND);
        let (verf, results) = self
            .exchange(xid, &msg)
            .unwrap_or_else(|e| panic!("COMPOUND under {service}: {e}"));
        let plain = ctx
            .unseal_reply(&call, &verf, &results)
            .unwrap_or_else(|e| panic!("reply under {service}: {e}"));
        let res: Compound4Res<'_> = from_bytes(&plain).expect("COMPOUND4res decodes");
        (res.into_static(), call)
    }

    /// RPCSEC_GSS_DESTROY of `ctx`; the reply verifier is checked.
    fn destroy(&mut self, ctx: &GssContext) {
        let xid = self.xid();
        let call = ctx.seal_destroy(xid, NFS4_PROGRAM, NFS_V4).expect("seals");
        let msg = call.message(xid, NFS4_PROGRAM, NFS_V4, 0);
        let (verf, results) = self
            .exchange(xid, &msg)
            .unwrap_or_else(|e| panic!("RPCSEC_GSS_DESTROY: {e}"));
        ctx.unseal_reply(&call, &verf, &results)
            .unwrap_or_else(|e| panic!("RPCSEC_GSS_DESTROY reply: {e}"));
    }
}

fn exchange_id_op(owner: &str, protect: StateProtect4A<'static>) -> NfsArgOp<'static> {
    let verifier = (std::process::id() as u64).to_be_bytes();
    ops::exchange_id(
        owner.as_bytes(),
        verifier,
        ExchgId4Flags::default(),
        protect,
        true,
    )
}

fn exchange_id_result(res: &Compound4Res<'static>) -> Result<ExchangeId4ResOk<'static>, NfsStat4> {
    match res.resarray.first() {
        Some(NfsResOp::ExchangeId(NfsRes::Ok(r))) => Ok(r.clone()),
        Some(NfsResOp::ExchangeId(NfsRes::Fail(s))) => Err(*s),
        other => panic!("not an EXCHANGE_ID result: {other:?}"),
    }
}

const SERVICES: [(RpcGssService, &str); 3] = [
    (RpcGssService::rpc_gss_svc_none, "krb5"),
    (RpcGssService::rpc_gss_svc_integrity, "krb5i"),
    (RpcGssService::rpc_gss_svc_privacy, "krb5p"),
];

// ---------------------------------------------------------------------------

#[test]
fn a_realm_issues_tickets_to_keytab_and_password_principals() {
    if !can_run(
        "a_realm_issues_tickets_to_keytab_and_password_principals",
        false,
    ) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let kdc = start_realm();
    let kdc_pid = kdc.pid().expect("krb5kdc runs");
    eprintln!(
        "realm {} at {} ready in {:?}",
        kdc.realm(),
        kdc.address(),
        started.elapsed()
    );
    let nfs = kdc.add_service("nfs", SERVER_HOST).expect("nfs principal");
    assert_eq!(nfs.principal, format!("nfs/{SERVER_HOST}@TRUNKCHECK.TEST"));
    // A second server principal in the same keytab (servers sharing one
    // keytab file); each entry gets tickets.
    let nfs2 = kdc
        .add_principal_to_keytab("nfs/srv2.trunkcheck.test", &nfs.path)
        .expect("second principal in the keytab");
    assert_eq!(nfs2.path, nfs.path);
    kdc.kinit_keytab(&nfs).expect("kinit -k nfs/srv1");
    kdc.kinit_keytab(&nfs2)
        .expect("kinit -k nfs/srv2 from the same keytab");
    let machine = kdc
        .add_service("host", CLIENT_HOST)
        .expect("host principal");
    let user = kdc
        .add_password_principal("alice", "alice-pw-1")
        .expect("user principal");

    // kinit with a keytab and with a password.
    kdc.kinit_keytab(&machine).expect("kinit -k");
    let cc = kdc
        .kinit_password(&user, "alice-pw-1")
        .expect("kinit alice");
    let wrong = kdc.kinit_password(&user, "not-the-password");
    assert!(wrong.is_err(), "a wrong password is refused");

    // GSS credentials of two principals side by side in one process, one
    // from its keytab (no kinit), one from the password ccache; each gets
    // a service ticket for the NFS server (the first context token).
    let target = Name::service("nfs", SERVER_HOST).expect("target name");
    for (who, store) in [
        (machine.principal.clone(), kdc.cred_store(&machine)),
        (
            user.clone(),
            trunkcheck::gss::CredStore {
                ccache: Some(cc.clone()),
                client_keytab: None,
            },
        ),
    ] {
        let name = Name::principal(&who).expect("principal name");
        let cred = Cred::initiator(Some(&name), &store).unwrap_or_else(|e| panic!("{who}: {e}"));
        let mut ctx = trunkcheck::gss::SecContext::new().expect("context");
        match ctx
            .step(&cred, &target, trunkcheck::gss::rpcsec::REQUEST_FLAGS, &[])
            .unwrap_or_else(|e| panic!("{who}: first token: {e}"))
        {
            trunkcheck::gss::InitStep::Continue { token } => {
                assert!(token.len() > 100, "{who}: an AP-REQ, {} bytes", token.len())
            }
            other => panic!("{who}: mutual authentication needs a reply: {other:?}"),
        }
        // Its per-message calls refuse to run before establishment.
        assert!(ctx.get_mic(b"x").is_err());
    }

    // A principal the KDC does not know is a typed error with the
    // library's text.
    let ghost = Name::principal("ghost@TRUNKCHECK.TEST").expect("name");
    let e = Cred::initiator(
        Some(&ghost),
        &trunkcheck::gss::CredStore {
            ccache: Some(kdc.ccache_name("ghost")),
            client_keytab: Some(machine.name()),
        },
    )
    .and_then(|c| {
        trunkcheck::gss::SecContext::new()?.step(
            &c,
            &target,
            trunkcheck::gss::rpcsec::REQUEST_FLAGS,
            &[],
        )
    })
    .expect_err("no key for ghost");
    eprintln!("unknown principal: {e}");
    assert!(matches!(e, trunkcheck::gss::GssError::Gss { .. }), "{e}");

    let dir = kdc.dir().to_path_buf();
    drop(kdc);
    assert!(!dir.exists(), "the realm's directory is removed");
    // SAFETY: kill with signal 0 only checks for the process.
    let alive = unsafe { libc::kill(kdc_pid as libc::pid_t, 0) } == 0;
    assert!(!alive, "krb5kdc {kdc_pid} is gone");
}

#[test]
fn ganesha_serves_exchange_id_under_krb5_krb5i_and_krb5p() {
    if !can_run(
        "ganesha_serves_exchange_id_under_krb5_krb5i_and_krb5p",
        true,
    ) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let kdc = start_realm();
    let nfs = kdc.add_service("nfs", SERVER_HOST).expect("nfs principal");
    let machine = kdc
        .add_service("host", CLIENT_HOST)
        .expect("host principal");
    let user = kdc
        .add_password_principal("alice", "alice-pw-1")
        .expect("user principal");
    let user_cc = kdc.kinit_password(&user, "alice-pw-1").expect("kinit");

    let (server_ip, client_ip) = run_addresses();
    let gdir = kdc.dir().join("ganesha");
    let t0 = Instant::now();
    let ganesha = Ganesha::start(&kdc, &nfs, &gdir, server_ip);
    eprintln!("ganesha ready at {} in {:?}", ganesha.address, t0.elapsed());
    let pcap = kdc.dir().join("krb5.pcap");
    let tcpdump = Tcpdump::start(
        &pcap,
        &format!(
            "host {server_ip} and host {client_ip} and tcp port {}",
            ganesha.address.port()
        ),
    );

    let target = Name::service("nfs", SERVER_HOST).expect("target");
    let machine_cred = Cred::initiator(
        Some(&Name::principal(&machine.principal).expect("name")),
        &kdc.cred_store(&machine),
    )
    .expect("machine credential from its keytab");
    let user_cred = Cred::initiator(
        Some(&Name::principal(&user).expect("name")),
        &trunkcheck::gss::CredStore {
            ccache: Some(user_cc),
            client_keytab: None,
        },
    )
    .expect("user credential from its ccache");

    let mut conn = RpcStream::connect(client_ip, ganesha.address);
    let mut contexts = Vec::new();
    // krb5 as the user, krb5i and krb5p as the machine.
    for (i, (service, name)) in SERVICES.iter().enumerate() {
        let cred = if i == 0 { &user_cred } else { &machine_cred };
        let t = Instant::now();
        let ctx = GssContext::establish(cred, &target, *service, |c| conn.init_call(c))
            .unwrap_or_else(|e| {
                panic!("{name}: context creation: {e}\n{}", tail(&ganesha.log, 20))
            });
        eprintln!(
            "{name}: context created in {:?} ({} round trip(s)), window {}, handle {} bytes",
            t.elapsed(),
            ctx.outcome().round_trips,
            ctx.window(),
            ctx.handle().len()
        );
        assert!(ctx.window() > 0);
        let owner = format!("trunkcheck-krb5-live-{name}");
        let (res, call) = conn.gss_compound(
            &ctx,
            *service,
            vec![exchange_id_op(&owner, StateProtect4A::None)],
        );
        assert_eq!(call.service, *service);
        assert_eq!(res.status, NfsStat4::NFS4_OK, "{name}: {res:?}");
        let eid = exchange_id_result(&res).expect("EXCHANGE_ID4resok");
        eprintln!(
            "{name}: EXCHANGE_ID NFS4_OK clientid {:#018x} owner {:?} scope {:?} state protect {:?}",
            eid.eir_clientid.0,
            eid.eir_server_owner.so_major_id.escaped(),
            eid.eir_server_scope.escaped(),
            eid.eir_state_protect
        );
        assert_eq!(eid.eir_state_protect, StateProtect4R::None);
        contexts.push(ctx);
    }

    // A forged call verifier is not accepted.
    {
        let ctx = &contexts[1];
        let xid = conn.xid();
        let args = to_bytes(&Compound4Args {
            tag: Opaque::from("forged"),
            minorversion: 1,
            argarray: vec![exchange_id_op("trunkcheck-forged", StateProtect4A::None)],
        });
        let mut call = ctx
            .seal_call(xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, &args)
            .expect("seals");
        let mut mic = call.verf.body.as_bytes().to_vec();
        if let Some(b) = mic.last_mut() {
            *b ^= 0xff;
        }
        call.verf = OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body: Opaque::from(mic),
        };
        let msg = call.message(xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND);
        conn.stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let r = conn.exchange(xid, &msg);
        ctx.abandon(&call);
        eprintln!("forged verifier: {:?}", r.as_ref().map(|_| "accepted"));
        // RFC 2203 §5.3.3.4.2: a verifier that fails GSS_VerifyMIC gets
        // MSG_DENIED, AUTH_ERROR, RPCSEC_GSS_CREDPROBLEM.
        assert!(
            matches!(
                r,
                Err(Failure::Denied(RejectedReply::AuthError(
                    AuthStat::RPCSEC_GSS_CREDPROBLEM
                )))
            ),
            "a forged verifier: {r:?}"
        );
        conn.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
    }
    // If the server closed the connection on the forgery, continue on a
    // new one (contexts are not bound to connections, RFC 2203 §5).
    let mut conn = RpcStream::connect(client_ip, ganesha.address);

    // SP4_MACH_CRED under the machine credential with integrity.
    let asked = ops::mach_cred();
    let StateProtect4A::MachCred(asked_ops) = &asked else {
        panic!("mach_cred() is SP4_MACH_CRED");
    };
    let asked_enforce: BTreeSet<u32> = asked_ops.spo_must_enforce.bits().collect();
    let (res, _) = conn.gss_compound(
        &contexts[1],
        RpcGssService::rpc_gss_svc_integrity,
        vec![exchange_id_op(
            "trunkcheck-krb5-live-mach-cred",
            asked.clone(),
        )],
    );
    match exchange_id_result(&res) {
        Ok(eid) => {
            eprintln!(
                "SP4_MACH_CRED asked (enforce {asked_enforce:?}); granted: {:?}, flags {:?}",
                eid.eir_state_protect, eid.eir_flags
            );
            // RFC 8881 §18.35.3: when SP4_MACH_CRED is granted, the result's
            // spo_must_enforce holds every op asked for among EXCHANGE_ID,
            // CREATE_SESSION, DELEGPURGE, DESTROY_SESSION,
            // BIND_CONN_TO_SESSION and DESTROY_CLIENTID.
            if let StateProtect4R::MachCred(granted) = &eid.eir_state_protect {
                let required = [
                    NfsOpnum4::OP_EXCHANGE_ID,
                    NfsOpnum4::OP_CREATE_SESSION,
                    NfsOpnum4::OP_DELEGPURGE,
                    NfsOpnum4::OP_DESTROY_SESSION,
                    NfsOpnum4::OP_BIND_CONN_TO_SESSION,
                    NfsOpnum4::OP_DESTROY_CLIENTID,
                ];
                for op in required {
                    if asked_enforce.contains(&op.0) {
                        assert!(
                            granted.spo_must_enforce.is_set(op.0),
                            "{op:?} asked but not in spo_must_enforce {:?}",
                            granted.spo_must_enforce
                        );
                    }
                }
            }
        }
        Err(status) => eprintln!("SP4_MACH_CRED asked: refused with {status:?}"),
    }

    for ctx in &contexts {
        conn.destroy(ctx);
    }
    drop(conn);
    let pcap = tcpdump.finish();

    // Sessions and exports under Kerberos (not captured): which export each
    // service may enter, and whom Ganesha maps a user principal to.
    let mut conn = RpcStream::connect(client_ip, ganesha.address);
    let daemon = kdc
        .add_keytab_principal("daemon")
        .expect("a principal named like a local user");
    let daemon_cred = Cred::initiator(
        Some(&Name::principal(&daemon.principal).expect("name")),
        &kdc.cred_store(&daemon),
    )
    .expect("daemon credential");
    session_probe(
        &mut conn,
        &user_cred,
        &[("alice", &user_cred), ("daemon", &daemon_cred)],
        &target,
    );
    drop(conn);

    // Call overhead (not captured): EXCHANGE_ID round trips per service on
    // fresh contexts, and AUTH_NONE for comparison.
    let mut conn = RpcStream::connect(client_ip, ganesha.address);
    let rounds = 50;
    let mut timings = Vec::new();
    for (service, name) in SERVICES {
        let ctx = GssContext::establish(&machine_cred, &target, service, |c| conn.init_call(c))
            .expect("context");
        let t = Instant::now();
        for i in 0..rounds {
            let owner = format!("trunkcheck-krb5-timing-{name}-{}", i % 2);
            let (res, _) = conn.gss_compound(
                &ctx,
                service,
                vec![exchange_id_op(&owner, StateProtect4A::None)],
            );
            assert_eq!(res.status, NfsStat4::NFS4_OK);
        }
        timings.push((name, t.elapsed() / rounds));
        conn.destroy(&ctx);
    }
    let t = Instant::now();
    for i in 0..rounds {
        let xid = conn.xid();
        let args = to_bytes(&Compound4Args {
            tag: Opaque::from("krb5-live"),
            minorversion: 1,
            argarray: vec![exchange_id_op(
                &format!("trunkcheck-krb5-timing-none-{}", i % 2),
                StateProtect4A::None,
            )],
        });
        let msg = RpcMessage::call(
            xid,
            NFS4_PROGRAM,
            NFS_V4,
            NFSPROC4_COMPOUND,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        )
        .to_bytes_with_payload(&args);
        conn.exchange(xid, &msg).expect("AUTH_NONE EXCHANGE_ID");
    }
    timings.push(("AUTH_NONE", t.elapsed() / rounds));
    eprintln!("mean EXCHANGE_ID round trip over {rounds} calls: {timings:?}");

    drop(conn);
    tcpdump_guard_check(&pcap);
    check_capture(&pcap);
    if std::env::var_os(RECORD).is_some_and(|v| v == "1") {
        let dest = repo().join(CAPTURE);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("captures/krb5");
        std::fs::copy(&pcap, &dest).expect("copy the capture");
        eprintln!("recorded {}", dest.display());
    }
    let log = tail(&ganesha.log, 200);
    let noteworthy: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            ["gss", "krb", "principal", "idmap", "uid", "map "]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    eprintln!("ganesha log (GSS lines):\n{}", noteworthy.join("\n"));
    drop(ganesha);
    drop(kdc);
}

/// An NFSv4.1 session created under krb5p by a user principal; LOOKUP of
/// each export under each service (printed, and a matching service must
/// enter its export); a file created under krb5p and its owner (the
/// principal's idmapping, printed).
fn session_probe(conn: &mut RpcStream, user: &Cred, others: &[(&str, &Cred)], target: &Name) {
    let ctx_of = |conn: &mut RpcStream, cred: &Cred, service| {
        GssContext::establish(cred, target, service, |c| conn.init_call(c)).expect("context")
    };
    let ctx = |conn: &mut RpcStream, service| ctx_of(conn, user, service);
    let contexts: Vec<(RpcGssService, &str, GssContext)> = SERVICES
        .iter()
        .map(|(service, name)| (*service, *name, ctx(conn, *service)))
        .collect();
    let (priv_service, _, priv_ctx) = &contexts[2];
    let (res, _) = conn.gss_compound(
        priv_ctx,
        *priv_service,
        vec![exchange_id_op(
            "trunkcheck-krb5-live-session",
            StateProtect4A::None,
        )],
    );
    let eid = exchange_id_result(&res).expect("EXCHANGE_ID");
    let args = ops::create_session_args(
        eid.eir_clientid,
        eid.eir_sequenceid,
        CreateSession4Flags::default(),
        default_fore_attrs(),
        default_back_attrs(),
        0x4000_0000,
        &Principal::None,
    );
    let (res, _) = conn.gss_compound(priv_ctx, *priv_service, vec![NfsArgOp::CreateSession(args)]);
    let session = match res.resarray.first() {
        Some(NfsResOp::CreateSession(NfsRes::Ok(r))) => r.csr_sessionid,
        other => panic!("CREATE_SESSION under krb5p: {other:?}"),
    };
    let mut seqid = 1;
    let mut step =
        |conn: &mut RpcStream, ctx: &GssContext, service, mut rest: Vec<NfsArgOp<'static>>| {
            let mut argv = vec![ops::sequence(session, seqid, 0, 0, false)];
            argv.append(&mut rest);
            let (res, _) = conn.gss_compound(ctx, service, argv);
            if matches!(
                res.resarray.first(),
                Some(NfsResOp::Sequence(NfsRes::Ok(_)))
            ) {
                seqid += 1;
            }
            res
        };
    let res = step(
        conn,
        priv_ctx,
        *priv_service,
        vec![ops::reclaim_complete(false)],
    );
    assert_eq!(res.status, NfsStat4::NFS4_OK, "RECLAIM_COMPLETE: {res:?}");
    let owner_attrs = [Fattr4Num::FATTR4_OWNER.0, Fattr4Num::FATTR4_OWNER_GROUP.0];
    for (service, name, ctx) in &contexts {
        for export in ["krb5", "krb5i", "krb5p"] {
            let res = step(
                conn,
                ctx,
                *service,
                vec![
                    ops::putrootfh(),
                    ops::lookup(export),
                    ops::getattr(&owner_attrs),
                ],
            );
            let lookup = ops::status_of(&res, NfsOpnum4::OP_LOOKUP);
            let getattr = ops::status_of(&res, NfsOpnum4::OP_GETATTR);
            eprintln!(
                "under {name}: LOOKUP /{export} {lookup:?}, GETATTR {getattr:?} {:?}",
                ops::attrs(&res)
            );
            if *name == export {
                assert_eq!(
                    res.status,
                    NfsStat4::NFS4_OK,
                    "{name} enters /{export}: {res:?}"
                );
            }
        }
    }
    // Files created by each user principal in the krb5p export (world
    // writable): their owner shows how Ganesha maps the principal.
    let clientid = eid.eir_clientid;
    let mut owners = Vec::new();
    for (label, cred) in others {
        let own;
        let c = if *label == "alice" {
            priv_ctx
        } else {
            own = ctx_of(conn, cred, *priv_service);
            &own
        };
        let res = step(
            conn,
            c,
            *priv_service,
            vec![
                ops::putrootfh(),
                ops::lookup("krb5p"),
                ops::open_create(
                    0,
                    ops::state_owner(clientid, label.as_bytes()),
                    &format!("{label}-file"),
                ),
                ops::getattr(&owner_attrs),
            ],
        );
        eprintln!(
            "OPEN create as {label} under krb5p: {:?}, owner attributes {:?}",
            res.status,
            ops::attrs(&res)
        );
        owners.push((label.to_string(), res.status, ops::attrs(&res)));
    }
    // With the run's idmapd.conf (Local-Realms = the realm, nsswitch), a
    // principal named like a local user is that user; others are anonymous.
    let daemon = owners
        .iter()
        .find(|o| o.0 == "daemon")
        .expect("daemon opened");
    assert_eq!(daemon.1, NfsStat4::NFS4_OK, "OPEN as daemon");
    assert!(
        daemon
            .2
            .iter()
            .flatten()
            .any(|a| *a == AttrValue::Owner(Opaque::from("daemon@trunkcheck.test"))),
        "daemon@TRUNKCHECK.TEST maps to the local user daemon: {:?}",
        daemon.2
    );
    let res = step(
        conn,
        priv_ctx,
        *priv_service,
        vec![ops::destroy_session(session)],
    );
    eprintln!("DESTROY_SESSION: {:?}", res.status);
    for (_, _, ctx) in &contexts {
        conn.destroy(ctx);
    }
}

/// The capture file exists and is not empty.
fn tcpdump_guard_check(pcap: &Path) -> u64 {
    let len = std::fs::metadata(pcap).map(|m| m.len()).unwrap_or(0);
    assert!(len > 24, "{} holds packets ({len} bytes)", pcap.display());
    len
}

/// The RPCSEC_GSS credentials of every call, as `trunkcheck decode --json`
/// shows them: (xid, gss_proc, seq_num, service).
fn decode_gss_calls(pcap: &Path) -> Vec<(u32, String, u64, String)> {
    let out = trunkcheck()
        .args(["decode", "--json"])
        .arg(pcap)
        .output()
        .expect("run trunkcheck decode");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let m: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        if m["type"] != "message" || m["kind"] != "call" {
            continue;
        }
        let cred = &m["cred"];
        assert_eq!(cred["flavor"], "RPCSEC_GSS", "{line}");
        v.push((
            m["xid"].as_u64().expect("xid") as u32,
            cred["gss_proc"].as_str().expect("gss_proc").to_string(),
            cred["seq_num"].as_u64().expect("seq_num"),
            cred["service"].as_str().expect("service").to_string(),
        ));
    }
    v
}

/// The same as tshark dissects it.
fn tshark_gss_calls(pcap: &Path) -> Vec<(u32, String, u64, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "rpc.msgtyp == 0",
            "-T",
            "fields",
            "-E",
            "separator=;",
            "-e",
            "rpc.xid",
            "-e",
            "rpc.auth.flavor",
            "-e",
            "rpc.authgss.procedure",
            "-e",
            "rpc.authgss.seqnum",
            "-e",
            "rpc.authgss.service",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let procs = [
        "RPCSEC_GSS_DATA",
        "RPCSEC_GSS_INIT",
        "RPCSEC_GSS_CONTINUE_INIT",
        "RPCSEC_GSS_DESTROY",
    ];
    let services = [
        "",
        "rpc_gss_svc_none",
        "rpc_gss_svc_integrity",
        "rpc_gss_svc_privacy",
    ];
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(';').collect();
        assert_eq!(f.len(), 5, "{line}");
        let num = |s: &str| -> u64 {
            let s = s.split(',').next().unwrap_or(s);
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).expect("hex"),
                None => s
                    .parse()
                    .unwrap_or_else(|_| panic!("number {s:?} in {line}")),
            }
        };
        assert_eq!(num(f[1]), 6, "RPCSEC_GSS flavor: {line}");
        v.push((
            num(f[0]) as u32,
            procs.get(num(f[2]) as usize).unwrap_or(&"?").to_string(),
            num(f[3]),
            services.get(num(f[4]) as usize).unwrap_or(&"?").to_string(),
        ));
    }
    v
}

/// `trunkcheck decode` and tshark agree on every call's credential, and
/// the capture has context creation, data calls of all three services and
/// destruction.
fn check_capture(pcap: &Path) {
    let ours = decode_gss_calls(pcap);
    let theirs = tshark_gss_calls(pcap);
    assert_eq!(
        ours,
        theirs,
        "trunkcheck decode and tshark on {}",
        pcap.display()
    );
    let procs: BTreeSet<&str> = ours.iter().map(|c| c.1.as_str()).collect();
    for p in ["RPCSEC_GSS_INIT", "RPCSEC_GSS_DATA", "RPCSEC_GSS_DESTROY"] {
        assert!(procs.contains(p), "{p} in {procs:?}");
    }
    let data_services: BTreeSet<&str> = ours
        .iter()
        .filter(|c| c.1 == "RPCSEC_GSS_DATA")
        .map(|c| c.3.as_str())
        .collect();
    assert_eq!(
        data_services.len(),
        3,
        "data calls of every service: {data_services:?}"
    );
    eprintln!(
        "{}: {} RPCSEC_GSS calls, decode and tshark agree",
        pcap.display(),
        ours.len()
    );
}

#[test]
fn the_recorded_krb5_capture_decodes_as_tshark_does() {
    let pcap = repo().join(CAPTURE);
    if !pcap.exists() {
        if std::env::var_os(REQUIRE).is_some_and(|v| v == "1") {
            panic!("{} is missing", pcap.display());
        }
        eprintln!("{} not recorded yet: skipped", pcap.display());
        return;
    }
    if !on_path("tshark") {
        if std::env::var_os(REQUIRE).is_some_and(|v| v == "1") {
            panic!("tshark is not installed");
        }
        eprintln!("tshark is not installed: skipped");
        return;
    }
    check_capture(&pcap);
}
