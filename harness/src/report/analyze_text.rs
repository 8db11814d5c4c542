//! `trunkcheck analyze`: the identity report of a capture as text: server
//! endpoints and what they declared, server identities and how endpoints
//! relate, clients and their client IDs, sessions and their connections, and
//! the recovery timeline, then the findings.

use super::frames::{finding_line, join, Frames};
use super::stats::limits_reached;
use analyzer::model::{BindHow, OwnerKind, Principal, RecoveryKind, ServerKey};
use analyzer::pipeline::PipelineStats;
use analyzer::rules::{Analysis, Severity};
use analyzer::xdr::{escape_bytes, hex};
use std::fmt::Write as _;

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
    let hits = limits_reached(&a.limit_hits());
    if !hits.is_empty() {
        let _ = writeln!(s, "model limits reached: {}", hits.join("; "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::analyze_json::json_report;

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
}
