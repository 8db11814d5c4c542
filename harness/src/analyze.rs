//! `trunkcheck analyze`: the identity report of a capture: server
//! endpoints and what they declared, server identities and how endpoints
//! relate, clients and their client IDs, sessions and their connections, and
//! the recovery timeline.

use analyzer::model::{BindHow, Model, OwnerKind, Principal, RecoveryKind, ServerKey};
use analyzer::pipeline::PipelineStats;
use analyzer::rules::Severity;
use analyzer::xdr::{escape_bytes, hex, JsonOut};
use std::fmt::Write as _;

/// Version of the JSON document `analyze --json` writes.
pub const JSON_VERSION: u32 = 1;

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
        Principal::Sys { machine, uid, gid } => {
            format!("AUTH_SYS {}:{uid}/{gid}", escape_bytes(machine))
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

fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), |f| f.to_string())
}

/// The text report.
pub fn text_report(file: &str, m: &Model, stats: &PipelineStats) -> String {
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
                        d.first_frame,
                        d.last_frame,
                        d.replies,
                        if i == 0 {
                            format!("  NFS {minors}")
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
                t.frame
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
            join(
                c.incarnations
                    .iter()
                    .map(|(v, f)| format!("{} (frame {f})", hex(v)))
            ),
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
                b.dir, b.frame
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
                e.frame,
                e.endpoint,
                e.clientid
                    .map_or("-".into(), |c| format!("clientid {c:#018x}")),
            );
        }
    }
    let _ = writeln!(s, "\nFindings");
    if m.findings.is_empty() {
        let _ = writeln!(
            s,
            "  none ({} rules checked; see analyzer/RULES.md)",
            analyzer::rules::ALL.len()
        );
    }
    for sev in [Severity::Violation, Severity::Warning, Severity::Info] {
        for f in m.findings.iter().filter(|f| f.rule.severity == sev) {
            let _ = writeln!(s, "  {f}");
        }
    }
    if m.findings_dropped > 0 {
        let _ = writeln!(s, "  ... and {} more", m.findings_dropped);
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
    s
}

/// The JSON document.
pub fn json_report(file: &str, m: &Model, stats: &PipelineStats) -> String {
    let mut o = JsonOut::new();
    o.begin_object();
    o.field("format", "trunkcheck-analyze");
    o.field("version", &JSON_VERSION);
    o.field("file", file);
    m.write_json_members(&mut o);
    o.key("findings");
    o.begin_array();
    for f in &m.findings {
        o.begin_object();
        o.field("rule", f.rule.id);
        o.field("severity", f.rule.severity.as_str());
        o.field("party", f.rule.party.as_str());
        o.field("rfc", f.rule.rfc);
        o.field("catalogue_rows", &f.rule.rows.to_vec());
        o.field("frames", &f.frames);
        o.field("message", f.message.as_str());
        o.end_object();
    }
    o.end_array();
    o.field("findings_not_listed", &m.findings_dropped);
    o.key("stats");
    crate::decode::stats_json_object(&mut o, stats);
    o.end_object();
    o.into_string()
}

/// True when the model holds a violation (exit status 1).
pub fn has_violation(m: &Model) -> bool {
    m.findings
        .iter()
        .any(|f| f.rule.severity == Severity::Violation)
}
