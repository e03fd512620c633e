//! Request validation, written once: everything that makes a request
//! undecidable is found here, before any rule is looked at, and turned into
//! a [`RequestError`].
//!
//! [`prepare`] checks a [`Request`] against a [`Scope`] (where names are
//! looked up) and gives the one [`Prepared`] form every engine decides: the
//! reference evaluator ([`super::evaluate`], whose scope is the [`Policy`]
//! itself) and the decision engines of `agentpol-decide` and
//! `agentpol-cedar` (whose scope is their `Catalog`, built once). Checks,
//! order and wording are therefore the same in every engine by
//! construction; the checks themselves and their words are in
//! [`super::request_check`].

use super::matching::{canonical_addr, parse_url, url_host, UrlHost};
use super::request_check::{
    ambiguous_url, arg_type_name, check_net_peer, json_int, json_type_name, param_type_json,
    param_type_name, param_value, signature, suggestion_help, wrong_action, ParamValue,
};
use super::{pointer, RequestError};
use crate::diag::codes;
use crate::ir::{
    Action, ArgType, Kind, Matcher, ParamType, Policy, Proto, Rule, RuleId, Scalar, SetOperand,
    SourceRef, Test, ToolSig,
};
use crate::request::{Request, Resource};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A param a rule reads: the param, and the first rule (in rule order) that
/// reads it. What an unbound-param error names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamRead {
    /// The param's name.
    pub param: String,
    /// The first rule that reads it.
    pub rule: RuleId,
    /// Where that rule was written.
    pub src: SourceRef,
}

/// Where request validation looks names up: the policy itself (the
/// evaluator, linear scans) or a catalog built once (the engines, hash
/// maps). Indices are positions in the policy's lists.
pub trait Scope {
    /// The index of the agent named `name`.
    fn agent(&self, name: &str) -> Option<usize>;
    /// Every agent's name (for "did you mean").
    fn agent_names(&self) -> Vec<&str>;
    /// The index of skill `name` among agent `agent`'s skills.
    fn skill(&self, agent: usize, name: &str) -> Option<usize>;
    /// The names of agent `agent`'s skills.
    fn skill_names(&self, agent: usize) -> Vec<&str>;
    /// The index and signature of the tool named `name`.
    fn tool(&self, name: &str) -> Option<(usize, &ToolSig)>;
    /// Every tool's name.
    fn tool_names(&self) -> Vec<&str>;
    /// The type of the declared param `name`.
    fn param(&self, name: &str) -> Option<ParamType>;
    /// Every declared param's name.
    fn param_names(&self) -> Vec<&str>;
    /// The first declared param, in rule order (the agent's rules, then the
    /// skill's), that a rule applying to calls of tool `tool` reads and
    /// `is_bound` says is not bound, with that rule (semantics.md §6).
    fn first_unbound(
        &self,
        agent: usize,
        skill: Option<usize>,
        tool: usize,
        is_bound: &dyn Fn(&str) -> bool,
    ) -> Option<ParamRead>;
    /// `file:line:col` of a source position.
    fn location(&self, src: &SourceRef) -> String;
}

/// The param a test reads, if any.
pub fn param_read(t: &Test) -> Option<&str> {
    match t {
        Test::Eq {
            rhs: Scalar::Param(p),
            ..
        }
        | Test::Cmp {
            rhs: Scalar::Param(p),
            ..
        }
        | Test::In {
            set: SetOperand::Param(p),
            ..
        } => Some(p),
        _ => None,
    }
}

/// Does `rule` apply to calls of the tool named `tool`?
pub fn tool_rule_applies(rule: &Rule, tool: &str) -> bool {
    match &rule.matcher {
        Matcher::Tool { tool: t, .. } => {
            rule.action == Action::Call && t.as_ref().is_none_or(|t| t == tool)
        }
        _ => false,
    }
}

/// The evaluator's scope: the policy, read directly.
impl Scope for Policy {
    fn agent(&self, name: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.name == name)
    }

    fn agent_names(&self) -> Vec<&str> {
        self.agents.iter().map(|a| a.name.as_str()).collect()
    }

    fn skill(&self, agent: usize, name: &str) -> Option<usize> {
        self.agents
            .get(agent)?
            .skills
            .iter()
            .position(|s| s.name == name)
    }

    fn skill_names(&self, agent: usize) -> Vec<&str> {
        self.agents
            .get(agent)
            .map(|a| a.skills.iter().map(|s| s.name.as_str()).collect())
            .unwrap_or_default()
    }

    fn tool(&self, name: &str) -> Option<(usize, &ToolSig)> {
        self.tools.iter().enumerate().find(|(_, t)| t.name == name)
    }

    fn tool_names(&self) -> Vec<&str> {
        self.tools.iter().map(|t| t.name.as_str()).collect()
    }

    fn param(&self, name: &str) -> Option<ParamType> {
        Policy::param(self, name).map(|p| p.ty)
    }

    fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }

    fn first_unbound(
        &self,
        agent: usize,
        skill: Option<usize>,
        tool: usize,
        is_bound: &dyn Fn(&str) -> bool,
    ) -> Option<ParamRead> {
        let agent = self.agents.get(agent)?;
        let tool = &self.tools.get(tool)?.name;
        let skill_rules = skill
            .and_then(|s| agent.skills.get(s))
            .map(|s| s.rules.as_slice())
            .unwrap_or(&[]);
        for rule in agent.rules.iter().chain(skill_rules) {
            let Matcher::Tool { conditions, .. } = &rule.matcher else {
                continue;
            };
            if !tool_rule_applies(rule, tool) {
                continue;
            }
            for atom in conditions {
                let Some(param) = param_read(&atom.test) else {
                    continue;
                };
                // Undeclared params are the IR's fault; evaluation reports them.
                if Policy::param(self, param).is_some() && !is_bound(param) {
                    return Some(ParamRead {
                        param: param.to_string(),
                        rule: rule.id.clone(),
                        src: rule.src,
                    });
                }
            }
        }
        None
    }

    fn location(&self, src: &SourceRef) -> String {
        super::location(self, src)
    }
}

/// A path known to be absolute and normalised.
#[derive(Clone, Debug)]
pub struct PathVal<'r> {
    /// The path (one trailing `/` removed).
    pub path: &'r str,
    /// Its segments (`/` has none).
    pub segs: Vec<&'r str>,
}

impl<'r> PathVal<'r> {
    fn new(path: &'r str) -> PathVal<'r> {
        let segs = if path == "/" {
            Vec::new()
        } else {
            path.split('/').skip(1).collect()
        };
        PathVal { path, segs }
    }
}

/// A parsed URL argument, with the parts rules read
/// ([`super::matching::url_field`]) worked out once.
#[derive(Clone, Debug)]
pub struct UrlVal<'r> {
    /// The argument as given.
    pub raw: &'r str,
    /// The URL, as the WHATWG parser reads it.
    pub url: url::Url,
    /// The scheme, lower case.
    pub scheme: String,
    /// The host as `url.host` compares: normalised domain or the address.
    pub host: Option<String>,
    /// The normalised domain, for a domain host.
    pub domain: Option<String>,
    /// The address (IPv4-mapped addresses as IPv4), for an IP host.
    pub ip: Option<IpAddr>,
    /// The explicit port, else the scheme's known default.
    pub port: Option<i64>,
    /// The path, as the WHATWG parser normalised it.
    pub path: String,
}

impl UrlVal<'_> {
    /// A URL argument in parts, read as `url.host` reads it (so
    /// `http://[::ffff:192.0.2.1]/` has host `192.0.2.1`).
    fn parse(raw: &str) -> Result<UrlVal<'_>, url::ParseError> {
        let url = parse_url(raw)?;
        let (host, domain, ip) = match url_host(&url) {
            Some(UrlHost::Ip(ip)) => (Some(ip.to_string()), None, Some(ip)),
            Some(UrlHost::Domain(d)) => (Some(d.clone()), Some(d), None),
            None => (None, None, None),
        };
        Ok(UrlVal {
            raw,
            scheme: url.scheme().to_string(),
            host,
            domain,
            ip,
            port: url.port_or_known_default().map(i64::from),
            path: url.path().to_string(),
            url,
        })
    }
}

/// A typed tool argument.
#[derive(Clone, Debug)]
pub enum ArgVal<'r> {
    /// A `string` argument.
    Str(&'r str),
    /// An `int` argument.
    Int(i64),
    /// A `bool` argument.
    Bool(bool),
    /// A `url` argument, parsed.
    Url(Box<UrlVal<'r>>),
    /// A `path` argument, checked.
    Path(PathVal<'r>),
}

/// A validated tool call.
#[derive(Clone, Debug)]
pub struct ToolCall<'r> {
    /// The tool's index in the scope (its position in the policy's tools).
    pub tool: usize,
    /// Its signature.
    pub sig: &'r ToolSig,
    /// Typed values of every declared argument, in signature order.
    pub args: Vec<ArgVal<'r>>,
    /// The argument values as given (for `ContainsSecret`).
    pub raw_args: &'r BTreeMap<String, serde_json::Value>,
    /// Typed values of every bound param.
    pub params: BTreeMap<&'r str, ParamValue>,
    /// Arguments the caller marked as carrying untrusted data.
    pub tainted: &'r [String],
    /// Secret values, by environment variable.
    pub secrets: &'r BTreeMap<String, String>,
}

impl ToolCall<'_> {
    /// The typed value of the declared argument `name`.
    pub fn arg(&self, name: &str) -> Option<&ArgVal<'_>> {
        let i = self.sig.args.iter().position(|a| a.name == name)?;
        self.args.get(i)
    }

    /// Does some argument, as given, contain the (non-empty) value of secret
    /// `var` (semantics.md §7)? An absent or empty variable cannot be contained.
    pub fn contains_secret(&self, var: &str) -> bool {
        let Some(secret) = self.secrets.get(var).filter(|s| !s.is_empty()) else {
            return false;
        };
        // string, url and path arguments are JSON strings; the value as
        // given, before any normalisation, is what the tool would receive.
        self.raw_args
            .values()
            .any(|v| v.as_str().is_some_and(|s| s.contains(secret.as_str())))
    }
}

/// The kind-specific part of a validated request.
#[derive(Clone, Debug)]
pub enum Body<'r> {
    /// An fs request.
    Fs {
        /// An fs action.
        action: Action,
        /// The path.
        path: PathVal<'r>,
    },
    /// An exec request.
    Exec {
        /// The binary.
        path: PathVal<'r>,
        /// Its arguments (without `argv[0]`).
        args: &'r [String],
    },
    /// A net request.
    Net {
        /// A net action.
        action: Action,
        /// `tcp` or `udp` (never `any`).
        proto: Proto,
        /// IPv4-mapped addresses as IPv4.
        addr: Option<IpAddr>,
        /// As the request gave it (for reasons, and for the evaluator,
        /// which canonicalises as it matches).
        raw_addr: Option<IpAddr>,
        /// Normalised.
        domain: Option<String>,
        /// The peer's port.
        port: u16,
    },
    /// A tool call.
    Tool(ToolCall<'r>),
    /// An env request.
    Env {
        /// The variable.
        var: &'r str,
    },
}

impl Body<'_> {
    /// The IR action a rule must have to apply.
    pub fn action(&self) -> Action {
        match self {
            Body::Fs { action, .. } | Body::Net { action, .. } => *action,
            Body::Exec { .. } => Action::Exec,
            Body::Tool(_) => Action::Call,
            Body::Env { .. } => Action::ReadEnv,
        }
    }

    /// The request in words, for reasons (argument values are never shown:
    /// some are secrets).
    pub fn describe(&self) -> String {
        match self {
            Body::Fs { action, path } => format!("fs {} {}", action.as_str(), path.path),
            Body::Exec { path, args: [] } => format!("exec {}", path.path),
            Body::Exec { path, args } => format!("exec {} with args {args:?}", path.path),
            Body::Net {
                action,
                proto,
                raw_addr: addr,
                domain,
                port,
                ..
            } => {
                let proto = match proto {
                    Proto::Tcp => "tcp",
                    Proto::Udp => "udp",
                    Proto::Any => "any",
                };
                let peer = match (domain, addr) {
                    (Some(d), Some(a)) => format!(" {d} ({a})"),
                    (Some(d), None) => format!(" {d}"),
                    (None, Some(a)) => format!(" {a}"),
                    (None, None) => String::new(),
                };
                format!("net {} {proto}{peer} port {port}", action.as_str())
            }
            Body::Tool(call) => format!("tool {}", call.sig.name),
            Body::Env { var } => format!("env {var}"),
        }
    }
}

/// A validated request: the one form every engine decides.
#[derive(Clone, Debug)]
pub struct Prepared<'r> {
    /// The agent's index in the scope.
    pub agent: usize,
    /// The skill's index among the agent's skills.
    pub skill: Option<usize>,
    /// What is asked.
    pub body: Body<'r>,
}

/// Validates `req` against `scope`: the agent, the skill and the typed
/// request, or what is wrong with it.
pub fn prepare<'r, S: Scope + ?Sized>(
    scope: &'r S,
    req: &'r Request,
) -> Result<Prepared<'r>, RequestError> {
    let agent = scope.agent(&req.agent).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_AGENT,
            "/agent",
            format!("the policy has no agent `{}`", req.agent),
            suggestion_help(&req.agent, scope.agent_names().into_iter(), "agents"),
        )
    })?;
    let skill = match &req.skill {
        None => None,
        Some(name) => Some(scope.skill(agent, name).ok_or_else(|| {
            RequestError::new(
                &codes::REQUEST_UNKNOWN_SKILL,
                "/skill",
                format!("agent `{}` has no skill `{name}`", req.agent),
                suggestion_help(name, scope.skill_names(agent).into_iter(), "skills"),
            )
        })?),
    };
    let body = match &req.resource {
        Resource::Fs { action, path } => {
            if action.kind() != Kind::Fs {
                return Err(wrong_action(
                    *action,
                    "fs",
                    "read, write, create, delete, rename, link or mkdir",
                ));
            }
            Body::Fs {
                action: *action,
                path: check_path(path, "/path", "the fs path")?,
            }
        }
        Resource::Exec { path, args } => Body::Exec {
            path: check_path(path, "/path", "the exec path")?,
            args,
        },
        Resource::Net {
            action,
            proto,
            addr,
            domain,
            port,
        } => {
            if action.kind() != Kind::Net {
                return Err(wrong_action(*action, "net", "connect, listen or sendto"));
            }
            if *proto == Proto::Any {
                return Err(RequestError::new(
                    &codes::REQUEST_BAD_PROTOCOL,
                    "/proto",
                    "the net request's `proto` is `any`, which is not a concrete protocol",
                    "give the socket's protocol: \"tcp\" or \"udp\"",
                ));
            }
            let (addr, domain) = check_net_peer(*addr, domain.as_deref())?;
            Body::Net {
                action: *action,
                proto: *proto,
                addr: addr.map(canonical_addr),
                raw_addr: addr,
                domain,
                port: *port,
            }
        }
        Resource::Tool {
            tool,
            args,
            params,
            tainted,
            secrets,
        } => {
            let call = tool_call(scope, tool, args, params, tainted, secrets)?;
            check_bound(scope, agent, skill, &call)?;
            Body::Tool(call)
        }
        Resource::Env { var } => Body::Env { var },
    };
    Ok(Prepared { agent, skill, body })
}

fn check_path<'r>(path: &'r str, field: &str, what: &str) -> Result<PathVal<'r>, RequestError> {
    super::request_check::check_path(path, field, what).map(PathVal::new)
}

fn tool_call<'r, S: Scope + ?Sized>(
    scope: &'r S,
    tool: &str,
    args: &'r BTreeMap<String, serde_json::Value>,
    params: &'r BTreeMap<String, serde_json::Value>,
    tainted: &'r [String],
    secrets: &'r BTreeMap<String, String>,
) -> Result<ToolCall<'r>, RequestError> {
    let (tool_ix, sig) = scope.tool(tool).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_TOOL,
            "/tool",
            format!("the policy declares no tool `{tool}`"),
            suggestion_help(tool, scope.tool_names().into_iter(), "tools"),
        )
    })?;
    let declared = || sig.args.iter().map(|a| a.name.as_str());
    // Unknown names first: a misspelt argument also shows up as a missing one,
    // and "did you mean" is the more useful message.
    for name in args.keys() {
        if sig.arg(name).is_none() {
            return Err(RequestError::new(
                &codes::REQUEST_UNKNOWN_ARGUMENT,
                format!("/args/{}", pointer(name)),
                format!("tool `{}` has no argument `{name}`", sig.name),
                suggestion_help(name, declared(), "arguments"),
            ));
        }
    }
    for (i, name) in tainted.iter().enumerate() {
        if sig.arg(name).is_none() {
            return Err(RequestError::new(
                &codes::REQUEST_UNKNOWN_ARGUMENT,
                format!("/tainted/{i}"),
                format!(
                    "`tainted` names `{name}`, which is not an argument of tool `{}`",
                    sig.name
                ),
                suggestion_help(name, declared(), "arguments"),
            ));
        }
    }
    let mut typed = Vec::with_capacity(sig.args.len());
    for arg in &sig.args {
        // Built only on the error paths: this loop is on the index's hot path.
        let field = || format!("/args/{}", pointer(&arg.name));
        let Some(value) = args.get(&arg.name) else {
            return Err(RequestError::new(
                &codes::REQUEST_MISSING_ARGUMENT,
                field(),
                format!(
                    "tool `{}` needs argument `{}` ({}), which the request does not give",
                    sig.name,
                    arg.name,
                    arg_type_name(arg.ty)
                ),
                format!(
                    "give every declared argument of `{}`: {}",
                    sig.name,
                    signature(sig)
                ),
            ));
        };
        let ill_typed = |why: String| {
            RequestError::new(
                &codes::REQUEST_ILL_TYPED_ARGUMENT,
                field(),
                format!("argument `{}` of tool `{}` {why}", arg.name, sig.name),
                format!("the signature is `{}({})`", sig.name, signature(sig)),
            )
        };
        if let (ArgType::Url, serde_json::Value::String(s)) = (arg.ty, value) {
            if let Some(why) = ambiguous_url(s) {
                return Err(RequestError::new(
                    &codes::REQUEST_AMBIGUOUS_HOST,
                    field(),
                    format!("argument `{}` of tool `{}` is a URL parsers read differently: {why}", arg.name, sig.name),
                    "give the URL in plain form: scheme, `//`, a DNS name or plain IP address, optional port, then the path",
                ));
            }
        }
        let v = match (arg.ty, value) {
            (ArgType::String, serde_json::Value::String(s)) => ArgVal::Str(s),
            (ArgType::Bool, serde_json::Value::Bool(b)) => ArgVal::Bool(*b),
            (ArgType::Int, v) => match json_int(v) {
                Some(i) => ArgVal::Int(i),
                None => {
                    return Err(ill_typed(format!(
                        "must be an int, got {}",
                        json_type_name(v)
                    )))
                }
            },
            (ArgType::Url, serde_json::Value::String(s)) => match UrlVal::parse(s) {
                Ok(u) => ArgVal::Url(Box::new(u)),
                Err(e) => {
                    return Err(ill_typed(format!(
                        "must be an absolute URL, but it does not parse: {e}"
                    )))
                }
            },
            (ArgType::Path, serde_json::Value::String(s)) => ArgVal::Path(check_path(
                s,
                &field(),
                &format!("argument `{}` of tool `{}`", arg.name, sig.name),
            )?),
            (ty, v) => {
                return Err(ill_typed(format!(
                    "must be {}, got {}",
                    arg_type_name(ty),
                    json_type_name(v)
                )))
            }
        };
        typed.push(v);
    }
    let mut bound = BTreeMap::new();
    for (name, value) in params {
        let field = || format!("/params/{}", pointer(name));
        let Some(ty) = scope.param(name) else {
            return Err(RequestError::new(
                &codes::REQUEST_UNKNOWN_PARAM,
                field(),
                format!("the request binds param `{name}`, which the policy does not declare"),
                suggestion_help(name, scope.param_names().into_iter(), "params"),
            ));
        };
        let v = param_value(ty, value).ok_or_else(|| {
            RequestError::new(
                &codes::REQUEST_ILL_TYPED_PARAM,
                field(),
                format!(
                    "param `{name}` is declared {} but is bound to {}",
                    param_type_name(ty),
                    json_type_name(value)
                ),
                format!("bind it to {}", param_type_json(ty)),
            )
        })?;
        bound.insert(name.as_str(), v);
    }
    Ok(ToolCall {
        tool: tool_ix,
        sig,
        args: typed,
        raw_args: args,
        params: bound,
        tainted,
        secrets,
    })
}

/// Every param a rule of the requesting agent (and skill) for this tool
/// reads must be bound, whether or not the evaluation happens to reach it
/// (semantics.md §6).
fn check_bound<S: Scope + ?Sized>(
    scope: &S,
    agent: usize,
    skill: Option<usize>,
    call: &ToolCall<'_>,
) -> Result<(), RequestError> {
    let is_bound = |p: &str| call.params.contains_key(p);
    match scope.first_unbound(agent, skill, call.tool, &is_bound) {
        None => Ok(()),
        Some(read) => Err(unbound_param(
            &read.param,
            &read.rule,
            &scope.location(&read.src),
        )),
    }
}

/// AP0808: param `name` is not bound, but rule `rule` (at `location`) reads it.
pub fn unbound_param(name: &str, rule: &RuleId, location: &str) -> RequestError {
    RequestError::new(
        &codes::REQUEST_UNBOUND_PARAM,
        format!("/params/{}", pointer(name)),
        format!("param `{name}` is not bound, but rule {rule} ({location}) reads it"),
        format!("bind it in the request's `params`, e.g. \"params\": {{\"{name}\": ...}}"),
    )
}
