//! Exec binaries vs fs read: an exec grant of a binary the fs rules
//! explicitly refuse to read (AP0507).

use super::super::ask::{Answer, Inconclusive, Question, STATE_LIMIT};
use super::super::{related, Ctx, RInfo, Unit};
use super::fs_on;
use crate::formula::{Atom, Slot, F};
use crate::prune::glob_may_overlap;
use crate::report::{Finding, FindingKind};
use crate::witness::request;
use agentpol_core::ir::{Action, Effect, Matcher};
use agentpol_core::request::{Request, Resource};
use z3::ast::Bool;

impl<'p> Ctx<'p> {
    pub(super) fn exec_fs(
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
        // Only fs rules whose globs can meet one of the binaries matter.
        let touches = |x: &RInfo<'p>| {
            naive
                || match &x.rule.matcher {
                    Matcher::Fs { globs } => globs
                        .iter()
                        .any(|g| binaries.iter().any(|b| glob_may_overlap(g, b))),
                    _ => false,
                }
        };
        let ro = fs_on(fs_own, &Slot::ExecPath, touches);
        let ra = fs_on(fs_agent, &Slot::ExecPath, touches);
        if !naive && !ro.iter().chain(&ra).any(|(e, _, _)| *e == Effect::Deny) {
            // No deny read rule can touch the binary: nothing to report.
            return;
        }
        if exec_own.iter().chain(&exec_agent).any(|x| x.f.is_err()) {
            return;
        }
        let lowered = self.against_fs(unit, fr, &exec_own, &exec_agent, &ro, &ra);
        let (mut enc, m_r, exec_dec, denied) = (
            lowered.enc,
            lowered.matched,
            lowered.layer,
            lowered.fs_denied,
        );
        let approx = enc.approx;
        // Per binary glob: a finding when every binary the rule allows under it
        // is one the fs rules refuse to read (for a literal path, that path).
        let q = Question::rule(&owner, &unit.part, r, "allows an unreadable binary", approx);
        for g in binaries {
            let base = Bool::and(&[
                m_r.clone(),
                enc.lower(&F::atom(Atom::Glob(Slot::ExecPath, g.clone()))),
                exec_dec.is(Effect::Allow),
            ]);
            let readable = enc.define(&Bool::and(&[base.clone(), denied.not()]));
            let limit = Inconclusive::Report(STATE_LIMIT);
            if !matches!(
                self.ask(&mut enc, &[readable], &q, true, limit, out),
                Answer::Unsat
            ) {
                continue;
            }
            let query = enc.define(&Bool::and(&[base, denied.clone()]));
            let Answer::Sat(v) = self.ask(&mut enc, &[query], &q, true, limit, out) else {
                continue;
            };
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
            let claim = "the execution is allowed and the read denied";
            let f = self.confirm(&q, req, |cx, req| {
                match (cx.replay(req), cx.replay(&read)) {
                    (Ok(d), Ok(fd))
                        if d.effect == Effect::Allow
                            && d.deciding.iter().any(|m| m.id == r.rule.id)
                            && fd.effect == Effect::Deny
                            && !fd.deciding.is_empty() =>
                    {
                        let mut f = cx.about(
                            &q,
                            FindingKind::ExecFsMismatch,
                            if g.is_literal() {
                                format!("rule {} allows executing {}, which the fs rules of {owner} forbid reading", r.rule.id, g.pattern)
                            } else {
                                format!("rule {} allows executing binaries matching {}, all of which the fs rules of {owner} forbid reading", r.rule.id, g.pattern)
                            },
                        );
                        f.related = related(&fd, ro.iter().chain(&ra).map(|x| &x.2));
                        f.witness = Some(req.clone());
                        f.other_witnesses = vec![read];
                        Ok(f)
                    }
                    (Ok(d), Ok(fd)) => Err(Question::refuted(
                        claim,
                        format!("exec {}, read {}", d.effect, fd.effect),
                    )),
                    (Err(err), _) | (_, Err(err)) => Err(Question::refuted(claim, err)),
                }
            });
            out.push(f);
        }
    }
}
