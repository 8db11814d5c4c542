//! Running an external target's control hooks.
//!
//! A hook is an argv list from the target file, executed directly (no
//! shell, so no value from the file is ever interpolated into a command
//! line). It learns what to do from its environment:
//!
//! | variable | value |
//! | --- | --- |
//! | `TRUNKCHECK_TARGET` | the target's name |
//! | `TRUNKCHECK_ACTION` | `start`, `stop`, `restart`, `crash`, `failover`, `cut_link`, `restore_link` |
//! | `TRUNKCHECK_SERVER` | the server's name |
//! | `TRUNKCHECK_ADDRESSES` | its addresses, space-separated `IP:PORT` |
//! | `TRUNKCHECK_PEER` | failover only: the server taking over |
//! | `TRUNKCHECK_PEER_ADDRESSES` | failover only: the peer's addresses |
//!
//! A hook that exits non-zero, or runs longer than the target's
//! `hook_timeout`, fails the action with its output.

use super::LabError;
use crate::action::Action;
use crate::targets::ServerSpec;
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

/// Runs `argv` for `action` on `server` (and `peer` for failover).
pub(crate) fn run(
    target: &str,
    action: &Action,
    argv: &[String],
    server: &ServerSpec,
    peer: Option<&ServerSpec>,
    timeout: Duration,
) -> Result<(), LabError> {
    let fail = |detail: String| LabError::Hook {
        server: server.name.clone(),
        action: action.clone(),
        argv: format!("{argv:?}"),
        detail,
    };
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| fail("empty hook".to_string()))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("TRUNKCHECK_TARGET", target)
        .env("TRUNKCHECK_ACTION", action.key())
        .env("TRUNKCHECK_SERVER", &server.name)
        .env("TRUNKCHECK_ADDRESSES", join_addresses(server))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
