//! `agentpolc bench`: parse + check time and peak memory on a generated policy.
//!
//! The policy comes from `agentpol_core::check::testgen::generate_policy`, the same
//! generator the criterion benches use. Times are reported both as wall clock
//! and as this thread's CPU time (from `/proc/thread-self/schedstat`), since
//! wall clock on a shared machine says more about the neighbours than about us.

use crate::exit;
use std::time::Instant;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of source rules in the generated policy.
    #[arg(long, default_value_t = 100_000)]
    pub rules: usize,
    /// Repetitions; the best of each is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

/// This thread's CPU time in seconds, if the kernel exposes it.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Peak resident set size of this process in MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[derive(Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: Option<f64>,
}

fn measure(f: impl FnOnce() -> usize) -> (Sample, usize) {
    let c0 = thread_cpu();
    let t0 = Instant::now();
    let n = f();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = thread_cpu().zip(c0).map(|(b, a)| b - a);
    (Sample { wall, cpu }, n)
}

fn best(samples: &[Sample]) -> Sample {
    let wall = samples.iter().map(|s| s.wall).fold(f64::INFINITY, f64::min);
    let cpu = samples.iter().filter_map(|s| s.cpu).reduce(f64::min);
    Sample { wall, cpu }
}

fn show(s: Sample) -> String {
    match s.cpu {
        Some(c) => format!("wall {:>7.1} ms   cpu {:>7.1} ms", s.wall * 1e3, c * 1e3),
        None => format!("wall {:>7.1} ms", s.wall * 1e3),
    }
}

/// Runs `bench`.
pub fn run(args: Args) -> u8 {
    if args.runs == 0 || args.rules == 0 {
        eprintln!("error: --rules and --runs must be at least 1");
        return exit::USAGE;
    }
    let text = agentpol_core::check::testgen::generate_policy(args.rules);
    let mut parse = Vec::new();
    let mut full = Vec::new();
    let mut ir_rules = 0;
    for _ in 0..args.runs {
        let (s, _) = measure(|| {
            let p = agentpol_core::syntax::parse(agentpol_core::span::FileId(0), &text);
            p.ast.items.len()
        });
        parse.push(s);
        let (s, n) = measure(|| {
            let c = agentpol_core::compile(
                "generated.agentpol",
                &text,
                &agentpol_core::source::NoFiles,
            );
            match &c.policy {
                Some(p) => p.agents.iter().map(|a| a.rules.len()).sum(),
                None => usize::MAX,
            }
        });
        if n == usize::MAX {
            eprintln!("internal error: the generated policy does not compile");
            return exit::INTERNAL;
        }
        ir_rules = n;
        full.push(s);
    }
    println!(
        "agentpolc bench: generated policy with {} source rules ({:.1} MB), best of {} run(s)",
        args.rules,
        text.len() as f64 / 1e6,
        args.runs
    );
    println!("  parse          {}", show(best(&parse)));
    println!(
        "  parse + check  {}   ({ir_rules} IR rules)",
        show(best(&full))
    );
    if let Some(m) = peak_rss_mib() {
        println!("  peak RSS       {m:.0} MiB (whole process, including the generated text)");
    }
    exit::OK
}
