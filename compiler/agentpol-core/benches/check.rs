//! Parse and check time of generated policies (`cargo bench -p agentpol-core --bench check`).
//!
//! The 100k-rule case is the scale target: parse + check well under 1 s in
//! release. Criterion measures wall-clock time, which a busy machine
//! inflates; before the criterion runs, this binary prints the CPU time of
//! the compiling thread (Linux `/proc/thread-self/schedstat`), best of 5 —
//! the fairer number on a shared machine. Peak memory: run the `check_scale`
//! example under `/usr/bin/time -v`.

use agentpol_core::check::testgen::generate_policy;
use agentpol_core::source::NoFiles;
use agentpol_core::span::FileId;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for n in [10_000usize, 100_000] {
        let text = generate_policy(n);
        let probe = agentpol_core::compile("gen.agentpol", &text, &NoFiles);
        assert!(probe.policy.is_some(), "generated policy must compile");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("parse", n), &text, |b, text| {
            b.iter(|| black_box(agentpol_core::syntax::parse(FileId(0), black_box(text))))
        });
        group.bench_with_input(BenchmarkId::new("parse+check", n), &text, |b, text| {
            b.iter(|| {
                black_box(agentpol_core::compile(
                    "gen.agentpol",
                    black_box(text),
                    &NoFiles,
                ))
            })
        });
    }
    group.finish();
}

/// Nanoseconds this thread has run on a CPU, if the kernel says.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Best CPU time of `runs` calls of `f` (dropping the result is not counted).
fn best_cpu<T>(runs: usize, mut f: impl FnMut() -> T) -> Option<u64> {
    let mut best = u64::MAX;
    for _ in 0..runs {
        let t0 = thread_cpu_ns()?;
        let out = f();
        let t1 = thread_cpu_ns()?;
        drop(out);
        best = best.min(t1.saturating_sub(t0));
    }
    Some(best)
}

fn cpu_time_report() {
    let n = 100_000;
    let text = generate_policy(n);
    let parse = best_cpu(5, || agentpol_core::syntax::parse(FileId(0), &text));
    let total = best_cpu(5, || {
        agentpol_core::compile("gen.agentpol", &text, &NoFiles)
    });
    match (parse, total) {
        (Some(p), Some(t)) => println!(
            "cpu time, {n} rules ({:.1} MB), best of 5: parse {:.0} ms, parse+check {:.0} ms (check {:.0} ms)",
            text.len() as f64 / 1e6,
            p as f64 / 1e6,
            t as f64 / 1e6,
            t.saturating_sub(p) as f64 / 1e6
        ),
        _ => println!("cpu time: /proc/thread-self/schedstat not available"),
    }
}

criterion_group!(benches, bench);

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
