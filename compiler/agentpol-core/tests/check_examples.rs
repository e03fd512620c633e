//! The shipped examples and every std module compile without errors, and
//! their IR has the shape the sources promise.

use agentpol_core::diag::render_human;
use agentpol_core::source::NoFiles;
use agentpol_core::Compilation;

fn compile_file(path: &str) -> Compilation {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    agentpol_core::compile(path, &text, &NoFiles)
}

fn rendered(c: &Compilation) -> String {
    c.diagnostics
        .iter()
        .map(|d| render_human(d, &c.sources, false, 100))
        .collect()
}

fn assert_clean(c: &Compilation) {
    assert!(c.diagnostics.is_empty(), "{}", rendered(c));
    assert!(c.policy.is_some());
}

#[test]
fn examples_compile_cleanly() {
    for path in [
        "examples/coding-agent/coding-agent.agentpol",
        "examples/openclaw/openclaw.agentpol",
        "examples/third-party-skill/travel-assistant.agentpol",
    ] {
        let c = compile_file(path);
        assert_clean(&c);
    }
}

#[test]
fn std_modules_compile_cleanly() {
    for (path, _, _) in agentpol_core::stdlib::MODULES {
        let text = format!("import std::{path}\n");
        let c = agentpol_core::compile("root.agentpol", &text, &NoFiles);
        assert_clean(&c);
    }
}

#[test]
fn example_tests_and_assertions_are_lowered() {
    let c = compile_file("examples/openclaw/openclaw.agentpol");
    let text = &c.sources.files()[0].text;
    let p = c.policy.unwrap();
    let expects: usize = p.tests.iter().map(|t| t.expects.len()).sum();
    assert_eq!(p.tests.len(), text.matches("\ntest ").count());
    assert_eq!(expects, text.matches("\n  expect ").count());
    // No assertion there uses `~` with `*`, so each is one IR assertion.
    assert_eq!(p.assertions.len(), text.matches("\nassert ").count());
    // Every std secret and param is in the IR with its qualified name.
    assert!(p.secrets.iter().any(|s| s.name == "std::secrets::ssh"));
    assert!(p.param("std::openclaw::contacts").is_some());
    // The baseline's rules reach the agent through the include chain.
    let a = p.agent("assistant").unwrap();
    assert!(a.rules.iter().any(|r| r.origin.via.len() == 2
        && r.origin.via[0].profile == "std::openclaw::baseline"
        && r.origin.via[1].profile == "std::system::base"));
}

/// End to end: the examples' own `test` blocks, lowered by the checker, pass
/// in the reference evaluator.
#[test]
fn example_tests_pass_in_the_reference_evaluator() {
    for path in [
        "examples/coding-agent/coding-agent.agentpol",
        "examples/openclaw/openclaw.agentpol",
        "examples/third-party-skill/travel-assistant.agentpol",
    ] {
        let p = compile_file(path).policy.unwrap();
        let outcomes = agentpol_core::eval::tests::run_tests(&p);
        assert!(!outcomes.is_empty());
        let failed: Vec<String> = outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| {
                format!(
                    "{path}:{}: expected {}, got {}",
                    o.src.line,
                    o.expected,
                    o.actual_text()
                )
            })
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }
}
