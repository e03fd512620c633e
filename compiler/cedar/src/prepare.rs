//! Request validation shared by the Cedar engine and the decision index.
//!
//! It follows the reference evaluator's validation (`agentpol::eval`) check
//! for check and in the same order, so all engines refuse the same requests
//! with the same code and field; the differential tests hold them to that.
//! The output is a [`Prepared`] request whose values are parsed and typed.

use crate::meta::Meta;
use agentpol::diag::CodeInfo;
use agentpol::eval::RequestError;
use agentpol::ir::{Action, ArgType, Kind, ParamType, Proto, ToolSig, Value};
use agentpol::request::{Request, Resource};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Request error codes (the evaluator's `AP08xx` registry).
pub(crate) mod code {
    use agentpol::diag::codes;
    use agentpol::diag::CodeInfo;
    pub(crate) fn unknown_agent() -> &'static CodeInfo {
        &codes::REQUEST_UNKNOWN_AGENT
    }
    pub(crate) fn unknown_skill() -> &'static CodeInfo {
        &codes::REQUEST_UNKNOWN_SKILL
    }
    pub(crate) fn unknown_tool() -> &'static CodeInfo {
        &codes::REQUEST_UNKNOWN_TOOL
    }
    pub(crate) fn missing_argument() -> &'static CodeInfo {
        &codes::REQUEST_MISSING_ARGUMENT
    }
    pub(crate) fn unknown_argument() -> &'static CodeInfo {
        &codes::REQUEST_UNKNOWN_ARGUMENT
    }
    pub(crate) fn ill_typed_argument() -> &'static CodeInfo {
        &codes::REQUEST_ILL_TYPED_ARGUMENT
    }
    pub(crate) fn unbound_param() -> &'static CodeInfo {
        &codes::REQUEST_UNBOUND_PARAM
    }
    pub(crate) fn ill_typed_param() -> &'static CodeInfo {
        &codes::REQUEST_ILL_TYPED_PARAM
    }
    pub(crate) fn unknown_param() -> &'static CodeInfo {
        &codes::REQUEST_UNKNOWN_PARAM
    }
    pub(crate) fn bad_path() -> &'static CodeInfo {
        &codes::REQUEST_BAD_PATH
    }
    pub(crate) fn bad_protocol() -> &'static CodeInfo {
        &codes::REQUEST_BAD_PROTOCOL
    }
    pub(crate) fn wrong_action() -> &'static CodeInfo {
        &codes::REQUEST_WRONG_ACTION
    }
    pub(crate) fn bad_domain() -> &'static CodeInfo {
        &codes::REQUEST_BAD_DOMAIN
    }
}

pub(crate) fn error(
    code: &'static CodeInfo,
    field: impl Into<String>,
    message: impl Into<String>,
    help: impl Into<String>,
) -> RequestError {
    RequestError {
        code,
        field: field.into(),
        message: message.into(),
        help: help.into(),
    }
}

/// Lookup tables over [`Meta`].
#[derive(Clone, Debug)]
pub(crate) struct Catalog {
    pub(crate) meta: Meta,
    agents: HashMap<String, (usize, HashMap<String, usize>)>,
    tools: HashMap<String, usize>,
    params: HashMap<String, ParamType>,
    /// `agent` / `agent.skill` by (agent, skill) index.
    owner_names: HashMap<(usize, Option<usize>), String>,
    /// Params to bind, by (agent, skill, tool) index.
    required: HashMap<(usize, Option<usize>, usize), Vec<String>>,
}

impl Catalog {
    pub(crate) fn new(meta: Meta) -> Catalog {
        let agents = meta
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let skills = a
                    .skills
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (s.clone(), j))
                    .collect();
                (a.name.clone(), (i, skills))
            })
            .collect();
        let tools = meta
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let params = meta.params.iter().map(|p| (p.name.clone(), p.ty)).collect();
        let mut owner_names = HashMap::new();
        for (i, a) in meta.agents.iter().enumerate() {
            owner_names.insert((i, None), a.name.clone());
            for (j, s) in a.skills.iter().enumerate() {
                owner_names.insert((i, Some(j)), format!("{}.{s}", a.name));
            }
        }
        let tool_ix: HashMap<&str, usize> = meta
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i))
            .collect();
        let mut required = HashMap::new();
        for ((a, s), name) in &owner_names {
            for (tool, list) in meta.required_params.get(name).into_iter().flatten() {
                if let Some(t) = tool_ix.get(tool.as_str()) {
                    required.insert((*a, *s, *t), list.clone());
                }
            }
        }
        Catalog {
            meta,
            agents,
            tools,
            params,
            owner_names,
            required,
        }
    }

    pub(crate) fn tool(&self, i: usize) -> Option<&ToolSig> {
        self.meta.tools.get(i)
    }
}

/// A path known to be absolute and normalised.
#[derive(Clone, Debug)]
pub(crate) struct PathVal<'r> {
    /// The path (one trailing `/` removed).
    pub(crate) path: &'r str,
    /// Its segments (`/` has none).
    pub(crate) segs: Vec<&'r str>,
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

/// The parts of a parsed URL argument.
#[derive(Clone, Debug)]
pub(crate) struct UrlVal<'r> {
    pub(crate) raw: &'r str,
    pub(crate) scheme: String,
    /// The host as `url.host` compares: normalised domain or the address.
    pub(crate) host: Option<String>,
    /// The normalised domain, for a domain host.
    pub(crate) domain: Option<String>,
    /// The address (IPv4-mapped addresses as IPv4), for an IP host.
    pub(crate) ip: Option<IpAddr>,
    pub(crate) port: Option<i64>,
    pub(crate) path: String,
}

/// A typed tool argument.
#[derive(Clone, Debug)]
pub(crate) enum ArgVal<'r> {
    Str(&'r str),
    Int(i64),
    Bool(bool),
    Url(Box<UrlVal<'r>>),
    Path(PathVal<'r>),
}

/// A typed param binding.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParamVal {
    Scalar(Value),
    Set(BTreeSet<Value>),
}

/// The kind-specific part of a validated request.
#[derive(Clone, Debug)]
pub(crate) enum Body<'r> {
    Fs {
        action: Action,
        path: PathVal<'r>,
    },
    Exec {
        path: PathVal<'r>,
        args: &'r [String],
    },
    Net {
        action: Action,
        proto: Proto,
        /// IPv4-mapped addresses as IPv4.
        addr: Option<IpAddr>,
        /// As the request gave it (for reasons).
        raw_addr: Option<IpAddr>,
        /// Normalised.
        domain: Option<String>,
        port: u16,
    },
    Tool {
        tool: usize,
        /// In signature order.
        args: Vec<ArgVal<'r>>,
        params: BTreeMap<&'r str, ParamVal>,
        tainted: &'r [String],
        /// Secret variables (of those some rule tests) whose value occurs in an argument.
        contains_secret: Vec<&'r str>,
    },
    Env {
        var: &'r str,
    },
}

impl Body<'_> {
    /// The IR action a rule must have to apply.
    pub(crate) fn action(&self) -> Action {
        match self {
            Body::Fs { action, .. } | Body::Net { action, .. } => *action,
            Body::Exec { .. } => Action::Exec,
            Body::Tool { .. } => Action::Call,
            Body::Env { .. } => Action::ReadEnv,
        }
    }
}

/// A validated request.
#[derive(Clone, Debug)]
pub(crate) struct Prepared<'r> {
    pub(crate) agent: usize,
    pub(crate) skill: Option<usize>,
    pub(crate) body: Body<'r>,
}

/// Escapes a JSON object key for a JSON pointer (RFC 6901).
pub(crate) fn pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Validates `req` against the catalog.
pub(crate) fn prepare<'r>(
    cat: &'r Catalog,
    req: &'r Request,
) -> Result<Prepared<'r>, RequestError> {
    let (agent, skills) = cat.agents.get(&req.agent).ok_or_else(|| {
        error(
            code::unknown_agent(),
            "/agent",
            format!("the policy has no agent `{}`", req.agent),
            suggestion(
                &req.agent,
                cat.meta.agents.iter().map(|a| a.name.as_str()),
                "agents",
            ),
        )
    })?;
    let skill = match &req.skill {
        None => None,
        Some(name) => Some(*skills.get(name).ok_or_else(|| {
            let names = cat
                .meta
                .agents
                .get(*agent)
                .map(|a| a.skills.clone())
                .unwrap_or_default();
            error(
                code::unknown_skill(),
                "/skill",
                format!("agent `{}` has no skill `{name}`", req.agent),
                suggestion(name, names.iter().map(String::as_str), "skills"),
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
                return Err(error(
                    code::bad_protocol(),
                    "/proto",
                    "the net request's `proto` is `any`, which is not a concrete protocol",
                    "give the socket's protocol: \"tcp\" or \"udp\"",
                ));
            }
            let domain = match domain {
                None => None,
                Some(d) => Some(check_domain(d)?),
            };
            Body::Net {
                action: *action,
                proto: *proto,
                addr: addr.map(canonical_addr),
                raw_addr: *addr,
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

fn wrong_action(action: Action, kind: &str, allowed: &str) -> RequestError {
    let actual = match action.kind() {
        Kind::Fs => "fs",
        Kind::Exec => "exec",
        Kind::Net => "net",
        Kind::Tool => "tool",
        Kind::Env => "env",
    };
    error(
        code::wrong_action(),
        "/action",
        format!(
            "action `{}` is a {actual} action, not a {kind} action",
            action.as_str()
        ),
        format!("a {kind} request's action is one of {allowed}"),
    )
}

/// Checks that a request path is absolute and normalised; one trailing `/` is removed.
pub(crate) fn normalize_request_path(path: &str) -> Result<&str, &'static str> {
    if !path.starts_with('/') {
        return Err("it is not absolute (it must start with `/`)");
    }
    if path.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if path == "/" {
        return Ok(path);
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    for segment in trimmed.split('/').skip(1) {
        match segment {
            "" => return Err("it contains an empty segment (`//`)"),
            "." => return Err("it contains a `.` segment"),
            ".." => return Err("it contains a `..` segment"),
            _ => {}
        }
    }
    Ok(trimmed)
}

fn check_path<'r>(path: &'r str, field: &str, what: &str) -> Result<PathVal<'r>, RequestError> {
    normalize_request_path(path).map(PathVal::new).map_err(|why| {
        error(
            code::bad_path(),
            field,
            format!("{what} {path:?} is not usable: {why}"),
            "give the absolute, normalised path the kernel reports (symlinks resolved, no `//`, `.` or `..`)",
        )
    })
}

/// A DNS name as matched: ASCII lower-case, one trailing `.` removed.
pub(crate) fn normalize_domain(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.strip_suffix('.') {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

fn check_domain(domain: &str) -> Result<String, RequestError> {
    let bad = |why: &str| {
        error(
            code::bad_domain(),
            "/domain",
            format!("the net request's domain {domain:?} is not usable: {why}"),
            "give the ASCII DNS name the agent asked for (internationalised names in punycode, `xn--...`), or leave `domain` out",
        )
    };
    if !domain.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad("it contains a non-ASCII, space or control character"));
    }
    let normal = normalize_domain(domain);
    if normal.is_empty() {
        return Err(bad("it is empty"));
    }
    if normal.split('.').any(str::is_empty) {
        return Err(bad("it has an empty label"));
    }
    Ok(normal)
}

/// An IPv4-mapped IPv6 address as its IPv4 address.
pub(crate) fn canonical_addr(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn parse_url(raw: &str) -> Result<UrlVal<'_>, url::ParseError> {
    let u = url::Url::parse(raw)?;
    let (host, domain, ip) = match u.host() {
        Some(url::Host::Ipv4(a)) => (Some(a.to_string()), None, Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (
            Some(a.to_string()),
            None,
            Some(canonical_addr(IpAddr::V6(a))),
        ),
        Some(url::Host::Domain(d)) => {
            let d = normalize_domain(d);
            if d.is_empty() {
                (None, None, None)
            } else {
                (Some(d.clone()), Some(d), None)
            }
        }
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
        error(
            code::unknown_tool(),
            "/tool",
            format!("the policy declares no tool `{tool}`"),
            suggestion(
                tool,
                cat.meta.tools.iter().map(|t| t.name.as_str()),
                "tools",
            ),
        )
    })?;
    let sig = cat
        .tool(tool_ix)
        .ok_or_else(|| error(code::unknown_tool(), "/tool", "internal: tool index", ""))?;
    let declared = || sig.args.iter().map(|a| a.name.as_str());
    for name in args.keys() {
        if sig.arg(name).is_none() {
            return Err(error(
                code::unknown_argument(),
                format!("/args/{}", pointer(name)),
                format!("tool `{}` has no argument `{name}`", sig.name),
                suggestion(name, declared(), "arguments"),
            ));
        }
    }
    for (i, name) in tainted.iter().enumerate() {
        if sig.arg(name).is_none() {
            return Err(error(
                code::unknown_argument(),
                format!("/tainted/{i}"),
                format!(
                    "`tainted` names `{name}`, which is not an argument of tool `{}`",
                    sig.name
                ),
                suggestion(name, declared(), "arguments"),
            ));
        }
    }
    let mut typed = Vec::with_capacity(sig.args.len());
    for arg in &sig.args {
        // Built only on the error paths: this loop is on the index's hot path.
        let field = || format!("/args/{}", pointer(&arg.name));
        let Some(value) = args.get(&arg.name) else {
            return Err(error(
                code::missing_argument(),
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
            error(
                code::ill_typed_argument(),
                field(),
                format!("argument `{}` of tool `{}` {why}", arg.name, sig.name),
                format!("the signature is `{}({})`", sig.name, signature(sig)),
            )
        };
        let v = match (arg.ty, value) {
            (ArgType::String, serde_json::Value::String(s)) => ArgVal::Str(s),
            (ArgType::Bool, serde_json::Value::Bool(b)) => ArgVal::Bool(*b),
            (ArgType::Int, v) => match v.as_i64() {
                Some(i) if v.is_number() => ArgVal::Int(i),
                _ => {
                    return Err(ill_typed(format!(
                        "must be an int, got {}",
                        json_type_name(v)
                    )))
                }
            },
            (ArgType::Url, serde_json::Value::String(s)) => match parse_url(s) {
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
            return Err(error(
                code::unknown_param(),
                field(),
                format!("the request binds param `{name}`, which the policy does not declare"),
                suggestion(
                    name,
                    cat.meta.params.iter().map(|p| p.name.as_str()),
                    "params",
                ),
            ));
        };
        let v = param_value(*ty, value).ok_or_else(|| {
            error(
                code::ill_typed_param(),
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
                return Err(error(
                    code::unbound_param(),
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
    for var in &cat.meta.secret_vars {
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

fn param_value(ty: ParamType, v: &serde_json::Value) -> Option<ParamVal> {
    let scalar = |v: &serde_json::Value, ty: ParamType| -> Option<Value> {
        match (ty, v) {
            (ParamType::String, serde_json::Value::String(s)) => Some(Value::Str(s.clone())),
            (ParamType::Bool, serde_json::Value::Bool(b)) => Some(Value::Bool(*b)),
            (ParamType::Int, serde_json::Value::Number(n)) => n.as_i64().map(Value::Int),
            _ => None,
        }
    };
    match ty {
        ParamType::String | ParamType::Int | ParamType::Bool => scalar(v, ty).map(ParamVal::Scalar),
        ParamType::SetString | ParamType::SetInt => {
            let elem = if ty == ParamType::SetString {
                ParamType::String
            } else {
                ParamType::Int
            };
            let mut set = BTreeSet::new();
            for item in v.as_array()? {
                set.insert(scalar(item, elem)?);
            }
            Some(ParamVal::Set(set))
        }
    }
}

fn arg_type_name(ty: ArgType) -> &'static str {
    match ty {
        ArgType::String => "a string",
        ArgType::Int => "an int",
        ArgType::Bool => "a bool",
        ArgType::Url => "a url (a string holding an absolute URL)",
        ArgType::Path => "a path (a string holding an absolute path)",
    }
}

fn arg_type_word(ty: ArgType) -> &'static str {
    match ty {
        ArgType::String => "string",
        ArgType::Int => "int",
        ArgType::Bool => "bool",
        ArgType::Url => "url",
        ArgType::Path => "path",
    }
}

fn signature(sig: &ToolSig) -> String {
    let args: Vec<String> = sig
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, arg_type_word(a.ty)))
        .collect();
    args.join(", ")
}

fn param_type_name(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "string",
        ParamType::Int => "int",
        ParamType::Bool => "bool",
        ParamType::SetString => "set<string>",
        ParamType::SetInt => "set<int>",
    }
}

fn param_type_json(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "a JSON string",
        ParamType::Int => "a JSON integer in the 64-bit signed range",
        ParamType::Bool => "true or false",
        ParamType::SetString => "a JSON array of strings",
        ParamType::SetInt => "a JSON array of integers in the 64-bit signed range",
    }
}

fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(n) if n.as_i64().is_some() => "an integer",
        serde_json::Value::Number(n) if n.is_u64() => "an integer out of the 64-bit signed range",
        serde_json::Value::Number(_) => "a number written with a fraction or an exponent",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The declared names, for a help line.
fn suggestion<'a>(name: &str, candidates: impl Iterator<Item = &'a str>, what: &str) -> String {
    let all: Vec<&str> = candidates.collect();
    if all.is_empty() {
        return format!("the policy declares no {what} here");
    }
    if let Some(close) = all
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name) || c.starts_with(name) || name.starts_with(**c))
    {
        return format!("did you mean `{close}`?");
    }
    let shown: Vec<String> = all.iter().take(12).map(|c| format!("`{c}`")).collect();
    let more = if all.len() > 12 { ", ..." } else { "" };
    format!("the declared {what} are {}{more}", shown.join(", "))
}

/// A network inside `::ffff:0:0/96` as the IPv4 network it maps.
pub(crate) fn canonical_net(net: &ipnet::IpNet) -> ipnet::IpNet {
    if let ipnet::IpNet::V6(v6) = net {
        if let (Some(v4), Some(len)) = (
            v6.network().to_ipv4_mapped(),
            v6.prefix_len().checked_sub(96),
        ) {
            if let Ok(n) = ipnet::Ipv4Net::new(v4, len) {
                return ipnet::IpNet::V4(n);
            }
        }
    }
    *net
}
