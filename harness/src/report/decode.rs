//! `trunkcheck decode`: one line (or one JSON object) per RPC message, with
//! the identity fields of identity operations, and a summary at the end.

use super::stats::{stats_json, stats_text};
use analyzer::capture::packet::Timestamp;
use analyzer::exchange::{Body, Message, MessageSink, Notice, Program, ReplyStatus};
use analyzer::nfs4::describe::{describe_arg_into, describe_cb_arg_into, describe_res_into};
use analyzer::nfs4::NfsStat4;
use analyzer::pipeline::PipelineStats;
use analyzer::rpc::Credential;
use analyzer::xdr::JsonOut;
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
    /// The line being written (reused: no allocation per message).
    line: String,
    /// Scratch text for JSON fields (reused).
    scratch: String,
    /// First write error (e.g. a closed pipe): output stops quietly.
    pub write_error: Option<std::io::Error>,
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
            line: String::new(),
            scratch: String::new(),
            write_error: None,
        }
    }

    fn emit(&mut self, text: &str) {
        emit_to(&mut self.out, &mut self.write_error, text);
    }

    fn relative(&mut self, ts: Timestamp) -> f64 {
        let t0 = *self.t0.get_or_insert(ts);
        ts.since(t0)
    }

    /// Writes the text line of `m` into `self.line`.
    fn text_line(&mut self, m: &Message<'_>) {
        let rel = self.relative(m.ts);
        let s = &mut self.line;
        s.clear();
        push_padded_u64(s, m.frame, 7);
        let _ = write!(s, " {rel:>11.6} ");
        push_socket_addr(s, m.src);
        s.push_str(" → ");
        push_socket_addr(s, m.dst);
        s.push(' ');
        push_protocol(s, m);
        s.push(' ');
        s.push_str(m.kind.as_str());
        s.push_str(" xid=");
        push_hex32(s, m.xid);
        if let Some(st) = m.reply_status {
            if st != ReplyStatus::Accepted(analyzer::rpc::AcceptStat::SUCCESS) {
                s.push_str(" rpc=");
                push_reply_status(s, st);
            }
        }
        if let Some(status) = m.compound_status() {
            let _ = write!(s, " {status}");
        }
        s.push(' ');
        let before_ops = s.len();
        push_ops(s, m);
        if s.len() == before_ops {
            s.pop();
        }
        if let Some(e) = &m.error {
            let _ = write!(s, " [malformed: {e}]");
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
        let scratch = &mut self.scratch;
        scratch.clear();
        push_socket_addr(scratch, m.src);
        o.field("src", scratch.as_str());
        scratch.clear();
        push_socket_addr(scratch, m.dst);
        o.field("dst", scratch.as_str());
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
            self.scratch.clear();
            push_reply_status(&mut self.scratch, st);
            o.field("rpc_status", self.scratch.as_str());
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
        emit_to(&mut self.out, &mut self.write_error, o.as_str());
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
    if write_error.is_some() {
        return;
    }
    if let Err(e) = out
        .write_all(text.as_bytes())
        .and_then(|_| out.write_all(b"\n"))
    {
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

/// Appends `v` in decimal, right-aligned in `width` characters (as `{:>width}`).
fn push_padded_u64(s: &mut String, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.get(i..).unwrap_or_default();
    for _ in digits.len()..width {
        s.push(' ');
    }
    for &d in digits {
        s.push(char::from(d));
    }
}

/// Appends `v` as `{:#010x}` does: `0x` and eight lower-case hex digits.
fn push_hex32(s: &mut String, v: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = *b"0x00000000";
    for (i, b) in buf.iter_mut().skip(2).enumerate() {
        *b = HEX[((v >> (28 - 4 * i)) & 15) as usize];
    }
    s.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// Appends a socket address as its `Display` does (`a.b.c.d:port`,
/// `[v6]:port`), with a fast path for IPv4.
fn push_socket_addr(s: &mut String, a: SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_padded_u64(s, u64::from(octet), 0);
            }
            s.push(':');
            push_padded_u64(s, u64::from(v4.port()), 0);
        }
        SocketAddr::V6(_) => {
            let _ = write!(s, "{a}");
        }
    }
}

/// `NFS4.1`, `NFSCB4.1`, `NFS4` (NULL), `RPC 100005v3`, `RPC` (no call seen).
fn push_protocol(s: &mut String, m: &Message<'_>) {
    let _ = match (m.program, m.minorversion) {
        (Program::Nfs4, Some(minor)) => write!(s, "NFS4.{minor}"),
        (Program::Nfs4, None) => write!(s, "NFS4"),
        (Program::Nfs4Callback, Some(minor)) => write!(s, "NFSCB4.{minor}"),
        (Program::Nfs4Callback, None) => write!(s, "NFSCB4"),
        (Program::NfsV2V3 | Program::Other, _) => {
            write!(s, "RPC {}v{}", m.prog.unwrap_or(0), m.vers.unwrap_or(0))
        }
        (Program::Unknown, _) => write!(s, "RPC"),
    };
}

/// Appends `NAME`, `(STATUS)` when not OK, and `[detail]` when `detail`
/// appends something.
fn push_op(
    s: &mut String,
    first: &mut bool,
    name: &str,
    status: Option<NfsStat4>,
    detail: impl FnOnce(&mut String) -> bool,
) {
    if !*first {
        s.push(',');
    }
    *first = false;
    s.push_str(name);
    if let Some(st) = status.filter(|s| !s.is_ok()) {
        let _ = write!(s, "({st})");
    }
    let open = s.len();
    s.push('[');
    if detail(s) {
        s.push(']');
    } else {
        s.truncate(open);
    }
}

/// Appends the operations of `m`, comma-separated, with their details
/// (also the labels of `sequence` diagrams).
pub fn push_ops(s: &mut String, m: &Message<'_>) {
    let mut first = true;
    match &m.body {
        Body::Null => s.push_str("NULL"),
        Body::Compound(c) => {
            for op in &c.argarray {
                push_op(s, &mut first, op.name(), None, |s| describe_arg_into(op, s));
            }
        }
        Body::CompoundReply(c) => {
            for op in &c.resarray {
                push_op(s, &mut first, op.name(), Some(op.status()), |s| {
                    describe_res_into(op, s)
                });
            }
        }
        Body::CbCompound(c) => {
            for op in &c.argarray {
                push_op(s, &mut first, op.name(), None, |s| {
                    describe_cb_arg_into(op, s)
                });
            }
        }
        Body::CbCompoundReply(c) => {
            for op in &c.resarray {
                push_op(s, &mut first, op.name(), Some(op.status()), |_| false);
            }
        }
        Body::None => {}
    }
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

impl<W: Write> MessageSink for DecodeOutput<W> {
    fn message(&mut self, m: &Message<'_>) {
        if self.json {
            self.json_line(m);
        } else {
            self.text_line(m);
            emit_to(&mut self.out, &mut self.write_error, &self.line);
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

    #[test]
    fn number_helpers_match_std_formatting() {
        for v in [0u64, 7, 42, 1_234_567, 12_345_678, u64::MAX] {
            let mut s = String::new();
            push_padded_u64(&mut s, v, 7);
            assert_eq!(s, format!("{v:>7}"));
        }
        for v in [0u32, 1, 0xdead_beef, u32::MAX] {
            let mut s = String::new();
            push_hex32(&mut s, v);
            assert_eq!(s, format!("{v:#010x}"));
        }
    }

    #[test]
    fn socket_addresses_print_as_std_does() {
        for a in [
            "0.0.0.0:0",
            "198.18.0.1:2049",
            "255.255.255.255:65535",
            "[::1]:2049",
            "[2001:db8::5]:719",
            "[::ffff:127.0.0.2]:2049",
        ] {
            let addr: SocketAddr = a.parse().expect("test address");
            let mut s = String::new();
            push_socket_addr(&mut s, addr);
            assert_eq!(s, addr.to_string());
        }
    }
}
