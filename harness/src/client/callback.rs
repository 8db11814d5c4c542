//! The client's callback service: answers the server's CB_NULL and
//! CB_COMPOUND calls (NFSv4.0 callback connections and the NFSv4.1
//! backchannel) so that the server sees a live client, and records every
//! call for the tests.
//!
//! Default answers: CB_SEQUENCE echoes the session, sequence id and slot
//! and keeps a slot table (RFC 8881 §2.10.6.1: the next sequence id is a
//! new request, the same one a retry answered from the cache or with
//! NFS4ERR_RETRY_UNCACHED_REP, anything else NFS4ERR_SEQ_MISORDERED);
//! CB_LAYOUTRECALL gets NFS4ERR_NOMATCHING_LAYOUT (the client holds no
//! layouts); CB_GETATTR gets NFS4_OK with no attributes; every other
//! operation of the call's minor version gets NFS4_OK; an operation the
//! minor version does not define gets NFS4ERR_OP_ILLEGAL. A test can
//! replace the answer with [`CallbackService::set_override`].
//!
//! Callbacks are accepted with AUTH_NONE and AUTH_SYS only: the client
//! offers no RPCSEC_GSS callback security (CREATE_SESSION and
//! BACKCHANNEL_CTL carry AUTH_SYS or AUTH_NONE) and is no GSS acceptor, so
//! a call with an RPCSEC_GSS credential (e.g. the context creation an
//! NFSv4.0 server starts towards a krb5 client's callback address) is
//! recorded and denied with AUTH_ERROR AUTH_BADCRED.

use super::rpc;
use analyzer::nfs4::{
    CbArgOp, CbCompound4Args, CbCompound4Res, CbGetattr4ResOk, CbResOp, CbSequence4Args,
    CbSequence4ResOk, Fattr4, NfsRes, NfsStat4, SessionId4, CB_COMPOUND, CB_NULL, NFS4_CALLBACK,
};
use analyzer::rpc::{AcceptStat, AuthFlavor, AuthStat, CallBody};
use analyzer::xdr::{to_bytes, ErrorKind, IntoStatic, Opaque, Reader};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// The callback program version of the XDR (`NFS_CB`, both NFSv4.0 and 4.1).
pub const CB_VERSION: u32 = 1;

/// Another version some text of RFC 8881 §18.36 names for the backchannel;
/// accepted too (and recorded), so that a server reading it so still finds
/// a live client.
pub const CB_VERSION_ALT: u32 = 4;

/// Most callbacks kept in the record (the oldest are dropped past it).
const MAX_RECORDED: usize = 10_000;

/// Which connection a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallContext {
    /// The client's end.
    pub local: SocketAddr,
    /// The server's end.
    pub peer: SocketAddr,
}

/// One call the server made to the client.
#[derive(Debug, Clone)]
pub struct ReceivedCallback {
    /// RPC program number.
    pub program: u32,
    /// RPC program version.
    pub version: u32,
    /// Procedure (0 CB_NULL, 1 CB_COMPOUND).
    pub procedure: u32,
    /// Transaction id.
    pub xid: u32,
    /// The flavor of the call's credential.
    pub flavor: AuthFlavor,
    /// The client's end of the connection it came on.
    pub local: SocketAddr,
    /// The server's end of the connection it came on.
    pub peer: SocketAddr,
    /// When it arrived.
    pub at: SystemTime,
    /// CB_COMPOUND arguments, when they decoded.
    pub args: Option<CbCompound4Args<'static>>,
    /// Operation names of a CB_COMPOUND (e.g. `CB_SEQUENCE`, `CB_RECALL`).
    pub ops: Vec<&'static str>,
    /// Status of the CB_COMPOUND reply sent (`None`: no COMPOUND reply sent).
    pub reply_status: Option<NfsStat4>,
    /// True when the reply was a replay from the CB_SEQUENCE cache.
    pub replayed: bool,
}

impl ReceivedCallback {
    /// The CB_COMPOUND's minor version.
    pub fn minor(&self) -> Option<u32> {
        self.args.as_ref().map(|a| a.minorversion)
    }

    /// True when the CB_COMPOUND holds an operation named `name`.
    pub fn has_op(&self, name: &str) -> bool {
        self.ops.contains(&name)
    }
}

/// What a test's override wants done with a CB_COMPOUND.
#[derive(Debug, Clone)]
pub enum CbAction {
    /// Answer as the service would by default.
    Default,
    /// Send these results instead.
    Reply(CbCompound4Res<'static>),
    /// Send no reply at all (a client that ignores the call).
    NoReply,
}

/// A test's replacement for the default CB_COMPOUND answers.
pub type CbOverride = dyn Fn(&CbCompound4Args<'_>) -> CbAction + Send + Sync;

/// State of one backchannel slot.
#[derive(Debug, Default)]
struct CbSlot {
    seqid: u32,
    cached: Option<CbCompound4Res<'static>>,
}

#[derive(Default)]
struct CbState {
    received: Vec<ReceivedCallback>,
    slots: HashMap<(SessionId4, u32), CbSlot>,
}

/// Answers and records the server's calls; shared by the connections it serves.
pub struct CallbackService {
    program: AtomicU32,
    max_slots: AtomicU32,
    state: Mutex<CbState>,
    arrived: Condvar,
    override_fn: Mutex<Option<Arc<CbOverride>>>,
}

impl Default for CallbackService {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CallbackService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CallbackService(program {:#x}, {} received)",
            self.program(),
            self.lock().received.len()
        )
    }
}

/// How a CB_COMPOUND was answered.
struct Answer {
    res: Option<CbCompound4Res<'static>>,
    replayed: bool,
}

impl CallbackService {
    /// A service for program `NFS4_CALLBACK` with 16 backchannel slots.
    pub fn new() -> Self {
        CallbackService {
            program: AtomicU32::new(NFS4_CALLBACK),
            max_slots: AtomicU32::new(16),
            state: Mutex::new(CbState::default()),
            arrived: Condvar::new(),
            override_fn: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CbState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The callback program number answered (others get PROG_UNAVAIL).
    pub fn program(&self) -> u32 {
        self.program.load(Ordering::Relaxed)
    }

    /// Answers program `program` from now on (the `cb_program` the client declared).
    pub fn set_program(&self, program: u32) {
        self.program.store(program, Ordering::Relaxed);
    }

    /// Accepts CB_SEQUENCE slots `0..n` (others get NFS4ERR_BADSLOT).
    pub fn set_max_slots(&self, n: u32) {
        self.max_slots.store(n, Ordering::Relaxed);
    }

    /// Replaces the default CB_COMPOUND answer. The closure runs on the
    /// connection's reader thread: it must not wait for replies on that
    /// same connection.
    pub fn set_override<F>(&self, f: F)
    where
        F: Fn(&CbCompound4Args<'_>) -> CbAction + Send + Sync + 'static,
    {
        *self.override_fn.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    /// Back to the default answers.
    pub fn clear_override(&self) {
        *self.override_fn.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Every call received so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedCallback> {
        self.lock().received.clone()
    }

    /// Forgets the calls received so far.
    pub fn clear_received(&self) {
        self.lock().received.clear();
    }

    /// Waits up to `timeout` for a received call matching `pred` (including
    /// one already received) and returns it.
    pub fn wait_for<P>(&self, timeout: Duration, pred: P) -> Option<ReceivedCallback>
    where
        P: Fn(&ReceivedCallback) -> bool,
    {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if let Some(cb) = st.received.iter().find(|c| pred(c)) {
                return Some(cb.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self
                .arrived
                .wait_timeout(st, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Answers one call from the server: the reply record to write, or
    /// `None` to stay silent.
    pub fn handle(
        &self,
        ctx: &CallContext,
        xid: u32,
        call: &CallBody<'_>,
        args: &[u8],
    ) -> Option<Vec<u8>> {
        let mut rec = ReceivedCallback {
            program: call.prog,
            version: call.vers,
            procedure: call.procedure,
            xid,
            flavor: call.cred.flavor,
            local: ctx.local,
            peer: ctx.peer,
            at: SystemTime::now(),
            args: None,
            ops: Vec::new(),
            reply_status: None,
            replayed: false,
        };
        let reply = if call.cred.flavor == AuthFlavor::RPCSEC_GSS {
            Some(rpc::auth_error_record(xid, AuthStat::AUTH_BADCRED))
        } else if call.prog != self.program() {
            Some(rpc::accept_error_record(
                xid,
                rpc::accept_data(AcceptStat::PROG_UNAVAIL),
            ))
        } else if call.vers != CB_VERSION && call.vers != CB_VERSION_ALT {
            Some(rpc::prog_mismatch_record(xid, CB_VERSION))
        } else {
            match call.procedure {
                CB_NULL => Some(rpc::success_reply_record(xid, &[])),
                CB_COMPOUND => self.cb_compound(xid, args, &mut rec),
                _ => Some(rpc::accept_error_record(
                    xid,
                    rpc::accept_data(AcceptStat::PROC_UNAVAIL),
                )),
            }
        };
        self.record(rec);
        reply
    }

    fn record(&self, rec: ReceivedCallback) {
        let mut st = self.lock();
        if st.received.len() >= MAX_RECORDED {
            st.received.remove(0);
        }
        st.received.push(rec);
        drop(st);
        self.arrived.notify_all();
    }

    /// Decodes and answers a CB_COMPOUND.
    fn cb_compound(&self, xid: u32, args: &[u8], rec: &mut ReceivedCallback) -> Option<Vec<u8>> {
        let partial = match CbCompound4Args::decode_partial(&mut Reader::new(args)) {
            Ok(p) => p,
            Err(_) => {
                return Some(rpc::accept_error_record(
                    xid,
                    rpc::accept_data(AcceptStat::GARBAGE_ARGS),
                ))
            }
        };
        let illegal_tail = match &partial.error {
            None => false,
            Some(e) if matches!(e.kind(), ErrorKind::UnknownOperation(_)) => true,
            Some(_) => {
                return Some(rpc::accept_error_record(
                    xid,
                    rpc::accept_data(AcceptStat::GARBAGE_ARGS),
                ))
            }
        };
        let cargs = partial.value;
        rec.ops = cargs.argarray.iter().map(|o| o.name()).collect();
        if illegal_tail {
            rec.ops.push("CB_ILLEGAL");
        }
        let over = self
            .override_fn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let action = over.map(|f| f(&cargs)).unwrap_or(CbAction::Default);
        let answer = match action {
            CbAction::Default => self.answer(&cargs, illegal_tail),
            CbAction::Reply(res) => Answer {
                res: Some(res),
                replayed: false,
            },
            CbAction::NoReply => Answer {
                res: None,
                replayed: false,
            },
        };
        rec.args = Some(cargs.into_static());
        rec.replayed = answer.replayed;
        let res = answer.res?;
        rec.reply_status = Some(res.status);
        Some(rpc::success_reply_record(xid, &to_bytes(&res)))
    }

    /// The default answer to a CB_COMPOUND.
    fn answer(&self, args: &CbCompound4Args<'_>, illegal_tail: bool) -> Answer {
        let minor = args.minorversion;
        let tag = Opaque::from(args.tag.as_bytes().to_vec());
        if minor > 2 {
            return Answer {
                res: Some(CbCompound4Res {
                    status: NfsStat4::NFS4ERR_MINOR_VERS_MISMATCH,
                    tag,
                    resarray: Vec::new(),
                }),
                replayed: false,
            };
        }
        let mut results: Vec<CbResOp<'static>> = Vec::new();
        let mut seq_slot: Option<(SessionId4, u32, bool)> = None;
        let mut status = NfsStat4::NFS4_OK;
        for (i, op) in args.argarray.iter().enumerate() {
            let res = if let CbArgOp::CbSequence(a) = op {
                if minor == 0 {
                    CbResOp::CbIllegal(NfsStat4::NFS4ERR_OP_ILLEGAL)
                } else if i != 0 {
                    CbResOp::CbSequence(NfsRes::Fail(NfsStat4::NFS4ERR_SEQUENCE_POS))
                } else {
                    match self.sequence(a) {
                        SeqOutcome::New(ok) => {
                            seq_slot = Some((a.csa_sessionid, a.csa_slotid, a.csa_cachethis));
                            CbResOp::CbSequence(NfsRes::Ok(ok))
                        }
                        SeqOutcome::Replay(cached) => {
                            return Answer {
                                res: Some(cached),
                                replayed: true,
                            }
                        }
                        SeqOutcome::Fail(s) => CbResOp::CbSequence(NfsRes::Fail(s)),
                    }
                }
            } else if minor >= 1 && i == 0 {
                status_result(op, NfsStat4::NFS4ERR_OP_NOT_IN_SESSION)
            } else {
                default_result(op, minor)
            };
            status = res.status();
            results.push(res);
            if !status.is_ok() {
                break;
            }
        }
        if illegal_tail && status.is_ok() {
            status = NfsStat4::NFS4ERR_OP_ILLEGAL;
            results.push(CbResOp::CbIllegal(status));
        }
        let res = CbCompound4Res {
            status,
            tag,
            resarray: results,
        };
        if let Some((sid, slot, cachethis)) = seq_slot {
            self.store(sid, slot, cachethis.then(|| res.clone()));
        }
        Answer {
            res: Some(res),
            replayed: false,
        }
    }

    /// Applies the slot rules to a CB_SEQUENCE.
    fn sequence(&self, a: &CbSequence4Args) -> SeqOutcome {
        let max = self.max_slots.load(Ordering::Relaxed);
        if a.csa_slotid >= max {
            return SeqOutcome::Fail(NfsStat4::NFS4ERR_BADSLOT);
        }
        let mut st = self.lock();
        let slot = st.slots.entry((a.csa_sessionid, a.csa_slotid)).or_default();
        if a.csa_sequenceid == slot.seqid.wrapping_add(1) {
            slot.seqid = a.csa_sequenceid;
            slot.cached = None;
            SeqOutcome::New(CbSequence4ResOk {
                csr_sessionid: a.csa_sessionid,
                csr_sequenceid: a.csa_sequenceid,
                csr_slotid: a.csa_slotid,
                csr_highest_slotid: max.saturating_sub(1),
                csr_target_highest_slotid: max.saturating_sub(1),
            })
        } else if a.csa_sequenceid == slot.seqid && slot.seqid != 0 {
            match &slot.cached {
                Some(res) => SeqOutcome::Replay(res.clone()),
                None => SeqOutcome::Fail(NfsStat4::NFS4ERR_RETRY_UNCACHED_REP),
            }
        } else {
            SeqOutcome::Fail(NfsStat4::NFS4ERR_SEQ_MISORDERED)
        }
    }

    /// Caches the reply of a new request (when the server asked for it).
    fn store(&self, sid: SessionId4, slot: u32, res: Option<CbCompound4Res<'static>>) {
        if let Some(s) = self.lock().slots.get_mut(&(sid, slot)) {
            s.cached = res;
        }
    }
}

/// What the slot table says about a CB_SEQUENCE.
enum SeqOutcome {
    New(CbSequence4ResOk),
    Replay(CbCompound4Res<'static>),
    Fail(NfsStat4),
}

/// The minor version that introduced a callback operation.
fn since_minor(op: &CbArgOp<'_>) -> u32 {
    match op {
        CbArgOp::CbGetattr(_) | CbArgOp::CbRecall(_) | CbArgOp::CbIllegal(_) => 0,
        CbArgOp::CbOffload(_) => 2,
        _ => 1,
    }
}

/// The default result of a callback operation other than CB_SEQUENCE.
fn default_result(op: &CbArgOp<'_>, minor: u32) -> CbResOp<'static> {
    if since_minor(op) > minor || matches!(op, CbArgOp::CbIllegal(_)) {
        return CbResOp::CbIllegal(NfsStat4::NFS4ERR_OP_ILLEGAL);
    }
    match op {
        CbArgOp::CbGetattr(_) => CbResOp::CbGetattr(NfsRes::Ok(CbGetattr4ResOk {
            obj_attributes: Fattr4::from_values(&[]),
        })),
        CbArgOp::CbLayoutrecall(_) => CbResOp::CbLayoutrecall(NfsStat4::NFS4ERR_NOMATCHING_LAYOUT),
        other => status_result(other, NfsStat4::NFS4_OK),
    }
}

/// The result of `op` carrying only `status`.
pub fn status_result(op: &CbArgOp<'_>, status: NfsStat4) -> CbResOp<'static> {
    let fail = |s: NfsStat4| {
        if s.is_ok() {
            NfsStat4::NFS4ERR_SERVERFAULT
        } else {
            s
        }
    };
    match op {
        CbArgOp::CbGetattr(_) => CbResOp::CbGetattr(NfsRes::Fail(fail(status))),
        CbArgOp::CbRecall(_) => CbResOp::CbRecall(status),
        CbArgOp::CbLayoutrecall(_) => CbResOp::CbLayoutrecall(status),
        CbArgOp::CbNotify(_) => CbResOp::CbNotify(status),
        CbArgOp::CbPushDeleg(_) => CbResOp::CbPushDeleg(status),
        CbArgOp::CbRecallAny(_) => CbResOp::CbRecallAny(status),
        CbArgOp::CbRecallableObjAvail(_) => CbResOp::CbRecallableObjAvail(status),
        CbArgOp::CbRecallSlot(_) => CbResOp::CbRecallSlot(status),
        CbArgOp::CbSequence(_) => CbResOp::CbSequence(NfsRes::Fail(fail(status))),
        CbArgOp::CbWantsCancelled(_) => CbResOp::CbWantsCancelled(status),
        CbArgOp::CbNotifyLock(_) => CbResOp::CbNotifyLock(status),
        CbArgOp::CbNotifyDeviceid(_) => CbResOp::CbNotifyDeviceid(status),
        CbArgOp::CbOffload(_) => CbResOp::CbOffload(status),
        CbArgOp::CbIllegal(_) => CbResOp::CbIllegal(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::nfs4::{CbRecall4Args, Stateid4, StateidOther};
    use analyzer::rpc::{OpaqueAuth, RecordAssembler, RpcMessage};

    fn ctx() -> CallContext {
        let a: SocketAddr = "127.0.0.1:700".parse().expect("addr");
        CallContext { local: a, peer: a }
    }

    fn seq(seqid: u32, slot: u32, cache: bool) -> CbArgOp<'static> {
        CbArgOp::CbSequence(CbSequence4Args {
            csa_sessionid: SessionId4([7; 16]),
            csa_sequenceid: seqid,
            csa_slotid: slot,
            csa_highest_slotid: slot,
            csa_cachethis: cache,
            csa_referring_call_lists: Vec::new(),
        })
    }

    fn recall() -> CbArgOp<'static> {
        CbArgOp::CbRecall(CbRecall4Args {
            stateid: Stateid4 {
                seqid: 1,
                other: StateidOther([1; 12]),
            },
            truncate: false,
            fh: Opaque::from(vec![1, 2, 3]),
        })
    }

    /// Sends one CB_COMPOUND through `handle` and decodes the reply.
    fn call(
        svc: &CallbackService,
        minor: u32,
        ops: Vec<CbArgOp<'static>>,
    ) -> CbCompound4Res<'static> {
        let args = CbCompound4Args {
            tag: Opaque::from("t"),
            minorversion: minor,
            callback_ident: 0,
            argarray: ops,
        };
        let msg = RpcMessage::call(
            9,
            NFS4_CALLBACK,
            1,
            CB_COMPOUND,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        );
        let call = msg.as_call().expect("call").clone();
        let rec = svc
            .handle(&ctx(), 9, &call, &to_bytes(&args))
            .expect("a reply");
        let mut asm = RecordAssembler::new();
        asm.feed(&rec).expect("framed");
        let data = asm.pop().expect("record").data;
        let (reply, payload) = RpcMessage::parse(&data).expect("parses");
        assert!(reply.is_success());
        payload
            .decode::<CbCompound4Res>()
            .expect("results")
            .into_static()
    }

    #[test]
    fn cb_sequence_follows_the_slot_rules() {
        let svc = CallbackService::new();
        let first = call(&svc, 1, vec![seq(1, 0, true), recall()]);
        assert_eq!(first.status, NfsStat4::NFS4_OK);
        assert_eq!(first.resarray.len(), 2);
        // The same sequence id again: a retry, answered from the cache.
        let again = call(&svc, 1, vec![seq(1, 0, true), recall()]);
        assert_eq!(again, first);
        assert!(svc.received().last().expect("recorded").replayed);
        // Skipping a sequence id is misordered; the next one is fine.
        assert_eq!(
            call(&svc, 1, vec![seq(3, 0, false)]).status,
            NfsStat4::NFS4ERR_SEQ_MISORDERED
        );
        assert_eq!(
            call(&svc, 1, vec![seq(2, 0, false)]).status,
            NfsStat4::NFS4_OK
        );
        // A retry of an uncached request.
        assert_eq!(
            call(&svc, 1, vec![seq(2, 0, false)]).status,
            NfsStat4::NFS4ERR_RETRY_UNCACHED_REP
        );
        // A slot beyond the table.
        assert_eq!(
            call(&svc, 1, vec![seq(1, 99, false)]).status,
            NfsStat4::NFS4ERR_BADSLOT
        );
    }

    #[test]
    fn position_and_minor_version_rules() {
        let svc = CallbackService::new();
        let r = call(&svc, 1, vec![recall()]);
        assert_eq!(r.status, NfsStat4::NFS4ERR_OP_NOT_IN_SESSION);
        let r = call(&svc, 0, vec![recall()]);
        assert_eq!(r.status, NfsStat4::NFS4_OK, "CB_RECALL is a 4.0 operation");
        let r = call(&svc, 0, vec![seq(1, 0, false)]);
        assert_eq!(
            r.status,
            NfsStat4::NFS4ERR_OP_ILLEGAL,
            "no CB_SEQUENCE in 4.0"
        );
        let r = call(&svc, 3, vec![recall()]);
        assert_eq!(r.status, NfsStat4::NFS4ERR_MINOR_VERS_MISMATCH);
        assert!(r.resarray.is_empty());
        let ops: Vec<_> = svc.received().iter().map(|c| c.ops.clone()).collect();
        assert_eq!(ops[0], vec!["CB_RECALL"]);
    }

    #[test]
    fn an_override_replaces_or_suppresses_the_answer() {
        let svc = CallbackService::new();
        svc.set_override(|_| CbAction::NoReply);
        let msg = RpcMessage::call(
            1,
            NFS4_CALLBACK,
            1,
            CB_COMPOUND,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        );
        let call = msg.as_call().expect("call").clone();
        let args = CbCompound4Args {
            tag: Opaque::from("t"),
            minorversion: 0,
            callback_ident: 0,
            argarray: vec![recall()],
        };
        assert!(svc.handle(&ctx(), 1, &call, &to_bytes(&args)).is_none());
        svc.clear_override();
        assert!(svc.handle(&ctx(), 1, &call, &to_bytes(&args)).is_some());
        // Another program number is not ours.
        let other = RpcMessage::call(2, 77, 1, CB_NULL, OpaqueAuth::none(), OpaqueAuth::none());
        let rec = svc
            .handle(&ctx(), 2, other.as_call().expect("call"), &[])
            .expect("reply");
        let (reply, _) = RpcMessage::parse(&rec[4..]).expect("parses");
        assert!(!reply.is_success());
        assert_eq!(svc.received().len(), 3);
    }

    #[test]
    fn cb_null_is_answered_for_versions_1_and_4_only() {
        let svc = CallbackService::new();
        for (vers, ok) in [(1, true), (4, true), (2, false)] {
            let msg = RpcMessage::call(
                5,
                NFS4_CALLBACK,
                vers,
                CB_NULL,
                OpaqueAuth::none(),
                OpaqueAuth::none(),
            );
            let rec = svc
                .handle(&ctx(), 5, msg.as_call().expect("call"), &[])
                .expect("reply");
            let (reply, _) = RpcMessage::parse(&rec[4..]).expect("parses");
            assert_eq!(reply.is_success(), ok, "version {vers}");
        }
        let versions: Vec<u32> = svc.received().iter().map(|c| c.version).collect();
        assert_eq!(versions, vec![1, 4, 2]);
    }
}
