//! Tests of the RPC header codec, the credential views and record marking.

use super::auth::*;
use super::record::*;
use super::*;
use crate::xdr::{from_bytes, to_bytes, ErrorKind, IntoStatic};
use arbitrary::{Arbitrary, Unstructured};

/// The big-endian encoding of consecutive 32-bit words.
fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Deterministic pseudo-random bytes (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------
// Hand-written vectors.

/// The AUTH_SYS credential body used by `call_auth_sys`.
fn authsys_body() -> Vec<u8> {
    let mut b = words(&[0x0102_0304, 5]);
    b.extend_from_slice(b"host1\0\0\0");
    b.extend(words(&[1000, 100, 2, 10, 20]));
    b
}

/// NFSv4 COMPOUND call (prog 100003, vers 4, proc 1) with AUTH_SYS, then a
/// 12-byte payload.
fn call_auth_sys() -> Vec<u8> {
    let body = authsys_body();
    let mut m = words(&[0x1234_5678, 0, 2, 100_003, 4, 1, 1, body.len() as u32]);
    m.extend(body);
    m.extend(words(&[0, 0])); // verf AUTH_NONE
    m.extend(words(&[0, 1, 0])); // tag "", minorversion 1, no ops
    m
}

/// A call with an RPCSEC_GSS credential (DATA, seq 7, integrity) whose
/// payload is an `rpc_gss_integ_data`.
fn call_gss() -> Vec<u8> {
    let mut m = words(&[0xabcd_0001, 0, 2, 100_003, 4, 1]);
    m.extend(words(&[6, 24, 1, 0, 7, 2, 4])); // cred: version 1, DATA, 7, integrity, handle len 4
    m.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    m.extend(words(&[6, 8])); // verf: RPCSEC_GSS, 8 bytes of MIC
    m.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    // rpc_gss_integ_data: databody_integ = seq 7 + 8 bytes of args.
    m.extend(words(&[12, 7, 0x11, 0x22]));
    m.extend(words(&[3])); // checksum of 3 bytes + 1 pad
    m.extend_from_slice(&[0xc1, 0xc2, 0xc3, 0]);
    m
}

fn reply_success() -> Vec<u8> {
    words(&[0x1234_5678, 1, 0, 0, 0, 0, /* payload: */ 0, 0])
}

fn reply_prog_mismatch() -> Vec<u8> {
    words(&[9, 1, 0, 0, 0, 2, 2, 3])
}

fn reply_auth_error() -> Vec<u8> {
    words(&[10, 1, 1, 1, 13])
}

fn reply_rpc_mismatch() -> Vec<u8> {
    words(&[11, 1, 1, 0, 2, 2])
}

/// Every valid vector with the length of its header.
fn vectors() -> Vec<(Vec<u8>, usize)> {
    vec![
        (call_auth_sys(), 76),
        (call_gss(), 72),
        (reply_success(), 24),
        (reply_prog_mismatch(), 32),
        (reply_auth_error(), 20),
        (reply_rpc_mismatch(), 24),
    ]
}

#[test]
fn call_with_auth_sys_decodes_every_field() {
    let buf = call_auth_sys();
    let (msg, payload) = RpcMessage::parse(&buf).unwrap();
    assert_eq!(msg.xid, 0x1234_5678);
    let call = msg.as_call().expect("a call");
    assert!(msg.as_reply().is_none());
    assert_eq!(call.rpcvers, 2);
    assert_eq!(call.prog, 100_003);
    assert_eq!(call.vers, 4);
    assert_eq!(call.procedure, 1);
    assert_eq!(call.cred.flavor, AuthFlavor::AUTH_SYS);
    assert_eq!(call.cred.body.len(), 36);
    assert_eq!(call.verf, OpaqueAuth::none());
    assert_eq!(payload.offset, 76);
    assert_eq!(payload.bytes, &words(&[0, 1, 0])[..]);

    let Credential::Sys(p) = call.cred.credential().unwrap() else {
        panic!("not AUTH_SYS");
    };
    assert_eq!(p.stamp, 0x0102_0304);
    assert_eq!(p.machinename.as_bytes(), b"host1");
    assert_eq!(p.uid, 1000);
    assert_eq!(p.gid, 100);
    assert_eq!(p.gids, vec![10, 20]);
    assert!(p.violations().is_empty());
    // The credential body sits where CRED_BODY_OFFSET says.
    assert_eq!(
        &buf[CRED_BODY_OFFSET..CRED_BODY_OFFSET + 36],
        &authsys_body()[..]
    );
}

#[test]
fn client_encoders_produce_the_hand_written_bytes() {
    let parms = AuthSysParms {
        stamp: 0x0102_0304,
        machinename: Opaque::from("host1"),
        uid: 1000,
        gid: 100,
        gids: vec![10, 20],
    };
    let cred = OpaqueAuth::sys(&parms);
    assert_eq!(cred, Credential::Sys(parms.clone()).to_opaque_auth());
    let msg = RpcMessage::call(0x1234_5678, 100_003, 4, 1, cred, OpaqueAuth::none());
    assert_eq!(
        msg.to_bytes_with_payload(&words(&[0, 1, 0])),
        call_auth_sys()
    );

    let reply = RpcMessage::success_reply(0x1234_5678, OpaqueAuth::none());
    let mut w = Writer::new();
    reply.encode_with_payload(&mut w, &words(&[0, 0]));
    assert_eq!(w.into_bytes(), reply_success());

    let none = Credential::None.to_opaque_auth();
    assert_eq!(to_bytes(&none), words(&[0, 0]));
}

#[test]
fn call_with_rpcsec_gss_credential() {
    let buf = call_gss();
    let (msg, payload) = RpcMessage::parse(&buf).unwrap();
    let call = msg.as_call().unwrap();
    assert_eq!(call.cred.flavor, AuthFlavor::RPCSEC_GSS);
    assert_eq!(call.verf.flavor, AuthFlavor::RPCSEC_GSS);
    assert_eq!(call.verf.body.as_bytes(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    let Credential::Gss(gss) = call.cred.credential().unwrap() else {
        panic!("not RPCSEC_GSS");
    };
    let c = gss.vers1();
    assert_eq!(c.gss_proc, RpcGssProc::RPCSEC_GSS_DATA);
    assert_eq!(c.seq_num, 7);
    assert_eq!(c.service, RpcGssService::rpc_gss_svc_integrity);
    assert_eq!(c.handle.as_bytes(), &[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(format!("{:?}", c.service), "rpc_gss_svc_integrity");

    assert_eq!(payload.offset, 72);
    let GssBody::Integrity {
        seq_num,
        body,
        checksum,
    } = GssBody::parse(payload, c).unwrap()
    else {
        panic!("not integrity");
    };
    assert_eq!(seq_num, 7);
    assert_eq!(body.bytes, &words(&[0x11, 0x22])[..]);
    assert_eq!(body.offset, 72 + 8);
    assert_eq!(&buf[body.offset..body.offset + 8], body.bytes);
    assert_eq!(checksum.bytes, &[0xc1, 0xc2, 0xc3]);
    assert_eq!(&buf[checksum.offset..checksum.offset + 3], checksum.bytes);
    // An error decoding the unwrapped arguments is at a message offset.
    let e = body.sub(4).decode::<u64>().unwrap_err();
    assert_eq!(e.offset(), 72 + 12);

    // A control procedure's body is not wrapped, whatever the service.
    let mut destroy = c.clone();
    destroy.gss_proc = RpcGssProc::RPCSEC_GSS_DESTROY;
    assert_eq!(
        GssBody::parse(payload, &destroy).unwrap(),
        GssBody::Plain(payload)
    );
}

#[test]
fn rpcsec_gss_privacy_and_bad_wrappings() {
    let buf = [words(&[5]), vec![9, 9, 9, 9, 9, 0, 0, 0]].concat();
    let p = Payload {
        bytes: &buf,
        offset: 100,
    };
    let GssBody::Privacy { databody_priv } =
        GssBody::parse_service(p, RpcGssService::rpc_gss_svc_privacy).unwrap()
    else {
        panic!("not privacy");
    };
    assert_eq!(databody_priv.bytes, &[9, 9, 9, 9, 9]);
    assert_eq!(databody_priv.offset, 104);

    // databody_integ too short for its sequence number.
    let short = words(&[2, 0x0101_0000, 0]);
    let p = Payload {
        bytes: &short,
        offset: 100,
    };
    let e = GssBody::parse_service(p, RpcGssService::rpc_gss_svc_integrity).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Truncated { .. }), "{e}");
    assert_eq!(e.offset(), 104);
    assert_eq!(e.path(), "databody_integ");

    // Unknown service.
    let e = GssBody::parse_service(p, RpcGssService(9)).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BadDiscriminant(9));
    assert_eq!(e.offset(), 100);

    // Trailing bytes after the checksum.
    let trailing = words(&[4, 1, 0, 7]);
    let p = Payload {
        bytes: &trailing,
        offset: 0,
    };
    let e = GssBody::parse_service(p, RpcGssService::rpc_gss_svc_integrity).unwrap_err();
    assert_eq!(e.offset(), 12);
}

#[test]
fn accepted_success_reply() {
    let buf = reply_success();
    let (msg, payload) = RpcMessage::parse(&buf).unwrap();
    assert_eq!(msg.xid, 0x1234_5678);
    assert!(msg.is_success());
    let Some(ReplyBody::Accepted(a)) = msg.as_reply() else {
        panic!("not accepted");
    };
    assert_eq!(a.verf, OpaqueAuth::none());
    assert_eq!(a.reply_data, AcceptedReplyData::Success);
    assert_eq!(a.reply_data.discriminant(), AcceptStat::SUCCESS);
    assert_eq!(payload.offset, 24);
    assert_eq!(payload.bytes, &[0; 8]);
    assert_eq!(payload.decode_all::<u64>().unwrap(), 0);
}

#[test]
fn prog_mismatch_reply() {
    let buf = reply_prog_mismatch();
    let (msg, payload) = RpcMessage::parse(&buf).unwrap();
    assert_eq!(msg.xid, 9);
    assert!(!msg.is_success());
    assert_eq!(
        msg.body,
        MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
            verf: OpaqueAuth::none(),
            reply_data: AcceptedReplyData::ProgMismatch(MismatchInfo { low: 2, high: 3 }),
        }))
    );
    assert!(payload.is_empty());
    assert_eq!(payload.offset, 32);
}

#[test]
fn denied_auth_error_reply() {
    let buf = reply_auth_error();
    let (msg, payload) = RpcMessage::parse(&buf).unwrap();
    assert_eq!(
        msg.body,
        MsgBody::Reply(ReplyBody::Denied(RejectedReply::AuthError(
            AuthStat::RPCSEC_GSS_CREDPROBLEM
        )))
    );
    assert!(payload.is_empty());
    assert_eq!(AuthStat(14), AuthStat::RPCSEC_GSS_CTXPROBLEM);
    assert_eq!(AuthStat(14).name(), Some("RPCSEC_GSS_CTXPROBLEM"));
    // Every auth_stat from 0 to 14 has its RFC name.
    for v in 0..=14u32 {
        assert!(AuthStat(v).name().is_some(), "auth_stat {v}");
    }
    assert_eq!(AuthStat(15).name(), None);
}

#[test]
fn rpc_mismatch_reply() {
    let buf = reply_rpc_mismatch();
    let (msg, _) = RpcMessage::parse(&buf).unwrap();
    assert_eq!(msg.xid, 11);
    assert_eq!(
        msg.body,
        MsgBody::Reply(ReplyBody::Denied(RejectedReply::RpcMismatch(
            MismatchInfo { low: 2, high: 2 }
        )))
    );
}

#[test]
fn unknown_discriminants() {
    // msg_type 2.
    let e = RpcMessage::parse(&words(&[1, 2, 0])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BadDiscriminant(2));
    assert_eq!(e.offset(), 4);
    assert_eq!(e.path(), "body");
    // reject_stat 2 has no arm.
    let e = RpcMessage::parse(&words(&[1, 1, 1, 2])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BadDiscriminant(2));
    assert_eq!(e.offset(), 12);
    // An unnamed accept_stat is void, so what follows is payload.
    let buf = words(&[1, 1, 0, 0, 0, 42, 7]);
    let (msg, payload) = RpcMessage::parse(&buf).unwrap();
    assert_eq!(
        msg.body,
        MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
            verf: OpaqueAuth::none(),
            reply_data: AcceptedReplyData::Unknown(AcceptStat(42)),
        }))
    );
    assert_eq!(payload.bytes, &words(&[7])[..]);
}

#[test]
fn credential_views() {
    // Unknown flavors are kept raw.
    let c = Credential::decode(AuthFlavor(390_003), b"abcd").unwrap();
    assert_eq!(
        c,
        Credential::Other {
            flavor: AuthFlavor(390_003),
            body: Opaque::from("abcd")
        }
    );
    assert_eq!(c.to_opaque_auth().body.as_bytes(), b"abcd");
    assert_eq!(
        Credential::decode(AuthFlavor::AUTH_TLS, &[]).unwrap(),
        Credential::Tls
    );
    assert_eq!(
        Credential::decode(AuthFlavor::AUTH_NONE, &[]).unwrap(),
        Credential::None
    );
    assert_eq!(Credential::Tls.to_opaque_auth().flavor, AuthFlavor(7));

    // Trailing bytes after authsys_parms.
    let body = [authsys_body(), words(&[0])].concat();
    let e = Credential::decode(AuthFlavor::AUTH_SYS, &body).unwrap_err();
    assert_eq!(e.offset(), 36);
    assert_eq!(e.path(), "authsys_parms");
    // gids count past the end.
    let mut body = authsys_body();
    body.truncate(body.len() - 4);
    let e = Credential::decode(AuthFlavor::AUTH_SYS, &body).unwrap_err();
    assert_eq!(e.path(), "authsys_parms.gids");
    // RPCSEC_GSS version 2 is not defined by RFC 2203.
    let e = Credential::decode(AuthFlavor::RPCSEC_GSS, &words(&[2, 0, 0, 1, 0])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BadDiscriminant(2));

    // RFC limits are reported, not enforced.
    let big = AuthSysParms {
        stamp: 0,
        machinename: Opaque::from(vec![b'm'; 400]),
        uid: 0,
        gid: 0,
        gids: (0..17).collect(),
    };
    assert_eq!(big.violations().len(), 2);
    let cred = OpaqueAuth::sys(&big);
    assert!(cred.is_oversized());
    assert_eq!(cred.credential().unwrap(), Credential::Sys(big));

    let starttls = OpaqueAuth {
        flavor: AuthFlavor::AUTH_NONE,
        body: Opaque::from("STARTTLS"),
    };
    assert!(starttls.is_starttls());
    assert!(!OpaqueAuth::none().is_starttls());
}

#[test]
fn payload_errors_are_at_message_offsets() {
    let buf = call_auth_sys();
    let (_, payload) = RpcMessage::parse(&buf).unwrap();
    let e = payload.decode::<[u8; 16]>().unwrap_err();
    assert_eq!(e.offset(), 76);
    let e = payload.decode_all::<u32>().unwrap_err();
    assert_eq!(e.offset(), 80);
    assert!(e.to_string().contains("at offset 80"), "{e}");
    assert_eq!(payload.sub(100).bytes, &[] as &[u8]);
    assert_eq!(payload.sub(100).offset, 76 + 12);
}

#[test]
fn decoded_messages_outlive_their_buffer() {
    let owned: RpcMessage<'static> = {
        let buf = call_auth_sys();
        let (m, _) = RpcMessage::parse(&buf).unwrap();
        m.into_static()
    };
    assert_eq!(owned.as_call().unwrap().cred.body.len(), 36);
}

// ---------------------------------------------------------------------------
// Generated round trips.

fn seeded_data(rng: &mut Rng) -> Vec<u8> {
    let n = 64 + rng.below(448);
    rng.bytes(n)
}

/// Encodes `v`, decodes it back, checks equality and full consumption.
fn round_trip<'a, T>(v: &T, buf: &'a mut Vec<u8>)
where
    T: Xdr<'a> + PartialEq + std::fmt::Debug,
{
    *buf = to_bytes(v);
    assert_eq!(buf.len() % 4, 0, "{v:?}");
    let mut r = Reader::new(buf);
    let back = T::decode(&mut r).unwrap_or_else(|e| panic!("{v:?}: {e}"));
    assert_eq!(&back, v);
    assert!(r.is_empty(), "{v:?} left bytes");
}

macro_rules! round_trip_types {
    ($rng:ident, $($t:ty),+) => {$(
        {
            let data = seeded_data(&mut $rng);
            let mut u = Unstructured::new(&data);
            if let Ok(v) = <$t>::arbitrary(&mut u) {
                let mut buf = Vec::new();
                round_trip(&v, &mut buf);
            }
        }
    )+};
}

#[test]
fn generated_headers_round_trip() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        round_trip_types!(
            rng,
            RpcMessage,
            MsgBody,
            CallBody,
            ReplyBody,
            AcceptedReply,
            AcceptedReplyData,
            RejectedReply,
            MismatchInfo,
            OpaqueAuth,
            AuthSysParms,
            RpcGssCred,
            RpcGssCredVers1,
            RpcGssInitArg,
            RpcGssInitRes,
            RpcGssIntegData,
            RpcGssPrivData
        );
    }
}

#[test]
fn generated_messages_parse_back_with_their_payload() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut calls = 0;
    for _ in 0..3000 {
        let data = seeded_data(&mut rng);
        let mut u = Unstructured::new(&data);
        let Ok(msg) = RpcMessage::arbitrary(&mut u) else {
            continue;
        };
        let payload_len = 4 * rng.below(8);
        let payload_bytes = rng.bytes(payload_len);
        let bytes = msg.to_bytes_with_payload(&payload_bytes);
        let (back, payload) = RpcMessage::parse(&bytes).unwrap();
        assert_eq!(back, msg);
        assert_eq!(payload.bytes, &payload_bytes[..]);
        assert_eq!(payload.offset, to_bytes(&msg).len());
        calls += usize::from(msg.as_call().is_some());
    }
    assert!(
        calls > 500,
        "calls and replies are both generated ({calls})"
    );
}

#[test]
fn generated_credentials_round_trip_through_opaque_auth() {
    let mut rng = Rng(0xfeed_f00d_dead_beef);
    for i in 0..3000 {
        let data = seeded_data(&mut rng);
        let mut u = Unstructured::new(&data);
        let cred = match i % 3 {
            0 => AuthSysParms::arbitrary(&mut u).map(Credential::Sys),
            1 => RpcGssCred::arbitrary(&mut u).map(Credential::Gss),
            _ => Ok(Credential::None),
        };
        let Ok(cred) = cred else { continue };
        let auth = cred.to_opaque_auth();
        let bytes = to_bytes(&auth);
        let back: OpaqueAuth = from_bytes(&bytes).unwrap();
        assert_eq!(back.credential().unwrap(), cred);
    }
}

// ---------------------------------------------------------------------------
// Robustness.

#[test]
fn truncated_vectors_fail_only_inside_the_header() {
    for (buf, header_len) in vectors() {
        for n in 0..=buf.len() {
            let r = RpcMessage::parse(&buf[..n]);
            if n < header_len {
                let e = r.expect_err("a truncated header is an error");
                assert!(e.offset() <= n, "error offset {} past {n}", e.offset());
            } else {
                let (_, payload) = r.unwrap();
                assert_eq!(payload.offset, header_len);
                assert_eq!(payload.len(), n - header_len);
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut decoded = 0;
    for i in 0..20_000 {
        let len = rng.below(160);
        let mut buf = rng.bytes(len);
        // Make most inputs plausible headers so the deeper decoders are reached:
        // a call with empty authenticators, or an accepted or denied reply.
        let set = |buf: &mut Vec<u8>, at: usize, v: u32| {
            if let Some(w) = buf.get_mut(at..at + 4) {
                w.copy_from_slice(&v.to_be_bytes());
            }
        };
        match i % 4 {
            0 => {
                set(&mut buf, 4, 0);
                set(&mut buf, 28, 0);
                set(&mut buf, 36, 0);
            }
            1 => {
                set(&mut buf, 4, 1);
                set(&mut buf, 8, (i as u32 / 4) % 2);
                set(&mut buf, 12, (i as u32 / 8) % 2);
                set(&mut buf, 16, 0);
                set(&mut buf, 20, (i as u32 / 16) % 7);
            }
            _ => {}
        }
        if let Ok((msg, payload)) = RpcMessage::parse(&buf) {
            decoded += 1;
            if let Some(c) = msg.as_call() {
                let _ = c.cred.credential();
                let _ = c.verf.credential();
            }
            for s in 0..5 {
                let _ = GssBody::parse_service(payload, RpcGssService(s));
            }
        }
        for f in [1, 6] {
            let _ = Credential::decode(AuthFlavor(f), &buf);
        }
        let mut a = RecordAssembler::with_limits(RecordLimits {
            max_record: 64,
            max_fragments: 4,
        });
        let _ = a.feed(&buf);
        while a.pop().is_some() {}
    }
    // Mutations of the valid vectors.
    for (buf, _) in vectors() {
        for _ in 0..2000 {
            let mut m = buf.clone();
            let i = rng.below(m.len());
            m[i] = rng.next() as u8;
            let cut = rng.below(m.len() + 1);
            if let Ok((msg, payload)) = RpcMessage::parse(&m[..cut]) {
                if let Some(c) = msg.as_call() {
                    if let Ok(Credential::Gss(g)) = c.cred.credential() {
                        let _ = GssBody::parse(payload, g.vers1());
                    }
                }
            }
        }
    }
    assert!(decoded > 100, "some random inputs decode ({decoded})");
}

// ---------------------------------------------------------------------------
// Record marking.

/// Records a stream must give: stream offset, data and fragment count.
type Expected = Vec<(u64, Vec<u8>, u32)>;

/// A stream of four records and the records it must give.
fn sample_stream() -> (Vec<u8>, Expected) {
    let a: Vec<u8> = (1..=10).collect();
    let mut s = encode_record(&a, 3); // 4 fragments: 3+3+3+1
    let b_at = s.len() as u64;
    s.extend(encode_record(&[], 100)); // one empty last fragment
    let c_at = s.len() as u64;
    // Zero-length fragments before, between and at the end.
    s.extend(words(&[0, 1]));
    s.extend_from_slice(&[0xaa, 0, 0, 0, 0]);
    s.extend_from_slice(&[0, 0, 0, 1, 0xbb]);
    s.extend(words(&[LAST_FRAGMENT]));
    let d_at = s.len() as u64;
    s.extend(encode_record(&call_auth_sys(), 1 << 20));
    let expected = vec![
        (0, a, 4),
        (b_at, vec![], 1),
        (c_at, vec![0xaa, 0xbb], 5),
        (d_at, call_auth_sys(), 1),
    ];
    (s, expected)
}

fn check_records(a: &mut RecordAssembler, expected: &[(u64, Vec<u8>, u32)], end: u64) {
    let mut got = Vec::new();
    while let Some(r) = a.pop() {
        got.push(r);
    }
    assert_eq!(got.len(), expected.len());
    for (i, (r, (offset, data, frags))) in got.iter().zip(expected).enumerate() {
        assert_eq!(r.offset, *offset, "record {i}");
        assert_eq!(&r.data, data, "record {i}");
        assert_eq!(r.fragments, *frags, "record {i}");
        let next = expected.get(i + 1).map_or(end, |e| e.0);
        assert_eq!(r.end_offset, next, "record {i}");
    }
    assert!(a.is_at_boundary());
    assert_eq!(a.finish(), Ok(()));
}

#[test]
fn records_with_fragments_and_zero_length_fragments() {
    let (s, expected) = sample_stream();
    let mut a = RecordAssembler::new();
    a.feed(&s).unwrap();
    assert_eq!(a.ready(), 4);
    assert_eq!(a.stream_offset(), s.len() as u64);
    check_records(&mut a, &expected, s.len() as u64);
}

#[test]
fn record_data_maps_back_to_stream_offsets() {
    let (s, _) = sample_stream();
    let mut a = RecordAssembler::new();
    a.feed(&s).unwrap();
    let first = a.pop().unwrap();
    // Fragments of 3 bytes: data byte k lies after (k / 3 + 1) headers.
    for k in 0..10usize {
        let at = first.stream_offset_of(k).unwrap();
        assert_eq!(at, (k + 4 * (k / 3 + 1)) as u64);
        assert_eq!(s[at as usize], first.data[k]);
    }
    assert_eq!(first.stream_offset_of(10), None);
    let empty = a.pop().unwrap();
    assert_eq!(empty.stream_offset_of(0), None);
    let third = a.pop().unwrap();
    for k in 0..2 {
        let at = third.stream_offset_of(k).unwrap() as usize;
        assert_eq!(s[at], third.data[k]);
    }
}

#[test]
fn every_split_of_the_stream_gives_the_same_records() {
    let (s, expected) = sample_stream();
    let end = s.len() as u64;
    // Byte by byte.
    let mut a = RecordAssembler::new();
    for b in &s {
        a.feed(std::slice::from_ref(b)).unwrap();
    }
    check_records(&mut a, &expected, end);
    // Every two-chunk split, with records popped in between.
    for cut in 0..=s.len() {
        let mut a = RecordAssembler::new();
        a.feed(&s[..cut]).unwrap();
        let mut early = Vec::new();
        while let Some(r) = a.pop() {
            early.push(r);
        }
        a.feed(&s[cut..]).unwrap();
        let late: Vec<Record> = std::iter::from_fn(|| a.pop()).collect();
        let all: Vec<Record> = early.into_iter().chain(late).collect();
        assert_eq!(all.len(), expected.len(), "cut {cut}");
        for (r, (offset, data, frags)) in all.iter().zip(&expected) {
            assert_eq!(
                (r.offset, &r.data, r.fragments),
                (*offset, data, *frags),
                "cut {cut}"
            );
        }
        assert!(a.is_at_boundary());
    }
    // Random chunkings give identical records, spans included.
    let mut whole = RecordAssembler::new();
    whole.feed(&s).unwrap();
    let reference: Vec<Record> = std::iter::from_fn(|| whole.pop()).collect();
    let mut rng = Rng(77);
    for _ in 0..200 {
        let mut a = RecordAssembler::new();
        let mut rest = &s[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(40));
            let (now, later) = rest.split_at(n);
            a.feed(now).unwrap();
            rest = later;
        }
        let got: Vec<Record> = std::iter::from_fn(|| a.pop()).collect();
        assert_eq!(got, reference);
    }
}

#[test]
fn huge_fragment_claim_neither_allocates_nor_hangs() {
    // A header claiming 2 GiB - 1 (last fragment), then 8 bytes.
    let mut s = vec![0xff, 0xff, 0xff, 0xff];
    s.extend_from_slice(&[1; 8]);

    // Default limits: an error naming the header's stream offset.
    let mut a = RecordAssembler::new().starting_at(1000);
    let e = a.feed(&s).unwrap_err();
    assert_eq!(
        e,
        RecordError::RecordTooLarge {
            header_offset: 1000,
            record_offset: 1000,
            claimed: 0x7fff_ffff,
            limit: DEFAULT_MAX_RECORD,
        }
    );
    assert_eq!(e.offset(), 1000);
    assert!(e.to_string().contains("stream offset 1000"), "{e}");
    assert_eq!(a.capacity(), 0);
    // Failed state: input is discarded but counted, the error repeats.
    assert_eq!(a.stream_offset(), 1012);
    assert_eq!(a.feed(&[0; 4]), Err(e.clone()));
    assert_eq!(a.stream_offset(), 1016);
    assert_eq!(a.error(), Some(&e));
    assert_eq!(a.finish(), Err(e));
    // After reset, a record is read again at the right offset.
    a.reset();
    a.feed(&encode_record(b"abcd", 100)).unwrap();
    let r = a.pop().unwrap();
    assert_eq!((r.offset, r.data.as_slice()), (1016, &b"abcd"[..]));

    // With no practical limit: waits for bytes, buffering only those received.
    let mut a = RecordAssembler::with_limits(RecordLimits {
        max_record: usize::MAX,
        max_fragments: 4,
    });
    a.feed(&s).unwrap();
    assert_eq!(a.ready(), 0);
    assert_eq!(a.buffered(), 8);
    assert!(a.capacity() < 4096, "capacity {}", a.capacity());
    assert!(!a.is_at_boundary());
    assert_eq!(
        a.finish(),
        Err(RecordError::Incomplete {
            record_offset: 0,
            end_offset: 12
        })
    );
}

#[test]
fn max_record_is_enforced_across_fragments() {
    let limits = RecordLimits {
        max_record: 10,
        max_fragments: 8,
    };
    // 6 + 4 bytes: exactly the limit.
    let mut a = RecordAssembler::with_limits(limits);
    a.feed(&encode_record(&[7; 10], 6)).unwrap();
    assert_eq!(a.pop().unwrap().data, vec![7; 10]);
    // 6 + 5 bytes: the second header (at stream offset 10) is refused
    // before its data arrives.
    let mut a = RecordAssembler::with_limits(limits);
    let mut s = encode_record(&[7; 6], 6);
    s[0] &= 0x7f; // not last
    s.extend(words(&[LAST_FRAGMENT | 5]));
    let e = a.feed(&s).unwrap_err();
    assert_eq!(
        e,
        RecordError::RecordTooLarge {
            header_offset: 10,
            record_offset: 0,
            claimed: 11,
            limit: 10
        }
    );
    assert_eq!(a.buffered(), 0, "the partial record is dropped");
    // The limit applies per record: two records of 10 bytes each are fine.
    let mut a = RecordAssembler::with_limits(limits);
    let two = [encode_record(&[1; 10], 4), encode_record(&[2; 10], 10)].concat();
    a.feed(&two).unwrap();
    assert_eq!(a.ready(), 2);
}

#[test]
fn max_fragments_ends_endless_empty_fragments() {
    let mut a = RecordAssembler::with_limits(RecordLimits {
        max_record: 100,
        max_fragments: 3,
    });
    let s = words(&[0, 0, 0, 0]);
    let e = a.feed(&s).unwrap_err();
    assert_eq!(
        e,
        RecordError::TooManyFragments {
            header_offset: 12,
            record_offset: 0,
            limit: 3
        }
    );
    // reset_at resumes at a boundary the caller chose.
    a.reset_at(500);
    a.feed(&words(&[0, 0, LAST_FRAGMENT])).unwrap();
    let r = a.pop().unwrap();
    assert_eq!((r.offset, r.fragments, r.end_offset), (500, 3, 512));
}

#[test]
fn record_encoder_splits_into_fragments() {
    assert_eq!(encode_record(&[], 8), words(&[LAST_FRAGMENT]));
    assert_eq!(
        encode_record(&[1, 2, 3, 4, 5], 2),
        [
            &words(&[2])[..],
            &[1, 2],
            &words(&[2]),
            &[3, 4],
            &words(&[LAST_FRAGMENT | 1]),
            &[5]
        ]
        .concat()
    );
    // A fragment size of 0 is clamped to 1.
    assert_eq!(encode_record(&[9, 9], 0).len(), 2 * 5);
    // Any fragment size reassembles to the payload.
    let payload: Vec<u8> = (0..=255).collect();
    for max in [1, 3, 4, 100, 255, 256, 1 << 20] {
        let s = encode_record(&payload, max);
        let mut a = RecordAssembler::new();
        a.feed(&s).unwrap();
        let r = a.pop().unwrap();
        assert_eq!(r.data, payload);
        assert_eq!(r.fragments as usize, payload.len().div_ceil(max));
        assert_eq!(r.end_offset, s.len() as u64);
    }
}
