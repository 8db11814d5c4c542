//! Capture files: classic pcap and pcapng, plain or gzip-compressed, read as
//! a stream.
//!
//! The reader keeps one buffer that holds the record being read. Before a
//! record is read, the length its header claims is checked against
//! [`MAX_BLOCK_LEN`] and, when the file's size is known, against what
//! remains of the file; the buffer then grows only by what is really read
//! (at most doubling per step), so a hostile length costs an error, never an
//! allocation. Each record is handed to `pcap-parser` as an exact slice, so
//! a field that points outside its record is a "malformed" error rather
//! than a request for more input.

use super::error::{CaptureError, CaptureErrorKind as K};
use super::{Frame, LinkType};
use crate::capture::packet::Timestamp;
use flate2::read::MultiGzDecoder;
use pcap_parser::pcapng::{
    parse_enhancedpacketblock_be, parse_enhancedpacketblock_le, parse_interfacedescriptionblock_be,
    parse_interfacedescriptionblock_le, parse_sectionheaderblock, parse_simplepacketblock_be,
    parse_simplepacketblock_le, OptionCode, PcapNGOption, EPB_MAGIC, IDB_MAGIC, SHB_MAGIC,
    SPB_MAGIC,
};
use pcap_parser::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapError,
};
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;

/// Largest pcap record or pcapng block accepted (256 MiB): a longer claimed
/// length is an error, whatever the file's size.
pub const MAX_BLOCK_LEN: u64 = 256 << 20;

/// Most interfaces one pcapng section may declare.
pub const MAX_INTERFACES: usize = 65_536;

/// Smallest read buffer, and the most bytes a buffer may hold beyond what
/// the stream really delivered (it grows at most by doubling).
const CHUNK: usize = 64 * 1024;
/// Size the read buffer grows to once the stream has delivered that much:
/// large reads (few system calls, rare compaction) that still fit in a
/// core's L2 cache next to the pipeline's own data.
const TARGET: usize = 256 * 1024;
/// A buffer grown above this by one large record is given back afterwards.
const SHRINK_ABOVE: usize = 4 << 20;
/// Obsolete pcapng Packet Block (superseded by the EPB).
const PB_MAGIC: u32 = 0x0000_0002;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;

/// The byte stream with a window over the record being read.
///
/// `buf` is allocated (and zeroed) once and reused: bytes are read straight
/// into its free end, and the unconsumed tail moves to the front only when
/// the record being read would not fit after it.
struct Input {
    reader: Box<dyn Read + Send>,
    /// `buf[pos..end]` holds bytes read but not consumed.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[pos]`.
    offset: u64,
    /// Bytes the stream delivered so far.
    delivered: u64,
    eof: bool,
}

impl Input {
    fn new(reader: Box<dyn Read + Send>) -> Self {
        Input {
            reader,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            offset: 0,
            delivered: 0,
            eof: false,
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or(&[])
    }

    fn available(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// Reads until at least `n` bytes are available or the stream ends;
    /// returns the bytes available.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        if self.available() >= n || self.eof {
            return Ok(self.available());
        }
        if self.buf.len().saturating_sub(self.pos) < n || self.end == self.buf.len() {
            // Not enough room after the tail: move it to the front.
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            if self.buf.len() > SHRINK_ABOVE && n <= TARGET {
                self.buf.truncate(TARGET.max(self.end));
                self.buf.shrink_to_fit();
            }
            // Grow towards the target size as the stream shows it has the
            // bytes (at most twice what it delivered).
            let grown = TARGET.min(self.delivered_x2()).max(CHUNK);
            if self.buf.len() < grown {
                self.buf.resize(grown, 0);
            }
        }
        while self.available() < n && !self.eof {
            if self.end == self.buf.len() {
                // The record is larger than the buffer: grow towards it,
                // at most doubling, and never to more than twice what the
                // stream really delivered: a claimed length costs memory
                // only once the bytes are there. (A full buffer means the
                // stream delivered at least its length, so this grows.)
                let len = self.buf.len();
                let new_len = n
                    .min(self.delivered_x2())
                    .min(len.saturating_mul(2))
                    .max(len + 1)
                    .max(CHUNK);
                self.buf.resize(new_len, 0);
            }
            let free = self.buf.get_mut(self.end..).unwrap_or(&mut []);
            match self.reader.read(free) {
                Ok(0) => self.eof = true,
                Ok(r) => {
                    let r = r.min(free.len());
                    self.end += r;
                    self.delivered += r as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.available())
    }

    /// Twice the bytes the stream delivered so far.
    fn delivered_x2(&self) -> usize {
        usize::try_from(self.delivered)
            .unwrap_or(usize::MAX)
            .saturating_mul(2)
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.available());
        self.pos += n;
        self.offset += n as u64;
    }
}

/// A link type, snap length and clock of one pcapng interface.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: LinkType,
    snaplen: u32,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

#[derive(Debug)]
struct PcapState {
    big_endian: bool,
    nanos: bool,
    modified: bool,
    linktype: LinkType,
}

#[derive(Debug, Default)]
struct NgState {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// File-wide index of the current section's interface 0.
    section_base: u32,
    /// File-wide index the next interface will get.
    next_global: u32,
}

#[derive(Debug)]
enum Format {
    Pcap(PcapState),
    PcapNg(NgState),
}

/// Where a frame lies in the current record, and what is known of it.
#[derive(Debug, Clone, Copy)]
struct Found {
    ts: Option<Timestamp>,
    linktype: LinkType,
    interface: u32,
    start: usize,
    len: usize,
    orig_len: u32,
    record_len: usize,
}

/// What one pcapng block turned out to be.
enum Block {
    Frame(Found),
    Section,
    Other,
}

/// A capture file read frame by frame.
///
/// Memory stays bounded by the largest record in the file, whatever the
/// file's length. After an error, `next_frame` returns `Ok(None)`.
pub struct FileSource {
    name: String,
    input: Input,
    total: Option<u64>,
    format: Format,
    frames: u64,
    /// Length of the record of the frame last returned (consumed on the
    /// next call).
    pending: usize,
    done: bool,
    last_ts: Timestamp,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("frames", &self.frames)
            .field("bytes_read", &self.bytes_read())
            .finish()
    }
}

impl FileSource {
    /// Opens a pcap or pcapng file, gzip-compressed or not, and reads its
    /// file header (or first section header).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| CaptureError::new(&name, K::Io(e)))?;
        let total = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        Self::from_reader(name, file, total)
    }

    /// Reads a capture from any byte stream; `name` is used in errors, and
    /// `total_bytes` (the stream's length, when known) lets claimed lengths
    /// be checked against what remains.
    pub fn from_reader<R: Read + Send + 'static>(
        name: impl Into<String>,
        mut reader: R,
        total_bytes: Option<u64>,
    ) -> Result<Self, CaptureError> {
        let name = name.into();
        let mut prefix = [0u8; 2];
        let mut got = 0;
        while got < prefix.len() {
            let buf = prefix.get_mut(got..).unwrap_or(&mut []);
            match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::new(name, K::Io(e))),
            }
        }
        let head = Cursor::new(prefix.get(..got).unwrap_or(&[]).to_vec());
        let chained = head.chain(reader);
        let (boxed, total): (Box<dyn Read + Send>, _) = if got == 2 && prefix == [0x1f, 0x8b] {
            (Box::new(MultiGzDecoder::new(BufReader::new(chained))), None)
        } else {
            (Box::new(chained), total_bytes)
        };
        let mut input = Input::new(boxed);
        let format = read_file_header(&mut input, total)
            .map_err(|k| CaptureError::new(&name, k).at(1, input.offset))?;
        Ok(FileSource {
            name,
            input,
            total,
            format,
            frames: 0,
            pending: 0,
            done: false,
            last_ts: Timestamp::default(),
        })
    }

    /// The next frame, `Ok(None)` at the end of the file (or after an
    /// error). The frame borrows the source's buffer until the next call.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        self.input.consume(std::mem::take(&mut self.pending));
        if self.done {
            return Ok(None);
        }
        let found = match &mut self.format {
            Format::Pcap(st) => next_pcap(&mut self.input, st, self.total),
            Format::PcapNg(st) => next_ng(&mut self.input, st, self.total),
        };
        let number = self.frames + 1;
        let found = match found {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(kind) => {
                self.done = true;
                return Err(CaptureError::new(&self.name, kind).at(number, self.input.offset));
            }
        };
        let end = found.start.saturating_add(found.len);
        let Some(data) = self.input.bytes().get(found.start..end) else {
            self.done = true;
            let kind = K::Malformed("packet data outside its record".into());
            return Err(CaptureError::new(&self.name, kind).at(number, self.input.offset));
        };
        self.frames = number;
        self.pending = found.record_len;
        // A Simple Packet Block has no timestamp: it keeps the previous one.
        let ts = found.ts.unwrap_or(self.last_ts);
        self.last_ts = ts;
        Ok(Some(Frame {
            number,
            ts,
            linktype: found.linktype,
            interface: found.interface,
            data,
            orig_len: found
                .orig_len
                .max(u32::try_from(found.len).unwrap_or(u32::MAX)),
        }))
    }

    /// Bytes of the (decompressed) stream consumed so far, including the
    /// record of the frame last returned.
    pub fn bytes_read(&self) -> u64 {
        self.input.offset + self.pending as u64
    }

    /// The file's size, for progress bars; `None` for gzip-compressed input
    /// (whose decompressed size is unknown) and for streams of unknown size.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Bytes the read buffer holds room for (tests check it stays bounded).
    #[cfg(test)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.input.buf.capacity()
    }

    /// The name used in errors (the path given to `open`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

fn short(what: &str) -> K {
    K::Malformed(format!("{what} shorter than its fixed fields"))
}

/// Checks a claimed record length before anything is read for it.
fn check_len(claimed: u64, input: &Input, total: Option<u64>) -> Result<usize, K> {
    if claimed > MAX_BLOCK_LEN {
        return Err(K::TooLarge {
            claimed,
            limit: MAX_BLOCK_LEN,
        });
    }
    if let Some(total) = total {
        let remaining = total.saturating_sub(input.offset);
        if claimed > remaining {
            return Err(K::PastEnd { claimed, remaining });
        }
    }
    usize::try_from(claimed).map_err(|_| K::TooLarge {
        claimed,
        limit: MAX_BLOCK_LEN,
    })
}

/// Makes `len` bytes available or says how many the stream had.
fn need(input: &mut Input, len: usize) -> Result<(), K> {
    let available = input.fill(len).map_err(K::Io)?;
    if available < len {
        return Err(K::Truncated {
            needed: len as u64,
            available: available as u64,
        });
    }
    Ok(())
}

fn parse_err(what: &str, e: nom_err::Err<PcapError<&[u8]>>) -> K {
    let detail = match e {
        nom_err::Err::Incomplete(_) => "a field runs past the end of the block".to_string(),
        nom_err::Err::Error(e) | nom_err::Err::Failure(e) => match e {
            PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
                format!("check {kind:?} failed")
            }
            PcapError::HeaderNotRecognized => "header not recognized".into(),
            other => format!("{:?}", other.to_owned_vec()),
        },
    };
    K::Malformed(format!("{what}: {detail}"))
}

mod nom_err {
    pub use pcap_parser::nom::Err;
}

fn read_file_header(input: &mut Input, total: Option<u64>) -> Result<Format, K> {
    let available = input.fill(4).map_err(K::Io)?;
    if available == 0 {
        return Err(K::Empty);
    }
    let magic = input
        .bytes()
        .get(..available.min(4))
        .unwrap_or(&[])
        .to_vec();
    match magic.as_slice() {
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            let mut st = NgState::default();
            match ng_block(input, &mut st, total)? {
                Block::Section => Ok(Format::PcapNg(st)),
                _ => Err(K::Malformed("no section header block".into())),
            }
        }
        [0xd4, 0xc3, 0xb2, 0xa1]
        | [0x4d, 0x3c, 0xb2, 0xa1]
        | [0x34, 0xcd, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0xc3, 0xd4]
        | [0xa1, 0xb2, 0x3c, 0x4d]
        | [0xa1, 0xb2, 0xcd, 0x34] => read_pcap_header(input),
        _ => Err(K::UnknownFormat { magic }),
    }
}

fn read_pcap_header(input: &mut Input) -> Result<Format, K> {
    need(input, 24)?;
    let b = input.bytes().get(..24).unwrap_or(&[]);
    let (magic, major, minor, network) = if b.starts_with(&[0xa1, 0xb2, 0xcd, 0x34]) {
        // Big-endian "modified" format: pcap-parser knows only the
        // little-endian one, and the header layout is the classic one.
        let field = |at| u32_at(b, at, true).ok_or_else(|| short("pcap file header"));
        let major = u16_at(b, 4, true).ok_or_else(|| short("pcap file header"))?;
        let minor = u16_at(b, 6, true).ok_or_else(|| short("pcap file header"))?;
        (field(0)?, major, minor, field(20)?)
    } else {
        let (_, h) = parse_pcap_header(b).map_err(|e| parse_err("pcap file header", e))?;
        (
            h.magic_number,
            h.version_major,
            h.version_minor,
            h.network.0 as u32,
        )
    };
    if major != 2 {
        return Err(K::UnsupportedVersion { major, minor });
    }
    let st = PcapState {
        big_endian: b.first() == Some(&0xa1),
        nanos: magic == 0xa1b2_3c4d || magic == 0x4d3c_b2a1,
        modified: magic == 0xa1b2_cd34 || magic == 0x34cd_b2a1,
        // The upper bits carry the FCS length, not the link type.
        linktype: LinkType(network & 0xffff),
    };
    input.consume(24);
    Ok(Format::Pcap(st))
}

/// Seconds and sub-second count of a classic pcap record to a timestamp.
fn pcap_ts(secs: u32, frac: u32, nanos: bool) -> Timestamp {
    let per_sec: u32 = if nanos { 1_000_000_000 } else { 1_000_000 };
    let scale = 1_000_000_000 / per_sec;
    Timestamp {
        secs: i64::from(secs) + i64::from(frac / per_sec),
        nanos: (frac % per_sec) * scale,
    }
}

fn next_pcap(input: &mut Input, st: &PcapState, total: Option<u64>) -> Result<Option<Found>, K> {
    let hdr = if st.modified { 24 } else { 16 };
    let available = input.fill(hdr).map_err(K::Io)?;
    if available == 0 {
        return Ok(None);
    }
    if available < hdr {
        return Err(K::Truncated {
            needed: hdr as u64,
            available: available as u64,
        });
    }
    let caplen = u32_at(input.bytes(), 8, st.big_endian).ok_or_else(|| short("record header"))?;
    let record = check_len(hdr as u64 + u64::from(caplen), input, total)?;
    need(input, record)?;
    let rec = input.bytes().get(..record).unwrap_or(&[]);
    let (_, block) = match (st.big_endian, st.modified) {
        (false, false) => parse_pcap_frame(rec),
        (true, false) => parse_pcap_frame_be(rec),
        (false, true) => parse_pcap_frame_modified(rec),
        (true, true) => {
            let field = |at| u32_at(rec, at, true).ok_or_else(|| short("record header"));
            Ok((
                &[][..],
                LegacyPcapBlock {
                    ts_sec: field(0)?,
                    ts_usec: field(4)?,
                    caplen: field(8)?,
                    origlen: field(12)?,
                    data: rec.get(hdr..).unwrap_or(&[]),
                },
            ))
        }
    }
    .map_err(|e| parse_err("pcap record", e))?;
    Ok(Some(Found {
        ts: Some(pcap_ts(block.ts_sec, block.ts_usec, st.nanos)),
        linktype: st.linktype,
        interface: 0,
        start: hdr,
        len: block.data.len(),
        orig_len: block.origlen,
        record_len: record,
    }))
}

fn next_ng(input: &mut Input, st: &mut NgState, total: Option<u64>) -> Result<Option<Found>, K> {
    loop {
        let available = input.fill(12).map_err(K::Io)?;
        if available == 0 {
            return Ok(None);
        }
        match ng_block(input, st, total)? {
            Block::Frame(found) => return Ok(Some(found)),
            Block::Section | Block::Other => {}
        }
    }
}

/// Timestamp units per second from an `if_tsresol` value.
fn units_per_sec(tsresol: u8) -> Option<u64> {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp)
    }
}

fn ng_ts(units: u64, iface: &Interface) -> Timestamp {
    let per_sec = iface.units_per_sec.max(1);
    let secs = i128::from(units / per_sec) + i128::from(iface.offset_secs);
    let frac = u128::from(units % per_sec);
    let nanos = frac * 1_000_000_000 / u128::from(per_sec);
    Timestamp {
        secs: secs.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        nanos: u32::try_from(nanos).unwrap_or(0),
    }
}

fn interface(st: &NgState, id: u32) -> Result<(u32, Interface), K> {
    let declared = u32::try_from(st.interfaces.len()).unwrap_or(u32::MAX);
    let iface = usize::try_from(id)
        .ok()
        .and_then(|i| st.interfaces.get(i))
        .ok_or(K::UnknownInterface { id, declared })?;
    Ok((st.section_base.saturating_add(id), *iface))
}

fn option_bytes<'a>(options: &'a [PcapNGOption<'_>], code: OptionCode) -> Option<&'a [u8]> {
    options
        .iter()
        .find(|o| o.code == code)
        .and_then(|o| o.as_bytes().ok())
}

/// Reads one pcapng block (the caller made sure at least one byte is
/// there) and consumes it unless it holds a frame.
fn ng_block(input: &mut Input, st: &mut NgState, total: Option<u64>) -> Result<Block, K> {
    need(input, 12)?;
    let b = input.bytes();
    let raw_type = b.get(..4).unwrap_or(&[]);
    if raw_type == SHB_MAGIC.to_le_bytes() {
        // A new section may change the byte order: its byte-order magic says.
        st.big_endian = match u32_at(b, 8, true) {
            Some(PCAPNG_BOM) => true,
            _ if u32_at(b, 8, false) == Some(PCAPNG_BOM) => false,
            _ => {
                return Err(K::Malformed(
                    "section header block without a byte-order magic".into(),
                ))
            }
        };
    }
    let be = st.big_endian;
    let btype = u32_at(b, 0, be).ok_or_else(|| short("block header"))?;
    let len32 = u32_at(b, 4, be).ok_or_else(|| short("block header"))?;
    if len32 < 12 || len32 % 4 != 0 {
        return Err(K::Malformed(format!(
            "block of type {btype:#x} has length {len32} (at least 12, a multiple of 4)"
        )));
    }
    let len = check_len(u64::from(len32), input, total)?;
    need(input, len)?;
    let block = input.bytes().get(..len).unwrap_or(&[]);
    let trailer = u32_at(block, len - 4, be).ok_or_else(|| short("block"))?;
    if trailer != len32 {
        return Err(K::Malformed(format!(
            "block of type {btype:#x} has length {len32} at its start and {trailer} at its end"
        )));
    }
    let outcome = match btype {
        SHB_MAGIC => {
            let (_, shb) = parse_sectionheaderblock(block)
                .map_err(|e| parse_err("section header block", e))?;
            if shb.major_version != 1 {
                return Err(K::UnsupportedVersion {
                    major: shb.major_version,
                    minor: shb.minor_version,
                });
            }
            st.interfaces.clear();
            st.section_base = st.next_global;
            Block::Section
        }
        IDB_MAGIC => {
            let parsed = if be {
                parse_interfacedescriptionblock_be(block)
            } else {
                parse_interfacedescriptionblock_le(block)
            };
            let (_, idb) = parsed.map_err(|e| parse_err("interface description block", e))?;
            if st.interfaces.len() >= MAX_INTERFACES {
                return Err(K::Malformed(format!(
                    "more than {MAX_INTERFACES} interfaces in one section"
                )));
            }
            let tsresol = match option_bytes(&idb.options, OptionCode::IfTsresol) {
                Some([r]) => *r,
                Some(_) => return Err(K::Malformed("if_tsresol option is not 1 byte".into())),
                None => 6,
            };
            let units = units_per_sec(tsresol)
                .ok_or_else(|| K::Malformed(format!("if_tsresol {tsresol:#04x} is too fine")))?;
            // pcap-parser reads if_tsoffset as little-endian whatever the
            // section's byte order: read it here.
            let offset_secs = match option_bytes(&idb.options, OptionCode::IfTsoffset) {
                Some(v) => {
                    let bytes: [u8; 8] = v
                        .try_into()
                        .map_err(|_| K::Malformed("if_tsoffset option is not 8 bytes".into()))?;
                    if be {
                        i64::from_be_bytes(bytes)
                    } else {
                        i64::from_le_bytes(bytes)
                    }
                }
                None => 0,
            };
            st.interfaces.push(Interface {
                linktype: LinkType(u32::from(idb.linktype.0 as u16)),
                snaplen: idb.snaplen,
                units_per_sec: units,
                offset_secs,
            });
            st.next_global = st.next_global.saturating_add(1);
            Block::Other
        }
        EPB_MAGIC => {
            let parsed = if be {
                parse_enhancedpacketblock_be(block)
            } else {
                parse_enhancedpacketblock_le(block)
            };
            let (_, epb) = parsed.map_err(|e| parse_err("enhanced packet block", e))?;
            let (global, iface) = interface(st, epb.if_id)?;
            let caplen = usize::try_from(epb.caplen).unwrap_or(usize::MAX);
            if caplen > epb.data.len() {
                return Err(K::Malformed(
                    "enhanced packet block's captured length exceeds the block".into(),
                ));
            }
            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            Block::Frame(Found {
                ts: Some(ng_ts(units, &iface)),
                linktype: iface.linktype,
                interface: global,
                start: 28,
                len: caplen,
                orig_len: epb.origlen,
                record_len: len,
            })
        }
        SPB_MAGIC => {
            let parsed = if be {
                parse_simplepacketblock_be(block)
            } else {
                parse_simplepacketblock_le(block)
            };
            let (_, spb) = parsed.map_err(|e| parse_err("simple packet block", e))?;
            let (global, iface) = interface(st, 0)?;
            let mut caplen = spb.data.len().min(spb.origlen as usize);
            if iface.snaplen > 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            Block::Frame(Found {
                ts: None,
                linktype: iface.linktype,
                interface: global,
                start: 12,
                len: caplen,
                orig_len: spb.origlen,
                record_len: len,
            })
        }
        PB_MAGIC => {
            // Obsolete Packet Block: interface id (16 bits), drops count
            // (16 bits), timestamp high and low, captured and original
            // lengths, data. pcap-parser does not know it.
            let field = |at| u32_at(block, at, be).ok_or_else(|| short("packet block"));
            let if_id = u16_at(block, 8, be).ok_or_else(|| short("packet block"))?;
            let (ts_high, ts_low, caplen, origlen) =
                (field(12)?, field(16)?, field(20)?, field(24)?);
            let caplen = usize::try_from(caplen).unwrap_or(usize::MAX);
            if len < 32 || caplen > len - 32 {
                return Err(K::Malformed(
                    "packet block's captured length exceeds the block".into(),
                ));
            }
            let (global, iface) = interface(st, u32::from(if_id))?;
            let units = (u64::from(ts_high) << 32) | u64::from(ts_low);
            Block::Frame(Found {
                ts: Some(ng_ts(units, &iface)),
                linktype: iface.linktype,
                interface: global,
                start: 28,
                len: caplen,
                orig_len: origlen,
                record_len: len,
            })
        }
        _ => Block::Other,
    };
    if !matches!(outcome, Block::Frame(_)) {
        input.consume(len);
    }
    Ok(outcome)
}
