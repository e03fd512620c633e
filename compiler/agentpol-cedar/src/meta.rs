//! `agentpol-cedar.json`: what a caller needs besides the three Cedar files
//! to turn an agentpol request into Cedar requests and Cedar's answer back
//! into an agentpol decision (rule ids, owners, source positions, tool
//! signatures, params, secret variables).

use agentpol_core::backend::LossEntry;
use agentpol_core::ir::{
    Action, Effect, FileInfo, Matcher, ParamSig, Policy, RuleId, Scalar, SetOperand, SourceRef,
    Test, ToolSig,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the encoding (the files' shapes and the query protocol).
pub const ENCODING_VERSION: u32 = 1;

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
    /// Params each owner's rules read, per tool, in rule order: a request by
    /// that owner (or by one of the agent's skills) must bind them.
    pub required_params: BTreeMap<String, BTreeMap<String, Vec<String>>>,
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
        let mut rules = BTreeMap::new();
        let mut required: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        let mut secret_vars = BTreeSet::new();
        for (order, (who, rule)) in policy.all_rules().enumerate() {
            let owner = owner_name(who);
            rules.insert(
                rule.id.clone(),
                MetaRule {
                    order: u32::try_from(order).unwrap_or(u32::MAX),
                    owner: owner.clone(),
                    effect: rule.effect,
                    action: rule.action,
                    src: rule.src,
                },
            );
            if let Matcher::Tool { tool, conditions } = &rule.matcher {
                let read: Vec<String> = conditions
                    .iter()
                    .filter_map(|a| param_read(&a.test))
                    .filter(|p| policy.param(p).is_some())
                    .map(str::to_string)
                    .collect();
                for a in conditions {
                    if let Test::ContainsSecret { var, .. } = &a.test {
                        secret_vars.insert(var.clone());
                    }
                }
                if rule.action != Action::Call || read.is_empty() {
                    continue;
                }
                let tools: Vec<&str> = match tool {
                    Some(t) => vec![t.as_str()],
                    None => policy.tools.iter().map(|t| t.name.as_str()).collect(),
                };
                for t in tools {
                    let list = required
                        .entry(owner.clone())
                        .or_default()
                        .entry(t.to_string())
                        .or_default();
                    for p in &read {
                        if !list.contains(p) {
                            list.push(p.clone());
                        }
                    }
                }
            }
        }
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
            required_params: required,
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
            secret_vars,
            rules,
            loss: Vec::new(),
        }
    }

    /// `file:line:col` of a source position.
    pub fn location(&self, src: &SourceRef) -> String {
        let file = self
            .files
            .get(src.span.file.0 as usize)
            .map(|f| f.name.as_str())
            .unwrap_or("<unknown file>");
        format!("{file}:{}:{}", src.line, src.col)
    }
}

/// `agent` or `agent.skill`.
pub fn owner_name(p: agentpol_core::ir::Principal<'_>) -> String {
    match p {
        agentpol_core::ir::Principal::Agent(a) => a.to_string(),
        agentpol_core::ir::Principal::Skill(a, s) => format!("{a}.{s}"),
    }
}

/// The param a test reads, if any.
pub(crate) fn param_read(t: &Test) -> Option<&str> {
    match t {
        Test::Eq {
            rhs: Scalar::Param(p),
            ..
        }
        | Test::Cmp {
            rhs: Scalar::Param(p),
            ..
        }
        | Test::In {
            set: SetOperand::Param(p),
            ..
        } => Some(p),
        _ => None,
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
