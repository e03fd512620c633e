//! The gate's decision log: one JSON object per line, schema in
//! `lang-spec/gate.md` (version [`VERSION`]). Arguments declared `secret`
//! are masked; so is any argument containing the value of a secret
//! environment variable.

use crate::approve::Outcome;
use crate::taint::Source;
use agentpol_core::ir::{Policy, SourceRef};
use agentpol_core::request::{Decision, Request, Resource};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// The log schema's version.
pub const VERSION: u32 = 1;

/// The mask written instead of a secret value.
pub const MASK: &str = "***";

/// Now, as RFC 3339 UTC with microseconds.
pub fn now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

/// `file:line:col` of a source reference.
pub fn location(policy: &Policy, src: &SourceRef) -> String {
    let file = policy
        .files
        .get(src.span.file.0 as usize)
        .map_or("<unknown>", |f| f.name.as_str());
    format!("{file}:{}:{}", src.line, src.col)
}

/// The request as JSON with secret arguments masked.
pub fn masked_request(policy: &Policy, request: &Request) -> Value {
    let Resource::Tool {
        tool,
        args,
        params,
        tainted,
        secrets,
    } = &request.resource
    else {
        return serde_json::to_value(request).unwrap_or(Value::Null);
    };
    let sig = policy.tools.iter().find(|t| &t.name == tool);
    let args: serde_json::Map<String, Value> = args
        .iter()
        .map(|(k, v)| {
            let declared_secret = sig.and_then(|s| s.arg(k)).is_some_and(|a| a.secret);
            let holds_secret = v.as_str().is_some_and(|s| {
                secrets
                    .values()
                    .any(|sec| !sec.is_empty() && s.contains(sec.as_str()))
            });
            let shown = if declared_secret || holds_secret {
                json!(MASK)
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect();
    json!({
        "agent": request.agent,
        "skill": request.skill,
        "tool": tool,
        "args": args,
        "params": params,
        "tainted": tainted,
    })
}

/// One decision, as logged.
#[derive(Debug)]
pub struct Record<'a> {
    /// Sequence number of the call in this gate.
    pub call: u64,
    /// The agent.
    pub agent: &'a str,
    /// The skill.
    pub skill: Option<&'a str>,
    /// The MCP method.
    pub method: &'a str,
    /// The request decided.
    pub request: &'a Request,
    /// Which params binding was in force.
    pub params_version: u64,
    /// Tainted arguments and where their values were seen.
    pub tainted: &'a [(String, Source)],
    /// The engine's decision.
    pub decision: &'a Decision,
    /// The approver's answer, for `ask`.
    pub approver: Option<Outcome>,
    /// Whether the message went on to its destination.
    pub forwarded: bool,
    /// Monitor mode (forwarded whatever the decision).
    pub monitor: bool,
    /// Time to decide, including the approver.
    pub latency: Duration,
}

impl Record<'_> {
    /// The log line.
    pub fn to_json(&self, policy: &Policy) -> Value {
        let req = masked_request(policy, self.request);
        let tool = req.get("tool").cloned().unwrap_or(Value::Null);
        json!({
            "v": VERSION,
            "time": now(),
            "event": "decision",
            "call": self.call,
            "agent": self.agent,
            "skill": self.skill,
            "method": self.method,
            "tool": tool,
            "args": req.get("args").cloned().unwrap_or(Value::Null),
            "params_version": self.params_version,
            "taint": self.tainted.iter().map(|(arg, s)| json!({"arg": arg, "tool": s.tool, "call": s.call})).collect::<Vec<_>>(),
            "decision": self.decision.effect,
            "reason": self.decision.reason,
            "deciding": self.decision.deciding.iter().map(|r| json!({"id": r.id, "at": location(policy, &r.src)})).collect::<Vec<_>>(),
            "approver": self.approver.map(Outcome::as_str),
            "forwarded": self.forwarded,
            "monitor": self.monitor,
            "latency_us": u64::try_from(self.latency.as_micros()).unwrap_or(u64::MAX),
        })
    }
}
