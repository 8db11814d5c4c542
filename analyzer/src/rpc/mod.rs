//! ONC RPC version 2 (RFC 5531): message headers, credentials and record
//! marking.
//!
//! This layer decodes and encodes the RPC header only. The procedure
//! arguments of a call and the results of a successful reply are handed back
//! undecoded as a [`Payload`]: the bytes after the header together with their
//! offset inside the message, so that the caller decoding them (e.g. an NFSv4
//! COMPOUND) can report errors at message offsets with [`Payload::decode`].
//!
//! - [`RpcMessage::parse`] splits one message (one record) into header and
//!   payload.
//! - [`RpcMessage::call`] and [`RpcMessage::success_reply`] build headers for a
//!   client or a test server; encode them with [`Xdr::encode`] and append the
//!   arguments or results to the same [`Writer`] (or use
//!   [`RpcMessage::to_bytes_with_payload`]).
//! - [`auth`] gives typed views of credentials (AUTH_NONE, AUTH_SYS,
//!   RPCSEC_GSS, AUTH_TLS) and unwraps RPCSEC_GSS integrity bodies.
//! - [`gss_token`] reads the GSS-API token of an RPCSEC_GSS context
//!   creation: its mechanism and the Kerberos target principal.
//! - [`record`] reassembles records from a TCP byte stream (RFC 5531 §11)
//!   and writes records split into fragments.
//!
//! Upper bounds that the RFC puts on variable-length items (400 bytes for an
//! authenticator body, 255 for `machinename`, 16 `gids`) are not enforced
//! while decoding or encoding, so that the analyzer can show, and the
//! conformance client can send, messages that violate them;
//! [`OpaqueAuth::is_oversized`] and [`auth::AuthSysParms::violations`] report
//! them.

pub mod auth;
pub mod gss_token;
pub mod record;
pub mod stream;

pub use auth::{
    AuthSysParms, Credential, GssBody, RpcGssCred, RpcGssCredVers1, RpcGssProc, RpcGssService,
};
pub use record::{encode_record, write_record, Record, RecordAssembler, RecordError, RecordLimits};

use crate::xdr::{Opaque, Reader, Writer, Xdr, XdrError, XdrResult};

/// The only RPC protocol version (`rpcvers`) RFC 5531 defines.
pub const RPC_VERSION: u32 = 2;

/// Most bytes an authenticator body may hold (RFC 5531 `MAX_AUTH_BYTES`).
pub const MAX_AUTH_BYTES: usize = 400;

/// Offset of the credential body inside a call message: xid, mtype,
/// rpcvers, prog, vers, proc, cred flavor and cred length come first.
pub const CRED_BODY_OFFSET: usize = 32;

xdr_enum! {
    /// `msg_type`: whether a message is a call or a reply.
    pub enum MsgType {
        /// A call from client to server.
        CALL = 0,
        /// A reply from server to client.
        REPLY = 1,
    }
}

xdr_enum! {
    /// `reply_stat`: whether the server accepted the call.
    pub enum ReplyStat {
        /// The call was accepted (its authentication passed).
        MSG_ACCEPTED = 0,
        /// The call was rejected.
        MSG_DENIED = 1,
    }
}

xdr_enum! {
    /// `accept_stat`: the outcome of an accepted call.
    pub enum AcceptStat {
        /// The procedure ran; results follow.
        SUCCESS = 0,
        /// The program is not exported by the server.
        PROG_UNAVAIL = 1,
        /// The program version is not supported.
        PROG_MISMATCH = 2,
        /// The procedure number is not supported.
        PROC_UNAVAIL = 3,
        /// The arguments could not be decoded.
        GARBAGE_ARGS = 4,
        /// A server error (e.g. memory allocation failure).
        SYSTEM_ERR = 5,
    }
}

xdr_enum! {
    /// `reject_stat`: why a call was rejected.
    pub enum RejectStat {
        /// The RPC version is not 2.
        RPC_MISMATCH = 0,
        /// Authentication failed.
        AUTH_ERROR = 1,
    }
}

xdr_enum! {
    /// `auth_stat`: why authentication failed (RFC 5531, RFC 2203).
    pub enum AuthStat {
        /// Success.
        AUTH_OK = 0,
        /// Bad credential (seal broken).
        AUTH_BADCRED = 1,
        /// The client must begin a new session.
        AUTH_REJECTEDCRED = 2,
        /// Bad verifier (seal broken).
        AUTH_BADVERF = 3,
        /// The verifier expired or was replayed.
        AUTH_REJECTEDVERF = 4,
        /// Rejected for security reasons.
        AUTH_TOOWEAK = 5,
        /// Bogus response verifier (client side).
        AUTH_INVALIDRESP = 6,
        /// Reason unknown (client side).
        AUTH_FAILED = 7,
        /// Kerberos generic error.
        AUTH_KERB_GENERIC = 8,
        /// Time of the credential expired.
        AUTH_TIMEEXPIRE = 9,
        /// Problem with the ticket file.
        AUTH_TKT_FILE = 10,
        /// Cannot decode the authenticator.
        AUTH_DECODE = 11,
        /// Wrong network address in the ticket.
        AUTH_NET_ADDR = 12,
        /// RPCSEC_GSS: no credentials for the user.
        RPCSEC_GSS_CREDPROBLEM = 13,
        /// RPCSEC_GSS: problem with the context.
        RPCSEC_GSS_CTXPROBLEM = 14,
    }
}

xdr_enum! {
    /// `auth_flavor`: the authentication flavor of an authenticator.
    pub enum AuthFlavor {
        /// No authentication.
        AUTH_NONE = 0,
        /// Unix-style uid/gid credentials (`authsys_parms`).
        AUTH_SYS = 1,
        /// Short-hand credential returned by a server for AUTH_SYS.
        AUTH_SHORT = 2,
        /// Diffie-Hellman authentication.
        AUTH_DH = 3,
        /// Kerberos 4 authentication.
        AUTH_KERB = 4,
        /// RSA authentication.
        AUTH_RSA = 5,
        /// RPCSEC_GSS (RFC 2203).
        RPCSEC_GSS = 6,
        /// RPC-with-TLS probe (RFC 9289).
        AUTH_TLS = 7,
    }
}

xdr_struct! {
    /// `opaque_auth`: an authenticator (credential or verifier).
    pub struct OpaqueAuth<'a> {
        /// The authentication flavor.
        pub flavor: AuthFlavor,
        /// The flavor-specific body (at most 400 bytes by the RFC).
        pub body: Opaque<'a>,
    }
}

xdr_struct! {
    /// `call_body`: the header of a call; the arguments follow it.
    pub struct CallBody<'a> {
        /// RPC version (must be 2).
        pub rpcvers: u32,
        /// Program number (100003 for NFS).
        pub prog: u32,
        /// Program version.
        pub vers: u32,
        /// Procedure number (RFC field `proc`, a reserved word in Rust).
        pub procedure: u32,
        /// The caller's credential.
        pub cred: OpaqueAuth<'a>,
        /// The caller's verifier.
        pub verf: OpaqueAuth<'a>,
    }
}

xdr_struct! {
    /// The lowest and highest versions supported (`mismatch_info`).
    pub struct MismatchInfo {
        /// Lowest version supported.
        pub low: u32,
        /// Highest version supported.
        pub high: u32,
    }
}

xdr_union! {
    /// `reply_data` of an accepted reply, switched on `accept_stat`.
    pub enum AcceptedReplyData switch (AcceptStat) {
        /// The versions of the program the server supports.
        case AcceptStat::PROG_MISMATCH => ProgMismatch(MismatchInfo),
        /// The results follow the header (they are the payload).
        case AcceptStat::SUCCESS => Success,
        /// The program is not available.
        case AcceptStat::PROG_UNAVAIL => ProgUnavail,
        /// The procedure is not available.
        case AcceptStat::PROC_UNAVAIL => ProcUnavail,
        /// The arguments could not be decoded.
        case AcceptStat::GARBAGE_ARGS => GarbageArgs,
        /// A server-side error.
        case AcceptStat::SYSTEM_ERR => SystemErr,
        default => Unknown,
    }
}

xdr_struct! {
    /// `accepted_reply`: the server's verifier and the outcome.
    pub struct AcceptedReply<'a> {
        /// The server's verifier.
        pub verf: OpaqueAuth<'a>,
        /// The outcome of the call.
        pub reply_data: AcceptedReplyData,
    }
}

xdr_union! {
    /// `rejected_reply`: why a call was denied.
    pub enum RejectedReply switch (RejectStat) {
        /// The RPC versions the server supports.
        case RejectStat::RPC_MISMATCH => RpcMismatch(MismatchInfo),
        /// Authentication failed, with the reason.
        case RejectStat::AUTH_ERROR => AuthError(AuthStat),
    }
}

xdr_union! {
    /// `reply_body`: an accepted or a denied reply.
    pub enum ReplyBody<'a> switch (ReplyStat) {
        /// The call was accepted.
        case ReplyStat::MSG_ACCEPTED => Accepted(AcceptedReply<'a>),
        /// The call was denied.
        case ReplyStat::MSG_DENIED => Denied(RejectedReply),
    }
}

xdr_union! {
    /// The body of `rpc_msg`, switched on `msg_type`.
    pub enum MsgBody<'a> switch (MsgType) {
        /// A call header.
        case MsgType::CALL => Call(CallBody<'a>),
        /// A reply header.
        case MsgType::REPLY => Reply(ReplyBody<'a>),
    }
}

xdr_struct! {
    /// `rpc_msg`: one RPC message header (without arguments or results).
    pub struct RpcMessage<'a> {
        /// Transaction id matching a reply to its call.
        pub xid: u32,
        /// The call or reply header.
        pub body: MsgBody<'a>,
    }
}

/// The bytes that follow an RPC header (call arguments or reply results),
/// with their offset inside the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The undecoded bytes.
    pub bytes: &'a [u8],
    /// Offset of `bytes[0]` from the start of the message.
    pub offset: usize,
}

impl<'a> Payload<'a> {
    /// Number of payload bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when nothing follows the header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Decodes one `T` from the start of the payload; an error reports its
    /// offset from the start of the message.
    pub fn decode<T: Xdr<'a>>(&self) -> XdrResult<T> {
        T::decode(&mut Reader::new(self.bytes)).map_err(|e| self.shift(e))
    }

    /// Decodes one `T` that must fill the whole payload; trailing bytes are an
    /// error at the message offset of the first of them.
    pub fn decode_all<T: Xdr<'a>>(&self) -> XdrResult<T> {
        let mut r = Reader::new(self.bytes);
        let v = T::decode(&mut r).map_err(|e| self.shift(e))?;
        if !r.is_empty() {
            return Err(self.shift(r.error(crate::xdr::ErrorKind::Invalid(
                "trailing bytes after the payload",
            ))));
        }
        Ok(v)
    }

    /// Moves an error found while decoding `bytes` to message offsets.
    pub fn shift(&self, e: XdrError) -> XdrError {
        e.shifted(self.offset)
    }

    /// The part of the payload from `start` on (relative to the payload),
    /// keeping message offsets; empty when `start` is past the end.
    pub fn sub(&self, start: usize) -> Payload<'a> {
        let start = start.min(self.bytes.len());
        Payload {
            bytes: self.bytes.get(start..).unwrap_or_default(),
            offset: self.offset + start,
        }
    }
}

impl<'a> OpaqueAuth<'a> {
    /// An AUTH_NONE authenticator with an empty body.
    pub const fn none() -> Self {
        OpaqueAuth {
            flavor: AuthFlavor::AUTH_NONE,
            body: Opaque::borrowed(&[]),
        }
    }

    /// True when the body is longer than [`MAX_AUTH_BYTES`].
    pub fn is_oversized(&self) -> bool {
        self.body.len() > MAX_AUTH_BYTES
    }

    /// The body decoded according to the flavor (see [`Credential::decode`]).
    /// Errors are at offsets inside the body; add [`CRED_BODY_OFFSET`] for a
    /// call's credential.
    pub fn credential(&self) -> XdrResult<Credential<'_>> {
        Credential::decode(self.flavor, self.body.as_bytes())
    }
}

impl<'a> RpcMessage<'a> {
    /// Decodes the header of the message in `buf` (one whole record) and
    /// returns it with the bytes that follow it.
    ///
    /// For a call the payload holds the procedure arguments and for an
    /// accepted SUCCESS reply the results. RFC 5531 defines nothing after
    /// other replies; any trailing bytes are still returned, so the caller
    /// can flag them.
    pub fn parse(buf: &'a [u8]) -> XdrResult<(RpcMessage<'a>, Payload<'a>)> {
        let mut r = Reader::new(buf);
        let msg = RpcMessage::decode(&mut r)?;
        let offset = r.offset();
        let bytes = r.rest();
        Ok((msg, Payload { bytes, offset }))
    }

    /// A call header with `rpcvers` 2.
    pub fn call(
        xid: u32,
        prog: u32,
        vers: u32,
        procedure: u32,
        cred: OpaqueAuth<'a>,
        verf: OpaqueAuth<'a>,
    ) -> Self {
        RpcMessage {
            xid,
            body: MsgBody::Call(CallBody {
                rpcvers: RPC_VERSION,
                prog,
                vers,
                procedure,
                cred,
                verf,
            }),
        }
    }

    /// An accepted SUCCESS reply header with the server's verifier.
    pub fn success_reply(xid: u32, verf: OpaqueAuth<'a>) -> Self {
        RpcMessage {
            xid,
            body: MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
                verf,
                reply_data: AcceptedReplyData::Success,
            })),
        }
    }

    /// The call header, if this is a call.
    pub fn as_call(&self) -> Option<&CallBody<'a>> {
        match &self.body {
            MsgBody::Call(c) => Some(c),
            MsgBody::Reply(_) => None,
        }
    }

    /// The reply header, if this is a reply.
    pub fn as_reply(&self) -> Option<&ReplyBody<'a>> {
        match &self.body {
            MsgBody::Reply(r) => Some(r),
            MsgBody::Call(_) => None,
        }
    }

    /// True for a reply whose results follow (accepted with SUCCESS).
    pub fn is_success(&self) -> bool {
        matches!(
            &self.body,
            MsgBody::Reply(ReplyBody::Accepted(AcceptedReply {
                reply_data: AcceptedReplyData::Success,
                ..
            }))
        )
    }

    /// Appends the header then `payload` (already XDR-encoded) to `w`.
    pub fn encode_with_payload(&self, w: &mut Writer, payload: &[u8]) {
        self.encode(w);
        w.put_raw(payload);
    }

    /// The header followed by `payload` (already XDR-encoded), as one message.
    pub fn to_bytes_with_payload(&self, payload: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_with_payload(&mut w, payload);
        w.into_bytes()
    }
}

#[cfg(test)]
mod tests;
