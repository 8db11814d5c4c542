//! JSON rendering of decoded wire values (for `trunkcheck decode --json` and
//! reports), written straight into a `String` without an intermediate tree.
//!
//! Conventions: structs are objects keyed by their RFC field names; enums are
//! their RFC names (a number when no RFC names the value); flag sets are
//! `"A|B|0x100"` strings; opaque data and strings are text with every
//! non-printable byte escaped as `\xNN` (lossless: a literal backslash is
//! `\\`); fixed-size opaques (verifiers, session ids) and client IDs are
//! hexadecimal strings; a union arm with data is `{"ARM_NAME": data}` and a
//! void arm is `"ARM_NAME"`.
//!
//! File data (the `data` of READ and WRITE, the `d_data` of a READ_PLUS
//! segment) is written as [`JsonOut::set_payload`] says: escaped text (the
//! default here), hexadecimal, or only its length in bytes.

use super::{List, Opaque};
use std::fmt::Write;

/// How file data (READ/WRITE payload) is written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    /// Text with non-printable bytes escaped as `\xNN`, as any opaque.
    #[default]
    Escaped,
    /// Lower-case hexadecimal.
    Hex,
    /// Only the number of bytes (a JSON number).
    Len,
}

/// A JSON text being written; tracks where commas go.
#[derive(Debug, Default, Clone)]
pub struct JsonOut {
    s: String,
    /// One entry per open container: true once it holds an element.
    filled: Vec<bool>,
    /// True right after a key (the value needs no comma).
    after_key: bool,
    /// How file data is written.
    payload: PayloadMode,
    /// A file-data field's value is being written.
    in_payload: bool,
}

impl JsonOut {
    /// An empty output.
    pub fn new() -> Self {
        JsonOut::default()
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        &self.s
    }

    /// The text.
    pub fn into_string(self) -> String {
        self.s
    }

    /// Empties the output for reuse (keeps its capacity and payload mode).
    pub fn clear(&mut self) {
        self.s.clear();
        self.filled.clear();
        self.after_key = false;
        self.in_payload = false;
    }

    /// How file data is written from now on.
    pub fn set_payload(&mut self, mode: PayloadMode) {
        self.payload = mode;
    }

    fn sep(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(f) = self.filled.last_mut() {
            if *f {
                self.s.push(',');
            }
            *f = true;
        }
    }

    /// Opens an object.
    pub fn begin_object(&mut self) {
        self.sep();
        self.s.push('{');
        self.filled.push(false);
    }

    /// Closes the innermost object.
    pub fn end_object(&mut self) {
        self.s.push('}');
        self.filled.pop();
    }

    /// Opens an array.
    pub fn begin_array(&mut self) {
        self.sep();
        self.s.push('[');
        self.filled.push(false);
    }

    /// Closes the innermost array.
    pub fn end_array(&mut self) {
        self.s.push(']');
        self.filled.pop();
    }

    /// Writes an object key; the next value written is its value.
    pub fn key(&mut self, k: &str) {
        self.sep();
        push_json_str(&mut self.s, k);
        self.s.push(':');
        self.after_key = true;
    }

    /// Writes a string value made by `f`, which appends text that needs no
    /// JSON escaping (printable ASCII without `"` or `\\`: numbers,
    /// addresses, names), without an intermediate string.
    pub fn plain_string_with(&mut self, f: impl FnOnce(&mut String)) {
        self.sep();
        self.s.push('"');
        let start = self.s.len();
        f(&mut self.s);
        debug_assert!(is_plain(self.s.as_bytes().get(start..).unwrap_or_default()));
        self.s.push('"');
    }

    /// Writes a string value.
    pub fn string(&mut self, v: &str) {
        self.sep();
        push_json_str(&mut self.s, v);
    }

    /// Writes a number (any integer).
    pub fn number(&mut self, v: impl Into<i128>) {
        self.sep();
        push_int(&mut self.s, v.into());
    }

    /// Writes a floating-point number (non-finite values as null).
    pub fn float(&mut self, v: f64) {
        self.sep();
        if v.is_finite() {
            let _ = write!(self.s, "{v}");
        } else {
            self.s.push_str("null");
        }
    }

    /// Writes a boolean.
    pub fn boolean(&mut self, v: bool) {
        self.sep();
        self.s.push_str(if v { "true" } else { "false" });
    }

    /// Writes null.
    pub fn null(&mut self) {
        self.sep();
        self.s.push_str("null");
    }

    /// Writes `key: value` for any `ToJson` value.
    pub fn field<T: ToJson + ?Sized>(&mut self, k: &str, v: &T) {
        self.key(k);
        v.to_json(self);
    }

    /// Writes `key: value` where the value is file data (see
    /// [`set_payload`](Self::set_payload)).
    pub fn payload_field<T: ToJson + ?Sized>(&mut self, k: &str, v: &T) {
        self.key(k);
        self.in_payload = true;
        v.to_json(self);
        self.in_payload = false;
    }
}

/// Writes a field of an XDR struct: the file-data fields (`data` of READ
/// and WRITE, `d_data` of READ_PLUS) as payload, the others as they are.
#[inline]
pub fn struct_field<T: ToJson + ?Sized>(out: &mut JsonOut, k: &str, v: &T) {
    if matches!(k, "data" | "d_data") {
        out.payload_field(k, v)
    } else {
        out.field(k, v)
    }
}

/// Two decimal digits of every number below 100.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `v` in decimal (as `Display` does).
fn push_int(s: &mut String, v: i128) {
    let (neg, m) = (v < 0, v.unsigned_abs());
    let Ok(mut m) = u64::try_from(m) else {
        let _ = write!(s, "{v}");
        return;
    };
    let mut buf = [0u8; 21];
    let mut i = buf.len();
    while m >= 100 {
        let pair = (m % 100) as usize * 2;
        m /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if m >= 10 {
        let pair = m as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + m as u8;
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    for &c in buf.get(i..).unwrap_or_default() {
        s.push(char::from(c));
    }
}

/// True when some byte of the word `x` needs JSON escaping: one below
/// 0x20, `"` or `\\` (exact tests for a byte below a bound and for a
/// zero byte, eight bytes at a time).
#[inline]
fn word_needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS != 0;
    below(x, 0x20)
        || below(x ^ (ONES * u64::from(b'"')), 1)
        || below(x ^ (ONES * u64::from(b'\\')), 1)
}

/// True when no byte of `b` needs JSON escaping.
fn is_plain(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if word_needs_escape(u64::from_le_bytes(w)) {
            return false;
        }
    }
    // The last bytes in a word padded with a plain letter.
    let rest = chunks.remainder();
    let mut w = [b'a'; 8];
    if let Some(dst) = w.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    !word_needs_escape(u64::from_le_bytes(w))
}

/// Appends `v` as a JSON string literal.
pub fn push_json_str(s: &mut String, v: &str) {
    s.push('"');
    if is_plain(v.as_bytes()) {
        s.push_str(v);
        s.push('"');
        return;
    }
    let mut rest = v;
    // Runs without a character to escape go in at once; every character
    // escaped is ASCII, so the cuts fall on character boundaries.
    while let Some(i) = rest
        .bytes()
        .position(|b| b < 0x20 || b == b'"' || b == b'\\')
    {
        let (plain, tail) = rest.split_at(i);
        s.push_str(plain);
        let mut chars = tail.chars();
        match chars.next() {
            Some('"') => s.push_str("\\\""),
            Some('\\') => s.push_str("\\\\"),
            Some('\n') => s.push_str("\\n"),
            Some('\r') => s.push_str("\\r"),
            Some('\t') => s.push_str("\\t"),
            Some(c) => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            None => {}
        }
        rest = chars.as_str();
    }
    s.push_str(rest);
    s.push('"');
}

/// A value that renders itself as JSON.
pub trait ToJson {
    /// Writes the value to `out`.
    fn to_json(&self, out: &mut JsonOut);

    /// The value as a JSON text.
    fn to_json_string(&self) -> String {
        let mut o = JsonOut::new();
        self.to_json(&mut o);
        o.into_string()
    }
}

macro_rules! json_number {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self, out: &mut JsonOut) { out.number(*self) }
        }
    )*};
}
json_number!(u8, u16, u32, i32, u64, i64);

impl ToJson for bool {
    fn to_json(&self, out: &mut JsonOut) {
        out.boolean(*self)
    }
}

impl ToJson for () {
    fn to_json(&self, out: &mut JsonOut) {
        out.null()
    }
}

impl ToJson for str {
    fn to_json(&self, out: &mut JsonOut) {
        out.string(self)
    }
}

impl ToJson for String {
    fn to_json(&self, out: &mut JsonOut) {
        out.string(self)
    }
}

impl ToJson for Opaque<'_> {
    fn to_json(&self, out: &mut JsonOut) {
        let mode = if out.in_payload {
            out.payload
        } else {
            PayloadMode::Escaped
        };
        match mode {
            PayloadMode::Len => out.number(self.len() as u64),
            PayloadMode::Hex => {
                out.sep();
                out.s.push('"');
                super::hex_into(self.as_bytes(), &mut out.s);
                out.s.push('"');
            }
            PayloadMode::Escaped => {
                // The escaped text as a JSON string, without building it first.
                out.sep();
                out.s.push('"');
                super::escape_bytes_json_into(self.as_bytes(), &mut out.s);
                out.s.push('"');
            }
        }
    }
}

impl<const N: usize> ToJson for [u8; N] {
    fn to_json(&self, out: &mut JsonOut) {
        // Hexadecimal needs no JSON escaping.
        out.sep();
        out.s.push('"');
        super::hex_into(self, &mut out.s);
        out.s.push('"');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self, out: &mut JsonOut) {
        out.begin_array();
        for x in self {
            x.to_json(out);
        }
        out.end_array();
    }
}

impl<T: ToJson> ToJson for List<T> {
    fn to_json(&self, out: &mut JsonOut) {
        self.0.to_json(out)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self, out: &mut JsonOut) {
        match self {
            Some(x) => x.to_json(out),
            None => out.null(),
        }
    }
}

impl<T: ToJson> ToJson for Box<T> {
    fn to_json(&self, out: &mut JsonOut) {
        (**self).to_json(out)
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self, out: &mut JsonOut) {
        (**self).to_json(out)
    }
}

/// The last segment of a stringified path (`NfsStat4 :: NFS4_OK` → `NFS4_OK`).
pub fn arm_name(path: &'static str) -> &'static str {
    path.rsplit("::").next().unwrap_or(path).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_containers_with_commas() {
        let mut o = JsonOut::new();
        o.begin_object();
        o.field("a", &1u32);
        o.key("b");
        o.begin_array();
        o.string("x\"y\n");
        o.null();
        o.begin_object();
        o.end_object();
        o.end_array();
        o.field("c", &Opaque::from(&b"ab\x00\\"[..]));
        o.field("v", &[0xde_u8, 0xad]);
        o.end_object();
        assert_eq!(
            o.as_str(),
            r#"{"a":1,"b":["x\"y\n",null,{}],"c":"ab\\x00\\\\","v":"dead"}"#
        );
    }

    #[test]
    fn arm_names_drop_the_path() {
        assert_eq!(arm_name("NfsStat4 :: NFS4_OK"), "NFS4_OK");
        assert_eq!(arm_name("TRUE"), "TRUE");
    }
}
