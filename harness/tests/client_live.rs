//! The client against real NFS-Ganesha, started by the built-in launcher
//! (`Lab`, profile `two-addresses`: one instance answering on two
//! addresses, clients on two source addresses, all in the lab's own
//! namespaces): NFSv4.1 and NFSv4.0 client lifetimes end to end, two
//! principals claiming one client owner, and a session joined from a
//! second source address to the server's second address. The tests assert
//! what Ganesha 4.3 really answers, and say where that differs from the RFC.
//!
//! Needs root and `ganesha.nfsd`; without them each test prints why it is
//! skipped and passes, unless `TRUNKCHECK_REQUIRE_GANESHA=1` (set by CI).

mod common;

use analyzer::nfs4::attr::Fattr4Num;
use analyzer::nfs4::{
    ChannelDirFromClient4, ChannelDirFromServer4, Clientid4, Compound4Res, CreateSession4Flags,
    ExchgId4Flags, NfsArgOp, NfsLockType4, NfsOpnum4, NfsRes, NfsResOp, NfsStat4, Open4ResultFlags,
    Setclientid4Res, ShareAccess4, ShareDeny4, StateProtect4A, Stateid4, NFS4_CALLBACK,
};
use common::{can_run, start_lab, LAB};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use trunkcheck::client::session::{self, default_back_attrs, default_fore_attrs};
use trunkcheck::client::{ops, v40, ClientError};
use trunkcheck::client::{
    CallbackListener, ClientOwner, ConnectOptions, Connection, Principal, Session,
};
use trunkcheck::lab::Lab;

/// A running `two-addresses` lab and what the tests need to reach it.
struct Live {
    lab: Lab,
    /// The server's two addresses.
    server: Vec<SocketAddr>,
    /// The two client source addresses.
    clients: Vec<IpAddr>,
    /// The export path (LOOKUPs from the root).
    export: String,
    /// The lease the launcher configured.
    lease: Duration,
    /// How long the server may stay in grace after its start.
    grace: Duration,
}

impl Live {
    fn start(test: &str) -> Option<Live> {
        Self::start_profile(test, "two-addresses")
    }

    /// A lab of the built-in profile `profile` (server `a`, two clients).
    fn start_profile(test: &str, profile: &str) -> Option<Live> {
        if !can_run(test, LAB) {
            return None;
        }
        let lab = start_lab(profile);
        let info = lab.server("a").expect("server a").clone();
        let clients = lab.client_addresses();
        assert!(!info.addresses.is_empty() && clients.len() >= 2);
        Some(Live {
            server: info.addresses.clone(),
            clients,
            export: info.export.clone(),
            lease: info.lease.expect("configured lease"),
            grace: info.grace.unwrap_or(Duration::from_secs(10)),
            lab,
        })
    }

    /// Connects from client address `from` to server address `to` (indexes).
    fn connect(&self, from: usize, to: usize) -> Connection {
        let opts = ConnectOptions {
            from: Some(self.clients[from]),
            netns: self.lab.netns().cloned(),
            reply_timeout: Duration::from_secs(10),
            ..ConnectOptions::default()
        };
        Connection::connect(self.server[to], &opts).expect("connect")
    }

    /// A callback listener on client address `from`, in the lab's namespace.
    fn listener(&self, from: usize) -> CallbackListener {
        let addr = SocketAddr::new(self.clients[from], 0);
        CallbackListener::bind(addr, self.lab.netns()).expect("listen")
    }

    /// `ops` after PUTROOTFH and the LOOKUPs of the export.
    fn in_export(&self, ops: Vec<NfsArgOp<'static>>) -> Vec<NfsArgOp<'static>> {
        let mut v = ops::root_path(&self.export);
        v.extend(ops);
        v
    }

    /// Sends what `send` builds until the server is out of grace (a fresh
    /// instance may still be in its grace period): the first reply without
    /// NFS4ERR_GRACE.
    fn outside_grace<F>(&self, mut send: F) -> Compound4Res<'static>
    where
        F: FnMut() -> Result<Compound4Res<'static>, ClientError>,
    {
        let deadline = Instant::now() + self.grace + self.lease * 2;
        loop {
            let res = send().expect("answered");
            let in_grace = res
                .resarray
                .iter()
                .any(|r| r.status() == NfsStat4::NFS4ERR_GRACE);
            if !in_grace || Instant::now() > deadline {
                return res;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
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

/// Opens `name` in the export for reading and writing in `s` (creating it
/// with `mode` unless `create` is false); the open stateid and file handle.
fn open_file(
    live: &Live,
    s: &Session,
    conn: &Connection,
    owner: &[u8],
    name: &str,
    create: bool,
) -> (Stateid4, Vec<u8>) {
    let how = if create {
        ops::Create::unchecked_mode(0o666)
    } else {
        ops::Create::No
    };
    let res = live.outside_grace(|| {
        let open = ops::open(
            0,
            ShareAccess4::READ | ShareAccess4::WRITE,
            ShareDeny4(0),
            ops::state_owner(s.clientid(), owner),
            how.clone(),
            ops::Claim::Null(name.to_string()),
        );
        s.compound(conn, live.in_export(vec![open, ops::getfh()]))
    });
    assert_eq!(ops::first_failure(&res), None, "OPEN: {res:?}");
    let st = ops::opened(&res).expect("opened").stateid.clone();
    (st, ops::fh(&res).expect("GETFH"))
}

#[test]
fn v41_client_lifetime() {
    let Some(live) = Live::start("v41_client_lifetime") else {
        return;
    };
    let p = user(0);
    let conn = live.connect(0, 0);
    conn.null().expect("NULL");
    let owner = ClientOwner::unique("v41-lifetime");
    let s = new_session(&conn, &p, &owner);
    assert_eq!(
        s.reclaim_complete(&conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    let lease = s.lease_time(&conn).expect("answered").expect("lease_time");
    assert_eq!(lease, live.lease, "the lease the launcher configured");

    // Exact slot control: a skipped sequence id is refused and leaves the
    // slot table alone; a retry of the last request is answered as a replay.
    let next = s.next_seqid(0).expect("slot 0");
    let res = s
        .compound_with(&conn, 0, next + 5, false, vec![])
        .expect("answered");
    assert_eq!(res.status, NfsStat4::NFS4ERR_SEQ_MISORDERED);
    assert_eq!(
        s.sequence(&conn).expect("answered").status(),
        NfsStat4::NFS4_OK
    );
    let last = s.next_seqid(0).expect("slot 0") - 1;
    let replay = s
        .compound_with(&conn, 0, last, false, vec![])
        .expect("answered");
    eprintln!("retry of slot 0 seqid {last}: {replay:?}");
    // Ganesha keeps every reply in the slot's cache (sa_cachethis is a hint)
    // and answers the retry from it.
    match replay.resarray.first() {
        Some(NfsResOp::Sequence(NfsRes::Ok(seq))) => assert_eq!(seq.sr_sequenceid, last),
        other => panic!("replay: {other:?}"),
    }
    // fs_locations and fs_locations_info of the export: Ganesha's VFS
    // export has no referrals and returns neither, but GETATTR succeeds.
    let res = s
        .compound(
            &conn,
            live.in_export(vec![ops::getattr(&[
                Fattr4Num::FATTR4_FS_LOCATIONS.0,
                Fattr4Num::FATTR4_FS_LOCATIONS_INFO.0,
            ])]),
        )
        .expect("GETATTR answered");
    assert_eq!(ops::first_failure(&res), None, "GETATTR: {res:?}");
    assert_eq!(ops::fs_locations(&res), None);
    assert_eq!(ops::fs_locations_info(&res), None);

    let (open_st, fh) = open_file(&live, &s, &conn, b"open-owner-1", "v41.txt", true);
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
        .compound(&conn, live.in_export(vec![ops::remove("v41.txt")]))
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
    let Some(live) = Live::start("v40_client_lifetime_with_a_callback_listener") else {
        return;
    };
    let p = user(0);
    let listener = live.listener(0);
    let conn = live.connect(0, 0);
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
    assert_eq!(lease, live.lease);

    let open_owner = ops::state_owner(ok.clientid, b"v40-open-owner");
    let res = live.outside_grace(|| {
        let open = ops::open_create(0, open_owner.clone(), "v40.txt");
        conn.compound(&p, 0, "open", live.in_export(vec![open, ops::getfh()]))
    });
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
    // current epoch NFS4ERR_EXPIRED (Ganesha's choice among the RFC's errors).
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
/// NFSv4.1 it does not compare the AUTH_SYS principals: it hands the second
/// principal a new client ID and at once destroys the first principal's
/// session (NFS4ERR_BADSESSION), before the new client ID is even
/// confirmed. This test pins what Ganesha does, so that a change in it is
/// noticed; the conformance suite reports it as a violation.
#[test]
fn two_principals_claiming_one_client_owner() {
    let Some(live) = Live::start("two_principals_claiming_one_client_owner") else {
        return;
    };
    let (alice, bob) = (user(1000), user(2000));

    // Root creates a file both may open (the export directory is root's).
    let root_conn = live.connect(0, 0);
    let root = new_session(&root_conn, &user(0), &ClientOwner::unique("root"));
    assert_eq!(
        root.reclaim_complete(&root_conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    let (st, fh) = open_file(&live, &root, &root_conn, b"root", "shared.txt", true);
    let res = root
        .compound(&root_conn, vec![ops::putfh(&fh), ops::close(0, st)])
        .expect("CLOSE answered");
    assert!(ops::closed(&res).is_some(), "CLOSE: {res:?}");

    // v4.1: alice holds an open; bob presents the same owner and verifier.
    let owner = ClientOwner::unique("two-principals");
    let conn = live.connect(0, 0);
    let s = new_session(&conn, &alice, &owner);
    assert_eq!(
        s.reclaim_complete(&conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    let _held = open_file(&live, &s, &conn, b"alice", "shared.txt", false);
    let bob_conn = live.connect(1, 0);
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

    // v4.0: the same with SETCLIENTID.
    let listener = live.listener(0);
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
    let res = live.outside_grace(|| {
        let open = ops::open(
            0,
            ShareAccess4::READ,
            ShareDeny4(0),
            ops::state_owner(ok.clientid, b"alice40"),
            ops::Create::No,
            ops::Claim::Null("shared.txt".into()),
        );
        conn.compound(&alice, 0, "open", live.in_export(vec![open]))
    });
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

/// A session created over one connection (first client address to the
/// server's first address) is joined by BIND_CONN_TO_SESSION over another
/// (second client address to the server's second address), then used
/// over both: session trunking from a multi-homed client.
#[test]
fn a_session_joined_from_a_second_source_address() {
    let Some(live) = Live::start("a_session_joined_from_a_second_source_address") else {
        return;
    };
    let p = user(0);
    let owner = ClientOwner::unique("second-address");
    let first = live.connect(0, 0);
    let s = new_session(&first, &p, &owner);
    assert_eq!(
        s.reclaim_complete(&first, false).expect("answered"),
        NfsStat4::NFS4_OK
    );

    let second = live.connect(1, 1);
    assert_eq!(second.local_addr().ip(), live.clients[1]);
    assert_eq!(second.peer_addr(), live.server[1]);
    let bound = s
        .bind_conn_to_session(&second, ChannelDirFromClient4::CDFC4_FORE_OR_BOTH, false)
        .expect("answered");
    let NfsRes::Ok(ok) = bound else {
        panic!("BIND_CONN_TO_SESSION: {bound:?}")
    };
    eprintln!("BIND_CONN_TO_SESSION: {ok:?}");
    assert_eq!(ok.bctsr_sessid, s.id());
    // FORE_OR_BOTH: the server chooses; Ganesha binds both directions.
    assert_eq!(ok.bctsr_dir, ChannelDirFromServer4::CDFS4_BOTH);
    assert!(!ok.bctsr_use_conn_in_rdma_mode);
    let res = s
        .compound(&second, vec![ops::putrootfh(), ops::getattr_lease_time()])
        .expect("answered on the second connection");
    assert_eq!(
        ops::lease_time(&res).map(|t| Duration::from_secs(t.into())),
        Some(live.lease)
    );
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
    let (open_st, fh) = open_file(&live, &s, &first, b"oo", "joined.txt", true);
    let range = ops::Range {
        locktype: NfsLockType4::WRITE_LT,
        offset: 0,
        length: 10,
    };
    let lock_owner = ops::state_owner(s.clientid(), b"lo");
    let res = s
        .compound(
            &second,
            vec![
                ops::putfh(&fh),
                ops::lock_new(range, false, 0, open_st, 0, lock_owner),
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
    // A third connection bound for the backchannel only: Ganesha binds it
    // so; a SEQUENCE on it then succeeds, which SP4_NONE allows (RFC 8881
    // §2.10.3.1: a SEQUENCE on an unbound connection binds its fore channel).
    let back = live.connect(0, 1);
    let bound = s
        .bind_conn_to_session(&back, ChannelDirFromClient4::CDFC4_BACK, false)
        .expect("answered");
    eprintln!("BIND_CONN_TO_SESSION back: {bound:?}");
    match bound {
        NfsRes::Ok(ok) => assert_eq!(ok.bctsr_dir, ChannelDirFromServer4::CDFS4_BACK),
        other => panic!("BIND_CONN_TO_SESSION back: {other:?}"),
    }
    let fore_on_back = s.sequence(&back).expect("answered");
    eprintln!("SEQUENCE on the back connection: {fore_on_back:?}");
    assert_eq!(fore_on_back.status(), NfsStat4::NFS4_OK);
    // Keep-alive renews over the second connection.
    let ka = s.keep_alive(&second, Duration::from_millis(200));
    std::thread::sleep(Duration::from_millis(700));
    let report = ka.stop();
    assert!(report.sent >= 2 && report.ok == report.sent, "{report:?}");
}

/// Refusals below NFS: an RPC version the server does not offer, arguments
/// that do not decode, and bytes that are not a record at all.
#[test]
fn rpc_refusals_and_junk_are_typed_errors() {
    let Some(live) = Live::start("rpc_refusals_and_junk_are_typed_errors") else {
        return;
    };
    let p = user(0);
    let conn = live.connect(0, 0);
    let nfs = analyzer::nfs4::NFS4_PROGRAM;
    let r = conn.call(nfs, 3, 0, &p, &[]);
    eprintln!("NFS version 3 NULL: {r:?}");
    match r {
        Err(ClientError::Rpc { detail, .. }) => {
            assert_eq!(detail, "PROG_MISMATCH (versions 4 to 4)")
        }
        other => panic!("expected an RPC refusal, got {other:?}"),
    }
    let r = conn.call(nfs, 4, 1, &p, &[0xff; 7]);
    eprintln!("COMPOUND with 7 junk bytes: {r:?}");
    match r {
        Err(ClientError::Rpc { detail, .. }) => assert_eq!(detail, "GARBAGE_ARGS"),
        other => panic!("expected GARBAGE_ARGS, got {other:?}"),
    }
    // The connection still works after refusals.
    conn.null().expect("NULL after refusals");
    // A framed record that is not an RPC message.
    let junk = live.connect(1, 0);
    let mut rec = Vec::new();
    analyzer::rpc::write_record(&mut rec, b"this is not rpc!", 1 << 20);
    junk.send_raw(&rec).expect("written");
    // Ganesha resets the connection (it may still answer a call that was
    // already on its way): the reader sees the reset by itself, and later
    // calls fail at once rather than after the 10 s reply timeout.
    let t = Instant::now();
    while junk.failure().is_none() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let failure = junk.failure();
    eprintln!("after junk: {failure:?} after {:?}", t.elapsed());
    assert!(
        matches!(failure, Some(ClientError::Closed { .. })),
        "{failure:?}"
    );
    let t = Instant::now();
    let r = junk.null();
    assert!(matches!(r, Err(ClientError::Closed { .. })), "{r:?}");
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );

    // Unframed bytes: 0x7f7f7f7f reads as the header of a fragment of
    // about 2 GiB, and Ganesha waits for it without answering or closing.
    // To the client that is a hung server: a Timeout after its reply timeout.
    let opts = ConnectOptions {
        from: Some(live.clients[0]),
        netns: live.lab.netns().cloned(),
        reply_timeout: Duration::from_secs(1),
        ..ConnectOptions::default()
    };
    let hung = Connection::connect(live.server[0], &opts).expect("connect");
    hung.send_raw(&[0x7f; 64]).expect("written");
    let t = Instant::now();
    let r = hung.null();
    eprintln!("NULL after unframed junk: {r:?} after {:?}", t.elapsed());
    assert!(matches!(r, Err(ClientError::Timeout { .. })), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// State held before a crash is reclaimed in the grace period after it:
/// OPEN with CLAIM_PREVIOUS and LOCK with reclaim set, then
/// RECLAIM_COMPLETE; meanwhile a new OPEN is refused with NFS4ERR_GRACE.
#[test]
fn state_is_reclaimed_after_a_crash() {
    let Some(live) = Live::start_profile("state_is_reclaimed_after_a_crash", "restartable") else {
        return;
    };
    let p = user(0);
    let owner = ClientOwner::unique("reclaim");
    let conn = live.connect(0, 0);
    let s = new_session(&conn, &p, &owner);
    assert_eq!(
        s.reclaim_complete(&conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    let (open_st, fh) = open_file(&live, &s, &conn, b"reclaimer", "reclaim.txt", true);
    let range = ops::Range {
        locktype: NfsLockType4::WRITE_LT,
        offset: 0,
        length: 100,
    };
    let res = s
        .compound(
            &conn,
            vec![
                ops::putfh(&fh),
                ops::lock_new(
                    range,
                    false,
                    0,
                    open_st,
                    0,
                    ops::state_owner(s.clientid(), b"locker"),
                ),
            ],
        )
        .expect("LOCK answered");
    assert!(ops::locked(&res).is_some(), "LOCK: {res:?}");

    live.lab.crash("a").expect("crash and restart");
    let conn = live.connect(0, 0);
    let old = s.sequence(&conn).expect("answered");
    eprintln!("old session after the crash: {old:?}");
    assert_eq!(old.status(), NfsStat4::NFS4ERR_BADSESSION);
    let s2 = new_session(&conn, &p, &owner);
    eprintln!(
        "client ID before {} and after {}",
        s.clientid(),
        s2.clientid()
    );
    // In grace: reclaims are accepted, a new OPEN is not.
    let res = s2
        .compound(
            &conn,
            vec![
                ops::putfh(&fh),
                ops::open_reclaim(
                    0,
                    ShareAccess4::READ | ShareAccess4::WRITE,
                    ops::state_owner(s2.clientid(), b"reclaimer"),
                ),
            ],
        )
        .expect("OPEN CLAIM_PREVIOUS answered");
    eprintln!("OPEN CLAIM_PREVIOUS: {:?}", ops::first_failure(&res));
    let reopened = ops::opened(&res)
        .unwrap_or_else(|| panic!("OPEN CLAIM_PREVIOUS: {res:?}"))
        .stateid
        .clone();
    let res = s2
        .compound(
            &conn,
            vec![
                ops::putfh(&fh),
                ops::lock_new(
                    range,
                    true,
                    0,
                    reopened,
                    0,
                    ops::state_owner(s2.clientid(), b"locker"),
                ),
            ],
        )
        .expect("LOCK reclaim answered");
    assert!(ops::locked(&res).is_some(), "LOCK reclaim: {res:?}");
    let res = s2
        .compound(
            &conn,
            live.in_export(vec![ops::open_create(
                0,
                ops::state_owner(s2.clientid(), b"new"),
                "new.txt",
            )]),
        )
        .expect("OPEN answered");
    assert_eq!(
        ops::status_of(&res, NfsOpnum4::OP_OPEN),
        Some(NfsStat4::NFS4ERR_GRACE),
        "a new OPEN during grace"
    );
    assert_eq!(
        s2.reclaim_complete(&conn, false).expect("answered"),
        NfsStat4::NFS4_OK
    );
    // The reclaimed lock is held: once grace is over (LOCKT, not a reclaim,
    // gets NFS4ERR_GRACE until then), another owner's LOCKT is denied.
    let res = live.outside_grace(|| {
        s2.compound(
            &conn,
            vec![
                ops::putfh(&fh),
                ops::lockt(range, ops::state_owner(s2.clientid(), b"other")),
            ],
        )
    });
    assert_eq!(
        ops::status_of(&res, NfsOpnum4::OP_LOCKT),
        Some(NfsStat4::NFS4ERR_DENIED)
    );
}
