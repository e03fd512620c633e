//! The findings: per rule, per cross-layer pair, per assertion.
//!
//! Work is split into *units*: one principal (agent or skill) in one
//! partition (kind + action, or tool). Rules of different units never match
//! the same request, so every question is asked within a unit (plus, for a
//! skill, its agent's rules of the same partition, and for cross-layer
//! checks, the other layer's rules).
//!
//! For each rule the questions share one solver: the rule, its candidate
//! neighbours (cheap filters, or in naive mode every rule confirmed by a
//! pairwise solver call) and literals standing for each rule's match, asked
//! under assumptions.

use crate::encode::{Cache, Encoder, Limits, Outcome, Values};
use crate::formula::{
    matcher_formula, Atom, Part, Schema, Slot, Unsupported, F, HOST_DOMAIN, HOST_V4, HOST_V6,
};
use crate::prune::{
    glob_may_overlap, may_overlap, mentions_free_dims, net_range, required_free_dims,
    surely_contains, surely_not_contained, surely_satisfiable, Index,
};
use crate::report::{Finding, FindingKind, RuleRef, Stats};
use crate::witness::{request, Who};
use crate::Options;
use agentpol_core::diag::Severity;
use agentpol_core::eval::evaluate;
use agentpol_core::ir::{
    Action, Agent, ArgType, AssertTarget, Assertion, Effect, Host, Matcher, Policy, Rule, SourceRef,
};
use agentpol_core::request::{Decision, Request, Resource};
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use z3::ast::Bool;

/// A rule with its owner and formula.
pub(crate) struct RInfo<'p> {
    pub(crate) rule: &'p Rule,
    pub(crate) owner: String,
    pub(crate) f: Result<F, Unsupported>,
}

impl RInfo<'_> {
    pub(crate) fn rref(&self) -> RuleRef {
        RuleRef {
            id: self.rule.id.clone(),
            effect: self.rule.effect,
            owner: self.owner.clone(),
            src: self.rule.src,
        }
    }
}

/// A principal's rules in one partition.
pub(crate) struct Unit<'p> {
    pub(crate) who: Who,
    pub(crate) part: Part,
    pub(crate) own: Vec<RInfo<'p>>,
    /// For a skill: its agent's rules in the same partition.
    pub(crate) agent: Vec<RInfo<'p>>,
    own_index: Index,
    agent_index: Index,
}

pub(crate) fn schema<'p>(policy: &'p Policy, part: &Part) -> Schema<'p> {
    Schema {
        policy,
        tool: match part {
            Part::Tool(t) => policy.tool(t),
            _ => None,
        },
    }
}

pub(crate) fn infos<'p>(
    policy: &'p Policy,
    rules: &'p [Rule],
    owner: &str,
    part: &Part,
) -> Vec<RInfo<'p>> {
    let sc = schema(policy, part);
    rules
        .iter()
        .filter(|r| part.contains(r))
        .map(|r| RInfo {
            rule: r,
            owner: owner.to_string(),
            f: matcher_formula(&r.matcher, &sc),
        })
        .collect()
}

impl<'p> Unit<'p> {
    pub(crate) fn new(
        policy: &'p Policy,
        agent: &'p Agent,
        skill: Option<usize>,
        part: Part,
    ) -> Option<Unit<'p>> {
        let (who, own, agent_rules) = match skill.and_then(|i| agent.skills.get(i)) {
            Some(s) => {
                let who = Who {
                    agent: agent.name.clone(),
                    skill: Some(s.name.clone()),
                };
                let own = infos(policy, &s.rules, &who.owner(), &part);
                let ag = infos(policy, &agent.rules, &agent.name, &part);
                (who, own, ag)
            }
            None => {
                let who = Who {
                    agent: agent.name.clone(),
                    skill: None,
                };
                let own = infos(policy, &agent.rules, &agent.name, &part);
                (who, own, Vec::new())
            }
        };
        if own.is_empty() {
            return None;
        }
        let own_index = Index::new(&own.iter().map(|r| &r.rule.matcher).collect::<Vec<_>>());
        let agent_index = Index::new(
            &agent_rules
                .iter()
                .map(|r| &r.rule.matcher)
                .collect::<Vec<_>>(),
        );
        Some(Unit {
            who,
            part,
            own,
            agent: agent_rules,
            own_index,
            agent_index,
        })
    }

    fn is_skill(&self) -> bool {
        self.who.skill.is_some()
    }
}

/// Per-thread state: the policy, options, caches and counters.
pub(crate) struct Ctx<'p> {
    pub(crate) policy: &'p Policy,
    pub(crate) opts: &'p Options,
    pub(crate) cache: Cache,
    pub(crate) stats: Stats,
    solver: std::rc::Rc<z3::Solver>,
}

/// The three "some rule of this effect matches" terms of one side.
pub(crate) struct Side {
    deny: Bool,
    ask: Bool,
    allow: Bool,
}

impl Side {
    fn of(rules: &[(Effect, Bool)]) -> Side {
        let any = |e: Effect| {
            Bool::or(
                &rules
                    .iter()
                    .filter(|(x, _)| *x == e)
                    .map(|(_, b)| b.clone())
                    .collect::<Vec<_>>(),
            )
        };
        Side {
            deny: any(Effect::Deny),
            ask: any(Effect::Ask),
            allow: any(Effect::Allow),
        }
    }

    /// Decision is exactly `e` (no match = deny).
    pub(crate) fn is(&self, e: Effect) -> Bool {
        let none = Bool::or(&[self.deny.clone(), self.ask.clone(), self.allow.clone()]).not();
        match e {
            Effect::Deny => Bool::or(&[self.deny.clone(), none]),
            Effect::Ask => Bool::and(&[self.deny.not(), self.ask.clone()]),
            Effect::Allow => Bool::and(&[self.deny.not(), self.ask.not(), self.allow.clone()]),
        }
    }

    /// Decision is at most `e`.
    fn at_most(&self, e: Effect) -> Bool {
        match e {
            Effect::Deny => Bool::from_bool(true),
            Effect::Ask => Bool::or(&[self.is(Effect::Ask), self.is(Effect::Allow)]),
            Effect::Allow => self.is(Effect::Allow),
        }
    }
}

/// A combined decision: the max over sides.
pub(crate) struct Dec(Vec<Side>);

pub(crate) fn side_of(rules: &[(Effect, Bool)]) -> Side {
    Side::of(rules)
}

pub(crate) fn dec_of(sides: Vec<Side>) -> Dec {
    Dec(sides)
}

impl Dec {
    pub(crate) fn at_most(&self, e: Effect) -> Bool {
        Bool::and(&self.0.iter().map(|s| s.at_most(e)).collect::<Vec<_>>())
    }
    pub(crate) fn is(&self, e: Effect) -> Bool {
        match e {
            Effect::Allow => self.at_most(Effect::Allow),
            Effect::Ask => {
                Bool::and(&[self.at_most(Effect::Ask), self.at_most(Effect::Allow).not()])
            }
            Effect::Deny => self.at_most(Effect::Ask).not(),
        }
    }
}

fn limits(opts: &Options) -> Limits {
    Limits {
        max_states: opts.max_states,
    }
}

impl<'p> Ctx<'p> {
    pub(crate) fn new(policy: &'p Policy, opts: &'p Options) -> Self {
        Ctx {
            policy,
            opts,
            cache: Cache::default(),
            stats: Stats::default(),
            solver: crate::encode::thread_solver(opts.timeout_ms),
        }
    }

    /// An encoder over `formulas` (naive mode: with a fresh cache, nothing reused).
    pub(crate) fn encoder<'s>(&mut self, sc: Schema<'s>, formulas: &[&F]) -> Encoder<'s> {
        let lim = limits(self.opts);
        if self.opts.naive {
            let mut fresh = Cache::default();
            let e = Encoder::new(self.solver.clone(), sc, formulas, lim, &mut fresh);
            self.stats.explorations += fresh.explorations;
            e
        } else {
            let before = (self.cache.explorations, self.cache.hits);
            let e = Encoder::new(self.solver.clone(), sc, formulas, lim, &mut self.cache);
            self.stats.explorations += self.cache.explorations - before.0;
            self.stats.exploration_hits += self.cache.hits - before.1;
            e
        }
    }

    pub(crate) fn check_enc(&mut self, enc: &mut Encoder<'_>, assumptions: &[Bool]) -> Outcome {
        self.check(enc, assumptions)
    }

    fn check(&mut self, enc: &mut Encoder<'_>, assumptions: &[Bool]) -> Outcome {
        let before = enc.checks;
        let o = enc.check(assumptions);
        self.stats.solver_checks += enc.checks - before;
        o
    }

    fn replay(&mut self, req: &Request) -> Result<Decision, String> {
        self.stats.replays += 1;
        evaluate(self.policy, req).map_err(|e| format!("{}: {}", e.code.code, e.message))
    }

    fn finding(
        &self,
        kind: FindingKind,
        unit_owner: &str,
        part: &Part,
        src: SourceRef,
        rule: Option<RuleRef>,
        message: String,
    ) -> Finding {
        Finding {
            kind,
            severity: kind.severity(),
            owner: unit_owner.to_string(),
            part: part.describe(),
            src,
            rule,
            related: Vec::new(),
            witness: None,
            other_witnesses: Vec::new(),
            message,
            reason: None,
        }
    }

    fn unknown(&self, owner: &str, part: &Part, r: &RInfo<'_>, what: &str, why: String) -> Finding {
        let mut f = self.finding(
            FindingKind::Unknown,
            owner,
            part,
            r.rule.src,
            Some(r.rref()),
            format!("could not decide whether rule {} {what}", r.rule.id),
        );
        f.reason = Some(why);
        f
    }

    /// A replay disagreed: an internal error, or an unknown when the encoding
    /// over-approximates the request space there.
    #[allow(clippy::too_many_arguments)]
    fn disagreement(
        &self,
        approx: bool,
        owner: &str,
        part: &Part,
        r: &RInfo<'_>,
        what: &str,
        claim: &str,
        got: String,
        req: Request,
    ) -> Finding {
        let kind = if approx {
            FindingKind::Unknown
        } else {
            FindingKind::Internal
        };
        let mut f = self.finding(
            kind,
            owner,
            part,
            r.rule.src,
            Some(r.rref()),
            if approx {
                format!("could not decide whether rule {} {what}", r.rule.id)
            } else {
                format!(
                    "internal error: the solver and the reference evaluator disagree about rule {}",
                    r.rule.id
                )
            },
        );
        f.reason = Some(format!(
            "the solver found a request where {claim}; the reference evaluator says {got}"
        ));
        f.witness = Some(req);
        f
    }

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
                out.push(self.unknown(
                    &owner,
                    &unit.part,
                    r,
                    "conflicts with others",
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
        let mut enc = self.encoder(sc, &all);
        let approx = enc.approx;
        let m_r = enc.define(&enc.lower(fr));
        let m_h: Vec<Bool> = hf.iter().map(|f| enc.define(&enc.lower(f))).collect();
        let m_e: Vec<Bool> = ef.iter().map(|f| enc.define(&enc.lower(f))).collect();
        let m_a: Vec<Bool> = af.iter().map(|f| enc.define(&enc.lower(f))).collect();

        // Vacuous?
        let mut sample: Option<Values> = None;
        if vacuity {
            match self.check(&mut enc, std::slice::from_ref(&m_r)) {
                Outcome::Sat(v) => sample = Some(v),
                Outcome::Unsat { conclusive: true } if !inexact => {
                    let mut f = self.finding(
                        FindingKind::Vacuous,
                        &owner,
                        &unit.part,
                        r.rule.src,
                        Some(r.rref()),
                        format!("rule {} matches no request", r.rule.id),
                    );
                    f.reason = None;
                    out.push(f);
                    return;
                }
                Outcome::Unsat { .. } => {
                    out.push(self.unknown(
                        &owner,
                        &unit.part,
                        r,
                        "matches any request",
                        "an exploration hit its state limit".into(),
                    ));
                    return;
                }
                Outcome::Unknown(why) => {
                    out.push(self.unknown(&owner, &unit.part, r, "matches any request", why));
                    return;
                }
            }
        }

        // Overridden (dead)?
        if e < Effect::Deny && cover.iter().any(|c| *c) {
            let mut asm = vec![m_r.clone()];
            asm.extend(
                m_h.iter()
                    .zip(&cover)
                    .filter(|(_, c)| **c)
                    .map(|(b, _)| b.not()),
            );
            match self.check(&mut enc, &asm) {
                Outcome::Sat(_) => {}
                Outcome::Unsat { conclusive: true } if !inexact => {
                    // Deletion-based minimisation in rule order (deterministic).
                    let mut keep: Vec<bool> = cover.clone();
                    for k in 0..higher.len() {
                        if !keep.get(k).copied().unwrap_or(false) {
                            continue;
                        }
                        if let Some(slot) = keep.get_mut(k) {
                            *slot = false;
                        }
                        let mut asm = vec![m_r.clone()];
                        asm.extend(
                            m_h.iter()
                                .zip(&keep)
                                .filter(|(_, k)| **k)
                                .map(|(b, _)| b.not()),
                        );
                        if !matches!(
                            self.check(&mut enc, &asm),
                            Outcome::Unsat { conclusive: true }
                        ) {
                            if let Some(slot) = keep.get_mut(k) {
                                *slot = true;
                            }
                        }
                    }
                    let cover: Vec<RuleRef> = higher
                        .iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .filter_map(|(&j, _)| unit.own.get(j).map(RInfo::rref))
                        .collect();
                    let sample = match sample.take() {
                        Some(v) => Some(v),
                        None => match self.check(&mut enc, std::slice::from_ref(&m_r)) {
                            Outcome::Sat(v) => Some(v),
                            _ => None,
                        },
                    };
                    let ids: Vec<String> = cover.iter().map(|c| c.id.to_string()).collect();
                    let mut f = self.finding(
                        FindingKind::Overridden,
                        &owner,
                        &unit.part,
                        r.rule.src,
                        Some(r.rref()),
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
                    if let Some(v) = sample {
                        let req = request(self.policy, &unit.who, &unit.part, &v);
                        match self.replay(&req) {
                            Ok(d)
                                if d.effect > e && d.matched.iter().any(|m| m.id == r.rule.id) =>
                            {
                                f.witness = Some(req);
                            }
                            Ok(d) => {
                                out.push(self.disagreement(
                                    approx,
                                    &owner,
                                    &unit.part,
                                    r,
                                    "never takes effect",
                                    "the rule is overridden",
                                    format!("{} ({})", d.effect, d.reason),
                                    req,
                                ));
                                return;
                            }
                            Err(err) => {
                                out.push(self.disagreement(
                                    approx,
                                    &owner,
                                    &unit.part,
                                    r,
                                    "never takes effect",
                                    "the rule is overridden",
                                    err,
                                    req,
                                ));
                                return;
                            }
                        }
                    }
                    out.push(f);
                    return;
                }
                Outcome::Unsat { .. } => {
                    out.push(self.unknown(&owner, &unit.part, r, "is overridden", "an exploration hit its state limit, or a neighbour uses an unmodelled construct".into()));
                    return;
                }
                Outcome::Unknown(why) => {
                    out.push(self.unknown(&owner, &unit.part, r, "is overridden", why));
                    return;
                }
            }
        }

        // Exceptions carved out of it (info).
        if self.opts.level <= Severity::Info && e < Effect::Deny {
            for (k, &j) in higher.iter().enumerate() {
                let (Some(h), Some(mh)) = (unit.own.get(j), m_h.get(k)) else {
                    continue;
                };
                match self.check(&mut enc, &[m_r.clone(), mh.clone()]) {
                    Outcome::Sat(v) => {
                        let req = request(self.policy, &unit.who, &unit.part, &v);
                        match self.replay(&req) {
                            Ok(d)
                                if d.effect >= h.rule.effect
                                    && d.matched.iter().any(|m| m.id == r.rule.id)
                                    && d.matched.iter().any(|m| m.id == h.rule.id) =>
                            {
                                let mut f = self.finding(
                                    FindingKind::PartialOverlap,
                                    &owner,
                                    &unit.part,
                                    r.rule.src,
                                    Some(r.rref()),
                                    format!(
                                        "rule {} ({}) is partly overridden by rule {} ({})",
                                        r.rule.id, e, h.rule.id, h.rule.effect
                                    ),
                                );
                                f.related = vec![h.rref()];
                                f.witness = Some(req);
                                out.push(f);
                            }
                            Ok(d) => out.push(self.disagreement(
                                approx,
                                &owner,
                                &unit.part,
                                r,
                                "overlaps",
                                &format!("rules {} and {} both match", r.rule.id, h.rule.id),
                                format!("{} ({})", d.effect, d.reason),
                                req,
                            )),
                            Err(err) => out.push(self.disagreement(
                                approx,
                                &owner,
                                &unit.part,
                                r,
                                "overlaps",
                                &format!("rules {} and {} both match", r.rule.id, h.rule.id),
                                err,
                                req,
                            )),
                        }
                    }
                    Outcome::Unsat { .. } => {}
                    Outcome::Unknown(why) => out.push(self.unknown(
                        &owner,
                        &unit.part,
                        r,
                        &format!("overlaps rule {}", h.rule.id),
                        why,
                    )),
                }
            }
        }

        // Redundant?
        for (k, &j) in equal.iter().enumerate() {
            let (Some(s), Some(ms)) = (unit.own.get(j), m_e.get(k)) else {
                continue;
            };
            if !self.opts.naive && surely_not_contained(&r.rule.matcher, &s.rule.matcher) {
                continue;
            }
            match self.check(&mut enc, &[m_r.clone(), ms.not()]) {
                Outcome::Unsat { conclusive: true } if !inexact => {
                    if j > i {
                        // Equal match sets: the later rule is the redundant one.
                        if matches!(self.check(&mut enc, &[ms.clone(), m_r.not()]), Outcome::Unsat { conclusive: true }) {
                            continue;
                        }
                    }
                    let mut f = self.finding(
                        FindingKind::Redundant,
                        &owner,
                        &unit.part,
                        r.rule.src,
                        Some(r.rref()),
                        format!(
                            "rule {} is redundant: rule {} ({}) already matches every request it matches",
                            r.rule.id, s.rule.id, s.rule.effect
                        ),
                    );
                    f.related = vec![s.rref()];
                    // Prefer an example the rule decides (not one a higher rule overrides).
                    let mut decided = vec![m_r.clone()];
                    decided.extend(m_h.iter().map(|b| b.not()));
                    let sample = match self.check(&mut enc, &decided) {
                        Outcome::Sat(v) => Outcome::Sat(v),
                        _ => self.check(&mut enc, std::slice::from_ref(&m_r)),
                    };
                    if let Outcome::Sat(v) = sample {
                        let req = request(self.policy, &unit.who, &unit.part, &v);
                        match self.replay(&req) {
                            Ok(d) if d.matched.iter().any(|m| m.id == r.rule.id)
                                && d.matched.iter().any(|m| m.id == s.rule.id) =>
                            {
                                f.witness = Some(req);
                            }
                            Ok(d) => {
                                out.push(self.disagreement(approx, &owner, &unit.part, r, "is redundant", "both rules match", format!("matched {:?}", d.matched.iter().map(|m| m.id.to_string()).collect::<Vec<_>>()), req));
                                break;
                            }
                            Err(err) => {
                                out.push(self.disagreement(approx, &owner, &unit.part, r, "is redundant", "both rules match", err, req));
                                break;
                            }
                        }
                    }
                    out.push(f);
                    break;
                }
                Outcome::Sat(_) => {}
                Outcome::Unsat { .. } => out.push(self.unknown(&owner, &unit.part, r, &format!("is contained in rule {}", s.rule.id), "an exploration hit its state limit, or a neighbour uses an unmodelled construct".into())),
                Outcome::Unknown(why) => out.push(self.unknown(&owner, &unit.part, r, &format!("is contained in rule {}", s.rule.id), why)),
            }
        }

        // Skill escalation: the skill's rule decides, the agent refuses.
        if escalation {
            let skill_side = Side::of(
                &higher
                    .iter()
                    .zip(&m_h)
                    .filter_map(|(&j, b)| unit.own.get(j).map(|x| (x.rule.effect, b.clone())))
                    .collect::<Vec<_>>(),
            );
            // The agent does not grant it: no agent rule at most as strict matches
            // (its own denies overriding its grants are its exceptions, not an escalation).
            let agent_grants = Bool::or(
                &agent_nb
                    .iter()
                    .zip(&m_a)
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
            let agent_refuses = enc.define(&agent_grants.not());
            let nh = enc.define(&not_higher);
            match self.check(&mut enc, &[m_r.clone(), nh, agent_refuses]) {
                Outcome::Sat(v) => {
                    let req = request(self.policy, &unit.who, &unit.part, &v);
                    let as_agent = Request {
                        skill: None,
                        ..req.clone()
                    };
                    match (self.replay(&req), self.replay(&as_agent)) {
                        (Ok(d), Ok(ad))
                            if d.effect > e
                                && ad.effect > e
                                && ad.matched.iter().all(|m| m.effect > e)
                                && d.matched.iter().any(|m| m.id == r.rule.id) =>
                        {
                            let mut f = self.finding(
                                FindingKind::SkillEscalation,
                                &owner,
                                &unit.part,
                                r.rule.src,
                                Some(r.rref()),
                                format!(
                                    "skill rule {} grants ({}) a request that agent {} does not grant (it decides {})",
                                    r.rule.id, e, unit.who.agent, ad.effect
                                ),
                            );
                            f.related = ad
                                .deciding
                                .iter()
                                .filter_map(|m| unit.agent.iter().find(|x| x.rule.id == m.id).map(RInfo::rref))
                                .collect();
                            if f.related.is_empty() {
                                f.reason = Some(format!(
                                    "agent {} has no {} rule that matches it (default deny)",
                                    unit.who.agent,
                                    unit.part.describe()
                                ));
                            }
                            f.witness = Some(req);
                            out.push(f);
                        }
                        (Ok(d), Ok(ad)) => out.push(self.disagreement(approx, &owner, &unit.part, r, "escalates", "the skill grants and the agent refuses", format!("skill request: {}, agent request: {}", d.effect, ad.effect), req)),
                        (Err(err), _) | (_, Err(err)) => out.push(self.disagreement(approx, &owner, &unit.part, r, "escalates", "the skill grants and the agent refuses", err, req)),
                    }
                }
                Outcome::Unsat { conclusive: true } if !inexact => {}
                Outcome::Unsat { .. } => out.push(self.unknown(&owner, &unit.part, r, "grants more than its agent", "an exploration hit its state limit, or a neighbour uses an unmodelled construct".into())),
                Outcome::Unknown(why) => out.push(self.unknown(&owner, &unit.part, r, "grants more than its agent", why)),
            }
        }
    }
}

/// Representative addresses: one per region that the networks cut the
/// address space into (per family), plus "no address". A net decision that
/// denies all of them denies every address.
fn representatives(nets: &[IpNet]) -> Vec<Option<IpAddr>> {
    let mut out: Vec<Option<IpAddr>> = vec![None];
    for v4 in [true, false] {
        let max: u128 = if v4 { u128::from(u32::MAX) } else { u128::MAX };
        let mut cuts: Vec<u128> = vec![0];
        for n in nets {
            let (f, lo, hi) = net_range(n);
            if f == v4 {
                cuts.push(lo);
                if hi < max {
                    cuts.push(hi + 1);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        for c in cuts {
            out.push(Some(if v4 {
                IpAddr::V4(Ipv4Addr::from(u32::try_from(c).unwrap_or(0)))
            } else {
                // Skip the IPv4-mapped block: those addresses are IPv4 requests.
                let mapped_lo = 0xffff_u128 << 32;
                let c = if (mapped_lo..=mapped_lo | 0xffff_ffff).contains(&c) {
                    (mapped_lo | 0xffff_ffff) + 1
                } else {
                    c
                };
                IpAddr::V6(Ipv6Addr::from(c))
            }));
        }
    }
    out.dedup();
    out
}

fn contains(net: &IpNet, a: IpAddr) -> bool {
    agentpol_core::eval::matching::cidr_contains(net, a)
}

impl<'p> Ctx<'p> {
    /// Cross-layer checks of a unit: tool URLs vs net, exec binaries vs fs read.
    pub(crate) fn cross_layer(
        &mut self,
        unit: &Unit<'_>,
        agent: &'p Agent,
        out: &mut Vec<Finding>,
    ) {
        let skill = unit
            .who
            .skill
            .as_ref()
            .and_then(|s| agent.skills.iter().find(|k| &k.name == s));
        let layer = |part: &Part| -> (Vec<RInfo<'p>>, Vec<RInfo<'p>>) {
            let own = match skill {
                Some(s) => infos(self.policy, &s.rules, &unit.who.owner(), part),
                None => infos(self.policy, &agent.rules, &agent.name, part),
            };
            let ag = match skill {
                Some(_) => infos(self.policy, &agent.rules, &agent.name, part),
                None => Vec::new(),
            };
            (own, ag)
        };
        match &unit.part {
            Part::Tool(t) => {
                let Some(sig) = self.policy.tool(t) else {
                    return;
                };
                let urls: Vec<String> = sig
                    .args
                    .iter()
                    .filter(|a| a.ty == ArgType::Url)
                    .map(|a| a.name.clone())
                    .collect();
                if urls.is_empty() {
                    return;
                }
                let (net_own, net_agent) = layer(&Part::Net(Action::Connect));
                if net_own.is_empty() {
                    return;
                }
                for i in 0..unit.own.len() {
                    for u in &urls {
                        self.tool_net(unit, i, u, &net_own, &net_agent, out);
                    }
                }
            }
            Part::Exec => {
                let (fs_own, fs_agent) = layer(&Part::Fs(Action::Read));
                if fs_own.is_empty() {
                    return;
                }
                for i in 0..unit.own.len() {
                    self.exec_fs(unit, i, &fs_own, &fs_agent, out);
                }
            }
            _ => {}
        }
    }

    /// The rules of `pool` that may overlap `r` (cheap filter).
    fn overlapping<'a>(&self, r: &Rule, pool: &'a [RInfo<'p>]) -> Vec<&'a RInfo<'p>> {
        pool.iter()
            .filter(|x| x.rule.id != r.id || x.rule.src != r.src)
            .filter(|x| self.opts.naive || may_overlap(&r.matcher, &x.rule.matcher))
            .collect()
    }

    fn tool_net(
        &mut self,
        unit: &Unit<'_>,
        i: usize,
        u: &str,
        net_own: &[RInfo<'p>],
        net_agent: &[RInfo<'p>],
        out: &mut Vec<Finding>,
    ) {
        let owner = unit.who.owner();
        let Some(r) = unit.own.get(i) else { return };
        let e = r.rule.effect;
        if e == Effect::Deny {
            return;
        }
        let Ok(fr) = &r.f else { return };
        let tool_own = self.overlapping(r.rule, &unit.own);
        let tool_agent = self.overlapping(r.rule, &unit.agent);
        if tool_own.iter().chain(&tool_agent).any(|x| x.f.is_err())
            || net_own.iter().chain(net_agent).any(|x| x.f.is_err())
        {
            return;
        }
        let nets: Vec<IpNet> = net_own
            .iter()
            .chain(net_agent)
            .flat_map(|x| match &x.rule.matcher {
                Matcher::Net {
                    hosts: Some(hs), ..
                } => hs
                    .iter()
                    .filter_map(|h| match h {
                        Host::Cidr(n) => Some(crate::formula::canonical_net(n)),
                        Host::Domain(_) => None,
                    })
                    .collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        let reps = representatives(&nets);
        let ua = u.to_string();
        // A net rule's formula on this URL's host and port, for one address.
        let inst = |f: &F, addr: Option<Option<IpAddr>>| -> F {
            f.subst(&|a: &Atom| match a {
                Atom::Bool(Slot::NetTcp) => Some(F::Const(true)),
                Atom::Bool(Slot::NetDomainSome) => Some(F::Const(addr.is_some())),
                Atom::Pat(Slot::NetDomain, p) => {
                    Some(F::atom(Atom::Pat(Slot::UrlHost(ua.clone()), p.clone())))
                }
                Atom::Bool(Slot::NetAddrSome) => Some(F::Const(match addr {
                    Some(a) => a.is_some(),
                    None => true,
                })),
                Atom::Cidr(Slot::NetAddr, n) => Some(match addr {
                    Some(Some(a)) => F::Const(contains(n, a)),
                    Some(None) => F::Const(false),
                    None => F::atom(Atom::Cidr(Slot::UrlIp(ua.clone()), *n)),
                }),
                Atom::IntCmp(Slot::NetPort, op, t) => Some(F::atom(Atom::IntCmp(
                    Slot::UrlPort(ua.clone()),
                    *op,
                    t.clone(),
                ))),
                Atom::IntEq(Slot::NetPort, t) => {
                    Some(F::atom(Atom::IntEq(Slot::UrlPort(ua.clone()), t.clone())))
                }
                _ => None,
            })
        };
        // `Some(rep)`: a domain host resolved to `rep`; `None`: the URL's own IP.
        let mut variants: Vec<Option<Option<IpAddr>>> = reps.iter().map(|r| Some(*r)).collect();
        variants.push(None);
        let net_fs: Vec<(Effect, bool, Vec<F>)> = net_own
            .iter()
            .map(|x| (x.rule.effect, false, x))
            .chain(net_agent.iter().map(|x| (x.rule.effect, true, x)))
            .filter_map(|(e, ag, x)| {
                x.f.as_ref()
                    .ok()
                    .map(|f| (e, ag, variants.iter().map(|v| inst(f, *v)).collect()))
            })
            .collect();
        let tf: Vec<(Effect, bool, &F)> = tool_own
            .iter()
            .map(|x| (x.rule.effect, false, x))
            .chain(tool_agent.iter().map(|x| (x.rule.effect, true, x)))
            .filter_map(|(e, ag, x)| x.f.as_ref().ok().map(|f| (e, ag, f)))
            .collect();
        let mut all: Vec<&F> = vec![fr];
        all.extend(tf.iter().map(|x| x.2));
        for (_, _, fs) in &net_fs {
            all.extend(fs.iter());
        }
        let kind_atom = |k| F::atom(Atom::HostKind(Slot::UrlHostKind(ua.clone()), k));
        let port_known = F::atom(Atom::Bool(Slot::UrlPortKnown(ua.clone())));
        // A rule that says nothing about the port is read as meaning the default
        // port of its scheme, and one that says nothing about the scheme as
        // `https://host/`: other ports being closed is then expected, not a finding.
        let mut atoms = Vec::new();
        fr.atoms(&mut atoms);
        let explicit = atoms.iter().any(|a| {
            let s = match a {
                Atom::Pat(s, _) | Atom::IntCmp(s, _, _) | Atom::IntEq(s, _) | Atom::StrEq(s, _) => {
                    s
                }
                Atom::InIntParam(s, _) | Atom::InStrParam(s, _) => s,
                _ => return false,
            };
            *s == Slot::UrlPort(ua.clone())
        });
        let names_scheme = atoms.iter().any(|a| {
            matches!(a, Atom::Pat(s, _) | Atom::StrEq(s, _) | Atom::InStrParam(s, _)
                if *s == Slot::UrlScheme(ua.clone()))
        });
        let scheme_is = |x: &str| {
            F::atom(Atom::Pat(
                Slot::UrlScheme(ua.clone()),
                crate::strings::CharPattern::literal(x),
            ))
        };
        // Without a scheme in the rule, the URL meant is `https://...`.
        let defaults: &[(&str, i64)] = if names_scheme {
            &[
                ("https", 443),
                ("http", 80),
                ("wss", 443),
                ("ws", 80),
                ("ftp", 21),
            ]
        } else {
            &[("https", 443)]
        };
        let default_port = F::and(
            std::iter::once(F::or(defaults.iter().map(|(x, _)| scheme_is(x)).collect()))
                .chain(defaults.iter().map(|(x, p)| {
                    F::or(vec![
                        F::not(scheme_is(x)),
                        F::atom(Atom::IntEq(
                            Slot::UrlPort(ua.clone()),
                            crate::formula::IntTerm::Lit(*p),
                        )),
                    ])
                }))
                .collect(),
        );
        let scope = if explicit {
            F::Const(true)
        } else {
            default_port
        };
        let parts = host_parts(&r.rule.matcher, &ua);
        all.push(&scope);
        let guard = F::and(vec![port_known.clone(), kind_atom(HOST_DOMAIN)]);
        all.push(&guard);
        let ipg = F::or(vec![kind_atom(HOST_V4), kind_atom(HOST_V6)]);
        all.push(&ipg);
        let sc = schema(self.policy, &unit.part);
        let mut enc = self.encoder(sc, &all);
        let approx = enc.approx;
        let m_r = enc.lower(fr);
        // Tool decision = e, with r among the deciding rules.
        let t_lits: Vec<(Effect, bool, Bool)> = tf
            .iter()
            .map(|(e, ag, f)| (*e, *ag, enc.lower(f)))
            .collect();
        let side = |lits: &[(Effect, bool, Bool)], agent: bool| {
            Side::of(
                &lits
                    .iter()
                    .filter(|x| x.1 == agent)
                    .map(|x| (x.0, x.2.clone()))
                    .collect::<Vec<_>>(),
            )
        };
        let mut own_tool: Vec<(Effect, bool, Bool)> = t_lits.clone();
        own_tool.push((e, false, m_r.clone()));
        let tool_dec = if unit.is_skill() {
            Dec(vec![side(&own_tool, false), side(&t_lits, true)])
        } else {
            Dec(vec![side(&own_tool, false)])
        };
        let net_deny = |v: usize| -> Bool {
            let lits: Vec<(Effect, bool, Bool)> = net_fs
                .iter()
                .filter_map(|(e, ag, fs)| fs.get(v).map(|f| (*e, *ag, enc.lower(f))))
                .collect();
            let dec = if unit.is_skill() {
                Dec(vec![side(&lits, false), side(&lits, true)])
            } else {
                Dec(vec![side(&lits, false)])
            };
            dec.is(Effect::Deny)
        };
        let n = variants.len();
        let domain_blocked = Bool::and(&(0..n - 1).map(net_deny).collect::<Vec<_>>());
        let ip_blocked = net_deny(n - 1);
        let blocked = Bool::and(&[
            enc.lower(&port_known),
            Bool::or(&[
                Bool::and(&[enc.lower(&kind_atom(HOST_DOMAIN)), domain_blocked]),
                Bool::and(&[enc.lower(&ipg), ip_blocked]),
            ]),
        ]);
        let has_host = enc.lower(&F::not(kind_atom(crate::formula::HOST_NONE)));
        let base = Bool::and(&[
            m_r,
            tool_dec.is(e),
            enc.lower(&scope),
            enc.lower(&port_known),
            has_host,
        ]);
        // Each part of the grant the rule names (a host it lists), or the whole
        // grant: a finding when the net layer makes all of it impossible.
        for (desc, part) in &parts {
            let pb = Bool::and(&[base.clone(), enc.lower(part)]);
            let reach = enc.define(&Bool::and(&[pb.clone(), blocked.not()]));
            match self.check(&mut enc, &[reach]) {
                Outcome::Sat(_) => continue,
                Outcome::Unsat { conclusive: true } => {}
                Outcome::Unsat { .. } => {
                    out.push(self.unknown(
                        &owner,
                        &unit.part,
                        r,
                        "allows an unreachable URL",
                        "an exploration hit its state limit".into(),
                    ));
                    continue;
                }
                Outcome::Unknown(why) => {
                    out.push(self.unknown(&owner, &unit.part, r, "allows an unreachable URL", why));
                    continue;
                }
            }
            let q = enc.define(&Bool::and(&[pb, blocked.clone()]));
            match self.check(&mut enc, &[q]) {
                Outcome::Sat(v) => {
                    let req = request(self.policy, &unit.who, &unit.part, &v);
                    let host_kind = v.int(&Slot::UrlHostKind(ua.clone())).unwrap_or(HOST_DOMAIN);
                    let port =
                        u16::try_from(v.int(&Slot::UrlPort(ua.clone())).unwrap_or(0)).unwrap_or(0);
                    let net_reqs: Vec<Request> = if host_kind == HOST_DOMAIN {
                        let host = v.str(&Slot::UrlHost(ua.clone())).unwrap_or("").to_string();
                        reps.iter()
                            .map(|a| net_request(&unit.who, Some(host.clone()), *a, port))
                            .collect()
                    } else {
                        vec![net_request(
                            &unit.who,
                            None,
                            v.addr(&Slot::UrlIp(ua.clone())),
                            port,
                        )]
                    };
                    let tool_d = self.replay(&req);
                    let mut net_ok = true;
                    let mut blockers: Vec<RuleRef> = Vec::new();
                    let mut got = String::new();
                    for nr in &net_reqs {
                        match self.replay(nr) {
                            Ok(d) if d.effect == Effect::Deny => {
                                for m in &d.deciding {
                                    if let Some(x) =
                                        net_own.iter().chain(net_agent).find(|x| x.rule.id == m.id)
                                    {
                                        if !blockers.contains(&x.rref()) {
                                            blockers.push(x.rref());
                                        }
                                    }
                                }
                            }
                            Ok(d) => {
                                net_ok = false;
                                got = format!(
                                    "the connection {} is decided {}",
                                    crate::report::request_json(nr),
                                    d.effect
                                );
                            }
                            Err(err) => {
                                net_ok = false;
                                got = err;
                            }
                        }
                    }
                    match tool_d {
                        Ok(d)
                            if d.effect == e
                                && d.deciding.iter().any(|m| m.id == r.rule.id)
                                && net_ok =>
                        {
                            let mut f = self.finding(
                            FindingKind::ToolNetMismatch,
                            &owner,
                            &unit.part,
                            r.rule.src,
                            Some(r.rref()),
                            if desc.is_empty() {
                                format!(
                                    "rule {} {}s calls to tool {} whose `{u}` can never connect: the net rules of {owner} block every one",
                                    r.rule.id, e, unit_tool(&unit.part)
                                )
                            } else {
                                format!(
                                    "rule {} {}s calls to tool {} with `{u}` on {desc}, which the net rules of {owner} never let connect",
                                    r.rule.id, e, unit_tool(&unit.part)
                                )
                            },
                        );
                            f.related = blockers;
                            f.witness = Some(req);
                            f.other_witnesses = net_reqs.into_iter().take(1).collect();
                            out.push(f);
                        }
                        Ok(d) => out.push(self.disagreement(
                            approx,
                            &owner,
                            &unit.part,
                            r,
                            "allows an unreachable URL",
                            "the tool call is allowed and every connection denied",
                            if net_ok {
                                format!("the tool call is decided {} ({})", d.effect, d.reason)
                            } else {
                                got
                            },
                            req,
                        )),
                        Err(err) => out.push(self.disagreement(
                            approx,
                            &owner,
                            &unit.part,
                            r,
                            "allows an unreachable URL",
                            "the tool call is allowed and every connection denied",
                            err,
                            req,
                        )),
                    }
                }
                Outcome::Unsat { conclusive: true } => {}
                Outcome::Unsat { .. } => out.push(self.unknown(
                    &owner,
                    &unit.part,
                    r,
                    "allows an unreachable URL",
                    "an exploration hit its state limit".into(),
                )),
                Outcome::Unknown(why) => {
                    out.push(self.unknown(&owner, &unit.part, r, "allows an unreachable URL", why))
                }
            }
        }
    }

    fn exec_fs(
        &mut self,
        unit: &Unit<'_>,
        i: usize,
        fs_own: &[RInfo<'p>],
        fs_agent: &[RInfo<'p>],
        out: &mut Vec<Finding>,
    ) {
        let owner = unit.who.owner();
        let Some(r) = unit.own.get(i) else { return };
        if r.rule.effect != Effect::Allow {
            return;
        }
        let Ok(fr) = &r.f else { return };
        let Matcher::Exec { binaries, .. } = &r.rule.matcher else {
            return;
        };
        let exec_own = self.overlapping(r.rule, &unit.own);
        let exec_agent = self.overlapping(r.rule, &unit.agent);
        let naive = self.opts.naive;
        let reads = |pool: &'_ [RInfo<'p>]| -> Vec<(Effect, F, RuleRef)> {
            pool.iter()
                .filter(|x| {
                    naive
                        || match &x.rule.matcher {
                            Matcher::Fs { globs } => globs
                                .iter()
                                .any(|g| binaries.iter().any(|b| glob_may_overlap(g, b))),
                            _ => false,
                        }
                })
                .filter_map(|x| {
                    x.f.as_ref().ok().map(|f| {
                        (
                            x.rule.effect,
                            f.subst(&|a: &Atom| match a {
                                Atom::Glob(Slot::FsPath, g) => {
                                    Some(F::atom(Atom::Glob(Slot::ExecPath, g.clone())))
                                }
                                _ => None,
                            }),
                            x.rref(),
                        )
                    })
                })
                .collect()
        };
        let (ro, ra) = (reads(fs_own), reads(fs_agent));
        if !naive && !ro.iter().chain(&ra).any(|(e, _, _)| *e == Effect::Deny) {
            // No deny read rule can touch the binary: nothing to report.
            return;
        }
        if exec_own.iter().chain(&exec_agent).any(|x| x.f.is_err()) {
            return;
        }
        let xo: Vec<(Effect, &F)> = exec_own
            .iter()
            .filter_map(|x| x.f.as_ref().ok().map(|f| (x.rule.effect, f)))
            .collect();
        let xa: Vec<(Effect, &F)> = exec_agent
            .iter()
            .filter_map(|x| x.f.as_ref().ok().map(|f| (x.rule.effect, f)))
            .collect();
        let mut all: Vec<&F> = vec![fr];
        all.extend(xo.iter().map(|x| x.1));
        all.extend(xa.iter().map(|x| x.1));
        all.extend(ro.iter().map(|x| &x.1));
        all.extend(ra.iter().map(|x| &x.1));
        let sc = schema(self.policy, &unit.part);
        let mut enc = self.encoder(sc, &all);
        let approx = enc.approx;
        let m_r = enc.lower(fr);
        let mut eo: Vec<(Effect, Bool)> = xo.iter().map(|(e, f)| (*e, enc.lower(f))).collect();
        eo.push((Effect::Allow, m_r.clone()));
        let ea: Vec<(Effect, Bool)> = xa.iter().map(|(e, f)| (*e, enc.lower(f))).collect();
        let fo: Vec<(Effect, Bool)> = ro.iter().map(|(e, f, _)| (*e, enc.lower(f))).collect();
        let fa: Vec<(Effect, Bool)> = ra.iter().map(|(e, f, _)| (*e, enc.lower(f))).collect();
        let (exec_dec, fs_dec) = if unit.is_skill() {
            (
                Dec(vec![Side::of(&eo), Side::of(&ea)]),
                Dec(vec![Side::of(&fo), Side::of(&fa)]),
            )
        } else {
            (Dec(vec![Side::of(&eo)]), Dec(vec![Side::of(&fo)]))
        };
        // Only an explicit deny counts: reading binaries is usually just not
        // granted (default deny), and execution does not need the read right.
        let explicit = Bool::or(
            &fo.iter()
                .chain(&fa)
                .filter(|(e, _)| *e == Effect::Deny)
                .map(|(_, b)| b.clone())
                .collect::<Vec<_>>(),
        );
        let denied = Bool::and(&[fs_dec.is(Effect::Deny), explicit]);
        // Per binary glob: a finding when every binary the rule allows under it
        // is one the fs rules refuse to read (for a literal path, that path).
        for g in binaries {
            let base = Bool::and(&[
                m_r.clone(),
                enc.lower(&F::atom(Atom::Glob(Slot::ExecPath, g.clone()))),
                exec_dec.is(Effect::Allow),
            ]);
            let readable = enc.define(&Bool::and(&[base.clone(), denied.not()]));
            match self.check(&mut enc, &[readable]) {
                Outcome::Sat(_) => continue,
                Outcome::Unsat { conclusive: true } => {}
                Outcome::Unsat { .. } => {
                    out.push(self.unknown(
                        &owner,
                        &unit.part,
                        r,
                        "allows an unreadable binary",
                        "an exploration hit its state limit".into(),
                    ));
                    continue;
                }
                Outcome::Unknown(why) => {
                    out.push(self.unknown(
                        &owner,
                        &unit.part,
                        r,
                        "allows an unreadable binary",
                        why,
                    ));
                    continue;
                }
            }
            let q = enc.define(&Bool::and(&[base, denied.clone()]));
            match self.check(&mut enc, &[q]) {
                Outcome::Sat(v) => {
                    let req = request(self.policy, &unit.who, &unit.part, &v);
                    let path = match &req.resource {
                        Resource::Exec { path, .. } => path.clone(),
                        _ => String::new(),
                    };
                    let read = Request {
                        agent: unit.who.agent.clone(),
                        skill: unit.who.skill.clone(),
                        resource: Resource::Fs {
                            action: Action::Read,
                            path,
                        },
                    };
                    match (self.replay(&req), self.replay(&read)) {
                        (Ok(d), Ok(fd))
                            if d.effect == Effect::Allow
                                && d.deciding.iter().any(|m| m.id == r.rule.id)
                                && fd.effect == Effect::Deny
                                && !fd.deciding.is_empty() =>
                        {
                            let mut f = self.finding(
                            FindingKind::ExecFsMismatch,
                            &owner,
                            &unit.part,
                            r.rule.src,
                            Some(r.rref()),
                            if g.is_literal() {
                                format!("rule {} allows executing {}, which the fs rules of {owner} forbid reading", r.rule.id, g.pattern)
                            } else {
                                format!("rule {} allows executing binaries matching {}, all of which the fs rules of {owner} forbid reading", r.rule.id, g.pattern)
                            },
                        );
                            f.related = fd
                                .deciding
                                .iter()
                                .filter_map(|m| {
                                    ro.iter()
                                        .chain(&ra)
                                        .find(|x| x.2.id == m.id)
                                        .map(|x| x.2.clone())
                                })
                                .collect();
                            f.witness = Some(req);
                            f.other_witnesses = vec![read];
                            out.push(f);
                        }
                        (Ok(d), Ok(fd)) => out.push(self.disagreement(
                            approx,
                            &owner,
                            &unit.part,
                            r,
                            "allows an unreadable binary",
                            "the execution is allowed and the read denied",
                            format!("exec {}, read {}", d.effect, fd.effect),
                            req,
                        )),
                        (Err(err), _) | (_, Err(err)) => out.push(self.disagreement(
                            approx,
                            &owner,
                            &unit.part,
                            r,
                            "allows an unreadable binary",
                            "the execution is allowed and the read denied",
                            err,
                            req,
                        )),
                    }
                }
                Outcome::Unsat { conclusive: true } => {}
                Outcome::Unsat { .. } => out.push(self.unknown(
                    &owner,
                    &unit.part,
                    r,
                    "allows an unreadable binary",
                    "an exploration hit its state limit".into(),
                )),
                Outcome::Unknown(why) => out.push(self.unknown(
                    &owner,
                    &unit.part,
                    r,
                    "allows an unreadable binary",
                    why,
                )),
            }
        }
    }
}

/// The hosts a tool rule names for url argument `u` (from its first positive
/// host test), each with its formula; or the whole grant when it names none.
fn host_parts(m: &Matcher, u: &str) -> Vec<(String, F)> {
    use agentpol_core::ir::{Scalar, SetOperand, Test, UrlField, Value};
    let Matcher::Tool { conditions, .. } = m else {
        return vec![(String::new(), F::Const(true))];
    };
    let host = |op: &agentpol_core::ir::Operand| op.arg == u && op.field == Some(UrlField::Host);
    let lit = |s: &str| {
        (
            format!("`{s}`"),
            F::atom(Atom::Pat(
                Slot::UrlHost(u.to_string()),
                crate::strings::CharPattern::literal(s),
            )),
        )
    };
    for a in conditions.iter().filter(|a| !a.negated) {
        let parts: Vec<(String, F)> = match &a.test {
            Test::HostIn { lhs, hosts } if host(lhs) => hosts
                .iter()
                .map(|h| match h {
                    Host::Domain(d) => {
                        let name = if d.wildcard {
                            format!("*.{}", d.name)
                        } else {
                            d.name.clone()
                        };
                        (
                            format!("`{name}`"),
                            F::and(vec![
                                F::atom(Atom::HostKind(
                                    Slot::UrlHostKind(u.to_string()),
                                    HOST_DOMAIN,
                                )),
                                F::atom(Atom::Pat(
                                    Slot::UrlHost(u.to_string()),
                                    crate::strings::CharPattern::domain(&d.name, d.wildcard),
                                )),
                            ]),
                        )
                    }
                    Host::Cidr(n) => {
                        let n = crate::formula::canonical_net(n);
                        let k = if matches!(n, IpNet::V4(_)) {
                            HOST_V4
                        } else {
                            HOST_V6
                        };
                        (
                            format!("`{n}`"),
                            F::and(vec![
                                F::atom(Atom::HostKind(Slot::UrlHostKind(u.to_string()), k)),
                                F::atom(Atom::Cidr(Slot::UrlIp(u.to_string()), n)),
                            ]),
                        )
                    }
                })
                .collect(),
            Test::Eq {
                lhs,
                rhs: Scalar::Lit(Value::Str(s)),
            } if host(lhs) => vec![lit(s)],
            Test::In {
                lhs,
                set: SetOperand::Lit(items),
            } if host(lhs) => items
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(lit(s)),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        if !parts.is_empty() {
            return parts;
        }
    }
    vec![(String::new(), F::Const(true))]
}

fn unit_tool(p: &Part) -> String {
    match p {
        Part::Tool(t) => t.clone(),
        other => other.describe(),
    }
}

fn net_request(who: &Who, domain: Option<String>, addr: Option<IpAddr>, port: u16) -> Request {
    Request {
        agent: who.agent.clone(),
        skill: who.skill.clone(),
        resource: Resource::Net {
            action: Action::Connect,
            proto: agentpol_core::ir::Proto::Tcp,
            addr,
            domain,
            port,
        },
    }
}

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
    p.agents = vec![crate::build::agent(
        "__assert",
        vec![Rule {
            id: agentpol_core::ir::RuleId("__assert".into()),
            effect: Effect::Allow,
            action,
            matcher: a.matcher.clone(),
            src: a.src,
            origin: Default::default(),
        }],
        Vec::new(),
    )];
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
                        let mut f = self.finding(
                            FindingKind::Unknown,
                            &unit_rules.who.owner(),
                            part,
                            a.src,
                            None,
                            format!("could not decide the {what}"),
                        );
                        f.reason = Some(format!(
                            "its pattern uses a construct the verifier does not model: {why}"
                        ));
                        out.push(f);
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
                let q = enc.define(&Bool::and(&[ma, forbidden]));
                let owner = unit_rules.who.owner();
                match self.check(&mut enc, &[q]) {
                    Outcome::Sat(v) => {
                        proved = false;
                        let req = request(self.policy, &unit_rules.who, part, &v);
                        let pp = pattern_policy(self.policy, a, *action);
                        let probe = Request {
                            agent: "__assert".into(),
                            skill: None,
                            ..req.clone()
                        };
                        self.stats.replays += 1;
                        let matches = evaluate(&pp, &probe).map(|d| d.effect == Effect::Allow);
                        let dec = self.replay(&req);
                        match (dec, matches) {
                            (Ok(d), Ok(true)) if a.forbidden.contains(&d.effect) => {
                                let mut f = self.finding(
                                    FindingKind::AssertionViolated,
                                    &owner,
                                    part,
                                    a.src,
                                    None,
                                    format!("the {what} does not hold: {owner} gets {} for a request it forbids", d.effect),
                                );
                                f.related = d
                                    .deciding
                                    .iter()
                                    .filter_map(|m| {
                                        own.iter()
                                            .chain(&ag)
                                            .find(|x| x.2.id == m.id)
                                            .map(|x| x.2.clone())
                                    })
                                    .collect();
                                f.witness = Some(req);
                                out.push(f);
                            }
                            (d, m) => {
                                let mut f = self.finding(if approx { FindingKind::Unknown } else { FindingKind::Internal }, &owner, part, a.src, None, if approx { format!("could not decide the {what}") } else { format!("internal error: the solver and the reference evaluator disagree about the {what}") });
                                f.reason = Some(format!(
                                    "the solver found a counterexample; the reference evaluator says: decision {}, pattern match {}",
                                    match d { Ok(d) => d.effect.to_string(), Err(e) => e },
                                    match m { Ok(b) => b.to_string(), Err(e) => format!("{}: {}", e.code.code, e.message) }
                                ));
                                f.witness = Some(req);
                                out.push(f);
                            }
                        }
                    }
                    Outcome::Unsat { conclusive: true } if !bad1 && !bad2 => {}
                    Outcome::Unsat { .. } => {
                        proved = false;
                        let mut f = self.finding(
                            FindingKind::Unknown,
                            &owner,
                            part,
                            a.src,
                            None,
                            format!("could not decide the {what}"),
                        );
                        f.reason = Some("an exploration hit its state limit, or a rule uses an unmodelled construct".into());
                        out.push(f);
                    }
                    Outcome::Unknown(why) => {
                        proved = false;
                        let mut f = self.finding(
                            FindingKind::Unknown,
                            &owner,
                            part,
                            a.src,
                            None,
                            format!("could not decide the {what}"),
                        );
                        f.reason = Some(why);
                        out.push(f);
                    }
                }
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
