//! Leases and kept state (RFC 8881 §2.4.3, §2.10.2.2, §18.46.3; RFC 7530
//! §16.28, §9.5): a lease renewed less than lease_time ago does not expire,
//! a repeated EXCHANGE_ID does not drop the client's state, and RENEW
//! answers by what the server said of the client ID.
//!
//! A server restart breaks TCP connections, so an answer that arrives on a
//! connection which already carried the earlier evidence shows that no
//! restart came in between. That the client did not end the state itself
//! (DESTROY_SESSION or DESTROY_CLIENTID on another connection) only a
//! complete capture shows. Each error is judged by its own operation's
//! subject: BADSESSION by the SEQUENCE's session, STALE_CLIENTID by the
//! client ID the operation named, never by the COMPOUND's session.

use super::{Check, Judge, Need, Violation};
use crate::model::event::{At, CallOp, Event};
use crate::model::{Model, ServerKey};
use crate::nfs4::{ExchgId4Flags, NfsStat4};
use crate::tcp::hash::FastMap;

rules! {
    LEASE_RENEWED: "lease.renewed-by-sequence", "RFC 8881 §2.10.2.2, §18.46.3", [74], Violation, Server, [LeaseTime, Complete],
        "a client that renewed its lease (SEQUENCE NFS4_OK) less than lease_time ago, on a connection that shows no restart, does not get NFS4ERR_BADSESSION or NFS4ERR_STALE_CLIENTID";
    EXCHID_PROBE_KEEPS_STATE: "exchid.probe-keeps-state", "RFC 8881 §2.4.3", [8], Violation, Server, [Complete],
        "a repeated EXCHANGE_ID with the same owner, verifier and principal does not delete the client ID's sessions or state";
    V40_RENEW: "v40.renew", "RFC 7530 §16.28, §9.5", [106], Violation, Server, [Complete],
        "RENEW of a client ID the server called stale gets NFS4ERR_STALE_CLIENTID until SETCLIENTID returns it again, and a lease renewed less than lease_time ago on the same connection is not NFS4ERR_EXPIRED";
}

/// The lease rules, with the frame of the last repeated EXCHANGE_ID (same
/// owner and verifier) that returned each confirmed client ID.
#[derive(Debug, Default)]
pub struct Lease {
    probes: FastMap<usize, u64>,
}

/// What the server said it lost: a session, or a client ID.
#[derive(Debug, Clone, Copy)]
enum Lost {
    Session(crate::nfs4::SessionId4),
    ClientId(u64),
}

impl Check for Lease {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        let stale = NfsStat4::NFS4ERR_STALE_CLIENTID;
        match *ev {
            Event::Sequence {
                session,
                result: Err(st @ NfsStat4::NFS4ERR_BADSESSION),
                ..
            } => self.state_kept(Lost::Session(session), st, j),
            Event::CreateSession {
                call: CallOp::CreateSession { clientid, .. },
                result: Err(st),
            } if st == stale => self.state_kept(Lost::ClientId(*clientid), st, j),
            Event::DestroyClientid { clientid, status } if status == stale => {
                self.state_kept(Lost::ClientId(clientid), status, j)
            }
            Event::Renew { clientid, status } => renew(clientid, status, j),
            _ => {}
        }
    }

    fn applied(&mut self, at: &At, ev: &Event<'_>, model: &Model) {
        let Event::ExchangeId {
            call: CallOp::ExchangeId {
                owner, verifier, ..
            },
            result: Ok(x),
        } = ev
        else {
            return;
        };
        if !x.eir_flags.contains(ExchgId4Flags::CONFIRMED_R) {
            return;
        }
        let key = ServerKey::declared_by(x);
        let Some(i) = model.record_index_by_key(&key, x.eir_clientid.0) else {
            return;
        };
        let r = &model.client_ids[i];
        let same_incarnation =
            r.owner.as_deref() == Some(owner.as_slice()) && r.verifier == Some(*verifier);
        if same_incarnation && r.confirmed_frame.is_some() && r.live() {
            self.probes.insert(i, at.frame);
        }
    }
}

impl Lease {
    /// Rows 8 and 74: a live session or client ID lost (BADSESSION on
    /// SEQUENCE, STALE_CLIENTID for the client ID an operation named) with
    /// no restart, after a repeated EXCHANGE_ID or within the lease.
    fn state_kept(&self, lost: Lost, status: NfsStat4, j: &mut Judge<'_>) {
        let (m, at) = (j.model(), j.at());
        let server = at.server;
        let (what, first, used, i) = match lost {
            Lost::Session(sid) => {
                let Some(s) = m.live_session(server, &sid) else {
                    return;
                };
                // Only the server that has the session can lose it: the one
                // that created it, or one that accepted it on a connection.
                let its_server = s.endpoint == server
                    || s.connections
                        .keys()
                        .any(|c| m.connection(*c).is_some_and(|c| c.server == server));
                let Some(i) = m.session_record_index(s).filter(|_| its_server) else {
                    return;
                };
                (
                    format!("session {sid} of client ID"),
                    s.first_frame,
                    !s.slots.is_empty(),
                    i,
                )
            }
            Lost::ClientId(cid) => {
                let Some(i) = m
                    .record_index(server, cid)
                    .filter(|i| m.client_ids[*i].live())
                else {
                    return;
                };
                let r = &m.client_ids[i];
                let first = r.issued_frame.or(r.confirmed_frame).unwrap_or(0);
                ("client ID".to_string(), first, r.renewed.is_some(), i)
            }
        };
        let r = &m.client_ids[i];
        let cid = r.clientid;
        let conn_first = m.connection(at.conn).map(|c| c.first_frame);
        if let (Some(p), Some(cf)) = (self.probes.get(&i).copied(), conn_first) {
            if cf < p && first < p {
                j.judge(&EXCHID_PROBE_KEEPS_STATE, || {
                    Some(Violation::new(
                        format!(
                            "{server} answered {status} for {what} {cid:#018x} after a repeated EXCHANGE_ID (same owner and verifier) returned it confirmed in frame {p}; the connection, open since frame {cf}, shows no restart"
                        ),
                        at.frames_after(p),
                    ))
                });
            }
        }
        let Some((t0, _, f0)) = r.renewed.filter(|(_, c0, _)| *c0 == at.conn && used) else {
            return;
        };
        j.judge(&LEASE_RENEWED, || {
            let l = m.endpoints.get(&server)?.lease_time.unwrap_or(u32::MAX);
            let age = at.ts.since(t0);
            (age < f64::from(l)).then(|| {
                Violation::new(
                    format!(
                        "{server} answered {status} for {what} {cid:#018x} {age:.1} s after a SEQUENCE renewed the lease (frame {f0}) on the same connection; lease_time is {l} s"
                    ),
                    at.frames_after(f0),
                )
            })
        });
    }
}

/// RENEW (NFSv4.0, row 106): accepted after STALE_CLIENTID, or EXPIRED
/// within the lease.
fn renew(cid: u64, status: NfsStat4, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let server = at.server;
    let record = m.record_for(server, Some(cid));
    match status {
        NfsStat4::NFS4_OK => {
            let Some(sf) = record.filter(|r| !r.live()).and_then(|r| {
                r.stale_frame
                    .filter(|sf| r.last_issue_frame.is_none_or(|f| f < *sf))
            }) else {
                return;
            };
            j.judge(&V40_RENEW, || {
                Some(Violation::new(
                    format!(
                        "{server} accepted RENEW for client ID {cid:#018x} after answering NFS4ERR_STALE_CLIENTID for it (frame {sf}), with no SETCLIENTID returning it since"
                    ),
                    at.frames_after(sf),
                ))
            });
        }
        NfsStat4::NFS4ERR_EXPIRED => {
            let Some((t0, _, f0)) = record
                .filter(|r| r.live())
                .and_then(|r| r.renewed)
                .filter(|(_, c0, _)| *c0 == at.conn)
            else {
                return;
            };
            j.judge_needing(&V40_RENEW, &[Need::LeaseTime], None, || {
                let l = m.endpoints.get(&server)?.lease_time.unwrap_or(u32::MAX);
                let age = at.ts.since(t0);
                (age < f64::from(l)).then(|| {
                    Violation::new(
                        format!(
                            "{server} answered RENEW of client ID {cid:#018x} with NFS4ERR_EXPIRED {age:.1} s after a renewal (frame {f0}) on the same connection; lease_time is {l} s"
                        ),
                        at.frames_after(f0),
                    )
                })
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn a_trunking_probe_must_not_drop_the_client_state() {
        let none = Seq4Status(0);
        let probe = || exchange_id_ok(7, PNFS | ExchgId4Flags::CONFIRMED_R, "srv", 0);
        // On the connection that carried the session all along: no restart.
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, none));
        c.op(1, SERVER_A, exchange_id("c", 1, ExchgId4Flags(0)), probe());
        c.op(
            1,
            SERVER_A,
            seq_n(2),
            seq_fail(NfsStat4::NFS4ERR_BADSESSION),
        );
        assert_eq!(c.rules(), vec!["exchid.probe-keeps-state"]);
        assert_eq!(
            c.x.sink.findings()[0].rule.party,
            crate::rules::Party::Server
        );
        // On a connection opened after the probe, a restart may explain it.
        let mut c = with_session();
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, none));
        c.op(1, SERVER_A, exchange_id("c", 1, ExchgId4Flags(0)), probe());
        c.op(
            2,
            SERVER_A,
            seq_n(2),
            seq_fail(NfsStat4::NFS4ERR_BADSESSION),
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn a_lease_renewed_by_sequence_does_not_expire() {
        for (later, conn, expect) in [
            (30, 1, vec!["lease.renewed-by-sequence"]),
            (200, 1, vec![]),
            (30, 2, vec![]),
        ] {
            let mut c = with_session();
            c.ts = Timestamp {
                secs: 100,
                nanos: 0,
            };
            getattr_lease(1, &mut c, 90);
            c.ts = Timestamp {
                secs: 100 + later,
                nanos: 0,
            };
            c.op(
                conn,
                SERVER_A,
                seq_n(2),
                seq_fail(NfsStat4::NFS4ERR_BADSESSION),
            );
            assert_eq!(c.rules(), expect, "{later} s later on connection {conn}");
        }
    }

    #[test]
    fn renew_after_stale_and_within_the_lease() {
        let mut c = v40_client();
        renew(1, &mut c, NfsStat4::NFS4ERR_STALE_CLIENTID);
        renew(1, &mut c, NfsStat4::NFS4_OK);
        assert_eq!(c.rules(), vec!["v40.renew"]);
        // After SETCLIENTID returned the client ID again: fine.
        let mut c = v40_client();
        renew(1, &mut c, NfsStat4::NFS4ERR_STALE_CLIENTID);
        c.op(1, SERVER_A, setclientid("id"), setclientid_ok(5, 2));
        renew(1, &mut c, NfsStat4::NFS4_OK);
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        // EXPIRED 10 s after a renewal, lease 90 s.
        let mut c = v40_client();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                NfsArgOp::Putrootfh(()),
                NfsArgOp::Getattr(Getattr4Args {
                    attr_request: Bitmap4::from_bits(&[10]),
                }),
            ],
            vec![
                NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
                NfsResOp::Getattr(NfsRes::Ok(Getattr4ResOk {
                    obj_attributes: Fattr4::from_values(&[AttrValue::LeaseTime(90)]),
                })),
            ],
        );
        c.ts = Timestamp { secs: 10, nanos: 0 };
        renew(1, &mut c, NfsStat4::NFS4_OK);
        c.ts = Timestamp { secs: 20, nanos: 0 };
        renew(1, &mut c, NfsStat4::NFS4ERR_EXPIRED);
        assert_eq!(c.rules(), vec!["v40.renew"]);
    }

    /// Lease 90 s known, session 1 of client ID 7 renewed on connection 1.
    fn renewed() -> Conv {
        let mut c = with_session();
        getattr_lease(1, &mut c, 90);
        c
    }

    #[test]
    fn an_error_is_judged_by_its_own_operation() {
        // SEQUENCE NFS4_OK, then DESTROY_CLIENTID of a client ID nobody
        // has: its STALE_CLIENTID says nothing of the session's lease.
        let destroy = |cid| {
            NfsArgOp::DestroyClientid(DestroyClientid4Args {
                dca_clientid: Clientid4(cid),
            })
        };
        let stale = NfsResOp::DestroyClientid(NfsStat4::NFS4ERR_STALE_CLIENTID);
        let mut c = renewed();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2), destroy(99)],
            vec![seq_ok_n(2, Seq4Status(0)), stale.clone()],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        // Of its own client ID, renewed a moment ago: the lease was lost.
        let mut c = renewed();
        c.op(1, SERVER_A, destroy(7), stale);
        assert_eq!(c.rules(), vec!["lease.renewed-by-sequence"]);
    }

    #[test]
    fn a_client_restart_confirmed_ends_the_old_sessions() {
        // Case 5: the owner with a new verifier gets client ID 8; once a
        // CREATE_SESSION confirms it, client ID 7 and its session 1 are
        // gone, so BADSESSION for session 1 is right.
        for confirmed in [true, false] {
            let mut c = renewed();
            c.eid(1, SERVER_A, "c", 2, exchange_id_ok(8, PNFS, "srv", 0));
            if confirmed {
                confirm_at(&mut c, 1, SERVER_A, 8, 2);
            }
            c.op(
                1,
                SERVER_A,
                seq_n(3),
                seq_fail(NfsStat4::NFS4ERR_BADSESSION),
            );
            if confirmed {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            } else {
                assert_eq!(c.rules(), vec!["lease.renewed-by-sequence"]);
            }
        }
    }

    #[test]
    fn a_session_id_means_something_only_at_its_server() {
        // Two servers of one scope, other owners, give the same client ID
        // and session id values. The second server's BADSESSION for its
        // value is not the first one losing its session.
        let mut c = renewed();
        c.eid(
            1,
            SERVER_A,
            "c",
            1,
            exchange_id_ok(7, ExchgId4Flags::CONFIRMED_R | PNFS, "srv", 0),
        );
        c.op(
            2,
            SERVER_B,
            seq_n(2),
            seq_fail(NfsStat4::NFS4ERR_BADSESSION),
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn roles_follow_the_rpc_not_the_tcp_guess() {
        // The TCP layer took the client for the server: the model still
        // knows which end answered.
        let mut c = Conv::new();
        c.mislabelled = true;
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
        let m = c.x.sink.model();
        let server: SocketAddr = SERVER_A.parse().unwrap();
        assert_eq!(m.connections[&ConnId(1)].server, server);
        assert!(m.endpoints[&server].current().is_some());
        assert_eq!(m.client_ids[0].endpoints.iter().next(), Some(&server));
    }
}
