//! The passive checks run while the model is built: each compares a call
//! with its reply, or a reply with what the model already knows, and
//! records a [`Finding`] naming the rule and the frames.

use super::build::CallOp;
use super::*;
use crate::exchange::Message;
use crate::nfs4::{ChannelDirFromClient4, ExchangeId4ResOk, NfsResOp};
use crate::rules::{self, Finding, Rule};

impl Model {
    /// Records a finding (bounded; the same rule and message once).
    pub(crate) fn finding(&mut self, rule: &'static Rule, message: String, frames: Vec<u64>) {
        if self.findings.len() >= self.limits.max_events {
            self.findings_dropped += 1;
            return;
        }
        if self
            .findings
            .iter()
            .any(|f| std::ptr::eq(f.rule, rule) && f.message == message)
        {
            return;
        }
        self.findings.push(Finding {
            rule,
            message,
            frames,
        });
    }

    /// Operations that must be alone (or after SEQUENCE), and SEQUENCE's
    /// own position, judged by what the server accepted.
    pub(crate) fn check_position(
        &mut self,
        op: &CallOp,
        index: usize,
        n_ops: usize,
        sequenced: bool,
        r: &NfsResOp<'_>,
        frames: &[u64],
    ) {
        if !r.status().is_ok() {
            return;
        }
        let rule = match op {
            CallOp::ExchangeId { .. } if !sequenced && n_ops > 1 => &rules::EXCHID_ONLY_OP,
            CallOp::CreateSession { .. } if !sequenced && n_ops > 1 => &rules::CSESS_ONLY_OP,
            CallOp::DestroyClientid { .. } if !sequenced && n_ops > 1 => {
                &rules::DESTROY_CLIENTID_ONLY_OP
            }
            CallOp::BindConnToSession { .. } if n_ops > 1 => &rules::BCTS_ONLY_OP,
            CallOp::DestroySession { .. }
                if (sequenced && index + 1 != n_ops) || (!sequenced && n_ops > 1) =>
            {
                &rules::DSESS_POSITION
            }
            CallOp::Sequence { .. } if index > 0 => &rules::SEQ_POSITION,
            _ => return,
        };
        self.finding(
            rule,
            format!(
                "{} accepted as operation {} of {n_ops} (NFS4_OK)",
                r.name(),
                index + 1
            ),
            frames.to_vec(),
        );
    }

    /// EXCHANGE_ID reply flags: side, pNFS role, CONFIRMED_R for a
    /// confirmed client ID.
    pub(crate) fn check_exchange_id_reply(
        &mut self,
        x: &ExchangeId4ResOk<'_>,
        server: SocketAddr,
        frames: &[u64],
    ) {
        let f = x.eir_flags;
        if f.contains(ExchgId4Flags::UPD_CONFIRMED_REC_A) {
            self.finding(
                &rules::EXCHID_FLAG_SIDE_SERVER,
                format!("{server} set UPD_CONFIRMED_REC_A in eir_flags ({f})"),
                frames.to_vec(),
            );
        }
        let roles = f.0 & ExchgId4Flags::MASK_PNFS.0;
        if roles == 0 {
            self.finding(
                &rules::EXCHID_PNFS_ROLE,
                format!("{server} returned eir_flags {f} without any pNFS role bit"),
                frames.to_vec(),
            );
        } else if f.contains(ExchgId4Flags::USE_NON_PNFS) && f.contains(ExchgId4Flags::USE_PNFS_MDS)
        {
            self.finding(
                &rules::EXCHID_PNFS_ROLE,
                format!("{server} returned USE_NON_PNFS together with USE_PNFS_MDS ({f})"),
                frames.to_vec(),
            );
        }
        // The issuing server is who this reply says it is.
        let key = ServerKey::declared_by(x);
        let confirmed = self
            .client_ids
            .iter()
            .find(|r| r.server == key && r.clientid == x.eir_clientid.0)
            .and_then(|r| r.confirmed_frame.filter(|_| r.destroyed_frame.is_none()));
        if let Some(cf) = confirmed {
            if !f.contains(ExchgId4Flags::CONFIRMED_R) {
                let mut fr = vec![cf];
                fr.extend_from_slice(frames);
                self.finding(
                    &rules::EXCHID_CONFIRMED_R,
                    format!(
                        "{server} returned client ID {:#018x}, confirmed in frame {cf}, without CONFIRMED_R",
                        x.eir_clientid.0
                    ),
                    fr,
                );
            }
        }
    }

    /// Same server owner and scope at two addresses: the same client owner
    /// and verifier get the same client ID; and a client host presents one
    /// owner to all addresses of a server.
    #[allow(clippy::too_many_arguments)] // the EXCHANGE_ID's own fields, one each
    pub(crate) fn check_trunking(
        &mut self,
        owner: &[u8],
        verifier: [u8; 8],
        principal: Option<&Principal>,
        clientid: u64,
        server: SocketAddr,
        m: &Message<'_>,
        frames: &[u64],
    ) {
        let Some(key) = self.endpoints.get(&server).map(|e| e.server_key()) else {
            return;
        };
        // Cases 2 and the trunking rule hold only for the same principal
        // (another one is case 3). A flavor the model cannot tell principals
        // apart in never counts as the same.
        let same_principal = |r: &ClientIdRecord| {
            !matches!(principal, None | Some(Principal::Other(_)))
                && r.principal.as_ref() == principal
        };
        // At one address, a client ID whose upper half (the boot epoch of
        // common servers) changed comes from a restarted server, which has
        // no record to match.
        let same_epoch = |r: &ClientIdRecord| r.clientid >> 32 == clientid >> 32;
        // Across addresses an epoch change is also what two independent
        // servers claiming one identity look like: judged, unless this
        // address itself issued client IDs of the earlier epoch before (it
        // restarted, and so did the server behind the other address).
        let this_address_restarted = |r: &ClientIdRecord, all: &[ClientIdRecord]| {
            !same_epoch(r)
                && all.iter().any(|o| {
                    o.server == key
                        && o.endpoints.contains(&server)
                        && o.clientid >> 32 == r.clientid >> 32
                })
        };
        // Once recovery events were dropped (`max_events`) a restart may
        // have gone unrecorded: nothing after that is judged.
        let events_lost_from = self.limit_counts.first_event_dropped_frame;
        let restarted = |from: u64, to: u64, recovery: &[RecoveryEvent]| {
            events_lost_from.is_some_and(|f| f <= to)
                || recovery.iter().any(|e| {
                    (from..=to).contains(&e.frame)
                        && matches!(
                            e.kind,
                            RecoveryKind::Status(
                                NfsStat4::NFS4ERR_STALE_CLIENTID
                                    | NfsStat4::NFS4ERR_BADSESSION
                                    | NfsStat4::NFS4ERR_EXPIRED
                            )
                        )
                })
        };
        // Same address, same owner and verifier, confirmed: case 2.
        let same_address = self.client_ids.iter().find(|r| {
            r.server == key
                && r.clientid != clientid
                && r.owner.as_deref() == Some(owner)
                && r.verifier == Some(verifier)
                && r.destroyed_frame.is_none()
                && r.confirmed_frame.is_some()
                && r.endpoints.contains(&server)
                && same_principal(r)
                && same_epoch(r)
                && !replaced(&self.client_ids, r)
        });
        if let Some(r) = same_address {
            let issued = r.issued_frame.unwrap_or(0);
            if !restarted(issued, m.frame, &self.recovery) {
                let msg = format!(
                    "{server} returned client ID {clientid:#018x} to owner \"{}\" whose confirmed client ID is {:#018x} (frame {issued})",
                    crate::xdr::escape_bytes(owner),
                    r.clientid
                );
                let mut fr = vec![issued];
                fr.extend_from_slice(frames);
                self.finding(&rules::EXCHID_CASE2_SAME_RESULT, msg, fr);
            }
        }
        let other = self.client_ids.iter().find(|r| {
            r.server == key
                && r.clientid != clientid
                && r.owner.as_deref() == Some(owner)
                && r.verifier == Some(verifier)
                && r.destroyed_frame.is_none()
                && !r.endpoints.contains(&server)
                // An unconfirmed record is replaced by a new client ID
                // (RFC 8881 §18.35.4 case 4): only a confirmed one binds.
                && r.confirmed_frame.is_some()
                && same_principal(r)
                && !replaced(&self.client_ids, r)
                && !this_address_restarted(r, &self.client_ids)
        });
        if let Some(r) = other {
            let issued = r.issued_frame.unwrap_or(0);
            if !restarted(issued, m.frame, &self.recovery) {
                let msg = format!(
                    "{server} returned client ID {clientid:#018x} to owner \"{}\", while {} returned {:#018x} to the same owner and verifier (frame {issued}); both declare {}",
                    crate::xdr::escape_bytes(owner),
                    join_addrs(&r.endpoints),
                    r.clientid,
                    key_text(&key),
                );
                let mut fr = vec![issued];
                fr.extend_from_slice(frames);
                self.finding(&rules::TRUNK_SAME_CLIENTID, msg, fr);
            }
        }
        // One host, two owners, two addresses of one server.
        let host = m.dst.ip();
        let clash = self.clients.iter().find(|c| {
            c.kind == OwnerKind::V41
                && c.owner != owner
                && c.sources.contains(&host)
                && c.endpoints.iter().any(|e| {
                    *e != server
                        && self
                            .endpoints
                            .get(e)
                            .is_some_and(|ep| ep.server_key() == key)
                })
        });
        if let Some(c) = clash {
            let msg = format!(
                "client {host} presented owner \"{}\" to {server} and owner \"{}\" to {} of the same server ({})",
                crate::xdr::escape_bytes(owner),
                crate::xdr::escape_bytes(&c.owner),
                join_addrs(&c.endpoints),
                key_text(&key),
            );
            let mut fr = vec![c.first_frame];
            fr.extend_from_slice(frames);
            self.finding(&rules::CLIENT_OWNER_PER_SERVER, msg, fr);
        }
    }

    /// CREATE_SESSION: sequence echoed, attributes not raised, flags not
    /// granted unasked.
    pub(crate) fn check_create_session(
        &mut self,
        sequence: u32,
        flags: CreateSession4Flags,
        fore: &ChannelAttrs4,
        back: &ChannelAttrs4,
        x: &crate::nfs4::CreateSession4ResOk,
        frames: &[u64],
    ) {
        if x.csr_sequence != sequence {
            self.finding(
                &rules::CSESS_SEQUENCE_ECHO,
                format!(
                    "csr_sequence {} differs from csa_sequence {sequence}",
                    x.csr_sequence
                ),
                frames.to_vec(),
            );
        }
        let mut raised = Vec::new();
        for (chan, req, got) in [
            ("fore", fore, &x.csr_fore_chan_attrs),
            ("back", back, &x.csr_back_chan_attrs),
        ] {
            for (name, a, b) in [
                (
                    "ca_headerpadsize",
                    req.ca_headerpadsize,
                    got.ca_headerpadsize,
                ),
                (
                    "ca_maxrequestsize",
                    req.ca_maxrequestsize,
                    got.ca_maxrequestsize,
                ),
                (
                    "ca_maxresponsesize",
                    req.ca_maxresponsesize,
                    got.ca_maxresponsesize,
                ),
                (
                    "ca_maxresponsesize_cached",
                    req.ca_maxresponsesize_cached,
                    got.ca_maxresponsesize_cached,
                ),
            ] {
                if b > a {
                    raised.push(format!("{chan} {name} {a} -> {b}"));
                }
            }
            if let (Some(a), Some(b)) = (req.ca_rdma_ird.first(), got.ca_rdma_ird.first()) {
                if b > a {
                    raised.push(format!("{chan} ca_rdma_ird {a} -> {b}"));
                }
            }
        }
        for (name, a, b) in [
            (
                "ca_maxoperations",
                back.ca_maxoperations,
                x.csr_back_chan_attrs.ca_maxoperations,
            ),
            (
                "ca_maxrequests",
                back.ca_maxrequests,
                x.csr_back_chan_attrs.ca_maxrequests,
            ),
        ] {
            if a != b {
                raised.push(format!("back {name} changed {a} -> {b}"));
            }
        }
        if !raised.is_empty() {
            self.finding(
                &rules::CSESS_ATTRS,
                format!("channel attributes: {}", raised.join(", ")),
                frames.to_vec(),
            );
        }
        let unasked =
            CreateSession4Flags(x.csr_flags.0 & !flags.0 & CreateSession4Flags::ALL_KNOWN.0);
        if unasked.0 != 0 {
            self.finding(
                &rules::CSESS_FLAGS,
                format!(
                    "csr_flags {} grant {unasked} not requested (csa_flags {flags})",
                    x.csr_flags
                ),
                frames.to_vec(),
            );
        }
    }

    /// BIND_CONN_TO_SESSION's reply direction fits the request.
    pub(crate) fn check_bcts_direction(
        &mut self,
        asked: ChannelDirFromClient4,
        got: ChannelDirFromServer4,
        frames: &[u64],
    ) {
        let allowed: &[ChannelDirFromServer4] = match asked {
            ChannelDirFromClient4::CDFC4_FORE => &[ChannelDirFromServer4::CDFS4_FORE],
            ChannelDirFromClient4::CDFC4_BACK => &[ChannelDirFromServer4::CDFS4_BACK],
            ChannelDirFromClient4::CDFC4_FORE_OR_BOTH => &[
                ChannelDirFromServer4::CDFS4_FORE,
                ChannelDirFromServer4::CDFS4_BOTH,
            ],
            ChannelDirFromClient4::CDFC4_BACK_OR_BOTH => &[
                ChannelDirFromServer4::CDFS4_BACK,
                ChannelDirFromServer4::CDFS4_BOTH,
            ],
            _ => return,
        };
        if !allowed.contains(&got) {
            self.finding(
                &rules::BCTS_DIRECTION,
                format!("asked {asked}, granted {got}"),
                frames.to_vec(),
            );
        }
    }
}

impl Model {
    /// The client ID record a session belongs to, at the endpoint it was used.
    pub(crate) fn record_for(
        &self,
        endpoint: SocketAddr,
        clientid: Option<u64>,
    ) -> Option<&ClientIdRecord> {
        let key = self.endpoints.get(&endpoint)?.server_key();
        let cid = clientid?;
        self.client_ids
            .iter()
            .find(|r| r.server == key && r.clientid == cid)
    }

    /// One client ID per incarnation: the same owner with another verifier
    /// must not get the client ID of the first.
    pub(crate) fn check_incarnation(
        &mut self,
        owner: &[u8],
        verifier: [u8; 8],
        x: &ExchangeId4ResOk<'_>,
        server: SocketAddr,
        frames: &[u64],
    ) {
        let key = ServerKey::declared_by(x);
        let earlier = self.client_ids.iter().find(|r| {
            r.server == key
                && r.clientid == x.eir_clientid.0
                && r.owner.as_deref() == Some(owner)
                && r.verifier.is_some_and(|v| v != verifier)
                && r.destroyed_frame.is_none()
        });
        if let Some(r) = earlier {
            let msg = format!(
                "{server} returned client ID {:#018x} to owner \"{}\" with verifier {}, the client ID it gave verifier {} (frame {})",
                x.eir_clientid.0,
                crate::xdr::escape_bytes(owner),
                crate::xdr::hex(&verifier),
                r.verifier.map_or(String::new(), |v| crate::xdr::hex(&v)),
                r.issued_frame.unwrap_or(0),
            );
            let mut fr = vec![r.issued_frame.unwrap_or(0)];
            fr.extend_from_slice(frames);
            self.finding(&rules::EXCHID_INCARNATION, msg, fr);
        }
    }

    /// Slot rules for a successful SEQUENCE reply; returns whether it was a
    /// retry of the slot's last request.
    pub(crate) fn check_sequence(
        &mut self,
        x: &crate::nfs4::Sequence4ResOk,
        frames: &[u64],
    ) -> bool {
        let Some(s) = self.sessions.get(&x.sr_sessionid) else {
            return false;
        };
        let prev = s.slots.get(&x.sr_slotid).copied();
        let created_here = s.created_frame.is_some();
        let reclaim_before = s.reclaim_needed;
        let cid = s.clientid;
        let endpoint = s.endpoint;
        let seq = x.sr_sequenceid;
        match prev {
            None if created_here && seq != 1 => self.finding(
                &rules::SEQ_FIRST_SEQID,
                format!(
                    "first SEQUENCE on slot {} of session {} accepted with sequence id {seq}",
                    x.sr_slotid, x.sr_sessionid
                ),
                frames.to_vec(),
            ),
            Some(p) if !self.gaps_seen && seq != p.seqid && seq != p.seqid.wrapping_add(1) => self
                .finding(
                    &rules::SEQ_SLOT_ORDER,
                    format!(
                        "slot {} of session {} went from sequence id {} (frame {}) to {seq}",
                        x.sr_slotid, x.sr_sessionid, p.seqid, p.frame
                    ),
                    frames.to_vec(),
                ),
            _ => {}
        }
        let has = x
            .sr_status_flags
            .contains(Seq4Status::RESTART_RECLAIM_NEEDED);
        let completed = self
            .record_for(endpoint, cid)
            .and_then(|r| r.reclaim_complete_frame);
        if reclaim_before == Some(true) && !has && completed.is_none() {
            self.finding(
                &rules::SEQ_RECLAIM_NEEDED,
                format!(
                    "RESTART_RECLAIM_NEEDED dropped from session {} before its client's RECLAIM_COMPLETE",
                    x.sr_sessionid
                ),
                frames.to_vec(),
            );
        }
        if let (true, Some(done)) = (has, completed) {
            let mut fr = vec![done];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::SEQ_RECLAIM_NEEDED,
                format!(
                    "RESTART_RECLAIM_NEEDED still set on session {} after RECLAIM_COMPLETE (frame {done})",
                    x.sr_sessionid
                ),
                fr,
            );
        }
        if let Some(s) = self.sessions.get_mut(&x.sr_sessionid) {
            s.reclaim_needed = Some(has);
        }
        prev.is_some_and(|p| p.seqid == seq)
    }

    /// Client rules at call time: RECLAIM_COMPLETE before non-reclaim locks
    /// of a new client ID, and no reclaim after it.
    pub(crate) fn check_client_reclaim_order(&mut self, ops: &[CallOp], m: &Message<'_>) {
        let Some(CallOp::Sequence { session, .. }) = ops.first() else {
            return;
        };
        let Some(s) = self.sessions.get(session) else {
            return;
        };
        let Some(r) = self.record_for(s.endpoint, s.clientid) else {
            return;
        };
        let (confirmed, done, cid) = (r.confirmed_frame, r.reclaim_complete_frame, r.clientid);
        for op in ops {
            match (op, confirmed, done) {
                (CallOp::NonReclaimLock { op }, Some(cf), None) => self.finding(
                    &rules::CLIENT_RECLAIM_COMPLETE_FIRST,
                    format!(
                        "{op} (not a reclaim) for client ID {cid:#018x}, confirmed in frame {cf}, before any global RECLAIM_COMPLETE"
                    ),
                    vec![cf, m.frame],
                ),
                (CallOp::Reclaim { op }, _, Some(d)) => self.finding(
                    &rules::CLIENT_NO_RECLAIM_AFTER_COMPLETE,
                    format!("reclaim {op} for client ID {cid:#018x} after its RECLAIM_COMPLETE (frame {d})"),
                    vec![d, m.frame],
                ),
                _ => {}
            }
        }
    }

    /// A non-reclaim OPEN or LOCK accepted before the client's global
    /// RECLAIM_COMPLETE.
    pub(crate) fn check_grace_before_reclaim_complete(
        &mut self,
        op: &'static str,
        server: SocketAddr,
        clientid: Option<u64>,
        frames: &[u64],
    ) {
        let Some(r) = self.record_for(server, clientid) else {
            return;
        };
        if let (Some(cf), None) = (r.confirmed_frame, r.reclaim_complete_frame) {
            let mut fr = vec![cf];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::GRACE_BEFORE_RECLAIM_COMPLETE,
                format!(
                    "{server} granted {op} (not a reclaim) to client ID {:#018x} before its global RECLAIM_COMPLETE",
                    r.clientid
                ),
                fr,
            );
        }
    }

    /// A second global RECLAIM_COMPLETE accepted.
    pub(crate) fn check_second_reclaim_complete(
        &mut self,
        server: SocketAddr,
        clientid: Option<u64>,
        frames: &[u64],
    ) {
        let Some(r) = self.record_for(server, clientid) else {
            return;
        };
        if let Some(first) = r.reclaim_complete_frame {
            let mut fr = vec![first];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::RECLAIM_COMPLETE_ALREADY,
                format!(
                    "{server} accepted a second RECLAIM_COMPLETE for client ID {:#018x} (first in frame {first})",
                    r.clientid
                ),
                fr,
            );
        }
    }
}

impl Model {
    /// A connection to `server` joined a session created elsewhere: the two
    /// addresses must be session-trunkable by what they declared.
    pub(crate) fn check_session_trunking(
        &mut self,
        session: SessionId4,
        server: SocketAddr,
        how: &str,
        frames: &[u64],
    ) {
        let Some(home) = self.sessions.get(&session).map(|s| s.endpoint) else {
            return;
        };
        if home == server {
            return;
        }
        let (Some(a), Some(b)) = (self.endpoints.get(&home), self.endpoints.get(&server)) else {
            return;
        };
        let rel = relation(a, b);
        if matches!(rel, Relation::SessionTrunkable | Relation::Unknown) {
            return;
        }
        let msg = format!(
            "session {session} of {home} used at {server} by {how}, but the two are {}",
            rel.as_str()
        );
        self.finding(
            &rules::CLIENT_SESSION_TRUNKING,
            msg.clone(),
            frames.to_vec(),
        );
        self.finding(
            &rules::SERVER_SESSION_TRUNKING,
            format!("{msg}; the server accepted it"),
            frames.to_vec(),
        );
    }

    /// A CB_COMPOUND call's program against the session's callback program.
    pub(crate) fn check_cb_program(&mut self, m: &Message<'_>) {
        let Some(prog) = m.prog else {
            return;
        };
        let crate::exchange::Body::CbCompound(args) = &m.body else {
            return;
        };
        let Some(crate::nfs4::CbArgOp::CbSequence(seq)) = args.argarray.first() else {
            return;
        };
        let Some(expected) = self
            .sessions
            .get(&seq.csa_sessionid)
            .and_then(|s| s.cb_program)
        else {
            return;
        };
        if prog != expected {
            self.finding(
                &rules::CB_PROGRAM,
                format!(
                    "callback for session {} on program {prog:#x}; the client asked for {expected:#x}",
                    seq.csa_sessionid
                ),
                vec![m.frame],
            );
        }
    }

    /// NFS4ERR_MOVED for a client ID whose EXCHANGE_ID flags announced no
    /// migration or referral support.
    pub(crate) fn check_moved(
        &mut self,
        server: SocketAddr,
        clientid: Option<u64>,
        frames: &[u64],
    ) {
        let Some(r) = self.record_for(server, clientid) else {
            return;
        };
        let Some(f) = r.flags else {
            return;
        };
        if !f.intersects(ExchgId4Flags::SUPP_MOVED_REFER | ExchgId4Flags::SUPP_MOVED_MIGR) {
            let msg = format!(
                "{server} returned NFS4ERR_MOVED to client ID {:#018x}, whose eir_flags ({f}) announce neither SUPP_MOVED_REFER nor SUPP_MOVED_MIGR",
                r.clientid
            );
            self.finding(&rules::EXCHID_SUPP_MOVED, msg, frames.to_vec());
        }
    }

    /// A client ID value given to a second owner.
    pub(crate) fn check_clientid_reuse(
        &mut self,
        owner: &[u8],
        x: &ExchangeId4ResOk<'_>,
        server: SocketAddr,
        frames: &[u64],
    ) {
        let key = ServerKey::declared_by(x);
        let other = self.client_ids.iter().find(|r| {
            r.server == key
                && r.clientid == x.eir_clientid.0
                && r.owner.as_deref().is_some_and(|o| o != owner)
        });
        if let Some(r) = other {
            let msg = format!(
                "{server} gave client ID {:#018x} to owner \"{}\", already given to \"{}\" (frame {})",
                x.eir_clientid.0,
                crate::xdr::escape_bytes(owner),
                r.owner.as_deref().map(crate::xdr::escape_bytes).unwrap_or_default(),
                r.issued_frame.unwrap_or(0)
            );
            let mut fr = vec![r.issued_frame.unwrap_or(0)];
            fr.extend_from_slice(frames);
            self.finding(&rules::CLIENTID_REUSE, msg, fr);
        }
    }

    /// CREATE_SESSION accepted for a destroyed client ID.
    pub(crate) fn check_stale_clientid(
        &mut self,
        server: SocketAddr,
        clientid: u64,
        frames: &[u64],
    ) {
        if let Some(d) = self
            .record_for(server, Some(clientid))
            .and_then(|r| r.destroyed_frame)
        {
            let mut fr = vec![d];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::CSESS_STALE_CLIENTID,
                format!("{server} accepted CREATE_SESSION for client ID {clientid:#018x}, destroyed in frame {d}"),
                fr,
            );
        }
    }

    /// DESTROY_SESSION accepted on a connection not bound to the session.
    pub(crate) fn check_destroy_session_binding(
        &mut self,
        session: SessionId4,
        conn: crate::tcp::flow::ConnId,
        frames: &[u64],
    ) {
        if self.gaps_seen {
            return;
        }
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        if s.created_frame.is_some() && !s.connections.contains_key(&conn) {
            self.finding(
                &rules::DSESS_BOUND_CONNECTION,
                format!(
                    "DESTROY_SESSION of {session} accepted on connection {conn}, never bound to it"
                ),
                frames.to_vec(),
            );
        }
    }
}

impl Model {
    /// A state-protection request sent without GSS protection.
    pub(crate) fn check_protection_request(
        &mut self,
        p: &super::build::Protection,
        m: &Message<'_>,
    ) {
        if p.how != StateProtectHow4::SP4_NONE && !p.gss_protected {
            self.finding(
                &rules::CLIENT_PROTECTION_GSS,
                format!(
                    "EXCHANGE_ID asks for {} without RPCSEC_GSS integrity or privacy",
                    p.how
                ),
                vec![m.frame],
            );
        }
    }

    /// EXCHANGE_ID's reply against its request: undefined flags accepted,
    /// must-enforce ops dropped, SSV parameters.
    pub(crate) fn check_exchange_id_request_vs_reply(
        &mut self,
        flags: ExchgId4Flags,
        p: &super::build::Protection,
        x: &ExchangeId4ResOk<'_>,
        server: SocketAddr,
        frames: &[u64],
    ) {
        if flags.unknown_bits() != 0 {
            self.finding(
                &rules::EXCHID_UNDEFINED_FLAGS,
                format!(
                    "{server} accepted eia_flags {flags} with undefined bits {:#x}",
                    flags.unknown_bits()
                ),
                frames.to_vec(),
            );
        }
        const GUARDED_OPS: [u32; 6] = [42, 43, 7, 44, 41, 57];
        let granted = match &x.eir_state_protect {
            crate::nfs4::StateProtect4R::MachCred(o) => Some(&o.spo_must_enforce),
            crate::nfs4::StateProtect4R::Ssv(i) => Some(&i.spi_ops.spo_must_enforce),
            crate::nfs4::StateProtect4R::None => None,
        };
        if let Some(granted) = granted {
            let missing: Vec<String> = GUARDED_OPS
                .iter()
                .filter(|op| p.enforce.is_set(**op) && !granted.is_set(**op))
                .map(|op| {
                    crate::nfs4::NfsOpnum4(*op)
                        .op_name()
                        .unwrap_or("?")
                        .to_string()
                })
                .collect();
            if !missing.is_empty() {
                self.finding(
                    &rules::EXCHID_MUST_ENFORCE,
                    format!(
                        "{server} left {} out of spo_must_enforce",
                        missing.join(", ")
                    ),
                    frames.to_vec(),
                );
            }
        }
        if let Some((hashes, encrs, window)) = p.ssv {
            let bad_request = hashes == 0 || encrs == 0 || window == 0;
            let bad_window = match &x.eir_state_protect {
                crate::nfs4::StateProtect4R::Ssv(i) => i.spi_window == 0 || i.spi_window > window,
                _ => false,
            };
            if bad_request || bad_window {
                self.finding(
                    &rules::EXCHID_SSV_PARAMS,
                    format!(
                        "{server} accepted SP4_SSV with {hashes} hash and {encrs} encryption algorithm(s), window {window}"
                    ),
                    frames.to_vec(),
                );
            }
        }
    }
}

impl Model {
    /// SETCLIENTID_CONFIRM accepted with a confirm verifier this address
    /// never issued for the client ID (while it did issue another).
    pub(crate) fn check_v40_confirm(
        &mut self,
        server: SocketAddr,
        clientid: u64,
        confirm: [u8; 8],
        frames: &[u64],
    ) {
        let known_pair = self
            .v40_confirms
            .iter()
            .any(|(p, _, _)| *p == (clientid, confirm));
        let issued_here = self
            .v40_confirms
            .iter()
            .rev()
            .find(|(p, e, _)| p.0 == clientid && *e == server)
            .map(|(p, _, f)| (p.1, *f));
        if let (false, Some((issued, f))) = (known_pair, issued_here) {
            let mut fr = vec![f];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::V40_CONFIRM_MISMATCH,
                format!(
                    "{server} confirmed client ID {clientid:#018x} with verifier {}, but issued {}",
                    crate::xdr::hex(&confirm),
                    crate::xdr::hex(&issued)
                ),
                fr,
            );
        }
    }

    /// CONN_NOT_BOUND_TO_SESSION for an SP4_NONE client ID.
    pub(crate) fn check_implicit_binding(
        &mut self,
        session: SessionId4,
        server: SocketAddr,
        frames: &[u64],
    ) {
        let Some(s) = self.sessions.get(&session) else {
            return;
        };
        let Some(r) = self.record_for(s.endpoint, s.clientid) else {
            return;
        };
        if r.state_protect == Some(StateProtectHow4::SP4_NONE) {
            let msg = format!(
                "{server} refused SEQUENCE of session {session} (SP4_NONE client ID {:#018x}) with NFS4ERR_CONN_NOT_BOUND_TO_SESSION",
                r.clientid
            );
            self.finding(&rules::SEQ_IMPLICIT_BINDING, msg, frames.to_vec());
        }
    }
}

impl Model {
    /// State-revoked SEQUENCE flags must not vanish without FREE_STATEID
    /// (in this COMPOUND or since) or a new client ID.
    pub(crate) fn check_revoked_flags(
        &mut self,
        x: &crate::nfs4::Sequence4ResOk,
        frees_state: bool,
        frames: &[u64],
    ) {
        const REVOKED: Seq4Status = Seq4Status(0x08 | 0x10 | 0x20 | 0x40);
        let Some(s) = self.sessions.get_mut(&x.sr_sessionid) else {
            return;
        };
        let now = Seq4Status(x.sr_status_flags.0 & REVOKED.0);
        let (before, since) = s.revoked;
        s.revoked = (now, frames.last().copied().unwrap_or(0));
        if frees_state {
            s.freed_since_revoked = true;
        }
        let cleared = Seq4Status(before.0 & !now.0);
        if cleared.0 != 0 && !s.freed_since_revoked && !self.gaps_seen {
            let id = x.sr_sessionid;
            let mut fr = vec![since];
            fr.extend_from_slice(frames);
            self.finding(
                &rules::SEQ_REVOKED_FLAGS_STAY,
                format!("session {id}: {cleared} cleared without a FREE_STATEID"),
                fr,
            );
        }
        if let Some(s) = self.sessions.get_mut(&x.sr_sessionid) {
            if now.0 == 0 {
                s.freed_since_revoked = false;
            }
        }
    }
}

fn join_addrs(a: &BTreeSet<SocketAddr>) -> String {
    a.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn key_text(k: &ServerKey) -> String {
    match k {
        ServerKey::Declared { scope, major } => format!(
            "scope \"{}\", major id \"{}\"",
            crate::xdr::escape_bytes(scope),
            crate::xdr::escape_bytes(major)
        ),
        ServerKey::Address(a) => format!("address {a}"),
    }
}

/// True when a later confirmation of another client ID for the same owner
/// at the same server replaced `r` (how RFC 8881 §18.35.4 cases 3 and 5
/// end): `r` is no longer the server's confirmed record.
fn replaced(all: &[ClientIdRecord], r: &ClientIdRecord) -> bool {
    all.iter().any(|n| {
        n.server == r.server
            && n.clientid != r.clientid
            && n.owner == r.owner
            && n.confirmed_frame > r.confirmed_frame
    })
}
