//! What the integration tests share: where the repository and the
//! third-party captures are, the `trunkcheck` binary, whether a test can run
//! on this machine (root, NFS-Ganesha, live capture, tshark), and starting a
//! built-in lab. A test file says `mod common;` and uses what it needs.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use trunkcheck::lab::Lab;
use trunkcheck::targets::Target;

/// Every suite in `suites/`, loaded; panics with every load error.
pub fn load_suites() -> Vec<trunkcheck::scenario::Suite> {
    trunkcheck::scenario::load_dir(&repo().join("suites")).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The folder of third-party captures: `$TRUNKCHECK_SHARED_CAPTURES`, else
/// `../shared/captures` beside the repository.
pub fn shared_captures() -> PathBuf {
    std::env::var_os("TRUNKCHECK_SHARED_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/captures"))
}

/// One third-party capture; `None` (with a note) when it is not there.
pub fn shared_capture(name: &str) -> Option<PathBuf> {
    let p = shared_captures().join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("{} not found: skipped", p.display());
        None
    }
}

/// The `trunkcheck` binary under test.
pub fn trunkcheck() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trunkcheck"))
}

/// What a test needs of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Root (network namespaces, FSAL VFS).
    Root,
    /// `ganesha.nfsd` on the PATH.
    Ganesha,
    /// A build with `--features live` (per-trial capture).
    LiveCapture,
    /// `tshark` installed.
    Tshark,
    /// What the knfsd lab boots: QEMU, the Debian kernel, nfs-utils
    /// (`scripts/setup.sh` installs them), and tap devices.
    Knfsd,
}

impl Need {
    /// Why the machine falls short, or `None` when it has it.
    fn missing(self) -> Option<&'static str> {
        let ok = match self {
            // SAFETY: geteuid has no preconditions.
            Need::Root => (unsafe { libc::geteuid() }) == 0,
            Need::Ganesha => on_path("ganesha.nfsd"),
            Need::LiveCapture => cfg!(feature = "live"),
            Need::Tshark => Command::new("tshark")
                .arg("-v")
                .output()
                .is_ok_and(|o| o.status.success()),
            Need::Knfsd => {
                on_path("qemu-system-x86_64")
                    && on_path("mkfs.ext4")
                    && Path::new("/usr/sbin/rpc.nfsd").exists()
                    && Path::new("/dev/net/tun").exists()
            }
        };
        (!ok).then_some(match self {
            Need::Root => "not root",
            Need::Ganesha => {
                "ganesha.nfsd is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)"
            }
            Need::LiveCapture => "built without --features live (no per-trial capture)",
            Need::Tshark => "tshark is not installed (apt-get install tshark)",
            Need::Knfsd => "the knfsd lab's packages are missing (scripts/setup.sh: qemu-system-x86 linux-image-amd64 nfs-kernel-server ...)",
        })
    }

    /// The variable that, set to 1, turns the skip into a failure (CI).
    fn required_by(self) -> &'static str {
        match self {
            Need::Tshark => "TRUNKCHECK_REQUIRE_TSHARK",
            Need::Knfsd => "TRUNKCHECK_REQUIRE_KNFSD",
            Need::Root | Need::Ganesha | Need::LiveCapture => "TRUNKCHECK_REQUIRE_GANESHA",
        }
    }
}

/// Whether `program` is a file in a directory of the PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// Whether `test` can run here. When it cannot, it says why on stderr and
/// returns false (the test then passes without running), unless the
/// matching `TRUNKCHECK_REQUIRE_*` variable is 1: then it fails.
pub fn can_run(test: &str, needs: &[Need]) -> bool {
    for need in needs {
        if let Some(reason) = need.missing() {
            let var = need.required_by();
            if std::env::var_os(var).is_some_and(|v| v == "1") {
                panic!("{test}: {var}=1 but {reason}");
            }
            eprintln!("{test}: skipped: {reason}");
            return false;
        }
    }
    true
}

/// What the built-in lab needs: root and NFS-Ganesha.
pub const LAB: &[Need] = &[Need::Root, Need::Ganesha];

/// A running lab of the built-in profile `profile`.
pub fn start_lab(profile: &str) -> Lab {
    let target =
        Target::builtin(profile).unwrap_or_else(|e| panic!("built-in profile {profile}: {e}"));
    Lab::start(&target).unwrap_or_else(|e| panic!("lab {profile} starts: {e}"))
}

/// The RPC record that accepts the call in `call` (a record with its
/// marker) with SUCCESS and no results: what a fake NFS server answers to
/// the harness's NFS NULL readiness probe.
pub fn null_reply(call: &[u8]) -> Vec<u8> {
    let mut reply = (0x8000_0000u32 | 24).to_be_bytes().to_vec();
    reply.extend_from_slice(call.get(4..8).unwrap_or(&[0; 4]));
    for w in [1u32, 0, 0, 0, 0] {
        reply.extend_from_slice(&w.to_be_bytes());
    }
    reply
}

/// Every process whose command line names a file under `dir` (servers and
/// guests a lab started there).
pub fn processes_using(dir: &Path) -> Vec<u32> {
    // With the trailing slash: `...-1/` must not match `...-12/`.
    let needle = format!("{}/", dir.display());
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                    let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
                    String::from_utf8_lossy(&cmd)
                        .contains(&needle)
                        .then_some(pid)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a `trunkcheck run --json` result against its baseline: exit 0,
/// no failure outside it, at least `min_passed` passed, no entry that now
/// passes or did not run.
pub fn assert_matches_baseline(code: i32, doc: &serde_json::Value, text: &str, min_passed: u64) {
    assert_eq!(code, 0, "failures outside the baseline:\n{text}");
    let summary = &doc["summary"];
    assert_eq!(summary["failed"], 0, "{text}");
    assert!(
        summary["passed"].as_u64().unwrap_or(0) >= min_passed,
        "{summary}"
    );
    let stale = doc["stale_baseline_entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        stale.is_empty(),
        "baseline entries that now pass or were not run: {stale:?}"
    );
}
