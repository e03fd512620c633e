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
//! without a depth bound, is in `compiler/verify/README.md`.
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
pub mod build;
mod check;
pub mod codes;
mod diff;
mod encode;
mod formula;
pub mod gen;
mod paths;
mod prune;
mod report;
mod strings;
mod witness;

pub use codes::VERIFY_CODES;
pub use report::{
    request_json, Change, DiffReport, Direction, Finding, FindingKind, Report, RuleRef, Stats,
};

use agentpol::diag::Severity;
use agentpol::ir::Policy;
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
pub(crate) fn run_jobs<'p, J: Sync, R: Send>(
    policy: &'p Policy,
    opts: &'p Options,
    jobs: &[J],
    work: impl Fn(&mut Ctx<'p>, &J) -> R + Sync,
) -> (Vec<R>, Stats) {
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::new());
    let stats = Mutex::new(Stats::default());
    let threads = opts.threads.max(1).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (results, stats, work) = (&results, &stats, &work);
            s.spawn(move || {
                let mut ctx = Ctx::new(policy, opts);
                let mut mine = Vec::new();
                // Static round-robin: each thread's solver sees the same queries
                // in the same order on every run, so models (witnesses) are
                // reproducible for a given thread count.
                for (j, job) in jobs.iter().enumerate().skip(t).step_by(threads) {
                    mine.push((j, work(&mut ctx, job)));
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
    let (results, stats) = run_jobs(policy, opts, &jobs, |ctx, job| {
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
    });
    let findings = results
        .into_iter()
        .flatten()
        .filter(|f| {
            f.severity >= opts.level
                || matches!(f.kind, FindingKind::Internal | FindingKind::Unknown)
        })
        .collect();
    Report { findings, stats }
}

pub use diff::diff;
