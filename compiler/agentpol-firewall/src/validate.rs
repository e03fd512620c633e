//! Translation validation: an interpreter for the ruleset nft lists back
//! (`nft -j list table inet agentpol`), the packet model as an oracle over the
//! reference evaluator, and probe generation.
//!
//! The tests load an emitted script into a scratch network namespace, list it
//! back, parse it with [`Ruleset::from_json`] and check, for every probe from
//! [`probes`], that [`Ruleset::verdict`] equals [`expected`] computed with
//! `agentpol_core::eval::evaluate` on the lowered policy. The interpreter is strict:
//! an expression it does not know is an error, never a silent match.

use crate::interval::{addr_num, unmap_addr, v4_range, v6_range, IntervalSet};
use crate::lower::Lowered;
use agentpol_core::ir::{Action, Effect, Host, Matcher, Policy, Proto, Scope};
use agentpol_core::request::{Request, Resource};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Which base chain sees a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    /// Locally generated.
    Output,
    /// Locally delivered.
    Input,
}

/// Conntrack state of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ct {
    /// First packet of a flow.
    New,
    /// A reply direction has been seen.
    Established,
    /// Related to a tracked flow (ICMP errors).
    Related,
}

/// The socket a packet belongs to (output: the sender; input: the receiver).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketCtx {
    /// Its cgroup, relative to the cgroup2 root (`agentpol/a`); `None` for no socket.
    pub cgroup: Option<String>,
    /// Its owner uid.
    pub uid: u32,
}

/// A probe packet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Packet {
    /// Direction.
    pub hook: Hook,
    /// TCP or UDP.
    pub proto: Proto,
    /// Destination address (the peer on output, the local address on input).
    pub daddr: IpAddr,
    /// Destination port.
    pub dport: u16,
    /// Conntrack state.
    pub ct: Ct,
    /// The local socket.
    pub socket: SocketCtx,
}

/// A verdict of the ruleset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Passes this table.
    Accept,
    /// Refused (dropped or rejected).
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetKind {
    V4,
    V6,
    Port,
}

#[derive(Clone, Debug, PartialEq)]
struct SetDef {
    kind: SetKind,
    elems: IntervalSet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Daddr4,
    Daddr6,
    Dport(Option<Proto>),
    L4proto,
    Skuid,
    Cgroupv2,
    CtState,
}

#[derive(Clone, Debug, PartialEq)]
enum Rhs {
    Set(String),
    Num(u128),
    Addr(IntervalSet),
    Str(String),
    Strs(Vec<String>),
    /// An anonymous set of numbers/addresses/protocol names.
    Anon(Vec<Rhs>),
}

#[derive(Clone, Debug, PartialEq)]
enum Stmt {
    Match { neg: bool, key: Key, rhs: Rhs },
    Accept,
    Deny,
    Return,
    Jump(String),
    Goto(String),
    Nop,
}

/// One rule as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedRule {
    /// Its comment (the IR rule id for agent rules).
    pub comment: Option<String>,
    stmts: Vec<Stmt>,
}

/// One chain as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedChain {
    /// The hook of a base chain.
    pub hook: Option<Hook>,
    /// Base chain policy: true = accept.
    pub policy_accept: bool,
    /// Rules in order.
    pub rules: Vec<ListedRule>,
}

/// `table inet agentpol` as nft listed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ruleset {
    sets: BTreeMap<String, SetDef>,
    /// Chains by name.
    pub chains: BTreeMap<String, ListedChain>,
    /// The chain order as listed.
    pub chain_order: Vec<String>,
    cgroup_root: String,
}

fn err<T>(what: impl Into<String>) -> Result<T, String> {
    Err(what.into())
}

fn parse_addr_elem(v: &Value, kind: SetKind) -> Result<(u128, u128), String> {
    let bits = if kind == SetKind::V4 { 32 } else { 128 };
    let one = |v: &Value| -> Result<u128, String> {
        match (kind, v) {
            (SetKind::Port, Value::Number(n)) => n
                .as_u64()
                .map(u128::from)
                .ok_or_else(|| format!("bad port {n}")),
            (SetKind::V4 | SetKind::V6, Value::String(s)) => {
                let a: IpAddr = s.parse().map_err(|_| format!("bad address {s:?}"))?;
                match (kind, a) {
                    (SetKind::V4, IpAddr::V4(_)) | (SetKind::V6, IpAddr::V6(_)) => Ok(addr_num(a)),
                    _ => Err(format!("address {s} in a set of the other family")),
                }
            }
            _ => Err(format!("unexpected element {v}")),
        }
    };
    if let Some(p) = v.get("prefix") {
        let addr = p.get("addr").ok_or("prefix without addr")?;
        let len = p
            .get("len")
            .and_then(Value::as_u64)
            .ok_or("prefix without len")?;
        let a = one(addr)?;
        let host = bits - u32::try_from(len).map_err(|_| "bad len")?.min(bits);
        let last = if host >= 128 {
            u128::MAX
        } else {
            a | ((1u128 << host) - 1)
        };
        return Ok((a, last));
    }
    if let Some(r) = v.get("range") {
        let lo = r.get(0).ok_or("range without lo")?;
        let hi = r.get(1).ok_or("range without hi")?;
        return Ok((one(lo)?, one(hi)?));
    }
    if let Some(e) = v.get("elem") {
        return parse_addr_elem(e.get("val").ok_or("elem without val")?, kind);
    }
    let x = one(v)?;
    Ok((x, x))
}

fn parse_key(v: &Value) -> Result<Key, String> {
    if let Some(p) = v.get("payload") {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
        let field = p.get("field").and_then(Value::as_str).unwrap_or("");
        return match (proto, field) {
            ("ip", "daddr") => Ok(Key::Daddr4),
            ("ip6", "daddr") => Ok(Key::Daddr6),
            ("tcp", "dport") => Ok(Key::Dport(Some(Proto::Tcp))),
            ("udp", "dport") => Ok(Key::Dport(Some(Proto::Udp))),
            ("th", "dport") => Ok(Key::Dport(None)),
            _ => err(format!("unknown payload {proto} {field}")),
        };
    }
    if let Some(m) = v.get("meta") {
        return match m.get("key").and_then(Value::as_str) {
            Some("l4proto") => Ok(Key::L4proto),
            Some("skuid") => Ok(Key::Skuid),
            k => err(format!("unknown meta key {k:?}")),
        };
    }
    if let Some(s) = v.get("socket") {
        return match s.get("key").and_then(Value::as_str) {
            Some("cgroupv2") => Ok(Key::Cgroupv2),
            k => err(format!("unknown socket key {k:?}")),
        };
    }
    if let Some(c) = v.get("ct") {
        return match c.get("key").and_then(Value::as_str) {
            Some("state") => Ok(Key::CtState),
            k => err(format!("unknown ct key {k:?}")),
        };
    }
    err(format!("unknown match operand {v}"))
}

fn parse_rhs(v: &Value, key: Key) -> Result<Rhs, String> {
    match v {
        Value::String(s) if s.starts_with('@') => {
            Ok(Rhs::Set(s.trim_start_matches('@').to_string()))
        }
        Value::String(s) => match key {
            Key::Daddr4 => Ok(Rhs::Addr(IntervalSet::from_ranges(
                32,
                [parse_addr_elem(v, SetKind::V4)?],
            ))),
            Key::Daddr6 => Ok(Rhs::Addr(IntervalSet::from_ranges(
                128,
                [parse_addr_elem(v, SetKind::V6)?],
            ))),
            _ => Ok(Rhs::Str(s.clone())),
        },
        Value::Number(n) => n
            .as_u64()
            .map(|n| Rhs::Num(u128::from(n)))
            .ok_or_else(|| format!("bad number {n}")),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("bad list item {i}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Rhs::Strs),
        Value::Object(_) => {
            if let Some(items) = v.get("set").and_then(Value::as_array) {
                return items
                    .iter()
                    .map(|i| parse_rhs(i, key))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Rhs::Anon);
            }
            match key {
                Key::Daddr4 => Ok(Rhs::Addr(IntervalSet::from_ranges(
                    32,
                    [parse_addr_elem(v, SetKind::V4)?],
                ))),
                Key::Daddr6 => Ok(Rhs::Addr(IntervalSet::from_ranges(
                    128,
                    [parse_addr_elem(v, SetKind::V6)?],
                ))),
                Key::Dport(_) => Ok(Rhs::Addr(IntervalSet::from_ranges(
                    16,
                    [parse_addr_elem(v, SetKind::Port)?],
                ))),
                _ => err(format!("unexpected value {v}")),
            }
        }
        _ => err(format!("unexpected value {v}")),
    }
}

fn parse_stmt(v: &Value) -> Result<Stmt, String> {
    let Some(obj) = v.as_object() else {
        return err(format!("statement is not an object: {v}"));
    };
    let Some((k, body)) = obj.iter().next() else {
        return err("empty statement");
    };
    match k.as_str() {
        "match" => {
            let op = body
                .get("op")
                .and_then(Value::as_str)
                .ok_or("match without op")?;
            let key = parse_key(body.get("left").ok_or("match without left")?)?;
            let rhs = parse_rhs(body.get("right").ok_or("match without right")?, key)?;
            let neg = match op {
                "==" | "in" => false,
                "!=" => true,
                _ => return err(format!("unknown match op {op}")),
            };
            Ok(Stmt::Match { neg, key, rhs })
        }
        "counter" | "log" => Ok(Stmt::Nop),
        "accept" => Ok(Stmt::Accept),
        "drop" | "reject" => Ok(Stmt::Deny),
        "return" => Ok(Stmt::Return),
        "jump" | "goto" => {
            let t = body
                .get("target")
                .and_then(Value::as_str)
                .ok_or("jump without target")?
                .to_string();
            Ok(if k == "jump" {
                Stmt::Jump(t)
            } else {
                Stmt::Goto(t)
            })
        }
        other => err(format!("unknown statement {other}")),
    }
}

impl Ruleset {
    /// Parses `nft -j list table inet agentpol`. `cgroup_root` is the prefix
    /// the cgroup2 paths in the listing carry (see [`crate::Options::cgroup_root`]).
    pub fn from_json(json: &str, cgroup_root: &str) -> Result<Ruleset, String> {
        let doc: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        let items = doc
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or("no nftables array")?;
        let mut rs = Ruleset {
            sets: BTreeMap::new(),
            chains: BTreeMap::new(),
            chain_order: Vec::new(),
            cgroup_root: cgroup_root.trim_matches('/').to_string(),
        };
        let mut rules: Vec<(String, ListedRule)> = Vec::new();
        for item in items {
            if let Some(s) = item.get("set") {
                let name = s
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("set without name")?;
                let kind = match s.get("type").and_then(Value::as_str) {
                    Some("ipv4_addr") => SetKind::V4,
                    Some("ipv6_addr") => SetKind::V6,
                    Some("inet_service") => SetKind::Port,
                    t => return err(format!("set {name}: unknown type {t:?}")),
                };
                let bits = match kind {
                    SetKind::V4 => 32,
                    SetKind::V6 => 128,
                    SetKind::Port => 16,
                };
                let mut ranges = Vec::new();
                for e in s
                    .get("elem")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    ranges.push(parse_addr_elem(e, kind).map_err(|m| format!("set {name}: {m}"))?);
                }
                rs.sets.insert(
                    name.to_string(),
                    SetDef {
                        kind,
                        elems: IntervalSet::from_ranges(bits, ranges),
                    },
                );
            } else if let Some(c) = item.get("chain") {
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("chain without name")?
                    .to_string();
                let hook = match c.get("hook").and_then(Value::as_str) {
                    None => None,
                    Some("output") => Some(Hook::Output),
                    Some("input") => Some(Hook::Input),
                    Some(h) => return err(format!("chain {name}: unexpected hook {h}")),
                };
                let policy_accept = c
                    .get("policy")
                    .and_then(Value::as_str)
                    .is_none_or(|p| p == "accept");
                rs.chain_order.push(name.clone());
                rs.chains.insert(
                    name,
                    ListedChain {
                        hook,
                        policy_accept,
                        rules: Vec::new(),
                    },
                );
            } else if let Some(r) = item.get("rule") {
                let chain = r
                    .get("chain")
                    .and_then(Value::as_str)
                    .ok_or("rule without chain")?
                    .to_string();
                let comment = r.get("comment").and_then(Value::as_str).map(str::to_string);
                let stmts = r
                    .get("expr")
                    .and_then(Value::as_array)
                    .ok_or("rule without expr")?
                    .iter()
                    .map(parse_stmt)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| format!("chain {chain}: {m}"))?;
                rules.push((chain, ListedRule { comment, stmts }));
            }
        }
        for (chain, rule) in rules {
            rs.chains
                .get_mut(&chain)
                .ok_or_else(|| format!("rule in unknown chain {chain}"))?
                .rules
                .push(rule);
        }
        Ok(rs)
    }

    /// Names of the sets.
    pub fn set_names(&self) -> BTreeSet<String> {
        self.sets.keys().cloned().collect()
    }

    fn matches(&self, p: &Packet, neg: bool, key: Key, rhs: &Rhs) -> Result<bool, String> {
        // Implicit dependencies nft adds (and hides in listings): a payload match
        // of `ip`/`tcp` first requires that protocol, and fails otherwise even when negated.
        let (value, bits): (Option<u128>, u32) = match key {
            Key::Daddr4 => match p.daddr {
                IpAddr::V4(_) => (Some(addr_num(p.daddr)), 32),
                IpAddr::V6(_) => return Ok(false),
            },
            Key::Daddr6 => match p.daddr {
                IpAddr::V6(_) => (Some(addr_num(p.daddr)), 128),
                IpAddr::V4(_) => return Ok(false),
            },
            Key::Dport(Some(proto)) if proto != p.proto => return Ok(false),
            Key::Dport(_) => (Some(u128::from(p.dport)), 16),
            Key::L4proto => {
                let name = if p.proto == Proto::Udp { "udp" } else { "tcp" };
                let hit = match rhs {
                    Rhs::Str(s) => s == name,
                    Rhs::Num(n) => *n == if p.proto == Proto::Udp { 17 } else { 6 },
                    Rhs::Anon(items) => items.iter().any(|i| matches!(i, Rhs::Str(s) if s == name)),
                    other => return err(format!("l4proto compared with {other:?}")),
                };
                return Ok(hit != neg);
            }
            Key::Skuid => {
                // skb->sk is only set for locally generated packets.
                if p.hook == Hook::Input {
                    return Ok(false);
                }
                let Rhs::Num(n) = rhs else {
                    return err(format!("skuid compared with {rhs:?}"));
                };
                return Ok((*n == u128::from(p.socket.uid)) != neg);
            }
            Key::Cgroupv2 => {
                let Rhs::Str(path) = rhs else {
                    return err(format!("cgroupv2 compared with {rhs:?}"));
                };
                let Some(sock) = &p.socket.cgroup else {
                    return Ok(false);
                };
                let rel = if self.cgroup_root.is_empty() {
                    Some(path.as_str())
                } else {
                    path.strip_prefix(&self.cgroup_root)
                        .and_then(|r| r.strip_prefix('/'))
                };
                let Some(rel) = rel else {
                    return err(format!(
                        "cgroup path {path} outside the root {}",
                        self.cgroup_root
                    ));
                };
                // Level N compares the socket's ancestor at depth N: the path or below it.
                let hit = sock == rel || sock.starts_with(&format!("{rel}/"));
                return Ok(hit != neg);
            }
            Key::CtState => {
                let st = match p.ct {
                    Ct::New => "new",
                    Ct::Established => "established",
                    Ct::Related => "related",
                };
                let hit = match rhs {
                    Rhs::Strs(v) => v.iter().any(|s| s == st),
                    Rhs::Str(s) => s == st,
                    Rhs::Anon(items) => items.iter().any(|i| matches!(i, Rhs::Str(s) if s == st)),
                    other => return err(format!("ct state compared with {other:?}")),
                };
                return Ok(hit != neg);
            }
        };
        let Some(v) = value else { return Ok(false) };
        let hit = match rhs {
            Rhs::Set(name) => {
                let set = self
                    .sets
                    .get(name)
                    .ok_or_else(|| format!("unknown set {name}"))?;
                let want = match key {
                    Key::Daddr4 => SetKind::V4,
                    Key::Daddr6 => SetKind::V6,
                    _ => SetKind::Port,
                };
                if set.kind != want {
                    return err(format!("set {name} of the wrong type"));
                }
                set.elems.contains(v)
            }
            Rhs::Num(n) => *n == v,
            Rhs::Addr(s) => s.bits() == bits && s.contains(v),
            Rhs::Anon(items) => {
                let mut any = false;
                for i in items {
                    any |= match i {
                        Rhs::Num(n) => *n == v,
                        Rhs::Addr(s) => s.contains(v),
                        other => return err(format!("unexpected set item {other:?}")),
                    };
                }
                any
            }
            other => return err(format!("unexpected operand {other:?}")),
        };
        Ok(hit != neg)
    }

    /// The verdict of the table for a packet: its base chain for the hook,
    /// following jumps, gotos and returns.
    pub fn verdict(&self, p: &Packet) -> Result<Verdict, String> {
        let mut result = Verdict::Accept;
        for base in self
            .chain_order
            .iter()
            .filter(|c| self.chains.get(*c).and_then(|c| c.hook) == Some(p.hook))
        {
            match self.run_chain(base, p)? {
                Some(Verdict::Deny) => return Ok(Verdict::Deny),
                Some(Verdict::Accept) => {}
                None => {
                    let c = self.chains.get(base).ok_or("vanished chain")?;
                    if !c.policy_accept {
                        result = Verdict::Deny;
                    }
                }
            }
        }
        Ok(result)
    }

    /// Runs a base chain; `None` when it falls off the end (the policy applies).
    fn run_chain(&self, base: &str, p: &Packet) -> Result<Option<Verdict>, String> {
        // (chain, next rule index)
        let mut stack: Vec<(String, usize)> = vec![(base.to_string(), 0)];
        let mut steps = 0usize;
        'outer: while let Some((chain, start)) = stack.pop() {
            let c = self
                .chains
                .get(&chain)
                .ok_or_else(|| format!("jump to unknown chain {chain}"))?;
            for (i, rule) in c.rules.iter().enumerate().skip(start) {
                steps += 1;
                if steps > 100_000 {
                    return err("too many steps (a loop?)");
                }
                let mut all = true;
                for st in &rule.stmts {
                    match st {
                        Stmt::Match { neg, key, rhs } => {
                            if !self.matches(p, *neg, *key, rhs)? {
                                all = false;
                                break;
                            }
                        }
                        Stmt::Nop => {}
                        Stmt::Accept => return Ok(Some(Verdict::Accept)),
                        Stmt::Deny => return Ok(Some(Verdict::Deny)),
                        Stmt::Return => continue 'outer,
                        Stmt::Jump(t) => {
                            stack.push((chain.clone(), i + 1));
                            stack.push((t.clone(), 0));
                            continue 'outer;
                        }
                        Stmt::Goto(t) => {
                            stack.push((t.clone(), 0));
                            continue 'outer;
                        }
                    }
                }
                let _ = all;
            }
            // End of a chain: return to the caller (for the base chain: its policy).
            if stack.is_empty() {
                return Ok(None);
            }
        }
        Ok(None)
    }
}

/// Whether a packet's socket is in `scope` (and, on input, attributable).
pub fn in_scope(scope: &Scope, p: &Packet) -> bool {
    match scope {
        Scope::Cgroup { path } => p
            .socket
            .cgroup
            .as_ref()
            .is_some_and(|c| c == path || c.starts_with(&format!("{path}/"))),
        Scope::Uid { uid } => {
            p.hook == Hook::Output && p.socket.cgroup.is_some() && p.socket.uid == *uid
        }
    }
}

/// The requests a packet stands for under the packet model (see the crate docs).
pub fn requests(agent: &str, p: &Packet) -> Vec<Request> {
    let actions: &[Action] = match (p.hook, p.proto) {
        (Hook::Output, Proto::Udp) => &[Action::Connect, Action::Sendto],
        (Hook::Output, _) => &[Action::Connect],
        (Hook::Input, _) => &[Action::Listen],
    };
    actions
        .iter()
        .map(|a| Request {
            agent: agent.to_string(),
            skill: None,
            resource: Resource::Net {
                action: *a,
                proto: p.proto,
                addr: Some(p.daddr),
                domain: None,
                port: p.dport,
            },
        })
        .collect()
}

/// What the table must decide for `p`, given a decision procedure over IR
/// policies (the reference evaluator) applied to the lowered policy.
pub fn expected(
    lowered: &Lowered,
    p: &Packet,
    decide: &dyn Fn(&Policy, &Request) -> Effect,
) -> Verdict {
    if matches!(p.ct, Ct::Established | Ct::Related) {
        return Verdict::Accept;
    }
    for (agent, info) in lowered.policy.agents.iter().zip(&lowered.agents) {
        if !in_scope(&agent.scope, p) {
            continue;
        }
        if p.hook == Hook::Input && !info.filter_incoming {
            continue;
        }
        for r in requests(&agent.name, p) {
            if decide(&lowered.policy, &r) != Effect::Allow {
                return Verdict::Deny;
            }
        }
    }
    Verdict::Accept
}

/// Probe packets: every address-interval edge ± 1 and every port-range edge
/// ± 1 of every rule, both protocols, both directions, for a socket in each
/// agent's scope (and below it) and one outside every scope; plus a few
/// established and related packets.
pub fn probes(lowered: &Lowered) -> Vec<Packet> {
    let mut v4 = BTreeSet::new();
    let mut v6 = BTreeSet::new();
    let mut ports: BTreeSet<u16> = [0u16, 1, 52, 53, 54, 80, 443, 65534, 65535]
        .into_iter()
        .collect();
    let edges = |lo: u128, hi: u128, max: u128, out: &mut BTreeSet<u128>| {
        out.insert(lo);
        out.insert(hi);
        if lo > 0 {
            out.insert(lo - 1);
        }
        if hi < max {
            out.insert(hi + 1);
        }
    };
    for a in ["0.0.0.0", "127.0.0.1", "192.0.2.1", "255.255.255.255"] {
        if let Ok(IpAddr::V4(x)) = a.parse::<IpAddr>() {
            v4.insert(u128::from(u32::from(x)));
        }
    }
    for a in [
        "::",
        "::1",
        "2001:db8::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        if let Ok(IpAddr::V6(x)) = a.parse::<IpAddr>() {
            v6.insert(u128::from(x));
        }
    }
    for (agent, info) in lowered.policy.agents.iter().zip(&lowered.agents) {
        for r in &info.resolvers {
            match r {
                IpAddr::V4(x) => edges(
                    u128::from(u32::from(*x)),
                    u128::from(u32::from(*x)),
                    u128::from(u32::MAX),
                    &mut v4,
                ),
                IpAddr::V6(x) => edges(u128::from(*x), u128::from(*x), u128::MAX, &mut v6),
            }
        }
        for rule in &agent.rules {
            let Matcher::Net {
                hosts, ports: pr, ..
            } = &rule.matcher
            else {
                continue;
            };
            for h in hosts.iter().flatten() {
                if let Host::Cidr(n) = h {
                    match crate::interval::unmap_v4(n)
                        .map(ipnet::IpNet::V4)
                        .unwrap_or(*n)
                    {
                        ipnet::IpNet::V4(n) => {
                            let (lo, hi) = v4_range(&n);
                            edges(lo, hi, u128::from(u32::MAX), &mut v4);
                        }
                        ipnet::IpNet::V6(n) => {
                            let (lo, hi) = v6_range(&n);
                            edges(lo, hi, u128::MAX, &mut v6);
                        }
                    }
                }
            }
            for p in pr.iter().flatten() {
                let mut s = BTreeSet::new();
                edges(u128::from(p.lo), u128::from(p.hi), 65535, &mut s);
                ports.extend(s.into_iter().filter_map(|x| u16::try_from(x).ok()));
            }
        }
    }
    let addrs: Vec<IpAddr> = v4
        .into_iter()
        .map(|x| IpAddr::V4(crate::interval::v4_addr(x)))
        .chain(
            v6.into_iter()
                .map(|x| IpAddr::V6(crate::interval::v6_addr(x))),
        )
        .map(unmap_addr)
        .collect();
    let mut sockets = vec![SocketCtx {
        cgroup: Some("agentpol-outside".into()),
        uid: 65534,
    }];
    for agent in &lowered.policy.agents {
        match &agent.scope {
            Scope::Cgroup { path } => {
                sockets.push(SocketCtx {
                    cgroup: Some(path.clone()),
                    uid: 65534,
                });
                sockets.push(SocketCtx {
                    cgroup: Some(format!("{path}/child")),
                    uid: 65534,
                });
            }
            Scope::Uid { uid } => sockets.push(SocketCtx {
                cgroup: Some("agentpol-outside".into()),
                uid: *uid,
            }),
        }
    }
    // Sockets in two agents' scopes at once (a cgroup agent's process running
    // as a uid agent's uid): each agent must allow.
    let uids: Vec<u32> = lowered
        .policy
        .agents
        .iter()
        .filter_map(|a| match a.scope {
            Scope::Uid { uid } => Some(uid),
            Scope::Cgroup { .. } => None,
        })
        .collect();
    for agent in &lowered.policy.agents {
        if let Scope::Cgroup { path } = &agent.scope {
            for uid in &uids {
                sockets.push(SocketCtx {
                    cgroup: Some(path.clone()),
                    uid: *uid,
                });
            }
        }
    }
    sockets.sort();
    sockets.dedup();
    let mut out = Vec::new();
    for socket in &sockets {
        for hook in [Hook::Output, Hook::Input] {
            for proto in [Proto::Tcp, Proto::Udp] {
                for &daddr in &addrs {
                    for &dport in &ports {
                        out.push(Packet {
                            hook,
                            proto,
                            daddr,
                            dport,
                            ct: Ct::New,
                            socket: socket.clone(),
                        });
                    }
                }
                for ct in [Ct::Established, Ct::Related] {
                    if let Some(&daddr) = addrs.first() {
                        out.push(Packet {
                            hook,
                            proto,
                            daddr,
                            dport: 9,
                            ct,
                            socket: socket.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// The shape of a ruleset: chains with their rules' comments, and sets with
/// their elements. Compared after `apply` loads a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Chain name → comments of its rules, in order (`""` for none).
    pub chains: BTreeMap<String, Vec<String>>,
    /// Set name → canonical ranges.
    pub sets: BTreeMap<String, Vec<(u128, u128)>>,
}

impl Layout {
    /// The layout of a listed ruleset.
    pub fn of(rs: &Ruleset) -> Layout {
        Layout {
            chains: rs
                .chains
                .iter()
                .map(|(n, c)| {
                    (
                        n.clone(),
                        c.rules
                            .iter()
                            .map(|r| r.comment.clone().unwrap_or_default())
                            .collect(),
                    )
                })
                .collect(),
            sets: rs
                .sets
                .iter()
                .map(|(n, s)| (n.clone(), s.elems.ranges().to_vec()))
                .collect(),
        }
    }

    /// The layout an emitted script (from [`crate::nft::render`]) defines.
    pub fn of_script(script: &str) -> Result<Layout, String> {
        let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut sets = BTreeMap::new();
        let mut cur_chain: Option<String> = None;
        let mut cur_set: Option<(String, SetKind, String)> = None;
        let mut in_elems = false;
        for line in script.lines() {
            let t = line.trim();
            if t.starts_with('#') || t.is_empty() {
                continue;
            }
            if let Some(rest) = t.strip_prefix("chain ") {
                let name = rest.trim_end_matches('{').trim().to_string();
                chains.insert(name.clone(), Vec::new());
                cur_chain = Some(name);
                continue;
            }
            if let Some(rest) = t.strip_prefix("set ") {
                cur_set = Some((
                    rest.trim_end_matches('{').trim().to_string(),
                    SetKind::Port,
                    String::new(),
                ));
                continue;
            }
            if let Some((_, kind, elems)) = cur_set.as_mut() {
                if let Some(ty) = t.strip_prefix("type ") {
                    *kind = match ty {
                        "ipv4_addr" => SetKind::V4,
                        "ipv6_addr" => SetKind::V6,
                        _ => SetKind::Port,
                    };
                } else if let Some(e) = t.strip_prefix("elements = ") {
                    elems.push_str(e);
                    in_elems = !e.ends_with('}');
                } else if in_elems {
                    elems.push_str(t);
                    in_elems = !t.ends_with('}');
                } else if t == "}" {
                    if let Some((name, kind, elems)) = cur_set.take() {
                        let bits = match kind {
                            SetKind::V4 => 32,
                            SetKind::V6 => 128,
                            SetKind::Port => 16,
                        };
                        let mut ranges = Vec::new();
                        for e in elems
                            .trim_matches(|c| c == '{' || c == '}' || c == ' ')
                            .split(',')
                        {
                            let e = e.trim();
                            if e.is_empty() {
                                continue;
                            }
                            ranges.push(script_elem(e, kind)?);
                        }
                        sets.insert(
                            name,
                            IntervalSet::from_ranges(bits, ranges).ranges().to_vec(),
                        );
                    }
                }
                continue;
            }
            if t == "}" {
                cur_chain = None;
                continue;
            }
            if let Some(c) = &cur_chain {
                if t.starts_with("type filter hook") {
                    continue;
                }
                let comment = t
                    .rsplit_once("comment \"")
                    .map(|(_, c)| c.trim_end_matches('"').to_string())
                    .unwrap_or_default();
                chains.entry(c.clone()).or_default().push(comment);
            }
        }
        Ok(Layout { chains, sets })
    }

    /// A readable list of differences (empty when equal).
    pub fn diff(&self, other: &Layout) -> Vec<String> {
        let mut out = Vec::new();
        for (n, c) in &self.chains {
            match other.chains.get(n) {
                None => out.push(format!("chain {n} missing")),
                Some(o) if o != c => out.push(format!("chain {n}: rules {c:?} vs {o:?}")),
                _ => {}
            }
        }
        for n in other
            .chains
            .keys()
            .filter(|n| !self.chains.contains_key(*n))
        {
            out.push(format!("unexpected chain {n}"));
        }
        for (n, s) in &self.sets {
            match other.sets.get(n) {
                None => out.push(format!("set {n} missing")),
                Some(o) if o != s => out.push(format!("set {n}: elements differ")),
                _ => {}
            }
        }
        for n in other.sets.keys().filter(|n| !self.sets.contains_key(*n)) {
            out.push(format!("unexpected set {n}"));
        }
        out
    }
}

fn script_elem(e: &str, kind: SetKind) -> Result<(u128, u128), String> {
    let one = |s: &str| -> Result<Value, String> {
        Ok(match kind {
            SetKind::Port => Value::from(s.parse::<u64>().map_err(|_| format!("bad port {s}"))?),
            _ => Value::from(s),
        })
    };
    if let Some((a, len)) = e.split_once('/') {
        let len: u64 = len.parse().map_err(|_| format!("bad prefix {e}"))?;
        return parse_addr_elem(
            &serde_json::json!({"prefix": {"addr": a, "len": len}}),
            kind,
        );
    }
    // IPv6 addresses contain no '-', so a '-' always separates a range.
    if let Some((a, b)) = e.split_once('-') {
        return parse_addr_elem(&serde_json::json!({"range": [one(a)?, one(b)?]}), kind);
    }
    parse_addr_elem(&one(e)?, kind)
}
