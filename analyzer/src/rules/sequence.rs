//! SEQUENCE (RFC 8881 §2.10.6, §18.46): slot sequence ids, and the status
//! flags that must stay set until the client has acted on them.
//!
//! A capture may miss requests on a slot (bytes lost, or a connection of
//! the session the capture does not hold, e.g. one at another address of
//! the server): a sequence id that jumps forward, or a first one that is not
//! 1, is judged only on a complete capture of a whole session. A sequence
//! id that goes back is wrong whatever the capture missed.

use super::{Check, Judge, Need, Violation};
use crate::model::event::Event;
use crate::model::{EndKind, SessionKey};
use crate::nfs4::{NfsStat4, Seq4Status, Sequence4ResOk};
use crate::tcp::hash::FastMap;

rules! {
    SEQ_FIRST_SEQID: "seq.first-seqid", "RFC 8881 §18.36.3", [61], Violation, Server, [SessionWhole, Complete],
        "the first SEQUENCE on each slot of a new session has sequence id 1";
    SEQ_SLOT_ORDER: "seq.slot-order", "RFC 8881 §18.46.3, §2.10.6.1", [75], Violation, Server, [SessionWhole, Complete],
        "a slot accepts only its last sequence id (a retry) or the next one";
    SEQ_RECLAIM_NEEDED: "seq.reclaim-needed-flag", "RFC 8881 §18.46.3", [79], Warning, Server, [],
        "RESTART_RECLAIM_NEEDED is on every SEQUENCE reply until the client's global RECLAIM_COMPLETE, and only until then";
    SEQ_REVOKED_FLAGS_STAY: "seq.revoked-flags-stay", "RFC 8881 §18.46.3", [80], Warning, Server, [Complete],
        "EXPIRED_ALL/SOME, ADMIN and RECALLABLE _STATE_REVOKED stay set until FREE_STATEID or a new client ID";
    SEQ_REQ_TOO_BIG: "chan.request-too-big", "RFC 8881 §18.36.3, §2.10.6.4", [], Violation, Server, [],
        "a request larger than the session's ca_maxrequestsize is refused with NFS4ERR_REQ_TOO_BIG, not executed";
    SEQ_TOO_MANY_OPS: "chan.too-many-ops", "RFC 8881 §18.36.3", [], Violation, Server, [],
        "a COMPOUND with more operations than the session's ca_maxoperations is refused with NFS4ERR_TOO_MANY_OPS, not executed beyond it";
}

/// The state-revoked flags: EXPIRED_ALL/SOME, ADMIN and RECALLABLE.
const REVOKED: Seq4Status = Seq4Status(0x08 | 0x10 | 0x20 | 0x40);

/// What these rules follow of a session's SEQUENCE replies.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// Whether the last reply carried RESTART_RECLAIM_NEEDED.
    reclaim_needed: Option<bool>,
    /// Frame of the first reply without RESTART_RECLAIM_NEEDED.
    without_reclaim_needed: Option<u64>,
    /// That missing flag was reported (once per session).
    missing_flag_reported: bool,
    /// State-revoked flags of the last reply, and its frame.
    revoked: (Seq4Status, u64),
    /// A FREE_STATEID was seen since the revoked flags were last clear.
    freed_since_revoked: bool,
}

/// The SEQUENCE rules, with what each session's replies said.
#[derive(Debug, Default)]
pub struct Sequence {
    sessions: FastMap<SessionKey, Flags>,
}

impl Check for Sequence {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::Sequence {
                result: Ok(x),
                frees_state,
                ..
            } => {
                // Only sessions the model knows (one first seen here has no past).
                let (m, at) = (j.model(), j.at());
                let Some(key) = m
                    .session_key_at(at.server, &x.sr_sessionid)
                    .filter(|k| m.sessions.get(k).is_some_and(|s| s.ended.is_none()))
                else {
                    return;
                };
                let flags = self.sessions.entry(key).or_default();
                revoked_flags(flags, x, frees_state, j);
                slots(x, j);
                reclaim_needed(flags, x, j);
                request_size(x, j);
            }
            Event::Answered {
                index,
                count,
                result,
                ..
            } => too_many_ops(index, count, result.status(), j),
            Event::Reclaim {
                op,
                status: NfsStat4::NFS4_OK,
            } => {
                // A reclaim the server accepts is one it needs: every
                // SEQUENCE reply before the client's RECLAIM_COMPLETE should
                // have said so.
                let (m, at) = (j.model(), j.at());
                let Some(sid) = at.compound.session else {
                    return;
                };
                // Judged where the capture shows the server lost state (a
                // restart, or a client ID it forgot): a reclaim at a server
                // taking over in a failover is another story.
                let restarted = m
                    .endpoints
                    .get(&at.server)
                    .is_some_and(|e| !e.restarts.is_empty());
                let forgot = m.client_ids.iter().any(|r| {
                    r.endpoints.contains(&at.server)
                        && r.ended.is_some_and(|e| {
                            matches!(e.kind, EndKind::Forgotten | EndKind::Restarted)
                        })
                });
                if !restarted && !forgot {
                    return;
                }
                let Some(key) = m.session_key_at(at.server, &sid) else {
                    return;
                };
                let Some(f) = self.sessions.get_mut(&key) else {
                    return;
                };
                let Some(without) = f
                    .without_reclaim_needed
                    .filter(|_| !f.missing_flag_reported)
                else {
                    return;
                };
                f.missing_flag_reported = true;
                j.judge(&SEQ_RECLAIM_NEEDED, || {
                    Some(Violation::new(
                        format!(
                            "RESTART_RECLAIM_NEEDED missing from the SEQUENCE reply on session {sid} (frame {without}), yet {} accepts reclaim {op} before the client's RECLAIM_COMPLETE",
                            at.server
                        ),
                        at.frames_after(without),
                    ))
                });
            }
            _ => {}
        }
    }
}

/// A request over the session's ca_maxrequestsize whose SEQUENCE was
/// executed.
fn request_size(x: &Sequence4ResOk, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(max) = m
        .live_session(at.server, &x.sr_sessionid)
        .and_then(|s| s.fore.as_ref())
        .map(|f| f.ca_maxrequestsize)
    else {
        return;
    };
    let len = at.call_len;
    if len as u64 <= u64::from(max) {
        return;
    }
    j.judge(&SEQ_REQ_TOO_BIG, || {
        Some(Violation::new(
            format!(
                "{} executed a request of {len} bytes on session {}, whose ca_maxrequestsize is {max} (SEQUENCE NFS4_OK, not NFS4ERR_REQ_TOO_BIG)",
                at.server, x.sr_sessionid
            ),
            at.frames(),
        ))
    });
}

/// An operation past the session's ca_maxoperations executed (judged on
/// the first such operation of the COMPOUND).
fn too_many_ops(index: usize, count: usize, status: NfsStat4, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(sid) = at.compound.session else {
        return;
    };
    let Some(max) = m
        .live_session(at.server, &sid)
        .and_then(|s| s.fore.as_ref())
        .map(|f| f.ca_maxoperations as usize)
    else {
        return;
    };
    if index != max || status == NfsStat4::NFS4ERR_TOO_MANY_OPS {
        return;
    }
    j.judge(&SEQ_TOO_MANY_OPS, || {
        Some(Violation::new(
            format!(
                "{} executed operation {} of a {count}-operation COMPOUND on session {sid}, whose ca_maxoperations is {max} (not NFS4ERR_TOO_MANY_OPS)",
                at.server,
                index + 1
            ),
            at.frames(),
        ))
    });
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
    let Some(s) = m.live_session(at.server, &x.sr_sessionid) else {
        return;
    };
    let sid = x.sr_sessionid;
    let seq = x.sr_sequenceid;
    match s.slots.get(&x.sr_slotid) {
        None => j.judge_session(&SEQ_FIRST_SEQID, &sid, || {
            (seq != 1).then(|| {
                Violation::new(
                    format!(
                        "first SEQUENCE on slot {} of session {sid} accepted with sequence id {seq}",
                        x.sr_slotid
                    ),
                    at.frames(),
                )
            })
        }),
        Some(p) if seq == p.seqid || seq == p.seqid.wrapping_add(1) => {}
        Some(p) => {
            let message = format!(
                "slot {} of session {sid} went from sequence id {} (frame {}) to {seq}",
                x.sr_slotid, p.seqid, p.frame
            );
            // Back (by less than half the space) on the same connection:
            // nothing missed explains it. Across connections the capture's
            // order of two replies need not be the server's.
            let back = p.seqid.wrapping_sub(seq) < 1 << 31 && p.conn == at.conn;
            let needs: &[Need] = if back { &[] } else { SEQ_SLOT_ORDER.needs };
            j.judge_needing(&SEQ_SLOT_ORDER, needs, Some(&sid), || {
                Some(Violation::new(message, at.frames()))
            });
        }
    }
}

/// RESTART_RECLAIM_NEEDED dropped before the client's RECLAIM_COMPLETE, or
/// still set after it.
fn reclaim_needed(f: &mut Flags, x: &Sequence4ResOk, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(s) = m.live_session(at.server, &x.sr_sessionid) else {
        return;
    };
    let has = x
        .sr_status_flags
        .contains(Seq4Status::RESTART_RECLAIM_NEEDED);
    let record = m.session_record(s);
    let completed = record.and_then(|r| r.reclaim_complete_frame);
    if !has && record.is_some_and(|r| r.reclaim_complete_sent.is_none()) {
        f.without_reclaim_needed.get_or_insert(at.frame);
    }
    if f.reclaim_needed == Some(true) && !has && completed.is_none() {
        // The RECLAIM_COMPLETE may have gone over a connection the capture
        // does not hold.
        j.judge_needing(&SEQ_RECLAIM_NEEDED, &[Need::Complete], None, || {
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
        c.op(1, SERVER_A, seq_n(5), seq_ok_n(5, none));
        assert_eq!(c.rules(), vec!["seq.first-seqid"]);

        let mut c = with_session();
        for s in [1, 2, 2, 3] {
            c.op(1, SERVER_A, seq_n(s), seq_ok_n(s, none));
        }
        assert!(
            c.rules().is_empty(),
            "a retry and +1 are fine: {:?}",
            c.x.sink.findings()
        );
        c.op(1, SERVER_A, seq_n(5), seq_ok_n(5, none));
        assert_eq!(c.rules(), vec!["seq.slot-order"]);
    }

    #[test]
    fn slot_order_is_not_judged_once_bytes_were_lost() {
        let none = Seq4Status(0);
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, none));
        c.lose_bytes(1);
        c.op(1, SERVER_A, seq_n(5), seq_ok_n(5, none));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        let skipped: Vec<(&str, &str, u64)> =
            c.x.sink
                .not_judged()
                .iter()
                .map(|n| (n.rule.id, n.reason, n.count))
                .collect();
        assert_eq!(
            skipped,
            vec![(
                "seq.slot-order",
                "the session's creation or some bytes of its connections are not in the capture",
                1
            )]
        );
    }

    #[test]
    fn restart_reclaim_needed_stays_until_reclaim_complete() {
        let need = Seq4Status::RESTART_RECLAIM_NEEDED;
        let ok = NfsStat4::NFS4_OK;
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, need));
        c.op(1, SERVER_A, seq_n(2), seq_ok_n(2, Seq4Status(0)));
        assert_eq!(c.rules(), vec!["seq.reclaim-needed-flag"]);
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, need));
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2), reclaim_complete()],
            vec![seq_ok_n(2, need), NfsResOp::ReclaimComplete(ok)],
        );
        c.op(1, SERVER_A, seq_n(3), seq_ok_n(3, Seq4Status(0)));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        c.op(1, SERVER_A, seq_n(4), seq_ok_n(4, need));
        assert_eq!(c.rules(), vec!["seq.reclaim-needed-flag"]);
    }

    #[test]
    fn revoked_state_flags_stay_until_free_stateid() {
        let revoked = Seq4Status::ADMIN_STATE_REVOKED;
        let none = Seq4Status(0);
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, revoked));
        c.op(1, SERVER_A, seq_n(2), seq_ok_n(2, none));
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
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, revoked));
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
        c.op(1, SERVER_A, seq_n(3), seq_ok_n(3, none));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn channel_limits_are_enforced() {
        let put = || NfsArgOp::Putrootfh(());
        let put_ok = || NfsResOp::Putrootfh(NfsStat4::NFS4_OK);
        // ca_maxoperations 8: a ninth operation executed.
        let mut c = with_session();
        let mut args = vec![sequence()];
        let mut res = vec![sequence_ok()];
        for _ in 0..8 {
            args.push(put());
            res.push(put_ok());
        }
        c.exchange(1, CLIENT, SERVER_A, args.clone(), res.clone());
        assert_eq!(c.rules(), vec!["chan.too-many-ops"]);
        // Refused at the ninth: right.
        let mut c = with_session();
        res.truncate(8);
        res.push(NfsResOp::Putrootfh(NfsStat4::NFS4ERR_TOO_MANY_OPS));
        c.exchange(1, CLIENT, SERVER_A, args, res);
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        // ca_maxrequestsize 200: a larger request executed.
        for (ops, expect) in [(1, vec![]), (20, vec!["chan.request-too-big"])] {
            let mut c = Conv::new();
            c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
            c.op(
                1,
                SERVER_A,
                create_session(7, 1, CreateSession4Flags(0)),
                create_session_ok(
                    1,
                    1,
                    CreateSession4Flags(0),
                    chan(200, 64, 16),
                    chan(4096, 2, 1),
                ),
            );
            let mut args = vec![sequence()];
            let mut res = vec![sequence_ok()];
            for _ in 0..ops {
                args.push(NfsArgOp::Lookup(Lookup4Args {
                    objname: Opaque::from("a-rather-long-component-name"),
                }));
                res.push(NfsResOp::Lookup(NfsStat4::NFS4_OK));
            }
            c.exchange(1, CLIENT, SERVER_A, args, res);
            assert_eq!(c.rules(), expect, "{ops} LOOKUPs");
        }
    }

    #[test]
    fn a_reclaim_accepted_after_a_restart_needs_the_flag() {
        let reclaim = || {
            open(OpenClaim4::Previous(
                OpenDelegationType4::OPEN_DELEGATE_NONE,
            ))
        };
        for (flags, expect) in [
            (Seq4Status(0), vec!["seq.reclaim-needed-flag"]),
            (Seq4Status::RESTART_RECLAIM_NEEDED, vec![]),
        ] {
            let mut c = Conv::new();
            exchange_id_at(&mut c, 1, SERVER_A, 0x5f00_0001_0000_0007);
            confirm_at(&mut c, 1, SERVER_A, 0x5f00_0001_0000_0007, 1);
            // The server restarted: a new boot epoch.
            exchange_id_at(&mut c, 2, SERVER_A, 0x5f00_0002_0000_0001);
            confirm_at(&mut c, 2, SERVER_A, 0x5f00_0002_0000_0001, 2);
            c.exchange(
                2,
                CLIENT,
                SERVER_A,
                vec![seq_on(2, 1), reclaim()],
                vec![seq_on_ok(2, 1, flags), open_res(NfsStat4::NFS4_OK)],
            );
            assert_eq!(c.rules(), expect);
            assert_eq!(
                c.x.sink.model().endpoints[&SERVER_A.parse().unwrap()]
                    .restarts
                    .len(),
                1
            );
        }
    }
}
