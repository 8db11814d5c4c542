//! Checks over the life of client IDs and sessions: the CREATE_SESSION
//! sequence, leases and restarts, state protection of BIND_CONN_TO_SESSION,
//! callbacks, migration and failover, and the NFSv4.0 SETCLIENTID / RENEW
//! rules.
//!
//! Each check judges only what the capture proves. A server restart breaks
//! TCP connections, so an answer that arrives on a connection which already
//! carried the earlier evidence shows that no restart came in between; checks
//! that need a complete sequence of requests are skipped once bytes were lost
//! from the capture.

use super::checks::key_text;
use super::*;
use crate::exchange::{Body, Message};
use crate::nfs4::{
    CbArgOp, CbResOp, ExchangeId4ResOk, Getattr4Res, NfsRes, Sequence4ResOk, StateProtect4R,
};
use crate::rules::{self, Rule};

/// Statuses a same-scope server must not use to refuse a reclaim it cannot
/// honour (it answers NFS4ERR_NO_GRACE or NFS4ERR_RECLAIM_BAD instead).
const REFUSALS: [NfsStat4; 6] = [
    NfsStat4::NFS4ERR_NOTSUPP,
    NfsStat4::NFS4ERR_INVAL,
    NfsStat4::NFS4ERR_GRACE,
    NfsStat4::NFS4ERR_BAD_STATEID,
    NfsStat4::NFS4ERR_STALE_STATEID,
    NfsStat4::NFS4ERR_EXPIRED,
];

/// Attributes a server returns for an absent file system: fsid (8),
/// rdattr_error (11), fs_locations (24), mounted_on_fileid (55),
/// fs_status (61), fs_locations_info (67).
const ABSENT_FS_ATTRS: [u32; 6] = [8, 11, 24, 55, 61, 67];

/// `BIND_CONN_TO_SESSION`'s operation number.
const OP_BIND_CONN_TO_SESSION: u32 = 41;

fn with(first: u64, frames: &[u64]) -> Vec<u64> {
    let mut v = vec![first];
    v.extend_from_slice(frames);
    v
}

impl Model {
    /// The index of the client ID record `clientid` as issued by the server
    /// at `endpoint` (by what it declared).
    fn record_index(&self, endpoint: SocketAddr, clientid: u64) -> Option<usize> {
        let key = self.endpoints.get(&endpoint)?.server_key();
        self.client_ids
            .iter()
            .position(|r| r.server == key && r.clientid == clientid)
    }

    /// The index of the client ID record a session belongs to.
    fn session_record_index(&self, session: &SessionId4) -> Option<usize> {
        let s = self.sessions.get(session)?;
        self.record_index(s.endpoint, s.clientid?)
    }

    /// Notes what an EXCHANGE_ID reply says about the client ID it returns.
    pub(crate) fn note_exchange_id_issue(
        &mut self,
        key: ServerKey,
        owner: &[u8],
        verifier: [u8; 8],
        x: &ExchangeId4ResOk<'_>,
        frame: u64,
    ) {
        let confirmed_r = x.eir_flags.contains(ExchgId4Flags::CONFIRMED_R);
        let must = match &x.eir_state_protect {
            StateProtect4R::MachCred(o) => Some(o.spo_must_enforce.clone()),
            StateProtect4R::Ssv(i) => Some(i.spi_ops.spo_must_enforce.clone()),
            StateProtect4R::None => None,
        };
        let Some(rec) = self.client_id_record_mut(&key, x.eir_clientid.0) else {
            return;
        };
        let same_incarnation =
            rec.owner.as_deref() == Some(owner) && rec.verifier == Some(verifier);
        let t = &mut rec.track;
        t.last_issue_frame = Some(frame);
        t.must_enforce = must;
        if confirmed_r {
            t.confirmed_r_sequenceid = Some(x.eir_sequenceid);
            if same_incarnation && rec.confirmed_frame.is_some() {
                t.probe_frame = Some(frame);
            }
        } else {
            t.unconfirmed_frame.get_or_insert(frame);
            t.eir_sequenceid = Some(x.eir_sequenceid);
        }
    }

    fn client_id_record_mut(
        &mut self,
        key: &ServerKey,
        clientid: u64,
    ) -> Option<&mut ClientIdRecord> {
        self.client_ids
            .iter_mut()
            .find(|r| r.server == *key && r.clientid == clientid)
    }

    /// Row 45: a client ID seen issued unconfirmed returned with CONFIRMED_R
    /// while no CREATE_SESSION confirmed it.
    pub(crate) fn check_case1_unconfirmed(
        &mut self,
        x: &ExchangeId4ResOk<'_>,
        server: SocketAddr,
        frames: &[u64],
    ) {
        if self.gaps_seen || !x.eir_flags.contains(ExchgId4Flags::CONFIRMED_R) {
            return;
        }
        let key = ServerKey::declared_by(x);
        let cid = x.eir_clientid.0;
        let Some(u) = self
            .client_ids
            .iter()
            .find(|r| {
                r.server == key
                    && r.clientid == cid
                    && r.confirmed_frame.is_none()
                    && r.destroyed_frame.is_none()
            })
            .and_then(|r| r.track.unconfirmed_frame)
        else {
            return;
        };
        self.finding(
            &rules::EXCHID_CASE1_UNCONFIRMED,
            format!(
                "{server} returned client ID {cid:#018x} with CONFIRMED_R; it was issued unconfirmed in frame {u} and no CREATE_SESSION in the capture confirmed it"
            ),
            with(u, frames),
        );
    }

    /// Row 43: an EXCHANGE_ID whose only oddity is an empty
    /// eia_client_impl_id refused with NFS4ERR_INVAL.
    pub(crate) fn check_empty_impl_id(
        &mut self,
        flags: ExchgId4Flags,
        protect: &super::build::Protection,
        status: NfsStat4,
        server: SocketAddr,
        frames: &[u64],
    ) {
        if status == NfsStat4::NFS4ERR_INVAL
            && flags.unknown_bits() == 0
            && protect.how == StateProtectHow4::SP4_NONE
        {
            self.finding(
                &rules::EXCHID_EMPTY_IMPL_ID,
                format!(
                    "{server} refused an EXCHANGE_ID with an empty eia_client_impl_id, defined flags and SP4_NONE with NFS4ERR_INVAL"
                ),
                frames.to_vec(),
            );
        }
    }

    /// Rows 13 and 114: CREATE_SESSION at an address with a client ID that
    /// another server identity issued and this one never returned.
    pub(crate) fn check_client_trunking(&mut self, server: SocketAddr, cid: u64, frames: &[u64]) {
        let Some(ep) = self.endpoints.get(&server) else {
            return;
        };
        if ep.current().is_none() {
            return;
        }
        let key = ep.server_key();
        if self
            .client_ids
            .iter()
            .any(|r| r.server == key && r.clientid == cid && r.issued_frame.is_some())
        {
            return;
        }
        let Some(r) = self.client_ids.iter().find(|r| {
            r.server != key
                && r.clientid == cid
                && r.issued_frame.is_some()
                && r.destroyed_frame.is_none()
                && matches!(r.server, ServerKey::Declared { .. })
        }) else {
            return;
        };
        let issued = r.issued_frame.unwrap_or(0);
        let msg = format!(
            "CREATE_SESSION at {server} ({}) with client ID {cid:#018x}, issued in frame {issued} by another server ({})",
            key_text(&key),
            key_text(&r.server)
        );
        self.finding(&rules::CLIENT_CLIENTID_TRUNKING, msg, with(issued, frames));
    }

    /// Rows 63, 34 and 3: the CREATE_SESSION sequence of a client ID, a
    /// client that took eir_sequenceid from a CONFIRMED_R reply, and a
    /// client ID accepted after the server called it stale. `created` is
    /// the new session when the server accepted it.
    pub(crate) fn check_csess_sequence(
        &mut self,
        server: SocketAddr,
        cid: u64,
        q: u32,
        created: Option<SessionId4>,
        frames: &[u64],
    ) {
        let Some(i) = self.record_index(server, cid) else {
            return;
        };
        let t = self.client_ids[i].track.clone();
        let gaps = self.gaps_seen;
        let mut out: Vec<(&'static Rule, String, Vec<u64>)> = Vec::new();
        if let (Some((l, _, lf)), Some(e)) = (t.last_create, t.confirmed_r_sequenceid) {
            if q == e && e != l && e != l.wrapping_add(1) {
                out.push((
                    &rules::CLIENT_CSESS_CONFIRMED_R_SEQ,
                    format!(
                        "CREATE_SESSION for client ID {cid:#018x} with csa_sequence {q}, the eir_sequenceid of an EXCHANGE_ID reply with CONFIRMED_R; its last CREATE_SESSION used {l} (frame {lf})"
                    ),
                    with(lf, frames),
                ));
            }
        }
        if let Some(sid) = created {
            match t.last_create {
                Some((l, lsid, lf)) if q == l && sid != lsid => out.push((
                    &rules::CSESS_SEQUENCE,
                    format!(
                        "{server} re-executed CREATE_SESSION csa_sequence {q} for client ID {cid:#018x}: session {sid}, where the first (frame {lf}) created {lsid}"
                    ),
                    with(lf, frames),
                )),
                Some((l, _, lf)) if !gaps && q != l && q != l.wrapping_add(1) => out.push((
                    &rules::CSESS_SEQUENCE,
                    format!(
                        "{server} accepted CREATE_SESSION csa_sequence {q} for client ID {cid:#018x} after {l} (frame {lf})"
                    ),
                    with(lf, frames),
                )),
                None => {
                    if let Some(e) = t.eir_sequenceid.filter(|e| !gaps && *e != q) {
                        out.push((
                            &rules::CSESS_SEQUENCE,
                            format!(
                                "{server} accepted the first CREATE_SESSION for client ID {cid:#018x} with csa_sequence {q}; EXCHANGE_ID gave eir_sequenceid {e}"
                            ),
                            frames.to_vec(),
                        ));
                    }
                }
                _ => {}
            }
            if let Some(sf) = t.stale_frame {
                if t.last_issue_frame.is_none_or(|f| f < sf) {
                    out.push((
                        &rules::CSESS_STALE_AFTER_RESTART,
                        format!(
                            "{server} accepted CREATE_SESSION for client ID {cid:#018x} after answering NFS4ERR_STALE_CLIENTID for it (frame {sf}), with no EXCHANGE_ID returning it since"
                        ),
                        with(sf, frames),
                    ));
                }
            }
        }
        let track = &mut self.client_ids[i].track;
        track.confirmed_r_sequenceid = None;
        match created {
            Some(sid) => {
                track.last_create = Some((q, sid, frames.last().copied().unwrap_or(0)));
                track.eir_sequenceid = None;
            }
            None => {
                // A refused CREATE_SESSION may or may not have used the
                // slot: its state is unknown until the next success.
                track.last_create = None;
                track.eir_sequenceid = None;
            }
        }
        for (rule, msg, fr) in out {
            self.finding(rule, msg, fr);
        }
    }

    /// Rows 23 and 69: BIND_CONN_TO_SESSION accepted without GSS integrity
    /// or privacy for a client ID that protects it.
    pub(crate) fn check_bcts_protection(
        &mut self,
        session: SessionId4,
        gss_protected: bool,
        server: SocketAddr,
        frames: &[u64],
    ) {
        if gss_protected {
            return;
        }
        let Some(r) = self
            .session_record_index(&session)
            .map(|i| &self.client_ids[i])
        else {
            return;
        };
        let cid = r.clientid;
        let enforced = r
            .track
            .must_enforce
            .as_ref()
            .is_some_and(|b| b.is_set(OP_BIND_CONN_TO_SESSION));
        match r.state_protect {
            Some(StateProtectHow4::SP4_SSV) => {
                self.finding(
                    &rules::CLIENT_BCTS_SSV_GSS,
                    format!(
                        "BIND_CONN_TO_SESSION for session {session} (SP4_SSV client ID {cid:#018x}) sent without RPCSEC_GSS integrity or privacy"
                    ),
                    frames.to_vec(),
                );
                self.finding(
                    &rules::BCTS_STATE_PROTECTION,
                    format!(
                        "{server} accepted BIND_CONN_TO_SESSION for session {session} of SP4_SSV client ID {cid:#018x} without RPCSEC_GSS integrity or privacy"
                    ),
                    frames.to_vec(),
                );
            }
            Some(StateProtectHow4::SP4_MACH_CRED) if enforced => self.finding(
                &rules::BCTS_STATE_PROTECTION,
                format!(
                    "{server} accepted BIND_CONN_TO_SESSION for session {session} of SP4_MACH_CRED client ID {cid:#018x}, which enforces it, without RPCSEC_GSS integrity or privacy"
                ),
                frames.to_vec(),
            ),
            _ => {}
        }
    }

    /// A successful SEQUENCE: rows 3 (a session of a stale client ID), 81
    /// (LEASE_MOVED), 21 (owner change) and the lease renewal.
    pub(crate) fn check_sequence_lifecycle(
        &mut self,
        x: &Sequence4ResOk,
        server: SocketAddr,
        m: &Message<'_>,
        frames: &[u64],
    ) {
        let sid = x.sr_sessionid;
        let Some(first) = self.sessions.get(&sid).map(|s| s.first_frame) else {
            return;
        };
        if let Some(i) = self.session_record_index(&sid) {
            let r = &self.client_ids[i];
            let cid = r.clientid;
            if let Some(sf) = r.track.stale_frame {
                if first < sf && r.track.last_issue_frame.is_none_or(|f| f < sf) {
                    self.finding(
                        &rules::CSESS_STALE_AFTER_RESTART,
                        format!(
                            "{server} accepted SEQUENCE on session {sid} of client ID {cid:#018x}, which it called stale (NFS4ERR_STALE_CLIENTID) in frame {sf}"
                        ),
                        with(sf, frames),
                    );
                }
            }
            if !x
                .sr_status_flags
                .contains(Seq4Status::EXPIRED_ALL_STATE_REVOKED)
            {
                self.client_ids[i].track.renewed = Some((m.ts, m.conn, m.frame));
            }
        }
        self.check_lease_moved(x, m.frame, frames);
        self.check_owner_change(sid, server, frames);
    }

    /// Row 81: LEASE_MOVED cleared before any NFS4ERR_MOVED on the session.
    fn check_lease_moved(&mut self, x: &Sequence4ResOk, frame: u64, frames: &[u64]) {
        let gaps = self.gaps_seen;
        let sid = x.sr_sessionid;
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        let set = x.sr_status_flags.contains(Seq4Status::LEASE_MOVED);
        match (s.lease_moved, set) {
            (None, true) => s.lease_moved = Some((frame, false)),
            (Some((since, moved)), false) => {
                s.lease_moved = None;
                if !moved && !gaps {
                    self.finding(
                        &rules::SEQ_LEASE_MOVED_STAYS,
                        format!(
                            "LEASE_MOVED, set on session {sid} since frame {since}, cleared before any NFS4ERR_MOVED"
                        ),
                        with(since, frames),
                    );
                }
            }
            _ => {}
        }
    }

    /// Row 21: a session still used at an address that declared another
    /// owner since the session was first seen.
    fn check_owner_change(&mut self, sid: SessionId4, server: SocketAddr, frames: &[u64]) {
        let (Some(ep), Some(s)) = (self.endpoints.get(&server), self.sessions.get(&sid)) else {
            return;
        };
        let n = ep.declarations.len();
        if n < 2 {
            return;
        }
        let (prev, cur) = (&ep.declarations[n - 2], &ep.declarations[n - 1]);
        if s.first_frame >= cur.first_frame {
            return;
        }
        let owner_changed = prev.major != cur.major || prev.scope != cur.scope;
        let what = if s.endpoint == server && owner_changed {
            "another server owner or scope"
        } else if s.endpoint != server
            && prev.minor != cur.minor
            && self
                .endpoints
                .get(&s.endpoint)
                .is_some_and(|home| relation(home, ep) != Relation::SessionTrunkable)
        {
            "another minor id, not session-trunkable with the session's server"
        } else {
            return;
        };
        let changed = cur.first_frame;
        let msg = format!(
            "{server} declared {what} in frame {changed}; the client still uses session {sid} (seen since frame {}) there",
            s.first_frame
        );
        self.finding(&rules::CLIENT_OWNER_CHANGE, msg, with(changed, frames));
    }

    /// Rows 8 and 74: a session or its client ID lost (BADSESSION on
    /// SEQUENCE, STALE_CLIENTID in its COMPOUND) with no restart, after a
    /// repeated EXCHANGE_ID or within the lease.
    pub(crate) fn check_state_kept(
        &mut self,
        sid: SessionId4,
        status: NfsStat4,
        m: &Message<'_>,
        frames: &[u64],
    ) {
        let Some(s) = self.sessions.get(&sid) else {
            return;
        };
        if s.destroyed_frame.is_some() {
            return;
        }
        let (first, used) = (s.first_frame, !s.slots.is_empty());
        let Some(r) = self.session_record_index(&sid).map(|i| &self.client_ids[i]) else {
            return;
        };
        let cid = r.clientid;
        let conn_first = self.connections.get(&m.conn).map(|c| c.first_frame);
        let server = m.src;
        let mut out: Vec<(&'static Rule, String, Vec<u64>)> = Vec::new();
        if let (Some(p), Some(cf)) = (r.track.probe_frame, conn_first) {
            if cf < p && first < p {
                out.push((
                    &rules::EXCHID_PROBE_KEEPS_STATE,
                    format!(
                        "{server} answered {status} for session {sid} of client ID {cid:#018x} after a repeated EXCHANGE_ID (same owner and verifier) returned it confirmed in frame {p}; the connection, open since frame {cf}, shows no restart"
                    ),
                    with(p, frames),
                ));
            }
        }
        let lease = self.endpoints.get(&server).and_then(|e| e.lease_time);
        if let (Some(l), Some((t0, c0, f0))) = (lease, r.track.renewed) {
            let age = m.ts.since(t0);
            if c0 == m.conn && used && age < f64::from(l) {
                out.push((
                    &rules::LEASE_RENEWED,
                    format!(
                        "{server} answered {status} for session {sid} of client ID {cid:#018x} {age:.1} s after a SEQUENCE renewed the lease (frame {f0}) on the same connection; lease_time is {l} s"
                    ),
                    with(f0, frames),
                ));
            }
        }
        for (rule, msg, fr) in out {
            self.finding(rule, msg, fr);
        }
    }

    /// The server answered NFS4ERR_STALE_CLIENTID for `cid`.
    pub(crate) fn note_stale(&mut self, server: SocketAddr, cid: u64, frame: u64) {
        let key = self.endpoint(server, frame).server_key();
        if let Some(r) = self.client_id_record(key, cid) {
            r.track.stale_frame = Some(frame);
        }
    }

    /// RENEW (NFSv4.0, row 106): after STALE_CLIENTID, and EXPIRED within
    /// the lease.
    pub(crate) fn on_renew(
        &mut self,
        server: SocketAddr,
        cid: u64,
        st: NfsStat4,
        m: &Message<'_>,
        frames: &[u64],
    ) {
        match st {
            NfsStat4::NFS4_OK => {
                let key = self.endpoint(server, m.frame).server_key();
                let Some(r) = self.client_id_record(key, cid) else {
                    return;
                };
                let stale = r
                    .track
                    .stale_frame
                    .filter(|sf| r.track.last_issue_frame.is_none_or(|f| f < *sf));
                r.track.renewed = Some((m.ts, m.conn, m.frame));
                if let Some(sf) = stale {
                    self.finding(
                        &rules::V40_RENEW,
                        format!(
                            "{server} accepted RENEW for client ID {cid:#018x} after answering NFS4ERR_STALE_CLIENTID for it (frame {sf}), with no SETCLIENTID returning it since"
                        ),
                        with(sf, frames),
                    );
                }
            }
            NfsStat4::NFS4ERR_STALE_CLIENTID => self.note_stale(server, cid, m.frame),
            NfsStat4::NFS4ERR_EXPIRED => {
                let lease = self.endpoints.get(&server).and_then(|e| e.lease_time);
                let renewed = self
                    .record_index(server, cid)
                    .and_then(|i| self.client_ids[i].track.renewed);
                if let (Some(l), Some((t0, c0, f0))) = (lease, renewed) {
                    let age = m.ts.since(t0);
                    if c0 == m.conn && age < f64::from(l) {
                        self.finding(
                            &rules::V40_RENEW,
                            format!(
                                "{server} answered RENEW of client ID {cid:#018x} with NFS4ERR_EXPIRED {age:.1} s after a renewal (frame {f0}) on the same connection; lease_time is {l} s"
                            ),
                            with(f0, frames),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// GETATTR: lease_time learned; row 113 (fs_locations in an absent
    /// file system).
    pub(crate) fn on_getattr(
        &mut self,
        mask: &crate::nfs4::Bitmap4,
        res: &Getattr4Res<'_>,
        server: SocketAddr,
        frames: &[u64],
    ) {
        match res {
            NfsRes::Ok(x) if mask.is_set(10) => {
                if let Some(l) = x.obj_attributes.decode_values().lease_time() {
                    if let Some(ep) = self.endpoints.get_mut(&server) {
                        ep.lease_time = Some(l);
                    }
                }
            }
            NfsRes::Fail(NfsStat4::NFS4ERR_MOVED)
                if (mask.is_set(24) || mask.is_set(67))
                    && mask.bits().all(|b| ABSENT_FS_ATTRS.contains(&b)) =>
            {
                let names: Vec<String> = mask.bits().map(|b| b.to_string()).collect();
                self.finding(
                    &rules::FSLOC_GETATTR_ABSENT,
                    format!(
                        "{server} answered GETATTR of attributes [{}] (fs_locations) with NFS4ERR_MOVED",
                        names.join(", ")
                    ),
                    frames.to_vec(),
                );
            }
            _ => {}
        }
    }

    /// NFS4ERR_MOVED returned: LEASE_MOVED may clear (row 81); a v4.0
    /// client facing migration should use one id string (row 108).
    pub(crate) fn note_moved(
        &mut self,
        session: Option<SessionId4>,
        server: SocketAddr,
        m: &Message<'_>,
        frames: &[u64],
    ) {
        if let Some(s) = session.and_then(|id| self.sessions.get_mut(&id)) {
            if let Some((since, _)) = s.lease_moved {
                s.lease_moved = Some((since, true));
            }
        }
        if m.minorversion != Some(0) {
            return;
        }
        let host = m.dst.ip();
        let v40 = |c: &&Client| c.kind == OwnerKind::V40 && c.sources.contains(&host);
        let here = self
            .clients
            .iter()
            .filter(v40)
            .find(|c| c.endpoints.contains(&server));
        let Some(here) = here else {
            return;
        };
        let elsewhere = self
            .clients
            .iter()
            .filter(v40)
            .find(|c| c.owner != here.owner && c.endpoints.iter().any(|e| *e != server));
        if let Some(other) = elsewhere {
            let msg = format!(
                "client {host} presented id string \"{}\" to {server}, which answers NFS4ERR_MOVED, and \"{}\" to {}",
                crate::xdr::escape_bytes(&here.owner),
                crate::xdr::escape_bytes(&other.owner),
                other
                    .endpoints
                    .iter()
                    .filter(|e| **e != server)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let first = other.first_frame;
            self.finding(&rules::CLIENT_V40_UNIFORM, msg, with(first, frames));
        }
    }

    /// Row 104: SETCLIENTID with a new verifier given the client ID
    /// confirmed for the old one.
    pub(crate) fn check_v40_new_clientid(
        &mut self,
        server: SocketAddr,
        id: &[u8],
        verifier: [u8; 8],
        cid: u64,
        frames: &[u64],
    ) {
        let Some(i) = self.record_index(server, cid) else {
            return;
        };
        let r = &self.client_ids[i];
        if r.owner.as_deref() != Some(id) || r.destroyed_frame.is_some() {
            return;
        }
        let (Some(old), Some(cf)) = (r.verifier, r.confirmed_frame) else {
            return;
        };
        if old != verifier {
            self.finding(
                &rules::V40_NEW_CLIENTID,
                format!(
                    "{server} returned client ID {cid:#018x} to \"{}\" with a new verifier {}; it was confirmed (frame {cf}) for verifier {}",
                    crate::xdr::escape_bytes(id),
                    crate::xdr::hex(&verifier),
                    crate::xdr::hex(&old)
                ),
                with(cf, frames),
            );
        }
    }

    /// Row 109: the RFC 7931 test says one server, yet the two addresses
    /// gave one id string and verifier different client IDs.
    pub(crate) fn check_v40_trunking_consistent(
        &mut self,
        issued_at: SocketAddr,
        confirmed_at: SocketAddr,
        cid: u64,
        frames: &[u64],
    ) {
        let Some(b) = self
            .record_index(issued_at, cid)
            .map(|i| &self.client_ids[i])
        else {
            return;
        };
        let (Some(owner), Some(verifier)) = (b.owner.clone(), b.verifier) else {
            return;
        };
        let Some(key_a) = self.endpoints.get(&confirmed_at).map(|e| e.server_key()) else {
            return;
        };
        let Some(a) = self.client_ids.iter().find(|r| {
            r.server == key_a
                && r.clientid != cid
                && r.owner.as_deref() == Some(owner.as_slice())
                && r.verifier == Some(verifier)
                && r.issued_frame.is_some()
                && r.destroyed_frame.is_none()
        }) else {
            return;
        };
        let (other, f) = (a.clientid, a.issued_frame.unwrap_or(0));
        self.finding(
            &rules::V40_TRUNKING_CONSISTENT,
            format!(
                "{confirmed_at} confirmed client ID {cid:#018x} issued by {issued_at} (one server, by the RFC 7931 test), but gave the same id string \"{}\" and verifier client ID {other:#018x} (frame {f})",
                crate::xdr::escape_bytes(&owner)
            ),
            with(f, frames),
        );
    }

    /// Row 98: a reclaim after a failover, judged by server scope.
    pub(crate) fn check_failover_reclaim(
        &mut self,
        op: &'static str,
        status: NfsStat4,
        server: SocketAddr,
        clientid: Option<u64>,
        frames: &[u64],
    ) {
        let Some(r) = self.record_for(server, clientid) else {
            return;
        };
        let (Some(owner), Some(verifier)) = (r.owner.clone(), r.verifier) else {
            return;
        };
        let ServerKey::Declared { scope, .. } = r.server.clone() else {
            return;
        };
        let (key, cid) = (r.server.clone(), r.clientid);
        let issued = r.issued_frame.unwrap_or(u64::MAX);
        let here_since = self.endpoints.get(&server).map_or(0, |e| e.first_frame);
        // The same incarnation's confirmed client IDs at other servers, before.
        let earlier: Vec<(ServerKey, u64)> = self
            .client_ids
            .iter()
            .filter(|o| {
                o.server != key
                    && o.owner.as_deref() == Some(owner.as_slice())
                    && o.verifier == Some(verifier)
                    && o.confirmed_frame.is_some_and(|f| f < issued)
            })
            .filter_map(|o| Some((o.server.clone(), o.confirmed_frame?)))
            .collect();
        let scope_of = |k: &ServerKey| match k {
            ServerKey::Declared { scope, .. } => Some(scope.clone()),
            ServerKey::Address(_) => None,
        };
        let same_scope = earlier
            .iter()
            .find(|(k, _)| scope_of(k).as_deref() == Some(scope.as_slice()));
        if let Some((k, f)) = same_scope {
            if REFUSALS.contains(&status) {
                let msg = format!(
                    "{server} ({}) refused reclaim {op} of client ID {cid:#018x} with {status}; the client held state at {} (confirmed frame {f}) in the same scope: a server that cannot honour it answers NFS4ERR_NO_GRACE",
                    key_text(&key),
                    key_text(k)
                );
                self.finding(&rules::SERVER_FAILOVER_RECLAIM, msg, with(*f, frames));
            }
            return;
        }
        // Only another scope before, and this server first seen after it.
        if let Some((k, f)) = earlier.iter().find(|(_, f)| *f < here_since) {
            let msg = format!(
                "client reclaims {op} at {server} ({}), first seen after it held state at {} (confirmed frame {f}), a different server scope",
                key_text(&key),
                key_text(k)
            );
            self.finding(&rules::CLIENT_FAILOVER_RECLAIM, msg, with(*f, frames));
        }
    }

    /// A CB_COMPOUND call: which session's callback, on which connection.
    pub(crate) fn note_callback(&mut self, m: &Message<'_>) {
        let Body::CbCompound(args) = &m.body else {
            return;
        };
        let Some(CbArgOp::CbSequence(seq)) = args.argarray.first() else {
            return;
        };
        let sid = seq.csa_sessionid;
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.callbacks.insert(m.conn, m.frame);
        }
        if self.cb_pending.len() < self.limits.max_pending {
            self.cb_pending.insert((m.conn, m.xid), (sid, m.frame));
        } else {
            self.limit_counts.cb_pending_dropped += 1;
        }
    }

    /// Row 20: the client refuses a callback on a back channel bound to
    /// its client ID.
    pub(crate) fn check_callback_reply(&mut self, m: &Message<'_>) {
        let Some((sid, call_frame)) = self.cb_pending.remove(&(m.conn, m.xid)) else {
            return;
        };
        let Body::CbCompoundReply(res) = &m.body else {
            return;
        };
        let Some(CbResOp::CbSequence(NfsRes::Fail(st))) = res.resarray.first() else {
            return;
        };
        if !matches!(
            *st,
            NfsStat4::NFS4ERR_BADSESSION | NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION
        ) {
            return;
        }
        // A callback for a session the client destroyed is rightly refused.
        let Some(owner) = self
            .sessions
            .get(&sid)
            .filter(|s| s.destroyed_frame.is_none())
        else {
            return;
        };
        let (cid, home) = (owner.clientid, owner.endpoint);
        let back = |b: &Binding| {
            matches!(
                b.dir,
                ChannelDirFromServer4::CDFS4_BACK | ChannelDirFromServer4::CDFS4_BOTH
            )
        };
        let key = self.endpoints.get(&home).map(|e| e.server_key());
        let via = self.sessions.values().find(|s| {
            s.destroyed_frame.is_none()
                && (s.id == sid
                    || (cid.is_some()
                        && s.clientid == cid
                        && self.endpoints.get(&s.endpoint).map(|e| e.server_key()) == key))
                && s.connections.get(&m.conn).is_some_and(back)
        });
        if let Some(v) = via {
            let msg = format!(
                "client refused a callback for session {sid} on connection {} with {st}; the connection is a back channel of session {} of the same client ID",
                m.conn, v.id
            );
            self.finding(&rules::CB_ANY_BACKCHANNEL, msg, vec![call_frame, m.frame]);
        }
    }
}
