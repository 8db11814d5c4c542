//! The callback program: CB_COMPOUND operations of every minor version
//! (RFC 7530 for CB_GETATTR/CB_RECALL, RFC 8881 for 4.1, RFC 7862 for
//! CB_OFFLOAD) and the CB_COMPOUND arguments and results.

use super::consts::*;
use super::ops40::OpenDelegation4;
use super::types::*;
use crate::xdr::{Reader, XdrResult};

// CB_GETATTR (3)
xdr_struct! {
    /// CB_GETATTR arguments.
    pub struct CbGetattr4Args<'a> { pub fh: NfsFh4<'a>, pub attr_request: Bitmap4 }
}
xdr_struct! {
    /// CB_GETATTR result on success.
    pub struct CbGetattr4ResOk<'a> { pub obj_attributes: Fattr4<'a> }
}
/// CB_GETATTR result.
pub type CbGetattr4Res<'a> = NfsRes<CbGetattr4ResOk<'a>>;

// CB_RECALL (4)
xdr_struct! {
    /// CB_RECALL arguments.
    pub struct CbRecall4Args<'a> { pub stateid: Stateid4, pub truncate: bool, pub fh: NfsFh4<'a> }
}
/// CB_RECALL result.
pub type CbRecall4Res = NfsStat4;

// CB_LAYOUTRECALL (5)
xdr_struct! {
    /// `layoutrecall_file4`.
    pub struct LayoutrecallFile4<'a> {
        pub lor_fh: NfsFh4<'a>,
        pub lor_offset: Offset4,
        pub lor_length: Length4,
        pub lor_stateid: Stateid4,
    }
}
xdr_union! {
    /// `layoutrecall4`: what is recalled.
    pub enum Layoutrecall4<'a> switch (LayoutRecallType4) {
        case LayoutRecallType4::LAYOUTRECALL4_FILE => File(LayoutrecallFile4<'a>),
        case LayoutRecallType4::LAYOUTRECALL4_FSID => Fsid(Fsid4),
        case LayoutRecallType4::LAYOUTRECALL4_ALL => All,
    }
}
xdr_struct! {
    /// CB_LAYOUTRECALL arguments.
    pub struct CbLayoutrecall4Args<'a> {
        pub clora_type: LayoutType4,
        pub clora_iomode: LayoutIomode4,
        pub clora_changed: bool,
        pub clora_recall: Layoutrecall4<'a>,
    }
}
/// CB_LAYOUTRECALL result.
pub type CbLayoutrecall4Res = NfsStat4;

// CB_NOTIFY (6)
xdr_struct! {
    /// `notify4`: a notification mask and its encoded values.
    pub struct Notify4<'a> { pub notify_mask: Bitmap4, pub notify_vals: crate::xdr::Opaque<'a> }
}
xdr_struct! {
    /// CB_NOTIFY arguments.
    pub struct CbNotify4Args<'a> {
        pub cna_stateid: Stateid4,
        pub cna_fh: NfsFh4<'a>,
        pub cna_changes: Vec<Notify4<'a>>,
    }
}
/// CB_NOTIFY result.
pub type CbNotify4Res = NfsStat4;

// CB_PUSH_DELEG (7)
xdr_struct! {
    /// CB_PUSH_DELEG arguments.
    pub struct CbPushDeleg4Args<'a> {
        pub cpda_fh: NfsFh4<'a>,
        pub cpda_delegation: OpenDelegation4<'a>,
    }
}
/// CB_PUSH_DELEG result.
pub type CbPushDeleg4Res = NfsStat4;

// CB_RECALL_ANY (8), CB_RECALLABLE_OBJ_AVAIL (9)
xdr_struct! {
    /// CB_RECALL_ANY arguments (also CB_RECALLABLE_OBJ_AVAIL's).
    pub struct CbRecallAny4Args { pub craa_objects_to_keep: u32, pub craa_type_mask: Bitmap4 }
}
/// CB_RECALL_ANY result.
pub type CbRecallAny4Res = NfsStat4;
/// CB_RECALLABLE_OBJ_AVAIL arguments.
pub type CbRecallableObjAvail4Args = CbRecallAny4Args;
/// CB_RECALLABLE_OBJ_AVAIL result.
pub type CbRecallableObjAvail4Res = NfsStat4;

// CB_RECALL_SLOT (10)
xdr_struct! {
    /// CB_RECALL_SLOT arguments.
    pub struct CbRecallSlot4Args { pub rsa_target_highest_slotid: Slotid4 }
}
/// CB_RECALL_SLOT result.
pub type CbRecallSlot4Res = NfsStat4;

// CB_SEQUENCE (11)
xdr_struct! {
    /// `referring_call4`.
    pub struct ReferringCall4 { pub rc_sequenceid: Sequenceid4, pub rc_slotid: Slotid4 }
}
xdr_struct! {
    /// `referring_call_list4`.
    pub struct ReferringCallList4 {
        pub rcl_sessionid: SessionId4,
        pub rcl_referring_calls: Vec<ReferringCall4>,
    }
}
xdr_struct! {
    /// CB_SEQUENCE arguments.
    pub struct CbSequence4Args {
        pub csa_sessionid: SessionId4,
        pub csa_sequenceid: Sequenceid4,
        pub csa_slotid: Slotid4,
        pub csa_highest_slotid: Slotid4,
        pub csa_cachethis: bool,
        pub csa_referring_call_lists: Vec<ReferringCallList4>,
    }
}
xdr_struct! {
    /// CB_SEQUENCE result on success.
    pub struct CbSequence4ResOk {
        pub csr_sessionid: SessionId4,
        pub csr_sequenceid: Sequenceid4,
        pub csr_slotid: Slotid4,
        pub csr_highest_slotid: Slotid4,
        pub csr_target_highest_slotid: Slotid4,
    }
}
/// CB_SEQUENCE result.
pub type CbSequence4Res = NfsRes<CbSequence4ResOk>;

// CB_WANTS_CANCELLED (12)
xdr_struct! {
    /// CB_WANTS_CANCELLED arguments.
    pub struct CbWantsCancelled4Args {
        pub cwca_contended_wants_cancelled: bool,
        pub cwca_resourced_wants_cancelled: bool,
    }
}
/// CB_WANTS_CANCELLED result.
pub type CbWantsCancelled4Res = NfsStat4;

// CB_NOTIFY_LOCK (13)
xdr_struct! {
    /// CB_NOTIFY_LOCK arguments.
    pub struct CbNotifyLock4Args<'a> { pub cnla_fh: NfsFh4<'a>, pub cnla_lock_owner: LockOwner4<'a> }
}
/// CB_NOTIFY_LOCK result.
pub type CbNotifyLock4Res = NfsStat4;

// CB_NOTIFY_DEVICEID (14)
xdr_struct! {
    /// CB_NOTIFY_DEVICEID arguments.
    pub struct CbNotifyDeviceid4Args<'a> { pub cnda_changes: Vec<Notify4<'a>> }
}
/// CB_NOTIFY_DEVICEID result.
pub type CbNotifyDeviceid4Res = NfsStat4;

// CB_OFFLOAD (15)
xdr_union! {
    /// `offload_info4`: the outcome of an asynchronous copy.
    pub enum OffloadInfo4 switch (NfsStat4) {
        case NfsStat4::NFS4_OK => Ok(WriteResponse4),
        default => BytesCopied(Length4),
    }
}
xdr_struct! {
    /// CB_OFFLOAD arguments.
    pub struct CbOffload4Args<'a> {
        pub coa_fh: NfsFh4<'a>,
        pub coa_stateid: Stateid4,
        pub coa_offload_info: OffloadInfo4,
    }
}
/// CB_OFFLOAD result.
pub type CbOffload4Res = NfsStat4;

op_table! {
    /// One operation of a CB_COMPOUND call (`nfs_cb_argop4`).
    args CbArgOp<'a>;
    /// One operation result of a CB_COMPOUND reply (`nfs_cb_resop4`).
    results CbResOp;
    /// `nfs_cb_opnum4`: callback operation numbers.
    opnum CbOpnum4;
    ops {
        3 OP_CB_GETATTR CbGetattr(CbGetattr4Args<'a>, CbGetattr4Res<'a>),
        4 OP_CB_RECALL CbRecall(CbRecall4Args<'a>, CbRecall4Res),
        5 OP_CB_LAYOUTRECALL CbLayoutrecall(CbLayoutrecall4Args<'a>, CbLayoutrecall4Res),
        6 OP_CB_NOTIFY CbNotify(CbNotify4Args<'a>, CbNotify4Res),
        7 OP_CB_PUSH_DELEG CbPushDeleg(CbPushDeleg4Args<'a>, CbPushDeleg4Res),
        8 OP_CB_RECALL_ANY CbRecallAny(CbRecallAny4Args, CbRecallAny4Res),
        9 OP_CB_RECALLABLE_OBJ_AVAIL CbRecallableObjAvail(CbRecallableObjAvail4Args, CbRecallableObjAvail4Res),
        10 OP_CB_RECALL_SLOT CbRecallSlot(CbRecallSlot4Args, CbRecallSlot4Res),
        11 OP_CB_SEQUENCE CbSequence(CbSequence4Args, CbSequence4Res),
        12 OP_CB_WANTS_CANCELLED CbWantsCancelled(CbWantsCancelled4Args, CbWantsCancelled4Res),
        13 OP_CB_NOTIFY_LOCK CbNotifyLock(CbNotifyLock4Args<'a>, CbNotifyLock4Res),
        14 OP_CB_NOTIFY_DEVICEID CbNotifyDeviceid(CbNotifyDeviceid4Args<'a>, CbNotifyDeviceid4Res),
        15 OP_CB_OFFLOAD CbOffload(CbOffload4Args<'a>, CbOffload4Res),
        10044 OP_CB_ILLEGAL CbIllegal((), NfsStat4),
    }
}

xdr_struct! {
    /// CB_COMPOUND arguments.
    pub struct CbCompound4Args<'a> {
        pub tag: Utf8StrCs<'a>,
        pub minorversion: u32,
        pub callback_ident: u32,
        pub argarray: Vec<CbArgOp<'a>>,
    }
}

xdr_struct! {
    /// CB_COMPOUND results.
    pub struct CbCompound4Res<'a> {
        pub status: NfsStat4,
        pub tag: Utf8StrCs<'a>,
        pub resarray: Vec<CbResOp<'a>>,
    }
}

impl<'a> CbCompound4Args<'a> {
    /// Decodes like `Xdr::decode` but keeps the operations decoded before a
    /// malformed or unknown one (see [`super::Partial`]).
    pub fn decode_partial(r: &mut Reader<'a>) -> XdrResult<super::Partial<Self>> {
        let tag = crate::xdr::Xdr::decode(r).map_err(|e: crate::xdr::XdrError| e.within("tag"))?;
        let minorversion = r.u32().map_err(|e| e.within("minorversion"))?;
        let callback_ident = r.u32().map_err(|e| e.within("callback_ident"))?;
        let (argarray, error) = super::decode_ops_partial(r, "argarray")?;
        Ok(super::Partial {
            value: CbCompound4Args {
                tag,
                minorversion,
                callback_ident,
                argarray,
            },
            error,
        })
    }
}

impl<'a> CbCompound4Res<'a> {
    /// Decodes like `Xdr::decode` but keeps the results decoded before a
    /// malformed or unknown one.
    pub fn decode_partial(r: &mut Reader<'a>) -> XdrResult<super::Partial<Self>> {
        let status =
            crate::xdr::Xdr::decode(r).map_err(|e: crate::xdr::XdrError| e.within("status"))?;
        let tag = crate::xdr::Xdr::decode(r).map_err(|e: crate::xdr::XdrError| e.within("tag"))?;
        let (resarray, error) = super::decode_ops_partial(r, "resarray")?;
        Ok(super::Partial {
            value: CbCompound4Res {
                status,
                tag,
                resarray,
            },
            error,
        })
    }
}
