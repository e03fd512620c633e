//! Test support shared by the workspace's tests and benchmarks: IR builders,
//! request generators and fixtures. Only ever a dev-dependency, so no
//! production crate ships test helpers.

pub mod build_dir;
pub mod net_fixture;
pub mod policy_gen;
pub mod verify_build;
pub mod verify_gen;
