//! Running an external target's control hooks.
//!
//! A hook is an argv list from the target file, executed directly (no
//! shell, so no value from the file is ever interpolated into a command
//! line). It learns what to do from its environment:
//!
//! | variable | value |
//! | --- | --- |
//! | `TRUNKCHECK_TARGET` | the target's name |
//! | `TRUNKCHECK_TARGET_DIR` | the directory of the target file |
//! | `TRUNKCHECK_ACTION` | `start`, `stop`, `restart`, `crash`, `failover`, `cut_link`, `restore_link` |
//! | `TRUNKCHECK_SERVER` | the server's name |
//! | `TRUNKCHECK_ADDRESSES` | its addresses, space-separated `IP:PORT` |
//! | `TRUNKCHECK_PEER` | failover only: the server taking over |
//! | `TRUNKCHECK_PEER_ADDRESSES` | failover only: the peer's addresses |
//!
//! The same values can be written into the argv as `${target}`,
//! `${target_dir}` (the directory of the target file), `${action}`,
//! `${server}`, `${address}` (its first IP address), `${addresses}` (as
//! above), `${port}` (of its first address), and in a failover hook
//! `${peer}`, `${peer_address}`, `${peer_addresses}`; `$$` is a `$`. So one
//! hook in the target's `hooks:` serves every server:
//! `restart: [ssh, "root@${address}", systemctl, restart, nfs-server]`.
//!
//! A hook that exits non-zero, or runs longer than the target's
//! `hook_timeout`, fails the action with its output.

use super::LabError;
use crate::action::Action;
use crate::targets::{hook_arg_parts, HookPart, ServerSpec, Target};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn join_addresses(s: &ServerSpec) -> String {
    s.addresses
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of hook variable `name` (see the module documentation).
fn variable(
    name: &str,
    target: &Target,
    action: &Action,
    server: &ServerSpec,
    peer: Option<&ServerSpec>,
) -> Result<String, String> {
    let first_ip = |s: &ServerSpec| s.addresses.first().map(|a| a.ip().to_string());
    let value = match name {
        "target" => Some(target.name.clone()),
        "target_dir" => target.dir.as_ref().map(|d| d.display().to_string()),
        "action" => Some(action.key().to_string()),
        "server" => Some(server.name.clone()),
        "address" => first_ip(server),
        "addresses" => Some(join_addresses(server)),
        "port" => server.addresses.first().map(|a| a.port().to_string()),
        "peer" => peer.map(|p| p.name.clone()),
        "peer_address" => peer.and_then(first_ip),
        "peer_addresses" => peer.map(join_addresses),
        _ => None,
    };
    value.ok_or_else(|| format!("${{{name}}} has no value here"))
}

/// `argv` with every `${NAME}` replaced by its value.
pub(crate) fn expand(
    argv: &[String],
    target: &Target,
    action: &Action,
    server: &ServerSpec,
    peer: Option<&ServerSpec>,
) -> Result<Vec<String>, String> {
    argv.iter()
        .map(|arg| {
            let mut out = String::new();
            for part in hook_arg_parts(arg)? {
                match part {
                    HookPart::Text(t) => out.push_str(t),
                    HookPart::Var(v) => out.push_str(&variable(v, target, action, server, peer)?),
                }
            }
            Ok(out)
        })
        .collect()
}

/// Runs `argv` for `action` on `server` (and `peer` for failover).
pub(crate) fn run(
    target: &Target,
    action: &Action,
    argv: &[String],
    server: &ServerSpec,
    peer: Option<&ServerSpec>,
) -> Result<(), LabError> {
    let fail = |detail: String| LabError::Hook {
        server: server.name.clone(),
        action: action.clone(),
        argv: format!("{argv:?}"),
        detail,
    };
    let timeout = target.hook_timeout;
    let argv = expand(argv, target, action, server, peer).map_err(fail)?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| fail("empty hook".to_string()))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("TRUNKCHECK_TARGET", &target.name)
        .env("TRUNKCHECK_ACTION", action.key())
        .env("TRUNKCHECK_SERVER", &server.name)
        .env("TRUNKCHECK_ADDRESSES", join_addresses(server))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &target.dir {
        cmd.env("TRUNKCHECK_TARGET_DIR", dir);
    }
    if let Some(p) = peer {
        cmd.env("TRUNKCHECK_PEER", &p.name)
            .env("TRUNKCHECK_PEER_ADDRESSES", join_addresses(p));
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    // Drain both pipes on threads so a chatty hook cannot block on them.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.by_ref().take(1 << 20).read_to_end(&mut out);
                // Keep reading (and discarding) so the hook never blocks.
                let _ = std::io::copy(&mut p, &mut std::io::sink());
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Ok(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("still running after {timeout:?}; killed"));
            }
            Err(e) => break Err(format!("cannot wait for it: {e}")),
        }
    };
    // The pipes close when the hook (and anything it left holding them)
    // exits; a daemon it started may keep them open, so do not wait long.
    let collect = |h: std::thread::JoinHandle<String>| {
        let until = Instant::now() + Duration::from_secs(2);
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if h.is_finished() {
            h.join().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let (out, err) = (collect(out), collect(err));
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(fail(format!(
            "{s}; stdout: {}; stderr: {}",
            out.trim(),
            err.trim()
        ))),
        Err(detail) => Err(fail(detail)),
    }
}
