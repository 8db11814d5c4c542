//! `run --junit` and `run --json`: the records of a run as JUnit XML (a
//! suite per suite file, a case per scenario: class name = the suite's
//! area, name = the scenario id) and as the JSON document.

use crate::run::record::{Baseline, Outcome, Record};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::path::Path;

/// The JUnit XML report: a suite per suite file, a case per scenario.
pub fn junit(records: &[Record]) -> Result<String, String> {
    let mut report = Report::new("trunkcheck");
    let mut by_file: BTreeMap<&Path, Vec<&Record>> = BTreeMap::new();
    for r in records {
        by_file.entry(r.file.as_path()).or_default().push(r);
    }
    for (file, recs) in by_file {
        let mut suite = TestSuite::new(file.display().to_string());
        for r in recs {
            let status = match r.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::Failed => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let msg = r.message.clone().unwrap_or_default();
                    s.set_message(msg.lines().next().unwrap_or("").to_string());
                    s.set_description(msg);
                    s
                }
                Outcome::KnownFailure | Outcome::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    let msg = r.message.clone().unwrap_or_default();
                    let prefix = if r.outcome == Outcome::KnownFailure {
                        "known failure: "
                    } else {
                        ""
                    };
                    s.set_message(format!("{prefix}{}", msg.lines().next().unwrap_or("")));
                    s
                }
            };
            let mut case = TestCase::new(r.id.clone(), status);
            case.set_classname(r.area.clone());
            case.set_time(r.duration);
            if !r.findings.is_empty() {
                case.set_system_out(r.findings.join("\n"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| e.to_string())
}

/// Version of the `run --json` document.
pub const JSON_VERSION: u32 = 1;

/// The `run --json` document (schema in the README).
pub fn json(records: &[Record], target: &str, baseline: Option<&Baseline>) -> String {
    let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count();
    let scenarios: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "title": r.title,
                "rfc": r.rfc,
                "file": r.file.display().to_string(),
                "outcome": r.outcome.as_str(),
                "duration_ms": r.duration.as_millis() as u64,
                "message": r.message,
                "findings": r.findings,
                "capture": r.capture.as_ref().map(|p| p.display().to_string()),
                "roles": r.roles,
            })
        })
        .collect();
    let stale: Vec<serde_json::Value> = baseline
        .map(|b| b.stale(records))
        .unwrap_or_default()
        .into_iter()
        .map(|(id, why)| serde_json::json!({"id": id, "why": why}))
        .collect();
    let doc = serde_json::json!({
        "trunkcheck_run": JSON_VERSION,
        "target": target,
        "summary": {
            "passed": count(Outcome::Passed),
            "failed": count(Outcome::Failed),
            "known_failures": count(Outcome::KnownFailure),
            "skipped": count(Outcome::Skipped),
        },
        "stale_baseline_entries": stale,
        "scenarios": scenarios,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::tests::rec;

    #[test]
    fn junit_and_json_carry_every_outcome() {
        let recs = [
            rec("A-B-01", Outcome::Passed),
            rec("A-B-02", Outcome::Failed),
            rec("A-B-03", Outcome::Skipped),
            rec("A-B-04", Outcome::KnownFailure),
        ];
        let xml = junit(&recs).expect("xml");
        assert!(
            xml.contains("tests=\"4\"") && xml.contains("failures=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("values differ"));
        assert!(
            xml.contains(r#"<testsuite name="suites/x.yaml""#)
                && xml.contains(r#"name="A-B-02" classname="Area (NFSv4.1)""#),
            "{xml}"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&json(&recs, "default", None)).expect("json");
        assert_eq!(doc["summary"]["failed"], 1);
        assert_eq!(doc["summary"]["known_failures"], 1);
        assert_eq!(doc["scenarios"][1]["outcome"], "failed");
    }
}
