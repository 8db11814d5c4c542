//! Building conversations for the rules' tests: calls and replies encoded
//! with the codec, fed through call/reply matching into an [`Analysis`], so
//! that each rule is tested on the exchange that breaks it and on its
//! conformant twin.
#![allow(dead_code)]

pub(crate) use crate::capture::packet::Timestamp;
pub(crate) use crate::exchange::{ExchangeLimits, Exchanges};
pub(crate) use crate::model::ModelLimits;
pub(crate) use crate::nfs4::attr::AttrValue;
pub(crate) use crate::nfs4::*;
pub(crate) use crate::rpc::stream::{RecordRef, RecordSink};
pub(crate) use crate::rpc::{AuthSysParms, OpaqueAuth, RpcMessage};
pub(crate) use crate::rules::Analysis;
pub(crate) use crate::tcp::flow::{ConnId, ConnInfo, Direction};
pub(crate) use crate::xdr::{to_bytes, Opaque};
pub(crate) use std::net::SocketAddr;

/// A conversation: calls and replies on chosen connections, frames counted.
pub(crate) struct Conv {
    pub(crate) x: Exchanges<Analysis>,
    pub(crate) frame: u64,
    pub(crate) xid: u32,
    /// Capture time of the next frames.
    pub(crate) ts: Timestamp,
    /// COMPOUND minor version of the next calls.
    pub(crate) minor: u32,
    /// The TCP layer took the client for the server (a capture starting
    /// mid-stream on an unusual port): every record's direction and the
    /// connection's roles are swapped.
    pub(crate) mislabelled: bool,
    /// Credential of the next calls (AUTH_NONE unless set).
    pub(crate) cred: OpaqueAuth<'static>,
}

pub(crate) const CLIENT: &str = "127.0.0.1:900";
pub(crate) const SERVER_A: &str = "127.0.0.2:2049";
pub(crate) const SERVER_B: &str = "127.0.0.3:2049";

impl Conv {
    pub(crate) fn new() -> Self {
        Conv::with_limits(ModelLimits::default())
    }

    /// A conversation whose model has these bounds.
    pub(crate) fn with_limits(limits: ModelLimits) -> Self {
        Conv {
            x: Exchanges::new(ExchangeLimits::default(), Analysis::new(limits).complete()),
            frame: 0,
            xid: 0x1000,
            ts: Timestamp::default(),
            minor: 1,
            cred: OpaqueAuth::none(),
            mislabelled: false,
        }
    }

    /// The next calls are made as this AUTH_SYS principal.
    pub(crate) fn as_sys(&mut self, machine: &str, uid: u32, gid: u32, gids: &[u32]) {
        self.cred = OpaqueAuth::sys(&AuthSysParms {
            stamp: 1,
            machinename: Opaque::from(machine.to_string()),
            uid,
            gid,
            gids: gids.to_vec(),
        });
    }

    pub(crate) fn record(
        &mut self,
        conn: u64,
        client: &str,
        server: &str,
        dir: Direction,
        bytes: &[u8],
    ) {
        self.frame += 1;
        let (client, server, dir) = if self.mislabelled {
            (server, client, dir.reverse())
        } else {
            (client, server, dir)
        };
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

    /// The next calls are made under RPCSEC_GSS_DATA with this context
    /// handle and service.
    pub(crate) fn as_gss(&mut self, handle: &[u8], service: crate::rpc::RpcGssService) {
        self.cred = gss_cred(crate::rpc::RpcGssProc::RPCSEC_GSS_DATA, handle, service);
    }

    /// An RPCSEC_GSS context creation on connection `conn` to `server`: a
    /// NULL call with a `gss_proc` credential (carrying `call_handle`) and
    /// `token`, answered with `handle` and `gss_major` (no reply when
    /// `handle` is `None`). The next calls' credential is kept.
    pub(crate) fn gss_init(
        &mut self,
        conn: u64,
        server: &str,
        gss_proc: crate::rpc::RpcGssProc,
        call_handle: &[u8],
        token: &[u8],
        reply: Option<(&[u8], u32)>,
    ) {
        use crate::rpc::auth::{RpcGssInitArg, RpcGssInitRes};
        use crate::rpc::RpcGssService;
        self.xid += 1;
        let cred = gss_cred(gss_proc, call_handle, RpcGssService::rpc_gss_svc_integrity);
        let arg = RpcGssInitArg {
            gss_token: Opaque::from(token.to_vec()),
        };
        let c = RpcMessage::call(self.xid, NFS4_PROGRAM, 4, 0, cred, OpaqueAuth::none())
            .to_bytes_with_payload(&to_bytes(&arg));
        self.record(conn, CLIENT, server, Direction::ToServer, &c);
        let Some((handle, gss_major)) = reply else {
            return;
        };
        let res = RpcGssInitRes {
            handle: Opaque::from(handle.to_vec()),
            gss_major,
            gss_minor: 0,
            seq_window: 128,
            gss_token: Opaque::from(vec![
                0x60, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
            ]),
        };
        let r = RpcMessage::success_reply(self.xid, OpaqueAuth::none())
            .to_bytes_with_payload(&to_bytes(&res));
        self.record(conn, CLIENT, server, Direction::ToClient, &r);
    }

    /// Bytes lost from connection `conn` (a TCP gap the capture shows).
    pub(crate) fn lose_bytes(&mut self, conn: u64) {
        use crate::exchange::{MessageSink, Notice};
        use crate::rpc::stream::{NoticeKind, StreamNotice};
        self.frame += 1;
        self.x.sink.notice(&Notice::Stream(StreamNotice {
            conn: ConnId(conn),
            dir: Direction::ToServer,
            frame: self.frame,
            what: NoticeKind::Gap {
                offset: 0,
                len: 100,
            },
        }));
    }

    /// A COMPOUND call on connection 1 that gets no reply.
    pub(crate) fn unanswered_call(&mut self, args: Vec<NfsArgOp<'static>>) {
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

    /// One operation from CLIENT on connection `conn` to `server`, answered
    /// with `res` (a COMPOUND of one operation each way).
    pub(crate) fn op(
        &mut self,
        conn: u64,
        server: &str,
        arg: NfsArgOp<'static>,
        res: NfsResOp<'static>,
    ) {
        self.exchange(conn, CLIENT, server, vec![arg], vec![res]);
    }

    /// EXCHANGE_ID of `owner` with this verifier byte and no flags, from
    /// CLIENT on connection `conn` to `server`, answered with `reply`.
    pub(crate) fn eid(
        &mut self,
        conn: u64,
        server: &str,
        owner: &str,
        verifier: u8,
        reply: NfsResOp<'static>,
    ) {
        self.exchange(
            conn,
            CLIENT,
            server,
            vec![exchange_id(owner, verifier, ExchgId4Flags(0))],
            vec![reply],
        );
    }

    /// One COMPOUND exchange on connection `conn` between `client` and `server`.
    pub(crate) fn exchange(
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
        .to_bytes_with_payload(&self.protect(to_bytes(&call)));
        let r = RpcMessage::success_reply(self.xid, OpaqueAuth::none())
            .to_bytes_with_payload(&self.protect(to_bytes(&reply)));
        self.record(conn, client, server, Direction::ToServer, &c);
        self.record(conn, client, server, Direction::ToClient, &r);
    }

    /// A COMPOUND body as the credential sends it: under RPCSEC_GSS with
    /// integrity, wrapped as `rpc_gss_integ_data` (sequence number and body,
    /// then a checksum the analyzer does not verify).
    fn protect(&self, body: Vec<u8>) -> Vec<u8> {
        use crate::rpc::{Credential, RpcGssCred, RpcGssService};
        let integrity = Credential::decode(self.cred.flavor, self.cred.body.as_bytes())
            .ok()
            .is_some_and(|c| {
                matches!(c, Credential::Gss(RpcGssCred::Vers1(g))
                    if g.service == RpcGssService::rpc_gss_svc_integrity)
            });
        if !integrity {
            return body;
        }
        let mut data = 1u32.to_be_bytes().to_vec();
        data.extend_from_slice(&body);
        let mut out = to_bytes(&Opaque::from(data));
        out.extend(to_bytes(&Opaque::from(vec![0u8; 4])));
        out
    }

    /// A CB_COMPOUND call from the server on connection `conn`, on `prog`.
    pub(crate) fn callback(&mut self, conn: u64, prog: u32, args: Vec<CbArgOp<'static>>) {
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
    pub(crate) fn callback_reply(&mut self, conn: u64, res: Vec<CbResOp<'static>>) {
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

    /// The rule ids found, once the conversation ends (what waited for
    /// evidence is judged).
    pub(crate) fn rules(&mut self) -> Vec<&'static str> {
        use crate::exchange::MessageSink;
        self.x.sink.finish();
        self.x.sink.findings().iter().map(|f| f.rule.id).collect()
    }

    /// A conversation of a capture that is not declared complete.
    pub(crate) fn partial() -> Self {
        let mut c = Conv::new();
        c.x = Exchanges::new(
            ExchangeLimits::default(),
            Analysis::new(ModelLimits::default()),
        );
        c
    }
}

/// An RPCSEC_GSS credential.
pub(crate) fn gss_cred(
    gss_proc: crate::rpc::RpcGssProc,
    handle: &[u8],
    service: crate::rpc::RpcGssService,
) -> OpaqueAuth<'static> {
    use crate::rpc::{Credential, RpcGssCred, RpcGssCredVers1};
    Credential::Gss(RpcGssCred::Vers1(RpcGssCredVers1 {
        gss_proc,
        seq_num: 1,
        service,
        handle: Opaque::from(handle.to_vec()),
    }))
    .to_opaque_auth()
}

pub(crate) fn exchange_id(owner: &str, verifier: u8, flags: ExchgId4Flags) -> NfsArgOp<'static> {
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

pub(crate) fn exchange_id_ok(
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

pub(crate) fn chan(max_req: u32, maxops: u32, maxreqs: u32) -> ChannelAttrs4 {
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

pub(crate) fn create_session(
    clientid: u64,
    seq: u32,
    flags: CreateSession4Flags,
) -> NfsArgOp<'static> {
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

pub(crate) fn create_session_ok(
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

pub(crate) const PNFS: ExchgId4Flags = ExchgId4Flags(0x0002_0000 | 0x0004_0000);

pub(crate) fn bcts(dir: ChannelDirFromClient4) -> NfsArgOp<'static> {
    NfsArgOp::BindConnToSession(BindConnToSession4Args {
        bctsa_sessid: SessionId4([1; 16]),
        bctsa_dir: dir,
        bctsa_use_conn_in_rdma_mode: false,
    })
}

pub(crate) fn bcts_ok(dir: ChannelDirFromServer4) -> NfsResOp<'static> {
    NfsResOp::BindConnToSession(NfsRes::Ok(BindConnToSession4ResOk {
        bctsr_sessid: SessionId4([1; 16]),
        bctsr_dir: dir,
        bctsr_use_conn_in_rdma_mode: false,
    }))
}

pub(crate) fn sequence() -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: SessionId4([1; 16]),
        sa_sequenceid: 1,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
    })
}

pub(crate) fn sequence_ok() -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Ok(Sequence4ResOk {
        sr_sessionid: SessionId4([1; 16]),
        sr_sequenceid: 1,
        sr_slotid: 0,
        sr_highest_slotid: 0,
        sr_target_highest_slotid: 0,
        sr_status_flags: Seq4Status(0),
    }))
}

pub(crate) fn seq_n(seqid: u32) -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: SessionId4([1; 16]),
        sa_sequenceid: seqid,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
    })
}

pub(crate) fn seq_ok_n(seqid: u32, flags: Seq4Status) -> NfsResOp<'static> {
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
pub(crate) fn with_session() -> Conv {
    let mut c = Conv::new();
    c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
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

pub(crate) fn reclaim_complete() -> NfsArgOp<'static> {
    NfsArgOp::ReclaimComplete(ReclaimComplete4Args { rca_one_fs: false })
}

pub(crate) fn open(claim: OpenClaim4<'static>) -> NfsArgOp<'static> {
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

pub(crate) fn open_res(status: NfsStat4) -> NfsResOp<'static> {
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

pub(crate) fn setclientid(id: &str) -> NfsArgOp<'static> {
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

pub(crate) fn setclientid_ok(clientid: u64, confirm: u8) -> NfsResOp<'static> {
    NfsResOp::Setclientid(Setclientid4Res::Ok(Setclientid4ResOk {
        clientid: Clientid4(clientid),
        setclientid_confirm: Verifier4([confirm; 8]),
    }))
}

pub(crate) fn confirm(clientid: u64, confirm: u8) -> NfsArgOp<'static> {
    NfsArgOp::SetclientidConfirm(SetclientidConfirm4Args {
        clientid: Clientid4(clientid),
        setclientid_confirm: Verifier4([confirm; 8]),
    })
}

// ---- Client ID and session life: sequence, leases, restarts (issue 4) ----

pub(crate) fn seq_on(session: u8, seqid: u32) -> NfsArgOp<'static> {
    NfsArgOp::Sequence(Sequence4Args {
        sa_sessionid: SessionId4([session; 16]),
        sa_sequenceid: seqid,
        sa_slotid: 0,
        sa_highest_slotid: 0,
        sa_cachethis: false,
    })
}

pub(crate) fn seq_on_ok(session: u8, seqid: u32, flags: Seq4Status) -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Ok(Sequence4ResOk {
        sr_sessionid: SessionId4([session; 16]),
        sr_sequenceid: seqid,
        sr_slotid: 0,
        sr_highest_slotid: 0,
        sr_target_highest_slotid: 0,
        sr_status_flags: flags,
    }))
}

pub(crate) fn seq_fail(st: NfsStat4) -> NfsResOp<'static> {
    NfsResOp::Sequence(NfsRes::Fail(st))
}

pub(crate) fn exchange_id_scoped(
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

pub(crate) fn csess_ok(session: u8, seq: u32) -> NfsResOp<'static> {
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
pub(crate) fn session_at(
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

pub(crate) fn getattr_lease(conn: u64, c: &mut Conv, lease: u32) {
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

pub(crate) fn setclientid_v(id: &str, verifier: u8) -> NfsArgOp<'static> {
    let mut a = setclientid(id);
    if let NfsArgOp::Setclientid(s) = &mut a {
        s.client.verifier = Verifier4([verifier; 8]);
    }
    a
}

pub(crate) fn renew(conn: u64, c: &mut Conv, st: NfsStat4) {
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
pub(crate) fn v40_client() -> Conv {
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

/// EXCHANGE_ID for owner "c" (verifier 1) at `server` returning `clientid`.
pub(crate) fn exchange_id_at(c: &mut Conv, conn: u64, server: &str, clientid: u64) {
    c.eid(
        conn,
        server,
        "c",
        1,
        exchange_id_ok(clientid, PNFS, "srv", 0),
    );
}

/// CREATE_SESSION confirming `clientid` at `server`, creating `session`.
pub(crate) fn confirm_at(c: &mut Conv, conn: u64, server: &str, clientid: u64, session: u8) {
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

/// Hits of the model bound named `name`.
pub(crate) fn hits(c: &Conv, name: &str) -> u64 {
    let all = c.x.sink.limit_hits();
    match all.iter().find(|h| h.name == name) {
        Some(h) => h.hits,
        None => panic!("no bound {name} in {all:?}"),
    }
}
