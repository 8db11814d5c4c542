//! The scenario file format: what `suites/*.yaml` may say.

use super::strength::Kw;
use crate::action::Action;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One suite file: an area and its scenarios.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// The area the file covers (shown in listings).
    pub area: String,
    /// A longer description of the area.
    #[serde(default)]
    pub description: String,
    /// The scenarios, in the order they are listed.
    pub scenarios: Vec<Scenario>,
}

/// One scenario: a test with a stable id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable short id, e.g. `TRUNK-ADDR-01`.
    pub id: String,
    /// One line saying what is checked.
    pub title: String,
    /// The RFC sections checked, e.g. `RFC 8881 §2.10.5`.
    pub rfc: Vec<String>,
    /// The rows of the rule catalogue (`spec/rules.md`) this covers.
    #[serde(default)]
    pub rows: Vec<u32>,
    /// Rows of `rows` covered only in part: row → the part shown (the
    /// coverage matrix says "partial: …").
    #[serde(default)]
    pub partial: BTreeMap<u32, String>,
    /// The RFC keyword of the scenario's expectations (`MUST`, `SHOULD`,
    /// `should`, `MAY`, `defined`, `none` ...), unless an expectation
    /// states its own; without it the catalogue Kw of `rows` applies.
    #[serde(default)]
    pub kw: Option<Kw>,
    /// Free tags for selection (`trunking`, `recovery`, `v4.0` ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the target must offer; the scenario is skipped otherwise.
    #[serde(default)]
    pub requires: Requires,
    /// Principals the scenario acts as, by name (`root` is predefined).
    #[serde(default)]
    pub principals: BTreeMap<String, PrincipalSpec>,
    /// The steps, run in order; the first failure ends the scenario.
    pub steps: Vec<Step>,
    /// Ignored unless asked for (`--ignored`), with the reason.
    #[serde(default)]
    pub ignore: Option<String>,
    /// Passive findings the scenario provokes on purpose (rule ids, e.g.
    /// `exchid.flags-side-client` for a test that sends a bad flag): they
    /// do not fail the trial.
    #[serde(default)]
    pub findings: Vec<String>,
}

/// What a scenario needs of the target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// The NFSv4 minor version spoken (0, 1 or 2; default 1).
    #[serde(default)]
    pub minor: Option<u32>,
    /// Server roles by name (default: one role `a` with one address).
    #[serde(default)]
    pub servers: BTreeMap<String, Role>,
}

/// A server role: which target server may play it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// At least this many addresses of the one server.
    #[serde(default = "one")]
    pub addresses: usize,
    /// How this server relates to the role named in `of`.
    #[serde(default)]
    pub relation: Option<RoleRelation>,
    /// The role the relation refers to.
    #[serde(default)]
    pub of: Option<String>,
}

impl Default for Role {
    fn default() -> Self {
        Role {
            addresses: 1,
            relation: None,
            of: None,
        }
    }
}

fn one() -> usize {
    1
}

/// How two roles' servers relate, as the target's operator asserts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleRelation {
    /// Another server sharing the scope (a cluster peer: failover target).
    SameScope,
    /// Another server with another scope (unrelated).
    OtherScope,
    /// Any other server.
    Other,
    /// The server a referral of the `of` role's server leads to (its
    /// fs_locations name this server: the target's `referrals:`).
    ReferralTarget,
}

/// A principal: the RPC credential a step is sent with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    /// AUTH_NONE instead of AUTH_SYS.
    #[serde(default)]
    pub none: bool,
    /// AUTH_SYS uid.
    #[serde(default)]
    pub uid: u32,
    /// AUTH_SYS gid.
    #[serde(default)]
    pub gid: u32,
    /// AUTH_SYS auxiliary gids.
    #[serde(default)]
    pub gids: Vec<u32>,
    /// AUTH_SYS machine name (default `trunkcheck`).
    #[serde(default)]
    pub machine: Option<String>,
    /// A Kerberos principal (RPCSEC_GSS) instead of AUTH_SYS: `machine
    /// NAME` (the machine credential `host/NAME`) or `user NAME`. Needs a
    /// target with a realm; the scenario is skipped on others.
    #[serde(default)]
    pub krb5: Option<String>,
    /// The RPCSEC_GSS service of a krb5 principal: `none` (krb5),
    /// `integrity` (krb5i, the default) or `privacy` (krb5p).
    #[serde(default)]
    pub service: Option<String>,
}

/// The RPCSEC_GSS service a krb5 principal's calls use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GssServiceName {
    /// Authentication only (krb5).
    None,
    /// Integrity (krb5i).
    Integrity,
    /// Privacy (krb5p).
    Privacy,
}

/// A scenario's Kerberos principal, as `principals:` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Krb5Principal {
    /// A machine credential (`host/NAME`), else a user (`NAME`).
    pub machine: bool,
    /// The name.
    pub name: String,
    /// The service its calls use.
    pub service: GssServiceName,
}

impl PrincipalSpec {
    /// The Kerberos principal this names, if any (an error for a spelling
    /// the runner cannot use).
    pub fn krb5(&self) -> Result<Option<Krb5Principal>, String> {
        let Some(text) = &self.krb5 else {
            if self.service.is_some() {
                return Err("`service` is for krb5 principals".into());
            }
            return Ok(None);
        };
        if self.none
            || self.uid != 0
            || self.gid != 0
            || !self.gids.is_empty()
            || self.machine.is_some()
        {
            return Err(
                "a krb5 principal has no AUTH_SYS fields (none, uid, gid, gids, machine)".into(),
            );
        }
        let (kind, name) = text
            .split_once(' ')
            .ok_or_else(|| format!("krb5: {text:?} is not `machine NAME` or `user NAME`"))?;
        let machine = match kind {
            "machine" => true,
            "user" => false,
            _ => return Err(format!("krb5: {kind:?} is not `machine` or `user`")),
        };
        let name = name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(format!(
                "krb5: {name:?} must be letters, digits, '-', '_' or '.'"
            ));
        }
        let service = match self.service.as_deref() {
            None | Some("integrity") => GssServiceName::Integrity,
            Some("none") => GssServiceName::None,
            Some("privacy") => GssServiceName::Privacy,
            Some(other) => {
                return Err(format!(
                    "service: {other:?} is not `none`, `integrity` or `privacy`"
                ))
            }
        };
        Ok(Some(Krb5Principal {
            machine,
            name: name.to_string(),
            service,
        }))
    }
}

impl Scenario {
    /// True when a principal of the scenario is a Kerberos one.
    pub fn needs_krb5(&self) -> bool {
        self.principals.values().any(|p| p.krb5.is_some())
    }
}

/// `connect`: a TCP connection to one address of a server role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    /// The connection's name, used by later steps' `on`.
    #[serde(rename = "as")]
    pub name: String,
    /// The server role.
    #[serde(default = "role_a")]
    pub to: String,
    /// Which of the server's addresses (index, default 0).
    #[serde(default)]
    pub address: usize,
    /// Which client source address to bind (index into the target's client
    /// addresses); default: whatever the system picks.
    #[serde(default)]
    pub from: Option<usize>,
    /// The principal used by default on this connection.
    #[serde(default)]
    pub principal: Option<String>,
    /// Save where the connection goes under this name: `server` (the
    /// target's name of the server), `address` (its IP address, as text),
    /// `port` and `export` (the export path's components, as a pathname4
    /// shows them), e.g. to compare with what fs_locations lists.
    #[serde(default)]
    pub save: Option<String>,
}

/// A path or name below the export, as a step gives it: the text itself
/// (`dir/file`), or `{referral: ROLE}`: the target's referral point in the
/// step's server whose fs_locations lead to the server playing ROLE.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PathSpec {
    /// This path, relative to the export (`/`-separated names).
    Text(String),
    /// The referral point leading to a role's server.
    Referral(ReferralRef),
}

/// `{referral: ROLE}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralRef {
    /// The role whose server the referral leads to.
    pub referral: String,
}

impl PathSpec {
    /// The role a `{referral: ROLE}` names.
    pub fn referral_role(&self) -> Option<&str> {
        match self {
            PathSpec::Text(_) => None,
            PathSpec::Referral(r) => Some(&r.referral),
        }
    }
}

fn role_a() -> String {
    "a".to_string()
}

/// `failover`: `from`'s service moves to its cluster peer `to` (as the
/// file spells it; a step holds it as an [`ActionStep`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Failover")]
struct FailoverSpelled {
    /// The role that fails.
    from: String,
    /// The cluster peer taking over.
    to: String,
}

/// A server action step: `restart: a`, `failover: {from: a, to: b}` ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionStep {
    /// The role acted on.
    pub role: String,
    /// The action (a failover's peer is a role too).
    pub action: Action,
}

/// `wait`: a multiple of the server's lease period or grace period.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// This many lease periods (read from the server's lease_time).
    #[serde(default)]
    pub leases: Option<f64>,
    /// This many grace periods (from the target).
    #[serde(default)]
    pub graces: Option<f64>,
    /// The role whose periods count (default `a`).
    #[serde(default = "role_a")]
    pub of: String,
}

/// `measure_grace`: how long a restarted server answers a non-reclaim
/// OPEN with NFS4ERR_GRACE, timed by a probe client of its own from the end
/// of the role's last server action (restart, crash, failover) until the
/// first OPEN that is not refused so. The reply fields are `status` (the
/// last OPEN's), `grace_seconds`, `lease_seconds` (read from the server)
/// and `leases` (their ratio).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureGrace {
    /// The role measured (default `a`).
    #[serde(default = "role_a")]
    pub of: String,
    /// What the measurement must show, e.g. `{fields: {leases: {at_least: 1}}}`.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Save the measurement under this name.
    #[serde(default)]
    pub save: Option<String>,
}

/// The reply fields of `measure_grace`.
pub const MEASURE_GRACE_FIELDS: &[&str] =
    &["status", "op", "grace_seconds", "lease_seconds", "leases"];

/// `check`: saved values compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// All these values are equal (`save.field.path`).
    #[serde(default)]
    pub equal: Vec<String>,
    /// These values are pairwise different.
    #[serde(default)]
    pub differ: Vec<String>,
    /// The RFC section named when the check fails.
    #[serde(default)]
    pub rule: Option<String>,
    /// Why the check matters (shown when it fails).
    #[serde(default)]
    pub why: Option<String>,
    /// The RFC keyword of the sentence checked (see [`ExpectFull::kw`]).
    #[serde(default)]
    pub kw: Option<Kw>,
}

/// What a reply must say.
#[derive(Debug, Clone)]
pub enum Expect {
    /// A status name, or a list of acceptable ones (`any`: whatever).
    Status(StatusSet),
    /// Status and reply fields.
    Full(ExpectFull),
}

impl Expect {
    /// The keyword the expectation states (only the long form can).
    pub fn kw(&self) -> Option<&Kw> {
        match self {
            Expect::Status(_) => None,
            Expect::Full(f) => f.kw.as_ref(),
        }
    }
}

/// The message of an `expect` that is none of its forms (the load error
/// adds what the forms are).
const NOT_AN_EXPECT: &str = "data did not match any variant of untagged enum Expect";

/// `expect` is a status, a list of statuses, or a map: told apart by the
/// YAML node's kind rather than by trying each form on a buffered copy
/// (serde's `untagged`), so that the field names inside keep where the
/// file wrote them.
impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, value, Error as _};
        struct Forms;
        impl<'de> de::Visitor<'de> for Forms {
            type Value = Expect;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a status, a list of statuses, or {status, fields, rule, why, kw}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Expect, E> {
                Ok(Expect::Status(StatusSet::One(s.to_string())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Expect, A::Error> {
                Vec::<StatusName>::deserialize(value::SeqAccessDeserializer::new(seq))
                    .map(|v| Expect::Status(StatusSet::AnyOf(v.into_iter().map(|n| n.0).collect())))
                    .map_err(|_| A::Error::custom(NOT_AN_EXPECT))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Expect, A::Error> {
                ExpectFull::deserialize(value::MapAccessDeserializer::new(map))
                    .map(Expect::Full)
                    .map_err(|_| A::Error::custom(NOT_AN_EXPECT))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Expect, E> {
                Err(E::custom(NOT_AN_EXPECT))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Expect, E> {
                Err(E::custom(NOT_AN_EXPECT))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Expect, E> {
                Err(E::custom(NOT_AN_EXPECT))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Expect, E> {
                Err(E::custom(NOT_AN_EXPECT))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Expect, E> {
                Err(E::custom(NOT_AN_EXPECT))
            }
        }
        d.deserialize_any(Forms)
    }
}

/// A status name in an `expect` list: text only (an unquoted number is
/// not a status name).
struct StatusName(String);

impl<'de> Deserialize<'de> for StatusName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = StatusName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a status name")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<StatusName, E> {
                Ok(StatusName(s.to_string()))
            }
        }
        d.deserialize_any(Text)
    }
}

/// One acceptable status or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSet {
    /// This status (`NFS4_OK`, `NFS4ERR_GRACE`, ... or `any`).
    One(String),
    /// Any of these.
    AnyOf(Vec<String>),
}

impl StatusSet {
    /// The names listed.
    pub fn names(&self) -> Vec<&str> {
        match self {
            StatusSet::One(s) => vec![s.as_str()],
            StatusSet::AnyOf(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The long form of `expect`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFull {
    /// Acceptable statuses (default `NFS4_OK`).
    #[serde(default)]
    pub status: Option<StatusSet>,
    /// Reply fields by path (RFC field names, e.g. `eir_flags`).
    #[serde(default)]
    pub fields: BTreeMap<FieldPath, FieldExpect>,
    /// The RFC section named when the expectation fails.
    #[serde(default)]
    pub rule: Option<String>,
    /// Why it matters (shown when it fails).
    #[serde(default)]
    pub why: Option<String>,
    /// The RFC keyword of the sentence checked: `MUST`, `SHOULD`, `should`,
    /// `MAY`, `defined` (a result the RFC defines without a keyword),
    /// `none` ... (default: the scenario's, else its rows').
    #[serde(default)]
    pub kw: Option<Kw>,
}

/// A reply field path in `expect.fields` (`eir_flags`,
/// `eir_server_owner.so_major_id`) and where the file wrote it. Paths
/// compare by their text alone.
#[derive(Debug, Clone)]
pub struct FieldPath {
    /// The dotted path.
    pub path: String,
    /// 1-based line of the path in its file (0 when unknown).
    pub line: u64,
    /// 1-based column of the path in its file (0 when unknown).
    pub column: u64,
}

impl FieldPath {
    /// The path's text.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The field of the reply itself the path starts at.
    pub fn field(&self) -> &str {
        self.path.split('.').next().unwrap_or("")
    }
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for FieldPath {}

impl PartialOrd for FieldPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.path.cmp(&other.path)
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<String>::deserialize(d)?;
        Ok(FieldPath {
            line: s.referenced.line(),
            column: s.referenced.column(),
            path: s.value,
        })
    }
}

/// An expectation on one reply field.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FieldExpect {
    /// Exactly this value.
    Value(Scalar),
    /// One of these values.
    AnyOf(Vec<Scalar>),
    /// A test on the value.
    Test(FieldTest),
}

/// Tests on a field: flags present/absent, equal/different to saved values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTest {
    /// Flag names that must be set.
    #[serde(default)]
    pub has: Vec<String>,
    /// Flag names that must not be set.
    #[serde(default)]
    pub lacks: Vec<String>,
    /// Equal to this saved value (`save.field`).
    #[serde(default)]
    pub same_as: Option<String>,
    /// Different from this saved value.
    #[serde(default)]
    pub differs_from: Option<String>,
    /// Not this value.
    #[serde(default)]
    pub not: Option<Scalar>,
    /// A number at least this large.
    #[serde(default)]
    pub at_least: Option<f64>,
}

/// A plain YAML value in an expectation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// true / false.
    Bool(bool),
    /// A number.
    Int(i64),
    /// A string (names, hex ids).
    Str(String),
}

/// Fields every operation step may carry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    /// The connection to send on (default: the last one opened).
    #[serde(default)]
    pub on: Option<String>,
    /// What the reply must say (default: `NFS4_OK`).
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Save the reply under this name.
    #[serde(default)]
    pub save: Option<String>,
    /// Send as this principal instead of the connection's (inside a
    /// session: instead of the session's creator).
    #[serde(default)]
    pub principal: Option<String>,
    /// In a session: SEQUENCE on this slot (a number, or `beyond`: the
    /// session's granted slot count, one past its highest slot).
    #[serde(default)]
    pub slot: Option<SlotChoice>,
    /// In a session: this sequence id (a number, `next`, `replay`, `skip`).
    #[serde(default)]
    pub seqid: Option<Scalar>,
    /// In a session: sa_cachethis.
    #[serde(default)]
    pub cachethis: bool,
}

impl Common {
    /// Whether the step chooses its SEQUENCE's slot, sequence id or
    /// cachethis itself.
    pub fn exact_sequence(&self) -> bool {
        self.slot.is_some() || self.seqid.is_some() || self.cachethis
    }
}

/// A slot chosen by a step: a number, or `beyond` (the session's
/// granted ca_maxrequests: one past its highest slot id).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SlotChoice {
    /// This slot id.
    Id(u32),
    /// A word (`beyond`).
    Word(String),
}

/// Defines the operation steps: each a struct with the common fields and
/// its own, and one variant of [`Op`].
macro_rules! op_steps {
    ($(
        $(#[$m:meta])*
        $variant:ident => $name:ident { $( $(#[$fm:meta])* $f:ident : $t:ty ),* $(,)? }
    )*) => {
        $(
            $(#[$m])*
            #[derive(Debug, Clone, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $name {
                /// The connection to send on (default: the last one opened).
                #[serde(default)]
                pub on: Option<String>,
                /// What the reply must say (default: `NFS4_OK`).
                #[serde(default)]
                pub expect: Option<Expect>,
                /// Save the reply under this name.
                #[serde(default)]
                pub save: Option<String>,
                /// Send as this principal instead of the connection's
                /// (inside a session: instead of the session's creator).
                #[serde(default)]
                pub principal: Option<String>,
                /// In a session: SEQUENCE on this slot (a number or `beyond`).
                #[serde(default)]
                pub slot: Option<SlotChoice>,
                /// In a session: this sequence id (number, next, replay, skip).
                #[serde(default)]
                pub seqid: Option<Scalar>,
                /// In a session: sa_cachethis.
                #[serde(default)]
                pub cachethis: bool,
                $( $(#[$fm])* #[serde(default)] pub $f: $t, )*
            }

            impl $name {
                /// The fields every operation step carries.
                pub fn common(&self) -> Common {
                    Common {
                        on: self.on.clone(),
                        expect: self.expect.clone(),
                        save: self.save.clone(),
                        principal: self.principal.clone(),
                        slot: self.slot.clone(),
                        seqid: self.seqid.clone(),
                        cachethis: self.cachethis,
                    }
                }
            }
        )*

        /// One NFSv4 operation with its step fields.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Op {
            $( $(#[$m])* $variant($name), )*
        }

        /// One step of a scenario.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(from = "StepSpelled")]
        pub enum Step {
            $( $(#[$m])* $variant($name), )*
            /// Open a connection.
            Connect(Connect),
            /// Close a connection (by its name).
            Disconnect(String),
            /// Several operations in one COMPOUND.
            Compound(CompoundStep),
            /// An RPC call with these argument bytes as they are.
            Raw(RawStep),
            /// Compare saved values.
            Check(Check),
            /// Wait a number of the server's lease or grace periods.
            Wait(Wait),
            /// Measure a restarted server's grace period.
            MeasureGrace(MeasureGrace),
            /// An action on a server (restart, crash, failover ...).
            Action(ActionStep),
        }

        /// A step as the file spells it: one keyword per server action.
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case", rename = "Step")]
        enum StepSpelled {
            $( $variant($name), )*
            Connect(Connect),
            Disconnect(String),
            Compound(CompoundStep),
            Raw(RawStep),
            Check(Check),
            Wait(Wait),
            MeasureGrace(MeasureGrace),
            Restart(String),
            Crash(String),
            Stop(String),
            Start(String),
            CutLink(String),
            RestoreLink(String),
            Failover(FailoverSpelled),
        }

        impl From<StepSpelled> for Step {
            fn from(s: StepSpelled) -> Step {
                let act = |role: String, action: Action| Step::Action(ActionStep { role, action });
                match s {
                    $( StepSpelled::$variant(a) => Step::$variant(a), )*
                    StepSpelled::Connect(c) => Step::Connect(c),
                    StepSpelled::Disconnect(c) => Step::Disconnect(c),
                    StepSpelled::Compound(c) => Step::Compound(c),
                    StepSpelled::Raw(r) => Step::Raw(r),
                    StepSpelled::Check(c) => Step::Check(c),
                    StepSpelled::Wait(w) => Step::Wait(w),
                    StepSpelled::MeasureGrace(m) => Step::MeasureGrace(m),
                    StepSpelled::Restart(r) => act(r, Action::Restart),
                    StepSpelled::Crash(r) => act(r, Action::Crash),
                    StepSpelled::Stop(r) => act(r, Action::Stop),
                    StepSpelled::Start(r) => act(r, Action::Start),
                    StepSpelled::CutLink(r) => act(r, Action::CutLink),
                    StepSpelled::RestoreLink(r) => act(r, Action::RestoreLink),
                    StepSpelled::Failover(f) => act(f.from, Action::Failover { to: f.to }),
                }
            }
        }

        impl Step {
            /// The operation, when this step is one.
            pub fn op(&self) -> Option<Op> {
                match self {
                    $( Step::$variant(a) => Some(Op::$variant(a.clone())), )*
                    _ => None,
                }
            }
        }

        impl Op {
            /// The step fields of this operation.
            pub fn common(&self) -> Common {
                match self { $( Op::$variant(a) => a.common(), )* }
            }

            /// The step keyword (`exchange_id`, ...).
            pub fn keyword(&self) -> &'static str {
                match self { $( Op::$variant(_) => op_keyword(stringify!($variant)), )* }
            }
        }
    };
}

/// `ExchangeId` → `exchange_id`.
fn op_keyword(variant: &'static str) -> &'static str {
    match variant {
        "ExchangeId" => "exchange_id",
        "CreateSession" => "create_session",
        "BindConnToSession" => "bind_conn_to_session",
        "Sequence" => "sequence",
        "DestroySession" => "destroy_session",
        "DestroyClientid" => "destroy_clientid",
        "ReclaimComplete" => "reclaim_complete",
        "BackchannelCtl" => "backchannel_ctl",
        "Putrootfh" => "putrootfh",
        "Getattr" => "getattr",
        "Open" => "open",
        "OpenConfirm" => "open_confirm",
        "Lock" => "lock",
        "Locku" => "locku",
        "Lockt" => "lockt",
        "Close" => "close",
        "Read" => "read",
        "Write" => "write",
        "Setclientid" => "setclientid",
        "SetclientidConfirm" => "setclientid_confirm",
        "Renew" => "renew",
        "Illegal" => "illegal",
        "Remove" => "remove",
        "Rename" => "rename",
        "OverLimit" => "over_limit",
        "Lookup" => "lookup",
        "Readdir" => "readdir",
        _ => "op",
    }
}

op_steps! {
    /// EXCHANGE_ID for a client owner (fresh per trial) and verifier.
    ExchangeId => ExchangeIdStep {
        /// The client owner's name in the scenario (`o1`).
        owner: String,
        /// The incarnation's name (default `v1`): a new name, a new verifier.
        verifier: Option<String>,
        /// eia_flags by name (e.g. `UPD_CONFIRMED_REC_A`).
        flags: Vec<String>,
        /// Raw eia_flags bits added to `flags` (for undefined bits).
        raw_flags: u32,
        /// State protection: `none` (default), `mach_cred` or `ssv`
        /// (SHA-256 and AES-256-CBC, window `ssv_window`, one GSS handle).
        state_protect: Option<String>,
        /// SP4_SSV: ssp_window (default 16).
        ssv_window: Option<u32>,
        /// SP4_SSV: send an empty ssp_hash_algs.
        ssv_no_hash: bool,
        /// SP4_SSV: send an empty ssp_encr_algs.
        ssv_no_encr: bool,
        /// Send a zero-length eia_client_impl_id.
        empty_impl_id: bool,
    }
    /// CREATE_SESSION for a saved EXCHANGE_ID's client ID.
    CreateSession => CreateSessionStep {
        /// The saved `exchange_id` whose client ID is used.
        client: String,
        /// csa_sequence: a number, or `next` (default), `replay`, `skip`.
        sequence: Option<Scalar>,
        /// csa_flags by name (e.g. `CONN_BACK_CHAN`, `PERSIST`).
        flags: Vec<String>,
        /// Fore channel ca_maxrequests (default 8).
        fore_slots: Option<u32>,
        /// Fore channel ca_maxresponsesize (default 1 MiB).
        max_response: Option<u32>,
        /// Fore channel ca_maxrequestsize (default 1 MiB).
        max_request: Option<u32>,
        /// Fore channel ca_maxresponsesize_cached (default 4096).
        max_cached: Option<u32>,
        /// Fore channel ca_maxoperations (default 16).
        max_operations: Option<u32>,
    }
    /// BIND_CONN_TO_SESSION of the step's connection to a saved session.
    BindConnToSession => BindStep {
        /// The saved session.
        session: String,
        /// bctsa_dir: `FORE`, `BACK`, `FORE_OR_BOTH` (default), `BACK_OR_BOTH`.
        dir: Option<String>,
        /// bctsa_use_conn_in_rdma_mode.
        rdma: bool,
    }
    /// A COMPOUND of SEQUENCE alone (lease renewal, implicit binding), or
    /// with chosen slot and sequence id.
    Sequence => SequenceStep {
        /// The saved session.
        session: String,
    }
    /// DESTROY_SESSION.
    DestroySession => DestroySessionStep {
        /// The saved session destroyed.
        session: String,
        /// Send it after a SEQUENCE on that session.
        with_sequence: bool,
    }
    /// DESTROY_CLIENTID.
    DestroyClientid => DestroyClientidStep {
        /// The saved `exchange_id` whose client ID is destroyed.
        client: String,
        /// Send it after a SEQUENCE on this saved session.
        session: Option<String>,
    }
    /// BACKCHANNEL_CTL in a session: the callback program and the
    /// callback security of the step's principal.
    BackchannelCtl => BackchannelCtlStep {
        /// The saved session.
        session: String,
        /// bca_cb_program (default: the program CREATE_SESSION gave).
        cb_program: Option<u32>,
    }
    /// RECLAIM_COMPLETE in a session.
    ReclaimComplete => ReclaimCompleteStep {
        /// The saved session.
        session: String,
        /// rca_one_fs.
        one_fs: bool,
    }
    /// PUTROOTFH (inside `compound`).
    Putrootfh => PutrootfhStep {
        /// The saved session (when sent as a step of its own).
        session: Option<String>,
    }
    /// GETATTR of the export root (or a saved open's file).
    Getattr => GetattrStep {
        /// The saved session (v4.1); none for v4.0.
        session: Option<String>,
        /// Attribute names (`lease_time`, `fs_locations`, ...).
        attrs: Vec<String>,
        /// A saved open whose file is asked (default: the export root).
        file: Option<String>,
    }
    /// PUTROOTFH, the LOOKUPs of the export and of `path` below it, then
    /// GETFH (`getfh: true`) and/or GETATTR of `attrs`, in one COMPOUND:
    /// judged on its last operation, or on the COMPOUND's status when an
    /// earlier one failed (RFC 7530 §8.7.1, RFC 8881 §11.15.1).
    Lookup => LookupStep {
        /// The saved session (v4.1); none for v4.0.
        session: Option<String>,
        /// The path below the export, or `{referral: ROLE}`.
        path: Option<PathSpec>,
        /// GETFH after the LOOKUPs.
        getfh: bool,
        /// GETATTR of these attributes last (`fsid`, `fs_locations`, ...).
        attrs: Vec<String>,
    }
    /// READDIR (cookie 0) of the export root or of `path` below it, asking
    /// `attrs`. With `entry`, the step's reply is that entry alone: its
    /// `name`, `cookie` and each attribute returned by its name
    /// (`rdattr_error`, `fs_locations` ...); a reply without the entry
    /// fails the step.
    Readdir => ReaddirStep {
        /// The saved session (v4.1); none for v4.0.
        session: Option<String>,
        /// The directory below the export (default: the export root).
        path: Option<PathSpec>,
        /// The attributes asked for each entry.
        attrs: Vec<String>,
        /// The entry the reply is, by name, or `{referral: ROLE}` (then
        /// the directory read is the referral point's parent).
        entry: Option<PathSpec>,
    }
    /// OPEN a file in the export (created when asked), any claim.
    Open => OpenStep {
        /// The saved session (v4.1); none for v4.0.
        session: Option<String>,
        /// For v4.0: the saved `setclientid` whose client ID owns the open.
        client: Option<String>,
        /// The file's name in the scenario (fresh per trial unless `shared`).
        file: String,
        /// Create it (UNCHECKED4) if missing.
        create: bool,
        /// Claim: `null` (default), `previous` (reclaim), `fh`.
        claim: Option<String>,
        /// Share access: `read`, `write`, `both` (default).
        access: Option<String>,
        /// Share deny: `none` (default), `read`, `write`, `both`.
        deny: Option<String>,
        /// The open owner's name (default `oo1`).
        owner: Option<String>,
        /// For `claim: previous`: the saved open being reclaimed (its file).
        reclaims: Option<String>,
    }
    /// OPEN_CONFIRM (v4.0).
    OpenConfirm => OpenConfirmStep {
        /// The saved open.
        open: String,
    }
    /// LOCK a byte range of a saved open's file.
    Lock => LockStep {
        /// The saved session (v4.1).
        session: Option<String>,
        /// The saved open.
        open: String,
        /// `read` or `write` (default).
        kind: Option<String>,
        /// Range start.
        offset: u64,
        /// Range length (default: to the end).
        length: Option<u64>,
        /// A reclaim (during grace).
        reclaim: bool,
    }
    /// LOCKU a saved lock.
    Locku => LockuStep {
        /// The saved session (v4.1).
        session: Option<String>,
        /// The saved lock.
        lock: String,
    }
    /// LOCKT a range of a saved open's file.
    Lockt => LocktStep {
        /// The saved session (v4.1).
        session: Option<String>,
        /// The saved open.
        open: String,
        /// `read` or `write` (default).
        kind: Option<String>,
        /// Range start.
        offset: u64,
        /// Range length (default: to the end).
        length: Option<u64>,
    }
    /// CLOSE a saved open.
    Close => CloseStep {
        /// The saved session (v4.1).
        session: Option<String>,
        /// The saved open.
        open: String,
    }
    /// READ from a saved open.
    Read => ReadStep {
        /// The saved session (v4.1).
        session: Option<String>,
        /// The saved open.
        open: String,
        /// Bytes asked (default 4096).
        count: Option<u32>,
    }
    /// WRITE to a saved open.
    Write => WriteStep {
        /// The saved session (v4.1).
        session: Option<String>,
        /// The saved open.
        open: String,
        /// The text written (default `trunkcheck`).
        data: Option<String>,
    }
    /// SETCLIENTID (v4.0) with a callback on the client's own listener.
    Setclientid => SetclientidStep {
        /// The client owner's name (`o1`): its nfs_client_id4 id string.
        owner: String,
        /// The incarnation's name (default `v1`).
        verifier: Option<String>,
        /// A callback ident distinct from the default (a callback update).
        callback_ident: Option<u32>,
    }
    /// SETCLIENTID_CONFIRM (v4.0) of a saved SETCLIENTID.
    SetclientidConfirm => SetclientidConfirmStep {
        /// The saved `setclientid`.
        client: String,
        /// Take the confirm verifier from this other saved `setclientid`.
        confirm_from: Option<String>,
    }
    /// RENEW (v4.0).
    Renew => RenewStep {
        /// The saved `setclientid`.
        client: String,
    }
    /// OP_ILLEGAL (inside `compound`).
    Illegal => IllegalStep {}
    /// REMOVE a file of the export (by its name in the scenario).
    Remove => RemoveStep {
        /// The saved session (v4.1); none for v4.0.
        session: Option<String>,
        /// The file's name in the scenario.
        file: String,
    }
    /// RENAME a file of the export to another name.
    Rename => RenameStep {
        /// The saved session (v4.1); none for v4.0.
        session: Option<String>,
        /// The file's name in the scenario.
        from: String,
        /// Its new name in the scenario.
        to: String,
    }
    /// A COMPOUND in a session that goes over one of the limits the
    /// session's CREATE_SESSION granted (csr_fore_chan_attrs); the reply's
    /// COMPOUND status is judged.
    OverLimit => OverLimitStep {
        /// The saved session.
        session: String,
        /// `operations` (ca_maxoperations + 1 operations), `request` (a
        /// WRITE making the request longer than ca_maxrequestsize),
        /// `response` (a READ of ca_maxresponsesize bytes) or `cached` (a
        /// READ of ca_maxresponsesize_cached bytes, with cachethis).
        limit: String,
        /// The saved open written or read (for `request`, `response`, `cached`).
        open: Option<String>,
    }
}

/// `compound`: several operations in one COMPOUND.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompoundStep {
    /// The connection to send on.
    #[serde(default)]
    pub on: Option<String>,
    /// Put a SEQUENCE on this saved session first.
    #[serde(default)]
    pub session: Option<String>,
    /// The operations (their own `on`/`expect`/`save` are not allowed).
    pub ops: Vec<Op>,
    /// What the COMPOUND's status must be (default `NFS4_OK`).
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Save the reply (the last operation's result) under this name.
    #[serde(default)]
    pub save: Option<String>,
    /// Send as this principal.
    #[serde(default)]
    pub principal: Option<String>,
    /// With `session`: SEQUENCE on this slot (a number or `beyond`).
    #[serde(default)]
    pub slot: Option<SlotChoice>,
    /// With `session`: this sequence id (number, next, replay, skip).
    #[serde(default)]
    pub seqid: Option<Scalar>,
    /// With `session`: sa_cachethis.
    #[serde(default)]
    pub cachethis: bool,
}

/// `raw`: an NFSv4 COMPOUND call whose argument bytes are given as hex.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// The connection to send on.
    #[serde(default)]
    pub on: Option<String>,
    /// The call's argument bytes (hex, spaces allowed).
    pub args_hex: String,
    /// The RPC accept status expected (`SUCCESS`, `GARBAGE_ARGS`, ...), or a
    /// COMPOUND status when the reply decodes.
    #[serde(default)]
    pub expect: Option<Expect>,
}
