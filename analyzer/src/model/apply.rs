//! Applying events to the model: the facts each answered operation
//! establishes (declarations, client IDs issued, confirmed and destroyed,
//! sessions and their connections, slots, renewals, the recovery timeline).

use super::event::{At, CallOp, Event};
use super::*;
use crate::nfs4::StateProtect4R;

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
            Event::Called { ops } => {
                for op in ops.iter() {
                    match op {
                        CallOp::ExchangeId {
                            owner, verifier, ..
                        } => self.note_client(owner, OwnerKind::V41, *verifier, at),
                        CallOp::SetClientId { id, verifier } => {
                            self.note_client(id, OwnerKind::V40, *verifier, at)
                        }
                        _ => {}
                    }
                }
            }
            Event::Answered {
                result, by_status, ..
            } => {
                let status = result.status();
                if *by_status && is_recovery_status(status) {
                    self.recovery_event(at, at.compound.clientid, RecoveryKind::Status(status));
                }
            }
            Event::ExchangeId { call, result } => self.apply_exchange_id(at, call, result),
            Event::CreateSession { call, result } => self.apply_create_session(at, call, result),
            Event::BindConnToSession { result: Ok(x), .. } => {
                if let Some(s) = self.session(x.bctsr_sessid, at.server, at.frame) {
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
                if let Some(s) = self.sessions.get_mut(session) {
                    s.destroyed_frame = Some(at.frame);
                }
            }
            Event::DestroyClientid { clientid } => {
                let key = self.endpoint(at.server, at.frame).server_key();
                if let Some(rec) = self.client_id_record(key, *clientid) {
                    rec.destroyed_frame = Some(at.frame);
                }
            }
            Event::ReclaimComplete { one_fs, status } => {
                if status.is_ok() && !one_fs {
                    let key = self.endpoint(at.server, at.frame).server_key();
                    if let Some(cid) = at.compound.clientid {
                        if let Some(rec) = self.client_id_record(key, cid) {
                            rec.reclaim_complete_frame.get_or_insert(at.frame);
                        }
                    }
                }
                self.recovery_event(
                    at,
                    at.compound.clientid,
                    RecoveryKind::ReclaimComplete {
                        one_fs: *one_fs,
                        status: *status,
                    },
                );
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
            Event::Locked { .. } => {}
            Event::BackchannelCtl { cb_program } => {
                if let Some(s) = at
                    .compound
                    .session
                    .and_then(|id| self.sessions.get_mut(&id))
                {
                    s.cb_program = Some(*cb_program);
                }
            }
            Event::CallbackCalled {
                session: Some(sid), ..
            } => {
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.callbacks.insert(at.conn, at.frame);
                }
            }
            Event::CallbackCalled { .. } | Event::CallbackAnswered { .. } => {}
        }
    }

    fn apply_setclientid(
        &mut self,
        at: &At,
        id: &[u8],
        verifier: [u8; 8],
        reply: &crate::nfs4::Setclientid4ResOk,
    ) {
        let key = self.endpoint(at.server, at.frame).server_key();
        if let Some(rec) = self.client_id_record(key, reply.clientid.0) {
            rec.last_issue_frame = Some(at.frame);
            rec.owner.get_or_insert_with(|| id.to_vec());
            rec.verifier.get_or_insert(verifier);
            rec.endpoints.insert(at.server);
            rec.issued_frame.get_or_insert(at.frame);
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
            if let Some(rec) = self.client_id_record(key, clientid) {
                rec.confirmed_frame.get_or_insert(at.frame);
                rec.endpoints.insert(at.server);
            }
        }
    }

    fn apply_renew(&mut self, at: &At, clientid: u64, status: NfsStat4) {
        match status {
            NfsStat4::NFS4_OK => {
                let key = self.endpoint(at.server, at.frame).server_key();
                if let Some(r) = self.client_id_record(key, clientid) {
                    r.renewed = Some((at.ts, at.conn, at.frame));
                }
            }
            NfsStat4::NFS4ERR_STALE_CLIENTID => self.note_stale(at.server, clientid, at.frame),
            _ => {}
        }
        if is_recovery_status(status) {
            self.recovery_event(at, Some(clientid), RecoveryKind::Status(status));
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
                owner, verifier, ..
            },
            Ok(x),
        ) = (call, result)
        else {
            return;
        };
        self.declare(at.server, at.frame, x);
        let key = ServerKey::declared_by(x);
        let must = match &x.eir_state_protect {
            StateProtect4R::MachCred(o) => Some(o.spo_must_enforce.clone()),
            StateProtect4R::Ssv(i) => Some(i.spi_ops.spo_must_enforce.clone()),
            StateProtect4R::None => None,
        };
        let principal = at.principal.clone();
        if let Some(rec) = self.client_id_record(key, x.eir_clientid.0) {
            rec.owner.get_or_insert_with(|| owner.clone());
            rec.verifier.get_or_insert(*verifier);
            if rec.principal.is_none() {
                rec.principal = principal;
            }
            rec.endpoints.insert(at.server);
            rec.issued_frame.get_or_insert(at.frame);
            rec.flags = Some(x.eir_flags);
            rec.state_protect = Some(match x.eir_state_protect {
                StateProtect4R::None => StateProtectHow4::SP4_NONE,
                StateProtect4R::MachCred(_) => StateProtectHow4::SP4_MACH_CRED,
                StateProtect4R::Ssv(_) => StateProtectHow4::SP4_SSV,
            });
            rec.last_issue_frame = Some(at.frame);
            rec.must_enforce = must;
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
                    self.note_stale(at.server, *clientid, at.frame);
                }
                if is_recovery_status(*st) {
                    self.recovery_event(at, Some(*clientid), RecoveryKind::Status(*st));
                }
                return;
            }
        };
        let key = self.endpoint(at.server, at.frame).server_key();
        if let Some(rec) = self.client_id_record(key, *clientid) {
            rec.confirmed_frame.get_or_insert(at.frame);
            rec.endpoints.insert(at.server);
        }
        let back = x.csr_flags.contains(CreateSession4Flags::CONN_BACK_CHAN);
        if let Some(s) = self.session(x.csr_sessionid, at.server, at.frame) {
            s.clientid = Some(*clientid);
            s.created_frame = Some(at.frame);
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
                    frame: at.frame,
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
                if *st != NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION && is_recovery_status(*st) {
                    self.recovery_event(at, at.compound.clientid, RecoveryKind::Status(*st));
                }
                return;
            }
        };
        // A renewal of a session the model knows (one first seen here has
        // no client ID yet).
        if self.sessions.contains_key(&x.sr_sessionid)
            && !x
                .sr_status_flags
                .contains(Seq4Status::EXPIRED_ALL_STATE_REVOKED)
        {
            if let Some(i) = self.session_record_index(&x.sr_sessionid) {
                self.client_ids[i].renewed = Some((at.ts, at.conn, at.frame));
            }
        }
        let mut newly_reclaim = false;
        if let Some(s) = self.session(x.sr_sessionid, at.server, at.frame) {
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
                },
            );
            let bit = Seq4Status::RESTART_RECLAIM_NEEDED;
            newly_reclaim = x.sr_status_flags.contains(bit) && !s.status_flags.contains(bit);
            s.status_flags = s.status_flags | x.sr_status_flags;
        }
        if newly_reclaim {
            let cid = self.sessions.get(&session).and_then(|s| s.clientid);
            self.recovery_event(at, cid, RecoveryKind::ReclaimNeeded);
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

    /// The client ID record issued by `server` with value `clientid`,
    /// created when missing (a capture that began later).
    pub(crate) fn client_id_record(
        &mut self,
        server: ServerKey,
        clientid: u64,
    ) -> Option<&mut ClientIdRecord> {
        let i = match self
            .client_ids
            .iter()
            .position(|r| r.server == server && r.clientid == clientid)
        {
            Some(i) => i,
            None if self.client_ids.len() < self.limits.max_entities => {
                self.client_ids.push(ClientIdRecord {
                    server,
                    clientid,
                    owner: None,
                    verifier: None,
                    endpoints: BTreeSet::new(),
                    issued_frame: None,
                    confirmed_frame: None,
                    flags: None,
                    state_protect: None,
                    destroyed_frame: None,
                    reclaim_complete_frame: None,
                    principal: None,
                    stale_frame: None,
                    last_issue_frame: None,
                    must_enforce: None,
                    renewed: None,
                });
                self.client_ids.len() - 1
            }
            None => {
                self.limit_counts.client_ids_dropped += 1;
                return None;
            }
        };
        self.client_ids.get_mut(i)
    }

    fn session(
        &mut self,
        id: SessionId4,
        endpoint: SocketAddr,
        frame: u64,
    ) -> Option<&mut Session> {
        if !self.sessions.contains_key(&id) && self.sessions.len() >= self.limits.max_entities {
            self.limit_counts.sessions_dropped += 1;
            return None;
        }
        Some(self.sessions.entry(id).or_insert_with(|| Session {
            id,
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

    /// The server answered NFS4ERR_STALE_CLIENTID for `cid`.
    fn note_stale(&mut self, server: SocketAddr, cid: u64, frame: u64) {
        let key = self.endpoint(server, frame).server_key();
        if let Some(r) = self.client_id_record(key, cid) {
            r.stale_frame = Some(frame);
        }
    }

    /// Records an EXCHANGE_ID reply's declaration at `server`.
    fn declare(&mut self, server: SocketAddr, frame: u64, x: &crate::nfs4::ExchangeId4ResOk<'_>) {
        let ep = self.endpoint(server, frame);
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
    }
}
