//! The index against the evaluator, without Cedar: the whole decision
//! (effect, rule lists, reason) or the same error (code, field, message and
//! help) must come out, because both validate with core's one validator and
//! the index only narrows which rules it looks at.
//!
//! The three-engine differential test (with Cedar) is in `agentpol-cedar`.

use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};
use agentpol_testkit::policy_gen::{random_policy, random_requests};

#[test]
fn index_and_evaluator_agree_on_random_policies() {
    let (mut decided, mut refused) = (0usize, 0usize);
    for seed in 100..104u64 {
        let policy = random_policy(seed, 5 + (seed as usize * 11) % 60);
        let index = IndexEngine::new(&policy).expect("the index builds");
        let eval = EvalEngine::new(policy.clone());
        for req in random_requests(&policy, seed ^ 0x5eed, 3_000) {
            let shown = serde_json::to_string(&req).unwrap_or_default();
            match (index.decide(&req), eval.decide(&req)) {
                (Ok(i), Ok(e)) => {
                    assert_eq!(i, e, "decisions differ for {shown}");
                    decided += 1;
                }
                (Err(i), Err(e)) => {
                    assert_eq!(i, e, "errors differ for {shown}");
                    refused += 1;
                }
                (i, e) => panic!(
                    "one engine decided, the other refused {shown}:\n index: {i:?}\n eval: {e:?}"
                ),
            }
        }
    }
    assert!(
        decided > 0 && refused > 0,
        "decided {decided}, refused {refused}"
    );
}

#[test]
fn a_request_error_is_a_fail_closed_deny() {
    let policy = random_policy(7, 10);
    let index = IndexEngine::new(&policy).expect("the index builds");
    let req: agentpol_core::request::Request = serde_json::from_value(serde_json::json!({
        "agent": "no-such-agent", "kind": "env", "var": "HOME"
    }))
    .expect("a well-formed request");
    let d = index.decide_or_deny(&req);
    assert_eq!(d.effect, agentpol_core::ir::Effect::Deny);
    assert!(d.reason.starts_with("denied (fail closed)"), "{}", d.reason);
    assert!(d.reason.contains("AP0802"), "{}", d.reason);
}

/// An unbound param (AP0808) is reported alike by the index and the
/// evaluator: the same rule named, so the same fail-closed reason.
#[test]
fn an_unbound_param_is_worded_alike() {
    use agentpol_core::ir::{ArgType, ParamType, SetOperand, Test};
    use agentpol_testkit::policy_gen::{arg, atom, tool, PolicyBuilder, Who};
    let mut b = PolicyBuilder::new("test.agentpol");
    b.tool("send", &[("to", ArgType::String)])
        .param("payees", ParamType::SetString)
        .agent("a");
    b.rule(
        Who::Agent("a"),
        agentpol_core::ir::Effect::Allow,
        agentpol_core::ir::Action::Call,
        tool(
            "send",
            vec![atom(
                false,
                Test::In {
                    lhs: arg("to"),
                    set: SetOperand::Param("payees".into()),
                },
            )],
        ),
    );
    let policy = b.build();
    let req: agentpol_core::request::Request = serde_json::from_value(serde_json::json!({
        "agent": "a", "kind": "tool", "tool": "send", "args": {"to": "x"}
    }))
    .expect("a well-formed request");
    let index = IndexEngine::new(&policy).expect("the index builds");
    let eval = EvalEngine::new(policy);
    let (i, e) = (index.decide(&req), eval.decide(&req));
    let (Err(i), Err(e)) = (&i, &e) else {
        panic!("both must refuse: index {i:?}, eval {e:?}");
    };
    assert_eq!(i.code.code, "AP0808");
    assert_eq!(i, e);
    assert!(i.message.contains("but rule "), "{}", i.message);
    assert_eq!(
        index.decide_or_deny(&req).reason,
        eval.decide_or_deny(&req).reason
    );
}
