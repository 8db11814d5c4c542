//! Arguments and results of the operations defined by NFSv4.0 (op numbers
//! 3–39, RFC 7530/7531), with the 4.1 additions to their unions (new claim
//! types, EXCLUSIVE4_1, OPEN_DELEGATE_NONE_EXT).

use super::consts::*;
use super::types::*;
use crate::xdr::{List, Opaque, FALSE, TRUE};

// ACCESS (3)
xdr_struct! {
    /// ACCESS arguments.
    pub struct Access4Args { pub access: Access4 }
}
xdr_struct! {
    /// ACCESS result on success.
    pub struct Access4ResOk { pub supported: Access4, pub access: Access4 }
}
/// ACCESS result.
pub type Access4Res = NfsRes<Access4ResOk>;

// CLOSE (4)
xdr_struct! {
    /// CLOSE arguments.
    pub struct Close4Args { pub seqid: Seqid4, pub open_stateid: Stateid4 }
}
/// CLOSE result (the closed stateid on success).
pub type Close4Res = NfsRes<Stateid4>;

// COMMIT (5)
xdr_struct! {
    /// COMMIT arguments.
    pub struct Commit4Args { pub offset: Offset4, pub count: Count4 }
}
xdr_struct! {
    /// COMMIT result on success.
    pub struct Commit4ResOk { pub writeverf: Verifier4 }
}
/// COMMIT result.
pub type Commit4Res = NfsRes<Commit4ResOk>;

// CREATE (6)
xdr_union! {
    /// `createtype4`: what CREATE makes.
    pub enum Createtype4<'a> switch (NfsFtype4) {
        case NfsFtype4::NF4LNK => Lnk(Linktext4<'a>),
        case NfsFtype4::NF4BLK => Blk(Specdata4),
        case NfsFtype4::NF4CHR => Chr(Specdata4),
        case NfsFtype4::NF4SOCK => Sock,
        case NfsFtype4::NF4FIFO => Fifo,
        case NfsFtype4::NF4DIR => Dir,
        default => Other,
    }
}
xdr_struct! {
    /// CREATE arguments.
    pub struct Create4Args<'a> {
        pub objtype: Createtype4<'a>,
        pub objname: Component4<'a>,
        pub createattrs: Fattr4<'a>,
    }
}
xdr_struct! {
    /// CREATE result on success.
    pub struct Create4ResOk { pub cinfo: ChangeInfo4, pub attrset: Bitmap4 }
}
/// CREATE result.
pub type Create4Res = NfsRes<Create4ResOk>;

// DELEGPURGE (7)
xdr_struct! {
    /// DELEGPURGE arguments.
    pub struct Delegpurge4Args { pub clientid: Clientid4 }
}
/// DELEGPURGE result.
pub type Delegpurge4Res = NfsStat4;

// DELEGRETURN (8)
xdr_struct! {
    /// DELEGRETURN arguments.
    pub struct Delegreturn4Args { pub deleg_stateid: Stateid4 }
}
/// DELEGRETURN result.
pub type Delegreturn4Res = NfsStat4;

// GETATTR (9)
xdr_struct! {
    /// GETATTR arguments.
    pub struct Getattr4Args { pub attr_request: Bitmap4 }
}
xdr_struct! {
    /// GETATTR result on success.
    pub struct Getattr4ResOk<'a> { pub obj_attributes: Fattr4<'a> }
}
/// GETATTR result.
pub type Getattr4Res<'a> = NfsRes<Getattr4ResOk<'a>>;

// GETFH (10)
xdr_struct! {
    /// GETFH result on success.
    pub struct Getfh4ResOk<'a> { pub object: NfsFh4<'a> }
}
/// GETFH result.
pub type Getfh4Res<'a> = NfsRes<Getfh4ResOk<'a>>;

// LINK (11)
xdr_struct! {
    /// LINK arguments.
    pub struct Link4Args<'a> { pub newname: Component4<'a> }
}
xdr_struct! {
    /// LINK result on success.
    pub struct Link4ResOk { pub cinfo: ChangeInfo4 }
}
/// LINK result.
pub type Link4Res = NfsRes<Link4ResOk>;

// LOCK (12)
xdr_struct! {
    /// `open_to_lock_owner4`: first lock of a lock owner, from an open stateid.
    pub struct OpenToLockOwner4<'a> {
        pub open_seqid: Seqid4,
        pub open_stateid: Stateid4,
        pub lock_seqid: Seqid4,
        pub lock_owner: LockOwner4<'a>,
    }
}
xdr_struct! {
    /// `exist_lock_owner4`: a further lock of a known lock owner.
    pub struct ExistLockOwner4 { pub lock_stateid: Stateid4, pub lock_seqid: Seqid4 }
}
xdr_union! {
    /// `locker4`: `union switch (bool new_lock_owner)`.
    pub enum Locker4<'a> switch (bool) {
        case TRUE => OpenOwner(OpenToLockOwner4<'a>),
        case FALSE => LockOwner(ExistLockOwner4),
    }
}
xdr_struct! {
    /// LOCK arguments.
    pub struct Lock4Args<'a> {
        pub locktype: NfsLockType4,
        pub reclaim: bool,
        pub offset: Offset4,
        pub length: Length4,
        pub locker: Locker4<'a>,
    }
}
xdr_struct! {
    /// `LOCK4denied`: the conflicting lock.
    pub struct Lock4Denied<'a> {
        pub offset: Offset4,
        pub length: Length4,
        pub locktype: NfsLockType4,
        pub owner: LockOwner4<'a>,
    }
}
xdr_union! {
    /// LOCK result.
    pub enum Lock4Res<'a> switch (NfsStat4) {
        case NfsStat4::NFS4_OK => Ok(Stateid4),
        case NfsStat4::NFS4ERR_DENIED => Denied(Lock4Denied<'a>),
        default => Fail,
    }
}

// LOCKT (13)
xdr_struct! {
    /// LOCKT arguments.
    pub struct Lockt4Args<'a> {
        pub locktype: NfsLockType4,
        pub offset: Offset4,
        pub length: Length4,
        pub owner: LockOwner4<'a>,
    }
}
xdr_union! {
    /// LOCKT result.
    pub enum Lockt4Res<'a> switch (NfsStat4) {
        case NfsStat4::NFS4ERR_DENIED => Denied(Lock4Denied<'a>),
        case NfsStat4::NFS4_OK => Ok,
        default => Fail,
    }
}

// LOCKU (14)
xdr_struct! {
    /// LOCKU arguments.
    pub struct Locku4Args {
        pub locktype: NfsLockType4,
        pub seqid: Seqid4,
        pub lock_stateid: Stateid4,
        pub offset: Offset4,
        pub length: Length4,
    }
}
/// LOCKU result (the lock stateid on success).
pub type Locku4Res = NfsRes<Stateid4>;

// LOOKUP (15), LOOKUPP (16)
xdr_struct! {
    /// LOOKUP arguments.
    pub struct Lookup4Args<'a> { pub objname: Component4<'a> }
}
/// LOOKUP result.
pub type Lookup4Res = NfsStat4;
/// LOOKUPP result.
pub type Lookupp4Res = NfsStat4;

// NVERIFY (17)
xdr_struct! {
    /// NVERIFY arguments.
    pub struct Nverify4Args<'a> { pub obj_attributes: Fattr4<'a> }
}
/// NVERIFY result.
pub type Nverify4Res = NfsStat4;

// OPEN (18)
xdr_struct! {
    /// `creatverfattr`: EXCLUSIVE4_1's verifier and attributes.
    pub struct Creatverfattr<'a> { pub cva_verf: Verifier4, pub cva_attrs: Fattr4<'a> }
}
xdr_union! {
    /// `createhow4`.
    pub enum Createhow4<'a> switch (Createmode4) {
        case Createmode4::UNCHECKED4 => Unchecked(Fattr4<'a>),
        case Createmode4::GUARDED4 => Guarded(Fattr4<'a>),
        case Createmode4::EXCLUSIVE4 => Exclusive(Verifier4),
        case Createmode4::EXCLUSIVE4_1 => Exclusive41(Creatverfattr<'a>),
    }
}
xdr_union! {
    /// `openflag4`.
    pub enum Openflag4<'a> switch (Opentype4) {
        case Opentype4::OPEN4_CREATE => Create(Createhow4<'a>),
        default => NoCreate,
    }
}
xdr_union! {
    /// `nfs_space_limit4`.
    pub enum NfsSpaceLimit4 switch (LimitBy4) {
        case LimitBy4::NFS_LIMIT_SIZE => Size(u64),
        case LimitBy4::NFS_LIMIT_BLOCKS => Blocks(NfsModifiedLimit4),
    }
}
xdr_struct! {
    /// `nfs_modified_limit4`.
    pub struct NfsModifiedLimit4 { pub num_blocks: u32, pub bytes_per_block: u32 }
}
xdr_struct! {
    /// `open_claim_delegate_cur4`.
    pub struct OpenClaimDelegateCur4<'a> {
        pub delegate_stateid: Stateid4,
        pub file: Component4<'a>,
    }
}
xdr_union! {
    /// `open_claim4`: which file, and whether the OPEN reclaims.
    pub enum OpenClaim4<'a> switch (OpenClaimType4) {
        case OpenClaimType4::CLAIM_NULL => Null(Component4<'a>),
        case OpenClaimType4::CLAIM_PREVIOUS => Previous(OpenDelegationType4),
        case OpenClaimType4::CLAIM_DELEGATE_CUR => DelegateCur(OpenClaimDelegateCur4<'a>),
        case OpenClaimType4::CLAIM_DELEGATE_PREV => DelegatePrev(Component4<'a>),
        case OpenClaimType4::CLAIM_FH => Fh,
        case OpenClaimType4::CLAIM_DELEG_PREV_FH => DelegPrevFh,
        case OpenClaimType4::CLAIM_DELEG_CUR_FH => DelegCurFh(Stateid4),
    }
}
xdr_struct! {
    /// OPEN arguments.
    pub struct Open4Args<'a> {
        pub seqid: Seqid4,
        pub share_access: ShareAccess4,
        pub share_deny: ShareDeny4,
        pub owner: OpenOwner4<'a>,
        pub openhow: Openflag4<'a>,
        pub claim: OpenClaim4<'a>,
    }
}
xdr_struct! {
    /// `open_read_delegation4`.
    pub struct OpenReadDelegation4<'a> {
        pub stateid: Stateid4,
        pub recall: bool,
        pub permissions: Nfsace4<'a>,
    }
}
xdr_struct! {
    /// `open_write_delegation4`.
    pub struct OpenWriteDelegation4<'a> {
        pub stateid: Stateid4,
        pub recall: bool,
        pub space_limit: NfsSpaceLimit4,
        pub permissions: Nfsace4<'a>,
    }
}
xdr_union! {
    /// `open_none_delegation4` (4.1): why no delegation was given.
    pub enum OpenNoneDelegation4 switch (WhyNoDelegation4) {
        case WhyNoDelegation4::WND4_CONTENTION => Contention(bool),
        case WhyNoDelegation4::WND4_RESOURCE => Resource(bool),
        default => Other,
    }
}
xdr_union! {
    /// `open_delegation4`.
    pub enum OpenDelegation4<'a> switch (OpenDelegationType4) {
        case OpenDelegationType4::OPEN_DELEGATE_NONE => None,
        case OpenDelegationType4::OPEN_DELEGATE_READ => Read(OpenReadDelegation4<'a>),
        case OpenDelegationType4::OPEN_DELEGATE_WRITE => Write(OpenWriteDelegation4<'a>),
        case OpenDelegationType4::OPEN_DELEGATE_NONE_EXT => NoneExt(OpenNoneDelegation4),
    }
}
xdr_struct! {
    /// OPEN result on success.
    pub struct Open4ResOk<'a> {
        pub stateid: Stateid4,
        pub cinfo: ChangeInfo4,
        pub rflags: Open4ResultFlags,
        pub attrset: Bitmap4,
        pub delegation: OpenDelegation4<'a>,
    }
}
/// OPEN result.
pub type Open4Res<'a> = NfsRes<Open4ResOk<'a>>;

// OPENATTR (19)
xdr_struct! {
    /// OPENATTR arguments.
    pub struct Openattr4Args { pub createdir: bool }
}
/// OPENATTR result.
pub type Openattr4Res = NfsStat4;

// OPEN_CONFIRM (20, 4.0 only)
xdr_struct! {
    /// OPEN_CONFIRM arguments.
    pub struct OpenConfirm4Args { pub open_stateid: Stateid4, pub seqid: Seqid4 }
}
/// OPEN_CONFIRM result (the confirmed open stateid).
pub type OpenConfirm4Res = NfsRes<Stateid4>;

// OPEN_DOWNGRADE (21)
xdr_struct! {
    /// OPEN_DOWNGRADE arguments.
    pub struct OpenDowngrade4Args {
        pub open_stateid: Stateid4,
        pub seqid: Seqid4,
        pub share_access: ShareAccess4,
        pub share_deny: ShareDeny4,
    }
}
/// OPEN_DOWNGRADE result (the new open stateid).
pub type OpenDowngrade4Res = NfsRes<Stateid4>;

// PUTFH (22), PUTPUBFH (23), PUTROOTFH (24)
xdr_struct! {
    /// PUTFH arguments.
    pub struct Putfh4Args<'a> { pub object: NfsFh4<'a> }
}
/// PUTFH result.
pub type Putfh4Res = NfsStat4;
/// PUTPUBFH result.
pub type Putpubfh4Res = NfsStat4;
/// PUTROOTFH result.
pub type Putrootfh4Res = NfsStat4;

// READ (25)
xdr_struct! {
    /// READ arguments.
    pub struct Read4Args { pub stateid: Stateid4, pub offset: Offset4, pub count: Count4 }
}
xdr_struct! {
    /// READ result on success.
    pub struct Read4ResOk<'a> { pub eof: bool, pub data: Opaque<'a> }
}
/// READ result.
pub type Read4Res<'a> = NfsRes<Read4ResOk<'a>>;

// READDIR (26)
xdr_struct! {
    /// READDIR arguments.
    pub struct Readdir4Args {
        pub cookie: NfsCookie4,
        pub cookieverf: Verifier4,
        pub dircount: Count4,
        pub maxcount: Count4,
        pub attr_request: Bitmap4,
    }
}
xdr_struct! {
    /// `entry4`: one directory entry (the `nextentry` link is the list encoding).
    pub struct Entry4<'a> {
        pub cookie: NfsCookie4,
        pub name: Component4<'a>,
        pub attrs: Fattr4<'a>,
    }
}
xdr_struct! {
    /// `dirlist4`: entries (decoded iteratively) and the eof flag.
    pub struct Dirlist4<'a> { pub entries: List<Entry4<'a>>, pub eof: bool }
}
xdr_struct! {
    /// READDIR result on success.
    pub struct Readdir4ResOk<'a> { pub cookieverf: Verifier4, pub reply: Dirlist4<'a> }
}
/// READDIR result.
pub type Readdir4Res<'a> = NfsRes<Readdir4ResOk<'a>>;

// READLINK (27)
xdr_struct! {
    /// READLINK result on success.
    pub struct Readlink4ResOk<'a> { pub link: Linktext4<'a> }
}
/// READLINK result.
pub type Readlink4Res<'a> = NfsRes<Readlink4ResOk<'a>>;

// REMOVE (28)
xdr_struct! {
    /// REMOVE arguments.
    pub struct Remove4Args<'a> { pub target: Component4<'a> }
}
xdr_struct! {
    /// REMOVE result on success.
    pub struct Remove4ResOk { pub cinfo: ChangeInfo4 }
}
/// REMOVE result.
pub type Remove4Res = NfsRes<Remove4ResOk>;

// RENAME (29)
xdr_struct! {
    /// RENAME arguments.
    pub struct Rename4Args<'a> { pub oldname: Component4<'a>, pub newname: Component4<'a> }
}
xdr_struct! {
    /// RENAME result on success.
    pub struct Rename4ResOk { pub source_cinfo: ChangeInfo4, pub target_cinfo: ChangeInfo4 }
}
/// RENAME result.
pub type Rename4Res = NfsRes<Rename4ResOk>;

// RENEW (30, 4.0 only)
xdr_struct! {
    /// RENEW arguments.
    pub struct Renew4Args { pub clientid: Clientid4 }
}
/// RENEW result.
pub type Renew4Res = NfsStat4;

// RESTOREFH (31), SAVEFH (32)
/// RESTOREFH result.
pub type Restorefh4Res = NfsStat4;
/// SAVEFH result.
pub type Savefh4Res = NfsStat4;

// SECINFO (33)
xdr_struct! {
    /// SECINFO arguments.
    pub struct Secinfo4Args<'a> { pub name: Component4<'a> }
}
xdr_struct! {
    /// `rpcsec_gss_info`.
    pub struct RpcsecGssInfo<'a> { pub oid: SecOid4<'a>, pub qop: Qop4, pub service: RpcGssSvc }
}
xdr_union! {
    /// `secinfo4`: one acceptable security flavor.
    pub enum Secinfo4<'a> switch (u32) {
        case auth_flavor::RPCSEC_GSS => RpcsecGss(RpcsecGssInfo<'a>),
        default => Flavor,
    }
}
/// SECINFO result (and SECINFO_NO_NAME's).
pub type Secinfo4Res<'a> = NfsRes<Vec<Secinfo4<'a>>>;

// SETATTR (34)
xdr_struct! {
    /// SETATTR arguments.
    pub struct Setattr4Args<'a> { pub stateid: Stateid4, pub obj_attributes: Fattr4<'a> }
}
xdr_struct! {
    /// SETATTR result: the status and, whatever it is, the attributes set.
    pub struct Setattr4Res { pub status: NfsStat4, pub attrsset: Bitmap4 }
}
impl OpStatus for Setattr4Res {
    fn status(&self) -> NfsStat4 {
        self.status
    }
}

// SETCLIENTID (35, 4.0 only)
xdr_struct! {
    /// SETCLIENTID arguments.
    pub struct Setclientid4Args<'a> {
        pub client: NfsClientId4<'a>,
        pub callback: CbClient4<'a>,
        pub callback_ident: u32,
    }
}
xdr_struct! {
    /// SETCLIENTID result on success.
    pub struct Setclientid4ResOk {
        pub clientid: Clientid4,
        pub setclientid_confirm: Verifier4,
    }
}
xdr_union! {
    /// SETCLIENTID result (with the address in use on CLID_INUSE).
    pub enum Setclientid4Res<'a> switch (NfsStat4) {
        case NfsStat4::NFS4_OK => Ok(Setclientid4ResOk),
        case NfsStat4::NFS4ERR_CLID_INUSE => ClidInuse(Clientaddr4<'a>),
        default => Fail,
    }
}

// SETCLIENTID_CONFIRM (36, 4.0 only)
xdr_struct! {
    /// SETCLIENTID_CONFIRM arguments.
    pub struct SetclientidConfirm4Args {
        pub clientid: Clientid4,
        pub setclientid_confirm: Verifier4,
    }
}
/// SETCLIENTID_CONFIRM result.
pub type SetclientidConfirm4Res = NfsStat4;

// VERIFY (37)
xdr_struct! {
    /// VERIFY arguments.
    pub struct Verify4Args<'a> { pub obj_attributes: Fattr4<'a> }
}
/// VERIFY result.
pub type Verify4Res = NfsStat4;

// WRITE (38)
xdr_struct! {
    /// WRITE arguments.
    pub struct Write4Args<'a> {
        pub stateid: Stateid4,
        pub offset: Offset4,
        pub stable: StableHow4,
        pub data: Opaque<'a>,
    }
}
xdr_struct! {
    /// WRITE result on success.
    pub struct Write4ResOk { pub count: Count4, pub committed: StableHow4, pub writeverf: Verifier4 }
}
/// WRITE result.
pub type Write4Res = NfsRes<Write4ResOk>;

// RELEASE_LOCKOWNER (39, 4.0 only)
xdr_struct! {
    /// RELEASE_LOCKOWNER arguments.
    pub struct ReleaseLockowner4Args<'a> { pub lock_owner: LockOwner4<'a> }
}
/// RELEASE_LOCKOWNER result.
pub type ReleaseLockowner4Res = NfsStat4;

/// ILLEGAL result.
pub type Illegal4Res = NfsStat4;

macro_rules! status_from_discriminant {
    ($($t:ident),*) => {$(
        impl OpStatus for $t<'_> {
            fn status(&self) -> NfsStat4 { self.discriminant() }
        }
    )*};
}
status_from_discriminant!(Lock4Res, Lockt4Res, Setclientid4Res);
