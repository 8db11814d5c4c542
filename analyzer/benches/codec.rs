//! Codec speed: decoding and encoding a typical NFSv4.1 COMPOUND
//! (SEQUENCE + PUTFH + GETATTR and its reply), built from the Linux client's
//! real SEQUENCE/GETATTR exchange in `tests/vectors/`.
//!
//! Run with `cargo bench -p trunkcheck-analyzer --bench codec`. Prints the
//! best of several rounds in nanoseconds per message (a benchmark, not a
//! test: nothing here asserts a time).

use analyzer::nfs4::*;
use analyzer::rpc::{MsgBody, RpcMessage};
use analyzer::xdr::{to_bytes, Reader, Writer, Xdr};
use std::hint::black_box;
use std::time::Instant;

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Rebuilds the Linux SEQUENCE+PUTROOTFH+GETFH+GETATTR exchange as
/// SEQUENCE+PUTFH+GETATTR, keeping its RPC headers, session, bitmap and
/// attribute values.
fn typical_exchange() -> (Vec<u8>, Vec<u8>) {
    let call = load("sequence_linux.call.bin");
    let reply = load("sequence_linux.reply.bin");
    let (cmsg, cpay) = RpcMessage::parse(&call).expect("call");
    let (rmsg, rpay) = RpcMessage::parse(&reply).expect("reply");
    let args: Compound4Args = cpay.decode_all().expect("args");
    let res: Compound4Res = rpay.decode_all().expect("res");
    let fh = res
        .resarray
        .iter()
        .find_map(|r| match r {
            NfsResOp::Getfh(NfsRes::Ok(f)) => Some(f.object.clone()),
            _ => None,
        })
        .expect("GETFH");
    let pick = |name: &str| -> NfsArgOp {
        args.argarray
            .iter()
            .find(|o| o.name() == name)
            .cloned()
            .expect("op")
    };
    let new_args = Compound4Args {
        tag: args.tag.clone(),
        minorversion: 1,
        argarray: vec![
            pick("SEQUENCE"),
            NfsArgOp::Putfh(Putfh4Args { object: fh }),
            pick("GETATTR"),
        ],
    };
    let pick_res = |name: &str| -> NfsResOp {
        res.resarray
            .iter()
            .find(|o| o.name() == name)
            .cloned()
            .expect("res")
    };
    let new_res = Compound4Res {
        status: NfsStat4::NFS4_OK,
        tag: res.tag.clone(),
        resarray: vec![
            pick_res("SEQUENCE"),
            NfsResOp::Putfh(NfsStat4::NFS4_OK),
            pick_res("GETATTR"),
        ],
    };
    (
        cmsg.to_bytes_with_payload(&to_bytes(&new_args)),
        rmsg.to_bytes_with_payload(&to_bytes(&new_res)),
    )
}

/// Best of `rounds` rounds of `iters` runs of `f`, in ns per run.
fn measure(rounds: usize, iters: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    best
}

fn decode_call(b: &[u8]) -> usize {
    let (msg, payload) = RpcMessage::parse(b).expect("header");
    debug_assert!(matches!(msg.body, MsgBody::Call(_)));
    let p = Compound4Args::decode_partial(&mut Reader::new(payload.bytes)).expect("args");
    p.value.argarray.len()
}

fn decode_reply(b: &[u8]) -> usize {
    let (_, payload) = RpcMessage::parse(b).expect("header");
    let p = Compound4Res::decode_partial(&mut Reader::new(payload.bytes)).expect("res");
    p.value.resarray.len()
}

fn main() {
    let (call, reply) = typical_exchange();
    assert_eq!(decode_call(&call), 3);
    assert_eq!(decode_reply(&reply), 3);
    let (_, rpay) = RpcMessage::parse(&reply).expect("reply");
    let res: Compound4Res = rpay.decode_all().expect("res");
    let (_, cpay) = RpcMessage::parse(&call).expect("call");
    let args: Compound4Args = cpay.decode_all().expect("args");

    let iters = 200_000;
    let rounds = 7;
    let rows = [
        (
            "decode call: RPC header + SEQUENCE,PUTFH,GETATTR",
            call.len(),
            measure(rounds, iters, || {
                black_box(decode_call(black_box(&call)));
            }),
        ),
        (
            "decode reply: RPC header + SEQUENCE,PUTFH,GETATTR(16 attrs)",
            reply.len(),
            measure(rounds, iters, || {
                black_box(decode_reply(black_box(&reply)));
            }),
        ),
        (
            "decode reply + every attribute value",
            reply.len(),
            measure(rounds, iters, || {
                let (_, p) = RpcMessage::parse(black_box(&reply)).expect("header");
                let r = Compound4Res::decode(&mut Reader::new(p.bytes)).expect("res");
                if let Some(NfsResOp::Getattr(NfsRes::Ok(g))) = r.resarray.get(2) {
                    black_box(g.obj_attributes.decode_values().values.len());
                }
            }),
        ),
        (
            "encode call COMPOUND",
            call.len(),
            measure(rounds, iters, || {
                let mut w = Writer::with_capacity(256);
                black_box(&args).encode(&mut w);
                black_box(w.len());
            }),
        ),
        (
            "encode reply COMPOUND",
            reply.len(),
            measure(rounds, iters, || {
                let mut w = Writer::with_capacity(256);
                black_box(&res).encode(&mut w);
                black_box(w.len());
            }),
        ),
    ];
    println!(
        "{:<62} {:>6} {:>9} {:>10}",
        "case", "bytes", "ns/msg", "MB/s"
    );
    for (name, bytes, ns) in rows {
        println!(
            "{name:<62} {bytes:>6} {ns:>9.1} {:>10.0}",
            bytes as f64 / ns * 1000.0
        );
    }
}
