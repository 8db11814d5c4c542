//! COMPOUND and CB_COMPOUND decoding (partial and strict) and the `fattr4`
//! value walk, on arbitrary bytes.
//!
//! Invariants: the partial and the strict decoders agree (a strict success
//! is a complete partial decode of the same value, and the other way
//! round); a strictly decoded value re-encodes to bytes that decode to the
//! same value and re-encode to the same bytes; decoded attribute values come
//! in increasing attribute order and survive a re-encoding.
#![no_main]

use analyzer::nfs4::attr::{decode_attr_values, Fattr4Num};
use analyzer::nfs4::{
    Bitmap4, CbCompound4Args, CbCompound4Res, Compound4Args, Compound4Res, Fattr4,
};
use analyzer::xdr::{to_bytes, Reader, Xdr};
use libfuzzer_sys::fuzz_target;

/// Checks one COMPOUND-like type: partial vs strict decoding, and the
/// round trip of a strict decode. (A macro: the re-decoded value borrows
/// from a shorter-lived buffer than the input.)
macro_rules! check {
    ($T:ident, $data:expr) => {{
        let data: &[u8] = $data;
        let mut r = Reader::new(data);
        let p = $T::decode_partial(&mut r);
        assert!(r.offset() <= data.len());
        let strict = <$T as Xdr>::decode(&mut Reader::new(data));
        match (&p, &strict) {
            (Ok(p), Ok(s)) => {
                assert!(
                    p.is_complete(),
                    "strict decode succeeded, partial stopped: {p:?}"
                );
                assert_eq!(&p.value, s, "partial and strict decodes differ");
            }
            (Ok(p), Err(e)) => assert!(
                !p.is_complete(),
                "partial decode complete, strict failed with {e}"
            ),
            (Err(_), Ok(s)) => panic!("strict decode succeeded, partial failed: {s:?}"),
            (Err(_), Err(_)) => {}
        }
        if let Ok(v) = strict {
            let bytes = to_bytes(&v);
            let again = <$T as Xdr>::decode(&mut Reader::new(&bytes))
                .unwrap_or_else(|e| panic!("re-encoding does not decode: {e}\n{v:?}"));
            assert_eq!(v, again, "round trip changed the value");
            assert_eq!(bytes, to_bytes(&again), "encoding is not stable");
        }
    }};
}

/// Every attribute number an RFC defines, and the first undefined one.
fn full_bitmap() -> Bitmap4 {
    let mut bits: Vec<u32> = Fattr4Num::KNOWN.iter().map(|(n, _)| n.0).collect();
    if let Some(&max) = bits.iter().max() {
        bits.push(max + 1);
    }
    Bitmap4::from_bits(&bits)
}

fuzz_target!(|data: &[u8]| {
    check!(Compound4Args, data);
    check!(Compound4Res, data);
    check!(CbCompound4Args, data);
    check!(CbCompound4Res, data);

    let mask = full_bitmap();
    let d = decode_attr_values(&mask, data);
    assert!(d.values.windows(2).all(|w| w[0].number() < w[1].number()));
    assert!(d.values.iter().all(|v| mask.is_set(v.number())));
    assert!(d.trailing <= data.len());
    if let Some((num, raw)) = d.unknown {
        assert!(mask.is_set(num) && raw.len() <= data.len());
    }
    // The values decoded re-encode into a fattr4 that decodes to them.
    let f = Fattr4::from_values(&d.values);
    let again = f.decode_values();
    assert!(again.error.is_none() && again.unknown.is_none() && again.trailing == 0);
    assert_eq!(again.values, d.values);
});
