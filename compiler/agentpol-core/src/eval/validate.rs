//! Request validation: everything that makes a request undecidable is found
//! here, before any rule is looked at, and turned into a [`RequestError`].
//!
//! The output is a [`Checked`] request whose values are parsed and typed, so
//! rule matching never has to guess.

use super::matching::parse_url;
use super::request_check::{
    ambiguous_url, arg_type_name, check_net_peer, check_path, json_int, json_type_name,
    param_type_json, param_type_name, param_value, signature, suggestion_help, wrong_action,
    ParamValue,
};
use super::{pointer, RequestError};
use crate::diag::codes;
use crate::ir::{Action, Agent, ArgType, Kind, Policy, Proto, Skill, ToolSig};
use crate::request::{Request, Resource};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A validated request.
pub(super) enum Checked<'a> {
    Fs {
        action: Action,
        path: &'a str,
    },
    Exec {
        path: &'a str,
        args: &'a [String],
    },
    Net {
        action: Action,
        proto: Proto,
        addr: Option<IpAddr>,
        domain: Option<String>,
        port: u16,
    },
    Tool(ToolCall<'a>),
    Env {
        var: &'a str,
    },
}

impl Checked<'_> {
    /// The action a rule must have to apply.
    pub(super) fn action(&self) -> Action {
        match self {
            Checked::Fs { action, .. } | Checked::Net { action, .. } => *action,
            Checked::Exec { .. } => Action::Exec,
            Checked::Tool(_) => Action::Call,
            Checked::Env { .. } => Action::ReadEnv,
        }
    }

    /// The request in words, for reasons (argument values are never shown:
    /// some are secrets).
    pub(super) fn describe(&self) -> String {
        match self {
            Checked::Fs { action, path } => format!("fs {} {path}", action.as_str()),
            Checked::Exec { path, args: [] } => format!("exec {path}"),
            Checked::Exec { path, args } => format!("exec {path} with args {args:?}"),
            Checked::Net {
                action,
                proto,
                addr,
                domain,
                port,
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
            Checked::Tool(call) => format!("tool {}", call.sig.name),
            Checked::Env { var } => format!("env {var}"),
        }
    }
}

/// A validated tool call.
pub(super) struct ToolCall<'a> {
    pub(super) sig: &'a ToolSig,
    /// Typed values of every declared argument.
    pub(super) args: BTreeMap<&'a str, ArgValue<'a>>,
    /// The argument values as given (for `ContainsSecret`).
    pub(super) raw_args: &'a BTreeMap<String, serde_json::Value>,
    /// Typed values of every bound param.
    pub(super) params: BTreeMap<&'a str, ParamValue>,
    pub(super) tainted: &'a [String],
    pub(super) secrets: &'a BTreeMap<String, String>,
}

/// A typed argument value.
pub(super) enum ArgValue<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Url(url::Url),
    /// Normalised (one trailing `/` removed).
    Path(&'a str),
}

/// Finds the agent, the skill and the typed request, or says what is wrong.
pub(super) fn check_request<'a>(
    policy: &'a Policy,
    request: &'a Request,
) -> Result<(&'a Agent, Option<&'a Skill>, Checked<'a>), RequestError> {
    let agent = policy.agent(&request.agent).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_AGENT,
            "/agent",
            format!("the policy has no agent `{}`", request.agent),
            suggestion_help(
                &request.agent,
                policy.agents.iter().map(|a| a.name.as_str()),
                "agents",
            ),
        )
    })?;
    let skill = match &request.skill {
        None => None,
        Some(name) => Some(
            agent
                .skills
                .iter()
                .find(|s| &s.name == name)
                .ok_or_else(|| {
                    RequestError::new(
                        &codes::REQUEST_UNKNOWN_SKILL,
                        "/skill",
                        format!("agent `{}` has no skill `{name}`", agent.name),
                        suggestion_help(
                            name,
                            agent.skills.iter().map(|s| s.name.as_str()),
                            "skills",
                        ),
                    )
                })?,
        ),
    };
    let checked = match &request.resource {
        Resource::Fs { action, path } => {
            if action.kind() != Kind::Fs {
                return Err(wrong_action(
                    *action,
                    "fs",
                    "read, write, create, delete, rename, link or mkdir",
                ));
            }
            Checked::Fs {
                action: *action,
                path: check_path(path, "/path", "the fs path")?,
            }
        }
        Resource::Exec { path, args } => Checked::Exec {
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
            Checked::Net {
                action: *action,
                proto: *proto,
                addr,
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
        } => Checked::Tool(check_tool_call(
            policy, tool, args, params, tainted, secrets,
        )?),
        Resource::Env { var } => Checked::Env { var },
    };
    Ok((agent, skill, checked))
}

fn check_tool_call<'a>(
    policy: &'a Policy,
    tool: &str,
    args: &'a BTreeMap<String, serde_json::Value>,
    params: &'a BTreeMap<String, serde_json::Value>,
    tainted: &'a [String],
    secrets: &'a BTreeMap<String, String>,
) -> Result<ToolCall<'a>, RequestError> {
    let sig = policy.tool(tool).ok_or_else(|| {
        RequestError::new(
            &codes::REQUEST_UNKNOWN_TOOL,
            "/tool",
            format!("the policy declares no tool `{tool}`"),
            suggestion_help(tool, policy.tools.iter().map(|t| t.name.as_str()), "tools"),
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
    let mut typed = BTreeMap::new();
    for arg in &sig.args {
        let field = format!("/args/{}", pointer(&arg.name));
        let Some(value) = args.get(&arg.name) else {
            return Err(RequestError::new(
                &codes::REQUEST_MISSING_ARGUMENT,
                field,
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
                field.clone(),
                format!("argument `{}` of tool `{}` {why}", arg.name, sig.name),
                format!("the signature is `{}({})`", sig.name, signature(sig)),
            )
        };
        if let (ArgType::Url, serde_json::Value::String(s)) = (arg.ty, value) {
            if let Some(why) = ambiguous_url(s) {
                return Err(RequestError::new(
                    &codes::REQUEST_AMBIGUOUS_HOST,
                    field.clone(),
                    format!("argument `{}` of tool `{}` is a URL parsers read differently: {why}", arg.name, sig.name),
                    "give the URL in plain form: scheme, `//`, a DNS name or plain IP address, optional port, then the path",
                ));
            }
        }
        let v = match (arg.ty, value) {
            (ArgType::String, serde_json::Value::String(s)) => ArgValue::Str(s),
            (ArgType::Bool, serde_json::Value::Bool(b)) => ArgValue::Bool(*b),
            (ArgType::Int, v) => match json_int(v) {
                Some(i) => ArgValue::Int(i),
                None => {
                    return Err(ill_typed(format!(
                        "must be an int, got {}",
                        json_type_name(v)
                    )))
                }
            },
            (ArgType::Url, serde_json::Value::String(s)) => match parse_url(s) {
                Ok(u) => ArgValue::Url(u),
                Err(e) => {
                    return Err(ill_typed(format!(
                        "must be an absolute URL, but it does not parse: {e}"
                    )))
                }
            },
            (ArgType::Path, serde_json::Value::String(s)) => ArgValue::Path(check_path(
                s,
                &field,
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
        typed.insert(arg.name.as_str(), v);
    }
    let mut bound = BTreeMap::new();
    for (name, value) in params {
        let field = format!("/params/{}", pointer(name));
        let Some(decl) = policy.param(name) else {
            return Err(RequestError::new(
                &codes::REQUEST_UNKNOWN_PARAM,
                field,
                format!("the request binds param `{name}`, which the policy does not declare"),
                suggestion_help(
                    name,
                    policy.params.iter().map(|p| p.name.as_str()),
                    "params",
                ),
            ));
        };
        let v = param_value(decl.ty, value).ok_or_else(|| {
            RequestError::new(
                &codes::REQUEST_ILL_TYPED_PARAM,
                field.clone(),
                format!(
                    "param `{name}` is declared {} but is bound to {}",
                    param_type_name(decl.ty),
                    json_type_name(value)
                ),
                format!("bind it to {}", param_type_json(decl.ty)),
            )
        })?;
        bound.insert(name.as_str(), v);
    }
    Ok(ToolCall {
        sig,
        args: typed,
        raw_args: args,
        params: bound,
        tainted,
        secrets,
    })
}
