//! `agentpolc`: the command-line front end of agentpol.
//!
//! CLI glue only: every decision is made in the library crates. Compile-time
//! commands take the policy file as a positional argument; runtime commands
//! take `--policy DIR|FILE` (a build directory with `manifest.json`, or a source).
//! Exit codes are shared by all subcommands (see [`exit`]).

// First: its print macros shadow std's for every module declared after it.
#[macro_use]
mod out;

mod cmd;
mod codes;
mod enforcement;
mod exit;
mod loader;
mod manifest;
mod output;
mod request_io;
mod sarif;
mod suppress;
mod targets;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// The compiler allocates many small nodes; mimalloc roughly halves the time
// glibc's allocator spends on them (measured with `agentpolc bench`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Compile, check and test agentpol policies.
#[derive(Parser, Debug)]
#[command(name = "agentpolc", version, about, long_about = None, after_help = exit::HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and type-check a policy; print diagnostics.
    Check(cmd::check::Args),
    /// Format policy files in place (or check that they are formatted).
    Fmt(cmd::fmt::Args),
    /// Decide one request with the reference evaluator.
    Eval(cmd::eval::Args),
    /// Run the `test` blocks of a policy.
    Test(cmd::test::Args),
    /// Compile a policy: IR, verifier report and backend targets into a directory.
    Build(cmd::build::Args),
    /// Decide requests with the Cedar engine, the decision index or the evaluator.
    Authorize(cmd::authorize::Args),
    /// Print the long explanation of a diagnostic code.
    Explain(cmd::explain::Args),
    /// Measure parse + check time on a generated policy.
    Bench(cmd::bench::Args),
    /// Load the egress firewall into the kernel (`--target nft`), or remove it.
    Apply(cmd::apply::Args),
    /// Prove a policy free of conflicts and check its assertions (Z3).
    Verify(cmd::verify::Args),
    /// Show what a new policy grants or refuses that an old one did not.
    Diff(cmd::diff::Args),
    /// Run the language server on stdin/stdout (for editors).
    Lsp(cmd::lsp::Args),
    /// Start a command as an agent, confined by the kernel (Landlock for files and exec, cgroup BPF for the network), and supervise it.
    Run(cmd::run::Args),
    /// List runs and leftovers of killed supervisors.
    Status(cmd::status::Args),
    /// Remove what runs with a dead supervisor left behind.
    Cleanup(cmd::cleanup::Args),
    /// The child side of `run` (internal).
    #[command(hide = true)]
    Confine(cmd::run::ConfineArgs),
    /// Enforce the policy on an agent's MCP tool calls (a stdio proxy).
    Gate(cmd::gate::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let code = match cli.command {
        Command::Check(a) => cmd::check::run(a),
        Command::Fmt(a) => cmd::fmt::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Test(a) => cmd::test::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Authorize(a) => cmd::authorize::run(a),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Apply(a) => cmd::apply::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Lsp(a) => cmd::lsp::run(a),
        Command::Diff(a) => cmd::diff::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Status(a) => cmd::status::run(a),
        Command::Cleanup(a) => cmd::cleanup::run(a),
        Command::Confine(a) => cmd::run::confine(a),
        Command::Gate(a) => cmd::gate::run(a),
    };
    ExitCode::from(code)
}
