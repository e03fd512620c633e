//! The registry of `build --target` backends and of every diagnostic code.
//!
//! Each backend is a pure function from the IR to an
//! [`agentpol_core::backend::TargetOutput`]; this is the one place that knows them all.

use agentpol_core::backend::TargetOutput;
use agentpol_core::diag::CodeInfo;
use agentpol_core::ir::Policy;

/// Targets `build --target` accepts (`ir` is always written).
pub const TARGETS: &[&str] = &["ir", "cedar", "nft", "iptables"];

/// Runs one backend. `None` for an unknown target name.
pub fn emit(target: &str, policy: &Policy) -> Option<TargetOutput> {
    match target {
        "ir" => Some(ir_target(policy)),
        "cedar" => Some(agentpol_cedar::emit(policy)),
        "nft" => Some(agentpol_firewall::emit_nft(policy, &build_options())),
        "iptables" => Some(agentpol_firewall::emit_iptables(policy, &build_options())),
        _ => None,
    }
}

/// Options for `build --target nft|iptables`: a pure function of the flags
/// (none yet), never of the build host. The cgroup2 root is `/sys/fs/cgroup`
/// itself; `apply` re-emits from the IR with the root it finds on the host it
/// loads on. No domain is resolved here (see the firewall crate's docs).
pub fn build_options() -> agentpol_firewall::Options {
    agentpol_firewall::Options::default()
}

fn ir_target(policy: &Policy) -> TargetOutput {
    let json = serde_json::to_vec_pretty(policy).unwrap_or_default();
    TargetOutput {
        target: "ir".into(),
        artifacts: vec![agentpol_core::backend::Artifact {
            path: "policy.json".into(),
            contents: json,
        }],
        loss: Vec::new(),
        diagnostics: Vec::new(),
    }
}

/// Every registered diagnostic code, from the core and every backend.
pub fn all_codes() -> Vec<&'static CodeInfo> {
    agentpol_core::diag::codes::all()
        .chain(agentpol_cedar::all_codes())
        .chain(agentpol_firewall::FIREWALL_CODES.iter().copied())
        .chain(agentpol_runtime::RUNTIME_CODES.iter().copied())
        .chain(agentpol_verify::VERIFY_CODES.iter().copied())
        .chain(crate::codes::CLI_CODES.iter().copied())
        .collect()
}
