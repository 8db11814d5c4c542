//! The state of one running trial: its connections, client owners, saved
//! replies (client IDs, sessions, opens, locks), NFSv4.0 seqids, the leases
//! it read and the log of its steps. Everything in `run/` that acts in a
//! trial reads and changes it through this module.

use super::env::Env;
use super::env::Realm;
use super::failure::Failure;
use crate::client::ops::Range;
use crate::client::{CallbackListener, ClientOwner, Connection, Principal, Session};
use crate::gss::GssContext;
use crate::lab::ClientKind;
use crate::scenario::GssServiceName;
use crate::scenario::Scenario;
use analyzer::nfs4::{Clientid4, Stateid4, Verifier4};
use analyzer::rpc::RpcGssService;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What a saved name holds.
pub(crate) enum Saved {
    /// Any reply (its result fields).
    Reply(Value),
    /// An EXCHANGE_ID result and the CREATE_SESSION sequence bookkeeping.
    ExchangeId {
        json: Value,
        /// The connection it was sent on (for the cleanup).
        conn: String,
        clientid: Clientid4,
        /// csa_sequence the next CREATE_SESSION uses.
        next_seq: u32,
    },
    /// A session (and the connection that created it).
    Session {
        json: Value,
        conn: String,
        session: Session,
    },
    /// A SETCLIENTID result.
    Setclientid {
        json: Value,
        clientid: Clientid4,
        confirm: Verifier4,
    },
    /// An open file.
    Open(OpenState),
    /// A lock.
    Lock(LockState),
}

impl Saved {
    /// The reply fields, for checks and expectations.
    pub(crate) fn json(&self) -> &Value {
        match self {
            Saved::Reply(j)
            | Saved::ExchangeId { json: j, .. }
            | Saved::Session { json: j, .. }
            | Saved::Setclientid { json: j, .. } => j,
            Saved::Open(o) => &o.json,
            Saved::Lock(l) => &l.json,
        }
    }
}

/// A connection the scenario opened.
#[derive(Clone)]
pub(crate) struct Conn {
    pub name: String,
    pub conn: Connection,
    pub role: String,
    pub principal: Principal,
    /// The scenario's name of the connection's principal (None: root).
    pub principal_name: Option<String>,
}

/// One step's record, for failure reports and frame lookup.
#[derive(Debug, Clone)]
pub struct StepLog {
    /// 1-based step number.
    pub step: usize,
    /// What the step did, in one line.
    pub what: String,
    /// When it started and ended (wall clock).
    pub start: std::time::SystemTime,
    /// Duration.
    pub took: Duration,
}

/// The state of one running scenario.
pub struct TrialRun<'a> {
    pub(crate) env: &'a Env,
    pub(crate) sc: &'a Scenario,
    /// The trial's number (its client source addresses).
    pub(crate) index: usize,
    pub(crate) minor: u32,
    pub(crate) roles: BTreeMap<String, usize>,
    pub(crate) conns: BTreeMap<String, Conn>,
    pub(crate) last_conn: Option<String>,
    pub(crate) saved: BTreeMap<String, Saved>,
    owners: BTreeMap<String, ClientOwner>,
    pub(crate) listener: Option<CallbackListener>,
    /// NFSv4.0 seqids per state owner name.
    pub(crate) seqids: BTreeMap<String, u32>,
    /// RPCSEC_GSS contexts by (principal name, server name); a server
    /// action forgets them all (a restarted server knows none).
    pub(crate) gss: BTreeMap<(String, String), Arc<GssContext>>,
    pub(crate) leases: BTreeMap<String, Duration>,
    /// When each role's server came back from the last action on it.
    pub(crate) acted: BTreeMap<String, std::time::Instant>,
    /// What each step did.
    pub log: Vec<StepLog>,
    /// Expectations of warning strength that did not hold (the trial went on).
    pub warnings: Vec<Failure>,
    /// Information: expectations of no requirement that did not hold, and
    /// what the trial measured.
    pub notes: Vec<String>,
}

/// An open file held by the trial.
#[derive(Debug, Clone)]
pub struct OpenState {
    /// The OPEN result fields.
    pub json: Value,
    /// The open stateid (updated by OPEN_CONFIRM).
    pub stateid: Stateid4,
    /// The file handle.
    pub fh: Vec<u8>,
    /// The open owner's name.
    pub owner: String,
    /// The client ID owning it.
    pub clientid: Clientid4,
}

/// A lock held by the trial.
#[derive(Debug, Clone)]
pub struct LockState {
    /// The LOCK result fields.
    pub json: Value,
    /// The lock stateid.
    pub stateid: Stateid4,
    /// The range and type.
    pub range: Range,
    /// The lock owner's name.
    pub owner: String,
    /// The client ID holding it.
    pub clientid: Clientid4,
}

impl<'a> TrialRun<'a> {
    /// A trial of `sc` with roles already assigned to servers.
    pub fn new(
        env: &'a Env,
        sc: &'a Scenario,
        index: usize,
        roles: BTreeMap<String, usize>,
    ) -> Self {
        TrialRun {
            env,
            sc,
            index,
            minor: sc.requires.minor.unwrap_or(1),
            roles,
            conns: BTreeMap::new(),
            last_conn: None,
            saved: BTreeMap::new(),
            owners: BTreeMap::new(),
            listener: None,
            seqids: BTreeMap::new(),
            gss: BTreeMap::new(),
            leases: BTreeMap::new(),
            acted: BTreeMap::new(),
            log: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The name of the server playing `role`.
    pub(crate) fn server_name(&self, n: usize, role: &str) -> Result<String, Failure> {
        self.roles
            .get(role)
            .and_then(|&i| self.env.servers.get(i))
            .map(|s| s.name.clone())
            .ok_or_else(|| Failure::at(n, "role", format!("role {role} has no server")))
    }

    /// The principal named (`root` and the scenario's own) for calls on
    /// `conn` to the server playing `role`: a Kerberos principal's context
    /// with that server is created over `conn` on first use.
    pub(crate) fn principal(
        &mut self,
        n: usize,
        name: Option<&str>,
        conn: &Connection,
        role: &str,
    ) -> Result<Principal, Failure> {
        if let Some(p) = name {
            let krb5 = match self.sc.principals.get(p) {
                Some(spec) => spec.krb5().map_err(|e| Failure::at(n, "principal", e))?,
                None => None,
            };
            if let Some(k) = krb5 {
                return self.gss_principal(n, p, &k, conn, role);
            }
        }
        self.plain_principal(n, name)
    }

    /// A Kerberos principal's context with `role`'s server (reused, or
    /// created over `conn`), with the principal's service.
    fn gss_principal(
        &mut self,
        n: usize,
        name: &str,
        k: &crate::scenario::Krb5Principal,
        conn: &Connection,
        role: &str,
    ) -> Result<Principal, Failure> {
        let what = format!("RPCSEC_GSS context of {name}");
        let realm = match &self.env.realm {
            Realm::Ready(r) => Arc::clone(r),
            Realm::Missing(why) => return Err(Failure::at(n, &what, why.clone())),
        };
        let i = *self
            .roles
            .get(role)
            .ok_or_else(|| Failure::at(n, &what, format!("role {role} has no server")))?;
        let server = self.server_name(n, role)?;
        let service = match k.service {
            GssServiceName::None => RpcGssService::rpc_gss_svc_none,
            GssServiceName::Integrity => RpcGssService::rpc_gss_svc_integrity,
            GssServiceName::Privacy => RpcGssService::rpc_gss_svc_privacy,
        };
        let key = (name.to_string(), server.clone());
        let ctx = match self.gss.get(&key) {
            Some(c) => Arc::clone(c),
            None => {
                let kind = if k.machine {
                    ClientKind::Machine
                } else {
                    ClientKind::User
                };
                let cred = realm
                    .cred(kind, &k.name)
                    .map_err(|e| Failure::at(n, &what, e))?;
                let target = realm
                    .target_name(i)
                    .map_err(|e| Failure::at(n, &what, e.to_string()))?;
                let ctx = conn
                    .gss_context(&cred, &target, service)
                    .map_err(|e| Failure::at(n, &what, format!("server {server}: {e}")))?;
                self.gss.insert(key, Arc::clone(&ctx));
                ctx
            }
        };
        Ok(Principal::gss(ctx).with_service(service))
    }

    /// An AUTH_SYS or AUTH_NONE principal (`root` and the scenario's own).
    pub(crate) fn plain_principal(
        &self,
        n: usize,
        name: Option<&str>,
    ) -> Result<Principal, Failure> {
        let root = || Principal::Sys {
            uid: 0,
            gid: 0,
            gids: vec![],
            machine: "trunkcheck".into(),
        };
        match name {
            None | Some("root") => Ok(root()),
            Some(p) => {
                let spec = self
                    .sc
                    .principals
                    .get(p)
                    .ok_or_else(|| Failure::at(n, "principal", format!("no principal {p}")))?;
                Ok(if spec.none {
                    Principal::None
                } else {
                    Principal::Sys {
                        uid: spec.uid,
                        gid: spec.gid,
                        gids: spec.gids.clone(),
                        machine: spec.machine.clone().unwrap_or_else(|| "trunkcheck".into()),
                    }
                })
            }
        }
    }

    /// The connection named, or the last one opened.
    pub(crate) fn conn(&self, n: usize, on: &Option<String>) -> Result<Conn, Failure> {
        let name = on.as_ref().or(self.last_conn.as_ref());
        name.and_then(|c| self.conns.get(c))
            .cloned()
            .ok_or_else(|| Failure::at(n, "connection", "no such connection (closed?)"))
    }

    /// The client owner named in this trial (fresh per trial), at the
    /// incarnation named by `verifier` (`v1` by default).
    pub(crate) fn owner(&mut self, name: &str, verifier: Option<&str>) -> ClientOwner {
        let label = format!("{}-{name}", self.sc.id);
        let base = self
            .owners
            .entry(name.to_string())
            .or_insert_with(|| ClientOwner::unique(&label))
            .clone();
        match verifier {
            None | Some("v1") => base,
            Some(v) => {
                let mut h: u64 = u64::from_be_bytes(base.verifier);
                for b in v.bytes() {
                    h = h.rotate_left(7) ^ u64::from(b).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                }
                ClientOwner {
                    owner: base.owner,
                    verifier: h.to_be_bytes(),
                }
            }
        }
    }

    /// The saved session named.
    pub(crate) fn session(&self, n: usize, name: &str) -> Result<Session, Failure> {
        match self.saved.get(name) {
            Some(Saved::Session { session, .. }) => Ok(session.clone()),
            _ => Err(Failure::unmet(
                n,
                "session",
                format!("{name} holds no session (did create_session fail?)"),
            )),
        }
    }

    /// The saved session named, when one is.
    pub(crate) fn opt_session(
        &self,
        n: usize,
        name: &Option<String>,
    ) -> Result<Option<Session>, Failure> {
        name.as_ref().map(|s| self.session(n, s)).transpose()
    }

    /// The client ID of a saved EXCHANGE_ID and the csa_sequence its next
    /// CREATE_SESSION uses.
    pub(crate) fn exchange(&self, n: usize, name: &str) -> Result<(Clientid4, u32), Failure> {
        match self.saved.get(name) {
            Some(Saved::ExchangeId {
                clientid, next_seq, ..
            }) => Ok((*clientid, *next_seq)),
            _ => Err(Failure::unmet(
                n,
                "client",
                format!("{name} holds no client ID (did exchange_id fail?)"),
            )),
        }
    }

    /// The client ID and confirm verifier of a saved SETCLIENTID.
    pub(crate) fn setclientid(
        &self,
        n: usize,
        name: &str,
    ) -> Result<(Clientid4, Verifier4), Failure> {
        match self.saved.get(name) {
            Some(Saved::Setclientid {
                clientid, confirm, ..
            }) => Ok((*clientid, *confirm)),
            _ => Err(Failure::unmet(
                n,
                "client",
                format!("{name} holds no client ID (did setclientid fail?)"),
            )),
        }
    }

    /// The saved open named.
    pub(crate) fn open_state(&self, n: usize, name: &str) -> Result<OpenState, Failure> {
        match self.saved.get(name) {
            Some(Saved::Open(o)) => Ok(o.clone()),
            _ => Err(Failure::unmet(
                n,
                "open",
                format!("{name} holds no open file (did open fail?)"),
            )),
        }
    }

    /// The saved lock named.
    pub(crate) fn lock_state(&self, n: usize, name: &str) -> Result<LockState, Failure> {
        match self.saved.get(name) {
            Some(Saved::Lock(l)) => Ok(l.clone()),
            _ => Err(Failure::unmet(
                n,
                "lock",
                format!("{name} holds no lock (did lock fail?)"),
            )),
        }
    }

    /// The NFSv4.0 seqid of a state owner (0 for v4.1, where it is ignored).
    pub(crate) fn seqid(&self, owner: &str) -> u32 {
        if self.minor == 0 {
            self.seqids.get(owner).copied().unwrap_or(0)
        } else {
            0
        }
    }
}
