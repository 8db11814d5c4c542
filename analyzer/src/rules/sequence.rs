//! SEQUENCE (RFC 8881 §2.10.6, §18.46): slot sequence ids, and the status
//! flags that must stay set until the client has acted on them.

use super::{Check, Judge, Violation};
use crate::model::event::Event;
use crate::nfs4::{Seq4Status, Sequence4ResOk, SessionId4};
use std::collections::HashMap;

rules! {
    SEQ_FIRST_SEQID: "seq.first-seqid", "RFC 8881 §18.36.3", [61], Violation, Server, [SessionCreated],
        "the first SEQUENCE on each slot of a new session has sequence id 1";
    SEQ_SLOT_ORDER: "seq.slot-order", "RFC 8881 §18.46.3, §2.10.6.1", [75], Violation, Server, [NoLoss],
        "a slot accepts only its last sequence id (a retry) or the next one";
    SEQ_RECLAIM_NEEDED: "seq.reclaim-needed-flag", "RFC 8881 §18.46.3", [79], Warning, Server, [],
        "RESTART_RECLAIM_NEEDED is on every SEQUENCE reply until the client's global RECLAIM_COMPLETE, and only until then";
    SEQ_REVOKED_FLAGS_STAY: "seq.revoked-flags-stay", "RFC 8881 §18.46.3", [80], Warning, Server, [NoLoss],
        "EXPIRED_ALL/SOME, ADMIN and RECALLABLE _STATE_REVOKED stay set until FREE_STATEID or a new client ID";
}

/// The state-revoked flags: EXPIRED_ALL/SOME, ADMIN and RECALLABLE.
const REVOKED: Seq4Status = Seq4Status(0x08 | 0x10 | 0x20 | 0x40);

/// What these rules follow of a session's SEQUENCE replies.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// Whether the last reply carried RESTART_RECLAIM_NEEDED.
    reclaim_needed: Option<bool>,
    /// State-revoked flags of the last reply, and its frame.
    revoked: (Seq4Status, u64),
    /// A FREE_STATEID was seen since the revoked flags were last clear.
    freed_since_revoked: bool,
}

/// The SEQUENCE rules, with what each session's replies said.
#[derive(Debug, Default)]
pub struct Sequence {
    sessions: HashMap<SessionId4, Flags>,
}

impl Check for Sequence {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        let Event::Sequence {
            result: Ok(x),
            frees_state,
            ..
        } = *ev
        else {
            return;
        };
        // Only sessions the model knows (one first seen here has no past).
        if !j.model().sessions.contains_key(&x.sr_sessionid) {
            return;
        }
        let flags = self.sessions.entry(x.sr_sessionid).or_default();
        revoked_flags(flags, x, frees_state, j);
        slots(x, j);
        reclaim_needed(flags, x, j);
    }
}

/// State-revoked flags must not vanish without FREE_STATEID (in this
/// COMPOUND or since) or a new client ID.
fn revoked_flags(f: &mut Flags, x: &Sequence4ResOk, frees_state: bool, j: &mut Judge<'_>) {
    let at = j.at();
    let now = Seq4Status(x.sr_status_flags.0 & REVOKED.0);
    let (before, since) = f.revoked;
    f.revoked = (now, at.frame);
    if frees_state {
        f.freed_since_revoked = true;
    }
    let cleared = Seq4Status(before.0 & !now.0);
    if cleared.0 != 0 && !f.freed_since_revoked {
        let id = x.sr_sessionid;
        j.judge(&SEQ_REVOKED_FLAGS_STAY, || {
            Some(Violation::new(
                format!("session {id}: {cleared} cleared without a FREE_STATEID"),
                at.frames_after(since),
            ))
        });
    }
    if now.0 == 0 {
        f.freed_since_revoked = false;
    }
}

/// The first sequence id of a slot, and its order.
fn slots(x: &Sequence4ResOk, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(s) = m.sessions.get(&x.sr_sessionid) else {
        return;
    };
    let seq = x.sr_sequenceid;
    match s.slots.get(&x.sr_slotid) {
        None => j.judge_session(&SEQ_FIRST_SEQID, &x.sr_sessionid, || {
            (seq != 1).then(|| {
                Violation::new(
                    format!(
                        "first SEQUENCE on slot {} of session {} accepted with sequence id {seq}",
                        x.sr_slotid, x.sr_sessionid
                    ),
                    at.frames(),
                )
            })
        }),
        Some(p) => j.judge(&SEQ_SLOT_ORDER, || {
            (seq != p.seqid && seq != p.seqid.wrapping_add(1)).then(|| {
                Violation::new(
                    format!(
                        "slot {} of session {} went from sequence id {} (frame {}) to {seq}",
                        x.sr_slotid, x.sr_sessionid, p.seqid, p.frame
                    ),
                    at.frames(),
                )
            })
        }),
    }
}

/// RESTART_RECLAIM_NEEDED dropped before the client's RECLAIM_COMPLETE, or
/// still set after it.
fn reclaim_needed(f: &mut Flags, x: &Sequence4ResOk, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(s) = m.sessions.get(&x.sr_sessionid) else {
        return;
    };
    let has = x
        .sr_status_flags
        .contains(Seq4Status::RESTART_RECLAIM_NEEDED);
    let completed = m
        .record_for(s.endpoint, s.clientid)
        .and_then(|r| r.reclaim_complete_frame);
    if f.reclaim_needed == Some(true) && !has && completed.is_none() {
        j.judge(&SEQ_RECLAIM_NEEDED, || {
            Some(Violation::new(
                format!(
                    "RESTART_RECLAIM_NEEDED dropped from session {} before its client's RECLAIM_COMPLETE",
                    x.sr_sessionid
                ),
                at.frames(),
            ))
        });
    }
    if let (true, Some(done)) = (has, completed) {
        j.judge(&SEQ_RECLAIM_NEEDED, || {
            Some(Violation::new(
                format!(
                    "RESTART_RECLAIM_NEEDED still set on session {} after RECLAIM_COMPLETE (frame {done})",
                    x.sr_sessionid
                ),
                at.frames_after(done),
            ))
        });
    }
    f.reclaim_needed = Some(has);
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn slot_sequence_rules() {
        let none = Seq4Status(0);
        let mut c = with_session();
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(5)], vec![seq_ok_n(5, none)]);
        assert_eq!(c.rules(), vec!["seq.first-seqid"]);

        let mut c = with_session();
        for s in [1, 2, 2, 3] {
            c.exchange(1, CLIENT, SERVER_A, vec![seq_n(s)], vec![seq_ok_n(s, none)]);
        }
        assert!(
            c.rules().is_empty(),
            "a retry and +1 are fine: {:?}",
            c.x.sink.findings()
        );
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(5)], vec![seq_ok_n(5, none)]);
        assert_eq!(c.rules(), vec!["seq.slot-order"]);
    }

    #[test]
    fn slot_order_is_not_judged_once_bytes_were_lost() {
        let none = Seq4Status(0);
        let mut c = with_session();
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, none)]);
        c.lose_bytes(1);
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(5)], vec![seq_ok_n(5, none)]);
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        let skipped: Vec<(&str, &str, u64)> =
            c.x.sink
                .not_judged()
                .iter()
                .map(|n| (n.rule.id, n.reason, n.count))
                .collect();
        assert_eq!(
            skipped,
            vec![("seq.slot-order", "bytes were lost from the capture", 1)]
        );
    }

    #[test]
    fn restart_reclaim_needed_stays_until_reclaim_complete() {
        let need = Seq4Status::RESTART_RECLAIM_NEEDED;
        let ok = NfsStat4::NFS4_OK;
        let mut c = with_session();
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, need)]);
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2)],
            vec![seq_ok_n(2, Seq4Status(0))],
        );
        assert_eq!(c.rules(), vec!["seq.reclaim-needed-flag"]);
        let mut c = with_session();
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(1)], vec![seq_ok_n(1, need)]);
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2), reclaim_complete()],
            vec![seq_ok_n(2, need), NfsResOp::ReclaimComplete(ok)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(3)],
            vec![seq_ok_n(3, Seq4Status(0))],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(4)], vec![seq_ok_n(4, need)]);
        assert_eq!(c.rules(), vec!["seq.reclaim-needed-flag"]);
    }

    #[test]
    fn revoked_state_flags_stay_until_free_stateid() {
        let revoked = Seq4Status::ADMIN_STATE_REVOKED;
        let none = Seq4Status(0);
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1)],
            vec![seq_ok_n(1, revoked)],
        );
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(2)], vec![seq_ok_n(2, none)]);
        assert_eq!(c.rules(), vec!["seq.revoked-flags-stay"]);
        let free = || {
            NfsArgOp::FreeStateid(FreeStateid4Args {
                fsa_stateid: Stateid4 {
                    seqid: 1,
                    other: StateidOther([1; 12]),
                },
            })
        };
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1)],
            vec![seq_ok_n(1, revoked)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2), free()],
            vec![
                seq_ok_n(2, revoked),
                NfsResOp::FreeStateid(NfsStat4::NFS4_OK),
            ],
        );
        c.exchange(1, CLIENT, SERVER_A, vec![seq_n(3)], vec![seq_ok_n(3, none)]);
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }
}
