//! Where an operation may stand in its COMPOUND: operations that must be
//! alone (or follow SEQUENCE), SEQUENCE first, DESTROY_SESSION last. Judged
//! by what the server accepted (NFS4_OK).

use super::{Check, Judge, Rule, Violation};
use crate::model::event::{CallOp, Event};

rules! {
    EXCHID_ONLY_OP: "exchid.only-op", "RFC 8881 §18.35.3", [29], Violation, Server, [],
        "EXCHANGE_ID without a leading SEQUENCE must be the only operation (else NFS4ERR_NOT_ONLY_OP)";
    CSESS_ONLY_OP: "csess.only-op", "RFC 8881 §18.36.3", [55], Violation, Server, [],
        "CREATE_SESSION without a leading SEQUENCE must be the only operation";
    BCTS_ONLY_OP: "bcts.only-op", "RFC 8881 §18.34.3", [68], Violation, Server, [],
        "BIND_CONN_TO_SESSION must be the only operation in its COMPOUND";
    SEQ_POSITION: "seq.position", "RFC 8881 §2.10.2.1, §18.46.3", [73], Violation, Server, [],
        "SEQUENCE anywhere but first is refused with NFS4ERR_SEQUENCE_POS";
    DESTROY_CLIENTID_ONLY_OP: "dcid.only-op", "RFC 8881 §18.50.3", [87], Violation, Server, [],
        "DESTROY_CLIENTID without a leading SEQUENCE must be the only operation";
    DSESS_POSITION: "dsess.position", "RFC 8881 §18.37.3", [84], Violation, Server, [],
        "DESTROY_SESSION is the last operation after a SEQUENCE, or else the only one";
}

/// The position rules.
#[derive(Debug, Default)]
pub struct Position;

impl Check for Position {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        let Event::Answered {
            index,
            count,
            op,
            result,
            ..
        } = *ev
        else {
            return;
        };
        if !result.status().is_ok() {
            return;
        }
        let Some(rule) = misplaced(op, index, count, j.at().compound.sequenced) else {
            return;
        };
        let frames = j.at().frames();
        j.judge(rule, || {
            Some(Violation::new(
                format!(
                    "{} accepted as operation {} of {count} (NFS4_OK)",
                    result.name(),
                    index + 1
                ),
                frames,
            ))
        });
    }
}

/// The rule an operation breaks by standing at `index` of `count` (in a
/// COMPOUND that starts with SEQUENCE when `sequenced`), if any.
fn misplaced(op: &CallOp, index: usize, count: usize, sequenced: bool) -> Option<&'static Rule> {
    Some(match op {
        CallOp::ExchangeId { .. } if !sequenced && count > 1 => &EXCHID_ONLY_OP,
        CallOp::CreateSession { .. } if !sequenced && count > 1 => &CSESS_ONLY_OP,
        CallOp::DestroyClientid { .. } if !sequenced && count > 1 => &DESTROY_CLIENTID_ONLY_OP,
        CallOp::BindConnToSession { .. } if count > 1 => &BCTS_ONLY_OP,
        CallOp::DestroySession { .. }
            if (sequenced && index + 1 != count) || (!sequenced && count > 1) =>
        {
            &DSESS_POSITION
        }
        CallOp::Sequence { .. } if index > 0 => &SEQ_POSITION,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    #[test]
    fn only_op_and_sequence_position_rules_judge_what_the_server_accepted() {
        let ok = NfsStat4::NFS4_OK;
        let mut c = Conv::new();
        // EXCHANGE_ID + PUTROOTFH accepted.
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                exchange_id("c", 1, ExchgId4Flags(0)),
                NfsArgOp::Putrootfh(()),
            ],
            vec![exchange_id_ok(7, PNFS, "srv", 0), NfsResOp::Putrootfh(ok)],
        );
        // BIND_CONN_TO_SESSION with a PUTROOTFH accepted.
        c.exchange(
            2,
            CLIENT,
            SERVER_A,
            vec![
                bcts(ChannelDirFromClient4::CDFC4_FORE),
                NfsArgOp::Putrootfh(()),
            ],
            vec![
                bcts_ok(ChannelDirFromServer4::CDFS4_FORE),
                NfsResOp::Putrootfh(ok),
            ],
        );
        // SEQUENCE second, accepted.
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![NfsArgOp::Putrootfh(()), sequence()],
            vec![NfsResOp::Putrootfh(ok), sequence_ok()],
        );
        assert_eq!(
            c.rules(),
            vec!["exchid.only-op", "bcts.only-op", "seq.position"]
        );
        // The same requests refused as the RFC says: no finding. After SEQUENCE,
        // EXCHANGE_ID may share the COMPOUND.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                exchange_id("c", 1, ExchgId4Flags(0)),
                NfsArgOp::Putrootfh(()),
            ],
            vec![NfsResOp::ExchangeId(NfsRes::Fail(
                NfsStat4::NFS4ERR_NOT_ONLY_OP,
            ))],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![NfsArgOp::Putrootfh(()), sequence()],
            vec![
                NfsResOp::Putrootfh(ok),
                NfsResOp::Sequence(NfsRes::Fail(NfsStat4::NFS4ERR_SEQUENCE_POS)),
            ],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![sequence(), exchange_id("c", 1, ExchgId4Flags(0))],
            vec![sequence_ok(), exchange_id_ok(7, PNFS, "srv", 0)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }

    #[test]
    fn create_session_and_destroy_clientid_must_be_alone_without_sequence() {
        let ok = NfsStat4::NFS4_OK;
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                create_session(7, 1, CreateSession4Flags(0)),
                NfsArgOp::Putrootfh(()),
            ],
            vec![csess_ok(1, 1), NfsResOp::Putrootfh(ok)],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                NfsArgOp::DestroyClientid(DestroyClientid4Args {
                    dca_clientid: Clientid4(7),
                }),
                NfsArgOp::Putrootfh(()),
            ],
            vec![NfsResOp::DestroyClientid(ok), NfsResOp::Putrootfh(ok)],
        );
        assert_eq!(c.rules(), vec!["csess.only-op", "dcid.only-op"]);
        // Refused as they must be, or after a SEQUENCE: nothing to report.
        let mut c = Conv::new();
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                create_session(7, 1, CreateSession4Flags(0)),
                NfsArgOp::Putrootfh(()),
            ],
            vec![NfsResOp::CreateSession(NfsRes::Fail(
                NfsStat4::NFS4ERR_NOT_ONLY_OP,
            ))],
        );
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![
                sequence(),
                NfsArgOp::DestroyClientid(DestroyClientid4Args {
                    dca_clientid: Clientid4(7),
                }),
            ],
            vec![sequence_ok(), NfsResOp::DestroyClientid(ok)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }
}
