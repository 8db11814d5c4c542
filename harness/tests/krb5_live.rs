//! RPCSEC_GSS with Kerberos against real programs: an MIT KDC started by
//! `trunkcheck::krb5::Kdc` and a real NFS-Ganesha with krb5, krb5i and
//! krb5p exports (and an AUTH_SYS one for comparison), reached over
//! loopback TCP by the harness's own NFS client (`trunkcheck::client`) with
//! `Principal::Gss` principals: contexts are created over the client's
//! connection (`Connection::gss_context`), every call is sealed and every
//! reply verified by the client.
//!
//! Proven here, under each of krb5, krb5i and krb5p: a realm comes up and
//! hands out tickets to keytab and password principals; GSS contexts are
//! created with Ganesha; EXCHANGE_ID, CREATE_SESSION with a backchannel,
//! SEQUENCE + PUTROOTFH + GETATTR, OPEN/WRITE/READ/CLOSE/REMOVE of a file in
//! the flavour's export (each export entered only under its own flavour),
//! another principal acting inside the session (its file's owner shows
//! Ganesha's idmapping: the run's own idmapd.conf maps `daemon@REALM` to
//! the local user daemon), DESTROY_SESSION, DESTROY_CLIENTID and
//! RPCSEC_GSS_DESTROY, after which the context is denied; NFSv4.0
//! SETCLIENTID/OPEN/WRITE/READ/CLOSE/RENEW; a forged call verifier is
//! denied with RPCSEC_GSS_CREDPROBLEM; a reply damaged in transit (verifier
//! under each service, checksum under krb5i, privacy token under krb5p) is
//! refused with `ClientError::Gss` by the client (a proxy in the test
//! damages one byte: a real server cannot be made to send it); SP4_MACH_CRED
//! is asked for under the machine credential and what Ganesha grants is
//! printed (only what RFC 8881 §18.35 requires is asserted); the traffic is
//! captured and `trunkcheck decode` and tshark agree on every RPCSEC_GSS
//! credential in it; the cost of a call under each service next to AUTH_SYS
//! is printed.
//!
//! Needs root (FSAL VFS, tcpdump), `krb5kdc`, `kdb5_util`, `kadmin.local`,
//! `kinit` (Debian krb5-kdc, krb5-admin-server, krb5-user), `ganesha.nfsd`
//! with its VFS plugin, `tcpdump` and `tshark`. Without them each test
//! prints why it is skipped and passes, unless `TRUNKCHECK_REQUIRE_KRB5=1`:
//! then it fails. `TRUNKCHECK_RECORD_KRB5=1` also copies the capture of
//! the EXCHANGE_ID test to `captures/krb5/ganesha-krb5-exchange-id.pcap`.
//!
//! The GSS library reads `KRB5_CONFIG` from the environment, so tests that
//! start a realm run one at a time (they set it for the process).

mod common;

use analyzer::nfs4::attr::{AttrValue, Fattr4Num};
use analyzer::nfs4::{
    Compound4Args, CreateSession4Flags, ExchangeId4ResOk, ExchgId4Flags, NfsOpnum4, NfsRes,
    NfsStat4, Open4ResultFlags, Setclientid4Res, StateProtect4A, StateProtect4R, NFS4_CALLBACK,
    NFS4_PROGRAM, NFSPROC4_COMPOUND, NFS_V4,
};
use analyzer::rpc::{
    write_record, AcceptedReply, AcceptedReplyData, AuthFlavor, AuthStat, MsgBody, OpaqueAuth,
    RecordAssembler, ReplyBody, RpcGssService, RpcMessage,
};
use analyzer::xdr::{to_bytes, IntoStatic, Opaque};
use common::{repo, trunkcheck};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trunkcheck::client::session::{self, default_back_attrs, default_fore_attrs};
use trunkcheck::client::{
    ops, rpc, v40, CallbackListener, ClientError, ClientOwner, ConnectOptions, Connection,
    Principal, Session,
};
use trunkcheck::gss::{Cred, GssContext, GssError, Name};
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
        for (i, sec) in ["krb5", "krb5i", "krb5p", "sys"].iter().enumerate() {
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
    Minor_Versions = 0, 1, 2;
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
            // A kernel buffer for bursts (large WRITEs from several threads).
            "-B",
            "16384",
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
// A realm, a Ganesha and the run's principals.

/// The flavours, their RPCSEC_GSS services and their exports.
const SERVICES: [(RpcGssService, &str); 3] = [
    (RpcGssService::rpc_gss_svc_none, "krb5"),
    (RpcGssService::rpc_gss_svc_integrity, "krb5i"),
    (RpcGssService::rpc_gss_svc_privacy, "krb5p"),
];

/// One run: a realm with the server's, a machine's and a user's
/// principals, Ganesha with an export per flavour, the client's address.
/// Dropped in field order: Ganesha before the KDC.
struct Lab {
    ganesha: Ganesha,
    kdc: Kdc,
    client_ip: Ipv4Addr,
    server_ip: Ipv4Addr,
    target: Name,
    /// `host/client1.trunkcheck.test`, from its keytab.
    machine: Cred,
    /// `alice@TRUNKCHECK.TEST`, from a password ccache.
    user: Cred,
}

impl Lab {
    fn start() -> Lab {
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
        let t0 = Instant::now();
        let ganesha = Ganesha::start(&kdc, &nfs, &kdc.dir().join("ganesha"), server_ip);
        eprintln!("ganesha ready at {} in {:?}", ganesha.address, t0.elapsed());
        let machine = Cred::initiator(
            Some(&Name::principal(&machine.principal).expect("name")),
            &kdc.cred_store(&machine),
        )
        .expect("machine credential from its keytab");
        let user = Cred::initiator(
            Some(&Name::principal(&user).expect("name")),
            &trunkcheck::gss::CredStore {
                ccache: Some(user_cc),
                client_keytab: None,
            },
        )
        .expect("user credential from its ccache");
        Lab {
            ganesha,
            kdc,
            client_ip,
            server_ip,
            target: Name::service("nfs", SERVER_HOST).expect("target"),
            machine,
            user,
        }
    }

    /// A credential of a principal named like a local user (`daemon`),
    /// which Ganesha's idmapping maps to that user.
    fn local_user(&self, name: &str) -> Cred {
        let kt = self
            .kdc
            .add_keytab_principal(name)
            .expect("a principal named like a local user");
        Cred::initiator(
            Some(&Name::principal(&kt.principal).expect("name")),
            &self.kdc.cred_store(&kt),
        )
        .expect("credential")
    }

    fn options(&self) -> ConnectOptions {
        ConnectOptions {
            from: Some(IpAddr::V4(self.client_ip)),
            reply_timeout: Duration::from_secs(10),
            ..ConnectOptions::default()
        }
    }

    /// A new connection of the client to Ganesha.
    fn connect(&self) -> Connection {
        Connection::connect(self.ganesha.address, &self.options())
            .unwrap_or_else(|e| panic!("connect: {e}"))
    }

    /// A context as `cred` created over `conn`, and its principal.
    fn gss(
        &self,
        conn: &Connection,
        cred: &Cred,
        service: RpcGssService,
    ) -> (Arc<GssContext>, Principal) {
        let ctx = conn
            .gss_context(cred, &self.target, service)
            .unwrap_or_else(|e| {
                panic!(
                    "{service}: context creation: {e}\n{}",
                    tail(&self.ganesha.log, 20)
                )
            });
        (Arc::clone(&ctx), Principal::gss(ctx))
    }

    /// tcpdump of the traffic between the client and Ganesha.
    fn capture(&self, name: &str) -> Tcpdump {
        Tcpdump::start(
            &self.kdc.dir().join(name),
            &format!(
                "host {} and host {} and tcp port {}",
                self.server_ip,
                self.client_ip,
                self.ganesha.address.port()
            ),
        )
    }

    /// Ganesha's log lines about GSS, Kerberos, principals and callbacks.
    fn gss_log(&self) -> String {
        let log = tail(&self.ganesha.log, 400);
        log.lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                ["gss", "krb", "principal", "idmap", "nfs cb", "callback"]
                    .iter()
                    .any(|w| l.contains(w))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// An owner for this run, fixed name (the recorded capture shows it).
fn owner(name: &str) -> ClientOwner {
    ClientOwner {
        owner: name.as_bytes().to_vec(),
        verifier: (std::process::id() as u64).to_be_bytes(),
    }
}

/// EXCHANGE_ID as `p`: the result, or the status it failed with.
fn exchange_id(
    conn: &Connection,
    p: &Principal,
    owner: &ClientOwner,
    protect: StateProtect4A<'static>,
) -> Result<ExchangeId4ResOk<'static>, NfsStat4> {
    match session::exchange_id(conn, p, owner, ExchgId4Flags::default(), protect) {
        Ok(NfsRes::Ok(ok)) => Ok(ok),
        Ok(NfsRes::Fail(s)) => Err(s),
        Err(e) => panic!("EXCHANGE_ID: {e}"),
    }
}

/// EXCHANGE_ID and CREATE_SESSION (with a backchannel) as `p`.
fn new_session(conn: &Connection, p: &Principal, owner: &ClientOwner) -> Session {
    let eid = exchange_id(conn, p, owner, StateProtect4A::None).expect("EXCHANGE_ID NFS4_OK");
    Session::create(
        conn,
        p,
        eid.eir_clientid,
        eid.eir_sequenceid,
        CreateSession4Flags::CONN_BACK_CHAN,
        default_fore_attrs(),
        default_back_attrs(),
        NFS4_CALLBACK,
    )
    .unwrap_or_else(|e| panic!("CREATE_SESSION: {e}"))
    .unwrap_or_else(|s| panic!("CREATE_SESSION: {s:?}"))
}

/// [`new_session`] and RECLAIM_COMPLETE (nothing to reclaim: OPEN then
/// works without waiting for the grace period).
fn ready_session(conn: &Connection, p: &Principal, owner: &ClientOwner) -> Session {
    let s = new_session(conn, p, owner);
    assert_eq!(
        s.reclaim_complete(conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    s
}

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
    let lab = Lab::start();
    let tcpdump = lab.capture("krb5.pcap");

    let conn = lab.connect();
    let mut contexts = Vec::new();
    // krb5 as the user, krb5i and krb5p as the machine.
    for (i, (service, name)) in SERVICES.iter().enumerate() {
        let cred = if i == 0 { &lab.user } else { &lab.machine };
        let t = Instant::now();
        let (ctx, p) = lab.gss(&conn, cred, *service);
        eprintln!(
            "{name}: context created in {:?} ({} round trip(s)), window {}, handle {} bytes",
            t.elapsed(),
            ctx.outcome().round_trips,
            ctx.window(),
            ctx.handle().len()
        );
        assert!(ctx.window() > 0);
        assert_eq!(p.gss_service(), Some(*service));
        let eid = exchange_id(
            &conn,
            &p,
            &owner(&format!("trunkcheck-krb5-live-{name}")),
            StateProtect4A::None,
        )
        .unwrap_or_else(|s| panic!("{name}: EXCHANGE_ID {s:?}"));
        eprintln!(
            "{name}: EXCHANGE_ID NFS4_OK clientid {:#018x} owner {:?} scope {:?} state protect {:?}",
            eid.eir_clientid.0,
            eid.eir_server_owner.so_major_id.escaped(),
            eid.eir_server_scope.escaped(),
            eid.eir_state_protect
        );
        assert_eq!(eid.eir_state_protect, StateProtect4R::None);
        assert_eq!(ctx.in_flight(), 0);
        contexts.push(ctx);
    }

    // A forged call verifier is not accepted. RFC 2203 §5.3.3.4.2: a
    // verifier that fails GSS_VerifyMIC gets MSG_DENIED, AUTH_ERROR,
    // RPCSEC_GSS_CREDPROBLEM; the client reports it typed.
    {
        let ctx = &contexts[1];
        let p = Principal::gss(Arc::clone(ctx));
        let args = to_bytes(&Compound4Args {
            tag: Opaque::from("forged"),
            minorversion: 1,
            argarray: vec![ops::exchange_id(
                b"trunkcheck-forged",
                [0; 8],
                ExchgId4Flags::default(),
                StateProtect4A::None,
                true,
            )],
        });
        let xid = conn.next_xid();
        let call = rpc::seal_call_record(xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, &p, &args)
            .expect("seals");
        let sealed = call.sealed.expect("an RPCSEC_GSS call");
        let mut mic = sealed.verf.body.as_bytes().to_vec();
        if let Some(b) = mic.last_mut() {
            *b ^= 0xff;
        }
        let forged = OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body: Opaque::from(mic),
        };
        let record = rpc::plain_call_record(
            xid,
            NFS4_PROGRAM,
            NFS_V4,
            NFSPROC4_COMPOUND,
            sealed.cred.clone(),
            forged,
            &sealed.body,
        );
        let r = conn.call_record_raw(xid, &record);
        ctx.abandon(&sealed);
        let e = r.expect_err("a forged verifier is refused");
        eprintln!("forged verifier: {e}");
        assert_eq!(
            e.gss_problem(),
            Some(AuthStat::RPCSEC_GSS_CREDPROBLEM),
            "{e}"
        );
    }
    // Contexts are not bound to connections (RFC 2203 §5): the rest runs
    // on a second one.
    drop(conn);
    let conn = lab.connect();

    // SP4_MACH_CRED under the machine credential with integrity.
    let asked = ops::mach_cred();
    let StateProtect4A::MachCred(asked_ops) = &asked else {
        panic!("mach_cred() is SP4_MACH_CRED");
    };
    let asked_enforce: BTreeSet<u32> = asked_ops.spo_must_enforce.bits().collect();
    let p = Principal::gss(Arc::clone(&contexts[1]));
    match exchange_id(
        &conn,
        &p,
        &owner("trunkcheck-krb5-live-mach-cred"),
        asked.clone(),
    ) {
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
        conn.gss_destroy(ctx)
            .unwrap_or_else(|e| panic!("RPCSEC_GSS_DESTROY: {e}"));
    }
    assert_eq!(conn.stats().stray_replies, 0);
    drop(conn);
    let pcap = tcpdump.finish();
    tcpdump_guard_check(&pcap);
    check_capture(&pcap);
    if std::env::var_os(RECORD).is_some_and(|v| v == "1") {
        let dest = repo().join(CAPTURE);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("captures/krb5");
        std::fs::copy(&pcap, &dest).expect("copy the capture");
        eprintln!("recorded {}", dest.display());
    }
    eprintln!("ganesha log (GSS lines):\n{}", lab.gss_log());
}

/// Everything the client does, under each flavour, on its own export:
/// context creation over the connection, EXCHANGE_ID, CREATE_SESSION with
/// a backchannel, SEQUENCE + PUTROOTFH + GETATTR, OPEN (create), WRITE,
/// READ, CLOSE, REMOVE, another principal acting inside the session,
/// DESTROY_SESSION, DESTROY_CLIENTID, RPCSEC_GSS_DESTROY; then a call on
/// the destroyed context is denied. Every reply verifier, checksum and
/// privacy body is verified by the client; the capture decodes as tshark
/// decodes it.
#[test]
fn the_client_runs_sessions_and_files_under_krb5_krb5i_and_krb5p() {
    if !can_run(
        "the_client_runs_sessions_and_files_under_krb5_krb5i_and_krb5p",
        true,
    ) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::start();
    let daemon = lab.local_user("daemon");
    let tcpdump = lab.capture("sessions.pcap");
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let owner_attrs = [Fattr4Num::FATTR4_OWNER.0, Fattr4Num::FATTR4_OWNER_GROUP.0];
    for (service, name) in SERVICES {
        let conn = lab.connect();
        let (ctx, p) = lab.gss(&conn, &lab.machine, service);
        let s = new_session(&conn, &p, &ClientOwner::unique(&format!("krb5-{name}")));
        eprintln!(
            "{name}: session {} of client {}, flags {:?}",
            s.id(),
            s.clientid(),
            s.created().csr_flags
        );
        assert_eq!(s.principal(), &p);
        assert_eq!(
            s.reclaim_complete(&conn, false).expect("answered"),
            NfsStat4::NFS4_OK
        );
        let res = s
            .compound(&conn, vec![ops::putrootfh(), ops::getattr_lease_time()])
            .expect("SEQUENCE + PUTROOTFH + GETATTR");
        assert_eq!(res.status, NfsStat4::NFS4_OK, "{name}: {res:?}");
        let lease = ops::lease_time(&res).expect("lease_time");
        assert_eq!(lease, 30, "the launcher's Lease_Lifetime");

        // The slot table and the GSS sequence window under concurrency:
        // threads share the session and the context; every reply verifies.
        let t = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    for _ in 0..15 {
                        let r = s.sequence(&conn).expect("SEQUENCE answered");
                        assert_eq!(r.status(), NfsStat4::NFS4_OK);
                    }
                });
            }
        });
        eprintln!(
            "{name}: 90 SEQUENCEs from 6 threads in {:?}, highest slot granted {}",
            t.elapsed(),
            s.created().csr_fore_chan_attrs.ca_maxrequests
        );
        assert_eq!(ctx.in_flight(), 0);

        // Callback security under GSS: the client offers AUTH_NONE (its
        // callback service accepts no RPCSEC_GSS). What Ganesha answers to
        // BACKCHANNEL_CTL with it, and with RPCSEC_GSS callback handles
        // (RFC 8881 §2.10.8.3), is printed (Ganesha 4.3 does not implement
        // BACKCHANNEL_CTL: NFS4ERR_OP_ILLEGAL, under AUTH_SYS too).
        assert_eq!(
            ops::callback_sec(&p),
            vec![analyzer::nfs4::CallbackSecParms4::AuthNone]
        );
        eprintln!(
            "{name}: BACKCHANNEL_CTL offering AUTH_NONE callbacks: {:?}",
            s.backchannel_ctl(&conn, NFS4_CALLBACK).expect("answered")
        );
        let gss_sec = ops::callback_sec_gss(service, ctx.handle(), b"client-handle");
        let res = s
            .compound(
                &conn,
                vec![ops::backchannel_ctl(NFS4_CALLBACK, vec![gss_sec])],
            )
            .expect("answered");
        eprintln!(
            "{name}: BACKCHANNEL_CTL offering only RPCSEC_GSS callbacks: {:?}",
            session::last_status(&res)
        );

        // Each export is entered only under its own flavour.
        for (_, export) in SERVICES {
            let res = s
                .compound(&conn, ops::root_path(export))
                .expect("LOOKUP answered");
            let lookup = ops::status_of(&res, NfsOpnum4::OP_LOOKUP);
            if export == name {
                assert_eq!(lookup, Some(NfsStat4::NFS4_OK), "{name} enters /{export}");
            } else {
                assert_eq!(
                    lookup,
                    Some(NfsStat4::NFS4ERR_WRONGSEC),
                    "{name} may not enter /{export}"
                );
            }
        }

        // A file: OPEN (create), WRITE, READ back, CLOSE.
        let file = format!("{name}-file");
        let mut open = ops::root_path(name);
        open.push(ops::open_create(
            0,
            ops::state_owner(s.clientid(), b"krb5-open-owner"),
            &file,
        ));
        open.push(ops::getfh());
        let res = s.compound(&conn, open).expect("OPEN answered");
        assert_eq!(ops::first_failure(&res), None, "{name}: OPEN {res:?}");
        let st = ops::opened(&res).expect("opened").stateid.clone();
        let fh = ops::fh(&res).expect("GETFH");
        let res = s
            .compound(
                &conn,
                vec![ops::putfh(&fh), ops::write(st.clone(), 0, &data)],
            )
            .expect("WRITE answered");
        assert_eq!(
            ops::written(&res).map(|w| w.count as usize),
            Some(data.len()),
            "{name}: WRITE {res:?}"
        );
        let res = s
            .compound(
                &conn,
                vec![
                    ops::putfh(&fh),
                    ops::read(st.clone(), 0, data.len() as u32 + 100),
                ],
            )
            .expect("READ answered");
        let (back, eof) = ops::read_data(&res).expect("READ ok");
        assert_eq!(back, data, "{name}: the bytes written come back");
        assert!(eof);
        let res = s
            .compound(&conn, vec![ops::putfh(&fh), ops::close(0, st)])
            .expect("CLOSE answered");
        assert!(ops::closed(&res).is_some(), "{name}: CLOSE {res:?}");

        // Another principal acts inside the session (a session is not bound
        // to one principal): `daemon@REALM` creates a file, and Ganesha's
        // idmapping (Local-Realms = the realm, nsswitch) makes it the local
        // user daemon; the machine principal's own file shows whom that
        // principal maps to.
        let (dctx, dp) = lab.gss(&conn, &daemon, service);
        let mut open = ops::root_path(name);
        open.push(ops::open_create(
            0,
            ops::state_owner(s.clientid(), b"daemon-open-owner"),
            "daemon-file",
        ));
        open.push(ops::getattr(&owner_attrs));
        let res = s
            .compound_as(&conn, &dp, false, open)
            .expect("OPEN as daemon answered");
        assert_eq!(
            ops::first_failure(&res),
            None,
            "{name}: OPEN as daemon {res:?}"
        );
        let attrs = ops::attrs(&res).unwrap_or_default();
        assert!(
            attrs.contains(&AttrValue::Owner(Opaque::from("daemon@trunkcheck.test"))),
            "{name}: daemon@TRUNKCHECK.TEST maps to the local user daemon: {attrs:?}"
        );
        let mut getattr = ops::root_path(name);
        getattr.push(ops::lookup(&file));
        getattr.push(ops::getattr(&owner_attrs));
        let res = s.compound(&conn, getattr).expect("GETATTR answered");
        eprintln!(
            "{name}: owner of the machine principal's file {:?}, of daemon's {attrs:?}",
            ops::attrs(&res)
        );
        conn.gss_destroy(&dctx).expect("daemon's context destroyed");
        let mut remove = ops::root_path(name);
        remove.push(ops::remove(&file));
        let res = s.compound(&conn, remove).expect("REMOVE answered");
        assert_eq!(ops::first_failure(&res), None, "{name}: REMOVE {res:?}");

        assert_eq!(
            s.destroy_session(&conn).expect("answered"),
            NfsStat4::NFS4_OK
        );
        assert_eq!(
            s.destroy_clientid(&conn).expect("answered"),
            NfsStat4::NFS4_OK
        );
        conn.gss_destroy(&ctx).expect("RPCSEC_GSS_DESTROY answered");
        // The server forgot the context: a call on it is denied, typed.
        let e = session::exchange_id(
            &conn,
            &p,
            &ClientOwner::unique("after-destroy"),
            ExchgId4Flags::default(),
            StateProtect4A::None,
        )
        .expect_err("a destroyed context is refused");
        eprintln!("{name}: a call on the destroyed context: {e}");
        assert!(e.gss_problem().is_some(), "{name}: {e}");
        assert_eq!(ctx.in_flight(), 0);
        let stats = conn.stats();
        assert_eq!(stats.stray_replies, 0);
        eprintln!(
            "{name}: {} calls, callbacks received {:?}",
            stats.calls,
            conn.callbacks().received()
        );
    }
    let pcap = tcpdump.finish();
    tcpdump_guard_check(&pcap);
    check_capture(&pcap);
    eprintln!("ganesha log (GSS lines):\n{}", lab.gss_log());
}

/// Context creation that cannot succeed is a typed error: a target the
/// realm does not know fails in the client's GSS library before anything
/// is sent; a target the realm knows but the server has no key for is
/// refused by the server (its `gss_major` in `rpc_gss_init_res`). The
/// connection stays usable.
#[test]
fn failed_context_creation_is_a_typed_error() {
    if !can_run("failed_context_creation_is_a_typed_error", true) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::start();
    let conn = lab.connect();
    let unknown = Name::service("nfs", "nowhere.trunkcheck.test").expect("name");
    let e = conn
        .gss_context(&lab.machine, &unknown, RpcGssService::rpc_gss_svc_none)
        .expect_err("no such service principal");
    eprintln!("unknown target: {e}");
    assert!(matches!(e, ClientError::GssContext { .. }), "{e}");
    assert_eq!(conn.stats().calls, 0, "nothing was sent");
    // host/client1 exists in the realm, but Ganesha's keytab holds only
    // nfs/srv1: it cannot accept the ticket.
    let wrong = Name::service("host", CLIENT_HOST).expect("name");
    let e = conn
        .gss_context(&lab.machine, &wrong, RpcGssService::rpc_gss_svc_none)
        .expect_err("the server has no key for that target");
    eprintln!("target without a key on the server: {e}");
    assert!(
        matches!(
            &e,
            ClientError::GssContext {
                source: GssError::ServerRefused { .. },
                ..
            } | ClientError::GssDenied { .. }
        ),
        "{e}"
    );
    let (ctx, p) = lab.gss(&conn, &lab.machine, RpcGssService::rpc_gss_svc_integrity);
    exchange_id(
        &conn,
        &p,
        &owner("trunkcheck-krb5-after-failures"),
        StateProtect4A::None,
    )
    .expect("the connection still works");
    conn.gss_destroy(&ctx).expect("destroyed");
}

// ---------------------------------------------------------------------------
// A reply altered in transit. A real server cannot be made to send a
// wrong verifier or checksum, so a tiny in-process proxy between the
// client and the real Ganesha damages one byte of a chosen reply; the
// context and every other reply are real.

/// What the proxy damages in the next accepted reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// The last byte of the reply verifier (the MIC's checksum).
    Verifier,
    /// A byte in the middle of the results (inside `databody_integ` or
    /// the `databody_priv` token).
    Body,
}

struct Tamper {
    addr: SocketAddr,
    armed: Arc<Mutex<Option<Damage>>>,
    damaged: Arc<AtomicU32>,
}

impl Tamper {
    /// Listens on `ip` and relays one connection to `server`.
    fn start(ip: Ipv4Addr, server: SocketAddr) -> Tamper {
        let listener = TcpListener::bind((ip, 0)).expect("proxy listens");
        let addr = listener.local_addr().expect("proxy address");
        let armed = Arc::new(Mutex::new(None));
        let damaged = Arc::new(AtomicU32::new(0));
        let (arm, count) = (Arc::clone(&armed), Arc::clone(&damaged));
        std::thread::spawn(move || {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            let Ok(upstream) = TcpStream::connect(server) else {
                return;
            };
            let (mut c_read, mut u_write) = match (client.try_clone(), upstream.try_clone()) {
                (Ok(c), Ok(u)) => (c, u),
                _ => return,
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut u_write);
                let _ = u_write.shutdown(std::net::Shutdown::Write);
            });
            relay_replies(upstream, client, &arm, &count);
        });
        Tamper {
            addr,
            armed,
            damaged,
        }
    }

    fn arm(&self, d: Damage) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(d);
    }
}

/// Copies records from the server to the client, damaging the next
/// accepted reply when armed.
fn relay_replies(
    mut from: TcpStream,
    mut to: TcpStream,
    armed: &Mutex<Option<Damage>>,
    damaged: &AtomicU32,
) {
    let mut asm = RecordAssembler::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if asm.feed(&buf[..n]).is_err() {
            break;
        }
        while let Some(rec) = asm.pop() {
            let mut data = rec.data;
            let damage = armed.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(d) = damage {
                match damage_reply(&data, d) {
                    Some(bad) => {
                        data = bad;
                        damaged.fetch_add(1, Ordering::Relaxed);
                    }
                    None => *armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(d),
                }
            }
            let mut out = Vec::with_capacity(data.len() + 4);
            write_record(&mut out, &data, 1 << 20);
            if to.write_all(&out).is_err() {
                return;
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// An accepted SUCCESS reply with one byte of it damaged, or None when
/// `data` is not such a reply.
fn damage_reply(data: &[u8], d: Damage) -> Option<Vec<u8>> {
    let (msg, payload) = RpcMessage::parse(data).ok()?;
    let MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
        verf,
        reply_data: AcceptedReplyData::Success,
    })) = &msg.body
    else {
        return None;
    };
    let mut verf = verf.clone().into_static();
    let mut body = payload.bytes.to_vec();
    match d {
        Damage::Verifier => {
            let mut mic = verf.body.as_bytes().to_vec();
            *mic.last_mut()? ^= 0x01;
            verf.body = Opaque::from(mic);
        }
        Damage::Body => {
            let mid = body.len() / 2;
            *body.get_mut(mid)? ^= 0x01;
        }
    }
    Some(RpcMessage::success_reply(msg.xid, verf).to_bytes_with_payload(&body))
}

#[test]
fn a_reply_altered_in_transit_is_refused_under_each_service() {
    if !can_run(
        "a_reply_altered_in_transit_is_refused_under_each_service",
        true,
    ) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::start();
    let proxy = Tamper::start(lab.client_ip, lab.ganesha.address);
    let conn = Connection::connect(proxy.addr, &lab.options()).expect("connect to the proxy");
    let mut refused = 0;
    for (service, name) in SERVICES {
        let (ctx, p) = lab.gss(&conn, &lab.machine, service);
        let owner = owner(&format!("trunkcheck-krb5-tamper-{name}"));
        exchange_id(&conn, &p, &owner, StateProtect4A::None).expect("an intact reply");
        let mut damages = vec![Damage::Verifier];
        // Under krb5 (no integrity) a damaged body is not detectable.
        if service != RpcGssService::rpc_gss_svc_none {
            damages.push(Damage::Body);
        }
        for d in damages {
            proxy.arm(d);
            let e = session::exchange_id(
                &conn,
                &p,
                &owner,
                ExchgId4Flags::default(),
                StateProtect4A::None,
            )
            .expect_err("a damaged reply is refused");
            eprintln!("{name}: {d:?} damaged: {e}");
            assert!(matches!(e, ClientError::Gss { .. }), "{name} {d:?}: {e}");
            assert!(!e.is_fatal());
            refused += 1;
        }
        // The connection and the context still work.
        exchange_id(&conn, &p, &owner, StateProtect4A::None).expect("intact again");
        assert_eq!(ctx.in_flight(), 0);
        conn.gss_destroy(&ctx).expect("destroyed");
    }
    assert_eq!(proxy.damaged.load(Ordering::Relaxed), refused);
    assert_eq!(refused, 5);
}

/// NFSv4.0 under each flavour: SETCLIENTID (with a callback listener),
/// SETCLIENTID_CONFIRM, OPEN + OPEN_CONFIRM, WRITE, READ, CLOSE, RENEW.
/// The client's callback listener accepts no RPCSEC_GSS; whatever Ganesha
/// does with the callback path of a krb5 client is printed.
#[test]
fn nfs40_clients_work_under_krb5_krb5i_and_krb5p() {
    if !can_run("nfs40_clients_work_under_krb5_krb5i_and_krb5p", true) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::start();
    let listener = CallbackListener::bind(SocketAddr::new(IpAddr::V4(lab.client_ip), 0), None)
        .expect("callback listener");
    for (service, name) in SERVICES {
        let conn = lab.connect();
        let (ctx, p) = lab.gss(&conn, &lab.machine, service);
        let o = ClientOwner::unique(&format!("v40-{name}"));
        let r = v40::setclientid(&conn, &p, &o.owner, o.verifier, &listener, NFS4_CALLBACK, 9)
            .expect("SETCLIENTID answered");
        let Setclientid4Res::Ok(ok) = r else {
            panic!("{name}: SETCLIENTID {r:?}")
        };
        assert_eq!(
            v40::setclientid_confirm(&conn, &p, ok.clientid, ok.setclientid_confirm)
                .expect("answered"),
            NfsStat4::NFS4_OK
        );
        let mut open = ops::root_path(name);
        open.push(ops::open_create(
            0,
            ops::state_owner(ok.clientid, b"v40-owner"),
            "v40-file",
        ));
        open.push(ops::getfh());
        let res = conn.compound(&p, 0, "open", open).expect("OPEN answered");
        assert_eq!(ops::first_failure(&res), None, "{name}: OPEN {res:?}");
        let opened = ops::opened(&res).expect("opened").clone();
        let fh = ops::fh(&res).expect("GETFH");
        let mut st = opened.stateid.clone();
        let mut seqid = 1;
        if opened.rflags.contains(Open4ResultFlags::CONFIRM) {
            let res = conn
                .compound(
                    &p,
                    0,
                    "confirm",
                    vec![ops::putfh(&fh), ops::open_confirm(st.clone(), seqid)],
                )
                .expect("OPEN_CONFIRM answered");
            st = ops::confirmed(&res).unwrap_or_else(|| panic!("OPEN_CONFIRM {res:?}"));
            seqid += 1;
        }
        let res = conn
            .compound(
                &p,
                0,
                "write",
                vec![
                    ops::putfh(&fh),
                    ops::write(st.clone(), 0, b"v4.0 under krb5"),
                ],
            )
            .expect("WRITE answered");
        assert!(ops::written(&res).is_some(), "{name}: WRITE {res:?}");
        let res = conn
            .compound(
                &p,
                0,
                "read",
                vec![ops::putfh(&fh), ops::read(st.clone(), 0, 100)],
            )
            .expect("READ answered");
        assert_eq!(
            ops::read_data(&res).map(|r| r.0),
            Some(b"v4.0 under krb5".to_vec())
        );
        let res = conn
            .compound(&p, 0, "close", vec![ops::putfh(&fh), ops::close(seqid, st)])
            .expect("CLOSE answered");
        assert!(ops::closed(&res).is_some(), "{name}: CLOSE {res:?}");
        assert_eq!(
            v40::renew(&conn, &p, ok.clientid).expect("answered"),
            NfsStat4::NFS4_OK
        );
        conn.gss_destroy(&ctx).expect("destroyed");
        assert_eq!(ctx.in_flight(), 0);
    }
    let got = listener
        .service()
        .wait_for(Duration::from_secs(2), |_| true);
    eprintln!(
        "callbacks on the listener: {:?}",
        listener
            .received()
            .iter()
            .map(|c| (c.flavor, c.procedure, c.ops.clone()))
            .collect::<Vec<_>>()
    );
    if let Some(c) = got {
        eprintln!("first callback: {c:?}");
    }
    eprintln!("ganesha log (GSS lines):\n{}", lab.gss_log());
}

/// The mean round trip of one call under each flavour and AUTH_SYS: a
/// SEQUENCE-only COMPOUND, and a 64 KiB WRITE (in each flavour's export,
/// AUTH_SYS in its own). Printed, not asserted (a loaded CI machine).
#[test]
fn the_cost_of_each_service_per_call() {
    if !can_run("the_cost_of_each_service_per_call", true) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::start();
    let rounds = 200;
    let chunk = vec![0x5au8; 64 * 1024];
    let writes = 40;
    let conn = lab.connect();
    let mut flavours: Vec<(&str, &str, Principal, Option<Arc<GssContext>>)> = vec![(
        "AUTH_SYS",
        "sys",
        Principal::sys(0, 0, "trunkcheck-krb5"),
        None,
    )];
    for (service, name) in SERVICES {
        let (ctx, p) = lab.gss(&conn, &lab.machine, service);
        flavours.push((name, name, p, Some(ctx)));
    }
    let mut table = Vec::new();
    for (name, export, p, ctx) in &flavours {
        let s = ready_session(&conn, p, &ClientOwner::unique(&format!("cost-{name}")));
        eprintln!(
            "{name}: BACKCHANNEL_CTL {:?}",
            s.backchannel_ctl(&conn, NFS4_CALLBACK).expect("answered")
        );
        let t = Instant::now();
        for _ in 0..rounds {
            let r = s.sequence(&conn).expect("SEQUENCE answered");
            assert_eq!(r.status(), NfsStat4::NFS4_OK);
        }
        let seq = t.elapsed() / rounds;
        let mut open = ops::root_path(export);
        open.push(ops::open_create(
            0,
            ops::state_owner(s.clientid(), b"cost"),
            "cost-file",
        ));
        open.push(ops::getfh());
        let res = s.compound(&conn, open).expect("OPEN answered");
        assert_eq!(ops::first_failure(&res), None, "{name}: OPEN {res:?}");
        let st = ops::opened(&res).expect("opened").stateid.clone();
        let fh = ops::fh(&res).expect("GETFH");
        let t = Instant::now();
        for i in 0..writes {
            let res = s
                .compound(
                    &conn,
                    vec![
                        ops::putfh(&fh),
                        ops::write(st.clone(), (i * chunk.len()) as u64, &chunk),
                    ],
                )
                .expect("WRITE answered");
            assert!(ops::written(&res).is_some(), "{name}: WRITE {res:?}");
        }
        let write = t.elapsed() / writes as u32;
        let _ = s.compound(&conn, vec![ops::putfh(&fh), ops::close(0, st)]);
        let _ = s.destroy_session(&conn);
        let _ = s.destroy_clientid(&conn);
        if let Some(ctx) = ctx {
            conn.gss_destroy(ctx).expect("destroyed");
        }
        table.push((*name, seq, write));
    }
    let base = table[0];
    for (name, seq, write) in &table {
        eprintln!(
            "{name:>8}: SEQUENCE {seq:>10.1?} ({:+.1} µs vs AUTH_SYS), 64 KiB WRITE {write:>10.1?} ({:+.1} µs, {:.0} MiB/s)",
            seq.as_secs_f64() * 1e6 - base.1.as_secs_f64() * 1e6,
            write.as_secs_f64() * 1e6 - base.2.as_secs_f64() * 1e6,
            64.0 / 1024.0 / write.as_secs_f64()
        );
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
