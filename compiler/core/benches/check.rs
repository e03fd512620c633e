//! Parse and check time of generated policies (`cargo bench -p agentpol-core --bench check`).
//!
//! The 100k-rule case is the scale target: parse + check well under 1 s in
//! release. Peak memory is measured with the `check_scale` example under
//! `/usr/bin/time -v`.

use agentpol::check::testgen::generate_policy;
use agentpol::source::NoFiles;
use agentpol::span::FileId;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for n in [10_000usize, 100_000] {
        let text = generate_policy(n);
        let probe = agentpol::compile("gen.agentpol", &text, &NoFiles);
        assert!(probe.policy.is_some(), "generated policy must compile");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("parse", n), &text, |b, text| {
            b.iter(|| black_box(agentpol::syntax::parse(FileId(0), black_box(text))))
        });
        group.bench_with_input(BenchmarkId::new("parse+check", n), &text, |b, text| {
            b.iter(|| black_box(agentpol::compile("gen.agentpol", black_box(text), &NoFiles)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
