//! The pipeline's counters, problems and bounds reached, as text and as
//! JSON: the summary of `decode` and the `stats` of `analyze`.

use analyzer::pipeline::{LimitHit, PipelineStats, Problem};
use analyzer::xdr::JsonOut;

/// The counters as a JSON object.
pub fn stats_json_object(o: &mut JsonOut, s: &PipelineStats) {
    o.begin_object();
    stats_json(o, s);
    o.end_object();
}

/// The counters as members of the JSON object being written.
pub(crate) fn stats_json(o: &mut JsonOut, s: &PipelineStats) {
    o.field("frames", &s.frames);
    o.field("bytes", &s.bytes);
    o.field("connections", &s.connections);
    o.field("calls", &s.exchange.calls);
    o.field("replies", &s.exchange.replies);
    o.field("unmatched_replies", &s.exchange.unmatched_replies);
    o.field("unanswered_calls", &s.exchange.unanswered_calls);
    o.field("gaps", &s.gaps);
    o.field("gap_bytes", &s.gap_bytes);
    o.field("malformed_records", &s.malformed_records());
    o.field(
        "nfs4_compounds_by_minor",
        &s.exchange.compounds_by_minor.to_vec(),
    );
    o.field("cb_compounds", &s.exchange.cb_compounds);
    o.field("nfs_v2v3_calls", &s.exchange.nfs_v2v3_calls);
    o.field("other_rpc_calls", &s.exchange.other_program_calls);
    o.field("non_ip_frames", &s.non_ip_frames);
    o.field("malformed_frames", &s.malformed_frames);
    o.field("udp_datagrams", &s.udp_datagrams);
    o.field("non_rpc_directions", &s.stream.non_rpc_directions);
    o.field("skipped_bytes", &s.stream.skipped_bytes);
    o.field("evicted_calls", &s.exchange.evicted_calls);
    o.field("peak_connections", &s.tcp.peak_connections);
    o.field("peak_pending_calls", &s.exchange.peak_pending_calls);
    o.field("peak_ooo_bytes", &s.tcp.peak_buffered_bytes);
    o.field("peak_stream_buffer_bytes", &s.stream.peak_buffered_bytes);
    o.key("limits");
    limits_json(o, &s.limit_hits());
    o.key("problems");
    o.begin_array();
    for p in &s.problems {
        problem_json(o, p);
    }
    o.end_array();
    o.field("problems_not_listed", &s.problems_dropped);
}

/// The counters as one line of text (with the bounds reached).
pub(crate) fn stats_text(s: &PipelineStats) -> String {
    let mut text = format!(
        "{} frames, {} bytes, {} connections, {} calls, {} replies, {} unmatched replies, \
         {} unanswered calls, {} gaps ({} bytes), {} malformed records, \
         NFSv4 COMPOUNDs by minor version {:?}, {} CB_COMPOUNDs, {} other RPC calls",
        s.frames,
        s.bytes,
        s.connections,
        s.exchange.calls,
        s.exchange.replies,
        s.exchange.unmatched_replies,
        s.exchange.unanswered_calls,
        s.gaps,
        s.gap_bytes,
        s.malformed_records(),
        &s.exchange.compounds_by_minor[..3],
        s.exchange.cb_compounds,
        s.exchange.other_program_calls + s.exchange.nfs_v2v3_calls,
    );
    let hits = limits_reached(&s.limit_hits());
    if !hits.is_empty() {
        text.push_str("; limits reached: ");
        text.push_str(&hits.join("; "));
    }
    text
}

/// A problem as one line of text, naming its frame.
pub fn problem_text(p: &Problem) -> String {
    format!("frame {}: {}", p.frame, p.message)
}

fn problem_json(o: &mut JsonOut, p: &Problem) {
    o.begin_object();
    o.field("frame", &p.frame);
    o.field("kind", p.kind);
    o.field("message", p.message.as_str());
    o.end_object();
}

/// The bounds that input reached, one phrase each ("NAME (LIMIT) reached N
/// times: EFFECT"), for the pipeline's and the model's limits alike.
pub fn limits_reached(hits: &[LimitHit]) -> Vec<String> {
    hits.iter()
        .filter(|h| h.hits > 0)
        .map(|h| {
            format!(
                "{} ({}) reached {} times: {}",
                h.name, h.limit, h.hits, h.effect
            )
        })
        .collect()
}

/// Every bound as a JSON array of `{"name", "limit", "hits"}`.
pub fn limits_json(o: &mut JsonOut, hits: &[LimitHit]) {
    o.begin_array();
    for h in hits {
        o.begin_object();
        o.field("name", h.name);
        o.field("limit", &h.limit);
        o.field("hits", &h.hits);
        o.end_object();
    }
    o.end_array();
}
