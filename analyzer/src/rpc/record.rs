//! Record marking (RFC 5531 §11): RPC messages on a byte stream (TCP) are
//! sent as records, each made of fragments; a fragment is a 4-byte header
//! (bit 31: last fragment of the record, bits 0-30: length) followed by that
//! many bytes.
//!
//! [`RecordAssembler`] reassembles records from the stream in whatever chunks
//! it arrives, buffering only bytes actually received and enforcing
//! [`RecordLimits`]. [`write_record`] writes a message as one record.

use std::collections::VecDeque;
use std::fmt;

/// Bit 31 of a fragment header: this fragment ends the record.
pub const LAST_FRAGMENT: u32 = 0x8000_0000;

/// Largest length a fragment header can express (31 bits).
pub const MAX_FRAGMENT_LEN: u32 = LAST_FRAGMENT - 1;

/// Default cap on the bytes of one record (16 MiB).
pub const DEFAULT_MAX_RECORD: usize = 16 << 20;

/// Default cap on the fragments of one record (zero-length ones included).
pub const DEFAULT_MAX_FRAGMENTS: u32 = 1 << 16;

/// Caps the assembler enforces on every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    /// Most bytes of record data (fragment headers excluded).
    pub max_record: usize,
    /// Most fragments in one record. Bounds the bookkeeping per record and
    /// ends records made of endless zero-length fragments.
    pub max_fragments: u32,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits {
            max_record: DEFAULT_MAX_RECORD,
            max_fragments: DEFAULT_MAX_FRAGMENTS,
        }
    }
}

/// A stream error found while reassembling records. Offsets count bytes
/// from the start of the stream (see [`RecordAssembler::starting_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// A fragment header would take the record past `max_record`.
    RecordTooLarge {
        /// Stream offset of the offending fragment header.
        header_offset: u64,
        /// Stream offset of the record's first fragment header.
        record_offset: u64,
        /// Bytes of the record before this fragment plus this fragment's length.
        claimed: u64,
        /// The configured cap.
        limit: usize,
    },
    /// A fragment header would take the record past `max_fragments`.
    TooManyFragments {
        /// Stream offset of the offending fragment header.
        header_offset: u64,
        /// Stream offset of the record's first fragment header.
        record_offset: u64,
        /// The configured cap.
        limit: u32,
    },
    /// The stream ended inside a record (from [`RecordAssembler::finish`]).
    Incomplete {
        /// Stream offset of the unfinished record's first byte.
        record_offset: u64,
        /// Stream offset where the stream ended.
        end_offset: u64,
    },
}

impl RecordError {
    /// The stream offset the error is about: the offending fragment header,
    /// or for [`RecordError::Incomplete`] the start of the unfinished record.
    pub fn offset(&self) -> u64 {
        match self {
            RecordError::RecordTooLarge { header_offset, .. }
            | RecordError::TooManyFragments { header_offset, .. } => *header_offset,
            RecordError::Incomplete { record_offset, .. } => *record_offset,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::RecordTooLarge {
                header_offset,
                record_offset,
                claimed,
                limit,
            } => write!(
                f,
                "fragment header at stream offset {header_offset} makes the record \
                 starting at {record_offset} {claimed} bytes long, over the limit of {limit}"
            ),
            RecordError::TooManyFragments {
                header_offset,
                record_offset,
                limit,
            } => write!(
                f,
                "fragment header at stream offset {header_offset} exceeds the limit of \
                 {limit} fragments for the record starting at {record_offset}"
            ),
            RecordError::Incomplete {
                record_offset,
                end_offset,
            } => write!(
                f,
                "stream ends at offset {end_offset} inside the record starting at {record_offset}"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// Where a non-empty fragment's data lies in the record and in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    /// Index in the record data of the fragment's first byte.
    data_start: usize,
    /// Stream offset of that byte.
    stream_offset: u64,
}

/// One reassembled record: the message bytes with fragment headers removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Stream offset of the record's first byte (its first fragment header).
    pub offset: u64,
    /// Stream offset just past the record's last byte.
    pub end_offset: u64,
    /// The record data (one RPC message).
    pub data: Vec<u8>,
    /// Number of fragments, zero-length ones included.
    pub fragments: u32,
    spans: Vec<Span>,
}

impl Record {
    /// Stream offset of byte `pos` of the record data (e.g. of a decode
    /// error's offset), or `None` when `pos` is past the data.
    pub fn stream_offset_of(&self, pos: usize) -> Option<u64> {
        if pos >= self.data.len() {
            return None;
        }
        // The last span starting at or before `pos` holds it.
        let i = self.spans.partition_point(|s| s.data_start <= pos);
        let span = self.spans.get(i.checked_sub(1)?)?;
        Some(span.stream_offset + (pos - span.data_start) as u64)
    }
}

/// Reassembles records from a byte stream fed in arbitrary chunks.
///
/// Memory is only spent on bytes received: a fragment header claiming a
/// large length reserves nothing, and a header that would take its record
/// past [`RecordLimits::max_record`] (or past `max_fragments`) is an error as
/// soon as the header is complete, before any of its data arrives.
///
/// Error state: after [`feed`](Self::feed) returns an error the assembler is
/// *failed*. The partial record is dropped, the rest of the chunk and every
/// later chunk is discarded (still counted in [`stream_offset`](Self::stream_offset))
/// and `feed` returns the same error again, until [`reset`](Self::reset) or
/// [`reset_at`](Self::reset_at). Records completed before the error stay
/// available from [`pop`](Self::pop). Finding the next record boundary
/// (resynchronisation) is left to the caller.
#[derive(Debug, Clone)]
pub struct RecordAssembler {
    limits: RecordLimits,
    /// Stream offset of the next byte fed.
    pos: u64,
    /// Bytes of the fragment header being read.
    header: [u8; 4],
    /// How many of `header` were received (0 to 3 between calls).
    header_len: usize,
    /// Data bytes of the current fragment still to come.
    frag_left: usize,
    /// The current fragment is the record's last.
    frag_last: bool,
    /// Stream offset of the record in progress.
    record_offset: u64,
    /// Data of the record in progress.
    data: Vec<u8>,
    /// Fragments of the record in progress (0: no record in progress).
    fragments: u32,
    spans: Vec<Span>,
    ready: VecDeque<Record>,
    failed: Option<RecordError>,
}

impl Default for RecordAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordAssembler {
    /// An assembler with default limits at stream offset 0.
    pub fn new() -> Self {
        Self::with_limits(RecordLimits::default())
    }

    /// An assembler with the given limits at stream offset 0.
    pub fn with_limits(limits: RecordLimits) -> Self {
        RecordAssembler {
            limits,
            pos: 0,
            header: [0; 4],
            header_len: 0,
            frag_left: 0,
            frag_last: false,
            record_offset: 0,
            data: Vec::new(),
            fragments: 0,
            spans: Vec::new(),
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// The same assembler with the first byte fed counted at stream
    /// `offset` (e.g. a capture that starts at a known position).
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.pos = offset;
        self.record_offset = offset;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> RecordLimits {
        self.limits
    }

    /// Stream offset just past the last byte fed.
    pub fn stream_offset(&self) -> u64 {
        self.pos
    }

    /// Data bytes buffered for the record in progress.
    pub fn buffered(&self) -> usize {
        self.data.len()
    }

    /// True between records: no header, fragment or record is half received.
    pub fn is_at_boundary(&self) -> bool {
        self.header_len == 0 && self.frag_left == 0 && self.fragments == 0
    }

    /// The error the assembler failed with, if any.
    pub fn error(&self) -> Option<&RecordError> {
        self.failed.as_ref()
    }

    /// Takes the oldest complete record.
    pub fn pop(&mut self) -> Option<Record> {
        self.ready.pop_front()
    }

    /// Lends the assembler an empty buffer for its next record's data, so
    /// that a caller which recycles the buffers of popped records (see
    /// [`Record::data`]) avoids an allocation and the copies of growing one
    /// per record. Swaps only when the assembler holds no record data and no
    /// buffer of its own; `spare` gets the assembler's (empty) buffer back.
    pub fn lend_buffer(&mut self, spare: &mut Vec<u8>) {
        if self.data.is_empty() && self.data.capacity() == 0 {
            spare.clear();
            std::mem::swap(&mut self.data, spare);
        }
    }

    /// Number of complete records waiting in [`pop`](Self::pop).
    pub fn ready(&self) -> usize {
        self.ready.len()
    }

    /// Drops the record in progress and any error; the next byte fed is
    /// taken as the start of a fragment header at the current stream offset.
    /// Complete records are kept.
    pub fn reset(&mut self) {
        self.header_len = 0;
        self.frag_left = 0;
        self.frag_last = false;
        self.data = Vec::new();
        self.spans = Vec::new();
        self.fragments = 0;
        self.failed = None;
        self.record_offset = self.pos;
    }

    /// Like [`reset`](Self::reset), and the next byte fed is counted at
    /// stream `offset` (for a caller that resumes at a boundary it found).
    pub fn reset_at(&mut self, offset: u64) {
        self.pos = offset;
        self.reset();
    }

    /// Checks that the stream ended on a record boundary. A failed
    /// assembler returns its error.
    pub fn finish(&self) -> Result<(), RecordError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.is_at_boundary() {
            Ok(())
        } else {
            Err(RecordError::Incomplete {
                record_offset: self.record_offset,
                end_offset: self.pos,
            })
        }
    }

    /// Feeds the next bytes of the stream; complete records become available
    /// from [`pop`](Self::pop). Never waits: bytes that do not yet complete a
    /// record are buffered.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), RecordError> {
        if let Some(e) = &self.failed {
            self.pos = self.pos.saturating_add(chunk.len() as u64);
            return Err(e.clone());
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.frag_left > 0 {
                let n = self.frag_left.min(rest.len());
                let (now, later) = rest.split_at(n);
                self.data.extend_from_slice(now);
                self.frag_left -= n;
                self.pos = self.pos.saturating_add(n as u64);
                rest = later;
                if self.frag_left == 0 && self.frag_last {
                    self.complete();
                }
                continue;
            }
            // Reading a fragment header, one byte at a time.
            let Some((&b, later)) = rest.split_first() else {
                break;
            };
            if self.header_len == 0 && self.fragments == 0 {
                self.record_offset = self.pos;
            }
            if let Some(slot) = self.header.get_mut(self.header_len) {
                *slot = b;
            }
            self.header_len += 1;
            self.pos = self.pos.saturating_add(1);
            rest = later;
            if self.header_len == 4 {
                self.header_len = 0;
                if let Err(e) = self.start_fragment() {
                    self.pos = self.pos.saturating_add(rest.len() as u64);
                    self.data = Vec::new();
                    self.spans = Vec::new();
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Acts on a complete fragment header (the stream position is just past it).
    fn start_fragment(&mut self) -> Result<(), RecordError> {
        let h = u32::from_be_bytes(self.header);
        let len = h & MAX_FRAGMENT_LEN;
        let last = h & LAST_FRAGMENT != 0;
        let header_offset = self.pos.saturating_sub(4);
        if self.fragments >= self.limits.max_fragments {
            return Err(RecordError::TooManyFragments {
                header_offset,
                record_offset: self.record_offset,
                limit: self.limits.max_fragments,
            });
        }
        let claimed = self.data.len() as u64 + u64::from(len);
        if claimed > self.limits.max_record as u64 {
            return Err(RecordError::RecordTooLarge {
                header_offset,
                record_offset: self.record_offset,
                claimed,
                limit: self.limits.max_record,
            });
        }
        self.fragments += 1;
        // `len` fits in usize here: it is at most `max_record`.
        self.frag_left = len as usize;
        self.frag_last = last;
        if len > 0 {
            self.spans.push(Span {
                data_start: self.data.len(),
                stream_offset: self.pos,
            });
        } else if last {
            self.complete();
        }
        Ok(())
    }

    /// Queues the record in progress, now complete.
    fn complete(&mut self) {
        self.ready.push_back(Record {
            offset: self.record_offset,
            end_offset: self.pos,
            data: std::mem::take(&mut self.data),
            fragments: self.fragments,
            spans: std::mem::take(&mut self.spans),
        });
        self.fragments = 0;
        self.frag_last = false;
        self.record_offset = self.pos;
    }

    /// Capacity of the buffer of the record in progress (tests check that a
    /// claimed length reserves nothing).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.data.capacity()
    }
}

/// Appends `payload` to `out` as one record, in fragments of at most
/// `max_fragment` bytes (clamped to 1 ..= [`MAX_FRAGMENT_LEN`]). An empty
/// payload is one empty last fragment.
pub fn write_record(out: &mut Vec<u8>, payload: &[u8], max_fragment: usize) {
    let max = max_fragment.clamp(1, MAX_FRAGMENT_LEN as usize);
    if payload.is_empty() {
        out.extend_from_slice(&LAST_FRAGMENT.to_be_bytes());
        return;
    }
    out.reserve(payload.len() + 4 * payload.len().div_ceil(max));
    let mut chunks = payload.chunks(max).peekable();
    while let Some(chunk) = chunks.next() {
        // `chunk.len() <= max <= MAX_FRAGMENT_LEN`, so it fits in 31 bits.
        let mut h = chunk.len() as u32;
        if chunks.peek().is_none() {
            h |= LAST_FRAGMENT;
        }
        out.extend_from_slice(&h.to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

/// `payload` as one record in fragments of at most `max_fragment` bytes.
pub fn encode_record(payload: &[u8], max_fragment: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_record(&mut out, payload, max_fragment);
    out
}
