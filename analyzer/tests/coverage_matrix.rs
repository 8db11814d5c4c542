//! `analyzer/RULES.md`, the coverage matrix (catalogue row → check id or why
//! not yet), is generated from the catalogue (`../shared/spec/rules.md`) and
//! the rule table (`analyzer::rules::ALL`); this test fails when the file
//! differs from what they give, so it cannot drift. Regenerate with
//! `TRUNKCHECK_UPDATE_RULES=1 cargo test -p trunkcheck-analyzer --test coverage_matrix`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

struct Row {
    number: u32,
    reference: String,
    keyword: String,
    mode: String,
    what: String,
}

/// Rows that state how the analyzer must reason rather than a behaviour to
/// judge: the model honours them by construction (and its tests check it).
const MODEL_INVARIANTS: &[(u32, &str)] = &[
    (12, "endpoints are grouped by (scope, major id); minor-id groups are session-trunkable (`Model::server_identities`, `minor_groups`)"),
    (14, "client IDs are keyed by the issuing server's (scope, major id), never by value alone (`ClientIdRecord::server`)"),
    (67, "BIND_CONN_TO_SESSION binds the connection it arrived on (`Session::connections`)"),
    (76, "replies are matched to calls by xid per connection and direction (`exchange`)"),
];

/// Rows with a passive mode that a capture cannot show, and why.
const NOT_PASSIVE: &[(u32, &str)] = &[
    (93, "whether a file system reached this server by migration, and which file handles belong to it, needs the server's migration history and the fsid of every handle: neither is on the wire in general. The global RECLAIM_COMPLETE ordering is `client.reclaim-complete-first`"),
    (116, "which file systems' leases moved is known only to the server, so a capture cannot show that the client probed all of them: a LEASE_MOVED that stays set cannot be blamed on either side. A flag cleared before any NFS4ERR_MOVED is `seq.lease-moved-stays` (row 81)"),
];

/// What the passive checks of a row do not judge (a weaker check than the
/// row asks for), shown beside the check ids.
const LIMITS: &[(u32, &str)] = &[
    (3, "a restart is taken as proven only by an NFS4ERR_STALE_CLIENTID answer for the client ID (how a server encodes client-ID epochs is private to it); the session-error half (BADSESSION vs DEADSESSION after a restart) needs to know whether sessions persist: active (scenario suite)"),
    (8, "only a loss on a connection that predates the repeated EXCHANGE_ID (so no restart came between) is judged; lost opens or locks are judged by the active suite"),
    (20, "a callback the client ignores (no reply) is not judged: the capture may end first"),
    (23, "an SSV GSS context cannot be told from another GSS context on the wire: only the absence of RPCSEC_GSS integrity or privacy is judged"),
    (34, "judged only when the client ID's last CREATE_SESSION sequence is in the capture and the CONFIRMED_R reply's eir_sequenceid is neither it nor the next one"),
    (43, "the client half (accepting an empty eir_server_impl_id) is not visible: what a client would have done is not on the wire"),
    (69, "the principal behind an RPCSEC_GSS context is not on the wire, so \"under the creating principal\" and the SSV mechanism are not judged; only BIND_CONN_TO_SESSION accepted without GSS integrity or privacy is"),
    (45, "whether the owner was unknown to the server cannot be seen; a client ID seen issued unconfirmed that comes back with CONFIRMED_R without a CREATE_SESSION is judged only in a capture of all the traffic (`--complete`: else the confirmation may have gone to an address not captured)"),
    (63, "a retry that reuses csa_sequence cannot be told from a new request by the client; skipped after lost bytes"),
    (74, "needs lease_time from a GETATTR in the capture; only answers on the connection that carried the renewal (no restart between) are judged; NFS4ERR_EXPIRED and the state-revoked flags are not judged (an EXPIRED may concern a stateid of an older client ID)"),
    (98, "a client reclaim at another scope is warned only at a server first seen after the state elsewhere (state held there before the capture cannot be excluded otherwise)"),
    (114, "where the client learned the address (fs_locations or otherwise) is not tracked: any trunking to an address that declared another major id or scope is judged"),
    (106, "EXPIRED within the lease is judged only with lease_time known and on the connection of the last RENEW"),
    (108, "judged only for one client host with several id strings at several addresses when NFS4ERR_MOVED is seen for a filehandle the client held (PUTFH: migration); NFS4ERR_MOVED where the COMPOUND walked into an absent file system is a referral, which non-uniform strings do not hinder"),
    (113, "a READDIR without a location attribute is not judged: a capture cannot tell an absent file system's root from a present entry unless the server reports NFS4ERR_MOVED; operations other than GETATTR and READDIR in an absent file system are not judged (nothing in a capture marks a filehandle as being in one)"),
];

fn catalogue() -> Option<PathBuf> {
    let p = std::env::var_os("TRUNKCHECK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("spec/rules.md");
    p.exists().then_some(p)
}

fn parse(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            // | # | Ref | Kw | What | Mode | Evidence | pynfs |
            let number: u32 = cols.get(1)?.parse().ok()?;
            Some(Row {
                number,
                reference: cols.get(2)?.to_string(),
                keyword: cols.get(3)?.to_string(),
                what: cols.get(4)?.to_string(),
                mode: cols.get(5)?.to_string(),
            })
        })
        .collect()
}

fn short(s: &str, n: usize) -> String {
    let s = s.replace('|', "/");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn generate(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str(
        "# Coverage matrix\n\n\
         Generated by `analyzer/tests/coverage_matrix.rs` from `../shared/spec/rules.md` and\n\
         `analyzer::rules::ALL`; the test fails if this file drifts. Each catalogue row is\n\
         covered by a passive check (its id, with what it does not judge), built into\n\
         the model, or declared not passively checkable with the reason. Rows whose\n\
         mode is A only are for the active scenario suite (issue 6).\n\n",
    );
    let passive_rows = rows.iter().filter(|r| r.mode.contains('P')).count();
    let covered = rows
        .iter()
        .filter(|r| {
            analyzer::rules::ALL
                .iter()
                .any(|rule| rule.rows.contains(&r.number))
        })
        .count();
    let not_passive = rows
        .iter()
        .filter(|r| NOT_PASSIVE.iter().any(|(n, _)| *n == r.number))
        .count();
    let _ = writeln!(
        s,
        "{} catalogue rows; {} have a passive mode (P or A+P); {} are covered by a passive check ({} checks); {} are built into the model; {} are not passively checkable.\n",
        rows.len(),
        passive_rows,
        covered,
        analyzer::rules::ALL.len(),
        MODEL_INVARIANTS.len(),
        not_passive
    );
    s.push_str("| row | ref | kw | mode | what | coverage |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let ids: Vec<String> = analyzer::rules::ALL
            .iter()
            .filter(|rule| rule.rows.contains(&r.number))
            .map(|rule| format!("`{}`", rule.id))
            .collect();
        let invariant = MODEL_INVARIANTS
            .iter()
            .find(|(n, _)| *n == r.number)
            .map(|(_, why)| *why);
        let lookup =
            |t: &[(u32, &'static str)]| t.iter().find(|(n, _)| *n == r.number).map(|(_, w)| *w);
        let coverage = if !ids.is_empty() {
            match lookup(LIMITS) {
                Some(limit) => format!("{}; not judged: {limit}", ids.join(", ")),
                None => ids.join(", "),
            }
        } else if let Some(why) = lookup(NOT_PASSIVE) {
            format!("not passively checkable: {why}")
        } else if let Some(why) = invariant {
            format!("built into the model: {why}")
        } else if r.mode.contains('P') {
            "not yet: passive check to be written".to_string()
        } else {
            "active only: scenario suite (issue 6)".to_string()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.number,
            short(&r.reference, 40),
            short(&r.keyword, 20),
            r.mode,
            short(&r.what, 90),
            coverage
        );
    }
    s.push_str("\n## Checks\n\n| id | RFC | rows | severity | party | requires |\n|---|---|---|---|---|---|\n");
    for rule in analyzer::rules::ALL {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} |",
            rule.id,
            rule.rfc,
            rule.rows
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            rule.severity.as_str(),
            rule.party.as_str(),
            rule.title
        );
    }
    s
}

#[test]
fn rules_md_matches_the_catalogue_and_the_checks() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("RULES.md");
    let Some(cat) = catalogue() else {
        eprintln!("shared/spec/rules.md not found: coverage matrix not checked");
        return;
    };
    let rows = parse(&std::fs::read_to_string(cat).expect("read catalogue"));
    assert_eq!(rows.len(), 117, "the catalogue has 117 rows");
    let want = generate(&rows);
    if std::env::var("TRUNKCHECK_UPDATE_RULES").as_deref() == Ok("1") {
        std::fs::write(&path, &want).expect("write RULES.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "analyzer/RULES.md is out of date: regenerate with TRUNKCHECK_UPDATE_RULES=1"
    );
    // Every row with a passive mode is accounted for.
    for r in rows.iter().filter(|r| r.mode.contains('P')) {
        let accounted = analyzer::rules::ALL
            .iter()
            .any(|rule| rule.rows.contains(&r.number))
            || MODEL_INVARIANTS.iter().any(|(n, _)| *n == r.number)
            || NOT_PASSIVE.iter().any(|(n, _)| *n == r.number);
        assert!(
            accounted,
            "row {} has a passive mode and no check, invariant or reason",
            r.number
        );
    }
    // A row is either checked or declared not passively checkable, not
    // both; limits are stated only for checked rows.
    for (n, _) in NOT_PASSIVE {
        assert!(
            !analyzer::rules::ALL
                .iter()
                .any(|rule| rule.rows.contains(n)),
            "row {n}"
        );
    }
    for (n, _) in LIMITS {
        assert!(
            analyzer::rules::ALL
                .iter()
                .any(|rule| rule.rows.contains(n)),
            "row {n}"
        );
    }
    // Every check names rows that exist and are unique by id.
    for rule in analyzer::rules::ALL {
        assert!(rule
            .rows
            .iter()
            .all(|n| rows.iter().any(|r| r.number == *n)));
        assert_eq!(
            analyzer::rules::ALL
                .iter()
                .filter(|r| r.id == rule.id)
                .count(),
            1
        );
    }
}
