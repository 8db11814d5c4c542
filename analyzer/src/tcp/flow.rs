//! The hand-off between TCP reassembly and the RPC layer: connections,
//! directions, and the events a reassembler emits as in-order byte streams.

use crate::capture::packet::Timestamp;
use std::fmt;
use std::net::SocketAddr;

/// A connection's identity for the whole capture: a new connection on a
/// reused 5-tuple gets a new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Connection ids of the n-th file of a merged analysis start at
/// `n << CONN_FILE_SHIFT` (shown as `c<id>@<n>`).
pub const CONN_FILE_SHIFT: u32 = 40;

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.0 >> CONN_FILE_SHIFT;
        if file == 0 {
            write!(f, "c{}", self.0)
        } else {
            let low = self.0 & ((1u64 << CONN_FILE_SHIFT) - 1);
            write!(f, "c{low}@{file}")
        }
    }
}

/// Which way bytes flow on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From the connection's client (the side that sent the SYN, or the
    /// side guessed to be the client) to its server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// What is known of a connection when it is first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// The client's address and port.
    pub client: SocketAddr,
    /// The server's address and port.
    pub server: SocketAddr,
    /// True when the handshake was seen (roles are certain); false when the
    /// capture starts mid-connection and the roles were guessed.
    pub handshake_seen: bool,
    /// Frame in which the connection was first seen.
    pub first_frame: u64,
    /// Time of that frame.
    pub first_ts: Timestamp,
}

/// Why a connection's tracking ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Both sides sent FIN (or one FIN and the capture ended).
    Fin,
    /// A RST was seen.
    Reset,
    /// The capture ended with the connection open.
    EndOfCapture,
    /// Dropped to stay within the connection limit (oldest idle first).
    Evicted,
    /// The 5-tuple was reused by a new connection (a new SYN).
    Reused,
}

/// Receives the in-order byte streams a TCP reassembler rebuilds.
///
/// For each connection: one `open`, then `data` and `gap` events per
/// direction in stream order (offsets count from the first byte after the
/// SYN, or from the first byte seen when the handshake was not captured),
/// then one `close`.
pub trait StreamSink {
    /// A new connection.
    fn open(&mut self, conn: ConnId, info: &ConnInfo);
    /// In-order bytes of one direction, starting at stream `offset`. `frame`
    /// is the frame whose arrival made these bytes deliverable in order (for
    /// bytes that arrived in order: the frame that carried them).
    fn data(
        &mut self,
        conn: ConnId,
        dir: Direction,
        offset: u64,
        bytes: &[u8],
        frame: u64,
        ts: Timestamp,
    );
    /// `len` bytes at stream `offset` of one direction will never be
    /// delivered (lost, not captured, or given up on). `frame` is the frame
    /// at which the reassembler gave up on them.
    fn gap(&mut self, conn: ConnId, dir: Direction, offset: u64, len: u64, frame: u64);
    /// The connection ended.
    fn close(&mut self, conn: ConnId, reason: CloseReason, frame: u64);
}
