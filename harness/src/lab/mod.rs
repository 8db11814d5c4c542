//! Running a target: the built-in Ganesha launcher and external hooks.
//!
//! A [`Lab`] owns everything it starts. For a built-in target it
//! 1. creates a private directory `/tmp/trunkcheck-lab-<pid>-<n>/` with a
//!    marker file (it never reuses a directory it did not create, and sweeps
//!    stale ones whose process is dead);
//! 2. builds the network (see `link.rs`): a client namespace plus one
//!    namespace per server, all anonymous, so they vanish with the process;
//! 3. writes one `ganesha.conf` per server and starts `ganesha.nfsd` inside
//!    the server's namespace, from one long-lived supervisor thread with
//!    `PR_SET_PDEATHSIG(SIGKILL)`, so no instance outlives the harness;
//! 4. waits for readiness by NFS NULL calls (never a fixed sleep).
//!
//! Dropping the lab stops every instance (SIGTERM, then SIGKILL), removes
//! the directory and the namespaces. SIGINT and SIGTERM tear every live lab
//! down and exit with status 130.
//!
//! **Failover emulation.** Ganesha cannot take over another node's clients
//! at run time without dbus, so `failover(from, to)` emulates an IP
//! takeover: `from`'s instance is stopped and a new instance serves `from`'s
//! addresses (in `from`'s namespace) with `to`'s Server_Owner and
//! Server_Scope, `to`'s export directory, and `from`'s node id and recovery
//! root. `from`'s clients therefore find, at the same addresses, a server
//! claiming `to`'s identity that is in grace with their records. `start_server(from)`
//! ends the takeover. ([`Lab::servers`] keeps describing each server as
//! configured, not who serves its addresses during a takeover.) Ganesha's
//! `fs` recovery records are named by the client's address and owner
//! (`v4recov/node1/::ffff:127.0.0.101-(6:holder)`), so a reclaim is
//! recognised when it comes from the client address used before.
//!
//! **Where traffic flows.** Clients live in [`Lab::netns`]; their packets to
//! server `x` leave through the device [`Lab::link_device`]`(x)` of that
//! namespace (not `lo`), so a capture of every server's traffic opens the
//! `any` device inside [`Lab::netns`]. Each server can also reach the client
//! addresses (callbacks), but servers cannot reach each other.
//!
//! **Start times.** Ganesha derives client IDs from its start time in
//! seconds, so the lab never starts two instances within one wall-clock
//! second: a restart takes about a second for that reason alone.

mod cleanup;
pub mod ganesha;
pub mod guest;
mod hooks;
pub mod knfsd;
mod link;
pub mod probe;
pub mod realm;
#[cfg(test)]
mod tests;

pub use cleanup::{install_signal_teardown, sweep_stale, teardown_all_labs};

use crate::action::{Action, Unsupported};
use crate::netns::NetNs;
use crate::targets::{GaneshaSpec, KnfsdSpec, Launch, Target};
use cleanup::{
    add_pid, make_lab_dir, next_id, register, remove_lab_dir, remove_pid, shutting_down, signal,
    unregister_lab,
};
use ganesha::{Bind, InstanceConfig, Krb5Instance};
use link::Topology;
pub use realm::{ClientKind, LabRealm};
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long an instance gets to exit after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of the log quoted in errors.
const LOG_LINES: usize = 15;

/// What the harness knows about one running server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    /// The server's name in the target.
    pub name: String,
    /// Every address it answers on.
    pub addresses: Vec<SocketAddr>,
    /// The path to LOOKUP from the root filehandle.
    pub export: String,
    /// The lease the launcher configured (None: read it from the server).
    pub lease: Option<Duration>,
    /// The grace period the launcher configured.
    pub grace: Option<Duration>,
    /// The Server_Owner the launcher configured (built-in targets).
    pub server_owner: Option<String>,
    /// The Server_Scope the launcher configured (built-in targets).
    pub server_scope: Option<String>,
}

/// Why a lab could not start or an action failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The target cannot do this (no hook): the runner skips the scenario.
    #[error("unsupported: {0}")]
    Unsupported(Unsupported),
    /// No server of that name in the target.
    #[error("target {target} has no server named {server:?}")]
    UnknownServer {
        /// Target name.
        target: String,
        /// The name asked for.
        server: String,
    },
    /// `ganesha.nfsd` is not installed.
    #[error("ganesha.nfsd is not installed: apt-get install nfs-ganesha nfs-ganesha-vfs (or run scripts/setup.sh)")]
    GaneshaMissing,
    /// An FSAL plugin is not installed.
    #[error("{path} is missing: apt-get install {package}")]
    FsalMissing {
        /// The plugin file.
        path: PathBuf,
        /// The package providing it.
        package: &'static str,
    },
    /// The built-in launcher needs root.
    #[error("the built-in Ganesha launcher needs root (network namespaces, FSAL VFS); run as root or use an external target")]
    NotRoot,
    /// A file or system call failed.
    #[error("{step}: {source}")]
    Io {
        /// What the lab was doing.
        step: String,
        /// What the OS said.
        source: io::Error,
    },
    /// A helper command (`ip`, `tc`) failed.
    #[error("{step}: {command} failed: {detail}")]
    Command {
        /// What the lab was doing.
        step: String,
        /// The command.
        command: String,
        /// Status and stderr.
        detail: String,
    },
    /// A server did not accept connections in time.
    #[error("server {server}: no NFS NULL reply from {address} after {waited:?}; last log lines:\n{log}")]
    NotReady {
        /// Server name.
        server: String,
        /// The address polled.
        address: SocketAddr,
        /// How long the lab waited.
        waited: Duration,
        /// The end of the server's log.
        log: String,
    },
    /// ganesha.nfsd exited while starting.
    #[error(
        "server {server}: ganesha.nfsd exited while starting ({status}); last log lines:\n{log}"
    )]
    Exited {
        /// Server name.
        server: String,
        /// Its exit status.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// An external hook failed.
    #[error("server {server}: `{action}` hook {argv} failed: {detail}")]
    Hook {
        /// Server name.
        server: String,
        /// The action.
        action: Action,
        /// The hook's argv.
        argv: String,
        /// Status and output.
        detail: String,
    },
    /// A directory exists that this lab did not create.
    #[error("{path}: exists and was not created by this lab; refusing to reuse it")]
    NotOurs {
        /// The directory.
        path: PathBuf,
    },
    /// The action does not make sense in the lab's state.
    #[error("server {server}: {message}")]
    State {
        /// Server name.
        server: String,
        /// Why.
        message: String,
    },
}

// ---------------------------------------------------------------------------
// The supervisor: the one thread that spawns servers (PR_SET_PDEATHSIG is
// tied to the spawning thread, which must live as long as the lab).

type Job = Box<dyn FnOnce() + Send>;

struct Supervisor {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Supervisor {
    fn new() -> io::Result<Supervisor> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("trunkcheck-lab-supervisor".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })?;
        Ok(Supervisor {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    fn spawn(&self, mut cmd: Command) -> io::Result<Child> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(cmd.spawn());
        });
        self.jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("supervisor stopped"))?
            .send(job)
            .map_err(|_| io::Error::other("supervisor thread is gone"))?;
        rx.recv_timeout(Duration::from_secs(30))
            .map_err(|_| io::Error::other("supervisor did not answer"))?
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------

/// What currently serves a server's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The server's own instance.
    Own,
    /// A takeover instance with the identity of server `usize`.
    TakenOverBy(usize),
}

struct Instance {
    child: Child,
    role: Role,
    log: PathBuf,
}

struct Slot {
    running: Option<Instance>,
    cut: bool,
}

struct GaneshaLab {
    dir: PathBuf,
    net: Topology,
    supervisor: Supervisor,
    slots: Vec<Mutex<Slot>>,
    /// The wall-clock second of the last instance start: Ganesha derives
    /// client IDs from its start second, so no two starts share one.
    last_start: Mutex<u64>,
}

enum Kind {
    Ganesha(Box<GaneshaLab>),
    Knfsd(Box<knfsd::KnfsdLab>),
    External,
}

/// A running target: its servers, and the actions scenarios need.
pub struct Lab {
    id: u64,
    target: Target,
    servers: Vec<ServerInfo>,
    kind: Kind,
    /// The run's Kerberos realm (targets with `krb5:`), dropped after the
    /// servers.
    realm: Option<Arc<LabRealm>>,
    /// Why a target asking for a realm has none (a tool is missing).
    no_realm: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn io_err(step: impl Into<String>) -> impl FnOnce(io::Error) -> LabError {
    let step = step.into();
    move |source| LabError::Io { step, source }
}

/// The last `n` lines of a log file (reads at most its last 64 KiB).
fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut f) = fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Makes `cmd`'s process die with SIGKILL when the thread that spawns it
/// ends (the lab's supervisor: with the harness), and refuse to run if the
/// harness is already gone.
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl and getppid are async-signal-safe; the closure runs in
    // the child between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl: do not run orphaned
            // (re-parented to init or to a subreaper).
            if libc::getppid() != parent {
                return Err(io::Error::other("parent exited"));
            }
            Ok(())
        });
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Lab {
    /// Starts `target`: launches built-in servers and waits until every
    /// address accepts connections; for an external target, checks that
    /// every address answers.
    pub fn start(target: &Target) -> Result<Lab, LabError> {
        let id = next_id();
        let servers: Vec<ServerInfo> = target
            .servers
            .iter()
            .map(|s| ServerInfo {
                name: s.name.clone(),
                addresses: s.addresses.clone(),
                export: s.export.clone(),
                lease: s
                    .ganesha
                    .as_ref()
                    .map(GaneshaSpec::lease_time)
                    .or(s.knfsd.as_ref().map(KnfsdSpec::lease_time)),
                grace: s
                    .ganesha
                    .as_ref()
                    .map(GaneshaSpec::grace_time)
                    .or(s.knfsd.as_ref().map(KnfsdSpec::grace_time)),
                // knfsd declares its host name as owner and scope.
                server_owner: s
                    .ganesha
                    .as_ref()
                    .map(|g| g.server_owner.clone())
                    .or(s.knfsd.as_ref().map(|k| k.hostname.clone())),
                server_scope: s
                    .ganesha
                    .as_ref()
                    .map(|g| g.server_scope.clone())
                    .or(s.knfsd.as_ref().map(|k| k.hostname.clone())),
            })
            .collect();
        match target.launch {
            Launch::External => {
                let lab = Lab {
                    id,
                    target: target.clone(),
                    servers,
                    kind: Kind::External,
                    realm: None,
                    no_realm: None,
                };
                for s in &target.servers {
                    lab.wait_external(&s.name, &s.addresses)?;
                }
                Ok(lab)
            }
            Launch::Ganesha => Lab::start_ganesha(id, target, servers),
            Launch::Knfsd => Lab::start_knfsd(id, target, servers),
        }
    }

    fn start_knfsd(id: u64, target: &Target, servers: Vec<ServerInfo>) -> Result<Lab, LabError> {
        knfsd::check_host()?;
        install_signal_teardown();
        sweep_stale();
        let dir = make_lab_dir()?;
        register(id, &dir);
        // The guests' disks carry their keytabs: the realm comes first.
        let (realm, no_realm) = Lab::start_realm(target, &dir);
        match knfsd::KnfsdLab::start(id, target, &dir, realm.as_deref()) {
            Ok(k) => Ok(Lab {
                id,
                target: target.clone(),
                servers,
                kind: Kind::Knfsd(Box::new(k)),
                realm,
                no_realm,
            }),
            Err(e) => {
                // What was started dies with the supervisor (dropped with
                // the partial lab inside `start`); the directory goes here.
                unregister_lab(id);
                remove_lab_dir(&dir);
                Err(e)
            }
        }
    }

    fn start_ganesha(id: u64, target: &Target, servers: Vec<ServerInfo>) -> Result<Lab, LabError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(LabError::NotRoot);
        }
        if find_on_path("ganesha.nfsd").is_none() {
            return Err(LabError::GaneshaMissing);
        }
        for s in &target.servers {
            if let Some(g) = &s.ganesha {
                let plugin = ganesha::fsal_plugin(g.fsal, Path::new(ganesha::PLUGINS_DIR));
                if !plugin.is_file() {
                    return Err(LabError::FsalMissing {
                        path: plugin,
                        package: ganesha::fsal_package(g.fsal),
                    });
                }
            }
        }
        install_signal_teardown();
        sweep_stale();
        let dir = make_lab_dir()?;
        register(id, &dir);
        // From here on, dropping `lab` cleans up whatever was made.
        let result = (|| {
            let addrs: Vec<Vec<SocketAddr>> =
                target.servers.iter().map(|s| s.addresses.clone()).collect();
            let net = link::build(&addrs, &target.client_addresses)?;
            let supervisor = Supervisor::new().map_err(io_err("starting the supervisor thread"))?;
            for s in &target.servers {
                if let Some(g) = &s.ganesha {
                    for sub in [
                        format!("recovery-{}", g.recovery),
                        format!("data-{}", g.data),
                    ] {
                        let p = dir.join("shared").join(sub);
                        fs::create_dir_all(&p)
                            .map_err(io_err(format!("creating {}", p.display())))?;
                        // Scenarios act as several AUTH_SYS principals: the
                        // export must let any of them create files (sticky,
                        // like /tmp).
                        if p.ends_with(format!("data-{}", g.data)) {
                            use std::os::unix::fs::PermissionsExt;
                            fs::set_permissions(&p, fs::Permissions::from_mode(0o1777))
                                .map_err(io_err(format!("chmod {}", p.display())))?;
                        }
                    }
                }
            }
            Ok::<_, LabError>(GaneshaLab {
                dir: dir.clone(),
                net,
                supervisor,
                slots: target
                    .servers
                    .iter()
                    .map(|_| {
                        Mutex::new(Slot {
                            running: None,
                            cut: false,
                        })
                    })
                    .collect(),
                last_start: Mutex::new(0),
            })
        })();
        let g = match result {
            Ok(g) => g,
            Err(e) => {
                unregister_lab(id);
                remove_lab_dir(&dir);
                return Err(e);
            }
        };
        // The realm comes up before the servers (they read its keytabs).
        let (realm, no_realm) = Lab::start_realm(target, &dir);
        let lab = Lab {
            id,
            target: target.clone(),
            servers,
            kind: Kind::Ganesha(Box::new(g)),
            realm,
            no_realm,
        };
        for i in 0..lab.target.servers.len() {
            lab.launch(i, Role::Own)?;
        }
        Ok(lab)
    }

    /// Starts the target's realm, if it asks for one: the realm, or why
    /// there is none (a machine without the Kerberos tools runs the lab
    /// without one, and scenarios needing it are skipped with the reason).
    fn start_realm(target: &Target, dir: &Path) -> (Option<Arc<LabRealm>>, Option<String>) {
        match target.krb5 {
            None => (None, None),
            Some(_) => match LabRealm::start(target, dir) {
                Ok(r) => (Some(Arc::new(r)), None),
                Err(why) => (None, Some(why)),
            },
        }
    }

    /// The run's Kerberos realm, if the target has one and it started.
    pub fn realm(&self) -> Option<&Arc<LabRealm>> {
        self.realm.as_ref()
    }

    /// Why the target has no realm: it asks for none, or it could not start.
    pub fn no_realm(&self) -> String {
        match &self.no_realm {
            Some(why) => format!("the target's Kerberos realm could not start: {why}"),
            None => format!(
                "target {} has no Kerberos realm (a built-in Ganesha or knfsd target with `krb5:`)",
                self.target.name
            ),
        }
    }

    /// The client namespace (None for external targets): open client
    /// sockets inside it with [`NetNs::run`].
    pub fn netns(&self) -> Option<&NetNs> {
        match &self.kind {
            Kind::Ganesha(g) => Some(&g.net.lab),
            Kind::Knfsd(k) => Some(&k.ns),
            Kind::External => None,
        }
    }

    /// The namespace server `name` runs in (built-in targets): for captures
    /// on the server's side of its link (`eth0`) or for debugging. Clients
    /// belong in [`Lab::netns`].
    pub fn server_netns(&self, name: &str) -> Option<&NetNs> {
        let g = self.ganesha()?;
        let i = self.index(name).ok()?;
        Some(&g.net.servers[i].ns)
    }

    /// The client-namespace device that carries server `name`'s traffic
    /// (`tcsrvN`); capture on `any` in [`Lab::netns`] to see every server.
    pub fn link_device(&self, name: &str) -> Option<&str> {
        let g = self.ganesha()?;
        let i = self.index(name).ok()?;
        Some(&g.net.servers[i].lab_dev)
    }

    /// A path naming the client namespace for `nsenter --net=PATH`, valid
    /// while this process lives.
    pub fn netns_path(&self) -> Option<String> {
        match &self.kind {
            Kind::Ganesha(g) => Some(g.net.lab_path()),
            Kind::Knfsd(k) => Some(k.ns_path()),
            Kind::External => None,
        }
    }

    /// The first octet of the per-trial client addresses of a built-in lab
    /// (`127` in the Ganesha lab's loopback network); `None` for an
    /// external target, whose trials use the target's client addresses.
    pub fn client_first_octet(&self) -> Option<u8> {
        match &self.kind {
            Kind::Ganesha(_) => Some(127),
            // Routed to the guests, which must see real client addresses.
            Kind::Knfsd(_) => Some(10),
            Kind::External => None,
        }
    }

    /// The interfaces of [`Lab::netns`] that carry server `name`'s traffic,
    /// each packet once (built-in labs: `any`, since the client namespace
    /// holds only the links to its servers besides `lo`: veth pairs to the
    /// Ganesha namespaces, tap devices of the knfsd guests).
    pub fn capture_interfaces(&self, _name: &str) -> Vec<String> {
        vec!["any".to_string()]
    }

    /// What the target's kind of server cannot be, for the reason of a
    /// scenario skipped for want of servers.
    pub fn role_note(&self) -> Option<String> {
        matches!(self.kind, Kind::Knfsd(_)).then(|| {
            "Linux knfsd declares its host name as server owner and as server scope, \
             so no knfsd can be a cluster peer of the same scope with another owner"
                .to_string()
        })
    }

    /// The lab's private directory (built-in targets).
    pub fn dir(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Ganesha(g) => Some(&g.dir),
            Kind::Knfsd(k) => Some(&k.dir),
            Kind::External => None,
        }
    }

    /// The target this lab runs.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The servers and what the launcher knows about them.
    pub fn servers(&self) -> &[ServerInfo] {
        &self.servers
    }

    /// The server of that name.
    pub fn server(&self, name: &str) -> Option<&ServerInfo> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// Addresses clients may bind as their source address.
    pub fn client_addresses(&self) -> Vec<IpAddr> {
        self.target.client_addresses.clone()
    }

    /// The process id of the instance serving `name` now (built-in targets).
    pub fn pid(&self, name: &str) -> Option<u32> {
        let i = self.index(name).ok()?;
        let g = match &self.kind {
            Kind::Ganesha(g) => g,
            Kind::Knfsd(k) => return k.pid(i),
            Kind::External => return None,
        };
        lock(&g.slots[i]).running.as_ref().map(|r| r.child.id())
    }

    fn index(&self, name: &str) -> Result<usize, LabError> {
        self.target
            .servers
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| LabError::UnknownServer {
                target: self.target.name.clone(),
                server: name.to_string(),
            })
    }

    fn ganesha(&self) -> Option<&GaneshaLab> {
        match &self.kind {
            Kind::Ganesha(g) => Some(g),
            _ => None,
        }
    }

    /// An action the Ganesha launcher does not do: a knfsd guest's, or an
    /// external server's hook.
    fn not_ganesha(&self, name: &str, action: Action) -> Result<(), LabError> {
        match &self.kind {
            Kind::Knfsd(k) => k.act(&self.target.name, self.index(name)?, &action),
            _ => self.external(name, action),
        }
    }

    // --- built-in instances ------------------------------------------------

    /// Starts the instance for server `i` in `role` and waits until it is
    /// ready. The slot must be empty.
    fn launch(&self, i: usize, role: Role) -> Result<(), LabError> {
        let Some(g) = self.ganesha() else {
            return Ok(());
        };
        if shutting_down() {
            return Err(LabError::State {
                server: self.target.servers[i].name.clone(),
                message: "the harness is shutting down".into(),
            });
        }
        let server = &self.target.servers[i];
        let own = server.ganesha.as_ref().ok_or_else(|| LabError::State {
            server: server.name.clone(),
            message: "not a built-in Ganesha server".into(),
        })?;
        let (spec, inst_name) = match role {
            Role::Own => (own.clone(), server.name.clone()),
            Role::TakenOverBy(j) => {
                let peer = &self.target.servers[j];
                let p = peer.ganesha.as_ref().ok_or_else(|| LabError::State {
                    server: peer.name.clone(),
                    message: "not a built-in Ganesha server".into(),
                })?;
                (
                    GaneshaSpec {
                        server_owner: p.server_owner.clone(),
                        server_scope: p.server_scope.clone(),
                        data: p.data.clone(),
                        ..own.clone()
                    },
                    format!("{}.takeover-by-{}", server.name, peer.name),
                )
            }
        };
        let inst_dir = g.dir.join(&inst_name);
        fs::create_dir_all(&inst_dir)
            .map_err(io_err(format!("creating {}", inst_dir.display())))?;
        let bind = match server.addresses.as_slice() {
            [SocketAddr::V4(one)] => Bind::Addr(*one.ip()),
            _ => Bind::Any,
        };
        let config = InstanceConfig {
            bind,
            port: server.addresses[0].port(),
            recovery_root: g
                .dir
                .join("shared")
                .join(format!("recovery-{}", spec.recovery)),
            data_dir: g.dir.join("shared").join(format!("data-{}", spec.data)),
            pseudo: server.export.clone(),
            plugins_dir: PathBuf::from(ganesha::PLUGINS_DIR),
            spec: spec.clone(),
            krb5: None,
        };
        let mut config = config;
        let mut krb5_env = Vec::new();
        if let Some(r) = &self.realm {
            // The identity served names the principal (a takeover serves
            // the peer's).
            let who = match role {
                Role::Own => i,
                Role::TakenOverBy(j) => j,
            };
            if let (Some(host), Some(keytab)) = (r.host(who), r.keytab(who)) {
                let ccache_dir = inst_dir.join("ccache");
                fs::create_dir_all(&ccache_dir)
                    .map_err(io_err(format!("creating {}", ccache_dir.display())))?;
                let idmap = inst_dir.join("idmapd.conf");
                fs::write(&idmap, ganesha::idmap_conf(r.kdc().realm()))
                    .map_err(io_err(format!("writing {}", idmap.display())))?;
                krb5_env = r.kdc().server_env(keytab);
                config.krb5 = Some(Krb5Instance {
                    host: host.to_string(),
                    keytab: keytab.path.clone(),
                    ccache_dir,
                    idmap,
                });
            }
        }
        let conf = inst_dir.join("ganesha.conf");
        fs::write(&conf, ganesha::render(&config))
            .map_err(io_err(format!("writing {}", conf.display())))?;
        let log = inst_dir.join("ganesha.log");
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(inst_dir.join("stdout.log"))
            .map_err(io_err(format!(
                "creating {}",
                inst_dir.join("stdout.log").display()
            )))?;
        let err = out
            .try_clone()
            .map_err(io_err("duplicating a descriptor"))?;

        // One start per wall-clock second across the lab (client IDs embed it).
        {
            let mut last = lock(&g.last_start);
            let deadline = Instant::now() + Duration::from_secs(2);
            while now_secs() <= *last && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            *last = now_secs();
        }

        let mut cmd = g.net.servers[i].ns.command("ganesha.nfsd");
        cmd.arg("-F")
            .arg("-f")
            .arg(&conf)
            .arg("-L")
            .arg(&log)
            .arg("-p")
            .arg(inst_dir.join("ganesha.pid"))
            .args(["-N", "NIV_EVENT", "-I"])
            .arg(spec.node_id.to_string())
            .envs(krb5_env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        die_with_parent(&mut cmd);
        let child = g.supervisor.spawn(cmd).map_err(io_err(format!(
            "server {}: starting ganesha.nfsd",
            server.name
        )))?;
        let pid = child.id() as i32;
        add_pid(self.id, pid as u32);
        lock(&g.slots[i]).running = Some(Instance {
            child,
            role,
            log: log.clone(),
        });
        self.wait_ready(i, &log)
    }

    /// Polls the server's addresses from inside its own namespace (so a cut
    /// link does not matter) until each answers an NFS NULL call.
    fn wait_ready(&self, i: usize, log: &Path) -> Result<(), LabError> {
        let Some(g) = self.ganesha() else {
            return Ok(());
        };
        let server = &self.target.servers[i];
        let started = Instant::now();
        let timeout = self.target.ready_timeout;
        for &addr in &server.addresses {
            loop {
                {
                    let mut slot = lock(&g.slots[i]);
                    let exited = match slot.running.as_mut() {
                        Some(inst) => inst.child.try_wait().ok().flatten(),
                        None => None,
                    };
                    if let Some(status) = exited {
                        if let Some(inst) = slot.running.take() {
                            self.unregister(inst.child.id());
                        }
                        // Early failures may only reach stdout/stderr.
                        let mut lines = tail(log, LOG_LINES);
                        if let Some(dir) = log.parent() {
                            lines.extend(tail(&dir.join("stdout.log"), LOG_LINES));
                        }
                        return Err(LabError::Exited {
                            server: server.name.clone(),
                            status: status.to_string(),
                            log: lines.join("\n"),
                        });
                    }
                }
                let ns = Some(&g.net.servers[i].ns);
                if probe::nfs_null(addr, None, ns, Duration::from_millis(300)).is_ok() {
                    break;
                }
                if started.elapsed() >= timeout {
                    return Err(LabError::NotReady {
                        server: server.name.clone(),
                        address: addr,
                        waited: started.elapsed(),
                        log: tail(log, LOG_LINES).join("\n"),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    fn unregister(&self, pid: u32) {
        remove_pid(self.id, pid);
    }

    /// Stops the instance in slot `i` (SIGTERM, or SIGKILL when `kill`).
    fn halt(&self, i: usize, kill: bool) -> Result<Option<Role>, LabError> {
        let Some(g) = self.ganesha() else {
            return Ok(None);
        };
        let Some(mut inst) = lock(&g.slots[i]).running.take() else {
            return Ok(None);
        };
        let pid = inst.child.id() as i32;
        signal(pid, if kill { libc::SIGKILL } else { libc::SIGTERM });
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match inst.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = inst.child.kill();
                    let _ = inst.child.wait();
                    break;
                }
            }
        }
        self.unregister(pid as u32);
        Ok(Some(inst.role))
    }

    // --- actions ----------------------------------------------------------

    /// Does `action` on `server`, whichever way the target is controlled.
    pub fn act(&self, server: &str, action: &Action) -> Result<(), LabError> {
        match action {
            Action::Start => self.start_server(server),
            Action::Stop => self.stop(server),
            Action::Restart => self.restart(server),
            Action::Crash => self.crash(server),
            Action::CutLink => self.cut_link(server),
            Action::RestoreLink => self.restore_link(server),
            Action::Failover { to } => self.failover(server, to),
        }
    }

    /// An external target's action: its hook, then (for actions that
    /// bring a server up) the wait until it accepts connections.
    fn external(&self, name: &str, action: Action) -> Result<(), LabError> {
        let i = self.index(name)?;
        let server = &self.target.servers[i];
        let peer_spec = match action.peer() {
            Some(p) => Some(&self.target.servers[self.index(p)?]),
            None => None,
        };
        let argv = server.hooks.get(&action).ok_or_else(|| {
            LabError::Unsupported(Unsupported {
                target: self.target.name.clone(),
                action: action.clone(),
                server: name.to_string(),
            })
        })?;
        hooks::run(&self.target, &action, argv, server, peer_spec)?;
        match action {
            Action::Start | Action::Restart | Action::Crash | Action::Failover { .. } => {
                self.wait_external(name, &server.addresses)
            }
            _ => Ok(()),
        }
    }

    /// Waits until every address of an external server answers an NFS
    /// NULL call (a TCP accept is not enough behind NAT or a proxy).
    fn wait_external(&self, name: &str, addresses: &[SocketAddr]) -> Result<(), LabError> {
        let started = Instant::now();
        for &addr in addresses {
            let left = self.target.ready_timeout.saturating_sub(started.elapsed());
            probe::wait_nfs_null(addr, None, None, left, || None).map_err(|e| {
                LabError::NotReady {
                    server: name.to_string(),
                    address: addr,
                    waited: started.elapsed(),
                    log: format!("no NFS NULL reply: {e} (external server: see its own logs)"),
                }
            })?;
        }
        Ok(())
    }

    /// Clean restart: SIGTERM, wait for exit, start again, wait ready. The
    /// same instance role (own or takeover) comes back.
    pub fn restart(&self, name: &str) -> Result<(), LabError> {
        if self.ganesha().is_none() {
            return self.not_ganesha(name, Action::Restart);
        }
        let i = self.index(name)?;
        let role = self.halt(i, false)?.unwrap_or(Role::Own);
        self.launch(i, role)
    }

    /// Crash: SIGKILL (no clean shutdown), then start again and wait ready.
    pub fn crash(&self, name: &str) -> Result<(), LabError> {
        if self.ganesha().is_none() {
            return self.not_ganesha(name, Action::Crash);
        }
        let i = self.index(name)?;
        let role = self.halt(i, true)?.unwrap_or(Role::Own);
        self.launch(i, role)
    }

    /// Stops the server cleanly (no-op if stopped).
    pub fn stop(&self, name: &str) -> Result<(), LabError> {
        if self.ganesha().is_none() {
            return self.not_ganesha(name, Action::Stop);
        }
        let i = self.index(name)?;
        self.halt(i, false).map(|_| ())
    }

    /// Starts the server's own instance (ending a takeover of its
    /// addresses); no-op if its own instance runs. (Named `start_server`
    /// because `Lab::start` starts the whole lab.)
    pub fn start_server(&self, name: &str) -> Result<(), LabError> {
        let Some(g) = self.ganesha() else {
            return self.not_ganesha(name, Action::Start);
        };
        let i = self.index(name)?;
        let role = lock(&g.slots[i]).running.as_ref().map(|r| r.role);
        match role {
            Some(Role::Own) => Ok(()),
            Some(Role::TakenOverBy(_)) => {
                self.halt(i, false)?;
                self.launch(i, Role::Own)
            }
            None => self.launch(i, Role::Own),
        }
    }

    /// Fails `from` over to `to` (see the module documentation for the
    /// emulation): afterwards `from`'s addresses answer with `to`'s
    /// Server_Owner and Server_Scope, in grace with `from`'s records.
    pub fn failover(&self, from: &str, to: &str) -> Result<(), LabError> {
        if self.ganesha().is_none() {
            return self.not_ganesha(from, Action::Failover { to: to.to_string() });
        }
        let i = self.index(from)?;
        let j = self.index(to)?;
        if i == j {
            return Err(LabError::State {
                server: from.to_string(),
                message: "cannot fail over to itself".into(),
            });
        }
        self.halt(i, false)?;
        self.launch(i, Role::TakenOverBy(j))
    }

    /// Drops every packet to and from the server's addresses, silently.
    pub fn cut_link(&self, name: &str) -> Result<(), LabError> {
        let Some(g) = self.ganesha() else {
            return self.not_ganesha(name, Action::CutLink);
        };
        let i = self.index(name)?;
        let mut slot = lock(&g.slots[i]);
        if !slot.cut {
            link::cut(&g.net.lab, &g.net.servers[i], name)?;
            slot.cut = true;
        }
        Ok(())
    }

    /// Lets packets through again after [`Lab::cut_link`].
    pub fn restore_link(&self, name: &str) -> Result<(), LabError> {
        let Some(g) = self.ganesha() else {
            return self.not_ganesha(name, Action::RestoreLink);
        };
        let i = self.index(name)?;
        let mut slot = lock(&g.slots[i]);
        if slot.cut {
            link::restore(&g.net.lab, &g.net.servers[i], name)?;
            slot.cut = false;
        }
        Ok(())
    }

    /// The last `n` lines of the log of the instance serving `name`.
    pub fn log_tail(&self, name: &str, n: usize) -> Result<Vec<String>, LabError> {
        if let Kind::Knfsd(k) = &self.kind {
            let console = k.console(self.index(name)?);
            return Ok(console.map(|p| tail(&p, n)).unwrap_or_default());
        }
        let Some(g) = self.ganesha() else {
            return Err(LabError::State {
                server: name.to_string(),
                message: "an external server keeps its own logs".into(),
            });
        };
        let i = self.index(name)?;
        let slot = lock(&g.slots[i]);
        let path = match &slot.running {
            Some(inst) => inst.log.clone(),
            None => g.dir.join(name).join("ganesha.log"),
        };
        Ok(tail(&path, n))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Kind::Knfsd(k) = &self.kind {
            k.shutdown();
            remove_lab_dir(&k.dir);
        }
        if let Kind::Ganesha(g) = &self.kind {
            // SIGTERM everything first, then wait for each.
            let mut children: Vec<Instance> = g
                .slots
                .iter()
                .filter_map(|s| lock(s).running.take())
                .collect();
            for c in &children {
                signal(c.child.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + STOP_TIMEOUT;
            for c in &mut children {
                loop {
                    match c.child.try_wait() {
                        Ok(Some(_)) => break,
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(20))
                        }
                        _ => {
                            let _ = c.child.kill();
                            let _ = c.child.wait();
                            break;
                        }
                    }
                }
            }
            remove_lab_dir(&g.dir);
        }
        unregister_lab(self.id);
    }
}
