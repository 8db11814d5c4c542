//! The conformance suite against real NFS-Ganesha started by the built-in
//! launcher: the whole suite against the `default` target must match the
//! committed baseline of Ganesha's known failures and expected warnings
//! (warnings pass, shown in the libtest line and the JSON; `--strict`
//! fails them unless the baseline expects them), and a deliberately
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
    assert_eq!(code, 0, "the suite regressed against the baseline:\n{text}");
    let summary = &doc["summary"];
    assert_eq!(summary["failed"], 0, "{text}");
    assert!(summary["passed"].as_u64().unwrap_or(0) >= 90, "{summary}");
    // A SHOULD-level miss passes with its warning, in every output.
    assert!(
        text.lines()
            .any(|l| l.contains(" REC-FLAG-01 ") && l.ends_with("... ok (1 known warning)")),
        "the libtest line shows the warning:\n{text}"
    );
    assert!(summary["warnings"].as_u64().unwrap_or(0) >= 1, "{summary}");
    let flag = doc["scenarios"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == "REC-FLAG-01"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(flag["outcome"], "passed", "{flag}");
    assert!(
        flag["warnings"][0].as_str().is_some_and(
            |w| w.contains("RESTART_RECLAIM_NEEDED") && w.contains("strength: warning")
        ),
        "{flag}"
    );
    let stale = doc["stale_baseline_entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        stale.is_empty(),
        "baseline entries that now pass or were not run: {stale:?}"
    );

    // --strict fails a trial's warnings unless the baseline expects them.
    let (code, doc, text) = run(
        &["--strict", "--exact", "REC-FLAG-01"],
        &dir.join("strict.json"),
    );
    assert_eq!(code, 1, "--strict fails a warning:\n{text}");
    assert_eq!(doc["scenarios"][0]["outcome"], "failed", "{text}");
    let (code, _, text) = run(
        &[
            "--strict",
            "--baseline",
            &baseline,
            "--exact",
            "REC-FLAG-01",
        ],
        &dir.join("strict-known.json"),
    );
    assert_eq!(code, 0, "an expected warning passes even --strict:\n{text}");

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
