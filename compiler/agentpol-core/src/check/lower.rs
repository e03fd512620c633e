//! Lowering checked bodies into IR agents: includes expanded in place (once
//! per owner), `~` expanded against the agent's home, stable rule ids, and
//! the syntactic skill-escalation check (AP0401).

use super::blocks::{ElabAgent, ElabBody, ElabMatcher, ElabMember, ElabRule};

use super::cond::ElabAtom;
use super::ctx::{Checker, DefId};
use super::glob::Home;
use super::ruleid::{make_id, IdGen};
use crate::diag::{codes, Diag};
use crate::ir::{self, Action, Effect, Kind};
use crate::span::Span;
use std::collections::{HashMap, HashSet};

/// What an allow/ask rule grants, for the escalation check: an action, and
/// for tool calls the tool.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Grant {
    action: Action,
    tool: Option<String>,
}

impl Grant {
    fn describe(&self) -> String {
        match (&self.tool, self.action.kind()) {
            (Some(t), _) => format!("calls to `{t}`"),
            (None, Kind::Fs) => format!("fs `{}`", self.action.as_str()),
            (None, Kind::Net) => format!("net `{}`", self.action.as_str()),
            (None, Kind::Exec) => "exec".to_string(),
            (None, Kind::Env) => "environment variables".to_string(),
            (None, Kind::Tool) => "tool calls".to_string(),
        }
    }
}

fn grants(rules: &[ir::Rule]) -> impl Iterator<Item = (Grant, &ir::Rule)> {
    rules
        .iter()
        .filter(|r| r.effect != Effect::Deny)
        .filter_map(|r| {
            let tool = match &r.matcher {
                ir::Matcher::Tool { tool: Some(t), .. } => Some(t.clone()),
                ir::Matcher::Tool { tool: None, .. } => return None,
                _ => None,
            };
            Some((
                Grant {
                    action: r.action,
                    tool,
                },
                r,
            ))
        })
}

/// A rule to lower: the owner's own (consumed) or a profile's (shared).
enum RuleIn<'r> {
    Owned(ElabRule),
    Shared(&'r ElabRule),
}

impl RuleIn<'_> {
    fn get(&self) -> &ElabRule {
        match self {
            RuleIn::Owned(r) => r,
            RuleIn::Shared(r) => r,
        }
    }
}

/// Output and bookkeeping of one owner's flattening.
struct Flatten {
    out: Vec<ir::Rule>,
    ids: IdGen,
    included: HashMap<DefId, Span>,
}

/// Per-owner lowering state.
struct Owner<'o> {
    /// `agent` or `agent.skill`.
    name: String,
    /// The agent's name and name span (for AP0310).
    agent: &'o str,
    agent_span: Span,
    home: Option<&'o Home>,
}

impl Checker<'_> {
    /// Reports include cycles among profiles (AP0107), each once.
    pub fn check_include_cycles(&mut self, profiles: &HashMap<DefId, ElabBody>) {
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            Grey,
            Black,
        }
        let mut color: HashMap<DefId, Color> = HashMap::new();
        let mut order: Vec<DefId> = profiles.keys().copied().collect();
        order.sort_unstable();
        for start in order {
            if color.contains_key(&start) {
                continue;
            }
            let mut stack: Vec<(DefId, usize)> = vec![(start, 0)];
            color.insert(start, Color::Grey);
            while let Some(&mut (p, ref mut pos)) = stack.last_mut() {
                let members = profiles
                    .get(&p)
                    .map(|b| b.members.as_slice())
                    .unwrap_or(&[]);
                let next = members
                    .get(*pos..)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                    .find_map(|(i, m)| match m {
                        ElabMember::Include { profile, site } => Some((i, *profile, *site)),
                        ElabMember::Rule(_) => None,
                    });
                match next {
                    None => {
                        color.insert(p, Color::Black);
                        stack.pop();
                    }
                    Some((i, target, site)) => {
                        *pos += i + 1;
                        match color.get(&target) {
                            None => {
                                color.insert(target, Color::Grey);
                                stack.push((target, 0));
                            }
                            Some(Color::Grey) => {
                                let from =
                                    stack.iter().position(|(x, _)| *x == target).unwrap_or(0);
                                let mut chain: Vec<String> = stack
                                    .get(from..)
                                    .unwrap_or(&[])
                                    .iter()
                                    .map(|(x, _)| self.qualified(*x))
                                    .collect();
                                chain.push(self.qualified(target));
                                self.diags.push(
                                    Diag::error(
                                        &codes::INCLUDE_CYCLE,
                                        site,
                                        format!("include cycle: {}", chain.join(" -> ")),
                                    )
                                    .label("this include closes the cycle")
                                    .help("profiles cannot include each other; move the shared rules into a third profile that both include"),
                                );
                            }
                            Some(Color::Black) => {}
                        }
                    }
                }
            }
        }
    }

    /// Lowers one agent (and its skills) to the IR.
    /// The agent's and skills' bodies are moved out (their globs are reused
    /// in the IR); the rest of `agent` stays for assertions and tests.
    pub fn lower_agent(
        &mut self,
        agent: &mut ElabAgent,
        profiles: &HashMap<DefId, ElabBody>,
    ) -> ir::Agent {
        let body = std::mem::take(&mut agent.body);
        let skill_bodies: Vec<ElabBody> = agent
            .skills
            .iter_mut()
            .map(|s| std::mem::take(&mut s.body))
            .collect();
        let agent = &*agent;
        let owner = Owner {
            name: agent.name.clone(),
            agent: &agent.name,
            agent_span: agent.name_span,
            home: agent.home.as_ref(),
        };
        let rules = self.lower_body(&owner, body, profiles);
        let mut skills = Vec::with_capacity(agent.skills.len());
        let agent_grants: HashSet<Grant> = grants(&rules).map(|(g, _)| g).collect();
        for (s, sbody) in agent.skills.iter().zip(skill_bodies) {
            let owner = Owner {
                name: format!("{}.{}", agent.name, s.name),
                agent: &agent.name,
                agent_span: agent.name_span,
                home: agent.home.as_ref(),
            };
            let srules = self.lower_body(&owner, sbody, profiles);
            self.check_escalation(agent, &s.name, &agent_grants, &srules);
            skills.push(ir::Skill {
                name: s.name.clone(),
                rules: srules,
                src: self.sref(s.span),
            });
        }
        let scope = match &agent.scope {
            Some(ir::Scope::Cgroup { path }) if path.is_empty() => None,
            other => other.clone(),
        }
        .unwrap_or_else(|| ir::Scope::Cgroup {
            path: format!("agentpol/{}", agent.name),
        });
        ir::Agent {
            name: agent.name.clone(),
            home: agent.home.as_ref().map(|h| h.text.clone()),
            scope,
            resolvers: agent.resolvers.clone(),
            selector: agent.selector.clone(),
            rules,
            skills,
            src: self.sref(agent.span),
        }
    }

    /// AP0401: a skill's allow/ask for something its agent never grants.
    fn check_escalation(
        &mut self,
        agent: &ElabAgent,
        skill: &str,
        agent_grants: &HashSet<Grant>,
        rules: &[ir::Rule],
    ) {
        // Grouped by source rule, in order, each missing grant once.
        let mut missing: Vec<(Span, Vec<Grant>)> = Vec::new();
        let mut index: HashMap<Span, usize> = HashMap::new();
        for (g, r) in grants(rules) {
            if agent_grants.contains(&g) {
                continue;
            }
            let span = r.src.span;
            let i = *index.entry(span).or_insert_with(|| {
                missing.push((span, Vec::new()));
                missing.len() - 1
            });
            if let Some((_, list)) = missing.get_mut(i) {
                if !list.contains(&g) {
                    list.push(g);
                }
            }
        }
        for (span, list) in missing {
            let what: Vec<String> = list.iter().map(Grant::describe).collect();
            let what = what.join(", ");
            self.diags.push(
                Diag::error(
                    &codes::SKILL_ESCALATION,
                    span,
                    format!("skill `{}.{skill}` grants {what}, which agent `{}` never grants", agent.name, agent.name),
                )
                .label("this skill rule can never take effect")
                .with_label(agent.name_span, format!("agent `{}` has no allow or ask rule for {what}", agent.name))
                .help(format!(
                    "a skill only narrows its agent: grant {what} in agent `{}` too (the skill then restricts it), or remove this rule",
                    agent.name
                )),
            );
        }
    }

    /// Flattens a body with its includes (iteratively) into IR rules. The
    /// body's own rules are consumed; included profiles are only read.
    fn lower_body(
        &mut self,
        owner: &Owner<'_>,
        body: ElabBody,
        profiles: &HashMap<DefId, ElabBody>,
    ) -> Vec<ir::Rule> {
        let mut st = Flatten {
            out: Vec::with_capacity(body.members.len()),
            ids: IdGen::new(),
            included: HashMap::new(),
        };
        for member in body.members {
            match member {
                ElabMember::Rule(rule) => self.lower_rule(owner, &mut st, RuleIn::Owned(rule), &[]),
                ElabMember::Include { profile, site } => {
                    self.lower_include(owner, &mut st, profile, site, profiles)
                }
            }
        }
        st.out
    }

    /// Expands one `include` (and the includes inside it, with an explicit stack).
    fn lower_include(
        &mut self,
        owner: &Owner<'_>,
        st: &mut Flatten,
        profile: DefId,
        site: Span,
        profiles: &HashMap<DefId, ElabBody>,
    ) {
        struct Frame<'b> {
            members: &'b [ElabMember],
            pos: usize,
        }
        let mut chain: HashSet<DefId> = HashSet::new();
        let mut chain_order: Vec<DefId> = Vec::new();
        let mut via: Vec<ir::Include> = Vec::new();
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut pending = Some((profile, site));
        loop {
            if let Some((profile, site)) = pending.take() {
                if chain.contains(&profile) {
                    // A cycle: reported once by check_include_cycles.
                } else if let Some(&first) = st.included.get(&profile) {
                    let name = self.qualified(profile);
                    self.diags.push(
                        Diag::warning(
                            &codes::DOUBLE_INCLUDE,
                            site,
                            format!(
                                "the profile `{name}` is already included into `{}`",
                                owner.name
                            ),
                        )
                        .label("included again")
                        .with_label(first, "first included here")
                        .help(
                            "its rules are added once, at the first include; remove this include",
                        ),
                    );
                } else if let Some(pbody) = profiles.get(&profile) {
                    st.included.insert(profile, site);
                    chain.insert(profile);
                    chain_order.push(profile);
                    via.push(ir::Include {
                        profile: self.qualified(profile),
                        site: self.sref(site),
                    });
                    stack.push(Frame {
                        members: &pbody.members,
                        pos: 0,
                    });
                }
            }
            let Some(frame) = stack.last_mut() else { break };
            let Some(member) = frame.members.get(frame.pos) else {
                stack.pop();
                via.pop();
                if let Some(p) = chain_order.pop() {
                    chain.remove(&p);
                }
                continue;
            };
            frame.pos += 1;
            match member {
                ElabMember::Rule(rule) => self.lower_rule(owner, st, RuleIn::Shared(rule), &via),
                ElabMember::Include { profile, site } => pending = Some((*profile, *site)),
            }
        }
    }

    fn lower_rule(
        &mut self,
        owner: &Owner<'_>,
        st: &mut Flatten,
        rule: RuleIn<'_>,
        via: &[ir::Include],
    ) {
        let (effect, span, key, parts_needs_home, total) = {
            let r = rule.get();
            (
                r.effect,
                r.span,
                r.key,
                r.needs_home,
                r.parts.iter().map(|p| p.actions.len()).sum::<usize>(),
            )
        };
        // The occurrence is counted even if the rule fails below, so ids of
        // later identical rules do not depend on it.
        let base = st.ids.next_base(&owner.name, &key);
        if total == 0 {
            return;
        }
        if owner.home.is_none() && parts_needs_home {
            self.no_home(owner, span, via);
            return;
        }
        let src = self.sref(span);
        let mut n = 0usize;
        let parts: Vec<(Vec<Action>, Option<ir::Matcher>, Option<String>)> = match rule {
            RuleIn::Owned(r) => r
                .parts
                .into_iter()
                .map(|p| (p.actions, expand_owned(p.matcher, owner.home), p.secret))
                .collect(),
            RuleIn::Shared(r) => r
                .parts
                .iter()
                .map(|p| {
                    (
                        p.actions.clone(),
                        expand(&p.matcher, owner.home),
                        p.secret.clone(),
                    )
                })
                .collect(),
        };
        for (actions, matcher, secret) in parts {
            let Some(matcher) = matcher else {
                self.no_home(owner, span, via);
                return;
            };
            let mut matcher = Some(matcher);
            for (i, &action) in actions.iter().enumerate() {
                let id = make_id(&owner.name, action.kind(), &base, (total > 1).then_some(n));
                n += 1;
                // The last action takes the matcher; earlier ones clone it.
                let m = if i + 1 == actions.len() {
                    matcher.take()
                } else {
                    matcher.clone()
                };
                let Some(m) = m else { break };
                st.out.push(ir::Rule {
                    id,
                    effect,
                    action,
                    matcher: m,
                    src,
                    origin: ir::Origin {
                        via: via.to_vec(),
                        secret: secret.clone(),
                    },
                });
            }
        }
    }

    fn no_home(&mut self, owner: &Owner<'_>, span: Span, via: &[ir::Include]) {
        if !self
            .no_home_reported
            .insert((owner.agent.to_string(), span))
        {
            return;
        }
        let mut d = Diag::error(
            &codes::TILDE_WITHOUT_HOME,
            span,
            format!("this rule uses `~`, but agent `{}` has no `home`", owner.agent),
        )
        .label("`~` needs the agent's home")
        .with_label(owner.agent_span, format!("agent `{}` declares no `home`", owner.agent))
        .help(format!(
            "add `home \"/home/{}\"` (or wherever it lives) to agent `{}`, or write an absolute path",
            owner.agent, owner.agent
        ));
        if !via.is_empty() {
            let chain: Vec<String> = via
                .iter()
                .map(|i| format!("`include {}`", i.profile))
                .collect();
            d = d.note(format!(
                "the rule reaches `{}` through {}",
                owner.name,
                chain.join(", then ")
            ));
        }
        self.diags.push(d);
    }
}

fn pats_into(
    globs: std::rc::Rc<Vec<super::glob::PathPat>>,
    home: Option<&Home>,
) -> Option<Vec<ir::Glob>> {
    match std::rc::Rc::try_unwrap(globs) {
        Ok(v) => v.into_iter().map(|p| p.into_glob(home)).collect(),
        Err(shared) => shared.iter().map(|p| p.expand(home)).collect(),
    }
}

/// [`expand`], reusing the matcher's allocations where it is the only owner.
pub fn expand_owned(m: ElabMatcher, home: Option<&Home>) -> Option<ir::Matcher> {
    Some(match m {
        ElabMatcher::Fs(globs) => ir::Matcher::Fs {
            globs: pats_into(globs, home)?,
        },
        ElabMatcher::Exec(bins, args) => ir::Matcher::Exec {
            binaries: pats_into(bins, home)?,
            args,
        },
        ElabMatcher::Net {
            proto,
            hosts,
            ports,
        } => ir::Matcher::Net {
            proto,
            hosts,
            ports,
        },
        ElabMatcher::Tool { tool, conds } => ir::Matcher::Tool {
            tool,
            conditions: conds
                .into_iter()
                .map(|c| match c {
                    ElabAtom::Ready(a) => Some(a),
                    ElabAtom::PathIn {
                        negated,
                        lhs,
                        globs,
                    } => Some(ir::Atom {
                        negated,
                        test: ir::Test::PathIn {
                            lhs,
                            globs: pats_into(globs, home)?,
                        },
                    }),
                })
                .collect::<Option<Vec<_>>>()?,
        },
        ElabMatcher::Env(vars) => ir::Matcher::Env { vars },
    })
}

/// Expands `~` in a matcher; None if it needs a home and there is none.
pub fn expand(m: &ElabMatcher, home: Option<&Home>) -> Option<ir::Matcher> {
    Some(match m {
        ElabMatcher::Fs(globs) => ir::Matcher::Fs {
            globs: globs
                .iter()
                .map(|g| g.expand(home))
                .collect::<Option<Vec<_>>>()?,
        },
        ElabMatcher::Exec(bins, args) => ir::Matcher::Exec {
            binaries: bins
                .iter()
                .map(|g| g.expand(home))
                .collect::<Option<Vec<_>>>()?,
            args: args.clone(),
        },
        ElabMatcher::Net {
            proto,
            hosts,
            ports,
        } => ir::Matcher::Net {
            proto: *proto,
            hosts: hosts.clone(),
            ports: ports.clone(),
        },
        ElabMatcher::Tool { tool, conds } => ir::Matcher::Tool {
            tool: tool.clone(),
            conditions: conds
                .iter()
                .map(|c| match c {
                    ElabAtom::Ready(a) => Some(a.clone()),
                    ElabAtom::PathIn {
                        negated,
                        lhs,
                        globs,
                    } => Some(ir::Atom {
                        negated: *negated,
                        test: ir::Test::PathIn {
                            lhs: lhs.clone(),
                            globs: globs
                                .iter()
                                .map(|g| g.expand(home))
                                .collect::<Option<Vec<_>>>()?,
                        },
                    }),
                })
                .collect::<Option<Vec<_>>>()?,
        },
        ElabMatcher::Env(vars) => ir::Matcher::Env { vars: vars.clone() },
    })
}
