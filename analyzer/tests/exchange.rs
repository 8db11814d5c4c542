//! The call/reply layer on real messages: calls matched to replies per
//! connection and direction, bodies decoded, callback programs learned,
//! unmatched replies and unanswered calls counted, bounds enforced.

use analyzer::capture::packet::Timestamp;
use analyzer::exchange::*;
use analyzer::nfs4::NfsStat4;
use analyzer::rpc::stream::{RecordRef, RecordSink};
use analyzer::tcp::flow::{CloseReason, ConnId, ConnInfo, Direction};

/// What a test looks at in a message: kind, xid, frame, call frame, op
/// names, COMPOUND status, program.
type Seen = (
    MsgKind,
    u32,
    u64,
    Option<u64>,
    Vec<&'static str>,
    Option<NfsStat4>,
    Program,
);

#[derive(Default)]
struct Collect {
    msgs: Vec<Seen>,
    notices: usize,
}

impl MessageSink for Collect {
    fn message(&mut self, m: &Message<'_>) {
        self.msgs.push((
            m.kind,
            m.xid,
            m.frame,
            m.call_frame,
            m.op_names(),
            m.compound_status(),
            m.program,
        ));
    }
    fn notice(&mut self, _: &Notice) {
        self.notices += 1;
    }
    fn finish(&mut self) {}
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn info() -> ConnInfo {
    ConnInfo {
        client: "127.0.0.1:900".parse().unwrap(),
        server: "127.0.0.2:2049".parse().unwrap(),
        handshake_seen: true,
        first_frame: 1,
        first_ts: Timestamp::default(),
    }
}

fn feed(x: &mut Exchanges<Collect>, conn: u64, dir: Direction, bytes: &[u8], frame: u64) {
    let i = info();
    x.record(RecordRef {
        conn: ConnId(conn),
        dir,
        info: &i,
        bytes,
        offset: 0,
        first_frame: frame,
        frame,
        ts: Timestamp::default(),
    });
}

#[test]
fn calls_and_replies_are_matched_and_decoded() {
    let mut x = Exchanges::new(ExchangeLimits::default(), Collect::default());
    feed(
        &mut x,
        1,
        Direction::ToServer,
        &load("exchange_id.call.bin"),
        8,
    );
    feed(
        &mut x,
        1,
        Direction::ToServer,
        &load("create_session.call.bin"),
        10,
    );
    assert_eq!(x.pending_calls(), 2);
    // Replies out of order.
    feed(
        &mut x,
        1,
        Direction::ToClient,
        &load("create_session.reply.bin"),
        11,
    );
    feed(
        &mut x,
        1,
        Direction::ToClient,
        &load("exchange_id.reply.bin"),
        9,
    );
    assert_eq!(x.pending_calls(), 0);
    let m = &x.sink.msgs;
    assert_eq!(m[0].4, vec!["EXCHANGE_ID"]);
    assert_eq!(
        (m[2].0, m[2].3, m[2].4.clone()),
        (MsgKind::Reply, Some(10), vec!["CREATE_SESSION"])
    );
    assert_eq!(m[3].3, Some(8));
    assert_eq!(m[3].5, Some(NfsStat4::NFS4_OK));
    // CREATE_SESSION announced callback program 0x40000000 (already known).
    assert_eq!(x.callback_programs(), vec![0x4000_0000]);
    let s = x.stats();
    assert_eq!((s.calls, s.replies, s.unmatched_replies), (2, 2, 0));
    assert_eq!(s.compounds_by_minor, [0, 2, 0, 0]);
}

#[test]
fn a_reply_on_another_connection_or_direction_is_not_matched() {
    let mut x = Exchanges::new(ExchangeLimits::default(), Collect::default());
    feed(
        &mut x,
        1,
        Direction::ToServer,
        &load("sequence.call.bin"),
        12,
    );
    // Same xid, but on connection 2: not this call's reply.
    feed(
        &mut x,
        2,
        Direction::ToClient,
        &load("sequence.reply.bin"),
        13,
    );
    // Same connection, but travelling toward the server.
    feed(
        &mut x,
        1,
        Direction::ToServer,
        &load("sequence.reply.bin"),
        14,
    );
    let s = x.stats();
    assert_eq!(s.unmatched_replies, 2);
    assert_eq!(x.sink.msgs[1].6, Program::Unknown);
    assert_eq!(
        x.sink.msgs[1].4,
        Vec::<&str>::new(),
        "unmatched replies are not decoded"
    );
    x.closed(ConnId(1), CloseReason::Fin, 20);
    assert_eq!(x.stats().unanswered_calls, 1);
}

#[test]
fn v40_setclientid_teaches_its_callback_program() {
    let mut x = Exchanges::new(ExchangeLimits::default(), Collect::default());
    // libnfs sends cb_program 0: not learned. Patch a copy to announce 0x40000123.
    let mut call = load("setclientid.call.bin");
    let at = call
        .windows(8)
        .position(|w| w == [0, 0, 0, 0, 0, 0, 0, 3])
        .expect("cb_program 0 followed by netid length 3");
    call[at..at + 4].copy_from_slice(&0x4000_0123u32.to_be_bytes());
    feed(&mut x, 1, Direction::ToServer, &call, 8);
    assert_eq!(x.callback_programs(), vec![0x4000_0000, 0x4000_0123]);
}

#[test]
fn the_call_table_is_bounded() {
    let limits = ExchangeLimits {
        max_pending_per_conn: 3,
        max_pending_total: 5,
        max_cb_programs: 16,
    };
    let mut x = Exchanges::new(limits, Collect::default());
    let call = load("sequence.call.bin");
    for i in 0..10u32 {
        let mut c = call.clone();
        c[..4].copy_from_slice(&i.to_be_bytes());
        feed(&mut x, 1, Direction::ToServer, &c, i as u64);
    }
    assert_eq!(x.pending_calls(), 3);
    for conn in 2..6 {
        let mut c = call.clone();
        c[..4].copy_from_slice(&(100 + conn as u32).to_be_bytes());
        feed(&mut x, conn, Direction::ToServer, &c, 50);
    }
    assert!(x.pending_calls() <= 5);
    assert_eq!(x.stats().evicted_calls, 7 + 2);
}

#[test]
fn garbage_records_are_counted_not_fatal() {
    let mut x = Exchanges::new(ExchangeLimits::default(), Collect::default());
    feed(&mut x, 1, Direction::ToServer, &[1, 2, 3], 1);
    feed(
        &mut x,
        1,
        Direction::ToServer,
        &[0, 0, 0, 1, 0, 0, 0, 7, 0, 0],
        2,
    );
    let mut truncated = load("exchange_id.call.bin");
    truncated.truncate(120);
    feed(&mut x, 1, Direction::ToServer, &truncated, 3);
    let s = x.stats();
    assert_eq!(s.bad_rpc_headers, 2);
    assert_eq!(s.bad_bodies, 1);
    assert_eq!(x.sink.notices, 3);
}
