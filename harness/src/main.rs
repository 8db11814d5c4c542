//! `trunkcheck`: a conformance suite and packet analyzer for NFSv4 identity,
//! trunking and failover. The subcommands live in `cli/`; this file only
//! parses the command line and dispatches.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "trunkcheck", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode NFSv4 traffic in capture files: one line per RPC message.
    Decode(cli::decode::DecodeArgs),
    /// Rebuild who is who in captures: servers, clients, client IDs, sessions.
    Analyze(cli::analyze::AnalyzeArgs),
    /// List the built-in target profiles, or check a target file.
    Targets(cli::targets::TargetsArgs),
    /// Start a target's servers (built-in Ganesha lab) and keep them up
    /// until Ctrl-C or `--for SECS`.
    Lab(cli::lab::LabArgs),
    /// Run the conformance scenarios against a target (default: local
    /// Ganesha started by trunkcheck).
    Run(cli::run::RunArgs),
    /// Compare saved run results (`run --json`) of several targets: a
    /// matrix scenario × target, disagreements first; text, JSON, HTML.
    Compare(cli::compare::CompareArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any thread starts: the GSS library reads KRB5_CONFIG from the
    // environment; a run's lab later writes its realm's krb5.conf there.
    if matches!(cli.command, Command::Run(_) | Command::Lab(_)) {
        trunkcheck::krb5::prepare_process();
    }
    let result = match cli.command {
        Command::Decode(args) => cli::decode::run(&args),
        Command::Analyze(args) => cli::analyze::run(&args),
        Command::Targets(args) => cli::targets::run(&args),
        Command::Lab(args) => cli::lab::run(&args),
        Command::Run(args) => cli::run::run(&args),
        Command::Compare(args) => cli::compare::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("trunkcheck: {e:#}");
            ExitCode::from(cli::EXIT_INPUT)
        }
    }
}
