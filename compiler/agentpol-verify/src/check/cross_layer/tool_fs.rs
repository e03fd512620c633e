//! Tool path arguments vs fs read: a tool rule that allows a call whose
//! `path` argument names a file the fs rules explicitly refuse to read
//! (AP0514). The tool's server reads with its own rights, so without this
//! check `tool read_file { allow when path in { "~/.ssh/**" } }` silently
//! undoes `deny read "~/.ssh/**"`.

use super::super::ask::{Answer, Inconclusive, Question, STATE_LIMIT};
use super::super::{related, Ctx, RInfo, Unit};
use super::fs_on;
use crate::formula::Slot;
use crate::report::{Finding, FindingKind};
use crate::witness::request;
use agentpol_core::ir::{Action, Effect};
use agentpol_core::request::{Request, Resource};
use z3::ast::Bool;

impl<'p> Ctx<'p> {
    /// Checks rule `i` of a tool unit against the fs read rules, for the
    /// tool's path-typed argument `arg`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tool_fs(
        &mut self,
        unit: &Unit<'_>,
        i: usize,
        arg: &str,
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
        // Only an explicit deny counts, as for AP0507: a path the fs rules
        // merely do not grant is normal for a tool the tool layer polices.
        if !fs_own
            .iter()
            .chain(fs_agent)
            .any(|x| x.rule.effect == Effect::Deny)
        {
            return;
        }
        let tool_own = self.overlapping(r.rule, &unit.own);
        let tool_agent = self.overlapping(r.rule, &unit.agent);
        if tool_own.iter().chain(&tool_agent).any(|x| x.f.is_err()) {
            return;
        }
        let slot = Slot::Arg(arg.to_string());
        let ro = fs_on(fs_own, &slot, |_| true);
        let ra = fs_on(fs_agent, &slot, |_| true);
        let lowered = self.against_fs(unit, fr, &tool_own, &tool_agent, &ro, &ra);
        let mut enc = lowered.enc;
        let approx = enc.approx;
        let query = enc.define(&Bool::and(&[
            lowered.matched,
            lowered.layer.is(Effect::Allow),
            lowered.fs_denied,
        ]));
        let q = Question::rule(
            &owner,
            &unit.part,
            r,
            "allows a path fs forbids reading",
            approx,
        );
        let limit = Inconclusive::Report(STATE_LIMIT);
        let Answer::Sat(v) = self.ask(&mut enc, &[query], &q, true, limit, out) else {
            return;
        };
        let req = request(self.policy, &unit.who, &unit.part, &v);
        let path = match &req.resource {
            Resource::Tool { args, .. } => args
                .get(arg)
                .and_then(|p| p.as_str())
                .unwrap_or("/")
                .to_string(),
            _ => String::new(),
        };
        let read = Request {
            agent: unit.who.agent.clone(),
            skill: unit.who.skill.clone(),
            resource: Resource::Fs {
                action: Action::Read,
                path: path.clone(),
            },
        };
        let claim = "the tool call is allowed and the read denied";
        let f = self.confirm(&q, req, |cx, req| match (cx.replay(req), cx.replay(&read)) {
            (Ok(d), Ok(fd))
                if d.effect == Effect::Allow
                    && d.deciding.iter().any(|m| m.id == r.rule.id)
                    && fd.effect == Effect::Deny
                    && !fd.deciding.is_empty() =>
            {
                let mut f = cx.about(
                    &q,
                    FindingKind::ToolFsMismatch,
                    format!(
                        "rule {} allows calls whose argument `{arg}` is {path}, which the fs rules of {owner} forbid reading",
                        r.rule.id
                    ),
                );
                f.related = related(&fd, ro.iter().chain(&ra).map(|x| &x.2));
                f.witness = Some(req.clone());
                f.other_witnesses = vec![read.clone()];
                Ok(f)
            }
            (Ok(d), Ok(fd)) => Err(Question::refuted(
                claim,
                format!("tool {}, read {}", d.effect, fd.effect),
            )),
            (Err(err), _) | (_, Err(err)) => Err(Question::refuted(claim, err)),
        });
        out.push(f);
    }
}
