//! QEMU guests for the knfsd lab: the boot image, and the command channel
//! into a running guest.
//!
//! **The image** is built by `scripts/guest/build.sh` (shell: it copies
//! files out of installed Debian packages) from the kernel of
//! `linux-image-amd64`, busybox, the modules knfsd needs and nfs-utils. The
//! script and the guest's own files are compiled into trunkcheck and
//! written to the lab's directory before it runs, so the binary needs no
//! source tree. The image is cached (`$TRUNKCHECK_GUEST_CACHE`, else
//! `$XDG_CACHE_HOME/trunkcheck/guest` or `~/.cache/trunkcheck/guest`) and
//! rebuilt only when the packages or these files change (about 1 s).
//!
//! **The command channel** is the guest's second serial port, a unix
//! socket on the host. A command is a line `@@CMD <id> <base64 script>`;
//! the guest runs the script with `sh` and answers with its output and
//! `@@RC <id> <status>` (`scripts/guest/guest-cmdloop.sh`). Lines without
//! the prefix are ignored, so bytes sent before the guest's loop listened
//! do no harm.

use super::LabError;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The files `build.sh` puts into the image, compiled in: (name, text).
const GUEST_FILES: &[(&str, &str)] = &[
    ("build.sh", include_str!("../../../scripts/guest/build.sh")),
    (
        "guest-init.sh",
        include_str!("../../../scripts/guest/guest-init.sh"),
    ),
    (
        "guest-cmdloop.sh",
        include_str!("../../../scripts/guest/guest-cmdloop.sh"),
    ),
    (
        "guest-tool.sh",
        include_str!("../../../scripts/guest/guest-tool.sh"),
    ),
];

/// The Debian packages the knfsd lab needs (`scripts/setup.sh` installs
/// them).
pub const PACKAGES: &str =
    "qemu-system-x86 linux-image-amd64 nfs-kernel-server nfs-common busybox-static kmod cpio e2fsprogs";

/// A bootable guest: kernel and initramfs.
#[derive(Clone, Debug)]
pub struct Image {
    /// The kernel (`vmlinuz`).
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
}

/// The image cache directory.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TRUNKCHECK_GUEST_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("trunkcheck-cache"));
    base.join("trunkcheck").join("guest")
}

/// Writes the guest files into `work` and runs `build.sh` there: the
/// image, from the cache when it is up to date.
pub fn build_image(work: &Path) -> Result<Image, LabError> {
    std::fs::create_dir_all(work).map_err(super::io_err(format!("creating {}", work.display())))?;
    for (name, text) in GUEST_FILES {
        let p = work.join(name);
        std::fs::write(&p, text).map_err(super::io_err(format!("writing {}", p.display())))?;
    }
    let cache = cache_dir();
    let out = Command::new("bash")
        .arg(work.join("build.sh"))
        .arg("--cache")
        .arg(&cache)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            step: "building the knfsd guest image".into(),
            command: "bash build.sh".into(),
            detail: format!("cannot start: {e}"),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(8).collect();
        return Err(LabError::Command {
            step: "building the knfsd guest image".into(),
            command: format!("bash build.sh --cache {}", cache.display()),
            detail: format!(
                "{}: {} (the knfsd lab needs: apt-get install {PACKAGES}, or scripts/setup.sh)",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    let image = Image {
        kernel: cache.join("vmlinuz"),
        initrd: cache.join("initramfs.img"),
    };
    if !(image.kernel.is_file() && image.initrd.is_file()) {
        return Err(LabError::State {
            server: "(image)".into(),
            message: format!(
                "build.sh left no vmlinuz and initramfs.img in {}",
                cache.display()
            ),
        });
    }
    Ok(image)
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The command channel of one guest (its second serial port's socket).
#[derive(Debug)]
pub struct Channel {
    socket: PathBuf,
    /// One command at a time: the serial line is one stream.
    busy: Mutex<u32>,
}

/// What a command in the guest printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// Its exit status.
    pub status: i32,
    /// Its output (stdout and stderr).
    pub output: String,
}

impl Channel {
    /// The channel at `socket` (QEMU creates it when the guest starts).
    pub fn new(socket: PathBuf) -> Channel {
        Channel {
            socket,
            busy: Mutex::new(0),
        }
    }

    /// Runs `script` with `sh` in the guest and waits (at most `timeout`)
    /// for its status and output.
    pub fn run(&self, script: &str, timeout: Duration) -> Result<Ran, String> {
        let mut n = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.wrapping_add(1);
        let id = format!("{:08x}", (std::process::id() << 12) ^ *n);
        let deadline = Instant::now() + timeout;
        let mut s = UnixStream::connect(&self.socket)
            .map_err(|e| format!("{}: {e}", self.socket.display()))?;
        let line = format!("\n@@CMD {id} {}\n", base64(script.as_bytes()));
        s.set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.write_all(line.as_bytes())
            .map_err(|e| format!("send: {e}"))?;
        let marker = format!("@@RC {id} ");
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buf);
            if let Some(at) = text.find(&marker) {
                if let Some(end) = text[at..].find('\n') {
                    let status = text[at + marker.len()..at + end]
                        .trim()
                        .parse()
                        .unwrap_or(-1);
                    let output = text[..at].trim_end_matches('\n').to_string();
                    return Ok(Ran { status, output });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "no answer within {timeout:?} (output so far: {})",
                    text.trim()
                ));
            }
            s.set_read_timeout(Some(left.min(Duration::from_millis(500))))
                .map_err(|e| e.to_string())?;
            match s.read(&mut chunk) {
                Ok(0) => return Err("the guest closed the channel (QEMU exited?)".into()),
                Ok(k) => {
                    buf.extend_from_slice(&chunk[..k]);
                    if buf.len() > 1 << 20 {
                        buf.drain(..buf.len() - (1 << 19));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Runs `script` and fails unless it exits 0.
    pub fn check(&self, script: &str, timeout: Duration) -> Result<String, String> {
        let ran = self.run(script, timeout)?;
        if ran.status == 0 {
            Ok(ran.output)
        } else {
            Err(format!(
                "`{script}` exited {}: {}",
                ran.status,
                ran.output.trim()
            ))
        }
    }

    /// Waits until the guest's command loop answers (its init has
    /// finished) or `give_up` says why not.
    pub fn wait(
        &self,
        timeout: Duration,
        mut give_up: impl FnMut() -> Option<String>,
    ) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(why) = give_up() {
                return Err(why);
            }
            // Each try is short: a line sent before the loop ran is lost.
            let err = match self.run("true", Duration::from_secs(2)) {
                Ok(r) if r.status == 0 => return Ok(()),
                Ok(r) => format!("`true` exited {}", r.status),
                Err(e) => e,
            };
            if started.elapsed() >= timeout {
                return Err(format!(
                    "the guest did not answer within {timeout:?}: {err}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn base64_is_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn a_command_gets_its_output_and_status_and_noise_is_ignored() {
        let dir = std::env::temp_dir().join(format!("trunkcheck-chan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let sock = dir.join("cmd.sock");
        let l = UnixListener::bind(&sock).expect("bind");
        // A fake guest: answers one command as guest-cmdloop.sh does.
        let guest = std::thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut got = Vec::new();
            let mut b = [0u8; 1];
            while !String::from_utf8_lossy(&got).trim_start().contains('\n') {
                if s.read(&mut b).unwrap_or(0) == 0 {
                    break;
                }
                got.push(b[0]);
            }
            let line = String::from_utf8_lossy(&got).trim().to_string();
            let id = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let script = line.split_whitespace().nth(2).unwrap_or("").to_string();
            let _ = write!(
                s,
                "boot noise\nrc=3 looks like a marker but is not\n{script}\n@@RC {id} 3\n"
            );
            script
        });
        let ch = Channel::new(sock);
        let ran = ch
            .run("gt nfsd-restart", Duration::from_secs(5))
            .expect("answered");
        assert_eq!(ran.status, 3);
        assert!(ran.output.ends_with(&base64(b"gt nfsd-restart")), "{ran:?}");
        assert_eq!(guest.join().expect("guest"), base64(b"gt nfsd-restart"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
