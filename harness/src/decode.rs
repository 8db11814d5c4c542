//! `trunkcheck decode`: one line (or one JSON object) per RPC message, with
//! the identity fields of identity operations, and a summary at the end.

use analyzer::exchange::{Body, Message, MessageSink, MsgKind, Notice, Program, ReplyStatus};
use analyzer::nfs4::describe::{describe_arg, describe_cb_arg, describe_res};
use analyzer::nfs4::NfsStat4;
use analyzer::packet::Timestamp;
use analyzer::pipeline::{PipelineStats, Problem};
use analyzer::rpc::Credential;
use analyzer::xdr::JsonOut;
use std::io::Write;

/// Writes decoded messages as text lines or JSON Lines.
pub struct DecodeOutput<W: Write> {
    out: W,
    json: bool,
    file: String,
    /// Time of the first message, for relative times.
    t0: Option<Timestamp>,
    buf: JsonOut,
    line: String,
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
            write_error: None,
        }
    }

    fn emit(&mut self, text: &str) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(e) = self
            .out
            .write_all(text.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
        {
            self.write_error = Some(e);
        }
    }

    fn relative(&mut self, ts: Timestamp) -> f64 {
        let t0 = *self.t0.get_or_insert(ts);
        ts.since(t0)
    }

    fn text_line(&mut self, m: &Message<'_>) -> String {
        let rel = self.relative(m.ts);
        let mut s = format!(
            "{:>7} {:>11.6} {} → {} {} {} xid={:#010x}",
            m.frame,
            rel,
            m.src,
            m.dst,
            protocol(m),
            m.kind.as_str(),
            m.xid
        );
        if let Some(st) = m.reply_status {
            if st != ReplyStatus::Accepted(analyzer::rpc::AcceptStat::SUCCESS) {
                s.push_str(&format!(" rpc={}", reply_status(st)));
            }
        }
        if let Some(status) = m.compound_status() {
            s.push(' ');
            s.push_str(&status.to_string());
        }
        let ops = ops_text(m);
        if !ops.is_empty() {
            s.push(' ');
            s.push_str(&ops);
        }
        if let Some(e) = &m.error {
            s.push_str(&format!(" [malformed: {e}]"));
        }
        s
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
        o.field("src", &m.src.to_string());
        o.field("dst", &m.dst.to_string());
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
            o.field("rpc_status", reply_status(st).as_str());
        }
        if let Some(st) = m.compound_status() {
            o.field("status", &st);
        }
        o.key("ops");
        o.begin_array();
        for n in m.op_names() {
            o.string(n);
        }
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
        let text = o.as_str().to_string();
        self.buf = o;
        self.emit(&text);
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

fn reply_status(st: ReplyStatus) -> String {
    match st {
        ReplyStatus::Accepted(a) => a.to_string(),
        ReplyStatus::RpcMismatch => "RPC_MISMATCH".into(),
        ReplyStatus::AuthError(a) => format!("AUTH_ERROR({a})"),
    }
}

/// `NFS4.1`, `NFSCB4.1`, `NFS4` (NULL), `RPC 100005v3`, `RPC` (no call seen).
fn protocol(m: &Message<'_>) -> String {
    match (m.program, m.minorversion) {
        (Program::Nfs4, Some(minor)) => format!("NFS4.{minor}"),
        (Program::Nfs4, None) => "NFS4".into(),
        (Program::Nfs4Callback, Some(minor)) => format!("NFSCB4.{minor}"),
        (Program::Nfs4Callback, None) => "NFSCB4".into(),
        (Program::NfsV2V3 | Program::Other, _) => {
            format!("RPC {}v{}", m.prog.unwrap_or(0), m.vers.unwrap_or(0))
        }
        (Program::Unknown, _) => "RPC".into(),
    }
}

fn with_detail(name: &str, detail: Option<String>, status: Option<NfsStat4>) -> String {
    let mut s = name.to_string();
    if let Some(st) = status.filter(|s| !s.is_ok()) {
        s.push_str(&format!("({st})"));
    }
    if let Some(d) = detail {
        s.push('[');
        s.push_str(&d);
        s.push(']');
    }
    s
}

fn ops_text(m: &Message<'_>) -> String {
    let parts: Vec<String> = match &m.body {
        Body::Null => vec![match m.kind {
            MsgKind::Call | MsgKind::Reply => "NULL".to_string(),
        }],
        Body::Compound(c) => c
            .argarray
            .iter()
            .map(|op| with_detail(op.name(), describe_arg(op), None))
            .collect(),
        Body::CompoundReply(c) => c
            .resarray
            .iter()
            .map(|op| with_detail(op.name(), describe_res(op), Some(op.status())))
            .collect(),
        Body::CbCompound(c) => c
            .argarray
            .iter()
            .map(|op| with_detail(op.name(), describe_cb_arg(op), None))
            .collect(),
        Body::CbCompoundReply(c) => c
            .resarray
            .iter()
            .map(|op| with_detail(op.name(), None, Some(op.status())))
            .collect(),
        Body::None => Vec::new(),
    };
    parts.join(",")
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

/// The counters as a JSON object.
pub fn stats_json_object(o: &mut JsonOut, s: &PipelineStats) {
    o.begin_object();
    stats_json(o, s);
    o.end_object();
}

fn stats_json(o: &mut JsonOut, s: &PipelineStats) {
    o.field("frames", &s.frames);
    o.field("bytes", &s.bytes);
    o.field("connections", &s.connections);
    o.field("calls", &s.exchange.calls);
    o.field("replies", &s.exchange.replies);
    o.field("unmatched_replies", &s.exchange.unmatched_replies);
    o.field("unanswered_calls", &s.exchange.unanswered_calls);
    o.field("gaps", &s.gaps);
    o.field("gap_bytes", &s.gap_bytes);
    o.field("malformed_records", &s.malformed_records());
    o.field(
        "nfs4_compounds_by_minor",
        &s.exchange.compounds_by_minor.to_vec(),
    );
    o.field("cb_compounds", &s.exchange.cb_compounds);
    o.field("nfs_v2v3_calls", &s.exchange.nfs_v2v3_calls);
    o.field("other_rpc_calls", &s.exchange.other_program_calls);
    o.field("non_ip_frames", &s.non_ip_frames);
    o.field("malformed_frames", &s.malformed_frames);
    o.field("udp_datagrams", &s.udp_datagrams);
    o.field("non_rpc_directions", &s.stream.non_rpc_directions);
    o.field("skipped_bytes", &s.stream.skipped_bytes);
    o.field("evicted_calls", &s.exchange.evicted_calls);
    o.key("problems");
    o.begin_array();
    for p in &s.problems {
        problem_json(o, p);
    }
    o.end_array();
    o.field("problems_not_listed", &s.problems_dropped);
}

fn stats_text(s: &PipelineStats) -> String {
    format!(
        "{} frames, {} bytes, {} connections, {} calls, {} replies, {} unmatched replies, \
         {} unanswered calls, {} gaps ({} bytes), {} malformed records, \
         NFSv4 COMPOUNDs by minor version {:?}, {} CB_COMPOUNDs, {} other RPC calls",
        s.frames,
        s.bytes,
        s.connections,
        s.exchange.calls,
        s.exchange.replies,
        s.exchange.unmatched_replies,
        s.exchange.unanswered_calls,
        s.gaps,
        s.gap_bytes,
        s.malformed_records(),
        &s.exchange.compounds_by_minor[..3],
        s.exchange.cb_compounds,
        s.exchange.other_program_calls + s.exchange.nfs_v2v3_calls,
    )
}

/// A problem as one line of text, naming its frame.
pub fn problem_text(p: &Problem) -> String {
    format!("frame {}: {}", p.frame, p.message)
}

fn problem_json(o: &mut JsonOut, p: &Problem) {
    o.begin_object();
    o.field("frame", &p.frame);
    o.field("kind", p.kind);
    o.field("message", p.message.as_str());
    o.end_object();
}

impl<W: Write> MessageSink for DecodeOutput<W> {
    fn message(&mut self, m: &Message<'_>) {
        if self.json {
            self.json_line(m);
        } else {
            let line = std::mem::take(&mut self.line);
            let text = self.text_line(m);
            self.line = line;
            self.emit(&text);
        }
    }

    fn notice(&mut self, _n: &Notice) {
        // Problems are collected by the pipeline and listed in the summary.
    }
}
