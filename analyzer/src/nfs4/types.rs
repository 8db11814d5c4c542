//! Basic NFSv4 data types shared by the operations: identifiers, owners,
//! stateids, file handles, times, attributes containers, layouts.

use super::consts::*;
use crate::xdr::{IntoStatic, JsonOut, Opaque, Reader, ToJson, Writer, Xdr, XdrResult};
use std::fmt;

/// `clientid4`: a client ID, meaningful only within one server scope and
/// major id. Prints as hexadecimal, as tshark shows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Clientid4(pub u64);

impl fmt::Debug for Clientid4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl fmt::Display for Clientid4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl<'a> Xdr<'a> for Clientid4 {
    const MIN_SIZE: usize = 8;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        Ok(Clientid4(r.u64()?))
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_u64(self.0)
    }
}

impl IntoStatic for Clientid4 {
    type Static = Clientid4;
    fn into_static(self) -> Self {
        self
    }
}

impl ToJson for Clientid4 {
    fn to_json(&self, out: &mut JsonOut) {
        out.string(&self.to_string())
    }
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'u> arbitrary::Arbitrary<'u> for Clientid4 {
    fn arbitrary(u: &mut arbitrary::Unstructured<'u>) -> arbitrary::Result<Self> {
        Ok(Clientid4(u.arbitrary()?))
    }
}

/// `sequenceid4`.
pub type Sequenceid4 = u32;
/// `seqid4` (NFSv4.0 open/lock sequence ids).
pub type Seqid4 = u32;
/// `slotid4`.
pub type Slotid4 = u32;
/// `count4`.
pub type Count4 = u32;
/// `length4`.
pub type Length4 = u64;
/// `offset4`.
pub type Offset4 = u64;
/// `changeid4`.
pub type Changeid4 = u64;
/// `nfs_cookie4`.
pub type NfsCookie4 = u64;
/// `mode4`.
pub type Mode4 = u32;
/// `qop4`.
pub type Qop4 = u32;
/// `nfs_lease4`: lease time in seconds.
pub type NfsLease4 = u32;
/// `nfs_fh4`: a file handle (at most 128 bytes by the RFC; not enforced when decoding).
pub type NfsFh4<'a> = Opaque<'a>;
/// `utf8str_cs`: a case-sensitive UTF-8 string (kept as bytes).
pub type Utf8StrCs<'a> = Opaque<'a>;
/// `utf8str_cis`: a case-insensitive UTF-8 string (kept as bytes).
pub type Utf8StrCis<'a> = Opaque<'a>;
/// `utf8str_mixed`: user@domain style strings (kept as bytes).
pub type Utf8StrMixed<'a> = Opaque<'a>;
/// `component4`: one path component.
pub type Component4<'a> = Opaque<'a>;
/// `linktext4`: symbolic link contents.
pub type Linktext4<'a> = Opaque<'a>;
/// `pathname4`: a path as components.
pub type Pathname4<'a> = Vec<Component4<'a>>;
/// `sec_oid4`: a GSS mechanism OID.
pub type SecOid4<'a> = Opaque<'a>;
/// `attrlist4`: encoded attribute values.
pub type Attrlist4<'a> = Opaque<'a>;
/// `gsshandle4_t`.
pub type Gsshandle4<'a> = Opaque<'a>;

xdr_fixed_opaque! {
    /// `verifier4`: an 8-byte verifier (client incarnation, write verifier, cookie verifier).
    pub struct Verifier4([u8; 8]);
}

xdr_fixed_opaque! {
    /// `sessionid4`: a 16-byte session id.
    pub struct SessionId4([u8; 16]);
}

xdr_fixed_opaque! {
    /// `deviceid4`: a 16-byte pNFS device id.
    pub struct DeviceId4([u8; 16]);
}

xdr_fixed_opaque! {
    /// The 12-byte `other` part of a stateid.
    pub struct StateidOther([u8; 12]);
}

/// `bitmap4`: a variable-length bit set (attributes, notifications, ops).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bitmap4(pub Vec<u32>);

impl Bitmap4 {
    /// A bitmap with the given bits set.
    pub fn from_bits(bits: &[u32]) -> Self {
        let mut b = Bitmap4::default();
        for &n in bits {
            b.set(n);
        }
        b
    }

    /// True when bit `n` is set.
    pub fn is_set(&self, n: u32) -> bool {
        self.0
            .get((n / 32) as usize)
            .is_some_and(|w| w & (1 << (n % 32)) != 0)
    }

    /// Sets bit `n` (growing the bitmap as needed; `n` is a small protocol number).
    pub fn set(&mut self, n: u32) {
        let word = (n / 32) as usize;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (n % 32);
    }

    /// The set bits in increasing order.
    pub fn bits(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            (0..32u32)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i as u32 * 32 + b)
        })
    }

    /// True when no bit is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

impl fmt::Debug for Bitmap4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.bits()).finish()
    }
}

impl<'a> Xdr<'a> for Bitmap4 {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        Ok(Bitmap4(Vec::<u32>::decode(r)?))
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        self.0.encode(w)
    }
}

impl IntoStatic for Bitmap4 {
    type Static = Bitmap4;
    fn into_static(self) -> Self {
        self
    }
}

impl ToJson for Bitmap4 {
    fn to_json(&self, out: &mut JsonOut) {
        out.begin_array();
        for b in self.bits() {
            out.number(b);
        }
        out.end_array();
    }
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'u> arbitrary::Arbitrary<'u> for Bitmap4 {
    fn arbitrary(u: &mut arbitrary::Unstructured<'u>) -> arbitrary::Result<Self> {
        Ok(Bitmap4(u.arbitrary()?))
    }
}

/// The result of most operations: `NFS4_OK` with a value, or an error status
/// with nothing (`union switch (nfsstat4 status) { case NFS4_OK: T; default: void; }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NfsRes<T> {
    /// NFS4_OK and the result.
    Ok(T),
    /// Any other status.
    Fail(NfsStat4),
}

impl<T> NfsRes<T> {
    /// The status.
    pub fn status(&self) -> NfsStat4 {
        match self {
            NfsRes::Ok(_) => NfsStat4::NFS4_OK,
            NfsRes::Fail(s) => *s,
        }
    }

    /// The value on success.
    pub fn ok(&self) -> Option<&T> {
        match self {
            NfsRes::Ok(v) => Some(v),
            NfsRes::Fail(_) => None,
        }
    }
}

impl<'a, T: Xdr<'a>> Xdr<'a> for NfsRes<T> {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        let s = NfsStat4::decode(r)?;
        if s.is_ok() {
            Ok(NfsRes::Ok(T::decode(r).map_err(|e| e.within("resok4"))?))
        } else {
            Ok(NfsRes::Fail(s))
        }
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        match self {
            NfsRes::Ok(v) => {
                w.put_u32(0);
                v.encode(w);
            }
            NfsRes::Fail(s) => s.encode(w),
        }
    }
}

impl<T: IntoStatic> IntoStatic for NfsRes<T> {
    type Static = NfsRes<T::Static>;
    fn into_static(self) -> Self::Static {
        match self {
            NfsRes::Ok(v) => NfsRes::Ok(v.into_static()),
            NfsRes::Fail(s) => NfsRes::Fail(s),
        }
    }
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'u, T: arbitrary::Arbitrary<'u>> arbitrary::Arbitrary<'u> for NfsRes<T> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'u>) -> arbitrary::Result<Self> {
        if u.arbitrary()? {
            Ok(NfsRes::Ok(u.arbitrary()?))
        } else {
            let s: NfsStat4 = u.arbitrary()?;
            Ok(NfsRes::Fail(if s.is_ok() {
                NfsStat4::NFS4ERR_INVAL
            } else {
                s
            }))
        }
    }
}

/// The value on success; `null` on failure (the status is shown beside it).
impl<T: ToJson> ToJson for NfsRes<T> {
    fn to_json(&self, out: &mut JsonOut) {
        match self {
            NfsRes::Ok(v) => v.to_json(out),
            NfsRes::Fail(_) => out.null(),
        }
    }
}

/// Results that carry a status: every operation result.
pub trait OpStatus {
    /// The operation's status.
    fn status(&self) -> NfsStat4;
}

impl<T> OpStatus for NfsRes<T> {
    fn status(&self) -> NfsStat4 {
        NfsRes::status(self)
    }
}

impl OpStatus for NfsStat4 {
    fn status(&self) -> NfsStat4 {
        *self
    }
}

xdr_struct! {
    /// `nfstime4`.
    pub struct Nfstime4 {
        pub seconds: i64,
        pub nseconds: u32,
    }
}

xdr_union! {
    /// `settime4`: a time to set, or "server's time".
    pub enum Settime4 switch (TimeHow4) {
        case TimeHow4::SET_TO_SERVER_TIME4 => SetToServerTime,
        case TimeHow4::SET_TO_CLIENT_TIME4 => SetToClientTime(Nfstime4),
        default => Unknown,
    }
}

xdr_struct! {
    /// `fsid4`.
    pub struct Fsid4 {
        pub major: u64,
        pub minor: u64,
    }
}

xdr_struct! {
    /// `change_policy4`.
    pub struct ChangePolicy4 {
        pub cp_major: u64,
        pub cp_minor: u64,
    }
}

xdr_struct! {
    /// `fs_location4`: one location (server names or addresses, and a root path).
    pub struct FsLocation4<'a> {
        pub server: Vec<Utf8StrCis<'a>>,
        pub rootpath: Pathname4<'a>,
    }
}

xdr_struct! {
    /// `fs_locations4`: the fs_locations attribute.
    pub struct FsLocations4<'a> {
        pub fs_root: Pathname4<'a>,
        pub locations: Vec<FsLocation4<'a>>,
    }
}

xdr_struct! {
    /// `nfsace4`: an access control entry.
    pub struct Nfsace4<'a> {
        pub type_: u32,
        pub flag: u32,
        pub access_mask: u32,
        pub who: Utf8StrMixed<'a>,
    }
}

xdr_struct! {
    /// `nfsacl41`: the 4.1 dacl/sacl attributes.
    pub struct Nfsacl41<'a> {
        pub na41_flag: u32,
        pub na41_aces: Vec<Nfsace4<'a>>,
    }
}

xdr_struct! {
    /// `mode_masked4`.
    pub struct ModeMasked4 {
        pub mm_value_to_set: Mode4,
        pub mm_mask_bits: Mode4,
    }
}

xdr_struct! {
    /// `specdata4`: device numbers.
    pub struct Specdata4 {
        pub specdata1: u32,
        pub specdata2: u32,
    }
}

xdr_struct! {
    /// `netaddr4`: an rpcbind-style network id and universal address.
    pub struct Netaddr4<'a> {
        pub na_r_netid: Opaque<'a>,
        pub na_r_addr: Opaque<'a>,
    }
}

/// `clientaddr4`.
pub type Clientaddr4<'a> = Netaddr4<'a>;

xdr_struct! {
    /// `nfs_impl_id4`: implementation id (domain, name, date).
    pub struct NfsImplId4<'a> {
        pub nii_domain: Utf8StrCis<'a>,
        pub nii_name: Utf8StrCs<'a>,
        pub nii_date: Nfstime4,
    }
}

xdr_struct! {
    /// `stateid4`.
    pub struct Stateid4 {
        pub seqid: u32,
        pub other: StateidOther,
    }
}

xdr_struct! {
    /// `layout_content4`: a layout, its body kept opaque.
    pub struct LayoutContent4<'a> {
        pub loc_type: LayoutType4,
        pub loc_body: Opaque<'a>,
    }
}

xdr_struct! {
    /// `layouthint4`.
    pub struct Layouthint4<'a> {
        pub loh_type: LayoutType4,
        pub loh_body: Opaque<'a>,
    }
}

xdr_struct! {
    /// `layout4`.
    pub struct Layout4<'a> {
        pub lo_offset: Offset4,
        pub lo_length: Length4,
        pub lo_iomode: LayoutIomode4,
        pub lo_content: LayoutContent4<'a>,
    }
}

xdr_struct! {
    /// `device_addr4`: a device address, its body kept opaque.
    pub struct DeviceAddr4<'a> {
        pub da_layout_type: LayoutType4,
        pub da_addr_body: Opaque<'a>,
    }
}

xdr_struct! {
    /// `layoutupdate4`.
    pub struct Layoutupdate4<'a> {
        pub lou_type: LayoutType4,
        pub lou_body: Opaque<'a>,
    }
}

xdr_struct! {
    /// `layoutreturn_file4`.
    pub struct LayoutreturnFile4<'a> {
        pub lrf_offset: Offset4,
        pub lrf_length: Length4,
        pub lrf_stateid: Stateid4,
        pub lrf_body: Opaque<'a>,
    }
}

xdr_union! {
    /// `layoutreturn4`.
    pub enum Layoutreturn4<'a> switch (LayoutReturnType4) {
        case LayoutReturnType4::LAYOUTRETURN4_FILE => File(LayoutreturnFile4<'a>),
        default => Other,
    }
}

xdr_struct! {
    /// `fs4_status`: the fs_status attribute.
    pub struct Fs4Status<'a> {
        pub fss_absent: bool,
        pub fss_type: Fs4StatusType,
        pub fss_source: Utf8StrCs<'a>,
        pub fss_current: Utf8StrCs<'a>,
        pub fss_age: i32,
        pub fss_version: Nfstime4,
    }
}

xdr_struct! {
    /// `threshold_item4`.
    pub struct ThresholdItem4<'a> {
        pub thi_layout_type: LayoutType4,
        pub thi_hintset: Bitmap4,
        pub thi_hintlist: Opaque<'a>,
    }
}

xdr_struct! {
    /// `mdsthreshold4`.
    pub struct Mdsthreshold4<'a> {
        pub mth_hints: Vec<ThresholdItem4<'a>>,
    }
}

xdr_struct! {
    /// `retention_get4`.
    pub struct RetentionGet4 {
        pub rg_duration: u64,
        pub rg_begin_time: Vec<Nfstime4>,
    }
}

xdr_struct! {
    /// `retention_set4`.
    pub struct RetentionSet4 {
        pub rs_enable: bool,
        pub rs_duration: Vec<u64>,
    }
}

xdr_union! {
    /// `netloc4`: a server named by name, URL or network address (4.2 copy).
    pub enum Netloc4<'a> switch (NetlocType4) {
        case NetlocType4::NL4_NAME => Name(Utf8StrCis<'a>),
        case NetlocType4::NL4_URL => Url(Utf8StrCis<'a>),
        case NetlocType4::NL4_NETADDR => Netaddr(Netaddr4<'a>),
    }
}

xdr_struct! {
    /// `labelformat_spec4`.
    pub struct LabelformatSpec4 {
        pub lfs_lfs: u32,
        pub lfs_pi: u32,
    }
}

xdr_struct! {
    /// `sec_label4`: the sec_label attribute.
    pub struct SecLabel4<'a> {
        pub slai_lfs: LabelformatSpec4,
        pub slai_data: Opaque<'a>,
    }
}

xdr_struct! {
    /// `app_data_block4` (WRITE_SAME).
    pub struct AppDataBlock4<'a> {
        pub adb_offset: Offset4,
        pub adb_block_size: Length4,
        pub adb_block_count: Length4,
        pub adb_reloff_blocknum: Length4,
        pub adb_block_num: Count4,
        pub adb_reloff_pattern: Length4,
        pub adb_pattern: Opaque<'a>,
    }
}

xdr_struct! {
    /// `data4` (READ_PLUS data segment).
    pub struct Data4<'a> {
        pub d_offset: Offset4,
        pub d_data: Opaque<'a>,
    }
}

xdr_struct! {
    /// `data_info4` (READ_PLUS hole).
    pub struct DataInfo4 {
        pub di_offset: Offset4,
        pub di_length: Length4,
    }
}

xdr_struct! {
    /// `write_response4` (COPY, WRITE_SAME, CB_OFFLOAD).
    pub struct WriteResponse4 {
        pub wr_callback_id: Vec<Stateid4>,
        pub wr_count: Length4,
        pub wr_committed: StableHow4,
        pub wr_writeverf: Verifier4,
    }
}

xdr_struct! {
    custom_json;
    /// `fattr4`: an attribute bitmap and the encoded values (see `attr`).
    pub struct Fattr4<'a> {
        pub attrmask: Bitmap4,
        pub attr_vals: Attrlist4<'a>,
    }
}

xdr_struct! {
    /// `change_info4`: directory change attributes around an operation.
    pub struct ChangeInfo4 {
        pub atomic: bool,
        pub before: Changeid4,
        pub after: Changeid4,
    }
}

xdr_struct! {
    /// `cb_client4`: NFSv4.0 callback program and address.
    pub struct CbClient4<'a> {
        pub cb_program: u32,
        pub cb_location: Netaddr4<'a>,
    }
}

xdr_struct! {
    /// `nfs_client_id4`: the NFSv4.0 client identity (verifier = incarnation).
    pub struct NfsClientId4<'a> {
        pub verifier: Verifier4,
        pub id: Opaque<'a>,
    }
}

xdr_struct! {
    /// `client_owner4`: the NFSv4.1 client identity (verifier = incarnation).
    pub struct ClientOwner4<'a> {
        pub co_verifier: Verifier4,
        pub co_ownerid: Opaque<'a>,
    }
}

xdr_struct! {
    /// `server_owner4`: who the server says it is (major: same server; minor: same session space).
    pub struct ServerOwner4<'a> {
        pub so_minor_id: u64,
        pub so_major_id: Opaque<'a>,
    }
}

xdr_struct! {
    /// `state_owner4` (open_owner4, lock_owner4).
    pub struct StateOwner4<'a> {
        pub clientid: Clientid4,
        pub owner: Opaque<'a>,
    }
}

/// `open_owner4`.
pub type OpenOwner4<'a> = StateOwner4<'a>;
/// `lock_owner4`.
pub type LockOwner4<'a> = StateOwner4<'a>;

xdr_struct! {
    /// `fs_locations_server4`.
    pub struct FsLocationsServer4<'a> {
        pub fls_currency: i32,
        pub fls_info: Opaque<'a>,
        pub fls_server: Utf8StrCis<'a>,
    }
}

xdr_struct! {
    /// `fs_locations_item4`.
    pub struct FsLocationsItem4<'a> {
        pub fli_entries: Vec<FsLocationsServer4<'a>>,
        pub fli_rootpath: Pathname4<'a>,
    }
}

xdr_struct! {
    /// `fs_locations_info4`: the fs_locations_info attribute.
    pub struct FsLocationsInfo4<'a> {
        pub fli_flags: u32,
        pub fli_valid_for: i32,
        pub fli_fs_root: Pathname4<'a>,
        pub fli_items: Vec<FsLocationsItem4<'a>>,
    }
}
