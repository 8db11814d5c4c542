//! One fact, one strength: a passive rule that judges a server for a
//! catalogue row weighs its finding as the scenario suite weighs the same
//! row. When every scenario that covers a row whole gives it one strength
//! (its `kw:` or the catalogue's Kw column), the passive rules of that row
//! must have the matching severity (failure: violation, warning: warning,
//! information: info), or be listed below with the reason they differ.
//! Without this a vendor could see a failure from `trunkcheck run` and a
//! mere warning from `trunkcheck analyze` for the same server answer.

mod common;

use analyzer::rules::{Party, Severity, ALL};
use std::collections::{BTreeMap, BTreeSet};
use trunkcheck::scenario::Strength;

/// Passive rules whose severity differs from the suite's strength for
/// their row, and why.
const DIFFERS: &[(&str, u32, &str)] = &[];

fn expected(s: Strength) -> Severity {
    match s {
        Strength::Failure => Severity::Violation,
        Strength::Warning => Severity::Warning,
        Strength::Information => Severity::Info,
    }
}

#[test]
fn passive_rules_weigh_a_row_as_the_suite_does() {
    let suites = common::load_suites();
    // Row → the strengths the suite gives it, with one scenario id for each:
    // from scenarios that cover that row alone and whole, and whose every
    // expectation has one strength (a scenario of several rows, or of
    // mixed strengths, does not say which strength belongs to which row).
    let mut by_row: BTreeMap<u32, BTreeMap<Strength, String>> = BTreeMap::new();
    for s in &suites {
        for sc in &s.file.scenarios {
            let ([row], true) = (&sc.rows[..], sc.partial.is_empty()) else {
                continue;
            };
            let strengths: BTreeSet<Strength> = sc.expectation_strengths().into_iter().collect();
            let [strength] = strengths.into_iter().collect::<Vec<_>>()[..] else {
                continue;
            };
            by_row
                .entry(*row)
                .or_default()
                .entry(strength)
                .or_insert_with(|| sc.id.clone());
        }
    }
    let mut problems = Vec::new();
    let mut compared: BTreeSet<(&str, u32)> = BTreeSet::new();
    for rule in ALL.iter().filter(|r| r.party == Party::Server) {
        for row in rule.rows {
            let Some(strengths) = by_row.get(row) else {
                continue;
            };
            let [(strength, scenario)] = strengths.iter().collect::<Vec<_>>()[..] else {
                continue;
            };
            compared.insert((rule.id, *row));
            let listed = DIFFERS.iter().any(|(id, r, _)| *id == rule.id && r == row);
            let same = expected(*strength) == rule.severity;
            if same == listed {
                problems.push(format!(
                    "{} (row {row}) is a {}; the suite gives row {row} {strength} ({scenario}){}",
                    rule.id,
                    rule.severity.as_str(),
                    if listed {
                        ": the same, so drop it from DIFFERS"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    for (id, row, _) in DIFFERS {
        if !compared.contains(&(*id, *row)) {
            problems.push(format!(
                "DIFFERS names {id} row {row}, which is not compared (no such server rule, or no scenario weighs the row alone)"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The comparison is not vacuous: many server rules have a row the
    // suite weighs alone.
    eprintln!("{} (rule, row) pairs compared", compared.len());
    assert!(compared.len() >= 15, "only {} compared", compared.len());
}
