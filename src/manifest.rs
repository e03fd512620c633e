//! `DIR/manifest.json`: what `build` wrote, read back by runtime commands.
//!
//! Versioned by [`MANIFEST_VERSION`]; documented in `lang-spec/build-output.md`.

use agentpol_core::backend::LossEntry;
use agentpol_core::ir::{FileInfo, Policy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// The build manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// The compiler that wrote it.
    pub agentpolc_version: String,
    /// IR version of `ir/policy.json`.
    pub ir_version: u32,
    /// The sources compiled.
    pub source: SourceSection,
    /// The IR file, relative to the manifest's directory.
    pub ir: String,
    /// One entry per target written.
    pub targets: Vec<TargetEntry>,
    /// Verifier outcome.
    pub verifier: VerifierSection,
    /// Results of the policy's `test` blocks.
    pub tests: TestSection,
}

/// Which sources a build came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceSection {
    /// The root file as given on the command line.
    pub root: String,
    /// Every file with its hash (root first).
    pub files: Vec<FileInfo>,
    /// SHA-256 over the files' names and hashes, identifying the whole input.
    pub sha256: String,
}

/// One target's output.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetEntry {
    /// Target name (`ir`, `cedar`, `nft`, ...).
    pub name: String,
    /// Its directory, relative to the manifest.
    pub dir: String,
    /// Files written, relative to `dir`.
    pub files: Vec<String>,
    /// True when the target expresses every rule exactly.
    pub lossless: bool,
    /// Approximations made (see `agentpol_core::backend::LossEntry`).
    pub loss: Vec<LossEntry>,
}

/// What the verifier said.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifierSection {
    /// `not-run`, `clean`, `warnings`, `errors` or `unknown`.
    pub status: String,
    /// A sentence explaining the status.
    pub detail: String,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Queries the solver could not decide.
    pub unknown: usize,
}

/// Results of `test` blocks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestSection {
    /// Expectations checked.
    pub expectations: usize,
    /// Expectations that failed.
    pub failed: usize,
}

/// SHA-256 identifying a set of input files.
pub fn combined_hash(files: &[FileInfo]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in files {
        h.update(f.name.as_bytes());
        h.update([0]);
        h.update(f.sha256.as_bytes());
        h.update([0]);
    }
    agentpol_core::source::hex(&h.finalize())
}

/// A policy as runtime commands load it: from a build directory or a source file.
pub struct LoadedPolicy {
    /// The checked IR.
    pub policy: Policy,
    /// The manifest, when loaded from a build directory.
    pub manifest: Option<Manifest>,
    /// The build directory, when loaded from one.
    pub dir: Option<PathBuf>,
}

/// Loads `--policy DIR|FILE`: a directory must hold `manifest.json` (from `build -o`);
/// a file is compiled on the spot. Errors are messages for exit code 2 (or 1 for a
/// policy with errors, which the caller reports).
pub fn load_policy(path: &Path) -> Result<LoadedPolicy, String> {
    if path.is_dir() {
        let mpath = path.join("manifest.json");
        let text = std::fs::read_to_string(&mpath).map_err(|e| {
            format!(
                "cannot read {}: {e} (run `agentpolc build -o DIR` first)",
                mpath.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid manifest: {e}", mpath.display()))?;
        if manifest.manifest_version != MANIFEST_VERSION {
            return Err(format!(
                "{} has manifest version {}, this agentpolc reads version {MANIFEST_VERSION}; rebuild it",
                mpath.display(),
                manifest.manifest_version
            ));
        }
        let ipath = path.join(&manifest.ir);
        let itext = std::fs::read_to_string(&ipath)
            .map_err(|e| format!("cannot read {}: {e}", ipath.display()))?;
        let policy: Policy = serde_json::from_str(&itext)
            .map_err(|e| format!("{} is not a valid IR file: {e}", ipath.display()))?;
        if policy.ir_version != agentpol_core::ir::IR_VERSION {
            return Err(format!(
                "{} has IR version {}, this agentpolc reads version {}; rebuild it",
                ipath.display(),
                policy.ir_version,
                agentpol_core::ir::IR_VERSION
            ));
        }
        Ok(LoadedPolicy {
            policy,
            manifest: Some(manifest),
            dir: Some(path.to_path_buf()),
        })
    } else {
        let comp = crate::loader::compile_file(path)?;
        match comp.policy {
            Some(policy) => Ok(LoadedPolicy {
                policy,
                manifest: None,
                dir: None,
            }),
            None => {
                crate::output::print_human(
                    &comp.diagnostics,
                    &comp.sources,
                    crate::output::Level::Error,
                );
                Err(format!(
                    "{} has errors; fix them first (`agentpolc check`)",
                    path.display()
                ))
            }
        }
    }
}
