//! Turning an operation step into the operations sent, and what a reply
//! leaves behind (saved ids, sessions, stateids, NFSv4.0 seqids).

use super::exec::{Conn, Saved, TrialRun};
use super::expect::Failure;
use crate::client::ops::{self, Claim, Create, Range};
use crate::client::session::{callback_sec, default_back_attrs, default_fore_attrs};
use crate::client::{CallbackListener, Principal, Session};
use crate::scenario::*;
use analyzer::nfs4::{
    BindConnToSession4Args, Bitmap4, ChannelDirFromClient4, ClientOwner4, Clientid4, Compound4Res,
    CreateSession4Args, CreateSession4Flags, DestroyClientid4Args, DestroySession4Args,
    ExchangeId4Args, ExchgId4Flags, NfsArgOp, NfsImplId4, NfsLockType4, NfsResOp, NfsStat4,
    Nfstime4, OpenDelegationType4, ReclaimComplete4Args, Setclientid4Args, Setclientid4Res,
    ShareAccess4, ShareDeny4, StateOwner4, StateProtect4A, StateProtectOps4, Stateid4, Verifier4,
    NFS4_CALLBACK,
};
use analyzer::nfs4::{CbClient4, Netaddr4, NfsClientId4, NfsOpnum4};
use analyzer::xdr::Opaque;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// How a session's SEQUENCE is chosen.
#[derive(Debug, Clone, Copy)]
pub enum SeqMode {
    /// The client's slot table picks slot and seqid.
    Auto,
    /// Exactly these.
    Exact {
        /// sa_slotid.
        slot: u32,
        /// sa_sequenceid.
        seqid: u32,
        /// sa_cachethis.
        cachethis: bool,
    },
}

/// What one step sends.
pub struct Plan {
    /// SEQUENCE on this session first.
    pub session: Option<Session>,
    /// How the SEQUENCE is numbered.
    pub seq: SeqMode,
    /// The operations (after the SEQUENCE).
    pub ops: Vec<NfsArgOp<'static>>,
    /// Index in the reply's results of the step's own operation.
    pub main: usize,
    /// The COMPOUND's minor version (without a session).
    pub minor: u32,
}

impl Plan {
    fn new(t: &TrialRun<'_>, session: Option<Session>, ops: Vec<NfsArgOp<'static>>) -> Plan {
        let offset = usize::from(session.is_some());
        let main = (ops.len() + offset).saturating_sub(1);
        Plan {
            minor: session.as_ref().map_or(t.minor, |s| s.minor()),
            session,
            seq: SeqMode::Auto,
            ops,
            main,
        }
    }
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

/// The saved session named.
pub fn session(t: &TrialRun<'_>, n: usize, name: &str) -> Result<Session, Failure> {
    match t.saved.get(name) {
        Some(Saved::Session { session, .. }) => Ok(session.clone()),
        _ => Err(Failure::at(
            n,
            "session",
            format!("{name} holds no session (did create_session fail?)"),
        )),
    }
}

fn opt_session(
    t: &TrialRun<'_>,
    n: usize,
    name: &Option<String>,
) -> Result<Option<Session>, Failure> {
    name.as_ref().map(|s| session(t, n, s)).transpose()
}

fn exchange(t: &TrialRun<'_>, n: usize, name: &str) -> Result<(Clientid4, u32), Failure> {
    match t.saved.get(name) {
        Some(Saved::ExchangeId {
            clientid, next_seq, ..
        }) => Ok((*clientid, *next_seq)),
        _ => Err(Failure::at(
            n,
            "client",
            format!("{name} holds no client ID (did exchange_id fail?)"),
        )),
    }
}

fn setclientid(t: &TrialRun<'_>, n: usize, name: &str) -> Result<(Clientid4, Verifier4), Failure> {
    match t.saved.get(name) {
        Some(Saved::Setclientid {
            clientid, confirm, ..
        }) => Ok((*clientid, *confirm)),
        _ => Err(Failure::at(
            n,
            "client",
            format!("{name} holds no client ID (did setclientid fail?)"),
        )),
    }
}

fn open_state(t: &TrialRun<'_>, n: usize, name: &str) -> Result<OpenState, Failure> {
    match t.saved.get(name) {
        Some(Saved::Open(o)) => Ok(o.clone()),
        _ => Err(Failure::at(
            n,
            "open",
            format!("{name} holds no open file (did open fail?)"),
        )),
    }
}

fn lock_state(t: &TrialRun<'_>, n: usize, name: &str) -> Result<LockState, Failure> {
    match t.saved.get(name) {
        Some(Saved::Lock(l)) => Ok(l.clone()),
        _ => Err(Failure::at(
            n,
            "lock",
            format!("{name} holds no lock (did lock fail?)"),
        )),
    }
}

/// The NFSv4.0 seqid of a state owner (0 for v4.1, where it is ignored).
fn seqid(t: &TrialRun<'_>, owner: &str) -> u32 {
    if t.minor == 0 {
        t.seqids.get(owner).copied().unwrap_or(0)
    } else {
        0
    }
}

/// A file name unique to the trial and run.
fn file_name(t: &TrialRun<'_>, file: &str) -> String {
    format!(
        "tc-{}-{file}-{}-{}",
        t.sc.id.to_ascii_lowercase(),
        std::process::id(),
        t.index
    )
}

/// The operations that make the export's root the current filehandle.
fn export_root(t: &TrialRun<'_>, conn: &Conn) -> Vec<NfsArgOp<'static>> {
    let export = t
        .roles
        .get(&conn.role)
        .and_then(|&i| t.env.servers.get(i))
        .map_or("/", |s| s.export.as_str());
    ops::root_path(export)
}

fn range(kind: &Option<String>, offset: u64, length: Option<u64>) -> Range {
    Range {
        locktype: if kind.as_deref() == Some("read") {
            NfsLockType4::READ_LT
        } else {
            NfsLockType4::WRITE_LT
        },
        offset,
        length: length.unwrap_or(u64::MAX),
    }
}

fn flags<T: Copy>(
    names: &[String],
    known: &[(T, &'static str)],
    or: impl Fn(T, T) -> T,
    zero: T,
) -> T {
    names
        .iter()
        .filter_map(|n| known.iter().find(|(_, k)| k == n).map(|(v, _)| *v))
        .fold(zero, or)
}

/// Resolves a `next` / `replay` / `skip` / number sequence choice.
fn seq_choice(choice: &Option<Scalar>, next: u32) -> u32 {
    match choice {
        Some(Scalar::Int(v)) => *v as u32,
        Some(Scalar::Str(s)) if s == "replay" => next.wrapping_sub(1),
        Some(Scalar::Str(s)) if s == "skip" => next.wrapping_add(1),
        _ => next,
    }
}

/// A SEQUENCE operation as the scenario places it inside a `compound`
/// (slot 0 and its next seqid unless given).
pub fn sequence_op(
    t: &TrialRun<'_>,
    n: usize,
    a: &SequenceStep,
) -> Result<NfsArgOp<'static>, Failure> {
    let s = session(t, n, &a.session)?;
    let slot = a.slot.unwrap_or(0);
    let next = s.next_seqid(slot).unwrap_or(1);
    Ok(NfsArgOp::Sequence(analyzer::nfs4::Sequence4Args {
        sa_sessionid: s.id(),
        sa_sequenceid: seq_choice(&a.seqid, next),
        sa_slotid: slot,
        sa_highest_slotid: slot,
        sa_cachethis: a.cachethis,
    }))
}

/// The operations one step sends.
pub fn plan(
    t: &mut TrialRun<'_>,
    n: usize,
    op: &Op,
    conn: &Conn,
    principal: &Principal,
) -> Result<Plan, Failure> {
    let p = match op {
        Op::ExchangeId(a) => {
            let owner = t.owner(&a.owner, a.verifier.as_deref());
            let f = flags(
                &a.flags,
                ExchgId4Flags::KNOWN,
                |x, y| x | y,
                ExchgId4Flags(0),
            );
            let sp = match a.state_protect.as_deref() {
                Some("mach_cred") => StateProtect4A::MachCred(StateProtectOps4 {
                    spo_must_enforce: Bitmap4::from_bits(&[41, 42, 43, 44, 57]),
                    spo_must_allow: Bitmap4::default(),
                }),
                _ => StateProtect4A::None,
            };
            let args = ExchangeId4Args {
                eia_clientowner: ClientOwner4 {
                    co_verifier: Verifier4(owner.verifier),
                    co_ownerid: Opaque::from(owner.owner),
                },
                eia_flags: ExchgId4Flags(f.0 | a.raw_flags),
                eia_state_protect: sp,
                eia_client_impl_id: if a.empty_impl_id {
                    vec![]
                } else {
                    vec![NfsImplId4 {
                        nii_domain: Opaque::from("trunkcheck.invalid"),
                        nii_name: Opaque::from(format!("trunkcheck {}", env!("CARGO_PKG_VERSION"))),
                        nii_date: Nfstime4 {
                            seconds: 0,
                            nseconds: 0,
                        },
                    }]
                },
            };
            Plan::new(t, None, vec![NfsArgOp::ExchangeId(args)])
        }
        Op::CreateSession(a) => {
            let (clientid, next) = exchange(t, n, &a.client)?;
            let mut fore = default_fore_attrs();
            if let Some(s) = a.fore_slots {
                fore.ca_maxrequests = s;
            }
            if let Some(m) = a.max_response {
                fore.ca_maxresponsesize = m;
            }
            let f = flags(
                &a.flags,
                CreateSession4Flags::KNOWN,
                |x, y| x | y,
                CreateSession4Flags(0),
            );
            conn.conn.callbacks().set_program(NFS4_CALLBACK);
            let args = CreateSession4Args {
                csa_clientid: clientid,
                csa_sequence: seq_choice(&a.sequence, next),
                csa_flags: f,
                csa_fore_chan_attrs: fore,
                csa_back_chan_attrs: default_back_attrs(),
                csa_cb_program: NFS4_CALLBACK,
                csa_sec_parms: callback_sec(principal),
            };
            Plan::new(t, None, vec![NfsArgOp::CreateSession(args)])
        }
        Op::BindConnToSession(a) => {
            let s = session(t, n, &a.session)?;
            let dir = ChannelDirFromClient4::from_name(&format!(
                "CDFC4_{}",
                a.dir.as_deref().unwrap_or("FORE_OR_BOTH")
            ))
            .unwrap_or(ChannelDirFromClient4::CDFC4_FORE_OR_BOTH);
            let mut p = Plan::new(
                t,
                None,
                vec![NfsArgOp::BindConnToSession(BindConnToSession4Args {
                    bctsa_sessid: s.id(),
                    bctsa_dir: dir,
                    bctsa_use_conn_in_rdma_mode: a.rdma,
                })],
            );
            p.minor = s.minor();
            p
        }
        Op::Sequence(a) => {
            let s = session(t, n, &a.session)?;
            let mut p = Plan::new(t, Some(s.clone()), vec![]);
            if a.slot.is_some() || a.seqid.is_some() || a.cachethis {
                let slot = a.slot.unwrap_or(0);
                let next = s.next_seqid(slot).unwrap_or(1);
                p.seq = SeqMode::Exact {
                    slot,
                    seqid: seq_choice(&a.seqid, next),
                    cachethis: a.cachethis,
                };
            }
            p
        }
        Op::DestroySession(a) => {
            let s = session(t, n, &a.session)?;
            let op = NfsArgOp::DestroySession(DestroySession4Args {
                dsa_sessionid: s.id(),
            });
            let mut p = Plan::new(t, a.with_sequence.then(|| s.clone()), vec![op]);
            p.minor = s.minor();
            p
        }
        Op::DestroyClientid(a) => {
            let (clientid, _) = exchange(t, n, &a.client)?;
            let s = opt_session(t, n, &a.session)?;
            let op = NfsArgOp::DestroyClientid(DestroyClientid4Args {
                dca_clientid: clientid,
            });
            Plan::new(t, s, vec![op])
        }
        Op::ReclaimComplete(a) => {
            let s = session(t, n, &a.session)?;
            let op = NfsArgOp::ReclaimComplete(ReclaimComplete4Args {
                rca_one_fs: a.one_fs,
            });
            Plan::new(t, Some(s), vec![op])
        }
        Op::Putrootfh(a) => {
            let s = opt_session(t, n, &a.session)?;
            Plan::new(t, s, vec![ops::putrootfh()])
        }
        Op::Getattr(a) => {
            let s = opt_session(t, n, &a.session)?;
            let mut list = match &a.file {
                Some(f) => vec![ops::putfh(&open_state(t, n, f)?.fh)],
                None => export_root(t, conn),
            };
            let nums: Vec<u32> = a
                .attrs
                .iter()
                .filter_map(|x| analyzer::nfs4::attr::attr_number(x))
                .collect();
            list.push(ops::getattr(&nums));
            Plan::new(t, s, list)
        }
        Op::Open(a) => plan_open(t, n, a, conn)?,
        Op::OpenConfirm(a) => {
            let o = open_state(t, n, &a.open)?;
            let sq = seqid(t, &o.owner);
            Plan::new(
                t,
                None,
                vec![ops::putfh(&o.fh), ops::open_confirm(o.stateid, sq)],
            )
        }
        Op::Lock(a) => {
            let o = open_state(t, n, &a.open)?;
            let s = opt_session(t, n, &a.session)?;
            let lock_owner = format!("lo-{}", o.owner);
            let r = range(&a.kind, a.offset, a.length);
            let existing = t.saved.values().find_map(|v| match v {
                Saved::Lock(l) if l.owner == lock_owner && l.clientid == o.clientid => {
                    Some(l.stateid.clone())
                }
                _ => None,
            });
            let op = match existing {
                Some(st) => ops::lock_existing(r, a.reclaim, st, seqid(t, &lock_owner)),
                None => ops::lock_new(
                    r,
                    a.reclaim,
                    seqid(t, &o.owner),
                    o.stateid,
                    0,
                    ops::state_owner(o.clientid, lock_owner.as_bytes()),
                ),
            };
            Plan::new(t, s, vec![ops::putfh(&o.fh), op])
        }
        Op::Locku(a) => {
            let l = lock_state(t, n, &a.lock)?;
            let s = opt_session(t, n, &a.session)?;
            let fh = t
                .saved
                .values()
                .find_map(|v| match v {
                    Saved::Open(o) if format!("lo-{}", o.owner) == l.owner => Some(o.fh.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let op = ops::locku(l.range, seqid(t, &l.owner), l.stateid);
            Plan::new(t, s, vec![ops::putfh(&fh), op])
        }
        Op::Lockt(a) => {
            let o = open_state(t, n, &a.open)?;
            let s = opt_session(t, n, &a.session)?;
            let r = range(&a.kind, a.offset, a.length);
            let owner = ops::state_owner(o.clientid, format!("lt-{}", o.owner).as_bytes());
            Plan::new(t, s, vec![ops::putfh(&o.fh), ops::lockt(r, owner)])
        }
        Op::Close(a) => {
            let o = open_state(t, n, &a.open)?;
            let s = opt_session(t, n, &a.session)?;
            let sq = seqid(t, &o.owner);
            Plan::new(t, s, vec![ops::putfh(&o.fh), ops::close(sq, o.stateid)])
        }
        Op::Read(a) => {
            let o = open_state(t, n, &a.open)?;
            let s = opt_session(t, n, &a.session)?;
            Plan::new(
                t,
                s,
                vec![
                    ops::putfh(&o.fh),
                    ops::read(o.stateid, 0, a.count.unwrap_or(4096)),
                ],
            )
        }
        Op::Write(a) => {
            let o = open_state(t, n, &a.open)?;
            let s = opt_session(t, n, &a.session)?;
            let data = a.data.clone().unwrap_or_else(|| "trunkcheck".into());
            Plan::new(
                t,
                s,
                vec![ops::putfh(&o.fh), ops::write(o.stateid, 0, data.as_bytes())],
            )
        }
        Op::Setclientid(a) => {
            let owner = t.owner(&a.owner, a.verifier.as_deref());
            let listener = callback_listener(t, n, conn)?;
            listener.service().set_program(NFS4_CALLBACK);
            let op = NfsArgOp::Setclientid(Setclientid4Args {
                client: NfsClientId4 {
                    verifier: Verifier4(owner.verifier),
                    id: Opaque::from(owner.owner),
                },
                callback: CbClient4 {
                    cb_program: NFS4_CALLBACK,
                    cb_location: Netaddr4 {
                        na_r_netid: Opaque::from(listener.netid()),
                        na_r_addr: Opaque::from(listener.uaddr()),
                    },
                },
                callback_ident: a.callback_ident.unwrap_or(1),
            });
            Plan::new(t, None, vec![op])
        }
        Op::SetclientidConfirm(a) => {
            let (clientid, mut confirm) = setclientid(t, n, &a.client)?;
            if let Some(other) = &a.confirm_from {
                confirm = setclientid(t, n, other)?.1;
            }
            let op = NfsArgOp::SetclientidConfirm(analyzer::nfs4::SetclientidConfirm4Args {
                clientid,
                setclientid_confirm: confirm,
            });
            Plan::new(t, None, vec![op])
        }
        Op::Renew(a) => {
            let (clientid, _) = setclientid(t, n, &a.client)?;
            Plan::new(t, None, vec![ops::renew(clientid)])
        }
        Op::Illegal(_) => Plan::new(t, None, vec![NfsArgOp::Illegal(())]),
    };
    Ok(p)
}

fn plan_open(t: &mut TrialRun<'_>, n: usize, a: &OpenStep, conn: &Conn) -> Result<Plan, Failure> {
    let (session, clientid) = match (&a.session, &a.client) {
        (Some(s), _) => {
            let s = session(t, n, s)?;
            let c = s.clientid();
            (Some(s), c)
        }
        (None, Some(c)) => (None, setclientid(t, n, c)?.0),
        (None, None) => return Err(Failure::at(n, "open", "no session or client to open with")),
    };
    let owner = a.owner.clone().unwrap_or_else(|| "oo1".into());
    let access = match a.access.as_deref() {
        Some("read") => ShareAccess4::READ,
        Some("write") => ShareAccess4::WRITE,
        _ => ShareAccess4::READ | ShareAccess4::WRITE,
    };
    let deny = match a.deny.as_deref() {
        Some("read") => ShareDeny4::READ,
        Some("write") => ShareDeny4::WRITE,
        Some("both") => ShareDeny4::READ | ShareDeny4::WRITE,
        _ => ShareDeny4(0),
    };
    let name = file_name(t, &a.file);
    let create = if a.create {
        Create::unchecked_mode(0o644)
    } else {
        Create::No
    };
    let sq = seqid(t, &owner);
    let st_owner: StateOwner4<'static> = ops::state_owner(clientid, owner.as_bytes());
    let mut list = Vec::new();
    let claim = match a.claim.as_deref() {
        Some("previous") => {
            let fh = match &a.reclaims {
                Some(r) => open_state(t, n, r)?.fh,
                None => {
                    return Err(Failure::at(
                        n,
                        "open",
                        "claim: previous needs `reclaims` (the open reclaimed)",
                    ))
                }
            };
            list.push(ops::putfh(&fh));
            Claim::Previous(OpenDelegationType4::OPEN_DELEGATE_NONE)
        }
        Some("fh") => {
            let fh = match &a.reclaims {
                Some(r) => open_state(t, n, r)?.fh,
                None => {
                    return Err(Failure::at(
                        n,
                        "open",
                        "claim: fh needs `reclaims` (the open whose file)",
                    ))
                }
            };
            list.push(ops::putfh(&fh));
            Claim::Fh
        }
        _ => {
            list.extend(export_root(t, conn));
            Claim::Null(name)
        }
    };
    list.push(ops::open(sq, access, deny, st_owner, create, claim));
    list.push(ops::getfh());
    let mut p = Plan::new(t, session, list);
    // The OPEN, not the GETFH after it.
    p.main = p.main.saturating_sub(1);
    Ok(p)
}

/// The trial's NFSv4.0 callback listener (started on first use, on the
/// connection's source address so the trial's capture sees callbacks).
fn callback_listener<'t>(
    t: &'t mut TrialRun<'_>,
    n: usize,
    conn: &Conn,
) -> Result<&'t CallbackListener, Failure> {
    if t.listener.is_none() {
        let ip = conn.conn.local_addr().ip();
        let l =
            CallbackListener::bind(SocketAddr::new(ip, 0), t.env.netns.as_ref()).map_err(|e| {
                Failure::at(
                    n,
                    "setclientid",
                    format!("cannot start the callback listener: {e}"),
                )
            })?;
        t.listener = Some(l);
    }
    t.listener
        .as_ref()
        .ok_or_else(|| Failure::at(n, "setclientid", "no callback listener"))
}

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

/// Bookkeeping after a reply: what is saved, sessions, stateids, seqids.
#[allow(clippy::too_many_arguments)]
pub fn after(
    t: &mut TrialRun<'_>,
    n: usize,
    op: &Op,
    conn: &Conn,
    principal: &Principal,
    res: &Compound4Res<'static>,
    status: NfsStat4,
    json: Value,
    save: Option<&str>,
) -> Result<(), Failure> {
    let saved = match op {
        Op::ExchangeId(_) => match ops::find(res, NfsOpnum4::OP_EXCHANGE_ID) {
            Some(NfsResOp::ExchangeId(analyzer::nfs4::NfsRes::Ok(ok))) => Saved::ExchangeId {
                json,
                conn: conn.name.clone(),
                clientid: ok.eir_clientid,
                next_seq: ok.eir_sequenceid,
            },
            _ => Saved::Reply(json),
        },
        Op::CreateSession(a) => {
            let used = match ops::find(res, NfsOpnum4::OP_CREATE_SESSION) {
                Some(_) => seq_choice(&a.sequence, exchange(t, n, &a.client)?.1),
                None => exchange(t, n, &a.client)?.1.wrapping_sub(1),
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
            match ops::find(res, NfsOpnum4::OP_CREATE_SESSION) {
                Some(NfsResOp::CreateSession(analyzer::nfs4::NfsRes::Ok(ok))) => {
                    let (clientid, _) = exchange(t, n, &a.client)?;
                    let minor = t.minor;
                    Saved::Session {
                        json,
                        conn: conn.name.clone(),
                        session: Session::from_result(
                            clientid,
                            ok.clone(),
                            principal.clone(),
                            minor,
                        ),
                    }
                }
                _ => Saved::Reply(json),
            }
        }
        Op::Sequence(a) => {
            if let (Some(Saved::Session { session, .. }), Some(slot), true) =
                (t.saved.get(&a.session), a.slot, status == NfsStat4::NFS4_OK)
            {
                if let Some(next) = session.next_seqid(slot) {
                    let used = seq_choice(&a.seqid, next);
                    if used == next {
                        session.set_last_seqid(slot, used);
                    }
                }
            }
            Saved::Reply(json)
        }
        Op::Setclientid(_) => match ops::find(res, NfsOpnum4::OP_SETCLIENTID) {
            Some(NfsResOp::Setclientid(Setclientid4Res::Ok(ok))) => Saved::Setclientid {
                json,
                clientid: ok.clientid,
                confirm: ok.setclientid_confirm,
            },
            _ => Saved::Reply(json),
        },
        Op::Open(a) => {
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
                (Some(s), _) => session(t, n, s)?.clientid(),
                (None, Some(c)) => setclientid(t, n, c)?.0,
                _ => Clientid4(0),
            };
            match (opened, fh) {
                (Some(stateid), Some(fh)) => Saved::Open(OpenState {
                    json,
                    stateid,
                    fh,
                    owner,
                    clientid,
                }),
                _ => Saved::Reply(json),
            }
        }
        Op::OpenConfirm(a) => {
            let o = open_state(t, n, &a.open)?;
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
            Saved::Reply(json)
        }
        Op::Lock(a) => {
            let o = open_state(t, n, &a.open)?;
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
            match ops::locked(res) {
                Some(stateid) => Saved::Lock(LockState {
                    json,
                    stateid,
                    range: range(&a.kind, a.offset, a.length),
                    owner: lock_owner,
                    clientid: o.clientid,
                }),
                None => Saved::Reply(json),
            }
        }
        Op::Locku(a) => {
            let l = lock_state(t, n, &a.lock)?;
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
            Saved::Reply(json)
        }
        Op::Close(a) => {
            let o = open_state(t, n, &a.open)?;
            bump(
                t,
                &o.owner,
                status,
                ops::find(res, NfsOpnum4::OP_CLOSE).is_some(),
            );
            Saved::Reply(json)
        }
        _ => Saved::Reply(json),
    };
    if let Some(name) = save {
        t.saved.insert(name.to_string(), saved);
    }
    Ok(())
}

/// Reads a server's lease period: GETATTR lease_time, in a session when
/// the scenario speaks v4.1 (a throw-away client ID), else v4.0.
pub fn read_lease(t: &mut TrialRun<'_>, n: usize, conn: &Conn) -> Result<Duration, Failure> {
    let fail = |e: String| Failure::at(n, "wait", format!("cannot read the lease time: {e}"));
    let list = vec![ops::putrootfh(), ops::getattr_lease_time()];
    if t.minor == 0 {
        let res = conn
            .conn
            .compound(&conn.principal, 0, "lease", list)
            .map_err(|e| fail(e.to_string()))?;
        return ops::lease_time(&res)
            .map(|s| Duration::from_secs(s.into()))
            .ok_or_else(|| fail("no lease_time in the reply".into()));
    }
    // Any session of the trial will do; make one if there is none.
    let existing = t.saved.values().find_map(|v| match v {
        Saved::Session { session, .. } => Some(session.clone()),
        _ => None,
    });
    let s = match existing {
        Some(s) => s,
        None => {
            let owner = t.owner("lease-probe", None);
            super::settle::fresh_session(&conn.conn, &conn.principal, &owner).map_err(fail)?
        }
    };
    let res = s
        .compound(&conn.conn, list)
        .map_err(|e| fail(e.to_string()))?;
    ops::lease_time(&res)
        .map(|s| Duration::from_secs(s.into()))
        .ok_or_else(|| fail("no lease_time in the reply".into()))
}
