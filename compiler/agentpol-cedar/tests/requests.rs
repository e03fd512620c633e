//! Decisions and refusals on the openclaw fixture, through all three engines.

mod common;

use agentpol_cedar::CedarEngine;
use agentpol_core::eval::parse_request;
use agentpol_core::ir::Effect;
use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};

fn engines() -> Vec<Box<dyn DecisionEngine>> {
    let (policy, _) = common::openclaw();
    vec![
        Box::new(CedarEngine::from_policy(&policy).expect("cedar")),
        Box::new(IndexEngine::new(&policy).expect("index")),
        Box::new(EvalEngine::new(policy)),
    ]
}

fn decide_all(json: &str) -> Vec<(Effect, Vec<String>)> {
    let req = parse_request(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    engines()
        .iter()
        .map(|e| {
            let d = e
                .decide(&req)
                .unwrap_or_else(|err| panic!("{}: {err}", e.name()));
            (
                d.effect,
                d.deciding.iter().map(|m| m.id.0.clone()).collect(),
            )
        })
        .collect()
}

/// Every engine gives `effect`; the deciding rules are the evaluator's
/// (Cedar may list fewer for a skill's allow, see README).
fn expect(json: &str, effect: Effect, deciding: &[&str]) {
    let got = decide_all(json);
    for (i, (e, ids)) in got.iter().enumerate() {
        assert_eq!(*e, effect, "engine {i} for {json}: {got:?}");
        if i > 0 {
            assert_eq!(ids, deciding, "engine {i} for {json}");
        }
    }
}

#[test]
fn ask_protocol() {
    let send = |to: &str| {
        format!(
            r#"{{"agent":"openclaw","kind":"tool","tool":"send_email","args":{{"to":"{to}","body":"hi"}},"params":{{"contacts":["a@example.com"]}}}}"#
        )
    };
    expect(
        &send("a@example.com"),
        Effect::Allow,
        &["openclaw/tool/r14"],
    );
    expect(&send("x@evil.example"), Effect::Ask, &["openclaw/tool/r15"]);
}

#[test]
fn skills_get_the_intersection() {
    let read = |skill: &str, path: &str| {
        format!(r#"{{"agent":"openclaw"{skill},"kind":"fs","action":"read","path":"{path}"}}"#)
    };
    let sk = r#","skill":"pdf_summary""#;
    // Both sides allow.
    let got = decide_all(&read(sk, "/home/agent/work/docs/a.pdf"));
    assert!(got.iter().all(|(e, _)| *e == Effect::Allow), "{got:?}");
    // The agent allows, the skill has no rule: default deny on the skill's side.
    expect(&read(sk, "/home/agent/work/src/main.rs"), Effect::Deny, &[]);
    // The agent alone is allowed there.
    expect(
        &read("", "/home/agent/work/src/main.rs"),
        Effect::Allow,
        &["openclaw/fs/r3"],
    );
    // The agent's deny binds the skill.
    expect(
        &read(sk, "/home/agent/.ssh/id_ed25519"),
        Effect::Deny,
        &["openclaw/fs/r5"],
    );
    // The skill's own deny.
    expect(
        r#"{"agent":"openclaw","skill":"pdf_summary","kind":"net","action":"connect","proto":"tcp","domain":"api.github.com","port":443}"#,
        Effect::Deny,
        &["openclaw.pdf_summary/net/r18"],
    );
    // The skill has no tool rules: nothing, even what the agent allows.
    expect(
        r#"{"agent":"openclaw","skill":"pdf_summary","kind":"tool","tool":"send_email","args":{"to":"a@example.com","body":"x"},"params":{"contacts":["a@example.com"]}}"#,
        Effect::Deny,
        &[],
    );
}

#[test]
fn net_rules() {
    let conn = |addr: &str, port: u16, proto: &str| {
        format!(
            r#"{{"agent":"openclaw","kind":"net","action":"connect","proto":"{proto}","addr":"{addr}","port":{port}}}"#
        )
    };
    expect(
        &conn("140.82.112.3", 443, "tcp"),
        Effect::Allow,
        &["openclaw/net/r12"],
    );
    expect(
        &conn("::ffff:140.82.112.3", 443, "tcp"),
        Effect::Allow,
        &["openclaw/net/r12"],
    );
    expect(&conn("140.82.112.3", 443, "udp"), Effect::Deny, &[]);
    expect(&conn("140.82.112.3", 80, "tcp"), Effect::Deny, &[]);
    expect(&conn("140.82.128.1", 443, "tcp"), Effect::Deny, &[]);
    expect(
        r#"{"agent":"openclaw","kind":"net","action":"connect","proto":"tcp","domain":"API.GitHub.com.","port":443}"#,
        Effect::Allow,
        &["openclaw/net/r12"],
    );
}

/// Each malformed request is refused by every engine with the same error
/// (code, field, message and help) and so the same fail-closed reason: the
/// engines share one validator. (AP0808 was once worded per engine.)
#[test]
fn bad_requests_are_refused_alike() {
    let cases = [
        r#"{"agent":"nobody","kind":"env","var":"HOME"}"#,
        r#"{"agent":"openclaw","skill":"nope","kind":"env","var":"HOME"}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_mail","args":{}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a","body":"b","cc":"c"},"params":{"contacts":[]}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a"},"params":{"contacts":[]}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":1,"body":"b"},"params":{"contacts":[]}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a","body":"b"}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a","body":"b"},"params":{"contacts":"a"}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a","body":"b"},"params":{"contacts":[],"other":1}}"#,
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a","body":"b"},"params":{"contacts":[]},"tainted":["bcc"]}"#,
        r#"{"agent":"openclaw","kind":"fs","action":"read","path":"relative/x"}"#,
        r#"{"agent":"openclaw","kind":"fs","action":"read","path":"/a/../b"}"#,
        r#"{"agent":"openclaw","kind":"fs","action":"connect","path":"/a"}"#,
        r#"{"agent":"openclaw","kind":"net","action":"connect","proto":"any","port":1}"#,
        r#"{"agent":"openclaw","kind":"net","action":"connect","proto":"tcp","domain":"a..b","port":1}"#,
        r#"{"agent":"openclaw","kind":"exec","path":"bin/sh"}"#,
    ];
    let engines = engines();
    let mut table = String::new();
    for json in cases {
        let req = parse_request(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        let errs: Vec<_> = engines
            .iter()
            .map(|e| {
                let err = e.decide(&req).expect_err(json);
                let denied = e.decide_or_deny(&req);
                assert_eq!(denied.effect, Effect::Deny);
                (err, denied.reason)
            })
            .collect();
        assert!(errs.windows(2).all(|w| w[0] == w[1]), "{json}: {errs:#?}");
        let (code, field) = (errs[0].0.code.code, &errs[0].0.field);
        table.push_str(&format!("{code} {field:<18} {json}\n"));
    }
    insta::assert_snapshot!("bad_requests", table);
}

#[test]
fn cedar_request_json_is_what_cedar_is_asked() {
    let (policy, _) = common::openclaw();
    let cedar = CedarEngine::from_policy(&policy).expect("cedar");
    let tool = parse_request(
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a@example.com","body":"hi"},"params":{"contacts":["a@example.com"]},"tainted":["body"]}"#,
    )
    .expect("parses");
    let fs = parse_request(r#"{"agent":"openclaw","skill":"pdf_summary","kind":"fs","action":"read","path":"/home/agent/work/docs/a.pdf"}"#)
        .expect("parses");
    insta::assert_json_snapshot!(
        "cedar_request_tool",
        cedar.cedar_request_json(&tool, true).expect("valid")
    );
    insta::assert_json_snapshot!(
        "cedar_request_fs",
        cedar.cedar_request_json(&fs, false).expect("valid")
    );
}
