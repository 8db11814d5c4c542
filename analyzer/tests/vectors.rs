//! Real traffic, byte for byte: RPC messages captured from NFS-Ganesha 4.3
//! (our `captures/`), libnfs, and a Linux 3.17 client/server pair (the
//! nfstrace capture). Each must decode completely, give the field values
//! tshark shows for the same frame (`tests/vectors/README.md`), and re-encode
//! to exactly the captured bytes.

use analyzer::nfs4::*;
use analyzer::rpc::{Credential, MsgBody, RpcMessage};
use analyzer::xdr::{to_bytes, Xdr};

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses a COMPOUND call, checks the RPC header and the byte-exact re-encoding.
fn call(bytes: &[u8], xid: u32) -> (Credential<'_>, Compound4Args<'_>) {
    let (msg, payload) = RpcMessage::parse(bytes).expect("RPC header");
    assert_eq!(msg.xid, xid);
    let MsgBody::Call(ref c) = msg.body else {
        panic!("not a call")
    };
    assert_eq!(
        (c.rpcvers, c.prog, c.vers, c.procedure),
        (2, NFS4_PROGRAM, 4, 1)
    );
    let args: Compound4Args = payload.decode_all().expect("COMPOUND4args");
    assert_eq!(
        msg.to_bytes_with_payload(&to_bytes(&args)),
        bytes,
        "re-encoding differs"
    );
    let body = c
        .cred
        .body
        .as_borrowed()
        .expect("decoded bytes are borrowed");
    let cred = Credential::decode(c.cred.flavor, body).expect("credential");
    (cred, args)
}

/// Parses a COMPOUND reply, checks the byte-exact re-encoding.
fn reply(bytes: &[u8], xid: u32) -> Compound4Res<'_> {
    let (msg, payload) = RpcMessage::parse(bytes).expect("RPC header");
    assert_eq!(msg.xid, xid);
    assert!(msg.is_success(), "accepted SUCCESS reply");
    let res: Compound4Res = payload.decode_all().expect("COMPOUND4res");
    assert_eq!(
        msg.to_bytes_with_payload(&to_bytes(&res)),
        bytes,
        "re-encoding differs"
    );
    res
}

fn machine(cred: &Credential<'_>) -> (String, u32, u32) {
    match cred {
        Credential::Sys(p) => (
            String::from_utf8_lossy(p.machinename.as_bytes()).into_owned(),
            p.uid,
            p.gid,
        ),
        other => panic!("expected AUTH_SYS, got {other:?}"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn session(s: &str) -> SessionId4 {
    SessionId4(hex(s).try_into().unwrap())
}

fn only<'x, 'a>(ops: &'x [NfsArgOp<'a>]) -> &'x NfsArgOp<'a> {
    assert_eq!(ops.len(), 1, "a single-op COMPOUND");
    &ops[0]
}

#[test]
fn exchange_id_ganesha() {
    let b = load("exchange_id.call.bin");
    let (cred, args) = call(&b, 0x7c00_0002);
    assert_eq!(machine(&cred), ("trunkcheck-probe".into(), 0, 0));
    assert_eq!(args.minorversion, 1);
    assert_eq!(args.tag.as_bytes(), b"exchange_id");
    let NfsArgOp::ExchangeId(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.eia_clientowner.co_verifier, Verifier4(*b"tcprobe1"));
    assert_eq!(a.eia_clientowner.co_ownerid.as_bytes(), b"trunkcheck-probe");
    assert_eq!(a.eia_flags, ExchgId4Flags(0));
    assert_eq!(a.eia_state_protect, StateProtect4A::None);
    let id = &a.eia_client_impl_id[0];
    assert_eq!(id.nii_domain.as_bytes(), b"trunkcheck.invalid");
    assert_eq!(id.nii_name.as_bytes(), b"trunkcheck nfs41_probe");
    assert_eq!(id.nii_date.seconds, 1_700_000_000);

    let b = load("exchange_id.reply.bin");
    let res = reply(&b, 0x7c00_0002);
    assert_eq!(res.status, NfsStat4::NFS4_OK);
    let NfsResOp::ExchangeId(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!("{res:?}")
    };
    assert_eq!(r.eir_clientid, Clientid4(0x6b07_62f3_0000_0007));
    assert_eq!(r.eir_sequenceid, 1);
    assert_eq!(
        r.eir_flags,
        ExchgId4Flags::USE_PNFS_DS | ExchgId4Flags::USE_PNFS_MDS | ExchgId4Flags::SUPP_MOVED_REFER
    );
    assert_eq!(r.eir_state_protect, StateProtect4R::None);
    assert_eq!(r.eir_server_owner.so_minor_id, 0);
    assert_eq!(
        r.eir_server_owner.so_major_id.as_bytes(),
        b"trunkcheck-ganesha-a"
    );
    // Ganesha appends a NUL byte to the scope.
    assert_eq!(r.eir_server_scope.as_bytes(), b"trunkcheck-scope\0");
    assert!(r.eir_server_impl_id.is_empty(), "Ganesha sends no impl id");
}

#[test]
fn exchange_id_linux() {
    let b = load("exchange_id_linux.call.bin");
    let (cred, args) = call(&b, 0x3897_edc1);
    assert_eq!(machine(&cred).0, "epbyminw1584");
    let NfsArgOp::ExchangeId(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.eia_clientowner.co_verifier.hex(), "5494259d28ceb720");
    assert_eq!(
        a.eia_clientowner.co_ownerid.as_bytes(),
        b"Linux NFSv4.1 epbyminw1584"
    );
    assert_eq!(
        a.eia_flags,
        ExchgId4Flags::BIND_PRINC_STATEID | ExchgId4Flags::SUPP_MOVED_REFER
    );
    assert_eq!(a.eia_client_impl_id[0].nii_domain.as_bytes(), b"kernel.org");
    assert_eq!(
        a.eia_client_impl_id[0].nii_name.as_bytes(),
        b"Linux 3.17.1-pf #1 SMP PREEMPT Mon Dec 1 19:26:53 EET 2014 x86_64"
    );

    let b = load("exchange_id_linux.reply.bin");
    let res = reply(&b, 0x3897_edc1);
    let NfsResOp::ExchangeId(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!(r.eir_clientid, Clientid4(0x964c_9154_0300_0000));
    assert_eq!(r.eir_sequenceid, 1);
    assert_eq!(
        r.eir_flags,
        ExchgId4Flags::USE_NON_PNFS | ExchgId4Flags::SUPP_MOVED_REFER
    );
    assert_eq!(r.eir_server_owner.so_minor_id, 0);
    assert_eq!(
        r.eir_server_owner.so_major_id.as_bytes(),
        b"epbyminw1962t63.minsk.epam.com"
    );
    assert_eq!(
        r.eir_server_scope.as_bytes(),
        b"epbyminw1962t63.minsk.epam.com"
    );
}

fn check_chan(c: &ChannelAttrs4, v: [u32; 6]) {
    assert_eq!(
        [
            c.ca_headerpadsize,
            c.ca_maxrequestsize,
            c.ca_maxresponsesize,
            c.ca_maxresponsesize_cached,
            c.ca_maxoperations,
            c.ca_maxrequests
        ],
        v
    );
    assert!(c.ca_rdma_ird.is_empty());
}

#[test]
fn create_session_ganesha() {
    let b = load("create_session.call.bin");
    let (_, args) = call(&b, 0x7c00_0003);
    let NfsArgOp::CreateSession(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.csa_clientid, Clientid4(0x6b07_62f3_0000_0007));
    assert_eq!(a.csa_sequence, 1);
    assert_eq!(a.csa_flags, CreateSession4Flags::CONN_BACK_CHAN);
    check_chan(
        &a.csa_fore_chan_attrs,
        [0, 1_048_576, 1_048_576, 4096, 8, 16],
    );
    check_chan(&a.csa_back_chan_attrs, [0, 4096, 4096, 0, 2, 1]);
    assert_eq!(a.csa_cb_program, 0x4000_0000);
    assert_eq!(a.csa_sec_parms, vec![CallbackSecParms4::AuthNone]);

    let b = load("create_session.reply.bin");
    let res = reply(&b, 0x7c00_0003);
    let NfsResOp::CreateSession(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!(r.csr_sessionid, session("07000000f362076b0100000000000000"));
    assert_eq!(r.csr_sequence, 1);
    assert_eq!(r.csr_flags, CreateSession4Flags::CONN_BACK_CHAN);
    check_chan(
        &r.csr_fore_chan_attrs,
        [0, 1_048_576, 1_048_576, 4096, 8, 16],
    );
    check_chan(&r.csr_back_chan_attrs, [0, 4096, 4096, 0, 2, 1]);
}

#[test]
fn create_session_linux() {
    let b = load("create_session_linux.call.bin");
    let (_, args) = call(&b, 0x3997_edc1);
    let NfsArgOp::CreateSession(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.csa_clientid, Clientid4(0x964c_9154_0300_0000));
    assert_eq!(
        a.csa_flags,
        CreateSession4Flags::PERSIST | CreateSession4Flags::CONN_BACK_CHAN
    );
    check_chan(
        &a.csa_fore_chan_attrs,
        [0, 1_049_620, 1_049_480, 2532, 8, 64],
    );
    check_chan(&a.csa_back_chan_attrs, [0, 4096, 4096, 0, 2, 1]);
    let [CallbackSecParms4::AuthSys(sys)] = &a.csa_sec_parms[..] else {
        panic!("{:?}", a.csa_sec_parms)
    };
    assert_eq!(sys.stamp, 684_635_936);
    assert_eq!(sys.machinename.as_bytes(), b"10.6.136.104");
    assert_eq!((sys.uid, sys.gid), (0, 0));

    let b = load("create_session_linux.reply.bin");
    let res = reply(&b, 0x3997_edc1);
    let NfsResOp::CreateSession(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!(r.csr_sessionid, session("964c9154030000000200000000000000"));
    // The Linux server did not grant PERSIST.
    assert_eq!(r.csr_flags, CreateSession4Flags::CONN_BACK_CHAN);
    check_chan(&r.csr_fore_chan_attrs, [0, 69_632, 69_632, 1104, 8, 31]);
}

#[test]
fn bind_conn_to_session_ganesha() {
    let b = load("bind_conn_to_session.call.bin");
    let (_, args) = call(&b, 0x7c00_0006);
    let NfsArgOp::BindConnToSession(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.bctsa_sessid, session("07000000f362076b0100000000000000"));
    assert_eq!(a.bctsa_dir, ChannelDirFromClient4::CDFC4_FORE_OR_BOTH);
    assert!(!a.bctsa_use_conn_in_rdma_mode);

    let b = load("bind_conn_to_session.reply.bin");
    let res = reply(&b, 0x7c00_0006);
    let NfsResOp::BindConnToSession(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!(r.bctsr_sessid, a.bctsa_sessid);
    assert_eq!(r.bctsr_dir, ChannelDirFromServer4::CDFS4_BOTH);
    assert!(!r.bctsr_use_conn_in_rdma_mode);
}

#[test]
fn sequence_putrootfh_getattr_ganesha() {
    let b = load("sequence.call.bin");
    let (_, args) = call(&b, 0x7c00_0004);
    let names: Vec<_> = args.argarray.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["SEQUENCE", "PUTROOTFH", "GETATTR"]);
    let NfsArgOp::Sequence(s) = &args.argarray[0] else {
        panic!()
    };
    assert_eq!(s.sa_sessionid, session("07000000f362076b0100000000000000"));
    assert_eq!(
        (s.sa_sequenceid, s.sa_slotid, s.sa_highest_slotid),
        (1, 0, 0)
    );
    assert!(!s.sa_cachethis);
    let NfsArgOp::Getattr(g) = &args.argarray[2] else {
        panic!()
    };
    assert_eq!(g.attr_request.0, vec![0x0010_051f, 0x0080_0000]);

    let b = load("sequence.reply.bin");
    let res = reply(&b, 0x7c00_0004);
    let NfsResOp::Sequence(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!(
        (
            r.sr_sequenceid,
            r.sr_slotid,
            r.sr_highest_slotid,
            r.sr_target_highest_slotid
        ),
        (1, 0, 15, 15)
    );
    assert_eq!(r.sr_status_flags, Seq4Status(0));
    let NfsResOp::Getattr(NfsRes::Ok(g)) = &res.resarray[2] else {
        panic!()
    };
    let attrs = g.obj_attributes.decode_values();
    assert!(attrs.error.is_none() && attrs.unknown.is_none() && attrs.trailing == 0);
    assert_eq!(attrs.lease_time(), Some(5));
    let find = |n| attrs.get(n).cloned();
    use analyzer::nfs4::attr::AttrValue;
    assert_eq!(find(1), Some(AttrValue::Type(NfsFtype4::NF4DIR)));
    assert_eq!(find(3), Some(AttrValue::Change(1_795_646_195_578_590_233)));
    assert_eq!(find(4), Some(AttrValue::Size(0)));
    assert_eq!(
        find(8),
        Some(AttrValue::Fsid(Fsid4 {
            major: 152,
            minor: 152
        }))
    );
    assert_eq!(find(20), Some(AttrValue::Fileid(0)));
    assert_eq!(find(55), Some(AttrValue::MountedOnFileid(0)));
    let Some(AttrValue::SupportedAttrs(sup)) = find(0) else {
        panic!()
    };
    assert_eq!(sup.0, vec![0xfcff_afff, 0x40f9_be3e, 0x0000_0802]);
}

#[test]
fn sequence_getattr_linux() {
    let b = load("sequence_linux.call.bin");
    let (cred, args) = call(&b, 0x3c97_edc1);
    let Credential::Sys(sys) = &cred else {
        panic!()
    };
    assert_eq!(sys.gids, vec![0, 1, 2, 3, 4, 6, 10, 19, 108]);
    let NfsArgOp::Sequence(s) = &args.argarray[0] else {
        panic!()
    };
    assert_eq!(s.sa_sequenceid, 3);

    let b = load("sequence_linux.reply.bin");
    let res = reply(&b, 0x3c97_edc1);
    let NfsResOp::Sequence(NfsRes::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!((r.sr_highest_slotid, r.sr_target_highest_slotid), (30, 30));
    let getfh_or_attr: Vec<_> = res
        .resarray
        .iter()
        .map(|r| (r.name(), r.status()))
        .collect();
    assert!(
        getfh_or_attr.iter().all(|(_, s)| s.is_ok()),
        "{getfh_or_attr:?}"
    );
    let g = res
        .resarray
        .iter()
        .find_map(|r| match r {
            NfsResOp::Getattr(NfsRes::Ok(g)) => Some(g),
            _ => None,
        })
        .expect("GETATTR result");
    let attrs = g.obj_attributes.decode_values();
    use analyzer::nfs4::attr::AttrValue;
    assert_eq!(attrs.get(33), Some(&AttrValue::Mode(0o755)));
    assert_eq!(attrs.get(35), Some(&AttrValue::Numlinks(17)));
    assert_eq!(attrs.get(36), Some(&AttrValue::Owner("0".into())));
    assert_eq!(
        attrs.get(53),
        Some(&AttrValue::TimeModify(Nfstime4 {
            seconds: 1_418_808_377,
            nseconds: 570_124_347
        }))
    );
}

#[test]
fn setclientid_libnfs_ganesha() {
    let b = load("setclientid.call.bin");
    let (cred, args) = call(&b, 0x1a50_e7cc);
    assert_eq!(machine(&cred).0, "libnfs");
    assert_eq!(args.minorversion, 0);
    let NfsArgOp::Setclientid(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.client.verifier.hex(), "251a0000cbe72b00");
    assert_eq!(a.client.id.as_bytes(), b"Libnfs pid:6693 1795646196");
    assert_eq!(a.callback.cb_program, 0);
    assert_eq!(a.callback.cb_location.na_r_netid.as_bytes(), b"tcp");
    assert_eq!(a.callback.cb_location.na_r_addr.as_bytes(), b"0.0.0.0.0.0");
    assert_eq!(a.callback_ident, 1);

    let b = load("setclientid.reply.bin");
    let res = reply(&b, 0x1a50_e7cc);
    let NfsResOp::Setclientid(Setclientid4Res::Ok(r)) = &res.resarray[0] else {
        panic!()
    };
    assert_eq!(r.clientid, Clientid4(0x6b07_62f3_0000_0003));
    assert_eq!(r.setclientid_confirm.hex(), "0300000000000000");
}

#[test]
fn setclientid_confirm_libnfs_ganesha() {
    let b = load("setclientid_confirm.call.bin");
    let (_, args) = call(&b, 0x1a50_e7cd);
    let NfsArgOp::SetclientidConfirm(a) = only(&args.argarray) else {
        panic!()
    };
    assert_eq!(a.clientid, Clientid4(0x6b07_62f3_0000_0003));
    assert_eq!(a.setclientid_confirm.hex(), "0300000000000000");

    let b = load("setclientid_confirm.reply.bin");
    let res = reply(&b, 0x1a50_e7cd);
    assert_eq!(res.resarray.len(), 1);
    assert_eq!(res.resarray[0].status(), NfsStat4::NFS4_OK);
    assert_eq!(res.resarray[0].name(), "SETCLIENTID_CONFIRM");
}

#[test]
fn every_truncation_of_real_messages_is_an_error_not_a_panic() {
    use analyzer::xdr::Reader;
    for (name, is_call) in [
        ("exchange_id.call.bin", true),
        ("exchange_id.reply.bin", false),
        ("create_session_linux.call.bin", true),
        ("sequence_linux.reply.bin", false),
        ("setclientid.call.bin", true),
        ("sequence.reply.bin", false),
    ] {
        let b = load(name);
        let (_, payload) = RpcMessage::parse(&b).unwrap();
        let body = payload.bytes;
        let full_ops = if is_call {
            Compound4Args::decode(&mut Reader::new(body))
                .unwrap()
                .argarray
                .len()
        } else {
            Compound4Res::decode(&mut Reader::new(body))
                .unwrap()
                .resarray
                .len()
        };
        for cut in 0..body.len() {
            let part = &body[..cut];
            let (strict_ok, partial_ops) = if is_call {
                let p = Compound4Args::decode_partial(&mut Reader::new(part));
                (
                    Compound4Args::decode(&mut Reader::new(part)).is_ok(),
                    p.map(|p| p.value.argarray.len()).unwrap_or(0),
                )
            } else {
                let p = Compound4Res::decode_partial(&mut Reader::new(part));
                (
                    Compound4Res::decode(&mut Reader::new(part)).is_ok(),
                    p.map(|p| p.value.resarray.len()).unwrap_or(0),
                )
            };
            assert!(
                !strict_ok,
                "{name}: a {cut}-byte prefix decoded as complete"
            );
            assert!(
                partial_ops < full_ops,
                "{name}: prefix {cut} kept too many ops"
            );
        }
    }
}

/// The JSON form of real messages is valid JSON with the fields named and
/// shown as documented (RFC names, hex ids, escaped text).
#[test]
fn json_of_real_messages() {
    use analyzer::xdr::ToJson;
    let b = load("exchange_id.reply.bin");
    let res = reply(&b, 0x7c00_0002);
    let v: serde_json::Value = serde_json::from_str(&res.to_json_string()).expect("valid JSON");
    let op = &v["resarray"][0];
    assert_eq!(op["op"], "EXCHANGE_ID");
    assert_eq!(op["status"], "NFS4_OK");
    let r = &op["res"];
    assert_eq!(r["eir_clientid"], "0x6b0762f300000007");
    assert_eq!(r["eir_flags"], "SUPP_MOVED_REFER|USE_PNFS_MDS|USE_PNFS_DS");
    assert_eq!(r["eir_state_protect"], "SP4_NONE");
    assert_eq!(r["eir_server_owner"]["so_major_id"], "trunkcheck-ganesha-a");
    assert_eq!(r["eir_server_owner"]["so_minor_id"], 0);
    assert_eq!(r["eir_server_scope"], "trunkcheck-scope\\x00");

    let b = load("sequence.reply.bin");
    let res = reply(&b, 0x7c00_0004);
    let v: serde_json::Value = serde_json::from_str(&res.to_json_string()).expect("valid JSON");
    let attrs = &v["resarray"][2]["res"]["obj_attributes"];
    assert_eq!(attrs["values"]["lease_time"], 5);
    assert_eq!(attrs["values"]["type"], "NF4DIR");
    assert_eq!(attrs["values"]["fsid"]["major"], 152);
    assert_eq!(
        v["resarray"][0]["res"]["sr_sessionid"],
        "07000000f362076b0100000000000000"
    );

    let b = load("create_session_linux.call.bin");
    let (_, args) = call(&b, 0x3997_edc1);
    let v: serde_json::Value = serde_json::from_str(&args.to_json_string()).expect("valid JSON");
    let a = &v["argarray"][0]["args"];
    assert_eq!(a["csa_flags"], "PERSIST|CONN_BACK_CHAN");
    assert_eq!(
        a["csa_sec_parms"][0]["AUTH_SYS"]["machinename"],
        "10.6.136.104"
    );
}
