//! Private network namespaces owned by the harness.
//!
//! A [`NetNs`] is an anonymous Linux network namespace held open by a file
//! descriptor, not a name under `/var/run/netns`: when the last handle is
//! dropped, or the harness process dies however it dies, the kernel removes
//! the namespace with every address, route and socket in it. Nothing can be
//! left behind.
//!
//! Sockets belong to the namespace of the thread that created them, so
//! [`NetNs::run`] runs a closure on a short-lived thread that first joins the
//! namespace; the sockets it opens keep working from any thread afterwards.
//! Child processes (servers, `ip`, `tc`) join it through [`NetNs::command`].

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;

/// A handle on a private network namespace; clones share it.
#[derive(Clone, Debug)]
pub struct NetNs {
    fd: Arc<OwnedFd>,
}

impl NetNs {
    /// Creates a new, empty network namespace (loopback down). Needs
    /// CAP_SYS_ADMIN (root).
    pub fn new() -> io::Result<NetNs> {
        let handle = std::thread::spawn(|| -> io::Result<OwnedFd> {
            // SAFETY: unshare only changes the calling thread's namespaces;
            // this thread exists for that and ends right after.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let file = File::open("/proc/thread-self/ns/net")?;
            Ok(OwnedFd::from(file))
        });
        let fd = handle
            .join()
            .map_err(|_| io::Error::other("namespace thread panicked"))??;
        Ok(NetNs { fd: Arc::new(fd) })
    }

    /// Runs `f` on a thread inside the namespace and returns its result.
    pub fn run<T, F>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let raw = self.fd.as_raw_fd();
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    // SAFETY: setns on a descriptor we own; it only changes
                    // this scoped thread's network namespace.
                    if unsafe { libc::setns(raw, libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    Ok(f())
                })
                .join()
                .map_err(|_| io::Error::other("thread in the namespace panicked"))?
        })
    }

    /// A command whose process runs inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let fd = Arc::clone(&self.fd);
        // SAFETY: the closure runs in the forked child before exec and only
        // makes the async-signal-safe setns system call.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// The namespace's inode number, as `ip netns identify` or
    /// `/proc/PID/ns/net` show it (for messages and leak checks).
    pub fn inode(&self) -> io::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        let path = format!("/proc/self/fd/{}", self.fd.as_raw_fd());
        Ok(std::fs::metadata(path)?.ino())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

    /// Namespaces need root; without it the tests say so and pass unless
    /// TRUNKCHECK_REQUIRE_LAB=1 (set by `.ci/run`) demands them.
    fn ns_or_skip() -> Option<NetNs> {
        match NetNs::new() {
            Ok(ns) => Some(ns),
            Err(e) if std::env::var_os("TRUNKCHECK_REQUIRE_LAB").is_none() => {
                eprintln!("skipped: cannot create a network namespace: {e}");
                None
            }
            Err(e) => panic!("cannot create a network namespace: {e}"),
        }
    }

    #[test]
    fn sockets_made_in_the_namespace_are_isolated_from_the_host() {
        let Some(ns) = ns_or_skip() else { return };
        let st = ns
            .command("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip runs");
        assert!(st.success());
        let listener = ns
            .run(|| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("thread ran")
            .expect("bind inside");
        let port = listener.local_addr().expect("addr").port();
        // Inside: connects. On the host: nothing listens on that port.
        let inside = ns
            .run(move || TcpStream::connect((Ipv4Addr::LOCALHOST, port)))
            .expect("thread ran");
        assert!(inside.is_ok(), "connect inside the namespace: {inside:?}");
        let host_ns = std::fs::metadata("/proc/self/ns/net").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        });
        assert_ne!(host_ns.ok(), ns.inode().ok(), "a new namespace");
    }

    #[test]
    fn dropping_the_last_handle_removes_the_namespace() {
        let Some(ns) = ns_or_skip() else { return };
        let ino = ns.inode().expect("inode");
        let weak = Arc::downgrade(&ns.fd);
        drop(ns);
        assert!(weak.upgrade().is_none(), "descriptor closed");
        // No process or descriptor refers to the namespace any more.
        let still = std::fs::read_dir("/proc/self/fd")
            .expect("fds")
            .filter_map(|e| e.ok())
            .filter_map(|e| std::fs::metadata(e.path()).ok())
            .any(|m| {
                use std::os::unix::fs::MetadataExt;
                m.ino() == ino
            });
        assert!(!still);
    }
}
