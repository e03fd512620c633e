//! A synthetic policy shaped like real ones, and requests aimed at it, for
//! benchmarks.

use super::build::*;
use super::rng::*;
use agentpol_core::ir::*;
use agentpol_core::request::{Request, Resource};
use std::collections::BTreeMap;

/// A synthetic policy of about `rules` rules over many agents, shaped like
/// real policies (mostly literal and `/dir/**` globs, domains, tool
/// conditions on one argument), for benchmarks.
pub fn synthetic_policy(rules: usize) -> Policy {
    let mut b = PolicyBuilder::new("bench.agentpol");
    b.tool(
        "send_email",
        &[("to", ArgType::String), ("body", ArgType::String)],
    );
    b.tool(
        "pay",
        &[("recipient", ArgType::String), ("amount", ArgType::Int)],
    );
    b.param("contacts", ParamType::SetString);
    let agents = (rules / 50).max(1);
    for i in 0..agents {
        b.agent(&format!("agent{i}"));
        b.skill(&format!("agent{i}"), "helper");
    }
    let mut rng = Rng::new(7);
    for r in 0..rules {
        let a = format!("agent{}", r % agents);
        // Kind and owner from `r / agents`, so that every agent gets rules of
        // every kind and its skill some of them (with `r % …` an agent count
        // that is a multiple of 5 gave each agent rules of one kind only).
        let nth = r / agents;
        let who = if (nth / 5) % 10 == 9 {
            Who::Skill(&a, "helper")
        } else {
            Who::Agent(&a)
        };
        match nth % 5 {
            0 => {
                let g = match rng.below(3) {
                    0 => format!("/home/{a}/work/p{r}/**"),
                    1 => format!("/srv/data/f{r}.txt"),
                    _ => format!("/home/{a}/.cache/*.{r}"),
                };
                let effect = if r % 7 == 0 {
                    Effect::Deny
                } else {
                    Effect::Allow
                };
                b.rule(who, effect, Action::Read, fs(&[&g]));
            }
            1 => {
                b.rule(
                    who,
                    Effect::Allow,
                    Action::Connect,
                    Matcher::Net {
                        proto: Proto::Tcp,
                        hosts: Some(vec![
                            domain(&format!("api{r}.example.com")),
                            cidr(&format!("10.{}.{}.0/24", (r / 256) % 256, r % 256)),
                        ]),
                        ports: Some(vec![PortRange { lo: 443, hi: 443 }]),
                    },
                );
            }
            2 => {
                b.rule(
                    who,
                    if r % 3 == 0 {
                        Effect::Ask
                    } else {
                        Effect::Allow
                    },
                    Action::Call,
                    tool(
                        "send_email",
                        vec![atom(
                            false,
                            Test::Eq {
                                lhs: arg("to"),
                                rhs: Scalar::Lit(Value::Str(format!("user{r}@example.com"))),
                            },
                        )],
                    ),
                );
            }
            3 => {
                b.rule(
                    who,
                    Effect::Deny,
                    Action::Call,
                    tool(
                        "pay",
                        vec![atom(
                            false,
                            Test::Cmp {
                                lhs: arg("amount"),
                                op: CmpOp::Gt,
                                rhs: Scalar::Lit(Value::Int(1000 + r as i64)),
                            },
                        )],
                    ),
                );
            }
            _ => {
                b.rule(
                    who,
                    Effect::Allow,
                    Action::ReadEnv,
                    Matcher::Env {
                        vars: vec![format!("VAR{r}")],
                    },
                );
            }
        }
    }
    b.build()
}

/// Requests aimed at [`synthetic_policy`]'s rules (about half hit one).
pub fn synthetic_requests(policy: &Policy, seed: u64, n: usize) -> Vec<Request> {
    let mut rng = Rng::new(seed);
    let agents = policy.agents.len().max(1);
    (0..n)
        .map(|_| {
            let i = rng.below(agents);
            let a = format!("agent{i}");
            let r = rng.below(agents * 50);
            let skill = rng.chance(1, 5).then(|| "helper".to_string());
            let resource = match rng.below(5) {
                0 => Resource::Fs {
                    action: Action::Read,
                    path: if rng.chance(1, 2) {
                        format!("/home/{a}/work/p{r}/src/main.rs")
                    } else {
                        format!("/srv/data/f{r}.txt")
                    },
                },
                1 => Resource::Net {
                    action: Action::Connect,
                    proto: Proto::Tcp,
                    addr: format!("10.{}.{}.7", (r / 256) % 256, r % 256).parse().ok(),
                    domain: Some(format!("api{r}.example.com")),
                    port: 443,
                },
                2 => Resource::Tool {
                    tool: "send_email".into(),
                    args: [
                        (
                            "to".to_string(),
                            serde_json::json!(format!("user{r}@example.com")),
                        ),
                        ("body".to_string(), serde_json::json!("hi")),
                    ]
                    .into(),
                    params: BTreeMap::new(),
                    tainted: Vec::new(),
                    secrets: BTreeMap::new(),
                },
                3 => Resource::Tool {
                    tool: "pay".into(),
                    args: [
                        ("recipient".to_string(), serde_json::json!("bob")),
                        (
                            "amount".to_string(),
                            serde_json::json!(rng.below(3000) as i64),
                        ),
                    ]
                    .into(),
                    params: BTreeMap::new(),
                    tainted: Vec::new(),
                    secrets: BTreeMap::new(),
                },
                _ => Resource::Env {
                    var: format!("VAR{r}"),
                },
            };
            Request {
                agent: a,
                skill,
                resource,
            }
        })
        .collect()
}
