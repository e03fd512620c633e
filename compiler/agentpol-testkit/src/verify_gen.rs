//! Generated policies with planted conflicts, for the scale benchmark
//! (`cargo bench -p agentpol-verify --bench scale`) and its tests.
//!
//! A policy of `rules` rules over a fixed number of agents (so partitions
//! grow with the policy, as they do when one team's policy grows): mostly
//! disjoint grants in per-agent namespaces, realistic exceptions (a deny
//! inside a granted tree, which is an info-level overlap, not a finding), and
//! `planted` rules that must be reported, each recorded with the finding kind
//! it must produce. A small deterministic generator keeps it reproducible.

use crate::verify_build::{agent, glob, like, param, policy, rule, skill, tool};
use agentpol_core::ir::{
    Action, ArgType, ArgsPattern, Atom, CmpOp, DomainPattern, Effect, Host, Matcher, Operand,
    ParamType, Policy, PortRange, Proto, Rule, RuleId, Scalar, SetOperand, Test, Value,
};
use agentpol_verify::FindingKind;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// Total number of rules (approximately; exactly when divisible).
    pub rules: usize,
    /// Number of agents (each with one skill).
    pub agents: usize,
    /// Number of planted findings.
    pub planted: usize,
    /// Seed of the generator.
    pub seed: u64,
}

/// A rule that must be reported, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planted {
    /// The finding kind.
    pub kind: FindingKind,
    /// The rule it is about.
    pub rule: RuleId,
}

/// xorshift64*: small, deterministic, good enough for shuffling shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn arg(name: &str) -> Operand {
    Operand {
        arg: name.into(),
        field: None,
    }
}

fn atom(test: Test) -> Atom {
    Atom {
        negated: false,
        test,
    }
}

fn fs_rule(id: String, e: Effect, a: Action, globs: &[String], line: u32) -> Rule {
    let refs: Vec<&str> = globs.iter().map(String::as_str).collect();
    rule(&id, e, a, crate::verify_build::fs(&refs), line)
}

/// Generates a policy and the findings planted in it.
pub fn generate(cfg: GenConfig) -> (Policy, Vec<Planted>) {
    let mut rng = Rng(cfg.seed | 1);
    let agents_n = cfg.agents.max(1);
    let per_agent = cfg.rules / agents_n;
    let mut planted: Vec<Planted> = Vec::new();
    let mut agents = Vec::new();
    let mut line = 2u32;
    let mut next_line = || {
        line += 1;
        line
    };
    for ai in 0..agents_n {
        let name = format!("agent{ai}");
        let mut rules: Vec<Rule> = Vec::new();
        let mut skill_rules: Vec<Rule> = Vec::new();
        let mut k = 0usize;
        while rules.len() + skill_rules.len() < per_agent {
            k += 1;
            // Plants are spread evenly over the rules written so far.
            let written = agents
                .iter()
                .map(|a: &agentpol_core::ir::Agent| {
                    a.rules.len() + a.skills.iter().map(|s| s.rules.len()).sum::<usize>()
                })
                .sum::<usize>()
                + rules.len()
                + skill_rules.len();
            let id = |kind: &str, k: usize| format!("{name}/{kind}/{k:06}");
            let plant = planted.len() < cfg.planted
                && written * (cfg.planted + 1) >= (planted.len() + 1) * cfg.rules.max(1);
            let root = format!("/data/{name}/p{k}");
            if plant {
                match planted.len() % 6 {
                    0 => {
                        // Overridden by one deny.
                        rules.push(fs_rule(
                            id("fs", k),
                            Effect::Deny,
                            Action::Read,
                            &[format!("{root}/**")],
                            next_line(),
                        ));
                        let r = fs_rule(
                            id("fs", k) + ".d",
                            Effect::Allow,
                            Action::Read,
                            &[format!("{root}/docs/**")],
                            next_line(),
                        );
                        planted.push(Planted {
                            kind: FindingKind::Overridden,
                            rule: r.id.clone(),
                        });
                        rules.push(r);
                    }
                    1 => {
                        // Overridden by the union of two denies.
                        rules.push(fs_rule(
                            id("fs", k),
                            Effect::Deny,
                            Action::Write,
                            &[format!("{root}/x/**")],
                            next_line(),
                        ));
                        rules.push(fs_rule(
                            id("fs", k) + ".y",
                            Effect::Deny,
                            Action::Write,
                            &[format!("{root}/y/**")],
                            next_line(),
                        ));
                        let r = fs_rule(
                            id("fs", k) + ".u",
                            Effect::Allow,
                            Action::Write,
                            &[format!("{root}/x/*.txt"), format!("{root}/y/**")],
                            next_line(),
                        );
                        planted.push(Planted {
                            kind: FindingKind::Overridden,
                            rule: r.id.clone(),
                        });
                        rules.push(r);
                    }
                    2 => {
                        // Redundant: inside a broader grant.
                        rules.push(fs_rule(
                            id("fs", k),
                            Effect::Allow,
                            Action::Read,
                            &[format!("{root}/**")],
                            next_line(),
                        ));
                        let r = fs_rule(
                            id("fs", k) + ".r",
                            Effect::Allow,
                            Action::Read,
                            &[format!("{root}/src/*.rs")],
                            next_line(),
                        );
                        planted.push(Planted {
                            kind: FindingKind::Redundant,
                            rule: r.id.clone(),
                        });
                        rules.push(r);
                    }
                    3 => {
                        // Vacuous tool condition.
                        let r = rule(
                            &id("tool", k),
                            Effect::Allow,
                            Action::Call,
                            Matcher::Tool {
                                tool: Some("pay".into()),
                                conditions: vec![
                                    atom(Test::Cmp {
                                        lhs: arg("amount"),
                                        op: CmpOp::Gt,
                                        rhs: Scalar::Lit(Value::Int(1000 + k as i64)),
                                    }),
                                    atom(Test::Cmp {
                                        lhs: arg("amount"),
                                        op: CmpOp::Lt,
                                        rhs: Scalar::Lit(Value::Int(10)),
                                    }),
                                ],
                            },
                            next_line(),
                        );
                        planted.push(Planted {
                            kind: FindingKind::Vacuous,
                            rule: r.id.clone(),
                        });
                        rules.push(r);
                    }
                    4 => {
                        // Skill escalation: the skill reads what the agent does not grant.
                        let r = fs_rule(
                            format!("{name}.helper/fs/{k:06}"),
                            Effect::Allow,
                            Action::Read,
                            &[format!("/private/{name}/{k}/**")],
                            next_line(),
                        );
                        planted.push(Planted {
                            kind: FindingKind::SkillEscalation,
                            rule: r.id.clone(),
                        });
                        skill_rules.push(r);
                    }
                    _ => {
                        // Overridden net grant: the address is denied on every port.
                        let addr = format!("10.{}.{}.{}", 100 + ai % 100, (k / 256) % 256, k % 256);
                        let net: ipnet::IpNet = format!("{addr}/32")
                            .parse()
                            .unwrap_or(ipnet::IpNet::V4(Default::default()));
                        rules.push(rule(
                            &id("net", k),
                            Effect::Deny,
                            Action::Connect,
                            Matcher::Net {
                                proto: Proto::Any,
                                hosts: Some(vec![Host::Cidr(net)]),
                                ports: None,
                            },
                            next_line(),
                        ));
                        let r = rule(
                            &(id("net", k) + ".o"),
                            Effect::Allow,
                            Action::Connect,
                            Matcher::Net {
                                proto: Proto::Tcp,
                                hosts: Some(vec![Host::Cidr(net)]),
                                ports: Some(vec![PortRange { lo: 443, hi: 443 }]),
                            },
                            next_line(),
                        );
                        planted.push(Planted {
                            kind: FindingKind::Overridden,
                            rule: r.id.clone(),
                        });
                        rules.push(r);
                    }
                }
                continue;
            }
            match rng.below(20) {
                0..=7 => {
                    // A project grant, sometimes with a carved-out secret.
                    let action = if rng.below(4) == 0 {
                        Action::Write
                    } else {
                        Action::Read
                    };
                    let shape = rng.below(4);
                    let g = match shape {
                        0 => format!("{root}/**"),
                        1 => format!("{root}/**/*.{}", ["rs", "py", "md", "json"][k % 4]),
                        2 => format!("{root}/*/src/**"),
                        _ => format!("{root}/cache/*"),
                    };
                    rules.push(fs_rule(
                        id("fs", k),
                        Effect::Allow,
                        action,
                        &[g],
                        next_line(),
                    ));
                    if shape == 0 && rng.below(3) == 0 {
                        rules.push(fs_rule(
                            id("fs", k) + ".s",
                            Effect::Deny,
                            action,
                            &[format!("{root}/**/.env"), format!("{root}/secret/**")],
                            next_line(),
                        ));
                    }
                }
                8..=11 => {
                    let port = 1000 + (k as u16 % 60000);
                    let host = if rng.below(2) == 0 {
                        Host::Domain(DomainPattern {
                            name: format!("svc{k}.{name}.example"),
                            wildcard: rng.below(3) == 0,
                        })
                    } else {
                        let (b, c) = ((k / 250) % 250, k % 250);
                        Host::Cidr(
                            format!("172.{}.{b}.{c}/32", 16 + ai % 16)
                                .parse()
                                .unwrap_or(ipnet::IpNet::V4(Default::default())),
                        )
                    };
                    rules.push(rule(
                        &id("net", k),
                        Effect::Allow,
                        Action::Connect,
                        Matcher::Net {
                            proto: Proto::Tcp,
                            hosts: Some(vec![host]),
                            ports: Some(vec![PortRange {
                                lo: port,
                                hi: port.saturating_add(rng.below(3) as u16),
                            }]),
                        },
                        next_line(),
                    ));
                }
                12..=13 => {
                    let bin = glob(&format!("/opt/{name}/tool{k}/bin/*"));
                    let args = if rng.below(2) == 0 {
                        Some(ArgsPattern {
                            items: vec![like(&format!("--p{k}=*"))],
                            rest: true,
                        })
                    } else {
                        None
                    };
                    rules.push(rule(
                        &id("exec", k),
                        Effect::Allow,
                        Action::Exec,
                        Matcher::Exec {
                            binaries: vec![bin],
                            args,
                        },
                        next_line(),
                    ));
                }
                14..=17 => {
                    // Payments to a known recipient under a limit; an ask above it.
                    let to = atom(Test::Eq {
                        lhs: arg("to"),
                        rhs: Scalar::Lit(Value::Str(format!("r{k}@{name}.example"))),
                    });
                    let limit = 100 + (k as i64 % 900);
                    rules.push(rule(
                        &id("tool", k),
                        Effect::Allow,
                        Action::Call,
                        Matcher::Tool {
                            tool: Some("pay".into()),
                            conditions: vec![
                                to.clone(),
                                atom(Test::Cmp {
                                    lhs: arg("amount"),
                                    op: CmpOp::Le,
                                    rhs: Scalar::Lit(Value::Int(limit)),
                                }),
                            ],
                        },
                        next_line(),
                    ));
                    if rng.below(2) == 0 {
                        rules.push(rule(
                            &(id("tool", k) + ".a"),
                            Effect::Ask,
                            Action::Call,
                            Matcher::Tool {
                                tool: Some("pay".into()),
                                conditions: vec![
                                    to,
                                    atom(Test::Cmp {
                                        lhs: arg("amount"),
                                        op: CmpOp::Gt,
                                        rhs: Scalar::Lit(Value::Int(limit)),
                                    }),
                                ],
                            },
                            next_line(),
                        ));
                    }
                }
                18 => {
                    rules.push(rule(
                        &id("tool", k),
                        Effect::Allow,
                        Action::Call,
                        Matcher::Tool {
                            tool: Some("mail".into()),
                            conditions: vec![
                                atom(Test::In {
                                    lhs: arg("to"),
                                    set: SetOperand::Param("contacts".into()),
                                }),
                                atom(Test::Like {
                                    lhs: arg("subject"),
                                    pattern: like(&format!("[{name}-{k}]*")),
                                }),
                            ],
                        },
                        next_line(),
                    ));
                }
                _ => {
                    let var = format!("{}_TOKEN_{k}", name.to_uppercase());
                    rules.push(rule(
                        &id("env", k),
                        Effect::Allow,
                        Action::ReadEnv,
                        Matcher::Env { vars: vec![var] },
                        next_line(),
                    ));
                }
            }
            // The agent's skill gets a share of grants the agent also has.
            if rng.below(10) == 0 {
                skill_rules.push(fs_rule(
                    format!("{name}.helper/fs/{k:06}"),
                    Effect::Allow,
                    Action::Read,
                    &[format!("/data/{name}/shared{k}/*")],
                    next_line(),
                ));
                rules.push(fs_rule(
                    id("fs", k) + ".g",
                    Effect::Allow,
                    Action::Read,
                    &[format!("/data/{name}/shared{k}/**")],
                    next_line(),
                ));
            }
        }
        agents.push(agent(&name, rules, vec![skill("helper", skill_rules)]));
    }
    let tools = vec![
        tool("pay", &[("to", ArgType::String), ("amount", ArgType::Int)]),
        tool(
            "mail",
            &[
                ("to", ArgType::String),
                ("subject", ArgType::String),
                ("body", ArgType::String),
            ],
        ),
    ];
    (
        policy(agents, tools, vec![param("contacts", ParamType::SetString)]),
        planted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_plants() {
        let (p, planted) = generate(GenConfig {
            rules: 500,
            agents: 5,
            planted: 12,
            seed: 7,
        });
        let n: usize = p
            .agents
            .iter()
            .map(|a| a.rules.len() + a.skills.iter().map(|s| s.rules.len()).sum::<usize>())
            .sum();
        assert!((500..=520).contains(&n), "{n}");
        assert_eq!(planted.len(), 12);
        let all: Vec<&RuleId> = p.all_rules().map(|(_, r)| &r.id).collect();
        assert!(planted.iter().all(|x| all.contains(&&x.rule)));
    }
}
