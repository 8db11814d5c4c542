//! `trunkcheck lab`: start a target's servers and keep them up, with
//! actions read from stdin (and, with `--control SOCK`, from a unix
//! socket), until Ctrl-C or `--for SECS`; `trunkcheck lab --send SOCK
//! ACTION SERVER [PEER]` sends one action to such a lab, so that the lab
//! can be tested as an external target whose hooks are that command.

use super::targets::describe;
use anyhow::{Context, Result};
use clap::Args;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
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
    /// Also take actions from this unix socket: one line per connection
    /// (`restart a`), answered with one line (`ok: …` or `error: …`).
    #[arg(long, value_name = "SOCK")]
    pub control: Option<PathBuf>,
    /// Send one action to the lab listening on SOCK and exit (0 when it
    /// was done): `--send SOCK restart a`, `--send SOCK failover a b`.
    #[arg(long, num_args = 3..=4, value_names = ["SOCK", "ACTION", "SERVER", "PEER"],
          conflicts_with_all = ["name", "target", "control", "for_secs"])]
    pub send: Option<Vec<String>>,
}

/// `trunkcheck lab [NAME|--target FILE] [--for SECS] [--control SOCK]`, or
/// `trunkcheck lab --send SOCK ACTION SERVER [PEER]`.
pub fn run(args: &LabArgs) -> Result<u8> {
    if let Some([sock, words @ ..]) = args.send.as_deref() {
        return send(std::path::Path::new(sock), words);
    }
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
    if let Some(path) = &args.control {
        let _ = std::fs::remove_file(path);
        let listener =
            UnixListener::bind(path).with_context(|| format!("--control {}", path.display()))?;
        let weak = weak.clone();
        // Detached, like the stdin reader; the socket file goes with the lab.
        std::thread::spawn(move || serve_socket(&listener, &weak));
    }
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
        // The hook keys too (`${action}` of a hook).
        w => w,
    };
    Action::from_key(key, peer).map(|a| (server, a))
}

/// Carries out one command line on the lab: the answer (`ok: …`,
/// `error: …`, `? …`, log lines); `None` once the lab is gone.
fn command(weak: &Weak<Lab>, line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let actions = weak.upgrade()?;
    let started = std::time::Instant::now();
    let result = match (words.as_slice(), lab_action(&words)) {
        (_, Some((server, action))) => actions.act(server, &action).map(|()| None),
        (["log", s], None) => actions.log_tail(s, 20).map(|lines| Some(lines.join("\n"))),
        _ => return Some(format!("? {line}")),
    };
    Some(match result {
        Ok(Some(text)) => text,
        Ok(None) => format!("ok: {line} ({:.2?})", started.elapsed()),
        Err(e) => format!("error: {line}: {e}"),
    })
}

/// Carries out the actions typed on stdin, one per line, while the lab
/// lives (it is held only while an action runs); ends at end of input.
fn serve_stdin(weak: &Weak<Lab>) {
    for line in std::io::stdin().lines().map_while(Result::ok) {
        if line.trim().is_empty() {
            continue;
        }
        match command(weak, &line) {
            Some(answer) => println!("{answer}"),
            None => break,
        }
    }
}

/// Carries out one action per connection on the control socket.
fn serve_socket(listener: &UnixListener, weak: &Weak<Lab>) {
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let mut line = String::new();
        if BufReader::new(&conn).read_line(&mut line).is_err() {
            continue;
        }
        let answer = command(weak, line.trim()).unwrap_or_else(|| "error: the lab is gone".into());
        let _ = writeln!(conn, "{}", answer.replace('\n', " | "));
    }
}

/// `--send SOCK WORDS…`: one action to a running lab; 0 when it was done.
fn send(sock: &std::path::Path, words: &[String]) -> Result<u8> {
    anyhow::ensure!(
        !words.is_empty(),
        "--send {}: which action?",
        sock.display()
    );
    let mut conn = UnixStream::connect(sock)
        .with_context(|| format!("--send {}: no lab listens there", sock.display()))?;
    writeln!(conn, "{}", words.join(" "))?;
    let mut answer = String::new();
    BufReader::new(&conn).read_line(&mut answer)?;
    let answer = answer.trim();
    println!("{answer}");
    Ok(if answer.starts_with("ok:") { 0 } else { 1 })
}
