//! The passive rules on conversations built with the codec: each rule fires
//! on the exchange that breaks it, names the frames, and stays silent on the
//! conformant twin of that exchange.

use analyzer::exchange::{ExchangeLimits, Exchanges};
use analyzer::flow::{ConnId, ConnInfo, Direction};
use analyzer::model::{Model, ModelLimits};
use analyzer::nfs4::*;
use analyzer::packet::Timestamp;
use analyzer::rpc::{OpaqueAuth, RpcMessage};
use analyzer::rpcstream::{RecordRef, RecordSink};
use analyzer::xdr::{to_bytes, Opaque};
use std::net::SocketAddr;

/// A conversation: calls and replies on chosen connections, frames counted.
struct Conv {
    x: Exchanges<Model>,
    frame: u64,
    xid: u32,
}

const CLIENT: &str = "127.0.0.1:900";
const SERVER_A: &str = "127.0.0.2:2049";
const SERVER_B: &str = "127.0.0.3:2049";

impl Conv {
    fn new() -> Self {
        Conv {
            x: Exchanges::new(
                ExchangeLimits::default(),
                Model::new(ModelLimits::default()),
            ),
            frame: 0,
            xid: 0x1000,
        }
    }

    fn record(&mut self, conn: u64, client: &str, server: &str, dir: Direction, bytes: &[u8]) {
        self.frame += 1;
        let info = ConnInfo {
            client: client.parse::<SocketAddr>().unwrap(),
            server: server.parse::<SocketAddr>().unwrap(),
            handshake_seen: true,
            first_frame: 1,
            first_ts: Timestamp::default(),
        };
        self.x.record(RecordRef {
            conn: ConnId(conn),
            dir,
            info: &info,
            bytes,
            offset: 0,
            first_frame: self.frame,
            frame: self.frame,
            ts: Timestamp::default(),
        });
    }

    /// One COMPOUND exchange on connection `conn` between `client` and `server`.
    fn exchange(
        &mut self,
        conn: u64,
        client: &str,
        server: &str,
        args: Vec<NfsArgOp<'static>>,
        res: Vec<NfsResOp<'static>>,
    ) {
        self.xid += 1;
        let call = Compound4Args {
            tag: Opaque::from(""),
            minorversion: 1,
            argarray: args,
        };
        let status = res
            .iter()
            .map(|r| r.status())
            .find(|s| !s.is_ok())
            .unwrap_or(NfsStat4::NFS4_OK);
        let reply = Compound4Res {
            status,
            tag: Opaque::from(""),
            resarray: res,
        };
        let c = RpcMessage::call(
            self.xid,
            NFS4_PROGRAM,
            4,
            1,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        )
        .to_bytes_with_payload(&to_bytes(&call));
        let r = RpcMessage::success_reply(self.xid, OpaqueAuth::none())
            .to_bytes_with_payload(&to_bytes(&reply));
        self.record(conn, client, server, Direction::ToServer, &c);
        self.record(conn, client, server, Direction::ToClient, &r);
    }

    /// A CB_COMPOUND call from the server on connection `conn`, on `prog`.
    fn callback(&mut self, conn: u64, prog: u32, args: Vec<CbArgOp<'static>>) {
        self.xid += 1;
        let call = CbCompound4Args {
            tag: Opaque::from(""),
            minorversion: 1,
            callback_ident: 0,
            argarray: args,
        };
        let c = RpcMessage::call(
            self.xid,
            prog,
            1,
            CB_COMPOUND,
            OpaqueAuth::none(),
            OpaqueAuth::none(),
        )
        .to_bytes_with_payload(&to_bytes(&call));
        self.record(conn, CLIENT, SERVER_A, Direction::ToClient, &c);
    }

    fn rules(&self) -> Vec<&'static str> {
        self.x.sink.findings.iter().map(|f| f.rule.id).collect()
    }
}

fn exchange_id(owner: &str, verifier: u8, flags: ExchgId4Flags) -> NfsArgOp<'static> {
    NfsArgOp::ExchangeId(ExchangeId4Args {
        eia_clientowner: ClientOwner4 {
            co_verifier: Verifier4([verifier; 8]),
            co_ownerid: Opaque::from(owner.to_string()),
        },
        eia_flags: flags,
        eia_state_protect: StateProtect4A::None,
        eia_client_impl_id: vec![],
    })
}

fn exchange_id_ok(
    clientid: u64,
    flags: ExchgId4Flags,
    major: &str,
    minor: u64,
) -> NfsResOp<'static> {
    NfsResOp::ExchangeId(NfsRes::Ok(ExchangeId4ResOk {
        eir_clientid: Clientid4(clientid),
        eir_sequenceid: 1,
        eir_flags: flags,
        eir_state_protect: StateProtect4R::None,
        eir_server_owner: ServerOwner4 {
            so_minor_id: minor,
            so_major_id: Opaque::from(major.to_string()),
        },
        eir_server_scope: Opaque::from("scope-1"),
        eir_server_impl_id: vec![],
    }))
}

fn chan(max_req: u32, maxops: u32, maxreqs: u32) -> ChannelAttrs4 {
    ChannelAttrs4 {
        ca_headerpadsize: 0,
        ca_maxrequestsize: max_req,
        ca_maxresponsesize: max_req,
        ca_maxresponsesize_cached: 4096,
        ca_maxoperations: maxops,
        ca_maxrequests: maxreqs,
        ca_rdma_ird: vec![],
    }
}

fn create_session(clientid: u64, seq: u32, flags: CreateSession4Flags) -> NfsArgOp<'static> {
    NfsArgOp::CreateSession(CreateSession4Args {
        csa_clientid: Clientid4(clientid),
        csa_sequence: seq,
        csa_flags: flags,
        csa_fore_chan_attrs: chan(1 << 20, 8, 16),
        csa_back_chan_attrs: chan(4096, 2, 1),
        csa_cb_program: NFS4_CALLBACK,
        csa_sec_parms: vec![CallbackSecParms4::AuthNone],
    })
}

fn create_session_ok(
    session: u8,
    seq: u32,
    flags: CreateSession4Flags,
    fore: ChannelAttrs4,
    back: ChannelAttrs4,
) -> NfsResOp<'static> {
    NfsResOp::CreateSession(NfsRes::Ok(CreateSession4ResOk {
        csr_sessionid: SessionId4([session; 16]),
        csr_sequence: seq,
        csr_flags: flags,
        csr_fore_chan_attrs: fore,
        csr_back_chan_attrs: back,
    }))
}

const PNFS: ExchgId4Flags = ExchgId4Flags(0x0002_0000 | 0x0004_0000);

#[test]
fn confirmed_client_id_must_come_back_with_confirmed_r() {
    for with_flag in [false, true] {
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv", 0)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![create_session(7, 1, CreateSession4Flags(0))],
            vec![create_session_ok(
                1,
                1,
                CreateSession4Flags(0),
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            )],
        );
        let flags = if with_flag {
            PNFS | ExchgId4Flags::CONFIRMED_R
        } else {
            PNFS
        };
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, flags, "srv", 0)],
        );
        if with_flag {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        } else {
            assert_eq!(c.rules(), vec!["exchid.confirmed-r"]);
            let f = &c.x.sink.findings[0];
            assert_eq!(
                f.frames,
                vec![4, 5, 6],
                "confirming reply, then the probe's call and reply"
            );
            assert_eq!(f.rule.rfc, "RFC 8881 §18.35.3");
        }
    }
}

#[test]
fn exchange_id_flags_on_the_wrong_side_and_pnfs_roles() {
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags::CONFIRMED_R)],
        vec![exchange_id_ok(
            7,
            ExchgId4Flags::SUPP_MOVED_REFER | ExchgId4Flags::UPD_CONFIRMED_REC_A,
            "srv",
            0,
        )],
    );
    assert_eq!(
        c.rules(),
        vec![
            "exchid.flags-side-client",
            "exchid.flags-side-server",
            "exchid.pnfs-role"
        ]
    );
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(
            7,
            ExchgId4Flags::USE_NON_PNFS | ExchgId4Flags::USE_PNFS_MDS,
            "srv",
            0,
        )],
    );
    assert_eq!(c.rules(), vec!["exchid.pnfs-role"]);
}

#[test]
fn create_session_sequence_attributes_and_flags() {
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN)],
        vec![create_session_ok(
            1,
            2,
            CreateSession4Flags::CONN_BACK_CHAN | CreateSession4Flags::PERSIST,
            chan(2 << 20, 8, 16),
            chan(4096, 4, 1),
        )],
    );
    assert_eq!(
        c.rules(),
        vec!["csess.sequence-echo", "csess.channel-attrs", "csess.flags"]
    );
    let attrs = &c.x.sink.findings[1].message;
    assert!(
        attrs.contains("fore ca_maxrequestsize 1048576 -> 2097152"),
        "{attrs}"
    );
    assert!(
        attrs.contains("back ca_maxoperations changed 2 -> 4"),
        "{attrs}"
    );
    // A server that lowers sizes and echoes everything is fine.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN)],
        vec![create_session_ok(
            1,
            1,
            CreateSession4Flags(0),
            chan(65536, 8, 16),
            chan(4096, 2, 1),
        )],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

fn bcts(dir: ChannelDirFromClient4) -> NfsArgOp<'static> {
    NfsArgOp::BindConnToSession(BindConnToSession4Args {
        bctsa_sessid: SessionId4([1; 16]),
        bctsa_dir: dir,
        bctsa_use_conn_in_rdma_mode: false,
    })
}

fn bcts_ok(dir: ChannelDirFromServer4) -> NfsResOp<'static> {
    NfsResOp::BindConnToSession(NfsRes::Ok(BindConnToSession4ResOk {
        bctsr_sessid: SessionId4([1; 16]),
        bctsr_dir: dir,
        bctsr_use_conn_in_rdma_mode: false,
    }))
}

#[test]
fn bind_conn_to_session_direction_mapping() {
    use ChannelDirFromClient4 as C;
    use ChannelDirFromServer4 as S;
    let cases = [
        (C::CDFC4_FORE, S::CDFS4_FORE, true),
        (C::CDFC4_FORE, S::CDFS4_BOTH, false),
        (C::CDFC4_BACK, S::CDFS4_BACK, true),
        (C::CDFC4_BACK, S::CDFS4_FORE, false),
        (C::CDFC4_FORE_OR_BOTH, S::CDFS4_BOTH, true),
        (C::CDFC4_FORE_OR_BOTH, S::CDFS4_BACK, false),
        (C::CDFC4_BACK_OR_BOTH, S::CDFS4_BOTH, true),
        (C::CDFC4_BACK_OR_BOTH, S::CDFS4_FORE, false),
    ];
    for (asked, got, ok) in cases {
        let mut c = Conv::new();
        c.exchange(2, CLIENT, SERVER_A, vec![bcts(asked)], vec![bcts_ok(got)]);
        let expect: Vec<&str> = if ok { vec![] } else { vec!["bcts.direction"] };
        assert_eq!(c.rules(), expect, "{asked} -> {got}");
    }
}

fn sequence() -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: SessionId4([1; 16]),
        sa_sequenceid: 1,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
    })
}

fn sequence_ok() -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Ok(Sequence4ResOk {
        sr_sessionid: SessionId4([1; 16]),
        sr_sequenceid: 1,
        sr_slotid: 0,
        sr_highest_slotid: 0,
        sr_target_highest_slotid: 0,
        sr_status_flags: Seq4Status(0),
    }))
}

#[test]
fn only_op_and_sequence_position_rules_judge_what_the_server_accepted() {
    let ok = NfsStat4::NFS4_OK;
    let mut c = Conv::new();
    // EXCHANGE_ID + PUTROOTFH accepted.
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![
            exchange_id("c", 1, ExchgId4Flags(0)),
            NfsArgOp::Putrootfh(()),
        ],
        vec![exchange_id_ok(7, PNFS, "srv", 0), NfsResOp::Putrootfh(ok)],
    );
    // BIND_CONN_TO_SESSION with a PUTROOTFH accepted.
    c.exchange(
        2,
        CLIENT,
        SERVER_A,
        vec![
            bcts(ChannelDirFromClient4::CDFC4_FORE),
            NfsArgOp::Putrootfh(()),
        ],
        vec![
            bcts_ok(ChannelDirFromServer4::CDFS4_FORE),
            NfsResOp::Putrootfh(ok),
        ],
    );
    // SEQUENCE second, accepted.
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![NfsArgOp::Putrootfh(()), sequence()],
        vec![NfsResOp::Putrootfh(ok), sequence_ok()],
    );
    assert_eq!(
        c.rules(),
        vec!["exchid.only-op", "bcts.only-op", "seq.position"]
    );
    // The same requests refused as the RFC says: no finding. After SEQUENCE,
    // EXCHANGE_ID may share the COMPOUND.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![
            exchange_id("c", 1, ExchgId4Flags(0)),
            NfsArgOp::Putrootfh(()),
        ],
        vec![NfsResOp::ExchangeId(NfsRes::Fail(
            NfsStat4::NFS4ERR_NOT_ONLY_OP,
        ))],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![NfsArgOp::Putrootfh(()), sequence()],
        vec![
            NfsResOp::Putrootfh(ok),
            NfsResOp::Sequence(NfsRes::Fail(NfsStat4::NFS4ERR_SEQUENCE_POS)),
        ],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![sequence(), exchange_id("c", 1, ExchgId4Flags(0))],
        vec![sequence_ok(), exchange_id_ok(7, PNFS, "srv", 0)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn addresses_claiming_one_server_must_share_client_ids() {
    // Two addresses declare the same owner and scope (e.g. two independent
    // instances misconfigured alike): different client IDs for one client.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(9, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
    let f = &c.x.sink.findings[0];
    assert_eq!(f.frames, vec![2, 3, 4]);
    assert!(
        f.message
            .contains("127.0.0.3:2049 returned client ID 0x0000000000000009"),
        "{}",
        f.message
    );
    // One real server on two addresses: the same client ID.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 1)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
    // Servers that declare different owners may differ.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv-a", 0)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(9, PNFS, "srv-b", 0)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn a_client_varying_its_owner_per_server_address_is_warned() {
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("host/127.0.0.2", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("host/127.0.0.3", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(8, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["client.same-owner-per-server"]);
    let f = &c.x.sink.findings[0];
    assert_eq!(f.rule.severity, analyzer::rules::Severity::Warning);
    assert_eq!(f.rule.party, analyzer::rules::Party::Client);
}

fn seq_n(seqid: u32) -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: SessionId4([1; 16]),
        sa_sequenceid: seqid,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
    })
}

fn seq_ok_n(seqid: u32, flags: Seq4Status) -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Ok(Sequence4ResOk {
        sr_sessionid: SessionId4([1; 16]),
        sr_sequenceid: seqid,
        sr_slotid: 0,
        sr_highest_slotid: 0,
        sr_target_highest_slotid: 0,
        sr_status_flags: flags,
    }))
}

/// EXCHANGE_ID and CREATE_SESSION for client ID 7 and session [1; 16].
fn with_session() -> Conv {
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 1, CreateSession4Flags(0))],
        vec![create_session_ok(
            1,
            1,
            CreateSession4Flags(0),
            chan(1 << 20, 8, 16),
            chan(4096, 2, 1),
        )],
    );
    c
}

fn reclaim_complete() -> NfsArgOp<'static> {
    NfsArgOp::ReclaimComplete(ReclaimComplete4Args { rca_one_fs: false })
}

fn open(claim: OpenClaim4<'static>) -> NfsArgOp<'static> {
    NfsArgOp::Open(Open4Args {
        seqid: 0,
        share_access: ShareAccess4::READ,
        share_deny: ShareDeny4(0),
        owner: StateOwner4 {
            clientid: Clientid4(7),
            owner: Opaque::from("o"),
        },
        openhow: Openflag4::NoCreate(Opentype4::OPEN4_NOCREATE),
        claim,
    })
}

fn open_res(status: NfsStat4) -> NfsResOp<'static> {
    if !status.is_ok() {
        return NfsResOp::Open(NfsRes::Fail(status));
    }
    NfsResOp::Open(NfsRes::Ok(Open4ResOk {
        stateid: Stateid4 {
            seqid: 1,
            other: StateidOther([1; 12]),
        },
        cinfo: ChangeInfo4 {
            atomic: true,
            before: 0,
            after: 0,
        },
        rflags: Open4ResultFlags(0),
        attrset: Bitmap4::default(),
        delegation: OpenDelegation4::None,
    }))
}

#[test]
fn one_client_id_per_incarnation() {
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 2, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["exchid.clientid-per-incarnation"]);
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 2, ExchgId4Flags(0))],
        vec![exchange_id_ok(8, PNFS, "srv", 0)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn slot_sequence_rules() {
    let none = Seq4Status(0);
    let mut c = with_session();
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(5)], vec![seq_ok_n(5, none)]);
    assert_eq!(c.rules(), vec!["seq.first-seqid"]);

    let mut c = with_session();
    for s in [1, 2, 2, 3] {
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(s)], vec![seq_ok_n(s, none)]);
    }
    assert!(
        c.rules().is_empty(),
        "a retry and +1 are fine: {:?}",
        c.x.sink.findings
    );
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(5)], vec![seq_ok_n(5, none)]);
    assert_eq!(c.rules(), vec!["seq.slot-order"]);
}

#[test]
fn reclaim_complete_rules() {
    let none = Seq4Status(0);
    let ok = NfsStat4::NFS4_OK;
    // Non-reclaim OPEN before RECLAIM_COMPLETE, accepted: client and server at fault.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1), open(OpenClaim4::Null(Opaque::from("f")))],
        vec![seq_ok_n(1, none), open_res(ok)],
    );
    assert_eq!(
        c.rules(),
        vec![
            "client.reclaim-complete-first",
            "grace.before-reclaim-complete"
        ]
    );
    // Refused with GRACE: only the client is at fault.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1), open(OpenClaim4::Null(Opaque::from("f")))],
        vec![seq_ok_n(1, none), open_res(NfsStat4::NFS4ERR_GRACE)],
    );
    assert_eq!(c.rules(), vec!["client.reclaim-complete-first"]);
    // RECLAIM_COMPLETE first, then OPEN: fine; a retry of RECLAIM_COMPLETE
    // is fine; a second one accepted is not; a reclaim after it is the
    // client's fault.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1), reclaim_complete()],
        vec![seq_ok_n(1, none), NfsResOp::ReclaimComplete(ok)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1), reclaim_complete()],
        vec![seq_ok_n(1, none), NfsResOp::ReclaimComplete(ok)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2), open(OpenClaim4::Null(Opaque::from("f")))],
        vec![seq_ok_n(2, none), open_res(ok)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(3), reclaim_complete()],
        vec![seq_ok_n(3, none), NfsResOp::ReclaimComplete(ok)],
    );
    assert_eq!(c.rules(), vec!["rc.complete-already"]);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![
            seq_n(4),
            open(OpenClaim4::Previous(
                OpenDelegationType4::OPEN_DELEGATE_NONE,
            )),
        ],
        vec![seq_ok_n(4, none), open_res(NfsStat4::NFS4ERR_NO_GRACE)],
    );
    assert_eq!(
        c.rules(),
        vec!["rc.complete-already", "client.no-reclaim-after-complete"]
    );
}

#[test]
fn restart_reclaim_needed_stays_until_reclaim_complete() {
    let need = Seq4Status::RESTART_RECLAIM_NEEDED;
    let ok = NfsStat4::NFS4_OK;
    let mut c = with_session();
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, need)]);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2)],
        vec![seq_ok_n(2, Seq4Status(0))],
    );
    assert_eq!(c.rules(), vec!["seq.reclaim-needed-flag"]);
    let mut c = with_session();
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, need)]);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2), reclaim_complete()],
        vec![seq_ok_n(2, need), NfsResOp::ReclaimComplete(ok)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(3)],
        vec![seq_ok_n(3, Seq4Status(0))],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(4)], vec![seq_ok_n(4, need)]);
    assert_eq!(c.rules(), vec!["seq.reclaim-needed-flag"]);
}

#[test]
fn joining_a_session_at_an_address_that_is_not_session_trunkable() {
    let none = Seq4Status(0);
    // B declares another minor id: client ID trunkable, not session trunkable.
    let mut c = with_session();
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(
            7,
            PNFS | ExchgId4Flags::CONFIRMED_R,
            "srv",
            1,
        )],
    );
    c.exchange(
        3,
        CLIENT,
        SERVER_B,
        vec![bcts(ChannelDirFromClient4::CDFC4_FORE)],
        vec![bcts_ok(ChannelDirFromServer4::CDFS4_FORE)],
    );
    assert_eq!(
        c.rules(),
        vec![
            "client.session-trunking",
            "server.session-trunking-consistent"
        ]
    );
    // Same minor id too: fine, also by implicit binding with SEQUENCE.
    let mut c = with_session();
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(
            7,
            PNFS | ExchgId4Flags::CONFIRMED_R,
            "srv",
            0,
        )],
    );
    c.exchange(3, CLIENT, SERVER_B, vec![seq_n(1)], vec![seq_ok_n(1, none)]);
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn destroy_session_position_and_connection() {
    let ok = NfsStat4::NFS4_OK;
    let destroy = || {
        NfsArgOp::DestroySession(DestroySession4Args {
            dsa_sessionid: SessionId4([1; 16]),
        })
    };
    // Not last after SEQUENCE, accepted.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1), destroy(), NfsArgOp::Putrootfh(())],
        vec![
            seq_ok_n(1, Seq4Status(0)),
            NfsResOp::DestroySession(ok),
            NfsResOp::Putrootfh(ok),
        ],
    );
    assert_eq!(c.rules(), vec!["dsess.position"]);
    // Alone, on a connection never bound to the session, accepted.
    let mut c = with_session();
    c.exchange(
        9,
        CLIENT,
        SERVER_A,
        vec![destroy()],
        vec![NfsResOp::DestroySession(ok)],
    );
    assert_eq!(c.rules(), vec!["dsess.bound-connection"]);
    // Alone on the session's own connection: fine.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![destroy()],
        vec![NfsResOp::DestroySession(ok)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn client_id_lifecycle_rules() {
    let ok = NfsStat4::NFS4_OK;
    // A client ID given to a second owner.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("a", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("b", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["clientid.no-reuse"]);
    // CREATE_SESSION accepted after DESTROY_CLIENTID.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![NfsArgOp::DestroyClientid(DestroyClientid4Args {
            dca_clientid: Clientid4(7),
        })],
        vec![NfsResOp::DestroyClientid(ok)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![create_session_ok(
            2,
            2,
            CreateSession4Flags(0),
            chan(1 << 20, 8, 16),
            chan(4096, 2, 1),
        )],
    );
    assert_eq!(c.rules(), vec!["csess.stale-clientid"]);
}

#[test]
fn moved_needs_announced_migration_or_referral_support() {
    for (flags, expect) in [
        (ExchgId4Flags::USE_NON_PNFS, vec!["exchid.supp-moved"]),
        (
            ExchgId4Flags::USE_NON_PNFS | ExchgId4Flags::SUPP_MOVED_MIGR,
            vec![],
        ),
    ] {
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, flags, "srv", 0)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![create_session(7, 1, CreateSession4Flags(0))],
            vec![create_session_ok(
                1,
                1,
                CreateSession4Flags(0),
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            )],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1), NfsArgOp::Putrootfh(())],
            vec![
                seq_ok_n(1, Seq4Status(0)),
                NfsResOp::Putrootfh(NfsStat4::NFS4ERR_MOVED),
            ],
        );
        assert_eq!(c.rules(), expect);
    }
}

#[test]
fn callbacks_use_the_program_the_client_gave() {
    let cb_seq = || {
        CbArgOp::CbSequence(CbSequence4Args {
            csa_sessionid: SessionId4([1; 16]),
            csa_sequenceid: 1,
            csa_slotid: 0,
            csa_highest_slotid: 0,
            csa_cachethis: false,
            csa_referring_call_lists: vec![],
        })
    };
    for (used, expect) in [(0x4000_0000, vec!["cb.program"]), (0x4000_0123, vec![])] {
        let mut c = Conv::new();
        let mut cs = create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN);
        if let NfsArgOp::CreateSession(a) = &mut cs {
            a.csa_cb_program = 0x4000_0123;
        }
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![cs],
            vec![create_session_ok(
                1,
                1,
                CreateSession4Flags::CONN_BACK_CHAN,
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            )],
        );
        c.callback(1, used, vec![cb_seq()]);
        assert_eq!(c.rules(), expect, "callback on {used:#x}");
    }
}

fn setclientid(id: &str) -> NfsArgOp<'static> {
    NfsArgOp::Setclientid(Setclientid4Args {
        client: NfsClientId4 {
            verifier: Verifier4([1; 8]),
            id: Opaque::from(id.to_string()),
        },
        callback: CbClient4 {
            cb_program: 0x4000_0000,
            cb_location: Netaddr4 {
                na_r_netid: Opaque::from("tcp"),
                na_r_addr: Opaque::from("127.0.0.1.3.232"),
            },
        },
        callback_ident: 1,
    })
}

fn setclientid_ok(clientid: u64, confirm: u8) -> NfsResOp<'static> {
    NfsResOp::Setclientid(Setclientid4Res::Ok(Setclientid4ResOk {
        clientid: Clientid4(clientid),
        setclientid_confirm: Verifier4([confirm; 8]),
    }))
}

fn confirm(clientid: u64, confirm: u8) -> NfsArgOp<'static> {
    NfsArgOp::SetclientidConfirm(SetclientidConfirm4Args {
        clientid: Clientid4(clientid),
        setclientid_confirm: Verifier4([confirm; 8]),
    })
}

#[test]
fn nfsv40_trunking_test_of_rfc_7931() {
    // One server on two addresses: B returns A's client ID with a new
    // confirm value; confirming B's values at A succeeds.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("uniform")],
        vec![setclientid_ok(5, 1)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![confirm(5, 1)],
        vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![setclientid("uniform")],
        vec![setclientid_ok(5, 2)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![confirm(5, 2)],
        vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
    );
    let t = &c.x.sink.v40_trunking;
    assert_eq!(t.len(), 1);
    assert!(t[0].same_server());
    assert_eq!(t[0].issued_at, SERVER_B.parse().unwrap());
    assert_eq!(t[0].confirmed_at, SERVER_A.parse().unwrap());
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
    // Two servers: A does not know B's client ID.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("uniform")],
        vec![setclientid_ok(5, 1)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![setclientid("uniform")],
        vec![setclientid_ok(9, 3)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![confirm(9, 3)],
        vec![NfsResOp::SetclientidConfirm(
            NfsStat4::NFS4ERR_STALE_CLIENTID,
        )],
    );
    let t = &c.x.sink.v40_trunking;
    assert_eq!(t.len(), 1);
    assert!(!t[0].same_server());
    // Identical (client ID, confirm) from two addresses: noted.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("uniform")],
        vec![setclientid_ok(5, 1)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![setclientid("uniform")],
        vec![setclientid_ok(5, 1)],
    );
    assert_eq!(c.rules(), vec!["v40.same-confirm"]);
}

#[test]
fn identities_group_endpoints_by_declaration() {
    let probe = PNFS | ExchgId4Flags::CONFIRMED_R;
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(7, probe, "srv", 1)],
    );
    c.exchange(
        3,
        CLIENT,
        "127.0.0.4:2049",
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(9, PNFS, "other", 0)],
    );
    let m = &c.x.sink;
    let ids = m.server_identities();
    assert_eq!(ids.len(), 2, "(scope-1, other) and (scope-1, srv)");
    let srv = ids.iter().position(|i| i.endpoints.len() == 2).unwrap();
    let groups = m.minor_groups(&ids[srv]);
    assert_eq!(groups.len(), 2, "minor ids 0 and 1");
    assert_eq!(
        m.scope_relations().len(),
        1,
        "both identities declared scope-1"
    );
    assert!(c.rules().is_empty(), "{:?}", m.findings);
}

#[test]
fn state_protection_and_flag_rules() {
    // Undefined eia_flags bit accepted.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0x800))],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["exchid.undefined-flags"]);

    // SP4_MACH_CRED asking to enforce BIND_CONN_TO_SESSION (41) and
    // DESTROY_CLIENTID (57), sent under AUTH_NONE; the server drops 57.
    let mut eid = exchange_id("c", 1, ExchgId4Flags(0));
    if let NfsArgOp::ExchangeId(a) = &mut eid {
        a.eia_state_protect = StateProtect4A::MachCred(StateProtectOps4 {
            spo_must_enforce: Bitmap4::from_bits(&[41, 57]),
            spo_must_allow: Bitmap4::default(),
        });
    }
    let mut ok = exchange_id_ok(7, PNFS, "srv", 0);
    if let NfsResOp::ExchangeId(NfsRes::Ok(r)) = &mut ok {
        r.eir_state_protect = StateProtect4R::MachCred(StateProtectOps4 {
            spo_must_enforce: Bitmap4::from_bits(&[41]),
            spo_must_allow: Bitmap4::default(),
        });
    }
    let mut c = Conv::new();
    c.exchange(1, CLIENT, SERVER_A, vec![eid], vec![ok]);
    assert_eq!(
        c.rules(),
        vec!["client.state-protection-gss", "exchid.must-enforce"]
    );
    assert!(c.x.sink.findings[1].message.contains("DESTROY_CLIENTID"));

    // SP4_SSV without hash algorithms, accepted.
    let mut eid = exchange_id("c", 1, ExchgId4Flags(0));
    if let NfsArgOp::ExchangeId(a) = &mut eid {
        a.eia_state_protect = StateProtect4A::Ssv(SsvSpParms4 {
            ssp_ops: StateProtectOps4 {
                spo_must_enforce: Bitmap4::default(),
                spo_must_allow: Bitmap4::default(),
            },
            ssp_hash_algs: vec![],
            ssp_encr_algs: vec![Opaque::from(vec![1u8, 2])],
            ssp_window: 4,
            ssp_num_gss_handles: 1,
        });
    }
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![eid],
        vec![exchange_id_ok(7, PNFS, "srv", 0)],
    );
    assert_eq!(
        c.rules(),
        vec!["client.state-protection-gss", "exchid.ssv-params"]
    );
}

#[test]
fn exchange_id_case_2_and_v40_confirm_and_implicit_binding() {
    // Case 2 at the same address: a new client ID for a confirmed owner.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(8, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);

    // SETCLIENTID_CONFIRM with a confirm value the server never issued, accepted.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("id")],
        vec![setclientid_ok(5, 1)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![confirm(5, 9)],
        vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
    );
    assert_eq!(c.rules(), vec!["v40.confirm-mismatch"]);
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("id")],
        vec![setclientid_ok(5, 1)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![confirm(5, 9)],
        vec![NfsResOp::SetclientidConfirm(
            NfsStat4::NFS4ERR_STALE_CLIENTID,
        )],
    );
    assert!(c.rules().is_empty());

    // SP4_NONE: a SEQUENCE on a new connection must not be refused as unbound.
    let mut c = with_session();
    c.exchange(
        5,
        CLIENT,
        SERVER_A,
        vec![seq_n(1)],
        vec![NfsResOp::Sequence(NfsRes::Fail(
            NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION,
        ))],
    );
    assert_eq!(c.rules(), vec!["seq.implicit-binding"]);
}

#[test]
fn revoked_state_flags_stay_until_free_stateid() {
    let revoked = Seq4Status::ADMIN_STATE_REVOKED;
    let none = Seq4Status(0);
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1)],
        vec![seq_ok_n(1, revoked)],
    );
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(2)], vec![seq_ok_n(2, none)]);
    assert_eq!(c.rules(), vec!["seq.revoked-flags-stay"]);
    let free = || {
        NfsArgOp::FreeStateid(FreeStateid4Args {
            fsa_stateid: Stateid4 {
                seqid: 1,
                other: StateidOther([1; 12]),
            },
        })
    };
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1)],
        vec![seq_ok_n(1, revoked)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2), free()],
        vec![
            seq_ok_n(2, revoked),
            NfsResOp::FreeStateid(NfsStat4::NFS4_OK),
        ],
    );
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(3)], vec![seq_ok_n(3, none)]);
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}
