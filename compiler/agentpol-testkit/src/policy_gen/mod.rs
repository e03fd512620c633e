//! IR builders and random generators for the decision engines' tests and
//! benchmarks (differential tests of the evaluator, the index and Cedar).
//!
//! The checker is the only producer of IR in `agentpolc`. This module builds
//! IR by hand (globs and `like` patterns parsed by the checker's own
//! parsers) and generates random policies and requests from a seed, so the
//! engines can be compared on shapes the checker may never produce.
//!
//! One module a concern: [`build`] (hand-built IR and [`PolicyBuilder`]),
//! [`rng`] (the seeded PRNG and value pools), [`random_policy`],
//! [`random_requests`], and [`synthetic`] (benchmark policies and requests).
//! Everything is re-exported here, so callers name `policy_gen::X`.

pub mod build;
pub mod random_policy;
pub mod random_requests;
pub mod rng;
pub mod synthetic;

pub use build::*;
pub use random_policy::*;
pub use random_requests::*;
pub use rng::Rng;
pub use synthetic::*;
