//! `agentpolc fmt FILE... [--check]`: canonical formatting, comments kept.

use crate::exit;
use crate::output::{self, Level};
use std::path::PathBuf;

/// Arguments of `fmt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories to format (directories are searched recursively
    /// for `*.agentpol`; `-` reads stdin and writes stdout).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not write; print a unified diff and exit 1 if any file is not formatted.
    #[arg(long)]
    pub check: bool,
}

/// Runs `fmt`.
pub fn run(args: Args) -> u8 {
    let mut worst = exit::OK;
    let files = match expand(&args.files) {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    for file in &files {
        let stdin = file.as_os_str() == "-";
        let text = if stdin {
            match crate::loader::read_source(file) {
                Ok(t) => t,
                Err(err) => {
                    crate::loader::report(&err);
                    return exit::USAGE;
                }
            }
        } else {
            match crate::loader::read_source(file) {
                Ok(t) => t,
                Err(err) => {
                    crate::loader::report(&err);
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
                    let name = file.display().to_string();
                    print!(
                        "{}",
                        similar::TextDiff::from_lines(&text, &formatted)
                            .unified_diff()
                            .header(&name, &name)
                    );
                    eprintln!("not formatted: {name}");
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

/// The files named, with each directory replaced by the `*.agentpol` files
/// under it (recursively, sorted, symbolic links not followed).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() != "-" && p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let ty = entry
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        let path = entry.path();
        if ty.is_dir() {
            walk(&path, found)?;
        } else if ty.is_file() && path.extension().is_some_and(|e| e == "agentpol") {
            found.push(path);
        }
    }
    Ok(())
}
