//! Running one scenario's steps against live servers: connections, the
//! operations planned and sent, replies judged and saved, waits and server
//! actions.

use super::expect::{self, result_json};
use super::failure::Failure;
use super::plan::{self, Plan, SeqMode};
use super::save;
use super::trial::{Conn, Saved, StepLog, TrialRun};
use crate::action::Action;
use crate::client::ops;
use crate::client::{ConnectOptions, Connection, Principal, Session};
use crate::scenario::strength::PRECONDITION;
use crate::scenario::*;
use analyzer::nfs4::{Compound4Res, NfsArgOp, NfsRes, NfsResOp, NfsStat4, NFS4_PROGRAM};
use serde_json::Value;
use std::time::{Duration, Instant};

impl<'a> TrialRun<'a> {
    /// Runs every step; the first failure ends the trial.
    pub fn run(&mut self) -> Result<(), Failure> {
        for (i, step) in self.sc.steps.iter().enumerate() {
            let n = i + 1;
            let start = std::time::SystemTime::now();
            let t = Instant::now();
            let result = self.step(n, step);
            self.log.push(StepLog {
                step: n,
                what: describe(step),
                start,
                took: t.elapsed(),
            });
            match result {
                // An expectation that only warned left out what this step
                // needs (its reply was not the one expected): the rest of
                // the scenario cannot run, and that is not a new failure.
                Err(f) if f.unmet && !self.warnings.is_empty() => {
                    self.notes.push(format!(
                        "steps {n} to {} not run: {} (an earlier expectation only warned)",
                        self.sc.steps.len(),
                        f.message
                    ));
                    return Ok(());
                }
                other => other?,
            }
        }
        Ok(())
    }

    fn step(&mut self, n: usize, step: &Step) -> Result<(), Failure> {
        if let Some(op) = step.op() {
            return self.op_step(n, &op);
        }
        match step {
            Step::Connect(c) => self.connect(n, c),
            Step::Disconnect(name) => {
                if let Some(c) = self.conns.remove(name) {
                    c.conn.shutdown();
                }
                Ok(())
            }
            Step::Compound(c) => self.compound(n, c),
            Step::Raw(r) => self.raw(n, r),
            Step::Check(c) => {
                let judged = expect::check(n, c, &self.saved);
                self.weigh(Some(c.kw.as_ref()), judged)
            }
            Step::Wait(w) => self.wait(n, w),
            Step::MeasureGrace(m) => self.measure_grace(n, m),
            Step::Action(a) => {
                let action = match a.action.peer() {
                    Some(to) => Action::Failover {
                        to: self.server_name(n, to)?,
                    },
                    None => a.action.clone(),
                };
                self.action(n, &a.role, action)
            }
            _ => Err(Failure::at(n, "step", "this step kind is not runnable")),
        }
    }

    fn connect(&mut self, n: usize, c: &Connect) -> Result<(), Failure> {
        let what = format!("connect {} to {}#{}", c.name, c.to, c.address);
        let server = self
            .roles
            .get(&c.to)
            .and_then(|&i| self.env.servers.get(i))
            .ok_or_else(|| Failure::at(n, &what, format!("role {} has no server", c.to)))?;
        let to = *server
            .addresses
            .get(c.address)
            .ok_or_else(|| Failure::at(n, &what, "the server has no such address"))?;
        let from = self
            .env
            .source(self.index, c.from)
            .map_err(|e| Failure::at(n, &what, e))?;
        let opts = ConnectOptions {
            from,
            netns: self.env.netns.clone(),
            reply_timeout: self.env.reply_timeout,
            ..ConnectOptions::default()
        };
        let conn =
            Connection::connect(to, &opts).map_err(|e| Failure::at(n, &what, e.to_string()))?;
        let principal = self.principal(n, c.principal.as_deref(), &conn, &c.to)?;
        if let Some(name) = &c.save {
            let export: Vec<&str> = ops::components(&server.export).collect();
            let json = serde_json::json!({
                "server": server.name,
                "address": to.ip().to_string(),
                "port": to.port(),
                "export": export,
            });
            self.saved.insert(name.clone(), Saved::Reply(json));
        }
        self.conns.insert(
            c.name.clone(),
            Conn {
                name: c.name.clone(),
                conn,
                role: c.to.clone(),
                principal,
                principal_name: c.principal.clone(),
            },
        );
        self.last_conn = Some(c.name.clone());
        Ok(())
    }

    fn op_step(&mut self, n: usize, op: &Op) -> Result<(), Failure> {
        let common = op.common();
        let conn = self.conn(n, &common.on)?;
        let name = common.principal.as_ref().or(conn.principal_name.as_ref());
        let principal = self.principal(n, name.map(String::as_str), &conn.conn, &conn.role)?;
        let what = op.keyword();
        let plan = plan::plan(self, n, op, &conn, &principal)?;
        let acting = common.principal.is_some().then_some(&principal);
        let mut res = self.send(n, what, &conn, (&principal, acting), &plan)?;
        let (mut status, mut json) = main_result(&res, plan.main);
        gss_acceptor(&mut json, &principal);
        if status == NfsStat4::NFS4ERR_DELAY
            && retries_delay(&plan, op)
            && !names_status(common.expect.as_ref(), "NFS4ERR_DELAY")
        {
            let started = Instant::now();
            let mut pause = DELAY_FIRST_PAUSE;
            let mut times = 1;
            while status == NfsStat4::NFS4ERR_DELAY && started.elapsed() < DELAY_RETRY_LIMIT {
                std::thread::sleep(pause);
                pause = (pause * 2).min(DELAY_MAX_PAUSE);
                let again = plan::plan(self, n, op, &conn, &principal)?;
                res = self.send(n, what, &conn, (&principal, acting), &again)?;
                (status, json) = main_result(&res, again.main);
                gss_acceptor(&mut json, &principal);
                times += 1;
            }
            self.notes.push(format!(
                "step {n} ({what}): NFS4ERR_DELAY {} time(s), retried as RFC 8881 §15.1.1.3 asks; \
                 after {:.1} s the server answered {}",
                times - usize::from(status != NfsStat4::NFS4ERR_DELAY),
                started.elapsed().as_secs_f64(),
                expect::status_name(status)
            ));
        }
        if let (Some(name), NfsStat4::NFS4_OK) = (&plan.entry, status) {
            json = expect::readdir_entry(&json, name).map_err(|e| Failure::at(n, what, e))?;
            gss_acceptor(&mut json, &principal);
        }
        let judged = match (op, shortened_read(&plan, &res)) {
            (Op::OverLimit(_), Some((got, asked))) => {
                self.notes.push(format!(
                    "step {n} ({what}): not judged: the server returned a short READ ({got} of \
                     {asked} bytes, eof false) whose reply fits the granted limit, as RFC 8881 \
                     §18.22.4 allows ('a server may return less data than requested'); the \
                     limit was never exceeded"
                ));
                Ok(())
            }
            _ => expect::expect(n, what, common.expect.as_ref(), status, &json, &self.saved),
        };
        self.weigh(common.expect.as_ref().map(Expect::kw), judged)?;
        let reply = save::Reply {
            res: &res,
            status,
            json,
        };
        save::after(
            self,
            n,
            op,
            &conn,
            &principal,
            reply,
            common.save.as_deref(),
        )
    }

    fn compound(&mut self, n: usize, c: &CompoundStep) -> Result<(), Failure> {
        let conn = self.conn(n, &c.on)?;
        let name = c.principal.as_ref().or(conn.principal_name.as_ref());
        let principal = self.principal(n, name.map(String::as_str), &conn.conn, &conn.role)?;
        let mut all = Plan {
            session: None,
            seq: SeqMode::Auto,
            ops: Vec::new(),
            main: 0,
            minor: self.minor,
            before: Vec::new(),
            entry: None,
        };
        if let Some(s) = &c.session {
            let session = self.session(n, s)?;
            if c.slot.is_some() || c.seqid.is_some() || c.cachethis {
                all.seq = plan::exact(&session, &c.slot, &c.seqid, c.cachethis, n, "compound")?;
            }
            all.session = Some(session);
        }
        for op in &c.ops {
            if let Op::Sequence(a) = op {
                // A SEQUENCE placed by the scenario (e.g. not first).
                all.ops.push(plan::sequence_op(self, n, a)?);
                continue;
            }
            let p = plan::plan(self, n, op, &conn, &principal)?;
            all.ops.extend(p.ops);
        }
        all.main = all.ops.len().saturating_sub(1);
        let acting = c.principal.is_some().then_some(&principal);
        let res = self.send(n, "compound", &conn, (&principal, acting), &all)?;
        let status = res.status;
        let json = match res.resarray.last() {
            Some(r) => result_json(r),
            None => Value::Object(Default::default()),
        };
        let judged = expect::expect(n, "compound", c.expect.as_ref(), status, &json, &self.saved);
        self.weigh(c.expect.as_ref().map(Expect::kw), judged)?;
        match c.ops.last() {
            // A client ID or session made inside a compound is kept like
            // one made by a step of its own (sequence numbers, cleanup).
            Some(op @ (Op::ExchangeId(_) | Op::CreateSession(_))) => {
                let status = res.resarray.last().map_or(status, |r| r.status());
                let reply = save::Reply {
                    res: &res,
                    status,
                    json,
                };
                save::after(self, n, op, &conn, &principal, reply, c.save.as_deref())?;
            }
            _ => {
                if let Some(name) = &c.save {
                    self.saved.insert(name.clone(), Saved::Reply(json));
                }
            }
        }
        Ok(())
    }

    /// An expectation's outcome by its strength: a failure ends the trial;
    /// a warning or information is kept and the trial goes on. `stated` is
    /// the keyword of an expectation the step states (`None`: the step has
    /// no `expect`, a precondition of the scenario that must hold).
    fn weigh(
        &mut self,
        stated: Option<Option<&Kw>>,
        judged: Result<(), Failure>,
    ) -> Result<(), Failure> {
        let Err(mut f) = judged else {
            return Ok(());
        };
        let Some(own) = stated else {
            return Err(f);
        };
        if own.is_some_and(|k| k.word == PRECONDITION) {
            // What the rest of the scenario needs, which the server may
            // lawfully not give, or which another scenario judges: the
            // trial is not applicable here.
            let why = format!("a precondition does not hold: {f}");
            return Err(Failure {
                not_applicable: Some(why),
                ..f
            });
        }
        let resolved = self.sc.strength_of(own).unwrap_or_else(|why| Resolved {
            strength: Strength::Failure,
            source: why,
        });
        f.strength = Some(format!("{} ({})", resolved.strength, resolved.source));
        match resolved.strength {
            Strength::Failure => Err(f),
            Strength::Warning => {
                self.warnings.push(f);
                Ok(())
            }
            Strength::Information => {
                self.notes.push(f.to_string());
                Ok(())
            }
        }
    }

    /// Sends a plan: alone, or after a SEQUENCE of its session. `principal`
    /// is (the step's principal, the one it names explicitly): a COMPOUND
    /// without a session goes as the first; one inside a session as the
    /// session's creator unless the step names another (RFC 8881 §2.10.8:
    /// other principals may act inside a session).
    pub(crate) fn send(
        &mut self,
        n: usize,
        what: &str,
        conn: &Conn,
        principal: (&Principal, Option<&Principal>),
        plan: &Plan,
    ) -> Result<Compound4Res<'static>, Failure> {
        let (principal, acting) = principal;
        if let (Some(s), false) = (&plan.session, plan.before.is_empty()) {
            let res = s
                .compound(&conn.conn, plan.before.clone())
                .map_err(|e| Failure::at(n, what, format!("no usable reply: {e}")))?;
            if res.status != NfsStat4::NFS4_OK {
                return Err(Failure::at(
                    n,
                    what,
                    format!(
                        "the COMPOUND preparing the step failed: {}",
                        expect::status_name(res.status)
                    ),
                ));
            }
        }
        let result = match (&plan.session, plan.seq) {
            (None, _) => conn
                .conn
                .compound(principal, plan.minor, what, plan.ops.clone()),
            (Some(s), SeqMode::Auto | SeqMode::AutoCached) => {
                let cached = matches!(plan.seq, SeqMode::AutoCached);
                match acting {
                    Some(p) => s.compound_as(&conn.conn, p, cached, plan.ops.clone()),
                    None => s.compound_caching(&conn.conn, cached, plan.ops.clone()),
                }
            }
            (
                Some(s),
                SeqMode::Exact {
                    slot,
                    seqid,
                    cachethis,
                },
            ) => {
                let next = s.next_seqid(slot);
                let r = match acting {
                    Some(p) => s.compound_with_as(
                        &conn.conn,
                        p,
                        (slot, seqid, cachethis),
                        plan.ops.clone(),
                    ),
                    None => s.compound_with(&conn.conn, slot, seqid, cachethis, plan.ops.clone()),
                };
                // A new request the server accepted moves the slot on, as
                // the client's own slot table would have.
                let accepted = matches!(
                    r.as_ref().map(|res| res.resarray.first()),
                    Ok(Some(NfsResOp::Sequence(NfsRes::Ok(_))))
                );
                if accepted && next == Some(seqid) {
                    s.set_last_seqid(slot, seqid);
                }
                r
            }
        };
        result.map_err(|e| Failure::at(n, what, format!("no usable reply: {e}")))
    }

    fn raw(&mut self, n: usize, r: &RawStep) -> Result<(), Failure> {
        let conn = self.conn(n, &r.on)?;
        let clean: String = r.args_hex.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes =
            hex_decode(&clean).ok_or_else(|| Failure::at(n, "raw", "args_hex is not hex"))?;
        let outcome = conn.conn.call(NFS4_PROGRAM, 4, 1, &conn.principal, &bytes);
        let judged = expect::raw(n, r.expect.as_ref(), outcome);
        self.weigh(r.expect.as_ref().map(Expect::kw), judged)
    }

    fn wait(&mut self, n: usize, w: &Wait) -> Result<(), Failure> {
        let period = match (w.leases, w.graces) {
            (Some(k), _) => self.lease(n, &w.of)?.mul_f64(k),
            (None, Some(k)) => {
                let i = self.roles.get(&w.of).copied().unwrap_or(0);
                let grace = self.env.servers.get(i).and_then(|s| s.grace);
                match grace {
                    Some(g) => g.mul_f64(k),
                    // The grace period lasts at least one lease (RFC 8881 §8.4.2).
                    None => self.lease(n, &w.of)?.mul_f64(k),
                }
            }
            (None, None) => Duration::ZERO,
        };
        std::thread::sleep(period);
        Ok(())
    }

    /// The lease period of a role's server, read from the server itself.
    fn lease(&mut self, n: usize, role: &str) -> Result<Duration, Failure> {
        if let Some(l) = self.leases.get(role) {
            return Ok(*l);
        }
        let conn = self
            .conns
            .values()
            .find(|c| c.role == role)
            .cloned()
            .ok_or_else(|| {
                Failure::at(
                    n,
                    "wait",
                    format!("no connection to role {role} to read its lease from"),
                )
            })?;
        let lease = self.read_lease(n, &conn)?;
        self.leases.insert(role.to_string(), lease);
        Ok(lease)
    }

    /// Reads a server's lease period: GETATTR lease_time, in a session when
    /// the scenario speaks v4.1 (a throw-away client ID), else v4.0.
    fn read_lease(&mut self, n: usize, conn: &Conn) -> Result<Duration, Failure> {
        let fail = |e: String| Failure::at(n, "wait", format!("cannot read the lease time: {e}"));
        let list = vec![ops::putrootfh(), ops::getattr_lease_time()];
        if self.minor == 0 {
            let res = conn
                .conn
                .compound(&conn.principal, 0, "lease", list)
                .map_err(|e| fail(e.to_string()))?;
            return ops::lease_time(&res)
                .map(|s| Duration::from_secs(s.into()))
                .ok_or_else(|| fail("no lease_time in the reply".into()));
        }
        // Any session of the trial will do; make one if there is none.
        let existing = self.saved.values().find_map(|v| match v {
            Saved::Session { session, .. } => Some(session.clone()),
            _ => None,
        });
        let s = match existing {
            Some(s) => s,
            None => {
                let owner = self.owner("lease-probe", None);
                Session::fresh(&conn.conn, &conn.principal, &owner).map_err(fail)?
            }
        };
        let res = s
            .compound(&conn.conn, list)
            .map_err(|e| fail(e.to_string()))?;
        ops::lease_time(&res)
            .map(|s| Duration::from_secs(s.into()))
            .ok_or_else(|| fail("no lease_time in the reply".into()))
    }

    fn action(&mut self, n: usize, role: &str, action: Action) -> Result<(), Failure> {
        let server = self.server_name(n, role)?;
        let what = format!("{} {server}", action.key());
        self.env
            .control
            .act(&server, &action)
            .map_err(|e| Failure::at(n, &what, e.to_string()))?;
        self.acted.insert(role.to_string(), Instant::now());
        // A restarted or replaced server knows no context of before.
        self.gss.clear();
        Ok(())
    }

    /// `measure_grace`: a probe client of the trial's own (its own client
    /// owner, its global RECLAIM_COMPLETE sent) opens a new file, without
    /// reclaim, until the server stops refusing with NFS4ERR_GRACE; the
    /// time from the end of the role's last server action is the grace
    /// period, reported as information and judged by `expect`.
    fn measure_grace(&mut self, n: usize, m: &MeasureGrace) -> Result<(), Failure> {
        let what = "measure_grace";
        let since = *self.acted.get(&m.of).ok_or_else(|| {
            Failure::at(
                n,
                what,
                format!(
                    "no restart, crash or failover of role {} before this step",
                    m.of
                ),
            )
        })?;
        let server = self
            .roles
            .get(&m.of)
            .and_then(|&i| self.env.servers.get(i))
            .ok_or_else(|| Failure::at(n, what, format!("role {} has no server", m.of)))?;
        let (addr, grace, export) = match server.addresses.first() {
            Some(a) => (*a, server.grace, server.export.clone()),
            None => return Err(Failure::at(n, what, "the server has no address")),
        };
        let opts = ConnectOptions {
            from: self
                .env
                .source(self.index, None)
                .map_err(|e| Failure::at(n, what, e))?,
            netns: self.env.netns.clone(),
            reply_timeout: self.env.reply_timeout,
            ..ConnectOptions::default()
        };
        let fail = |e: String| Failure::at(n, what, e);
        let conn = Connection::connect(addr, &opts).map_err(|e| fail(e.to_string()))?;
        let principal = self.plain_principal(n, None)?;
        let owner = self.owner("grace-probe", None);
        let session = Session::fresh(&conn, &principal, &owner).map_err(fail)?;
        let _ = session.reclaim_complete(&conn, false);
        let lease = session
            .lease_time(&conn)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail("no lease_time in the reply".into()))?;
        // Bounded: a server that never leaves grace fails the step.
        let limit = grace
            .map_or(lease * 10, |g| g * 3)
            .max(Duration::from_secs(30));
        let name = format!(
            "tc-{}-grace-probe-{}-{}",
            self.sc.id.to_ascii_lowercase(),
            std::process::id(),
            self.index
        );
        let clientid = session.clientid();
        let (status, grace_took) = loop {
            let mut list = ops::root_path(&export);
            list.push(ops::open_create(
                0,
                ops::state_owner(clientid, b"probe"),
                &name,
            ));
            list.push(ops::getfh());
            let res = session
                .compound(&conn, list)
                .map_err(|e| fail(format!("no usable reply: {e}")))?;
            let took = since.elapsed();
            let status =
                ops::status_of(&res, analyzer::nfs4::NfsOpnum4::OP_OPEN).unwrap_or(res.status);
            if status == NfsStat4::NFS4ERR_GRACE && took < limit {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            if let (Some(o), Some(fh)) = (ops::opened(&res), ops::fh(&res)) {
                let close = vec![ops::putfh(&fh), ops::close(0, o.stateid.clone())];
                let _ = session.compound(&conn, close);
                let mut remove = ops::root_path(&export);
                remove.push(ops::remove(&name));
                let _ = session.compound(&conn, remove);
            }
            break (status, took);
        };
        let _ = session.destroy_session(&conn);
        let _ = crate::client::session::destroy_clientid(&conn, &principal, clientid);
        conn.shutdown();
        let (g, l) = (grace_took.as_secs_f64(), lease.as_secs_f64());
        let json = serde_json::json!({
            "op": "MEASURE_GRACE",
            "status": expect::status_name(status),
            "grace_seconds": (g * 10.0).round() / 10.0,
            "lease_seconds": l,
            "leases": (g / l * 100.0).round() / 100.0,
        });
        self.notes.push(format!(
            "step {n} (measure_grace): the grace period of {} lasted {g:.1} s from the server's return ({:.2} leases of {l} s); the first non-reclaim OPEN not refused with NFS4ERR_GRACE got {}",
            server.name,
            g / l,
            expect::status_name(status)
        ));
        let judged = expect::expect(n, what, m.expect.as_ref(), status, &json, &self.saved);
        self.weigh(m.expect.as_ref().map(Expect::kw), judged)?;
        if let Some(name) = &m.save {
            self.saved.insert(name.clone(), Saved::Reply(json));
        }
        Ok(())
    }
}

/// The status and fields of the operation at `main` (the COMPOUND status
/// and no fields when the reply stopped before it).
/// A READ the server answered with less data than asked and eof false
/// (bytes returned, bytes asked): the server kept its reply short.
fn shortened_read(plan: &Plan, res: &Compound4Res<'static>) -> Option<(usize, u32)> {
    let Some(NfsArgOp::Read(args)) = plan.ops.last() else {
        return None;
    };
    match res.resarray.last() {
        Some(NfsResOp::Read(NfsRes::Ok(r))) if !r.eof && r.data.0.len() < args.count as usize => {
            Some((r.data.0.len(), args.count))
        }
        _ => None,
    }
}

/// The first pause before a step answered NFS4ERR_DELAY is sent again.
const DELAY_FIRST_PAUSE: Duration = Duration::from_millis(200);
/// The longest pause between two tries of a step answered NFS4ERR_DELAY.
const DELAY_MAX_PAUSE: Duration = Duration::from_secs(1);
/// How long a step answered NFS4ERR_DELAY is tried again before its last
/// answer is judged.
const DELAY_RETRY_LIMIT: Duration = Duration::from_secs(15);

/// Whether a step answered NFS4ERR_DELAY can simply be sent again: in a
/// session whose slot table picks a new sequence id, or an operation
/// outside a session that carries no sequence state (EXCHANGE_ID,
/// CREATE_SESSION, BIND_CONN_TO_SESSION, DESTROY_CLIENTID, SETCLIENTID,
/// SETCLIENTID_CONFIRM, RENEW, PUTROOTFH, GETATTR, LOOKUP, READDIR). A
/// scenario's exact slot and sequence id, a COMPOUND prepared by another,
/// and NFSv4.0's seqid-bumping operations (NFS4ERR_DELAY moves the owner's
/// seqid, RFC 7530 §9.1.7) are left as the scenario wrote them.
fn retries_delay(plan: &Plan, op: &Op) -> bool {
    if !plan.before.is_empty() {
        return false;
    }
    match &plan.session {
        Some(_) => matches!(plan.seq, SeqMode::Auto | SeqMode::AutoCached),
        None => matches!(
            op,
            Op::ExchangeId(_)
                | Op::CreateSession(_)
                | Op::BindConnToSession(_)
                | Op::DestroyClientid(_)
                | Op::Setclientid(_)
                | Op::SetclientidConfirm(_)
                | Op::Renew(_)
                | Op::Putrootfh(_)
                | Op::Getattr(_)
                | Op::Lookup(_)
                | Op::Readdir(_)
        ),
    }
}

/// Whether an expectation lists this status by name (a scenario that
/// expects NFS4ERR_DELAY wants to see it, not a retry).
fn names_status(expect: Option<&Expect>, name: &str) -> bool {
    let set = match expect {
        Some(Expect::Status(s)) => Some(s),
        Some(Expect::Full(f)) => f.status.as_ref(),
        None => None,
    };
    set.is_some_and(|s| s.names().contains(&name))
}

fn main_result(res: &Compound4Res<'static>, main: usize) -> (NfsStat4, Value) {
    match res.resarray.get(main) {
        Some(r) => (r.status(), result_json(r)),
        None => (res.status, Value::Object(Default::default())),
    }
}

/// Bytes from hex digits (`None` if not hex or odd).
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// One line describing a step (for logs).
pub fn describe(step: &Step) -> String {
    if let Some(op) = step.op() {
        let c = op.common();
        return match c.on {
            Some(on) => format!("{} on {on}", op.keyword()),
            None => op.keyword().to_string(),
        };
    }
    match step {
        Step::Connect(c) => format!("connect {} to {}#{}", c.name, c.to, c.address),
        Step::Disconnect(c) => format!("disconnect {c}"),
        Step::Compound(c) => format!(
            "compound [{}]",
            c.ops
                .iter()
                .map(|o| o.keyword())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Step::Raw(_) => "raw call".into(),
        Step::Check(_) => "check".into(),
        Step::MeasureGrace(m) => format!("measure the grace period of {}", m.of),
        Step::Wait(w) => match (w.leases, w.graces) {
            (Some(k), _) => format!("wait {k} lease(s)"),
            (_, Some(k)) => format!("wait {k} grace period(s)"),
            _ => "wait".into(),
        },
        Step::Action(a) => match &a.action {
            Action::CutLink => format!("cut link of {}", a.role),
            Action::RestoreLink => format!("restore link of {}", a.role),
            Action::Failover { to } => format!("failover {} -> {to}", a.role),
            other => format!("{other} {}", a.role),
        },
        _ => "step".into(),
    }
}

/// Server actions a scenario uses, as (role, action) pairs.
pub fn actions_of(sc: &Scenario) -> Vec<(String, Action)> {
    sc.steps
        .iter()
        .filter_map(|s| match s {
            Step::Action(a) => Some((a.role.clone(), a.action.clone())),
            _ => None,
        })
        .collect()
}

/// Adds `gss_acceptor` to a step's reply fields: the server principal the
/// call's RPCSEC_GSS context authenticated (null under AUTH_SYS/NONE).
fn gss_acceptor(json: &mut serde_json::Value, principal: &Principal) {
    if let serde_json::Value::Object(m) = json {
        let acceptor = principal
            .gss_context()
            .and_then(|c| c.acceptor())
            .map(|a| serde_json::Value::String(a.to_string()))
            .unwrap_or(serde_json::Value::Null);
        m.insert("gss_acceptor".into(), acceptor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;
    use std::path::Path;

    /// The operations of a one-scenario suite with these steps (NFSv4.0
    /// when `minor` is 0).
    fn ops_in(minor: u32, steps: &str) -> Vec<Op> {
        let text = format!(
            "area: t\nscenarios:\n  - id: T-01\n    title: t\n    rfc: [\"RFC 8881 §15.1.1.3\"]\n    kw: MUST\n    requires: {{minor: {minor}}}\n    steps:\n{steps}"
        );
        let suite = load_str(Path::new("t.yaml"), &text).expect("loads");
        suite.file.scenarios[0]
            .steps
            .iter()
            .filter_map(Step::op)
            .collect()
    }

    /// The operations of an NFSv4.1 scenario with these steps.
    fn ops(steps: &str) -> Vec<Op> {
        ops_in(1, steps)
    }

    fn plan(seq: SeqMode, before: bool) -> Plan {
        Plan {
            session: None,
            seq,
            ops: Vec::new(),
            main: 0,
            minor: 0,
            before: if before {
                vec![ops::putrootfh()]
            } else {
                vec![]
            },
            entry: None,
        }
    }

    #[test]
    fn delay_is_retried_only_where_the_same_request_can_be_sent_again() {
        let mut list = ops("      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1, save: x1}
      - create_session: {client: x1, save: s1}
");
        list.extend(ops_in(
            0,
            "      - connect: {as: c1, to: a}
      - setclientid: {owner: o2, save: sc1}
      - setclientid_confirm: {client: sc1}
      - open: {client: sc1, file: f1, create: true, save: f1}
      - close: {open: f1}
",
        ));
        let outside = plan(SeqMode::Auto, false);
        let kinds: Vec<(&str, bool)> = list
            .iter()
            .map(|op| (op.keyword(), retries_delay(&outside, op)))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("exchange_id", true),
                ("create_session", true),
                ("setclientid", true),
                ("setclientid_confirm", true),
                // NFSv4.0 OPEN and CLOSE move the owner's seqid on
                // NFS4ERR_DELAY: sending them again as planned is another
                // request.
                ("open", false),
                ("close", false),
            ]
        );
        // A COMPOUND prepared by another is never sent again alone.
        assert!(!retries_delay(&plan(SeqMode::Auto, true), &list[0]));
    }

    #[test]
    fn a_lookup_is_judged_on_its_last_operation_or_the_compound_status() {
        use analyzer::nfs4::{Getfh4Res, NfsResOp};
        // PUTROOTFH, LOOKUP export, LOOKUP ref-c, GETFH (refused), and no
        // GETATTR: the reply stopped at the GETFH (RFC 7530 §8.7.1).
        let res = Compound4Res {
            status: NfsStat4::NFS4ERR_MOVED,
            tag: Default::default(),
            resarray: vec![
                NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
                NfsResOp::Lookup(NfsStat4::NFS4_OK),
                NfsResOp::Lookup(NfsStat4::NFS4_OK),
                NfsResOp::Getfh(Getfh4Res::Fail(NfsStat4::NFS4ERR_MOVED)),
            ],
        };
        let ops = plan::lookup_ops("/export", "ref-c", true, &[8, 24]);
        let main = ops.len() - 1;
        let (status, json) = main_result(&res, main);
        assert_eq!(status, NfsStat4::NFS4ERR_MOVED);
        assert_eq!(json, Value::Object(Default::default()), "no GETATTR result");
        let (status, json) = main_result(&res, main - 1);
        assert_eq!(
            (status, json["op"].as_str()),
            (NfsStat4::NFS4ERR_MOVED, Some("GETFH"))
        );
        let (status, json) = main_result(&res, 2);
        assert_eq!(
            (status, json["op"].as_str()),
            (NfsStat4::NFS4_OK, Some("LOOKUP"))
        );
    }

    #[test]
    fn an_expectation_naming_delay_wants_to_see_it() {
        let list = ops("      - connect: {as: c1, to: a}
      - exchange_id: {owner: o1, save: x1, expect: [NFS4_OK, NFS4ERR_DELAY]}
      - exchange_id: {owner: o1, save: x2, expect: NFS4_OK}
      - exchange_id: {owner: o1, save: x3}
");
        let named: Vec<bool> = list
            .iter()
            .map(|op| names_status(op.common().expect.as_ref(), "NFS4ERR_DELAY"))
            .collect();
        assert_eq!(named, vec![true, false, false]);
    }
}
