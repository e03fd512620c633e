//! The chain layout both emitters share, built from the lowered policy.
//!
//! Per agent: `out` dispatches on the transport protocol to `out_tcp` (the
//! `connect tcp` rules), `out_udp` (deny `connect`/`sendto udp`, then allow
//! `connect udp` → `out_udp_sendto`, which holds the `sendto udp` allows), and
//! `in` to `in_tcp`/`in_udp` (`listen`). In each chain all denies come before
//! all allows, which is the precedence deny > allow; an allow `return`s to the
//! base chain (so a socket in several agents' scopes must pass each), a deny or
//! the end of the chain refuses.

use crate::codes;
use crate::interval::{unmap_v4, v4_range, v6_range, IntervalSet};
use crate::lower::Lowered;
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Action, Effect, Host, Matcher, Proto, RuleId, Scope, SourceRef};
use ipnet::IpNet;
use std::collections::BTreeSet;

/// How an agent's sockets are recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeRef {
    /// A cgroup path relative to the cgroup2 root, and its depth.
    Cgroup {
        /// The path, e.g. `agentpol/openclaw`.
        path: String,
        /// Number of components (the nft `level`).
        depth: usize,
    },
    /// A uid.
    Uid(u32),
}

/// One rule's destinations as interval sets; `None` = unrestricted.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSets {
    /// The IR rule.
    pub id: RuleId,
    /// Where it was written.
    pub src: SourceRef,
    /// IPv4 destinations (`None`: any address of either family).
    pub v4: Option<IntervalSet>,
    /// IPv6 destinations.
    pub v6: Option<IntervalSet>,
    /// Ports (`None`: any port).
    pub ports: Option<IntervalSet>,
    /// Exact domains whose addresses are added to `v4`/`v6` when the ruleset
    /// is loaded (load-time sets; see [`crate::lower`]).
    pub domains: Vec<String>,
}

impl RuleSets {
    /// True if the rule matches no address at all (even once its load-time
    /// sets are filled).
    pub fn matches_nothing(&self) -> bool {
        if !self.domains.is_empty() {
            return self.ports.as_ref().is_some_and(IntervalSet::is_empty);
        }
        let no4 = self.v4.as_ref().is_some_and(IntervalSet::is_empty);
        let no6 = self.v6.as_ref().is_some_and(IntervalSet::is_empty);
        (no4 && no6) || self.ports.as_ref().is_some_and(IntervalSet::is_empty)
    }
}

/// The chains of one agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChainKind {
    /// Outgoing TCP: `connect tcp`.
    OutTcp,
    /// Outgoing UDP: denies of both actions, allows of `connect udp`.
    OutUdp,
    /// Outgoing UDP, second stage: allows of `sendto udp`.
    OutUdpSendto,
    /// Incoming TCP: `listen tcp`.
    InTcp,
    /// Incoming UDP: `listen udp`.
    InUdp,
}

impl ChainKind {
    /// Suffix of the chain name.
    pub fn suffix(self) -> &'static str {
        match self {
            ChainKind::OutTcp => "out_tcp",
            ChainKind::OutUdp => "out_udp",
            ChainKind::OutUdpSendto => "out_udp_sendto",
            ChainKind::InTcp => "in_tcp",
            ChainKind::InUdp => "in_udp",
        }
    }

    /// The transport protocol.
    pub fn is_tcp(self) -> bool {
        matches!(self, ChainKind::OutTcp | ChainKind::InTcp)
    }
}

/// What a matching entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryVerdict {
    /// Refuse.
    Deny,
    /// Allowed by this agent: return to the base chain.
    Allow,
    /// `connect udp` allowed: continue in the `sendto` stage.
    ToSendto,
}

/// One rule placed in a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Index into [`AgentPlan::rules`].
    pub rule: usize,
    /// What a match does.
    pub verdict: EntryVerdict,
}

/// Everything the emitters need for one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentPlan {
    /// The agent's name.
    pub name: String,
    /// A name usable in nft identifiers, unique in the policy.
    pub ident: String,
    /// Its scope.
    pub scope: ScopeRef,
    /// Whether `in_*` chains exist.
    pub filter_incoming: bool,
    /// Rules by index (only net rules of the lowered agent).
    pub rules: Vec<RuleSets>,
    /// Chains in a fixed order, each with its entries.
    pub chains: Vec<(ChainKind, Vec<Entry>)>,
    /// Where the agent was declared.
    pub src: SourceRef,
}

/// Builds the plan; errors (bad cgroup paths) come back as diagnostics.
pub fn plan(lowered: &Lowered) -> (Vec<AgentPlan>, Vec<Diag>) {
    let mut diags = Vec::new();
    let mut plans = Vec::new();
    let mut used = BTreeSet::new();
    for (i, (agent, info)) in lowered
        .policy
        .agents
        .iter()
        .zip(&lowered.agents)
        .enumerate()
    {
        let scope = match &agent.scope {
            Scope::Uid { uid } => ScopeRef::Uid(*uid),
            Scope::Cgroup { path } => match check_cgroup_path(path) {
                Ok(depth) => ScopeRef::Cgroup {
                    path: path.clone(),
                    depth,
                },
                Err(why) => {
                    diags.push(
                        Diag::error(
                            &codes::BAD_CGROUP_PATH,
                            agent.src.span,
                            format!("agent {}'s cgroup path {path:?} cannot be used in a firewall rule: {why}", agent.name),
                        )
                        .label("this agent")
                        .help("use a relative path of plain components, e.g. `scope cgroup \"agentpol/openclaw\"`"),
                    );
                    continue;
                }
            },
        };
        let mut ident: String = agent
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if ident.len() > 40
            || !ident.starts_with(|c: char| c.is_ascii_alphabetic())
            || used.contains(&ident)
        {
            ident = format!("a{i}_{}", ident.chars().take(36).collect::<String>());
        }
        used.insert(ident.clone());

        let mut rules = Vec::new();
        let mut chains: Vec<(ChainKind, Vec<Entry>)> = [
            ChainKind::OutTcp,
            ChainKind::OutUdp,
            ChainKind::OutUdpSendto,
            ChainKind::InTcp,
            ChainKind::InUdp,
        ]
        .into_iter()
        .filter(|k| info.filter_incoming || !matches!(k, ChainKind::InTcp | ChainKind::InUdp))
        .map(|k| (k, Vec::new()))
        .collect();
        // Denies first, then allows, each in source order.
        for pass_deny in [true, false] {
            for rule in &agent.rules {
                let Matcher::Net {
                    proto,
                    hosts,
                    ports,
                } = &rule.matcher
                else {
                    continue;
                };
                if (rule.effect == Effect::Deny) != pass_deny {
                    continue;
                }
                let idx = match rules.iter().position(|r: &RuleSets| r.id == rule.id) {
                    Some(i) => i,
                    None => {
                        rules.push(rule_sets(
                            rule.id.clone(),
                            rule.src,
                            hosts.as_deref(),
                            ports.as_deref(),
                        ));
                        rules.len() - 1
                    }
                };
                let tcp = *proto != Proto::Udp;
                let udp = *proto != Proto::Tcp;
                let mut place = |kind: ChainKind, verdict: EntryVerdict| {
                    if let Some((_, entries)) = chains.iter_mut().find(|(k, _)| *k == kind) {
                        entries.push(Entry { rule: idx, verdict });
                    }
                };
                let v = if pass_deny {
                    EntryVerdict::Deny
                } else {
                    EntryVerdict::Allow
                };
                match rule.action {
                    Action::Connect => {
                        if tcp {
                            place(ChainKind::OutTcp, v);
                        }
                        if udp {
                            place(
                                ChainKind::OutUdp,
                                if pass_deny { v } else { EntryVerdict::ToSendto },
                            );
                        }
                    }
                    // TCP sendto rules were removed or turned into connect by the lowering.
                    Action::Sendto if udp => {
                        place(
                            if pass_deny {
                                ChainKind::OutUdp
                            } else {
                                ChainKind::OutUdpSendto
                            },
                            v,
                        );
                    }
                    Action::Listen => {
                        if tcp {
                            place(ChainKind::InTcp, v);
                        }
                        if udp {
                            place(ChainKind::InUdp, v);
                        }
                    }
                    _ => {}
                }
            }
        }
        plans.push(AgentPlan {
            name: agent.name.clone(),
            ident,
            scope,
            filter_incoming: info.filter_incoming,
            rules,
            chains,
            src: agent.src,
        });
    }
    (plans, diags)
}

fn rule_sets(
    id: RuleId,
    src: SourceRef,
    hosts: Option<&[Host]>,
    ports: Option<&[agentpol_core::ir::PortRange]>,
) -> RuleSets {
    let mut domains = Vec::new();
    let (v4, v6) = match hosts {
        None => (None, None),
        Some(list) => {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for h in list {
                match h {
                    Host::Cidr(n) => match unmap_v4(n).map(IpNet::V4).unwrap_or(*n) {
                        IpNet::V4(n) => v4.push(v4_range(&n)),
                        IpNet::V6(n) => v6.push(v6_range(&n)),
                    },
                    // Left by the lowering as a load-time set (wildcards never are).
                    Host::Domain(d) if !d.wildcard => {
                        if !domains.contains(&d.name) {
                            domains.push(d.name.clone());
                        }
                    }
                    Host::Domain(_) => {}
                }
            }
            (
                Some(IntervalSet::from_ranges(32, v4)),
                Some(IntervalSet::from_ranges(128, v6)),
            )
        }
    };
    let ports = ports.map(|list| {
        IntervalSet::from_ranges(
            16,
            list.iter().map(|p| (u128::from(p.lo), u128::from(p.hi))),
        )
    });
    RuleSets {
        id,
        src,
        v4,
        v6,
        ports,
        domains,
    }
}

/// Checks a cgroup path for use inside a quoted rule; returns its depth.
pub fn check_cgroup_path(path: &str) -> Result<usize, String> {
    if path.is_empty() {
        return Err("it is empty (the root cgroup holds every process)".into());
    }
    if path.len() > 200 {
        return Err("it is longer than 200 bytes".into());
    }
    let mut depth = 0;
    for comp in path.split('/') {
        if comp.is_empty() {
            return Err("it has an empty component (a leading, trailing or double `/`)".into());
        }
        if comp == "." || comp == ".." {
            return Err(format!("it has a `{comp}` component"));
        }
        if let Some(c) = comp
            .chars()
            .find(|c| !c.is_ascii_graphic() || *c == '"' || *c == '\\')
        {
            return Err(format!(
                "it contains {c:?}; only printable ASCII other than `\"` and `\\` is allowed"
            ));
        }
        depth += 1;
    }
    Ok(depth)
}

/// Checks the cgroup2 root prefix (may be empty); same character rules.
pub fn check_cgroup_root(root: &str) -> Result<(), String> {
    if root.is_empty() {
        return Ok(());
    }
    check_cgroup_path(root).map(|_| ())
}

/// Checks a log prefix for a target's limit.
pub fn check_log_prefix(prefix: &str, max: usize) -> Result<(), String> {
    if prefix.len() > max {
        return Err(format!(
            "it is {} bytes long; this target allows at most {max}",
            prefix.len()
        ));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| !(c.is_ascii_graphic() || *c == ' ') || *c == '"' || *c == '\\')
    {
        return Err(format!("it contains {c:?}"));
    }
    Ok(())
}

/// A comment text safe inside double quotes, at most 120 bytes.
pub fn comment_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
            c
        } else {
            '_'
        };
        if out.len() + c.len_utf8() > 120 {
            break;
        }
        out.push(c);
    }
    out
}
