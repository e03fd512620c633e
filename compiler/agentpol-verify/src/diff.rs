//! Semantic diff: per principal and partition, what one policy grants that the
//! other does not.
//!
//! Every request the new policy grants is granted by some allow/ask rule of
//! the principal (of the skill, for a skill's requests), so asking, for each
//! such *focus* rule, "is there a request this rule decides whose old decision
//! was stricter?" finds every widening. Narrowing is the same question with
//! the policies swapped. A focus rule whose neighbourhood (the rules that may
//! overlap it, in both policies) is unchanged cannot change any decision and
//! is skipped without a solver call.

use crate::check::{infos, schema, Ctx, RInfo};
use crate::encode::Outcome;
use crate::formula::{Part, F};
use crate::prune::may_overlap;
use crate::report::{Change, DiffReport, Direction, Finding, FindingKind, Stats};
use crate::witness::{request, Who};
use crate::{run_jobs, Options};
use agentpol_core::eval::evaluate;
use agentpol_core::ir::{Effect, Matcher, Policy};
use z3::ast::Bool;

struct Side<'p> {
    rules: Vec<RInfo<'p>>,
}

/// One principal in one partition of both policies, seen from `focus`.
struct DiffUnit<'p> {
    who: Who,
    part: Part,
    direction: Direction,
    focus: &'p Policy,
    other: &'p Policy,
    /// The focus policy's sides: own rules, then (for a skill) the agent's.
    f_own: Side<'p>,
    f_agent: Option<Side<'p>>,
    /// The other policy's sides; `None` when the principal or the tool's
    /// signature does not exist there (every request is then an error: deny).
    o_own: Option<Side<'p>>,
    o_agent: Option<Side<'p>>,
}

fn sides<'p>(p: &'p Policy, who: &Who, part: &Part) -> Option<(Side<'p>, Option<Side<'p>>)> {
    let agent = p.agent(&who.agent)?;
    match &who.skill {
        None => Some((
            Side {
                rules: infos(p, &agent.rules, &agent.name, part),
            },
            None,
        )),
        Some(s) => {
            let skill = agent.skills.iter().find(|k| &k.name == s)?;
            Some((
                Side {
                    rules: infos(p, &skill.rules, &who.owner(), part),
                },
                Some(Side {
                    rules: infos(p, &agent.rules, &agent.name, part),
                }),
            ))
        }
    }
}

/// Same requests are valid in both (same tool signature and param types).
fn same_schema(a: &Policy, b: &Policy, part: &Part) -> bool {
    let tool_ok = match part {
        Part::Tool(t) => match (a.tool(t), b.tool(t)) {
            (Some(x), Some(y)) => x.args == y.args,
            _ => false,
        },
        _ => true,
    };
    let params_ok = a.params.len() == b.params.len()
        && a.params
            .iter()
            .all(|p| b.param(&p.name).is_some_and(|q| q.ty == p.ty));
    tool_ok && (params_ok || !matches!(part, Part::Tool(_)))
}

fn principals(p: &Policy) -> Vec<Who> {
    let mut out = Vec::new();
    for a in &p.agents {
        out.push(Who {
            agent: a.name.clone(),
            skill: None,
        });
        for s in &a.skills {
            out.push(Who {
                agent: a.name.clone(),
                skill: Some(s.name.clone()),
            });
        }
    }
    out
}

fn units<'p>(focus: &'p Policy, other: &'p Policy, direction: Direction) -> Vec<DiffUnit<'p>> {
    let mut out = Vec::new();
    for who in principals(focus) {
        for part in Part::all(focus) {
            let Some((f_own, f_agent)) = sides(focus, &who, &part) else {
                continue;
            };
            if !f_own.rules.iter().any(|r| r.rule.effect < Effect::Deny) {
                continue;
            }
            let (o_own, o_agent) = if same_schema(focus, other, &part) {
                match sides(other, &who, &part) {
                    Some((o, a)) => (Some(o), a),
                    None => (None, None),
                }
            } else {
                (None, None)
            };
            out.push(DiffUnit {
                who: who.clone(),
                part,
                direction,
                focus,
                other,
                f_own,
                f_agent,
                o_own,
                o_agent,
            });
        }
    }
    out
}

/// What identifies a rule's meaning (ids and spans aside).
fn shape<'a>(r: &'a RInfo<'_>) -> (Effect, agentpol_core::ir::Action, &'a Matcher) {
    (r.rule.effect, r.rule.action, &r.rule.matcher)
}

impl<'p> Ctx<'p> {
    fn diff_unit(
        &mut self,
        u: &DiffUnit<'p>,
        changes: &mut Vec<Change>,
        unknown: &mut Vec<(Direction, Finding)>,
    ) {
        for i in 0..u.f_own.rules.len() {
            self.diff_rule(u, i, changes, unknown);
        }
    }

    fn diff_rule(
        &mut self,
        u: &DiffUnit<'p>,
        i: usize,
        changes: &mut Vec<Change>,
        unknown: &mut Vec<(Direction, Finding)>,
    ) {
        let Some(r) = u.f_own.rules.get(i) else {
            return;
        };
        let e = r.rule.effect;
        if e == Effect::Deny {
            return;
        }
        let naive = self.opts.naive;
        let near = |side: Option<&Side<'p>>| -> Vec<usize> {
            side.map(|s| {
                s.rules
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| naive || may_overlap(&r.rule.matcher, &x.rule.matcher))
                    .map(|(j, _)| j)
                    .collect()
            })
            .unwrap_or_default()
        };
        let fo = near(Some(&u.f_own));
        let fa = near(u.f_agent.as_ref());
        let oo = near(u.o_own.as_ref());
        let oa = near(u.o_agent.as_ref());
        self.stats.rules += 1;
        self.stats.pairs_candidate += fo.len() + fa.len() + oo.len() + oa.len();
        // Unchanged neighbourhood: no decision in this rule's region can differ.
        let shapes = |side: Option<&Side<'p>>, js: &[usize]| -> Vec<String> {
            let mut v: Vec<String> = js
                .iter()
                .filter_map(|&j| side.and_then(|s| s.rules.get(j)))
                .map(|x| format!("{:?}", shape(x)))
                .collect();
            v.sort();
            v
        };
        if u.o_own.is_some()
            && shapes(Some(&u.f_own), &fo) == shapes(u.o_own.as_ref(), &oo)
            && shapes(u.f_agent.as_ref(), &fa) == shapes(u.o_agent.as_ref(), &oa)
        {
            return;
        }
        let pick = |side: Option<&'_ Side<'p>>, js: &[usize]| -> Result<Vec<(Effect, F)>, String> {
            js.iter()
                .filter_map(|&j| side.and_then(|s| s.rules.get(j)))
                .map(|x| {
                    x.f.clone()
                        .map(|f| (x.rule.effect, f))
                        .map_err(|e| format!("rule {}: {e}", x.rule.id))
                })
                .collect()
        };
        let all = (|| -> Result<_, String> {
            Ok((
                pick(Some(&u.f_own), &fo)?,
                pick(u.f_agent.as_ref(), &fa)?,
                pick(u.o_own.as_ref(), &oo)?,
                pick(u.o_agent.as_ref(), &oa)?,
            ))
        })();
        let fr = r.f.clone();
        let owner = u.who.owner();
        let unk = |why: String| {
            let mut f = Finding {
                included_via: None,
                kind: FindingKind::Unknown,
                severity: FindingKind::Unknown.severity(),
                owner: owner.clone(),
                part: u.part.describe(),
                src: r.rule.src,
                rule: Some(r.rref()),
                related: Vec::new(),
                witness: None,
                other_witnesses: Vec::new(),
                message: format!(
                    "could not decide whether rule {} {} the policy",
                    r.rule.id,
                    match u.direction {
                        Direction::Widened => "widens",
                        Direction::Narrowed => "narrows",
                    }
                ),
                reason: None,
            };
            f.reason = Some(why);
            f
        };
        let (Ok(fr), Ok((f_own, f_ag, o_own, o_ag))) = (fr, all) else {
            unknown.push((
                u.direction,
                unk("a rule uses a construct the verifier does not model".into()),
            ));
            return;
        };
        let mut formulas: Vec<&F> = vec![&fr];
        for (_, f) in f_own.iter().chain(&f_ag).chain(&o_own).chain(&o_ag) {
            formulas.push(f);
        }
        let sc = schema(u.focus, &u.part);
        let mut enc = self.encoder(sc, &formulas);
        let approx = enc.approx;
        let lits = |enc: &crate::encode::Encoder<'_>, v: &[(Effect, F)]| -> Vec<(Effect, Bool)> {
            v.iter().map(|(e, f)| (*e, enc.lower(f))).collect()
        };
        let m_r = enc.lower(&fr);
        let mut fo_l = lits(&enc, &f_own);
        fo_l.push((e, m_r.clone()));
        let own_side = crate::check::side_of(&fo_l);
        let mut focus = vec![crate::check::side_of(&fo_l)];
        if u.f_agent.is_some() {
            focus.push(crate::check::side_of(&lits(&enc, &f_ag)));
        }
        let mut other = vec![crate::check::side_of(&lits(&enc, &o_own))];
        if u.who.skill.is_some() {
            other.push(crate::check::side_of(&lits(&enc, &o_ag)));
        }
        let focus_dec = crate::check::dec_of(focus);
        let other_dec = crate::check::dec_of(other);
        let q = enc.define(&Bool::and(&[
            m_r,
            own_side.is(e),
            focus_dec.is(e),
            other_dec.at_most(e).not(),
        ]));
        match self.check_enc(&mut enc, &[q]) {
            Outcome::Sat(v) => {
                let req = request(u.focus, &u.who, &u.part, &v);
                self.stats.replays += 2;
                let fd = evaluate(u.focus, &req);
                let od = evaluate(u.other, &req)
                    .map(|d| d.effect)
                    .unwrap_or(Effect::Deny);
                match fd {
                    Ok(d)
                        if d.effect == e
                            && od > e
                            && d.deciding.iter().any(|m| m.id == r.rule.id) =>
                    {
                        let (old, new) = match u.direction {
                            Direction::Widened => (od, d.effect),
                            Direction::Narrowed => (d.effect, od),
                        };
                        changes.push(Change {
                            direction: u.direction,
                            owner,
                            part: u.part.describe(),
                            old,
                            new,
                            rule: r.rref(),
                            witness: req,
                        });
                    }
                    other => {
                        let mut f = unk(format!(
                            "the solver found a request where rule {} decides {e} and the other policy is stricter; the reference evaluator says {} here and {od} there",
                            r.rule.id,
                            match other {
                                Ok(d) => d.effect.to_string(),
                                Err(err) => format!("{}: {}", err.code.code, err.message),
                            }
                        ));
                        if !approx {
                            f.kind = FindingKind::Internal;
                            f.severity = FindingKind::Internal.severity();
                        }
                        f.witness = Some(req);
                        unknown.push((u.direction, f));
                    }
                }
            }
            Outcome::Unsat { conclusive: true } => {}
            Outcome::Unsat { .. } => unknown.push((
                u.direction,
                unk("an exploration hit its state limit".into()),
            )),
            Outcome::Unknown(why) => unknown.push((u.direction, unk(why))),
        }
    }
}

/// The semantic difference between `old` and `new`.
pub fn diff(old: &Policy, new: &Policy, opts: &Options) -> DiffReport {
    let mut jobs = units(new, old, Direction::Widened);
    jobs.extend(units(old, new, Direction::Narrowed));
    let (results, stats) = run_jobs(
        new,
        opts,
        &jobs,
        |ctx, u| {
            let (mut c, mut k) = (Vec::new(), Vec::new());
            ctx.diff_unit(u, &mut c, &mut k);
            (c, k)
        },
        |u, msg| {
            let src = u.f_own.rules.first().map(|r| r.rule.src);
            let f = crate::crash(u.who.owner(), u.part.describe(), src, msg);
            (Vec::new(), vec![(u.direction, f)])
        },
    );
    let mut changes = Vec::new();
    let mut unknown = Vec::new();
    for (c, k) in results {
        changes.extend(c);
        unknown.extend(k);
    }
    let mut stats: Stats = stats;
    stats.units = jobs.len();
    DiffReport {
        changes,
        unknown,
        stats,
    }
}
