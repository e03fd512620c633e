//! Request validation shared by the Cedar engine and the decision index.
//!
//! It follows the reference evaluator's validation (`agentpol_core::eval`) check
//! for check and in the same order, so all engines refuse the same requests
//! with the same code and field; the differential tests hold them to that.
//! The output is a [`Prepared`] request whose values are parsed and typed.

use crate::meta::Meta;
use agentpol_core::diag::codes;
use agentpol_core::eval::matching::{canonical_addr, normalize_domain};
use agentpol_core::eval::request_check::{
    self, ambiguous_url, arg_type_name, check_net_peer, json_type_name, param_type_json,
    param_type_name, param_value, signature, suggestion_help, wrong_action, ParamValue,
};
use agentpol_core::eval::RequestError;
use agentpol_core::ir::{Action, ArgType, Kind, ParamType, Proto, ToolSig};
use agentpol_core::request::{Request, Resource};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

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
        params: BTreeMap<&'r str, ParamValue>,
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
        RequestError::new(
            &codes::REQUEST_UNKNOWN_AGENT,
            "/agent",
            format!("the policy has no agent `{}`", req.agent),
            suggestion_help(
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
        RequestError::new(
            &codes::REQUEST_UNKNOWN_TOOL,
            "/tool",
            format!("the policy declares no tool `{tool}`"),
            suggestion_help(
                tool,
                cat.meta.tools.iter().map(|t| t.name.as_str()),
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
            return Err(RequestError::new(
                &codes::REQUEST_UNKNOWN_PARAM,
                field(),
                format!("the request binds param `{name}`, which the policy does not declare"),
                suggestion_help(
                    name,
                    cat.meta.params.iter().map(|p| p.name.as_str()),
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
