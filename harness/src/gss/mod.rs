//! RPCSEC_GSS (RFC 2203) with Kerberos V5 through the system's GSS-API.
//!
//! - [`api`]: the GSS-API of MIT Kerberos (`libgssapi_krb5.so.2`), opened
//!   at run time with `dlopen` so that building needs no system package;
//!   names, credentials (from an explicit credential store: several
//!   principals in one process, no environment variables) and security
//!   contexts, each released on drop.
//! - [`rpcsec`]: the RPCSEC_GSS version 1 client: context creation over
//!   the NULL procedure, per-call credentials and verifiers with sequence
//!   numbers inside the server's window, integrity and privacy of arguments
//!   and results, context destruction. It builds and checks RPC pieces with
//!   the analyzer's codec and leaves the sending to the caller (the harness
//!   client sends them: `client::Principal::Gss`).
//! - [`testkit`]: a keyed stand-in for GSS protection, for tests and fake
//!   peers that need RPCSEC_GSS without a KDC.
//!
//! A typical use, on any transport that can send a call with a chosen
//! credential and verifier and return the reply's verifier and results:
//!
//! ```no_run
//! # use trunkcheck::gss::*;
//! # use analyzer::rpc::RpcGssService;
//! # fn send(c: &InitCall) -> Result<InitReply, String> { unimplemented!() }
//! let cred = Cred::initiator(
//!     Some(&Name::principal("host/client.example@EXAMPLE")?),
//!     &CredStore {
//!         ccache: Some("FILE:/tmp/client.cc".into()),
//!         client_keytab: Some("FILE:/tmp/client.keytab".into()),
//!     },
//! )?;
//! let target = Name::service("nfs", "server.example")?;
//! let ctx = GssContext::establish(&cred, &target, RpcGssService::rpc_gss_svc_integrity, send)?;
//! let call = ctx.seal_call(0x1234, 100003, 4, 1, b"compound args")?;
//! // send call.cred, call.verf, call.body; then with the reply:
//! # let (verf, results) = (call.verf.clone(), Vec::<u8>::new());
//! let plain = ctx.unseal_reply(&call, &verf, &results)?;
//! # Ok::<(), GssError>(())
//! ```

#![deny(missing_docs)]

pub mod api;
pub mod rpcsec;
pub mod testkit;
#[cfg(test)]
mod tests;

pub use api::{Cred, CredStore, Gssapi, InitStep, Name, NameType, SecContext};
pub use rpcsec::{GssContext, InitCall, InitOutcome, InitReply, PerMessage, SealedCall, SeqWindow};

/// What went wrong with GSS-API or RPCSEC_GSS. Cloneable (the library's
/// load failure is kept for the process).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GssError {
    /// The GSS-API library could not be opened.
    #[error("the GSS-API library {library} could not be loaded ({detail}): apt-get install libgssapi-krb5-2")]
    LibraryMissing {
        /// The file name.
        library: &'static str,
        /// What the dynamic loader said.
        detail: String,
    },
    /// The library lacks a function.
    #[error("the GSS-API library lacks {symbol}: {detail}")]
    SymbolMissing {
        /// The function.
        symbol: &'static str,
        /// What the dynamic loader said.
        detail: String,
    },
    /// A GSS-API call failed.
    #[error("{call} failed: {message} (major 0x{major:08x}, minor {minor})")]
    Gss {
        /// The function.
        call: &'static str,
        /// Its major status.
        major: u32,
        /// Its minor (mechanism) status.
        minor: u32,
        /// The library's text for both.
        message: String,
    },
    /// A name could not be imported.
    #[error("invalid GSS name {name:?}: {detail}")]
    InvalidName {
        /// The text given.
        name: String,
        /// Why.
        detail: String,
    },
    /// A per-message call on a context not yet established.
    #[error("{call} on a GSS context that is not established")]
    NotEstablished {
        /// The function.
        call: &'static str,
    },
    /// Privacy was asked for but the token was not encrypted.
    #[error("{call}: the mechanism did not provide confidentiality")]
    NoConfidentiality {
        /// The function.
        call: &'static str,
    },
    /// The server answered context creation with a GSS error.
    #[error("the server refused the GSS context: {message} (gss_major 0x{major:08x}, gss_minor {minor})")]
    ServerRefused {
        /// The server's `gss_major`.
        major: u32,
        /// The server's `gss_minor`.
        minor: u32,
        /// The library's text for the major status.
        message: String,
    },
    /// The exchange broke RFC 2203's context-creation rules.
    #[error("RPCSEC_GSS context creation: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
    /// Context creation needed too many round trips.
    #[error("RPCSEC_GSS context creation unfinished after {0} round trips")]
    TooManyRoundTrips(usize),
    /// The transport could not carry a context-creation call.
    #[error("RPCSEC_GSS context creation call: {0}")]
    Transport(String),
    /// Bytes from the server could not be decoded.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's error.
        detail: String,
    },
    /// A reply verifier is not the MIC the RFC requires.
    #[error("bad RPCSEC_GSS verifier on the {what}: {detail}")]
    BadVerifier {
        /// Which reply.
        what: String,
        /// Why.
        detail: String,
    },
    /// An integrity checksum does not verify.
    #[error("bad rpc_gss_integ_data checksum (seq_num {seq_num}): {detail}")]
    BadChecksum {
        /// The call's sequence number.
        seq_num: u32,
        /// Why.
        detail: String,
    },
    /// The sequence number inside a protected body is not the call's.
    #[error("RPCSEC_GSS body carries seq_num {found}, the call had {expected}")]
    SeqMismatch {
        /// The call's sequence number.
        expected: u32,
        /// The one inside the body.
        found: u32,
    },
    /// Sequence numbers reached MAXSEQ: a new context is needed.
    #[error("RPCSEC_GSS sequence numbers exhausted (MAXSEQ): create a new context")]
    SeqExhausted,
    /// A new call would fall outside the server's window.
    #[error("RPCSEC_GSS window of {window} full: seq_num {oldest} still waits for its reply, next is {next}")]
    WindowFull {
        /// The server's window.
        window: u32,
        /// The oldest call in flight.
        oldest: u32,
        /// The number the new call would get.
        next: u32,
    },
    /// A service value RFC 2203 does not define.
    #[error("unknown rpc_gss_service_t {0}")]
    UnknownService(u32),
}
