//! The Cedar backend of agentpol: the emitter and the Cedar decision engine.
//!
//! ```text
//! IR ──encode──▶ schema.cedarschema + policies.cedar + entities.json + agentpol-cedar.json
//!                  │  (validated by cedar-policy in strict mode before they are handed out)
//!                  ▼
//!            CedarEngine: agentpol_decide::DecisionEngine
//! ```
//!
//! * [`emit`]: the `cedar` build target ([`TargetOutput`] with the four files
//!   and the loss report).
//! * [`CedarEngine`]: one of the three implementations of
//!   [`agentpol_decide::DecisionEngine`] that must agree (the index and the
//!   evaluator engine live in `agentpol-decide`); it validates requests
//!   with `agentpol_decide::prepare`, as the index does.
//!
//! The encoding, the query protocol for `ask`, the skill gates and every
//! approximation are documented in this crate's `README.md`.
//!
//! API boundary: reads only the checked IR (`agentpol_core::ir`) and requests.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cedar_engine;
pub mod codes;
mod encode;
mod glob;
pub mod meta;
pub mod names;
mod text;

pub use cedar_engine::{CedarEngine, CedarFiles, LoadError};
pub use encode::TARGET;

use agentpol_core::backend::{Artifact, TargetOutput};
use agentpol_core::diag::Diag;
use agentpol_core::ir::Policy;

/// File names of the target's artifacts.
pub mod files {
    /// The Cedar schema.
    pub const SCHEMA: &str = "schema.cedarschema";
    /// The Cedar policies.
    pub const POLICIES: &str = "policies.cedar";
    /// The static entities (agents, skills, tools).
    pub const ENTITIES: &str = "entities.json";
    /// The encoding metadata (rule map, tool signatures, loss report).
    pub const META: &str = "agentpol-cedar.json";
}

/// Every code this crate can emit.
pub fn all_codes() -> impl Iterator<Item = &'static agentpol_core::diag::CodeInfo> {
    codes::CEDAR_CODES.iter().copied()
}

/// Emits `policy` as Cedar, validated (strict) before it is returned.
///
/// On an error diagnostic (an ill-formed IR, or output Cedar rejects) the
/// output has no artifacts: nothing half-translated is ever written.
pub fn emit(policy: &Policy) -> TargetOutput {
    let (files, loss, diagnostics) = emit_files(policy);
    let artifacts = match files {
        Some(f) => vec![
            artifact(files::SCHEMA, f.schema),
            artifact(files::POLICIES, f.policies),
            artifact(files::ENTITIES, f.entities),
            artifact(files::META, f.meta),
        ],
        None => Vec::new(),
    };
    TargetOutput {
        target: TARGET.to_string(),
        artifacts,
        loss,
        diagnostics,
    }
}

fn artifact(path: &str, text: String) -> Artifact {
    Artifact {
        path: path.to_string(),
        contents: text.into_bytes(),
    }
}

/// The four files as text (None when there are errors), the loss report and
/// the diagnostics.
pub fn emit_files(
    policy: &Policy,
) -> (
    Option<CedarFiles>,
    Vec<agentpol_core::backend::LossEntry>,
    Vec<Diag>,
) {
    let enc = encode::encode(policy);
    let mut diags = enc.diags;
    let loss = enc.meta.loss.clone();
    if diags.iter().any(Diag::is_error) {
        return (None, loss, diags);
    }
    let pretty = |v: &serde_json::Value| {
        let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        s
    };
    let meta_json = serde_json::to_value(&enc.meta).unwrap_or(serde_json::Value::Null);
    let files = CedarFiles {
        schema: enc.schema,
        policies: enc.policies,
        entities: pretty(&enc.entities),
        meta: pretty(&meta_json),
    };
    if let Some(d) = check_files(policy, &files) {
        diags.push(d);
        return (None, loss, diags);
    }
    (Some(files), loss, diags)
}

/// Validates emitted files as `build` does (parse, strict validation,
/// entities against the schema, `@id` map); an `AP0601` error if they fail.
pub fn check_files(policy: &Policy, files: &CedarFiles) -> Option<Diag> {
    let e = CedarEngine::from_files(files).err()?;
    let span = policy
        .agents
        .first()
        .map(|a| a.src.span)
        .unwrap_or_default();
    Some(
        Diag::error(
            &codes::CEDAR_INVALID_OUTPUT,
            span,
            "the emitted Cedar does not pass Cedar's strict validation",
        )
        .label("while emitting Cedar for this policy")
        .help("this is a bug in agentpol's Cedar backend: report it with the policy; build the other targets meanwhile")
        .note(format!("{}: {}", e.what, e.message)),
    )
}

impl CedarFiles {
    /// The files among a target's artifacts, if all four are there.
    pub fn from_artifacts(artifacts: &[Artifact]) -> Option<CedarFiles> {
        let get = |name: &str| {
            artifacts
                .iter()
                .find(|a| a.path == name)
                .and_then(|a| String::from_utf8(a.contents.clone()).ok())
        };
        Some(CedarFiles {
            schema: get(files::SCHEMA)?,
            policies: get(files::POLICIES)?,
            entities: get(files::ENTITIES)?,
            meta: get(files::META)?,
        })
    }
}

impl CedarEngine {
    /// Emits `policy` and loads the result: the engine decides with exactly
    /// the files `build` would write.
    pub fn from_policy(policy: &Policy) -> Result<CedarEngine, Vec<Diag>> {
        let (files, _, diags) = emit_files(policy);
        match files {
            Some(f) => CedarEngine::from_files(&f).map_err(|e| {
                vec![Diag::error(
                    &codes::CEDAR_INVALID_OUTPUT,
                    policy
                        .agents
                        .first()
                        .map(|a| a.src.span)
                        .unwrap_or_default(),
                    e.to_string(),
                )]
            }),
            None => Err(diags),
        }
    }
}
