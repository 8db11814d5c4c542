//! Variable-length opaque data and strings, borrowed from the decoded buffer.

use super::{IntoStatic, Reader, Writer, Xdr, XdrResult};
use std::borrow::Cow;
use std::fmt;

/// XDR variable-length opaque data (`opaque x<>`, `string x<>`, NFSv4's
/// utf8 strings). Decoding borrows the bytes; values built by a client own
/// them. Strings are kept as bytes: the wire does not guarantee UTF-8, and an
/// identity comparison must be byte-exact.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Opaque<'a>(pub Cow<'a, [u8]>);

impl<'a> Opaque<'a> {
    /// Borrows `b`.
    pub const fn borrowed(b: &'a [u8]) -> Self {
        Opaque(Cow::Borrowed(b))
    }

    /// The bytes borrowed from the decoded buffer, with that buffer's
    /// lifetime (`None` for owned bytes).
    pub fn as_borrowed(&self) -> Option<&'a [u8]> {
        match self.0 {
            Cow::Borrowed(b) => Some(b),
            Cow::Owned(_) => None,
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for zero-length data.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes as text if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Text with every non-printable byte escaped as `\xNN` (never loses a byte).
    pub fn escaped(&self) -> String {
        escape_bytes(&self.0)
    }

    /// Lower-case hexadecimal of the bytes.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

/// Escapes bytes for display: printable ASCII as is, `\\` and `"` escaped,
/// everything else as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    escape_bytes_into(b, &mut s);
    s
}

/// Appends [`escape_bytes`] of `b` to `s` (without allocating a new string).
pub fn escape_bytes_into(b: &[u8], s: &mut String) {
    escape_with(b, s, false);
}

/// Appends [`escape_bytes`] of `b` to `s` as the inside of a JSON string
/// literal: the same text JSON-escaped, in one pass.
pub fn escape_bytes_json_into(b: &[u8], s: &mut String) {
    escape_with(b, s, true);
}

/// The escaping of [`escape_bytes`], JSON-escaped as well when `json`:
/// runs of printable bytes copied at once, the others written one by one.
fn escape_with(b: &[u8], s: &mut String, json: bool) {
    s.reserve(b.len());
    let mut rest = b;
    loop {
        let plain = rest
            .iter()
            .position(|&c| !(0x20..=0x7e).contains(&c) || c == b'\\' || c == b'"')
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(plain);
        // Printable ASCII: valid UTF-8.
        s.push_str(std::str::from_utf8(run).unwrap_or_default());
        let Some((&c, after)) = tail.split_first() else {
            return;
        };
        match (c, json) {
            (b'\\', false) => s.push_str("\\\\"),
            (b'"', false) => s.push_str("\\\""),
            // `\\` and `\"` JSON-escaped.
            (b'\\', true) => s.push_str("\\\\\\\\"),
            (b'"', true) => s.push_str("\\\\\\\""),
            (_, false) => {
                s.push_str("\\x");
                s.push(char::from(HEX[(c >> 4) as usize]));
                s.push(char::from(HEX[(c & 15) as usize]));
            }
            // `\xNN` JSON-escaped.
            (_, true) => {
                s.push_str("\\\\x");
                s.push(char::from(HEX[(c >> 4) as usize]));
                s.push(char::from(HEX[(c & 15) as usize]));
            }
        }
        rest = after;
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Compares two byte arrays in byte order (as `[u8; N]`'s `Ord` does),
/// eight bytes at a time as big-endian words instead of through `memcmp`.
#[inline]
pub fn cmp_bytes<const N: usize>(a: &[u8; N], b: &[u8; N]) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        let (mut wp, mut wq) = ([0u8; 8], [0u8; 8]);
        wp.copy_from_slice(p);
        wq.copy_from_slice(q);
        match u64::from_be_bytes(wp).cmp(&u64::from_be_bytes(wq)) {
            std::cmp::Ordering::Equal => {}
            other => return other,
        }
    }
    x.remainder().cmp(y.remainder())
}

/// Lower-case hexadecimal of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    hex_into(b, &mut s);
    s
}

/// Appends the lower-case hexadecimal of `b` to `s`.
pub fn hex_into(b: &[u8], s: &mut String) {
    s.reserve(b.len().saturating_mul(2));
    // Small: zeroed on every call (most values are ids of 8 to 16 bytes).
    let mut buf = [0u8; 128];
    for chunk in b.chunks(buf.len() / 2) {
        for (pair, &c) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = HEX[(c >> 4) as usize];
            pair[1] = HEX[(c & 15) as usize];
        }
        let used = buf.get(..chunk.len() * 2).unwrap_or_default();
        s.push_str(std::str::from_utf8(used).unwrap_or_default());
    }
}

/// True when most bytes are printable text (then escaped text reads better than hex).
fn mostly_text(b: &[u8]) -> bool {
    let printable = b.iter().filter(|&&c| (0x20..0x7f).contains(&c)).count();
    // A trailing NUL (Ganesha's server scope) does not make text binary.
    let trailing_nul = usize::from(b.last() == Some(&0));
    printable + trailing_nul >= b.len() * 3 / 4
}

impl fmt::Debug for Opaque<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if mostly_text(&self.0) {
            write!(f, "\"{}\"", escape_bytes(&self.0))
        } else {
            write!(f, "0x{}", hex(&self.0))
        }
    }
}

impl fmt::Display for Opaque<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<'a> From<&'a [u8]> for Opaque<'a> {
    fn from(b: &'a [u8]) -> Self {
        Opaque(Cow::Borrowed(b))
    }
}

impl<'a> From<&'a str> for Opaque<'a> {
    fn from(s: &'a str) -> Self {
        Opaque(Cow::Borrowed(s.as_bytes()))
    }
}

impl From<Vec<u8>> for Opaque<'static> {
    fn from(b: Vec<u8>) -> Self {
        Opaque(Cow::Owned(b))
    }
}

impl From<String> for Opaque<'static> {
    fn from(s: String) -> Self {
        Opaque(Cow::Owned(s.into_bytes()))
    }
}

impl<'a> Xdr<'a> for Opaque<'a> {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn decode(r: &mut Reader<'a>) -> XdrResult<Self> {
        Ok(Opaque(Cow::Borrowed(r.opaque()?)))
    }
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.put_opaque(&self.0)
    }
}

impl IntoStatic for Opaque<'_> {
    type Static = Opaque<'static>;
    fn into_static(self) -> Opaque<'static> {
        Opaque(Cow::Owned(self.0.into_owned()))
    }
}

#[cfg(any(test, feature = "arbitrary"))]
impl<'a> arbitrary::Arbitrary<'a> for Opaque<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let b: &'a [u8] = u.arbitrary()?;
        Ok(Opaque(Cow::Borrowed(b)))
    }
}
