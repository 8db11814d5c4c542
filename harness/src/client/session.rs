//! NFSv4.1/4.2 client IDs and sessions (RFC 8881 §2.10, §18.35–18.37,
//! §18.46): EXCHANGE_ID, CREATE_SESSION, the fore-channel slot table and
//! SEQUENCE, BIND_CONN_TO_SESSION, DESTROY_SESSION, DESTROY_CLIENTID,
//! RECLAIM_COMPLETE, and lease renewal.
//!
//! Statuses come back as values: a test asserts what the server answered.
//! `Err` means no answer could be had (see [`ClientError`]).

use super::ops;
use super::{ClientError, Connection, Principal};
use analyzer::nfs4::{
    BindConnToSession4ResOk, ChannelAttrs4, ChannelDirFromClient4, Clientid4, Compound4Res,
    CreateSession4Args, CreateSession4Flags, CreateSession4ResOk, ExchangeId4ResOk, ExchgId4Flags,
    NfsArgOp, NfsRes, NfsResOp, NfsStat4, Sequence4ResOk, SessionId4, StateProtect4A,
    NFS4_CALLBACK,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The client's identity: `co_ownerid` and the incarnation verifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientOwner {
    /// `co_ownerid` (or NFSv4.0 `nfs_client_id4.id`).
    pub owner: Vec<u8>,
    /// `co_verifier` (changes when the client reboots).
    pub verifier: [u8; 8],
}

impl ClientOwner {
    /// An owner no other run or test uses: `label`, the process id, a
    /// counter and the time; the verifier is derived from the time.
    pub fn unique(label: &str) -> ClientOwner {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let nanos = now.as_nanos() as u64;
        ClientOwner {
            owner: format!("trunkcheck-{label}-{}-{n}-{nanos:x}", std::process::id()).into_bytes(),
            verifier: (nanos ^ n.rotate_left(32)).to_be_bytes(),
        }
    }

    /// The same owner with another verifier (a rebooted client).
    pub fn rebooted(&self) -> ClientOwner {
        let mut v = u64::from_be_bytes(self.verifier);
        v = v.wrapping_add(1);
        ClientOwner {
            owner: self.owner.clone(),
            verifier: v.to_be_bytes(),
        }
    }
}

/// Sends a COMPOUND with one operation and returns its result; a reply
/// with no result carries the COMPOUND status instead (`Err(status)`).
pub fn single_op(
    conn: &Connection,
    principal: &Principal,
    minor: u32,
    op: NfsArgOp<'_>,
) -> Result<Result<NfsResOp<'static>, NfsStat4>, ClientError> {
    let name = op.name();
    let res = conn.compound(principal, minor, name, vec![op])?;
    let status = res.status;
    let mut results = res.resarray.into_iter();
    match (results.next(), results.next()) {
        (Some(r), None) => Ok(Ok(r)),
        (None, _) => Ok(Err(status)),
        (Some(_), Some(_)) => Err(ClientError::Protocol {
            detail: format!(
                "{} answered a one-operation {name} with several results",
                conn.peer_addr()
            ),
        }),
    }
}

/// A result of another operation than the one sent.
fn mismatched(conn: &Connection, sent: &str, got: &NfsResOp<'_>) -> ClientError {
    ClientError::Protocol {
        detail: format!(
            "{} answered {sent} with a {} result",
            conn.peer_addr(),
            got.name()
        ),
    }
}

/// EXCHANGE_ID (minor version 1) with the owner, flags and state
/// protection given; the server's answer as it came.
pub fn exchange_id(
    conn: &Connection,
    principal: &Principal,
    owner: &ClientOwner,
    flags: ExchgId4Flags,
    state_protect: StateProtect4A<'_>,
) -> Result<NfsRes<ExchangeId4ResOk<'static>>, ClientError> {
    exchange_id_minor(conn, principal, 1, owner, flags, state_protect)
}

/// EXCHANGE_ID sent with minor version `minor` (1 or 2).
pub fn exchange_id_minor(
    conn: &Connection,
    principal: &Principal,
    minor: u32,
    owner: &ClientOwner,
    flags: ExchgId4Flags,
    state_protect: StateProtect4A<'_>,
) -> Result<NfsRes<ExchangeId4ResOk<'static>>, ClientError> {
    let op = ops::exchange_id(&owner.owner, owner.verifier, flags, state_protect, true);
    match single_op(conn, principal, minor, op)? {
        Ok(NfsResOp::ExchangeId(r)) => Ok(r),
        Ok(other) => Err(mismatched(conn, "EXCHANGE_ID", &other)),
        Err(status) => Ok(NfsRes::Fail(status)),
    }
}

/// DESTROY_CLIENTID as the only operation.
pub fn destroy_clientid(
    conn: &Connection,
    principal: &Principal,
    clientid: Clientid4,
) -> Result<NfsStat4, ClientError> {
    let op = ops::destroy_clientid(clientid);
    Ok(match single_op(conn, principal, 1, op)? {
        Ok(r) => r.status(),
        Err(s) => s,
    })
}

/// Channel attributes a client commonly asks for on the fore channel.
pub fn default_fore_attrs() -> ChannelAttrs4 {
    ChannelAttrs4 {
        ca_headerpadsize: 0,
        ca_maxrequestsize: 1 << 20,
        ca_maxresponsesize: 1 << 20,
        ca_maxresponsesize_cached: 4096,
        ca_maxoperations: 16,
        ca_maxrequests: 8,
        ca_rdma_ird: Vec::new(),
    }
}

/// Channel attributes for a small backchannel.
pub fn default_back_attrs() -> ChannelAttrs4 {
    ChannelAttrs4 {
        ca_headerpadsize: 0,
        ca_maxrequestsize: 4096,
        ca_maxresponsesize: 4096,
        ca_maxresponsesize_cached: 0,
        ca_maxoperations: 4,
        ca_maxrequests: 2,
        ca_rdma_ird: Vec::new(),
    }
}

/// One fore-channel slot.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Sequence id of the last request the server accepted on it.
    seqid: u32,
    busy: bool,
    /// A request on it got no answer: its state on the server is unknown.
    lost: bool,
}

#[derive(Debug)]
struct Slots {
    slots: Vec<Slot>,
    /// The server's target highest slot id (from the last SEQUENCE reply).
    target_highest: u32,
}

impl Slots {
    /// A free usable slot, marked busy.
    fn take(&mut self) -> Option<usize> {
        let limit = (self.target_highest as usize + 1).min(self.slots.len());
        let i = self
            .slots
            .iter()
            .take(limit)
            .position(|s| !s.busy && !s.lost)?;
        self.slots[i].busy = true;
        Some(i)
    }

    /// The highest slot id in use (for `sa_highest_slotid`).
    fn highest_busy(&self) -> u32 {
        self.slots.iter().rposition(|s| s.busy).unwrap_or(0) as u32
    }
}

struct SessionInner {
    clientid: Clientid4,
    id: SessionId4,
    result: CreateSession4ResOk,
    principal: Principal,
    minor: u32,
    slots: Mutex<Slots>,
    freed: Condvar,
}

/// A session the server created; clones share it (and its slot table).
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Session({} of client {})",
            self.inner.id, self.inner.clientid
        )
    }
}

impl Session {
    /// CREATE_SESSION with the given parameters; the callback security is
    /// the principal's (see [`ops::callback_sec`]). `Ok(Err(status))` when the
    /// server refused.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        conn: &Connection,
        principal: &Principal,
        clientid: Clientid4,
        sequence: u32,
        flags: CreateSession4Flags,
        fore: ChannelAttrs4,
        back: ChannelAttrs4,
        cb_program: u32,
    ) -> Result<Result<Session, NfsStat4>, ClientError> {
        let args =
            ops::create_session_args(clientid, sequence, flags, fore, back, cb_program, principal);
        Self::create_with(conn, principal, 1, args)
    }

    /// CREATE_SESSION with every argument chosen, sent with minor version
    /// `minor` (later compounds of the session use it too).
    pub fn create_with(
        conn: &Connection,
        principal: &Principal,
        minor: u32,
        args: CreateSession4Args<'_>,
    ) -> Result<Result<Session, NfsStat4>, ClientError> {
        let clientid = args.csa_clientid;
        conn.callbacks().set_program(args.csa_cb_program);
        let ok = match single_op(conn, principal, minor, NfsArgOp::CreateSession(args))? {
            Ok(NfsResOp::CreateSession(NfsRes::Ok(ok))) => ok,
            Ok(NfsResOp::CreateSession(NfsRes::Fail(s))) => return Ok(Err(s)),
            Ok(other) => return Err(mismatched(conn, "CREATE_SESSION", &other)),
            Err(s) => return Ok(Err(s)),
        };
        // The backchannel slots the server may use are the ones it granted.
        conn.callbacks()
            .set_max_slots(ok.csr_back_chan_attrs.ca_maxrequests.max(1));
        Ok(Ok(Session::from_result(
            clientid,
            ok,
            principal.clone(),
            minor,
        )))
    }

    /// A new client ID for `owner` (SP4_NONE) and a session of it with the
    /// usual channel attributes: what a throw-away probe client needs.
    pub fn fresh(
        conn: &Connection,
        principal: &Principal,
        owner: &ClientOwner,
    ) -> Result<Session, String> {
        let eid = exchange_id(
            conn,
            principal,
            owner,
            ExchgId4Flags(0),
            StateProtect4A::None,
        )
        .map_err(|e| e.to_string())?;
        let ok = eid
            .ok()
            .ok_or_else(|| format!("EXCHANGE_ID: {:?}", eid.status()))?;
        Session::create(
            conn,
            principal,
            ok.eir_clientid,
            ok.eir_sequenceid,
            CreateSession4Flags(0),
            default_fore_attrs(),
            default_back_attrs(),
            NFS4_CALLBACK,
        )
        .map_err(|e| e.to_string())?
        .map_err(|s| format!("CREATE_SESSION: {s:?}"))
    }

    /// A session from a CREATE_SESSION result (e.g. one a test sent itself).
    pub fn from_result(
        clientid: Clientid4,
        result: CreateSession4ResOk,
        principal: Principal,
        minor: u32,
    ) -> Session {
        let n = result.csr_fore_chan_attrs.ca_maxrequests.clamp(1, 1024) as usize;
        Session {
            inner: Arc::new(SessionInner {
                clientid,
                id: result.csr_sessionid,
                principal,
                minor,
                slots: Mutex::new(Slots {
                    slots: vec![Slot::default(); n],
                    target_highest: n as u32 - 1,
                }),
                freed: Condvar::new(),
                result,
            }),
        }
    }

    /// The client ID the session belongs to.
    pub fn clientid(&self) -> Clientid4 {
        self.inner.clientid
    }

    /// The session id.
    pub fn id(&self) -> SessionId4 {
        self.inner.id
    }

    /// The server's CREATE_SESSION result (flags and channel attributes granted).
    pub fn created(&self) -> &CreateSession4ResOk {
        &self.inner.result
    }

    /// The principal the session's requests are sent as.
    pub fn principal(&self) -> &Principal {
        &self.inner.principal
    }

    /// The minor version of the session's compounds.
    pub fn minor(&self) -> u32 {
        self.inner.minor
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.inner.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits (up to the connection's reply timeout) for a free slot.
    fn take_slot(&self, conn: &Connection) -> Result<usize, ClientError> {
        let deadline = Instant::now() + conn.reply_timeout();
        let mut slots = self.slots();
        loop {
            if let Some(i) = slots.take() {
                return Ok(i);
            }
            if slots.slots.iter().all(|s| s.lost) {
                return Err(ClientError::Protocol {
                    detail: format!(
                        "every slot of session {} was lost to unanswered requests",
                        self.inner.id
                    ),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ClientError::Protocol {
                    detail: format!(
                        "no free slot in session {} within {:?}",
                        self.inner.id,
                        conn.reply_timeout()
                    ),
                });
            }
            slots = self
                .inner
                .freed
                .wait_timeout(slots, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// SEQUENCE on a free slot with its next sequence id, then `ops`. The
    /// slot advances only when the SEQUENCE itself succeeded; a request
    /// that got no answer retires its slot.
    pub fn compound(
        &self,
        conn: &Connection,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        self.compound_caching(conn, false, ops)
    }

    /// [`Session::compound`] with sa_cachethis set as given (the server
    /// then keeps the whole reply for a retry).
    pub fn compound_caching(
        &self,
        conn: &Connection,
        cachethis: bool,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        self.compound_as(conn, &self.inner.principal, cachethis, ops)
    }

    /// [`Session::compound_caching`] sent as `principal` instead of the
    /// session's own (another user acting inside the session, RFC 8881
    /// §2.10.8: a session is not bound to one principal); the slot table is
    /// the session's.
    pub fn compound_as(
        &self,
        conn: &Connection,
        principal: &Principal,
        cachethis: bool,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        let slot = self.take_slot(conn)?;
        let (seqid, highest) = {
            let s = self.slots();
            (s.slots[slot].seqid.wrapping_add(1), s.highest_busy())
        };
        let result = self.send_as(conn, principal, slot as u32, seqid, highest, cachethis, ops);
        let mut s = self.slots();
        match &result {
            Ok(res) => {
                if let Some(ok) = sequence_ok(res) {
                    s.slots[slot].seqid = seqid;
                    s.target_highest = ok.sr_target_highest_slotid;
                }
            }
            Err(ClientError::Timeout { .. }) => s.slots[slot].lost = true,
            Err(_) => {}
        }
        s.slots[slot].busy = false;
        drop(s);
        self.inner.freed.notify_all();
        result
    }

    /// SEQUENCE with exactly these slot, sequence id and cachethis values,
    /// then `ops`; the slot table is neither consulted nor updated.
    pub fn compound_with(
        &self,
        conn: &Connection,
        slot: u32,
        seqid: u32,
        cachethis: bool,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        self.send(conn, slot, seqid, slot, cachethis, ops)
    }

    /// [`Session::compound_with`] sent as `principal` instead of the
    /// session's own.
    pub fn compound_with_as(
        &self,
        conn: &Connection,
        principal: &Principal,
        exact: (u32, u32, bool),
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        let (slot, seqid, cachethis) = exact;
        self.send_as(conn, principal, slot, seqid, slot, cachethis, ops)
    }

    /// The sequence id the slot table expects next on `slot` (its last + 1).
    pub fn next_seqid(&self, slot: u32) -> Option<u32> {
        self.slots()
            .slots
            .get(slot as usize)
            .map(|s| s.seqid.wrapping_add(1))
    }

    /// Sets what the slot table believes the last accepted sequence id of
    /// `slot` is (after a test drove the slot itself).
    pub fn set_last_seqid(&self, slot: u32, seqid: u32) {
        if let Some(s) = self.slots().slots.get_mut(slot as usize) {
            s.seqid = seqid;
            s.lost = false;
        }
    }

    fn send(
        &self,
        conn: &Connection,
        slot: u32,
        seqid: u32,
        highest: u32,
        cachethis: bool,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        let principal = &self.inner.principal;
        self.send_as(conn, principal, slot, seqid, highest, cachethis, ops)
    }

    #[allow(clippy::too_many_arguments)]
    fn send_as(
        &self,
        conn: &Connection,
        principal: &Principal,
        slot: u32,
        seqid: u32,
        highest: u32,
        cachethis: bool,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        let mut all = Vec::with_capacity(ops.len() + 1);
        all.push(ops::sequence(
            self.inner.id,
            seqid,
            slot,
            highest,
            cachethis,
        ));
        all.extend(ops);
        conn.compound(principal, self.inner.minor, "", all)
    }

    /// A SEQUENCE-only compound (renews the lease); the SEQUENCE result.
    pub fn sequence(&self, conn: &Connection) -> Result<NfsRes<Sequence4ResOk>, ClientError> {
        let res = self.compound(conn, Vec::new())?;
        match res.resarray.first() {
            Some(NfsResOp::Sequence(r)) => Ok(r.clone()),
            Some(other) => Err(mismatched(conn, "SEQUENCE", other)),
            None => Ok(NfsRes::Fail(res.status)),
        }
    }

    /// BIND_CONN_TO_SESSION of `conn` (sent alone on it, as RFC 8881 §18.34 requires).
    pub fn bind_conn_to_session(
        &self,
        conn: &Connection,
        dir: ChannelDirFromClient4,
        rdma: bool,
    ) -> Result<NfsRes<BindConnToSession4ResOk>, ClientError> {
        let op = ops::bind_conn_to_session(self.inner.id, dir, rdma);
        match single_op(conn, &self.inner.principal, self.inner.minor, op)? {
            Ok(NfsResOp::BindConnToSession(r)) => Ok(r),
            Ok(other) => Err(mismatched(conn, "BIND_CONN_TO_SESSION", &other)),
            Err(s) => Ok(NfsRes::Fail(s)),
        }
    }

    /// BACKCHANNEL_CTL in the session: callback program `cb_program` with
    /// the callback security of the session's principal ([`ops::callback_sec`]);
    /// its status (or SEQUENCE's when that failed).
    pub fn backchannel_ctl(
        &self,
        conn: &Connection,
        cb_program: u32,
    ) -> Result<NfsStat4, ClientError> {
        let sec = ops::callback_sec(&self.inner.principal);
        let res = self.compound(conn, vec![ops::backchannel_ctl(cb_program, sec)])?;
        if res.status.is_ok() {
            conn.callbacks().set_program(cb_program);
        }
        Ok(last_status(&res))
    }

    /// DESTROY_SESSION as the only operation.
    pub fn destroy_session(&self, conn: &Connection) -> Result<NfsStat4, ClientError> {
        let op = ops::destroy_session(self.inner.id);
        Ok(
            match single_op(conn, &self.inner.principal, self.inner.minor, op)? {
                Ok(r) => r.status(),
                Err(s) => s,
            },
        )
    }

    /// DESTROY_CLIENTID of the session's client ID, as the only operation.
    pub fn destroy_clientid(&self, conn: &Connection) -> Result<NfsStat4, ClientError> {
        destroy_clientid(conn, &self.inner.principal, self.inner.clientid)
    }

    /// RECLAIM_COMPLETE in the session; its status (or SEQUENCE's when that failed).
    pub fn reclaim_complete(
        &self,
        conn: &Connection,
        one_fs: bool,
    ) -> Result<NfsStat4, ClientError> {
        let res = self.compound(conn, vec![ops::reclaim_complete(one_fs)])?;
        Ok(last_status(&res))
    }

    /// The server's lease time (GETATTR lease_time on the root).
    pub fn lease_time(&self, conn: &Connection) -> Result<Option<Duration>, ClientError> {
        let res = self.compound(conn, vec![ops::putrootfh(), ops::getattr_lease_time()])?;
        Ok(ops::lease_time(&res).map(|s| Duration::from_secs(s.into())))
    }

    /// Renews the lease every `period` with SEQUENCE-only compounds on
    /// `conn`, until the handle is stopped or dropped.
    pub fn keep_alive(&self, conn: &Connection, period: Duration) -> KeepAlive {
        let session = self.clone();
        let conn = conn.clone();
        KeepAlive::spawn(period, move || match session.sequence(&conn) {
            Ok(r) => Ok(r.status()),
            Err(e) => Err(e),
        })
    }
}

/// The SEQUENCE result of a reply, when it succeeded.
fn sequence_ok<'r>(res: &'r Compound4Res<'static>) -> Option<&'r Sequence4ResOk> {
    match res.resarray.first() {
        Some(NfsResOp::Sequence(NfsRes::Ok(ok))) => Some(ok),
        _ => None,
    }
}

/// The status of the last result (the COMPOUND's when there is none).
pub fn last_status(res: &Compound4Res<'static>) -> NfsStat4 {
    res.resarray
        .last()
        .map(|r| r.status())
        .unwrap_or(res.status)
}

/// Outcomes of a keep-alive thread so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepAliveReport {
    /// Renewals sent.
    pub sent: u64,
    /// Renewals answered NFS4_OK.
    pub ok: u64,
    /// The last status other than NFS4_OK, if any.
    pub last_failure: Option<NfsStat4>,
    /// The last transport error, if any.
    pub last_error: Option<String>,
}

/// A thread renewing a lease; stops when dropped.
pub struct KeepAlive {
    stop: Option<mpsc::Sender<()>>,
    report: Arc<Mutex<KeepAliveReport>>,
    thread: Option<JoinHandle<()>>,
}

impl KeepAlive {
    /// Runs `renew` every `period` until stopped.
    pub(crate) fn spawn<F>(period: Duration, renew: F) -> KeepAlive
    where
        F: Fn() -> Result<NfsStat4, ClientError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<()>();
        let report = Arc::new(Mutex::new(KeepAliveReport::default()));
        let rep = Arc::clone(&report);
        let period = period.max(Duration::from_millis(10));
        let thread = std::thread::Builder::new()
            .name("nfs-keepalive".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(period) {
                    let outcome = renew();
                    let mut r = rep.lock().unwrap_or_else(|e| e.into_inner());
                    r.sent += 1;
                    match outcome {
                        Ok(s) if s.is_ok() => r.ok += 1,
                        Ok(s) => r.last_failure = Some(s),
                        Err(e) => r.last_error = Some(e.to_string()),
                    }
                }
            })
            .ok();
        KeepAlive {
            stop: Some(tx),
            report,
            thread,
        }
    }

    /// What the renewals got so far.
    pub fn report(&self) -> KeepAliveReport {
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the thread (waits for a renewal in flight, bounded by its
    /// reply timeout) and returns the final report.
    pub fn stop(mut self) -> KeepAliveReport {
        self.halt();
        self.report()
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_owners_differ() {
        let a = ClientOwner::unique("x");
        let b = ClientOwner::unique("x");
        assert_ne!(a.owner, b.owner);
        assert_ne!(a.verifier, b.verifier);
        assert_eq!(a.rebooted().owner, a.owner);
        assert_ne!(a.rebooted().verifier, a.verifier);
    }

    #[test]
    fn the_slot_table_hands_out_free_slots_below_the_target() {
        let mut s = Slots {
            slots: vec![Slot::default(); 3],
            target_highest: 1,
        };
        assert_eq!(s.take(), Some(0));
        assert_eq!(s.take(), Some(1));
        assert_eq!(s.take(), None, "slot 2 is above the server's target");
        assert_eq!(s.highest_busy(), 1);
        s.slots[0].busy = false;
        s.slots[0].lost = true;
        assert_eq!(s.take(), None, "a lost slot is not reused");
    }
}
