//! What a run works against: the servers, how to reach and control them,
//! and which client addresses each trial may use.

use crate::action::{Action, Unsupported};
use crate::lab::LabError;
use crate::netns::NetNs;
use crate::scenario::{Role, RoleRelation, Scenario, Step};
use crate::targets::Referral;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex};
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
    /// The interfaces a trial's capture listens on for this server.
    pub capture: Vec<String>,
    /// Its referrals: absent file systems in its export whose fs_locations
    /// name another server of the target.
    pub referrals: Vec<Referral>,
}

/// Client source addresses each trial of a private lab gets.
pub const ADDRESSES_PER_TRIAL: usize = 4;
/// The trial number whose addresses the harness's own probes use (grace
/// waits between trials), never a real trial's.
pub const PROBE_TRIAL: usize = 62_499;

/// How trials get client source addresses: every running trial has its
/// own, so that its capture holds its own traffic and nothing else.
#[derive(Debug, Clone)]
pub enum Sources {
    /// A private namespace the harness made: trial `k` binds
    /// `FIRST.(100+n).(k/250).(k%250+1)` for its `n`th address (`FIRST` is
    /// 127 in the Ganesha lab, 10 in the knfsd lab).
    PerTrial {
        /// The first octet of every client address.
        first_octet: u8,
    },
    /// The target's client addresses, lent to running trials so that no
    /// two of them share one (`from: n` → the trial's `n`th; no `from`:
    /// its first). With none, trials cannot be told apart and run one at a
    /// time, from addresses the system picks.
    Lent(Arc<AddressPool>),
}

/// The client addresses of an external target, and which running trial
/// holds which.
#[derive(Debug)]
pub struct AddressPool {
    all: Vec<IpAddr>,
    held: Mutex<BTreeMap<usize, Vec<IpAddr>>>,
    freed: Condvar,
}

/// The addresses a running trial holds; they go back to the pool when it
/// is dropped.
#[derive(Debug)]
pub struct Lease {
    pool: Arc<AddressPool>,
    trial: usize,
}

impl AddressPool {
    /// A pool of `addresses` (in the target's order).
    pub fn new(addresses: Vec<IpAddr>) -> Arc<AddressPool> {
        Arc::new(AddressPool {
            all: addresses,
            held: Mutex::new(BTreeMap::new()),
            freed: Condvar::new(),
        })
    }

    /// Every address of the pool.
    pub fn all(&self) -> &[IpAddr] {
        &self.all
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Vec<IpAddr>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The addresses trial `trial` holds.
    fn of(&self, trial: usize) -> Option<Vec<IpAddr>> {
        self.held().get(&trial).cloned()
    }

    /// Lends `width` addresses that no running trial holds to `trial`,
    /// waiting until enough are free.
    pub fn lend(self: &Arc<Self>, trial: usize, width: usize) -> Result<Lease, String> {
        let width = width.max(1);
        if width > self.all.len() {
            return Err(format!(
                "the scenario needs {width} client addresses at once and the target lists {}",
                self.all.len()
            ));
        }
        let mut held = self.held();
        loop {
            let busy: BTreeSet<IpAddr> = held.values().flatten().copied().collect();
            let free: Vec<IpAddr> = self
                .all
                .iter()
                .filter(|a| !busy.contains(a))
                .copied()
                .take(width)
                .collect();
            if free.len() == width {
                held.insert(trial, free);
                return Ok(Lease {
                    pool: Arc::clone(self),
                    trial,
                });
            }
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Lease {
    /// The lent addresses, in order.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.pool.of(self.trial).unwrap_or_default()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.pool.held().remove(&self.trial);
        self.pool.freed.notify_all();
    }
}

/// How many client addresses a scenario binds at once: one more than the
/// highest `from:` of its connections (at least one).
pub fn addresses_needed(sc: &Scenario) -> usize {
    sc.steps
        .iter()
        .filter_map(|s| match s {
            Step::Connect(c) => c.from,
            _ => None,
        })
        .max()
        .map_or(1, |m| m + 1)
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
    /// Said after "the target has no servers for these roles" (what the
    /// target's kind of server cannot be, e.g. a knfsd cluster peer).
    pub role_note: Option<String>,
    /// The run's Kerberos realm, or why there is none.
    pub realm: Realm,
}

/// The run's Kerberos realm as trials see it.
#[derive(Clone)]
pub enum Realm {
    /// The lab's realm: servers' principals and client credentials.
    Ready(Arc<crate::lab::LabRealm>),
    /// No realm, and why (scenarios with krb5 principals are skipped).
    Missing(String),
}

impl Default for Realm {
    fn default() -> Self {
        Realm::Missing("the target has no Kerberos realm".into())
    }
}

impl Env {
    /// An environment with no servers, for listing scenarios.
    pub fn listing() -> Env {
        Env {
            servers: Vec::new(),
            netns: None,
            control: Arc::new(NoControl),
            sources: Sources::Lent(AddressPool::new(Vec::new())),
            reply_timeout: Duration::from_secs(1),
            role_note: None,
            realm: Realm::default(),
        }
    }

    /// The source address a trial uses for `from: n` (`None`: the system's
    /// choice).
    pub fn source(&self, trial: usize, n: Option<usize>) -> Result<Option<IpAddr>, String> {
        match &self.sources {
            Sources::PerTrial { first_octet } => {
                let n = n.unwrap_or(0);
                if n >= 100 {
                    return Err(format!("client address {n} is out of range"));
                }
                let k = trial % (PROBE_TRIAL + 1);
                Ok(Some(IpAddr::V4(Ipv4Addr::new(
                    *first_octet,
                    100 + n as u8,
                    (k / 250) as u8,
                    (k % 250 + 1) as u8,
                ))))
            }
            Sources::Lent(pool) => match (pool.of(trial), n) {
                (Some(held), n) => {
                    let i = n.unwrap_or(0);
                    held.get(i).copied().map(Some).ok_or_else(|| {
                        format!(
                            "`from: {i}`: the trial holds {} client address(es)",
                            held.len()
                        )
                    })
                }
                (None, None) => Ok(None),
                (None, Some(i)) => pool.all.get(i).copied().map(Some).ok_or_else(|| {
                    format!(
                        "the target lists {} client address(es); `from: {i}` needs more",
                        pool.all.len()
                    )
                }),
            },
        }
    }

    /// True when trials cannot be told apart by their client addresses
    /// (the target lists none): they must run one at a time.
    pub fn serial(&self) -> bool {
        matches!(&self.sources, Sources::Lent(pool) if pool.all.is_empty())
    }

    /// Gives trial `trial` the `width` client addresses it binds, waiting
    /// until no other running trial holds them (targets that lend their
    /// client addresses; `None` for private labs and serial targets).
    pub fn hold_sources(&self, trial: usize, width: usize) -> Result<Option<Lease>, String> {
        match &self.sources {
            Sources::Lent(pool) if !pool.all.is_empty() => pool.lend(trial, width).map(Some),
            _ => Ok(None),
        }
    }

    /// A BPF filter that selects one trial's traffic: its own client
    /// addresses (and, on a shared network, the servers' addresses); with
    /// trials that cannot be told apart, all traffic to the servers.
    pub fn trial_filter(&self, trial: usize) -> String {
        let hosts = |ips: Vec<IpAddr>| {
            let list: Vec<String> = ips.iter().map(|a| format!("host {a}")).collect();
            format!("({})", list.join(" or "))
        };
        let servers = hosts(
            self.servers
                .iter()
                .flat_map(|s| s.addresses.iter().map(|a| a.ip()))
                .collect(),
        );
        match &self.sources {
            Sources::PerTrial { .. } => format!(
                "tcp and {}",
                hosts(
                    (0..ADDRESSES_PER_TRIAL)
                        .filter_map(|n| self.source(trial, Some(n)).ok().flatten())
                        .collect(),
                )
            ),
            Sources::Lent(pool) => match pool.of(trial) {
                Some(own) if !own.is_empty() => format!("tcp and {} and {servers}", hosts(own)),
                _ => format!("tcp and {servers}"),
            },
        }
    }

    /// The interfaces a trial's capture listens on: those of every server
    /// it uses (each at most once).
    pub fn capture_interfaces(&self, servers: &[usize]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for &i in servers {
            for c in self
                .servers
                .get(i)
                .map(|s| s.capture.as_slice())
                .unwrap_or(&[])
            {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        if out.is_empty() {
            out.push("any".into());
        }
        out
    }

    /// The referral point in server `from`'s export whose fs_locations lead
    /// to server `to` (its path below the export); `Err` says there is none.
    pub fn referral_point(&self, from: usize, to: usize) -> Result<&str, String> {
        let (Some(here), Some(there)) = (self.servers.get(from), self.servers.get(to)) else {
            return Err("no such server".into());
        };
        here.referrals
            .iter()
            .find(|r| r.to == there.name)
            .map(|r| r.path.as_str())
            .ok_or_else(|| format!("server {} has no referral to {}", here.name, there.name))
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
            RoleRelation::ReferralTarget => self.servers[j]
                .referrals
                .iter()
                .any(|r| r.to == self.servers[i].name),
        }
    }

    fn why_not(&self, order: &[(&String, &Role)]) -> String {
        let wants_referral = order
            .iter()
            .any(|(_, r)| r.relation == Some(RoleRelation::ReferralTarget));
        if wants_referral && self.servers.iter().all(|s| s.referrals.is_empty()) {
            return "needs a referral (a directory of one server's export whose fs_locations \
                    name another server of the target): no server of this target has one \
                    (the built-in knfsd target has; an external target declares its servers' \
                    `referrals:`)"
                .into();
        }
        let wants: Vec<String> = order
            .iter()
            .map(|(n, r)| {
                let mut w = format!("{n}: {} address(es)", r.addresses);
                if let (Some(rel), Some(of)) = (r.relation, &r.of) {
                    w.push_str(&match rel {
                        RoleRelation::SameScope => format!(", same scope as {of}"),
                        RoleRelation::OtherScope => format!(", another scope than {of}"),
                        RoleRelation::Other => format!(", another server than {of}"),
                        RoleRelation::ReferralTarget => {
                            format!(", the server a referral of {of} leads to")
                        }
                    });
                }
                w
            })
            .collect();
        let mut why = format!(
            "the target has no servers for these roles ({}); it has {}",
            wants.join("; "),
            self.servers
                .iter()
                .map(|s| format!("{} ({} address(es))", s.name, s.addresses.len()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(note) = &self.role_note {
            why.push_str(&format!(" ({note})"));
        }
        why
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
            capture: vec!["lo".into()],
            referrals: Vec::new(),
        }
    }

    fn env(servers: Vec<EnvServer>) -> Env {
        Env {
            servers,
            sources: Sources::PerTrial { first_octet: 127 },
            ..Env::listing()
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
    fn a_referral_target_is_the_server_another_role_refers_to() {
        let mut c = server("c", 1, None);
        c.referrals = vec![Referral {
            path: "ref-a".into(),
            to: "a".into(),
        }];
        let e = env(vec![server("a", 2, None), server("b", 2, None), c]);
        let roles = BTreeMap::from([
            ("c".to_string(), role(1, None, None)),
            (
                "a".to_string(),
                role(2, Some(RoleRelation::ReferralTarget), Some("c")),
            ),
        ]);
        let got = e.assign(&roles).expect("fits");
        assert_eq!((got["c"], got["a"]), (2, 0));
        assert_eq!(e.referral_point(2, 0), Ok("ref-a"));
        let none = e.referral_point(0, 2).expect_err("a has none");
        assert!(none.contains("server a has no referral to c"), "{none}");
        let plain = env(vec![server("a", 2, None), server("c", 1, None)]);
        let why = plain.assign(&roles).expect_err("no referral");
        assert!(
            why.starts_with("needs a referral") && why.contains("no server of this target has one"),
            "{why}"
        );
        // Referrals, but none to a server with two addresses.
        let mut e = e;
        e.servers[0].addresses.truncate(1);
        let why = e.assign(&roles).expect_err("a has one address");
        assert!(
            why.contains("a: 2 address(es), the server a referral of c leads to"),
            "{why}"
        );
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
        let f = e.trial_filter(3);
        assert!(
            f.contains("host 127.100.0.4") && f.contains("host 127.101.0.4"),
            "{f}"
        );
    }

    #[test]
    fn running_trials_never_share_a_lent_client_address() {
        let pool = AddressPool::new(vec![
            IpAddr::from([127, 0, 0, 101]),
            IpAddr::from([127, 0, 0, 102]),
            IpAddr::from([127, 0, 0, 103]),
        ]);
        let e = Env {
            sources: Sources::Lent(Arc::clone(&pool)),
            ..env(vec![server("a", 1, None)])
        };
        assert!(!e.serial());
        let l1 = e.hold_sources(1, 2).expect("fits").expect("lent");
        let l2 = e.hold_sources(2, 1).expect("fits").expect("lent");
        let (a1, a2) = (l1.addresses(), l2.addresses());
        assert_eq!((a1.len(), a2.len()), (2, 1));
        assert!(a1.iter().all(|a| !a2.contains(a)));
        // `from: n` is the trial's own n-th address; no `from` its first.
        assert_eq!(e.source(1, Some(1)).expect("ok"), Some(a1[1]));
        assert_eq!(e.source(2, None).expect("ok"), Some(a2[0]));
        let f = e.trial_filter(2);
        assert!(f.contains(&format!("host {}", a2[0])) && f.contains("host 127.0.0.2"));
        assert!(!f.contains(&format!("host {}", a1[0])), "{f}");
        // A third trial waits until an address is free again.
        let waiter = {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || pool.lend(3, 2).map(|l| l.addresses()))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished());
        drop(l1);
        let got = waiter.join().expect("thread").expect("lent");
        assert_eq!(got.len(), 2);
        assert!(e.hold_sources(4, 4).is_err(), "more than the target has");
        drop(l2);
        // No client addresses: trials run one at a time.
        let none = Env {
            sources: Sources::Lent(AddressPool::new(Vec::new())),
            ..env(vec![server("a", 1, None)])
        };
        assert!(none.serial() && none.hold_sources(1, 1).expect("ok").is_none());
        assert_eq!(none.trial_filter(1), "tcp and (host 127.0.0.2)");
    }
}
