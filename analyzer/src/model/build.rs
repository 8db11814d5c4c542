//! From decoded messages to events: the identity-bearing parts of each
//! COMPOUND call are kept until its reply arrives; then every answered
//! operation becomes an [`Event`], handed with the model to an
//! [`EventSink`] (the rules judge it, then the model applies it).

use super::event::{At, CallOp, Event, EventSink, GssInitReply, InCompound, Protection};
use super::*;
use crate::exchange::{Body, GssInit, Message, Notice, Program};
use crate::nfs4::{CbArgOp, CbResOp, NfsArgOp, NfsRes, NfsResOp, OpenClaimType4, Setclientid4Res};
use crate::rpc::gss_token::InitiatorToken;
use crate::rpc::{Credential, RpcGssCred, RpcGssCredVers1, RpcGssProc};
use crate::tcp::flow::Direction;
use crate::tcp::hash::FastMap;
use std::collections::VecDeque;

/// Bounds of the model (memory stays bounded whatever the capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// Calls waiting for their reply.
    pub max_pending: usize,
    /// Sessions, clients, client IDs and connections, each.
    pub max_entities: usize,
    /// Recovery events (and findings).
    pub max_events: usize,
}

impl Default for ModelLimits {
    fn default() -> Self {
        ModelLimits {
            max_pending: 1 << 16,
            max_entities: 100_000,
            max_events: 10_000,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PendingCompound {
    ops: Vec<CallOp>,
    /// Frame of the call.
    frame: u64,
    /// Size of the call's RPC message.
    len: usize,
    /// Who sent it.
    principal: Option<Principal>,
    /// The RPCSEC_GSS service of its credential.
    gss_service: Option<RpcGssService>,
}

/// An RPCSEC_GSS context-creation call waiting for its reply.
#[derive(Debug, Clone)]
pub(crate) struct PendingGssInit {
    /// Frame of the call.
    frame: u64,
    /// INIT or CONTINUE_INIT.
    gss_proc: RpcGssProc,
    /// The handle its credential carried (empty for INIT).
    handle: Vec<u8>,
    /// The service its credential named.
    service: RpcGssService,
    /// Its token read as an initiator's first token.
    token: Result<InitiatorToken, TokenError>,
}

type Key = (ConnId, Direction, u32);

/// Calls waiting for their replies, oldest first.
#[derive(Debug)]
pub(crate) struct Pending<V = PendingCompound> {
    map: FastMap<Key, V>,
    order: VecDeque<Key>,
}

impl<V> Default for Pending<V> {
    fn default() -> Self {
        Pending {
            map: FastMap::default(),
            order: VecDeque::new(),
        }
    }
}

impl<V> Pending<V> {
    /// Adds a call; returns how many older calls were forgotten to stay
    /// within `max`.
    fn insert(&mut self, key: Key, call: V, max: usize) -> u64 {
        let mut evicted = 0;
        if self.map.insert(key, call).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > max {
            match self.order.pop_front() {
                Some(k) => {
                    if self.map.remove(&k).is_some() {
                        evicted += 1;
                    }
                }
                None => break,
            }
        }
        if self.order.len() > 2 * self.map.len() + 1024 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
        evicted
    }

    fn take(&mut self, key: &Key) -> Option<V> {
        self.map.remove(key)
    }
}

fn principal(cred: Option<&Credential<'_>>) -> Option<Principal> {
    Some(match cred? {
        Credential::None => Principal::None,
        Credential::Sys(p) => {
            let mut gids = p.gids.clone();
            gids.sort_unstable();
            Principal::Sys {
                machine: p.machinename.as_bytes().to_vec(),
                uid: p.uid,
                gid: p.gid,
                gids,
            }
        }
        Credential::Gss(RpcGssCred::Vers1(g)) => Principal::Gss {
            handle: g.handle.as_bytes().to_vec(),
        },
        c => Principal::Other(c.flavor().0),
    })
}

/// The RPCSEC_GSS credential of a call, if it has one.
fn gss_cred<'m>(m: &'m Message<'_>) -> Option<&'m RpcGssCredVers1<'m>> {
    match &m.cred {
        Some(Credential::Gss(RpcGssCred::Vers1(g))) => Some(g),
        _ => None,
    }
}

fn protection(p: &crate::nfs4::StateProtect4A, gss_service: Option<RpcGssService>) -> Protection {
    let gss_protected = gss_service.is_some_and(|s| s != RpcGssService::rpc_gss_svc_none);
    match p {
        crate::nfs4::StateProtect4A::None => Protection {
            how: StateProtectHow4::SP4_NONE,
            enforce: Default::default(),
            ssv: None,
            gss_protected,
            gss_service,
        },
        crate::nfs4::StateProtect4A::MachCred(o) => Protection {
            how: StateProtectHow4::SP4_MACH_CRED,
            enforce: o.spo_must_enforce.clone(),
            ssv: None,
            gss_protected,
            gss_service,
        },
        crate::nfs4::StateProtect4A::Ssv(p) => Protection {
            how: StateProtectHow4::SP4_SSV,
            enforce: p.ssp_ops.spo_must_enforce.clone(),
            ssv: Some((p.ssp_hash_algs.len(), p.ssp_encr_algs.len(), p.ssp_window)),
            gss_protected,
            gss_service,
        },
    }
}

fn call_op(op: &NfsArgOp<'_>, gss_service: Option<RpcGssService>) -> CallOp {
    let gss_protected = gss_service.is_some_and(|s| s != RpcGssService::rpc_gss_svc_none);
    match op {
        NfsArgOp::ExchangeId(a) => CallOp::ExchangeId {
            owner: a.eia_clientowner.co_ownerid.as_bytes().to_vec(),
            verifier: a.eia_clientowner.co_verifier.0,
            flags: a.eia_flags,
            protect: Box::new(protection(&a.eia_state_protect, gss_service)),
            empty_impl: a.eia_client_impl_id.is_empty(),
        },
        NfsArgOp::CreateSession(a) => CallOp::CreateSession {
            clientid: a.csa_clientid.0,
            cb_program: a.csa_cb_program,
            sequence: a.csa_sequence,
            flags: a.csa_flags,
            fore: Box::new(a.csa_fore_chan_attrs.clone()),
            back: Box::new(a.csa_back_chan_attrs.clone()),
        },
        NfsArgOp::BindConnToSession(a) => CallOp::BindConnToSession {
            session: a.bctsa_sessid,
            dir: a.bctsa_dir,
            gss_protected,
        },
        NfsArgOp::Renew(a) => CallOp::Renew {
            clientid: a.clientid.0,
        },
        NfsArgOp::Getattr(a) if [10, 24, 67].iter().any(|n| a.attr_request.is_set(*n)) => {
            CallOp::Getattr {
                mask: Box::new(a.attr_request.clone()),
            }
        }
        NfsArgOp::Readdir(a)
            if a.attr_request.is_set(11) && [24, 67].iter().any(|n| a.attr_request.is_set(*n)) =>
        {
            CallOp::Readdir {
                mask: Box::new(a.attr_request.clone()),
            }
        }
        NfsArgOp::Sequence(a) => CallOp::Sequence {
            session: a.sa_sessionid,
        },
        NfsArgOp::Setclientid(a) => CallOp::SetClientId {
            id: a.client.id.as_bytes().to_vec(),
            verifier: a.client.verifier.0,
        },
        NfsArgOp::SetclientidConfirm(a) => CallOp::SetClientIdConfirm {
            clientid: a.clientid.0,
            confirm: a.setclientid_confirm.0,
        },
        NfsArgOp::DestroySession(a) => CallOp::DestroySession {
            session: a.dsa_sessionid,
        },
        NfsArgOp::DestroyClientid(a) => CallOp::DestroyClientid {
            clientid: a.dca_clientid.0,
        },
        NfsArgOp::ReclaimComplete(a) => CallOp::ReclaimComplete {
            one_fs: a.rca_one_fs,
        },
        NfsArgOp::Open(a) if OpenClaimType4::is_reclaim(a.claim.discriminant()) => {
            CallOp::Reclaim { op: "OPEN" }
        }
        NfsArgOp::Lock(a) if a.reclaim => CallOp::Reclaim { op: "LOCK" },
        NfsArgOp::Open(_) => CallOp::NonReclaimLock { op: "OPEN" },
        NfsArgOp::Lock(_) => CallOp::NonReclaimLock { op: "LOCK" },
        NfsArgOp::FreeStateid(_) => CallOp::FreeStateid,
        NfsArgOp::BackchannelCtl(a) => CallOp::BackchannelCtl {
            cb_program: a.bca_cb_program,
        },
        other => CallOp::Other { name: other.name() },
    }
}

/// The specific event of one answered operation, if it has one.
fn op_event<'e>(
    op: &'e CallOp,
    r: &'e NfsResOp<'e>,
    frees_state: bool,
    issued_at: Option<SocketAddr>,
) -> Option<Event<'e>> {
    Some(match (op, r) {
        (CallOp::ExchangeId { .. }, NfsResOp::ExchangeId(res)) => Event::ExchangeId {
            call: op,
            result: result(res),
        },
        (CallOp::CreateSession { .. }, NfsResOp::CreateSession(res)) => Event::CreateSession {
            call: op,
            result: result(res),
        },
        (
            CallOp::BindConnToSession {
                session,
                dir,
                gss_protected,
            },
            NfsResOp::BindConnToSession(res),
        ) => Event::BindConnToSession {
            session: *session,
            dir: *dir,
            gss_protected: *gss_protected,
            result: result(res),
        },
        (CallOp::Sequence { session }, NfsResOp::Sequence(res)) => Event::Sequence {
            session: *session,
            result: result(res),
            frees_state,
        },
        (CallOp::SetClientId { id, verifier }, NfsResOp::Setclientid(Setclientid4Res::Ok(x))) => {
            Event::SetClientId {
                id,
                verifier: *verifier,
                reply: x,
            }
        }
        (CallOp::SetClientIdConfirm { clientid, confirm }, NfsResOp::SetclientidConfirm(s)) => {
            Event::SetClientIdConfirm {
                clientid: *clientid,
                confirm: *confirm,
                issued_at,
                status: *s,
            }
        }
        (CallOp::DestroySession { session }, NfsResOp::DestroySession(s)) if s.is_ok() => {
            Event::DestroySession { session: *session }
        }
        (CallOp::DestroyClientid { clientid }, NfsResOp::DestroyClientid(s)) => {
            Event::DestroyClientid {
                clientid: *clientid,
                status: *s,
            }
        }
        (CallOp::ReclaimComplete { one_fs }, NfsResOp::ReclaimComplete(s)) => {
            Event::ReclaimComplete {
                one_fs: *one_fs,
                status: *s,
            }
        }
        (CallOp::Renew { clientid }, NfsResOp::Renew(s)) => Event::Renew {
            clientid: *clientid,
            status: *s,
        },
        (CallOp::Getattr { mask }, NfsResOp::Getattr(res)) => Event::Getattr { mask, result: res },
        (CallOp::Readdir { mask }, NfsResOp::Readdir(res)) => Event::Readdir { mask, result: res },
        (CallOp::NonReclaimLock { op: name }, r) if r.status().is_ok() => {
            Event::Locked { op: name }
        }
        (CallOp::Reclaim { op: name }, r) => Event::Reclaim {
            op: name,
            status: r.status(),
        },
        (CallOp::BackchannelCtl { cb_program }, NfsResOp::BackchannelCtl(s)) if s.is_ok() => {
            Event::BackchannelCtl {
                cb_program: *cb_program,
            }
        }
        _ => return None,
    })
}

/// Whether only the status of an answered operation is judged (no
/// specific event covers it with this kind of result).
fn judged_by_status(op: &CallOp, r: &NfsResOp<'_>) -> bool {
    !match (op, r) {
        (CallOp::ExchangeId { empty_impl, .. }, NfsResOp::ExchangeId(res)) => {
            matches!(res, NfsRes::Ok(_)) || *empty_impl
        }
        (CallOp::CreateSession { .. }, NfsResOp::CreateSession(_))
        | (CallOp::Sequence { .. }, NfsResOp::Sequence(_))
        | (CallOp::SetClientId { .. }, NfsResOp::Setclientid(Setclientid4Res::Ok(_)))
        | (CallOp::SetClientIdConfirm { .. }, NfsResOp::SetclientidConfirm(_))
        | (CallOp::ReclaimComplete { .. }, NfsResOp::ReclaimComplete(_))
        | (CallOp::Renew { .. }, NfsResOp::Renew(_))
        | (CallOp::Getattr { .. }, NfsResOp::Getattr(_))
        | (CallOp::Reclaim { .. }, _) => true,
        (CallOp::BindConnToSession { .. }, NfsResOp::BindConnToSession(res)) => {
            matches!(res, NfsRes::Ok(_))
        }
        (CallOp::DestroySession { .. }, NfsResOp::DestroySession(s))
        | (CallOp::DestroyClientid { .. }, NfsResOp::DestroyClientid(s))
        | (CallOp::BackchannelCtl { .. }, NfsResOp::BackchannelCtl(s)) => s.is_ok(),
        (CallOp::NonReclaimLock { .. }, r) => r.status().is_ok(),
        _ => false,
    }
}

/// The upper half of a client ID: the boot epoch of servers that build
/// client IDs from their start time and a counter.
pub(crate) fn epoch(clientid: u64) -> u32 {
    (clientid >> 32) as u32
}

/// The client and server ends of a message's connection, from the RPC
/// itself: an NFS call goes to the server and a callback call comes from
/// it (never from ports or a missing handshake).
fn roles(m: &Message<'_>) -> (SocketAddr, SocketAddr) {
    use crate::exchange::MsgKind;
    let to_server = match (m.program, m.kind) {
        (Program::Nfs4, MsgKind::Call) | (Program::Nfs4Callback, MsgKind::Reply) => true,
        (Program::Nfs4, MsgKind::Reply) | (Program::Nfs4Callback, MsgKind::Call) => false,
        _ => m.dir == Direction::ToServer,
    };
    if to_server {
        (m.src, m.dst)
    } else {
        (m.dst, m.src)
    }
}

fn result<T>(r: &NfsRes<T>) -> Result<&T, NfsStat4> {
    match r {
        NfsRes::Ok(x) => Ok(x),
        NfsRes::Fail(s) => Err(*s),
    }
}

impl Model {
    /// The endpoint at `addr`, created when first seen.
    pub(crate) fn endpoint(&mut self, addr: SocketAddr, frame: u64) -> &mut Endpoint {
        self.endpoints.entry(addr).or_insert_with(|| Endpoint {
            addr,
            declarations: Vec::new(),
            minor_versions: BTreeSet::new(),
            first_frame: frame,
            lease_time: None,
            restarts: Vec::new(),
            last_epoch: None,
            gss_targets: Vec::new(),
        })
    }

    fn note_connection(&mut self, m: &Message<'_>) {
        let (client, server) = roles(m);
        let known = self.connections.contains_key(&m.conn);
        if !known && self.connections.len() >= self.limits.max_entities {
            self.limit_counts.connections_dropped += 1;
        } else if !known {
            self.connections.insert(
                m.conn,
                Connection {
                    id: m.conn,
                    client,
                    server,
                    first_frame: m.frame,
                    owners: BTreeSet::new(),
                    start_seen: m.conn_start_seen,
                    lost_from: self.losses.get(&m.conn).copied(),
                },
            );
        }
        let ep = self.endpoint(server, m.frame);
        if let Some(minor) = m.minorversion {
            ep.minor_versions.insert(minor);
        }
    }

    /// Hands the events of one decoded message to `sink`.
    pub fn message(&mut self, m: &Message<'_>, sink: &mut impl EventSink) {
        match (m.program, m.kind) {
            (Program::Nfs4Callback, crate::exchange::MsgKind::Call) => self.on_callback(m, sink),
            (Program::Nfs4Callback, crate::exchange::MsgKind::Reply) => {
                self.on_callback_reply(m, sink)
            }
            (Program::Nfs4, crate::exchange::MsgKind::Call) => self.on_call(m, sink),
            (Program::Nfs4, crate::exchange::MsgKind::Reply) => self.on_reply(m, sink),
            _ => {}
        }
    }

    /// Notes what a decoding problem means for the model: bytes lost from
    /// a connection.
    pub fn notice(&mut self, n: &Notice) {
        let Notice::Stream(s) = n else {
            return;
        };
        if !matches!(
            s.what,
            crate::rpc::stream::NoticeKind::Gap { .. }
                | crate::rpc::stream::NoticeKind::Skipped { .. }
                | crate::rpc::stream::NoticeKind::BufferLimit { .. }
                | crate::rpc::stream::NoticeKind::OversizedRecord { .. }
        ) {
            return;
        }
        self.gaps_seen = true;
        if let Some(c) = self.connections.get_mut(&s.conn) {
            c.lost_from.get_or_insert(s.frame);
        }
        if self.losses.contains_key(&s.conn) || self.losses.len() < self.limits.max_entities {
            self.losses.entry(s.conn).or_insert(s.frame);
        }
    }

    fn at(&self, m: &Message<'_>, call_frame: u64, principal: Option<Principal>) -> At {
        let (client, server) = roles(m);
        At {
            conn: m.conn,
            client,
            server,
            call_frame,
            frame: m.frame,
            ts: m.ts,
            minor: m.minorversion,
            principal,
            gss_service: None,
            compound: InCompound::default(),
            call_len: m.len,
        }
    }

    fn on_call(&mut self, m: &Message<'_>, sink: &mut impl EventSink) {
        if let (Some(GssInit::Call(token)), Some(g)) = (&m.gss_init, gss_cred(m)) {
            return self.on_gss_init_call(m, g, token);
        }
        if let Some(g) = gss_cred(m).filter(|g| g.gss_proc == RpcGssProc::RPCSEC_GSS_DATA) {
            if matches!(m.body, Body::Compound(_) | Body::None) && m.procedure != Some(0) {
                let at = self.at(m, m.frame, None);
                let (handle, service) = (g.handle.as_bytes(), g.service);
                sink.event(self, &at, &Event::GssCall { handle, service });
            }
        }
        let Body::Compound(args) = &m.body else {
            return;
        };
        self.note_connection(m);
        let who = principal(m.cred.as_ref());
        let gss_service = gss_cred(m).map(|g| g.service);
        let ops: Vec<CallOp> = args
            .argarray
            .iter()
            .map(|op| call_op(op, gss_service))
            .collect();
        let mut at = self.at(m, m.frame, who);
        at.gss_service = gss_service;
        at.compound.sequenced = matches!(args.argarray.first(), Some(NfsArgOp::Sequence(_)));
        sink.event(self, &at, &Event::Called { ops: &ops });
        self.limit_counts.pending_evicted += self.pending.insert(
            (m.conn, m.dir, m.xid),
            PendingCompound {
                ops,
                frame: m.frame,
                len: m.len,
                // Moved from the place, which is not used again.
                principal: at.principal,
                gss_service,
            },
            self.limits.max_pending,
        );
    }

    /// An RPCSEC_GSS context-creation call: kept until its reply.
    fn on_gss_init_call(
        &mut self,
        m: &Message<'_>,
        g: &RpcGssCredVers1<'_>,
        token: &Result<InitiatorToken, TokenError>,
    ) {
        let call = PendingGssInit {
            frame: m.frame,
            gss_proc: g.gss_proc,
            handle: g.handle.as_bytes().to_vec(),
            service: g.service,
            token: token.clone(),
        };
        self.limit_counts.gss_inits_evicted +=
            self.gss_pending
                .insert((m.conn, m.dir, m.xid), call, self.limits.max_pending);
    }

    /// The reply to an RPCSEC_GSS context-creation call: its event.
    fn on_gss_init_reply(&mut self, m: &Message<'_>, sink: &mut impl EventSink) {
        let Some(call) = self.gss_pending.take(&(m.conn, m.dir.reverse(), m.xid)) else {
            return;
        };
        let reply = match &m.gss_init {
            Some(GssInit::Reply { res, mech }) => Some(GssInitReply {
                handle: res.handle.as_bytes(),
                gss_major: res.gss_major,
                mech: mech.as_ref(),
            }),
            _ => None,
        };
        let at = self.at(m, call.frame, None);
        sink.event(
            self,
            &at,
            &Event::GssContextInit {
                gss_proc: call.gss_proc,
                call_handle: &call.handle,
                service: call.service,
                token: &call.token,
                reply,
            },
        );
    }

    fn on_reply(&mut self, m: &Message<'_>, sink: &mut impl EventSink) {
        if matches!(m.body, Body::Null) {
            return self.on_gss_init_reply(m, sink);
        }
        let Body::CompoundReply(res) = &m.body else {
            return;
        };
        let Some(mut call) = self.pending.take(&(m.conn, m.dir.reverse(), m.xid)) else {
            return;
        };
        let frees_state = call.ops.iter().any(|o| matches!(o, CallOp::FreeStateid));
        // The call's principal is not used again: moved, not cloned.
        let mut at = self.at(m, call.frame, call.principal.take());
        at.call_len = call.len;
        at.gss_service = call.gss_service;
        at.compound.sequenced = matches!(call.ops.first(), Some(CallOp::Sequence { .. }));
        let other = CallOp::Other { name: "ILLEGAL" };
        for (i, r) in res.resarray.iter().enumerate() {
            let op = call.ops.get(i).unwrap_or(&other);
            at.compound.clientid = at
                .compound
                .session
                .and_then(|s| self.live_session(at.server, &s))
                .and_then(|s| s.clientid);
            sink.event(
                self,
                &at,
                &Event::Answered {
                    index: i,
                    count: call.ops.len(),
                    op,
                    result: r,
                    by_status: judged_by_status(op, r),
                },
            );
            let issued_at = match op {
                CallOp::SetClientIdConfirm { clientid, confirm } => self
                    .v40_issued_at(*clientid, *confirm)
                    .filter(|e| *e != at.server),
                _ => None,
            };
            // A SEQUENCE that repeats its slot's last sequence id is a retry.
            let retry = match (op, r) {
                (CallOp::Sequence { .. }, NfsResOp::Sequence(NfsRes::Ok(x))) => self
                    .live_session(at.server, &x.sr_sessionid)
                    .and_then(|s| s.slots.get(&x.sr_slotid))
                    .is_some_and(|p| p.seqid == x.sr_sequenceid),
                _ => false,
            };
            if let Some(why) = self.restart_evidence(&at, op, r) {
                sink.event(self, &at, &Event::Restarted { why });
            }
            if let Some(ev) = op_event(op, r, frees_state, issued_at) {
                sink.event(self, &at, &ev);
            }
            if let (CallOp::Sequence { session }, NfsResOp::Sequence(NfsRes::Ok(_))) = (op, r) {
                at.compound.session = Some(*session);
                at.compound.retry = retry;
            }
            at.compound.track_fh(op.name());
        }
    }

    fn on_callback(&mut self, m: &Message<'_>, sink: &mut impl EventSink) {
        let session = match &m.body {
            Body::CbCompound(args) => match args.argarray.first() {
                Some(CbArgOp::CbSequence(seq)) => Some(seq.csa_sessionid),
                _ => None,
            },
            _ => None,
        };
        let at = self.at(m, m.frame, None);
        sink.event(
            self,
            &at,
            &Event::CallbackCalled {
                program: m.prog,
                session,
            },
        );
        let Some(sid) = session else {
            return;
        };
        if self.cb_pending.len() < self.limits.max_pending {
            self.cb_pending.insert((m.conn, m.xid), (sid, m.frame));
        } else {
            self.limit_counts.cb_pending_dropped += 1;
        }
    }

    fn on_callback_reply(&mut self, m: &Message<'_>, sink: &mut impl EventSink) {
        let Some((session, call_frame)) = self.cb_pending.remove(&(m.conn, m.xid)) else {
            return;
        };
        let Body::CbCompoundReply(res) = &m.body else {
            return;
        };
        let refused = match res.resarray.first() {
            Some(CbResOp::CbSequence(NfsRes::Fail(st))) => Some(*st),
            _ => None,
        };
        let at = self.at(m, call_frame, None);
        sink.event(
            self,
            &at,
            &Event::CallbackAnswered {
                session,
                call_frame,
                refused,
            },
        );
    }

    /// What in this answer shows that the server behind the address
    /// restarted (or was replaced) since the model last heard from it.
    fn restart_evidence(&self, at: &At, op: &CallOp, r: &NfsResOp<'_>) -> Option<&'static str> {
        let ep = self.endpoints.get(&at.server)?;
        let new_epoch = |cid: u64| ep.last_epoch.is_some_and(|e| e != epoch(cid));
        match (op, r) {
            (CallOp::ExchangeId { .. }, NfsResOp::ExchangeId(NfsRes::Ok(x))) => {
                if let Some(d) = ep.current() {
                    if d.major.as_slice() != x.eir_server_owner.so_major_id.as_bytes()
                        || d.scope.as_slice() != x.eir_server_scope.as_bytes()
                    {
                        return Some("the address now declares another server owner or scope");
                    }
                    if d.minor != x.eir_server_owner.so_minor_id {
                        return Some("the address now declares another minor id");
                    }
                }
                new_epoch(x.eir_clientid.0).then_some("it issues client IDs of a new boot epoch")
            }
            (CallOp::SetClientId { .. }, NfsResOp::Setclientid(Setclientid4Res::Ok(x))) => {
                new_epoch(x.clientid.0).then_some("it issues client IDs of a new boot epoch")
            }
            (CallOp::CreateSession { clientid, .. }, NfsResOp::CreateSession(NfsRes::Ok(x))) => {
                let s = self.live_session(at.server, &x.csr_sessionid)?;
                (s.endpoint == at.server && s.clientid.is_some_and(|c| c != *clientid))
                    .then_some("it gave a new client ID the id of a live session")
            }
            (
                CallOp::CreateSession { clientid, .. }
                | CallOp::DestroyClientid { clientid }
                | CallOp::Renew { clientid },
                r,
            ) if r.status() == NfsStat4::NFS4ERR_STALE_CLIENTID => {
                let rec = self.live_record(at.server, *clientid)?;
                let lease = ep.lease_time?;
                let (t0, c0, _) = rec.renewed?;
                (rec.confirmed_frame.is_some()
                    && c0 != at.conn
                    && at.ts.since(t0) < f64::from(lease))
                .then_some("a client ID renewed within its lease is unknown after a reconnect")
            }
            _ => None,
        }
    }

    /// The address that issued this SETCLIENTID (clientid, confirm) pair.
    pub fn v40_issued_at(&self, clientid: u64, confirm: [u8; 8]) -> Option<SocketAddr> {
        self.v40_confirms
            .iter()
            .rev()
            .find(|(p, _, _)| *p == (clientid, confirm))
            .map(|(_, e, _)| *e)
    }
}
