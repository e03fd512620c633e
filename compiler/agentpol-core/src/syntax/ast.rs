//! The abstract syntax tree of one `.agentpol` file.
//!
//! The tree is what the parser saw, with byte spans, before any name is
//! resolved or any literal validated: a string is still a string whether it
//! will become a path glob, a domain or a tool-argument value. Comments are not
//! nodes; the parser returns them beside the tree (see
//! [`ParsedFile::comments`](super::ParsedFile)) and the formatter re-attaches
//! them by position.
//!
//! Architecture invariant: parsing never fails. A syntax error yields an
//! [`Item::Error`] or [`Member::Error`] node covering the skipped text, plus a
//! diagnostic, so the LSP always has a tree to work with.

use crate::span::{Span, Spanned};

/// A whole file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    /// `version 1`, if present.
    pub version: Option<Spanned<u32>>,
    /// Top-level items in source order.
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// An identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// Its text.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A possibly qualified name: `contacts`, `secrets::ssh_keys`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QualName {
    /// The `::`-separated parts, at least one.
    pub parts: Vec<Ident>,
    /// The whole name.
    pub span: Span,
}

impl QualName {
    /// The parts joined with `::`.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join("::")
    }
}

/// A top-level item.
// Items are few per file; boxing the large variants would only make every
// match on them noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `import std::secrets` / `import "common.agentpol" as common`.
    Import(Import),
    /// `const WORK = "/home/agent/work"`.
    Const(ConstDecl),
    /// `set private = { 10.0.0.0/8, "fc00::/7" }`.
    Set(SetDecl),
    /// `param contacts: set<string>`.
    Param(ParamDecl),
    /// `secret aws { file "~/.aws/credentials" env "AWS_SECRET_ACCESS_KEY" }`.
    Secret(SecretDecl),
    /// `tool send_email(to: string, body: string) -> untrusted`.
    Tool(ToolDecl),
    /// `profile baseline { ... }`.
    Profile(Block),
    /// `agent openclaw { ... }`.
    Agent(Block),
    /// `assert never openclaw fs read "~/.ssh/**"`.
    Assert(Assert),
    /// `test "name" { expect ... }`.
    Test(TestDecl),
    /// Text the parser skipped after a syntax error.
    Error(Span),
}

impl Item {
    /// The item's span.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Const(i) => i.span,
            Item::Set(i) => i.span,
            Item::Param(i) => i.span,
            Item::Secret(i) => i.span,
            Item::Tool(i) => i.span,
            Item::Profile(i) | Item::Agent(i) => i.span,
            Item::Assert(i) => i.span,
            Item::Test(i) => i.span,
            Item::Error(s) => *s,
        }
    }
}

/// What an import names.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportTarget {
    /// `std::secrets`.
    Module(QualName),
    /// `"common.agentpol"`, relative to the importing file.
    File(StrLit),
}

/// `import TARGET (as ALIAS)?`. A module import's default alias is its last part.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// What is imported.
    pub target: ImportTarget,
    /// `as NAME` (required for file imports).
    pub alias: Option<Ident>,
    /// The whole item.
    pub span: Span,
}

/// `const NAME = VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstDecl {
    /// The name.
    pub name: Ident,
    /// A string or integer (or a name of another const).
    pub value: Expr,
    /// The whole item.
    pub span: Span,
}

/// `set NAME = { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SetDecl {
    /// The name.
    pub name: Ident,
    /// The elements.
    pub value: SetLit,
    /// The whole item.
    pub span: Span,
}

/// `param NAME: TYPE`: a value bound by the caller at decision time.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// The name.
    pub name: Ident,
    /// Its declared type.
    pub ty: TypeExpr,
    /// The whole item.
    pub span: Span,
}

/// A written type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeExpr {
    /// Which type.
    pub kind: TypeKind,
    /// Where it was written.
    pub span: Span,
}

/// The types of tool arguments and params.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// `string`.
    String,
    /// `int` (64-bit signed).
    Int,
    /// `bool`.
    Bool,
    /// `url`: a WHATWG URL with `.scheme`, `.host`, `.port`, `.path`.
    Url,
    /// `path`: an absolute file path, matched with path globs.
    Path,
    /// `set<T>` (params only).
    Set(Box<TypeExpr>),
}

/// `secret NAME { file ... env ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretDecl {
    /// The name.
    pub name: Ident,
    /// Where the credential lives.
    pub sources: Vec<SecretSource>,
    /// The whole item.
    pub span: Span,
}

/// One place a secret lives.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretSource {
    /// `file "~/.aws/credentials"` or `file { ..., ... }` (path globs).
    File(Expr),
    /// `env "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"`.
    Env(Vec<StrLit>),
}

/// `tool NAME(ARGS) (-> LABELS)?` at module level.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDecl {
    /// The tool's name as the agent runtime knows it.
    pub name: Ident,
    /// Its signature.
    pub sig: ToolSig,
    /// The whole item.
    pub span: Span,
}

/// A tool signature: `(to: string, password: secret string) -> untrusted`.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSig {
    /// Arguments in order.
    pub args: Vec<ArgDecl>,
    /// Output labels after `->`, e.g. `untrusted`.
    pub labels: Vec<Ident>,
    /// From `(` to the last label.
    pub span: Span,
}

/// `NAME: (secret)? TYPE`.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgDecl {
    /// The argument's name.
    pub name: Ident,
    /// Its type (never `set<..>`).
    pub ty: TypeExpr,
    /// Annotated `secret`: the value is a credential, redacted in logs.
    pub secret: Option<Span>,
    /// The whole declaration.
    pub span: Span,
}

/// Which kind of block a [`Block`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `agent`.
    Agent,
    /// `profile`.
    Profile,
    /// `skill` (only inside an agent).
    Skill,
}

/// An `agent`, `profile` or `skill` with its members.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Which keyword introduced it.
    pub kind: BlockKind,
    /// The name.
    pub name: Ident,
    /// The body in source order.
    pub members: Vec<Member>,
    /// The whole block.
    pub span: Span,
}

/// A member of an agent, profile or skill body.
#[derive(Clone, Debug, PartialEq)]
pub enum Member {
    /// `home "/home/agent"` (agents only).
    Home(StrLit, Span),
    /// `scope cgroup ("path")?` or `scope uid N` (agents only).
    Scope(ScopeDecl),
    /// `resolvers { 1.1.1.1, "2606:4700:4700::1111" }` (agents only).
    Resolvers(Expr, Span),
    /// `selector { namespace "agents" labels { app: "openclaw" } }` (agents only).
    Selector(SelectorDecl),
    /// `include std::openclaw::baseline`.
    Include(QualName, Span),
    /// `fs { ... }`.
    Fs(RuleBlock<FsRule>),
    /// `exec { ... }`.
    Exec(RuleBlock<ExecRule>),
    /// `net { ... }`.
    Net(RuleBlock<NetRule>),
    /// `tool NAME (SIG)? { ... }`.
    Tool(ToolBlock),
    /// `secrets { ... }`.
    Secrets(RuleBlock<SecretRule>),
    /// `skill NAME { ... }` (agents only).
    Skill(Block),
    /// Text the parser skipped after a syntax error.
    Error(Span),
}

/// How an agent's processes are identified by kernel and firewall targets.
#[derive(Clone, Debug, PartialEq)]
pub enum ScopeKind {
    /// Its own cgroup; the path defaults to `agentpol/<agent>`.
    Cgroup(Option<StrLit>),
    /// A dedicated user id.
    Uid(Spanned<u64>),
}

/// `scope ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeDecl {
    /// Cgroup or uid.
    pub kind: ScopeKind,
    /// The whole member.
    pub span: Span,
}

/// `selector { namespace "x" labels { k: "v" } }`: where the agent runs in Kubernetes.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectorDecl {
    /// `namespace "agents"`.
    pub namespace: Option<StrLit>,
    /// `labels { app: "openclaw" }`.
    pub labels: Vec<(Ident, StrLit)>,
    /// The whole member.
    pub span: Span,
}

/// `KIND { rules }`.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleBlock<R> {
    /// Rules in source order.
    pub rules: Vec<R>,
    /// The whole block including the keyword.
    pub span: Span,
}

/// `allow`, `deny` or `ask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EffectKw {
    /// `allow`.
    Allow,
    /// `deny`.
    Deny,
    /// `ask`.
    Ask,
}

/// `all` or a comma-separated list of actions.
#[derive(Clone, Debug, PartialEq)]
pub enum Actions<A> {
    /// `all`.
    All(Span),
    /// `read, write`.
    List(Vec<Spanned<A>>),
}

/// File-system actions as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FsActionKw {
    /// `read`.
    Read,
    /// `write`.
    Write,
    /// `create`.
    Create,
    /// `delete`.
    Delete,
    /// `rename`.
    Rename,
    /// `link`.
    Link,
    /// `mkdir`.
    Mkdir,
}

/// Network actions as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetActionKw {
    /// `connect`.
    Connect,
    /// `listen`.
    Listen,
    /// `sendto`.
    Sendto,
}

/// Transport protocols as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtoKw {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `any`.
    Any,
}

/// What an fs rule or fs pattern matches: `read, write "~/work/**"`.
#[derive(Clone, Debug, PartialEq)]
pub struct FsMatch {
    /// The actions.
    pub actions: Actions<FsActionKw>,
    /// A path glob, a set of them, or a name of a set/const/secret.
    pub targets: Expr,
}

/// `EFFECT ACTIONS TARGETS` in an `fs` block.
#[derive(Clone, Debug, PartialEq)]
pub struct FsRule {
    /// The effect.
    pub effect: Spanned<EffectKw>,
    /// What it matches.
    pub body: FsMatch,
    /// The whole rule.
    pub span: Span,
}

/// `args ["status", "*", ..]`: argv[1..] patterns; `..` last means "any further arguments".
#[derive(Clone, Debug, PartialEq)]
pub struct ArgsPattern {
    /// One pattern per position (Cedar `like` syntax: `*` matches any characters).
    pub items: Vec<StrLit>,
    /// A trailing `..`.
    pub rest: Option<Span>,
    /// From `args` to `]`.
    pub span: Span,
}

/// What an exec rule or exec pattern matches: `"/usr/bin/git" args ["status", ..]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecMatch {
    /// Binary path globs.
    pub binaries: Expr,
    /// Optional argument patterns.
    pub args: Option<ArgsPattern>,
}

/// `EFFECT BINARIES (args [...])?` in an `exec` block.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecRule {
    /// The effect.
    pub effect: Spanned<EffectKw>,
    /// What it matches.
    pub body: ExecMatch,
    /// The whole rule.
    pub span: Span,
}

/// What a net rule or pattern matches: `connect tcp { "api.github.com", 140.82.112.0/20 } port 443`.
#[derive(Clone, Debug, PartialEq)]
pub struct NetMatch {
    /// The actions.
    pub actions: Actions<NetActionKw>,
    /// `tcp`, `udp`, `any` (absent = any).
    pub proto: Option<Spanned<ProtoKw>>,
    /// Addresses, CIDRs, domains or a name; absent = any address.
    pub targets: Option<Expr>,
    /// `port 443`, `port 8000..8080`, `port { 80, 443 }`, `port any`; absent = any port.
    pub ports: Option<Expr>,
}

/// `EFFECT ACTIONS PROTO? TARGETS? (port PORTS)?` in a `net` block.
#[derive(Clone, Debug, PartialEq)]
pub struct NetRule {
    /// The effect.
    pub effect: Spanned<EffectKw>,
    /// What it matches.
    pub body: NetMatch,
    /// The whole rule.
    pub span: Span,
}

/// `tool NAME (SIG)? { rules }` inside an agent, profile or skill.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolBlock {
    /// The tool.
    pub name: Ident,
    /// An inline signature also declares the tool.
    pub sig: Option<ToolSig>,
    /// Rules in source order.
    pub rules: Vec<ToolRule>,
    /// The whole block.
    pub span: Span,
}

/// `EFFECT (when COND)?` in a tool block.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolRule {
    /// The effect.
    pub effect: Spanned<EffectKw>,
    /// The condition; absent = every call.
    pub cond: Option<Cond>,
    /// The whole rule.
    pub span: Span,
}

/// `EFFECT read NAME, NAME` in a `secrets` block.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretRule {
    /// The effect.
    pub effect: Spanned<EffectKw>,
    /// Secret names.
    pub names: Vec<QualName>,
    /// The whole rule.
    pub span: Span,
}

/// A boolean condition over tool arguments.
///
/// `and`/`or` chains are flat vectors, so a long chain does not make a deep tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `a or b or c` (two or more).
    Or(Vec<Cond>, Span),
    /// `a and b and c` (two or more).
    And(Vec<Cond>, Span),
    /// `not c`.
    Not(Box<Cond>, Span),
    /// `( c )`: kept so the formatter can reprint it.
    Paren(Box<Cond>, Span),
    /// A comparison.
    Atom(Atom),
}

impl Cond {
    /// The condition's span.
    pub fn span(&self) -> Span {
        match self {
            Cond::Or(_, s) | Cond::And(_, s) | Cond::Not(_, s) | Cond::Paren(_, s) => *s,
            Cond::Atom(a) => a.span(),
        }
    }
}

/// The left side of a comparison: `amount`, `url.host`.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    /// The tool argument.
    pub arg: Ident,
    /// A field of a `url` argument: `scheme`, `host`, `port`, `path`.
    pub field: Option<Ident>,
    /// The whole operand.
    pub span: Span,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOpKw {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// One comparison in a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Atom {
    /// `amount <= 1000`, `to == param owner`.
    Compare {
        /// Left side.
        lhs: Operand,
        /// Operator.
        op: Spanned<CmpOpKw>,
        /// Right side: a literal, a const name or `param NAME`.
        rhs: Expr,
        /// The whole atom.
        span: Span,
    },
    /// `to in param contacts`, `url.host not in { "*.github.com" }`.
    In {
        /// Left side.
        lhs: Operand,
        /// `not in`.
        negated: bool,
        /// A set literal, a set name or `param NAME`.
        set: Expr,
        /// The whole atom.
        span: Span,
    },
    /// `note like "invoice *"`.
    Like {
        /// Left side.
        lhs: Operand,
        /// `not like`.
        negated: bool,
        /// The pattern (Cedar `like`: `*` = any characters, `\*` = a star).
        pattern: StrLit,
        /// The whole atom.
        span: Span,
    },
    /// `tainted(body)`: the value came from an `untrusted` tool output.
    Tainted {
        /// The argument.
        arg: Ident,
        /// The whole atom.
        span: Span,
    },
}

impl Atom {
    /// The atom's span.
    pub fn span(&self) -> Span {
        match self {
            Atom::Compare { span, .. }
            | Atom::In { span, .. }
            | Atom::Like { span, .. }
            | Atom::Tainted { span, .. } => *span,
        }
    }
}

/// A value in any value position; the checker decides what it must be.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `"..."`, possibly with `${NAME}` interpolation.
    Str(StrLit),
    /// `443`.
    Int(Spanned<u64>),
    /// `true` / `false`.
    Bool(Spanned<bool>),
    /// A bare IPv4 address or CIDR: `10.0.0.0/8`, `1.1.1.1` (text kept verbatim).
    Ip(Spanned<String>),
    /// `8000..8080`.
    Range(Spanned<u64>, Spanned<u64>, Span),
    /// A name of a const, set or secret.
    Name(QualName),
    /// `param NAME`.
    Param(QualName, Span),
    /// `{ a, b, c }`.
    Set(SetLit),
    /// `any` (ports, targets).
    Any(Span),
}

impl Expr {
    /// The expression's span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Str(s) => s.span,
            Expr::Int(i) => i.span,
            Expr::Bool(b) => b.span,
            Expr::Ip(i) => i.span,
            Expr::Range(_, _, s) | Expr::Param(_, s) | Expr::Any(s) => *s,
            Expr::Name(n) => n.span,
            Expr::Set(s) => s.span,
        }
    }
}

/// `{ e1, e2, ... }`. Elements are never sets themselves; a name of a set splices it.
#[derive(Clone, Debug, PartialEq)]
pub struct SetLit {
    /// The elements.
    pub elems: Vec<Expr>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A string literal, split into text and `${NAME}` interpolations.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    /// The pieces, escapes already decoded.
    pub parts: Vec<StrPart>,
    /// Including the quotes.
    pub span: Span,
}

impl StrLit {
    /// The text if there is no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Text(t, _) => out.push_str(t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(out)
    }
}

/// A piece of a string literal.
#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    /// Literal text (escapes decoded) and its span in the source.
    Text(String, Span),
    /// `${NAME}`: the const's value is substituted.
    Interp(QualName),
}

/// `assert never (allow)? WHO PATTERN`.
#[derive(Clone, Debug, PartialEq)]
pub struct Assert {
    /// `never allow` forbids only allow (asking is fine); plain `never` forbids allow and ask.
    pub only_allow: Option<Span>,
    /// Whose requests.
    pub target: AgentRef,
    /// Which requests.
    pub pattern: RequestPattern,
    /// The whole item.
    pub span: Span,
}

/// Who makes a request: `*`, `openclaw`, `openclaw.pdf_summary`.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentRef {
    /// `*`: every agent and every skill (assertions only).
    All(Span),
    /// An agent.
    Agent(Ident),
    /// A skill of an agent.
    Skill(Ident, Ident),
}

/// A set of requests (assertions).
#[derive(Clone, Debug, PartialEq)]
pub enum RequestPattern {
    /// `fs ACTIONS TARGETS`.
    Fs(FsMatch, Span),
    /// `exec BINARIES (args [...])?`.
    Exec(ExecMatch, Span),
    /// `net ACTIONS PROTO? TARGETS? (port PORTS)?`.
    Net(NetMatch, Span),
    /// `tool NAME (when COND)?`.
    Tool(Ident, Option<Cond>, Span),
    /// `env "VAR"`.
    Env(StrLit, Span),
    /// `read TARGETS`, no kind: every way to read a file (an fs read, or a
    /// tool call whose `path` argument or `file:` URL argument names it).
    Read(Expr, Span),
}

/// `test "name" { expect ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    /// The test's name.
    pub name: StrLit,
    /// Expectations in order.
    pub expects: Vec<Expect>,
    /// The whole item.
    pub span: Span,
}

/// `expect EFFECT WHO REQUEST`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// The expected decision.
    pub effect: Spanned<EffectKw>,
    /// Who asks (never `*`).
    pub target: AgentRef,
    /// The concrete request.
    pub request: ConcreteRequest,
    /// The whole line.
    pub span: Span,
}

/// A concrete request in a test.
#[derive(Clone, Debug, PartialEq)]
pub enum ConcreteRequest {
    /// `fs read "/home/agent/.ssh/id_ed25519"` (`~` allowed).
    Fs {
        /// The action.
        action: Spanned<FsActionKw>,
        /// The path.
        path: StrLit,
    },
    /// `exec "/usr/bin/git" args ["status"]`.
    Exec {
        /// The binary.
        path: StrLit,
        /// argv[1..].
        args: Vec<StrLit>,
    },
    /// `net connect tcp "api.github.com" port 443` or `net connect udp 1.1.1.1 port 53`.
    Net {
        /// The action.
        action: Spanned<NetActionKw>,
        /// The protocol (absent = tcp).
        proto: Option<Spanned<ProtoKw>>,
        /// An IP address (bare v4 or a string) or a domain (a string).
        addr: Expr,
        /// The port.
        port: Spanned<u64>,
    },
    /// `tool send_email { to: "a@b", body: "hi" } with { contacts: { "a@b" } } tainted(body)`.
    Tool {
        /// The tool.
        name: Ident,
        /// Argument values.
        args: Vec<Field>,
        /// Param bindings after `with`.
        params: Vec<Field>,
        /// Tainted argument names.
        tainted: Vec<Ident>,
    },
    /// `env "GITHUB_TOKEN"`.
    Env {
        /// The variable.
        var: StrLit,
    },
}

/// `name: value` in a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field name (a param name may be qualified: `std::openclaw::contacts`).
    pub name: QualName,
    /// Its value.
    pub value: Expr,
}
