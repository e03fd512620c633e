//! The decision runtime of agentpol: one request validator and the engines
//! that need no backend.
//!
//! ```text
//! Request ──prepare (core's validator, Catalog as scope)──▶ Prepared ──▶ IndexEngine (the compiled decision index)
//!                                                                  └──▶ agentpol-cedar's CedarEngine
//! Request ──agentpol_core::eval (the same validator, Policy as scope)──▶ EvalEngine (the reference evaluator)
//!
//! every engine: DecisionEngine::decide(&Request) -> Result<Decision, RequestError>
//! ```
//!
//! * [`prepare()`]: validates a request against a [`Catalog`] (agents,
//!   skills, tools, params, built once, with hash lookups) and types its
//!   values. The validator is core's `agentpol_core::eval::validate`, which
//!   the evaluator runs with the policy as its scope: one validator, one
//!   [`Prepared`] form, so every engine refuses exactly the same requests
//!   with the same words.
//! * [`DecisionEngine`]: one interface; [`EvalEngine`] and [`IndexEngine`]
//!   here, `CedarEngine` in `agentpol-cedar`.
//!
//! This crate depends on core only, so the gate and `run` decide without
//! linking `cedar-policy`.
//!
//! API boundary: reads only the checked IR (`agentpol_core::ir`) and requests.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod engine;
mod index;
pub mod prepare;

pub use engine::{error_decision, verb, DecisionEngine, EvalEngine};
pub use index::{BuildError, IndexEngine};
pub use prepare::{owner_name, prepare, Catalog, Prepared};
