//! What a run works against: the servers, how to reach and control them,
//! and which client addresses each trial may use.

use crate::action::{Action, Unsupported};
use crate::lab::LabError;
use crate::netns::NetNs;
use crate::scenario::{Role, RoleRelation};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Carries out server actions (the built-in launcher, or a target's hooks).
pub trait Control: Send + Sync {
    /// Whether `server` can do `action` at all (a scenario that needs what
    /// the target cannot do is skipped, naming it).
    fn supports(&self, server: &str, action: &Action) -> Result<(), Unsupported>;
    /// Does it; returns when the server is ready again (or the link is cut).
    fn act(&self, server: &str, action: &Action) -> Result<(), LabError>;
}

/// A control that can do nothing (a run that only lists scenarios).
pub struct NoControl;

impl Control for NoControl {
    fn supports(&self, server: &str, action: &Action) -> Result<(), Unsupported> {
        Err(Unsupported {
            target: "(none)".into(),
            action: action.clone(),
            server: server.to_string(),
        })
    }

    fn act(&self, server: &str, action: &Action) -> Result<(), LabError> {
        self.supports(server, action).map_err(LabError::Unsupported)
    }
}

/// One server of the target as a run sees it.
#[derive(Debug, Clone)]
pub struct EnvServer {
    /// Its name in the target.
    pub name: String,
    /// Its addresses (the operator says they are one server).
    pub addresses: Vec<SocketAddr>,
    /// The export path to LOOKUP from the root (`/` for the root itself).
    pub export: String,
    /// Servers with the same group share a scope, as the operator says.
    pub scope_group: Option<usize>,
    /// The grace period, when the target states it.
    pub grace: Option<Duration>,
}

/// How trials get client source addresses.
#[derive(Debug, Clone)]
pub enum Sources {
    /// A private namespace: trial `k` binds `127.(100+n).(k/250).(k%250+1)`
    /// for its `n`th address, so each trial's traffic can be told apart.
    PerTrial,
    /// Fixed addresses from the target (`from: n` → the `n`th); no `from`:
    /// the system picks.
    Fixed(Vec<IpAddr>),
}

/// The environment of a run.
#[derive(Clone)]
pub struct Env {
    /// The target's servers.
    pub servers: Vec<EnvServer>,
    /// The namespace the servers live in (built-in launcher), if any.
    pub netns: Option<NetNs>,
    /// Server actions.
    pub control: Arc<dyn Control>,
    /// Client source addresses.
    pub sources: Sources,
    /// Longest wait for any reply.
    pub reply_timeout: Duration,
    /// The interface live captures listen on (`lo` in a namespace).
    pub capture_interface: Option<String>,
}

impl Env {
    /// The source address a trial uses for `from: n` (`None`: the system's
    /// choice).
    pub fn source(&self, trial: usize, n: Option<usize>) -> Result<Option<IpAddr>, String> {
        match &self.sources {
            Sources::PerTrial => {
                let n = n.unwrap_or(0);
                if n >= 100 {
                    return Err(format!("client address {n} is out of range"));
                }
                let k = trial % 62_500;
                Ok(Some(IpAddr::V4(Ipv4Addr::new(
                    127,
                    100 + n as u8,
                    (k / 250) as u8,
                    (k % 250 + 1) as u8,
                ))))
            }
            Sources::Fixed(list) => match n {
                None => Ok(None),
                Some(i) => list.get(i).copied().map(Some).ok_or_else(|| {
                    format!(
                        "the target lists {} client address(es); `from: {i}` needs more",
                        list.len()
                    )
                }),
            },
        }
    }

    /// A BPF filter that selects one trial's traffic, when trials can be
    /// told apart by address.
    pub fn trial_filter(&self, trial: usize, addresses: usize) -> String {
        match &self.sources {
            Sources::PerTrial => {
                let hosts: Vec<String> = (0..addresses.max(1))
                    .filter_map(|n| self.source(trial, Some(n)).ok().flatten())
                    .map(|a| format!("host {a}"))
                    .collect();
                format!("tcp and ({})", hosts.join(" or "))
            }
            Sources::Fixed(_) => {
                let hosts: Vec<String> = self
                    .servers
                    .iter()
                    .flat_map(|s| s.addresses.iter())
                    .map(|a| format!("host {}", a.ip()))
                    .collect();
                format!("tcp and ({})", hosts.join(" or "))
            }
        }
    }

    /// Picks a distinct server for every role, honouring address counts and
    /// relations; `Err` says why no choice fits (the scenario is skipped).
    pub fn assign(
        &self,
        roles: &BTreeMap<String, Role>,
    ) -> Result<BTreeMap<String, usize>, String> {
        // Roles with no relation first, so that `of` is assigned before use.
        let mut order: Vec<(&String, &Role)> = roles.iter().collect();
        order.sort_by_key(|(_, r)| r.of.is_some());
        let mut chosen = BTreeMap::new();
        if self.search(&order, &mut chosen) {
            Ok(chosen)
        } else {
            Err(self.why_not(&order))
        }
    }

    fn search(&self, order: &[(&String, &Role)], chosen: &mut BTreeMap<String, usize>) -> bool {
        let Some(((name, role), rest)) = order.split_first() else {
            return true;
        };
        for (i, s) in self.servers.iter().enumerate() {
            if chosen.values().any(|&c| c == i) || s.addresses.len() < role.addresses {
                continue;
            }
            if !self.relation_holds(role, i, chosen) {
                continue;
            }
            chosen.insert((*name).clone(), i);
            if self.search(rest, chosen) {
                return true;
            }
            chosen.remove(*name);
        }
        false
    }

    fn relation_holds(&self, role: &Role, i: usize, chosen: &BTreeMap<String, usize>) -> bool {
        let (Some(rel), Some(of)) = (role.relation, &role.of) else {
            return true;
        };
        let Some(&j) = chosen.get(of) else {
            return false;
        };
        let (a, b) = (self.servers[i].scope_group, self.servers[j].scope_group);
        match rel {
            RoleRelation::SameScope => a.is_some() && a == b,
            RoleRelation::OtherScope => a.is_none() || a != b,
            RoleRelation::Other => true,
        }
    }

    fn why_not(&self, order: &[(&String, &Role)]) -> String {
        let wants: Vec<String> = order
            .iter()
            .map(|(n, r)| {
                let mut w = format!("{n}: {} address(es)", r.addresses);
                if let (Some(rel), Some(of)) = (r.relation, &r.of) {
                    let rel = match rel {
                        RoleRelation::SameScope => "same scope as",
                        RoleRelation::OtherScope => "another scope than",
                        RoleRelation::Other => "another server than",
                    };
                    w.push_str(&format!(", {rel} {of}"));
                }
                w
            })
            .collect();
        format!(
            "the target has no servers for these roles ({}); it has {}",
            wants.join("; "),
            self.servers
                .iter()
                .map(|s| format!("{} ({} address(es))", s.name, s.addresses.len()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, n: usize, scope: Option<usize>) -> EnvServer {
        EnvServer {
            name: name.into(),
            addresses: (0..n)
                .map(|i| SocketAddr::from(([127, 0, 0, 2 + i as u8], 2049)))
                .collect(),
            export: "/".into(),
            scope_group: scope,
            grace: None,
        }
    }

    fn env(servers: Vec<EnvServer>) -> Env {
        Env {
            servers,
            netns: None,
            control: Arc::new(NoControl),
            sources: Sources::PerTrial,
            reply_timeout: Duration::from_secs(1),
            capture_interface: None,
        }
    }

    fn role(addresses: usize, relation: Option<RoleRelation>, of: Option<&str>) -> Role {
        Role {
            addresses,
            relation,
            of: of.map(String::from),
        }
    }

    #[test]
    fn roles_get_distinct_servers_that_fit() {
        let e = env(vec![
            server("a", 2, Some(0)),
            server("b", 1, Some(0)),
            server("c", 1, None),
        ]);
        let roles = BTreeMap::from([
            ("a".to_string(), role(2, None, None)),
            (
                "peer".to_string(),
                role(1, Some(RoleRelation::SameScope), Some("a")),
            ),
            (
                "other".to_string(),
                role(1, Some(RoleRelation::OtherScope), Some("a")),
            ),
        ]);
        let got = e.assign(&roles).expect("fits");
        assert_eq!(got["a"], 0);
        assert_eq!(got["peer"], 1);
        assert_eq!(got["other"], 2);
    }

    #[test]
    fn a_role_nobody_fits_says_why() {
        let e = env(vec![server("a", 1, None)]);
        let roles = BTreeMap::from([("a".to_string(), role(2, None, None))]);
        let why = e.assign(&roles).expect_err("no fit");
        assert!(
            why.contains("a: 2 address(es)") && why.contains("a (1 address(es))"),
            "{why}"
        );
        let roles = BTreeMap::from([
            ("a".to_string(), role(1, None, None)),
            (
                "b".to_string(),
                role(1, Some(RoleRelation::SameScope), Some("a")),
            ),
        ]);
        assert!(e.assign(&roles).is_err());
    }

    #[test]
    fn trials_get_disjoint_source_addresses() {
        let e = env(vec![server("a", 1, None)]);
        let a = e.source(0, None).expect("ok");
        let b = e.source(1, None).expect("ok");
        let a1 = e.source(0, Some(1)).expect("ok");
        assert_ne!(a, b);
        assert_ne!(a, a1);
        assert_eq!(a, e.source(0, Some(0)).expect("ok"));
        let f = e.trial_filter(3, 2);
        assert!(
            f.contains("host 127.100.0.4") && f.contains("host 127.101.0.4"),
            "{f}"
        );
    }
}
