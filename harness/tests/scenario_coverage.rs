//! `suites/COVERAGE.md`, the active half of the coverage matrix: every
//! catalogue row (`../shared/spec/rules.md`) whose mode includes A is
//! covered by scenarios (their `rows:`), or says why not; a scenario that
//! shows only part of a row says which part (`partial:`) and the matrix
//! says "partial: …". Generated from the catalogue and the suites; the test
//! fails when the file drifts, when an A row has neither scenario nor
//! reason, or when a reason is kept for a row a scenario now covers.
//!
//! Also `harness/src/scenario/catalogue.rs`, the catalogue's Kw column the
//! scenarios' expectations inherit their strength from: it must match the
//! catalogue. Regenerate both with
//! `TRUNKCHECK_UPDATE_COVERAGE=1 cargo test -p trunkcheck --test scenario_coverage`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A rows no scenario covers, and why.
const NOT_ACTIVE: &[(u32, &str)] = &[
    (10, "the catalogue leaves the 4.0-to-4.1 upgrade behaviour to the server (either answer conforms); nothing to fail"),
    (54, "needs a server that grants SP4_SSV, and the SSV GSS mechanism (RFC 8881 §2.10.9) in the client: neither built-in server grants it (KRB5-SSV-01: Ganesha 4.3 answers SP4_NONE, Linux knfsd 6.1 NFS4ERR_ENCR_ALG_UNSUPP), so no SSV principal exists to send EXCHANGE_ID"),
    (66, "no portable way to exhaust a server's reply cache memory from a test"),
    (82, "needs a server that grants persistent sessions (CSESS-FLAGS-01 shows Ganesha does not)"),
    (99, "needs a reclaim the equivalent non-reclaim request would be denied by access control, i.e. a principal the export refuses; the lab's export lets every AUTH_SYS principal in (a reclaim after a conflicting grant is PART-EDGE-01, row 102)"),
];

struct Row {
    number: u32,
    reference: String,
    kw: String,
    mode: String,
    what: String,
}

fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("TRUNKCHECK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("spec/rules.md");
    p.exists().then_some(p)
}

fn catalogue(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            Some(Row {
                number: c.get(1)?.parse().ok()?,
                reference: c.get(2)?.to_string(),
                kw: c.get(3)?.to_string(),
                what: c.get(4)?.to_string(),
                mode: c.get(5)?.to_string(),
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

#[test]
fn every_active_catalogue_row_has_scenarios_or_a_reason() {
    let Some(path) = shared() else {
        eprintln!("skipped: ../shared/spec/rules.md not found");
        return;
    };
    let rows = catalogue(&std::fs::read_to_string(&path).expect("catalogue"));
    let suites = common::load_suites();
    // Row → (scenario id, the part it covers when only a part).
    let mut by_row: BTreeMap<u32, Vec<(String, Option<String>)>> = BTreeMap::new();
    let mut total = 0;
    for s in &suites {
        for sc in &s.file.scenarios {
            total += 1;
            for r in &sc.rows {
                by_row
                    .entry(*r)
                    .or_default()
                    .push((sc.id.clone(), sc.partial.get(r).cloned()));
            }
        }
    }
    let active: Vec<&Row> = rows.iter().filter(|r| r.mode.contains('A')).collect();
    let mut problems = Vec::new();
    for r in &active {
        let reason = NOT_ACTIVE.iter().find(|(n, _)| *n == r.number);
        match (by_row.get(&r.number), reason) {
            (None, None) => problems.push(format!(
                "row {} ({}) has no scenario and no reason",
                r.number, r.reference
            )),
            (Some(ids), Some(_)) => problems.push(format!(
                "row {} is covered by {:?}: drop its reason",
                r.number,
                ids.iter().map(|(i, _)| i).collect::<Vec<_>>()
            )),
            _ => {}
        }
    }
    for n in by_row.keys() {
        if !rows.iter().any(|r| r.number == *n) {
            problems.push(format!(
                "a scenario names row {n}, which the catalogue does not have"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let covered = active
        .iter()
        .filter(|r| by_row.contains_key(&r.number))
        .count();
    let only_partly = active
        .iter()
        .filter(|r| {
            by_row
                .get(&r.number)
                .is_some_and(|ids| ids.iter().all(|(_, part)| part.is_some()))
        })
        .count();
    let mut out = String::new();
    out.push_str(
        "# Scenario coverage\n\n\
         Generated by `harness/tests/scenario_coverage.rs` from `../shared/spec/rules.md` and\n\
         the suites' `rows:`; the test fails if this file drifts. Rows whose mode includes A\n\
         (active) are covered by scenarios or say why not; a scenario that shows only part\n\
         of a row is listed as \"partial: `ID` (the part it shows)\". The passive half is\n\
         `analyzer/RULES.md`.\n\n",
    );
    let _ = writeln!(
        out,
        "{total} scenarios; {} catalogue rows have an active mode; {covered} are covered by scenarios ({only_partly} of them only in part), {} are not (reasons below).\n",
        active.len(),
        active.len() - covered
    );
    out.push_str("| row | ref | mode | what | scenarios |\n|---|---|---|---|---|\n");
    for r in &active {
        let cell = match by_row.get(&r.number) {
            Some(ids) => {
                let full: Vec<String> = ids
                    .iter()
                    .filter(|(_, part)| part.is_none())
                    .map(|(i, _)| format!("`{i}`"))
                    .collect();
                let partly: Vec<String> = ids
                    .iter()
                    .filter_map(|(i, part)| {
                        part.as_ref()
                            .map(|p| format!("`{i}` ({})", p.replace('|', "/")))
                    })
                    .collect();
                match (full.is_empty(), partly.is_empty()) {
                    (_, true) => full.join(", "),
                    (true, false) => format!("partial: {}", partly.join(", ")),
                    (false, false) => {
                        format!("{}; partial: {}", full.join(", "), partly.join(", "))
                    }
                }
            }
            None => format!(
                "not covered: {}",
                NOT_ACTIVE
                    .iter()
                    .find(|(n, _)| *n == r.number)
                    .map_or("", |(_, w)| w)
            ),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.number,
            short(&r.reference, 40),
            short(&r.mode, 20),
            short(&r.what, 90),
            cell
        );
    }
    let update = std::env::var_os("TRUNKCHECK_UPDATE_COVERAGE").is_some();
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenario/catalogue.rs");
    let keywords = keyword_table(&rows);
    if update {
        std::fs::write(&table, &keywords).expect("write");
    }
    assert!(
        std::fs::read_to_string(&table).unwrap_or_default() == keywords,
        "harness/src/scenario/catalogue.rs differs from the catalogue's Kw column: run TRUNKCHECK_UPDATE_COVERAGE=1 cargo test -p trunkcheck --test scenario_coverage"
    );
    let target = common::repo().join("suites/COVERAGE.md");
    if update {
        std::fs::write(&target, &out).expect("write");
    }
    let current = std::fs::read_to_string(&target).unwrap_or_default();
    assert!(
        current == out,
        "suites/COVERAGE.md is out of date: run TRUNKCHECK_UPDATE_COVERAGE=1 cargo test -p trunkcheck --test scenario_coverage"
    );
}

/// `harness/src/scenario/catalogue.rs` as the catalogue's Kw column makes it.
fn keyword_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "//! The Kw column of the rule catalogue (`spec/rules.md` in the shared\n\
         //! folder): the keyword each row's rule carries, as the catalogue writes\n\
         //! it. A scenario's expectations inherit their strength from the rows the\n\
         //! scenario covers (see [`super::strength`]). Generated by\n\
         //! `harness/tests/scenario_coverage.rs`, which fails when the catalogue\n\
         //! and this table drift (`TRUNKCHECK_UPDATE_COVERAGE=1` rewrites it).\n\
         \n\
         /// (catalogue row, its Kw cell).\n\
         pub const ROW_KEYWORDS: &[(u32, &str)] = &[\n",
    );
    for r in rows {
        let _ = writeln!(out, "    ({}, {:?}),", r.number, r.kw);
    }
    out.push_str("];\n");
    out
}
