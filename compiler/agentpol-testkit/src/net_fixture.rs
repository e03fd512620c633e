//! Hand-built IR for tests (the checker is the only real producer of IR), and
//! a minimal net-only decision procedure used as the oracle until the
//! reference evaluator (`agentpol_core::eval::evaluate`) is implemented.
//!
//! Used by the firewall backend's tests, the runtime's and `agentpolc`'s
//! firewall tests.

use agentpol_core::ir::{
    Action, Agent, DomainPattern, Effect, FileInfo, Host, Matcher, Origin, Policy, PortRange,
    Proto, Rule, RuleId, Scope, SourceRef, IR_VERSION,
};
use agentpol_core::request::{Request, Resource};
use agentpol_core::source::SourceMap;
use agentpol_core::span::{FileId, Span};
use ipnet::IpNet;
use std::net::IpAddr;

/// A policy being built over one source text (spans point into it).
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The source text the spans refer to.
    pub text: String,
    /// The policy.
    pub policy: Policy,
}

impl Fixture {
    /// A policy with no agents over `text` (named `policy.agentpol`).
    pub fn new(text: &str) -> Fixture {
        Fixture {
            text: text.to_string(),
            policy: Policy {
                ir_version: IR_VERSION,
                files: vec![FileInfo {
                    name: "policy.agentpol".into(),
                    sha256: String::new(),
                }],
                agents: Vec::new(),
                tools: Vec::new(),
                params: Vec::new(),
                secrets: Vec::new(),
                assertions: Vec::new(),
                tests: Vec::new(),
            },
        }
    }

    /// The source map for rendering diagnostics.
    pub fn sources(&self) -> SourceMap {
        let mut m = SourceMap::new();
        m.add("policy.agentpol", self.text.clone());
        m
    }

    /// A source reference to the first occurrence of `needle` (or the start).
    pub fn at(&self, needle: &str) -> SourceRef {
        let start = self.text.find(needle).unwrap_or(0);
        let span = Span::new(
            FileId(0),
            start,
            start + needle.len().min(self.text.len() - start),
        );
        let before = &self.text[..start];
        let line = before.matches('\n').count() as u32 + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
        SourceRef { span, line, col }
    }

    /// Adds an agent whose declaration is at `needle`.
    pub fn agent(&mut self, name: &str, scope: Scope, needle: &str) -> &mut Agent {
        let src = self.at(needle);
        self.policy.agents.push(Agent {
            name: name.into(),
            home: None,
            scope,
            resolvers: Vec::new(),
            selector: None,
            rules: Vec::new(),
            skills: Vec::new(),
            src,
        });
        let last = self.policy.agents.len() - 1;
        &mut self.policy.agents[last]
    }
}

/// `agentpol/<name>`-style cgroup scope.
pub fn cgroup(path: &str) -> Scope {
    Scope::Cgroup { path: path.into() }
}

/// A host: `192.0.2.0/24`, `192.0.2.1`, `2001:db8::/32`, `api.example.com`, `*.example.com`.
pub fn host(s: &str) -> Host {
    if let Ok(n) = s.parse::<IpNet>() {
        return Host::Cidr(n);
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Host::Cidr(IpNet::from(a));
    }
    match s.strip_prefix("*.") {
        Some(rest) => Host::Domain(DomainPattern {
            name: rest.into(),
            wildcard: true,
        }),
        None => Host::Domain(DomainPattern {
            name: s.into(),
            wildcard: false,
        }),
    }
}

/// A net rule. `hosts`/`ports` empty = any. `id` is `<agent>/net/<id>`.
#[allow(clippy::too_many_arguments)]
pub fn net(
    f: &Fixture,
    agent: &str,
    id: &str,
    effect: Effect,
    action: Action,
    proto: Proto,
    hosts: &[&str],
    ports: &[(u16, u16)],
    needle: &str,
) -> Rule {
    Rule {
        id: RuleId(format!("{agent}/net/{id}")),
        effect,
        action,
        matcher: Matcher::Net {
            proto,
            hosts: (!hosts.is_empty()).then(|| hosts.iter().map(|h| host(h)).collect()),
            ports: (!ports.is_empty())
                .then(|| ports.iter().map(|&(lo, hi)| PortRange { lo, hi }).collect()),
        },
        src: f.at(needle),
        origin: Origin::default(),
    }
}

/// A net request by an agent.
pub fn request(agent: &str, action: Action, proto: Proto, addr: &str, port: u16) -> Request {
    Request {
        agent: agent.into(),
        skill: None,
        resource: Resource::Net {
            action,
            proto,
            addr: addr.parse().ok(),
            domain: None,
            port,
        },
    }
}

/// The oracle the firewall is tested against: the reference evaluator, with
/// a request it cannot decide counted as deny (fail closed).
pub fn decide(policy: &Policy, req: &Request) -> Effect {
    agentpol_core::eval::decide(policy, req).effect
}
