//! One rendered-diagnostic snapshot per code of this crate (AP06xx).

mod common;

use agentpol_cedar::{codes, emit, emit_files, CedarEngine, CedarFiles};
use agentpol_core::diag::{render_human, Diag};
use agentpol_core::ir::*;
use agentpol_core::source::SourceMap;
use agentpol_decide::DecisionEngine;
use agentpol_testkit::policy_gen::*;

fn render(d: &Diag, sources: &SourceMap) -> String {
    render_human(d, sources, false, 100)
}

fn only(diags: &[Diag], code: &str) -> Diag {
    let found: Vec<&Diag> = diags.iter().filter(|d| d.code.code == code).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {code}, got {:?}",
        diags
            .iter()
            .map(|d| (d.code.code, &d.message))
            .collect::<Vec<_>>()
    );
    found[0].clone()
}

fn openclaw_files() -> (Policy, SourceMap, CedarFiles) {
    let (policy, sources) = common::openclaw();
    let (files, _, diags) = emit_files(&policy);
    assert!(diags.is_empty());
    (policy, sources, files.expect("files"))
}

#[test]
fn ap0601_invalid_output() {
    let (policy, sources, mut files) = openclaw_files();
    // What the check catches: a policy that reads an attribute the schema lacks.
    files.policies.push_str("@id(\"x\")\n@rule(\"openclaw/fs/r4\")\npermit (principal, action, resource) when { context.nope };\n");
    let d = agentpol_cedar::check_files(&policy, &files).expect("the tampered files must fail");
    assert_eq!(d.code.code, "AP0601");
    insta::assert_snapshot!("AP0601", render(&d, &sources));
}

#[test]
fn ap0602_ill_formed_ir() {
    let text = "tool send(to: string)\nagent a {\n  tool send { allow when amount < 10 }\n}\n";
    let mut b = PolicyBuilder::with_source("bad.agentpol", text);
    b.at("tool send(").tool("send", &[("to", ArgType::String)]);
    b.at("agent a").agent("a");
    b.at("allow when amount < 10");
    b.rule(
        Who::Agent("a"),
        Effect::Allow,
        Action::Call,
        tool(
            "send",
            vec![atom(
                false,
                Test::Cmp {
                    lhs: arg("amount"),
                    op: CmpOp::Lt,
                    rhs: Scalar::Lit(Value::Int(10)),
                },
            )],
        ),
    );
    let out = emit(&b.build());
    assert!(
        out.artifacts.is_empty(),
        "nothing half-translated is handed out"
    );
    let mut sources = SourceMap::new();
    sources.add("bad.agentpol", text);
    insta::assert_snapshot!(
        "AP0602",
        render(&only(&out.diagnostics, "AP0602"), &sources)
    );
}

#[test]
fn ap0603_approximated() {
    let text = "agent a {\n  fs {\n    allow read \"/data/report-?.csv\"\n    deny write \"/data/report-?.csv\"\n  }\n}\n";
    let mut b = PolicyBuilder::with_source("lossy.agentpol", text);
    b.at("agent a").agent("a");
    b.at("allow read");
    b.rule(
        Who::Agent("a"),
        Effect::Allow,
        Action::Read,
        fs(&["/data/report-?.csv"]),
    );
    b.at("deny write");
    b.rule(
        Who::Agent("a"),
        Effect::Deny,
        Action::Write,
        fs(&["/data/report-?.csv"]),
    );
    let out = emit(&b.build());
    assert!(
        !out.artifacts.is_empty(),
        "an approximation is not an error"
    );
    assert_eq!(out.loss.len(), 2);
    let mut sources = SourceMap::new();
    sources.add("lossy.agentpol", text);
    let rendered: Vec<String> = out
        .diagnostics
        .iter()
        .filter(|d| d.code.code == "AP0603")
        .map(|d| format!("[{:?}]\n{}", d.severity, render(d, &sources)))
        .collect();
    assert_eq!(rendered.len(), 2);
    insta::assert_snapshot!("AP0603", rendered.join("\n"));
}

#[test]
fn ap0604_bad_artifacts() {
    let (_, _, mut files) = openclaw_files();
    files.policies = files.policies.replacen("@id(", "@notid(", 1);
    let e = CedarEngine::from_files(&files).expect_err("a policy without @id is refused");
    let mut sources = SourceMap::new();
    let f = sources.add("out/cedar/policies.cedar", files.policies.clone());
    let d = e.to_diag(agentpol_core::span::Span::new(f, 0, 0));
    assert_eq!(d.code.code, "AP0604");
    insta::assert_snapshot!("AP0604", render(&d, &sources));
}

/// A metadata file of another encoding version is refused for its version,
/// even when its shape is not this version's (v1 listed required params as
/// bare names; v2 names the rule reading each).
#[test]
fn ap0604_other_encoding_version() {
    let (_, _, mut files) = openclaw_files();
    let mut meta: serde_json::Value = serde_json::from_str(&files.meta).expect("meta is JSON");
    meta["encoding_version"] = serde_json::json!(1);
    meta["required_params"] = serde_json::json!({"openclaw": {"send_email": ["contacts"]}});
    files.meta = meta.to_string();
    let e = CedarEngine::from_files(&files).expect_err("another version is refused");
    assert_eq!(
        e.message, "encoding version 1 (this agentpolc reads 2)",
        "{e:?}"
    );
}

#[test]
fn ap0605_evaluation_failed() {
    let (_, _, mut files) = openclaw_files();
    // The metadata claims an argument the schema's context type does not have:
    // Cedar rejects the context, and the engine refuses to decide.
    files.meta = files
        .meta
        .replacen("\"name\": \"body\"", "\"name\": \"bcc\"", 1);
    let engine = CedarEngine::from_files(&files).expect("loads");
    let req = agentpol_core::eval::parse_request(
        r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a@x","bcc":"b"},"params":{"contacts":[]}}"#,
    )
    .expect("request parses");
    let err = engine.decide(&req).expect_err("Cedar cannot evaluate it");
    assert_eq!(err.code.code, "AP0605");
    let denied = engine.decide_or_deny(&req);
    assert_eq!(denied.effect, Effect::Deny);
    let mut sources = SourceMap::new();
    let f = sources.add("request.json", "{\"agent\":\"openclaw\", ...}");
    insta::assert_snapshot!(
        "AP0605",
        render(
            &err.to_diag(agentpol_core::span::Span::new(f, 0, 0)),
            &sources
        )
    );
}

#[test]
fn every_code_is_documented_and_tested() {
    let tested = ["AP0601", "AP0602", "AP0603", "AP0604", "AP0605"];
    let codes: Vec<&str> = codes::CEDAR_CODES.iter().map(|c| c.code).collect();
    assert_eq!(codes, tested);
    for c in codes::CEDAR_CODES {
        assert!(c.code.starts_with("AP06"));
        assert!(
            c.explanation.len() > 400,
            "{} needs a long explanation",
            c.code
        );
        assert!(
            c.explanation.contains("Example"),
            "{} needs an example",
            c.code
        );
    }
}
