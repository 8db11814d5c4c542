//! File operations: builders of the operations a test needs to hold state
//! (and reclaim it), and readers of their results in a COMPOUND reply.
//!
//! Builders return owned [`NfsArgOp`] values to put in a vector; readers
//! take the [`Compound4Res`] and find the first result of their operation.

use analyzer::nfs4::attr::{AttrValue, Fattr4Num};
use analyzer::nfs4::{
    Bitmap4, Clientid4, Close4Args, Compound4Res, Createhow4, Creatverfattr, Delegreturn4Args,
    ExistLockOwner4, Fattr4, FsLocations4, FsLocationsInfo4, Getattr4Args, Lock4Args, Lock4Res,
    Locker4, Lockt4Args, Locku4Args, Lookup4Args, NfsArgOp, NfsLockType4, NfsOpnum4, NfsResOp,
    NfsStat4, Open4Args, Open4ResOk, OpenClaim4, OpenClaimDelegateCur4, OpenConfirm4Args,
    OpenDelegationType4, OpenToLockOwner4, Openflag4, Opentype4, Putfh4Args, Read4Args,
    Remove4Args, Renew4Args, ShareAccess4, ShareDeny4, StableHow4, StateOwner4, Stateid4,
    StateidOther, Verifier4, Write4Args, Write4ResOk,
};
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
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(lookup)
        .collect()
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
}
