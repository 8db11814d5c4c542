//! Applying events to the model: the facts each answered operation
//! establishes (declarations, client IDs issued, confirmed, replaced and
//! ended, sessions and their connections, slots, renewals, restarts and the
//! recovery timeline), and the RPCSEC_GSS contexts: their creation (the
//! target principal the initiator's token named) and the calls that used
//! them.
//!
//! A client ID or a session ends when the capture shows it did: destroyed
//! by the client, replaced by another client ID of its owner (RFC 8881
//! §18.35.4 cases 3, 4 and 5), forgotten by the server (it said
//! NFS4ERR_STALE_CLIENTID / NFS4ERR_BADSESSION), or because the server
//! behind its address restarted. An ended record is never compared with
//! values the server gives later.

use super::build::epoch;
use super::event::{At, CallOp, Event, GssInitReply};
use super::*;
use crate::nfs4::StateProtect4R;
use crate::rpc::gss_token::{InitiatorToken, TokenError};
use crate::rpc::{RpcGssProc, RpcGssService};

/// Statuses that reveal a server restart, a lease expiry or grace.
pub fn is_recovery_status(s: NfsStat4) -> bool {
    matches!(
        s,
        NfsStat4::NFS4ERR_STALE_CLIENTID
            | NfsStat4::NFS4ERR_BADSESSION
            | NfsStat4::NFS4ERR_DEADSESSION
            | NfsStat4::NFS4ERR_GRACE
            | NfsStat4::NFS4ERR_NO_GRACE
            | NfsStat4::NFS4ERR_RECLAIM_BAD
            | NfsStat4::NFS4ERR_RECLAIM_CONFLICT
            | NfsStat4::NFS4ERR_EXPIRED
            | NfsStat4::NFS4ERR_STALE_STATEID
    )
}

impl Model {
    /// Applies one event's facts.
    pub fn apply(&mut self, at: &At, ev: &Event<'_>) {
        match ev {
            Event::Called { ops } => self.apply_call(at, ops),
            Event::Answered {
                result, by_status, ..
            } => {
                let status = result.status();
                if *by_status && is_recovery_status(status) {
                    self.recovery_event(at, at.compound.clientid, RecoveryKind::Status(status));
                }
            }
            Event::Restarted { why } => self.restart(at, why),
            Event::ExchangeId { call, result } => self.apply_exchange_id(at, call, result),
            Event::CreateSession { call, result } => self.apply_create_session(at, call, result),
            Event::BindConnToSession { result: Ok(x), .. } => {
                if let Some(s) = self.session_mut(x.bctsr_sessid, at.server, at.frame) {
                    s.connections.insert(
                        at.conn,
                        Binding {
                            how: BindHow::BindConnToSession,
                            dir: x.bctsr_dir,
                            frame: at.frame,
                        },
                    );
                }
            }
            Event::BindConnToSession { .. } => {}
            Event::Sequence {
                session, result, ..
            } => self.apply_sequence(at, *session, result),
            Event::SetClientId {
                id,
                verifier,
                reply,
            } => self.apply_setclientid(at, id, *verifier, reply),
            Event::SetClientIdConfirm {
                clientid,
                issued_at,
                status,
                ..
            } => self.apply_setclientid_confirm(at, *clientid, *issued_at, *status),
            Event::DestroySession { session } => {
                if let Some(k) = self.session_key_at(at.server, session) {
                    if let Some(s) = self.sessions.get_mut(&k) {
                        s.destroyed_frame = Some(at.frame);
                        s.ended.get_or_insert(End {
                            frame: at.frame,
                            kind: EndKind::Destroyed,
                        });
                    }
                }
            }
            Event::DestroyClientid { clientid, status } => match *status {
                NfsStat4::NFS4_OK => {
                    if let Some(i) = self.record_index(at.server, *clientid) {
                        self.client_ids[i].destroyed_frame = Some(at.frame);
                        self.end_record(i, at.frame, EndKind::Destroyed);
                    }
                }
                NfsStat4::NFS4ERR_STALE_CLIENTID => self.note_stale(at, *clientid),
                _ => {}
            },
            Event::ReclaimComplete { one_fs, status } => {
                self.apply_reclaim_complete(at, *one_fs, *status)
            }
            Event::Renew { clientid, status } => self.apply_renew(at, *clientid, *status),
            Event::Getattr { mask, result } => {
                if let (true, crate::nfs4::NfsRes::Ok(x)) = (mask.is_set(10), result) {
                    if let Some(l) = x.obj_attributes.decode_values().lease_time() {
                        if let Some(ep) = self.endpoints.get_mut(&at.server) {
                            ep.lease_time = Some(l);
                        }
                    }
                }
            }
            Event::Reclaim { op, status } => self.recovery_event(
                at,
                at.compound.clientid,
                RecoveryKind::Reclaim {
                    op,
                    status: *status,
                },
            ),
            Event::Locked { .. } | Event::Readdir { .. } => {}
            Event::BackchannelCtl { cb_program } => {
                let key = at
                    .compound
                    .session
                    .and_then(|id| self.session_key_at(at.server, &id));
                if let Some(s) = key.and_then(|k| self.sessions.get_mut(&k)) {
                    s.cb_program = Some(*cb_program);
                }
            }
            Event::CallbackCalled {
                session: Some(sid), ..
            } => {
                if let Some(s) = self
                    .session_key_at(at.server, sid)
                    .and_then(|k| self.sessions.get_mut(&k))
                {
                    s.callbacks.insert(at.conn, at.frame);
                }
            }
            Event::CallbackCalled { .. } | Event::CallbackAnswered { .. } => {}
            Event::GssContextInit {
                gss_proc,
                call_handle,
                service,
                token,
                reply: Some(reply),
            } => self.apply_gss_init(at, *gss_proc, call_handle, *service, token, reply),
            Event::GssContextInit { reply: None, .. } => {}
            Event::GssCall { handle, service } => self.note_gss_use(at, handle, *service),
        }
    }

    /// An answered RPCSEC_GSS_INIT creates a context (a new one, even
    /// when the server gives a handle again); an answered CONTINUE_INIT
    /// updates the context of its handle.
    fn apply_gss_init(
        &mut self,
        at: &At,
        gss_proc: RpcGssProc,
        call_handle: &[u8],
        service: RpcGssService,
        token: &Result<InitiatorToken, TokenError>,
        reply: &GssInitReply<'_>,
    ) {
        let established = (reply.gss_major == 0).then_some(at.frame);
        let continued = (gss_proc == RpcGssProc::RPCSEC_GSS_CONTINUE_INIT)
            .then(|| self.gss_context_at(at.server, call_handle))
            .flatten();
        let i = match continued {
            Some(i) => i,
            None => {
                let creation = GssCreation {
                    client: at.client,
                    init_frame: at.call_frame,
                    reply_frame: at.frame,
                    service,
                    token: token.clone(),
                    gss_major: reply.gss_major,
                    established_frame: None,
                    acceptor_mech: None,
                };
                match self.new_gss_context(at.server, reply.handle, Some(creation)) {
                    Some(i) => i,
                    None => return,
                }
            }
        };
        let Some(ctx) = self.gss_contexts.get_mut(i) else {
            return;
        };
        if let Some(c) = &mut ctx.creation {
            c.reply_frame = at.frame;
            c.gss_major = reply.gss_major;
            c.established_frame = c.established_frame.or(established);
            if let Some(m) = reply.mech {
                c.acceptor_mech = Some(m.clone());
            }
        }
    }

    /// The context of `handle` created (or first used) at `server` itself.
    fn gss_context_at(&self, server: SocketAddr, handle: &[u8]) -> Option<usize> {
        let at = self.gss_index.get(handle)?;
        at.iter().rev().copied().find(|i| {
            self.gss_contexts
                .get(*i)
                .is_some_and(|c| c.server == server)
        })
    }

    /// A new context record, within `max_entities`.
    fn new_gss_context(
        &mut self,
        server: SocketAddr,
        handle: &[u8],
        creation: Option<GssCreation>,
    ) -> Option<usize> {
        if self.gss_contexts.len() >= self.limits.max_entities {
            self.limit_counts.gss_contexts_dropped += 1;
            return None;
        }
        let i = self.gss_contexts.len();
        self.gss_contexts.push(GssContext {
            handle: handle.to_vec(),
            server,
            creation,
            services: Vec::new(),
            first_use: None,
            last_use: None,
            calls: 0,
        });
        self.gss_index.entry(handle.to_vec()).or_default().push(i);
        Some(i)
    }

    /// The context a COMPOUND call under RPCSEC_GSS used (see
    /// [`Model::gss_context_index`]); one whose creation the capture does
    /// not hold is recorded at its first use, unless its handle is known
    /// at another address (which the call's address may join later).
    fn note_gss_use(&mut self, at: &At, handle: &[u8], service: RpcGssService) {
        let i = match self.gss_context_index(at.server, handle) {
            Some(i) => i,
            None if self.gss_index.contains_key(handle) => return,
            None => match self.new_gss_context(at.server, handle, None) {
                Some(i) => i,
                None => return,
            },
        };
        let Some(ctx) = self.gss_contexts.get_mut(i) else {
            return;
        };
        if !ctx.services.contains(&service) && ctx.services.len() < 4 {
            ctx.services.push(service);
        }
        ctx.first_use.get_or_insert(at.frame);
        ctx.last_use = Some(at.frame);
        ctx.calls += 1;
    }

    /// An EXCHANGE_ID answered at `at.server` under RPCSEC_GSS: its
    /// context, and the target principal the address is known by.
    fn note_exchange_id_gss(&mut self, at: &At) -> Option<GssUse> {
        let (Some(Principal::Gss { handle }), Some(service)) = (&at.principal, at.gss_service)
        else {
            return None;
        };
        let context = self.gss_context_index(at.server, handle);
        let target = context
            .and_then(|i| self.gss_contexts.get(i))
            .and_then(|c| c.target())
            .cloned();
        let frame = at.frame;
        let room = self.gss_target_entries < self.limits.max_entities;
        let targets = &mut self.endpoint(at.server, frame).gss_targets;
        if let Some(t) = targets.iter_mut().find(|t| t.target == target) {
            t.last_frame = frame;
            t.replies += 1;
        } else if room {
            targets.push(TargetSeen {
                target,
                first_frame: frame,
                last_frame: frame,
                replies: 1,
            });
            self.gss_target_entries += 1;
        } else {
            self.limit_counts.gss_targets_dropped += 1;
        }
        Some(GssUse {
            service,
            handle: handle.clone(),
            context,
        })
    }

    /// A call: the client owners it presents, and the global
    /// RECLAIM_COMPLETE it sends for its session's client ID.
    fn apply_call(&mut self, at: &At, ops: &[CallOp]) {
        for op in ops {
            match op {
                CallOp::ExchangeId {
                    owner, verifier, ..
                } => self.note_client(owner, OwnerKind::V41, *verifier, at),
                CallOp::SetClientId { id, verifier } => {
                    self.note_client(id, OwnerKind::V40, *verifier, at)
                }
                CallOp::ReclaimComplete { one_fs: false } => {
                    let Some(CallOp::Sequence { session }) = ops.first() else {
                        continue;
                    };
                    let rec = self
                        .session_at(at.server, session)
                        .and_then(|s| self.session_record_index(s));
                    if let Some(i) = rec {
                        self.client_ids[i]
                            .reclaim_complete_sent
                            .get_or_insert(at.frame);
                    }
                }
                _ => {}
            }
        }
    }

    /// The server behind `at.server` restarted: what it gave there before
    /// ends.
    fn restart(&mut self, at: &At, why: &'static str) {
        let ep = self.endpoint(at.server, at.frame);
        ep.restarts.push(Restart {
            frame: at.frame,
            why,
        });
        ep.last_epoch = None;
        for i in 0..self.client_ids.len() {
            if self.client_ids[i].live() && self.client_ids[i].endpoints.contains(&at.server) {
                self.end_record(i, at.frame, EndKind::Restarted);
            }
        }
        for s in self.sessions.values_mut() {
            if s.ended.is_none() && s.endpoint == at.server {
                s.ended = Some(End {
                    frame: at.frame,
                    kind: EndKind::Restarted,
                });
            }
        }
    }

    /// Ends client ID record `i` and its sessions.
    fn end_record(&mut self, i: usize, frame: u64, kind: EndKind) {
        let Some(r) = self.client_ids.get_mut(i) else {
            return;
        };
        if r.ended.is_some() {
            return;
        }
        r.ended = Some(End { frame, kind });
        let (key, cid, endpoints) = (r.server.clone(), r.clientid, r.endpoints.clone());
        for s in self.sessions.values_mut() {
            let belongs =
                s.clientid == Some(cid) && (s.server == key || endpoints.contains(&s.endpoint));
            if belongs && s.ended.is_none() {
                s.ended = Some(End {
                    frame,
                    kind: EndKind::ClientIdEnded,
                });
            }
        }
    }

    fn apply_exchange_id(
        &mut self,
        at: &At,
        call: &CallOp,
        result: &Result<&crate::nfs4::ExchangeId4ResOk<'_>, NfsStat4>,
    ) {
        let (
            CallOp::ExchangeId {
                owner,
                verifier,
                protect,
                ..
            },
            Ok(x),
        ) = (call, result)
        else {
            return;
        };
        self.declare(at.server, at.frame, x);
        let gss = self.note_exchange_id_gss(at);
        let cid = x.eir_clientid.0;
        self.endpoint(at.server, at.frame).last_epoch = Some(epoch(cid));
        let key = ServerKey::declared_by(x);
        let must = match &x.eir_state_protect {
            StateProtect4R::MachCred(o) => Some(o.spo_must_enforce.clone()),
            StateProtect4R::Ssv(i) => Some(i.spi_ops.spo_must_enforce.clone()),
            StateProtect4R::None => None,
        };
        let principal = at.principal.clone();
        let confirmed_r = x.eir_flags.contains(ExchgId4Flags::CONFIRMED_R);
        if !confirmed_r {
            // A confirmed client ID given back unconfirmed: the server no
            // longer has it confirmed (it forgot it, e.g. in a restart that
            // reissues values): a new record from here.
            if let Some(i) = self.record_index_by_key(&key, cid).filter(|i| {
                self.client_ids[*i].live() && self.client_ids[*i].confirmed_frame.is_some()
            }) {
                self.end_record(i, at.frame, EndKind::Forgotten);
            }
            // Case 4: a new unconfirmed record replaces the owner's older
            // unconfirmed one.
            let older: Vec<usize> = self
                .client_ids
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.server == key
                        && r.clientid != cid
                        && r.live()
                        && r.confirmed_frame.is_none()
                        && r.owner.as_deref() == Some(owner.as_slice())
                })
                .map(|(i, _)| i)
                .collect();
            for i in older {
                self.end_record(i, at.frame, EndKind::Replaced);
            }
        }
        let (ts, frame, conn) = (at.ts, at.frame, at.conn);
        if let Some(rec) = self.live_record_mut(key, cid) {
            rec.owner.get_or_insert_with(|| owner.clone());
            rec.verifier.get_or_insert(*verifier);
            if rec.principal.is_none() {
                rec.principal = principal;
            }
            rec.endpoints.insert(at.server);
            rec.issued_frame.get_or_insert(frame);
            rec.issued_at.get_or_insert(at.server);
            rec.flags = Some(x.eir_flags);
            rec.state_protect = Some(match x.eir_state_protect {
                StateProtect4R::None => StateProtectHow4::SP4_NONE,
                StateProtect4R::MachCred(_) => StateProtectHow4::SP4_MACH_CRED,
                StateProtect4R::Ssv(_) => StateProtectHow4::SP4_SSV,
            });
            rec.last_issue_frame = Some(frame);
            rec.must_enforce = must;
            rec.alive = Some((ts, frame, conn));
            rec.protection_asked = Some((protect.how, protect.gss_protected));
            rec.exchange_id_gss = gss;
        }
    }

    fn apply_create_session(
        &mut self,
        at: &At,
        call: &CallOp,
        result: &Result<&crate::nfs4::CreateSession4ResOk, NfsStat4>,
    ) {
        let CallOp::CreateSession {
            clientid,
            cb_program,
            ..
        } = call
        else {
            return;
        };
        let x = match result {
            Ok(x) => x,
            Err(st) => {
                if *st == NfsStat4::NFS4ERR_STALE_CLIENTID {
                    self.note_stale(at, *clientid);
                }
                if is_recovery_status(*st) {
                    self.recovery_event(at, Some(*clientid), RecoveryKind::Status(*st));
                }
                return;
            }
        };
        let key = self.endpoint(at.server, at.frame).server_key();
        let (ts, frame, conn) = (at.ts, at.frame, at.conn);
        let mut newly_confirmed = None;
        if let Some(rec) = self.live_record_mut(key.clone(), *clientid) {
            if rec.confirmed_frame.is_none() {
                newly_confirmed = rec
                    .owner
                    .clone()
                    .map(|o| (o, rec.verifier, rec.principal.clone()));
            }
            rec.confirmed_frame.get_or_insert(frame);
            rec.endpoints.insert(at.server);
            rec.alive = Some((ts, frame, conn));
        }
        // Cases 3 and 5: confirming a new client ID of an owner with another
        // verifier (a client restart) or another principal ends the owner's
        // older confirmed one, and its sessions. (The same verifier and
        // principal is case 2, which gives no new client ID: two live ones
        // are a server's fault, judged by the trunking rules.)
        if let Some((owner, verifier, principal)) = newly_confirmed {
            let older: Vec<usize> = self
                .client_ids
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.server == key
                        && r.clientid != *clientid
                        && r.live()
                        && r.confirmed_frame.is_some()
                        && r.owner.as_deref() == Some(owner.as_slice())
                        && (r.verifier != verifier || r.principal != principal)
                })
                .map(|(i, _)| i)
                .collect();
            for i in older {
                self.end_record(i, frame, EndKind::Replaced);
            }
        }
        // A replay of the last CREATE_SESSION returns the session it made.
        if self
            .live_session(at.server, &x.csr_sessionid)
            .is_some_and(|s| s.clientid == Some(*clientid))
        {
            return;
        }
        let back = x.csr_flags.contains(CreateSession4Flags::CONN_BACK_CHAN);
        if let Some(s) = self.new_session(x.csr_sessionid, at.server, frame) {
            s.clientid = Some(*clientid);
            s.created_frame = Some(frame);
            s.flags = Some(x.csr_flags);
            s.fore = Some(x.csr_fore_chan_attrs.clone());
            s.back = Some(x.csr_back_chan_attrs.clone());
            s.cb_program = Some(*cb_program);
            s.connections.insert(
                at.conn,
                Binding {
                    how: BindHow::CreateSession,
                    dir: if back {
                        ChannelDirFromServer4::CDFS4_BOTH
                    } else {
                        ChannelDirFromServer4::CDFS4_FORE
                    },
                    frame,
                },
            );
        }
    }

    fn apply_sequence(
        &mut self,
        at: &At,
        session: SessionId4,
        result: &Result<&crate::nfs4::Sequence4ResOk, NfsStat4>,
    ) {
        let x = match result {
            Ok(x) => x,
            Err(st) => {
                if *st == NfsStat4::NFS4ERR_BADSESSION {
                    let k = self
                        .session_key_at(at.server, &session)
                        .filter(|k| self.sessions.get(k).is_some_and(|s| s.ended.is_none()));
                    if let Some(s) = k.and_then(|k| self.sessions.get_mut(&k)) {
                        s.ended = Some(End {
                            frame: at.frame,
                            kind: EndKind::Forgotten,
                        });
                    }
                }
                if *st != NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION && is_recovery_status(*st) {
                    self.recovery_event(at, at.compound.clientid, RecoveryKind::Status(*st));
                }
                return;
            }
        };
        // A renewal of a session the model knows (one first seen here has
        // no client ID yet).
        if let Some(i) = self
            .live_session(at.server, &x.sr_sessionid)
            .and_then(|s| self.session_record_index(s))
        {
            let r = &mut self.client_ids[i];
            r.alive = Some((at.ts, at.frame, at.conn));
            if !x
                .sr_status_flags
                .contains(Seq4Status::EXPIRED_ALL_STATE_REVOKED)
            {
                r.renewed = Some((at.ts, at.conn, at.frame));
            }
        }
        let mut newly_reclaim = None;
        if let Some(s) = self.session_mut(x.sr_sessionid, at.server, at.frame) {
            s.connections.entry(at.conn).or_insert(Binding {
                how: BindHow::Sequence,
                dir: ChannelDirFromServer4::CDFS4_FORE,
                frame: at.frame,
            });
            s.slots.insert(
                x.sr_slotid,
                SlotState {
                    seqid: x.sr_sequenceid,
                    frame: at.frame,
                    conn: at.conn,
                },
            );
            let bit = Seq4Status::RESTART_RECLAIM_NEEDED;
            if x.sr_status_flags.contains(bit) && !s.status_flags.contains(bit) {
                newly_reclaim = Some(s.clientid);
            }
            s.status_flags = s.status_flags | x.sr_status_flags;
        }
        if let Some(cid) = newly_reclaim {
            self.recovery_event(at, cid, RecoveryKind::ReclaimNeeded);
        }
    }

    fn apply_setclientid(
        &mut self,
        at: &At,
        id: &[u8],
        verifier: [u8; 8],
        reply: &crate::nfs4::Setclientid4ResOk,
    ) {
        let ep = self.endpoint(at.server, at.frame);
        ep.last_epoch = Some(epoch(reply.clientid.0));
        let key = ep.server_key();
        let (ts, frame, conn) = (at.ts, at.frame, at.conn);
        if let Some(rec) = self.live_record_mut(key, reply.clientid.0) {
            rec.last_issue_frame = Some(frame);
            rec.owner.get_or_insert_with(|| id.to_vec());
            rec.verifier.get_or_insert(verifier);
            rec.endpoints.insert(at.server);
            rec.issued_frame.get_or_insert(frame);
            rec.issued_at.get_or_insert(at.server);
            rec.alive = Some((ts, frame, conn));
        }
        let pair = (reply.clientid.0, reply.setclientid_confirm.0);
        if self.v40_confirms.len() < self.limits.max_entities {
            self.v40_confirms.push((pair, at.server, at.frame));
        } else {
            self.limit_counts.v40_confirms_dropped += 1;
        }
    }

    fn apply_setclientid_confirm(
        &mut self,
        at: &At,
        clientid: u64,
        issued_at: Option<SocketAddr>,
        status: NfsStat4,
    ) {
        if let Some(b) = issued_at {
            if self.v40_trunking.len() < self.limits.max_events {
                self.v40_trunking.push(V40TrunkingTest {
                    issued_at: b,
                    confirmed_at: at.server,
                    clientid,
                    status,
                    frame: at.frame,
                });
            } else {
                self.limit_counts.v40_trunking_dropped += 1;
            }
        }
        if status.is_ok() {
            // The record is the issuing server's (RFC 7931 test).
            let home = issued_at.unwrap_or(at.server);
            let key = self.endpoint(home, at.frame).server_key();
            let (ts, frame, conn) = (at.ts, at.frame, at.conn);
            if let Some(rec) = self.live_record_mut(key, clientid) {
                rec.confirmed_frame.get_or_insert(frame);
                rec.endpoints.insert(at.server);
                rec.alive = Some((ts, frame, conn));
            }
        }
    }

    fn apply_reclaim_complete(&mut self, at: &At, one_fs: bool, status: NfsStat4) {
        if !one_fs {
            let i = at
                .compound
                .clientid
                .and_then(|cid| self.record_index(at.server, cid));
            if let Some(r) = i.and_then(|i| self.client_ids.get_mut(i)) {
                if status.is_ok() {
                    r.reclaim_complete_frame.get_or_insert(at.frame);
                } else if status != NfsStat4::NFS4ERR_COMPLETE_ALREADY {
                    r.reclaim_complete_refused.get_or_insert((at.frame, status));
                }
            }
        }
        self.recovery_event(
            at,
            at.compound.clientid,
            RecoveryKind::ReclaimComplete { one_fs, status },
        );
    }

    fn apply_renew(&mut self, at: &At, clientid: u64, status: NfsStat4) {
        match status {
            NfsStat4::NFS4_OK => {
                let key = self.endpoint(at.server, at.frame).server_key();
                let (ts, conn, frame) = (at.ts, at.conn, at.frame);
                if let Some(r) = self.live_record_mut(key, clientid) {
                    r.renewed = Some((ts, conn, frame));
                    r.alive = Some((ts, frame, conn));
                }
            }
            NfsStat4::NFS4ERR_STALE_CLIENTID => self.note_stale(at, clientid),
            _ => {}
        }
        if is_recovery_status(status) {
            self.recovery_event(at, Some(clientid), RecoveryKind::Status(status));
        }
    }

    fn note_client(&mut self, owner: &[u8], kind: OwnerKind, verifier: [u8; 8], at: &At) {
        let idx = match self
            .clients
            .iter()
            .position(|c| c.owner == owner && c.kind == kind)
        {
            Some(i) => i,
            None if self.clients.len() < self.limits.max_entities => {
                self.clients.push(Client {
                    owner: owner.to_vec(),
                    kind,
                    incarnations: Vec::new(),
                    principals: BTreeSet::new(),
                    sources: BTreeSet::new(),
                    endpoints: BTreeSet::new(),
                    first_frame: at.frame,
                });
                self.clients.len() - 1
            }
            None => {
                self.limit_counts.clients_dropped += 1;
                return;
            }
        };
        let c = &mut self.clients[idx];
        if !c.incarnations.iter().any(|(v, _)| *v == verifier) {
            c.incarnations.push((verifier, at.frame));
        }
        if let Some(p) = &at.principal {
            c.principals.insert(p.clone());
        }
        c.sources.insert(at.client.ip());
        c.endpoints.insert(at.server);
        if let Some(conn) = self.connections.get_mut(&at.conn) {
            conn.owners.insert(owner.to_vec());
        }
    }

    /// The first live record issued by `server` with value `clientid`
    /// (through the record index when it has seen every record).
    fn first_live_record(&self, server: &ServerKey, clientid: u64) -> Option<usize> {
        let matches =
            |r: &ClientIdRecord| r.live() && r.server == *server && r.clientid == clientid;
        if self.record_index.count == self.client_ids.len() {
            let (at, first_live) = self.record_index.candidates(clientid, &self.client_ids);
            return at
                .iter()
                .skip(first_live)
                .copied()
                .find(|&i| self.client_ids.get(i).is_some_and(matches));
        }
        self.client_ids.iter().position(matches)
    }

    /// The live client ID record issued by `server` with value `clientid`,
    /// created when missing (a capture that began later, or the value given
    /// again after the old record ended).
    pub(crate) fn live_record_mut(
        &mut self,
        server: ServerKey,
        clientid: u64,
    ) -> Option<&mut ClientIdRecord> {
        let i = match self.first_live_record(&server, clientid) {
            Some(i) => i,
            None if self.client_ids.len() < self.limits.max_entities => {
                self.client_ids.push(ClientIdRecord {
                    server,
                    clientid,
                    owner: None,
                    verifier: None,
                    endpoints: BTreeSet::new(),
                    issued_frame: None,
                    issued_at: None,
                    confirmed_frame: None,
                    flags: None,
                    state_protect: None,
                    protection_asked: None,
                    destroyed_frame: None,
                    reclaim_complete_frame: None,
                    principal: None,
                    stale_frame: None,
                    last_issue_frame: None,
                    must_enforce: None,
                    renewed: None,
                    alive: None,
                    reclaim_complete_sent: None,
                    reclaim_complete_refused: None,
                    ended: None,
                    exchange_id_gss: None,
                });
                let i = self.client_ids.len() - 1;
                self.record_index.add(clientid, i);
                i
            }
            None => {
                self.limit_counts.client_ids_dropped += 1;
                return None;
            }
        };
        self.client_ids.get_mut(i)
    }

    /// The session a message at `endpoint` means by `id`, created when the
    /// model does not know a live one (first seen here).
    fn session_mut(
        &mut self,
        id: SessionId4,
        endpoint: SocketAddr,
        frame: u64,
    ) -> Option<&mut Session> {
        let live = self
            .session_key_at(endpoint, &id)
            .filter(|k| self.sessions.get(k).is_some_and(|s| s.ended.is_none()));
        match live {
            Some(k) => self.sessions.get_mut(&k),
            None => self.new_session(id, endpoint, frame),
        }
    }

    /// A new session object for `id` at `endpoint`.
    fn new_session(
        &mut self,
        id: SessionId4,
        endpoint: SocketAddr,
        frame: u64,
    ) -> Option<&mut Session> {
        if self.sessions.len() >= self.limits.max_entities {
            self.limit_counts.sessions_dropped += 1;
            return None;
        }
        let server = self.endpoint(endpoint, frame).server_key();
        let key = SessionKey {
            id,
            n: self.next_session,
        };
        self.next_session += 1;
        if !self.sessions.contains_key(&key) {
            self.session_index.add(id, endpoint, key.n);
        }
        Some(self.sessions.entry(key).or_insert(Session {
            id,
            server,
            ended: None,
            clientid: None,
            endpoint,
            created_frame: None,
            first_frame: frame,
            flags: None,
            fore: None,
            back: None,
            cb_program: None,
            connections: BTreeMap::new(),
            slots: BTreeMap::new(),
            destroyed_frame: None,
            status_flags: Seq4Status(0),
            callbacks: BTreeMap::new(),
        }))
    }

    fn recovery_event(&mut self, at: &At, clientid: Option<u64>, kind: RecoveryKind) {
        if self.recovery.len() < self.limits.max_events {
            self.recovery.push(RecoveryEvent {
                frame: at.frame,
                endpoint: at.server,
                clientid,
                kind,
            });
        } else {
            self.limit_counts.events_dropped += 1;
            self.limit_counts
                .first_event_dropped_frame
                .get_or_insert(at.frame);
        }
    }

    /// The server answered NFS4ERR_STALE_CLIENTID for `cid`: it forgot it.
    fn note_stale(&mut self, at: &At, cid: u64) {
        let key = self.endpoint(at.server, at.frame).server_key();
        // A value the model never saw issued or used says nothing.
        if let Some(i) = self.record_index_by_key(&key, cid) {
            self.client_ids[i].stale_frame = Some(at.frame);
            self.end_record(i, at.frame, EndKind::Forgotten);
        }
    }

    /// Records an EXCHANGE_ID reply's declaration at `server`; the first
    /// declaration of an address gives what was known only by address there
    /// (sessions, client IDs of a capture that began later) its identity.
    fn declare(&mut self, server: SocketAddr, frame: u64, x: &crate::nfs4::ExchangeId4ResOk<'_>) {
        let ep = self.endpoint(server, frame);
        let first = ep.declarations.is_empty();
        let major = x.eir_server_owner.so_major_id.as_bytes();
        let scope = x.eir_server_scope.as_bytes();
        let minor = x.eir_server_owner.so_minor_id;
        let impl_id = x.eir_server_impl_id.first().map(|i| {
            (
                i.nii_domain.as_bytes().to_vec(),
                i.nii_name.as_bytes().to_vec(),
            )
        });
        if let Some(d) = ep.declarations.last_mut() {
            if d.major == major && d.minor == minor && d.scope == scope && d.impl_id == impl_id {
                d.last_frame = frame;
                d.replies += 1;
                return;
            }
        }
        ep.declarations.push(Declaration {
            major: major.to_vec(),
            minor,
            scope: scope.to_vec(),
            impl_id,
            first_frame: frame,
            last_frame: frame,
            replies: 1,
        });
        if first {
            let key = ServerKey::declared_by(x);
            let old = ServerKey::Address(server);
            for r in &mut self.client_ids {
                if r.server == old {
                    r.server = key.clone();
                }
            }
            for s in self.sessions.values_mut() {
                if s.server == old {
                    s.server = key.clone();
                }
            }
        }
    }
}
