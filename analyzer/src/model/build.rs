//! Building the model from decoded messages: the identity-bearing parts of
//! each COMPOUND call are kept until its reply arrives, then both are
//! applied together.

use super::*;
use crate::exchange::{Body, Message, MessageSink, MsgKind, Notice, Program};
use crate::nfs4::{NfsArgOp, NfsRes, NfsResOp, OpenClaimType4, Setclientid4Res, StateProtect4R};
use crate::rpc::{Credential, RpcGssCred};
use crate::rules;
use crate::tcp::flow::Direction;
use std::collections::{HashMap, VecDeque};

/// Bounds of the model (memory stays bounded whatever the capture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// Calls waiting for their reply.
    pub max_pending: usize,
    /// Sessions, clients, client IDs and connections, each.
    pub max_entities: usize,
    /// Recovery events.
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

/// The state protection an EXCHANGE_ID asked for, and how it was sent.
#[derive(Debug, Clone)]
pub(crate) struct Protection {
    pub(crate) how: StateProtectHow4,
    /// `spo_must_enforce` asked for (MACH_CRED, SSV).
    pub(crate) enforce: crate::nfs4::Bitmap4,
    /// SSV: (hash algorithms, encryption algorithms, window).
    pub(crate) ssv: Option<(usize, usize, u32)>,
    /// Sent under RPCSEC_GSS with integrity or privacy.
    pub(crate) gss_protected: bool,
}

/// The identity-bearing part of one operation of a call.
#[derive(Debug, Clone)]
pub(crate) enum CallOp {
    ExchangeId {
        owner: Vec<u8>,
        verifier: [u8; 8],
        flags: ExchgId4Flags,
        protect: Box<Protection>,
        empty_impl: bool,
    },
    CreateSession {
        clientid: u64,
        cb_program: u32,
        sequence: u32,
        flags: CreateSession4Flags,
        fore: Box<ChannelAttrs4>,
        back: Box<ChannelAttrs4>,
    },
    BindConnToSession {
        dir: crate::nfs4::ChannelDirFromClient4,
        gss_protected: bool,
    },
    Renew {
        clientid: u64,
    },
    /// A GETATTR asking for lease_time or fs_locations(_info).
    Getattr {
        mask: Box<crate::nfs4::Bitmap4>,
    },
    Sequence {
        session: SessionId4,
    },
    SetClientId {
        id: Vec<u8>,
        verifier: [u8; 8],
    },
    SetClientIdConfirm {
        clientid: u64,
        confirm: [u8; 8],
    },
    DestroySession {
        session: SessionId4,
    },
    DestroyClientid {
        clientid: u64,
    },
    ReclaimComplete {
        one_fs: bool,
    },
    Reclaim {
        op: &'static str,
    },
    NonReclaimLock {
        op: &'static str,
    },
    BackchannelCtl {
        cb_program: u32,
    },
    FreeStateid,
    Other,
}

#[derive(Debug, Clone)]
pub(crate) struct PendingCompound {
    ops: Vec<CallOp>,
    /// Frame of the call.
    frame: u64,
    /// The first operation is SEQUENCE.
    sequenced: bool,
    /// Who sent it.
    principal: Option<Principal>,
}

type Key = (ConnId, Direction, u32);

/// Calls waiting for their replies, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    map: HashMap<Key, PendingCompound>,
    order: VecDeque<Key>,
}

impl Pending {
    /// Adds a call; returns how many older calls were forgotten to stay
    /// within `max`.
    fn insert(&mut self, key: Key, call: PendingCompound, max: usize) -> u64 {
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

    fn take(&mut self, key: &Key) -> Option<PendingCompound> {
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

fn call_op(op: &NfsArgOp<'_>, gss_protected: bool) -> CallOp {
    match op {
        NfsArgOp::ExchangeId(a) => CallOp::ExchangeId {
            owner: a.eia_clientowner.co_ownerid.as_bytes().to_vec(),
            verifier: a.eia_clientowner.co_verifier.0,
            flags: a.eia_flags,
            protect: Box::new(match &a.eia_state_protect {
                crate::nfs4::StateProtect4A::None => Protection {
                    how: StateProtectHow4::SP4_NONE,
                    enforce: Default::default(),
                    ssv: None,
                    gss_protected,
                },
                crate::nfs4::StateProtect4A::MachCred(o) => Protection {
                    how: StateProtectHow4::SP4_MACH_CRED,
                    enforce: o.spo_must_enforce.clone(),
                    ssv: None,
                    gss_protected,
                },
                crate::nfs4::StateProtect4A::Ssv(p) => Protection {
                    how: StateProtectHow4::SP4_SSV,
                    enforce: p.ssp_ops.spo_must_enforce.clone(),
                    ssv: Some((p.ssp_hash_algs.len(), p.ssp_encr_algs.len(), p.ssp_window)),
                    gss_protected,
                },
            }),
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
        _ => CallOp::Other,
    }
}

/// Statuses that reveal a server restart, a lease expiry or grace.
fn is_recovery_status(s: NfsStat4) -> bool {
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
    pub(crate) fn endpoint(&mut self, addr: SocketAddr, frame: u64) -> &mut Endpoint {
        self.endpoints.entry(addr).or_insert_with(|| Endpoint {
            addr,
            declarations: Vec::new(),
            minor_versions: BTreeSet::new(),
            first_frame: frame,
            lease_time: None,
        })
    }

    fn note_connection(&mut self, m: &Message<'_>) {
        let (client, server) = match m.dir {
            Direction::ToServer => (m.src, m.dst),
            Direction::ToClient => (m.dst, m.src),
        };
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
                },
            );
        }
        let ep = self.endpoint(server, m.frame);
        if let Some(minor) = m.minorversion {
            ep.minor_versions.insert(minor);
        }
    }

    fn note_client(
        &mut self,
        owner: &[u8],
        kind: OwnerKind,
        verifier: [u8; 8],
        m: &Message<'_>,
        who: Option<Principal>,
    ) {
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
                    first_frame: m.frame,
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
            c.incarnations.push((verifier, m.frame));
        }
        if let Some(p) = who {
            c.principals.insert(p);
        }
        c.sources.insert(m.src.ip());
        c.endpoints.insert(m.dst);
        if let Some(conn) = self.connections.get_mut(&m.conn) {
            conn.owners.insert(owner.to_vec());
        }
    }

    fn on_call(&mut self, m: &Message<'_>) {
        let Body::Compound(args) = &m.body else {
            return;
        };
        self.note_connection(m);
        let who = principal(m.cred.as_ref());
        let gss_protected = matches!(
            &m.cred,
            Some(Credential::Gss(RpcGssCred::Vers1(g)))
                if g.service != crate::rpc::RpcGssService::rpc_gss_svc_none
        );
        let ops: Vec<CallOp> = args
            .argarray
            .iter()
            .map(|op| call_op(op, gss_protected))
            .collect();
        for op in &args.argarray {
            if let NfsArgOp::ExchangeId(a) = op {
                if a.eia_flags.contains(ExchgId4Flags::CONFIRMED_R) {
                    self.finding(
                        &rules::EXCHID_FLAG_SIDE_CLIENT,
                        format!(
                            "EXCHANGE_ID call sets CONFIRMED_R in eia_flags ({})",
                            a.eia_flags
                        ),
                        vec![m.frame],
                    );
                }
            }
        }
        let sequenced = matches!(args.argarray.first(), Some(NfsArgOp::Sequence(_)));
        self.check_client_reclaim_order(&ops, m);
        for op in &ops {
            match op {
                CallOp::ExchangeId {
                    owner,
                    verifier,
                    protect,
                    ..
                } => {
                    self.check_protection_request(protect, m);
                    self.note_client(owner, OwnerKind::V41, *verifier, m, who.clone())
                }
                CallOp::SetClientId { id, verifier } => {
                    self.note_client(id, OwnerKind::V40, *verifier, m, who.clone())
                }
                _ => {}
            }
        }
        self.limit_counts.pending_evicted += self.pending.insert(
            (m.conn, m.dir, m.xid),
            PendingCompound {
                ops,
                frame: m.frame,
                sequenced,
                principal: who.clone(),
            },
            self.limits.max_pending,
        );
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
                    track: ClientIdTrack::default(),
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
            reclaim_needed: None,
            revoked: (Seq4Status(0), 0),
            freed_since_revoked: false,
            callbacks: BTreeMap::new(),
            lease_moved: None,
        }))
    }

    fn event(
        &mut self,
        frame: u64,
        endpoint: SocketAddr,
        clientid: Option<u64>,
        kind: RecoveryKind,
    ) {
        if self.recovery.len() < self.limits.max_events {
            self.recovery.push(RecoveryEvent {
                frame,
                endpoint,
                clientid,
                kind,
            });
        } else {
            self.limit_counts.events_dropped += 1;
            self.limit_counts
                .first_event_dropped_frame
                .get_or_insert(frame);
        }
    }

    fn on_reply(&mut self, m: &Message<'_>) {
        let Body::CompoundReply(res) = &m.body else {
            return;
        };
        let Some(call) = self.pending.take(&(m.conn, m.dir.reverse(), m.xid)) else {
            return;
        };
        let server = m.src;
        let frames = vec![call.frame, m.frame];
        let n_ops = call.ops.len();
        let mut session_of_compound: Option<SessionId4> = None;
        let mut replay = false;
        for (i, r) in res.resarray.iter().enumerate() {
            let op = call.ops.get(i).cloned().unwrap_or(CallOp::Other);
            self.check_position(&op, i, n_ops, call.sequenced, r, &frames);
            let clientid = session_of_compound
                .and_then(|s| self.sessions.get(&s))
                .and_then(|s| s.clientid);
            let status = r.status();
            match (op, r) {
                (
                    CallOp::ExchangeId {
                        owner,
                        verifier,
                        flags,
                        protect,
                        ..
                    },
                    NfsResOp::ExchangeId(NfsRes::Ok(x)),
                ) => {
                    self.check_case1_unconfirmed(x, server, &frames);
                    self.check_exchange_id_request_vs_reply(flags, &protect, x, server, &frames);
                    self.check_exchange_id_reply(x, server, &frames);
                    self.check_incarnation(&owner, verifier, x, server, &frames);
                    self.check_clientid_reuse(&owner, x, server, &frames);
                    self.declare(server, m.frame, x);
                    self.check_trunking(
                        &owner,
                        verifier,
                        call.principal.as_ref(),
                        x.eir_clientid.0,
                        server,
                        m,
                        &frames,
                    );
                    let key = self.endpoints.get(&server).map(|e| e.server_key());
                    if let Some(key) = key {
                        if let Some(rec) = self.client_id_record(key.clone(), x.eir_clientid.0) {
                            rec.owner.get_or_insert(owner.clone());
                            rec.verifier.get_or_insert(verifier);
                            if rec.principal.is_none() {
                                rec.principal = call.principal.clone();
                            }
                            rec.endpoints.insert(server);
                            rec.issued_frame.get_or_insert(m.frame);
                            rec.flags = Some(x.eir_flags);
                            rec.state_protect = Some(match x.eir_state_protect {
                                StateProtect4R::None => StateProtectHow4::SP4_NONE,
                                StateProtect4R::MachCred(_) => StateProtectHow4::SP4_MACH_CRED,
                                StateProtect4R::Ssv(_) => StateProtectHow4::SP4_SSV,
                            });
                        }
                        self.note_exchange_id_issue(key, &owner, verifier, x, m.frame);
                    }
                }
                (
                    CallOp::ExchangeId {
                        flags,
                        protect,
                        empty_impl: true,
                        ..
                    },
                    NfsResOp::ExchangeId(NfsRes::Fail(st)),
                ) => {
                    self.check_empty_impl_id(flags, &protect, *st, server, &frames);
                }
                (
                    CallOp::CreateSession {
                        clientid,
                        cb_program,
                        sequence,
                        flags,
                        fore,
                        back,
                    },
                    NfsResOp::CreateSession(NfsRes::Ok(x)),
                ) => {
                    self.check_create_session(sequence, flags, &fore, &back, x, &frames);
                    self.check_stale_clientid(server, clientid, &frames);
                    self.check_client_trunking(server, clientid, &frames);
                    self.check_csess_sequence(
                        server,
                        clientid,
                        sequence,
                        Some(x.csr_sessionid),
                        &frames,
                    );
                    let key = self.endpoint(server, m.frame).server_key();
                    if let Some(rec) = self.client_id_record(key, clientid) {
                        rec.confirmed_frame.get_or_insert(m.frame);
                        rec.endpoints.insert(server);
                    }
                    let back = x.csr_flags.contains(CreateSession4Flags::CONN_BACK_CHAN);
                    if let Some(s) = self.session(x.csr_sessionid, server, m.frame) {
                        s.clientid = Some(clientid);
                        s.created_frame = Some(m.frame);
                        s.flags = Some(x.csr_flags);
                        s.fore = Some(x.csr_fore_chan_attrs.clone());
                        s.back = Some(x.csr_back_chan_attrs.clone());
                        s.cb_program = Some(cb_program);
                        s.connections.insert(
                            m.conn,
                            Binding {
                                how: BindHow::CreateSession,
                                dir: if back {
                                    ChannelDirFromServer4::CDFS4_BOTH
                                } else {
                                    ChannelDirFromServer4::CDFS4_FORE
                                },
                                frame: m.frame,
                            },
                        );
                    }
                }
                (
                    CallOp::BindConnToSession {
                        dir, gss_protected, ..
                    },
                    NfsResOp::BindConnToSession(NfsRes::Ok(x)),
                ) => {
                    self.check_bcts_direction(dir, x.bctsr_dir, &frames);
                    self.check_bcts_protection(x.bctsr_sessid, gss_protected, server, &frames);
                    self.check_session_trunking(
                        x.bctsr_sessid,
                        server,
                        "BIND_CONN_TO_SESSION",
                        &frames,
                    );
                    if let Some(s) = self.session(x.bctsr_sessid, server, m.frame) {
                        s.connections.insert(
                            m.conn,
                            Binding {
                                how: BindHow::BindConnToSession,
                                dir: x.bctsr_dir,
                                frame: m.frame,
                            },
                        );
                    }
                }
                (CallOp::Sequence { session }, NfsResOp::Sequence(NfsRes::Ok(x))) => {
                    session_of_compound = Some(session);
                    let frees_state = call.ops.iter().any(|o| matches!(o, CallOp::FreeStateid));
                    self.check_revoked_flags(x, frees_state, &frames);
                    replay = self.check_sequence(x, &frames);
                    self.check_session_trunking(x.sr_sessionid, server, "SEQUENCE", &frames);
                    self.check_sequence_lifecycle(x, server, m, &frames);
                    let mut newly_reclaim = false;
                    if let Some(s) = self.session(x.sr_sessionid, server, m.frame) {
                        s.connections.entry(m.conn).or_insert(Binding {
                            how: BindHow::Sequence,
                            dir: ChannelDirFromServer4::CDFS4_FORE,
                            frame: m.frame,
                        });
                        s.slots.insert(
                            x.sr_slotid,
                            SlotState {
                                seqid: x.sr_sequenceid,
                                frame: m.frame,
                            },
                        );
                        let bit = Seq4Status::RESTART_RECLAIM_NEEDED;
                        newly_reclaim =
                            x.sr_status_flags.contains(bit) && !s.status_flags.contains(bit);
                        s.status_flags = s.status_flags | x.sr_status_flags;
                    }
                    if newly_reclaim {
                        let cid = self.sessions.get(&session).and_then(|s| s.clientid);
                        self.event(m.frame, server, cid, RecoveryKind::ReclaimNeeded);
                    }
                }
                (
                    CallOp::SetClientId { id, verifier },
                    NfsResOp::Setclientid(Setclientid4Res::Ok(x)),
                ) => {
                    self.check_v40_new_clientid(server, &id, verifier, x.clientid.0, &frames);
                    let key = self.endpoint(server, m.frame).server_key();
                    if let Some(rec) = self.client_id_record(key, x.clientid.0) {
                        rec.track.last_issue_frame = Some(m.frame);
                        rec.owner.get_or_insert(id);
                        rec.verifier.get_or_insert(verifier);
                        rec.endpoints.insert(server);
                        rec.issued_frame.get_or_insert(m.frame);
                    }
                    self.note_setclientid_confirm_value(server, x, m.frame, &frames);
                }
                (
                    CallOp::SetClientIdConfirm { clientid, confirm },
                    NfsResOp::SetclientidConfirm(s),
                ) => {
                    if s.is_ok() {
                        self.check_v40_confirm(server, clientid, confirm, &frames);
                    }
                    // RFC 7931 trunking test: the confirm value may come from
                    // another address; the record is the issuing server's.
                    let issued_at = self
                        .v40_issued_at(clientid, confirm)
                        .filter(|e| *e != server);
                    if let (Some(b), true) = (issued_at, s.is_ok()) {
                        self.check_v40_trunking_consistent(b, server, clientid, &frames);
                    }
                    if let Some(b) = issued_at {
                        if self.v40_trunking.len() < self.limits.max_events {
                            self.v40_trunking.push(V40TrunkingTest {
                                issued_at: b,
                                confirmed_at: server,
                                clientid,
                                status: *s,
                                frame: m.frame,
                            });
                        } else {
                            self.limit_counts.v40_trunking_dropped += 1;
                        }
                    }
                    if s.is_ok() {
                        let home = issued_at.unwrap_or(server);
                        let key = self.endpoint(home, m.frame).server_key();
                        if let Some(rec) = self.client_id_record(key, clientid) {
                            rec.confirmed_frame.get_or_insert(m.frame);
                            rec.endpoints.insert(server);
                        }
                    }
                }
                (CallOp::DestroySession { session }, NfsResOp::DestroySession(s)) if s.is_ok() => {
                    if !call.sequenced {
                        self.check_destroy_session_binding(session, m.conn, &frames);
                    }
                    if let Some(s) = self.sessions.get_mut(&session) {
                        s.destroyed_frame = Some(m.frame);
                    }
                }
                (CallOp::DestroyClientid { clientid }, NfsResOp::DestroyClientid(s))
                    if s.is_ok() =>
                {
                    let key = self.endpoint(server, m.frame).server_key();
                    if let Some(rec) = self.client_id_record(key, clientid) {
                        rec.destroyed_frame = Some(m.frame);
                    }
                }
                (CallOp::ReclaimComplete { one_fs }, NfsResOp::ReclaimComplete(s)) => {
                    if s.is_ok() && !one_fs && !replay {
                        self.check_second_reclaim_complete(server, clientid, &frames);
                    }
                    if s.is_ok() && !one_fs {
                        let key = self.endpoint(server, m.frame).server_key();
                        if let Some(cid) = clientid {
                            if let Some(rec) = self.client_id_record(key, cid) {
                                rec.reclaim_complete_frame.get_or_insert(m.frame);
                            }
                        }
                    }
                    self.event(
                        m.frame,
                        server,
                        clientid,
                        RecoveryKind::ReclaimComplete { one_fs, status: *s },
                    );
                }
                (CallOp::Sequence { session }, NfsResOp::Sequence(NfsRes::Fail(st)))
                    if *st == NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION =>
                {
                    self.check_implicit_binding(session, server, &frames);
                }
                (CallOp::Sequence { session }, NfsResOp::Sequence(NfsRes::Fail(st))) => {
                    if *st == NfsStat4::NFS4ERR_BADSESSION {
                        self.check_state_kept(session, *st, m, &frames);
                    }
                    if is_recovery_status(*st) {
                        self.event(m.frame, server, clientid, RecoveryKind::Status(*st));
                    }
                }
                (
                    CallOp::CreateSession {
                        clientid: cid,
                        sequence,
                        ..
                    },
                    NfsResOp::CreateSession(NfsRes::Fail(st)),
                ) => {
                    self.check_csess_sequence(server, cid, sequence, None, &frames);
                    if *st == NfsStat4::NFS4ERR_STALE_CLIENTID {
                        self.note_stale(server, cid, m.frame);
                    }
                    if is_recovery_status(*st) {
                        self.event(m.frame, server, Some(cid), RecoveryKind::Status(*st));
                    }
                }
                (CallOp::Renew { clientid: cid }, NfsResOp::Renew(st)) => {
                    self.on_renew(server, cid, *st, m, &frames);
                    if is_recovery_status(*st) {
                        self.event(m.frame, server, Some(cid), RecoveryKind::Status(*st));
                    }
                }
                (CallOp::Getattr { mask }, NfsResOp::Getattr(res)) => {
                    self.on_getattr(&mask, res, server, &frames);
                    if status == NfsStat4::NFS4ERR_MOVED {
                        self.check_moved(server, clientid, &frames);
                        self.note_moved(session_of_compound, server, m, &frames);
                    }
                }
                (CallOp::NonReclaimLock { op }, r) if r.status().is_ok() => {
                    self.check_grace_before_reclaim_complete(op, server, clientid, &frames);
                }
                (CallOp::Reclaim { op }, _) => {
                    self.check_failover_reclaim(op, status, server, clientid, &frames);
                    self.event(
                        m.frame,
                        server,
                        clientid,
                        RecoveryKind::Reclaim { op, status },
                    );
                }
                (CallOp::BackchannelCtl { cb_program }, NfsResOp::BackchannelCtl(s))
                    if s.is_ok() =>
                {
                    if let Some(sess) =
                        session_of_compound.and_then(|id| self.sessions.get_mut(&id))
                    {
                        sess.cb_program = Some(cb_program);
                    }
                }
                _ => {
                    if status == NfsStat4::NFS4ERR_MOVED {
                        self.check_moved(server, clientid, &frames);
                        self.note_moved(session_of_compound, server, m, &frames);
                    }
                    // NFS4ERR_EXPIRED is not judged: it may be about a
                    // stateid of an older client ID than the session's.
                    if status == NfsStat4::NFS4ERR_STALE_CLIENTID {
                        if let Some(sess) = session_of_compound {
                            self.check_state_kept(sess, status, m, &frames);
                        }
                    }
                    if is_recovery_status(status) {
                        self.event(m.frame, server, clientid, RecoveryKind::Status(status));
                    }
                }
            }
        }
    }

    /// Remembers which address issued a SETCLIENTID (clientid, confirm)
    /// pair, and notes identical pairs from two addresses.
    fn note_setclientid_confirm_value(
        &mut self,
        server: SocketAddr,
        x: &crate::nfs4::Setclientid4ResOk,
        frame: u64,
        frames: &[u64],
    ) {
        let pair = (x.clientid.0, x.setclientid_confirm.0);
        if let Some((other, f)) = self
            .v40_confirms
            .iter()
            .find(|(p, e, _)| *p == pair && *e != server)
            .map(|(_, e, f)| (*e, *f))
        {
            let mut fr = vec![f];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::V40_SAME_CONFIRM,
                format!(
                    "{server} and {other} returned the same client ID {:#018x} and confirm verifier {}",
                    x.clientid.0, x.setclientid_confirm
                ),
                fr,
            );
        }
        if self.v40_confirms.len() < self.limits.max_entities {
            self.v40_confirms.push((pair, server, frame));
        } else {
            self.limit_counts.v40_confirms_dropped += 1;
        }
    }

    /// The address that issued this (clientid, confirm) pair.
    fn v40_issued_at(&self, clientid: u64, confirm: [u8; 8]) -> Option<SocketAddr> {
        self.v40_confirms
            .iter()
            .rev()
            .find(|(p, _, _)| *p == (clientid, confirm))
            .map(|(_, e, _)| *e)
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

impl MessageSink for Model {
    fn message(&mut self, m: &Message<'_>) {
        if m.program == Program::Nfs4Callback && m.kind == MsgKind::Call {
            self.check_cb_program(m);
            self.note_callback(m);
        }
        if m.program == Program::Nfs4Callback && m.kind == MsgKind::Reply {
            self.check_callback_reply(m);
        }
        if m.program != Program::Nfs4 {
            return;
        }
        match m.kind {
            MsgKind::Call => self.on_call(m),
            MsgKind::Reply => self.on_reply(m),
        }
    }

    fn notice(&mut self, n: &Notice) {
        if let Notice::Stream(s) = n {
            if matches!(
                s.what,
                crate::rpc::stream::NoticeKind::Gap { .. }
                    | crate::rpc::stream::NoticeKind::Skipped { .. }
            ) {
                self.gaps_seen = true;
            }
        }
    }
}
