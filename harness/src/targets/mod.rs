//! Target files: the servers under test, described in YAML.
//!
//! A target file names the servers, the addresses each one answers on, the
//! export to LOOKUP, what the operator asserts about them (which servers share
//! a server scope), and how to control them. There are two kinds:
//!
//! - **external** targets (the user's own servers), controlled by optional
//!   hooks: argv lists run without a shell (`restart: [ssh, node1, systemctl,
//!   restart, nfs-ganesha]`), with `TRUNKCHECK_*` variables in their
//!   environment. An action whose hook is missing is
//!   [`crate::lab::LabError::Unsupported`], which the runner reports as a skip;
//! - **built-in Ganesha** targets (`launch: ganesha`): the harness writes one
//!   NFS-Ganesha configuration per server and runs every instance in private
//!   network namespaces it makes (see [`crate::lab::Lab`]);
//! - **built-in Linux knfsd** targets (`launch: knfsd`): one QEMU guest per
//!   server, booted from the Debian kernel and nfs-utils packages, one NIC
//!   per address, on tap devices in a namespace the harness makes.
//!
//! The profiles shipped with trunkcheck live in `suites/targets/*.yaml` and
//! are compiled into the binary ([`Target::builtin`]).
//!
//! Safety: a target naming an address outside `127.0.0.0/8` and `::1` is
//! refused unless the caller explicitly allows remote addresses
//! (`--allow-remote`), and values from files are never interpolated into a
//! shell string or into a Ganesha configuration without validation.

#![deny(missing_docs)]

use crate::action::{Action, Unsupported};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The NFS port servers listen on when an address names no port.
pub const NFS_PORT: u16 = 2049;

/// The built-in profiles: (name, YAML text), compiled into the binary.
const BUILTIN: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../../suites/targets/default.yaml"),
    ),
    (
        "two-addresses",
        include_str!("../../../suites/targets/two-addresses.yaml"),
    ),
    (
        "cluster",
        include_str!("../../../suites/targets/cluster.yaml"),
    ),
    (
        "unrelated",
        include_str!("../../../suites/targets/unrelated.yaml"),
    ),
    ("liar", include_str!("../../../suites/targets/liar.yaml")),
    ("knfsd", include_str!("../../../suites/targets/knfsd.yaml")),
    (
        "restartable",
        include_str!("../../../suites/targets/restartable.yaml"),
    ),
];

/// A system under test: servers, their addresses, assertions and controls.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Short name (`default`, or the file's `name:`).
    pub name: String,
    /// One line saying what the target is.
    pub description: String,
    /// Who starts the servers: the user (external) or the built-in launcher.
    pub launch: Launch,
    /// The servers, in file order.
    pub servers: Vec<ServerSpec>,
    /// Operator assertions: groups of server names that share a server scope.
    pub same_scope: Vec<Vec<String>>,
    /// Addresses the harness's clients may bind as their source address.
    pub client_addresses: Vec<IpAddr>,
    /// How long a server may take to accept connections after a start.
    pub ready_timeout: Duration,
    /// How long one hook may run before it is killed.
    pub hook_timeout: Duration,
    /// Interfaces trial captures listen on for servers that name none
    /// (empty: the interface the route to each server address uses).
    pub capture: Vec<String>,
    /// Where the target was read from (a file, or `builtin:NAME`).
    pub origin: String,
    /// The directory of the target file (`${target_dir}` in hooks).
    pub dir: Option<PathBuf>,
    /// A Kerberos realm the built-in launcher starts for the run (None: the
    /// target has no realm and scenarios needing krb5 are skipped).
    pub krb5: Option<Krb5Spec>,
}

/// The run's Kerberos realm (built-in Ganesha and knfsd targets only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Krb5Spec {
    /// How servers' GSS service principals are named.
    #[serde(default)]
    pub names: ServiceNames,
}

/// How the launcher names the servers' `nfs/HOST` principals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceNames {
    /// Servers of one scope share one principal (`nfs/SCOPE.DOMAIN`), as
    /// RFC 8881 §2.10.4 recommends.
    #[default]
    PerScope,
    /// Each server has its own (`nfs/NAME.DOMAIN`), even within a scope.
    PerServer,
}

/// Who starts and controls a target's servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launch {
    /// The user's servers, controlled (if at all) by hooks.
    External,
    /// NFS-Ganesha instances started by the harness in its own namespaces.
    Ganesha,
    /// Linux knfsd in QEMU guests started by the harness.
    Knfsd,
}

/// One server: one identity reachable at one or more addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSpec {
    /// Name used by scenarios and actions (`a`, `node1`).
    pub name: String,
    /// Every address the server answers on.
    pub addresses: Vec<SocketAddr>,
    /// The path to LOOKUP from the root filehandle, e.g. `/export`.
    pub export: String,
    /// Control hooks (external targets only): its own, else the target's.
    pub hooks: Hooks,
    /// Interfaces a trial's capture listens on for this server (empty: the
    /// target's `capture`, else the route's interface).
    pub capture: Vec<String>,
    /// How the built-in launcher runs it (Ganesha targets only).
    pub ganesha: Option<GaneshaSpec>,
    /// How the built-in launcher runs it (knfsd targets only).
    pub knfsd: Option<KnfsdSpec>,
    /// Referrals in its export: the knfsd launcher makes them; on an
    /// external target they are the operator's assertion.
    pub referrals: Vec<Referral>,
}

/// A referral: a directory of a server's export that is the root of an
/// absent file system, whose fs_locations name another server of the
/// target (RFC 8881 §11.15; RFC 7530 §8.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    /// The referral point, relative to the export (`ref-c`, `a/b`).
    pub path: String,
    /// The server of the target its fs_locations lead to.
    pub to: String,
}

/// How the built-in launcher runs one Linux knfsd server (a QEMU guest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnfsdSpec {
    /// The guest's host name: knfsd declares it as server owner
    /// (so_major_id) and as server scope.
    pub hostname: String,
    /// `/proc/fs/nfsd/nfsv4leasetime`, seconds (knfsd takes 10 to 3600).
    pub lease: u32,
    /// `/proc/fs/nfsd/nfsv4gracetime`, seconds (knfsd takes 10 to 3600).
    pub grace: u32,
    /// knfsd threads (`rpc.nfsd N`).
    pub threads: u32,
}

impl KnfsdSpec {
    /// The lease as a duration.
    pub fn lease_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.lease))
    }

    /// The grace period as a duration.
    pub fn grace_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.grace))
    }
}

/// Control hooks of an external server: argv lists, run without a shell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Starts a stopped server.
    pub start: Option<Vec<String>>,
    /// Stops the server cleanly.
    pub stop: Option<Vec<String>>,
    /// Clean restart (the server keeps its stable storage).
    pub restart: Option<Vec<String>>,
    /// Crash and come back (no clean shutdown).
    pub crash: Option<Vec<String>>,
    /// Moves the server's addresses to the peer in `TRUNKCHECK_PEER`.
    pub failover: Option<Vec<String>>,
    /// Drops every packet to and from the server silently.
    pub cut_link: Option<Vec<String>>,
    /// Undoes `cut_link`.
    pub restore_link: Option<Vec<String>>,
}

impl Hooks {
    /// The argv of the hook for `action`, if the target has one.
    pub fn get(&self, action: &Action) -> Option<&[String]> {
        match action {
            Action::Start => self.start.as_deref(),
            Action::Stop => self.stop.as_deref(),
            Action::Restart => self.restart.as_deref(),
            Action::Crash => self.crash.as_deref(),
            Action::Failover { .. } => self.failover.as_deref(),
            Action::CutLink => self.cut_link.as_deref(),
            Action::RestoreLink => self.restore_link.as_deref(),
        }
    }

    /// These hooks, each missing one taken from `defaults`.
    fn or(self, defaults: &Hooks) -> Hooks {
        let pick = |own: Option<Vec<String>>, d: &Option<Vec<String>>| own.or_else(|| d.clone());
        Hooks {
            start: pick(self.start, &defaults.start),
            stop: pick(self.stop, &defaults.stop),
            restart: pick(self.restart, &defaults.restart),
            crash: pick(self.crash, &defaults.crash),
            failover: pick(self.failover, &defaults.failover),
            cut_link: pick(self.cut_link, &defaults.cut_link),
            restore_link: pick(self.restore_link, &defaults.restore_link),
        }
    }

    /// Every hook by its key in the file.
    fn all(&self) -> [(&'static str, Option<&[String]>); 7] {
        [
            ("start", self.start.as_deref()),
            ("stop", self.stop.as_deref()),
            ("restart", self.restart.as_deref()),
            ("crash", self.crash.as_deref()),
            ("failover", self.failover.as_deref()),
            ("cut_link", self.cut_link.as_deref()),
            ("restore_link", self.restore_link.as_deref()),
        ]
    }

    fn is_empty(&self) -> bool {
        self.all().iter().all(|(_, h)| h.is_none())
    }
}

/// The Ganesha FSAL an instance exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsal {
    /// A directory of the host filesystem; files survive restarts.
    Vfs,
    /// In memory; everything is lost on restart.
    Mem,
}

/// How the built-in launcher runs one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GaneshaSpec {
    /// `Server_Owner` (eir_server_owner.so_major_id).
    pub server_owner: String,
    /// `Server_Scope` (eir_server_scope; Ganesha appends a NUL byte).
    pub server_scope: String,
    /// The exported filesystem.
    pub fsal: Fsal,
    /// `Lease_Lifetime` in seconds.
    pub lease: u32,
    /// `Grace_Period` in seconds.
    pub grace: u32,
    /// `-I NODEID`: names this node's records under the recovery root.
    pub node_id: u32,
    /// Name of the recovery root; servers naming the same one share it.
    pub recovery: String,
    /// Name of the exported directory; servers naming the same one share it.
    pub data: String,
    /// NFSv4 minor versions offered.
    pub minor_versions: Vec<u8>,
}

impl GaneshaSpec {
    /// The lease as a duration.
    pub fn lease_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.lease))
    }

    /// The grace period as a duration.
    pub fn grace_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.grace))
    }
}

/// Why a target could not be read or accepted.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The file could not be read.
    #[error("{path}: cannot read the target file: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the target format.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// File or `builtin:NAME`.
        origin: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The target parsed but is not valid.
    #[error("{origin}: {context}: {message}")]
    Invalid {
        /// File or `builtin:NAME`.
        origin: String,
        /// Where in the target (`server a, address 2`).
        context: String,
        /// What is wrong.
        message: String,
    },
    /// A remote address without `--allow-remote`.
    #[error("{origin}: {context}: {address} is not a loopback address; pass --allow-remote to test servers outside this host")]
    Remote {
        /// File or `builtin:NAME`.
        origin: String,
        /// Where in the target.
        context: String,
        /// The address.
        address: IpAddr,
    },
    /// No built-in profile of that name.
    #[error("no built-in target named {name:?} (built-in: {known})")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
}

// ---------------------------------------------------------------------------
// The file format (serde side), converted and validated into the types above.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    launch: Option<RawLaunch>,
    servers: Vec<RawServer>,
    #[serde(default)]
    same_scope: Vec<Vec<String>>,
    #[serde(default)]
    client_addresses: Vec<String>,
    #[serde(default)]
    ready_timeout: Option<u64>,
    #[serde(default)]
    hook_timeout: Option<u64>,
    #[serde(default)]
    hooks: Option<Hooks>,
    #[serde(default)]
    capture: Vec<String>,
    #[serde(default)]
    krb5: Option<Krb5Spec>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawLaunch {
    External,
    Ganesha,
    Knfsd,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKnfsd {
    hostname: String,
    #[serde(default)]
    lease: Option<u32>,
    #[serde(default)]
    grace: Option<u32>,
    #[serde(default)]
    threads: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    name: String,
    addresses: Vec<String>,
    #[serde(default)]
    export: Option<String>,
    #[serde(default)]
    hooks: Option<Hooks>,
    #[serde(default)]
    capture: Vec<String>,
    #[serde(default)]
    ganesha: Option<RawGanesha>,
    #[serde(default)]
    knfsd: Option<RawKnfsd>,
    #[serde(default)]
    referrals: Vec<RawReferral>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReferral {
    path: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGanesha {
    server_owner: String,
    server_scope: String,
    #[serde(default)]
    fsal: Option<Fsal>,
    #[serde(default)]
    lease: Option<u32>,
    #[serde(default)]
    grace: Option<u32>,
    node_id: u32,
    #[serde(default)]
    recovery: Option<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    minor_versions: Option<Vec<u8>>,
}

/// True for 127.0.0.0/8, ::1 and v4-mapped 127/8.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Parses `ADDR` or `ADDR:PORT` (`[v6]:PORT` for IPv6).
fn parse_address(text: &str) -> Option<SocketAddr> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa);
    }
    text.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, NFS_PORT))
}

/// A name usable as a file name component and in messages.
fn is_simple_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !s.starts_with('.')
}

/// A value safe inside a quoted Ganesha configuration string.
fn is_config_string(s: &str) -> bool {
    s.len() <= 1024
        && s.chars()
            .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\')
}

impl Target {
    /// Reads and validates a target file, refusing non-loopback addresses.
    pub fn load(path: &Path) -> Result<Target, TargetError> {
        Target::load_with(path, false)
    }

    /// Reads and validates a target file; `allow_remote` accepts addresses
    /// outside loopback (the `--allow-remote` flag).
    pub fn load_with(path: &Path, allow_remote: bool) -> Result<Target, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut target = Target::parse(&text, &path.display().to_string(), allow_remote)?;
        let dir = path.parent().map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        });
        target.dir = dir.map(|d| d.canonicalize().unwrap_or_else(|_| d.to_path_buf()));
        Ok(target)
    }

    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<Target, TargetError> {
        let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) else {
            return Err(TargetError::UnknownBuiltin {
                name: name.to_string(),
                known: Target::builtin_names().join(", "),
            });
        };
        Target::parse(text, &format!("builtin:{name}"), false)
    }

    /// The names of the built-in profiles, the default first.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// Parses and validates target YAML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, allow_remote: bool) -> Result<Target, TargetError> {
        let raw: RawTarget = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            let mut message = first_line_of(&e);
            if let Some(m) = message.strip_suffix(&format!(" at line {line}, column {column}")) {
                message = m.to_string();
            }
            TargetError::Syntax {
                origin: origin.to_string(),
                line,
                column,
                message,
            }
        })?;
        Target::from_raw(raw, origin, allow_remote)
    }

    fn from_raw(raw: RawTarget, origin: &str, allow_remote: bool) -> Result<Target, TargetError> {
        let invalid = |context: String, message: String| TargetError::Invalid {
            origin: origin.to_string(),
            context,
            message,
        };
        if !is_simple_name(&raw.name) {
            return Err(invalid(
                "name".into(),
                format!(
                    "{:?} must be 1-64 letters, digits, '-', '_' or '.'",
                    raw.name
                ),
            ));
        }
        let launch = match raw.launch {
            Some(RawLaunch::Ganesha) => Launch::Ganesha,
            Some(RawLaunch::Knfsd) => Launch::Knfsd,
            Some(RawLaunch::External) | None => Launch::External,
        };
        if raw.krb5.is_some() && launch == Launch::External {
            return Err(invalid(
                "krb5".into(),
                "a Kerberos realm is started only for built-in targets (`launch: ganesha` or `knfsd`)".into(),
            ));
        }
        if raw.servers.is_empty() {
            return Err(invalid(
                "servers".into(),
                "a target needs at least one server".into(),
            ));
        }
        let default_hooks = raw.hooks.unwrap_or_default();
        check_hooks(&default_hooks, "hooks", origin)?;
        let capture = check_interfaces(&raw.capture, "capture", origin)?;
        if launch != Launch::External && !(default_hooks.is_empty() && capture.is_empty()) {
            return Err(invalid(
                "hooks".into(),
                "a built-in target is controlled and captured by its launcher; remove `hooks:` and `capture:`".into(),
            ));
        }
        let mut names = BTreeSet::new();
        let mut all_addresses: BTreeMap<SocketAddr, String> = BTreeMap::new();
        let mut node_ids: BTreeMap<(String, u32), String> = BTreeMap::new();
        let mut servers = Vec::new();
        for rs in raw.servers {
            let ctx = format!("server {:?}", rs.name);
            if !is_simple_name(&rs.name) || rs.name.len() > 32 {
                return Err(invalid(
                    ctx,
                    "a server name is 1-32 letters, digits, '-', '_' or '.'".into(),
                ));
            }
            if !names.insert(rs.name.clone()) {
                return Err(invalid(ctx, "two servers have this name".into()));
            }
            if rs.addresses.is_empty() {
                return Err(invalid(ctx, "a server needs at least one address".into()));
            }
            let mut addresses = Vec::new();
            for (i, text) in rs.addresses.iter().enumerate() {
                let actx = format!("server {:?}, address {}", rs.name, i + 1);
                let sa = parse_address(text).ok_or_else(|| {
                    invalid(
                        actx.clone(),
                        format!("{text:?} is not an IP address or IP:PORT"),
                    )
                })?;
                if launch == Launch::Knfsd {
                    // Addresses of guests in the lab's own namespace.
                    check_knfsd_address(sa).map_err(|m| invalid(actx.clone(), m))?;
                } else if !allow_remote && !is_loopback(sa.ip()) {
                    return Err(TargetError::Remote {
                        origin: origin.to_string(),
                        context: actx,
                        address: sa.ip(),
                    });
                }
                if let Some(other) = all_addresses.insert(sa, rs.name.clone()) {
                    return Err(invalid(
                        actx,
                        format!("{sa} is already an address of server {other:?}"),
                    ));
                }
                addresses.push(sa);
            }
            let export = rs.export.unwrap_or_else(|| "/export".to_string());
            if !export.starts_with('/')
                || export.len() > 255
                || !export
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c))
            {
                return Err(invalid(
                    format!("server {:?}, export", rs.name),
                    format!("{export:?} must be an absolute path of letters, digits, '/', '_', '-', '.'"),
                ));
            }
            let own_hooks = rs.hooks.unwrap_or_default();
            check_hooks(&own_hooks, &format!("server {:?}", rs.name), origin)?;
            let capture = check_interfaces(&rs.capture, &format!("server {:?}", rs.name), origin)?;
            let knfsd = match (launch, rs.knfsd) {
                (Launch::Knfsd, Some(k)) => {
                    let kctx = |field: &str| format!("server {:?}, knfsd.{field}", rs.name);
                    if !is_simple_name(&k.hostname) || k.hostname.contains('.') {
                        return Err(invalid(
                            kctx("hostname"),
                            format!("{:?} must be 1-64 letters, digits, '-' or '_'", k.hostname),
                        ));
                    }
                    let lease = k.lease.unwrap_or(10);
                    let grace = k.grace.unwrap_or(10);
                    for (field, v) in [("lease", lease), ("grace", grace)] {
                        if !(10..=3600).contains(&v) {
                            return Err(invalid(
                                kctx(field),
                                format!("{v} is not in 10..=3600 seconds (what knfsd accepts)"),
                            ));
                        }
                    }
                    let threads = k.threads.unwrap_or(8);
                    if !(1..=64).contains(&threads) {
                        return Err(invalid(
                            kctx("threads"),
                            format!("{threads} is not in 1..=64"),
                        ));
                    }
                    if !own_hooks.is_empty() || !capture.is_empty() {
                        return Err(invalid(
                            ctx,
                            "built-in knfsd servers are controlled and captured by the launcher; remove `hooks:` and `capture:`".into(),
                        ));
                    }
                    if addresses.len() > 4 {
                        return Err(invalid(
                            format!("server {:?}, addresses", rs.name),
                            "a knfsd guest has at most 4 NICs (one per address)".into(),
                        ));
                    }
                    Some(KnfsdSpec {
                        hostname: k.hostname,
                        lease,
                        grace,
                        threads,
                    })
                }
                (Launch::Knfsd, None) => {
                    return Err(invalid(
                        ctx,
                        "`launch: knfsd` needs a `knfsd:` block per server".into(),
                    ))
                }
                (_, Some(_)) => {
                    return Err(invalid(
                        ctx,
                        "a `knfsd:` block needs `launch: knfsd` at the top of the file".into(),
                    ))
                }
                (_, None) => None,
            };
            let ganesha = match (launch, rs.ganesha) {
                (Launch::Knfsd, None) => None,
                (Launch::External | Launch::Knfsd, Some(_)) => {
                    return Err(invalid(
                        ctx,
                        "a `ganesha:` block needs `launch: ganesha` at the top of the file".into(),
                    ))
                }
                (Launch::External, None) => None,
                (Launch::Ganesha, None) => {
                    return Err(invalid(
                        ctx,
                        "`launch: ganesha` needs a `ganesha:` block per server".into(),
                    ))
                }
                (Launch::Ganesha, Some(g)) => {
                    if !own_hooks.is_empty() || !capture.is_empty() {
                        return Err(invalid(
                            ctx,
                            "built-in Ganesha servers are controlled and captured by the launcher; remove `hooks:` and `capture:`".into(),
                        ));
                    }
                    let gctx = |field: &str| format!("server {:?}, ganesha.{field}", rs.name);
                    for (field, value) in [
                        ("server_owner", &g.server_owner),
                        ("server_scope", &g.server_scope),
                    ] {
                        if !is_config_string(value) {
                            return Err(invalid(
                                gctx(field),
                                "printable ASCII without '\"' or '\\', at most 1024 bytes".into(),
                            ));
                        }
                    }
                    let lease = g.lease.unwrap_or(5);
                    if lease == 0 || lease > 3600 {
                        return Err(invalid(
                            gctx("lease"),
                            format!("{lease} is not in 1..=3600 seconds"),
                        ));
                    }
                    let grace = g.grace.unwrap_or(10);
                    if grace > 180 {
                        return Err(invalid(
                            gctx("grace"),
                            format!("{grace} is not in 0..=180 seconds"),
                        ));
                    }
                    let recovery = g.recovery.unwrap_or_else(|| rs.name.clone());
                    let data = g.data.unwrap_or_else(|| rs.name.clone());
                    for (field, value) in [("recovery", &recovery), ("data", &data)] {
                        if !is_simple_name(value) {
                            return Err(invalid(
                                gctx(field),
                                format!("{value:?} must be a simple name"),
                            ));
                        }
                    }
                    if let Some(other) =
                        node_ids.insert((recovery.clone(), g.node_id), rs.name.clone())
                    {
                        return Err(invalid(
                            gctx("node_id"),
                            format!(
                                "server {other:?} already uses node id {} in recovery root {recovery:?}",
                                g.node_id
                            ),
                        ));
                    }
                    let minor_versions = g.minor_versions.unwrap_or_else(|| vec![0, 1, 2]);
                    if minor_versions.is_empty() || minor_versions.iter().any(|&m| m > 2) {
                        return Err(invalid(
                            gctx("minor_versions"),
                            "a non-empty list of 0, 1, 2".into(),
                        ));
                    }
                    let port = addresses[0].port();
                    for a in &addresses {
                        if !a.is_ipv4() {
                            return Err(invalid(
                                format!("server {:?}, addresses", rs.name),
                                format!(
                                    "{a}: the built-in launcher uses IPv4 loopback addresses only"
                                ),
                            ));
                        }
                        if a.port() != port {
                            return Err(invalid(
                                format!("server {:?}, addresses", rs.name),
                                "one Ganesha instance listens on one port: give every address the same port".into(),
                            ));
                        }
                        if a.ip() == IpAddr::from([127, 0, 0, 1]) {
                            return Err(invalid(
                                format!("server {:?}, addresses", rs.name),
                                "127.0.0.1 is kept for each namespace's own loopback; use 127.0.0.2 and up".into(),
                            ));
                        }
                    }
                    Some(GaneshaSpec {
                        server_owner: g.server_owner,
                        server_scope: g.server_scope,
                        fsal: g.fsal.unwrap_or(Fsal::Vfs),
                        lease,
                        grace,
                        node_id: g.node_id,
                        recovery,
                        data,
                        minor_versions,
                    })
                }
            };
            let referrals = referrals_of(&rs.name, rs.referrals, launch)
                .map_err(|(field, m)| invalid(field, m))?;
            servers.push(ServerSpec {
                name: rs.name,
                addresses,
                export,
                hooks: own_hooks.or(&default_hooks),
                capture,
                ganesha,
                knfsd,
                referrals,
            });
        }
        check_referral_targets(&servers).map_err(|(field, m)| invalid(field, m))?;
        for (i, group) in raw.same_scope.iter().enumerate() {
            for n in group {
                if !names.contains(n) {
                    return Err(invalid(
                        format!("same_scope group {}", i + 1),
                        format!("{n:?} is not a server of this target"),
                    ));
                }
            }
        }
        let mut client_addresses = Vec::new();
        for (i, text) in raw.client_addresses.iter().enumerate() {
            let ctx = format!("client_addresses {}", i + 1);
            let ip: IpAddr = text
                .parse()
                .map_err(|_| invalid(ctx.clone(), format!("{text:?} is not an IP address")))?;
            if launch == Launch::Knfsd {
                return Err(invalid(
                    ctx,
                    "the knfsd lab gives every trial its own client addresses (10.100.0.0/14); remove `client_addresses:`".into(),
                ));
            }
            if !allow_remote && !is_loopback(ip) {
                return Err(TargetError::Remote {
                    origin: origin.to_string(),
                    context: ctx,
                    address: ip,
                });
            }
            if launch == Launch::Ganesha {
                if !ip.is_ipv4() || ip == IpAddr::from([127, 0, 0, 1]) {
                    return Err(invalid(
                        ctx,
                        format!("{ip}: use IPv4 loopback addresses from 127.0.0.2 up"),
                    ));
                }
                if all_addresses.keys().any(|a| a.ip() == ip) {
                    return Err(invalid(ctx, format!("{ip} is also a server address")));
                }
            }
            client_addresses.push(ip);
        }
        Ok(Target {
            name: raw.name,
            description: raw.description,
            launch,
            servers,
            same_scope: raw.same_scope,
            client_addresses,
            // A knfsd guest boots in 8-15 s under TCG (more on a busy machine).
            ready_timeout: Duration::from_secs(
                raw.ready_timeout
                    .unwrap_or(if launch == Launch::Knfsd { 180 } else { 30 })
                    .clamp(1, 600),
            ),
            hook_timeout: Duration::from_secs(raw.hook_timeout.unwrap_or(120).clamp(1, 3600)),
            capture,
            origin: origin.to_string(),
            dir: None,
            krb5: raw.krb5,
        })
    }

    /// The server of that name.
    pub fn server(&self, name: &str) -> Option<&ServerSpec> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// Whether the target can perform `action` on `server` at all: the
    /// built-in launcher does every action, an external server those it
    /// has a hook for.
    pub fn supports(&self, server: &str, action: &Action) -> Result<(), Unsupported> {
        let can = match self.launch {
            Launch::Ganesha => self.server(server).is_some(),
            // One knfsd guest cannot take over another's clients.
            Launch::Knfsd => {
                self.server(server).is_some() && !matches!(action, Action::Failover { .. })
            }
            Launch::External => self
                .server(server)
                .is_some_and(|s| s.hooks.get(action).is_some()),
        };
        if can {
            Ok(())
        } else {
            Err(Unsupported {
                target: self.name.clone(),
                action: action.clone(),
                server: server.to_string(),
            })
        }
    }
}

/// A server's referrals as the file gives them, checked: each `path` a
/// relative path of simple names, at most one referral per path; none on a
/// built-in Ganesha server (its launcher makes no referrals). `Err` is
/// (where, what).
fn referrals_of(
    server: &str,
    raw: Vec<RawReferral>,
    launch: Launch,
) -> Result<Vec<Referral>, (String, String)> {
    let ctx = |i: usize, field: &str| format!("server {server:?}, referrals {}, {field}", i + 1);
    if launch == Launch::Ganesha && !raw.is_empty() {
        return Err((
            format!("server {server:?}, referrals"),
            "the built-in Ganesha launcher makes no referrals (the knfsd launcher does; on an external target they are what the operator asserts)".into(),
        ));
    }
    let mut out: Vec<Referral> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        if !is_referral_path(&r.path) {
            return Err((
                ctx(i, "path"),
                format!(
                    "{:?} must be a relative path of names (letters, digits, '-', '_', '.'; no '..'), e.g. ref-c",
                    r.path
                ),
            ));
        }
        if out.iter().any(|o| o.path == r.path) {
            return Err((ctx(i, "path"), format!("{:?} has two referrals", r.path)));
        }
        out.push(Referral {
            path: r.path,
            to: r.to,
        });
    }
    Ok(out)
}

/// A referral path: `name` or `name/name...`, each a simple name.
fn is_referral_path(p: &str) -> bool {
    p.len() <= 255 && p.split('/').all(is_simple_name)
}

/// Every referral leads to another server of the target.
fn check_referral_targets(servers: &[ServerSpec]) -> Result<(), (String, String)> {
    for s in servers {
        for (i, r) in s.referrals.iter().enumerate() {
            let where_ = format!("server {:?}, referrals {}, to", s.name, i + 1);
            if r.to == s.name {
                return Err((
                    where_,
                    format!("{:?} is this server: a referral leads to another one", r.to),
                ));
            }
            if !servers.iter().any(|o| o.name == r.to) {
                let names: Vec<&str> = servers.iter().map(|o| o.name.as_str()).collect();
                return Err((
                    where_,
                    format!(
                        "{:?} is not a server of this target ({})",
                        r.to,
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// An address of a built-in knfsd server: IPv4 in 10.0.0.0/8 outside the
/// lab's client (10.100.0.0/14 per trial) and probe (10.98.0.0/16) ranges,
/// port 2049.
fn check_knfsd_address(sa: SocketAddr) -> Result<(), String> {
    let IpAddr::V4(v4) = sa.ip() else {
        return Err(format!(
            "{sa}: the knfsd lab uses IPv4 addresses in 10.0.0.0/8"
        ));
    };
    let o = v4.octets();
    if o[0] != 10 || (100..200).contains(&o[1]) || o[1] == 98 || o[3] == 0 || o[3] == 255 {
        return Err(format!(
            "{sa}: use host addresses in 10.0.0.0/8 outside 10.98.0.0/16 and 10.100.0.0-10.199.255.255 (the lab's own)"
        ));
    }
    if sa.port() != NFS_PORT {
        return Err(format!("{sa}: knfsd listens on port {NFS_PORT}"));
    }
    Ok(())
}

/// The variables a hook's arguments may name as `${NAME}` (`$$` is a `$`).
pub const HOOK_VARIABLES: &[&str] = &[
    "target",
    "target_dir",
    "action",
    "server",
    "address",
    "addresses",
    "port",
    "peer",
    "peer_address",
    "peer_addresses",
];

/// Splits a hook argument into text and `${NAME}` parts, or says what is
/// wrong with it.
pub fn hook_arg_parts(arg: &str) -> Result<Vec<HookPart<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = arg;
    while let Some(i) = rest.find('$') {
        if i > 0 {
            parts.push(HookPart::Text(&rest[..i]));
        }
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            parts.push(HookPart::Text("$"));
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("{arg:?}: `${{` without a closing `}}`"))?;
            let name = &body[..end];
            if !HOOK_VARIABLES.contains(&name) {
                return Err(format!(
                    "{arg:?}: unknown variable ${{{name}}} (known: {}; `$$` is a `$`)",
                    HOOK_VARIABLES.join(", ")
                ));
            }
            parts.push(HookPart::Var(name));
            rest = &body[end + 1..];
        } else {
            return Err(format!("{arg:?}: a `$` starts `${{NAME}}` or `$$` (a `$`)"));
        }
    }
    if !rest.is_empty() {
        parts.push(HookPart::Text(rest));
    }
    Ok(parts)
}

/// A piece of a hook argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPart<'a> {
    /// Literal text.
    Text(&'a str),
    /// `${NAME}`.
    Var(&'a str),
}

/// Checks every hook of `hooks`: a non-empty argv, no NUL, known
/// variables, peer variables only in `failover`.
fn check_hooks(hooks: &Hooks, context: &str, origin: &str) -> Result<(), TargetError> {
    let invalid = |action: &str, message: String| TargetError::Invalid {
        origin: origin.to_string(),
        context: format!("{context}, hook {action}"),
        message,
    };
    for (action, argv) in hooks.all() {
        let Some(argv) = argv else { continue };
        if argv.is_empty() || argv[0].is_empty() {
            return Err(invalid(
                action,
                "a hook is a non-empty argv list: [program, arg, ...]".into(),
            ));
        }
        for arg in argv {
            if arg.contains('\0') {
                return Err(invalid(action, "an argument contains a NUL byte".into()));
            }
            for part in hook_arg_parts(arg).map_err(|m| invalid(action, m))? {
                if let HookPart::Var(v) = part {
                    if v.starts_with("peer") && action != "failover" {
                        return Err(invalid(
                            action,
                            format!("${{{v}}} is only known to a failover hook"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Checks capture interface names (`any`, `eth0`, `br-lab.12` ...).
fn check_interfaces(
    names: &[String],
    context: &str,
    origin: &str,
) -> Result<Vec<String>, TargetError> {
    for n in names {
        let ok = !n.is_empty()
            && n.len() <= 15
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c));
        if !ok {
            return Err(TargetError::Invalid {
                origin: origin.to_string(),
                context: format!("{context}, capture"),
                message: format!("{n:?} is not an interface name"),
            });
        }
    }
    let mut out = names.to_vec();
    out.dedup();
    Ok(out)
}

/// The first line of a serde-saphyr error, without its source snippet
/// (the location is reported separately).
fn first_line_of(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "malformed target file".to_string()
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests;
