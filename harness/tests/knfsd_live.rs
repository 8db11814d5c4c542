//! Linux knfsd built in: the `launch: knfsd` lab boots knfsd in QEMU
//! guests, acts on them (restart, stop/start, crash, cut/restore link) and
//! leaves nothing behind (drop, Ctrl-C, SIGKILL); and the whole suite
//! against the built-in `knfsd` target matches the committed baseline of
//! knfsd's real failures.
//!
//! Needs root, the knfsd lab's packages (`scripts/setup.sh`) and, for the
//! suite, a build with `--features live`; skipped with the reason
//! otherwise, unless TRUNKCHECK_REQUIRE_KNFSD=1 (set by `.ci/run`) demands
//! it. The tests take turns: each boots guests, which are CPU-heavy under
//! TCG.

mod common;

use common::{assert_matches_baseline, can_run, processes_using, repo, trunkcheck, Need};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trunkcheck::action::Action;
use trunkcheck::lab::probe::nfs_null;
use trunkcheck::lab::Lab;
use trunkcheck::targets::Target;

/// One guest-booting test at a time.
static TURN: Mutex<()> = Mutex::new(());

const NEEDS: &[Need] = &[Need::Root, Need::Knfsd];

/// One knfsd server on two NICs.
const ONE: &str = "\
name: knfsd-one
description: one knfsd on two addresses
launch: knfsd
servers:
  - name: a
    addresses: [10.97.1.2, 10.97.2.2]
    knfsd: {hostname: knfsd-test, lease: 10, grace: 10}
";

/// Whether `addr` answers NFS NULL from inside the lab (within `t`).
fn answers(lab: &Lab, addr: SocketAddr, t: Duration) -> bool {
    nfs_null(addr, None, lab.netns(), t).is_ok()
}

fn timed(what: &str, f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    let took = t.elapsed();
    eprintln!("knfsd lab: {what} in {:.1} s", took.as_secs_f64());
    took
}

#[test]
fn a_knfsd_lab_boots_acts_and_leaves_nothing_behind() {
    if !can_run("knfsd_lab", NEEDS) {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let target = Target::parse(ONE, "one.yaml", false).expect("target");
    let mut lab = None;
    timed("boot (image from cache, guest to NFS NULL)", || {
        lab = Some(Lab::start(&target).unwrap_or_else(|e| panic!("knfsd lab starts: {e}")));
    });
    let lab = lab.expect("lab");
    let dir: PathBuf = lab.dir().expect("dir").to_path_buf();
    let [a0, a1] = [lab.servers()[0].addresses[0], lab.servers()[0].addresses[1]];
    let t = Duration::from_secs(3);
    assert!(
        answers(&lab, a0, t) && answers(&lab, a1, t),
        "both NICs answer"
    );
    assert_eq!(
        lab.server("a")
            .and_then(|s| s.server_owner.clone())
            .as_deref(),
        Some("knfsd-test")
    );
    let qemu = lab.pid("a").expect("QEMU runs");
    assert_eq!(processes_using(&dir), vec![qemu], "one QEMU per server");

    timed("restart (rpc.nfsd 0, start)", || {
        lab.act("a", &Action::Restart).expect("restart")
    });
    assert!(answers(&lab, a1, t));
    assert_eq!(lab.pid("a"), Some(qemu), "a restart keeps the guest");

    lab.act("a", &Action::Stop).expect("stop");
    assert!(
        !answers(&lab, a0, Duration::from_millis(500)),
        "stopped knfsd does not answer"
    );
    timed("start", || lab.act("a", &Action::Start).expect("start"));
    assert!(answers(&lab, a0, t));

    lab.act("a", &Action::CutLink).expect("cut");
    assert!(
        !answers(&lab, a0, Duration::from_secs(1)),
        "a cut link drops everything"
    );
    assert!(!answers(&lab, a1, Duration::from_secs(1)), "on every NIC");
    lab.act("a", &Action::RestoreLink).expect("restore");
    assert!(answers(&lab, a0, t) && answers(&lab, a1, t), "restored");

    timed("crash (QEMU killed, booted on the same disk)", || {
        lab.act("a", &Action::Crash).expect("crash")
    });
    assert_ne!(lab.pid("a"), Some(qemu), "a crash is a new QEMU");
    assert!(answers(&lab, a0, t) && answers(&lab, a1, t));
    assert!(
        !Path::new(&format!("/proc/{qemu}")).exists(),
        "the old QEMU is gone"
    );

    let e = lab
        .act("a", &Action::Failover { to: "a".into() })
        .expect_err("no failover");
    assert!(e.to_string().contains("unsupported"), "{e}");
    timed("teardown", || drop(lab));
    assert!(processes_using(&dir).is_empty(), "no QEMU left");
    assert!(!dir.exists(), "lab directory removed");
}

/// `trunkcheck lab --target FILE` as a child, and its directory once ready.
fn spawn_lab(target: &Path) -> (Child, PathBuf) {
    let mut child = trunkcheck()
        .args(["lab", "--for", "300", "--target"])
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("trunkcheck runs");
    let out = child.stdout.take().expect("stdout");
    let mut dir = None;
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(d) = line.strip_prefix("configs and logs: ") {
            dir = Some(PathBuf::from(d));
        }
        if line.starts_with("ready") {
            break;
        }
    }
    (child, dir.expect("the lab prints its directory"))
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ctrl_c_and_sigkill_take_the_guests_along() {
    if !can_run("knfsd_signals", NEEDS) {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let file =
        std::env::temp_dir().join(format!("trunkcheck-knfsd-one-{}.yaml", std::process::id()));
    std::fs::write(&file, ONE).expect("target");
    // Ctrl-C: the lab tears down and exits 130.
    let (mut child, dir) = spawn_lab(&file);
    assert_eq!(processes_using(&dir).len(), 1, "the guest runs");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(130));
    assert!(
        processes_using(&dir).is_empty() && !dir.exists(),
        "all gone after Ctrl-C"
    );
    // SIGKILL: QEMU dies with it (PR_SET_PDEATHSIG); the directory is swept
    // by the next lab.
    let (mut child, dir) = spawn_lab(&file);
    let guests = processes_using(&dir);
    assert_eq!(guests.len(), 1);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    wait_until(
        "QEMU to die with trunkcheck",
        Duration::from_secs(10),
        || processes_using(&dir).is_empty(),
    );
    let _ = std::fs::remove_file(&file);
    assert!(!dir.exists() || dir.join(".trunkcheck-lab").is_file());
}

#[test]
fn the_suite_against_knfsd_matches_its_baseline() {
    if !can_run("knfsd_suite", &[Need::Root, Need::Knfsd, Need::LiveCapture]) {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let json = std::env::temp_dir().join(format!("trunkcheck-knfsd-{}.json", std::process::id()));
    let t = Instant::now();
    let out = trunkcheck()
        .current_dir(repo())
        .args([
            "run",
            "--builtin",
            "knfsd",
            "--baseline",
            "suites/baselines/knfsd-6.1.yaml",
            "--json",
        ])
        .arg(&json)
        .output()
        .expect("trunkcheck runs");
    eprintln!(
        "the suite against knfsd: {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or_default();
    let _ = std::fs::remove_file(&json);
    assert_matches_baseline(out.status.code().unwrap_or(-1), &doc, &text, 70);
    // What knfsd cannot be is said where scenarios are skipped.
    for s in doc["scenarios"].as_array().cloned().unwrap_or_default() {
        if s["outcome"] == "skipped" {
            let why = s["message"].as_str().unwrap_or("");
            // The built-in knfsd target has a Kerberos realm: nothing is
            // skipped for want of one.
            assert!(
                why.contains("no knfsd can be a cluster peer"),
                "{}: {why}",
                s["id"]
            );
        }
    }
}
