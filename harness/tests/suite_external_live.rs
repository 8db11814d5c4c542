//! The suite against an *external* target gives the same verdicts with 1
//! and 4 trial threads, and the right ones. The target is the built-in
//! Ganesha lab started by `trunkcheck lab --control SOCK`, described in a
//! target file of the kind a user writes: its addresses, client addresses,
//! and hooks that are `trunkcheck lab --send SOCK ${action} ${server}`.
//! The run happens inside the lab's client namespace (`nsenter`), where
//! each server is reached over its own veth device: trials capture on the
//! devices the routes use, each its own traffic.
//!
//! Needs root, `ganesha.nfsd`, `nsenter` and a build with `--features
//! live`; skipped (with the reason printed) otherwise, unless
//! TRUNKCHECK_REQUIRE_GANESHA=1 (set by `.ci/run`) demands it.

mod common;

use common::{can_run, repo, trunkcheck, Need};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Client addresses: enough for 4 trials of 2 addresses each.
const CLIENTS: &str = "[127.0.0.101, 127.0.0.102, 127.0.0.103, 127.0.0.104, 127.0.0.105, 127.0.0.106, 127.0.0.107, 127.0.0.108]";

/// The built-in `default` profile with more client addresses.
fn lab_profile() -> String {
    let text =
        std::fs::read_to_string(repo().join("suites/targets/default.yaml")).expect("default");
    text.replace(
        "client_addresses: [127.0.0.101, 127.0.0.102]",
        &format!("client_addresses: {CLIENTS}"),
    )
    .replace("name: default", "name: lab-for-external")
}

/// The same servers as an external target controlled through the lab.
fn external_target(sock: &Path) -> String {
    let bin = env!("CARGO_BIN_EXE_trunkcheck");
    let send = format!("[{bin}, lab, --send, {}", sock.display());
    format!(
        "name: ganesha-external
description: the Ganesha lab, as an external target with hooks
client_addresses: {CLIENTS}
same_scope: [[a, b]]
hooks:
  start: {send}, \"${{action}}\", \"${{server}}\"]
  stop: {send}, \"${{action}}\", \"${{server}}\"]
  restart: {send}, \"${{action}}\", \"${{server}}\"]
  crash: {send}, \"${{action}}\", \"${{server}}\"]
  cut_link: {send}, \"${{action}}\", \"${{server}}\"]
  restore_link: {send}, \"${{action}}\", \"${{server}}\"]
  failover: {send}, failover, \"${{server}}\", \"${{peer}}\"]
servers:
  - name: a
    addresses: [127.0.0.2, 127.0.0.3]
  - name: b
    addresses: [127.0.0.4]
  - name: c
    addresses: [127.0.0.5]
"
    )
}

/// The lab process; SIGTERM (its teardown) when dropped, or when this
/// test process dies.
struct LabProcess(Child);

impl Drop for LabProcess {
    fn drop(&mut self) {
        // SAFETY: signals our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

/// Starts the lab; returns it and the `nsenter --net=` path of its client
/// namespace.
fn start_lab(profile: &Path, sock: &Path) -> (LabProcess, String) {
    let mut cmd = trunkcheck();
    cmd.args(["lab", "--target"])
        .arg(profile)
        .arg("--control")
        .arg(sock)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    // SAFETY: prctl in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("trunkcheck lab starts");
    let out = child.stdout.take().expect("stdout");
    let lab = LabProcess(child);
    let mut netns = None;
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(p) = line.strip_prefix("enter the lab's client namespace: nsenter --net=") {
            netns = Some(p.trim().to_string());
        }
        if line.starts_with("ready") {
            break;
        }
    }
    let netns = netns.expect("the lab says where its namespace is");
    (lab, netns)
}

/// `trunkcheck run` in the lab's namespace; the scenarios' outcomes by id.
fn run_in(
    netns: &str,
    target: &Path,
    threads: &str,
    json: &Path,
    extra: &[&str],
) -> (i32, BTreeMap<String, String>, String) {
    let out = Command::new("nsenter")
        .arg(format!("--net={netns}"))
        .arg(env!("CARGO_BIN_EXE_trunkcheck"))
        .current_dir(repo())
        .args(["run", "--target"])
        .arg(target)
        .args(["--test-threads", threads, "--json"])
        .arg(json)
        .arg("--baseline")
        .arg(repo().join("suites/baselines/ganesha-4.3.yaml"))
        .args(extra)
        .output()
        .expect("nsenter runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap_or_default())
            .unwrap_or_default();
    let outcomes = doc["scenarios"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("").to_string(),
                s["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), outcomes, text)
}

#[test]
fn an_external_target_gets_the_same_right_verdicts_with_1_and_4_threads() {
    if !can_run(
        "suite_external",
        &[Need::Root, Need::Ganesha, Need::LiveCapture],
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("trunkcheck-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let profile = dir.join("lab.yaml");
    std::fs::write(&profile, lab_profile()).expect("profile");
    let sock = dir.join("ctl.sock");
    let (lab, netns) = start_lab(&profile, &sock);
    let target = dir.join("external.yaml");
    std::fs::write(&target, external_target(&sock)).expect("target");
    let caps: PathBuf = dir.join("captures");
    let caps_arg = caps.to_string_lossy().to_string();
    let t0 = std::time::Instant::now();
    let (code4, four, text4) = run_in(
        &netns,
        &target,
        "4",
        &dir.join("t4.json"),
        &["--keep-captures", &caps_arg, "--capture-all"],
    );
    eprintln!("4 threads: {:.0} s", t0.elapsed().as_secs_f64());
    let t1 = std::time::Instant::now();
    let (code1, one, text1) = run_in(&netns, &target, "1", &dir.join("t1.json"), &[]);
    eprintln!("1 thread: {:.0} s", t1.elapsed().as_secs_f64());
    // A target whose export path is wrong is a setup problem, said once at
    // the start, not a failure of every trial.
    let wrong = dir.join("wrong-export.yaml");
    std::fs::write(
        &wrong,
        external_target(&sock).replace(
            "    addresses: [127.0.0.5]\n",
            "    addresses: [127.0.0.5]\n    export: /no-such-export\n",
        ),
    )
    .expect("target");
    let (code_w, ran_w, text_w) = run_in(
        &netns,
        &wrong,
        "4",
        &dir.join("wrong.json"),
        &["IDENT-ADDR-01"],
    );
    drop(lab);
    assert_ne!(code_w, 0, "{text_w}");
    assert!(ran_w.is_empty(), "no trial runs: {ran_w:?}");
    assert!(
        text_w.contains("server c: its export /no-such-export refused a new file")
            && text_w.contains("NFS4ERR_NOENT"),
        "{text_w}"
    );
    assert_eq!(
        code4, 0,
        "4 threads: failures outside Ganesha's baseline:\n{text4}"
    );
    assert_eq!(
        code1, 0,
        "1 thread: failures outside Ganesha's baseline:\n{text1}"
    );
    assert!(four.len() >= 70, "{four:?}");
    let differ: Vec<String> = four
        .iter()
        .filter(|(id, o)| one.get(*id) != Some(*o))
        .map(|(id, o)| format!("{id}: {o} with 4 threads, {:?} with 1", one.get(id)))
        .collect();
    assert!(differ.is_empty(), "verdicts differ:\n{}", differ.join("\n"));
    // The trials that act on servers wait for readiness by NFS NULL calls:
    // none of them is in their captures.
    for id in ["REC-RESTART-01", "REC-CRASH-01"] {
        let cap = caps.join(format!("{id}.pcap"));
        assert!(cap.exists(), "--capture-all keeps {}", cap.display());
        let out = trunkcheck()
            .args(["decode", "--json"])
            .arg(&cap)
            .output()
            .expect("decode");
        let lines = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            !lines
                .lines()
                .any(|l| l.contains(r#""procedure":0"#) && l.contains(r#""kind":"call""#)),
            "{id}: a NULL probe in the trial's capture"
        );
    }
    // Cleanup destroys each client ID once: no capture has two
    // DESTROY_CLIENTIDs of one client ID (the second would only earn
    // NFS4ERR_STALE_CLIENTID), except where the scenario itself asks for it.
    for cap in std::fs::read_dir(&caps).expect("captures").flatten() {
        let name = cap.file_name().to_string_lossy().to_string();
        if name == "CSESS-STALE-01.pcap" {
            continue;
        }
        let out = trunkcheck()
            .args(["decode", "--json"])
            .arg(cap.path())
            .output()
            .expect("decode");
        let mut seen = std::collections::BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let m: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            // Alone in its COMPOUND, as cleanup sends it.
            if m["kind"] != "call" || m["ops"] != serde_json::json!(["DESTROY_CLIENTID"]) {
                continue;
            }
            for op in m["args"].as_array().cloned().unwrap_or_default() {
                if let Some(id) = op["args"]["dca_clientid"].as_str() {
                    *seen.entry(id.to_string()).or_insert(0) += 1;
                }
            }
        }
        assert!(
            seen.values().all(|&n| n == 1),
            "{name}: DESTROY_CLIENTID per client ID: {seen:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
