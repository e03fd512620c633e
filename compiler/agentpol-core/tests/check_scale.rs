//! Large and adversarial inputs: the checker stays linear, never overflows
//! the stack, and fails closed with a diagnostic. (Timing is measured by the
//! `check` bench, not here.)

mod support;

use agentpol_core::check::testgen::generate_policy;
use agentpol_core::source::{MemoryLoader, NoFiles};
use support::check::{clean, codes, compile_fixture, rendered};

#[test]
fn generated_policies_are_valid() {
    for n in [1, 50, 3000] {
        let text = generate_policy(n);
        let c = agentpol_core::compile("gen.agentpol", &text, &NoFiles);
        assert!(c.diagnostics.is_empty(), "n={n}:\n{}", rendered(&c));
        let p = c.policy.unwrap();
        assert!(
            p.all_rules().count() >= n,
            "n={n}: {}",
            p.all_rules().count()
        );
        assert!(!p.agents.is_empty());
        assert!(p.agents.iter().any(|a| !a.skills.is_empty()) || n < 100);
    }
}

#[test]
fn long_const_chains_do_not_overflow() {
    let n = 20_000;
    let mut s = String::from("const C0 = \"/srv\"\n");
    for i in 1..n {
        s.push_str(&format!("const C{i} = C{}\n", i - 1));
    }
    s.push_str(&format!(
        "agent a {{\n  fs {{ allow read \"${{C{}}}/**\" }}\n}}\n",
        n - 1
    ));
    let p = clean(&s);
    let r = &p.agent("a").unwrap().rules[0];
    assert!(
        matches!(&r.matcher, agentpol_core::ir::Matcher::Fs { globs } if globs[0].pattern == "/srv/**")
    );
}

#[test]
fn long_const_cycles_are_one_error() {
    let n = 20_000;
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!("const C{i} = C{}\n", (i + 1) % n));
    }
    let c = compile_fixture(&s);
    assert_eq!(codes(&c), ["AP0104"]);
}

#[test]
fn long_set_and_include_chains_do_not_overflow() {
    let n = 10_000;
    let mut s = String::from("set S0 = { \"/s0\" }\nprofile P0 { fs { allow read S0 } }\n");
    for i in 1..n {
        s.push_str(&format!("set S{i} = {{ S{}, \"/s{i}\" }}\n", i - 1));
        s.push_str(&format!("profile P{i} {{ include P{} }}\n", i - 1));
    }
    s.push_str(&format!(
        "agent a {{\n  include P{}\n  fs {{ allow read S{} }}\n}}\n",
        n - 1,
        n - 1
    ));
    let p = clean(&s);
    let a = p.agent("a").unwrap();
    assert_eq!(a.rules[0].origin.via.len(), n);
    match &a.rules[1].matcher {
        agentpol_core::ir::Matcher::Fs { globs } => assert_eq!(globs.len(), n),
        other => panic!("{other:?}"),
    }
}

#[test]
fn repeated_splicing_does_not_blow_up() {
    // Without deduplication S40 would hold 2^40 elements.
    let mut s = String::from("set S0 = { \"/a\", \"/b\" }\n");
    for i in 1..=40 {
        s.push_str(&format!("set S{i} = {{ S{}, S{} }}\n", i - 1, i - 1));
    }
    s.push_str("agent a { fs { allow read S40 } }\n");
    let p = clean(&s);
    assert!(
        matches!(&p.agents[0].rules[0].matcher, agentpol_core::ir::Matcher::Fs { globs } if globs.len() == 2)
    );
}

#[test]
fn deep_conditions_at_the_parser_limit_compile() {
    let depth = agentpol_core::syntax::MAX_NESTING - 2;
    let cond = format!(
        "{}{}x == 1{}",
        "not ".repeat(depth / 2),
        "(".repeat(depth / 2),
        ")".repeat(depth / 2)
    );
    let s = format!("tool t(x: int)\nagent a {{\n  tool t {{ allow when {cond} }}\n}}\n");
    let p = clean(&s);
    let r = &p.agents[0].rules[0];
    match &r.matcher {
        agentpol_core::ir::Matcher::Tool { conditions, .. } => {
            assert_eq!(conditions.len(), 1);
            assert_eq!(conditions[0].negated, (depth / 2) % 2 == 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn alternating_and_or_nesting_is_bounded() {
    // (a or (b and (c or (d and ...)))) at the parser's depth: a linear DNF.
    let depth = agentpol_core::syntax::MAX_NESTING - 2;
    let mut cond = String::from("x == 0");
    for i in 1..depth {
        let op = if i % 2 == 0 { "and" } else { "or" };
        cond = format!("x == {i} {op} ({cond})");
    }
    let s = format!("tool t(x: int)\nagent a {{\n  tool t {{ allow when {cond} }}\n}}\n");
    let c = compile_fixture(&s);
    assert!(c.policy.is_some(), "{}", rendered(&c));
}

#[test]
fn dnf_limit_is_enforced_without_blow_up() {
    let ok: Vec<String> = (0..64).map(|i| format!("x == {i}")).collect();
    let s = format!(
        "tool t(x: int)\nagent a {{ tool t {{ allow when {} }} }}\n",
        ok.join(" or ")
    );
    let p = clean(&s);
    assert_eq!(p.agents[0].rules.len(), 64);
    let too_many: Vec<String> = (0..65).map(|i| format!("x == {i}")).collect();
    let s = format!(
        "tool t(x: int)\nagent a {{ tool t {{ allow when {} }} }}\n",
        too_many.join(" or ")
    );
    assert_eq!(codes(&compile_fixture(&s)), ["AP0207"]);
    // 2^30 disjuncts if multiplied out: rejected at once.
    let product: Vec<String> = (0..30)
        .map(|i| format!("(x == {i} or x == {})", i + 100))
        .collect();
    let s = format!(
        "tool t(x: int)\nagent a {{ tool t {{ allow when {} }} }}\n",
        product.join(" and ")
    );
    assert_eq!(codes(&compile_fixture(&s)), ["AP0207"]);
    // A flat chain of 100k atoms is linear.
    let wide: Vec<String> = (0..100_000).map(|i| format!("x != {i}")).collect();
    let s = format!(
        "tool t(x: int)\nagent a {{ tool t {{ allow when {} }} }}\n",
        wide.join(" and ")
    );
    let p = clean(&s);
    assert!(
        matches!(&p.agents[0].rules[0].matcher, agentpol_core::ir::Matcher::Tool { conditions, .. } if conditions.len() == 100_000)
    );
}

#[test]
fn long_import_chains_load_each_file_once() {
    let mut loader = MemoryLoader::default();
    let n = 300;
    for i in 0..n {
        let next = if i + 1 < n {
            format!("import \"m{}.agentpol\" as next\n", i + 1)
        } else {
            String::new()
        };
        // Every module also imports the last one: loaded once, no cycle.
        loader.files.insert(
            format!("m{i}.agentpol"),
            format!(
                "{next}import \"m{}.agentpol\" as last\nconst C = \"/m{i}\"\n",
                n - 1
            ),
        );
    }
    loader.files.insert(
        format!("m{}.agentpol", n - 1),
        format!("const C = \"/m{}\"\n", n - 1),
    );
    let root = "import \"m0.agentpol\" as m0\nagent a { fs { allow read \"${m0::C}/**\" } }\n";
    let c = agentpol_core::compile("root.agentpol", root, &loader);
    assert!(c.diagnostics.is_empty(), "{}", rendered(&c));
    assert_eq!(c.sources.files().len(), n + 1);
}

/// CPU nanoseconds this thread has run (wall clock where the kernel does
/// not say), for the ratio test below.
fn cpu_ns() -> u128 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| {
            use std::sync::OnceLock;
            static T0: OnceLock<std::time::Instant> = OnceLock::new();
            T0.get_or_init(std::time::Instant::now).elapsed().as_nanos()
        })
}

fn best_cpu_ns(text: &str) -> u128 {
    (0..2)
        .map(|_| {
            let t0 = cpu_ns();
            let c = agentpol_core::compile("line.agentpol", text, &NoFiles);
            let t = cpu_ns() - t0;
            assert!(c.policy.is_some(), "{}", rendered(&c));
            t
        })
        .min()
        .unwrap_or(0)
}

#[test]
fn rules_far_along_one_line_cost_no_more_than_on_a_short_line() {
    // Issue 10, point 10: each rule's column was counted from the start of
    // its line, so N rules at the end of an L-byte line cost N·L. Here 2,000
    // rules sit 8 MB into a line (old code: ~16 G characters counted); the
    // same policy with a line break before the rules is the yardstick. A
    // ratio, not a time, so a slow machine does not fail it.
    let pad = " ".repeat(8 << 20);
    let rules: String = (0..2000)
        .map(|i| format!("fs {{ allow read \"/d{i}/**\" }} "))
        .collect();
    let far = format!("version 1{pad}agent a {{ home \"/home/a\" {rules}}}\n");
    let near = format!("version 1{pad}\nagent a {{ home \"/home/a\" {rules}}}\n");
    let (t_far, t_near) = (best_cpu_ns(&far), best_cpu_ns(&near));
    assert!(
        t_far <= 4 * t_near + 50_000_000,
        "one line {} ms vs short line {} ms",
        t_far / 1_000_000,
        t_near / 1_000_000
    );
    // And the columns are right: the last rule starts 8 MB + a bit in.
    let p = agentpol_core::compile("line.agentpol", &far, &NoFiles)
        .policy
        .unwrap();
    let last = p.agent("a").unwrap().rules.last().unwrap();
    assert_eq!(last.src.line, 1);
    assert_eq!(last.src.col, last.src.span.start + 1);
}
