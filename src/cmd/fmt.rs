//! `agentpolc fmt FILE... [--check]`: canonical formatting, comments kept.

use crate::exit;
use crate::output::{self, Level};
use std::path::PathBuf;

/// Arguments of `fmt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to format (`-` reads stdin and writes stdout).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not write; exit 1 if any file is not formatted.
    #[arg(long)]
    pub check: bool,
}

/// Runs `fmt`.
pub fn run(args: Args) -> u8 {
    let mut worst = exit::OK;
    for file in &args.files {
        let stdin = file.as_os_str() == "-";
        let text = if stdin {
            let mut s = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
                eprintln!("error: cannot read stdin: {e}");
                return exit::USAGE;
            }
            s
        } else {
            match crate::loader::read_source(file) {
                Ok(t) => t,
                Err(msg) => {
                    eprintln!("error: {msg}");
                    worst = worst.max(exit::USAGE);
                    continue;
                }
            }
        };
        let mut sources = agentpol_core::source::SourceMap::new();
        let id = sources.add(file.to_string_lossy(), text.clone());
        match agentpol_core::format::format_source(id, &text) {
            Ok(formatted) if args.check => {
                if formatted != text {
                    eprintln!("not formatted: {}", file.display());
                    worst = worst.max(exit::FAILED);
                }
            }
            Ok(formatted) if stdin => print!("{formatted}"),
            Ok(formatted) => {
                if formatted != text {
                    if let Err(e) = std::fs::write(file, formatted) {
                        eprintln!("error: cannot write {}: {e}", file.display());
                        worst = worst.max(exit::USAGE);
                    }
                }
            }
            Err(diags) => {
                output::print_human(&diags, &sources, Level::Warning);
                eprintln!("not formatted (syntax errors): {}", file.display());
                worst = worst.max(exit::FAILED);
            }
        }
    }
    worst
}
