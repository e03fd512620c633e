//! Hostile and huge inputs: no panic, no stack overflow, bounded diagnostics.
//!
//! Tests run on threads with the default 2 MiB stack, so a recursion over a
//! deep tree would crash them.

mod support;

use agentpol_core::format::format_source;
use agentpol_core::span::FileId;
use agentpol_core::syntax::ast::{Cond, Expr, Item, Member};
use agentpol_core::syntax::{parse, same_modulo_spans, MAX_NESTING};
use proptest::prelude::*;
use support::gen::big_policy;

fn codes(text: &str) -> Vec<&'static str> {
    parse(FileId(0), text)
        .diagnostics
        .iter()
        .map(|d| d.code.code)
        .collect()
}

/// Wraps a condition in a tool rule of agent `a`.
fn in_rule(cond: &str) -> String {
    format!("tool t(x: int)\nagent a {{\n  tool t {{\n    allow when {cond}\n    deny when x == 2\n  }}\n}}\n")
}

/// The depth of Paren/Not nesting of the first tool rule of agent `a`.
fn cond_depth(text: &str) -> Option<usize> {
    let p = parse(FileId(0), text);
    for item in &p.ast.items {
        if let Item::Agent(b) = item {
            for m in &b.members {
                if let Member::Tool(t) = m {
                    let mut c = t.rules.first()?.cond.as_ref()?;
                    let mut depth = 0;
                    loop {
                        match c {
                            Cond::Not(inner, _) | Cond::Paren(inner, _) => {
                                depth += 1;
                                c = inner;
                            }
                            _ => return Some(depth),
                        }
                    }
                }
            }
        }
    }
    None
}

#[test]
fn nesting_at_the_limit_is_accepted() {
    let parens = in_rule(&format!(
        "{}x == 1{}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    ));
    assert_eq!(codes(&parens), Vec::<&str>::new());
    assert_eq!(cond_depth(&parens), Some(MAX_NESTING));
    let nots = in_rule(&format!("{}x == 1", "not ".repeat(MAX_NESTING)));
    assert_eq!(codes(&nots), Vec::<&str>::new());
    assert_eq!(cond_depth(&nots), Some(MAX_NESTING));
    let mixed = in_rule(&format!(
        "{}x == 1{}",
        "not (".repeat(MAX_NESTING / 2),
        ")".repeat(MAX_NESTING / 2)
    ));
    assert_eq!(codes(&mixed), Vec::<&str>::new());
    assert_eq!(cond_depth(&mixed), Some(MAX_NESTING));
}

#[test]
fn nesting_one_over_the_limit_is_rejected_and_the_rest_survives() {
    let parens = in_rule(&format!(
        "{}x == 1{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    ));
    assert_eq!(codes(&parens), vec!["AP0005"]);
    // The bad rule is dropped; the `deny` after it is kept.
    let p = parse(FileId(0), &parens);
    let Some(Item::Agent(b)) = p.ast.items.get(1) else {
        panic!("agent missing: {:?}", p.ast.items)
    };
    let Some(Member::Tool(t)) = b.members.first() else {
        panic!("tool block missing")
    };
    assert_eq!(t.rules.len(), 1);
    let nots = in_rule(&format!("{}x == 1", "not ".repeat(MAX_NESTING + 1)));
    assert_eq!(codes(&nots), vec!["AP0005"]);
}

#[test]
fn hundred_thousand_open_parens() {
    let top = "(".repeat(100_000);
    let c = codes(&top);
    assert!(c.contains(&"AP0005"), "{c:?}");
    let deep = in_rule(&"(".repeat(100_000));
    let c = codes(&deep);
    assert!(c.contains(&"AP0005"), "{c:?}");
    let balanced = in_rule(&format!(
        "{}x == 1{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    ));
    assert_eq!(codes(&balanced), vec!["AP0005"]);
}

#[test]
fn hundred_thousand_nots() {
    let src = in_rule(&format!("{}x == 1", "not ".repeat(100_000)));
    assert_eq!(codes(&src), vec!["AP0005"]);
    let bare = "not ".repeat(100_000);
    assert!(codes(&bare).contains(&"AP0005"));
}

#[test]
fn hundred_thousand_braces_and_skills() {
    let braces = "{".repeat(100_000);
    assert!(codes(&braces).contains(&"AP0005"));
    let skills = format!(
        "agent a {{ {}{} }}",
        "skill s { ".repeat(100_000),
        "} ".repeat(100_000)
    );
    let c = codes(&skills);
    assert!(c.contains(&"AP0005"), "{c:?}");
    let types = format!(
        "param p: {}string{}",
        "set<".repeat(100_000),
        ">".repeat(100_000)
    );
    assert_eq!(codes(&types), vec!["AP0005"]);
}

#[test]
fn long_flat_chains_are_fine() {
    let ors: Vec<String> = (0..50_000).map(|i| format!("x == {i}")).collect();
    let src = in_rule(&ors.join(" or "));
    let p = parse(FileId(0), &src);
    assert!(p.diagnostics.is_empty());
    let Some(Item::Agent(b)) = p.ast.items.get(1) else {
        panic!()
    };
    let Some(Member::Tool(t)) = b.members.first() else {
        panic!()
    };
    match t.rules.first().and_then(|r| r.cond.as_ref()) {
        Some(Cond::Or(v, _)) => assert_eq!(v.len(), 50_000),
        other => panic!("expected a flat or-chain, got {other:?}"),
    }
}

#[test]
fn one_megabyte_string() {
    let body = "ab\\\"c/${X}".repeat(100_000);
    let src = format!("const X = \"x\"\nconst BIG = \"{body}\"\n");
    assert!(src.len() > 1_000_000);
    let p = parse(FileId(0), &src);
    assert!(p.diagnostics.is_empty());
    let Some(Item::Const(c)) = p.ast.items.get(1) else {
        panic!()
    };
    let Expr::Str(s) = &c.value else { panic!() };
    assert_eq!(s.parts.len(), 200_000);
    let formatted = format_source(FileId(0), &src).expect("formats");
    assert!(same_modulo_spans(&p.ast, &parse(FileId(0), &formatted).ast));
    // Unterminated: one diagnostic, however long.
    let open = format!("const BIG = \"{}", "x".repeat(1_000_000));
    assert_eq!(codes(&open), vec!["AP0002"]);
}

#[test]
fn hundred_thousand_element_set() {
    let elems: Vec<String> = (0..100_000).map(|i| format!("\"h{i}.example\"")).collect();
    let src = format!("set hosts = {{ {} }}\n", elems.join(", "));
    let p = parse(FileId(0), &src);
    assert!(p.diagnostics.is_empty());
    let Some(Item::Set(s)) = p.ast.items.first() else {
        panic!()
    };
    assert_eq!(s.value.elems.len(), 100_000);
}

#[test]
fn garbage_is_bounded() {
    for garbage in [
        "@".repeat(1_000_000),
        "@ x ".repeat(250_000),
        "agent ".repeat(100_000),
        "} ".repeat(100_000),
        "\"".repeat(100_001),
        "${".repeat(100_000),
        "1.2.3.4/99999999999999999999999 ".repeat(10_000),
    ] {
        let d = parse(FileId(0), &garbage).diagnostics;
        assert!(!d.is_empty());
        assert!(d.len() <= 101, "{} diagnostics", d.len());
        for diag in &d {
            assert!(diag.primary.span.end as usize <= garbage.len());
        }
    }
}

#[test]
fn twenty_thousand_rules_parse_cleanly() {
    let src = big_policy(20_000);
    let p = parse(FileId(0), &src);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics.first());
    let rules: usize = p
        .ast
        .items
        .iter()
        .map(|i| match i {
            Item::Agent(b) => b
                .members
                .iter()
                .map(|m| match m {
                    Member::Fs(r) => r.rules.len(),
                    Member::Exec(r) => r.rules.len(),
                    Member::Net(r) => r.rules.len(),
                    Member::Tool(t) => t.rules.len(),
                    _ => 0,
                })
                .sum(),
            _ => 0,
        })
        .sum();
    assert_eq!(rules, 20_000);
    assert_eq!(p.comments.len(), 5_000);
}

/// Texts of tokens, for random token soups.
const VOCAB: &[&str] = &[
    "version",
    "import",
    "as",
    "const",
    "set",
    "param",
    "secret",
    "file",
    "env",
    "tool",
    "profile",
    "agent",
    "skill",
    "include",
    "home",
    "scope",
    "cgroup",
    "uid",
    "resolvers",
    "selector",
    "namespace",
    "labels",
    "fs",
    "exec",
    "net",
    "secrets",
    "allow",
    "deny",
    "ask",
    "all",
    "read",
    "write",
    "connect",
    "tcp",
    "any",
    "port",
    "args",
    "when",
    "and",
    "or",
    "not",
    "in",
    "like",
    "tainted",
    "true",
    "false",
    "assert",
    "never",
    "test",
    "expect",
    "with",
    "string",
    "int",
    "set<",
    "url",
    "path",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ",",
    ":",
    "::",
    ".",
    "..",
    "->",
    "==",
    "!=",
    "<=",
    ">=",
    "*",
    "=",
    "x",
    "send-email",
    "std",
    "0",
    "443",
    "99999999999999999999999",
    "10.0.0.0/8",
    "\"/tmp/**\"",
    "\"${X}\"",
    "\"${\"",
    "\"a\\q\"",
    "\"open",
    "# comment\n",
    "\n",
    "@",
    "'q'",
];

fn check_never_panics(text: &str) {
    let p = parse(FileId(0), text);
    for d in &p.diagnostics {
        assert!(d.primary.span.start <= d.primary.span.end);
        assert!(d.primary.span.end as usize <= text.len());
        assert!(!d.help.is_empty());
    }
    match format_source(FileId(0), text) {
        Ok(formatted) => {
            assert!(p.diagnostics.is_empty());
            let again = parse(FileId(0), &formatted);
            assert!(
                again.diagnostics.is_empty(),
                "formatted text does not parse:\n{formatted}"
            );
            assert!(
                same_modulo_spans(&p.ast, &again.ast),
                "round trip changed the tree:\n{text}\n---\n{formatted}"
            );
            assert_eq!(
                format_source(FileId(0), &formatted).ok().as_deref(),
                Some(formatted.as_str())
            );
        }
        Err(d) => assert!(!d.is_empty()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_token_soup_never_panics(toks in proptest::collection::vec(proptest::sample::select(VOCAB), 0..60)) {
        check_never_panics(&toks.join(" "));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_never_panics(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_text_never_panics(s in "\\PC{0,120}") {
        check_never_panics(&s);
    }
}
