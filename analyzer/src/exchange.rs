//! From RPC records to decoded messages: RPC headers, the program each call
//! belongs to (NFSv4, an NFSv4 callback program, or something to count and
//! leave aside), calls matched to replies per (connection, direction of the
//! call, xid) in a bounded table, and the COMPOUND / CB_COMPOUND bodies.
//!
//! Callback programs are recognised by content, on any port: the
//! conventional 0x40000000 and every program a client announced in
//! SETCLIENTID, CREATE_SESSION or BACKCHANNEL_CTL.

use crate::capture::packet::Timestamp;
use crate::nfs4::{
    CbCompound4Args, CbCompound4Res, Compound4Args, Compound4Res, NfsArgOp, CB_COMPOUND,
    NFS4_CALLBACK, NFS4_PROGRAM, NFSPROC4_COMPOUND,
};
use crate::rpc::auth::{RpcGssInitArg, RpcGssInitRes};
use crate::rpc::gss_token::{
    framed_mech, parse_initiator_token, InitiatorToken, Mech, TokenError, TokenErrorKind,
};
use crate::rpc::stream::{RecordRef, RecordSink, StreamNotice};
use crate::rpc::{
    AcceptStat, AcceptedReplyData, AuthFlavor, Credential, GssBody, MsgBody, Payload,
    RejectedReply, ReplyBody, RpcGssCred, RpcGssCredVers1, RpcGssProc, RpcGssService, RpcMessage,
};
use crate::tcp::flow::{CloseReason, ConnId, Direction};
use crate::tcp::hash::{FastMap, FastState};
use crate::xdr::{ErrorKind, Reader, XdrError};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;

/// Bounds of the call table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeLimits {
    /// Outstanding calls remembered per connection (oldest dropped first).
    pub max_pending_per_conn: usize,
    /// Outstanding calls remembered in all (oldest dropped first).
    pub max_pending_total: usize,
    /// Callback program numbers remembered.
    pub max_cb_programs: usize,
}

impl Default for ExchangeLimits {
    fn default() -> Self {
        ExchangeLimits {
            max_pending_per_conn: 16_384,
            max_pending_total: 1 << 16,
            max_cb_programs: 4096,
        }
    }
}

/// Whether a message is a call or a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    /// An RPC call.
    Call,
    /// An RPC reply.
    Reply,
}

impl MsgKind {
    /// `call` or `reply`.
    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::Call => "call",
            MsgKind::Reply => "reply",
        }
    }
}

/// What program a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    /// NFS version 4 (program 100003, version 4).
    Nfs4,
    /// An NFSv4 callback program (CB_NULL, CB_COMPOUND).
    Nfs4Callback,
    /// NFS version 2 or 3.
    NfsV2V3,
    /// Any other RPC program (portmap, mount, NLM, ...).
    Other,
    /// A reply whose call was not seen.
    Unknown,
}

/// The decoded body of a message.
#[derive(Debug, Clone)]
pub enum Body<'a> {
    /// NULL / CB_NULL (call or reply).
    Null,
    /// A COMPOUND call.
    Compound(Compound4Args<'a>),
    /// A COMPOUND reply.
    CompoundReply(Compound4Res<'a>),
    /// A CB_COMPOUND call.
    CbCompound(CbCompound4Args<'a>),
    /// A CB_COMPOUND reply.
    CbCompoundReply(CbCompound4Res<'a>),
    /// Not decoded: another program, an unmatched reply, an encrypted body,
    /// an unsuccessful reply, or an unknown procedure.
    None,
}

/// What an RPCSEC_GSS context-creation message carries (RFC 2203
/// §5.2.2): a NULL call whose credential is RPCSEC_GSS_INIT or
/// RPCSEC_GSS_CONTINUE_INIT, or the reply to one.
#[derive(Debug, Clone)]
pub enum GssInit<'a> {
    /// The call's `gss_token` read as an initiator's first token: its
    /// mechanism and Kerberos target principal, or why not.
    Call(Result<InitiatorToken, TokenError>),
    /// The reply's `rpc_gss_init_res` (an accepted SUCCESS reply).
    Reply {
        /// The results.
        res: RpcGssInitRes<'a>,
        /// The mechanism of its token, when framed (a Kerberos AP-REP is).
        mech: Option<Mech>,
    },
}

impl GssInit<'_> {
    /// Reads the arguments of a context-creation call.
    pub fn call(payload: Payload<'_>) -> GssInit<'static> {
        GssInit::Call(match payload.decode_all::<RpcGssInitArg<'_>>() {
            Ok(arg) => parse_initiator_token(arg.gss_token.as_bytes()),
            Err(_) => Err(TokenError {
                kind: TokenErrorKind::Malformed("rpc_gss_init_arg"),
                offset: 0,
                mech: None,
            }),
        })
    }

    /// Reads the results of a context-creation reply (`None` when they do
    /// not decode).
    pub fn reply(payload: Payload<'_>) -> Option<GssInit<'_>> {
        let res = payload.decode_all::<RpcGssInitRes<'_>>().ok()?;
        let mech = framed_mech(res.gss_token.as_bytes());
        Some(GssInit::Reply { res, mech })
    }
}

/// True for a credential of a context-creation call (INIT, CONTINUE_INIT).
pub fn is_gss_init(g: &RpcGssCredVers1<'_>) -> bool {
    matches!(
        g.gss_proc,
        RpcGssProc::RPCSEC_GSS_INIT | RpcGssProc::RPCSEC_GSS_CONTINUE_INIT
    )
}

/// How a reply answered (for replies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyStatus {
    /// Accepted with this status (SUCCESS carries results).
    Accepted(AcceptStat),
    /// Denied: RPC version mismatch.
    RpcMismatch,
    /// Denied: authentication error.
    AuthError(crate::rpc::AuthStat),
}

/// One decoded RPC message.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// The connection.
    pub conn: ConnId,
    /// The direction it travelled.
    pub dir: Direction,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// The RPC xid.
    pub xid: u32,
    /// Call or reply.
    pub kind: MsgKind,
    /// Frame of the first byte.
    pub first_frame: u64,
    /// Frame of the last byte (the message's frame, as tshark numbers it).
    pub frame: u64,
    /// Time of that frame.
    pub ts: Timestamp,
    /// The program class.
    pub program: Program,
    /// RPC program number (for replies: the call's).
    pub prog: Option<u32>,
    /// Program version (for replies: the call's).
    pub vers: Option<u32>,
    /// Procedure (for replies: the call's).
    pub procedure: Option<u32>,
    /// The COMPOUND minor version (for replies: the call's).
    pub minorversion: Option<u32>,
    /// For a reply: the frame of its call.
    pub call_frame: Option<u64>,
    /// For a call: its credential.
    pub cred: Option<Credential<'a>>,
    /// For a reply: how it answered.
    pub reply_status: Option<ReplyStatus>,
    /// The decoded body.
    pub body: Body<'a>,
    /// For a NULL call creating an RPCSEC_GSS context, or its reply: what
    /// the creation carries.
    pub gss_init: Option<GssInit<'a>>,
    /// The error that stopped decoding the body early (what was decoded
    /// before it is kept in `body`).
    pub error: Option<XdrError>,
    /// Size of the RPC message in bytes (the record, without its marks).
    pub len: usize,
    /// The capture holds the connection's TCP handshake (it shows the
    /// connection from its start).
    pub conn_start_seen: bool,
}

impl Message<'_> {
    /// The COMPOUND status of a (CB_)COMPOUND reply.
    pub fn compound_status(&self) -> Option<crate::nfs4::NfsStat4> {
        match &self.body {
            Body::CompoundReply(r) => Some(r.status),
            Body::CbCompoundReply(r) => Some(r.status),
            _ => None,
        }
    }

    /// Names of the operations, in order.
    pub fn op_names(&self) -> Vec<&'static str> {
        match &self.body {
            Body::Compound(c) => c.argarray.iter().map(|o| o.name()).collect(),
            Body::CompoundReply(c) => c.resarray.iter().map(|o| o.name()).collect(),
            Body::CbCompound(c) => c.argarray.iter().map(|o| o.name()).collect(),
            Body::CbCompoundReply(c) => c.resarray.iter().map(|o| o.name()).collect(),
            Body::Null | Body::None => Vec::new(),
        }
    }

    /// Calls `f` with the name of each operation, in order (what
    /// [`op_names`](Self::op_names) lists, without building the list).
    pub fn for_each_op_name(&self, mut f: impl FnMut(&'static str)) {
        match &self.body {
            Body::Compound(c) => c.argarray.iter().for_each(|o| f(o.name())),
            Body::CompoundReply(c) => c.resarray.iter().for_each(|o| f(o.name())),
            Body::CbCompound(c) => c.argarray.iter().for_each(|o| f(o.name())),
            Body::CbCompoundReply(c) => c.resarray.iter().for_each(|o| f(o.name())),
            Body::Null | Body::None => {}
        }
    }
}

/// A problem found while decoding, with its frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// From the stream layer (gaps, resynchronisation, not RPC).
    Stream(StreamNotice),
    /// A record that is not a valid RPC message.
    BadRpcHeader {
        /// The connection.
        conn: ConnId,
        /// Frame of the record's last byte.
        frame: u64,
        /// What was wrong.
        error: XdrError,
    },
    /// A (CB_)COMPOUND that could not be decoded completely.
    BadBody {
        /// The connection.
        conn: ConnId,
        /// Frame of the message.
        frame: u64,
        /// The xid.
        xid: u32,
        /// Call or reply.
        kind: MsgKind,
        /// What was wrong (with offset and field path).
        error: XdrError,
    },
}

/// Receives decoded messages.
pub trait MessageSink {
    /// One message.
    fn message(&mut self, m: &Message<'_>);
    /// A problem, with its frame.
    fn notice(&mut self, n: &Notice);
    /// The end of the capture: nothing follows (a sink that wraps another
    /// passes it on: rules judge what waited for evidence then).
    fn finish(&mut self);
}

/// Counters of the RPC/NFS layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeStats {
    /// RPC calls seen.
    pub calls: u64,
    /// RPC replies seen.
    pub replies: u64,
    /// Replies whose call was not seen (or was forgotten).
    pub unmatched_replies: u64,
    /// Calls that got no reply (at connection close or end of capture).
    pub unanswered_calls: u64,
    /// Calls forgotten to stay within the table's bounds (both below).
    pub evicted_calls: u64,
    /// Calls forgotten at `max_pending_per_conn`.
    pub evicted_calls_conn_limit: u64,
    /// Calls forgotten at `max_pending_total`.
    pub evicted_calls_total_limit: u64,
    /// Most calls waiting for their reply at once.
    pub peak_pending_calls: u64,
    /// Callback program numbers not remembered at `max_cb_programs`.
    pub cb_programs_dropped: u64,
    /// Records that are not RPC messages.
    pub bad_rpc_headers: u64,
    /// (CB_)COMPOUNDs that did not decode completely.
    pub bad_bodies: u64,
    /// NFSv4 COMPOUND calls by minor version (index 0, 1, 2; 3 = other).
    pub compounds_by_minor: [u64; 4],
    /// CB_COMPOUND calls.
    pub cb_compounds: u64,
    /// NFSv2/v3 calls (left aside).
    pub nfs_v2v3_calls: u64,
    /// Calls of other RPC programs (left aside).
    pub other_program_calls: u64,
    /// Calls whose body is encrypted (RPCSEC_GSS privacy).
    pub encrypted_bodies: u64,
    /// Calls per RPC program number.
    pub calls_by_program: Vec<(u32, u64)>,
}

/// What the call table remembers of a call, handed to the body decoder
/// with its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallInfo {
    /// RPC program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure.
    pub procedure: u32,
    /// The program class.
    pub program: Program,
    /// The COMPOUND minor version, when the call's COMPOUND header decoded.
    pub minorversion: Option<u32>,
    /// Frame of the call.
    pub frame: u64,
    /// The call's RPCSEC_GSS service, if it had such a credential.
    pub gss_service: Option<RpcGssService>,
    /// The call created an RPCSEC_GSS context (INIT or CONTINUE_INIT).
    pub gss_init: bool,
    seq: u64,
}

/// How the call table routed one record: what the body decoder needs
/// besides the record's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A call of this program class.
    Call(Program),
    /// A reply, with its call when the table had it.
    Reply(Option<CallInfo>),
}

type CallKey = (ConnId, Direction, u32);

/// The sequential half of the call/reply layer: RPC headers, program
/// classes (with the callback programs learned so far) and the bounded
/// table of calls waiting for their reply. It sees every record in order;
/// what it decides for one ([`Route`]) is all the [`BodyDecoder`] needs, so
/// bodies can be decoded elsewhere (another thread) in any grouping.
#[derive(Debug)]
pub struct CallTable {
    limits: ExchangeLimits,
    pending: FastMap<CallKey, CallInfo>,
    /// Calls in arrival order, per connection (for per-connection bounds).
    per_conn: FastMap<ConnId, VecDeque<(Direction, u32, u64)>>,
    /// All calls in arrival order (lazily cleaned; for the global bound).
    order: VecDeque<(CallKey, u64)>,
    seq: u64,
    cb_programs: HashSet<u32, FastState>,
    stats: ExchangeStats,
    /// Calls of program 100003 (the others are in `by_program`).
    nfs_calls: u64,
    by_program: FastMap<u32, u64>,
}

impl CallTable {
    /// An empty table that knows the conventional callback program.
    pub fn new(limits: ExchangeLimits) -> Self {
        let mut cb_programs = HashSet::default();
        cb_programs.insert(NFS4_CALLBACK);
        CallTable {
            limits,
            pending: FastMap::default(),
            per_conn: FastMap::default(),
            order: VecDeque::new(),
            seq: 0,
            cb_programs,
            stats: ExchangeStats::default(),
            nfs_calls: 0,
            by_program: FastMap::default(),
        }
    }

    /// Its counters (`calls_by_program` sorted by program number); the
    /// body decoder's are added by [`ExchangeStats::absorb`].
    pub fn stats(&self) -> ExchangeStats {
        let mut s = self.stats.clone();
        s.calls_by_program = self.by_program.iter().map(|(p, n)| (*p, *n)).collect();
        if self.nfs_calls > 0 {
            s.calls_by_program.push((NFS4_PROGRAM, self.nfs_calls));
        }
        s.calls_by_program.sort_unstable();
        s
    }

    /// Calls waiting for their reply.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// Callback program numbers known so far.
    pub fn callback_programs(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.cb_programs.iter().copied().collect();
        v.sort_unstable();
        v
    }

    /// True when the class of a call to `prog` could depend on callback
    /// programs learned from calls not yet decoded: `prog` is neither NFS
    /// nor already known as a callback program.
    pub fn class_may_change(&self, prog: u32) -> bool {
        prog != NFS4_PROGRAM && !self.cb_programs.contains(&prog)
    }

    /// Counts the calls still waiting as unanswered (end of capture).
    pub fn finish(&mut self) {
        self.stats.unanswered_calls += self.pending.len() as u64;
        self.pending.clear();
        self.per_conn.clear();
        self.order.clear();
    }

    fn classify(&self, prog: u32, vers: u32) -> Program {
        match (prog, vers) {
            (NFS4_PROGRAM, 4) => Program::Nfs4,
            (NFS4_PROGRAM, 2 | 3) => Program::NfsV2V3,
            (p, _) if self.cb_programs.contains(&p) => Program::Nfs4Callback,
            _ => Program::Other,
        }
    }

    /// Remembers `prog`, announced by a client as its callback program
    /// (in SETCLIENTID, CREATE_SESSION or BACKCHANNEL_CTL), within
    /// `max_cb_programs`.
    pub fn learn(&mut self, prog: u32) {
        // Program 100003 (or 0, a client without callbacks) is never a
        // callback program.
        if prog == NFS4_PROGRAM || prog == 0 || self.cb_programs.contains(&prog) {
            return;
        }
        if self.cb_programs.len() < self.limits.max_cb_programs {
            self.cb_programs.insert(prog);
        } else {
            self.stats.cb_programs_dropped += 1;
        }
    }

    /// Routes one record: parses its RPC header, classifies a call and
    /// remembers it, or finds a reply's call. A record that is not an RPC
    /// message is counted and given to `notice`; it has no route.
    pub fn route(&mut self, rec: &RecordRef<'_>, notice: impl FnOnce(Notice)) -> Option<Route> {
        match RpcMessage::parse(rec.bytes) {
            Ok((msg, payload)) => Some(self.route_message(rec, &msg, payload)),
            Err(error) => {
                self.not_rpc(rec, error, notice);
                None
            }
        }
    }

    /// Routes a record whose RPC header was parsed already.
    pub fn route_message(
        &mut self,
        rec: &RecordRef<'_>,
        msg: &RpcMessage<'_>,
        payload: Payload<'_>,
    ) -> Route {
        match &msg.body {
            MsgBody::Call(call) => self.on_call(rec, msg.xid, call, payload),
            MsgBody::Reply(_) => self.on_reply(rec, msg.xid),
        }
    }

    /// Counts a record that is not an RPC message and gives its notice.
    pub fn not_rpc(&mut self, rec: &RecordRef<'_>, error: XdrError, notice: impl FnOnce(Notice)) {
        self.stats.bad_rpc_headers += 1;
        notice(Notice::BadRpcHeader {
            conn: rec.conn,
            frame: rec.frame,
            error,
        });
    }

    fn on_call(
        &mut self,
        rec: &RecordRef<'_>,
        xid: u32,
        call: &crate::rpc::CallBody<'_>,
        payload: Payload<'_>,
    ) -> Route {
        self.stats.calls += 1;
        if call.prog == NFS4_PROGRAM {
            self.nfs_calls += 1;
        } else {
            *self.by_program.entry(call.prog).or_default() += 1;
        }
        let program = self.classify(call.prog, call.vers);
        // What the reply will need: the GSS service and the COMPOUND's
        // minor version, read as the body decoder reads them.
        let gss = match call.cred.flavor {
            AuthFlavor::RPCSEC_GSS => gss_vers1(&call.cred),
            _ => None,
        };
        let minorversion = match (program, call.procedure) {
            (Program::Nfs4, NFSPROC4_COMPOUND) => match unwrap_gss(payload, gss.as_ref()) {
                (Some(p), _) => compound_minorversion(p.bytes),
                (None, _) => None,
            },
            (Program::Nfs4Callback, CB_COMPOUND) => match unwrap_gss(payload, gss.as_ref()) {
                (Some(p), _) => cb_compound_minorversion(p.bytes),
                (None, _) => None,
            },
            _ => None,
        };
        self.seq += 1;
        self.remember(
            (rec.conn, rec.dir, xid),
            CallInfo {
                prog: call.prog,
                vers: call.vers,
                procedure: call.procedure,
                program,
                minorversion,
                frame: rec.frame,
                gss_service: gss.as_ref().map(|g| g.service),
                gss_init: gss.as_ref().is_some_and(is_gss_init),
                seq: self.seq,
            },
        );
        Route::Call(program)
    }

    fn on_reply(&mut self, rec: &RecordRef<'_>, xid: u32) -> Route {
        self.stats.replies += 1;
        let call = self.take_call((rec.conn, rec.dir.reverse(), xid));
        if call.is_none() {
            self.stats.unmatched_replies += 1;
        }
        Route::Reply(call)
    }

    fn remember(&mut self, key: CallKey, call: CallInfo) {
        if self.pending.insert(key, call).is_none() {
            self.per_conn
                .entry(key.0)
                .or_default()
                .push_back((key.1, key.2, call.seq));
        }
        self.order.push_back((key, call.seq));
        self.enforce_bounds(key.0);
        let pending = self.pending.len() as u64;
        self.stats.peak_pending_calls = self.stats.peak_pending_calls.max(pending);
    }

    fn enforce_bounds(&mut self, conn: ConnId) {
        if let Some(q) = self.per_conn.get_mut(&conn) {
            while q.len() > self.limits.max_pending_per_conn {
                if let Some((dir, xid, seq)) = q.pop_front() {
                    let key = (conn, dir, xid);
                    if self.pending.get(&key).is_some_and(|c| c.seq == seq) {
                        self.pending.remove(&key);
                        self.stats.evicted_calls += 1;
                        self.stats.evicted_calls_conn_limit += 1;
                    }
                }
            }
        }
        while self.pending.len() > self.limits.max_pending_total {
            let Some((key, seq)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&key).is_some_and(|c| c.seq == seq) {
                self.pending.remove(&key);
                self.stats.evicted_calls += 1;
                self.stats.evicted_calls_total_limit += 1;
            }
        }
        // Keep the order queue from growing with stale entries.
        if self.order.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.order
                .retain(|(k, s)| pending.get(k).is_some_and(|c| c.seq == *s));
        }
    }

    fn take_call(&mut self, key: CallKey) -> Option<CallInfo> {
        let call = self.pending.remove(&key)?;
        if let Some(q) = self.per_conn.get_mut(&key.0) {
            if let Some(i) = q.iter().position(|e| e.2 == call.seq) {
                q.remove(i);
            }
        }
        Some(call)
    }

    /// A connection ended: its calls still waiting are unanswered.
    pub fn closed(&mut self, conn: ConnId) {
        if let Some(q) = self.per_conn.remove(&conn) {
            for (dir, xid, seq) in q {
                let key = (conn, dir, xid);
                if self.pending.get(&key).is_some_and(|c| c.seq == seq) {
                    self.pending.remove(&key);
                    self.stats.unanswered_calls += 1;
                }
            }
        }
    }
}

/// The RPCSEC_GSS version 1 credential of a call, if it has one.
fn gss_vers1<'a>(cred: &crate::rpc::OpaqueAuth<'a>) -> Option<crate::rpc::RpcGssCredVers1<'a>> {
    let body = cred.body.as_borrowed()?;
    match Credential::decode(cred.flavor, body).ok()? {
        Credential::Gss(RpcGssCred::Vers1(g)) => Some(g),
        _ => None,
    }
}

/// The minor version of a COMPOUND call, read exactly as
/// `Compound4Args::decode_partial` reads its header (tag, minor version,
/// operation count): `None` when that header does not decode.
fn compound_minorversion(body: &[u8]) -> Option<u32> {
    let mut r = Reader::new(body);
    let _tag: crate::nfs4::Utf8StrCs<'_> = crate::xdr::Xdr::decode(&mut r).ok()?;
    let minor = r.u32().ok()?;
    r.u32().ok()?;
    Some(minor)
}

/// The minor version of a CB_COMPOUND call, read exactly as
/// `CbCompound4Args::decode_partial` reads its header (tag, minor version,
/// callback ident, operation count): `None` when that header does not
/// decode.
fn cb_compound_minorversion(body: &[u8]) -> Option<u32> {
    let mut r = Reader::new(body);
    let _tag: crate::nfs4::Utf8StrCs<'_> = crate::xdr::Xdr::decode(&mut r).ok()?;
    let minor = r.u32().ok()?;
    r.u32().ok()?;
    r.u32().ok()?;
    Some(minor)
}

/// The counters the body decoder keeps (see [`ExchangeStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyStats {
    /// (CB_)COMPOUNDs that did not decode completely.
    pub bad_bodies: u64,
    /// NFSv4 COMPOUND calls by minor version (index 0, 1, 2; 3 = other).
    pub compounds_by_minor: [u64; 4],
    /// CB_COMPOUND calls.
    pub cb_compounds: u64,
    /// NFSv2/v3 calls.
    pub nfs_v2v3_calls: u64,
    /// Calls of other RPC programs.
    pub other_program_calls: u64,
    /// Calls whose body is encrypted (RPCSEC_GSS privacy).
    pub encrypted_bodies: u64,
}

impl BodyStats {
    /// Adds another decoder's counters.
    pub fn absorb(&mut self, o: &BodyStats) {
        self.bad_bodies += o.bad_bodies;
        for (a, b) in self.compounds_by_minor.iter_mut().zip(o.compounds_by_minor) {
            *a += b;
        }
        self.cb_compounds += o.cb_compounds;
        self.nfs_v2v3_calls += o.nfs_v2v3_calls;
        self.other_program_calls += o.other_program_calls;
        self.encrypted_bodies += o.encrypted_bodies;
    }
}

impl ExchangeStats {
    /// The call table's counters with a body decoder's added.
    pub fn absorb(&mut self, b: &BodyStats) {
        self.bad_bodies += b.bad_bodies;
        for (a, n) in self.compounds_by_minor.iter_mut().zip(b.compounds_by_minor) {
            *a += n;
        }
        self.cb_compounds += b.cb_compounds;
        self.nfs_v2v3_calls += b.nfs_v2v3_calls;
        self.other_program_calls += b.other_program_calls;
        self.encrypted_bodies += b.encrypted_bodies;
    }
}

/// The other half of the call/reply layer: decodes the body of a record
/// the [`CallTable`] routed, builds the [`Message`] and hands it to a sink.
/// It keeps no state between records besides counters, so records can be
/// decoded by several of them in parallel.
#[derive(Debug, Default)]
pub struct BodyDecoder {
    /// Its counters.
    pub stats: BodyStats,
    /// Callback programs announced by the calls decoded, in order (for the
    /// call table's [`CallTable::learn`]).
    pub learned: Vec<u32>,
}

impl BodyDecoder {
    /// A decoder with nothing decoded.
    pub fn new() -> Self {
        BodyDecoder::default()
    }

    /// Decodes `rec` (routed `route`) and hands the message and any
    /// problem to `sink`; appends the callback programs it announces to
    /// `learned`.
    pub fn decode<M: MessageSink>(&mut self, rec: &RecordRef<'_>, route: Route, sink: &mut M) {
        // The table parsed this header already (elsewhere): parse it again.
        if let Ok((msg, payload)) = RpcMessage::parse(rec.bytes) {
            self.decode_message(rec, &msg, payload, route, sink);
        }
    }

    /// [`decode`](Self::decode) for a record whose header was parsed.
    pub fn decode_message<M: MessageSink>(
        &mut self,
        rec: &RecordRef<'_>,
        msg: &RpcMessage<'_>,
        payload: Payload<'_>,
        route: Route,
        sink: &mut M,
    ) {
        match (&msg.body, route) {
            (MsgBody::Call(call), Route::Call(program)) => {
                self.on_call(rec, msg.xid, call, program, payload, sink)
            }
            (MsgBody::Reply(reply), Route::Reply(call)) => {
                self.on_reply(rec, msg.xid, reply, call, payload, sink)
            }
            _ => {}
        }
    }

    fn learn_cb_programs(&mut self, args: &Compound4Args<'_>) {
        for op in &args.argarray {
            let prog = match op {
                NfsArgOp::Setclientid(a) => a.callback.cb_program,
                NfsArgOp::CreateSession(a) => a.csa_cb_program,
                NfsArgOp::BackchannelCtl(a) => a.bca_cb_program,
                _ => continue,
            };
            self.learned.push(prog);
        }
    }

    fn on_call<M: MessageSink>(
        &mut self,
        rec: &RecordRef<'_>,
        xid: u32,
        call: &crate::rpc::CallBody<'_>,
        program: Program,
        payload: Payload<'_>,
        sink: &mut M,
    ) {
        let cred = call
            .cred
            .body
            .as_borrowed()
            .and_then(|b| Credential::decode(call.cred.flavor, b).ok());
        let gss = match &cred {
            Some(Credential::Gss(RpcGssCred::Vers1(g))) => Some(g.clone()),
            _ => None,
        };
        let (body_payload, encrypted) = unwrap_gss(payload, gss.as_ref());
        let mut m = Message {
            len: rec.bytes.len(),
            conn_start_seen: rec.info.handshake_seen,
            conn: rec.conn,
            dir: rec.dir,
            src: src_of(rec),
            dst: dst_of(rec),
            xid,
            kind: MsgKind::Call,
            first_frame: rec.first_frame,
            frame: rec.frame,
            ts: rec.ts,
            program,
            prog: Some(call.prog),
            vers: Some(call.vers),
            procedure: Some(call.procedure),
            minorversion: None,
            call_frame: None,
            cred,
            reply_status: None,
            body: Body::None,
            gss_init: None,
            error: None,
        };
        if encrypted {
            self.stats.encrypted_bodies += 1;
        }
        match (program, call.procedure, body_payload) {
            (Program::Nfs4 | Program::Nfs4Callback, 0, _) => {
                m.body = Body::Null;
                if gss.as_ref().is_some_and(is_gss_init) {
                    m.gss_init = Some(GssInit::call(payload));
                }
            }
            (Program::Nfs4, NFSPROC4_COMPOUND, Some(p)) => {
                let mut r = Reader::new(p.bytes);
                match Compound4Args::decode_partial(&mut r) {
                    Ok(parsed) => {
                        m.minorversion = Some(parsed.value.minorversion);
                        let minor = (parsed.value.minorversion as usize).min(3);
                        self.stats.compounds_by_minor[minor] += 1;
                        self.learn_cb_programs(&parsed.value);
                        m.error = parsed.error.or_else(|| trailing(&r)).map(|e| p.shift(e));
                        m.body = Body::Compound(parsed.value);
                    }
                    Err(e) => {
                        self.stats.compounds_by_minor[3] += 1;
                        m.error = Some(p.shift(e));
                    }
                }
            }
            (Program::Nfs4Callback, CB_COMPOUND, Some(p)) => {
                self.stats.cb_compounds += 1;
                let mut r = Reader::new(p.bytes);
                match CbCompound4Args::decode_partial(&mut r) {
                    Ok(parsed) => {
                        m.minorversion = Some(parsed.value.minorversion);
                        m.error = parsed.error.or_else(|| trailing(&r)).map(|e| p.shift(e));
                        m.body = Body::CbCompound(parsed.value);
                    }
                    Err(e) => m.error = Some(p.shift(e)),
                }
            }
            (Program::NfsV2V3, _, _) => self.stats.nfs_v2v3_calls += 1,
            (Program::Other, _, _) => self.stats.other_program_calls += 1,
            _ => {}
        }
        self.report_body_error(&m, sink);
        sink.message(&m);
    }

    fn on_reply<M: MessageSink>(
        &mut self,
        rec: &RecordRef<'_>,
        xid: u32,
        reply: &ReplyBody,
        call: Option<CallInfo>,
        payload: Payload<'_>,
        sink: &mut M,
    ) {
        let reply_status = Some(match reply {
            ReplyBody::Accepted(a) => ReplyStatus::Accepted(match a.reply_data {
                AcceptedReplyData::Success => AcceptStat::SUCCESS,
                AcceptedReplyData::ProgUnavail => AcceptStat::PROG_UNAVAIL,
                AcceptedReplyData::ProgMismatch(_) => AcceptStat::PROG_MISMATCH,
                AcceptedReplyData::ProcUnavail => AcceptStat::PROC_UNAVAIL,
                AcceptedReplyData::GarbageArgs => AcceptStat::GARBAGE_ARGS,
                AcceptedReplyData::SystemErr => AcceptStat::SYSTEM_ERR,
                AcceptedReplyData::Unknown(s) => s,
            }),
            ReplyBody::Denied(RejectedReply::RpcMismatch(_)) => ReplyStatus::RpcMismatch,
            ReplyBody::Denied(RejectedReply::AuthError(s)) => ReplyStatus::AuthError(*s),
        });
        let mut m = Message {
            len: rec.bytes.len(),
            conn_start_seen: rec.info.handshake_seen,
            conn: rec.conn,
            dir: rec.dir,
            src: src_of(rec),
            dst: dst_of(rec),
            xid,
            kind: MsgKind::Reply,
            first_frame: rec.first_frame,
            frame: rec.frame,
            ts: rec.ts,
            program: call.map_or(Program::Unknown, |c| c.program),
            prog: call.map(|c| c.prog),
            vers: call.map(|c| c.vers),
            procedure: call.map(|c| c.procedure),
            minorversion: call.and_then(|c| c.minorversion),
            call_frame: call.map(|c| c.frame),
            cred: None,
            reply_status,
            body: Body::None,
            gss_init: None,
            error: None,
        };
        let success = reply_status == Some(ReplyStatus::Accepted(AcceptStat::SUCCESS));
        if let (Some(c), true) = (call, success) {
            let body_payload = match c.gss_service {
                Some(service) => match GssBody::parse_service(payload, service) {
                    Ok(GssBody::Plain(p)) => Some(p),
                    Ok(GssBody::Integrity { body, .. }) => Some(body),
                    Ok(GssBody::Privacy { .. }) | Err(_) => None,
                },
                None => Some(payload),
            };
            match (c.program, c.procedure, body_payload) {
                (Program::Nfs4 | Program::Nfs4Callback, 0, _) => {
                    m.body = Body::Null;
                    if c.gss_init {
                        // Context-creation results are never wrapped.
                        m.gss_init = GssInit::reply(payload);
                    }
                }
                (Program::Nfs4, NFSPROC4_COMPOUND, Some(p)) => {
                    let mut r = Reader::new(p.bytes);
                    match Compound4Res::decode_partial(&mut r) {
                        Ok(parsed) => {
                            m.error = parsed.error.or_else(|| trailing(&r)).map(|e| p.shift(e));
                            m.body = Body::CompoundReply(parsed.value);
                        }
                        Err(e) => m.error = Some(p.shift(e)),
                    }
                }
                (Program::Nfs4Callback, CB_COMPOUND, Some(p)) => {
                    let mut r = Reader::new(p.bytes);
                    match CbCompound4Res::decode_partial(&mut r) {
                        Ok(parsed) => {
                            m.error = parsed.error.or_else(|| trailing(&r)).map(|e| p.shift(e));
                            m.body = Body::CbCompoundReply(parsed.value);
                        }
                        Err(e) => m.error = Some(p.shift(e)),
                    }
                }
                _ => {}
            }
        }
        self.report_body_error(&m, sink);
        sink.message(&m);
    }

    fn report_body_error<M: MessageSink>(&mut self, m: &Message<'_>, sink: &mut M) {
        if let Some(e) = &m.error {
            self.stats.bad_bodies += 1;
            sink.notice(&Notice::BadBody {
                conn: m.conn,
                frame: m.frame,
                xid: m.xid,
                kind: m.kind,
                error: e.clone(),
            });
        }
    }
}

/// The call/reply layer in one piece: a [`RecordSink`] that routes each
/// record through a [`CallTable`], decodes it with a [`BodyDecoder`] and
/// hands the [`Message`] to a [`MessageSink`].
#[derive(Debug)]
pub struct Exchanges<M> {
    table: CallTable,
    body: BodyDecoder,
    /// Where messages go.
    pub sink: M,
}

impl<M: MessageSink> Exchanges<M> {
    /// A call/reply layer feeding `sink`.
    pub fn new(limits: ExchangeLimits, sink: M) -> Self {
        Exchanges {
            table: CallTable::new(limits),
            body: BodyDecoder::new(),
            sink,
        }
    }

    /// Counters so far (`calls_by_program` sorted by program number).
    pub fn stats(&self) -> ExchangeStats {
        let mut s = self.table.stats();
        s.absorb(&self.body.stats);
        s
    }

    /// Calls waiting for their reply.
    pub fn pending_calls(&self) -> usize {
        self.table.pending_calls()
    }

    /// Callback program numbers known so far.
    pub fn callback_programs(&self) -> Vec<u32> {
        self.table.callback_programs()
    }

    /// Counts the calls still waiting as unanswered (end of capture).
    pub fn finish(&mut self) {
        self.table.finish();
        self.sink.finish();
    }
}

/// An error for bytes left after a body that decoded completely (a COMPOUND
/// whose op count is smaller than the ops sent, or junk after it).
fn trailing(r: &Reader<'_>) -> Option<XdrError> {
    (!r.is_empty()).then(|| r.error(ErrorKind::Invalid("bytes after the last operation")))
}

/// The body inside an RPCSEC_GSS wrapping (`None` when encrypted), and
/// whether it was encrypted.
fn unwrap_gss<'a>(
    payload: Payload<'a>,
    gss: Option<&crate::rpc::RpcGssCredVers1<'_>>,
) -> (Option<Payload<'a>>, bool) {
    let Some(g) = gss else {
        return (Some(payload), false);
    };
    match GssBody::parse(payload, g) {
        Ok(GssBody::Plain(p)) => (Some(p), false),
        Ok(GssBody::Integrity { body, .. }) => (Some(body), false),
        Ok(GssBody::Privacy { .. }) => (None, true),
        Err(_) => (None, false),
    }
}

fn src_of(rec: &RecordRef<'_>) -> SocketAddr {
    match rec.dir {
        Direction::ToServer => rec.info.client,
        Direction::ToClient => rec.info.server,
    }
}

fn dst_of(rec: &RecordRef<'_>) -> SocketAddr {
    match rec.dir {
        Direction::ToServer => rec.info.server,
        Direction::ToClient => rec.info.client,
    }
}

impl<M: MessageSink> RecordSink for Exchanges<M> {
    fn record(&mut self, rec: RecordRef<'_>) {
        let (msg, payload) = match RpcMessage::parse(rec.bytes) {
            Ok(parsed) => parsed,
            Err(error) => {
                let sink = &mut self.sink;
                self.table.not_rpc(&rec, error, |n| sink.notice(&n));
                return;
            }
        };
        let route = self.table.route_message(&rec, &msg, payload);
        self.body
            .decode_message(&rec, &msg, payload, route, &mut self.sink);
        for prog in self.body.learned.drain(..) {
            self.table.learn(prog);
        }
    }

    fn notice(&mut self, n: StreamNotice) {
        self.sink.notice(&Notice::Stream(n));
    }

    fn closed(&mut self, conn: ConnId, _reason: CloseReason, _frame: u64) {
        self.table.closed(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nfs4::{CbCompound4Args, Compound4Args};

    /// The call table reads a COMPOUND's and a CB_COMPOUND's minor version
    /// as the decoder does, on every prefix of a real call and on bytes of
    /// every kind.
    #[test]
    fn minorversion_is_read_as_the_decoder_reads_it() {
        let mut w = crate::xdr::Writer::new();
        // tag "abc", minor version 1, two ops (PUTROOTFH, GETFH).
        for v in [3u32, 0x6162_6300, 1, 2, 24, 10] {
            w.put_u32(v);
        }
        let call = w.into_bytes();
        let mut inputs: Vec<Vec<u8>> = (0..=call.len()).map(|n| call[..n].to_vec()).collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            let bytes = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Mostly small numbers, as XDR lengths are.
                    if x % 3 == 0 {
                        (x >> 8) as u8
                    } else {
                        (x % 5) as u8
                    }
                })
                .collect();
            inputs.push(bytes);
        }
        for b in inputs {
            let decoded = Compound4Args::decode_partial(&mut Reader::new(&b))
                .ok()
                .map(|p| p.value.minorversion);
            assert_eq!(compound_minorversion(&b), decoded, "{b:?}");
            let decoded = CbCompound4Args::decode_partial(&mut Reader::new(&b))
                .ok()
                .map(|p| p.value.minorversion);
            assert_eq!(cb_compound_minorversion(&b), decoded, "{b:?}");
        }
    }
}
