//! Compiles one generated policy and prints phase times; run under
//! `/usr/bin/time -v` for peak memory:
//!
//! ```sh
//! cargo build --release -p agentpol-core --example check_scale
//! /usr/bin/time -v target/release/examples/check_scale 100000
//! ```

use agentpol::check::testgen::generate_policy;
use agentpol::source::NoFiles;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let text = generate_policy(n);
    let t = Instant::now();
    let parsed = agentpol::syntax::parse(agentpol::span::FileId(0), &text);
    let parse = t.elapsed();
    drop(parsed);
    let t = Instant::now();
    let c = agentpol::compile("gen.agentpol", &text, &NoFiles);
    let total = t.elapsed();
    let rules = c
        .policy
        .as_ref()
        .map(|p| p.all_rules().count())
        .unwrap_or(0);
    println!(
        "source rules ~{n}, {} bytes, IR rules {rules}, errors {}: parse {parse:?}, parse+check {total:?}",
        text.len(),
        c.diagnostics.iter().filter(|d| d.is_error()).count()
    );
}
