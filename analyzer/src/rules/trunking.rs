//! Client ID trunking (RFC 8881 §2.10.5, §18.35.4 case 2): addresses that
//! declare one server owner and scope give one client owner one client ID;
//! a client presents one owner to every address of a server, and uses a
//! client ID only where its server is.
//!
//! Two client IDs for one client at two addresses that declare one server
//! are judged once the capture tells what they are: one server that keys
//! client records by the address it was reached at (the other address
//! accepts the client's session: a server bug), or two servers that claim
//! one identity (the other address refuses the session or client ID: a
//! configuration error). Until then, and at the end of the capture when it
//! never tells, they are a claim (see [`Claim`]).

use super::{alive, within_lease, Check, Judge, Need, Violation};
use crate::model::event::{At, CallOp, Event};
use crate::model::{
    key_text, ClientIdRecord, Model, OwnerKind, Principal, RecoveryKind, ServerKey,
};
use crate::nfs4::{ExchangeId4ResOk, NfsStat4, SessionId4};
use crate::xdr::escape_bytes;
use std::collections::BTreeSet;
use std::net::SocketAddr;

rules! {
    TRUNK_SAME_CLIENTID: "trunk.same-clientid", "RFC 8881 §2.10.5, §18.35.3", [11, 27], Violation, Server, [Timeline, Alive],
        "addresses that declare the same server owner and scope return the same client ID to the same client owner and verifier";
    TRUNK_IDENTITY_COLLISION: "trunk.identity-collision", "RFC 8881 §2.5, §2.10.5", [11, 12], Violation, Server, [Timeline, Alive],
        "two servers do not declare the same server owner and scope: one refuses the session or client ID the other gave the client";
    EXCHID_CASE2_SAME_RESULT: "exchid.case2-same-result", "RFC 8881 §18.35.4 case 2", [46], Violation, Server, [Timeline, Alive],
        "a repeated EXCHANGE_ID (same owner and verifier) for a confirmed client ID returns that client ID";
    CLIENT_OWNER_PER_SERVER: "client.same-owner-per-server", "RFC 8881 §2.4", [1], Warning, Client, [],
        "a client uses one co_ownerid for every address of a server";
    CLIENT_CLIENTID_TRUNKING: "client.clientid-trunking", "RFC 8881 §2.10.5, §2.10.4, §11.5.2", [13, 114], Violation, Client, [Complete],
        "a client uses a client ID (CREATE_SESSION) only at addresses that declared the scope and major id of the server that issued it";
}

/// Two client IDs given to one client (owner, verifier, principal) at two
/// addresses that declare one server, waiting for the capture to tell
/// whether they are one server or two.
#[derive(Debug, Clone)]
struct Claim {
    /// The earlier record (index into the model's client IDs).
    first: usize,
    /// Its value, where it was issued, and when.
    first_cid: u64,
    first_at: BTreeSet<SocketAddr>,
    first_frame: u64,
    /// The later address and the client ID it gave.
    second: SocketAddr,
    second_cid: u64,
    /// The owner, and the identity both declare.
    owner: Vec<u8>,
    key: ServerKey,
    /// Both client IDs have the same upper half (boot epoch).
    same_epoch: bool,
    /// The evidence frames: the first issue, the second call and reply.
    frames: Vec<u64>,
    /// The later address accepted the first client ID's session or client
    /// ID: one server (frame, what).
    one_server: Option<(u64, String)>,
    /// The later address refused them: two servers (frame, what).
    two_servers: Option<(u64, String)>,
    /// The first client ID was renewed after the second was given.
    first_renewed: Option<u64>,
    /// Whether the capture shows the first client ID alive when the second
    /// was given (else only its later use shows it).
    alive: Result<(), Need>,
}

/// The client ID trunking rules, with the claims not yet judged.
#[derive(Debug, Default)]
pub struct Trunking {
    claims: Vec<Claim>,
}

impl Check for Trunking {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::ExchangeId {
                call: CallOp::ExchangeId {
                    owner, verifier, ..
                },
                result: Ok(x),
            } => self.exchange_id(owner, *verifier, x, j),
            Event::CreateSession {
                call: CallOp::CreateSession { clientid, .. },
                result,
            } => {
                let (m, at) = (j.model(), j.at());
                self.evidence_clientid(*clientid, result.is_ok(), result.err(), at);
                if result.is_ok() {
                    j.judge(&CLIENT_CLIENTID_TRUNKING, || {
                        foreign_client_id(m, at, *clientid)
                    });
                }
            }
            Event::Sequence {
                session,
                result: Ok(_),
                ..
            } => self.evidence_session(&session, None, j),
            Event::BindConnToSession { result: Ok(x), .. } => {
                self.evidence_session(&x.bctsr_sessid, None, j)
            }
            Event::Sequence {
                session,
                result: Err(st @ NfsStat4::NFS4ERR_BADSESSION),
                ..
            } => self.evidence_session(&session, Some(st), j),
            Event::DestroySession { session } => self.evidence_session(&session, None, j),
            Event::DestroyClientid {
                clientid,
                status: NfsStat4::NFS4_OK,
            }
            | Event::Renew {
                clientid,
                status: NfsStat4::NFS4_OK,
            } => {
                let at = j.at();
                for c in self.claims.iter_mut() {
                    if c.first_cid == clientid && c.first_at.contains(&at.server) {
                        c.first_renewed.get_or_insert(at.frame);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, j: &mut Judge<'_>) {
        for c in std::mem::take(&mut self.claims) {
            c.judge(j);
        }
    }
}

impl Trunking {
    fn exchange_id(
        &mut self,
        owner: &[u8],
        verifier: [u8; 8],
        x: &ExchangeId4ResOk<'_>,
        j: &mut Judge<'_>,
    ) {
        let (m, at) = (j.model(), j.at());
        let server = at.server;
        let issue = Issue {
            owner,
            verifier,
            principal: at.principal.as_ref(),
            clientid: x.eir_clientid.0,
            key: ServerKey::declared_by(x),
        };
        let clientid = issue.clientid;
        // Only what the server behind this address gave in its current
        // incarnation is comparable with what it gives now.
        let since = m
            .endpoints
            .get(&server)
            .map_or(0, |e| e.incarnation_since());
        let candidates = || {
            m.client_ids
                .iter()
                .enumerate()
                .filter(|(_, r)| issue.same_client(r) && r.issued_frame.unwrap_or(0) >= since)
        };
        // Same address, same owner and verifier, confirmed: case 2.
        if let Some((_, r)) = candidates().find(|(_, r)| r.endpoints.contains(&server)) {
            j.judge_alive(&EXCHID_CASE2_SAME_RESULT, r, || {
                let issued = r.issued_frame.unwrap_or(0);
                (!expired_between(m, issued, at.frame)).then(|| {
                    Violation::new(
                        format!(
                            "{server} returned client ID {clientid:#018x} to owner \"{}\" whose confirmed client ID is {:#018x} (frame {issued})",
                            escape_bytes(owner),
                            r.clientid
                        ),
                        at.frames_after(issued),
                    )
                })
            });
        } else if let Some((i, r)) = candidates().find(|(_, r)| !r.endpoints.contains(&server)) {
            // Another address of the same declared server.
            let issued = r.issued_frame.unwrap_or(0);
            if expired_between(m, issued, at.frame) {
                return;
            }
            if m.limit_counts.first_event_dropped_frame.is_some() {
                j.not_judged(&TRUNK_SAME_CLIENTID, Need::Timeline);
                return;
            }
            self.claims.push(Claim {
                first: i,
                first_cid: r.clientid,
                first_at: r.endpoints.clone(),
                first_frame: issued,
                second: server,
                second_cid: clientid,
                owner: owner.to_vec(),
                key: issue.key.clone(),
                same_epoch: r.clientid >> 32 == clientid >> 32,
                frames: at.frames_after(issued),
                one_server: None,
                two_servers: None,
                first_renewed: None,
                alive: alive(m, r, at).or_else(|n| {
                    // One boot epoch for both: the server did not restart in
                    // between; a complete capture shows no end, and the
                    // lease had not run out.
                    let within = r
                        .alive
                        .is_some_and(|(t, _, _)| within_lease(m, r, at, at.ts.since(t)).is_ok());
                    let whole = m.complete && !m.gaps_seen;
                    if r.clientid >> 32 == clientid >> 32 && whole && within {
                        Ok(())
                    } else {
                        Err(n)
                    }
                }),
            });
        }
        j.judge(&CLIENT_OWNER_PER_SERVER, || {
            owner_per_server(m, at, owner, &issue.key)
        });
    }

    /// A CREATE_SESSION at the later address with the first client ID.
    fn evidence_clientid(&mut self, cid: u64, ok: bool, err: Option<NfsStat4>, at: &At) {
        for c in self
            .claims
            .iter_mut()
            .filter(|c| c.second == at.server && c.first_cid == cid)
        {
            if ok {
                c.one_server.get_or_insert((
                    at.frame,
                    format!(
                        "{} accepted CREATE_SESSION with {cid:#018x} in frame {}",
                        at.server, at.frame
                    ),
                ));
            } else if err == Some(NfsStat4::NFS4ERR_STALE_CLIENTID) {
                c.two_servers.get_or_insert((
                    at.frame,
                    format!(
                        "{} answered NFS4ERR_STALE_CLIENTID for {cid:#018x} in frame {}",
                        at.server, at.frame
                    ),
                ));
            }
        }
    }

    /// A SEQUENCE or BIND_CONN_TO_SESSION for a session of the first client
    /// ID: accepted at the later address (one server), refused there (two
    /// servers), or accepted at the first (the first still alive).
    fn evidence_session(&mut self, session: &SessionId4, refused: Option<NfsStat4>, j: &Judge<'_>) {
        let (m, at) = (j.model(), j.at());
        let Some(s) = m.session_at(at.server, session) else {
            return;
        };
        let Some(i) = m.session_record_index(s) else {
            return;
        };
        for c in self.claims.iter_mut().filter(|c| c.first == i) {
            match refused {
                None if at.server == c.second => {
                    c.one_server.get_or_insert((
                        at.frame,
                        format!(
                            "{} accepted session {session} of {:#018x} in frame {}",
                            at.server, c.first_cid, at.frame
                        ),
                    ));
                }
                None if c.first_at.contains(&at.server) => {
                    c.first_renewed.get_or_insert(at.frame);
                }
                Some(st) if at.server == c.second => {
                    c.two_servers.get_or_insert((
                        at.frame,
                        format!(
                            "{} answered {st} for session {session} of {:#018x} in frame {}",
                            at.server, c.first_cid, at.frame
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
}

impl Claim {
    /// The verdict on the claim, once the capture told what it could.
    fn judge(self, j: &mut Judge<'_>) {
        let base = format!(
            "{} returned client ID {:#018x} to owner \"{}\", while {} returned {:#018x} to the same owner and verifier (frame {}); both declare {}",
            self.second,
            self.second_cid,
            escape_bytes(&self.owner),
            join_addrs(&self.first_at),
            self.first_cid,
            self.first_frame,
            key_text(&self.key),
        );
        let mut frames = self.frames.clone();
        // Alive then, or used again since (so alive then too).
        let alive = match (
            self.alive,
            self.first_renewed.or(self.one_server.as_ref().map(|o| o.0)),
        ) {
            (Ok(()), _) | (_, Some(_)) => Ok(()),
            (Err(n), None) => Err(n),
        };
        if let Err(n) = alive {
            let rule = if self.two_servers.is_some() {
                &TRUNK_IDENTITY_COLLISION
            } else {
                &TRUNK_SAME_CLIENTID
            };
            j.not_judged(rule, n);
            return;
        }
        if let Some((f, what)) = &self.two_servers {
            frames.push(*f);
            for a in &self.first_at {
                j.refute_trunking(*a, self.second, &TRUNK_IDENTITY_COLLISION);
            }
            let first_at: Vec<SocketAddr> = std::iter::once(self.second)
                .chain(self.first_at.iter().copied())
                .collect();
            j.judge(&TRUNK_IDENTITY_COLLISION, || {
                Some(
                    Violation::new(
                        format!(
                            "{base}; {what}: two servers claim one identity (give each its own server owner or scope)"
                        ),
                        frames,
                    )
                    .about(first_at),
                )
            });
            return;
        }
        let evidence = match (&self.one_server, self.first_renewed) {
            (Some((f, what)), _) => {
                frames.push(*f);
                format!("; {what}: one server keeps client records per address")
            }
            (None, Some(f)) => {
                frames.push(f);
                format!("; both client IDs were in use (frame {f})")
            }
            (None, None) if self.same_epoch => String::new(),
            (None, None) => {
                // A new boot epoch: the server may have restarted in
                // between, which the capture neither shows nor refutes.
                j.not_judged(&TRUNK_SAME_CLIENTID, Need::Complete);
                return;
            }
        };
        for a in &self.first_at {
            j.refute_trunking(*a, self.second, &TRUNK_SAME_CLIENTID);
        }
        let first_at: Vec<SocketAddr> = std::iter::once(self.second)
            .chain(self.first_at.iter().copied())
            .collect();
        j.judge(&TRUNK_SAME_CLIENTID, || {
            Some(Violation::new(format!("{base}{evidence}"), frames).about(first_at))
        });
    }
}

/// What one EXCHANGE_ID reply is compared with.
struct Issue<'a> {
    owner: &'a [u8],
    verifier: [u8; 8],
    principal: Option<&'a Principal>,
    clientid: u64,
    key: ServerKey,
}

impl Issue<'_> {
    /// Cases 2 and the trunking rule hold only for the same principal
    /// (another one is case 3). A flavor the model cannot tell principals
    /// apart in never counts as the same.
    fn same_principal(&self, r: &ClientIdRecord) -> bool {
        !matches!(self.principal, None | Some(Principal::Other(_)))
            && r.principal.as_ref() == self.principal
    }

    /// The same owner and verifier, confirmed, still the server's record.
    fn same_client(&self, r: &ClientIdRecord) -> bool {
        r.server == self.key
            && r.clientid != self.clientid
            && r.live()
            && r.owner.as_deref() == Some(self.owner)
            && r.verifier == Some(self.verifier)
            && r.destroyed_frame.is_none()
            // An unconfirmed record is replaced by a new client ID
            // (RFC 8881 §18.35.4 case 4): only a confirmed one binds.
            && r.confirmed_frame.is_some()
            && self.same_principal(r)
    }
}

/// A status between frames `from` and `to` that says a lease expired or a
/// server lost state.
fn expired_between(m: &Model, from: u64, to: u64) -> bool {
    m.recovery.iter().any(|e| {
        (from..=to).contains(&e.frame)
            && matches!(
                e.kind,
                RecoveryKind::Status(
                    NfsStat4::NFS4ERR_STALE_CLIENTID
                        | NfsStat4::NFS4ERR_BADSESSION
                        | NfsStat4::NFS4ERR_EXPIRED
                )
            )
    })
}

/// One host, two owners, two addresses of one server.
fn owner_per_server(m: &Model, at: &At, owner: &[u8], key: &ServerKey) -> Option<Violation> {
    let host = at.client.ip();
    let server = at.server;
    let c = m.clients.iter().find(|c| {
        c.kind == OwnerKind::V41
            && c.owner != owner
            && c.sources.contains(&host)
            && c.endpoints.iter().any(|e| {
                *e != server && m.endpoints.get(e).is_some_and(|ep| ep.server_key() == *key)
            })
    })?;
    Some(Violation::new(
        format!(
            "client {host} presented owner \"{}\" to {server} and owner \"{}\" to {} of the same server ({})",
            escape_bytes(owner),
            escape_bytes(&c.owner),
            join_addrs(&c.endpoints),
            key_text(key),
        ),
        at.frames_after(c.first_frame),
    ))
}

/// CREATE_SESSION at an address with a client ID that another server
/// identity issued and this one never returned (rows 13 and 114).
fn foreign_client_id(m: &Model, at: &At, cid: u64) -> Option<Violation> {
    let ep = m.endpoints.get(&at.server)?;
    ep.current()?;
    let key = ep.server_key();
    if m.client_ids
        .iter()
        .any(|r| r.server == key && r.clientid == cid && r.issued_frame.is_some())
    {
        return None;
    }
    let r = m.client_ids.iter().find(|r| {
        r.server != key
            && r.clientid == cid
            && r.issued_frame.is_some()
            && r.live()
            && matches!(r.server, ServerKey::Declared { .. })
    })?;
    let issued = r.issued_frame.unwrap_or(0);
    Some(Violation::new(
        format!(
            "CREATE_SESSION at {} ({}) with client ID {cid:#018x}, issued in frame {issued} by another server ({})",
            at.server,
            key_text(&key),
            key_text(&r.server)
        ),
        at.frames_after(issued),
    ))
}

/// Addresses joined with ", ".
pub(crate) fn join_addrs(a: &BTreeSet<SocketAddr>) -> String {
    a.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn an_unconfirmed_client_id_may_be_replaced_at_another_address() {
        // RFC 8881 §18.35.4 case 4: an unconfirmed record is replaced by a new
        // client ID, whatever the address; no finding.
        let mut c = Conv::new();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
        c.eid(2, SERVER_B, "c", 1, exchange_id_ok(9, PNFS, "srv", 0));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn addresses_claiming_one_server_must_share_client_ids() {
        // Two addresses declare the same owner and scope (e.g. two independent
        // instances misconfigured alike): once the client ID is confirmed at
        // one, the other must return it too (case 2), not a new one.
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
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            ),
        );
        c.eid(2, SERVER_B, "c", 1, exchange_id_ok(9, PNFS, "srv", 0));
        assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
        let f = &c.x.sink.findings()[0];
        assert_eq!(f.frames, vec![2, 5, 6]);
        assert!(
            f.message
                .contains("127.0.0.3:2049 returned client ID 0x0000000000000009"),
            "{}",
            f.message
        );
        // One real server on two addresses: the same client ID.
        let mut c = Conv::new();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
        c.eid(2, SERVER_B, "c", 1, exchange_id_ok(7, PNFS, "srv", 1));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        // Servers that declare different owners may differ.
        let mut c = Conv::new();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv-a", 0));
        c.eid(2, SERVER_B, "c", 1, exchange_id_ok(9, PNFS, "srv-b", 0));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn a_client_varying_its_owner_per_server_address_is_warned() {
        let mut c = Conv::new();
        c.eid(
            1,
            SERVER_A,
            "host/127.0.0.2",
            1,
            exchange_id_ok(7, PNFS, "srv", 0),
        );
        c.eid(
            2,
            SERVER_B,
            "host/127.0.0.3",
            1,
            exchange_id_ok(8, PNFS, "srv", 0),
        );
        assert_eq!(c.rules(), vec!["client.same-owner-per-server"]);
        let f = &c.x.sink.findings()[0];
        assert_eq!(f.rule.severity, crate::rules::Severity::Warning);
        assert_eq!(f.rule.party, crate::rules::Party::Client);
    }

    #[test]
    fn identities_group_endpoints_by_declaration() {
        let probe = PNFS | ExchgId4Flags::CONFIRMED_R;
        let mut c = with_session();
        c.eid(2, SERVER_B, "c", 1, exchange_id_ok(7, probe, "srv", 1));
        c.op(
            3,
            "127.0.0.4:2049",
            exchange_id("c", 1, ExchgId4Flags(0)),
            exchange_id_ok(9, PNFS, "other", 0),
        );
        let m = c.x.sink.model();
        let ids = m.server_identities();
        assert_eq!(ids.len(), 2, "(scope-1, other) and (scope-1, srv)");
        let srv = ids.iter().position(|i| i.endpoints.len() == 2).unwrap();
        let groups = m.minor_groups(&ids[srv]);
        assert_eq!(groups.len(), 2, "minor ids 0 and 1");
        assert_eq!(
            m.scope_relations().len(),
            1,
            "both identities declared scope-1"
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn exchange_id_case_2_and_v40_confirm_and_implicit_binding() {
        // Case 2 at the same address: a new client ID for a confirmed owner.
        let mut c = with_session();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(8, PNFS, "srv", 0));
        assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
        // Bytes of the connection lost in between (a DESTROY_CLIENTID whose
        // reply alone was captured, say): the record may have ended unseen.
        let mut c = with_session();
        c.lose_bytes(1);
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(8, PNFS, "srv", 0));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());

        // SETCLIENTID_CONFIRM with a confirm value the server never issued, accepted.
        let mut c = Conv::new();
        c.op(1, SERVER_A, setclientid("id"), setclientid_ok(5, 1));
        c.op(
            1,
            SERVER_A,
            confirm(5, 9),
            NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK),
        );
        assert_eq!(c.rules(), vec!["v40.confirm-mismatch"]);
        let mut c = Conv::new();
        c.op(1, SERVER_A, setclientid("id"), setclientid_ok(5, 1));
        c.op(
            1,
            SERVER_A,
            confirm(5, 9),
            NfsResOp::SetclientidConfirm(NfsStat4::NFS4ERR_STALE_CLIENTID),
        );
        assert!(c.rules().is_empty());

        // SP4_NONE: a SEQUENCE on a new connection must not be refused as unbound.
        let mut c = with_session();
        c.op(
            5,
            SERVER_A,
            seq_n(1),
            NfsResOp::Sequence(NfsRes::Fail(NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION)),
        );
        assert_eq!(c.rules(), vec!["seq.implicit-binding"]);
    }

    #[test]
    fn a_client_id_is_used_only_where_its_server_is() {
        // B declares another major id: client ID 7 of A is not B's.
        let mut c = with_session();
        c.eid(2, SERVER_B, "c", 1, exchange_id_ok(9, PNFS, "other", 0));
        c.op(
            2,
            SERVER_B,
            create_session(7, 2, CreateSession4Flags(0)),
            csess_ok(2, 2),
        );
        assert_eq!(c.rules(), vec!["client.clientid-trunking"]);
        // Same major id (client-ID trunkable): fine.
        let mut c = with_session();
        c.eid(
            2,
            SERVER_B,
            "c",
            1,
            exchange_id_ok(7, PNFS | ExchgId4Flags::CONFIRMED_R, "srv", 1),
        );
        c.op(
            2,
            SERVER_B,
            create_session(7, 2, CreateSession4Flags(0)),
            csess_ok(2, 2),
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn case_2_holds_only_for_the_principal_that_confirmed() {
        // RFC 8881 §18.35.4: the same owner and verifier from another principal
        // is case 3 (client collision), where a new client ID is legitimate;
        // from the same principal it is case 2 and must return the confirmed one.
        for other_principal in [true, false] {
            let mut c = Conv::new();
            c.as_sys("host-a", 0, 0, &[]);
            exchange_id_at(&mut c, 1, SERVER_A, 7);
            confirm_at(&mut c, 1, SERVER_A, 7, 1);
            if other_principal {
                c.as_sys("host-a", 1000, 1000, &[]);
            }
            exchange_id_at(&mut c, 1, SERVER_A, 8);
            if other_principal {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            } else {
                assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
                assert_eq!(c.x.sink.findings()[0].frames, vec![2, 5, 6]);
            }
        }
    }

    #[test]
    fn trunking_holds_only_for_the_principal_that_confirmed() {
        // The client ID confirmed at A belongs to its principal: another
        // principal presenting the same owner at B gets a new one (case 3).
        for other_principal in [true, false] {
            let mut c = Conv::new();
            c.as_sys("host-a", 0, 0, &[]);
            exchange_id_at(&mut c, 1, SERVER_A, 7);
            confirm_at(&mut c, 1, SERVER_A, 7, 1);
            if other_principal {
                c.as_sys("host-b", 0, 0, &[]);
            }
            exchange_id_at(&mut c, 2, SERVER_B, 9);
            if other_principal {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            } else {
                assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
            }
        }
    }

    #[test]
    fn a_new_boot_epoch_at_one_address_is_a_restart_not_case_2() {
        // Ganesha and Linux put their boot time in the upper half of a client
        // ID: a new client ID with another upper half at the same address comes
        // from a restarted server that lost the confirmed record.
        const OLD: u64 = 0x5f00_0001_0000_0007;
        for (new, judged) in [
            (0x5f00_0002_0000_0001, false),
            (0x5f00_0001_0000_0008, true),
        ] {
            let mut c = Conv::new();
            exchange_id_at(&mut c, 1, SERVER_A, OLD);
            confirm_at(&mut c, 1, SERVER_A, OLD, 1);
            exchange_id_at(&mut c, 1, SERVER_A, new);
            if judged {
                assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
            } else {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            }
        }
        // Across addresses another epoch is a restart of one server or two
        // servers declaring one identity: the capture tells only when the
        // first client ID is used again after the second was given.
        for renewed in [false, true] {
            let mut c = Conv::new();
            exchange_id_at(&mut c, 1, SERVER_A, OLD);
            confirm_at(&mut c, 1, SERVER_A, OLD, 1);
            // Long enough after for a restart in between.
            c.ts = Timestamp { secs: 30, nanos: 0 };
            exchange_id_at(&mut c, 2, SERVER_B, 0x6100_0000_0000_0001);
            if renewed {
                c.op(1, SERVER_A, seq_on(1, 1), seq_on_ok(1, 1, Seq4Status(0)));
                assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
            } else {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
                assert!(
                    c.x.sink
                        .not_judged()
                        .iter()
                        .any(|n| n.rule.id == "trunk.same-clientid"),
                    "{:?}",
                    c.x.sink.not_judged()
                );
            }
        }
    }

    #[test]
    fn the_other_address_tells_one_server_from_two() {
        // The second address accepts the first client ID's session: one
        // server keeping records per address. It refuses it: two servers
        // claiming one identity.
        for (answer, expect) in [
            (seq_on_ok(1, 1, Seq4Status(0)), "trunk.same-clientid"),
            (
                seq_fail(NfsStat4::NFS4ERR_BADSESSION),
                "trunk.identity-collision",
            ),
        ] {
            let mut c = Conv::new();
            exchange_id_at(&mut c, 1, SERVER_A, 7);
            confirm_at(&mut c, 1, SERVER_A, 7, 1);
            exchange_id_at(&mut c, 2, SERVER_B, 8);
            c.op(2, SERVER_B, seq_on(1, 1), answer);
            assert_eq!(c.rules(), vec![expect]);
            let message = &c.x.sink.findings()[0].message;
            assert!(
                message.contains("one server keeps client records per address")
                    || message.contains("two servers claim one identity"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_client_id_replaced_by_another_principals_is_not_case_2() {
        // P1 confirms 7; P2 presents the same owner and verifier, gets 9 (case
        // 3) and confirms it, which replaces 7. When P1 comes back the server's
        // confirmed record is P2's: case 3 again, a new client ID is right.
        // Without P2's confirmation 7 is still P1's record: case 2.
        for p2_confirms in [true, false] {
            let mut c = Conv::new();
            c.as_sys("host", 1, 1, &[]);
            exchange_id_at(&mut c, 1, SERVER_A, 7);
            confirm_at(&mut c, 1, SERVER_A, 7, 1);
            c.as_sys("host", 2, 2, &[]);
            exchange_id_at(&mut c, 1, SERVER_A, 9);
            if p2_confirms {
                confirm_at(&mut c, 1, SERVER_A, 9, 2);
            }
            c.as_sys("host", 1, 1, &[]);
            exchange_id_at(&mut c, 1, SERVER_A, 11);
            if p2_confirms {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            } else {
                assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
            }
        }
    }

    #[test]
    fn principals_differing_only_in_groups_are_not_the_same() {
        // Linux nfsd compares the supplementary groups of AUTH_SYS credentials
        // (same_creds): another group list is another principal, case 3.
        for groups in [vec![10], vec![]] {
            let mut c = Conv::new();
            c.as_sys("host", 0, 0, &[]);
            exchange_id_at(&mut c, 1, SERVER_A, 7);
            confirm_at(&mut c, 1, SERVER_A, 7, 1);
            c.as_sys("host", 0, 0, &groups);
            exchange_id_at(&mut c, 1, SERVER_A, 8);
            if groups.is_empty() {
                assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
            } else {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            }
        }
    }

    #[test]
    fn principals_of_an_undecoded_flavor_are_never_taken_for_the_same() {
        // AUTH_DH (flavor 3): the model does not read the body, so two callers
        // cannot be told apart; a new client ID is not judged as case 2.
        let mut c = Conv::new();
        c.cred = OpaqueAuth {
            flavor: crate::rpc::AuthFlavor(3),
            body: Opaque::from(b"alice".to_vec()),
        };
        exchange_id_at(&mut c, 1, SERVER_A, 7);
        confirm_at(&mut c, 1, SERVER_A, 7, 1);
        c.cred = OpaqueAuth {
            flavor: crate::rpc::AuthFlavor(3),
            body: Opaque::from(b"bob".to_vec()),
        };
        exchange_id_at(&mut c, 1, SERVER_A, 8);
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn a_lost_recovery_event_stops_restart_dependent_trunking_checks() {
        // max_events 2: a GRACE and a STALE_CLIENTID after the confirmed
        // record leave the second unrecorded. The restart it reveals may
        // explain the new client ID, so case 2 is not judged; with nothing
        // lost (no second event) it is.
        for lost in [true, false] {
            let mut c = Conv::with_limits(ModelLimits {
                max_events: 2,
                ..ModelLimits::default()
            });
            exchange_id_at(&mut c, 1, SERVER_A, 7);
            confirm_at(&mut c, 1, SERVER_A, 7, 1);
            let statuses: &[NfsStat4] = if lost {
                &[
                    NfsStat4::NFS4ERR_GRACE,
                    NfsStat4::NFS4ERR_GRACE,
                    NfsStat4::NFS4ERR_STALE_CLIENTID,
                ]
            } else {
                &[NfsStat4::NFS4ERR_GRACE, NfsStat4::NFS4ERR_GRACE]
            };
            for st in statuses {
                c.op(
                    1,
                    SERVER_A,
                    sequence(),
                    NfsResOp::Sequence(NfsRes::Fail(*st)),
                );
            }
            exchange_id_at(&mut c, 1, SERVER_A, 8);
            assert_eq!(hits(&c, "max_events/recovery"), u64::from(lost));
            if lost {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
                assert!(
                    c.x.sink
                        .not_judged()
                        .iter()
                        .any(|n| n.rule.id == "exchid.case2-same-result"),
                    "counted not judged: {:?}",
                    c.x.sink.not_judged()
                );
            } else {
                assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);
            }
        }
    }
}
