//! CREATE_SESSION (RFC 8881 §18.36): the reply echoes the request and never
//! grants more than asked, the client ID's CREATE_SESSION sequence, and no
//! session for a client ID the server destroyed or called stale.

use super::{Check, Judge, Violation};
use crate::model::event::{At, CallOp, Event};
use crate::model::{Model, ServerKey};
use crate::nfs4::{
    ChannelAttrs4, CreateSession4Flags, CreateSession4ResOk, ExchgId4Flags, Sequence4ResOk,
    SessionId4,
};
use crate::tcp::hash::FastMap;

rules! {
    CSESS_SEQUENCE_ECHO: "csess.sequence-echo", "RFC 8881 §18.36.3", [56], Violation, Server, [],
        "csr_sequence equals csa_sequence";
    CSESS_ATTRS: "csess.channel-attrs", "RFC 8881 §18.36.3", [57], Violation, Server, [],
        "the server may lower but never raise the channel sizes, and keeps the back channel's maxoperations and maxrequests";
    CSESS_FLAGS: "csess.flags", "RFC 8881 §18.36.3", [58], Violation, Server, [],
        "PERSIST, CONN_BACK_CHAN and CONN_RDMA are set in csr_flags only when requested";
    CSESS_STALE_CLIENTID: "csess.stale-clientid", "RFC 8881 §18.36.4", [62], Violation, Server, [],
        "CREATE_SESSION for a client ID the server destroyed gets NFS4ERR_STALE_CLIENTID";
    CSESS_SEQUENCE: "csess.sequence", "RFC 8881 §18.36.4 phase 2", [63], Violation, Server, [Complete],
        "CREATE_SESSION is accepted only with csa_sequence eir_sequenceid (first) or the last one plus 1; a replay of the last returns the cached reply, not a new session";
    CLIENT_CSESS_CONFIRMED_R_SEQ: "client.csess-ignores-confirmed-r-sequence", "RFC 8881 §18.35.3", [34], Violation, Client, [Complete],
        "when CONFIRMED_R is set the client ignores eir_sequenceid and keeps its own CREATE_SESSION sequence";
    CSESS_STALE_AFTER_RESTART: "csess.stale-after-restart", "RFC 8881 §2.4, §18.36.4", [3], Violation, Server, [Complete],
        "once the server answered NFS4ERR_STALE_CLIENTID for a client ID (it forgot it, e.g. in a restart), neither CREATE_SESSION with it nor SEQUENCE on its older sessions succeeds until an EXCHANGE_ID returns it again";
}

/// A client ID's CREATE_SESSION sequence as these rules follow it.
#[derive(Debug, Clone, Copy, Default)]
struct Track {
    /// `eir_sequenceid` of a reply without CONFIRMED_R, until a CREATE_SESSION.
    eir_sequenceid: Option<u32>,
    /// `eir_sequenceid` of the last reply with CONFIRMED_R, until a CREATE_SESSION.
    confirmed_r_sequenceid: Option<u32>,
    /// The last CREATE_SESSION accepted: csa_sequence, session, frame.
    last_create: Option<(u32, SessionId4, u64)>,
}

/// The CREATE_SESSION rules, with each client ID record's sequence.
#[derive(Debug, Default)]
pub struct CreateSession {
    tracks: FastMap<usize, Track>,
}

impl Check for CreateSession {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        match *ev {
            Event::CreateSession {
                call:
                    CallOp::CreateSession {
                        clientid,
                        sequence,
                        flags,
                        fore,
                        back,
                        ..
                    },
                result,
            } => {
                let at = j.at();
                if let Ok(x) = result {
                    j.judge(&CSESS_SEQUENCE_ECHO, || {
                        (x.csr_sequence != *sequence).then(|| {
                            Violation::new(
                                format!(
                                    "csr_sequence {} differs from csa_sequence {sequence}",
                                    x.csr_sequence
                                ),
                                at.frames(),
                            )
                        })
                    });
                    j.judge(&CSESS_ATTRS, || raised_attrs(fore, back, x, at));
                    j.judge(&CSESS_FLAGS, || unasked_flags(*flags, x, at));
                    let m = j.model();
                    j.judge(&CSESS_STALE_CLIENTID, || {
                        let d = m.record_for(at.server, Some(*clientid))?.destroyed_frame?;
                        Some(Violation::new(
                            format!(
                                "{} accepted CREATE_SESSION for client ID {clientid:#018x}, destroyed in frame {d}",
                                at.server
                            ),
                            at.frames_after(d),
                        ))
                    });
                }
                let created = result.ok().map(|x| x.csr_sessionid);
                self.sequence(*clientid, *sequence, created, j);
            }
            Event::Sequence { result: Ok(x), .. } => stale_session(x, j),
            _ => {}
        }
    }

    fn applied(&mut self, _at: &At, ev: &Event<'_>, model: &Model) {
        let Event::ExchangeId { result: Ok(x), .. } = ev else {
            return;
        };
        let key = ServerKey::declared_by(x);
        let Some(i) = model.record_index_by_key(&key, x.eir_clientid.0) else {
            return;
        };
        let t = self.tracks.entry(i).or_default();
        if x.eir_flags.contains(ExchgId4Flags::CONFIRMED_R) {
            t.confirmed_r_sequenceid = Some(x.eir_sequenceid);
        } else {
            t.eir_sequenceid = Some(x.eir_sequenceid);
        }
    }
}

impl CreateSession {
    /// Rows 63, 34 and 3: the CREATE_SESSION sequence of a client ID, a
    /// client that took eir_sequenceid from a CONFIRMED_R reply, and a
    /// client ID accepted after the server called it stale. `created` is
    /// the new session when the server accepted it.
    fn sequence(&mut self, cid: u64, q: u32, created: Option<SessionId4>, j: &mut Judge<'_>) {
        let (m, at) = (j.model(), j.at());
        let Some(i) = m.record_index(at.server, cid) else {
            return;
        };
        let r = &m.client_ids[i];
        let t = self.tracks.get(&i).copied().unwrap_or_default();
        let server = at.server;
        if let (Some((l, _, lf)), Some(e)) = (t.last_create, t.confirmed_r_sequenceid) {
            if q == e && e != l && e != l.wrapping_add(1) {
                j.judge(&CLIENT_CSESS_CONFIRMED_R_SEQ, || {
                    Some(Violation::new(
                        format!(
                            "CREATE_SESSION for client ID {cid:#018x} with csa_sequence {q}, the eir_sequenceid of an EXCHANGE_ID reply with CONFIRMED_R; its last CREATE_SESSION used {l} (frame {lf})"
                        ),
                        at.frames_after(lf),
                    ))
                });
            }
        }
        if let Some(sid) = created {
            match t.last_create {
                // A replay that created a new session: judged whatever was lost.
                Some((l, lsid, lf)) if q == l && sid != lsid => {
                    j.judge_needing(&CSESS_SEQUENCE, &[], None, || {
                        Some(Violation::new(
                            format!(
                                "{server} re-executed CREATE_SESSION csa_sequence {q} for client ID {cid:#018x}: session {sid}, where the first (frame {lf}) created {lsid}"
                            ),
                            at.frames_after(lf),
                        ))
                    })
                }
                Some((l, _, lf)) if q != l && q != l.wrapping_add(1) => {
                    j.judge(&CSESS_SEQUENCE, || {
                        Some(Violation::new(
                            format!(
                                "{server} accepted CREATE_SESSION csa_sequence {q} for client ID {cid:#018x} after {l} (frame {lf})"
                            ),
                            at.frames_after(lf),
                        ))
                    })
                }
                None => {
                    if let Some(e) = t.eir_sequenceid.filter(|e| *e != q) {
                        j.judge(&CSESS_SEQUENCE, || {
                            Some(Violation::new(
                                format!(
                                    "{server} accepted the first CREATE_SESSION for client ID {cid:#018x} with csa_sequence {q}; EXCHANGE_ID gave eir_sequenceid {e}"
                                ),
                                at.frames(),
                            ))
                        })
                    }
                }
                _ => {}
            }
            if let Some(sf) = r.stale_frame {
                if r.last_issue_frame.is_none_or(|f| f < sf) {
                    j.judge(&CSESS_STALE_AFTER_RESTART, || {
                        Some(Violation::new(
                            format!(
                                "{server} accepted CREATE_SESSION for client ID {cid:#018x} after answering NFS4ERR_STALE_CLIENTID for it (frame {sf}), with no EXCHANGE_ID returning it since"
                            ),
                            at.frames_after(sf),
                        ))
                    });
                }
            }
        }
        let track = self.tracks.entry(i).or_default();
        track.confirmed_r_sequenceid = None;
        track.eir_sequenceid = None;
        // A refused CREATE_SESSION may or may not have used the slot: its
        // state is unknown until the next success.
        track.last_create = created.map(|sid| (q, sid, at.frame));
    }
}

/// Row 3: SEQUENCE accepted on a session of a client ID the server called
/// stale since the session was first seen.
fn stale_session(x: &Sequence4ResOk, j: &mut Judge<'_>) {
    let (m, at) = (j.model(), j.at());
    let sid = x.sr_sessionid;
    let Some(s) = m.session_at(at.server, &sid) else {
        return;
    };
    let first = s.first_frame;
    let Some(r) = m.session_record(s) else {
        return;
    };
    let cid = r.clientid;
    let Some(sf) = r.stale_frame else {
        return;
    };
    if first < sf && r.last_issue_frame.is_none_or(|f| f < sf) {
        j.judge(&CSESS_STALE_AFTER_RESTART, || {
            Some(Violation::new(
                format!(
                    "{} accepted SEQUENCE on session {sid} of client ID {cid:#018x}, which it called stale (NFS4ERR_STALE_CLIENTID) in frame {sf}",
                    at.server
                ),
                at.frames_after(sf),
            ))
        });
    }
}

/// Channel sizes raised, or back-channel limits changed.
fn raised_attrs(
    fore: &ChannelAttrs4,
    back: &ChannelAttrs4,
    x: &CreateSession4ResOk,
    at: &At,
) -> Option<Violation> {
    let mut raised = Vec::new();
    for (chan, req, got) in [
        ("fore", fore, &x.csr_fore_chan_attrs),
        ("back", back, &x.csr_back_chan_attrs),
    ] {
        for (name, a, b) in [
            (
                "ca_headerpadsize",
                req.ca_headerpadsize,
                got.ca_headerpadsize,
            ),
            (
                "ca_maxrequestsize",
                req.ca_maxrequestsize,
                got.ca_maxrequestsize,
            ),
            (
                "ca_maxresponsesize",
                req.ca_maxresponsesize,
                got.ca_maxresponsesize,
            ),
            (
                "ca_maxresponsesize_cached",
                req.ca_maxresponsesize_cached,
                got.ca_maxresponsesize_cached,
            ),
        ] {
            if b > a {
                raised.push(format!("{chan} {name} {a} -> {b}"));
            }
        }
        if let (Some(a), Some(b)) = (req.ca_rdma_ird.first(), got.ca_rdma_ird.first()) {
            if b > a {
                raised.push(format!("{chan} ca_rdma_ird {a} -> {b}"));
            }
        }
    }
    for (name, a, b) in [
        (
            "ca_maxoperations",
            back.ca_maxoperations,
            x.csr_back_chan_attrs.ca_maxoperations,
        ),
        (
            "ca_maxrequests",
            back.ca_maxrequests,
            x.csr_back_chan_attrs.ca_maxrequests,
        ),
    ] {
        if a != b {
            raised.push(format!("back {name} changed {a} -> {b}"));
        }
    }
    (!raised.is_empty()).then(|| {
        Violation::new(
            format!("channel attributes: {}", raised.join(", ")),
            at.frames(),
        )
    })
}

/// Flags granted that were not requested.
fn unasked_flags(
    flags: CreateSession4Flags,
    x: &CreateSession4ResOk,
    at: &At,
) -> Option<Violation> {
    let unasked = CreateSession4Flags(x.csr_flags.0 & !flags.0 & CreateSession4Flags::ALL_KNOWN.0);
    (unasked.0 != 0).then(|| {
        Violation::new(
            format!(
                "csr_flags {} grant {unasked} not requested (csa_flags {flags})",
                x.csr_flags
            ),
            at.frames(),
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn create_session_sequence_attributes_and_flags() {
        let mut c = Conv::new();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN),
            create_session_ok(
                1,
                2,
                CreateSession4Flags::CONN_BACK_CHAN | CreateSession4Flags::PERSIST,
                chan(2 << 20, 8, 16),
                chan(4096, 4, 1),
            ),
        );
        assert_eq!(
            c.rules(),
            vec!["csess.sequence-echo", "csess.channel-attrs", "csess.flags"]
        );
        let attrs = &c.x.sink.findings()[1].message;
        assert!(
            attrs.contains("fore ca_maxrequestsize 1048576 -> 2097152"),
            "{attrs}"
        );
        assert!(
            attrs.contains("back ca_maxoperations changed 2 -> 4"),
            "{attrs}"
        );
        // A server that lowers sizes and echoes everything is fine.
        let mut c = Conv::new();
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN),
            create_session_ok(
                1,
                1,
                CreateSession4Flags(0),
                chan(65536, 8, 16),
                chan(4096, 2, 1),
            ),
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn client_id_lifecycle_rules() {
        let ok = NfsStat4::NFS4_OK;
        // A client ID given to a second owner.
        let mut c = Conv::new();
        c.eid(1, SERVER_A, "a", 1, exchange_id_ok(7, PNFS, "srv", 0));
        c.eid(1, SERVER_A, "b", 1, exchange_id_ok(7, PNFS, "srv", 0));
        assert_eq!(c.rules(), vec!["clientid.no-reuse"]);
        // CREATE_SESSION accepted after DESTROY_CLIENTID.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            NfsArgOp::DestroyClientid(DestroyClientid4Args {
                dca_clientid: Clientid4(7),
            }),
            NfsResOp::DestroyClientid(ok),
        );
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            create_session_ok(
                2,
                2,
                CreateSession4Flags(0),
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            ),
        );
        assert_eq!(c.rules(), vec!["csess.stale-clientid"]);
    }

    #[test]
    fn an_old_client_id_is_stale_after_the_server_said_so() {
        let none = Seq4Status(0);
        let stale = || NfsResOp::CreateSession(NfsRes::Fail(NfsStat4::NFS4ERR_STALE_CLIENTID));
        // STALE_CLIENTID for 7, then CREATE_SESSION with 7 accepted.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            stale(),
        );
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            csess_ok(2, 2),
        );
        assert_eq!(c.rules(), vec!["csess.stale-after-restart"]);
        assert_eq!(c.x.sink.findings()[0].frames, vec![6, 7, 8]);
        // ... or SEQUENCE on its older session accepted.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            stale(),
        );
        c.op(1, SERVER_A, seq_n(1), seq_ok_n(1, none));
        assert_eq!(c.rules(), vec!["csess.stale-after-restart"]);
        // The compliant recovery: a new EXCHANGE_ID, a new client ID, its session.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            stale(),
        );
        c.eid(3, SERVER_A, "c", 1, exchange_id_ok(8, PNFS, "srv", 0));
        c.op(
            3,
            SERVER_A,
            create_session(8, 1, CreateSession4Flags(0)),
            csess_ok(2, 1),
        );
        c.op(3, SERVER_A, seq_on(2, 1), seq_on_ok(2, 1, none));
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn create_session_sequence_of_a_client_id() {
        // The first CREATE_SESSION must use eir_sequenceid (1 here).
        let mut c = Conv::new();
        c.eid(1, SERVER_A, "c", 1, exchange_id_ok(7, PNFS, "srv", 0));
        c.op(
            1,
            SERVER_A,
            create_session(7, 5, CreateSession4Flags(0)),
            csess_ok(1, 5),
        );
        assert_eq!(c.rules(), vec!["csess.sequence"]);
        // A replay of the last csa_sequence must not create a new session.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags(0)),
            csess_ok(2, 1),
        );
        assert_eq!(c.rules(), vec!["csess.sequence"]);
        assert!(c.x.sink.findings()[0].message.contains("re-executed"));
        // A skipped one must not be accepted.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            create_session(7, 3, CreateSession4Flags(0)),
            csess_ok(2, 3),
        );
        assert_eq!(c.rules(), vec!["csess.sequence"]);
        // The replay answered from the cache, then the next one: fine.
        let mut c = with_session();
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags(0)),
            csess_ok(1, 1),
        );
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            csess_ok(2, 2),
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn a_client_ignores_eir_sequenceid_when_confirmed_r_is_set() {
        let probe = |seq: u32| {
            let mut r = exchange_id_ok(7, PNFS | ExchgId4Flags::CONFIRMED_R, "srv", 0);
            if let NfsResOp::ExchangeId(NfsRes::Ok(x)) = &mut r {
                x.eir_sequenceid = seq;
            }
            r
        };
        let mut c = with_session();
        c.op(1, SERVER_A, exchange_id("c", 1, ExchgId4Flags(0)), probe(9));
        c.op(
            1,
            SERVER_A,
            create_session(7, 9, CreateSession4Flags(0)),
            NfsResOp::CreateSession(NfsRes::Fail(NfsStat4::NFS4ERR_SEQ_MISORDERED)),
        );
        assert_eq!(c.rules(), vec!["client.csess-ignores-confirmed-r-sequence"]);
        assert_eq!(
            c.x.sink.findings()[0].rule.party,
            crate::rules::Party::Client
        );
        let mut c = with_session();
        c.op(1, SERVER_A, exchange_id("c", 1, ExchgId4Flags(0)), probe(9));
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags(0)),
            csess_ok(2, 2),
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }
}
