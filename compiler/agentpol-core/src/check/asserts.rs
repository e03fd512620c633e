//! `assert` and `test` items of the root file (semantics.md §8).

use super::blocks::{effect, proto, ElabAgent, ElabMatcher};
use super::ctx::{closest, Checker, ConstVal, DefKind, Elem};
use super::glob::Home;
use super::lower::expand;
use super::misc::check_env_var;
use super::net::{looks_like_ip, parse_addr, parse_domain};
use crate::diag::{codes, Diag};
use crate::ir::{self, Action, ArgType, Effect, ParamType, Proto};
use crate::request::{Request, Resource};
use crate::span::Span;
use crate::syntax::ast::{self, AgentRef, ConcreteRequest, Expr, ProtoKw, RequestPattern};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Who an assertion or expectation is about, resolved.
#[derive(Clone, Debug)]
enum Who {
    All,
    Agent(usize),
    Skill(usize, String),
}

/// The root agents by name, for `WHO` references.
pub struct AgentTable<'h> {
    agents: &'h [ElabAgent],
    by_name: HashMap<&'h str, usize>,
}

impl<'h> AgentTable<'h> {
    /// Indexes `agents`.
    pub fn new(agents: &'h [ElabAgent]) -> Self {
        let by_name = agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.as_str(), i))
            .collect();
        AgentTable { agents, by_name }
    }
}

fn invalid_request(span: Span, message: impl Into<String>, help: impl Into<String>) -> Diag {
    Diag::error(&codes::INVALID_TEST_REQUEST, span, message)
        .label("not a concrete request")
        .help(help)
}

impl Checker<'_> {
    fn who(&mut self, table: &AgentTable<'_>, r: &AgentRef, allow_all: bool) -> Option<Who> {
        let agent = |this: &mut Self, id: &ast::Ident| -> Option<usize> {
            match table.by_name.get(id.name.as_str()) {
                Some(&i) => {
                    if let Some(a) = table.agents.get(i) {
                        this.reference(id.span, a.name_span, id.name.clone());
                    }
                    Some(i)
                }
                None => {
                    let help = match closest(&id.name, table.agents.iter().map(|a| a.name.as_str()))
                    {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "name an agent defined in this file".to_string(),
                    };
                    this.diags.push(
                        Diag::error(
                            &codes::UNKNOWN_AGENT,
                            id.span,
                            format!("no agent `{}`", id.name),
                        )
                        .label("unknown agent")
                        .help(help),
                    );
                    None
                }
            }
        };
        match r {
            AgentRef::All(span) => {
                if allow_all {
                    Some(Who::All)
                } else {
                    self.diags.push(invalid_request(
                        *span,
                        "a test request is made by one agent or skill",
                        "name the agent (`openclaw`) or the skill (`openclaw.pdf_summary`)",
                    ));
                    None
                }
            }
            AgentRef::Agent(id) => agent(self, id).map(Who::Agent),
            AgentRef::Skill(a, s) => {
                let i = agent(self, a)?;
                let ag = table.agents.get(i)?;
                match ag.skills.iter().find(|k| k.name == s.name) {
                    Some(k) => {
                        self.reference(s.span, k.name_span, s.name.clone());
                        Some(Who::Skill(i, s.name.clone()))
                    }
                    None => {
                        let help = match closest(&s.name, ag.skills.iter().map(|k| k.name.as_str()))
                        {
                            Some(x) => format!("did you mean `{}.{x}`?", a.name),
                            None if ag.skills.is_empty() => {
                                format!("agent `{}` has no skills", a.name)
                            }
                            None => format!(
                                "the skills of `{}` are {}",
                                a.name,
                                ag.skills
                                    .iter()
                                    .map(|k| format!("`{}`", k.name))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        self.diags.push(
                            Diag::error(
                                &codes::UNKNOWN_AGENT,
                                s.span,
                                format!("agent `{}` has no skill `{}`", a.name, s.name),
                            )
                            .label("unknown skill")
                            .with_label(ag.name_span, "the agent is defined here")
                            .help(help),
                        );
                        None
                    }
                }
            }
        }
    }

    /// Lowers an `assert` item into one or more IR assertions (one per DNF
    /// disjunct of a tool condition; one per agent for `*` with `~` paths).
    pub fn lower_assert(&mut self, a: &ast::Assert, table: &AgentTable<'_>) -> Vec<ir::Assertion> {
        let forbidden = if a.only_allow.is_some() {
            vec![Effect::Allow]
        } else {
            vec![Effect::Allow, Effect::Ask]
        };
        let who = self.who(table, &a.target, true);
        let pattern = self.pattern(&a.pattern);
        let (Some(who), Some((actions, matchers))) = (who, pattern) else {
            return Vec::new();
        };
        let needs_home = matchers.iter().any(ElabMatcher::needs_home);
        let targets: Vec<(ir::AssertTarget, Option<&Home>, Option<usize>)> = match &who {
            Who::All if needs_home => table
                .agents
                .iter()
                .enumerate()
                .map(|(i, ag)| {
                    (
                        ir::AssertTarget::Agent {
                            agent: ag.name.clone(),
                        },
                        ag.home.as_ref(),
                        Some(i),
                    )
                })
                .collect(),
            Who::All => vec![(ir::AssertTarget::All, None, None)],
            Who::Agent(i) => table
                .agents
                .get(*i)
                .map(|ag| {
                    (
                        ir::AssertTarget::Agent {
                            agent: ag.name.clone(),
                        },
                        ag.home.as_ref(),
                        Some(*i),
                    )
                })
                .into_iter()
                .collect(),
            Who::Skill(i, s) => table
                .agents
                .get(*i)
                .map(|ag| {
                    (
                        ir::AssertTarget::Skill {
                            agent: ag.name.clone(),
                            skill: s.clone(),
                        },
                        ag.home.as_ref(),
                        Some(*i),
                    )
                })
                .into_iter()
                .collect(),
        };
        let src = self.sref(a.span);
        // Only the kindless `read` pattern reaches across layers.
        let layers = match a.pattern {
            RequestPattern::Read(..) => ir::AssertLayers::Cross,
            _ => ir::AssertLayers::Kind,
        };
        let mut out = Vec::new();
        for (target, home, agent) in targets {
            for m in &matchers {
                match expand(m, home) {
                    Some(matcher) => out.push(ir::Assertion {
                        target: target.clone(),
                        forbidden: forbidden.clone(),
                        actions: actions.clone(),
                        matcher,
                        layers,
                        src,
                    }),
                    None => {
                        let ag = agent.and_then(|i| table.agents.get(i));
                        let (name, span) = ag
                            .map(|g| (g.name.clone(), g.name_span))
                            .unwrap_or_default();
                        self.diags.push(
                            Diag::error(
                                &codes::TILDE_WITHOUT_HOME,
                                a.span,
                                format!(
                                    "this assertion uses `~`, but agent `{name}` has no `home`"
                                ),
                            )
                            .label("`~` needs the agent's home")
                            .with_label(span, format!("agent `{name}` declares no `home`"))
                            .help(format!(
                                "add `home` to agent `{name}`, or write an absolute path"
                            )),
                        );
                        break;
                    }
                }
            }
        }
        out
    }

    /// An assertion's pattern: its actions and matchers (before `~`).
    fn pattern(&mut self, p: &RequestPattern) -> Option<(Vec<Action>, Vec<ElabMatcher>)> {
        match p {
            RequestPattern::Fs(m, _) => {
                let actions = self.fs_actions(&m.actions);
                let paths = self.path_targets(0, &m.targets)?;
                Some((actions, vec![ElabMatcher::Fs(Rc::new(paths))]))
            }
            RequestPattern::Exec(m, _) => {
                let bins = self.path_targets(0, &m.binaries);
                let args = match &m.args {
                    Some(a) => Some(self.args_pattern(0, a)?),
                    None => None,
                };
                Some((
                    vec![Action::Exec],
                    vec![ElabMatcher::Exec(Rc::new(bins?), args)],
                ))
            }
            RequestPattern::Net(m, _) => {
                let actions = self.net_actions(&m.actions);
                let hosts = match &m.targets {
                    Some(t) => self.host_targets(0, t),
                    None => Some(None),
                };
                let ports = match &m.ports {
                    Some(t) => self.port_targets(0, t),
                    None => Some(None),
                };
                Some((
                    actions,
                    vec![ElabMatcher::Net {
                        proto: proto(m.proto.as_ref()),
                        hosts: hosts?,
                        ports: ports?,
                    }],
                ))
            }
            RequestPattern::Tool(name, cond, _) => {
                let tool = self.tool_by_name(name)?;
                let disjuncts = match cond {
                    Some(c) => self.cond_dnf(0, tool, c)?,
                    None => vec![Vec::new()],
                };
                Some((
                    vec![Action::Call],
                    disjuncts
                        .into_iter()
                        .map(|conds| ElabMatcher::Tool {
                            tool: Some(name.name.clone()),
                            conds,
                        })
                        .collect(),
                ))
            }
            // The same targets as `fs read`; what differs is which layers the
            // verifier checks (`ir::AssertLayers::Cross`).
            RequestPattern::Read(targets, _) => {
                let paths = self.path_targets(0, targets)?;
                Some((vec![Action::Read], vec![ElabMatcher::Fs(Rc::new(paths))]))
            }
            RequestPattern::Env(lit, _) => {
                let var = self.interpolate(0, lit)?;
                if let Err(e) = check_env_var(&var) {
                    self.diags.push(e.error_at(lit.span));
                    return None;
                }
                Some((vec![Action::ReadEnv], vec![ElabMatcher::Env(vec![var])]))
            }
        }
    }

    /// Lowers a `test` item.
    pub fn lower_test(
        &mut self,
        t: &ast::TestDecl,
        table: &AgentTable<'_>,
    ) -> Option<ir::TestCase> {
        let name = self.interpolate(0, &t.name);
        let mut expects = Vec::with_capacity(t.expects.len());
        let mut ok = true;
        for e in &t.expects {
            match self.expectation(e, table) {
                Some(x) => expects.push(x),
                None => ok = false,
            }
        }
        let name = name?;
        ok.then(|| ir::TestCase {
            name,
            expects,
            src: self.sref(t.span),
        })
    }

    fn expectation(&mut self, e: &ast::Expect, table: &AgentTable<'_>) -> Option<ir::Expectation> {
        let who = self.who(table, &e.target, false)?;
        let (agent_idx, skill) = match who {
            Who::Agent(i) => (i, None),
            Who::Skill(i, s) => (i, Some(s)),
            Who::All => return None,
        };
        let ag = table.agents.get(agent_idx)?;
        let home = ag.home.as_ref();
        let resource = match &e.request {
            ConcreteRequest::Fs { action, path } => {
                let p = self.concrete_path(path, home, ag)?;
                Resource::Fs {
                    action: super::blocks::fs_action_of(action.node),
                    path: p,
                }
            }
            ConcreteRequest::Exec { path, args } => {
                let p = self.concrete_path(path, home, ag)?;
                let mut a = Vec::with_capacity(args.len());
                for lit in args {
                    a.push(self.interpolate(0, lit)?);
                }
                Resource::Exec { path: p, args: a }
            }
            ConcreteRequest::Net {
                action,
                proto: pr,
                addr,
                port,
            } => {
                let proto = match pr.as_ref().map(|p| p.node) {
                    None | Some(ProtoKw::Tcp) => Proto::Tcp,
                    Some(ProtoKw::Udp) => Proto::Udp,
                    Some(ProtoKw::Any) => {
                        let span = pr.as_ref().map(|p| p.span).unwrap_or(e.span);
                        self.diags.push(invalid_request(
                            span,
                            "a request uses `tcp` or `udp`, not `any`",
                            "write `tcp` (the default) or `udp`",
                        ));
                        return None;
                    }
                };
                let (addr, domain) = self.concrete_addr(addr)?;
                let Ok(port) = u16::try_from(port.node) else {
                    self.diags.push(invalid_request(
                        port.span,
                        format!("port {} is outside 0..65535", port.node),
                        "write a port 0-65535",
                    ));
                    return None;
                };
                Resource::Net {
                    action: super::blocks::net_action_of(action.node),
                    proto,
                    addr,
                    domain,
                    port,
                }
            }
            ConcreteRequest::Tool {
                name,
                args,
                params,
                tainted,
            } => self.concrete_tool(name, args, params, tainted, home)?,
            ConcreteRequest::Env { var } => {
                let v = self.interpolate(0, var)?;
                if let Err(err) = check_env_var(&v) {
                    self.diags.push(err.error_at(var.span));
                    return None;
                }
                Resource::Env { var: v }
            }
        };
        Some(ir::Expectation {
            effect: effect(e.effect.node),
            request: Request {
                agent: ag.name.clone(),
                skill,
                resource,
            },
            src: self.sref(e.span),
        })
    }

    /// A concrete path with `~` expanded; must be absolute.
    fn concrete_path(
        &mut self,
        lit: &ast::StrLit,
        home: Option<&Home>,
        ag: &ElabAgent,
    ) -> Option<String> {
        let text = self.interpolate(0, lit)?;
        self.expand_concrete(&text, home, ag, lit.span)
    }

    fn expand_concrete(
        &mut self,
        text: &str,
        home: Option<&Home>,
        ag: &ElabAgent,
        span: Span,
    ) -> Option<String> {
        let expanded = match text.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => match home {
                Some(h) => {
                    if h.text == "/" {
                        if rest.is_empty() {
                            "/".to_string()
                        } else {
                            rest.to_string()
                        }
                    } else {
                        format!("{}{rest}", h.text)
                    }
                }
                None => {
                    self.diags.push(
                        Diag::error(
                            &codes::TILDE_WITHOUT_HOME,
                            span,
                            format!("this path uses `~`, but agent `{}` has no `home`", ag.name),
                        )
                        .label("`~` needs the agent's home")
                        .with_label(
                            ag.name_span,
                            format!("agent `{}` declares no `home`", ag.name),
                        )
                        .help("write the absolute path, or add `home` to the agent"),
                    );
                    return None;
                }
            },
            _ => text.to_string(),
        };
        if !expanded.starts_with('/') {
            self.diags.push(invalid_request(
                span,
                format!("the path {text:?} is not absolute"),
                "requests name absolute paths (or `~/...` for the agent's home)",
            ));
            return None;
        }
        Some(expanded)
    }

    fn concrete_addr(&mut self, addr: &Expr) -> Option<(Option<std::net::IpAddr>, Option<String>)> {
        let (text, span, bare) = match addr {
            Expr::Ip(ip) => (ip.node.clone(), ip.span, true),
            Expr::Str(lit) => (self.interpolate(0, lit)?, lit.span, false),
            Expr::Name(q) => match self.const_by_name(0, q, "")? {
                ConstVal::Str(s) => (s, q.span, false),
                ConstVal::Int(_) => {
                    self.diags.push(invalid_request(
                        q.span,
                        "an address or domain is needed",
                        "write an address or a domain",
                    ));
                    return None;
                }
            },
            other => {
                self.diags.push(invalid_request(
                    other.span(),
                    "an address or domain is needed",
                    "write `192.0.2.1`, `\"2001:db8::1\"` or `\"api.github.com\"`",
                ));
                return None;
            }
        };
        if bare || looks_like_ip(&text) {
            match parse_addr(&text) {
                Ok(a) => Some((Some(a), None)),
                Err(e) => {
                    self.diags.push(e.error_at(span));
                    None
                }
            }
        } else {
            match parse_domain(&text, false) {
                Ok(d) => Some((None, Some(d.name))),
                Err(e) => {
                    self.diags.push(e.error_at(span));
                    None
                }
            }
        }
    }

    /// A test value as JSON.
    fn test_json(&mut self, expr: &Expr) -> Option<Json> {
        let elem_json = |this: &mut Self, e: &Elem| -> Option<Json> {
            match e {
                Elem::Str(s, _) | Elem::Ip(s, _) => Some(Json::String(s.clone())),
                Elem::Int(n, _) => Some(Json::from(*n)),
                Elem::Bool(b, _) => Some(Json::Bool(*b)),
                other => {
                    this.diags.push(invalid_request(
                        other.span(),
                        "a test value is a string, an integer, a boolean or a set of them",
                        "write a literal value",
                    ));
                    None
                }
            }
        };
        match expr {
            Expr::Str(lit) => self.interpolate(0, lit).map(Json::String),
            Expr::Int(n) => Some(Json::from(n.node)),
            Expr::Bool(b) => Some(Json::Bool(b.node)),
            Expr::Ip(ip) => Some(Json::String(ip.node.clone())),
            Expr::Set(lit) => {
                let elems = self.flatten_set(0, lit)?;
                let mut out = Vec::with_capacity(elems.len());
                for e in &elems {
                    out.push(elem_json(self, e)?);
                }
                Some(Json::Array(out))
            }
            Expr::Name(q) => {
                let def = self.resolve(0, q, &[DefKind::Const, DefKind::Set])?;
                match self.kind(def) {
                    Some(DefKind::Const) => match self.const_value(def)? {
                        ConstVal::Str(s) => Some(Json::String(s)),
                        ConstVal::Int(n) => Some(Json::from(n)),
                    },
                    Some(DefKind::Set) => {
                        let elems = self.set_elems(def)?;
                        let mut out = Vec::with_capacity(elems.len());
                        for e in elems.iter() {
                            out.push(elem_json(self, e)?);
                        }
                        Some(Json::Array(out))
                    }
                    _ => {
                        self.wrong_kind(q.span, def, "a const or a set", "");
                        None
                    }
                }
            }
            other => {
                self.diags.push(invalid_request(
                    other.span(),
                    "a test value is a string, an integer, a boolean or a set of them",
                    "write a literal value",
                ));
                None
            }
        }
    }

    fn rejected(&mut self, span: Span, message: String, help: &str) {
        self.diags.push(
            Diag::warning(&codes::TEST_REQUEST_REJECTED, span, message)
                .label("the evaluator will reject this request (deny)")
                .help(help.to_string()),
        );
    }

    fn concrete_tool(
        &mut self,
        name: &ast::Ident,
        args: &[ast::Field],
        params: &[ast::Field],
        tainted: &[ast::Ident],
        home: Option<&Home>,
    ) -> Option<Resource> {
        let tool = self.tool_by_name(name)?;
        let info = self.tools.get(tool)?.clone();
        let mut ok = true;
        let mut amap: BTreeMap<String, Json> = BTreeMap::new();
        for f in args {
            let ident = match f.name.parts.as_slice() {
                [one] => one,
                _ => {
                    self.diags.push(
                        Diag::error(
                            &codes::UNKNOWN_ARGUMENT,
                            f.name.span,
                            format!("`{}` is not an argument name", f.name.text()),
                        )
                        .label("arguments are plain names")
                        .help("write the argument's name without `::`"),
                    );
                    ok = false;
                    continue;
                }
            };
            let Some(pos) = info.sig.args.iter().position(|a| a.name == ident.name) else {
                self.unknown_arg(tool, ident);
                ok = false;
                continue;
            };
            if let Some(s) = info.arg_spans.get(pos) {
                self.reference(ident.span, *s, ident.name.clone());
            }
            if amap.contains_key(&ident.name) {
                self.diags.push(invalid_request(
                    ident.span,
                    format!("the argument `{}` is given twice", ident.name),
                    "give each argument once",
                ));
                ok = false;
                continue;
            }
            let Some(mut value) = self.test_json(&f.value) else {
                ok = false;
                continue;
            };
            let ty = info
                .sig
                .args
                .get(pos)
                .map(|a| a.ty)
                .unwrap_or(ArgType::String);
            if ty == ArgType::Path {
                if let Json::String(s) = &value {
                    if s.starts_with('~') {
                        match home {
                            Some(h) => {
                                let rest = s.get(1..).unwrap_or("");
                                if rest.is_empty() || rest.starts_with('/') {
                                    value = Json::String(if h.text == "/" && !rest.is_empty() {
                                        rest.to_string()
                                    } else {
                                        format!("{}{rest}", h.text)
                                    });
                                }
                            }
                            None => {
                                self.rejected(
                                    f.value.span(),
                                    format!(
                                        "`{}` uses `~`, but the agent has no `home`",
                                        ident.name
                                    ),
                                    "write an absolute path",
                                );
                            }
                        }
                    }
                }
            }
            if let Some(problem) = arg_problem(ty, &value) {
                self.rejected(
                    f.value.span(),
                    format!("the argument `{}` {problem}", ident.name),
                    "give a value of the declared type",
                );
            }
            amap.insert(ident.name.clone(), value);
        }
        let missing: Vec<String> = info
            .sig
            .args
            .iter()
            .filter(|a| !amap.contains_key(&a.name))
            .map(|a| format!("`{}`", a.name))
            .collect();
        if ok && !missing.is_empty() {
            self.rejected(
                name.span,
                format!("this call of `{}` misses {}", name.name, missing.join(", ")),
                "a request gives every declared argument; add the missing ones",
            );
        }
        let mut pmap: BTreeMap<String, Json> = BTreeMap::new();
        for f in params {
            let Some(def) = self.resolve(0, &f.name, &[DefKind::Param]) else {
                ok = false;
                continue;
            };
            if self.kind(def) != Some(DefKind::Param) {
                let d = self.defs.get(def).cloned();
                if let Some(d) = d {
                    self.diags.push(
                        Diag::error(
                            &codes::NOT_A_PARAM,
                            f.name.span,
                            format!("`{}` is {}, not a param", d.name, d.kind.article()),
                        )
                        .label("not a param")
                        .with_label(d.name_span, format!("defined as {} here", d.kind.article()))
                        .help("`with { ... }` binds params declared with `param NAME: TYPE`"),
                    );
                }
                ok = false;
                continue;
            }
            let Some(value) = self.test_json(&f.value) else {
                ok = false;
                continue;
            };
            if let Some(pty) = self.params.get(&def).copied() {
                if let Some(problem) = param_problem(pty, &value) {
                    self.rejected(
                        f.value.span(),
                        format!("the param `{}` {problem}", f.name.text()),
                        "give a value of the declared type",
                    );
                }
            }
            pmap.insert(self.qualified(def), value);
        }
        let mut tnames = Vec::with_capacity(tainted.len());
        for t in tainted {
            match info.sig.args.iter().position(|a| a.name == t.name) {
                Some(pos) => {
                    if let Some(s) = info.arg_spans.get(pos) {
                        self.reference(t.span, *s, t.name.clone());
                    }
                    tnames.push(t.name.clone());
                }
                None => {
                    self.unknown_arg(tool, t);
                    ok = false;
                }
            }
        }
        ok.then_some(Resource::Tool {
            tool: name.name.clone(),
            args: amap,
            params: pmap,
            tainted: tnames,
            secrets: BTreeMap::new(),
        })
    }
}

fn arg_problem(ty: ArgType, v: &Json) -> Option<String> {
    match ty {
        ArgType::String => {
            (!v.is_string()).then(|| "is declared `string` but given another type".to_string())
        }
        ArgType::Int => {
            (!v.is_i64()).then(|| "is declared `int` but not given a 64-bit integer".to_string())
        }
        ArgType::Bool => {
            (!v.is_boolean()).then(|| "is declared `bool` but given another type".to_string())
        }
        ArgType::Url => match v.as_str() {
            None => Some("is declared `url` but not given a string".to_string()),
            Some(s) => url::Url::parse(s)
                .err()
                .map(|e| format!("is not a valid absolute URL ({e})")),
        },
        ArgType::Path => match v.as_str() {
            None => Some("is declared `path` but not given a string".to_string()),
            Some(s) if !s.starts_with('/') => Some("is not an absolute path".to_string()),
            Some(_) => None,
        },
    }
}

fn param_problem(ty: ParamType, v: &Json) -> Option<String> {
    let ok = match ty {
        ParamType::String => v.is_string(),
        ParamType::Int => v.is_i64(),
        ParamType::Bool => v.is_boolean(),
        ParamType::SetString => v.as_array().is_some_and(|a| a.iter().all(Json::is_string)),
        ParamType::SetInt => v.as_array().is_some_and(|a| a.iter().all(Json::is_i64)),
    };
    (!ok).then(|| {
        format!(
            "is declared `{}` but given another type",
            match ty {
                ParamType::String => "string",
                ParamType::Int => "int",
                ParamType::Bool => "bool",
                ParamType::SetString => "set<string>",
                ParamType::SetInt => "set<int>",
            }
        )
    })
}
