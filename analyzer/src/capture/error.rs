//! Errors of capture sources: what went wrong, in which file (or on which
//! interface), at which frame and byte offset.

use std::fmt;
use std::io;

/// What went wrong while reading a capture.
#[derive(Debug)]
pub enum CaptureErrorKind {
    /// The operating system refused a read (or an open).
    Io(io::Error),
    /// The file has no bytes at all.
    Empty,
    /// The file starts with bytes that are neither pcap, pcapng nor gzip.
    UnknownFormat {
        /// The first bytes of the file (up to four).
        magic: Vec<u8>,
    },
    /// A pcap or pcapng version this reader does not know.
    UnsupportedVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The file (or the decompressed stream) ends inside a header or block.
    Truncated {
        /// Bytes the header or block needs.
        needed: u64,
        /// Bytes that were left.
        available: u64,
    },
    /// A block or packet claims a length above [`MAX_BLOCK_LEN`](super::MAX_BLOCK_LEN).
    TooLarge {
        /// The length claimed.
        claimed: u64,
        /// The limit.
        limit: u64,
    },
    /// A block or packet claims more bytes than remain in the file.
    PastEnd {
        /// The length claimed.
        claimed: u64,
        /// Bytes left in the file.
        remaining: u64,
    },
    /// A packet refers to an interface that no description block declared.
    UnknownInterface {
        /// The interface id in the packet block.
        id: u32,
        /// Interfaces declared in the current section.
        declared: u32,
    },
    /// Any other inconsistency in the file's structure.
    Malformed(String),
    /// An error from libpcap (live capture).
    Live(String),
}

impl CaptureErrorKind {
    /// A short, stable name of the kind (`truncated`, `past-end`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            CaptureErrorKind::Io(_) => "io",
            CaptureErrorKind::Empty => "empty",
            CaptureErrorKind::UnknownFormat { .. } => "unknown-format",
            CaptureErrorKind::UnsupportedVersion { .. } => "unsupported-version",
            CaptureErrorKind::Truncated { .. } => "truncated",
            CaptureErrorKind::TooLarge { .. } => "too-large",
            CaptureErrorKind::PastEnd { .. } => "past-end",
            CaptureErrorKind::UnknownInterface { .. } => "unknown-interface",
            CaptureErrorKind::Malformed(_) => "malformed",
            CaptureErrorKind::Live(_) => "live",
        }
    }
}

impl fmt::Display for CaptureErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureErrorKind::Io(e) => write!(f, "{e}"),
            CaptureErrorKind::Empty => f.write_str("the file is empty"),
            CaptureErrorKind::UnknownFormat { magic } => {
                f.write_str("not a pcap, pcapng or gzip-compressed capture (starts with")?;
                for b in magic {
                    write!(f, " {b:02x}")?;
                }
                f.write_str(")")
            }
            CaptureErrorKind::UnsupportedVersion { major, minor } => {
                write!(f, "unsupported format version {major}.{minor}")
            }
            CaptureErrorKind::Truncated { needed, available } => write!(
                f,
                "truncated: the file ends {available} bytes into a {needed}-byte record"
            ),
            CaptureErrorKind::TooLarge { claimed, limit } => {
                write!(
                    f,
                    "a record claims {claimed} bytes, over the limit of {limit}"
                )
            }
            CaptureErrorKind::PastEnd { claimed, remaining } => write!(
                f,
                "a record claims {claimed} bytes but only {remaining} remain in the file"
            ),
            CaptureErrorKind::UnknownInterface { id, declared } => write!(
                f,
                "a packet refers to interface {id} but the section declares {declared}"
            ),
            CaptureErrorKind::Malformed(what) => write!(f, "malformed: {what}"),
            CaptureErrorKind::Live(what) => write!(f, "libpcap: {what}"),
        }
    }
}

#[derive(Debug)]
struct Inner {
    source: String,
    kind: CaptureErrorKind,
    frame: Option<u64>,
    offset: Option<u64>,
}

/// A capture error: the kind, the file (or interface) it happened in and,
/// when reading had started, the number of the frame being read and the
/// byte offset of its record (in the decompressed stream for gzip files).
///
/// Boxed so that `Result<Frame, CaptureError>` stays small.
pub struct CaptureError(Box<Inner>);

impl CaptureError {
    /// A new error of `kind` in the file or interface `source`.
    pub fn new(source: impl Into<String>, kind: CaptureErrorKind) -> Self {
        CaptureError(Box::new(Inner {
            source: source.into(),
            kind,
            frame: None,
            offset: None,
        }))
    }

    /// Adds the frame number and byte offset where reading stopped.
    pub fn at(mut self, frame: u64, offset: u64) -> Self {
        self.0.frame = Some(frame);
        self.0.offset = Some(offset);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &CaptureErrorKind {
        &self.0.kind
    }

    /// The file path or interface name.
    pub fn source_name(&self) -> &str {
        &self.0.source
    }

    /// The number (from 1) of the frame that could not be read, if reading
    /// had started: every frame before it was delivered.
    pub fn frame(&self) -> Option<u64> {
        self.0.frame
    }

    /// Byte offset of the record where reading stopped.
    pub fn offset(&self) -> Option<u64> {
        self.0.offset
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.source, self.0.kind)?;
        match (self.0.frame, self.0.offset) {
            (Some(n), Some(o)) => write!(f, " (reading frame {n} at byte offset {o})"),
            (Some(n), None) => write!(f, " (reading frame {n})"),
            (None, Some(o)) => write!(f, " (at byte offset {o})"),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Debug for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaptureError({self})")
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            CaptureErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
