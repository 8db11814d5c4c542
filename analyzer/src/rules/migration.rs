//! Migration and referrals (RFC 8881 §11.4, §18.35.3, §18.46.3; RFC 7931
//! §5): NFS4ERR_MOVED only to clients that announced support,
//! LEASE_MOVED until the client met NFS4ERR_MOVED, fs_locations of an
//! absent file system, and one id string for a NFSv4.0 client facing
//! migration.

use super::{Check, Judge, Violation};
use crate::model::event::{At, Event, FhOrigin};
use crate::model::{Client, Model, OwnerKind, SessionKey};
use crate::nfs4::attr::AttrValue;
use crate::nfs4::{
    Bitmap4, ExchgId4Flags, Getattr4Res, NfsRes, NfsStat4, Readdir4ResOk, Seq4Status,
};
use crate::tcp::hash::FastMap;
use crate::xdr::escape_bytes;

rules! {
    EXCHID_SUPP_MOVED: "exchid.supp-moved", "RFC 8881 §18.35.3", [35, 117], Violation, Server, [],
        "a server that returns NFS4ERR_MOVED announced SUPP_MOVED_REFER or SUPP_MOVED_MIGR to that client";
    SEQ_LEASE_MOVED_STAYS: "seq.lease-moved-stays", "RFC 8881 §18.46.3", [81], Warning, Server, [Complete],
        "SEQ4_STATUS_LEASE_MOVED stays set until the client has been answered NFS4ERR_MOVED";
    FSLOC_GETATTR_ABSENT: "fsloc.getattr-absent", "RFC 8881 §11.4", [113], Violation, Server, [],
        "in an absent file system, GETATTR of fs_locations / fs_locations_info (with only fsid, fs_status, rdattr_error, mounted_on_fileid besides) is answered, not NFS4ERR_MOVED";
    FSLOC_READDIR_ABSENT: "fsloc.readdir-absent", "RFC 8881 §11.4.2", [113], Violation, Server, [],
        "a READDIR asking fs_locations / fs_locations_info with rdattr_error reports no NFS4ERR_MOVED in an entry's rdattr_error (the absent file system's attributes are fetched normally)";
    CLIENT_V40_UNIFORM: "client.v40-uniform-string", "RFC 7931 §5", [108], Warning, Client, [],
        "a client facing migration (NFS4ERR_MOVED) presents one nfs_client_id4 string to every server address";
}

/// Attributes a server returns for an absent file system: fsid (8),
/// rdattr_error (11), fs_locations (24), mounted_on_fileid (55),
/// fs_status (61), fs_locations_info (67).
const ABSENT_FS_ATTRS: [u32; 6] = [8, 11, 24, 55, 61, 67];

/// The migration rules, with the frame since which each session's SEQUENCE
/// replies carry LEASE_MOVED and whether NFS4ERR_MOVED was returned on it
/// since.
#[derive(Debug, Default)]
pub struct Migration {
    lease_moved: FastMap<SessionKey, (u64, bool)>,
}

impl Check for Migration {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::Answered {
                result,
                by_status: true,
                ..
            } if result.status() == NfsStat4::NFS4ERR_MOVED => self.moved(j),
            Event::Getattr { mask, result } => {
                absent_fs(mask, result, j);
                if matches!(result, NfsRes::Fail(NfsStat4::NFS4ERR_MOVED)) {
                    self.moved(j);
                }
            }
            Event::Readdir { mask, result } => match result {
                NfsRes::Ok(x) => readdir_absent(mask, x, j),
                NfsRes::Fail(NfsStat4::NFS4ERR_MOVED) => self.moved(j),
                NfsRes::Fail(_) => {}
            },
            Event::Sequence { result: Ok(x), .. } => {
                let (m, at) = (j.model(), j.at());
                let sid = x.sr_sessionid;
                let Some(key) = m
                    .session_key_at(at.server, &sid)
                    .filter(|k| m.sessions.get(k).is_some_and(|s| s.ended.is_none()))
                else {
                    return;
                };
                let set = x.sr_status_flags.contains(Seq4Status::LEASE_MOVED);
                match (self.lease_moved.get(&key).copied(), set) {
                    (None, true) => {
                        self.lease_moved.insert(key, (at.frame, false));
                    }
                    (Some((since, moved)), false) => {
                        self.lease_moved.remove(&key);
                        if !moved {
                            j.judge(&SEQ_LEASE_MOVED_STAYS, || {
                                Some(Violation::new(
                                    format!(
                                        "LEASE_MOVED, set on session {sid} since frame {since}, cleared before any NFS4ERR_MOVED"
                                    ),
                                    at.frames_after(since),
                                ))
                            });
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

impl Migration {
    /// NFS4ERR_MOVED returned: announced support (row 35), LEASE_MOVED may
    /// clear (row 81), a v4.0 client facing migration should use one id
    /// string (row 108).
    fn moved(&mut self, j: &mut Judge<'_>) {
        let (m, at) = (j.model(), j.at());
        j.judge(&EXCHID_SUPP_MOVED, || {
            let r = m.record_for(at.server, at.compound.clientid)?;
            let f = r.flags?;
            (!f.intersects(ExchgId4Flags::SUPP_MOVED_REFER | ExchgId4Flags::SUPP_MOVED_MIGR))
                .then(|| {
                    Violation::new(
                        format!(
                            "{} returned NFS4ERR_MOVED to client ID {:#018x}, whose eir_flags ({f}) announce neither SUPP_MOVED_REFER nor SUPP_MOVED_MIGR",
                            at.server, r.clientid
                        ),
                        at.frames(),
                    )
                })
        });
        let key = at
            .compound
            .session
            .and_then(|s| m.session_key_at(at.server, &s));
        if let Some((_, moved)) = key.and_then(|k| self.lease_moved.get_mut(&k)) {
            *moved = true;
        }
        // Row 108 is about migration: NFS4ERR_MOVED for a filehandle the
        // client held (PUTFH), which it can only have obtained while the file
        // system was present (RFC 7530 §8.2). A traversal into an absent file
        // system is a referral: the client goes to another server, which
        // non-uniform id strings do not hinder.
        if at.minor != Some(0) || at.compound.fh != FhOrigin::Held {
            return;
        }
        j.judge(&CLIENT_V40_UNIFORM, || v40_id_strings(m, at));
    }
}

/// Row 113: fs_locations in an absent file system answered NFS4ERR_MOVED.
fn absent_fs(mask: &Bitmap4, result: &Getattr4Res<'_>, j: &mut Judge<'_>) {
    let at = j.at();
    if !matches!(result, NfsRes::Fail(NfsStat4::NFS4ERR_MOVED))
        || !(mask.is_set(24) || mask.is_set(67))
        || !mask.bits().all(|b| ABSENT_FS_ATTRS.contains(&b))
    {
        return;
    }
    j.judge(&FSLOC_GETATTR_ABSENT, || {
        let names: Vec<String> = mask.bits().map(|b| b.to_string()).collect();
        Some(Violation::new(
            format!(
                "{} answered GETATTR of attributes [{}] (fs_locations) with NFS4ERR_MOVED",
                at.server,
                names.join(", ")
            ),
            at.frames(),
        ))
    });
}

/// Row 113, READDIR half (RFC 8881 §11.4.2, RFC 7530 §8.3.2): with a
/// location attribute in the request, the attributes of an absent file
/// system's root are fetched normally and no NFS4ERR_MOVED is reported,
/// even in rdattr_error. Only an entry whose rdattr_error the server set to
/// NFS4ERR_MOVED is proof; without a location attribute a capture cannot
/// tell an absent file system's root from a present entry, so that half is
/// not judged.
fn readdir_absent(mask: &Bitmap4, ok: &Readdir4ResOk<'_>, j: &mut Judge<'_>) {
    let at = j.at();
    let moved: Vec<String> = ok
        .reply
        .entries
        .0
        .iter()
        .filter(|e| {
            matches!(
                e.attrs.decode_values().get(11),
                Some(AttrValue::RdattrError(NfsStat4::NFS4ERR_MOVED))
            )
        })
        .map(|e| format!("\"{}\"", escape_bytes(e.name.as_bytes())))
        .collect();
    if moved.is_empty() {
        return;
    }
    j.judge(&FSLOC_READDIR_ABSENT, || {
        let asked = if mask.is_set(24) {
            "fs_locations"
        } else {
            "fs_locations_info"
        };
        Some(Violation::new(
            format!(
                "{} reported NFS4ERR_MOVED in rdattr_error for {} in a READDIR that asked {asked}",
                at.server,
                moved.join(", ")
            ),
            at.frames(),
        ))
    });
}

/// A v4.0 client host that presented one id string here (where NFS4ERR_MOVED
/// was returned) and another elsewhere.
fn v40_id_strings(m: &Model, at: &At) -> Option<Violation> {
    let host = at.client.ip();
    let server = at.server;
    let v40 = |c: &&Client| c.kind == OwnerKind::V40 && c.sources.contains(&host);
    let here = m
        .clients
        .iter()
        .filter(v40)
        .find(|c| c.endpoints.contains(&server))?;
    let other = m
        .clients
        .iter()
        .filter(v40)
        .find(|c| c.owner != here.owner && c.endpoints.iter().any(|e| *e != server))?;
    Some(Violation::new(
        format!(
            "client {host} presented id string \"{}\" to {server}, which answers NFS4ERR_MOVED, and \"{}\" to {}",
            escape_bytes(&here.owner),
            escape_bytes(&other.owner),
            other
                .endpoints
                .iter()
                .filter(|e| **e != server)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        at.frames_after(other.first_frame),
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn moved_needs_announced_migration_or_referral_support() {
        for (flags, expect) in [
            (ExchgId4Flags::USE_NON_PNFS, vec!["exchid.supp-moved"]),
            (
                ExchgId4Flags::USE_NON_PNFS | ExchgId4Flags::SUPP_MOVED_MIGR,
                vec![],
            ),
        ] {
            let mut c = Conv::new();
            c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, flags, "srv", 0));
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
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![seq_n(1), NfsArgOp::Putrootfh(())],
                vec![
                    seq_ok_n(1, Seq4Status(0)),
                    NfsResOp::Putrootfh(NfsStat4::NFS4ERR_MOVED),
                ],
            );
            assert_eq!(c.rules(), expect);
        }
    }

    #[test]
    fn a_v40_client_facing_migration_uses_one_id_string() {
        for (id_b, expect) in [("b", vec!["client.v40-uniform-string"]), ("a", vec![])] {
            let mut c = Conv::new();
            c.minor = 0;
            c.op(1, SERVER_A, setclientid("a"), setclientid_ok(5, 1));
            c.op(2, SERVER_B, setclientid(id_b), setclientid_ok(9, 2));
            // A filehandle the client held is now in an absent file system:
            // migration.
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![
                    NfsArgOp::Putfh(Putfh4Args {
                        object: Opaque::from(vec![1u8; 28]),
                    }),
                    NfsArgOp::Getattr(Getattr4Args {
                        attr_request: Bitmap4::from_bits(&[1]),
                    }),
                ],
                vec![
                    NfsResOp::Putfh(NfsStat4::NFS4_OK),
                    NfsResOp::Getattr(NfsRes::Fail(NfsStat4::NFS4ERR_MOVED)),
                ],
            );
            assert_eq!(c.rules(), expect, "id at B: {id_b}");
        }
    }

    #[test]
    fn a_v40_client_following_a_referral_may_keep_one_id_string_per_server() {
        let mut c = Conv::new();
        c.minor = 0;
        c.op(1, SERVER_A, setclientid("a"), setclientid_ok(5, 1));
        c.op(2, SERVER_B, setclientid("b"), setclientid_ok(9, 2));
        // PUTROOTFH, LOOKUP into an absent file system, GETFH: a referral
        // (RFC 7530 §8.7.1), also after SAVEFH/RESTOREFH of the reached one.
        for (ops, res) in [
            (vec![], vec![]),
            (
                vec![NfsArgOp::Savefh(()), NfsArgOp::Restorefh(())],
                vec![
                    NfsResOp::Savefh(NfsStat4::NFS4_OK),
                    NfsResOp::Restorefh(NfsStat4::NFS4_OK),
                ],
            ),
        ] {
            let mut args = vec![
                NfsArgOp::Putrootfh(()),
                NfsArgOp::Lookup(Lookup4Args {
                    objname: Opaque::from("ref"),
                }),
            ];
            let mut results = vec![
                NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
                NfsResOp::Lookup(NfsStat4::NFS4_OK),
            ];
            args.extend(ops);
            results.extend(res);
            args.push(NfsArgOp::Getfh(()));
            results.push(NfsResOp::Getfh(NfsRes::Fail(NfsStat4::NFS4ERR_MOVED)));
            c.exchange(1, CLIENT, SERVER_A, args, results);
        }
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn lease_moved_stays_until_moved_was_returned() {
        let moved = Seq4Status::LEASE_MOVED;
        let flags = PNFS | ExchgId4Flags::SUPP_MOVED_MIGR;
        let mut c = Conv::new();
        session_at(
            &mut c,
            1,
            SERVER_A,
            7,
            1,
            exchange_id_ok(7, flags, "srv", 0),
        );
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, moved));
        c.op(1, SERVER_A, seq_n(2), seq_ok_n(2, Seq4Status(0)));
        assert_eq!(c.rules(), vec!["seq.lease-moved-stays"]);
        let mut c = Conv::new();
        session_at(
            &mut c,
            1,
            SERVER_A,
            7,
            1,
            exchange_id_ok(7, flags, "srv", 0),
        );
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, moved));
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![seq_n(2), NfsArgOp::Putrootfh(())],
            vec![
                seq_ok_n(2, moved),
                NfsResOp::Putrootfh(NfsStat4::NFS4ERR_MOVED),
            ],
        );
        c.op(1, SERVER_A, seq_n(3), seq_ok_n(3, Seq4Status(0)));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn fs_locations_of_an_absent_file_system_are_returned() {
        let flags = PNFS | ExchgId4Flags::SUPP_MOVED_REFER;
        for (attrs, expect) in [
            (vec![24], vec!["fsloc.getattr-absent"]),
            (vec![1, 24], vec![]),
        ] {
            let mut c = Conv::new();
            session_at(
                &mut c,
                1,
                SERVER_A,
                7,
                1,
                exchange_id_ok(7, flags, "srv", 0),
            );
            c.exchange(
                1,
                CLIENT,
                SERVER_A,
                vec![
                    seq_n(1),
                    NfsArgOp::Putrootfh(()),
                    NfsArgOp::Getattr(Getattr4Args {
                        attr_request: Bitmap4::from_bits(&attrs),
                    }),
                ],
                vec![
                    seq_ok_n(1, Seq4Status(0)),
                    NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
                    NfsResOp::Getattr(NfsRes::Fail(NfsStat4::NFS4ERR_MOVED)),
                ],
            );
            assert_eq!(c.rules(), expect, "attributes {attrs:?}");
        }
    }

    /// A READDIR asking `attrs` whose one entry, `ref`, carries
    /// rdattr_error `err`.
    fn readdir_exchange(c: &mut Conv, seqid: u32, attrs: &[u32], err: NfsStat4) {
        let entry = Entry4 {
            cookie: 3,
            name: Opaque::from("ref"),
            attrs: Fattr4::from_values(&[AttrValue::RdattrError(err)]),
        };
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                seq_n(seqid),
                NfsArgOp::Putrootfh(()),
                NfsArgOp::Readdir(Readdir4Args {
                    cookie: 0,
                    cookieverf: Verifier4([0; 8]),
                    dircount: 8192,
                    maxcount: 32768,
                    attr_request: Bitmap4::from_bits(attrs),
                }),
            ],
            vec![
                seq_ok_n(seqid, Seq4Status(0)),
                NfsResOp::Putrootfh(NfsStat4::NFS4_OK),
                NfsResOp::Readdir(NfsRes::Ok(Readdir4ResOk {
                    cookieverf: Verifier4([0; 8]),
                    reply: Dirlist4 {
                        entries: crate::xdr::List(vec![entry]),
                        eof: true,
                    },
                })),
            ],
        );
    }

    #[test]
    fn a_readdir_asking_fs_locations_reports_no_moved_in_rdattr_error() {
        let flags = PNFS | ExchgId4Flags::SUPP_MOVED_REFER;
        for (attrs, err, expect) in [
            // fs_locations asked: "no NFS4ERR_MOVED indication is
            // returned" (RFC 8881 §11.4.2 defines the result).
            (
                vec![11, 24, 4],
                NfsStat4::NFS4ERR_MOVED,
                vec!["fsloc.readdir-absent"],
            ),
            (
                vec![11, 67],
                NfsStat4::NFS4ERR_MOVED,
                vec!["fsloc.readdir-absent"],
            ),
            (vec![11, 24], NfsStat4::NFS4_OK, vec![]),
            // No location attribute: NFS4ERR_MOVED is what the RFC asks.
            (vec![11, 8, 55], NfsStat4::NFS4ERR_MOVED, vec![]),
        ] {
            let mut c = Conv::new();
            session_at(
                &mut c,
                1,
                SERVER_A,
                7,
                1,
                exchange_id_ok(7, flags, "srv", 0),
            );
            readdir_exchange(&mut c, 1, &attrs, err);
            assert_eq!(c.rules(), expect, "attributes {attrs:?}, {err:?}");
        }
    }
}
