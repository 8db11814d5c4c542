//! GSS-API context tokens, as far as a capture can read them: the
//! mechanism of an initial context token (RFC 2743 §3.1) and, for Kerberos
//! V5 (RFC 4121 §4.1), the **target principal** (the acceptor's name) that
//! the AP-REQ's ticket names in its clear part (RFC 4120 §5.3, §5.5.1),
//! also inside a SPNEGO NegTokenInit (RFC 4178 §4.2.1).
//!
//! The client principal is not on the wire: it is in the ticket's encrypted
//! part and in the encrypted authenticator. Nothing here claims it.
//!
//! The DER reader is bounded: every length is checked against the bytes of
//! its enclosing value before it is used, nothing is allocated from a
//! claimed length (only bytes present are copied), constructed values nest
//! at most [`MAX_DEPTH`] deep, and every failure is a typed
//! [`TokenError`] with its offset in the token.

use std::fmt;

/// Deepest nesting of constructed DER values read.
pub const MAX_DEPTH: usize = 24;

/// Most components a target principal name may have here.
pub const MAX_NAME_COMPONENTS: usize = 16;

/// Most bytes of a target principal (components and realm together).
pub const MAX_NAME_BYTES: usize = 1024;

/// `TOK_ID` of a Kerberos V5 AP-REQ context token (RFC 4121 §4.1).
pub const TOK_ID_AP_REQ: u16 = 0x0100;

/// DER encoding (contents) of the Kerberos V5 mechanism OID
/// 1.2.840.113554.1.2.2 (RFC 4121 §1).
pub const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// DER contents of 1.2.840.48018.1.2.2, the Kerberos V5 OID some Microsoft
/// implementations send inside SPNEGO.
pub const OID_KRB5_LEGACY: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// DER contents of the SPNEGO mechanism OID 1.3.6.1.5.5.2 (RFC 4178).
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

// DER tags (RFC 4120 §5 and X.690): universal, application and
// context-specific constructed forms.
const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_GENERAL_STRING: u8 = 0x1b;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_GSS_FRAMING: u8 = 0x60;
const TAG_TICKET: u8 = 0x61;
const TAG_AP_REQ: u8 = 0x6e;

/// `[n]` context-specific constructed tag.
const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// A GSS-API mechanism, by its object identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mech {
    /// Kerberos V5, 1.2.840.113554.1.2.2.
    Krb5,
    /// Kerberos V5 under the legacy Microsoft OID 1.2.840.48018.1.2.2.
    Krb5Legacy,
    /// SPNEGO, 1.3.6.1.5.5.2.
    Spnego,
    /// Another mechanism: the DER contents of its OID.
    Other(Vec<u8>),
}

impl Mech {
    /// The mechanism of the DER contents of an OID.
    pub fn from_oid(oid: &[u8]) -> Mech {
        match oid {
            OID_KRB5 => Mech::Krb5,
            OID_KRB5_LEGACY => Mech::Krb5Legacy,
            OID_SPNEGO => Mech::Spnego,
            other => Mech::Other(other.to_vec()),
        }
    }

    /// The DER contents of its OID.
    pub fn oid(&self) -> &[u8] {
        match self {
            Mech::Krb5 => OID_KRB5,
            Mech::Krb5Legacy => OID_KRB5_LEGACY,
            Mech::Spnego => OID_SPNEGO,
            Mech::Other(b) => b,
        }
    }

    /// True for Kerberos V5 (either OID).
    pub fn is_krb5(&self) -> bool {
        matches!(self, Mech::Krb5 | Mech::Krb5Legacy)
    }

    /// Its OID in dotted form (`1.2.840.113554.1.2.2`).
    pub fn dotted(&self) -> String {
        oid_dotted(self.oid())
    }

    /// A short name: `krb5`, `spnego`, or the dotted OID.
    pub fn name(&self) -> String {
        match self {
            Mech::Krb5 | Mech::Krb5Legacy => "krb5".into(),
            Mech::Spnego => "spnego".into(),
            Mech::Other(_) => self.dotted(),
        }
    }
}

impl fmt::Display for Mech {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The dotted form of the DER contents of an OID; an arc too large for 64
/// bits or a last arc cut short is shown as `?`.
pub fn oid_dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<Option<u64>> = Vec::new();
    let mut acc: Option<u64> = Some(0);
    let mut open = false;
    for &b in oid {
        acc = acc
            .and_then(|a| a.checked_mul(128))
            .and_then(|a| a.checked_add(u64::from(b & 0x7f)));
        open = b & 0x80 != 0;
        if !open {
            arcs.push(acc);
            acc = Some(0);
        }
    }
    if open {
        arcs.push(None);
    }
    let mut parts: Vec<String> = Vec::new();
    for (i, arc) in arcs.into_iter().enumerate() {
        match (i, arc) {
            (0, Some(v)) => {
                let first = (v / 40).min(2);
                parts.push(first.to_string());
                parts.push((v - first * 40).to_string());
            }
            (_, Some(v)) => parts.push(v.to_string()),
            (_, None) => parts.push("?".into()),
        }
    }
    parts.join(".")
}

/// A Kerberos principal name with its realm (RFC 4120 §5.2.2, §6.2).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KrbPrincipal {
    /// `name-type` (NT-SRV-HST is 3, NT-PRINCIPAL 1).
    pub name_type: i32,
    /// `name-string`: the components, in order.
    pub components: Vec<Vec<u8>>,
    /// The realm.
    pub realm: Vec<u8>,
}

/// Appends one name part: printable ASCII as is, `/` `@` and `\` escaped
/// with a backslash (as Kerberos writes names), other bytes as `\xNN`.
fn push_name_part(s: &mut String, part: &[u8]) {
    for &b in part {
        match b {
            b'/' | b'@' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7e => s.push(char::from(b)),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
}

impl fmt::Display for KrbPrincipal {
    /// `comp1/comp2@REALM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                s.push('/');
            }
            push_name_part(&mut s, c);
        }
        s.push('@');
        push_name_part(&mut s, &self.realm);
        f.write_str(&s)
    }
}

/// What an initiator's first context token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiatorToken {
    /// The token's mechanism (`thisMech`).
    pub mech: Mech,
    /// For SPNEGO: the mechanism of its optimistic token.
    pub negotiated: Option<Mech>,
    /// The target principal named by the Kerberos ticket.
    pub target: KrbPrincipal,
}

impl InitiatorToken {
    /// The Kerberos mechanism actually used: the token's, or the one SPNEGO
    /// carries.
    pub fn kerberos_mech(&self) -> &Mech {
        self.negotiated.as_ref().unwrap_or(&self.mech)
    }

    /// `krb5`, or `spnego(krb5)` for Kerberos V5 inside SPNEGO.
    pub fn mech_text(&self) -> String {
        match &self.negotiated {
            Some(inner) => format!("{}({inner})", self.mech),
            None => self.mech.to_string(),
        }
    }
}

/// Why a token did not give a target principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorKind {
    /// The bytes are not a GSS initial context token (no `[APPLICATION 0]`
    /// framing): e.g. a continuation token.
    NotInitialToken,
    /// A mechanism other than Kerberos V5 (or SPNEGO around it).
    NotKerberos,
    /// A Kerberos V5 token that is not an AP-REQ (its `TOK_ID`).
    NotApReq(u16),
    /// A SPNEGO token without an optimistic mechanism token.
    NoMechToken,
    /// The token ends inside this element.
    Cut(&'static str),
    /// This element is not what RFC 4120 / RFC 4178 / X.690 allow.
    Malformed(&'static str),
    /// Constructed values nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The target principal has more than [`MAX_NAME_COMPONENTS`]
    /// components or [`MAX_NAME_BYTES`] bytes.
    NameTooLong,
}

/// A token that did not give a target principal: why, where, and the
/// mechanism when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// Why.
    pub kind: TokenErrorKind,
    /// Offset in the token of the element concerned.
    pub offset: usize,
    /// The token's mechanism, when its framing was read.
    pub mech: Option<Mech>,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mech = self.mech.as_ref().map_or(String::new(), |m| m.dotted());
        match self.kind {
            TokenErrorKind::NotInitialToken => write!(f, "not a GSS initial context token"),
            TokenErrorKind::NotKerberos => write!(f, "mechanism {mech} is not Kerberos V5"),
            TokenErrorKind::NotApReq(id) => {
                write!(f, "Kerberos token {id:#06x} is not an AP-REQ")
            }
            TokenErrorKind::NoMechToken => {
                write!(f, "SPNEGO token without a mechanism token")
            }
            TokenErrorKind::Cut(what) => {
                write!(f, "token cut in {what} (byte {})", self.offset)
            }
            TokenErrorKind::Malformed(what) => {
                write!(f, "malformed {what} (byte {})", self.offset)
            }
            TokenErrorKind::TooDeep => write!(
                f,
                "values nested deeper than {MAX_DEPTH} (byte {})",
                self.offset
            ),
            TokenErrorKind::NameTooLong => {
                write!(f, "target name too long (byte {})", self.offset)
            }
        }
    }
}

impl std::error::Error for TokenError {}

/// One DER value: its tag, its contents, and where they are in the token.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    /// Offset of the tag.
    at: usize,
    /// Offset of the contents.
    value_at: usize,
}

/// A bounded DER reader over the contents of one value. `cut` says the
/// value's declared length was longer than the bytes present: an element
/// that runs past the end is then a cut token, else a malformed one.
#[derive(Debug, Clone, Copy)]
struct Der<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes[0]` in the token.
    base: usize,
    depth: usize,
    cut: bool,
}

fn err(kind: TokenErrorKind, offset: usize) -> TokenError {
    TokenError {
        kind,
        offset,
        mech: None,
    }
}

impl<'a> Der<'a> {
    /// A reader over a whole token.
    fn token(bytes: &'a [u8]) -> Self {
        Der {
            bytes,
            pos: 0,
            base: 0,
            depth: 0,
            cut: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The error for an element that runs past the end of this value.
    fn past_end(&self, what: &'static str, at: usize) -> TokenError {
        if self.cut || self.depth == 0 {
            err(TokenErrorKind::Cut(what), at)
        } else {
            err(
                TokenErrorKind::Malformed("length past its enclosing value"),
                at,
            )
        }
    }

    /// The next `n` raw bytes.
    fn raw(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TokenError> {
        let at = self.offset();
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.past_end(what, at))?;
        let b = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.past_end(what, at))?;
        self.pos = end;
        Ok(b)
    }

    /// The length octets at the reader's position: (length, octets read).
    fn length(&self, what: &'static str, at: usize) -> Result<(usize, usize), TokenError> {
        let first = *self
            .bytes
            .get(self.pos + 1)
            .ok_or_else(|| self.past_end(what, at))?;
        match first {
            0..=0x7f => Ok((usize::from(first), 1)),
            0x80 => Err(err(TokenErrorKind::Malformed("indefinite length"), at)),
            0x81..=0x84 => {
                let n = usize::from(first & 0x7f);
                let octets = self
                    .bytes
                    .get(self.pos + 2..self.pos + 2 + n)
                    .ok_or_else(|| self.past_end(what, at))?;
                let len = octets.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
                let len = usize::try_from(len).map_err(|_| self.past_end(what, at))?;
                Ok((len, 1 + n))
            }
            _ => Err(err(
                TokenErrorKind::Malformed("length longer than 4 bytes"),
                at,
            )),
        }
    }

    /// The next value; its length is checked against what remains.
    fn next(&mut self, what: &'static str) -> Result<Tlv<'a>, TokenError> {
        let at = self.offset();
        let tag = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.past_end(what, at))?;
        if tag & 0x1f == 0x1f {
            return Err(err(TokenErrorKind::Malformed("high-number tag"), at));
        }
        let (len, len_octets) = self.length(what, at)?;
        let start = self.pos + 1 + len_octets;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| self.past_end(what, at))?;
        let value = self.bytes.get(start..end).unwrap_or_default();
        self.pos = end;
        Ok(Tlv {
            tag,
            value,
            at,
            value_at: self.base + start,
        })
    }

    /// The next value, which must have tag `tag`.
    fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, TokenError> {
        let t = self.next(what)?;
        if t.tag != tag {
            return Err(err(TokenErrorKind::Malformed(what), t.at));
        }
        Ok(t)
    }

    /// A reader over the contents of `t`, one level deeper.
    fn enter(&self, t: &Tlv<'a>) -> Result<Der<'a>, TokenError> {
        if self.depth >= MAX_DEPTH {
            return Err(err(TokenErrorKind::TooDeep, t.at));
        }
        Ok(Der {
            bytes: t.value,
            pos: 0,
            base: t.value_at,
            depth: self.depth + 1,
            cut: false,
        })
    }

    /// The first value, which must have tag `tag`, and a reader over its
    /// contents; a value declared longer than the bytes present is read
    /// as far as they go (a cut token: what runs past them says so).
    fn enter_clamped(&self, tag: u8, what: &'static str) -> Result<Der<'a>, TokenError> {
        let at = self.offset();
        let found = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.past_end(what, at))?;
        if found != tag {
            return Err(err(TokenErrorKind::Malformed(what), at));
        }
        let (len, len_octets) = self.length(what, at)?;
        let start = self.pos + 1 + len_octets;
        let present = self.bytes.len().saturating_sub(start);
        if len > present && !self.cut && self.depth > 0 {
            return Err(self.past_end(what, at));
        }
        if len <= present && start + len != self.bytes.len() {
            return Err(err(
                TokenErrorKind::Malformed("bytes after the token"),
                self.base + start + len,
            ));
        }
        if self.depth >= MAX_DEPTH {
            return Err(err(TokenErrorKind::TooDeep, at));
        }
        Ok(Der {
            bytes: self
                .bytes
                .get(start..start + len.min(present))
                .unwrap_or_default(),
            pos: 0,
            base: self.base + start,
            depth: self.depth + 1,
            cut: len > present,
        })
    }
}

/// An INTEGER that fits in 32 bits (two's complement).
fn int32(t: &Tlv<'_>, what: &'static str) -> Result<i32, TokenError> {
    if t.tag != TAG_INTEGER || t.value.is_empty() || t.value.len() > 4 {
        return Err(err(TokenErrorKind::Malformed(what), t.at));
    }
    let negative = t.value.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    let v = t.value.iter().fold(init, |a, b| (a << 8) | i64::from(*b));
    i32::try_from(v).map_err(|_| err(TokenErrorKind::Malformed(what), t.at))
}

/// `[n] INTEGER` (an explicitly tagged Int32).
fn tagged_int32(outer: &Der<'_>, t: &Tlv<'_>, what: &'static str) -> Result<i32, TokenError> {
    let mut inner = outer.enter(t)?;
    let i = inner.next(what)?;
    int32(&i, what)
}

/// `[n] INTEGER` that must equal `want`; else malformed `wrong`.
fn tagged_int32_is(
    outer: &Der<'_>,
    t: &Tlv<'_>,
    what: &'static str,
    want: i32,
    wrong: &'static str,
) -> Result<(), TokenError> {
    if tagged_int32(outer, t, what)? == want {
        Ok(())
    } else {
        Err(err(TokenErrorKind::Malformed(wrong), t.at))
    }
}

/// A `KerberosString` (GeneralString).
fn kerberos_string<'a>(t: &Tlv<'a>, what: &'static str) -> Result<&'a [u8], TokenError> {
    if t.tag != TAG_GENERAL_STRING {
        return Err(err(TokenErrorKind::Malformed(what), t.at));
    }
    Ok(t.value)
}

/// `PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1]
/// SEQUENCE OF KerberosString }`: (name-type, components).
fn principal_name(
    outer: &Der<'_>,
    t: &Tlv<'_>,
    budget: &mut usize,
) -> Result<(i32, Vec<Vec<u8>>), TokenError> {
    let mut wrapper = outer.enter(t)?;
    let seq_tlv = wrapper.expect(TAG_SEQUENCE, "PrincipalName")?;
    let mut seq = wrapper.enter(&seq_tlv)?;
    let (mut name_type, mut components) = (None, None);
    while !seq.is_empty() {
        let f = seq.next("PrincipalName field")?;
        match f.tag {
            x if x == ctx(0) => name_type = Some(tagged_int32(&seq, &f, "name-type")?),
            x if x == ctx(1) => components = Some(name_string(&seq, &f, budget)?),
            _ => {}
        }
    }
    match (name_type, components) {
        (Some(n), Some(c)) => Ok((n, c)),
        _ => Err(err(
            TokenErrorKind::Malformed("PrincipalName without name-type or name-string"),
            t.at,
        )),
    }
}

/// `name-string [1] SEQUENCE OF KerberosString`, within the name budget.
fn name_string(
    outer: &Der<'_>,
    t: &Tlv<'_>,
    budget: &mut usize,
) -> Result<Vec<Vec<u8>>, TokenError> {
    let mut wrapper = outer.enter(t)?;
    let seq_tlv = wrapper.expect(TAG_SEQUENCE, "name-string")?;
    let mut seq = wrapper.enter(&seq_tlv)?;
    let mut out = Vec::new();
    while !seq.is_empty() {
        let c = seq.next("name-string component")?;
        let bytes = kerberos_string(&c, "name-string component")?;
        if out.len() >= MAX_NAME_COMPONENTS || bytes.len() > *budget {
            return Err(err(TokenErrorKind::NameTooLong, c.at));
        }
        *budget -= bytes.len();
        out.push(bytes.to_vec());
    }
    Ok(out)
}

/// `Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname
/// [2], enc-part [3] }`: the realm and sname (the clear part).
fn ticket(outer: &Der<'_>, t: &Tlv<'_>) -> Result<KrbPrincipal, TokenError> {
    let mut wrapper = outer.enter(t)?;
    let app = wrapper.expect(TAG_TICKET, "Ticket")?;
    let mut app_der = wrapper.enter(&app)?;
    let seq_tlv = app_der.expect(TAG_SEQUENCE, "Ticket SEQUENCE")?;
    let mut seq = app_der.enter(&seq_tlv)?;
    let mut budget = MAX_NAME_BYTES;
    let (mut realm, mut sname) = (None, None);
    while !seq.is_empty() && (realm.is_none() || sname.is_none()) {
        let f = seq.next("Ticket field")?;
        match f.tag {
            x if x == ctx(0) => tagged_int32_is(&seq, &f, "tkt-vno", 5, "tkt-vno is not 5")?,
            x if x == ctx(1) => {
                let mut w = seq.enter(&f)?;
                let r = w.next("realm")?;
                let bytes = kerberos_string(&r, "realm")?;
                if bytes.len() > budget {
                    return Err(err(TokenErrorKind::NameTooLong, r.at));
                }
                budget -= bytes.len();
                realm = Some(bytes.to_vec());
            }
            x if x == ctx(2) => sname = Some(principal_name(&seq, &f, &mut budget)?),
            _ => {}
        }
    }
    match (realm, sname) {
        (Some(realm), Some((name_type, components))) => Ok(KrbPrincipal {
            name_type,
            components,
            realm,
        }),
        _ => Err(err(
            TokenErrorKind::Malformed("Ticket without realm or sname"),
            t.at,
        )),
    }
}

/// `AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1],
/// ap-options [2], ticket [3], authenticator [4] }`: the ticket's target.
fn ap_req(der: &mut Der<'_>) -> Result<KrbPrincipal, TokenError> {
    let app = der.expect(TAG_AP_REQ, "AP-REQ")?;
    let mut app_der = der.enter(&app)?;
    let seq_tlv = app_der.expect(TAG_SEQUENCE, "AP-REQ SEQUENCE")?;
    let mut seq = app_der.enter(&seq_tlv)?;
    while !seq.is_empty() {
        let f = seq.next("AP-REQ field")?;
        match f.tag {
            x if x == ctx(0) => tagged_int32_is(&seq, &f, "pvno", 5, "pvno is not 5")?,
            x if x == ctx(1) => {
                tagged_int32_is(&seq, &f, "msg-type", 14, "msg-type is not KRB_AP_REQ (14)")?
            }
            x if x == ctx(3) => return ticket(&seq, &f),
            _ => {}
        }
    }
    Err(err(
        TokenErrorKind::Malformed("AP-REQ without a ticket"),
        app.at,
    ))
}

/// The Kerberos V5 inner context token (RFC 4121 §4.1): `TOK_ID` then
/// the AP-REQ.
fn krb5_inner(der: &mut Der<'_>) -> Result<KrbPrincipal, TokenError> {
    let at = der.offset();
    let id = der.raw(2, "TOK_ID")?;
    let tok_id = id.iter().fold(0u16, |a, b| (a << 8) | u16::from(*b));
    if tok_id != TOK_ID_AP_REQ {
        return Err(err(TokenErrorKind::NotApReq(tok_id), at));
    }
    let principal = ap_req(der)?;
    if der.cut {
        // What the name needs is there, but the token is not whole.
        return Err(err(
            TokenErrorKind::Cut("the AP-REQ after the target name"),
            der.base + der.bytes.len(),
        ));
    }
    Ok(principal)
}

/// `NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, ... }`,
/// `NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken
/// [2] OCTET STRING, mechListMIC [3] }`: the mechanism token's target.
fn spnego_inner(der: &mut Der<'_>) -> Result<InitiatorToken, TokenError> {
    let init = der.expect(ctx(0), "NegTokenInit")?;
    let mut wrapper = der.enter(&init)?;
    let seq_tlv = wrapper.expect(TAG_SEQUENCE, "NegTokenInit SEQUENCE")?;
    let mut seq = wrapper.enter(&seq_tlv)?;
    while !seq.is_empty() {
        let f = seq.next("NegTokenInit field")?;
        if f.tag != ctx(2) {
            continue;
        }
        let mut w = seq.enter(&f)?;
        let octets = w.expect(TAG_OCTET_STRING, "mechToken")?;
        let mut inner = w.enter(&octets)?;
        let token = initial_token(&mut inner)?;
        if token.mech == Mech::Spnego || token.negotiated.is_some() {
            return Err(err(
                TokenErrorKind::Malformed("SPNEGO inside SPNEGO"),
                octets.value_at,
            ));
        }
        return Ok(token);
    }
    Err(err(TokenErrorKind::NoMechToken, init.at))
}

/// An `InitialContextToken` (RFC 2743 §3.1) at the reader's position, to
/// the end of its bytes.
fn initial_token(der: &mut Der<'_>) -> Result<InitiatorToken, TokenError> {
    if der.bytes.get(der.pos) != Some(&TAG_GSS_FRAMING) {
        return Err(err(TokenErrorKind::NotInitialToken, der.offset()));
    }
    let mut body = der.enter_clamped(TAG_GSS_FRAMING, "initial context token")?;
    der.pos = der.bytes.len();
    let oid = body.expect(TAG_OID, "thisMech")?;
    let mech = Mech::from_oid(oid.value);
    let with_mech = |mut e: TokenError| {
        e.mech.get_or_insert_with(|| mech.clone());
        e
    };
    match mech {
        Mech::Krb5 | Mech::Krb5Legacy => {
            let target = krb5_inner(&mut body).map_err(with_mech)?;
            Ok(InitiatorToken {
                mech,
                negotiated: None,
                target,
            })
        }
        Mech::Spnego => {
            // The inner token read as Kerberos V5, or an error.
            let inner = spnego_inner(&mut body).map_err(with_mech)?;
            if body.cut {
                return Err(with_mech(err(
                    TokenErrorKind::Cut("the SPNEGO token after the mechanism token"),
                    body.base + body.bytes.len(),
                )));
            }
            Ok(InitiatorToken {
                mech,
                negotiated: Some(inner.mech),
                target: inner.target,
            })
        }
        Mech::Other(_) => Err(with_mech(err(TokenErrorKind::NotKerberos, oid.at))),
    }
}

/// Reads an initiator's first context token (the `gss_token` of an
/// RPCSEC_GSS_INIT call): its mechanism and the target principal its
/// Kerberos ticket names.
pub fn parse_initiator_token(token: &[u8]) -> Result<InitiatorToken, TokenError> {
    let mut der = Der::token(token);
    if token.is_empty() {
        return Err(err(TokenErrorKind::Cut("initial context token"), 0));
    }
    initial_token(&mut der)
}

/// The mechanism of a token framed as an initial context token (RFC 2743
/// §3.1; Kerberos V5 frames its AP-REP that way too), or `None` when the
/// framing or the OID cannot be read.
pub fn framed_mech(token: &[u8]) -> Option<Mech> {
    let der = Der::token(token);
    if token.first() != Some(&TAG_GSS_FRAMING) {
        return None;
    }
    let mut body = der
        .enter_clamped(TAG_GSS_FRAMING, "initial context token")
        .ok()?;
    let oid = body.expect(TAG_OID, "thisMech").ok()?;
    Some(Mech::from_oid(oid.value))
}

#[cfg(test)]
pub(crate) mod tests;
