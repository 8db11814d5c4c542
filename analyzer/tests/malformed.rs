//! The malformed-input corpus: every file in `tests/malformed/` is decoded
//! (pipeline and identity model) and what came out is checked against the
//! file's block in `tests/malformed/EXPECTED` (the format is described at
//! the top of that file). Every file must finish without a panic, within a
//! time limit, and every file must have expectations: a new file without a
//! block fails the test, and so does a block without a file.
//!
//! `MALFORMED_SHOW=1` prints every measured value of every file (to review
//! when writing the block of a new file). The corpus is rebuilt with
//! `cargo run -p trunkcheck-analyzer --example gen_malformed -- analyzer/tests/malformed`.

use analyzer::exchange::{Message, MessageSink, MsgKind, Notice, Program};
use analyzer::model::ModelLimits;
use analyzer::pipeline::{decode_file, PipelineLimits, PipelineStats};
use analyzer::rules::Analysis;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How long one small file may take before it counts as a hang (generous:
/// the files are a few KiB and decode in microseconds).
const HANG: Duration = Duration::from_secs(60);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

/// A message as the test sees it.
struct Seen {
    frame: u64,
    kind: MsgKind,
    program: Program,
    call_frame: Option<u64>,
    error: bool,
    ops: Vec<&'static str>,
}

/// Records messages and feeds the identity model.
struct Observer {
    seen: Vec<Seen>,
    analysis: Analysis,
}

impl MessageSink for Observer {
    fn message(&mut self, m: &Message<'_>) {
        self.seen.push(Seen {
            frame: m.frame,
            kind: m.kind,
            program: m.program,
            call_frame: m.call_frame,
            error: m.error.is_some(),
            ops: m.op_names(),
        });
        self.analysis.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        self.analysis.notice(n);
    }

    fn finish(&mut self) {
        self.analysis.finish();
    }
}

/// Everything measured on one file, as `key = value` pairs.
fn measure(path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let sink = Observer {
        seen: Vec::new(),
        analysis: Analysis::new(ModelLimits::default()),
    };
    let (obs, stats) = match decode_file(path, PipelineLimits::default(), sink, |_, _| {}) {
        Ok(r) => r,
        Err(e) => {
            out.insert("open".into(), format!("error {}", e.kind().name()));
            return out;
        }
    };
    out.insert("open".into(), "ok".into());
    out.insert(
        "read_error".into(),
        match (
            stats.read_error_kind,
            stats.problems.iter().find(|p| p.kind == "read-error"),
        ) {
            (Some(k), Some(p)) => format!("{k}@{}", p.frame),
            (Some(k), None) => k.to_string(),
            _ => "none".into(),
        },
    );
    let problems: Vec<String> = stats
        .problems
        .iter()
        .map(|p| format!("{}@{}", p.kind, p.frame))
        .collect();
    out.insert("problems".into(), list(problems));
    out.insert("calls".into(), stats.exchange.calls.to_string());
    out.insert("replies".into(), stats.exchange.replies.to_string());
    out.insert(
        "unmatched_replies".into(),
        stats.exchange.unmatched_replies.to_string(),
    );
    out.insert(
        "unanswered_calls".into(),
        stats.exchange.unanswered_calls.to_string(),
    );
    out.insert(
        "nfs4_exchanges".into(),
        nfs4_exchanges(&obs.seen).to_string(),
    );
    let partial: Vec<String> = obs
        .seen
        .iter()
        .filter(|s| s.error)
        .map(|s| format!("{}:{}:{}", s.frame, s.kind.as_str(), ops_text(&s.ops)))
        .collect();
    out.insert("partial".into(), list(partial));
    out.insert(
        "model".into(),
        format!(
            "{} endpoints, {} clients, {} sessions",
            obs.analysis.model().endpoints.len(),
            obs.analysis.model().clients.len(),
            obs.analysis.model().sessions.len()
        ),
    );
    for (k, v) in named_stats(&stats) {
        out.insert(format!("stat.{k}"), v.to_string());
    }
    out
}

fn list(v: Vec<String>) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(" ")
    }
}

fn ops_text(ops: &[&str]) -> String {
    if ops.is_empty() {
        "-".into()
    } else {
        ops.join(",")
    }
}

/// NFSv4 replies matched to their call, where neither the call nor the
/// reply had a decoding error.
fn nfs4_exchanges(seen: &[Seen]) -> usize {
    let bad_calls: std::collections::HashSet<u64> = seen
        .iter()
        .filter(|s| s.kind == MsgKind::Call && s.error)
        .map(|s| s.frame)
        .collect();
    seen.iter()
        .filter(|s| s.kind == MsgKind::Reply && s.program == Program::Nfs4 && !s.error)
        .filter(|s| s.call_frame.is_some_and(|f| !bad_calls.contains(&f)))
        .count()
}

/// Counters worth pinning for some files (`stat.NAME` keys).
fn named_stats(s: &PipelineStats) -> Vec<(&'static str, u64)> {
    vec![
        ("frames", s.frames),
        ("connections", s.connections),
        ("gaps", s.gaps),
        ("gap_bytes", s.gap_bytes),
        ("mid_stream_starts", s.tcp.mid_stream_starts),
        ("retransmitted_segments", s.tcp.retransmitted_segments),
        ("out_of_order_segments", s.tcp.out_of_order_segments),
        ("non_rpc_directions", s.stream.non_rpc_directions),
        ("skipped_bytes", s.stream.skipped_bytes),
        ("oversized_records", s.stream.oversized_records),
        ("truncated_records", s.stream.truncated_records),
        ("reassembled_records", s.stream.reassembled_records),
        ("bad_rpc_headers", s.exchange.bad_rpc_headers),
        ("bad_bodies", s.exchange.bad_bodies),
        ("udp_datagrams", s.udp_datagrams),
        ("non_ip_frames", s.non_ip_frames),
        ("malformed_frames", s.malformed_frames),
    ]
}

/// Keys every block must state (for a file that opens).
const REQUIRED: &[&str] = &[
    "open",
    "read_error",
    "problems",
    "calls",
    "replies",
    "unmatched_replies",
    "unanswered_calls",
    "nfs4_exchanges",
    "partial",
    "model",
];

/// The blocks of the expectations file: file name → (key → value).
fn parse_expected(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut blocks: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            assert!(
                !blocks.contains_key(name),
                "EXPECTED line {}: [{name}] given twice",
                i + 1
            );
            blocks.insert(name.to_string(), BTreeMap::new());
            current = Some(name.to_string());
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("EXPECTED line {}: not `key = value`: {raw}", i + 1));
        let block = current
            .as_ref()
            .and_then(|c| blocks.get_mut(c))
            .unwrap_or_else(|| panic!("EXPECTED line {}: key before any [file]", i + 1));
        block.insert(k.trim().to_string(), v.trim().to_string());
    }
    blocks
}

/// Runs `measure` on a thread, so that a hang is a failure naming the file.
fn measure_in_time(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(measure(&p));
    });
    match rx.recv_timeout(HANG) {
        Ok(m) => Ok(m),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("did not finish within {HANG:?}")),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let why = handle
                .join()
                .err()
                .and_then(|e| {
                    e.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_default();
            Err(format!("panicked: {why}"))
        }
    }
}

fn block_text(name: &str, m: &BTreeMap<String, String>) -> String {
    let mut s = format!("[{name}]\n");
    for (k, v) in m {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

#[test]
fn every_corpus_file_gives_its_expected_outcome() {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("EXPECTED")).expect("tests/malformed/EXPECTED");
    let expected = parse_expected(&text);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/malformed")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "EXPECTED" && n != "README.md")
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "the corpus has only {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for name in &files {
        let got = match measure_in_time(&dir.join(name)) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        if std::env::var_os("MALFORMED_SHOW").is_some() {
            // For writing a new block: every measured value, to review
            // against what the damage should cause before copying it.
            eprintln!("{}", block_text(name, &got));
        }
        let Some(want) = expected.get(name) else {
            failures.push(format!("{name}: no block in EXPECTED"));
            continue;
        };
        let opened = got.get("open").is_some_and(|v| v == "ok");
        for key in REQUIRED {
            if (opened || *key == "open") && !want.contains_key(*key) {
                failures.push(format!("{name}: EXPECTED does not state `{key}`"));
            }
        }
        let mut wrong = Vec::new();
        for (k, v) in want {
            match got.get(k) {
                Some(g) if g == v => {}
                Some(g) => wrong.push(format!("  {k}: expected `{v}`, got `{g}`")),
                None => wrong.push(format!("  {k}: expected `{v}`, not measured")),
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{name}:\n{}\n  measured:\n{}",
                wrong.join("\n"),
                block_text(name, &got)
            ));
        }
    }
    for name in expected.keys() {
        if !files.contains(name) {
            failures.push(format!("[{name}] in EXPECTED but no such file"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_corpus_stays_small() {
    let total: u64 = std::fs::read_dir(corpus_dir())
        .expect("tests/malformed")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    assert!(total < 2 << 20, "corpus is {total} bytes");
}

#[test]
fn every_shared_capture_finishes_without_panic() {
    // The third-party captures beside the repository (skipped when absent).
    let dir = std::env::var_os("TRUNKCHECK_SHARED_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("{} not found: skipped", dir.display());
        return;
    };
    let mut failures = Vec::new();
    let mut n = 0;
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        let name = path.display().to_string();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        n += 1;
        match measure_in_time(&path) {
            Ok(m) if m.get("open").is_some_and(|v| v == "ok") => {}
            Ok(m) => failures.push(format!("{name}: does not open: {m:?}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{n} shared captures decoded");
}
