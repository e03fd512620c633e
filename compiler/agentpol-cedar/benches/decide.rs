//! Index vs Cedar, same policies, same requests, same run.
//!
//! Criterion measures the mean time per decision (cycling through the
//! requests); then a latency pass times every decision on its own and prints
//! median and p99 per engine and policy size:
//!
//! * `index`: `IndexEngine::decide` (validation, lookup, decision with rule ids and reason);
//! * `cedar-authorizer`: `Authorizer::is_authorized` alone, on prebuilt Cedar
//!   requests and entities (one query: the `approved = false` one);
//! * `cedar-engine`: `CedarEngine::decide` (validation, building Cedar's request,
//!   context and entities against the schema, one or two queries).
//!
//! `cargo bench -p agentpol-cedar --bench decide` (add `-- --quick` for a short
//! run, `-- --latency-only` for the latency pass alone, with 10 repetitions).

use agentpol_cedar::CedarEngine;
use agentpol_core::request::Request;
use agentpol_decide::{DecisionEngine, IndexEngine};
use agentpol_testkit::policy_gen::{synthetic_policy, synthetic_requests};
use cedar_policy::Authorizer;
use criterion::{BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [10, 1_000, 10_000];

struct Setup {
    rules: usize,
    index: IndexEngine,
    cedar: CedarEngine,
    requests: Vec<Request>,
    prebuilt: Vec<(cedar_policy::Request, cedar_policy::Entities)>,
}

fn setup(size: usize) -> Setup {
    let policy = synthetic_policy(size);
    let rules = policy.all_rules().count();
    let index = IndexEngine::new(&policy).expect("index builds");
    let cedar = CedarEngine::from_policy(&policy).expect("cedar files validate");
    let requests = synthetic_requests(&policy, 42, 2_000);
    // Same answers, or the comparison is meaningless.
    for r in &requests {
        let a = index.decide(r).map(|d| d.effect).ok();
        let b = cedar.decide(r).map(|d| d.effect).ok();
        assert_eq!(a, b, "engines disagree on {r:?}");
    }
    let prebuilt = requests
        .iter()
        .filter_map(|r| cedar.authorizer_inputs(r, false).ok())
        .map(|(q, e, _)| (q, e))
        .collect();
    Setup {
        rules,
        index,
        cedar,
        requests,
        prebuilt,
    }
}

fn criterion_benches(c: &mut Criterion, setups: &[Setup]) {
    let authorizer = Authorizer::new();
    let mut g = c.benchmark_group("decide");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for s in setups {
        let mut i = 0usize;
        g.bench_with_input(BenchmarkId::new("index", s.rules), &s, |b, s| {
            b.iter(|| {
                i = (i + 1) % s.requests.len();
                black_box(s.index.decide(&s.requests[i]).map(|d| d.effect).ok())
            })
        });
        let pset = s
            .cedar
            .authorizer_inputs(&s.requests[0], false)
            .expect("inputs")
            .2;
        let mut j = 0usize;
        g.sample_size(if s.rules > 5_000 { 10 } else { 50 });
        g.bench_with_input(BenchmarkId::new("cedar-authorizer", s.rules), &s, |b, s| {
            b.iter(|| {
                j = (j + 1) % s.prebuilt.len();
                let (q, e) = &s.prebuilt[j];
                black_box(authorizer.is_authorized(q, pset, e).decision())
            })
        });
        g.sample_size(100);
    }
    g.finish();
}

fn percentiles(mut ns: Vec<u128>) -> (f64, f64) {
    ns.sort_unstable();
    let at = |q: f64| {
        let i = ((ns.len() as f64 - 1.0) * q).round() as usize;
        ns.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    (at(0.5), at(0.99))
}

fn latency_table(setups: &[Setup], quick: bool) {
    let authorizer = Authorizer::new();
    println!("\nPer-decision latency (µs), every decision timed on its own:");
    println!("| rules | engine | decisions | median µs | p99 µs |");
    println!("|---:|---|---:|---:|---:|");
    let mut medians = Vec::new();
    for s in setups {
        let reps = if quick { 1 } else { 10 };
        let mut ns = Vec::new();
        for _ in 0..reps {
            for r in &s.requests {
                let t = Instant::now();
                black_box(s.index.decide(r).map(|d| d.effect).ok());
                ns.push(t.elapsed().as_nanos());
            }
        }
        let n = ns.len();
        let (im, ip) = percentiles(ns);
        println!("| {} | index | {n} | {im:.2} | {ip:.2} |", s.rules);

        let pset = s
            .cedar
            .authorizer_inputs(&s.requests[0], false)
            .expect("inputs")
            .2;
        let take = if s.rules > 5_000 || quick {
            200
        } else {
            s.prebuilt.len()
        };
        let mut ns = Vec::new();
        for (q, e) in s.prebuilt.iter().take(take) {
            let t = Instant::now();
            black_box(authorizer.is_authorized(q, pset, e).decision());
            ns.push(t.elapsed().as_nanos());
        }
        let n = ns.len();
        let (cm, cp) = percentiles(ns);
        println!(
            "| {} | cedar-authorizer | {n} | {cm:.2} | {cp:.2} |",
            s.rules
        );

        let mut ns = Vec::new();
        for r in s.requests.iter().take(take) {
            let t = Instant::now();
            black_box(s.cedar.decide(r).map(|d| d.effect).ok());
            ns.push(t.elapsed().as_nanos());
        }
        let n = ns.len();
        let (em, ep) = percentiles(ns);
        println!("| {} | cedar-engine | {n} | {em:.2} | {ep:.2} |", s.rules);
        medians.push((s.rules, im, cm, em));
    }
    println!("\n| rules | index median µs | Cedar authorizer median µs | speed-up vs authorizer | speed-up vs Cedar engine |");
    println!("|---:|---:|---:|---:|---:|");
    for (rules, im, cm, em) in medians {
        println!(
            "| {rules} | {im:.2} | {cm:.2} | {:.0}× | {:.0}× |",
            cm / im.max(0.001),
            em / im.max(0.001)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let latency_only = args.iter().any(|a| a == "--latency-only");
    let quick = !latency_only && args.iter().any(|a| a == "--quick" || a == "--test");
    let setups: Vec<Setup> = SIZES.iter().map(|n| setup(*n)).collect();
    if !latency_only {
        let mut c = Criterion::default().configure_from_args();
        criterion_benches(&mut c, &setups);
        c.final_summary();
    }
    latency_table(&setups, quick);
}
