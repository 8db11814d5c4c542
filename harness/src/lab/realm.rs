//! The lab's Kerberos realm: one MIT KDC per lab (started before the
//! servers, stopped after them), the servers' `nfs/HOST` principals and
//! keytabs, and the client principals scenarios act as, made on first use.
//!
//! Names: every host lives under the realm's domain (the realm in lower
//! case). With `names: per-scope` (the default) servers of one scope share
//! one principal, `nfs/<scope>.<domain>`, as RFC 8881 §2.10.4 recommends;
//! with `per-server` each has `nfs/<server>.<domain>`. Machine principals
//! are `host/<NAME>.<domain>`, users `NAME@REALM`; all have keytabs, so no
//! password is ever typed. The KDC listens on the host's loopback: the
//! harness's GSS library reaches it from the host namespace, and Ganesha,
//! an acceptor, needs only its keytab (a knfsd guest gets its keytab on
//! its disk and runs `rpc.svcgssd` as that principal).

use crate::gss::{Cred, GssError, Name};
use crate::krb5::{conf, Kdc, KdcOptions, Keytab, ProcessRealm};
use crate::targets::{ServiceNames, Target};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What kind of client principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClientKind {
    /// A machine credential, `host/NAME.<domain>`.
    Machine,
    /// A user, `NAME@REALM`.
    User,
}

/// A running realm for a lab's servers and clients.
pub struct LabRealm {
    kdc: Kdc,
    /// Keeps this process's GSS library pointed at the realm.
    _process: ProcessRealm,
    /// Per server (target order): the host part of its `nfs/` principal.
    hosts: Vec<String>,
    /// Per server: the keytab holding its `nfs/` principal.
    keytabs: Vec<Keytab>,
    /// Client credentials made so far.
    creds: Mutex<BTreeMap<(ClientKind, String), Arc<Cred>>>,
}

impl std::fmt::Debug for LabRealm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabRealm")
            .field("realm", &self.kdc.realm())
            .field("hosts", &self.hosts)
            .finish()
    }
}

/// A DNS label made of `s`: lower-case letters, digits and `-`.
fn label(s: &str) -> String {
    let l: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let l = l.trim_matches('-').to_string();
    if l.is_empty() {
        "x".into()
    } else {
        l
    }
}

/// The host part of server `i`'s `nfs/` principal in `target` under
/// `domain` (None for a server the launcher does not run).
pub fn service_host(target: &Target, i: usize, domain: &str) -> Option<String> {
    let s = target.servers.get(i)?;
    let names = target.krb5.map(|k| k.names).unwrap_or_default();
    let base = match (names, &s.ganesha, &s.knfsd) {
        (ServiceNames::PerScope, Some(g), _) => label(&g.server_scope),
        // knfsd declares its host name as its scope.
        (ServiceNames::PerScope, None, Some(k)) => label(&k.hostname),
        _ => label(&s.name),
    };
    Some(format!("{base}.{domain}"))
}

impl LabRealm {
    /// Starts the KDC, makes every server's principal and keytab under
    /// `dir`, and points this process's GSS library at the realm.
    pub fn start(target: &Target, dir: &std::path::Path) -> Result<LabRealm, String> {
        if let Some((program, package)) = crate::krb5::missing_tool() {
            return Err(format!(
                "{program} is not installed (apt-get install {package})"
            ));
        }
        crate::gss::Gssapi::get().map_err(|e| e.to_string())?;
        let kdc = Kdc::start(&KdcOptions::default()).map_err(|e| format!("the KDC: {e}"))?;
        let domain = kdc.realm().to_ascii_lowercase();
        let mut hosts = Vec::new();
        let mut keytabs: Vec<Keytab> = Vec::new();
        let mut made: BTreeMap<String, Keytab> = BTreeMap::new();
        for i in 0..target.servers.len() {
            let host = service_host(target, i, &domain).unwrap_or_default();
            let kt = match made.get(&host) {
                Some(k) => k.clone(),
                None => {
                    let name = format!("nfs/{host}");
                    let path: PathBuf = dir.join(format!("nfs-{host}.keytab"));
                    let k = kdc
                        .add_principal_to_keytab(&name, &path)
                        .map_err(|e| format!("principal {name}: {e}"))?;
                    made.insert(host.clone(), k.clone());
                    k
                }
            };
            hosts.push(host);
            keytabs.push(kt);
        }
        let process = crate::krb5::use_realm(&kdc).map_err(|e| e.to_string())?;
        Ok(LabRealm {
            kdc,
            _process: process,
            hosts,
            keytabs,
            creds: Mutex::new(BTreeMap::new()),
        })
    }

    /// The KDC.
    pub fn kdc(&self) -> &Kdc {
        &self.kdc
    }

    /// The realm's domain (the realm in lower case).
    pub fn domain(&self) -> String {
        self.kdc.realm().to_ascii_lowercase()
    }

    /// The host part of server `i`'s `nfs/` principal.
    pub fn host(&self, i: usize) -> Option<&str> {
        self.hosts.get(i).map(String::as_str)
    }

    /// The keytab of server `i`'s `nfs/` principal.
    pub fn keytab(&self, i: usize) -> Option<&Keytab> {
        self.keytabs.get(i)
    }

    /// The GSS target name of server `i` (`nfs@HOST`).
    pub fn target_name(&self, i: usize) -> Result<Name, GssError> {
        Name::service("nfs", self.host(i).unwrap_or_default())
    }

    /// The full name of a client principal.
    pub fn principal_name(&self, kind: ClientKind, name: &str) -> String {
        match kind {
            ClientKind::Machine => self
                .kdc
                .full_name(&format!("host/{name}.{}", self.domain())),
            ClientKind::User => self.kdc.full_name(name),
        }
    }

    /// The credential of a client principal, made (principal, keytab) on
    /// first use.
    pub fn cred(&self, kind: ClientKind, name: &str) -> Result<Arc<Cred>, String> {
        let key = (kind, name.to_string());
        let mut creds = self.creds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = creds.get(&key) {
            return Ok(Arc::clone(c));
        }
        let short = match kind {
            ClientKind::Machine => format!("host/{}.{}", label(name), self.domain()),
            ClientKind::User => name.to_string(),
        };
        if !conf::valid_principal(&short) || short.contains('@') {
            return Err(format!("{name:?} is no valid principal name"));
        }
        let kt = self
            .kdc
            .add_keytab_principal(&short)
            .map_err(|e| format!("principal {short}: {e}"))?;
        let gss_name = Name::principal(&kt.principal).map_err(|e| e.to_string())?;
        let cred = Cred::initiator(Some(&gss_name), &self.kdc.cred_store(&kt))
            .map_err(|e| format!("credential of {}: {e}", kt.principal))?;
        let cred = Arc::new(cred);
        creds.insert(key, Arc::clone(&cred));
        Ok(cred)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_of_one_scope_share_a_principal_unless_told_otherwise() {
        let mut t = Target::builtin("default").expect("default");
        let hosts: Vec<_> = (0..3)
            .map(|i| service_host(&t, i, "r.test").unwrap_or_default())
            .collect();
        assert_eq!(hosts[0], "trunkcheck-cluster.r.test");
        assert_eq!(hosts[0], hosts[1]);
        assert_ne!(hosts[0], hosts[2]);
        t.krb5 = Some(crate::targets::Krb5Spec {
            names: ServiceNames::PerServer,
        });
        assert_eq!(service_host(&t, 0, "r.test").as_deref(), Some("a.r.test"));
        assert_eq!(service_host(&t, 1, "r.test").as_deref(), Some("b.r.test"));
        assert_eq!(service_host(&t, 9, "r.test"), None);
    }

    #[test]
    fn a_knfsd_guest_is_named_by_its_host_name_which_is_its_scope() {
        let t = Target::builtin("knfsd").expect("knfsd");
        assert!(t.krb5.is_some(), "the built-in knfsd lab has a realm");
        assert_eq!(
            service_host(&t, 0, "r.test").as_deref(),
            Some("knfsd-a.r.test")
        );
        assert_eq!(
            service_host(&t, 1, "r.test").as_deref(),
            Some("knfsd-c.r.test")
        );
    }

    #[test]
    fn labels_are_dns_safe() {
        assert_eq!(label("Trunkcheck_Cluster!"), "trunkcheck-cluster");
        assert_eq!(label("--"), "x");
    }
}
