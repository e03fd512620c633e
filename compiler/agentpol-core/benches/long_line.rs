//! Parse + check time of policies written on one line
//! (`cargo bench -p agentpol-core --bench long_line`).
//!
//! The same generated policy is compiled with its newlines and with every
//! newline replaced by a space; the two must cost about the same (issue 10,
//! point 10: columns were once counted from the line start for every rule,
//! which made one-line inputs quadratic). Before the criterion runs, the
//! CPU time of the compiling thread is printed, best of 3, for sizes up to a
//! ~10 MB line (the fairer number on a shared machine).

use agentpol_core::check::testgen::generate_policy;
use agentpol_core::source::NoFiles;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// The generated policy with every newline replaced by a space (it has no
/// `#` comments, so the meaning is unchanged).
fn one_line(n: usize) -> String {
    generate_policy(n).replace('\n', " ")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("long_line");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in [10_000usize, 40_000] {
        let lines = generate_policy(n);
        let line = one_line(n);
        let probe = agentpol_core::compile("gen.agentpol", &line, &NoFiles);
        assert!(probe.policy.is_some(), "one-line policy must compile");
        group.throughput(Throughput::Elements(n as u64));
        for (name, text) in [("lines", &lines), ("one-line", &line)] {
            group.bench_with_input(BenchmarkId::new(name, n), text, |b, text| {
                b.iter(|| {
                    black_box(agentpol_core::compile(
                        "gen.agentpol",
                        black_box(text),
                        &NoFiles,
                    ))
                })
            });
        }
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
    for n in [10_000usize, 40_000, 80_000, 120_000] {
        let lines = generate_policy(n);
        let line = one_line(n);
        let compile = |t: &str| agentpol_core::compile("gen.agentpol", t, &NoFiles);
        match (
            best_cpu(3, || compile(&lines)),
            best_cpu(3, || compile(&line)),
        ) {
            (Some(a), Some(b)) => println!(
                "cpu time, {n} rules ({:.1} MB), best of 3: lines {:.0} ms, one line {:.0} ms",
                line.len() as f64 / 1e6,
                a as f64 / 1e6,
                b as f64 / 1e6
            ),
            _ => println!("cpu time: /proc/thread-self/schedstat not available"),
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
