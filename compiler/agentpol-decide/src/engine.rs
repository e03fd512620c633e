//! One interface, three decision engines.
//!
//! * [`EvalEngine`]: the reference evaluator over the IR (the oracle).
//! * [`crate::IndexEngine`]: the compiled decision index (the fast path).
//! * `agentpol_cedar::CedarEngine`: Cedar's `Authorizer` on the emitted files.
//!
//! All three refuse a request they cannot interpret with a
//! [`RequestError`]; [`DecisionEngine::decide_or_deny`] turns that into the
//! fail-closed deny every enforcer should act on.

use agentpol_core::eval::RequestError;
use agentpol_core::ir::{Effect, Policy};
use agentpol_core::request::{Decision, Request};

/// Something that decides requests.
pub trait DecisionEngine {
    /// `cedar`, `eval` or `index`.
    fn name(&self) -> &'static str;

    /// The decision, or why the request cannot be decided (then: deny).
    fn decide(&self, request: &Request) -> Result<Decision, RequestError>;

    /// The decision, with a request error turned into a deny naming it.
    fn decide_or_deny(&self, request: &Request) -> Decision {
        match self.decide(request) {
            Ok(d) => d,
            Err(e) => error_decision(&e),
        }
    }
}

/// The fail-closed deny for a request error.
pub fn error_decision(e: &RequestError) -> Decision {
    let at = if e.field.is_empty() {
        String::new()
    } else {
        format!(" at {}", e.field)
    };
    Decision {
        effect: Effect::Deny,
        deciding: Vec::new(),
        matched: Vec::new(),
        reason: format!(
            "denied (fail closed): the request cannot be decided: {} [{}{at}]",
            e.message, e.code.code
        ),
    }
}

/// The reference evaluator behind the [`DecisionEngine`] interface.
#[derive(Clone, Debug)]
pub struct EvalEngine {
    policy: Policy,
}

impl EvalEngine {
    /// An engine for `policy`.
    pub fn new(policy: Policy) -> EvalEngine {
        EvalEngine { policy }
    }
}

impl DecisionEngine for EvalEngine {
    fn name(&self) -> &'static str {
        "eval"
    }

    fn decide(&self, request: &Request) -> Result<Decision, RequestError> {
        agentpol_core::eval::evaluate(&self.policy, request)
    }
}

/// How a reason names the deciding rules' effect ("allowed by r1 (...)"):
/// every engine words its reasons alike.
pub fn verb(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allowed by",
        Effect::Ask => "needs a human's approval: ask by",
        Effect::Deny => "denied by",
    }
}
