//! `trunkcheck compare`: saved run results (`run --json`) of several
//! targets as one matrix, scenario × target: the outcome, the failing step,
//! its rule and the passive rules that failed it; rows where the targets
//! disagree (one passes what another fails) first. Written as text, JSON
//! and a self-contained HTML page.

use super::markup::{clip, escape};
use crate::run::record::Outcome;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// Version of the `compare --json` document.
pub const JSON_VERSION: u32 = 1;

/// A saved run result (`trunkcheck run --json`), as far as `compare`
/// reads it.
#[derive(Debug, Clone, Deserialize)]
struct RunDoc {
    trunkcheck_run: u32,
    target: String,
    #[serde(default)]
    scenarios: Vec<ScenarioDoc>,
}

/// One scenario of a saved run.
#[derive(Debug, Clone, Deserialize)]
struct ScenarioDoc {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    rfc: Vec<String>,
    outcome: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    capture: Option<String>,
}

/// One run to compare: a target's results.
#[derive(Debug, Clone)]
pub struct Run {
    /// The column's name (the target's, made unique).
    pub label: String,
    /// The target named in the result.
    pub target: String,
    /// The file it was read from.
    pub file: String,
    scenarios: Vec<ScenarioDoc>,
}

impl Run {
    /// Reads a result file written by `trunkcheck run --json`.
    pub fn load(path: &Path) -> Result<Run, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Run::parse(&text, &path.display().to_string())
    }

    /// Parses a result document; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Run, String> {
        let doc: RunDoc = serde_json::from_str(text).map_err(|e| {
            format!("{file}: not a trunkcheck run result (trunkcheck run --json): {e}")
        })?;
        if doc.trunkcheck_run != super::run::JSON_VERSION {
            return Err(format!(
                "{file}: run result version {} (this trunkcheck reads version {})",
                doc.trunkcheck_run,
                super::run::JSON_VERSION
            ));
        }
        Ok(Run {
            label: doc.target.clone(),
            target: doc.target,
            file: file.to_string(),
            scenarios: doc.scenarios,
        })
    }

    /// How many scenarios ended with `outcome`.
    fn count(&self, outcome: Outcome) -> usize {
        self.scenarios
            .iter()
            .filter(|s| parse_outcome(&s.outcome) == Some(outcome))
            .count()
    }
}

/// Every outcome a run records, by its JSON name.
const OUTCOMES: [Outcome; 4] = [
    Outcome::Passed,
    Outcome::Failed,
    Outcome::KnownFailure,
    Outcome::Skipped,
];

/// The outcome named `s` in a run result (none for a name this version
/// does not know).
fn parse_outcome(s: &str) -> Option<Outcome> {
    OUTCOMES.into_iter().find(|o| o.as_str() == s)
}

/// Failed, with or without the baseline's leave.
fn failed(o: Option<Outcome>) -> bool {
    matches!(o, Some(Outcome::Failed | Outcome::KnownFailure))
}

/// Ran to a verdict.
fn ran(o: Option<Outcome>) -> bool {
    matches!(
        o,
        Some(Outcome::Passed | Outcome::Failed | Outcome::KnownFailure)
    )
}

/// One scenario on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// How it ended (none: the run does not have the scenario).
    pub outcome: Option<Outcome>,
    /// The failing step (`step 5 (exchange_id)`), when a step failed.
    pub step: Option<String>,
    /// What went wrong (or why it was skipped), in one line.
    pub problem: Option<String>,
    /// The RFC section the failing expectation comes from.
    pub rule: Option<String>,
    /// The passive rules that failed the trial (rule ids).
    pub passive: Vec<String>,
    /// The whole failure message.
    pub message: Option<String>,
    /// The kept capture, when the run kept it.
    pub capture: Option<String>,
}

impl Cell {
    fn absent() -> Cell {
        Cell {
            outcome: None,
            step: None,
            problem: None,
            rule: None,
            passive: Vec::new(),
            message: None,
            capture: None,
        }
    }

    fn of(s: &ScenarioDoc) -> Cell {
        let outcome = parse_outcome(&s.outcome);
        let mut cell = Cell {
            outcome,
            capture: s.capture.clone(),
            message: s.message.clone(),
            ..Cell::absent()
        };
        let Some(msg) = &s.message else {
            return cell;
        };
        if failed(outcome) {
            let parts = FailureParts::parse(msg);
            cell.step = parts.step;
            cell.problem = parts.problem;
            cell.rule = parts.rule;
            cell.passive = parts.passive;
        } else if outcome == Some(Outcome::Skipped) {
            cell.problem = msg.lines().next().map(str::to_string);
        }
        cell
    }

    /// The cell in a few words (`pass`, `FAIL step 5`, `skip`).
    pub fn short(&self) -> String {
        let word = match self.outcome {
            Some(Outcome::Passed) => return "pass".into(),
            Some(Outcome::Skipped) => return "skip".into(),
            None => return "-".into(),
            Some(Outcome::Failed) => "FAIL",
            Some(Outcome::KnownFailure) => "FAIL (known)",
        };
        match (&self.step, self.passive.first()) {
            (Some(step), _) => {
                let n = step.split(' ').take(2).collect::<Vec<_>>().join(" ");
                format!("{word} {n}")
            }
            (None, Some(rule)) => format!("{word} {rule}"),
            (None, None) => word.to_string(),
        }
    }
}

/// What a run's failure message says, by the lines the runner writes:
/// `step N (what): problem`, `rule: …`, `server violation: RULE …`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FailureParts {
    step: Option<String>,
    problem: Option<String>,
    rule: Option<String>,
    passive: Vec<String>,
}

impl FailureParts {
    fn parse(message: &str) -> FailureParts {
        let mut parts = FailureParts::default();
        let mut lines = message.lines();
        if let Some(first) = lines.next() {
            let step = first
                .strip_prefix("step ")
                .and_then(|_| first.find("): "))
                .map(|end| first.split_at(end + 1));
            match step {
                Some((step, rest)) => {
                    parts.step = Some(step.to_string());
                    parts.problem = Some(rest.trim_start_matches(':').trim().to_string());
                }
                None => parts.problem = Some(first.trim().trim_end_matches(':').to_string()),
            }
        }
        for line in message.lines().skip(1) {
            let line = line.trim();
            if let Some(rule) = line.strip_prefix("rule:") {
                parts.rule.get_or_insert_with(|| rule.trim().to_string());
            }
            let finding = line.strip_prefix("server violation: ").or_else(|| {
                line.strip_prefix("trunkcheck's own client broke a rule")
                    .and_then(|rest| rest.split_once("): ").map(|(_, f)| f))
            });
            if let Some(id) = finding.and_then(|f| f.split_whitespace().next()) {
                if !parts.passive.iter().any(|p| p == id) {
                    parts.passive.push(id.to_string());
                }
            }
        }
        parts
    }
}

/// How the targets' outcomes of one scenario relate; rows are shown in
/// this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Agreement {
    /// One target passes what another fails.
    Disagree,
    /// Every target that ran it fails it (some may have skipped it).
    AllFail,
    /// Every target that ran it passes it, some did not run it.
    PartlyRun,
    /// Every target passes it.
    AllPass,
    /// No target ran it.
    NotRun,
}

impl Agreement {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Agreement::Disagree => "disagree",
            Agreement::AllFail => "all-fail",
            Agreement::PartlyRun => "partly-run",
            Agreement::AllPass => "all-pass",
            Agreement::NotRun => "not-run",
        }
    }

    /// The heading of its rows.
    pub fn heading(self) -> &'static str {
        match self {
            Agreement::Disagree => "targets disagree: one passes what another fails",
            Agreement::AllFail => "every target that ran it fails",
            Agreement::PartlyRun => "passes where it ran, skipped elsewhere",
            Agreement::AllPass => "every target passes",
            Agreement::NotRun => "no target ran it",
        }
    }

    fn of(cells: &[Cell]) -> Agreement {
        let ran: Vec<&Cell> = cells.iter().filter(|c| ran(c.outcome)).collect();
        let fails = ran.iter().filter(|c| failed(c.outcome)).count();
        if ran.is_empty() {
            Agreement::NotRun
        } else if fails > 0 && fails < ran.len() {
            Agreement::Disagree
        } else if fails > 0 {
            Agreement::AllFail
        } else if ran.len() < cells.len() {
            Agreement::PartlyRun
        } else {
            Agreement::AllPass
        }
    }
}

/// One scenario across the targets.
#[derive(Debug, Clone)]
pub struct Row {
    /// Scenario id.
    pub id: String,
    /// Scenario title.
    pub title: String,
    /// RFC sections.
    pub rfc: Vec<String>,
    /// How the targets relate.
    pub agreement: Agreement,
    /// One cell per target, in the order of the runs.
    pub cells: Vec<Cell>,
}

/// The matrix of several runs.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The runs (columns).
    pub runs: Vec<Run>,
    /// The scenarios (rows), disagreements first, then by id.
    pub rows: Vec<Row>,
}

/// Compares `runs`: one row per scenario that any of them has. Columns are
/// labelled by target, made unique with the file's name when two runs name
/// the same target.
pub fn compare(mut runs: Vec<Run>) -> Comparison {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &runs {
        *seen.entry(r.label.clone()).or_default() += 1;
    }
    for r in &mut runs {
        if seen.get(&r.label).copied().unwrap_or(0) > 1 {
            let stem = Path::new(&r.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| r.file.clone());
            r.label = format!("{} ({stem})", r.label);
        }
    }
    let mut ids: BTreeMap<&str, (&str, &[String])> = BTreeMap::new();
    for r in &runs {
        for s in &r.scenarios {
            ids.entry(&s.id).or_insert((&s.title, &s.rfc));
        }
    }
    let mut rows: Vec<Row> = ids
        .into_iter()
        .map(|(id, (title, rfc))| {
            let cells: Vec<Cell> = runs
                .iter()
                .map(|r| {
                    r.scenarios
                        .iter()
                        .find(|s| s.id == id)
                        .map_or_else(Cell::absent, Cell::of)
                })
                .collect();
            Row {
                id: id.to_string(),
                title: title.to_string(),
                rfc: rfc.to_vec(),
                agreement: Agreement::of(&cells),
                cells,
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.agreement, &a.id).cmp(&(b.agreement, &b.id)));
    Comparison { runs, rows }
}

const GROUPS: [Agreement; 5] = [
    Agreement::Disagree,
    Agreement::AllFail,
    Agreement::PartlyRun,
    Agreement::AllPass,
    Agreement::NotRun,
];

impl Comparison {
    fn count(&self, a: Agreement) -> usize {
        self.rows.iter().filter(|r| r.agreement == a).count()
    }

    /// The rows of one agreement.
    fn group(&self, a: Agreement) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.agreement == a)
    }

    /// One line: how many scenarios, and how they relate.
    pub fn summary(&self) -> String {
        format!(
            "{} targets, {} scenarios: {} disagree, {} fail everywhere they ran, \
             {} pass where they ran, {} pass everywhere, {} ran nowhere",
            self.runs.len(),
            self.rows.len(),
            self.count(Agreement::Disagree),
            self.count(Agreement::AllFail),
            self.count(Agreement::PartlyRun),
            self.count(Agreement::AllPass),
            self.count(Agreement::NotRun),
        )
    }

    /// The matrix as text: a line per scenario, and under each failure or
    /// skip of a row that is not all-pass, its step, rule and passive rules.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "trunkcheck compare: {}", self.summary());
        for r in &self.runs {
            let _ = writeln!(
                s,
                "  {}: {} ({} passed, {} failed, {} known failures, {} skipped)",
                r.label,
                r.file,
                r.count(Outcome::Passed),
                r.count(Outcome::Failed),
                r.count(Outcome::KnownFailure),
                r.count(Outcome::Skipped)
            );
        }
        let id_w = self
            .rows
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(8)
            .max(8)
            + 2;
        let col_w: Vec<usize> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let cells = self.rows.iter().map(|row| row.cells[i].short().len());
                cells.chain([r.label.len()]).max().unwrap_or(4) + 2
            })
            .collect();
        let mut head = format!("{:id_w$}", "scenario");
        for (r, w) in self.runs.iter().zip(&col_w) {
            let _ = write!(head, "{:w$}", r.label);
        }
        let _ = writeln!(s, "\n{}", head.trim_end());
        for g in GROUPS {
            let n = self.count(g);
            if n == 0 {
                continue;
            }
            let _ = writeln!(s, "-- {} ({n})", g.heading());
            for row in self.group(g) {
                let mut line = format!("{:id_w$}", row.id);
                for (c, w) in row.cells.iter().zip(&col_w) {
                    let _ = write!(line, "{:w$}", c.short());
                }
                let _ = writeln!(s, "{}", line.trim_end());
                if g == Agreement::AllPass {
                    continue;
                }
                for (run, c) in self.runs.iter().zip(&row.cells) {
                    if let Some(d) = c.detail() {
                        let _ = writeln!(s, "    {}: {}", run.label, d);
                    }
                }
            }
        }
        s
    }

    /// The matrix as the `compare --json` document.
    pub fn json(&self) -> String {
        let targets: Vec<serde_json::Value> = self
            .runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "label": r.label,
                    "target": r.target,
                    "file": r.file,
                    "summary": {
                        "passed": r.count(Outcome::Passed),
                        "failed": r.count(Outcome::Failed),
                        "known_failures": r.count(Outcome::KnownFailure),
                        "skipped": r.count(Outcome::Skipped),
                    },
                })
            })
            .collect();
        let scenarios: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let cells: Vec<serde_json::Value> = self
                    .runs
                    .iter()
                    .zip(&row.cells)
                    .map(|(r, c)| {
                        serde_json::json!({
                            "target": r.label,
                            "outcome": c.outcome.map_or("absent", Outcome::as_str),
                            "step": c.step,
                            "problem": c.problem,
                            "rule": c.rule,
                            "passive": c.passive,
                            "message": c.message,
                            "capture": c.capture,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "id": row.id,
                    "title": row.title,
                    "rfc": row.rfc,
                    "agreement": row.agreement.as_str(),
                    "cells": cells,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "trunkcheck_compare": JSON_VERSION,
            "targets": targets,
            "summary": {
                "scenarios": self.rows.len(),
                "disagree": self.count(Agreement::Disagree),
                "all_fail": self.count(Agreement::AllFail),
                "partly_run": self.count(Agreement::PartlyRun),
                "all_pass": self.count(Agreement::AllPass),
                "not_run": self.count(Agreement::NotRun),
            },
            "scenarios": scenarios,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// The matrix as one HTML page: inline styles, no script, nothing
    /// loaded from elsewhere.
    pub fn html(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        );
        let labels: Vec<&str> = self.runs.iter().map(|r| r.label.as_str()).collect();
        let _ = writeln!(
            s,
            "<title>trunkcheck: {}</title>",
            escape(&clip(&labels.join(" vs "), 200))
        );
        s.push_str(HTML_STYLE);
        s.push_str("</head>\n<body>\n");
        let _ = writeln!(
            s,
            "<h1>trunkcheck: {}</h1>",
            escape(&clip(&labels.join(" vs "), 200))
        );
        let _ = writeln!(s, "<p class=\"sum\">{}</p>", escape(&self.summary()));
        s.push_str("<table class=\"runs\">\n<tr><th>target</th><th>result file</th><th>passed</th><th>failed</th><th>known failures</th><th>skipped</th></tr>\n");
        for r in &self.runs {
            let _ = writeln!(
                s,
                "<tr><td><b>{}</b></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.label),
                escape(&r.file),
                r.count(Outcome::Passed),
                r.count(Outcome::Failed),
                r.count(Outcome::KnownFailure),
                r.count(Outcome::Skipped)
            );
        }
        s.push_str("</table>\n<table class=\"matrix\">\n<thead><tr><th>scenario</th>");
        for r in &self.runs {
            let _ = write!(s, "<th>{}</th>", escape(&r.label));
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        let span = self.runs.len() + 1;
        for g in GROUPS {
            let n = self.count(g);
            if n == 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "<tr class=\"group {}\"><th colspan=\"{span}\">{} ({n})</th></tr>",
                g.as_str(),
                escape(g.heading())
            );
            for row in self.group(g) {
                let _ = write!(
                    s,
                    "<tr id=\"{}\"><td class=\"sc\"><b>{}</b><br><span class=\"t\">{}</span><br><span class=\"rfc\">{}</span></td>",
                    escape(&row.id),
                    escape(&row.id),
                    escape(&row.title),
                    escape(&row.rfc.join(", "))
                );
                for c in &row.cells {
                    html_cell(&mut s, c);
                }
                s.push_str("</tr>\n");
            }
        }
        s.push_str("</tbody>\n</table>\n<p class=\"foot\">Written by <code>trunkcheck compare</code> from the JSON results of <code>trunkcheck run --json</code>.</p>\n</body>\n</html>\n");
        s
    }
}

impl Cell {
    /// What a failure or skip says, in one line, for the text report.
    fn detail(&self) -> Option<String> {
        match self.outcome {
            Some(Outcome::Failed | Outcome::KnownFailure) => {
                let mut d = String::new();
                if let Some(step) = &self.step {
                    let _ = write!(d, "{step}: ");
                }
                d.push_str(self.problem.as_deref().unwrap_or("failed"));
                if let Some(rule) = &self.rule {
                    let _ = write!(d, "; rule {rule}");
                }
                if !self.passive.is_empty() {
                    let _ = write!(d, "; passive {}", self.passive.join(", "));
                }
                Some(d)
            }
            Some(Outcome::Skipped) => Some(format!(
                "skipped: {}",
                self.problem.as_deref().unwrap_or("")
            )),
            None => Some("not in this run".into()),
            Some(Outcome::Passed) => None,
        }
    }
}

/// One cell of the HTML matrix.
fn html_cell(s: &mut String, c: &Cell) {
    let class = match c.outcome {
        Some(Outcome::Passed) => "pass",
        Some(Outcome::Failed) => "fail",
        Some(Outcome::KnownFailure) => "known",
        Some(Outcome::Skipped) => "skip",
        None => "absent",
    };
    let word = match c.outcome {
        Some(Outcome::Passed) => "pass",
        Some(Outcome::Failed) => "FAIL",
        Some(Outcome::KnownFailure) => "FAIL (known)",
        Some(Outcome::Skipped) => "skipped",
        None => "not run",
    };
    let _ = write!(s, "<td class=\"{class}\"><span class=\"o\">{word}</span>");
    if let Some(step) = &c.step {
        let _ = write!(s, " <span class=\"step\">{}</span>", escape(step));
    }
    if let Some(p) = &c.problem {
        let _ = write!(s, "<div class=\"p\">{}</div>", escape(&clip(p, 300)));
    }
    if let Some(rule) = &c.rule {
        let _ = write!(s, "<div class=\"rule\">rule {}</div>", escape(rule));
    }
    if !c.passive.is_empty() {
        let _ = write!(
            s,
            "<div class=\"passive\">passive: {}</div>",
            escape(&c.passive.join(", "))
        );
    }
    if let (true, Some(m)) = (failed(c.outcome), &c.message) {
        let _ = write!(
            s,
            "<details><summary>message</summary><pre>{}</pre></details>",
            escape(&clip(m, 20_000))
        );
    }
    if let Some(cap) = &c.capture {
        let _ = write!(s, "<div class=\"cap\">capture {}</div>", escape(cap));
    }
    s.push_str("</td>");
}

/// The page's styles (inline: the page stands alone).
const HTML_STYLE: &str = "<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 6px 0; }
.sum { color: #444; margin: 0 0 12px 0; }
table { border-collapse: collapse; }
.runs { margin-bottom: 16px; font-size: 13px; }
.runs td, .runs th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
.matrix { font-size: 12.5px; width: 100%; }
.matrix th, .matrix td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
.matrix thead th { position: sticky; top: 0; background: #f3f3f3; }
.group th { background: #37474f; color: #fff; font-weight: 600; }
.group.disagree th { background: #b71c1c; }
.sc { min-width: 230px; max-width: 380px; }
.t { color: #333; }
.rfc { color: #777; font-size: 11px; }
.o { font-weight: 700; }
.pass { background: #e8f5e9; }
.pass .o { color: #2e7d32; }
.fail { background: #ffebee; }
.fail .o { color: #c62828; }
.known { background: #fff3e0; }
.known .o { color: #b35900; }
.skip { background: #f5f5f5; color: #666; }
.absent { background: #fff; color: #999; }
.step { font-family: ui-monospace, monospace; }
.p { margin-top: 2px; }
.rule, .passive { font-family: ui-monospace, monospace; font-size: 11.5px; }
.cap { color: #777; font-size: 11px; font-family: ui-monospace, monospace; }
pre { white-space: pre-wrap; font-size: 11px; max-width: 520px; }
details summary { cursor: pointer; color: #555; }
.foot { color: #777; font-size: 12px; margin-top: 16px; }
</style>
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::failure::Failure;

    fn doc(target: &str, scenarios: &[(&str, &str, Option<&str>)]) -> String {
        let sc: Vec<serde_json::Value> = scenarios
            .iter()
            .map(|(id, outcome, msg)| {
                serde_json::json!({"id": id, "title": format!("title of {id}"),
                    "rfc": ["RFC 8881 §2.10.5"], "file": "suites/x.yaml",
                    "outcome": outcome, "duration_ms": 1, "message": msg,
                    "findings": [], "capture": null, "roles": {}})
            })
            .collect();
        serde_json::json!({"trunkcheck_run": 1, "target": target,
            "summary": {}, "stale_baseline_entries": [], "scenarios": sc})
        .to_string()
    }

    #[test]
    fn the_runners_failure_text_gives_step_rule_and_passive_rules() {
        let mut f = Failure::at(5, "exchange_id", "reply field eir_clientid: values differ");
        f.expected = Some("a".into());
        f.actual = Some("b".into());
        f.rule = Some("RFC 8881 §2.10.5".into());
        f.frames = vec![7, 9];
        // As run/mod.rs joins a failure and passive findings.
        let msg = format!(
            "{f}\n  passive rules also found:\n  server violation: trunk.same-clientid [violation server, RFC 8881 §2.10.5] x (frames 6)\n  trunkcheck's own client broke a rule (a bug in the scenario or the client): seq.slot [violation client, RFC 8881 §2.10.6] y (frames 1)"
        );
        let p = FailureParts::parse(&msg);
        assert_eq!(p.step.as_deref(), Some("step 5 (exchange_id)"));
        assert_eq!(
            p.problem.as_deref(),
            Some("reply field eir_clientid: values differ")
        );
        assert_eq!(p.rule.as_deref(), Some("RFC 8881 §2.10.5"));
        assert_eq!(p.passive, ["trunk.same-clientid", "seq.slot"]);
        let only = FailureParts::parse(
            "every step held, but the passive rules found:\n  server violation: v40.confirm-mismatch [violation server] z",
        );
        assert_eq!(only.step, None);
        assert_eq!(only.passive, ["v40.confirm-mismatch"]);
    }

    #[test]
    fn rows_where_targets_disagree_come_first() {
        let fail = Some("step 2 (exchange_id): reply status\n  rule:     RFC 8881 §18.35.4");
        let a = Run::parse(
            &doc(
                "a",
                &[
                    ("A-01", "passed", None),
                    ("B-01", "failed", fail),
                    ("C-01", "known-failure", fail),
                    ("D-01", "skipped", Some("no role b")),
                ],
            ),
            "a.json",
        )
        .expect("a");
        let b = Run::parse(
            &doc(
                "b",
                &[
                    ("A-01", "passed", None),
                    ("B-01", "failed", fail),
                    ("C-01", "passed", None),
                    ("D-01", "passed", None),
                    ("Z-01", "passed", None),
                ],
            ),
            "b.json",
        )
        .expect("b");
        let c = compare(vec![a, b]);
        let order: Vec<(&str, Agreement)> = c
            .rows
            .iter()
            .map(|r| (r.id.as_str(), r.agreement))
            .collect();
        assert_eq!(
            order,
            [
                ("C-01", Agreement::Disagree),
                ("B-01", Agreement::AllFail),
                ("D-01", Agreement::PartlyRun),
                ("Z-01", Agreement::PartlyRun),
                ("A-01", Agreement::AllPass),
            ]
        );
        assert_eq!(c.rows[0].cells[0].short(), "FAIL (known) step 2");
        assert_eq!(
            c.rows[0].cells[0].rule.as_deref(),
            Some("RFC 8881 §18.35.4")
        );
        assert_eq!(c.rows[3].cells[0].outcome, None);
        let text = c.text();
        assert!(
            text.find("C-01") < text.find("B-01") && text.find("B-01") < text.find("A-01"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&c.json()).expect("json");
        assert_eq!(json["scenarios"][0]["id"], "C-01");
        assert_eq!(json["scenarios"][0]["agreement"], "disagree");
        assert_eq!(json["scenarios"][0]["cells"][1]["outcome"], "passed");
        assert_eq!(json["summary"]["disagree"], 1);
    }

    #[test]
    fn the_page_escapes_what_the_results_carry() {
        let evil = "<script>alert(1)</script>";
        let a = Run::parse(
            &doc(
                evil,
                &[(evil, "failed", Some("step 1 (x<y>): owner \"<b>&\""))],
            ),
            "a.json",
        )
        .expect("a");
        let html = compare(vec![a]).html();
        assert!(!html.contains("<script"), "a tag from the input survived");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("owner &quot;&lt;b&gt;&amp;&quot;"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    #[test]
    fn two_runs_of_one_target_get_distinct_columns_and_bad_files_are_named() {
        let a = Run::parse(&doc("default", &[]), "x/before.json").expect("a");
        let b = Run::parse(&doc("default", &[]), "x/after.json").expect("b");
        let c = compare(vec![a, b]);
        assert_eq!(c.runs[0].label, "default (before)");
        assert_eq!(c.runs[1].label, "default (after)");
        let e = Run::parse("{\"trunkcheck_run\": 9, \"target\": \"t\"}", "f.json")
            .expect_err("version");
        assert!(e.contains("f.json") && e.contains("version 9"), "{e}");
        let e = Run::parse("[]", "g.json").expect_err("not a result");
        assert!(e.starts_with("g.json: not a trunkcheck run result"), "{e}");
    }
}
