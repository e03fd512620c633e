//! `agentpolc bench`: parse + check time and peak memory on a generated policy.

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of rules in the generated policy.
    #[arg(long, default_value_t = 100_000)]
    pub rules: usize,
}

/// Runs `bench`.
pub fn run(args: Args) -> u8 {
    let _ = args;
    eprintln!("internal error: `agentpolc bench` is not wired up yet");
    crate::exit::INTERNAL
}
