//! The harness's own NFSv4.0/4.1/4.2 client, at the COMPOUND level.
//!
//! It says exactly what a test wants on exactly the connection it wants:
//! well-formed requests as a good client sends them, and also invalid ones
//! (wrong positions, wrong ids, raw bytes) for negative tests. Every message
//! is built with the analyzer's codec; there is no second encoder here.
//!
//! - [`rpc`]: credentials ([`Principal`]: AUTH_NONE, AUTH_SYS and
//!   RPCSEC_GSS) and RPC call/reply framing.
//! - [`conn`]: a TCP [`Connection`] from a chosen source address, with a
//!   reader thread that matches replies to calls by xid and hands calls from
//!   the server (the NFSv4.1 backchannel) to a [`CallbackService`].
//! - [`callback`]: the callback service (CB_NULL, CB_COMPOUND of every minor
//!   version) that records what the server sent.
//! - [`session`]: NFSv4.1/4.2 client IDs and sessions, the slot table and
//!   SEQUENCE, BIND_CONN_TO_SESSION, lease renewal.
//! - [`v40`]: NFSv4.0 SETCLIENTID/SETCLIENTID_CONFIRM/RENEW and the callback
//!   listener the server connects to.
//! - [`ops`]: builders of the operations sent and readers of their results.
//!
//! Each connection answers the server's calls with its own
//! [`CallbackService`]; to see the callbacks of every connection of a
//! session in one place, open the others with [`Connection::connect_with`]
//! and the first one's service (`first.callbacks().clone()`).
//!
//! Kerberos: create a context over a connection with
//! [`Connection::gss_context`] (a `gss::Cred` of the principal, the
//! server's `gss::Name`, the service), then act as `Principal::gss(ctx)`
//! (or `.with_service(..)`) on any connection to that server: every call
//! is sealed (krb5, krb5i, krb5p) and every reply verified before its
//! results are returned; [`Connection::gss_destroy`] ends the context.
//! Callbacks stay AUTH_NONE/AUTH_SYS (see [`callback`]).
//!
//! Errors are [`ClientError`] values naming the peer and what was being
//! done; NFS statuses are never errors, they are returned for the test to
//! judge. A reply that fails RPCSEC_GSS verification is
//! [`ClientError::Gss`] (the server's fault), a denial of an RPCSEC_GSS
//! call [`ClientError::GssDenied`], a context this client could not create
//! or use [`ClientError::GssContext`]. Every wait has a timeout.

pub mod callback;
pub mod conn;
mod error;
pub mod ops;
pub mod rpc;
pub mod session;
pub mod v40;

pub use callback::{CallbackService, CbAction, ReceivedCallback};
pub use conn::{ConnStats, ConnectOptions, Connection};
pub use error::ClientError;
pub use rpc::Principal;
pub use session::{ClientOwner, KeepAlive, Session};
pub use v40::CallbackListener;
