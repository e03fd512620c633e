//! Test support shared by the workspace's tests and benchmarks: IR builders,
//! request generators and fixtures. Only ever a dev-dependency, so no
//! production crate ships test helpers.

pub mod build_dir;
#[cfg(feature = "dns")]
pub mod dns_script;
pub mod ir_build;
pub mod net_fixture;
pub mod policy_gen;
pub mod verify_build;
#[cfg(feature = "verify")]
pub mod verify_gen;
