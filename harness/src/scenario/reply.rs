//! The reply fields an operation step's `expect.fields` may name: the
//! fields of the operation's result as the codec declares them (every
//! arm's, for a result that is a union), plus `status` and `op`. The runner
//! judges a step on that result rendered as JSON (see `run::expect`), so a
//! name outside this list can never match; the loader refuses it.

use super::types::{Op, ReaddirStep};
use analyzer::nfs4::attr::{attr_name, Fattr4Num};
use analyzer::nfs4::{
    BindConnToSession4ResOk, Clientaddr4, CreateSession4ResOk, ExchangeId4ResOk, Getattr4ResOk,
    Getfh4ResOk, Lock4Denied, Open4ResOk, Read4ResOk, Readdir4ResOk, Remove4ResOk, Rename4ResOk,
    Sequence4ResOk, Setclientid4ResOk, Stateid4, Write4ResOk,
};
use analyzer::xdr::XdrFields;

/// Members every operation result has: its status and its name; and,
/// for a step sent under RPCSEC_GSS, `gss_acceptor`: the server principal
/// the call's context authenticated (null otherwise).
const EVERY_RESULT: &[&str] = &["status", "op", "gss_acceptor"];

/// The structs whose fields the reply of `op` shows, one per result arm
/// that carries data (none for results that are a status alone).
fn result_structs(op: &Op) -> &'static [&'static [&'static str]] {
    match op {
        Op::ExchangeId(_) => &[ExchangeId4ResOk::FIELDS],
        Op::CreateSession(_) => &[CreateSession4ResOk::FIELDS],
        Op::BindConnToSession(_) => &[BindConnToSession4ResOk::FIELDS],
        Op::Sequence(_) => &[Sequence4ResOk::FIELDS],
        Op::Getattr(_) => &[Getattr4ResOk::FIELDS],
        Op::Open(_) => &[Open4ResOk::FIELDS],
        // OPEN_CONFIRM4resok, LOCKU and CLOSE: the stateid; LOCK: the
        // stateid, or LOCK4denied.
        Op::OpenConfirm(_) | Op::Locku(_) | Op::Close(_) => &[Stateid4::FIELDS],
        Op::Lock(_) => &[Stateid4::FIELDS, Lock4Denied::FIELDS],
        Op::Lockt(_) => &[Lock4Denied::FIELDS],
        Op::Read(_) => &[Read4ResOk::FIELDS],
        Op::Write(_) => &[Write4ResOk::FIELDS],
        // The client ID and confirm verifier, or the address in use.
        Op::Setclientid(_) => &[Setclientid4ResOk::FIELDS, Clientaddr4::FIELDS],
        Op::DestroySession(_)
        | Op::DestroyClientid(_)
        | Op::ReclaimComplete(_)
        | Op::BackchannelCtl(_)
        | Op::Putrootfh(_)
        | Op::SetclientidConfirm(_)
        | Op::Renew(_)
        | Op::Illegal(_)
        | Op::OverLimit(_) => &[],
        Op::Remove(_) => &[Remove4ResOk::FIELDS],
        Op::Rename(_) => &[Rename4ResOk::FIELDS],
        // The last operation: GETATTR, else GETFH, else LOOKUP (a status).
        Op::Lookup(_) => &[Getattr4ResOk::FIELDS, Getfh4ResOk::FIELDS],
        Op::Readdir(_) => &[Readdir4ResOk::FIELDS],
    }
}

/// The members of a READDIR step's reply when it names an `entry`: the
/// entry's name and cookie, and every attribute by its short name.
fn entry_fields() -> Vec<&'static str> {
    let mut names = vec!["name", "cookie"];
    names.extend(Fattr4Num::KNOWN.iter().filter_map(|(n, _)| attr_name(n.0)));
    names
}

/// Every field name the reply of `op` has (`None`: no operation, as in an
/// empty `compound`, whose reply has no fields at all).
pub fn reply_fields(op: Option<&Op>) -> Vec<&'static str> {
    let Some(op) = op else {
        return Vec::new();
    };
    let mut names: Vec<&'static str> = EVERY_RESULT.to_vec();
    if let Op::Readdir(ReaddirStep { entry: Some(_), .. }) = op {
        names.extend(entry_fields());
        return names;
    }
    for s in result_structs(op) {
        names.extend(s.iter().filter(|n| !names.contains(n)).collect::<Vec<_>>());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::expect::result_json;
    use analyzer::nfs4::{ExchgId4Flags, NfsRes, NfsResOp, NfsStat4, ServerOwner4, StateProtect4R};
    use analyzer::xdr::Opaque;

    fn op(yaml: &str) -> Op {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    #[test]
    fn the_names_are_the_members_of_the_rendered_reply() {
        let res = NfsResOp::ExchangeId(NfsRes::Ok(ExchangeId4ResOk {
            eir_clientid: analyzer::nfs4::Clientid4(1),
            eir_sequenceid: 1,
            eir_flags: ExchgId4Flags(0),
            eir_state_protect: StateProtect4R::None,
            eir_server_owner: ServerOwner4 {
                so_minor_id: 0,
                so_major_id: Opaque::from("m"),
            },
            eir_server_scope: Opaque::from("s"),
            eir_server_impl_id: vec![],
        }));
        let json = result_json(&res);
        let mut members: Vec<&str> = json
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut names = reply_fields(Some(&op("exchange_id: {owner: o1}")));
        // The runner adds `gss_acceptor` to every step's reply itself.
        names.retain(|n| *n != "gss_acceptor");
        members.sort_unstable();
        names.sort_unstable();
        assert_eq!(members, names);
        let confirm = NfsResOp::OpenConfirm(NfsRes::Ok(Stateid4 {
            seqid: 1,
            other: analyzer::nfs4::StateidOther([0; 12]),
        }));
        for member in result_json(&confirm)
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
        {
            assert!(
                reply_fields(Some(&op("open_confirm: {open: f}"))).contains(&member.as_str()),
                "{member}"
            );
        }
        let fail = result_json(&NfsResOp::DestroySession(NfsStat4::NFS4ERR_BADSESSION));
        assert_eq!(fail["status"], "NFS4ERR_BADSESSION");
        assert_eq!(
            reply_fields(Some(&op("destroy_session: {session: s}"))),
            ["status", "op", "gss_acceptor"]
        );
        assert!(reply_fields(None).is_empty());
    }
}
