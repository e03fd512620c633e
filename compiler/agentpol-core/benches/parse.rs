//! Parser and formatter throughput on generated policies.
//!
//! `cargo bench -p agentpol-core --bench parse` (criterion). The 100k-rule
//! policy is about 5 MB; the target is well under a second to parse it.
//!
//! Criterion measures wall-clock time, which a busy machine inflates; before
//! the criterion runs, this binary also prints the CPU time of the parsing
//! thread per parse (Linux `/proc/thread-self/schedstat`), the fairer number
//! on a shared machine.

use agentpol_core::format::format_source;
use agentpol_core::span::FileId;
use agentpol_core::syntax::parse;
use criterion::{criterion_group, Criterion, Throughput};
use std::hint::black_box;

#[path = "../tests/support/gen.rs"]
mod gen;

fn bench(c: &mut Criterion) {
    let big = gen::big_policy(100_000);
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_function("100k_rules", |b| {
        b.iter(|| {
            let p = parse(FileId(0), black_box(&big));
            assert!(p.diagnostics.is_empty());
            p
        })
    });
    group.bench_function("format_100k_rules", |b| {
        b.iter(|| {
            format_source(FileId(0), black_box(&big))
                .map(|s| s.len())
                .unwrap_or(0)
        })
    });
    // Hostile input: deep nesting and garbage are cut early.
    let parens = format!(
        "agent a {{ tool t {{ allow when {}x == 1{} }} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    group.throughput(Throughput::Bytes(parens.len() as u64));
    group.bench_function("100k_nested_parens", |b| {
        b.iter(|| parse(FileId(0), black_box(&parens)).diagnostics.len())
    });
    let garbage = "agent ".repeat(200_000);
    group.throughput(Throughput::Bytes(garbage.len() as u64));
    group.bench_function("garbage_1mb", |b| {
        b.iter(|| parse(FileId(0), black_box(&garbage)).diagnostics.len())
    });
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

fn cpu_time_report() {
    let big = gen::big_policy(100_000);
    let runs = 5;
    let mut best = u64::MAX;
    for _ in 0..runs {
        let (Some(t0), p, Some(t1)) = (thread_cpu_ns(), parse(FileId(0), &big), thread_cpu_ns())
        else {
            println!("cpu time: /proc/thread-self/schedstat not available");
            return;
        };
        assert!(p.diagnostics.is_empty());
        drop(p);
        best = best.min(t1.saturating_sub(t0));
    }
    println!(
        "cpu time: parse of 100k rules ({:.1} MB), best of {runs}: {:.0} ms",
        big.len() as f64 / 1e6,
        best as f64 / 1e6
    );
}

criterion_group!(benches, bench);

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
