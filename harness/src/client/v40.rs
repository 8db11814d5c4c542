//! NFSv4.0 client identity (RFC 7530 §9.1, §16.33–16.34): SETCLIENTID with
//! a callback address on a listener the client runs, SETCLIENTID_CONFIRM,
//! RENEW; and the [`CallbackListener`] that answers CB_NULL and
//! CB_COMPOUND on every connection the server opens to it.

use super::callback::CallbackService;
use super::conn::{ConnectOptions, Connection};
use super::session::{single_op, KeepAlive};
use super::{ops, ClientError, Principal};
use crate::netns::NetNs;
use analyzer::nfs4::{Clientid4, Netaddr4, NfsResOp, NfsStat4, Setclientid4Res, Verifier4};
use analyzer::xdr::Opaque;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the accept loop looks at its stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// A TCP listener for the server's NFSv4.0 callback connections. Every
/// accepted connection is served by one shared [`CallbackService`]; the
/// listener and its connections close when it is dropped.
pub struct CallbackListener {
    addr: SocketAddr,
    service: Arc<CallbackService>,
    connections: Arc<Mutex<Vec<Connection>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CallbackListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallbackListener({})", self.addr)
    }
}

impl CallbackListener {
    /// Listens on `addr` (port 0: any free port), inside `netns` when given.
    pub fn bind(addr: SocketAddr, netns: Option<&NetNs>) -> io::Result<CallbackListener> {
        let listener = match netns {
            Some(ns) => ns.run(|| TcpListener::bind(addr))??,
            None => TcpListener::bind(addr)?,
        };
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let service = Arc::new(CallbackService::new());
        let connections = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (service, connections, stop) = (
                Arc::clone(&service),
                Arc::clone(&connections),
                Arc::clone(&stop),
            );
            std::thread::Builder::new()
                .name(format!("nfs-cb-listener {addr}"))
                .spawn(move || accept_loop(listener, service, connections, stop))?
        };
        Ok(CallbackListener {
            addr,
            service,
            connections,
            stop,
            thread: Some(thread),
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service answering the calls (records them; takes overrides).
    pub fn service(&self) -> &Arc<CallbackService> {
        &self.service
    }

    /// Every call received on any connection so far.
    pub fn received(&self) -> Vec<super::ReceivedCallback> {
        self.service.received()
    }

    /// The connections the server opened so far.
    pub fn connections(&self) -> Vec<Connection> {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The netid of the listening address (`tcp` or `tcp6`).
    pub fn netid(&self) -> &'static str {
        match self.addr.ip() {
            IpAddr::V4(_) => "tcp",
            IpAddr::V6(_) => "tcp6",
        }
    }

    /// The universal address of the listener (`h1.h2.h3.h4.p1.p2`).
    pub fn uaddr(&self) -> String {
        uaddr(self.addr)
    }

    /// The listener as a SETCLIENTID callback location (netid and
    /// universal address).
    pub fn location(&self) -> Netaddr4<'static> {
        Netaddr4 {
            na_r_netid: Opaque::from(self.netid()),
            na_r_addr: Opaque::from(self.uaddr()),
        }
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for c in self.connections() {
            c.shutdown();
        }
    }
}

/// Accepts connections until stopped; each is served by `service`.
fn accept_loop(
    listener: TcpListener,
    service: Arc<CallbackService>,
    connections: Arc<Mutex<Vec<Connection>>>,
    stop: Arc<AtomicBool>,
) {
    let opts = ConnectOptions::default();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if stream.set_nonblocking(false).is_err() {
                    continue;
                }
                if let Ok(c) = Connection::from_stream(stream, &opts, Arc::clone(&service)) {
                    connections
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(c);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

/// The RFC 5665 universal address of `addr`: `h1.h2.h3.h4.p1.p2` for IPv4,
/// the IPv6 text followed by `.p1.p2` for IPv6.
pub fn uaddr(addr: SocketAddr) -> String {
    let port = addr.port();
    format!("{}.{}.{}", addr.ip(), port >> 8, port & 0xff)
}

/// SETCLIENTID of client `id` (incarnation `verifier`) with `callback` as
/// the callback address; the server's answer as it came (including the
/// address in use on NFS4ERR_CLID_INUSE).
pub fn setclientid(
    conn: &Connection,
    principal: &Principal,
    id: &[u8],
    verifier: [u8; 8],
    callback: &CallbackListener,
    cb_program: u32,
    cb_ident: u32,
) -> Result<Setclientid4Res<'static>, ClientError> {
    callback.service().set_program(cb_program);
    let location = callback.location();
    setclientid_to(
        conn, principal, id, verifier, location, cb_program, cb_ident,
    )
}

/// SETCLIENTID with any callback location (also unreachable or malformed ones).
pub fn setclientid_to(
    conn: &Connection,
    principal: &Principal,
    id: &[u8],
    verifier: [u8; 8],
    location: Netaddr4<'_>,
    cb_program: u32,
    cb_ident: u32,
) -> Result<Setclientid4Res<'static>, ClientError> {
    let op = ops::setclientid(id, verifier, location, cb_program, cb_ident);

    match single_op(conn, principal, 0, op)? {
        Ok(NfsResOp::Setclientid(r)) => Ok(r),
        Ok(other) => Err(ClientError::Protocol {
            detail: format!(
                "{} answered SETCLIENTID with a {} result",
                conn.peer_addr(),
                other.name()
            ),
        }),
        Err(s) => Ok(Setclientid4Res::Fail(s)),
    }
}

/// SETCLIENTID_CONFIRM; its status.
pub fn setclientid_confirm(
    conn: &Connection,
    principal: &Principal,
    clientid: Clientid4,
    confirm: Verifier4,
) -> Result<NfsStat4, ClientError> {
    let op = ops::setclientid_confirm(clientid, confirm);

    Ok(match single_op(conn, principal, 0, op)? {
        Ok(r) => r.status(),
        Err(s) => s,
    })
}

/// RENEW; its status.
pub fn renew(
    conn: &Connection,
    principal: &Principal,
    clientid: Clientid4,
) -> Result<NfsStat4, ClientError> {
    Ok(match single_op(conn, principal, 0, ops::renew(clientid))? {
        Ok(r) => r.status(),
        Err(s) => s,
    })
}

/// The server's lease time (NFSv4.0 GETATTR lease_time on the root).
pub fn lease_time_v40(
    conn: &Connection,
    principal: &Principal,
) -> Result<Option<Duration>, ClientError> {
    let res = conn.compound(
        principal,
        0,
        "lease",
        vec![ops::putrootfh(), ops::getattr_lease_time()],
    )?;
    Ok(ops::lease_time(&res).map(|s| Duration::from_secs(s.into())))
}

/// Sends RENEW every `period` on `conn` until the handle is stopped or dropped.
pub fn keep_alive_v40(
    conn: &Connection,
    principal: &Principal,
    clientid: Clientid4,
    period: Duration,
) -> KeepAlive {
    let (conn, principal) = (conn.clone(), principal.clone());
    KeepAlive::spawn(period, move || renew(&conn, &principal, clientid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universal_addresses() {
        let a: SocketAddr = "127.0.0.1:2049".parse().expect("addr");
        assert_eq!(uaddr(a), "127.0.0.1.8.1");
        let b: SocketAddr = "[::1]:40000".parse().expect("addr");
        assert_eq!(uaddr(b), "::1.156.64");
    }

    #[test]
    fn the_listener_answers_cb_null_and_records_it() {
        let l = CallbackListener::bind("127.0.0.1:0".parse().expect("addr"), None).expect("bind");
        let conn =
            Connection::connect(l.local_addr(), &ConnectOptions::default()).expect("connect");
        let res = conn.call(analyzer::nfs4::NFS4_CALLBACK, 1, 0, &Principal::None, &[]);
        assert_eq!(res.expect("CB_NULL answered"), Vec::<u8>::new());
        let got = l
            .service()
            .wait_for(Duration::from_secs(5), |c| c.procedure == 0)
            .expect("recorded");
        assert_eq!(got.local, l.local_addr());
        assert_eq!(got.peer, conn.local_addr());
    }
}
