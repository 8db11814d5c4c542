//! `trunkcheck run --keep-captures` against NFS-Ganesha in the built-in
//! lab: each failing trial leaves its capture and its sequence diagram,
//! with the failing step or the passive finding in red.
//!
//! Needs root, `ganesha.nfsd` and a build with `--features live`; skipped
//! (with the reason printed) otherwise, unless TRUNKCHECK_REQUIRE_GANESHA=1.

mod common;

use common::{can_run, repo, trunkcheck, Need};
use std::path::Path;

/// Runs one scenario against a built-in target, keeping captures in `dir`;
/// the exit status and the output.
fn run_one(target: &str, id: &str, dir: &Path) -> (i32, String) {
    let out = trunkcheck()
        .current_dir(repo())
        .args(["run", "--builtin", target, "--exact", id, "--keep-captures"])
        .arg(dir)
        .output()
        .expect("trunkcheck runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_failing_trial_kept_gets_its_sequence_diagram() {
    if !can_run("run_live", &[Need::Root, Need::Ganesha, Need::LiveCapture]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("trunkcheck-runlive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");

    // A failing step: Ganesha 4.3 gives the owner a second client ID at the
    // second address (step 5).
    let (code, text) = run_one("default", "IDENT-ADDR-02", &dir);
    assert_eq!(code, 1, "{text}");
    assert!(dir.join("IDENT-ADDR-02.pcap").is_file(), "{text}");
    let svg = std::fs::read_to_string(dir.join("IDENT-ADDR-02.svg")).expect("the diagram");
    assert!(svg.contains("IDENT-ADDR-02 — "), "titled by the scenario");
    assert!(svg.contains("FAILED step 5 (exchange_id)"));
    // The step's own call and reply are marked, not those of the steps
    // before and after it.
    assert_eq!(svg.matches("✗ step 5 (exchange_id)").count(), 2);
    assert!(
        svg.contains("[1] trunk.same-clientid"),
        "the passive finding"
    );
    // Two client connections, two server addresses.
    assert_eq!(svg.matches("class=\"life\"").count(), 4);

    // Only a passive rule fails it: two instances claiming to be one.
    let (code, text) = run_one("liar", "IDENT-CLAIM-01", &dir);
    assert_eq!(code, 1, "{text}");
    let svg = std::fs::read_to_string(dir.join("IDENT-CLAIM-01.svg")).expect("the diagram");
    assert!(svg.contains("FAILED: every step held, but the passive rules failed the trial"));
    assert!(svg.contains("✗ [1] trunk.same-clientid"));

    // A passing trial gets neither capture nor diagram.
    let (code, text) = run_one("default", "IDENT-ADDR-01", &dir);
    assert_eq!(code, 0, "{text}");
    assert!(!dir.join("IDENT-ADDR-01.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scenario that names slot 1 in a session the server granted one slot
/// (it asked for one: a server may grant as few as that, RFC 8881
/// §18.36.3) cannot run there; the trial is skipped saying why, not failed.
/// So is one whose `kw: precondition` expectation does not hold.
const ONE_SLOT: &str = r#"area: slots
description: a scenario written for a server that grants two slots
scenarios:
  - id: ONE-SLOT-01
    title: slot 1 of a session granted one slot
    rfc: ["RFC 8881 §18.46.3"]
    kw: MUST
    steps:
      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1, save: x1}
      - create_session: {client: x1, save: s1, fore_slots: 1}
      - sequence: {session: s1, slot: 1, seqid: 1}
  - id: ONE-SLOT-02
    title: slot 0 of the same kind of session runs
    rfc: ["RFC 8881 §18.46.3"]
    kw: MUST
    steps:
      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1, save: x1}
      - create_session: {client: x1, save: s1, fore_slots: 1}
      - sequence: {session: s1, slot: 0}
  - id: ONE-SLOT-03
    title: a precondition that does not hold skips the trial
    rfc: ["RFC 8881 §18.35.3"]
    kw: MUST
    steps:
      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1, save: x1, expect: {status: NFS4ERR_SERVERFAULT, kw: precondition, why: "never answered"}}
      - create_session: {client: x1, save: s1}
"#;

#[test]
fn a_scenario_the_server_lawfully_cannot_run_is_skipped() {
    if !can_run("run_live", &[Need::Root, Need::Ganesha, Need::LiveCapture]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("trunkcheck-oneslot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let suite = dir.join("one-slot.yaml");
    std::fs::write(&suite, ONE_SLOT).expect("suite");
    let json = dir.join("out.json");
    let out = trunkcheck()
        .current_dir(repo())
        .args(["run", "--builtin", "default", "--json"])
        .arg(&json)
        .arg(&suite)
        .output()
        .expect("trunkcheck runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
            .unwrap_or_default();
    let outcome = |id: &str| {
        doc["scenarios"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["id"] == id).cloned())
            .unwrap_or_default()
    };
    let skipped = outcome("ONE-SLOT-01");
    assert_eq!(skipped["outcome"], "skipped", "{text}");
    let why = skipped["message"].as_str().unwrap_or("");
    assert!(
        why.contains("step 4") && why.contains("granted 1 slot(s)"),
        "{why}"
    );
    assert_eq!(outcome("ONE-SLOT-02")["outcome"], "passed", "{text}");
    let pre = outcome("ONE-SLOT-03");
    assert_eq!(pre["outcome"], "skipped", "{text}");
    let why = pre["message"].as_str().unwrap_or("");
    assert!(
        why.contains("step 2") && why.contains("a precondition does not hold"),
        "{why}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
