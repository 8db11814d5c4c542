//! Leaving servers as the next trial expects them: the trial's client
//! state released, links restored, stopped servers started, and grace
//! periods over.

use super::env::Env;
use super::trial::{Saved, TrialRun};
use crate::action::Action;
use crate::client::{ops, ClientOwner, ConnectOptions, Connection, Principal, Session};
use analyzer::nfs4::NfsStat4;
use std::time::{Duration, Instant};

/// Releases what the trial's clients still hold (best effort): sessions,
/// then client IDs, each on the connection that made it.
pub fn cleanup(t: &mut TrialRun<'_>) {
    let mut sessions = Vec::new();
    let mut clients = Vec::new();
    for s in t.saved.values() {
        match s {
            Saved::Session { conn, session, .. } => sessions.push((conn.clone(), session.clone())),
            Saved::ExchangeId { conn, clientid, .. } => clients.push((conn.clone(), *clientid)),
            _ => {}
        }
    }
    for (name, session) in sessions {
        if let Some(c) = t.conns.get(&name).filter(|c| c.conn.failure().is_none()) {
            let _ = session.destroy_session(&c.conn);
        }
    }
    for (name, clientid) in clients {
        if let Some(c) = t.conns.get(&name).filter(|c| c.conn.failure().is_none()) {
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
            let limit = s.grace.map_or(Duration::from_secs(90), |g| {
                (g * 3).max(Duration::from_secs(15))
            });
            if let Some(addr) = s.addresses.first() {
                let _ = wait_out_of_grace(env, *addr, limit);
            }
        }
    }
}

/// Polls with a fresh client until a non-reclaim OPEN is no longer refused
/// with NFS4ERR_GRACE (or `limit` passes).
fn wait_out_of_grace(env: &Env, addr: std::net::SocketAddr, limit: Duration) -> Result<(), String> {
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
            Err(e) if Instant::now() >= deadline => return Err(e.to_string()),
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
    let result = loop {
        let mut list = root.clone();
        let owner = ops::state_owner(clientid, b"settle");
        list.push(ops::open_create(0, owner, &name));
        list.push(ops::getfh());
        let res = session.compound(&conn, list).map_err(|e| e.to_string())?;
        match ops::opened(&res) {
            Some(o) => {
                let stateid = o.stateid.clone();
                let mut close = vec![];
                if let Some(fh) = ops::fh(&res) {
                    close.push(ops::putfh(&fh));
                }
                close.push(ops::close(0, stateid));
                let _ = session.compound(&conn, close);
                break Ok(());
            }
            None if res.status == NfsStat4::NFS4ERR_GRACE && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500));
            }
            None => break Err(format!("OPEN: {:?}", res.status)),
        }
    };
    let _ = session.destroy_session(&conn);
    let _ = crate::client::session::destroy_clientid(&conn, &principal, clientid);
    result
}
