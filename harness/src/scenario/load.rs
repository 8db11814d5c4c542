//! Reading suite files and refusing bad ones before anything runs.

use super::reply::reply_fields;
use super::strength::Kw;
use super::types::*;
use analyzer::nfs4::consts::{ChannelDirFromClient4, CreateSession4Flags, ExchgId4Flags, NfsStat4};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// A loaded suite file.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its content.
    pub file: SuiteFile,
}

/// Why a suite file was refused.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid YAML, or not the scenario format.
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// What was expected.
        message: String,
    },
    /// Well-formed, but a scenario says something that cannot run.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The scenario id.
        scenario: String,
        /// 1-based step number, when the problem is in a step.
        step: Option<usize>,
        /// 1-based line and column of what is wrong, when known.
        at: Option<(u64, u64)>,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            LoadError::Syntax {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                    if let Some(c) = column {
                        write!(f, ":{c}")?;
                    }
                }
                write!(f, ": {message}")
            }
            LoadError::Invalid {
                path,
                scenario,
                step,
                at,
                message,
            } => {
                write!(f, "{}", path.display())?;
                if let Some((line, column)) = at {
                    write!(f, ":{line}:{column}")?;
                }
                write!(f, ": scenario {scenario}")?;
                if let Some(s) = step {
                    write!(f, ", step {s}")?;
                }
                write!(f, ": {message}")
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates one suite file.
pub fn load_file(path: &Path) -> Result<Suite, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(path, &text)
}

/// Parses and validates suite text (`path` names it in errors).
pub fn load_str(path: &Path, text: &str) -> Result<Suite, LoadError> {
    let file: SuiteFile = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location();
        LoadError::Syntax {
            path: path.to_path_buf(),
            line: loc.map(|l| l.line()),
            column: loc.map(|l| l.column()),
            message: with_hint(first_line(&e.to_string())),
        }
    })?;
    for s in &file.scenarios {
        validate(s).map_err(|(step, at, message)| LoadError::Invalid {
            path: path.to_path_buf(),
            scenario: s.id.clone(),
            step,
            at,
            message,
        })?;
    }
    Ok(Suite {
        path: path.to_path_buf(),
        file,
    })
}

/// Reads every `*.yaml` file directly in `dir` (sorted by name) and checks
/// that scenario ids are unique across them. All errors are returned, not
/// only the first.
pub fn load_dir(dir: &Path) -> Result<Vec<Suite>, Vec<LoadError>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            return Err(vec![LoadError::Io {
                path: dir.to_path_buf(),
                source,
            }])
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    load_files(&paths)
}

/// Loads several files; ids must be unique across all of them.
pub fn load_files(paths: &[PathBuf]) -> Result<Vec<Suite>, Vec<LoadError>> {
    let mut suites = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match load_file(p) {
            Ok(s) => suites.push(s),
            Err(e) => errors.push(e),
        }
    }
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for suite in &suites {
        for s in &suite.file.scenarios {
            if let Some(first) = seen.insert(s.id.clone(), suite.path.clone()) {
                errors.push(LoadError::Invalid {
                    path: suite.path.clone(),
                    scenario: s.id.clone(),
                    step: None,
                    at: None,
                    message: format!("id already used in {}", first.display()),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(suites)
    } else {
        Err(errors)
    }
}

/// Adds what an untagged form accepts to serde's terse message.
fn with_hint(message: String) -> String {
    let hint = if message.contains("enum Expect") {
        "expect is a status, a list of statuses, or {status, fields, rule, why, kw}"
    } else if message.contains("enum FieldExpect") {
        "a field expectation is a value, a list of values, or {has, lacks, same_as, differs_from, not}"
    } else {
        return message;
    };
    format!(
        "{message} ({hint}; inside {{…}} a comma ends a value, so quote texts that contain one)"
    )
}

/// The first line of a YAML error, without the "error: line L column C:"
/// prefix (the location is printed once, in front).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    if line.starts_with("line ") {
        if let Some((_, rest)) = line.split_once(": ") {
            return rest.to_string();
        }
    }
    line.to_string()
}

/// What a saved name holds, so later steps can be checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Saved {
    ExchangeId,
    Session,
    Setclientid,
    Open,
    Lock,
    Other,
}

impl Saved {
    fn name(self) -> &'static str {
        match self {
            Saved::ExchangeId => "an exchange_id",
            Saved::Session => "a create_session",
            Saved::Setclientid => "a setclientid",
            Saved::Open => "an open",
            Saved::Lock => "a lock",
            Saved::Other => "a reply",
        }
    }
}

/// Why a scenario is refused: (1-based step, line and column, message).
type Refusal = (Option<usize>, Option<(u64, u64)>, String);

/// Checks one scenario.
fn validate(s: &Scenario) -> Result<(), Refusal> {
    check_id(&s.id).map_err(|m| (None, None, m))?;
    if s.rfc.is_empty() {
        return Err((None, None, "names no RFC section (`rfc:`)".into()));
    }
    if s.steps.is_empty() {
        return Err((None, None, "has no steps".into()));
    }
    for f in &s.findings {
        if analyzer::rules::by_id(f).is_none() {
            return Err((None, None, format!("findings: no passive rule `{f}`")));
        }
    }
    if let Some(kw) = &s.kw {
        kw.check().map_err(|(at, m)| (None, Some(at), m))?;
    }
    for row in s.partial.keys() {
        if !s.rows.contains(row) {
            return Err((
                None,
                None,
                format!("partial: row {row} is not one of the scenario's rows"),
            ));
        }
    }
    let roles = roles_of(s);
    for (name, role) in &roles {
        match (&role.relation, &role.of) {
            (Some(_), Some(of)) if !roles.contains_key(of) => {
                return Err((
                    None,
                    None,
                    format!("role {name} relates to unknown role {of}"),
                ))
            }
            (Some(_), None) => {
                return Err((
                    None,
                    None,
                    format!("role {name} has a relation but no `of`"),
                ))
            }
            _ => {}
        }
    }
    for (name, p) in &s.principals {
        if name == "root" {
            return Err((None, None, "principals: `root` is predefined".into()));
        }
        p.krb5()
            .map_err(|m| (None, None, format!("principal {name}: {m}")))?;
    }
    if let Some(m) = s.requires.minor {
        if m > 2 {
            return Err((None, None, format!("minor version {m} does not exist")));
        }
    }
    let mut v = Validator {
        scenario: s,
        roles,
        conns: BTreeSet::new(),
        saved: BTreeMap::new(),
    };
    for (i, step) in s.steps.iter().enumerate() {
        v.step(step).map_err(|m| (Some(i + 1), None, m))?;
        check_fields(step).map_err(|(at, m)| (Some(i + 1), Some(at), m))?;
        check_strength(s, step).map_err(|(at, m)| (Some(i + 1), at, m))?;
    }
    Ok(())
}

/// The expectations a step states itself (a step without `expect` is a
/// precondition and needs no keyword): each has a known keyword, or
/// inherits one from the scenario or its rows.
fn check_strength(s: &Scenario, step: &Step) -> Result<(), (Option<(u64, u64)>, String)> {
    let Some(own) = stated_kw(step) else {
        return Ok(());
    };
    let own = own.as_ref();
    if let Some(k) = own {
        k.check().map_err(|(at, m)| (Some(at), m))?;
    }
    s.strength_of(own)
        .map(|_| ())
        .map_err(|m| (None, format!("the expectation has {m}")))
}

/// The expectation a step states itself, as its own keyword (`None`
/// inside: it inherits one); `None`: the step states no expectation (a
/// precondition).
pub(crate) fn stated_kw(step: &Step) -> Option<Option<Kw>> {
    let own = |e: &Expect| e.kw().cloned();
    match step {
        Step::Check(c) => Some(c.kw.clone()),
        Step::Compound(c) => c.expect.as_ref().map(own),
        Step::Raw(r) => r.expect.as_ref().map(own),
        Step::MeasureGrace(m) => m.expect.as_ref().map(own),
        _ => step.op().and_then(|op| op.common().expect).map(|e| own(&e)),
    }
}

/// The scenario's roles (`a` when none are declared).
pub fn roles_of(s: &Scenario) -> BTreeMap<String, Role> {
    if s.requires.servers.is_empty() {
        BTreeMap::from([("a".to_string(), Role::default())])
    } else {
        s.requires.servers.clone()
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.split('-').count() >= 2
        && id.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id `{id}` is not of the form AREA-NAME-01 (upper-case letters and digits joined by -)"
        ))
    }
}

struct Validator<'a> {
    scenario: &'a Scenario,
    roles: BTreeMap<String, Role>,
    conns: BTreeSet<String>,
    saved: BTreeMap<String, Saved>,
}

impl Validator<'_> {
    fn step(&mut self, step: &Step) -> Result<(), String> {
        if let Some(op) = step.op() {
            return self.op_step(&op, true);
        }
        match step {
            Step::Connect(c) => self.connect(c),
            Step::Disconnect(name) => self.conn(&Some(name.clone())),
            Step::Compound(c) => self.compound(c),
            Step::Raw(r) => {
                self.conn(&r.on)?;
                let clean: String = r.args_hex.chars().filter(|c| !c.is_whitespace()).collect();
                if clean.len() % 2 != 0 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err("args_hex is not an even number of hex digits".into());
                }
                Ok(())
            }
            Step::Check(c) => self.check(c),
            Step::MeasureGrace(m) => {
                self.role(&m.of)?;
                if let Some(e) = &m.expect {
                    check_expect(e)?;
                }
                if let Some(name) = &m.save {
                    self.saved.insert(name.clone(), Saved::Other);
                }
                Ok(())
            }
            Step::Wait(w) => {
                self.role(&w.of)?;
                match (w.leases, w.graces) {
                    (Some(n), None) | (None, Some(n)) if n > 0.0 && n <= 10.0 => Ok(()),
                    (Some(_), None) | (None, Some(_)) => {
                        Err("wait: the number of periods must be in (0, 10]".into())
                    }
                    _ => Err("wait: give exactly one of `leases` or `graces`".into()),
                }
            }
            Step::Action(a) => {
                self.role(&a.role)?;
                if let Some(to) = a.action.peer() {
                    self.role(to)?;
                    if a.role == to {
                        return Err("failover: `from` and `to` are the same role".into());
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn connect(&mut self, c: &Connect) -> Result<(), String> {
        let role = self.role(&c.to)?;
        if c.address >= role.addresses {
            return Err(format!(
                "connect: address {} of role {} but the role asks for only {} address(es) (raise `requires.servers.{}.addresses`)",
                c.address, c.to, role.addresses, c.to
            ));
        }
        if let Some(p) = &c.principal {
            self.principal(p)?;
        }
        if !self.conns.insert(c.name.clone()) {
            return Err(format!("connect: connection {} already exists", c.name));
        }
        if let Some(name) = &c.save {
            self.saved.insert(name.clone(), Saved::Other);
        }
        Ok(())
    }

    /// A `path` / `entry`: a relative path of names, or `{referral: ROLE}`
    /// naming a role that is a referral target.
    fn path_spec(&self, what: &str, p: &PathSpec) -> Result<(), String> {
        match p {
            PathSpec::Text(t) => {
                let names = t.split('/').filter(|c| !c.is_empty());
                if t.is_empty() || names.clone().any(|c| c == "." || c == "..") {
                    return Err(format!(
                        "{what}: {t:?} must name entries below the export (no '.' or '..')"
                    ));
                }
                Ok(())
            }
            PathSpec::Referral(r) => {
                let role = self.role(&r.referral)?;
                if role.relation != Some(RoleRelation::ReferralTarget) {
                    return Err(format!(
                        "{what}: {{referral: {0}}} needs role {0} to be `relation: referral-target` of the role whose server has the referral",
                        r.referral
                    ));
                }
                Ok(())
            }
        }
    }

    fn attrs(&self, what: &str, attrs: &[String]) -> Result<(), String> {
        match attrs
            .iter()
            .find(|n| analyzer::nfs4::attr::attr_number(n).is_none())
        {
            Some(n) => Err(format!("{what}: unknown attribute `{n}`")),
            None => Ok(()),
        }
    }

    fn lookup(&self, a: &LookupStep) -> Result<Saved, String> {
        self.session_or_none(&a.session, "lookup")?;
        let path = a
            .path
            .as_ref()
            .ok_or("lookup: name the `path` below the export (or `{referral: ROLE}`)")?;
        self.path_spec("lookup", path)?;
        self.attrs("lookup", &a.attrs)?;
        Ok(Saved::Other)
    }

    fn readdir(&self, a: &ReaddirStep) -> Result<Saved, String> {
        self.session_or_none(&a.session, "readdir")?;
        if let Some(p) = &a.path {
            self.path_spec("readdir", p)?;
        }
        match &a.entry {
            Some(PathSpec::Text(name)) if name.contains('/') => {
                return Err(format!(
                    "readdir: entry {name:?} is one name (the directory is `path`)"
                ))
            }
            Some(e @ PathSpec::Referral(_)) if a.path.is_some() => {
                self.path_spec("readdir", e)?;
                return Err(
                    "readdir: an entry `{referral: ROLE}` is read in the referral point's own directory; remove `path`"
                        .into(),
                );
            }
            Some(e) => self.path_spec("readdir", e)?,
            None => {}
        }
        self.attrs("readdir", &a.attrs)?;
        Ok(Saved::Other)
    }

    fn compound(&mut self, c: &CompoundStep) -> Result<(), String> {
        self.conn(&c.on)?;
        if let Some(s) = &c.session {
            self.saved(s, Saved::Session)?;
        }
        if let Some(p) = &c.principal {
            self.principal(p)?;
        }
        if c.ops.is_empty() {
            return Err("compound: no ops (an empty COMPOUND is sent with `raw`)".into());
        }
        if let Some(e) = &c.expect {
            check_expect(e)?;
        }
        if (c.slot.is_some() || c.seqid.is_some() || c.cachethis) && c.session.is_none() {
            return Err(
                "compound: slot, seqid and cachethis choose the SEQUENCE of `session`; name one"
                    .into(),
            );
        }
        check_slot(&c.slot)?;
        check_seq(&c.seqid)?;
        for op in &c.ops {
            let common = op.common();
            if common.on.is_some() || common.expect.is_some() || common.save.is_some() {
                return Err(format!(
                    "compound: {} inside a compound takes no on/expect/save (put them on the compound)",
                    op.keyword()
                ));
            }
            if common.exact_sequence() && !matches!(op, Op::Sequence(_)) {
                return Err(format!(
                    "compound: {} inside a compound takes no slot/seqid/cachethis (put them on the compound)",
                    op.keyword()
                ));
            }
            self.op_step(op, false)?;
        }
        if let Some(name) = &c.save {
            // A client ID or session made by the compound's last operation
            // is kept like one a step of its own made.
            let kind = match c.ops.last() {
                Some(Op::CreateSession(_)) => Saved::Session,
                Some(Op::ExchangeId(_)) => Saved::ExchangeId,
                _ => Saved::Other,
            };
            self.saved.insert(name.clone(), kind);
        }
        Ok(())
    }

    fn op_step(&mut self, op: &Op, alone: bool) -> Result<(), String> {
        let common = op.common();
        if alone {
            self.conn(&common.on)?;
        }
        if let Some(p) = &common.principal {
            self.principal(p)?;
        }
        if let Some(e) = &common.expect {
            check_expect(e)?;
        }
        if alone && common.exact_sequence() && op_session(op).is_none() {
            return Err(format!(
                "{}: slot, seqid and cachethis choose the SEQUENCE of the step's session; it is sent without one",
                op.keyword()
            ));
        }
        check_slot(&common.slot)?;
        check_seq(&common.seqid)?;
        let kind = self.op_args(op)?;
        if let Some(name) = &common.save {
            self.saved.insert(name.clone(), kind);
        }
        Ok(())
    }

    /// Checks an operation's own fields; returns what saving it holds.
    fn op_args(&self, op: &Op) -> Result<Saved, String> {
        match op {
            Op::ExchangeId(a) => {
                self.minor_at_least(1, "exchange_id")?;
                check_flags::<ExchgId4Flags>(&a.flags, ExchgId4Flags::KNOWN)?;
                match a.state_protect.as_deref() {
                    None | Some("none") | Some("mach_cred") | Some("ssv") => Ok(Saved::ExchangeId),
                    Some(o) => Err(format!("state_protect `{o}`: use none, mach_cred or ssv")),
                }
            }
            Op::CreateSession(a) => {
                self.saved(&a.client, Saved::ExchangeId)?;
                check_flags::<CreateSession4Flags>(&a.flags, CreateSession4Flags::KNOWN)?;
                check_seq(&a.sequence)?;
                Ok(Saved::Session)
            }
            Op::BindConnToSession(a) => {
                self.saved(&a.session, Saved::Session)?;
                if let Some(d) = &a.dir {
                    let name = format!("CDFC4_{d}");
                    if ChannelDirFromClient4::from_name(&name).is_none() {
                        return Err(format!(
                            "dir `{d}`: use FORE, BACK, FORE_OR_BOTH or BACK_OR_BOTH"
                        ));
                    }
                }
                Ok(Saved::Other)
            }
            Op::Sequence(a) => {
                self.saved(&a.session, Saved::Session)?;
                Ok(Saved::Other)
            }
            Op::DestroySession(a) => self.saved(&a.session, Saved::Session).map(|_| Saved::Other),
            Op::DestroyClientid(a) => {
                self.saved(&a.client, Saved::ExchangeId)?;
                self.opt_saved(&a.session, Saved::Session)?;
                Ok(Saved::Other)
            }
            Op::ReclaimComplete(a) => self.saved(&a.session, Saved::Session).map(|_| Saved::Other),
            Op::BackchannelCtl(a) => self.saved(&a.session, Saved::Session).map(|_| Saved::Other),
            Op::Putrootfh(a) => self
                .opt_saved(&a.session, Saved::Session)
                .map(|_| Saved::Other),
            Op::Getattr(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.opt_saved(&a.file, Saved::Open)?;
                for n in &a.attrs {
                    if analyzer::nfs4::attr::attr_number(n).is_none() {
                        return Err(format!("getattr: unknown attribute `{n}`"));
                    }
                }
                Ok(Saved::Other)
            }
            Op::Open(a) => {
                self.session_or_client(&a.session, &a.client, "open")?;
                one_of("claim", &a.claim, &["null", "previous", "fh"])?;
                one_of("access", &a.access, &["read", "write", "both"])?;
                one_of("deny", &a.deny, &["none", "read", "write", "both"])?;
                if a.claim.as_deref() == Some("previous") && a.create {
                    return Err("open: a reclaim (claim: previous) cannot create".into());
                }
                Ok(Saved::Open)
            }
            Op::OpenConfirm(a) => {
                self.minor_is(0, "open_confirm")?;
                self.saved(&a.open, Saved::Open).map(|_| Saved::Other)
            }
            Op::Lock(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.saved(&a.open, Saved::Open)?;
                one_of("kind", &a.kind, &["read", "write"])?;
                Ok(Saved::Lock)
            }
            Op::Locku(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.saved(&a.lock, Saved::Lock).map(|_| Saved::Other)
            }
            Op::Lockt(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.saved(&a.open, Saved::Open)?;
                one_of("kind", &a.kind, &["read", "write"])?;
                Ok(Saved::Other)
            }
            Op::Close(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.saved(&a.open, Saved::Open).map(|_| Saved::Other)
            }
            Op::Read(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.saved(&a.open, Saved::Open).map(|_| Saved::Other)
            }
            Op::Write(a) => {
                self.opt_saved(&a.session, Saved::Session)?;
                self.saved(&a.open, Saved::Open).map(|_| Saved::Other)
            }
            Op::Setclientid(_) => {
                self.minor_is(0, "setclientid")?;
                Ok(Saved::Setclientid)
            }
            Op::SetclientidConfirm(a) => {
                self.minor_is(0, "setclientid_confirm")?;
                self.saved(&a.client, Saved::Setclientid)?;
                self.opt_saved(&a.confirm_from, Saved::Setclientid)?;
                Ok(Saved::Other)
            }
            Op::Renew(a) => {
                self.minor_is(0, "renew")?;
                self.saved(&a.client, Saved::Setclientid)
                    .map(|_| Saved::Other)
            }
            Op::Illegal(_) => Ok(Saved::Other),
            Op::Remove(a) => {
                self.session_or_none(&a.session, "remove")?;
                Ok(Saved::Other)
            }
            Op::Rename(a) => {
                self.session_or_none(&a.session, "rename")?;
                Ok(Saved::Other)
            }
            Op::Lookup(a) => self.lookup(a),
            Op::Readdir(a) => self.readdir(a),
            Op::OverLimit(a) => {
                self.saved(&a.session, Saved::Session)?;
                match (a.limit.as_str(), &a.open) {
                    ("operations", _) => {}
                    ("request" | "response" | "cached", Some(o)) => self.saved(o, Saved::Open)?,
                    ("request" | "response" | "cached", None) => {
                        return Err(format!(
                            "over_limit: limit `{}` needs `open` (the file written or read)",
                            a.limit
                        ))
                    }
                    (other, _) => {
                        return Err(format!(
                        "over_limit: limit `{other}`: use operations, request, response or cached"
                    ))
                    }
                }
                Ok(Saved::Other)
            }
        }
    }

    /// A v4.1 step names its session; a v4.0 step has none.
    fn session_or_none(&self, session: &Option<String>, what: &str) -> Result<(), String> {
        match (session, self.minor()) {
            (Some(s), 1..) => self.saved(s, Saved::Session),
            (None, 0) => Ok(()),
            (Some(_), _) => Err(format!("{what}: NFSv4.0 has no sessions")),
            (None, _) => Err(format!("{what}: name the saved session in `session`")),
        }
    }

    fn minor(&self) -> u32 {
        self.scenario.requires.minor.unwrap_or(1)
    }

    fn minor_at_least(&self, m: u32, what: &str) -> Result<(), String> {
        if self.minor() >= m {
            Ok(())
        } else {
            Err(format!(
                "{what} needs minor version {m} or later (requires.minor)"
            ))
        }
    }

    fn minor_is(&self, m: u32, what: &str) -> Result<(), String> {
        if self.minor() == m {
            Ok(())
        } else {
            Err(format!(
                "{what} exists only in minor version {m} (requires.minor)"
            ))
        }
    }

    fn session_or_client(
        &self,
        session: &Option<String>,
        client: &Option<String>,
        what: &str,
    ) -> Result<(), String> {
        match (session, client, self.minor()) {
            (Some(s), None, 1..) => self.saved(s, Saved::Session),
            (None, Some(c), 0) => self.saved(c, Saved::Setclientid),
            (_, _, 0) => Err(format!("{what}: name the saved setclientid in `client`")),
            _ => Err(format!("{what}: name the saved session in `session`")),
        }
    }

    fn conn(&self, on: &Option<String>) -> Result<(), String> {
        match on {
            Some(c) if !self.conns.contains(c) => Err(format!("no connection named {c}")),
            None if self.conns.is_empty() => Err("no connection opened yet".into()),
            _ => Ok(()),
        }
    }

    fn role(&self, name: &str) -> Result<&Role, String> {
        self.roles.get(name).ok_or_else(|| {
            format!(
                "no server role {name} (declared: {})",
                self.roles.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    fn principal(&self, name: &str) -> Result<(), String> {
        if name == "root" || self.scenario.principals.contains_key(name) {
            Ok(())
        } else {
            Err(format!("no principal named {name}"))
        }
    }

    fn saved(&self, name: &str, want: Saved) -> Result<(), String> {
        match self.saved.get(name) {
            Some(k) if *k == want => Ok(()),
            Some(k) => Err(format!(
                "{name} is {} but {} is needed here",
                k.name(),
                want.name()
            )),
            None => Err(format!("nothing saved as {name} before this step")),
        }
    }

    fn opt_saved(&self, name: &Option<String>, want: Saved) -> Result<(), String> {
        name.as_ref().map_or(Ok(()), |n| self.saved(n, want))
    }

    fn check(&self, c: &Check) -> Result<(), String> {
        if c.equal.len() + c.differ.len() < 2 || (c.equal.len() == 1 || c.differ.len() == 1) {
            return Err("check: `equal` / `differ` need at least two values".into());
        }
        for r in c.equal.iter().chain(&c.differ) {
            self.reference(r)?;
        }
        Ok(())
    }

    fn reference(&self, r: &str) -> Result<(), String> {
        let head = r.split('.').next().unwrap_or(r);
        if self.saved.contains_key(head) {
            Ok(())
        } else {
            Err(format!("`{r}`: nothing saved as {head}"))
        }
    }
}

fn check_expect(e: &Expect) -> Result<(), String> {
    let statuses = match e {
        Expect::Status(s) => Some(s),
        Expect::Full(f) => f.status.as_ref(),
    };
    for name in statuses.map(|s| s.names()).unwrap_or_default() {
        if !matches!(name, "any" | "any_error")
            && NfsStat4::from_name(name).is_none()
            && !is_rpc_status(name)
        {
            return Err(format!("expect: unknown status `{name}`"));
        }
    }
    Ok(())
}

/// RPC accept statuses a `raw` step may expect.
fn is_rpc_status(name: &str) -> bool {
    matches!(
        name,
        "SUCCESS"
            | "PROG_UNAVAIL"
            | "PROG_MISMATCH"
            | "PROC_UNAVAIL"
            | "GARBAGE_ARGS"
            | "SYSTEM_ERR"
    )
}

fn check_flags<T>(names: &[String], known: &[(T, &'static str)]) -> Result<(), String> {
    for n in names {
        if !known.iter().any(|(_, k)| k == n) {
            let all: Vec<&str> = known.iter().map(|(_, k)| *k).collect();
            return Err(format!("unknown flag `{n}` (known: {})", all.join(", ")));
        }
    }
    Ok(())
}

fn check_seq(s: &Option<Scalar>) -> Result<(), String> {
    match s {
        None | Some(Scalar::Int(0..=0xFFFF_FFFF)) => Ok(()),
        Some(Scalar::Str(k)) if matches!(k.as_str(), "next" | "replay" | "skip") => Ok(()),
        Some(other) => Err(format!(
            "sequence {other:?}: a number, or next / replay / skip"
        )),
    }
}

fn check_slot(s: &Option<SlotChoice>) -> Result<(), String> {
    match s {
        Some(SlotChoice::Word(w)) if w != "beyond" => Err(format!(
            "slot `{w}`: a number, or `beyond` (one past the session's highest slot)"
        )),
        _ => Ok(()),
    }
}

/// The session a step is sent in, when it is sent in one.
fn op_session(op: &Op) -> Option<&str> {
    match op {
        Op::Sequence(a) => Some(&a.session),
        Op::ReclaimComplete(a) => Some(&a.session),
        Op::BackchannelCtl(a) => Some(&a.session),
        Op::OverLimit(a) => Some(&a.session),
        Op::DestroySession(a) => a.with_sequence.then_some(a.session.as_str()),
        Op::DestroyClientid(a) => a.session.as_deref(),
        Op::Putrootfh(a) => a.session.as_deref(),
        Op::Getattr(a) => a.session.as_deref(),
        Op::Open(a) => a.session.as_deref(),
        Op::Lock(a) => a.session.as_deref(),
        Op::Locku(a) => a.session.as_deref(),
        Op::Lockt(a) => a.session.as_deref(),
        Op::Close(a) => a.session.as_deref(),
        Op::Read(a) => a.session.as_deref(),
        Op::Write(a) => a.session.as_deref(),
        Op::Remove(a) => a.session.as_deref(),
        Op::Rename(a) => a.session.as_deref(),
        Op::Lookup(a) => a.session.as_deref(),
        Op::Readdir(a) => a.session.as_deref(),
        Op::ExchangeId(_)
        | Op::CreateSession(_)
        | Op::BindConnToSession(_)
        | Op::OpenConfirm(_)
        | Op::Setclientid(_)
        | Op::SetclientidConfirm(_)
        | Op::Renew(_)
        | Op::Illegal(_) => None,
    }
}

fn one_of(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<(), String> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(format!("{field} `{v}`: use one of {}", allowed.join(", ")))
        }
        _ => Ok(()),
    }
}

/// Refuses a field in `expect.fields` that the step's reply does not have
/// (a typo would otherwise fail only when the step runs, as an absent
/// field), with the line and column the file wrote it at.
fn check_fields(step: &Step) -> Result<(), ((u64, u64), String)> {
    if let Step::MeasureGrace(m) = step {
        let Some(Expect::Full(full)) = &m.expect else {
            return Ok(());
        };
        for path in full.fields.keys() {
            if !MEASURE_GRACE_FIELDS.contains(&path.field()) {
                return Err((
                    (path.line, path.column),
                    format!(
                        "expect.fields: `{}` is not a field of measure_grace ({})",
                        path.field(),
                        MEASURE_GRACE_FIELDS.join(", ")
                    ),
                ));
            }
        }
        return Ok(());
    }
    let (expect, op, whose) = match step {
        Step::Compound(c) => (
            c.expect.clone(),
            c.ops.last().cloned(),
            "the compound's last operation",
        ),
        _ => match step.op() {
            Some(op) => (op.common().expect, Some(op), "the step's operation"),
            None => return Ok(()),
        },
    };
    let Some(Expect::Full(full)) = expect else {
        return Ok(());
    };
    let known = reply_fields(op.as_ref());
    for path in full.fields.keys() {
        if known.contains(&path.field()) {
            continue;
        }
        let op_name = op.as_ref().map_or("none", |o| o.keyword());
        let near = known
            .iter()
            .filter(|k| edits(k, path.field()) <= 2)
            .map(|k| format!("; did you mean `{k}`?"))
            .next()
            .unwrap_or_default();
        return Err((
            (path.line, path.column),
            format!(
                "expect.fields: `{}` is not a field of the reply to {whose} ({op_name}: {}){near}",
                path.field(),
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The edit distance between two names (insertions, deletions, changes).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
