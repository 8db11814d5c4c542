//! Declarative macros that generate the Rust type and its XDR codec, its
//! `IntoStatic` conversion and (for tests and fuzzing) its `Arbitrary`
//! generator from one description, so that the thousands of near-identical
//! codec lines of NFSv4 are written once.
//!
//! - [`xdr_enum!`]: an XDR `enum` as a `u32` newtype with named constants
//!   (lossless: a value no RFC names still decodes and re-encodes).
//! - [`xdr_flags!`]: a `u32` bit set with named bits.
//! - [`xdr_struct!`]: an XDR `struct`.
//! - [`xdr_union!`]: a discriminated union as a Rust `enum`.

/// A discriminant value as a signed number, for error messages.
pub trait Discriminant {
    /// The value widened to i64.
    fn to_i64(&self) -> i64;
}

impl Discriminant for u32 {
    fn to_i64(&self) -> i64 {
        *self as i64
    }
}

impl Discriminant for bool {
    fn to_i64(&self) -> i64 {
        *self as i64
    }
}

impl Discriminant for i32 {
    fn to_i64(&self) -> i64 {
        *self as i64
    }
}

/// Defines an XDR enum as a `u32` newtype with one associated constant per
/// named value, a `name()` lookup and a `Debug` that prints the name.
#[allow(unused_macros)]
macro_rules! xdr_enum {
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$cm:meta])* $c:ident = $val:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        $vis struct $name(pub u32);

        #[allow(missing_docs, dead_code)]
        impl $name {
            $( $(#[$cm])* pub const $c: Self = Self($val); )*

            /// Every value the RFCs name, with its name.
            pub const KNOWN: &'static [(Self, &'static str)] = &[ $( (Self::$c, stringify!($c)) ),* ];

            /// The RFC name of this value, if it has one.
            pub fn name(self) -> Option<&'static str> {
                #[allow(unreachable_patterns)]
                match self.0 {
                    $( $val => Some(stringify!($c)), )*
                    _ => None,
                }
            }

            /// Looks a value up by its RFC name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::KNOWN.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl<'a> $crate::xdr::Xdr<'a> for $name {
            const MIN_SIZE: usize = 4;
            #[inline]
            fn decode(r: &mut $crate::xdr::Reader<'a>) -> $crate::xdr::XdrResult<Self> {
                Ok(Self(r.u32()?))
            }
            #[inline]
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                w.put_u32(self.0)
            }
        }

        impl $crate::xdr::IntoStatic for $name {
            type Static = $name;
            #[inline]
            fn into_static(self) -> Self { self }
        }

        impl $crate::xdr::Discriminant for $name {
            fn to_i64(&self) -> i64 { self.0 as i64 }
        }

        impl $crate::xdr::ToJson for $name {
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                match self.name() {
                    Some(n) => out.string(n),
                    None => out.number(self.0),
                }
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<'u> ::arbitrary::Arbitrary<'u> for $name {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<'u>) -> ::arbitrary::Result<Self> {
                // A quarter the first named value (often the success or
                // default one), half any named value, a quarter any number.
                match u.choose_index(4)? {
                    _ if Self::KNOWN.is_empty() => Ok(Self(u.arbitrary()?)),
                    0 => Ok(Self::KNOWN[0].0),
                    1 => Ok(Self(u.arbitrary()?)),
                    _ => Ok(Self::KNOWN[u.choose_index(Self::KNOWN.len())?].0),
                }
            }
        }
    };
}

/// Defines a `u32` bit set with named bits; `Debug` prints `A|B|0x100`.
#[allow(unused_macros)]
macro_rules! xdr_flags {
    (
        $(#[$m:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$cm:meta])* $c:ident = $val:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name(pub u32);

        #[allow(missing_docs, dead_code)]
        impl $name {
            $( $(#[$cm])* pub const $c: Self = Self($val); )*

            /// Every named bit with its name.
            pub const KNOWN: &'static [(Self, &'static str)] = &[ $( (Self::$c, stringify!($c)) ),* ];

            /// The union of every named bit.
            pub const ALL_KNOWN: Self = Self(0 $( | $val )*);

            /// True when every bit of `other` is set.
            pub fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// True when any bit of `other` is set.
            pub fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// The bits no RFC names.
            pub fn unknown_bits(self) -> u32 {
                self.0 & !Self::ALL_KNOWN.0
            }

            /// Names of the set bits, in value order.
            pub fn names(self) -> Vec<&'static str> {
                Self::KNOWN.iter().filter(|(v, _)| v.0 != 0 && self.contains(*v)).map(|(_, n)| *n).collect()
            }
        }

        impl ::std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, o: Self) -> Self { Self(self.0 | o.0) }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                // The names of `names()` joined by `|`, written without
                // building the list.
                let mut first = true;
                for (v, n) in Self::KNOWN {
                    if v.0 != 0 && self.contains(*v) {
                        if !first { f.write_str("|")?; }
                        f.write_str(n)?;
                        first = false;
                    }
                }
                let rest = self.unknown_bits();
                if first && rest == 0 {
                    return f.write_str("0");
                }
                if rest != 0 {
                    if !first { f.write_str("|")?; }
                    write!(f, "{:#x}", rest)?;
                }
                Ok(())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(self, f)
            }
        }

        impl $crate::xdr::ToJson for $name {
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                // Names and a hexadecimal number: nothing to escape.
                out.plain_string_with(|s| {
                    let _ = ::std::fmt::Write::write_fmt(s, format_args!("{:?}", self));
                })
            }
        }

        impl<'a> $crate::xdr::Xdr<'a> for $name {
            const MIN_SIZE: usize = 4;
            #[inline]
            fn decode(r: &mut $crate::xdr::Reader<'a>) -> $crate::xdr::XdrResult<Self> {
                Ok(Self(r.u32()?))
            }
            #[inline]
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                w.put_u32(self.0)
            }
        }

        impl $crate::xdr::IntoStatic for $name {
            type Static = $name;
            #[inline]
            fn into_static(self) -> Self { self }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<'u> ::arbitrary::Arbitrary<'u> for $name {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<'u>) -> ::arbitrary::Result<Self> {
                Ok(Self(u.arbitrary()?))
            }
        }
    };
}

/// Defines an XDR struct: the Rust struct (fields in wire order) and its codec.
/// Write `struct Name<'a>` when a field borrows, `struct Name` otherwise.
#[allow(unused_macros)]
macro_rules! xdr_struct {
    // `custom_json;` before the struct: its `ToJson` is written by hand.
    (custom_json; $(#[$m:meta])* $vis:vis struct $name:ident<$lt:lifetime> { $($body:tt)* }) => {
        xdr_struct!(@emit [nojson] [$(#[$m])*] [$vis] $name [<$lt>] [<'static>] $lt { $($body)* });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident<$lt:lifetime> { $($body:tt)* }) => {
        xdr_struct!(@emit [json] [$(#[$m])*] [$vis] $name [<$lt>] [<'static>] $lt { $($body)* });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        xdr_struct!(@emit [json] [$(#[$m])*] [$vis] $name [] [] 'xdr { $($body)* });
    };
    (@json [nojson] $($rest:tt)*) => {};
    (@json [json] $name:ident [$($g:tt)*] $lt:lifetime [$($f:ident)*]) => {
        impl<$lt> $crate::xdr::ToJson for $name $($g)* {
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                out.begin_object();
                $( $crate::xdr::json::struct_field(out, stringify!($f), &self.$f); )*
                out.end_object();
            }
        }
    };
    (@emit [$json:ident] [$($m:tt)*] [$vis:vis] $name:ident [$($g:tt)*] [$($sg:tt)*] $lt:lifetime {
        $( $(#[$fm:meta])* $fvis:vis $f:ident : $t:ty ),* $(,)?
    }) => {
        $($m)*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis struct $name $($g)* {
            // Fields keep their RFC names, which document them; a doc
            // comment may still be given.
            $( $(#[$fm])* #[allow(missing_docs)] $fvis $f : $t, )*
        }

        impl<$lt> $crate::xdr::Xdr<$lt> for $name $($g)* {
            const MIN_SIZE: usize = 0 $( + <$t as $crate::xdr::Xdr<$lt>>::MIN_SIZE )*;
            #[inline]
            fn decode(r: &mut $crate::xdr::Reader<$lt>) -> $crate::xdr::XdrResult<Self> {
                let _ = &r;
                Ok($name {
                    $( $f: match <$t as $crate::xdr::Xdr<$lt>>::decode(r) {
                        Ok(v) => v,
                        Err(e) => return Err(e.within(stringify!($f))),
                    }, )*
                })
            }
            #[inline]
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                let _ = &w;
                $( $crate::xdr::Xdr::encode(&self.$f, w); )*
            }
        }

        impl<$lt> $crate::xdr::IntoStatic for $name $($g)* {
            type Static = $name $($sg)*;
            fn into_static(self) -> Self::Static {
                $name { $( $f: $crate::xdr::IntoStatic::into_static(self.$f), )* }
            }
        }

        impl<$lt> $crate::xdr::XdrFields for $name $($g)* {
            const FIELDS: &'static [&'static str] = &[$( stringify!($f) ),*];
        }

        xdr_struct!(@json [$json] $name [$($g)*] $lt [$($f)*]);

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> ::arbitrary::Arbitrary<$lt> for $name $($g)* {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                let _ = &u;
                Ok($name { $( $f: u.arbitrary()?, )* })
            }
        }
    };
}

/// Defines an XDR discriminated union as a Rust enum.
///
/// ```text
/// xdr_union! {
///     pub enum Settime4 switch (TimeHow4) {
///         case TimeHow4::SET_TO_SERVER_TIME4 => SetToServerTime,
///         case TimeHow4::SET_TO_CLIENT_TIME4 => SetToClientTime(Nfstime4),
///         default => Unknown,      // holds the discriminant: Unknown(TimeHow4)
///     }
/// }
/// ```
/// Arms may carry doc comments; the `default` arm may not (it is
/// documented automatically). The `default` arm may carry data too (`default => Other(T)` gives
/// `Other(Disc, T)`). Without a `default` arm an unknown discriminant is a
/// decode error.
#[allow(unused_macros)]
macro_rules! xdr_union {
    // With a default arm.
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident $(<$lt:lifetime>)? switch ($d:ty) {
            $( $(#[$am:meta])* case $c:path => $v:ident $(($t:ty))? ),+ ,
            default => $dv:ident $(($dt:ty))? $(,)?
        }
    ) => {
        xdr_union!(@def [$(#[$m])*] [$vis] $name [$(<$lt>)?] ($d)
            { $( [$(#[$am])*] $c => $v $(($t))? ),+ }
            { [] $dv $(($dt))? });
    };
    // Without a default arm.
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident $(<$lt:lifetime>)? switch ($d:ty) {
            $( $(#[$am:meta])* case $c:path => $v:ident $(($t:ty))? ),+ $(,)?
        }
    ) => {
        xdr_union!(@def [$(#[$m])*] [$vis] $name [$(<$lt>)?] ($d)
            { $( [$(#[$am])*] $c => $v $(($t))? ),+ }
            { });
    };

    (@def [$($m:tt)*] [$vis:vis] $name:ident [$($g:tt)*] ($d:ty)
        { $( [$($am:tt)*] $c:path => $v:ident $(($t:ty))? ),+ }
        { $([$($dm:tt)*] $dv:ident $(($dt:ty))?)? }
    ) => {
        $($m)*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $name $($g)* {
            $( $($am)* #[doc = concat!("Arm `", stringify!($c), "`.")] $v $(($t))?, )+
            $( $($dm)* #[doc = "Any other discriminant (XDR `default`), kept."] $dv($d $(, $dt)?), )?
        }

        xdr_union!(@impls $name [$($g)*] ($d)
            { $( $c => $v $(($t))? ),+ }
            { $($dv $(($dt))?)? });
    };

    (@impls $name:ident [] ($d:ty) $arms:tt $default:tt) => {
        xdr_union!(@impls2 $name [] [] 'xdr ($d) $arms $default);
    };
    (@impls $name:ident [<$lt:lifetime>] ($d:ty) $arms:tt $default:tt) => {
        xdr_union!(@impls2 $name [<$lt>] [<'static>] $lt ($d) $arms $default);
    };

    (@impls2 $name:ident [$($g:tt)*] [$($sg:tt)*] $lt:lifetime ($d:ty)
        { $( $c:path => $v:ident $(($t:ty))? ),+ }
        { $($dv:ident $(($dt:ty))?)? }
    ) => {
        impl $($g)* $name $($g)* {
            /// The discriminant this value is encoded with.
            #[allow(unreachable_code, irrefutable_let_patterns, dead_code)]
            pub fn discriminant(&self) -> $d {
                $( xdr_union!(@disc self, $c, $v $(, $t)?); )+
                $( if let Self::$dv(d, ..) = self { return *d; } )?
                unreachable!()
            }
        }

        impl<$lt> $crate::xdr::Xdr<$lt> for $name $($g)* {
            const MIN_SIZE: usize = <$d as $crate::xdr::Xdr<$lt>>::MIN_SIZE;
            fn decode(r: &mut $crate::xdr::Reader<$lt>) -> $crate::xdr::XdrResult<Self> {
                let at = r.offset();
                let _ = at;
                let d = <$d as $crate::xdr::Xdr<$lt>>::decode(r)?;
                #[allow(unreachable_patterns)]
                match d {
                    $( $c => Ok(Self::$v $((
                        match <$t as $crate::xdr::Xdr<$lt>>::decode(r) {
                            Ok(x) => x,
                            Err(e) => return Err(e.within(stringify!($v))),
                        }
                    ))?), )+
                    _ => xdr_union!(@dflt r, at, d, $($dv $(($dt))?)?),
                }
            }
            #[allow(unreachable_code, irrefutable_let_patterns)]
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                $( xdr_union!(@enc self, w, $c, $v $(, $t)?); )+
                $( xdr_union!(@encd self, w, $dv $(, $dt)?); )?
            }
        }

        impl $($g)* $crate::xdr::ToJson for $name $($g)* {
            #[allow(unreachable_code, irrefutable_let_patterns)]
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                $( xdr_union!(@json self, out, $c, $v $(, $t)?); )+
                $( xdr_union!(@jsond self, out, $dv $(, $dt)?); )?
            }
        }

        impl<$lt> $crate::xdr::IntoStatic for $name $($g)* {
            type Static = $name $($sg)*;
            #[allow(unreachable_code, irrefutable_let_patterns)]
            fn into_static(self) -> Self::Static {
                $( xdr_union!(@stat self, $name, $v $(, $t)?); )+
                $( xdr_union!(@statd self, $name, $dv $(, $dt)?); )?
                unreachable!()
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> ::arbitrary::Arbitrary<$lt> for $name $($g)* {
            #[allow(unused_assignments, unreachable_code)]
            fn arbitrary(u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                const ARMS: usize = 0 $( + xdr_union!(@one $v) )+ $( + xdr_union!(@one $dv) )?;
                let mut i = u.choose_index(ARMS)?;
                $(
                    if i == 0 {
                        return Ok(Self::$v $(( u.arbitrary::<$t>()? ))?);
                    }
                    i -= 1;
                )+
                $(
                    let d: $d = u.arbitrary()?;
                    if Self::names_an_arm(&d) {
                        // The value names an arm; generate that arm's layout
                        // instead, so the value round-trips.
                        return Self::arbitrary_first(u);
                    }
                    return Ok(Self::$dv(d $(, u.arbitrary::<$dt>()?)?));
                )?
                unreachable!()
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<$lt> $name $($g)* {
            #[allow(dead_code)]
            fn names_an_arm(d: &$d) -> bool {
                $( *d == $c )||+
            }

            #[allow(dead_code)]
            fn arbitrary_first(u: &mut ::arbitrary::Unstructured<$lt>) -> ::arbitrary::Result<Self> {
                let _ = &u;
                xdr_union!(@first u, $( $v $(, $t)? ;)+)
            }
        }
    };

    (@one $v:ident) => { 1 };

    (@first $u:ident, $v:ident $(, $t:ty)? ; $($rest:tt)*) => {
        Ok(Self::$v $(( $u.arbitrary::<$t>()? ))?)
    };

    (@disc $s:expr, $c:path, $v:ident) => {
        if let Self::$v = $s { return $c; }
    };
    (@disc $s:expr, $c:path, $v:ident, $t:ty) => {
        if let Self::$v(..) = $s { return $c; }
    };

    (@dflt $r:ident, $at:ident, $d:ident, ) => {
        Err($crate::xdr::XdrError::new(
            $crate::xdr::ErrorKind::BadDiscriminant($crate::xdr::Discriminant::to_i64(&$d)),
            $at,
        ))
    };
    (@dflt $r:ident, $at:ident, $d:ident, $dv:ident) => {
        Ok(Self::$dv($d))
    };
    (@dflt $r:ident, $at:ident, $d:ident, $dv:ident($dt:ty)) => {
        match $crate::xdr::Xdr::decode($r) {
            Ok(x) => Ok(Self::$dv($d, x)),
            Err(e) => Err($crate::xdr::XdrError::within(e, stringify!($dv))),
        }
    };

    (@enc $s:expr, $w:ident, $c:path, $v:ident) => {
        if let Self::$v = $s {
            $crate::xdr::Xdr::encode(&$c, $w);
            return;
        }
    };
    (@enc $s:expr, $w:ident, $c:path, $v:ident, $t:ty) => {
        if let Self::$v(x) = $s {
            $crate::xdr::Xdr::encode(&$c, $w);
            $crate::xdr::Xdr::encode(x, $w);
            return;
        }
    };
    (@encd $s:expr, $w:ident, $dv:ident) => {
        if let Self::$dv(d) = $s {
            $crate::xdr::Xdr::encode(d, $w);
            return;
        }
    };
    (@encd $s:expr, $w:ident, $dv:ident, $dt:ty) => {
        if let Self::$dv(d, x) = $s {
            $crate::xdr::Xdr::encode(d, $w);
            $crate::xdr::Xdr::encode(x, $w);
            return;
        }
    };

    (@json $s:expr, $o:ident, $c:path, $v:ident) => {
        if let Self::$v = $s {
            $o.string($crate::xdr::json::arm_name(stringify!($c)));
            return;
        }
    };
    (@json $s:expr, $o:ident, $c:path, $v:ident, $t:ty) => {
        if let Self::$v(x) = $s {
            $o.begin_object();
            $o.field($crate::xdr::json::arm_name(stringify!($c)), x);
            $o.end_object();
            return;
        }
    };
    (@jsond $s:expr, $o:ident, $dv:ident) => {
        if let Self::$dv(d) = $s {
            $crate::xdr::ToJson::to_json(d, $o);
            return;
        }
    };
    (@jsond $s:expr, $o:ident, $dv:ident, $dt:ty) => {
        if let Self::$dv(d, x) = $s {
            $o.begin_object();
            $o.field(&d.to_string(), x);
            $o.end_object();
            return;
        }
    };

    (@stat $s:ident, $name:ident, $v:ident) => {
        if let Self::$v = $s { return $name::$v; }
    };
    (@stat $s:ident, $name:ident, $v:ident, $t:ty) => {
        if let Self::$v(x) = $s { return $name::$v($crate::xdr::IntoStatic::into_static(x)); }
    };
    (@statd $s:ident, $name:ident, $dv:ident) => {
        if let Self::$dv(d) = $s { return $name::$dv(d); }
    };
    (@statd $s:ident, $name:ident, $dv:ident, $dt:ty) => {
        if let Self::$dv(d, x) = $s { return $name::$dv(d, $crate::xdr::IntoStatic::into_static(x)); }
    };
}

/// Defines fixed-length opaque data (`opaque x[N]`) as a `Copy` newtype that
/// prints as hexadecimal (verifiers, session ids, device ids).
#[allow(unused_macros)]
macro_rules! xdr_fixed_opaque {
    ($(#[$m:meta])* $vis:vis struct $name:ident([u8; $n:literal]);) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name(pub [u8; $n]);

        // Byte order (as derived), eight bytes at a time: these are the
        // keys of the model's maps of sessions and verifiers.
        impl ::std::cmp::Ord for $name {
            #[inline]
            fn cmp(&self, other: &Self) -> ::std::cmp::Ordering {
                $crate::xdr::cmp_bytes(&self.0, &other.0)
            }
        }

        impl ::std::cmp::PartialOrd for $name {
            #[inline]
            fn partial_cmp(&self, other: &Self) -> Option<::std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// The bytes as lower-case hexadecimal.
            pub fn hex(&self) -> String {
                $crate::xdr::hex(&self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "0x{}", self.hex())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                // Hexadecimal from a stack buffer: no allocation per value.
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut buf = [0u8; 2 * $n];
                for (pair, &c) in buf.chunks_exact_mut(2).zip(self.0.iter()) {
                    pair[0] = HEX[(c >> 4) as usize];
                    pair[1] = HEX[(c & 15) as usize];
                }
                f.write_str(::std::str::from_utf8(&buf).map_err(|_| ::std::fmt::Error)?)
            }
        }

        impl<'a> $crate::xdr::Xdr<'a> for $name {
            const MIN_SIZE: usize = $crate::xdr::padded($n);
            #[inline]
            fn decode(r: &mut $crate::xdr::Reader<'a>) -> $crate::xdr::XdrResult<Self> {
                Ok(Self(r.fixed::<$n>()?))
            }
            #[inline]
            fn encode(&self, w: &mut $crate::xdr::Writer) {
                w.put_fixed(&self.0)
            }
        }

        impl $crate::xdr::IntoStatic for $name {
            type Static = $name;
            #[inline]
            fn into_static(self) -> Self { self }
        }

        impl $crate::xdr::ToJson for $name {
            fn to_json(&self, out: &mut $crate::xdr::JsonOut) {
                // The bytes' hexadecimal, as for any byte array.
                $crate::xdr::ToJson::to_json(&self.0, out)
            }
        }

        #[cfg(any(test, feature = "arbitrary"))]
        impl<'u> ::arbitrary::Arbitrary<'u> for $name {
            fn arbitrary(u: &mut ::arbitrary::Unstructured<'u>) -> ::arbitrary::Result<Self> {
                Ok(Self(u.arbitrary()?))
            }
        }
    };
}
