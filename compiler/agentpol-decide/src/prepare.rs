//! The engines' side of request validation: a [`Catalog`] of the names a
//! request is checked against, built once from the IR (or from what
//! `agentpol-cedar.json` records), with hash lookups.
//!
//! The validator itself is core's (`agentpol_core::eval::validate`): the
//! reference evaluator runs the same [`prepare()`] with the policy as its
//! scope, so every engine refuses the same requests with the same code,
//! field and words, and decides the same [`Prepared`] form.

use agentpol_core::eval::location_in;
pub use agentpol_core::eval::validate::{
    param_read, ArgVal, Body, ParamRead, PathVal, Prepared, Scope, ToolCall, UrlVal,
};
use agentpol_core::eval::RequestError;
use agentpol_core::ir::{
    Action, FileInfo, Matcher, ParamSig, ParamType, Policy, Principal, SourceRef, Test, ToolSig,
};
use agentpol_core::request::Request;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The facts of a policy that request validation needs, as plain data: what
/// `agentpol-cedar.json` records next to the Cedar files, or what
/// [`CatalogParts::of`] reads from the IR.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogParts {
    /// Source files (indexed by `SourceRef.file`), for rule locations.
    pub files: Vec<FileInfo>,
    /// Agents, each with its skills' names, in policy order.
    pub agents: Vec<(String, Vec<String>)>,
    /// Tool signatures.
    pub tools: Vec<ToolSig>,
    /// Param declarations.
    pub params: Vec<ParamSig>,
    /// Params each owner's rules read, per tool, in rule order, each with
    /// the first rule that reads it: a request by that owner (or by one of
    /// the agent's skills) must bind them.
    pub required_params: BTreeMap<String, BTreeMap<String, Vec<ParamRead>>>,
    /// Environment variables some `ContainsSecret` test reads.
    pub secret_vars: BTreeSet<String>,
}

impl CatalogParts {
    /// The parts of `policy`.
    pub fn of(policy: &Policy) -> CatalogParts {
        let mut required: BTreeMap<String, BTreeMap<String, Vec<ParamRead>>> = BTreeMap::new();
        let mut secret_vars = BTreeSet::new();
        for (who, rule) in policy.all_rules() {
            let Matcher::Tool { tool, conditions } = &rule.matcher else {
                continue;
            };
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
            let owner = owner_name(who);
            for t in tools {
                let list = required
                    .entry(owner.clone())
                    .or_default()
                    .entry(t.to_string())
                    .or_default();
                for p in &read {
                    if !list.iter().any(|r| &r.param == p) {
                        list.push(ParamRead {
                            param: p.clone(),
                            rule: rule.id.clone(),
                            src: rule.src,
                        });
                    }
                }
            }
        }
        CatalogParts {
            files: policy.files.clone(),
            agents: policy
                .agents
                .iter()
                .map(|a| {
                    (
                        a.name.clone(),
                        a.skills.iter().map(|s| s.name.clone()).collect(),
                    )
                })
                .collect(),
            tools: policy.tools.clone(),
            params: policy.params.clone(),
            required_params: required,
            secret_vars,
        }
    }
}

/// `agent` or `agent.skill`: how rules' owners are named in decisions.
pub fn owner_name(p: Principal<'_>) -> String {
    match p {
        Principal::Agent(a) => a.to_string(),
        Principal::Skill(a, s) => format!("{a}.{s}"),
    }
}

/// [`CatalogParts`] with lookup tables: what [`prepare()`] validates against.
#[derive(Clone, Debug)]
pub struct Catalog {
    parts: CatalogParts,
    agents: HashMap<String, (usize, HashMap<String, usize>)>,
    tools: HashMap<String, usize>,
    params: HashMap<String, ParamType>,
    /// Params to bind, by (agent, skill, tool) index.
    required: HashMap<(usize, Option<usize>, usize), Vec<ParamRead>>,
}

impl Catalog {
    /// The catalog of `policy`.
    pub fn of(policy: &Policy) -> Catalog {
        Catalog::new(CatalogParts::of(policy))
    }

    /// Builds the lookup tables over `parts`.
    pub fn new(parts: CatalogParts) -> Catalog {
        let agents = parts
            .agents
            .iter()
            .enumerate()
            .map(|(i, (name, skills))| {
                let skills = skills
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (s.clone(), j))
                    .collect();
                (name.clone(), (i, skills))
            })
            .collect();
        let tools = parts
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let params = parts
            .params
            .iter()
            .map(|p| (p.name.clone(), p.ty))
            .collect();
        let mut owner_names = HashMap::new();
        for (i, (name, skills)) in parts.agents.iter().enumerate() {
            owner_names.insert((i, None), name.clone());
            for (j, s) in skills.iter().enumerate() {
                owner_names.insert((i, Some(j)), format!("{name}.{s}"));
            }
        }
        let tool_ix: HashMap<&str, usize> = parts
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut required = HashMap::new();
        for ((a, s), name) in &owner_names {
            for (tool, list) in parts.required_params.get(name).into_iter().flatten() {
                if let Some(t) = tool_ix.get(tool.as_str()) {
                    required.insert((*a, *s, *t), list.clone());
                }
            }
        }
        Catalog {
            parts,
            agents,
            tools,
            params,
            required,
        }
    }

    /// The facts the catalog was built from.
    pub fn parts(&self) -> &CatalogParts {
        &self.parts
    }

    /// The tool with index `i` (as in [`Body::Tool`]).
    pub fn tool(&self, i: usize) -> Option<&ToolSig> {
        self.parts.tools.get(i)
    }

    /// `file:line:col` of a source position.
    pub fn location(&self, src: &SourceRef) -> String {
        location_in(&self.parts.files, src)
    }
}

/// The engines' scope: the catalog's hash maps.
impl Scope for Catalog {
    fn agent(&self, name: &str) -> Option<usize> {
        self.agents.get(name).map(|(i, _)| *i)
    }

    fn agent_names(&self) -> Vec<&str> {
        self.parts.agents.iter().map(|(a, _)| a.as_str()).collect()
    }

    fn skill(&self, agent: usize, name: &str) -> Option<usize> {
        let (a, _) = self.parts.agents.get(agent)?;
        self.agents.get(a)?.1.get(name).copied()
    }

    fn skill_names(&self, agent: usize) -> Vec<&str> {
        self.parts
            .agents
            .get(agent)
            .map(|(_, skills)| skills.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn tool(&self, name: &str) -> Option<(usize, &ToolSig)> {
        let i = *self.tools.get(name)?;
        Some((i, self.parts.tools.get(i)?))
    }

    fn tool_names(&self) -> Vec<&str> {
        self.parts.tools.iter().map(|t| t.name.as_str()).collect()
    }

    fn param(&self, name: &str) -> Option<ParamType> {
        self.params.get(name).copied()
    }

    fn param_names(&self) -> Vec<&str> {
        self.parts.params.iter().map(|p| p.name.as_str()).collect()
    }

    fn first_unbound(
        &self,
        agent: usize,
        skill: Option<usize>,
        tool: usize,
        is_bound: &dyn Fn(&str) -> bool,
    ) -> Option<ParamRead> {
        let sides = [Some((agent, None)), skill.map(|s| (agent, Some(s)))];
        sides
            .into_iter()
            .flatten()
            .filter_map(|(a, s)| self.required.get(&(a, s, tool)))
            .flatten()
            .find(|r| !is_bound(&r.param))
            .cloned()
    }

    fn location(&self, src: &SourceRef) -> String {
        Catalog::location(self, src)
    }
}

/// Validates `req` against the catalog (core's validator, with the
/// catalog as its scope).
pub fn prepare<'r>(cat: &'r Catalog, req: &'r Request) -> Result<Prepared<'r>, RequestError> {
    agentpol_core::eval::validate::prepare(cat, req)
}
