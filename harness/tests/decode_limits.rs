//! `trunkcheck decode` with its bounds set on the command line: the limits
//! in force and how often each was reached appear in the summary, in text
//! and in JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/ganesha-v41-session.pcap")
}

fn decode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trunkcheck"))
        .arg("decode")
        .args(args)
        .arg(capture())
        .output()
        .expect("run trunkcheck")
}

/// The JSON summary object (the last line).
fn summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().expect("a summary line");
    let v: serde_json::Value = serde_json::from_str(last).expect("JSON summary");
    assert_eq!(v["type"], "summary");
    v
}

fn limit(v: &serde_json::Value, name: &str) -> (u64, u64) {
    let l = v["limits"]
        .as_array()
        .expect("limits array")
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no limit {name}"));
    (
        l["limit"].as_u64().expect("limit"),
        l["hits"].as_u64().expect("hits"),
    )
}

#[test]
fn default_limits_are_not_reached_on_a_normal_capture() {
    let out = decode(&["--json"]);
    assert!(out.status.success());
    let v = summary(&out);
    for l in v["limits"].as_array().expect("limits") {
        assert_eq!(l["hits"], 0, "{l}");
    }
    assert_eq!(limit(&v, "max_connections").0, 16_384);
    assert_eq!(v["peak_connections"], 2);
    assert_eq!(v["peak_pending_calls"], 1);
    let err = String::from_utf8_lossy(&decode(&[]).stderr).into_owned();
    assert!(!err.contains("limits reached"), "{err}");
}

#[test]
fn limits_set_on_the_command_line_are_reported_when_reached() {
    // The capture has two connections open at once and records up to a
    // few hundred bytes.
    let args = ["--json", "--max-connections", "1", "--max-record", "100"];
    let out = decode(&args);
    assert!(out.status.success());
    let v = summary(&out);
    let (max, evictions) = limit(&v, "max_connections");
    assert_eq!(max, 1);
    assert!(evictions >= 1, "{v}");
    let (max, oversized) = limit(&v, "max_record");
    assert_eq!(max, 100);
    assert!(oversized >= 1, "{v}");
    assert_eq!(v["peak_connections"], 1);
    let kinds: Vec<&str> = v["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"oversized-record"), "{kinds:?}");

    let out = decode(&["--max-connections", "1"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("limits reached: max_connections (1) reached"),
        "{err}"
    );
}
