//! The `trunkcheck` harness as a library: what the binary and the
//! integration tests share to drive live servers.

pub mod client;
pub mod netns;
pub mod run;
pub mod scenario;
pub mod target;
