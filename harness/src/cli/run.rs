//! `trunkcheck run`: the conformance suite against a target.

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trunkcheck::lab::Lab;
use trunkcheck::report;
use trunkcheck::run::env::Env;
use trunkcheck::run::record::{Baseline, Outcome, Record};
use trunkcheck::run::{lab_env, run_scenarios, RunOptions};
use trunkcheck::scenario::{self, Suite};
use trunkcheck::targets::Target;

/// Arguments of `trunkcheck run`.
#[derive(Args)]
pub struct RunArgs {
    /// Suite files or directories (default: the suite directory, see
    /// `--suites`), then optionally one FILTER: only scenarios whose id
    /// contains it run.
    #[arg(value_name = "SUITES… [FILTER]")]
    pub args: Vec<String>,
    /// The suite directory used when no suite is named (default: `./suites`
    /// if there is one, else the one installed with the binary:
    /// `BIN/../share/trunkcheck/suites`, or `suites/` of the source tree
    /// the binary was built in, `BIN/../../suites`).
    #[arg(long, value_name = "DIR")]
    pub suites: Option<PathBuf>,
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
    /// Do not wait, at the start, until the target's servers are out of
    /// their grace period (by default a non-reclaim OPEN is tried until it
    /// is no longer refused with NFS4ERR_GRACE).
    #[arg(long)]
    pub no_grace_wait: bool,
}

/// The suite directory: `--suites DIR`, else `./suites`, else one beside
/// the installed binary (never a path compiled into it).
fn default_suites(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = given {
        anyhow::ensure!(dir.is_dir(), "--suites {}: not a directory", dir.display());
        return Ok(dir.to_path_buf());
    }
    let mut tried = vec![PathBuf::from("suites")];
    if let Some(bin) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        tried.push(bin.join("../share/trunkcheck/suites"));
        tried.push(bin.join("../../suites"));
    }
    tried
        .iter()
        .find(|d| has_suites(d))
        .cloned()
        .ok_or_else(|| {
            let list: Vec<String> = tried.iter().map(|d| d.display().to_string()).collect();
            anyhow::anyhow!(
                "no suite directory found (looked in {}); pass --suites DIR or suite files",
                list.join(", ")
            )
        })
}

/// Whether `dir` holds suite files.
fn has_suites(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.path().extension().is_some_and(|x| x == "yaml"))
    })
}

/// How reports name a suite file: relative to the parent of the directory
/// it was found in (`suites/recovery.yaml`), or as given when named
/// directly by a relative path.
fn report_name(root: &Path, file: &Path) -> PathBuf {
    if root == file {
        if file.is_relative() {
            return file.components().collect();
        }
        let mut name = PathBuf::new();
        if let Some(dir) = file.parent().and_then(Path::file_name) {
            name.push(dir);
        }
        if let Some(f) = file.file_name() {
            name.push(f);
        }
        return name;
    }
    let base = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let dir = base.file_name().map(PathBuf::from).unwrap_or_default();
    match file.strip_prefix(root) {
        Ok(rel) => dir.join(rel),
        Err(_) => file.to_path_buf(),
    }
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
    let mut names = Vec::new();
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
            names.extend(entries.iter().map(|f| report_name(p, f)));
            files.extend(entries);
        } else {
            names.push(report_name(p, p));
            files.push(p.clone());
        }
    }
    let mut suites = scenario::load_files(&files)?;
    // Loaded: from here on a suite is named as reports show it.
    for (suite, name) in suites.iter_mut().zip(names) {
        suite.path = name;
    }
    Ok(suites)
}

/// `trunkcheck run …`.
pub fn run(args: &RunArgs) -> Result<u8> {
    let (mut paths, filter) = split_args(&args.args)?;
    if paths.is_empty() {
        paths.push(default_suites(args.suites.as_deref())?);
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
        let env = Env::listing();
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
    if target.launch == trunkcheck::targets::Launch::External {
        let on: Vec<String> = env
            .servers
            .iter()
            .map(|s| format!("{} on {}", s.name, s.capture.join(", ")))
            .collect();
        eprintln!(
            "trunkcheck: target {}: trials capture {}",
            target.name,
            on.join("; ")
        );
        if env.serial() {
            eprintln!(
                "trunkcheck: note: target {} lists no client_addresses: trials cannot be told apart by \
                 address and run one at a time",
                target.name
            );
        }
    }
    let started = std::time::Instant::now();
    if !args.no_grace_wait {
        let lines = trunkcheck::run::settle::out_of_grace_at_start(&env)
            .map_err(|e| anyhow::anyhow!("target {}: {e}", target.name))?;
        for line in lines {
            eprintln!("trunkcheck: {line}");
        }
    }
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
    // libtest's summary counts known failures and skips together as
    // "ignored"; each such line says which ("ignored (skipped: …)").
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
