//! The client against a tiny in-process fake peer: a `TcpListener` in the
//! test that misbehaves on purpose. A real server (Ganesha) cannot be made
//! to hang, reset mid-record, send garbage, claim a 2 GiB record or call
//! the client at a chosen moment, so these faults are produced here.
//!
//! RPCSEC_GSS replies with a wrong verifier, checksum or sequence number
//! are produced here too (a real server cannot be made to send them).
//!
//! Every fault must end in a typed error within the configured timeout,
//! never a hang; the elapsed-time bounds below are hang guards (generous
//! multiples of the timeouts), not performance tests.

use analyzer::nfs4::{
    CbArgOp, CbCompound4Args, CbCompound4Res, CbRecall4Args, CbResOp, CbSequence4Args,
    Compound4Res, NfsRes, NfsResOp, NfsStat4, SessionId4, Stateid4, StateidOther, CB_COMPOUND,
    NFS4_CALLBACK,
};
use analyzer::rpc::{
    write_record, AuthFlavor, AuthStat, Credential, MsgBody, OpaqueAuth, RecordAssembler,
    RejectedReply, ReplyBody, RpcGssProc, RpcGssService, RpcMessage,
};
use analyzer::xdr::{to_bytes, IntoStatic, Opaque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use trunkcheck::client::ops;
use trunkcheck::client::{ClientError, ConnectOptions, Connection, Principal};
use trunkcheck::gss::testkit::Keyed;
use trunkcheck::gss::GssContext;

/// Options with short timeouts.
fn opts(reply: Duration) -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_secs(2),
        reply_timeout: reply,
        ..ConnectOptions::default()
    }
}

/// A fake peer accepting one connection and running `script` on it.
fn fake_peer<T, F>(script: F) -> (SocketAddr, JoinHandle<T>)
where
    T: Send + 'static,
    F: FnOnce(TcpStream) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        script(stream)
    });
    (addr, handle)
}

/// Reads one whole record from the client.
fn read_record(s: &mut TcpStream, asm: &mut RecordAssembler) -> Vec<u8> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(r) = asm.pop() {
            return r.data;
        }
        let n = s.read(&mut buf).expect("peer read");
        assert!(n > 0, "client closed the connection");
        asm.feed(&buf[..n]).expect("client frames records");
    }
}

/// Reads one call and returns its xid.
fn read_call_xid(s: &mut TcpStream, asm: &mut RecordAssembler) -> u32 {
    let data = read_record(s, asm);
    let (msg, _) = RpcMessage::parse(&data).expect("client sends RPC");
    assert!(msg.as_call().is_some(), "a call");
    msg.xid
}

/// Writes `msg` as one record.
fn send_record(s: &mut TcpStream, msg: &[u8]) {
    let mut out = Vec::new();
    write_record(&mut out, msg, 1 << 20);
    s.write_all(&out).expect("peer write");
}

/// A successful COMPOUND reply with one PUTROOTFH result.
fn compound_reply(xid: u32) -> Vec<u8> {
    let res = Compound4Res {
        status: NfsStat4::NFS4_OK,
        tag: Opaque::from("t"),
        resarray: vec![NfsResOp::Putrootfh(NfsStat4::NFS4_OK)],
    };
    RpcMessage::success_reply(xid, OpaqueAuth::none()).to_bytes_with_payload(&to_bytes(&res))
}

/// A compound call the tests make while the peer misbehaves.
fn putrootfh(conn: &Connection) -> Result<Compound4Res<'static>, ClientError> {
    conn.compound(
        &Principal::sys(0, 0, "faults"),
        1,
        "t",
        vec![ops::putrootfh()],
    )
}

#[test]
fn a_reply_that_never_comes_times_out() {
    let (addr, peer) = fake_peer(|mut s| {
        let mut asm = RecordAssembler::new();
        read_call_xid(&mut s, &mut asm);
        // Say nothing; hold the connection open until the client gives up.
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    });
    let conn = Connection::connect(addr, &opts(Duration::from_millis(300))).expect("connect");
    let t = Instant::now();
    let err = putrootfh(&conn).expect_err("no reply");
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "hang guard: {:?}",
        t.elapsed()
    );
    assert!(
        err.to_string().contains(&addr.to_string()),
        "names the peer: {err}"
    );
    assert!(
        err.to_string().contains("PUTROOTFH"),
        "names the call: {err}"
    );
    conn.shutdown();
    peer.join().expect("peer");
}

#[test]
fn a_reset_mid_record_fails_every_pending_call_promptly() {
    let (addr, peer) = fake_peer(|mut s| {
        let mut asm = RecordAssembler::new();
        read_call_xid(&mut s, &mut asm);
        read_call_xid(&mut s, &mut asm);
        // Half a record, then a reset (linger 0 makes close send RST).
        s.write_all(&(0x8000_0000u32 | 100).to_be_bytes())
            .expect("header");
        s.write_all(&[0u8; 10]).expect("some data");
        s.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(100));
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .expect("linger");
        drop(s);
    });
    // A long reply timeout: the calls must fail because of the reset, not of it.
    let conn = Connection::connect(addr, &opts(Duration::from_secs(20))).expect("connect");
    let t = Instant::now();
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let c = conn.clone();
            std::thread::spawn(move || putrootfh(&c))
        })
        .collect();
    for h in callers {
        let err = h.join().expect("caller").expect_err("reset");
        assert!(matches!(err, ClientError::Closed { .. }), "{err}");
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "prompt: {:?}",
        t.elapsed()
    );
    // A later call fails at once with the same error.
    let t = Instant::now();
    let err = putrootfh(&conn).expect_err("connection is dead");
    assert!(matches!(err, ClientError::Closed { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_millis(500));
    peer.join().expect("peer");
}

#[test]
fn a_reply_with_another_xid_is_counted_as_stray_and_the_call_times_out() {
    let (addr, peer) = fake_peer(|mut s| {
        let mut asm = RecordAssembler::new();
        let xid = read_call_xid(&mut s, &mut asm);
        send_record(&mut s, &compound_reply(xid ^ 0x00de_ad00));
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    });
    let conn = Connection::connect(addr, &opts(Duration::from_millis(500))).expect("connect");
    let t = Instant::now();
    let err = putrootfh(&conn).expect_err("the reply is not for this call");
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "hang guard");
    let stats = conn.stats();
    assert_eq!(stats.stray_replies, 1, "{stats:?}");
    assert_eq!(stats.replies, 0, "{stats:?}");
    conn.shutdown();
    peer.join().expect("peer");
}

#[test]
fn a_record_that_is_not_rpc_is_garbage() {
    let (addr, peer) = fake_peer(|mut s| {
        let mut asm = RecordAssembler::new();
        read_call_xid(&mut s, &mut asm);
        // A well-framed record whose message type is neither call nor reply.
        send_record(&mut s, b"this is not rpc!");
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    });
    let conn = Connection::connect(addr, &opts(Duration::from_secs(10))).expect("connect");
    let t = Instant::now();
    let err = putrootfh(&conn).expect_err("garbage");
    assert!(matches!(err, ClientError::Garbage { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "prompt");
    assert!(matches!(putrootfh(&conn), Err(ClientError::Garbage { .. })));
    peer.join().expect("peer");
}

#[test]
fn unframed_text_reads_as_an_oversized_record() {
    let (addr, peer) = fake_peer(|mut s| {
        let mut asm = RecordAssembler::new();
        read_call_xid(&mut s, &mut asm);
        // Text where a record header belongs: "HTTP" is a length of 0x48545450.
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    });
    let conn = Connection::connect(addr, &opts(Duration::from_secs(10))).expect("connect");
    let err = putrootfh(&conn).expect_err("not RPC");
    match err {
        ClientError::RecordTooLarge { size, max, .. } => {
            assert_eq!(size, 0x4854_5450);
            assert_eq!(max, ConnectOptions::default().max_record);
        }
        other => panic!("expected RecordTooLarge, got {other}"),
    }
    peer.join().expect("peer");
}

/// Resident memory of this process in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_header_claiming_2_gib_is_refused_before_any_allocation() {
    let (addr, peer) = fake_peer(|mut s| {
        let mut asm = RecordAssembler::new();
        read_call_xid(&mut s, &mut asm);
        // Last fragment, 2^31 - 1 bytes claimed; then a slow trickle.
        s.write_all(&0xffff_ffffu32.to_be_bytes()).expect("header");
        for _ in 0..60 {
            if s.write_all(&[0x55; 16]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let before = rss_kib();
    let mut o = opts(Duration::from_secs(10));
    o.max_record = 1 << 20;
    let conn = Connection::connect(addr, &o).expect("connect");
    let t = Instant::now();
    let err = putrootfh(&conn).expect_err("too large");
    match err {
        ClientError::RecordTooLarge { size, max, .. } => {
            assert_eq!(size, 0x7fff_ffff);
            assert_eq!(max, 1 << 20);
        }
        other => panic!("expected RecordTooLarge, got {other}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refused at the header, not after the trickle"
    );
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 64 * 1024, "memory grew by {grown} KiB");
    peer.join().expect("peer");
}

#[test]
fn nothing_listening_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let t = Instant::now();
    let err = Connection::connect(addr, &opts(Duration::from_secs(1))).expect_err("refused");
    match &err {
        ClientError::Connect { to, source, .. } => {
            assert_eq!(*to, addr);
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected Connect, got {other}"),
    }
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_listener_that_stops_accepting_is_a_connect_timeout() {
    use socket2::{Domain, Socket, Type};
    // A listener with a backlog of one that never accepts: once its queue
    // is full, the kernel drops further SYNs and connects hang.
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    sock.bind(&any.into()).expect("bind");
    sock.listen(0).expect("listen");
    let addr = sock.local_addr().expect("addr").as_socket().expect("inet");
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..64 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the backlog never filled");
    let mut o = opts(Duration::from_secs(1));
    o.connect_timeout = Duration::from_millis(400);
    let t = Instant::now();
    let err = Connection::connect(addr, &o).expect_err("not accepted");
    match &err {
        ClientError::Connect { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::TimedOut, "{err}")
        }
        other => panic!("expected Connect, got {other}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "bounded by connect_timeout"
    );
    drop(fillers);
}

#[test]
fn a_callback_on_the_fore_connection_is_answered_while_a_call_is_pending() {
    let session = SessionId4([0x5a; 16]);
    let (addr, peer) = fake_peer(move |mut s| {
        let mut asm = RecordAssembler::new();
        let xid = read_call_xid(&mut s, &mut asm);
        // The server calls back before answering.
        let args = CbCompound4Args {
            tag: Opaque::from("cb"),
            minorversion: 1,
            callback_ident: 0,
            argarray: vec![
                CbArgOp::CbSequence(CbSequence4Args {
                    csa_sessionid: session,
                    csa_sequenceid: 1,
                    csa_slotid: 0,
                    csa_highest_slotid: 0,
                    csa_cachethis: false,
                    csa_referring_call_lists: Vec::new(),
                }),
                CbArgOp::CbRecall(CbRecall4Args {
                    stateid: Stateid4 {
                        seqid: 1,
                        other: StateidOther([3; 12]),
                    },
                    truncate: false,
                    fh: Opaque::from(vec![1u8, 2, 3, 4]),
                }),
            ],
        };
        let call = RpcMessage::call(
            0x0c0f_fee0,
            NFS4_CALLBACK,
            1,
            CB_COMPOUND,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        );
        send_record(&mut s, &call.to_bytes_with_payload(&to_bytes(&args)));
        let reply = read_record(&mut s, &mut asm);
        send_record(&mut s, &compound_reply(xid));
        let (msg, payload) = RpcMessage::parse(&reply).expect("an RPC reply");
        assert_eq!(msg.xid, 0x0c0f_fee0);
        assert!(msg.is_success(), "{msg:?}");
        payload
            .decode::<CbCompound4Res>()
            .expect("CB_COMPOUND results")
            .into_static()
    });
    let conn = Connection::connect(addr, &opts(Duration::from_secs(10))).expect("connect");
    let res = putrootfh(&conn).expect("the pending call completes");
    assert_eq!(res.status, NfsStat4::NFS4_OK);
    let cb = peer.join().expect("peer");
    assert_eq!(cb.status, NfsStat4::NFS4_OK);
    assert_eq!(cb.tag.as_bytes(), b"cb");
    assert_eq!(cb.resarray.len(), 2);
    match &cb.resarray[0] {
        CbResOp::CbSequence(NfsRes::Ok(ok)) => {
            assert_eq!(ok.csr_sessionid, session);
            assert_eq!(ok.csr_sequenceid, 1);
            assert_eq!(ok.csr_slotid, 0);
        }
        other => panic!("CB_SEQUENCE result: {other:?}"),
    }
    assert!(matches!(
        cb.resarray[1],
        CbResOp::CbRecall(NfsStat4::NFS4_OK)
    ));
    let got = conn.callbacks().received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ops, vec!["CB_SEQUENCE", "CB_RECALL"]);
    assert_eq!(got[0].local, conn.local_addr());
    assert_eq!(conn.stats().server_calls, 1);
}

/// Replies to `n` SEQUENCE compounds as `answer` says (None: no reply) and
/// returns the (slot, seqid) of each SEQUENCE received.
fn sequence_peer(answers: Vec<Option<NfsStat4>>) -> (SocketAddr, JoinHandle<Vec<(u32, u32)>>) {
    use analyzer::nfs4::{Compound4Args, NfsArgOp, Sequence4ResOk};
    fake_peer(move |mut s| {
        let mut asm = RecordAssembler::new();
        let mut seen = Vec::new();
        for answer in answers {
            let data = read_record(&mut s, &mut asm);
            let (msg, payload) = RpcMessage::parse(&data).expect("RPC");
            let args: Compound4Args = payload.decode().expect("COMPOUND");
            let Some(NfsArgOp::Sequence(seq)) = args.argarray.first() else {
                panic!("no SEQUENCE first: {args:?}")
            };
            seen.push((seq.sa_slotid, seq.sa_sequenceid));
            let Some(status) = answer else { continue };
            let result = if status.is_ok() {
                NfsRes::Ok(Sequence4ResOk {
                    sr_sessionid: seq.sa_sessionid,
                    sr_sequenceid: seq.sa_sequenceid,
                    sr_slotid: seq.sa_slotid,
                    sr_highest_slotid: 1,
                    sr_target_highest_slotid: 1,
                    sr_status_flags: Default::default(),
                })
            } else {
                NfsRes::Fail(status)
            };
            let res = Compound4Res {
                status,
                tag: Opaque::from(""),
                resarray: vec![NfsResOp::Sequence(result)],
            };
            let reply = RpcMessage::success_reply(msg.xid, OpaqueAuth::none())
                .to_bytes_with_payload(&to_bytes(&res));
            send_record(&mut s, &reply);
        }
        seen
    })
}

#[test]
fn the_slot_table_advances_only_on_a_successful_sequence() {
    use analyzer::nfs4::{ChannelAttrs4, Clientid4, CreateSession4Flags, CreateSession4ResOk};
    use trunkcheck::client::Session;
    let ok = Some(NfsStat4::NFS4_OK);
    let (addr, peer) = sequence_peer(vec![
        ok,
        Some(NfsStat4::NFS4ERR_SEQ_MISORDERED),
        ok,
        None,
        ok,
    ]);
    let attrs = ChannelAttrs4 {
        ca_headerpadsize: 0,
        ca_maxrequestsize: 4096,
        ca_maxresponsesize: 4096,
        ca_maxresponsesize_cached: 0,
        ca_maxoperations: 4,
        ca_maxrequests: 2,
        ca_rdma_ird: Vec::new(),
    };
    let session = Session::from_result(
        Clientid4(1),
        CreateSession4ResOk {
            csr_sessionid: SessionId4([1; 16]),
            csr_sequence: 1,
            csr_flags: CreateSession4Flags(0),
            csr_fore_chan_attrs: attrs.clone(),
            csr_back_chan_attrs: attrs,
        },
        Principal::None,
        1,
    );
    let conn = Connection::connect(addr, &opts(Duration::from_millis(400))).expect("connect");
    let status = |r: Result<NfsRes<_>, ClientError>| r.map(|x: NfsRes<_>| x.status());
    assert_eq!(
        status(session.sequence(&conn)).expect("1"),
        NfsStat4::NFS4_OK
    );
    assert_eq!(
        status(session.sequence(&conn)).expect("2"),
        NfsStat4::NFS4ERR_SEQ_MISORDERED
    );
    assert_eq!(
        status(session.sequence(&conn)).expect("3"),
        NfsStat4::NFS4_OK
    );
    // No answer: the slot's state on the server is unknown, so it is retired.
    assert!(matches!(
        session.sequence(&conn),
        Err(ClientError::Timeout { .. })
    ));
    assert_eq!(
        status(session.sequence(&conn)).expect("5"),
        NfsStat4::NFS4_OK
    );
    let seen = peer.join().expect("peer");
    // Slot 0: 1 accepted; 2 refused, so 2 again; 3 unanswered; then slot 1.
    assert_eq!(seen, vec![(0, 1), (0, 2), (0, 2), (0, 3), (1, 1)]);
    assert_eq!(session.next_seqid(0), Some(3));
}

// ---------------------------------------------------------------------------
// RPCSEC_GSS replies a real server cannot be made to send wrong. The
// context is the keyed test stand-in of `trunkcheck::gss::testkit` (the
// same sealing code as a Kerberos context; a real one needs a KDC, see
// tests/krb5_live.rs); the fake peer holds the same key.

/// What the fake GSS peer does with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GssFault {
    /// A correct reply.
    None,
    /// The reply verifier's MIC has a flipped byte.
    BadVerifier,
    /// The integrity checksum (or privacy token) has a flipped byte.
    BadBody,
    /// The body carries another sequence number than the call's.
    WrongSeq,
    /// MSG_DENIED AUTH_ERROR RPCSEC_GSS_CTXPROBLEM.
    CtxProblem,
    /// No reply at all.
    Silence,
}

const GSS_KEY: Keyed = Keyed(0x3c);

/// A fake peer answering one call per fault in `faults`, in order, as a
/// server holding the context's key would (but for the fault); returns
/// the sequence numbers and services of the calls it read.
fn gss_peer(faults: Vec<GssFault>) -> (SocketAddr, JoinHandle<Vec<(u32, RpcGssService)>>) {
    fake_peer(move |mut s| {
        let mut asm = RecordAssembler::new();
        let mut seen = Vec::new();
        for fault in faults {
            let data = read_record(&mut s, &mut asm);
            let (msg, payload) = RpcMessage::parse(&data).expect("client sends RPC");
            let call = msg.as_call().expect("a call");
            let Ok(Credential::Gss(g)) = call.cred.credential() else {
                panic!("not RPCSEC_GSS: {:?}", call.cred);
            };
            let v = g.vers1();
            let (seq, service) = (v.seq_num, v.service);
            seen.push((seq, service));
            let results = if v.gss_proc == RpcGssProc::RPCSEC_GSS_DATA {
                let (inner, args) = GSS_KEY
                    .unseal_call(service, payload.bytes)
                    .expect("the call body verifies");
                if service != RpcGssService::rpc_gss_svc_none {
                    assert_eq!(inner, Some(seq), "inner sequence number");
                }
                assert!(!args.is_empty(), "COMPOUND arguments");
                compound_results()
            } else {
                Vec::new()
            };
            let inner = if fault == GssFault::WrongSeq {
                seq + 1
            } else {
                seq
            };
            let (mut verf, mut body) = GSS_KEY
                .reply(inner, service, &results)
                .expect("keyed reply");
            if fault == GssFault::WrongSeq {
                verf = GSS_KEY.verifier_of(seq);
            }
            match fault {
                GssFault::BadVerifier => {
                    let mut mic = verf.body.as_bytes().to_vec();
                    mic[0] ^= 0x80;
                    verf.body = Opaque::from(mic);
                }
                GssFault::BadBody => {
                    if let Some(b) = body.last_mut() {
                        *b ^= 0x01;
                    }
                }
                GssFault::Silence => continue,
                _ => {}
            }
            let reply = if fault == GssFault::CtxProblem {
                RpcMessage {
                    xid: msg.xid,
                    body: MsgBody::Reply(ReplyBody::Denied(RejectedReply::AuthError(
                        AuthStat::RPCSEC_GSS_CTXPROBLEM,
                    ))),
                }
                .to_bytes_with_payload(&[])
            } else {
                RpcMessage::success_reply(msg.xid, verf).to_bytes_with_payload(&body)
            };
            send_record(&mut s, &reply);
        }
        // Hold the connection until the client is done.
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
        seen
    })
}

/// COMPOUND results with one PUTROOTFH result.
fn compound_results() -> Vec<u8> {
    to_bytes(&Compound4Res {
        status: NfsStat4::NFS4_OK,
        tag: Opaque::from("t"),
        resarray: vec![NfsResOp::Putrootfh(NfsStat4::NFS4_OK)],
    })
}

fn gss_principal(service: RpcGssService) -> (Arc<GssContext>, Principal) {
    let ctx = Arc::new(
        GSS_KEY
            .context(b"fake-handle", 16, service)
            .expect("context"),
    );
    (Arc::clone(&ctx), Principal::gss(ctx))
}

const SERVICES: [RpcGssService; 3] = [
    RpcGssService::rpc_gss_svc_none,
    RpcGssService::rpc_gss_svc_integrity,
    RpcGssService::rpc_gss_svc_privacy,
];

#[test]
fn gss_calls_are_sealed_and_their_replies_verified_under_every_service() {
    let (addr, peer) = gss_peer(vec![GssFault::None; 4]);
    let conn = Connection::connect(addr, &opts(Duration::from_secs(5))).expect("connect");
    let (ctx, p) = gss_principal(RpcGssService::rpc_gss_svc_privacy);
    for service in SERVICES {
        let res = conn
            .compound(&p.with_service(service), 1, "t", vec![ops::putrootfh()])
            .unwrap_or_else(|e| panic!("{service}: {e}"));
        assert_eq!(res.status, NfsStat4::NFS4_OK);
        assert_eq!(res.resarray.len(), 1);
    }
    conn.gss_destroy(&ctx).expect("RPCSEC_GSS_DESTROY answered");
    assert_eq!(ctx.in_flight(), 0);
    conn.shutdown();
    let seen = peer.join().expect("peer");
    let mut want: Vec<(u32, RpcGssService)> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, *s))
        .collect();
    want.push((4, RpcGssService::rpc_gss_svc_privacy));
    assert_eq!(seen, want, "sequence numbers 1, 2, 3 then DESTROY as 4");
}

#[test]
fn a_gss_reply_with_a_wrong_verifier_checksum_or_sequence_number_is_refused() {
    use GssFault::*;
    let (addr, peer) = gss_peer(vec![
        BadVerifier,
        BadBody,
        BadBody,
        WrongSeq,
        WrongSeq,
        CtxProblem,
        None,
    ]);
    let conn = Connection::connect(addr, &opts(Duration::from_secs(5))).expect("connect");
    let (ctx, p) = gss_principal(RpcGssService::rpc_gss_svc_none);
    let call = |service, what: &str| {
        let e = conn
            .compound(&p.with_service(service), 1, "t", vec![ops::putrootfh()])
            .expect_err(what);
        eprintln!("{what}: {e}");
        e
    };
    let e = call(RpcGssService::rpc_gss_svc_none, "bad verifier");
    assert!(matches!(e, ClientError::Gss { .. }), "{e}");
    assert!(e.to_string().contains("verifier"), "{e}");
    let e = call(RpcGssService::rpc_gss_svc_integrity, "bad checksum");
    assert!(matches!(e, ClientError::Gss { .. }), "{e}");
    assert!(e.to_string().contains("checksum"), "{e}");
    let e = call(RpcGssService::rpc_gss_svc_privacy, "bad privacy token");
    assert!(matches!(e, ClientError::Gss { .. }), "{e}");
    for service in [
        RpcGssService::rpc_gss_svc_integrity,
        RpcGssService::rpc_gss_svc_privacy,
    ] {
        let e = call(service, "wrong inner sequence number");
        assert!(matches!(e, ClientError::Gss { .. }), "{e}");
        assert!(e.to_string().contains("seq_num"), "{e}");
    }
    let e = call(RpcGssService::rpc_gss_svc_none, "CTXPROBLEM");
    assert_eq!(
        e.gss_problem(),
        Some(AuthStat::RPCSEC_GSS_CTXPROBLEM),
        "{e}"
    );
    assert!(!e.is_fatal());
    // None of these is fatal: the next call works, and every sequence
    // number refused left the window.
    assert_eq!(ctx.in_flight(), 0);
    let res = conn
        .compound(&p, 1, "t", vec![ops::putrootfh()])
        .expect("a good reply after the bad ones");
    assert_eq!(res.status, NfsStat4::NFS4_OK);
    conn.shutdown();
    let seen = peer.join().expect("peer");
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<u32>>()
    );
}

#[test]
fn a_gss_call_without_a_reply_gives_its_sequence_number_up() {
    let (addr, peer) = gss_peer(vec![GssFault::Silence]);
    let conn = Connection::connect(addr, &opts(Duration::from_millis(300))).expect("connect");
    let (ctx, p) = gss_principal(RpcGssService::rpc_gss_svc_integrity);
    let e = conn
        .compound(&p, 1, "t", vec![ops::putrootfh()])
        .expect_err("no reply");
    assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
    assert_eq!(ctx.in_flight(), 0, "the timed-out call left the window");
    conn.shutdown();
    peer.join().expect("peer");
}

#[test]
fn a_call_waits_for_room_in_a_full_gss_window_then_gives_up_typed() {
    // A window of 2: two calls in flight (sealed elsewhere, unanswered)
    // hold a third back until one of them is answered or given up.
    let ctx = Arc::new(
        GSS_KEY
            .context(b"fake-handle", 2, RpcGssService::rpc_gss_svc_none)
            .expect("ctx"),
    );
    let p = Principal::gss(Arc::clone(&ctx));
    let seal = |i| {
        trunkcheck::client::rpc::seal_call_record(i, 100003, 4, 1, &p, &[])
            .expect("seals")
            .sealed
            .expect("sealed")
    };
    let held = [seal(0), seal(1)];
    let (addr, peer) = gss_peer(vec![GssFault::None]);
    let conn = Connection::connect(addr, &opts(Duration::from_millis(500))).expect("connect");
    // Nothing frees the window: a typed error after the reply timeout,
    // and nothing was sent.
    let t = Instant::now();
    let e = conn
        .compound(&p, 1, "t", vec![ops::putrootfh()])
        .expect_err("window full");
    assert!(matches!(e, ClientError::GssContext { .. }), "{e}");
    assert!(e.to_string().contains("window"), "{e}");
    assert!(t.elapsed() >= Duration::from_millis(450), "it waited");
    assert!(t.elapsed() < Duration::from_secs(3), "hang guard");
    assert_eq!(conn.stats().calls, 0, "nothing was sent");
    // One held call is given up while the next one waits: it goes out.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            ctx.abandon(&held[0]);
        });
        let res = conn
            .compound(&p, 1, "t", vec![ops::putrootfh()])
            .expect("room was made");
        assert_eq!(res.status, NfsStat4::NFS4_OK);
    });
    ctx.abandon(&held[1]);
    assert_eq!(ctx.in_flight(), 0);
    conn.shutdown();
    let seen = peer.join().expect("peer");
    assert_eq!(seen, vec![(3, RpcGssService::rpc_gss_svc_none)]);
}

#[test]
fn callbacks_on_a_gss_connection_are_answered_and_gss_callbacks_denied() {
    let session = SessionId4([0x6b; 16]);
    let (addr, peer) = fake_peer(move |mut s| {
        let mut asm = RecordAssembler::new();
        let data = read_record(&mut s, &mut asm);
        let (msg, _) = RpcMessage::parse(&data).expect("RPC");
        let xid = msg.xid;
        let Ok(Credential::Gss(g)) = msg.as_call().expect("a call").cred.credential() else {
            panic!("the fore call is RPCSEC_GSS");
        };
        let seq = g.vers1().seq_num;
        // Before answering: a CB_COMPOUND with AUTH_NONE (the callback
        // security the client offers), then a CB_NULL with an RPCSEC_GSS
        // credential (which the client does not accept).
        let args = CbCompound4Args {
            tag: Opaque::from("cb"),
            minorversion: 1,
            callback_ident: 0,
            argarray: vec![CbArgOp::CbSequence(CbSequence4Args {
                csa_sessionid: session,
                csa_sequenceid: 1,
                csa_slotid: 0,
                csa_highest_slotid: 0,
                csa_cachethis: false,
                csa_referring_call_lists: Vec::new(),
            })],
        };
        let cb = RpcMessage::call(
            0x0c0f_fee1,
            NFS4_CALLBACK,
            1,
            CB_COMPOUND,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        );
        send_record(&mut s, &cb.to_bytes_with_payload(&to_bytes(&args)));
        let first = read_record(&mut s, &mut asm);
        let gss_cred = trunkcheck::gss::rpcsec::credential(
            RpcGssProc::RPCSEC_GSS_INIT,
            0,
            RpcGssService::rpc_gss_svc_none,
            &[],
        );
        let init = RpcMessage::call(
            0x0c0f_fee2,
            NFS4_CALLBACK,
            1,
            0,
            gss_cred,
            OpaqueAuth::none(),
        );
        send_record(&mut s, &init.to_bytes_with_payload(&[0, 0, 0, 0]));
        let second = read_record(&mut s, &mut asm);
        let (verf, body) = GSS_KEY
            .reply(seq, RpcGssService::rpc_gss_svc_privacy, &compound_results())
            .expect("keyed reply");
        send_record(
            &mut s,
            &RpcMessage::success_reply(xid, verf).to_bytes_with_payload(&body),
        );
        let (m1, _) = RpcMessage::parse(&first).expect("reply");
        let (m2, _) = RpcMessage::parse(&second).expect("reply");
        (
            m1.is_success(),
            m2.xid,
            matches!(
                m2.body,
                MsgBody::Reply(ReplyBody::Denied(RejectedReply::AuthError(
                    AuthStat::AUTH_BADCRED
                )))
            ),
        )
    });
    let conn = Connection::connect(addr, &opts(Duration::from_secs(10))).expect("connect");
    let (ctx, p) = gss_principal(RpcGssService::rpc_gss_svc_privacy);
    let res = conn
        .compound(&p, 1, "t", vec![ops::putrootfh()])
        .expect("the sealed call completes, verified");
    assert_eq!(res.status, NfsStat4::NFS4_OK);
    assert_eq!(ctx.in_flight(), 0);
    let (cb_ok, xid, denied) = peer.join().expect("peer");
    assert!(cb_ok, "the AUTH_NONE CB_COMPOUND is answered");
    assert_eq!(xid, 0x0c0f_fee2);
    assert!(denied, "an RPCSEC_GSS callback is denied AUTH_BADCRED");
    let got = conn.callbacks().received();
    assert_eq!(
        got.iter().map(|c| c.flavor).collect::<Vec<_>>(),
        vec![AuthFlavor::AUTH_NONE, AuthFlavor::RPCSEC_GSS]
    );
    conn.shutdown();
}
