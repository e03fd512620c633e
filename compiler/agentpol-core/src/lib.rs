//! The agentpol language core: one `.agentpol` source in, a checked IR out.
//!
//! ```text
//! source ──logos──▶ tokens ──lalrpop──▶ AST ──resolve──▶ names ──check──▶ IR ──▶ eval / verifier / backends
//! ```
//!
//! * [`syntax`]: lexer, parser and AST (parsing never fails: a tree plus diagnostics).
//! * [`format`]: the comment-preserving formatter behind `agentpolc fmt`.
//! * [`check`]: module loading, name resolution, type checking and lowering to [`ir`].
//! * [`ir`]: the checked IR, the API boundary every later stage reads.
//! * [`eval`]: the reference evaluator over the IR, the oracle for every backend.
//! * [`request`]: requests and decisions.
//! * [`vocab`]: the words the IR and requests share (kinds, actions, effects,
//!   rule ids), so that neither module depends on the other's internals.
//! * [`diag`]: diagnostics with stable codes.
//! * [`analysis`]: plain-data editor queries (definition, references, hover, outline, completion).
//! * [`approx`]: path globs approximated soundly for enforcers that hold only
//!   exact paths and directory trees (Landlock, BPF maps, KubeArmor).
//! * [`source`]: source files and their [`source::LineIndex`] (byte offsets ↔
//!   line/column in bytes, UTF-16 units and characters).
//!
//! Architecture invariant: this crate does no IO. Files come through a
//! [`source::Loader`]; the standard library is compiled in ([`stdlib`]).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod analysis;
pub mod approx;
pub mod backend;
pub mod check;
pub mod diag;
pub mod eval;
pub mod format;
pub mod ir;
pub mod request;
pub mod source;
pub mod span;
pub mod stdlib;
pub mod syntax;
pub mod vocab;

pub use check::{compile, Compilation};
