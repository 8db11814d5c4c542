//! Typed events: what one call, one answered operation, one callback or a
//! loss of bytes tells. [`build`](super::build) turns decoded messages into
//! events; the rules judge each event against the model as it was before it,
//! and then the model applies it (see [`crate::rules::Analysis`]).

use super::Principal;
use crate::capture::packet::Timestamp;
use crate::nfs4::{
    BindConnToSession4ResOk, Bitmap4, ChannelAttrs4, ChannelDirFromClient4, CreateSession4Flags,
    CreateSession4ResOk, ExchangeId4ResOk, ExchgId4Flags, Getattr4Res, NfsResOp, NfsStat4,
    Readdir4Res, Sequence4ResOk, SessionId4, Setclientid4ResOk, StateProtectHow4,
};
use crate::rpc::gss_token::{InitiatorToken, Mech, TokenError};
use crate::rpc::{RpcGssProc, RpcGssService};
use crate::tcp::flow::ConnId;
use std::net::SocketAddr;

/// Where and when an event happened, and in which COMPOUND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    /// The connection.
    pub conn: ConnId,
    /// The client end of the connection.
    pub client: SocketAddr,
    /// The server end of the connection.
    pub server: SocketAddr,
    /// Frame of the call (equal to `frame` for an event of the call itself).
    pub call_frame: u64,
    /// Frame of the message that completed the event (the reply, or the call).
    pub frame: u64,
    /// Time of that frame.
    pub ts: Timestamp,
    /// The COMPOUND's minor version.
    pub minor: Option<u32>,
    /// Who made the call, as its credential says.
    pub principal: Option<Principal>,
    /// The RPCSEC_GSS service of the call's credential, if it had one.
    pub gss_service: Option<RpcGssService>,
    /// What the COMPOUND's earlier operations established.
    pub compound: InCompound,
    /// Size of the call's RPC message in bytes.
    pub call_len: usize,
}

impl At {
    /// The frames that show the event: the call and its reply (or the call
    /// alone).
    pub fn frames(&self) -> Vec<u64> {
        if self.call_frame == self.frame {
            vec![self.frame]
        } else {
            vec![self.call_frame, self.frame]
        }
    }

    /// `first` followed by the event's frames (an earlier piece of evidence,
    /// then this event).
    pub fn frames_after(&self, first: u64) -> Vec<u64> {
        let mut v = vec![first];
        v.extend(self.frames());
        v
    }
}

/// What the operations before the current one in its COMPOUND established.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InCompound {
    /// The session of a leading SEQUENCE answered NFS4_OK.
    pub session: Option<SessionId4>,
    /// That session's client ID, when the model knows it.
    pub clientid: Option<u64>,
    /// That SEQUENCE was a retry of its slot's last request.
    pub retry: bool,
    /// The COMPOUND's first operation is SEQUENCE.
    pub sequenced: bool,
    /// How the current filehandle was set by the earlier operations.
    pub fh: FhOrigin,
    /// How the saved filehandle (SAVEFH) was set.
    pub saved_fh: FhOrigin,
}

/// Where a COMPOUND's current filehandle came from: what tells a
/// migration (NFS4ERR_MOVED for a filehandle the client held, obtained
/// while the file system was present: RFC 7530 §8.2) from a referral
/// (NFS4ERR_MOVED where a traversal entered an absent file system).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FhOrigin {
    /// No earlier operation of the COMPOUND set it.
    #[default]
    Unset,
    /// PUTFH: a filehandle the client held.
    Held,
    /// PUTROOTFH, PUTPUBFH, LOOKUP, LOOKUPP, OPENATTR or CREATE: reached by
    /// walking the namespace.
    Reached,
}

impl InCompound {
    /// Follows the current and saved filehandle's origin past operation
    /// `op` (by name), answered NFS4_OK.
    pub fn track_fh(&mut self, op: &str) {
        match op {
            "PUTFH" => self.fh = FhOrigin::Held,
            "PUTROOTFH" | "PUTPUBFH" | "LOOKUP" | "LOOKUPP" | "OPENATTR" | "CREATE" => {
                self.fh = FhOrigin::Reached
            }
            "SAVEFH" => self.saved_fh = self.fh,
            "RESTOREFH" => self.fh = self.saved_fh,
            _ => {}
        }
    }
}

/// The state protection an EXCHANGE_ID asked for, and how it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// SP4_NONE, SP4_MACH_CRED or SP4_SSV.
    pub how: StateProtectHow4,
    /// `spo_must_enforce` asked for (MACH_CRED, SSV).
    pub enforce: Bitmap4,
    /// SSV: (hash algorithms, encryption algorithms, window).
    pub ssv: Option<(usize, usize, u32)>,
    /// Sent under RPCSEC_GSS with integrity or privacy.
    pub gss_protected: bool,
    /// The RPCSEC_GSS service it was sent under, if it was.
    pub gss_service: Option<RpcGssService>,
}

/// The identity-bearing part of one operation of a call (what the rules
/// and the model need of it once the reply comes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOp {
    /// EXCHANGE_ID.
    ExchangeId {
        /// `co_ownerid`.
        owner: Vec<u8>,
        /// `co_verifier`.
        verifier: [u8; 8],
        /// `eia_flags`.
        flags: ExchgId4Flags,
        /// `eia_state_protect`.
        protect: Box<Protection>,
        /// `eia_client_impl_id` is empty.
        empty_impl: bool,
    },
    /// CREATE_SESSION.
    CreateSession {
        /// `csa_clientid`.
        clientid: u64,
        /// `csa_cb_program`.
        cb_program: u32,
        /// `csa_sequence`.
        sequence: u32,
        /// `csa_flags`.
        flags: CreateSession4Flags,
        /// `csa_fore_chan_attrs`.
        fore: Box<ChannelAttrs4>,
        /// `csa_back_chan_attrs`.
        back: Box<ChannelAttrs4>,
    },
    /// BIND_CONN_TO_SESSION.
    BindConnToSession {
        /// `bctsa_sessid`.
        session: SessionId4,
        /// `bctsa_dir`.
        dir: ChannelDirFromClient4,
        /// Sent under RPCSEC_GSS with integrity or privacy.
        gss_protected: bool,
    },
    /// RENEW (NFSv4.0).
    Renew {
        /// The client ID renewed.
        clientid: u64,
    },
    /// A GETATTR asking for lease_time or fs_locations(_info).
    Getattr {
        /// The attributes asked for.
        mask: Box<Bitmap4>,
    },
    /// A READDIR asking for fs_locations(_info) and rdattr_error.
    Readdir {
        /// The attributes asked for each entry.
        mask: Box<Bitmap4>,
    },
    /// SEQUENCE.
    Sequence {
        /// `sa_sessionid`.
        session: SessionId4,
    },
    /// SETCLIENTID (NFSv4.0).
    SetClientId {
        /// `nfs_client_id4.id`.
        id: Vec<u8>,
        /// Its verifier.
        verifier: [u8; 8],
    },
    /// SETCLIENTID_CONFIRM (NFSv4.0).
    SetClientIdConfirm {
        /// The client ID.
        clientid: u64,
        /// The confirm verifier.
        confirm: [u8; 8],
    },
    /// DESTROY_SESSION.
    DestroySession {
        /// `dsa_sessionid`.
        session: SessionId4,
    },
    /// DESTROY_CLIENTID.
    DestroyClientid {
        /// `dca_clientid`.
        clientid: u64,
    },
    /// RECLAIM_COMPLETE.
    ReclaimComplete {
        /// `rca_one_fs`.
        one_fs: bool,
    },
    /// A reclaim: OPEN with CLAIM_PREVIOUS or CLAIM_DELEGATE_PREV(_FH), or
    /// LOCK with reclaim set.
    Reclaim {
        /// `OPEN` or `LOCK`.
        op: &'static str,
    },
    /// An OPEN or LOCK that is not a reclaim.
    NonReclaimLock {
        /// `OPEN` or `LOCK`.
        op: &'static str,
    },
    /// BACKCHANNEL_CTL.
    BackchannelCtl {
        /// `bca_cb_program`.
        cb_program: u32,
    },
    /// FREE_STATEID.
    FreeStateid,
    /// Anything else.
    Other {
        /// The operation's name.
        name: &'static str,
    },
}

impl CallOp {
    /// The operation's name (as `decode` prints it).
    pub fn name(&self) -> &'static str {
        match self {
            CallOp::ExchangeId { .. } => "EXCHANGE_ID",
            CallOp::CreateSession { .. } => "CREATE_SESSION",
            CallOp::BindConnToSession { .. } => "BIND_CONN_TO_SESSION",
            CallOp::Renew { .. } => "RENEW",
            CallOp::Getattr { .. } => "GETATTR",
            CallOp::Readdir { .. } => "READDIR",
            CallOp::Sequence { .. } => "SEQUENCE",
            CallOp::SetClientId { .. } => "SETCLIENTID",
            CallOp::SetClientIdConfirm { .. } => "SETCLIENTID_CONFIRM",
            CallOp::DestroySession { .. } => "DESTROY_SESSION",
            CallOp::DestroyClientid { .. } => "DESTROY_CLIENTID",
            CallOp::ReclaimComplete { .. } => "RECLAIM_COMPLETE",
            CallOp::Reclaim { op } | CallOp::NonReclaimLock { op } => op,
            CallOp::BackchannelCtl { .. } => "BACKCHANNEL_CTL",
            CallOp::FreeStateid => "FREE_STATEID",
            CallOp::Other { name } => name,
        }
    }
}

/// One thing that happened, in the order the capture shows it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'e> {
    /// A COMPOUND call, judged before any reply (client rules).
    Called {
        /// Its operations.
        ops: &'e [CallOp],
    },
    /// Operation `index` of `count` was answered (every operation of every
    /// reply; the more specific event for it follows).
    Answered {
        /// Position in the COMPOUND (from 0).
        index: usize,
        /// Operations in the call.
        count: usize,
        /// The call's operation.
        op: &'e CallOp,
        /// The reply's result for it.
        result: &'e NfsResOp<'e>,
        /// Only the status of this result is judged: no specific event
        /// covers this operation with this kind of result.
        by_status: bool,
    },
    /// EXCHANGE_ID answered.
    ExchangeId {
        /// The call.
        call: &'e CallOp,
        /// The result.
        result: Result<&'e ExchangeId4ResOk<'e>, NfsStat4>,
    },
    /// CREATE_SESSION answered.
    CreateSession {
        /// The call.
        call: &'e CallOp,
        /// The result.
        result: Result<&'e CreateSession4ResOk, NfsStat4>,
    },
    /// BIND_CONN_TO_SESSION answered.
    BindConnToSession {
        /// `bctsa_sessid`.
        session: SessionId4,
        /// `bctsa_dir`.
        dir: ChannelDirFromClient4,
        /// Sent under RPCSEC_GSS with integrity or privacy.
        gss_protected: bool,
        /// The result.
        result: Result<&'e BindConnToSession4ResOk, NfsStat4>,
    },
    /// SEQUENCE answered.
    Sequence {
        /// `sa_sessionid`.
        session: SessionId4,
        /// The result.
        result: Result<&'e Sequence4ResOk, NfsStat4>,
        /// The COMPOUND also frees a stateid (FREE_STATEID).
        frees_state: bool,
    },
    /// SETCLIENTID answered NFS4_OK.
    SetClientId {
        /// `nfs_client_id4.id`.
        id: &'e [u8],
        /// Its verifier.
        verifier: [u8; 8],
        /// The result.
        reply: &'e Setclientid4ResOk,
    },
    /// SETCLIENTID_CONFIRM answered.
    SetClientIdConfirm {
        /// The client ID.
        clientid: u64,
        /// The confirm verifier.
        confirm: [u8; 8],
        /// The address whose SETCLIENTID issued this (client ID, confirm)
        /// pair, when another one did (an RFC 7931 trunking test).
        issued_at: Option<SocketAddr>,
        /// Its status.
        status: NfsStat4,
    },
    /// DESTROY_SESSION answered NFS4_OK.
    DestroySession {
        /// The session.
        session: SessionId4,
    },
    /// DESTROY_CLIENTID answered.
    DestroyClientid {
        /// The client ID.
        clientid: u64,
        /// Its status.
        status: NfsStat4,
    },
    /// RECLAIM_COMPLETE answered.
    ReclaimComplete {
        /// `rca_one_fs`.
        one_fs: bool,
        /// Its status.
        status: NfsStat4,
    },
    /// RENEW answered.
    Renew {
        /// The client ID.
        clientid: u64,
        /// Its status.
        status: NfsStat4,
    },
    /// A GETATTR of lease_time or fs_locations(_info) answered.
    Getattr {
        /// The attributes asked for.
        mask: &'e Bitmap4,
        /// The result.
        result: &'e Getattr4Res<'e>,
    },
    /// A READDIR asking for fs_locations(_info) and rdattr_error answered.
    Readdir {
        /// The attributes asked for each entry.
        mask: &'e Bitmap4,
        /// The result.
        result: &'e Readdir4Res<'e>,
    },
    /// A reclaim (OPEN or LOCK) answered.
    Reclaim {
        /// `OPEN` or `LOCK`.
        op: &'static str,
        /// Its status.
        status: NfsStat4,
    },
    /// A non-reclaim OPEN or LOCK answered NFS4_OK.
    Locked {
        /// `OPEN` or `LOCK`.
        op: &'static str,
    },
    /// BACKCHANNEL_CTL answered NFS4_OK.
    BackchannelCtl {
        /// `bca_cb_program`.
        cb_program: u32,
    },
    /// The reply shows that the server behind the address restarted (or
    /// another server took the address over) since the model last heard
    /// from it: values it gave before are not compared with later ones.
    Restarted {
        /// The evidence, in words.
        why: &'static str,
    },
    /// A CB_COMPOUND call from the server.
    CallbackCalled {
        /// The RPC program it was sent on.
        program: Option<u32>,
        /// The session of its CB_SEQUENCE.
        session: Option<SessionId4>,
    },
    /// An RPCSEC_GSS context-creation call (INIT or CONTINUE_INIT, RFC 2203
    /// §5.2.2) was answered. Information for the reports: no rule judges
    /// it.
    GssContextInit {
        /// RPCSEC_GSS_INIT or RPCSEC_GSS_CONTINUE_INIT.
        gss_proc: RpcGssProc,
        /// The handle the call's credential carried (empty for INIT).
        call_handle: &'e [u8],
        /// The service the call's credential named.
        service: RpcGssService,
        /// The call's token read as an initiator's first token.
        token: &'e Result<InitiatorToken, TokenError>,
        /// The reply's results, when it accepted the call with SUCCESS.
        reply: Option<GssInitReply<'e>>,
    },
    /// A COMPOUND call (decoded or encrypted) named an RPCSEC_GSS context
    /// in an RPCSEC_GSS_DATA credential. Information for the reports: no
    /// rule judges it.
    GssCall {
        /// The context handle.
        handle: &'e [u8],
        /// The service of the credential.
        service: RpcGssService,
    },
    /// The client answered a CB_COMPOUND whose call the model saw.
    CallbackAnswered {
        /// The session of its CB_SEQUENCE.
        session: SessionId4,
        /// Frame of the call.
        call_frame: u64,
        /// The CB_SEQUENCE's status, when it failed.
        refused: Option<NfsStat4>,
    },
}

impl Event<'_> {
    /// True for the events that are information for the reports and that
    /// no rule judges (RPCSEC_GSS context creation and use).
    pub fn is_information(&self) -> bool {
        matches!(self, Event::GssContextInit { .. } | Event::GssCall { .. })
    }
}

/// The results of an RPCSEC_GSS context-creation reply (`rpc_gss_init_res`).
#[derive(Debug, Clone, Copy)]
pub struct GssInitReply<'e> {
    /// The context handle.
    pub handle: &'e [u8],
    /// `gss_major`.
    pub gss_major: u32,
    /// The mechanism of the server's token, when framed.
    pub mech: Option<&'e Mech>,
}

/// Receives the events of each message, with the model to judge them
/// against and then apply them to.
pub trait EventSink {
    /// One event at `at`: judge it with `model` as it is, then apply it.
    fn event(&mut self, model: &mut super::Model, at: &At, ev: &Event<'_>);
}

/// Applies events to the model and judges nothing (a model without rules).
#[derive(Debug, Default)]
pub struct ApplyOnly;

impl EventSink for ApplyOnly {
    fn event(&mut self, model: &mut super::Model, at: &At, ev: &Event<'_>) {
        model.apply(at, ev);
    }
}
