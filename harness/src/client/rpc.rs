//! ONC RPC on a stream for the client: credentials (AUTH_NONE, AUTH_SYS
//! and RPCSEC_GSS), calls in records, replies to the server's calls, and
//! the reading of reply headers.

use super::ClientError;
use crate::gss::{GssContext, GssError, SealedCall};
use analyzer::rpc::{
    write_record, AcceptStat, AcceptedReply, AcceptedReplyData, AuthFlavor, AuthStat, AuthSysParms,
    MismatchInfo, MsgBody, OpaqueAuth, RejectedReply, ReplyBody, RpcGssProc, RpcGssService,
    RpcMessage,
};
use analyzer::xdr::{IntoStatic, Opaque, Writer};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest fragment the client writes (records longer than this are split).
pub const MAX_FRAGMENT: usize = 1 << 20;

/// Who a call claims to come from: the RPC credential.
///
/// Two principals are equal when they are the same AUTH_NONE or AUTH_SYS
/// identity, or the same RPCSEC_GSS context (the same `Arc`) with the same
/// service.
#[derive(Debug, Clone, Default)]
pub enum Principal {
    /// AUTH_NONE.
    #[default]
    None,
    /// AUTH_SYS with these ids and machine name.
    Sys {
        /// Effective user id.
        uid: u32,
        /// Effective group id.
        gid: u32,
        /// Supplementary group ids.
        gids: Vec<u32>,
        /// Machine name.
        machine: String,
    },
    /// RPCSEC_GSS (RFC 2203) on an established context: every call is
    /// sealed with the context's next sequence number and every reply
    /// verified (its `Debug` shows the handle, service and window only).
    Gss {
        /// The context, shared by every connection and session using it
        /// (contexts are not bound to a connection, RFC 2203 §5).
        ctx: Arc<GssContext>,
        /// The service of calls; `None` for the context's default.
        service: Option<RpcGssService>,
    },
}

impl PartialEq for Principal {
    fn eq(&self, other: &Principal) -> bool {
        match (self, other) {
            (Principal::None, Principal::None) => true,
            (
                Principal::Sys {
                    uid,
                    gid,
                    gids,
                    machine,
                },
                Principal::Sys {
                    uid: u2,
                    gid: g2,
                    gids: gs2,
                    machine: m2,
                },
            ) => uid == u2 && gid == g2 && gids == gs2 && machine == m2,
            (
                Principal::Gss { ctx, service },
                Principal::Gss {
                    ctx: c2,
                    service: s2,
                },
            ) => Arc::ptr_eq(ctx, c2) && service == s2,
            _ => false,
        }
    }
}

impl Eq for Principal {}

impl Principal {
    /// AUTH_SYS for `uid`/`gid` on machine `machine`, no supplementary groups.
    pub fn sys(uid: u32, gid: u32, machine: &str) -> Principal {
        Principal::Sys {
            uid,
            gid,
            gids: Vec::new(),
            machine: machine.to_string(),
        }
    }

    /// RPCSEC_GSS on `ctx` with its default service.
    pub fn gss(ctx: Arc<GssContext>) -> Principal {
        Principal::Gss { ctx, service: None }
    }

    /// The same RPCSEC_GSS context with calls protected by `service`
    /// (RFC 2203 §5.3.2 lets the service change from call to call); other
    /// principals are returned unchanged.
    pub fn with_service(&self, service: RpcGssService) -> Principal {
        match self {
            Principal::Gss { ctx, .. } => Principal::Gss {
                ctx: Arc::clone(ctx),
                service: Some(service),
            },
            other => other.clone(),
        }
    }

    /// The RPCSEC_GSS context, for a GSS principal.
    pub fn gss_context(&self) -> Option<&Arc<GssContext>> {
        match self {
            Principal::Gss { ctx, .. } => Some(ctx),
            _ => None,
        }
    }

    /// The service a GSS principal's calls use (its own or the context's
    /// default); `None` for other principals.
    pub fn gss_service(&self) -> Option<RpcGssService> {
        match self {
            Principal::Gss { ctx, service } => Some(service.unwrap_or_else(|| ctx.service())),
            _ => None,
        }
    }

    /// The authentication flavor of the principal's calls.
    pub fn flavor(&self) -> AuthFlavor {
        match self {
            Principal::None => AuthFlavor::AUTH_NONE,
            Principal::Sys { .. } => AuthFlavor::AUTH_SYS,
            Principal::Gss { .. } => AuthFlavor::RPCSEC_GSS,
        }
    }

    /// The RPC credential carrying this principal. For RPCSEC_GSS this is
    /// only what names it (an `RPCSEC_GSS_DATA` credential with the handle,
    /// the service and sequence number 0): a real call's credential carries
    /// its own sequence number (see [`seal_call_record`]).
    pub fn credential(&self) -> OpaqueAuth<'static> {
        match self {
            Principal::None => OpaqueAuth::none(),
            Principal::Sys { .. } => match self.auth_sys_parms() {
                Some(p) => OpaqueAuth::sys(&p),
                None => OpaqueAuth::none(),
            },
            Principal::Gss { ctx, .. } => crate::gss::rpcsec::credential(
                RpcGssProc::RPCSEC_GSS_DATA,
                0,
                self.gss_service().unwrap_or_else(|| ctx.service()),
                ctx.handle(),
            ),
        }
    }

    /// The AUTH_SYS parameters, for an AUTH_SYS principal (also used as the
    /// callback security parameters of CREATE_SESSION).
    pub fn auth_sys_parms(&self) -> Option<AuthSysParms<'static>> {
        match self {
            Principal::None | Principal::Gss { .. } => None,
            Principal::Sys {
                uid,
                gid,
                gids,
                machine,
            } => Some(AuthSysParms {
                stamp: stamp(),
                machinename: Opaque::from(machine.clone()),
                uid: *uid,
                gid: *gid,
                gids: gids.clone(),
            }),
        }
    }
}

/// A stamp for AUTH_SYS credentials: fixed per process (from its id).
fn stamp() -> u32 {
    std::process::id()
}

/// One call message (header and `args`) framed as a record.
///
/// Meant for AUTH_NONE and AUTH_SYS. A GSS principal's call is sealed
/// here with a sequence number given up at once (no reply to it can be
/// verified: use [`seal_call_record`] for that); when its context cannot
/// seal, the record carries [`Principal::credential`], an AUTH_NONE
/// verifier and the arguments in the clear, which a server must refuse.
pub fn call_record(
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    principal: &Principal,
    args: &[u8],
) -> Vec<u8> {
    if principal.gss_context().is_some() {
        if let Ok(call) = seal_call_record(xid, program, version, procedure, principal, args) {
            if let (Some(sealed), Principal::Gss { ctx, .. }) = (&call.sealed, principal) {
                ctx.abandon(sealed);
            }
            return call.record;
        }
    }
    plain_call_record(
        xid,
        program,
        version,
        procedure,
        principal.credential(),
        OpaqueAuth::none(),
        args,
    )
}

/// A call with exactly this credential and verifier, framed as a record.
pub fn plain_call_record(
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    cred: OpaqueAuth<'static>,
    verf: OpaqueAuth<'static>,
    args: &[u8],
) -> Vec<u8> {
    let header = RpcMessage::call(xid, program, version, procedure, cred, verf);
    frame(&header, args)
}

/// A call ready to be written: its record and, for RPCSEC_GSS, what was
/// sealed (needed to verify the reply, or to give its sequence number up).
#[derive(Debug)]
pub struct OutgoingCall {
    /// The framed call.
    pub record: Vec<u8>,
    /// The RPCSEC_GSS call, for a GSS principal.
    pub sealed: Option<SealedCall>,
}

/// One call as `principal` sends it: AUTH_NONE and AUTH_SYS exactly as
/// [`call_record`]; RPCSEC_GSS with the context's next sequence number, the
/// verifier over the header and the arguments protected as the service
/// says (RFC 2203 §5.3.1–5.3.2). The caller owns the sequence number: it
/// must pass the reply to `GssContext::unseal_reply` or give the call up
/// with `GssContext::abandon`.
pub fn seal_call_record(
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    principal: &Principal,
    args: &[u8],
) -> Result<OutgoingCall, GssError> {
    match principal {
        Principal::Gss { ctx, .. } => {
            let service = principal.gss_service().unwrap_or_else(|| ctx.service());
            let sealed = ctx.seal_call_with(service, xid, program, version, procedure, args)?;
            let record = plain_call_record(
                xid,
                program,
                version,
                procedure,
                sealed.cred.clone(),
                sealed.verf.clone(),
                &sealed.body,
            );
            Ok(OutgoingCall {
                record,
                sealed: Some(sealed),
            })
        }
        _ => Ok(OutgoingCall {
            record: call_record(xid, program, version, procedure, principal, args),
            sealed: None,
        }),
    }
}

/// A header plus payload as one record.
fn frame(header: &RpcMessage<'_>, payload: &[u8]) -> Vec<u8> {
    let mut w = Writer::with_capacity(64 + payload.len());
    header.encode_with_payload(&mut w, payload);
    let mut out = Vec::with_capacity(w.len() + 8);
    write_record(&mut out, w.as_bytes(), MAX_FRAGMENT);
    out
}

/// A successful reply (AUTH_NONE verifier) with `results`, as a record.
pub fn success_reply_record(xid: u32, results: &[u8]) -> Vec<u8> {
    frame(&RpcMessage::success_reply(xid, OpaqueAuth::none()), results)
}

/// An accepted reply with an error `accept_stat`, as a record.
pub fn accept_error_record(xid: u32, data: AcceptedReplyData) -> Vec<u8> {
    let msg = RpcMessage {
        xid,
        body: MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
            verf: OpaqueAuth::none(),
            reply_data: data,
        })),
    };
    frame(&msg, &[])
}

/// MSG_DENIED AUTH_ERROR with `stat`, as a record.
pub fn auth_error_record(xid: u32, stat: AuthStat) -> Vec<u8> {
    let msg = RpcMessage {
        xid,
        body: MsgBody::Reply(ReplyBody::Denied(RejectedReply::AuthError(stat))),
    };
    frame(&msg, &[])
}

/// PROG_MISMATCH for a program that only has version `version`.
pub fn prog_mismatch_record(xid: u32, version: u32) -> Vec<u8> {
    accept_error_record(
        xid,
        AcceptedReplyData::ProgMismatch(MismatchInfo {
            low: version,
            high: version,
        }),
    )
}

/// Checks a reply header: `Ok(())` when the results follow, else the RPC
/// error naming what the server said.
pub fn check_reply(to: SocketAddr, xid: u32, body: &ReplyBody<'_>) -> Result<(), ClientError> {
    check_reply_verf(to, xid, body, false).map(|_| ())
}

/// [`check_reply`] returning the reply's verifier when the results follow
/// (an RPCSEC_GSS caller verifies it). A denial of an RPCSEC_GSS call
/// (`gss`) is [`ClientError::GssDenied`], whatever its `auth_stat`.
pub fn check_reply_verf(
    to: SocketAddr,
    xid: u32,
    body: &ReplyBody<'_>,
    gss: bool,
) -> Result<OpaqueAuth<'static>, ClientError> {
    let detail = match body {
        ReplyBody::Accepted(a) => match &a.reply_data {
            AcceptedReplyData::Success => return Ok(a.verf.clone().into_static()),
            AcceptedReplyData::ProgMismatch(m) => {
                format!("PROG_MISMATCH (versions {} to {})", m.low, m.high)
            }
            AcceptedReplyData::ProgUnavail => "PROG_UNAVAIL".to_string(),
            AcceptedReplyData::ProcUnavail => "PROC_UNAVAIL".to_string(),
            AcceptedReplyData::GarbageArgs => "GARBAGE_ARGS".to_string(),
            AcceptedReplyData::SystemErr => "SYSTEM_ERR".to_string(),
            AcceptedReplyData::Unknown(s) => format!("accept_stat {}", s.0),
        },
        ReplyBody::Denied(RejectedReply::RpcMismatch(m)) => {
            format!("MSG_DENIED RPC_MISMATCH (versions {} to {})", m.low, m.high)
        }
        ReplyBody::Denied(RejectedReply::AuthError(stat)) if gss => {
            return Err(ClientError::GssDenied {
                to,
                xid,
                stat: *stat,
            })
        }
        ReplyBody::Denied(RejectedReply::AuthError(s)) => {
            format!("MSG_DENIED AUTH_ERROR {}", auth_stat_name(*s))
        }
    };
    Err(ClientError::Rpc { to, xid, detail })
}

/// The name of an `auth_stat`.
fn auth_stat_name(s: AuthStat) -> String {
    s.to_string()
}

/// An `accept_stat` as the reply data carrying it.
pub fn accept_data(stat: AcceptStat) -> AcceptedReplyData {
    match stat {
        AcceptStat::SUCCESS => AcceptedReplyData::Success,
        AcceptStat::PROG_UNAVAIL => AcceptedReplyData::ProgUnavail,
        AcceptStat::PROC_UNAVAIL => AcceptedReplyData::ProcUnavail,
        AcceptStat::GARBAGE_ARGS => AcceptedReplyData::GarbageArgs,
        AcceptStat::SYSTEM_ERR => AcceptedReplyData::SystemErr,
        other => AcceptedReplyData::Unknown(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::rpc::{Credential, RecordAssembler};

    #[test]
    fn a_call_record_carries_the_principal_and_the_arguments() {
        let p = Principal::sys(1000, 100, "host-a");
        let rec = call_record(7, 100003, 4, 1, &p, &[0, 0, 0, 9]);
        let mut asm = RecordAssembler::new();
        asm.feed(&rec).expect("framed");
        let data = asm.pop().expect("one record").data;
        let (msg, payload) = RpcMessage::parse(&data).expect("parses");
        let call = msg.as_call().expect("a call");
        assert_eq!(
            (msg.xid, call.prog, call.vers, call.procedure),
            (7, 100003, 4, 1)
        );
        match call.cred.credential().expect("decodes") {
            Credential::Sys(s) => {
                assert_eq!((s.uid, s.gid), (1000, 100));
                assert_eq!(s.machinename.as_bytes(), b"host-a");
            }
            other => panic!("not AUTH_SYS: {other:?}"),
        }
        assert_eq!(payload.bytes, &[0, 0, 0, 9]);
    }

    #[test]
    fn refused_replies_name_the_reason() {
        let to: SocketAddr = "127.0.0.1:2049".parse().expect("addr");
        let rec = prog_mismatch_record(3, 1);
        let data = &rec[4..];
        let (msg, _) = RpcMessage::parse(data).expect("parses");
        let err = check_reply(to, 3, msg.as_reply().expect("reply")).expect_err("refused");
        assert!(
            err.to_string().contains("PROG_MISMATCH (versions 1 to 1)"),
            "{err}"
        );
        assert!(err.to_string().contains("127.0.0.1:2049"), "{err}");
    }

    fn keyed(service: RpcGssService) -> Arc<GssContext> {
        Arc::new(
            crate::gss::testkit::Keyed(7)
                .context(b"handle-9", 8, service)
                .expect("context"),
        )
    }

    #[test]
    fn principals_compare_by_identity_and_gss_ones_by_context() {
        assert_eq!(Principal::sys(1, 2, "m"), Principal::sys(1, 2, "m"));
        assert_ne!(Principal::sys(1, 2, "m"), Principal::sys(1, 2, "n"));
        assert_ne!(Principal::sys(1, 2, "m"), Principal::None);
        let ctx = keyed(RpcGssService::rpc_gss_svc_none);
        let a = Principal::gss(Arc::clone(&ctx));
        assert_eq!(a, a.clone(), "clones share the context");
        assert_ne!(
            a,
            Principal::gss(keyed(RpcGssService::rpc_gss_svc_none)),
            "another context with the same handle is another principal"
        );
        let i = a.with_service(RpcGssService::rpc_gss_svc_integrity);
        assert_ne!(a, i);
        assert_eq!(i.gss_service(), Some(RpcGssService::rpc_gss_svc_integrity));
        assert_eq!(a.gss_service(), Some(RpcGssService::rpc_gss_svc_none));
        assert_eq!(a.flavor(), AuthFlavor::RPCSEC_GSS);
        assert_eq!(
            Principal::None.with_service(RpcGssService::rpc_gss_svc_privacy),
            Principal::None
        );
        assert!(a.auth_sys_parms().is_none());
        let shown = format!("{a:?}");
        assert!(shown.contains("handle"), "{shown}");
    }

    #[test]
    fn auth_sys_calls_are_the_same_bytes_sealed_or_not() {
        let p = Principal::sys(1000, 100, "host-a");
        let plain = call_record(7, 100003, 4, 1, &p, &[1, 2, 3, 4]);
        let sealed = seal_call_record(7, 100003, 4, 1, &p, &[1, 2, 3, 4]).expect("no GSS");
        assert_eq!(sealed.record, plain);
        assert!(sealed.sealed.is_none());
        let none = seal_call_record(8, 100003, 4, 0, &Principal::None, &[]).expect("no GSS");
        assert_eq!(
            none.record,
            call_record(8, 100003, 4, 0, &Principal::None, &[])
        );
    }

    #[test]
    fn a_gss_call_carries_its_sequence_number_verifier_and_protected_body() {
        let ctx = keyed(RpcGssService::rpc_gss_svc_none);
        let p = Principal::gss(Arc::clone(&ctx)).with_service(RpcGssService::rpc_gss_svc_integrity);
        let call = seal_call_record(9, 100003, 4, 1, &p, &[0, 0, 0, 5]).expect("seals");
        let sealed = call.sealed.expect("a GSS call");
        assert_eq!(sealed.seq_num, 1);
        assert_eq!(sealed.service, RpcGssService::rpc_gss_svc_integrity);
        assert_eq!(ctx.in_flight(), 1);
        let mut asm = RecordAssembler::new();
        asm.feed(&call.record).expect("framed");
        let data = asm.pop().expect("one record").data;
        let (msg, payload) = RpcMessage::parse(&data).expect("parses");
        let c = msg.as_call().expect("a call");
        match c.cred.credential().expect("decodes") {
            Credential::Gss(g) => {
                let v = g.vers1();
                assert_eq!(v.gss_proc, RpcGssProc::RPCSEC_GSS_DATA);
                assert_eq!(v.seq_num, 1);
                assert_eq!(v.service, RpcGssService::rpc_gss_svc_integrity);
                assert_eq!(v.handle.as_bytes(), b"handle-9");
            }
            other => panic!("not RPCSEC_GSS: {other:?}"),
        }
        assert_eq!(c.verf.flavor, AuthFlavor::RPCSEC_GSS);
        let (seq, args) = crate::gss::testkit::Keyed(7)
            .unseal_call(RpcGssService::rpc_gss_svc_integrity, payload.bytes)
            .expect("a valid rpc_gss_integ_data");
        assert_eq!((seq, args.as_slice()), (Some(1), &[0u8, 0, 0, 5][..]));
        // call_record gives the number up at once.
        let _ = call_record(10, 100003, 4, 1, &p, &[]);
        ctx.abandon(&sealed);
        assert_eq!(ctx.in_flight(), 0);
    }

    #[test]
    fn gss_denials_are_typed() {
        let to: SocketAddr = "127.0.0.1:2049".parse().expect("addr");
        for stat in [
            AuthStat::RPCSEC_GSS_CREDPROBLEM,
            AuthStat::RPCSEC_GSS_CTXPROBLEM,
        ] {
            let rec = auth_error_record(5, stat);
            let (msg, _) = RpcMessage::parse(&rec[4..]).expect("parses");
            let reply = msg.as_reply().expect("reply");
            let err = check_reply_verf(to, 5, reply, true).expect_err("denied");
            assert_eq!(err.gss_problem(), Some(stat), "{err}");
            assert!(err.to_string().contains(&stat.to_string()), "{err}");
            assert!(!err.is_fatal());
            // The same answer to an AUTH_SYS call is a plain RPC refusal.
            let err = check_reply_verf(to, 5, reply, false).expect_err("denied");
            assert!(matches!(err, ClientError::Rpc { .. }), "{err}");
        }
        let rec = auth_error_record(6, AuthStat::AUTH_REJECTEDCRED);
        let (msg, _) = RpcMessage::parse(&rec[4..]).expect("parses");
        let err =
            check_reply_verf(to, 6, msg.as_reply().expect("reply"), true).expect_err("denied");
        assert_eq!(
            err.gss_problem(),
            Some(AuthStat::AUTH_REJECTEDCRED),
            "{err}"
        );
    }
}
