//! One TCP connection: its roles, its two directions, and how a segment
//! moves it along.

use super::stream::{Emit, HalfStream};
use super::{GapCause, TcpLimits};
use crate::capture::packet::{TcpSegment, Timestamp};
use crate::tcp::flow::{CloseReason, ConnId, Direction, StreamSink};
use std::net::SocketAddr;

/// The NFS port: the side using it is the server.
const NFS_PORT: u16 = 2049;

/// Guesses (client, server) for a connection whose handshake was not seen:
/// the side on port 2049, else the only side on a port below 1024, is the
/// server; otherwise the side with the higher port is the client.
pub(super) fn guess_roles(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let (sp, dp) = (src.port(), dst.port());
    let src_is_server = if (sp == NFS_PORT) != (dp == NFS_PORT) {
        sp == NFS_PORT
    } else if (sp < 1024) != (dp < 1024) {
        sp < 1024
    } else {
        sp < dp
    };
    if src_is_server {
        (dst, src)
    } else {
        (src, dst)
    }
}

/// A tracked connection.
#[derive(Debug)]
pub(super) struct Conn {
    pub(super) id: ConnId,
    pub(super) client: SocketAddr,
    pub(super) server: SocketAddr,
    /// Time of the last segment.
    pub(super) last_ts: Timestamp,
    to_server: HalfStream,
    to_client: HalfStream,
    /// Any payload seen in either direction.
    payload_seen: bool,
}

impl Conn {
    /// A connection with nothing seen yet.
    pub(super) fn new(id: ConnId, client: SocketAddr, server: SocketAddr, ts: Timestamp) -> Self {
        Conn {
            id,
            client,
            server,
            last_ts: ts,
            to_server: HalfStream::new(Direction::ToServer),
            to_client: HalfStream::new(Direction::ToClient),
            payload_seen: false,
        }
    }

    /// The direction of a segment sent by `src`.
    pub(super) fn direction(&self, src: SocketAddr) -> Direction {
        if src == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// The sending direction and the other one.
    fn halves(&mut self, dir: Direction) -> (&mut HalfStream, &mut HalfStream) {
        match dir {
            Direction::ToServer => (&mut self.to_server, &mut self.to_client),
            Direction::ToClient => (&mut self.to_client, &mut self.to_server),
        }
    }

    /// One direction.
    fn half(&self, dir: Direction) -> &HalfStream {
        match dir {
            Direction::ToServer => &self.to_server,
            Direction::ToClient => &self.to_client,
        }
    }

    /// Bytes buffered out of order in both directions.
    pub(super) fn buffered(&self) -> usize {
        self.to_server.buffered() + self.to_client.buffered()
    }

    /// Bytes buffered in the direction holding more.
    pub(super) fn largest_buffer(&self) -> usize {
        self.to_server.buffered().max(self.to_client.buffered())
    }

    /// True if data waits behind a hole in either direction.
    pub(super) fn pending(&self) -> bool {
        self.to_server.pending() || self.to_client.pending()
    }

    /// True if either side sent a FIN.
    pub(super) fn fin_seen(&self) -> bool {
        self.to_server.fin_seen() || self.to_client.fin_seen()
    }

    /// Each endpoint with the sequence number following its last byte.
    pub(super) fn ends(&self) -> [(SocketAddr, Option<u32>); 2] {
        [
            (self.client, self.to_server.next_seq()),
            (self.server, self.to_client.next_seq()),
        ]
    }

    /// True if a SYN from direction `dir` with sequence number `seq` is a
    /// retransmission of the SYN already seen.
    pub(super) fn is_same_syn(&self, dir: Direction, seq: u32) -> bool {
        self.half(dir).same_isn(seq)
    }

    /// True if a SYN with a new ISN at `ts` starts a new connection on this
    /// 5-tuple: after a FIN, after a long idle, or when this one never
    /// carried data (a new attempt). Otherwise the SYN is out of place
    /// (an established stack would only answer it with an ACK).
    pub(super) fn may_be_replaced(&self, ts: Timestamp, limits: &TcpLimits) -> bool {
        self.fin_seen() || !self.payload_seen || ts.since(self.last_ts) > limits.reuse_idle_secs
    }

    /// Applies one segment sent in direction `dir`. Returns why the
    /// connection ends, if it does.
    pub(super) fn segment<S: StreamSink>(
        &mut self,
        dir: Direction,
        seg: &TcpSegment<'_>,
        limits: &TcpLimits,
        room: usize,
        out: &mut Emit<'_, S>,
    ) -> Option<CloseReason> {
        let flags = seg.flags;
        let len = seg.payload.len() as u64 + u64::from(seg.missing);
        if len > 0 && !flags.rst {
            self.payload_seen = true;
        }
        let (half, peer) = self.halves(dir);
        let mut data_seq = seg.seq;
        if flags.syn {
            half.on_syn(seg.seq);
            data_seq = seg.seq.wrapping_add(1);
            if flags.ack {
                peer.on_syn_acked(seg.ack);
            }
        }
        if flags.ack {
            peer.on_ack(seg.ack, out);
        }
        if flags.rst {
            // The payload of a RST is a diagnostic, not stream data.
            out.stats.rst_payload_bytes += seg.payload.len() as u64;
            return Some(CloseReason::Reset);
        }
        if len > 0 {
            half.payload(data_seq, seg.payload, seg.missing, limits, room, out);
        }
        if flags.fin {
            half.on_fin(data_seq, len, out.stats);
        }
        half.check_stall(limits, out);
        if self.to_server.fin_seen() && self.to_client.fin_seen() {
            Some(CloseReason::Fin)
        } else {
            None
        }
    }

    /// Gives up the first hole of the direction buffering more.
    pub(super) fn give_up_largest_hole<S: StreamSink>(&mut self, out: &mut Emit<'_, S>) {
        let half = if self.to_client.buffered() > self.to_server.buffered() {
            &mut self.to_client
        } else if self.to_server.pending() {
            &mut self.to_server
        } else {
            &mut self.to_client
        };
        half.give_up_first_hole(GapCause::GivenUp, out);
    }

    /// Gives up holes that have stalled too long, in both directions.
    pub(super) fn check_stalls<S: StreamSink>(
        &mut self,
        limits: &TcpLimits,
        out: &mut Emit<'_, S>,
    ) {
        self.to_server.check_stall(limits, out);
        self.to_client.check_stall(limits, out);
    }

    /// The connection ends: deliver what can be, holes become gaps (of
    /// `cause`).
    pub(super) fn flush<S: StreamSink>(&mut self, cause: GapCause, out: &mut Emit<'_, S>) {
        self.to_server.flush(cause, out);
        self.to_client.flush(cause, out);
    }
}
