//! `trunkcheck run`: the conformance suite against a target.

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trunkcheck::lab::Lab;
use trunkcheck::report;
use trunkcheck::run::env::{Env, NoControl, Sources};
use trunkcheck::run::record::{Baseline, Outcome, Record};
use trunkcheck::run::{lab_env, run_scenarios, RunOptions};
use trunkcheck::scenario::{self, Suite};
use trunkcheck::targets::Target;

/// Arguments of `trunkcheck run`.
#[derive(Args)]
pub struct RunArgs {
    /// Suite files or directories (default: `suites/`), then optionally one
    /// FILTER: only scenarios whose id contains it run.
    #[arg(value_name = "SUITES… [FILTER]")]
    pub args: Vec<String>,
    /// The target file (default: the built-in `default` profile).
    #[arg(long, value_name = "FILE", conflicts_with = "builtin")]
    pub target: Option<PathBuf>,
    /// A built-in target profile (see `trunkcheck targets`).
    #[arg(long, value_name = "NAME")]
    pub builtin: Option<String>,
    /// Accept target addresses outside loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// List the scenarios instead of running them.
    #[arg(long)]
    pub list: bool,
    /// The filter must match a scenario id exactly.
    #[arg(long)]
    pub exact: bool,
    /// Skip scenarios whose id contains this (repeatable).
    #[arg(long, value_name = "FILTER")]
    pub skip: Vec<String>,
    /// Run only the ignored scenarios.
    #[arg(long)]
    pub ignored: bool,
    /// Run the ignored scenarios too.
    #[arg(long)]
    pub include_ignored: bool,
    /// Trials run at once (default 4; those that act on servers always run
    /// alone).
    #[arg(long, value_name = "N")]
    pub test_threads: Option<usize>,
    /// One character per scenario.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Known failures and expected warnings (YAML): listed failures do not
    /// fail the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Warnings (an RFC SHOULD or lowercase should/must not followed) fail
    /// trials too, unless the baseline expects them.
    #[arg(long)]
    pub strict: bool,
    /// Keep the capture of every failing scenario here (ID.pcap), with its
    /// sequence diagram (ID.svg).
    #[arg(long, value_name = "DIR")]
    pub keep_captures: Option<PathBuf>,
    /// With --keep-captures: keep every scenario's capture, not only the
    /// failing ones (e.g. to record verdict captures).
    #[arg(long, requires = "keep_captures")]
    pub capture_all: bool,
    /// Longest wait for any reply, in seconds (a server that does not
    /// answer fails the step after this).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub reply_timeout: f64,
    /// Do not capture trials nor run the passive rules on them.
    #[arg(long)]
    pub no_passive: bool,
}

/// The default suite directory: `./suites`, else the one in the source
/// tree this binary was built from.
fn default_suites() -> PathBuf {
    let here = PathBuf::from("suites");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites")
}

/// Splits the positional arguments into suite paths and a filter.
fn split_args(args: &[String]) -> Result<(Vec<PathBuf>, Option<String>)> {
    let mut paths = Vec::new();
    let mut filter = None;
    for a in args {
        let p = PathBuf::from(a);
        if p.exists() {
            paths.push(p);
        } else if filter.is_none() {
            filter = Some(a.clone());
        } else {
            anyhow::bail!("{a}: no such suite file, and a filter was already given");
        }
    }
    Ok((paths, filter))
}

fn load_suites(paths: &[PathBuf]) -> Result<Vec<Suite>, Vec<scenario::LoadError>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|source| {
                    vec![scenario::LoadError::Io {
                        path: p.clone(),
                        source,
                    }]
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    scenario::load_files(&files)
}

/// `trunkcheck run …`.
pub fn run(args: &RunArgs) -> Result<u8> {
    let (mut paths, filter) = split_args(&args.args)?;
    if paths.is_empty() {
        paths.push(default_suites());
    }
    let suites = match load_suites(&paths) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("trunkcheck: {e}");
            }
            return Ok(2);
        }
    };
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::load(p).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let libtest = trunkcheck::run::libtest::Options {
        filter,
        list: args.list,
        exact: args.exact,
        skip: args.skip.clone(),
        ignored: args.ignored,
        include_ignored: args.include_ignored,
        // Trials mostly wait on servers: more threads than cores pay off
        // (those that act on servers still run alone).
        threads: args.test_threads.unwrap_or(4),
        quiet: args.quiet,
    };
    let target = match (&args.target, &args.builtin) {
        (Some(p), _) => Target::load_with(p, args.allow_remote)?,
        (None, name) => Target::builtin(name.as_deref().unwrap_or("default"))?,
    };
    let mut opts = RunOptions {
        libtest,
        baseline,
        keep_captures: args.keep_captures.clone(),
        capture_all: args.capture_all,
        passive: !args.no_passive && trunkcheck::run::capture::CAN_CAPTURE,
        strict: args.strict,
    };
    if args.list {
        let env = Env {
            servers: Vec::new(),
            netns: None,
            control: Arc::new(NoControl),
            sources: Sources::Fixed(Vec::new()),
            reply_timeout: std::time::Duration::from_secs(1),
            capture_interface: None,
        };
        opts.passive = false;
        let _ = run_scenarios(env, &suites, opts);
        return Ok(0);
    }
    if !opts.passive && !args.no_passive {
        eprintln!(
            "trunkcheck: note: this build cannot capture (build with --features live); \
             the passive rules do not judge the trials"
        );
    }
    trunkcheck::lab::install_signal_teardown();
    let lab =
        Arc::new(Lab::start(&target).with_context(|| format!("starting target {}", target.name))?);
    let trials: usize = suites.iter().map(|s| s.file.scenarios.len()).sum();
    let mut env = lab_env::env_from_lab(Arc::clone(&lab), trials).map_err(anyhow::Error::msg)?;
    if !(args.reply_timeout.is_finite() && args.reply_timeout > 0.0) {
        anyhow::bail!(
            "--reply-timeout {}: not a positive number of seconds",
            args.reply_timeout
        );
    }
    env.reply_timeout = std::time::Duration::from_secs_f64(args.reply_timeout.min(3600.0));
    let started = std::time::Instant::now();
    let baseline = opts.baseline.clone();
    let result = run_scenarios(env, &suites, opts);
    let wall = started.elapsed();
    drop(lab);
    write_reports(args, &result.records, &target.name, baseline.as_ref(), wall)?;
    Ok(if result.conclusion.has_failed() { 1 } else { 0 })
}

/// The run's JUnit and JSON reports (when asked for), its summary line and
/// the baseline entries to remove, on stderr.
fn write_reports(
    args: &RunArgs,
    records: &[Record],
    target: &str,
    baseline: Option<&Baseline>,
    wall: std::time::Duration,
) -> Result<()> {
    if let Some(p) = &args.junit {
        let xml = report::run::junit(records).map_err(anyhow::Error::msg)?;
        std::fs::write(p, xml).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.json {
        let doc = report::run::json(records, target, baseline, args.strict);
        std::fs::write(p, doc).with_context(|| format!("writing {}", p.display()))?;
    }
    let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count();
    let warned = records
        .iter()
        .filter(|r| r.outcome == Outcome::Passed && !r.warnings.is_empty())
        .count();
    eprintln!(
        "trunkcheck: target {}: {} passed ({} with warnings), {} failed, {} known failures, {} skipped in {:.1} s",
        target,
        count(Outcome::Passed),
        warned,
        count(Outcome::Failed),
        count(Outcome::KnownFailure),
        count(Outcome::Skipped),
        wall.as_secs_f64()
    );
    let expected = |id: &str| baseline.is_some_and(|b| b.warnings.contains_key(id));
    let new: Vec<&str> = records
        .iter()
        .filter(|r| !r.warnings.is_empty() && !expected(&r.id))
        .map(|r| r.id.as_str())
        .collect();
    if !new.is_empty() {
        eprintln!(
            "trunkcheck: warnings the baseline does not expect{}: {}",
            if args.strict {
                " (they failed: --strict)"
            } else {
                ""
            },
            new.join(", ")
        );
    }
    if let (Some(b), Some(path)) = (baseline, &args.baseline) {
        for st in b.stale(records) {
            // A filtered run leaves most entries unrun; those are not news
            // (the JSON lists them all).
            if st.why != "was not run" {
                eprintln!(
                    "trunkcheck: baseline {}: {} ({} expected) {}; remove it",
                    path.display(),
                    st.id,
                    st.kind,
                    st.why
                );
            }
        }
    }
    Ok(())
}
