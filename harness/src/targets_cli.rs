//! `trunkcheck targets` and `trunkcheck lab`: list and check target files,
//! and run a lab by hand.

use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use trunkcheck::target::{Lab, Launch, Target};

/// Arguments of `trunkcheck targets`.
#[derive(Args)]
pub struct TargetsArgs {
    /// Validate this target file instead of listing the built-in profiles.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// Accept addresses outside loopback in the checked file.
    #[arg(long)]
    pub allow_remote: bool,
}

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

fn describe(t: &Target, out: &mut impl Write) -> std::io::Result<()> {
    let kind = match t.launch {
        Launch::Ganesha => "built-in Ganesha",
        Launch::External => "external",
    };
    writeln!(out, "{}  ({kind}) {}", t.name, t.description)?;
    for s in &t.servers {
        let addrs: Vec<String> = s.addresses.iter().map(|a| a.to_string()).collect();
        write!(
            out,
            "    server {:<6} {}  export {}",
            s.name,
            addrs.join(", "),
            s.export
        )?;
        if let Some(g) = &s.ganesha {
            write!(
                out,
                "  owner {:?} scope {:?} node {} lease {}s grace {}s",
                g.server_owner, g.server_scope, g.node_id, g.lease, g.grace
            )?;
        }
        writeln!(out)?;
    }
    for group in &t.same_scope {
        writeln!(out, "    same scope: {}", group.join(", "))?;
    }
    if !t.client_addresses.is_empty() {
        let c: Vec<String> = t.client_addresses.iter().map(|a| a.to_string()).collect();
        writeln!(out, "    client addresses: {}", c.join(", "))?;
    }
    Ok(())
}

/// `trunkcheck targets [--check FILE]`.
pub fn run_targets(args: &TargetsArgs) -> Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(path) = &args.check {
        let t = Target::load_with(path, args.allow_remote)?;
        writeln!(out, "{}: ok", path.display())?;
        describe(&t, &mut out)?;
        return Ok(0);
    }
    for name in Target::builtin_names() {
        let t = Target::builtin(name)?;
        describe(&t, &mut out)?;
    }
    Ok(0)
}

/// `trunkcheck lab [NAME|--target FILE] [--for SECS]`.
pub fn run_lab(args: &LabArgs) -> Result<u8> {
    let target = match (&args.target, &args.name) {
        (Some(path), _) => Target::load_with(path, args.allow_remote)?,
        (None, name) => Target::builtin(name.as_deref().unwrap_or("default"))?,
    };
    trunkcheck::target::install_signal_teardown();
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
    match args.for_secs {
        Some(s) => writeln!(out, "ready; tearing down in {s} s (or on Ctrl-C)")?,
        None => writeln!(out, "ready; press Ctrl-C to tear down")?,
    }
    out.flush()?;
    drop(out);
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
    drop(lab);
    Ok(0)
}
