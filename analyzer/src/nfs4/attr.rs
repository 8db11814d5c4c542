//! File attributes: the number and XDR type of every attribute of NFSv4.0,
//! 4.1, 4.2 (RFC 7530, 8881, 7862) and of RFC 8275 (mode_umask) and RFC 8276
//! (xattr_support), and the decoding of a `fattr4` into typed values.
//!
//! Attribute values are concatenated without lengths, so each one must be
//! decoded to find the next. An attribute number no RFC defines stops the
//! walk: the values after it are kept as raw bytes with its number, and the
//! operation carrying the `fattr4` is never affected (its `attr_vals` is a
//! counted opaque).

use super::consts::*;
use super::types::*;
use crate::xdr::{JsonOut, Opaque, Reader, ToJson, Writer, Xdr, XdrError};

xdr_struct! {
    /// `mode_umask4` (RFC 8275): a mode and the umask to apply to it.
    pub struct ModeUmask4 { pub mu_mode: Mode4, pub mu_umask: Mode4 }
}

macro_rules! attr_table {
    ( $( $num:literal $c:ident $V:ident ( $t:ty ) ),* $(,)? ) => {
        xdr_enum! {
            /// Attribute numbers (`FATTR4_*`): bit numbers in a `bitmap4`.
            pub enum Fattr4Num { $( $c = $num, )* }
        }

        /// One decoded attribute value.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum AttrValue<'a> { $( $V($t), )* }

        impl<'a> AttrValue<'a> {
            /// The attribute number.
            pub fn number(&self) -> u32 {
                match self { $( Self::$V(_) => $num, )* }
            }

            /// Decodes the value of attribute `num`; `Ok(None)` when no RFC
            /// defines `num`.
            pub fn decode(num: u32, r: &mut Reader<'a>) -> Result<Option<Self>, XdrError> {
                match num {
                    $( $num => match <$t as Xdr<'a>>::decode(r) {
                        Ok(v) => Ok(Some(Self::$V(v))),
                        Err(e) => Err(e.within(stringify!($c))),
                    }, )*
                    _ => Ok(None),
                }
            }

            /// Appends the value's encoding (without its number) to `w`.
            pub fn encode(&self, w: &mut Writer) {
                match self { $( Self::$V(v) => Xdr::encode(v, w), )* }
            }
        }

        impl AttrValue<'_> {
            /// The attribute's name in lower case without `FATTR4_` (e.g. `lease_time`).
            pub fn name(&self) -> &'static str {
                attr_name(self.number()).unwrap_or("?")
            }
        }

        impl crate::xdr::ToJson for AttrValue<'_> {
            fn to_json(&self, out: &mut crate::xdr::JsonOut) {
                match self { $( Self::$V(v) => crate::xdr::ToJson::to_json(v, out), )* }
            }
        }

        impl crate::xdr::IntoStatic for AttrValue<'_> {
            type Static = AttrValue<'static>;
            fn into_static(self) -> AttrValue<'static> {
                match self { $( Self::$V(v) => AttrValue::$V(crate::xdr::IntoStatic::into_static(v)), )* }
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<'a> arbitrary::Arbitrary<'a> for AttrValue<'a> {
            fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                let num = Fattr4Num::KNOWN[u.choose_index(Fattr4Num::KNOWN.len())?].0;
                match num.0 {
                    $( $num => Ok(Self::$V(u.arbitrary::<$t>()?)), )*
                    _ => Err(arbitrary::Error::IncorrectFormat),
                }
            }
        }
    };
}

attr_table! {
    0 FATTR4_SUPPORTED_ATTRS SupportedAttrs(Bitmap4),
    1 FATTR4_TYPE Type(NfsFtype4),
    2 FATTR4_FH_EXPIRE_TYPE FhExpireType(u32),
    3 FATTR4_CHANGE Change(Changeid4),
    4 FATTR4_SIZE Size(u64),
    5 FATTR4_LINK_SUPPORT LinkSupport(bool),
    6 FATTR4_SYMLINK_SUPPORT SymlinkSupport(bool),
    7 FATTR4_NAMED_ATTR NamedAttr(bool),
    8 FATTR4_FSID Fsid(Fsid4),
    9 FATTR4_UNIQUE_HANDLES UniqueHandles(bool),
    10 FATTR4_LEASE_TIME LeaseTime(NfsLease4),
    11 FATTR4_RDATTR_ERROR RdattrError(NfsStat4),
    12 FATTR4_ACL Acl(Vec<Nfsace4<'a>>),
    13 FATTR4_ACLSUPPORT Aclsupport(u32),
    14 FATTR4_ARCHIVE Archive(bool),
    15 FATTR4_CANSETTIME Cansettime(bool),
    16 FATTR4_CASE_INSENSITIVE CaseInsensitive(bool),
    17 FATTR4_CASE_PRESERVING CasePreserving(bool),
    18 FATTR4_CHOWN_RESTRICTED ChownRestricted(bool),
    19 FATTR4_FILEHANDLE Filehandle(NfsFh4<'a>),
    20 FATTR4_FILEID Fileid(u64),
    21 FATTR4_FILES_AVAIL FilesAvail(u64),
    22 FATTR4_FILES_FREE FilesFree(u64),
    23 FATTR4_FILES_TOTAL FilesTotal(u64),
    24 FATTR4_FS_LOCATIONS FsLocations(FsLocations4<'a>),
    25 FATTR4_HIDDEN Hidden(bool),
    26 FATTR4_HOMOGENEOUS Homogeneous(bool),
    27 FATTR4_MAXFILESIZE Maxfilesize(u64),
    28 FATTR4_MAXLINK Maxlink(u32),
    29 FATTR4_MAXNAME Maxname(u32),
    30 FATTR4_MAXREAD Maxread(u64),
    31 FATTR4_MAXWRITE Maxwrite(u64),
    32 FATTR4_MIMETYPE Mimetype(Opaque<'a>),
    33 FATTR4_MODE Mode(Mode4),
    34 FATTR4_NO_TRUNC NoTrunc(bool),
    35 FATTR4_NUMLINKS Numlinks(u32),
    36 FATTR4_OWNER Owner(Utf8StrMixed<'a>),
    37 FATTR4_OWNER_GROUP OwnerGroup(Utf8StrMixed<'a>),
    38 FATTR4_QUOTA_AVAIL_HARD QuotaAvailHard(u64),
    39 FATTR4_QUOTA_AVAIL_SOFT QuotaAvailSoft(u64),
    40 FATTR4_QUOTA_USED QuotaUsed(u64),
    41 FATTR4_RAWDEV Rawdev(Specdata4),
    42 FATTR4_SPACE_AVAIL SpaceAvail(u64),
    43 FATTR4_SPACE_FREE SpaceFree(u64),
    44 FATTR4_SPACE_TOTAL SpaceTotal(u64),
    45 FATTR4_SPACE_USED SpaceUsed(u64),
    46 FATTR4_SYSTEM System(bool),
    47 FATTR4_TIME_ACCESS TimeAccess(Nfstime4),
    48 FATTR4_TIME_ACCESS_SET TimeAccessSet(Settime4),
    49 FATTR4_TIME_BACKUP TimeBackup(Nfstime4),
    50 FATTR4_TIME_CREATE TimeCreate(Nfstime4),
    51 FATTR4_TIME_DELTA TimeDelta(Nfstime4),
    52 FATTR4_TIME_METADATA TimeMetadata(Nfstime4),
    53 FATTR4_TIME_MODIFY TimeModify(Nfstime4),
    54 FATTR4_TIME_MODIFY_SET TimeModifySet(Settime4),
    55 FATTR4_MOUNTED_ON_FILEID MountedOnFileid(u64),
    56 FATTR4_DIR_NOTIF_DELAY DirNotifDelay(Nfstime4),
    57 FATTR4_DIRENT_NOTIF_DELAY DirentNotifDelay(Nfstime4),
    58 FATTR4_DACL Dacl(Nfsacl41<'a>),
    59 FATTR4_SACL Sacl(Nfsacl41<'a>),
    60 FATTR4_CHANGE_POLICY ChangePolicy(ChangePolicy4),
    61 FATTR4_FS_STATUS FsStatus(Fs4Status<'a>),
    62 FATTR4_FS_LAYOUT_TYPES FsLayoutTypes(Vec<LayoutType4>),
    63 FATTR4_LAYOUT_HINT LayoutHint(Layouthint4<'a>),
    64 FATTR4_LAYOUT_TYPES LayoutTypes(Vec<LayoutType4>),
    65 FATTR4_LAYOUT_BLKSIZE LayoutBlksize(u32),
    66 FATTR4_LAYOUT_ALIGNMENT LayoutAlignment(u32),
    67 FATTR4_FS_LOCATIONS_INFO FsLocationsInfo(FsLocationsInfo4<'a>),
    68 FATTR4_MDSTHRESHOLD Mdsthreshold(Mdsthreshold4<'a>),
    69 FATTR4_RETENTION_GET RetentionGet(RetentionGet4),
    70 FATTR4_RETENTION_SET RetentionSet(RetentionSet4),
    71 FATTR4_RETENTEVT_GET RetentevtGet(RetentionGet4),
    72 FATTR4_RETENTEVT_SET RetentevtSet(RetentionSet4),
    73 FATTR4_RETENTION_HOLD RetentionHold(u64),
    74 FATTR4_MODE_SET_MASKED ModeSetMasked(ModeMasked4),
    75 FATTR4_SUPPATTR_EXCLCREAT SuppattrExclcreat(Bitmap4),
    76 FATTR4_FS_CHARSET_CAP FsCharsetCap(u32),
    77 FATTR4_CLONE_BLKSIZE CloneBlksize(u32),
    78 FATTR4_SPACE_FREED SpaceFreed(u64),
    79 FATTR4_CHANGE_ATTR_TYPE ChangeAttrType(ChangeAttrType4),
    80 FATTR4_SEC_LABEL SecLabel(SecLabel4<'a>),
    81 FATTR4_MODE_UMASK ModeUmask(ModeUmask4),
    82 FATTR4_XATTR_SUPPORT XattrSupport(bool),
}

/// The short name of attribute `num`: lower case without `FATTR4_` (e.g.
/// `lease_time`), as tshark and the RFC prose call it.
pub fn attr_name(num: u32) -> Option<&'static str> {
    static NAMES: std::sync::OnceLock<Vec<(u32, &'static str)>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Fattr4Num::KNOWN
            .iter()
            .map(|(n, long)| {
                let short = long
                    .strip_prefix("FATTR4_")
                    .unwrap_or(long)
                    .to_ascii_lowercase();
                // Built once for the ~80 attributes and kept for the process.
                (n.0, &*Box::leak(short.into_boxed_str()))
            })
            .collect()
    });
    names.iter().find(|(n, _)| *n == num).map(|(_, s)| *s)
}

/// The number of the attribute with this short name (`lease_time` → 10),
/// the inverse of [`attr_name`].
pub fn attr_number(name: &str) -> Option<u32> {
    Fattr4Num::KNOWN
        .iter()
        .map(|(n, _)| n.0)
        .find(|&n| attr_name(n) == Some(name))
}

/// The values of a `fattr4`, decoded in bitmap order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedAttrs<'a> {
    /// Every value decoded, in increasing attribute number.
    pub values: Vec<AttrValue<'a>>,
    /// The first attribute number no RFC defines, with the raw bytes from its
    /// value to the end (values after an unknown one cannot be delimited).
    pub unknown: Option<(u32, &'a [u8])>,
    /// A malformed value (the values before it are kept).
    pub error: Option<XdrError>,
    /// Bytes left over after the last value the bitmap announced.
    pub trailing: usize,
}

impl DecodedAttrs<'_> {
    /// The value of attribute `num`, if decoded.
    pub fn get(&self, num: u32) -> Option<&AttrValue<'_>> {
        self.values.iter().find(|v| v.number() == num)
    }

    /// The lease_time attribute, if present.
    pub fn lease_time(&self) -> Option<u32> {
        self.values.iter().find_map(|v| match v {
            AttrValue::LeaseTime(t) => Some(*t),
            _ => None,
        })
    }
}

impl<'a> Fattr4<'a> {
    /// Decodes the attribute values announced by the bitmap.
    pub fn decode_values(&self) -> DecodedAttrs<'_> {
        decode_attr_values(&self.attrmask, self.attr_vals.as_bytes())
    }

    /// Builds a `fattr4` from values (bitmap in increasing attribute order).
    pub fn from_values(values: &[AttrValue<'_>]) -> Fattr4<'static> {
        let mut sorted: Vec<&AttrValue<'_>> = values.iter().collect();
        sorted.sort_by_key(|v| v.number());
        let mut mask = Bitmap4::default();
        let mut w = Writer::new();
        for v in sorted {
            mask.set(v.number());
            v.encode(&mut w);
        }
        Fattr4 {
            attrmask: mask,
            attr_vals: Opaque::from(w.into_bytes()),
        }
    }
}

/// Walks `vals` as the values of the attributes set in `mask`.
pub fn decode_attr_values<'a>(mask: &Bitmap4, vals: &'a [u8]) -> DecodedAttrs<'a> {
    let announced: u32 = mask.0.iter().map(|w| w.count_ones()).sum();
    let mut out = DecodedAttrs {
        // Every value takes at least 4 bytes: never reserve more than fit.
        values: Vec::with_capacity((announced as usize).min(vals.len() / 4)),
        ..DecodedAttrs::default()
    };
    let mut r = Reader::new(vals);
    for num in mask.bits() {
        let at = r.offset();
        match AttrValue::decode(num, &mut r) {
            Ok(Some(v)) => out.values.push(v),
            Ok(None) => {
                out.unknown = Some((num, &vals[at..]));
                return out;
            }
            Err(e) => {
                out.error = Some(e.within("attr_vals"));
                return out;
            }
        }
    }
    out.trailing = r.remaining();
    out
}

/// Shows the decoded values: `{"mask":[...],"values":{"lease_time":5,...}}`,
/// plus `"unknown_attr"`/`"raw"` or `"error"` when the walk stopped early.
impl ToJson for Fattr4<'_> {
    fn to_json(&self, out: &mut JsonOut) {
        out.begin_object();
        out.field("mask", &self.attrmask);
        let d = self.decode_values();
        out.key("values");
        out.begin_object();
        for v in &d.values {
            out.field(v.name(), v);
        }
        out.end_object();
        if let Some((num, raw)) = d.unknown {
            out.field("unknown_attr", &num);
            out.field("raw", &crate::xdr::hex(raw));
        }
        if let Some(e) = &d.error {
            out.field("error", &e.to_string());
        }
        out.end_object();
    }
}
