//! Operations: builders of every operation the client sends (file
//! operations to hold state and reclaim it; client ID and session
//! operations), and readers of their results in a COMPOUND reply.
//!
//! Builders return owned [`NfsArgOp`] values to put in a vector; readers
//! take the [`Compound4Res`] and find the first result of their operation.

use super::rpc::Principal;
use analyzer::nfs4::attr::{AttrValue, Fattr4Num};
use analyzer::nfs4::{BackchannelCtl4Args, GssCbHandles4, RpcGssSvc};
use analyzer::nfs4::{
    BindConnToSession4Args, CallbackSecParms4, CbClient4, ChannelAttrs4, ChannelDirFromClient4,
    ClientOwner4, CreateSession4Args, CreateSession4Flags, DestroyClientid4Args,
    DestroySession4Args, ExchangeId4Args, ExchgId4Flags, Netaddr4, NfsClientId4, NfsImplId4,
    Nfstime4, ReclaimComplete4Args, Sequence4Args, SessionId4, Setclientid4Args,
    SetclientidConfirm4Args, SsvSpParms4, StateProtect4A, StateProtectOps4,
};
use analyzer::nfs4::{
    Bitmap4, Clientid4, Close4Args, Compound4Res, Createhow4, Creatverfattr, Delegreturn4Args,
    ExistLockOwner4, Fattr4, FsLocations4, FsLocationsInfo4, Getattr4Args, Lock4Args, Lock4Res,
    Locker4, Lockt4Args, Locku4Args, Lookup4Args, NfsArgOp, NfsLockType4, NfsOpnum4, NfsResOp,
    NfsStat4, Open4Args, Open4ResOk, OpenClaim4, OpenClaimDelegateCur4, OpenConfirm4Args,
    OpenDelegationType4, OpenToLockOwner4, Openflag4, Opentype4, Putfh4Args, Read4Args,
    Readdir4Args, Remove4Args, Rename4Args, Renew4Args, ShareAccess4, ShareDeny4, StableHow4,
    StateOwner4, Stateid4, StateidOther, Verifier4, Write4Args, Write4ResOk,
};
use analyzer::rpc::RpcGssService;
use analyzer::xdr::{IntoStatic, Opaque};

/// An open or lock owner of `clientid` named `owner`.
pub fn state_owner(clientid: Clientid4, owner: &[u8]) -> StateOwner4<'static> {
    StateOwner4 {
        clientid,
        owner: Opaque::from(owner.to_vec()),
    }
}

/// PUTROOTFH.
pub fn putrootfh() -> NfsArgOp<'static> {
    NfsArgOp::Putrootfh(())
}

/// PUTFH `fh`.
pub fn putfh(fh: &[u8]) -> NfsArgOp<'static> {
    NfsArgOp::Putfh(Putfh4Args {
        object: Opaque::from(fh.to_vec()),
    })
}

/// GETFH.
pub fn getfh() -> NfsArgOp<'static> {
    NfsArgOp::Getfh(())
}

/// SAVEFH.
pub fn savefh() -> NfsArgOp<'static> {
    NfsArgOp::Savefh(())
}

/// RESTOREFH.
pub fn restorefh() -> NfsArgOp<'static> {
    NfsArgOp::Restorefh(())
}

/// LOOKUP of one component.
pub fn lookup(name: &str) -> NfsArgOp<'static> {
    NfsArgOp::Lookup(Lookup4Args {
        objname: Opaque::from(name.to_string()),
    })
}

/// One LOOKUP per component of `path` (`a/b/c`; empty components skipped).
pub fn lookup_path(path: &str) -> Vec<NfsArgOp<'static>> {
    components(path).map(lookup).collect()
}

/// The names of a `/`-separated path (empty components dropped).
pub fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

/// PUTROOTFH then the LOOKUPs of `path`.
pub fn root_path(path: &str) -> Vec<NfsArgOp<'static>> {
    let mut v = vec![putrootfh()];
    v.extend(lookup_path(path));
    v
}

/// GETATTR of the attributes numbered `attrs`.
pub fn getattr(attrs: &[u32]) -> NfsArgOp<'static> {
    getattr_bitmap(Bitmap4::from_bits(attrs))
}

/// GETATTR of an arbitrary bitmap (also invalid ones).
pub fn getattr_bitmap(mask: Bitmap4) -> NfsArgOp<'static> {
    NfsArgOp::Getattr(Getattr4Args { attr_request: mask })
}

/// READDIR's dircount: bytes of names and cookies per reply (a hint).
pub const READDIR_DIRCOUNT: u32 = 8192;
/// READDIR's maxcount: bytes of the whole reply (a few hundred entries).
pub const READDIR_MAXCOUNT: u32 = 32768;

/// READDIR from the directory's start (cookie 0, zero verifier), asking
/// the attributes numbered `attrs` of each entry.
pub fn readdir(attrs: &[u32]) -> NfsArgOp<'static> {
    NfsArgOp::Readdir(Readdir4Args {
        cookie: 0,
        cookieverf: Verifier4([0; 8]),
        dircount: READDIR_DIRCOUNT,
        maxcount: READDIR_MAXCOUNT,
        attr_request: Bitmap4::from_bits(attrs),
    })
}

/// GETATTR lease_time.
pub fn getattr_lease_time() -> NfsArgOp<'static> {
    getattr(&[Fattr4Num::FATTR4_LEASE_TIME.0])
}

/// GETATTR fs_locations.
pub fn getattr_fs_locations() -> NfsArgOp<'static> {
    getattr(&[Fattr4Num::FATTR4_FS_LOCATIONS.0])
}

/// GETATTR fs_locations_info.
pub fn getattr_fs_locations_info() -> NfsArgOp<'static> {
    getattr(&[Fattr4Num::FATTR4_FS_LOCATIONS_INFO.0])
}

/// How an OPEN creates the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Create {
    /// OPEN4_NOCREATE.
    No,
    /// UNCHECKED4 with these attributes.
    Unchecked(Fattr4<'static>),
    /// GUARDED4 with these attributes.
    Guarded(Fattr4<'static>),
    /// EXCLUSIVE4 (4.0) with this verifier.
    Exclusive([u8; 8]),
    /// EXCLUSIVE4_1 with this verifier and attributes.
    Exclusive41([u8; 8], Fattr4<'static>),
}

impl Create {
    /// UNCHECKED4 with mode `mode`.
    pub fn unchecked_mode(mode: u32) -> Create {
        Create::Unchecked(Fattr4::from_values(&[AttrValue::Mode(mode)]))
    }

    /// GUARDED4 with mode `mode`.
    pub fn guarded_mode(mode: u32) -> Create {
        Create::Guarded(Fattr4::from_values(&[AttrValue::Mode(mode)]))
    }

    fn openhow(self) -> Openflag4<'static> {
        let how = match self {
            Create::No => return Openflag4::NoCreate(Opentype4::OPEN4_NOCREATE),
            Create::Unchecked(a) => Createhow4::Unchecked(a),
            Create::Guarded(a) => Createhow4::Guarded(a),
            Create::Exclusive(v) => Createhow4::Exclusive(Verifier4(v)),
            Create::Exclusive41(v, a) => Createhow4::Exclusive41(Creatverfattr {
                cva_verf: Verifier4(v),
                cva_attrs: a,
            }),
        };
        Openflag4::Create(how)
    }
}

/// Which file an OPEN names and whether it reclaims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// CLAIM_NULL: `name` in the current directory.
    Null(String),
    /// CLAIM_PREVIOUS: reclaim after a restart (current fh is the file),
    /// with the delegation type held before.
    Previous(OpenDelegationType4),
    /// CLAIM_DELEGATE_CUR: `name`, opened under delegation `stateid`.
    DelegateCur(Stateid4, String),
    /// CLAIM_DELEGATE_PREV: `name`, delegation held before a client restart.
    DelegatePrev(String),
    /// CLAIM_FH (4.1): the current fh.
    Fh,
    /// CLAIM_DELEG_PREV_FH (4.1).
    DelegPrevFh,
    /// CLAIM_DELEG_CUR_FH (4.1) under delegation `stateid`.
    DelegCurFh(Stateid4),
}

impl Claim {
    fn encode(self) -> OpenClaim4<'static> {
        match self {
            Claim::Null(n) => OpenClaim4::Null(Opaque::from(n)),
            Claim::Previous(d) => OpenClaim4::Previous(d),
            Claim::DelegateCur(s, n) => OpenClaim4::DelegateCur(OpenClaimDelegateCur4 {
                delegate_stateid: s,
                file: Opaque::from(n),
            }),
            Claim::DelegatePrev(n) => OpenClaim4::DelegatePrev(Opaque::from(n)),
            Claim::Fh => OpenClaim4::Fh,
            Claim::DelegPrevFh => OpenClaim4::DelegPrevFh,
            Claim::DelegCurFh(s) => OpenClaim4::DelegCurFh(s),
        }
    }
}

/// OPEN with every field chosen.
pub fn open(
    seqid: u32,
    access: ShareAccess4,
    deny: ShareDeny4,
    owner: StateOwner4<'static>,
    create: Create,
    claim: Claim,
) -> NfsArgOp<'static> {
    NfsArgOp::Open(Open4Args {
        seqid,
        share_access: access,
        share_deny: deny,
        owner,
        openhow: create.openhow(),
        claim: claim.encode(),
    })
}

/// OPEN `name` in the current directory for reading and writing, deny
/// none, created UNCHECKED4 (mode 0644) when missing.
pub fn open_create(seqid: u32, owner: StateOwner4<'static>, name: &str) -> NfsArgOp<'static> {
    open(
        seqid,
        ShareAccess4::READ | ShareAccess4::WRITE,
        ShareDeny4(0),
        owner,
        Create::unchecked_mode(0o644),
        Claim::Null(name.to_string()),
    )
}

/// CLAIM_PREVIOUS reclaim of the open of the current fh (no delegation).
pub fn open_reclaim(
    seqid: u32,
    access: ShareAccess4,
    owner: StateOwner4<'static>,
) -> NfsArgOp<'static> {
    open(
        seqid,
        access,
        ShareDeny4(0),
        owner,
        Create::No,
        Claim::Previous(OpenDelegationType4::OPEN_DELEGATE_NONE),
    )
}

/// OPEN_CONFIRM (4.0).
pub fn open_confirm(open_stateid: Stateid4, seqid: u32) -> NfsArgOp<'static> {
    NfsArgOp::OpenConfirm(OpenConfirm4Args {
        open_stateid,
        seqid,
    })
}

/// A lock range and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// READ_LT, WRITE_LT, READW_LT or WRITEW_LT.
    pub locktype: NfsLockType4,
    /// First byte.
    pub offset: u64,
    /// Bytes (u64::MAX: to the end of the file).
    pub length: u64,
}

impl Range {
    /// A write lock of the whole file.
    pub fn whole_write() -> Range {
        Range {
            locktype: NfsLockType4::WRITE_LT,
            offset: 0,
            length: u64::MAX,
        }
    }
}

/// LOCK by a new lock owner, from an open stateid.
pub fn lock_new(
    range: Range,
    reclaim: bool,
    open_seqid: u32,
    open_stateid: Stateid4,
    lock_seqid: u32,
    lock_owner: StateOwner4<'static>,
) -> NfsArgOp<'static> {
    lock_with(
        range,
        reclaim,
        Locker4::OpenOwner(OpenToLockOwner4 {
            open_seqid,
            open_stateid,
            lock_seqid,
            lock_owner,
        }),
    )
}

/// LOCK by a lock owner that already has a lock stateid.
pub fn lock_existing(
    range: Range,
    reclaim: bool,
    lock_stateid: Stateid4,
    lock_seqid: u32,
) -> NfsArgOp<'static> {
    lock_with(
        range,
        reclaim,
        Locker4::LockOwner(ExistLockOwner4 {
            lock_stateid,
            lock_seqid,
        }),
    )
}

fn lock_with(range: Range, reclaim: bool, locker: Locker4<'static>) -> NfsArgOp<'static> {
    NfsArgOp::Lock(Lock4Args {
        locktype: range.locktype,
        reclaim,
        offset: range.offset,
        length: range.length,
        locker,
    })
}

/// LOCKU.
pub fn locku(range: Range, seqid: u32, lock_stateid: Stateid4) -> NfsArgOp<'static> {
    NfsArgOp::Locku(Locku4Args {
        locktype: range.locktype,
        seqid,
        lock_stateid,
        offset: range.offset,
        length: range.length,
    })
}

/// LOCKT for `owner`.
pub fn lockt(range: Range, owner: StateOwner4<'static>) -> NfsArgOp<'static> {
    NfsArgOp::Lockt(Lockt4Args {
        locktype: range.locktype,
        offset: range.offset,
        length: range.length,
        owner,
    })
}

/// CLOSE.
pub fn close(seqid: u32, open_stateid: Stateid4) -> NfsArgOp<'static> {
    NfsArgOp::Close(Close4Args {
        seqid,
        open_stateid,
    })
}

/// READ `count` bytes at `offset`.
pub fn read(stateid: Stateid4, offset: u64, count: u32) -> NfsArgOp<'static> {
    NfsArgOp::Read(Read4Args {
        stateid,
        offset,
        count,
    })
}

/// WRITE `data` at `offset`, FILE_SYNC4.
pub fn write(stateid: Stateid4, offset: u64, data: &[u8]) -> NfsArgOp<'static> {
    NfsArgOp::Write(Write4Args {
        stateid,
        offset,
        stable: StableHow4::FILE_SYNC4,
        data: Opaque::from(data.to_vec()),
    })
}

/// DELEGRETURN of `stateid`.
pub fn delegreturn(stateid: Stateid4) -> NfsArgOp<'static> {
    NfsArgOp::Delegreturn(Delegreturn4Args {
        deleg_stateid: stateid,
    })
}

/// REMOVE `name` from the current directory.
pub fn remove(name: &str) -> NfsArgOp<'static> {
    NfsArgOp::Remove(Remove4Args {
        target: Opaque::from(name.to_string()),
    })
}

/// RENAME of `from` to `to`, both in the saved directory (SAVEFH) and
/// the current one.
pub fn rename(from: &str, to: &str) -> NfsArgOp<'static> {
    NfsArgOp::Rename(Rename4Args {
        oldname: Opaque::from(from.to_string()),
        newname: Opaque::from(to.to_string()),
    })
}

/// RENEW (4.0).
pub fn renew(clientid: Clientid4) -> NfsArgOp<'static> {
    NfsArgOp::Renew(Renew4Args { clientid })
}

/// The all-zero ("anonymous") stateid.
pub fn anonymous_stateid() -> Stateid4 {
    Stateid4 {
        seqid: 0,
        other: StateidOther([0; 12]),
    }
}

// ---- client ID and session operations (RFC 8881 §18.33-18.37, §18.46,
// §18.50-18.51; RFC 7530 §16.33-16.34) ----

/// The implementation id the client sends in EXCHANGE_ID.
pub fn impl_id() -> NfsImplId4<'static> {
    NfsImplId4 {
        nii_domain: Opaque::from("trunkcheck.invalid"),
        nii_name: Opaque::from(format!("trunkcheck {}", env!("CARGO_PKG_VERSION"))),
        nii_date: Nfstime4 {
            seconds: 0,
            nseconds: 0,
        },
    }
}

/// SP4_MACH_CRED enforcing the machine credential on the operations that
/// manage the client ID and its sessions (RFC 8881 §18.35.4).
pub fn mach_cred() -> StateProtect4A<'static> {
    let enforced = [
        NfsOpnum4::OP_BIND_CONN_TO_SESSION,
        NfsOpnum4::OP_EXCHANGE_ID,
        NfsOpnum4::OP_CREATE_SESSION,
        NfsOpnum4::OP_DESTROY_SESSION,
        NfsOpnum4::OP_DESTROY_CLIENTID,
    ];
    StateProtect4A::MachCred(StateProtectOps4 {
        spo_must_enforce: Bitmap4::from_bits(&enforced.map(|op| op.0)),
        spo_must_allow: Bitmap4::default(),
    })
}

/// SP4_SSV asking for the same operations as [`mach_cred`], with SHA-256
/// (when `hash`) and AES-256-CBC (when `encr`) as the only algorithms (DER
/// object identifiers), window `window` and one GSS handle.
pub fn ssv(window: u32, hash: bool, encr: bool) -> StateProtect4A<'static> {
    const SHA256: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    const AES256_CBC: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A,
    ];
    let ops = match mach_cred() {
        StateProtect4A::MachCred(o) => o,
        _ => StateProtectOps4 {
            spo_must_enforce: Bitmap4::default(),
            spo_must_allow: Bitmap4::default(),
        },
    };
    StateProtect4A::Ssv(SsvSpParms4 {
        ssp_ops: ops,
        ssp_hash_algs: if hash {
            vec![Opaque::from(SHA256.to_vec())]
        } else {
            Vec::new()
        },
        ssp_encr_algs: if encr {
            vec![Opaque::from(AES256_CBC.to_vec())]
        } else {
            Vec::new()
        },
        ssp_window: window,
        ssp_num_gss_handles: 1,
    })
}

/// EXCHANGE_ID of client owner `ownerid` at incarnation `verifier`; the
/// client's [`impl_id`] unless `impl_id` is false (then none is sent).
pub fn exchange_id<'a>(
    ownerid: &[u8],
    verifier: [u8; 8],
    flags: ExchgId4Flags,
    state_protect: StateProtect4A<'a>,
    impl_id: bool,
) -> NfsArgOp<'a> {
    NfsArgOp::ExchangeId(ExchangeId4Args {
        eia_clientowner: ClientOwner4 {
            co_verifier: Verifier4(verifier),
            co_ownerid: Opaque::from(ownerid.to_vec()),
        },
        eia_flags: flags,
        eia_state_protect: state_protect,
        eia_client_impl_id: if impl_id {
            vec![self::impl_id()]
        } else {
            vec![]
        },
    })
}

/// CREATE_SESSION arguments for `clientid` (csa_sequence `sequence`), with
/// the callback security of `principal` (see [`callback_sec`]).
pub fn create_session_args(
    clientid: Clientid4,
    sequence: u32,
    flags: CreateSession4Flags,
    fore: ChannelAttrs4,
    back: ChannelAttrs4,
    cb_program: u32,
    principal: &Principal,
) -> CreateSession4Args<'static> {
    CreateSession4Args {
        csa_clientid: clientid,
        csa_sequence: sequence,
        csa_flags: flags,
        csa_fore_chan_attrs: fore,
        csa_back_chan_attrs: back,
        csa_cb_program: cb_program,
        csa_sec_parms: callback_sec(principal),
    }
}

/// The callback security the client offers: its own AUTH_SYS identity, or
/// AUTH_NONE (also for an RPCSEC_GSS principal: the client's callback
/// service accepts no RPCSEC_GSS, see [`callback_sec_gss`] to offer it anyway).
pub fn callback_sec(principal: &Principal) -> Vec<CallbackSecParms4<'static>> {
    match principal.auth_sys_parms() {
        Some(p) => vec![CallbackSecParms4::AuthSys(p), CallbackSecParms4::AuthNone],
        None => vec![CallbackSecParms4::AuthNone],
    }
}

/// RPCSEC_GSS callback security (RFC 8881 §2.10.8.3): the server is to
/// call with `handle_from_server` in its credentials and the client to
/// answer with `handle_from_client`. For tests of what a server does with
/// it only: the client's callback service denies RPCSEC_GSS calls.
pub fn callback_sec_gss(
    service: RpcGssService,
    handle_from_server: &[u8],
    handle_from_client: &[u8],
) -> CallbackSecParms4<'static> {
    CallbackSecParms4::RpcsecGss(GssCbHandles4 {
        gcbp_service: RpcGssSvc(service.0),
        gcbp_handle_from_server: Opaque::from(handle_from_server.to_vec()),
        gcbp_handle_from_client: Opaque::from(handle_from_client.to_vec()),
    })
}

/// BACKCHANNEL_CTL: callback program `cb_program` with `sec_parms`
/// (e.g. [`callback_sec`] of the principal).
pub fn backchannel_ctl(
    cb_program: u32,
    sec_parms: Vec<CallbackSecParms4<'static>>,
) -> NfsArgOp<'static> {
    NfsArgOp::BackchannelCtl(BackchannelCtl4Args {
        bca_cb_program: cb_program,
        bca_sec_parms: sec_parms,
    })
}

/// SEQUENCE on session `id`, slot `slot` with sequence id `seqid`.
pub fn sequence(
    id: SessionId4,
    seqid: u32,
    slot: u32,
    highest_slot: u32,
    cachethis: bool,
) -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: id,
        sa_sequenceid: seqid,
        sa_slotid: slot,
        sa_highest_slotid: highest_slot,
        sa_cachethis: cachethis,
    })
}

/// BIND_CONN_TO_SESSION of the connection it is sent on to session `id`.
pub fn bind_conn_to_session(
    id: SessionId4,
    dir: ChannelDirFromClient4,
    rdma: bool,
) -> NfsArgOp<'static> {
    NfsArgOp::BindConnToSession(BindConnToSession4Args {
        bctsa_sessid: id,
        bctsa_dir: dir,
        bctsa_use_conn_in_rdma_mode: rdma,
    })
}

/// DESTROY_SESSION of session `id`.
pub fn destroy_session(id: SessionId4) -> NfsArgOp<'static> {
    NfsArgOp::DestroySession(DestroySession4Args { dsa_sessionid: id })
}

/// DESTROY_CLIENTID of `clientid`.
pub fn destroy_clientid(clientid: Clientid4) -> NfsArgOp<'static> {
    NfsArgOp::DestroyClientid(DestroyClientid4Args {
        dca_clientid: clientid,
    })
}

/// RECLAIM_COMPLETE (of every file system, or only the current one).
pub fn reclaim_complete(one_fs: bool) -> NfsArgOp<'static> {
    NfsArgOp::ReclaimComplete(ReclaimComplete4Args { rca_one_fs: one_fs })
}

/// SETCLIENTID (4.0) of client `id` at incarnation `verifier`, with the
/// callback program `cb_program` at `location`.
pub fn setclientid<'a>(
    id: &[u8],
    verifier: [u8; 8],
    location: Netaddr4<'a>,
    cb_program: u32,
    callback_ident: u32,
) -> NfsArgOp<'a> {
    NfsArgOp::Setclientid(Setclientid4Args {
        client: NfsClientId4 {
            verifier: Verifier4(verifier),
            id: Opaque::from(id.to_vec()),
        },
        callback: CbClient4 {
            cb_program,
            cb_location: location,
        },
        callback_ident,
    })
}

/// SETCLIENTID_CONFIRM (4.0) of `clientid` with the `confirm` verifier.
pub fn setclientid_confirm(clientid: Clientid4, confirm: Verifier4) -> NfsArgOp<'static> {
    NfsArgOp::SetclientidConfirm(SetclientidConfirm4Args {
        clientid,
        setclientid_confirm: confirm,
    })
}

/// OP_ILLEGAL.
pub fn illegal() -> NfsArgOp<'static> {
    NfsArgOp::Illegal(())
}

// ---- reading results ----

/// The first result of operation `op`.
pub fn find<'r>(res: &'r Compound4Res<'static>, op: NfsOpnum4) -> Option<&'r NfsResOp<'static>> {
    res.resarray.iter().find(|r| r.opnum() == op)
}

/// The status of the first result of `op` (`None`: not reached).
pub fn status_of(res: &Compound4Res<'static>, op: NfsOpnum4) -> Option<NfsStat4> {
    find(res, op).map(|r| r.status())
}

/// The first failing result: its index, operation name and status.
pub fn first_failure(res: &Compound4Res<'static>) -> Option<(usize, &'static str, NfsStat4)> {
    res.resarray
        .iter()
        .enumerate()
        .find(|(_, r)| !r.status().is_ok())
        .map(|(i, r)| (i, r.name(), r.status()))
}

/// The file handle GETFH returned.
pub fn fh(res: &Compound4Res<'static>) -> Option<Vec<u8>> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Getfh(g) => g.ok().map(|ok| ok.object.as_bytes().to_vec()),
        _ => None,
    })
}

/// The attributes the first successful GETATTR returned, decoded.
pub fn attrs(res: &Compound4Res<'static>) -> Option<Vec<AttrValue<'static>>> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Getattr(g) => g
            .ok()
            .map(|ok| ok.obj_attributes.decode_values().values.into_static()),
        _ => None,
    })
}

/// The lease_time attribute of the first GETATTR.
pub fn lease_time(res: &Compound4Res<'static>) -> Option<u32> {
    attrs(res)?.iter().find_map(|v| match v {
        AttrValue::LeaseTime(t) => Some(*t),
        _ => None,
    })
}

/// The fs_locations attribute of the first GETATTR.
pub fn fs_locations(res: &Compound4Res<'static>) -> Option<FsLocations4<'static>> {
    attrs(res)?.into_iter().find_map(|v| match v {
        AttrValue::FsLocations(l) => Some(l),
        _ => None,
    })
}

/// The fs_locations_info attribute of the first GETATTR.
pub fn fs_locations_info(res: &Compound4Res<'static>) -> Option<FsLocationsInfo4<'static>> {
    attrs(res)?.into_iter().find_map(|v| match v {
        AttrValue::FsLocationsInfo(l) => Some(l),
        _ => None,
    })
}

/// The OPEN result on success.
pub fn opened<'r>(res: &'r Compound4Res<'static>) -> Option<&'r Open4ResOk<'static>> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Open(o) => o.ok(),
        _ => None,
    })
}

/// The stateid OPEN_CONFIRM returned.
pub fn confirmed(res: &Compound4Res<'static>) -> Option<Stateid4> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::OpenConfirm(o) => o.ok().cloned(),
        _ => None,
    })
}

/// The lock stateid LOCK returned.
pub fn locked(res: &Compound4Res<'static>) -> Option<Stateid4> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Lock(Lock4Res::Ok(s)) => Some(s.clone()),
        _ => None,
    })
}

/// The stateid LOCKU returned.
pub fn unlocked(res: &Compound4Res<'static>) -> Option<Stateid4> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Locku(o) => o.ok().cloned(),
        _ => None,
    })
}

/// The stateid CLOSE returned.
pub fn closed(res: &Compound4Res<'static>) -> Option<Stateid4> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Close(o) => o.ok().cloned(),
        _ => None,
    })
}

/// The data READ returned and its eof flag.
pub fn read_data(res: &Compound4Res<'static>) -> Option<(Vec<u8>, bool)> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Read(o) => o.ok().map(|ok| (ok.data.as_bytes().to_vec(), ok.eof)),
        _ => None,
    })
}

/// The WRITE result on success.
pub fn written(res: &Compound4Res<'static>) -> Option<Write4ResOk> {
    res.resarray.iter().find_map(|r| match r {
        NfsResOp::Write(o) => o.ok().cloned(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::xdr::{from_bytes, to_bytes};

    #[test]
    fn builders_encode_what_the_codec_decodes() {
        let owner = state_owner(Clientid4(5), b"o");
        let ops = vec![
            putrootfh(),
            open_create(0, owner.clone(), "f"),
            open_reclaim(1, ShareAccess4::READ, owner.clone()),
            lock_new(Range::whole_write(), true, 1, anonymous_stateid(), 0, owner),
            write(anonymous_stateid(), 0, b"abc"),
        ];
        for op in ops {
            let bytes = to_bytes(&op);
            let back: NfsArgOp<'_> = from_bytes(&bytes).expect("decodes");
            assert_eq!(back, op);
        }
        assert_eq!(lookup_path("/a//b/").len(), 2);
    }

    #[test]
    fn client_id_builders_encode_what_the_codec_decodes_and_mach_cred_names_its_ops() {
        let p = Principal::sys(0, 0, "t");
        let ops = vec![
            exchange_id(b"o", [1; 8], ExchgId4Flags(0), mach_cred(), true),
            exchange_id(b"o", [1; 8], ExchgId4Flags(0), StateProtect4A::None, false),
            NfsArgOp::CreateSession(create_session_args(
                Clientid4(7),
                1,
                CreateSession4Flags(0),
                crate::client::session::default_fore_attrs(),
                crate::client::session::default_back_attrs(),
                0x4000_0000,
                &p,
            )),
            sequence(SessionId4([2; 16]), 1, 0, 0, false),
            bind_conn_to_session(
                SessionId4([2; 16]),
                ChannelDirFromClient4::CDFC4_FORE,
                false,
            ),
            destroy_session(SessionId4([2; 16])),
            destroy_clientid(Clientid4(7)),
            reclaim_complete(false),
            setclientid(
                b"o",
                [1; 8],
                Netaddr4 {
                    na_r_netid: Opaque::from("tcp"),
                    na_r_addr: Opaque::from("127.0.0.1.8.1"),
                },
                0x4000_0000,
                1,
            ),
            setclientid_confirm(Clientid4(7), Verifier4([3; 8])),
            illegal(),
        ];
        for op in ops {
            let bytes = to_bytes(&op);
            let back: NfsArgOp<'_> = from_bytes(&bytes).expect("decodes");
            assert_eq!(back, op);
        }
        let StateProtect4A::MachCred(m) = mach_cred() else {
            panic!("SP4_MACH_CRED")
        };
        let names: Vec<&str> = m
            .spo_must_enforce
            .bits()
            .filter_map(|b| NfsOpnum4(b).op_name())
            .collect();
        assert_eq!(
            names,
            [
                "BIND_CONN_TO_SESSION",
                "EXCHANGE_ID",
                "CREATE_SESSION",
                "DESTROY_SESSION",
                "DESTROY_CLIENTID"
            ]
        );
    }
}
