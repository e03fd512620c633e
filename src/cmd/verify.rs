//! `agentpolc verify POLICY`: prove a policy free of conflicts and check its
//! `assert never` items (the Z3 verifier, `compiler/agentpol-verify`).
//!
//! POLICY is a source file or a build directory (`build -o DIR`). Exit codes:
//! 0 clean (warnings allowed), 1 error findings (skill escalation, a violated
//! assertion), 3 a question the verifier could not decide, 4 an internal error
//! (the solver and the reference evaluator disagreed).

use crate::exit;
use crate::manifest::VerifierSection;
use crate::output::{self, Format, Level};
use agentpol_core::diag::{Diag, Severity};
use agentpol_core::ir::Policy;
use agentpol_core::source::SourceMap;
use agentpol_verify::{FindingKind, Options, Report};
use std::path::{Path, PathBuf};

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policies: source files, directories searched for `*.agentpol`, or
    /// build directories (`agentpolc build -o DIR`, recognised by their manifest).
    #[arg(required = true)]
    pub policies: Vec<PathBuf>,
    /// Lowest severity to show (`info` also computes every partial overlap).
    #[arg(long, value_enum, default_value_t)]
    pub level: Level,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Ask the solver about every pair of rules, without the cheap filters
    /// (slow; for cross-checking the optimised analysis).
    #[arg(long)]
    pub naive: bool,
    /// Solver timeout per question, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout: u32,
    /// Worker threads (default: the available cores, at most 4).
    #[arg(long)]
    pub threads: Option<usize>,
    /// `--deny-warnings` and per-code `--allow`/`--deny`.
    #[command(flatten)]
    pub codes: crate::suppress::Flags,
}

/// The verifier's options for a `--level`.
pub fn options(level: Level) -> Options {
    Options {
        level: match level {
            Level::Info => Severity::Info,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        },
        ..Options::default()
    }
}

/// A policy and the sources its spans point into.
pub struct Loaded {
    /// The IR.
    pub policy: Policy,
    /// Its sources (read back from disk for a build directory; empty when missing).
    pub sources: SourceMap,
    /// The compiler's diagnostics (warnings), for a source file.
    pub diagnostics: Vec<Diag>,
    /// The source's `#[allow(…)]` comments (none for a build directory:
    /// its sources are only read back for spans).
    pub pragmas: Vec<agentpol_core::diag::suppress::Pragma>,
}

/// Loads POLICY (a source file or a build directory); on failure prints why
/// and returns the exit code.
pub fn load(path: &Path) -> Result<Loaded, u8> {
    if path.is_dir() {
        let loaded = crate::manifest::load_policy(path).map_err(|msg| {
            eprintln!("error: {msg}");
            exit::USAGE
        })?;
        // Spans index the policy's files: rebuild the map in that order, with
        // the text when the file (or the std module) is there unchanged.
        let mut sources = SourceMap::new();
        for f in &loaded.policy.files {
            let std = agentpol_core::stdlib::MODULES
                .iter()
                .find(|(_, name, _)| *name == f.name)
                .map(|(_, _, text)| text.to_string());
            let text = std
                .or_else(|| crate::loader::read_source(std::path::Path::new(&f.name)).ok())
                .filter(|t| {
                    let mut probe = SourceMap::new();
                    let id = probe.add(&f.name, t.clone());
                    probe.get(id).map(|s| s.sha256()) == Some(f.sha256.clone())
                })
                .unwrap_or_default();
            sources.add(&f.name, text);
        }
        Ok(Loaded {
            policy: loaded.policy,
            sources,
            diagnostics: Vec::new(),
            pragmas: Vec::new(),
        })
    } else {
        let comp = super::compile_or_exit(path)?;
        match comp.policy {
            Some(policy) => Ok(Loaded {
                policy,
                sources: comp.sources,
                diagnostics: comp.diagnostics,
                pragmas: comp.pragmas,
            }),
            None => {
                output::print_human(&comp.diagnostics, &comp.sources, Level::Error);
                eprintln!(
                    "error: {} has errors; fix them first (`agentpolc check`)",
                    path.display()
                );
                Err(exit::FAILED)
            }
        }
    }
}

/// The exit code of a verifier report.
pub fn exit_code(report: &Report) -> u8 {
    if report.has_internal() {
        exit::INTERNAL
    } else if report.has_errors() {
        exit::FAILED
    } else if report.has_unknown() {
        exit::UNKNOWN
    } else {
        exit::OK
    }
}

/// The verifier section of a build manifest.
pub fn manifest_section(report: &Report) -> VerifierSection {
    let count = |s: Severity| {
        report
            .findings
            .iter()
            .filter(|f| f.severity == s && f.kind != FindingKind::Unknown)
            .count()
    };
    let unknown = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Unknown)
        .count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let status = if errors > 0 {
        "errors"
    } else if unknown > 0 {
        "unknown"
    } else if warnings > 0 {
        "warnings"
    } else {
        "clean"
    };
    VerifierSection {
        status: status.into(),
        detail: format!(
            "{} rules in {} units, {} solver checks; {errors} error(s), {warnings} warning(s), {unknown} undecided",
            report.stats.rules, report.stats.units, report.stats.solver_checks
        ),
        errors,
        warnings,
        unknown,
    }
}

/// Runs `verify` on every policy named.
pub fn run(args: Args) -> u8 {
    if let Err(msg) = args.codes.validate() {
        eprintln!("error: {msg}");
        return exit::USAGE;
    }
    super::multi::run(&args.policies, true, args.format.into(), |p| {
        run_one(&args, p)
    })
}

fn run_one(args: &Args, path: &std::path::Path) -> u8 {
    let loaded = match load(path) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut opts = options(args.level);
    opts.naive = args.naive;
    opts.timeout_ms = args.timeout;
    if let Some(t) = args.threads {
        opts.threads = t.max(1);
    }
    let t = std::time::Instant::now();
    let report = agentpol_verify::verify(&loaded.policy, &opts);
    let secs = t.elapsed().as_secs_f64();
    let mut diags = loaded.diagnostics;
    diags.extend(report.diagnostics());
    let ran = crate::suppress::Ran {
        verify: true,
        ..Default::default()
    };
    let findings = |d: &[Diag]| d.iter().filter(|d| d.code.code.starts_with("AP05")).count();
    let before = findings(&diags);
    let diags = args.codes.apply(diags, &loaded.pragmas, ran);
    let allowed = before.saturating_sub(findings(&diags));
    let section = manifest_section(&report);
    let mut extra = serde_json::Map::new();
    extra.insert(
        "verifier".into(),
        serde_json::json!({
            "status": section.status,
            "unknown": section.unknown,
            "stats": report.stats,
            "findings": report.findings,
        }),
    );
    output::emit(&diags, &loaded.sources, args.format, args.level, extra);
    if args.format == Format::Human {
        let allowed = if allowed > 0 {
            format!("; {allowed} finding(s) not shown (`#[allow]`/`--allow`)")
        } else {
            String::new()
        };
        eprintln!(
            "verify {}: {}{allowed} ({:.2} s, {} solver checks)",
            section.status, section.detail, secs, report.stats.solver_checks
        );
    }
    let code = exit_code(&report);
    if code == exit::OK && args.codes.fails(&output::count(&diags)) {
        exit::FAILED
    } else {
        code
    }
}
