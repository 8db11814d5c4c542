//! Client ID trunking (RFC 8881 §2.10.5, §18.35.4 case 2): addresses that
//! declare one server owner and scope give one client owner one client ID;
//! a client presents one owner to every address of a server, and uses a
//! client ID only where its server is.

use super::{Check, Judge, Violation};
use crate::model::event::{At, CallOp, Event};
use crate::model::{
    key_text, ClientIdRecord, Model, OwnerKind, Principal, RecoveryKind, ServerKey,
};
use crate::nfs4::{ExchangeId4ResOk, NfsStat4};
use crate::xdr::escape_bytes;
use std::collections::BTreeSet;
use std::net::SocketAddr;

rules! {
    TRUNK_SAME_CLIENTID: "trunk.same-clientid", "RFC 8881 §2.10.5, §18.35.3", [11, 27], Violation, Server, [Timeline],
        "addresses that declare the same server owner and scope return the same client ID to the same client owner and verifier";
    EXCHID_CASE2_SAME_RESULT: "exchid.case2-same-result", "RFC 8881 §18.35.4 case 2", [46], Violation, Server, [Timeline],
        "a repeated EXCHANGE_ID (same owner and verifier) for a confirmed client ID returns that client ID";
    CLIENT_OWNER_PER_SERVER: "client.same-owner-per-server", "RFC 8881 §2.4", [1], Warning, Client, [],
        "a client uses one co_ownerid for every address of a server";
    CLIENT_CLIENTID_TRUNKING: "client.clientid-trunking", "RFC 8881 §2.10.5, §2.10.4, §11.5.2", [13, 114], Violation, Client, [],
        "a client uses a client ID (CREATE_SESSION) only at addresses that declared the scope and major id of the server that issued it";
}

/// The client ID trunking rules.
#[derive(Debug, Default)]
pub struct Trunking;

impl Check for Trunking {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::ExchangeId {
                call: CallOp::ExchangeId {
                    owner, verifier, ..
                },
                result: Ok(x),
            } => exchange_id(owner, *verifier, x, j),
            Event::CreateSession {
                call: CallOp::CreateSession { clientid, .. },
                result: Ok(_),
            } => {
                let (m, at) = (j.model(), j.at());
                j.judge(&CLIENT_CLIENTID_TRUNKING, || {
                    foreign_client_id(m, at, *clientid)
                });
            }
            _ => {}
        }
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
    fn same_client(&self, r: &ClientIdRecord, all: &[ClientIdRecord]) -> bool {
        r.server == self.key
            && r.clientid != self.clientid
            && r.owner.as_deref() == Some(self.owner)
            && r.verifier == Some(self.verifier)
            && r.destroyed_frame.is_none()
            // An unconfirmed record is replaced by a new client ID
            // (RFC 8881 §18.35.4 case 4): only a confirmed one binds.
            && r.confirmed_frame.is_some()
            && self.same_principal(r)
            && !replaced(all, r)
    }

    /// At one address, a client ID whose upper half (the boot epoch of
    /// common servers) changed comes from a restarted server, which has no
    /// record to match.
    fn same_epoch(&self, r: &ClientIdRecord) -> bool {
        r.clientid >> 32 == self.clientid >> 32
    }
}

fn exchange_id(owner: &[u8], verifier: [u8; 8], x: &ExchangeId4ResOk<'_>, j: &mut Judge<'_>) {
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
    let all = &m.client_ids;
    // Same address, same owner and verifier, confirmed: case 2.
    if let Some(r) = all
        .iter()
        .find(|r| issue.same_client(r, all) && r.endpoints.contains(&server) && issue.same_epoch(r))
    {
        j.judge(&EXCHID_CASE2_SAME_RESULT, || {
            let issued = r.issued_frame.unwrap_or(0);
            (!restarted(m, issued, at.frame)).then(|| {
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
    }
    // Across addresses an epoch change is also what two independent
    // servers claiming one identity look like: judged, unless this address
    // itself issued client IDs of the earlier epoch before (it restarted,
    // and so did the server behind the other address).
    let this_address_restarted = |r: &ClientIdRecord| {
        !issue.same_epoch(r)
            && all.iter().any(|o| {
                o.server == issue.key
                    && o.endpoints.contains(&server)
                    && o.clientid >> 32 == r.clientid >> 32
            })
    };
    if let Some(r) = all.iter().find(|r| {
        issue.same_client(r, all) && !r.endpoints.contains(&server) && !this_address_restarted(r)
    }) {
        j.judge(&TRUNK_SAME_CLIENTID, || {
            let issued = r.issued_frame.unwrap_or(0);
            (!restarted(m, issued, at.frame)).then(|| {
                Violation::new(
                    format!(
                        "{server} returned client ID {clientid:#018x} to owner \"{}\", while {} returned {:#018x} to the same owner and verifier (frame {issued}); both declare {}",
                        escape_bytes(owner),
                        join_addrs(&r.endpoints),
                        r.clientid,
                        key_text(&issue.key),
                    ),
                    at.frames_after(issued),
                )
            })
        });
    }
    j.judge(&CLIENT_OWNER_PER_SERVER, || {
        owner_per_server(m, at, owner, &issue.key)
    });
}

/// A restart-revealing status between frames `from` and `to`.
fn restarted(m: &Model, from: u64, to: u64) -> bool {
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
            && r.destroyed_frame.is_none()
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

/// True when a later confirmation of another client ID for the same owner
/// at the same server replaced `r` (how RFC 8881 §18.35.4 cases 3 and 5
/// end): `r` is no longer the server's confirmed record.
fn replaced(all: &[ClientIdRecord], r: &ClientIdRecord) -> bool {
    all.iter().any(|n| {
        n.server == r.server
            && n.clientid != r.clientid
            && n.owner == r.owner
            && n.confirmed_frame > r.confirmed_frame
    })
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn an_unconfirmed_client_id_may_be_replaced_at_another_address() {
        // RFC 8881 §18.35.4 case 4: an unconfirmed record is replaced by a new
        // client ID, whatever the address; no finding.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv", 0)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(9, PNFS, "srv", 0)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn addresses_claiming_one_server_must_share_client_ids() {
        // Two addresses declare the same owner and scope (e.g. two independent
        // instances misconfigured alike): once the client ID is confirmed at
        // one, the other must return it too (case 2), not a new one.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv", 0)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![create_session(7, 1, CreateSession4Flags(0))],
            vec![create_session_ok(
                1,
                1,
                CreateSession4Flags(0),
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            )],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(9, PNFS, "srv", 0)],
        );
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
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv", 0)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv", 1)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        // Servers that declare different owners may differ.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv-a", 0)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(9, PNFS, "srv-b", 0)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn a_client_varying_its_owner_per_server_address_is_warned() {
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("host/127.0.0.2", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, PNFS, "srv", 0)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("host/127.0.0.3", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(8, PNFS, "srv", 0)],
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
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(7, probe, "srv", 1)],
        );
        c.exchange(
            3,
            CLIENT,
            "127.0.0.4:2049",
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(9, PNFS, "other", 0)],
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
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(8, PNFS, "srv", 0)],
        );
        assert_eq!(c.rules(), vec!["exchid.case2-same-result"]);

        // SETCLIENTID_CONFIRM with a confirm value the server never issued, accepted.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("id")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(5, 9)],
            vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
        );
        assert_eq!(c.rules(), vec!["v40.confirm-mismatch"]);
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("id")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(5, 9)],
            vec![NfsResOp::SetclientidConfirm(
                NfsStat4::NFS4ERR_STALE_CLIENTID,
            )],
        );
        assert!(c.rules().is_empty());

        // SP4_NONE: a SEQUENCE on a new connection must not be refused as unbound.
        let mut c = with_session();
        c.exchange(
            5,
            CLIENT,
            SERVER_A,
            vec![seq_n(1)],
            vec![NfsResOp::Sequence(NfsRes::Fail(
                NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION,
            ))],
        );
        assert_eq!(c.rules(), vec!["seq.implicit-binding"]);
    }

    #[test]
    fn a_client_id_is_used_only_where_its_server_is() {
        // B declares another major id: client ID 7 of A is not B's.
        let mut c = with_session();
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![exchange_id("c", 1, ExchgId4Flags(0))],
            vec![exchange_id_ok(9, PNFS, "other", 0)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![create_session(7, 2, CreateSession4Flags(0))],
            vec![csess_ok(2, 2)],
        );
        assert_eq!(c.rules(), vec!["client.clientid-trunking"]);
        // Same major id (client-ID trunkable): fine.
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
            2,
            CLIENT,
            SERVER_B,
            vec![create_session(7, 2, CreateSession4Flags(0))],
            vec![csess_ok(2, 2)],
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
        // Across addresses another epoch is what two independent servers
        // declaring one identity look like: still judged, unless the second
        // address itself issued client IDs of the first epoch before (then it
        // restarted).
        for b_issued_old_epoch in [false, true] {
            let mut c = Conv::new();
            if b_issued_old_epoch {
                c.exchange(
                    3,
                    "127.0.0.9:901",
                    SERVER_B,
                    vec![exchange_id("d", 1, ExchgId4Flags(0))],
                    vec![exchange_id_ok(0x5f00_0001_0000_0002, PNFS, "srv", 0)],
                );
            }
            exchange_id_at(&mut c, 1, SERVER_A, OLD);
            confirm_at(&mut c, 1, SERVER_A, OLD, 1);
            exchange_id_at(&mut c, 2, SERVER_B, 0x6100_0000_0000_0001);
            if b_issued_old_epoch {
                assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
            } else {
                assert_eq!(c.rules(), vec!["trunk.same-clientid"]);
            }
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
                c.exchange(
                    1,
                    CLIENT,
                    SERVER_A,
                    vec![sequence()],
                    vec![NfsResOp::Sequence(NfsRes::Fail(*st))],
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
