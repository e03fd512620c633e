//! `agentpolc test FILE`: run the policy's `test` blocks through the reference evaluator.

use std::path::PathBuf;

/// Arguments of `test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The policy file.
    pub file: PathBuf,
}

/// Runs `test`.
pub fn run(args: Args) -> u8 {
    let _ = args;
    eprintln!("internal error: `agentpolc test` is not wired up yet");
    crate::exit::INTERNAL
}
