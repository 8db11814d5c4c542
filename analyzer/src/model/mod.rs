//! The identity model: who is who in a capture.
//!
//! Built from decoded messages through typed events ([`event`]). Keys follow
//! RFC 8881 §2.10.4 and §18.35.3: a client ID means something only within
//! the server that issued it, identified by (server scope, so_major_id) as
//! the server itself declared in EXCHANGE_ID; never by the clientid4 value
//! alone. NFSv4.0 servers declare no owner, so their client IDs are keyed
//! by the server address that issued them.
//!
//! What is modelled: server endpoints and what each declared over time;
//! server identities (endpoints grouped by declaration) and the relation
//! between every pair; clients (owner strings, incarnations, principals,
//! source addresses) and the client IDs each obtained; sessions with their
//! connections (bound by CREATE_SESSION, BIND_CONN_TO_SESSION or implicitly
//! by SEQUENCE), channel attributes and slots; and the recovery timeline
//! (restart-revealing errors, grace, reclaims, RECLAIM_COMPLETE); and the
//! RPCSEC_GSS contexts (RFC 2203 §5.2.2) with the target principal their
//! creation named (the client principal is encrypted, not on the wire).

mod apply;
mod build;
pub mod event;
pub mod json;

pub use apply::is_recovery_status;
pub use build::ModelLimits;

use crate::capture::packet::Timestamp;
use crate::nfs4::{
    Bitmap4, ChannelAttrs4, ChannelDirFromServer4, CreateSession4Flags, ExchgId4Flags, NfsStat4,
    Seq4Status, SessionId4, StateProtectHow4,
};
use crate::rpc::gss_token::{KrbPrincipal, Mech, TokenError};
use crate::rpc::RpcGssService;
use crate::tcp::flow::ConnId;
use crate::tcp::hash::FastMap;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

/// What a server said about itself in one EXCHANGE_ID reply (a run of equal
/// replies is one declaration; a change starts a new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// `so_major_id`.
    pub major: Vec<u8>,
    /// `so_minor_id`.
    pub minor: u64,
    /// `eir_server_scope`.
    pub scope: Vec<u8>,
    /// `eir_server_impl_id` (domain, name), if sent.
    pub impl_id: Option<(Vec<u8>, Vec<u8>)>,
    /// First frame with this declaration.
    pub first_frame: u64,
    /// Last frame with it.
    pub last_frame: u64,
    /// Replies that repeated it.
    pub replies: u64,
}

/// A server address and port, and what it declared over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Address and port.
    pub addr: SocketAddr,
    /// EXCHANGE_ID declarations in order (empty for NFSv4.0-only servers).
    pub declarations: Vec<Declaration>,
    /// NFSv4 minor versions seen on it.
    pub minor_versions: BTreeSet<u32>,
    /// First frame of traffic to or from it.
    pub first_frame: u64,
    /// `lease_time` (seconds) from a GETATTR reply, if seen.
    pub lease_time: Option<u32>,
    /// Restarts of the server behind the address the capture proves, in
    /// order: from each, values it gave before are not compared with the
    /// ones it gives after.
    pub restarts: Vec<Restart>,
    /// The upper half of the last client ID it issued (the boot epoch of
    /// common servers).
    pub last_epoch: Option<u32>,
    /// EXCHANGE_IDs it answered under RPCSEC_GSS, by the target principal
    /// of their context (`max_entities` entries over all endpoints).
    pub gss_targets: Vec<TargetSeen>,
}

/// EXCHANGE_IDs an address answered under RPCSEC_GSS with one target
/// principal (RFC 8881 §2.10.5.1: equal target principals verify client-ID
/// trunking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSeen {
    /// The target principal of the context, `None` when its creation was
    /// not captured (or its token named none).
    pub target: Option<KrbPrincipal>,
    /// First EXCHANGE_ID reply.
    pub first_frame: u64,
    /// Last EXCHANGE_ID reply.
    pub last_frame: u64,
    /// EXCHANGE_ID replies.
    pub replies: u64,
}

/// A restart of the server behind an address, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    /// Frame of the evidence.
    pub frame: u64,
    /// The evidence, in words.
    pub why: &'static str,
}

impl Endpoint {
    /// Frame from which the server behind the address is in its current
    /// incarnation (0 when no restart was seen).
    pub fn incarnation_since(&self) -> u64 {
        self.restarts.last().map_or(0, |r| r.frame)
    }

    /// The latest declaration.
    pub fn current(&self) -> Option<&Declaration> {
        self.declarations.last()
    }

    /// The server identity key of its latest declaration.
    pub fn server_key(&self) -> ServerKey {
        match self.current() {
            Some(d) => ServerKey::Declared {
                scope: d.scope.clone(),
                major: d.major.clone(),
            },
            None => ServerKey::Address(self.addr),
        }
    }
}

impl ServerKey {
    /// The key an EXCHANGE_ID reply declares: (eir_server_scope, so_major_id).
    pub fn declared_by(x: &crate::nfs4::ExchangeId4ResOk<'_>) -> ServerKey {
        ServerKey::Declared {
            scope: x.eir_server_scope.as_bytes().to_vec(),
            major: x.eir_server_owner.so_major_id.as_bytes().to_vec(),
        }
    }
}

/// Identifies the server that issued a client ID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKey {
    /// What the server declared: (server scope, so_major_id).
    Declared {
        /// `eir_server_scope`.
        scope: Vec<u8>,
        /// `so_major_id`.
        major: Vec<u8>,
    },
    /// No declaration seen (NFSv4.0, or EXCHANGE_ID not in the capture).
    Address(SocketAddr),
}

/// How two endpoints relate, by what they declared (RFC 8881 §2.10.5, §8.4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relation {
    /// Same scope, major and minor: one session may span both.
    SessionTrunkable,
    /// Same scope and major: one client ID may span both.
    ClientIdTrunkable,
    /// Same scope only: a client may reclaim at one what it held at the other.
    SameScope,
    /// Different scopes: nothing is shared.
    Unrelated,
    /// One of them declared nothing in the capture.
    Unknown,
}

impl Relation {
    /// A short name (`session-trunkable`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::SessionTrunkable => "session-trunkable",
            Relation::ClientIdTrunkable => "clientid-trunkable",
            Relation::SameScope => "same-scope",
            Relation::Unrelated => "unrelated",
            Relation::Unknown => "unknown",
        }
    }
}

/// The relation between two endpoints' latest declarations.
pub fn relation(a: &Endpoint, b: &Endpoint) -> Relation {
    match (a.current(), b.current()) {
        (Some(x), Some(y)) if x.scope != y.scope => Relation::Unrelated,
        (Some(x), Some(y)) if x.major != y.major => Relation::SameScope,
        (Some(x), Some(y)) if x.minor != y.minor => Relation::ClientIdTrunkable,
        (Some(_), Some(_)) => Relation::SessionTrunkable,
        _ => Relation::Unknown,
    }
}

/// Which protocol a client identity was declared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerKind {
    /// `client_owner4.co_ownerid` (EXCHANGE_ID, NFSv4.1+).
    V41,
    /// `nfs_client_id4.id` (SETCLIENTID, NFSv4.0).
    V40,
}

/// Who made a call, as far as its credential says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// AUTH_NONE.
    None,
    /// AUTH_SYS: machine name, uid, gid and supplementary groups.
    Sys {
        /// `machinename`.
        machine: Vec<u8>,
        /// `uid`.
        uid: u32,
        /// `gid`.
        gid: u32,
        /// `gids`, sorted (servers such as Linux nfsd tell principals
        /// apart by their groups too).
        gids: Vec<u32>,
    },
    /// RPCSEC_GSS, by context handle (the client principal is encrypted,
    /// not on the wire; the target principal of the context is in
    /// [`Model::gss_contexts`]).
    Gss {
        /// The context handle.
        handle: Vec<u8>,
    },
    /// Another flavor.
    Other(u32),
}

/// An RPCSEC_GSS context: its handle at a server, what its creation named,
/// and the calls that used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssContext {
    /// The context handle the server gave.
    pub handle: Vec<u8>,
    /// The server address that created it (or where it was first used).
    pub server: SocketAddr,
    /// Its creation, when the capture holds it.
    pub creation: Option<GssCreation>,
    /// Services of the calls that used it, in order of first use.
    pub services: Vec<RpcGssService>,
    /// Frame of the first COMPOUND call that used it.
    pub first_use: Option<u64>,
    /// Frame of the last.
    pub last_use: Option<u64>,
    /// COMPOUND calls that used it.
    pub calls: u64,
}

/// The creation of an RPCSEC_GSS context (RPCSEC_GSS_INIT, then any
/// CONTINUE_INIT): what the initiator's token named and how the server
/// answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssCreation {
    /// The client end.
    pub client: SocketAddr,
    /// Frame of the RPCSEC_GSS_INIT call.
    pub init_frame: u64,
    /// Frame of the last (CONTINUE_)INIT reply.
    pub reply_frame: u64,
    /// The service the INIT credential named.
    pub service: RpcGssService,
    /// The initiator's token: mechanism and target principal, or why not.
    pub token: Result<crate::rpc::gss_token::InitiatorToken, TokenError>,
    /// `gss_major` of the last reply (0 GSS_S_COMPLETE, 1 CONTINUE_NEEDED).
    pub gss_major: u32,
    /// Frame of the reply that completed it (GSS_S_COMPLETE).
    pub established_frame: Option<u64>,
    /// The mechanism of the server's token, when framed.
    pub acceptor_mech: Option<Mech>,
}

impl GssCreation {
    /// The target principal the initiator's token named.
    pub fn target(&self) -> Option<&KrbPrincipal> {
        self.token.as_ref().ok().map(|t| &t.target)
    }

    /// The mechanism: the token's (`spnego(krb5)` for Kerberos inside
    /// SPNEGO), else the error's, else the server token's.
    pub fn mech_text(&self) -> Option<String> {
        match &self.token {
            Ok(t) => Some(t.mech_text()),
            Err(e) => e
                .mech
                .as_ref()
                .or(self.acceptor_mech.as_ref())
                .map(|m| m.to_string()),
        }
    }

    /// True for Kerberos V5 (directly or inside SPNEGO).
    pub fn is_krb5(&self) -> bool {
        match &self.token {
            Ok(t) => t.kerberos_mech().is_krb5(),
            Err(e) => e.mech.as_ref().is_some_and(Mech::is_krb5),
        }
    }
}

impl GssContext {
    /// The target principal its creation named.
    pub fn target(&self) -> Option<&KrbPrincipal> {
        self.creation.as_ref().and_then(GssCreation::target)
    }
}

/// The name of an RPCSEC_GSS security flavor: `krb5`, `krb5i`, `krb5p` for
/// Kerberos V5 (RFC 2623 §2.2), else `RPCSEC_GSS none|integrity|privacy`.
pub fn gss_flavor_text(krb5: bool, service: RpcGssService) -> String {
    match (krb5, service) {
        (true, RpcGssService::rpc_gss_svc_none) => "krb5".into(),
        (true, RpcGssService::rpc_gss_svc_integrity) => "krb5i".into(),
        (true, RpcGssService::rpc_gss_svc_privacy) => "krb5p".into(),
        (_, s) => format!("RPCSEC_GSS {}", gss_service_text(s)),
    }
}

/// `none`, `integrity`, `privacy`, or the number.
pub fn gss_service_text(service: RpcGssService) -> String {
    match service {
        RpcGssService::rpc_gss_svc_none => "none".into(),
        RpcGssService::rpc_gss_svc_integrity => "integrity".into(),
        RpcGssService::rpc_gss_svc_privacy => "privacy".into(),
        RpcGssService(n) => format!("service {n}"),
    }
}

/// `GSS_S_COMPLETE`, `GSS_S_CONTINUE_NEEDED`, or the major status in hex.
pub fn gss_major_text(major: u32) -> String {
    match major {
        0 => "GSS_S_COMPLETE".into(),
        1 => "GSS_S_CONTINUE_NEEDED".into(),
        m => format!("GSS major {m:#010x}"),
    }
}

/// How an EXCHANGE_ID was sent under RPCSEC_GSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssUse {
    /// The service of its credential.
    pub service: RpcGssService,
    /// The context handle.
    pub handle: Vec<u8>,
    /// The context in [`Model::gss_contexts`], when known.
    pub context: Option<usize>,
}

/// One client, as identified by its owner string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The owner string (`co_ownerid` or `nfs_client_id4.id`).
    pub owner: Vec<u8>,
    /// How it was declared.
    pub kind: OwnerKind,
    /// Verifiers (incarnations) in order of first use, with that frame.
    pub incarnations: Vec<([u8; 8], u64)>,
    /// Principals that presented this owner.
    pub principals: BTreeSet<Principal>,
    /// Source addresses it came from.
    pub sources: BTreeSet<IpAddr>,
    /// Server endpoints it presented this owner to.
    pub endpoints: BTreeSet<SocketAddr>,
    /// First frame.
    pub first_frame: u64,
}

/// A client ID, within the server that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdRecord {
    /// The issuing server.
    pub server: ServerKey,
    /// The `clientid4` value.
    pub clientid: u64,
    /// Owner it was issued to (unknown when the capture began later).
    pub owner: Option<Vec<u8>>,
    /// The owner's verifier when it was issued.
    pub verifier: Option<[u8; 8]>,
    /// Endpoints that returned or accepted it.
    pub endpoints: BTreeSet<SocketAddr>,
    /// Frame of the EXCHANGE_ID / SETCLIENTID reply that issued it.
    pub issued_frame: Option<u64>,
    /// The address that issued it.
    pub issued_at: Option<SocketAddr>,
    /// Frame of the confirming CREATE_SESSION / SETCLIENTID_CONFIRM reply.
    pub confirmed_frame: Option<u64>,
    /// `eir_flags` of the last EXCHANGE_ID reply returning it.
    pub flags: Option<ExchgId4Flags>,
    /// State protection granted.
    pub state_protect: Option<StateProtectHow4>,
    /// State protection the EXCHANGE_ID asked for, and whether it was sent
    /// under RPCSEC_GSS with integrity or privacy.
    pub protection_asked: Option<(StateProtectHow4, bool)>,
    /// Frame of a successful DESTROY_CLIENTID.
    pub destroyed_frame: Option<u64>,
    /// Frame of its global RECLAIM_COMPLETE (rca_one_fs = false), if seen.
    pub reclaim_complete_frame: Option<u64>,
    /// The principal of the EXCHANGE_ID that issued it, if seen.
    pub principal: Option<Principal>,
    /// Frame where the server answered NFS4ERR_STALE_CLIENTID for it.
    pub stale_frame: Option<u64>,
    /// Frame of the last EXCHANGE_ID / SETCLIENTID reply returning it.
    pub last_issue_frame: Option<u64>,
    /// `spo_must_enforce` granted (SP4_MACH_CRED or SP4_SSV).
    pub must_enforce: Option<Bitmap4>,
    /// Last renewal (SEQUENCE or RENEW answered NFS4_OK): time, connection, frame.
    pub renewed: Option<(Timestamp, ConnId, u64)>,
    /// Time, frame and connection of the last reply that showed it alive
    /// (issued, confirmed or renewed).
    pub alive: Option<(Timestamp, u64, ConnId)>,
    /// Frame of a global RECLAIM_COMPLETE the client sent for it, whatever
    /// the answer.
    pub reclaim_complete_sent: Option<u64>,
    /// A global RECLAIM_COMPLETE the server refused: frame and status.
    pub reclaim_complete_refused: Option<(u64, NfsStat4)>,
    /// When and why it stopped being the server's, if it did. Set once: an
    /// ended record stays ended (the value given again is a new record;
    /// the record index relies on it).
    pub ended: Option<End>,
    /// The RPCSEC_GSS service and context of the last EXCHANGE_ID
    /// returning it (none when that was sent under another flavor).
    pub exchange_id_gss: Option<GssUse>,
}

impl ClientIdRecord {
    /// Still the server's, as far as the capture shows.
    pub fn live(&self) -> bool {
        self.ended.is_none()
    }
}

/// Why a client ID or a session stopped being the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    /// The client destroyed it (DESTROY_CLIENTID, DESTROY_SESSION).
    Destroyed,
    /// A CREATE_SESSION confirmed another client ID of the same owner (RFC
    /// 8881 §18.35.4 cases 3 and 5), or a new EXCHANGE_ID replaced it while
    /// unconfirmed (case 4).
    Replaced,
    /// The server said it does not know it (NFS4ERR_STALE_CLIENTID,
    /// NFS4ERR_BADSESSION).
    Forgotten,
    /// The server behind its address restarted.
    Restarted,
    /// Its client ID ended.
    ClientIdEnded,
}

impl EndKind {
    /// A short name (`destroyed`, `replaced`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EndKind::Destroyed => "destroyed",
            EndKind::Replaced => "replaced",
            EndKind::Forgotten => "forgotten by the server",
            EndKind::Restarted => "server restarted",
            EndKind::ClientIdEnded => "client ID ended",
        }
    }
}

/// When and why a client ID or a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// Frame of the evidence.
    pub frame: u64,
    /// Why.
    pub kind: EndKind,
}

/// How a connection came to carry a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BindHow {
    /// The connection that carried CREATE_SESSION.
    CreateSession,
    /// BIND_CONN_TO_SESSION.
    BindConnToSession,
    /// Implicitly, by a SEQUENCE on it (RFC 8881 §2.10.3.1).
    Sequence,
}

/// A connection bound to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// How.
    pub how: BindHow,
    /// Direction granted (fore channel for CREATE_SESSION and SEQUENCE).
    pub dir: ChannelDirFromServer4,
    /// Frame of the reply that bound it.
    pub frame: u64,
}

/// A session slot's last sequence id seen in a successful SEQUENCE reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotState {
    /// Last `sr_sequenceid`.
    pub seqid: u32,
    /// Its frame.
    pub frame: u64,
    /// The connection it came on.
    pub conn: ConnId,
}

/// Where a session is kept: its id, and a number telling apart sessions
/// that servers gave the same id (two servers, or one after a restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    /// The session id.
    pub id: SessionId4,
    /// Which session of that id, in order of appearance.
    pub n: u32,
}

/// The sessions created with each (id, endpoint), in creation order: a
/// lookup accelerator for [`Model::session_key_at`], trusted only while it
/// has seen every session of [`Model::sessions`] (else the lookup scans).
#[derive(Debug, Default)]
pub(crate) struct SessionIndex {
    at: FastMap<(SessionId4, SocketAddr), Vec<u32>>,
    count: usize,
}

impl SessionIndex {
    /// Notes the session `n` of `id` created at `endpoint`.
    pub(crate) fn add(&mut self, id: SessionId4, endpoint: SocketAddr, n: u32) {
        self.at.entry((id, endpoint)).or_default().push(n);
        self.count += 1;
    }
}

/// Answers of [`Model::session_key_at`] while the model is frozen (the
/// rules judging one event ask the same several times); empty otherwise.
#[derive(Debug, Default)]
pub(crate) struct SessionMemo {
    frozen: std::cell::Cell<bool>,
    last: std::cell::Cell<Option<(SocketAddr, SessionId4, Option<SessionKey>)>>,
}

/// The positions in [`Model::client_ids`] of the records of each client ID
/// value, in order: a lookup accelerator for
/// [`Model::record_index_by_key`], trusted only while it has seen every
/// record (else the lookup scans).
#[derive(Debug, Default)]
pub(crate) struct RecordIndex {
    by_clientid: FastMap<u64, Candidates>,
    pub(crate) count: usize,
}

/// The positions of one client ID value's records, and how many of the
/// first ones are known to have ended (records end once and for all, so
/// lookups for a live one start after them).
#[derive(Debug, Default)]
struct Candidates {
    at: Vec<usize>,
    ended_prefix: std::sync::atomic::AtomicUsize,
}

impl RecordIndex {
    /// Notes that record `i` holds client ID `clientid`.
    pub(crate) fn add(&mut self, clientid: u64, i: usize) {
        self.by_clientid.entry(clientid).or_default().at.push(i);
        self.count += 1;
    }

    /// The positions of the records of `clientid`, in order, and from which
    /// of them one may be live (the ones before have ended).
    pub(crate) fn candidates(
        &self,
        clientid: u64,
        records: &[ClientIdRecord],
    ) -> (&[usize], usize) {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(c) = self.by_clientid.get(&clientid) else {
            return (&[], 0);
        };
        let mut skip = c.ended_prefix.load(Relaxed);
        debug_assert!(c
            .at
            .iter()
            .take(skip)
            .all(|&i| records.get(i).is_some_and(|r| !r.live())));
        while c
            .at
            .get(skip)
            .is_some_and(|&i| records.get(i).is_some_and(|r| !r.live()))
        {
            skip += 1;
        }
        c.ended_prefix.store(skip, Relaxed);
        (&c.at, skip)
    }
}

/// An NFSv4.1 session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id.
    pub id: SessionId4,
    /// The server that created it (by what its address declared then).
    pub server: ServerKey,
    /// When and why it ended, if it did.
    pub ended: Option<End>,
    /// The owning client ID (unknown for a session first seen in SEQUENCE).
    pub clientid: Option<u64>,
    /// The endpoint that created it (or where it was first seen).
    pub endpoint: SocketAddr,
    /// Frame of the CREATE_SESSION reply.
    pub created_frame: Option<u64>,
    /// First frame the session was seen in.
    pub first_frame: u64,
    /// `csr_flags`.
    pub flags: Option<CreateSession4Flags>,
    /// Fore channel attributes granted.
    pub fore: Option<ChannelAttrs4>,
    /// Back channel attributes granted.
    pub back: Option<ChannelAttrs4>,
    /// Callback program (from CREATE_SESSION, BACKCHANNEL_CTL).
    pub cb_program: Option<u32>,
    /// Connections carrying it.
    pub connections: BTreeMap<ConnId, Binding>,
    /// Slots.
    pub slots: BTreeMap<u32, SlotState>,
    /// Frame of a successful DESTROY_SESSION.
    pub destroyed_frame: Option<u64>,
    /// SEQUENCE status flags seen (union).
    pub status_flags: Seq4Status,
    /// Connections that carried a CB_SEQUENCE for it, with the last frame.
    pub callbacks: BTreeMap<ConnId, u64>,
}

/// A TCP connection between a client and a server endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The connection.
    pub id: ConnId,
    /// Client address and port.
    pub client: SocketAddr,
    /// Server address and port.
    pub server: SocketAddr,
    /// First frame with an RPC message.
    pub first_frame: u64,
    /// Owner strings presented on it.
    pub owners: BTreeSet<Vec<u8>>,
    /// The capture holds its TCP handshake.
    pub start_seen: bool,
    /// Frame where bytes were first lost from it, if any were.
    pub lost_from: Option<u64>,
}

impl Connection {
    /// The capture shows everything it carried up to `frame`: its start,
    /// and no bytes lost before then.
    pub fn whole_until(&self, frame: u64) -> bool {
        self.start_seen && self.lost_from.is_none_or(|f| f > frame)
    }
}

/// Something in the recovery timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryKind {
    /// A status that reveals a restart, an expiry or grace
    /// (STALE_CLIENTID, BADSESSION, DEADSESSION, GRACE, NO_GRACE,
    /// RECLAIM_BAD, RECLAIM_CONFLICT, EXPIRED, STALE_STATEID).
    Status(NfsStat4),
    /// SEQUENCE reported RESTART_RECLAIM_NEEDED.
    ReclaimNeeded,
    /// A reclaim: an OPEN with CLAIM_PREVIOUS or CLAIM_DELEGATE_PREV(_FH),
    /// or a LOCK with reclaim = TRUE, and the status it got.
    Reclaim {
        /// Operation name.
        op: &'static str,
        /// Its status.
        status: NfsStat4,
    },
    /// RECLAIM_COMPLETE and its status.
    ReclaimComplete {
        /// `rca_one_fs`.
        one_fs: bool,
        /// Its status.
        status: NfsStat4,
    },
}

/// One recovery event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryEvent {
    /// Frame of the reply.
    pub frame: u64,
    /// The server endpoint.
    pub endpoint: SocketAddr,
    /// The client ID concerned, when known.
    pub clientid: Option<u64>,
    /// What happened.
    pub kind: RecoveryKind,
}

/// The identity model of one observation.
#[derive(Debug, Default)]
pub struct Model {
    /// Server endpoints by address.
    pub endpoints: BTreeMap<SocketAddr, Endpoint>,
    /// Clients, in order of appearance.
    pub clients: Vec<Client>,
    /// Client IDs, in order of issue (or first use).
    pub client_ids: Vec<ClientIdRecord>,
    /// Sessions by id (and which of that id).
    pub sessions: BTreeMap<SessionKey, Session>,
    /// The number the next session gets in its [`SessionKey`].
    pub(crate) next_session: u32,
    /// Where each session was created, to find one without scanning every
    /// session of its id (see [`Model::session_key_at`]).
    pub(crate) session_index: SessionIndex,
    /// Where each client ID value's records are in [`Model::client_ids`].
    pub(crate) record_index: RecordIndex,
    /// The last session lookups, kept while the model cannot change (see
    /// [`Model::frozen`]).
    pub(crate) session_memo: SessionMemo,
    /// Connections by id.
    pub connections: BTreeMap<ConnId, Connection>,
    /// Recovery timeline, in frame order.
    pub recovery: Vec<RecoveryEvent>,
    /// How often the other bounds were reached (see [`Model::limit_hits`]).
    pub limit_counts: ModelLimitCounts,
    /// NFSv4.0 trunking tests seen (RFC 7931 §5.8).
    pub v40_trunking: Vec<V40TrunkingTest>,
    /// (clientid, confirm) pairs returned by SETCLIENTID, by address.
    pub(crate) v40_confirms: Vec<((u64, [u8; 8]), SocketAddr, u64)>,
    /// Bytes were lost somewhere in the capture.
    pub gaps_seen: bool,
    /// Frames where bytes were first lost, by connection (also for
    /// connections that carried no message the model recorded).
    pub losses: BTreeMap<ConnId, u64>,
    /// The capture is declared complete: it holds every connection of every
    /// client in it, so what it does not show did not happen (set by whoever
    /// took the capture: `analyze --complete`, the suite runner).
    pub complete: bool,
    pub(crate) pending: build::Pending,
    /// CB_COMPOUND calls waiting for their reply: (connection, xid) →
    /// (session of their CB_SEQUENCE, frame).
    pub(crate) cb_pending: FastMap<(ConnId, u32), (SessionId4, u64)>,
    /// RPCSEC_GSS contexts, in order of creation (or first use).
    pub gss_contexts: Vec<GssContext>,
    /// Where each handle's contexts are in [`Model::gss_contexts`].
    pub(crate) gss_index: FastMap<Vec<u8>, Vec<usize>>,
    /// Entries in every endpoint's [`Endpoint::gss_targets`].
    pub(crate) gss_target_entries: usize,
    /// RPCSEC_GSS context-creation calls waiting for their reply.
    pub(crate) gss_pending: build::Pending<build::PendingGssInit>,
    pub(crate) limits: ModelLimits,
}

/// How often the model's bounds ([`ModelLimits`]) were reached: each time
/// something was not recorded, or forgotten, and counted. What was not
/// recorded is not judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelLimitCounts {
    /// Connections not recorded (`max_entities`).
    pub connections_dropped: u64,
    /// Client owners not recorded (`max_entities`).
    pub clients_dropped: u64,
    /// Client IDs not recorded (`max_entities`).
    pub client_ids_dropped: u64,
    /// Sessions not recorded (`max_entities`).
    pub sessions_dropped: u64,
    /// SETCLIENTID (client ID, confirm) answers not remembered (`max_entities`).
    pub v40_confirms_dropped: u64,
    /// Recovery events not recorded (`max_events`).
    pub events_dropped: u64,
    /// Frame of the first recovery event not recorded: from there on the
    /// timeline is incomplete.
    pub first_event_dropped_frame: Option<u64>,
    /// Calls forgotten before their reply arrived (`max_pending`).
    pub pending_evicted: u64,
    /// CB_COMPOUND calls not remembered for their reply (`max_pending`).
    pub cb_pending_dropped: u64,
    /// NFSv4.0 trunking tests not recorded (`max_events`).
    pub v40_trunking_dropped: u64,
    /// RPCSEC_GSS contexts not recorded (`max_entities`).
    pub gss_contexts_dropped: u64,
    /// RPCSEC_GSS context-creation calls forgotten before their reply
    /// (`max_pending`).
    pub gss_inits_evicted: u64,
    /// Target principals of EXCHANGE_ID not listed for an endpoint
    /// (`max_entities` over all endpoints).
    pub gss_targets_dropped: u64,
}

/// An NFSv4.0 trunking test (RFC 7931 §5.8, RFC 8587): SETCLIENTID_CONFIRM
/// sent to one address with the client ID and confirm value another address
/// returned. NFS4_OK: one server; NFS4ERR_STALE_CLIENTID: two servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V40TrunkingTest {
    /// The address whose SETCLIENTID returned the values.
    pub issued_at: SocketAddr,
    /// The address the SETCLIENTID_CONFIRM went to.
    pub confirmed_at: SocketAddr,
    /// The client ID tested.
    pub clientid: u64,
    /// The answer.
    pub status: NfsStat4,
    /// Frame of the answer.
    pub frame: u64,
}

impl V40TrunkingTest {
    /// True when the test showed one server (NFS4_OK).
    pub fn same_server(&self) -> bool {
        self.status.is_ok()
    }
}

/// One server identity: the endpoints that declared the same scope and major id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdentity {
    /// The key.
    pub key: ServerKey,
    /// Its endpoints.
    pub endpoints: Vec<SocketAddr>,
}

impl Model {
    /// An empty model.
    pub fn new(limits: ModelLimits) -> Self {
        Model {
            limits,
            ..Model::default()
        }
    }

    /// Endpoints grouped into server identities by their latest declaration.
    pub fn server_identities(&self) -> Vec<ServerIdentity> {
        let mut groups: BTreeMap<ServerKey, Vec<SocketAddr>> = BTreeMap::new();
        for e in self.endpoints.values() {
            groups.entry(e.server_key()).or_default().push(e.addr);
        }
        groups
            .into_iter()
            .map(|(key, endpoints)| ServerIdentity { key, endpoints })
            .collect()
    }

    /// The relation between every pair of endpoints (a < b). Quadratic:
    /// reports use [`Model::minor_groups`] and [`Model::scope_relations`].
    pub fn relations(&self) -> Vec<(SocketAddr, SocketAddr, Relation)> {
        let eps: Vec<&Endpoint> = self.endpoints.values().collect();
        let mut out = Vec::new();
        for (i, a) in eps.iter().enumerate() {
            for b in &eps[i + 1..] {
                out.push((a.addr, b.addr, relation(a, b)));
            }
        }
        out
    }

    /// Within one server identity, its endpoints grouped by so_minor_id:
    /// each group is session-trunkable, the groups client-ID trunkable with
    /// each other.
    pub fn minor_groups(&self, id: &ServerIdentity) -> Vec<(Option<u64>, Vec<SocketAddr>)> {
        let mut groups: BTreeMap<Option<u64>, Vec<SocketAddr>> = BTreeMap::new();
        for e in &id.endpoints {
            let minor = self
                .endpoints
                .get(e)
                .and_then(|ep| ep.current())
                .map(|d| d.minor);
            groups.entry(minor).or_default().push(*e);
        }
        groups.into_iter().collect()
    }

    /// Pairs of server identities (indexes into [`Model::server_identities`])
    /// that declared the same scope with different major ids: a client may
    /// reclaim at one what it held at the other (RFC 8881 §8.4.2.1).
    pub fn scope_relations(&self) -> Vec<(usize, usize)> {
        let ids = self.server_identities();
        let mut out = Vec::new();
        for (i, a) in ids.iter().enumerate() {
            for (j, b) in ids.iter().enumerate().skip(i + 1) {
                if let (
                    ServerKey::Declared { scope: sa, .. },
                    ServerKey::Declared { scope: sb, .. },
                ) = (&a.key, &b.key)
                {
                    if sa == sb {
                        out.push((i, j));
                    }
                }
            }
        }
        out
    }

    /// The bounds in force.
    pub fn limits(&self) -> ModelLimits {
        self.limits
    }

    /// Every bound of the model, with how often it was reached (0 when
    /// never), named `bound/what` (`max_entities/sessions`, ...).
    pub fn limit_hits(&self) -> Vec<crate::pipeline::LimitHit> {
        let l = &self.limits;
        let c = &self.limit_counts;
        let hit = |name, limit: usize, hits, effect| crate::pipeline::LimitHit {
            name,
            limit: limit as u64,
            hits,
            effect,
        };
        vec![
            hit(
                "max_entities/connections",
                l.max_entities,
                c.connections_dropped,
                "connections not recorded",
            ),
            hit(
                "max_entities/clients",
                l.max_entities,
                c.clients_dropped,
                "client owners not recorded",
            ),
            hit(
                "max_entities/client_ids",
                l.max_entities,
                c.client_ids_dropped,
                "client IDs not recorded (nor judged)",
            ),
            hit(
                "max_entities/sessions",
                l.max_entities,
                c.sessions_dropped,
                "sessions not recorded (nor judged)",
            ),
            hit(
                "max_entities/setclientid_confirms",
                l.max_entities,
                c.v40_confirms_dropped,
                "SETCLIENTID answers not remembered for NFSv4.0 trunking tests",
            ),
            hit(
                "max_events/recovery",
                l.max_events,
                c.events_dropped,
                "recovery events not recorded (restart-dependent checks skipped after them)",
            ),
            hit(
                "max_events/v40_trunking_tests",
                l.max_events,
                c.v40_trunking_dropped,
                "NFSv4.0 trunking tests not listed",
            ),
            hit(
                "max_pending/calls",
                l.max_pending,
                c.pending_evicted,
                "oldest calls forgotten before their reply (the exchange not judged)",
            ),
            hit(
                "max_pending/callbacks",
                l.max_pending,
                c.cb_pending_dropped,
                "callbacks not remembered for their reply (the reply not judged)",
            ),
            hit(
                "max_entities/gss_contexts",
                l.max_entities,
                c.gss_contexts_dropped,
                "RPCSEC_GSS contexts not recorded (their target principal not shown)",
            ),
            hit(
                "max_pending/gss_inits",
                l.max_pending,
                c.gss_inits_evicted,
                "RPCSEC_GSS context creations forgotten before their reply",
            ),
            hit(
                "max_entities/gss_targets",
                l.max_entities,
                c.gss_targets_dropped,
                "target principals of EXCHANGE_ID not listed for an address",
            ),
        ]
    }

    /// The client with this owner, if any.
    pub fn client(&self, owner: &[u8]) -> Option<&Client> {
        self.clients.iter().find(|c| c.owner == owner)
    }

    /// The index of the client ID record `clientid` as issued by the server
    /// at `endpoint` (by what it declared): the live one, else the latest.
    pub fn record_index(&self, endpoint: SocketAddr, clientid: u64) -> Option<usize> {
        let key = self.endpoints.get(&endpoint)?.server_key();
        self.record_index_by_key(&key, clientid)
    }

    /// The index of the record with this key and value: the live one, else
    /// the latest.
    pub fn record_index_by_key(&self, key: &ServerKey, clientid: u64) -> Option<usize> {
        let mut found = None;
        let matches = |r: &ClientIdRecord| r.server == *key && r.clientid == clientid;
        if self.record_index.count == self.client_ids.len() {
            // Only the records of this value, in the same order: the first
            // live one that matches, else the last that matches (liveness
            // first: it is cheaper to test than the server key).
            let (at, first_live) = self.record_index.candidates(clientid, &self.client_ids);
            let record = |i: usize| self.client_ids.get(i);
            let live = at
                .iter()
                .skip(first_live)
                .copied()
                .find(|&i| record(i).is_some_and(|r| r.live() && matches(r)));
            return live.or_else(|| {
                at.iter()
                    .rev()
                    .copied()
                    .find(|&i| record(i).is_some_and(matches))
            });
        }
        for (i, r) in self.client_ids.iter().enumerate() {
            if matches(r) {
                if r.live() {
                    return Some(i);
                }
                found = Some(i);
            }
        }
        found
    }

    /// The client ID record `clientid` as issued by the server at `endpoint`.
    pub fn record_for(
        &self,
        endpoint: SocketAddr,
        clientid: Option<u64>,
    ) -> Option<&ClientIdRecord> {
        self.record_index(endpoint, clientid?)
            .map(|i| &self.client_ids[i])
    }

    /// The live client ID record `clientid` of the server at `endpoint`.
    pub fn live_record(&self, endpoint: SocketAddr, clientid: u64) -> Option<&ClientIdRecord> {
        self.record_for(endpoint, Some(clientid))
            .filter(|r| r.live())
    }

    /// The record with this key and value (the live one, else the latest).
    pub fn record_by_key(&self, key: &ServerKey, clientid: u64) -> Option<&ClientIdRecord> {
        self.record_index_by_key(key, clientid)
            .map(|i| &self.client_ids[i])
    }

    /// Runs `f` with the model frozen: it cannot change while `f` holds it
    /// (a shared borrow), so lookups may remember their answers until `f`
    /// returns.
    pub fn frozen<R>(&self, f: impl FnOnce(&Model) -> R) -> R {
        let memo = &self.session_memo;
        let was = memo.frozen.replace(true);
        let r = f(self);
        memo.frozen.set(was);
        if !was {
            memo.last.set(None);
        }
        r
    }

    /// The session with id `id` as a message at `endpoint` means it (see
    /// [`Model::session_key_uncached`]), remembered while the model is
    /// [`frozen`](Model::frozen).
    pub fn session_key_at(&self, endpoint: SocketAddr, id: &SessionId4) -> Option<SessionKey> {
        let memo = &self.session_memo;
        if !memo.frozen.get() {
            return self.session_key_uncached(endpoint, id);
        }
        if let Some((e, i, k)) = memo.last.get() {
            if e == endpoint && i == *id {
                return k;
            }
        }
        let k = self.session_key_uncached(endpoint, id);
        memo.last.set(Some((endpoint, *id, k)));
        k
    }

    /// The session with id `id` as a message at `endpoint` means it: among
    /// the sessions of that id, a live one created at that address, else a
    /// live one of the same server (trunked), else the latest one that
    /// ended there ([`Model::session_key_at`] without remembering).
    pub fn session_key_uncached(
        &self,
        endpoint: SocketAddr,
        id: &SessionId4,
    ) -> Option<SessionKey> {
        // The best rank below is a live session at this very endpoint, the
        // latest such winning: when the index knows every session, look at
        // this endpoint's sessions of `id` from the latest.
        if self.session_index.count == self.sessions.len() {
            let at_endpoint = self.session_index.at.get(&(*id, endpoint));
            for &n in at_endpoint.into_iter().flatten().rev() {
                let k = SessionKey { id: *id, n };
                let live_here = self
                    .sessions
                    .get(&k)
                    .is_some_and(|s| s.ended.is_none() && s.endpoint == endpoint);
                if live_here {
                    return Some(k);
                }
            }
        }
        let key = self.endpoints.get(&endpoint).map(|e| e.server_key());
        // An address that declared nothing may be any server's: a session
        // id used there can only be matched by value.
        let undeclared = key
            .as_ref()
            .is_none_or(|k| matches!(k, ServerKey::Address(_)));
        let same = |s: &Session| s.endpoint == endpoint;
        let trunked = |s: &Session| key.as_ref() == Some(&s.server);
        let range = SessionKey { id: *id, n: 0 }..=SessionKey {
            id: *id,
            n: u32::MAX,
        };
        let mut best: Option<(u8, SessionKey)> = None;
        for (k, s) in self.sessions.range(range) {
            let rank = match (s.ended.is_none(), same(s), trunked(s)) {
                (true, true, _) => 5,
                (true, false, true) => 4,
                (true, false, false) if undeclared => 3,
                (false, true, _) => 2,
                (false, false, true) => 1,
                _ => continue,
            };
            if best.is_none_or(|(r, _)| rank >= r) {
                best = Some((rank, *k));
            }
        }
        best.map(|(_, k)| k)
    }

    /// The session with id `id` as a message at `endpoint` means it.
    pub fn session_at(&self, endpoint: SocketAddr, id: &SessionId4) -> Option<&Session> {
        self.sessions.get(&self.session_key_at(endpoint, id)?)
    }

    /// The live session with id `id` at `endpoint`.
    pub fn live_session(&self, endpoint: SocketAddr, id: &SessionId4) -> Option<&Session> {
        self.session_at(endpoint, id).filter(|s| s.ended.is_none())
    }

    /// The index of the client ID record a session belongs to.
    pub fn session_record_index(&self, s: &Session) -> Option<usize> {
        self.record_index_by_key(&s.server, s.clientid?)
            .or_else(|| self.record_index(s.endpoint, s.clientid?))
    }

    /// The record a session belongs to.
    pub fn session_record(&self, s: &Session) -> Option<&ClientIdRecord> {
        self.session_record_index(s).map(|i| &self.client_ids[i])
    }

    /// The RPCSEC_GSS context a call to `server` with `handle` used: the
    /// latest created (or first used) at that address, else the latest
    /// created at another address that declared the same server identity
    /// (a context is the server's, whichever of its addresses carries it).
    pub fn gss_context_index(&self, server: SocketAddr, handle: &[u8]) -> Option<usize> {
        let at = self.gss_index.get(handle)?;
        let context = |i: &usize| self.gss_contexts.get(*i);
        if let Some(i) = at
            .iter()
            .rev()
            .find(|i| context(i).is_some_and(|c| c.server == server))
        {
            return Some(*i);
        }
        let key = self.endpoints.get(&server)?.server_key();
        if !matches!(key, ServerKey::Declared { .. }) {
            return None;
        }
        at.iter().rev().copied().find(|i| {
            context(i).is_some_and(|c| {
                c.creation.is_some()
                    && self
                        .endpoints
                        .get(&c.server)
                        .is_some_and(|e| e.server_key() == key)
            })
        })
    }

    /// The context [`Model::gss_context_index`] finds.
    pub fn gss_context(&self, server: SocketAddr, handle: &[u8]) -> Option<&GssContext> {
        self.gss_context_index(server, handle)
            .and_then(|i| self.gss_contexts.get(i))
    }

    /// The connection, if the model recorded it.
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.connections.get(&id)
    }

    /// The capture shows everything connection `id` carried up to `frame`.
    pub fn connection_whole_until(&self, id: ConnId, frame: u64) -> bool {
        self.connections
            .get(&id)
            .is_some_and(|c| c.whole_until(frame))
            && self.losses.get(&id).is_none_or(|f| *f > frame)
    }

    /// The capture shows everything every known connection of the session
    /// carried up to `frame`, and the session's creation.
    pub fn session_whole_until(&self, s: &Session, frame: u64) -> bool {
        s.created_frame.is_some()
            && s.connections
                .keys()
                .all(|c| self.connection_whole_until(*c, frame))
    }
}

/// A server key in words: `scope "…", major id "…"` or `address …`.
pub fn key_text(k: &ServerKey) -> String {
    match k {
        ServerKey::Declared { scope, major } => format!(
            "scope \"{}\", major id \"{}\"",
            crate::xdr::escape_bytes(scope),
            crate::xdr::escape_bytes(major)
        ),
        ServerKey::Address(a) => format!("address {a}"),
    }
}

#[cfg(test)]
mod tests;
