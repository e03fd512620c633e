//! Parser and formatter throughput on generated policies.
//!
//! `cargo bench -p agentpol-core --bench parse` (criterion). The 100k-rule
//! policy is about 5 MB; the target is well under a second to parse it.

use agentpol::format::format_source;
use agentpol::span::FileId;
use agentpol::syntax::parse;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[path = "../tests/common/gen.rs"]
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
        b.iter(|| format_source(FileId(0), black_box(&big)).map(|s| s.len()).unwrap_or(0))
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

criterion_group!(benches, bench);
criterion_main!(benches);
