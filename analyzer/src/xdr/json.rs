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

use super::{List, Opaque};
use std::fmt::Write;

/// A JSON text being written; tracks where commas go.
#[derive(Debug, Default, Clone)]
pub struct JsonOut {
    s: String,
    /// One entry per open container: true once it holds an element.
    filled: Vec<bool>,
    /// True right after a key (the value needs no comma).
    after_key: bool,
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

    /// Empties the output for reuse (keeps its capacity).
    pub fn clear(&mut self) {
        self.s.clear();
        self.filled.clear();
        self.after_key = false;
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

    /// Writes a string value.
    pub fn string(&mut self, v: &str) {
        self.sep();
        push_json_str(&mut self.s, v);
    }

    /// Writes a number (any integer).
    pub fn number(&mut self, v: impl Into<i128>) {
        self.sep();
        let _ = write!(self.s, "{}", v.into());
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
}

/// Appends `v` as a JSON string literal.
pub fn push_json_str(s: &mut String, v: &str) {
    s.push('"');
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
        // The escaped text as a JSON string, without building it first.
        out.sep();
        out.s.push('"');
        super::escape_bytes_json_into(self.as_bytes(), &mut out.s);
        out.s.push('"');
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
