//! The RFC rules the analyzer checks passively, and their findings.
//!
//! Every rule has a stable id, the RFC section it comes from, the catalogue
//! rows (`spec/rules.md`) it covers, a severity (a MUST broken is a
//! violation; a SHOULD or lowercase "should" a warning), and the party it
//! judges. A finding names the rule and carries the frames that prove it.

use crate::exchange::{Message, MessageSink, Notice};
use crate::model::{Model, ModelLimits};
use crate::pipeline::LimitHit;
use std::fmt;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A MUST / MUST NOT / REQUIRED was broken.
    Violation,
    /// A SHOULD, or a lowercase "should"/"must", was not followed.
    Warning,
    /// Worth knowing; not a rule broken.
    Info,
}

impl Severity {
    /// `violation`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Violation => "violation",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// The server.
    Server,
    /// The client.
    Client,
}

impl Party {
    /// `server` or `client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Server => "server",
            Party::Client => "client",
        }
    }
}

/// A rule's fixed description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `csess.sequence-echo`.
    pub id: &'static str,
    /// The RFC and section.
    pub rfc: &'static str,
    /// Rows of `spec/rules.md` it covers.
    pub rows: &'static [u32],
    /// Severity of its findings.
    pub severity: Severity,
    /// Who it judges.
    pub party: Party,
    /// What it requires, in one line.
    pub title: &'static str,
}

/// One rule broken, with proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static Rule,
    /// What happened, in one line.
    pub message: String,
    /// The frames that show it (call and reply, or the exchanges compared).
    pub frames: Vec<u64>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{} {}, {}] {} (frames {})",
            self.rule.id,
            self.rule.severity.as_str(),
            self.rule.party.as_str(),
            self.rule.rfc,
            self.message,
            self.frames
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

macro_rules! rules {
    ($( $name:ident: $id:literal, $rfc:literal, [$($row:literal),*], $sev:ident, $party:ident, $title:literal; )*) => {
        $(
            #[doc = $title]
            pub static $name: Rule = Rule {
                id: $id,
                rfc: $rfc,
                rows: &[$($row),*],
                severity: Severity::$sev,
                party: Party::$party,
                title: $title,
            };
        )*
        /// Every rule the analyzer checks.
        pub static ALL: &[&Rule] = &[$(&$name),*];
    };
}

rules! {
    EXCHID_ONLY_OP: "exchid.only-op", "RFC 8881 §18.35.3", [29], Violation, Server,
        "EXCHANGE_ID without a leading SEQUENCE must be the only operation (else NFS4ERR_NOT_ONLY_OP)";
    EXCHID_FLAG_SIDE_CLIENT: "exchid.flags-side-client", "RFC 8881 §18.35.3", [32], Violation, Client,
        "CONFIRMED_R is a reply flag: the client must not set it in eia_flags";
    EXCHID_FLAG_SIDE_SERVER: "exchid.flags-side-server", "RFC 8881 §18.35.3", [32], Violation, Server,
        "UPD_CONFIRMED_REC_A is a request flag: the server must not set it in eir_flags";
    EXCHID_CONFIRMED_R: "exchid.confirmed-r", "RFC 8881 §18.35.3", [33], Violation, Server,
        "a client ID that was confirmed is returned with CONFIRMED_R set";
    EXCHID_PNFS_ROLE: "exchid.pnfs-role", "RFC 8881 §18.35.3, §13.1", [36], Violation, Server,
        "eir_flags carry at least one pNFS role bit, and not USE_NON_PNFS with USE_PNFS_MDS";
    CSESS_ONLY_OP: "csess.only-op", "RFC 8881 §18.36.3", [55], Violation, Server,
        "CREATE_SESSION without a leading SEQUENCE must be the only operation";
    CSESS_SEQUENCE_ECHO: "csess.sequence-echo", "RFC 8881 §18.36.3", [56], Violation, Server,
        "csr_sequence equals csa_sequence";
    CSESS_ATTRS: "csess.channel-attrs", "RFC 8881 §18.36.3", [57], Violation, Server,
        "the server may lower but never raise the channel sizes, and keeps the back channel's maxoperations and maxrequests";
    CSESS_FLAGS: "csess.flags", "RFC 8881 §18.36.3", [58], Violation, Server,
        "PERSIST, CONN_BACK_CHAN and CONN_RDMA are set in csr_flags only when requested";
    BCTS_ONLY_OP: "bcts.only-op", "RFC 8881 §18.34.3", [68], Violation, Server,
        "BIND_CONN_TO_SESSION must be the only operation in its COMPOUND";
    BCTS_DIRECTION: "bcts.direction", "RFC 8881 §18.34.3", [70], Violation, Server,
        "bctsr_dir is one the requested bctsa_dir allows";
    SEQ_POSITION: "seq.position", "RFC 8881 §2.10.2.1, §18.46.3", [73], Violation, Server,
        "SEQUENCE anywhere but first is refused with NFS4ERR_SEQUENCE_POS";
    DESTROY_CLIENTID_ONLY_OP: "dcid.only-op", "RFC 8881 §18.50.3", [87], Violation, Server,
        "DESTROY_CLIENTID without a leading SEQUENCE must be the only operation";
    TRUNK_SAME_CLIENTID: "trunk.same-clientid", "RFC 8881 §2.10.5, §18.35.3", [11, 27], Violation, Server,
        "addresses that declare the same server owner and scope return the same client ID to the same client owner and verifier";
    CLIENT_OWNER_PER_SERVER: "client.same-owner-per-server", "RFC 8881 §2.4", [1], Warning, Client,
        "a client uses one co_ownerid for every address of a server";
    EXCHID_INCARNATION: "exchid.clientid-per-incarnation", "RFC 8881 §18.35.3", [28], Violation, Server,
        "one client ID is never used for two incarnations (co_verifier values) of a client owner";
    SEQ_FIRST_SEQID: "seq.first-seqid", "RFC 8881 §18.36.3", [61], Violation, Server,
        "the first SEQUENCE on each slot of a new session has sequence id 1";
    SEQ_SLOT_ORDER: "seq.slot-order", "RFC 8881 §18.46.3, §2.10.6.1", [75], Violation, Server,
        "a slot accepts only its last sequence id (a retry) or the next one";
    SEQ_RECLAIM_NEEDED: "seq.reclaim-needed-flag", "RFC 8881 §18.46.3", [79], Warning, Server,
        "RESTART_RECLAIM_NEEDED is on every SEQUENCE reply until the client's global RECLAIM_COMPLETE, and only until then";
    CLIENT_RECLAIM_COMPLETE_FIRST: "client.reclaim-complete-first", "RFC 8881 §18.51.3", [89], Violation, Client,
        "after a new client ID, a global RECLAIM_COMPLETE comes before the first non-reclaim OPEN or LOCK";
    GRACE_BEFORE_RECLAIM_COMPLETE: "grace.before-reclaim-complete", "RFC 8881 §18.51.3, §8.4.2", [90, 95], Violation, Server,
        "a non-reclaim OPEN or LOCK before the client's global RECLAIM_COMPLETE gets NFS4ERR_GRACE";
    RECLAIM_COMPLETE_ALREADY: "rc.complete-already", "RFC 8881 §18.51.4", [92], Warning, Server,
        "a second global RECLAIM_COMPLETE (not a retry) gets NFS4ERR_COMPLETE_ALREADY";
    CLIENT_NO_RECLAIM_AFTER_COMPLETE: "client.no-reclaim-after-complete", "RFC 8881 §18.51.3", [94], Violation, Client,
        "a client never reclaims after its global RECLAIM_COMPLETE";
    CLIENT_SESSION_TRUNKING: "client.session-trunking", "RFC 8881 §2.10.5, §2.10.4", [13, 19, 114], Violation, Client,
        "a client joins a connection to a session only at an address with the same server scope, major and minor id";
    SERVER_SESSION_TRUNKING: "server.session-trunking-consistent", "RFC 8881 §2.10.5", [19], Warning, Server,
        "a server that accepts a session at another address declares the same server scope, major and minor id there";
    CB_PROGRAM: "cb.program", "RFC 8881 §18.36.3", [60], Violation, Server,
        "callbacks use the program number the client gave in CREATE_SESSION or BACKCHANNEL_CTL";
    EXCHID_SUPP_MOVED: "exchid.supp-moved", "RFC 8881 §18.35.3", [35, 117], Violation, Server,
        "a server that returns NFS4ERR_MOVED announced SUPP_MOVED_REFER or SUPP_MOVED_MIGR to that client";
    CLIENTID_REUSE: "clientid.no-reuse", "RFC 8881 §2.4", [2], Warning, Server,
        "a client ID value is not given to another client owner";
    CSESS_STALE_CLIENTID: "csess.stale-clientid", "RFC 8881 §18.36.4", [62], Violation, Server,
        "CREATE_SESSION for a client ID the server destroyed gets NFS4ERR_STALE_CLIENTID";
    DSESS_BOUND_CONNECTION: "dsess.bound-connection", "RFC 8881 §18.37.3", [83], Violation, Server,
        "DESTROY_SESSION is accepted only on a connection bound to that session";
    V40_SAME_CONFIRM: "v40.same-confirm", "RFC 7931 §5.8", [110], Info, Server,
        "two addresses returning the same client ID and confirm verifier are likely different servers colliding by chance";
    EXCHID_UNDEFINED_FLAGS: "exchid.undefined-flags", "RFC 8881 §18.35.3", [31], Violation, Server,
        "undefined bits in eia_flags get NFS4ERR_INVAL";
    EXCHID_MUST_ENFORCE: "exchid.must-enforce", "RFC 8881 §18.35.3", [37], Violation, Server,
        "with SP4_MACH_CRED or SP4_SSV, spo_must_enforce in the reply holds every requested op of EXCHANGE_ID, CREATE_SESSION, DELEGPURGE, DESTROY_SESSION, BIND_CONN_TO_SESSION, DESTROY_CLIENTID";
    CLIENT_PROTECTION_GSS: "client.state-protection-gss", "RFC 8881 §18.35.3", [39], Violation, Client,
        "a client asks for SP4_MACH_CRED or SP4_SSV only under RPCSEC_GSS with integrity or privacy";
    EXCHID_SSV_PARAMS: "exchid.ssv-params", "RFC 8881 §18.35.3", [42], Violation, Server,
        "SP4_SSV with no hash or encryption algorithm, or a zero window, gets NFS4ERR_INVAL; the granted window is between 1 and the requested one";
    EXCHID_CASE2_SAME_RESULT: "exchid.case2-same-result", "RFC 8881 §18.35.4 case 2", [46], Violation, Server,
        "a repeated EXCHANGE_ID (same owner and verifier) for a confirmed client ID returns that client ID";
    V40_CONFIRM_MISMATCH: "v40.confirm-mismatch", "RFC 7530 §16.34", [105], Violation, Server,
        "SETCLIENTID_CONFIRM with a confirm verifier the server did not issue for that client ID gets NFS4ERR_STALE_CLIENTID";
    SEQ_IMPLICIT_BINDING: "seq.implicit-binding", "RFC 8881 §2.10.3.1", [25], Violation, Server,
        "with SP4_NONE, a SEQUENCE on a new connection binds it to the session's fore channel (no NFS4ERR_CONN_NOT_BOUND_TO_SESSION)";
    SEQ_REVOKED_FLAGS_STAY: "seq.revoked-flags-stay", "RFC 8881 §18.46.3", [80], Warning, Server,
        "EXPIRED_ALL/SOME, ADMIN and RECALLABLE _STATE_REVOKED stay set until FREE_STATEID or a new client ID";
    DSESS_POSITION: "dsess.position", "RFC 8881 §18.37.3", [84], Violation, Server,
        "DESTROY_SESSION is the last operation after a SEQUENCE, or else the only one";
    CSESS_STALE_AFTER_RESTART: "csess.stale-after-restart", "RFC 8881 §2.4, §18.36.4", [3], Violation, Server,
        "once the server answered NFS4ERR_STALE_CLIENTID for a client ID (it forgot it, e.g. in a restart), neither CREATE_SESSION with it nor SEQUENCE on its older sessions succeeds until an EXCHANGE_ID returns it again";
    EXCHID_PROBE_KEEPS_STATE: "exchid.probe-keeps-state", "RFC 8881 §2.4.3", [8], Violation, Server,
        "a repeated EXCHANGE_ID with the same owner, verifier and principal does not delete the client ID's sessions or state";
    EXCHID_CASE1_UNCONFIRMED: "exchid.case1-unconfirmed", "RFC 8881 §18.35.4 case 1", [45], Warning, Server,
        "a client ID issued new and unconfirmed comes back with CONFIRMED_R only after a CREATE_SESSION confirmed it";
    CSESS_SEQUENCE: "csess.sequence", "RFC 8881 §18.36.4 phase 2", [63], Violation, Server,
        "CREATE_SESSION is accepted only with csa_sequence eir_sequenceid (first) or the last one plus 1; a replay of the last returns the cached reply, not a new session";
    CLIENT_CSESS_CONFIRMED_R_SEQ: "client.csess-ignores-confirmed-r-sequence", "RFC 8881 §18.35.3", [34], Violation, Client,
        "when CONFIRMED_R is set the client ignores eir_sequenceid and keeps its own CREATE_SESSION sequence";
    LEASE_RENEWED: "lease.renewed-by-sequence", "RFC 8881 §2.10.2.2, §18.46.3", [74], Violation, Server,
        "a client that renewed its lease (SEQUENCE NFS4_OK) less than lease_time ago, on a connection that shows no restart, does not get NFS4ERR_BADSESSION or NFS4ERR_STALE_CLIENTID";
    V40_RENEW: "v40.renew", "RFC 7530 §16.28, §9.5", [106], Violation, Server,
        "RENEW of a client ID the server called stale gets NFS4ERR_STALE_CLIENTID until SETCLIENTID returns it again, and a lease renewed less than lease_time ago on the same connection is not NFS4ERR_EXPIRED";
    V40_NEW_CLIENTID: "v40.clientid-per-verifier", "RFC 7530 §16.33.5", [104], Violation, Server,
        "SETCLIENTID with a new verifier (a client reboot) gets a new client ID, not the one confirmed for the old verifier";
    V40_TRUNKING_CONSISTENT: "v40.trunking-consistent", "RFC 7931 §5.8", [109], Violation, Server,
        "addresses that the RFC 7931 SETCLIENTID_CONFIRM test shows to be one server give one id string and verifier one client ID";
    CLIENT_V40_UNIFORM: "client.v40-uniform-string", "RFC 7931 §5", [108], Warning, Client,
        "a client facing migration (NFS4ERR_MOVED) presents one nfs_client_id4 string to every server address";
    CB_ANY_BACKCHANNEL: "cb.any-backchannel", "RFC 8881 §2.10.5", [20], Violation, Client,
        "the client accepts callbacks on any back channel bound to its client ID";
    CLIENT_OWNER_CHANGE: "client.owner-change", "RFC 8881 §2.10.5", [21], Warning, Client,
        "after an address declares another server owner (or minor id), the client stops using sessions that are no longer valid there";
    CLIENT_BCTS_SSV_GSS: "client.bcts-ssv-gss", "RFC 8881 §2.10.5.1, §18.34.3", [23], Violation, Client,
        "with SP4_SSV, BIND_CONN_TO_SESSION is sent under RPCSEC_GSS with integrity or privacy";
    BCTS_STATE_PROTECTION: "bcts.state-protection", "RFC 8881 §18.34.3", [69], Violation, Server,
        "BIND_CONN_TO_SESSION for an SP4_SSV client ID, or an SP4_MACH_CRED one enforcing it, is refused without RPCSEC_GSS integrity or privacy";
    EXCHID_EMPTY_IMPL_ID: "exchid.empty-impl-id", "RFC 8881 §18.35.3", [43], Warning, Server,
        "an EXCHANGE_ID with an empty eia_client_impl_id (and nothing else wrong) is not refused with NFS4ERR_INVAL";
    SEQ_LEASE_MOVED_STAYS: "seq.lease-moved-stays", "RFC 8881 §18.46.3", [81], Warning, Server,
        "SEQ4_STATUS_LEASE_MOVED stays set until the client has been answered NFS4ERR_MOVED";
    FSLOC_GETATTR_ABSENT: "fsloc.getattr-absent", "RFC 8881 §11.4", [113], Violation, Server,
        "in an absent file system, GETATTR of fs_locations / fs_locations_info (with only fsid, fs_status, rdattr_error, mounted_on_fileid besides) is answered, not NFS4ERR_MOVED";
    CLIENT_CLIENTID_TRUNKING: "client.clientid-trunking", "RFC 8881 §2.10.5, §2.10.4, §11.5.2", [13, 114], Violation, Client,
        "a client uses a client ID (CREATE_SESSION) only at addresses that declared the scope and major id of the server that issued it";
    CLIENT_FAILOVER_RECLAIM: "client.failover-reclaim-scope", "RFC 8881 §8.4.2.1", [98], Warning, Client,
        "a client does not reclaim, at a server of another scope, state it held elsewhere";
    SERVER_FAILOVER_RECLAIM: "server.failover-reclaim-refusal", "RFC 8881 §8.4.2.1", [98], Warning, Server,
        "a server of the same scope that cannot honour a reclaim after a failover answers NFS4ERR_NO_GRACE (or RECLAIM_BAD), not another error";
}

/// Looks a rule up by id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

/// How a finding counts where a verdict is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// It fails the capture, the JUnit case or the trial.
    Fail,
    /// It is reported as a warning and fails nothing.
    Warn,
    /// It is reported for information.
    Inform,
}

/// Who a finding in a suite trial is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialBlame {
    /// The server under test.
    Server,
    /// trunkcheck's own client: a bug in the scenario or the client.
    OwnClient,
}

/// The one verdict policy: what fails a capture (`analyze`'s exit status),
/// a JUnit case and a suite trial. Every report asks it; none decides alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Warnings fail too (`--strict`).
    pub strict: bool,
}

impl Policy {
    /// How findings of `rule` count: a broken MUST fails; a SHOULD warns
    /// (fails when strict); information never fails.
    pub fn gate(&self, rule: &Rule) -> Gate {
        match rule.severity {
            Severity::Violation => Gate::Fail,
            Severity::Warning if self.strict => Gate::Fail,
            Severity::Warning => Gate::Warn,
            Severity::Info => Gate::Inform,
        }
    }

    /// Whether findings of `rule` fail a capture and its JUnit case.
    pub fn fails(&self, rule: &Rule) -> bool {
        self.gate(rule) == Gate::Fail
    }

    /// Whether any of `findings` fails the capture.
    pub fn capture_fails(&self, findings: &[Finding]) -> bool {
        findings.iter().any(|f| self.fails(f.rule))
    }

    /// Whether a finding fails a suite trial, and who it is charged to. The
    /// client of a trial is trunkcheck's own, so any rule it breaks (a
    /// violation or a warning) fails the trial unless the scenario provokes
    /// it on purpose (`expected`); a server finding fails by its gate.
    pub fn trial_blame(&self, f: &Finding, expected: bool) -> Option<TrialBlame> {
        if expected {
            return None;
        }
        match (f.rule.party, self.gate(f.rule)) {
            (Party::Server, Gate::Fail) => Some(TrialBlame::Server),
            (Party::Client, Gate::Fail | Gate::Warn) => Some(TrialBlame::OwnClient),
            _ => None,
        }
    }
}

/// Judgements a rule skipped because the capture could not prove them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotJudged {
    /// The rule.
    pub rule: &'static Rule,
    /// Why, in words (what the capture would have to show).
    pub reason: &'static str,
    /// How many times.
    pub count: u64,
}

/// The analysis of one observation: the identity model and what the rules
/// found in it. It is the [`MessageSink`] that `analyze`, the suite runner
/// and the fuzz targets hand to a pipeline.
#[derive(Debug, Default)]
pub struct Analysis {
    model: Model,
    not_judged: Vec<NotJudged>,
}

impl Analysis {
    /// An empty analysis within these bounds.
    pub fn new(limits: ModelLimits) -> Self {
        Analysis {
            model: Model::new(limits),
            not_judged: Vec::new(),
        }
    }

    /// The analysis of a model built elsewhere (tests of the reports).
    pub fn from_model(model: Model) -> Self {
        Analysis {
            model,
            not_judged: Vec::new(),
        }
    }

    /// Who is who.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Rules broken, in the order found.
    pub fn findings(&self) -> &[Finding] {
        &self.model.findings
    }

    /// Findings beyond the bound (counted, not listed).
    pub fn findings_dropped(&self) -> u64 {
        self.model.findings_dropped
    }

    /// Judgements skipped because the capture could not prove them, by rule
    /// and reason.
    pub fn not_judged(&self) -> &[NotJudged] {
        &self.not_judged
    }

    /// Every bound of the model and the rules, with how often it was reached.
    pub fn limit_hits(&self) -> Vec<LimitHit> {
        self.model.limit_hits()
    }

    /// Adds a finding made outside the rules (bounded, and once per rule and
    /// message, like the rules' own).
    pub fn add_finding(&mut self, f: Finding) {
        self.model.finding(f.rule, f.message, f.frames);
    }
}

impl MessageSink for Analysis {
    fn message(&mut self, m: &Message<'_>) {
        self.model.message(m);
    }

    fn notice(&mut self, n: &Notice) {
        self.model.notice(n);
    }
}
