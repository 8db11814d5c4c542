//! `trunkcheck analyze`: the identity model rebuilt from real captures.

mod common;

use common::{repo, shared_capture, trunkcheck};

use std::path::{Path, PathBuf};

fn analyze(file: &Path) -> serde_json::Value {
    let out = trunkcheck()
        .args(["analyze", "--json"])
        .arg(file)
        .output()
        .expect("run trunkcheck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("one JSON document")
}

fn len(v: &serde_json::Value) -> usize {
    v.as_array().map_or(0, |a| a.len())
}

#[test]
fn a_whole_linux_client_lifetime_is_one_client_one_server_one_session() {
    let Some(file) = shared_capture("nfstrace__eth-ipv4-tcp-nfsv41.pcap") else {
        return;
    };
    let r = analyze(&file);
    assert_eq!(r["format"], "trunkcheck-analyze");
    assert_eq!(r["version"], 4);
    assert_eq!(r["files"], serde_json::json!([file.display().to_string()]));
    assert_eq!(r["merged"], false);
    assert_eq!(len(&r["servers"]), 1);
    assert_eq!(r["servers"][0]["endpoint"], "10.6.137.124:2049");
    let decl = &r["servers"][0]["declarations"][0];
    assert_eq!(decl["major_id"], "epbyminw1962t63.minsk.epam.com");
    assert_eq!(decl["scope"], "epbyminw1962t63.minsk.epam.com");
    assert_eq!(decl["minor_id"], 0);
    assert_eq!(len(&r["server_identities"]), 1);
    assert_eq!(len(&r["clients"]), 1);
    assert_eq!(r["clients"][0]["owner"], "Linux NFSv4.1 epbyminw1584");
    assert_eq!(len(&r["clients"][0]["incarnations"]), 1);
    assert_eq!(len(&r["client_ids"]), 1);
    let cid = &r["client_ids"][0];
    assert_eq!(cid["clientid"], "0x964c915403000000");
    assert_eq!(cid["issued_frame"], 4);
    assert_eq!(cid["confirmed_frame"], 6);
    assert_eq!(cid["reclaim_complete_frame"], 10);
    assert_eq!(cid["destroyed_frame"], 1062);
    assert_eq!(len(&r["sessions"]), 1);
    let s = &r["sessions"][0];
    assert_eq!(s["id"], "964c9154030000000200000000000000");
    assert_eq!(s["clientid"], "0x964c915403000000");
    assert_eq!(len(&s["connections"]), 1);
    assert_eq!(s["connections"][0]["how"], "CREATE_SESSION");
    assert_eq!(s["connections"][0]["dir"], "CDFS4_BOTH");
    assert_eq!(s["destroyed_frame"], 1060);
    assert_eq!(len(&r["findings"]), 0);
}

#[test]
fn a_session_trunked_over_two_connections() {
    let r = analyze(&repo().join("captures/ganesha-v41-session.pcap"));
    assert_eq!(len(&r["servers"]), 1);
    assert_eq!(len(&r["clients"]), 1);
    let c = &r["clients"][0];
    assert_eq!(c["sources"], serde_json::json!(["127.0.0.1", "127.0.0.5"]));
    // The trunking probe returned the same client ID: still one record.
    assert_eq!(len(&r["client_ids"]), 1);
    let s = &r["sessions"][0];
    let conns = s["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 2);
    assert_eq!(conns[0]["how"], "CREATE_SESSION");
    assert_eq!(conns[1]["how"], "BIND_CONN_TO_SESSION");
    assert_eq!(conns[1]["dir"], "CDFS4_BOTH");
    assert!(conns[1]["client"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.5:"));
    assert_eq!(r["servers"][0]["declarations"][0]["replies"], 2);
}

#[test]
fn a_capture_starting_mid_session_models_what_it_can() {
    let Some(file) = shared_capture("pnfs-lattice__0003__phase_a_linux_default.pcap") else {
        return;
    };
    let r = analyze(&file);
    assert_eq!(len(&r["clients"]), 0, "no EXCHANGE_ID in the capture");
    assert_eq!(r["servers"][0]["declarations"], serde_json::json!([]));
    assert_eq!(
        r["server_identities"][0]["key"]["address"],
        "10.0.0.11:2049"
    );
    let sessions = r["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0]["clientid"].is_null());
    assert!(sessions[0]["connections"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["how"] == "SEQUENCE"));
    assert_eq!(len(&r["findings"]), 0);
}

#[test]
fn nfsv40_clients_and_client_ids_keyed_by_server_address() {
    let r = analyze(&repo().join("captures/ganesha-v40-libnfs.pcap"));
    let clients = r["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 4, "libnfs uses one id string per process");
    assert!(clients.iter().all(|c| c["kind"] == "nfs_client_id4"));
    let ids = r["client_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 4);
    for id in ids {
        assert_eq!(id["server"]["address"], "127.0.0.2:2049");
        assert!(id["confirmed_frame"].is_number());
    }
}

#[test]
fn graph_draws_identities_sessions_and_connections() {
    let dir = std::env::temp_dir().join(format!("trunkcheck-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dot = dir.join("model.dot");
    let out = trunkcheck()
        .args(["analyze", "--graph"])
        .arg(&dot)
        .arg(repo().join("captures/ganesha-v41-session.pcap"))
        .output()
        .expect("run trunkcheck");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&dot).expect("DOT written");
    assert!(text.starts_with("digraph trunkcheck {"));
    assert!(text.contains("subgraph cluster_server_0"));
    assert!(
        text.contains("major id \\\"trunkcheck-ganesha-a\\\""),
        "{text}"
    );
    assert!(
        text.contains("BIND_CONN CDFS4_BOTH") && text.contains("from 127.0.0.5:"),
        "{text}"
    );
    assert!(text.trim_end().ends_with('}'));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture's expected verdict (`.expected` files): one line per finding
/// `analyze` must report, its rule id (and no other finding), `not-judged: ID` for a rule
/// the capture must leave not judged, `options: ...` for analyze's options
/// (e.g. `--complete` for a capture that holds all its clients' traffic),
/// `#` comments.
struct Expected {
    rules: Vec<String>,
    not_judged: Vec<String>,
    options: Vec<String>,
}

impl Expected {
    fn read(path: &Path) -> Expected {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|_| panic!("no {}", path.display()));
        let mut e = Expected {
            rules: Vec::new(),
            not_judged: Vec::new(),
            options: Vec::new(),
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(o) = line.strip_prefix("options:") {
                e.options.extend(o.split_whitespace().map(str::to_string));
            } else if let Some(r) = line.strip_prefix("not-judged:") {
                e.not_judged.push(r.trim().to_string());
            } else {
                e.rules.push(line.to_string());
            }
        }
        e.rules.sort_unstable();
        e.not_judged.sort_unstable();
        e
    }

    /// Checks an `analyze --json` document against it.
    fn check(&self, r: &serde_json::Value, what: &str) {
        let ids = |key: &str| {
            let mut v: Vec<String> = r[key]
                .as_array()
                .unwrap_or_else(|| panic!("{key} in {what}"))
                .iter()
                .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(ids("findings"), self.rules, "findings of {what}");
        let mut not_judged = ids("not_judged");
        not_judged.dedup();
        for n in &self.not_judged {
            assert!(
                not_judged.contains(n),
                "{what}: {n} must be not judged, got {not_judged:?}"
            );
        }
    }
}

/// Every capture in `captures/`, `captures/linux/` and
/// `captures/precision/` has a `.expected` file (see [`Expected`]) and
/// `analyze` gives exactly that verdict.
#[test]
fn each_recorded_capture_gives_exactly_its_expected_findings() {
    let mut files = Vec::new();
    for sub in ["", "linux", "precision", "krb5"] {
        let Ok(dir) = std::fs::read_dir(repo().join("captures").join(sub)) else {
            continue;
        };
        files.extend(dir.flatten().map(|e| e.path()));
    }
    files.sort();
    let mut checked = 0;
    for p in files {
        if p.extension().is_none_or(|x| x != "pcap" && x != "pcapng") {
            continue;
        }
        let expected = Expected::read(&p.with_extension("expected"));
        let out = trunkcheck()
            .args(["analyze", "--json"])
            .args(&expected.options)
            .arg(&p)
            .output()
            .expect("run trunkcheck");
        let r: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("JSON");
        expected.check(&r, &p.display().to_string());
        let violation = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "violation");
        assert_eq!(
            out.status.code(),
            Some(if violation { 1 } else { 0 }),
            "{}",
            p.display()
        );
        checked += 1;
    }
    assert!(checked >= 3);
}

#[test]
fn two_servers_claiming_one_identity_are_caught_with_frames() {
    // Two servers declaring one identity, as the suite's liar target runs
    // them: the second gives the client another client ID while the first
    // is still in use (its session destroyed afterwards, frame 18).
    let r = analyze_any(&repo().join("captures/suite-two-servers-claim-one.pcap"));
    let f = &r["findings"][0];
    assert_eq!(f["rule"], "trunk.same-clientid");
    assert_eq!(f["party"], "server");
    assert_eq!(f["severity"], "violation");
    assert_eq!(f["frames"], serde_json::json!([9, 13, 15, 18]));
    assert_eq!(
        f["servers"],
        serde_json::json!(["127.0.0.3:2049", "127.0.0.2:2049"])
    );
    assert_eq!(
        len(&r["server_identities"]),
        1,
        "both addresses declare one identity"
    );
    assert_eq!(len(&r["client_ids"]), 2, "but hand out two client IDs");
}

/// `analyze --json --complete` (a capture of the project's own, with all
/// its traffic) whatever the exit status.
fn analyze_any(file: &Path) -> serde_json::Value {
    let out = trunkcheck()
        .args(["analyze", "--json", "--complete"])
        .arg(file)
        .output()
        .expect("run trunkcheck");
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("one JSON document")
}

/// Every directory under `captures/merge/` holds capture files analysed
/// together with `--merge` (in name order) and an `expected` verdict.
#[test]
fn merged_captures_give_their_expected_findings_with_evidence_by_file() {
    let mut dirs = Vec::new();
    for parent in ["captures/merge", "captures/precision/merge"] {
        if let Ok(rd) = std::fs::read_dir(repo().join(parent)) {
            dirs.extend(rd.flatten().map(|e| e.path()));
        }
    }
    let mut checked = 0;
    for d in dirs {
        if !d.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("merge dir")
            .flatten()
            .map(|f| f.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        files.sort();
        assert!(files.len() >= 2, "{}", d.display());
        let expected = Expected::read(&d.join("expected"));
        let out = trunkcheck()
            .args(["analyze", "--merge", "--json"])
            .args(&expected.options)
            .args(&files)
            .output()
            .expect("run trunkcheck");
        let r: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
                .expect("one JSON document");
        assert_eq!(r["merged"], true);
        assert_eq!(len(&r["files"]), files.len());
        expected.check(&r, &d.display().to_string());
        for f in r["findings"].as_array().unwrap() {
            assert_eq!(len(&f["evidence"]), len(&f["frames"]));
        }
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn two_servers_captured_apart_merge_into_one_observation() {
    let d = repo().join("captures/merge/two-servers-one-claim");
    let (a, b) = (d.join("a-127.0.0.2.pcap"), d.join("b-127.0.0.3.pcap"));
    // Apart, neither capture shows anything wrong.
    assert_eq!(len(&analyze(&a)["findings"]), 0);
    assert_eq!(len(&analyze(&b)["findings"]), 0);
    // Together they show one declared server handing the same client two
    // client IDs; whether the first was still alive when the second came
    // (no restart in between: a server was seen answering again 72 ms after
    // one) the capture does not show, so it is not judged.
    let out = trunkcheck()
        .args(["analyze", "--merge", "--json", "--complete"])
        .args([&a, &b])
        .output()
        .expect("run trunkcheck");
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("JSON");
    assert_eq!(len(&r["server_identities"]), 1);
    assert_eq!(len(&r["connections"]), 2);
    assert_eq!(len(&r["client_ids"]), 2);
    assert_eq!(len(&r["findings"]), 0);
    assert_eq!(r["not_judged"][0]["rule"], "trunk.same-clientid");
    assert_eq!(
        r["frame_map"],
        serde_json::json!([[1, 0, 1], [12, 1, 1], [23, 0, 12], [26, 1, 12]])
    );
    // The text report names connections (and evidence) by file.
    let out = trunkcheck()
        .args(["analyze", "--merge", "--complete"])
        .args([&a, &b])
        .output()
        .expect("run trunkcheck");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("issued a-127.0.0.2.pcap#6"), "{text}");
    assert!(text.contains("c0@1 127.0.0.1:50045"), "{text}");
}

/// The same capture merged with a copy of itself stands for one connection
/// seen at two capture points: each file keeps its own connections (twice
/// as many), the RPCs are seen twice as retries, and the verdict is the
/// file's own.
#[test]
fn a_capture_merged_with_its_copy_keeps_its_verdict() {
    let dir = std::env::temp_dir().join(format!("trunkcheck-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["ganesha-v41-session", "ganesha-two-servers-one-claim"] {
        let orig = repo().join(format!("captures/{name}.pcap"));
        let copy = dir.join(format!("{name}-copy.pcap"));
        std::fs::copy(&orig, &copy).unwrap();
        let alone = analyze_any(&orig);
        let out = trunkcheck()
            .args(["analyze", "--merge", "--json", "--complete"])
            .args([&orig, &copy])
            .output()
            .expect("run trunkcheck");
        let merged: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("JSON");
        assert_eq!(
            len(&merged["connections"]),
            2 * len(&alone["connections"]),
            "{name}"
        );
        let rules = |r: &serde_json::Value| {
            let mut v: Vec<String> = r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["rule"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        assert_eq!(rules(&merged), rules(&alone), "{name}");
        assert_eq!(len(&merged["sessions"]), len(&alone["sessions"]), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn model_bounds_are_listed_and_quiet_when_not_reached() {
    let Some(file) = shared_capture("nfstrace__eth-ipv4-tcp-nfsv41.pcap") else {
        return;
    };
    let r = analyze(&file);
    let limits = r["model_limits"].as_array().expect("model_limits array");
    let names: Vec<&str> = limits.iter().filter_map(|h| h["name"].as_str()).collect();
    for name in [
        "max_entities/connections",
        "max_entities/clients",
        "max_entities/client_ids",
        "max_entities/sessions",
        "max_events/recovery",
        "max_events/findings",
        "max_pending/calls",
        "max_pending/callbacks",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for h in limits {
        assert_eq!(h["hits"], 0, "{h}");
        assert!(h["limit"].as_u64().is_some_and(|l| l > 0), "{h}");
    }
    let out = trunkcheck()
        .arg("analyze")
        .arg(&file)
        .output()
        .expect("run trunkcheck");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Findings"), "{text}");
    assert!(!text.contains("model limits reached"), "{text}");
}

/// The recorded krb5 capture: every EXCHANGE_ID names its RPCSEC_GSS
/// flavor and the target principal of its context, each context its
/// creation and use; the client principal is nowhere (it is encrypted).
#[test]
fn krb5_exchange_ids_name_their_flavor_and_target_principal() {
    let file = repo().join("captures/krb5/ganesha-krb5-exchange-id.pcap");
    let target = "nfs/srv1.trunkcheck.test@TRUNKCHECK.TEST";
    let out = trunkcheck()
        .args(["analyze", "--json"])
        .arg(&file)
        .output()
        .expect("run trunkcheck");
    let r: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("JSON");
    let contexts = r["gss_contexts"].as_array().expect("gss_contexts");
    assert_eq!(contexts.len(), 3);
    let flavors: Vec<(&str, u64, u64)> = contexts
        .iter()
        .map(|c| {
            assert_eq!(c["target"]["text"], target);
            assert_eq!(c["mech"], "krb5");
            assert_eq!(c["creation"]["gss_major"], 0);
            (
                c["services"][0].as_str().unwrap_or("-"),
                c["creation"]["init_frame"].as_u64().unwrap_or(0),
                c["creation"]["established_frame"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        flavors,
        vec![
            ("rpc_gss_svc_none", 4, 6),
            ("rpc_gss_svc_integrity", 10, 11),
            ("rpc_gss_svc_privacy", 14, 15)
        ]
    );
    let services: Vec<&str> = r["client_ids"]
        .as_array()
        .expect("client_ids")
        .iter()
        .map(|c| {
            assert_eq!(c["exchange_id_gss"]["target"]["text"], target);
            c["exchange_id_gss"]["service"].as_str().unwrap_or("-")
        })
        .collect();
    assert_eq!(
        services,
        vec![
            "rpc_gss_svc_none",
            "rpc_gss_svc_integrity",
            "rpc_gss_svc_integrity"
        ]
    );
    assert_eq!(
        r["server_identities"][0]["gss_target_principals"],
        serde_json::json!([{"endpoint": "127.77.65.1:41815", "targets": [target]}])
    );
    let text = trunkcheck()
        .arg("analyze")
        .arg(&file)
        .output()
        .expect("run trunkcheck");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "state protection asked SP4_MACH_CRED under krb5i, target {target}, granted SP4_NONE"
        )),
        "{text}"
    );
    assert!(text.contains("\nGSS contexts"), "{text}");
    assert!(
        !text.contains("alice") && !text.contains("host/client1"),
        "{text}"
    );
}
