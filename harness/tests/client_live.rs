//! The client against a real NFS-Ganesha (started by the fixture in
//! `common/`): NFSv4.1 and NFSv4.0 client lifetimes end to end, two
//! principals claiming one client owner, and a session joined from a
//! second source address. The tests assert what Ganesha 4.3 really
//! answers, and say where that is what the RFC asks.

mod common;

use analyzer::nfs4::{
    ChannelDirFromClient4, ChannelDirFromServer4, Clientid4, CreateSession4Flags, ExchgId4Flags,
    NfsLockType4, NfsOpnum4, NfsRes, NfsResOp, NfsStat4, Open4ResultFlags, Setclientid4Res,
    StateProtect4A, NFS4_CALLBACK,
};
use common::ganesha::{Ganesha, LEASE};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use trunkcheck::client::session::{self, default_back_attrs, default_fore_attrs};
use trunkcheck::client::{ops, v40};
use trunkcheck::client::{
    CallbackListener, ClientOwner, ConnectOptions, Connection, Principal, Session,
};

fn from(last: u8) -> ConnectOptions {
    ConnectOptions {
        from: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))),
        reply_timeout: Duration::from_secs(10),
        ..ConnectOptions::default()
    }
}

fn user(uid: u32) -> Principal {
    Principal::sys(uid, uid, "trunkcheck-live")
}

/// EXCHANGE_ID + CREATE_SESSION (with a backchannel on the connection).
fn new_session(conn: &Connection, p: &Principal, owner: &ClientOwner) -> Session {
    let eid = session::exchange_id(conn, p, owner, ExchgId4Flags(0), StateProtect4A::None)
        .expect("EXCHANGE_ID answered");
    let ok = eid.ok().expect("EXCHANGE_ID NFS4_OK").clone();
    eprintln!(
        "EXCHANGE_ID: clientid {} seq {} flags {:?} owner {:?} scope {:?}",
        ok.eir_clientid,
        ok.eir_sequenceid,
        ok.eir_flags,
        ok.eir_server_owner.so_major_id,
        ok.eir_server_scope
    );
    Session::create(
        conn,
        p,
        ok.eir_clientid,
        ok.eir_sequenceid,
        CreateSession4Flags::CONN_BACK_CHAN,
        default_fore_attrs(),
        default_back_attrs(),
        NFS4_CALLBACK,
    )
    .expect("CREATE_SESSION answered")
    .expect("CREATE_SESSION NFS4_OK")
}

/// Opens (creating) `name` in the export in `s`; the open stateid and fh.
fn open_file(
    s: &Session,
    conn: &Connection,
    owner: &[u8],
    name: &str,
) -> (analyzer::nfs4::Stateid4, Vec<u8>) {
    let res = s
        .compound(
            conn,
            vec![
                ops::putrootfh(),
                ops::lookup("export"),
                ops::open_create(0, ops::state_owner(s.clientid(), owner), name),
                ops::getfh(),
            ],
        )
        .expect("OPEN answered");
    assert_eq!(ops::first_failure(&res), None, "OPEN: {res:?}");
    let st = ops::opened(&res).expect("opened").stateid.clone();
    (st, ops::fh(&res).expect("GETFH"))
}

#[test]
fn v41_client_lifetime() {
    let Some(g) = Ganesha::start() else { return };
    let p = user(0);
    let conn = Connection::connect(g.addr, &from(1)).expect("connect");
    conn.null().expect("NULL");
    let owner = ClientOwner::unique("v41-lifetime");
    let s = new_session(&conn, &p, &owner);
    assert_eq!(
        s.reclaim_complete(&conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    let lease = s.lease_time(&conn).expect("answered").expect("lease_time");
    assert_eq!(lease, Duration::from_secs(LEASE.into()));

    let (open_st, fh) = open_file(&s, &conn, b"open-owner-1", "v41.txt");
    let data = b"written by the trunkcheck client";
    let res = s
        .compound(
            &conn,
            vec![ops::putfh(&fh), ops::write(open_st.clone(), 0, data)],
        )
        .expect("WRITE answered");
    assert_eq!(
        ops::written(&res).expect("WRITE ok").count as usize,
        data.len()
    );
    let res = s
        .compound(
            &conn,
            vec![ops::putfh(&fh), ops::read(open_st.clone(), 0, 4096)],
        )
        .expect("READ answered");
    let (back, eof) = ops::read_data(&res).expect("READ ok");
    assert_eq!(back, data);
    assert!(eof);
    assert_eq!(
        std::fs::read(g.data.join("v41.txt")).expect("on disk"),
        data
    );

    // A lock, seen by LOCKT of another owner, then released.
    let range = ops::Range::whole_write();
    let lock_owner = ops::state_owner(s.clientid(), b"lock-owner-1");
    let res = s
        .compound(
            &conn,
            vec![
                ops::putfh(&fh),
                ops::lock_new(range, false, 0, open_st.clone(), 0, lock_owner),
            ],
        )
        .expect("LOCK answered");
    let lock_st = ops::locked(&res).unwrap_or_else(|| panic!("LOCK: {res:?}"));
    let other = ops::state_owner(s.clientid(), b"lock-owner-2");
    let res = s
        .compound(&conn, vec![ops::putfh(&fh), ops::lockt(range, other)])
        .expect("LOCKT answered");
    assert_eq!(
        ops::status_of(&res, NfsOpnum4::OP_LOCKT),
        Some(NfsStat4::NFS4ERR_DENIED)
    );
    let res = s
        .compound(&conn, vec![ops::putfh(&fh), ops::locku(range, 0, lock_st)])
        .expect("LOCKU answered");
    assert!(ops::unlocked(&res).is_some(), "LOCKU: {res:?}");
    let res = s
        .compound(&conn, vec![ops::putfh(&fh), ops::close(0, open_st)])
        .expect("CLOSE answered");
    assert!(ops::closed(&res).is_some(), "CLOSE: {res:?}");
    let res = s
        .compound(
            &conn,
            vec![
                ops::putrootfh(),
                ops::lookup("export"),
                ops::remove("v41.txt"),
            ],
        )
        .expect("REMOVE answered");
    assert_eq!(ops::first_failure(&res), None);

    assert_eq!(
        s.destroy_session(&conn).expect("answered"),
        NfsStat4::NFS4_OK
    );
    // The session is gone: SEQUENCE in it is refused.
    let seq = s.sequence(&conn).expect("answered");
    assert_eq!(seq.status(), NfsStat4::NFS4ERR_BADSESSION);
    assert_eq!(
        s.destroy_clientid(&conn).expect("answered"),
        NfsStat4::NFS4_OK
    );
    eprintln!("callbacks received: {:?}", conn.callbacks().received());
    assert_eq!(conn.stats().stray_replies, 0);
}

#[test]
fn v40_client_lifetime_with_a_callback_listener() {
    let Some(g) = Ganesha::start() else { return };
    let p = user(0);
    let listener =
        CallbackListener::bind("127.0.0.1:0".parse().expect("addr"), None).expect("listen");
    let conn = Connection::connect(g.addr, &from(1)).expect("connect");
    let owner = ClientOwner::unique("v40-lifetime");
    let r = v40::setclientid(
        &conn,
        &p,
        &owner.owner,
        owner.verifier,
        &listener,
        NFS4_CALLBACK,
        7,
    )
    .expect("SETCLIENTID answered");
    let Setclientid4Res::Ok(ok) = r else {
        panic!("SETCLIENTID: {r:?}")
    };
    let st =
        v40::setclientid_confirm(&conn, &p, ok.clientid, ok.setclientid_confirm).expect("answered");
    assert_eq!(st, NfsStat4::NFS4_OK);
    let lease = v40::lease_time_v40(&conn, &p)
        .expect("answered")
        .expect("lease_time");
    assert_eq!(lease, Duration::from_secs(LEASE.into()));

    let open_owner = ops::state_owner(ok.clientid, b"v40-open-owner");
    let res = conn
        .compound(
            &p,
            0,
            "open",
            vec![
                ops::putrootfh(),
                ops::lookup("export"),
                ops::open_create(0, open_owner, "v40.txt"),
                ops::getfh(),
            ],
        )
        .expect("OPEN answered");
    assert_eq!(ops::first_failure(&res), None, "OPEN: {res:?}");
    let opened = ops::opened(&res).expect("opened").clone();
    let fh = ops::fh(&res).expect("GETFH");
    eprintln!("v4.0 OPEN rflags {:?}", opened.rflags);
    // A new open owner must confirm (RFC 7530 §16.18.5); Ganesha asks for it.
    assert!(opened.rflags.contains(Open4ResultFlags::CONFIRM));
    let res = conn
        .compound(
            &p,
            0,
            "confirm",
            vec![
                ops::putfh(&fh),
                ops::open_confirm(opened.stateid.clone(), 1),
            ],
        )
        .expect("OPEN_CONFIRM answered");
    let confirmed = ops::confirmed(&res).unwrap_or_else(|| panic!("OPEN_CONFIRM: {res:?}"));
    assert_eq!(confirmed.other, opened.stateid.other);
    assert_eq!(confirmed.seqid, opened.stateid.seqid + 1);
    let res = conn
        .compound(
            &p,
            0,
            "close",
            vec![ops::putfh(&fh), ops::close(2, confirmed)],
        )
        .expect("CLOSE answered");
    assert!(ops::closed(&res).is_some(), "CLOSE: {res:?}");
    assert_eq!(
        v40::renew(&conn, &p, ok.clientid).expect("answered"),
        NfsStat4::NFS4_OK
    );
    // RENEW of client IDs the server never gave out. Ganesha's client IDs
    // are (boot time << 32 | counter): one from another boot epoch is
    // NFS4ERR_STALE_CLIENTID (RFC 7530 §16.29), an unknown one of the
    // current epoch NFS4ERR_EXPIRED (Ganesha's choice; the RFC's errors for
    // an unknown client ID are STALE_CLIENTID or EXPIRED).
    let other_boot = Clientid4(ok.clientid.0 ^ 0x0000_0100_0000_0000);
    let st = v40::renew(&conn, &p, other_boot).expect("answered");
    assert_eq!(st, NfsStat4::NFS4ERR_STALE_CLIENTID);
    let unknown = Clientid4(ok.clientid.0 ^ 0xffff_0000);
    let st = v40::renew(&conn, &p, unknown).expect("answered");
    assert_eq!(st, NfsStat4::NFS4ERR_EXPIRED);
    eprintln!("callbacks on the listener: {:?}", listener.received());
}

/// Two AUTH_SYS principals (uid 1000 and 2000) presenting one client owner
/// while the first holds state.
///
/// RFC 8881 §18.35.5 case 3 (client collision) and RFC 7530 §16.33.5 ask
/// for NFS4ERR_CLID_INUSE. For NFSv4.0 Ganesha 4.3 answers that; for
/// NFSv4.1 it does not compare the AUTH_SYS principals: it hands the second principal a new client ID and at once
/// destroys the first principal's session (NFS4ERR_BADSESSION), before the
/// new client ID is even confirmed. This test
/// pins what Ganesha does, so that a change in it is noticed; the
/// conformance suite reports it as a violation.
#[test]
fn two_principals_claiming_one_client_owner() {
    let Some(g) = Ganesha::start() else { return };
    let (alice, bob) = (user(1000), user(2000));
    let owner = ClientOwner::unique("two-principals");

    // v4.1: alice holds an open; bob presents the same owner and verifier.
    let conn = Connection::connect(g.addr, &from(1)).expect("connect");
    let s = new_session(&conn, &alice, &owner);
    assert_eq!(
        s.reclaim_complete(&conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    let _held = open_file(&s, &conn, b"alice", "alice.txt");
    let bob_conn = Connection::connect(g.addr, &from(2)).expect("connect");
    let eid = session::exchange_id(
        &bob_conn,
        &bob,
        &owner,
        ExchgId4Flags(0),
        StateProtect4A::None,
    )
    .expect("answered");
    eprintln!(
        "v4.1 EXCHANGE_ID by another principal: {eid:?} (alice's client ID {})",
        s.clientid()
    );
    let NfsRes::Ok(bob_id) = eid else {
        panic!("Ganesha used to answer NFS4_OK: {eid:?}")
    };
    assert_ne!(
        bob_id.eir_clientid,
        s.clientid(),
        "a new, unconfirmed client ID"
    );
    // Alice's session is already gone, before bob confirmed anything
    // (RFC 8881 case 5 would keep it until the confirming CREATE_SESSION).
    let alice_seq = s.sequence(&conn).expect("answered");
    eprintln!("alice's SEQUENCE after bob's EXCHANGE_ID: {alice_seq:?}");
    assert_eq!(alice_seq.status(), NfsStat4::NFS4ERR_BADSESSION);
    let bob_session = Session::create(
        &bob_conn,
        &bob,
        bob_id.eir_clientid,
        bob_id.eir_sequenceid,
        CreateSession4Flags(0),
        default_fore_attrs(),
        default_back_attrs(),
        NFS4_CALLBACK,
    )
    .expect("answered");
    eprintln!(
        "bob's CREATE_SESSION: {:?}",
        bob_session.as_ref().map(|b| b.id())
    );
    assert!(bob_session.is_ok(), "Ganesha confirms bob's client ID");
    assert_eq!(
        s.sequence(&conn).expect("answered").status(),
        NfsStat4::NFS4ERR_BADSESSION
    );

    // v4.0: the same with SETCLIENTID.
    let listener =
        CallbackListener::bind("127.0.0.1:0".parse().expect("addr"), None).expect("listen");
    let owner40 = ClientOwner::unique("two-principals-v40");
    let r = v40::setclientid(
        &conn,
        &alice,
        &owner40.owner,
        owner40.verifier,
        &listener,
        NFS4_CALLBACK,
        1,
    )
    .expect("answered");
    let Setclientid4Res::Ok(ok) = r else {
        panic!("SETCLIENTID: {r:?}")
    };
    let st = v40::setclientid_confirm(&conn, &alice, ok.clientid, ok.setclientid_confirm)
        .expect("answered");
    assert_eq!(st, NfsStat4::NFS4_OK);
    let res = conn
        .compound(
            &alice,
            0,
            "open",
            vec![
                ops::putrootfh(),
                ops::lookup("export"),
                ops::open_create(0, ops::state_owner(ok.clientid, b"alice40"), "alice40.txt"),
            ],
        )
        .expect("OPEN answered");
    assert_eq!(ops::first_failure(&res), None, "OPEN: {res:?}");
    let r = v40::setclientid(
        &bob_conn,
        &bob,
        &owner40.owner,
        owner40.verifier,
        &listener,
        NFS4_CALLBACK,
        1,
    )
    .expect("answered");
    eprintln!("v4.0 SETCLIENTID by another principal: {r:?}");
    // Here Ganesha follows RFC 7530 §16.33.5: a confirmed record of another
    // principal with live state gets NFS4ERR_CLID_INUSE and the callback
    // address that record uses.
    match r {
        Setclientid4Res::ClidInuse(addr) => {
            assert_eq!(addr.na_r_netid.as_bytes(), b"tcp");
            assert_eq!(addr.na_r_addr.as_bytes(), listener.uaddr().as_bytes());
        }
        other => panic!("expected NFS4ERR_CLID_INUSE, got {other:?}"),
    }
    // Alice's client ID is untouched.
    assert_eq!(
        v40::renew(&conn, &alice, ok.clientid).expect("answered"),
        NfsStat4::NFS4_OK
    );
}

#[test]
fn a_session_joined_from_a_second_source_address() {
    let Some(g) = Ganesha::start() else { return };
    let p = user(0);
    let owner = ClientOwner::unique("second-address");
    let first = Connection::connect(g.addr, &from(1)).expect("connect");
    let s = new_session(&first, &p, &owner);
    assert_eq!(
        s.reclaim_complete(&first, false).expect("answered"),
        NfsStat4::NFS4_OK
    );

    let second = Connection::connect(g.addr, &from(9)).expect("connect from 127.0.0.9");
    assert_eq!(
        second.local_addr().ip(),
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))
    );
    // Before binding, the session's requests on the new connection: SP4_NONE
    // lets the server bind it implicitly (RFC 8881 §2.10.3.1); after
    // BIND_CONN_TO_SESSION it is bound for both directions.
    let bound = s
        .bind_conn_to_session(&second, ChannelDirFromClient4::CDFC4_FORE_OR_BOTH, false)
        .expect("answered");
    let NfsRes::Ok(ok) = bound else {
        panic!("BIND_CONN_TO_SESSION: {bound:?}")
    };
    eprintln!("BIND_CONN_TO_SESSION: {ok:?}");
    assert_eq!(ok.bctsr_sessid, s.id());
    assert!(
        ok.bctsr_dir == ChannelDirFromServer4::CDFS4_BOTH
            || ok.bctsr_dir == ChannelDirFromServer4::CDFS4_FORE,
        "{:?}",
        ok.bctsr_dir
    );
    assert!(!ok.bctsr_use_conn_in_rdma_mode);
    let res = s
        .compound(&second, vec![ops::putrootfh(), ops::getattr_lease_time()])
        .expect("answered on the second connection");
    assert_eq!(ops::lease_time(&res), Some(LEASE));
    match res.resarray.first() {
        Some(NfsResOp::Sequence(NfsRes::Ok(seq))) => assert_eq!(seq.sr_sessionid, s.id()),
        other => panic!("SEQUENCE: {other:?}"),
    }
    // The first connection still serves the session; the slot table is shared.
    assert_eq!(
        s.sequence(&first).expect("answered").status(),
        NfsStat4::NFS4_OK
    );
    // A lock taken over one connection conflicts with LOCKT over the other.
    let (open_st, fh) = open_file(&s, &first, b"oo", "joined.txt");
    let range = ops::Range {
        locktype: NfsLockType4::WRITE_LT,
        offset: 0,
        length: 10,
    };
    let res = s
        .compound(
            &second,
            vec![
                ops::putfh(&fh),
                ops::lock_new(
                    range,
                    false,
                    0,
                    open_st,
                    0,
                    ops::state_owner(s.clientid(), b"lo"),
                ),
            ],
        )
        .expect("LOCK answered");
    assert!(ops::locked(&res).is_some(), "LOCK: {res:?}");
    let res = s
        .compound(
            &first,
            vec![
                ops::putfh(&fh),
                ops::lockt(range, ops::state_owner(s.clientid(), b"other")),
            ],
        )
        .expect("LOCKT answered");
    assert_eq!(
        ops::status_of(&res, NfsOpnum4::OP_LOCKT),
        Some(NfsStat4::NFS4ERR_DENIED)
    );
    // Keep-alive renews over the second connection.
    let ka = s.keep_alive(&second, Duration::from_millis(200));
    std::thread::sleep(Duration::from_millis(700));
    let report = ka.stop();
    assert!(report.sent >= 2 && report.ok == report.sent, "{report:?}");
}
