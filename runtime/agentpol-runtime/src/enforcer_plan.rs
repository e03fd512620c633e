//! The enforcer plan of `agentpolc run`: for each rule kind of one agent (or
//! skill), which enforcer holds it on this kernel, whether exactly, and every
//! approximation with its rule and source span. `run` starts only when the
//! plan is exact or the user accepted its losses; a kind without an enforcer
//! is never accepted (no silent downgrade).

use crate::landlock_plan::{self, HostFs, LandlockPlan, Limits, Loss};
use agentpol_bpf::compile::{self as netc, Maps, Names};
use agentpol_core::ir::{Agent, Effect, Kind, Matcher, Rule};
use std::collections::BTreeSet;

/// The network enforcer's name in the plan.
pub const BPF_ENFORCER: &str = "cgroup BPF (sock_addr)";

/// What the host offers, probed at start.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostCaps {
    /// Landlock ABI (0 = none).
    pub landlock_abi: u32,
    /// A network-namespace tool (`unshare`) to start the agent without any network.
    pub netns: bool,
    /// The cgroup sock_addr programs were loaded once on this kernel (probed,
    /// not assumed).
    pub bpf_net: bool,
    /// Why they are unavailable, when `bpf_net` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bpf_net_error: Option<String>,
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
    /// Rules this enforcer cannot hold soundly: `run` refuses to start (AP0718).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Loss>,
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
    /// Start the child in an empty network namespace (no interface but a
    /// down loopback): only when the BPF enforcer is unavailable.
    pub empty_netns: bool,
    /// The BPF maps' contents, when `net` is enforced by [`BPF_ENFORCER`].
    #[serde(skip)]
    pub net_maps: Option<Maps>,
}

impl Plan {
    /// Rules no enforcer here can hold soundly (the run must not start).
    pub fn refused(&self) -> impl Iterator<Item = &Loss> {
        self.kinds.iter().flat_map(|k| k.refused.iter())
    }
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
/// `secret_vars` are the environment variables of every declared secret;
/// `names` the exact domains resolved at start (None: not resolved, as for
/// `--explain-plan`).
pub fn plan(
    agent: &Agent,
    skill: Option<&str>,
    secret_vars: &BTreeSet<String>,
    caps: HostCaps,
    host: &dyn HostFs,
    names: Option<&Names>,
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
            refused: Vec::new(),
        });
    }
    let (net, net_maps) = net_plan(agent, skill, &layers, &caps, names);
    let empty_netns = net_maps.is_none();
    kinds.push(net);
    kinds.push(KindPlan {
        kind: Kind::Env,
        enforcer: Some("environment scrubbing at start".into()),
        missing: None,
        losses: Vec::new(),
        refused: Vec::new(),
    });
    kinds.push(KindPlan {
        kind: Kind::Tool,
        enforcer: Some(
            "the tool layer: put `agentpolc gate` in front of the agent's MCP servers".into(),
        ),
        missing: None,
        losses: Vec::new(),
        refused: Vec::new(),
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
        empty_netns,
        net_maps,
    })
}

/// AP0718 for a rule the plan refused (a deny the kernel cannot hold).
pub fn refused_diag(l: &Loss) -> agentpol_core::diag::Diag {
    let span = l.src.map(|s| s.span).unwrap_or_default();
    let rule = l
        .rule
        .as_ref()
        .map(|r| format!("{r}: "))
        .unwrap_or_default();
    agentpol_core::diag::Diag::error(
        &crate::codes::RUN_NET_UNHOLDABLE,
        span,
        format!("{rule}{}", l.message),
    )
    .label("this rule")
    .help("deny exact names or addresses, or make the resolver reachable; then run again")
}

fn to_loss(
    rule: agentpol_core::ir::RuleId,
    src: agentpol_core::ir::SourceRef,
    message: String,
) -> Loss {
    Loss {
        rule: Some(rule),
        src: Some(src),
        message,
    }
}

/// `net`: the cgroup BPF enforcer when it loads here (per address, exact up
/// to the lowering's reported approximations); otherwise an empty network
/// namespace, exact only for a policy that allows no network, every allow
/// reported as not granted.
fn net_plan(
    agent: &Agent,
    skill: Option<&str>,
    layers: &[&[Rule]],
    caps: &HostCaps,
    names: Option<&Names>,
) -> (KindPlan, Option<Maps>) {
    let owners: Vec<String> = std::iter::once(agent.name.clone())
        .chain(skill.map(|s| format!("{}.{s}", agent.name)))
        .collect();
    let lowered: Vec<netc::Lowered> = layers
        .iter()
        .zip(&owners)
        .enumerate()
        .map(|(i, (rules, owner))| {
            // Resolvers are the agent's: its layer gets the DNS rules.
            let resolvers: &[std::net::IpAddr] = if i == 0 { &agent.resolvers } else { &[] };
            netc::lower(owner, rules, resolvers, agent.src, names)
        })
        .collect();
    if caps.bpf_net {
        let mut losses: Vec<Loss> = Vec::new();
        let mut refused: Vec<Loss> = Vec::new();
        for l in &lowered {
            losses.extend(
                l.losses
                    .iter()
                    .map(|x| to_loss(x.rule.clone(), x.src, x.message.clone())),
            );
            refused.extend(
                l.errors
                    .iter()
                    .map(|x| to_loss(x.rule.clone(), x.src, x.message.clone())),
            );
        }
        let rules: Vec<&[Rule]> = lowered.iter().map(|l| l.rules.as_slice()).collect();
        let maps = match netc::compile(&rules) {
            Ok(m) => Some(m),
            Err(e) => {
                refused.push(Loss {
                    rule: None,
                    src: None,
                    message: e.to_string(),
                });
                None
            }
        };
        let plan = KindPlan {
            kind: Kind::Net,
            enforcer: Some(BPF_ENFORCER.into()),
            missing: None,
            losses,
            refused,
        };
        // A refused plan never starts, so its maps (empty) are never loaded.
        let maps = match maps {
            Some(m) if plan.refused.is_empty() => m,
            _ => Maps::default(),
        };
        return (plan, Some(maps));
    }
    let why = caps
        .bpf_net_error
        .clone()
        .unwrap_or_else(|| "cgroup BPF is unavailable".into());
    let allows = layers
        .iter()
        .flat_map(|l| l.iter())
        .filter(|r| r.kind() == Kind::Net && r.effect == Effect::Allow);
    let mut losses: Vec<Loss> = allows
        .map(|r| {
            to_loss(
                r.id.clone(),
                r.src,
                format!(
                    "no per-address network enforcer here ({why}): the agent runs in an empty \
                     network namespace, so this allow is not granted (narrower)"
                ),
            )
        })
        .collect();
    if !agent.resolvers.is_empty() {
        losses.push(Loss {
            rule: None,
            src: Some(agent.src),
            message: format!(
                "no per-address network enforcer here ({why}): DNS to the agent's resolvers is \
                 not granted either (narrower)"
            ),
        });
    }
    let plan = if caps.netns {
        KindPlan {
            kind: Kind::Net,
            enforcer: Some("network namespace (no network)".into()),
            missing: None,
            losses,
            refused: Vec::new(),
        }
    } else {
        KindPlan {
            kind: Kind::Net,
            enforcer: None,
            missing: Some(format!(
                "{BPF_ENFORCER} ({why}), or unshare(1) from util-linux for no network at all"
            )),
            losses,
            refused: Vec::new(),
        }
    };
    (plan, None)
}
