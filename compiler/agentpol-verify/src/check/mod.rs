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

//!
//! Modules by concern: [`rules`] (conflicts between the rules of a unit),
//! [`cross_layer`] (a grant one layer makes that another layer takes away),
//! [`assertions`] (`assert never` items); every question goes through
//! [`ask`], which reports undecided answers and replays witnesses.

mod ask;
mod assertions;
mod cross_layer;
mod rules;

use crate::encode::{Cache, Encoder, Limits, Outcome};
use crate::formula::{matcher_formula, Part, Schema, Unsupported, F};
use crate::prune::Index;
use crate::report::{Finding, FindingKind, RuleRef, Stats};
use crate::witness::Who;
use crate::Options;
use agentpol_core::eval::evaluate;
use agentpol_core::ir::{Agent, Effect, Policy, Rule, SourceRef};
use agentpol_core::request::{Decision, Request};
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

/// The rules that decided `d`, looked up by id in `pool`: a finding's
/// `related` rules.
pub(crate) fn related<'r>(
    d: &agentpol_core::request::Decision,
    pool: impl Iterator<Item = &'r RuleRef> + Clone,
) -> Vec<RuleRef> {
    d.deciding
        .iter()
        .filter_map(|m| pool.clone().find(|r| r.id == m.id).cloned())
        .collect()
}

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
            included_via: None,
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
}
