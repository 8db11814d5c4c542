//! RPCSEC_GSS version 1 (RFC 2203) on the client side.
//!
//! - Context creation ([`GssContext::establish`]): NULL-procedure calls with
//!   `RPCSEC_GSS_INIT` then `RPCSEC_GSS_CONTINUE_INIT` carrying
//!   `rpc_gss_init_arg`, until both the mechanism and the server say
//!   complete; the final reply's verifier is the MIC of the server's
//!   `seq_window` (§5.2.3.1).
//! - Data calls ([`GssContext::seal_call`]): the credential with the next
//!   sequence number, the verifier (MIC of the header from the xid up to and
//!   including the credential, §5.3.1), and the arguments as the service
//!   says: in the clear, as `rpc_gss_integ_data` (sequence number and
//!   arguments, with their MIC) or as `rpc_gss_priv_data` (the same
//!   wrapped), §5.3.2.
//! - Replies ([`GssContext::unseal_reply`]): the verifier must be the MIC of
//!   the call's sequence number (§5.3.3.2); results are checked and
//!   unwrapped as the call's service says, and their inner sequence number
//!   must be the call's.
//! - Destruction ([`GssContext::seal_destroy`]): `RPCSEC_GSS_DESTROY` on the
//!   NULL procedure, its void arguments unwrapped (as Linux sends them); a
//!   reply whose void results are wrapped (as NFS-Ganesha sends them) is
//!   verified like a data reply.
//!
//! The wire types are the analyzer's (`analyzer::rpc::auth`); no transport
//! here: the caller sends what this module builds, so the harness client and
//! a test's own socket can both carry it.

use super::api::{Cred, InitStep, Name, SecContext, CONF_FLAG, INTEG_FLAG, MUTUAL_FLAG};
use super::GssError;
use analyzer::rpc::auth::{RpcGssInitArg, RpcGssInitRes, RpcGssIntegData, RpcGssPrivData, MAXSEQ};
use analyzer::rpc::{
    AuthFlavor, GssBody, MsgType, OpaqueAuth, Payload, RpcGssCred, RpcGssCredVers1, RpcGssProc,
    RpcGssService, RpcMessage, RPC_VERSION,
};
use analyzer::xdr::{from_bytes, to_bytes, Opaque, Writer, Xdr};
use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The NULL procedure, which carries context creation and destruction.
pub const NULLPROC: u32 = 0;

/// Most context-creation round trips before giving up (Kerberos needs one).
pub const MAX_INIT_ROUND_TRIPS: usize = 8;

/// The flags the client asks of the mechanism: mutual authentication (the
/// server proves it holds the target's key), integrity and confidentiality.
pub const REQUEST_FLAGS: u32 = MUTUAL_FLAG | INTEG_FLAG | CONF_FLAG;

/// The per-message operations of an established GSS context.
pub trait PerMessage: Send {
    /// A MIC of `message`.
    fn get_mic(&mut self, message: &[u8]) -> Result<Vec<u8>, GssError>;
    /// `Ok` when `mic` is a valid MIC of `message`.
    fn verify_mic(&mut self, message: &[u8], mic: &[u8]) -> Result<(), GssError>;
    /// `message` encrypted and integrity-protected.
    fn wrap(&mut self, message: &[u8]) -> Result<Vec<u8>, GssError>;
    /// The message inside an encrypted `token`.
    fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, GssError>;
}

impl PerMessage for SecContext {
    fn get_mic(&mut self, message: &[u8]) -> Result<Vec<u8>, GssError> {
        SecContext::get_mic(self, message)
    }
    fn verify_mic(&mut self, message: &[u8], mic: &[u8]) -> Result<(), GssError> {
        SecContext::verify_mic(self, message, mic)
    }
    fn wrap(&mut self, message: &[u8]) -> Result<Vec<u8>, GssError> {
        SecContext::wrap(self, message)
    }
    fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, GssError> {
        SecContext::unwrap(self, token)
    }
}

// ---------------------------------------------------------------------------
// Pure encodings.

/// The RPCSEC_GSS credential (`rpc_gss_cred_vers_1_t`) as an authenticator.
pub fn credential(
    gss_proc: RpcGssProc,
    seq_num: u32,
    service: RpcGssService,
    handle: &[u8],
) -> OpaqueAuth<'static> {
    let cred = RpcGssCred::Vers1(RpcGssCredVers1 {
        gss_proc,
        seq_num,
        service,
        handle: Opaque::from(handle.to_vec()),
    });
    OpaqueAuth {
        flavor: AuthFlavor::RPCSEC_GSS,
        body: Opaque::from(to_bytes(&cred)),
    }
}

/// The bytes a call verifier's MIC covers: the RPC header from the xid up
/// to and including the credential (RFC 2203 §5.3.1).
pub fn header_to_credential(
    xid: u32,
    program: u32,
    version: u32,
    procedure: u32,
    cred: &OpaqueAuth<'_>,
) -> Vec<u8> {
    let mut w = Writer::with_capacity(32 + cred.body.len());
    w.put_u32(xid);
    MsgType::CALL.encode(&mut w);
    w.put_u32(RPC_VERSION);
    w.put_u32(program);
    w.put_u32(version);
    w.put_u32(procedure);
    cred.encode(&mut w);
    w.into_bytes()
}

/// `databody_integ` / the plaintext of `databody_priv`: the sequence number
/// followed by the arguments or results.
pub fn databody(seq_num: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.extend_from_slice(&seq_num.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Splits a `databody` into its sequence number and body.
pub fn split_databody(data: &[u8]) -> Result<(u32, &[u8]), GssError> {
    match data {
        [a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        _ => Err(GssError::Malformed {
            what: "RPCSEC_GSS data body",
            detail: format!("{} bytes, too short for a sequence number", data.len()),
        }),
    }
}

/// An `rpc_gss_integ_data` holding `databody` and its `checksum`.
pub fn integ_data(databody: Vec<u8>, checksum: Vec<u8>) -> Vec<u8> {
    to_bytes(&RpcGssIntegData {
        databody_integ: Opaque::from(databody),
        checksum: Opaque::from(checksum),
    })
}

/// An `rpc_gss_priv_data` holding the wrapped `token`.
pub fn priv_data(token: Vec<u8>) -> Vec<u8> {
    to_bytes(&RpcGssPrivData {
        databody_priv: Opaque::from(token),
    })
}

/// The XDR of one unsigned integer (what the window and reply verifiers
/// sign).
fn xdr_u32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

// ---------------------------------------------------------------------------
// The client's sequence numbers.

/// Sequence numbers of one context: each call takes the next one, and no
/// call is sent more than `window` numbers ahead of the oldest call still
/// waiting for its reply, since the server silently drops requests below
/// its window (RFC 2203 §5.3.3.1). Numbers never reach `MAXSEQ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqWindow {
    next: u32,
    window: u32,
    in_flight: BTreeSet<u32>,
}

impl SeqWindow {
    /// A window of `window` numbers (the server's `seq_window`), starting
    /// at `first`.
    pub fn new(window: u32, first: u32) -> SeqWindow {
        SeqWindow {
            next: first,
            window,
            in_flight: BTreeSet::new(),
        }
    }

    /// The next sequence number, now in flight.
    pub fn take(&mut self) -> Result<u32, GssError> {
        if self.next >= MAXSEQ {
            return Err(GssError::SeqExhausted);
        }
        if let Some(&oldest) = self.in_flight.first() {
            if self.next - oldest >= self.window {
                return Err(GssError::WindowFull {
                    window: self.window,
                    oldest,
                    next: self.next,
                });
            }
        }
        let seq = self.next;
        self.next += 1;
        self.in_flight.insert(seq);
        Ok(seq)
    }

    /// The call with `seq` got its reply or was given up; false when it was
    /// not in flight.
    pub fn finish(&mut self, seq: u32) -> bool {
        self.in_flight.remove(&seq)
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// True when [`SeqWindow::take`] would not fail with `WindowFull`.
    pub fn has_room(&self) -> bool {
        match self.in_flight.first() {
            Some(&oldest) => self.next - oldest < self.window,
            None => true,
        }
    }

    /// The server's window size.
    pub fn window(&self) -> u32 {
        self.window
    }
}

// ---------------------------------------------------------------------------
// Context creation.

/// One context-creation call for the caller to send: the NULL procedure of
/// the program with this credential, an AUTH_NONE verifier and `args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitCall {
    /// `RPCSEC_GSS_INIT` or `RPCSEC_GSS_CONTINUE_INIT`.
    pub gss_proc: RpcGssProc,
    /// The RPCSEC_GSS credential.
    pub cred: OpaqueAuth<'static>,
    /// The verifier (AUTH_NONE for creation calls).
    pub verf: OpaqueAuth<'static>,
    /// `rpc_gss_init_arg`, XDR-encoded.
    pub args: Vec<u8>,
}

/// The server's accepted SUCCESS reply to an [`InitCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReply {
    /// The reply verifier.
    pub verf: OpaqueAuth<'static>,
    /// The results (`rpc_gss_init_res`, XDR-encoded).
    pub results: Vec<u8>,
}

/// What the server said while creating the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOutcome {
    /// Round trips made.
    pub round_trips: usize,
    /// The server's `gss_major` in its last answer.
    pub gss_major: u32,
    /// The server's `gss_minor` in its last answer.
    pub gss_minor: u32,
}

/// One call sealed for sending: its credential, verifier and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCall {
    /// The sequence number in the credential.
    pub seq_num: u32,
    /// The control procedure (`RPCSEC_GSS_DATA` or `RPCSEC_GSS_DESTROY`).
    pub gss_proc: RpcGssProc,
    /// The protection of the body and of the results.
    pub service: RpcGssService,
    /// The RPCSEC_GSS credential.
    pub cred: OpaqueAuth<'static>,
    /// The RPCSEC_GSS verifier (MIC of the header).
    pub verf: OpaqueAuth<'static>,
    /// The arguments as the service wraps them.
    pub body: Vec<u8>,
}

impl SealedCall {
    /// The whole call message (header and body, not framed) for `xid`,
    /// `program`, `version`, `procedure` (the values it was sealed for).
    pub fn message(&self, xid: u32, program: u32, version: u32, procedure: u32) -> Vec<u8> {
        RpcMessage::call(
            xid,
            program,
            version,
            procedure,
            self.cred.clone(),
            self.verf.clone(),
        )
        .to_bytes_with_payload(&self.body)
    }
}

/// An established RPCSEC_GSS context: the server's handle, its window, the
/// GSS context and the sequence numbers. `Send + Sync`: calls may be
/// sealed from several threads.
pub struct GssContext {
    protection: Mutex<Box<dyn PerMessage>>,
    handle: Vec<u8>,
    service: RpcGssService,
    seq: Mutex<SeqWindow>,
    /// Signalled when a sequence number leaves the window.
    room: Condvar,
    outcome: InitOutcome,
    /// The acceptor's principal, when the mechanism tells it.
    acceptor: Option<String>,
}

impl std::fmt::Debug for GssContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GssContext")
            .field("handle", &analyzer::xdr::hex(&self.handle))
            .field("service", &self.service)
            .field("window", &self.window())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl GssContext {
    /// Creates a context as `cred` with the server `target` (e.g.
    /// `nfs@server`), for calls with `service` by default. `exchange` sends
    /// one [`InitCall`] (NULL procedure of the program to be used) and
    /// returns the accepted SUCCESS reply, or the reason it could not.
    pub fn establish<F, E>(
        cred: &Cred,
        target: &Name,
        service: RpcGssService,
        mut exchange: F,
    ) -> Result<GssContext, GssError>
    where
        F: FnMut(&InitCall) -> Result<InitReply, E>,
        E: std::fmt::Display,
    {
        let mut ctx = SecContext::new()?;
        let mut handle: Vec<u8> = Vec::new();
        let mut input: Vec<u8> = Vec::new();
        let mut round_trips = 0;
        loop {
            let step = ctx.step(cred, target, REQUEST_FLAGS, &input)?;
            let (token, mech_done) = match step {
                InitStep::Continue { token } => (token, false),
                InitStep::Complete { token } => (token, true),
            };
            if mech_done && token.is_empty() {
                // Nothing left for the server, but its last answer must
                // have been complete (checked below when it came).
                return Err(GssError::Protocol {
                    detail: "the mechanism completed without a final server answer".into(),
                });
            }
            if round_trips >= MAX_INIT_ROUND_TRIPS {
                return Err(GssError::TooManyRoundTrips(round_trips));
            }
            let gss_proc = if round_trips == 0 {
                RpcGssProc::RPCSEC_GSS_INIT
            } else {
                RpcGssProc::RPCSEC_GSS_CONTINUE_INIT
            };
            let call = InitCall {
                gss_proc,
                cred: credential(gss_proc, 0, service, &handle),
                verf: OpaqueAuth::none(),
                args: to_bytes(&RpcGssInitArg {
                    gss_token: Opaque::from(token),
                }),
            };
            round_trips += 1;
            let reply = exchange(&call).map_err(|e| GssError::Transport(e.to_string()))?;
            let res: RpcGssInitRes<'_> =
                from_bytes(&reply.results).map_err(|e| GssError::Malformed {
                    what: "rpc_gss_init_res",
                    detail: e.to_string(),
                })?;
            if super::api::is_error(res.gss_major) {
                return Err(GssError::ServerRefused {
                    major: res.gss_major,
                    minor: res.gss_minor,
                    message: super::api::Gssapi::get()
                        .map(|l| l.status_text(res.gss_major, 0))
                        .unwrap_or_default(),
                });
            }
            handle = res.handle.as_bytes().to_vec();
            let server_done = res.gss_major & super::api::S_CONTINUE_NEEDED == 0;
            if !server_done {
                input = res.gss_token.as_bytes().to_vec();
                if mech_done {
                    return Err(GssError::Protocol {
                        detail: "the server wants another round trip after the mechanism completed"
                            .into(),
                    });
                }
                continue;
            }
            // The server is done: finish our side with its token if needed.
            if !mech_done {
                match ctx.step(cred, target, REQUEST_FLAGS, res.gss_token.as_bytes())? {
                    InitStep::Complete { token } if token.is_empty() => {}
                    InitStep::Complete { .. } => {
                        return Err(GssError::Protocol {
                            detail: "the mechanism has a token for a server that said complete"
                                .into(),
                        })
                    }
                    InitStep::Continue { .. } => {
                        return Err(GssError::Protocol {
                            detail: "the server said complete but the mechanism needs more".into(),
                        })
                    }
                }
            }
            if handle.is_empty() {
                return Err(GssError::Protocol {
                    detail: "the server completed the context with an empty handle".into(),
                });
            }
            let outcome = InitOutcome {
                round_trips,
                gss_major: res.gss_major,
                gss_minor: res.gss_minor,
            };
            let acceptor = ctx.acceptor_name().ok();
            let mut made = GssContext::from_parts(
                Box::new(ctx),
                handle,
                res.seq_window,
                service,
                &reply.verf,
                outcome,
            )?;
            made.acceptor = acceptor;
            return Ok(made);
        }
    }

    /// A context from an established GSS context and the server's final
    /// answer: checks that `window_verf` is the MIC of `seq_window`.
    pub fn from_parts(
        mut protection: Box<dyn PerMessage>,
        handle: Vec<u8>,
        seq_window: u32,
        service: RpcGssService,
        window_verf: &OpaqueAuth<'_>,
        outcome: InitOutcome,
    ) -> Result<GssContext, GssError> {
        if window_verf.flavor != AuthFlavor::RPCSEC_GSS {
            return Err(GssError::BadVerifier {
                what: "context creation reply".into(),
                detail: format!("flavor {}, not RPCSEC_GSS", window_verf.flavor),
            });
        }
        protection
            .verify_mic(&xdr_u32(seq_window), window_verf.body.as_bytes())
            .map_err(|e| GssError::BadVerifier {
                what: format!("context creation reply (MIC of seq_window {seq_window})"),
                detail: e.to_string(),
            })?;
        if seq_window == 0 {
            return Err(GssError::Protocol {
                detail: "the server's sequence window is 0".into(),
            });
        }
        Ok(GssContext {
            protection: Mutex::new(protection),
            handle,
            service,
            seq: Mutex::new(SeqWindow::new(seq_window, 1)),
            room: Condvar::new(),
            outcome,
            acceptor: None,
        })
    }

    /// The acceptor's principal as the mechanism authenticated it (with
    /// mutual authentication: the server proved it holds that key).
    pub fn acceptor(&self) -> Option<&str> {
        self.acceptor.as_deref()
    }

    /// The server's context handle.
    pub fn handle(&self) -> &[u8] {
        &self.handle
    }

    /// The server's sequence window.
    pub fn window(&self) -> u32 {
        lock(&self.seq).window()
    }

    /// The default service of calls.
    pub fn service(&self) -> RpcGssService {
        self.service
    }

    /// What the server said while the context was created.
    pub fn outcome(&self) -> &InitOutcome {
        &self.outcome
    }

    /// Calls sealed whose reply has not been unsealed or abandoned.
    pub fn in_flight(&self) -> usize {
        lock(&self.seq).in_flight()
    }

    /// Seals a data call with the context's default service.
    pub fn seal_call(
        &self,
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        args: &[u8],
    ) -> Result<SealedCall, GssError> {
        self.seal(
            RpcGssProc::RPCSEC_GSS_DATA,
            self.service,
            xid,
            program,
            version,
            procedure,
            args,
        )
    }

    /// Seals a data call with `service` (a client may change the service
    /// from call to call, RFC 2203 §5.3.2).
    pub fn seal_call_with(
        &self,
        service: RpcGssService,
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        args: &[u8],
    ) -> Result<SealedCall, GssError> {
        self.seal(
            RpcGssProc::RPCSEC_GSS_DATA,
            service,
            xid,
            program,
            version,
            procedure,
            args,
        )
    }

    /// Seals the `RPCSEC_GSS_DESTROY` call (NULL procedure, no arguments).
    pub fn seal_destroy(
        &self,
        xid: u32,
        program: u32,
        version: u32,
    ) -> Result<SealedCall, GssError> {
        self.seal(
            RpcGssProc::RPCSEC_GSS_DESTROY,
            self.service,
            xid,
            program,
            version,
            NULLPROC,
            &[],
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn seal(
        &self,
        gss_proc: RpcGssProc,
        service: RpcGssService,
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        args: &[u8],
    ) -> Result<SealedCall, GssError> {
        let seq_num = lock(&self.seq).take()?;
        let sealed = self.seal_numbered(
            gss_proc, service, seq_num, xid, program, version, procedure, args,
        );
        if sealed.is_err() {
            self.release(seq_num);
        }
        sealed
    }

    #[allow(clippy::too_many_arguments)]
    fn seal_numbered(
        &self,
        gss_proc: RpcGssProc,
        service: RpcGssService,
        seq_num: u32,
        xid: u32,
        program: u32,
        version: u32,
        procedure: u32,
        args: &[u8],
    ) -> Result<SealedCall, GssError> {
        let cred = credential(gss_proc, seq_num, service, &self.handle);
        let header = header_to_credential(xid, program, version, procedure, &cred);
        let mut prot = lock(&self.protection);
        let verf = OpaqueAuth {
            flavor: AuthFlavor::RPCSEC_GSS,
            body: Opaque::from(prot.get_mic(&header)?),
        };
        // Only data calls wrap their body (control procedures have none).
        let body = if gss_proc != RpcGssProc::RPCSEC_GSS_DATA {
            args.to_vec()
        } else {
            match service {
                RpcGssService::rpc_gss_svc_none => args.to_vec(),
                RpcGssService::rpc_gss_svc_integrity => {
                    let data = databody(seq_num, args);
                    let checksum = prot.get_mic(&data)?;
                    integ_data(data, checksum)
                }
                RpcGssService::rpc_gss_svc_privacy => {
                    priv_data(prot.wrap(&databody(seq_num, args))?)
                }
                other => return Err(GssError::UnknownService(other.0)),
            }
        };
        Ok(SealedCall {
            seq_num,
            gss_proc,
            service,
            cred,
            verf,
            body,
        })
    }

    /// Checks the reply to `call`: its verifier must be the MIC of the
    /// call's sequence number, and the results are unwrapped as the call's
    /// service says. Returns the results in the clear. The call's sequence
    /// number leaves the window whatever the outcome.
    pub fn unseal_reply(
        &self,
        call: &SealedCall,
        verf: &OpaqueAuth<'_>,
        results: &[u8],
    ) -> Result<Vec<u8>, GssError> {
        self.release(call.seq_num);
        let mut prot = lock(&self.protection);
        check_reply_verifier(&mut **prot, call.seq_num, verf)?;
        if call.gss_proc != RpcGssProc::RPCSEC_GSS_DATA
            && (results.is_empty() || call.service == RpcGssService::rpc_gss_svc_none)
        {
            return Ok(results.to_vec());
        }
        // RFC 2203 §5.4 says the rest of a DESTROY message is "the same as
        // data messages"; Linux sends the call's void body unwrapped (as
        // this client does) but NFS-Ganesha 4.3 wraps the void results of
        // its reply as the service says: verify and unwrap them too.
        unwrap_results(&mut **prot, call.seq_num, call.service, results)
    }

    /// Gives up on the reply to `call` (a timeout): its sequence number
    /// leaves the window.
    pub fn abandon(&self, call: &SealedCall) {
        self.release(call.seq_num);
    }

    /// Sequence number `seq_num` leaves the window: its reply arrived (the
    /// server has seen the call, so later numbers cannot push it below the
    /// server's window) or the call was given up. Verifying the reply is
    /// still [`GssContext::unseal_reply`]'s job. False when it was not in
    /// flight.
    pub fn release(&self, seq_num: u32) -> bool {
        let released = lock(&self.seq).finish(seq_num);
        if released {
            self.room.notify_all();
        }
        released
    }

    /// Waits up to `timeout` until a new call fits in the window (the
    /// oldest call in flight is less than a window behind the next number);
    /// false when it still does not.
    pub fn wait_for_room(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut seq = lock(&self.seq);
        loop {
            if seq.has_room() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            seq = self
                .room
                .wait_timeout(seq, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// Checks that `verf` is an RPCSEC_GSS verifier holding the MIC of
/// `seq_num`.
pub fn check_reply_verifier(
    prot: &mut dyn PerMessage,
    seq_num: u32,
    verf: &OpaqueAuth<'_>,
) -> Result<(), GssError> {
    if verf.flavor != AuthFlavor::RPCSEC_GSS {
        return Err(GssError::BadVerifier {
            what: format!("reply to seq_num {seq_num}"),
            detail: format!("flavor {}, not RPCSEC_GSS", verf.flavor),
        });
    }
    prot.verify_mic(&xdr_u32(seq_num), verf.body.as_bytes())
        .map_err(|e| GssError::BadVerifier {
            what: format!("reply to seq_num {seq_num}"),
            detail: e.to_string(),
        })
}

/// The results inside a reply body protected with `service`, checked
/// against the call's `seq_num`.
pub fn unwrap_results(
    prot: &mut dyn PerMessage,
    seq_num: u32,
    service: RpcGssService,
    results: &[u8],
) -> Result<Vec<u8>, GssError> {
    let payload = Payload {
        bytes: results,
        offset: 0,
    };
    let body = GssBody::parse_service(payload, service).map_err(|e| GssError::Malformed {
        what: "RPCSEC_GSS reply body",
        detail: e.to_string(),
    })?;
    match body {
        GssBody::Plain(p) => Ok(p.bytes.to_vec()),
        GssBody::Integrity {
            seq_num: inner,
            body,
            checksum,
        } => {
            // The MIC covers databody_integ: the sequence number and body.
            let data = databody(inner, body.bytes);
            prot.verify_mic(&data, checksum.bytes)
                .map_err(|e| GssError::BadChecksum {
                    seq_num,
                    detail: e.to_string(),
                })?;
            if inner != seq_num {
                return Err(GssError::SeqMismatch {
                    expected: seq_num,
                    found: inner,
                });
            }
            Ok(body.bytes.to_vec())
        }
        GssBody::Privacy { databody_priv } => {
            let plain = prot.unwrap(databody_priv.bytes)?;
            let (inner, body) = split_databody(&plain)?;
            if inner != seq_num {
                return Err(GssError::SeqMismatch {
                    expected: seq_num,
                    found: inner,
                });
            }
            Ok(body.to_vec())
        }
    }
}

/// The sequence number inside `databody_integ` or after unwrapping
/// `databody_priv` of a call body, with the arguments (for a test server or
/// for checking what was sent).
pub fn unwrap_call_body(
    prot: &mut dyn PerMessage,
    service: RpcGssService,
    body: &[u8],
) -> Result<(Option<u32>, Vec<u8>), GssError> {
    let payload = Payload {
        bytes: body,
        offset: 0,
    };
    match GssBody::parse_service(payload, service).map_err(|e| GssError::Malformed {
        what: "RPCSEC_GSS call body",
        detail: e.to_string(),
    })? {
        GssBody::Plain(p) => Ok((None, p.bytes.to_vec())),
        GssBody::Integrity {
            seq_num,
            body,
            checksum,
        } => {
            prot.verify_mic(&databody(seq_num, body.bytes), checksum.bytes)
                .map_err(|e| GssError::BadChecksum {
                    seq_num,
                    detail: e.to_string(),
                })?;
            Ok((Some(seq_num), body.bytes.to_vec()))
        }
        GssBody::Privacy { databody_priv } => {
            let plain = prot.unwrap(databody_priv.bytes)?;
            let (seq, rest) = split_databody(&plain)?;
            Ok((Some(seq), rest.to_vec()))
        }
    }
}
