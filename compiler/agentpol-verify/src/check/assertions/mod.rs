//! `assert never` items: for each principal and each *layer* the assertion
//! covers, a request its pattern matches that the policy decides with a
//! forbidden effect (AP0508), replayed in the evaluator; or a proof (AP0509).
//!
//! A layer is a partition plus what "the request matches the pattern" means
//! there ([`Via`]). The kind form (`assert never * fs read "…"`) has one
//! layer per action it names, in its own kind. The cross form
//! (`assert never * read "…"`, [`AssertLayers::Cross`]) adds, to the fs read
//! layer, every tool argument that names a file ([`reads`]).

mod reads;

use super::ask::{Answer, Inconclusive, Question};
use super::{related, schema, Ctx, Dec, RInfo, Side, Unit};
use crate::formula::{matcher_formula, Part, Schema, Unsupported, F};
use crate::prune::may_overlap;
use crate::report::{Finding, FindingKind, RuleRef};
use crate::witness::request;
use agentpol_core::eval::evaluate;
use agentpol_core::eval::reads::{reads_matching, ReadPath, ReadVia};
use agentpol_core::ir::{
    Action, Agent, AssertLayers, AssertTarget, Assertion, Effect, Matcher, Policy, Rule, Scope,
};
use agentpol_core::request::{Decision, Request};
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

/// How "the request matches the assertion's pattern" reads in a layer.
#[derive(Clone, Debug)]
enum Via {
    /// The pattern's own matcher, in its own partition.
    Kind,
    /// The pattern's globs on this `path`-typed tool argument.
    PathArg(String),
    /// This `url`-typed tool argument is a `file:` URL naming a file the
    /// pattern's globs match.
    FileUrl(String),
}

/// One partition an assertion is checked in.
struct Layer {
    /// The action of the pattern this layer stands for.
    action: Action,
    part: Part,
    via: Via,
}

impl Layer {
    /// "The request matches the pattern" in this layer.
    fn formula(&self, a: &Assertion, sc: &Schema<'_>) -> Result<F, Unsupported> {
        match &self.via {
            Via::Kind => matcher_formula(&a.matcher, sc),
            Via::PathArg(arg) => reads::on_path_arg(a, sc, arg),
            Via::FileUrl(arg) => Ok(reads::file_scheme(arg)),
        }
    }
}

/// The layers of an assertion: one per action in its own kind (one per tool
/// for a tool pattern without a tool), plus, for the cross form, every tool
/// argument that can name a file.
fn layers(policy: &Policy, a: &Assertion) -> Vec<Layer> {
    let tool = match &a.matcher {
        Matcher::Tool { tool, .. } => tool.clone(),
        _ => None,
    };
    let mut out = Vec::new();
    for &action in &a.actions {
        match Part::of_action(action, tool.as_deref()) {
            Some(part) => out.push(Layer {
                action,
                part,
                via: Via::Kind,
            }),
            None => out.extend(policy.tools.iter().map(|t| Layer {
                action,
                part: Part::Tool(t.name.clone()),
                via: Via::Kind,
            })),
        }
    }
    if a.layers == AssertLayers::Cross {
        out.extend(reads::tool_layers(policy));
    }
    out
}

impl<'p> Ctx<'p> {
    /// Proves or refutes one assertion.
    pub(crate) fn assertion(&mut self, idx: usize, out: &mut Vec<Finding>) {
        let Some(a) = self.policy.assertions.get(idx) else {
            return;
        };
        let layers = layers(self.policy, a);
        let mut proved = true;
        for (ai, si) in assertion_targets(self.policy, a) {
            let Some(agent) = self.policy.agents.get(ai) else {
                continue;
            };
            for layer in &layers {
                proved &= self.assertion_layer(a, agent, si, layer, out);
            }
        }
        if proved {
            let mut f = self.finding(
                FindingKind::AssertionProved,
                "",
                layers.first().map(|l| &l.part).unwrap_or(&Part::Env),
                a.src,
                None,
                format!("the {} holds for every request", what(a)),
            );
            f.part = a
                .actions
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if a.layers == AssertLayers::Cross {
                f.part.push_str(" (fs and tool arguments)");
            }
            out.push(f);
        }
    }

    /// Checks one layer for one principal: true when no forbidden request
    /// exists there (proved), false after reporting a violation or an
    /// undecided question.
    fn assertion_layer(
        &mut self,
        a: &'p Assertion,
        agent: &'p Agent,
        si: Option<usize>,
        layer: &Layer,
        out: &mut Vec<Finding>,
    ) -> bool {
        let part = &layer.part;
        // No rule of the principal in this partition: default deny everywhere
        // (a skill without rules there is denied whatever its agent says).
        let Some(unit_rules) = Unit::new(self.policy, agent, si, part.clone()) else {
            return true;
        };
        let owner = unit_rules.who.owner();
        let sc = schema(self.policy, part);
        let fa = match layer.formula(a, &sc) {
            Ok(f) => f,
            Err(why) => {
                let q = question(&owner, part, a, false);
                out.push(self.unknown(
                    &q,
                    format!("its pattern uses a construct the verifier does not model: {why}"),
                ));
                return false;
            }
        };
        // The cheap overlap filter compares matchers of one kind; a tool
        // layer of the cross form compares an fs pattern with tool rules, so
        // every rule of the partition is kept there.
        let prune = !self.opts.naive && matches!(layer.via, Via::Kind);
        let pick = |pool: &[RInfo<'p>]| -> (Vec<(Effect, F, RuleRef)>, bool) {
            let mut bad = false;
            let v = pool
                .iter()
                .filter(|x| !prune || may_overlap(&a.matcher, &x.rule.matcher))
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
        let (own, bad1) = pick(&unit_rules.own);
        let (ag, bad2) = pick(&unit_rules.agent);
        let mut all: Vec<&F> = vec![&fa];
        all.extend(own.iter().map(|x| &x.1));
        all.extend(ag.iter().map(|x| &x.1));
        let mut enc = self.encoder(sc, &all);
        let approx = enc.approx;
        let ma = enc.lower(&fa);
        let lower = |rules: &[(Effect, F, RuleRef)]| {
            Side::of(
                &rules
                    .iter()
                    .map(|(e, f, _)| (*e, enc.lower(f)))
                    .collect::<Vec<_>>(),
            )
        };
        let dec = if si.is_some() {
            Dec(vec![lower(&own), lower(&ag)])
        } else {
            Dec(vec![lower(&own)])
        };
        let forbidden = Bool::or(&a.forbidden.iter().map(|e| dec.is(*e)).collect::<Vec<_>>());
        let query = enc.define(&Bool::and(&[ma, forbidden]));
        let q = question(&owner, part, a, approx);
        let limit = Inconclusive::Report(
            "an exploration hit its state limit, or a rule uses an unmodelled construct",
        );
        let v = match self.ask(&mut enc, &[query], &q, !bad1 && !bad2, limit, out) {
            Answer::Unsat => return true,
            Answer::Undecided => return false,
            Answer::Sat(v) => v,
        };
        let first = request(self.policy, &unit_rules.who, part, &v);
        let candidates = match &layer.via {
            Via::FileUrl(arg) => reads::file_url_candidates(
                self.policy,
                self.opts.max_states,
                a,
                &unit_rules.who,
                part,
                arg,
                &v,
            ),
            _ => Vec::new(),
        };
        // The first candidate the evaluator confirms; a `file:` URL layer may
        // need several tries (see `reads::file_url_candidates`).
        let mut verdict: Option<(Request, Verdict)> = None;
        for c in candidates.into_iter().chain(std::iter::once(first)) {
            let r = self.violates(a, layer.action, &c);
            let ok = r.is_ok();
            if ok || verdict.is_none() {
                verdict = Some((c, r));
            }
            if ok {
                break;
            }
        }
        let Some((req, result)) = verdict else {
            return false;
        };
        let finding = match result {
            Ok((d, hit)) => {
                let mut f = self.about(
                    &q,
                    FindingKind::AssertionViolated,
                    violation_message(a, &owner, &d, hit.as_ref()),
                );
                f.related = related(&d, own.iter().chain(&ag).map(|x| &x.2));
                f.witness = Some(req);
                f
            }
            Err(why) => match &layer.via {
                // The tool's rules read the URL's path, which the encoding
                // does not tie to the file it names: no confirmed
                // counterexample is not a proof either.
                Via::FileUrl(arg) if reads::tests_url_path(&own, &ag, arg) => {
                    self.unknown(&q, reads::url_path_undecided(arg))
                }
                _ => self.confirm(&q, req, |_, _| Err(why)),
            },
        };
        out.push(finding);
        false
    }

    /// Replays `req`: the decision and (for the cross form) the file it
    /// reads when the evaluator confirms that it violates `a` (a forbidden
    /// decision, and the pattern matches), else why not.
    fn violates(&mut self, a: &Assertion, action: Action, req: &Request) -> Verdict {
        let (matches, hit) = match a.layers {
            AssertLayers::Kind => {
                let pp = pattern_policy(self.policy, a, action);
                let probe = Request {
                    agent: "__assert".into(),
                    skill: None,
                    ..req.clone()
                };
                self.stats.replays += 1;
                let m = evaluate(&pp, &probe)
                    .map(|d| d.effect == Effect::Allow)
                    .map_err(|e| format!("{}: {}", e.code.code, e.message));
                (m, None)
            }
            AssertLayers::Cross => {
                let globs = match &a.matcher {
                    Matcher::Fs { globs } => globs.as_slice(),
                    _ => &[],
                };
                let hit = reads_matching(self.policy, req, globs);
                (Ok(hit.is_some()), hit)
            }
        };
        match (self.replay(req), matches) {
            (Ok(d), Ok(true)) if a.forbidden.contains(&d.effect) => Ok((d, hit)),
            (d, m) => Err(format!(
                "the solver found a counterexample; the reference evaluator says: decision {}, pattern match {}",
                match d {
                    Ok(d) => d.effect.to_string(),
                    Err(e) => e,
                },
                match m {
                    Ok(b) => b.to_string(),
                    Err(e) => e,
                }
            )),
        }
    }
}

/// A replayed counterexample: the decision and (for the cross form) the file
/// it reads, or why the evaluator does not confirm it.
type Verdict = Result<(Decision, Option<ReadPath>), String>;

/// "assertion at line N", as findings name it.
fn what(a: &Assertion) -> String {
    format!("assertion at line {}", a.src.line)
}

/// The question a layer asks, for unknown and internal findings.
fn question<'q>(owner: &'q str, part: &'q Part, a: &Assertion, approx: bool) -> Question<'q> {
    let what = what(a);
    Question {
        owner,
        part,
        src: a.src,
        rule: None,
        undecided: format!("the {what}"),
        subject: format!("the {what}"),
        approx,
    }
}

/// The headline of a violation: for the cross form, which layer reads which
/// file.
fn violation_message(a: &Assertion, owner: &str, d: &Decision, hit: Option<&ReadPath>) -> String {
    let head = format!("the {} does not hold: {owner} gets {}", what(a), d.effect);
    match hit {
        None => format!("{head} for a request it forbids"),
        Some(ReadPath {
            path,
            via: ReadVia::Fs,
        }) => format!("{head} for an fs read of {path}, which the assertion says it never reads"),
        Some(ReadPath {
            path,
            via: ReadVia::PathArg { tool, arg },
        }) => format!(
            "{head} for a call of tool `{tool}` whose path argument `{arg}` is {path}, which the assertion says it never reads"
        ),
        Some(ReadPath {
            path,
            via: ReadVia::FileUrl { tool, arg },
        }) => format!(
            "{head} for a call of tool `{tool}` whose argument `{arg}` is a `file:` URL naming {path}, which the assertion says it never reads"
        ),
    }
}
