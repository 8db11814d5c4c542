//! Scenarios: the conformance suite's tests, written as YAML data.
//!
//! A suite file (`suites/*.yaml`) holds one area's scenarios. Each scenario
//! names the RFC sections it checks, what it needs of the target (minor
//! version, servers in given relations, hooks), the principals it acts as,
//! and a list of steps in a small declarative vocabulary:
//!
//! - `connect`: open a TCP connection to a server address (from a chosen
//!   client source address, as a chosen principal);
//! - one step per NFSv4 operation (`exchange_id`, `create_session`,
//!   `bind_conn_to_session`, `sequence`, `open`, `lock`, `setclientid` ...),
//!   sent alone or after a SEQUENCE when a `session` is named, each with an
//!   optional `expect` (a status, a set of acceptable statuses, reply fields)
//!   and `save` (a name for the reply, used by later steps and checks);
//! - `compound`: several operations in one COMPOUND (for position and
//!   only-op rules), `raw`: bytes as they are;
//! - `check`: saved reply fields equal / different;
//! - server actions (`restart`, `crash`, `stop`, `start`, `failover`,
//!   `cut_link`, `restore_link`);
//! - `wait`: a number of the server's own lease periods or grace periods,
//!   never a fixed time.
//!
//! Every expectation has a strength ([`strength`]): the RFC keyword of
//! the sentence it checks, stated with `kw:` or inherited from the
//! catalogue rows the scenario covers. A broken MUST fails the trial, a
//! SHOULD not followed is a warning, a MAY is information.
//!
//! [`load`] reads and validates files before anything runs: a malformed
//! file is refused with its path, line and column, and a scenario that
//! refers to a connection, saved value, role or principal it never made is
//! refused with the scenario id and step number. A reply field named in
//! `expect.fields` that the step's reply does not have (see [`reply`]) is
//! refused with its line and column too.

pub mod catalogue;
pub mod load;
pub mod reply;
pub mod strength;
mod types;

pub use load::{load_dir, load_file, load_files, load_str, roles_of, LoadError, Suite};
pub use strength::{Kw, Resolved, Strength};
pub use types::*;

#[cfg(test)]
mod tests;
