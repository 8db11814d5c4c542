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
    /// The suite file, as reports name it (`suites/recovery.yaml`).
    pub file: PathBuf,
    /// The suite file's `area` (the JUnit class name).
    pub area: String,
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
}

/// Known failures: scenario id → reason.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// The entries.
    pub known: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    #[serde(default)]
    #[allow(dead_code)]
    target: Option<String>,
    #[serde(default)]
    known_failures: Vec<BaselineEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineEntry {
    id: String,
    reason: String,
}

impl Baseline {
    /// Reads a baseline file (YAML: `known_failures: [{id, reason}]`).
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
        let mut known = BTreeMap::new();
        for e in f.known_failures {
            if known.insert(e.id.clone(), e.reason).is_some() {
                return Err(format!("{}: {} is listed twice", path.display(), e.id));
            }
        }
        Ok(Baseline { known })
    }

    /// Baseline entries whose scenario passed (to be removed) or that name
    /// no scenario of the run.
    pub fn stale(&self, records: &[Record]) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for id in self.known.keys() {
            match records.iter().find(|r| &r.id == id) {
                Some(r) if r.outcome == Outcome::Passed => out.push((id.clone(), "now passes")),
                None => out.push((id.clone(), "was not run")),
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
            area: "Area (NFSv4.1)".into(),
            outcome,
            duration: Duration::from_millis(5),
            message: (outcome != Outcome::Passed).then(|| "step 2 (check): values differ".into()),
            findings: vec![],
            capture: None,
            roles: BTreeMap::new(),
        }
    }

    #[test]
    fn a_baseline_loads_and_reports_entries_that_pass_or_were_not_run() {
        let dir = std::env::temp_dir().join(format!("tc-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("b.yaml");
        std::fs::write(&p, "known_failures:\n  - {id: A-B-01, reason: r1}\n  - {id: A-B-02, reason: r2}\n  - {id: A-B-03, reason: r3}\n").expect("write");
        let b = Baseline::load(&p).expect("loads");
        std::fs::write(&p, "known_failures:\n  - {id: A-B-01, reasons: r1}\n").expect("write");
        let e = Baseline::load(&p).expect_err("unknown key");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(e.contains("b.yaml:2:"), "{e}");
        assert_eq!(b.known.len(), 3);
        let recs = [
            rec("A-B-01", Outcome::Passed),
            rec("A-B-02", Outcome::KnownFailure),
        ];
        assert_eq!(
            b.stale(&recs),
            vec![
                ("A-B-01".to_string(), "now passes"),
                ("A-B-03".to_string(), "was not run")
            ]
        );
    }
}
