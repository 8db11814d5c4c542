//! Tests of `examples/pcap_edit.rs`, the tool that derives the precision
//! corpus: re-framing a rewritten reply over the segments that carried it,
//! moving later sequence and acknowledgment numbers (also across the 2^32
//! wrap), and a real capture still decoding message for message afterwards.

#[allow(dead_code)]
#[path = "../examples/pcap_edit.rs"]
mod pcap_edit;

#[path = "../examples/common/pcapgen.rs"]
mod pcapgen;

use analyzer::exchange::{Body, Message, MessageSink, Notice};
use analyzer::nfs4::{NfsOpnum4, NfsStat4};
use analyzer::pipeline::PipelineStats;
use pcap_edit::*;
use pcapgen::{record, rpc_call, rpc_reply, words, PcapWriter, TcpConn, NFS_PROGRAM};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcap-edit-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// One decoded message: frame, xid, reply?, COMPOUND status, op count.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    frame: u64,
    xid: u32,
    reply: bool,
    status: Option<NfsStat4>,
    ops: usize,
}

#[derive(Default)]
struct Collect(Vec<Seen>, usize);

impl MessageSink for Collect {
    fn message(&mut self, m: &Message<'_>) {
        let (reply, status, ops) = match &m.body {
            Body::Compound(a) => (false, None, a.argarray.len()),
            Body::CompoundReply(r) => (true, Some(r.status), r.resarray.len()),
            _ => (m.call_frame.is_some(), None, 0),
        };
        self.0.push(Seen {
            frame: m.frame,
            xid: m.xid,
            reply,
            status,
            ops,
        });
    }
    fn notice(&mut self, _: &Notice) {
        self.1 += 1;
    }

    fn finish(&mut self) {}
}

fn decode(path: &Path) -> (Vec<Seen>, PipelineStats) {
    let (c, stats) =
        analyzer::pipeline::decode_file(path, Default::default(), Collect::default(), |_, _| {})
            .expect("decodes");
    (c.0, stats)
}

#[test]
fn redistribute_keeps_lengths_and_gives_the_rest_to_the_last_segment() {
    let c: Vec<u8> = (0..11).collect();
    let lens = |v: Vec<Vec<u8>>| v.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(lens(redistribute(&[3, 3, 3], &c[..7])), [3, 3, 1]);
    assert_eq!(lens(redistribute(&[3, 3, 3], &c)), [3, 3, 5]);
    assert_eq!(lens(redistribute(&[3, 3, 3], &c[..4])), [3, 1, 0]);
    assert_eq!(redistribute(&[3, 3, 3], &c).concat(), c);
    assert_eq!(lens(redistribute(&[5], &c[..2])), [2]);
}

#[test]
fn sequence_numbers_compare_across_the_wrap() {
    assert!(seq_at_or_after(5, u32::MAX - 2));
    assert!(!seq_at_or_after(u32::MAX - 2, 5));
    assert!(seq_at_or_after(7, 7));
}

#[test]
fn frame_lists_and_seconds_parse() {
    assert_eq!(
        parse_frame_list("7,10-14,30-").unwrap(),
        vec![(7, 7), (10, 14), (30, u64::MAX)]
    );
    assert!(parse_frame_list("9-3").is_err());
    assert!(parse_frame_list("x").is_err());
    assert_eq!(parse_secs("-1.5").unwrap(), -1_500_000_000);
    assert_eq!(parse_secs("3600").unwrap(), 3_600_000_000_000);
    assert_eq!(parse_secs(".000000001").unwrap(), 1);
    assert!(parse_secs("1.2.3").is_err());
    assert!(parse_secs("").is_err());
}

#[test]
fn an_error_result_is_built_by_the_codec_and_refused_when_it_needs_data() {
    let r = error_result(NfsOpnum4::OP_RECLAIM_COMPLETE, NfsStat4::NFS4ERR_NOTSUPP).unwrap();
    assert_eq!(r.status(), NfsStat4::NFS4ERR_NOTSUPP);
    // LOCK's NFS4ERR_DENIED carries the conflicting lock.
    assert!(error_result(NfsOpnum4::OP_LOCK, NfsStat4::NFS4ERR_DENIED).is_err());
    assert!(opnum_by_name("reclaim_complete").is_ok());
    assert!(opnum_by_name("NO_SUCH_OP").is_err());
    assert!(status_by_name("NFS4ERR_NOTSUPP").is_ok());
}

/// A COMPOUND call of `n` PUTROOTFH (minor version 1).
fn call(xid: u32, n: u32) -> Vec<u8> {
    let mut b = Vec::new();
    words(&mut b, &[0, 1, n]);
    for _ in 0..n {
        words(&mut b, &[24]);
    }
    record(&rpc_call(xid, NFS_PROGRAM, 4, 1, &b))
}

/// Its reply: every PUTROOTFH NFS4_OK.
fn reply(xid: u32, n: u32) -> Vec<u8> {
    let mut b = Vec::new();
    words(&mut b, &[0, 0, n]);
    for _ in 0..n {
        words(&mut b, &[24, 0]);
    }
    record(&rpc_reply(xid, &b))
}

/// A connection whose server sequence numbers wrap inside the first reply,
/// which is also split over three segments; then a second exchange and the
/// close. Returns the path and the frame number where the first reply ends.
fn wrapping_capture(path: &Path) -> u64 {
    let client = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 900);
    let server = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 2), 2049);
    let mut c = TcpConn::new(client, server, 1);
    c.sseq = u32::MAX - 40;
    let mut frames = Vec::new();
    frames.extend(c.handshake());
    frames.push(c.client_sends(&call(1, 6)));
    let r = reply(1, 6);
    frames.push(c.server_sends(&r[..20]));
    frames.push(c.server_sends(&r[20..50]));
    frames.push(c.server_sends(&r[50..]));
    let end_of_reply = frames.len() as u64;
    frames.push(c.client_sends(&call(2, 1)));
    frames.push(c.server_sends(&reply(2, 1)));
    frames.extend(c.close());
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.frame(1_000_000 + i as u64 * 1000, f).unwrap();
    }
    w.finish().unwrap();
    end_of_reply
}

#[test]
fn a_shortened_reply_is_reframed_and_later_numbers_move_across_the_wrap() {
    let input = temp("wrap-in.pcap");
    let output = temp("wrap-out.pcap");
    let frame = wrapping_capture(&input);
    let mut cap = read_capture(&input).unwrap();
    let r = rewrite_reply(
        &mut cap,
        frame,
        NfsOpnum4::OP_PUTROOTFH,
        NfsStat4::NFS4ERR_WRONGSEC,
        2,
        None,
    )
    .unwrap();
    assert_eq!((r.ops_before, r.ops_after), (6, 2));
    // Four results of 8 bytes fewer.
    assert_eq!(r.spliced.old_len - r.spliced.new_len, 32);
    // The next reply segment and the server's FIN; the client's next call,
    // its FIN and its last ACK acknowledge moved bytes.
    assert_eq!(r.spliced.moved, 2);
    assert_eq!(r.spliced.acks_moved, 3);
    write_capture(&output, &cap).unwrap();

    let (before, _) = decode(&input);
    let (after, stats) = decode(&output);
    assert_eq!(stats.gaps, 0, "no gap after re-framing");
    assert_eq!(stats.exchange.calls, 2);
    assert_eq!(before.len(), after.len());
    let first = after.iter().find(|m| m.reply && m.xid == 1).unwrap();
    assert_eq!(first.status, Some(NfsStat4::NFS4ERR_WRONGSEC));
    assert_eq!(first.ops, 2);
    let second = after.iter().find(|m| m.reply && m.xid == 2).unwrap();
    assert_eq!(second.status, Some(NfsStat4::NFS4_OK));
    assert_eq!(second.ops, 1);

    // Every segment's sequence number follows the previous one's payload,
    // and the client acknowledges exactly what the server sent.
    let lt = cap.linktype;
    let mut next_server: Option<u32> = None;
    for f in &cap.frames {
        let l = layout(lt, &f.data).unwrap();
        let seq = u32::from_be_bytes(f.data[l.l4 + 4..l.l4 + 8].try_into().unwrap());
        let ack = u32::from_be_bytes(f.data[l.l4 + 8..l.l4 + 12].try_into().unwrap());
        let from_server = l.src(&f.data).unwrap().port() == 2049;
        let len = l.tcp_payload(&f.data).len() as u32;
        let flags = f.data[l.l4 + 13];
        if from_server {
            if let Some(n) = next_server {
                assert_eq!(seq, n, "frame {}", f.number);
            }
            let syn_fin = u32::from(flags & 0x03 != 0);
            next_server = Some(seq.wrapping_add(len + syn_fin));
        } else if flags & 0x10 != 0 {
            if let Some(n) = next_server {
                assert_eq!(ack, n, "frame {}", f.number);
            }
        }
    }
}

#[test]
fn a_real_capture_still_decodes_message_for_message_after_a_rewrite() {
    let input = repo().join("captures/ganesha-v41-session.pcap");
    if !input.exists() {
        return;
    }
    let output = temp("v41-rewritten.pcap");
    let mut cap = read_capture(&input).unwrap();
    // SEQUENCE, PUTROOTFH, GETATTR: PUTROOTFH refused, GETATTR not executed.
    let r = rewrite_reply(
        &mut cap,
        13,
        NfsOpnum4::OP_PUTROOTFH,
        NfsStat4::NFS4ERR_WRONGSEC,
        1,
        None,
    )
    .unwrap();
    assert_eq!((r.ops_before, r.ops_after), (3, 2));
    assert!(r.spliced.new_len < r.spliced.old_len);
    // DESTROY_CLIENTID (same length).
    let r = rewrite_reply(
        &mut cap,
        42,
        NfsOpnum4::OP_DESTROY_CLIENTID,
        NfsStat4::NFS4ERR_NOTSUPP,
        1,
        None,
    )
    .unwrap();
    assert_eq!(r.spliced.new_len, r.spliced.old_len);
    write_capture(&output, &cap).unwrap();
    let (before, _) = decode(&input);
    let (after, stats) = decode(&output);
    assert_eq!(stats.gaps, 0);
    assert_eq!(
        stats.exchange.bad_bodies + stats.exchange.bad_rpc_headers,
        0
    );
    assert_eq!(stats.stream.resyncs, 0);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((b.frame, b.xid, b.reply), (a.frame, a.xid, a.reply));
        match (b.frame, a.reply) {
            (13, true) => {
                assert_eq!(a.status, Some(NfsStat4::NFS4ERR_WRONGSEC));
                assert_eq!(a.ops, 2);
            }
            (42, true) => assert_eq!(a.status, Some(NfsStat4::NFS4ERR_NOTSUPP)),
            _ => assert_eq!(b, a),
        }
    }
}

#[test]
fn keep_host_drop_and_remap_select_and_rename() {
    let input = temp("simple-in.pcap");
    wrapping_capture(&input);
    let mut cap = read_capture(&input).unwrap();
    let n = cap.frames.len();
    assert_eq!(keep_host(&mut cap, "10.1.0.2:2049".parse().unwrap()), 0);
    assert_eq!(keep_host(&mut cap, "10.1.0.9".parse().unwrap()), n);
    let mut cap = read_capture(&input).unwrap();
    assert_eq!(
        drop_frames(&mut cap, &parse_frame_list("1-3,5").unwrap()),
        4
    );
    assert_eq!(cap.frames[0].number, 4);
    let mut cap = read_capture(&input).unwrap();
    assert_eq!(remap_port(&mut cap, 2049, 12049), n);
    let output = temp("simple-out.pcap");
    write_capture(&output, &cap).unwrap();
    let (msgs, stats) = decode(&output);
    assert_eq!(stats.gaps, 0);
    assert_eq!(msgs.iter().filter(|m| m.reply).count(), 2);
    let cap = read_capture(&output).unwrap();
    let l = layout(cap.linktype, &cap.frames[0].data).unwrap();
    assert_eq!(l.dst(&cap.frames[0].data).unwrap().port(), 12049);
}
