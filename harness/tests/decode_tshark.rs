//! `trunkcheck decode` against tshark on every real capture: for every frame
//! holding NFSv4 (or NFSv4 callback) RPC messages, both must see the same
//! messages (xid and call/reply), the same operations in the same order, and
//! the same COMPOUND and operation statuses.
//!
//! tshark must be installed (`apt-get install tshark`). Without it the test
//! prints a note and passes, unless `TRUNKCHECK_REQUIRE_TSHARK=1` (set by
//! `scripts/test-all.sh`, so CI always compares).
//!
//! Frames where tshark is known to be wrong are listed in `TSHARK_WRONG`
//! with the reason; everything else must agree exactly.

mod common;

use common::{can_run, repo, shared_captures, trunkcheck, Need};

use analyzer::nfs4::{CbOpnum4, NfsOpnum4, NfsStat4};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// (file name, frame, why tshark's view is wrong there).
const TSHARK_WRONG: &[(&str, u64, &str)] = &[];

/// What one side saw in one frame: per message (xid, msgtyp, opcodes,
/// statuses), in stream order.
type FrameView = Vec<(u32, u32, Vec<u32>, Vec<u32>)>;

fn captures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [shared_captures(), repo().join("captures")] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if matches!(ext, "pcap" | "pcapng" | "gz") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn opnum(name: &str) -> u32 {
    NfsOpnum4::from_name(&format!("OP_{name}"))
        .map(|o| o.0)
        .or_else(|| CbOpnum4::from_name(&format!("OP_{name}")).map(|o| o.0))
        .unwrap_or_else(|| panic!("unknown op name {name}"))
}

fn status_num(v: &serde_json::Value) -> u32 {
    match v {
        serde_json::Value::String(s) => NfsStat4::from_name(s)
            .map(|s| s.0)
            .unwrap_or_else(|| s.parse().unwrap_or(u32::MAX)),
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(u64::MAX) as u32,
        _ => u32::MAX,
    }
}

/// Our view: NFSv4 and callback messages per frame, plus the TCP ports of
/// every connection that carried RPC (tshark needs them to find RPC on
/// ports it does not know).
fn ours(file: &Path) -> (BTreeMap<u64, FrameView>, BTreeSet<u16>) {
    let out = trunkcheck()
        .arg("decode")
        .arg("--json")
        .arg(file)
        .output()
        .expect("run trunkcheck");
    assert!(
        out.status.success(),
        "{}: trunkcheck decode failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut frames: BTreeMap<u64, FrameView> = BTreeMap::new();
    let mut ports = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: bad JSON line {e}: {line}", file.display()));
        if v["type"] != "message" {
            continue;
        }
        for k in ["src", "dst"] {
            if let Some(p) = v[k].as_str().and_then(|s| s.rsplit(':').next()) {
                ports.insert(p.parse().unwrap_or(0));
            }
        }
        let prog = v["program"].as_u64();
        let vers = v["version"].as_u64();
        let nfs4 = prog == Some(100_003) && vers == Some(4);
        let cb = v["procedure"].is_number() && !nfs4 && prog.is_some_and(|p| p >= 0x4000_0000);
        if !(nfs4 || cb) {
            continue;
        }
        let ops: Vec<u32> = v["ops"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| o.as_str()).map(opnum).collect())
            .unwrap_or_default();
        let mut statuses = Vec::new();
        if v["kind"] == "reply" && !v["status"].is_null() {
            statuses.push(status_num(&v["status"]));
            for r in v["res"].as_array().into_iter().flatten() {
                statuses.push(status_num(&r["status"]));
            }
        }
        let msgtyp = if v["kind"] == "call" { 0 } else { 1 };
        let frame = v["frame"].as_u64().expect("frame");
        let xid = v["xid"].as_u64().expect("xid") as u32;
        frames
            .entry(frame)
            .or_default()
            .push((xid, msgtyp, ops, statuses));
    }
    (frames, ports)
}

fn split(field: &str) -> Vec<&str> {
    if field.is_empty() {
        Vec::new()
    } else {
        field.split(',').collect()
    }
}

fn num(s: &str) -> u32 {
    if let Some(h) = s.strip_prefix("0x") {
        u32::from_str_radix(h, 16).unwrap_or(u32::MAX)
    } else {
        s.parse().unwrap_or(u32::MAX)
    }
}

/// tshark's view of the same frames.
fn theirs(file: &Path, ports: &BTreeSet<u16>) -> BTreeMap<u64, FrameView> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(file);
    for p in ports {
        if *p != 2049 && *p != 0 {
            cmd.arg("-d").arg(format!("tcp.port=={p},rpc"));
        }
    }
    cmd.args([
        "-Y",
        "rpc",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "frame.number",
        "-e",
        "rpc.xid",
        "-e",
        "rpc.msgtyp",
        "-e",
        "rpc.program",
        "-e",
        "rpc.programversion",
        "-e",
        "nfs.opcode",
        "-e",
        "nfs.cb.operation",
        "-e",
        "nfs.nfsstat4",
    ]);
    let out = cmd.output().expect("run tshark");
    let mut frames = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 8 {
            continue;
        }
        let progs = split(f[3]);
        let vers = split(f[4]);
        let nfs4 = progs
            .iter()
            .zip(vers.iter())
            .any(|(p, v)| (num(p) == 100_003 && num(v) == 4) || num(p) >= 0x4000_0000);
        if !nfs4 {
            continue;
        }
        let xids = split(f[1]);
        let types = split(f[2]);
        let ops: Vec<u32> = split(f[5])
            .into_iter()
            .chain(split(f[6]))
            .map(num)
            .collect();
        let statuses: Vec<u32> = split(f[7]).into_iter().map(num).collect();
        // tshark aggregates the fields of all messages in a frame; keep them
        // per frame as one message-list entry per xid with the frame's ops
        // and statuses attached to the first (compared the same way below).
        let mut view: FrameView = xids
            .iter()
            .zip(types.iter())
            .map(|(x, t)| (num(x), num(t), Vec::new(), Vec::new()))
            .collect();
        if let Some(first) = view.first_mut() {
            first.2 = ops;
            first.3 = statuses;
        }
        frames.insert(num(f[0]) as u64, view);
    }
    frames
}

/// Ours flattened the same way tshark aggregates a frame.
fn aggregate(view: &FrameView) -> FrameView {
    let mut out: FrameView = view
        .iter()
        .map(|(x, t, _, _)| (*x, *t, Vec::new(), Vec::new()))
        .collect();
    if let Some(first) = out.first_mut() {
        first.2 = view.iter().flat_map(|m| m.2.clone()).collect();
        first.3 = view.iter().flat_map(|m| m.3.clone()).collect();
    }
    out
}

/// Same messages and operations; statuses: the first (a COMPOUND status)
/// equal and ours a subsequence of tshark's, since tshark's `nfs.nfsstat4`
/// also holds statuses nested in results (e.g. each READDIR entry's
/// rdattr_error), which are not operation statuses.
fn same(a: Option<&FrameView>, b: Option<&FrameView>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return a.is_none() && b.is_none();
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.0 == y.0
                && x.1 == y.1
                && x.2 == y.2
                && x.3.first() == y.3.first()
                && is_subsequence(&x.3, &y.3)
        })
}

fn is_subsequence(small: &[u32], big: &[u32]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

#[test]
fn decode_agrees_with_tshark_on_every_capture() {
    if !can_run("decode_agrees_with_tshark", &[Need::Tshark]) {
        return;
    }
    let files = captures();
    assert!(!files.is_empty(), "no captures found");
    let mut total_messages = 0usize;
    let mut total_frames = 0usize;
    let mut problems = Vec::new();
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (ours, ports) = ours(file);
        let theirs = theirs(file, &ports);
        let frames: BTreeSet<u64> = ours.keys().chain(theirs.keys()).copied().collect();
        let mut agree = 0usize;
        for frame in frames {
            let known_wrong = TSHARK_WRONG
                .iter()
                .any(|(f, n, _)| *f == name && *n == frame);
            let a = ours.get(&frame).map(aggregate);
            let b = theirs.get(&frame).cloned();
            if same(a.as_ref(), b.as_ref()) {
                agree += a.map_or(0, |v| v.len());
                total_frames += 1;
            } else if !known_wrong {
                problems.push(format!(
                    "{name} frame {frame}:\n    ours   {a:?}\n    tshark {b:?}"
                ));
            }
        }
        total_messages += agree;
        eprintln!("{name}: {agree} NFSv4 messages agree");
    }
    eprintln!(
        "agreement: {total_messages} messages in {total_frames} frames over {} captures; {} frames differ",
        files.len(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "differences from tshark:\n{}",
        problems.join("\n")
    );
}

/// Our target principal of each RPCSEC_GSS context-creation call, by frame:
/// (name components joined by commas, realm), from `decode --json`.
fn our_gss_targets(file: &Path) -> BTreeMap<u64, (String, String)> {
    let out = trunkcheck()
        .arg("decode")
        .arg("--json")
        .arg(file)
        .output()
        .expect("run trunkcheck");
    let mut targets = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let t = &v["gss_init"]["target"];
        if t.is_null() {
            continue;
        }
        let components: Vec<&str> = t["components"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let realm = t["realm"].as_str().unwrap_or_default().to_string();
        let frame = v["frame"].as_u64().expect("frame");
        targets.insert(frame, (components.join(","), realm));
    }
    targets
}

/// tshark's view of the same: `kerberos.SNameString` and `kerberos.realm`
/// of every RPCSEC_GSS_INIT / CONTINUE_INIT call frame that has them.
fn tshark_gss_targets(file: &Path, ports: &BTreeSet<u16>) -> BTreeMap<u64, (String, String)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(file);
    for p in ports {
        if *p != 2049 && *p != 0 {
            cmd.arg("-d").arg(format!("tcp.port=={p},rpc"));
        }
    }
    cmd.args([
        "-Y",
        "rpc.msgtyp == 0 && (rpc.authgss.procedure == 1 || rpc.authgss.procedure == 2)",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "frame.number",
        "-e",
        "kerberos.SNameString",
        "-e",
        "kerberos.realm",
    ]);
    let out = cmd.output().expect("run tshark");
    let mut targets = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f[1].is_empty() {
            continue;
        }
        targets.insert(num(f[0]) as u64, (f[1].to_string(), f[2].to_string()));
    }
    targets
}

/// The target principal `decode` reads from each RPCSEC_GSS context
/// creation (the Kerberos ticket's sname and realm) is the one tshark
/// dissects, on every capture; the recorded krb5 capture has three.
#[test]
fn gss_target_principals_agree_with_tshark_on_every_capture() {
    if !can_run("gss_target_principals_agree_with_tshark", &[Need::Tshark]) {
        return;
    }
    let mut agree = 0usize;
    let mut problems = Vec::new();
    let mut krb5_capture = 0usize;
    for file in captures()
        .iter()
        .chain([repo().join("captures/krb5/ganesha-krb5-exchange-id.pcap")].iter())
    {
        if !file.exists() {
            continue;
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (_, ports) = ours(file);
        let (a, b) = (our_gss_targets(file), tshark_gss_targets(file, &ports));
        if a != b {
            problems.push(format!("{name}:\n    ours   {a:?}\n    tshark {b:?}"));
        }
        agree += a.len();
        if name == "ganesha-krb5-exchange-id.pcap" {
            krb5_capture = a.len();
        }
    }
    eprintln!("target principals: {agree} context creations agree with tshark");
    assert!(
        problems.is_empty(),
        "differences from tshark:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        krb5_capture, 3,
        "three RPCSEC_GSS_INIT calls in the krb5 capture"
    );
}
