//! ONC RPC on a stream for the client: credentials, calls in records,
//! replies to the server's calls, and the reading of reply headers.

use super::ClientError;
use analyzer::rpc::{
    write_record, AcceptStat, AcceptedReply, AcceptedReplyData, AuthStat, AuthSysParms,
    MismatchInfo, MsgBody, OpaqueAuth, RejectedReply, ReplyBody, RpcMessage,
};
use analyzer::xdr::{Opaque, Writer};
use std::net::SocketAddr;

/// Largest fragment the client writes (records longer than this are split).
pub const MAX_FRAGMENT: usize = 1 << 20;

/// Who a call claims to come from: the RPC credential.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
}

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

    /// The RPC credential carrying this principal.
    pub fn credential(&self) -> OpaqueAuth<'static> {
        match self {
            Principal::None => OpaqueAuth::none(),
            Principal::Sys { .. } => match self.auth_sys_parms() {
                Some(p) => OpaqueAuth::sys(&p),
                None => OpaqueAuth::none(),
            },
        }
    }

    /// The AUTH_SYS parameters, for an AUTH_SYS principal (also used as the
    /// callback security parameters of CREATE_SESSION).
    pub fn auth_sys_parms(&self) -> Option<AuthSysParms<'static>> {
        match self {
            Principal::None => None,
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
pub fn call_record(
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    principal: &Principal,
    args: &[u8],
) -> Vec<u8> {
    let header = RpcMessage::call(
        xid,
        program,
        version,
        procedure,
        principal.credential(),
        OpaqueAuth::none(),
    );
    frame(&header, args)
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
    let detail = match body {
        ReplyBody::Accepted(a) => match &a.reply_data {
            AcceptedReplyData::Success => return Ok(()),
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
}
