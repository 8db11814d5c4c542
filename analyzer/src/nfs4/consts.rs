//! NFSv4 status codes, enumerations and flag sets of minor versions 0, 1
//! and 2 (RFC 7530/7531, RFC 8881/5662, RFC 7862/7863) and the extended
//! attribute extension of 4.2 (RFC 8276), with their RFC names.

xdr_enum! {
    /// `nfsstat4`: the status of an operation or a COMPOUND.
    pub enum NfsStat4 {
        NFS4_OK = 0,
        NFS4ERR_PERM = 1,
        NFS4ERR_NOENT = 2,
        NFS4ERR_IO = 5,
        NFS4ERR_NXIO = 6,
        NFS4ERR_ACCESS = 13,
        NFS4ERR_EXIST = 17,
        NFS4ERR_XDEV = 18,
        NFS4ERR_NOTDIR = 20,
        NFS4ERR_ISDIR = 21,
        NFS4ERR_INVAL = 22,
        NFS4ERR_FBIG = 27,
        NFS4ERR_NOSPC = 28,
        NFS4ERR_ROFS = 30,
        NFS4ERR_MLINK = 31,
        NFS4ERR_NAMETOOLONG = 63,
        NFS4ERR_NOTEMPTY = 66,
        NFS4ERR_DQUOT = 69,
        NFS4ERR_STALE = 70,
        NFS4ERR_BADHANDLE = 10001,
        NFS4ERR_BAD_COOKIE = 10003,
        NFS4ERR_NOTSUPP = 10004,
        NFS4ERR_TOOSMALL = 10005,
        NFS4ERR_SERVERFAULT = 10006,
        NFS4ERR_BADTYPE = 10007,
        NFS4ERR_DELAY = 10008,
        NFS4ERR_SAME = 10009,
        NFS4ERR_DENIED = 10010,
        NFS4ERR_EXPIRED = 10011,
        NFS4ERR_LOCKED = 10012,
        NFS4ERR_GRACE = 10013,
        NFS4ERR_FHEXPIRED = 10014,
        NFS4ERR_SHARE_DENIED = 10015,
        NFS4ERR_WRONGSEC = 10016,
        NFS4ERR_CLID_INUSE = 10017,
        NFS4ERR_RESOURCE = 10018,
        NFS4ERR_MOVED = 10019,
        NFS4ERR_NOFILEHANDLE = 10020,
        NFS4ERR_MINOR_VERS_MISMATCH = 10021,
        NFS4ERR_STALE_CLIENTID = 10022,
        NFS4ERR_STALE_STATEID = 10023,
        NFS4ERR_OLD_STATEID = 10024,
        NFS4ERR_BAD_STATEID = 10025,
        NFS4ERR_BAD_SEQID = 10026,
        NFS4ERR_NOT_SAME = 10027,
        NFS4ERR_LOCK_RANGE = 10028,
        NFS4ERR_SYMLINK = 10029,
        NFS4ERR_RESTOREFH = 10030,
        NFS4ERR_LEASE_MOVED = 10031,
        NFS4ERR_ATTRNOTSUPP = 10032,
        NFS4ERR_NO_GRACE = 10033,
        NFS4ERR_RECLAIM_BAD = 10034,
        NFS4ERR_RECLAIM_CONFLICT = 10035,
        NFS4ERR_BADXDR = 10036,
        NFS4ERR_LOCKS_HELD = 10037,
        NFS4ERR_OPENMODE = 10038,
        NFS4ERR_BADOWNER = 10039,
        NFS4ERR_BADCHAR = 10040,
        NFS4ERR_BADNAME = 10041,
        NFS4ERR_BAD_RANGE = 10042,
        NFS4ERR_LOCK_NOTSUPP = 10043,
        NFS4ERR_OP_ILLEGAL = 10044,
        NFS4ERR_DEADLOCK = 10045,
        NFS4ERR_FILE_OPEN = 10046,
        NFS4ERR_ADMIN_REVOKED = 10047,
        NFS4ERR_CB_PATH_DOWN = 10048,
        NFS4ERR_BADIOMODE = 10049,
        NFS4ERR_BADLAYOUT = 10050,
        NFS4ERR_BAD_SESSION_DIGEST = 10051,
        NFS4ERR_BADSESSION = 10052,
        NFS4ERR_BADSLOT = 10053,
        NFS4ERR_COMPLETE_ALREADY = 10054,
        NFS4ERR_CONN_NOT_BOUND_TO_SESSION = 10055,
        NFS4ERR_DELEG_ALREADY_WANTED = 10056,
        NFS4ERR_BACK_CHAN_BUSY = 10057,
        NFS4ERR_LAYOUTTRYLATER = 10058,
        NFS4ERR_LAYOUTUNAVAILABLE = 10059,
        NFS4ERR_NOMATCHING_LAYOUT = 10060,
        NFS4ERR_RECALLCONFLICT = 10061,
        NFS4ERR_UNKNOWN_LAYOUTTYPE = 10062,
        NFS4ERR_SEQ_MISORDERED = 10063,
        NFS4ERR_SEQUENCE_POS = 10064,
        NFS4ERR_REQ_TOO_BIG = 10065,
        NFS4ERR_REP_TOO_BIG = 10066,
        NFS4ERR_REP_TOO_BIG_TO_CACHE = 10067,
        NFS4ERR_RETRY_UNCACHED_REP = 10068,
        NFS4ERR_UNSAFE_COMPOUND = 10069,
        NFS4ERR_TOO_MANY_OPS = 10070,
        NFS4ERR_OP_NOT_IN_SESSION = 10071,
        NFS4ERR_HASH_ALG_UNSUPP = 10072,
        NFS4ERR_CLIENTID_BUSY = 10074,
        NFS4ERR_PNFS_IO_HOLE = 10075,
        NFS4ERR_SEQ_FALSE_RETRY = 10076,
        NFS4ERR_BAD_HIGH_SLOT = 10077,
        NFS4ERR_DEADSESSION = 10078,
        NFS4ERR_ENCR_ALG_UNSUPP = 10079,
        NFS4ERR_PNFS_NO_LAYOUT = 10080,
        NFS4ERR_NOT_ONLY_OP = 10081,
        NFS4ERR_WRONG_CRED = 10082,
        NFS4ERR_WRONG_TYPE = 10083,
        NFS4ERR_DIRDELEG_UNAVAIL = 10084,
        NFS4ERR_REJECT_DELEG = 10085,
        NFS4ERR_RETURNCONFLICT = 10086,
        NFS4ERR_DELEG_REVOKED = 10087,
        NFS4ERR_PARTNER_NOTSUPP = 10088,
        NFS4ERR_PARTNER_NO_AUTH = 10089,
        NFS4ERR_UNION_NOTSUPP = 10090,
        NFS4ERR_OFFLOAD_DENIED = 10091,
        NFS4ERR_WRONG_LFS = 10092,
        NFS4ERR_BADLABEL = 10093,
        NFS4ERR_OFFLOAD_NO_REQS = 10094,
        NFS4ERR_NOXATTR = 10095,
        NFS4ERR_XATTR2BIG = 10096,
    }
}

impl NfsStat4 {
    /// True for `NFS4_OK`.
    pub fn is_ok(self) -> bool {
        self == NfsStat4::NFS4_OK
    }
}

xdr_enum! {
    /// `nfs_ftype4`: file types.
    pub enum NfsFtype4 {
        NF4REG = 1,
        NF4DIR = 2,
        NF4BLK = 3,
        NF4CHR = 4,
        NF4LNK = 5,
        NF4SOCK = 6,
        NF4FIFO = 7,
        NF4ATTRDIR = 8,
        NF4NAMEDATTR = 9,
    }
}

xdr_enum! {
    /// `time_how4`: how SETATTR sets a time.
    pub enum TimeHow4 {
        SET_TO_SERVER_TIME4 = 0,
        SET_TO_CLIENT_TIME4 = 1,
    }
}

xdr_enum! {
    /// `nfs_lock_type4`: byte-range lock types.
    pub enum NfsLockType4 {
        READ_LT = 1,
        WRITE_LT = 2,
        READW_LT = 3,
        WRITEW_LT = 4,
    }
}

xdr_enum! {
    /// `layouttype4`: pNFS layout types (4 and 5 from RFC 8435 and RFC 8154).
    pub enum LayoutType4 {
        LAYOUT4_NFSV4_1_FILES = 1,
        LAYOUT4_OSD2_OBJECTS = 2,
        LAYOUT4_BLOCK_VOLUME = 3,
        LAYOUT4_FLEX_FILES = 4,
        LAYOUT4_SCSI = 5,
    }
}

xdr_enum! {
    /// `layoutiomode4`.
    pub enum LayoutIomode4 {
        LAYOUTIOMODE4_READ = 1,
        LAYOUTIOMODE4_RW = 2,
        LAYOUTIOMODE4_ANY = 3,
    }
}

xdr_enum! {
    /// `layoutreturn_type4` (also `layoutrecall_type4`, same values).
    pub enum LayoutReturnType4 {
        LAYOUTRETURN4_FILE = 1,
        LAYOUTRETURN4_FSID = 2,
        LAYOUTRETURN4_ALL = 3,
    }
}

xdr_enum! {
    /// `layoutrecall_type4`.
    pub enum LayoutRecallType4 {
        LAYOUTRECALL4_FILE = 1,
        LAYOUTRECALL4_FSID = 2,
        LAYOUTRECALL4_ALL = 3,
    }
}

xdr_enum! {
    /// `fs4_status_type`.
    pub enum Fs4StatusType {
        STATUS4_FIXED = 1,
        STATUS4_UPDATED = 2,
        STATUS4_VERSIONED = 3,
        STATUS4_WRITABLE = 4,
        STATUS4_REFERRAL = 5,
    }
}

xdr_enum! {
    /// `netloc_type4` (NFSv4.2 server-to-server copy).
    pub enum NetlocType4 {
        NL4_NAME = 1,
        NL4_URL = 2,
        NL4_NETADDR = 3,
    }
}

xdr_enum! {
    /// `change_attr_type4` (NFSv4.2).
    pub enum ChangeAttrType4 {
        NFS4_CHANGE_TYPE_IS_MONOTONIC_INCR = 0,
        NFS4_CHANGE_TYPE_IS_VERSION_COUNTER = 1,
        NFS4_CHANGE_TYPE_IS_VERSION_COUNTER_NOPNFS = 2,
        NFS4_CHANGE_TYPE_IS_TIME_METADATA = 3,
        NFS4_CHANGE_TYPE_IS_UNDEFINED = 4,
    }
}

xdr_enum! {
    /// `data_content4` (READ_PLUS, SEEK).
    pub enum DataContent4 {
        NFS4_CONTENT_DATA = 0,
        NFS4_CONTENT_HOLE = 1,
    }
}

xdr_enum! {
    /// `stable_how4`: WRITE stability.
    pub enum StableHow4 {
        UNSTABLE4 = 0,
        DATA_SYNC4 = 1,
        FILE_SYNC4 = 2,
    }
}

xdr_enum! {
    /// `createmode4`: OPEN create modes (EXCLUSIVE4_1 new in 4.1).
    pub enum Createmode4 {
        UNCHECKED4 = 0,
        GUARDED4 = 1,
        EXCLUSIVE4 = 2,
        EXCLUSIVE4_1 = 3,
    }
}

xdr_enum! {
    /// `opentype4`.
    pub enum Opentype4 {
        OPEN4_NOCREATE = 0,
        OPEN4_CREATE = 1,
    }
}

xdr_enum! {
    /// `limit_by4`: how a write delegation's space limit is expressed.
    pub enum LimitBy4 {
        NFS_LIMIT_SIZE = 1,
        NFS_LIMIT_BLOCKS = 2,
    }
}

xdr_enum! {
    /// `open_delegation_type4`.
    pub enum OpenDelegationType4 {
        OPEN_DELEGATE_NONE = 0,
        OPEN_DELEGATE_READ = 1,
        OPEN_DELEGATE_WRITE = 2,
        OPEN_DELEGATE_NONE_EXT = 3,
    }
}

xdr_enum! {
    /// `open_claim_type4`: how OPEN names the file, and whether it reclaims.
    pub enum OpenClaimType4 {
        CLAIM_NULL = 0,
        CLAIM_PREVIOUS = 1,
        CLAIM_DELEGATE_CUR = 2,
        CLAIM_DELEGATE_PREV = 3,
        CLAIM_FH = 4,
        CLAIM_DELEG_CUR_FH = 5,
        CLAIM_DELEG_PREV_FH = 6,
    }
}

impl OpenClaimType4 {
    /// True for the claim types that reclaim state held before a restart.
    pub fn is_reclaim(self) -> bool {
        matches!(
            self,
            OpenClaimType4::CLAIM_PREVIOUS
                | OpenClaimType4::CLAIM_DELEGATE_PREV
                | OpenClaimType4::CLAIM_DELEG_PREV_FH
        )
    }
}

xdr_enum! {
    /// `why_no_delegation4` (NFSv4.1).
    pub enum WhyNoDelegation4 {
        WND4_NOT_WANTED = 0,
        WND4_CONTENTION = 1,
        WND4_RESOURCE = 2,
        WND4_NOT_SUPP_FTYPE = 3,
        WND4_WRITE_DELEG_NOT_SUPP_FTYPE = 4,
        WND4_NOT_SUPP_UPGRADE = 5,
        WND4_NOT_SUPP_DOWNGRADE = 6,
        WND4_CANCELLED = 7,
        WND4_IS_DIR = 8,
    }
}

xdr_enum! {
    /// `rpc_gss_svc_t` (RFC 2203) as used by SECINFO and callback security.
    pub enum RpcGssSvc {
        RPC_GSS_SVC_NONE = 1,
        RPC_GSS_SVC_INTEGRITY = 2,
        RPC_GSS_SVC_PRIVACY = 3,
    }
}

xdr_enum! {
    /// `channel_dir_from_client4`: the direction BIND_CONN_TO_SESSION asks for.
    pub enum ChannelDirFromClient4 {
        CDFC4_FORE = 0x1,
        CDFC4_BACK = 0x2,
        CDFC4_FORE_OR_BOTH = 0x3,
        CDFC4_BACK_OR_BOTH = 0x7,
    }
}

xdr_enum! {
    /// `channel_dir_from_server4`: the direction BIND_CONN_TO_SESSION granted.
    pub enum ChannelDirFromServer4 {
        CDFS4_FORE = 0x1,
        CDFS4_BACK = 0x2,
        CDFS4_BOTH = 0x3,
    }
}

xdr_enum! {
    /// `state_protect_how4`: EXCHANGE_ID state protection.
    pub enum StateProtectHow4 {
        SP4_NONE = 0,
        SP4_MACH_CRED = 1,
        SP4_SSV = 2,
    }
}

xdr_enum! {
    /// `gddrnf4_status`: GET_DIR_DELEGATION non-fatal status.
    pub enum Gddrnf4Status {
        GDD4_OK = 0,
        GDD4_UNAVAIL = 1,
    }
}

xdr_enum! {
    /// `secinfo_style4`: SECINFO_NO_NAME's argument.
    pub enum SecinfoStyle4 {
        SECINFO_STYLE4_CURRENT_FH = 0,
        SECINFO_STYLE4_PARENT = 1,
    }
}

xdr_enum! {
    /// `IO_ADVISE_type4`: bit numbers of IO_ADVISE hints.
    pub enum IoAdviseType4 {
        IO_ADVISE4_NORMAL = 0,
        IO_ADVISE4_SEQUENTIAL = 1,
        IO_ADVISE4_SEQUENTIAL_BACKWARDS = 2,
        IO_ADVISE4_RANDOM = 3,
        IO_ADVISE4_WILLNEED = 4,
        IO_ADVISE4_WILLNEED_OPPORTUNISTIC = 5,
        IO_ADVISE4_DONTNEED = 6,
        IO_ADVISE4_NOREUSE = 7,
        IO_ADVISE4_READ = 8,
        IO_ADVISE4_WRITE = 9,
        IO_ADVISE4_INIT_PROXIMITY = 10,
    }
}

xdr_enum! {
    /// `notify_type4`: bit numbers of directory notifications (CB_NOTIFY).
    pub enum NotifyType4 {
        NOTIFY4_CHANGE_CHILD_ATTRS = 0,
        NOTIFY4_CHANGE_DIR_ATTRS = 1,
        NOTIFY4_REMOVE_ENTRY = 2,
        NOTIFY4_ADD_ENTRY = 3,
        NOTIFY4_RENAME_ENTRY = 4,
        NOTIFY4_CHANGE_COOKIE_VERIFIER = 5,
    }
}

xdr_enum! {
    /// `notify_deviceid_type4`: bit numbers of device notifications.
    pub enum NotifyDeviceidType4 {
        NOTIFY_DEVICEID4_CHANGE = 1,
        NOTIFY_DEVICEID4_DELETE = 2,
    }
}

xdr_enum! {
    /// `setxattr_option4` (RFC 8276).
    pub enum SetxattrOption4 {
        SETXATTR4_EITHER = 0,
        SETXATTR4_CREATE = 1,
        SETXATTR4_REPLACE = 2,
    }
}

/// Security flavor numbers used by SECINFO and callback security parameters.
pub mod auth_flavor {
    /// No authentication.
    pub const AUTH_NONE: u32 = 0;
    /// AUTH_SYS (uid/gid).
    pub const AUTH_SYS: u32 = 1;
    /// RPCSEC_GSS (RFC 2203).
    pub const RPCSEC_GSS: u32 = 6;
}

xdr_flags! {
    /// `eia_flags` / `eir_flags` of EXCHANGE_ID.
    pub struct ExchgId4Flags {
        SUPP_MOVED_REFER = 0x0000_0001,
        SUPP_MOVED_MIGR = 0x0000_0002,
        SUPP_FENCE_OPS = 0x0000_0004,
        BIND_PRINC_STATEID = 0x0000_0100,
        USE_NON_PNFS = 0x0001_0000,
        USE_PNFS_MDS = 0x0002_0000,
        USE_PNFS_DS = 0x0004_0000,
        UPD_CONFIRMED_REC_A = 0x4000_0000,
        CONFIRMED_R = 0x8000_0000,
    }
}

impl ExchgId4Flags {
    /// `EXCHGID4_FLAG_MASK_PNFS`: the pNFS role bits.
    pub const MASK_PNFS: Self = Self(0x0007_0000);
}

xdr_flags! {
    /// `csa_flags` / `csr_flags` of CREATE_SESSION.
    pub struct CreateSession4Flags {
        PERSIST = 0x1,
        CONN_BACK_CHAN = 0x2,
        CONN_RDMA = 0x4,
    }
}

xdr_flags! {
    /// `sr_status_flags` of SEQUENCE.
    pub struct Seq4Status {
        CB_PATH_DOWN = 0x0000_0001,
        CB_GSS_CONTEXTS_EXPIRING = 0x0000_0002,
        CB_GSS_CONTEXTS_EXPIRED = 0x0000_0004,
        EXPIRED_ALL_STATE_REVOKED = 0x0000_0008,
        EXPIRED_SOME_STATE_REVOKED = 0x0000_0010,
        ADMIN_STATE_REVOKED = 0x0000_0020,
        RECALLABLE_STATE_REVOKED = 0x0000_0040,
        LEASE_MOVED = 0x0000_0080,
        RESTART_RECLAIM_NEEDED = 0x0000_0100,
        CB_PATH_DOWN_SESSION = 0x0000_0200,
        BACKCHANNEL_FAULT = 0x0000_0400,
        DEVID_CHANGED = 0x0000_0800,
        DEVID_DELETED = 0x0000_1000,
    }
}

xdr_flags! {
    /// ACCESS bits (`ACCESS4_*`), plus the xattr bits of RFC 8276.
    pub struct Access4 {
        READ = 0x01,
        LOOKUP = 0x02,
        MODIFY = 0x04,
        EXTEND = 0x08,
        DELETE = 0x10,
        EXECUTE = 0x20,
        XAREAD = 0x40,
        XAWRITE = 0x80,
        XALIST = 0x100,
    }
}

xdr_flags! {
    /// OPEN `share_access`: the access bits and the two 4.1 signal bits. The
    /// second byte is the 4.1 delegation want, a value rather than bits
    /// (see [`ShareAccess4::want`]); it prints as hex.
    pub struct ShareAccess4 {
        READ = 0x1,
        WRITE = 0x2,
        WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL = 0x1_0000,
        WANT_PUSH_DELEG_WHEN_UNCONTENDED = 0x2_0000,
    }
}

impl ShareAccess4 {
    /// `OPEN4_SHARE_ACCESS_WANT_DELEG_MASK`.
    pub const WANT_DELEG_MASK: u32 = 0xff00;
    /// The delegation want (`OPEN4_SHARE_ACCESS_WANT_*`): 0 no preference,
    /// 0x100 read, 0x200 write, 0x300 any, 0x400 none, 0x500 cancel.
    pub fn want(self) -> u32 {
        self.0 & Self::WANT_DELEG_MASK
    }
}

xdr_flags! {
    /// OPEN `share_deny`.
    pub struct ShareDeny4 {
        READ = 0x1,
        WRITE = 0x2,
    }
}

xdr_flags! {
    /// OPEN result flags (`rflags`).
    pub struct Open4ResultFlags {
        CONFIRM = 0x02,
        LOCKTYPE_POSIX = 0x04,
        PRESERVE_UNLINKED = 0x08,
        MAY_NOTIFY_LOCK = 0x20,
    }
}
