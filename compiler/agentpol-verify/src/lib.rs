//! The agentpol verifier: proves a checked policy free of conflicts, checks its
//! assertions, and diffs two policies semantically. It reads only the IR.
//!
//! ```text
//! IR ──▶ units (principal × partition) ──▶ cheap candidate filters ──▶ per-rule solver
//!        │                                  (path trie, port/address      │
//!        │                                   intervals, arg buckets)      ▼
//!        └──────────────────────────────────────────────────▶ findings ──▶ replay in
//!                                                               + witness    eval::evaluate
//! ```
//!
//! * [`verify`]: overridden, redundant and vacuous rules, partial overlaps
//!   (info), skill escalation, cross-layer mismatches (tool URLs vs net, exec
//!   vs fs read) and `assert never` items, each with a concrete request.
//! * [`diff`]: what a new policy grants that an old one did not, and the reverse.
//!
//! How paths, strings and addresses are encoded, and why this is exact
//! without a depth bound, is in `compiler/agentpol-verify/README.md`.
//!
//! Architecture invariants: every witness is replayed in the reference
//! evaluator before it is reported (a disagreement is an internal-error
//! finding, never a claim); every solver call has a timeout; an undecided
//! question is an `unknown` finding, never "no conflict".
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod automata;
mod check;
pub mod codes;
mod diff;
mod encode;
mod formula;
mod paths;
mod prune;
mod report;
mod strings;
mod witness;

pub use codes::VERIFY_CODES;
pub use report::{
    request_json, Change, DiffReport, Direction, Finding, FindingKind, Report, RuleRef, Stats,
};

use agentpol_core::diag::Severity;
use agentpol_core::ir::Policy;
use check::{Ctx, Unit};
use formula::Part;
use std::sync::Mutex;

/// How to run the verifier.
#[derive(Clone, Debug)]
pub struct Options {
    /// Report findings of at least this severity. `Info` also computes the
    /// partial overlaps (one solver call per overlapping pair).
    pub level: Severity,
    /// Compare every pair of rules with the solver instead of using the cheap
    /// filters and the encoding cache (for benchmarks and cross-checking).
    pub naive: bool,
    /// Timeout of each solver check, in milliseconds.
    pub timeout_ms: u32,
    /// Product states per pattern-family exploration before giving up (the
    /// question is then reported as unknown).
    pub max_states: usize,
    /// Worker threads (each has its own Z3 context).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: Severity::Warning,
            naive: false,
            timeout_ms: 10_000,
            max_states: 200_000,
            threads: std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1),
        }
    }
}

enum Job<'p> {
    Rules(Unit<'p>),
    Cross(Unit<'p>),
    Assertion(usize),
}

/// Runs `jobs` on `threads` workers; results come back in job order.
/// A job that panicked (a verifier bug) yields `on_panic(job, message)`
/// instead of taking the whole run down; the encoder's scope is popped while
/// unwinding, so the thread's solver stays usable.
pub(crate) fn run_jobs<'p, J: Sync, R: Send>(
    policy: &'p Policy,
    opts: &'p Options,
    jobs: &[J],
    work: impl Fn(&mut Ctx<'p>, &J) -> R + Sync,
    on_panic: impl Fn(&J, String) -> R + Sync,
) -> (Vec<R>, Stats) {
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::new());
    let stats = Mutex::new(Stats::default());
    let threads = opts.threads.max(1).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (results, stats, work, on_panic) = (&results, &stats, &work, &on_panic);
            s.spawn(move || {
                let mut ctx = Ctx::new(policy, opts);
                let mut mine = Vec::new();
                // Static round-robin: each thread's solver sees the same queries
                // in the same order on every run, so models (witnesses) are
                // reproducible for a given thread count.
                for (j, job) in jobs.iter().enumerate().skip(t).step_by(threads) {
                    let run = std::panic::AssertUnwindSafe(|| work(&mut ctx, job));
                    let r = match std::panic::catch_unwind(run) {
                        Ok(r) => r,
                        Err(p) => {
                            let msg = p
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "unknown panic".into());
                            on_panic(job, msg)
                        }
                    };
                    mine.push((j, r));
                }
                if let Ok(mut r) = results.lock() {
                    r.extend(mine);
                }
                if let Ok(mut st) = stats.lock() {
                    st.add(&ctx.stats);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(j, _)| *j);
    (
        results.into_iter().map(|(_, r)| r).collect(),
        stats.into_inner().unwrap_or_default(),
    )
}

/// Verifies a checked policy.
pub fn verify(policy: &Policy, opts: &Options) -> Report {
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for agent in &policy.agents {
        let owners = std::iter::once(None).chain((0..agent.skills.len()).map(Some));
        for skill in owners {
            for part in Part::all(policy) {
                if let Some(u) = Unit::new(policy, agent, skill, part.clone()) {
                    jobs.push(Job::Rules(u));
                }
                if matches!(part, Part::Tool(_) | Part::Exec) {
                    if let Some(u) = Unit::new(policy, agent, skill, part) {
                        jobs.push(Job::Cross(u));
                    }
                }
            }
        }
    }
    jobs.extend((0..policy.assertions.len()).map(Job::Assertion));
    let (results, stats) = run_jobs(
        policy,
        opts,
        &jobs,
        |ctx, job| {
            let mut out = Vec::new();
            match job {
                Job::Rules(u) => ctx.unit(u, &mut out),
                Job::Cross(u) => {
                    if let Some(agent) = policy.agent(&u.who.agent) {
                        ctx.cross_layer(u, agent, &mut out);
                    }
                }
                Job::Assertion(i) => ctx.assertion(*i, &mut out),
            }
            out
        },
        |job, msg| {
            let (owner, part, src) = match job {
                Job::Rules(u) | Job::Cross(u) => (
                    u.who.owner(),
                    u.part.describe(),
                    u.own.first().map(|r| r.rule.src),
                ),
                Job::Assertion(i) => (
                    String::new(),
                    "assertion".into(),
                    policy.assertions.get(*i).map(|a| a.src),
                ),
            };
            vec![crash(owner, part, src, msg)]
        },
    );
    let findings = results
        .into_iter()
        .flatten()
        .filter(|f| {
            f.severity >= opts.level
                || matches!(f.kind, FindingKind::Internal | FindingKind::Unknown)
        })
        .map(|mut f| {
            f.included_via = included_via(policy, &f);
            f
        })
        .collect();
    Report { findings, stats }
}

/// For a finding about a rule written in `std`: the outermost `include` of
/// it that the user wrote (the first one outside `std`). A user cannot edit
/// `std`, so "delete this rule" pointed at `std/…` helped nobody.
fn included_via(policy: &Policy, f: &Finding) -> Option<agentpol_core::ir::Include> {
    let in_std = |file: agentpol_core::span::FileId| {
        policy
            .files
            .get(file.0 as usize)
            .is_some_and(|fi| fi.name.starts_with("std/"))
    };
    if !in_std(f.src.span.file) {
        return None;
    }
    let id = &f.rule.as_ref()?.id;
    let (_, rule) = policy.all_rules().find(|(_, r)| &r.id == id)?;
    rule.origin
        .via
        .iter()
        .find(|i| !in_std(i.site.span.file))
        .cloned()
}

/// The internal-error finding of a job that crashed.
pub(crate) fn crash(
    owner: String,
    part: String,
    src: Option<agentpol_core::ir::SourceRef>,
    msg: String,
) -> Finding {
    Finding {
        included_via: None,
        kind: FindingKind::Internal,
        severity: FindingKind::Internal.severity(),
        owner,
        part: part.clone(),
        src: src.unwrap_or_else(|| agentpol_core::ir::SourceRef {
            span: Default::default(),
            line: 1,
            col: 1,
        }),
        rule: None,
        related: Vec::new(),
        witness: None,
        other_witnesses: Vec::new(),
        message: format!("internal error: the verifier crashed while analysing {part}"),
        reason: Some(msg),
    }
}

pub use diff::diff;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashing_job_becomes_its_fallback_and_the_rest_still_run() {
        let p = Policy {
            ir_version: agentpol_core::ir::IR_VERSION,
            files: Vec::new(),
            agents: Vec::new(),
            tools: Vec::new(),
            params: Vec::new(),
            secrets: Vec::new(),
            assertions: Vec::new(),
            tests: Vec::new(),
        };
        for threads in [1, 2] {
            let opts = Options {
                threads,
                ..Options::default()
            };
            let jobs = [0u32, 1, 2, 3];
            let (out, _) = run_jobs(
                &p,
                &opts,
                &jobs,
                |_, j| {
                    if *j == 1 {
                        panic!("boom {j}");
                    }
                    format!("ok {j}")
                },
                |j, msg| format!("crashed {j}: {msg}"),
            );
            assert_eq!(out, ["ok 0", "crashed 1: boom 1", "ok 2", "ok 3"]);
        }
    }
}
