//! `analyze --graph`: who is who as a Graphviz picture: server identities as
//! boxes around their endpoints, clients, client IDs, sessions and the
//! connections that carry them. Written as DOT, and as SVG too when
//! Graphviz's `dot` is installed.

use analyzer::model::{BindHow, Relation, ServerKey};
use analyzer::rules::Severity;
use analyzer::xdr::escape_bytes;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// A DOT label-safe version of `s`.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn key_label(k: &ServerKey) -> String {
    match k {
        ServerKey::Declared { scope, major } => format!(
            "server scope \\\"{}\\\"\\nmajor id \\\"{}\\\"",
            esc(&escape_bytes(scope)),
            esc(&escape_bytes(major))
        ),
        ServerKey::Address(a) => format!("server at {a}\\n(declared nothing)"),
    }
}

/// The model and its findings as a DOT graph.
pub fn dot(title: &str, a: &analyzer::rules::Analysis) -> String {
    let m = a.model();
    let mut s = String::new();
    let _ = writeln!(s, "digraph trunkcheck {{");
    let _ = writeln!(
        s,
        "  graph [rankdir=LR, fontname=\"Helvetica\", label=\"{}\", labelloc=t];",
        esc(title)
    );
    let _ = writeln!(s, "  node [fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(s, "  edge [fontname=\"Helvetica\", fontsize=9];");
    for (i, id) in m.server_identities().iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_server_{i} {{");
        let _ = writeln!(
            s,
            "    label=\"{}\"; style=rounded; color=\"#4a6fa5\";",
            key_label(&id.key)
        );
        for e in &id.endpoints {
            let minor = m
                .endpoints
                .get(e)
                .and_then(|ep| ep.current())
                .map_or(String::new(), |d| format!("\\nminor id {}", d.minor));
            let _ = writeln!(
                s,
                "    \"ep {e}\" [label=\"{e}{minor}\", shape=box, style=filled, fillcolor=\"#dde6f3\"];"
            );
        }
        let _ = writeln!(s, "  }}");
    }
    // Within an identity the box says it all; across identities, a shared
    // scope is drawn between their first endpoints.
    let ids = m.server_identities();
    for (i, j) in m.scope_relations() {
        if let (Some(a), Some(b)) = (ids[i].endpoints.first(), ids[j].endpoints.first()) {
            let _ = writeln!(
                s,
                "  \"ep {a}\" -> \"ep {b}\" [dir=none, style=dashed, color=\"#f9a825\", label=\"{}\"];",
                Relation::SameScope.as_str()
            );
        }
    }
    for t in &m.v40_trunking {
        let _ = writeln!(
            s,
            "  \"ep {}\" -> \"ep {}\" [dir=none, style=dotted, label=\"v4.0 test: {}\"];",
            t.issued_at,
            t.confirmed_at,
            if t.same_server() { "same" } else { "different" }
        );
    }
    for (i, c) in m.clients.iter().enumerate() {
        let _ = writeln!(
            s,
            "  \"client {i}\" [label=\"client \\\"{}\\\"\\n{} incarnation(s)\", shape=ellipse, style=filled, fillcolor=\"#f3e5d0\"];",
            esc(&escape_bytes(&c.owner)),
            c.incarnations.len()
        );
        for e in &c.endpoints {
            let _ = writeln!(
                s,
                "  \"client {i}\" -> \"ep {e}\" [label=\"owner\", color=\"#8d6e63\"];"
            );
        }
    }
    for (i, r) in m.client_ids.iter().enumerate() {
        let ended = r
            .ended
            .map_or(String::new(), |e| format!("\\nended ({})", e.kind.as_str()));
        let _ = writeln!(
            s,
            "  \"cid {i}\" [label=\"client ID {:#x}{ended}\", shape=note, style=filled, fillcolor=\"#ede7f6\"];",
            r.clientid
        );
        if let Some(at) = r.issued_at.or_else(|| r.endpoints.iter().next().copied()) {
            let _ = writeln!(
                s,
                "  \"cid {i}\" -> \"ep {at}\" [label=\"issued by\", color=\"#5e35b1\"];"
            );
        }
        if let Some(c) = r
            .owner
            .as_deref()
            .and_then(|o| m.clients.iter().position(|c| c.owner == o))
        {
            let _ = writeln!(
                s,
                "  \"client {c}\" -> \"cid {i}\" [label=\"holds\", color=\"#8d6e63\"];"
            );
        }
    }
    for (k, sess) in m.sessions.values().enumerate() {
        let node = format!("sess {k}");
        let _ = writeln!(
            s,
            "  \"{node}\" [label=\"session {}\", shape=component, style=filled, fillcolor=\"#e8f5e9\"];",
            &sess.id.hex()[..12],
        );
        if let Some(i) = m.session_record_index(sess) {
            let _ = writeln!(
                s,
                "  \"{node}\" -> \"cid {i}\" [label=\"of\", color=\"#5e35b1\"];"
            );
        }
        for (conn, b) in &sess.connections {
            let (client, server) = m
                .connections
                .get(conn)
                .map_or((String::from("?"), sess.endpoint), |c| {
                    (c.client.to_string(), c.server)
                });
            let how = match b.how {
                BindHow::CreateSession => "CREATE_SESSION",
                BindHow::BindConnToSession => "BIND_CONN",
                BindHow::Sequence => "SEQUENCE",
            };
            let _ = writeln!(
                s,
                "  \"{node}\" -> \"ep {server}\" [label=\"{conn} from {client}\\n{how} {}\"];",
                b.dir
            );
        }
    }
    // Each finding: a red edge labelled with its rule, from the finding
    // note to every server address it is about.
    for f in a.findings() {
        let color = match f.rule.severity {
            Severity::Violation => "#c62828",
            _ => "#f9a825",
        };
        for srv in &f.servers {
            if m.endpoints.contains_key(srv) {
                let _ = writeln!(
                    s,
                    "  findings -> \"ep {srv}\" [color=\"{color}\", fontcolor=\"{color}\", label=\"{}\"];",
                    esc(f.rule.id)
                );
            }
        }
    }
    let violations = a
        .findings()
        .iter()
        .filter(|f| f.rule.severity == Severity::Violation)
        .count();
    if !a.findings().is_empty() {
        let _ = writeln!(
            s,
            "  findings [shape=note, style=filled, fillcolor=\"{}\", label=\"{} finding(s), {violations} violation(s)\"];",
            if violations > 0 { "#ffcdd2" } else { "#fff9c4" },
            a.findings().len()
        );
    }
    let _ = writeln!(s, "}}");
    s
}

/// Writes `path` (DOT) and, when `dot` is installed, `path` with `.svg`.
/// Returns the SVG path if one was written.
pub fn write(path: &Path, text: &str) -> std::io::Result<Option<std::path::PathBuf>> {
    std::fs::write(path, text)?;
    let svg = path.with_extension("svg");
    let out = Command::new("dot")
        .arg("-Tsvg")
        .arg("-o")
        .arg(&svg)
        .arg(path)
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(Some(svg)),
        _ => Ok(None),
    }
}
