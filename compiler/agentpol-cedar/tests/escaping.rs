//! Odd characters (quotes, backslashes, stars, control characters, non-ASCII)
//! in names, literals, globs and patterns: the emitted Cedar still validates
//! and still means what the source says, in all three engines.

use agentpol_cedar::CedarEngine;
use agentpol_core::eval::parse_request;
use agentpol_core::ir::*;
use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};
use agentpol_testkit::policy_gen::*;
use proptest::prelude::*;

fn odd_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('*'),
            Just('\''),
            Just('\n'),
            Just('\t'),
            Just('\u{0}'),
            Just('é'),
            Just('日'),
            Just('🦀'),
            Just('\u{200b}'),
            Just('a'),
            Just('.'),
            Just('-'),
        ],
        1..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn engines(policy: &Policy) -> Vec<Box<dyn DecisionEngine>> {
    vec![
        Box::new(CedarEngine::from_policy(policy).expect("emitted Cedar validates")),
        Box::new(IndexEngine::new(policy).expect("index")),
        Box::new(EvalEngine::new(policy.clone())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn odd_literals_mean_what_they_say(lit in odd_text(), other in odd_text()) {
        prop_assume!(lit != other);
        let seg_ok = !lit.contains('\0') && lit != "." && lit != "..";
        let mut b = PolicyBuilder::new("odd \"file\".agentpol");
        b.tool("t\"x", &[("s'\"", ArgType::String)]);
        b.agent("a");
        b.rule(Who::Agent("a"), Effect::Allow, Action::Call, tool("t\"x", vec![atom(false, Test::Eq {
            lhs: arg("s'\""),
            rhs: Scalar::Lit(Value::Str(lit.clone())),
        })]));
        let like_text = format!("{}*", lit.replace('\\', "\\\\").replace('*', "\\*"));
        b.rule(Who::Agent("a"), Effect::Ask, Action::Call, tool("t\"x", vec![atom(false, Test::Like {
            lhs: arg("s'\""),
            pattern: like(&like_text),
        })]));
        b.rule(Who::Agent("a"), Effect::Allow, Action::ReadEnv, Matcher::Env { vars: vec![lit.clone()] });
        if seg_ok {
            let g = Glob {
                pattern: format!("/x/{lit}"),
                segments: vec![Segment::Lit("x".into()), Segment::Lit(lit.clone())],
            };
            b.rule(Who::Agent("a"), Effect::Allow, Action::Read, Matcher::Fs { globs: vec![g] });
        }
        let policy = b.build();
        let engines = engines(&policy);
        let call = |s: &str| serde_json::json!({"agent": "a", "kind": "tool", "tool": "t\"x", "args": {"s'\"": s}});
        let mut cases = vec![
            (call(&lit), Effect::Ask), // equal and like: ask wins
            (call(&format!("{lit}{other}")), Effect::Ask),
            (serde_json::json!({"agent": "a", "kind": "env", "var": lit}), Effect::Allow),
            (serde_json::json!({"agent": "a", "kind": "env", "var": other}), Effect::Deny),
        ];
        if !other.starts_with(&lit) {
            cases.push((call(&other), Effect::Deny));
        }
        if seg_ok {
            cases.push((serde_json::json!({"agent": "a", "kind": "fs", "action": "read", "path": format!("/x/{lit}")}), Effect::Allow));
        }
        for (json, want) in cases {
            let req = parse_request(&json.to_string()).expect("request parses");
            for e in &engines {
                let got = e.decide(&req).map(|d| d.effect);
                prop_assert_eq!(&got, &Ok(want), "{} on {}", e.name(), json);
            }
        }
    }

    /// Any string where a path, domain, URL or name goes: never a panic, and
    /// the engines agree (same decision, or the same refusal).
    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,12}", t in "[/a-z.:@\\[\\]%]{0,16}") {
        let policy = random_policy(3, 40);
        let engines = engines(&policy);
        let reqs = [
            serde_json::json!({"agent": "ag0", "kind": "fs", "action": "read", "path": s}),
            serde_json::json!({"agent": "ag0", "kind": "fs", "action": "read", "path": format!("/{t}")}),
            serde_json::json!({"agent": "ag0", "kind": "exec", "path": format!("/{t}"), "args": [s]}),
            serde_json::json!({"agent": "ag0", "kind": "net", "action": "connect", "proto": "tcp", "domain": s, "port": 443}),
            serde_json::json!({"agent": "ag0", "kind": "env", "var": s}),
            serde_json::json!({"agent": s, "kind": "env", "var": "HOME"}),
            serde_json::json!({"agent": "ag0", "kind": "tool", "tool": "fetch", "args": {"url": format!("https://{t}"), "in": s}}),
            serde_json::json!({"agent": "ag0", "kind": "tool", "tool": "send", "args": {"to": s, "amount": 1, "urgent": true, "url": t, "file": format!("/{t}")},
                "params": {"contacts": [s], "limit": 5, "owner": s, "flag": false, "codes": [1]}, "secrets": {"AWS_KEY": s}}),
        ];
        for json in reqs {
            let Ok(req) = parse_request(&json.to_string()) else { continue };
            let answers: Vec<Result<Effect, String>> = engines
                .iter()
                .map(|e| e.decide(&req).map(|d| d.effect).map_err(|err| format!("{} {}", err.code.code, err.field)))
                .collect();
            // Index and evaluator agree exactly; Cedar (which may approximate
            // this random policy soundly) refuses alike and is never laxer.
            prop_assert_eq!(&answers[1], &answers[2], "{}", json);
            match (&answers[0], &answers[2]) {
                (Ok(c), Ok(e)) => prop_assert!(c >= e, "{}: {:?}", json, answers),
                (c, e) => prop_assert_eq!(c, e, "{}", json),
            }
        }
    }
}
