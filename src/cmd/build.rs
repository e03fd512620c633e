//! `agentpolc build FILE -o DIR`: compile, verify, test and emit every target.
//!
//! Writes `DIR/manifest.json`, `DIR/ir/policy.json` and one sub-directory per
//! `--target`. The manifest is what runtime commands (`authorize`, `apply`,
//! `run`, `gate`) read.

use crate::exit;
use crate::manifest::{self, ArtifactHash, Manifest, SourceSection, TargetEntry, TestSection};
use crate::output::{self, Format, Level};
use agentpol_core::ir::{Kind, Policy};
use std::path::{Path, PathBuf};

/// Arguments of `build`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The policy file.
    pub file: PathBuf,
    /// Output directory (created if missing). Without it nothing is written.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Backend targets to emit, in addition to the IR (repeatable or
    /// comma-separated; `all` for every target).
    #[arg(long = "target", value_delimiter = ',')]
    pub targets: Vec<String>,
    /// Print an artefact to stdout instead of the summary (`ir`: the IR as JSON).
    #[arg(long, value_parser = ["ir"])]
    pub emit: Option<String>,
    /// Output format for diagnostics and the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Lowest severity to show.
    #[arg(long, value_enum, default_value_t)]
    pub level: Level,
    /// Do not run the policy's `test` blocks (the manifest then says `tests.ran: false`).
    #[arg(long)]
    pub no_tests: bool,
    /// Per-code `--allow`/`--deny`.
    #[command(flatten)]
    pub codes: crate::suppress::Flags,
}

/// Runs `build`.
pub fn run(mut args: Args) -> u8 {
    if args.targets.iter().any(|t| t == "all") {
        args.targets = crate::targets::TARGETS
            .iter()
            .map(|t| t.to_string())
            .collect();
    }
    for t in &args.targets {
        if !crate::targets::TARGETS.contains(&t.as_str()) {
            eprintln!(
                "error: unknown target {t:?}; known targets: {}, all",
                crate::targets::TARGETS.join(", ")
            );
            return exit::USAGE;
        }
    }
    if let Err(msg) = args.codes.validate() {
        eprintln!("error: {msg}");
        return exit::USAGE;
    }
    let comp = match super::compile_or_exit(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut diags = comp.diagnostics.clone();
    let Some(policy) = comp.policy.as_ref() else {
        output::emit(
            &diags,
            &comp.sources,
            args.format,
            args.level,
            Default::default(),
        );
        return exit::FAILED;
    };

    if args.emit.as_deref() == Some("ir") {
        output::print_human(&diags, &comp.sources, args.level);
        return match serde_json::to_string_pretty(policy) {
            Ok(s) => {
                println!("{s}");
                exit::OK
            }
            Err(e) => {
                eprintln!("internal error: cannot serialise the IR: {e}");
                exit::INTERNAL
            }
        };
    }

    // A failing expectation is an error diagnostic, so the build fails (exit 1)
    // and writes nothing, exactly as `agentpolc test` would.
    let mut failed_tests = 0;
    if !args.no_tests {
        for o in agentpol_core::eval::tests::run_tests(policy) {
            if let Some(d) = o.diag(policy) {
                failed_tests += 1;
                diags.push(d);
            }
        }
    }

    let report = agentpol_verify::verify(policy, &super::verify::options(args.level));
    diags.extend(report.diagnostics());
    let verifier = super::verify::manifest_section(&report);

    let mut target_names = vec!["ir".to_string()];
    for t in &args.targets {
        if !target_names.contains(t) {
            target_names.push(t.clone());
        }
    }
    let mut outputs = Vec::new();
    // A rule shared by several owners, or emitted by both firewall targets,
    // yields the same finding several times: show it once.
    let mut seen = std::collections::HashSet::new();
    for t in &target_names {
        match crate::targets::emit(t, policy) {
            Some(out) => {
                diags.extend(
                    out.diagnostics
                        .iter()
                        .filter(|d| {
                            seen.insert((d.code.code, d.message.clone(), d.primary.clone()))
                        })
                        .cloned(),
                );
                outputs.push(out);
            }
            None => {
                eprintln!("internal error: target {t} has no backend");
                return exit::INTERNAL;
            }
        }
    }
    let built = |t: &str| target_names.iter().any(|n| n == t);
    let ran = crate::suppress::Ran {
        verify: true,
        tests: !args.no_tests,
        cedar: built("cedar"),
        firewall: built("nft") && built("iptables"),
    };
    let diags = args.codes.apply(diags, &comp.pragmas, ran);
    let counts = output::count(&diags);
    // `--deny-warnings` fails the build like an error: nothing is written.
    let failing = args.codes.fails(&counts);

    let files = policy.files.clone();
    let manifest = Manifest {
        manifest_version: manifest::MANIFEST_VERSION,
        agentpolc_version: env!("CARGO_PKG_VERSION").into(),
        ir_version: policy.ir_version,
        source: SourceSection {
            root: args.file.to_string_lossy().into_owned(),
            sha256: manifest::combined_hash(&files),
            files,
        },
        ir: "ir/policy.json".into(),
        targets: outputs
            .iter()
            .map(|o| TargetEntry {
                name: o.target.clone(),
                dir: o.target.clone(),
                files: o.artifacts.iter().map(|a| a.path.clone()).collect(),
                lossless: o.loss.is_empty(),
                loss: o.loss.clone(),
            })
            .collect(),
        verifier,
        tests: TestSection {
            expectations: policy.tests.iter().map(|t| t.expects.len()).sum(),
            failed: failed_tests,
            ran: !args.no_tests,
        },
        enforcement: crate::enforcement::table(policy, &outputs),
        artifacts: artifact_hashes(&outputs),
    };

    let mut written = Vec::new();
    if !failing {
        if let Some(dir) = &args.out {
            match write_outputs(dir, &outputs, &manifest) {
                Ok(w) => written = w,
                Err(msg) => {
                    eprintln!("error: {msg}");
                    return exit::USAGE;
                }
            }
        }
    }

    match args.format {
        Format::Human => {
            output::print_human(&diags, &comp.sources, args.level);
            print_summary(&args, policy, &manifest, &written, counts);
        }
        _ => {
            let mut extra = serde_json::Map::new();
            if let Ok(v) = serde_json::to_value(&manifest) {
                extra.insert("manifest".into(), v);
            }
            output::emit(&diags, &comp.sources, args.format, args.level, extra);
        }
    }
    if report.has_internal() {
        exit::INTERNAL
    } else if failing {
        exit::FAILED
    } else if report.has_unknown() {
        exit::UNKNOWN
    } else {
        exit::OK
    }
}

/// The path (relative to the build directory) and hash of every artefact.
fn artifact_hashes(outputs: &[agentpol_core::backend::TargetOutput]) -> Vec<ArtifactHash> {
    let mut all: Vec<ArtifactHash> = outputs
        .iter()
        .flat_map(|o| {
            o.artifacts.iter().map(|a| ArtifactHash {
                path: format!("{}/{}", o.target, a.path),
                bytes: a.contents.len() as u64,
                sha256: manifest::sha256(&a.contents),
            })
        })
        .collect();
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}

/// Writes every target's artefacts and the manifest; returns the paths written.
fn write_outputs(
    dir: &Path,
    outputs: &[agentpol_core::backend::TargetOutput],
    manifest: &Manifest,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for out in outputs {
        let tdir = dir.join(&out.target);
        std::fs::create_dir_all(&tdir)
            .map_err(|e| format!("cannot create {}: {e}", tdir.display()))?;
        for a in &out.artifacts {
            let p = tdir.join(&a.path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&p, &a.contents)
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            written.push(p);
        }
    }
    let mpath = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(manifest)
        .map_err(|e| format!("cannot serialise the manifest: {e}"))?;
    std::fs::write(&mpath, text + "\n")
        .map_err(|e| format!("cannot write {}: {e}", mpath.display()))?;
    written.push(mpath);
    Ok(written)
}

fn kind_counts(rules: &[agentpol_core::ir::Rule]) -> String {
    let kinds = [Kind::Fs, Kind::Exec, Kind::Net, Kind::Tool, Kind::Env];
    let names = ["fs", "exec", "net", "tool", "env"];
    kinds
        .iter()
        .zip(names)
        .filter_map(|(k, n)| {
            let c = rules.iter().filter(|r| r.kind() == *k).count();
            (c > 0).then(|| format!("{n} {c}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(
    args: &Args,
    policy: &Policy,
    manifest: &Manifest,
    written: &[PathBuf],
    counts: output::Counts,
) {
    println!("agentpolc build {}", args.file.display());
    let std_files = policy
        .files
        .iter()
        .filter(|f| f.name.starts_with("std/"))
        .count();
    println!(
        "  sources    {} file(s) ({} from std), sha256 {}",
        policy.files.len(),
        std_files,
        &manifest.source.sha256[..12.min(manifest.source.sha256.len())]
    );
    for a in &policy.agents {
        println!(
            "  agent      {}: {} rules ({})",
            a.name,
            a.rules.len(),
            kind_counts(&a.rules)
        );
        for s in &a.skills {
            println!(
                "    skill    {}: {} rules ({})",
                s.name,
                s.rules.len(),
                kind_counts(&s.rules)
            );
        }
    }
    println!(
        "  declared   {} tool(s), {} param(s), {} secret(s)",
        policy.tools.len(),
        policy.params.len(),
        policy.secrets.len()
    );
    let tests = if manifest.tests.ran {
        format!(
            "{} of {} test expectation(s) passed",
            manifest
                .tests
                .expectations
                .saturating_sub(manifest.tests.failed),
            manifest.tests.expectations
        )
    } else {
        format!(
            "{} test expectation(s) not run (--no-tests)",
            manifest.tests.expectations
        )
    };
    println!(
        "  checks     {} assertion(s), {tests}; verifier: {}",
        policy.assertions.len(),
        manifest.verifier.status
    );
    for t in &manifest.targets {
        let loss = if t.lossless {
            "lossless".to_string()
        } else {
            format!("{} approximation(s), see manifest", t.loss.len())
        };
        println!("  target     {} ({loss})", t.name);
    }
    for a in &manifest.enforcement {
        println!("  enforced   agent {}:", a.agent);
        for row in &a.kinds {
            println!("               {}", crate::enforcement::summary_line(row));
        }
    }
    println!(
        "  result     {} error(s), {} warning(s)",
        counts.errors, counts.warnings
    );
    match &args.out {
        Some(dir) if !written.is_empty() => println!(
            "  wrote      {} file(s) under {} (manifest: {})",
            written.len(),
            dir.display(),
            dir.join("manifest.json").display()
        ),
        // Say which refusal it was: with `--deny-warnings` a build with no
        // error writes nothing too, and "(errors)" next to "0 error(s)" lied.
        Some(_) if counts.errors == 0 && args.codes.deny_warnings && counts.warnings > 0 => {
            println!("  wrote      nothing (warnings are errors under --deny-warnings)")
        }
        Some(_) => println!("  wrote      nothing (errors)"),
        None => println!("  wrote      nothing (pass -o DIR to write the outputs)"),
    }
}
