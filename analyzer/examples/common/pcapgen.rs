//! Building captures from scratch: Ethernet/IPv4/TCP frames, ONC RPC calls
//! and replies (NULL and a one-op COMPOUND), TCP connections that keep their
//! own sequence numbers, and a classic pcap writer. Shared by the capture
//! generators (`gen_many`, `gen_malformed`) and the tests that build
//! captures in memory.

#![allow(dead_code)]

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

/// TCP flag FIN.
pub const FIN: u8 = 0x01;
/// TCP flag SYN.
pub const SYN: u8 = 0x02;
/// TCP flag RST.
pub const RST: u8 = 0x04;
/// TCP flag PSH.
pub const PSH: u8 = 0x08;
/// TCP flag ACK.
pub const ACK: u8 = 0x10;

/// RPC program number of NFS.
pub const NFS_PROGRAM: u32 = 100_003;
/// Operation number of PUTROOTFH.
pub const OP_PUTROOTFH: u32 = 24;

/// Bytes of the Ethernet, IPv4 and TCP headers of the frames built here.
pub const HEADERS: usize = 14 + 20 + 20;

/// An Ethernet/IPv4/TCP frame (no options, TCP checksum left zero).
pub fn tcp_frame(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(HEADERS + payload.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]);
    let total = u16::try_from(20 + 20 + payload.len()).unwrap_or(u16::MAX);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.ip().octets());
    ip[16..20].copy_from_slice(&dst.ip().octets());
    let sum = ipv4_checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.push(5 << 4);
    f.push(flags);
    f.extend_from_slice(&65_535u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// The IPv4 header checksum of `h` (its checksum field zero).
pub fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in h.chunks(2) {
        let hi = u32::from(pair.first().copied().unwrap_or(0));
        let lo = u32::from(pair.get(1).copied().unwrap_or(0));
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Appends XDR 32-bit words.
pub fn words(out: &mut Vec<u8>, ws: &[u32]) {
    for w in ws {
        out.extend_from_slice(&w.to_be_bytes());
    }
}

/// An RPC call message (AUTH_NONE), without record mark.
pub fn rpc_call(xid: u32, prog: u32, vers: u32, procedure: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(40 + body.len());
    words(&mut m, &[xid, 0, 2, prog, vers, procedure, 0, 0, 0, 0]);
    m.extend_from_slice(body);
    m
}

/// An accepted, successful RPC reply (AUTH_NONE verifier), without record mark.
pub fn rpc_reply(xid: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(24 + body.len());
    words(&mut m, &[xid, 1, 0, 0, 0, 0]);
    m.extend_from_slice(body);
    m
}

/// `message` as one record (one last fragment).
pub fn record(message: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(4 + message.len());
    let len = u32::try_from(message.len()).unwrap_or(0x7fff_ffff) & 0x7fff_ffff;
    r.extend_from_slice(&(0x8000_0000 | len).to_be_bytes());
    r.extend_from_slice(message);
    r
}

/// COMPOUND arguments: empty tag, minor version 1, one PUTROOTFH.
pub fn compound_putrootfh_args() -> Vec<u8> {
    let mut b = Vec::new();
    words(&mut b, &[0, 1, 1, OP_PUTROOTFH]);
    b
}

/// COMPOUND results: NFS4_OK, empty tag, one PUTROOTFH result NFS4_OK.
pub fn compound_putrootfh_res() -> Vec<u8> {
    let mut b = Vec::new();
    words(&mut b, &[0, 0, 1, OP_PUTROOTFH, 0]);
    b
}

/// A call as a record: NULL (`compound` false) or COMPOUND { PUTROOTFH }.
pub fn nfs_call_record(xid: u32, compound: bool) -> Vec<u8> {
    if compound {
        record(&rpc_call(
            xid,
            NFS_PROGRAM,
            4,
            1,
            &compound_putrootfh_args(),
        ))
    } else {
        record(&rpc_call(xid, NFS_PROGRAM, 4, 0, &[]))
    }
}

/// The reply to [`nfs_call_record`] as a record.
pub fn nfs_reply_record(xid: u32, compound: bool) -> Vec<u8> {
    if compound {
        record(&rpc_reply(xid, &compound_putrootfh_res()))
    } else {
        record(&rpc_reply(xid, &[]))
    }
}

/// One TCP connection: its endpoints and next sequence numbers.
pub struct TcpConn {
    /// The client's address.
    pub client: SocketAddrV4,
    /// The server's address.
    pub server: SocketAddrV4,
    /// Next sequence number of the client.
    pub cseq: u32,
    /// Next sequence number of the server.
    pub sseq: u32,
}

impl TcpConn {
    /// A connection between `client` and `server` with ISNs derived from `n`.
    pub fn new(client: SocketAddrV4, server: SocketAddrV4, n: u32) -> Self {
        TcpConn {
            client,
            server,
            cseq: n.wrapping_mul(2_654_435_761),
            sseq: n.wrapping_mul(40_503).wrapping_add(7),
        }
    }

    /// SYN, SYN/ACK and ACK.
    pub fn handshake(&mut self) -> [Vec<u8>; 3] {
        let syn = tcp_frame(self.client, self.server, self.cseq, 0, SYN, &[]);
        self.cseq = self.cseq.wrapping_add(1);
        let synack = tcp_frame(
            self.server,
            self.client,
            self.sseq,
            self.cseq,
            SYN | ACK,
            &[],
        );
        self.sseq = self.sseq.wrapping_add(1);
        let ack = tcp_frame(self.client, self.server, self.cseq, self.sseq, ACK, &[]);
        [syn, synack, ack]
    }

    /// The client sends `payload`.
    pub fn client_sends(&mut self, payload: &[u8]) -> Vec<u8> {
        let f = tcp_frame(
            self.client,
            self.server,
            self.cseq,
            self.sseq,
            ACK | PSH,
            payload,
        );
        self.cseq = self.cseq.wrapping_add(payload.len() as u32);
        f
    }

    /// The server sends `payload`.
    pub fn server_sends(&mut self, payload: &[u8]) -> Vec<u8> {
        let f = tcp_frame(
            self.server,
            self.client,
            self.sseq,
            self.cseq,
            ACK | PSH,
            payload,
        );
        self.sseq = self.sseq.wrapping_add(payload.len() as u32);
        f
    }

    /// FIN from the client, FIN from the server, last ACK.
    pub fn close(&mut self) -> [Vec<u8>; 3] {
        let fin1 = tcp_frame(
            self.client,
            self.server,
            self.cseq,
            self.sseq,
            FIN | ACK,
            &[],
        );
        self.cseq = self.cseq.wrapping_add(1);
        let fin2 = tcp_frame(
            self.server,
            self.client,
            self.sseq,
            self.cseq,
            FIN | ACK,
            &[],
        );
        self.sseq = self.sseq.wrapping_add(1);
        let ack = tcp_frame(self.client, self.server, self.cseq, self.sseq, ACK, &[]);
        [fin1, fin2, ack]
    }
}

/// The `n`th client address: 10.x.y.z with x.y.z = n / 300, port
/// 700 + n % 300 (distinct for every n below 300 × 2^24).
pub fn client_addr(n: u32) -> SocketAddrV4 {
    let ip = Ipv4Addr::from(0x0a00_0000 | ((n / 300) & 0x00ff_ffff));
    SocketAddrV4::new(ip, 700 + (n % 300) as u16)
}

/// The NFS server address used by the generators.
pub fn server_addr() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 2049)
}

/// An Ethernet/IPv4/UDP frame (UDP checksum left zero).
pub fn udp_frame(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let mut f = tcp_frame(src, dst, 0, 0, 0, &[]);
    f.truncate(14 + 20);
    f[14 + 9] = 17;
    let total = u16::try_from(20 + 8 + payload.len()).unwrap_or(u16::MAX);
    f[14 + 2..14 + 4].copy_from_slice(&total.to_be_bytes());
    f[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let sum = ipv4_checksum(&f[14..34]);
    f[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&total.saturating_sub(20).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Writes a classic pcap file (microsecond timestamps, Ethernet).
pub struct PcapWriter<W: Write> {
    out: W,
    /// Frames written.
    pub frames: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(PcapWriter {
            out,
            frames: 0,
            bytes: 24,
        })
    }

    /// Writes one frame captured whole at `micros` microseconds.
    pub fn frame(&mut self, micros: u64, data: &[u8]) -> io::Result<()> {
        self.frame_cut(micros, data, data.len())
    }

    /// Writes one frame of which only `caplen` bytes were captured.
    pub fn frame_cut(&mut self, micros: u64, data: &[u8], caplen: usize) -> io::Result<()> {
        let caplen = caplen.min(data.len());
        let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
        let usec = (micros % 1_000_000) as u32;
        self.out.write_all(&secs.to_le_bytes())?;
        self.out.write_all(&usec.to_le_bytes())?;
        self.out
            .write_all(&u32::try_from(caplen).unwrap_or(u32::MAX).to_le_bytes())?;
        self.out
            .write_all(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes())?;
        self.out.write_all(&data[..caplen])?;
        self.frames += 1;
        self.bytes += 16 + caplen as u64;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
