//! ONC RPC: message headers, credential bodies, RPCSEC_GSS unwrapping, the
//! GSS token of a context creation and record marking, on arbitrary bytes.
//!
//! Invariants: the payload is the tail of the message at the offset given;
//! a decoded header (or credential) re-encodes to bytes that decode to the
//! same value; unwrapped GSS bodies lie inside the payload at the offsets
//! they claim; a GSS token's target principal is made of bytes the token
//! holds and its errors lie inside it; the record assembler gives the same
//! records however the
//! stream is split, never more data than it was fed, and stream offsets that
//! add up.
#![no_main]

use analyzer::rpc::{
    AuthFlavor, Credential, GssBody, Payload, RecordAssembler, RecordLimits, RpcGssService,
    RpcMessage,
};
use analyzer::exchange::GssInit;
use analyzer::rpc::gss_token::{
    framed_mech, parse_initiator_token, MAX_NAME_BYTES, MAX_NAME_COMPONENTS,
};
use analyzer::xdr::{from_bytes, to_bytes};
use libfuzzer_sys::fuzz_target;

/// Checks that `inner` is the part of the message `msg` at `inner.offset`.
fn inside(msg: &[u8], inner: &Payload<'_>) {
    let end = inner.offset + inner.bytes.len();
    assert_eq!(
        msg.get(inner.offset..end),
        Some(inner.bytes),
        "payload offset wrong"
    );
}

fn check_gss(msg: &[u8], payload: Payload<'_>, service: RpcGssService) {
    match GssBody::parse_service(payload, service) {
        Ok(GssBody::Plain(p)) => inside(msg, &p),
        Ok(GssBody::Integrity { body, checksum, .. }) => {
            inside(msg, &body);
            inside(msg, &checksum);
        }
        Ok(GssBody::Privacy { databody_priv }) => inside(msg, &databody_priv),
        Err(e) => assert!(
            e.offset() <= msg.len(),
            "error offset past the message: {e}"
        ),
    }
}

/// The input as a GSS initial context token.
fn check_gss_token(token: &[u8]) {
    match parse_initiator_token(token) {
        Ok(t) => {
            let p = &t.target;
            let bytes = p.realm.len() + p.components.iter().map(Vec::len).sum::<usize>();
            assert!(bytes <= token.len().min(MAX_NAME_BYTES), "name larger than the token");
            assert!(p.components.len() <= MAX_NAME_COMPONENTS);
            let _ = p.to_string();
        }
        Err(e) => {
            assert!(e.offset <= token.len(), "error offset past the token: {e}");
            let _ = e.to_string();
        }
    }
    let _ = framed_mech(token).map(|m| m.dotted());
}

fn check_credential(flavor: AuthFlavor, body: &[u8]) {
    let Ok(c) = Credential::decode(flavor, body) else {
        return;
    };
    assert_eq!(c.flavor(), flavor);
    let auth = c.to_opaque_auth();
    let again = Credential::decode(auth.flavor, auth.body.as_bytes())
        .unwrap_or_else(|e| panic!("re-encoded credential does not decode: {e}\n{c:?}"));
    match (&c, &again) {
        // Bodies ignored by these flavors are not kept.
        (Credential::None, Credential::None) | (Credential::Tls, Credential::Tls) => {}
        _ => assert_eq!(c, again, "credential round trip changed the value"),
    }
}

/// Feeds `chunks` to a fresh assembler and collects (offset, end, data)
/// of the records, and the final state.
fn assemble(chunks: &[&[u8]]) -> (Vec<(u64, u64, Vec<u8>)>, Option<String>, bool) {
    let limits = RecordLimits {
        max_record: 4096,
        max_fragments: 16,
    };
    let mut a = RecordAssembler::with_limits(limits);
    let mut fed = 0u64;
    let mut out = Vec::new();
    for chunk in chunks {
        let _ = a.feed(chunk);
        fed += chunk.len() as u64;
        assert_eq!(a.stream_offset(), fed);
        assert!(a.buffered() <= limits.max_record);
        while let Some(rec) = a.pop() {
            assert!(rec.data.len() <= limits.max_record);
            assert!(rec.fragments >= 1 && rec.fragments <= limits.max_fragments);
            // Headers are 4 bytes each and not part of the data.
            let span = rec.end_offset - rec.offset;
            assert_eq!(span, rec.data.len() as u64 + 4 * u64::from(rec.fragments));
            for pos in [0, rec.data.len() / 2, rec.data.len().saturating_sub(1)] {
                if let Some(at) = rec.stream_offset_of(pos) {
                    assert!(at >= rec.offset + 4 && at < rec.end_offset);
                } else {
                    assert!(rec.data.is_empty());
                }
            }
            assert!(rec.stream_offset_of(rec.data.len()).is_none());
            out.push((rec.offset, rec.end_offset, rec.data));
        }
    }
    let err = a.error().map(|e| e.to_string());
    (out, err, a.finish().is_ok())
}

fuzz_target!(|data: &[u8]| {
    // The whole input as one RPC message.
    if let Ok((msg, payload)) = RpcMessage::parse(data) {
        assert_eq!(payload.offset + payload.bytes.len(), data.len());
        inside(data, &payload);
        let bytes = msg.to_bytes_with_payload(payload.bytes);
        let (again, p2) = RpcMessage::parse(&bytes).expect("re-encoded header does not parse");
        assert_eq!(msg, again, "header round trip changed the value");
        assert_eq!(p2.bytes, payload.bytes);
        if let Some(call) = msg.as_call() {
            if let Ok(Credential::Gss(g)) = call.cred.credential() {
                // A context-creation call's arguments, as the analyzer reads
                // them.
                if let GssInit::Call(Err(e)) = GssInit::call(payload) {
                    assert!(e.offset <= payload.bytes.len(), "{e}");
                }
                let _ = GssInit::reply(payload);
                match GssBody::parse(payload, g.vers1()) {
                    Ok(GssBody::Plain(p)) => inside(data, &p),
                    Ok(GssBody::Integrity { body, checksum, .. }) => {
                        inside(data, &body);
                        inside(data, &checksum);
                    }
                    Ok(GssBody::Privacy { databody_priv }) => inside(data, &databody_priv),
                    Err(_) => {}
                }
            }
            check_credential(call.cred.flavor, call.cred.body.as_bytes());
            check_credential(call.verf.flavor, call.verf.body.as_bytes());
        }
    }

    check_gss_token(data);

    // The input as a credential body of each flavor, and as a GSS-wrapped
    // body of each service (payload placed after an 8-byte header).
    for flavor in [
        AuthFlavor::AUTH_NONE,
        AuthFlavor::AUTH_SYS,
        AuthFlavor::RPCSEC_GSS,
        AuthFlavor::AUTH_TLS,
        AuthFlavor(0x1234),
    ] {
        check_credential(flavor, data);
    }
    if let Ok(parms) = from_bytes::<analyzer::rpc::AuthSysParms>(data) {
        let _ = parms.violations();
        assert_eq!(
            from_bytes::<analyzer::rpc::AuthSysParms>(&to_bytes(&parms)).as_ref(),
            Ok(&parms)
        );
    }
    let tail = data.get(8..).unwrap_or_default();
    let payload = Payload {
        bytes: tail,
        offset: data.len() - tail.len(),
    };
    for service in [
        RpcGssService::rpc_gss_svc_none,
        RpcGssService::rpc_gss_svc_integrity,
        RpcGssService::rpc_gss_svc_privacy,
        RpcGssService(0),
    ] {
        check_gss(data, payload, service);
    }

    // Record marking: the stream split at a position taken from the first
    // byte gives the same records as the whole stream, and as byte by byte.
    let Some((&first, stream)) = data.split_first() else {
        return;
    };
    let split = usize::from(first).min(stream.len());
    let (a, b) = stream.split_at(split);
    let whole = assemble(&[stream]);
    let halves = assemble(&[a, b]);
    assert_eq!(whole, halves, "split at {split} changed the records");
    if stream.len() <= 512 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(
            whole,
            assemble(&bytes),
            "byte-by-byte feeding changed the records"
        );
    }
    let total: usize = whole.0.iter().map(|r| r.2.len()).sum();
    assert!(total <= stream.len());
});
