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
use crate::rpc::stream::{RecordRef, RecordSink, StreamNotice};
use crate::rpc::{
    AcceptStat, AcceptedReplyData, Credential, GssBody, MsgBody, Payload, RejectedReply, ReplyBody,
    RpcGssCred, RpcGssService, RpcMessage,
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

#[derive(Debug, Clone, Copy)]
struct PendingCall {
    prog: u32,
    vers: u32,
    procedure: u32,
    program: Program,
    minorversion: Option<u32>,
    frame: u64,
    gss_service: Option<RpcGssService>,
    seq: u64,
}

type CallKey = (ConnId, Direction, u32);

/// The call/reply layer: a [`RecordSink`] that decodes each record and hands
/// [`Message`]s to a [`MessageSink`].
#[derive(Debug)]
pub struct Exchanges<M> {
    limits: ExchangeLimits,
    pending: FastMap<CallKey, PendingCall>,
    /// Calls in arrival order, per connection (for per-connection bounds).
    per_conn: FastMap<ConnId, VecDeque<(Direction, u32, u64)>>,
    /// All calls in arrival order (lazily cleaned; for the global bound).
    order: VecDeque<(CallKey, u64)>,
    seq: u64,
    cb_programs: HashSet<u32, FastState>,
    stats: ExchangeStats,
    by_program: FastMap<u32, u64>,
    /// Where messages go.
    pub sink: M,
}

impl<M: MessageSink> Exchanges<M> {
    /// A call/reply layer feeding `sink`.
    pub fn new(limits: ExchangeLimits, sink: M) -> Self {
        let mut cb_programs = HashSet::default();
        cb_programs.insert(NFS4_CALLBACK);
        Exchanges {
            limits,
            pending: FastMap::default(),
            per_conn: FastMap::default(),
            order: VecDeque::new(),
            seq: 0,
            cb_programs,
            stats: ExchangeStats::default(),
            by_program: FastMap::default(),
            sink,
        }
    }

    /// Counters so far (`calls_by_program` sorted by program number).
    pub fn stats(&self) -> ExchangeStats {
        let mut s = self.stats.clone();
        s.calls_by_program = self.by_program.iter().map(|(p, n)| (*p, *n)).collect();
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

    /// Counts the calls still waiting as unanswered (end of capture).
    pub fn finish(&mut self) {
        self.stats.unanswered_calls += self.pending.len() as u64;
        self.pending.clear();
        self.per_conn.clear();
        self.order.clear();
        self.sink.finish();
    }

    fn classify(&self, prog: u32, vers: u32) -> Program {
        match (prog, vers) {
            (NFS4_PROGRAM, 4) => Program::Nfs4,
            (NFS4_PROGRAM, 2 | 3) => Program::NfsV2V3,
            (p, _) if self.cb_programs.contains(&p) => Program::Nfs4Callback,
            _ => Program::Other,
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
            // Program 100003 (or 0, a client without callbacks) is never a
            // callback program.
            if prog == NFS4_PROGRAM || prog == 0 || self.cb_programs.contains(&prog) {
                continue;
            }
            if self.cb_programs.len() < self.limits.max_cb_programs {
                self.cb_programs.insert(prog);
            } else {
                self.stats.cb_programs_dropped += 1;
            }
        }
    }

    fn remember(&mut self, key: CallKey, call: PendingCall) {
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

    fn take_call(&mut self, key: CallKey) -> Option<PendingCall> {
        let call = self.pending.remove(&key)?;
        if let Some(q) = self.per_conn.get_mut(&key.0) {
            if let Some(i) = q.iter().position(|e| e.2 == call.seq) {
                q.remove(i);
            }
        }
        Some(call)
    }

    fn on_call(&mut self, rec: &RecordRef<'_>, msg: &RpcMessage<'_>, payload: Payload<'_>) {
        let MsgBody::Call(call) = &msg.body else {
            return;
        };
        self.stats.calls += 1;
        *self.by_program.entry(call.prog).or_default() += 1;
        let program = self.classify(call.prog, call.vers);
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
            xid: msg.xid,
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
            error: None,
        };
        if encrypted {
            self.stats.encrypted_bodies += 1;
        }
        match (program, call.procedure, body_payload) {
            (Program::Nfs4 | Program::Nfs4Callback, 0, _) => m.body = Body::Null,
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
        self.report_body_error(&m);
        self.seq += 1;
        self.remember(
            (rec.conn, rec.dir, msg.xid),
            PendingCall {
                prog: call.prog,
                vers: call.vers,
                procedure: call.procedure,
                program,
                minorversion: m.minorversion,
                frame: rec.frame,
                gss_service: gss.as_ref().map(|g| g.service),
                seq: self.seq,
            },
        );
        self.sink.message(&m);
    }

    fn on_reply(&mut self, rec: &RecordRef<'_>, msg: &RpcMessage<'_>, payload: Payload<'_>) {
        let MsgBody::Reply(reply) = &msg.body else {
            return;
        };
        self.stats.replies += 1;
        let call = self.take_call((rec.conn, rec.dir.reverse(), msg.xid));
        if call.is_none() {
            self.stats.unmatched_replies += 1;
        }
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
            xid: msg.xid,
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
                (Program::Nfs4 | Program::Nfs4Callback, 0, _) => m.body = Body::Null,
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
        self.report_body_error(&m);
        self.sink.message(&m);
    }

    fn report_body_error(&mut self, m: &Message<'_>) {
        if let Some(e) = &m.error {
            self.stats.bad_bodies += 1;
            self.sink.notice(&Notice::BadBody {
                conn: m.conn,
                frame: m.frame,
                xid: m.xid,
                kind: m.kind,
                error: e.clone(),
            });
        }
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
        match RpcMessage::parse(rec.bytes) {
            Ok((msg, payload)) => match msg.body {
                MsgBody::Call(_) => self.on_call(&rec, &msg, payload),
                MsgBody::Reply(_) => self.on_reply(&rec, &msg, payload),
            },
            Err(error) => {
                self.stats.bad_rpc_headers += 1;
                self.sink.notice(&Notice::BadRpcHeader {
                    conn: rec.conn,
                    frame: rec.frame,
                    error,
                });
            }
        }
    }

    fn notice(&mut self, n: StreamNotice) {
        self.sink.notice(&Notice::Stream(n));
    }

    fn closed(&mut self, conn: ConnId, _reason: CloseReason, _frame: u64) {
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
