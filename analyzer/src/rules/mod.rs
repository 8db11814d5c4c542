//! The RFC rules the analyzer checks passively, the engine that runs them,
//! and the one verdict policy every report uses.
//!
//! Every rule has a stable id, the RFC section it comes from, the catalogue
//! rows (`spec/rules.md`) it covers, a severity (a MUST broken is a
//! violation; a SHOULD or lowercase "should" a warning), the party it
//! judges, and what a capture must show for it to judge ([`Need`]). Rules
//! live in groups, one file each (`position`, `exchange_id`, ...): the
//! group declares its rules with [`rules!`], judges each [`Event`] with pure
//! functions, keeps any bookkeeping only it needs, and carries its tests.
//!
//! The engine ([`Analysis`]) hands every event to every group, with the
//! model as it was before the event; then the model applies the event. A
//! judgement whose needs the capture does not meet is skipped and counted
//! ("not judged: why"). A finding names the rule and the frames that prove it.

use crate::exchange::{Message, MessageSink, Notice};
use crate::model::event::{At, Event, EventSink};
use crate::model::{Model, ModelLimits, Principal};
use crate::nfs4::SessionId4;
use crate::pipeline::LimitHit;
use std::fmt;
use std::net::SocketAddr;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A MUST / MUST NOT / REQUIRED was broken.
    Violation,
    /// A SHOULD, or a lowercase "should"/"must", was not followed.
    Warning,
    /// Worth knowing; not a rule broken.
    Info,
}

impl Severity {
    /// `violation`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Violation => "violation",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// The server.
    Server,
    /// The client.
    Client,
}

impl Party {
    /// `server` or `client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Server => "server",
            Party::Client => "client",
        }
    }
}

/// What a capture must show for a rule to judge an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// The event's connection, captured from its start with no bytes lost
    /// before the event.
    ConnectionWhole,
    /// The CREATE_SESSION of the session concerned.
    SessionCreated,
    /// The session's CREATE_SESSION, and everything each of its known
    /// connections carried up to the event.
    SessionWhole,
    /// A capture declared complete (every connection of every client in it,
    /// nothing lost): only then does what it does not show not happen. Rules
    /// whose evidence is an absence (no RECLAIM_COMPLETE, no FREE_STATEID,
    /// no earlier request on a slot) need it.
    Complete,
    /// The whole recovery timeline (no restart-revealing event dropped at
    /// the model's bound).
    Timeline,
    /// The server's lease_time (a GETATTR of it).
    LeaseTime,
    /// An earlier client ID shown alive at the time (renewed within the
    /// lease, or a complete capture that shows no end).
    Alive,
}

impl Need {
    /// Why a judgement needing this was skipped, in words.
    pub fn reason(self) -> &'static str {
        match self {
            Need::ConnectionWhole => {
                "the connection's start or some of its bytes are not in the capture"
            }
            Need::SessionCreated => "the session's CREATE_SESSION is not in the capture",
            Need::SessionWhole => {
                "the session's creation or some bytes of its connections are not in the capture"
            }
            Need::Complete => {
                "it rests on something not happening, which only a complete capture shows (analyze --complete)"
            }
            Need::Timeline => "recovery events were dropped at the model's bound",
            Need::LeaseTime => "the server's lease_time is not in the capture",
            Need::Alive => {
                "the earlier client ID may have ended unseen: last shown alive on another connection, or longer ago than a lease or a restart takes, or on a connection with bytes lost"
            }
        }
    }

    /// Whether the capture, as far as the model has seen it, shows it for
    /// an event at `at` about `session`.
    fn met(self, model: &Model, at: &At, session: Option<&SessionId4>) -> bool {
        let session = || session.and_then(|s| model.session_at(at.server, s));
        match self {
            Need::ConnectionWhole => model.connection_whole_until(at.conn, at.frame),
            Need::SessionCreated => session().is_some_and(|s| s.created_frame.is_some()),
            Need::SessionWhole => {
                session().is_some_and(|s| model.session_whole_until(s, at.frame))
                    && model.connection_whole_until(at.conn, at.frame)
            }
            Need::Complete => model.complete && !model.gaps_seen,
            Need::Timeline => model.limit_counts.first_event_dropped_frame.is_none(),
            Need::LeaseTime => model
                .endpoints
                .get(&at.server)
                .is_some_and(|e| e.lease_time.is_some()),
            // Judged by the rule itself (see `alive`).
            Need::Alive => true,
        }
    }
}

/// A rule's fixed description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `csess.sequence-echo`.
    pub id: &'static str,
    /// The RFC and section.
    pub rfc: &'static str,
    /// Rows of `spec/rules.md` it covers.
    pub rows: &'static [u32],
    /// Severity of its findings.
    pub severity: Severity,
    /// Who it judges.
    pub party: Party,
    /// What it requires, in one line.
    pub title: &'static str,
    /// What a capture must show for it to judge.
    pub needs: &'static [Need],
}

/// One rule broken, with proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static Rule,
    /// What happened, in one line.
    pub message: String,
    /// The frames that show it (call and reply, or the exchanges compared).
    pub frames: Vec<u64>,
    /// The server addresses it is about (the one that answered, and any
    /// other it was compared with).
    pub servers: Vec<SocketAddr>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{} {}, {}] {} (frames {})",
            self.rule.id,
            self.rule.severity.as_str(),
            self.rule.party.as_str(),
            self.rule.rfc,
            self.message,
            self.frames
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// What a judge function found: the message and the frames that prove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What happened, in one line.
    pub message: String,
    /// The frames that show it.
    pub frames: Vec<u64>,
    /// Server addresses it is about besides the event's own.
    pub also: Vec<SocketAddr>,
}

impl Violation {
    /// A violation shown by these frames.
    pub fn new(message: impl Into<String>, frames: Vec<u64>) -> Self {
        Violation {
            message: message.into(),
            frames,
            also: Vec::new(),
        }
    }

    /// The same, about these server addresses too.
    pub fn about(mut self, servers: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.also.extend(servers);
        self
    }
}

/// Declares a group's rules: one `pub static` each, and the group's list
/// `RULES`.
macro_rules! rules {
    ($( $name:ident: $id:literal, $rfc:literal, [$($row:literal),*], $sev:ident, $party:ident, [$($need:ident),*], $title:literal; )*) => {
        $(
            #[doc = $title]
            pub static $name: $crate::rules::Rule = $crate::rules::Rule {
                id: $id,
                rfc: $rfc,
                rows: &[$($row),*],
                severity: $crate::rules::Severity::$sev,
                party: $crate::rules::Party::$party,
                title: $title,
                needs: &[$($crate::rules::Need::$need),*],
            };
        )*
        /// The rules of this group.
        pub(super) const RULES: &[&$crate::rules::Rule] = &[$(&$name),*];
    };
}

pub mod bind_conn;
pub mod callback;
pub mod create_session;
pub mod exchange_id;
pub mod lease;
pub mod migration;
pub mod position;
pub mod reclaim;
pub mod sequence;
pub mod state_protection;
pub mod support;
pub mod trunking;
pub mod v40;

#[cfg(test)]
pub(crate) mod testkit;

pub use bind_conn::*;
pub use callback::*;
pub use create_session::*;
pub use exchange_id::*;
pub use lease::*;
pub use migration::*;
pub use position::*;
pub use reclaim::*;
pub use sequence::*;
pub use state_protection::*;
pub use support::*;
pub use trunking::*;
pub use v40::*;

/// One group of rules: judges each event, with the model as it was
/// before it, and keeps whatever bookkeeping only its rules need.
pub trait Check: fmt::Debug + Send {
    /// Judges one event.
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>);

    /// Sees the event again once the model applied it (bookkeeping that
    /// needs the new facts, e.g. a client ID record just created).
    fn applied(&mut self, _at: &At, _ev: &Event<'_>, _model: &Model) {}

    /// The capture ended: judges what waited for evidence that never came
    /// (`j.at()` is the last event's place).
    fn finish(&mut self, _j: &mut Judge<'_>) {}
}

/// Every group, in the order the engine runs them (that is the order of
/// findings from one event).
fn groups() -> Vec<Box<dyn Check>> {
    vec![
        Box::<position::Position>::default(),
        Box::<exchange_id::ExchangeId>::default(),
        Box::<state_protection::StateProtection>::default(),
        Box::<trunking::Trunking>::default(),
        Box::<create_session::CreateSession>::default(),
        Box::<bind_conn::BindConn>::default(),
        Box::<sequence::Sequence>::default(),
        Box::<lease::Lease>::default(),
        Box::<reclaim::Reclaim>::default(),
        Box::<v40::V40>::default(),
        Box::<callback::Callback>::default(),
        Box::<migration::Migration>::default(),
        Box::<support::Support>::default(),
    ]
}

/// The groups' rule lists, in the order of [`groups`].
const GROUP_RULES: &[&[&Rule]] = &[
    position::RULES,
    exchange_id::RULES,
    state_protection::RULES,
    trunking::RULES,
    create_session::RULES,
    bind_conn::RULES,
    sequence::RULES,
    lease::RULES,
    reclaim::RULES,
    v40::RULES,
    callback::RULES,
    migration::RULES,
    support::RULES,
];

/// How many rules there are.
const RULE_COUNT: usize = {
    let (mut n, mut g) = (0, 0);
    while g < GROUP_RULES.len() {
        n += GROUP_RULES[g].len();
        g += 1;
    }
    n
};

/// The groups' lists one after the other.
const fn concat_rules() -> [&'static Rule; RULE_COUNT] {
    let mut out = [GROUP_RULES[0][0]; RULE_COUNT];
    let (mut g, mut k) = (0, 0);
    while g < GROUP_RULES.len() {
        let mut i = 0;
        while i < GROUP_RULES[g].len() {
            out[k] = GROUP_RULES[g][i];
            k += 1;
            i += 1;
        }
        g += 1;
    }
    out
}

/// Every rule the analyzer checks, group by group.
pub static ALL: &[&Rule] = &concat_rules();

/// Looks a rule up by id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// What the rules found so far, and what they could not judge.
#[derive(Debug, Default)]
struct Verdicts {
    findings: Vec<Finding>,
    dropped: u64,
    max: usize,
    not_judged: Vec<NotJudged>,
    /// Pairs of addresses that declare one server but the capture shows
    /// are not trunkable (with the rule that shows it).
    refuted: Vec<(SocketAddr, SocketAddr, &'static Rule)>,
}

impl Verdicts {
    /// Records a finding (bounded; the same rule and message once).
    fn add(&mut self, f: Finding) {
        if self.findings.len() >= self.max {
            self.dropped += 1;
            return;
        }
        if self
            .findings
            .iter()
            .any(|g| std::ptr::eq(g.rule, f.rule) && g.message == f.message)
        {
            return;
        }
        self.findings.push(f);
    }

    fn skip(&mut self, rule: &'static Rule, need: Need) {
        let reason = need.reason();
        match self
            .not_judged
            .iter_mut()
            .find(|n| std::ptr::eq(n.rule, rule) && n.reason == reason)
        {
            Some(n) => n.count += 1,
            None => self.not_judged.push(NotJudged {
                rule,
                reason,
                count: 1,
            }),
        }
    }
}

/// Hands a group what it judges with: the event's place, the model before
/// the event, and where verdicts go.
pub struct Judge<'a> {
    model: &'a Model,
    at: &'a At,
    verdicts: &'a mut Verdicts,
}

impl<'a> Judge<'a> {
    /// The model as it was before the event.
    pub fn model(&self) -> &'a Model {
        self.model
    }

    /// Where and when the event happened.
    pub fn at(&self) -> &'a At {
        self.at
    }

    /// Judges `rule` on this event with `f`: what `f` finds is reported when
    /// the capture shows what the rule needs to prove it, and else counted
    /// not judged (with the first need the capture does not meet).
    pub fn judge(&mut self, rule: &'static Rule, f: impl FnOnce() -> Option<Violation>) {
        self.judge_needing(rule, rule.needs, None, f)
    }

    /// [`Judge::judge`] for a judgement about `session` (needs such as
    /// [`Need::SessionCreated`] are about it).
    pub fn judge_session(
        &mut self,
        rule: &'static Rule,
        session: &SessionId4,
        f: impl FnOnce() -> Option<Violation>,
    ) {
        self.judge_needing(rule, rule.needs, Some(session), f)
    }

    /// [`Judge::judge`] with these needs instead of the rule's own (a part
    /// of a rule that needs less than the rest).
    pub fn judge_needing(
        &mut self,
        rule: &'static Rule,
        needs: &[Need],
        session: Option<&SessionId4>,
        f: impl FnOnce() -> Option<Violation>,
    ) {
        let Some(v) = f() else {
            return;
        };
        if let Some(n) = needs.iter().find(|n| !n.met(self.model, self.at, session)) {
            self.verdicts.skip(rule, *n);
            return;
        }
        let mut servers: Vec<SocketAddr> = Some(self.at.server)
            .filter(|a| !a.ip().is_unspecified())
            .into_iter()
            .collect();
        for a in v.also {
            if !servers.contains(&a) {
                servers.push(a);
            }
        }
        self.verdicts.add(Finding {
            rule,
            message: v.message,
            frames: v.frames,
            servers,
        });
    }

    /// [`Judge::judge`] of a comparison with client ID record `r`, which
    /// the capture must show alive at the event (see [`alive`]).
    pub fn judge_alive(
        &mut self,
        rule: &'static Rule,
        r: &crate::model::ClientIdRecord,
        f: impl FnOnce() -> Option<Violation>,
    ) {
        let Some(v) = f() else {
            return;
        };
        match alive(self.model, r, self.at) {
            Ok(()) => self.judge(rule, || Some(v)),
            Err(n) => self.verdicts.skip(rule, n),
        }
    }

    /// Notes that addresses `a` and `b`, though they declare one server,
    /// are not trunkable, as the finding of `rule` shows.
    pub fn refute_trunking(&mut self, a: SocketAddr, b: SocketAddr, rule: &'static Rule) {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        if !self
            .verdicts
            .refuted
            .iter()
            .any(|(x, y, _)| (*x, *y) == (a, b))
        {
            self.verdicts.refuted.push((a, b, rule));
        }
    }

    /// Counts `rule` not judged for want of `need` (a need only the group
    /// can evaluate).
    pub fn not_judged(&mut self, rule: &'static Rule, need: Need) {
        self.verdicts.skip(rule, need);
    }
}

/// Whether the capture shows client ID record `r` still the server's at the
/// event: not ended, last shown alive on the event's own connection (a
/// restart in between would have broken it), and not since long enough for
/// its lease to expire. Neither a complete capture nor a short time does: a
/// server can restart quietly between two answers on different connections
/// (NFS-Ganesha was seen answering again 72 ms after a restart). `Err` says
/// what is missing.
pub fn alive(m: &Model, r: &crate::model::ClientIdRecord, at: &At) -> Result<(), Need> {
    if !r.live() {
        return Err(Need::Alive);
    }
    let (t, _, conn) = r.alive.ok_or(Need::Alive)?;
    let age = at.ts.since(t);
    if conn != at.conn {
        return Err(Need::Alive);
    }
    // Bytes of the connection lost since then may have carried its end (a
    // DESTROY_CLIENTID whose reply alone was captured). The model keeps a
    // connection's first loss only: a loss before `frame` may have been
    // followed by others, so any loss leaves it unproven.
    if m.losses.contains_key(&conn) {
        return Err(Need::Alive);
    }
    within_lease(m, r, at, age)
}

/// No server gives a lease shorter than this many seconds: within it, a
/// lease not renewed has not run out even when the capture does not show
/// lease_time.
pub const SHORTEST_LEASE_SECS: f64 = 1.0;

/// Whether `age` seconds after `r` was last shown alive its lease cannot
/// have run out (the server's lease_time, or the shortest lease any server
/// gives when the capture does not show it).
pub fn within_lease(
    m: &Model,
    r: &crate::model::ClientIdRecord,
    at: &At,
    age: f64,
) -> Result<(), Need> {
    if age < SHORTEST_LEASE_SECS {
        return Ok(());
    }
    let lease = r
        .endpoints
        .iter()
        .chain(std::iter::once(&at.server))
        .filter_map(|e| m.endpoints.get(e).and_then(|e| e.lease_time))
        .min()
        .ok_or(Need::LeaseTime)?;
    if age < f64::from(lease) {
        Ok(())
    } else {
        Err(Need::Alive)
    }
}

/// How a finding counts where a verdict is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// It fails the capture, the JUnit case or the trial.
    Fail,
    /// It is reported as a warning and fails nothing.
    Warn,
    /// It is reported for information.
    Inform,
}

/// Who a finding in a suite trial is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialBlame {
    /// The server under test.
    Server,
    /// trunkcheck's own client: a bug in the scenario or the client.
    OwnClient,
}

/// The one verdict policy: what fails a capture (`analyze`'s exit status),
/// a JUnit case and a suite trial. Every report asks it; none decides alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Warnings fail too (`--strict`).
    pub strict: bool,
}

impl Policy {
    /// How findings of `rule` count: a broken MUST fails; a SHOULD warns
    /// (fails when strict); information never fails.
    pub fn gate(&self, rule: &Rule) -> Gate {
        match rule.severity {
            Severity::Violation => Gate::Fail,
            Severity::Warning if self.strict => Gate::Fail,
            Severity::Warning => Gate::Warn,
            Severity::Info => Gate::Inform,
        }
    }

    /// Whether findings of `rule` fail a capture and its JUnit case.
    pub fn fails(&self, rule: &Rule) -> bool {
        self.gate(rule) == Gate::Fail
    }

    /// Whether any of `findings` fails the capture.
    pub fn capture_fails(&self, findings: &[Finding]) -> bool {
        findings.iter().any(|f| self.fails(f.rule))
    }

    /// Whether a finding fails a suite trial, and who it is charged to. The
    /// client of a trial is trunkcheck's own, so any rule it breaks (a
    /// violation or a warning) fails the trial unless the scenario provokes
    /// it on purpose (`expected`); a server finding fails by its gate.
    pub fn trial_blame(&self, f: &Finding, expected: bool) -> Option<TrialBlame> {
        if expected {
            return None;
        }
        match (f.rule.party, self.gate(f.rule)) {
            (Party::Server, Gate::Fail) => Some(TrialBlame::Server),
            (Party::Client, Gate::Fail | Gate::Warn) => Some(TrialBlame::OwnClient),
            _ => None,
        }
    }
}

/// Judgements a rule skipped because the capture could not prove them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotJudged {
    /// The rule.
    pub rule: &'static Rule,
    /// Why, in words (what the capture would have to show).
    pub reason: &'static str,
    /// How many times.
    pub count: u64,
}

/// The one-line verdict on a capture: what each party broke, and how much
/// the capture could not prove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// The capture holds NFSv4 traffic the model could follow.
    pub nfs4: bool,
    /// Server findings: violations, warnings.
    pub server: (usize, usize),
    /// Client findings: violations, warnings.
    pub client: (usize, usize),
    /// Findings for information.
    pub info: usize,
    /// Rules with judgements the capture could not prove, and how many.
    pub not_judged: (usize, u64),
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.nfs4 {
            return write!(f, "no NFSv4 traffic: nothing judged");
        }
        let party = |(v, w): (usize, usize)| match (v, w) {
            (0, 0) => "no violation".to_string(),
            _ => format!(
                "{v} violation{}, {w} warning{}",
                if v == 1 { "" } else { "s" },
                if w == 1 { "" } else { "s" }
            ),
        };
        write!(
            f,
            "server: {}; client: {}",
            party(self.server),
            party(self.client)
        )?;
        if self.info > 0 {
            write!(f, "; {} for information", self.info)?;
        }
        match self.not_judged {
            (0, _) => write!(f, "; every rule judged what the capture shows"),
            (rules, n) => write!(
                f,
                "; not judged: {rules} rule{} ({n} time{}) the capture cannot prove",
                if rules == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" }
            ),
        }
    }
}

/// The rules at work: every group, and their verdicts.
#[derive(Debug)]
struct Engine {
    groups: Vec<Box<dyn Check>>,
    verdicts: Verdicts,
    /// The place of the last event (where the end of the capture is).
    last: Option<At>,
}

impl Engine {
    fn finish(&mut self, model: &Model) {
        let Some(mut at) = self.last.take() else {
            return;
        };
        // The end of the capture is at no server: what is judged then names
        // its own.
        at.server = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut j = Judge {
            model,
            at: &at,
            verdicts: &mut self.verdicts,
        };
        for g in &mut self.groups {
            g.finish(&mut j);
        }
    }
}

impl EventSink for Engine {
    fn event(&mut self, model: &mut Model, at: &At, ev: &Event<'_>) {
        if ev.is_information() {
            // Information for the reports, not an NFS event: no rule
            // judges it, and the end of the capture stays where the last
            // NFS event was.
            model.apply(at, ev);
            return;
        }
        // The rules judge a model that cannot change meanwhile: its
        // lookups may remember their answers.
        model.frozen(|model| {
            let mut j = Judge {
                model,
                at,
                verdicts: &mut self.verdicts,
            };
            for g in &mut self.groups {
                g.judge(ev, &mut j);
            }
        });
        model.apply(at, ev);
        for g in &mut self.groups {
            g.applied(at, ev, model);
        }
        match &mut self.last {
            Some(l) if l.frame <= at.frame => keep_place(l, at),
            Some(_) => {}
            None => self.last = Some(at.clone()),
        }
    }
}

/// Makes `last` a copy of `at`, reusing the buffers `last` holds (an event
/// place is kept for every event).
fn keep_place(last: &mut At, at: &At) {
    let At {
        conn,
        client,
        server,
        call_frame,
        frame,
        ts,
        minor,
        principal,
        gss_service,
        compound,
        call_len,
    } = at;
    last.conn = *conn;
    last.client = *client;
    last.server = *server;
    last.call_frame = *call_frame;
    last.frame = *frame;
    last.ts = *ts;
    last.minor = *minor;
    last.gss_service = *gss_service;
    last.compound = *compound;
    last.call_len = *call_len;
    match (&mut last.principal, principal) {
        (
            Some(Principal::Sys {
                machine,
                uid,
                gid,
                gids,
            }),
            Some(Principal::Sys {
                machine: m2,
                uid: u2,
                gid: g2,
                gids: gs2,
            }),
        ) => {
            machine.clone_from(m2);
            *uid = *u2;
            *gid = *g2;
            gids.clone_from(gs2);
        }
        (mine, theirs) => mine.clone_from(theirs),
    }
}

/// The analysis of one observation: the identity model and what the rules
/// found in it. It is the [`MessageSink`] that `analyze`, the suite runner
/// and the fuzz targets hand to a pipeline.
#[derive(Debug)]
pub struct Analysis {
    model: Model,
    engine: Engine,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis::new(ModelLimits::default())
    }
}

impl Analysis {
    /// An empty analysis within these bounds.
    pub fn new(limits: ModelLimits) -> Self {
        Analysis::from_model(Model::new(limits))
    }

    /// The same analysis of a capture declared complete: it holds every
    /// connection of every client in it, so rules whose evidence is that
    /// something did not happen may judge (`analyze --complete`; the suite
    /// runner's own captures are complete).
    pub fn complete(mut self) -> Self {
        self.model.complete = true;
        self
    }

    /// The analysis of a model built elsewhere (reports of a model alone).
    pub fn from_model(model: Model) -> Self {
        let max = model.limits().max_events;
        Analysis {
            model,
            engine: Engine {
                groups: groups(),
                verdicts: Verdicts {
                    max,
                    ..Verdicts::default()
                },
                last: None,
            },
        }
    }

    /// Who is who.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Rules broken, in the order found.
    pub fn findings(&self) -> &[Finding] {
        &self.engine.verdicts.findings
    }

    /// Findings beyond the bound (counted, not listed).
    pub fn findings_dropped(&self) -> u64 {
        self.engine.verdicts.dropped
    }

    /// Judgements skipped because the capture could not prove them, by rule
    /// and reason, in the order first met.
    pub fn not_judged(&self) -> &[NotJudged] {
        &self.engine.verdicts.not_judged
    }

    /// Pairs of addresses that declare one server but that the capture
    /// shows are not trunkable, with the rule whose finding shows it.
    pub fn refuted_trunking(&self) -> &[(SocketAddr, SocketAddr, &'static Rule)] {
        &self.engine.verdicts.refuted
    }

    /// The one-line verdict.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            nfs4: !self.model.connections.is_empty() || !self.model.endpoints.is_empty(),
            ..Summary::default()
        };
        for f in self.findings() {
            let counts = match f.rule.party {
                Party::Server => &mut s.server,
                Party::Client => &mut s.client,
            };
            match f.rule.severity {
                Severity::Violation => counts.0 += 1,
                Severity::Warning => counts.1 += 1,
                Severity::Info => s.info += 1,
            }
        }
        let mut rules: Vec<&str> = self.not_judged().iter().map(|n| n.rule.id).collect();
        rules.sort_unstable();
        rules.dedup();
        s.not_judged = (rules.len(), self.not_judged().iter().map(|n| n.count).sum());
        s
    }

    /// Every bound of the model and the rules, with how often it was reached.
    pub fn limit_hits(&self) -> Vec<LimitHit> {
        let mut hits = self.model.limit_hits();
        let findings = LimitHit {
            name: "max_events/findings",
            limit: self.engine.verdicts.max as u64,
            hits: self.engine.verdicts.dropped,
            effect: "findings counted but not listed",
        };
        let at = hits
            .iter()
            .position(|h| h.name.starts_with("max_pending"))
            .unwrap_or(hits.len());
        hits.insert(at, findings);
        hits
    }

    /// Adds a finding made outside the rules (bounded, and once per rule and
    /// message, like the rules' own).
    pub fn add_finding(&mut self, f: Finding) {
        self.engine.verdicts.add(f);
    }
}

impl MessageSink for Analysis {
    fn message(&mut self, m: &Message<'_>) {
        self.model.message(m, &mut self.engine);
    }

    fn notice(&mut self, n: &Notice) {
        self.model.notice(n);
    }

    fn finish(&mut self) {
        self.engine.finish(&self.model);
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn reaching_the_model_bounds_is_counted() {
        let mut c = Conv::with_limits(ModelLimits {
            max_pending: 1,
            max_entities: 1,
            max_events: 1,
        });
        for h in c.x.sink.limit_hits() {
            assert_eq!(h.hits, 0, "{h:?}");
        }
        // A call left unanswered is forgotten when the next one comes.
        c.unanswered_call(vec![NfsArgOp::Putrootfh(())]);
        // Two connections, owners, client IDs and sessions: one of each kept.
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        c.exchange(
            2,
            "127.0.0.1:901",
            SERVER_A,
            vec![exchange_id("d", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(9, PNFS, "srv", 0)],
        );
        confirm_at(&mut c, 2, SERVER_A, 9, 2);
        // Two recovery events: one kept.
        for _ in 0..2 {
            c.op(
                1,
                SERVER_A,
                sequence(),
                NfsResOp::Sequence(NfsRes::Fail(NfsStat4::NFS4ERR_GRACE)),
            );
        }
        // Four findings at once (flags on both sides, pNFS role, and the
        // confirmed 7 back without CONFIRMED_R): one listed.
        c.op(
            1,
            SERVER_A,
            exchange_id("c", 1, ExchgId4Flags::CONFIRMED_R),
            exchange_id_ok(
                7,
                ExchgId4Flags::SUPP_MOVED_REFER | ExchgId4Flags::UPD_CONFIRMED_REC_A,
                "srv",
                0,
            ),
        );
        let m = c.x.sink.model();
        assert_eq!(
            (m.connections.len(), m.clients.len(), m.client_ids.len()),
            (1, 1, 1)
        );
        assert_eq!(
            (
                m.sessions.len(),
                m.recovery.len(),
                c.x.sink.findings().len()
            ),
            (1, 1, 1)
        );
        assert_eq!(hits(&c, "max_pending/calls"), 1);
        assert!(hits(&c, "max_entities/connections") >= 1);
        assert!(hits(&c, "max_entities/clients") >= 1);
        assert!(hits(&c, "max_entities/client_ids") >= 1);
        assert!(hits(&c, "max_entities/sessions") >= 1);
        assert_eq!(hits(&c, "max_events/recovery"), 1);
        assert_eq!(
            hits(&c, "max_events/findings"),
            3,
            "{:?}",
            c.x.sink.findings()
        );
        assert_eq!(c.x.sink.findings_dropped(), 3);
        let limit = c.x.sink.limit_hits().iter().map(|h| h.limit).max();
        assert_eq!(limit, Some(1), "the bounds in force are reported");
    }

    /// Every rule in `ALL` is fired by some test: its id appears in an
    /// assertion of the tests of a rules file (the tests compare the rule
    /// ids a conversation raised).
    #[test]
    fn every_rule_is_fired_by_a_test() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
        let mut asserted = String::new();
        for entry in std::fs::read_dir(&dir).expect("src/rules") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("rules file");
            if let Some(at) = text.find("#[cfg(test)]\nmod tests {") {
                asserted.push_str(&text[at..]);
            }
        }
        let unfired: Vec<&str> = super::ALL
            .iter()
            .map(|r| r.id)
            .filter(|id| !asserted.contains(&format!("\"{id}\"")))
            .collect();
        assert!(unfired.is_empty(), "rules no test fires: {unfired:?}");
    }

    #[test]
    fn the_verdict_line_counts_each_party_and_what_was_not_judged() {
        let empty = Analysis::default();
        assert_eq!(
            empty.summary().to_string(),
            "no NFSv4 traffic: nothing judged"
        );
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(5), seq_ok_n(5, Seq4Status(0)));
        c.op(
            1,
            SERVER_A,
            exchange_id("c", 1, ExchgId4Flags::CONFIRMED_R),
            exchange_id_ok(7, ExchgId4Flags::CONFIRMED_R | PNFS, "srv", 0),
        );
        assert_eq!(
            c.rules(),
            vec!["seq.first-seqid", "exchid.flags-side-client"]
        );
        assert_eq!(
            c.x.sink.summary().to_string(),
            "server: 1 violation, 0 warnings; client: 1 violation, 0 warnings; every rule judged what the capture shows"
        );
        let mut c = Conv::partial();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags(0)),
            csess_ok(1, 1),
        );
        c.op(1, SERVER_A, seq_n(5), seq_ok_n(5, Seq4Status(0)));
        assert!(c.rules().is_empty());
        assert_eq!(
            c.x.sink.summary().to_string(),
            "server: no violation; client: no violation; not judged: 1 rule (1 time) the capture cannot prove"
        );
    }
}
