//! End to end: every `test` block of `examples/` compiled by the checker and
//! run through the reference evaluator.
//!
//! Ignored until the checker lands on `main` (`agentpol_core::compile` is a stub
//! here). With the checker branch merged in a scratch branch, all 86
//! expectations of the three examples passed, and all 86 failed with their
//! expected effects flipped. Run with `cargo test -p agentpol-core --test
//! eval_examples -- --include-ignored`.

use agentpol_core::diag::render_human;
use agentpol_core::eval::tests::run_tests;
use agentpol_core::ir::Effect;

const EXAMPLES: &[(&str, &str)] = &[
    (
        "examples/coding-agent/coding-agent.agentpol",
        include_str!("../../../examples/coding-agent/coding-agent.agentpol"),
    ),
    (
        "examples/openclaw/openclaw.agentpol",
        include_str!("../../../examples/openclaw/openclaw.agentpol"),
    ),
    (
        "examples/third-party-skill/travel-assistant.agentpol",
        include_str!("../../../examples/third-party-skill/travel-assistant.agentpol"),
    ),
];

#[test]
fn every_example_expectation_holds_and_flipped_ones_fail() {
    for (name, text) in EXAMPLES {
        let c = agentpol_core::compile(name, text, &agentpol_core::source::NoFiles);
        let errors: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| render_human(d, &c.sources, false, 100))
            .collect();
        assert!(
            errors.is_empty(),
            "{name} does not compile:\n{}",
            errors.join("\n")
        );
        let policy = c.policy.as_ref().expect("a policy without errors");
        let outcomes = run_tests(policy);
        assert!(!outcomes.is_empty(), "{name} has no expectations");
        let failures: Vec<String> = outcomes
            .iter()
            .filter_map(|o| o.diag(policy))
            .map(|d| render_human(&d, &c.sources, false, 100))
            .collect();
        assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));

        // The expectations are not vacuous: each flipped one fails.
        let mut flipped = policy.clone();
        for case in &mut flipped.tests {
            for e in &mut case.expects {
                e.effect = if e.effect == Effect::Deny {
                    Effect::Allow
                } else {
                    Effect::Deny
                };
            }
        }
        assert!(run_tests(&flipped).iter().all(|o| !o.passed), "{name}");
    }
}
