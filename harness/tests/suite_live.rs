//! The conformance suite against real NFS-Ganesha started by the built-in
//! launcher: the whole suite against the `default` target must match the
//! committed baseline of Ganesha's known failures, and a deliberately
//! misconfigured target (two independent instances claiming one owner and
//! scope) must fail the identity scenarios, naming the rule.
//!
//! Needs root, `ganesha.nfsd` and a build with `--features live`; skipped
//! (with the reason printed) otherwise, unless TRUNKCHECK_REQUIRE_GANESHA=1
//! (set by `.ci/run`) demands it.

mod common;

use common::{can_run, repo, trunkcheck, Need};

use std::path::Path;

fn run(args: &[&str], json: &Path) -> (i32, serde_json::Value, String) {
    let out = trunkcheck()
        .current_dir(repo())
        .arg("run")
        .args(args)
        .arg("--json")
        .arg(json)
        .output()
        .expect("trunkcheck runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let doc = std::fs::read_to_string(json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), doc, text)
}

#[test]
fn the_suite_against_ganesha_matches_the_baseline_and_a_liar_is_caught() {
    if !can_run(
        "suite_live",
        &[Need::Root, Need::Ganesha, Need::LiveCapture],
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("trunkcheck-suite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let baseline = repo().join("suites/baselines/ganesha-4.3.yaml");
    let baseline = baseline.to_string_lossy().to_string();
    let (code, doc, text) = run(
        &["--baseline", &baseline, "--test-threads", "4"],
        &dir.join("default.json"),
    );
    common::assert_matches_baseline(code, &doc, &text, 55);

    // The misconfigured target: the claim scenario fails, naming the rule.
    let (code, doc, text) = run(
        &["--builtin", "liar", "IDENT-CLAIM"],
        &dir.join("liar.json"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "a lying server must fail the run:\n{text}");
    let claim = doc["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == "IDENT-CLAIM-01"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(claim["outcome"], "failed", "{text}");
    let msg = claim["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("trunk.same-clientid") && msg.contains("RFC 8881 §2.10.5"),
        "{msg}"
    );
}
