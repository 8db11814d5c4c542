//! `run --junit` and `run --json`: the records of a run as JUnit XML (a
//! suite per suite file, a case per scenario) and as the JSON document.
//! Warnings (SHOULD-strength expectations and passive server warnings)
//! are reported apart from failures: in JUnit as the case's system-out
//! and a `warnings` property, in JSON as `warnings` per scenario and in
//! the summary.

use crate::run::record::{Baseline, Outcome, Record};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
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
            case.set_classname(r.rfc.join(", "));
            case.set_time(r.duration);
            case.add_property(Property::new("warnings", r.warnings.len().to_string()));
            case.add_property(Property::new(
                "information",
                r.information.len().to_string(),
            ));
            let mut out: Vec<String> = Vec::new();
            out.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
            out.extend(r.information.iter().map(|i| format!("information: {i}")));
            out.extend(r.findings.iter().map(|f| format!("finding: {f}")));
            if !out.is_empty() {
                case.set_system_out(out.join("\n"));
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| e.to_string())
}

/// Version of the `run --json` document.
pub const JSON_VERSION: u32 = 1;

/// The `run --json` document (schema in the README); `strict`: warnings
/// failed the run's trials.
pub fn json(records: &[Record], target: &str, baseline: Option<&Baseline>, strict: bool) -> String {
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
                "warnings": r.warnings,
                "information": r.information,
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
        .map(|st| serde_json::json!({"id": st.id, "kind": st.kind, "why": st.why}))
        .collect();
    let doc = serde_json::json!({
        "trunkcheck_run": JSON_VERSION,
        "target": target,
        "strict": strict,
        "summary": {
            "passed": count(Outcome::Passed),
            "failed": count(Outcome::Failed),
            "known_failures": count(Outcome::KnownFailure),
            "skipped": count(Outcome::Skipped),
            "warnings": records.iter().map(|r| r.warnings.len()).sum::<usize>(),
            "scenarios_with_warnings": records.iter().filter(|r| !r.warnings.is_empty()).count(),
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
        let doc: serde_json::Value =
            serde_json::from_str(&json(&recs, "default", None, false)).expect("json");
        assert_eq!(doc["summary"]["failed"], 1);
        assert_eq!(doc["summary"]["known_failures"], 1);
        assert_eq!(doc["scenarios"][1]["outcome"], "failed");
    }

    #[test]
    fn warnings_are_reported_apart_from_failures() {
        let mut warned = rec("A-W-01", Outcome::Passed);
        warned.warnings = vec![
            "step 10 (sequence): reply field sr_status_flags\n  strength: warning (must)".into(),
            "passive rule, server warning: x".into(),
        ];
        warned.information = vec!["grace lasted 10.1 s".into()];
        let recs = [warned, rec("A-B-02", Outcome::Failed)];
        let xml = junit(&recs).expect("xml");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("name=\"warnings\" value=\"2\""), "{xml}");
        assert!(xml.contains("warning: step 10 (sequence)"), "{xml}");
        assert!(xml.contains("information: grace lasted"), "{xml}");
        let mut b = Baseline::default();
        b.warnings.insert("A-W-09".into(), "r".into());
        let doc: serde_json::Value =
            serde_json::from_str(&json(&recs, "default", Some(&b), true)).expect("json");
        assert_eq!(doc["strict"], true);
        assert_eq!(doc["summary"]["warnings"], 2);
        assert_eq!(doc["summary"]["scenarios_with_warnings"], 1);
        assert_eq!(doc["summary"]["failed"], 1);
        assert_eq!(doc["scenarios"][0]["outcome"], "passed");
        assert_eq!(
            doc["scenarios"][0]["warnings"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(doc["scenarios"][0]["information"][0], "grace lasted 10.1 s");
        let stale = &doc["stale_baseline_entries"][0];
        assert_eq!(
            (&stale["id"], &stale["kind"], &stale["why"]),
            (
                &serde_json::json!("A-W-09"),
                &serde_json::json!("warning"),
                &serde_json::json!("was not run")
            )
        );
    }
}
