//! Property tests: every operation's arguments and results of every minor
//! version, every callback operation, every attribute, and whole COMPOUNDs
//! round-trip (encode → decode → equal → same bytes) on generated values;
//! and decoding arbitrary bytes never panics.

use super::attr::*;
use super::*;
use crate::xdr::{to_bytes, ErrorKind, Limits, Reader, Xdr};
use arbitrary::{Arbitrary, Unstructured};

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 24) as u8
            })
            .collect()
    }
}

/// Decodes `bytes` (the encoding of `v`), checks equality, full consumption,
/// and that re-encoding gives the same bytes.
fn check_roundtrip<'a, T>(v: &T, bytes: &'a [u8], what: &str)
where
    T: Xdr<'a> + PartialEq + std::fmt::Debug,
{
    assert_eq!(bytes.len() % 4, 0, "{what}: unaligned encoding");
    let mut r = Reader::new(bytes);
    let back = match T::decode(&mut r) {
        Ok(b) => b,
        Err(e) => panic!("{what}: decode of own encoding failed: {e}\n{v:?}"),
    };
    assert_eq!(&back, v, "{what}: value changed in round trip");
    assert!(r.is_empty(), "{what}: {} bytes left over", r.remaining());
    assert_eq!(to_bytes(&back), bytes, "{what}: re-encoding differs");
}

/// Round-trips `v` and also its `'static` copy.
macro_rules! roundtrip {
    ($v:expr, $what:expr) => {{
        let v = $v;
        let bytes = to_bytes(&v);
        check_roundtrip(&v, &bytes, $what);
        let owned = crate::xdr::IntoStatic::into_static(v.clone());
        assert_eq!(owned, v, "{}: into_static changed the value", $what);
    }};
}

const ITERATIONS: usize = 300;

#[test]
fn every_operation_argument_round_trips() {
    let mut rng = Bytes(0x1234_5678_9abc_def1);
    for &(op, name) in NfsOpnum4::KNOWN {
        for i in 0..ITERATIONS {
            let data = rng.fill(64 + i % 512);
            let mut u = Unstructured::new(&data);
            let Ok(v) = NfsArgOp::arbitrary_for(op, &mut u) else {
                continue;
            };
            assert_eq!(v.opnum(), op);
            roundtrip!(v, name);
        }
    }
}

#[test]
fn every_operation_result_round_trips() {
    let mut rng = Bytes(0x0fed_cba9_8765_4321);
    for &(op, name) in NfsOpnum4::KNOWN {
        let mut ok_seen = false;
        for i in 0..ITERATIONS {
            let data = rng.fill(64 + i % 512);
            let mut u = Unstructured::new(&data);
            let Ok(v) = NfsResOp::arbitrary_for(op, &mut u) else {
                continue;
            };
            ok_seen |= v.status().is_ok();
            roundtrip!(v, name);
        }
        assert!(ok_seen, "{name}: no successful result was generated");
    }
}

#[test]
fn every_callback_operation_round_trips() {
    let mut rng = Bytes(0x5555_aaaa_1234_0001);
    for &(op, name) in CbOpnum4::KNOWN {
        for i in 0..ITERATIONS {
            let data = rng.fill(64 + i % 256);
            let mut u = Unstructured::new(&data);
            if let Ok(v) = CbArgOp::arbitrary_for(op, &mut u) {
                roundtrip!(v, name);
            }
            let mut u = Unstructured::new(&data);
            if let Ok(v) = CbResOp::arbitrary_for(op, &mut u) {
                roundtrip!(v, name);
            }
        }
    }
}

#[test]
fn compounds_round_trip_and_count_every_op() {
    let mut rng = Bytes(0xdead_beef_cafe_f00d);
    for i in 0..500 {
        let data = rng.fill(256 + i * 4);
        let mut u = Unstructured::new(&data);
        if let Ok(c) = Compound4Args::arbitrary(&mut u) {
            roundtrip!(c, "COMPOUND4args");
        }
        if let Ok(c) = Compound4Res::arbitrary(&mut u) {
            roundtrip!(c, "COMPOUND4res");
        }
        if let Ok(c) = CbCompound4Args::arbitrary(&mut u) {
            roundtrip!(c, "CB_COMPOUND4args");
        }
        if let Ok(c) = CbCompound4Res::arbitrary(&mut u) {
            roundtrip!(c, "CB_COMPOUND4res");
        }
    }
}

#[test]
fn every_attribute_round_trips_through_fattr4() {
    let mut rng = Bytes(0x0bad_c0de_0bad_c0de);
    for &(num, name) in Fattr4Num::KNOWN {
        for i in 0..ITERATIONS {
            let data = rng.fill(32 + i % 256);
            let mut u = Unstructured::new(&data);
            let Ok(v) = AttrValue::arbitrary(&mut u) else {
                continue;
            };
            // Pair each attribute with a generated value of `num`.
            let mut u2 = Unstructured::new(&data);
            let other = (0..64)
                .filter_map(|_| AttrValue::arbitrary(&mut u2).ok())
                .find(|o| o.number() == num.0);
            let mut values = vec![v];
            if let Some(o) = other {
                if o.number() != values[0].number() {
                    values.push(o);
                }
            }
            values.sort_by_key(|v| v.number());
            let f = Fattr4::from_values(&values);
            let d = f.decode_values();
            assert!(d.error.is_none(), "{name}: {:?}", d.error);
            assert_eq!(d.values, values, "{name}");
            assert_eq!(d.trailing, 0);
        }
    }
}

#[test]
fn unknown_attribute_keeps_raw_rest_and_earlier_values() {
    // lease_time (10) = 90, then attribute 100 (undefined) with 8 bytes.
    let mut mask = Bitmap4::from_bits(&[10, 100]);
    let vals = [0, 0, 0, 90, 1, 2, 3, 4, 5, 6, 7, 8];
    let d = decode_attr_values(&mask, &vals);
    assert_eq!(d.lease_time(), Some(90));
    assert_eq!(d.unknown, Some((100, &vals[4..])));
    // A truncated value is an error naming the attribute, earlier values kept.
    mask.set(4);
    let d = decode_attr_values(&mask, &[0, 0, 0, 0, 0, 0, 0, 7, 0, 0]);
    assert_eq!(d.values, vec![AttrValue::Size(7)]);
    let e = d.error.expect("truncated lease_time");
    assert_eq!(e.path(), "attr_vals.FATTR4_LEASE_TIME");
}

fn sequence_putfh_getattr() -> Compound4Args<'static> {
    Compound4Args {
        tag: Opaque::from(""),
        minorversion: 1,
        argarray: vec![
            NfsArgOp::Sequence(Sequence4Args {
                sa_sessionid: SessionId4([7; 16]),
                sa_sequenceid: 9,
                sa_slotid: 0,
                sa_highest_slotid: 0,
                sa_cachethis: false,
            }),
            NfsArgOp::Putfh(Putfh4Args {
                object: Opaque::from(vec![1u8; 28]),
            }),
            NfsArgOp::Getattr(Getattr4Args {
                attr_request: Bitmap4::from_bits(&[1, 3, 4, 8, 10]),
            }),
        ],
    }
}

use crate::xdr::Opaque;

#[test]
fn unknown_operation_keeps_the_ops_before_it() {
    let mut bytes = to_bytes(&sequence_putfh_getattr());
    // Claim one more op and append op number 99 (undefined).
    bytes[11] = 4;
    bytes.extend_from_slice(&[0, 0, 0, 99, 0, 0, 0, 0]);
    let p = Compound4Args::decode_partial(&mut Reader::new(&bytes)).unwrap();
    assert_eq!(p.value.argarray.len(), 3);
    assert_eq!(p.value.argarray[2].name(), "GETATTR");
    let e = p.error.expect("unknown op is reported");
    assert_eq!(e.kind(), &ErrorKind::UnknownOperation(99));
    assert_eq!(e.path(), "argarray[3]");
    // The strict decoder refuses the whole thing.
    assert!(Compound4Args::decode(&mut Reader::new(&bytes)).is_err());
}

#[test]
fn malformed_op_error_names_the_op_and_field() {
    let c = Compound4Args {
        tag: Opaque::from("t"),
        minorversion: 1,
        argarray: vec![NfsArgOp::ExchangeId(ExchangeId4Args {
            eia_clientowner: ClientOwner4 {
                co_verifier: Verifier4([1; 8]),
                co_ownerid: Opaque::from("linux-client"),
            },
            eia_flags: ExchgId4Flags(0),
            eia_state_protect: StateProtect4A::None,
            eia_client_impl_id: vec![],
        })],
    };
    let mut bytes = to_bytes(&c);
    // co_ownerid's length lives after tag(8) + minor(4) + count(4) + op(4) + verifier(8).
    bytes[28..32].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    let p = Compound4Args::decode_partial(&mut Reader::new(&bytes)).unwrap();
    assert!(p.value.argarray.is_empty());
    let e = p.error.unwrap();
    assert_eq!(
        e.path(),
        "argarray[0].EXCHANGE_ID.eia_clientowner.co_ownerid"
    );
    assert_eq!(e.offset(), 28);
    assert!(matches!(e.kind(), ErrorKind::LengthPastEnd { .. }));
}

#[test]
fn op_count_claiming_billions_does_not_allocate_them() {
    // tag "", minorversion 1, count 0xffffffff, then one PUTROOTFH.
    let bytes = [0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 24];
    let p = Compound4Args::decode_partial(&mut Reader::new(&bytes)).unwrap();
    assert_eq!(p.value.argarray, vec![NfsArgOp::Putrootfh(())]);
    assert!(p.error.is_some());
    let limits = Limits { max_elements: 1 };
    let mut bytes = to_bytes(&sequence_putfh_getattr());
    bytes.truncate(bytes.len());
    let p = Compound4Args::decode_partial(&mut Reader::with_limits(&bytes, limits)).unwrap();
    assert_eq!(p.value.argarray.len(), 1);
    assert!(matches!(
        p.error.unwrap().kind(),
        ErrorKind::TooManyElements { count: 3, limit: 1 }
    ));
}

#[test]
fn result_status_and_names() {
    let r = NfsResOp::Lock(Lock4Res::Denied(Lock4Denied {
        offset: 0,
        length: 1,
        locktype: NfsLockType4::WRITE_LT,
        owner: StateOwner4 {
            clientid: Clientid4(5),
            owner: Opaque::from("o"),
        },
    }));
    assert_eq!(r.status(), NfsStat4::NFS4ERR_DENIED);
    assert_eq!(r.name(), "LOCK");
    assert_eq!(
        NfsOpnum4::OP_BIND_CONN_TO_SESSION.op_name(),
        Some("BIND_CONN_TO_SESSION")
    );
    assert_eq!(CbOpnum4::OP_CB_SEQUENCE.op_name(), Some("CB_SEQUENCE"));
    assert_eq!(NfsOpnum4(41).since_minor(), Some(1));
    assert!(NfsOpnum4::OP_SETCLIENTID.is_v40_only());
    assert_eq!(format!("{}", NfsStat4(10052)), "NFS4ERR_BADSESSION");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Bytes(42);
    let mut decoded = 0usize;
    for i in 0..20_000 {
        let data = rng.fill(i % 300);
        // Shape the start like a COMPOUND so the op decoders get exercised.
        let mut buf = vec![0, 0, 0, 0, 0, 0, 0, (i % 3) as u8, 0, 0, 0, (i % 7) as u8];
        let op = 3 + (i % 73) as u32;
        buf.extend_from_slice(&op.to_be_bytes());
        buf.extend_from_slice(&data);
        if let Ok(p) = Compound4Args::decode_partial(&mut Reader::new(&buf)) {
            decoded += p.value.argarray.len();
        }
        let mut res = vec![0, 0, 0, 0];
        res.extend_from_slice(&buf[..]);
        let _ = Compound4Res::decode_partial(&mut Reader::new(&res));
        let _ = CbCompound4Args::decode_partial(&mut Reader::new(&data));
        let _ = CbCompound4Res::decode_partial(&mut Reader::new(&data));
        let _ = decode_attr_values(&Bitmap4(vec![0xffff_ffff, 0xffff_ffff, 0x7ffff]), &data);
    }
    assert!(
        decoded > 1000,
        "random op bodies should often decode ({decoded})"
    );
}

#[test]
fn json_of_generated_values_is_valid() {
    use crate::xdr::ToJson;
    let mut rng = Bytes(0x7777_1234_5678_9999);
    for i in 0..2000 {
        let data = rng.fill(128 + i % 512);
        let mut u = Unstructured::new(&data);
        if let Ok(c) = Compound4Args::arbitrary(&mut u) {
            let s = c.to_json_string();
            serde_json::from_str::<serde_json::Value>(&s).unwrap_or_else(|e| panic!("{e}: {s}"));
        }
        if let Ok(c) = Compound4Res::arbitrary(&mut u) {
            let s = c.to_json_string();
            serde_json::from_str::<serde_json::Value>(&s).unwrap_or_else(|e| panic!("{e}: {s}"));
        }
        if let Ok(c) = CbCompound4Args::arbitrary(&mut u) {
            let s = c.to_json_string();
            serde_json::from_str::<serde_json::Value>(&s).unwrap_or_else(|e| panic!("{e}: {s}"));
        }
    }
}
