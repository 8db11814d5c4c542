//! The model as JSON (the `servers`, `server_identities`, `relations`,
//! `clients`, `client_ids`, `sessions`, `connections`, `recovery` and
//! `gss_contexts` members of `trunkcheck analyze --json`). Bytes are shown as escaped text
//! (`\xNN` for non-printable bytes) with a `_hex` twin.

use super::*;
use crate::xdr::{escape_bytes, hex, JsonOut};

fn bytes(o: &mut JsonOut, key: &str, b: &[u8]) {
    o.field(key, &escape_bytes(b));
    o.field(&format!("{key}_hex"), &hex(b));
}

fn opt_u64(o: &mut JsonOut, key: &str, v: Option<u64>) {
    o.key(key);
    match v {
        Some(v) => o.number(v),
        None => o.null(),
    }
}

fn clientid(v: u64) -> String {
    format!("{v:#018x}")
}

fn server_key(o: &mut JsonOut, k: &ServerKey) {
    o.begin_object();
    match k {
        ServerKey::Declared { scope, major } => {
            bytes(o, "scope", scope);
            bytes(o, "major_id", major);
        }
        ServerKey::Address(a) => o.field("address", &a.to_string()),
    }
    o.end_object();
}

fn principal(o: &mut JsonOut, p: &Principal) {
    o.begin_object();
    match p {
        Principal::None => o.field("flavor", "AUTH_NONE"),
        Principal::Sys {
            machine,
            uid,
            gid,
            gids,
        } => {
            o.field("flavor", "AUTH_SYS");
            o.field("machinename", &escape_bytes(machine));
            o.field("uid", uid);
            o.field("gid", gid);
            o.field("gids", gids);
        }
        Principal::Gss { handle } => {
            o.field("flavor", "RPCSEC_GSS");
            o.field("handle", &hex(handle));
        }
        Principal::Other(f) => o.field("flavor", f),
    }
    o.end_object();
}

/// A target principal as `{"text", "realm", "name_type", "components"}`,
/// or null.
fn target(o: &mut JsonOut, key: &str, t: Option<&KrbPrincipal>) {
    o.key(key);
    let Some(t) = t else {
        o.null();
        return;
    };
    o.begin_object();
    o.field("text", &t.to_string());
    o.field("realm", &escape_bytes(&t.realm));
    o.field("name_type", &t.name_type);
    o.field(
        "components",
        &t.components
            .iter()
            .map(|c| escape_bytes(c))
            .collect::<Vec<_>>(),
    );
    o.end_object();
}

/// The target principals an address was known by in EXCHANGE_IDs under
/// RPCSEC_GSS (`target` null: the context's creation was not captured).
fn gss_targets(o: &mut JsonOut, key: &str, targets: &[TargetSeen]) {
    o.key(key);
    o.begin_array();
    for t in targets {
        o.begin_object();
        target(o, "target", t.target.as_ref());
        o.field("first_frame", &t.first_frame);
        o.field("last_frame", &t.last_frame);
        o.field("replies", &t.replies);
        o.end_object();
    }
    o.end_array();
}

/// An RPCSEC_GSS context: handle, server, mechanism, target principal,
/// creation and use.
fn gss_context(o: &mut JsonOut, c: &GssContext) {
    o.begin_object();
    o.field("handle", &hex(&c.handle));
    o.field("server", &c.server.to_string());
    let creation = c.creation.as_ref();
    o.key("mech");
    match creation.and_then(GssCreation::mech_text) {
        Some(m) => o.string(&m),
        None => o.null(),
    }
    target(o, "target", c.target());
    o.key("target_error");
    match creation.map(|x| &x.token) {
        Some(Err(e)) => o.string(&e.to_string()),
        _ => o.null(),
    }
    o.key("creation");
    match creation {
        Some(x) => {
            o.begin_object();
            o.field("client", &x.client.to_string());
            o.field("init_frame", &x.init_frame);
            o.field("reply_frame", &x.reply_frame);
            o.field("service", &x.service);
            o.field("gss_major", &x.gss_major);
            opt_u64(o, "established_frame", x.established_frame);
            o.key("acceptor_mech");
            match &x.acceptor_mech {
                Some(m) => o.string(&m.dotted()),
                None => o.null(),
            }
            o.end_object();
        }
        None => o.null(),
    }
    o.field("services", &c.services);
    opt_u64(o, "first_use", c.first_use);
    opt_u64(o, "last_use", c.last_use);
    o.field("calls", &c.calls);
    o.end_object();
}

/// `"ended": {"frame", "why"}` or null.
fn end(o: &mut JsonOut, e: &Option<super::End>) {
    o.key("ended");
    match e {
        Some(e) => {
            o.begin_object();
            o.field("frame", &e.frame);
            o.field("why", e.kind.as_str());
            o.end_object();
        }
        None => o.null(),
    }
}

fn channel(o: &mut JsonOut, key: &str, c: &Option<crate::nfs4::ChannelAttrs4>) {
    o.key(key);
    match c {
        Some(c) => crate::xdr::ToJson::to_json(c, o),
        None => o.null(),
    }
}

impl Model {
    /// Writes the model's members into the object being written to `o`.
    pub fn write_json_members(&self, o: &mut JsonOut) {
        o.key("servers");
        o.begin_array();
        for e in self.endpoints.values() {
            o.begin_object();
            o.field("endpoint", &e.addr.to_string());
            o.field("first_frame", &e.first_frame);
            o.field(
                "minor_versions",
                &e.minor_versions.iter().copied().collect::<Vec<_>>(),
            );
            o.key("lease_time");
            match e.lease_time {
                Some(l) => o.number(l),
                None => o.null(),
            }
            o.key("restarts");
            o.begin_array();
            for r in &e.restarts {
                o.begin_object();
                o.field("frame", &r.frame);
                o.field("evidence", r.why);
                o.end_object();
            }
            o.end_array();
            o.key("declarations");
            o.begin_array();
            for d in &e.declarations {
                o.begin_object();
                bytes(o, "major_id", &d.major);
                o.field("minor_id", &d.minor);
                bytes(o, "scope", &d.scope);
                o.key("impl_id");
                match &d.impl_id {
                    Some((dom, name)) => {
                        o.begin_object();
                        o.field("domain", &escape_bytes(dom));
                        o.field("name", &escape_bytes(name));
                        o.end_object();
                    }
                    None => o.null(),
                }
                o.field("first_frame", &d.first_frame);
                o.field("last_frame", &d.last_frame);
                o.field("replies", &d.replies);
                o.end_object();
            }
            o.end_array();
            gss_targets(o, "gss_targets", &e.gss_targets);
            o.end_object();
        }
        o.end_array();

        o.key("server_identities");
        o.begin_array();
        let ids = self.server_identities();
        for s in &ids {
            o.begin_object();
            o.key("key");
            server_key(o, &s.key);
            o.field(
                "endpoints",
                &s.endpoints
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>(),
            );
            // Each group is session-trunkable; groups are client-ID
            // trunkable with each other.
            o.key("session_trunkable_groups");
            o.begin_array();
            for (minor, eps) in self.minor_groups(s) {
                o.begin_object();
                o.key("minor_id");
                match minor {
                    Some(m) => o.number(m),
                    None => o.null(),
                }
                o.field(
                    "endpoints",
                    &eps.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                );
                o.end_object();
            }
            o.end_array();
            // RFC 8881 §2.10.5.1: equal target principals at every
            // address verify client-ID trunking.
            o.key("gss_target_principals");
            o.begin_array();
            for e in s.endpoints.iter().filter_map(|a| self.endpoints.get(a)) {
                if e.gss_targets.is_empty() {
                    continue;
                }
                o.begin_object();
                o.field("endpoint", &e.addr.to_string());
                o.key("targets");
                o.begin_array();
                for t in &e.gss_targets {
                    match &t.target {
                        Some(p) => o.string(&p.to_string()),
                        None => o.null(),
                    }
                }
                o.end_array();
                o.end_object();
            }
            o.end_array();
            o.end_object();
        }
        o.end_array();

        // Identities that share a scope: a client may reclaim across them.
        o.key("same_scope");
        o.begin_array();
        for (i, j) in self.scope_relations() {
            o.begin_array();
            o.number(i as u64);
            o.number(j as u64);
            o.end_array();
        }
        o.end_array();

        o.key("v40_trunking_tests");
        o.begin_array();
        for t in &self.v40_trunking {
            o.begin_object();
            o.field("issued_at", &t.issued_at.to_string());
            o.field("confirmed_at", &t.confirmed_at.to_string());
            o.field("clientid", &clientid(t.clientid));
            o.field("status", &t.status);
            o.field("same_server", &t.same_server());
            o.field("frame", &t.frame);
            o.end_object();
        }
        o.end_array();

        o.key("clients");
        o.begin_array();
        for c in &self.clients {
            o.begin_object();
            bytes(o, "owner", &c.owner);
            o.field(
                "kind",
                match c.kind {
                    OwnerKind::V41 => "co_ownerid",
                    OwnerKind::V40 => "nfs_client_id4",
                },
            );
            o.field("first_frame", &c.first_frame);
            o.key("incarnations");
            o.begin_array();
            for (v, f) in &c.incarnations {
                o.begin_object();
                o.field("verifier", &hex(v));
                o.field("first_frame", f);
                o.end_object();
            }
            o.end_array();
            o.key("principals");
            o.begin_array();
            for p in &c.principals {
                principal(o, p);
            }
            o.end_array();
            o.field(
                "sources",
                &c.sources.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            );
            o.field(
                "endpoints",
                &c.endpoints
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>(),
            );
            o.end_object();
        }
        o.end_array();

        o.key("client_ids");
        o.begin_array();
        for r in &self.client_ids {
            o.begin_object();
            o.field("clientid", &clientid(r.clientid));
            o.key("server");
            server_key(o, &r.server);
            o.key("owner");
            match &r.owner {
                Some(b) => o.string(&escape_bytes(b)),
                None => o.null(),
            }
            o.key("verifier");
            match &r.verifier {
                Some(v) => o.string(&hex(v)),
                None => o.null(),
            }
            o.field(
                "endpoints",
                &r.endpoints
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>(),
            );
            opt_u64(o, "issued_frame", r.issued_frame);
            opt_u64(o, "confirmed_frame", r.confirmed_frame);
            o.key("flags");
            match r.flags {
                Some(f) => o.string(&f.to_string()),
                None => o.null(),
            }
            o.key("state_protect");
            match r.state_protect {
                Some(s) => o.string(&s.to_string()),
                None => o.null(),
            }
            o.key("state_protect_requested");
            match &r.protection_asked {
                Some((how, gss)) => {
                    o.begin_object();
                    o.field("how", &how.to_string());
                    o.field("gss_integrity_or_privacy", gss);
                    o.key("gss_service");
                    match &r.exchange_id_gss {
                        Some(u) => crate::xdr::ToJson::to_json(&u.service, o),
                        None => o.null(),
                    }
                    o.end_object();
                }
                None => o.null(),
            }
            o.key("exchange_id_gss");
            match &r.exchange_id_gss {
                Some(u) => {
                    let ctx = u.context.and_then(|i| self.gss_contexts.get(i));
                    o.begin_object();
                    o.field("service", &u.service);
                    o.field("handle", &hex(&u.handle));
                    o.key("mech");
                    match ctx
                        .and_then(|c| c.creation.as_ref())
                        .and_then(GssCreation::mech_text)
                    {
                        Some(m) => o.string(&m),
                        None => o.null(),
                    }
                    target(o, "target", ctx.and_then(GssContext::target));
                    o.key("context_server");
                    match ctx {
                        Some(c) => o.string(&c.server.to_string()),
                        None => o.null(),
                    }
                    o.end_object();
                }
                None => o.null(),
            }
            opt_u64(o, "reclaim_complete_frame", r.reclaim_complete_frame);
            opt_u64(o, "destroyed_frame", r.destroyed_frame);
            end(o, &r.ended);
            o.end_object();
        }
        o.end_array();

        o.key("sessions");
        o.begin_array();
        for s in self.sessions.values() {
            o.begin_object();
            o.field("id", &s.id.hex());
            o.key("clientid");
            match s.clientid {
                Some(c) => o.string(&clientid(c)),
                None => o.null(),
            }
            o.field("endpoint", &s.endpoint.to_string());
            o.field("first_frame", &s.first_frame);
            opt_u64(o, "created_frame", s.created_frame);
            o.key("flags");
            match s.flags {
                Some(f) => o.string(&f.to_string()),
                None => o.null(),
            }
            channel(o, "fore_channel", &s.fore);
            channel(o, "back_channel", &s.back);
            o.key("cb_program");
            match s.cb_program {
                Some(p) => o.number(p),
                None => o.null(),
            }
            o.key("connections");
            o.begin_array();
            for (id, b) in &s.connections {
                o.begin_object();
                o.field("conn", &id.0);
                if let Some(c) = self.connections.get(id) {
                    o.field("client", &c.client.to_string());
                    o.field("server", &c.server.to_string());
                }
                o.field(
                    "how",
                    match b.how {
                        BindHow::CreateSession => "CREATE_SESSION",
                        BindHow::BindConnToSession => "BIND_CONN_TO_SESSION",
                        BindHow::Sequence => "SEQUENCE",
                    },
                );
                o.field("dir", &b.dir);
                o.field("frame", &b.frame);
                o.end_object();
            }
            o.end_array();
            o.field(
                "callback_connections",
                &s.callbacks.keys().map(|c| c.0).collect::<Vec<_>>(),
            );
            o.field("slots_used", &(s.slots.len() as u64));
            o.field("status_flags", &s.status_flags.to_string());
            opt_u64(o, "destroyed_frame", s.destroyed_frame);
            end(o, &s.ended);
            o.end_object();
        }
        o.end_array();

        o.key("connections");
        o.begin_array();
        for c in self.connections.values() {
            o.begin_object();
            o.field("conn", &c.id.0);
            o.field("client", &c.client.to_string());
            o.field("server", &c.server.to_string());
            o.field("first_frame", &c.first_frame);
            o.field(
                "owners",
                &c.owners.iter().map(|b| escape_bytes(b)).collect::<Vec<_>>(),
            );
            o.end_object();
        }
        o.end_array();

        o.key("recovery");
        o.begin_array();
        for e in &self.recovery {
            o.begin_object();
            o.field("frame", &e.frame);
            o.field("endpoint", &e.endpoint.to_string());
            o.key("clientid");
            match e.clientid {
                Some(c) => o.string(&clientid(c)),
                None => o.null(),
            }
            match &e.kind {
                RecoveryKind::Status(s) => {
                    o.field("event", "status");
                    o.field("status", s);
                }
                RecoveryKind::ReclaimNeeded => o.field("event", "restart_reclaim_needed"),
                RecoveryKind::Reclaim { op, status } => {
                    o.field("event", "reclaim");
                    o.field("op", *op);
                    o.field("status", status);
                }
                RecoveryKind::ReclaimComplete { one_fs, status } => {
                    o.field("event", "reclaim_complete");
                    o.field("one_fs", one_fs);
                    o.field("status", status);
                }
            }
            o.end_object();
        }
        o.end_array();

        o.key("gss_contexts");
        o.begin_array();
        for c in &self.gss_contexts {
            gss_context(o, c);
        }
        o.end_array();
    }
}
