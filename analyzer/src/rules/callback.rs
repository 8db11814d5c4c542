//! Callbacks (RFC 8881 §2.10.5, §18.36.3): the server calls back on the
//! program the client gave, and the client accepts callbacks on any back
//! channel bound to its client ID.

use super::{Check, Judge, Violation};
use crate::model::event::{At, Event};
use crate::model::{Binding, Model};
use crate::nfs4::{ChannelDirFromServer4, NfsStat4, SessionId4};

rules! {
    CB_PROGRAM: "cb.program", "RFC 8881 §18.36.3", [60], Violation, Server, [],
        "callbacks use the program number the client gave in CREATE_SESSION or BACKCHANNEL_CTL";
    CB_ANY_BACKCHANNEL: "cb.any-backchannel", "RFC 8881 §2.10.5", [20], Violation, Client, [],
        "the client accepts callbacks on any back channel bound to its client ID";
}

/// The callback rules.
#[derive(Debug, Default)]
pub struct Callback;

impl Check for Callback {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        let (m, at) = (j.model(), j.at());
        match *ev {
            Event::CallbackCalled {
                program: Some(prog),
                session: Some(sid),
            } => {
                let Some(expected) = m.session_at(at.server, &sid).and_then(|s| s.cb_program)
                else {
                    return;
                };
                j.judge(&CB_PROGRAM, || {
                    (prog != expected).then(|| {
                        Violation::new(
                            format!(
                                "callback for session {sid} on program {prog:#x}; the client asked for {expected:#x}"
                            ),
                            at.frames(),
                        )
                    })
                });
            }
            Event::CallbackAnswered {
                session,
                call_frame,
                refused:
                    Some(
                        st @ (NfsStat4::NFS4ERR_BADSESSION
                        | NfsStat4::NFS4ERR_CONN_NOT_BOUND_TO_SESSION),
                    ),
            } => {
                j.judge(&CB_ANY_BACKCHANNEL, || {
                    refused_on_back_channel(m, at, &session, call_frame, st)
                });
            }
            _ => {}
        }
    }
}

/// Row 20: the client refused a callback on a connection that is a back
/// channel of the session or of another session of the same client ID.
fn refused_on_back_channel(
    m: &Model,
    at: &At,
    sid: &SessionId4,
    call_frame: u64,
    st: NfsStat4,
) -> Option<Violation> {
    // A callback for a session the client destroyed is rightly refused.
    let owner = m.live_session(at.server, sid)?;
    let (cid, home) = (owner.clientid, owner.endpoint);
    let back = |b: &Binding| {
        matches!(
            b.dir,
            ChannelDirFromServer4::CDFS4_BACK | ChannelDirFromServer4::CDFS4_BOTH
        )
    };
    let key = m.endpoints.get(&home).map(|e| e.server_key());
    let via = m.sessions.values().find(|s| {
        s.ended.is_none()
            && (s.id == *sid
                || (cid.is_some()
                    && s.clientid == cid
                    && m.endpoints.get(&s.endpoint).map(|e| e.server_key()) == key))
            && s.connections.get(&at.conn).is_some_and(back)
    })?;
    Some(Violation::new(
        format!(
            "client refused a callback for session {sid} on connection {} with {st}; the connection is a back channel of session {} of the same client ID",
            at.conn, via.id
        ),
        vec![call_frame, at.frame],
    ))
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn callbacks_use_the_program_the_client_gave() {
        let cb_seq = || {
            CbArgOp::CbSequence(CbSequence4Args {
                csa_sessionid: SessionId4([1; 16]),
                csa_sequenceid: 1,
                csa_slotid: 0,
                csa_highest_slotid: 0,
                csa_cachethis: false,
                csa_referring_call_lists: vec![],
            })
        };
        for (used, expect) in [(0x4000_0000, vec!["cb.program"]), (0x4000_0123, vec![])] {
            let mut c = Conv::new();
            let mut cs = create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN);
            if let NfsArgOp::CreateSession(a) = &mut cs {
                a.csa_cb_program = 0x4000_0123;
            }
            c.op(
                1,
                SERVER_A,
                cs,
                create_session_ok(
                    1,
                    1,
                    CreateSession4Flags::CONN_BACK_CHAN,
                    chan(1 << 20, 8, 16),
                    chan(4096, 2, 1),
                ),
            );
            c.callback(1, used, vec![cb_seq()]);
            assert_eq!(c.rules(), expect, "callback on {used:#x}");
        }
    }

    #[test]
    fn a_client_accepts_callbacks_on_any_back_channel_of_its_client_id() {
        let cb_seq = || {
            CbArgOp::CbSequence(CbSequence4Args {
                csa_sessionid: SessionId4([1; 16]),
                csa_sequenceid: 1,
                csa_slotid: 0,
                csa_highest_slotid: 0,
                csa_cachethis: false,
                csa_referring_call_lists: vec![],
            })
        };
        let ok = || {
            CbResOp::CbSequence(NfsRes::Ok(CbSequence4ResOk {
                csr_sessionid: SessionId4([1; 16]),
                csr_sequenceid: 1,
                csr_slotid: 0,
                csr_highest_slotid: 0,
                csr_target_highest_slotid: 0,
            }))
        };
        let refused = || CbResOp::CbSequence(NfsRes::Fail(NfsStat4::NFS4ERR_BADSESSION));
        for (conn, reply, expect) in [
            (1, refused(), vec!["cb.any-backchannel"]),
            (1, ok(), vec![]),
            (4, refused(), vec![]),
        ] {
            let mut c = Conv::new();
            c.op(
                1,
                SERVER_A,
                create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN),
                create_session_ok(
                    1,
                    1,
                    CreateSession4Flags::CONN_BACK_CHAN,
                    chan(1 << 20, 8, 16),
                    chan(4096, 2, 1),
                ),
            );
            c.callback(conn, NFS4_CALLBACK, vec![cb_seq()]);
            c.callback_reply(conn, vec![reply]);
            assert_eq!(c.rules(), expect, "connection {conn}");
            assert_eq!(
                c.x.sink
                    .model()
                    .session_at(SERVER_A.parse().unwrap(), &SessionId4([1; 16]))
                    .map_or(0, |s| s.callbacks.len()),
                1
            );
        }
    }

    #[test]
    fn a_callback_for_a_destroyed_session_may_be_refused() {
        let mut c = Conv::new();
        c.op(
            1,
            SERVER_A,
            create_session(7, 1, CreateSession4Flags::CONN_BACK_CHAN),
            create_session_ok(
                1,
                1,
                CreateSession4Flags::CONN_BACK_CHAN,
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            ),
        );
        // A second session of the same client ID, also with a back channel on
        // this connection, stays.
        c.op(
            1,
            SERVER_A,
            create_session(7, 2, CreateSession4Flags::CONN_BACK_CHAN),
            create_session_ok(
                2,
                2,
                CreateSession4Flags::CONN_BACK_CHAN,
                chan(1 << 20, 8, 16),
                chan(4096, 2, 1),
            ),
        );
        c.op(
            1,
            SERVER_A,
            NfsArgOp::DestroySession(DestroySession4Args {
                dsa_sessionid: SessionId4([1; 16]),
            }),
            NfsResOp::DestroySession(NfsStat4::NFS4_OK),
        );
        c.callback(
            1,
            NFS4_CALLBACK,
            vec![CbArgOp::CbSequence(CbSequence4Args {
                csa_sessionid: SessionId4([1; 16]),
                csa_sequenceid: 1,
                csa_slotid: 0,
                csa_highest_slotid: 0,
                csa_cachethis: false,
                csa_referring_call_lists: vec![],
            })],
        );
        c.callback_reply(
            1,
            vec![CbResOp::CbSequence(NfsRes::Fail(
                NfsStat4::NFS4ERR_BADSESSION,
            ))],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }
}
