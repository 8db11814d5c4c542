//! What a server must implement (RFC 8881 §17, RFC 7862 §15 for NFSv4.2):
//! an operation the minor version makes REQUIRED is never answered
//! NFS4ERR_NOTSUPP, which means "an OPTIONAL operation this server does not
//! support" (RFC 8881 §15.1.1.5), nor NFS4ERR_OP_ILLEGAL, which says the
//! operation code is not one of the minor version (§15.1.3.4); a RECOMMENDED
//! one should not be either.
//!
//! Only operations whose result never legitimately depends on a feature
//! are judged: OPEN, LOCK, CREATE, SETATTR, LINK and the like may answer
//! NFS4ERR_NOTSUPP for an unsupported claim type, lock type or attribute.

use super::{Check, Judge, Rule, Violation};
use crate::model::event::Event;
use crate::nfs4::NfsStat4;

rules! {
    OP_REQUIRED_NOTSUPP: "op.required-notsupp", "RFC 8881 §17, §15.1.1.5, §15.1.3.4", [], Violation, Server, [],
        "an operation REQUIRED in the minor version in use (e.g. EXCHANGE_ID, CREATE_SESSION, BIND_CONN_TO_SESSION, BACKCHANNEL_CTL, SEQUENCE, RECLAIM_COMPLETE, TEST_STATEID) is not answered NFS4ERR_NOTSUPP or NFS4ERR_OP_ILLEGAL";
    OP_RECOMMENDED_NOTSUPP: "op.recommended-notsupp", "RFC 8881 §17", [], Warning, Server, [],
        "an operation RECOMMENDED in the minor version in use (SECINFO_NO_NAME) is supported";
}

/// Operations REQUIRED in NFSv4.1 and 4.2 (RFC 8881 §17) whose support does
/// not depend on their arguments.
const REQUIRED: &[&str] = &[
    "ACCESS",
    "BACKCHANNEL_CTL",
    "BIND_CONN_TO_SESSION",
    "CLOSE",
    "COMMIT",
    "CREATE_SESSION",
    "DESTROY_CLIENTID",
    "DESTROY_SESSION",
    "EXCHANGE_ID",
    "FREE_STATEID",
    "GETATTR",
    "GETFH",
    "LOCKT",
    "LOCKU",
    "LOOKUP",
    "LOOKUPP",
    "NVERIFY",
    "PUTFH",
    "PUTPUBFH",
    "PUTROOTFH",
    "READ",
    "READDIR",
    "RECLAIM_COMPLETE",
    "REMOVE",
    "RENAME",
    "RESTOREFH",
    "SAVEFH",
    "SECINFO",
    "SEQUENCE",
    "TEST_STATEID",
    "VERIFY",
    "WRITE",
];

/// Operations RECOMMENDED in NFSv4.1 and 4.2.
const RECOMMENDED: &[&str] = &["SECINFO_NO_NAME"];

/// The support rules.
#[derive(Debug, Default)]
pub struct Support;

impl Check for Support {
    fn judge(&mut self, ev: &Event<'_>, j: &mut Judge<'_>) {
        let Event::Answered { op, result, .. } = *ev else {
            return;
        };
        let status = result.status();
        if !matches!(
            status,
            NfsStat4::NFS4ERR_NOTSUPP | NfsStat4::NFS4ERR_OP_ILLEGAL
        ) {
            return;
        }
        let at = j.at();
        if !matches!(at.minor, Some(1 | 2)) {
            return;
        }
        // The call's operation: an OP_ILLEGAL result names no operation.
        let name = op.name();
        let rule: &'static Rule = if REQUIRED.contains(&name) {
            &OP_REQUIRED_NOTSUPP
        } else if RECOMMENDED.contains(&name) {
            &OP_RECOMMENDED_NOTSUPP
        } else {
            return;
        };
        let kind = if std::ptr::eq(rule, &OP_REQUIRED_NOTSUPP) {
            "REQUIRED"
        } else {
            "RECOMMENDED"
        };
        j.judge(rule, || {
            Some(Violation::new(
                format!(
                    "{} answered {name}, {kind} in NFSv4.{}, with {status:?}",
                    at.server,
                    at.minor.unwrap_or(1)
                ),
                at.frames(),
            ))
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testkit::*;

    fn answer(c: &mut Conv, arg: NfsArgOp<'static>, res: NfsResOp<'static>) {
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![sequence(), arg],
            vec![sequence_ok(), res],
        );
    }

    #[test]
    fn required_operations_are_never_notsupp() {
        let notsupp = NfsStat4::NFS4ERR_NOTSUPP;
        let mut c = with_session();
        answer(
            &mut c,
            reclaim_complete(),
            NfsResOp::ReclaimComplete(notsupp),
        );
        answer(
            &mut c,
            NfsArgOp::SecinfoNoName(SecinfoStyle4::SECINFO_STYLE4_CURRENT_FH),
            NfsResOp::SecinfoNoName(NfsRes::Fail(notsupp)),
        );
        answer(
            &mut c,
            NfsArgOp::BackchannelCtl(BackchannelCtl4Args {
                bca_cb_program: 0x4000_0000,
                bca_sec_parms: vec![],
            }),
            NfsResOp::Illegal(NfsStat4::NFS4ERR_OP_ILLEGAL),
        );
        assert_eq!(
            c.rules(),
            vec![
                "op.required-notsupp",
                "op.recommended-notsupp",
                "op.required-notsupp"
            ]
        );
        assert!(c.x.sink.findings()[2]
            .message
            .contains("BACKCHANNEL_CTL, REQUIRED in NFSv4.1, with NFS4ERR_OP_ILLEGAL"));
        // OPEN may refuse a claim type it does not support; NFSv4.0 has no
        // such table.
        let mut c = with_session();
        answer(
            &mut c,
            reclaim_complete(),
            NfsResOp::ReclaimComplete(NfsStat4::NFS4_OK),
        );
        answer(
            &mut c,
            open(OpenClaim4::Null(Opaque::from("f"))),
            open_res(notsupp),
        );
        c.minor = 0;
        c.exchange(
            1,
            CLIENT,
            SERVER_A,
            vec![NfsArgOp::Putrootfh(())],
            vec![NfsResOp::Putrootfh(notsupp)],
        );
        assert!(c.rules().is_empty(), "{:?}", c.x.sink.findings());
    }
}
