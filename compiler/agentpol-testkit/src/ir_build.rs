//! Hand-built IR and requests, one function a rule or request: the
//! evaluator's tests build their policies with these (they must not depend
//! on the checker), and so can any other engine's tests.
//!
//! Globs, `like` patterns, domains and plain operands come from
//! [`crate::policy_gen`] (one parser each: the checker's).

use agentpol_core::ir::*;
use agentpol_core::request::{Request, Resource};
use agentpol_core::span::{FileId, Span};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::policy_gen::{arg, domain, glob, like, url_part};

/// A domain pattern: `api.github.com` or `*.github.com`.
pub fn domain_pat(text: &str) -> DomainPattern {
    match text.strip_prefix("*.") {
        Some(rest) => DomainPattern {
            name: rest.to_string(),
            wildcard: true,
        },
        None => DomainPattern {
            name: text.to_string(),
            wildcard: false,
        },
    }
}

/// A CIDR host (panics on a malformed one).
pub fn cidr(text: &str) -> Host {
    Host::Cidr(text.parse().expect("test CIDR"))
}

/// A source position in file 0 at `line:col`.
pub fn src(line: u32, col: u32) -> SourceRef {
    SourceRef {
        span: Span {
            file: FileId(0),
            start: 0,
            end: 0,
        },
        line,
        col,
    }
}

/// A rule with a source line derived from its id.
pub fn rule(id: &str, effect: Effect, action: Action, matcher: Matcher) -> Rule {
    // A distinct, deterministic line per id keeps reasons readable in snapshots.
    let line = id.bytes().map(u32::from).sum::<u32>() % 97 + 1;
    Rule {
        id: RuleId(id.to_string()),
        effect,
        action,
        matcher,
        src: src(line, 5),
        origin: Origin::default(),
    }
}

/// An fs rule over `globs`.
pub fn fs(id: &str, effect: Effect, action: Action, globs: &[&str]) -> Rule {
    rule(
        id,
        effect,
        action,
        Matcher::Fs {
            globs: globs.iter().map(|g| glob(g)).collect(),
        },
    )
}

/// An exec rule: `binaries`, and an argument pattern (`like` items, `..` rest).
pub fn exec(id: &str, effect: Effect, binaries: &[&str], args: Option<(&[&str], bool)>) -> Rule {
    rule(
        id,
        effect,
        Action::Exec,
        Matcher::Exec {
            binaries: binaries.iter().map(|g| glob(g)).collect(),
            args: args.map(|(items, rest)| ArgsPattern {
                items: items.iter().map(|p| like(p)).collect(),
                rest,
            }),
        },
    )
}

/// A net rule.
pub fn net(
    id: &str,
    effect: Effect,
    action: Action,
    proto: Proto,
    hosts: Option<Vec<Host>>,
    ports: Option<Vec<(u16, u16)>>,
) -> Rule {
    rule(
        id,
        effect,
        action,
        Matcher::Net {
            proto,
            hosts,
            ports: ports.map(|ps| {
                ps.into_iter()
                    .map(|(lo, hi)| PortRange { lo, hi })
                    .collect()
            }),
        },
    )
}

/// A tool rule (`None`: any tool).
pub fn tool_rule(id: &str, effect: Effect, tool: Option<&str>, conditions: Vec<Atom>) -> Rule {
    rule(
        id,
        effect,
        Action::Call,
        Matcher::Tool {
            tool: tool.map(str::to_string),
            conditions,
        },
    )
}

/// An env rule over `vars`.
pub fn env_rule(id: &str, effect: Effect, vars: &[&str]) -> Rule {
    rule(
        id,
        effect,
        Action::ReadEnv,
        Matcher::Env {
            vars: vars.iter().map(|v| v.to_string()).collect(),
        },
    )
}

/// A positive atom.
pub fn atom(test: Test) -> Atom {
    Atom {
        negated: false,
        test,
    }
}

/// A negated atom.
pub fn not(test: Test) -> Atom {
    Atom {
        negated: true,
        test,
    }
}

/// A string value.
pub fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// A literal set operand.
pub fn set(items: &[Value]) -> SetOperand {
    SetOperand::Lit(items.iter().cloned().collect::<BTreeSet<_>>())
}

/// A tool signature.
pub fn tool_sig(name: &str, args: &[(&str, ArgType)]) -> ToolSig {
    ToolSig {
        name: name.to_string(),
        args: args
            .iter()
            .map(|(n, ty)| ArgSig {
                name: n.to_string(),
                ty: *ty,
                secret: false,
            })
            .collect(),
        labels: Vec::new(),
        src: src(1, 1),
    }
}

/// A param declaration.
pub fn param_sig(name: &str, ty: ParamType) -> ParamSig {
    ParamSig {
        name: name.to_string(),
        ty,
        src: src(1, 1),
    }
}

/// A skill with its rules.
pub fn skill(name: &str, rules: Vec<Rule>) -> Skill {
    Skill {
        name: name.to_string(),
        rules,
        src: src(1, 1),
    }
}

/// An agent (home `/home/agent`) with its rules and skills.
pub fn agent(name: &str, rules: Vec<Rule>, skills: Vec<Skill>) -> Agent {
    Agent {
        name: name.to_string(),
        home: Some("/home/agent".into()),
        scope: Scope::Cgroup {
            path: format!("agentpol/{name}"),
        },
        resolvers: Vec::new(),
        selector: None,
        rules,
        skills,
        src: src(1, 1),
    }
}

/// A policy of `agents` from one file, `test.agentpol`.
pub fn policy(agents: Vec<Agent>) -> Policy {
    Policy {
        agents,
        ..empty_policy("test.agentpol")
    }
}

/// A policy with nothing in it, from one file named `file` (no hash).
pub fn empty_policy(file: &str) -> Policy {
    Policy {
        ir_version: IR_VERSION,
        files: vec![FileInfo {
            name: file.to_string(),
            sha256: String::new(),
        }],
        agents: Vec::new(),
        tools: Vec::new(),
        params: Vec::new(),
        secrets: Vec::new(),
        assertions: Vec::new(),
        tests: Vec::new(),
    }
}

/// A one-agent policy (agent `a`).
pub fn one_agent(rules: Vec<Rule>) -> Policy {
    policy(vec![agent("a", rules, Vec::new())])
}

/// An fs request.
pub fn fs_req(agent: &str, action: Action, path: &str) -> Request {
    Request {
        agent: agent.into(),
        skill: None,
        resource: Resource::Fs {
            action,
            path: path.into(),
        },
    }
}

/// The request, made by skill `skill`.
pub fn skill_req(mut r: Request, skill: &str) -> Request {
    r.skill = Some(skill.into());
    r
}

/// An exec request.
pub fn exec_req(agent: &str, path: &str, args: &[&str]) -> Request {
    Request {
        agent: agent.into(),
        skill: None,
        resource: Resource::Exec {
            path: path.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        },
    }
}

/// A net request (`addr` parsed; panics on a malformed one).
pub fn net_req(
    agent: &str,
    action: Action,
    proto: Proto,
    addr: Option<&str>,
    domain: Option<&str>,
    port: u16,
) -> Request {
    Request {
        agent: agent.into(),
        skill: None,
        resource: Resource::Net {
            action,
            proto,
            addr: addr.map(|a| a.parse().expect("test address")),
            domain: domain.map(str::to_string),
            port,
        },
    }
}

/// A tool request; `args` and `params` are JSON objects.
pub fn tool_req(
    agent: &str,
    tool: &str,
    args: serde_json::Value,
    params: serde_json::Value,
) -> Request {
    let to_map = |v: serde_json::Value| -> BTreeMap<String, serde_json::Value> {
        v.as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    Request {
        agent: agent.into(),
        skill: None,
        resource: Resource::Tool {
            tool: tool.into(),
            args: to_map(args),
            params: to_map(params),
            tainted: Vec::new(),
            secrets: BTreeMap::new(),
        },
    }
}

/// An env request.
pub fn env_req(agent: &str, var: &str) -> Request {
    Request {
        agent: agent.into(),
        skill: None,
        resource: Resource::Env { var: var.into() },
    }
}

/// The effect, panicking with the error if the request was not decidable.
pub fn effect(p: &Policy, r: &Request) -> Effect {
    match agentpol_core::eval::evaluate(p, r) {
        Ok(d) => d.effect,
        Err(e) => panic!("request error:\n{e}"),
    }
}

/// Ids of the deciding rules.
pub fn deciding(p: &Policy, r: &Request) -> Vec<String> {
    agentpol_core::eval::evaluate(p, r)
        .expect("decidable")
        .deciding
        .iter()
        .map(|m| m.id.0.clone())
        .collect()
}

/// The error code of an undecidable request.
pub fn error_code(p: &Policy, r: &Request) -> &'static str {
    match agentpol_core::eval::evaluate(p, r) {
        Ok(d) => panic!("expected a request error, got {d:?}"),
        Err(e) => e.code.code,
    }
}
