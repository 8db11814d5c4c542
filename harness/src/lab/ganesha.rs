//! NFS-Ganesha configuration files for the built-in launcher.
//!
//! Facts this relies on (Ganesha 4.3, checked on Debian 12): `Bind_Addr`
//! with a plain IPv4 value is silently ignored, so a specific address is
//! written in its v4-mapped form (`::ffff:127.0.0.2`, unquoted); a server
//! that answers on several addresses binds the wildcard (`0.0.0.0`, which
//! Ganesha turns into `[::]`) inside a namespace that holds only that
//! server's addresses. `Server_Scope` gets a trailing NUL on the wire.

use crate::targets::{Fsal, GaneshaSpec};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Where Debian installs the FSAL plugins.
pub const PLUGINS_DIR: &str = "/usr/lib/x86_64-linux-gnu/ganesha";

/// What one instance listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bind {
    /// Every address of the instance's namespace.
    Any,
    /// One IPv4 address (written v4-mapped).
    Addr(Ipv4Addr),
}

/// Everything one instance's configuration says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Listening address.
    pub bind: Bind,
    /// Listening port.
    pub port: u16,
    /// Server_Owner, Server_Scope, lease, grace, FSAL, minor versions.
    pub spec: GaneshaSpec,
    /// `RecoveryRoot` directory.
    pub recovery_root: PathBuf,
    /// The exported directory (VFS).
    pub data_dir: PathBuf,
    /// The pseudo path clients LOOKUP (`/export`).
    pub pseudo: String,
    /// FSAL plugin directory.
    pub plugins_dir: PathBuf,
    /// Kerberos: the NFS_KRB5 block, krb5 SecTypes and idmapping.
    pub krb5: Option<Krb5Instance>,
}

/// What an instance needs to accept RPCSEC_GSS contexts (Ganesha 4.3):
/// `PrincipalName "nfs@HOST"` (a host-based name: only tickets for exactly
/// that principal are taken), its keytab, a ccache directory of its own,
/// and an idmapd.conf whose Local-Realms is the run's realm (else every
/// principal maps to the anonymous user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Krb5Instance {
    /// The host part of the `nfs/` principal.
    pub host: String,
    /// The keytab holding it.
    pub keytab: PathBuf,
    /// `CCacheDir`.
    pub ccache_dir: PathBuf,
    /// The idmapd.conf written for the instance.
    pub idmap: PathBuf,
}

/// The idmapd.conf of a realm: names `x@REALM` map to local user `x`.
pub fn idmap_conf(realm: &str) -> String {
    format!(
        "[General]\nDomain = {}\nLocal-Realms = {realm}\n[Translation]\nMethod = nsswitch\n",
        realm.to_ascii_lowercase()
    )
}

/// The plugin file an FSAL needs, to check before starting.
pub fn fsal_plugin(fsal: Fsal, plugins_dir: &Path) -> PathBuf {
    plugins_dir.join(match fsal {
        Fsal::Vfs => "libfsalvfs.so",
        Fsal::Mem => "libfsalmem.so",
    })
}

/// The Debian package that provides an FSAL.
pub fn fsal_package(fsal: Fsal) -> &'static str {
    match fsal {
        Fsal::Vfs => "nfs-ganesha-vfs",
        Fsal::Mem => "nfs-ganesha-mem",
    }
}

/// Renders `ganesha.conf` for one instance. The strings in `spec` were
/// validated when the target was read (no quotes, no backslashes).
pub fn render(c: &InstanceConfig) -> String {
    let bind = match c.bind {
        Bind::Any => "0.0.0.0".to_string(),
        Bind::Addr(ip) => format!("::ffff:{ip}"),
    };
    let minor = c
        .spec
        .minor_versions
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (krb5_block, idmap, sec) = match &c.krb5 {
        Some(k) => (
            format!(
                "NFS_KRB5 {{\n    Active_krb5 = true;\n    PrincipalName = \"nfs@{}\";\n    KeytabPath = {};\n    CCacheDir = {};\n}}\n",
                k.host,
                k.keytab.display(),
                k.ccache_dir.display()
            ),
            format!("    IdmapConf = {};\n", k.idmap.display()),
            "sys, krb5, krb5i, krb5p",
        ),
        None => (String::new(), String::new(), "sys"),
    };
    let (fsal_name, mem_block, path) = match c.spec.fsal {
        Fsal::Vfs => ("VFS", String::new(), c.data_dir.display().to_string()),
        // A MEM export without Inode_Size returns filler on READ.
        Fsal::Mem => (
            "MEM",
            "MEM {\n    Inode_Size = 1114112;\n}\n".to_string(),
            c.pseudo.clone(),
        ),
    };
    format!(
        "# Written by trunkcheck's launcher; removed with the lab.\n\
NFS_CORE_PARAM {{
    Protocols = 4;
    Bind_Addr = {bind};
    NFS_Port = {port};
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    Plugins_Dir = {plugins};
}}
{krb5_block}NFSv4 {{
    Minor_Versions = {minor};
    Lease_Lifetime = {lease};
    Grace_Period = {grace};
    RecoveryBackend = fs;
    RecoveryRoot = {recovery};
    Server_Owner = \"{owner}\";
    Server_Scope = \"{scope}\";
{idmap}}}
{mem_block}EXPORT {{
    Export_Id = 1;
    Path = {path};
    Pseudo = {pseudo};
    Protocols = 4;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = {sec};
    FSAL {{ Name = {fsal_name}; }}
}}
LOG {{ Default_Log_Level = EVENT; }}
",
        port = c.port,
        plugins = c.plugins_dir.display(),
        lease = c.spec.lease,
        grace = c.spec.grace,
        recovery = c.recovery_root.display(),
        owner = c.spec.server_owner,
        scope = c.spec.server_scope,
        pseudo = c.pseudo,
    )
}
