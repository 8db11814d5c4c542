//! State protection (RFC 8881 §18.35.3, §2.10.5.1): what a client may ask
//! for and under which credential, what a server must grant, and
//! BIND_CONN_TO_SESSION under SP4_SSV or an enforcing SP4_MACH_CRED.

use super::{Check, Judge, Violation};
use crate::model::event::{CallOp, Event, Protection};
use crate::nfs4::{ExchangeId4ResOk, NfsOpnum4, SessionId4, StateProtect4R, StateProtectHow4};

rules! {
    EXCHID_MUST_ENFORCE: "exchid.must-enforce", "RFC 8881 §18.35.3", [37], Violation, Server, [],
        "with SP4_MACH_CRED or SP4_SSV, spo_must_enforce in the reply holds every requested op of EXCHANGE_ID, CREATE_SESSION, DELEGPURGE, DESTROY_SESSION, BIND_CONN_TO_SESSION, DESTROY_CLIENTID";
    CLIENT_PROTECTION_GSS: "client.state-protection-gss", "RFC 8881 §18.35.3", [39], Violation, Client, [],
        "a client asks for SP4_MACH_CRED or SP4_SSV only under RPCSEC_GSS with integrity or privacy";
    EXCHID_SSV_PARAMS: "exchid.ssv-params", "RFC 8881 §18.35.3", [42], Violation, Server, [],
        "SP4_SSV with no hash or encryption algorithm, or a zero window, gets NFS4ERR_INVAL; the granted window is between 1 and the requested one";
    CLIENT_BCTS_SSV_GSS: "client.bcts-ssv-gss", "RFC 8881 §2.10.5.1, §18.34.3", [23], Violation, Client, [],
        "with SP4_SSV, BIND_CONN_TO_SESSION is sent under RPCSEC_GSS with integrity or privacy";
    BCTS_STATE_PROTECTION: "bcts.state-protection", "RFC 8881 §18.34.3", [69], Violation, Server, [],
        "BIND_CONN_TO_SESSION for an SP4_SSV client ID, or an SP4_MACH_CRED one enforcing it, is refused without RPCSEC_GSS integrity or privacy";
}

/// Operations a client may ask the server to enforce state protection on:
/// EXCHANGE_ID, CREATE_SESSION, DELEGPURGE, DESTROY_SESSION,
/// BIND_CONN_TO_SESSION, DESTROY_CLIENTID.
const GUARDED_OPS: [u32; 6] = [42, 43, 7, 44, 41, 57];

/// `BIND_CONN_TO_SESSION`'s operation number.
const OP_BIND_CONN_TO_SESSION: u32 = 41;

/// The state-protection rules.
#[derive(Debug, Default)]
pub struct StateProtection;

impl Check for StateProtection {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::Called { ops } => {
                for op in ops {
                    if let CallOp::ExchangeId { protect, .. } = op {
                        let frames = j.at().frames();
                        j.judge(&CLIENT_PROTECTION_GSS, || {
                            (protect.how != StateProtectHow4::SP4_NONE && !protect.gss_protected)
                                .then(|| {
                                    Violation::new(
                                        format!(
                                            "EXCHANGE_ID in frame {} asks for {} without RPCSEC_GSS integrity or privacy",
                                            frames.last().copied().unwrap_or(0),
                                            protect.how
                                        ),
                                        frames,
                                    )
                                })
                        });
                    }
                }
            }
            Event::ExchangeId {
                call: CallOp::ExchangeId { protect, flags, .. },
                result: Ok(x),
            } => {
                let at = j.at();
                // An update keeps the confirmed record's protection
                // (§18.35.3: it cannot change once confirmed): what it
                // asks for is not what it gets, by design.
                let update = flags.0 & crate::nfs4::ExchgId4Flags::UPD_CONFIRMED_REC_A.0 != 0;
                j.judge(&EXCHID_MUST_ENFORCE, || {
                    if update {
                        return None;
                    }
                    must_enforce(protect, x).map(|missing| {
                        Violation::new(
                            format!(
                                "{} left {} out of spo_must_enforce",
                                at.server,
                                missing.join(", ")
                            ),
                            at.frames(),
                        )
                    })
                });
                j.judge(&EXCHID_SSV_PARAMS, || {
                    let (hashes, encrs, window) = protect.ssv?;
                    let bad_request = hashes == 0 || encrs == 0 || window == 0;
                    let bad_window = match &x.eir_state_protect {
                        StateProtect4R::Ssv(i) => i.spi_window == 0 || i.spi_window > window,
                        _ => false,
                    };
                    (bad_request || bad_window).then(|| {
                        Violation::new(
                            format!(
                                "{} accepted SP4_SSV with {hashes} hash and {encrs} encryption algorithm(s), window {window}",
                                at.server
                            ),
                            at.frames(),
                        )
                    })
                });
            }
            Event::BindConnToSession {
                gss_protected: false,
                result: Ok(x),
                ..
            } => bind_conn_unprotected(&x.bctsr_sessid, j),
            _ => {}
        }
    }
}

/// The guarded operations requested but left out of the granted
/// spo_must_enforce (None when protection was not granted or none is
/// missing).
fn must_enforce(p: &Protection, x: &ExchangeId4ResOk<'_>) -> Option<Vec<String>> {
    let none = crate::nfs4::Bitmap4::default();
    let granted = match &x.eir_state_protect {
        StateProtect4R::MachCred(o) => &o.spo_must_enforce,
        StateProtect4R::Ssv(i) => &i.spi_ops.spo_must_enforce,
        // Declining is no answer to a valid request (sent under RPCSEC_GSS
        // with integrity or privacy): the requested operations are missing.
        StateProtect4R::None if p.how != StateProtectHow4::SP4_NONE && p.gss_protected => &none,
        StateProtect4R::None => return None,
    };
    let missing: Vec<String> = GUARDED_OPS
        .iter()
        .filter(|op| p.enforce.is_set(**op) && !granted.is_set(**op))
        .map(|op| NfsOpnum4(*op).op_name().unwrap_or("?").to_string())
        .collect();
    (!missing.is_empty()).then_some(missing)
}

/// BIND_CONN_TO_SESSION accepted without GSS integrity or privacy for a
/// client ID that protects it (rows 23 and 69).
fn bind_conn_unprotected(session: &SessionId4, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(r) = m
        .live_session(at.server, session)
        .and_then(|s| m.session_record(s))
    else {
        return;
    };
    let cid = r.clientid;
    let enforced = r
        .must_enforce
        .as_ref()
        .is_some_and(|b| b.is_set(OP_BIND_CONN_TO_SESSION));
    match r.state_protect {
        Some(StateProtectHow4::SP4_SSV) => {
            j.judge(&CLIENT_BCTS_SSV_GSS, || {
                Some(Violation::new(
                    format!(
                        "BIND_CONN_TO_SESSION for session {session} (SP4_SSV client ID {cid:#018x}) sent without RPCSEC_GSS integrity or privacy"
                    ),
                    at.frames(),
                ))
            });
            j.judge(&BCTS_STATE_PROTECTION, || {
                Some(Violation::new(
                    format!(
                        "{} accepted BIND_CONN_TO_SESSION for session {session} of SP4_SSV client ID {cid:#018x} without RPCSEC_GSS integrity or privacy",
                        at.server
                    ),
                    at.frames(),
                ))
            });
        }
        Some(StateProtectHow4::SP4_MACH_CRED) if enforced => {
            j.judge(&BCTS_STATE_PROTECTION, || {
                Some(Violation::new(
                    format!(
                        "{} accepted BIND_CONN_TO_SESSION for session {session} of SP4_MACH_CRED client ID {cid:#018x}, which enforces it, without RPCSEC_GSS integrity or privacy",
                        at.server
                    ),
                    at.frames(),
                ))
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn state_protection_and_flag_rules() {
        // Undefined eia_flags bit accepted.
        let mut c = Conv::new();
        c.op(
            1,
            SERVER_A,
            exchange_id("c", 1, ExchgId4Flags(0x800)),
            exchange_id_ok(7, PNFS, "srv", 0),
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
        c.op(1, SERVER_A, eid, ok);
        assert_eq!(
            c.rules(),
            vec!["client.state-protection-gss", "exchid.must-enforce"]
        );
        assert!(c.x.sink.findings()[1].message.contains("DESTROY_CLIENTID"));

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
        c.op(1, SERVER_A, eid, exchange_id_ok(7, PNFS, "srv", 0));
        assert_eq!(
            c.rules(),
            vec!["client.state-protection-gss", "exchid.ssv-params"]
        );
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
            c.op(1, SERVER_A, eid, ok);
            c.op(
                1,
                SERVER_A,
                create_session(7, 1, CreateSession4Flags(0)),
                csess_ok(1, 1),
            );
            c.op(
                2,
                SERVER_A,
                bcts(ChannelDirFromClient4::CDFC4_FORE),
                bcts_ok(ChannelDirFromServer4::CDFS4_FORE),
            );
            assert_eq!(c.rules(), expect, "must enforce {enforce:?}");
        }
    }

    #[test]
    fn bind_conn_to_session_of_an_ssv_client_id_needs_gss() {
        let ops = StateProtectOps4 {
            spo_must_enforce: Bitmap4::from_bits(&[41]),
            spo_must_allow: Bitmap4::default(),
        };
        let mut eid = exchange_id("c", 1, ExchgId4Flags(0));
        if let NfsArgOp::ExchangeId(a) = &mut eid {
            a.eia_state_protect = StateProtect4A::Ssv(SsvSpParms4 {
                ssp_ops: ops.clone(),
                ssp_hash_algs: vec![Opaque::from(vec![1u8])],
                ssp_encr_algs: vec![Opaque::from(vec![2u8])],
                ssp_window: 4,
                ssp_num_gss_handles: 1,
            });
        }
        let mut ok = exchange_id_ok(7, PNFS, "srv", 0);
        if let NfsResOp::ExchangeId(NfsRes::Ok(r)) = &mut ok {
            r.eir_state_protect = StateProtect4R::Ssv(SsvProtInfo4 {
                spi_ops: ops,
                spi_hash_alg: 0,
                spi_encr_alg: 0,
                spi_ssv_len: 32,
                spi_window: 4,
                spi_handles: vec![],
            });
        }
        let mut c = Conv::new();
        c.op(1, SERVER_A, eid, ok);
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags(0)),
            csess_ok(1, 1),
        );
        // The request under AUTH_NONE is the client's fault, and so is the
        // unprotected BIND_CONN_TO_SESSION; accepting it is the server's.
        assert_eq!(c.rules(), vec!["client.state-protection-gss"]);
        c.op(
            2,
            SERVER_A,
            bcts(ChannelDirFromClient4::CDFC4_FORE),
            bcts_ok(ChannelDirFromServer4::CDFS4_FORE),
        );
        assert_eq!(
            c.rules(),
            vec![
                "client.state-protection-gss",
                "client.bcts-ssv-gss",
                "bcts.state-protection"
            ]
        );
    }

    #[test]
    fn a_valid_request_declined_with_sp4_none_misses_its_operations() {
        let ops = StateProtectOps4 {
            spo_must_enforce: Bitmap4::from_bits(&[41, 44]),
            spo_must_allow: Bitmap4::default(),
        };
        let gss = |c: &mut Conv| {
            c.cred = OpaqueAuth {
                flavor: crate::rpc::AuthFlavor(6),
                body: Opaque::from(crate::xdr::to_bytes(&crate::rpc::RpcGssCred::Vers1(
                    crate::rpc::RpcGssCredVers1 {
                        gss_proc: crate::rpc::RpcGssProc::RPCSEC_GSS_DATA,
                        seq_num: 1,
                        service: crate::rpc::RpcGssService::rpc_gss_svc_integrity,
                        handle: Opaque::from(vec![1u8, 2, 3, 4]),
                    },
                ))),
            };
        };
        for (signed, expect) in [
            (true, vec!["exchid.must-enforce"]),
            (false, vec!["client.state-protection-gss"]),
        ] {
            let mut eid = exchange_id("c", 1, ExchgId4Flags(0));
            if let NfsArgOp::ExchangeId(a) = &mut eid {
                a.eia_state_protect = StateProtect4A::MachCred(ops.clone());
            }
            let mut c = Conv::new();
            if signed {
                gss(&mut c);
            }
            c.op(1, SERVER_A, eid, exchange_id_ok(7, PNFS, "srv", 0));
            assert_eq!(c.rules(), expect, "under GSS integrity: {signed}");
        }
    }
}
