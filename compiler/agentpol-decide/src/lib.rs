//! Decisions at run time: one request parser and validator, the
//! `DecisionEngine` trait, the reference-evaluator engine and the compiled
//! decision index. Used by `authorize`, the MCP gate and `run` without pulling
//! in `cedar-policy`.
//!
//! API boundary: reads only the checked IR (`agentpol_core::ir`) and requests.
