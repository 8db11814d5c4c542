//! A whole capture file through the pipeline into the identity model and
//! its rules (what `trunkcheck analyze` does), with the default limits, then
//! the model's derived views and its JSON, and the reports `analyze` writes
//! (text, JSON, JUnit, DOT).
#![no_main]

use analyzer::capture::FileSource;
use analyzer::rules::{Analysis, Policy};
use analyzer::pipeline::Pipeline;
use analyzer::xdr::JsonOut;
use libfuzzer_sys::fuzz_target;
use trunkcheck::report::frames::Frames;
use trunkcheck::report::{analyze_json, analyze_text, graph, junit};

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let Ok(mut src) =
        FileSource::from_reader("fuzz", std::io::Cursor::new(data.to_vec()), Some(len))
    else {
        return;
    };
    let (analysis, stats) =
        Pipeline::new(Default::default(), Analysis::new(Default::default())).run(&mut src, |_, _| {});
    let model = analysis.model();
    let _ = model.server_identities();
    let _ = model.relations();
    for f in analysis.findings() {
        let _ = f.to_string();
    }
    let mut out = JsonOut::new();
    out.begin_object();
    model.write_json_members(&mut out);
    out.end_object();
    // The reports users read, as `analyze` writes them.
    let _ = analyze_text::text_report("fuzz", &analysis, &stats, &Frames::Single);
    let _ = analyze_json::json_report("fuzz", &["fuzz".into()], &analysis, &stats, &Frames::Single);
    let _ = graph::dot("fuzz", &analysis);
    let mut report = junit::report();
    junit::add_suite(&mut report, "fuzz", &analysis, &Frames::Single, &Policy::default());
    let _ = report.to_string();
});
