//! Reading policy files from disk for the (IO-free) compiler.

use agentpol_core::source::Loader;
use std::path::{Path, PathBuf};

/// Resolves `import "x.agentpol"` relative to the importing file's directory.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load_file(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full: PathBuf = base.join(path);
        let name = full.to_string_lossy().into_owned();
        std::fs::read_to_string(&full)
            .map(|text| (name.clone(), text))
            .map_err(|e| format!("cannot read {name}: {e}"))
    }
}

/// Reads a policy source file, mapping IO errors to a message for exit code 2.
pub fn read_source(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Compiles the policy at `path`.
pub fn compile_file(path: &Path) -> Result<agentpol_core::Compilation, String> {
    let text = read_source(path)?;
    Ok(agentpol_core::compile(
        &path.to_string_lossy(),
        &text,
        &FsLoader,
    ))
}
