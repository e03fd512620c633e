//! The checked IR of every bundled example, as insta snapshots: any change to
//! the language core, the standard library or an example that changes what a
//! policy means shows up here for review (`cargo insta review`).

fn ir_of(path: &str) -> agentpol_core::ir::Policy {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap();
    let c = agentpol_core::compile(path, &text, &agentpol_core::source::NoFiles);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .map(|d| agentpol_core::diag::render_human(d, &c.sources, false, 100))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join(""));
    c.policy.expect("no errors, so a policy")
}

#[test]
fn openclaw_ir() {
    insta::assert_json_snapshot!(ir_of("examples/openclaw/openclaw.agentpol"));
}

#[test]
fn coding_agent_ir() {
    insta::assert_json_snapshot!(ir_of("examples/coding-agent/coding-agent.agentpol"));
}

#[test]
fn travel_assistant_ir() {
    insta::assert_json_snapshot!(ir_of(
        "examples/third-party-skill/travel-assistant.agentpol"
    ));
}
