//! The pipeline on several threads gives what it gives on one: the same
//! messages in the same order, the same counters, the same problems (also
//! when only some are listed), on every capture of the project and on
//! captures built to make batches hand over at awkward places (a callback
//! program learned in a batch still being decoded when a call to it is
//! routed).

#[path = "../examples/common/pcapgen.rs"]
mod pcapgen;

use analyzer::capture::packet::Timestamp;
use analyzer::capture::FileSource;
use analyzer::exchange::{Message, MessageSink, Notice};
use analyzer::pipeline::parallel::{run_parallel_batched, run_pipelined, ByteSink};
use analyzer::pipeline::{Pipeline, PipelineLimits, PipelineStats};
use analyzer::rules::Analysis;
use analyzer::xdr::JsonOut;
use pcapgen::{record, rpc_call, PcapWriter, TcpConn};
use std::fmt::Write as _;
use std::io::Cursor;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

/// Writes what a test compares of each message, and the time since the
/// first message (which a worker learns from the pipeline).
#[derive(Default)]
struct Lines {
    out: Vec<u8>,
    t0: Option<Timestamp>,
    notices: usize,
}

impl MessageSink for Lines {
    fn message(&mut self, m: &Message<'_>) {
        let t0 = *self.t0.get_or_insert(m.ts);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} {} {:.6} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            m.frame,
            m.first_frame,
            m.ts.since(t0),
            m.xid,
            m.kind,
            m.program,
            m.minorversion,
            m.call_frame,
            m.op_names(),
            m.compound_status(),
            m.error.as_ref().map(|e| e.to_string())
        );
        self.out.extend_from_slice(s.as_bytes());
    }

    fn notice(&mut self, _n: &Notice) {
        self.notices += 1;
    }

    fn finish(&mut self) {}
}

impl ByteSink for Lines {
    fn set_origin(&mut self, t0: Timestamp) {
        self.t0 = Some(t0);
    }

    fn swap_output(&mut self, buf: &mut Vec<u8>, _ends: &mut Vec<usize>) {
        std::mem::swap(&mut self.out, buf);
    }

    fn write_output(&mut self, bytes: &[u8], _ends: &[usize]) {
        self.out.extend_from_slice(bytes);
    }
}

fn serial(bytes: &[u8], limits: PipelineLimits) -> Option<(Vec<u8>, String, usize)> {
    let mut src = FileSource::from_reader("t", Cursor::new(bytes.to_vec()), None).ok()?;
    let (sink, stats) = Pipeline::new(limits, Lines::default()).run(&mut src, |_, _| {});
    Some((sink.out, show(&stats), sink.notices))
}

fn parallel(
    bytes: &[u8],
    limits: PipelineLimits,
    workers: usize,
    batch: usize,
) -> Option<(Vec<u8>, String, usize)> {
    let mut src = FileSource::from_reader("t", Cursor::new(bytes.to_vec()), None).ok()?;
    let (sink, stats) = run_parallel_batched(
        &mut src,
        limits,
        Lines::default(),
        workers,
        batch,
        Lines::default,
        |_, _| {},
    );
    Some((sink.out, show(&stats), sink.notices))
}

/// The counters and problems, all of them.
fn show(stats: &PipelineStats) -> String {
    format!("{stats:?}")
}

fn same_everywhere(name: &str, bytes: &[u8]) {
    for max_problems in [0, 3] {
        let limits = PipelineLimits {
            max_problems,
            ..PipelineLimits::default()
        };
        let Some(want) = serial(bytes, limits) else {
            return;
        };
        for (workers, batch) in [(1, 1), (2, 1), (2, 3), (3, 7), (2, 256)] {
            let got = parallel(bytes, limits, workers, batch).expect("opened once");
            assert!(
                got.0 == want.0,
                "{name}: messages differ ({workers} workers, batches of {batch})"
            );
            assert_eq!(got.1, want.1, "{name}: counters ({workers}, {batch})");
            // Notices of records go to the workers' sinks in parallel.
            assert!(got.2 <= want.2, "{name}");
        }
    }
}

fn captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let shared = std::env::var_os("TRUNKCHECK_SHARED_CAPTURES")
        .map_or_else(|| root.join("../../shared/captures"), PathBuf::from);
    // Subdirectories too (captures/linux, captures/precision, ...).
    let mut dirs = vec![
        root.join("../captures"),
        root.join("tests/malformed"),
        shared,
    ];
    while let Some(dir) = dirs.pop() {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.to_string_lossy().contains(".pcap") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_capture_decodes_alike_on_several_threads() {
    let files = captures();
    assert!(files.len() >= 10, "captures found: {}", files.len());
    for p in files {
        let bytes = std::fs::read(&p).expect("readable capture");
        same_everywhere(&p.display().to_string(), &bytes);
    }
}

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("vector")
}

/// A call to program `prog` (CB_NULL) from `conn`'s server side.
fn cb_null(conn: &mut TcpConn, xid: u32, prog: u32) -> Vec<u8> {
    conn.server_sends(&record(&rpc_call(xid, prog, 1, 0, &[])))
}

#[test]
fn callback_programs_learned_in_flight_still_classify_later_calls() {
    // SETCLIENTID announcing 0x40000123, then calls to that program on
    // another connection (before and after), with plenty of NFS records
    // between them so that the announcement is still being decoded when
    // the later call is routed.
    let mut call = vector("setclientid.call.bin");
    let at = call
        .windows(8)
        .position(|w| w == [0, 0, 0, 0, 0, 0, 0, 3])
        .expect("cb_program 0 followed by netid length 3");
    call[at..at + 4].copy_from_slice(&0x4000_0123u32.to_be_bytes());
    let server: SocketAddrV4 = "10.0.0.2:2049".parse().unwrap();
    let mut a = TcpConn::new("10.0.0.1:800".parse().unwrap(), server, 1);
    let mut b = TcpConn::new("10.0.0.1:801".parse().unwrap(), server, 2);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    frames.extend(a.handshake());
    frames.extend(b.handshake());
    frames.push(cb_null(&mut b, 7, 0x4000_0123));
    for i in 0..20 {
        frames.push(a.client_sends(&pcapgen::nfs_call_record(100 + i, true)));
    }
    frames.push(a.client_sends(&record(&call)));
    for i in 0..3 {
        frames.push(a.client_sends(&pcapgen::nfs_call_record(200 + i, true)));
    }
    for i in 0..4 {
        frames.push(cb_null(&mut b, 8 + i, 0x4000_0123));
        frames.push(cb_null(&mut b, 20 + i, 0x4000_0456));
    }
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.frame(i as u64 * 10, f).unwrap();
    }
    let bytes = w.finish().unwrap();
    let (lines, _, _) = serial(&bytes, PipelineLimits::default()).unwrap();
    let text = String::from_utf8(lines).unwrap();
    assert!(text.contains(" 7 Call Other "), "{text}");
    assert!(text.contains(" 8 Call Nfs4Callback "), "{text}");
    assert!(text.contains(" 20 Call Other "), "{text}");
    same_everywhere("callback programs", &bytes);
}

/// What an analysis concluded: the model as JSON, the findings, the bounds
/// reached, and the pipeline's counters.
fn conclusions(a: &Analysis, stats: &PipelineStats) -> String {
    let mut o = JsonOut::new();
    o.begin_object();
    a.model().write_json_members(&mut o);
    o.end_object();
    format!(
        "{}\n{:?}\n{}\n{:?}\n{}",
        o.as_str(),
        a.findings(),
        a.findings_dropped(),
        a.limit_hits(),
        show(stats)
    )
}

#[test]
fn an_analysis_fed_from_another_thread_concludes_the_same() {
    for p in captures() {
        let bytes = std::fs::read(&p).expect("readable capture");
        let Ok(mut src) = FileSource::from_reader("t", Cursor::new(bytes.clone()), None) else {
            continue;
        };
        let (a, stats) =
            Pipeline::new(PipelineLimits::default(), Analysis::default()).run(&mut src, |_, _| {});
        let want = conclusions(&a, &stats);
        let mut src = FileSource::from_reader("t", Cursor::new(bytes), None).expect("opened once");
        let (a, stats) = run_pipelined(
            &mut src,
            PipelineLimits::default(),
            Analysis::default(),
            |_, _| {},
        );
        assert_eq!(conclusions(&a, &stats), want, "{}", p.display());
    }
}
