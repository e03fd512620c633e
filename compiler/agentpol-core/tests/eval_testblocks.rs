//! `test` blocks: run_tests and the AP0850 diagnostic.

use agentpol_core::diag::render_human;
use agentpol_core::eval::tests::{failure_diag, run_tests};
use agentpol_core::ir::*;
use agentpol_core::source::SourceMap;
use agentpol_core::span::{FileId, Span};
use agentpol_testkit::ir_build::*;
use serde_json::json;

const SOURCE: &str = r#"agent a {
  fs {
    allow read "/srv/**"
    deny read "/srv/secret/**"
  }
}

test "secrets stay secret" {
  expect deny a fs read "/srv/secret/k"
  expect allow a fs read "/srv/secret/k"
  expect allow a fs read "/etc/x"
  expect deny a tool nope {}
}
"#;

/// A SourceRef for the `nth` occurrence of `needle` in SOURCE.
fn at(needle: &str, nth: usize) -> SourceRef {
    let start = SOURCE
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle} #{nth} not in source"))
        .0;
    let before = &SOURCE[..start];
    let line = before.matches('\n').count() as u32 + 1;
    let col = (start - before.rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
    SourceRef {
        span: Span::new(FileId(0), start, start + needle.len()),
        line,
        col,
    }
}

fn fixture() -> Policy {
    let mut allow = fs("a/fs/0a0a0a0a", Effect::Allow, Action::Read, &["/srv/**"]);
    allow.src = at("allow read \"/srv/**\"", 0);
    let mut deny = fs(
        "a/fs/1b1b1b1b",
        Effect::Deny,
        Action::Read,
        &["/srv/secret/**"],
    );
    deny.src = at("deny read \"/srv/secret/**\"", 0);
    let mut p = one_agent(vec![allow, deny]);
    p.files[0].name = "policy.agentpol".into();
    let expect = |effect, request, line: &str, nth| Expectation {
        effect,
        request,
        src: at(line, nth),
    };
    p.tests.push(TestCase {
        name: "secrets stay secret".into(),
        src: at("test \"secrets stay secret\"", 0),
        expects: vec![
            expect(
                Effect::Deny,
                fs_req("a", Action::Read, "/srv/secret/k"),
                "expect deny a fs read \"/srv/secret/k\"",
                0,
            ),
            expect(
                Effect::Allow,
                fs_req("a", Action::Read, "/srv/secret/k"),
                "expect allow a fs read \"/srv/secret/k\"",
                0,
            ),
            expect(
                Effect::Allow,
                fs_req("a", Action::Read, "/etc/x"),
                "expect allow a fs read \"/etc/x\"",
                0,
            ),
            expect(
                Effect::Deny,
                tool_req("a", "nope", json!({}), json!({})),
                "expect deny a tool nope {}",
                0,
            ),
        ],
    });
    p
}

fn sources() -> SourceMap {
    let mut s = SourceMap::new();
    s.add("policy.agentpol", SOURCE);
    s
}

#[test]
fn outcomes_in_order_with_pass_and_fail() {
    let p = fixture();
    let out = run_tests(&p);
    assert_eq!(out.len(), 4);
    let summary: Vec<(bool, Effect, String)> = out
        .iter()
        .map(|o| (o.passed, o.expected, o.actual_text()))
        .collect();
    assert_eq!(
        summary,
        [
            (true, Effect::Deny, "deny".to_string()),
            (false, Effect::Allow, "deny".to_string()),
            (false, Effect::Allow, "deny".to_string()),
            (
                false,
                Effect::Deny,
                "an invalid request (AP0804)".to_string()
            ),
        ]
    );
    assert!(out.iter().all(|o| o.test == "secrets stay secret"));
    assert_eq!(out[1].src.line, 10);
    assert_eq!(
        out[1].actual.as_ref().unwrap().deciding[0].id.0,
        "a/fs/1b1b1b1b"
    );
    assert!(
        failure_diag(&p, &out[0]).is_none(),
        "a pass has no diagnostic"
    );
}

#[test]
fn a_policy_without_tests_has_no_outcomes() {
    let mut p = fixture();
    p.tests.clear();
    assert!(run_tests(&p).is_empty());
}

fn rendered(i: usize) -> String {
    let p = fixture();
    let out = run_tests(&p);
    let diag = out[i].diag(&p).expect("failed expectation");
    assert_eq!(diag.code.code, "AP0850");
    render_human(&diag, &sources(), false, 100)
}

#[test]
fn ap0850_denied_by_a_rule() {
    insta::assert_snapshot!(rendered(1));
}

#[test]
fn ap0850_default_deny() {
    insta::assert_snapshot!(rendered(2));
}

#[test]
fn ap0850_invalid_request_fails_even_when_deny_was_expected() {
    insta::assert_snapshot!(rendered(3));
}

/// The IR's JSON form carries test requests; it must read back (this needs
/// `Request` to deserialize inside a `Policy`, which `deny_unknown_fields`
/// with `flatten` used to break).
#[test]
fn ir_json_with_tests_round_trips() {
    let p = fixture();
    let text = serde_json::to_string(&p).unwrap();
    let back: Policy = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    assert_eq!(run_tests(&back), run_tests(&p));
}

/// Assertions are the verifier's: a violated one, of either form, changes
/// no decision and no test outcome (semantics.md §8).
#[test]
fn assertions_change_no_decision_and_no_test() {
    let base = r#"tool read_file(path: path)
agent a {
  home "/home/a"
  fs { allow read "/home/a/**" }
  tool read_file { allow when path in { "/home/a/**" } }
}
test "reads" {
  expect allow a fs read "/home/a/.ssh/id"
  expect allow a tool read_file { path: "/home/a/.ssh/id" }
}
"#;
    let with = format!(
        "{base}assert never * read \"/home/a/.ssh/**\"\nassert never * fs read \"/home/a/.ssh/**\"\n"
    );
    let compile = |text: &str| {
        agentpol_core::compile("p.agentpol", text, &agentpol_core::source::NoFiles)
            .policy
            .expect("compiles")
    };
    let (p0, p1) = (compile(base), compile(&with));
    assert_eq!(p1.assertions.len(), 2);
    let outcomes = |p: &Policy| -> Vec<bool> { run_tests(p).iter().map(|o| o.passed).collect() };
    assert_eq!(outcomes(&p1), [true, true]);
    assert_eq!(outcomes(&p0), outcomes(&p1));
    for t in &p1.tests {
        for e in &t.expects {
            let d0 = agentpol_core::eval::evaluate(&p0, &e.request).map(|d| d.effect);
            let d1 = agentpol_core::eval::evaluate(&p1, &e.request).map(|d| d.effect);
            assert_eq!(d0, d1);
            assert_eq!(d1, Ok(Effect::Allow));
        }
    }
}
