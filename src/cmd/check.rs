//! `agentpolc check FILE`: parse and type-check, print diagnostics.

use crate::exit;
use crate::output::{self, Format, Level};
use std::path::{Path, PathBuf};

/// Arguments of `check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policy files, or directories searched for `*.agentpol`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format for diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Lowest severity to show.
    #[arg(long, value_enum, default_value_t)]
    pub level: Level,
    /// `--deny-warnings` and per-code `--allow`/`--deny`.
    #[command(flatten)]
    pub codes: crate::suppress::Flags,
}

/// Runs `check` on every file named.
pub fn run(args: Args) -> u8 {
    if let Err(msg) = args.codes.validate() {
        eprintln!("error: {msg}");
        return exit::USAGE;
    }
    super::multi::run(&args.files, false, args.format.into(), |f| {
        run_file(&args, f)
    })
}

fn run_file(args: &Args, file: &Path) -> u8 {
    let comp = match super::compile_or_exit(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let diags = args.codes.apply(
        comp.diagnostics.clone(),
        &comp.pragmas,
        crate::suppress::Ran::default(),
    );
    let counts = output::count(&diags);
    output::emit(
        &diags,
        &comp.sources,
        args.format,
        args.level,
        serde_json::Map::new(),
    );
    if args.format == Format::Human {
        let status = if counts.errors > 0 { "failed" } else { "ok" };
        eprintln!(
            "check {status}: {} ({} error(s), {} warning(s))",
            file.display(),
            counts.errors,
            counts.warnings
        );
    }
    if args.codes.fails(&counts) {
        exit::FAILED
    } else {
        exit::OK
    }
}
