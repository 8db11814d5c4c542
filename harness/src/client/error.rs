//! What can go wrong below the NFS level: connecting, the transport, RPC.

use crate::gss::GssError;
use analyzer::rpc::AuthStat;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// A client failure. NFS statuses are not errors (they are returned); these
/// are the cases where no NFS answer could be had. Cloneable, so that one
/// fatal transport error can fail every call waiting on the connection.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be made (refused, timed out, bad source address).
    #[error("cannot connect to {to}{}: {source}", from.map(|a| format!(" from {a}")).unwrap_or_default())]
    Connect {
        /// Server address.
        to: SocketAddr,
        /// Source address asked for, if any.
        from: Option<IpAddr>,
        /// The operating system's reason.
        #[source]
        source: Arc<io::Error>,
    },
    /// No reply came within the reply timeout.
    #[error("no reply from {to} to {call} (xid {xid:#010x}) within {after:?}")]
    Timeout {
        /// Server address.
        to: SocketAddr,
        /// Transaction id of the call.
        xid: u32,
        /// The timeout that expired.
        after: Duration,
        /// What the call was (program, procedure, operations).
        call: String,
    },
    /// The connection was reset or closed (also in the middle of a record).
    #[error("connection to {to} closed: {detail}")]
    Closed {
        /// Server address.
        to: SocketAddr,
        /// What happened and when.
        detail: String,
    },
    /// The peer sent bytes that are not an RPC message.
    #[error("garbage from {to}: {detail}")]
    Garbage {
        /// Server address.
        to: SocketAddr,
        /// What could not be understood.
        detail: String,
    },
    /// A record header claimed more bytes than the configured maximum.
    #[error("record from {to} claims {size} bytes, over the limit of {max}")]
    RecordTooLarge {
        /// Server address.
        to: SocketAddr,
        /// Bytes the record would have.
        size: u64,
        /// The configured maximum (`ConnectOptions::max_record`).
        max: u32,
    },
    /// The RPC layer refused the call (denied, program/version/procedure
    /// unavailable, garbage arguments, system error).
    #[error("RPC call xid {xid:#010x} to {to} refused: {detail}")]
    Rpc {
        /// Server address.
        to: SocketAddr,
        /// Transaction id of the call.
        xid: u32,
        /// The reply's status.
        detail: String,
    },
    /// The results could not be decoded.
    #[error("cannot decode {what} from {to}: {detail}")]
    Xdr {
        /// Server address.
        to: SocketAddr,
        /// What was being decoded.
        what: String,
        /// The decoder's message.
        detail: String,
    },
    /// A reply to an RPCSEC_GSS call whose verifier, integrity checksum,
    /// privacy body or inner sequence number is wrong (RFC 2203 §5.3.3.2,
    /// §5.3.2.2): the server's fault, reported, never trusted.
    #[error("RPCSEC_GSS reply xid {xid:#010x} from {to} refused: {detail}")]
    Gss {
        /// Server address.
        to: SocketAddr,
        /// Transaction id of the call.
        xid: u32,
        /// What did not verify.
        detail: String,
    },
    /// The server denied an RPCSEC_GSS call (context creation included):
    /// MSG_DENIED AUTH_ERROR, e.g. RPCSEC_GSS_CREDPROBLEM (it cannot
    /// verify the credential: a bad call verifier, an unknown handle) or
    /// RPCSEC_GSS_CTXPROBLEM (a problem with the context), RFC 2203
    /// §5.3.3.3, or AUTH_REJECTEDCRED for a ticket it cannot accept.
    #[error("RPC call xid {xid:#010x} to {to} denied: {}", gss_problem_text(*.stat))]
    GssDenied {
        /// Server address.
        to: SocketAddr,
        /// Transaction id of the call.
        xid: u32,
        /// The `auth_stat` the server sent.
        stat: AuthStat,
    },
    /// This client could not create, use or destroy an RPCSEC_GSS context
    /// (a GSS-API failure, the server refusing context creation, the
    /// sequence window full or exhausted).
    #[error("RPCSEC_GSS with {to}: {source}")]
    GssContext {
        /// Server address.
        to: SocketAddr,
        /// What went wrong.
        #[source]
        source: GssError,
    },
    /// A reply that decodes but breaks the protocol's shape (e.g. a result
    /// array that does not match the request), or a local misuse.
    #[error("protocol error: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
}

/// What an RPCSEC_GSS `auth_stat` means for the client.
fn gss_problem_text(stat: AuthStat) -> String {
    match stat {
        AuthStat::RPCSEC_GSS_CREDPROBLEM => {
            "MSG_DENIED AUTH_ERROR RPCSEC_GSS_CREDPROBLEM (the server cannot verify the credential)"
                .into()
        }
        AuthStat::RPCSEC_GSS_CTXPROBLEM => {
            "MSG_DENIED AUTH_ERROR RPCSEC_GSS_CTXPROBLEM (the server has no such context)".into()
        }
        other => format!("MSG_DENIED AUTH_ERROR {other}"),
    }
}

impl ClientError {
    /// The `auth_stat` of a [`ClientError::GssDenied`].
    pub fn gss_problem(&self) -> Option<AuthStat> {
        match self {
            ClientError::GssDenied { stat, .. } => Some(*stat),
            _ => None,
        }
    }

    /// True for errors after which the connection is unusable.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ClientError::Closed { .. }
                | ClientError::Garbage { .. }
                | ClientError::RecordTooLarge { .. }
                | ClientError::Connect { .. }
        )
    }
}
