//! Regression (issue 10.2): with the OpenClaw example every engine allowed
//! requests for internal destinations given as an IP literal in `domain`, a
//! loopback name, an unspecified address, or a URL host of that kind. Each
//! request below must be denied by Cedar, the index and the evaluator alike.

use agentpol_cedar::CedarEngine;
use agentpol_core::eval::parse_request;
use agentpol_core::ir::Effect;
use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};

const OPENCLAW: &str = include_str!("../../../examples/openclaw/openclaw.agentpol");

fn engines() -> Vec<Box<dyn DecisionEngine>> {
    let c = agentpol_core::compile(
        "examples/openclaw/openclaw.agentpol",
        OPENCLAW,
        &agentpol_core::source::NoFiles,
    );
    let policy = c.policy.expect("the OpenClaw example compiles");
    vec![
        Box::new(CedarEngine::from_policy(&policy).expect("Cedar loads")),
        Box::new(IndexEngine::new(&policy).expect("the index builds")),
        Box::new(EvalEngine::new(policy)),
    ]
}

fn net(target: &str) -> String {
    format!(
        r#"{{"agent": "assistant", "kind": "net", "action": "connect", "proto": "tcp", {target}, "port": 443}}"#
    )
}

fn fetch(url: &str) -> String {
    format!(
        r#"{{"agent": "assistant", "kind": "tool", "tool": "web_fetch", "args": {{"url": "{url}"}}}}"#
    )
}

#[test]
fn internal_destinations_are_denied_by_every_engine() {
    let requests = [
        net(r#""domain": "169.254.169.254""#),
        net(r#""domain": "127.0.0.1""#),
        net(r#""domain": "[::1]""#),
        net(r#""domain": "localhost""#),
        net(r#""domain": "admin.localhost""#),
        net(r#""addr": "0.0.0.0""#),
        net(r#""addr": "::""#),
        net(r#""addr": "0.0.0.0", "domain": "example.com""#),
        fetch("https://localhost:8080/admin"),
        fetch("https://0.0.0.0:8080/"),
        fetch("https://[::]:8080/"),
        fetch("https://169.254.169.253/"),
        fetch("https://[fe80::1]/"),
        fetch("https://169.254.169.254/latest/meta-data/"),
    ];
    let engines = engines();
    for json in &requests {
        let req = parse_request(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        for engine in &engines {
            let d = engine.decide_or_deny(&req);
            assert_eq!(
                d.effect,
                Effect::Deny,
                "{} allowed {json}: {}",
                engine.name(),
                d.reason
            );
        }
    }
}

#[test]
fn public_destinations_stay_allowed() {
    // The denies above must not come from refusing everything.
    let requests = [
        net(r#""domain": "api.anthropic.com""#),
        net(r#""addr": "192.0.2.10""#),
        net(r#""domain": "192.0.2.10""#),
        fetch("https://docs.rs/cedar-policy"),
        fetch("https://192.0.2.10/x"),
    ];
    let engines = engines();
    for json in &requests {
        let req = parse_request(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        for engine in &engines {
            let d = engine.decide_or_deny(&req);
            assert_eq!(
                d.effect,
                Effect::Allow,
                "{} on {json}: {}",
                engine.name(),
                d.reason
            );
        }
    }
}
