//! NFSv4.0 client identity (RFC 7530 §16.33, §16.34; RFC 7931 §5.8):
//! SETCLIENTID answers per verifier, SETCLIENTID_CONFIRM verifiers, and the
//! trunking test that tells whether two addresses are one server.

use super::{Check, Judge, Violation};
use crate::model::event::Event;
use crate::model::Model;
use crate::xdr::{escape_bytes, hex};
use std::net::SocketAddr;

rules! {
    V40_SAME_CONFIRM: "v40.same-confirm", "RFC 7931 §5.8", [110], Info, Server, [],
        "two addresses returning the same client ID and confirm verifier are likely different servers colliding by chance";
    V40_CONFIRM_MISMATCH: "v40.confirm-mismatch", "RFC 7530 §16.34", [105], Violation, Server, [Complete],
        "SETCLIENTID_CONFIRM with a confirm verifier the server did not issue for that client ID gets NFS4ERR_STALE_CLIENTID";
    V40_NEW_CLIENTID: "v40.clientid-per-verifier", "RFC 7530 §16.33.5", [104], Violation, Server, [Alive],
        "SETCLIENTID with a new verifier (a client reboot) gets a new client ID, not the one confirmed for the old verifier";
    V40_TRUNKING_CONSISTENT: "v40.trunking-consistent", "RFC 7931 §5.8", [109], Violation, Server, [],
        "addresses that the RFC 7931 SETCLIENTID_CONFIRM test shows to be one server give one id string and verifier one client ID";
}

/// The NFSv4.0 rules.
#[derive(Debug, Default)]
pub struct V40;

impl Check for V40 {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        let (m, at) = (j.model(), j.at());
        let server = at.server;
        match *ev {
            Event::SetClientId {
                id,
                verifier,
                reply,
            } => {
                let cid = reply.clientid.0;
                let record = m
                    .live_record(server, cid)
                    .filter(|r| r.owner.as_deref() == Some(id) && r.destroyed_frame.is_none());
                if let Some(r) = record {
                    j.judge_alive(&V40_NEW_CLIENTID, r, || {
                    let (old, cf) = (r.verifier?, r.confirmed_frame?);
                    (old != verifier).then(|| {
                        Violation::new(
                            format!(
                                "{server} returned client ID {cid:#018x} to \"{}\" with a new verifier {}; it was confirmed (frame {cf}) for verifier {}",
                                escape_bytes(id),
                                hex(&verifier),
                                hex(&old)
                            ),
                            at.frames_after(cf),
                        )
                    })
                    });
                }
                let pair = (cid, reply.setclientid_confirm.0);
                let other = m
                    .v40_confirms
                    .iter()
                    .find(|(p, e, _)| *p == pair && *e != server)
                    .map(|(_, e, f)| (*e, *f));
                if let Some((other, f)) = other {
                    j.judge(&V40_SAME_CONFIRM, || {
                        Some(Violation::new(
                            format!(
                                "{server} and {other} returned the same client ID {cid:#018x} and confirm verifier {}",
                                reply.setclientid_confirm
                            ),
                            at.frames_after(f),
                        ))
                    });
                }
            }
            Event::SetClientIdConfirm {
                clientid,
                confirm,
                issued_at,
                status,
            } if status.is_ok() => {
                j.judge(&V40_CONFIRM_MISMATCH, || {
                    confirm_mismatch(m, server, clientid, confirm)
                        .map(|(issued, f)| {
                            Violation::new(
                                format!(
                                    "{server} confirmed client ID {clientid:#018x} with verifier {}, but issued {}",
                                    hex(&confirm),
                                    hex(&issued)
                                ),
                                at.frames_after(f),
                            )
                        })
                });
                if let Some(b) = issued_at {
                    j.judge(&V40_TRUNKING_CONSISTENT, || {
                        let (owner, other, f) = trunking_disagrees(m, b, server, clientid)?;
                        Some(Violation::new(
                            format!(
                                "{server} confirmed client ID {clientid:#018x} issued by {b} (one server, by the RFC 7931 test), but gave the same id string \"{}\" and verifier client ID {other:#018x} (frame {f})",
                                escape_bytes(&owner)
                            ),
                            at.frames_after(f),
                        ))
                    });
                }
            }
            _ => {}
        }
    }
}

/// SETCLIENTID_CONFIRM accepted with a confirm verifier this address never
/// issued for the client ID (while it did issue another): that one, and
/// its frame.
fn confirm_mismatch(
    m: &Model,
    server: SocketAddr,
    clientid: u64,
    confirm: [u8; 8],
) -> Option<([u8; 8], u64)> {
    let known_pair = m
        .v40_confirms
        .iter()
        .any(|(p, _, _)| *p == (clientid, confirm));
    if known_pair {
        return None;
    }
    m.v40_confirms
        .iter()
        .rev()
        .find(|(p, e, _)| p.0 == clientid && *e == server)
        .map(|(p, _, f)| (p.1, *f))
}

/// Row 109: the RFC 7931 test says one server, yet the two addresses gave
/// one id string and verifier different client IDs: the id string, the
/// other client ID and its frame.
fn trunking_disagrees(
    m: &Model,
    issued_at: SocketAddr,
    confirmed_at: SocketAddr,
    cid: u64,
) -> Option<(Vec<u8>, u64, u64)> {
    let b = m.record_for(issued_at, Some(cid))?;
    let (owner, verifier) = (b.owner.clone()?, b.verifier?);
    let key_a = m.endpoints.get(&confirmed_at)?.server_key();
    let a = m.client_ids.iter().find(|r| {
        r.server == key_a
            && r.clientid != cid
            && r.owner.as_deref() == Some(owner.as_slice())
            && r.verifier == Some(verifier)
            && r.issued_frame.is_some()
            && r.destroyed_frame.is_none()
    })?;
    Some((owner, a.clientid, a.issued_frame.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn nfsv40_trunking_test_of_rfc_7931() {
        // One server on two addresses: B returns A's client ID with a new
        // confirm value; confirming B's values at A succeeds.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("uniform")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(5, 1)],
            vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![setclientid("uniform")],
            vec![setclientid_ok(5, 2)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(5, 2)],
            vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
        );
        let t = &c.x.sink.model().v40_trunking;
        assert_eq!(t.len(), 1);
        assert!(t[0].same_server());
        assert_eq!(t[0].issued_at, SERVER_B.parse().unwrap());
        assert_eq!(t[0].confirmed_at, SERVER_A.parse().unwrap());
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
        // Two servers: A does not know B's client ID.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("uniform")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![setclientid("uniform")],
            vec![setclientid_ok(9, 3)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(9, 3)],
            vec![NfsResOp::SetclientidConfirm(
                NfsStat4::NFS4ERR_STALE_CLIENTID,
            )],
        );
        let t = &c.x.sink.model().v40_trunking;
        assert_eq!(t.len(), 1);
        assert!(!t[0].same_server());
        // Identical (client ID, confirm) from two addresses: noted.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("uniform")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![setclientid("uniform")],
            vec![setclientid_ok(5, 1)],
        );
        assert_eq!(c.rules(), vec!["v40.same-confirm"]);
    }

    #[test]
    fn setclientid_with_a_new_verifier_gets_a_new_client_id() {
        for (cid, expect) in [(5, vec!["v40.clientid-per-verifier"]), (6, vec![])] {
            let mut c = v40_client();
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![setclientid_v("id", 2)],
                vec![setclientid_ok(cid, 3)],
            );
            assert_eq!(c.rules(), expect);
        }
    }

    #[test]
    fn the_rfc_7931_test_and_different_client_ids_disagree() {
        let mut c = Conv::new();
        c.minor = 0;
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![setclientid("u")],
            vec![setclientid_ok(5, 1)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(5, 1)],
            vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
        );
        c.exchange(
            2,
            CLIENT,
            SERVER_B,
            vec![setclientid("u")],
            vec![setclientid_ok(9, 2)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![confirm(9, 2)],
            vec![NfsResOp::SetclientidConfirm(NfsStat4::NFS4_OK)],
        );
        assert_eq!(c.rules(), vec!["v40.trunking-consistent"]);
        // (The consistent case, B returning 5, is `nfsv40_trunking_test_of_rfc_7931`.)
    }
}
