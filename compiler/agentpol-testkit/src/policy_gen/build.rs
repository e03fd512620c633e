//! Hand-built IR: a glob and `like` from their text, operands, atoms,
//! matchers, hosts, and [`PolicyBuilder`], which builds a policy rule by rule.

use agentpol_core::ir::*;
use agentpol_core::span::{FileId, Span};

/// A glob from canonical text (`/a/**/*.pem`, `/x/[a-c]?`, `\*` escapes),
/// parsed by the checker's own glob parser. Panics on a pattern the language
/// rejects: that is a bug in the caller's hand-written IR.
#[allow(clippy::panic)]
pub fn glob(pattern: &str) -> Glob {
    agentpol_core::check::glob::parse_glob(pattern)
        .unwrap_or_else(|e| panic!("bad test glob {pattern:?}: {}", e.message))
}

/// A Cedar `like` pattern from its text (`\*` a literal star, `\\` a
/// literal backslash), parsed by the checker's own parser. Panics on a
/// pattern the language rejects: that is a bug in the caller's hand-written IR.
#[allow(clippy::panic)]
pub fn like(pattern: &str) -> LikePattern {
    agentpol_core::check::misc::parse_like(pattern)
        .unwrap_or_else(|e| panic!("bad test like pattern {pattern:?}: {}", e.message))
}

/// A plain argument operand.
pub fn arg(name: &str) -> Operand {
    Operand {
        arg: name.to_string(),
        field: None,
    }
}

/// A URL part operand.
pub fn url_part(name: &str, field: UrlField) -> Operand {
    Operand {
        arg: name.to_string(),
        field: Some(field),
    }
}

/// An atom.
pub fn atom(negated: bool, test: Test) -> Atom {
    Atom { negated, test }
}

/// Builds a [`Policy`] rule by rule.
#[derive(Clone, Debug)]
pub struct PolicyBuilder {
    policy: Policy,
    next: u32,
    /// Source text that spans point into (see [`PolicyBuilder::at`]).
    text: Option<String>,
    cursor: usize,
    pinned: Option<SourceRef>,
}

/// Who owns a rule being added.
#[derive(Clone, Copy, Debug)]
pub enum Who<'a> {
    /// An agent.
    Agent(&'a str),
    /// A skill of an agent.
    Skill(&'a str, &'a str),
}

impl PolicyBuilder {
    /// An empty policy from one file.
    pub fn new(file: &str) -> PolicyBuilder {
        PolicyBuilder {
            policy: crate::ir_build::empty_policy(file),
            next: 0,
            text: None,
            cursor: 0,
            pinned: None,
        }
    }

    /// A policy whose spans point into `text` (file `file`): call
    /// [`PolicyBuilder::at`] before adding an item to place it.
    pub fn with_source(file: &str, text: &str) -> PolicyBuilder {
        let mut b = PolicyBuilder::new(file);
        b.text = Some(text.to_string());
        b
    }

    /// The next item added gets the span of the first occurrence of
    /// `needle` at or after the previous one (so a walk through the text
    /// in order finds each line).
    pub fn at(&mut self, needle: &str) -> &mut Self {
        if let Some(text) = &self.text {
            let from = self.cursor.min(text.len());
            if let Some(off) = text.get(from..).and_then(|t| t.find(needle)) {
                let start = from + off;
                let before = text.get(..start).unwrap_or("");
                let line = before.matches('\n').count() as u32 + 1;
                let col = (start - before.rfind('\n').map(|i| i + 1).unwrap_or(0)) as u32 + 1;
                self.cursor = start;
                self.pinned = Some(SourceRef {
                    span: Span {
                        file: FileId(0),
                        start: start as u32,
                        end: (start + needle.len()) as u32,
                    },
                    line,
                    col,
                });
            }
        }
        self
    }

    fn src(&mut self) -> SourceRef {
        self.next += 1;
        if let Some(s) = self.pinned {
            return s;
        }
        SourceRef {
            span: Span {
                file: FileId(0),
                start: self.next * 10,
                end: self.next * 10 + 5,
            },
            line: self.next,
            col: 3,
        }
    }

    /// Declares a tool.
    pub fn tool(&mut self, name: &str, args: &[(&str, ArgType)]) -> &mut Self {
        let src = self.src();
        self.policy.tools.push(ToolSig {
            name: name.to_string(),
            args: args
                .iter()
                .map(|(n, t)| ArgSig {
                    name: n.to_string(),
                    ty: *t,
                    secret: false,
                })
                .collect(),
            labels: Vec::new(),
            src,
        });
        self
    }

    /// Declares a param.
    pub fn param(&mut self, name: &str, ty: ParamType) -> &mut Self {
        let src = self.src();
        self.policy.params.push(ParamSig {
            name: name.to_string(),
            ty,
            src,
        });
        self
    }

    /// Declares an agent (with `home` `/home/<name>`).
    pub fn agent(&mut self, name: &str) -> &mut Self {
        let src = self.src();
        self.policy.agents.push(Agent {
            name: name.to_string(),
            home: Some(format!("/home/{name}")),
            scope: Scope::Cgroup {
                path: format!("agentpol/{name}"),
            },
            resolvers: Vec::new(),
            selector: None,
            rules: Vec::new(),
            skills: Vec::new(),
            src,
        });
        self
    }

    /// Declares a skill of an existing agent.
    pub fn skill(&mut self, agent: &str, name: &str) -> &mut Self {
        let src = self.src();
        if let Some(a) = self.policy.agents.iter_mut().find(|a| a.name == agent) {
            a.skills.push(Skill {
                name: name.to_string(),
                rules: Vec::new(),
                src,
            });
        }
        self
    }

    /// Adds a rule; its id is `<owner>/<kind>/r<n>`.
    pub fn rule(
        &mut self,
        who: Who<'_>,
        effect: Effect,
        action: Action,
        matcher: Matcher,
    ) -> &mut Self {
        let src = self.src();
        let kind = match action.kind() {
            Kind::Fs => "fs",
            Kind::Exec => "exec",
            Kind::Net => "net",
            Kind::Tool => "tool",
            Kind::Env => "env",
        };
        let (owner, list) = match who {
            Who::Agent(a) => (
                a.to_string(),
                self.policy
                    .agents
                    .iter_mut()
                    .find(|x| x.name == a)
                    .map(|x| &mut x.rules),
            ),
            Who::Skill(a, s) => (
                format!("{a}.{s}"),
                self.policy
                    .agents
                    .iter_mut()
                    .find(|x| x.name == a)
                    .and_then(|x| x.skills.iter_mut().find(|k| k.name == s))
                    .map(|k| &mut k.rules),
            ),
        };
        if let Some(list) = list {
            list.push(Rule {
                id: RuleId(format!("{owner}/{kind}/r{}", self.next)),
                effect,
                action,
                matcher,
                src,
                origin: Origin::default(),
            });
        }
        self
    }

    /// The policy.
    pub fn build(&self) -> Policy {
        self.policy.clone()
    }
}

/// fs matcher.
pub fn fs(globs: &[&str]) -> Matcher {
    Matcher::Fs {
        globs: globs.iter().map(|g| glob(g)).collect(),
    }
}

/// tool matcher.
pub fn tool(name: &str, conditions: Vec<Atom>) -> Matcher {
    Matcher::Tool {
        tool: Some(name.to_string()),
        conditions,
    }
}

/// A CIDR host.
pub fn cidr(s: &str) -> Host {
    Host::Cidr(
        s.parse()
            .unwrap_or_else(|_| ipnet::IpNet::from(std::net::IpAddr::from([0, 0, 0, 0]))),
    )
}

/// A domain host (`*.x` for a wildcard).
pub fn domain(s: &str) -> Host {
    match s.strip_prefix("*.") {
        Some(rest) => Host::Domain(DomainPattern {
            name: rest.to_string(),
            wildcard: true,
        }),
        None => Host::Domain(DomainPattern {
            name: s.to_string(),
            wildcard: false,
        }),
    }
}
