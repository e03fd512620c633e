//! Build directories as `agentpolc build -o DIR` writes them, assembled from
//! hand-built IR: `ir/policy.json`, any target files, and a manifest (version
//! 2) whose artefact hashes are real, so runtime commands accept the
//! directory exactly as they accept a built one.

use agentpol_core::ir::Policy;
use serde_json::{json, Value};
use sha2::Digest;
use std::path::Path;

/// The manifest version this kit writes (`lang-spec/build-output.md`).
pub const MANIFEST_VERSION: u32 = 2;

/// One target's files for [`write`].
pub struct Target {
    /// Target name (`cedar`, `nft`, ...).
    pub name: String,
    /// Its files: path relative to the target directory, contents.
    pub files: Vec<(String, Vec<u8>)>,
    /// The manifest's `loss` list for it.
    pub loss: Value,
}

/// Writes `policy` and `targets` under `dir` with a matching manifest.
pub fn write(dir: &Path, policy: &Policy, targets: &[Target]) {
    std::fs::create_dir_all(dir.join("ir")).unwrap();
    std::fs::write(
        dir.join("ir/policy.json"),
        serde_json::to_vec_pretty(policy).unwrap(),
    )
    .unwrap();
    let mut entries = vec![
        json!({"name": "ir", "dir": "ir", "files": ["policy.json"], "lossless": true, "loss": []}),
    ];
    for t in targets {
        std::fs::create_dir_all(dir.join(&t.name)).unwrap();
        for (path, bytes) in &t.files {
            std::fs::write(dir.join(&t.name).join(path), bytes).unwrap();
        }
        let lossless = t.loss.as_array().is_none_or(|l| l.is_empty());
        entries.push(json!({
            "name": t.name, "dir": t.name,
            "files": t.files.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
            "lossless": lossless, "loss": t.loss,
        }));
    }
    let manifest = json!({
        "manifest_version": MANIFEST_VERSION,
        "agentpolc_version": "test",
        "ir_version": agentpol_core::ir::IR_VERSION,
        "source": {
            "root": policy.files.first().map(|f| f.name.as_str()).unwrap_or(""),
            "files": policy.files,
            "sha256": "",
        },
        "ir": "ir/policy.json",
        "targets": entries,
        "verifier": {"status": "not-run", "detail": "", "errors": 0, "warnings": 0, "unknown": 0},
        "tests": {"expectations": 0, "failed": 0, "ran": false},
        "enforcement": [],
        "artifacts": [],
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    rehash(dir);
}

/// Recomputes the manifest's artefact hashes after a test edited a file on
/// purpose (to reach a check behind the integrity check).
pub fn rehash(dir: &Path) {
    let path = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut artifacts = Vec::new();
    for t in m["targets"].as_array().unwrap() {
        let tdir = t["dir"].as_str().unwrap();
        for f in t["files"].as_array().unwrap() {
            let rel = format!("{tdir}/{}", f.as_str().unwrap());
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            let sha = agentpol_core::source::hex(&sha2::Sha256::digest(&bytes));
            artifacts.push(json!({"path": rel, "bytes": bytes.len(), "sha256": sha}));
        }
    }
    artifacts.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    m["artifacts"] = Value::Array(artifacts);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}
