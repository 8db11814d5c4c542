//! Server actions: the one type for what a scenario asks of a server
//! (`restart: a`, `failover: {from: a, to: b}` ...), what a target file's
//! hooks declare, and what the lab performs; and the typed answer of a
//! target that cannot do one.

use std::fmt;

/// One action on a server under test.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Start a stopped server (or end a takeover of its addresses).
    Start,
    /// Stop a server cleanly.
    Stop,
    /// Clean restart.
    Restart,
    /// Crash (kill) and start again.
    Crash,
    /// Cut the server's link: packets dropped, no reset.
    CutLink,
    /// Restore a cut link.
    RestoreLink,
    /// Fail the server over to a peer.
    Failover {
        /// The peer taking over: a role in a scenario step, a server name
        /// once roles are assigned.
        to: String,
    },
}

impl Action {
    /// The action's keyword: the scenario step, the hook's key in a target
    /// file, `TRUNKCHECK_ACTION` and the `lab` command's word.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Crash => "crash",
            Action::CutLink => "cut_link",
            Action::RestoreLink => "restore_link",
            Action::Failover { .. } => "failover",
        }
    }

    /// The action named `key` (`failover` needs the `peer`).
    pub fn from_key(key: &str, peer: Option<&str>) -> Option<Action> {
        Some(match (key, peer) {
            ("start", None) => Action::Start,
            ("stop", None) => Action::Stop,
            ("restart", None) => Action::Restart,
            ("crash", None) => Action::Crash,
            ("cut_link", None) => Action::CutLink,
            ("restore_link", None) => Action::RestoreLink,
            ("failover", Some(to)) => Action::Failover { to: to.to_string() },
            _ => return None,
        })
    }

    /// The same action with the failover peer renamed by `f` (a role to
    /// the server playing it); `None` when `f` finds no name.
    pub fn with_peer(&self, f: impl FnOnce(&str) -> Option<String>) -> Option<Action> {
        match self {
            Action::Failover { to } => f(to).map(|to| Action::Failover { to }),
            other => Some(other.clone()),
        }
    }

    /// The failover peer, for the one action that has one.
    pub fn peer(&self) -> Option<&str> {
        match self {
            Action::Failover { to } => Some(to),
            _ => None,
        }
    }

    /// What undoes the action's lasting effect before the next trial
    /// (a cut link is restored, a stopped or failed-over server started).
    pub fn undo(&self) -> Option<Action> {
        match self {
            Action::CutLink => Some(Action::RestoreLink),
            Action::Stop | Action::Failover { .. } => Some(Action::Start),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A target that cannot do an action on a server (no hook for it): the
/// runner skips the scenarios that need it, with this as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {target} has no `{action}` hook for server {server}")]
pub struct Unsupported {
    /// The target's name.
    pub target: String,
    /// The action asked for.
    pub action: Action,
    /// The server it was asked of.
    pub server: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_actions_both_ways_and_the_peer_follows_roles() {
        for a in [
            Action::Start,
            Action::Stop,
            Action::Restart,
            Action::Crash,
            Action::CutLink,
            Action::RestoreLink,
        ] {
            assert_eq!(Action::from_key(a.key(), None), Some(a));
        }
        let f = Action::from_key("failover", Some("b")).expect("failover");
        assert_eq!((f.key(), f.peer()), ("failover", Some("b")));
        assert_eq!(Action::from_key("failover", None), None);
        let named = f.with_peer(|r| (r == "b").then(|| "node2".to_string()));
        assert_eq!(
            named.and_then(|a| a.peer().map(String::from)).as_deref(),
            Some("node2")
        );
        assert_eq!(f.with_peer(|_| None), None);
        assert_eq!(Action::Restart.with_peer(|_| None), Some(Action::Restart));
        assert_eq!(Action::CutLink.undo(), Some(Action::RestoreLink));
        assert_eq!(f.undo(), Some(Action::Start));
        assert_eq!(Action::Crash.undo(), None);
    }
}
