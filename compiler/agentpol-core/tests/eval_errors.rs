//! Every request error: its code, field, and rendered text (insta snapshots).

use agentpol_core::diag::render_human;
use agentpol_core::eval::{decide, evaluate, parse_request, RequestError};
use agentpol_core::ir::*;
use agentpol_core::request::{Request, Resource};
use agentpol_core::source::SourceMap;
use agentpol_core::span::Span;
use agentpol_testkit::ir_build::*;

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
            "AP0809", "AP0810", "AP0811", "AP0812", "AP0813", "AP0814", "AP0815", "AP0816",
            "AP0850", "AP0890"
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

/// Regression (issue 10.4): `"skill": null` was read as "no skill" and got
/// the agent's wider rights. Null and empty identity fields, and a null in any
/// optional field, are errors.
#[test]
fn ap0801_null_and_empty_fields() {
    let cases = [
        (
            r#"{"agent": "openclaw", "skill": null, "kind": "fs", "action": "read", "path": "/home/agent/x"}"#,
            "/skill",
        ),
        (
            r#"{"agent": "openclaw", "skill": "", "kind": "fs", "action": "read", "path": "/home/agent/x"}"#,
            "/skill",
        ),
        (
            r#"{"agent": null, "kind": "fs", "action": "read", "path": "/home/agent/x"}"#,
            "/agent",
        ),
        (
            r#"{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", "addr": null, "domain": "a.example", "port": 1}"#,
            "/addr",
        ),
        (
            r#"{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", "domain": null, "port": 1}"#,
            "/domain",
        ),
        (
            r#"{"agent": "openclaw", "kind": "exec", "path": "/bin/ls", "args": null}"#,
            "/args",
        ),
        (
            r#"{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {"to": "a", "body": "b"}, "tainted": null}"#,
            "/tainted",
        ),
    ];
    for (json, at) in cases {
        eval_err("AP0801", json);
        assert_eq!(field(json), at, "{json}");
    }
    // Wrong-typed identity fields were already refused; keep it so.
    eval_err(
        "AP0801",
        r#"{"agent": "openclaw", "skill": 1, "kind": "fs", "action": "read", "path": "/x"}"#,
    );
    eval_err(
        "AP0801",
        r#"{"agent": ["openclaw"], "kind": "fs", "action": "read", "path": "/x"}"#,
    );
    insta::assert_snapshot!(eval_err(
        "AP0801",
        r#"{"agent": "openclaw", "skill": null, "kind": "fs", "action": "read", "path": "/home/agent/x"}"#
    ));
}

/// Regression (issue 10.6): requests were unbounded (10 M `tainted` entries
/// took 5.3 GB). Every limit is refused with AP0816 and the field that broke it.
#[test]
fn ap0816_request_too_large() {
    use agentpol_core::eval::request_check::limits::*;
    let tool = |tainted: String, body: String| {
        format!(
            r#"{{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {{"to": "a", "body": "{body}"}}, "tainted": [{tainted}]}}"#
        )
    };
    let many = vec!["\"to\""; MAX_ARRAY_LEN + 1].join(",");
    let json = tool(many, "b".into());
    eval_err("AP0816", &json);
    assert_eq!(field(&json), "/tainted");
    let ok = vec!["\"to\""; MAX_ARRAY_LEN].join(",");
    assert!(parse_request(&tool(ok, "b".into())).is_ok_and(|r| matches!(
        r.resource,
        Resource::Tool { ref tainted, .. } if tainted.len() == MAX_ARRAY_LEN
    )));
    let long = tool(String::new(), "x".repeat(MAX_STRING_BYTES + 1));
    eval_err("AP0816", &long);
    assert_eq!(field(&long), "/args/body");
    let huge = format!(
        "{}{}",
        tool(String::new(), "b".into()),
        " ".repeat(MAX_REQUEST_BYTES)
    );
    eval_err("AP0816", &huge);
    let deep = format!(
        r#"{{"agent": "openclaw", "kind": "tool", "tool": "send_email", "args": {{"to": "a", "body": {}1{}}}}}"#,
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    eval_err("AP0816", &deep);
    insta::assert_snapshot!(eval_err(
        "AP0816",
        &tool(vec!["\"to\""; MAX_ARRAY_LEN + 1].join(","), "b".into())
    )
    .lines()
    .take(3)
    .collect::<Vec<_>>()
    .join("\n"));
}

/// Regression (issue 10.3): `https://docs.rs\@pastebin.com/raw` was allowed
/// (WHATWG reads host `docs.rs`, curl and urllib `pastebin.com`). Every URL
/// whose host common parsers read differently is refused.
#[test]
fn ap0815_ambiguous_urls() {
    let ambiguous = [
        r"https://docs.rs\\@pastebin.com/raw",
        r"https://docs.rs\\evil.example/",
        "https://user@docs.rs/",
        "https://docs.rs:443@evil.example/",
        "https://docs.rs%2fevil.example/",
        "https://%64ocs.rs/",
        "https://0x7f.1/",
        "https://127.1/",
        "https://017.0.0.1/",
        "https://2130706433/",
        "https://docs.rs./",
        "https:docs.rs/x",
        "https:/docs.rs/x",
        "https:///docs.rs/x",
        "https://docs.rs\\t/",
        "https://do cs.rs/",
        "https://dоcs.rs/",
        "https://[::1%25eth0]/",
        "https://[::1/",
    ];
    for url in ambiguous {
        let json = format!(
            r#"{{"agent": "openclaw", "kind": "tool", "tool": "transfer", "args": {{"amount": 1, "urgent": false, "u": "{url}", "p": "/x"}}}}"#
        );
        eval_err("AP0815", &json);
        assert_eq!(field(&json), "/args/u", "{url}");
    }
    let plain = [
        "https://docs.rs/cedar-policy?q=a%20b#x",
        "https://127.0.0.1:8080/",
        "https://[::1]/",
        "http://example.com",
        "file:///etc/hosts",
        "mailto:a@example.com",
    ];
    for url in plain {
        let json = format!(
            r#"{{"agent": "openclaw", "kind": "tool", "tool": "transfer", "args": {{"amount": 1, "urgent": false, "u": "{url}", "p": "/x"}}}}"#
        );
        let p = fixture();
        let r = parse_request(&json).unwrap();
        // Not refused: decided (default deny here, as no rule names `transfer`).
        assert!(evaluate(&p, &r).is_ok(), "{url}");
    }
    insta::assert_snapshot!(eval_err(
        "AP0815",
        r#"{"agent": "openclaw", "kind": "tool", "tool": "transfer", "args": {"amount": 1, "urgent": false, "u": "https://docs.rs\\@pastebin.com/raw", "p": "/x"}}"#
    ));
}

/// An IP literal in a net request's `domain` is the address; a name ending in
/// a number that is no address, or a literal that disagrees with `addr`, is refused.
#[test]
fn ap0815_ambiguous_domains() {
    let net = |rest: &str| {
        format!(
            r#"{{"agent": "openclaw", "kind": "net", "action": "connect", "proto": "tcp", {rest}, "port": 443}}"#
        )
    };
    for rest in [
        r#""domain": "127.1""#,
        r#""domain": "0x7f.1""#,
        r#""domain": "2130706433""#,
        r#""domain": "192.0.2.1", "addr": "192.0.2.2""#,
    ] {
        let json = net(rest);
        eval_err("AP0815", &json);
        assert_eq!(field(&json), "/domain");
    }
    let p = fixture();
    for (rest, peer) in [
        (r#""domain": "192.0.2.1""#, "tcp 192.0.2.1 port"),
        (
            r#""domain": "192.0.2.1", "addr": "192.0.2.1""#,
            "tcp 192.0.2.1 port",
        ),
        (r#""domain": "[2001:db8::1]""#, "tcp 2001:db8::1 port"),
    ] {
        let r = parse_request(&net(rest)).unwrap();
        let d = evaluate(&p, &r).unwrap();
        assert!(d.reason.contains(peer), "{rest}: {}", d.reason);
    }
}
