//! Credentials and verifiers: typed views of `opaque_auth` bodies (RFC 5531
//! AUTH_NONE and AUTH_SYS, RFC 2203 RPCSEC_GSS, RFC 9289 AUTH_TLS) and the
//! RPCSEC_GSS data-body wrappings.
//!
//! RPCSEC_GSS credentials are decoded, never verified: this module holds no
//! GSS context, so checksums and encrypted bodies are reported as bytes.

use super::{AuthFlavor, OpaqueAuth, Payload};
use crate::xdr::{to_bytes, ErrorKind, Opaque, Reader, Xdr, XdrError, XdrResult};

/// Most bytes of `machinename` in `authsys_parms`.
pub const MAX_MACHINENAME: usize = 255;

/// Most supplementary `gids` in `authsys_parms`.
pub const MAX_GIDS: usize = 16;

/// The RPCSEC_GSS credential version RFC 2203 defines.
pub const RPCSEC_GSS_VERS_1: u32 = 1;

/// The RPCSEC_GSS sequence numbers must stay below this (RFC 2203 `MAXSEQ`).
pub const MAXSEQ: u32 = 0x8000_0000;

/// Body of the AUTH_NONE reply verifier by which a server accepts an
/// AUTH_TLS probe (RFC 9289).
pub const STARTTLS_VERIFIER: &[u8] = b"STARTTLS";

xdr_struct! {
    /// `authsys_parms`: the AUTH_SYS credential body.
    pub struct AuthSysParms<'a> {
        /// Arbitrary id the caller machine generates.
        pub stamp: u32,
        /// Name of the caller's machine (at most 255 bytes by the RFC).
        pub machinename: Opaque<'a>,
        /// Caller's effective user id.
        pub uid: u32,
        /// Caller's effective group id.
        pub gid: u32,
        /// Supplementary group ids (at most 16 by the RFC).
        pub gids: Vec<u32>,
    }
}

xdr_enum! {
    /// `rpc_gss_proc_t`: the RPCSEC_GSS control procedure of a call.
    pub enum RpcGssProc {
        /// An ordinary call within an established context.
        RPCSEC_GSS_DATA = 0,
        /// First context-creation call.
        RPCSEC_GSS_INIT = 1,
        /// Later context-creation call.
        RPCSEC_GSS_CONTINUE_INIT = 2,
        /// Context destruction.
        RPCSEC_GSS_DESTROY = 3,
    }
}

xdr_enum! {
    /// `rpc_gss_service_t`: the protection applied to arguments and results.
    pub enum RpcGssService {
        /// Authentication only: the body is sent in the clear.
        #[allow(non_upper_case_globals)]
        rpc_gss_svc_none = 1,
        /// The body is wrapped in `rpc_gss_integ_data` with a checksum.
        #[allow(non_upper_case_globals)]
        rpc_gss_svc_integrity = 2,
        /// The body is encrypted in `rpc_gss_priv_data`.
        #[allow(non_upper_case_globals)]
        rpc_gss_svc_privacy = 3,
    }
}

xdr_struct! {
    /// `rpc_cred_vers_1_t`: the version 1 RPCSEC_GSS credential.
    pub struct RpcGssCredVers1<'a> {
        /// Control procedure.
        pub gss_proc: RpcGssProc,
        /// Sequence number of the request.
        pub seq_num: u32,
        /// Protection of the arguments and results.
        pub service: RpcGssService,
        /// Context handle the server returned at creation.
        pub handle: Opaque<'a>,
    }
}

// `xdr_union!` cannot take doc attributes on arms after the first (a `#`
// after a comma is ambiguous with the default arm's), so union variants
// are described by plain comments and the enums allow missing docs.
xdr_union! {
    /// `rpc_gss_cred_t`: the RPCSEC_GSS credential body, by version.
    #[allow(missing_docs)]
    pub enum RpcGssCred<'a> switch (u32) {
        // Version 1 (RFC 2203).
        case RPCSEC_GSS_VERS_1 => Vers1(RpcGssCredVers1<'a>),
    }
}

xdr_struct! {
    /// `rpc_gss_init_arg`: arguments of a context-creation call.
    pub struct RpcGssInitArg<'a> {
        /// GSS-API context token.
        pub gss_token: Opaque<'a>,
    }
}

xdr_struct! {
    /// `rpc_gss_init_res`: results of a context-creation call.
    pub struct RpcGssInitRes<'a> {
        /// Context handle for later calls.
        pub handle: Opaque<'a>,
        /// GSS-API major status.
        pub gss_major: u32,
        /// GSS-API minor status.
        pub gss_minor: u32,
        /// Size of the server's sequence window.
        pub seq_window: u32,
        /// GSS-API context token.
        pub gss_token: Opaque<'a>,
    }
}

xdr_struct! {
    /// `rpc_gss_integ_data`: an integrity-protected body.
    pub struct RpcGssIntegData<'a> {
        /// XDR of the sequence number followed by the arguments or results.
        pub databody_integ: Opaque<'a>,
        /// GSS checksum (MIC) of `databody_integ`.
        pub checksum: Opaque<'a>,
    }
}

xdr_struct! {
    /// `rpc_gss_priv_data`: a privacy-protected (encrypted) body.
    pub struct RpcGssPrivData<'a> {
        /// The wrapped (encrypted) sequence number and arguments or results.
        pub databody_priv: Opaque<'a>,
    }
}

impl AuthSysParms<'_> {
    /// The RFC limits this credential exceeds (empty when it conforms).
    pub fn violations(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.machinename.len() > MAX_MACHINENAME {
            v.push("machinename longer than 255 bytes");
        }
        if self.gids.len() > MAX_GIDS {
            v.push("more than 16 gids");
        }
        v
    }
}

impl RpcGssCred<'_> {
    /// The version 1 credential (the only version defined).
    pub fn vers1(&self) -> &RpcGssCredVers1<'_> {
        match self {
            RpcGssCred::Vers1(c) => c,
        }
    }
}

/// A credential body decoded according to its flavor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential<'a> {
    /// AUTH_NONE (its body, normally empty, is ignored).
    None,
    /// AUTH_SYS with its parameters.
    Sys(AuthSysParms<'a>),
    /// RPCSEC_GSS with its (unverified) credential.
    Gss(RpcGssCred<'a>),
    /// AUTH_TLS probe (its body, normally empty, is ignored).
    Tls,
    /// Any other flavor, kept raw.
    Other {
        /// The flavor number.
        flavor: AuthFlavor,
        /// The undecoded body.
        body: Opaque<'a>,
    },
}

/// Decodes `T` from all of `body`; trailing bytes are an error.
fn decode_exactly<'a, T: Xdr<'a>>(body: &'a [u8], what: &'static str) -> XdrResult<T> {
    let mut r = Reader::new(body);
    let v = T::decode(&mut r).map_err(|e| e.within(what))?;
    if !r.is_empty() {
        return Err(r
            .error(ErrorKind::Invalid("trailing bytes after the credential"))
            .within(what));
    }
    Ok(v)
}

impl<'a> Credential<'a> {
    /// Decodes a credential body of `flavor`. AUTH_SYS and RPCSEC_GSS bodies
    /// must be filled exactly by their structure; an unknown RPCSEC_GSS
    /// version is a `BadDiscriminant` error. Offsets are inside `body`.
    pub fn decode(flavor: AuthFlavor, body: &'a [u8]) -> XdrResult<Credential<'a>> {
        match flavor {
            AuthFlavor::AUTH_NONE => Ok(Credential::None),
            AuthFlavor::AUTH_SYS => decode_exactly(body, "authsys_parms").map(Credential::Sys),
            AuthFlavor::RPCSEC_GSS => decode_exactly(body, "rpc_gss_cred_t").map(Credential::Gss),
            AuthFlavor::AUTH_TLS => Ok(Credential::Tls),
            _ => Ok(Credential::Other {
                flavor,
                body: Opaque::borrowed(body),
            }),
        }
    }

    /// The flavor this credential is sent with.
    pub fn flavor(&self) -> AuthFlavor {
        match self {
            Credential::None => AuthFlavor::AUTH_NONE,
            Credential::Sys(_) => AuthFlavor::AUTH_SYS,
            Credential::Gss(_) => AuthFlavor::RPCSEC_GSS,
            Credential::Tls => AuthFlavor::AUTH_TLS,
            Credential::Other { flavor, .. } => *flavor,
        }
    }

    /// Encodes the credential as an authenticator (AUTH_NONE and AUTH_TLS
    /// get an empty body). RFC limits are not checked, so a test client can
    /// send an oversized credential on purpose.
    pub fn to_opaque_auth(&self) -> OpaqueAuth<'static> {
        let body: Vec<u8> = match self {
            Credential::None | Credential::Tls => Vec::new(),
            Credential::Sys(p) => to_bytes(p),
            Credential::Gss(c) => to_bytes(c),
            Credential::Other { body, .. } => body.as_bytes().to_vec(),
        };
        OpaqueAuth {
            flavor: self.flavor(),
            body: Opaque::from(body),
        }
    }
}

impl OpaqueAuth<'_> {
    /// An AUTH_SYS credential carrying `parms`.
    pub fn sys(parms: &AuthSysParms<'_>) -> OpaqueAuth<'static> {
        OpaqueAuth {
            flavor: AuthFlavor::AUTH_SYS,
            body: Opaque::from(to_bytes(parms)),
        }
    }

    /// True for the verifier by which a server accepts an AUTH_TLS probe
    /// (flavor AUTH_NONE, body `STARTTLS`).
    pub fn is_starttls(&self) -> bool {
        self.flavor == AuthFlavor::AUTH_NONE && self.body.as_bytes() == STARTTLS_VERIFIER
    }
}

/// Arguments or results of an RPCSEC_GSS message, after removing the
/// wrapping its service applies. Offsets stay message offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GssBody<'a> {
    /// Sent in the clear (`rpc_gss_svc_none`, or a control procedure).
    Plain(Payload<'a>),
    /// `rpc_gss_svc_integrity`: the sequence number and the body, unverified.
    Integrity {
        /// Sequence number inside `databody_integ` (should equal the
        /// credential's `seq_num`).
        seq_num: u32,
        /// The arguments or results inside `databody_integ`.
        body: Payload<'a>,
        /// The checksum bytes (not verified).
        checksum: Payload<'a>,
    },
    /// `rpc_gss_svc_privacy`: the encrypted body.
    Privacy {
        /// The contents of `databody_priv` (encrypted).
        databody_priv: Payload<'a>,
    },
}

impl<'a> GssBody<'a> {
    /// Removes the wrapping from the payload of a call made with `cred`, or
    /// of the reply to it. Only RPCSEC_GSS_DATA bodies are wrapped: context
    /// creation and destruction bodies are plain, as Linux sends them.
    pub fn parse(payload: Payload<'a>, cred: &RpcGssCredVers1<'_>) -> XdrResult<GssBody<'a>> {
        if cred.gss_proc == RpcGssProc::RPCSEC_GSS_DATA {
            Self::parse_service(payload, cred.service)
        } else {
            Ok(GssBody::Plain(payload))
        }
    }

    /// Removes the wrapping `service` applies from `payload`. Trailing bytes
    /// after the wrapping and a `databody_integ` too short for its sequence
    /// number are errors; an unknown service is a `BadDiscriminant` error at
    /// the start of the payload.
    pub fn parse_service(payload: Payload<'a>, service: RpcGssService) -> XdrResult<GssBody<'a>> {
        match service {
            RpcGssService::rpc_gss_svc_none => Ok(GssBody::Plain(payload)),
            RpcGssService::rpc_gss_svc_integrity => {
                // Read by hand rather than through `RpcGssIntegData`, to keep
                // the offsets of the inner bytes.
                let mut r = Reader::new(payload.bytes);
                let data = r
                    .opaque()
                    .map_err(|e| payload.shift(e.within("databody_integ")))?;
                // The opaque bytes start after their 4-byte length.
                let data_offset = payload.offset + 4;
                let checksum_offset = payload.offset + r.offset() + 4;
                let checksum = r
                    .opaque()
                    .map_err(|e| payload.shift(e.within("checksum")))?;
                if !r.is_empty() {
                    return Err(payload.shift(r.error(ErrorKind::Invalid(
                        "trailing bytes after rpc_gss_integ_data",
                    ))));
                }
                let mut inner = Reader::new(data);
                let seq_num = inner
                    .u32()
                    .map_err(|e| e.within("databody_integ").shifted(data_offset))?;
                Ok(GssBody::Integrity {
                    seq_num,
                    body: Payload {
                        bytes: inner.rest(),
                        offset: data_offset + 4,
                    },
                    checksum: Payload {
                        bytes: checksum,
                        offset: checksum_offset,
                    },
                })
            }
            RpcGssService::rpc_gss_svc_privacy => {
                let mut r = Reader::new(payload.bytes);
                let data = r
                    .opaque()
                    .map_err(|e| payload.shift(e.within("databody_priv")))?;
                if !r.is_empty() {
                    return Err(payload.shift(
                        r.error(ErrorKind::Invalid("trailing bytes after rpc_gss_priv_data")),
                    ));
                }
                Ok(GssBody::Privacy {
                    databody_priv: Payload {
                        bytes: data,
                        offset: payload.offset + 4,
                    },
                })
            }
            other => Err(XdrError::new(
                ErrorKind::BadDiscriminant(i64::from(other.0)),
                payload.offset,
            )
            .within("rpc_gss_service_t")),
        }
    }
}
