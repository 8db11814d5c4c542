//! The NFS program's COMPOUND procedure: every operation of NFSv4.0, 4.1,
//! 4.2 and RFC 8276 in one table, and the COMPOUND arguments and results.

use super::consts::*;
use super::ops40::*;
use super::ops41::*;
use super::ops42::*;
use super::types::*;
use super::{decode_ops_partial, Partial};
use crate::xdr::{Reader, Xdr, XdrError, XdrResult};

/// The ONC RPC program number of NFS.
pub const NFS4_PROGRAM: u32 = 100003;
/// The NFS version this crate decodes.
pub const NFS_V4: u32 = 4;
/// `NFSPROC4_NULL`.
pub const NFSPROC4_NULL: u32 = 0;
/// `NFSPROC4_COMPOUND`.
pub const NFSPROC4_COMPOUND: u32 = 1;
/// The conventional callback program number (clients choose their own).
pub const NFS4_CALLBACK: u32 = 0x4000_0000;
/// `CB_NULL`.
pub const CB_NULL: u32 = 0;
/// `CB_COMPOUND`.
pub const CB_COMPOUND: u32 = 1;

op_table! {
    /// One operation of a COMPOUND call (`nfs_argop4`).
    args NfsArgOp<'a>;
    /// One operation result of a COMPOUND reply (`nfs_resop4`).
    results NfsResOp;
    /// `nfs_opnum4`: operation numbers of all minor versions.
    opnum NfsOpnum4;
    ops {
        3 OP_ACCESS Access(Access4Args, Access4Res),
        4 OP_CLOSE Close(Close4Args, Close4Res),
        5 OP_COMMIT Commit(Commit4Args, Commit4Res),
        6 OP_CREATE Create(Create4Args<'a>, Create4Res),
        7 OP_DELEGPURGE Delegpurge(Delegpurge4Args, Delegpurge4Res),
        8 OP_DELEGRETURN Delegreturn(Delegreturn4Args, Delegreturn4Res),
        9 OP_GETATTR Getattr(Getattr4Args, Getattr4Res<'a>),
        10 OP_GETFH Getfh((), Getfh4Res<'a>),
        11 OP_LINK Link(Link4Args<'a>, Link4Res),
        12 OP_LOCK Lock(Lock4Args<'a>, Lock4Res<'a>),
        13 OP_LOCKT Lockt(Lockt4Args<'a>, Lockt4Res<'a>),
        14 OP_LOCKU Locku(Locku4Args, Locku4Res),
        15 OP_LOOKUP Lookup(Lookup4Args<'a>, Lookup4Res),
        16 OP_LOOKUPP Lookupp((), Lookupp4Res),
        17 OP_NVERIFY Nverify(Nverify4Args<'a>, Nverify4Res),
        18 OP_OPEN Open(Open4Args<'a>, Open4Res<'a>),
        19 OP_OPENATTR Openattr(Openattr4Args, Openattr4Res),
        20 OP_OPEN_CONFIRM OpenConfirm(OpenConfirm4Args, OpenConfirm4Res),
        21 OP_OPEN_DOWNGRADE OpenDowngrade(OpenDowngrade4Args, OpenDowngrade4Res),
        22 OP_PUTFH Putfh(Putfh4Args<'a>, Putfh4Res),
        23 OP_PUTPUBFH Putpubfh((), Putpubfh4Res),
        24 OP_PUTROOTFH Putrootfh((), Putrootfh4Res),
        25 OP_READ Read(Read4Args, Read4Res<'a>),
        26 OP_READDIR Readdir(Readdir4Args, Readdir4Res<'a>),
        27 OP_READLINK Readlink((), Readlink4Res<'a>),
        28 OP_REMOVE Remove(Remove4Args<'a>, Remove4Res),
        29 OP_RENAME Rename(Rename4Args<'a>, Rename4Res),
        30 OP_RENEW Renew(Renew4Args, Renew4Res),
        31 OP_RESTOREFH Restorefh((), Restorefh4Res),
        32 OP_SAVEFH Savefh((), Savefh4Res),
        33 OP_SECINFO Secinfo(Secinfo4Args<'a>, Secinfo4Res<'a>),
        34 OP_SETATTR Setattr(Setattr4Args<'a>, Setattr4Res),
        35 OP_SETCLIENTID Setclientid(Setclientid4Args<'a>, Setclientid4Res<'a>),
        36 OP_SETCLIENTID_CONFIRM SetclientidConfirm(SetclientidConfirm4Args, SetclientidConfirm4Res),
        37 OP_VERIFY Verify(Verify4Args<'a>, Verify4Res),
        38 OP_WRITE Write(Write4Args<'a>, Write4Res),
        39 OP_RELEASE_LOCKOWNER ReleaseLockowner(ReleaseLockowner4Args<'a>, ReleaseLockowner4Res),
        40 OP_BACKCHANNEL_CTL BackchannelCtl(BackchannelCtl4Args<'a>, BackchannelCtl4Res),
        41 OP_BIND_CONN_TO_SESSION BindConnToSession(BindConnToSession4Args, BindConnToSession4Res),
        42 OP_EXCHANGE_ID ExchangeId(ExchangeId4Args<'a>, ExchangeId4Res<'a>),
        43 OP_CREATE_SESSION CreateSession(CreateSession4Args<'a>, CreateSession4Res),
        44 OP_DESTROY_SESSION DestroySession(DestroySession4Args, DestroySession4Res),
        45 OP_FREE_STATEID FreeStateid(FreeStateid4Args, FreeStateid4Res),
        46 OP_GET_DIR_DELEGATION GetDirDelegation(GetDirDelegation4Args, GetDirDelegation4Res),
        47 OP_GETDEVICEINFO Getdeviceinfo(Getdeviceinfo4Args, Getdeviceinfo4Res<'a>),
        48 OP_GETDEVICELIST Getdevicelist(Getdevicelist4Args, Getdevicelist4Res),
        49 OP_LAYOUTCOMMIT Layoutcommit(Layoutcommit4Args<'a>, Layoutcommit4Res),
        50 OP_LAYOUTGET Layoutget(Layoutget4Args, Layoutget4Res<'a>),
        51 OP_LAYOUTRETURN Layoutreturn(Layoutreturn4Args<'a>, Layoutreturn4Res),
        52 OP_SECINFO_NO_NAME SecinfoNoName(SecinfoNoName4Args, SecinfoNoName4Res<'a>),
        53 OP_SEQUENCE Sequence(Sequence4Args, Sequence4Res),
        54 OP_SET_SSV SetSsv(SetSsv4Args<'a>, SetSsv4Res<'a>),
        55 OP_TEST_STATEID TestStateid(TestStateid4Args, TestStateid4Res),
        56 OP_WANT_DELEGATION WantDelegation(WantDelegation4Args, WantDelegation4Res<'a>),
        57 OP_DESTROY_CLIENTID DestroyClientid(DestroyClientid4Args, DestroyClientid4Res),
        58 OP_RECLAIM_COMPLETE ReclaimComplete(ReclaimComplete4Args, ReclaimComplete4Res),
        59 OP_ALLOCATE Allocate(Allocate4Args, Allocate4Res),
        60 OP_COPY Copy(Copy4Args<'a>, Copy4Res),
        61 OP_COPY_NOTIFY CopyNotify(CopyNotify4Args<'a>, CopyNotify4Res<'a>),
        62 OP_DEALLOCATE Deallocate(Deallocate4Args, Deallocate4Res),
        63 OP_IO_ADVISE IoAdvise(IoAdvise4Args, IoAdvise4Res),
        64 OP_LAYOUTERROR Layouterror(Layouterror4Args, Layouterror4Res),
        65 OP_LAYOUTSTATS Layoutstats(Layoutstats4Args<'a>, Layoutstats4Res),
        66 OP_OFFLOAD_CANCEL OffloadCancel(OffloadCancel4Args, OffloadCancel4Res),
        67 OP_OFFLOAD_STATUS OffloadStatus(OffloadStatus4Args, OffloadStatus4Res),
        68 OP_READ_PLUS ReadPlus(ReadPlus4Args, ReadPlus4Res<'a>),
        69 OP_SEEK Seek(Seek4Args, Seek4Res),
        70 OP_WRITE_SAME WriteSame(WriteSame4Args<'a>, WriteSame4Res),
        71 OP_CLONE Clone(Clone4Args, Clone4Res),
        72 OP_GETXATTR Getxattr(Getxattr4Args<'a>, Getxattr4Res<'a>),
        73 OP_SETXATTR Setxattr(Setxattr4Args<'a>, Setxattr4Res),
        74 OP_LISTXATTRS Listxattrs(Listxattrs4Args, Listxattrs4Res<'a>),
        75 OP_REMOVEXATTR Removexattr(Removexattr4Args<'a>, Removexattr4Res),
        10044 OP_ILLEGAL Illegal((), Illegal4Res),
    }
}

impl NfsOpnum4 {
    /// The first minor version that defines this operation (0, 1 or 2), or
    /// `None` for numbers no minor version defines. OPEN_CONFIRM, RENEW,
    /// SETCLIENTID, SETCLIENTID_CONFIRM and RELEASE_LOCKOWNER are 4.0-only
    /// (RFC 8881 marks them "MUST NOT implement"); see [`NfsOpnum4::is_v40_only`].
    pub fn since_minor(self) -> Option<u32> {
        match self.0 {
            3..=39 | 10044 => Some(0),
            40..=58 => Some(1),
            59..=75 => Some(2),
            _ => None,
        }
    }

    /// True for the operations NFSv4.1 and later forbid.
    pub fn is_v40_only(self) -> bool {
        matches!(
            self,
            NfsOpnum4::OP_OPEN_CONFIRM
                | NfsOpnum4::OP_RENEW
                | NfsOpnum4::OP_SETCLIENTID
                | NfsOpnum4::OP_SETCLIENTID_CONFIRM
                | NfsOpnum4::OP_RELEASE_LOCKOWNER
        )
    }
}

xdr_struct! {
    /// COMPOUND arguments.
    pub struct Compound4Args<'a> {
        pub tag: Utf8StrCs<'a>,
        pub minorversion: u32,
        pub argarray: Vec<NfsArgOp<'a>>,
    }
}

xdr_struct! {
    /// COMPOUND results.
    pub struct Compound4Res<'a> {
        pub status: NfsStat4,
        pub tag: Utf8StrCs<'a>,
        pub resarray: Vec<NfsResOp<'a>>,
    }
}

impl<'a> Compound4Args<'a> {
    /// Decodes like `Xdr::decode`, but an unknown or malformed operation
    /// ends the array without losing the operations decoded before it; the
    /// error is returned beside them. Only an unreadable header is an `Err`.
    pub fn decode_partial(r: &mut Reader<'a>) -> XdrResult<Partial<Self>> {
        let tag = Xdr::decode(r).map_err(|e: XdrError| e.within("tag"))?;
        let minorversion = r.u32().map_err(|e| e.within("minorversion"))?;
        let (argarray, error) = decode_ops_partial(r, "argarray")?;
        Ok(Partial {
            value: Compound4Args {
                tag,
                minorversion,
                argarray,
            },
            error,
        })
    }
}

impl<'a> Compound4Res<'a> {
    /// Decodes like `Xdr::decode`, keeping the results decoded before an
    /// unknown or malformed one.
    pub fn decode_partial(r: &mut Reader<'a>) -> XdrResult<Partial<Self>> {
        let status = Xdr::decode(r).map_err(|e: XdrError| e.within("status"))?;
        let tag = Xdr::decode(r).map_err(|e: XdrError| e.within("tag"))?;
        let (resarray, error) = decode_ops_partial(r, "resarray")?;
        Ok(Partial {
            value: Compound4Res {
                status,
                tag,
                resarray,
            },
            error,
        })
    }
}
