//! IR builders and random generators for the decision engines' tests and
//! benchmarks (differential tests of the evaluator, the index and Cedar).
//!
//! The checker is the only producer of IR in `agentpolc`. This module builds IR by hand (with a small glob and `like`
//! parser) and generates random policies and requests from a seed, so the
//! engines can be compared on shapes the checker may never produce.

use agentpol_core::ir::*;
use agentpol_core::request::{Request, Resource};
use agentpol_core::span::{FileId, Span};
use std::collections::{BTreeMap, BTreeSet};

/// A glob from canonical text (`/a/**/*.pem`, `/x/[a-c]?`, `\*` escapes),
/// parsed by the checker's own glob parser. Panics on a pattern the language
/// rejects: that is a bug in the caller's hand-written IR.
#[allow(clippy::panic)]
pub fn glob(pattern: &str) -> Glob {
    agentpol_core::check::glob::parse_glob(pattern)
        .unwrap_or_else(|e| panic!("bad test glob {pattern:?}: {}", e.message))
}

/// A Cedar `like` pattern from its text (`\*` is a literal star).
pub fn like(pattern: &str) -> LikePattern {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    lit.push(n)
                }
            }
            '*' => {
                if !lit.is_empty() {
                    pieces.push(LikePiece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(LikePiece::Star);
            }
            c => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(LikePiece::Lit(lit));
    }
    LikePattern {
        pattern: pattern.to_string(),
        pieces,
    }
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
            policy: Policy {
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
            },
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

// ------------------------------------------------------------ randomness

/// A small deterministic PRNG (SplitMix64): reproducible from a seed, no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// From a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// A random element (None for an empty slice).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

const SEGS: &[&str] = &["a", "b", "ab", ".ssh", "x.pem", "id_rsa", "a.b", "c1", "zz"];
const PIECE_LITS: &[&str] = &["a", ".", "x", "pem", "b", "1"];
const NETS: &[&str] = &[
    "10.0.0.0/8",
    "10.1.2.0/24",
    "192.0.2.5/32",
    "2001:db8::/32",
    "::1/128",
    "0.0.0.0/0",
];
const ADDRS: &[&str] = &[
    "10.1.2.3",
    "10.9.9.9",
    "192.0.2.5",
    "192.0.2.6",
    "2001:db8::7",
    "::1",
    "::ffff:10.1.2.3",
    "8.8.8.8",
];
const PORTS: &[u16] = &[0, 22, 80, 443, 8000, 8080, 65535];
const VARS: &[&str] = &["HOME", "TOKEN", "AWS_KEY", "PATH"];
const STRS: &[&str] = &[
    "a@example.com",
    "b@example.com",
    "hello",
    "",
    "x*y",
    "/tmp/a",
    "secret-123",
];
const INTS: &[i64] = &[-5, 0, 1, 10, 100, 1000, i64::MAX];
const URLS: &[&str] = &[
    "https://api.example.com/v1/x",
    "http://a.b.example.com:8080/p",
    "https://10.1.2.3/",
    "https://[2001:db8::1]:8443/",
    "https://good.example.com@evil.org/",
    "mailto:a@example.com",
    "file:///etc/passwd",
    "HTTPS://API.EXAMPLE.COM./Q",
    "ftp://example.com/f",
];

fn rand_piece(rng: &mut Rng) -> Piece {
    match rng.below(8) {
        0..=2 => Piece::Lit(rng.pick(PIECE_LITS).copied().unwrap_or("a").to_string()),
        3 | 4 => Piece::Star,
        5 => Piece::Any,
        6 => Piece::Class {
            negated: false,
            ranges: vec![('a', 'c'), ('x', 'x')],
        },
        _ => Piece::Class {
            negated: rng.chance(1, 2),
            ranges: vec![('0', '9')],
        },
    }
}

fn piece_text(p: &Piece) -> String {
    match p {
        Piece::Lit(l) => l.replace('*', "\\*"),
        Piece::Star => "*".into(),
        Piece::Any => "?".into(),
        Piece::Class { negated, ranges } => {
            let mut s = String::from("[");
            if *negated {
                s.push('!');
            }
            for (lo, hi) in ranges {
                s.push(*lo);
                if lo != hi {
                    s.push('-');
                    s.push(*hi);
                }
            }
            s.push(']');
            s
        }
    }
}

/// A random glob (up to 5 segments; wildcards, classes, `**`).
pub fn rand_glob(rng: &mut Rng) -> Glob {
    let n = rng.below(5) + usize::from(rng.chance(1, 20)) * 14;
    let mut segs = Vec::new();
    let mut text = String::new();
    for _ in 0..n {
        let seg = match rng.below(10) {
            0..=4 => Segment::Lit(rng.pick(SEGS).copied().unwrap_or("a").to_string()),
            5 | 6 => Segment::Any,
            _ => {
                let k = rng.below(3) + 1;
                let mut pieces: Vec<Piece> = Vec::new();
                for _ in 0..k {
                    let p = rand_piece(rng);
                    // Keep the parse canonical: no two adjacent literals or stars.
                    match (pieces.last(), &p) {
                        (Some(Piece::Lit(_)), Piece::Lit(_)) | (Some(Piece::Star), Piece::Star) => {
                        }
                        _ => pieces.push(p),
                    }
                }
                if pieces.iter().all(|p| matches!(p, Piece::Lit(_))) {
                    pieces.push(Piece::Star);
                }
                Segment::Wild(pieces)
            }
        };
        text.push('/');
        text.push_str(&match &seg {
            Segment::Lit(l) => l.clone(),
            Segment::Any => "**".into(),
            Segment::Wild(p) => p.iter().map(piece_text).collect(),
        });
        segs.push(seg);
    }
    // `**` twice in a row means the same as once; the checker would not emit it.
    segs.dedup_by(|a, b| matches!((a, b), (Segment::Any, Segment::Any)));
    if text.is_empty() {
        text.push('/');
    }
    Glob {
        pattern: text,
        segments: segs,
    }
}

fn realise_glob(rng: &mut Rng, g: &Glob) -> String {
    let mut out = String::new();
    for s in &g.segments {
        match s {
            Segment::Lit(l) => {
                out.push('/');
                out.push_str(l);
            }
            Segment::Any => {
                for _ in 0..rng.below(3) {
                    out.push('/');
                    out.push_str(rng.pick(SEGS).copied().unwrap_or("a"));
                }
            }
            Segment::Wild(pieces) => {
                out.push('/');
                let mut seg = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => seg.push_str(l),
                        Piece::Star => {
                            for _ in 0..rng.below(3) {
                                seg.push_str(rng.pick(PIECE_LITS).copied().unwrap_or("a"));
                            }
                        }
                        Piece::Any => seg.push(*rng.pick(&['q', '.', '7']).unwrap_or(&'q')),
                        Piece::Class { ranges, .. } => {
                            let (lo, _) = ranges.first().copied().unwrap_or(('a', 'a'));
                            seg.push(if rng.chance(3, 4) { lo } else { 'z' });
                        }
                    }
                }
                if seg.is_empty() {
                    seg.push('e');
                }
                out.push_str(&seg);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn rand_path(rng: &mut Rng, globs: &[Glob]) -> String {
    match rng.below(20) {
        0 => "relative/path".into(),
        1 => "/a//b".into(),
        2 => "/a/./b".into(),
        3 => "/a/b/".into(),
        4 => "/".into(),
        5..=7 => {
            let n = rng.below(20);
            let mut s = String::new();
            for _ in 0..n {
                s.push('/');
                s.push_str(rng.pick(SEGS).copied().unwrap_or("a"));
            }
            if s.is_empty() {
                s.push('/');
            }
            s
        }
        _ => match rng.pick(globs) {
            Some(g) => realise_glob(rng, g),
            None => "/a/b".into(),
        },
    }
}

/// Tool signatures the random policies use.
fn rand_tools(b: &mut PolicyBuilder) {
    b.tool(
        "send",
        &[
            ("to", ArgType::String),
            ("amount", ArgType::Int),
            ("urgent", ArgType::Bool),
            ("url", ArgType::Url),
            ("file", ArgType::Path),
        ],
    );
    b.tool("fetch", &[("url", ArgType::Url), ("in", ArgType::String)]);
    b.tool("noop", &[]);
    b.param("contacts", ParamType::SetString);
    b.param("limit", ParamType::Int);
    b.param("owner", ParamType::String);
    b.param("flag", ParamType::Bool);
    b.param("codes", ParamType::SetInt);
}

fn rand_str_set(rng: &mut Rng) -> BTreeSet<Value> {
    (0..rng.below(3))
        .filter_map(|_| rng.pick(STRS).map(|s| Value::Str(s.to_string())))
        .collect()
}

fn rand_atom(rng: &mut Rng, tool: &str) -> Atom {
    let negated = rng.chance(1, 4);
    let test = if tool == "fetch" {
        match rng.below(6) {
            0 => Test::HostIn {
                lhs: url_part("url", UrlField::Host),
                hosts: (0..rng.below(3) + 1)
                    .map(|_| {
                        if rng.chance(1, 2) {
                            domain(
                                rng.pick(&[
                                    "*.example.com",
                                    "example.com",
                                    "evil.org",
                                    "*.b.example.com",
                                ])
                                .copied()
                                .unwrap_or("x"),
                            )
                        } else {
                            cidr(rng.pick(NETS).copied().unwrap_or("10.0.0.0/8"))
                        }
                    })
                    .collect(),
            },
            1 => Test::Eq {
                lhs: url_part("url", UrlField::Scheme),
                rhs: Scalar::Lit(Value::Str(
                    rng.pick(&["https", "http", "mailto"])
                        .copied()
                        .unwrap_or("https")
                        .into(),
                )),
            },
            2 => Test::Cmp {
                lhs: url_part("url", UrlField::Port),
                op: *rng
                    .pick(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
                    .unwrap_or(&CmpOp::Lt),
                rhs: Scalar::Lit(Value::Int(
                    *rng.pick(&[80, 443, 1024, 8080]).unwrap_or(&443),
                )),
            },
            3 => Test::Like {
                lhs: url_part("url", UrlField::Path),
                pattern: like(
                    rng.pick(&["/v1/*", "*", "/", "*x*"])
                        .copied()
                        .unwrap_or("*"),
                ),
            },
            4 => Test::Eq {
                lhs: url_part("url", UrlField::Host),
                rhs: Scalar::Lit(Value::Str(
                    rng.pick(&["api.example.com", "10.1.2.3", "2001:db8::1"])
                        .copied()
                        .unwrap_or("x")
                        .into(),
                )),
            },
            _ => Test::In {
                lhs: arg("in"),
                set: SetOperand::Lit(rand_str_set(rng)),
            },
        }
    } else {
        match rng.below(13) {
            0 => Test::Eq {
                lhs: arg("to"),
                rhs: Scalar::Lit(Value::Str(rng.pick(STRS).copied().unwrap_or("a").into())),
            },
            1 => Test::In {
                lhs: arg("to"),
                set: if rng.chance(1, 2) {
                    SetOperand::Param("contacts".into())
                } else {
                    SetOperand::Lit(rand_str_set(rng))
                },
            },
            2 => Test::Cmp {
                lhs: arg("amount"),
                op: *rng
                    .pick(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge])
                    .unwrap_or(&CmpOp::Lt),
                rhs: if rng.chance(1, 3) {
                    Scalar::Param("limit".into())
                } else {
                    Scalar::Lit(Value::Int(*rng.pick(INTS).unwrap_or(&0)))
                },
            },
            3 => Test::Eq {
                lhs: arg("urgent"),
                rhs: if rng.chance(1, 3) {
                    Scalar::Param("flag".into())
                } else {
                    Scalar::Lit(Value::Bool(rng.chance(1, 2)))
                },
            },
            4 => Test::Like {
                lhs: arg("to"),
                pattern: like(
                    rng.pick(&["*@example.com", "a*", "x\\*y", "*"])
                        .copied()
                        .unwrap_or("*"),
                ),
            },
            5 => Test::PathIn {
                lhs: arg("file"),
                globs: (0..rng.below(2) + 1).map(|_| rand_glob(rng)).collect(),
            },
            6 => Test::Tainted {
                arg: rng
                    .pick(&["to", "amount", "file"])
                    .copied()
                    .unwrap_or("to")
                    .into(),
            },
            7 => Test::ContainsSecret {
                secret: "aws".into(),
                var: rng.pick(VARS).copied().unwrap_or("TOKEN").into(),
            },
            8 => Test::In {
                lhs: arg("amount"),
                set: if rng.chance(1, 2) {
                    SetOperand::Param("codes".into())
                } else {
                    SetOperand::Lit([Value::Int(1), Value::Int(10)].into())
                },
            },
            9 => Test::Eq {
                lhs: arg("to"),
                rhs: Scalar::Param("owner".into()),
            },
            10 => Test::Eq {
                lhs: arg("file"),
                rhs: Scalar::Lit(Value::Str(
                    rng.pick(&["/tmp/a", "/a/b"])
                        .copied()
                        .unwrap_or("/a")
                        .into(),
                )),
            },
            11 => Test::HostIn {
                lhs: url_part("url", UrlField::Host),
                hosts: vec![domain("*.example.com"), cidr("10.0.0.0/8")],
            },
            _ => Test::Cmp {
                lhs: url_part("url", UrlField::Port),
                op: CmpOp::Ge,
                rhs: Scalar::Lit(Value::Int(443)),
            },
        }
    };
    Atom { negated, test }
}

fn rand_rule(rng: &mut Rng, b: &mut PolicyBuilder, who: Who<'_>) {
    let kind = rng.below(10);
    let effect = match rng.below(10) {
        0..=4 => Effect::Allow,
        5..=7 => Effect::Deny,
        _ => Effect::Ask,
    };
    let non_tool_effect = if effect == Effect::Ask {
        Effect::Allow
    } else {
        effect
    };
    match kind {
        0..=2 => {
            let action = *rng.pick(&Action::FS).unwrap_or(&Action::Read);
            let globs = (0..rng.below(3) + 1).map(|_| rand_glob(rng)).collect();
            b.rule(who, non_tool_effect, action, Matcher::Fs { globs });
        }
        3 => {
            let binaries = (0..rng.below(2) + 1).map(|_| rand_glob(rng)).collect();
            let args = if rng.chance(1, 2) {
                None
            } else {
                Some(ArgsPattern {
                    items: (0..rng.below(3))
                        .map(|_| like(rng.pick(&["-c", "*", "--x=*", "a"]).copied().unwrap_or("*")))
                        .collect(),
                    rest: rng.chance(1, 2),
                })
            };
            b.rule(
                who,
                non_tool_effect,
                Action::Exec,
                Matcher::Exec { binaries, args },
            );
        }
        4 | 5 => {
            let action = *rng.pick(&Action::NET).unwrap_or(&Action::Connect);
            let proto = *rng
                .pick(&[Proto::Tcp, Proto::Udp, Proto::Any])
                .unwrap_or(&Proto::Any);
            let hosts = if rng.chance(1, 3) {
                None
            } else {
                Some(
                    (0..rng.below(3))
                        .map(|_| {
                            if rng.chance(1, 2) {
                                cidr(rng.pick(NETS).copied().unwrap_or("10.0.0.0/8"))
                            } else {
                                domain(
                                    rng.pick(&[
                                        "example.com",
                                        "*.example.com",
                                        "api.example.com",
                                        "*.org",
                                    ])
                                    .copied()
                                    .unwrap_or("x"),
                                )
                            }
                        })
                        .collect(),
                )
            };
            let ports = if rng.chance(1, 3) {
                None
            } else {
                Some(
                    (0..rng.below(3))
                        .map(|_| {
                            let lo = *rng.pick(&[22u16, 80, 443, 8000, 1]).unwrap_or(&80);
                            let hi = if rng.chance(1, 2) {
                                lo
                            } else {
                                lo.saturating_add(100)
                            };
                            PortRange { lo, hi }
                        })
                        .collect(),
                )
            };
            b.rule(
                who,
                non_tool_effect,
                action,
                Matcher::Net {
                    proto,
                    hosts,
                    ports,
                },
            );
        }
        6 => {
            let vars = (0..rng.below(2) + 1)
                .map(|_| rng.pick(VARS).copied().unwrap_or("HOME").to_string())
                .collect();
            b.rule(who, non_tool_effect, Action::ReadEnv, Matcher::Env { vars });
        }
        _ => {
            if rng.chance(1, 12) {
                // A denied secret: every tool.
                b.rule(
                    who,
                    Effect::Deny,
                    Action::Call,
                    Matcher::Tool {
                        tool: None,
                        conditions: vec![atom(
                            false,
                            Test::ContainsSecret {
                                secret: "aws".into(),
                                var: "AWS_KEY".into(),
                            },
                        )],
                    },
                );
                return;
            }
            let t = *rng
                .pick(&["send", "send", "fetch", "noop"])
                .unwrap_or(&"send");
            let conditions = if t == "noop" {
                Vec::new()
            } else {
                (0..rng.below(3)).map(|_| rand_atom(rng, t)).collect()
            };
            b.rule(who, effect, Action::Call, tool(t, conditions));
        }
    }
}

/// A random policy: 1–3 agents, 0–2 skills each, about `rules` rules in all.
pub fn random_policy(seed: u64, rules: usize) -> Policy {
    let mut rng = Rng::new(seed);
    let mut b = PolicyBuilder::new("random.agentpol");
    rand_tools(&mut b);
    let agents = rng.below(3) + 1;
    let mut owners: Vec<(String, Option<String>)> = Vec::new();
    for i in 0..agents {
        let name = format!("ag{i}");
        b.agent(&name);
        owners.push((name.clone(), None));
        for j in 0..rng.below(3) {
            let s = format!("sk{j}");
            b.skill(&name, &s);
            owners.push((name.clone(), Some(s)));
        }
    }
    for _ in 0..rules {
        let Some((a, s)) = rng.pick(&owners).cloned() else {
            break;
        };
        let who = match &s {
            Some(s) => Who::Skill(&a, s),
            None => Who::Agent(&a),
        };
        rand_rule(&mut rng, &mut b, who);
    }
    b.build()
}

fn globs_of(policy: &Policy) -> Vec<Glob> {
    let mut out = Vec::new();
    for (_, r) in policy.all_rules() {
        match &r.matcher {
            Matcher::Fs { globs } => out.extend(globs.iter().cloned()),
            Matcher::Exec { binaries, .. } => out.extend(binaries.iter().cloned()),
            Matcher::Tool { conditions, .. } => {
                for a in conditions {
                    if let Test::PathIn { globs, .. } = &a.test {
                        out.extend(globs.iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Values taken from a policy's rules, so requests hit (and just miss) them.
#[derive(Clone, Debug, Default)]
struct Harvest {
    globs: Vec<Glob>,
    domains: Vec<String>,
    addrs: Vec<std::net::IpAddr>,
    ports: Vec<u16>,
    vars: Vec<String>,
    strs: Vec<String>,
    ints: Vec<i64>,
    urls: Vec<String>,
    argv: Vec<String>,
}

fn realise_like(rng: &mut Rng, p: &LikePattern) -> String {
    p.pieces
        .iter()
        .map(|x| match x {
            LikePiece::Lit(l) => l.clone(),
            LikePiece::Star => rng
                .pick(&["", "x", "a/b", "@example.com"])
                .copied()
                .unwrap_or("")
                .to_string(),
        })
        .collect()
}

fn harvest(policy: &Policy, rng: &mut Rng) -> Harvest {
    let mut h = Harvest {
        globs: globs_of(policy),
        ..Harvest::default()
    };
    let host = |h: &mut Harvest, host: &Host| match host {
        Host::Cidr(net) => {
            let a = net.network();
            h.addrs.push(a);
            h.addrs.push(net.broadcast());
            if let std::net::IpAddr::V4(v4) = a {
                h.addrs.push(std::net::IpAddr::V6(v4.to_ipv6_mapped()));
                let n = u32::from(v4).wrapping_sub(1);
                h.addrs.push(std::net::IpAddr::V4(n.into()));
            }
            h.urls.push(format!("https://{}/x", a));
        }
        Host::Domain(d) => {
            let names = if d.wildcard {
                vec![
                    format!("x.{}", d.name),
                    format!("a.b.{}", d.name),
                    d.name.clone(),
                    format!("x{}", d.name),
                ]
            } else {
                vec![
                    d.name.clone(),
                    format!("www.{}", d.name),
                    d.name.to_uppercase(),
                ]
            };
            for n in names {
                h.urls.push(format!("https://{n}/api/v1"));
                h.urls.push(format!("http://{n}:8080/"));
                h.domains.push(n);
            }
        }
    };
    for (_, r) in policy.all_rules() {
        match &r.matcher {
            Matcher::Net { hosts, ports, .. } => {
                for x in hosts.iter().flatten() {
                    host(&mut h, x);
                }
                for p in ports.iter().flatten() {
                    h.ports
                        .extend([p.lo, p.hi, p.lo.saturating_sub(1), p.hi.saturating_add(1)]);
                }
            }
            Matcher::Env { vars } => h.vars.extend(vars.iter().cloned()),
            Matcher::Exec { args: Some(a), .. } => {
                for item in &a.items {
                    h.argv.push(realise_like(rng, item));
                }
            }
            Matcher::Tool { conditions, .. } => {
                for a in conditions {
                    match &a.test {
                        Test::Eq {
                            rhs: Scalar::Lit(v),
                            ..
                        }
                        | Test::Cmp {
                            rhs: Scalar::Lit(v),
                            ..
                        } => match v {
                            Value::Str(x) => h.strs.push(x.clone()),
                            Value::Int(i) => {
                                h.ints
                                    .extend([*i, i.saturating_add(1), i.saturating_sub(1)])
                            }
                            Value::Bool(_) => {}
                        },
                        Test::In {
                            set: SetOperand::Lit(vs),
                            ..
                        } => {
                            for v in vs {
                                match v {
                                    Value::Str(x) => h.strs.push(x.clone()),
                                    Value::Int(i) => h.ints.push(*i),
                                    Value::Bool(_) => {}
                                }
                            }
                        }
                        Test::Like { pattern, .. } => {
                            let v = realise_like(rng, pattern);
                            h.urls.push(format!(
                                "https://example.com{}",
                                if v.starts_with('/') {
                                    v.clone()
                                } else {
                                    format!("/{v}")
                                }
                            ));
                            h.strs.push(v);
                        }
                        Test::HostIn { hosts, .. } => {
                            for x in hosts {
                                host(&mut h, x);
                            }
                        }
                        Test::ContainsSecret { var, .. } => h.vars.push(var.clone()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for s in &policy.secrets {
        h.vars.extend(s.env.iter().cloned());
    }
    h
}

/// A pick from the harvest (when it has any) or from the static pool.
fn pick_str(rng: &mut Rng, harvested: &[String], pool: &[&str]) -> String {
    if !harvested.is_empty() && rng.chance(2, 3) {
        harvested
            .get(rng.below(harvested.len()))
            .cloned()
            .unwrap_or_default()
    } else {
        rng.pick(pool).copied().unwrap_or("").to_string()
    }
}

fn rand_json_value(rng: &mut Rng, ty: ArgType, h: &Harvest) -> serde_json::Value {
    // Mostly well-typed; sometimes not, to exercise the errors.
    if rng.chance(1, 40) {
        return serde_json::json!(1.5);
    }
    match ty {
        ArgType::String => serde_json::json!(pick_str(rng, &h.strs, STRS)),
        ArgType::Int => {
            if !h.ints.is_empty() && rng.chance(2, 3) {
                serde_json::json!(h.ints.get(rng.below(h.ints.len())).copied().unwrap_or(0))
            } else {
                serde_json::json!(*rng.pick(INTS).unwrap_or(&0))
            }
        }
        ArgType::Bool => serde_json::json!(rng.chance(1, 2)),
        ArgType::Url => serde_json::json!(if rng.chance(1, 30) {
            "not a url".to_string()
        } else {
            pick_str(rng, &h.urls, URLS)
        }),
        ArgType::Path => serde_json::json!(rand_path(rng, &h.globs)),
    }
}

/// Random requests for `policy`: mostly well-formed, aimed at its rules,
/// with some malformed ones (unknown names, wrong types, bad paths).
pub fn random_requests(policy: &Policy, seed: u64, n: usize) -> Vec<Request> {
    let mut rng = Rng::new(seed);
    let h = harvest(policy, &mut rng);
    let globs = h.globs.clone();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (agent, skill) = match policy.agents.get(rng.below(policy.agents.len())) {
            Some(a) if rng.chance(1, 60) => (format!("{}x", a.name), None),
            Some(a) => {
                let skill = if !a.skills.is_empty() && rng.chance(1, 2) {
                    a.skills
                        .get(rng.below(a.skills.len()))
                        .map(|s| s.name.clone())
                } else if rng.chance(1, 80) {
                    Some("nosuchskill".to_string())
                } else {
                    None
                };
                (a.name.clone(), skill)
            }
            None => ("nobody".into(), None),
        };
        let resource = match rng.below(10) {
            0..=2 => Resource::Fs {
                action: if rng.chance(1, 50) {
                    Action::Connect
                } else {
                    *rng.pick(&Action::FS).unwrap_or(&Action::Read)
                },
                path: rand_path(&mut rng, &globs),
            },
            3 => Resource::Exec {
                path: rand_path(&mut rng, &globs),
                args: (0..rng.below(4))
                    .map(|_| pick_str(&mut rng, &h.argv, &["-c", "--x=1", "a", "b"]))
                    .collect(),
            },
            4 | 5 => Resource::Net {
                action: *rng.pick(&Action::NET).unwrap_or(&Action::Connect),
                proto: *rng
                    .pick(&[Proto::Tcp, Proto::Udp, Proto::Tcp, Proto::Udp, Proto::Any])
                    .unwrap_or(&Proto::Tcp),
                addr: if rng.chance(1, 4) {
                    None
                } else if !h.addrs.is_empty() && rng.chance(2, 3) {
                    h.addrs.get(rng.below(h.addrs.len())).copied()
                } else {
                    rng.pick(ADDRS).and_then(|a| a.parse().ok())
                },
                domain: if rng.chance(1, 3) {
                    None
                } else if !h.domains.is_empty() && rng.chance(2, 3) {
                    h.domains.get(rng.below(h.domains.len())).cloned()
                } else {
                    Some(
                        rng.pick(&[
                            "example.com",
                            "api.example.com",
                            "a.b.example.com",
                            "EXAMPLE.com.",
                            "x.org",
                            ".example.com",
                            "ex ample.com",
                        ])
                        .copied()
                        .unwrap_or("x")
                        .to_string(),
                    )
                },
                port: if !h.ports.is_empty() && rng.chance(2, 3) {
                    h.ports
                        .get(rng.below(h.ports.len()))
                        .copied()
                        .unwrap_or(443)
                } else {
                    *rng.pick(PORTS).unwrap_or(&443)
                },
            },
            6 => Resource::Env {
                var: pick_str(&mut rng, &h.vars, VARS),
            },
            _ => {
                let tool = if rng.chance(1, 60) {
                    policy
                        .tools
                        .first()
                        .map(|t| format!("{}_x", t.name))
                        .unwrap_or_default()
                } else {
                    policy
                        .tools
                        .get(rng.below(policy.tools.len()))
                        .map(|t| t.name.clone())
                        .unwrap_or_default()
                };
                let mut args = BTreeMap::new();
                if let Some(sig) = policy.tool(&tool) {
                    for a in &sig.args {
                        if rng.chance(1, 60) {
                            continue; // missing
                        }
                        args.insert(a.name.clone(), rand_json_value(&mut rng, a.ty, &h));
                    }
                    if rng.chance(1, 60) {
                        args.insert("extra".into(), serde_json::json!("x"));
                    }
                }
                let mut params = BTreeMap::new();
                for p in &policy.params {
                    if rng.chance(1, 25) {
                        continue;
                    }
                    let v = match p.ty {
                        ParamType::String => serde_json::json!(pick_str(&mut rng, &h.strs, STRS)),
                        ParamType::Int => serde_json::json!(*rng.pick(INTS).unwrap_or(&0)),
                        ParamType::Bool => serde_json::json!(rng.chance(1, 2)),
                        ParamType::SetString => serde_json::json!((0..rng.below(3))
                            .map(|_| pick_str(&mut rng, &h.strs, STRS))
                            .collect::<Vec<_>>()),
                        ParamType::SetInt => serde_json::json!((0..rng.below(3))
                            .map(|_| *rng.pick(INTS).unwrap_or(&0))
                            .collect::<Vec<_>>()),
                    };
                    let v = if rng.chance(1, 80) {
                        serde_json::json!("wrong")
                    } else {
                        v
                    };
                    params.insert(p.name.clone(), v);
                }
                if rng.chance(1, 80) {
                    params.insert("undeclared".into(), serde_json::json!(1));
                }
                let tainted = policy
                    .tool(&tool)
                    .map(|t| {
                        t.args
                            .iter()
                            .filter(|_| rng.chance(1, 3))
                            .map(|a| a.name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut secrets = BTreeMap::new();
                let vars: Vec<String> = VARS
                    .iter()
                    .map(|v| v.to_string())
                    .chain(h.vars.iter().cloned())
                    .collect();
                for v in vars {
                    if rng.chance(1, 3) {
                        secrets.insert(
                            v,
                            rng.pick(&["secret-123", "", "a@", "zzz"])
                                .copied()
                                .unwrap_or("")
                                .to_string(),
                        );
                    }
                }
                Resource::Tool {
                    tool,
                    args,
                    params,
                    tainted,
                    secrets,
                }
            }
        };
        out.push(Request {
            agent,
            skill,
            resource,
        });
    }
    out
}

/// A synthetic policy of about `rules` rules over many agents, shaped like
/// real policies (mostly literal and `/dir/**` globs, domains, tool
/// conditions on one argument), for benchmarks.
pub fn synthetic_policy(rules: usize) -> Policy {
    let mut b = PolicyBuilder::new("bench.agentpol");
    b.tool(
        "send_email",
        &[("to", ArgType::String), ("body", ArgType::String)],
    );
    b.tool(
        "pay",
        &[("recipient", ArgType::String), ("amount", ArgType::Int)],
    );
    b.param("contacts", ParamType::SetString);
    let agents = (rules / 50).max(1);
    for i in 0..agents {
        b.agent(&format!("agent{i}"));
        b.skill(&format!("agent{i}"), "helper");
    }
    let mut rng = Rng::new(7);
    for r in 0..rules {
        let a = format!("agent{}", r % agents);
        // Kind and owner from `r / agents`, so that every agent gets rules of
        // every kind and its skill some of them (with `r % …` an agent count
        // that is a multiple of 5 gave each agent rules of one kind only).
        let nth = r / agents;
        let who = if (nth / 5) % 10 == 9 {
            Who::Skill(&a, "helper")
        } else {
            Who::Agent(&a)
        };
        match nth % 5 {
            0 => {
                let g = match rng.below(3) {
                    0 => format!("/home/{a}/work/p{r}/**"),
                    1 => format!("/srv/data/f{r}.txt"),
                    _ => format!("/home/{a}/.cache/*.{r}"),
                };
                let effect = if r % 7 == 0 {
                    Effect::Deny
                } else {
                    Effect::Allow
                };
                b.rule(who, effect, Action::Read, fs(&[&g]));
            }
            1 => {
                b.rule(
                    who,
                    Effect::Allow,
                    Action::Connect,
                    Matcher::Net {
                        proto: Proto::Tcp,
                        hosts: Some(vec![
                            domain(&format!("api{r}.example.com")),
                            cidr(&format!("10.{}.{}.0/24", (r / 256) % 256, r % 256)),
                        ]),
                        ports: Some(vec![PortRange { lo: 443, hi: 443 }]),
                    },
                );
            }
            2 => {
                b.rule(
                    who,
                    if r % 3 == 0 {
                        Effect::Ask
                    } else {
                        Effect::Allow
                    },
                    Action::Call,
                    tool(
                        "send_email",
                        vec![atom(
                            false,
                            Test::Eq {
                                lhs: arg("to"),
                                rhs: Scalar::Lit(Value::Str(format!("user{r}@example.com"))),
                            },
                        )],
                    ),
                );
            }
            3 => {
                b.rule(
                    who,
                    Effect::Deny,
                    Action::Call,
                    tool(
                        "pay",
                        vec![atom(
                            false,
                            Test::Cmp {
                                lhs: arg("amount"),
                                op: CmpOp::Gt,
                                rhs: Scalar::Lit(Value::Int(1000 + r as i64)),
                            },
                        )],
                    ),
                );
            }
            _ => {
                b.rule(
                    who,
                    Effect::Allow,
                    Action::ReadEnv,
                    Matcher::Env {
                        vars: vec![format!("VAR{r}")],
                    },
                );
            }
        }
    }
    b.build()
}

/// Requests aimed at [`synthetic_policy`]'s rules (about half hit one).
pub fn synthetic_requests(policy: &Policy, seed: u64, n: usize) -> Vec<Request> {
    let mut rng = Rng::new(seed);
    let agents = policy.agents.len().max(1);
    (0..n)
        .map(|_| {
            let i = rng.below(agents);
            let a = format!("agent{i}");
            let r = rng.below(agents * 50);
            let skill = rng.chance(1, 5).then(|| "helper".to_string());
            let resource = match rng.below(5) {
                0 => Resource::Fs {
                    action: Action::Read,
                    path: if rng.chance(1, 2) {
                        format!("/home/{a}/work/p{r}/src/main.rs")
                    } else {
                        format!("/srv/data/f{r}.txt")
                    },
                },
                1 => Resource::Net {
                    action: Action::Connect,
                    proto: Proto::Tcp,
                    addr: format!("10.{}.{}.7", (r / 256) % 256, r % 256).parse().ok(),
                    domain: Some(format!("api{r}.example.com")),
                    port: 443,
                },
                2 => Resource::Tool {
                    tool: "send_email".into(),
                    args: [
                        (
                            "to".to_string(),
                            serde_json::json!(format!("user{r}@example.com")),
                        ),
                        ("body".to_string(), serde_json::json!("hi")),
                    ]
                    .into(),
                    params: BTreeMap::new(),
                    tainted: Vec::new(),
                    secrets: BTreeMap::new(),
                },
                3 => Resource::Tool {
                    tool: "pay".into(),
                    args: [
                        ("recipient".to_string(), serde_json::json!("bob")),
                        (
                            "amount".to_string(),
                            serde_json::json!(rng.below(3000) as i64),
                        ),
                    ]
                    .into(),
                    params: BTreeMap::new(),
                    tainted: Vec::new(),
                    secrets: BTreeMap::new(),
                },
                _ => Resource::Env {
                    var: format!("VAR{r}"),
                },
            };
            Request {
                agent: a,
                skill,
                resource,
            }
        })
        .collect()
}
