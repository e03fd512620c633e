//! The shipped examples and every std module compile without errors, and
//! their IR has the shape the sources promise.

use agentpol::diag::render_human;
use agentpol::source::NoFiles;
use agentpol::Compilation;

fn compile_file(path: &str) -> Compilation {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    agentpol::compile(path, &text, &NoFiles)
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
    for (path, _, _) in agentpol::stdlib::MODULES {
        let text = format!("import std::{path}\n");
        let c = agentpol::compile("root.agentpol", &text, &NoFiles);
        assert_clean(&c);
    }
}

#[test]
#[ignore]
fn dump_openclaw() {
    let c = compile_file(
        std::env::var("DUMP")
            .as_deref()
            .unwrap_or("examples/openclaw/openclaw.agentpol"),
    );
    println!("{}", serde_json::to_string_pretty(&c.policy).unwrap());
}

#[test]
#[ignore]
fn gen_check() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let text = agentpol::check::testgen::generate_policy(n);
    let t = std::time::Instant::now();
    let parsed = agentpol::syntax::parse(agentpol::span::FileId(0), &text);
    println!("parse {:?} ({} items)", t.elapsed(), parsed.ast.items.len());
    let t = std::time::Instant::now();
    let c = agentpol::compile("gen.agentpol", &text, &NoFiles);
    println!("{} bytes, {:?}", text.len(), t.elapsed());
    println!("{}", rendered(&c).chars().take(5000).collect::<String>());
    let p = c.policy.unwrap();
    println!("rules {}", p.all_rules().count());
}
