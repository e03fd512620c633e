//! The three-engine differential check shared by the differential and
//! examples tests.

use agentpol_cedar::CedarEngine;
use agentpol_core::ir::{Action, Effect, Policy};
use agentpol_core::request::{Decision, Request, Resource};
use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};
use std::collections::HashSet;

pub fn env_or(name: &str, release: usize, debug: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            debug
        } else {
            release
        })
}

/// (owner, action) pairs with an approximated rule.
pub fn lossy_pairs(cedar: &CedarEngine) -> HashSet<(String, Action)> {
    let meta = cedar.meta();
    meta.loss
        .iter()
        .filter_map(|l| meta.rules.get(&l.rule))
        .map(|r| (r.owner.clone(), r.action))
        .collect()
}

fn action_of(req: &Request) -> Action {
    match &req.resource {
        Resource::Fs { action, .. } | Resource::Net { action, .. } => *action,
        Resource::Exec { .. } => Action::Exec,
        Resource::Tool { .. } => Action::Call,
        Resource::Env { .. } => Action::ReadEnv,
    }
}

pub fn touches_loss(lossy: &HashSet<(String, Action)>, req: &Request) -> bool {
    let a = action_of(req);
    lossy.contains(&(req.agent.clone(), a))
        || req
            .skill
            .as_ref()
            .is_some_and(|s| lossy.contains(&(format!("{}.{s}", req.agent), a)))
}

fn ids(d: &Decision, deciding: bool) -> Vec<String> {
    let list = if deciding { &d.deciding } else { &d.matched };
    list.iter().map(|m| m.id.0.clone()).collect()
}

pub fn brief(d: &Decision) -> String {
    format!(
        "{} deciding={:?} matched={:?} ({})",
        d.effect,
        ids(d, true),
        ids(d, false),
        d.reason
    )
}

pub fn show(req: &Request) -> String {
    serde_json::to_string(req).unwrap_or_else(|_| format!("{req:?}"))
}

/// Compares the engines on every request; returns (decided, errors, lossy-checked).
pub fn check(policy: &Policy, requests: &[Request]) -> (usize, usize, usize) {
    let cedar = CedarEngine::from_policy(policy).unwrap_or_else(|d| {
        panic!(
            "emit failed: {:?}",
            d.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    });
    let index = IndexEngine::new(policy).unwrap_or_else(|e| panic!("index: {e:?}"));
    let eval = EvalEngine::new(policy.clone());
    let lossy = lossy_pairs(&cedar);
    let (mut decided, mut errors, mut one_way) = (0, 0, 0);
    for req in requests {
        let c = cedar.decide(req);
        let i = index.decide(req);
        let e = eval.decide(req);
        // The index is exact: the evaluator's effect and rule lists, or its error.
        match (&i, &e) {
            // The whole decision: effect, rule lists (ids, owners, spans) and reason.
            (Ok(id), Ok(ed)) => assert_eq!(
                id,
                ed,
                "index and evaluator differ for {}\n index: {}\n eval:  {}",
                show(req),
                brief(id),
                brief(ed)
            ),
            (Err(ie), Err(ee)) => assert_eq!(
                (ie.code.code, &ie.field),
                (ee.code.code, &ee.field),
                "different errors for {}\n index: {ie:?}\n eval:  {ee:?}",
                show(req)
            ),
            _ => panic!(
                "index and evaluator disagree on whether {} can be decided\n index: {:?}\n eval:  {:?}",
                show(req),
                i.as_ref().map(brief),
                e.as_ref().map(brief)
            ),
        }
        match (&c, &i) {
            (Err(ce), Err(ie)) => {
                assert_eq!(
                    (ce.code.code, &ce.field),
                    (ie.code.code, &ie.field),
                    "different errors for {}\n cedar: {ce:?}\n index: {ie:?}",
                    show(req)
                );
                errors += 1;
            }
            (Ok(cd), Ok(id)) => {
                decided += 1;
                if touches_loss(&lossy, req) {
                    one_way += 1;
                    assert!(
                        cd.effect >= id.effect,
                        "Cedar is laxer than the source for {}\n cedar: {}\n index: {}",
                        show(req),
                        brief(cd),
                        brief(id)
                    );
                    continue;
                }
                assert_eq!(
                    cd.effect,
                    id.effect,
                    "different effects for {}\n cedar: {}\n index: {}",
                    show(req),
                    brief(cd),
                    brief(id)
                );
                // Cedar reports the policies that determined its answer: for a
                // skill's allow only the skill's permits (the agent's side is a
                // gate), otherwise exactly the deciding rules.
                let cids: HashSet<String> = ids(cd, true).into_iter().collect();
                let iids: HashSet<String> = ids(id, true).into_iter().collect();
                if req.skill.is_some() && cd.effect != Effect::Deny {
                    assert!(
                        cids.is_subset(&iids),
                        "deciding rules for {}\n cedar: {cids:?}\n index: {iids:?}",
                        show(req)
                    );
                } else {
                    assert_eq!(cids, iids, "deciding rules for {}", show(req));
                }
            }
            _ => panic!(
                "one engine decided, the other refused: {}\n cedar: {:?}\n index: {:?}",
                show(req),
                c.as_ref().map(brief),
                i.as_ref().map(brief)
            ),
        }
    }
    (decided, errors, one_way)
}
