//! `trunkcheck analyze`: the identity report of a capture as text: a
//! one-line verdict, server endpoints and what they declared (and restarts),
//! server identities and how endpoints relate, clients and their client IDs
//! (with state protection, the RPCSEC_GSS service and target principal of
//! their EXCHANGE_ID, and how they ended), the RPCSEC_GSS contexts, sessions
//! and their connections, and the recovery timeline, then the findings and
//! what the capture could not prove.

use super::frames::{finding_line, join, Frames};
use super::stats::limits_reached;
use analyzer::model::{
    gss_flavor_text, gss_major_text, BindHow, GssContext, GssUse, Model, OwnerKind, Principal,
    RecoveryKind, ServerKey,
};
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

/// `krb5i, target nfs/host@REALM`: the flavor a context was used as and
/// the target principal its creation named, or why that is not known.
fn gss_text(ctx: Option<&GssContext>, service: Option<analyzer::rpc::RpcGssService>) -> String {
    let creation = ctx.and_then(|c| c.creation.as_ref());
    let krb5 = creation.is_some_and(|c| c.is_krb5());
    let flavor = match (service, creation.and_then(|c| c.mech_text())) {
        (Some(s), _) => Some(gss_flavor_text(krb5, s)),
        // Without a service, the mechanism: said so, as "krb5" alone
        // reads like the flavor (RPCSEC_GSS service none).
        (None, mech) => mech.map(|m| format!("mechanism {m}")),
    };
    let target = match creation.map(|c| &c.token) {
        Some(Ok(t)) => format!("target {}", t.target),
        Some(Err(e)) => format!("no target named ({e})"),
        None => "target not captured".into(),
    };
    match flavor {
        Some(f) => format!("{f}, {target}"),
        None => target,
    }
}

/// The RPCSEC_GSS service and context of an EXCHANGE_ID, in words.
fn gss_use_text(m: &Model, u: &GssUse) -> String {
    let ctx = u.context.and_then(|i| m.gss_contexts.get(i));
    gss_text(ctx, Some(u.service))
}

/// ` (mechanism krb5, target …)` for an RPCSEC_GSS principal presented to these
/// endpoints: what the creation of its context named.
fn principal_gss_note<'a>(
    m: &Model,
    p: &Principal,
    endpoints: impl IntoIterator<Item = &'a std::net::SocketAddr>,
) -> String {
    let Principal::Gss { handle } = p else {
        return String::new();
    };
    let mut notes: Vec<String> = Vec::new();
    for e in endpoints {
        let text = gss_text(m.gss_context(*e, handle), None);
        if !notes.contains(&text) {
            notes.push(text);
        }
    }
    if notes.is_empty() {
        notes.push("target not captured".into());
    }
    format!(" ({})", notes.join("; "))
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

/// ANSI colour for a terminal, or none (`NO_COLOR`, a pipe, a file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paint {
    /// Colour is on.
    pub on: bool,
}

impl Paint {
    /// Colour when `terminal` is true, unless `NO_COLOR` is set or
    /// `CLICOLOR` is 0; `CLICOLOR_FORCE` (not 0) turns it on anyway.
    pub fn for_output(terminal: bool) -> Paint {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let force = var("CLICOLOR_FORCE").is_some_and(|v| v != "0");
        let off = var("NO_COLOR").is_some() || var("CLICOLOR").is_some_and(|v| v == "0");
        Paint {
            on: force || (terminal && !off),
        }
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Violations.
    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Passed tests.
    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Warnings.
    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    /// The verdict line and section titles.
    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
}

/// The text report (plain).
pub fn text_report(file: &str, a: &Analysis, stats: &PipelineStats, fr: &Frames<'_>) -> String {
    text_report_painted(file, a, stats, fr, Paint::default())
}

/// The text report, in colour when `paint` says so: the verdict line first,
/// then who is who, then the findings and what was not judged.
pub fn text_report_painted(
    file: &str,
    a: &Analysis,
    stats: &PipelineStats,
    fr: &Frames<'_>,
    paint: Paint,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "== {file}");
    let summary = a.summary();
    let verdict = format!("verdict: {summary}");
    let verdict = match summary {
        x if x.server.0 + x.client.0 > 0 => paint.red(&verdict),
        x if x.server.1 + x.client.1 > 0 => paint.yellow(&verdict),
        _ => paint.bold(&verdict),
    };
    let _ = writeln!(s, "{verdict}");
    endpoints(&mut s, a, fr);
    identities(&mut s, a, fr);
    clients(&mut s, a, fr);
    client_ids(&mut s, a, fr);
    gss_contexts(&mut s, a, fr);
    sessions(&mut s, a, fr);
    recovery(&mut s, a, fr);
    findings(&mut s, a, fr, paint);
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

fn endpoints(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
    let _ = writeln!(s, "\nServer endpoints");
    if m.endpoints.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for e in m.endpoints.values() {
        let minors = join(e.minor_versions.iter().map(|v| format!("4.{v}")));
        if e.declarations.is_empty() {
            let _ = writeln!(s, "  {}  declared nothing (NFS {minors})", e.addr);
        }
        for (i, d) in e.declarations.iter().enumerate() {
            let first = if i == 0 {
                format!(
                    "  NFS {minors}{}",
                    e.lease_time
                        .map_or(String::new(), |l| format!("  lease {l} s"))
                )
            } else {
                "  CHANGED".into()
            };
            let impl_id = d.impl_id.as_ref().map_or(String::new(), |(dom, name)| {
                format!("  impl {}/{}", escape_bytes(dom), escape_bytes(name))
            });
            let _ = writeln!(
                s,
                "  {}  major={} minor={} scope={}  frames {}-{} ({} replies){first}{impl_id}",
                e.addr,
                q(&d.major),
                d.minor,
                q(&d.scope),
                fr.label(d.first_frame),
                fr.label(d.last_frame),
                d.replies,
            );
        }
        for r in &e.restarts {
            let _ = writeln!(
                s,
                "      restarted before frame {}: {}",
                fr.label(r.frame),
                r.why
            );
        }
    }
}

fn identities(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
    let _ = writeln!(s, "\nServer identities");
    let refuted = |x: &std::net::SocketAddr, y: &std::net::SocketAddr| {
        a.refuted_trunking()
            .iter()
            .find(|(p, q, _)| (p == x && q == y) || (p == y && q == x))
            .map(|(_, _, r)| r.id)
    };
    for (i, id) in m.server_identities().iter().enumerate() {
        let _ = writeln!(s, "  [{i}] {}", key_text(&id.key));
        let groups = m.minor_groups(id);
        for (minor, eps) in &groups {
            let pairs: Vec<&'static str> = eps
                .iter()
                .enumerate()
                .flat_map(|(k, x)| eps[k + 1..].iter().filter_map(move |y| refuted(x, y)))
                .collect();
            let note = match (eps.len() > 1, pairs.first()) {
                (false, _) => String::new(),
                (true, None) => "  (session-trunkable)".into(),
                (true, Some(rule)) => {
                    format!(
                        "  (declared session-trunkable, but the capture shows otherwise: {rule})"
                    )
                }
            };
            let _ = writeln!(
                s,
                "      minor id {}: {}{note}",
                minor.map_or("-".into(), |v| v.to_string()),
                join(eps),
            );
        }
        if groups.len() > 1 {
            let _ = writeln!(
                s,
                "      the minor-id groups are client-ID trunkable with each other"
            );
        }
        gss_targets(s, m, &id.endpoints, fr);
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
}

/// The target principals of the EXCHANGE_IDs each address of one server
/// identity answered under RPCSEC_GSS: equal ones verify client-ID
/// trunking (RFC 8881 §2.10.5.1). Nothing when none was.
fn gss_targets(s: &mut String, m: &Model, endpoints: &[std::net::SocketAddr], fr: &Frames<'_>) {
    let seen: Vec<_> = endpoints
        .iter()
        .filter_map(|e| m.endpoints.get(e))
        .collect();
    if seen.iter().all(|e| e.gss_targets.is_empty()) {
        return;
    }
    let _ = writeln!(
        s,
        "      target principals of EXCHANGE_ID under RPCSEC_GSS (RFC 8881 §2.10.5.1):"
    );
    for e in &seen {
        if e.gss_targets.is_empty() {
            let _ = writeln!(s, "        {}  no EXCHANGE_ID under RPCSEC_GSS", e.addr);
        }
        for t in &e.gss_targets {
            let _ = writeln!(
                s,
                "        {}  {}  frames {}-{} ({} replies)",
                e.addr,
                t.target
                    .as_ref()
                    .map_or("target not captured".into(), |p| p.to_string()),
                fr.label(t.first_frame),
                fr.label(t.last_frame),
                t.replies
            );
        }
    }
    if seen.len() < 2 {
        return;
    }
    let all: Vec<_> = seen.iter().flat_map(|e| &e.gss_targets).collect();
    let whole =
        seen.iter().all(|e| !e.gss_targets.is_empty()) && all.iter().all(|t| t.target.is_some());
    let first = all.first().and_then(|t| t.target.as_ref());
    let verdict = if !whole {
        "not every address shows a target principal: the capture cannot verify client-ID trunking by it"
    } else if all.iter().all(|t| t.target.as_ref() == first) {
        "one target principal at every address: client-ID trunking verified by it"
    } else {
        "the target principals differ: client-ID trunking not verified by them"
    };
    let _ = writeln!(s, "        {verdict}");
}

fn clients(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
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
            join(
                c.principals
                    .iter()
                    .map(|p| principal_text(p) + &principal_gss_note(m, p, &c.endpoints))
            ),
            join(&c.sources),
            join(&c.endpoints),
        );
    }
}

fn client_ids(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |f| fr.label(f));
    let _ = writeln!(s, "\nClient IDs");
    if m.client_ids.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for r in &m.client_ids {
        let protection = match (r.protection_asked, r.state_protect) {
            (None, None) => String::new(),
            (asked, granted) => format!(
                "  state protection asked {}{}, granted {}",
                asked.map_or("-".into(), |(h, _)| h.to_string()),
                match (asked, &r.exchange_id_gss) {
                    (Some(_), Some(u)) => format!(" under {}", gss_use_text(m, u)),
                    (Some((_, true)), None) => " (RPCSEC_GSS integrity/privacy)".into(),
                    (Some((_, false)), None) => " (no RPCSEC_GSS integrity/privacy)".into(),
                    (None, _) => String::new(),
                },
                granted.map_or("-".into(), |h| h.to_string())
            ),
        };
        let ended = r.ended.map_or(String::new(), |e| {
            format!("  ended {} ({})", fr.label(e.frame), e.kind.as_str())
        });
        let _ = writeln!(
            s,
            "  {:#018x}  by {}  owner {}  issued {}  confirmed {}  reclaim_complete {}  destroyed {}  at {}{protection}{ended}",
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
}

/// The RPCSEC_GSS contexts: where each was created, the mechanism and
/// target principal its creation named, and the calls that used it.
/// Nothing when the capture has none.
fn gss_contexts(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
    if m.gss_contexts.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nGSS contexts (the client principal is encrypted: not on the wire)"
    );
    for c in &m.gss_contexts {
        let krb5 = c.creation.as_ref().is_some_and(|x| x.is_krb5());
        // Without its creation, `target not captured` says all there is.
        let created = match &c.creation {
            Some(x) => format!(
                "  created frames {}-{} ({})",
                fr.label(x.init_frame),
                fr.label(x.reply_frame),
                gss_major_text(x.gss_major)
            ),
            None => String::new(),
        };
        let used = match (c.first_use, c.last_use) {
            (Some(f), Some(l)) => format!(
                "used as {} by {} call{}, frames {}-{}",
                join(c.services.iter().map(|sv| gss_flavor_text(krb5, *sv))),
                c.calls,
                if c.calls == 1 { "" } else { "s" },
                fr.label(f),
                fr.label(l)
            ),
            _ => "not used by a COMPOUND".into(),
        };
        let _ = writeln!(
            s,
            "  {}  at {}  {}{created}  {used}",
            hex(&c.handle),
            c.server,
            gss_text(Some(c), None),
        );
    }
}

fn sessions(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |f| fr.label(f));
    let _ = writeln!(s, "\nSessions");
    if m.sessions.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for sess in m.sessions.values() {
        let ended = sess.ended.map_or(String::new(), |e| {
            format!("  ended {} ({})", fr.label(e.frame), e.kind.as_str())
        });
        let _ = writeln!(
            s,
            "  {}  clientid {}  at {}  created {}  flags {}  slots used {}  destroyed {}{ended}",
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
}

fn recovery(s: &mut String, a: &Analysis, fr: &Frames<'_>) {
    let m = a.model();
    if m.recovery.is_empty() {
        return;
    }
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

fn findings(s: &mut String, a: &Analysis, fr: &Frames<'_>, paint: Paint) {
    let _ = writeln!(s, "\nFindings");
    if a.findings().is_empty() {
        if a.summary().nfs4 {
            let _ = writeln!(
                s,
                "  none ({} rules checked; see analyzer/RULES.md)",
                analyzer::rules::ALL.len()
            );
        } else {
            let _ = writeln!(s, "  none: no NFSv4 traffic, nothing judged");
        }
    }
    for sev in [Severity::Violation, Severity::Warning, Severity::Info] {
        for f in a.findings().iter().filter(|f| f.rule.severity == sev) {
            let line = finding_line(f, fr);
            let line = match sev {
                Severity::Violation => paint.red(&line),
                Severity::Warning => paint.yellow(&line),
                Severity::Info => line,
            };
            let _ = writeln!(s, "  {line}");
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::analyze_json::json_report;
    use analyzer::model::{Declaration, Endpoint, TargetSeen};
    use analyzer::rpc::gss_token::KrbPrincipal;

    fn principal(host: &str) -> KrbPrincipal {
        KrbPrincipal {
            name_type: 3,
            components: vec![b"nfs".to_vec(), host.as_bytes().to_vec()],
            realm: b"EXAMPLE".to_vec(),
        }
    }

    /// The identity section of a model with two addresses of one server
    /// (one scope and major id), answering EXCHANGE_ID under RPCSEC_GSS
    /// with these targets.
    fn trunking_view(a: Vec<Option<KrbPrincipal>>, b: Vec<Option<KrbPrincipal>>) -> String {
        let mut m = analyzer::model::Model::new(Default::default());
        for (addr, targets) in [("10.0.0.1:2049", a), ("10.0.0.2:2049", b)] {
            let addr: std::net::SocketAddr = addr.parse().expect("address");
            m.endpoints.insert(
                addr,
                Endpoint {
                    addr,
                    declarations: vec![Declaration {
                        major: b"srv".to_vec(),
                        minor: 0,
                        scope: b"scope".to_vec(),
                        impl_id: None,
                        first_frame: 1,
                        last_frame: 1,
                        replies: 1,
                    }],
                    minor_versions: Default::default(),
                    first_frame: 1,
                    lease_time: None,
                    restarts: Vec::new(),
                    last_epoch: None,
                    gss_targets: targets
                        .into_iter()
                        .map(|target| TargetSeen {
                            target,
                            first_frame: 3,
                            last_frame: 5,
                            replies: 2,
                        })
                        .collect(),
                },
            );
        }
        let a = Analysis::from_model(m);
        let text = text_report("t.pcap", &a, &PipelineStats::default(), &Frames::Single);
        let start = text.find("Server identities").expect("identities");
        let end = text.find("\nClients").expect("clients");
        text[start..end].to_string()
    }

    #[test]
    fn the_trunking_view_shows_each_address_target_principal() {
        let one = trunking_view(vec![Some(principal("a"))], vec![Some(principal("a"))]);
        assert!(
            one.contains("        10.0.0.1:2049  nfs/a@EXAMPLE  frames 3-5 (2 replies)\n"),
            "{one}"
        );
        assert!(
            one.contains(
                "one target principal at every address: client-ID trunking verified by it"
            ),
            "{one}"
        );
        let two = trunking_view(vec![Some(principal("a"))], vec![Some(principal("b"))]);
        assert!(two.contains("the target principals differ"), "{two}");
        let unknown = trunking_view(vec![Some(principal("a"))], vec![None]);
        assert!(
            unknown.contains("10.0.0.2:2049  target not captured"),
            "{unknown}"
        );
        assert!(unknown.contains("the capture cannot verify"), "{unknown}");
        let missing = trunking_view(vec![Some(principal("a"))], vec![]);
        assert!(
            missing.contains("10.0.0.2:2049  no EXCHANGE_ID under RPCSEC_GSS"),
            "{missing}"
        );
        assert!(missing.contains("the capture cannot verify"), "{missing}");
        let none = trunking_view(vec![], vec![]);
        assert!(!none.contains("target principal"), "{none}");
    }

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
