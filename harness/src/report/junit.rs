//! `analyze --junit`: one JUnit test suite per capture, one test case per
//! rule: a rule with a violation fails (its findings and frames in the
//! message), warnings and notes are kept in the case's output.

use super::frames::Frames;
use analyzer::rules::{self, Analysis, Policy};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// Adds the suite of one analysed capture (or merged observation).
pub fn add_suite(report: &mut Report, file: &str, a: &Analysis, fr: &Frames<'_>, policy: &Policy) {
    let mut suite = TestSuite::new(file);
    for rule in rules::ALL {
        let found: Vec<_> = a
            .findings()
            .iter()
            .filter(|f| std::ptr::eq(f.rule, *rule))
            .collect();
        let text = found
            .iter()
            .map(|f| {
                format!(
                    "{} (frames [{}])",
                    fr.message(&f.message),
                    fr.list(&f.frames)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let fails = policy.fails(rule);
        let status = if fails && !found.is_empty() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{} ({}): {}", rule.title, rule.rfc, found.len()));
            s.set_description(text.clone());
            s
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(rule.id, status);
        case.set_classname(format!("{}.{}", rule.party.as_str(), rule.rfc));
        if !found.is_empty() && !fails {
            case.set_system_out(text);
        }
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
}

/// A new report.
pub fn report() -> Report {
    Report::new("trunkcheck analyze")
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::rules::Finding;

    #[test]
    fn a_violation_fails_its_rule_case_and_warnings_do_not() {
        let mut m = Analysis::new(Default::default());
        m.add_finding(Finding {
            rule: &rules::CSESS_ATTRS,
            message: "channel attributes: fore ca_maxrequestsize 1 -> 2".into(),
            frames: vec![10, 11],
            servers: vec![],
        });
        m.add_finding(Finding {
            rule: &rules::CLIENT_OWNER_PER_SERVER,
            message: "two owners".into(),
            frames: vec![3],
            servers: vec![],
        });
        let mut r = report();
        add_suite(&mut r, "x.pcap", &m, &Frames::Single, &Policy::default());
        let xml = r.to_string().expect("xml");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains("csess.channel-attrs"));
        assert!(
            xml.contains("fore ca_maxrequestsize 1 -&gt; 2 (frames [10, 11])"),
            "{xml}"
        );
        assert!(
            xml.contains("<system-out>two owners (frames [3])</system-out>"),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), rules::ALL.len());
    }
}
