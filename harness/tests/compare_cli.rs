//! `trunkcheck compare`: real run results of two built-in targets
//! (`data/compare/default.json` and `liar.json`: `trunkcheck run --builtin
//! default|liar --json … IDENT-` against NFS-Ganesha 4.3 in the lab) as one
//! matrix in text, JSON and HTML.

mod common;

use common::trunkcheck;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/compare")
        .join(name)
}

#[test]
fn ganesha_and_the_liar_side_by_side_with_disagreements_first() {
    let dir = std::env::temp_dir().join(format!("trunkcheck-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (json, html) = (dir.join("m.json"), dir.join("m.html"));
    let out = trunkcheck()
        .arg("compare")
        .arg(data("default.json"))
        .arg(data("liar.json"))
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .output()
        .expect("run trunkcheck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2 targets, 9 scenarios: 2 disagree"),
        "{text}"
    );
    let pos = |id: &str| text.find(&format!("\n{id} ")).unwrap_or(usize::MAX);
    // The two the liar fails and Ganesha passes come before everything else.
    assert!(pos("IDENT-CLAIM-01") < pos("IDENT-ADDR-02"), "{text}");
    assert!(pos("IDENT-SCOPE-02") < pos("IDENT-ADDR-02"), "{text}");
    assert!(pos("IDENT-ADDR-02") < pos("IDENT-ADDR-06"), "{text}");
    assert!(text.contains(
        "liar: every step held, but the passive rules found; passive trunk.same-clientid"
    ));

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parses");
    assert_eq!(doc["trunkcheck_compare"], 1);
    assert_eq!(doc["targets"][0]["label"], "default");
    assert_eq!(doc["targets"][1]["summary"]["skipped"], 6);
    let rows = doc["scenarios"].as_array().cloned().unwrap_or_default();
    let agreements: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["agreement"].as_str())
        .collect();
    assert_eq!(
        agreements,
        [
            "disagree",
            "disagree",
            "all-fail",
            "all-fail",
            "all-fail",
            "all-fail",
            "partly-run",
            "partly-run",
            "all-pass"
        ]
    );
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    let claim = row("IDENT-CLAIM-01");
    assert_eq!(claim["cells"][0]["outcome"], "passed");
    assert_eq!(claim["cells"][1]["outcome"], "failed");
    assert_eq!(claim["cells"][1]["passive"][0], "trunk.same-clientid");
    let addr = row("IDENT-ADDR-02");
    assert_eq!(addr["cells"][0]["step"], "step 5 (exchange_id)");
    assert_eq!(addr["cells"][0]["rule"], "RFC 8881 §2.10.5");
    assert_eq!(addr["cells"][1]["outcome"], "skipped");

    let page = std::fs::read_to_string(&html).expect("html");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for outside in [
        "http://", "https://", "<script", "<link", " src=", "@import",
    ] {
        assert!(
            !page.contains(outside),
            "the page loads something: {outside}"
        );
    }
    let disagree = page.find("targets disagree").unwrap_or(usize::MAX);
    assert!(disagree < page.find("every target passes").unwrap_or(0));
    assert!(page.contains("<td class=\"fail\"><span class=\"o\">FAIL</span> <span class=\"step\">step 5 (exchange_id)</span>"));
}

#[test]
fn unreadable_results_and_miscounted_labels_are_refused() {
    let out = trunkcheck()
        .arg("compare")
        .arg(data("default.json"))
        .arg(data("no-such.json"))
        .output()
        .expect("run trunkcheck");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.json: cannot read"));

    let out = trunkcheck()
        .arg("compare")
        .arg(data("default.json"))
        .args(["--label", "a", "--label", "b"])
        .output()
        .expect("run trunkcheck");
    assert_eq!(out.status.code(), Some(2));

    let out = trunkcheck()
        .arg("compare")
        .arg(data("default.json"))
        .arg(data("liar.json"))
        .args(["--label", "Ganesha 4.3", "--label", "liar"])
        .output()
        .expect("run trunkcheck");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Ganesha 4.3"));
}
