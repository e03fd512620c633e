//! The checked IR: the contract between the front end and everything else.
//!
//! API boundary: the verifier, the reference evaluator and every backend
//! (Cedar, firewall, eBPF) read only these types; only the checker builds
//! them. An IR value is fully resolved: no names, no imports, no consts, no
//! `~`, no `{a,b}` braces; every literal validated. Its JSON form
//! (`agentpolc build --emit ir`) is versioned by [`IR_VERSION`] and documented in
//! `lang-spec/ir.md`; a change to these types that changes the JSON bumps it.
//!
//! Shape: per agent and per skill, a flat list of [`Rule`]s. A rule is
//! `(effect, kind, action, matcher)` plus its stable [`RuleId`], source span
//! and origin. A tool rule's condition is a conjunction of (possibly negated)
//! [`Atom`]s; a disjunction in the source becomes several rules.
//!
//! Semantics (normative text in `lang-spec/semantics.md`): for a request by an
//! agent, the decision is the highest-precedence effect among matching rules
//! (deny > ask > allow), or deny when none matches. For a request by a skill,
//! it is the highest of the agent's decision and the skill's decision, each
//! computed that way (so a skill never widens its agent).

pub use crate::vocab::{Action, Effect, Kind, Proto, RuleId, SourceRef};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Version of the IR's JSON form. 2: assertions gained `layers` (absent for
/// the kind form, so version-1 assertions read the same; a version-1 reader
/// would take a cross-layer assertion for an fs-only one, hence the bump).
pub const IR_VERSION: u32 = 2;

/// A whole checked policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Always [`IR_VERSION`] when produced by this compiler.
    pub ir_version: u32,
    /// Source files, indexed by [`Span::file`](crate::span::Span).
    pub files: Vec<FileInfo>,
    /// Agents in source order.
    pub agents: Vec<Agent>,
    /// Every declared tool (tools are global by name).
    pub tools: Vec<ToolSig>,
    /// Every declared param, by qualified name.
    pub params: Vec<ParamSig>,
    /// Every declared secret.
    pub secrets: Vec<SecretInfo>,
    /// `assert never ...` items, for the verifier.
    pub assertions: Vec<Assertion>,
    /// `test` blocks, for `agentpolc test`.
    pub tests: Vec<TestCase>,
}

impl Policy {
    /// The agent named `name`.
    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// The tool named `name`.
    pub fn tool(&self, name: &str) -> Option<&ToolSig> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The param with this qualified name.
    pub fn param(&self, name: &str) -> Option<&ParamSig> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Every rule of every agent and skill, with who owns it.
    pub fn all_rules(&self) -> impl Iterator<Item = (Principal<'_>, &Rule)> {
        self.agents.iter().flat_map(|a| {
            a.rules
                .iter()
                .map(move |r| (Principal::Agent(&a.name), r))
                .chain(a.skills.iter().flat_map(move |s| {
                    s.rules
                        .iter()
                        .map(move |r| (Principal::Skill(&a.name, &s.name), r))
                }))
        })
    }
}

/// Who owns a rule or makes a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Principal<'a> {
    /// An agent.
    Agent(&'a str),
    /// A skill of an agent: `(agent, skill)`.
    Skill(&'a str, &'a str),
}

/// A source file the policy came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Display name (a path, or `std/secrets.agentpol`).
    pub name: String,
    /// Hex SHA-256 of its text.
    pub sha256: String,
}

/// An agent: its identity for the enforcers and its rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Its name.
    pub name: String,
    /// `home`, which `~` expanded to (absolute, normalised). None if not declared.
    pub home: Option<String>,
    /// How kernel and firewall targets recognise its processes.
    pub scope: Scope,
    /// DNS resolvers it may query (`resolvers { ... }`); empty = none named.
    pub resolvers: Vec<std::net::IpAddr>,
    /// Kubernetes placement, if declared.
    pub selector: Option<Selector>,
    /// The agent's rules (own and included), in source order.
    pub rules: Vec<Rule>,
    /// Its skills.
    pub skills: Vec<Skill>,
    /// The `agent` block.
    pub src: SourceRef,
}

/// How an agent's processes are recognised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum Scope {
    /// A cgroup v2 path relative to the cgroup2 mount (default `agentpol/<agent>`).
    Cgroup {
        /// The path, without leading or trailing `/`.
        path: String,
    },
    /// A user id.
    Uid {
        /// The uid.
        uid: u32,
    },
}

/// A Kubernetes selector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Namespace, if given.
    pub namespace: Option<String>,
    /// Pod labels, sorted by key.
    pub labels: Vec<(String, String)>,
}

/// A skill: rules that further restrict requests the skill makes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// Its name (unique within the agent).
    pub name: String,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// The `skill` block.
    pub src: SourceRef,
}

/// One checked rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable id.
    pub id: RuleId,
    /// Allow, ask or deny (`ask` only on tool rules).
    pub effect: Effect,
    /// The action (its kind is `action.kind()`, and equals `matcher.kind()`).
    pub action: Action,
    /// What the rule matches.
    pub matcher: Matcher,
    /// The source rule.
    pub src: SourceRef,
    /// How the rule reached this agent or skill.
    pub origin: Origin,
}

impl Rule {
    /// The rule's resource kind.
    pub fn kind(&self) -> Kind {
        self.action.kind()
    }
}

/// How a rule reached its owner. Empty for a rule written directly in the
/// agent or skill.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// `include` chain, outermost first: the profile's qualified name and the include site.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<Include>,
    /// The secret this rule was lowered from (`secrets { deny read aws }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One step of an include chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Include {
    /// Qualified profile name, e.g. `std::openclaw::baseline`.
    pub profile: String,
    /// The `include` member.
    pub site: SourceRef,
}

/// What a rule matches; the variant agrees with the rule's kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Matcher {
    /// Paths matching any of the globs.
    Fs {
        /// Alternatives (braces already expanded).
        globs: Vec<Glob>,
    },
    /// Executions of a binary matching any glob, with arguments matching `args` if given.
    Exec {
        /// Binary path alternatives.
        binaries: Vec<Glob>,
        /// Argument patterns; None = any arguments.
        args: Option<ArgsPattern>,
    },
    /// Sockets.
    Net {
        /// Transport.
        proto: Proto,
        /// Peer (connect/sendto) or local (listen) addresses; None = any address.
        hosts: Option<Vec<Host>>,
        /// Ports; None = any port.
        ports: Option<Vec<PortRange>>,
    },
    /// Tool calls.
    Tool {
        /// The tool's name; None = every tool (only rules lowered from denied secrets).
        tool: Option<String>,
        /// A conjunction; empty = always true.
        conditions: Vec<Atom>,
    },
    /// Environment variables.
    Env {
        /// Variable names.
        vars: Vec<String>,
    },
}

impl Matcher {
    /// The kind this matcher belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Matcher::Fs { .. } => Kind::Fs,
            Matcher::Exec { .. } => Kind::Exec,
            Matcher::Net { .. } => Kind::Net,
            Matcher::Tool { .. } => Kind::Tool,
            Matcher::Env { .. } => Kind::Env,
        }
    }
}

/// A path glob after normalisation and brace expansion.
///
/// `pattern` is canonical text (absolute, no `//`, no trailing `/`, no braces);
/// `segments` is its parse, split at `/`. Matching (normative, see
/// `lang-spec/semantics.md`): a path is split at `/` into segments; `Any`
/// (`**`) matches zero or more whole segments; `Lit` matches one segment
/// exactly; `Wild` matches one segment by its pieces, where `*` matches any
/// run of characters (including a leading `.`) and `?`/classes match one
/// character; nothing crosses a `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Glob {
    /// Canonical text, e.g. `/home/agent/work/**`.
    pub pattern: String,
    /// The segments after the leading `/` (empty for the root `/`).
    pub segments: Vec<Segment>,
}

impl Glob {
    /// True when the glob has no wildcard: it matches exactly one path.
    pub fn is_literal(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Lit(_)))
    }

    /// The longest directory prefix without wildcards, e.g. `/home/agent/work` for
    /// `/home/agent/work/**/*.rs` (what Landlock and prefix indexes use).
    pub fn literal_prefix(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Lit(l) => {
                    out.push('/');
                    out.push_str(l);
                }
                _ => break,
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// One `/`-separated segment of a glob.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum Segment {
    /// Exactly this text.
    Lit(String),
    /// `**`: zero or more whole segments.
    Any,
    /// A single segment with wildcards, e.g. `*.pem`, `id_?sa*`.
    Wild(Vec<Piece>),
}

/// A piece of a wildcard segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum Piece {
    /// Literal text.
    Lit(String),
    /// `*`: zero or more characters (never `/`).
    Star,
    /// `?`: exactly one character (never `/`).
    Any,
    /// `[a-z0-9_]` or `[!...]`: one character in (or, negated, not in) the
    /// inclusive ranges; never `/`.
    Class {
        /// `[!...]` / `[^...]`.
        negated: bool,
        /// Inclusive character ranges; a single character `c` is `(c, c)`.
        ranges: Vec<(char, char)>,
    },
}

/// Argument patterns of an exec rule. Enforced at the tool layer only: kernel
/// targets cannot see argv and report the rule in their loss report.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArgsPattern {
    /// One pattern per position from argv[1], in Cedar `like` syntax.
    pub items: Vec<LikePattern>,
    /// Further arguments are allowed (a trailing `..`).
    pub rest: bool,
}

/// A pattern in Cedar `like` syntax: `*` matches any run of characters
/// (including `/`), `\*` a literal star; everything else is literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LikePattern {
    /// The pattern as written (escapes kept), e.g. `invoice-*.pdf`.
    pub pattern: String,
    /// Its parse: literal runs and stars, alternating as written.
    pub pieces: Vec<LikePiece>,
}

/// A piece of a [`LikePattern`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum LikePiece {
    /// Literal text (unescaped).
    Lit(String),
    /// `*`.
    Star,
}

/// A network peer pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum Host {
    /// An address range (host bits zero; a single address is a /32 or /128).
    /// IPv4-mapped IPv6 networks are stored as their IPv4 network.
    Cidr(IpNet),
    /// A DNS name pattern.
    Domain(DomainPattern),
}

/// `api.github.com` or `*.github.com` (lower-case, no trailing dot, ASCII/punycode).
/// The wildcard form matches one or more labels in front of the suffix and
/// never the bare suffix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DomainPattern {
    /// The name, or the suffix after `*.` for a wildcard.
    pub name: String,
    /// Written as `*.name`.
    pub wildcard: bool,
}

/// An inclusive port range `lo..=hi`, `1 <= lo <= hi <= 65535`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
}

/// A tool declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSig {
    /// The tool's name.
    pub name: String,
    /// Arguments in order.
    pub args: Vec<ArgSig>,
    /// Output labels.
    pub labels: Vec<Label>,
    /// Where it was declared.
    pub src: SourceRef,
}

impl ToolSig {
    /// The argument named `name`.
    pub fn arg(&self, name: &str) -> Option<&ArgSig> {
        self.args.iter().find(|a| a.name == name)
    }
}

/// One tool argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgSig {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: ArgType,
    /// Annotated `secret`: redacted in logs and decisions.
    pub secret: bool,
}

/// Scalar types of tool arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArgType {
    /// A string.
    String,
    /// A 64-bit signed integer.
    Int,
    /// A boolean.
    Bool,
    /// A URL (WHATWG).
    Url,
    /// An absolute path.
    Path,
}

/// Output labels of a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Its output is attacker-influenced; values derived from it are tainted.
    Untrusted,
}

/// A param declaration: a value the caller binds at decision time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSig {
    /// Qualified name: `contacts` for the root file, `std::openclaw::contacts` otherwise.
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// Where it was declared.
    pub src: SourceRef,
}

/// Types a param may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// A string.
    String,
    /// An integer.
    Int,
    /// A boolean.
    Bool,
    /// A set of strings.
    SetString,
    /// A set of integers.
    SetInt,
}

/// A declared secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretInfo {
    /// Qualified name.
    pub name: String,
    /// File globs with `~` unexpanded (it depends on the agent), e.g. `~/.aws/credentials`.
    pub files: Vec<String>,
    /// Environment variable names.
    pub env: Vec<String>,
    /// Where it was declared.
    pub src: SourceRef,
}

/// One condition on a tool call, possibly negated.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Atom {
    /// `not`.
    pub negated: bool,
    /// The test.
    pub test: Test,
}

/// What a test reads from the request: an argument, or a part of a `url` argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Operand {
    /// The argument's name.
    pub arg: String,
    /// For `url` arguments: which part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<UrlField>,
}

/// Parts of a URL (parsed with the `url` crate, WHATWG rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlField {
    /// Lower-case scheme without `:` (string).
    Scheme,
    /// Host: a domain (lower-case) or an IP literal (string; domain patterns apply).
    Host,
    /// Port, or the scheme's default port (int; absent = no match).
    Port,
    /// Path, percent-encoded as parsed, starting with `/` (string).
    Path,
}

/// A typed scalar.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

/// A scalar operand: a literal, or a param bound at decision time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scalar {
    /// A literal.
    Lit(Value),
    /// A param's qualified name.
    Param(String),
}

/// A set operand: literal elements, or a set-typed param.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SetOperand {
    /// Literal elements (all of the operand's type).
    Lit(BTreeSet<Value>),
    /// A param's qualified name.
    Param(String),
}

/// Integer comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CmpOp {
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// A test on a tool call. Every operand is typed: the checker guarantees the
/// operand's type fits the test (see each variant).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum Test {
    /// `lhs == rhs` for string, int or bool operands (`!=` is a negated `Eq`).
    Eq {
        /// The operand.
        lhs: Operand,
        /// The value.
        rhs: Scalar,
    },
    /// Integer ordering.
    Cmp {
        /// An int operand (an int argument or `url.port`).
        lhs: Operand,
        /// The operator.
        op: CmpOp,
        /// An int literal or int param.
        rhs: Scalar,
    },
    /// Membership of a string or int operand in a set.
    In {
        /// The operand.
        lhs: Operand,
        /// The set.
        set: SetOperand,
    },
    /// A string operand matches a Cedar `like` pattern.
    Like {
        /// A string operand (string argument, `url.scheme`, `url.path`, `url.host`).
        lhs: Operand,
        /// The pattern.
        pattern: LikePattern,
    },
    /// `url.host` matches one of the domain patterns (or CIDRs, for IP hosts).
    HostIn {
        /// A `url` argument's host.
        lhs: Operand,
        /// Alternatives.
        hosts: Vec<Host>,
    },
    /// A `path` argument matches one of the globs.
    PathIn {
        /// A path argument.
        lhs: Operand,
        /// Alternatives.
        globs: Vec<Glob>,
    },
    /// The argument's value derives from an `untrusted` tool output (the request says so).
    Tainted {
        /// The argument's name.
        arg: String,
    },
    /// Some string argument contains the value of environment variable `var`
    /// (from the request's `secrets` map; absent there = cannot be contained).
    ContainsSecret {
        /// The secret's qualified name.
        secret: String,
        /// The environment variable.
        var: String,
    },
}

/// `assert never ...`: no request matching the pattern may get a forbidden effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    /// Whose requests.
    pub target: AssertTarget,
    /// Effects that must never be decided: `[allow]` for `never allow`, `[allow, ask]` for `never`.
    pub forbidden: Vec<Effect>,
    /// The action(s) covered (one entry per action the pattern names).
    pub actions: Vec<Action>,
    /// Which requests (same shapes as rule matchers).
    pub matcher: Matcher,
    /// Which layers the pattern covers: the requests of its kind, or (for
    /// `assert never WHO read PATTERN`) every way to read a matching file.
    /// Absent from the JSON for the kind form.
    #[serde(default, skip_serializing_if = "AssertLayers::is_kind")]
    pub layers: AssertLayers,
    /// The `assert` item.
    pub src: SourceRef,
}

/// The layers an assertion covers (semantics.md §8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssertLayers {
    /// Requests of the kind the pattern names, only
    /// (`assert never * fs read "~/.ssh/**"`: fs requests).
    #[default]
    Kind,
    /// `assert never * read "~/.ssh/**"`: the matcher is an fs matcher with
    /// action `read`, and the assertion covers every request that reads a
    /// matching file: fs reads, and tool calls whose `path`-typed argument or
    /// `file:` URL argument names one ([`crate::eval::reads`]).
    Cross,
}

impl AssertLayers {
    /// The kind form (the default, left out of the JSON).
    pub fn is_kind(&self) -> bool {
        *self == AssertLayers::Kind
    }
}

/// Who an assertion is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "who", rename_all = "lowercase")]
pub enum AssertTarget {
    /// Every agent and every skill.
    All,
    /// One agent (not its skills: skills can only narrow).
    Agent {
        /// Agent name.
        agent: String,
    },
    /// One skill.
    Skill {
        /// Agent name.
        agent: String,
        /// Skill name.
        skill: String,
    },
}

/// A `test` block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Its name.
    pub name: String,
    /// Expectations in order.
    pub expects: Vec<Expectation>,
    /// The `test` item.
    pub src: SourceRef,
}

/// `expect EFFECT REQUEST`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// The expected effect.
    pub effect: Effect,
    /// The request (`~` expanded, literals validated).
    pub request: crate::request::Request,
    /// The `expect` line.
    pub src: SourceRef,
}
