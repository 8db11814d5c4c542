//! `analyze --json`: the identity report of a capture as JSON: server
//! endpoints and what they declared, server identities and how endpoints
//! relate, clients and their client IDs, sessions and their connections, and
//! the recovery timeline.
//!
//! JSON (`--json`, format `trunkcheck-analyze`, version 4): one document per
//! observation with `file`, `files` (the capture files, in command-line
//! order; several with `--merge`), `merged`, `verdict` (the one-line verdict
//! as `text`, and its counts), the model's members (`servers`,
//! `server_identities`, `same_scope`, `v40_trunking_tests`, `clients`,
//! `client_ids`, `sessions`, `connections`, `recovery`, `gss_contexts`),
//! `findings` (each with
//! `rule`, `severity`, `party`, `rfc`, `catalogue_rows`, `frames`,
//! `evidence`, `message`), `findings_not_listed`, `not_judged` (each rule
//! the capture could not prove, with `reason` and `count`), `model_limits` (each bound
//! of the identity model as `{"name", "limit", "hits"}`, like the pipeline's
//! `stats.limits`; what reached a bound was not recorded, nor judged),
//! `frame_map` and `stats`.
//! `evidence` names each frame by file: `{"file": 1, "frame": 12}` (index
//! into `files`, frame number within that file). Every other frame number
//! (`frames` and the model's `*_frame` members) counts frames of the
//! observation: in a merged one, in merged (timestamp) order; `frame_map`
//! lists the runs `[first merged frame, file, its frame in that file]` to
//! turn them back (empty for one file, where they are the file's own).
//! Version 1 had no `files`, `merged`, `evidence` nor `frame_map`; version 2
//! no `verdict`, `not_judged`, servers' `restarts`, client IDs' and
//! sessions' `ended`, client IDs' `state_protect_requested`. Version 3 no
//! `gss_contexts` (each RPCSEC_GSS context: `handle`, `server`, `mech`,
//! `target` {`text`, `realm`, `name_type`, `components`} or null,
//! `target_error`, `creation`, `services`, `first_use`, `last_use`,
//! `calls`), servers' `gss_targets`, server identities'
//! `gss_target_principals`, client IDs' `exchange_id_gss` and
//! `state_protect_requested.gss_service`.

use super::frames::Frames;
use super::stats::{limits_json, stats_json_object};
use analyzer::pipeline::PipelineStats;
use analyzer::rules::Analysis;
use analyzer::xdr::JsonOut;

/// Version of the JSON document `analyze --json` writes.
pub const JSON_VERSION: u32 = 4;

/// The JSON document (see the module documentation for its members).
pub fn json_report(
    file: &str,
    files: &[String],
    a: &Analysis,
    stats: &PipelineStats,
    fr: &Frames<'_>,
) -> String {
    let m = a.model();
    let mut o = JsonOut::new();
    o.begin_object();
    o.field("format", "trunkcheck-analyze");
    o.field("version", &JSON_VERSION);
    o.field("file", file);
    o.field("files", &files.to_vec());
    o.field("merged", &matches!(fr, Frames::Merged(_)));
    let v = a.summary();
    o.key("verdict");
    o.begin_object();
    o.field("text", v.to_string().as_str());
    o.field("nfs4", &v.nfs4);
    o.field("server_violations", &(v.server.0 as u64));
    o.field("server_warnings", &(v.server.1 as u64));
    o.field("client_violations", &(v.client.0 as u64));
    o.field("client_warnings", &(v.client.1 as u64));
    o.field("info", &(v.info as u64));
    o.field("rules_not_judged", &(v.not_judged.0 as u64));
    o.end_object();
    m.write_json_members(&mut o);
    o.key("findings");
    o.begin_array();
    for f in a.findings() {
        o.begin_object();
        o.field("rule", f.rule.id);
        o.field("severity", f.rule.severity.as_str());
        o.field("party", f.rule.party.as_str());
        o.field("rfc", f.rule.rfc);
        o.field("catalogue_rows", &f.rule.rows.to_vec());
        o.field("frames", &f.frames);
        o.key("evidence");
        o.begin_array();
        for n in &f.frames {
            let (file, frame) = fr.locate(*n);
            o.begin_object();
            o.field("file", &(file as u64));
            o.field("frame", &frame);
            o.end_object();
        }
        o.end_array();
        o.field("message", fr.message(&f.message).as_str());
        o.field(
            "servers",
            &f.servers.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        );
        o.end_object();
    }
    o.end_array();
    o.field("findings_not_listed", &a.findings_dropped());
    o.key("not_judged");
    o.begin_array();
    for n in a.not_judged() {
        o.begin_object();
        o.field("rule", n.rule.id);
        o.field("reason", n.reason);
        o.field("count", &n.count);
        o.end_object();
    }
    o.end_array();
    o.key("model_limits");
    limits_json(&mut o, &a.limit_hits());
    o.key("frame_map");
    o.begin_array();
    if let Frames::Merged(map) = fr {
        for (start, file, local) in map.runs_list() {
            o.begin_array();
            o.number(start);
            o.number(file as u64);
            o.number(local);
            o.end_array();
        }
    }
    o.end_array();
    o.key("stats");
    stats_json_object(&mut o, stats);
    o.end_object();
    o.into_string()
}
