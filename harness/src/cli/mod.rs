//! The command line: one module per subcommand with its arguments and the
//! function that wires them to the library (pipeline, reports, runner,
//! lab); `main.rs` only dispatches.

pub mod analyze;
pub mod compare;
pub mod decode;
pub mod lab;
pub mod progress;
pub mod run;
pub mod targets;

/// Exit status: everything read and nothing violated.
pub const EXIT_OK: u8 = 0;
/// Exit status: a violation was found.
pub const EXIT_VIOLATION: u8 = 1;
/// Exit status: unusable input (a file that cannot be read) or bad usage.
pub const EXIT_INPUT: u8 = 2;
