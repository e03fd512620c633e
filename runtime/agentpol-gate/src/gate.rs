//! The gate's state machine: one message in, the messages to send out.
//!
//! It does no IO of its own except the approver and the audit log, so the
//! whole protocol logic is tested in-process ([`crate::run`] adds the pipes,
//! the server process, signals and timers).

use crate::approve::{Approver, Outcome};
use crate::audit::{self, Record};
use crate::jsonrpc::{self, code, Id, Message};
use crate::mapping;
use crate::taint::{self, TaintStore};
use agentpol_core::ir::{Effect, Label, Policy};
use agentpol_core::request::{Decision, Request, Resource};
use agentpol_decide::DecisionEngine;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::time::{Duration, Instant};

/// A loaded policy and the engine that decides by it.
pub struct Loaded {
    /// The checked IR.
    pub policy: Policy,
    /// The decision engine (the index in production; any engine in tests).
    pub engine: Box<dyn DecisionEngine>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("engine", &self.engine.name())
            .finish_non_exhaustive()
    }
}

/// The gate's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The agent whose calls these are.
    pub agent: String,
    /// The skill, if the agent runs one.
    pub skill: Option<String>,
    /// Decide and log, but forward everything.
    pub monitor: bool,
    /// How long an approver may take.
    pub approve_timeout: Duration,
    /// How long the server may take to answer a forwarded request.
    pub server_timeout: Duration,
    /// Most client requests waiting for the server at once.
    pub max_in_flight: usize,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// To the client (the agent).
    Client(Value),
    /// To the server.
    Server(Value),
}

#[derive(Debug)]
enum Waiting {
    Plain,
    ToolsList,
    Call {
        tool: String,
        call: u64,
        untrusted: bool,
    },
}

/// The gate.
pub struct Gate {
    cfg: Config,
    loaded: Loaded,
    visible: BTreeSet<String>,
    mismatched: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    params: Map<String, Value>,
    params_version: u64,
    taint: TaintStore,
    pending: HashMap<Id, (Waiting, Instant)>,
    from_server: HashSet<Id>,
    approver: Box<dyn Approver>,
    log: Box<dyn Write>,
    calls: u64,
    server_gone: bool,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate for `cfg.agent` deciding by `loaded`, asking `approver` about
    /// `ask` decisions and writing one JSON line per decision to `log`.
    ///
    /// `secrets` are the values of the policy's secret environment variables
    /// present in the gate's environment (a deny of a secret denies every
    /// call whose argument contains its value).
    pub fn new(
        cfg: Config,
        loaded: Loaded,
        approver: Box<dyn Approver>,
        log: Box<dyn Write>,
        secrets: BTreeMap<String, String>,
    ) -> Result<Gate, String> {
        check_identity(&loaded.policy, &cfg)?;
        let visible = mapping::possibly_allowed(&loaded.policy, &cfg.agent, cfg.skill.as_deref());
        Ok(Gate {
            cfg,
            loaded,
            visible,
            mismatched: BTreeMap::new(),
            secrets,
            params: Map::new(),
            params_version: 0,
            taint: TaintStore::default(),
            pending: HashMap::new(),
            from_server: HashSet::new(),
            approver,
            log,
            calls: 0,
            server_gone: false,
        })
    }

    /// Swaps in a new policy (SIGHUP); in-flight requests are unaffected.
    pub fn reload(&mut self, loaded: Loaded) -> Result<(), String> {
        check_identity(&loaded.policy, &self.cfg)?;
        self.visible =
            mapping::possibly_allowed(&loaded.policy, &self.cfg.agent, self.cfg.skill.as_deref());
        self.loaded = loaded;
        self.mismatched.clear();
        self.log_event(json!({"event": "reload", "engine": self.loaded.engine.name()}));
        Ok(())
    }

    /// Replaces the bound params (from `--params` or the control file).
    pub fn set_params(&mut self, params: Map<String, Value>, source: &str) {
        self.params = params;
        self.params_version += 1;
        let names: Vec<&String> = self.params.keys().collect();
        self.log_event(json!({"event": "params", "version": self.params_version, "source": source, "names": names}));
    }

    /// The params version (0 before any were bound).
    pub fn params_version(&self) -> u64 {
        self.params_version
    }

    /// A line from the client.
    pub fn from_client(&mut self, line: &[u8]) -> Vec<Out> {
        match jsonrpc::classify(line) {
            Message::Invalid { id, code, message } => {
                self.log_event(
                    json!({"event": "invalid", "from": "client", "code": code, "message": message}),
                );
                vec![Out::Client(jsonrpc::error(id.as_ref(), code, &message))]
            }
            Message::Notification { method, msg } => {
                if mapping::PASS_THROUGH.contains(&method.as_str()) || self.cfg.monitor {
                    vec![Out::Server(msg)]
                } else {
                    // A notification cannot be answered: drop it, say so in the log.
                    self.log_event(json!({"event": "dropped", "from": "client", "method": method}));
                    Vec::new()
                }
            }
            Message::Response { id, msg } => {
                if self.from_server.remove(&id) {
                    vec![Out::Server(msg)]
                } else {
                    self.log_event(json!({"event": "dropped", "from": "client", "reason": "response to no request of the server"}));
                    Vec::new()
                }
            }
            Message::Request { id, method, msg } => self.client_request(id, method, msg),
        }
    }

    fn client_request(&mut self, id: Id, method: String, msg: Value) -> Vec<Out> {
        if self.pending.contains_key(&id) {
            return vec![Out::Client(jsonrpc::error(
                Some(&id),
                code::INVALID_REQUEST,
                "this id is already in use by a request in flight",
            ))];
        }
        if self.server_gone {
            return vec![Out::Client(jsonrpc::error(
                Some(&id),
                code::SERVER_UNAVAILABLE,
                "the MCP server has exited",
            ))];
        }
        if self.pending.len() >= self.cfg.max_in_flight {
            return vec![Out::Client(jsonrpc::error(
                Some(&id),
                code::BUSY,
                "too many requests in flight",
            ))];
        }
        if mapping::PASS_THROUGH.contains(&method.as_str()) {
            return self.forward(id, Waiting::Plain, msg);
        }
        if method == "tools/list" {
            return self.forward(id, Waiting::ToolsList, msg);
        }
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        let (tool, args) = if method == "tools/call" {
            let name = params.get("name").and_then(Value::as_str);
            let args = match params.get("arguments") {
                None | Some(Value::Null) => Some(Map::new()),
                Some(Value::Object(o)) => Some(o.clone()),
                Some(_) => None,
            };
            match (name, args) {
                (Some(n), Some(a)) => (n.to_string(), a),
                _ => {
                    return vec![Out::Client(jsonrpc::error(
                        Some(&id),
                        -32602,
                        "tools/call needs params.name (a string) and params.arguments (an object)",
                    ))]
                }
            }
        } else {
            (
                mapping::method_tool(&method),
                mapping::method_args(&method, &params),
            )
        };
        if let Some(why) = self.mismatched.get(&tool) {
            let text = format!("agentpol gate: tool `{tool}` is refused: its schema does not match the policy: {why}");
            self.log_event(json!({"event": "refused", "tool": tool, "reason": text}));
            return vec![Out::Client(jsonrpc::result(
                &id,
                json!({"content": [{"type": "text", "text": text}], "isError": true}),
            ))];
        }
        let started = Instant::now();
        let verdict = self.decide(&method, &tool, args, started);
        if verdict.forward {
            let untrusted = self.is_untrusted(&tool);
            let call = self.calls;
            self.forward(
                id,
                Waiting::Call {
                    tool,
                    call,
                    untrusted,
                },
                msg,
            )
        } else if method == "tools/call" {
            vec![Out::Client(jsonrpc::result(
                &id,
                json!({"content": [{"type": "text", "text": verdict.message}], "isError": true}),
            ))]
        } else {
            vec![Out::Client(jsonrpc::error(
                Some(&id),
                code::DENIED,
                &verdict.message,
            ))]
        }
    }

    fn forward(&mut self, id: Id, waiting: Waiting, msg: Value) -> Vec<Out> {
        self.pending.insert(id, (waiting, Instant::now()));
        vec![Out::Server(msg)]
    }

    fn is_untrusted(&self, tool: &str) -> bool {
        self.loaded
            .policy
            .tools
            .iter()
            .any(|t| t.name == tool && t.labels.contains(&Label::Untrusted))
    }

    /// Decides one call, asks the approver for `ask`, logs, and says whether
    /// to forward it.
    fn decide(
        &mut self,
        method: &str,
        tool: &str,
        args: Map<String, Value>,
        started: Instant,
    ) -> Verdict {
        self.calls += 1;
        let mut tainted = Vec::new();
        for (name, v) in &args {
            if let Some(s) = v.as_str() {
                if let Some(src) = self.taint.lookup(s) {
                    tainted.push((name.clone(), src.clone()));
                }
            }
        }
        let declared: BTreeSet<&str> = self
            .loaded
            .policy
            .params
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        let params = self
            .params
            .iter()
            .filter(|(k, _)| declared.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let request = Request {
            agent: self.cfg.agent.clone(),
            skill: self.cfg.skill.clone(),
            resource: Resource::Tool {
                tool: tool.to_string(),
                args: args.into_iter().collect(),
                params,
                tainted: tainted.iter().map(|(a, _)| a.clone()).collect(),
                secrets: self.secrets.clone(),
            },
        };
        let decision = self.loaded.engine.decide_or_deny(&request);
        let mut approver = None;
        let mut allowed = decision.effect == Effect::Allow;
        if decision.effect == Effect::Ask {
            let shown = json!({
                "request": audit::masked_request(&self.loaded.policy, &request),
                "decision": {"effect": "ask", "reason": decision.reason},
            });
            let outcome = self.approver.ask(&shown, self.cfg.approve_timeout);
            allowed = outcome == Outcome::Approved;
            approver = Some(outcome);
        }
        let forward = allowed || self.cfg.monitor;
        let message = message(&self.loaded.policy, &decision, approver);
        let record = Record {
            call: self.calls,
            agent: &self.cfg.agent,
            skill: self.cfg.skill.as_deref(),
            method,
            request: &request,
            params_version: self.params_version,
            tainted: &tainted,
            decision: &decision,
            approver,
            forwarded: forward,
            monitor: self.cfg.monitor,
            latency: started.elapsed(),
        };
        let line = record.to_json(&self.loaded.policy);
        self.write_log(&line);
        Verdict { forward, message }
    }

    /// A line from the server.
    pub fn from_server(&mut self, line: &[u8]) -> Vec<Out> {
        match jsonrpc::classify(line) {
            Message::Invalid { code, message, .. } => {
                self.log_event(
                    json!({"event": "invalid", "from": "server", "code": code, "message": message}),
                );
                Vec::new()
            }
            Message::Notification { msg, .. } => vec![Out::Client(msg)],
            Message::Response { id, msg } => match self.pending.remove(&id) {
                None => {
                    self.log_event(json!({"event": "dropped", "from": "server", "reason": "response to no request in flight"}));
                    Vec::new()
                }
                Some((Waiting::Plain, _)) => vec![Out::Client(msg)],
                Some((Waiting::ToolsList, _)) => vec![Out::Client(self.filter_tools(&id, msg))],
                Some((
                    Waiting::Call {
                        tool,
                        call,
                        untrusted,
                    },
                    _,
                )) => {
                    if untrusted {
                        if let Some(result) = msg.get("result") {
                            self.taint.record(result, &taint::Source { tool, call });
                        }
                    }
                    vec![Out::Client(msg)]
                }
            },
            Message::Request { id, method, msg } => self.server_request(id, method, msg),
        }
    }

    fn server_request(&mut self, id: Id, method: String, msg: Value) -> Vec<Out> {
        if method == "ping" {
            self.from_server.insert(id);
            return vec![Out::Client(msg)];
        }
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        let tool = mapping::method_tool(&method);
        let args = mapping::method_args(&method, &params);
        let verdict = self.decide(&method, &tool, args, Instant::now());
        if verdict.forward {
            self.from_server.insert(id);
            vec![Out::Client(msg)]
        } else {
            vec![Out::Server(jsonrpc::error(
                Some(&id),
                code::DENIED,
                &verdict.message,
            ))]
        }
    }

    /// Removes tools the policy can never allow; refuses a listing whose
    /// schemas contradict the policy's declarations.
    fn filter_tools(&mut self, id: &Id, mut msg: Value) -> Value {
        let Some(tools) = msg
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        else {
            return msg;
        };
        let mut problems = Vec::new();
        let mut hidden = Vec::new();
        tools.retain(|t| {
            let name = t.get("name").and_then(Value::as_str).unwrap_or("");
            if !self.visible.contains(name) {
                hidden.push(name.to_string());
                return false;
            }
            if let Some(sig) = self.loaded.policy.tools.iter().find(|s| s.name == name) {
                if let Some(why) = mapping::schema_mismatch(sig, t) {
                    problems.push(format!(
                        "tool `{name}` (declared at {}): {why}",
                        audit::location(&self.loaded.policy, &sig.src)
                    ));
                    self.mismatched.insert(name.to_string(), why);
                }
            }
            true
        });
        self.log_event(json!({"event": "tools/list", "hidden": hidden, "mismatched": problems}));
        if problems.is_empty() {
            msg
        } else {
            jsonrpc::error(
                Some(id),
                code::SCHEMA_MISMATCH,
                &format!(
                    "the server's tools do not match the policy: {}",
                    problems.join(" | ")
                ),
            )
        }
    }

    /// Requests the server has not answered within the timeout: answered
    /// with an error now (a late answer is dropped).
    pub fn expire(&mut self, now: Instant) -> Vec<Out> {
        let late: Vec<Id> = self
            .pending
            .iter()
            .filter(|(_, (_, since))| now.duration_since(*since) >= self.cfg.server_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        late.into_iter()
            .map(|id| {
                self.pending.remove(&id);
                Out::Client(jsonrpc::error(
                    Some(&id),
                    code::SERVER_UNAVAILABLE,
                    &format!(
                        "the MCP server did not answer within {} s",
                        self.cfg.server_timeout.as_secs()
                    ),
                ))
            })
            .collect()
    }

    /// The server exited: every request in flight gets an error, and so does
    /// every later one.
    pub fn server_exited(&mut self) -> Vec<Out> {
        self.server_gone = true;
        self.log_event(json!({"event": "server-exited"}));
        self.pending
            .drain()
            .map(|(id, _)| {
                Out::Client(jsonrpc::error(
                    Some(&id),
                    code::SERVER_UNAVAILABLE,
                    "the MCP server has exited",
                ))
            })
            .collect()
    }

    /// Requests waiting for the server.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn log_event(&mut self, mut event: Value) {
        if let Some(o) = event.as_object_mut() {
            o.insert("v".into(), json!(audit::VERSION));
            o.insert("time".into(), json!(audit::now()));
        }
        self.write_log(&event);
    }

    fn write_log(&mut self, line: &Value) {
        // A log that cannot be written is reported once per line on stderr;
        // decisions go on (they do not depend on the log).
        if writeln!(self.log, "{line}")
            .and_then(|_| self.log.flush())
            .is_err()
        {
            eprintln!("agentpol gate: cannot write the decision log");
        }
    }
}

struct Verdict {
    forward: bool,
    message: String,
}

/// The text a denied caller sees: the decision and its deciding rules with
/// their source locations.
fn message(policy: &Policy, d: &Decision, approver: Option<Outcome>) -> String {
    let rules: Vec<String> = d
        .deciding
        .iter()
        .map(|r| format!("{} at {}", r.id, audit::location(policy, &r.src)))
        .collect();
    let mut m = format!("agentpol gate: {}", d.reason);
    if !rules.is_empty() {
        m.push_str(&format!(" [rules: {}]", rules.join(", ")));
    }
    if let Some(o) = approver {
        m.push_str(&format!(" [approval: {}]", o.as_str()));
    }
    m
}

fn check_identity(policy: &Policy, cfg: &Config) -> Result<(), String> {
    let agent = policy
        .agents
        .iter()
        .find(|a| a.name == cfg.agent)
        .ok_or_else(|| format!("the policy has no agent `{}`", cfg.agent))?;
    if let Some(s) = &cfg.skill {
        if !agent.skills.iter().any(|k| &k.name == s) {
            return Err(format!("agent `{}` has no skill `{s}`", cfg.agent));
        }
    }
    Ok(())
}
