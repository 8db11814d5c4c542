//! A child process that never outlives the harness.
//!
//! The child is spawned from a thread of its own that lives as long as the
//! [`Daemon`], with `PR_SET_PDEATHSIG(SIGKILL)`: Linux sends the signal when
//! the spawning *thread* ends, so spawning from a short-lived test thread
//! would kill the child early, and spawning from no thread at all would
//! leave it running after a crash. Dropping a [`Daemon`] (also while
//! unwinding from a panic) sends SIGTERM, waits a little, sends SIGKILL and
//! reaps it.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a daemon gets to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// A running child process, stopped and reaped on drop.
pub struct Daemon {
    name: String,
    child: Option<Child>,
    status: Option<ExitStatus>,
    keepalive: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Daemon({} pid {:?})", self.name, self.pid())
    }
}

impl Daemon {
    /// Spawns `cmd` (its stdio as the caller set it) in a process group of
    /// its own, killed if this process dies.
    pub fn spawn(name: &str, mut cmd: Command) -> io::Result<Daemon> {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: prctl and getppid are async-signal-safe; the closure runs
        // in the child between fork and exec and touches no shared state.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    return Err(io::Error::other("parent exited"));
                }
                Ok(())
            });
        }
        cmd.process_group(0);
        let (child_tx, child_rx) = mpsc::channel::<io::Result<Child>>();
        let (keep_tx, keep_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("daemon {name}"))
            .spawn(move || {
                let spawned = cmd.spawn();
                let ok = spawned.is_ok();
                if child_tx.send(spawned).is_err() || !ok {
                    return;
                }
                // Live until the Daemon is dropped (the sender goes away).
                let _ = keep_rx.recv();
            })?;
        let child = match child_rx.recv() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("the spawning thread ended early")),
        };
        match child {
            Ok(child) => Ok(Daemon {
                name: name.to_string(),
                child: Some(child),
                status: None,
                keepalive: Some(keep_tx),
                thread: Some(thread),
            }),
            Err(e) => {
                drop(keep_tx);
                let _ = thread.join();
                Err(e)
            }
        }
    }

    /// The process id (None once reaped).
    pub fn pid(&self) -> Option<u32> {
        match (&self.child, self.status) {
            (Some(c), None) => Some(c.id()),
            _ => None,
        }
    }

    /// The exit status if it has exited (reaping it), without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        let s = child.try_wait()?;
        self.status = s;
        Ok(s)
    }

    /// Sends `signal` to the process (not once it is reaped).
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        // SAFETY: kill has no memory preconditions; pid is our unreaped
        // child, so it cannot have been reused.
        if unsafe { libc::kill(pid as libc::pid_t, signal) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it: SIGTERM, up to `grace` to exit, then SIGKILL; reaps it.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            let _ = self.signal(libc::SIGTERM);
            if let Ok(Some(s)) = self.wait_timeout(grace) {
                self.status = Some(s);
            } else if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                self.status = child.wait().ok();
            }
        }
        self.status
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
        self.keepalive.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_is_stopped_and_reaped_on_drop() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let d = Daemon::spawn("sleep", cmd).expect("sleep runs");
        let pid = d.pid().expect("running");
        drop(d);
        // Reaped: the pid is no longer our child.
        // SAFETY: waitpid with WNOHANG on a pid; no memory is passed.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG) };
        assert_eq!(r, -1, "pid {pid} was reaped");
    }

    #[test]
    fn a_daemon_that_ignores_sigterm_is_killed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "trap '' TERM; sleep 30"]);
        let mut d = Daemon::spawn("stubborn", cmd).expect("sh runs");
        std::thread::sleep(Duration::from_millis(100));
        let status = d.stop(Duration::from_millis(200)).expect("reaped");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn a_panic_leaves_no_process_behind() {
        let (tx, rx) = mpsc::channel();
        let r = std::thread::spawn(move || {
            let mut cmd = Command::new("sleep");
            cmd.arg("30");
            let d = Daemon::spawn("sleep", cmd).expect("sleep runs");
            tx.send(d.pid().expect("running")).expect("send pid");
            panic!("a test fails while its daemon runs");
        })
        .join();
        assert!(r.is_err(), "the thread panicked");
        let pid = rx.recv().expect("pid") as libc::pid_t;
        // SAFETY: waitpid with WNOHANG; no memory is passed. -1 (ECHILD):
        // already reaped by the unwinding drop.
        let r = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        assert_eq!(r, -1, "pid {pid} was stopped and reaped while unwinding");
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_hang() {
        let e = Daemon::spawn("nothing", Command::new("/nonexistent/trunkcheck-x"))
            .expect_err("no such program");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
