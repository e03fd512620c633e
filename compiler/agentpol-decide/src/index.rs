//! The compiled decision index: the fast path.
//!
//! Rules are bucketed by owner (agent or skill) and action (and tool), so a
//! request looks only at the rules that could apply to it. Inside a bucket:
//!
//! * fs/exec: literal globs in a hash map by path, `/lit/**` globs in a hash
//!   map by directory (looked up once per ancestor of the request path),
//!   other globs checked one by one;
//! * net: rules by exact domain, by wildcard suffix, by CIDR (one lookup per
//!   prefix length present), plus rules without hosts; protocol and ports
//!   are checked on the candidates;
//! * env: rules by variable name;
//! * tools: rules by the value of their first positive equality or
//!   literal-set membership on a plain argument; the rest checked one by one.
//!
//! Candidates are then checked exactly, so the answer is the evaluator's;
//! the differential tests hold the index to that on every request.

use crate::engine::{verb, DecisionEngine};
use crate::prepare::{self, owner_name, ArgVal, Body, Catalog, PathVal, Prepared, ToolCall};
use agentpol_core::eval::request_check::ParamValue;
use agentpol_core::eval::RequestError;
use agentpol_core::ir::{
    Action, ArgType, ArgsPattern, CmpOp, DomainPattern, Effect, Glob, Host, LikePattern, LikePiece,
    Matcher, Policy, PortRange, Proto, RuleId, Scalar, Segment, SetOperand, SourceRef, Test,
    ToolSig, UrlField, Value,
};
use agentpol_core::request::{Decision, MatchedRule, Request};
use ipnet::IpNet;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

/// Why the index could not be built (the IR breaks an invariant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    /// The rule.
    pub rule: RuleId,
    /// Where it was written.
    pub src: SourceRef,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for BuildError {
    // The message only: callers turn it into their own diagnostic
    // (the Cedar backend's AP0602 for the same IR invariants).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule {} cannot be compiled into the decision index: {}",
            self.rule, self.message
        )
    }
}

impl std::error::Error for BuildError {}

/// The compiled decision index of a policy.
#[derive(Clone, Debug)]
pub struct IndexEngine {
    cat: Catalog,
    rules: Vec<MatchedRule>,
    /// `id (file:line:col)` of each rule, for reasons.
    labels: Vec<String>,
    owners: Vec<OwnerIndex>,
    /// Owner index of each agent.
    agent_owner: Vec<usize>,
    /// Owner index of each skill, per agent.
    skill_owner: Vec<Vec<usize>>,
    /// Owner names.
    owner_names: Vec<String>,
}

#[derive(Clone, Debug, Default)]
struct OwnerIndex {
    fs: [PathIndex; 7],
    exec: PathIndex,
    exec_args: HashMap<u32, ArgsPattern>,
    net: [NetIndex; 3],
    env: HashMap<String, Vec<u32>>,
    tools: Vec<ToolIndex>,
}

impl IndexEngine {
    /// Compiles `policy`.
    pub fn new(policy: &Policy) -> Result<IndexEngine, BuildError> {
        let cat = Catalog::of(policy);
        let mut rules = Vec::new();
        let mut owners = Vec::new();
        let mut owner_names = Vec::new();
        let mut agent_owner = Vec::new();
        let mut skill_owner = Vec::new();
        let new_owner = |tools: usize| OwnerIndex {
            tools: vec![ToolIndex::default(); tools],
            ..OwnerIndex::default()
        };
        for agent in &policy.agents {
            agent_owner.push(owners.len());
            owner_names.push(agent.name.clone());
            let mut o = new_owner(policy.tools.len());
            for r in &agent.rules {
                let ix = rules.len() as u32;
                rules.push(MatchedRule {
                    id: r.id.clone(),
                    effect: r.effect,
                    owner: agent.name.clone(),
                    src: r.src,
                });
                o.add(policy, ix, r)?;
            }
            owners.push(o);
            let mut skills = Vec::new();
            for skill in &agent.skills {
                skills.push(owners.len());
                let name = owner_name(agentpol_core::ir::Principal::Skill(
                    &agent.name,
                    &skill.name,
                ));
                owner_names.push(name.clone());
                let mut o = new_owner(policy.tools.len());
                for r in &skill.rules {
                    let ix = rules.len() as u32;
                    rules.push(MatchedRule {
                        id: r.id.clone(),
                        effect: r.effect,
                        owner: name.clone(),
                        src: r.src,
                    });
                    o.add(policy, ix, r)?;
                }
                owners.push(o);
            }
            skill_owner.push(skills);
        }
        let labels = rules
            .iter()
            .map(|r| format!("{} ({})", r.id, cat.location(&r.src)))
            .collect();
        Ok(IndexEngine {
            cat,
            rules,
            labels,
            owners,
            agent_owner,
            skill_owner,
            owner_names,
        })
    }

    /// The catalog (agents, tools, params) requests are validated against.
    pub fn catalog(&self) -> &Catalog {
        &self.cat
    }

    /// The rules of `owner` matching `req`, in rule order.
    fn side(&self, owner: usize, req: &Prepared<'_>) -> Result<Vec<u32>, RequestError> {
        let mut hits = Vec::new();
        if let Some(o) = self.owners.get(owner) {
            o.lookup(req, &mut hits)?;
        }
        hits.sort_unstable();
        hits.dedup();
        Ok(hits)
    }

    fn effect_of(&self, hits: &[u32]) -> Effect {
        hits.iter()
            .filter_map(|i| self.rules.get(*i as usize))
            .map(|r| r.effect)
            .max()
            .unwrap_or(Effect::Deny)
    }
}

impl DecisionEngine for IndexEngine {
    fn name(&self) -> &'static str {
        "index"
    }

    fn decide(&self, request: &Request) -> Result<Decision, RequestError> {
        let req = prepare::prepare(&self.cat, request)?;
        let agent_owner = self
            .agent_owner
            .get(req.agent)
            .copied()
            .unwrap_or(usize::MAX);
        let agent = self.side(agent_owner, &req)?;
        let skill_owner = req.skill.map(|s| {
            self.skill_owner
                .get(req.agent)
                .and_then(|v| v.get(s))
                .copied()
                .unwrap_or(usize::MAX)
        });
        let skill = match skill_owner {
            Some(o) => Some(self.side(o, &req)?),
            None => None,
        };
        // semantics.md §1: the higher of the two sides, default deny on each.
        let mut effect = self.effect_of(&agent);
        if let Some(s) = &skill {
            effect = effect.max(self.effect_of(s));
        }
        let all: Vec<u32> = agent
            .iter()
            .chain(skill.iter().flatten())
            .copied()
            .collect();
        let deciding: Vec<u32> = all
            .iter()
            .copied()
            .filter(|i| {
                self.rules
                    .get(*i as usize)
                    .is_some_and(|r| r.effect == effect)
            })
            .collect();
        let pick = |ix: &[u32]| -> Vec<MatchedRule> {
            ix.iter()
                .filter_map(|i| self.rules.get(*i as usize).cloned())
                .collect()
        };
        let reason = if deciding.is_empty() {
            let name = |o: usize| self.owner_names.get(o).map(String::as_str).unwrap_or("");
            let what = req.body.describe();
            match (skill_owner, &skill) {
                (Some(so), Some(s)) if s.is_empty() && agent.is_empty() => format!(
                    "default deny: no rule of agent {} or of skill {} matches {what}",
                    name(agent_owner),
                    name(so)
                ),
                (Some(so), Some(s)) if s.is_empty() => format!(
                    "default deny: no rule of skill {} matches {what} (a skill gets only what its own rules allow)",
                    name(so)
                ),
                _ => format!(
                    "default deny: no rule of agent {} matches {what}",
                    name(agent_owner)
                ),
            }
        } else {
            let labels: Vec<&str> = deciding
                .iter()
                .filter_map(|i| self.labels.get(*i as usize).map(String::as_str))
                .collect();
            format!("{} {}", verb(effect), labels.join(", "))
        };
        Ok(Decision {
            effect,
            deciding: pick(&deciding),
            matched: pick(&all),
            reason,
        })
    }
}

fn fs_slot(a: Action) -> Option<usize> {
    Action::FS.iter().position(|x| *x == a)
}

fn net_slot(a: Action) -> Option<usize> {
    Action::NET.iter().position(|x| *x == a)
}

impl OwnerIndex {
    fn add(
        &mut self,
        policy: &Policy,
        ix: u32,
        rule: &agentpol_core::ir::Rule,
    ) -> Result<(), BuildError> {
        let err = |message: String| BuildError {
            rule: rule.id.clone(),
            src: rule.src,
            message,
        };
        if rule.matcher.kind() != rule.action.kind() {
            return Err(err(
                "its matcher's kind differs from its action's kind".into()
            ));
        }
        if rule.effect == Effect::Ask && rule.action != Action::Call {
            return Err(err("`ask` on a rule that is not a tool rule".into()));
        }
        match &rule.matcher {
            Matcher::Fs { globs } => {
                let slot = fs_slot(rule.action).ok_or_else(|| err("not an fs action".into()))?;
                if let Some(idx) = self.fs.get_mut(slot) {
                    for g in globs {
                        idx.add(ix, g);
                    }
                }
            }
            Matcher::Exec { binaries, args } => {
                for g in binaries {
                    self.exec.add(ix, g);
                }
                if let Some(a) = args {
                    self.exec_args.insert(ix, a.clone());
                }
            }
            Matcher::Net {
                proto,
                hosts,
                ports,
            } => {
                let slot = net_slot(rule.action).ok_or_else(|| err("not a net action".into()))?;
                if let Some(idx) = self.net.get_mut(slot) {
                    idx.add(ix, *proto, hosts.as_deref(), ports.clone());
                }
            }
            Matcher::Env { vars } => {
                for v in vars {
                    let list = self.env.entry(v.clone()).or_default();
                    if !list.contains(&ix) {
                        list.push(ix);
                    }
                }
            }
            Matcher::Tool { tool, conditions } => {
                let targets: Vec<usize> = match tool {
                    Some(t) => vec![policy
                        .tools
                        .iter()
                        .position(|s| &s.name == t)
                        .ok_or_else(|| err(format!("tool `{t}` is not declared")))?],
                    None => (0..policy.tools.len()).collect(),
                };
                for t in targets {
                    let sig = policy
                        .tools
                        .get(t)
                        .ok_or_else(|| err("tool index".into()))?;
                    let atoms = conditions
                        .iter()
                        .map(|a| compile_atom(policy, sig, a))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(err)?;
                    if let Some(ti) = self.tools.get_mut(t) {
                        ti.add(ix, atoms);
                    }
                }
            }
        }
        Ok(())
    }

    fn lookup(&self, req: &Prepared<'_>, out: &mut Vec<u32>) -> Result<(), RequestError> {
        match &req.body {
            Body::Fs { action, path } => {
                if let Some(idx) = fs_slot(*action).and_then(|s| self.fs.get(s)) {
                    idx.lookup(path, out);
                }
            }
            Body::Exec { path, args } => {
                let start = out.len();
                self.exec.lookup(path, out);
                let mut keep = start;
                for i in start..out.len() {
                    let Some(r) = out.get(i).copied() else { break };
                    let ok = self.exec_args.get(&r).is_none_or(|p| args_match(p, args));
                    if ok {
                        if let Some(slot) = out.get_mut(keep) {
                            *slot = r;
                        }
                        keep += 1;
                    }
                }
                out.truncate(keep);
            }
            Body::Net {
                action,
                proto,
                addr,
                domain,
                port,
                ..
            } => {
                if let Some(idx) = net_slot(*action).and_then(|s| self.net.get(s)) {
                    idx.lookup(*proto, *addr, domain.as_deref(), *port, out);
                }
            }
            Body::Env { var } => {
                if let Some(v) = self.env.get(*var) {
                    out.extend_from_slice(v);
                }
            }
            Body::Tool(call) => {
                if let Some(ti) = self.tools.get(call.tool) {
                    ti.lookup(req, out)?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- paths

#[derive(Clone, Debug, Default)]
struct PathIndex {
    exact: HashMap<String, Vec<u32>>,
    subtree: HashMap<String, Vec<u32>>,
    other: Vec<(u32, Glob)>,
}

fn push_unique(list: &mut Vec<u32>, ix: u32) {
    if list.last() != Some(&ix) {
        list.push(ix);
    }
}

impl PathIndex {
    fn add(&mut self, ix: u32, g: &Glob) {
        let lits: Option<Vec<&str>> = g
            .segments
            .iter()
            .map(|s| match s {
                Segment::Lit(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        if let Some(lits) = lits {
            push_unique(self.exact.entry(join(&lits)).or_default(), ix);
            return;
        }
        if let Some((Segment::Any, init)) = g.segments.split_last() {
            let lits: Option<Vec<&str>> = init
                .iter()
                .map(|s| match s {
                    Segment::Lit(l) => Some(l.as_str()),
                    _ => None,
                })
                .collect();
            if let Some(lits) = lits {
                push_unique(self.subtree.entry(join(&lits)).or_default(), ix);
                return;
            }
        }
        self.other.push((ix, g.clone()));
    }

    fn lookup(&self, p: &PathVal<'_>, out: &mut Vec<u32>) {
        if let Some(v) = self.exact.get(p.path) {
            out.extend_from_slice(v);
        }
        if !self.subtree.is_empty() {
            if let Some(v) = self.subtree.get("/") {
                out.extend_from_slice(v);
            }
            if p.path != "/" {
                for (i, c) in p.path.char_indices().skip(1) {
                    if c == '/' {
                        if let Some(v) = p.path.get(..i).and_then(|k| self.subtree.get(k)) {
                            out.extend_from_slice(v);
                        }
                    }
                }
                if let Some(v) = self.subtree.get(p.path) {
                    out.extend_from_slice(v);
                }
            }
        }
        for (ix, g) in &self.other {
            if segs_match(&g.segments, &p.segs) {
                out.push(*ix);
            }
        }
    }
}

fn join(lits: &[&str]) -> String {
    if lits.is_empty() {
        return "/".to_string();
    }
    let mut s = String::new();
    for l in lits {
        s.push('/');
        s.push_str(l);
    }
    s
}

/// Glob segments against path segments (semantics.md §3), by the core's
/// linear-time matcher: the evaluator and the index share one algorithm.
fn segs_match(pat: &[Segment], path: &[&str]) -> bool {
    agentpol_core::eval::matching::segments_match(pat, path)
}

/// Cedar `like` semantics: `*` matches any run of characters (linear time).
fn like_match(pieces: &[LikePiece], text: &str) -> bool {
    agentpol_core::eval::matching::like_pieces_match(pieces, text)
}

fn args_match(p: &ArgsPattern, args: &[String]) -> bool {
    let count_ok = if p.rest {
        args.len() >= p.items.len()
    } else {
        args.len() == p.items.len()
    };
    count_ok
        && p.items
            .iter()
            .zip(args)
            .all(|(item, a)| like_match(&item.pieces, a))
}

// ---------------------------------------------------------------- network

#[derive(Clone, Debug)]
struct NetEntry {
    rule: u32,
    proto: Proto,
    ports: Option<Vec<PortRange>>,
}

#[derive(Clone, Debug, Default)]
struct NetIndex {
    entries: Vec<NetEntry>,
    any_host: Vec<u32>,
    exact: HashMap<String, Vec<u32>>,
    wild: HashMap<String, Vec<u32>>,
    cidr: HashMap<IpNet, Vec<u32>>,
    lens: BTreeSet<(bool, u8)>,
}

impl NetIndex {
    fn add(
        &mut self,
        rule: u32,
        proto: Proto,
        hosts: Option<&[Host]>,
        ports: Option<Vec<PortRange>>,
    ) {
        let e = self.entries.len() as u32;
        self.entries.push(NetEntry { rule, proto, ports });
        match hosts {
            None => self.any_host.push(e),
            Some(hs) => {
                for h in hs {
                    match h {
                        Host::Cidr(net) => {
                            let net = agentpol_core::eval::matching::canonical_net(net);
                            self.lens
                                .insert((matches!(net, IpNet::V6(_)), net.prefix_len()));
                            push_unique(self.cidr.entry(net.trunc()).or_default(), e);
                        }
                        Host::Domain(DomainPattern { name, wildcard }) => {
                            let name = agentpol_core::eval::matching::normalize_domain(name);
                            if name.is_empty() {
                                continue;
                            }
                            let map = if *wildcard {
                                &mut self.wild
                            } else {
                                &mut self.exact
                            };
                            push_unique(map.entry(name).or_default(), e);
                        }
                    }
                }
            }
        }
    }

    fn lookup(
        &self,
        proto: Proto,
        addr: Option<IpAddr>,
        domain: Option<&str>,
        port: u16,
        out: &mut Vec<u32>,
    ) {
        if self.entries.is_empty() {
            return;
        }
        let mut cand: Vec<u32> = self.any_host.clone();
        if let Some(d) = domain {
            if let Some(v) = self.exact.get(d) {
                cand.extend_from_slice(v);
            }
            if !self.wild.is_empty() {
                for (i, c) in d.char_indices() {
                    if c == '.' {
                        if let Some(v) = d.get(i + 1..).and_then(|s| self.wild.get(s)) {
                            cand.extend_from_slice(v);
                        }
                    }
                }
            }
        }
        if let Some(a) = addr {
            for (v6, len) in &self.lens {
                if *v6 != a.is_ipv6() {
                    continue;
                }
                if let Ok(net) = IpNet::new(a, *len) {
                    if let Some(v) = self.cidr.get(&net.trunc()) {
                        cand.extend_from_slice(v);
                    }
                }
            }
        }
        cand.sort_unstable();
        cand.dedup();
        for e in cand {
            let Some(entry) = self.entries.get(e as usize) else {
                continue;
            };
            let proto_ok = match (entry.proto, proto) {
                (_, Proto::Any) => false,
                (Proto::Any, _) => true,
                (r, q) => r == q,
            };
            let port_ok = entry
                .ports
                .as_ref()
                .is_none_or(|ps| port != 0 && ps.iter().any(|r| r.lo <= port && port <= r.hi));
            if proto_ok && port_ok {
                out.push(entry.rule);
            }
        }
    }
}

// ---------------------------------------------------------------- tools

#[derive(Clone, Debug)]
struct COperand {
    arg: usize,
    field: Option<UrlField>,
}

#[derive(Clone, Debug)]
enum CScalar {
    Lit(Value),
    Param(String),
}

#[derive(Clone, Debug)]
enum CSet {
    Lit {
        strs: HashSet<String>,
        ints: HashSet<i64>,
    },
    Param(String),
}

#[derive(Clone, Debug)]
enum CTest {
    Eq(COperand, CScalar),
    Cmp(COperand, CmpOp, CScalar),
    In(COperand, CSet),
    Like(COperand, LikePattern),
    HostIn(usize, Vec<Host>),
    PathIn(usize, Vec<Glob>),
    Tainted(String),
    ContainsSecret(String),
}

#[derive(Clone, Debug)]
struct CAtom {
    negated: bool,
    test: CTest,
}

/// Operand types as the checker guarantees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OTy {
    Str,
    Int,
    Bool,
}

fn operand(sig: &ToolSig, op: &agentpol_core::ir::Operand) -> Result<(COperand, OTy), String> {
    let arg = sig
        .args
        .iter()
        .position(|a| a.name == op.arg)
        .ok_or_else(|| {
            format!(
                "it reads argument `{}`, which tool `{}` does not declare",
                op.arg, sig.name
            )
        })?;
    let ty = sig.args.get(arg).map(|a| a.ty).ok_or("argument index")?;
    let oty = match (ty, op.field) {
        (ArgType::String | ArgType::Path, None) => OTy::Str,
        (ArgType::Int, None) => OTy::Int,
        (ArgType::Bool, None) => OTy::Bool,
        (ArgType::Url, Some(UrlField::Port)) => OTy::Int,
        (ArgType::Url, Some(_)) => OTy::Str,
        (ArgType::Url, None) => {
            return Err(format!("it compares the whole url argument `{}`", op.arg))
        }
        (_, Some(_)) => {
            return Err(format!(
                "it reads a URL part of argument `{}`, which is not a url",
                op.arg
            ))
        }
    };
    Ok((
        COperand {
            arg,
            field: op.field,
        },
        oty,
    ))
}

fn vty(v: &Value) -> OTy {
    match v {
        Value::Bool(_) => OTy::Bool,
        Value::Int(_) => OTy::Int,
        Value::Str(_) => OTy::Str,
    }
}

fn scalar(policy: &Policy, s: &Scalar, want: OTy) -> Result<CScalar, String> {
    match s {
        Scalar::Lit(v) if vty(v) == want => Ok(CScalar::Lit(v.clone())),
        Scalar::Lit(_) => Err("it compares values of different types".into()),
        Scalar::Param(p) => {
            let decl = policy
                .param(p)
                .ok_or_else(|| format!("it reads param `{p}`, which is not declared"))?;
            let ok = matches!(
                (decl.ty, want),
                (agentpol_core::ir::ParamType::String, OTy::Str)
                    | (agentpol_core::ir::ParamType::Int, OTy::Int)
                    | (agentpol_core::ir::ParamType::Bool, OTy::Bool)
            );
            if ok {
                Ok(CScalar::Param(p.clone()))
            } else {
                Err(format!("param `{p}` does not have the operand's type"))
            }
        }
    }
}

fn compile_atom(
    policy: &Policy,
    sig: &ToolSig,
    a: &agentpol_core::ir::Atom,
) -> Result<CAtom, String> {
    let test = match &a.test {
        Test::Eq { lhs, rhs } => {
            let (op, ty) = operand(sig, lhs)?;
            CTest::Eq(op, scalar(policy, rhs, ty)?)
        }
        Test::Cmp { lhs, op, rhs } => {
            let (o, ty) = operand(sig, lhs)?;
            if ty != OTy::Int {
                return Err("it orders values that are not ints".into());
            }
            CTest::Cmp(o, *op, scalar(policy, rhs, OTy::Int)?)
        }
        Test::In { lhs, set } => {
            let (op, ty) = operand(sig, lhs)?;
            if ty == OTy::Bool {
                return Err("it tests a bool for set membership".into());
            }
            match set {
                SetOperand::Lit(items) => {
                    if items.iter().any(|v| vty(v) != ty) {
                        return Err("it tests membership in a set of another type".into());
                    }
                    let mut strs = HashSet::new();
                    let mut ints = HashSet::new();
                    for v in items {
                        match v {
                            Value::Str(x) => {
                                strs.insert(x.clone());
                            }
                            Value::Int(i) => {
                                ints.insert(*i);
                            }
                            Value::Bool(_) => {}
                        }
                    }
                    CTest::In(op, CSet::Lit { strs, ints })
                }
                SetOperand::Param(p) => {
                    let decl = policy
                        .param(p)
                        .ok_or_else(|| format!("it reads param `{p}`, which is not declared"))?;
                    let ok = matches!(
                        (decl.ty, ty),
                        (agentpol_core::ir::ParamType::SetString, OTy::Str)
                            | (agentpol_core::ir::ParamType::SetInt, OTy::Int)
                    );
                    if !ok {
                        return Err(format!("param `{p}` is not a set of the operand's type"));
                    }
                    CTest::In(op, CSet::Param(p.clone()))
                }
            }
        }
        Test::Like { lhs, pattern } => {
            let (op, ty) = operand(sig, lhs)?;
            if ty != OTy::Str {
                return Err("it applies `like` to a value that is not a string".into());
            }
            CTest::Like(op, pattern.clone())
        }
        Test::HostIn { lhs, hosts } => {
            let arg = sig
                .args
                .iter()
                .position(|x| x.name == lhs.arg && x.ty == ArgType::Url)
                .filter(|_| lhs.field == Some(UrlField::Host))
                .ok_or_else(|| {
                    format!(
                        "its host test reads `{}`, which is not the host of a url argument",
                        lhs.arg
                    )
                })?;
            CTest::HostIn(arg, hosts.clone())
        }
        Test::PathIn { lhs, globs } => {
            let arg = sig
                .args
                .iter()
                .position(|x| x.name == lhs.arg && x.ty == ArgType::Path)
                .filter(|_| lhs.field.is_none())
                .ok_or_else(|| {
                    format!(
                        "its path test reads `{}`, which is not a path argument",
                        lhs.arg
                    )
                })?;
            CTest::PathIn(arg, globs.clone())
        }
        Test::Tainted { arg } => {
            if sig.arg(arg).is_none() {
                return Err(format!(
                    "it asks whether argument `{arg}` is tainted, which tool `{}` does not declare",
                    sig.name
                ));
            }
            CTest::Tainted(arg.clone())
        }
        Test::ContainsSecret { var, .. } => CTest::ContainsSecret(var.clone()),
    };
    Ok(CAtom {
        negated: a.negated,
        test,
    })
}

#[derive(Clone, Debug)]
struct ToolEntry {
    rule: u32,
    atoms: Vec<CAtom>,
}

#[derive(Clone, Debug, Default)]
struct ArgAnchor {
    strs: HashMap<String, Vec<u32>>,
    ints: HashMap<i64, Vec<u32>>,
    bools: [Vec<u32>; 2],
}

#[derive(Clone, Debug, Default)]
struct ToolIndex {
    entries: Vec<ToolEntry>,
    anchors: Vec<(usize, ArgAnchor)>,
    unanchored: Vec<u32>,
}

impl ToolIndex {
    fn add(&mut self, rule: u32, atoms: Vec<CAtom>) {
        let e = self.entries.len() as u32;
        // The first positive equality or literal-set membership on a plain
        // argument decides the bucket: a request can match the rule only if
        // that argument has one of these values.
        let anchor = atoms.iter().find_map(|a| {
            if a.negated {
                return None;
            }
            match &a.test {
                CTest::Eq(op, CScalar::Lit(v)) if op.field.is_none() => {
                    Some((op.arg, vec![v.clone()]))
                }
                CTest::In(op, CSet::Lit { strs, ints }) if op.field.is_none() => {
                    let mut vs: Vec<Value> = strs
                        .iter()
                        .map(|x| Value::Str(x.clone()))
                        .chain(ints.iter().map(|i| Value::Int(*i)))
                        .collect();
                    vs.sort();
                    Some((op.arg, vs))
                }
                _ => None,
            }
        });
        self.entries.push(ToolEntry { rule, atoms });
        let Some((arg, values)) = anchor else {
            self.unanchored.push(e);
            return;
        };
        let slot = match self.anchors.iter().position(|(a, _)| *a == arg) {
            Some(p) => p,
            None => {
                self.anchors.push((arg, ArgAnchor::default()));
                self.anchors.len() - 1
            }
        };
        if let Some((_, anchor)) = self.anchors.get_mut(slot) {
            for v in values {
                let list = match v {
                    Value::Str(s) => anchor.strs.entry(s).or_default(),
                    Value::Int(i) => anchor.ints.entry(i).or_default(),
                    Value::Bool(b) => {
                        let [no, yes] = &mut anchor.bools;
                        if b {
                            yes
                        } else {
                            no
                        }
                    }
                };
                push_unique(list, e);
            }
        }
    }

    fn lookup(&self, req: &Prepared<'_>, out: &mut Vec<u32>) -> Result<(), RequestError> {
        let Body::Tool(ToolCall { args, .. }) = &req.body else {
            return Ok(());
        };
        let mut cand: Vec<u32> = Vec::new();
        for (arg, anchor) in &self.anchors {
            let hit = match args.get(*arg) {
                Some(ArgVal::Str(s)) => anchor.strs.get(*s),
                Some(ArgVal::Path(p)) => anchor.strs.get(p.path),
                Some(ArgVal::Int(i)) => anchor.ints.get(i),
                Some(ArgVal::Bool(b)) => anchor.bools.get(usize::from(*b)),
                _ => None,
            };
            if let Some(v) = hit {
                cand.extend_from_slice(v);
            }
        }
        if !self.anchors.is_empty() {
            cand.sort_unstable();
            cand.dedup();
        }
        for e in cand.iter().chain(&self.unanchored) {
            let Some(entry) = self.entries.get(*e as usize) else {
                continue;
            };
            let mut all = true;
            for a in &entry.atoms {
                if holds(&a.test, req)? == a.negated {
                    all = false;
                    break;
                }
            }
            if all {
                out.push(entry.rule);
            }
        }
        Ok(())
    }
}

/// A borrowed scalar read from a request.
#[derive(Clone, Copy, Debug)]
enum VRef<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
}

impl VRef<'_> {
    fn eq_value(self, v: &Value) -> bool {
        match (self, v) {
            (VRef::Str(a), Value::Str(b)) => a == b,
            (VRef::Int(a), Value::Int(b)) => a == *b,
            (VRef::Bool(a), Value::Bool(b)) => a == *b,
            _ => false,
        }
    }

    fn to_value(self) -> Value {
        match self {
            VRef::Str(s) => Value::Str(s.to_string()),
            VRef::Int(i) => Value::Int(i),
            VRef::Bool(b) => Value::Bool(b),
        }
    }
}

fn read<'a>(op: &COperand, args: &'a [ArgVal<'_>]) -> Option<VRef<'a>> {
    match (args.get(op.arg)?, op.field) {
        (ArgVal::Str(s), None) => Some(VRef::Str(s)),
        (ArgVal::Int(i), None) => Some(VRef::Int(*i)),
        (ArgVal::Bool(b), None) => Some(VRef::Bool(*b)),
        (ArgVal::Path(p), None) => Some(VRef::Str(p.path)),
        (ArgVal::Url(u), Some(UrlField::Scheme)) => Some(VRef::Str(&u.scheme)),
        (ArgVal::Url(u), Some(UrlField::Host)) => u.host.as_deref().map(VRef::Str),
        (ArgVal::Url(u), Some(UrlField::Port)) => u.port.map(VRef::Int),
        (ArgVal::Url(u), Some(UrlField::Path)) => Some(VRef::Str(&u.path)),
        _ => None,
    }
}

fn unbound(name: &str) -> RequestError {
    RequestError::new(
        &agentpol_core::diag::codes::REQUEST_UNBOUND_PARAM,
        format!("/params/{}", agentpol_core::eval::pointer(name)),
        format!("param `{name}` is not bound, but a rule reads it"),
        format!("bind it in the request's `params`, e.g. \"params\": {{\"{name}\": ...}}"),
    )
}

fn holds(t: &CTest, req: &Prepared<'_>) -> Result<bool, RequestError> {
    let Body::Tool(call) = &req.body else {
        return Ok(false);
    };
    let ToolCall {
        args,
        params,
        tainted,
        ..
    } = call;
    let scalar = |s: &CScalar| -> Result<Value, RequestError> {
        match s {
            CScalar::Lit(v) => Ok(v.clone()),
            CScalar::Param(p) => match params.get(p.as_str()) {
                Some(ParamValue::Scalar(v)) => Ok(v.clone()),
                _ => Err(unbound(p)),
            },
        }
    };
    Ok(match t {
        CTest::Eq(op, rhs) => {
            let rhs = scalar(rhs)?;
            read(op, args).is_some_and(|v| v.eq_value(&rhs))
        }
        CTest::Cmp(op, cmp, rhs) => {
            let Value::Int(b) = scalar(rhs)? else {
                return Ok(false);
            };
            match read(op, args) {
                Some(VRef::Int(a)) => match cmp {
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                },
                _ => false,
            }
        }
        CTest::In(op, set) => {
            let v = read(op, args);
            match set {
                CSet::Lit { strs, ints } => match v {
                    Some(VRef::Str(x)) => strs.contains(x),
                    Some(VRef::Int(i)) => ints.contains(&i),
                    _ => false,
                },
                CSet::Param(p) => match params.get(p.as_str()) {
                    Some(ParamValue::Set(items)) => {
                        v.is_some_and(|v| items.contains(&v.to_value()))
                    }
                    _ => return Err(unbound(p)),
                },
            }
        }
        CTest::Like(op, pat) => match read(op, args) {
            Some(VRef::Str(s)) => like_match(&pat.pieces, s),
            _ => false,
        },
        CTest::HostIn(arg, hosts) => match args.get(*arg) {
            Some(ArgVal::Url(u)) => hosts.iter().any(|h| match h {
                Host::Cidr(net) => u.ip.is_some_and(|ip| {
                    agentpol_core::eval::matching::canonical_net(net).contains(&ip)
                }),
                Host::Domain(d) => u
                    .domain
                    .as_deref()
                    .is_some_and(|name| domain_matches(d, name)),
            }),
            _ => false,
        },
        CTest::PathIn(arg, globs) => match args.get(*arg) {
            Some(ArgVal::Path(p)) => globs.iter().any(|g| segs_match(&g.segments, &p.segs)),
            _ => false,
        },
        CTest::Tainted(name) => tainted.iter().any(|t| t == name),
        CTest::ContainsSecret(var) => call.contains_secret(var),
    })
}

fn domain_matches(p: &DomainPattern, name: &str) -> bool {
    let pat = agentpol_core::eval::matching::normalize_domain(&p.name);
    if name.is_empty() || pat.is_empty() {
        return false;
    }
    if p.wildcard {
        name.strip_suffix(pat.as_str())
            .and_then(|front| front.strip_suffix('.'))
            .is_some_and(|labels| !labels.is_empty())
    } else {
        name == pat
    }
}
