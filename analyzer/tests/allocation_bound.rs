//! Decoding never allocates more than a small multiple of the input: lengths
//! and counts that the input merely claims are not reserved. A counting
//! global allocator measures the peak bytes held while decoding hostile and
//! random inputs. (One test in this binary, so no other thread allocates.)

use analyzer::nfs4::*;
use analyzer::rpc::{RecordAssembler, RpcMessage};
use analyzer::xdr::Reader;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        System.dealloc(p, l)
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak bytes allocated (above what was held before) while running `f`.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    f();
    PEAK.load(Relaxed) - base
}

/// The bound this crate promises: 64 bytes of memory per input byte, plus a
/// constant. (The widest decoded op is under 200 bytes and takes at least 4
/// input bytes; nested arrays reserve only what the remaining bytes can hold.)
fn bound(input: usize) -> usize {
    64 * input + 4096
}

fn decode_everything(b: &[u8]) {
    let _ = Compound4Args::decode_partial(&mut Reader::new(b));
    let _ = Compound4Res::decode_partial(&mut Reader::new(b));
    let _ = CbCompound4Args::decode_partial(&mut Reader::new(b));
    let _ = CbCompound4Res::decode_partial(&mut Reader::new(b));
    if let Ok((_, p)) = RpcMessage::parse(b) {
        let _ = Compound4Args::decode_partial(&mut Reader::new(p.bytes));
    }
    let _ = attr::decode_attr_values(&Bitmap4(vec![u32::MAX, u32::MAX, 0x7_ffff]), b);
    let mut rec = RecordAssembler::new();
    let _ = rec.feed(b);
    while rec.pop().is_some() {}
}

fn hostile_inputs() -> Vec<Vec<u8>> {
    // Many ops, each a PUTROOTFH (4 bytes): the widest legitimate op array.
    let mut many = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x10, 0];
    for _ in 0..4096 {
        many.extend_from_slice(&[0, 0, 0, 24]);
    }
    vec![
        // COMPOUND claiming 2^32-1 ops.
        vec![0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9],
        // A tag claiming 4 GiB.
        vec![0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 1],
        // GETATTR whose bitmap claims 2^30 words.
        vec![
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0x40, 0, 0, 0, 0, 0, 0, 1,
        ],
        // A record marker claiming 2 GiB.
        vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4],
        many,
        // SECINFO reply with a huge flavor count.
        vec![
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 33, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff,
        ],
    ]
}

#[test]
fn decoding_allocates_a_bounded_multiple_of_the_input() {
    let mut worst = 0.0f64;
    for input in hostile_inputs() {
        let peak = peak_during(|| decode_everything(&input));
        assert!(
            peak <= bound(input.len()),
            "{} input bytes made the decoder hold {peak} bytes",
            input.len()
        );
        worst = worst.max(peak as f64 / input.len() as f64);
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..5000usize {
        let len = 8 + i % 2000;
        let mut b: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Mostly small numbers, like real XDR, so decoders go deep.
                if seed % 3 == 0 {
                    (seed >> 32) as u8
                } else {
                    (seed % 4) as u8
                }
            })
            .collect();
        b[7] = 1;
        let peak = peak_during(|| decode_everything(&b));
        assert!(
            peak <= bound(b.len()),
            "random input {i}: {len} bytes, {peak} held"
        );
    }
    eprintln!("worst hostile ratio: {worst:.1} bytes held per input byte");
}
