//! Decisions (semantics.md §1, §4–§7) on hand-built IR.

use agentpol_core::eval::{decide, evaluate};
use agentpol_core::ir::*;
use agentpol_core::request::Resource;
use agentpol_testkit::ir_build::*;
use serde_json::json;

use Action::*;
use Effect::*;

// ---- §1: precedence, default deny ----

#[test]
fn default_deny_when_nothing_matches() {
    let p = one_agent(vec![fs("a/fs/1", Allow, Read, &["/srv/**"])]);
    let d = evaluate(&p, &fs_req("a", Read, "/etc/passwd")).unwrap();
    assert_eq!(d.effect, Deny);
    assert!(d.deciding.is_empty());
    assert!(d.matched.is_empty());
    assert_eq!(
        d.reason,
        "default deny: no rule of agent a matches fs read /etc/passwd"
    );
    // An agent without rules denies everything.
    assert_eq!(effect(&one_agent(vec![]), &fs_req("a", Read, "/")), Deny);
}

#[test]
fn action_must_match() {
    let p = one_agent(vec![fs("r", Allow, Read, &["/srv/**"])]);
    assert_eq!(effect(&p, &fs_req("a", Read, "/srv/x")), Allow);
    assert_eq!(effect(&p, &fs_req("a", Write, "/srv/x")), Deny);
}

#[test]
fn deny_beats_allow_regardless_of_order() {
    let allow = fs("a/fs/allow", Allow, Read, &["/home/agent/**"]);
    let deny = fs("a/fs/deny", Deny, Read, &["/home/agent/.ssh/**"]);
    for rules in [
        vec![allow.clone(), deny.clone()],
        vec![deny.clone(), allow.clone()],
    ] {
        let p = one_agent(rules);
        let d = evaluate(&p, &fs_req("a", Read, "/home/agent/.ssh/id_rsa")).unwrap();
        assert_eq!(d.effect, Deny);
        assert_eq!(d.deciding.len(), 1);
        assert_eq!(d.deciding[0].id.0, "a/fs/deny");
        assert_eq!(d.matched.len(), 2);
        assert_eq!(effect(&p, &fs_req("a", Read, "/home/agent/notes")), Allow);
    }
}

#[test]
fn ask_between_allow_and_deny() {
    let t = |id: &str, e| tool_rule(id, e, Some("t"), vec![]);
    let mut p = one_agent(vec![t("allow", Allow), t("ask", Ask)]);
    p.tools.push(tool_sig("t", &[]));
    let r = tool_req("a", "t", json!({}), json!({}));
    assert_eq!(effect(&p, &r), Ask);
    assert_eq!(deciding(&p, &r), vec!["ask"]);
    let d = evaluate(&p, &r).unwrap();
    assert_eq!(
        d.reason,
        format!(
            "needs a human's approval: ask by ask (test.agentpol:{}:5)",
            d.deciding[0].src.line
        )
    );
    p.agents[0].rules.insert(0, t("deny", Deny));
    assert_eq!(effect(&p, &r), Deny);
    assert_eq!(deciding(&p, &r), vec!["deny"]);
}

#[test]
fn deciding_lists_every_rule_with_the_winning_effect_in_order() {
    let p = one_agent(vec![
        fs("d1", Deny, Read, &["/x/**"]),
        fs("a1", Allow, Read, &["/**"]),
        fs("d2", Deny, Read, &["/x/y"]),
        fs("n", Deny, Read, &["/z"]),
    ]);
    let d = evaluate(&p, &fs_req("a", Read, "/x/y")).unwrap();
    let ids = |v: &[agentpol_core::request::MatchedRule]| {
        v.iter().map(|m| m.id.0.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&d.deciding), ["d1", "d2"]);
    assert_eq!(ids(&d.matched), ["d1", "a1", "d2"]);
    assert!(d.matched.iter().all(|m| m.owner == "a"));
}

#[test]
fn reasons_name_rules_and_locations() {
    let mut r = fs("openclaw/fs/1a2b3c4d", Deny, Read, &["/x"]);
    r.src = src(12, 5);
    let mut allow = fs("openclaw/fs/9f9f9f9f", Allow, Read, &["/y"]);
    allow.src = src(3, 7);
    let mut p = policy(vec![agent("openclaw", vec![r, allow], vec![])]);
    p.files[0].name = "examples/x.agentpol".into();
    let d = evaluate(&p, &fs_req("openclaw", Read, "/x")).unwrap();
    assert_eq!(
        d.reason,
        "denied by openclaw/fs/1a2b3c4d (examples/x.agentpol:12:5)"
    );
    let d = evaluate(&p, &fs_req("openclaw", Read, "/y")).unwrap();
    assert_eq!(
        d.reason,
        "allowed by openclaw/fs/9f9f9f9f (examples/x.agentpol:3:7)"
    );
    let d = evaluate(&p, &fs_req("openclaw", Read, "/z/")).unwrap();
    assert_eq!(
        d.reason,
        "default deny: no rule of agent openclaw matches fs read /z"
    );
}

#[test]
fn rule_in_unknown_file_still_has_a_reason() {
    let mut r = fs("r", Deny, Read, &["/x"]);
    r.src.span.file = agentpol_core::span::FileId(7);
    let p = one_agent(vec![r]);
    let d = evaluate(&p, &fs_req("a", Read, "/x")).unwrap();
    assert!(d.reason.contains("<unknown file>"), "{}", d.reason);
}

#[test]
fn other_agents_rules_do_not_apply() {
    let p = policy(vec![
        agent("a", vec![], vec![]),
        agent("b", vec![fs("b/fs/1", Allow, Read, &["/**"])], vec![]),
    ]);
    assert_eq!(effect(&p, &fs_req("a", Read, "/x")), Deny);
    assert_eq!(effect(&p, &fs_req("b", Read, "/x")), Allow);
}

#[test]
fn trailing_slash_of_request_is_ignored() {
    let p = one_agent(vec![fs("r", Allow, Read, &["/srv/data"])]);
    assert_eq!(effect(&p, &fs_req("a", Read, "/srv/data/")), Allow);
}

// ---- §1: skills ----

fn skill_policy(agent_rules: Vec<Rule>, skill_rules: Vec<Rule>) -> Policy {
    policy(vec![agent("a", agent_rules, vec![skill("s", skill_rules)])])
}

#[test]
fn skill_cannot_widen_its_agent() {
    let p = skill_policy(
        vec![fs("a/1", Allow, Read, &["/work/**"])],
        vec![fs("s/1", Allow, Read, &["/**"])],
    );
    assert_eq!(
        effect(&p, &skill_req(fs_req("a", Read, "/work/x"), "s")),
        Allow
    );
    let d = evaluate(&p, &skill_req(fs_req("a", Read, "/etc/passwd"), "s")).unwrap();
    assert_eq!(d.effect, Deny);
    assert!(d.deciding.is_empty(), "default deny of the agent side");
    assert_eq!(d.matched.len(), 1);
    assert_eq!(d.matched[0].owner, "a.s");
    assert_eq!(
        d.reason,
        "default deny: no rule of agent a matches fs read /etc/passwd"
    );
}

#[test]
fn skill_narrows_its_agent() {
    let p = skill_policy(
        vec![fs("a/1", Allow, Read, &["/work/**"])],
        vec![fs("s/1", Allow, Read, &["/work/docs/**"])],
    );
    assert_eq!(
        effect(&p, &skill_req(fs_req("a", Read, "/work/docs/x"), "s")),
        Allow
    );
    let d = evaluate(&p, &skill_req(fs_req("a", Read, "/work/src/x"), "s")).unwrap();
    assert_eq!(d.effect, Deny);
    assert_eq!(
        d.reason,
        "default deny: no rule of skill a.s matches fs read /work/src/x (a skill gets only what its own rules allow)"
    );
    // The agent itself still may.
    assert_eq!(effect(&p, &fs_req("a", Read, "/work/src/x")), Allow);
}

#[test]
fn skill_with_no_rule_for_a_kind_gets_nothing_of_it() {
    let p = skill_policy(
        vec![
            fs("a/1", Allow, Read, &["/**"]),
            net("a/2", Allow, Connect, Proto::Any, None, None),
        ],
        vec![fs("s/1", Allow, Read, &["/**"])],
    );
    let n = net_req("a", Connect, Proto::Tcp, Some("192.0.2.1"), None, 443);
    assert_eq!(effect(&p, &n), Allow);
    assert_eq!(effect(&p, &skill_req(n, "s")), Deny);
}

#[test]
fn skill_deny_and_ask_win_over_agent_allow() {
    let p = skill_policy(
        vec![fs("a/1", Allow, Read, &["/**"])],
        vec![
            fs("s/1", Allow, Read, &["/**"]),
            fs("s/2", Deny, Read, &["/secret"]),
        ],
    );
    let d = evaluate(&p, &skill_req(fs_req("a", Read, "/secret"), "s")).unwrap();
    assert_eq!(d.effect, Deny);
    assert_eq!(d.deciding.len(), 1);
    assert_eq!(d.deciding[0].id.0, "s/2");
    assert_eq!(d.deciding[0].owner, "a.s");
    let ids: Vec<_> = d
        .matched
        .iter()
        .map(|m| (m.owner.as_str(), m.id.0.as_str()))
        .collect();
    assert_eq!(
        ids,
        [("a", "a/1"), ("a.s", "s/1"), ("a.s", "s/2")],
        "agent's, then skill's"
    );
}

#[test]
fn agent_deny_wins_over_skill_allow() {
    let p = skill_policy(
        vec![
            fs("a/1", Allow, Read, &["/**"]),
            fs("a/2", Deny, Read, &["/secret"]),
        ],
        vec![fs("s/1", Allow, Read, &["/**"])],
    );
    assert_eq!(
        deciding(&p, &skill_req(fs_req("a", Read, "/secret"), "s")),
        ["a/2"]
    );
}

#[test]
fn allow_by_both_sides_lists_both() {
    let p = skill_policy(
        vec![fs("a/1", Allow, Read, &["/**"])],
        vec![fs("s/1", Allow, Read, &["/w/**"])],
    );
    let d = evaluate(&p, &skill_req(fs_req("a", Read, "/w/x"), "s")).unwrap();
    assert_eq!(d.effect, Allow);
    assert_eq!(
        d.reason,
        format!(
            "allowed by a/1 (test.agentpol:{}:5), s/1 (test.agentpol:{}:5)",
            d.deciding[0].src.line, d.deciding[1].src.line
        )
    );
}

#[test]
fn ask_from_the_skill_side() {
    let mut p = skill_policy(
        vec![tool_rule("a/t", Allow, Some("t"), vec![])],
        vec![tool_rule("s/t", Ask, Some("t"), vec![])],
    );
    p.tools.push(tool_sig("t", &[]));
    let r = skill_req(tool_req("a", "t", json!({}), json!({})), "s");
    assert_eq!(effect(&p, &r), Ask);
    assert_eq!(deciding(&p, &r), ["s/t"]);
}

#[test]
fn both_sides_empty_reason() {
    let p = skill_policy(vec![], vec![]);
    let d = evaluate(&p, &skill_req(env_req("a", "HOME"), "s")).unwrap();
    assert_eq!(
        d.reason,
        "default deny: no rule of agent a or of skill a.s matches env HOME"
    );
}

// ---- §4: exec ----

#[test]
fn exec_binary_and_args() {
    let p = one_agent(vec![
        exec("git", Allow, &["/usr/bin/git"], Some((&["status"], false))),
        exec("ls", Allow, &["/usr/bin/ls", "/bin/ls"], None),
        exec("push", Deny, &["/usr/bin/git"], Some((&["push"], true))),
    ]);
    assert_eq!(
        effect(&p, &exec_req("a", "/usr/bin/git", &["status"])),
        Allow
    );
    assert_eq!(
        effect(&p, &exec_req("a", "/usr/bin/git", &["status", "-s"])),
        Deny
    );
    assert_eq!(effect(&p, &exec_req("a", "/usr/bin/git", &[])), Deny);
    assert_eq!(
        effect(&p, &exec_req("a", "/usr/bin/git", &["push", "--force"])),
        Deny
    );
    assert_eq!(effect(&p, &exec_req("a", "/bin/ls", &["-la", "/"])), Allow);
    assert_eq!(
        effect(&p, &exec_req("a", "/usr/local/bin/git", &["status"])),
        Deny
    );
    let d = evaluate(&p, &exec_req("a", "/usr/bin/vi", &["x"])).unwrap();
    assert_eq!(
        d.reason,
        "default deny: no rule of agent a matches exec /usr/bin/vi with args [\"x\"]"
    );
}

// ---- §5: net ----

#[test]
fn net_semantics_table() {
    let p = one_agent(vec![
        net(
            "gh",
            Allow,
            Connect,
            Proto::Tcp,
            Some(vec![domain("api.github.com"), cidr("140.82.112.0/20")]),
            Some(vec![(443, 443)]),
        ),
        net(
            "dns",
            Allow,
            Sendto,
            Proto::Udp,
            Some(vec![cidr("192.0.2.53/32")]),
            Some(vec![(53, 53)]),
        ),
        net(
            "web",
            Allow,
            Connect,
            Proto::Any,
            Some(vec![domain("*.example.com")]),
            Some(vec![(80, 80), (8000, 8080)]),
        ),
        net(
            "lo",
            Allow,
            Listen,
            Proto::Any,
            Some(vec![cidr("127.0.0.0/8")]),
            None,
        ),
        net(
            "evil",
            Deny,
            Connect,
            Proto::Any,
            Some(vec![cidr("198.51.100.0/24")]),
            None,
        ),
        net(
            "any",
            Allow,
            Connect,
            Proto::Any,
            None,
            Some(vec![(9999, 9999)]),
        ),
    ]);
    let e = |action, proto, addr: Option<&str>, dom: Option<&str>, port| {
        effect(&p, &net_req("a", action, proto, addr, dom, port))
    };
    use Proto::*;
    assert_eq!(e(Connect, Tcp, None, Some("api.github.com"), 443), Allow);
    assert_eq!(e(Connect, Tcp, None, Some("API.GITHUB.COM."), 443), Allow);
    assert_eq!(
        e(Connect, Udp, None, Some("api.github.com"), 443),
        Deny,
        "tcp only"
    );
    assert_eq!(
        e(Connect, Tcp, None, Some("api.github.com"), 80),
        Deny,
        "port"
    );
    assert_eq!(e(Connect, Tcp, Some("140.82.112.3"), None, 443), Allow);
    assert_eq!(
        e(Connect, Tcp, Some("::ffff:140.82.112.3"), None, 443),
        Allow,
        "mapped v6"
    );
    assert_eq!(
        e(Connect, Tcp, Some("140.82.128.1"), None, 443),
        Deny,
        "outside /20"
    );
    assert_eq!(e(Sendto, Udp, Some("192.0.2.53"), None, 53), Allow);
    assert_eq!(
        e(Connect, Udp, Some("192.0.2.53"), None, 53),
        Deny,
        "action"
    );
    assert_eq!(e(Connect, Tcp, None, Some("a.b.example.com"), 8080), Allow);
    assert_eq!(
        e(Connect, Udp, None, Some("a.example.com"), 80),
        Allow,
        "proto any"
    );
    assert_eq!(
        e(Connect, Tcp, None, Some("example.com"), 80),
        Deny,
        "bare suffix"
    );
    assert_eq!(e(Connect, Tcp, None, Some("a.example.com"), 8081), Deny);
    assert_eq!(
        e(Listen, Tcp, Some("127.0.0.1"), None, 0),
        Allow,
        "port 0, no port restriction"
    );
    assert_eq!(e(Listen, Udp, Some("127.0.0.1"), None, 65535), Allow);
    assert_eq!(e(Listen, Tcp, Some("0.0.0.0"), None, 80), Deny);
    assert_eq!(
        e(
            Connect,
            Tcp,
            Some("198.51.100.7"),
            Some("a.example.com"),
            80
        ),
        Deny,
        "deny by address wins"
    );
    assert_eq!(
        e(Connect, Tcp, Some("203.0.113.9"), None, 9999),
        Allow,
        "no targets = any address"
    );
    assert_eq!(
        e(Connect, Tcp, None, None, 9999),
        Allow,
        "even unknown peer"
    );
    assert_eq!(
        e(Connect, Tcp, Some("203.0.113.9"), None, 0),
        Deny,
        "port 0 vs port restriction"
    );
}

#[test]
fn net_reason_describes_peer() {
    let p = one_agent(vec![]);
    let d = evaluate(
        &p,
        &net_req(
            "a",
            Connect,
            Proto::Tcp,
            Some("140.82.112.3"),
            Some("Api.GitHub.com."),
            443,
        ),
    )
    .unwrap();
    assert_eq!(d.reason, "default deny: no rule of agent a matches net connect tcp api.github.com (140.82.112.3) port 443");
}

// ---- env ----

#[test]
fn env_vars() {
    let p = one_agent(vec![
        env_rule("e", Allow, &["GITHUB_TOKEN", "HOME"]),
        env_rule("d", Deny, &["AWS_SECRET_ACCESS_KEY"]),
    ]);
    assert_eq!(effect(&p, &env_req("a", "HOME")), Allow);
    assert_eq!(effect(&p, &env_req("a", "home")), Deny, "case-sensitive");
    assert_eq!(effect(&p, &env_req("a", "AWS_SECRET_ACCESS_KEY")), Deny);
    assert_eq!(deciding(&p, &env_req("a", "AWS_SECRET_ACCESS_KEY")), ["d"]);
}

// ---- §6: tool atoms ----

fn tool_policy(sig: ToolSig, rules: Vec<Rule>) -> Policy {
    let mut p = one_agent(rules);
    p.tools.push(sig);
    p
}

fn send_money(rules: Vec<Rule>) -> Policy {
    let mut p = tool_policy(
        tool_sig(
            "send_money",
            &[
                ("recipient", ArgType::String),
                ("amount", ArgType::Int),
                ("urgent", ArgType::Bool),
            ],
        ),
        rules,
    );
    p.params.push(param_sig("contacts", ParamType::SetString));
    p.params.push(param_sig("limit", ParamType::Int));
    p
}

fn money(recipient: &str, amount: i64, urgent: bool) -> agentpol_core::request::Request {
    tool_req(
        "a",
        "send_money",
        json!({"recipient": recipient, "amount": amount, "urgent": urgent}),
        json!({"contacts": ["alice", "bob"], "limit": 100}),
    )
}

#[test]
fn eq_ne_cmp_in_and_params() {
    let p = send_money(vec![
        tool_rule(
            "small-to-contacts",
            Allow,
            Some("send_money"),
            vec![
                atom(Test::In {
                    lhs: arg("recipient"),
                    set: SetOperand::Param("contacts".into()),
                }),
                atom(Test::Cmp {
                    lhs: arg("amount"),
                    op: CmpOp::Le,
                    rhs: Scalar::Param("limit".into()),
                }),
            ],
        ),
        tool_rule(
            "big",
            Ask,
            Some("send_money"),
            vec![atom(Test::Cmp {
                lhs: arg("amount"),
                op: CmpOp::Gt,
                rhs: Scalar::Param("limit".into()),
            })],
        ),
        tool_rule(
            "mallory",
            Deny,
            Some("send_money"),
            vec![atom(Test::Eq {
                lhs: arg("recipient"),
                rhs: Scalar::Lit(s("mallory")),
            })],
        ),
        tool_rule(
            "urgent-non-contact",
            Deny,
            Some("send_money"),
            vec![
                atom(Test::Eq {
                    lhs: arg("urgent"),
                    rhs: Scalar::Lit(Value::Bool(true)),
                }),
                not(Test::In {
                    lhs: arg("recipient"),
                    set: SetOperand::Param("contacts".into()),
                }),
            ],
        ),
    ]);
    assert_eq!(effect(&p, &money("alice", 100, false)), Allow);
    assert_eq!(effect(&p, &money("alice", 101, false)), Ask);
    assert_eq!(
        effect(&p, &money("carol", 5, false)),
        Deny,
        "default deny: not a contact"
    );
    assert_eq!(effect(&p, &money("carol", 500, false)), Ask);
    assert_eq!(effect(&p, &money("carol", 500, true)), Deny);
    assert_eq!(effect(&p, &money("bob", 500, true)), Ask);
    assert_eq!(effect(&p, &money("mallory", 1, false)), Deny);
    assert_eq!(
        effect(&p, &money("Alice", 1, false)),
        Deny,
        "case-sensitive"
    );
    assert_eq!(effect(&p, &money("alice", i64::MIN, false)), Allow);
}

#[test]
fn every_cmp_operator() {
    for (op, yes, no) in [
        (CmpOp::Lt, 4, 5),
        (CmpOp::Le, 5, 6),
        (CmpOp::Gt, 6, 5),
        (CmpOp::Ge, 5, 4),
    ] {
        let p = send_money(vec![tool_rule(
            "r",
            Allow,
            Some("send_money"),
            vec![atom(Test::Cmp {
                lhs: arg("amount"),
                op,
                rhs: Scalar::Lit(Value::Int(5)),
            })],
        )]);
        assert_eq!(effect(&p, &money("x", yes, false)), Allow, "{op:?} {yes}");
        assert_eq!(effect(&p, &money("x", no, false)), Deny, "{op:?} {no}");
    }
}

#[test]
fn negated_eq_is_ne() {
    let p = send_money(vec![tool_rule(
        "r",
        Allow,
        Some("send_money"),
        vec![not(Test::Eq {
            lhs: arg("recipient"),
            rhs: Scalar::Lit(s("mallory")),
        })],
    )]);
    assert_eq!(effect(&p, &money("alice", 1, false)), Allow);
    assert_eq!(effect(&p, &money("mallory", 1, false)), Deny);
}

#[test]
fn int_set_membership() {
    let mut p = send_money(vec![tool_rule(
        "r",
        Allow,
        Some("send_money"),
        vec![atom(Test::In {
            lhs: arg("amount"),
            set: set(&[Value::Int(1), Value::Int(2)]),
        })],
    )]);
    p.params.clear();
    let r = |n| {
        tool_req(
            "a",
            "send_money",
            json!({"recipient": "x", "amount": n, "urgent": false}),
            json!({}),
        )
    };
    assert_eq!(effect(&p, &r(2)), Allow);
    assert_eq!(effect(&p, &r(3)), Deny);
}

#[test]
fn like_on_string_argument() {
    let p = tool_policy(
        tool_sig("open", &[("name", ArgType::String)]),
        vec![tool_rule(
            "r",
            Allow,
            Some("open"),
            vec![atom(Test::Like {
                lhs: arg("name"),
                pattern: like("invoice-*.pdf"),
            })],
        )],
    );
    let r = |n: &str| tool_req("a", "open", json!({ "name": n }), json!({}));
    assert_eq!(effect(&p, &r("invoice-2024/03.pdf")), Allow);
    assert_eq!(effect(&p, &r("invoice-1.pdf.exe")), Deny);
}

fn fetch_policy(rules: Vec<Rule>) -> Policy {
    tool_policy(tool_sig("fetch", &[("u", ArgType::Url)]), rules)
}

fn fetch(u: &str) -> agentpol_core::request::Request {
    tool_req("a", "fetch", json!({ "u": u }), json!({}))
}

#[test]
fn url_host_scheme_port_path() {
    let p = fetch_policy(vec![
        tool_rule(
            "gh",
            Allow,
            Some("fetch"),
            vec![
                atom(Test::HostIn {
                    lhs: url_part("u", UrlField::Host),
                    hosts: vec![domain("*.github.com"), cidr("192.0.2.0/24")],
                }),
                atom(Test::Eq {
                    lhs: url_part("u", UrlField::Scheme),
                    rhs: Scalar::Lit(s("https")),
                }),
                atom(Test::In {
                    lhs: url_part("u", UrlField::Port),
                    set: set(&[Value::Int(443)]),
                }),
            ],
        ),
        tool_rule(
            "no-admin",
            Deny,
            Some("fetch"),
            vec![atom(Test::Like {
                lhs: url_part("u", UrlField::Path),
                pattern: like("/admin*"),
            })],
        ),
    ]);
    assert_eq!(effect(&p, &fetch("https://api.github.com/repos")), Allow);
    assert_eq!(effect(&p, &fetch("HTTPS://API.GITHUB.COM:443/")), Allow);
    assert_eq!(
        effect(&p, &fetch("https://api.github.com:8443/")),
        Deny,
        "port"
    );
    assert_eq!(effect(&p, &fetch("http://api.github.com/")), Deny, "scheme");
    assert_eq!(
        effect(&p, &fetch("https://github.com/")),
        Deny,
        "bare suffix"
    );
    // Userinfo is read differently by URL parsers: refused, not decided.
    assert_eq!(
        error_code(&p, &fetch("https://api.github.com@evil.example/")),
        "AP0815"
    );
    assert_eq!(effect(&p, &fetch("https://192.0.2.4/")), Allow);
    assert_eq!(effect(&p, &fetch("https://[::ffff:192.0.2.4]/")), Allow);
    assert_eq!(effect(&p, &fetch("https://api.github.com/admin/x")), Deny);
}

#[test]
fn absent_host_and_port_are_false_before_not() {
    let p = fetch_policy(vec![
        tool_rule(
            "not-evil",
            Allow,
            Some("fetch"),
            vec![not(Test::HostIn {
                lhs: url_part("u", UrlField::Host),
                hosts: vec![domain("evil.example")],
            })],
        ),
        tool_rule(
            "low-port",
            Deny,
            Some("fetch"),
            vec![atom(Test::Cmp {
                lhs: url_part("u", UrlField::Port),
                op: CmpOp::Lt,
                rhs: Scalar::Lit(Value::Int(1024)),
            })],
        ),
        tool_rule(
            "host-eq",
            Deny,
            Some("fetch"),
            vec![atom(Test::Eq {
                lhs: url_part("u", UrlField::Host),
                rhs: Scalar::Lit(s("x")),
            })],
        ),
    ]);
    // No host: the host test is false, so `not` makes it true; no port: the port test is false.
    let d = evaluate(&p, &fetch("mailto:x@evil.example")).unwrap();
    assert_eq!(d.effect, Allow, "{}", d.reason);
    assert_eq!(
        effect(&p, &fetch("foo://h/")),
        Allow,
        "no known port: low-port is false"
    );
    assert_eq!(effect(&p, &fetch("https://evil.example/")), Deny);
    assert_eq!(effect(&p, &fetch("https://x/")), Deny, "host-eq / low-port");
}

#[test]
fn url_host_as_string_operand() {
    let p = fetch_policy(vec![tool_rule(
        "r",
        Allow,
        Some("fetch"),
        vec![atom(Test::In {
            lhs: url_part("u", UrlField::Host),
            set: set(&[s("example.com"), s("2001:db8::1")]),
        })],
    )]);
    // A trailing dot is kept by some parsers and dropped by others: refused.
    assert_eq!(error_code(&p, &fetch("https://EXAMPLE.com./")), "AP0815");
    assert_eq!(effect(&p, &fetch("http://[2001:db8::1]/")), Allow);
    assert_eq!(effect(&p, &fetch("http://[2001:db8::2]/")), Deny);
}

#[test]
fn path_argument_in_globs() {
    let p = tool_policy(
        tool_sig("read_file", &[("p", ArgType::Path)]),
        vec![
            tool_rule(
                "work",
                Allow,
                Some("read_file"),
                vec![atom(Test::PathIn {
                    lhs: arg("p"),
                    globs: vec![glob("/home/agent/work/**")],
                })],
            ),
            tool_rule(
                "keys",
                Deny,
                Some("read_file"),
                vec![atom(Test::PathIn {
                    lhs: arg("p"),
                    globs: vec![glob("/home/agent/work/**/*.pem")],
                })],
            ),
        ],
    );
    let r = |path: &str| tool_req("a", "read_file", json!({ "p": path }), json!({}));
    assert_eq!(effect(&p, &r("/home/agent/work")), Allow);
    assert_eq!(
        effect(&p, &r("/home/agent/work/")),
        Allow,
        "trailing slash ignored"
    );
    assert_eq!(effect(&p, &r("/home/agent/work/a/b.txt")), Allow);
    assert_eq!(effect(&p, &r("/home/agent/work/a/k.pem")), Deny);
    assert_eq!(effect(&p, &r("/home/agent/.ssh/id")), Deny);
}

#[test]
fn tainted_arguments() {
    let mut p = tool_policy(
        tool_sig(
            "send_email",
            &[("to", ArgType::String), ("body", ArgType::String)],
        ),
        vec![
            tool_rule("ok", Allow, Some("send_email"), vec![]),
            tool_rule(
                "taint",
                Ask,
                Some("send_email"),
                vec![atom(Test::Tainted { arg: "to".into() })],
            ),
        ],
    );
    let mut r = tool_req(
        "a",
        "send_email",
        json!({"to": "x", "body": "y"}),
        json!({}),
    );
    assert_eq!(effect(&p, &r), Allow);
    if let Resource::Tool { tainted, .. } = &mut r.resource {
        tainted.push("body".into());
    }
    assert_eq!(effect(&p, &r), Allow, "body tainted, not to");
    if let Resource::Tool { tainted, .. } = &mut r.resource {
        tainted.push("to".into());
    }
    assert_eq!(effect(&p, &r), Ask);
    p.agents[0].rules[1].matcher = Matcher::Tool {
        tool: Some("send_email".into()),
        conditions: vec![not(Test::Tainted { arg: "to".into() })],
    };
    assert_eq!(effect(&p, &r), Allow, "negated tainted");
}

fn secret_policy() -> Policy {
    let mut p = policy(vec![agent(
        "a",
        vec![
            tool_rule("a/tool/any", Allow, Some("send"), vec![]),
            tool_rule("a/tool/any2", Allow, Some("fetch"), vec![]),
            tool_rule(
                "a/tool/secret.1",
                Deny,
                None,
                vec![atom(Test::ContainsSecret {
                    secret: "aws".into(),
                    var: "AWS_SECRET_ACCESS_KEY".into(),
                })],
            ),
        ],
        vec![],
    )]);
    p.tools.push(tool_sig(
        "send",
        &[
            ("to", ArgType::String),
            ("n", ArgType::Int),
            ("p", ArgType::Path),
        ],
    ));
    p.tools.push(tool_sig("fetch", &[("u", ArgType::Url)]));
    p
}

fn with_secret(
    mut r: agentpol_core::request::Request,
    var: &str,
    value: &str,
) -> agentpol_core::request::Request {
    if let Resource::Tool { secrets, .. } = &mut r.resource {
        secrets.insert(var.into(), value.into());
    }
    r
}

#[test]
fn contains_secret_on_every_tool() {
    let p = secret_policy();
    let send = |to: &str, path: &str| {
        tool_req(
            "a",
            "send",
            json!({"to": to, "n": 1234, "p": path}),
            json!({}),
        )
    };
    let key = "AWS_SECRET_ACCESS_KEY";
    assert_eq!(
        effect(&p, &send("hello", "/x")),
        Allow,
        "no secret supplied: cannot be contained"
    );
    assert_eq!(
        effect(&p, &with_secret(send("hello", "/x"), key, "")),
        Allow,
        "empty value: cannot be contained"
    );
    assert_eq!(
        effect(&p, &with_secret(send("key=wJalr", "/x"), key, "wJalr")),
        Deny,
        "string arg"
    );
    assert_eq!(
        effect(&p, &with_secret(send("x", "/tmp/wJalr/"), key, "wJalr")),
        Deny,
        "path arg, as given"
    );
    assert_eq!(
        effect(&p, &with_secret(send("x", "/x"), key, "123")),
        Allow,
        "int args are not searched"
    );
    assert_eq!(
        effect(&p, &with_secret(send("x", "/x"), "OTHER", "x")),
        Allow,
        "another variable"
    );
    let f = tool_req(
        "a",
        "fetch",
        json!({"u": "https://e.example/?k=wJalr"}),
        json!({}),
    );
    let d = evaluate(&p, &with_secret(f, key, "wJalr")).unwrap();
    assert_eq!(d.effect, Deny, "url arg, tool: None applies to every tool");
    assert_eq!(d.deciding[0].id.0, "a/tool/secret.1");
}

#[test]
fn tool_rule_of_another_tool_does_not_apply() {
    let mut p = secret_policy();
    p.agents[0].rules.retain(|r| r.id.0 == "a/tool/any");
    let f = tool_req("a", "fetch", json!({"u": "https://e.example/"}), json!({}));
    assert_eq!(effect(&p, &f), Deny);
}

#[test]
fn unbound_param_of_an_unreached_atom_is_still_an_error() {
    // The first atom is false, so a short-circuiting evaluator would never
    // look at the param; the request is still undecidable.
    let p = send_money(vec![tool_rule(
        "r",
        Deny,
        Some("send_money"),
        vec![
            atom(Test::Eq {
                lhs: arg("recipient"),
                rhs: Scalar::Lit(s("nobody")),
            }),
            atom(Test::Cmp {
                lhs: arg("amount"),
                op: CmpOp::Gt,
                rhs: Scalar::Param("limit".into()),
            }),
        ],
    )]);
    let r = tool_req(
        "a",
        "send_money",
        json!({"recipient": "x", "amount": 1, "urgent": false}),
        json!({}),
    );
    assert_eq!(error_code(&p, &r), "AP0808");
    // A param used only by another tool's rules need not be bound.
    let mut p2 = p.clone();
    p2.tools.push(tool_sig("other", &[]));
    let r2 = tool_req("a", "other", json!({}), json!({}));
    assert_eq!(effect(&p2, &r2), Deny);
}

#[test]
fn decide_fails_closed_with_the_error_in_the_reason() {
    let p = one_agent(vec![fs("r", Allow, Read, &["/**"])]);
    let d = decide(&p, &fs_req("a", Read, "relative/x"));
    assert_eq!(d.effect, Deny);
    assert!(d.deciding.is_empty() && d.matched.is_empty());
    assert_eq!(
        d.reason,
        "denied (fail closed): the request cannot be decided: the fs path \"relative/x\" is not usable: it is not absolute (it must start with `/`) [AP0811 at /path]"
    );
    let ok = decide(&p, &fs_req("a", Read, "/x"));
    assert_eq!(ok.effect, Allow);
}

// ---- the IR's invariants: fail closed, never a silent false ----

#[test]
fn ill_formed_ir_is_an_error_not_a_false() {
    let cases: Vec<(Rule, serde_json::Value)> = vec![
        // Wrong type: string arg compared with an int.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::Eq {
                    lhs: arg("s"),
                    rhs: Scalar::Lit(Value::Int(1)),
                })],
            ),
            json!({}),
        ),
        // Undeclared argument.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::Eq {
                    lhs: arg("nope"),
                    rhs: Scalar::Lit(s("x")),
                })],
            ),
            json!({}),
        ),
        // URL part of a non-url.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::Like {
                    lhs: url_part("s", UrlField::Host),
                    pattern: like("*"),
                })],
            ),
            json!({}),
        ),
        // Set param used as a scalar.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::Eq {
                    lhs: arg("s"),
                    rhs: Scalar::Param("set".into()),
                })],
            ),
            json!({"set": []}),
        ),
        // Undeclared param.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::Eq {
                    lhs: arg("s"),
                    rhs: Scalar::Param("ghost".into()),
                })],
            ),
            json!({}),
        ),
        // Tainted on an undeclared argument.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::Tainted { arg: "nope".into() })],
            ),
            json!({}),
        ),
        // Path test on a string.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::PathIn {
                    lhs: arg("s"),
                    globs: vec![glob("/**")],
                })],
            ),
            json!({}),
        ),
        // Host test on a string.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::HostIn {
                    lhs: arg("s"),
                    hosts: vec![domain("x")],
                })],
            ),
            json!({}),
        ),
        // Membership of a string in an int set.
        (
            tool_rule(
                "r",
                Deny,
                Some("t"),
                vec![atom(Test::In {
                    lhs: arg("s"),
                    set: set(&[Value::Int(1)]),
                })],
            ),
            json!({}),
        ),
        // Matcher kind disagrees with the action.
        (
            rule("r", Deny, Action::Call, Matcher::Env { vars: vec![] }),
            json!({}),
        ),
    ];
    for (i, (r, params)) in cases.into_iter().enumerate() {
        let mut p = tool_policy(tool_sig("t", &[("s", ArgType::String)]), vec![r]);
        p.params.push(param_sig("set", ParamType::SetString));
        let req = tool_req("a", "t", json!({"s": "v"}), params);
        let e = evaluate(&p, &req).expect_err(&format!("case {i} must be an error"));
        assert_eq!(e.code.code, "AP0890", "case {i}: {e}");
        assert_eq!(decide(&p, &req).effect, Deny);
    }
}
