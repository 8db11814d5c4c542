//! What a reply leaves behind in the trial: the saved reply (client ID,
//! session, open, lock), the CREATE_SESSION sequence and slot bookkeeping,
//! new stateids and NFSv4.0 seqids.

use super::failure::Failure;
use super::plan::{range, seq_choice};
use super::trial::{Conn, LockState, OpenState, Saved, TrialRun};
use crate::client::ops;
use crate::client::{Principal, Session};
use crate::scenario::{CreateSessionStep, LockStep, Op, OpenStep};
use analyzer::nfs4::{Clientid4, Compound4Res, NfsOpnum4, NfsResOp, NfsStat4, Setclientid4Res};
use serde_json::Value;

/// NFSv4.0 (RFC 7530 §9.1.7): the seqid advances unless the error says the
/// request was not even attributed to the owner.
fn seqid_advances(status: NfsStat4) -> bool {
    !matches!(
        status,
        NfsStat4::NFS4ERR_STALE_CLIENTID
            | NfsStat4::NFS4ERR_STALE_STATEID
            | NfsStat4::NFS4ERR_BAD_STATEID
            | NfsStat4::NFS4ERR_BAD_SEQID
            | NfsStat4::NFS4ERR_BADXDR
            | NfsStat4::NFS4ERR_RESOURCE
            | NfsStat4::NFS4ERR_NOFILEHANDLE
            | NfsStat4::NFS4ERR_MOVED
    )
}

fn bump(t: &mut TrialRun<'_>, owner: &str, status: NfsStat4, sent: bool) {
    if t.minor == 0 && sent && seqid_advances(status) {
        let e = t.seqids.entry(owner.to_string()).or_insert(0);
        *e = e.wrapping_add(1);
    }
}

/// A step's reply as the bookkeeping reads it.
pub struct Reply<'r> {
    /// The whole COMPOUND reply.
    pub res: &'r Compound4Res<'static>,
    /// The status of the step's own operation.
    pub status: NfsStat4,
    /// Its result fields (what is saved).
    pub json: Value,
}

/// Bookkeeping after a reply: what is saved, sessions, stateids, seqids.
pub fn after(
    t: &mut TrialRun<'_>,
    n: usize,
    op: &Op,
    conn: &Conn,
    principal: &Principal,
    reply: Reply<'_>,
    save: Option<&str>,
) -> Result<(), Failure> {
    let (res, status) = (reply.res, reply.status);
    let saved = match op {
        Op::ExchangeId(_) => match ops::find(res, NfsOpnum4::OP_EXCHANGE_ID) {
            Some(NfsResOp::ExchangeId(analyzer::nfs4::NfsRes::Ok(ok))) => Saved::ExchangeId {
                json: reply.json,
                conn: conn.name.clone(),
                clientid: ok.eir_clientid,
                next_seq: ok.eir_sequenceid,
            },
            _ => Saved::Reply(reply.json),
        },
        Op::CreateSession(a) => session_created(t, n, a, conn, principal, reply)?,
        Op::Setclientid(_) => match ops::find(res, NfsOpnum4::OP_SETCLIENTID) {
            Some(NfsResOp::Setclientid(Setclientid4Res::Ok(ok))) => Saved::Setclientid {
                json: reply.json,
                clientid: ok.clientid,
                confirm: ok.setclientid_confirm,
            },
            _ => Saved::Reply(reply.json),
        },
        Op::Open(a) => opened(t, n, a, reply)?,
        Op::OpenConfirm(a) => {
            let o = t.open_state(n, &a.open)?;
            bump(
                t,
                &o.owner,
                status,
                ops::find(res, NfsOpnum4::OP_OPEN_CONFIRM).is_some(),
            );
            if let (Some(st), Some(Saved::Open(open))) =
                (ops::confirmed(res), t.saved.get_mut(&a.open))
            {
                open.stateid = st;
            }
            Saved::Reply(reply.json)
        }
        Op::Lock(a) => locked(t, n, a, reply)?,
        Op::Locku(a) => {
            let l = t.lock_state(n, &a.lock)?;
            bump(
                t,
                &l.owner,
                status,
                ops::find(res, NfsOpnum4::OP_LOCKU).is_some(),
            );
            if let (Some(st), Some(Saved::Lock(lock))) =
                (ops::unlocked(res), t.saved.get_mut(&a.lock))
            {
                lock.stateid = st;
            }
            Saved::Reply(reply.json)
        }
        Op::Close(a) => {
            let o = t.open_state(n, &a.open)?;
            bump(
                t,
                &o.owner,
                status,
                ops::find(res, NfsOpnum4::OP_CLOSE).is_some(),
            );
            Saved::Reply(reply.json)
        }
        _ => Saved::Reply(reply.json),
    };
    if let Some(name) = save {
        t.saved.insert(name.to_string(), saved);
    }
    Ok(())
}

/// After CREATE_SESSION: the client ID's slot moves on past the sequence
/// used; a new session is saved with the connection that made it.
fn session_created(
    t: &mut TrialRun<'_>,
    n: usize,
    a: &CreateSessionStep,
    conn: &Conn,
    principal: &Principal,
    reply: Reply<'_>,
) -> Result<Saved, Failure> {
    let Reply { res, status, json } = reply;
    let used = match ops::find(res, NfsOpnum4::OP_CREATE_SESSION) {
        Some(_) => seq_choice(&a.sequence, t.exchange(n, &a.client)?.1),
        None => t.exchange(n, &a.client)?.1.wrapping_sub(1),
    };
    // The client ID's one-slot table moves on past what was used
    // (a replay or a misordered request leaves it).
    if !matches!(status, NfsStat4::NFS4ERR_SEQ_MISORDERED) {
        if let Some(Saved::ExchangeId { next_seq, .. }) = t.saved.get_mut(&a.client) {
            if used == *next_seq {
                *next_seq = used.wrapping_add(1);
            }
        }
    }
    Ok(match ops::find(res, NfsOpnum4::OP_CREATE_SESSION) {
        Some(NfsResOp::CreateSession(analyzer::nfs4::NfsRes::Ok(ok))) => {
            let (clientid, _) = t.exchange(n, &a.client)?;
            let minor = t.minor;
            Saved::Session {
                json,
                conn: conn.name.clone(),
                session: Session::from_result(clientid, ok.clone(), principal.clone(), minor),
            }
        }
        _ => Saved::Reply(json),
    })
}

/// After OPEN: the open owner's seqid; an open file is saved with its
/// stateid, file handle and client ID.
fn opened(
    t: &mut TrialRun<'_>,
    n: usize,
    a: &OpenStep,
    reply: Reply<'_>,
) -> Result<Saved, Failure> {
    let Reply { res, status, json } = reply;
    let owner = a.owner.clone().unwrap_or_else(|| "oo1".into());
    bump(
        t,
        &owner,
        status,
        ops::find(res, NfsOpnum4::OP_OPEN).is_some(),
    );
    let opened = ops::opened(res).map(|o| o.stateid.clone());
    let fh = ops::fh(res);
    let clientid = match (&a.session, &a.client) {
        (Some(s), _) => t.session(n, s)?.clientid(),
        (None, Some(c)) => t.setclientid(n, c)?.0,
        _ => Clientid4(0),
    };
    Ok(match (opened, fh) {
        (Some(stateid), Some(fh)) => Saved::Open(OpenState {
            json,
            stateid,
            fh,
            owner,
            clientid,
        }),
        _ => Saved::Reply(json),
    })
}

/// After LOCK: the open owner's and lock owner's seqids; a lock is saved
/// with its stateid and range.
fn locked(
    t: &mut TrialRun<'_>,
    n: usize,
    a: &LockStep,
    reply: Reply<'_>,
) -> Result<Saved, Failure> {
    let Reply { res, status, json } = reply;
    let o = t.open_state(n, &a.open)?;
    let lock_owner = format!("lo-{}", o.owner);
    let existing = t
        .saved
        .values()
        .any(|v| matches!(v, Saved::Lock(l) if l.owner == lock_owner));
    let sent = ops::find(res, NfsOpnum4::OP_LOCK).is_some();
    if existing {
        bump(t, &lock_owner, status, sent);
    } else {
        bump(t, &o.owner, status, sent);
        if status == NfsStat4::NFS4_OK {
            bump(t, &lock_owner, status, sent);
        }
    }
    Ok(match ops::locked(res) {
        Some(stateid) => Saved::Lock(LockState {
            json,
            stateid,
            range: range(&a.kind, a.offset, a.length),
            owner: lock_owner,
            clientid: o.clientid,
        }),
        None => Saved::Reply(json),
    })
}
