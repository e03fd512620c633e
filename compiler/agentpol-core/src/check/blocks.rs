//! Elaboration: each agent, profile and skill body is checked once into the
//! *elaborated form* — the checker's intermediate stage between the AST and
//! the IR, whose types are named `Elab*` ([`ElabBody`], [`ElabRule`],
//! [`ElabMatcher`], and `ElabAtom` in `cond.rs`).
//!
//! The elaborated form is home-independent: names are resolved, literals
//! validated, conditions in DNF, but globs that start with `~` are still
//! pending (a profile is written once and included by agents with different
//! homes) and includes are references to other bodies. Lowering
//! (`lower.rs`) places elaborated bodies into agents: it expands `~` with
//! each agent's home, flattens includes and assigns rule ids. Keeping this
//! stage separate is what lets a profile be checked (and reported on) once,
//! however many agents include it.

use super::cond::ElabAtom;
use super::ctx::{Checker, DefId, DefKind};
use super::glob::{parse_home, Home, PathPat};
use super::misc::{check_cgroup_path, check_label, check_namespace, parse_like};
use super::net::{looks_like_ip, parse_addr};
use super::ruleid::{normalise, text_key, TextKey};
use crate::diag::{codes, Diag};
use crate::ir::{self, Action, Effect, Host, PortRange, Proto};
use crate::span::Span;
use crate::syntax::ast::{
    self, Actions, Block, BlockKind, EffectKw, Expr, FsActionKw, Member, NetActionKw, ProtoKw,
    ScopeKind,
};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::rc::Rc;

/// A matcher whose globs may still hold `~`.
#[derive(Clone, Debug)]
pub enum ElabMatcher {
    /// Paths.
    Fs(Rc<Vec<PathPat>>),
    /// Binaries and argument patterns.
    Exec(Rc<Vec<PathPat>>, Option<ir::ArgsPattern>),
    /// Sockets.
    Net {
        /// Protocol.
        proto: Proto,
        /// Hosts; None = any.
        hosts: Option<Vec<Host>>,
        /// Ports; None = any.
        ports: Option<Vec<PortRange>>,
    },
    /// Tool calls.
    Tool {
        /// The tool (None: every tool).
        tool: Option<String>,
        /// A conjunction.
        conds: Vec<ElabAtom>,
    },
    /// Environment variables.
    Env(Vec<String>),
}

impl ElabMatcher {
    /// True if a glob needs the agent's home.
    pub fn needs_home(&self) -> bool {
        match self {
            ElabMatcher::Fs(g) | ElabMatcher::Exec(g, _) => g.iter().any(|p| p.tilde),
            ElabMatcher::Tool { conds, .. } => conds.iter().any(ElabAtom::needs_home),
            ElabMatcher::Net { .. } | ElabMatcher::Env(_) => false,
        }
    }
}

/// Some of the IR rules a source rule lowers to: one per action.
#[derive(Clone, Debug)]
pub struct ElabPart {
    /// Actions, in a fixed order.
    pub actions: Vec<Action>,
    /// What they match.
    pub matcher: ElabMatcher,
    /// The secret this part comes from.
    pub secret: Option<String>,
}

/// A checked source rule.
#[derive(Clone, Debug)]
pub struct ElabRule {
    /// Its effect.
    pub effect: Effect,
    /// The source rule.
    pub span: Span,
    /// Digest of its normalised text (for the id).
    pub key: TextKey,
    /// What it lowers to, in order.
    pub parts: Vec<ElabPart>,
    /// A part holds a `~` glob (set by [`ElabRule::new`]).
    pub needs_home: bool,
}

impl ElabRule {
    /// Fills in `needs_home`.
    pub fn new(mut rule: ElabRule) -> ElabRule {
        rule.needs_home = rule.parts.iter().any(|p| p.matcher.needs_home());
        rule
    }
}

/// A member of a checked body.
#[derive(Clone, Debug)]
pub enum ElabMember {
    /// A rule.
    Rule(ElabRule),
    /// `include PROFILE`.
    Include {
        /// The profile.
        profile: DefId,
        /// The include member.
        site: Span,
    },
}

/// An elaborated body (of an agent, profile or skill): checked rules with
/// `~` still pending, and includes by reference. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct ElabBody {
    /// Rules and includes in source order.
    pub members: Vec<ElabMember>,
}

/// A checked skill.
#[derive(Clone, Debug)]
pub struct ElabSkill {
    /// Its name.
    pub name: String,
    /// Where the name is.
    pub name_span: Span,
    /// The whole block.
    pub span: Span,
    /// Its body.
    pub body: ElabBody,
}

/// A checked agent.
#[derive(Clone, Debug)]
pub struct ElabAgent {
    /// Its name.
    pub name: String,
    /// Where the name is.
    pub name_span: Span,
    /// The whole block.
    pub span: Span,
    /// `home`.
    pub home: Option<Home>,
    /// `scope` (None = default).
    pub scope: Option<ir::Scope>,
    /// `resolvers`.
    pub resolvers: Vec<IpAddr>,
    /// `selector`.
    pub selector: Option<ir::Selector>,
    /// Its body.
    pub body: ElabBody,
    /// Its skills.
    pub skills: Vec<ElabSkill>,
}

/// Header members seen so far in an agent (for duplicates).
#[derive(Default)]
struct Header {
    home: Option<(Home, Span)>,
    scope: Option<(ir::Scope, Span)>,
    resolvers: Option<(Vec<IpAddr>, Span)>,
    selector: Option<(ir::Selector, Span)>,
}

/// The IR action of an fs keyword.
pub fn fs_action_of(a: FsActionKw) -> Action {
    match a {
        FsActionKw::Read => Action::Read,
        FsActionKw::Write => Action::Write,
        FsActionKw::Create => Action::Create,
        FsActionKw::Delete => Action::Delete,
        FsActionKw::Rename => Action::Rename,
        FsActionKw::Link => Action::Link,
        FsActionKw::Mkdir => Action::Mkdir,
    }
}

/// The IR action of a net keyword.
pub fn net_action_of(a: NetActionKw) -> Action {
    match a {
        NetActionKw::Connect => Action::Connect,
        NetActionKw::Listen => Action::Listen,
        NetActionKw::Sendto => Action::Sendto,
    }
}

/// The IR effect of a keyword.
pub fn effect(e: EffectKw) -> Effect {
    match e {
        EffectKw::Allow => Effect::Allow,
        EffectKw::Deny => Effect::Deny,
        EffectKw::Ask => Effect::Ask,
    }
}

/// The IR protocol of an optional keyword.
pub fn proto(p: Option<&crate::span::Spanned<ProtoKw>>) -> Proto {
    match p.map(|p| p.node) {
        Some(ProtoKw::Tcp) => Proto::Tcp,
        Some(ProtoKw::Udp) => Proto::Udp,
        Some(ProtoKw::Any) | None => Proto::Any,
    }
}

impl Checker<'_> {
    /// Reports `ask` outside tool blocks; true if the effect is usable.
    fn effect_ok(&mut self, e: &crate::span::Spanned<EffectKw>, where_: &str) -> bool {
        if e.node == EffectKw::Ask {
            self.diags.push(
                Diag::error(&codes::ASK_OUTSIDE_TOOL, e.span, format!("`ask` is not allowed on {where_} rules"))
                    .label("`ask` needs a human, which only the tool gate can wait for")
                    .help("`ask` exists only at the tool layer (the kernel and firewall cannot wait for a person): use `allow` or `deny` here"),
            );
            return false;
        }
        true
    }

    /// The actions of a rule or pattern, duplicates warned about (AP0410).
    pub fn fs_actions(&mut self, actions: &Actions<FsActionKw>) -> Vec<Action> {
        match actions {
            Actions::All(_) => Action::FS.to_vec(),
            Actions::List(list) => {
                self.action_list(list.iter().map(|a| (fs_action_of(a.node), a.span)))
            }
        }
    }

    /// Net actions, like [`Checker::fs_actions`].
    pub fn net_actions(&mut self, actions: &Actions<NetActionKw>) -> Vec<Action> {
        match actions {
            Actions::All(_) => Action::NET.to_vec(),
            Actions::List(list) => {
                self.action_list(list.iter().map(|a| (net_action_of(a.node), a.span)))
            }
        }
    }

    fn action_list(&mut self, list: impl Iterator<Item = (Action, Span)>) -> Vec<Action> {
        let mut out: Vec<Action> = Vec::new();
        for (a, span) in list {
            if out.contains(&a) {
                self.diags.push(
                    Diag::warning(
                        &codes::DUPLICATE_ACTION,
                        span,
                        format!("`{}` is listed twice", a.as_str()),
                    )
                    .label("listed again")
                    .help("remove the duplicate"),
                );
            } else {
                out.push(a);
            }
        }
        out
    }

    fn warn_empty(&mut self, span: Span) {
        self.diags.push(
            Diag::warning(
                &codes::EMPTY_TARGETS,
                span,
                "this rule's target set is empty, so it matches nothing",
            )
            .label("empty")
            .help("fill in the set, or remove the rule"),
        );
    }

    /// The key of a rule: its block context and normalised text.
    fn rule_key(&self, context: &str, span: Span) -> TextKey {
        text_key(context, &normalise(self.text(span)))
    }

    /// An exec `args [...]` pattern.
    pub fn args_pattern(
        &mut self,
        module: usize,
        args: &ast::ArgsPattern,
    ) -> Option<ir::ArgsPattern> {
        let mut items = Vec::with_capacity(args.items.len());
        let mut ok = true;
        for item in &args.items {
            let Some(text) = self.interpolate(module, item) else {
                ok = false;
                continue;
            };
            match parse_like(&text) {
                Ok(p) => items.push(p),
                Err(e) => {
                    self.diags.push(e.error_at(item.span));
                    ok = false;
                }
            }
        }
        ok.then_some(ir::ArgsPattern {
            items,
            rest: args.rest.is_some(),
        })
    }

    /// Resolves a tool by name (AP0206 with a suggestion if unknown) and records the reference.
    pub fn tool_by_name(&mut self, name: &ast::Ident) -> Option<usize> {
        match self.tool_index.get(&name.name).copied() {
            Some(i) => {
                if let Some(t) = self.tools.get(i) {
                    let span = t.name_span;
                    self.reference(name.span, span, name.name.clone());
                }
                Some(i)
            }
            None => {
                let names: Vec<String> = self.tools.iter().map(|t| t.sig.name.clone()).collect();
                let help = match self.suggest(&name.name, names.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`? Otherwise declare the tool: `tool {}(arg: string)`", name.name),
                    None => format!(
                        "declare it at module level (`tool {}(arg: string)`) or inline (`tool {}(arg: string) {{ ... }}`)",
                        name.name, name.name
                    ),
                };
                self.diags.push(
                    Diag::error(
                        &codes::UNKNOWN_TOOL,
                        name.span,
                        format!("the tool `{}` has no signature", name.name),
                    )
                    .label("unknown tool")
                    .help(help),
                );
                None
            }
        }
    }

    fn misplaced(&mut self, span: Span, what: &str, kind: BlockKind) {
        let (where_, help) = match kind {
            BlockKind::Profile if what == "skill" => (
                "a profile",
                "profiles have no skills; define the skill in each agent that includes this profile".to_string(),
            ),
            BlockKind::Profile => (
                "a profile",
                format!("`{what}` belongs in an agent; move it to each agent that includes this profile"),
            ),
            BlockKind::Skill => ("a skill", format!("`{what}` belongs in the skill's agent")),
            BlockKind::Agent => ("an agent", format!("`{what}` is not allowed here")),
        };
        self.diags.push(
            Diag::error(
                &codes::MISPLACED_MEMBER,
                span,
                format!("`{what}` is not allowed in {where_}"),
            )
            .label("not allowed here")
            .help(help),
        );
    }

    fn duplicate_member(&mut self, span: Span, first: Span, what: &str) {
        self.diags.push(
            Diag::error(
                &codes::DUPLICATE_MEMBER,
                span,
                format!("`{what}` is given twice"),
            )
            .label("given again")
            .with_label(first, "first given here")
            .help(format!(
                "an agent has one `{what}`; remove or merge one of them"
            )),
        );
    }

    /// Elaborates a profile's body.
    pub fn elab_profile(&mut self, module: usize, block: &Block) -> ElabBody {
        self.elab_body(module, &block.members, BlockKind::Profile, None, None)
    }

    /// Elaborates an agent.
    pub fn elab_agent(&mut self, module: usize, block: &Block) -> ElabAgent {
        let mut header = Header::default();
        let mut skills = Vec::new();
        let body = self.elab_body(
            module,
            &block.members,
            BlockKind::Agent,
            Some(&mut header),
            Some(&mut skills),
        );
        ElabAgent {
            name: block.name.name.clone(),
            name_span: block.name.span,
            span: block.span,
            home: header.home.map(|h| h.0),
            scope: header.scope.map(|s| s.0),
            resolvers: header.resolvers.map(|r| r.0).unwrap_or_default(),
            selector: header.selector.map(|s| s.0),
            body,
            skills,
        }
    }

    fn elab_body(
        &mut self,
        module: usize,
        members: &[Member],
        kind: BlockKind,
        mut header: Option<&mut Header>,
        mut skills: Option<&mut Vec<ElabSkill>>,
    ) -> ElabBody {
        let mut body = ElabBody::default();
        let mut skill_names: HashMap<String, Span> = HashMap::new();
        for member in members {
            match member {
                Member::Home(lit, span) => {
                    let Some(h) = header.as_deref_mut() else {
                        self.misplaced(*span, "home", kind);
                        continue;
                    };
                    if let Some((_, first)) = &h.home {
                        let first = *first;
                        self.duplicate_member(*span, first, "home");
                        continue;
                    }
                    let Some(text) = self.interpolate(module, lit) else {
                        continue;
                    };
                    match parse_home(&text) {
                        Ok((home, warn)) => {
                            if let Some(w) = warn {
                                self.diags.push(w.warning_at(lit.span));
                            }
                            h.home = Some((home, *span));
                        }
                        Err(e) => self.diags.push(e.error_at(lit.span)),
                    }
                }
                Member::Scope(sc) => {
                    let Some(h) = header.as_deref_mut() else {
                        self.misplaced(sc.span, "scope", kind);
                        continue;
                    };
                    if let Some((_, first)) = &h.scope {
                        let first = *first;
                        self.duplicate_member(sc.span, first, "scope");
                        continue;
                    }
                    let scope = match &sc.kind {
                        ScopeKind::Cgroup(None) => None,
                        ScopeKind::Cgroup(Some(lit)) => {
                            let Some(text) = self.interpolate(module, lit) else {
                                continue;
                            };
                            match check_cgroup_path(&text) {
                                Ok(p) => Some(ir::Scope::Cgroup { path: p }),
                                Err(e) => {
                                    self.diags.push(e.error_at(lit.span));
                                    continue;
                                }
                            }
                        }
                        ScopeKind::Uid(n) => match u32::try_from(n.node) {
                            Ok(uid) => Some(ir::Scope::Uid { uid }),
                            Err(_) => {
                                self.diags.push(
                                    Diag::error(
                                        &codes::VALUE_OUT_OF_RANGE,
                                        n.span,
                                        format!("uid {} is too large", n.node),
                                    )
                                    .label("not a uid")
                                    .help("uids are at most 4294967295"),
                                );
                                continue;
                            }
                        },
                    };
                    // `scope cgroup` without a path is the default; remember the span for duplicates.
                    h.scope = Some((
                        scope.unwrap_or(ir::Scope::Cgroup {
                            path: String::new(),
                        }),
                        sc.span,
                    ));
                }
                Member::Resolvers(expr, span) => {
                    let Some(h) = header.as_deref_mut() else {
                        self.misplaced(*span, "resolvers", kind);
                        continue;
                    };
                    if let Some((_, first)) = &h.resolvers {
                        let first = *first;
                        self.duplicate_member(*span, first, "resolvers");
                        continue;
                    }
                    if let Some(addrs) = self.addresses(module, expr) {
                        if let Some(h) = header.as_deref_mut() {
                            h.resolvers = Some((addrs, *span));
                        }
                    }
                }
                Member::Selector(sel) => {
                    let Some(h) = header.as_deref_mut() else {
                        self.misplaced(sel.span, "selector", kind);
                        continue;
                    };
                    if let Some((_, first)) = &h.selector {
                        let first = *first;
                        self.duplicate_member(sel.span, first, "selector");
                        continue;
                    }
                    if let Some(s) = self.selector(module, sel) {
                        if let Some(h) = header.as_deref_mut() {
                            h.selector = Some((s, sel.span));
                        }
                    }
                }
                Member::Include(q, span) => {
                    let Some(def) = self.resolve(module, q, &[DefKind::Profile]) else {
                        continue;
                    };
                    match self.kind(def) {
                        Some(DefKind::Profile) => body.members.push(ElabMember::Include {
                            profile: def,
                            site: *span,
                        }),
                        Some(DefKind::Agent) => {
                            let first = self.defs.get(def).map(|d| d.name_span).unwrap_or(q.span);
                            self.diags.push(
                                Diag::error(&codes::INCLUDE_NOT_PROFILE, q.span, format!("`{}` is an agent, not a profile", q.text()))
                                    .label("agents cannot be included")
                                    .with_label(first, "defined as an agent here")
                                    .help("move the shared rules into a `profile` and include that from both agents"),
                            );
                        }
                        _ => self.wrong_kind(q.span, def, "a profile", "`include` takes a profile"),
                    }
                }
                Member::Fs(block) => {
                    for rule in &block.rules {
                        if !self.effect_ok(&rule.effect, "fs") {
                            continue;
                        }
                        let actions = self.fs_actions(&rule.body.actions);
                        let Some(paths) = self.path_targets(module, &rule.body.targets) else {
                            continue;
                        };
                        if paths.is_empty() {
                            self.warn_empty(rule.body.targets.span());
                        }
                        body.members.push(ElabMember::Rule(ElabRule::new(ElabRule {
                            effect: effect(rule.effect.node),
                            span: rule.span,
                            key: self.rule_key("fs", rule.span),
                            parts: vec![ElabPart {
                                actions,
                                matcher: ElabMatcher::Fs(Rc::new(paths)),
                                secret: None,
                            }],
                            needs_home: false,
                        })));
                    }
                }
                Member::Exec(block) => {
                    for rule in &block.rules {
                        if !self.effect_ok(&rule.effect, "exec") {
                            continue;
                        }
                        let bins = self.path_targets(module, &rule.body.binaries);
                        let args = match &rule.body.args {
                            Some(a) => match self.args_pattern(module, a) {
                                Some(p) => Some(p),
                                None => continue,
                            },
                            None => None,
                        };
                        let Some(bins) = bins else { continue };
                        if bins.is_empty() {
                            self.warn_empty(rule.body.binaries.span());
                        }
                        body.members.push(ElabMember::Rule(ElabRule::new(ElabRule {
                            effect: effect(rule.effect.node),
                            span: rule.span,
                            key: self.rule_key("exec", rule.span),
                            parts: vec![ElabPart {
                                actions: vec![Action::Exec],
                                matcher: ElabMatcher::Exec(Rc::new(bins), args),
                                secret: None,
                            }],
                            needs_home: false,
                        })));
                    }
                }
                Member::Net(block) => {
                    for rule in &block.rules {
                        if !self.effect_ok(&rule.effect, "net") {
                            continue;
                        }
                        let actions = self.net_actions(&rule.body.actions);
                        let hosts = match &rule.body.targets {
                            Some(t) => self.host_targets(module, t),
                            None => Some(None),
                        };
                        let ports = match &rule.body.ports {
                            Some(p) => self.port_targets(module, p),
                            None => Some(None),
                        };
                        let (Some(hosts), Some(ports)) = (hosts, ports) else {
                            continue;
                        };
                        if let (Some(h), Some(t)) = (&hosts, &rule.body.targets) {
                            if h.is_empty() {
                                self.warn_empty(t.span());
                            }
                        }
                        if let (Some(p), Some(t)) = (&ports, &rule.body.ports) {
                            if p.is_empty() {
                                self.warn_empty(t.span());
                            }
                        }
                        body.members.push(ElabMember::Rule(ElabRule::new(ElabRule {
                            effect: effect(rule.effect.node),
                            span: rule.span,
                            key: self.rule_key("net", rule.span),
                            parts: vec![ElabPart {
                                actions,
                                matcher: ElabMatcher::Net {
                                    proto: proto(rule.body.proto.as_ref()),
                                    hosts,
                                    ports,
                                },
                                secret: None,
                            }],
                            needs_home: false,
                        })));
                    }
                }
                Member::Tool(tb) => {
                    let Some(tool) = self.tool_by_name(&tb.name) else {
                        continue;
                    };
                    let context = format!("tool {}", tb.name.name);
                    for rule in &tb.rules {
                        let disjuncts = match &rule.cond {
                            Some(c) => match self.cond_dnf(module, tool, c) {
                                Some(d) => d,
                                None => continue,
                            },
                            None => vec![Vec::new()],
                        };
                        let parts = disjuncts
                            .into_iter()
                            .map(|conds| ElabPart {
                                actions: vec![Action::Call],
                                matcher: ElabMatcher::Tool {
                                    tool: Some(tb.name.name.clone()),
                                    conds,
                                },
                                secret: None,
                            })
                            .collect();
                        body.members.push(ElabMember::Rule(ElabRule::new(ElabRule {
                            effect: effect(rule.effect.node),
                            span: rule.span,
                            key: self.rule_key(&context, rule.span),
                            parts,
                            needs_home: false,
                        })));
                    }
                }
                Member::Secrets(block) => {
                    for rule in &block.rules {
                        if !self.effect_ok(&rule.effect, "secrets") {
                            continue;
                        }
                        let eff = effect(rule.effect.node);
                        let mut parts = Vec::new();
                        let mut ok = true;
                        for q in &rule.names {
                            let Some(def) = self.resolve(module, q, &[DefKind::Secret]) else {
                                ok = false;
                                continue;
                            };
                            if self.kind(def) != Some(DefKind::Secret) {
                                self.wrong_kind(q.span, def, "a secret", "`secrets { ... }` rules name secrets declared with `secret NAME { ... }`");
                                ok = false;
                                continue;
                            }
                            parts.extend(self.secret_parts(def, eff));
                        }
                        if !ok {
                            continue;
                        }
                        body.members.push(ElabMember::Rule(ElabRule::new(ElabRule {
                            effect: eff,
                            span: rule.span,
                            key: self.rule_key("secrets", rule.span),
                            parts,
                            needs_home: false,
                        })));
                    }
                }
                Member::Skill(sb) => {
                    let Some(list) = skills.as_deref_mut() else {
                        if kind == BlockKind::Skill {
                            self.diags.push(
                                Diag::error(
                                    &codes::MISPLACED_MEMBER,
                                    sb.name.span,
                                    format!("skill `{}` is inside another skill", sb.name.name),
                                )
                                .label("skills do not nest")
                                .help(format!(
                                    "move skill `{}` out, directly into the agent",
                                    sb.name.name
                                )),
                            );
                        } else {
                            self.misplaced(sb.name.span, "skill", kind);
                        }
                        continue;
                    };
                    if let Some(&first) = skill_names.get(&sb.name.name) {
                        self.diags.push(
                            Diag::error(
                                &codes::DUPLICATE_DEFINITION,
                                sb.name.span,
                                format!("the skill `{}` is defined twice", sb.name.name),
                            )
                            .label("defined again")
                            .with_label(first, "first defined here")
                            .help("skill names must be unique within their agent; rename one"),
                        );
                        continue;
                    }
                    skill_names.insert(sb.name.name.clone(), sb.name.span);
                    let skill_body =
                        self.elab_body(module, &sb.members, BlockKind::Skill, None, None);
                    list.push(ElabSkill {
                        name: sb.name.name.clone(),
                        name_span: sb.name.span,
                        span: sb.span,
                        body: skill_body,
                    });
                }
                Member::Error(_) => {}
            }
        }
        body
    }

    /// The parts a `secrets` rule lowers to for one secret (semantics.md §7).
    fn secret_parts(&mut self, def: DefId, eff: Effect) -> Vec<ElabPart> {
        let name = self.qualified(def);
        let Some(data) = self.secrets.get(&def) else {
            return Vec::new();
        };
        let mut parts = Vec::new();
        if !data.files.is_empty() {
            parts.push(ElabPart {
                actions: vec![Action::Read],
                matcher: ElabMatcher::Fs(Rc::new(data.files.clone())),
                secret: Some(name.clone()),
            });
        }
        if !data.env.is_empty() {
            parts.push(ElabPart {
                actions: vec![Action::ReadEnv],
                matcher: ElabMatcher::Env(data.env.clone()),
                secret: Some(name.clone()),
            });
        }
        if eff == Effect::Deny {
            for var in &data.env {
                parts.push(ElabPart {
                    actions: vec![Action::Call],
                    matcher: ElabMatcher::Tool {
                        tool: None,
                        conds: vec![ElabAtom::Ready(ir::Atom {
                            negated: false,
                            test: ir::Test::ContainsSecret {
                                secret: name.clone(),
                                var: var.clone(),
                            },
                        })],
                    },
                    secret: Some(name.clone()),
                });
            }
        }
        parts
    }

    /// `resolvers { ... }`: single addresses.
    fn addresses(&mut self, module: usize, expr: &Expr) -> Option<Vec<IpAddr>> {
        let elems: Vec<(String, Span)> = match expr {
            Expr::Ip(ip) => vec![(ip.node.clone(), ip.span)],
            Expr::Str(lit) => vec![(self.interpolate(module, lit)?, lit.span)],
            Expr::Set(lit) => {
                let flat = self.flatten_set(module, lit)?;
                let mut out = Vec::new();
                for e in flat {
                    match e {
                        super::ctx::Elem::Str(s, span) | super::ctx::Elem::Ip(s, span) => {
                            out.push((s, span))
                        }
                        other => {
                            self.mismatch(other.span(), "a resolver must be an IP address", "not an address", "write IPv4 bare (1.1.1.1) and IPv6 as a string (\"2606:4700:4700::1111\")");
                            return None;
                        }
                    }
                }
                out
            }
            Expr::Name(q) => {
                let def = self.resolve(module, q, &[DefKind::Const, DefKind::Set])?;
                let flat = match self.kind(def) {
                    Some(DefKind::Set) => self.set_elems(def)?.as_ref().clone(),
                    Some(DefKind::Const) => match self.const_value(def)? {
                        super::ctx::ConstVal::Str(s) => vec![super::ctx::Elem::Str(s, q.span)],
                        super::ctx::ConstVal::Int(n) => vec![super::ctx::Elem::Int(n, q.span)],
                    },
                    _ => {
                        self.wrong_kind(q.span, def, "an address or a set of addresses", "");
                        return None;
                    }
                };
                let mut out = Vec::new();
                for e in flat {
                    match e {
                        super::ctx::Elem::Str(s, span) | super::ctx::Elem::Ip(s, span) => {
                            out.push((s, span))
                        }
                        other => {
                            self.mismatch(other.span(), "a resolver must be an IP address", "not an address", "write IPv4 bare (1.1.1.1) and IPv6 as a string (\"2606:4700:4700::1111\")");
                            return None;
                        }
                    }
                }
                out
            }
            other => {
                self.mismatch(
                    other.span(),
                    "a resolver must be an IP address",
                    "not an address",
                    "write `resolvers { 1.1.1.1, \"2606:4700:4700::1111\" }`",
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut ok = true;
        for (text, span) in elems {
            if !looks_like_ip(&text) {
                self.diags.push(
                    Diag::error(
                        &codes::INVALID_ADDRESS,
                        span,
                        format!("{text:?} is not an IP address"),
                    )
                    .label("resolvers are addresses")
                    .help("name resolvers by address, e.g. `1.1.1.1`"),
                );
                ok = false;
                continue;
            }
            match parse_addr(&text) {
                Ok(a) => {
                    let a = match a {
                        IpAddr::V6(v6) => v6
                            .to_ipv4_mapped()
                            .map(IpAddr::V4)
                            .unwrap_or(IpAddr::V6(v6)),
                        v4 => v4,
                    };
                    if seen.insert(a) {
                        out.push(a);
                    }
                }
                Err(e) => {
                    self.diags.push(e.error_at(span));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn selector(&mut self, module: usize, sel: &ast::SelectorDecl) -> Option<ir::Selector> {
        let mut ok = true;
        let namespace = match &sel.namespace {
            Some(lit) => {
                let t = self.interpolate(module, lit)?;
                if let Err(e) = check_namespace(&t) {
                    self.diags.push(e.error_at(lit.span));
                    ok = false;
                }
                Some(t)
            }
            None => None,
        };
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for (key, value) in &sel.labels {
            let Some(v) = self.interpolate(module, value) else {
                ok = false;
                continue;
            };
            if let Some(&first) = seen.get(&key.name) {
                self.diags.push(
                    Diag::error(
                        &codes::DUPLICATE_MEMBER,
                        key.span,
                        format!("the label `{}` is given twice", key.name),
                    )
                    .label("given again")
                    .with_label(first, "first given here")
                    .help("each label key appears once"),
                );
                ok = false;
                continue;
            }
            seen.insert(key.name.clone(), key.span);
            if let Err(e) = check_label(&key.name, &v) {
                self.diags.push(e.error_at(key.span.to(value.span)));
                ok = false;
                continue;
            }
            labels.push((key.name.clone(), v));
        }
        labels.sort();
        ok.then_some(ir::Selector { namespace, labels })
    }
}
