//! An agent's (and skill's) `net` rules as the contents of the BPF maps: a
//! pure function of the IR and the names resolved at start, so it is unit-
//! and property-tested against the reference evaluator without a kernel.
//!
//! Two steps:
//!
//! 1. [`lower`]: domains become addresses (the resolved ones), with a loss
//!    entry for every approximation and an error for a deny that cannot be
//!    held by address; an agent's `resolvers` become the synthetic DNS rules
//!    the firewall targets use (semantics.md §5).
//! 2. [`compile`]: address-only rules become LPM-trie entries and port tables.
//!
//! Map layout (also in the crate README). For each layer (0 = agent, 1 =
//! skill), each [`Op`] and each address family, the distinct CIDRs of the
//! rules are the trie's prefixes. The value of a prefix P is the index of a
//! **port table** precomputed from every rule whose CIDR contains P (P's
//! ancestors and P itself): a sorted partition of the ports 0–65535 into
//! segments, each with its verdict (deny > allow, else default deny) and the
//! deciding rule. CIDRs are nested or disjoint, so the longest prefix that
//! matches an address is the most specific CIDR containing it, and the rules
//! containing that CIDR are exactly the rules containing the address: one
//! trie lookup (O(address bits)) and one binary search over at most
//! [`MAX_SEGS`] segments (O(log 256)) decide a request, whatever the number
//! of rules. Identical tables are stored once.

use agentpol_core::eval::matching::{canonical_net, proto_matches};
use agentpol_core::ir::{
    Action, DomainPattern, Effect, Host, Matcher, Origin, PortRange, Proto, Rule, RuleId, SourceRef,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// Most segments of one port table (the BPF side's array size).
pub const MAX_SEGS: usize = 256;
/// Segment flag: the verdict is allow.
pub const SEG_ALLOW: u32 = 0x8000_0000;
/// Segment rule index meaning "no rule matched" (default deny).
pub const RULE_NONE: u32 = 0x7fff_ffff;

/// An operation the kernel hooks see: an action with a concrete protocol.
/// The discriminants are the BPF side's `OP_*` codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `connect()` on a TCP socket (cgroup/connect4, connect6).
    ConnectTcp = 0,
    /// `connect()` on a UDP socket.
    ConnectUdp = 1,
    /// An unconnected UDP send (cgroup/sendmsg4, sendmsg6).
    SendtoUdp = 2,
    /// `bind()` of a TCP socket (cgroup/bind4, bind6).
    ListenTcp = 3,
    /// `bind()` of a UDP socket.
    ListenUdp = 4,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 5] = [
        Op::ConnectTcp,
        Op::ConnectUdp,
        Op::SendtoUdp,
        Op::ListenTcp,
        Op::ListenUdp,
    ];

    /// The IR action.
    pub fn action(self) -> Action {
        match self {
            Op::ConnectTcp | Op::ConnectUdp => Action::Connect,
            Op::SendtoUdp => Action::Sendto,
            Op::ListenTcp | Op::ListenUdp => Action::Listen,
        }
    }

    /// The concrete protocol.
    pub fn proto(self) -> Proto {
        match self {
            Op::ConnectTcp | Op::ListenTcp => Proto::Tcp,
            _ => Proto::Udp,
        }
    }

    /// The operation with this BPF code.
    pub fn from_code(code: u8) -> Option<Op> {
        Op::ALL.into_iter().find(|o| *o as u8 == code)
    }
}

/// An approximation made when lowering (always narrower or reported as such).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NetLoss {
    /// The rule.
    pub rule: RuleId,
    /// Where it was written.
    pub src: SourceRef,
    /// What was approximated and in which direction.
    pub message: String,
}

/// A rule the kernel cannot hold soundly: `run` refuses to start.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NetError {
    /// The rule.
    pub rule: RuleId,
    /// Where it was written.
    pub src: SourceRef,
    /// Why.
    pub message: String,
}

/// The exact names resolved at start: name → networks (single addresses as
/// /32 and /128; `localhost` as the loopback networks; empty: the name has no
/// address). A name that failed to resolve is absent.
pub type Names = BTreeMap<String, Vec<IpNet>>;

/// One layer after lowering: address-only net rules.
#[derive(Clone, Debug, Default)]
pub struct Lowered {
    /// The layer's net rules, domains replaced by addresses, plus synthetic
    /// resolver rules (agent layer only).
    pub rules: Vec<Rule>,
    /// Approximations.
    pub losses: Vec<NetLoss>,
    /// Rules that cannot be held.
    pub errors: Vec<NetError>,
}

/// Lowers one layer's net rules. `names` is None when nothing was resolved
/// (`--explain-plan`): exact names then contribute no address and the loss
/// says they are resolved at start; an unresolved deny is an error only when
/// resolution was attempted.
pub fn lower(
    owner: &str,
    rules: &[Rule],
    resolvers: &[IpAddr],
    owner_src: SourceRef,
    names: Option<&Names>,
) -> Lowered {
    let mut out = Lowered::default();
    for rule in rules {
        let Matcher::Net {
            proto,
            hosts,
            ports,
        } = &rule.matcher
        else {
            continue;
        };
        // Not Allow = held as deny: `ask` cannot occur on net rules (AP0202),
        // and were it there (a hand-built IR) no human waits at the kernel.
        let deny = rule.effect != Effect::Allow;
        if rule.effect == Effect::Ask {
            out.losses.push(NetLoss {
                rule: rule.id.clone(),
                src: rule.src,
                message: "`ask` cannot wait for a human in the kernel: held as deny (narrower)"
                    .into(),
            });
        }
        let hosts = hosts.as_ref().map(|hs| {
            let mut kept = Vec::new();
            for h in hs {
                match h {
                    Host::Cidr(n) => kept.push(Host::Cidr(canonical_net(n))),
                    Host::Domain(d) => {
                        lower_domain(rule, d, deny, names, &mut kept, &mut out);
                    }
                }
            }
            kept
        });
        out.rules.push(Rule {
            matcher: Matcher::Net {
                proto: *proto,
                hosts,
                ports: ports.clone(),
            },
            ..rule.clone()
        });
    }
    if !resolvers.is_empty() {
        out.rules
            .extend(resolver_rules(owner, resolvers, owner_src));
    }
    out
}

fn lower_domain(
    rule: &Rule,
    d: &DomainPattern,
    deny: bool,
    names: Option<&Names>,
    kept: &mut Vec<Host>,
    out: &mut Lowered,
) {
    let shown = if d.wildcard {
        format!("*.{}", d.name)
    } else {
        d.name.clone()
    };
    // `*.localhost`: RFC 6761 fixes every name under `localhost` to the
    // loopback networks (no DNS server is asked), so unlike other wildcards
    // its addresses are known and the rule holds by them. Without this, a
    // policy including `std::net::no_internal` (whose `deny all loopback`
    // names `*.localhost`), such as the bundled OpenClaw example, could never
    // start. Exact `localhost` arrives the same way through `names`.
    if d.wildcard {
        if let Some(nets) = loopback_name(&d.name) {
            kept.extend(nets.iter().map(|a| Host::Cidr(canonical_net(a))));
            out.losses.push(NetLoss {
                rule: rule.id.clone(),
                src: rule.src,
                message: format!(
                    "`{shown}` is held by the loopback networks (RFC 6761: every name under \
                     localhost is loopback); every name on them is {} too",
                    if deny { "denied" } else { "allowed" }
                ),
            });
            return;
        }
    }
    if d.wildcard {
        if deny {
            out.errors.push(NetError {
                rule: rule.id.clone(),
                src: rule.src,
                message: format!(
                    "deny of `{shown}` cannot be held by a kernel that sees only addresses: the \
                     names under it are unknown until asked, and the only sound hold (denying \
                     every address on the rule's ports) would deny far more than the policy; \
                     deny the names' addresses or exact names instead"
                ),
            });
        } else {
            out.losses.push(NetLoss {
                rule: rule.id.clone(),
                src: rule.src,
                message: format!(
                    "`{shown}` cannot be held by address (the names under it are unknown until \
                     asked): not granted (narrower)"
                ),
            });
        }
        return;
    }
    let Some(names) = names else {
        out.losses.push(NetLoss {
            rule: rule.id.clone(),
            src: rule.src,
            message: format!(
                "`{shown}` is resolved when the run starts and held by its addresses until the \
                 run ends (restart to re-resolve); every name on those addresses is {} too",
                if deny { "denied" } else { "allowed" }
            ),
        });
        return;
    };
    match names.get(&d.name) {
        Some(addrs) => {
            kept.extend(addrs.iter().map(|a| Host::Cidr(canonical_net(a))));
            out.losses.push(NetLoss {
                rule: rule.id.clone(),
                src: rule.src,
                message: format!(
                    "`{shown}` was resolved at start to {} and is held by {} until the run ends \
                     (restart to re-resolve); every name on {} is {} too",
                    if addrs.is_empty() {
                        "no address".to_owned()
                    } else {
                        addrs
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    if addrs.len() == 1 { "it" } else { "them" },
                    if addrs.len() == 1 { "it" } else { "them" },
                    if deny { "denied" } else { "allowed" }
                ),
            });
        }
        None if deny => out.errors.push(NetError {
            rule: rule.id.clone(),
            src: rule.src,
            message: format!(
                "deny of `{shown}`: the name could not be resolved at start, so its addresses \
                 are unknown and the deny cannot be held"
            ),
        }),
        None => out.losses.push(NetLoss {
            rule: rule.id.clone(),
            src: rule.src,
            message: format!("`{shown}` could not be resolved at start: not granted (narrower)"),
        }),
    }
}

/// The loopback networks when `name` is `localhost` or under it (RFC 6761),
/// else None. Mirrors `agentpol_firewall::lower::reserved_name`, which this
/// crate cannot use (it depends on `agentpol-core` only).
fn loopback_name(name: &str) -> Option<[ipnet::IpNet; 2]> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n != "localhost" && !n.ends_with(".localhost") {
        return None;
    }
    let v4 = ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(127, 0, 0, 0), 8).ok()?;
    Some([
        ipnet::IpNet::V4(v4),
        ipnet::IpNet::V6(ipnet::Ipv6Net::from(std::net::Ipv6Addr::LOCALHOST)),
    ])
}

/// DNS rules for an agent's `resolvers` (semantics.md §5), as the firewall
/// targets write them: allow port 53 (TCP and UDP) to the resolvers, deny
/// port 53 to every other address. Denies in the agent's rules still win.
pub fn resolver_rules(owner: &str, resolvers: &[IpAddr], src: SourceRef) -> Vec<Rule> {
    let res: BTreeSet<IpAddr> = resolvers
        .iter()
        .map(|a| agentpol_core::eval::matching::canonical_addr(*a))
        .collect();
    let v4: Vec<u128> = res
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(u128::from(u32::from(*a))),
            IpAddr::V6(_) => None,
        })
        .collect();
    let v6: Vec<u128> = res
        .iter()
        .filter_map(|a| match a {
            IpAddr::V6(a) => Some(u128::from(*a)),
            IpAddr::V4(_) => None,
        })
        .collect();
    let mut others: Vec<Host> = Vec::new();
    for (addr, len) in complement(&v4, 32) {
        let n = Ipv4Net::new((addr as u32).into(), len).expect("prefix length <= 32");
        others.push(Host::Cidr(IpNet::V4(n)));
    }
    for (addr, len) in complement(&v6, 128) {
        let n = Ipv6Net::new(addr.into(), len).expect("prefix length <= 128");
        others.push(Host::Cidr(IpNet::V6(n)));
    }
    let dns = Some(vec![PortRange { lo: 53, hi: 53 }]);
    let mut out = Vec::new();
    for (effect, name, hosts) in [
        (
            Effect::Allow,
            "dns-resolvers",
            res.iter().map(|a| Host::Cidr(IpNet::from(*a))).collect(),
        ),
        (Effect::Deny, "dns-guard", others),
    ] {
        for (n, action) in [Action::Connect, Action::Sendto].into_iter().enumerate() {
            out.push(Rule {
                id: RuleId(format!("{owner}/net/{name}.{}", n + 1)),
                effect,
                action,
                matcher: Matcher::Net {
                    proto: Proto::Any,
                    hosts: Some(hosts.clone()),
                    ports: dns.clone(),
                },
                src,
                origin: Origin::default(),
            });
        }
    }
    out
}

/// CIDRs (address, length) covering every `width`-bit address except `holes`.
fn complement(holes: &[u128], width: u8) -> Vec<(u128, u8)> {
    fn go(prefix: u128, len: u8, width: u8, holes: &[u128], out: &mut Vec<(u128, u8)>) {
        let inside: Vec<u128> = holes
            .iter()
            .copied()
            .filter(|h| same_prefix(*h, prefix, len, width))
            .collect();
        if inside.is_empty() {
            out.push((prefix, len));
        } else if len < width {
            let bit = 1u128 << (width - len - 1);
            go(prefix, len + 1, width, &inside, out);
            go(prefix | bit, len + 1, width, &inside, out);
        }
    }
    let mut out = Vec::new();
    go(0, 0, width, holes, &mut out);
    out
}

fn same_prefix(a: u128, b: u128, len: u8, width: u8) -> bool {
    len == 0 || (a >> (width - len)) == (b >> (width - len))
}

/// What a rule index in a table or an event stands for.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RuleRef {
    /// Its id.
    pub id: RuleId,
    /// 0 = the agent's layer, 1 = the skill's.
    pub layer: u8,
    /// Its effect.
    pub effect: Effect,
    /// Where it was written.
    pub src: SourceRef,
}

/// One LPM-trie entry: (layer, op, CIDR) → port table index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<N> {
    /// 0 = agent, 1 = skill.
    pub layer: u8,
    /// The operation.
    pub op: Op,
    /// The CIDR.
    pub net: N,
    /// Index into [`Maps::tables`].
    pub table: u32,
}

/// A port-table segment: ports from `lo` up to the next segment's `lo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seg {
    /// First port of the segment.
    pub lo: u16,
    /// [`SEG_ALLOW`] | rule index ([`RULE_NONE`] = no rule, deny).
    pub info: u32,
}

/// Everything the loader writes into the maps.
#[derive(Clone, Debug, Default)]
pub struct Maps {
    /// Rule index → rule.
    pub rules: Vec<RuleRef>,
    /// IPv4 trie (IPv4-mapped IPv6 rules and requests land here).
    pub v4: Vec<Entry<Ipv4Net>>,
    /// IPv6 trie.
    pub v6: Vec<Entry<Ipv6Net>>,
    /// Distinct port tables; segment 0 always starts at port 0.
    pub tables: Vec<Vec<Seg>>,
    /// 1 (agent) or 2 (agent and skill).
    pub layers: u32,
}

/// A compilation failure (reported by `run` as a coded diagnostic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TooManyPorts {
    /// The CIDR whose table overflowed.
    pub net: String,
    /// How many segments it needed.
    pub segments: usize,
}

impl std::fmt::Display for TooManyPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the rules covering {} split the ports into {} ranges; the kernel table holds {}",
            self.net, self.segments, MAX_SEGS
        )
    }
}

/// A prefix of a `width`-bit address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Pfx {
    addr: u128,
    len: u8,
}

/// One rule's contribution: where, which ports, what.
struct Atom {
    pfx: Pfx,
    ports: Vec<(u32, u32)>,
    allow: bool,
    rule: u32,
}

/// Compiles lowered layers (agent first, then the skill) into map contents.
pub fn compile(layers: &[&[Rule]]) -> Result<Maps, TooManyPorts> {
    let mut maps = Maps {
        layers: layers.len() as u32,
        ..Maps::default()
    };
    let mut dedup: HashMap<Vec<Seg>, u32> = HashMap::new();
    for (layer, rules) in layers.iter().enumerate() {
        let base = maps.rules.len() as u32;
        maps.rules.extend(rules.iter().map(|r| RuleRef {
            id: r.id.clone(),
            layer: layer as u8,
            effect: r.effect,
            src: r.src,
        }));
        for op in Op::ALL {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for (i, r) in rules.iter().enumerate() {
                atoms_of(r, op, base + i as u32, &mut v4, &mut v6);
            }
            for (pfx, table) in prefix_tables(v4, 32)? {
                let table = intern(&mut maps.tables, &mut dedup, table);
                let net = Ipv4Net::new((pfx.addr as u32).into(), pfx.len).expect("len <= 32");
                maps.v4.push(Entry {
                    layer: layer as u8,
                    op,
                    net,
                    table,
                });
            }
            for (pfx, table) in prefix_tables(v6, 128)? {
                let table = intern(&mut maps.tables, &mut dedup, table);
                let net = Ipv6Net::new(pfx.addr.into(), pfx.len).expect("len <= 128");
                maps.v6.push(Entry {
                    layer: layer as u8,
                    op,
                    net,
                    table,
                });
            }
        }
    }
    Ok(maps)
}

fn intern(tables: &mut Vec<Vec<Seg>>, dedup: &mut HashMap<Vec<Seg>, u32>, t: Vec<Seg>) -> u32 {
    *dedup.entry(t.clone()).or_insert_with(|| {
        tables.push(t);
        (tables.len() - 1) as u32
    })
}

fn atoms_of(r: &Rule, op: Op, idx: u32, v4: &mut Vec<Atom>, v6: &mut Vec<Atom>) {
    let Matcher::Net {
        proto,
        hosts,
        ports,
    } = &r.matcher
    else {
        return;
    };
    if r.action != op.action() || !proto_matches(*proto, op.proto()) {
        return;
    }
    let ports: Vec<(u32, u32)> = match ports {
        None => vec![(0, 65535)],
        // Port 0 is matched only by rules without a port restriction, and
        // every range starts at 1 or more (AP0303).
        Some(ps) => ps
            .iter()
            .filter(|p| p.lo <= p.hi)
            .map(|p| (u32::from(p.lo.max(1)), u32::from(p.hi)))
            .collect(),
    };
    // Anything but allow is held as deny (`ask` included, see `lower`).
    let allow = r.effect == Effect::Allow;
    let mut push = |net: IpNet| match canonical_net(&net) {
        IpNet::V4(n) => v4.push(Atom {
            pfx: Pfx {
                addr: u128::from(u32::from(n.network())),
                len: n.prefix_len(),
            },
            ports: ports.clone(),
            allow,
            rule: idx,
        }),
        IpNet::V6(n) => v6.push(Atom {
            pfx: Pfx {
                addr: u128::from(n.network()),
                len: n.prefix_len(),
            },
            ports: ports.clone(),
            allow,
            rule: idx,
        }),
    };
    match hosts {
        None => {
            push(IpNet::V4(Ipv4Net::default()));
            push(IpNet::V6(Ipv6Net::default()));
        }
        Some(hs) => {
            for h in hs {
                // A domain left in the rules matches nothing here, as in the
                // evaluator for a request that names no domain.
                if let Host::Cidr(n) = h {
                    push(*n);
                }
            }
        }
    }
}

/// The port table of every distinct prefix, walking the prefixes in
/// (address, length) order with a stack of the ancestors' tables.
fn prefix_tables(atoms: Vec<Atom>, width: u8) -> Result<Vec<(Pfx, Vec<Seg>)>, TooManyPorts> {
    let mut by_pfx: BTreeMap<Pfx, Vec<Atom>> = BTreeMap::new();
    for a in atoms {
        by_pfx.entry(a.pfx).or_default().push(a);
    }
    let mut out = Vec::new();
    let mut stack: Vec<(Pfx, Vec<(u32, u32)>)> = Vec::new();
    for (pfx, here) in by_pfx {
        while stack.last().is_some_and(|(top, _)| {
            !(top.len <= pfx.len && same_prefix(top.addr, pfx.addr, top.len, width))
        }) {
            stack.pop();
        }
        let mut segs = stack
            .last()
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| vec![(0, RULE_NONE)]);
        for a in &here {
            for &(lo, hi) in &a.ports {
                apply(&mut segs, lo, hi, a.allow, a.rule);
            }
        }
        coalesce(&mut segs);
        if segs.len() > MAX_SEGS {
            return Err(TooManyPorts {
                net: show_pfx(pfx, width),
                segments: segs.len(),
            });
        }
        out.push((
            pfx,
            segs.iter()
                .map(|&(lo, info)| Seg {
                    lo: lo as u16,
                    info,
                })
                .collect(),
        ));
        stack.push((pfx, segs));
    }
    Ok(out)
}

fn show_pfx(p: Pfx, width: u8) -> String {
    if width == 32 {
        format!("{}/{}", std::net::Ipv4Addr::from(p.addr as u32), p.len)
    } else {
        format!("{}/{}", std::net::Ipv6Addr::from(p.addr), p.len)
    }
}

/// Splits the partition at `at` (a segment starts there afterwards).
fn split(segs: &mut Vec<(u32, u32)>, at: u32) {
    if at > 65535 {
        return;
    }
    let i = segs.partition_point(|s| s.0 <= at);
    // segs[i - 1] starts at or before `at` (segment 0 starts at 0).
    if segs[i - 1].0 != at {
        let info = segs[i - 1].1;
        segs.insert(i, (at, info));
    }
}

/// Combines a rule into the segments of ports lo..=hi: deny > allow >
/// nothing; between rules of the same effect the lower index is reported.
fn apply(segs: &mut Vec<(u32, u32)>, lo: u32, hi: u32, allow: bool, rule: u32) {
    split(segs, lo);
    split(segs, hi + 1);
    let new = if allow { SEG_ALLOW | rule } else { rule };
    for s in segs.iter_mut().filter(|s| s.0 >= lo && s.0 <= hi) {
        let old = s.1;
        let old_none = old & RULE_NONE == RULE_NONE;
        let old_allow = old & SEG_ALLOW != 0;
        s.1 = if old_none {
            new
        } else if old_allow == allow {
            if (new & RULE_NONE) < (old & RULE_NONE) {
                new
            } else {
                old
            }
        } else if allow {
            old
        } else {
            new
        };
    }
}

fn coalesce(segs: &mut Vec<(u32, u32)>) {
    segs.dedup_by(|b, a| a.1 == b.1);
}

/// Combines the agent's verdict with the skill's (asked for only when it can
/// change the answer or the reported rule), as `decide` in net.bpf.c: the
/// agent allows → the skill decides; the agent denies by default → a skill's
/// explicit deny is the reported rule; the agent denies by a rule → that rule.
fn combine(agent: u32, skill: impl FnOnce() -> u32) -> u32 {
    let agent_none = agent & RULE_NONE == RULE_NONE;
    if agent & SEG_ALLOW == 0 && !agent_none {
        return agent;
    }
    let s = skill();
    if agent & SEG_ALLOW != 0 || (s & SEG_ALLOW == 0 && s & RULE_NONE != RULE_NONE) {
        s
    } else {
        agent
    }
}

impl Maps {
    /// The decision the BPF programs compute, computed the same way (longest
    /// prefix of the layer's trie, then the port table): the verdict word of
    /// the deciding layer. Used by the tests and `--explain-plan`'s numbers.
    pub fn lookup(&self, op: Op, addr: IpAddr, port: u16) -> u32 {
        let addr = agentpol_core::eval::matching::canonical_addr(addr);
        let agent = self.layer_lookup(0, op, addr, port);
        if self.layers < 2 {
            return agent;
        }
        combine(agent, || self.layer_lookup(1, op, addr, port))
    }

    fn layer_lookup(&self, layer: u8, op: Op, addr: IpAddr, port: u16) -> u32 {
        let table = match addr {
            IpAddr::V4(a) => self
                .v4
                .iter()
                .filter(|e| e.layer == layer && e.op == op && e.net.contains(&a))
                .max_by_key(|e| e.net.prefix_len())
                .map(|e| e.table),
            IpAddr::V6(a) => self
                .v6
                .iter()
                .filter(|e| e.layer == layer && e.op == op && e.net.contains(&a))
                .max_by_key(|e| e.net.prefix_len())
                .map(|e| e.table),
        };
        let Some(t) = table.and_then(|t| self.tables.get(t as usize)) else {
            return RULE_NONE;
        };
        let i = t.partition_point(|s| s.lo <= port);
        t.get(i.wrapping_sub(1)).map_or(RULE_NONE, |s| s.info)
    }

    /// The LPM key bytes of an IPv4 entry (after the prefix length): layer,
    /// op, two zero bytes, the network address.
    pub fn key4(e: &Entry<Ipv4Net>) -> (u32, [u8; 8]) {
        let mut k = [0u8; 8];
        k[0] = e.layer;
        k[1] = e.op as u8;
        k[4..].copy_from_slice(&e.net.network().octets());
        (32 + u32::from(e.net.prefix_len()), k)
    }

    /// The LPM key bytes of an IPv6 entry.
    pub fn key6(e: &Entry<Ipv6Net>) -> (u32, [u8; 20]) {
        let mut k = [0u8; 20];
        k[0] = e.layer;
        k[1] = e.op as u8;
        k[4..].copy_from_slice(&e.net.network().octets());
        (32 + u32::from(e.net.prefix_len()), k)
    }

    /// A port table as the BPF `struct table`: n, pad, then (lo, info)
    /// pairs; unused slots start at 0xffffffff (above every port), which the
    /// program's branch-free search relies on.
    pub fn table_words(t: &[Seg]) -> [u32; 2 + 2 * MAX_SEGS] {
        let mut w = [0u32; 2 + 2 * MAX_SEGS];
        w[0] = t.len() as u32;
        for i in 0..MAX_SEGS {
            let (lo, info) = t
                .get(i)
                .map_or((u32::MAX, RULE_NONE), |s| (u32::from(s.lo), s.info));
            w[2 + 2 * i] = lo;
            w[3 + 2 * i] = info;
        }
        w
    }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
