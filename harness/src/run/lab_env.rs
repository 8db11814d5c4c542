//! A run's environment from a running [`Lab`]: its servers, its client
//! namespace, its actions, where each trial's traffic is captured.

use super::env::{
    AddressPool, Control, Env, EnvServer, Realm, Sources, ADDRESSES_PER_TRIAL, PROBE_TRIAL,
};
use crate::action::{Action, Unsupported};
use crate::lab::{Lab, LabError};
use crate::netns::NetNs;
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
/// for `trials` trials (built-in labs give every trial its own; an
/// external target lends its `client_addresses` to running trials).
pub fn env_from_lab(lab: Arc<Lab>, trials: usize) -> Result<Env, String> {
    let t = lab.target();
    let scope_group = |name: &str| {
        t.same_scope
            .iter()
            .position(|g| g.iter().any(|n| n == name))
    };
    let builtin = t.launch != Launch::External;
    let servers = lab
        .servers()
        .iter()
        .map(|s| {
            let spec = t.server(&s.name);
            let own = spec.map(|x| x.capture.clone()).unwrap_or_default();
            let capture = if builtin {
                lab.capture_interfaces(&s.name)
            } else if !own.is_empty() {
                own
            } else if !t.capture.is_empty() {
                t.capture.clone()
            } else {
                route_interfaces(lab.netns(), s.addresses.iter().map(|a| a.ip()))
            };
            EnvServer {
                name: s.name.clone(),
                addresses: s.addresses.clone(),
                export: s.export.clone(),
                scope_group: scope_group(&s.name),
                grace: s.grace,
                capture,
                referrals: spec.map(|x| x.referrals.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let sources = match lab.client_first_octet() {
        Some(first_octet) => Sources::PerTrial { first_octet },
        None => Sources::Lent(AddressPool::new(t.client_addresses.clone())),
    };
    let mut env = Env {
        servers,
        netns: lab.netns().cloned(),
        control: Arc::new(LabControl(Arc::clone(&lab))),
        sources,
        reply_timeout: Duration::from_secs(10),
        role_note: lab.role_note(),
        realm: match lab.realm() {
            Some(r) => Realm::Ready(Arc::clone(r)),
            None => Realm::Missing(lab.no_realm()),
        },
    };
    if matches!(env.sources, Sources::PerTrial { .. }) {
        add_trial_addresses(&mut env, trials + 1)?;
    }
    Ok(env)
}

/// The interfaces the routes to `addresses` leave by, as `ip route get`
/// says in `ns` (or the host's namespace); `any` for an address it cannot
/// tell.
fn route_interfaces(ns: Option<&NetNs>, addresses: impl Iterator<Item = IpAddr>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ip in addresses {
        let mut cmd = match ns {
            Some(ns) => ns.command("ip"),
            None => std::process::Command::new("ip"),
        };
        let dev = cmd
            .args(["-o", "route", "get", &ip.to_string()])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| route_device(&String::from_utf8_lossy(&o.stdout)))
            .unwrap_or_else(|| "any".to_string());
        if !out.contains(&dev) {
            out.push(dev);
        }
    }
    out
}

/// The `dev NAME` of one line of `ip -o route get` output.
fn route_device(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "dev" {
            return words.next().map(str::to_string);
        }
    }
    None
}

/// Puts every trial's source addresses (and the settle client's) on the
/// client namespace's loopback, in one `ip -batch` run.
fn add_trial_addresses(env: &mut Env, trials: usize) -> Result<(), String> {
    let Some(ns) = env.netns.clone() else {
        return Ok(());
    };
    let mut addrs: Vec<IpAddr> = Vec::new();
    for k in (0..trials).chain([PROBE_TRIAL]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_names_the_capture_interface() {
        assert_eq!(
            route_device("10.99.1.2 dev tc0 src 10.100.0.1 uid 0 \\    cache "),
            Some("tc0".to_string())
        );
        assert_eq!(
            route_device("local 127.0.0.2 dev lo src 127.0.0.1 uid 0"),
            Some("lo".to_string())
        );
        assert_eq!(route_device("unreachable"), None);
        // A loopback server is reached over `lo` (where iproute2 is installed).
        let got = route_interfaces(None, [IpAddr::from([127, 0, 0, 2])].into_iter());
        assert!(got == ["lo"] || got == ["any"], "{got:?}");
    }
}
