//! The reference evaluator: the IR's meaning, written to be obviously right.
//!
//! Every backend is differentially tested against [`evaluate`]; keep it
//! simple, direct and slow rather than clever. The normative text is
//! `lang-spec/semantics.md`; section numbers below refer to it.
//!
//! * [`parse_request`]: JSON → [`Request`], strict (unknown fields, duplicate keys refused).
//! * [`evaluate`]: the decision, or a [`RequestError`] for a request that cannot be decided.
//! * [`decide`]: the same, fail-closed: an error becomes a deny whose reason names it.
//! * [`matching`]: the primitives (globs, `like`, domains, CIDRs, ports, URLs).
//! * [`tests`]: runs a policy's `test` blocks.
//! * [`reads`]: the files a request reads (fs reads, tool path and `file:`
//!   URL arguments), what `assert never WHO read` is about.
//!
//! Architecture invariant: nothing here panics on any request or any IR; a
//! policy that breaks the IR's invariants gives `AP0890`, never a silent
//! `false` (a false in a deny rule would widen the policy).

pub mod matching;
mod parse;
pub mod reads;
pub mod request_check;
pub mod tests;
pub mod validate;
mod wildcard;

use crate::diag::{codes, CodeInfo};
use crate::ir::{
    Effect, FileInfo, Matcher, Policy, Rule, Scalar, SetOperand, SourceRef, Test, Value,
};
use crate::request::{Decision, MatchedRule, Request};
use request_check::ParamValue;
use std::collections::BTreeSet;
use std::fmt;
use validate::{ArgVal, Body, ToolCall};

pub use parse::parse_request;

/// Why a request could not be decided (the decision is then deny).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// The registered code (`AP08xx`).
    pub code: &'static CodeInfo,
    /// The offending field as a JSON pointer, e.g. `/args/amount` (empty: the whole request).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl RequestError {
    /// An error with its code, the offending field (a JSON pointer), a
    /// message and a help line.
    pub fn new(
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

    /// The error as a diagnostic at `span`: the request's text (for
    /// `agentpolc eval --request FILE`) or the `expect` line it came from.
    pub fn to_diag(&self, span: crate::span::Span) -> crate::diag::Diag {
        let at = if self.field.is_empty() {
            "in this request".to_string()
        } else {
            format!("at {}", self.field)
        };
        crate::diag::Diag::error(self.code, span, self.message.clone())
            .label(at)
            .help(self.help.clone())
            .note("the decision is deny (fail closed)")
    }
}

/// The plain-text form printed by `agentpolc eval` (stable; snapshot-tested):
///
/// ```text
/// error[AP0805]: tool `send_email` needs argument `body` (a string), which the request does not give
///   at: /args/body
///   help: give every declared argument of `send_email`: to: string, body: string
/// ```
impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.field.is_empty() {
            "(the request)"
        } else {
            &self.field
        };
        write!(
            f,
            "error[{}]: {}\n  at: {at}\n  help: {}",
            self.code.code, self.message, self.help
        )
    }
}

impl std::error::Error for RequestError {}

/// Escapes a JSON object key for a JSON pointer (RFC 6901).
pub fn pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Decides `request` under `policy` (semantics.md §1).
///
/// The matching rules of the agent are collected and the decision is the
/// highest-precedence effect among them (deny > ask > allow), or deny when
/// none matches. For a skill, the same is done over the skill's rules and the
/// result is the higher of the two decisions. A request that cannot be
/// interpreted is an `Err`; every engine must treat it as deny.
pub fn evaluate(policy: &Policy, request: &Request) -> Result<Decision, RequestError> {
    let prepared = validate::prepare(policy, request)?;
    let agent = policy
        .agents
        .get(prepared.agent)
        .ok_or_else(|| internal("agent index"))?;
    let skill = match prepared.skill {
        Some(s) => Some(agent.skills.get(s).ok_or_else(|| internal("skill index"))?),
        None => None,
    };
    let req = &prepared.body;

    let agent_side = decide_side(policy, &agent.rules, agent.name.clone(), req)?;
    let skill_side = match skill {
        Some(s) => Some(decide_side(
            policy,
            &s.rules,
            format!("{}.{}", agent.name, s.name),
            req,
        )?),
        None => None,
    };

    let effect = match &skill_side {
        Some(s) => agent_side.effect.max(s.effect),
        None => agent_side.effect,
    };
    let mut matched = agent_side.matched.clone();
    if let Some(s) = &skill_side {
        matched.extend(s.matched.iter().cloned());
    }
    // A rule carrying the winning effect can only come from a side whose own
    // decision is that effect, so this is "the rules of whichever side decided".
    let deciding: Vec<MatchedRule> = matched
        .iter()
        .filter(|m| m.effect == effect)
        .cloned()
        .collect();
    let reason = reason(
        policy,
        effect,
        &deciding,
        &agent_side,
        skill_side.as_ref(),
        req,
    );
    Ok(Decision {
        effect,
        deciding,
        matched,
        reason,
    })
}

/// Like [`evaluate`], but fail closed: a request error becomes a deny whose
/// reason states the error. What every enforcer should call.
pub fn decide(policy: &Policy, request: &Request) -> Decision {
    evaluate(policy, request).unwrap_or_else(|e| error_decision(&e))
}

/// The fail-closed deny for a request error: every engine's
/// (`DecisionEngine::decide_or_deny` in `agentpol-decide` calls this).
pub fn error_decision(e: &RequestError) -> Decision {
    let at = if e.field.is_empty() {
        String::new()
    } else {
        format!(" at {}", e.field)
    };
    Decision {
        effect: Effect::Deny,
        deciding: Vec::new(),
        matched: Vec::new(),
        reason: format!(
            "denied (fail closed): the request cannot be decided: {} [{}{at}]",
            e.message, e.code.code
        ),
    }
}

/// How a reason names the deciding rules' effect ("allowed by r1 (...)"):
/// every engine words its reasons alike.
pub fn verb(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allowed by",
        Effect::Ask => "needs a human's approval: ask by",
        Effect::Deny => "denied by",
    }
}

/// An error for an index the validator gave that does not exist (a bug).
fn internal(what: &str) -> RequestError {
    RequestError::new(
        &codes::ILL_FORMED_IR,
        "",
        format!("internal: {what} out of range"),
        "this is a bug: report it with the policy and the request",
    )
}

/// One side of a decision: an agent's rules or a skill's.
struct Side {
    /// `agent` or `agent.skill`.
    owner: String,
    effect: Effect,
    matched: Vec<MatchedRule>,
}

fn decide_side(
    policy: &Policy,
    rules: &[Rule],
    owner: String,
    req: &Body<'_>,
) -> Result<Side, RequestError> {
    let mut matched = Vec::new();
    for rule in rules {
        if rule_matches(policy, rule, req)? {
            matched.push(MatchedRule {
                id: rule.id.clone(),
                effect: rule.effect,
                owner: owner.clone(),
                src: rule.src,
            });
        }
    }
    // Default deny: no matching rule.
    let effect = matched
        .iter()
        .map(|m| m.effect)
        .max()
        .unwrap_or(Effect::Deny);
    Ok(Side {
        owner,
        effect,
        matched,
    })
}

/// `path:line:col` of a source position.
pub fn location(policy: &Policy, src: &SourceRef) -> String {
    location_in(&policy.files, src)
}

/// `path:line:col` of a source position, with the file names in `files`
/// (indexed by `SourceRef.file`): for engines that keep the file table alone.
pub fn location_in(files: &[FileInfo], src: &SourceRef) -> String {
    let file = files
        .get(src.span.file.0 as usize)
        .map(|f| f.name.as_str())
        .unwrap_or("<unknown file>");
    format!("{file}:{}:{}", src.line, src.col)
}

/// `id (file:line:col)` for each rule, joined.
fn rule_list(policy: &Policy, rules: &[MatchedRule]) -> String {
    let items: Vec<String> = rules
        .iter()
        .map(|r| format!("{} ({})", r.id, location(policy, &r.src)))
        .collect();
    items.join(", ")
}

fn reason(
    policy: &Policy,
    effect: Effect,
    deciding: &[MatchedRule],
    agent: &Side,
    skill: Option<&Side>,
    req: &Body<'_>,
) -> String {
    if !deciding.is_empty() {
        return format!("{} {}", verb(effect), rule_list(policy, deciding));
    }
    let what = req.describe();
    match skill {
        Some(s) if agent.matched.is_empty() && s.matched.is_empty() => format!(
            "default deny: no rule of agent {} or of skill {} matches {what}",
            agent.owner, s.owner
        ),
        Some(s) if s.matched.is_empty() => format!(
            "default deny: no rule of skill {} matches {what} (a skill gets only what its own rules allow)",
            s.owner
        ),
        _ => format!("default deny: no rule of agent {} matches {what}", agent.owner),
    }
}

/// An error from a rule that breaks the IR's invariants.
fn ill_formed(policy: &Policy, rule: &Rule, what: &str) -> RequestError {
    RequestError::new(
        &codes::ILL_FORMED_IR,
        "",
        format!("rule {} ({}) is ill-formed: {what}", rule.id, location(policy, &rule.src)),
        "this is a compiler bug (or a hand-edited IR): report it with the policy and `agentpolc build --emit ir`",
    )
}

fn unbound_param(name: &str, rule: &Rule, policy: &Policy) -> RequestError {
    validate::unbound_param(name, &rule.id, &location(policy, &rule.src))
}

/// Does the rule match the (validated) request?
fn rule_matches(policy: &Policy, rule: &Rule, req: &Body<'_>) -> Result<bool, RequestError> {
    if rule.action != req.action() {
        return Ok(false);
    }
    if rule.matcher.kind() != rule.action.kind() {
        return Err(ill_formed(
            policy,
            rule,
            "its matcher's kind differs from its action's kind",
        ));
    }
    use matching::{args_match, glob_matches, host_matches, port_matches, proto_matches};
    Ok(match (&rule.matcher, req) {
        (Matcher::Fs { globs }, Body::Fs { path, .. }) => {
            globs.iter().any(|g| glob_matches(g, path.path))
        }
        (Matcher::Exec { binaries, args }, Body::Exec { path, args: argv }) => {
            binaries.iter().any(|g| glob_matches(g, path.path))
                && args.as_ref().is_none_or(|p| args_match(p, argv))
        }
        (
            Matcher::Net {
                proto,
                hosts,
                ports,
            },
            Body::Net {
                proto: req_proto,
                raw_addr: addr,
                domain,
                port,
                ..
            },
        ) => {
            proto_matches(*proto, *req_proto)
                && hosts
                    .as_ref()
                    .is_none_or(|hs| hs.iter().any(|h| host_matches(h, *addr, domain.as_deref())))
                && ports.as_ref().is_none_or(|ps| port_matches(ps, *port))
        }
        (Matcher::Tool { conditions, .. }, Body::Tool(call)) => {
            if !validate::tool_rule_applies(rule, &call.sig.name) {
                return Ok(false);
            }
            // Every atom is evaluated (no short-circuit) so that an ill-formed
            // atom is reported whatever the order of the conjunction.
            let mut all = true;
            for atom in conditions {
                let holds = match test_holds(&atom.test, call) {
                    Ok(b) => b,
                    Err(AtomError::IllFormed(what)) => return Err(ill_formed(policy, rule, &what)),
                    Err(AtomError::Unbound(p)) if policy.param(&p).is_none() => {
                        return Err(ill_formed(
                            policy,
                            rule,
                            &format!("it reads param `{p}`, which is not declared"),
                        ))
                    }
                    Err(AtomError::Unbound(p)) => return Err(unbound_param(&p, rule, policy)),
                };
                all &= holds != atom.negated;
            }
            all
        }
        (Matcher::Env { vars }, Body::Env { var }) => vars.iter().any(|v| v == var),
        _ => {
            return Err(ill_formed(
                policy,
                rule,
                "its matcher does not fit the request's kind",
            ))
        }
    })
}

/// Why an atom could not be evaluated.
enum AtomError {
    /// The IR breaks an invariant (described).
    IllFormed(String),
    /// The request does not bind this (declared) param.
    Unbound(String),
}

/// What an operand reads from a call.
enum Operand<'v> {
    /// A string, int or bool (url parts included).
    Value(Value),
    /// A url part the URL lacks (no host; no known port).
    Absent,
    /// A whole url argument (only its parts compare).
    Url,
    /// A path argument (normalised).
    Path(&'v str),
}

fn operand<'v>(op: &crate::ir::Operand, call: &'v ToolCall<'_>) -> Result<Operand<'v>, AtomError> {
    let Some(arg) = call.arg(&op.arg) else {
        return Err(AtomError::IllFormed(format!(
            "it reads argument `{}`, which tool `{}` does not declare",
            op.arg, call.sig.name
        )));
    };
    Ok(match (arg, op.field) {
        (ArgVal::Url(u), Some(field)) => match matching::url_field(&u.url, field) {
            Some(v) => Operand::Value(v),
            None => Operand::Absent,
        },
        (_, Some(_)) => {
            return Err(AtomError::IllFormed(format!(
                "it reads a URL part of argument `{}`, which is not a url",
                op.arg
            )))
        }
        (ArgVal::Str(s), None) => Operand::Value(Value::Str((*s).to_string())),
        (ArgVal::Int(i), None) => Operand::Value(Value::Int(*i)),
        (ArgVal::Bool(b), None) => Operand::Value(Value::Bool(*b)),
        (ArgVal::Url(_), None) => Operand::Url,
        (ArgVal::Path(p), None) => Operand::Path(p.path),
    })
}

/// The operand as a scalar: None when absent (the test is then false).
/// A path compares as its (normalised) string; a whole URL does not compare.
fn scalar_operand(
    op: &crate::ir::Operand,
    call: &ToolCall<'_>,
) -> Result<Option<Value>, AtomError> {
    match operand(op, call)? {
        Operand::Value(v) => Ok(Some(v)),
        Operand::Absent => Ok(None),
        Operand::Path(p) => Ok(Some(Value::Str(p.to_string()))),
        Operand::Url => Err(AtomError::IllFormed(format!(
            "it compares the whole url argument `{}` (only its parts compare)",
            op.arg
        ))),
    }
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Str(_) => "string",
    }
}

fn resolve_scalar(s: &Scalar, call: &ToolCall<'_>) -> Result<Value, AtomError> {
    match s {
        Scalar::Lit(v) => Ok(v.clone()),
        Scalar::Param(name) => match call.params.get(name.as_str()) {
            Some(ParamValue::Scalar(v)) => Ok(v.clone()),
            Some(ParamValue::Set(_)) => Err(AtomError::IllFormed(format!(
                "it uses set param `{name}` as a scalar"
            ))),
            None => Err(AtomError::Unbound(name.clone())),
        },
    }
}

fn resolve_set(s: &SetOperand, call: &ToolCall<'_>) -> Result<BTreeSet<Value>, AtomError> {
    match s {
        SetOperand::Lit(items) => Ok(items.clone()),
        SetOperand::Param(name) => match call.params.get(name.as_str()) {
            Some(ParamValue::Set(items)) => Ok(items.clone()),
            Some(ParamValue::Scalar(_)) => Err(AtomError::IllFormed(format!(
                "it uses scalar param `{name}` as a set"
            ))),
            None => Err(AtomError::Unbound(name.clone())),
        },
    }
}

/// Evaluates a test (before `not` is applied; semantics.md §6).
fn test_holds(test: &Test, call: &ToolCall<'_>) -> Result<bool, AtomError> {
    // Params are resolved before an absent operand short-cuts, so an unbound
    // or ill-typed param is reported whatever the request's URL looks like.
    match test {
        Test::Eq { lhs, rhs } => {
            let rhs = resolve_scalar(rhs, call)?;
            let Some(lhs) = scalar_operand(lhs, call)? else {
                return Ok(false);
            };
            if !same_type(&lhs, &rhs) {
                return Err(AtomError::IllFormed(format!(
                    "it compares a {} with a {}",
                    type_name(&lhs),
                    type_name(&rhs)
                )));
            }
            Ok(lhs == rhs)
        }
        Test::Cmp { lhs, op, rhs } => {
            let rhs = resolve_scalar(rhs, call)?;
            let lhs = scalar_operand(lhs, call)?;
            match (lhs, rhs) {
                (None, Value::Int(_)) => Ok(false),
                (Some(Value::Int(a)), Value::Int(b)) => Ok(match op {
                    crate::ir::CmpOp::Lt => a < b,
                    crate::ir::CmpOp::Le => a <= b,
                    crate::ir::CmpOp::Gt => a > b,
                    crate::ir::CmpOp::Ge => a >= b,
                }),
                _ => Err(AtomError::IllFormed(
                    "it orders values that are not ints".into(),
                )),
            }
        }
        Test::In { lhs, set } => {
            let set = resolve_set(set, call)?;
            let Some(lhs) = scalar_operand(lhs, call)? else {
                return Ok(false);
            };
            if matches!(lhs, Value::Bool(_)) || set.iter().any(|v| !same_type(v, &lhs)) {
                return Err(AtomError::IllFormed(format!(
                    "it tests a {} for membership in a set of another type",
                    type_name(&lhs)
                )));
            }
            Ok(set.contains(&lhs))
        }
        Test::Like { lhs, pattern } => match scalar_operand(lhs, call)? {
            None => Ok(false),
            Some(Value::Str(s)) => Ok(matching::like_matches(pattern, &s)),
            Some(v) => Err(AtomError::IllFormed(format!(
                "it applies `like` to a {}",
                type_name(&v)
            ))),
        },
        Test::HostIn { lhs, hosts } => {
            let url = match (call.arg(&lhs.arg), lhs.field) {
                (Some(ArgVal::Url(u)), Some(crate::ir::UrlField::Host)) => &u.url,
                _ => {
                    return Err(AtomError::IllFormed(format!(
                        "its host test reads `{}`, which is not the host of a url argument",
                        lhs.arg
                    )))
                }
            };
            Ok(hosts.iter().any(|h| matching::url_host_matches(h, url)))
        }
        Test::PathIn { lhs, globs } => match (operand(lhs, call)?, &lhs.field) {
            (Operand::Path(p), None) => Ok(globs.iter().any(|g| matching::glob_matches(g, p))),
            _ => Err(AtomError::IllFormed(format!(
                "its path test reads `{}`, which is not a path argument",
                lhs.arg
            ))),
        },
        Test::Tainted { arg } => {
            if call.sig.arg(arg).is_none() {
                return Err(AtomError::IllFormed(format!(
                    "it asks whether argument `{arg}` is tainted, which tool `{}` does not declare",
                    call.sig.name
                )));
            }
            Ok(call.tainted.iter().any(|t| t == arg))
        }
        Test::ContainsSecret { var, .. } => Ok(call.contains_secret(var)),
    }
}
