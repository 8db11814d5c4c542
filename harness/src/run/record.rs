//! What a run records: one record per scenario and how it ended, and the
//! baseline of known failures.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every step held and no violation was seen.
    Passed,
    /// A step or a passive rule failed.
    Failed,
    /// Failed, but the baseline lists it as a known failure.
    KnownFailure,
    /// Not run (the target lacks what it needs), with the reason.
    Skipped,
}

impl Outcome {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::KnownFailure => "known-failure",
            Outcome::Skipped => "skipped",
        }
    }
}

/// The record of one scenario in a run.
#[derive(Debug, Clone)]
pub struct Record {
    /// Scenario id.
    pub id: String,
    /// Scenario title.
    pub title: String,
    /// RFC sections.
    pub rfc: Vec<String>,
    /// The suite file.
    pub file: PathBuf,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time.
    pub duration: Duration,
    /// The failure (or skip reason), in full.
    pub message: Option<String>,
    /// Passive findings on the trial's capture (rule id: message).
    pub findings: Vec<String>,
    /// The kept capture, when asked for.
    pub capture: Option<PathBuf>,
    /// Which target servers played which roles.
    pub roles: BTreeMap<String, String>,
    /// Warnings: expectations of SHOULD strength that did not hold, and
    /// passive server warnings (each in full).
    pub warnings: Vec<String>,
    /// Information: expectations of no requirement that did not hold, and
    /// what the trial measured.
    pub information: Vec<String>,
}

/// Known failures and expected warnings: scenario id → reason.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Known failures.
    pub known: BTreeMap<String, String>,
    /// Scenarios expected to pass with warnings.
    pub warnings: BTreeMap<String, String>,
}

/// A baseline entry the run contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The scenario id.
    pub id: String,
    /// `failure` (a known failure) or `warning` (an expected warning).
    pub kind: &'static str,
    /// Why it is stale: `now passes`, `now has no warning`, `was not run`.
    pub why: &'static str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    #[serde(default)]
    #[allow(dead_code)]
    target: Option<String>,
    #[serde(default)]
    known_failures: Vec<BaselineEntry>,
    #[serde(default)]
    known_warnings: Vec<BaselineEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineEntry {
    id: String,
    reason: String,
}

impl Baseline {
    /// Reads a baseline file (YAML: `known_failures: [{id, reason}]`,
    /// `known_warnings: [{id, reason}]`).
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let f: BaselineFile = serde_saphyr::from_str(&text).map_err(|e| {
            let loc = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            format!(
                "{}{loc}: {}",
                path.display(),
                e.to_string().lines().next().unwrap_or("")
            )
        })?;
        let mut b = Baseline::default();
        for (list, map) in [
            (f.known_failures, &mut b.known),
            (f.known_warnings, &mut b.warnings),
        ] {
            for e in list {
                if map.insert(e.id.clone(), e.reason).is_some() {
                    return Err(format!("{}: {} is listed twice", path.display(), e.id));
                }
            }
        }
        if let Some(id) = b.known.keys().find(|id| b.warnings.contains_key(*id)) {
            return Err(format!(
                "{}: {id} is both a known failure and an expected warning",
                path.display()
            ));
        }
        Ok(b)
    }

    /// Baseline entries the run contradicts: a known failure whose scenario
    /// passed, an expected warning whose scenario passed without one, and
    /// entries naming no scenario of the run (each to be removed).
    pub fn stale(&self, records: &[Record]) -> Vec<Stale> {
        let mut out = Vec::new();
        let mut entry = |id: &String, kind, why| {
            out.push(Stale {
                id: id.clone(),
                kind,
                why,
            })
        };
        for id in self.known.keys() {
            match records.iter().find(|r| &r.id == id) {
                Some(r) if r.outcome == Outcome::Passed => entry(id, "failure", "now passes"),
                None => entry(id, "failure", "was not run"),
                _ => {}
            }
        }
        for id in self.warnings.keys() {
            match records.iter().find(|r| &r.id == id) {
                Some(r) if r.outcome == Outcome::Passed && r.warnings.is_empty() => {
                    entry(id, "warning", "now has no warning")
                }
                None => entry(id, "warning", "was not run"),
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A record of scenario `id` that ended so (for report tests).
    pub(crate) fn rec(id: &str, outcome: Outcome) -> Record {
        Record {
            id: id.into(),
            title: "t".into(),
            rfc: vec!["RFC 8881 §2.10.5".into()],
            file: "suites/x.yaml".into(),
            outcome,
            duration: Duration::from_millis(5),
            message: (outcome != Outcome::Passed).then(|| "step 2 (check): values differ".into()),
            findings: vec![],
            capture: None,
            roles: BTreeMap::new(),
            warnings: vec![],
            information: vec![],
        }
    }

    #[test]
    fn a_baseline_loads_and_reports_entries_that_pass_or_were_not_run() {
        let dir = std::env::temp_dir().join(format!("tc-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("b.yaml");
        std::fs::write(&p, "known_failures:\n  - {id: A-B-01, reason: r1}\n  - {id: A-B-02, reason: r2}\n  - {id: A-B-03, reason: r3}\nknown_warnings:\n  - {id: W-B-01, reason: w1}\n  - {id: W-B-02, reason: w2}\n  - {id: W-B-03, reason: w3}\n").expect("write");
        let b = Baseline::load(&p).expect("loads");
        std::fs::write(&p, "known_failures:\n  - {id: A-B-01, reasons: r1}\n").expect("write");
        let e = Baseline::load(&p).expect_err("unknown key");
        std::fs::write(&p, "known_failures: [{id: A-B-01, reason: r}]\nknown_warnings: [{id: A-B-01, reason: r}]\n").expect("write");
        let both = Baseline::load(&p).expect_err("listed as both");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(e.contains("b.yaml:2:"), "{e}");
        assert!(
            both.contains("both a known failure and an expected warning"),
            "{both}"
        );
        assert_eq!((b.known.len(), b.warnings.len()), (3, 3));
        let mut warned = rec("W-B-01", Outcome::Passed);
        warned
            .warnings
            .push("step 3 (sequence): reply field sr_status_flags".into());
        let recs = [
            rec("A-B-01", Outcome::Passed),
            rec("A-B-02", Outcome::KnownFailure),
            warned,
            rec("W-B-02", Outcome::Passed),
        ];
        let stale: Vec<(String, &str, &str)> = b
            .stale(&recs)
            .into_iter()
            .map(|s| (s.id, s.kind, s.why))
            .collect();
        assert_eq!(
            stale,
            vec![
                ("A-B-01".to_string(), "failure", "now passes"),
                ("A-B-03".to_string(), "failure", "was not run"),
                ("W-B-02".to_string(), "warning", "now has no warning"),
                ("W-B-03".to_string(), "warning", "was not run"),
            ]
        );
    }
}
