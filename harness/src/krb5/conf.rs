//! The configuration files of a run's realm: `krb5.conf` for every client
//! and server of the run, `kdc.conf` for the KDC and its tools.
//!
//! Names are written as they are given: no DNS canonicalisation, no reverse
//! lookups, no short-name qualification, so `nfs@srv1.trunkcheck.test`
//! means exactly `nfs/srv1.trunkcheck.test@REALM` whatever the machine's
//! resolver says. Every host under the realm's domain (the realm in lower
//! case) maps to the realm. Only TCP is used to reach the KDC (one port to
//! capture, no UDP retransmission delays).

use std::net::SocketAddr;
use std::path::Path;

/// Encryption types of the realm's keys (current MIT defaults only).
pub const ENCTYPES: &str = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96";

/// True for a realm name this module writes safely: upper-case letters,
/// digits, `.` and `-`, not empty.
pub fn valid_realm(realm: &str) -> bool {
    !realm.is_empty()
        && realm
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// True for a principal name (without realm) safe to pass to kadmin:
/// letters, digits and `._-/` only, not empty, not starting with `-`.
pub fn valid_principal(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
}

/// `krb5.conf` for `realm` served by the KDC at `kdc`; the default ccache
/// lives in `dir` so no tool touches the machine's.
pub fn krb5_conf(realm: &str, kdc: SocketAddr, dir: &Path) -> String {
    let domain = realm.to_ascii_lowercase();
    format!(
        "# Written by trunkcheck for one run; removed with the KDC.
[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    qualify_shortname = \"\"
    udp_preference_limit = 1
    forwardable = false
    default_ccache_name = FILE:{dir}/ccache-default
    default_tkt_enctypes = {ENCTYPES}
    default_tgs_enctypes = {ENCTYPES}
    permitted_enctypes = {ENCTYPES}

[realms]
    {realm} = {{
        kdc = {kdc}
    }}

[domain_realm]
    .{domain} = {realm}
    {domain} = {realm}
",
        dir = dir.display()
    )
}

/// `kdc.conf` for `realm`: the KDC listens only on `kdc` (TCP and UDP);
/// database, stash, ACL and logs live in `dir`.
pub fn kdc_conf(realm: &str, kdc: SocketAddr, dir: &Path) -> String {
    format!(
        "# Written by trunkcheck for one run; removed with the KDC.
[kdcdefaults]
    kdc_listen = {kdc}
    kdc_tcp_listen = {kdc}

[realms]
    {realm} = {{
        database_name = {dir}/principal
        key_stash_file = {dir}/stash
        acl_file = {dir}/kadm5.acl
        max_life = 10h 0m 0s
        max_renewable_life = 0
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = FILE:{dir}/kdc.log
    admin_server = FILE:{dir}/kadmin.log
    default = FILE:{dir}/krb5.log
",
        dir = dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_break_a_config_or_a_command_are_refused() {
        assert!(valid_realm("TRUNKCHECK.TEST"));
        assert!(!valid_realm("trunkcheck.test"));
        assert!(!valid_realm("A }\n[realms]"));
        assert!(!valid_realm(""));
        assert!(valid_principal("nfs/srv1.trunkcheck.test"));
        assert!(valid_principal("alice"));
        assert!(!valid_principal("-randkey"));
        assert!(!valid_principal("alice@OTHER"));
        assert!(!valid_principal("a b"));
        assert!(!valid_principal("a\"b"));
    }

    #[test]
    fn the_client_config_names_hosts_literally_and_uses_the_runs_kdc_over_tcp() {
        let kdc: SocketAddr = "127.0.0.1:8888".parse().expect("addr");
        let c = krb5_conf("TRUNKCHECK.TEST", kdc, Path::new("/tmp/x"));
        for line in [
            "default_realm = TRUNKCHECK.TEST",
            "dns_canonicalize_hostname = false",
            "rdns = false",
            "qualify_shortname = \"\"",
            "udp_preference_limit = 1",
            "kdc = 127.0.0.1:8888",
            ".trunkcheck.test = TRUNKCHECK.TEST",
            "default_ccache_name = FILE:/tmp/x/ccache-default",
        ] {
            assert!(c.lines().any(|l| l.trim() == line), "{line:?} in\n{c}");
        }
    }

    #[test]
    fn the_kdc_listens_only_on_its_address() {
        let kdc: SocketAddr = "127.0.0.9:7777".parse().expect("addr");
        let c = kdc_conf("R.TEST", kdc, Path::new("/tmp/y"));
        assert!(c.contains("kdc_listen = 127.0.0.9:7777"), "{c}");
        assert!(c.contains("kdc_tcp_listen = 127.0.0.9:7777"), "{c}");
        assert!(c.contains("database_name = /tmp/y/principal"), "{c}");
        assert!(c.contains("kdc = FILE:/tmp/y/kdc.log"), "{c}");
    }
}
