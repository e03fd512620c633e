//! Cross-layer checks: a grant one layer makes that another layer takes
//! away. Tool URLs vs net ([`tool_net`]), tool path arguments vs fs read
//! ([`tool_fs`]), exec binaries vs fs read ([`exec_fs`]).

mod exec_fs;
mod tool_fs;
mod tool_net;

use super::{infos, Ctx, Dec, RInfo, Side, Unit};
use crate::formula::{Atom, Part, Slot, F};
use crate::prune::may_overlap;
use crate::report::{Finding, RuleRef};
use agentpol_core::ir::{Action, Agent, ArgType, Effect, Rule};
use z3::ast::Bool;

impl<'p> Ctx<'p> {
    /// Cross-layer checks of a unit: tool URLs vs net, tool paths and exec
    /// binaries vs fs read.
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
                let paths: Vec<String> = sig
                    .args
                    .iter()
                    .filter(|a| a.ty == ArgType::Path)
                    .map(|a| a.name.clone())
                    .collect();
                if !paths.is_empty() {
                    let (fs_own, fs_agent) = layer(&Part::Fs(Action::Read));
                    for i in 0..unit.own.len() {
                        for p in &paths {
                            self.tool_fs(unit, i, p, &fs_own, &fs_agent, out);
                        }
                    }
                }
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
    pub(super) fn overlapping<'a>(&self, r: &Rule, pool: &'a [RInfo<'p>]) -> Vec<&'a RInfo<'p>> {
        pool.iter()
            .filter(|x| x.rule.id != r.id || x.rule.src != r.src)
            .filter(|x| self.opts.naive || may_overlap(&r.matcher, &x.rule.matcher))
            .collect()
    }
}

/// The fs rules of `pool` that `keep` selects, with the fs path moved to
/// `slot`: how a path in another layer (a binary, a tool argument) is
/// decided by the fs rules.
pub(super) fn fs_on<'p>(
    pool: &[RInfo<'p>],
    slot: &Slot,
    keep: impl Fn(&RInfo<'p>) -> bool,
) -> Vec<(Effect, F, RuleRef)> {
    pool.iter()
        .filter(|x| keep(x))
        .filter_map(|x| {
            x.f.as_ref()
                .ok()
                .map(|f| (x.rule.effect, fs_path_on(f, slot), x.rref()))
        })
        .collect()
}

/// An fs formula with its path moved to `slot`: the one way a path in
/// another layer (a binary, a tool argument) is matched against fs globs,
/// for the cross-layer findings and the cross-layer assertions alike.
pub(super) fn fs_path_on(f: &F, slot: &Slot) -> F {
    f.subst(&|a: &Atom| match a {
        Atom::Glob(Slot::FsPath, g) => Some(F::atom(Atom::Glob(slot.clone(), g.clone()))),
        _ => None,
    })
}

/// Effects and formulas of rules whose formulas could be built.
fn formulas<'a>(pool: &[&'a RInfo<'_>]) -> Vec<(Effect, &'a F)> {
    pool.iter()
        .filter_map(|x| x.f.as_ref().ok().map(|f| (x.rule.effect, f)))
        .collect()
}

/// A rule of one layer and the fs read rules moved onto that layer's slot,
/// lowered into one encoder: what exec_fs and tool_fs both ask about.
pub(super) struct AgainstFs<'s> {
    /// The encoder holding every formula below.
    pub enc: crate::encode::Encoder<'s>,
    /// The rule matches.
    pub matched: Bool,
    /// The unit's decision in the rule's layer (the rule included as an allow).
    pub layer: Dec,
    /// The fs layer denies, by an explicit deny rule (never the default deny:
    /// not granting a read is normal and no finding).
    pub fs_denied: Bool,
}

impl<'p> Ctx<'p> {
    /// Lowers allow rule `fr` with the overlapping rules of its layer (`own`,
    /// and the agent's for a skill) and the moved fs rules (`fs_own`, `fs_agent`).
    pub(super) fn against_fs(
        &mut self,
        unit: &Unit<'_>,
        fr: &F,
        own: &[&RInfo<'_>],
        agent: &[&RInfo<'_>],
        fs_own: &[(Effect, F, RuleRef)],
        fs_agent: &[(Effect, F, RuleRef)],
    ) -> AgainstFs<'p> {
        let (lo, la) = (formulas(own), formulas(agent));
        let mut all: Vec<&F> = vec![fr];
        all.extend(lo.iter().chain(&la).map(|x| x.1));
        all.extend(fs_own.iter().chain(fs_agent).map(|x| &x.1));
        let enc = self.encoder(super::schema(self.policy, &unit.part), &all);
        let matched = enc.lower(fr);
        let lower = |l: &[(Effect, &F)]| -> Vec<(Effect, Bool)> {
            l.iter().map(|(e, f)| (*e, enc.lower(f))).collect()
        };
        let mut eo = lower(&lo);
        eo.push((Effect::Allow, matched.clone()));
        let ea = lower(&la);
        let lower_fs = |l: &[(Effect, F, RuleRef)]| -> Vec<(Effect, Bool)> {
            l.iter().map(|(e, f, _)| (*e, enc.lower(f))).collect()
        };
        let (fo, fa) = (lower_fs(fs_own), lower_fs(fs_agent));
        let explicit = Bool::or(
            &fo.iter()
                .chain(&fa)
                .filter(|(e, _)| *e == Effect::Deny)
                .map(|(_, b)| b.clone())
                .collect::<Vec<_>>(),
        );
        let fs_denied = Bool::and(&[decision(unit, &fo, &fa).is(Effect::Deny), explicit]);
        AgainstFs {
            layer: decision(unit, &eo, &ea),
            enc,
            matched,
            fs_denied,
        }
    }
}

/// A unit's decision from its own lowered rules and, for a skill, its agent's.
fn decision(unit: &Unit<'_>, own: &[(Effect, Bool)], agent: &[(Effect, Bool)]) -> Dec {
    if unit.is_skill() {
        Dec(vec![Side::of(own), Side::of(agent)])
    } else {
        Dec(vec![Side::of(own)])
    }
}
