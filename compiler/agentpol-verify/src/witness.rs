//! Concrete requests from solver models.
//!
//! A model gives each slot a value; this module assembles the request the
//! evaluator reads. Slots no formula mentioned get plain defaults of the right
//! type: by construction no rule outside the query's neighbourhood can match
//! a request that a rule inside it matches, so their values do not matter.

use crate::encode::Values;
use crate::formula::{Part, Slot, HOST_DOMAIN, HOST_NONE, HOST_V4};
use agentpol_core::ir::{ArgType, Policy, Proto, ToolSig};
use agentpol_core::request::{Request, Resource};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Who makes a request: an agent, or one of its skills.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Who {
    pub(crate) agent: String,
    pub(crate) skill: Option<String>,
}

impl Who {
    /// `agent` or `agent.skill`.
    pub(crate) fn owner(&self) -> String {
        match &self.skill {
            Some(s) => format!("{}.{s}", self.agent),
            None => self.agent.clone(),
        }
    }
}

/// The request of `who` in partition `part` that the values describe.
pub(crate) fn request(policy: &Policy, who: &Who, part: &Part, v: &Values) -> Request {
    let resource = match part {
        Part::Fs(action) => Resource::Fs {
            action: *action,
            path: v.str(&Slot::FsPath).unwrap_or("/").to_string(),
        },
        Part::Exec => {
            let argc = v.int(&Slot::ExecArgc).unwrap_or(0).clamp(0, 4096);
            let args = (0..argc)
                .map(|i| {
                    let i = u32::try_from(i).unwrap_or(0);
                    v.str(&Slot::ExecArg(i)).unwrap_or("x").to_string()
                })
                .collect();
            Resource::Exec {
                path: v.str(&Slot::ExecPath).unwrap_or("/x").to_string(),
                args,
            }
        }
        Part::Net(action) => Resource::Net {
            action: *action,
            proto: if v.bool(&Slot::NetTcp).unwrap_or(true) {
                Proto::Tcp
            } else {
                Proto::Udp
            },
            addr: if v.bool(&Slot::NetAddrSome).unwrap_or(false) {
                v.addr(&Slot::NetAddr)
            } else {
                None
            },
            domain: if v.bool(&Slot::NetDomainSome).unwrap_or(false) {
                v.str(&Slot::NetDomain).map(str::to_string)
            } else {
                None
            },
            port: u16::try_from(v.int(&Slot::NetPort).unwrap_or(1)).unwrap_or(1),
        },
        Part::Tool(name) => tool_call(policy, policy.tool(name), name, v),
        Part::Env => Resource::Env {
            var: v.str(&Slot::EnvVar).unwrap_or("").to_string(),
        },
    };
    Request {
        agent: who.agent.clone(),
        skill: who.skill.clone(),
        resource,
    }
}

fn tool_call(policy: &Policy, sig: Option<&ToolSig>, name: &str, v: &Values) -> Resource {
    let mut args = BTreeMap::new();
    let mut tainted = Vec::new();
    for a in sig.map(|s| s.args.as_slice()).unwrap_or(&[]) {
        let slot = Slot::Arg(a.name.clone());
        let value = match a.ty {
            ArgType::String => serde_json::Value::String(v.str(&slot).unwrap_or("").to_string()),
            ArgType::Path => serde_json::Value::String(v.str(&slot).unwrap_or("/").to_string()),
            ArgType::Int => serde_json::Value::from(v.int(&slot).unwrap_or(0)),
            ArgType::Bool => serde_json::Value::Bool(v.bool(&slot).unwrap_or(false)),
            ArgType::Url => serde_json::Value::String(url(&a.name, v)),
        };
        args.insert(a.name.clone(), value);
        if v.bool(&Slot::Tainted(a.name.clone())).unwrap_or(false) {
            tainted.push(a.name.clone());
        }
    }
    let mut params = BTreeMap::new();
    for p in &policy.params {
        let slot = Slot::Param(p.name.clone());
        let value = match p.ty {
            agentpol_core::ir::ParamType::String => v
                .str(&slot)
                .map(|s| serde_json::Value::String(s.to_string())),
            agentpol_core::ir::ParamType::Int => v.int(&slot).map(serde_json::Value::from),
            agentpol_core::ir::ParamType::Bool => v.bool(&slot).map(serde_json::Value::Bool),
            agentpol_core::ir::ParamType::SetString | agentpol_core::ir::ParamType::SetInt => {
                v.sets.get(&p.name).map(|set| {
                    serde_json::Value::Array(
                        set.iter()
                            .map(|x| match x {
                                agentpol_core::ir::Value::Str(s) => {
                                    serde_json::Value::String(s.clone())
                                }
                                agentpol_core::ir::Value::Int(i) => serde_json::Value::from(*i),
                                agentpol_core::ir::Value::Bool(b) => serde_json::Value::Bool(*b),
                            })
                            .collect(),
                    )
                })
            }
        };
        params.insert(
            p.name.clone(),
            value.unwrap_or_else(|| crate::encode::default_param(p.ty)),
        );
    }
    // A contained secret takes the longest string argument's value; an
    // uncontained one is left out (absent variables are never contained).
    let mut secrets = BTreeMap::new();
    let longest = args
        .values()
        .filter_map(|x| x.as_str())
        .max_by_key(|s| s.len())
        .unwrap_or("")
        .to_string();
    for (slot, val) in &v.slots {
        if let (Slot::Secret(var), crate::encode::Val::Bool(true)) = (slot, val) {
            secrets.insert(var.clone(), longest.clone());
        }
    }
    Resource::Tool {
        tool: name.to_string(),
        args,
        params,
        tainted,
        secrets,
    }
}

/// Default ports of the special schemes.
fn default_port(scheme: &str) -> Option<i64> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// The URL text the values of url argument `a` describe.
fn url(a: &str, v: &Values) -> String {
    let a = a.to_string();
    let Some(scheme) = v.str(&Slot::UrlScheme(a.clone())) else {
        return "https://example.com/".into();
    };
    let kind = v.int(&Slot::UrlHostKind(a.clone())).unwrap_or(HOST_DOMAIN);
    let path = v.str(&Slot::UrlPath(a.clone())).unwrap_or("/");
    if kind == HOST_NONE {
        return format!("{scheme}:{path}");
    }
    let host = match kind {
        HOST_DOMAIN => v.str(&Slot::UrlHost(a.clone())).unwrap_or("x").to_string(),
        _ => match v.addr(&Slot::UrlIp(a.clone())) {
            Some(IpAddr::V6(ip)) => format!("[{ip}]"),
            Some(ip) => ip.to_string(),
            None if kind == HOST_V4 => "0.0.0.0".into(),
            None => "[::]".into(),
        },
    };
    let port = if v.bool(&Slot::UrlPortKnown(a.clone())).unwrap_or(false) {
        let p = v.int(&Slot::UrlPort(a)).unwrap_or(0);
        if default_port(scheme) == Some(p) {
            String::new()
        } else {
            format!(":{p}")
        }
    } else {
        String::new()
    };
    format!("{scheme}://{host}{port}{path}")
}
