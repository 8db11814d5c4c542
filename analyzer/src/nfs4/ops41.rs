//! Arguments and results of the operations new in NFSv4.1 (op numbers 40–58,
//! RFC 8881/5662): sessions, client identity, trunking, pNFS, delegations.

use super::consts::*;
use super::ops40::{OpenDelegation4, Secinfo4Res};
use super::types::*;
use crate::rpc::AuthSysParms;
use crate::xdr::Opaque;

// BACKCHANNEL_CTL (40)
xdr_struct! {
    /// `gss_cb_handles4`.
    pub struct GssCbHandles4<'a> {
        pub gcbp_service: RpcGssSvc,
        pub gcbp_handle_from_server: Gsshandle4<'a>,
        pub gcbp_handle_from_client: Gsshandle4<'a>,
    }
}
xdr_union! {
    /// `callback_sec_parms4`: how the server authenticates its callbacks.
    pub enum CallbackSecParms4<'a> switch (u32) {
        case auth_flavor::AUTH_NONE => AuthNone,
        case auth_flavor::AUTH_SYS => AuthSys(AuthSysParms<'a>),
        case auth_flavor::RPCSEC_GSS => RpcsecGss(GssCbHandles4<'a>),
    }
}
xdr_struct! {
    /// BACKCHANNEL_CTL arguments.
    pub struct BackchannelCtl4Args<'a> {
        pub bca_cb_program: u32,
        pub bca_sec_parms: Vec<CallbackSecParms4<'a>>,
    }
}
/// BACKCHANNEL_CTL result.
pub type BackchannelCtl4Res = NfsStat4;

// BIND_CONN_TO_SESSION (41)
xdr_struct! {
    /// BIND_CONN_TO_SESSION arguments.
    pub struct BindConnToSession4Args {
        pub bctsa_sessid: SessionId4,
        pub bctsa_dir: ChannelDirFromClient4,
        pub bctsa_use_conn_in_rdma_mode: bool,
    }
}
xdr_struct! {
    /// BIND_CONN_TO_SESSION result on success.
    pub struct BindConnToSession4ResOk {
        pub bctsr_sessid: SessionId4,
        pub bctsr_dir: ChannelDirFromServer4,
        pub bctsr_use_conn_in_rdma_mode: bool,
    }
}
/// BIND_CONN_TO_SESSION result.
pub type BindConnToSession4Res = NfsRes<BindConnToSession4ResOk>;

// EXCHANGE_ID (42)
xdr_struct! {
    /// `state_protect_ops4`: operations that must / may use the machine credential.
    pub struct StateProtectOps4 {
        pub spo_must_enforce: Bitmap4,
        pub spo_must_allow: Bitmap4,
    }
}
xdr_struct! {
    /// `ssv_sp_parms4`: SP4_SSV request parameters.
    pub struct SsvSpParms4<'a> {
        pub ssp_ops: StateProtectOps4,
        pub ssp_hash_algs: Vec<SecOid4<'a>>,
        pub ssp_encr_algs: Vec<SecOid4<'a>>,
        pub ssp_window: u32,
        pub ssp_num_gss_handles: u32,
    }
}
xdr_union! {
    /// `state_protect4_a`: the state protection the client asks for.
    pub enum StateProtect4A<'a> switch (StateProtectHow4) {
        case StateProtectHow4::SP4_NONE => None,
        case StateProtectHow4::SP4_MACH_CRED => MachCred(StateProtectOps4),
        case StateProtectHow4::SP4_SSV => Ssv(SsvSpParms4<'a>),
    }
}
xdr_struct! {
    /// EXCHANGE_ID arguments.
    pub struct ExchangeId4Args<'a> {
        pub eia_clientowner: ClientOwner4<'a>,
        pub eia_flags: ExchgId4Flags,
        pub eia_state_protect: StateProtect4A<'a>,
        pub eia_client_impl_id: Vec<NfsImplId4<'a>>,
    }
}
xdr_struct! {
    /// `ssv_prot_info4`: SP4_SSV result parameters.
    pub struct SsvProtInfo4<'a> {
        pub spi_ops: StateProtectOps4,
        pub spi_hash_alg: u32,
        pub spi_encr_alg: u32,
        pub spi_ssv_len: u32,
        pub spi_window: u32,
        pub spi_handles: Vec<Gsshandle4<'a>>,
    }
}
xdr_union! {
    /// `state_protect4_r`: the state protection the server granted.
    pub enum StateProtect4R<'a> switch (StateProtectHow4) {
        case StateProtectHow4::SP4_NONE => None,
        case StateProtectHow4::SP4_MACH_CRED => MachCred(StateProtectOps4),
        case StateProtectHow4::SP4_SSV => Ssv(SsvProtInfo4<'a>),
    }
}
xdr_struct! {
    /// EXCHANGE_ID result on success: the client ID and who the server is.
    pub struct ExchangeId4ResOk<'a> {
        pub eir_clientid: Clientid4,
        pub eir_sequenceid: Sequenceid4,
        pub eir_flags: ExchgId4Flags,
        pub eir_state_protect: StateProtect4R<'a>,
        pub eir_server_owner: ServerOwner4<'a>,
        pub eir_server_scope: Opaque<'a>,
        pub eir_server_impl_id: Vec<NfsImplId4<'a>>,
    }
}
/// EXCHANGE_ID result.
pub type ExchangeId4Res<'a> = NfsRes<ExchangeId4ResOk<'a>>;

// CREATE_SESSION (43)
xdr_struct! {
    /// `channel_attrs4`: limits of a fore or back channel.
    pub struct ChannelAttrs4 {
        pub ca_headerpadsize: Count4,
        pub ca_maxrequestsize: Count4,
        pub ca_maxresponsesize: Count4,
        pub ca_maxresponsesize_cached: Count4,
        pub ca_maxoperations: Count4,
        pub ca_maxrequests: Count4,
        pub ca_rdma_ird: Vec<u32>,
    }
}
xdr_struct! {
    /// CREATE_SESSION arguments.
    pub struct CreateSession4Args<'a> {
        pub csa_clientid: Clientid4,
        pub csa_sequence: Sequenceid4,
        pub csa_flags: CreateSession4Flags,
        pub csa_fore_chan_attrs: ChannelAttrs4,
        pub csa_back_chan_attrs: ChannelAttrs4,
        pub csa_cb_program: u32,
        pub csa_sec_parms: Vec<CallbackSecParms4<'a>>,
    }
}
xdr_struct! {
    /// CREATE_SESSION result on success.
    pub struct CreateSession4ResOk {
        pub csr_sessionid: SessionId4,
        pub csr_sequence: Sequenceid4,
        pub csr_flags: CreateSession4Flags,
        pub csr_fore_chan_attrs: ChannelAttrs4,
        pub csr_back_chan_attrs: ChannelAttrs4,
    }
}
/// CREATE_SESSION result.
pub type CreateSession4Res = NfsRes<CreateSession4ResOk>;

// DESTROY_SESSION (44)
xdr_struct! {
    /// DESTROY_SESSION arguments.
    pub struct DestroySession4Args { pub dsa_sessionid: SessionId4 }
}
/// DESTROY_SESSION result.
pub type DestroySession4Res = NfsStat4;

// FREE_STATEID (45)
xdr_struct! {
    /// FREE_STATEID arguments.
    pub struct FreeStateid4Args { pub fsa_stateid: Stateid4 }
}
/// FREE_STATEID result.
pub type FreeStateid4Res = NfsStat4;

// GET_DIR_DELEGATION (46)
xdr_struct! {
    /// GET_DIR_DELEGATION arguments.
    pub struct GetDirDelegation4Args {
        pub gdda_signal_deleg_avail: bool,
        pub gdda_notification_types: Bitmap4,
        pub gdda_child_attr_delay: Nfstime4,
        pub gdda_dir_attr_delay: Nfstime4,
        pub gdda_child_attributes: Bitmap4,
        pub gdda_dir_attributes: Bitmap4,
    }
}
xdr_struct! {
    /// GET_DIR_DELEGATION result when the delegation was granted.
    pub struct GetDirDelegation4ResOk {
        pub gddr_cookieverf: Verifier4,
        pub gddr_stateid: Stateid4,
        pub gddr_notification: Bitmap4,
        pub gddr_child_attributes: Bitmap4,
        pub gddr_dir_attributes: Bitmap4,
    }
}
xdr_union! {
    /// `GET_DIR_DELEGATION4res_non_fatal`.
    pub enum GetDirDelegation4ResNonFatal switch (Gddrnf4Status) {
        case Gddrnf4Status::GDD4_OK => Ok(GetDirDelegation4ResOk),
        case Gddrnf4Status::GDD4_UNAVAIL => Unavail(bool),
    }
}
/// GET_DIR_DELEGATION result.
pub type GetDirDelegation4Res = NfsRes<GetDirDelegation4ResNonFatal>;

// GETDEVICEINFO (47)
xdr_struct! {
    /// GETDEVICEINFO arguments.
    pub struct Getdeviceinfo4Args {
        pub gdia_device_id: DeviceId4,
        pub gdia_layout_type: LayoutType4,
        pub gdia_maxcount: Count4,
        pub gdia_notify_types: Bitmap4,
    }
}
xdr_struct! {
    /// GETDEVICEINFO result on success.
    pub struct Getdeviceinfo4ResOk<'a> {
        pub gdir_device_addr: DeviceAddr4<'a>,
        pub gdir_notification: Bitmap4,
    }
}
xdr_union! {
    /// GETDEVICEINFO result (the needed size on TOOSMALL).
    pub enum Getdeviceinfo4Res<'a> switch (NfsStat4) {
        case NfsStat4::NFS4_OK => Ok(Getdeviceinfo4ResOk<'a>),
        case NfsStat4::NFS4ERR_TOOSMALL => TooSmall(Count4),
        default => Fail,
    }
}

// GETDEVICELIST (48)
xdr_struct! {
    /// GETDEVICELIST arguments.
    pub struct Getdevicelist4Args {
        pub gdla_layout_type: LayoutType4,
        pub gdla_maxdevices: Count4,
        pub gdla_cookie: NfsCookie4,
        pub gdla_cookieverf: Verifier4,
    }
}
xdr_struct! {
    /// GETDEVICELIST result on success.
    pub struct Getdevicelist4ResOk {
        pub gdlr_cookie: NfsCookie4,
        pub gdlr_cookieverf: Verifier4,
        pub gdlr_deviceid_list: Vec<DeviceId4>,
        pub gdlr_eof: bool,
    }
}
/// GETDEVICELIST result.
pub type Getdevicelist4Res = NfsRes<Getdevicelist4ResOk>;

// LAYOUTCOMMIT (49)
xdr_struct! {
    /// LAYOUTCOMMIT arguments (`newoffset4` and `newtime4` are optional values).
    pub struct Layoutcommit4Args<'a> {
        pub loca_offset: Offset4,
        pub loca_length: Length4,
        pub loca_reclaim: bool,
        pub loca_stateid: Stateid4,
        pub loca_last_write_offset: Option<Offset4>,
        pub loca_time_modify: Option<Nfstime4>,
        pub loca_layoutupdate: Layoutupdate4<'a>,
    }
}
xdr_struct! {
    /// LAYOUTCOMMIT result on success (`newsize4`).
    pub struct Layoutcommit4ResOk { pub locr_newsize: Option<Length4> }
}
/// LAYOUTCOMMIT result.
pub type Layoutcommit4Res = NfsRes<Layoutcommit4ResOk>;

// LAYOUTGET (50)
xdr_struct! {
    /// LAYOUTGET arguments.
    pub struct Layoutget4Args {
        pub loga_signal_layout_avail: bool,
        pub loga_layout_type: LayoutType4,
        pub loga_iomode: LayoutIomode4,
        pub loga_offset: Offset4,
        pub loga_length: Length4,
        pub loga_minlength: Length4,
        pub loga_stateid: Stateid4,
        pub loga_maxcount: Count4,
    }
}
xdr_struct! {
    /// LAYOUTGET result on success.
    pub struct Layoutget4ResOk<'a> {
        pub logr_return_on_close: bool,
        pub logr_stateid: Stateid4,
        pub logr_layout: Vec<Layout4<'a>>,
    }
}
xdr_union! {
    /// LAYOUTGET result.
    pub enum Layoutget4Res<'a> switch (NfsStat4) {
        case NfsStat4::NFS4_OK => Ok(Layoutget4ResOk<'a>),
        case NfsStat4::NFS4ERR_LAYOUTTRYLATER => TryLater(bool),
        default => Fail,
    }
}

// LAYOUTRETURN (51)
xdr_struct! {
    /// LAYOUTRETURN arguments.
    pub struct Layoutreturn4Args<'a> {
        pub lora_reclaim: bool,
        pub lora_layout_type: LayoutType4,
        pub lora_iomode: LayoutIomode4,
        pub lora_layoutreturn: Layoutreturn4<'a>,
    }
}
/// LAYOUTRETURN result (`layoutreturn_stateid`: an optional stateid).
pub type Layoutreturn4Res = NfsRes<Option<Stateid4>>;

// SECINFO_NO_NAME (52)
/// SECINFO_NO_NAME arguments.
pub type SecinfoNoName4Args = SecinfoStyle4;
/// SECINFO_NO_NAME result.
pub type SecinfoNoName4Res<'a> = Secinfo4Res<'a>;

// SEQUENCE (53)
xdr_struct! {
    /// SEQUENCE arguments.
    pub struct Sequence4Args {
        pub sa_sessionid: SessionId4,
        pub sa_sequenceid: Sequenceid4,
        pub sa_slotid: Slotid4,
        pub sa_highest_slotid: Slotid4,
        pub sa_cachethis: bool,
    }
}
xdr_struct! {
    /// SEQUENCE result on success.
    pub struct Sequence4ResOk {
        pub sr_sessionid: SessionId4,
        pub sr_sequenceid: Sequenceid4,
        pub sr_slotid: Slotid4,
        pub sr_highest_slotid: Slotid4,
        pub sr_target_highest_slotid: Slotid4,
        pub sr_status_flags: Seq4Status,
    }
}
/// SEQUENCE result.
pub type Sequence4Res = NfsRes<Sequence4ResOk>;

// SET_SSV (54)
xdr_struct! {
    /// SET_SSV arguments.
    pub struct SetSsv4Args<'a> { pub ssa_ssv: Opaque<'a>, pub ssa_digest: Opaque<'a> }
}
xdr_struct! {
    /// SET_SSV result on success.
    pub struct SetSsv4ResOk<'a> { pub ssr_digest: Opaque<'a> }
}
/// SET_SSV result.
pub type SetSsv4Res<'a> = NfsRes<SetSsv4ResOk<'a>>;

// TEST_STATEID (55)
xdr_struct! {
    /// TEST_STATEID arguments.
    pub struct TestStateid4Args { pub ts_stateids: Vec<Stateid4> }
}
xdr_struct! {
    /// TEST_STATEID result on success.
    pub struct TestStateid4ResOk { pub tsr_status_codes: Vec<NfsStat4> }
}
/// TEST_STATEID result.
pub type TestStateid4Res = NfsRes<TestStateid4ResOk>;

// WANT_DELEGATION (56)
xdr_union! {
    /// `deleg_claim4`.
    pub enum DelegClaim4 switch (OpenClaimType4) {
        case OpenClaimType4::CLAIM_FH => Fh,
        case OpenClaimType4::CLAIM_DELEG_PREV_FH => DelegPrevFh,
        case OpenClaimType4::CLAIM_PREVIOUS => Previous(OpenDelegationType4),
    }
}
xdr_struct! {
    /// WANT_DELEGATION arguments.
    pub struct WantDelegation4Args { pub wda_want: ShareAccess4, pub wda_claim: DelegClaim4 }
}
/// WANT_DELEGATION result.
pub type WantDelegation4Res<'a> = NfsRes<OpenDelegation4<'a>>;

// DESTROY_CLIENTID (57)
xdr_struct! {
    /// DESTROY_CLIENTID arguments.
    pub struct DestroyClientid4Args { pub dca_clientid: Clientid4 }
}
/// DESTROY_CLIENTID result.
pub type DestroyClientid4Res = NfsStat4;

// RECLAIM_COMPLETE (58)
xdr_struct! {
    /// RECLAIM_COMPLETE arguments.
    pub struct ReclaimComplete4Args { pub rca_one_fs: bool }
}
/// RECLAIM_COMPLETE result.
pub type ReclaimComplete4Res = NfsStat4;

impl OpStatus for Getdeviceinfo4Res<'_> {
    fn status(&self) -> NfsStat4 {
        self.discriminant()
    }
}

impl OpStatus for Layoutget4Res<'_> {
    fn status(&self) -> NfsStat4 {
        self.discriminant()
    }
}
