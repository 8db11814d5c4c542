//! A Kerberos realm for one run: an MIT KDC started by trunkcheck.
//!
//! [`Kdc::start`] makes a private directory (`/tmp/trunkcheck-krb5-<pid>-<n>`)
//! with its own `krb5.conf` and `kdc.conf` (see [`conf`]), creates the
//! database with `kdb5_util`, starts `krb5kdc` in the foreground on a
//! loopback address and a free port as a [`Daemon`] (so it never outlives
//! the harness), and waits until a `kinit` with a probe principal succeeds.
//! Principals are added with `kadmin.local`: services (`nfs/HOST`) and
//! machines (`host/HOST`) with keytabs, users with keytabs or passwords.
//! Dropping the [`Kdc`] stops the KDC and removes the directory.
//!
//! Nothing touches the machine's Kerberos setup: every tool runs with
//! `KRB5_CONFIG` and `KRB5_KDC_PROFILE` naming the run's files, and
//! credential caches live in the run's directory. A process that uses the
//! realm through the GSS-API itself (the harness's RPCSEC_GSS client) must
//! have `KRB5_CONFIG` set to [`Kdc::krb5_config`] before its first GSS call
//! (the library reads it from the environment; there is no API for it);
//! other processes get [`Kdc::server_env`] / [`Kdc::client_env`].

#![deny(missing_docs)]

pub mod conf;
pub mod daemon;

pub use daemon::Daemon;

use crate::gss::CredStore;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Lines of the KDC's log quoted in errors.
const LOG_LINES: usize = 20;

/// Ports tried when another process takes the chosen one first.
const PORT_ATTEMPTS: u32 = 3;

/// The principal `kinit` uses to tell that the KDC is ready.
const PROBE: &str = "trunkcheck-probe";

/// Why the realm could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum Krb5Error {
    /// A Kerberos program is not installed.
    #[error("{program} is not installed: apt-get install {package}")]
    ToolMissing {
        /// The program.
        program: &'static str,
        /// The Debian package providing it.
        package: &'static str,
    },
    /// A realm or principal name this module refuses to write.
    #[error("invalid {what} {name:?}: {rule}")]
    InvalidName {
        /// Realm or principal.
        what: &'static str,
        /// The name.
        name: String,
        /// What is allowed.
        rule: &'static str,
    },
    /// A file or system call failed.
    #[error("{step}: {source}")]
    Io {
        /// What was being done.
        step: String,
        /// What the OS said.
        source: io::Error,
    },
    /// A Kerberos tool failed.
    #[error("{step}: `{command}` failed: {detail}")]
    Command {
        /// What was being done.
        step: String,
        /// The command line.
        command: String,
        /// Exit status and output.
        detail: String,
    },
    /// The KDC exited while starting or running.
    #[error("krb5kdc exited ({status}); last lines of its log:\n{log}")]
    Exited {
        /// Its exit status.
        status: String,
        /// The end of its logs.
        log: String,
    },
    /// The KDC did not issue a ticket in time.
    #[error("the KDC at {address} gave no ticket to {probe} within {waited:?} (last kinit: {last}); last lines of its log:\n{log}")]
    NotReady {
        /// Where it should listen.
        address: SocketAddr,
        /// The probe principal.
        probe: String,
        /// How long the wait was.
        waited: Duration,
        /// The last kinit's error.
        last: String,
        /// The end of its logs.
        log: String,
    },
}

fn io_err(step: impl Into<String>) -> impl FnOnce(io::Error) -> Krb5Error {
    let step = step.into();
    move |source| Krb5Error::Io { step, source }
}

/// How to start a KDC.
#[derive(Debug, Clone)]
pub struct KdcOptions {
    /// The realm (upper case).
    pub realm: String,
    /// The loopback address it listens on.
    pub address: Ipv4Addr,
    /// Longest wait for the first ticket.
    pub ready_timeout: Duration,
}

impl Default for KdcOptions {
    fn default() -> Self {
        KdcOptions {
            realm: "TRUNKCHECK.TEST".into(),
            address: Ipv4Addr::LOCALHOST,
            ready_timeout: Duration::from_secs(15),
        }
    }
}

/// A principal with its keys in a keytab file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keytab {
    /// The full principal name, `name@REALM`.
    pub principal: String,
    /// The keytab file.
    pub path: PathBuf,
}

impl Keytab {
    /// The keytab as a `FILE:` name.
    pub fn name(&self) -> String {
        format!("FILE:{}", self.path.display())
    }
}

/// A running KDC and its realm's files.
#[derive(Debug)]
pub struct Kdc {
    realm: String,
    address: SocketAddr,
    dir: PathBuf,
    krb5_conf: PathBuf,
    kdc_conf: PathBuf,
    daemon: Option<Daemon>,
    kadmin: PathBuf,
    kinit: PathBuf,
}

/// Where Debian installs a program: the PATH, then the sbin directories
/// (not always on a test's PATH).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The Kerberos programs and the packages that provide them.
const TOOLS: [(&str, &str); 4] = [
    ("krb5kdc", "krb5-kdc"),
    ("kdb5_util", "krb5-kdc"),
    ("kadmin.local", "krb5-admin-server"),
    ("kinit", "krb5-user"),
];

/// The first Kerberos program missing on this machine, with its package.
pub fn missing_tool() -> Option<(&'static str, &'static str)> {
    TOOLS
        .into_iter()
        .find(|(program, _)| find_program(program).is_none())
}

fn tool(program: &'static str) -> Result<PathBuf, Krb5Error> {
    find_program(program).ok_or_else(|| {
        let package = TOOLS
            .iter()
            .find(|(p, _)| *p == program)
            .map_or("krb5-user", |(_, pkg)| *pkg);
        Krb5Error::ToolMissing { program, package }
    })
}

/// A port free for both TCP and UDP on `addr` (the KDC takes both).
fn free_port(addr: Ipv4Addr) -> Result<u16, Krb5Error> {
    let mut last = None;
    for _ in 0..50 {
        let tcp = TcpListener::bind((addr, 0)).map_err(io_err(format!("binding {addr}:0")))?;
        let port = tcp
            .local_addr()
            .map_err(io_err("reading a bound port"))?
            .port();
        match UdpSocket::bind((addr, port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(Krb5Error::Io {
        step: format!("finding a port free for TCP and UDP on {addr}"),
        source: last.unwrap_or_else(|| io::Error::other("no port")),
    })
}

/// A new private directory `/tmp/trunkcheck-krb5-<pid>-<n>` (never reused).
fn make_dir() -> Result<PathBuf, Krb5Error> {
    static N: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("trunkcheck-krb5-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(io_err(format!("chmod {}", dir.display())))?;
                return Ok(dir);
            }
            // A directory left by an earlier process with our pid.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(format!("creating {}", dir.display()))(e)),
        }
    }
}

/// The last `n` lines of a file (empty if it cannot be read).
fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut f) = fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// A kadmin query as shown in errors (the `-pw` argument hidden).
fn hide_password(query: &str) -> String {
    let mut out = Vec::new();
    let mut hide = false;
    for word in query.split(' ') {
        out.push(if hide { "***" } else { word });
        hide = word == "-pw";
    }
    out.join(" ")
}

/// The status and output of a finished command, for an error.
fn describe(out: &std::process::Output) -> String {
    let mut s = out.status.to_string();
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        if !text.is_empty() {
            s.push_str(&format!("; {name}: {}", text.lines().last().unwrap_or("")));
        }
    }
    s
}

impl Kdc {
    /// Starts a KDC for `opts.realm` on `opts.address` and a free port, and
    /// waits until it issues a ticket.
    pub fn start(opts: &KdcOptions) -> Result<Kdc, Krb5Error> {
        if !conf::valid_realm(&opts.realm) {
            return Err(Krb5Error::InvalidName {
                what: "realm",
                name: opts.realm.clone(),
                rule: "upper-case letters, digits, '.' and '-'",
            });
        }
        let krb5kdc = tool("krb5kdc")?;
        let kdb5_util = tool("kdb5_util")?;
        let kadmin = tool("kadmin.local")?;
        let kinit = tool("kinit")?;
        let dir = make_dir()?;
        // From here on, dropping `kdc` removes the directory.
        let mut kdc = Kdc {
            realm: opts.realm.clone(),
            address: SocketAddr::new(IpAddr::V4(opts.address), 0),
            krb5_conf: dir.join("krb5.conf"),
            kdc_conf: dir.join("kdc.conf"),
            dir,
            daemon: None,
            kadmin,
            kinit,
        };
        kdc.configure(opts.address)?;
        kdc.write(&kdc.dir.join("kadm5.acl"), "")?;
        let mut create = kdc.command(&kdb5_util);
        // A throwaway master password: the stash file (-s) holds the key.
        let master = format!("tc-{:x}-{}", std::process::id(), kdc.address.port());
        create.args(["create", "-s", "-r", &kdc.realm, "-P", &master]);
        kdc.run(create, "creating the KDC database", None)?;
        // kadmin.local works on the database: no need for the KDC yet.
        let probe = kdc.add_keytab_principal(PROBE)?;
        // The port was free when chosen; another process may take it before
        // krb5kdc binds it: then try another port.
        for attempt in 1..=PORT_ATTEMPTS {
            kdc.spawn(&krb5kdc)?;
            match kdc.wait_ready(&probe, opts.ready_timeout) {
                Ok(()) => return Ok(kdc),
                Err(Krb5Error::Exited { log, .. })
                    if attempt < PORT_ATTEMPTS && log.contains("Address already in use") =>
                {
                    kdc.daemon.take();
                    kdc.configure(opts.address)?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Krb5Error::Io {
            step: format!("starting krb5kdc on {}", opts.address),
            source: io::Error::other("every port tried was taken"),
        })
    }

    /// Chooses a free port on `ip` and writes both configuration files.
    fn configure(&mut self, ip: Ipv4Addr) -> Result<(), Krb5Error> {
        self.address = SocketAddr::new(IpAddr::V4(ip), free_port(ip)?);
        self.write(
            &self.krb5_conf,
            &conf::krb5_conf(&self.realm, self.address, &self.dir),
        )?;
        self.write(
            &self.kdc_conf,
            &conf::kdc_conf(&self.realm, self.address, &self.dir),
        )
    }

    /// Starts krb5kdc in the foreground, its output in `krb5kdc.out`.
    fn spawn(&mut self, krb5kdc: &Path) -> Result<(), Krb5Error> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("krb5kdc.out"))
            .map_err(io_err("creating krb5kdc.out"))?;
        let log2 = log
            .try_clone()
            .map_err(io_err("duplicating a descriptor"))?;
        let mut cmd = self.command(krb5kdc);
        cmd.args(["-n", "-r", &self.realm])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        self.daemon = Some(
            Daemon::spawn("krb5kdc", cmd).map_err(io_err("starting krb5kdc (-n, foreground)"))?,
        );
        Ok(())
    }

    fn write(&self, path: &Path, text: &str) -> Result<(), Krb5Error> {
        fs::write(path, text).map_err(io_err(format!("writing {}", path.display())))
    }

    /// A command with the realm's environment.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.client_env())
            .env("KRB5_KDC_PROFILE", &self.kdc_conf)
            .env_remove("KRB5CCNAME")
            .env_remove("KRB5_KTNAME")
            .env_remove("KRB5_CLIENT_KTNAME");
        cmd
    }

    /// Runs a tool to completion (stdin from `input`), an error naming
    /// `step` unless it exits 0.
    fn run(
        &self,
        mut cmd: Command,
        step: &str,
        input: Option<&str>,
    ) -> Result<std::process::Output, Krb5Error> {
        let line = format!("{cmd:?}");
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(io_err(format!("{step}: starting {line}")))?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            // A write error shows in the tool's status and output.
            let _ = stdin.write_all(text.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(io_err(format!("{step}: waiting for {line}")))?;
        if !out.status.success() {
            return Err(Krb5Error::Command {
                step: step.to_string(),
                command: line,
                detail: describe(&out),
            });
        }
        Ok(out)
    }

    /// Runs kadmin.local `queries` (one per line). kadmin.local exits 0
    /// even when a query fails, so its stderr is read: anything but the
    /// "no policy" notice is a failure.
    fn kadmin(&self, queries: &[String], step: &str) -> Result<(), Krb5Error> {
        let mut cmd = self.command(&self.kadmin);
        cmd.args(["-r", &self.realm]);
        let input = queries.join("\n") + "\n";
        let out = self.run(cmd, step, Some(&input))?;
        let errors: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("No policy specified"))
            .map(str::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(Krb5Error::Command {
                step: step.to_string(),
                command: format!(
                    "kadmin.local: {}",
                    queries
                        .iter()
                        .map(|q| hide_password(q))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                detail: errors.join("; "),
            });
        }
        Ok(())
    }

    fn check_principal(name: &str) -> Result<(), Krb5Error> {
        if conf::valid_principal(name) {
            Ok(())
        } else {
            Err(Krb5Error::InvalidName {
                what: "principal",
                name: name.to_string(),
                rule: "letters, digits and '._-/', without the realm",
            })
        }
    }

    /// The file name used for `name`'s keytab or ccache.
    fn file_stem(name: &str) -> String {
        name.replace('/', "_")
    }

    /// Adds `name` (without realm) with a random key and writes the key to
    /// a keytab of its own.
    pub fn add_keytab_principal(&self, name: &str) -> Result<Keytab, Krb5Error> {
        let path = self.dir.join(format!("{}.keytab", Kdc::file_stem(name)));
        self.add_principal_to_keytab(name, &path)
    }

    /// Adds `name` (without realm) with a random key written to the keytab
    /// file `path` (created, or added to: one server keytab can hold several
    /// principals).
    pub fn add_principal_to_keytab(&self, name: &str, path: &Path) -> Result<Keytab, Krb5Error> {
        Kdc::check_principal(name)?;
        if path.to_string_lossy().chars().any(char::is_whitespace) {
            return Err(Krb5Error::InvalidName {
                what: "keytab path",
                name: path.display().to_string(),
                rule: "no whitespace (kadmin splits its arguments on it)",
            });
        }
        let path = path.to_path_buf();
        self.kadmin(
            &[
                format!("addprinc -randkey {name}"),
                format!("ktadd -k {} -norandkey {name}", path.display()),
            ],
            &format!("adding principal {name} with a keytab"),
        )?;
        if !path.is_file() {
            return Err(Krb5Error::Command {
                step: format!("adding principal {name} with a keytab"),
                command: "kadmin.local ktadd".into(),
                detail: format!("{} was not written", path.display()),
            });
        }
        Ok(Keytab {
            principal: self.full_name(name),
            path,
        })
    }

    /// Adds the service principal `service/host` (e.g. `nfs/srv1.example`)
    /// with a keytab.
    pub fn add_service(&self, service: &str, host: &str) -> Result<Keytab, Krb5Error> {
        self.add_keytab_principal(&format!("{service}/{host}"))
    }

    /// Adds the user `name` with `password`; returns the full name.
    pub fn add_password_principal(&self, name: &str, password: &str) -> Result<String, Krb5Error> {
        Kdc::check_principal(name)?;
        if password.is_empty() || password.chars().any(|c| c.is_whitespace() || c == '"') {
            return Err(Krb5Error::InvalidName {
                what: "password",
                name: "(hidden)".into(),
                rule: "not empty, no spaces or quotes",
            });
        }
        self.kadmin(
            &[format!("addprinc -pw {password} {name}")],
            &format!("adding principal {name} with a password"),
        )?;
        Ok(self.full_name(name))
    }

    /// `name@REALM`.
    pub fn full_name(&self, name: &str) -> String {
        format!("{name}@{}", self.realm)
    }

    /// The ccache file the run keeps for a principal (`FILE:` name).
    pub fn ccache_name(&self, principal: &str) -> String {
        format!(
            "FILE:{}",
            self.dir
                .join(format!("{}.ccache", Kdc::file_stem(principal)))
                .display()
        )
    }

    /// Gets an initial ticket for a keytab's principal into its ccache
    /// (`kinit -k -t`); returns the ccache name.
    pub fn kinit_keytab(&self, keytab: &Keytab) -> Result<String, Krb5Error> {
        let cc = self.ccache_name(&keytab.principal);
        let mut cmd = self.command(&self.kinit);
        cmd.arg("-k")
            .arg("-t")
            .arg(&keytab.path)
            .arg("-c")
            .arg(&cc)
            .arg(&keytab.principal);
        self.run(cmd, &format!("kinit -k {}", keytab.principal), None)?;
        Ok(cc)
    }

    /// Gets an initial ticket for `principal` with `password` into its
    /// ccache; returns the ccache name.
    pub fn kinit_password(&self, principal: &str, password: &str) -> Result<String, Krb5Error> {
        let cc = self.ccache_name(principal);
        let mut cmd = self.command(&self.kinit);
        cmd.arg("-c").arg(&cc).arg(principal);
        self.run(
            cmd,
            &format!("kinit {principal} (password)"),
            Some(&format!("{password}\n")),
        )?;
        Ok(cc)
    }

    /// The GSS credential store for a keytab's principal: its own ccache,
    /// filled from the keytab on first use (no kinit needed).
    pub fn cred_store(&self, keytab: &Keytab) -> CredStore {
        CredStore {
            ccache: Some(self.ccache_name(&keytab.principal)),
            client_keytab: Some(keytab.name()),
        }
    }

    /// The environment of a process that only uses the realm as a client.
    pub fn client_env(&self) -> Vec<(OsString, OsString)> {
        vec![(
            "KRB5_CONFIG".into(),
            self.krb5_conf.clone().into_os_string(),
        )]
    }

    /// The environment of a server accepting contexts with `keytab`: the
    /// realm's config, the keytab, a replay cache directory and a default
    /// ccache of its own (for its callbacks as a client).
    pub fn server_env(&self, keytab: &Keytab) -> Vec<(OsString, OsString)> {
        let stem = Kdc::file_stem(&keytab.principal);
        let mut env = self.client_env();
        env.push(("KRB5_KTNAME".into(), keytab.name().into()));
        env.push(("KRB5_CLIENT_KTNAME".into(), keytab.name().into()));
        env.push(("KRB5RCACHEDIR".into(), self.dir.clone().into_os_string()));
        env.push((
            "KRB5CCNAME".into(),
            format!("FILE:{}/{stem}.server.ccache", self.dir.display()).into(),
        ));
        env
    }

    /// Polls with `kinit -k` until the KDC issues the probe a ticket.
    fn wait_ready(&mut self, probe: &Keytab, timeout: Duration) -> Result<(), Krb5Error> {
        let started = Instant::now();
        loop {
            if let Some(d) = self.daemon.as_mut() {
                if let Ok(Some(status)) = d.try_wait() {
                    return Err(Krb5Error::Exited {
                        status: status.to_string(),
                        log: self.log_tail(LOG_LINES).join("\n"),
                    });
                }
            }
            let last = match self.kinit_keytab(probe) {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if started.elapsed() >= timeout {
                return Err(Krb5Error::NotReady {
                    address: self.address,
                    probe: probe.principal.clone(),
                    waited: started.elapsed(),
                    last,
                    log: self.log_tail(LOG_LINES).join("\n"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Where the KDC listens (TCP and UDP).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The run's private directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The realm's `krb5.conf` (set `KRB5_CONFIG` to it).
    pub fn krb5_config(&self) -> &Path {
        &self.krb5_conf
    }

    /// The KDC's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().and_then(Daemon::pid)
    }

    /// The last `n` lines of the KDC's log and of its stdout/stderr.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        let mut lines = tail(&self.dir.join("kdc.log"), n);
        lines.extend(tail(&self.dir.join("krb5kdc.out"), n));
        lines
    }
}

/// The environment variable the GSS library reads its configuration from.
pub const CONFIG_VAR: &str = "KRB5_CONFIG";

/// The `krb5.conf` this process's GSS library reads when a run owns the
/// realm: `<tmp>/trunkcheck-krb5-<pid>.conf`, written by [`use_realm`].
pub fn process_config_path() -> PathBuf {
    std::env::temp_dir().join(format!("trunkcheck-krb5-{}.conf", std::process::id()))
}

/// Points this process's GSS library at [`process_config_path`]. Call it
/// in `main` before any thread starts (the library reads the environment
/// at each new krb5 context; changing it later races other threads). The
/// file need not exist yet: MIT Kerberos then uses an empty profile.
pub fn prepare_process() {
    std::env::set_var(CONFIG_VAR, process_config_path());
}

/// True when [`prepare_process`] pointed this process at its own path.
pub fn process_prepared() -> bool {
    std::env::var_os(CONFIG_VAR).is_some_and(|v| Path::new(&v) == process_config_path())
}

/// While alive, this process's GSS library uses a realm (see [`use_realm`]).
#[derive(Debug)]
pub struct ProcessRealm {
    written: Option<PathBuf>,
}

impl Drop for ProcessRealm {
    fn drop(&mut self) {
        if let Some(p) = self.written.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Makes this process's GSS library use `kdc`'s realm. After
/// [`prepare_process`] the realm's `krb5.conf` is copied to the process
/// path (no environment change); otherwise `KRB5_CONFIG` is set now, which
/// is only safe while no other thread reads the environment (tests that
/// start one lab at a time).
pub fn use_realm(kdc: &Kdc) -> Result<ProcessRealm, Krb5Error> {
    if process_prepared() {
        let path = process_config_path();
        let text = fs::read(kdc.krb5_config())
            .map_err(io_err(format!("reading {}", kdc.krb5_config().display())))?;
        // Written beside and renamed: a reader never sees half a file.
        let tmp = path.with_extension("conf.new");
        fs::write(&tmp, text).map_err(io_err(format!("writing {}", tmp.display())))?;
        fs::rename(&tmp, &path).map_err(io_err(format!("writing {}", path.display())))?;
        Ok(ProcessRealm {
            written: Some(path),
        })
    } else {
        std::env::set_var(CONFIG_VAR, kdc.krb5_config());
        Ok(ProcessRealm { written: None })
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        // Stop (and reap) the KDC before its files go.
        self.daemon.take();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_errors() {
        assert_eq!(
            hide_password("addprinc -pw s3cret alice"),
            "addprinc -pw *** alice"
        );
        assert_eq!(hide_password("addprinc -randkey x"), "addprinc -randkey x");
    }

    #[test]
    fn file_names_of_principals_have_no_slashes() {
        assert_eq!(
            Kdc::file_stem("nfs/srv1.trunkcheck.test@R"),
            "nfs_srv1.trunkcheck.test@R"
        );
    }

    #[test]
    fn a_port_is_found_free_for_both_transports() {
        let p = free_port(Ipv4Addr::LOCALHOST).expect("a free port");
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok());
        assert!(UdpSocket::bind((Ipv4Addr::LOCALHOST, p)).is_ok());
    }
}
