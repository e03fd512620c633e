//! `agentpolc diff OLD NEW`: what the new policy grants that the old one did
//! not (widening) and the reverse (narrowing), per agent/skill and resource
//! kind, each with a request replayed under both policies.
//!
//! OLD and NEW are source files or build directories. Exit codes: 0, or 1 with
//! `--fail-on-widen` when the new policy grants more; 3 when a question stayed
//! open (the diff may be incomplete); 4 on an internal error.

use crate::exit;
use crate::output::{self, Format, Level};
use agentpol_core::diag::Diag;
use agentpol_core::source::SourceMap;
use agentpol_core::span::FileId;
use agentpol_verify::Direction;
use std::path::PathBuf;

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The old policy: a source file or a build directory.
    pub old: PathBuf,
    /// The new policy: a source file or a build directory.
    pub new: PathBuf,
    /// Exit with status 1 when the new policy grants any request the old one did not.
    #[arg(long)]
    pub fail_on_widen: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Lowest severity to show (widenings are warnings, narrowings info).
    #[arg(long, value_enum, default_value_t = Level::Info)]
    pub level: Level,
    /// Solver timeout per question, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout: u32,
}

/// Points a diagnostic of the old policy into the combined source map (the
/// new policy's files first, then the old one's).
fn shift(mut d: Diag, by: u32) -> Diag {
    d.primary.span.file = FileId(d.primary.span.file.0 + by);
    for l in &mut d.secondary {
        l.span.file = FileId(l.span.file.0 + by);
    }
    d
}

/// Runs `diff`.
pub fn run(args: Args) -> u8 {
    let old = match super::verify::load(&args.old) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let new = match super::verify::load(&args.new) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut opts = super::verify::options(args.level);
    opts.timeout_ms = args.timeout;
    let report = agentpol_verify::diff(&old.policy, &new.policy, &opts);

    let mut sources = SourceMap::new();
    for f in new.sources.files() {
        sources.add(f.name.clone(), f.text.clone());
    }
    let by = u32::try_from(new.sources.files().len()).unwrap_or(u32::MAX);
    for f in old.sources.files() {
        sources.add(format!("{} (old)", f.name), f.text.clone());
    }
    let place = |dir: Direction, d: Diag| match dir {
        Direction::Widened => d,
        Direction::Narrowed => shift(d, by),
    };
    let mut diags: Vec<Diag> = report
        .changes
        .iter()
        .map(|c| place(c.direction, c.to_diag()))
        .collect();
    diags.extend(
        report
            .unknown
            .iter()
            .map(|(dir, f)| place(*dir, f.to_diag())),
    );

    let widened = report
        .changes
        .iter()
        .filter(|c| c.direction == Direction::Widened)
        .count();
    let narrowed = report.changes.len() - widened;
    let mut extra = serde_json::Map::new();
    extra.insert(
        "diff".into(),
        serde_json::json!({
            "widened": widened,
            "narrowed": narrowed,
            "unknown": report.unknown.len(),
            "changes": report.changes,
            "stats": report.stats,
        }),
    );
    output::emit(&diags, &sources, args.format, args.level, extra);
    if args.format == Format::Human {
        eprintln!(
            "diff: {widened} widening(s), {narrowed} narrowing(s){}",
            if report.unknown.is_empty() {
                String::new()
            } else {
                format!(", {} question(s) left open", report.unknown.len())
            }
        );
    }
    if report.has_internal() {
        exit::INTERNAL
    } else if args.fail_on_widen && report.widened() {
        exit::FAILED
    } else if report.has_unknown() {
        exit::UNKNOWN
    } else {
        exit::OK
    }
}
