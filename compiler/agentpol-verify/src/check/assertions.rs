//! `assert never` items: for each principal and partition the assertion
//! covers, a request its pattern matches that the policy decides with a
//! forbidden effect (AP0508), replayed in the evaluator; or a proof (AP0509).

use super::ask::{Answer, Inconclusive, Question};
use super::{related, schema, Ctx, Dec, RInfo, Side, Unit};
use crate::formula::{matcher_formula, Part, F};
use crate::prune::may_overlap;
use crate::report::{Finding, FindingKind, RuleRef};
use crate::witness::request;
use agentpol_core::eval::evaluate;
use agentpol_core::ir::{
    Action, Agent, AssertTarget, Assertion, Effect, Matcher, Policy, Rule, Scope,
};
use agentpol_core::request::Request;
use z3::ast::Bool;

/// Whose requests an assertion is about: (agent index, skill index).
pub(crate) fn assertion_targets(policy: &Policy, a: &Assertion) -> Vec<(usize, Option<usize>)> {
    match &a.target {
        // Skills only narrow their agent, so checking every agent covers them.
        AssertTarget::All => (0..policy.agents.len()).map(|i| (i, None)).collect(),
        AssertTarget::Agent { agent } => policy
            .agents
            .iter()
            .position(|x| &x.name == agent)
            .map(|i| vec![(i, None)])
            .unwrap_or_default(),
        AssertTarget::Skill { agent, skill } => policy
            .agents
            .iter()
            .position(|x| &x.name == agent)
            .and_then(|i| {
                policy
                    .agents
                    .get(i)
                    .and_then(|x| x.skills.iter().position(|s| &s.name == skill))
                    .map(|k| vec![(i, Some(k))])
            })
            .unwrap_or_default(),
    }
}

/// A one-rule policy whose agent `__assert` allows exactly what the
/// assertion's pattern matches: the reference evaluator then decides whether
/// a counterexample matches the pattern.
fn pattern_policy(policy: &Policy, a: &Assertion, action: Action) -> Policy {
    let mut p = policy.clone();
    p.agents = vec![Agent {
        name: "__assert".into(),
        home: None,
        scope: Scope::Cgroup {
            path: "agentpol/__assert".into(),
        },
        resolvers: Vec::new(),
        selector: None,
        rules: vec![Rule {
            id: agentpol_core::ir::RuleId("__assert".into()),
            effect: Effect::Allow,
            action,
            matcher: a.matcher.clone(),
            src: a.src,
            origin: Default::default(),
        }],
        skills: Vec::new(),
        src: a.src,
    }];
    p
}

impl<'p> Ctx<'p> {
    /// Proves or refutes one assertion.
    pub(crate) fn assertion(&mut self, idx: usize, out: &mut Vec<Finding>) {
        let Some(a) = self.policy.assertions.get(idx) else {
            return;
        };
        let mut proved = true;
        let targets = assertion_targets(self.policy, a);
        let tool = match &a.matcher {
            Matcher::Tool { tool, .. } => tool.clone(),
            _ => None,
        };
        let mut parts: Vec<(Action, Part)> = Vec::new();
        for &action in &a.actions {
            match Part::of_action(action, tool.as_deref()) {
                Some(p) => parts.push((action, p)),
                None => {
                    for t in &self.policy.tools {
                        parts.push((action, Part::Tool(t.name.clone())));
                    }
                }
            }
        }
        let what = format!("assertion at line {}", a.src.line);
        for &(ai, si) in &targets {
            let Some(agent) = self.policy.agents.get(ai) else {
                continue;
            };
            for (action, part) in &parts {
                let Some(unit_rules) = Unit::new(self.policy, agent, si, part.clone())
                    .map(Some)
                    .unwrap_or_else(|| None)
                else {
                    // No rule of the principal in this partition: default deny everywhere.
                    if si.is_some() {
                        continue;
                    }
                    if !a.forbidden.contains(&Effect::Deny) {
                        continue;
                    }
                    continue;
                };
                let sc = schema(self.policy, part);
                let fa = match matcher_formula(&a.matcher, &sc) {
                    Ok(f) => f,
                    Err(why) => {
                        proved = false;
                        let owner = unit_rules.who.owner();
                        let q = Question {
                            owner: &owner,
                            part,
                            src: a.src,
                            rule: None,
                            undecided: format!("the {what}"),
                            subject: format!("the {what}"),
                            approx: false,
                        };
                        out.push(self.unknown(
                            &q,
                            format!(
                                "its pattern uses a construct the verifier does not model: {why}"
                            ),
                        ));
                        continue;
                    }
                };
                let pick = |pool: &[RInfo<'p>], naive: bool| -> (Vec<(Effect, F, RuleRef)>, bool) {
                    let mut bad = false;
                    let v = pool
                        .iter()
                        .filter(|x| naive || may_overlap(&a.matcher, &x.rule.matcher))
                        .filter_map(|x| match &x.f {
                            Ok(f) => Some((x.rule.effect, f.clone(), x.rref())),
                            Err(_) => {
                                bad = true;
                                None
                            }
                        })
                        .collect();
                    (v, bad)
                };
                let (own, bad1) = pick(&unit_rules.own, self.opts.naive);
                let (ag, bad2) = pick(&unit_rules.agent, self.opts.naive);
                let mut all: Vec<&F> = vec![&fa];
                all.extend(own.iter().map(|x| &x.1));
                all.extend(ag.iter().map(|x| &x.1));
                let mut enc = self.encoder(sc, &all);
                let approx = enc.approx;
                let ma = enc.lower(&fa);
                let so = Side::of(
                    &own.iter()
                        .map(|(e, f, _)| (*e, enc.lower(f)))
                        .collect::<Vec<_>>(),
                );
                let dec = if si.is_some() {
                    Dec(vec![
                        so,
                        Side::of(
                            &ag.iter()
                                .map(|(e, f, _)| (*e, enc.lower(f)))
                                .collect::<Vec<_>>(),
                        ),
                    ])
                } else {
                    Dec(vec![so])
                };
                let forbidden =
                    Bool::or(&a.forbidden.iter().map(|e| dec.is(*e)).collect::<Vec<_>>());
                let query = enc.define(&Bool::and(&[ma, forbidden]));
                let owner = unit_rules.who.owner();
                let q = Question {
                    owner: &owner,
                    part,
                    src: a.src,
                    rule: None,
                    undecided: format!("the {what}"),
                    subject: format!("the {what}"),
                    approx,
                };
                let limit = Inconclusive::Report(
                    "an exploration hit its state limit, or a rule uses an unmodelled construct",
                );
                let v = match self.ask(&mut enc, &[query], &q, !bad1 && !bad2, limit, out) {
                    Answer::Unsat => continue,
                    Answer::Undecided => {
                        proved = false;
                        continue;
                    }
                    Answer::Sat(v) => v,
                };
                proved = false;
                let req = request(self.policy, &unit_rules.who, part, &v);
                let f = self.confirm(&q, req, |cx, req| {
                    let pp = pattern_policy(cx.policy, a, *action);
                    let probe = Request {
                        agent: "__assert".into(),
                        skill: None,
                        ..req.clone()
                    };
                    cx.stats.replays += 1;
                    let matches = evaluate(&pp, &probe).map(|d| d.effect == Effect::Allow);
                    match (cx.replay(req), matches) {
                        (Ok(d), Ok(true)) if a.forbidden.contains(&d.effect) => {
                            let mut f = cx.about(
                                &q,
                                FindingKind::AssertionViolated,
                                format!(
                                    "the {what} does not hold: {owner} gets {} for a request it forbids",
                                    d.effect
                                ),
                            );
                            f.related = related(&d, own.iter().chain(&ag).map(|x| &x.2));
                            f.witness = Some(req.clone());
                            Ok(f)
                        }
                        (d, m) => Err(format!(
                            "the solver found a counterexample; the reference evaluator says: decision {}, pattern match {}",
                            match d {
                                Ok(d) => d.effect.to_string(),
                                Err(e) => e,
                            },
                            match m {
                                Ok(b) => b.to_string(),
                                Err(e) => format!("{}: {}", e.code.code, e.message),
                            }
                        )),
                    }
                });
                out.push(f);
            }
        }
        if proved {
            let mut f = self.finding(
                FindingKind::AssertionProved,
                "",
                parts.first().map(|p| &p.1).unwrap_or(&Part::Env),
                a.src,
                None,
                format!("the {what} holds for every request"),
            );
            f.part = a
                .actions
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            out.push(f);
        }
    }
}
