//! Compiles one generated policy and prints phase times; run under
//! `/usr/bin/time -v` for peak memory:
//!
//! ```sh
//! cargo build --release -p agentpol-core --example check_scale
//! /usr/bin/time -v target/release/examples/check_scale 100000
//! ```

use agentpol_core::check::testgen::generate_policy;
use agentpol_core::source::NoFiles;
use std::time::Instant;

/// Nanoseconds this thread has run on a CPU (0 if unknown).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let text = generate_policy(n);
    let (t, c0) = (Instant::now(), cpu_ns());
    let parsed = agentpol_core::syntax::parse(agentpol_core::span::FileId(0), &text);
    let (parse, parse_cpu) = (t.elapsed(), cpu_ns() - c0);
    drop(parsed);
    let (t, c0) = (Instant::now(), cpu_ns());
    let c = agentpol_core::compile("gen.agentpol", &text, &NoFiles);
    let (total, total_cpu) = (t.elapsed(), cpu_ns() - c0);
    let rules = c
        .policy
        .as_ref()
        .map(|p| p.all_rules().count())
        .unwrap_or(0);
    println!(
        "source rules ~{n}, {} bytes, IR rules {rules}, errors {}: wall parse {parse:?}, parse+check {total:?}; \
         cpu parse {:.0} ms, parse+check {:.0} ms",
        text.len(),
        c.diagnostics.iter().filter(|d| d.is_error()).count(),
        parse_cpu as f64 / 1e6,
        total_cpu as f64 / 1e6
    );
}
