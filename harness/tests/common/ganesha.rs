//! A fixture that starts one NFS-Ganesha instance for a live test and
//! removes it afterwards (process, directory), also when the test fails.
//!
//! The instance listens on a loopback address of its own (127.66.x.y), so
//! tests can run side by side. Without `ganesha.nfsd`, or without root
//! (FSAL VFS needs it), the tests print why and pass, unless
//! `TRUNKCHECK_REQUIRE_GANESHA=1` demands a server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Lease the instance is configured with (seconds).
pub const LEASE: u32 = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const PLUGINS: &str = "/usr/lib/x86_64-linux-gnu/ganesha";

/// A running Ganesha; stopped and cleaned up when dropped.
pub struct Ganesha {
    /// The server's address (port 2049).
    pub addr: SocketAddr,
    /// The exported directory on disk (files created there appear in the export).
    pub data: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

/// Finds `prog` on PATH.
fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// Skips (returns None) or panics, as TRUNKCHECK_REQUIRE_GANESHA says.
fn unavailable(why: &str) -> Option<Ganesha> {
    if std::env::var("TRUNKCHECK_REQUIRE_GANESHA").as_deref() == Ok("1") {
        panic!("Ganesha required but unavailable: {why}");
    }
    eprintln!("skipped: {why} (apt-get install nfs-ganesha nfs-ganesha-vfs; run as root)");
    None
}

/// A loopback address no other instance of this run uses.
fn fresh_address() -> Ipv4Addr {
    static N: AtomicU32 = AtomicU32::new(0);
    let pid = std::process::id();
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let a = Ipv4Addr::new(127, 66, (pid % 200 + 1) as u8, (n % 250 + 2) as u8);
        let probe = SocketAddr::new(IpAddr::V4(a), 2049);
        if TcpStream::connect_timeout(&probe, Duration::from_millis(100)).is_err() {
            return a;
        }
    }
}

fn config(addr: Ipv4Addr, data: &Path, recovery: &Path) -> String {
    format!(
        r#"NFS_CORE_PARAM {{
    Protocols = 4;
    Bind_Addr = ::ffff:{addr};
    NFS_Port = 2049;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = {PLUGINS};
}}
NFSv4 {{
    Minor_Versions = 0, 1, 2;
    Lease_Lifetime = {LEASE};
    Grace_Period = 5;
    Graceless = true;
    RecoveryBackend = fs;
    RecoveryRoot = {recovery};
    Server_Owner = "trunkcheck-live-{addr}";
    Server_Scope = "trunkcheck-live-scope";
}}
EXPORT {{
    Export_Id = 1;
    Path = {data};
    Pseudo = /export;
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = EVENT; }}
"#,
        recovery = recovery.display(),
        data = data.display(),
    )
}

impl Ganesha {
    /// Starts an instance and waits until it accepts connections; `None`
    /// (after printing why) when Ganesha cannot run here.
    pub fn start() -> Option<Ganesha> {
        if !on_path("ganesha.nfsd") {
            return unavailable("ganesha.nfsd is not installed");
        }
        if !Path::new(PLUGINS).join("libfsalvfs.so").is_file() {
            return unavailable("the FSAL VFS plugin is not installed");
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return unavailable("FSAL VFS needs root");
        }
        let ip = fresh_address();
        let dir = std::env::temp_dir().join(format!(
            "trunkcheck-live-{}-{}",
            std::process::id(),
            ip.octets()[3]
        ));
        let data = dir.join("data");
        let recovery = dir.join("recovery");
        std::fs::create_dir_all(&data).expect("data dir");
        std::fs::create_dir_all(&recovery).expect("recovery dir");
        std::fs::write(data.join("hello.txt"), b"hello from trunkcheck\n").expect("file");
        // Any principal (AUTH_SYS uid 1000, 2000 ...) may create files.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let conf = dir.join("ganesha.conf");
        std::fs::write(&conf, config(ip, &data, &recovery)).expect("config");
        let child = Command::new("ganesha.nfsd")
            .arg("-F")
            .arg("-f")
            .arg(&conf)
            .arg("-L")
            .arg(dir.join("ganesha.log"))
            .arg("-p")
            .arg(dir.join("ganesha.pid"))
            .args(["-N", "NIV_EVENT"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ganesha.nfsd starts");
        let mut g = Ganesha {
            addr: SocketAddr::new(IpAddr::V4(ip), 2049),
            data,
            dir,
            child: Some(child),
        };
        g.wait_ready();
        Some(g)
    }

    /// Polls the port until it accepts, the process dies, or the timeout.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!(
                        "ganesha.nfsd exited ({st}) before listening:\n{}",
                        self.log_tail()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "ganesha.nfsd not listening on {} after {READY_TIMEOUT:?}:\n{}",
            self.addr,
            self.log_tail()
        );
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("ganesha.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Ganesha {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM first (a clean stop), SIGKILL when it lingers.
            // SAFETY: kill on the pid of our own child process.
            unsafe {
                libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
