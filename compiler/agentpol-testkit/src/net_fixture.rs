//! Hand-built IR for tests (the checker is the only real producer of IR), and
//! a minimal net-only decision procedure used as the oracle until the
//! reference evaluator (`agentpol_core::eval::evaluate`) is implemented.
//!
//! Used by the firewall backend's tests, the runtime's and `agentpolc`'s
//! firewall tests.

use agentpol_core::ir::{
    Action, Agent, DomainPattern, Effect, Host, Matcher, Origin, Policy, PortRange, Proto, Rule,
    RuleId, Scope, SourceRef,
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
            policy: crate::ir_build::empty_policy("policy.agentpol"),
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

/// A small deterministic generator (xorshift), so failures reproduce.
pub struct Rng(pub u64);
impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// One of `xs`.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next_u64() % xs.len() as u64) as usize]
    }
    /// True `pct` percent of the time.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }
}

/// Destinations the generated rules pick from: nested and disjoint
/// networks of both families, loopback, an IPv4-mapped network, an exact
/// name (`api.example.com`, resolved by the firewall tests' options), a
/// wildcard and a name nobody resolves.
pub const HOSTS: &[&str] = &[
    "192.0.2.0/24",
    "192.0.2.0/25",
    "192.0.2.64/26",
    "192.0.2.7",
    "192.0.2.255",
    "198.51.100.0/24",
    "198.51.100.128/25",
    "0.0.0.0/0",
    "127.0.0.1",
    "2001:db8::/32",
    "2001:db8::/64",
    "2001:db8::1",
    "2001:db8:0:1::/64",
    "::1",
    "::/0",
    "::ffff:192.0.2.0/120",
    "api.example.com",
    "*.example.com",
    "unresolved.example",
];
/// Port ranges the generated rules pick from (overlapping and adjacent).
pub const PORTS: &[(u16, u16)] = &[
    (1, 1),
    (53, 53),
    (80, 80),
    (443, 443),
    (8000, 8080),
    (8080, 8090),
    (1, 1024),
    (65535, 65535),
    (5000, 5010),
];

/// A random net policy of 1–2 agents whose cgroups live under `base` (the
/// second sometimes scoped by uid 1001, or nested in the first's cgroup).
/// Denies never name the wildcard or the unresolved name: a wildcard deny is
/// an error (AP0708) and a deny of an unresolved name is refused by `apply`
/// (AP0717), so neither is ever loaded.
pub fn random_policy(rng: &mut Rng, base: &str, n: usize) -> Fixture {
    let mut f = Fixture::new("agent a {}\nagent b {}\n");
    let agents = 1 + (rng.next_u64() % 2) as usize;
    for i in 0..agents {
        let name = ["a", "b"][i];
        let scope = if i == 1 && rng.chance(40) {
            Scope::Uid { uid: 1001 }
        } else if i == 1 && rng.chance(50) {
            // Nested in agent a's cgroup: its processes are in both scopes.
            cgroup(&format!("{base}/p{n}a/b"))
        } else {
            cgroup(&format!("{base}/p{n}{name}"))
        };
        let mut rules = Vec::new();
        for k in 0..(1 + rng.next_u64() % 8) {
            let effect = if rng.chance(30) {
                Effect::Deny
            } else {
                Effect::Allow
            };
            let action = *rng.pick(&[
                Action::Connect,
                Action::Connect,
                Action::Sendto,
                Action::Listen,
            ]);
            let proto = *rng.pick(&[Proto::Tcp, Proto::Udp, Proto::Any]);
            let hosts: Vec<&str> = if rng.chance(20) {
                vec![]
            } else {
                (0..1 + rng.next_u64() % 3)
                    .map(|_| *rng.pick(HOSTS))
                    .collect()
            };
            // A deny naming a wildcard would deny every address (AP0708, no
            // ruleset), and one naming an unresolved host makes `apply`
            // refuse (AP0717): neither is ever loaded, so neither is validated.
            let hosts: Vec<&str> = if effect == Effect::Deny {
                hosts
                    .into_iter()
                    .filter(|h| *h != "*.example.com" && *h != "unresolved.example")
                    .collect()
            } else {
                hosts
            };
            if effect == Effect::Deny && hosts.is_empty() && !rng.chance(20) {
                continue;
            }
            let ports: Vec<(u16, u16)> = if rng.chance(25) {
                vec![]
            } else {
                (0..1 + rng.next_u64() % 3)
                    .map(|_| *rng.pick(PORTS))
                    .collect()
            };
            rules.push(net(
                &f,
                name,
                &format!("r{k}"),
                effect,
                action,
                proto,
                &hosts,
                &ports,
                &format!("agent {name}"),
            ));
        }
        let a = f.agent(name, scope, &format!("agent {name}"));
        a.rules = rules;
        if rng.chance(40) {
            a.resolvers = vec![(*rng.pick(&["192.0.2.7", "2001:db8::1", "198.51.100.1"]))
                .parse()
                .unwrap()];
        }
    }
    f
}
