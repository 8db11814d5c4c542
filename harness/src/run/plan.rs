//! Turning an operation step into the operations sent: the trial's saved
//! client IDs, sessions and stateids filled into the client's builders.

use super::failure::Failure;
use super::trial::{Conn, OpenState, Saved, TrialRun};
use crate::client::ops::{self, Claim, Create, Range};
use crate::client::session::{default_back_attrs, default_fore_attrs};
use crate::client::{CallbackListener, Principal, Session};
use crate::scenario::*;
use analyzer::nfs4::{
    ChannelDirFromClient4, CreateSession4Flags, ExchgId4Flags, NfsArgOp, NfsLockType4,
    OpenDelegationType4, ShareAccess4, ShareDeny4, StateOwner4, StateProtect4A, NFS4_CALLBACK,
};
use std::net::SocketAddr;

/// How a session's SEQUENCE is chosen.
#[derive(Debug, Clone, Copy)]
pub enum SeqMode {
    /// The client's slot table picks slot and seqid.
    Auto,
    /// The client's slot table picks slot and seqid; sa_cachethis is set.
    AutoCached,
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
    /// Index in the reply's results of the step's own operation
    /// (`usize::MAX`: the step is judged on the COMPOUND status).
    pub main: usize,
    /// The COMPOUND's minor version (without a session).
    pub minor: u32,
    /// Operations sent first, in a COMPOUND of their own in the same
    /// session, which must succeed (e.g. data written before a READ).
    pub before: Vec<NfsArgOp<'static>>,
    /// The READDIR entry the step's reply is (a `readdir` step naming one).
    pub entry: Option<String>,
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
            before: Vec::new(),
            entry: None,
        }
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

/// The export path of the connection's server (`/` when unknown).
fn export_path<'e>(t: &'e TrialRun<'_>, conn: &Conn) -> &'e str {
    t.roles
        .get(&conn.role)
        .and_then(|&i| t.env.servers.get(i))
        .map_or("/", |s| s.export.as_str())
}

/// The operations that make the export's root the current filehandle.
fn export_root(t: &TrialRun<'_>, conn: &Conn) -> Vec<NfsArgOp<'static>> {
    ops::root_path(export_path(t, conn))
}

/// Attribute numbers by their short names (the loader refused unknown ones).
fn attr_numbers(names: &[String]) -> Vec<u32> {
    names
        .iter()
        .filter_map(|x| analyzer::nfs4::attr::attr_number(x))
        .collect()
}

/// `lookup`: PUTROOTFH, the LOOKUPs of `export` and of `path` below it,
/// then GETFH if asked and GETATTR of `attrs` if any.
pub(super) fn lookup_ops(
    export: &str,
    path: &str,
    getfh: bool,
    attrs: &[u32],
) -> Vec<NfsArgOp<'static>> {
    let mut list = ops::root_path(export);
    list.extend(ops::lookup_path(path));
    if getfh {
        list.push(ops::getfh());
    }
    if !attrs.is_empty() {
        list.push(ops::getattr(attrs));
    }
    list
}

/// `readdir`: PUTROOTFH, the LOOKUPs of `export` and of `dir` below it,
/// then READDIR asking `attrs`.
pub(super) fn readdir_ops(export: &str, dir: &str, attrs: &[u32]) -> Vec<NfsArgOp<'static>> {
    let mut list = ops::root_path(export);
    list.extend(ops::lookup_path(dir));
    list.push(ops::readdir(attrs));
    list
}

/// A step's path below the export: its text, or the referral point of the
/// connection's server that leads to the server of the role named.
fn below_export(
    t: &TrialRun<'_>,
    n: usize,
    what: &str,
    path: &PathSpec,
    conn: &Conn,
) -> Result<String, Failure> {
    let role = match path {
        PathSpec::Text(p) => return Ok(p.clone()),
        PathSpec::Referral(r) => &r.referral,
    };
    let server = |r: &str| {
        t.roles
            .get(r)
            .copied()
            .ok_or_else(|| Failure::at(n, what, format!("role {r} has no server")))
    };
    t.env
        .referral_point(server(&conn.role)?, server(role)?)
        .map(str::to_string)
        .map_err(|e| Failure::at(n, what, e))
}

/// The directory a `readdir` step reads (below the export) and the name
/// of the entry its reply is, if it names one: a referral entry is read in
/// the referral point's parent.
fn readdir_target(
    t: &TrialRun<'_>,
    n: usize,
    a: &ReaddirStep,
    conn: &Conn,
) -> Result<(String, Option<String>), Failure> {
    let dir = match &a.path {
        Some(p) => below_export(t, n, "readdir", p, conn)?,
        None => String::new(),
    };
    match &a.entry {
        None => Ok((dir, None)),
        Some(PathSpec::Text(name)) => Ok((dir, Some(name.clone()))),
        Some(referral) => {
            let point = below_export(t, n, "readdir", referral, conn)?;
            let (parent, name) = split_entry(&point);
            Ok((parent.to_string(), Some(name.to_string())))
        }
    }
}

/// `dir/name` → (`dir`, `name`); a bare `name` is in the export root.
pub(super) fn split_entry(path: &str) -> (&str, &str) {
    path.trim_matches('/')
        .rsplit_once('/')
        .unwrap_or(("", path.trim_matches('/')))
}

/// A lock range of `kind` (`read`, else write).
pub(super) fn range(kind: &Option<String>, offset: u64, length: Option<u64>) -> Range {
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
pub(super) fn seq_choice(choice: &Option<Scalar>, next: u32) -> u32 {
    match choice {
        Some(Scalar::Int(v)) => *v as u32,
        Some(Scalar::Str(s)) if s == "replay" => next.wrapping_sub(1),
        Some(Scalar::Str(s)) if s == "skip" => next.wrapping_add(1),
        _ => next,
    }
}

/// The slot a step chose: its number, or `beyond` (the session's granted
/// ca_maxrequests, one past its highest slot id).
pub(super) fn slot_choice(s: &Session, choice: &Option<SlotChoice>) -> u32 {
    match choice {
        Some(SlotChoice::Id(n)) => *n,
        Some(SlotChoice::Word(_)) => s.created().csr_fore_chan_attrs.ca_maxrequests,
        None => 0,
    }
}

/// The SEQUENCE a step chose itself (slot, sequence id, cachethis). A slot
/// id the scenario names that the session was not granted
/// (csr_fore_chan_attrs.ca_maxrequests; a server may grant as few as one
/// slot) makes step `n` not applicable on this server; `beyond` is meant to
/// be outside the range and passes.
pub(super) fn exact(
    s: &Session,
    choice: &Option<SlotChoice>,
    seqid: &Option<Scalar>,
    cachethis: bool,
    n: usize,
    what: &str,
) -> Result<SeqMode, Failure> {
    let granted = s.created().csr_fore_chan_attrs.ca_maxrequests;
    if let Some(SlotChoice::Id(slot)) = choice {
        if *slot >= granted {
            return Err(Failure::not_applicable(
                n,
                what,
                format!(
                    "the step uses slot {slot}, but the server granted {granted} slot(s) \
                     (ca_maxrequests), which RFC 8881 §18.36.3 allows"
                ),
            ));
        }
    }
    let slot = slot_choice(s, choice);
    let next = s.next_seqid(slot).unwrap_or(1);
    Ok(SeqMode::Exact {
        slot,
        seqid: seq_choice(seqid, next),
        cachethis,
    })
}

/// A SEQUENCE operation as the scenario places it inside a `compound`
/// (slot 0 and its next seqid unless given).
pub fn sequence_op(
    t: &TrialRun<'_>,
    n: usize,
    a: &SequenceStep,
) -> Result<NfsArgOp<'static>, Failure> {
    let s = t.session(n, &a.session)?;
    let (slot, seqid, cachethis) = match exact(&s, &a.slot, &a.seqid, a.cachethis, n, "sequence")? {
        SeqMode::Exact {
            slot,
            seqid,
            cachethis,
        } => (slot, seqid, cachethis),
        _ => (0, 1, false),
    };
    Ok(ops::sequence(s.id(), seqid, slot, slot, cachethis))
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
        Op::ExchangeId(a) => exchange_id(t, a),
        Op::CreateSession(a) => create_session(t, n, a, conn, principal)?,
        Op::BindConnToSession(a) => {
            let s = t.session(n, &a.session)?;
            let dir = ChannelDirFromClient4::from_name(&format!(
                "CDFC4_{}",
                a.dir.as_deref().unwrap_or("FORE_OR_BOTH")
            ))
            .unwrap_or(ChannelDirFromClient4::CDFC4_FORE_OR_BOTH);
            let op = ops::bind_conn_to_session(s.id(), dir, a.rdma);
            let mut p = Plan::new(t, None, vec![op]);
            p.minor = s.minor();
            p
        }
        Op::Sequence(a) => {
            let s = t.session(n, &a.session)?;
            Plan::new(t, Some(s), vec![])
        }
        Op::DestroySession(a) => {
            let s = t.session(n, &a.session)?;
            let op = ops::destroy_session(s.id());
            let mut p = Plan::new(t, a.with_sequence.then(|| s.clone()), vec![op]);
            p.minor = s.minor();
            p
        }
        Op::DestroyClientid(a) => {
            let (clientid, _) = t.exchange(n, &a.client)?;
            let s = t.opt_session(n, &a.session)?;
            let op = ops::destroy_clientid(clientid);
            Plan::new(t, s, vec![op])
        }
        Op::ReclaimComplete(a) => {
            let s = t.session(n, &a.session)?;
            let op = ops::reclaim_complete(a.one_fs);
            Plan::new(t, Some(s), vec![op])
        }
        Op::BackchannelCtl(a) => {
            let s = t.session(n, &a.session)?;
            let program = a.cb_program.unwrap_or(NFS4_CALLBACK);
            let op = ops::backchannel_ctl(program, ops::callback_sec(principal));
            Plan::new(t, Some(s), vec![op])
        }
        Op::Putrootfh(a) => {
            let s = t.opt_session(n, &a.session)?;
            Plan::new(t, s, vec![ops::putrootfh()])
        }
        Op::Getattr(a) => {
            let s = t.opt_session(n, &a.session)?;
            let mut list = match &a.file {
                Some(f) => vec![ops::putfh(&t.open_state(n, f)?.fh)],
                None => export_root(t, conn),
            };
            list.push(ops::getattr(&attr_numbers(&a.attrs)));
            Plan::new(t, s, list)
        }
        Op::Open(a) => plan_open(t, n, a, conn)?,
        Op::OpenConfirm(a) => {
            let o = t.open_state(n, &a.open)?;
            let sq = t.seqid(&o.owner);
            Plan::new(
                t,
                None,
                vec![ops::putfh(&o.fh), ops::open_confirm(o.stateid, sq)],
            )
        }
        Op::Lock(a) => lock(t, n, a)?,
        Op::Locku(a) => {
            let l = t.lock_state(n, &a.lock)?;
            let s = t.opt_session(n, &a.session)?;
            let fh = t
                .saved
                .values()
                .find_map(|v| match v {
                    Saved::Open(o) if format!("lo-{}", o.owner) == l.owner => Some(o.fh.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            let op = ops::locku(l.range, t.seqid(&l.owner), l.stateid);
            Plan::new(t, s, vec![ops::putfh(&fh), op])
        }
        Op::Lockt(a) => {
            let o = t.open_state(n, &a.open)?;
            let s = t.opt_session(n, &a.session)?;
            let r = range(&a.kind, a.offset, a.length);
            let owner = ops::state_owner(o.clientid, format!("lt-{}", o.owner).as_bytes());
            Plan::new(t, s, vec![ops::putfh(&o.fh), ops::lockt(r, owner)])
        }
        Op::Close(a) => {
            let o = t.open_state(n, &a.open)?;
            let s = t.opt_session(n, &a.session)?;
            let sq = t.seqid(&o.owner);
            Plan::new(t, s, vec![ops::putfh(&o.fh), ops::close(sq, o.stateid)])
        }
        Op::Read(a) => {
            let o = t.open_state(n, &a.open)?;
            let s = t.opt_session(n, &a.session)?;
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
            let o = t.open_state(n, &a.open)?;
            let s = t.opt_session(n, &a.session)?;
            let data = a.data.clone().unwrap_or_else(|| "trunkcheck".into());
            Plan::new(
                t,
                s,
                vec![ops::putfh(&o.fh), ops::write(o.stateid, 0, data.as_bytes())],
            )
        }
        Op::Setclientid(a) => setclientid(t, n, a, conn)?,
        Op::SetclientidConfirm(a) => {
            let (clientid, mut confirm) = t.setclientid(n, &a.client)?;
            if let Some(other) = &a.confirm_from {
                confirm = t.setclientid(n, other)?.1;
            }
            let op = ops::setclientid_confirm(clientid, confirm);
            Plan::new(t, None, vec![op])
        }
        Op::Renew(a) => {
            let (clientid, _) = t.setclientid(n, &a.client)?;
            Plan::new(t, None, vec![ops::renew(clientid)])
        }
        Op::Illegal(_) => Plan::new(t, None, vec![ops::illegal()]),
        Op::Remove(a) => {
            let s = t.opt_session(n, &a.session)?;
            let mut list = export_root(t, conn);
            list.push(ops::remove(&file_name(t, &a.file)));
            Plan::new(t, s, list)
        }
        Op::Rename(a) => {
            let s = t.opt_session(n, &a.session)?;
            let mut list = export_root(t, conn);
            list.push(ops::savefh());
            list.push(ops::rename(&file_name(t, &a.from), &file_name(t, &a.to)));
            Plan::new(t, s, list)
        }
        Op::OverLimit(a) => over_limit(t, n, a)?,
        Op::Lookup(a) => {
            let s = t.opt_session(n, &a.session)?;
            let path = match &a.path {
                Some(p) => below_export(t, n, "lookup", p, conn)?,
                None => String::new(),
            };
            let list = lookup_ops(
                export_path(t, conn),
                &path,
                a.getfh,
                &attr_numbers(&a.attrs),
            );
            Plan::new(t, s, list)
        }
        Op::Readdir(a) => {
            let s = t.opt_session(n, &a.session)?;
            let (dir, entry) = readdir_target(t, n, a, conn)?;
            let list = readdir_ops(export_path(t, conn), &dir, &attr_numbers(&a.attrs));
            Plan {
                entry,
                ..Plan::new(t, s, list)
            }
        }
    };
    let mut p = p;
    let common = op.common();
    if let (Some(s), true) = (&p.session, common.exact_sequence()) {
        p.seq = exact(
            s,
            &common.slot,
            &common.seqid,
            common.cachethis,
            n,
            op.keyword(),
        )?;
    }
    Ok(p)
}

/// A COMPOUND over one of the limits the session was granted
/// (csr_fore_chan_attrs), judged on its COMPOUND status. The data a READ
/// needs is written first, in a COMPOUND of its own.
fn over_limit(t: &TrialRun<'_>, n: usize, a: &OverLimitStep) -> Result<Plan, Failure> {
    let s = t.session(n, &a.session)?;
    let attrs = s.created().csr_fore_chan_attrs.clone();
    let open = a.open.as_ref().map(|o| t.open_state(n, o)).transpose()?;
    let file = |o: &Option<OpenState>| {
        o.clone()
            .ok_or_else(|| Failure::at(n, "over_limit", "no saved open to write or read"))
    };
    // Sizes are bounded: a server may grant limits a test cannot send.
    let cap = |v: u32| (v as usize).min(16 << 20);
    let mut before = Vec::new();
    let mut seq = SeqMode::Auto;
    let list = match a.limit.as_str() {
        "operations" => vec![ops::putrootfh(); cap(attrs.ca_maxoperations).min(1 << 16)],
        "request" => {
            let o = file(&open)?;
            let data = vec![b'r'; cap(attrs.ca_maxrequestsize)];
            vec![ops::putfh(&o.fh), ops::write(o.stateid, 0, &data)]
        }
        limit => {
            let o = file(&open)?;
            let count = if limit == "cached" {
                seq = SeqMode::AutoCached;
                cap(attrs.ca_maxresponsesize_cached) + 512
            } else {
                cap(attrs.ca_maxresponsesize)
            };
            let data = vec![b'd'; count];
            before = vec![ops::putfh(&o.fh), ops::write(o.stateid.clone(), 0, &data)];
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            vec![ops::putfh(&o.fh), ops::read(o.stateid, 0, count)]
        }
    };
    let mut p = Plan::new(t, Some(s), list);
    p.main = usize::MAX;
    p.seq = seq;
    p.before = before;
    Ok(p)
}

/// EXCHANGE_ID of the step's client owner, flags and state protection.
fn exchange_id(t: &mut TrialRun<'_>, a: &ExchangeIdStep) -> Plan {
    let owner = t.owner(&a.owner, a.verifier.as_deref());
    let f = flags(
        &a.flags,
        ExchgId4Flags::KNOWN,
        |x, y| x | y,
        ExchgId4Flags(0),
    );
    let sp = match a.state_protect.as_deref() {
        Some("mach_cred") => ops::mach_cred(),
        Some("ssv") => ops::ssv(a.ssv_window.unwrap_or(16), !a.ssv_no_hash, !a.ssv_no_encr),
        _ => StateProtect4A::None,
    };
    let eia_flags = ExchgId4Flags(f.0 | a.raw_flags);
    let op = ops::exchange_id(
        &owner.owner,
        owner.verifier,
        eia_flags,
        sp,
        !a.empty_impl_id,
    );
    Plan::new(t, None, vec![op])
}

/// CREATE_SESSION for a saved client ID (its next csa_sequence unless the
/// step says otherwise), with the callback program on the connection.
fn create_session(
    t: &TrialRun<'_>,
    n: usize,
    a: &CreateSessionStep,
    conn: &Conn,
    principal: &Principal,
) -> Result<Plan, Failure> {
    let (clientid, next) = t.exchange(n, &a.client)?;
    let mut fore = default_fore_attrs();
    if let Some(s) = a.fore_slots {
        fore.ca_maxrequests = s;
    }
    if let Some(m) = a.max_response {
        fore.ca_maxresponsesize = m;
    }
    if let Some(m) = a.max_request {
        fore.ca_maxrequestsize = m;
    }
    if let Some(m) = a.max_cached {
        fore.ca_maxresponsesize_cached = m;
    }
    if let Some(m) = a.max_operations {
        fore.ca_maxoperations = m;
    }
    let f = flags(
        &a.flags,
        CreateSession4Flags::KNOWN,
        |x, y| x | y,
        CreateSession4Flags(0),
    );
    conn.conn.callbacks().set_program(NFS4_CALLBACK);
    let args = ops::create_session_args(
        clientid,
        seq_choice(&a.sequence, next),
        f,
        fore,
        default_back_attrs(),
        NFS4_CALLBACK,
        principal,
    );
    Ok(Plan::new(t, None, vec![NfsArgOp::CreateSession(args)]))
}

/// LOCK of a saved open's file: a new lock owner's first lock (open_to_lock_owner4),
/// or a further lock of an owner that holds one.
fn lock(t: &TrialRun<'_>, n: usize, a: &LockStep) -> Result<Plan, Failure> {
    let o = t.open_state(n, &a.open)?;
    let s = t.opt_session(n, &a.session)?;
    let lock_owner = format!("lo-{}", o.owner);
    let r = range(&a.kind, a.offset, a.length);
    let existing = t.saved.values().find_map(|v| match v {
        Saved::Lock(l) if l.owner == lock_owner && l.clientid == o.clientid => {
            Some(l.stateid.clone())
        }
        _ => None,
    });
    let op = match existing {
        Some(st) => ops::lock_existing(r, a.reclaim, st, t.seqid(&lock_owner)),
        None => ops::lock_new(
            r,
            a.reclaim,
            t.seqid(&o.owner),
            o.stateid,
            0,
            ops::state_owner(o.clientid, lock_owner.as_bytes()),
        ),
    };
    Ok(Plan::new(t, s, vec![ops::putfh(&o.fh), op]))
}

/// SETCLIENTID (v4.0) with the callback at the trial's own listener.
fn setclientid(
    t: &mut TrialRun<'_>,
    n: usize,
    a: &SetclientidStep,
    conn: &Conn,
) -> Result<Plan, Failure> {
    let owner = t.owner(&a.owner, a.verifier.as_deref());
    let listener = callback_listener(t, n, conn)?;
    listener.service().set_program(NFS4_CALLBACK);
    let op = ops::setclientid(
        &owner.owner,
        owner.verifier,
        listener.location(),
        NFS4_CALLBACK,
        a.callback_ident.unwrap_or(1),
    );
    Ok(Plan::new(t, None, vec![op]))
}

fn plan_open(t: &mut TrialRun<'_>, n: usize, a: &OpenStep, conn: &Conn) -> Result<Plan, Failure> {
    let (session, clientid) = match (&a.session, &a.client) {
        (Some(s), _) => {
            let s = t.session(n, s)?;
            let c = s.clientid();
            (Some(s), c)
        }
        (None, Some(c)) => (None, t.setclientid(n, c)?.0),
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
    let sq = t.seqid(&owner);
    let st_owner: StateOwner4<'static> = ops::state_owner(clientid, owner.as_bytes());
    let mut list = Vec::new();
    let claim = match a.claim.as_deref() {
        Some("previous") => {
            let fh = match &a.reclaims {
                Some(r) => t.open_state(n, r)?.fh,
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
                Some(r) => t.open_state(n, r)?.fh,
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

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::nfs4::NfsOpnum4;

    fn names(list: &[NfsArgOp<'static>]) -> Vec<String> {
        list.iter()
            .map(|op| match op {
                NfsArgOp::Lookup(l) => {
                    format!("LOOKUP {}", String::from_utf8_lossy(l.objname.as_bytes()))
                }
                other => other.name().to_string(),
            })
            .collect()
    }

    #[test]
    fn a_lookup_walks_from_the_root_through_the_export_to_the_path() {
        let fs_locations = [24, 8];
        assert_eq!(
            names(&lookup_ops("/export", "ref-c", true, &fs_locations)),
            [
                "PUTROOTFH",
                "LOOKUP export",
                "LOOKUP ref-c",
                "GETFH",
                "GETATTR"
            ]
        );
        assert_eq!(
            names(&lookup_ops("/srv/nfs", "d/ref", false, &[])),
            [
                "PUTROOTFH",
                "LOOKUP srv",
                "LOOKUP nfs",
                "LOOKUP d",
                "LOOKUP ref"
            ]
        );
        let Some(NfsArgOp::Getattr(g)) = lookup_ops("/export", "r", false, &fs_locations).pop()
        else {
            panic!("GETATTR last")
        };
        assert_eq!(g.attr_request.bits().collect::<Vec<_>>(), [8, 24]);
    }

    #[test]
    fn a_readdir_reads_the_directory_below_the_export_from_its_start() {
        let list = readdir_ops("/export", "", &[11, 24]);
        assert_eq!(names(&list), ["PUTROOTFH", "LOOKUP export", "READDIR"]);
        let Some(NfsArgOp::Readdir(r)) = list.last() else {
            panic!("READDIR last")
        };
        assert_eq!((r.cookie, r.cookieverf.0), (0, [0; 8]));
        assert_eq!(r.attr_request.bits().collect::<Vec<_>>(), [11, 24]);
        assert_eq!(
            names(&readdir_ops("/export", "d", &[1])),
            ["PUTROOTFH", "LOOKUP export", "LOOKUP d", "READDIR"]
        );
        assert_eq!(list[0].opnum(), NfsOpnum4::OP_PUTROOTFH);
    }

    #[test]
    fn a_referral_entry_is_read_in_its_parent_directory() {
        assert_eq!(split_entry("ref-c"), ("", "ref-c"));
        assert_eq!(split_entry("d/e/ref"), ("d/e", "ref"));
        assert_eq!(split_entry("/d/ref/"), ("d", "ref"));
    }
}
