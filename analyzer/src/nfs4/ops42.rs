//! Arguments and results of the operations new in NFSv4.2 (op numbers 59–71,
//! RFC 7862/7863) and of the extended-attribute operations (72–75, RFC 8276).

use super::consts::*;
use super::types::*;
use crate::xdr::Opaque;

// ALLOCATE (59)
xdr_struct! {
    /// ALLOCATE arguments.
    pub struct Allocate4Args { pub aa_stateid: Stateid4, pub aa_offset: Offset4, pub aa_length: Length4 }
}
/// ALLOCATE result.
pub type Allocate4Res = NfsStat4;

// COPY (60)
xdr_struct! {
    /// COPY arguments.
    pub struct Copy4Args<'a> {
        pub ca_src_stateid: Stateid4,
        pub ca_dst_stateid: Stateid4,
        pub ca_src_offset: Offset4,
        pub ca_dst_offset: Offset4,
        pub ca_count: Length4,
        pub ca_consecutive: bool,
        pub ca_synchronous: bool,
        pub ca_source_server: Vec<Netloc4<'a>>,
    }
}
xdr_struct! {
    /// `copy_requirements4`.
    pub struct CopyRequirements4 { pub cr_consecutive: bool, pub cr_synchronous: bool }
}
xdr_struct! {
    /// COPY result on success.
    pub struct Copy4ResOk { pub cr_response: WriteResponse4, pub cr_requirements: CopyRequirements4 }
}
xdr_union! {
    /// COPY result (the requirements not met on OFFLOAD_NO_REQS).
    pub enum Copy4Res switch (NfsStat4) {
        case NfsStat4::NFS4_OK => Ok(Copy4ResOk),
        case NfsStat4::NFS4ERR_OFFLOAD_NO_REQS => OffloadNoReqs(CopyRequirements4),
        default => Fail,
    }
}

// COPY_NOTIFY (61)
xdr_struct! {
    /// COPY_NOTIFY arguments.
    pub struct CopyNotify4Args<'a> {
        pub cna_src_stateid: Stateid4,
        pub cna_destination_server: Netloc4<'a>,
    }
}
xdr_struct! {
    /// COPY_NOTIFY result on success.
    pub struct CopyNotify4ResOk<'a> {
        pub cnr_lease_time: Nfstime4,
        pub cnr_stateid: Stateid4,
        pub cnr_source_server: Vec<Netloc4<'a>>,
    }
}
/// COPY_NOTIFY result.
pub type CopyNotify4Res<'a> = NfsRes<CopyNotify4ResOk<'a>>;

// DEALLOCATE (62)
xdr_struct! {
    /// DEALLOCATE arguments.
    pub struct Deallocate4Args { pub da_stateid: Stateid4, pub da_offset: Offset4, pub da_length: Length4 }
}
/// DEALLOCATE result.
pub type Deallocate4Res = NfsStat4;

// IO_ADVISE (63)
xdr_struct! {
    /// IO_ADVISE arguments (hints are bit numbers of `IoAdviseType4`).
    pub struct IoAdvise4Args {
        pub iaa_stateid: Stateid4,
        pub iaa_offset: Offset4,
        pub iaa_count: Length4,
        pub iaa_hints: Bitmap4,
    }
}
xdr_struct! {
    /// IO_ADVISE result on success.
    pub struct IoAdvise4ResOk { pub ior_hints: Bitmap4 }
}
/// IO_ADVISE result.
pub type IoAdvise4Res = NfsRes<IoAdvise4ResOk>;

// LAYOUTERROR (64)
xdr_struct! {
    /// `device_error4`.
    pub struct DeviceError4 {
        pub de_deviceid: DeviceId4,
        pub de_status: NfsStat4,
        pub de_opnum: u32,
    }
}
xdr_struct! {
    /// LAYOUTERROR arguments.
    pub struct Layouterror4Args {
        pub lea_offset: Offset4,
        pub lea_length: Length4,
        pub lea_stateid: Stateid4,
        pub lea_errors: Vec<DeviceError4>,
    }
}
/// LAYOUTERROR result.
pub type Layouterror4Res = NfsStat4;

// LAYOUTSTATS (65)
xdr_struct! {
    /// `io_info4`.
    pub struct IoInfo4 { pub ii_count: u64, pub ii_bytes: u64 }
}
xdr_struct! {
    /// LAYOUTSTATS arguments.
    pub struct Layoutstats4Args<'a> {
        pub lsa_offset: Offset4,
        pub lsa_length: Length4,
        pub lsa_stateid: Stateid4,
        pub lsa_read: IoInfo4,
        pub lsa_write: IoInfo4,
        pub lsa_deviceid: DeviceId4,
        pub lsa_layoutupdate: Layoutupdate4<'a>,
    }
}
/// LAYOUTSTATS result.
pub type Layoutstats4Res = NfsStat4;

// OFFLOAD_CANCEL (66)
xdr_struct! {
    /// OFFLOAD_CANCEL arguments.
    pub struct OffloadCancel4Args { pub oca_stateid: Stateid4 }
}
/// OFFLOAD_CANCEL result.
pub type OffloadCancel4Res = NfsStat4;

// OFFLOAD_STATUS (67)
xdr_struct! {
    /// OFFLOAD_STATUS arguments.
    pub struct OffloadStatus4Args { pub osa_stateid: Stateid4 }
}
xdr_struct! {
    /// OFFLOAD_STATUS result on success.
    pub struct OffloadStatus4ResOk { pub osr_count: Length4, pub osr_complete: Vec<NfsStat4> }
}
/// OFFLOAD_STATUS result.
pub type OffloadStatus4Res = NfsRes<OffloadStatus4ResOk>;

// READ_PLUS (68)
xdr_struct! {
    /// READ_PLUS arguments.
    pub struct ReadPlus4Args { pub rpa_stateid: Stateid4, pub rpa_offset: Offset4, pub rpa_count: Count4 }
}
xdr_union! {
    /// `read_plus_content`: a data segment or a hole.
    pub enum ReadPlusContent<'a> switch (DataContent4) {
        case DataContent4::NFS4_CONTENT_DATA => Data(Data4<'a>),
        case DataContent4::NFS4_CONTENT_HOLE => Hole(DataInfo4),
        default => Other,
    }
}
xdr_struct! {
    /// `read_plus_res4`.
    pub struct ReadPlusRes4<'a> { pub rpr_eof: bool, pub rpr_contents: Vec<ReadPlusContent<'a>> }
}
/// READ_PLUS result.
pub type ReadPlus4Res<'a> = NfsRes<ReadPlusRes4<'a>>;

// SEEK (69)
xdr_struct! {
    /// SEEK arguments.
    pub struct Seek4Args { pub sa_stateid: Stateid4, pub sa_offset: Offset4, pub sa_what: DataContent4 }
}
xdr_struct! {
    /// `seek_res4`.
    pub struct SeekRes4 { pub sr_eof: bool, pub sr_offset: Offset4 }
}
/// SEEK result.
pub type Seek4Res = NfsRes<SeekRes4>;

// WRITE_SAME (70)
xdr_struct! {
    /// WRITE_SAME arguments.
    pub struct WriteSame4Args<'a> {
        pub wsa_stateid: Stateid4,
        pub wsa_stable: StableHow4,
        pub wsa_adb: AppDataBlock4<'a>,
    }
}
/// WRITE_SAME result.
pub type WriteSame4Res = NfsRes<WriteResponse4>;

// CLONE (71)
xdr_struct! {
    /// CLONE arguments.
    pub struct Clone4Args {
        pub cl_src_stateid: Stateid4,
        pub cl_dst_stateid: Stateid4,
        pub cl_src_offset: Offset4,
        pub cl_dst_offset: Offset4,
        pub cl_count: Length4,
    }
}
/// CLONE result.
pub type Clone4Res = NfsStat4;

// GETXATTR (72, RFC 8276)
/// `xattrkey4`: an extended attribute name.
pub type Xattrkey4<'a> = Component4<'a>;
/// `xattrvalue4`: an extended attribute value.
pub type Xattrvalue4<'a> = Opaque<'a>;
xdr_struct! {
    /// GETXATTR arguments.
    pub struct Getxattr4Args<'a> { pub gxa_name: Xattrkey4<'a> }
}
/// GETXATTR result (the value on success).
pub type Getxattr4Res<'a> = NfsRes<Xattrvalue4<'a>>;

// SETXATTR (73)
xdr_struct! {
    /// SETXATTR arguments.
    pub struct Setxattr4Args<'a> {
        pub sxa_option: SetxattrOption4,
        pub sxa_key: Xattrkey4<'a>,
        pub sxa_value: Xattrvalue4<'a>,
    }
}
/// SETXATTR result (directory-style change info on success).
pub type Setxattr4Res = NfsRes<ChangeInfo4>;

// LISTXATTRS (74)
xdr_struct! {
    /// LISTXATTRS arguments.
    pub struct Listxattrs4Args { pub lxa_cookie: NfsCookie4, pub lxa_maxcount: Count4 }
}
xdr_struct! {
    /// LISTXATTRS result on success.
    pub struct Listxattrs4ResOk<'a> {
        pub lxr_cookie: NfsCookie4,
        pub lxr_names: Vec<Xattrkey4<'a>>,
        pub lxr_eof: bool,
    }
}
/// LISTXATTRS result.
pub type Listxattrs4Res<'a> = NfsRes<Listxattrs4ResOk<'a>>;

// REMOVEXATTR (75)
xdr_struct! {
    /// REMOVEXATTR arguments.
    pub struct Removexattr4Args<'a> { pub rxa_name: Xattrkey4<'a> }
}
/// REMOVEXATTR result.
pub type Removexattr4Res = NfsRes<ChangeInfo4>;

impl OpStatus for Copy4Res {
    fn status(&self) -> NfsStat4 {
        self.discriminant()
    }
}
