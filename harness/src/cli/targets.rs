//! `trunkcheck targets`: list the built-in target profiles, or check a
//! target file.

use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use trunkcheck::targets::{Launch, Target};

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

/// A target in a few lines: its servers, addresses and assertions.
pub(super) fn describe(t: &Target, out: &mut impl Write) -> std::io::Result<()> {
    let kind = match t.launch {
        Launch::Ganesha => "built-in Ganesha",
        Launch::Knfsd => "built-in Linux knfsd in QEMU",
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
        if let Some(k) = &s.knfsd {
            write!(
                out,
                "  host {:?} (owner and scope) lease {}s grace {}s",
                k.hostname, k.lease, k.grace
            )?;
        }
        if !s.capture.is_empty() {
            write!(out, "  capture {}", s.capture.join(", "))?;
        }
        for r in &s.referrals {
            write!(out, "  referral {} -> {}", r.path, r.to)?;
        }
        writeln!(out)?;
    }
    for group in &t.same_scope {
        writeln!(out, "    same scope: {}", group.join(", "))?;
    }
    if !t.capture.is_empty() {
        writeln!(out, "    capture: {}", t.capture.join(", "))?;
    }
    if !t.client_addresses.is_empty() {
        let c: Vec<String> = t.client_addresses.iter().map(|a| a.to_string()).collect();
        writeln!(out, "    client addresses: {}", c.join(", "))?;
    }
    Ok(())
}

/// `trunkcheck targets [--check FILE]`.
pub fn run(args: &TargetsArgs) -> Result<u8> {
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
