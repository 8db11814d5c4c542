//! `trunkcheck run`: every scenario is one libtest-style trial against the
//! target. A trial gets the servers its roles need (or is skipped with the
//! reason), runs alone when it acts on a server (restart, failover ...) and
//! in parallel otherwise, captures its own traffic and has the analyzer's
//! passive rules judge it, and leaves a [`record::Record`].

// A step's `Failure` (expected/actual/rule/frames) is the cold path of a
// network round trip; its size does not matter, its detail does.
#![allow(clippy::result_large_err)]

pub mod capture;
pub mod env;
pub mod exec;
pub mod expect;
pub mod failure;
pub mod lab_env;
pub mod libtest;
mod plan;
pub mod record;
mod save;
pub mod settle;
pub mod trial;

use crate::scenario::{roles_of, Scenario, Suite};
use analyzer::rules::{Gate, Party, Policy, TrialBlame};
use env::Env;
use failure::Failure;
use libtest::{Test, TestOutcome};
use record::{Baseline, Outcome, Record};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use trial::{StepLog, TrialRun};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// libtest options (filter, --list, --exact, --skip, --ignored, threads).
    pub libtest: libtest::Options,
    /// Known failures.
    pub baseline: Option<Baseline>,
    /// Keep the capture of every failing trial here.
    pub keep_captures: Option<PathBuf>,
    /// Keep every trial's capture, not only failing ones.
    pub capture_all: bool,
    /// Run the passive rules on each trial's live capture.
    pub passive: bool,
    /// Warnings (SHOULD, lowercase should/must) fail trials too.
    pub strict: bool,
}

/// Everything the trials share.
struct Ctx {
    env: Env,
    opts: RunOptions,
    records: Mutex<Vec<Record>>,
    /// Trials that act on servers hold it exclusively; others share it.
    servers: RwLock<()>,
    counter: AtomicUsize,
    capture_dir: PathBuf,
}

/// What a run produced.
pub struct RunResult {
    /// One record per scenario that ran or was skipped.
    pub records: Vec<Record>,
    /// libtest's counts.
    pub conclusion: libtest::Conclusion,
}

/// Runs the suites' scenarios against `env`.
pub fn run_scenarios(env: Env, suites: &[Suite], opts: RunOptions) -> RunResult {
    let capture_dir = std::env::temp_dir().join(format!("trunkcheck-run-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&capture_dir);
    let ctx = Arc::new(Ctx {
        env,
        opts,
        records: Mutex::new(Vec::new()),
        servers: RwLock::new(()),
        counter: AtomicUsize::new(0),
        capture_dir: capture_dir.clone(),
    });
    let mut trials = Vec::new();
    for suite in suites {
        for sc in &suite.file.scenarios {
            let ctx = Arc::clone(&ctx);
            let sc2 = sc.clone();
            let file = suite.path.clone();
            let area = suite.file.area.clone();
            let kind = sc.tags.first().cloned().unwrap_or_default();
            trials.push(
                Test::new(sc.id.clone(), kind, move || {
                    run_trial(&ctx, &sc2, &file, &area)
                })
                .ignored(sc.ignore.is_some()),
            );
        }
    }
    let conclusion = libtest::run(&ctx.opts.libtest, trials);
    let _ = std::fs::remove_dir_all(&capture_dir);
    let mut records = ctx.records.lock().map(|r| r.clone()).unwrap_or_default();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    RunResult {
        records,
        conclusion,
    }
}

/// One trial, from role assignment to the record.
fn run_trial(ctx: &Ctx, sc: &Scenario, file: &Path, area: &str) -> TestOutcome {
    let started = Instant::now();
    let mut record = Record {
        id: sc.id.clone(),
        title: sc.title.clone(),
        rfc: sc.rfc.clone(),
        file: file.to_path_buf(),
        area: area.to_string(),
        outcome: Outcome::Passed,
        duration: Default::default(),
        message: None,
        findings: Vec::new(),
        capture: None,
        roles: BTreeMap::new(),
        warnings: Vec::new(),
        information: Vec::new(),
    };
    let mut verdict = judge(ctx, sc, &mut record);
    record.duration = started.elapsed();
    let known_warnings = ctx
        .opts
        .baseline
        .as_ref()
        .is_some_and(|b| b.warnings.contains_key(&sc.id));
    if matches!(verdict, Verdict::Pass)
        && ctx.opts.strict
        && !record.warnings.is_empty()
        && !known_warnings
    {
        verdict = Verdict::Fail(format!(
            "--strict: the trial has warnings:\n  {}",
            record.warnings.join("\n  ")
        ));
    }
    let result = match verdict {
        Verdict::Pass => TestOutcome::Passed {
            note: note(&record, known_warnings),
        },
        Verdict::Skip(reason) => {
            record.outcome = Outcome::Skipped;
            record.message = Some(reason.clone());
            // Printed "ignored (skipped: REASON)", as known failures are
            // "ignored (known failure: REASON)".
            TestOutcome::Ignored {
                reason: Some(format!("skipped: {reason}")),
            }
        }
        Verdict::Fail(text) => {
            let known = ctx.opts.baseline.as_ref().and_then(|b| b.known.get(&sc.id));
            record.message = Some(text.clone());
            match known {
                Some(reason) => {
                    record.outcome = Outcome::KnownFailure;
                    TestOutcome::Ignored {
                        reason: Some(format!("known failure: {reason}")),
                    }
                }
                None => {
                    record.outcome = Outcome::Failed;
                    TestOutcome::Failed { message: text }
                }
            }
        }
    };
    if let Ok(mut r) = ctx.records.lock() {
        r.push(record);
    }
    result
}

enum Verdict {
    Pass,
    Skip(String),
    Fail(String),
}

/// How a passed trial's libtest line ends: `ok`, `ok (2 warnings)`,
/// `ok (1 warning, 1 note)`, `ok (2 known warnings)`.
fn note(record: &Record, known: bool) -> Option<String> {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if !record.warnings.is_empty() {
        let what = if known { "known warning" } else { "warning" };
        parts.push(plural(record.warnings.len(), what));
    }
    if !record.information.is_empty() {
        parts.push(plural(record.information.len(), "note"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn judge(ctx: &Ctx, sc: &Scenario, record: &mut Record) -> Verdict {
    let env = &ctx.env;
    if sc.needs_krb5() {
        if let env::Realm::Missing(why) = &env.realm {
            return Verdict::Skip(format!("needs Kerberos (krb5 principals): {why}"));
        }
    }
    let roles = match env.assign(&roles_of(sc)) {
        Ok(r) => r,
        Err(why) => return Verdict::Skip(why),
    };
    for (role, &i) in &roles {
        record
            .roles
            .insert(role.clone(), env.servers[i].name.clone());
    }
    let mut actions = Vec::new();
    for (role, action) in exec::actions_of(sc) {
        let Some(server) = roles.get(&role).map(|&i| env.servers[i].name.clone()) else {
            return Verdict::Skip(format!("role {role} has no server"));
        };
        let named = action.with_peer(|to| roles.get(to).map(|&j| env.servers[j].name.clone()));
        let Some(action) = named else {
            let to = action.peer().unwrap_or_default();
            return Verdict::Skip(format!("role {to} has no server"));
        };
        if let Err(unsupported) = env.control.supports(&server, &action) {
            return Verdict::Skip(unsupported.to_string());
        }
        actions.push((server, action));
    }
    // Trials that act on servers run alone; so do all trials of a target
    // whose trials cannot be told apart by client address.
    let exclusive = !actions.is_empty() || env.serial();
    let _shared;
    let _alone;
    if exclusive {
        _alone = ctx.servers.write().unwrap_or_else(|e| e.into_inner());
    } else {
        _shared = ctx.servers.read().unwrap_or_else(|e| e.into_inner());
    }
    let index = ctx.counter.fetch_add(1, Ordering::SeqCst);
    // The client addresses no other running trial uses (targets that lend
    // theirs), held until the trial's capture and cleanup are over.
    let _sources = match env.hold_sources(index, env::addresses_needed(sc)) {
        Ok(lease) => lease,
        Err(why) => return Verdict::Skip(why),
    };
    let servers: Vec<usize> = roles.values().copied().collect();
    let capture = if ctx.opts.passive {
        match capture::TrialCapture::start(env, index, &servers, &ctx.capture_dir, &sc.id) {
            Ok(c) => Some(c),
            Err(e) => return Verdict::Fail(format!("cannot capture the trial's traffic: {e}")),
        }
    } else {
        None
    };
    let mut trial = TrialRun::new(env, sc, index, roles);
    let outcome = trial.run();
    settle::cleanup(&mut trial);
    let log = std::mem::take(&mut trial.log);
    let mut step_warnings = std::mem::take(&mut trial.warnings);
    record.information = std::mem::take(&mut trial.notes);
    drop(trial);
    let observed = capture.map(capture::TrialCapture::finish);
    if exclusive {
        settle::settle(env, &actions);
    }
    let mut failure = outcome.err();
    if let Some(f) = &failure {
        if let Some(why) = &f.not_applicable {
            return Verdict::Skip(format!("step {}: {why}", f.step.unwrap_or(0)));
        }
        if f.actual.as_deref() == Some("NFS4ERR_MINOR_VERS_MISMATCH") {
            let minor = sc.requires.minor.unwrap_or(1);
            return Verdict::Skip(format!("the server does not offer NFSv4.{minor}"));
        }
    }
    let mut passive = Vec::new();
    let mut passive_warnings = Vec::new();
    let mut capture_note = None;
    match observed {
        Some(Ok(obs)) => {
            record.findings = obs.findings.iter().map(|f| f.to_string()).collect();
            if let Some(note) = &obs.note {
                // Said in the record (its message) and on the console.
                eprintln!("trunkcheck: {}: {note}", sc.id);
                capture_note = Some(format!("capture: {note}"));
            }
            if let Some(f) = failure.as_mut() {
                add_frames(f, &log, &obs.messages);
            }
            for w in step_warnings.iter_mut() {
                add_frames(w, &log, &obs.messages);
            }
            (passive, passive_warnings) = judge_findings(sc, &obs.findings);
            let failed = failure.is_some() || !passive.is_empty();
            keep_capture(ctx, sc, &obs.path, failed, record);
            if let (true, Some(kept)) = (failed, &record.capture) {
                let title = format!("{} — {}", sc.id, sc.title);
                use crate::report::sequence::{step_frames, write_trial_diagram};
                let step = failure.as_ref().map(|f| {
                    let window = f.step.and_then(|n| log.iter().find(|l| l.step == n));
                    let frames = window.map_or(Vec::new(), |l| {
                        let start = l.start.duration_since(UNIX_EPOCH).unwrap_or_default();
                        let end = (start + l.took).as_secs_f64();
                        step_frames(&obs.messages, start.as_secs_f64(), end)
                    });
                    (f, frames)
                });
                let drawn = write_trial_diagram(kept, &title, step, &obs.findings);
                if let Err(e) = drawn {
                    eprintln!("trunkcheck: {}: no sequence diagram: {e}", sc.id);
                }
            }
        }
        Some(Err(e)) => passive.push(format!("the trial's capture could not be read: {e}")),
        None => {}
    }
    record.warnings = step_warnings.iter().map(ToString::to_string).collect();
    record.warnings.extend(passive_warnings);
    let verdict = match (failure, passive.is_empty()) {
        (None, true) => Verdict::Pass,
        (None, false) => Verdict::Fail(format!(
            "every step held, but the passive rules found:\n  {}",
            passive.join("\n  ")
        )),
        (Some(f), true) => Verdict::Fail(f.to_string()),
        (Some(f), false) => Verdict::Fail(format!(
            "{f}\n  passive rules also found:\n  {}",
            passive.join("\n  ")
        )),
    };
    match (verdict, capture_note) {
        (Verdict::Fail(text), Some(note)) => Verdict::Fail(format!("{text}\n  {note}")),
        (verdict, Some(note)) => {
            record.message = Some(note);
            verdict
        }
        (verdict, None) => verdict,
    }
}

/// The passive findings of a trial, by the one verdict policy: (those
/// that fail it, those that are warnings). A server's broken MUST and any
/// rule trunkcheck's own client broke (unless the scenario provokes it on
/// purpose) fail; a server's SHOULD not followed is a warning, which fails
/// only with `--strict`, applied to every warning of the trial alike (so
/// `Policy { strict: true }.trial_blame` and this split agree, and a
/// baseline's expected warnings cover passive ones too).
fn judge_findings(
    sc: &Scenario,
    findings: &[analyzer::rules::Finding],
) -> (Vec<String>, Vec<String>) {
    let policy = Policy { strict: false };
    let mut fail = Vec::new();
    let mut warn = Vec::new();
    for f in findings {
        let expected = sc.findings.iter().any(|id| id == f.rule.id);
        match policy.trial_blame(f, expected) {
            Some(TrialBlame::Server) => fail.push(format!("server violation: {f}")),
            Some(TrialBlame::OwnClient) => fail.push(format!(
                "trunkcheck's own client broke a rule (a bug in the scenario or the client): {f}"
            )),
            None if !expected
                && f.rule.party == Party::Server
                && policy.gate(f.rule) == Gate::Warn =>
            {
                warn.push(format!("passive rule, server warning: {f}"));
            }
            None => {}
        }
    }
    (fail, warn)
}

/// The frames of the failing step's messages.
fn add_frames(f: &mut Failure, log: &[StepLog], messages: &[(u64, f64)]) {
    let Some(step) = f.step.and_then(|n| log.iter().find(|l| l.step == n)) else {
        return;
    };
    let start = step
        .start
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    f.frames =
        crate::report::sequence::step_frames(messages, start, start + step.took.as_secs_f64());
}

fn keep_capture(ctx: &Ctx, sc: &Scenario, path: &Path, failed: bool, record: &mut Record) {
    let Some(dir) = &ctx.opts.keep_captures else {
        return;
    };
    if !failed && !ctx.opts.capture_all {
        return;
    }
    let _ = std::fs::create_dir_all(dir);
    let target = dir.join(format!("{}.pcap", sc.id));
    if std::fs::copy(path, &target).is_ok() {
        record.capture = Some(target);
    }
}

/// Seconds since 1970 now (for logs).
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::rules::{Finding, ALL};

    /// The trial's split of passive findings (failures now, warnings that
    /// `--strict` fails later) is the one `Policy { strict }.trial_blame`
    /// gives, for every rule the analyzer has, provoked or not.
    #[test]
    fn passive_findings_split_as_the_policy_blames_them() {
        let mut sc: Scenario = serde_saphyr::from_str(
            "{id: T-P-01, title: t, rfc: [x], kw: MUST, steps: [{connect: {as: c1}}]}",
        )
        .expect("scenario");
        for expected in [false, true] {
            for rule in ALL.iter().copied() {
                sc.findings = if expected {
                    vec![rule.id.to_string()]
                } else {
                    vec![]
                };
                let f = Finding {
                    rule,
                    message: "m".into(),
                    frames: vec![1],
                    servers: Vec::new(),
                };
                let (fail, warn) = judge_findings(&sc, std::slice::from_ref(&f));
                for strict in [false, true] {
                    let blamed = Policy { strict }.trial_blame(&f, expected).is_some();
                    let fails = !fail.is_empty() || (strict && !warn.is_empty());
                    assert_eq!(blamed, fails, "{} strict={strict}", rule.id);
                }
            }
        }
    }
}
