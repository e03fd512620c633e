//! The bundled examples, compiled by the checker: Cedar output validates,
//! every `test` expectation holds in all three engines, and 10,000 generated
//! requests per example (`AGENTPOL_DIFF_CASES`) get the same answers from
//! Cedar, the index and the evaluator.

mod common;

use agentpol_cedar::{emit, CedarEngine};
use agentpol_core::diag::render_human;
use agentpol_core::ir::{Effect, Policy};
use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};
use agentpol_testkit::policy_gen::random_requests;
use common::diff::{check, env_or, lossy_pairs, touches_loss};

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

fn compile(name: &str, text: &str) -> Policy {
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
    c.policy
        .unwrap_or_else(|| panic!("{name}: no policy (is agentpol_core::compile still a stub?)"))
}

#[test]
fn examples_emit_valid_cedar_and_pass_their_tests_in_every_engine() {
    for (name, text) in EXAMPLES {
        let policy = compile(name, text);
        let out = emit(&policy);
        let errors: Vec<&str> = out
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.as_str())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(out.artifacts.len(), 4, "{name}");
        eprintln!(
            "{name}: {} rules, {} loss entries",
            policy.all_rules().count(),
            out.loss.len()
        );

        let cedar = CedarEngine::from_policy(&policy).expect("cedar");
        let index = IndexEngine::new(&policy).expect("index");
        let eval = EvalEngine::new(policy.clone());
        let lossy = lossy_pairs(&cedar);
        let mut n = 0;
        for case in &policy.tests {
            for e in &case.expects {
                n += 1;
                for engine in [&cedar as &dyn DecisionEngine, &index, &eval] {
                    let got = engine.decide_or_deny(&e.request).effect;
                    if engine.name() == "cedar" && touches_loss(&lossy, &e.request) {
                        assert!(
                            got >= e.effect,
                            "{name} test {:?} line {}: cedar {got} is laxer than {}",
                            case.name,
                            e.src.line,
                            e.effect
                        );
                    } else {
                        assert_eq!(
                            got,
                            e.effect,
                            "{name} test {:?} line {}: {} decided {got}",
                            case.name,
                            e.src.line,
                            engine.name()
                        );
                    }
                }
            }
        }
        assert!(n > 0, "{name} has no expectations");
        let _ = Effect::Allow;
    }
}

#[test]
fn examples_differential() {
    let cases = env_or("AGENTPOL_DIFF_CASES", 10_000, 10_000);
    for (i, (name, text)) in EXAMPLES.iter().enumerate() {
        let policy = compile(name, text);
        let reqs = random_requests(&policy, 1000 + i as u64, cases);
        let (decided, refused, one_way) = check(&policy, &reqs);
        eprintln!("{name}: {cases} requests: decided {decided}, refused {refused}, checked one way {one_way}");
        let effects = reqs
            .iter()
            .filter_map(|r| agentpol_core::eval::evaluate(&policy, r).ok())
            .fold([0usize; 3], |mut acc, d| {
                acc[d.effect as usize] += 1;
                acc
            });
        eprintln!(
            "  allow {}, ask {}, deny {}",
            effects[0], effects[1], effects[2]
        );
        assert!(
            effects[0] > 0 && effects[2] > 0,
            "{name}: the requests must reach both allow and deny"
        );
    }
}
