//! What every backend (Cedar, firewall, eBPF, Landlock) hands back to `build`.
//!
//! Backends are pure functions from the IR to [`TargetOutput`]: files to write,
//! a loss report, and diagnostics. The `agentpolc` binary writes the files under
//! `DIR/<target>/` and records the loss report in `DIR/manifest.json`, where
//! `run`/`apply` read it (fail closed: a lossy target is refused unless the user
//! accepted its approximations).

use crate::diag::Diag;
use crate::ir::{RuleId, SourceRef};
use serde::{Deserialize, Serialize};

/// One emitted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the target's directory, e.g. `policies.cedar`.
    pub path: String,
    /// Its bytes.
    pub contents: Vec<u8>,
}

/// How a target approximated a rule it cannot express exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approximation {
    /// An allow was made narrower: some requests the source allows are denied here.
    AllowNarrowed,
    /// A deny (or ask) was made wider: it refuses (or asks about) more than the source.
    DenyWidened,
    /// This layer enforces only part of the rule; the rest binds at another layer
    /// (e.g. exec argument patterns at the tool layer). Sound only together with that layer.
    EnforcedElsewhere,
}

/// One entry of a loss report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossEntry {
    /// The target, e.g. `cedar`, `nft`.
    pub target: String,
    /// The rule affected.
    pub rule: RuleId,
    /// Where it was written.
    pub src: SourceRef,
    /// How it was approximated.
    pub approximation: Approximation,
    /// What exactly could not be expressed, and what was emitted instead.
    pub reason: String,
    /// For `EnforcedElsewhere`: the layer that must enforce the rest (`tool`, `kernel`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforced_by: Option<String>,
}

/// Everything a backend produced for one target.
#[derive(Clone, Debug, Default)]
pub struct TargetOutput {
    /// Target name (`cedar`, `nft`, `iptables`, `bpf`, `landlock`).
    pub target: String,
    /// Files to write under `DIR/<target>/`.
    pub artifacts: Vec<Artifact>,
    /// Approximations made.
    pub loss: Vec<LossEntry>,
    /// Errors (the build fails) and warnings.
    pub diagnostics: Vec<Diag>,
}
