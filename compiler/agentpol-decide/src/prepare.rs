//! Request validation shared by the decision index and the Cedar engine:
//! one validator, one prepared form.
//!
//! It follows the reference evaluator's validation (`agentpol_core::eval`) check
//! for check and in the same order, with the checks and wording of
//! `agentpol_core::eval::request_check`, so all engines refuse the same
//! requests with the same code and field; the differential tests hold them
//! to that. The output is a [`Prepared`] request whose values are parsed and
//! typed.

use agentpol_core::diag::codes;
use agentpol_core::eval::matching::{canonical_addr, parse_url, url_host, UrlHost};
use agentpol_core::eval::request_check::{
    self, ambiguous_url, arg_type_name, check_net_peer, json_int, json_type_name, param_type_json,
    param_type_name, param_value, signature, suggestion_help, wrong_action, ParamValue,
};
use agentpol_core::eval::{pointer, RequestError};
use agentpol_core::ir::{
    Action, ArgType, FileInfo, Kind, Matcher, ParamSig, ParamType, Policy, Principal, Proto,
    Scalar, SetOperand, SourceRef, Test, ToolSig,
};
use agentpol_core::request::{Request, Resource};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// The facts of a policy that request validation needs, as plain data: what
/// `agentpol-cedar.json` records next to the Cedar files, or what
/// [`CatalogParts::of`] reads from the IR.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogParts {
    /// Source files (indexed by `SourceRef.file`), for rule locations.
    pub files: Vec<FileInfo>,
    /// Agents, each with its skills' names, in policy order.
    pub agents: Vec<(String, Vec<String>)>,
    /// Tool signatures.
    pub tools: Vec<ToolSig>,
    /// Param declarations.
    pub params: Vec<ParamSig>,
    /// Params each owner's rules read, per tool, in rule order: a request by
    /// that owner (or by one of the agent's skills) must bind them.
    pub required_params: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Environment variables some `ContainsSecret` test reads.
    pub secret_vars: BTreeSet<String>,
}

impl CatalogParts {
    /// The parts of `policy`.
    pub fn of(policy: &Policy) -> CatalogParts {
        let mut required: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        let mut secret_vars = BTreeSet::new();
        for (who, rule) in policy.all_rules() {
            let Matcher::Tool { tool, conditions } = &rule.matcher else {
                continue;
            };
            let read: Vec<String> = conditions
                .iter()
                .filter_map(|a| param_read(&a.test))
                .filter(|p| policy.param(p).is_some())
                .map(str::to_string)
                .collect();
            for a in conditions {
                if let Test::ContainsSecret { var, .. } = &a.test {
                    secret_vars.insert(var.clone());
                }
            }
            if rule.action != Action::Call || read.is_empty() {
                continue;
            }
            let tools: Vec<&str> = match tool {
                Some(t) => vec![t.as_str()],
                None => policy.tools.iter().map(|t| t.name.as_str()).collect(),
            };
            let owner = owner_name(who);
            for t in tools {
                let list = required
                    .entry(owner.clone())
                    .or_default()
                    .entry(t.to_string())
                    .or_default();
                for p in &read {
                    if !list.contains(p) {
                        list.push(p.clone());
                    }
                }
            }
        }
        CatalogParts {
            files: policy.files.clone(),
            agents: policy
                .agents
                .iter()
                .map(|a| {
                    (
                        a.name.clone(),
                        a.skills.iter().map(|s| s.name.clone()).collect(),
                    )
                })
                .collect(),
            tools: policy.tools.clone(),
            params: policy.params.clone(),
            required_params: required,
            secret_vars,
        }
    }
}

/// `agent` or `agent.skill`: how rules' owners are named in decisions.
pub fn owner_name(p: Principal<'_>) -> String {
    match p {
        Principal::Agent(a) => a.to_string(),
        Principal::Skill(a, s) => format!("{a}.{s}"),
    }
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

/// [`CatalogParts`] with lookup tables: what [`prepare()`] validates against.
#[derive(Clone, Debug)]
pub struct Catalog {
    parts: CatalogParts,
    agents: HashMap<String, (usize, HashMap<String, usize>)>,
    tools: HashMap<String, usize>,
    params: HashMap<String, ParamType>,
    /// `agent` / `agent.skill` by (agent, skill) index.
    owner_names: HashMap<(usize, Option<usize>), String>,
    /// Params to bind, by (agent, skill, tool) index.
    required: HashMap<(usize, Option<usize>, usize), Vec<String>>,
}

impl Catalog {
    /// The catalog of `policy`.
    pub fn of(policy: &Policy) -> Catalog {
        Catalog::new(CatalogParts::of(policy))
    }

    /// Builds the lookup tables over `parts`.
    pub fn new(parts: CatalogParts) -> Catalog {
        let agents = parts
            .agents
            .iter()
            .enumerate()
            .map(|(i, (name, skills))| {
                let skills = skills
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (s.clone(), j))
                    .collect();
                (name.clone(), (i, skills))
            })
            .collect();
        let tools = parts
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let params = parts
            .params
            .iter()
            .map(|p| (p.name.clone(), p.ty))
            .collect();
        let mut owner_names = HashMap::new();
        for (i, (name, skills)) in parts.agents.iter().enumerate() {
            owner_names.insert((i, None), name.clone());
            for (j, s) in skills.iter().enumerate() {
                owner_names.insert((i, Some(j)), format!("{name}.{s}"));
            }
        }
        let tool_ix: HashMap<&str, usize> = parts
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut required = HashMap::new();
        for ((a, s), name) in &owner_names {
            for (tool, list) in parts.required_params.get(name).into_iter().flatten() {
                if let Some(t) = tool_ix.get(tool.as_str()) {
                    required.insert((*a, *s, *t), list.clone());
                }
            }
        }
        Catalog {
            parts,
            agents,
            tools,
            params,
            owner_names,
            required,
        }
    }

    /// The facts the catalog was built from.
    pub fn parts(&self) -> &CatalogParts {
        &self.parts
    }

    /// The tool with index `i` (as in [`Body::Tool`]).
    pub fn tool(&self, i: usize) -> Option<&ToolSig> {
        self.parts.tools.get(i)
    }

    /// `file:line:col` of a source position.
    pub fn location(&self, src: &SourceRef) -> String {
        let file = self
            .parts
            .files
            .get(src.span.file.0 as usize)
            .map(|f| f.name.as_str())
            .unwrap_or("<unknown file>");
        format!("{file}:{}:{}", src.line, src.col)
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

/// The parts of a parsed URL argument, as the evaluator reads them
/// (`agentpol_core::eval::matching::url_field`).
#[derive(Clone, Debug)]
pub struct UrlVal<'r> {
    /// The argument as given.
    pub raw: &'r str,
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
        /// As the request gave it (for reasons).
        raw_addr: Option<IpAddr>,
        /// Normalised.
        domain: Option<String>,
        /// The peer's port.
        port: u16,
    },
    /// A tool call.
    Tool {
        /// The tool's index in the catalog ([`Catalog::tool`]).
        tool: usize,
        /// In signature order.
        args: Vec<ArgVal<'r>>,
        /// Typed values of every bound param.
        params: BTreeMap<&'r str, ParamValue>,
        /// Arguments the caller marked as carrying untrusted data.
        tainted: &'r [String],
        /// Secret variables (of those some rule tests) whose value occurs in an argument.
        contains_secret: Vec<&'r str>,
    },
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
            Body::Tool { .. } => Action::Call,
            Body::Env { .. } => Action::ReadEnv,
        }
    }
}

/// A validated request: the one form the index and the Cedar engine decide.
#[derive(Clone, Debug)]
pub struct Prepared<'r> {
    /// The agent's index in the catalog.
    pub agent: usize,
    /// The skill's index among the agent's skills.
    pub skill: Option<usize>,
    /// What is asked.
    pub body: Body<'r>,
}

/// Validates `req` against the catalog.
pub fn prepare<'r>(cat: &'r Catalog, req: &'r Request) -> Result<Prepared<'r>, RequestError> {
    let (agent, skills) = cat.agents.get(&req.agent).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_AGENT,
            "/agent",
            format!("the policy has no agent `{}`", req.agent),
            suggestion_help(
                &req.agent,
                cat.parts.agents.iter().map(|(a, _)| a.as_str()),
                "agents",
            ),
        )
    })?;
    let skill = match &req.skill {
        None => None,
        Some(name) => Some(*skills.get(name).ok_or_else(|| {
            let names = cat
                .parts
                .agents
                .get(*agent)
                .map(|(_, skills)| skills.clone())
                .unwrap_or_default();
            RequestError::new(
                &codes::REQUEST_UNKNOWN_SKILL,
                "/skill",
                format!("agent `{}` has no skill `{name}`", req.agent),
                suggestion_help(name, names.iter().map(String::as_str), "skills"),
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
        } => tool_call(cat, *agent, skill, tool, args, params, tainted, secrets)?,
        Resource::Env { var } => Body::Env { var },
    };
    Ok(Prepared {
        agent: *agent,
        skill,
        body,
    })
}

fn check_path<'r>(path: &'r str, field: &str, what: &str) -> Result<PathVal<'r>, RequestError> {
    request_check::check_path(path, field, what).map(PathVal::new)
}

/// A URL argument in parts, parsed by the evaluator's parser and read as
/// the evaluator reads `url.host` (so `http://[::ffff:192.0.2.1]/` has host `192.0.2.1`).
fn url_val(raw: &str) -> Result<UrlVal<'_>, url::ParseError> {
    let u = parse_url(raw)?;
    let (host, domain, ip) = match url_host(&u) {
        Some(UrlHost::Ip(ip)) => (Some(ip.to_string()), None, Some(ip)),
        Some(UrlHost::Domain(d)) => (Some(d.clone()), Some(d), None),
        None => (None, None, None),
    };
    Ok(UrlVal {
        raw,
        scheme: u.scheme().to_string(),
        host,
        domain,
        ip,
        port: u.port_or_known_default().map(i64::from),
        path: u.path().to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
fn tool_call<'r>(
    cat: &'r Catalog,
    agent: usize,
    skill: Option<usize>,
    tool: &str,
    args: &'r BTreeMap<String, serde_json::Value>,
    params: &'r BTreeMap<String, serde_json::Value>,
    tainted: &'r [String],
    secrets: &'r BTreeMap<String, String>,
) -> Result<Body<'r>, RequestError> {
    let tool_ix = *cat.tools.get(tool).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_TOOL,
            "/tool",
            format!("the policy declares no tool `{tool}`"),
            suggestion_help(
                tool,
                cat.parts.tools.iter().map(|t| t.name.as_str()),
                "tools",
            ),
        )
    })?;
    let sig = cat.tool(tool_ix).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_TOOL,
            "/tool",
            "internal: tool index",
            "",
        )
    })?;
    let declared = || sig.args.iter().map(|a| a.name.as_str());
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
            (ArgType::Url, serde_json::Value::String(s)) => match url_val(s) {
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
        let Some(ty) = cat.params.get(name) else {
            return Err(RequestError::new(
                &codes::REQUEST_UNKNOWN_PARAM,
                field(),
                format!("the request binds param `{name}`, which the policy does not declare"),
                suggestion_help(
                    name,
                    cat.parts.params.iter().map(|p| p.name.as_str()),
                    "params",
                ),
            ));
        };
        let v = param_value(*ty, value).ok_or_else(|| {
            RequestError::new(
                &codes::REQUEST_ILL_TYPED_PARAM,
                field(),
                format!(
                    "param `{name}` is declared {} but is bound to {}",
                    param_type_name(*ty),
                    json_type_name(value)
                ),
                format!("bind it to {}", param_type_json(*ty)),
            )
        })?;
        bound.insert(name.as_str(), v);
    }
    // Every param a rule of the requesting agent (and skill) reads must be bound.
    let sides = [Some((agent, None)), skill.map(|s| (agent, Some(s)))];
    for (a, sk) in sides.into_iter().flatten() {
        let owner = cat
            .owner_names
            .get(&(a, sk))
            .map(String::as_str)
            .unwrap_or("");
        let needed = cat.required.get(&(a, sk, tool_ix));
        for p in needed.into_iter().flatten() {
            if !bound.contains_key(p.as_str()) {
                return Err(RequestError::new(
                    &codes::REQUEST_UNBOUND_PARAM,
                    format!("/params/{}", pointer(p)),
                    format!(
                        "param `{p}` is not bound, but a rule of {owner} for tool `{}` reads it",
                        sig.name
                    ),
                    format!("bind it in the request's `params`, e.g. \"params\": {{\"{p}\": ...}}"),
                ));
            }
        }
    }
    let mut contains_secret = Vec::new();
    for var in &cat.parts.secret_vars {
        let Some(secret) = secrets.get(var).filter(|s| !s.is_empty()) else {
            continue;
        };
        if args
            .values()
            .any(|v| v.as_str().is_some_and(|s| s.contains(secret.as_str())))
        {
            contains_secret.push(var.as_str());
        }
    }
    Ok(Body::Tool {
        tool: tool_ix,
        args: typed,
        params: bound,
        tainted,
        contains_secret,
    })
}
