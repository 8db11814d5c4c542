//! Sequence diagrams as SVG, drawn by this module (no Graphviz, nothing
//! fetched): one lifeline per client connection and per server address,
//! every NFSv4 call and reply as an arrow with its operations (as
//! `trunkcheck decode` shows them) and its status, the failing step of a
//! trial and the passive findings in red. `analyze --sequence` draws any
//! capture; `run --keep-captures` draws each failing trial beside its
//! capture. Bounded: at most [`MAX_MESSAGES`] arrows and a fixed number of
//! lifelines are drawn, and the picture says what it left out.

use super::decode::push_ops;
use super::markup::{clip, escape};
use crate::run::failure::Failure;
use analyzer::exchange::{Body, Message, MessageSink, MsgKind, Notice, Program, ReplyStatus};
use analyzer::nfs4::{NfsArgOp, NfsRes, NfsResOp};
use analyzer::rpc::AcceptStat;
use analyzer::rules::Finding;
use analyzer::tcp::flow::ConnId;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Messages drawn at most; the others are counted and the picture says so.
pub const MAX_MESSAGES: usize = 2000;
/// Client-connection lifelines drawn at most.
pub const MAX_CLIENT_LINES: usize = 24;
/// Server-address lifelines drawn at most.
pub const MAX_SERVER_LINES: usize = 12;
/// Characters of an operation list kept per message (the tooltip).
const MAX_KEPT: usize = 400;
/// Characters of a line of an arrow's label.
const LABEL_COLS: usize = 92;
/// Lines of an arrow's label at most.
const LABEL_LINES: usize = 3;
/// Characters of a line of the header.
const HEADER_COLS: usize = 170;
/// Findings listed in the header.
const MAX_LISTED_FINDINGS: usize = 12;

/// Which side of the protocol a lifeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A client's connection (its end of it).
    Client,
    /// A server address.
    Server,
}

/// A lifeline: a client connection or a server address.
#[derive(Debug, Clone)]
pub struct Lifeline {
    /// Client or server.
    pub side: Side,
    /// The connection (clients) that it stands for.
    pub conn: Option<ConnId>,
    /// The address: the client's end of the connection, or the server's.
    pub addr: SocketAddr,
    /// Who it said it is: the client owner sent on it, the server owner's
    /// major id declared there (escaped text).
    pub identity: Option<String>,
    /// A connection the server opened to the client for callbacks (v4.0).
    pub callback: bool,
}

/// One message, as drawn.
#[derive(Debug, Clone)]
pub struct Arrow {
    /// The message's frame (of its last byte, as `decode` numbers it).
    pub frame: u64,
    /// Seconds since the first message drawn.
    pub time: f64,
    /// Index of the client lifeline.
    pub client: usize,
    /// Index of the server lifeline.
    pub server: usize,
    /// From the client to the server (else the other way).
    pub to_server: bool,
    /// Call or reply.
    pub kind: MsgKind,
    /// A callback (CB_COMPOUND, CB_NULL).
    pub callback: bool,
    /// For replies: the status (COMPOUND status, or the RPC reply status).
    pub status: Option<String>,
    /// The status is OK (or the message is a call).
    pub ok: bool,
    /// The operations with their identity fields.
    pub ops: String,
}

/// Collects what a diagram draws from the messages of a capture, within
/// its bounds (a [`MessageSink`]; pair it with an analysis with [`Tee`]).
#[derive(Debug, Clone)]
pub struct SequenceRecorder {
    max: usize,
    clients: Vec<Lifeline>,
    client_of: HashMap<ConnId, usize>,
    servers: Vec<Lifeline>,
    server_of: HashMap<SocketAddr, usize>,
    arrows: Vec<Arrow>,
    t0: Option<f64>,
    /// NFSv4 messages seen.
    seen: u64,
    /// NFSv4 messages not drawn: beyond the cap of messages.
    over_cap: u64,
    /// Frame of the first message not drawn for the cap.
    first_over_cap: Option<u64>,
    /// NFSv4 messages not drawn: on a lifeline beyond the cap of lifelines.
    over_lines: u64,
    /// RPC messages of other programs (not drawn).
    other_rpc: u64,
}

impl Default for SequenceRecorder {
    fn default() -> Self {
        SequenceRecorder::new(MAX_MESSAGES)
    }
}

impl SequenceRecorder {
    /// A recorder drawing at most `max` messages.
    pub fn new(max: usize) -> Self {
        SequenceRecorder {
            max,
            clients: Vec::new(),
            client_of: HashMap::new(),
            servers: Vec::new(),
            server_of: HashMap::new(),
            arrows: Vec::new(),
            t0: None,
            seen: 0,
            over_cap: 0,
            first_over_cap: None,
            over_lines: 0,
            other_rpc: 0,
        }
    }

    /// The client-connection lifelines, in order of appearance.
    pub fn clients(&self) -> &[Lifeline] {
        &self.clients
    }

    /// The server-address lifelines, in order of appearance.
    pub fn servers(&self) -> &[Lifeline] {
        &self.servers
    }

    /// The arrows, in capture order.
    pub fn arrows(&self) -> &[Arrow] {
        &self.arrows
    }

    /// NFSv4 messages seen, drawn or not.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// NFSv4 messages not drawn (over the cap of messages or of lifelines).
    pub fn not_drawn(&self) -> u64 {
        self.over_cap + self.over_lines
    }

    /// The client lifeline of `m`'s connection, made if there is room.
    fn client_line(&mut self, m: &Message<'_>, addr: SocketAddr, callback: bool) -> Option<usize> {
        if let Some(&i) = self.client_of.get(&m.conn) {
            return Some(i);
        }
        if self.clients.len() >= MAX_CLIENT_LINES {
            return None;
        }
        self.clients.push(Lifeline {
            side: Side::Client,
            conn: Some(m.conn),
            addr,
            identity: None,
            callback,
        });
        self.client_of.insert(m.conn, self.clients.len() - 1);
        Some(self.clients.len() - 1)
    }

    /// The lifeline of server address `addr`, made if there is room; a
    /// callback connection the server opened joins a lifeline of the same
    /// IP address.
    fn server_line(&mut self, addr: SocketAddr, callback_conn: bool) -> Option<usize> {
        if let Some(&i) = self.server_of.get(&addr) {
            return Some(i);
        }
        if callback_conn {
            if let Some(i) = self.servers.iter().position(|s| s.addr.ip() == addr.ip()) {
                self.server_of.insert(addr, i);
                return Some(i);
            }
        }
        if self.servers.len() >= MAX_SERVER_LINES {
            return None;
        }
        self.servers.push(Lifeline {
            side: Side::Server,
            conn: None,
            addr,
            identity: None,
            callback: false,
        });
        self.server_of.insert(addr, self.servers.len() - 1);
        Some(self.servers.len() - 1)
    }

    /// Notes who a lifeline says it is, from identity operations.
    fn learn_identity(&mut self, m: &Message<'_>, client: usize, server: usize) {
        let mut owner = None;
        let mut major = None;
        match &m.body {
            Body::Compound(c) => {
                for op in &c.argarray {
                    match op {
                        NfsArgOp::ExchangeId(a) => {
                            owner = Some(a.eia_clientowner.co_ownerid.escaped())
                        }
                        NfsArgOp::Setclientid(a) => owner = Some(a.client.id.escaped()),
                        _ => {}
                    }
                }
            }
            Body::CompoundReply(r) => {
                for op in &r.resarray {
                    if let NfsResOp::ExchangeId(NfsRes::Ok(r)) = op {
                        major = Some(r.eir_server_owner.so_major_id.escaped());
                    }
                }
            }
            _ => {}
        }
        if let (Some(o), Some(l)) = (owner, self.clients.get_mut(client)) {
            l.identity.get_or_insert(clip(&o, MAX_KEPT));
        }
        if let (Some(o), Some(l)) = (major, self.servers.get_mut(server)) {
            l.identity.get_or_insert(clip(&o, MAX_KEPT));
        }
    }

    /// An SVG picture of what was recorded, titled `title`, with `marks`
    /// in red.
    pub fn svg(&self, title: &str, marks: &Marks) -> String {
        Layout::new(self, title, marks).render()
    }
}

/// The status of a reply as text, and whether it is OK.
fn reply_status(m: &Message<'_>) -> (Option<String>, bool) {
    if m.kind == MsgKind::Call {
        return (None, true);
    }
    match m.reply_status {
        Some(ReplyStatus::Accepted(AcceptStat::SUCCESS)) | None => match m.compound_status() {
            Some(st) => (Some(st.to_string()), st.is_ok()),
            None if matches!(m.body, Body::Null) => (Some("OK".into()), true),
            None if m.program == Program::Unknown => (Some("(call not seen)".into()), true),
            None => (None, true),
        },
        Some(ReplyStatus::Accepted(a)) => (Some(format!("RPC {a}")), false),
        Some(ReplyStatus::RpcMismatch) => (Some("RPC_MISMATCH".into()), false),
        Some(ReplyStatus::AuthError(a)) => (Some(format!("AUTH_ERROR({a})")), false),
    }
}

impl MessageSink for SequenceRecorder {
    fn message(&mut self, m: &Message<'_>) {
        let callback = match m.program {
            Program::Nfs4 | Program::Unknown => false,
            Program::Nfs4Callback => true,
            Program::NfsV2V3 | Program::Other => {
                self.other_rpc += 1;
                return;
            }
        };
        self.seen += 1;
        if self.arrows.len() >= self.max {
            self.over_cap += 1;
            self.first_over_cap.get_or_insert(m.frame);
            return;
        }
        // The server receives NFSv4 calls and sends callbacks; for a reply
        // whose call was not seen, the end on port 2049 is the server.
        let server_sent = match (m.program, m.kind) {
            (Program::Unknown, _) => m.src.port() == 2049 || m.dst.port() != 2049,
            (_, MsgKind::Call) => callback,
            (_, MsgKind::Reply) => !callback,
        };
        let (server_addr, client_addr) = if server_sent {
            (m.src, m.dst)
        } else {
            (m.dst, m.src)
        };
        // A connection whose first message is a callback call was opened by
        // the server (the v4.0 callback path).
        let cb_conn = callback && !self.client_of.contains_key(&m.conn);
        let (Some(client), Some(server)) = (
            self.client_line(m, client_addr, cb_conn),
            self.server_line(server_addr, cb_conn),
        ) else {
            self.over_lines += 1;
            return;
        };
        self.learn_identity(m, client, server);
        let time = m.ts.as_secs_f64();
        let t0 = *self.t0.get_or_insert(time);
        let (status, ok) = reply_status(m);
        let mut ops = String::new();
        push_ops(&mut ops, m);
        self.arrows.push(Arrow {
            frame: m.frame,
            time: time - t0,
            client,
            server,
            to_server: !server_sent,
            kind: m.kind,
            callback,
            status,
            ok,
            ops: clip(&ops, MAX_KEPT),
        });
    }

    fn notice(&mut self, _n: &Notice) {}

    fn finish(&mut self) {}
}

/// Two sinks fed the same messages (e.g. an analysis and a recorder).
pub struct Tee<A, B>(pub A, pub B);

impl<A: MessageSink, B: MessageSink> MessageSink for Tee<A, B> {
    fn message(&mut self, m: &Message<'_>) {
        self.0.message(m);
        self.1.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        self.0.notice(n);
        self.1.notice(n);
    }

    fn finish(&mut self) {
        self.0.finish();
        self.1.finish();
    }
}

/// What a diagram marks in red.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    /// Why the trial failed, when a step failed.
    pub failure: Option<FailureMark>,
    /// A trial that failed only by its passive findings: that sentence.
    pub verdict: Option<String>,
    /// The passive findings.
    pub findings: Vec<FindingMark>,
}

/// The failing step of a trial.
#[derive(Debug, Clone)]
pub struct FailureMark {
    /// Its first line (`step 5 (exchange_id): reply field …`).
    pub headline: String,
    /// The lines after it (expected, actual, rule, why, frames).
    pub details: Vec<String>,
    /// What a marked arrow is labelled with (`step 5`).
    pub note: String,
    /// The frames of the step's messages.
    pub frames: Vec<u64>,
}

impl FailureMark {
    /// The failure `f`, its step's messages being those of `frames`.
    pub fn new(f: &Failure, frames: Vec<u64>) -> Self {
        let text = f.to_string();
        let headline = text.lines().next().unwrap_or_default().to_string();
        let mut details = Vec::new();
        let fields = [
            ("expected:", &f.expected),
            ("actual:", &f.actual),
            ("rule:", &f.rule),
            ("why:", &f.why),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                details.push(format!("{name:<10}{v}"));
            }
        }
        let note = match f.step {
            Some(n) => format!("step {n} ({})", f.what),
            None => f.what.clone(),
        };
        if frames.is_empty() {
            details.push(format!("{note} sent nothing (marked: none)"));
        } else {
            let list: Vec<String> = frames.iter().map(u64::to_string).collect();
            details.push(format!("its messages: frames {}", list.join(", ")));
        }
        FailureMark {
            headline,
            details,
            note,
            frames,
        }
    }
}

/// The frames of the messages a step sent and the replies it read: those
/// captured between its start and its end (`messages`: frame, seconds
/// since 1970). The client sends after the start and reads each reply
/// after the capture saw it, on the same clock; 2 µs cover the capture's
/// rounding (messages of the steps around it are some 100 µs away).
pub fn step_frames(messages: &[(u64, f64)], start: f64, end: f64) -> Vec<u64> {
    messages
        .iter()
        .filter(|(_, t)| *t >= start - 0.000002 && *t <= end + 0.000002)
        .map(|(f, _)| *f)
        .collect()
}

/// A passive finding.
#[derive(Debug, Clone)]
pub struct FindingMark {
    /// The rule id.
    pub rule: String,
    /// The finding in one line (rule, severity, party, RFC, message, frames).
    pub text: String,
    /// The frames that show it.
    pub frames: Vec<u64>,
}

impl From<&Finding> for FindingMark {
    fn from(f: &Finding) -> Self {
        FindingMark {
            rule: f.rule.id.to_string(),
            text: f.to_string(),
            frames: f.frames.clone(),
        }
    }
}

impl Marks {
    /// The findings of an analysis, marked.
    pub fn findings(findings: &[Finding]) -> Marks {
        Marks {
            findings: findings.iter().map(FindingMark::from).collect(),
            ..Marks::default()
        }
    }
}

/// Draws the capture at `path` with `marks`.
pub fn draw_capture(path: &Path, title: &str, marks: &Marks) -> Result<String, String> {
    let (rec, _) = analyzer::pipeline::decode_file(
        path,
        Default::default(),
        SequenceRecorder::default(),
        |_, _| {},
    )
    .map_err(|e| e.to_string())?;
    Ok(rec.svg(title, marks))
}

/// Writes the diagram of a failing trial beside its kept capture (the same
/// name, `.svg`): `failure` the failing step with the frames of its
/// messages (see [`step_frames`]), `findings` the passive findings;
/// returns its path.
pub fn write_trial_diagram(
    capture: &Path,
    title: &str,
    failure: Option<(&Failure, Vec<u64>)>,
    findings: &[Finding],
) -> Result<PathBuf, String> {
    let mut marks = Marks::findings(findings);
    let failed_step = failure.is_some();
    marks.failure = failure.map(|(f, frames)| FailureMark::new(f, frames));
    if !failed_step {
        marks.verdict = Some("every step held, but the passive rules failed the trial".into());
    }
    let svg = draw_capture(capture, title, &marks)?;
    let out = capture.with_extension("svg");
    std::fs::write(&out, svg).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

// Geometry, in pixels. Text is 11 px monospace: about 6.6 px a character.
const CHAR_W: f64 = 6.6;
const LEFT: f64 = 120.0;
const LANE: f64 = 190.0;
const ROW: f64 = 26.0;
/// Between two lines of one arrow's label.
const LABEL_STEP: f64 = 13.0;
/// Characters of a row's note at most.
const MAX_NOTE: usize = 80;
const GAP_ROW: f64 = 22.0;
const LINE_H: f64 = 16.0;
const BOX_H: f64 = 52.0;
/// A pause between two messages longer than this is drawn as a gap.
const GAP_SECS: f64 = 0.5;

/// One line of the header: its text and its style class.
struct HeaderLine {
    text: String,
    class: &'static str,
}

/// Where everything goes.
struct Layout<'a> {
    rec: &'a SequenceRecorder,
    title: &'a str,
    header: Vec<HeaderLine>,
    /// Notes of marked frames (`step 5`, `[1] trunk.same-clientid`).
    notes: HashMap<u64, Vec<String>>,
}

impl<'a> Layout<'a> {
    fn new(rec: &'a SequenceRecorder, title: &'a str, marks: &Marks) -> Self {
        let mut header: Vec<HeaderLine> = Vec::new();
        let mut notes: HashMap<u64, Vec<String>> = HashMap::new();
        let drawn = rec.arrows.len();
        header.push(HeaderLine {
            text: format!(
                "{}, {drawn} drawn; {}, {}; time in seconds since the first message",
                count(rec.seen, "NFSv4 message", "NFSv4 messages"),
                count(
                    rec.clients.len() as u64,
                    "client connection",
                    "client connections"
                ),
                count(
                    rec.servers.len() as u64,
                    "server address",
                    "server addresses"
                ),
            ),
            class: "info",
        });
        if rec.over_cap > 0 {
            header.push(HeaderLine {
                text: format!(
                    "Only the first {drawn} messages are drawn (the diagram's cap): {} more, \
                     from frame {} on, are not.",
                    rec.over_cap,
                    rec.first_over_cap.unwrap_or(0)
                ),
                class: "cap",
            });
        }
        if rec.over_lines > 0 {
            header.push(HeaderLine {
                text: format!(
                    "{} messages on connections beyond the first {MAX_CLIENT_LINES} client \
                     connections or {MAX_SERVER_LINES} server addresses are not drawn.",
                    rec.over_lines
                ),
                class: "cap",
            });
        }
        if let Some(f) = &marks.failure {
            header.push(HeaderLine {
                text: format!("FAILED {}", f.headline),
                class: "fail-head",
            });
            for d in f.details.iter().take(8) {
                header.push(HeaderLine {
                    text: format!("    {d}"),
                    class: "fail",
                });
            }
            for &fr in &f.frames {
                add_note(&mut notes, fr, &f.note);
            }
        } else if let Some(v) = &marks.verdict {
            header.push(HeaderLine {
                text: format!("FAILED: {v}"),
                class: "fail-head",
            });
        }
        if !marks.findings.is_empty() {
            header.push(HeaderLine {
                text: format!("Passive findings ({}):", marks.findings.len()),
                class: "fail-head",
            });
        }
        let drawn_frames: std::collections::HashSet<u64> =
            rec.arrows.iter().map(|a| a.frame).collect();
        for (k, f) in marks.findings.iter().enumerate() {
            let tag = format!("[{}] {}", k + 1, f.rule);
            for &fr in &f.frames {
                add_note(&mut notes, fr, &tag);
            }
            if k >= MAX_LISTED_FINDINGS {
                continue;
            }
            let missing = f
                .frames
                .iter()
                .filter(|fr| !drawn_frames.contains(fr))
                .count();
            let suffix = if missing > 0 {
                format!(" ({missing} of its frames not drawn)")
            } else {
                String::new()
            };
            header.push(HeaderLine {
                text: format!("    [{}] {}{suffix}", k + 1, f.text),
                class: "fail",
            });
        }
        if marks.findings.len() > MAX_LISTED_FINDINGS {
            header.push(HeaderLine {
                text: format!(
                    "    … and {} more findings (trunkcheck analyze lists them all)",
                    marks.findings.len() - MAX_LISTED_FINDINGS
                ),
                class: "fail",
            });
        }
        let header = header
            .into_iter()
            .flat_map(|h| {
                let indent = h.text.len() - h.text.trim_start().len();
                let lines = wrap(h.text.trim_start(), HEADER_COLS - indent - 4, 3, ' ');
                lines.into_iter().enumerate().map(move |(k, l)| HeaderLine {
                    text: format!("{:w$}{l}", "", w = if k == 0 { indent } else { indent + 4 }),
                    class: h.class,
                })
            })
            .collect();
        Layout {
            rec,
            title,
            header,
            notes,
        }
    }

    fn lanes(&self) -> usize {
        self.rec.clients.len() + self.rec.servers.len()
    }

    fn client_x(&self, i: usize) -> f64 {
        LEFT + LANE / 2.0 + i as f64 * LANE
    }

    fn server_x(&self, i: usize) -> f64 {
        self.client_x(self.rec.clients.len() + i)
    }

    /// The arrow's label: status (replies) and operations, wrapped.
    fn label(a: &Arrow) -> Vec<String> {
        let mut text = String::new();
        if let Some(st) = &a.status {
            text.push_str(st);
            text.push_str("  ");
        }
        if a.callback && a.kind == MsgKind::Call {
            text.push_str("callback ");
        }
        text.push_str(&a.ops);
        wrap(&text, LABEL_COLS, LABEL_LINES, ',')
    }

    /// The height of an arrow's row.
    fn row_height(lines: usize) -> f64 {
        ROW + LABEL_STEP * lines.saturating_sub(1) as f64
    }

    fn render(&self) -> String {
        let lanes = self.lanes().max(1);
        let lanes_end = LEFT + lanes as f64 * LANE;
        // Labels may run past the last lifeline; notes go right of them.
        let mut label_end: f64 = lanes_end;
        let labels: Vec<Vec<String>> = self.rec.arrows.iter().map(Self::label).collect();
        for (a, label) in self.rec.arrows.iter().zip(&labels) {
            let chars = label.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let x = self.client_x(a.client).min(self.server_x(a.server)) + 8.0;
            label_end = label_end.max(x + chars as f64 * CHAR_W);
        }
        let notes_x = label_end + 20.0;
        let longest_note = self
            .notes
            .values()
            .map(|n| n.join("  ").chars().count().min(MAX_NOTE))
            .max()
            .unwrap_or(0);
        let longest_header = self
            .header
            .iter()
            .map(|h| h.text.chars().count())
            .chain(std::iter::once(
                self.title.chars().count().min(HEADER_COLS) * 14 / 11,
            ))
            .max()
            .unwrap_or(0);
        let width = (notes_x + longest_note as f64 * CHAR_W + 24.0)
            .max(24.0 + longest_header as f64 * CHAR_W)
            .ceil();

        let mut body = String::new();
        let mut y = 30.0;
        let _ = writeln!(
            body,
            "<text x=\"12\" y=\"{y}\" class=\"title\">{}</text>",
            escape(&clip(self.title, HEADER_COLS))
        );
        y += 8.0;
        for h in &self.header {
            y += LINE_H;
            let _ = writeln!(
                body,
                "<text x=\"12\" y=\"{y}\" class=\"{}\">{}</text>",
                h.class,
                escape(&h.text)
            );
        }
        y += 16.0;
        let box_top = y;
        let rows_top = box_top + BOX_H + 14.0;

        // Rows first (their height decides the lifelines' length).
        let mut rows = String::new();
        let mut ry = rows_top;
        let mut last_time = None;
        for (a, label) in self.rec.arrows.iter().zip(&labels) {
            if let Some(t) = last_time {
                if a.time - t > GAP_SECS {
                    let _ = writeln!(
                        rows,
                        "<text x=\"{:.0}\" y=\"{:.1}\" class=\"gap\">⋯ {:.2} s later ⋯</text>",
                        LEFT + 4.0,
                        ry + 15.0,
                        a.time - t
                    );
                    ry += GAP_ROW;
                }
            }
            last_time = Some(a.time);
            let h = Self::row_height(label.len());
            self.row(&mut rows, a, label, ry, h, (width, notes_x));
            ry += h;
        }
        if self.rec.over_cap > 0 {
            let _ = writeln!(
                rows,
                "<text x=\"12\" y=\"{:.1}\" class=\"cap\">⋯ {} more messages not drawn (the diagram's cap of {}) ⋯</text>",
                ry + 18.0,
                self.rec.over_cap,
                self.rec.arrows.len()
            );
            ry += 26.0;
        }
        if self.rec.arrows.is_empty() {
            let _ = writeln!(
                rows,
                "<text x=\"12\" y=\"{:.1}\" class=\"info\">No NFSv4 message in this capture.</text>",
                ry + 18.0
            );
            ry += 26.0;
        }
        let height = (ry + 20.0).ceil();

        let mut lines = String::new();
        let all = self.rec.clients.iter().chain(self.rec.servers.iter());
        for (i, l) in all.enumerate() {
            let x = self.client_x(i);
            self.lifeline(&mut lines, l, x, box_top, ry);
        }

        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" xml:space=\"preserve\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"11\">"
        );
        let _ = writeln!(s, "<title>{}</title>", escape(&clip(self.title, 180)));
        s.push_str(STYLE);
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        s.push_str(&lines);
        s.push_str(&body);
        s.push_str(&rows);
        s.push_str("</svg>\n");
        s
    }

    /// A lifeline: its box at the top and its dashed line down.
    fn lifeline(&self, s: &mut String, l: &Lifeline, x: f64, top: f64, bottom: f64) {
        let (class, name) = match (l.side, l.conn) {
            (Side::Server, _) => ("server", "server".to_string()),
            (Side::Client, Some(c)) if l.callback => ("client", format!("{c} callback")),
            (Side::Client, Some(c)) => ("client", format!("client {c}")),
            (Side::Client, None) => ("client", "client".to_string()),
        };
        let fits = ((LANE - 16.0) / CHAR_W) as usize;
        let id = l.identity.as_deref().map(|i| match l.side {
            Side::Server => format!("major \"{i}\""),
            Side::Client => format!("owner \"{i}\""),
        });
        let full = format!(
            "{name} {}{}",
            l.addr,
            id.as_deref().map(|i| format!(" {i}")).unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "<g><title>{}</title><rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{BOX_H}\" rx=\"4\" class=\"{class}\"/>",
            escape(&full),
            x - LANE / 2.0 + 6.0,
            LANE - 12.0
        );
        let texts = [
            (name.as_str(), "box-name"),
            (&l.addr.to_string(), "box-text"),
            (id.as_deref().unwrap_or(""), "box-text"),
        ];
        for (k, (t, c)) in texts.iter().enumerate() {
            let _ = writeln!(
                s,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"{c}\">{}</text>",
                top + 16.0 + k as f64 * 14.0,
                escape(&clip(t, fits))
            );
        }
        let _ = writeln!(
            s,
            "</g><line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" class=\"life\"/>",
            top + BOX_H
        );
    }

    /// One message: its frame and time, its arrow, its label (lines
    /// stacked above the arrow), its notes; `(width, notes_x)` of the
    /// picture.
    fn row(&self, s: &mut String, a: &Arrow, label: &[String], y: f64, h: f64, at: (f64, f64)) {
        let (width, notes_x) = at;
        let cx = self.client_x(a.client);
        let sx = self.server_x(a.server);
        let (x1, x2) = if a.to_server { (cx, sx) } else { (sx, cx) };
        let notes = self.notes.get(&a.frame);
        let red = if notes.is_some() { " red" } else { "" };
        let ay = y + h - 9.0;
        if notes.is_some() {
            let _ = writeln!(
                s,
                "<rect x=\"0\" y=\"{y:.1}\" width=\"{width}\" height=\"{h:.1}\" class=\"mark\"/>"
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"44\" y=\"{ay:.1}\" text-anchor=\"end\" class=\"frame\">{}</text>\
             <text x=\"{:.0}\" y=\"{ay:.1}\" text-anchor=\"end\" class=\"frame\">{:.4}</text>",
            a.frame,
            LEFT - 10.0,
            a.time
        );
        let mut tip = format!("frame {}: {} ", a.frame, a.kind.as_str());
        if let Some(st) = &a.status {
            let _ = write!(tip, "{st} ");
        }
        tip.push_str(&a.ops);
        let class = match a.kind {
            MsgKind::Call => "call",
            MsgKind::Reply => "reply",
        };
        let dir = if x2 >= x1 { 1.0 } else { -1.0 };
        let _ = writeln!(
            s,
            "<g><title>{}</title><line x1=\"{x1:.1}\" y1=\"{ay:.1}\" x2=\"{:.1}\" y2=\"{ay:.1}\" class=\"{class}{red}\"/>\
             <path d=\"M{x2:.1},{ay:.1} l{:.1},-4 v8 z\" class=\"head{red}\"/>",
            escape(&tip),
            x2 - dir * 7.0,
            -dir * 8.0,
        );
        let lx = x1.min(x2) + 8.0;
        let n = label.len();
        for (k, line) in label.iter().enumerate() {
            let ly = ay - 5.0 - (n - 1 - k) as f64 * LABEL_STEP;
            let _ = write!(s, "<text x=\"{lx:.1}\" y=\"{ly:.1}\" class=\"label{red}\">");
            let status = a
                .status
                .as_deref()
                .filter(|st| k == 0 && line.starts_with(st));
            match status {
                Some(st) => {
                    let c = if a.ok { "ok" } else { "err" };
                    let rest = line.get(st.len()..).unwrap_or_default();
                    let _ = write!(
                        s,
                        "<tspan class=\"{c}\">{}</tspan>{}",
                        escape(st),
                        escape(rest)
                    );
                }
                None => s.push_str(&escape(line)),
            }
            s.push_str("</text>\n");
        }
        s.push_str("</g>\n");
        if let Some(n) = notes {
            let _ = writeln!(
                s,
                "<text x=\"{notes_x:.1}\" y=\"{:.1}\" class=\"note\">✗ {}</text>",
                ay - 5.0,
                escape(&clip(&n.join("  "), MAX_NOTE))
            );
        }
    }
}

/// `n` and the noun, singular or plural.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Adds `note` to the notes of `frame`, once.
fn add_note(notes: &mut HashMap<u64, Vec<String>>, frame: u64, note: &str) {
    let n = notes.entry(frame).or_default();
    if !n.iter().any(|x| x == note) {
        n.push(note.to_string());
    }
}

/// `text` in lines of at most `cols` characters, broken after `prefer`
/// (else at a space) where possible; at most `max_lines`, the last ending
/// in `…` when text is left over.
fn wrap(text: &str, cols: usize, max_lines: usize, prefer: char) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() && lines.len() < max_lines {
        let rest = &chars[start..];
        if rest.len() <= cols {
            lines.push(rest.iter().collect());
            break;
        }
        if lines.len() + 1 == max_lines {
            lines.push(clip(&rest.iter().collect::<String>(), cols));
            break;
        }
        let window = &rest[..cols];
        let cut = window
            .iter()
            .rposition(|&c| c == prefer)
            .or_else(|| window.iter().rposition(|&c| c == ' '))
            .filter(|&i| i >= cols / 3)
            .map_or(cols, |i| i + 1);
        lines.push(
            rest[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        start += cut;
        while chars.get(start) == Some(&' ') {
            start += 1;
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// The picture's styles (inline: the file stands alone).
const STYLE: &str = "<style>
text { white-space: pre; }
.title { font-size: 15px; font-weight: bold; fill: #222; }
.info { fill: #444; }
.cap { fill: #8a4b00; font-weight: bold; }
.fail-head { fill: #c62828; font-weight: bold; }
.fail { fill: #c62828; }
.client { fill: #e3ecf7; stroke: #4a6fa5; }
.server { fill: #e8f3e3; stroke: #4f8a3c; }
.box-name { font-weight: bold; fill: #222; }
.box-text { fill: #333; font-size: 10px; }
.life { stroke: #9aa5b1; stroke-dasharray: 4 4; }
.call { stroke: #222; stroke-width: 1.3; }
.reply { stroke: #555; stroke-width: 1.1; stroke-dasharray: 6 3; }
.call.red, .reply.red { stroke: #c62828; stroke-width: 2; }
.head { fill: #333; }
.head.red { fill: #c62828; }
.label { fill: #222; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; stroke-linejoin: round; }
.label.red { fill: #c62828; stroke: #fdecea; }
.ok { fill: #2e7d32; }
.err { fill: #b35900; font-weight: bold; }
.label.red .ok, .label.red .err { fill: #c62828; font-weight: bold; }
.frame { fill: #777; font-size: 10px; }
.gap { fill: #777; font-style: italic; }
.mark { fill: #fdecea; }
.note { fill: #c62828; font-weight: bold; }
</style>
";

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../captures")
            .join(name)
    }

    #[test]
    fn a_steps_frames_are_those_within_its_time_and_no_others() {
        let messages = [
            (7, 10.0),
            (9, 10.0002),
            (13, 10.0007),
            (15, 10.00072),
            (17, 10.0008),
        ];
        assert_eq!(step_frames(&messages, 10.00065, 10.00075), [13, 15]);
        // Rounded down to the microsecond by the capture: still in.
        assert_eq!(step_frames(&messages, 10.0007009, 10.00071), [13]);
        assert!(step_frames(&messages, 11.0, 12.0).is_empty());
    }

    #[test]
    fn labels_wrap_at_operation_boundaries_and_stop_after_max_lines() {
        let text = "SEQUENCE[session=0123 seq=1],PUTROOTFH,LOOKUP,OPEN[claim=CLAIM_NULL]";
        assert_eq!(
            wrap(text, 40, 3, ','),
            [
                "SEQUENCE[session=0123 seq=1],PUTROOTFH,",
                "LOOKUP,OPEN[claim=CLAIM_NULL]"
            ]
        );
        let two = wrap(text, 25, 2, ',');
        assert_eq!(two.len(), 2);
        assert!(
            two[1].ends_with('…') && two[1].chars().count() == 25,
            "{two:?}"
        );
        assert_eq!(wrap("short", 40, 3, ','), ["short"]);
        assert_eq!(wrap("", 40, 3, ','), [""]);
        // No break point: cut hard.
        assert_eq!(
            wrap(&"x".repeat(50), 20, 3, ','),
            ["x".repeat(20), "x".repeat(20), "x".repeat(10)]
        );
    }

    #[test]
    fn the_two_address_capture_has_its_lifelines_and_arrows() {
        let (rec, _) = analyzer::pipeline::decode_file(
            &capture("suite-one-server-two-addresses.pcap"),
            Default::default(),
            SequenceRecorder::default(),
            |_, _| {},
        )
        .expect("reads");
        // Two client connections (one to each address), two server addresses.
        assert_eq!(rec.clients().len(), 2);
        assert_eq!(rec.servers().len(), 2);
        assert_eq!(rec.arrows().len(), 10);
        assert_eq!(rec.servers()[0].addr.to_string(), "127.0.0.2:2049");
        let calls = rec.arrows().iter().filter(|a| a.to_server).count();
        assert_eq!(calls, 5);
    }
}
