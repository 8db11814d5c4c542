//! `trunkcheck decode` as a user runs it: on the project's own Ganesha
//! captures, on hostile third-party captures, with unusable inputs, and with
//! its bounds set on the command line.

mod common;

use common::{repo, shared_capture, shared_captures, trunkcheck};

use std::path::Path;
use std::process::Output;

fn decode(args: &[&str], files: &[&Path]) -> Output {
    trunkcheck()
        .arg("decode")
        .args(args)
        .args(files)
        .output()
        .expect("run trunkcheck")
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {e}: {l}")))
        .collect()
}

#[test]
fn session_trunking_capture_decodes_with_identity_fields() {
    let file = repo().join("captures/ganesha-v41-session.pcap");
    let out = decode(&["--json"], &[&file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let msgs: Vec<_> = lines.iter().filter(|v| v["type"] == "message").collect();
    assert_eq!(msgs.len(), 32);
    // Every message carries the documented fields.
    for m in &msgs {
        for k in [
            "frame",
            "time",
            "src",
            "dst",
            "xid",
            "kind",
            "program",
            "version",
            "minorversion",
            "ops",
        ] {
            assert!(m.get(k).is_some(), "missing {k} in {m}");
        }
    }
    // BIND_CONN_TO_SESSION on the second connection, from 127.0.0.5.
    let bcts = msgs
        .iter()
        .find(|m| m["ops"][0] == "BIND_CONN_TO_SESSION" && m["kind"] == "call")
        .expect("BIND_CONN_TO_SESSION call");
    assert_eq!(bcts["frame"], 19);
    assert!(bcts["src"].as_str().unwrap().starts_with("127.0.0.5:"));
    assert_eq!(bcts["args"][0]["args"]["bctsa_dir"], "CDFC4_FORE_OR_BOTH");
    let reply = msgs
        .iter()
        .find(|m| m["kind"] == "reply" && m["xid"] == bcts["xid"])
        .expect("its reply");
    assert_eq!(reply["call_frame"], 19);
    assert_eq!(reply["status"], "NFS4_OK");
    assert_eq!(reply["res"][0]["res"]["bctsr_dir"], "CDFS4_BOTH");
    // The trunking probe on connection 2 got the same client ID, CONFIRMED_R.
    let probes: Vec<_> = msgs
        .iter()
        .filter(|m| m["kind"] == "reply" && m["ops"][0] == "EXCHANGE_ID")
        .collect();
    assert_eq!(probes.len(), 2);
    assert_eq!(
        probes[0]["res"][0]["res"]["eir_clientid"],
        probes[1]["res"][0]["res"]["eir_clientid"]
    );
    assert!(probes[1]["res"][0]["res"]["eir_flags"]
        .as_str()
        .unwrap()
        .contains("CONFIRMED_R"));
    // NFSv4.2 operations decoded.
    assert!(msgs.iter().any(|m| m["minorversion"] == 2
        && m["ops"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "READ_PLUS")));
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["calls"], 16);
    assert_eq!(summary["replies"], 16);
    assert_eq!(summary["connections"], 2);
    assert_eq!(summary["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn text_lines_show_who_is_who() {
    let file = repo().join("captures/ganesha-v41-session.pcap");
    let out = decode(&[], &[&file]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("reply") && l.contains("EXCHANGE_ID[clientid="))
        .expect("EXCHANGE_ID reply line");
    assert!(line.contains("major=\"trunkcheck-ganesha-a\""), "{line}");
    assert!(line.contains("scope=\"trunkcheck-scope\\x00\""), "{line}");
    assert!(line.trim_start().starts_with('9'), "frame 9: {line}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("16 calls, 16 replies"),
        "summary on stderr: {stderr}"
    );
}

#[test]
fn megabyte_read_replies_are_reassembled_from_many_segments() {
    let file = repo().join("captures/ganesha-v40-libnfs.pcap");
    let out = decode(&["--json"], &[&file]);
    assert!(out.status.success());
    let reads: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|v| v["type"] == "message" && v["kind"] == "reply")
        .filter(|v| {
            v["ops"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x == "READ"))
        })
        .collect();
    // The 22-byte read and the two reads of 1 MiB and 512 KiB.
    let big: Vec<_> = reads
        .iter()
        .filter(|r| r["frame"].as_u64() > r["first_frame"].as_u64())
        .collect();
    assert_eq!(big.len(), 2, "two READ replies span several frames");
    for r in big {
        assert_eq!(r["status"], "NFS4_OK");
        assert!(r["frame"].as_u64().unwrap() - r["first_frame"].as_u64().unwrap() >= 8);
    }
}

#[test]
fn hostile_captures_give_problems_with_frames_and_a_normal_exit() {
    let cases = [
        ("tcpdump__hoobr_nfs_printfh.pcap", "gap", 9),
        ("tcpdump__nfs-seg-fault-1.pcapng", "truncated-record", 1),
    ];
    for (name, kind, frame) in cases {
        let Some(file) = shared_capture(name) else {
            continue;
        };
        let out = decode(&["--json"], &[&file]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let summary = json_lines(&out).pop().expect("summary");
        let problems = summary["problems"].as_array().expect("problems");
        assert!(
            problems
                .iter()
                .any(|p| p["kind"] == kind && p["frame"] == frame),
            "{name}: expected a {kind} problem at frame {frame}: {problems:?}"
        );
    }
    // Every fuzzer crasher and overwritten capture: no crash, exit 0.
    let dir = shared_captures();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "md") {
            continue;
        }
        let out = decode(&["--json", "--problems"], &[&p]);
        assert_eq!(out.status.code(), Some(0), "{}", p.display());
    }
}

#[test]
fn unusable_files_are_named_and_the_others_still_decoded() {
    let good = repo().join("captures/ganesha-v41-session.pcap");
    let missing = repo().join("captures/no-such-file.pcap");
    let not_a_capture = repo().join("Cargo.toml");
    let out = decode(&[], &[&missing, &not_a_capture, &good]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-file.pcap"), "{stderr}");
    assert!(stderr.contains("Cargo.toml"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 32, "the good file was decoded");
}

// `trunkcheck decode` with its bounds set on the command line: the limits
// in force and how often each was reached appear in the summary, in text
// and in JSON.

/// `decode ARGS` on the project's v4.1 session capture (the limit tests).
fn decode_session(args: &[&str]) -> Output {
    decode(args, &[&repo().join("captures/ganesha-v41-session.pcap")])
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
    let out = decode_session(&["--json"]);
    assert!(out.status.success());
    let v = summary(&out);
    for l in v["limits"].as_array().expect("limits") {
        assert_eq!(l["hits"], 0, "{l}");
    }
    assert_eq!(limit(&v, "max_connections").0, 16_384);
    assert_eq!(v["peak_connections"], 2);
    assert_eq!(v["peak_pending_calls"], 1);
    let err = String::from_utf8_lossy(&decode_session(&[]).stderr).into_owned();
    assert!(!err.contains("limits reached"), "{err}");
}

#[test]
fn limits_set_on_the_command_line_are_reported_when_reached() {
    // The capture has two connections open at once and records up to a
    // few hundred bytes.
    let args = ["--json", "--max-connections", "1", "--max-record", "100"];
    let out = decode_session(&args);
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

    let out = decode_session(&["--max-connections", "1"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("limits reached: max_connections (1) reached"),
        "{err}"
    );
}
