//! `trunkcheck lab`: start a target's servers and keep them up, with
//! actions read from stdin, until Ctrl-C or `--for SECS`.

use super::targets::describe;
use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;
use trunkcheck::action::Action;
use trunkcheck::lab::Lab;
use trunkcheck::targets::Target;

/// Arguments of `trunkcheck lab`.
#[derive(Args)]
pub struct LabArgs {
    /// A built-in profile (see `trunkcheck targets`); `default` if omitted.
    #[arg(conflicts_with = "target")]
    pub name: Option<String>,
    /// A target file instead of a built-in profile.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Tear down after this many seconds instead of waiting for Ctrl-C.
    #[arg(long = "for", value_name = "SECS")]
    pub for_secs: Option<f64>,
    /// Accept addresses outside loopback in the target file.
    #[arg(long)]
    pub allow_remote: bool,
}

/// `trunkcheck lab [NAME|--target FILE] [--for SECS]`.
pub fn run(args: &LabArgs) -> Result<u8> {
    let target = match (&args.target, &args.name) {
        (Some(path), _) => Target::load_with(path, args.allow_remote)?,
        (None, name) => Target::builtin(name.as_deref().unwrap_or("default"))?,
    };
    trunkcheck::lab::install_signal_teardown();
    let lab = Lab::start(&target).with_context(|| format!("starting target {}", target.name))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    describe(&target, &mut out)?;
    if let Some(path) = lab.netns_path() {
        writeln!(
            out,
            "enter the lab's client namespace: nsenter --net={path}"
        )?;
        if let Some(dir) = lab.dir() {
            writeln!(out, "configs and logs: {}", dir.display())?;
        }
    }
    writeln!(
        out,
        "actions on stdin, one per line: start|stop|restart|crash|cut|restore SERVER, failover FROM TO, log SERVER"
    )?;
    match args.for_secs {
        Some(s) => writeln!(out, "ready; tearing down in {s} s (or on Ctrl-C)")?,
        None => writeln!(out, "ready; press Ctrl-C to tear down")?,
    }
    out.flush()?;
    drop(out);
    let lab = std::sync::Arc::new(lab);
    let weak = std::sync::Arc::downgrade(&lab);
    // Detached: it ends at end of input, or with the process. It holds the
    // lab only while an action runs.
    std::thread::spawn(move || serve_stdin(&weak));
    match args.for_secs {
        Some(s) if s.is_finite() && s >= 0.0 => {
            std::thread::sleep(Duration::from_secs_f64(s.min(1e9)));
        }
        Some(s) => anyhow::bail!("--for {s}: not a number of seconds"),
        // The signal handler tears the lab down and exits with 130.
        None => loop {
            std::thread::park();
        },
    }
    // Wait for an action in progress (each is bounded by its timeouts).
    let mut lab = lab;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        match std::sync::Arc::try_unwrap(lab) {
            Ok(lab) => {
                drop(lab);
                return Ok(0);
            }
            Err(shared) if std::time::Instant::now() < deadline => {
                lab = shared;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => anyhow::bail!("an action on the lab did not finish; exiting"),
        }
    }
}

/// A server action typed on stdin: `WORD SERVER` (`start`, `stop`,
/// `restart`, `crash`, `cut`, `restore`) or `failover FROM TO`.
fn lab_action<'w>(words: &[&'w str]) -> Option<(&'w str, Action)> {
    let (word, server, peer) = match words {
        [w, s] => (*w, *s, None),
        [w, s, p] => (*w, *s, Some(*p)),
        _ => return None,
    };
    let key = match word {
        "cut" => "cut_link",
        "restore" => "restore_link",
        "cut_link" | "restore_link" => return None,
        w => w,
    };
    Action::from_key(key, peer).map(|a| (server, a))
}

/// Carries out the actions typed on stdin, one per line, while the lab
/// lives (it is held only while an action runs); ends at end of input.
fn serve_stdin(weak: &Weak<Lab>) {
    for line in std::io::stdin().lines().map_while(Result::ok) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let Some(actions) = weak.upgrade() else { break };
        let started = std::time::Instant::now();
        let result = match (words.as_slice(), lab_action(&words)) {
            (_, Some((server, action))) => actions.act(server, &action),
            (["log", s], None) => actions.log_tail(s, 20).map(|lines| {
                for l in lines {
                    println!("{l}");
                }
            }),
            _ => {
                println!("? {line}");
                continue;
            }
        };
        match result {
            Ok(()) => println!("ok: {line} ({:.2?})", started.elapsed()),
            Err(e) => println!("error: {line}: {e}"),
        }
    }
}
