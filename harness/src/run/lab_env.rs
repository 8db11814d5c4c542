//! A run's environment from a running [`Lab`]: its servers, its client
//! namespace, its actions.

use super::env::{Control, Env, EnvServer, Sources};
use crate::action::{Action, Unsupported};
use crate::lab::{Lab, LabError};
use crate::targets::Launch;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Server actions carried out by a lab (built-in launcher or hooks).
pub struct LabControl(pub Arc<Lab>);

impl Control for LabControl {
    fn supports(&self, server: &str, action: &Action) -> Result<(), Unsupported> {
        self.0.target().supports(server, action)
    }

    fn act(&self, server: &str, action: &Action) -> Result<(), LabError> {
        self.0.act(server, action)
    }
}

/// The environment of a run against `lab`, with client source addresses
/// for `trials` trials (built-in labs give every trial its own).
pub fn env_from_lab(lab: Arc<Lab>, trials: usize) -> Result<Env, String> {
    let t = lab.target();
    let scope_group = |name: &str| {
        t.same_scope
            .iter()
            .position(|g| g.iter().any(|n| n == name))
    };
    let servers = lab
        .servers()
        .iter()
        .map(|s| EnvServer {
            name: s.name.clone(),
            addresses: s.addresses.clone(),
            export: s.export.clone(),
            scope_group: scope_group(&s.name),
            grace: s.grace,
        })
        .collect();
    let builtin = t.launch == Launch::Ganesha;
    let mut env = Env {
        servers,
        netns: lab.netns().cloned(),
        control: Arc::new(LabControl(Arc::clone(&lab))),
        sources: if builtin {
            Sources::PerTrial
        } else {
            Sources::Fixed(t.client_addresses.clone())
        },
        reply_timeout: Duration::from_secs(10),
        capture_interface: Some(if builtin { "any".into() } else { "lo".into() }),
    };
    if builtin {
        add_trial_addresses(&mut env, trials + 1)?;
    }
    Ok(env)
}

/// Trials' source addresses handed to trials (per trial, this many).
pub const ADDRESSES_PER_TRIAL: usize = 4;

/// Puts every trial's source addresses (and the settle client's) on the
/// client namespace's loopback, in one `ip -batch` run.
fn add_trial_addresses(env: &mut Env, trials: usize) -> Result<(), String> {
    let Some(ns) = env.netns.clone() else {
        return Ok(());
    };
    let mut addrs: Vec<IpAddr> = Vec::new();
    for k in (0..trials).chain([62_499]) {
        for n in 0..ADDRESSES_PER_TRIAL {
            if let Ok(Some(a)) = env.source(k, Some(n)) {
                addrs.push(a);
            }
        }
    }
    let batch: String = addrs
        .iter()
        .map(|a| format!("address add {a}/32 dev lo\n"))
        .collect();
    let mut child = ns
        .command("ip")
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(batch.as_bytes())
            .map_err(|e| format!("ip -batch: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ip -batch: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "adding client addresses failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
