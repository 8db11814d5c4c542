//! `trunkcheck analyze`: the identity report of a capture: server
//! endpoints and what they declared, server identities and how endpoints
//! relate, clients and their client IDs, sessions and their connections, and
//! the recovery timeline.
//!
//! JSON (`--json`, format `trunkcheck-analyze`, version 2): one document per
//! observation with `file`, `files` (the capture files, in command-line
//! order; several with `--merge`), `merged`, the model's members (`servers`,
//! `server_identities`, `same_scope`, `v40_trunking_tests`, `clients`,
//! `client_ids`, `sessions`, `connections`, `recovery`), `findings` (each with
//! `rule`, `severity`, `party`, `rfc`, `catalogue_rows`, `frames`,
//! `evidence`, `message`), `findings_not_listed`, `model_limits` (each bound
//! of the identity model as `{"name", "limit", "hits"}`, like the pipeline's
//! `stats.limits`; what reached a bound was not recorded, nor judged),
//! `frame_map` and `stats`.
//! `evidence` names each frame by file: `{"file": 1, "frame": 12}` (index
//! into `files`, frame number within that file). Every other frame number
//! (`frames` and the model's `*_frame` members) counts frames of the
//! observation: in a merged one, in merged (timestamp) order; `frame_map`
//! lists the runs `[first merged frame, file, its frame in that file]` to
//! turn them back (empty for one file, where they are the file's own).
//! Version 1 had no `files`, `merged`, `evidence` nor `frame_map`.

use analyzer::model::{BindHow, OwnerKind, Principal, RecoveryKind, ServerKey};
use analyzer::pipeline::merge::FrameMap;
use analyzer::pipeline::PipelineStats;
use analyzer::rules::{Analysis, Policy, Severity};
use analyzer::xdr::{escape_bytes, hex, JsonOut};
use std::fmt::Write as _;

/// Version of the JSON document `analyze --json` writes.
pub const JSON_VERSION: u32 = 2;

/// How a report names frames: a file's own numbers, or, for several files
/// merged into one observation, `file#frame`.
#[derive(Debug, Clone, Copy)]
pub enum Frames<'a> {
    /// One file: frame numbers are that file's.
    Single,
    /// Merged files: frame numbers count the merged stream.
    Merged(&'a FrameMap),
}

impl Frames<'_> {
    /// A frame as the report shows it (`12`, or `b.pcap#12` when merged).
    pub fn label(&self, n: u64) -> String {
        match self {
            Frames::Single => n.to_string(),
            Frames::Merged(m) => m.label(n),
        }
    }

    /// (file index, frame in that file).
    pub fn locate(&self, n: u64) -> (usize, u64) {
        match self {
            Frames::Single => (0, n),
            Frames::Merged(m) => m.locate(n).map_or((0, n), |r| (r.file, r.frame)),
        }
    }

    /// A finding's message with each "frame N" it mentions relabelled.
    pub fn message(&self, msg: &str) -> String {
        match self {
            Frames::Single => msg.to_string(),
            Frames::Merged(_) => relabel(msg, |n| self.label(n)),
        }
    }

    /// A finding's frames, comma separated.
    pub fn list(&self, frames: &[u64]) -> String {
        join(frames.iter().map(|f| self.label(*f)))
    }
}

/// Replaces the number after each "frame " in `msg` with `label(number)`.
fn relabel(msg: &str, label: impl Fn(u64) -> String) -> String {
    const WORD: &str = "frame ";
    let mut out = String::with_capacity(msg.len() + 16);
    let mut rest = msg;
    while let Some(i) = rest.find(WORD) {
        let (head, tail) = rest.split_at(i + WORD.len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        match tail[..digits].parse::<u64>() {
            Ok(n) => out.push_str(&label(n)),
            Err(_) => out.push_str(&tail[..digits]),
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// One finding as a report line: `id [severity party, rfc] message (frames ...)`.
pub fn finding_line(f: &analyzer::rules::Finding, fr: &Frames<'_>) -> String {
    format!(
        "{} [{} {}, {}] {} (frames {})",
        f.rule.id,
        f.rule.severity.as_str(),
        f.rule.party.as_str(),
        f.rule.rfc,
        fr.message(&f.message),
        fr.list(&f.frames)
    )
}

fn q(b: &[u8]) -> String {
    format!("\"{}\"", escape_bytes(b))
}

fn key_text(k: &ServerKey) -> String {
    match k {
        ServerKey::Declared { scope, major } => format!("scope={} major={}", q(scope), q(major)),
        ServerKey::Address(a) => format!("address {a} (no EXCHANGE_ID seen)"),
    }
}

fn principal_text(p: &Principal) -> String {
    match p {
        Principal::None => "AUTH_NONE".into(),
        Principal::Sys {
            machine,
            uid,
            gid,
            gids,
        } => {
            let groups = if gids.is_empty() {
                String::new()
            } else {
                format!(" groups {}", join(gids))
            };
            format!("AUTH_SYS {}:{uid}/{gid}{groups}", escape_bytes(machine))
        }
        Principal::Gss { handle } => format!("RPCSEC_GSS handle {}", hex(handle)),
        Principal::Other(f) => format!("flavor {f}"),
    }
}

fn join<T: ToString>(it: impl IntoIterator<Item = T>) -> String {
    it.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text report.
pub fn text_report(file: &str, a: &Analysis, stats: &PipelineStats, fr: &Frames<'_>) -> String {
    let m = a.model();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |f| fr.label(f));
    let mut s = String::new();
    let _ = writeln!(s, "== {file}");
    let _ = writeln!(s, "\nServer endpoints");
    if m.endpoints.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for e in m.endpoints.values() {
        let minors = join(e.minor_versions.iter().map(|v| format!("4.{v}")));
        match e.declarations.as_slice() {
            [] => {
                let _ = writeln!(s, "  {}  declared nothing (NFS {minors})", e.addr);
            }
            decls => {
                for (i, d) in decls.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "  {}  major={} minor={} scope={}  frames {}-{} ({} replies){}{}",
                        e.addr,
                        q(&d.major),
                        d.minor,
                        q(&d.scope),
                        fr.label(d.first_frame),
                        fr.label(d.last_frame),
                        d.replies,
                        if i == 0 {
                            format!(
                                "  NFS {minors}{}",
                                e.lease_time
                                    .map_or(String::new(), |l| format!("  lease {l} s"))
                            )
                        } else {
                            "  CHANGED".into()
                        },
                        d.impl_id
                            .as_ref()
                            .map_or(String::new(), |(dom, name)| format!(
                                "  impl {}/{}",
                                escape_bytes(dom),
                                escape_bytes(name)
                            )),
                    );
                }
            }
        }
    }
    let _ = writeln!(s, "\nServer identities");
    let ids = m.server_identities();
    for (i, id) in ids.iter().enumerate() {
        let _ = writeln!(s, "  [{i}] {}", key_text(&id.key));
        let groups = m.minor_groups(id);
        for (minor, eps) in &groups {
            let _ = writeln!(
                s,
                "      minor id {}: {}{}",
                minor.map_or("-".into(), |v| v.to_string()),
                join(eps),
                if eps.len() > 1 {
                    "  (session-trunkable)"
                } else {
                    ""
                }
            );
        }
        if groups.len() > 1 {
            let _ = writeln!(
                s,
                "      the minor-id groups are client-ID trunkable with each other"
            );
        }
    }
    for (i, j) in m.scope_relations() {
        let _ = writeln!(
            s,
            "  [{i}] and [{j}] share a server scope: a client may reclaim at one what it held at the other"
        );
    }
    if !m.v40_trunking.is_empty() {
        let _ = writeln!(s, "\nNFSv4.0 trunking tests (RFC 7931 §5.8)");
        for t in &m.v40_trunking {
            let _ = writeln!(
                s,
                "  client ID {:#018x} from {} confirmed at {}: {} -> {} (frame {})",
                t.clientid,
                t.issued_at,
                t.confirmed_at,
                t.status,
                if t.same_server() {
                    "same server"
                } else {
                    "different servers"
                },
                fr.label(t.frame)
            );
        }
    }
    let _ = writeln!(s, "\nClients");
    if m.clients.is_empty() {
        let _ = writeln!(
            s,
            "  (none seen: no EXCHANGE_ID or SETCLIENTID in the capture)"
        );
    }
    for c in &m.clients {
        let kind = match c.kind {
            OwnerKind::V41 => "co_ownerid",
            OwnerKind::V40 => "nfs_client_id4",
        };
        let _ = writeln!(
            s,
            "  {kind} {}  incarnations: {}  principals: {}  from: {}  to: {}",
            q(&c.owner),
            join(c.incarnations.iter().map(|(v, f)| format!(
                "{} (frame {})",
                hex(v),
                fr.label(*f)
            ))),
            join(c.principals.iter().map(principal_text)),
            join(&c.sources),
            join(&c.endpoints),
        );
    }
    let _ = writeln!(s, "\nClient IDs");
    if m.client_ids.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for r in &m.client_ids {
        let _ = writeln!(
            s,
            "  {:#018x}  by {}  owner {}  issued {}  confirmed {}  reclaim_complete {}  destroyed {}  at {}",
            r.clientid,
            key_text(&r.server),
            r.owner.as_deref().map_or("(unknown)".into(), q),
            opt(r.issued_frame),
            opt(r.confirmed_frame),
            opt(r.reclaim_complete_frame),
            opt(r.destroyed_frame),
            join(&r.endpoints),
        );
    }
    let _ = writeln!(s, "\nSessions");
    if m.sessions.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for sess in m.sessions.values() {
        let _ = writeln!(
            s,
            "  {}  clientid {}  at {}  created {}  flags {}  slots used {}  destroyed {}",
            sess.id,
            sess.clientid
                .map_or("(unknown)".into(), |c| format!("{c:#018x}")),
            sess.endpoint,
            opt(sess.created_frame),
            sess.flags.map_or("-".into(), |f| f.to_string()),
            sess.slots.len(),
            opt(sess.destroyed_frame),
        );
        for (id, b) in &sess.connections {
            let (cl, sv) = m.connections.get(id).map_or(("?".into(), "?".into()), |c| {
                (c.client.to_string(), c.server.to_string())
            });
            let how = match b.how {
                BindHow::CreateSession => "CREATE_SESSION",
                BindHow::BindConnToSession => "BIND_CONN_TO_SESSION",
                BindHow::Sequence => "SEQUENCE (implicit)",
            };
            let _ = writeln!(
                s,
                "      {id} {cl} -> {sv}  bound by {how}, {} (frame {})",
                b.dir,
                fr.label(b.frame)
            );
        }
        if !sess.callbacks.is_empty() {
            let _ = writeln!(
                s,
                "      callbacks (CB_SEQUENCE) on {}",
                join(sess.callbacks.keys())
            );
        }
    }
    if !m.recovery.is_empty() {
        let _ = writeln!(s, "\nRecovery timeline");
        for e in &m.recovery {
            let what = match &e.kind {
                RecoveryKind::Status(st) => st.to_string(),
                RecoveryKind::ReclaimNeeded => "SEQUENCE says RESTART_RECLAIM_NEEDED".into(),
                RecoveryKind::Reclaim { op, status } => format!("reclaim {op} -> {status}"),
                RecoveryKind::ReclaimComplete { one_fs, status } => {
                    format!("RECLAIM_COMPLETE(one_fs={one_fs}) -> {status}")
                }
            };
            let _ = writeln!(
                s,
                "  frame {:>7}  {}  {}  {what}",
                fr.label(e.frame),
                e.endpoint,
                e.clientid
                    .map_or("-".into(), |c| format!("clientid {c:#018x}")),
            );
        }
    }
    let _ = writeln!(s, "\nFindings");
    if a.findings().is_empty() {
        let _ = writeln!(
            s,
            "  none ({} rules checked; see analyzer/RULES.md)",
            analyzer::rules::ALL.len()
        );
    }
    for sev in [Severity::Violation, Severity::Warning, Severity::Info] {
        for f in a.findings().iter().filter(|f| f.rule.severity == sev) {
            let _ = writeln!(s, "  {}", finding_line(f, fr));
        }
    }
    if a.findings_dropped() > 0 {
        let _ = writeln!(s, "  ... and {} more", a.findings_dropped());
    }
    if !a.not_judged().is_empty() {
        let _ = writeln!(s, "\nNot judged (the capture cannot prove them)");
        for n in a.not_judged() {
            let _ = writeln!(s, "  {}: {} x {}", n.rule.id, n.count, n.reason);
        }
    }
    let _ = writeln!(
        s,
        "\n{} frames, {} connections, {} calls, {} replies, {} gaps, {} malformed records",
        stats.frames,
        stats.connections,
        stats.exchange.calls,
        stats.exchange.replies,
        stats.gaps,
        stats.malformed_records()
    );
    let hits = crate::decode::limits_reached(&a.limit_hits());
    if !hits.is_empty() {
        let _ = writeln!(s, "model limits reached: {}", hits.join("; "));
    }
    s
}

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
    crate::decode::limits_json(&mut o, &a.limit_hits());
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
    crate::decode::stats_json_object(&mut o, stats);
    o.end_object();
    o.into_string()
}

/// True when the analysis fails by the verdict policy (exit status 1).
pub fn fails(a: &Analysis, policy: &Policy) -> bool {
    policy.capture_fails(a.findings())
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::rules::{Finding, CSESS_ATTRS};

    #[test]
    fn model_limits_reached_are_reported_in_text_and_json() {
        let limits = analyzer::model::ModelLimits {
            max_pending: 4,
            ..Default::default()
        };
        let stats = PipelineStats::default();
        let fresh = Analysis::new(limits);
        let text = text_report("t.pcap", &fresh, &stats, &Frames::Single);
        let mut m = analyzer::model::Model::new(limits);
        assert!(!text.contains("model limits reached"), "{text}");
        m.limit_counts.pending_evicted = 3;
        m.limit_counts.sessions_dropped = 2;
        let a = Analysis::from_model(m);
        let text = text_report("t.pcap", &a, &stats, &Frames::Single);
        let line = text
            .lines()
            .find(|l| l.starts_with("model limits reached: "))
            .unwrap_or_else(|| panic!("no limits line in {text}"));
        assert!(
            line.contains("max_pending/calls (4) reached 3 times: oldest calls forgotten"),
            "{line}"
        );
        assert!(
            line.contains("max_entities/sessions (100000) reached 2 times"),
            "{line}"
        );
        assert!(!line.contains("max_events"), "only bounds reached: {line}");
        let json = json_report("t.pcap", &["t.pcap".into()], &a, &stats, &Frames::Single);
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let limits = v["model_limits"].as_array().expect("model_limits array");
        let calls = limits
            .iter()
            .find(|h| h["name"] == "max_pending/calls")
            .expect("max_pending/calls listed");
        assert_eq!(
            (calls["limit"].as_u64(), calls["hits"].as_u64()),
            (Some(4), Some(3))
        );
        assert!(limits
            .iter()
            .any(|h| h["name"] == "max_events/recovery" && h["hits"] == 0));
    }

    #[test]
    fn merged_frames_are_named_by_file_in_lines_and_messages() {
        let mut map = FrameMap::new(vec!["a.pcap".into(), "b.pcap".into()]);
        for (file, local) in [(0, 1), (1, 1), (1, 2), (0, 2)] {
            map.push(file, local);
        }
        let fr = Frames::Merged(&map);
        let f = Finding {
            rule: &CSESS_ATTRS,
            message: "first in frame 2, then frame 4; frames 1-2 untouched".into(),
            frames: vec![3, 4],
        };
        let line = finding_line(&f, &fr);
        assert!(
            line.ends_with("first in frame b.pcap#1, then frame a.pcap#2; frames 1-2 untouched (frames b.pcap#2, a.pcap#2)"),
            "{line}"
        );
        assert_eq!(fr.locate(4), (0, 2));
        assert_eq!(Frames::Single.message(&f.message), f.message);
        assert!(finding_line(&f, &Frames::Single).ends_with("(frames 3, 4)"));
    }
}
