//! Worst cases of glob and `like` matching (`cargo bench -p agentpol-core --bench matching`):
//! the two reproductions of issue 10.1 and 20-star patterns on 100 KB inputs.
//! Before the linear matcher the first took 4–28 s and the second ran past
//! 60 s; both are now bounded by a few passes over the input.

use agentpol_core::check::misc::parse_like;
use agentpol_core::eval::matching::{glob_matches, like_matches};
use agentpol_core::ir::{Glob, LikePattern, Piece, Segment};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

/// A `like` pattern from its text, parsed by the checker's parser.
fn like(text: &str) -> LikePattern {
    parse_like(text).expect("a valid like pattern")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("matching");
    group.sample_size(20);

    let curl = like("*curl*| sh*");
    let arg = "curl ".repeat(20_000) + "| s";
    group.throughput(Throughput::Bytes(arg.len() as u64));
    group.bench_with_input(BenchmarkId::new("like_curl_sh", arg.len()), &arg, |b, a| {
        b.iter(|| black_box(like_matches(&curl, black_box(a))))
    });

    let thirteen = like(&format!("{}*b*c", "*a".repeat(13)));
    let short = "a".repeat(39) + "b";
    group.throughput(Throughput::Bytes(short.len() as u64));
    group.bench_with_input(BenchmarkId::new("like_13_stars", 40), &short, |b, a| {
        b.iter(|| black_box(like_matches(&thirteen, black_box(a))))
    });

    let twenty = like(&format!("{}*b", "*a".repeat(20)));
    let big = "a".repeat(100_000);
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("like_20_stars", big.len()),
        &big,
        |b, a| b.iter(|| black_box(like_matches(&twenty, black_box(a)))),
    );

    let mut pieces = Vec::new();
    for _ in 0..20 {
        pieces.push(Piece::Star);
        pieces.push(Piece::Any);
        pieces.push(Piece::Lit("a".into()));
    }
    pieces.push(Piece::Lit("b".into()));
    let glob = Glob {
        pattern: "/x/<20 stars>".into(),
        segments: vec![Segment::Lit("x".into()), Segment::Wild(pieces)],
    };
    let path = format!("/x/{big}");
    group.bench_with_input(
        BenchmarkId::new("glob_20_stars", big.len()),
        &path,
        |b, p| b.iter(|| black_box(glob_matches(&glob, black_box(p)))),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
