//! XDR (RFC 4506) runtime: a bounded reader, a writer, and the [`Xdr`] trait.
//!
//! Every length read from the wire is checked against the bytes that remain
//! before anything is allocated, and array counts are also capped by
//! [`Limits::max_elements`]. Variable-length opaque data borrows from the input.

mod error;
pub mod json;
#[macro_use]
pub mod macros;
mod opaque;

pub use error::{ErrorKind, XdrError, XdrResult};
pub use json::{JsonOut, PayloadMode, ToJson};
pub use macros::Discriminant;
pub use opaque::{
    cmp_bytes, escape_bytes, escape_bytes_into, escape_bytes_json_into, hex, hex_into, Opaque,
};

/// XDR's TRUE, usable as a union arm (`case TRUE => ...`).
pub const TRUE: bool = true;
/// XDR's FALSE, usable as a union arm.
pub const FALSE: bool = false;

/// Caps applied while decoding, on top of the bytes-remaining checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most elements accepted in one array or linked list.
    pub max_elements: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_elements: 1 << 20,
        }
    }
}

/// Rounds `n` up to the next multiple of four (XDR's unit).
#[inline]
pub const fn padded(n: usize) -> usize {
    (n + 3) & !3
}

/// A cursor over a byte slice that decodes XDR items and never reads past
/// the end or allocates what the input merely claims.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: Limits,
}

impl<'a> Reader<'a> {
    /// A reader over `buf` with default limits.
    pub fn new(buf: &'a [u8]) -> Self {
        Self::with_limits(buf, Limits::default())
    }

    /// A reader over `buf` with the given limits.
    pub fn with_limits(buf: &'a [u8], limits: Limits) -> Self {
        Reader {
            buf,
            pos: 0,
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes consumed so far (the offset of the next item).
    #[inline]
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error of `kind` at the current offset.
    pub fn error(&self, kind: ErrorKind) -> XdrError {
        XdrError::new(kind, self.pos)
    }

    /// Takes exactly `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> XdrResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(ErrorKind::Truncated {
                needed: n,
                remaining: self.remaining(),
            }));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes the rest of the buffer.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Looks at the next four bytes as a big-endian u32 without consuming them.
    pub fn peek_u32(&self) -> Option<u32> {
        let b = self.buf.get(self.pos..self.pos + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An unsigned 32-bit integer.
    #[inline]
    pub fn u32(&mut self) -> XdrResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A signed 32-bit integer.
    #[inline]
    pub fn i32(&mut self) -> XdrResult<i32> {
        Ok(self.u32()? as i32)
    }

    /// An unsigned 64-bit integer (XDR hyper).
    #[inline]
    pub fn u64(&mut self) -> XdrResult<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A signed 64-bit integer.
    #[inline]
    pub fn i64(&mut self) -> XdrResult<i64> {
        Ok(self.u64()? as i64)
    }

    /// A boolean (0 or 1; anything else is an error).
    #[inline]
    pub fn bool(&mut self) -> XdrResult<bool> {
        let at = self.pos;
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(XdrError::new(ErrorKind::BadBool(v), at)),
        }
    }

    /// Fixed-length opaque data of `N` bytes plus padding.
    #[inline]
    pub fn fixed<const N: usize>(&mut self) -> XdrResult<[u8; N]> {
        let b = self.take(padded(N))?;
        let mut a = [0u8; N];
        a.copy_from_slice(&b[..N]);
        Ok(a)
    }

    /// Variable-length opaque data (length, bytes, padding), borrowed.
    #[inline]
    pub fn opaque(&mut self) -> XdrResult<&'a [u8]> {
        let at = self.pos;
        let len = self.u32()? as usize;
        if len > self.remaining() {
            return Err(XdrError::new(
                ErrorKind::LengthPastEnd {
                    claimed: len as u64,
                    remaining: self.remaining(),
                },
                at,
            ));
        }
        let b = self.take(padded(len))?;
        Ok(&b[..len])
    }

    /// An array element count, checked against the element cap and against
    /// the bytes left (each element needs at least `min_size` bytes).
    #[inline]
    pub fn count(&mut self, min_size: usize) -> XdrResult<usize> {
        let at = self.pos;
        let n = self.u32()?;
        self.check_count(n as u64, min_size, at)?;
        Ok(n as usize)
    }

    /// Checks that `n` elements of at least `min_size` bytes can still fit
    /// and are within the element cap.
    pub fn check_count(&self, n: u64, min_size: usize, at: usize) -> XdrResult<()> {
        if n > self.limits.max_elements as u64 {
            return Err(XdrError::new(
                ErrorKind::TooManyElements {
                    count: n,
                    limit: self.limits.max_elements,
                },
                at,
            ));
        }
        let claimed = n.saturating_mul(min_size as u64);
        if claimed > self.remaining() as u64 {
            return Err(XdrError::new(
                ErrorKind::LengthPastEnd {
                    claimed,
                    remaining: self.remaining(),
                },
                at,
            ));
        }
        Ok(())
    }
}

/// A growable buffer that XDR items are encoded into.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The encoded bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Overwrites a u32 written earlier at `offset` (e.g. a length or count
    /// known only once the items after it are written).
    pub fn patch_u32(&mut self, offset: usize, v: u32) {
        self.buf[offset..offset + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// An unsigned 32-bit integer.
    #[inline]
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A signed 32-bit integer.
    #[inline]
    pub fn put_i32(&mut self, v: i32) {
        self.put_u32(v as u32);
    }

    /// An unsigned 64-bit integer.
    #[inline]
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A signed 64-bit integer.
    #[inline]
    pub fn put_i64(&mut self, v: i64) {
        self.put_u64(v as u64);
    }

    /// A boolean.
    #[inline]
    pub fn put_bool(&mut self, v: bool) {
        self.put_u32(v as u32);
    }

    /// Raw bytes followed by zero padding to a multiple of four (fixed opaque).
    #[inline]
    pub fn put_fixed(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        let pad = padded(b.len()) - b.len();
        self.buf.extend_from_slice(&[0u8; 3][..pad]);
    }

    /// Variable-length opaque data: length, bytes, padding.
    #[inline]
    pub fn put_opaque(&mut self, b: &[u8]) {
        self.put_u32(b.len() as u32);
        self.put_fixed(b);
    }

    /// Raw bytes, unpadded (for data already in XDR form).
    pub fn put_raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

/// A type with an XDR encoding. `'a` is the lifetime of the buffer decoded
/// from: opaque data in the decoded value borrows from it.
pub trait Xdr<'a>: Sized {
    /// The fewest bytes any encoding of this type takes (bounds array counts).
    const MIN_SIZE: usize;
    /// Decodes one item from `r`.
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self>;
    /// Appends the item's encoding to `w`.
    fn encode(&self, w: &mut Writer);
}

/// Converts a decoded value that borrows from its buffer into one that owns
/// its bytes, so it can outlive the buffer.
pub trait IntoStatic {
    /// The same type with a `'static` lifetime.
    type Static: 'static;
    /// Copies any borrowed bytes.
    fn into_static(self) -> Self::Static;
}

/// An XDR struct's field names, as its JSON rendering names them (what a
/// scenario's `expect.fields` may say); written by `xdr_struct!`.
pub trait XdrFields {
    /// Every field's name, in declaration order.
    const FIELDS: &'static [&'static str];
}

/// Decodes one `T` from the start of `buf` (trailing bytes are left alone).
pub fn from_bytes<'a, T: Xdr<'a>>(buf: &'a [u8]) -> XdrResult<T> {
    T::decode(&mut Reader::new(buf))
}

/// Encodes `v` into a new byte vector.
pub fn to_bytes<'a, T: Xdr<'a>>(v: &T) -> Vec<u8> {
    let mut w = Writer::new();
    v.encode(&mut w);
    w.into_bytes()
}

macro_rules! impl_static_identity {
    ($($t:ty),*) => {$(
        impl IntoStatic for $t {
            type Static = $t;
            #[inline]
            fn into_static(self) -> Self { self }
        }
    )*};
}
impl_static_identity!(u32, i32, u64, i64, bool, ());

impl<'a> Xdr<'a> for u32 {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        r.u32()
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_u32(*self)
    }
}

impl<'a> Xdr<'a> for i32 {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        r.i32()
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_i32(*self)
    }
}

impl<'a> Xdr<'a> for u64 {
    const MIN_SIZE: usize = 8;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        r.u64()
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_u64(*self)
    }
}

impl<'a> Xdr<'a> for i64 {
    const MIN_SIZE: usize = 8;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        r.i64()
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_i64(*self)
    }
}

impl<'a> Xdr<'a> for bool {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        r.bool()
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_bool(*self)
    }
}

/// XDR `void`.
impl<'a> Xdr<'a> for () {
    const MIN_SIZE: usize = 0;
    #[inline]
    fn decode(_: &mut Reader<'a>) -> XdrResult<Self> {
        Ok(())
    }
    #[inline]
    fn encode(&self, _: &mut Writer) {}
}

/// Fixed-length opaque data (`opaque x[N]`).
impl<'a, const N: usize> Xdr<'a> for [u8; N] {
    const MIN_SIZE: usize = padded(N);
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        r.fixed::<N>()
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_fixed(self)
    }
}

impl<const N: usize> IntoStatic for [u8; N] {
    type Static = [u8; N];
    fn into_static(self) -> Self {
        self
    }
}

/// Variable-length array (`T x<>`). There is deliberately no `Xdr` for `u8`,
/// so `Vec<u8>` cannot be mistaken for opaque data.
impl<'a, T: Xdr<'a>> Xdr<'a> for Vec<T> {
    const MIN_SIZE: usize = 4;
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        let n = r.count(T::MIN_SIZE)?;
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            match T::decode(r) {
                Ok(x) => v.push(x),
                Err(e) => return Err(e.within(index_name(i))),
            }
        }
        Ok(v)
    }
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.len() as u32);
        for x in self {
            x.encode(w);
        }
    }
}

impl<T: IntoStatic> IntoStatic for Vec<T> {
    type Static = Vec<T::Static>;
    fn into_static(self) -> Self::Static {
        self.into_iter().map(IntoStatic::into_static).collect()
    }
}

/// Optional data (`T *x`): a boolean, then the item if present.
impl<'a, T: Xdr<'a>> Xdr<'a> for Option<T> {
    const MIN_SIZE: usize = 4;
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        if r.bool()? {
            Ok(Some(T::decode(r)?))
        } else {
            Ok(None)
        }
    }
    fn encode(&self, w: &mut Writer) {
        match self {
            Some(x) => {
                w.put_bool(true);
                x.encode(w);
            }
            None => w.put_bool(false),
        }
    }
}

impl<T: IntoStatic> IntoStatic for Option<T> {
    type Static = Option<T::Static>;
    fn into_static(self) -> Self::Static {
        self.map(IntoStatic::into_static)
    }
}

impl<T: IntoStatic> IntoStatic for Box<T> {
    type Static = Box<T::Static>;
    fn into_static(self) -> Self::Static {
        Box::new((*self).into_static())
    }
}

/// A boxed item encodes as the item (used to keep large union arms small).
impl<'a, T: Xdr<'a>> Xdr<'a> for Box<T> {
    const MIN_SIZE: usize = T::MIN_SIZE;
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        T::decode(r).map(Box::new)
    }
    fn encode(&self, w: &mut Writer) {
        (**self).encode(w)
    }
}

/// A list encoded as XDR optional-data links (`entry4 *nextentry`): each item
/// is preceded by TRUE and the list ends with FALSE. Decoded iteratively, so
/// a long list cannot exhaust the stack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List<T>(pub Vec<T>);

impl<'a, T: Xdr<'a>> Xdr<'a> for List<T> {
    const MIN_SIZE: usize = 4;
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        let mut v = Vec::new();
        loop {
            let at = r.offset();
            if !r.bool()? {
                return Ok(List(v));
            }
            if v.len() >= r.limits().max_elements as usize {
                return Err(XdrError::new(
                    ErrorKind::TooManyElements {
                        count: v.len() as u64 + 1,
                        limit: r.limits().max_elements,
                    },
                    at,
                ));
            }
            match T::decode(r) {
                Ok(x) => v.push(x),
                Err(e) => return Err(e.within(index_name(v.len()))),
            }
        }
    }
    fn encode(&self, w: &mut Writer) {
        for x in &self.0 {
            w.put_bool(true);
            x.encode(w);
        }
        w.put_bool(false);
    }
}

impl<T: IntoStatic> IntoStatic for List<T> {
    type Static = List<T::Static>;
    fn into_static(self) -> Self::Static {
        List(self.0.into_static())
    }
}

/// A static name for array index `i` in error paths (`[0]` … `[15]`, then `[n]`).
pub(crate) fn index_name(i: usize) -> &'static str {
    const NAMES: [&str; 16] = [
        "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]", "[7]", "[8]", "[9]", "[10]", "[11]",
        "[12]", "[13]", "[14]", "[15]",
    ];
    NAMES.get(i).copied().unwrap_or("[n]")
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'u, T: arbitrary::Arbitrary<'u>> arbitrary::Arbitrary<'u> for List<T> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'u>) -> arbitrary::Result<Self> {
        Ok(List(u.arbitrary()?))
    }
}

#[cfg(test)]
mod tests;
