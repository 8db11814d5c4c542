//! The passive rules on conversations built with the codec: each rule fires
//! on the exchange that breaks it, names the frames, and stays silent on the
//! conformant twin of that exchange.

use analyzer::capture::packet::Timestamp;
use analyzer::exchange::{ExchangeLimits, Exchanges};
use analyzer::model::{Model, ModelLimits};
use analyzer::nfs4::attr::AttrValue;
use analyzer::nfs4::*;
use analyzer::rpc::stream::{RecordRef, RecordSink};
use analyzer::rpc::{AuthSysParms, OpaqueAuth, RpcMessage};
use analyzer::tcp::flow::{ConnId, ConnInfo, Direction};
use analyzer::xdr::{to_bytes, Opaque};
use std::net::SocketAddr;

/// A conversation: calls and replies on chosen connections, frames counted.
struct Conv {
    x: Exchanges<Model>,
    frame: u64,
    xid: u32,
    /// Capture time of the next frames.
    ts: Timestamp,
    /// COMPOUND minor version of the next calls.
    minor: u32,
    /// Credential of the next calls (AUTH_NONE unless set).
    cred: OpaqueAuth<'static>,
}

const CLIENT: &str = "127.0.0.1:900";
const SERVER_A: &str = "127.0.0.2:2049";
const SERVER_B: &str = "127.0.0.3:2049";

impl Conv {
    fn new() -> Self {
        Conv::with_limits(ModelLimits::default())
    }

    /// A conversation whose model has these bounds.
    fn with_limits(limits: ModelLimits) -> Self {
        Conv {
            x: Exchanges::new(ExchangeLimits::default(), Model::new(limits)),
            frame: 0,
            xid: 0x1000,
            ts: Timestamp::default(),
            minor: 1,
            cred: OpaqueAuth::none(),
        }
    }

    /// The next calls are made as this AUTH_SYS principal.
    fn as_sys(&mut self, machine: &str, uid: u32, gid: u32, gids: &[u32]) {
        self.cred = OpaqueAuth::sys(&AuthSysParms {
            stamp: 1,
            machinename: Opaque::from(machine.to_string()),
            uid,
            gid,
            gids: gids.to_vec(),
        });
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
            ts: self.ts,
        });
    }

    /// A COMPOUND call on connection 1 that gets no reply.
    fn unanswered_call(&mut self, args: Vec<NfsArgOp<'static>>) {
        self.xid += 1;
        let call = Compound4Args {
            tag: Opaque::from(""),
            minorversion: self.minor,
            argarray: args,
        };
        let c = RpcMessage::call(
            self.xid,
            NFS4_PROGRAM,
            4,
            1,
            self.cred.clone(),
            OpaqueAuth::none(),
        )
        .to_bytes_with_payload(&to_bytes(&call));
        self.record(1, CLIENT, SERVER_A, Direction::ToServer, &c);
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
            minorversion: self.minor,
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
            self.cred.clone(),
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

    /// The client's reply to the last callback.
    fn callback_reply(&mut self, conn: u64, res: Vec<CbResOp<'static>>) {
        let status = res
            .iter()
            .map(|r| r.status())
            .find(|s| !s.is_ok())
            .unwrap_or(NfsStat4::NFS4_OK);
        let reply = CbCompound4Res {
            status,
            tag: Opaque::from(""),
            resarray: res,
        };
        let r = RpcMessage::success_reply(self.xid, OpaqueAuth::none())
            .to_bytes_with_payload(&to_bytes(&reply));
        self.record(conn, CLIENT, SERVER_A, Direction::ToServer, &r);
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
fn an_unconfirmed_client_id_may_be_replaced_at_another_address() {
    // RFC 8881 §18.35.4 case 4: an unconfirmed record is replaced by a new
    // client ID, whatever the address; no finding.
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
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn addresses_claiming_one_server_must_share_client_ids() {
    // Two addresses declare the same owner and scope (e.g. two independent
    // instances misconfigured alike): once the client ID is confirmed at
    // one, the other must return it too (case 2), not a new one.
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
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(9, PNFS, "srv", 0)],
    );
    assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
    let f = &c.x.sink.findings[0];
    assert_eq!(f.frames, vec![2, 5, 6]);
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
    let mut c = with_session();
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

// ---- Client ID and session life: sequence, leases, restarts (issue 4) ----

fn seq_on(session: u8, seqid: u32) -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: SessionId4([session; 16]),
        sa_sequenceid: seqid,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
    })
}

fn seq_on_ok(session: u8, seqid: u32, flags: Seq4Status) -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Ok(Sequence4ResOk {
        sr_sessionid: SessionId4([session; 16]),
        sr_sequenceid: seqid,
        sr_slotid: 0,
        sr_highest_slotid: 0,
        sr_target_highest_slotid: 0,
        sr_status_flags: flags,
    }))
}

fn seq_fail(st: NfsStat4) -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Fail(st))
}

fn exchange_id_scoped(
    clientid: u64,
    flags: ExchgId4Flags,
    major: &str,
    scope: &str,
) -> NfsResOp<'static> {
    let mut r = exchange_id_ok(clientid, flags, major, 0);
    if let NfsResOp::ExchangeId(NfsRes::Ok(x)) = &mut r {
        x.eir_server_scope = Opaque::from(scope.to_string());
    }
    r
}

fn csess_ok(session: u8, seq: u32) -> NfsResOp<'static> {
    create_session_ok(
        session,
        seq,
        CreateSession4Flags(0),
        chan(1 << 20, 8, 16),
        chan(4096, 2, 1),
    )
}

/// EXCHANGE_ID + CREATE_SESSION at `server` on `conn`: client ID `cid`,
/// session [`session`; 16], eir_flags `flags`.
fn session_at(
    c: &mut Conv,
    conn: u64,
    server: &str,
    cid: u64,
    session: u8,
    reply: NfsResOp<'static>,
) {
    c.exchange(
        conn,
        CLIENT,
        server,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![reply],
    );
    c.exchange(
        conn,
        CLIENT,
        server,
        vec![create_session(cid, 1, CreateSession4Flags(0))],
        vec![csess_ok(session, 1)],
    );
}

#[test]
fn an_old_client_id_is_stale_after_the_server_said_so() {
    let none = Seq4Status(0);
    let stale = || NfsResOp::CreateSession(NfsRes::Fail(NfsStat4::NFS4ERR_STALE_CLIENTID));
    // STALE_CLIENTID for 7, then CREATE_SESSION with 7 accepted.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![stale()],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![csess_ok(2, 2)],
    );
    assert_eq!(c.rules(), vec!["csess.stale-after-restart"]);
    assert_eq!(c.x.sink.findings[0].frames, vec![6, 7, 8]);
    // ... or SEQUENCE on its older session accepted.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![stale()],
    );
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, none)]);
    assert_eq!(c.rules(), vec!["csess.stale-after-restart"]);
    // The compliant recovery: a new EXCHANGE_ID, a new client ID, its session.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![stale()],
    );
    c.exchange(
        3,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(8, PNFS, "srv", 0)],
    );
    c.exchange(
        3,
        CLIENT,
        SERVER_A,
        vec![create_session(8, 1, CreateSession4Flags(0))],
        vec![csess_ok(2, 1)],
    );
    c.exchange(
        3,
        CLIENT,
        SERVER_A,
        vec![seq_on(2, 1)],
        vec![seq_on_ok(2, 1, none)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn a_trunking_probe_must_not_drop_the_client_state() {
    let none = Seq4Status(0);
    let probe = || exchange_id_ok(7, PNFS | ExchgId4Flags::CONFIRMED_R, "srv", 0);
    // On the connection that carried the session all along: no restart.
    let mut c = with_session();
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, none)]);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![probe()],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2)],
        vec![seq_fail(NfsStat4::NFS4ERR_BADSESSION)],
    );
    assert_eq!(c.rules(), vec!["exchid.probe-keeps-state"]);
    assert_eq!(
        c.x.sink.findings[0].rule.party,
        analyzer::rules::Party::Server
    );
    // On a connection opened after the probe, a restart may explain it.
    let mut c = with_session();
    c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, none)]);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![probe()],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_A,
        vec![seq_n(2)],
        vec![seq_fail(NfsStat4::NFS4ERR_BADSESSION)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn a_new_owner_gets_an_unconfirmed_client_id() {
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
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(
            7,
            PNFS | ExchgId4Flags::CONFIRMED_R,
            "srv",
            0,
        )],
    );
    assert_eq!(c.rules(), vec!["exchid.case1-unconfirmed"]);
    assert_eq!(
        c.x.sink.findings[0].rule.severity,
        analyzer::rules::Severity::Warning
    );
    // Confirmed by CREATE_SESSION first: fine.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(
            7,
            PNFS | ExchgId4Flags::CONFIRMED_R,
            "srv",
            0,
        )],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn create_session_sequence_of_a_client_id() {
    // The first CREATE_SESSION must use eir_sequenceid (1 here).
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
        vec![create_session(7, 5, CreateSession4Flags(0))],
        vec![csess_ok(1, 5)],
    );
    assert_eq!(c.rules(), vec!["csess.sequence"]);
    // A replay of the last csa_sequence must not create a new session.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 1, CreateSession4Flags(0))],
        vec![csess_ok(2, 1)],
    );
    assert_eq!(c.rules(), vec!["csess.sequence"]);
    assert!(c.x.sink.findings[0].message.contains("re-executed"));
    // A skipped one must not be accepted.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 3, CreateSession4Flags(0))],
        vec![csess_ok(2, 3)],
    );
    assert_eq!(c.rules(), vec!["csess.sequence"]);
    // The replay answered from the cache, then the next one: fine.
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 1, CreateSession4Flags(0))],
        vec![csess_ok(1, 1)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![csess_ok(2, 2)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn a_client_ignores_eir_sequenceid_when_confirmed_r_is_set() {
    let probe = |seq: u32| {
        let mut r = exchange_id_ok(7, PNFS | ExchgId4Flags::CONFIRMED_R, "srv", 0);
        if let NfsResOp::ExchangeId(NfsRes::Ok(x)) = &mut r {
            x.eir_sequenceid = seq;
        }
        r
    };
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![probe(9)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 9, CreateSession4Flags(0))],
        vec![NfsResOp::CreateSession(NfsRes::Fail(
            NfsStat4::NFS4ERR_SEQ_MISORDERED,
        ))],
    );
    assert_eq!(c.rules(), vec!["client.csess-ignores-confirmed-r-sequence"]);
    assert_eq!(
        c.x.sink.findings[0].rule.party,
        analyzer::rules::Party::Client
    );
    let mut c = with_session();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![probe(9)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![csess_ok(2, 2)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

fn getattr_lease(conn: u64, c: &mut Conv, lease: u32) {
    c.exchange(
        conn,
        CLIENT,
        SERVER_A,
        vec![
            seq_n(1),
            NfsArgOp::Putrootfh(()),
            NfsArgOp::Getattr(Getattr4Args {
                attr_request: Bitmap4::from_bits(&[10]),
            }),
        ],
        vec![
            seq_ok_n(1, Seq4Status(0)),
            NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
            NfsResOp::Getattr(NfsRes::Ok(Getattr4ResOk {
                obj_attributes: Fattr4::from_values(&[AttrValue::LeaseTime(lease)]),
            })),
        ],
    );
}

#[test]
fn a_lease_renewed_by_sequence_does_not_expire() {
    for (later, conn, expect) in [
        (30, 1, vec!["lease.renewed-by-sequence"]),
        (200, 1, vec![]),
        (30, 2, vec![]),
    ] {
        let mut c = with_session();
        c.ts = Timestamp {
            secs: 100,
            nanos: 0,
        };
        getattr_lease(1, &mut c, 90);
        c.ts = Timestamp {
            secs: 100 + later,
            nanos: 0,
        };
        c.exchange(
            conn,
            CLIENT,
            SERVER_A,
            vec![seq_n(2)],
            vec![seq_fail(NfsStat4::NFS4ERR_BADSESSION)],
        );
        assert_eq!(c.rules(), expect, "{later} s later on connection {conn}");
    }
}

fn setclientid_v(id: &str, verifier: u8) -> NfsArgOp<'static> {
    let mut a = setclientid(id);
    if let NfsArgOp::Setclientid(s) = &mut a {
        s.client.verifier = Verifier4([verifier; 8]);
    }
    a
}

fn renew(conn: u64, c: &mut Conv, st: NfsStat4) {
    c.exchange(
        conn,
        CLIENT,
        SERVER_A,
        vec![NfsArgOp::Renew(Renew4Args {
            clientid: Clientid4(5),
        })],
        vec![NfsResOp::Renew(st)],
    );
}

/// SETCLIENTID "id" → 5, confirmed, at SERVER_A over NFSv4.0.
fn v40_client() -> Conv {
    let mut c = Conv::new();
    c.minor = 0;
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
        vec![confirm(5, 1)],
        vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
    );
    c
}

#[test]
fn renew_after_stale_and_within_the_lease() {
    let mut c = v40_client();
    renew(1, &mut c, NfsStat4::NFS4ERR_STALE_CLIENTID);
    renew(1, &mut c, NfsStat4::NFS4_OK);
    assert_eq!(c.rules(), vec!["v40.renew"]);
    // After SETCLIENTID returned the client ID again: fine.
    let mut c = v40_client();
    renew(1, &mut c, NfsStat4::NFS4ERR_STALE_CLIENTID);
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("id")],
        vec![setclientid_ok(5, 2)],
    );
    renew(1, &mut c, NfsStat4::NFS4_OK);
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
    // EXPIRED 10 s after a renewal, lease 90 s.
    let mut c = v40_client();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![
            NfsArgOp::Putrootfh(()),
            NfsArgOp::Getattr(Getattr4Args {
                attr_request: Bitmap4::from_bits(&[10]),
            }),
        ],
        vec![
            NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
            NfsResOp::Getattr(NfsRes::Ok(Getattr4ResOk {
                obj_attributes: Fattr4::from_values(&[AttrValue::LeaseTime(90)]),
            })),
        ],
    );
    c.ts = Timestamp { secs: 10, nanos: 0 };
    renew(1, &mut c, NfsStat4::NFS4_OK);
    c.ts = Timestamp { secs: 20, nanos: 0 };
    renew(1, &mut c, NfsStat4::NFS4ERR_EXPIRED);
    assert_eq!(c.rules(), vec!["v40.renew"]);
}

#[test]
fn setclientid_with_a_new_verifier_gets_a_new_client_id() {
    for (cid, expect) in [(5, vec!["v40.clientid-per-verifier"]), (6, vec![])] {
        let mut c = v40_client();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid_v("id", 2)],
            vec![setclientid_ok(cid, 3)],
        );
        assert_eq!(c.rules(), expect);
    }
}

#[test]
fn the_rfc_7931_test_and_different_client_ids_disagree() {
    let mut c = Conv::new();
    c.minor = 0;
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![setclientid("u")],
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
        vec![setclientid("u")],
        vec![setclientid_ok(9, 2)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![confirm(9, 2)],
        vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
    );
    assert_eq!(c.rules(), vec!["v40.trunking-consistent"]);
    // (The consistent case, B returning 5, is `nfsv40_trunking_test_of_rfc_7931`.)
}

#[test]
fn a_v40_client_facing_migration_uses_one_id_string() {
    for (id_b, expect) in [("b", vec!["client.v40-uniform-string"]), ("a", vec![])] {
        let mut c = Conv::new();
        c.minor = 0;
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("a")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![setclientid(id_b)],
            vec![setclientid_ok(9, 2)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![NfsArgOp::Putrootfh(())],
            vec![NfsResOp::Putrootfh(NfsStat4::NFS4ERR_MOVED)],
        );
        assert_eq!(c.rules(), expect, "id at B: {id_b}");
    }
}

#[test]
fn a_client_accepts_callbacks_on_any_back_channel_of_its_client_id() {
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
    let ok = || {
        CbResOp::CbSequence(NfsRes::Ok(CbSequence4ResOk {
            csr_sessionid: SessionId4([1; 16]),
            csr_sequenceid: 1,
            csr_slotid: 0,
            csr_highest_slotid: 0,
            csr_target_highest_slotid: 0,
        }))
    };
    let refused = || CbResOp::CbSequence(NfsRes::Fail(NfsStat4::NFS4ERR_BADSESSION));
    for (conn, reply, expect) in [
        (1, refused(), vec!["cb.any-backchannel"]),
        (1, ok(), vec![]),
        (4, refused(), vec![]),
    ] {
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN)],
            vec![create_session_ok(
                1,
                1,
                CreateSession4Flags::CONN_BACK_CHAN,
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            )],
        );
        c.callback(conn, NFS4_CALLBACK, vec![cb_seq()]);
        c.callback_reply(conn, vec![reply]);
        assert_eq!(c.rules(), expect, "connection {conn}");
        assert_eq!(c.x.sink.sessions[&SessionId4([1; 16])].callbacks.len(), 1);
    }
}

#[test]
fn a_client_stops_using_a_session_where_the_server_owner_changed() {
    for (major, expect) in [("another", vec!["client.owner-change"]), ("srv", vec![])] {
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(
                7,
                PNFS | ExchgId4Flags::CONFIRMED_R,
                major,
                0,
            )],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1)],
            vec![seq_ok_n(1, Seq4Status(0))],
        );
        let got: Vec<&str> = c
            .rules()
            .into_iter()
            .filter(|r| *r == "client.owner-change")
            .collect();
        assert_eq!(got, expect, "major id now {major}");
    }
}

#[test]
fn bind_conn_to_session_under_state_protection() {
    for (enforce, expect) in [
        (
            vec![41],
            vec!["client.state-protection-gss", "bcts.state-protection"],
        ),
        (vec![44], vec!["client.state-protection-gss"]),
    ] {
        let mut eid = exchange_id("c", 1, ExchgId4Flags(0));
        let ops = StateProtectOps4 {
            spo_must_enforce: Bitmap4::from_bits(&enforce),
            spo_must_allow: Bitmap4::default(),
        };
        if let NfsArgOp::ExchangeId(a) = &mut eid {
            a.eia_state_protect = StateProtect4A::MachCred(ops.clone());
        }
        let mut ok = exchange_id_ok(7, PNFS, "srv", 0);
        if let NfsResOp::ExchangeId(NfsRes::Ok(r)) = &mut ok {
            r.eir_state_protect = StateProtect4R::MachCred(ops);
        }
        let mut c = Conv::new();
        c.exchange(1, CLIENT, SERVER_A, vec![eid], vec![ok]);
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![create_session(7, 1, CreateSession4Flags(0))],
            vec![csess_ok(1, 1)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_A,
            vec![bcts(ChannelDirFromClient4::CDFC4_FORE)],
            vec![bcts_ok(ChannelDirFromServer4::CDFS4_FORE)],
        );
        assert_eq!(c.rules(), expect, "must enforce {enforce:?}");
    }
}

#[test]
fn an_empty_client_impl_id_is_not_refused() {
    let inval = || NfsResOp::ExchangeId(NfsRes::Fail(NfsStat4::NFS4ERR_INVAL));
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![inval()],
    );
    assert_eq!(c.rules(), vec!["exchid.empty-impl-id"]);
    // An undefined flag explains the refusal.
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![exchange_id("c", 1, ExchgId4Flags(0x800))],
        vec![inval()],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn lease_moved_stays_until_moved_was_returned() {
    let moved = Seq4Status::LEASE_MOVED;
    let flags = PNFS | ExchgId4Flags::SUPP_MOVED_MIGR;
    let mut c = Conv::new();
    session_at(
        &mut c,
        1,
        SERVER_A,
        7,
        1,
        exchange_id_ok(7, flags, "srv", 0),
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1)],
        vec![seq_ok_n(1, moved)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2)],
        vec![seq_ok_n(2, Seq4Status(0))],
    );
    assert_eq!(c.rules(), vec!["seq.lease-moved-stays"]);
    let mut c = Conv::new();
    session_at(
        &mut c,
        1,
        SERVER_A,
        7,
        1,
        exchange_id_ok(7, flags, "srv", 0),
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(1)],
        vec![seq_ok_n(1, moved)],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(2), NfsArgOp::Putrootfh(())],
        vec![
            seq_ok_n(2, moved),
            NfsResOp::Putrootfh(NfsStat4::NFS4ERR_MOVED),
        ],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![seq_n(3)],
        vec![seq_ok_n(3, Seq4Status(0))],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn fs_locations_of_an_absent_file_system_are_returned() {
    let flags = PNFS | ExchgId4Flags::SUPP_MOVED_REFER;
    for (attrs, expect) in [
        (vec![24], vec!["fsloc.getattr-absent"]),
        (vec![1, 24], vec![]),
    ] {
        let mut c = Conv::new();
        session_at(
            &mut c,
            1,
            SERVER_A,
            7,
            1,
            exchange_id_ok(7, flags, "srv", 0),
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                seq_n(1),
                NfsArgOp::Putrootfh(()),
                NfsArgOp::Getattr(Getattr4Args {
                    attr_request: Bitmap4::from_bits(&attrs),
                }),
            ],
            vec![
                seq_ok_n(1, Seq4Status(0)),
                NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
                NfsResOp::Getattr(NfsRes::Fail(NfsStat4::NFS4ERR_MOVED)),
            ],
        );
        assert_eq!(c.rules(), expect, "attributes {attrs:?}");
    }
}

#[test]
fn a_client_id_is_used_only_where_its_server_is() {
    // B declares another major id: client ID 7 of A is not B's.
    let mut c = with_session();
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(9, PNFS, "other", 0)],
    );
    c.exchange(
        2,
        CLIENT,
        SERVER_B,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![csess_ok(2, 2)],
    );
    assert_eq!(c.rules(), vec!["client.clientid-trunking"]);
    // Same major id (client-ID trunkable): fine.
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
        2,
        CLIENT,
        SERVER_B,
        vec![create_session(7, 2, CreateSession4Flags(0))],
        vec![csess_ok(2, 2)],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

#[test]
fn failover_reclaims_follow_the_server_scope() {
    let reclaim = || {
        open(OpenClaim4::Previous(
            OpenDelegationType4::OPEN_DELEGATE_NONE,
        ))
    };
    let run = |major: &str, scope: &str, status: NfsStat4| {
        let mut c = with_session();
        session_at(
            &mut c,
            2,
            SERVER_B,
            9,
            2,
            exchange_id_scoped(9, PNFS, major, scope),
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![seq_on(2, 1), reclaim()],
            vec![seq_on_ok(2, 1, Seq4Status(0)), open_res(status)],
        );
        c.rules()
    };
    // Another scope: the client should not reclaim there.
    assert_eq!(
        run("srv2", "scope-2", NfsStat4::NFS4ERR_NO_GRACE),
        vec!["client.failover-reclaim-scope"]
    );
    // Same scope, another owner: the server refuses with NO_GRACE, or is warned.
    assert_eq!(
        run("srv2", "scope-1", NfsStat4::NFS4ERR_NOTSUPP),
        vec!["server.failover-reclaim-refusal"]
    );
    assert!(run("srv2", "scope-1", NfsStat4::NFS4ERR_NO_GRACE).is_empty());
    assert!(run("srv2", "scope-1", NfsStat4::NFS4_OK).is_empty());
}

#[test]
fn a_callback_for_a_destroyed_session_may_be_refused() {
    let mut c = Conv::new();
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN)],
        vec![create_session_ok(
            1,
            1,
            CreateSession4Flags::CONN_BACK_CHAN,
            chan(1 << 20, 8, 16),
            chan(4096, 2, 1),
        )],
    );
    // A second session of the same client ID, also with a back channel on
    // this connection, stays.
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![create_session(7, 2, CreateSession4Flags::CONN_BACK_CHAN)],
        vec![create_session_ok(
            2,
            2,
            CreateSession4Flags::CONN_BACK_CHAN,
            chan(1 << 20, 8, 16),
            chan(4096, 2, 1),
        )],
    );
    c.exchange(
        1,
        CLIENT,
        SERVER_A,
        vec![NfsArgOp::DestroySession(DestroySession4Args {
            dsa_sessionid: SessionId4([1; 16]),
        })],
        vec![NfsResOp::DestroySession(NfsStat4::NFS4_OK)],
    );
    c.callback(
        1,
        NFS4_CALLBACK,
        vec![CbArgOp::CbSequence(CbSequence4Args {
            csa_sessionid: SessionId4([1; 16]),
            csa_sequenceid: 1,
            csa_slotid: 0,
            csa_highest_slotid: 0,
            csa_cachethis: false,
            csa_referring_call_lists: vec![],
        })],
    );
    c.callback_reply(
        1,
        vec![CbResOp::CbSequence(NfsRes::Fail(
            NfsStat4::NFS4ERR_BADSESSION,
        ))],
    );
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

/// EXCHANGE_ID for owner "c" (verifier 1) at `server` returning `clientid`.
fn exchange_id_at(c: &mut Conv, conn: u64, server: &str, clientid: u64) {
    c.exchange(
        conn,
        CLIENT,
        server,
        vec![exchange_id("c", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(clientid, PNFS, "srv", 0)],
    );
}

/// CREATE_SESSION confirming `clientid` at `server`, creating `session`.
fn confirm_at(c: &mut Conv, conn: u64, server: &str, clientid: u64, session: u8) {
    c.exchange(
        conn,
        CLIENT,
        server,
        vec![create_session(clientid, 1, CreateSession4Flags(0))],
        vec![create_session_ok(
            session,
            1,
            CreateSession4Flags(0),
            chan(1 << 20, 8, 16),
            chan(4096, 2, 1),
        )],
    );
}

#[test]
fn case_2_holds_only_for_the_principal_that_confirmed() {
    // RFC 8881 §18.35.4: the same owner and verifier from another principal
    // is case 3 (client collision), where a new client ID is legitimate;
    // from the same principal it is case 2 and must return the confirmed one.
    for other_principal in [true, false] {
        let mut c = Conv::new();
        c.as_sys("host-a", 0, 0, &[]);
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        if other_principal {
            c.as_sys("host-a", 1000, 1000, &[]);
        }
        exchange_id_at(&mut c, 1, SERVER_A, 8);
        if other_principal {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        } else {
            assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
            assert_eq!(c.x.sink.findings[0].frames, vec![2, 5, 6]);
        }
    }
}

#[test]
fn trunking_holds_only_for_the_principal_that_confirmed() {
    // The client ID confirmed at A belongs to its principal: another
    // principal presenting the same owner at B gets a new one (case 3).
    for other_principal in [true, false] {
        let mut c = Conv::new();
        c.as_sys("host-a", 0, 0, &[]);
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        if other_principal {
            c.as_sys("host-b", 0, 0, &[]);
        }
        exchange_id_at(&mut c, 2, SERVER_B, 9);
        if other_principal {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        } else {
            assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
        }
    }
}

#[test]
fn a_new_boot_epoch_at_one_address_is_a_restart_not_case_2() {
    // Ganesha and Linux put their boot time in the upper half of a client
    // ID: a new client ID with another upper half at the same address comes
    // from a restarted server that lost the confirmed record.
    const OLD: u64 = 0x5f00_0001_0000_0007;
    for (new, judged) in [
        (0x5f00_0002_0000_0001, false),
        (0x5f00_0001_0000_0008, true),
    ] {
        let mut c = Conv::new();
        exchange_id_at(&mut c, 1, SERVER_A, OLD);
        confirm_at(&mut c, 1, SERVER_A, OLD, 1);
        exchange_id_at(&mut c, 1, SERVER_A, new);
        if judged {
            assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
        } else {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        }
    }
    // Across addresses another epoch is what two independent servers
    // declaring one identity look like: still judged, unless the second
    // address itself issued client IDs of the first epoch before (then it
    // restarted).
    for b_issued_old_epoch in [false, true] {
        let mut c = Conv::new();
        if b_issued_old_epoch {
            c.exchange(
                3,
                "127.0.0.9:901",
                SERVER_B,
                vec![exchange_id("d", 1, ExchgId4Flags(0))],
                vec![exchange_id_ok(0x5f00_0001_0000_0002, PNFS, "srv", 0)],
            );
        }
        exchange_id_at(&mut c, 1, SERVER_A, OLD);
        confirm_at(&mut c, 1, SERVER_A, OLD, 1);
        exchange_id_at(&mut c, 2, SERVER_B, 0x6100_0000_0000_0001);
        if b_issued_old_epoch {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        } else {
            assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
        }
    }
}

#[test]
fn a_client_id_replaced_by_another_principals_is_not_case_2() {
    // P1 confirms 7; P2 presents the same owner and verifier, gets 9 (case
    // 3) and confirms it, which replaces 7. When P1 comes back the server's
    // confirmed record is P2's: case 3 again, a new client ID is right.
    // Without P2's confirmation 7 is still P1's record: case 2.
    for p2_confirms in [true, false] {
        let mut c = Conv::new();
        c.as_sys("host", 1, 1, &[]);
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        c.as_sys("host", 2, 2, &[]);
        exchange_id_at(&mut c, 1, SERVER_A, 9);
        if p2_confirms {
            confirm_at(&mut c, 1, SERVER_A, 9, 2);
        }
        c.as_sys("host", 1, 1, &[]);
        exchange_id_at(&mut c, 1, SERVER_A, 11);
        if p2_confirms {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        } else {
            assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
        }
    }
}

#[test]
fn principals_differing_only_in_groups_are_not_the_same() {
    // Linux nfsd compares the supplementary groups of AUTH_SYS credentials
    // (same_creds): another group list is another principal, case 3.
    for groups in [vec![10], vec![]] {
        let mut c = Conv::new();
        c.as_sys("host", 0, 0, &[]);
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        c.as_sys("host", 0, 0, &groups);
        exchange_id_at(&mut c, 1, SERVER_A, 8);
        if groups.is_empty() {
            assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
        } else {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        }
    }
}

#[test]
fn principals_of_an_undecoded_flavor_are_never_taken_for_the_same() {
    // AUTH_DH (flavor 3): the model does not read the body, so two callers
    // cannot be told apart; a new client ID is not judged as case 2.
    let mut c = Conv::new();
    c.cred = OpaqueAuth {
        flavor: analyzer::rpc::AuthFlavor(3),
        body: Opaque::from(b"alice".to_vec()),
    };
    exchange_id_at(&mut c, 1, SERVER_A, 7);
    confirm_at(&mut c, 1, SERVER_A, 7, 1);
    c.cred = OpaqueAuth {
        flavor: analyzer::rpc::AuthFlavor(3),
        body: Opaque::from(b"bob".to_vec()),
    };
    exchange_id_at(&mut c, 1, SERVER_A, 8);
    assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
}

/// Hits of the model bound named `name`.
fn hits(c: &Conv, name: &str) -> u64 {
    let all = c.x.sink.limit_hits();
    match all.iter().find(|h| h.name == name) {
        Some(h) => h.hits,
        None => panic!("no bound {name} in {all:?}"),
    }
}

#[test]
fn reaching_the_model_bounds_is_counted() {
    let mut c = Conv::with_limits(ModelLimits {
        max_pending: 1,
        max_entities: 1,
        max_events: 1,
    });
    for h in c.x.sink.limit_hits() {
        assert_eq!(h.hits, 0, "{h:?}");
    }
    // A call left unanswered is forgotten when the next one comes.
    c.unanswered_call(vec![NfsArgOp::Putrootfh(())]);
    // Two connections, owners, client IDs and sessions: one of each kept.
    exchange_id_at(&mut c, 1, SERVER_A, 7);
    confirm_at(&mut c, 1, SERVER_A, 7, 1);
    c.exchange(
        2,
        "127.0.0.1:901",
        SERVER_A,
        vec![exchange_id("d", 1, ExchgId4Flags(0))],
        vec![exchange_id_ok(9, PNFS, "srv", 0)],
    );
    confirm_at(&mut c, 2, SERVER_A, 9, 2);
    // Two recovery events: one kept.
    for _ in 0..2 {
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![sequence()],
            vec![NfsResOp::Sequence(NfsRes::Fail(NfsStat4::NFS4ERR_GRACE))],
        );
    }
    // Four findings at once (flags on both sides, pNFS role, and the
    // confirmed 7 back without CONFIRMED_R): one listed.
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
    let m = &c.x.sink;
    assert_eq!(
        (m.connections.len(), m.clients.len(), m.client_ids.len()),
        (1, 1, 1)
    );
    assert_eq!(
        (m.sessions.len(), m.recovery.len(), m.findings.len()),
        (1, 1, 1)
    );
    assert_eq!(hits(&c, "max_pending/calls"), 1);
    assert!(hits(&c, "max_entities/connections") >= 1);
    assert!(hits(&c, "max_entities/clients") >= 1);
    assert!(hits(&c, "max_entities/client_ids") >= 1);
    assert!(hits(&c, "max_entities/sessions") >= 1);
    assert_eq!(hits(&c, "max_events/recovery"), 1);
    assert_eq!(hits(&c, "max_events/findings"), 3, "{:?}", m.findings);
    assert_eq!(m.findings_dropped, 3);
    let limit = m.limit_hits().iter().map(|h| h.limit).max();
    assert_eq!(limit, Some(1), "the bounds in force are reported");
}

#[test]
fn a_lost_recovery_event_stops_restart_dependent_trunking_checks() {
    // max_events 2: a GRACE and a STALE_CLIENTID after the confirmed
    // record leave the second unrecorded. The restart it reveals may
    // explain the new client ID, so case 2 is not judged; with nothing
    // lost (no second event) it is.
    for lost in [true, false] {
        let mut c = Conv::with_limits(ModelLimits {
            max_events: 2,
            ..ModelLimits::default()
        });
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        let statuses: &[NfsStat4] = if lost {
            &[
                NfsStat4::NFS4ERR_GRACE,
                NfsStat4::NFS4ERR_GRACE,
                NfsStat4::NFS4ERR_STALE_CLIENTID,
            ]
        } else {
            &[NfsStat4::NFS4ERR_GRACE, NfsStat4::NFS4ERR_GRACE]
        };
        for st in statuses {
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![sequence()],
                vec![NfsResOp::Sequence(NfsRes::Fail(*st))],
            );
        }
        exchange_id_at(&mut c, 1, SERVER_A, 8);
        assert_eq!(hits(&c, "max_events/recovery"), u64::from(lost));
        if lost {
            assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings);
        } else {
            assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
        }
    }
}
