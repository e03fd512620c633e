//! `DIR/manifest.json`: what `build` wrote, read back by runtime commands.
//!
//! Versioned by [`MANIFEST_VERSION`]; documented in `lang-spec/build-output.md`.
//! The manifest records the SHA-256 of every artefact, and [`load_policy`]
//! verifies all of them before anything in the directory is used: an edited
//! `ir/policy.json` would otherwise decide differently from the Cedar policy
//! built next to it.

use agentpol_core::backend::LossEntry;
use agentpol_core::ir::{FileInfo, Policy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 2;

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
    /// Per agent: which targets enforce each kind of rule.
    pub enforcement: Vec<crate::enforcement::AgentEnforcement>,
    /// Every file written besides the manifest, with its hash (sorted by path).
    pub artifacts: Vec<ArtifactHash>,
}

/// One file of a build directory and its content hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactHash {
    /// Path relative to the manifest's directory, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the contents.
    pub sha256: String,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    agentpol_core::source::hex(&Sha256::digest(bytes))
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
    /// Expectations that failed (computed by running the tests).
    pub failed: usize,
    /// False when `build --no-tests` skipped them (`failed` is then 0 unchecked).
    pub ran: bool,
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

/// Reads a build directory's manifest and checks its version.
fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let mpath = dir.join("manifest.json");
    let text = crate::loader::read_text(&mpath, crate::loader::MAX_ARTIFACT_BYTES)
        .map_err(|e| format!("{e} (run `agentpolc build -o DIR` first)"))?;
    // The version is read on its own first so an old manifest gets "rebuild it"
    // rather than a missing-field message.
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("manifest_version").and_then(|n| n.as_u64()));
    if let Some(v) = version.filter(|v| *v != u64::from(MANIFEST_VERSION)) {
        return Err(format!(
            "[AP0905] {} has manifest version {v}, this agentpolc reads version {MANIFEST_VERSION}; rebuild it",
            mpath.display(),
        ));
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("[AP0905] {} is not a valid manifest: {e}", mpath.display()))
}

/// Reads one artefact of a verified build directory, checking its hash again
/// (the file may have changed since [`load_policy`] verified it).
pub fn read_artifact(dir: &Path, manifest: &Manifest, rel: &str) -> Result<Vec<u8>, String> {
    let entry = manifest
        .artifacts
        .iter()
        .find(|a| a.path == rel)
        .ok_or_else(|| {
            format!(
                "[AP0904] {}: {rel} is not listed in the manifest; rebuild the directory",
                dir.display()
            )
        })?;
    let p = dir.join(rel);
    let bytes = crate::loader::read_bytes(&p, crate::loader::MAX_ARTIFACT_BYTES)
        .map_err(|e| e.to_string())?;
    let actual = sha256(&bytes);
    if actual != entry.sha256 {
        return Err(format!(
            "[AP0904] {} was changed after the build (sha256 {actual}, manifest says {}); rebuild the directory",
            p.display(),
            entry.sha256
        ));
    }
    Ok(bytes)
}

/// Checks that every artefact the manifest lists (and every target file and
/// the IR) is present with the recorded hash.
pub fn verify_artifacts(dir: &Path, manifest: &Manifest) -> Result<(), String> {
    let mut needed: Vec<String> = vec![manifest.ir.clone()];
    for t in &manifest.targets {
        needed.extend(t.files.iter().map(|f| format!("{}/{f}", t.dir)));
    }
    for n in &needed {
        if !manifest.artifacts.iter().any(|a| &a.path == n) {
            return Err(format!(
                "[AP0904] {}: {n} has no hash in the manifest; rebuild the directory",
                dir.display()
            ));
        }
    }
    for a in &manifest.artifacts {
        read_artifact(dir, manifest, &a.path)?;
    }
    Ok(())
}

/// Loads `--policy DIR|FILE`: a directory must hold `manifest.json` (from `build -o`);
/// a file is compiled on the spot. Errors are messages for exit code 2 (or 1 for a
/// policy with errors, which the caller reports).
pub fn load_policy(path: &Path) -> Result<LoadedPolicy, String> {
    if path.is_dir() {
        let manifest = read_manifest(path)?;
        verify_artifacts(path, &manifest)?;
        let ipath = path.join(&manifest.ir);
        let itext = read_artifact(path, &manifest, &manifest.ir)?;
        let policy: Policy = serde_json::from_slice(&itext)
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
        let comp = crate::loader::compile_file(path).map_err(|e| e.to_string())?;
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
