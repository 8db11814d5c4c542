use super::*;

/// One DER value: tag, definite length (short or long form), contents.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        v.push(len as u8);
    } else {
        let octets: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        v.push(0x80 | octets.len() as u8);
        v.extend(octets);
    }
    v.extend_from_slice(contents);
    v
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn int(v: u8) -> Vec<u8> {
    der(TAG_INTEGER, &[v])
}

fn gstr(s: &str) -> Vec<u8> {
    der(TAG_GENERAL_STRING, s.as_bytes())
}

fn encrypted_data(fill: u8, len: usize) -> Vec<u8> {
    der(
        TAG_SEQUENCE,
        &cat(&[
            der(ctx(0), &int(18)),
            der(ctx(2), &der(TAG_OCTET_STRING, &vec![fill; len])),
        ]),
    )
}

/// A PrincipalName of `name_type` with these components.
fn principal_name(name_type: u8, components: &[&str]) -> Vec<u8> {
    let strings: Vec<Vec<u8>> = components.iter().map(|c| gstr(c)).collect();
    der(
        TAG_SEQUENCE,
        &cat(&[
            der(ctx(0), &int(name_type)),
            der(ctx(1), &der(TAG_SEQUENCE, &cat(&strings))),
        ]),
    )
}

/// A Ticket (RFC 4120 §5.3) for `sname@realm`, with an encrypted part.
fn ticket(realm: &str, sname: &[u8]) -> Vec<u8> {
    der(
        TAG_TICKET,
        &der(
            TAG_SEQUENCE,
            &cat(&[
                der(ctx(0), &int(5)),
                der(ctx(1), &gstr(realm)),
                der(ctx(2), sname),
                der(ctx(3), &encrypted_data(0xaa, 200)),
            ]),
        ),
    )
}

/// An AP-REQ (RFC 4120 §5.5.1) carrying `ticket`.
fn ap_req(ticket: &[u8]) -> Vec<u8> {
    der(
        TAG_AP_REQ,
        &der(
            TAG_SEQUENCE,
            &cat(&[
                der(ctx(0), &int(5)),
                der(ctx(1), &int(14)),
                der(ctx(2), &der(0x03, &[0, 0x20, 0, 0, 0])),
                der(ctx(3), ticket),
                der(ctx(4), &encrypted_data(0xbb, 120)),
            ]),
        ),
    )
}

/// A GSS initial context token of `oid` around `inner`.
fn framed(oid: &[u8], inner: &[u8]) -> Vec<u8> {
    der(TAG_GSS_FRAMING, &cat(&[der(TAG_OID, oid), inner.to_vec()]))
}

/// The Kerberos V5 initial token for nfs/srv.example.org@EXAMPLE.ORG.
fn krb5_token() -> Vec<u8> {
    krb5_token_for(&["nfs", "srv.example.org"], "EXAMPLE.ORG")
}

/// A Kerberos V5 initial token (an AP-REQ) whose ticket names
/// `components@realm` (NT-SRV-HST), for other modules' tests.
pub(crate) fn krb5_token_for(components: &[&str], realm: &str) -> Vec<u8> {
    let t = ticket(realm, &principal_name(3, components));
    framed(OID_KRB5, &cat(&[vec![0x01, 0x00], ap_req(&t)]))
}

/// A SPNEGO NegTokenInit offering Kerberos V5 with `mech_token`.
fn spnego(mech_token: &[u8]) -> Vec<u8> {
    let mech_types = der(ctx(0), &der(TAG_SEQUENCE, &der(TAG_OID, OID_KRB5)));
    let token = der(ctx(2), &der(TAG_OCTET_STRING, mech_token));
    framed(
        OID_SPNEGO,
        &der(ctx(0), &der(TAG_SEQUENCE, &cat(&[mech_types, token]))),
    )
}

fn kind(r: Result<InitiatorToken, TokenError>) -> TokenErrorKind {
    match r {
        Ok(t) => panic!("parsed: {t:?}"),
        Err(e) => e.kind,
    }
}

#[test]
fn a_kerberos_ap_req_names_its_target() {
    let t = parse_initiator_token(&krb5_token()).expect("valid token");
    assert_eq!(t.mech, Mech::Krb5);
    assert_eq!(t.negotiated, None);
    assert_eq!(t.target.name_type, 3);
    assert_eq!(t.target.to_string(), "nfs/srv.example.org@EXAMPLE.ORG");
    assert_eq!(t.kerberos_mech(), &Mech::Krb5);
}

#[test]
fn every_truncation_of_a_token_is_a_cut() {
    for token in [krb5_token(), spnego(&krb5_token())] {
        for n in 0..token.len() {
            let e = parse_initiator_token(&token[..n]).expect_err("truncated token");
            assert!(
                matches!(e.kind, TokenErrorKind::Cut(_)),
                "cut at {n}: {e:?}"
            );
            assert!(e.offset <= n, "cut at {n}: {e:?}");
        }
    }
}

#[test]
fn spnego_around_kerberos_names_the_same_target() {
    let t = parse_initiator_token(&spnego(&krb5_token())).expect("SPNEGO token");
    assert_eq!(t.mech, Mech::Spnego);
    assert_eq!(t.negotiated, Some(Mech::Krb5));
    assert_eq!(t.kerberos_mech(), &Mech::Krb5);
    assert_eq!(t.target.to_string(), "nfs/srv.example.org@EXAMPLE.ORG");
    // Without an optimistic token there is no target.
    let mech_types = der(ctx(0), &der(TAG_SEQUENCE, &der(TAG_OID, OID_KRB5)));
    let bare = framed(OID_SPNEGO, &der(ctx(0), &der(TAG_SEQUENCE, &mech_types)));
    let e = parse_initiator_token(&bare).expect_err("no mechToken");
    assert_eq!(e.kind, TokenErrorKind::NoMechToken);
    assert_eq!(e.mech, Some(Mech::Spnego));
}

#[test]
fn hostile_lengths_are_typed_errors_without_allocation() {
    // 4 GiB claimed by the framing: cut (nothing is allocated for it).
    let e = parse_initiator_token(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff, 0x06]).unwrap_err();
    assert!(matches!(e.kind, TokenErrorKind::Cut(_)), "{e:?}");
    let e = parse_initiator_token(&[0x60, 0x88, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap_err();
    assert_eq!(
        e.kind,
        TokenErrorKind::Malformed("length longer than 4 bytes")
    );
    let e = parse_initiator_token(&[0x60, 0x80, 0x06, 0x00, 0x00, 0x00]).unwrap_err();
    assert_eq!(e.kind, TokenErrorKind::Malformed("indefinite length"));
    let e = parse_initiator_token(&[0x60, 0x02, 0x1f, 0x00]).unwrap_err();
    assert_eq!(e.kind, TokenErrorKind::Malformed("high-number tag"));
    // Inside a whole token, a value longer than its enclosing one is
    // malformed, not cut: the name-string SEQUENCE claims 0x7f bytes.
    let token = krb5_token();
    let name_seq = token
        .windows(2)
        .position(|w| w == [ctx(1), 0x18])
        .expect("name-string in the test token");
    let mut bad = token.clone();
    bad[name_seq + 3] = 0x7f;
    let e = parse_initiator_token(&bad).unwrap_err();
    assert_eq!(
        e.kind,
        TokenErrorKind::Malformed("length past its enclosing value"),
        "{e}"
    );
    // Trailing bytes after the framed token.
    let mut long = token;
    long.push(0);
    assert_eq!(
        kind(parse_initiator_token(&long)),
        TokenErrorKind::Malformed("bytes after the token")
    );
}

#[test]
fn deep_nesting_stops_with_a_typed_error() {
    // One SPNEGO level is the valid case; from two on, each is refused.
    let mut token = spnego(&krb5_token());
    for depth in 2..=200 {
        token = spnego(&token);
        let e = parse_initiator_token(&token).expect_err("SPNEGO inside SPNEGO");
        assert!(
            matches!(
                e.kind,
                TokenErrorKind::TooDeep | TokenErrorKind::Malformed("SPNEGO inside SPNEGO")
            ),
            "depth {depth}: {e:?}"
        );
        if depth > 5 {
            assert_eq!(e.kind, TokenErrorKind::TooDeep, "depth {depth}");
        }
    }
}

#[test]
fn other_tokens_say_what_they_are() {
    let t = ticket("R", &principal_name(3, &["nfs", "h"]));
    let ap_rep = framed(OID_KRB5, &cat(&[vec![0x02, 0x00], ap_req(&t)]));
    let e = parse_initiator_token(&ap_rep).unwrap_err();
    assert_eq!(e.kind, TokenErrorKind::NotApReq(0x0200));
    assert_eq!(e.mech, Some(Mech::Krb5));
    assert_eq!(framed_mech(&ap_rep), Some(Mech::Krb5));
    let other = framed(&[0x2a, 0x03], &[1, 2, 3]);
    let e = parse_initiator_token(&other).unwrap_err();
    assert_eq!(e.kind, TokenErrorKind::NotKerberos);
    assert_eq!(e.to_string(), "mechanism 1.2.3 is not Kerberos V5");
    assert_eq!(
        kind(parse_initiator_token(&[0xa1, 0x03, 0x0a, 0x01, 0x00])),
        TokenErrorKind::NotInitialToken
    );
    assert_eq!(framed_mech(&[0xa1, 0x00]), None);
    assert_eq!(
        kind(parse_initiator_token(&[])),
        TokenErrorKind::Cut("initial context token")
    );
    // An AP-REQ whose msg-type says otherwise.
    let mut bad = krb5_token();
    let at = bad
        .windows(3)
        .position(|w| w == [ctx(1), 0x03, TAG_INTEGER])
        .expect("msg-type");
    bad[at + 4] = 13;
    assert_eq!(
        kind(parse_initiator_token(&bad)),
        TokenErrorKind::Malformed("msg-type is not KRB_AP_REQ (14)")
    );
}

#[test]
fn names_are_bounded_and_escaped() {
    let many: Vec<String> = (0..=MAX_NAME_COMPONENTS).map(|i| format!("c{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let t = ticket("R", &principal_name(1, &refs));
    let token = framed(OID_KRB5, &cat(&[vec![0x01, 0x00], ap_req(&t)]));
    assert_eq!(
        kind(parse_initiator_token(&token)),
        TokenErrorKind::NameTooLong
    );
    let long = "x".repeat(MAX_NAME_BYTES);
    let t = ticket("R", &principal_name(1, &[&long]));
    let token = framed(OID_KRB5, &cat(&[vec![0x01, 0x00], ap_req(&t)]));
    assert_eq!(
        kind(parse_initiator_token(&token)),
        TokenErrorKind::NameTooLong
    );
    let p = KrbPrincipal {
        name_type: 1,
        components: vec![b"a/b".to_vec(), b"c@d\\".to_vec(), vec![0, 0xff]],
        realm: b"R@".to_vec(),
    };
    assert_eq!(p.to_string(), "a\\/b/c\\@d\\\\/\\x00\\xff@R\\@");
}

#[test]
fn oids_print_dotted() {
    assert_eq!(oid_dotted(OID_KRB5), "1.2.840.113554.1.2.2");
    assert_eq!(oid_dotted(OID_KRB5_LEGACY), "1.2.840.48018.1.2.2");
    assert_eq!(oid_dotted(OID_SPNEGO), "1.3.6.1.5.5.2");
    assert_eq!(oid_dotted(&[0x88, 0x37, 0x03]), "2.999.3");
    assert_eq!(oid_dotted(&[0x2a, 0x86]), "1.2.?");
    assert_eq!(oid_dotted(&[0xff; 12]), "?");
    assert_eq!(Mech::Krb5.name(), "krb5");
    assert_eq!(Mech::from_oid(&[0x2a, 0x03]).name(), "1.2.3");
}

#[test]
fn arbitrary_bytes_and_mutations_never_panic() {
    let valid = [krb5_token(), spnego(&krb5_token())];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for token in &valid {
        for i in 0..token.len() {
            for v in [0x00, 0x7f, 0x80, 0x84, 0xff, token[i] ^ 1] {
                let mut t = token.clone();
                t[i] = v;
                let _ = parse_initiator_token(&t);
                let _ = framed_mech(&t);
            }
        }
    }
    for len in 0..300 {
        let mut bytes: Vec<u8> = (0..len).map(|_| (next() % 7) as u8).collect();
        if let Some(b) = bytes.first_mut() {
            *b = 0x60;
        }
        let _ = parse_initiator_token(&bytes);
        let _ = framed_mech(&bytes);
    }
}
