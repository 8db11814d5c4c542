//! Leaving servers as the next trial expects them: the trial's client
//! state released, links restored, stopped servers started, and grace
//! periods over.

use super::env::{Env, EnvServer};
use super::trial::{Saved, TrialRun};
use crate::action::Action;
use crate::client::{ops, ClientOwner, ConnectOptions, Connection, Principal, Session};
use crate::scenario::Op;
use analyzer::nfs4::{Clientid4, NfsStat4};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Releases what the trial's clients still hold (best effort): every
/// session once, then every confirmed client ID once (several saved names
/// may hold one client ID, e.g. after trunking; a second DESTROY_CLIENTID
/// would only earn NFS4ERR_STALE_CLIENTID), each on a live connection that
/// used it. What the scenario's own steps destroyed (or tried to) is left
/// alone, and so are client IDs no session confirmed (a later EXCHANGE_ID
/// of the same owner may have replaced them; they expire with the lease).
pub fn cleanup(t: &mut TrialRun<'_>) {
    let mut done: BTreeSet<String> = BTreeSet::new();
    for step in t.sc.steps.iter().take(t.log.len()) {
        match step.op() {
            Some(Op::DestroySession(d)) => done.insert(d.session),
            Some(Op::DestroyClientid(d)) => done.insert(d.client),
            _ => false,
        };
    }
    let confirmed: Vec<Clientid4> = t
        .saved
        .values()
        .filter_map(|s| match s {
            Saved::Session { session, .. } => Some(session.clientid()),
            _ => None,
        })
        .collect();
    let mut sessions: Vec<(Vec<String>, Session)> = Vec::new();
    let mut clients: Vec<(Vec<String>, Clientid4, bool)> = Vec::new();
    for (name, s) in &t.saved {
        let destroyed = done.contains(name);
        match s {
            Saved::Session { conn, session, .. } if !destroyed => {
                match sessions.iter_mut().find(|(_, x)| x.id() == session.id()) {
                    Some((conns, _)) => conns.push(conn.clone()),
                    None => sessions.push((vec![conn.clone()], session.clone())),
                }
            }
            Saved::ExchangeId { conn, clientid, .. } if confirmed.contains(clientid) => {
                match clients.iter_mut().find(|(_, x, _)| x == clientid) {
                    Some((conns, _, gone)) => {
                        conns.push(conn.clone());
                        *gone |= destroyed;
                    }
                    None => clients.push((vec![conn.clone()], *clientid, destroyed)),
                }
            }
            _ => {}
        }
    }
    let live = |names: &[String]| {
        names
            .iter()
            .filter_map(|n| t.conns.get(n))
            .find(|c| c.conn.failure().is_none())
            .cloned()
    };
    for (names, session) in sessions {
        if let Some(c) = live(&names) {
            let _ = session.destroy_session(&c.conn);
        }
    }
    for (names, clientid, destroyed) in clients {
        if destroyed {
            continue;
        }
        if let Some(c) = live(&names) {
            let _ = crate::client::session::destroy_clientid(&c.conn, &c.principal, clientid);
        }
    }
}

/// After a trial that acted on servers: undo cuts and stops, and wait
/// until every server it touched has left its grace period.
pub fn settle(env: &Env, actions: &[(String, Action)]) {
    let mut touched: Vec<String> = Vec::new();
    for (server, action) in actions {
        if let Some(undo) = action.undo() {
            let _ = env.control.act(server, &undo);
        }
        if let Some(to) = action.peer() {
            touched.push(to.to_string());
        }
        touched.push(server.clone());
    }
    touched.sort();
    touched.dedup();
    for name in touched {
        if let Some(s) = env.servers.iter().find(|s| s.name == name) {
            let _ = server_out_of_grace(env, s);
        }
    }
}

/// At the start of a run: waits until every server of the target is out of
/// its grace period (a freshly started server answers non-reclaim OPENs
/// with NFS4ERR_GRACE, which would fail the first trials). One line per
/// server that was in grace, or that could not be asked, for the console.
/// An error when a server's export refuses what every scenario does
/// (create a file as AUTH_SYS uid 0): the target is set up wrong, and
/// running would only fail every trial for it.
pub fn out_of_grace_at_start(env: &Env) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for s in &env.servers {
        let started = Instant::now();
        match server_out_of_grace(env, s) {
            Ok(true) => lines.push(format!(
                "server {}: in its grace period at the start; waited {:.1} s",
                s.name,
                started.elapsed().as_secs_f64()
            )),
            Ok(false) => {}
            Err(GraceProbe::Refused(status)) => {
                return Err(export_refused(&s.name, &s.export, status))
            }
            Err(GraceProbe::Failed(e)) => lines.push(format!(
                "server {}: could not tell whether it is in its grace period ({e}); not waiting",
                s.name
            )),
        }
    }
    Ok(lines)
}

/// Why the grace probe could not tell.
#[derive(Debug)]
enum GraceProbe {
    /// The export refused the probe's OPEN with this status (not
    /// NFS4ERR_GRACE): a setup problem of the target.
    Refused(NfsStat4),
    /// No connection, session or reply.
    Failed(String),
}

impl From<String> for GraceProbe {
    fn from(e: String) -> Self {
        GraceProbe::Failed(e)
    }
}

/// Statuses with which an export refuses a new file for a reason of its
/// setup (permissions, squashing, read-only, security flavour, a missing
/// export path), not of the protocol.
const SETUP_REFUSALS: [NfsStat4; 7] = [
    NfsStat4::NFS4ERR_ACCESS,
    NfsStat4::NFS4ERR_PERM,
    NfsStat4::NFS4ERR_ROFS,
    NfsStat4::NFS4ERR_WRONGSEC,
    NfsStat4::NFS4ERR_NOENT,
    NfsStat4::NFS4ERR_NOSPC,
    NfsStat4::NFS4ERR_DQUOT,
];

/// The run's error for a server whose export refused the probe's new file.
fn export_refused(server: &str, export: &str, status: NfsStat4) -> String {
    let status = super::expect::status_name(status);
    format!(
        "server {server}: its export {export} refused a new file created as AUTH_SYS uid 0 \
         ({status}); every scenario creates files there, so every trial would fail for the \
         target's setup, not the server's conformance. Export it read-write to the client \
         addresses without root squashing (knfsd: rw,no_root_squash; Ganesha: Access_Type = RW; \
         Squash = No_Root_Squash), allow AUTH_SYS, and check the target's `export` path \
         (--no-grace-wait skips this check)"
    )
}

/// Waits (up to three grace periods, or 90 s when the grace is unknown)
/// until the server's first address takes a non-reclaim OPEN; true when it
/// had to wait.
fn server_out_of_grace(env: &Env, s: &EnvServer) -> Result<bool, GraceProbe> {
    let limit = s.grace.map_or(Duration::from_secs(90), |g| {
        (g * 3).max(Duration::from_secs(15))
    });
    match s.addresses.first() {
        Some(addr) => wait_out_of_grace(env, *addr, limit),
        None => Ok(false),
    }
}

/// Polls with a fresh client until a non-reclaim OPEN is no longer refused
/// with NFS4ERR_GRACE (or `limit` passes); true when one was. The file it
/// creates is removed.
fn wait_out_of_grace(
    env: &Env,
    addr: std::net::SocketAddr,
    limit: Duration,
) -> Result<bool, GraceProbe> {
    let deadline = Instant::now() + limit;
    let opts = ConnectOptions {
        from: env.source(62_499, None)?,
        netns: env.netns.clone(),
        reply_timeout: env.reply_timeout,
        ..ConnectOptions::default()
    };
    let principal = Principal::Sys {
        uid: 0,
        gid: 0,
        gids: vec![],
        machine: "trunkcheck-settle".into(),
    };
    let conn = loop {
        match Connection::connect(addr, &opts) {
            Ok(c) => break c,
            Err(e) if Instant::now() >= deadline => return Err(GraceProbe::Failed(e.to_string())),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    let session = Session::fresh(&conn, &principal, &ClientOwner::unique("settle"))?;
    let clientid = session.clientid();
    let _ = session.reclaim_complete(&conn, false);
    let name = format!("tc-settle-{}", std::process::id());
    let root: Vec<_> = env
        .servers
        .iter()
        .find(|s| s.addresses.contains(&addr))
        .map(|s| ops::root_path(&s.export))
        .unwrap_or_else(|| vec![ops::putrootfh()]);
    let mut waited = false;
    let result = loop {
        let mut list = root.clone();
        let owner = ops::state_owner(clientid, b"settle");
        list.push(ops::open_create(0, owner, &name));
        list.push(ops::getfh());
        let res = session
            .compound(&conn, list)
            .map_err(|e| GraceProbe::Failed(e.to_string()))?;
        match ops::opened(&res) {
            Some(o) => {
                let stateid = o.stateid.clone();
                let mut close = vec![];
                if let Some(fh) = ops::fh(&res) {
                    close.push(ops::putfh(&fh));
                }
                close.push(ops::close(0, stateid));
                let _ = session.compound(&conn, close);
                let mut remove = root.clone();
                remove.push(ops::remove(&name));
                let _ = session.compound(&conn, remove);
                break Ok(waited);
            }
            None if res.status == NfsStat4::NFS4ERR_GRACE && Instant::now() < deadline => {
                waited = true;
                std::thread::sleep(Duration::from_millis(500));
            }
            None if SETUP_REFUSALS.contains(&res.status) => {
                break Err(GraceProbe::Refused(res.status))
            }
            None => break Err(GraceProbe::Failed(format!("OPEN: {:?}", res.status))),
        }
    };
    let _ = session.destroy_session(&conn);
    let _ = crate::client::session::destroy_clientid(&conn, &principal, clientid);
    result
}
