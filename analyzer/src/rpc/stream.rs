//! From reassembled TCP byte streams to ONC RPC records (RFC 5531 §11), with
//! the frames each record came in, and resynchronisation after gaps.
//!
//! Every direction starts by *hunting*: it looks for a plausible record start
//! (a last-fragment header whose length fits, followed by an xid and a call
//! header with `rpcvers` 2 or a reply header with a valid status), so a
//! capture that starts mid-connection or mid-record still finds its first
//! whole record. Once in step, records are cut by record marking; a gap, or
//! a fragment header that breaks the limits, sends the direction back to
//! hunting at the next byte it has. A direction that never shows an RPC
//! record within [`StreamLimits::hunt_give_up`] bytes is not RPC (SMB, TLS,
//! ...) and its bytes are ignored.

use crate::capture::packet::Timestamp;
use crate::rpc::{RecordAssembler, RecordLimits};
use crate::tcp::flow::{CloseReason, ConnId, ConnInfo, Direction, StreamSink};
use crate::tcp::hash::FastMap;

/// Bounds of the RPC stream layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Largest RPC record accepted (bigger claims send the direction hunting).
    pub max_record: usize,
    /// Bytes kept while hunting for a record start (a sliding window).
    pub hunt_window: usize,
    /// Bytes hunted without ever finding a record before a direction that
    /// never carried RPC is declared not RPC.
    pub hunt_give_up: u64,
    /// Most bytes held across all directions (records in progress and
    /// hunting windows); a direction that takes the total past it drops
    /// what it holds and hunts again.
    pub max_buffered_bytes: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_record: 16 << 20,
            hunt_window: 64 << 10,
            hunt_give_up: 1 << 20,
            max_buffered_bytes: 256 << 20,
        }
    }
}

/// Counters of the RPC stream layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// RPC records delivered.
    pub records: u64,
    /// Record bytes delivered (without record marks).
    pub record_bytes: u64,
    /// Records that spanned more than one TCP delivery (reassembled).
    pub reassembled_records: u64,
    /// Times a direction went back to hunting (gap, bad fragment header).
    pub resyncs: u64,
    /// Bytes skipped while hunting for a record start.
    pub skipped_bytes: u64,
    /// Records whose fragment header broke the limits.
    pub oversized_records: u64,
    /// Directions that ended in the middle of a record.
    pub truncated_records: u64,
    /// Directions declared not RPC.
    pub non_rpc_directions: u64,
    /// Bytes ignored on directions that are not RPC.
    pub non_rpc_bytes: u64,
    /// Times a direction dropped what it held at `max_buffered_bytes`.
    pub buffer_limit_drops: u64,
    /// Bytes dropped at that limit.
    pub buffer_limit_bytes: u64,
    /// Most bytes held at once across all directions.
    pub peak_buffered_bytes: u64,
}

/// Something the stream layer noticed, with the frame it was noticed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamNotice {
    /// The connection.
    pub conn: ConnId,
    /// The direction.
    pub dir: Direction,
    /// The frame.
    pub frame: u64,
    /// What happened.
    pub what: NoticeKind,
}

/// Kinds of [`StreamNotice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    /// Bytes lost before stream `offset` (from the TCP layer).
    Gap {
        /// Stream offset of the first lost byte.
        offset: u64,
        /// Number of bytes lost.
        len: u64,
    },
    /// A fragment header claimed more than the limits allow.
    OversizedRecord {
        /// Stream offset of the fragment header.
        offset: u64,
        /// What the record would have grown to.
        claimed: u64,
    },
    /// Bytes skipped before a record start was found again.
    Skipped {
        /// Stream offset of the first skipped byte.
        offset: u64,
        /// Number of bytes skipped.
        len: u64,
    },
    /// The stream ended inside a record.
    TruncatedRecord {
        /// Stream offset where the record began.
        offset: u64,
    },
    /// The direction carries no RPC.
    NotRpc,
    /// What the direction held was dropped at the buffer limit.
    BufferLimit {
        /// Stream offset where the direction resumes.
        offset: u64,
        /// Bytes dropped.
        dropped: u64,
    },
    /// The connection ended before any RPC record was found on the direction.
    NoRecord {
        /// Bytes the direction carried.
        bytes: u64,
    },
}

/// One RPC record (one message), with where it came from.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// The connection.
    pub conn: ConnId,
    /// The direction it travelled.
    pub dir: Direction,
    /// The connection's endpoints.
    pub info: &'a ConnInfo,
    /// The record's bytes (without record marks): one RPC message.
    pub bytes: &'a [u8],
    /// Stream offset of the record's first fragment header.
    pub offset: u64,
    /// Frame in which the record's first byte arrived.
    pub first_frame: u64,
    /// Frame in which its last byte arrived (tshark's frame for the message).
    pub frame: u64,
    /// Time of that frame.
    pub ts: Timestamp,
}

/// Receives the records (and notices) of the RPC stream layer.
pub trait RecordSink {
    /// One complete record.
    fn record(&mut self, rec: RecordRef<'_>);
    /// One complete record whose bytes are in a buffer of their own, `data`
    /// (`rec.bytes` is empty): one reassembled from several segments. A
    /// sink that keeps records (to decode them on another thread) may take
    /// the buffer, leaving an empty one (best with capacity, to be reused)
    /// in its place. By default the record goes to [`record`](Self::record).
    fn record_buffer(&mut self, rec: RecordRef<'_>, data: &mut Vec<u8>) {
        self.record(RecordRef { bytes: data, ..rec });
    }
    /// Something worth reporting.
    fn notice(&mut self, n: StreamNotice);
    /// A connection ended (pending calls on it can be forgotten).
    fn closed(&mut self, conn: ConnId, reason: CloseReason, frame: u64);
}

#[derive(Debug)]
enum Mode {
    /// Looking for a record start; `buf` holds bytes from stream offset `at`,
    /// `chunks` the (offset, frame) of each chunk in it; `from` is where the
    /// hunt began (bytes from there to the record found are skipped).
    Hunting {
        buf: Vec<u8>,
        at: u64,
        chunks: Vec<(u64, u64)>,
        from: u64,
    },
    /// In step with record marking.
    InStep {
        asm: RecordAssembler,
        /// Frame of the first byte of the record in progress.
        partial_first_frame: u64,
    },
    /// Not RPC: everything is ignored.
    NotRpc,
}

#[derive(Debug)]
struct DirState {
    mode: Mode,
    /// Stream offset of the next byte expected.
    next: u64,
    /// A record was ever found on this direction.
    ever_rpc: bool,
    /// Bytes hunted since the last record (for giving up).
    hunted: u64,
    /// Bytes this direction holds, as last counted in the total.
    accounted: usize,
}

impl DirState {
    fn new() -> Self {
        DirState {
            mode: Mode::Hunting {
                buf: Vec::new(),
                at: 0,
                chunks: Vec::new(),
                from: 0,
            },
            next: 0,
            ever_rpc: false,
            hunted: 0,
            accounted: 0,
        }
    }

    /// Bytes held: the record in progress or the hunting window.
    fn buffered(&self) -> usize {
        match &self.mode {
            Mode::Hunting { buf, .. } => buf.len(),
            Mode::InStep { asm, .. } => asm.buffered(),
            Mode::NotRpc => 0,
        }
    }
}

#[derive(Debug)]
struct ConnState {
    info: ConnInfo,
    to_server: DirState,
    to_client: DirState,
}

impl ConnState {
    fn dir(&mut self, d: Direction) -> (&ConnInfo, &mut DirState) {
        match d {
            Direction::ToServer => (&self.info, &mut self.to_server),
            Direction::ToClient => (&self.info, &mut self.to_client),
        }
    }
}

/// The RPC stream layer: a [`StreamSink`] for the TCP reassembler that
/// hands complete records to a [`RecordSink`].
#[derive(Debug)]
pub struct RpcStreams<S> {
    limits: StreamLimits,
    conns: FastMap<ConnId, ConnState>,
    stats: StreamStats,
    /// Bytes held across all directions.
    buffered: usize,
    /// An empty buffer kept from a record reassembled earlier, lent to the
    /// next direction that starts one (at most [`SPARE_MAX`] bytes kept).
    spare: Vec<u8>,
    /// Where records go.
    pub sink: S,
}

/// Largest buffer kept for reuse between reassembled records.
const SPARE_MAX: usize = 4 << 20;

impl<S: RecordSink> RpcStreams<S> {
    /// A stream layer feeding `sink`.
    pub fn new(limits: StreamLimits, sink: S) -> Self {
        RpcStreams {
            limits,
            conns: FastMap::default(),
            stats: StreamStats::default(),
            buffered: 0,
            spare: Vec::new(),
            sink,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Connections currently tracked.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Bytes held across all directions now.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    fn record_limits(&self) -> RecordLimits {
        RecordLimits {
            max_record: self.limits.max_record,
            ..RecordLimits::default()
        }
    }

    /// Runs `f` on one direction of a tracked connection with its context
    /// (nothing happens for a connection that was never opened).
    fn with_direction(
        &mut self,
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        f: impl FnOnce(&mut Ctx<'_, S>, &mut DirState),
    ) {
        let limits = self.limits;
        let rec_limits = self.record_limits();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let (info, st) = c.dir(dir);
        let mut ctx = Ctx {
            conn,
            dir,
            info,
            frame,
            ts,
            limits,
            rec_limits,
            stats: &mut self.stats,
            spare: &mut self.spare,
            sink: &mut self.sink,
        };
        f(&mut ctx, st);
        let mut held = st.buffered();
        let others = self.buffered.saturating_sub(st.accounted);
        if held > 0 && others.saturating_add(held) > limits.max_buffered_bytes {
            // Over the total: this direction gives up what it holds (the
            // others keep theirs) and hunts again from its next byte.
            ctx.stats.buffer_limit_drops += 1;
            ctx.stats.buffer_limit_bytes += held as u64;
            ctx.sink.notice(StreamNotice {
                conn,
                dir,
                frame,
                what: NoticeKind::BufferLimit {
                    offset: st.next,
                    dropped: held as u64,
                },
            });
            ctx.go_hunting(st, st.next);
            // The dropped bytes are reported here, not again at close.
            st.hunted = 0;
            held = st.buffered();
        }
        self.buffered = others.saturating_add(held);
        st.accounted = held;
        let total = self.buffered as u64;
        self.stats.peak_buffered_bytes = self.stats.peak_buffered_bytes.max(total);
    }
}

impl<S: RecordSink> StreamSink for RpcStreams<S> {
    fn open(&mut self, conn: ConnId, info: &ConnInfo) {
        self.conns.insert(
            conn,
            ConnState {
                info: *info,
                to_server: DirState::new(),
                to_client: DirState::new(),
            },
        );
    }

    fn data(
        &mut self,
        conn: ConnId,
        dir: Direction,
        offset: u64,
        bytes: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        self.with_direction(conn, dir, frame, ts, |ctx, st| {
            if st.next != offset && !matches!(st.mode, Mode::NotRpc) {
                // The TCP layer delivers in order; a jump means bytes we
                // never got. Treat it like a gap.
                ctx.go_hunting(st, offset);
            }
            st.next = offset.saturating_add(bytes.len() as u64);
            ctx.feed(st, offset, bytes);
        });
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, offset: u64, len: u64, frame: u64) {
        self.with_direction(conn, dir, frame, Timestamp::default(), |ctx, st| {
            if !matches!(st.mode, Mode::NotRpc) {
                ctx.sink.notice(StreamNotice {
                    conn,
                    dir,
                    frame,
                    what: NoticeKind::Gap { offset, len },
                });
                ctx.go_hunting(st, offset.saturating_add(len));
            }
            st.next = offset.saturating_add(len);
        });
    }

    fn close(&mut self, conn: ConnId, reason: CloseReason, frame: u64) {
        if let Some(mut c) = self.conns.remove(&conn) {
            self.buffered = self
                .buffered
                .saturating_sub(c.to_server.accounted + c.to_client.accounted);
            for (dir, st) in [
                (Direction::ToServer, &mut c.to_server),
                (Direction::ToClient, &mut c.to_client),
            ] {
                if let Mode::Hunting { from, .. } = &st.mode {
                    if st.hunted > 0 {
                        // Bytes that never led to a record: say so, or they
                        // would vanish without a word.
                        let what = if st.ever_rpc {
                            NoticeKind::Skipped {
                                offset: *from,
                                len: st.next.saturating_sub(*from),
                            }
                        } else {
                            self.stats.non_rpc_directions += 1;
                            NoticeKind::NoRecord { bytes: st.hunted }
                        };
                        self.sink.notice(StreamNotice {
                            conn,
                            dir,
                            frame,
                            what,
                        });
                    }
                }
                if let Mode::InStep { asm, .. } = &st.mode {
                    if !asm.is_at_boundary() {
                        self.stats.truncated_records += 1;
                        let offset = asm.finish().err().map(|e| e.offset()).unwrap_or(st.next);
                        self.sink.notice(StreamNotice {
                            conn,
                            dir,
                            frame,
                            what: NoticeKind::TruncatedRecord { offset },
                        });
                    }
                }
            }
        }
        self.sink.closed(conn, reason, frame);
    }
}

/// Everything a direction's processing needs besides its own state.
struct Ctx<'s, S> {
    conn: ConnId,
    dir: Direction,
    info: &'s ConnInfo,
    frame: u64,
    ts: Timestamp,
    limits: StreamLimits,
    rec_limits: RecordLimits,
    stats: &'s mut StreamStats,
    spare: &'s mut Vec<u8>,
    sink: &'s mut S,
}

impl<S: RecordSink> Ctx<'_, S> {
    fn emit(&mut self, bytes: &[u8], offset: u64, first_frame: u64) {
        self.stats.records += 1;
        self.stats.record_bytes += bytes.len() as u64;
        if first_frame != self.frame {
            self.stats.reassembled_records += 1;
        }
        self.sink.record(RecordRef {
            conn: self.conn,
            dir: self.dir,
            info: self.info,
            bytes,
            offset,
            first_frame,
            frame: self.frame,
            ts: self.ts,
        });
    }

    /// Emits a record popped from an assembler and keeps its buffer for
    /// the next record to be reassembled.
    fn emit_popped(&mut self, rec: crate::rpc::Record, first_frame: u64) {
        let mut data = rec.data;
        self.stats.records += 1;
        self.stats.record_bytes += data.len() as u64;
        if first_frame != self.frame {
            self.stats.reassembled_records += 1;
        }
        let meta = RecordRef {
            conn: self.conn,
            dir: self.dir,
            info: self.info,
            bytes: &[],
            offset: rec.offset,
            first_frame,
            frame: self.frame,
            ts: self.ts,
        };
        self.sink.record_buffer(meta, &mut data);
        if data.capacity() > self.spare.capacity() && data.capacity() <= SPARE_MAX {
            *self.spare = data;
        }
    }

    /// Drops any record in progress and starts hunting at stream offset `at`.
    fn go_hunting(&mut self, st: &mut DirState, at: u64) {
        if let Mode::InStep { .. } = st.mode {
            self.stats.resyncs += 1;
        }
        st.mode = Mode::Hunting {
            buf: Vec::new(),
            at,
            chunks: Vec::new(),
            from: at,
        };
    }

    fn feed(&mut self, st: &mut DirState, offset: u64, bytes: &[u8]) {
        match st.mode {
            Mode::NotRpc => self.stats.non_rpc_bytes += bytes.len() as u64,
            Mode::InStep { .. } => self.feed_in_step(st, offset, bytes),
            Mode::Hunting { .. } => self.hunt(st, offset, bytes),
        }
    }

    /// In step: cut whole records straight from `bytes` while the assembler
    /// holds nothing (no copy), and let the assembler join the rest.
    fn feed_in_step(&mut self, st: &mut DirState, offset: u64, bytes: &[u8]) {
        let Mode::InStep {
            asm,
            partial_first_frame,
        } = &mut st.mode
        else {
            return;
        };
        let mut rest = bytes;
        let mut at = offset;
        while asm.is_at_boundary() {
            let Some((len, last)) = fragment_header(rest) else {
                break;
            };
            if !last || len > self.limits.max_record || rest.len() - 4 < len {
                break;
            }
            let (rec, later) = rest.split_at(4 + len);
            st.ever_rpc = true;
            st.hunted = 0;
            self.emit(&rec[4..], at, self.frame);
            at += rec.len() as u64;
            rest = later;
            asm.reset_at(at);
        }
        if rest.is_empty() {
            return;
        }
        let started_before = !asm.is_at_boundary();
        if !started_before {
            asm.lend_buffer(self.spare);
        }
        let fed = asm.feed(rest);
        let mut first = true;
        let mut popped = false;
        while let Some(rec) = asm.pop() {
            let ff = if first && started_before {
                *partial_first_frame
            } else {
                self.frame
            };
            first = false;
            popped = true;
            self.emit_popped(rec, ff);
        }
        if popped {
            st.ever_rpc = true;
            st.hunted = 0;
        }
        if !asm.is_at_boundary() && (!started_before || popped) {
            *partial_first_frame = self.frame;
        }
        if let Err(e) = fed {
            self.stats.oversized_records += 1;
            let claimed = match &e {
                crate::rpc::RecordError::RecordTooLarge { claimed, .. } => *claimed,
                _ => 0,
            };
            self.sink.notice(StreamNotice {
                conn: self.conn,
                dir: self.dir,
                frame: self.frame,
                what: NoticeKind::OversizedRecord {
                    offset: e.offset(),
                    claimed,
                },
            });
            // Hunt again from the byte after the bad header, over the bytes
            // of this chunk that the failed assembler dropped.
            let resume = e.offset().saturating_add(4);
            let start = resume.saturating_sub(at).min(rest.len() as u64) as usize;
            self.stats.resyncs += 1;
            st.mode = Mode::Hunting {
                buf: Vec::new(),
                at: at + start as u64,
                chunks: Vec::new(),
                from: at + start as u64,
            };
            self.hunt(st, at + start as u64, &rest[start..]);
        }
    }

    /// Hunting: look for a record start in the window; once found, go in
    /// step and feed the rest.
    fn hunt(&mut self, st: &mut DirState, offset: u64, bytes: &[u8]) {
        let Mode::Hunting {
            buf,
            at,
            chunks,
            from,
        } = &mut st.mode
        else {
            return;
        };
        if buf.is_empty() {
            *at = offset;
            chunks.clear();
        }
        chunks.push((offset, self.frame));
        buf.extend_from_slice(bytes);
        st.hunted += bytes.len() as u64;
        let at_stream_start = *at == 0 && self.info.handshake_seen;
        match find_record_start(buf, self.limits.max_record, at_stream_start) {
            Search::Found(p) => {
                let start = *at + p as u64;
                self.stats.skipped_bytes += p as u64;
                // Bytes dropped from the window earlier were skipped too:
                // report the whole run since the hunt began.
                let from = (*from).min(start);
                if start > from {
                    self.sink.notice(StreamNotice {
                        conn: self.conn,
                        dir: self.dir,
                        frame: self.frame,
                        what: NoticeKind::Skipped {
                            offset: from,
                            len: start - from,
                        },
                    });
                }
                let first_frame = chunks
                    .iter()
                    .rev()
                    .find(|(o, _)| *o <= start)
                    .map(|(_, f)| *f)
                    .unwrap_or(self.frame);
                let data = std::mem::take(buf);
                st.mode = Mode::InStep {
                    asm: RecordAssembler::with_limits(self.rec_limits).starting_at(start),
                    partial_first_frame: first_frame,
                };
                // Replay the window from the record start; records that began
                // in earlier chunks keep their first frame.
                self.replay(st, start, &data[p..], first_frame);
            }
            Search::NotYet(keep_from) => {
                let gave_up = !st.ever_rpc && st.hunted > self.limits.hunt_give_up;
                if gave_up {
                    self.stats.non_rpc_directions += 1;
                    self.stats.non_rpc_bytes += buf.len() as u64;
                    self.sink.notice(StreamNotice {
                        conn: self.conn,
                        dir: self.dir,
                        frame: self.frame,
                        what: NoticeKind::NotRpc,
                    });
                    st.mode = Mode::NotRpc;
                    return;
                }
                // Keep only what may still start a record, within the window.
                let keep_from = keep_from.max(buf.len().saturating_sub(self.limits.hunt_window));
                if keep_from > 0 {
                    self.stats.skipped_bytes += keep_from as u64;
                    buf.drain(..keep_from);
                    *at += keep_from as u64;
                    chunks.retain(|(o, _)| *o >= *at);
                    if chunks.first().is_none_or(|(o, _)| *o > *at) {
                        chunks.insert(0, (*at, self.frame));
                    }
                }
            }
        }
    }

    /// Feeds the bytes of a hunting window, from a found record start, to
    /// the (new) assembler.
    fn replay(&mut self, st: &mut DirState, start: u64, data: &[u8], first_frame: u64) {
        let Mode::InStep {
            asm,
            partial_first_frame,
        } = &mut st.mode
        else {
            return;
        };
        *partial_first_frame = first_frame;
        asm.lend_buffer(self.spare);
        let fed = asm.feed(data);
        let mut popped = false;
        while let Some(rec) = asm.pop() {
            let ff = if rec.offset == start {
                first_frame
            } else {
                self.frame
            };
            popped = true;
            self.emit_popped(rec, ff);
        }
        if popped {
            st.ever_rpc = true;
            st.hunted = 0;
            if !asm.is_at_boundary() {
                *partial_first_frame = self.frame;
            }
        }
        if let Err(e) = fed {
            // The candidate was wrong after all: hunt past it.
            self.stats.oversized_records += 1;
            let resume = e.offset().saturating_add(4);
            let skip = resume.saturating_sub(start).min(data.len() as u64) as usize;
            st.mode = Mode::Hunting {
                buf: Vec::new(),
                at: start + skip as u64,
                chunks: Vec::new(),
                from: start + skip as u64,
            };
            self.hunt(st, start + skip as u64, &data[skip..]);
        }
    }
}

/// A fragment header at the start of `b`: (length, last-fragment bit).
fn fragment_header(b: &[u8]) -> Option<(usize, bool)> {
    let h = u32::from_be_bytes(b.get(..4)?.try_into().ok()?);
    Some(((h & 0x7fff_ffff) as usize, h & 0x8000_0000 != 0))
}

enum Search {
    /// A plausible record starts at this index.
    Found(usize),
    /// None yet; bytes before this index can never start one.
    NotYet(usize),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Looks for the first position where a plausible RPC record starts. At
/// the very start of a connection whose handshake was seen, a record made
/// of several fragments is accepted too.
fn find_record_start(buf: &[u8], max_record: usize, at_stream_start: bool) -> Search {
    if at_stream_start {
        match plausible_first_fragment(buf, max_record) {
            Some(true) => return Search::Found(0),
            None => return Search::NotYet(0),
            Some(false) => {}
        }
    }
    let mut p = 0;
    while p + 4 <= buf.len() {
        match plausible_record(&buf[p..], max_record) {
            Some(true) => return Search::Found(p),
            Some(false) => p += 1,
            None => return Search::NotYet(p),
        }
    }
    Search::NotYet(p)
}

/// At a connection's first byte: a fragment header (last or not) whose first
/// fragment holds a message type and, for a call, `rpcvers` 2.
fn plausible_first_fragment(b: &[u8], max_record: usize) -> Option<bool> {
    let (len, _) = fragment_header(b)?;
    if !(12..=max_record).contains(&len) {
        return Some(false);
    }
    match be32(b, 8)? {
        0 if len >= 16 => Some(be32(b, 12)? == 2),
        0 => Some(false),
        1 => Some(true),
        _ => Some(false),
    }
}

/// Is a plausible RPC record at the start of `b`? `None`: not enough bytes
/// to tell yet.
fn plausible_record(b: &[u8], max_record: usize) -> Option<bool> {
    let (len, last) = fragment_header(b)?;
    if !last || !(20..=max_record).contains(&len) {
        return Some(false);
    }
    let mtype = be32(b, 8)?;
    match mtype {
        0 => {
            // Call: rpcvers 2, small version and procedure numbers, a
            // credential flavor and length that make sense.
            if len < 40 || be32(b, 12)? != 2 {
                return Some(false);
            }
            let vers = be32(b, 20)?;
            let proc_ = be32(b, 24)?;
            let flavor = be32(b, 28)?;
            let cred_len = be32(b, 32)?;
            Some(vers < 1000 && proc_ < 10_000 && flavor < 400_000 && cred_len <= 400)
        }
        1 => {
            // Reply: accepted (verifier and accept_stat valid) or denied.
            match be32(b, 12)? {
                0 => {
                    let flavor = be32(b, 16)?;
                    let verf_len = be32(b, 20)? as usize;
                    if flavor >= 400_000 || verf_len > 400 {
                        return Some(false);
                    }
                    let stat = be32(b, 24 + crate::xdr::padded(verf_len))?;
                    Some(stat <= 5)
                }
                1 => {
                    let stat = be32(b, 16)?;
                    Some(stat <= 1)
                }
                _ => Some(false),
            }
        }
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests;
