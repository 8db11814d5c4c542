//! Session trunking (RFC 8881 §2.10.3.1, §2.10.5, §18.34, §18.37):
//! connections joined to a session by BIND_CONN_TO_SESSION or by SEQUENCE
//! only where the server is the same, the direction granted, implicit
//! binding, DESTROY_SESSION on a bound connection, and a client that stops
//! using a session where the server's owner changed.

use super::{Check, Judge, Need, Violation};
use crate::model::event::{At, Event};
use crate::model::{relation, Model, Relation, SessionKey};
use crate::nfs4::{
    ChannelDirFromClient4, ChannelDirFromServer4, NfsStat4, SessionId4, StateProtectHow4,
};

rules! {
    BCTS_DIRECTION: "bcts.direction", "RFC 8881 §18.34.3", [70], Violation, Server, [],
        "bctsr_dir is one the requested bctsa_dir allows";
    CLIENT_SESSION_TRUNKING: "client.session-trunking", "RFC 8881 §2.10.5, §2.10.4", [13, 19, 114], Violation, Client, [],
        "a client joins a connection to a session only at an address with the same server scope, major and minor id";
    SERVER_SESSION_TRUNKING: "server.session-trunking-consistent", "RFC 8881 §2.10.5", [19], Warning, Server, [],
        "a server that accepts a session at another address declares the same server scope, major and minor id there";
    SEQ_IMPLICIT_BINDING: "seq.implicit-binding", "RFC 8881 §2.10.3.1", [25], Violation, Server, [],
        "with SP4_NONE, a SEQUENCE on a new connection binds it to the session's fore channel (no NFS4ERR_CONN_NOT_BOUND_TO_SESSION)";
    DSESS_BOUND_CONNECTION: "dsess.bound-connection", "RFC 8881 §18.37.3", [83], Violation, Server, [ConnectionWhole],
        "DESTROY_SESSION is accepted only on a connection bound to that session";
    CLIENT_OWNER_CHANGE: "client.owner-change", "RFC 8881 §2.10.5", [21], Warning, Client, [],
        "after an address declares another server owner (or minor id), the client stops using sessions that are no longer valid there";
    BCTS_SAME_ADDRESS: "bcts.same-address", "RFC 8881 §2.10.5", [17], Violation, Server, [],
        "a server binds a new connection to a live session at the address that created it (it supports session trunking within one address)";
}

/// A BIND_CONN_TO_SESSION refused at the address that created the session,
/// waiting for the session's next use to show it was alive.
#[derive(Debug, Clone)]
struct Refusal {
    session: SessionKey,
    server: std::net::SocketAddr,
    message: String,
    frames: Vec<u64>,
}

/// The session trunking rules, with refusals not yet judged.
#[derive(Debug, Default)]
pub struct BindConn {
    refused: Vec<Refusal>,
}

impl Check for BindConn {
    fn finish(&mut self, j: &mut Judge<'_>) {
        for _ in std::mem::take(&mut self.refused) {
            j.not_judged(&BCTS_SAME_ADDRESS, Need::Alive);
        }
    }

    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::BindConnToSession {
                dir, result: Ok(x), ..
            } => {
                let at = j.at();
                j.judge(&BCTS_DIRECTION, || direction(dir, x.bctsr_dir, at));
                trunked(&x.bctsr_sessid, "BIND_CONN_TO_SESSION", j);
            }
            Event::Sequence { result: Ok(x), .. } => {
                let (m, at) = (j.model(), j.at());
                if let Some(key) = m.session_key_at(at.server, &x.sr_sessionid) {
                    let (used, waiting): (Vec<Refusal>, Vec<Refusal>) =
                        std::mem::take(&mut self.refused)
                            .into_iter()
                            .partition(|r| r.session == key && r.server == at.server);
                    self.refused = waiting;
                    for r in used {
                        let mut frames = r.frames;
                        frames.extend(at.frames());
                        j.judge(&BCTS_SAME_ADDRESS, || {
                            Some(Violation::new(r.message, frames))
                        });
                    }
                }
                trunked(&x.sr_sessionid, "SEQUENCE", j);
                let (m, at) = (j.model(), j.at());
                if m.session_at(at.server, &x.sr_sessionid).is_some() {
                    j.judge(&CLIENT_OWNER_CHANGE, || {
                        owner_change(m, at, &x.sr_sessionid)
                    });
                }
            }
            Event::BindConnToSession {
                session,
                result:
                    Err(
                        st @ (NfsStat4::NFS4ERR_BADSESSION
                        | NfsStat4::NFS4ERR_NOTSUPP
                        | NfsStat4::NFS4ERR_SERVERFAULT),
                    ),
                ..
            } => {
                // A live session refused at the very address that created it:
                // judged when its next use there shows it was alive (a
                // restart in between would make the refusal right).
                let (m, at) = (j.model(), j.at());
                let Some(key) = m.session_key_at(at.server, &session).filter(|k| {
                    m.sessions
                        .get(k)
                        .is_some_and(|s| s.ended.is_none() && s.endpoint == at.server)
                }) else {
                    return;
                };
                let created = m
                    .sessions
                    .get(&key)
                    .map_or(0, |s| s.created_frame.unwrap_or(s.first_frame));
                self.refused.push(Refusal {
                    session: key,
                    server: at.server,
                    message: format!(
                        "{} refused BIND_CONN_TO_SESSION of session {session} with {st}; the session, created at this address (frame {created}), was in use before and after",
                        at.server
                    ),
                    frames: at.frames(),
                });
            }
            Event::Sequence {
                session,
                result: Err(NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION),
                ..
            } => {
                let (m, at) = (j.model(), j.at());
                j.judge(&SEQ_IMPLICIT_BINDING, || {
                    let s = m.live_session(at.server, &session)?;
                    let r = m.session_record(s)?;
                    (r.state_protect == Some(StateProtectHow4::SP4_NONE)).then(|| {
                        Violation::new(
                            format!(
                                "{} refused SEQUENCE of session {session} (SP4_NONE client ID {:#018x}) with NFS4ERR_CONN_NOT_BOUND_TO_SESSION",
                                at.server, r.clientid
                            ),
                            at.frames(),
                        )
                    })
                });
            }
            Event::DestroySession { session } if !j.at().compound.sequenced => {
                let (m, at) = (j.model(), j.at());
                let Some(s) = m.live_session(at.server, &session) else {
                    return;
                };
                if !s.connections.contains_key(&at.conn) {
                    j.judge(&DSESS_BOUND_CONNECTION, || {
                        Some(Violation::new(
                            format!(
                                "DESTROY_SESSION of {session} accepted on connection {}, never bound to it",
                                at.conn
                            ),
                            at.frames(),
                        ))
                    });
                }
            }
            _ => {}
        }
    }
}

/// The direction granted against the one asked for.
fn direction(
    asked: ChannelDirFromClient4,
    got: ChannelDirFromServer4,
    at: &At,
) -> Option<Violation> {
    let allowed: &[ChannelDirFromServer4] = match asked {
        ChannelDirFromClient4::CDFC4_FORE => &[ChannelDirFromServer4::CDFS4_FORE],
        ChannelDirFromClient4::CDFC4_BACK => &[ChannelDirFromServer4::CDFS4_BACK],
        ChannelDirFromClient4::CDFC4_FORE_OR_BOTH => &[
            ChannelDirFromServer4::CDFS4_FORE,
            ChannelDirFromServer4::CDFS4_BOTH,
        ],
        ChannelDirFromClient4::CDFC4_BACK_OR_BOTH => &[
            ChannelDirFromServer4::CDFS4_BACK,
            ChannelDirFromServer4::CDFS4_BOTH,
        ],
        _ => return None,
    };
    (!allowed.contains(&got))
        .then(|| Violation::new(format!("asked {asked}, granted {got}"), at.frames()))
}

/// A connection to this event's server joined a session created elsewhere:
/// the two addresses must be session-trunkable by what they declared. A
/// session of the same declared server is judged on what both addresses
/// declared; one the model knows only at another server may be this
/// server's own of the same id, created where the capture does not show,
/// so only a complete capture judges it.
fn trunked(session: &SessionId4, how: &str, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let server = at.server;
    let (home, same_server) = match m.session_at(server, session) {
        Some(s) if s.ended.is_none() => (s.endpoint, true),
        Some(_) => return,
        None => {
            let range = crate::model::SessionKey { id: *session, n: 0 }
                ..=crate::model::SessionKey {
                    id: *session,
                    n: u32::MAX,
                };
            let Some(s) = m
                .sessions
                .range(range)
                .map(|(_, s)| s)
                .find(|s| s.ended.is_none() && s.endpoint != server)
            else {
                return;
            };
            (s.endpoint, false)
        }
    };
    if home == server {
        return;
    }
    let (Some(a), Some(b)) = (m.endpoints.get(&home), m.endpoints.get(&server)) else {
        return;
    };
    let rel = relation(a, b);
    if matches!(rel, Relation::SessionTrunkable | Relation::Unknown) {
        return;
    }
    let msg = format!(
        "session {session} of {home} used at {server} by {how}, but the two are {}",
        rel.as_str()
    );
    let needs: &[Need] = if same_server { &[] } else { &[Need::Complete] };
    j.judge_needing(&CLIENT_SESSION_TRUNKING, needs, None, || {
        Some(Violation::new(msg.clone(), at.frames()))
    });
    j.judge_needing(&SERVER_SESSION_TRUNKING, needs, None, || {
        Some(Violation::new(
            format!("{msg}; the server accepted it"),
            at.frames(),
        ))
    });
}

/// Row 21: a session still used at an address that declared another owner
/// since the session was first seen.
fn owner_change(m: &Model, at: &At, sid: &SessionId4) -> Option<Violation> {
    let server = at.server;
    let (ep, s) = (m.endpoints.get(&server)?, m.session_at(server, sid)?);
    let n = ep.declarations.len();
    if n < 2 {
        return None;
    }
    let (prev, cur) = (&ep.declarations[n - 2], &ep.declarations[n - 1]);
    if s.first_frame >= cur.first_frame {
        return None;
    }
    let owner_changed = prev.major != cur.major || prev.scope != cur.scope;
    let what = if s.endpoint == server && owner_changed {
        "another server owner or scope"
    } else if s.endpoint != server
        && prev.minor != cur.minor
        && m.endpoints
            .get(&s.endpoint)
            .is_some_and(|home| relation(home, ep) != Relation::SessionTrunkable)
    {
        "another minor id, not session-trunkable with the session's server"
    } else {
        return None;
    };
    let changed = cur.first_frame;
    Some(Violation::new(
        format!(
            "{server} declared {what} in frame {changed}; the client still uses session {sid} (seen since frame {}) there",
            s.first_frame
        ),
        at.frames_after(changed),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn bind_conn_to_session_direction_mapping() {
        use ChannelDirFromClient4 as C;
        use ChannelDirFromServer4 as S;
        let cases = [
            (C::CDFC4_FORE, S::CDFS4_FORE, true),
            (C::CDFC4_FORE, S::CDFS4_BOTH, false),
            (C::CDFC4_BACK, S::CDFS4_BACK, true),
            (C::CDFC4_BACK, S::CDFS4_FORE, false),
            (C::CDFC4_FORE_OR_BOTH, S::CDFS4_BOTH, true),
            (C::CDFC4_FORE_OR_BOTH, S::CDFS4_BACK, false),
            (C::CDFC4_BACK_OR_BOTH, S::CDFS4_BOTH, true),
            (C::CDFC4_BACK_OR_BOTH, S::CDFS4_FORE, false),
        ];
        for (asked, got, ok) in cases {
            let mut c = Conv::new();
            c.exchange(2, CLIENT, SERVER_A, vec![bcts(asked)], vec![bcts_ok(got)]);
            let expect: Vec<&str> = if ok { vec![] } else { vec!["bcts.direction"] };
            assert_eq!(c.rules(), expect, "{asked} -> {got}");
        }
    }

    #[test]
    fn joining_a_session_at_an_address_that_is_not_session_trunkable() {
        let none = Seq4Status(0);
        // B declares another minor id: client ID trunkable, not session trunkable.
        let mut c = with_session();
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(
                7,
                PNFS | ExchgId4Flags::CONFIRMED_R,
                "srv",
                1,
            )],
        );
        c.exchange(
            3,
            CLIENT,
            SERVER_B,
            vec![bcts(ChannelDirFromClient4::CDFC4_FORE)],
            vec![bcts_ok(ChannelDirFromServer4::CDFS4_FORE)],
        );
        assert_eq!(
            c.rules(),
            vec![
                "client.session-trunking",
                "server.session-trunking-consistent"
            ]
        );
        // Same minor id too: fine, also by implicit binding with SEQUENCE.
        let mut c = with_session();
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(
                7,
                PNFS | ExchgId4Flags::CONFIRMED_R,
                "srv",
                0,
            )],
        );
        c.exchange(3, CLIENT, SERVER_B, vec![seq_n(1)], vec![seq_ok_n(1, none)]);
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn destroy_session_position_and_connection() {
        let ok = NfsStat4::NFS4_OK;
        let destroy = || {
            NfsArgOp::DestroySession(DestroySession4Args {
                dsa_sessionid: SessionId4([1; 16]),
            })
        };
        // Not last after SEQUENCE, accepted.
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1), destroy(), NfsArgOp::Putrootfh(())],
            vec![
                seq_ok_n(1, Seq4Status(0)),
                NfsResOp::DestroySession(ok),
                NfsResOp::Putrootfh(ok),
            ],
        );
        assert_eq!(c.rules(), vec!["dsess.position"]);
        // Alone, on a connection never bound to the session, accepted.
        let mut c = with_session();
        c.exchange(
            9,
            CLIENT,
            SERVER_A,
            vec![destroy()],
            vec![NfsResOp::DestroySession(ok)],
        );
        assert_eq!(c.rules(), vec!["dsess.bound-connection"]);
        // Alone on the session's own connection: fine.
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![destroy()],
            vec![NfsResOp::DestroySession(ok)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn a_client_stops_using_a_session_where_the_server_owner_changed() {
        for (major, expect) in [("another", vec!["client.owner-change"]), ("srv", vec![])] {
            let mut c = with_session();
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![exchange_id("c", 1, ExchgId4Flags(0))],
                vec![exchange_id_ok(
                    7,
                    PNFS | ExchgId4Flags::CONFIRMED_R,
                    major,
                    0,
                )],
            );
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![seq_n(1)],
                vec![seq_ok_n(1, Seq4Status(0))],
            );
            let got: Vec<&str> = c
                .rules()
                .into_iter()
                .filter(|r| *r == "client.owner-change")
                .collect();
            assert_eq!(got, expect, "major id now {major}");
        }
    }

    #[test]
    fn a_live_session_is_bound_at_its_own_address() {
        let refused = NfsResOp::BindConnToSession(NfsRes::Fail(NfsStat4::NFS4ERR_BADSESSION));
        let mut c = with_session();
        c.exchange(
            2,
            CLIENT,
            SERVER_A,
            vec![bcts(ChannelDirFromClient4::CDFC4_FORE)],
            vec![refused.clone()],
        );
        // Not yet: a restart in between would make the refusal right.
        assert!(c.rules().is_empty());
        assert_eq!(c.x.sink.not_judged()[0].rule.id, "bcts.same-address");
        let mut c = with_session();
        c.exchange(
            2,
            CLIENT,
            SERVER_A,
            vec![bcts(ChannelDirFromClient4::CDFC4_FORE)],
            vec![refused.clone()],
        );
        // The session in use after the refusal: it was alive.
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(1)],
            vec![seq_ok_n(1, Seq4Status(0))],
        );
        assert_eq!(c.rules(), vec!["bcts.same-address"]);
        // A destroyed session is rightly refused.
        let mut c = with_session();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![NfsArgOp::DestroySession(DestroySession4Args {
                dsa_sessionid: SessionId4([1; 16]),
            })],
            vec![NfsResOp::DestroySession(NfsStat4::NFS4_OK)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_A,
            vec![bcts(ChannelDirFromClient4::CDFC4_FORE)],
            vec![refused],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }
}
