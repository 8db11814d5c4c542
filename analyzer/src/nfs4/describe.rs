//! One-line descriptions of the identity-bearing fields of operations, for
//! `trunkcheck decode`'s text output (who the client and server say they
//! are, which client ID, session, slot and direction).

use super::*;
use crate::xdr::Opaque;
use std::fmt::Write;

/// Displays opaque data as quoted escaped text, without building a string.
struct Text<'o, 'a>(&'o Opaque<'a>);

impl std::fmt::Display for Text<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", Escaped(self.0))
    }
}

/// Displays opaque data escaped as by [`Opaque::escaped`], without
/// allocating for plain text.
struct Escaped<'o, 'a>(&'o Opaque<'a>);

impl std::fmt::Display for Escaped<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0.as_bytes();
        let plain = b
            .iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b'\\' && c != b'"');
        match std::str::from_utf8(b) {
            Ok(t) if plain => f.write_str(t),
            _ => f.write_str(&self.0.escaped()),
        }
    }
}

fn text<'o, 'a>(o: &'o Opaque<'a>) -> Text<'o, 'a> {
    Text(o)
}

/// The identity fields of a call's operation, if it has any worth showing.
pub fn describe_arg(op: &NfsArgOp<'_>) -> Option<String> {
    let mut s = String::new();
    describe_arg_into(op, &mut s).then_some(s)
}

/// Appends what [`describe_arg`] gives to `s`; false (and nothing
/// appended) when the operation has nothing to show.
pub fn describe_arg_into(op: &NfsArgOp<'_>, s: &mut String) -> bool {
    match op {
        NfsArgOp::ExchangeId(a) => {
            let _ = write!(
                *s,
                "owner={} verifier={} flags={} sp={}",
                text(&a.eia_clientowner.co_ownerid),
                a.eia_clientowner.co_verifier,
                a.eia_flags,
                state_protect_a(&a.eia_state_protect),
            );
        }
        NfsArgOp::CreateSession(a) => {
            let _ = write!(
                *s,
                "clientid={} seq={} flags={} cb_program={:#x}",
                a.csa_clientid, a.csa_sequence, a.csa_flags, a.csa_cb_program
            );
        }
        NfsArgOp::BindConnToSession(a) => {
            let _ = write!(*s, "session={} dir={}", a.bctsa_sessid, a.bctsa_dir);
        }
        NfsArgOp::Sequence(a) => {
            let _ = write!(
                *s,
                "session={} seq={} slot={} highest={}{}",
                a.sa_sessionid,
                a.sa_sequenceid,
                a.sa_slotid,
                a.sa_highest_slotid,
                if a.sa_cachethis { " cachethis" } else { "" }
            );
        }
        NfsArgOp::DestroySession(a) => {
            let _ = write!(*s, "session={}", a.dsa_sessionid);
        }
        NfsArgOp::DestroyClientid(a) => {
            let _ = write!(*s, "clientid={}", a.dca_clientid);
        }
        NfsArgOp::ReclaimComplete(a) => {
            let _ = write!(*s, "one_fs={}", a.rca_one_fs);
        }
        NfsArgOp::Setclientid(a) => {
            let _ = write!(
                *s,
                "id={} verifier={} cb_program={:#x} cb={}:{} ident={}",
                text(&a.client.id),
                a.client.verifier,
                a.callback.cb_program,
                Escaped(&a.callback.cb_location.na_r_netid),
                Escaped(&a.callback.cb_location.na_r_addr),
                a.callback_ident
            );
        }
        NfsArgOp::SetclientidConfirm(a) => {
            let _ = write!(
                *s,
                "clientid={} confirm={}",
                a.clientid, a.setclientid_confirm
            );
        }
        NfsArgOp::Renew(a) => {
            let _ = write!(*s, "clientid={}", a.clientid);
        }
        NfsArgOp::Open(a) => {
            let _ = write!(
                *s,
                "claim={} owner={}/{}",
                a.claim.discriminant(),
                a.owner.clientid,
                Escaped(&a.owner.owner)
            );
        }
        NfsArgOp::Lock(a) => {
            let _ = write!(*s, "{} reclaim={}", a.locktype, a.reclaim);
        }
        NfsArgOp::BackchannelCtl(a) => {
            let _ = write!(*s, "cb_program={:#x}", a.bca_cb_program);
        }
        _ => return false,
    }
    true
}

fn state_protect_a(sp: &StateProtect4A<'_>) -> &'static str {
    match sp {
        StateProtect4A::None => "SP4_NONE",
        StateProtect4A::MachCred(_) => "SP4_MACH_CRED",
        StateProtect4A::Ssv(_) => "SP4_SSV",
    }
}

/// The identity fields of a reply's operation result, if it has any.
pub fn describe_res(op: &NfsResOp<'_>) -> Option<String> {
    let mut s = String::new();
    describe_res_into(op, &mut s).then_some(s)
}

/// Appends what [`describe_res`] gives to `s`; false (and nothing
/// appended) when the result has nothing to show.
pub fn describe_res_into(op: &NfsResOp<'_>, s: &mut String) -> bool {
    match op {
        NfsResOp::ExchangeId(NfsRes::Ok(r)) => {
            let _ = write!(
                *s,
                "clientid={} seq={} flags={} major={} minor={} scope={}",
                r.eir_clientid,
                r.eir_sequenceid,
                r.eir_flags,
                text(&r.eir_server_owner.so_major_id),
                r.eir_server_owner.so_minor_id,
                text(&r.eir_server_scope)
            );
        }
        NfsResOp::CreateSession(NfsRes::Ok(r)) => {
            let _ = write!(
                *s,
                "session={} seq={} flags={}",
                r.csr_sessionid, r.csr_sequence, r.csr_flags
            );
        }
        NfsResOp::BindConnToSession(NfsRes::Ok(r)) => {
            let _ = write!(*s, "session={} dir={}", r.bctsr_sessid, r.bctsr_dir);
        }
        NfsResOp::Sequence(NfsRes::Ok(r)) => {
            let _ = write!(
                *s,
                "session={} seq={} slot={} highest={} target={} flags={}",
                r.sr_sessionid,
                r.sr_sequenceid,
                r.sr_slotid,
                r.sr_highest_slotid,
                r.sr_target_highest_slotid,
                r.sr_status_flags
            );
        }
        NfsResOp::Setclientid(Setclientid4Res::Ok(r)) => {
            let _ = write!(
                *s,
                "clientid={} confirm={}",
                r.clientid, r.setclientid_confirm
            );
        }
        NfsResOp::Setclientid(Setclientid4Res::ClidInuse(a)) => {
            let _ = write!(
                *s,
                "in_use_by={}:{}",
                Escaped(&a.na_r_netid),
                Escaped(&a.na_r_addr)
            );
        }
        NfsResOp::Open(NfsRes::Ok(r)) => {
            let _ = write!(
                *s,
                "stateid={}:{} rflags={}",
                r.stateid.seqid, r.stateid.other, r.rflags
            );
        }
        _ => return false,
    }
    true
}

/// The identity fields of a callback operation, if it has any.
pub fn describe_cb_arg(op: &CbArgOp<'_>) -> Option<String> {
    let mut s = String::new();
    describe_cb_arg_into(op, &mut s).then_some(s)
}

/// Appends what [`describe_cb_arg`] gives to `s`; false (and nothing
/// appended) when the operation has nothing to show.
pub fn describe_cb_arg_into(op: &CbArgOp<'_>, s: &mut String) -> bool {
    match op {
        CbArgOp::CbSequence(a) => {
            let _ = write!(
                *s,
                "session={} seq={} slot={} highest={}",
                a.csa_sessionid, a.csa_sequenceid, a.csa_slotid, a.csa_highest_slotid
            );
            true
        }
        _ => false,
    }
}
