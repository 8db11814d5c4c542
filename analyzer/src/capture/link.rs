//! The link layer: from a captured frame to its IP addresses and TCP
//! segment or UDP datagram.
//!
//! Link headers are stripped here (Ethernet with any number of 802.1Q /
//! 802.1ad tags, Linux SLL and SLL2, BSD NULL and LOOP, raw IP); the IP
//! header, its extension headers and the TCP/UDP header are sliced with
//! `etherparse`'s lax slicers, which accept a packet cut short by the snap
//! length and report what its IP header claims.

use crate::capture::packet::{Packet, TcpFlags, TcpSegment, Transport, UdpDatagram};
use etherparse::{ip_number, IpNumber, LaxIpSlice, TcpHeaderSlice, UdpHeaderSlice};
use std::fmt;

/// A link-layer header type (`LINKTYPE_*` of pcap and pcapng).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LinkType(pub u32);

macro_rules! link_types {
    ($( $(#[$m:meta])* $name:ident = $val:literal ),* $(,)?) => {
        impl LinkType {
            $( $(#[$m])* pub const $name: LinkType = LinkType($val); )*

            /// The `LINKTYPE_` name of this value (without the prefix), if
            /// it has one here.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

link_types! {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    NULL = 0,
    /// Ethernet II (and 802.3).
    ETHERNET = 1,
    /// Token Ring.
    IEEE802_5 = 6,
    /// PPP.
    PPP = 9,
    /// FDDI.
    FDDI = 10,
    /// Raw IP on some historical platforms (DLT_RAW = 12).
    RAW_12 = 12,
    /// Raw IP on OpenBSD (DLT_RAW = 14).
    RAW_14 = 14,
    /// PPP in HDLC-like framing.
    PPP_HDLC = 50,
    /// PPPoE.
    PPP_ETHER = 51,
    /// Raw IP: the frame starts with an IPv4 or IPv6 header.
    RAW = 101,
    /// 802.11 wireless.
    IEEE802_11 = 105,
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    LOOP = 108,
    /// Linux "cooked" capture, version 1 (16-byte header).
    LINUX_SLL = 113,
    /// 802.11 with a radiotap header.
    IEEE802_11_RADIOTAP = 127,
    /// Linux netlink NFLOG.
    NFLOG = 239,
    /// Raw IPv4.
    IPV4 = 228,
    /// Raw IPv6.
    IPV6 = 229,
    /// Linux "cooked" capture, version 2 (20-byte header).
    LINUX_SLL2 = 276,
}

impl fmt::Debug for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "LinkType({})", self.0),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "link type {}", self.0),
        }
    }
}

/// What a frame that is not IP carries, as far as its link header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonIp {
    /// An EtherType (or SLL protocol) other than IPv4 and IPv6, e.g. ARP (0x0806).
    EtherType(u16),
    /// An 802.3 frame with a length instead of an EtherType (LLC, STP...).
    Ieee8023Length(u16),
    /// A BSD NULL/LOOP address family other than INET and INET6.
    AddressFamily(u32),
    /// A raw-IP frame whose version nibble is neither 4 nor 6.
    IpVersion(u8),
}

impl fmt::Display for NonIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonIp::EtherType(0x0806) => f.write_str("ARP"),
            NonIp::EtherType(t) => write!(f, "EtherType {t:#06x}"),
            NonIp::Ieee8023Length(l) => write!(f, "802.3 frame of length {l}"),
            NonIp::AddressFamily(af) => write!(f, "address family {af}"),
            NonIp::IpVersion(v) => write!(f, "IP version {v}"),
        }
    }
}

/// Why a frame could not be sliced to a [`Packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// The frame is well formed but carries no IP (ARP, LLC, ...): count
    /// it and go on.
    NotIp(NonIp),
    /// A link type this module does not strip.
    UnsupportedLinkType(LinkType),
    /// The frame ends inside a header (link, IP or transport).
    Truncated {
        /// The header that is cut short.
        layer: &'static str,
        /// Bytes the header needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// A header with impossible contents.
    Malformed {
        /// The header at fault.
        layer: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl LinkError {
    /// True for frames that are simply not IP (to be counted, not reported).
    pub fn is_not_ip(&self) -> bool {
        matches!(self, LinkError::NotIp(_))
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NotIp(what) => write!(f, "not IP: {what}"),
            LinkError::UnsupportedLinkType(lt) => write!(f, "unsupported {lt}"),
            LinkError::Truncated {
                layer,
                needed,
                available,
            } => write!(
                f,
                "{layer} truncated: needs {needed} bytes, {available} captured"
            ),
            LinkError::Malformed { layer, reason } => write!(f, "malformed {layer}: {reason}"),
        }
    }
}

impl std::error::Error for LinkError {}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// Most VLAN tags stripped from one frame.
const MAX_VLAN_TAGS: usize = 8;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(bytes))
}

fn truncated(layer: &'static str, needed: usize, available: usize) -> LinkError {
    LinkError::Truncated {
        layer,
        needed,
        available,
    }
}

/// Slices a frame of link type `linktype` down to its IP addresses and
/// transport content. `orig_len` is the frame's length on the wire; it is
/// used for the bytes not captured when the IP header does not give a
/// length (TCP segmentation offload captures with a zero total length).
pub fn slice(linktype: LinkType, data: &[u8], orig_len: u32) -> Result<Packet<'_>, LinkError> {
    let not_captured = (orig_len as usize).saturating_sub(data.len());
    let ip = match linktype {
        LinkType::ETHERNET => ethernet(data)?,
        LinkType::LINUX_SLL => {
            let proto = be16(data, 14).ok_or(truncated("Linux SLL header", 16, data.len()))?;
            by_ethertype(proto, data.get(16..).unwrap_or(&[]))?
        }
        LinkType::LINUX_SLL2 => {
            let proto = be16(data, 0).ok_or(truncated("Linux SLL2 header", 20, data.len()))?;
            let rest = data
                .get(20..)
                .ok_or(truncated("Linux SLL2 header", 20, data.len()))?;
            by_ethertype(proto, rest)?
        }
        LinkType::NULL | LinkType::LOOP => null(data)?,
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => raw(data)?,
        LinkType::IPV4 | LinkType::IPV6 => data,
        other => return Err(LinkError::UnsupportedLinkType(other)),
    };
    ip_packet(ip, not_captured)
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Result<&[u8], LinkError> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(rest),
        t if t < 0x0600 => Err(LinkError::NotIp(NonIp::Ieee8023Length(t))),
        t => Err(LinkError::NotIp(NonIp::EtherType(t))),
    }
}

fn ethernet(data: &[u8]) -> Result<&[u8], LinkError> {
    let mut ethertype = be16(data, 12).ok_or(truncated("Ethernet header", 14, data.len()))?;
    let mut at = 14;
    let mut tags = 0;
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(LinkError::Malformed {
                layer: "VLAN tags",
                reason: format!("more than {MAX_VLAN_TAGS} stacked tags"),
            });
        }
        ethertype = be16(data, at + 2).ok_or(truncated("VLAN tag", at + 4, data.len()))?;
        at += 4;
    }
    by_ethertype(ethertype, data.get(at..).unwrap_or(&[]))
}

fn null(data: &[u8]) -> Result<&[u8], LinkError> {
    let bytes: [u8; 4] = data
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(truncated("NULL/LOOP header", 4, data.len()))?;
    // Written in the capturing host's byte order (network order for LOOP,
    // though some writers differ): address families are small numbers, so
    // the order that gives one is the right one.
    let be = u32::from_be_bytes(bytes);
    let af = if be & 0xffff_0000 != 0 {
        u32::from_le_bytes(bytes)
    } else {
        be
    };
    match af {
        // AF_INET, and AF_INET6 of NetBSD/OpenBSD, FreeBSD and Darwin.
        2 | 24 | 28 | 30 => Ok(data.get(4..).unwrap_or(&[])),
        other => Err(LinkError::NotIp(NonIp::AddressFamily(other))),
    }
}

fn raw(data: &[u8]) -> Result<&[u8], LinkError> {
    match data.first().map(|b| b >> 4) {
        None => Err(truncated("IP header", 20, 0)),
        Some(4) | Some(6) => Ok(data),
        Some(v) => Err(LinkError::NotIp(NonIp::IpVersion(v))),
    }
}

/// Slices an IP packet; `not_captured` is the frame's length on the wire
/// minus its captured length (used when the IP header gives no length).
fn ip_packet(ip: &[u8], not_captured: usize) -> Result<Packet<'_>, LinkError> {
    if ip.is_empty() {
        return Err(truncated("IP header", 20, 0));
    }
    let (sliced, _ext_err) = LaxIpSlice::from_slice(ip).map_err(|e| {
        use etherparse::err::ip::LaxHeaderSliceError as E;
        match e {
            E::Len(l) => truncated("IP header", l.required_len, l.len),
            E::Content(c) => LinkError::Malformed {
                layer: "IP header",
                reason: c.to_string(),
            },
        }
    })?;
    let src = sliced.source_addr();
    let dst = sliced.destination_addr();
    let payload = sliced.payload();

    // Where the IP header gives the length: the bytes it claims that the
    // capture lacks. Otherwise the frame's own shortfall.
    let claimed_end = match &sliced {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = usize::from(h.total_len());
            (total >= h.slice().len()).then_some(total)
        }
        LaxIpSlice::Ipv6(v6) => {
            let len = usize::from(v6.header().payload_length());
            (len > 0).then_some(40 + len)
        }
    };
    let missing = match claimed_end {
        Some(end) => end.saturating_sub(ip.len()),
        None => not_captured,
    };
    let missing = u32::try_from(missing).unwrap_or(u32::MAX);

    let first_fragment = match &sliced {
        LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value() == 0,
        // Walked here: etherparse 0.21's extension iterator reads out of
        // bounds when the lax slicer stopped inside the extension headers.
        LaxIpSlice::Ipv6(_) => ipv6_fragment_offset(ip).unwrap_or(0) == 0,
    };
    let transport = if !first_fragment {
        Transport::Fragment
    } else {
        match payload.ip_number {
            ip_number::TCP => tcp(payload.payload, missing, payload.fragmented)?,
            ip_number::UDP => udp(payload.payload, missing, payload.fragmented)?,
            IpNumber(other) => Transport::Other(other),
        }
    };
    Ok(Packet {
        src,
        dst,
        transport,
    })
}

/// The fragment offset (in 8-byte units) of an IPv6 packet's fragment
/// header, if its extension headers lead to one within the captured bytes.
fn ipv6_fragment_offset(ip: &[u8]) -> Option<u16> {
    let mut next = *ip.get(6)?;
    let mut at = 40usize;
    // At most a handful of extension headers; bounded whatever the bytes say.
    for _ in 0..16 {
        let len = match next {
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => (usize::from(*ip.get(at + 1)?) + 1) * 8,
            // Authentication header: (len + 2) * 4 bytes.
            51 => (usize::from(*ip.get(at + 1)?) + 2) * 4,
            44 => return Some(be16(ip, at + 2)? >> 3),
            _ => return None,
        };
        next = *ip.get(at)?;
        at += len;
    }
    None
}

fn tcp(seg: &[u8], missing: u32, fragmented: bool) -> Result<Transport<'_>, LinkError> {
    let h = match TcpHeaderSlice::from_slice(seg) {
        Ok(h) => h,
        Err(_) if fragmented => return Ok(Transport::Fragment),
        Err(etherparse::err::tcp::HeaderSliceError::Len(l)) => {
            return Err(truncated("TCP header", l.required_len, l.len))
        }
        Err(etherparse::err::tcp::HeaderSliceError::Content(c)) => {
            return Err(LinkError::Malformed {
                layer: "TCP header",
                reason: c.to_string(),
            })
        }
    };
    let payload = seg.get(h.slice().len()..).unwrap_or(&[]);
    Ok(Transport::Tcp(TcpSegment {
        src_port: h.source_port(),
        dst_port: h.destination_port(),
        seq: h.sequence_number(),
        ack: h.acknowledgment_number(),
        flags: TcpFlags {
            syn: h.syn(),
            ack: h.ack(),
            fin: h.fin(),
            rst: h.rst(),
            psh: h.psh(),
        },
        window: h.window_size(),
        payload,
        missing,
    }))
}

fn udp(dgram: &[u8], missing: u32, fragmented: bool) -> Result<Transport<'_>, LinkError> {
    let h = match UdpHeaderSlice::from_slice(dgram) {
        Ok(h) => h,
        Err(_) if fragmented => return Ok(Transport::Fragment),
        Err(l) => return Err(truncated("UDP header", l.required_len, l.len)),
    };
    let mut payload = dgram.get(8..).unwrap_or(&[]);
    let mut missing = missing as usize;
    let claimed = usize::from(h.length());
    if claimed >= 8 {
        let claimed_payload = claimed - 8;
        if claimed_payload <= payload.len() {
            // Bytes after the UDP length are padding, not payload.
            payload = payload.get(..claimed_payload).unwrap_or(payload);
            missing = 0;
        } else {
            // Not captured (snap length) or, for a first fragment, in the
            // later fragments.
            missing = claimed_payload - payload.len();
        }
    }
    Ok(Transport::Udp(UdpDatagram {
        src_port: h.source_port(),
        dst_port: h.destination_port(),
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    }))
}
