//! The pipeline on several threads, with the same output as on one.
//!
//! The calling thread reads the source and runs every stage that keeps
//! state across records: slicing, TCP reassembly, record marking, and the
//! [`CallTable`] (RPC headers, program classes, the bounded call table). It
//! copies each record, with what the call table decided for it
//! ([`Route`]), into a batch; worker threads decode the batches' bodies
//! ([`BodyDecoder`], which keeps no state between records) and format the
//! messages with their own [`ByteSink`]. Batches are written in the order
//! they were made, so the output is the one-thread output byte for byte.
//!
//! What a body decoder learns that the call table needs (the callback
//! programs a client announces) goes back with the batch and is applied
//! when the batch is written, in record order. A call whose class could
//! change with what is still being decoded (a program neither NFS nor a
//! known callback program) waits until every earlier batch is written.
//! Problems carry the key of the moment they were found, so the list kept
//! at `max_problems` is the one-thread list.
//!
//! Memory stays bounded: at most [`MAX_IN_FLIGHT_PER_WORKER`] batches per
//! worker are out, and a batch closes at [`BATCH_RECORDS`] records or
//! [`BATCH_BYTES`] bytes.

use super::{notice_problem, Front, PipelineLimits, PipelineStats, ProblemList};
use crate::capture::packet::Timestamp;
use crate::exchange::{
    BodyDecoder, BodyStats, CallTable, ExchangeStats, Message, MessageSink, Notice, Route,
};
use crate::pipeline::FrameSource;
use crate::rpc::stream::{RecordRef, RecordSink, RpcStreams, StreamNotice};
use crate::rpc::{MsgBody, RpcMessage};
use crate::tcp::flow::{CloseReason, ConnId, ConnInfo, Direction};
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Records per batch.
pub const BATCH_RECORDS: usize = 256;
/// Record bytes per batch (a larger record makes a batch of its own).
pub const BATCH_BYTES: usize = 256 * 1024;
/// Batches handed to each worker and not yet written back.
pub const MAX_IN_FLIGHT_PER_WORKER: usize = 3;
/// A recycled batch buffer larger than this is given back to the allocator.
const KEEP_CAPACITY: usize = 1 << 20;
/// Reassembled records this large are moved into a batch, not copied.
const MOVE_ABOVE: usize = 64 * 1024;
/// Buffers of reassembled records kept for reuse, and the largest kept.
const MAX_SPARE_BUFFERS: usize = 16;
const MAX_SPARE_BUFFER: usize = 4 << 20;

/// A [`MessageSink`] whose output is bytes, for [`run_parallel`]: each
/// worker thread formats messages into its own, and the main one writes
/// their bytes in order.
pub trait ByteSink: MessageSink {
    /// The time of the capture's first message (for relative times): every
    /// worker's sink is told before it sees a message.
    fn set_origin(&mut self, t0: Timestamp);
    /// Swaps the bytes written so far with `buf`, and the ends of the
    /// units (lines) in them with `ends` (both empty on entry; a sink may
    /// leave `ends` empty).
    fn swap_output(&mut self, buf: &mut Vec<u8>, ends: &mut Vec<usize>);
    /// Writes bytes that a worker's sink produced, with the ends of their
    /// units if it gave them (to write them one by one, as it would have).
    fn write_output(&mut self, bytes: &[u8], ends: &[usize]);
    /// True once writing failed for good (reading stops early).
    fn failed(&self) -> bool {
        false
    }
}

/// One record in a batch.
#[derive(Debug, Clone, Copy)]
struct Item {
    conn: ConnId,
    dir: Direction,
    info: ConnInfo,
    offset: u64,
    first_frame: u64,
    frame: u64,
    ts: Timestamp,
    /// Where its bytes are in the batch: `bytes[start..start + len]`, or
    /// buffer `owned[i]` for `Some(i)`.
    start: usize,
    len: usize,
    owned: Option<usize>,
    route: Route,
    /// When it was found, among problems (see [`ProblemList`]).
    key: u64,
}

/// What a batch holds, in the order the pipeline met it.
#[derive(Debug, Clone)]
enum Entry {
    /// A record to decode.
    Record(Item),
    /// A problem the reading thread found (its sink hears of it in place).
    Notice(Notice),
}

/// Records to decode, then what decoding them gave.
#[derive(Debug, Default)]
struct Batch {
    n: u64,
    t0: Option<Timestamp>,
    bytes: Vec<u8>,
    /// Records reassembled from several segments, moved in whole.
    owned: Vec<Vec<u8>>,
    /// Bytes in `bytes` and `owned`.
    held: usize,
    items: Vec<Entry>,
    /// Records in `items`.
    records: usize,
    output: Vec<u8>,
    /// Where the units of `output` end.
    ends: Vec<usize>,
    problems: Vec<(u64, u64, &'static str, String)>,
    learned: Vec<u32>,
    stats: BodyStats,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.owned.clear();
        self.held = 0;
        self.items.clear();
        self.records = 0;
        self.output.clear();
        self.ends.clear();
        self.problems.clear();
        self.learned.clear();
        self.stats = BodyStats::default();
        for v in [&mut self.bytes, &mut self.output] {
            if v.capacity() > KEEP_CAPACITY {
                *v = Vec::new();
            }
        }
    }
}

/// A worker's sink for one record: messages to the byte sink, problems
/// into the batch with the record's key.
struct WorkerSink<'a, S> {
    sink: &'a mut S,
    problems: &'a mut Vec<(u64, u64, &'static str, String)>,
    key: u64,
}

impl<S: ByteSink> MessageSink for WorkerSink<'_, S> {
    fn message(&mut self, m: &Message<'_>) {
        self.sink.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        let (frame, kind, message) = notice_problem(n);
        self.problems.push((self.key, frame, kind, message));
        self.sink.notice(n);
    }

    fn finish(&mut self) {}
}

/// Decodes batches until the channel closes.
fn worker<S: ByteSink>(sink: &mut S, jobs: &Receiver<Box<Batch>>, done: &Sender<Box<Batch>>) {
    let mut body = BodyDecoder::new();
    while let Ok(mut batch) = jobs.recv() {
        if let Some(t0) = batch.t0 {
            sink.set_origin(t0);
        }
        let Batch {
            bytes,
            owned,
            items,
            problems,
            learned,
            ..
        } = &mut *batch;
        for entry in items.iter() {
            let it = match entry {
                Entry::Record(it) => it,
                Entry::Notice(n) => {
                    sink.notice(n);
                    continue;
                }
            };
            let bytes = match it.owned {
                Some(i) => owned.get(i).map_or(&[][..], Vec::as_slice),
                None => bytes.get(it.start..it.start + it.len).unwrap_or_default(),
            };
            let rec = RecordRef {
                conn: it.conn,
                dir: it.dir,
                info: &it.info,
                bytes,
                offset: it.offset,
                first_frame: it.first_frame,
                frame: it.frame,
                ts: it.ts,
            };
            let mut ws = WorkerSink {
                sink: &mut *sink,
                problems,
                key: it.key,
            };
            body.decode(&rec, it.route, &mut ws);
            learned.append(&mut body.learned);
        }
        batch.stats = std::mem::take(&mut body.stats);
        sink.swap_output(&mut batch.output, &mut batch.ends);
        if done.send(batch).is_err() {
            return;
        }
    }
}

/// The calling thread's record sink: routes records, fills batches, hands
/// them out and writes them back in order.
struct Dispatch<'a, M> {
    table: CallTable,
    /// The main sink: problems' notices, and the workers' bytes.
    main: M,
    problems: ProblemList,
    body_stats: BodyStats,
    t0: Option<Timestamp>,
    current: Batch,
    next_batch: u64,
    next_write: u64,
    jobs: &'a [SyncSender<Box<Batch>>],
    done: &'a Receiver<Box<Batch>>,
    in_flight: usize,
    /// Batches back from the workers, waiting for earlier ones.
    waiting: BTreeMap<u64, Box<Batch>>,
    free: Vec<Batch>,
    /// Empty buffers of reassembled records, to give back in exchange for
    /// the next one.
    buffers: Vec<Vec<u8>>,
    /// A worker is gone (it panicked): nothing more is handed out.
    broken: bool,
    /// Records per batch.
    batch_records: usize,
}

impl<M: ByteSink> Dispatch<'_, M> {
    /// Writes back a batch: its bytes, what it learned, its problems.
    fn retire(&mut self, mut b: Box<Batch>) {
        if !self.main.failed() {
            self.main.write_output(&b.output, &b.ends);
        }
        for prog in b.learned.drain(..) {
            self.table.learn(prog);
        }
        for (key, frame, kind, message) in b.problems.drain(..) {
            self.problems.add_keyed(key, frame, kind, message);
        }
        self.body_stats.absorb(&b.stats);
        for mut v in b.owned.drain(..) {
            let fits = (MOVE_ABOVE..=MAX_SPARE_BUFFER).contains(&v.capacity());
            if self.buffers.len() < MAX_SPARE_BUFFERS && fits {
                v.clear();
                self.buffers.push(v);
            }
        }
        b.clear();
        self.free.push(*b);
    }

    /// Receives one batch back and writes whatever is next in order.
    fn receive_one(&mut self) {
        match self.done.recv() {
            Ok(b) => {
                self.in_flight -= 1;
                self.waiting.insert(b.n, b);
                while let Some(b) = self.waiting.remove(&self.next_write) {
                    self.next_write += 1;
                    self.retire(b);
                }
            }
            Err(_) => {
                self.broken = true;
                self.in_flight = 0;
            }
        }
    }

    /// Hands the current batch to a worker (waiting for room).
    fn send_current(&mut self) {
        if self.current.items.is_empty() {
            return;
        }
        let workers = self.jobs.len();
        while self.in_flight >= workers * MAX_IN_FLIGHT_PER_WORKER && !self.broken {
            self.receive_one();
        }
        let mut b = Box::new(std::mem::replace(
            &mut self.current,
            self.free.pop().unwrap_or_default(),
        ));
        b.n = self.next_batch;
        b.t0 = self.t0;
        self.next_batch += 1;
        if self.broken {
            return;
        }
        let w = (b.n % workers as u64) as usize;
        match self.jobs.get(w).map(|tx| tx.send(b)) {
            Some(Ok(())) => self.in_flight += 1,
            _ => self.broken = true,
        }
    }

    /// A problem found here: listed now, and passed on in its place among
    /// the records (a sink that keeps state, like the model, hears of it
    /// where it happened).
    fn pass_notice(&mut self, n: Notice) {
        let (frame, kind, message) = notice_problem(&n);
        self.problems.add(frame, kind, message);
        self.current.items.push(Entry::Notice(n));
    }

    /// Waits until every batch handed out is written.
    fn drain(&mut self) {
        self.send_current();
        while self.in_flight > 0 {
            self.receive_one();
        }
    }
}

impl<M: ByteSink> Dispatch<'_, M> {
    /// Routes a record and puts it in the current batch: its bytes copied,
    /// or its buffer `owned` moved in (an empty one left in its place).
    fn dispatch(&mut self, rec: RecordRef<'_>, owned: Option<&mut Vec<u8>>) {
        let bytes = match &owned {
            Some(v) => v.as_slice(),
            None => rec.bytes,
        };
        let (msg, payload) = match RpcMessage::parse(bytes) {
            Ok(parsed) => parsed,
            Err(error) => {
                let mut notice = None;
                self.table.not_rpc(&rec, error, |n| notice = Some(n));
                if let Some(n) = notice {
                    self.pass_notice(n);
                }
                return;
            }
        };
        if let MsgBody::Call(call) = &msg.body {
            if self.table.class_may_change(call.prog) {
                // Its class depends on the callback programs learned from
                // every earlier call: wait for them.
                self.drain();
            }
        }
        let route = self
            .table
            .route_message(&RecordRef { bytes, ..rec }, &msg, payload);
        self.t0.get_or_insert(rec.ts);
        let len = bytes.len();
        let b = &mut self.current;
        let (start, owned) = match owned {
            // Large ones move; small ones are copied like the others (the
            // stream layer keeps their buffer).
            Some(v) if len >= MOVE_ABOVE => {
                let fresh = self.buffers.pop().unwrap_or_default();
                b.owned.push(std::mem::replace(v, fresh));
                (0, Some(b.owned.len() - 1))
            }
            Some(v) => {
                let start = b.bytes.len();
                b.bytes.extend_from_slice(v);
                (start, None)
            }
            None => {
                let start = b.bytes.len();
                b.bytes.extend_from_slice(rec.bytes);
                (start, None)
            }
        };
        b.held += len;
        b.records += 1;
        b.items.push(Entry::Record(Item {
            conn: rec.conn,
            dir: rec.dir,
            info: *rec.info,
            offset: rec.offset,
            first_frame: rec.first_frame,
            frame: rec.frame,
            ts: rec.ts,
            start,
            len,
            owned,
            route,
            key: self.problems.next_key(),
        }));
        if b.records >= self.batch_records || b.held >= BATCH_BYTES {
            self.send_current();
        }
    }
}

impl<M: ByteSink> RecordSink for Dispatch<'_, M> {
    fn record(&mut self, rec: RecordRef<'_>) {
        self.dispatch(rec, None);
    }

    fn record_buffer(&mut self, rec: RecordRef<'_>, data: &mut Vec<u8>) {
        self.dispatch(rec, Some(data));
    }

    fn notice(&mut self, n: StreamNotice) {
        self.pass_notice(Notice::Stream(n));
    }

    fn closed(&mut self, conn: ConnId, _reason: CloseReason, _frame: u64) {
        self.table.closed(conn);
    }
}

/// How often (in frames) progress is reported.
const PROGRESS_EVERY: u64 = 4096;

/// Runs the pipeline over `source` with `workers` threads decoding and
/// formatting (made by `make_sink`, one each) while this thread reads,
/// reassembles and routes, and writes their output through `main` in
/// order; then finishes as [`Pipeline::run`](super::Pipeline::run) does.
/// The output is the one [`Pipeline::run`](super::Pipeline::run) gives
/// with `main` alone. `workers` is at least 1.
pub fn run_parallel<M, S, F, Src>(
    source: &mut Src,
    limits: PipelineLimits,
    main: M,
    workers: usize,
    make_sink: F,
    progress: impl FnMut(u64, Option<u64>),
) -> (M, PipelineStats)
where
    M: ByteSink,
    S: ByteSink + Send,
    F: Fn() -> S + Sync,
    Src: FrameSource + ?Sized,
{
    run_parallel_batched(
        source,
        limits,
        main,
        workers,
        BATCH_RECORDS,
        make_sink,
        progress,
    )
}

/// [`run_parallel`] with `batch_records` records per batch (tests use
/// tiny batches to make every hand-over happen on small captures).
pub fn run_parallel_batched<M, S, F, Src>(
    source: &mut Src,
    limits: PipelineLimits,
    main: M,
    workers: usize,
    batch_records: usize,
    make_sink: F,
    progress: impl FnMut(u64, Option<u64>),
) -> (M, PipelineStats)
where
    M: ByteSink,
    S: ByteSink + Send,
    F: Fn() -> S + Sync,
    Src: FrameSource + ?Sized,
{
    let workers = workers.max(1);
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = channel();
        let mut jobs = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = sync_channel::<Box<Batch>>(MAX_IN_FLIGHT_PER_WORKER);
            let done = done_tx.clone();
            let make_sink = &make_sink;
            scope.spawn(move || worker(&mut make_sink(), &rx, &done));
            jobs.push(tx);
        }
        drop(done_tx);
        route(
            source,
            limits,
            main,
            jobs,
            &done_rx,
            batch_records,
            progress,
        )
    })
}

/// A sink that only passes messages and problems on (no output of its own).
struct Plain<'a, M>(&'a mut M);

impl<M: MessageSink> MessageSink for Plain<'_, M> {
    fn message(&mut self, m: &Message<'_>) {
        self.0.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        self.0.notice(n);
    }

    fn finish(&mut self) {}
}

impl<M: MessageSink> ByteSink for Plain<'_, M> {
    fn set_origin(&mut self, _t0: Timestamp) {}

    fn swap_output(&mut self, _buf: &mut Vec<u8>, _ends: &mut Vec<usize>) {}

    fn write_output(&mut self, _bytes: &[u8], _ends: &[usize]) {}
}

/// Runs the pipeline over `source` on two threads: a new one reads,
/// reassembles and routes, while this one decodes and hands messages to
/// `sink` (which may keep state across messages, like the model: it sees
/// every message and problem in the order [`Pipeline::run`](super::Pipeline::run)
/// gives them, and the counters are the same).
pub fn run_pipelined<M, Src>(
    source: &mut Src,
    limits: PipelineLimits,
    mut sink: M,
    progress: impl FnMut(u64, Option<u64>) + Send,
) -> (M, PipelineStats)
where
    M: MessageSink,
    Src: FrameSource + Send + ?Sized,
{
    let stats = std::thread::scope(|scope| {
        let (done_tx, done_rx) = channel();
        let (tx, rx) = sync_channel::<Box<Batch>>(MAX_IN_FLIGHT_PER_WORKER);
        let router = scope.spawn(move || {
            let (_, stats) = route(
                source,
                limits,
                Plain(&mut NoSink),
                vec![tx],
                &done_rx,
                BATCH_RECORDS,
                progress,
            );
            stats
        });
        worker(&mut Plain(&mut sink), &rx, &done_tx);
        drop(done_tx);
        router.join()
    });
    match stats {
        Ok(stats) => {
            sink.finish();
            (sink, stats)
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A sink that drops everything.
struct NoSink;

impl MessageSink for NoSink {
    fn message(&mut self, _m: &Message<'_>) {}
    fn notice(&mut self, _n: &Notice) {}
    fn finish(&mut self) {}
}

/// Reads `source` on this thread and routes its records to `jobs` (the
/// workers' channels, closed at the end), writing what comes back on
/// `done` through `main`; returns `main` and the counters.
fn route<M, Src>(
    source: &mut Src,
    limits: PipelineLimits,
    main: M,
    jobs: Vec<SyncSender<Box<Batch>>>,
    done_rx: &Receiver<Box<Batch>>,
    batch_records: usize,
    mut progress: impl FnMut(u64, Option<u64>),
) -> (M, PipelineStats)
where
    M: ByteSink,
    Src: FrameSource + ?Sized,
{
    let dispatch = Dispatch {
        table: CallTable::new(limits.exchange),
        main,
        problems: ProblemList::new(limits.max_problems_or_default()),
        body_stats: BodyStats::default(),
        t0: None,
        current: Batch::default(),
        next_batch: 0,
        next_write: 0,
        jobs: &jobs,
        done: done_rx,
        in_flight: 0,
        waiting: BTreeMap::new(),
        free: Vec::new(),
        buffers: Vec::new(),
        broken: false,
        batch_records: batch_records.max(1),
    };
    let mut front = Front::new(limits);
    let mut streams = RpcStreams::new(limits.stream, dispatch);
    let mut n = 0u64;
    loop {
        if streams.sink.main.failed() {
            break;
        }
        match source.next_frame() {
            Ok(Some((input, f))) => {
                if let Some(e) = front.frame_from(input, &f, &mut streams) {
                    streams.sink.problems.add(f.number, "malformed-frame", e);
                }
                n += 1;
            }
            Ok(None) => break,
            Err(e) => {
                let frame = front.read_error(&e);
                streams
                    .sink
                    .problems
                    .add(frame, "read-error", e.to_string());
                continue;
            }
        }
        if n % PROGRESS_EVERY == 0 {
            let (done, total) = source.progress();
            progress(done, total);
        }
    }
    let (done, total) = source.progress();
    progress(done, total);
    front.flush(&mut streams);
    streams.sink.drain();
    let stream = streams.stats().clone();
    let Dispatch {
        mut table,
        mut main,
        problems,
        body_stats,
        ..
    } = streams.sink;
    // Closing the job channels ends the workers.
    drop(jobs);
    table.finish();
    main.finish();
    let mut exchange: ExchangeStats = table.stats();
    exchange.absorb(&body_stats);
    let stats = front.stats(stream, exchange, problems);
    (main, stats)
}
