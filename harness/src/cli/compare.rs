//! `trunkcheck compare`: the saved results of runs against several targets
//! (`run --json`) as one matrix, printed, and written as JSON and HTML.

use super::{EXIT_INPUT, EXIT_OK};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use trunkcheck::report::compare::{compare, Run};

/// Arguments of `trunkcheck compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// Result files written by `trunkcheck run --json`, one per target
    /// (a column each, in this order).
    #[arg(required = true, value_name = "RESULT.json")]
    files: Vec<PathBuf>,
    /// Name the columns (once per file, in order; default: the target
    /// named in each file).
    #[arg(long, value_name = "NAME")]
    label: Vec<String>,
    /// Write the matrix as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the matrix as a self-contained HTML page to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// `trunkcheck compare …`; the exit status (2 when a file cannot be read).
pub fn run(args: &CompareArgs) -> Result<u8> {
    if !args.label.is_empty() && args.label.len() != args.files.len() {
        eprintln!(
            "trunkcheck: {} --label for {} files: give one per file, or none",
            args.label.len(),
            args.files.len()
        );
        return Ok(EXIT_INPUT);
    }
    let mut runs = Vec::new();
    for (i, path) in args.files.iter().enumerate() {
        match Run::load(path) {
            Ok(mut r) => {
                if let Some(l) = args.label.get(i) {
                    r.label = l.clone();
                }
                runs.push(r);
            }
            Err(e) => {
                eprintln!("trunkcheck: {e}");
                return Ok(EXIT_INPUT);
            }
        }
    }
    let matrix = compare(runs);
    print!("{}", matrix.text());
    if let Some(p) = &args.json {
        std::fs::write(p, matrix.json()).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("compare: {}", p.display());
    }
    if let Some(p) = &args.html {
        std::fs::write(p, matrix.html()).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("compare: {}", p.display());
    }
    Ok(EXIT_OK)
}
