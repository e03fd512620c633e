//! Helpers shared by agentpol-core's integration tests, and specific to them
//! (general IR and request builders live in `agentpol-testkit`):
//!
//! * [`check`]: compiling multi-file fixtures and rendering their
//!   diagnostics, for the checker tests (`check_*.rs`);
//! * [`syntax`]: parsing one file and dumping trees with their spans, for
//!   the syntax and formatter tests;
//! * [`gen`]: large generated policy texts (also the `parse` bench's input).
#![allow(dead_code)]

pub mod check;
pub mod gen;
pub mod syntax;
