//! Decoding errors: what went wrong, at which byte offset, inside which field.

use std::fmt;

/// What kind of malformation the decoder met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Fewer bytes remained than a fixed-size item needs.
    Truncated {
        /// Bytes the item needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length prefix (opaque, string or array) claims more bytes than remain.
    LengthPastEnd {
        /// The length (in bytes, or elements times their minimal size) claimed.
        claimed: u64,
        /// Bytes that were left.
        remaining: usize,
    },
    /// An array or list has more elements than the configured cap allows.
    TooManyElements {
        /// Elements claimed (or reached, for linked lists).
        count: u64,
        /// The configured cap.
        limit: u32,
    },
    /// A union discriminant with no arm and no default arm.
    BadDiscriminant(i64),
    /// A boolean that is neither 0 nor 1.
    BadBool(u32),
    /// An operation number no minor version defines.
    UnknownOperation(u32),
    /// A value the encoding forbids (e.g. an empty union arm list).
    Invalid(&'static str),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated { needed, remaining } => {
                write!(f, "truncated: needs {needed} bytes, {remaining} left")
            }
            ErrorKind::LengthPastEnd { claimed, remaining } => {
                write!(
                    f,
                    "length {claimed} points past the end ({remaining} bytes left)"
                )
            }
            ErrorKind::TooManyElements { count, limit } => {
                write!(f, "{count} elements exceed the limit of {limit}")
            }
            ErrorKind::BadDiscriminant(d) => write!(f, "no union arm for discriminant {d}"),
            ErrorKind::BadBool(v) => write!(f, "boolean with value {v}"),
            ErrorKind::UnknownOperation(op) => write!(f, "unknown operation number {op}"),
            ErrorKind::Invalid(what) => write!(f, "invalid value: {what}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    offset: usize,
    /// Field names from the innermost outwards.
    path: Vec<&'static str>,
}

/// A decoding error: the kind, the byte offset in the decoded buffer, and the
/// path of fields being decoded (e.g. `EXCHANGE_ID.eia_clientowner.co_ownerid`).
///
/// Boxed so that `Result<T, XdrError>` stays one word wider than `T`.
#[derive(Clone, PartialEq, Eq)]
pub struct XdrError(Box<Inner>);

impl XdrError {
    /// A new error of `kind` found at byte `offset`.
    pub fn new(kind: ErrorKind, offset: usize) -> Self {
        XdrError(Box::new(Inner {
            kind,
            offset,
            path: Vec::new(),
        }))
    }

    /// Adds the name of an enclosing field (called while unwinding).
    pub fn within(mut self, field: &'static str) -> Self {
        self.0.path.push(field);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Byte offset where it went wrong, from the start of the decoded buffer.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// The field path, outermost first, joined with dots.
    pub fn path(&self) -> String {
        let mut s = String::new();
        for (i, p) in self.0.path.iter().rev().enumerate() {
            if i > 0 && !p.starts_with('[') {
                s.push('.');
            }
            s.push_str(p);
        }
        s
    }

    /// Moves the reported offset by `base` (when the buffer was a slice of a
    /// larger one, e.g. a COMPOUND inside an RPC record).
    pub fn shifted(mut self, base: usize) -> Self {
        self.0.offset += base;
        self
    }
}

impl fmt::Display for XdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.path.is_empty() {
            write!(f, "{} at offset {}", self.0.kind, self.0.offset)
        } else {
            write!(
                f,
                "{}: {} at offset {}",
                self.path(),
                self.0.kind,
                self.0.offset
            )
        }
    }
}

impl fmt::Debug for XdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XdrError({self})")
    }
}

impl std::error::Error for XdrError {}

/// Result of a decode step.
pub type XdrResult<T> = Result<T, XdrError>;
