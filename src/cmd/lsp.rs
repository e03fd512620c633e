//! `agentpolc lsp`: the language server on stdin/stdout (for editors).

use crate::exit;

/// Arguments of `lsp`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Accepted for clients that pass it (VS Code's language client does);
    /// stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
    /// Milliseconds of quiet after an edit before the verifier runs.
    #[arg(long, default_value_t = 300)]
    pub debounce_ms: u64,
    /// Publish checker diagnostics only (no verifier findings).
    #[arg(long)]
    pub no_verify: bool,
}

/// Runs the server until the client sends `exit` or closes stdin.
pub fn run(args: Args) -> u8 {
    let config = agentpol_lsp::Config {
        debounce: std::time::Duration::from_millis(args.debounce_ms),
        verify: !args.no_verify,
    };
    match agentpol_lsp::run_stdio(config) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: language server: {e}");
            exit::USAGE
        }
    }
}
