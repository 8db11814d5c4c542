//! The `trunkcheck` harness as a library: what the binary, the integration
//! tests and the fuzz targets share to drive live servers and to report.

pub mod action;
pub mod client;
pub mod gss;
pub mod krb5;
pub mod lab;
pub mod netns;
pub mod report;
pub mod run;
pub mod scenario;
pub mod targets;
