//! The enforcer plan of `agentpolc run`: for each rule kind of one agent (or
//! skill), which enforcer holds it on this kernel, whether exactly, and every
//! approximation with its rule and source span. `run` starts only when the
//! plan is exact or the user accepted its losses; a kind without an enforcer
//! is never accepted (no silent downgrade).

use crate::landlock_plan::{self, HostFs, LandlockPlan, Limits, Loss};
use agentpol_core::ir::{Agent, Effect, Kind, Matcher, Rule};
use std::collections::BTreeSet;

/// What the host offers, probed at start.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostCaps {
    /// Landlock ABI (0 = none).
    pub landlock_abi: u32,
    /// A network-namespace tool (`unshare`) to start the agent without any network.
    pub netns: bool,
}

/// How one rule kind is enforced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KindPlan {
    /// The rule kind.
    pub kind: Kind,
    /// The enforcer, or None when nothing on this host can hold it.
    pub enforcer: Option<String>,
    /// What to install to get one, when `enforcer` is None.
    pub missing: Option<String>,
    /// Approximations (empty = exact).
    pub losses: Vec<Loss>,
}

/// The whole plan for one principal.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Plan {
    /// `agent` or `agent.skill`.
    pub principal: String,
    /// Host capabilities the plan was made for.
    pub host: HostCaps,
    /// One entry per kind (all five, so an absent kind's default deny is visible too).
    pub kinds: Vec<KindPlan>,
    /// Landlock layers to stack: the agent's, then the skill's.
    pub landlock: Vec<LandlockPlan>,
    /// Environment variables removed from the child's environment: every
    /// denied one, and every declared secret variable no rule allows
    /// (semantics.md §7); the rest of the supervisor's environment is kept.
    pub env_removed: BTreeSet<String>,
    /// Start the child in an empty network namespace (no interface but a down loopback).
    pub empty_netns: bool,
}

impl Plan {
    /// True when no kind has a loss and every kind has an enforcer.
    pub fn exact(&self) -> bool {
        self.kinds
            .iter()
            .all(|k| k.enforcer.is_some() && k.losses.is_empty())
    }
    /// Kinds that nothing here can enforce.
    pub fn missing(&self) -> Vec<&KindPlan> {
        self.kinds.iter().filter(|k| k.enforcer.is_none()).collect()
    }
}

fn env_removed(rules: &[Rule], secret_vars: &BTreeSet<String>) -> BTreeSet<String> {
    let mut allow = BTreeSet::new();
    let mut deny = BTreeSet::new();
    for r in rules {
        if let Matcher::Env { vars } = &r.matcher {
            let set = if r.effect == Effect::Allow {
                &mut allow
            } else {
                &mut deny
            };
            set.extend(vars.iter().cloned());
        }
    }
    let unallowed_secrets = secret_vars.difference(&allow).cloned();
    deny.into_iter().chain(unallowed_secrets).collect()
}

/// Plans `agent` (and `skill`, if given) for a host with `caps`.
///
/// `secret_vars` are the environment variables of every declared secret.
pub fn plan(
    agent: &Agent,
    skill: Option<&str>,
    secret_vars: &BTreeSet<String>,
    caps: HostCaps,
    host: &dyn HostFs,
) -> Result<Plan, String> {
    let skill_rules = match skill {
        None => None,
        Some(s) => Some(
            &agent
                .skills
                .iter()
                .find(|k| k.name == s)
                .ok_or_else(|| format!("agent `{}` has no skill `{s}`", agent.name))?
                .rules,
        ),
    };
    let layers: Vec<&[Rule]> = std::iter::once(agent.rules.as_slice())
        .chain(skill_rules.map(Vec::as_slice))
        .collect();
    let landlock: Vec<LandlockPlan> = layers
        .iter()
        .map(|rules| landlock_plan::plan(rules, host, Limits::default()))
        .collect();
    let mut env = env_removed(&agent.rules, secret_vars);
    if let Some(r) = skill_rules {
        env.extend(env_removed(r, secret_vars));
    }
    let all_rules = || layers.iter().flat_map(|l| l.iter());
    let mut kinds = Vec::new();
    // fs and exec: Landlock.
    for kind in [Kind::Fs, Kind::Exec] {
        let mut losses: Vec<Loss> = landlock
            .iter()
            .flat_map(|p| p.losses.iter())
            .filter(|l| {
                l.rule
                    .as_ref()
                    .is_none_or(|id| all_rules().any(|r| &r.id == id && r.kind() == kind))
            })
            .cloned()
            .collect();
        losses.dedup();
        let (enforcer, missing) = if caps.landlock_abi == 0 {
            (
                None,
                Some("Landlock (Linux ≥ 5.13 with `landlock` in the lsm= boot list)".to_owned()),
            )
        } else {
            losses.extend(crate::landlock::abi_losses(caps.landlock_abi));
            (Some(format!("landlock (ABI {})", caps.landlock_abi)), None)
        };
        kinds.push(KindPlan {
            kind,
            enforcer,
            missing,
            losses,
        });
    }
    // net: no per-address enforcer in this build yet; the sound approximation
    // is no network at all (an empty namespace), exact when nothing is allowed.
    let net_allows: Vec<&Rule> = all_rules()
        .filter(|r| r.kind() == Kind::Net && r.effect == Effect::Allow)
        .collect();
    let net_losses = net_allows
        .iter()
        .map(|r| Loss {
            rule: Some(r.id.clone()),
            src: Some(r.src),
            message: "no per-address network enforcer in this build (cgroup BPF not built): the \
                      agent runs in an empty network namespace, so this allow is not granted \
                      (narrower)"
                .into(),
        })
        .collect();
    kinds.push(if caps.netns {
        KindPlan {
            kind: Kind::Net,
            enforcer: Some("network namespace (no network)".into()),
            missing: None,
            losses: net_losses,
        }
    } else {
        KindPlan {
            kind: Kind::Net,
            enforcer: None,
            missing: Some("unshare(1) from util-linux (apt-get install util-linux)".into()),
            losses: net_losses,
        }
    });
    kinds.push(KindPlan {
        kind: Kind::Env,
        enforcer: Some("environment scrubbing at start".into()),
        missing: None,
        losses: Vec::new(),
    });
    kinds.push(KindPlan {
        kind: Kind::Tool,
        enforcer: Some(
            "the tool layer: put `agentpolc gate` in front of the agent's MCP servers".into(),
        ),
        missing: None,
        losses: Vec::new(),
    });
    Ok(Plan {
        principal: match skill {
            Some(s) => format!("{}.{s}", agent.name),
            None => agent.name.clone(),
        },
        host: caps,
        kinds,
        landlock,
        env_removed: env,
        empty_netns: true,
    })
}
