//! Generates large captures that test the analyzer's memory bounds.
//!
//! ```text
//! cargo run --release -p trunkcheck-analyzer --example gen_many -- connections N OUTPUT
//! cargo run --release -p trunkcheck-analyzer --example gen_many -- unanswered N CONNS OUTPUT
//! ```
//!
//! - `connections N`: N short TCP connections one after the other, each
//!   with its handshake, one call and its reply (NULL and a COMPOUND with
//!   one PUTROOTFH in turn), and both FINs.
//! - `unanswered N CONNS`: N COMPOUND calls spread over CONNS connections in
//!   turn, never answered; each connection is opened (with its handshake)
//!   just before its first call and never closed.
//!
//! The output is a classic pcap (Ethernet, microsecond timestamps, 10 µs
//! apart), written as it is generated: memory stays flat whatever N.

#[path = "common/pcapgen.rs"]
mod pcapgen;

use pcapgen::{client_addr, nfs_call_record, nfs_reply_record, server_addr, PcapWriter, TcpConn};
use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn usage() -> String {
    "usage: gen_many connections N OUTPUT\n       gen_many unanswered N CONNS OUTPUT".to_string()
}

fn number(s: Option<&String>) -> Result<u32> {
    let s = s.ok_or_else(usage)?;
    Ok(s.replace('_', "")
        .parse()
        .map_err(|_| format!("bad number {s:?}\n{}", usage()))?)
}

/// Frames with increasing timestamps.
struct Out<W: Write> {
    w: PcapWriter<W>,
    micros: u64,
}

impl<W: Write> Out<W> {
    fn put(&mut self, frame: &[u8]) -> Result<()> {
        self.micros += 10;
        self.w.frame(self.micros, frame)?;
        Ok(())
    }
}

fn connections<W: Write>(out: &mut Out<W>, n: u32) -> Result<()> {
    for i in 0..n {
        let mut c = TcpConn::new(client_addr(i), server_addr(), i);
        let compound = i % 2 == 1;
        let xid = i.wrapping_mul(7).wrapping_add(1);
        let [syn, synack, _] = c.handshake();
        out.put(&syn)?;
        out.put(&synack)?;
        let call = c.client_sends(&nfs_call_record(xid, compound));
        out.put(&call)?;
        let reply = c.server_sends(&nfs_reply_record(xid, compound));
        out.put(&reply)?;
        for f in c.close() {
            out.put(&f)?;
        }
    }
    Ok(())
}

fn unanswered<W: Write>(out: &mut Out<W>, n: u32, conns: u32) -> Result<()> {
    let conns = conns.max(1);
    let mut table: Vec<TcpConn> = Vec::new();
    for i in 0..n {
        let idx = (i % conns) as usize;
        if idx == table.len() {
            // Opened just before its first call.
            let mut c = TcpConn::new(client_addr(i), server_addr(), i);
            for f in c.handshake() {
                out.put(&f)?;
            }
            table.push(c);
        }
        let Some(c) = table.get_mut(idx) else {
            continue;
        };
        let call = c.client_sends(&nfs_call_record(i.wrapping_add(1), true));
        out.put(&call)?;
    }
    Ok(())
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, rest) = args.split_first().ok_or_else(usage)?;
    let path = rest.last().ok_or_else(usage)?;
    let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Out {
        w: PcapWriter::new(BufWriter::with_capacity(1 << 20, file))?,
        micros: 1_700_000_000_000_000,
    };
    match (mode.as_str(), rest.len()) {
        ("connections", 2) => connections(&mut out, number(rest.first())?)?,
        ("unanswered", 3) => unanswered(&mut out, number(rest.first())?, number(rest.get(1))?)?,
        _ => return Err(usage().into()),
    }
    let (frames, bytes) = (out.w.frames, out.w.bytes);
    out.w.finish()?;
    eprintln!("{path}: {frames} frames, {bytes} bytes");
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_many: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
