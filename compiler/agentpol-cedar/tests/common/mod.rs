//! Hand-built IR fixtures shared by the integration tests.
#![allow(dead_code)]

pub mod diff;

use agentpol_core::ir::*;
use agentpol_core::source::SourceMap;
use agentpol_testkit::policy_gen::*;

/// The text of `tests/fixtures/openclaw.agentpol`.
pub const OPENCLAW: &str = include_str!("../fixtures/openclaw.agentpol");

/// The IR the checker produces for `OPENCLAW` (built by hand), and its sources.
pub fn openclaw() -> (Policy, SourceMap) {
    let mut b = PolicyBuilder::with_source("openclaw.agentpol", OPENCLAW);
    b.at("param contacts")
        .param("contacts", ParamType::SetString);
    b.at("agent openclaw").agent("openclaw");
    let oc = Who::Agent("openclaw");
    b.at("allow read, write");
    b.rule(
        oc,
        Effect::Allow,
        Action::Read,
        fs(&["/home/agent/work/**"]),
    );
    b.rule(
        oc,
        Effect::Allow,
        Action::Write,
        fs(&["/home/agent/work/**"]),
    );
    b.at("deny all");
    for a in Action::FS {
        b.rule(
            oc,
            Effect::Deny,
            a,
            fs(&["/home/agent/.ssh/**", "/home/agent/.aws/credentials"]),
        );
    }
    b.at("allow connect");
    b.rule(
        oc,
        Effect::Allow,
        Action::Connect,
        Matcher::Net {
            proto: Proto::Tcp,
            hosts: Some(vec![domain("api.github.com"), cidr("140.82.112.0/20")]),
            ports: Some(vec![PortRange { lo: 443, hi: 443 }]),
        },
    );
    b.at("tool send_email").tool(
        "send_email",
        &[("to", ArgType::String), ("body", ArgType::String)],
    );
    let in_contacts = Test::In {
        lhs: arg("to"),
        set: SetOperand::Param("contacts".into()),
    };
    b.at("allow when");
    b.rule(
        oc,
        Effect::Allow,
        Action::Call,
        tool("send_email", vec![atom(false, in_contacts.clone())]),
    );
    b.at("ask when");
    b.rule(
        oc,
        Effect::Ask,
        Action::Call,
        tool("send_email", vec![atom(true, in_contacts)]),
    );
    b.at("skill pdf_summary").skill("openclaw", "pdf_summary");
    let sk = Who::Skill("openclaw", "pdf_summary");
    b.at("allow read \"${WORK}/docs/**\"");
    b.rule(
        sk,
        Effect::Allow,
        Action::Read,
        fs(&["/home/agent/work/docs/**"]),
    );
    b.at("deny all }");
    for a in Action::NET {
        b.rule(
            sk,
            Effect::Deny,
            a,
            Matcher::Net {
                proto: Proto::Any,
                hosts: None,
                ports: None,
            },
        );
    }
    let mut sources = SourceMap::new();
    sources.add("openclaw.agentpol", OPENCLAW);
    (b.build(), sources)
}

/// One agent with an allow and a deny per glob shape, exact and approximated.
pub fn globs() -> Policy {
    let mut b = PolicyBuilder::new("globs.agentpol");
    b.agent("g");
    let g = Who::Agent("g");
    let shapes = [
        "/etc/passwd",
        "/",
        "/**",
        "/home/g/.ssh/id_*",
        "/home/*/.ssh/**",
        "/w/**/*.rs",
        "/**/node_modules/**",
        "/var/log/*.[0-9]",
        "/srv/a*b/**/c/d",
        "/data/report-?.csv",
        "/x/[!a]*",
        "/a/**/x*/**/b",
        "/d/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/*.deep/**",
    ];
    for s in shapes {
        b.rule(g, Effect::Allow, Action::Read, fs(&[s]));
        b.rule(g, Effect::Deny, Action::Write, fs(&[s]));
    }
    b.build()
}

/// Tools with every argument type and every kind of condition; exec, env and
/// a skill with its gate.
pub fn tools() -> Policy {
    let mut b = PolicyBuilder::new("tools.agentpol");
    b.tool(
        "pay",
        &[
            ("recipient", ArgType::String),
            ("amount", ArgType::Int),
            ("urgent", ArgType::Bool),
            ("invoice", ArgType::Path),
        ],
    );
    b.tool(
        "fetch",
        &[("url", ArgType::Url), ("send-to", ArgType::String)],
    );
    b.param("limit", ParamType::Int);
    b.param("payees", ParamType::SetString);
    b.param("std::openclaw::codes", ParamType::SetInt);
    b.agent("bot");
    b.skill("bot", "shopper");
    let bot = Who::Agent("bot");
    let shop = Who::Skill("bot", "shopper");
    b.rule(
        bot,
        Effect::Allow,
        Action::Call,
        tool(
            "pay",
            vec![
                atom(
                    false,
                    Test::In {
                        lhs: arg("recipient"),
                        set: SetOperand::Param("payees".into()),
                    },
                ),
                atom(
                    false,
                    Test::Cmp {
                        lhs: arg("amount"),
                        op: CmpOp::Le,
                        rhs: Scalar::Param("limit".into()),
                    },
                ),
                atom(
                    false,
                    Test::PathIn {
                        lhs: arg("invoice"),
                        globs: vec![glob("/home/bot/invoices/**/*.pdf")],
                    },
                ),
            ],
        ),
    );
    b.rule(
        bot,
        Effect::Ask,
        Action::Call,
        tool(
            "pay",
            vec![
                atom(
                    false,
                    Test::Eq {
                        lhs: arg("urgent"),
                        rhs: Scalar::Lit(Value::Bool(true)),
                    },
                ),
                atom(
                    true,
                    Test::In {
                        lhs: arg("amount"),
                        set: SetOperand::Param("std::openclaw::codes".into()),
                    },
                ),
            ],
        ),
    );
    b.rule(
        bot,
        Effect::Deny,
        Action::Call,
        tool(
            "pay",
            vec![atom(
                false,
                Test::Tainted {
                    arg: "recipient".into(),
                },
            )],
        ),
    );
    b.rule(
        bot,
        Effect::Allow,
        Action::Call,
        tool(
            "fetch",
            vec![
                atom(
                    false,
                    Test::HostIn {
                        lhs: url_part("url", UrlField::Host),
                        hosts: vec![
                            domain("*.example.com"),
                            domain("example.com"),
                            cidr("192.0.2.0/24"),
                        ],
                    },
                ),
                atom(
                    false,
                    Test::Eq {
                        lhs: url_part("url", UrlField::Scheme),
                        rhs: Scalar::Lit(Value::Str("https".into())),
                    },
                ),
                atom(
                    true,
                    Test::Eq {
                        lhs: url_part("url", UrlField::Port),
                        rhs: Scalar::Lit(Value::Int(8443)),
                    },
                ),
                atom(
                    false,
                    Test::Like {
                        lhs: url_part("url", UrlField::Path),
                        pattern: like("/api/*"),
                    },
                ),
                atom(
                    true,
                    Test::In {
                        lhs: arg("send-to"),
                        set: SetOperand::Lit(
                            [Value::Str("x\"y".into()), Value::Str("a*b".into())].into(),
                        ),
                    },
                ),
            ],
        ),
    );
    b.rule(
        bot,
        Effect::Deny,
        Action::Call,
        Matcher::Tool {
            tool: None,
            conditions: vec![atom(
                false,
                Test::ContainsSecret {
                    secret: "aws".into(),
                    var: "AWS_SECRET_ACCESS_KEY".into(),
                },
            )],
        },
    );
    b.rule(
        bot,
        Effect::Allow,
        Action::Exec,
        Matcher::Exec {
            binaries: vec![glob("/usr/bin/git")],
            args: Some(ArgsPattern {
                items: vec![like("status"), like("*")],
                rest: true,
            }),
        },
    );
    b.rule(
        bot,
        Effect::Allow,
        Action::ReadEnv,
        Matcher::Env {
            vars: vec!["HOME".into(), "LANG".into()],
        },
    );
    b.rule(
        shop,
        Effect::Allow,
        Action::Call,
        tool(
            "pay",
            vec![atom(
                false,
                Test::Cmp {
                    lhs: arg("amount"),
                    op: CmpOp::Lt,
                    rhs: Scalar::Lit(Value::Int(50)),
                },
            )],
        ),
    );
    b.rule(shop, Effect::Allow, Action::Call, tool("fetch", vec![]));
    b.build()
}
