//! Every `agentpol` code block in `lang-spec/` and the README compiles cleanly,
//! so the reference never shows syntax that does not work.

use std::path::PathBuf;

fn blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```agentpol" => current = Some((i + 1, String::new())),
            Some(_) if line.trim_start() == "```" => out.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_agentpol_block_in_the_docs_compiles() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("lang-spec"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.push(root.join("README.md"));
    docs.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap_or_default();
        for (line, block) in blocks(&text) {
            let name = format!("{}:{line}", doc.display());
            let c = agentpol_core::compile(&name, &block, &agentpol_core::source::NoFiles);
            checked += 1;
            let errors: Vec<String> = c
                .diagnostics
                .iter()
                .filter(|d| d.is_error() || d.severity == agentpol_core::diag::Severity::Warning)
                .map(|d| agentpol_core::diag::render_human(d, &c.sources, false, 100))
                .collect();
            if !errors.is_empty() {
                failures.push(format!("{name}\n{}", errors.join("")));
            }
            // Test blocks in the docs must hold, too.
            if let Some(p) = &c.policy {
                for o in agentpol_core::eval::tests::run_tests(p) {
                    if !o.passed {
                        failures.push(format!(
                            "{name}: test {:?} line {} failed",
                            o.test, o.src.line
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 15, "only {checked} blocks found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
