//! The model's RPCSEC_GSS facts: contexts and the target principal their
//! creation named, the EXCHANGE_IDs that used them, what each address is
//! known by; and the rules see none of it.

use crate::rpc::gss_token::tests::krb5_token_for;
use crate::rpc::{RpcGssProc, RpcGssService};
use crate::rules::testkit::*;

const INIT: RpcGssProc = RpcGssProc::RPCSEC_GSS_INIT;
const INTEGRITY: RpcGssService = RpcGssService::rpc_gss_svc_integrity;

fn srv_token() -> Vec<u8> {
    krb5_token_for(&["nfs", "srv.example"], "EXAMPLE")
}

#[test]
fn a_context_names_its_target_and_the_exchange_id_that_used_it() {
    let mut c = Conv::new();
    c.gss_init(1, SERVER_A, INIT, b"", &srv_token(), Some((b"h1", 0)));
    c.as_gss(b"h1", INTEGRITY);
    exchange_id_at(&mut c, 1, SERVER_A, 7);
    assert_eq!(c.rules(), Vec::<&str>::new());
    let m = c.x.sink.model();
    assert_eq!(m.gss_contexts.len(), 1);
    let ctx = &m.gss_contexts[0];
    assert_eq!(ctx.handle, b"h1");
    assert_eq!(ctx.server, SERVER_A.parse().unwrap());
    let target = ctx.target().map(|t| t.to_string());
    assert_eq!(target.as_deref(), Some("nfs/srv.example@EXAMPLE"));
    let creation = ctx.creation.as_ref().expect("creation captured");
    assert_eq!((creation.init_frame, creation.reply_frame), (1, 2));
    assert_eq!(creation.established_frame, Some(2));
    assert_eq!(creation.mech_text().as_deref(), Some("krb5"));
    assert_eq!(
        creation.acceptor_mech,
        Some(crate::rpc::gss_token::Mech::Krb5)
    );
    assert_eq!(ctx.services, vec![INTEGRITY]);
    assert_eq!(
        (ctx.first_use, ctx.last_use, ctx.calls),
        (Some(3), Some(3), 1)
    );
    let r = &m.client_ids[0];
    let u = r.exchange_id_gss.as_ref().expect("EXCHANGE_ID under GSS");
    assert_eq!((u.service, u.context), (INTEGRITY, Some(0)));
    assert_eq!(r.protection_asked.map(|p| p.1), Some(true));
    let ep = &m.endpoints[&SERVER_A.parse().unwrap()];
    assert_eq!(ep.gss_targets.len(), 1);
    assert_eq!(ep.gss_targets[0].target, ctx.target().cloned());
    assert_eq!(ep.gss_targets[0].replies, 1);
}

#[test]
fn addresses_of_one_server_are_known_by_their_target_principals() {
    // A context created at A, used at B (which declares the same server):
    // B is known by A's target; a context created at B names its own.
    let mut c = Conv::new();
    c.gss_init(1, SERVER_A, INIT, b"", &srv_token(), Some((b"h1", 0)));
    c.as_gss(b"h1", INTEGRITY);
    exchange_id_at(&mut c, 1, SERVER_A, 7);
    exchange_id_at(&mut c, 2, SERVER_B, 7);
    let other = krb5_token_for(&["nfs", "other.example"], "EXAMPLE");
    c.gss_init(3, SERVER_B, INIT, b"", &other, Some((b"h2", 0)));
    c.as_gss(b"h2", INTEGRITY);
    exchange_id_at(&mut c, 3, SERVER_B, 7);
    let m = c.x.sink.model();
    let targets = |addr: &str| -> Vec<Option<String>> {
        m.endpoints[&addr.parse().unwrap()]
            .gss_targets
            .iter()
            .map(|t| t.target.as_ref().map(|p| p.to_string()))
            .collect()
    };
    assert_eq!(
        targets(SERVER_A),
        vec![Some("nfs/srv.example@EXAMPLE".into())]
    );
    assert_eq!(
        targets(SERVER_B),
        vec![
            Some("nfs/srv.example@EXAMPLE".into()),
            Some("nfs/other.example@EXAMPLE".into())
        ]
    );
    assert_eq!(m.gss_contexts.len(), 2, "a use at B is not a new context");
    // The call at B came before B declared its server: its use of h1 is
    // not attributed (nothing is, by handle alone); its EXCHANGE_ID's
    // answer, which declares it, is.
    assert_eq!(m.gss_contexts[0].calls, 1);
}

#[test]
fn a_context_whose_creation_is_not_captured_has_no_target() {
    let mut c = Conv::new();
    c.as_gss(b"h9", INTEGRITY);
    exchange_id_at(&mut c, 1, SERVER_A, 7);
    let m = c.x.sink.model();
    assert_eq!(m.gss_contexts.len(), 1);
    assert!(m.gss_contexts[0].creation.is_none());
    assert_eq!(m.gss_contexts[0].target(), None);
    let ep = &m.endpoints[&SERVER_A.parse().unwrap()];
    assert_eq!(ep.gss_targets[0].target, None);
    let u = m.client_ids[0].exchange_id_gss.as_ref().expect("GSS use");
    assert_eq!(u.context, Some(0));
}

#[test]
fn continue_init_completes_the_context_it_names() {
    let mut c = Conv::new();
    c.gss_init(1, SERVER_A, INIT, b"", &srv_token(), Some((b"h1", 1)));
    c.gss_init(
        1,
        SERVER_A,
        RpcGssProc::RPCSEC_GSS_CONTINUE_INIT,
        b"h1",
        &[0xa1, 0x00],
        Some((b"h1", 0)),
    );
    // An INIT the server refused (no reply here) makes no context.
    c.gss_init(1, SERVER_A, INIT, b"", &srv_token(), None);
    let m = c.x.sink.model();
    assert_eq!(m.gss_contexts.len(), 1);
    let creation = m.gss_contexts[0].creation.as_ref().expect("creation");
    assert_eq!((creation.init_frame, creation.reply_frame), (1, 4));
    assert_eq!(
        (creation.gss_major, creation.established_frame),
        (0, Some(4))
    );
    assert!(creation.target().is_some(), "the INIT's target stays");
}

#[test]
fn a_token_that_names_no_target_says_why() {
    let mut c = Conv::new();
    c.gss_init(
        1,
        SERVER_A,
        INIT,
        b"",
        &[0x60, 0x84, 0xff],
        Some((b"h1", 0)),
    );
    let m = c.x.sink.model();
    let creation = m.gss_contexts[0].creation.as_ref().expect("creation");
    assert!(creation.token.is_err());
    assert_eq!(creation.mech_text().as_deref(), Some("krb5"), "the reply's");
}

#[test]
fn contexts_are_bounded() {
    let mut c = Conv::with_limits(ModelLimits {
        max_entities: 2,
        ..Default::default()
    });
    for h in [b"h1", b"h2", b"h3"] {
        c.gss_init(1, SERVER_A, INIT, b"", &srv_token(), Some((h, 0)));
    }
    assert_eq!(c.x.sink.model().gss_contexts.len(), 2);
    assert_eq!(hits(&c, "max_entities/gss_contexts"), 1);
}

#[test]
fn gss_facts_change_no_finding_and_not_the_end_of_the_capture() {
    // The same conversation with and without context creations around
    // it: the same findings (an SP4_MACH_CRED request refused, under
    // krb5i), judged at the same place.
    let run = |with_init: bool| {
        let mut c = Conv::new();
        if with_init {
            c.gss_init(1, SERVER_A, INIT, b"", &srv_token(), Some((b"h1", 0)));
        }
        c.as_gss(b"h1", INTEGRITY);
        let mut eid = exchange_id("c", 1, ExchgId4Flags(0));
        if let NfsArgOp::ExchangeId(a) = &mut eid {
            a.eia_state_protect = StateProtect4A::MachCred(StateProtectOps4 {
                spo_must_enforce: Bitmap4::from_bits(&[41]),
                spo_must_allow: Bitmap4::default(),
            });
        }
        c.op(1, SERVER_A, eid, exchange_id_ok(7, PNFS, "srv", 0));
        if with_init {
            c.gss_init(2, SERVER_A, INIT, b"", &srv_token(), Some((b"h2", 0)));
        }
        let rules = c.rules();
        let frames: Vec<Vec<u64>> =
            c.x.sink
                .findings()
                .iter()
                .map(|f| f.frames.clone())
                .collect();
        (rules, frames)
    };
    let (with, without) = (run(true), run(false));
    assert_eq!(with.0, vec!["exchid.must-enforce"]);
    assert_eq!(with.0, without.0);
    // Frames are numbered from the first record: two more before.
    let shifted: Vec<Vec<u64>> = without
        .1
        .iter()
        .map(|f| f.iter().map(|n| n + 2).collect())
        .collect();
    assert_eq!(with.1, shifted);
}
