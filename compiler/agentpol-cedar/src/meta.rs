//! `agentpol-cedar.json`: what a caller needs besides the three Cedar files
//! to turn an agentpol request into Cedar requests and Cedar's answer back
//! into an agentpol decision (rule ids, owners, source positions, tool
//! signatures, params, secret variables).

use agentpol_core::backend::LossEntry;
use agentpol_core::ir::{
    Action, Effect, FileInfo, Matcher, ParamSig, Policy, RuleId, SourceRef, ToolSig,
};
use agentpol_decide::prepare::{owner_name, param_read, CatalogParts, ParamRead};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the encoding (the files' shapes and the query protocol).
/// 2: `required_params` entries name the first rule that reads the param
/// (so an unbound param is reported alike by every engine).
pub const ENCODING_VERSION: u32 = 2;

/// The metadata file written next to the Cedar files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Always [`ENCODING_VERSION`].
    pub encoding_version: u32,
    /// The Cedar namespace.
    pub namespace: String,
    /// Segments exposed as `seg.sI` / `rseg.sI`.
    pub max_segments: usize,
    /// Exec arguments exposed as `argv.aI`.
    pub max_args: usize,
    /// Source files (indexed by `SourceRef.file`).
    pub files: Vec<FileInfo>,
    /// Agents and their skills.
    pub agents: Vec<MetaAgent>,
    /// Tool signatures.
    pub tools: Vec<ToolSig>,
    /// Param declarations.
    pub params: Vec<ParamSig>,
    /// Params each owner's rules read, per tool, in rule order, each with
    /// the first rule that reads it: a request by that owner (or by one of
    /// the agent's skills) must bind them.
    pub required_params: BTreeMap<String, BTreeMap<String, Vec<ParamRead>>>,
    /// Params in each tool action's Cedar context (read by some rule of any
    /// owner); the caller fills the ones its own owners do not read with a
    /// neutral value.
    pub context_params: BTreeMap<String, Vec<String>>,
    /// Environment variables some `ContainsSecret` test reads.
    pub secret_vars: BTreeSet<String>,
    /// Every IR rule, by id.
    pub rules: BTreeMap<RuleId, MetaRule>,
    /// What the encoding approximated.
    pub loss: Vec<LossEntry>,
}

/// An agent and its skills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaAgent {
    /// The agent's name.
    pub name: String,
    /// Its skills' names.
    pub skills: Vec<String>,
}

/// One IR rule as the engines report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaRule {
    /// Position in rule order (each agent's rules, then each of its skills').
    pub order: u32,
    /// `agent` or `agent.skill`.
    pub owner: String,
    /// Its effect.
    pub effect: Effect,
    /// Its action.
    pub action: Action,
    /// Where it was written.
    pub src: SourceRef,
}

impl Meta {
    /// The metadata of `policy` (without loss entries).
    pub fn of(policy: &Policy) -> Meta {
        let rules = policy
            .all_rules()
            .enumerate()
            .map(|(order, (who, rule))| {
                (
                    rule.id.clone(),
                    MetaRule {
                        order: u32::try_from(order).unwrap_or(u32::MAX),
                        owner: owner_name(who),
                        effect: rule.effect,
                        action: rule.action,
                        src: rule.src,
                    },
                )
            })
            .collect();
        // What request validation needs is computed once, by the decide
        // crate, so the Cedar engine and the index validate alike.
        let parts = CatalogParts::of(policy);
        Meta {
            encoding_version: ENCODING_VERSION,
            namespace: crate::names::NAMESPACE.to_string(),
            max_segments: crate::names::MAX_SEGMENTS,
            max_args: crate::names::MAX_ARGS,
            files: policy.files.clone(),
            agents: policy
                .agents
                .iter()
                .map(|a| MetaAgent {
                    name: a.name.clone(),
                    skills: a.skills.iter().map(|s| s.name.clone()).collect(),
                })
                .collect(),
            tools: policy.tools.clone(),
            params: policy.params.clone(),
            required_params: parts.required_params,
            context_params: policy
                .tools
                .iter()
                .map(|t| {
                    (
                        t.name.clone(),
                        tool_params(policy, &t.name).into_iter().collect(),
                    )
                })
                .collect(),
            secret_vars: parts.secret_vars,
            rules,
            loss: Vec::new(),
        }
    }

    /// What request validation needs, for [`agentpol_decide::Catalog`].
    pub fn catalog_parts(&self) -> CatalogParts {
        CatalogParts {
            files: self.files.clone(),
            agents: self
                .agents
                .iter()
                .map(|a| (a.name.clone(), a.skills.clone()))
                .collect(),
            tools: self.tools.clone(),
            params: self.params.clone(),
            required_params: self.required_params.clone(),
            secret_vars: self.secret_vars.clone(),
        }
    }
}

/// Params read by any rule (of any owner) that applies to calls of `tool`.
pub(crate) fn tool_params(policy: &Policy, tool: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, rule) in policy.all_rules() {
        if let Matcher::Tool {
            tool: t,
            conditions,
        } = &rule.matcher
        {
            if rule.action != Action::Call || t.as_deref().is_some_and(|t| t != tool) {
                continue;
            }
            for a in conditions {
                if let Some(p) = param_read(&a.test) {
                    if policy.param(p).is_some() {
                        out.insert(p.to_string());
                    }
                }
            }
        }
    }
    out
}
