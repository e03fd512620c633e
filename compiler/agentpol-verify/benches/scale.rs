//! Scale benchmark of the verifier (a bench binary, not a timed test).
//!
//! `cargo bench -p agentpol-verify --bench scale` runs, in one process:
//! * the optimised verifier on generated policies of 1k, 2k and 10k rules;
//! * the naive all-pairs mode on the same 1k and 2k policies, requiring the
//!   same findings as the optimised run;
//! * a table of wall time, solver checks and findings (planted ones found),
//!   with the naive time at 10k extrapolated from its measured growth;
//! * the hard glob shapes (the queries PLATFORM.md saw time out, segments with
//!   several stars, `**` with middle blocks) and 200 random glob pairs, each
//!   as intersection and containment.
//!
//! Environment: `AGENTPOL_BENCH_THREADS` (default 2), `AGENTPOL_BENCH_SIZES`
//! (optimised sizes, default `1000,2000,10000`), `AGENTPOL_BENCH_NAIVE`
//! (naive sizes, default `1000,2000`; empty to skip).
#![allow(missing_docs)]

use agentpol_core::diag::Severity;
use agentpol_core::ir::{Action, Effect, Policy};
use agentpol_testkit::verify_build::{agent, fs, policy, rule};
use agentpol_testkit::verify_gen::{generate, GenConfig, Planted};
use agentpol_verify::{verify, Finding, FindingKind, Options, Report};
use std::collections::BTreeSet;
use std::time::Instant;

type Key = (FindingKind, String, Vec<String>);

fn keys(r: &Report) -> BTreeSet<Key> {
    r.findings
        .iter()
        .map(|f: &Finding| {
            let mut rel: Vec<String> = f.related.iter().map(|x| x.id.to_string()).collect();
            rel.sort();
            if f.kind == FindingKind::SkillEscalation {
                rel.clear();
            }
            (
                f.kind,
                f.rule
                    .as_ref()
                    .map(|r| r.id.to_string())
                    .unwrap_or_default(),
                rel,
            )
        })
        .collect()
}

fn sizes(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

struct Row {
    rules: usize,
    mode: &'static str,
    secs: f64,
    checks: usize,
    findings: usize,
    planted_found: usize,
    planted: usize,
    extra: usize,
    pairs: usize,
    candidates: usize,
}

fn run(p: &Policy, planted: &[Planted], naive: bool, threads: usize) -> (Row, Report) {
    let opts = Options {
        level: Severity::Warning,
        naive,
        threads,
        ..Options::default()
    };
    let t = Instant::now();
    let rep = verify(p, &opts);
    let secs = t.elapsed().as_secs_f64();
    let found: BTreeSet<(FindingKind, String)> = rep
        .findings
        .iter()
        .filter_map(|f| f.rule.as_ref().map(|r| (f.kind, r.id.to_string())))
        .collect();
    let planted_found = planted
        .iter()
        .filter(|x| found.contains(&(x.kind, x.rule.to_string())))
        .count();
    let rules = p
        .agents
        .iter()
        .map(|a| a.rules.len() + a.skills.iter().map(|s| s.rules.len()).sum::<usize>())
        .sum();
    let row = Row {
        rules,
        mode: if naive { "naive" } else { "optimised" },
        secs,
        checks: rep.stats.solver_checks,
        findings: rep.findings.len(),
        planted_found,
        planted: planted.len(),
        extra: rep.findings.len().saturating_sub(planted_found),
        pairs: rep.stats.pairs_total,
        candidates: rep.stats.pairs_candidate,
    };
    (row, rep)
}

fn hard_shapes(threads: usize) {
    // (R, H): is R overridden by H (containment), do they overlap (intersection)?
    let pairs: &[(&str, &str)] = &[
        ("/home/*/.ssh/*", "/home/alice/*"),
        ("/home/alice/*", "/home/*/.ssh/*"),
        ("/w/**/*.pem", "/w/**"),
        ("/srv/**", "/srv/*/**"),
        ("/a/*x*y*z*/b", "/a/*z*/b"),
        ("/a/*x*y*/b", "/a/*y*x*/b"),
        ("/**/node_modules/.bin/**", "/**/*.bin/**"),
        ("/**/a/b/**", "/**/a/**/b/**"),
        ("/var/log/*.[0-9]", "/var/log/*.?"),
        ("/d/id_[!x]?*", "/d/id_*"),
        ("/p/*.tar.gz", "/p/*.gz"),
        ("/q/**/x/**/y", "/q/**/y"),
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let toks = [
        "a", "b", "*", "a*", "*b", "*a*b*", "?", "[ab]", "[!a]*", "**", ".*", "x?y",
    ];
    let mut random: Vec<(String, String)> = Vec::new();
    for _ in 0..200 {
        let mut g = || {
            let n = 1 + next() % 4;
            let mut s = String::new();
            for _ in 0..n {
                s.push('/');
                s.push_str(toks[(next() % toks.len() as u64) as usize]);
            }
            s
        };
        random.push((g(), g()));
    }
    // All pairs in one policy (one agent per pair), so the time is the
    // queries', not each call's solver start-up.
    let all: Vec<(String, String)> = pairs
        .iter()
        .map(|(r, h)| (r.to_string(), h.to_string()))
        .chain(random)
        .collect();
    let agents = all
        .iter()
        .enumerate()
        .map(|(i, (r, h))| {
            agent(
                &format!("a{i}"),
                vec![
                    rule(&format!("a{i}/r"), Effect::Allow, Action::Read, fs(&[r]), 2),
                    rule(&format!("a{i}/h"), Effect::Deny, Action::Read, fs(&[h]), 3),
                ],
                vec![],
            )
        })
        .collect();
    let p = policy(agents, vec![], vec![]);
    let opts = Options {
        level: Severity::Info,
        threads,
        ..Options::default()
    };
    let t = Instant::now();
    let rep = verify(&p, &opts);
    let secs = t.elapsed().as_secs_f64();
    let has = |i: usize, k: FindingKind| {
        rep.findings
            .iter()
            .any(|f| f.kind == k && f.owner == format!("a{i}"))
    };
    println!("\n### Hard glob shapes (containment = overridden, intersection = overlap)\n");
    println!("| R | H | R ⊆ H | R ∩ H ≠ ∅ | unknown |");
    println!("|---|---|---|---|---|");
    for (i, (r, h)) in pairs.iter().enumerate() {
        println!(
            "| `{r}` | `{h}` | {} | {} | {} |",
            has(i, FindingKind::Overridden),
            has(i, FindingKind::Overridden) || has(i, FindingKind::PartialOverlap),
            has(i, FindingKind::Unknown)
        );
    }
    let n = pairs.len();
    let range = n..all.len();
    let contained = range
        .clone()
        .filter(|&i| has(i, FindingKind::Overridden))
        .count();
    let overlapping = range
        .clone()
        .filter(|&i| has(i, FindingKind::Overridden) || has(i, FindingKind::PartialOverlap))
        .count();
    let unknown = range
        .filter(|&i| has(i, FindingKind::Unknown) || has(i, FindingKind::Internal))
        .count();
    println!(
        "\n{} pairs (the {n} above + 200 random; both questions each) in one run: {:.2} s, \
         {} solver checks; random pairs: {contained} contained, {overlapping} overlapping, \
         {unknown} unknown/internal",
        all.len(),
        secs,
        rep.stats.solver_checks
    );
}

fn main() {
    let threads: usize = std::env::var("AGENTPOL_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let opt_sizes = sizes("AGENTPOL_BENCH_SIZES", "1000,2000,10000");
    let naive_sizes = sizes("AGENTPOL_BENCH_NAIVE", "1000,2000");
    let mut all: Vec<usize> = opt_sizes.iter().chain(&naive_sizes).copied().collect();
    all.sort_unstable();
    all.dedup();
    println!("## Verifier scale benchmark ({threads} threads)\n");
    println!("Generated policies: 10 agents (one skill each), fs/net/exec/tool/env rules, one planted finding per ~100 rules.\n");
    println!("| rules | mode | wall s | solver checks | rule pairs in units | pairs after pruning | findings | planted found | other findings |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut naive_times: Vec<(usize, f64)> = Vec::new();
    let mut pairs_at: Vec<(usize, usize)> = Vec::new();
    let mut opt_times: Vec<(usize, f64)> = Vec::new();
    let mut mismatch = false;
    for n in all {
        let (p, planted) = generate(GenConfig {
            rules: n,
            agents: 10,
            planted: n / 100,
            seed: 42,
        });
        let mut opt_keys = None;
        if opt_sizes.contains(&n) || naive_sizes.contains(&n) {
            let (row, rep) = run(&p, &planted, false, threads);
            print_row(&row);
            opt_times.push((n, row.secs));
            pairs_at.push((n, row.pairs));
            opt_keys = Some(keys(&rep));
        }
        if naive_sizes.contains(&n) {
            let (row, rep) = run(&p, &planted, true, threads);
            print_row(&row);
            naive_times.push((n, row.secs));
            if opt_keys.as_ref() != Some(&keys(&rep)) {
                mismatch = true;
                println!("\n**MISMATCH at {n} rules: naive and optimised findings differ**\n");
                let a = opt_keys.clone().unwrap_or_default();
                let b = keys(&rep);
                for k in a.symmetric_difference(&b).take(20) {
                    println!("- {k:?}");
                }
            }
        }
    }
    if !mismatch && !naive_times.is_empty() {
        println!("\nNaive and optimised findings identical at every size run in naive mode.");
    }
    if let [(n1, t1), (n2, t2), ..] = naive_times.as_slice() {
        let k = (t2 / t1).ln() / (*n2 as f64 / *n1 as f64).ln();
        let target = 10_000f64;
        let est = t2 * (target / *n2 as f64).powf(k);
        println!(
            "\nNaive growth exponent from {n1} → {n2} rules: {k:.2}. \
             **Extrapolated** (not measured) naive time at 10000 rules: {est:.0} s."
        );
        if let Some((_, t10)) = opt_times.iter().find(|(n, _)| *n == 10_000) {
            println!(
                "Optimised at 10000 rules (measured): {t10:.2} s → ratio ≈ {:.0}× (against the extrapolation).",
                est / t10
            );
        }
        // A second extrapolation that does not rest on a growth exponent: the
        // measured naive cost per rule pair times the pairs counted at 10000.
        let per_pair = pairs_at
            .iter()
            .find(|(m, _)| m == n2)
            .map(|(_, p)| t2 / (*p).max(1) as f64);
        let pairs10 = pairs_at.iter().find(|(m, _)| *m == 10_000).map(|(_, p)| *p);
        if let (Some(pp), Some(p10)) = (per_pair, pairs10) {
            let est2 = pp * p10 as f64;
            println!(
                "**Extrapolated** (not measured) from cost per pair: {:.3} ms per pair at {n2} rules × {p10} pairs at 10000 rules = {est2:.0} s{}.",
                pp * 1000.0,
                opt_times
                    .iter()
                    .find(|(n, _)| *n == 10_000)
                    .map(|(_, t)| format!(" → ratio ≈ {:.0}×", est2 / t))
                    .unwrap_or_default()
            );
        }
        for (n, tn) in &naive_times {
            if let Some((_, to)) = opt_times.iter().find(|(m, _)| m == n) {
                println!("Measured ratio at {n} rules: {:.0}×.", tn / to);
            }
        }
    }
    if std::env::var("AGENTPOL_BENCH_SHAPES")
        .map(|v| v != "0")
        .unwrap_or(true)
    {
        hard_shapes(threads);
    }
    if mismatch {
        std::process::exit(1);
    }
}

fn print_row(r: &Row) {
    println!(
        "| {} | {} | {:.2} | {} | {} | {} | {} | {}/{} | {} |",
        r.rules,
        r.mode,
        r.secs,
        r.checks,
        r.pairs,
        r.candidates,
        r.findings,
        r.planted_found,
        r.planted,
        r.extra
    );
}
