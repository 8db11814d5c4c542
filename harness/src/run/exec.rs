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
use crate::scenario::*;
use analyzer::nfs4::{Compound4Res, NfsStat4, NFS4_PROGRAM};
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
            result?;
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
            Step::Check(c) => expect::check(n, c, &self.saved),
            Step::Wait(w) => self.wait(n, w),
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
        let principal = self.principal(n, c.principal.as_deref())?;
        self.conns.insert(
            c.name.clone(),
            Conn {
                name: c.name.clone(),
                conn,
                role: c.to.clone(),
                principal,
            },
        );
        self.last_conn = Some(c.name.clone());
        Ok(())
    }

    fn op_step(&mut self, n: usize, op: &Op) -> Result<(), Failure> {
        let common = op.common();
        let conn = self.conn(n, &common.on)?;
        let principal = match &common.principal {
            Some(p) => self.principal(n, Some(p))?,
            None => conn.principal.clone(),
        };
        let what = op.keyword();
        let plan = plan::plan(self, n, op, &conn, &principal)?;
        let res = self.send(n, what, &conn, &principal, &plan)?;
        let (status, json) = main_result(&res, plan.main);
        expect::expect(n, what, common.expect.as_ref(), status, &json, &self.saved)?;
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
        let principal = match &c.principal {
            Some(p) => self.principal(n, Some(p))?,
            None => conn.principal.clone(),
        };
        let mut all = Plan {
            session: None,
            seq: SeqMode::Auto,
            ops: Vec::new(),
            main: 0,
            minor: self.minor,
        };
        if let Some(s) = &c.session {
            all.session = Some(self.session(n, s)?);
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
        let res = self.send(n, "compound", &conn, &principal, &all)?;
        let status = res.status;
        let json = match res.resarray.last() {
            Some(r) => result_json(r),
            None => Value::Object(Default::default()),
        };
        expect::expect(n, "compound", c.expect.as_ref(), status, &json, &self.saved)?;
        if let Some(name) = &c.save {
            self.saved.insert(name.clone(), Saved::Reply(json));
        }
        Ok(())
    }

    /// Sends a plan: alone, or after a SEQUENCE of its session.
    pub(crate) fn send(
        &mut self,
        n: usize,
        what: &str,
        conn: &Conn,
        principal: &Principal,
        plan: &Plan,
    ) -> Result<Compound4Res<'static>, Failure> {
        let result = match (&plan.session, plan.seq) {
            (None, _) => conn
                .conn
                .compound(principal, plan.minor, what, plan.ops.clone()),
            (Some(s), SeqMode::Auto) => s.compound(&conn.conn, plan.ops.clone()),
            (
                Some(s),
                SeqMode::Exact {
                    slot,
                    seqid,
                    cachethis,
                },
            ) => s.compound_with(&conn.conn, slot, seqid, cachethis, plan.ops.clone()),
        };
        result.map_err(|e| Failure::at(n, what, format!("no usable reply: {e}")))
    }

    fn raw(&mut self, n: usize, r: &RawStep) -> Result<(), Failure> {
        let conn = self.conn(n, &r.on)?;
        let clean: String = r.args_hex.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes =
            hex_decode(&clean).ok_or_else(|| Failure::at(n, "raw", "args_hex is not hex"))?;
        let outcome = conn.conn.call(NFS4_PROGRAM, 4, 1, &conn.principal, &bytes);
        expect::raw(n, r.expect.as_ref(), outcome)
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
            .map_err(|e| Failure::at(n, &what, e.to_string()))
    }
}

/// The status and fields of the operation at `main` (the COMPOUND status
/// and no fields when the reply stopped before it).
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
