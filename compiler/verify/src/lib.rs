//! agentpol verifier (work in progress).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod automata;
pub mod build;
mod paths;
mod strings;

#[cfg(test)]
mod testutil {
    pub(crate) use crate::build::glob;
}
