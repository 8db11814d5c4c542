//! The pure parts of RPCSEC_GSS: encodings, the sequence window, the
//! integrity and privacy layouts. Per-message protection is the keyed test
//! double of `testkit` (a real context needs a KDC: see `tests/krb5_live.rs`).

use super::rpcsec::*;
use super::*;
use analyzer::rpc::auth::MAXSEQ;
use analyzer::rpc::{
    AuthFlavor, Credential, GssBody, OpaqueAuth, Payload, RpcGssCred, RpcGssProc, RpcGssService,
    RpcMessage,
};
use analyzer::xdr::Opaque;

use super::testkit::Keyed;

const KEY: u8 = 0x5a;
const WINDOW: u32 = 4;

fn context(service: RpcGssService) -> GssContext {
    let verf = OpaqueAuth {
        flavor: AuthFlavor::RPCSEC_GSS,
        body: Opaque::from(Keyed(KEY).mic(&WINDOW.to_be_bytes())),
    };
    GssContext::from_parts(
        Box::new(Keyed(KEY)),
        b"handle-1".to_vec(),
        WINDOW,
        service,
        &verf,
        InitOutcome {
            round_trips: 1,
            gss_major: 0,
            gss_minor: 0,
        },
    )
    .expect("the window verifier is the MIC of seq_window")
}

/// What a server would answer: the verifier (MIC of `seq`) and `results`
/// wrapped as `service` says, inner sequence number `inner_seq`.
fn server_reply(
    seq: u32,
    inner_seq: u32,
    service: RpcGssService,
    results: &[u8],
) -> (OpaqueAuth<'static>, Vec<u8>) {
    let k = Keyed(KEY);
    let verf = OpaqueAuth {
        flavor: AuthFlavor::RPCSEC_GSS,
        body: Opaque::from(k.mic(&seq.to_be_bytes())),
    };
    let body = match service {
        RpcGssService::rpc_gss_svc_integrity => {
            let data = databody(inner_seq, results);
            let sum = k.mic(&data);
            integ_data(data, sum)
        }
        RpcGssService::rpc_gss_svc_privacy => priv_data(
            Keyed(KEY)
                .wrap(&databody(inner_seq, results))
                .expect("wrap"),
        ),
        _ => results.to_vec(),
    };
    (verf, body)
}

#[test]
fn the_credential_is_rpc_gss_cred_vers_1_byte_for_byte() {
    let c = credential(
        RpcGssProc::RPCSEC_GSS_DATA,
        7,
        RpcGssService::rpc_gss_svc_integrity,
        b"abcde",
    );
    assert_eq!(c.flavor, AuthFlavor::RPCSEC_GSS);
    #[rustfmt::skip]
    let expect: &[u8] = &[
        0, 0, 0, 1, // version 1
        0, 0, 0, 0, // RPCSEC_GSS_DATA
        0, 0, 0, 7, // seq_num
        0, 0, 0, 2, // rpc_gss_svc_integrity
        0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0, // handle, padded
    ];
    assert_eq!(c.body.as_bytes(), expect);
    match c.credential().expect("the analyzer decodes it") {
        Credential::Gss(RpcGssCred::Vers1(g)) => {
            assert_eq!(g.seq_num, 7);
            assert_eq!(g.handle.as_bytes(), b"abcde");
        }
        other => panic!("not RPCSEC_GSS: {other:?}"),
    }
}

#[test]
fn the_verifier_covers_the_header_up_to_the_end_of_the_credential() {
    let ctx = context(RpcGssService::rpc_gss_svc_none);
    let call = ctx
        .seal_call(0x0102_0304, 100003, 4, 1, &[0, 0, 0, 9])
        .expect("seals");
    let msg = call.message(0x0102_0304, 100003, 4, 1);
    let prefix = header_to_credential(0x0102_0304, 100003, 4, 1, &call.cred);
    // 6 words of header, the credential's flavor and length, its body.
    assert_eq!(prefix.len(), 32 + call.cred.body.len());
    assert!(
        msg.starts_with(&prefix),
        "the MIC input is the message's own prefix"
    );
    assert_eq!(call.verf.flavor, AuthFlavor::RPCSEC_GSS);
    assert_eq!(call.verf.body.as_bytes(), Keyed(KEY).mic(&prefix));
    // The whole message parses, with the arguments in the clear.
    let (parsed, payload) = RpcMessage::parse(&msg).expect("parses");
    assert_eq!(parsed.as_call().expect("call").verf, call.verf);
    assert_eq!(payload.bytes, &[0, 0, 0, 9]);
}

#[test]
fn integrity_bodies_are_seq_num_then_args_with_their_mic() {
    let ctx = context(RpcGssService::rpc_gss_svc_integrity);
    let args = b"\x00\x00\x00\x2aARGS";
    let call = ctx.seal_call(1, 100003, 4, 1, args).expect("seals");
    let p = Payload {
        bytes: &call.body,
        offset: 0,
    };
    match GssBody::parse_service(p, RpcGssService::rpc_gss_svc_integrity).expect("parses") {
        GssBody::Integrity {
            seq_num,
            body,
            checksum,
        } => {
            assert_eq!(seq_num, call.seq_num);
            assert_eq!(body.bytes, args);
            assert_eq!(checksum.bytes, Keyed(KEY).mic(&databody(seq_num, args)));
        }
        other => panic!("not integrity: {other:?}"),
    }
    // Round trip through the test server's side.
    let (seq, plain) = unwrap_call_body(
        &mut Keyed(KEY),
        RpcGssService::rpc_gss_svc_integrity,
        &call.body,
    )
    .expect("verifies");
    assert_eq!((seq, plain.as_slice()), (Some(call.seq_num), &args[..]));
}

#[test]
fn privacy_bodies_wrap_seq_num_and_args() {
    let ctx = context(RpcGssService::rpc_gss_svc_privacy);
    let args = b"SECRETARGS!!";
    let call = ctx.seal_call(1, 100003, 4, 1, args).expect("seals");
    let p = Payload {
        bytes: &call.body,
        offset: 0,
    };
    let GssBody::Privacy { databody_priv } =
        GssBody::parse_service(p, RpcGssService::rpc_gss_svc_privacy).expect("parses")
    else {
        panic!("not privacy");
    };
    assert!(
        !databody_priv.bytes.windows(args.len()).any(|w| w == args),
        "the arguments are not in the clear"
    );
    let plain = Keyed(KEY).unwrap(databody_priv.bytes).expect("unwraps");
    assert_eq!(plain, databody(call.seq_num, args));
}

#[test]
fn replies_are_checked_and_unwrapped_for_each_service() {
    for service in [
        RpcGssService::rpc_gss_svc_none,
        RpcGssService::rpc_gss_svc_integrity,
        RpcGssService::rpc_gss_svc_privacy,
    ] {
        let ctx = context(service);
        let call = ctx.seal_call(9, 100003, 4, 1, b"ARGS").expect("seals");
        assert_eq!(ctx.in_flight(), 1);
        let (verf, body) = server_reply(call.seq_num, call.seq_num, service, b"RESULTS!");
        let plain = ctx.unseal_reply(&call, &verf, &body).expect("verifies");
        assert_eq!(plain, b"RESULTS!", "{service}");
        assert_eq!(ctx.in_flight(), 0);
    }
}

#[test]
fn a_forged_or_misplaced_reply_is_refused() {
    let service = RpcGssService::rpc_gss_svc_integrity;
    let ctx = context(service);
    let call = ctx.seal_call(9, 100003, 4, 1, b"ARGS").expect("seals");

    // The verifier signs another sequence number.
    let (verf, body) = server_reply(call.seq_num + 1, call.seq_num, service, b"R");
    let e = ctx
        .unseal_reply(&call, &verf, &body)
        .expect_err("bad verifier");
    assert!(matches!(e, GssError::BadVerifier { .. }), "{e}");
    assert_eq!(ctx.in_flight(), 0, "the number leaves the window anyway");

    // AUTH_NONE instead of a verifier.
    let call = ctx.seal_call(10, 100003, 4, 1, b"ARGS").expect("seals");
    let (_, body) = server_reply(call.seq_num, call.seq_num, service, b"R");
    let e = ctx
        .unseal_reply(&call, &OpaqueAuth::none(), &body)
        .expect_err("no verifier");
    assert!(matches!(e, GssError::BadVerifier { .. }), "{e}");

    // A checksum over other data.
    let call = ctx.seal_call(11, 100003, 4, 1, b"ARGS").expect("seals");
    let (verf, mut body) = server_reply(call.seq_num, call.seq_num, service, b"RESULTS!");
    let n = body.len();
    body[n - 1] ^= 1; // last checksum byte
    let e = ctx
        .unseal_reply(&call, &verf, &body)
        .expect_err("bad checksum");
    assert!(matches!(e, GssError::BadChecksum { .. }), "{e}");

    // A genuine body of another call (replayed).
    let call = ctx.seal_call(12, 100003, 4, 1, b"ARGS").expect("seals");
    let (verf, _) = server_reply(call.seq_num, call.seq_num, service, b"R");
    let (_, other) = server_reply(call.seq_num, call.seq_num - 1, service, b"R");
    let e = ctx
        .unseal_reply(&call, &verf, &other)
        .expect_err("replayed");
    assert_eq!(
        e,
        GssError::SeqMismatch {
            expected: call.seq_num,
            found: call.seq_num - 1
        }
    );

    // Privacy: a replayed body of another call.
    let ctx = context(RpcGssService::rpc_gss_svc_privacy);
    let call = ctx.seal_call(13, 100003, 4, 1, b"ARGS").expect("seals");
    let (verf, _) = server_reply(call.seq_num, 0, RpcGssService::rpc_gss_svc_privacy, b"R");
    let (_, other) = server_reply(0, 77, RpcGssService::rpc_gss_svc_privacy, b"R");
    let e = ctx
        .unseal_reply(&call, &verf, &other)
        .expect_err("replayed");
    assert!(matches!(e, GssError::SeqMismatch { found: 77, .. }), "{e}");

    // Truncated integrity data is malformed, not a panic.
    let call = ctx.seal_call(14, 100003, 4, 1, b"ARGS").expect("seals");
    let (verf, _) = server_reply(call.seq_num, call.seq_num, service, b"R");
    let e = ctx
        .unseal_reply(&call, &verf, &[0, 0, 0, 9, 1])
        .expect_err("malformed");
    assert!(matches!(e, GssError::Malformed { .. }), "{e}");
}

#[test]
fn the_window_verifier_must_be_the_mic_of_seq_window() {
    let bad = OpaqueAuth {
        flavor: AuthFlavor::RPCSEC_GSS,
        body: Opaque::from(Keyed(KEY).mic(&(WINDOW + 1).to_be_bytes())),
    };
    let r = GssContext::from_parts(
        Box::new(Keyed(KEY)),
        b"h".to_vec(),
        WINDOW,
        RpcGssService::rpc_gss_svc_none,
        &bad,
        InitOutcome {
            round_trips: 1,
            gss_major: 0,
            gss_minor: 0,
        },
    );
    assert!(matches!(r, Err(GssError::BadVerifier { .. })), "{r:?}");
}

#[test]
fn the_sequence_window_keeps_calls_within_the_servers_window() {
    let mut w = SeqWindow::new(3, 1);
    assert_eq!(w.take(), Ok(1));
    assert_eq!(w.take(), Ok(2));
    assert_eq!(w.take(), Ok(3));
    // 4 would be 3 ahead of 1, which still waits: outside a window of 3.
    assert_eq!(
        w.take(),
        Err(GssError::WindowFull {
            window: 3,
            oldest: 1,
            next: 4
        })
    );
    // Replies out of order: 2 done does not move the window's bottom.
    assert!(w.finish(2));
    assert!(w.take().is_err());
    assert!(w.finish(1));
    assert_eq!(w.take(), Ok(4));
    assert_eq!(w.take(), Ok(5));
    assert!(!w.finish(1), "not in flight any more");
    assert_eq!(w.in_flight(), 3);

    let mut end = SeqWindow::new(10, MAXSEQ - 1);
    assert_eq!(end.take(), Ok(MAXSEQ - 1));
    assert_eq!(end.take(), Err(GssError::SeqExhausted));
}

#[test]
fn sequence_numbers_increase_and_a_refused_seal_returns_its_number() {
    let ctx = context(RpcGssService::rpc_gss_svc_none);
    let a = ctx.seal_call(1, 100003, 4, 1, b"").expect("seals");
    let b = ctx.seal_call(2, 100003, 4, 1, b"").expect("seals");
    assert_eq!((a.seq_num, b.seq_num), (1, 2));
    ctx.abandon(&a);
    ctx.abandon(&b);
    assert_eq!(ctx.in_flight(), 0);
    // An undefined service fails to seal and does not hold a number.
    let e = ctx
        .seal_call_with(RpcGssService(9), 3, 100003, 4, 1, b"")
        .expect_err("unknown service");
    assert_eq!(e, GssError::UnknownService(9));
    assert_eq!(ctx.in_flight(), 0);
}

#[test]
fn destroy_is_the_null_procedure_with_a_verifier_and_no_body() {
    let ctx = context(RpcGssService::rpc_gss_svc_privacy);
    let d = ctx.seal_destroy(5, 100003, 4).expect("seals");
    assert_eq!(d.gss_proc, RpcGssProc::RPCSEC_GSS_DESTROY);
    assert!(d.body.is_empty());
    let prefix = header_to_credential(5, 100003, 4, NULLPROC, &d.cred);
    assert_eq!(d.verf.body.as_bytes(), Keyed(KEY).mic(&prefix));
    // Its reply may carry no body, or void results wrapped as a data reply
    // would be (NFS-Ganesha); a wrapped body is verified.
    let (verf, _) = server_reply(d.seq_num, d.seq_num, RpcGssService::rpc_gss_svc_none, b"");
    assert_eq!(ctx.unseal_reply(&d, &verf, &[]), Ok(Vec::new()));
    let d = ctx.seal_destroy(6, 100003, 4).expect("seals");
    let (verf, wrapped) = server_reply(
        d.seq_num,
        d.seq_num,
        RpcGssService::rpc_gss_svc_privacy,
        b"",
    );
    assert_eq!(ctx.unseal_reply(&d, &verf, &wrapped), Ok(Vec::new()));
    let d = ctx.seal_destroy(7, 100003, 4).expect("seals");
    let (verf, _) = server_reply(
        d.seq_num,
        d.seq_num,
        RpcGssService::rpc_gss_svc_privacy,
        b"",
    );
    let (_, other) = server_reply(0, d.seq_num + 1, RpcGssService::rpc_gss_svc_privacy, b"");
    assert!(matches!(
        ctx.unseal_reply(&d, &verf, &other),
        Err(GssError::SeqMismatch { .. })
    ));
}

#[test]
fn the_library_loads_or_says_why_not() {
    match Name::service("nfs", "server.trunkcheck.test") {
        Ok(n) => assert_eq!(n.display().expect("displays"), "nfs@server.trunkcheck.test"),
        Err(e) => assert!(
            matches!(e, GssError::LibraryMissing { .. }),
            "only a missing library may fail here: {e}"
        ),
    }
}
