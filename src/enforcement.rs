//! "What is enforced where": per agent, each kind of rule and the built
//! targets that enforce it, exactly or approximately, computed from the
//! targets actually built and their loss reports.
//!
//! Which target can enforce which kind is fixed by what the target is: the
//! Cedar policy is the decision engine of the tool gate (tool calls), the
//! firewalls see sockets (net). Nothing that `build` emits enforces `fs`,
//! `exec` or `env` rules, and the table says "none" for them rather than
//! implying otherwise; each row also names the command that enforces the
//! kind at run time (`runtime`), so "none" is never read as "nowhere".

use agentpol_core::backend::{Approximation, TargetOutput};
use agentpol_core::ir::{Kind, Policy, Rule};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The kinds a target enforces (empty for the IR, which enforces nothing itself).
pub fn kinds_enforced_by(target: &str) -> &'static [Kind] {
    match target {
        "cedar" => &[Kind::Tool],
        "nft" | "iptables" => &[Kind::Net],
        _ => &[],
    }
}

/// One agent's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentEnforcement {
    /// The agent.
    pub agent: String,
    /// One row per kind of rule the agent (or one of its skills) has.
    pub kinds: Vec<KindEnforcement>,
}

/// One row: a kind of rule and who enforces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindEnforcement {
    /// `fs`, `exec`, `net`, `tool` or `env`.
    pub kind: String,
    /// Rules of this kind (the agent's and its skills').
    pub rules: usize,
    /// `exact` (some target enforces every rule exactly), `approximated`
    /// (enforced, with loss entries), or `none` (no built target enforces it).
    pub status: String,
    /// The built targets that enforce this kind.
    pub targets: Vec<TargetEnforcement>,
    /// What enforces this kind when the policy is used at run time (see
    /// [`runtime_enforcer`]); not a built file.
    #[serde(default)]
    pub runtime: String,
}

/// The command that enforces a kind of rule at run time, and how.
pub fn runtime_enforcer(kind: Kind) -> &'static str {
    match kind {
        Kind::Fs | Kind::Exec => {
            "`agentpolc run`: Landlock, approximations listed by `run --explain-plan`"
        }
        Kind::Env => "`agentpolc run`: environment scrubbed at start",
        Kind::Net => {
            "`agentpolc run`: cgroup sock_addr BPF per address (domains resolved at start), \
             and `agentpolc apply` (the nft or iptables target, domain sets filled at load)"
        }
        Kind::Tool => "`agentpolc gate` (MCP tool calls) and `agentpolc authorize`",
    }
}

/// One target enforcing one kind for one agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetEnforcement {
    /// Target name.
    pub target: String,
    /// `exact` or `approximated`.
    pub status: String,
    /// Rules of this kind with a loss entry in this target.
    pub approximated_rules: usize,
    /// Of those, rules the target leaves (partly) to another layer
    /// (`enforced_elsewhere`, e.g. a skill's sockets at the firewall).
    pub enforced_elsewhere: usize,
}

const KINDS: [(Kind, &str); 5] = [
    (Kind::Fs, "fs"),
    (Kind::Exec, "exec"),
    (Kind::Net, "net"),
    (Kind::Tool, "tool"),
    (Kind::Env, "env"),
];

/// The table for every agent, given the outputs of the targets built.
pub fn table(policy: &Policy, outputs: &[TargetOutput]) -> Vec<AgentEnforcement> {
    policy
        .agents
        .iter()
        .map(|agent| {
            let rules: Vec<&Rule> = agent
                .rules
                .iter()
                .chain(agent.skills.iter().flat_map(|s| s.rules.iter()))
                .collect();
            let kinds = KINDS
                .iter()
                .filter_map(|(kind, name)| {
                    let of_kind: Vec<&Rule> = rules
                        .iter()
                        .copied()
                        .filter(|r| r.kind() == *kind)
                        .collect();
                    if of_kind.is_empty() {
                        return None;
                    }
                    let ids: HashSet<&str> = of_kind.iter().map(|r| r.id.0.as_str()).collect();
                    let targets: Vec<TargetEnforcement> = outputs
                        .iter()
                        .filter(|o| kinds_enforced_by(&o.target).contains(kind))
                        .map(|o| target_row(o, &ids))
                        .collect();
                    let status = if targets.is_empty() {
                        "none"
                    } else if targets.iter().any(|t| t.status == "exact") {
                        "exact"
                    } else {
                        "approximated"
                    };
                    Some(KindEnforcement {
                        kind: name.to_string(),
                        rules: of_kind.len(),
                        status: status.into(),
                        targets,
                        runtime: runtime_enforcer(*kind).into(),
                    })
                })
                .collect();
            AgentEnforcement {
                agent: agent.name.clone(),
                kinds,
            }
        })
        .collect()
}

fn target_row(out: &TargetOutput, ids: &HashSet<&str>) -> TargetEnforcement {
    let mut approximated = HashSet::new();
    let mut elsewhere = HashSet::new();
    for l in out.loss.iter().filter(|l| ids.contains(l.rule.0.as_str())) {
        approximated.insert(l.rule.0.as_str());
        if l.approximation == Approximation::EnforcedElsewhere {
            elsewhere.insert(l.rule.0.as_str());
        }
    }
    TargetEnforcement {
        target: out.target.clone(),
        status: if approximated.is_empty() {
            "exact"
        } else {
            "approximated"
        }
        .into(),
        approximated_rules: approximated.len(),
        enforced_elsewhere: elsewhere.len(),
    }
}

/// One line per kind for the human build summary, e.g.
/// `net 12 rule(s): nft approximated (3 of 12)`.
pub fn summary_line(row: &KindEnforcement) -> String {
    if row.targets.is_empty() {
        return format!(
            "{} {} rule(s): none among the built targets; at run time {}",
            row.kind, row.rules, row.runtime
        );
    }
    let parts: Vec<String> = row
        .targets
        .iter()
        .map(|t| {
            if t.status == "exact" {
                format!("{} exact", t.target)
            } else {
                format!(
                    "{} approximated ({} of {})",
                    t.target, t.approximated_rules, row.rules
                )
            }
        })
        .collect();
    format!("{} {} rule(s): {}", row.kind, row.rules, parts.join(", "))
}
