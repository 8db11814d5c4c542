//! NFSv4.0, 4.1 and 4.2 (plus RFC 8276 extended attributes): every
//! operation's arguments and results, COMPOUND and CB_COMPOUND, status
//! codes, flags, and attribute values.
//!
//! The types follow the RFC XDR names (`EXCHANGE_ID4args` is
//! [`ExchangeId4Args`], its fields keep their RFC names such as
//! `eia_clientowner`). One table per program ([`compound`], [`callback`])
//! lists every operation once; the argument/result enums, the operation
//! numbers and names, and their codecs are generated from it.

use crate::xdr::{ErrorKind, Reader, Xdr, XdrError, XdrResult};

/// Generates, from one table of operations, the operation-number enum, the
/// argument and result enums (`nfs_argop4`/`nfs_resop4` style unions) and
/// their codecs.
macro_rules! op_table {
    (
        $(#[$am:meta])* args $Arg:ident<$lt:lifetime>;
        $(#[$rm:meta])* results $Res:ident;
        $(#[$nm:meta])* opnum $Opnum:ident;
        ops {
            $( $num:literal $c:ident $V:ident ( $at:ty , $rt:ty ) ),* $(,)?
        }
    ) => {
        xdr_enum! {
            $(#[$nm])*
            pub enum $Opnum { $( $c = $num, )* }
        }

        impl $Opnum {
            /// The operation's RFC name without the `OP_` prefix (e.g. `EXCHANGE_ID`).
            pub fn op_name(self) -> Option<&'static str> {
                self.name().map(|n| n.strip_prefix("OP_").unwrap_or(n))
            }
        }

        $(#[$am])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum $Arg<$lt> { $( $V($at), )* }

        $(#[$rm])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum $Res<$lt> { $( $V($rt), )* }

        impl<$lt> $Arg<$lt> {
            /// The operation number.
            pub fn opnum(&self) -> $Opnum {
                match self { $( Self::$V(_) => $Opnum::$c, )* }
            }
            /// The operation's RFC name (e.g. `SEQUENCE`).
            pub fn name(&self) -> &'static str {
                self.opnum().op_name().unwrap_or("?")
            }
        }

        impl<$lt> $Res<$lt> {
            /// The operation number.
            pub fn opnum(&self) -> $Opnum {
                match self { $( Self::$V(_) => $Opnum::$c, )* }
            }
            /// The operation's RFC name (e.g. `SEQUENCE`).
            pub fn name(&self) -> &'static str {
                self.opnum().op_name().unwrap_or("?")
            }
            /// The operation's status.
            pub fn status(&self) -> $crate::nfs4::NfsStat4 {
                match self { $( Self::$V(r) => $crate::nfs4::OpStatus::status(r), )* }
            }
        }

        impl<$lt> $crate::xdr::Xdr<$lt> for $Arg<$lt> {
            const MIN_SIZE: usize = 4;
            fn decode(r: &mut $crate::xdr::Reader<$lt>) -> $crate::xdr::XdrResult<Self> {
                let at = r.offset();
                let op = r.u32()?;
                match op {
                    $( $num => match <$at as $crate::xdr::Xdr<$lt>>::decode(r) {
                        Ok(v) => Ok(Self::$V(v)),
                        Err(e) => Err(e.within(&stringify!($c)[3..])),
                    }, )*
                    _ => Err($crate::xdr::XdrError::new(
                        $crate::xdr::ErrorKind::UnknownOperation(op), at)),
                }
            }
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                match self { $( Self::$V(v) => { w.put_u32($num); $crate::xdr::Xdr::encode(v, w); } )* }
            }
        }

        impl<$lt> $crate::xdr::Xdr<$lt> for $Res<$lt> {
            const MIN_SIZE: usize = 8;
            fn decode(r: &mut $crate::xdr::Reader<$lt>) -> $crate::xdr::XdrResult<Self> {
                let at = r.offset();
                let op = r.u32()?;
                match op {
                    $( $num => match <$rt as $crate::xdr::Xdr<$lt>>::decode(r) {
                        Ok(v) => Ok(Self::$V(v)),
                        Err(e) => Err(e.within(&stringify!($c)[3..])),
                    }, )*
                    _ => Err($crate::xdr::XdrError::new(
                        $crate::xdr::ErrorKind::UnknownOperation(op), at)),
                }
            }
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                match self { $( Self::$V(v) => { w.put_u32($num); $crate::xdr::Xdr::encode(v, w); } )* }
            }
        }

        impl<$lt> $crate::xdr::ToJson for $Arg<$lt> {
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                out.begin_object();
                out.field("op", self.name());
                match self { $( Self::$V(v) => out.field("args", v), )* }
                out.end_object();
            }
        }

        impl<$lt> $crate::xdr::ToJson for $Res<$lt> {
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                out.begin_object();
                out.field("op", self.name());
                out.field("status", &self.status());
                match self { $( Self::$V(v) => out.field("res", v), )* }
                out.end_object();
            }
        }

        impl<$lt> $crate::xdr::IntoStatic for $Arg<$lt> {
            type Static = $Arg<'static>;
            fn into_static(self) -> $Arg<'static> {
                match self { $( Self::$V(v) => $Arg::$V($crate::xdr::IntoStatic::into_static(v)), )* }
            }
        }

        impl<$lt> $crate::xdr::IntoStatic for $Res<$lt> {
            type Static = $Res<'static>;
            fn into_static(self) -> $Res<'static> {
                match self { $( Self::$V(v) => $Res::$V($crate::xdr::IntoStatic::into_static(v)), )* }
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> ::arbitrary::Arbitrary<$lt> for $Arg<$lt> {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                let op = $Opnum::KNOWN[u.choose_index($Opnum::KNOWN.len())?].0;
                Self::arbitrary_for(op, u)
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> $Arg<$lt> {
            /// Generates arguments of operation `op` (for property tests).
            pub fn arbitrary_for(op: $Opnum, u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                match op.0 {
                    $( $num => Ok(Self::$V(u.arbitrary::<$at>()?)), )*
                    _ => Err(::arbitrary::Error::IncorrectFormat),
                }
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> ::arbitrary::Arbitrary<$lt> for $Res<$lt> {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                let op = $Opnum::KNOWN[u.choose_index($Opnum::KNOWN.len())?].0;
                Self::arbitrary_for(op, u)
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> $Res<$lt> {
            /// Generates results of operation `op` (for property tests).
            pub fn arbitrary_for(op: $Opnum, u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                match op.0 {
                    $( $num => Ok(Self::$V(u.arbitrary::<$rt>()?)), )*
                    _ => Err(::arbitrary::Error::IncorrectFormat),
                }
            }
        }
    };
}

pub mod attr;
pub mod callback;
pub mod compound;
pub mod consts;
pub mod describe;
pub mod ops40;
pub mod ops41;
pub mod ops42;
pub mod types;

pub use callback::*;
pub use compound::*;
pub use consts::*;
pub use ops40::*;
pub use ops41::*;
pub use ops42::*;
pub use types::*;

/// A decoded value with the error that stopped decoding early, if any: a
/// COMPOUND whose fourth operation is unknown keeps its first three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial<T> {
    /// What was decoded.
    pub value: T,
    /// Why decoding stopped before the end, if it did.
    pub error: Option<XdrError>,
}

impl<T> Partial<T> {
    /// True when everything decoded.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }
}

/// Decodes an operation array (`count` then items), keeping the items decoded
/// before the first error. Only an unreadable count is a hard error.
pub(crate) fn decode_ops_partial<'a, T: Xdr<'a>>(
    r: &mut Reader<'a>,
    field: &'static str,
) -> XdrResult<(Vec<T>, Option<XdrError>)> {
    let at = r.offset();
    let count = r.u32().map_err(|e| e.within(field))?;
    let limit = r.limits().max_elements;
    // Never reserve more than the bytes could hold (every op takes 4 bytes or more).
    let cap = (count as usize).min(r.remaining() / 4).min(limit as usize);
    let mut ops = Vec::with_capacity(cap);
    for i in 0..count {
        if i >= limit {
            let e = XdrError::new(
                ErrorKind::TooManyElements {
                    count: count as u64,
                    limit,
                },
                at,
            );
            return Ok((ops, Some(e.within(field))));
        }
        match T::decode(r) {
            Ok(op) => ops.push(op),
            Err(e) => {
                let e = e.within(crate::xdr::index_name(i as usize)).within(field);
                return Ok((ops, Some(e)));
            }
        }
    }
    Ok((ops, None))
}

#[cfg(test)]
mod tests;
