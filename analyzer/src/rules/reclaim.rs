//! Reclaim and RECLAIM_COMPLETE (RFC 8881 §8.4.2, §18.51): the client's
//! order of reclaims and non-reclaim locking, the grace the server keeps
//! until the client's global RECLAIM_COMPLETE, and reclaims after a
//! failover judged by server scope.

use super::{Check, Judge, Violation};
use crate::model::event::{At, CallOp, Event};
use crate::model::{key_text, Model, ServerKey};
use crate::nfs4::NfsStat4;

rules! {
    CLIENT_RECLAIM_COMPLETE_FIRST: "client.reclaim-complete-first", "RFC 8881 §18.51.3", [89], Violation, Client, [Complete],
        "after a new client ID, a global RECLAIM_COMPLETE comes before the first non-reclaim OPEN or LOCK";
    GRACE_BEFORE_RECLAIM_COMPLETE: "grace.before-reclaim-complete", "RFC 8881 §18.51.3, §8.4.2", [90, 95], Violation, Server, [Complete],
        "a non-reclaim OPEN or LOCK before the client's global RECLAIM_COMPLETE gets NFS4ERR_GRACE";
    RECLAIM_COMPLETE_ALREADY: "rc.complete-already", "RFC 8881 §18.51.4", [92], Violation, Server, [],
        "a second global RECLAIM_COMPLETE (not a retry) gets NFS4ERR_COMPLETE_ALREADY";
    CLIENT_NO_RECLAIM_AFTER_COMPLETE: "client.no-reclaim-after-complete", "RFC 8881 §18.51.3", [94], Violation, Client, [],
        "a client never reclaims after its global RECLAIM_COMPLETE";
    CLIENT_FAILOVER_RECLAIM: "client.failover-reclaim-scope", "RFC 8881 §8.4.2.1", [98], Warning, Client, [],
        "a client does not reclaim, at a server of another scope, state it held elsewhere";
    SERVER_FAILOVER_RECLAIM: "server.failover-reclaim-refusal", "RFC 8881 §8.4.2.1", [98], Violation, Server, [],
        "a server of the same scope that cannot honour a reclaim after a failover answers NFS4ERR_NO_GRACE (or RECLAIM_BAD), not another error";
}

/// Statuses a same-scope server must not use to refuse a reclaim it cannot
/// honour (it answers NFS4ERR_NO_GRACE or NFS4ERR_RECLAIM_BAD instead).
const REFUSALS: [NfsStat4; 6] = [
    NfsStat4::NFS4ERR_NOTSUPP,
    NfsStat4::NFS4ERR_INVAL,
    NfsStat4::NFS4ERR_GRACE,
    NfsStat4::NFS4ERR_BAD_STATEID,
    NfsStat4::NFS4ERR_STALE_STATEID,
    NfsStat4::NFS4ERR_EXPIRED,
];

/// The reclaim rules.
#[derive(Debug, Default)]
pub struct Reclaim;

impl Check for Reclaim {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::Called { ops } => client_order(ops, j),
            Event::Locked { op } => {
                let (m, at) = (j.model(), j.at());
                let Some(r) = m
                    .record_for(at.server, at.compound.clientid)
                    .filter(|r| r.live())
                else {
                    return;
                };
                // A RECLAIM_COMPLETE the client sent but the server refused
                // (or whose answer is missing) is judged on its own.
                if r.reclaim_complete_sent.is_some() && r.reclaim_complete_frame.is_none() {
                    return;
                }
                if let (Some(cf), None) = (r.confirmed_frame, r.reclaim_complete_frame) {
                    j.judge(&GRACE_BEFORE_RECLAIM_COMPLETE, || {
                        Some(Violation::new(
                            format!(
                                "{} granted {op} (not a reclaim) to client ID {:#018x} before its global RECLAIM_COMPLETE",
                                at.server, r.clientid
                            ),
                            at.frames_after(cf),
                        ))
                    });
                }
            }
            Event::ReclaimComplete {
                one_fs: false,
                status: NfsStat4::NFS4_OK,
            } if !j.at().compound.retry => {
                let (m, at) = (j.model(), j.at());
                let Some(r) = m.record_for(at.server, at.compound.clientid) else {
                    return;
                };
                if let Some(first) = r.reclaim_complete_frame {
                    j.judge(&RECLAIM_COMPLETE_ALREADY, || {
                        Some(Violation::new(
                            format!(
                                "{} accepted a second RECLAIM_COMPLETE for client ID {:#018x} (first in frame {first})",
                                at.server, r.clientid
                            ),
                            at.frames_after(first),
                        ))
                    });
                }
            }
            Event::Reclaim { op, status } => failover(op, status, j),
            _ => {}
        }
    }
}

/// Client rules at call time: RECLAIM_COMPLETE before non-reclaim locks of
/// a new client ID, and no reclaim after it.
fn client_order(ops: &[CallOp], j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(CallOp::Sequence { session }) = ops.first() else {
        return;
    };
    let Some(s) = m.live_session(at.server, session) else {
        return;
    };
    let Some(r) = m.session_record(s) else {
        return;
    };
    let (confirmed, done, cid) = (r.confirmed_frame, r.reclaim_complete_frame, r.clientid);
    // Sent is what the client is judged by, whatever the server answered.
    let mut sent = r.reclaim_complete_sent.is_some();
    for op in ops {
        if matches!(op, CallOp::ReclaimComplete { one_fs: false }) {
            sent = true;
        }
        match (op, confirmed, done) {
            (CallOp::NonReclaimLock { op }, Some(cf), None) if !sent => {
                j.judge(&CLIENT_RECLAIM_COMPLETE_FIRST, || {
                    Some(Violation::new(
                        format!(
                            "{op} (not a reclaim) for client ID {cid:#018x}, confirmed in frame {cf}, before any global RECLAIM_COMPLETE"
                        ),
                        at.frames_after(cf),
                    ))
                })
            }
            (CallOp::Reclaim { op }, _, Some(d)) => {
                j.judge(&CLIENT_NO_RECLAIM_AFTER_COMPLETE, || {
                    Some(Violation::new(
                        format!(
                            "reclaim {op} for client ID {cid:#018x} after its RECLAIM_COMPLETE (frame {d})"
                        ),
                        at.frames_after(d),
                    ))
                })
            }
            _ => {}
        }
    }
}

/// Row 98: a reclaim after a failover, judged by server scope.
fn failover(op: &'static str, status: NfsStat4, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let Some(r) = m.record_for(at.server, at.compound.clientid) else {
        return;
    };
    let (Some(owner), Some(verifier)) = (r.owner.as_deref(), r.verifier) else {
        return;
    };
    let ServerKey::Declared { scope, .. } = &r.server else {
        return;
    };
    let issued = r.issued_frame.unwrap_or(u64::MAX);
    // The same incarnation's confirmed client IDs at other servers, before.
    let earlier: Vec<(&ServerKey, u64)> = m
        .client_ids
        .iter()
        .filter(|o| {
            o.server != r.server
                && o.owner.as_deref() == Some(owner)
                && o.verifier == Some(verifier)
                && o.confirmed_frame.is_some_and(|f| f < issued)
        })
        .filter_map(|o| Some((&o.server, o.confirmed_frame?)))
        .collect();
    let same_scope = earlier.iter().find(|(k, _)| match k {
        ServerKey::Declared { scope: s, .. } => s == scope,
        ServerKey::Address(_) => false,
    });
    if let Some((k, f)) = same_scope {
        if REFUSALS.contains(&status) {
            j.judge(&SERVER_FAILOVER_RECLAIM, || {
                Some(Violation::new(
                    format!(
                        "{} ({}) refused reclaim {op} of client ID {:#018x} with {status}; the client held state at {} (confirmed frame {f}) in the same scope: a server that cannot honour it answers NFS4ERR_NO_GRACE",
                        at.server,
                        key_text(&r.server),
                        r.clientid,
                        key_text(k)
                    ),
                    at.frames_after(*f),
                ))
            });
        }
        return;
    }
    // Only another scope before, and this server first seen after it.
    if let Some(v) = other_scope_reclaim(m, at, &earlier, op, &r.server) {
        j.judge(&CLIENT_FAILOVER_RECLAIM, || Some(v));
    }
}

/// A reclaim at a server first seen after the client held state at a
/// server of another scope.
fn other_scope_reclaim(
    m: &Model,
    at: &At,
    earlier: &[(&ServerKey, u64)],
    op: &str,
    key: &ServerKey,
) -> Option<Violation> {
    let here_since = m.endpoints.get(&at.server).map_or(0, |e| e.first_frame);
    let (k, f) = earlier.iter().find(|(_, f)| *f < here_since)?;
    Some(Violation::new(
        format!(
            "client reclaims {op} at {} ({}), first seen after it held state at {} (confirmed frame {f}), a different server scope",
            at.server,
            key_text(key),
            key_text(k)
        ),
        at.frames_after(*f),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn reclaim_complete_rules() {
        let none = Seq4Status(0);
        let ok = NfsStat4::NFS4_OK;
        // Non-reclaim OPEN before RECLAIM_COMPLETE, accepted: client and server at fault.
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1), open(OpenClaim4::Null(Opaque::from("f")))],
            vec![seq_ok_n(1, none), open_res(ok)],
        );
        assert_eq!(
            c.rules(),
            vec![
                "client.reclaim-complete-first",
                "grace.before-reclaim-complete"
            ]
        );
        // Refused with GRACE: only the client is at fault.
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1), open(OpenClaim4::Null(Opaque::from("f")))],
            vec![seq_ok_n(1, none), open_res(NfsStat4::NFS4ERR_GRACE)],
        );
        assert_eq!(c.rules(), vec!["client.reclaim-complete-first"]);
        // RECLAIM_COMPLETE first, then OPEN: fine; a retry of RECLAIM_COMPLETE
        // is fine; a second one accepted is not; a reclaim after it is the
        // client's fault.
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1), reclaim_complete()],
            vec![seq_ok_n(1, none), NfsResOp::ReclaimComplete(ok)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1), reclaim_complete()],
            vec![seq_ok_n(1, none), NfsResOp::ReclaimComplete(ok)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2), open(OpenClaim4::Null(Opaque::from("f")))],
            vec![seq_ok_n(2, none), open_res(ok)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(3), reclaim_complete()],
            vec![seq_ok_n(3, none), NfsResOp::ReclaimComplete(ok)],
        );
        assert_eq!(c.rules(), vec!["rc.complete-already"]);
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                seq_n(4),
                open(OpenClaim4::Previous(
                    OpenDelegationType4::OPEN_DELEGATE_NONE,
                )),
            ],
            vec![seq_ok_n(4, none), open_res(NfsStat4::NFS4ERR_NO_GRACE)],
        );
        assert_eq!(
            c.rules(),
            vec!["rc.complete-already", "client.no-reclaim-after-complete"]
        );
    }

    #[test]
    fn failover_reclaims_follow_the_server_scope() {
        let reclaim = || {
            open(OpenClaim4::Previous(
                OpenDelegationType4::OPEN_DELEGATE_NONE,
            ))
        };
        let run = |major: &str, scope: &str, status: NfsStat4| {
            let mut c = with_session();
            session_at(
                &mut c,
                2,
                SERVER_B,
                9,
                2,
                exchange_id_scoped(9, PNFS, major, scope),
            );
            c.exchange(
                2,
                CLIENT,
                SERVER_B,
                vec![seq_on(2, 1), reclaim()],
                vec![seq_on_ok(2, 1, Seq4Status(0)), open_res(status)],
            );
            c.rules()
        };
        // Another scope: the client should not reclaim there.
        assert_eq!(
            run("srv2", "scope-2", NfsStat4::NFS4ERR_NO_GRACE),
            vec!["client.failover-reclaim-scope"]
        );
        // Same scope, another owner: the server refuses with NO_GRACE, or is warned.
        assert_eq!(
            run("srv2", "scope-1", NfsStat4::NFS4ERR_NOTSUPP),
            vec!["server.failover-reclaim-refusal"]
        );
        assert!(run("srv2", "scope-1", NfsStat4::NFS4ERR_NO_GRACE).is_empty());
        assert!(run("srv2", "scope-1", NfsStat4::NFS4_OK).is_empty());
    }

    #[test]
    fn a_client_is_not_blamed_for_a_reclaim_complete_the_server_refused() {
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![sequence(), reclaim_complete()],
            vec![
                sequence_ok(),
                NfsResOp::ReclaimComplete(NfsStat4::NFS4ERR_NOTSUPP),
            ],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![sequence(), open(OpenClaim4::Null(Opaque::from("f")))],
            vec![sequence_ok(), open_res(NfsStat4::NFS4_OK)],
        );
        // The server's fault is refusing a REQUIRED operation; the client
        // sent it and the OPEN that follows is no one's fault.
        assert_eq!(c.rules(), vec!["op.required-notsupp"]);
    }
}
