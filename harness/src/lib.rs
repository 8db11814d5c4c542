//! The `trunkcheck` harness as a library: what the binary and the
//! integration tests share to drive live servers.

pub mod netns;
pub mod target;
