//! Capture sources and the link layer: the first two arrows of the analyzer's
//! pipeline.
//!
//! ```text
//! pcap/pcapng file (optionally gzip-compressed) or live device
//!   → Frame (number, timestamp, link type, bytes)      file.rs / live.rs
//!   → Packet (IP addresses, TCP segment / UDP datagram) link.rs
//! ```
//!
//! [`FileSource`] reads classic pcap (either byte order, micro- or nanosecond
//! timestamps, the "modified" Kuznetzov format) and pcapng (any number of
//! sections and interfaces, EPB, SPB and the obsolete PB), plain or gzip
//! compressed, streaming with a buffer that grows only to the largest block
//! actually present. Every length a file claims is checked before anything
//! is read or allocated for it; a damaged file yields the frames before the
//! damage and then a [`CaptureError`] naming the file, the frame number and
//! the byte offset.
//!
//! [`slice`] turns a frame into a [`Packet`](crate::capture::packet::Packet); frames
//! that are not IP give [`LinkError::NotIp`], which callers count and skip.
//!
//! With the cargo feature `live`, `LiveSource` captures from a network
//! interface through libpcap and gives the same [`Frame`]s.

mod error;
pub mod packet;

mod file;
mod link;
#[cfg(feature = "live")]
mod live;

#[cfg(test)]
mod tests;

pub use error::{CaptureError, CaptureErrorKind};
pub use file::{FileSource, MAX_BLOCK_LEN, MAX_INTERFACES};
pub use link::{slice, LinkError, LinkType, NonIp};
#[cfg(feature = "live")]
pub use live::{LiveSource, StopHandle, IDLE_MS};

use crate::capture::packet::Timestamp;
use std::path::Path;

/// One captured frame, borrowed from its source until the next call to
/// `next_frame`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Frame number, counted from 1 in file order (as tshark numbers frames).
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link-layer header type of the interface the frame was captured on.
    pub linktype: LinkType,
    /// Interface index over the whole file: pcapng interfaces are numbered in
    /// the order of their description blocks across all sections; classic
    /// pcap and live captures have only interface 0.
    pub interface: u32,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
    /// Length of the frame on the wire; never less than `data.len()`.
    pub orig_len: u32,
}

/// Reads a capture file to its end, calling `f` for every frame in order;
/// returns the number of frames, or the first error (after `f` has seen
/// every frame before the damage).
pub fn for_each_frame<F>(path: &Path, mut f: F) -> Result<u64, CaptureError>
where
    F: FnMut(Frame<'_>),
{
    let mut source = FileSource::open(path)?;
    let mut n = 0;
    while let Some(frame) = source.next_frame()? {
        n += 1;
        f(frame);
    }
    Ok(n)
}
