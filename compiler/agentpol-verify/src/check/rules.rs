//! Per-rule findings within a unit: vacuous, overridden, partly overridden
//! (info), redundant, and skill escalation.

use super::ask::{Answer, Inconclusive, Question, LIMIT_OR_NEIGHBOUR, STATE_LIMIT};
use super::{schema, Ctx, RInfo, Side, Unit};
use crate::encode::{Encoder, Outcome, Values};
use crate::formula::F;
use crate::prune::{
    may_overlap, mentions_free_dims, required_free_dims, surely_contains, surely_not_contained,
    surely_satisfiable,
};
use crate::report::{Finding, FindingKind, RuleRef};
use crate::witness::request;
use agentpol_core::diag::Severity;
use agentpol_core::ir::Effect;
use agentpol_core::request::Request;
use std::collections::BTreeSet;
use z3::ast::Bool;

impl<'p> Ctx<'p> {
    /// Neighbours of rule `i` among `pool` (another rule set of the unit):
    /// cheap filters, or (naive) a solver call per pair.
    fn neighbours(&mut self, unit: &Unit<'_>, i: usize, pool_is_agent: bool) -> Vec<usize> {
        let (pool, index) = if pool_is_agent {
            (&unit.agent, &unit.agent_index)
        } else {
            (&unit.own, &unit.own_index)
        };
        let Some(r) = unit.own.get(i) else {
            return Vec::new();
        };
        let others = pool.len() - usize::from(!pool_is_agent);
        self.stats.pairs_total += others;
        if self.opts.naive {
            let Ok(fr) = &r.f else {
                return Vec::new();
            };
            let sc = schema(self.policy, &unit.part);
            let mut out = Vec::new();
            for (j, x) in pool.iter().enumerate() {
                if !pool_is_agent && j == i {
                    continue;
                }
                self.stats.pairs_candidate += 1;
                let Ok(fx) = &x.f else {
                    out.push(j);
                    continue;
                };
                let mut enc = self.encoder(sc, &[fr, fx]);
                let (a, b) = (enc.lower(fr), enc.lower(fx));
                let both = enc.define(&Bool::and(&[a, b]));
                match self.check(&mut enc, &[both]) {
                    Outcome::Unsat { conclusive: true } => {}
                    _ => out.push(j),
                }
            }
            out
        } else {
            let mut out: Vec<usize> = index
                .candidates(&r.rule.matcher)
                .into_iter()
                .filter(|&j| pool_is_agent || j != i)
                .filter(|&j| {
                    pool.get(j)
                        .is_some_and(|x| may_overlap(&r.rule.matcher, &x.rule.matcher))
                })
                .collect();
            out.sort_unstable();
            self.stats.pairs_candidate += out.len();
            out
        }
    }

    /// All per-rule findings of a unit.
    pub(crate) fn unit(&mut self, unit: &Unit<'_>, out: &mut Vec<Finding>) {
        self.stats.units += 1;
        self.stats.rules += unit.own.len();
        for i in 0..unit.own.len() {
            self.rule(unit, i, out);
        }
    }

    fn rule(&mut self, unit: &Unit<'_>, i: usize, out: &mut Vec<Finding>) {
        let owner = unit.who.owner();
        let Some(r) = unit.own.get(i) else {
            return;
        };
        let fr = match &r.f {
            Ok(f) => f,
            Err(why) => {
                let q = Question::rule(&owner, &unit.part, r, "conflicts with others", false);
                out.push(self.unknown(
                    &q,
                    format!("it uses a construct the verifier does not model: {why}"),
                ));
                return;
            }
        };
        let same = self.neighbours(unit, i, false);
        let agent_nb = if unit.is_skill() {
            self.neighbours(unit, i, true)
        } else {
            Vec::new()
        };
        let e = r.rule.effect;
        let higher: Vec<usize> = same
            .iter()
            .copied()
            .filter(|&j| unit.own.get(j).is_some_and(|x| x.rule.effect > e))
            .collect();
        let equal: Vec<usize> = same
            .iter()
            .copied()
            .filter(|&j| unit.own.get(j).is_some_and(|x| x.rule.effect == e))
            .collect();
        let vacuity = self.opts.naive || !surely_satisfiable(&r.rule.matcher);
        // No escalation when an agent grant at most as strict surely contains the rule.
        let escalation = unit.is_skill()
            && e < Effect::Deny
            && (self.opts.naive
                || !agent_nb.iter().filter_map(|&j| unit.agent.get(j)).any(|x| {
                    x.rule.effect <= e && surely_contains(&x.rule.matcher, &r.rule.matcher)
                }));
        if !vacuity && higher.is_empty() && equal.is_empty() && !escalation {
            return;
        }
        // Neighbours the verifier cannot encode make "impossible" answers unsafe.
        let mut inexact = false;
        let ok = |pool: &[RInfo<'_>], js: &[usize], inexact: &mut bool| -> Vec<usize> {
            js.iter()
                .copied()
                .filter(|&j| {
                    let good = pool.get(j).is_some_and(|x| x.f.is_ok());
                    *inexact |= !good;
                    good
                })
                .collect()
        };
        let higher = ok(&unit.own, &higher, &mut inexact);
        // Higher rules that need a taint or secret R never mentions cannot help
        // cover R (make that dimension false), provided the others do not test
        // it either: the overridden question leaves them out (`cover`).
        let cover: Vec<bool> = {
            let mut free: BTreeSet<String> = BTreeSet::new();
            let needy: Vec<bool> = higher
                .iter()
                .map(|&j| {
                    unit.own.get(j).is_some_and(|h| {
                        let d = required_free_dims(&h.rule.matcher, &r.rule.matcher);
                        let needs = !d.is_empty();
                        free.extend(d);
                        needs
                    })
                })
                .collect();
            let safe = !self.opts.naive
                && !higher
                    .iter()
                    .zip(&needy)
                    .filter(|(_, n)| !**n)
                    .filter_map(|(&j, _)| unit.own.get(j))
                    .any(|h| mentions_free_dims(&h.rule.matcher, &free));
            needy.iter().map(|n| !(safe && *n)).collect()
        };
        let equal = ok(&unit.own, &equal, &mut inexact);
        let agent_nb = ok(&unit.agent, &agent_nb, &mut inexact);

        let fof = |pool: &'_ [RInfo<'_>], j: usize| -> Option<F> {
            pool.get(j).and_then(|x| x.f.as_ref().ok()).cloned()
        };
        let hf: Vec<F> = higher.iter().filter_map(|&j| fof(&unit.own, j)).collect();
        let ef: Vec<F> = equal.iter().filter_map(|&j| fof(&unit.own, j)).collect();
        let af: Vec<F> = agent_nb
            .iter()
            .filter_map(|&j| fof(&unit.agent, j))
            .collect();
        let mut all: Vec<&F> = vec![fr];
        all.extend(hf.iter());
        all.extend(ef.iter());
        all.extend(af.iter());
        let sc = schema(self.policy, &unit.part);
        let enc = self.encoder(sc, &all);
        let approx = enc.approx;
        let m_r = enc.define(&enc.lower(fr));
        let m_h: Vec<Bool> = hf.iter().map(|f| enc.define(&enc.lower(f))).collect();
        let m_e: Vec<Bool> = ef.iter().map(|f| enc.define(&enc.lower(f))).collect();
        let m_a: Vec<Bool> = af.iter().map(|f| enc.define(&enc.lower(f))).collect();

        let mut rq = RuleQs {
            unit,
            i,
            r,
            owner: &owner,
            enc,
            approx,
            exact: !inexact,
            higher,
            equal,
            agent_nb,
            cover,
            m_r,
            m_h,
            m_e,
            m_a,
        };
        let mut sample: Option<Values> = None;
        if vacuity {
            match self.vacuous(&mut rq, out) {
                Some(v) => sample = Some(v),
                None => return,
            }
        }
        if e < Effect::Deny && rq.cover.iter().any(|c| *c) && self.overridden(&mut rq, sample, out)
        {
            return;
        }
        if self.opts.level <= Severity::Info && e < Effect::Deny {
            self.partial_overlaps(&mut rq, out);
        }
        self.redundant(&mut rq, out);
        if escalation {
            self.escalation(&mut rq, out);
        }
    }

    /// Vacuous? The rule matches no request. Returns a request it matches,
    /// or `None` when there is nothing more to ask.
    fn vacuous(&mut self, rq: &mut RuleQs<'_, '_, '_>, out: &mut Vec<Finding>) -> Option<Values> {
        let r = rq.r;
        let q = rq.question("matches any request");
        let m_r = rq.m_r.clone();
        match self.ask(
            &mut rq.enc,
            &[m_r],
            &q,
            rq.exact,
            Inconclusive::Report(STATE_LIMIT),
            out,
        ) {
            Answer::Sat(v) => Some(v),
            Answer::Unsat => {
                out.push(self.about(
                    &q,
                    FindingKind::Vacuous,
                    format!("rule {} matches no request", r.rule.id),
                ));
                None
            }
            Answer::Undecided => None,
        }
    }

    /// Overridden (dead)? Higher rules together match every request the rule
    /// matches. Returns whether the rule's questions end here.
    fn overridden(
        &mut self,
        rq: &mut RuleQs<'_, '_, '_>,
        sample: Option<Values>,
        out: &mut Vec<Finding>,
    ) -> bool {
        let (r, unit, e) = (rq.r, rq.unit, rq.r.rule.effect);
        let q = rq.question("is overridden");
        let uncovered = |keep: &[bool], rq: &RuleQs<'_, '_, '_>| -> Vec<Bool> {
            let mut asm = vec![rq.m_r.clone()];
            asm.extend(
                rq.m_h
                    .iter()
                    .zip(keep)
                    .filter(|(_, k)| **k)
                    .map(|(b, _)| b.not()),
            );
            asm
        };
        let asm = uncovered(&rq.cover, rq);
        match self.ask(
            &mut rq.enc,
            &asm,
            &q,
            rq.exact,
            Inconclusive::Report(LIMIT_OR_NEIGHBOUR),
            out,
        ) {
            Answer::Sat(_) => return false,
            Answer::Undecided => return true,
            Answer::Unsat => {}
        }
        // Deletion-based minimisation in rule order (deterministic).
        let mut keep: Vec<bool> = rq.cover.clone();
        for k in 0..rq.higher.len() {
            if !keep.get(k).copied().unwrap_or(false) {
                continue;
            }
            if let Some(slot) = keep.get_mut(k) {
                *slot = false;
            }
            let asm = uncovered(&keep, rq);
            if !matches!(
                self.check(&mut rq.enc, &asm),
                Outcome::Unsat { conclusive: true }
            ) {
                if let Some(slot) = keep.get_mut(k) {
                    *slot = true;
                }
            }
        }
        let cover: Vec<RuleRef> = rq
            .higher
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .filter_map(|(&j, _)| unit.own.get(j).map(RInfo::rref))
            .collect();
        let sample = match sample {
            Some(v) => Some(v),
            None => match self.check(&mut rq.enc, std::slice::from_ref(&rq.m_r)) {
                Outcome::Sat(v) => Some(v),
                _ => None,
            },
        };
        let ids: Vec<String> = cover.iter().map(|c| c.id.to_string()).collect();
        let mut f = self.about(
            &q,
            FindingKind::Overridden,
            format!(
                "rule {} never takes effect: {} {} every request it matches",
                r.rule.id,
                ids.join(", "),
                if ids.len() == 1 {
                    "overrides"
                } else {
                    "together override"
                }
            ),
        );
        f.related = cover;
        let f = match sample {
            Some(v) => {
                let req = request(self.policy, &unit.who, &unit.part, &v);
                let q = rq.question("never takes effect");
                let claim = "the rule is overridden";
                self.confirm(&q, req, |cx, req| match cx.replay(req) {
                    Ok(d) if d.effect > e && d.matched.iter().any(|m| m.id == r.rule.id) => {
                        f.witness = Some(req.clone());
                        Ok(f)
                    }
                    Ok(d) => Err(Question::refuted(
                        claim,
                        format!("{} ({})", d.effect, d.reason),
                    )),
                    Err(err) => Err(Question::refuted(claim, err)),
                })
            }
            None => f,
        };
        out.push(f);
        true
    }

    /// Exceptions carved out of the rule by higher rules (info).
    fn partial_overlaps(&mut self, rq: &mut RuleQs<'_, '_, '_>, out: &mut Vec<Finding>) {
        let (r, unit, e) = (rq.r, rq.unit, rq.r.rule.effect);
        for (k, &j) in rq.higher.iter().enumerate() {
            let (Some(h), Some(mh)) = (unit.own.get(j), rq.m_h.get(k)) else {
                continue;
            };
            let q = rq.question(&format!("overlaps rule {}", h.rule.id));
            let Answer::Sat(v) = self.ask(
                &mut rq.enc,
                &[rq.m_r.clone(), mh.clone()],
                &q,
                true,
                Inconclusive::Accept,
                out,
            ) else {
                continue;
            };
            let req = request(self.policy, &unit.who, &unit.part, &v);
            let q = rq.question("overlaps");
            let claim = format!("rules {} and {} both match", r.rule.id, h.rule.id);
            let f = self.confirm(&q, req, |cx, req| match cx.replay(req) {
                Ok(d)
                    if d.effect >= h.rule.effect
                        && d.matched.iter().any(|m| m.id == r.rule.id)
                        && d.matched.iter().any(|m| m.id == h.rule.id) =>
                {
                    let mut f = cx.about(
                        &q,
                        FindingKind::PartialOverlap,
                        format!(
                            "rule {} ({}) is partly overridden by rule {} ({})",
                            r.rule.id, e, h.rule.id, h.rule.effect
                        ),
                    );
                    f.related = vec![h.rref()];
                    f.witness = Some(req.clone());
                    Ok(f)
                }
                Ok(d) => Err(Question::refuted(
                    &claim,
                    format!("{} ({})", d.effect, d.reason),
                )),
                Err(err) => Err(Question::refuted(&claim, err)),
            });
            out.push(f);
        }
    }

    /// Redundant? A rule of the same effect matches every request it matches.
    fn redundant(&mut self, rq: &mut RuleQs<'_, '_, '_>, out: &mut Vec<Finding>) {
        let (r, unit, i) = (rq.r, rq.unit, rq.i);
        for (k, &j) in rq.equal.iter().enumerate() {
            let (Some(s), Some(ms)) = (unit.own.get(j), rq.m_e.get(k)) else {
                continue;
            };
            if !self.opts.naive && surely_not_contained(&r.rule.matcher, &s.rule.matcher) {
                continue;
            }
            let q = rq.question(&format!("is contained in rule {}", s.rule.id));
            match self.ask(
                &mut rq.enc,
                &[rq.m_r.clone(), ms.not()],
                &q,
                rq.exact,
                Inconclusive::Report(LIMIT_OR_NEIGHBOUR),
                out,
            ) {
                Answer::Sat(_) | Answer::Undecided => continue,
                Answer::Unsat => {}
            }
            // Equal match sets: the later rule is the redundant one.
            if j > i
                && matches!(
                    self.check(&mut rq.enc, &[ms.clone(), rq.m_r.not()]),
                    Outcome::Unsat { conclusive: true }
                )
            {
                continue;
            }
            let mut f = self.about(
                &q,
                FindingKind::Redundant,
                format!(
                    "rule {} is redundant: rule {} ({}) already matches every request it matches",
                    r.rule.id, s.rule.id, s.rule.effect
                ),
            );
            f.related = vec![s.rref()];
            // Prefer an example the rule decides (not one a higher rule overrides).
            let mut decided = vec![rq.m_r.clone()];
            decided.extend(rq.m_h.iter().map(|b| b.not()));
            let sample = match self.check(&mut rq.enc, &decided) {
                Outcome::Sat(v) => Outcome::Sat(v),
                _ => self.check(&mut rq.enc, std::slice::from_ref(&rq.m_r)),
            };
            let f = match sample {
                Outcome::Sat(v) => {
                    let req = request(self.policy, &unit.who, &unit.part, &v);
                    let q = rq.question("is redundant");
                    let claim = "both rules match";
                    self.confirm(&q, req, |cx, req| match cx.replay(req) {
                        Ok(d)
                            if d.matched.iter().any(|m| m.id == r.rule.id)
                                && d.matched.iter().any(|m| m.id == s.rule.id) =>
                        {
                            f.witness = Some(req.clone());
                            Ok(f)
                        }
                        Ok(d) => Err(Question::refuted(
                            claim,
                            format!(
                                "matched {:?}",
                                d.matched
                                    .iter()
                                    .map(|m| m.id.to_string())
                                    .collect::<Vec<_>>()
                            ),
                        )),
                        Err(err) => Err(Question::refuted(claim, err)),
                    })
                }
                _ => f,
            };
            out.push(f);
            break;
        }
    }

    /// Skill escalation: the skill's rule decides, the agent refuses.
    fn escalation(&mut self, rq: &mut RuleQs<'_, '_, '_>, out: &mut Vec<Finding>) {
        let (r, unit, e) = (rq.r, rq.unit, rq.r.rule.effect);
        let skill_side = Side::of(
            &rq.higher
                .iter()
                .zip(&rq.m_h)
                .filter_map(|(&j, b)| unit.own.get(j).map(|x| (x.rule.effect, b.clone())))
                .collect::<Vec<_>>(),
        );
        // The agent does not grant it: no agent rule at most as strict matches
        // (its own denies overriding its grants are its exceptions, not an escalation).
        let agent_grants = Bool::or(
            &rq.agent_nb
                .iter()
                .zip(&rq.m_a)
                .filter(|(&j, _)| unit.agent.get(j).is_some_and(|x| x.rule.effect <= e))
                .map(|(_, b)| b.clone())
                .collect::<Vec<_>>(),
        );
        let not_higher = Bool::and(&[
            skill_side.deny.not(),
            if e == Effect::Allow {
                skill_side.ask.not()
            } else {
                Bool::from_bool(true)
            },
        ]);
        let agent_refuses = rq.enc.define(&agent_grants.not());
        let nh = rq.enc.define(&not_higher);
        let q = rq.question("grants more than its agent");
        let Answer::Sat(v) = self.ask(
            &mut rq.enc,
            &[rq.m_r.clone(), nh, agent_refuses],
            &q,
            rq.exact,
            Inconclusive::Report(LIMIT_OR_NEIGHBOUR),
            out,
        ) else {
            return;
        };
        let req = request(self.policy, &unit.who, &unit.part, &v);
        let q = rq.question("escalates");
        let claim = "the skill grants and the agent refuses";
        let f = self.confirm(&q, req, |cx, req| {
            let as_agent = Request {
                skill: None,
                ..req.clone()
            };
            match (cx.replay(req), cx.replay(&as_agent)) {
                (Ok(d), Ok(ad))
                    if d.effect > e
                        && ad.effect > e
                        && ad.matched.iter().all(|m| m.effect > e)
                        && d.matched.iter().any(|m| m.id == r.rule.id) =>
                {
                    let mut f = cx.about(
                        &q,
                        FindingKind::SkillEscalation,
                        format!(
                            "skill rule {} grants ({}) a request that agent {} does not grant (it decides {})",
                            r.rule.id, e, unit.who.agent, ad.effect
                        ),
                    );
                    f.related = ad
                        .deciding
                        .iter()
                        .filter_map(|m| {
                            unit.agent
                                .iter()
                                .find(|x| x.rule.id == m.id)
                                .map(RInfo::rref)
                        })
                        .collect();
                    if f.related.is_empty() {
                        f.reason = Some(format!(
                            "agent {} has no {} rule that matches it (default deny)",
                            unit.who.agent,
                            unit.part.describe()
                        ));
                    }
                    f.witness = Some(req.clone());
                    Ok(f)
                }
                (Ok(d), Ok(ad)) => Err(Question::refuted(
                    claim,
                    format!("skill request: {}, agent request: {}", d.effect, ad.effect),
                )),
                (Err(err), _) | (_, Err(err)) => Err(Question::refuted(claim, err)),
            }
        });
        out.push(f);
    }
}

/// One rule's questions: the rule and its neighbours encoded on one solver.
struct RuleQs<'a, 'p, 's> {
    unit: &'a Unit<'p>,
    i: usize,
    r: &'a RInfo<'p>,
    owner: &'a str,
    enc: Encoder<'s>,
    approx: bool,
    /// Every neighbour is encoded: an "impossible" answer can be trusted.
    exact: bool,
    /// Same-unit rules of a stricter effect that may overlap, …
    higher: Vec<usize>,
    /// … of the same effect, …
    equal: Vec<usize>,
    /// … and the agent's rules (for a skill).
    agent_nb: Vec<usize>,
    /// Per higher rule: whether the overridden question counts it.
    cover: Vec<bool>,
    m_r: Bool,
    m_h: Vec<Bool>,
    m_e: Vec<Bool>,
    m_a: Vec<Bool>,
}

impl<'a> RuleQs<'a, '_, '_> {
    fn question(&self, what: &str) -> Question<'a> {
        Question::rule(self.owner, &self.unit.part, self.r, what, self.approx)
    }
}
