//! Is a server ready? An NFS NULL call (RPC program 100003, version 4,
//! procedure 0) over TCP must be answered: a TCP accept is not enough
//! behind NAT, port forwarding or a proxy, which accept before the server
//! listens.
//!
//! Every probe connection is remembered ([`own_flows_since`]), so that a
//! trial's capture can leave out the harness's own probes when a server
//! action (and its readiness wait) happens while the trial captures.

use crate::netns::NetNs;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The NFS program number.
const NFS_PROGRAM: u32 = 100_003;
/// Probe connections remembered at most (the oldest are forgotten).
const MAX_FLOWS: usize = 4096;

/// A probe connection: (when, local address, server address).
type Flow = (Instant, SocketAddr, SocketAddr);

static FLOWS: Mutex<Vec<Flow>> = Mutex::new(Vec::new());

fn remember(local: SocketAddr, peer: SocketAddr) {
    let mut flows = FLOWS.lock().unwrap_or_else(|p| p.into_inner());
    if flows.len() >= MAX_FLOWS {
        flows.drain(..MAX_FLOWS / 2);
    }
    flows.push((Instant::now(), local, peer));
}

/// The (local, server) addresses of every probe connection opened since
/// `since` (at most the last few thousand).
pub fn own_flows_since(since: Instant) -> Vec<(SocketAddr, SocketAddr)> {
    FLOWS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(t, _, _)| *t >= since)
        .map(|(_, l, p)| (*l, *p))
        .collect()
}

/// An RPC record holding a NULL call with AUTH_NONE.
fn null_call(xid: u32) -> Vec<u8> {
    let words = [xid, 0, 2, NFS_PROGRAM, 4, 0, 0, 0, 0, 0];
    let mut rec = Vec::with_capacity(44);
    rec.extend_from_slice(&(0x8000_0000u32 | 40).to_be_bytes());
    for w in words {
        rec.extend_from_slice(&w.to_be_bytes());
    }
    rec
}

/// The RPC record accepting NULL call `xid` with SUCCESS (what a fake NFS
/// server in the tests answers).
#[cfg(test)]
pub(crate) fn null_reply(xid: u32) -> Vec<u8> {
    let mut r = (0x8000_0000u32 | 24).to_be_bytes().to_vec();
    for w in [xid, 1, 0, 0, 0, 0] {
        r.extend_from_slice(&w.to_be_bytes());
    }
    r
}

/// Whether `reply` (one RPC record, marker included) accepts call `xid`
/// with SUCCESS.
fn accepted(reply: &[u8], xid: u32) -> bool {
    let word = |i: usize| {
        reply
            .get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    // marker, xid, REPLY (1), MSG_ACCEPTED (0), verifier flavor, length
    let (Some(x), Some(1), Some(0), Some(_), Some(len)) =
        (word(4), word(8), word(12), word(16), word(20))
    else {
        return false;
    };
    let body = 24usize.saturating_add(((len as usize).saturating_add(3)) & !3);
    x == xid && word(body) == Some(0)
}

/// One NFS NULL call to `addr` from `from` (or the system's choice), in
/// `ns` (or the host's namespace).
pub fn nfs_null(
    addr: SocketAddr,
    from: Option<IpAddr>,
    ns: Option<&NetNs>,
    timeout: Duration,
) -> Result<(), String> {
    let attempt = move || -> Result<(), String> {
        let domain = socket2::Domain::for_address(addr);
        let sock =
            socket2::Socket::new(domain, socket2::Type::STREAM, None).map_err(|e| e.to_string())?;
        if let Some(ip) = from {
            sock.bind(&SocketAddr::new(ip, 0).into())
                .map_err(|e| format!("bind {ip}: {e}"))?;
        }
        sock.connect_timeout(&addr.into(), timeout)
            .map_err(|e| format!("connect: {e}"))?;
        let mut s: TcpStream = sock.into();
        if let Ok(local) = s.local_addr() {
            remember(local, addr);
        }
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let xid = std::process::id().rotate_left(16) ^ nanos;
        s.write_all(&null_call(xid))
            .map_err(|e| format!("send: {e}"))?;
        let mut reply = vec![0u8; 4];
        s.read_exact(&mut reply)
            .map_err(|e| format!("no reply: {e}"))?;
        let len = (u32::from_be_bytes([reply[0], reply[1], reply[2], reply[3]]) & 0x7fff_ffff)
            .min(4096) as usize;
        reply.resize(4 + len, 0);
        s.read_exact(&mut reply[4..])
            .map_err(|e| format!("short reply: {e}"))?;
        if accepted(&reply, xid) {
            Ok(())
        } else {
            Err("the NULL call was not accepted".into())
        }
    };
    match ns {
        Some(ns) => ns.run(attempt).map_err(|e| e.to_string())?,
        None => attempt(),
    }
}

/// Calls NFS NULL at `addr` until it is answered or `timeout` passes;
/// the last error otherwise.
pub fn wait_nfs_null(
    addr: SocketAddr,
    from: Option<IpAddr>,
    ns: Option<&NetNs>,
    timeout: Duration,
    mut give_up: impl FnMut() -> Option<String>,
) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        let once = left
            .min(Duration::from_secs(2))
            .max(Duration::from_millis(100));
        let err = match nfs_null(addr, from, ns, once) {
            Ok(()) => return Ok(started.elapsed()),
            Err(e) => e,
        };
        if let Some(why) = give_up() {
            return Err(why);
        }
        if started.elapsed() >= timeout {
            return Err(err);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot fake server answering the first record with `reply`.
    fn fake(reply: fn(u32) -> Vec<u8>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut call = [0u8; 44];
                if s.read_exact(&mut call).is_ok() {
                    let xid = u32::from_be_bytes([call[4], call[5], call[6], call[7]]);
                    let _ = s.write_all(&reply(xid));
                }
            }
        });
        addr
    }

    fn record(words: &[u32]) -> Vec<u8> {
        let mut r = (0x8000_0000u32 | (words.len() as u32 * 4))
            .to_be_bytes()
            .to_vec();
        for w in words {
            r.extend_from_slice(&w.to_be_bytes());
        }
        r
    }

    #[test]
    fn a_null_reply_is_ready_and_a_bare_accept_is_not() {
        let t = Duration::from_secs(2);
        let ok = fake(null_reply);
        assert_eq!(nfs_null(ok, None, None, t), Ok(()));
        assert!(own_flows_since(Instant::now() - Duration::from_secs(5))
            .iter()
            .any(|(_, peer)| *peer == ok));
        // PROG_UNAVAIL (1): something listens, but not NFS.
        let wrong = fake(|xid| record(&[xid, 1, 0, 0, 0, 1]));
        assert!(nfs_null(wrong, None, None, t).is_err());
        // Accepts and closes: what a port forward does before the server is up.
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let closed = l.local_addr().expect("addr");
        std::thread::spawn(move || drop(l.accept()));
        assert!(nfs_null(closed, None, None, t).is_err());
    }
}
