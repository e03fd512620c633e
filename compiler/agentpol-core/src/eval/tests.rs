//! Running a policy's `test` blocks (`agentpolc test`).
//!
//! Each `expect EFFECT REQUEST` goes through [`evaluate`](super::evaluate).
//! A request that cannot be decided fails its expectation even when `deny`
//! was expected: the fail-closed deny would otherwise hide a typo in the test
//! (an unknown tool, a missing argument) behind a passing result.

use super::{evaluate, location, rule_list, RequestError};
use crate::diag::{codes, Diag};
use crate::ir::{Effect, Policy, SourceRef};
use crate::request::Decision;

/// The result of one expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome {
    /// The `test` block's name.
    pub test: String,
    /// The `test` block.
    pub test_src: SourceRef,
    /// The `expect` line.
    pub src: SourceRef,
    /// The expected effect.
    pub expected: Effect,
    /// What the evaluator decided, or why it could not.
    pub actual: Result<Decision, RequestError>,
    /// The decision's effect equals the expected one.
    pub passed: bool,
}

impl TestOutcome {
    /// What was decided, in words: `allow`, or `an invalid request (AP0805)`.
    pub fn actual_text(&self) -> String {
        match &self.actual {
            Ok(d) => d.effect.to_string(),
            Err(e) => format!("an invalid request ({})", e.code.code),
        }
    }

    /// The diagnostic for a failed expectation (None if it passed): an error
    /// at the `expect` line, with the deciding rules as further labels.
    pub fn diag(&self, policy: &Policy) -> Option<Diag> {
        failure_diag(policy, self)
    }
}

/// Runs every expectation of every `test` block, in source order.
pub fn run_tests(policy: &Policy) -> Vec<TestOutcome> {
    let mut out = Vec::new();
    for case in &policy.tests {
        for expect in &case.expects {
            let actual = evaluate(policy, &expect.request);
            let passed = matches!(&actual, Ok(d) if d.effect == expect.effect);
            out.push(TestOutcome {
                test: case.name.clone(),
                test_src: case.src,
                src: expect.src,
                expected: expect.effect,
                actual,
                passed,
            });
        }
    }
    out
}

/// The `AP0850` diagnostic for a failed expectation; None if it passed.
pub fn failure_diag(policy: &Policy, outcome: &TestOutcome) -> Option<Diag> {
    if outcome.passed {
        return None;
    }
    let got = outcome.actual_text();
    let mut diag = Diag::error(
        &codes::TEST_EXPECTATION_FAILED,
        outcome.src.span,
        format!(
            "test \"{}\": expected {}, got {got}",
            outcome.test, outcome.expected
        ),
    )
    .label(format!("expected {}, got {got}", outcome.expected));
    match &outcome.actual {
        Ok(d) if !d.deciding.is_empty() => {
            for r in &d.deciding {
                diag = diag.with_label(
                    r.src.span,
                    format!("this {} rule of `{}` decided", r.effect, r.owner),
                );
            }
            let verb = match d.effect {
                Effect::Allow => "allowed",
                Effect::Ask => "sent to a human (ask)",
                Effect::Deny => "denied",
            };
            diag = diag.help(format!(
                "{verb} by {}; fix that rule or the expectation (deny > ask > allow, whatever the order)",
                rule_list(policy, &d.deciding)
            ));
        }
        Ok(d) => {
            diag = diag.help(format!(
                "{}; add a rule that matches, or fix the expectation",
                d.reason
            ));
        }
        Err(e) => {
            diag = diag
                .help(format!(
                    "the request cannot be decided: {} ({})",
                    e.message, e.help
                ))
                .note(format!(
                    "{} [{}] at {}",
                    e.code.summary,
                    e.code.code,
                    display_field(&e.field)
                ));
        }
    }
    Some(diag.note(format!(
        "in test \"{}\" at {}",
        outcome.test,
        location(policy, &outcome.test_src)
    )))
}

fn display_field(field: &str) -> &str {
    if field.is_empty() {
        "(the request)"
    } else {
        field
    }
}
