//! What must not outlive a lab: its servers and its directory.
//!
//! Every live lab registers its directory and the pids of its servers here,
//! so that a SIGINT/SIGTERM handler can stop them and remove the directory
//! before the process exits (namespaces vanish with the process, servers
//! with their spawning thread through PR_SET_PDEATHSIG). Directories left by
//! a process that died anyway (SIGKILL) carry a marker file with its pid
//! and are swept by the next lab that starts.

use super::{io_err, LabError};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// The file that marks a directory as made by a lab; it holds the pid.
const MARKER: &str = ".trunkcheck-lab";
/// Prefix of lab directories in the temporary directory.
const DIR_PREFIX: &str = "trunkcheck-lab-";

struct Record {
    dir: Option<PathBuf>,
    pids: BTreeSet<i32>,
}

static REGISTRY: Mutex<BTreeMap<u64, Record>> = Mutex::new(BTreeMap::new());
static NEXT_LAB: AtomicU64 = AtomicU64::new(0);
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

fn registry() -> MutexGuard<'static, BTreeMap<u64, Record>> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe {
        libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

pub(crate) fn signal(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: sends a signal to a process this lab started.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Reaps `pid` if it has exited (our child); true when it is gone.
fn reap_nohang(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on a child pid with WNOHANG does not block.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    r == pid || (r < 0 && !pid_alive(pid))
}

/// Installs (once) the SIGINT/SIGTERM handler that tears down every live
/// lab and exits with status 130. `Lab::start` calls it. A program that
/// needs its own handler must install it first and call
/// [`teardown_all_labs`] from it.
pub fn install_signal_teardown() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            teardown_all_labs();
            std::process::exit(130);
        });
    });
}

/// Stops every instance of every live lab (SIGTERM, then SIGKILL after
/// 5 s) and removes their directories; for a signal handler that then
/// exits. Labs refuse new starts afterwards.
pub fn teardown_all_labs() {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    let records: Vec<Record> = std::mem::take(&mut *registry()).into_values().collect();
    let pids: Vec<i32> = records
        .iter()
        .flat_map(|r| r.pids.iter().copied())
        .collect();
    for &p in &pids {
        signal(p, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left: Vec<i32> = pids;
    while !left.is_empty() && Instant::now() < deadline {
        left.retain(|&p| !reap_nohang(p));
        std::thread::sleep(Duration::from_millis(20));
    }
    for &p in &left {
        signal(p, libc::SIGKILL);
        reap_nohang(p);
    }
    for r in records {
        if let Some(dir) = r.dir {
            remove_lab_dir(&dir);
        }
    }
}

pub(crate) fn remove_lab_dir(dir: &Path) {
    if dir.join(MARKER).is_file() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Removes lab directories left by dead processes (and kills any server
/// still running from one, which PR_SET_PDEATHSIG should already have done).
pub fn sweep_stale() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = fs::read_dir(&tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let dir = e.path();
        if pid == std::process::id() as i32 || pid_alive(pid) || !dir.join(MARKER).is_file() {
            continue;
        }
        kill_processes_using(&dir);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// SIGKILLs processes whose command line names a file under `dir`.
fn kill_processes_using(dir: &Path) {
    let needle = format!("{}/", dir.display());
    let Ok(procs) = fs::read_dir("/proc") else {
        return;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(cmdline) = fs::read(p.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).contains(&needle) {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

/// Creates `/tmp/trunkcheck-lab-<pid>-<n>/` with our marker; never reuses.
pub(crate) fn make_lab_dir() -> Result<PathBuf, LabError> {
    let tmp = std::env::temp_dir();
    for _ in 0..1000 {
        let n = NEXT_LAB.fetch_add(1, Ordering::SeqCst);
        let dir = tmp.join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                fs::write(dir.join(MARKER), format!("{}\n", std::process::id()))
                    .map_err(io_err(format!("{}: writing the marker", dir.display())))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(format!("creating {}", dir.display()))(e)),
        }
    }
    Err(LabError::NotOurs {
        path: tmp.join(format!("{DIR_PREFIX}{}-*", std::process::id())),
    })
}

/// A fresh number for a lab.
pub(crate) fn next_id() -> u64 {
    NEXT_LAB.fetch_add(1, Ordering::SeqCst)
}

/// Records a live lab and its directory.
pub(crate) fn register(id: u64, dir: &Path) {
    registry().insert(
        id,
        Record {
            dir: Some(dir.to_path_buf()),
            pids: BTreeSet::new(),
        },
    );
}

/// Forgets a lab (it cleaned up after itself).
pub(crate) fn unregister_lab(id: u64) {
    registry().remove(&id);
}

/// Records a server process of lab `id`.
pub(crate) fn add_pid(id: u64, pid: u32) {
    if let Some(r) = registry().get_mut(&id) {
        r.pids.insert(pid as i32);
    }
}

/// Forgets a server process of lab `id` (it was reaped).
pub(crate) fn remove_pid(id: u64, pid: u32) {
    if let Some(r) = registry().get_mut(&id) {
        r.pids.remove(&(pid as i32));
    }
}

/// True once the signal handler started tearing labs down.
pub(crate) fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}
