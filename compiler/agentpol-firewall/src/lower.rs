//! Lowering: the IR's net rules as the firewall can enforce them.
//!
//! [`lower`] turns a checked [`Policy`] into another `Policy` that holds only
//! what a firewall enforces, **exactly**, plus the loss report and
//! diagnostics that say how it differs from the source. The emitters
//! ([`crate::nft`], [`crate::iptables`]) translate the lowered policy without
//! further approximation, and translation validation checks the loaded
//! ruleset against the reference evaluator run on the lowered policy
//! (emission is exact) and checks the lowered policy against the source
//! (every difference is in the loss report and in the sound direction).
//!
//! What changes (each listed in the loss report unless it is "not this layer"):
//! * Rules of other kinds (fs, exec, tool, env) are dropped: not this layer.
//! * Skills' net rules and default deny are dropped ([`Approximation::EnforcedElsewhere`]): a
//!   skill's sockets are its agent's sockets here.
//! * Domains become the addresses they resolved to (given in
//!   [`Options::resolutions`]). A name without resolution (every name at
//!   `build` time) stays in the rule as a **load-time set**, at both targets:
//!   nft declares the rule's address sets without its addresses and
//!   `agentpolc apply` fills them in the same transaction (a deny's sets carry
//!   an undefined `$agentpol_fill_…` variable so that the file cannot be
//!   loaded unfilled); iptables matches the rule's ipset sets (`-m set`), which
//!   `apply` creates and fills (a deny's sets are not created by the built
//!   ipset file, so `iptables-restore` refuses the rules until they exist).
//!   `localhost` and `*.localhost` are the loopback addresses (RFC 6761).
//!   Other wildcards cannot be expressed: an allow loses the target (fail
//!   closed); a deny would be widened to every address, which is an error
//!   (AP0708).
//! * `sendto tcp` rules: TCP has no unconnected send (a `MSG_FASTOPEN` sendto
//!   is a connect, to the kernel and here). An allow grants nothing; a deny is
//!   applied to TCP connections (widened).
//! * UDP: a datagram cannot tell whether it came from `connect` + `send` or from
//!   `sendto`, so the firewall lets it through only when both `connect udp` and
//!   `sendto udp` allow it (see [`crate::validate`]); rules whose meaning shrinks or
//!   grows by that are reported.
//! * `resolvers`: when named, DNS (port 53, TCP and UDP) **to the resolvers is
//!   allowed** (synthetic allow rules `<agent>/net/dns-resolvers.N`, which the
//!   agent's denies still override) and refused to every other address
//!   (synthetic deny rules `<agent>/net/dns-guard.N`). Allows the guard
//!   narrows are reported.
//! * `listen` where incoming traffic cannot be attributed (uid scope, iptables):
//!   not enforced; deny rules are reported, and a warning (AP0706) says the
//!   default deny of `listen` does not hold here.
//! * IPv4-mapped IPv6 networks become IPv4 (warning AP0703); bad port ranges
//!   fail closed (error AP0702).

use crate::codes;
use crate::interval::{unmap_addr, unmap_v4, v4_range, v6_range, IntervalSet};
use crate::{Options, Resolution};
use agentpol_core::backend::{Approximation, LossEntry};
use agentpol_core::diag::Diag;
use agentpol_core::ir::{
    Action, Agent, Effect, Host, Matcher, Origin, Policy, PortRange, Proto, Rule, RuleId, Scope,
};
use agentpol_core::span::Span;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Which firewall the lowering is for: they differ in what they can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// nftables: `socket cgroupv2` also finds listeners on input.
    Nft,
    /// iptables: only locally generated packets can be attributed.
    Iptables,
}

impl Layer {
    /// The target name in loss entries.
    pub fn target(self) -> &'static str {
        match self {
            Layer::Nft => "nft",
            Layer::Iptables => "iptables",
        }
    }
}

/// What the lowering found out about one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentInfo {
    /// The agent's name.
    pub name: String,
    /// True when incoming traffic to the agent's sockets is filtered (`listen`).
    pub filter_incoming: bool,
    /// The resolvers DNS is restricted to (unmapped); empty = no restriction.
    pub resolvers: Vec<IpAddr>,
    /// Domains the agent's rules name, with how each was handled.
    pub domains: Vec<DomainNote>,
}

/// How one domain target was turned into addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainNote {
    /// The rule that names it.
    pub rule: RuleId,
    /// The name (without `*.` for wildcards).
    pub name: String,
    /// Written as `*.name`.
    pub wildcard: bool,
    /// The rule is a deny (its set must be filled before loading).
    pub deny: bool,
    /// The resolution used, if any.
    pub resolution: Option<Resolution>,
}

/// The firewall's exact model of a policy, and how it differs from the source.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The source policy with only enforceable net rules (agents' own rules;
    /// skills have none). Emitters translate this exactly.
    pub policy: Policy,
    /// Per agent, in the same order as `policy.agents`.
    pub agents: Vec<AgentInfo>,
    /// Approximations made.
    pub loss: Vec<LossEntry>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diag>,
}

/// The DNS port.
pub const DNS_PORT: u16 = 53;

/// The addresses of a name whose answer is fixed by RFC 6761: `localhost`
/// and every name under it are the loopback addresses (127.0.0.0/8 and ::1),
/// resolved by no DNS server. `None` for any other name. Applies to
/// `"localhost"` and `"*.localhost"` alike (`name` is given without `*.`).
pub fn reserved_name(name: &str) -> Option<Vec<IpNet>> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    (n == "localhost" || n.ends_with(".localhost")).then(|| {
        vec![
            IpNet::V4(Ipv4Net::new(std::net::Ipv4Addr::new(127, 0, 0, 0), 8).expect("prefix")),
            IpNet::V6(Ipv6Net::from(std::net::Ipv6Addr::LOCALHOST)),
        ]
    })
}

/// Lowers `policy` for `layer`.
pub fn lower(policy: &Policy, opts: &Options, layer: Layer) -> Lowered {
    let mut out = Lowered {
        policy: policy.clone(),
        agents: Vec::new(),
        loss: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut agents = Vec::new();
    for agent in &policy.agents {
        let mut cx = Cx {
            layer,
            opts,
            loss: &mut out.loss,
            diags: &mut out.diagnostics,
            domains: Vec::new(),
        };
        let (lowered, info) = cx.agent(agent);
        agents.push(lowered);
        out.agents.push(info);
    }
    out.policy.agents = agents;
    out
}

/// The wildcard names of one allow rule, gathered into one warning: a
/// warning per name buried the rest of the output (eleven of fifteen warnings
/// for one policy) and could not be acted on one by one. (Exact names are
/// load-time sets at both targets and need no warning; wildcard denies are
/// errors, AP0708.)
struct WildcardWarning {
    rule: RuleId,
    span: Span,
    names: Vec<String>,
}

impl WildcardWarning {
    fn diag(self, layer: Layer) -> Diag {
        let (msg, effect) = match self.names.as_slice() {
            [n] => (
                format!(
                    "wildcard domain {n} cannot be enforced by the {} target",
                    layer.target()
                ),
                "this allow grants nothing for it at this layer",
            ),
            ns => (
                format!(
                    "{} wildcard domains cannot be enforced by the {} target: {}",
                    ns.len(),
                    layer.target(),
                    ns.join(", ")
                ),
                "this allow grants nothing for them at this layer",
            ),
        };
        Diag::warning(&codes::WILDCARD_DOMAIN, self.span, msg)
            .label("in this rule")
            .help("list the exact names, or accept the loss report for this target")
            .note(format!("fail closed: {effect}"))
    }
}

struct Cx<'a> {
    layer: Layer,
    opts: &'a Options,
    loss: &'a mut Vec<LossEntry>,
    diags: &'a mut Vec<Diag>,
    /// The current rule's wildcard names, flushed after the rule.
    domains: Vec<WildcardWarning>,
}

impl Cx<'_> {
    fn lose(
        &mut self,
        rule: &Rule,
        approximation: Approximation,
        reason: String,
        by: Option<&str>,
    ) {
        self.loss.push(LossEntry {
            target: self.layer.target().into(),
            rule: rule.id.clone(),
            src: rule.src,
            approximation,
            reason,
            enforced_by: by.map(str::to_string),
        });
    }

    fn agent(&mut self, agent: &Agent) -> (Agent, AgentInfo) {
        let filter_incoming =
            self.layer == Layer::Nft && matches!(agent.scope, Scope::Cgroup { .. });
        let mut info = AgentInfo {
            name: agent.name.clone(),
            filter_incoming,
            resolvers: Vec::new(),
            domains: Vec::new(),
        };
        let mut rules = Vec::new();
        let mut has_listen_rule = false;
        for rule in &agent.rules {
            if matches!(rule.matcher, Matcher::Net { .. }) && rule.action == Action::Listen {
                has_listen_rule = true;
            }
            if let Some(r) = self.rule(rule, filter_incoming, &mut info) {
                rules.push(r);
            }
            let layer = self.layer;
            let warnings: Vec<Diag> = self.domains.drain(..).map(|w| w.diag(layer)).collect();
            self.diags.extend(warnings);
        }
        for skill in &agent.skills {
            // A skill with no net rule gets no network, but the firewall cannot
            // tell its sockets from the agent's: its default deny binds elsewhere.
            let default_deny = Rule {
                id: RuleId(format!("{}.{}/net/default-deny", agent.name, skill.name)),
                effect: Effect::Deny,
                action: Action::Connect,
                matcher: Matcher::Net {
                    proto: Proto::Any,
                    hosts: None,
                    ports: None,
                },
                src: skill.src,
                origin: Origin::default(),
            };
            self.lose(
                &default_deny,
                Approximation::EnforcedElsewhere,
                format!(
                    "skill {}.{}: requests by the skill are decided at the firewall by agent {}'s \
                     rules only; the skill's default deny of net (and any net rule it has) binds \
                     only where requests are attributed to skills",
                    agent.name, skill.name, agent.name
                ),
                Some("tool"),
            );
            for rule in skill
                .rules
                .iter()
                .filter(|r| matches!(r.matcher, Matcher::Net { .. }))
            {
                self.lose(
                    rule,
                    Approximation::EnforcedElsewhere,
                    format!(
                        "skill {}.{}: a skill's sockets are its agent's sockets at the firewall, \
                         so this rule is not applied here; the firewall enforces only agent {}'s \
                         own net rules",
                        agent.name, skill.name, agent.name
                    ),
                    Some("tool"),
                );
            }
        }
        if !filter_incoming && (has_listen_rule || self.layer == Layer::Iptables) {
            let why = match self.layer {
                Layer::Iptables => {
                    "the iptables target cannot attribute incoming packets to a listener"
                }
                Layer::Nft => {
                    "the agent is scoped by uid, and `meta skuid` only works on outgoing packets"
                }
            };
            self.diags.push(
                Diag::warning(
                    &codes::INCOMING_NOT_FILTERED,
                    agent.src.span,
                    format!("incoming traffic to agent {}'s sockets is not filtered by the {} target", agent.name, self.layer.target()),
                )
                .label("this agent")
                .help("scope the agent by cgroup and use `--target nft`, or rely on the kernel backend for `listen`")
                .note(format!("{why}; the default deny of `listen` does not hold at this layer")),
            );
        }
        self.udp_distinction(&rules);
        let resolvers: BTreeSet<IpAddr> = agent.resolvers.iter().map(|a| unmap_addr(*a)).collect();
        info.resolvers = resolvers.iter().copied().collect();
        if !resolvers.is_empty() {
            self.dns_guard(agent, &resolvers, &mut rules);
        }
        let mut lowered = agent.clone();
        lowered.rules = rules;
        for s in &mut lowered.skills {
            s.rules.clear();
        }
        (lowered, info)
    }

    /// One rule of the agent, as enforced here; `None` when it has no effect here.
    fn rule(&mut self, rule: &Rule, filter_incoming: bool, info: &mut AgentInfo) -> Option<Rule> {
        let Matcher::Net {
            proto,
            hosts,
            ports,
        } = &rule.matcher
        else {
            return None;
        };
        let allow = rule.effect != Effect::Deny;
        let mut action = rule.action;
        if action == Action::Listen && !filter_incoming {
            if !allow {
                self.lose(
                    rule,
                    Approximation::EnforcedElsewhere,
                    format!(
                        "incoming traffic is not filtered by the {} target for this agent (AP0706); \
                         this deny binds only where bind/listen is hooked",
                        self.layer.target()
                    ),
                    Some("kernel"),
                );
            }
            return None;
        }
        if action == Action::Sendto && *proto == Proto::Tcp {
            if allow {
                self.lose(
                    rule,
                    Approximation::AllowNarrowed,
                    "TCP has no unconnected send: a TCP sendto (MSG_FASTOPEN) is a connect, to the \
                     kernel and to the firewall, so TCP connections are decided by `connect` rules \
                     only and this allow grants nothing here"
                        .into(),
                    None,
                );
                return None;
            }
            self.lose(
                rule,
                Approximation::DenyWidened,
                "TCP has no unconnected send: a TCP sendto (MSG_FASTOPEN) is a connect, so this \
                 deny is applied to TCP connections to the same destinations"
                    .into(),
                None,
            );
            action = Action::Connect;
        }

        let ports = match ports {
            Some(list) if list.iter().any(|p| p.lo == 0 || p.lo > p.hi) => {
                let bad = list.iter().find(|p| p.lo == 0 || p.lo > p.hi).copied();
                let shown = bad
                    .map(|p| format!("{}..{}", p.lo, p.hi))
                    .unwrap_or_default();
                self.diags.push(
                    Diag::error(
                        &codes::BAD_PORT_RANGE,
                        rule.src.span,
                        format!("rule {} has the port range {shown}, which is empty or contains port 0", rule.id),
                    )
                    .label("in this rule")
                    .help("ports are 1..=65535 and a range needs lo <= hi; rebuild the IR with `agentpolc build`")
                    .note(if allow {
                        "fail closed: this allow is left out"
                    } else {
                        "fail closed: this deny is widened to every port"
                    }),
                );
                if allow {
                    return None;
                }
                None
            }
            other => other.clone(),
        };

        let hosts = match hosts {
            None => None,
            Some(list) => {
                let mut out: Vec<Host> = Vec::new();
                let mut widen = false;
                for h in list {
                    match h {
                        Host::Cidr(n) => match unmap_v4(n) {
                            Some(v4) => {
                                self.diags.push(
                                    Diag::warning(
                                        &codes::MAPPED_V4_IN_V6,
                                        rule.src.span,
                                        format!("{n} is an IPv4-mapped IPv6 network; the firewall matches it as {v4}"),
                                    )
                                    .label("in this rule")
                                    .help(format!("write {v4} instead")),
                                );
                                out.push(Host::Cidr(IpNet::V4(v4)));
                            }
                            None => out.push(Host::Cidr(*n)),
                        },
                        Host::Domain(d) => {
                            let shown = if d.wildcard {
                                format!("*.{}", d.name)
                            } else {
                                d.name.clone()
                            };
                            if let Some(nets) = reserved_name(&d.name) {
                                // RFC 6761: localhost names are the loopback addresses.
                                out.extend(nets.into_iter().map(Host::Cidr));
                                self.lose(
                                    rule,
                                    if allow {
                                        Approximation::EnforcedElsewhere
                                    } else {
                                        Approximation::DenyWidened
                                    },
                                    format!(
                                        "{shown} is a reserved loopback name (RFC 6761): the firewall \
                                         matches it as 127.0.0.0/8 and ::1, for every name and address there"
                                    ),
                                    allow.then_some("tool"),
                                );
                                continue;
                            }
                            let res = if d.wildcard {
                                None
                            } else {
                                self.opts.resolutions.get(&d.name)
                            };
                            info.domains.push(DomainNote {
                                rule: rule.id.clone(),
                                name: d.name.clone(),
                                wildcard: d.wildcard,
                                deny: !allow,
                                resolution: res.cloned(),
                            });
                            match (res, allow) {
                                (Some(res), _) => {
                                    for a in &res.addrs {
                                        out.push(Host::Cidr(IpNet::from(unmap_addr(*a))));
                                    }
                                    let addrs = if res.addrs.is_empty() {
                                        "no address".to_string()
                                    } else {
                                        res.addrs
                                            .iter()
                                            .map(|a| unmap_addr(*a).to_string())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    };
                                    let (approx, by, what) = if allow {
                                        (
                                            Approximation::EnforcedElsewhere,
                                            Some("tool"),
                                            "allows these addresses for any name that shares them; the name itself binds only where names are seen",
                                        )
                                    } else {
                                        (
                                            Approximation::DenyWidened,
                                            None,
                                            "denies these addresses for every name and for connections by address",
                                        )
                                    };
                                    self.lose(
                                        rule,
                                        approx,
                                        format!(
                                            "domain {shown} resolved when applied to {addrs} (resolver {}, TTL {}s); \
                                             the firewall {what}; DNS changes need a re-apply",
                                            res.resolver, res.ttl_secs
                                        ),
                                        by,
                                    );
                                }
                                (None, _) if !d.wildcard => {
                                    // A load-time set: the domain stays in the
                                    // rule; the emitters declare the rule's
                                    // address sets without its addresses (nft
                                    // sets, ipset sets), and `apply` fills
                                    // them when it loads.
                                    out.push(h.clone());
                                    let (approx, by, what) = if allow {
                                        (
                                            Approximation::EnforcedElsewhere,
                                            Some("tool"),
                                            "allows the addresses it resolves to when applied, for any name that shares them; \
                                             until then (a file loaded without `apply`) this allow grants nothing for it",
                                        )
                                    } else {
                                        (
                                            Approximation::DenyWidened,
                                            None,
                                            "denies the addresses it resolves to when applied, for every name; \
                                             the built ruleset cannot be loaded until they are filled in",
                                        )
                                    };
                                    self.lose(
                                        rule,
                                        approx,
                                        format!(
                                            "domain {shown} is a load-time set: the firewall {what}; DNS changes need a re-apply"
                                        ),
                                        by,
                                    );
                                }
                                // Only wildcards are left: exact names are load-time sets above.
                                (None, true) => {
                                    self.wildcard_warning(rule, &shown);
                                    self.lose(
                                        rule,
                                        Approximation::AllowNarrowed,
                                        format!("wildcard domain {shown} cannot be expressed at L3: this allow grants nothing for it here (fail closed)"),
                                        None,
                                    );
                                }
                                (None, false) => {
                                    self.deny_widened_error(rule, &shown);
                                    widen = true;
                                }
                            }
                        }
                    }
                }
                if widen {
                    None
                } else {
                    // Duplicates are harmless for the evaluator but make the IR noisy.
                    let mut seen = BTreeSet::new();
                    out.retain(|h| seen.insert(h.clone()));
                    if out.is_empty() {
                        // Only unresolvable names: an allow that matches nothing.
                        return None;
                    }
                    Some(out)
                }
            }
        };
        let mut r = rule.clone();
        r.action = action;
        r.matcher = Matcher::Net {
            proto: *proto,
            hosts,
            ports,
        };
        Some(r)
    }

    /// A deny whose target this layer cannot express (a wildcard domain)
    /// would be widened to every address: that is no longer the source's
    /// meaning, so it is an error.
    fn deny_widened_error(&mut self, rule: &Rule, shown: &str) {
        let why = format!("the wildcard domain {shown} has no address set a firewall can know");
        self.diags.push(
            Diag::error(
                &codes::DENY_WIDENED_TO_ALL,
                rule.src.span,
                format!(
                    "rule {} would deny every address at the {} target: {why}",
                    rule.id,
                    self.layer.target()
                ),
            )
            .label("in this rule")
            .help("list the exact names (each becomes a set filled when the ruleset is applied), or leave the name to the tool gate and deny its addresses")
            .note("fail closed would widen this deny to every address within its protocol and ports, which is not what the policy says"),
        );
        self.lose(
            rule,
            Approximation::DenyWidened,
            format!("{why}: this deny would be widened to every address (error AP0708)"),
            None,
        );
    }

    fn wildcard_warning(&mut self, rule: &Rule, shown: &str) {
        let name = shown.to_owned();
        match self.domains.iter_mut().find(|w| w.rule == rule.id) {
            Some(w) => w.names.push(name),
            None => self.domains.push(WildcardWarning {
                rule: rule.id.clone(),
                span: rule.src.span,
                names: vec![name],
            }),
        }
    }

    /// Reports rules whose meaning changes because a UDP datagram is decided as
    /// both a `connect` and a `sendto`.
    fn udp_distinction(&mut self, rules: &[Rule]) {
        let udp = |r: &Rule| match &r.matcher {
            Matcher::Net {
                proto,
                hosts,
                ports,
            } if *proto != Proto::Tcp => Some(DestBox::of(hosts.as_deref(), ports.as_deref())),
            _ => None,
        };
        let allows = |action: Action| -> Vec<DestBox> {
            rules
                .iter()
                .filter(|r| r.effect != Effect::Deny && r.action == action)
                .filter_map(udp)
                .collect()
        };
        let (ac, as_) = (allows(Action::Connect), allows(Action::Sendto));
        for r in rules {
            let Some(b) = udp(r) else { continue };
            let (this, other, others) = match r.action {
                Action::Connect => ("connect", "sendto", &as_),
                Action::Sendto => ("sendto", "connect", &ac),
                _ => continue,
            };
            if b.is_empty() {
                continue;
            }
            if r.effect != Effect::Deny {
                if !others.iter().any(|o| b.is_subset(o)) {
                    self.lose(
                        r,
                        Approximation::AllowNarrowed,
                        format!(
                            "a UDP datagram cannot show whether it was sent after `connect` or by \
                             `sendto`, so the firewall lets it through only when both `connect udp` \
                             and `sendto udp` allow it; part of this `{this}` allow has no matching \
                             `{other} udp` allow and is refused here (write `allow connect, sendto udp ...`)"
                        ),
                        None,
                    );
                }
            } else if others.iter().any(|o| b.intersects(o)) {
                self.lose(
                    r,
                    Approximation::DenyWidened,
                    format!(
                        "a UDP datagram cannot show whether it was sent after `connect` or by \
                         `sendto`, so this `{this}` deny also refuses `{other} udp` datagrams to \
                         these destinations"
                    ),
                    None,
                );
            }
        }
    }

    /// Adds the allow rules for DNS to the named resolvers and the deny rules
    /// that keep DNS to them, and reports the allows the denies narrow.
    fn dns_guard(&mut self, agent: &Agent, resolvers: &BTreeSet<IpAddr>, rules: &mut Vec<Rule>) {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for a in resolvers {
            match a {
                IpAddr::V4(a) => v4.push(v4_range(&Ipv4Net::from(*a))),
                IpAddr::V6(a) => v6.push(v6_range(&Ipv6Net::from(*a))),
            }
        }
        let not4 = IntervalSet::from_ranges(32, v4).complement();
        let not6 = IntervalSet::from_ranges(128, v6).complement();
        let others: Vec<Host> = crate::interval::to_nets(&not4, &not6)
            .into_iter()
            .map(Host::Cidr)
            .collect();
        let shown = resolvers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let guard_box = DestBox {
            v4: not4,
            v6: not6,
            ports: IntervalSet::from_ranges(16, [(u128::from(DNS_PORT), u128::from(DNS_PORT))]),
        };
        let reported: Vec<Rule> = rules
            .iter()
            .filter(|r| {
                r.effect != Effect::Deny && matches!(r.action, Action::Connect | Action::Sendto)
            })
            .filter(|r| match &r.matcher {
                Matcher::Net { hosts, ports, .. } => {
                    DestBox::of(hosts.as_deref(), ports.as_deref()).intersects(&guard_box)
                }
                _ => false,
            })
            .cloned()
            .collect();
        for r in &reported {
            self.lose(
                r,
                Approximation::AllowNarrowed,
                format!(
                    "agent {} names resolvers ({shown}): DNS (port 53, TCP and UDP) to any other \
                     address is refused, which narrows this allow",
                    agent.name
                ),
                None,
            );
        }
        // Naming resolvers allows DNS to them (TCP and UDP, port 53): the
        // agent must be able to use the resolvers it names. Denies still win.
        let resolver_hosts: Vec<Host> = resolvers
            .iter()
            .map(|a| Host::Cidr(IpNet::from(*a)))
            .collect();
        // DNS (TCP and UDP, port 53) to `hosts`: one rule for connect, one for sendto.
        let dns = |name: &str, effect: Effect, hosts: &[Host]| {
            [Action::Connect, Action::Sendto]
                .into_iter()
                .enumerate()
                .map(move |(n, action)| Rule {
                    id: RuleId(format!("{}/net/{name}.{}", agent.name, n + 1)),
                    effect,
                    action,
                    matcher: Matcher::Net {
                        proto: Proto::Any,
                        hosts: Some(hosts.to_vec()),
                        ports: Some(vec![PortRange {
                            lo: DNS_PORT,
                            hi: DNS_PORT,
                        }]),
                    },
                    src: agent.src,
                    origin: Origin::default(),
                })
                .collect::<Vec<Rule>>()
        };
        rules.extend(dns("dns-resolvers", Effect::Allow, &resolver_hosts));
        rules.extend(dns("dns-guard", Effect::Deny, &others));
    }
}

/// The destinations a net matcher covers: (v4 ∪ v6) × ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestBox {
    /// IPv4 addresses.
    pub v4: IntervalSet,
    /// IPv6 addresses.
    pub v6: IntervalSet,
    /// Ports (0 included when unrestricted).
    pub ports: IntervalSet,
}

impl DestBox {
    /// The box of a matcher's hosts (CIDRs only; domains are ignored) and ports.
    pub fn of(hosts: Option<&[Host]>, ports: Option<&[PortRange]>) -> DestBox {
        let (v4, v6) = match hosts {
            None => (IntervalSet::full(32), IntervalSet::full(128)),
            Some(list) => {
                let mut v4 = Vec::new();
                let mut v6 = Vec::new();
                for h in list {
                    if let Host::Cidr(n) = h {
                        match unmap_v4(n).map(IpNet::V4).unwrap_or(*n) {
                            IpNet::V4(n) => v4.push(v4_range(&n)),
                            IpNet::V6(n) => v6.push(v6_range(&n)),
                        }
                    }
                }
                (
                    IntervalSet::from_ranges(32, v4),
                    IntervalSet::from_ranges(128, v6),
                )
            }
        };
        let ports = match ports {
            None => IntervalSet::full(16),
            Some(list) => IntervalSet::from_ranges(
                16,
                list.iter().map(|p| (u128::from(p.lo), u128::from(p.hi))),
            ),
        };
        DestBox { v4, v6, ports }
    }

    /// True if no destination is covered.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() || (self.v4.is_empty() && self.v6.is_empty())
    }

    /// A sufficient test for `self ⊆ other`.
    pub fn is_subset(&self, other: &DestBox) -> bool {
        self.is_empty()
            || (self.v4.is_subset(&other.v4)
                && self.v6.is_subset(&other.v6)
                && self.ports.is_subset(&other.ports))
    }

    /// True if some destination is in both.
    pub fn intersects(&self, other: &DestBox) -> bool {
        let ports = !self.ports.intersect(&other.ports).is_empty();
        ports
            && (!self.v4.intersect(&other.v4).is_empty()
                || !self.v6.intersect(&other.v6).is_empty())
    }
}
