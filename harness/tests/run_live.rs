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
