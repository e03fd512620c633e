//! The MCP tool-call gate behind `agentpolc gate`.
//!
//! ```text
//! MCP client ──stdin──▶ ┌──────────────┐ ──stdin──▶ MCP server
//!  (the agent)          │  Gate        │            (its tools)
//!            ◀─stdout── │  decide, ask,│ ◀─stdout──
//!                       │  taint, log  │
//!                       └──────────────┘
//! ```
//!
//! Every `tools/call` is decided by the policy's decision engine (the same
//! answers as Cedar and the reference evaluator); every other method that
//! moves data is decided as a *method tool* ([`mapping`]); lifecycle messages
//! pass. Values seen in the results of `untrusted` tools taint later
//! arguments ([`taint`]). Each decision is one JSON line in the log
//! ([`audit`]). The protocol logic is the IO-free [`Gate`]; [`run`] adds the
//! pipes, the server process, timers, the control file and SIGHUP.
//!
//! Architecture invariant: nothing reaches the server unpoliced; a message
//! the gate cannot read unambiguously is answered with a JSON-RPC error.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod approve;
pub mod audit;
mod gate;
pub mod jsonrpc;
pub mod mapping;
pub mod run;
pub mod taint;

pub use gate::{Config, Gate, Loaded, Out};
