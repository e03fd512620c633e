//! Helpers shared by the checker tests (`check_*.rs`).
#![allow(dead_code)]

use agentpol_core::diag::render_human;
use agentpol_core::source::MemoryLoader;
use agentpol_core::Compilation;

/// Compiles a fixture: one or more files separated by `//- NAME` lines (the
/// first file is the root; without a header it is `root.agentpol`).
pub fn compile_fixture(fixture: &str) -> Compilation {
    let files = split_fixture(fixture);
    let mut loader = MemoryLoader::default();
    for (name, text) in &files {
        loader.files.insert(name.clone(), text.clone());
    }
    let (root_name, root_text) = files.first().cloned().unwrap_or_default();
    agentpol_core::compile(&root_name, &root_text, &loader)
}

/// The files of a fixture, in order.
pub fn split_fixture(fixture: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in fixture.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("//- ") {
            files.push((name.trim().to_string(), String::new()));
        } else {
            if files.is_empty() {
                files.push(("root.agentpol".to_string(), String::new()));
            }
            if let Some(last) = files.last_mut() {
                last.1.push_str(line);
            }
        }
    }
    files
}

/// Every diagnostic, rendered as the CLI prints it (no colour, width 100).
pub fn rendered(c: &Compilation) -> String {
    let mut out = String::new();
    for d in &c.diagnostics {
        out.push_str(&render_human(d, &c.sources, false, 100));
        out.push('\n');
    }
    out
}

/// The codes of all diagnostics, in order.
pub fn codes(c: &Compilation) -> Vec<&'static str> {
    c.diagnostics.iter().map(|d| d.code.code).collect()
}

/// Compiles a fixture that must have no diagnostics at all; returns the IR.
pub fn clean(fixture: &str) -> agentpol_core::ir::Policy {
    let c = compile_fixture(fixture);
    assert!(
        c.diagnostics.is_empty(),
        "unexpected diagnostics:\n{}",
        rendered(&c)
    );
    match c.policy {
        Some(p) => p,
        None => panic!("no policy although there are no diagnostics"),
    }
}
