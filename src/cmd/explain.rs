//! `agentpolc explain CODE`: the long form of a diagnostic.

use crate::exit;

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A code such as `AP0101`; omit it with `--list` to list every code.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every code with its one-line summary.
    #[arg(long)]
    pub list: bool,
}

/// Runs `explain`.
pub fn run(args: Args) -> u8 {
    let codes = crate::targets::all_codes();
    if args.list {
        for c in &codes {
            println!("{}  {:<32} {}", c.code, c.name, c.summary);
        }
        return exit::OK;
    }
    let wanted = args.code.unwrap_or_default();
    match codes
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(wanted.trim()))
    {
        Some(c) => {
            println!(
                "{} ({}): {}\n\n{}",
                c.code, c.name, c.summary, c.explanation
            );
            exit::OK
        }
        None => {
            eprintln!(
                "error: unknown diagnostic code {wanted:?}; `agentpolc explain --list` lists them"
            );
            exit::USAGE
        }
    }
}
