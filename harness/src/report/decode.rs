//! `trunkcheck decode`: one line (or one JSON object) per RPC message, with
//! the identity fields of identity operations, and a summary at the end.

use super::stats::{stats_json, stats_text};
use analyzer::capture::packet::Timestamp;
use analyzer::exchange::{Body, GssInit, Message, MessageSink, Notice, Program, ReplyStatus};
use analyzer::nfs4::describe::{describe_arg_into, describe_cb_arg_into, describe_res_into};
use analyzer::nfs4::{NfsArgOp, NfsRes, NfsResOp, NfsStat4, Sequence4Args, Sequence4ResOk};
use analyzer::pipeline::parallel::ByteSink;
use analyzer::pipeline::PipelineStats;
use analyzer::rpc::gss_token::{InitiatorToken, TokenError};
use analyzer::rpc::{Credential, RpcGssCred};
use analyzer::xdr::{escape_bytes, JsonOut, PayloadMode};
use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;

/// Writes decoded messages as text lines or JSON Lines.
pub struct DecodeOutput<W: Write> {
    out: W,
    json: bool,
    file: String,
    /// Time of the first message, for relative times.
    t0: Option<Timestamp>,
    buf: JsonOut,
    /// The text line being written (reused: no allocation per message).
    line: Vec<u8>,
    /// Scratch text for JSON fields and for what text lines format through
    /// `std::fmt` (reused).
    scratch: String,
    /// First write error (e.g. a closed pipe): output stops quietly.
    pub write_error: Option<std::io::Error>,
    /// The text of the addresses last written.
    addrs: AddrCache,
    /// In memory: lines go here instead of `out` (a worker's output, see
    /// [`DecodeOutput::in_memory`]), and where each ends.
    memory: Option<Vec<u8>>,
    ends: Vec<usize>,
}

impl<W: Write> DecodeOutput<W> {
    /// Output for messages of `file` to `out`.
    pub fn new(out: W, json: bool, file: &str) -> Self {
        DecodeOutput {
            out,
            json,
            file: file.to_string(),
            t0: None,
            buf: JsonOut::new(),
            line: Vec::new(),
            scratch: String::new(),
            write_error: None,
            addrs: AddrCache::default(),
            memory: None,
            ends: Vec::new(),
        }
    }

    /// The same output, with file data (READ/WRITE payload) written in
    /// JSON as `mode` says.
    pub fn payload(mut self, mode: PayloadMode) -> Self {
        self.buf.set_payload(mode);
        self
    }

    /// Writes `text` and a newline (to memory or to the output). A line
    /// never holds a newline of its own (text escapes them, JSON too).
    fn emit_line(&mut self, text: &[u8]) {
        debug_assert!(find_newline(text).is_none());
        match &mut self.memory {
            Some(v) => {
                v.extend_from_slice(text);
                v.push(b'\n');
                self.ends.push(v.len());
            }
            None => emit_bytes(&mut self.out, &mut self.write_error, text),
        }
    }

    fn emit(&mut self, text: &str) {
        emit_to(&mut self.out, &mut self.write_error, text);
    }

    fn relative(&mut self, ts: Timestamp) -> f64 {
        let t0 = *self.t0.get_or_insert(ts);
        ts.since(t0)
    }

    /// Appends the text line of `m` to `s`: bytes appended
    /// directly (numbers, addresses, names), `std::fmt` only for the rare
    /// parts (see [`put_ops`]).
    fn text_line(&mut self, m: &Message<'_>, s: &mut Vec<u8>) {
        let t0 = *self.t0.get_or_insert(m.ts);
        s.reserve(256);
        put_padded_u64(s, m.frame, 7);
        s.push(b' ');
        put_relative_time(s, m.ts, t0, &mut self.scratch);
        s.push(b' ');
        self.addrs.put(s, m.src, &mut self.scratch);
        s.extend_from_slice(" → ".as_bytes());
        self.addrs.put(s, m.dst, &mut self.scratch);
        s.push(b' ');
        put_protocol(s, m);
        s.push(b' ');
        s.extend_from_slice(m.kind.as_str().as_bytes());
        s.extend_from_slice(b" xid=");
        put_hex32(s, m.xid);
        if let Some(st) = m.reply_status {
            if st != ReplyStatus::Accepted(analyzer::rpc::AcceptStat::SUCCESS) {
                s.extend_from_slice(b" rpc=");
                self.scratch.clear();
                push_reply_status(&mut self.scratch, st);
                s.extend_from_slice(self.scratch.as_bytes());
            }
        }
        if let Some(status) = m.compound_status() {
            s.push(b' ');
            put_nfsstat(s, status);
        }
        s.push(b' ');
        let before_ops = s.len();
        put_ops(s, m, &mut self.scratch);
        if s.len() == before_ops {
            s.pop();
        }
        if let Some(e) = &m.error {
            self.scratch.clear();
            let _ = write!(self.scratch, " [malformed: {e}]");
            s.extend_from_slice(self.scratch.as_bytes());
        }
    }

    fn json_line(&mut self, m: &Message<'_>) {
        let rel = self.relative(m.ts);
        let mut o = std::mem::take(&mut self.buf);
        o.clear();
        o.begin_object();
        o.field("type", "message");
        o.field("file", self.file.as_str());
        o.field("frame", &m.frame);
        o.field("first_frame", &m.first_frame);
        o.key("time");
        o.float(m.ts.as_secs_f64());
        o.key("time_relative");
        o.float(rel);
        o.key("src");
        o.plain_string_with(|s| push_socket_addr(s, m.src));
        o.key("dst");
        o.plain_string_with(|s| push_socket_addr(s, m.dst));
        o.field("conn", &m.conn.0);
        o.field("xid", &m.xid);
        o.field("kind", m.kind.as_str());
        o.key("program");
        opt_num(&mut o, m.prog);
        o.key("version");
        opt_num(&mut o, m.vers);
        o.key("procedure");
        opt_num(&mut o, m.procedure);
        o.key("minorversion");
        opt_num(&mut o, m.minorversion);
        if let Some(f) = m.call_frame {
            o.field("call_frame", &f);
        }
        if let Some(st) = m.reply_status {
            o.key("rpc_status");
            o.plain_string_with(|s| push_reply_status(s, st));
        }
        if let Some(st) = m.compound_status() {
            o.field("status", &st);
        }
        o.key("ops");
        o.begin_array();
        m.for_each_op_name(|n| o.string(n));
        o.end_array();
        if let Some(c) = &m.cred {
            o.key("cred");
            credential_json(&mut o, c);
        }
        if let Some(GssInit::Call(token)) = &m.gss_init {
            o.key("gss_init");
            gss_init_json(&mut o, token);
        }
        match &m.body {
            Body::Compound(c) => {
                o.field("tag", &c.tag);
                o.field("args", &c.argarray);
            }
            Body::CompoundReply(c) => {
                o.field("tag", &c.tag);
                o.field("res", &c.resarray);
            }
            Body::CbCompound(c) => {
                o.field("tag", &c.tag);
                o.field("callback_ident", &c.callback_ident);
                o.field("args", &c.argarray);
            }
            Body::CbCompoundReply(c) => {
                o.field("tag", &c.tag);
                o.field("res", &c.resarray);
            }
            Body::Null | Body::None => {}
        }
        if let Some(e) = &m.error {
            o.field("error", &e.to_string());
        }
        o.end_object();
        self.emit_line(o.as_str().as_bytes());
        self.buf = o;
    }

    /// Writes the end-of-file summary (JSON mode: a `"type":"summary"`
    /// object on the output; text mode: lines on `err`).
    pub fn summary(&mut self, stats: &PipelineStats, err: &mut impl Write) {
        if self.json {
            let mut o = JsonOut::new();
            o.begin_object();
            o.field("type", "summary");
            o.field("file", self.file.as_str());
            stats_json(&mut o, stats);
            o.end_object();
            let text = o.into_string();
            self.emit(&text);
        } else {
            let _ = writeln!(err, "{}: {}", self.file, stats_text(stats));
        }
    }
}

fn opt_num(o: &mut JsonOut, v: Option<u32>) {
    match v {
        Some(v) => o.number(v),
        None => o.null(),
    }
}

/// Writes `text` and a newline, unless an earlier write failed; keeps the
/// first error.
fn emit_to(out: &mut impl Write, write_error: &mut Option<std::io::Error>, text: &str) {
    emit_bytes(out, write_error, text.as_bytes());
}

/// The index of the first `\n` in `b`, eight bytes at a time.
fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w) ^ NL;
        if (x.wrapping_sub(ONES) & !x & HIGHS) != 0 {
            return c.iter().position(|&c| c == b'\n').map(|i| at + i);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'\n')
        .map(|i| at + i)
}

/// [`emit_to`] for bytes.
fn emit_bytes(out: &mut impl Write, write_error: &mut Option<std::io::Error>, text: &[u8]) {
    if write_error.is_some() {
        return;
    }
    if let Err(e) = out.write_all(text).and_then(|_| out.write_all(b"\n")) {
        *write_error = Some(e);
    }
}

fn push_reply_status(s: &mut String, st: ReplyStatus) {
    let _ = match st {
        ReplyStatus::Accepted(a) => write!(s, "{a}"),
        ReplyStatus::RpcMismatch => write!(s, "RPC_MISMATCH"),
        ReplyStatus::AuthError(a) => write!(s, "AUTH_ERROR({a})"),
    };
}

/// Two decimal digits of every number below 100.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The decimal digits of `v`, at the end of `buf`; returns where they start.
fn digits(buf: &mut [u8; 20], v: u64) -> usize {
    let mut i = buf.len();
    let mut v = v;
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    i
}

/// Appends `v` in decimal, right-aligned in `width` characters (as `{:>width}`).
fn put_padded_u64(s: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let start = digits(&mut buf, v);
    let digits = buf.get(start..).unwrap_or_default();
    for _ in digits.len()..width {
        s.push(b' ');
    }
    s.extend_from_slice(digits);
}

/// Appends `v` in decimal.
fn put_u64(s: &mut Vec<u8>, v: u64) {
    put_padded_u64(s, v, 0);
}

/// Appends `v` as `{:#010x}` does: `0x` and eight lower-case hex digits.
fn put_hex32(s: &mut Vec<u8>, v: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = *b"0x00000000";
    for (i, b) in buf.iter_mut().skip(2).enumerate() {
        *b = HEX[((v >> (28 - 4 * i)) & 15) as usize];
    }
    s.extend_from_slice(&buf);
}

/// Appends bytes as lower-case hexadecimal (as the `Display` of session
/// ids and verifiers), through a stack buffer.
fn put_hex_bytes(s: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.chunks(32) {
        let mut buf = [0u8; 64];
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = HEX[(b >> 4) as usize];
            pair[1] = HEX[(b & 15) as usize];
        }
        s.extend_from_slice(buf.get(..2 * chunk.len()).unwrap_or_default());
    }
}

/// Appends the time from `t0` to `ts` as `{:>11.6}` formats
/// [`Timestamp::since`]: from the integer nanoseconds when that is provably
/// the same text (the difference is under 10^6 s and not exactly half way
/// between two microseconds, so the `f64`'s rounding error of at most
/// 0.2 ns cannot change the rounding), else through `std::fmt`.
fn put_relative_time(s: &mut Vec<u8>, ts: Timestamp, t0: Timestamp, scratch: &mut String) {
    let nanos = (i128::from(ts.secs) - i128::from(t0.secs)) * 1_000_000_000 + i128::from(ts.nanos)
        - i128::from(t0.nanos);
    match u64::try_from(nanos) {
        Ok(n) if n < 1_000_000 * 1_000_000_000 && n % 1000 != 500 => {
            let micros = (n + 500) / 1000;
            let mut buf = [0u8; 20];
            let start = digits(&mut buf, micros / 1_000_000);
            let int = buf.get(start..).unwrap_or_default();
            // `int` then '.' then six digits, right-aligned in 11.
            for _ in (int.len() + 7)..11 {
                s.push(b' ');
            }
            s.extend_from_slice(int);
            s.push(b'.');
            let frac = micros % 1_000_000;
            let mut fbuf = [0u8; 20];
            let fstart = digits(&mut fbuf, frac);
            for _ in (20 - fstart)..6 {
                s.push(b'0');
            }
            s.extend_from_slice(fbuf.get(fstart..).unwrap_or_default());
        }
        _ => {
            scratch.clear();
            let _ = write!(scratch, "{:>11.6}", ts.since(t0));
            s.extend_from_slice(scratch.as_bytes());
        }
    }
}

/// The text of an IPv4 socket address (`a.b.c.d:port`) in `buf`; returns
/// its length.
fn socket_addr_v4(v4: std::net::SocketAddrV4, buf: &mut [u8; 21]) -> usize {
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        if let Some(dst) = buf.get_mut(n..n + bytes.len()) {
            dst.copy_from_slice(bytes);
            n += bytes.len();
        }
    };
    let mut digit_buf = [0u8; 20];
    for (i, octet) in v4.ip().octets().into_iter().enumerate() {
        if i > 0 {
            put(b".");
        }
        let start = digits(&mut digit_buf, u64::from(octet));
        put(digit_buf.get(start..).unwrap_or_default());
    }
    put(b":");
    let start = digits(&mut digit_buf, u64::from(v4.port()));
    put(digit_buf.get(start..).unwrap_or_default());
    n
}

/// Appends a socket address as its `Display` does (`a.b.c.d:port`,
/// `[v6]:port`), directly for IPv4 (through a stack buffer).
fn put_socket_addr(s: &mut Vec<u8>, a: SocketAddr, scratch: &mut String) {
    match a {
        SocketAddr::V4(v4) => {
            let mut buf = [0u8; 21];
            let n = socket_addr_v4(v4, &mut buf);
            s.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        SocketAddr::V6(_) => {
            scratch.clear();
            let _ = write!(scratch, "{a}");
            s.extend_from_slice(scratch.as_bytes());
        }
    }
}

/// The text of the last few socket addresses written (a connection's two
/// ends come back message after message).
struct AddrCache {
    slots: [(Option<SocketAddr>, [u8; 47], u8); 4],
    next: usize,
}

impl Default for AddrCache {
    fn default() -> Self {
        AddrCache {
            slots: [(None, [0; 47], 0); 4],
            next: 0,
        }
    }
}

impl AddrCache {
    /// Appends `a` as [`put_socket_addr`] does, from the cache when it can.
    fn put(&mut self, s: &mut Vec<u8>, a: SocketAddr, scratch: &mut String) {
        for (addr, text, len) in &self.slots {
            if *addr == Some(a) {
                s.extend_from_slice(text.get(..usize::from(*len)).unwrap_or_default());
                return;
            }
        }
        let start = s.len();
        put_socket_addr(s, a, scratch);
        let written = s.get(start..).unwrap_or_default();
        // `[v6%scope]:port` is at most 47 bytes; longer is not kept.
        if let (Some(slot), Ok(len)) = (self.slots.get_mut(self.next), u8::try_from(written.len()))
        {
            if let Some(dst) = slot.1.get_mut(..written.len()) {
                dst.copy_from_slice(written);
                *slot = (Some(a), slot.1, len);
                self.next = (self.next + 1) % 4;
            }
        }
    }
}

/// Appends a socket address to a `String` as its `Display` does.
fn push_socket_addr(s: &mut String, a: SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            let mut buf = [0u8; 21];
            let n = socket_addr_v4(v4, &mut buf);
            s.push_str(std::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default());
        }
        SocketAddr::V6(_) => {
            let _ = write!(s, "{a}");
        }
    }
}

/// Appends an NFS status as its `Display` does (its name, else its number).
fn put_nfsstat(s: &mut Vec<u8>, st: NfsStat4) {
    match st.name() {
        Some(n) => s.extend_from_slice(n.as_bytes()),
        None => put_u64(s, u64::from(st.0)),
    }
}

/// `NFS4.1`, `NFSCB4.1`, `NFS4` (NULL), `RPC 100005v3`, `RPC` (no call seen).
fn put_protocol(s: &mut Vec<u8>, m: &Message<'_>) {
    match (m.program, m.minorversion) {
        (Program::Nfs4, minor) | (Program::Nfs4Callback, minor) => {
            s.extend_from_slice(if m.program == Program::Nfs4 {
                b"NFS4"
            } else {
                b"NFSCB4"
            });
            if let Some(minor) = minor {
                s.push(b'.');
                put_u64(s, u64::from(minor));
            }
        }
        (Program::NfsV2V3 | Program::Other, _) => {
            s.extend_from_slice(b"RPC ");
            put_u64(s, u64::from(m.prog.unwrap_or(0)));
            s.push(b'v');
            put_u64(s, u64::from(m.vers.unwrap_or(0)));
        }
        (Program::Unknown, _) => s.extend_from_slice(b"RPC"),
    }
}

/// Appends `NAME`, `(STATUS)` when not OK, and `[detail]` when `detail`
/// appends something.
fn put_op(
    s: &mut Vec<u8>,
    first: &mut bool,
    name: &str,
    status: Option<NfsStat4>,
    detail: impl FnOnce(&mut Vec<u8>) -> bool,
) {
    if !*first {
        s.push(b',');
    }
    *first = false;
    s.extend_from_slice(name.as_bytes());
    if let Some(st) = status.filter(|s| !s.is_ok()) {
        s.push(b'(');
        put_nfsstat(s, st);
        s.push(b')');
    }
    let open = s.len();
    s.push(b'[');
    if detail(s) {
        s.push(b']');
    } else {
        s.truncate(open);
    }
}

/// Appends what `describe` writes into `scratch` (the details of the
/// operations `std::fmt` describes); false when it has nothing to show.
fn put_described(
    s: &mut Vec<u8>,
    scratch: &mut String,
    describe: impl FnOnce(&mut String) -> bool,
) -> bool {
    scratch.clear();
    let shown = describe(scratch);
    s.extend_from_slice(scratch.as_bytes());
    shown
}

/// The details of a SEQUENCE call, as `describe_arg_into` writes them.
fn put_sequence_args(s: &mut Vec<u8>, a: &Sequence4Args) {
    s.extend_from_slice(b"session=");
    put_hex_bytes(s, &a.sa_sessionid.0);
    s.extend_from_slice(b" seq=");
    put_u64(s, u64::from(a.sa_sequenceid));
    s.extend_from_slice(b" slot=");
    put_u64(s, u64::from(a.sa_slotid));
    s.extend_from_slice(b" highest=");
    put_u64(s, u64::from(a.sa_highest_slotid));
    if a.sa_cachethis {
        s.extend_from_slice(b" cachethis");
    }
}

/// The details of a successful SEQUENCE reply, as `describe_res_into`
/// writes them (its status flags are written there when any is set).
fn put_sequence_res(s: &mut Vec<u8>, r: &Sequence4ResOk) {
    s.extend_from_slice(b"session=");
    put_hex_bytes(s, &r.sr_sessionid.0);
    s.extend_from_slice(b" seq=");
    put_u64(s, u64::from(r.sr_sequenceid));
    s.extend_from_slice(b" slot=");
    put_u64(s, u64::from(r.sr_slotid));
    s.extend_from_slice(b" highest=");
    put_u64(s, u64::from(r.sr_highest_slotid));
    s.extend_from_slice(b" target=");
    put_u64(s, u64::from(r.sr_target_highest_slotid));
    s.extend_from_slice(b" flags=0");
}

/// Appends the operations of `m`, comma-separated, with their details
/// (also the labels of `sequence` diagrams).
pub fn push_ops(s: &mut String, m: &Message<'_>) {
    let mut bytes = Vec::new();
    put_ops(&mut bytes, m, &mut String::new());
    // Every part is a `str` or ASCII, so nothing is replaced.
    s.push_str(&String::from_utf8_lossy(&bytes));
}

/// Appends the operations of `m` as [`push_ops`] does, as bytes: SEQUENCE
/// (in nearly every NFSv4.1 message) directly, the others through
/// `describe_*_into` into `scratch`.
fn put_ops(s: &mut Vec<u8>, m: &Message<'_>, scratch: &mut String) {
    let mut first = true;
    match &m.body {
        Body::Null => {
            s.extend_from_slice(b"NULL");
            if let Some(GssInit::Call(token)) = &m.gss_init {
                scratch.clear();
                push_gss_init(scratch, m, token);
                s.extend_from_slice(scratch.as_bytes());
            }
        }
        Body::Compound(c) => {
            for op in &c.argarray {
                put_op(s, &mut first, op.name(), None, |s| match op {
                    NfsArgOp::Sequence(a) => {
                        put_sequence_args(s, a);
                        true
                    }
                    _ => put_described(s, scratch, |t| describe_arg_into(op, t)),
                });
            }
        }
        Body::CompoundReply(c) => {
            for op in &c.resarray {
                put_op(s, &mut first, op.name(), Some(op.status()), |s| match op {
                    NfsResOp::Sequence(NfsRes::Ok(r)) if r.sr_status_flags.0 == 0 => {
                        put_sequence_res(s, r);
                        true
                    }
                    _ => put_described(s, scratch, |t| describe_res_into(op, t)),
                });
            }
        }
        Body::CbCompound(c) => {
            for op in &c.argarray {
                put_op(s, &mut first, op.name(), None, |s| {
                    put_described(s, scratch, |t| describe_cb_arg_into(op, t))
                });
            }
        }
        Body::CbCompoundReply(c) => {
            for op in &c.resarray {
                put_op(s, &mut first, op.name(), Some(op.status()), |_| false);
            }
        }
        Body::None => {}
    }
}

/// `[RPCSEC_GSS_INIT mech=krb5 target=nfs/host@REALM]`, or with `token:`
/// and why the token names no target.
fn push_gss_init(s: &mut String, m: &Message<'_>, token: &Result<InitiatorToken, TokenError>) {
    s.push('[');
    if let Some(Credential::Gss(RpcGssCred::Vers1(g))) = &m.cred {
        let _ = write!(s, "{} ", g.gss_proc);
    }
    let _ = match token {
        Ok(t) => write!(s, "mech={} target={}", t.mech_text(), t.target),
        Err(e) => match &e.mech {
            Some(mech) => write!(s, "mech={mech} token: {e}"),
            None => write!(s, "token: {e}"),
        },
    };
    s.push(']');
}

/// The token of a context-creation call as JSON: `mech` (its OID and
/// name), `negotiated` (SPNEGO's inner mechanism), `target` (`text`,
/// `realm`, `name_type`, `components`), or `error`.
fn gss_init_json(o: &mut JsonOut, token: &Result<InitiatorToken, TokenError>) {
    o.begin_object();
    let mech = match token {
        Ok(t) => Some(&t.mech),
        Err(e) => e.mech.as_ref(),
    };
    o.key("mech");
    match mech {
        Some(m) => o.string(&m.name()),
        None => o.null(),
    }
    o.key("mech_oid");
    match mech {
        Some(m) => o.string(&m.dotted()),
        None => o.null(),
    }
    match token {
        Ok(t) => {
            o.key("negotiated");
            match &t.negotiated {
                Some(n) => o.string(&n.name()),
                None => o.null(),
            }
            o.key("target");
            o.begin_object();
            o.field("text", &t.target.to_string());
            o.field("realm", &escape_bytes(&t.target.realm));
            o.field("name_type", &i64::from(t.target.name_type));
            o.field(
                "components",
                &t.target
                    .components
                    .iter()
                    .map(|c| escape_bytes(c))
                    .collect::<Vec<_>>(),
            );
            o.end_object();
        }
        Err(e) => o.field("error", &e.to_string()),
    }
    o.end_object();
}

/// A credential as JSON: its flavor and its decoded fields.
fn credential_json(o: &mut JsonOut, c: &Credential<'_>) {
    o.begin_object();
    o.field("flavor", &c.flavor());
    match c {
        Credential::Sys(p) => {
            o.field("stamp", &p.stamp);
            o.field("machinename", &p.machinename);
            o.field("uid", &p.uid);
            o.field("gid", &p.gid);
            o.field("gids", &p.gids);
        }
        Credential::Gss(g) => {
            let g = g.vers1();
            o.field("gss_proc", &g.gss_proc);
            o.field("seq_num", &g.seq_num);
            o.field("service", &g.service);
            o.field("handle", &g.handle.hex());
        }
        Credential::Other { body, .. } => o.field("body", &body.hex()),
        Credential::None | Credential::Tls => {}
    }
    o.end_object();
}

impl DecodeOutput<std::io::Sink> {
    /// Output for messages of `file` kept in memory (a worker thread's,
    /// handed back with [`ByteSink::swap_output`]).
    pub fn in_memory(json: bool, file: &str) -> Self {
        DecodeOutput {
            memory: Some(Vec::new()),
            ..DecodeOutput::new(std::io::sink(), json, file)
        }
    }
}

impl<W: Write> ByteSink for DecodeOutput<W> {
    fn set_origin(&mut self, t0: Timestamp) {
        self.t0 = Some(t0);
    }

    fn swap_output(&mut self, buf: &mut Vec<u8>, ends: &mut Vec<usize>) {
        if let Some(v) = &mut self.memory {
            std::mem::swap(v, buf);
            std::mem::swap(&mut self.ends, ends);
        }
    }

    fn write_output(&mut self, bytes: &[u8], ends: &[usize]) {
        // Line by line, as the lines were written on one thread: a buffered
        // output then reaches the file at the same points (which decides
        // where the summary on stderr falls when both go to one file).
        let mut start = 0;
        for &end in ends {
            let line = bytes.get(start..end.saturating_sub(1)).unwrap_or_default();
            emit_bytes(&mut self.out, &mut self.write_error, line);
            start = end;
        }
        let mut rest = bytes.get(start..).unwrap_or_default();
        while let Some(i) = find_newline(rest) {
            let (line, after) = rest.split_at(i);
            emit_bytes(&mut self.out, &mut self.write_error, line);
            rest = after.get(1..).unwrap_or_default();
        }
        if !rest.is_empty() && self.write_error.is_none() {
            if let Err(e) = self.out.write_all(rest) {
                self.write_error = Some(e);
            }
        }
    }

    fn failed(&self) -> bool {
        self.write_error.is_some()
    }
}

impl<W: Write> MessageSink for DecodeOutput<W> {
    fn message(&mut self, m: &Message<'_>) {
        if self.json {
            self.json_line(m);
        } else if let Some(mut v) = self.memory.take() {
            // Straight into memory, no copy.
            let start = v.len();
            self.text_line(m, &mut v);
            debug_assert!(find_newline(v.get(start..).unwrap_or_default()).is_none());
            v.push(b'\n');
            self.ends.push(v.len());
            self.memory = Some(v);
        } else {
            let mut line = std::mem::take(&mut self.line);
            line.clear();
            self.text_line(m, &mut line);
            emit_bytes(&mut self.out, &mut self.write_error, &line);
            self.line = line;
        }
    }

    fn notice(&mut self, _n: &Notice) {
        // Problems are collected by the pipeline and listed in the summary.
    }

    fn finish(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzer::nfs4::describe::{describe_arg, describe_res};
    use analyzer::nfs4::{Seq4Status, SessionId4};

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).expect("ASCII")
    }

    #[test]
    fn number_helpers_match_std_formatting() {
        for v in [0u64, 7, 9, 10, 42, 99, 100, 1_234_567, 12_345_678, u64::MAX] {
            assert_eq!(text(|s| put_padded_u64(s, v, 7)), format!("{v:>7}"));
            assert_eq!(text(|s| put_u64(s, v)), v.to_string());
        }
        for v in [0u32, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(text(|s| put_hex32(s, v)), format!("{v:#010x}"));
        }
    }

    #[test]
    fn newlines_are_found_where_they_are() {
        for len in 0..40 {
            for at in 0..=len {
                let mut v = vec![b'x'; len];
                if at < len {
                    v[at] = b'\n';
                }
                let want = (at < len).then_some(at);
                assert_eq!(find_newline(&v), want, "{len} {at}");
            }
        }
        assert_eq!(find_newline(b"\x8a\x0a"), Some(1));
    }

    #[test]
    fn relative_times_match_std_formatting() {
        let t0 = Timestamp {
            secs: 1_700_000_000,
            nanos: 999_999_900,
        };
        let mut scratch = String::new();
        let mut cases: Vec<(i64, u32)> = vec![
            (0, 0),
            (1_700_000_000, 999_999_900),
            (1_700_000_001, 0),
            (1_700_000_001, 499_400),
            (1_700_000_001, 499_500),
            (1_700_000_001, 499_600),
            (1_700_000_123, 456_789_012),
            (1_700_000_000 + 99_999, 999_999_999),
            (1_700_000_000 + 1_000_000, 5),
            (1_699_999_999, 5),
            (i64::MAX, 999_999_999),
        ];
        // Every nanosecond offset around a few microsecond boundaries.
        for n in 0..3000u32 {
            cases.push((1_700_000_002, n * 333 % 1_000_000_000));
            cases.push((1_700_012_345, 999_997_000 + n));
        }
        for (secs, nanos) in cases {
            let ts = Timestamp { secs, nanos };
            let got = text(|s| put_relative_time(s, ts, t0, &mut scratch));
            assert_eq!(got, format!("{:>11.6}", ts.since(t0)), "{ts:?}");
        }
    }

    #[test]
    fn socket_addresses_print_as_std_does() {
        let mut scratch = String::new();
        for a in [
            "0.0.0.0:0",
            "198.18.0.1:2049",
            "255.255.255.255:65535",
            "[::1]:2049",
            "[2001:db8::5]:719",
            "[::ffff:127.0.0.2]:2049",
        ] {
            let addr: SocketAddr = a.parse().expect("test address");
            assert_eq!(
                text(|s| put_socket_addr(s, addr, &mut scratch)),
                addr.to_string()
            );
            let mut s = String::new();
            push_socket_addr(&mut s, addr);
            assert_eq!(s, addr.to_string());
            let mut cache = AddrCache::default();
            for _ in 0..3 {
                assert_eq!(text(|s| cache.put(s, addr, &mut scratch)), addr.to_string());
            }
        }
    }

    #[test]
    fn sequence_details_match_describe() {
        for cachethis in [false, true] {
            let a = Sequence4Args {
                sa_sessionid: SessionId4([0xa5; 16]),
                sa_sequenceid: 4_000_000_000,
                sa_slotid: 0,
                sa_highest_slotid: 63,
                sa_cachethis: cachethis,
            };
            let op = NfsArgOp::Sequence(a.clone());
            assert_eq!(Some(text(|s| put_sequence_args(s, &a))), describe_arg(&op));
        }
        let r = Sequence4ResOk {
            sr_sessionid: SessionId4([0x0f; 16]),
            sr_sequenceid: 7,
            sr_slotid: 1,
            sr_highest_slotid: 30,
            sr_target_highest_slotid: 29,
            sr_status_flags: Seq4Status(0),
        };
        let op = NfsResOp::Sequence(NfsRes::Ok(r.clone()));
        assert_eq!(Some(text(|s| put_sequence_res(s, &r))), describe_res(&op));
    }
}
