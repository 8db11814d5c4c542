//! Tests of the XDR runtime and of the codec macros on small sample types.

use super::*;
use arbitrary::{Arbitrary, Unstructured};

xdr_enum! {
    /// A sample enum.
    pub enum Colour { RED = 0, GREEN = 1, BLUE = 0x10 }
}

xdr_flags! {
    /// Sample flags.
    pub struct Bits { A = 0x1, B = 0x4 }
}

xdr_struct! {
    /// A struct that borrows.
    pub struct Named<'a> {
        /// Its name.
        pub name: Opaque<'a>,
        /// Its colour.
        pub colour: Colour,
        /// Fixed bytes.
        pub verf: [u8; 5],
        /// Optional number.
        pub opt: Option<u64>,
    }
}

xdr_struct! {
    /// A struct that owns.
    pub struct Plain { pub a: u32, pub b: i64, pub flags: Bits }
}

const SPECIAL: u32 = 7;

xdr_union! {
    /// A union with a default arm.
    pub enum Shape<'a> switch (Colour) {
        case Colour::RED => Red(Named<'a>),
        case Colour::GREEN => Green,
        default => Other(Plain),
    }
}

xdr_union! {
    /// A union without a default arm, on a plain integer.
    pub enum Strict switch (u32) {
        case SPECIAL => Seven(u32),
    }
}

fn roundtrip<'a, T: Xdr<'a> + PartialEq + std::fmt::Debug>(v: &T, buf: &'a mut Vec<u8>) {
    *buf = to_bytes(v);
    assert_eq!(buf.len() % 4, 0);
    let mut r = Reader::new(buf);
    let back = T::decode(&mut r).expect("decodes");
    assert_eq!(&back, v);
    assert!(r.is_empty(), "all bytes consumed");
}

#[test]
fn primitives_are_big_endian_and_padded() {
    let mut w = Writer::new();
    w.put_u32(1);
    w.put_u64(0x0102030405060708);
    w.put_opaque(b"abcde");
    w.put_bool(true);
    assert_eq!(
        w.as_bytes(),
        &[
            0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0,
            0, 0, 0, 1
        ]
    );
    let mut r = Reader::new(w.as_bytes());
    assert_eq!(r.u32().unwrap(), 1);
    assert_eq!(r.u64().unwrap(), 0x0102030405060708);
    assert_eq!(r.opaque().unwrap(), b"abcde");
    assert!(r.bool().unwrap());
    assert!(r.is_empty());
}

#[test]
fn opaque_length_past_end_is_an_error_without_allocation() {
    let buf = [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
    let e = Opaque::decode(&mut Reader::new(&buf)).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::LengthPastEnd {
            claimed: 0xffff_ffff,
            remaining: 4
        }
    );
    assert_eq!(e.offset(), 0);
}

#[test]
fn array_count_is_bounded_by_remaining_bytes_and_cap() {
    // 1000 u64s claimed, 16 bytes present.
    let mut buf = vec![0, 0, 0x03, 0xe8];
    buf.extend_from_slice(&[0; 16]);
    let e = <Vec<u64>>::decode(&mut Reader::new(&buf)).unwrap_err();
    assert!(matches!(
        e.kind(),
        ErrorKind::LengthPastEnd { claimed: 8000, .. }
    ));
    // Within bytes but above the element cap.
    let mut buf = vec![0, 0, 0, 3];
    buf.extend_from_slice(&[0; 12]);
    let limits = Limits { max_elements: 2 };
    let e = <Vec<u32>>::decode(&mut Reader::with_limits(&buf, limits)).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TooManyElements { count: 3, limit: 2 });
}

#[test]
fn error_path_names_the_field() {
    // Named: name (len 2 "ab" + pad), colour, verf (5 bytes + 3 pad), opt=TRUE then truncated u64.
    let mut buf = vec![0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0, 0, 1];
    buf.extend_from_slice(&[1, 2, 3, 4, 5, 0, 0, 0]);
    buf.extend_from_slice(&[0, 0, 0, 1, 0, 0]);
    let e = <Vec<Named>>::decode(&mut Reader::new(&[&[0, 0, 0, 1][..], &buf[..]].concat()))
        .unwrap_err();
    assert_eq!(e.path(), "[0].opt");
    let e = e.within("list");
    assert_eq!(e.path(), "list[0].opt");
    assert!(e.to_string().contains("[0].opt: truncated"), "{e}");
}

#[test]
fn bad_bool_and_bad_discriminant() {
    let e = bool::decode(&mut Reader::new(&[0, 0, 0, 2])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BadBool(2));
    let e = Strict::decode(&mut Reader::new(&[0, 0, 0, 8, 0, 0, 0, 0])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::BadDiscriminant(8));
}

#[test]
fn union_default_arm_keeps_the_discriminant() {
    let v = Shape::Other(
        Colour(99),
        Plain {
            a: 1,
            b: -2,
            flags: Bits(5),
        },
    );
    let mut buf = Vec::new();
    roundtrip(&v, &mut buf);
    assert_eq!(&buf[..4], &[0, 0, 0, 99]);
    assert_eq!(v.discriminant(), Colour(99));
    assert_eq!(Shape::Green.discriminant(), Colour::GREEN);
}

#[test]
fn enum_and_flags_print_names() {
    assert_eq!(format!("{:?}", Colour::BLUE), "BLUE");
    assert_eq!(format!("{:?}", Colour(5)), "Colour(5)");
    assert_eq!(Colour::from_name("GREEN"), Some(Colour::GREEN));
    assert_eq!(format!("{:?}", Bits(0x1 | 0x4 | 0x100)), "A|B|0x100");
    assert_eq!(format!("{:?}", Bits(0)), "0");
}

#[test]
fn linked_list_decodes_iteratively() {
    // 200,000 entries would overflow the stack if decoded recursively.
    let n = 200_000u32;
    let mut w = Writer::new();
    for i in 0..n {
        w.put_bool(true);
        w.put_u32(i);
    }
    w.put_bool(false);
    let l = List::<u32>::decode(&mut Reader::new(w.as_bytes())).unwrap();
    assert_eq!(l.0.len(), n as usize);
    let limits = Limits { max_elements: 10 };
    let e = List::<u32>::decode(&mut Reader::with_limits(w.as_bytes(), limits)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::TooManyElements { .. }));
}

#[test]
fn into_static_outlives_the_buffer() {
    let owned: Shape<'static> = {
        let buf = to_bytes(&Shape::Red(Named {
            name: Opaque::from("x"),
            colour: Colour::RED,
            verf: [1; 5],
            opt: None,
        }));
        let v: Shape = from_bytes(&buf).unwrap();
        v.into_static()
    };
    assert!(matches!(owned, Shape::Red(ref n) if n.name.as_bytes() == b"x"));
}

#[test]
fn generated_values_round_trip() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..2000 {
        let mut data = vec![0u8; 256];
        for b in data.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        let mut u = Unstructured::new(&data);
        let v = Shape::arbitrary(&mut u).unwrap();
        let mut buf = Vec::new();
        roundtrip(&v, &mut buf);
    }
}

xdr_fixed_opaque! {
    /// Sample fixed-size opaque.
    pub struct Verf3([u8; 3]);
}

/// The escaping written in place gives the same text as the allocating
/// functions, and the JSON one the same as escaping and then JSON-quoting.
#[test]
fn escaping_in_place_matches_the_allocating_functions() {
    let mut all: Vec<u8> = (0..=255u8).chain(*b"plain text \\ \" end").collect();
    all = all.repeat(3);
    for len in [0, 1, 5, 511, 512, 513, all.len()] {
        let b = &all[all.len() - len..];
        let mut s = String::from("prefix");
        escape_bytes_into(b, &mut s);
        assert_eq!(s, format!("prefix{}", escape_bytes(b)));

        let mut quoted = String::new();
        json::push_json_str(&mut quoted, &escape_bytes(b));
        let mut j = String::from("\"");
        escape_bytes_json_into(b, &mut j);
        j.push('"');
        assert_eq!(j, quoted);
        assert_eq!(Opaque::from(b).to_json_string(), quoted);

        let mut h = String::from("x");
        hex_into(b, &mut h);
        let expected: String = b.iter().map(|c| format!("{c:02x}")).collect();
        assert_eq!(h, format!("x{expected}"));
    }
    // Long input crosses the stack buffers' boundaries.
    let long: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut s = String::new();
    escape_bytes_into(&long, &mut s);
    assert_eq!(
        s,
        long.iter().map(|&c| escape_bytes(&[c])).collect::<String>()
    );
}

#[test]
fn json_strings_escape_controls_quotes_and_keep_unicode() {
    let mut s = String::new();
    json::push_json_str(&mut s, "a\"b\\c\nd\re\tf\u{1}g é ✓");
    assert_eq!(s, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g é ✓\"");
}

#[test]
fn fixed_opaques_and_flags_print_without_change() {
    let v = Verf3([0x00, 0xab, 0x7f]);
    assert_eq!(v.to_string(), "00ab7f");
    assert_eq!(format!("{v:?}"), "0x00ab7f");
    assert_eq!(v.to_json_string(), "\"00ab7f\"");
    assert_eq!(format!("{:?}", Bits(0)), "0");
    assert_eq!(format!("{:?}", Bits(0x1)), "A");
    assert_eq!(format!("{:?}", Bits(0x5)), "A|B");
    assert_eq!(format!("{:?}", Bits(0x15)), "A|B|0x10");
    assert_eq!(format!("{:?}", Bits(0x10)), "0x10");
}

#[test]
fn fixed_opaques_order_as_their_bytes() {
    use crate::nfs4::{SessionId4, StateidOther, Verifier4};
    // Pairs differing in one byte (each position, both ways) and equal pairs.
    let mut cases = vec![([0u8; 16], [0u8; 16])];
    for i in 0..16 {
        for (x, y) in [(0u8, 1u8), (0x7f, 0x80), (0xff, 0xfe), (3, 3)] {
            let (mut a, mut b) = ([0x5au8; 16], [0x5au8; 16]);
            a[i] = x;
            b[i] = y;
            cases.push((a, b));
        }
    }
    for (a, b) in cases {
        assert_eq!(SessionId4(a).cmp(&SessionId4(b)), a.cmp(&b));
        let (a8, b8): ([u8; 8], [u8; 8]) =
            (a[4..12].try_into().unwrap(), b[4..12].try_into().unwrap());
        assert_eq!(Verifier4(a8).cmp(&Verifier4(b8)), a8.cmp(&b8));
        let (a12, b12): ([u8; 12], [u8; 12]) =
            (a[2..14].try_into().unwrap(), b[2..14].try_into().unwrap());
        assert_eq!(StateidOther(a12).cmp(&StateidOther(b12)), a12.cmp(&b12));
        assert_eq!(SessionId4(a).partial_cmp(&SessionId4(b)), Some(a.cmp(&b)));
    }
}

#[test]
fn json_numbers_and_strings_match_std_and_parse_back() {
    for v in [
        0i128,
        9,
        10,
        99,
        100,
        -1,
        -100,
        i64::MIN as i128,
        u64::MAX as i128,
        i128::MIN,
        i128::MAX,
    ] {
        let mut o = JsonOut::new();
        o.number(v);
        assert_eq!(o.as_str(), v.to_string());
    }
    // Every position of every character that needs escaping, in strings
    // longer and shorter than a word.
    for len in [0usize, 3, 8, 13, 24] {
        for at in 0..len.max(1) {
            for c in ['\u{0}', '\u{1f}', '"', '\\', '\n', 'é', ' ', '\u{7f}'] {
                let mut t: Vec<char> = vec!['a'; len];
                if at < len {
                    t[at] = c;
                }
                let t: String = t.into_iter().collect();
                let mut o = JsonOut::new();
                o.string(&t);
                let back: String =
                    serde_json::from_str(o.as_str()).unwrap_or_else(|_| panic!("{}", o.as_str()));
                assert_eq!(back, t);
            }
        }
    }
}

#[test]
fn file_data_is_written_as_the_payload_mode_says() {
    use crate::nfs4::Read4ResOk;
    let r = Read4ResOk {
        eof: true,
        data: Opaque::from(&b"a\x00\"b"[..]),
    };
    let with = |mode: Option<PayloadMode>| {
        let mut o = JsonOut::new();
        if let Some(m) = mode {
            o.set_payload(m);
        }
        r.to_json(&mut o);
        o.into_string()
    };
    assert_eq!(with(None), r#"{"eof":true,"data":"a\\x00\\\"b"}"#);
    assert_eq!(with(Some(PayloadMode::Escaped)), with(None));
    assert_eq!(
        with(Some(PayloadMode::Hex)),
        r#"{"eof":true,"data":"61002262"}"#
    );
    assert_eq!(with(Some(PayloadMode::Len)), r#"{"eof":true,"data":4}"#);
    // Other opaques stay text whatever the mode.
    let mut o = JsonOut::new();
    o.set_payload(PayloadMode::Len);
    o.field("owner", &Opaque::from(&b"x\x01"[..]));
    assert_eq!(o.as_str(), r#""owner":"x\\x01""#);
}
