//! One TCP connection to a server: calls matched to replies by xid, and the
//! server's own calls on it (the NFSv4.1 backchannel) answered.
//!
//! A reader thread per connection reassembles records (never allocating
//! more than was received, never more than `max_record`) and hands each
//! reply to the caller waiting on its xid; a call from the server goes to the
//! connection's [`CallbackService`] and its reply is written back on the same
//! socket. Once the reader meets a fatal error (reset, end of stream, a
//! record too large, bytes that are not RPC) every pending and future call
//! fails at once with that error.
//!
//! Calls as an RPCSEC_GSS [`Principal`] are sealed before they are written
//! and their replies verified before they are returned: a reply whose
//! verifier, checksum or privacy body is wrong is [`ClientError::Gss`]; a
//! call that got no reply gives its sequence number up. Contexts are
//! created over the connection itself ([`Connection::gss_context`]).

use super::callback::{CallContext, CallbackService};
use super::rpc::{self, Principal};
use super::ClientError;
use crate::gss::rpcsec::NULLPROC;
use crate::gss::{Cred, GssContext, GssError, InitReply, Name, SealedCall};
use crate::netns::NetNs;
use analyzer::nfs4::{
    Compound4Args, Compound4Res, NfsArgOp, NFS4_PROGRAM, NFSPROC4_COMPOUND, NFSPROC4_NULL, NFS_V4,
};
use analyzer::rpc::{
    AuthFlavor, MsgBody, OpaqueAuth, Record, RecordAssembler, RecordError, RecordLimits,
    RpcGssService, RpcMessage,
};
use analyzer::xdr::{to_bytes, IntoStatic, Opaque, Reader, Xdr};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How to connect, and the limits of the connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Source address to bind before connecting (a multi-homed client).
    pub from: Option<IpAddr>,
    /// Network namespace to create the socket in.
    pub netns: Option<NetNs>,
    /// Longest wait for the TCP handshake.
    pub connect_timeout: Duration,
    /// Longest wait for a reply (and for a write to drain).
    pub reply_timeout: Duration,
    /// Largest record accepted from the server, in bytes.
    pub max_record: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            from: None,
            netns: None,
            connect_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(15),
            max_record: 8 << 20,
        }
    }
}

/// Counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Calls written.
    pub calls: u64,
    /// Replies matched to a waiting call.
    pub replies: u64,
    /// Replies whose xid no call was waiting for (unknown, late or duplicate).
    pub stray_replies: u64,
    /// Calls received from the server (backchannel).
    pub server_calls: u64,
}

/// A connection to one server address; clones share it. `Send + Sync`:
/// several threads may call on it at once.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({} -> {})", self.inner.local, self.inner.to)
    }
}

struct Inner {
    to: SocketAddr,
    local: SocketAddr,
    wire: Arc<Wire>,
    shared: Arc<Shared>,
    next_xid: AtomicU32,
    reply_timeout: Duration,
    callbacks: Arc<CallbackService>,
    _reader: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ends the reader thread (its read returns) and tells the server.
        self.shared.fail(ClientError::Closed {
            to: self.to,
            detail: "closed by the client".into(),
        });
        let _ = self.wire.stream().shutdown(Shutdown::Both);
    }
}

/// The writing half, shared with the reader thread (for callback replies).
pub(crate) struct Wire {
    to: SocketAddr,
    stream: Mutex<TcpStream>,
}

impl Wire {
    fn stream(&self) -> MutexGuard<'_, TcpStream> {
        self.stream.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `bytes` whole (bounded by the socket's write timeout).
    pub(crate) fn send(&self, bytes: &[u8], what: &str) -> Result<(), ClientError> {
        let mut s = self.stream();
        s.write_all(bytes)
            .and_then(|()| s.flush())
            .map_err(|e| ClientError::Closed {
                to: self.to,
                detail: format!("sending {what}: {e}"),
            })
    }
}

/// An accepted SUCCESS reply: its verifier and the bytes after the header.
type RawReply = (OpaqueAuth<'static>, Vec<u8>);

/// A call waiting for its reply.
#[derive(Default)]
struct Waiting {
    /// The call is RPCSEC_GSS: an AUTH_ERROR denial is `GssDenied`.
    gss: bool,
    /// The context and sequence number of a sealed call, released from
    /// the window as soon as the reply arrives.
    sealed: Option<(Arc<GssContext>, u32)>,
}

enum Slot {
    Waiting(Waiting),
    Done(Result<RawReply, ClientError>),
}

#[derive(Default)]
struct State {
    pending: HashMap<u32, Slot>,
    fatal: Option<ClientError>,
    stats: ConnStats,
}

struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the first fatal error and wakes every waiting caller.
    fn fail(&self, e: ClientError) {
        let mut st = self.lock();
        if st.fatal.is_none() {
            st.fatal = Some(e);
        }
        drop(st);
        self.cond.notify_all();
    }
}

/// A starting xid that differs between connections and runs.
fn initial_xid() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(16))
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    nanos ^ std::process::id().rotate_left(8) ^ n.wrapping_mul(0x9e37_79b9)
}

/// Opens the TCP connection (socket2: bind the source, then connect).
fn open_socket(to: SocketAddr, opts: &ConnectOptions) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(from) = opts.from {
        sock.bind(&SocketAddr::new(from, 0).into())?;
    }
    let timeout = opts.connect_timeout.max(Duration::from_millis(1));
    sock.connect_timeout(&to.into(), timeout)?;
    sock.set_nodelay(true)?;
    Ok(sock.into())
}

impl Connection {
    /// Connects to `to` as `opts` says, with a callback service of its own.
    pub fn connect(to: SocketAddr, opts: &ConnectOptions) -> Result<Connection, ClientError> {
        Self::connect_with(to, opts, Arc::new(CallbackService::new()))
    }

    /// Connects to `to`; calls from the server go to `callbacks` (share one
    /// service between the connections of a session to see all callbacks).
    pub fn connect_with(
        to: SocketAddr,
        opts: &ConnectOptions,
        callbacks: Arc<CallbackService>,
    ) -> Result<Connection, ClientError> {
        let err = |source: io::Error| ClientError::Connect {
            to,
            from: opts.from,
            source: Arc::new(source),
        };
        let stream = match &opts.netns {
            Some(ns) => ns.run(|| open_socket(to, opts)).map_err(err)?,
            None => open_socket(to, opts),
        }
        .map_err(err)?;
        Self::from_stream(stream, opts, callbacks)
    }

    /// Wraps an established stream (e.g. one the server opened to a
    /// callback listener). Only the timeouts and `max_record` of `opts` apply.
    pub fn from_stream(
        stream: TcpStream,
        opts: &ConnectOptions,
        callbacks: Arc<CallbackService>,
    ) -> Result<Connection, ClientError> {
        let to = stream.peer_addr().map_err(|e| ClientError::Closed {
            to: SocketAddr::from(([0, 0, 0, 0], 0)),
            detail: format!("connection gone before use: {e}"),
        })?;
        let io_err = |what: &str, e: io::Error| ClientError::Closed {
            to,
            detail: format!("{what}: {e}"),
        };
        let local = stream
            .local_addr()
            .map_err(|e| io_err("reading the local address", e))?;
        stream
            .set_write_timeout(Some(opts.reply_timeout.max(Duration::from_millis(1))))
            .map_err(|e| io_err("setting the write timeout", e))?;
        let read_half = stream
            .try_clone()
            .map_err(|e| io_err("cloning the socket", e))?;
        let wire = Arc::new(Wire {
            to,
            stream: Mutex::new(stream),
        });
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
        });
        let reader = RecordReader {
            to,
            ctx: CallContext { local, peer: to },
            shared: Arc::clone(&shared),
            wire: Arc::clone(&wire),
            callbacks: Arc::clone(&callbacks),
            limits: RecordLimits {
                max_record: opts.max_record as usize,
                ..RecordLimits::default()
            },
            max_record: opts.max_record,
        };
        let handle = std::thread::Builder::new()
            .name(format!("nfs-reader {to}"))
            .spawn(move || reader.run(read_half))
            .map_err(|e| io_err("starting the reader thread", e))?;
        Ok(Connection {
            inner: Arc::new(Inner {
                to,
                local,
                wire,
                shared,
                next_xid: AtomicU32::new(initial_xid()),
                reply_timeout: opts.reply_timeout,
                callbacks,
                _reader: Some(handle),
            }),
        })
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.to
    }

    /// The client's address of this connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The service answering the server's calls on this connection.
    pub fn callbacks(&self) -> &Arc<CallbackService> {
        &self.inner.callbacks
    }

    /// The reply timeout in force.
    pub fn reply_timeout(&self) -> Duration {
        self.inner.reply_timeout
    }

    /// The connection's counters.
    pub fn stats(&self) -> ConnStats {
        self.inner.shared.lock().stats
    }

    /// The fatal error the connection failed with, if it did.
    pub fn failure(&self) -> Option<ClientError> {
        self.inner.shared.lock().fatal.clone()
    }

    /// The NFS NULL procedure (AUTH_NONE).
    pub fn null(&self) -> Result<(), ClientError> {
        let what = "NFSv4 NULL";
        self.call_described(
            NFS4_PROGRAM,
            NFS_V4,
            NFSPROC4_NULL,
            &Principal::None,
            &[],
            what,
        )?;
        Ok(())
    }

    /// Sends one call and waits for its reply; returns the results (the
    /// bytes after the reply header of an accepted SUCCESS reply).
    pub fn call(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        principal: &Principal,
        args: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let what = format!("program {program} version {version} procedure {procedure}");
        self.call_described(program, version, procedure, principal, args, &what)
    }

    /// A COMPOUND of `ops` with `minor` and `tag`, its results decoded.
    /// Any operations in any order: nothing is checked before sending.
    pub fn compound(
        &self,
        principal: &Principal,
        minor: u32,
        tag: &str,
        ops: Vec<NfsArgOp<'_>>,
    ) -> Result<Compound4Res<'static>, ClientError> {
        let names: Vec<&str> = ops.iter().map(|o| o.name()).collect();
        let what = format!("COMPOUND minor {minor} [{}]", names.join(", "));
        let args = Compound4Args {
            tag: Opaque::from(tag),
            minorversion: minor,
            argarray: ops,
        };
        let bytes = to_bytes(&args);
        let results = self.call_described(
            NFS4_PROGRAM,
            NFS_V4,
            NFSPROC4_COMPOUND,
            principal,
            &bytes,
            &what,
        )?;
        decode_compound(self.inner.to, &what, &results)
    }

    /// Writes `bytes` as they are (no framing): junk for negative tests.
    pub fn send_raw(&self, bytes: &[u8]) -> Result<(), ClientError> {
        self.inner.wire.send(bytes, "raw bytes")
    }

    /// Closes the connection: pending and later calls fail with `Closed`.
    pub fn shutdown(&self) {
        self.inner.shared.fail(ClientError::Closed {
            to: self.inner.to,
            detail: "shut down by the client".into(),
        });
        let _ = self.inner.wire.stream().shutdown(Shutdown::Both);
    }

    /// Sends a call with exactly this credential and verifier (nothing is
    /// sealed or checked) and returns the reply's verifier and results:
    /// RPCSEC_GSS context creation, and forged or replayed calls in
    /// negative tests.
    pub fn call_raw(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        cred: OpaqueAuth<'static>,
        verf: OpaqueAuth<'static>,
        args: &[u8],
    ) -> Result<(OpaqueAuth<'static>, Vec<u8>), ClientError> {
        let what = format!("program {program} version {version} procedure {procedure}");
        let xid = self.register(cred.flavor == AuthFlavor::RPCSEC_GSS)?;
        let record = rpc::plain_call_record(xid, program, version, procedure, cred, verf, args);
        self.send_and_wait(xid, &record, &what)
    }

    /// Writes an already framed call `record` with transaction id `xid`
    /// (e.g. a sealed call written a second time, to test the server's
    /// replay window) and waits for the reply's verifier and results.
    pub fn call_record_raw(
        &self,
        xid: u32,
        record: &[u8],
    ) -> Result<(OpaqueAuth<'static>, Vec<u8>), ClientError> {
        let gss = record
            .get(4..)
            .and_then(|m| RpcMessage::parse(m).ok())
            .and_then(|(msg, _)| msg.as_call().map(|c| c.cred.flavor))
            == Some(AuthFlavor::RPCSEC_GSS);
        self.register_xid(xid, gss)?;
        self.send_and_wait(xid, record, &format!("a raw call (xid {xid:#010x})"))
    }

    /// A transaction id for the next call (for [`Connection::call_record_raw`]).
    pub fn next_xid(&self) -> u32 {
        self.inner.next_xid.fetch_add(1, Ordering::Relaxed)
    }

    /// Creates an RPCSEC_GSS context as `cred` with the server `target`
    /// (e.g. `Name::service("nfs", host)`) over this connection, on the
    /// NFSv4 program's NULL procedure, for calls with `service` by default
    /// (RFC 2203 §5.2). The context may then be used on any connection to
    /// the same server: `Principal::gss(ctx)`.
    pub fn gss_context(
        &self,
        cred: &Cred,
        target: &Name,
        service: RpcGssService,
    ) -> Result<Arc<GssContext>, ClientError> {
        self.gss_context_for(NFS4_PROGRAM, NFS_V4, cred, target, service)
    }

    /// [`Connection::gss_context`] on the NULL procedure of `program`/`version`.
    pub fn gss_context_for(
        &self,
        program: u32,
        version: u32,
        cred: &Cred,
        target: &Name,
        service: RpcGssService,
    ) -> Result<Arc<GssContext>, ClientError> {
        // The transport's own error is kept (typed) rather than the text
        // GssError::Transport would carry.
        let mut transport: Option<ClientError> = None;
        let made = GssContext::establish(cred, target, service, |c| {
            self.call_raw(
                program,
                version,
                NULLPROC,
                c.cred.clone(),
                c.verf.clone(),
                &c.args,
            )
            .map(|(verf, results)| InitReply { verf, results })
            .inspect_err(|e| transport = Some(e.clone()))
        });
        match (made, transport) {
            (Ok(ctx), _) => Ok(Arc::new(ctx)),
            (Err(_), Some(e)) => Err(e),
            (Err(source), None) => Err(ClientError::GssContext {
                to: self.inner.to,
                source,
            }),
        }
    }

    /// Destroys `ctx` on the server (RPCSEC_GSS_DESTROY on the NFSv4
    /// NULL procedure, RFC 2203 §5.4); the reply's verifier is checked.
    /// Calls on the context afterwards are for the server to refuse.
    pub fn gss_destroy(&self, ctx: &Arc<GssContext>) -> Result<(), ClientError> {
        let xid = self.register(true)?;
        let sealed = match self.seal_within(ctx, |ctx| ctx.seal_destroy(xid, NFS4_PROGRAM, NFS_V4))
        {
            Ok(s) => s,
            Err(source) => {
                self.unregister(xid);
                return Err(ClientError::GssContext {
                    to: self.inner.to,
                    source,
                });
            }
        };
        self.mark_sealed(xid, ctx, sealed.seq_num);
        let record = rpc::plain_call_record(
            xid,
            NFS4_PROGRAM,
            NFS_V4,
            NULLPROC,
            sealed.cred.clone(),
            sealed.verf.clone(),
            &sealed.body,
        );
        let reply = self.send_and_wait(xid, &record, "RPCSEC_GSS_DESTROY");
        self.unseal(ctx, &sealed, xid, reply).map(|_| ())
    }

    /// One call: seal it for a GSS principal, register the xid, write the
    /// record, wait for the reply, verify it for a GSS principal.
    fn call_described(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        principal: &Principal,
        args: &[u8],
        what: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let xid = self.register(principal.gss_context().is_some())?;
        let call = match principal.gss_context() {
            Some(ctx) => self.seal_within(ctx, |_| {
                rpc::seal_call_record(xid, program, version, procedure, principal, args)
            }),
            None => rpc::seal_call_record(xid, program, version, procedure, principal, args),
        };
        let call = match call {
            Ok(c) => c,
            Err(source) => {
                self.unregister(xid);
                return Err(ClientError::GssContext {
                    to: self.inner.to,
                    source,
                });
            }
        };
        if let (Some(ctx), Some(sealed)) = (principal.gss_context(), &call.sealed) {
            self.mark_sealed(xid, ctx, sealed.seq_num);
        }
        let reply = self.send_and_wait(xid, &call.record, what);
        match (principal, &call.sealed) {
            (Principal::Gss { ctx, .. }, Some(sealed)) => self.unseal(ctx, sealed, xid, reply),
            _ => reply.map(|(_, results)| results),
        }
    }

    /// Runs `seal`; while the context's sequence window is full (calls on
    /// other threads not answered yet) waits for room, up to the reply
    /// timeout, and tries again (RFC 2203 §5.3.3.1: a call more than a
    /// window ahead of an unanswered one would make the server drop it).
    fn seal_within<T>(
        &self,
        ctx: &GssContext,
        mut seal: impl FnMut(&GssContext) -> Result<T, GssError>,
    ) -> Result<T, GssError> {
        let deadline = Instant::now() + self.inner.reply_timeout;
        loop {
            match seal(ctx) {
                Err(GssError::WindowFull { .. }) if Instant::now() < deadline => {
                    ctx.wait_for_room(deadline.saturating_duration_since(Instant::now()));
                }
                other => return other,
            }
        }
    }

    /// The results of a sealed call's reply, verified and unwrapped; a call
    /// without a reply gives its sequence number up.
    fn unseal(
        &self,
        ctx: &GssContext,
        sealed: &SealedCall,
        xid: u32,
        reply: Result<RawReply, ClientError>,
    ) -> Result<Vec<u8>, ClientError> {
        match reply {
            Ok((verf, results)) => {
                ctx.unseal_reply(sealed, &verf, &results)
                    .map_err(|e| ClientError::Gss {
                        to: self.inner.to,
                        xid,
                        detail: e.to_string(),
                    })
            }
            Err(e) => {
                ctx.abandon(sealed);
                Err(e)
            }
        }
    }

    /// A new xid registered as waiting (or the connection's fatal error);
    /// `gss` for an RPCSEC_GSS call.
    fn register(&self, gss: bool) -> Result<u32, ClientError> {
        let xid = self.inner.next_xid.fetch_add(1, Ordering::Relaxed);
        self.register_xid(xid, gss)?;
        Ok(xid)
    }

    /// Registers `xid` as waiting.
    fn register_xid(&self, xid: u32, gss: bool) -> Result<(), ClientError> {
        let mut st = self.inner.shared.lock();
        if let Some(e) = &st.fatal {
            return Err(e.clone());
        }
        st.pending
            .insert(xid, Slot::Waiting(Waiting { gss, sealed: None }));
        st.stats.calls += 1;
        Ok(())
    }

    /// Notes the context and sequence number of registered `xid`, so that
    /// the reader releases the number when the reply arrives.
    fn mark_sealed(&self, xid: u32, ctx: &Arc<GssContext>, seq_num: u32) {
        if let Some(Slot::Waiting(w)) = self.inner.shared.lock().pending.get_mut(&xid) {
            w.sealed = Some((Arc::clone(ctx), seq_num));
        }
    }

    /// Forgets a registered xid whose call was never written.
    fn unregister(&self, xid: u32) {
        let mut st = self.inner.shared.lock();
        st.pending.remove(&xid);
        st.stats.calls = st.stats.calls.saturating_sub(1);
    }

    /// Writes the record of registered `xid` and waits for its reply.
    fn send_and_wait(&self, xid: u32, record: &[u8], what: &str) -> Result<RawReply, ClientError> {
        if let Err(e) = self.inner.wire.send(record, what) {
            self.inner.shared.lock().pending.remove(&xid);
            return Err(e);
        }
        self.wait_reply(xid, what)
    }

    /// Waits for the reply to `xid`, a fatal error, or the timeout.
    fn wait_reply(&self, xid: u32, what: &str) -> Result<RawReply, ClientError> {
        let shared = &self.inner.shared;
        let deadline = Instant::now() + self.inner.reply_timeout;
        let mut st = shared.lock();
        loop {
            if let Some(Slot::Done(_)) = st.pending.get(&xid) {
                if let Some(Slot::Done(r)) = st.pending.remove(&xid) {
                    return r;
                }
            }
            if let Some(e) = &st.fatal {
                let e = e.clone();
                st.pending.remove(&xid);
                return Err(e);
            }
            let now = Instant::now();
            if now >= deadline {
                st.pending.remove(&xid);
                return Err(ClientError::Timeout {
                    to: self.inner.to,
                    xid,
                    after: self.inner.reply_timeout,
                    call: what.to_string(),
                });
            }
            st = shared
                .cond
                .wait_timeout(st, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// Decodes COMPOUND results, owned.
fn decode_compound(
    to: SocketAddr,
    what: &str,
    results: &[u8],
) -> Result<Compound4Res<'static>, ClientError> {
    let mut r = Reader::new(results);
    match Compound4Res::decode(&mut r) {
        Ok(res) => Ok(res.into_static()),
        Err(e) => Err(ClientError::Xdr {
            to,
            what: format!("results of {what}"),
            detail: e.to_string(),
        }),
    }
}

/// The reader thread's state.
struct RecordReader {
    to: SocketAddr,
    ctx: CallContext,
    shared: Arc<Shared>,
    wire: Arc<Wire>,
    callbacks: Arc<CallbackService>,
    limits: RecordLimits,
    max_record: u32,
}

impl RecordReader {
    /// Reads until the stream ends or breaks; then fails the connection.
    fn run(self, mut stream: TcpStream) {
        let mut asm = RecordAssembler::with_limits(self.limits);
        let mut buf = vec![0u8; 64 * 1024];
        let err = loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => break self.end_of_stream(&asm),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break self.closed(&asm, &e.to_string()),
            };
            let fed = asm.feed(buf.get(..n).unwrap_or_default());
            if let Some(e) = self.dispatch_ready(&mut asm) {
                break e;
            }
            if let Err(e) = fed {
                break self.record_error(e);
            }
        };
        self.shared.fail(err);
        let _ = stream.shutdown(Shutdown::Both);
    }

    /// Handles every complete record; the first fatal error stops it.
    fn dispatch_ready(&self, asm: &mut RecordAssembler) -> Option<ClientError> {
        while let Some(rec) = asm.pop() {
            if let Err(e) = self.dispatch(&rec) {
                return Some(e);
            }
        }
        None
    }

    /// One record: a reply to wake its caller, or a call to answer.
    fn dispatch(&self, rec: &Record) -> Result<(), ClientError> {
        let (msg, payload) = RpcMessage::parse(&rec.data).map_err(|e| ClientError::Garbage {
            to: self.to,
            detail: format!(
                "record of {} bytes at stream offset {} is not an RPC message: {e}",
                rec.data.len(),
                rec.offset
            ),
        })?;
        match &msg.body {
            MsgBody::Reply(body) => {
                let gss = matches!(
                    self.shared.lock().pending.get(&msg.xid),
                    Some(Slot::Waiting(Waiting { gss: true, .. }))
                );
                let result = rpc::check_reply_verf(self.to, msg.xid, body, gss)
                    .map(|verf| (verf, payload.bytes.to_vec()));
                self.deliver(msg.xid, result);
                Ok(())
            }
            MsgBody::Call(call) => {
                self.shared.lock().stats.server_calls += 1;
                let reply = self
                    .callbacks
                    .handle(&self.ctx, msg.xid, call, payload.bytes);
                match reply {
                    Some(bytes) => self.wire.send(&bytes, "a callback reply"),
                    None => Ok(()),
                }
            }
        }
    }

    /// Hands a reply to the caller waiting on `xid`, or counts it as stray.
    /// A sealed call's sequence number leaves the window now.
    fn deliver(&self, xid: u32, result: Result<RawReply, ClientError>) {
        let mut st = self.shared.lock();
        let released = match st.pending.get_mut(&xid) {
            Some(slot @ Slot::Waiting(_)) => {
                let old = std::mem::replace(slot, Slot::Done(result));
                st.stats.replies += 1;
                drop(st);
                self.shared.cond.notify_all();
                match old {
                    Slot::Waiting(w) => w.sealed,
                    Slot::Done(_) => None,
                }
            }
            _ => {
                st.stats.stray_replies += 1;
                None
            }
        };
        if let Some((ctx, seq)) = released {
            ctx.release(seq);
        }
    }

    fn end_of_stream(&self, asm: &RecordAssembler) -> ClientError {
        if asm.is_at_boundary() {
            self.closed_detail("the server closed the connection".into())
        } else {
            self.closed_detail(format!(
                "the server closed the connection in the middle of a record \
                 ({} bytes of it received)",
                asm.buffered()
            ))
        }
    }

    fn closed(&self, asm: &RecordAssembler, why: &str) -> ClientError {
        let place = if asm.is_at_boundary() {
            String::new()
        } else {
            format!(
                " in the middle of a record ({} bytes of it received)",
                asm.buffered()
            )
        };
        self.closed_detail(format!("{why}{place}"))
    }

    fn closed_detail(&self, detail: String) -> ClientError {
        ClientError::Closed {
            to: self.to,
            detail,
        }
    }

    fn record_error(&self, e: RecordError) -> ClientError {
        match e {
            RecordError::RecordTooLarge { claimed, .. } => ClientError::RecordTooLarge {
                to: self.to,
                size: claimed,
                max: self.max_record,
            },
            other => ClientError::Garbage {
                to: self.to,
                detail: other.to_string(),
            },
        }
    }
}
