//! Requests and decisions: the input and output of every decision engine.
//!
//! The JSON form of [`Request`] is what `agentpolc eval --request` and
//! `agentpolc authorize` read (documented in `lang-spec/requests.md`):
//!
//! ```json
//! {"agent": "openclaw", "kind": "fs", "action": "read", "path": "/home/agent/.ssh/id_ed25519"}
//! {"agent": "openclaw", "skill": "pdf_summary", "kind": "net", "action": "connect",
//!  "proto": "tcp", "addr": "140.82.112.3", "domain": "api.github.com", "port": 443}
//! {"agent": "openclaw", "kind": "exec", "path": "/usr/bin/git", "args": ["status"]}
//! {"agent": "openclaw", "kind": "tool", "tool": "send_email",
//!  "args": {"to": "a@example.com", "body": "hi"}, "params": {"contacts": ["a@example.com"]},
//!  "tainted": ["body"]}
//! {"agent": "openclaw", "kind": "env", "var": "GITHUB_TOKEN"}
//! ```

use crate::vocab::{Action, Effect, Proto, RuleId, SourceRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A request to decide.
///
/// Deserialize it with `agentpol_core::eval::parse_request`, which rejects unknown
/// fields: serde cannot (`deny_unknown_fields` does not combine with
/// `flatten`, it rejects every request), and silently ignoring a misspelt
/// `skill` would evaluate the request with the agent's wider rights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The agent making the request.
    pub agent: String,
    /// The skill making it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// What is requested.
    #[serde(flatten)]
    pub resource: Resource,
}

/// The kind-specific part of a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Resource {
    /// A file operation on an absolute, normalised, symlink-resolved path.
    Fs {
        /// One of read, write, create, delete, rename, link, mkdir.
        action: Action,
        /// The path as the kernel reports it.
        path: String,
    },
    /// An execution.
    Exec {
        /// The binary's absolute path.
        path: String,
        /// argv[1..].
        #[serde(default)]
        args: Vec<String>,
    },
    /// A socket operation.
    Net {
        /// connect, listen or sendto.
        action: Action,
        /// tcp or udp (`any` is not a concrete protocol).
        proto: Proto,
        /// The peer (or, for listen, local) address, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        addr: Option<IpAddr>,
        /// The DNS name the agent asked for, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        /// The port.
        port: u16,
    },
    /// A tool call.
    Tool {
        /// The tool's name.
        tool: String,
        /// Argument values by name (JSON strings, integers, booleans).
        #[serde(default)]
        args: BTreeMap<String, serde_json::Value>,
        /// Param bindings by qualified name.
        #[serde(default)]
        params: BTreeMap<String, serde_json::Value>,
        /// Names of arguments whose values derive from untrusted tool output.
        #[serde(default)]
        tainted: Vec<String>,
        /// Values of environment-variable secrets present in the caller's
        /// environment, by variable name (for `ContainsSecret`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        secrets: BTreeMap<String, String>,
    },
    /// Passing an environment variable to the agent.
    Env {
        /// The variable's name.
        var: String,
    },
}

/// A rule that matched a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchedRule {
    /// Its id.
    pub id: RuleId,
    /// Its effect.
    pub effect: Effect,
    /// `agent` or `agent.skill`: whose rule it is.
    pub owner: String,
    /// Where it was written.
    pub src: SourceRef,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// allow, ask or deny.
    pub effect: Effect,
    /// The rules that decided it (those with the winning effect); empty for default deny.
    pub deciding: Vec<MatchedRule>,
    /// Every rule that matched, in rule order (agent's, then skill's).
    pub matched: Vec<MatchedRule>,
    /// A sentence saying why, e.g. "denied by rule ... " or "default deny: no rule matched".
    pub reason: String,
}
