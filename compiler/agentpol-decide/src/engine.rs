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
pub use agentpol_core::eval::{error_decision, verb};
use agentpol_core::ir::Policy;
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
