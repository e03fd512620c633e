//! The decision runtime of agentpol: one request validator and the engines
//! that need no backend.
//!
//! ```text
//! Request ──prepare (Catalog)──▶ Prepared ──▶ IndexEngine (the compiled decision index)
//!                                        └──▶ agentpol-cedar's CedarEngine
//! Request ──agentpol_core::eval──────────────▶ EvalEngine (the reference evaluator)
//!
//! every engine: DecisionEngine::decide(&Request) -> Result<Decision, RequestError>
//! ```
//!
//! * [`prepare()`]: validates a request against a [`Catalog`] (agents,
//!   skills, tools, params) and types its values; the index and the Cedar
//!   engine decide only [`Prepared`] requests, so both refuse exactly the
//!   same requests. The checks, limits and wording come from
//!   `agentpol_core::eval::request_check`, which the evaluator uses too.
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
pub use index::{describe, BuildError, IndexEngine};
pub use prepare::{owner_name, prepare, Catalog, Prepared};
