//! Every request error: its code, field, and rendered text (insta snapshots).

mod eval_common;

use agentpol_core::diag::render_human;
use agentpol_core::eval::{decide, evaluate, parse_request, RequestError};
use agentpol_core::ir::*;
use agentpol_core::request::Request;
use agentpol_core::source::SourceMap;
use agentpol_core::span::Span;
use eval_common::*;

/// The policy all requests here are checked against.
fn fixture() -> Policy {
    let mut p = policy(vec![
        agent(
            "openclaw",
            vec![
                fs(
                    "openclaw/fs/1",
                    Effect::Allow,
                    Action::Read,
                    &["/home/agent/**"],
                ),
                tool_rule(
                    "openclaw/tool/1",
                    Effect::Allow,
                    Some("send_email"),
                    vec![atom(Test::In {
                        lhs: arg("to"),
                        set: SetOperand::Param("contacts".into()),
                    })],
                ),
            ],
            vec![skill("pdf_summary", vec![])],
        ),
        agent("hermes", vec![], vec![]),
    ]);
    p.tools.push(tool_sig(
        "send_email",
        &[("to", ArgType::String), ("body", ArgType::String)],
    ));
    p.tools.push(tool_sig(
        "transfer",
        &[
            ("amount", ArgType::Int),
            ("urgent", ArgType::Bool),
            ("u", ArgType::Url),
            ("p", ArgType::Path),
        ],
    ));
    p.params.push(param_sig("contacts", ParamType::SetString));
    p.params.push(param_sig("limit", ParamType::Int));
    p
}

/// Renders an error both ways: the plain text of `agentpolc eval`, and the
/// miette report over the request's JSON.
fn render(e: &RequestError, request_json: &str) -> String {
    let mut sources = SourceMap::new();
    let file = sources.add("request.json", request_json);
    let diag = e.to_diag(Span::new(file, 0, request_json.len()));
    format!("{e}\n\n{}", render_human(&diag, &sources, false, 100))
}

/// Evaluates a request given as JSON (through `parse_request`), expecting `code`.
fn eval_err(code: &str, json: &str) -> String {
    let p = fixture();
    let result = parse_request(json).and_then(|r| {
        // Fail closed: whatever the error, decide says deny.
        assert_eq!(decide(&p, &r).effect, Effect::Deny);
        evaluate(&p, &r)
    });
    let e = result.expect_err("expected an error");
    assert_eq!(e.code.code, code, "{e}");
    assert!(!e.help.is_empty());
    render(&e, json)
}

fn field(json: &str) -> String {
    let p = fixture();
    parse_request(json)
        .and_then(|r| evaluate(&p, &r))
        .expect_err("expected an error")
        .field
}

#[test]
fn ap0801_not_json() {
    insta::assert_snapshot!(eval_err("AP0801", r#"{"agent": "openclaw", "kind": "fs","#));
}

#[test]
fn ap0801_missing_field() {
    insta::assert_snapshot!(eval_err(
        "AP0801",
        r#"{"agent": "openclaw", "kind": "fs", "action": "read"}"#
    ));
}

#[test]
fn ap0801_unknown_field() {
    // A misspelt `skill` must not silently decide with the agent's rights.
    let json = r#"{"agent": "openclaw", "skil": "pdf_summary", "kind": "fs", "action": "read", "path": "/home/agent/x"}"#;
    assert_eq!(field(json), "/skil");
    insta::assert_snapshot!(eval_err("AP0801", json));
}

#[test]
fn ap0801_field_of_another_kind() {
    let json = r#"{"agent": "openclaw", "kind": "env", "var": "HOME", "path": "/x"}"#;
    assert_eq!(field(json), "/path");
}

#[test]
fn ap0801_duplicate_key() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a@example.com", "to": "evil@example.com", "body": "x"}, "params": {"contacts": []}}"#;
    insta::assert_snapshot!(eval_err("AP0801", json));
}

#[test]
fn ap0801_wrong_json_types_and_trailing_text() {
    eval_err(
        "AP0801",
        r#"{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", "port": "443"}"#,
    );
    eval_err(
        "AP0801",
        r#"{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", "port": 65536}"#,
    );
    eval_err(
        "AP0801",
        r#"{"agent": "openclaw", "kind": "fs", "action": "read", "path": "/x"} {}"#,
    );
    eval_err("AP0801", r#"{"agent": "openclaw", "kind": "teleport"}"#);
    eval_err("AP0801", r#"[]"#);
}

#[test]
fn parse_request_accepts_every_documented_form() {
    let forms = [
        r#"{"agent": "openclaw", "kind": "fs", "action": "read", "path": "/home/agent/.ssh/id_ed25519"}"#,
        r#"{"agent": "openclaw", "skill": "pdf_summary", "kind": "net", "action": "connect", "proto": "tcp", "addr": "140.82.112.3", "domain": "api.github.com", "port": 443}"#,
        r#"{"agent": "openclaw", "kind": "exec", "path": "/usr/bin/git", "args": ["status"]}"#,
        r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a@example.com", "body": "hi"}, "params": {"contacts": ["a@example.com"]}, "tainted": ["body"]}"#,
        r#"{"agent": "openclaw", "kind": "env", "var": "GITHUB_TOKEN"}"#,
    ];
    let p = fixture();
    let effects: Vec<Effect> = forms
        .iter()
        .map(|f| {
            let r = parse_request(f).unwrap_or_else(|e| panic!("{f}\n{e}"));
            // Round trip: what we print, we read back.
            let again = parse_request(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(r, again);
            evaluate(&p, &r)
                .unwrap_or_else(|e| panic!("{f}\n{e}"))
                .effect
        })
        .collect();
    use Effect::*;
    assert_eq!(effects, [Allow, Deny, Deny, Allow, Deny]);
}

#[test]
fn ap0802_unknown_agent_with_suggestion() {
    insta::assert_snapshot!(eval_err(
        "AP0802",
        r#"{"agent": "openclow", "kind": "env", "var": "HOME"}"#
    ));
}

#[test]
fn ap0802_unknown_agent_without_suggestion() {
    insta::assert_snapshot!(eval_err(
        "AP0802",
        r#"{"agent": "zzzzzzzz", "kind": "env", "var": "HOME"}"#
    ));
}

#[test]
fn ap0803_unknown_skill() {
    insta::assert_snapshot!(eval_err(
        "AP0803",
        r#"{"agent": "openclaw", "skill": "pdf_sumary", "kind": "env", "var": "HOME"}"#
    ));
    // Skills belong to their agent.
    eval_err(
        "AP0803",
        r#"{"agent": "hermes", "skill": "pdf_summary", "kind": "env", "var": "HOME"}"#,
    );
}

#[test]
fn ap0804_unknown_tool() {
    insta::assert_snapshot!(eval_err(
        "AP0804",
        r#"{"agent": "openclaw", "kind": "tool", "tool": "send_mail", "args": {}}"#
    ));
}

#[test]
fn ap0805_missing_argument() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a@example.com"}, "params": {"contacts": []}}"#;
    assert_eq!(field(json), "/args/body");
    insta::assert_snapshot!(eval_err("AP0805", json));
}

#[test]
fn ap0806_unknown_argument() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a@example.com", "bdy": "x"}, "params": {"contacts": []}}"#;
    assert_eq!(field(json), "/args/bdy");
    insta::assert_snapshot!(eval_err("AP0806", json));
}

#[test]
fn ap0806_unknown_tainted_argument() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}, "params": {"contacts": []}, "tainted": ["to", "from"]}"#;
    assert_eq!(field(json), "/tainted/1");
    insta::assert_snapshot!(eval_err("AP0806", json));
}

fn transfer(amount: &str, urgent: &str, u: &str, p: &str) -> String {
    format!(
        r#"{{"agent": "openclaw", "kind": "tool", "tool": "transfer", "args": {{"amount": {amount}, "urgent": {urgent}, "u": {u}, "p": {p}}}}}"#
    )
}

#[test]
fn transfer_ok_baseline() {
    // The baseline of the ill-typed cases below is well-typed (and denied by default).
    let p = fixture();
    let r = parse_request(&transfer(
        "5",
        "true",
        r#""https://x.example/""#,
        r#""/tmp/x""#,
    ))
    .unwrap();
    assert_eq!(evaluate(&p, &r).unwrap().effect, Effect::Deny);
    let r = parse_request(&transfer(
        "-9223372036854775808",
        "false",
        r#""mailto:a@b""#,
        r#""/""#,
    ))
    .unwrap();
    assert_eq!(evaluate(&p, &r).unwrap().effect, Effect::Deny);
}

#[test]
fn ap0807_ill_typed_int() {
    insta::assert_snapshot!(eval_err(
        "AP0807",
        &transfer("1.0", "true", r#""https://x/""#, r#""/x""#)
    ));
    let big = transfer("9223372036854775808", "true", r#""https://x/""#, r#""/x""#);
    assert!(eval_err("AP0807", &big).contains("out of the 64-bit signed range"));
    eval_err(
        "AP0807",
        &transfer(r#""5""#, "true", r#""https://x/""#, r#""/x""#),
    );
    eval_err(
        "AP0807",
        &transfer("1e3", "true", r#""https://x/""#, r#""/x""#),
    );
    eval_err(
        "AP0807",
        &transfer("null", "true", r#""https://x/""#, r#""/x""#),
    );
}

#[test]
fn ap0807_ill_typed_bool_and_string() {
    eval_err("AP0807", &transfer("5", "1", r#""https://x/""#, r#""/x""#));
    eval_err(
        "AP0807",
        &transfer("5", r#""true""#, r#""https://x/""#, r#""/x""#),
    );
    eval_err("AP0807", &transfer("5", "true", "42", r#""/x""#));
    eval_err("AP0807", &transfer("5", "true", r#""https://x/""#, "[]"));
    eval_err(
        "AP0807",
        r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": 7, "body": "x"}, "params": {"contacts": []}}"#,
    );
}

#[test]
fn ap0807_relative_url() {
    insta::assert_snapshot!(eval_err(
        "AP0807",
        &transfer("5", "true", r#""example.com/x""#, r#""/x""#)
    ));
}

#[test]
fn ap0808_unbound_param() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}}"#;
    assert_eq!(field(json), "/params/contacts");
    insta::assert_snapshot!(eval_err("AP0808", json));
}

#[test]
fn ap0809_ill_typed_param() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}, "params": {"contacts": "a@example.com"}}"#;
    insta::assert_snapshot!(eval_err("AP0809", json));
    let mixed = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}, "params": {"contacts": ["a", 1]}}"#;
    eval_err("AP0809", mixed);
    // Checked even when no rule of this tool reads it.
    let limit = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}, "params": {"contacts": [], "limit": 1.5}}"#;
    eval_err("AP0809", limit);
}

#[test]
fn ap0810_unknown_param() {
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}, "params": {"contacts": [], "contact": []}}"#;
    insta::assert_snapshot!(eval_err("AP0810", json));
}

#[test]
fn ap0811_bad_paths() {
    insta::assert_snapshot!(eval_err(
        "AP0811",
        r#"{"agent": "openclaw", "kind": "fs", "action": "read", "path": "home/agent/x"}"#
    ));
    eval_err(
        "AP0811",
        r#"{"agent": "openclaw", "kind": "fs", "action": "read", "path": "/home/agent/../../etc/shadow"}"#,
    );
    eval_err(
        "AP0811",
        r#"{"agent": "openclaw", "kind": "fs", "action": "read", "path": "/home//agent"}"#,
    );
    eval_err(
        "AP0811",
        r#"{"agent": "openclaw", "kind": "fs", "action": "read", "path": "/home/./agent"}"#,
    );
    eval_err(
        "AP0811",
        r#"{"agent": "openclaw", "kind": "exec", "path": "git"}"#,
    );
    let arg = transfer("5", "true", r#""https://x/""#, r#""/tmp/../etc""#);
    assert_eq!(field(&arg), "/args/p");
    eval_err("AP0811", &arg);
}

#[test]
fn ap0812_proto_any() {
    insta::assert_snapshot!(eval_err(
        "AP0812",
        r#"{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "any", "addr": "192.0.2.1", "port": 443}"#
    ));
}

#[test]
fn ap0813_wrong_action() {
    insta::assert_snapshot!(eval_err(
        "AP0813",
        r#"{"agent": "openclaw", "kind": "fs", "action": "connect", "path": "/x"}"#
    ));
    eval_err(
        "AP0813",
        r#"{"agent": "openclaw", "kind": "net", "action": "read", "proto": "tcp", "port": 1}"#,
    );
    eval_err(
        "AP0813",
        r#"{"agent": "openclaw", "kind": "net", "action": "call", "proto": "tcp", "port": 1}"#,
    );
}

#[test]
fn ap0814_bad_domain() {
    insta::assert_snapshot!(eval_err(
        "AP0814",
        r#"{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", "domain": "bücher.example", "port": 443}"#
    ));
    for d in ["", ".", "a..b", ".a", "a b", "a.b.."] {
        let json = format!(
            r#"{{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", "domain": "{d}", "port": 443}}"#
        );
        eval_err("AP0814", &json);
    }
}

#[test]
fn ap0890_ill_formed_policy() {
    let mut p = fixture();
    p.agents[0].rules.push(tool_rule(
        "openclaw/tool/bad",
        Effect::Deny,
        Some("send_email"),
        vec![atom(Test::Cmp {
            lhs: arg("to"),
            op: CmpOp::Lt,
            rhs: Scalar::Lit(Value::Int(3)),
        })],
    ));
    let json = r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "x"}, "params": {"contacts": []}}"#;
    let r: Request = parse_request(json).unwrap();
    let e = evaluate(&p, &r).unwrap_err();
    assert_eq!(e.code.code, "AP0890");
    insta::assert_snapshot!(render(&e, json));
}

#[test]
fn every_eval_code_is_registered_with_an_explanation() {
    let codes: Vec<_> = agentpol_core::diag::codes::EVAL_CODES
        .iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(
        codes,
        [
            "AP0801", "AP0802", "AP0803", "AP0804", "AP0805", "AP0806", "AP0807", "AP0808",
            "AP0809", "AP0810", "AP0811", "AP0812", "AP0813", "AP0814", "AP0850", "AP0890"
        ]
    );
    for c in agentpol_core::diag::codes::EVAL_CODES {
        assert!(
            c.explanation.len() > 200,
            "{} needs a long explanation",
            c.code
        );
        assert_eq!(agentpol_core::diag::lookup(c.code), Some(*c));
    }
}

/// The request examples of `lang-spec/requests.md` (its first json block) are
/// all accepted by `parse_request`, so the documentation cannot drift.
#[test]
fn requests_md_examples_parse() {
    let doc = include_str!("../../../lang-spec/requests.md");
    let block = doc
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a json block in requests.md");
    let values: Vec<serde_json::Value> = serde_json::Deserializer::from_str(block)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("the block is a sequence of JSON values");
    assert_eq!(values.len(), 5);
    for v in values {
        let text = v.to_string();
        parse_request(&text).unwrap_or_else(|e| panic!("{text}\n{e}"));
    }
}
