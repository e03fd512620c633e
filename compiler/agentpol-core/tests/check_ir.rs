//! IR produced by the checker for representative multi-file fixtures
//! (insta JSON snapshots), plus targeted checks of the lowering rules of
//! semantics.md (`~` per agent, includes, secrets, DNF, assertions, tests).

mod support;

use agentpol_core::check::DefinitionKind;
use agentpol_core::ir::{
    Action, AssertLayers, AssertTarget, Effect, Host, Matcher, Policy, Proto, Scalar, Scope,
    SetOperand, Test, UrlField, Value,
};
use agentpol_core::request::Resource;
use support::check::{clean, codes, compile_fixture};

const LIB: &str = r#"//- root.agentpol
version 1
import std::secrets
import "lib/common.agentpol" as common

agent alice {
  home "/home/alice"
  include common::base
  fs { allow read common::docs }
  tool send_email { allow when to in param common::contacts }
  secrets { deny read secrets::aws }
}

agent bob {
  home "/srv/bob"
  scope uid 1500
  include common::base
  skill notes {
    fs { allow read "~/notes/**" }
  }
  fs { allow read "~/notes/**" }
}
//- lib/common.agentpol
const ROOT = "~/work"
set docs = { "${ROOT}/docs/**", "/usr/share/doc/**" }
param contacts: set<string>
tool send_email(to: string, body: secret string) -> untrusted

profile base {
  fs {
    allow read, write "${ROOT}/**"
    deny all "~/.ssh/**"
  }
  net { allow connect tcp { "api.example.com", 10.1.0.0/16 } port { 443, 8000..8080 } }
}
"#;

#[test]
fn multi_file_ir() {
    let p = clean(LIB);
    insta::assert_json_snapshot!("multi_file", p);
}

fn globs(m: &Matcher) -> Vec<&str> {
    match m {
        Matcher::Fs { globs } => globs.iter().map(|g| g.pattern.as_str()).collect(),
        Matcher::Exec { binaries, .. } => binaries.iter().map(|g| g.pattern.as_str()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn tilde_expands_per_including_agent() {
    let p = clean(LIB);
    let alice = p.agent("alice").unwrap();
    let bob = p.agent("bob").unwrap();
    // The profile's first rule lands in both agents with each one's home.
    let first = |a: &agentpol_core::ir::Agent| globs(&a.rules[0].matcher).join(",");
    assert_eq!(first(alice), "/home/alice/work/**");
    assert_eq!(first(bob), "/srv/bob/work/**");
    // A module-level set is expanded per agent too.
    let docs = alice
        .rules
        .iter()
        .find(|r| r.origin.via.is_empty() && r.kind() == agentpol_core::ir::Kind::Fs)
        .unwrap();
    assert_eq!(
        globs(&docs.matcher),
        ["/home/alice/work/docs/**", "/usr/share/doc/**"]
    );
    // A skill's `~` is its agent's home.
    assert_eq!(
        globs(&bob.skills[0].rules[0].matcher),
        ["/srv/bob/notes/**"]
    );
    assert_eq!(bob.scope, Scope::Uid { uid: 1500 });
    assert_eq!(
        alice.scope,
        Scope::Cgroup {
            path: "agentpol/alice".into()
        }
    );
}

#[test]
fn includes_are_expanded_in_place_with_their_origin() {
    let p = clean(LIB);
    let alice = p.agent("alice").unwrap();
    let kinds: Vec<(Effect, Action, usize)> = alice
        .rules
        .iter()
        .map(|r| (r.effect, r.action, r.origin.via.len()))
        .collect();
    // `allow read, write` -> 2 rules, `deny all` -> 7, net connect -> 1, all via the include.
    assert_eq!(kinds.iter().take(10).filter(|k| k.2 == 1).count(), 10);
    assert_eq!(kinds[0], (Effect::Allow, Action::Read, 1));
    assert_eq!(kinds[1], (Effect::Allow, Action::Write, 1));
    assert_eq!(kinds[2].0, Effect::Deny);
    assert_eq!(kinds[9].1, Action::Connect);
    assert_eq!(
        kinds[10].2, 0,
        "own rules come after the include, in source order"
    );
    let via = &alice.rules[0].origin.via[0];
    assert_eq!(via.profile, "common::base");
    assert_eq!((via.site.line, via.site.col), (7, 3));
    // Ids: one base per source rule, `.n` per action in a fixed order.
    let id0 = &alice.rules[0].id.0;
    let id1 = &alice.rules[1].id.0;
    assert!(id0.starts_with("alice/fs/") && id0.ends_with(".0"), "{id0}");
    assert_eq!(id0.trim_end_matches(".0"), id1.trim_end_matches(".1"));
    let net = alice
        .rules
        .iter()
        .find(|r| r.action == Action::Connect)
        .unwrap();
    assert!(
        !net.id.0.contains('.'),
        "a single IR rule has no suffix: {}",
        net.id
    );
    match &net.matcher {
        Matcher::Net {
            proto,
            hosts,
            ports,
        } => {
            assert_eq!(*proto, Proto::Tcp);
            let hosts = hosts.as_ref().unwrap();
            assert!(
                matches!(&hosts[0], Host::Domain(d) if d.name == "api.example.com" && !d.wildcard)
            );
            assert!(matches!(&hosts[1], Host::Cidr(c) if c.to_string() == "10.1.0.0/16"));
            let ports = ports.as_ref().unwrap();
            assert_eq!(
                (ports[0].lo, ports[0].hi, ports[1].lo, ports[1].hi),
                (443, 443, 8000, 8080)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn params_tools_and_secrets_are_qualified() {
    let p = clean(LIB);
    assert_eq!(p.params[0].name, "common::contacts");
    let tool = p.tool("send_email").unwrap();
    assert!(tool.arg("body").unwrap().secret);
    assert!(!tool.arg("to").unwrap().secret);
    assert_eq!(tool.labels, [agentpol_core::ir::Label::Untrusted]);
    let aws = p
        .secrets
        .iter()
        .find(|s| s.name == "std::secrets::aws")
        .unwrap();
    assert!(aws.files.contains(&"~/.aws/credentials".to_string()));
    assert!(aws.env.contains(&"AWS_SECRET_ACCESS_KEY".to_string()));
    let alice = p.agent("alice").unwrap();
    let send = alice
        .rules
        .iter()
        .find(|r| matches!(&r.matcher, Matcher::Tool { tool: Some(t), .. } if t == "send_email"))
        .unwrap();
    match &send.matcher {
        Matcher::Tool { conditions, .. } => {
            assert!(
                matches!(&conditions[0].test, Test::In { set: SetOperand::Param(n), .. } if n == "common::contacts")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_lower_to_fs_env_and_tool_denies() {
    let p = clean(LIB);
    let alice = p.agent("alice").unwrap();
    let from_aws: Vec<_> = alice
        .rules
        .iter()
        .filter(|r| r.origin.secret.as_deref() == Some("std::secrets::aws"))
        .collect();
    assert!(from_aws.iter().all(|r| r.effect == Effect::Deny));
    let kinds: Vec<Action> = from_aws.iter().map(|r| r.action).collect();
    // files -> one fs read rule, env -> one env rule, deny -> one tool rule per variable.
    assert_eq!(kinds[0], Action::Read);
    assert_eq!(kinds[1], Action::ReadEnv);
    assert_eq!(kinds.iter().filter(|a| **a == Action::Call).count(), 3);
    assert!(globs(&from_aws[0].matcher).contains(&"/home/alice/.aws/credentials"));
    for r in from_aws.iter().filter(|r| r.action == Action::Call) {
        match &r.matcher {
            Matcher::Tool { tool, conditions } => {
                assert!(tool.is_none(), "the deny applies to every tool");
                assert_eq!(conditions.len(), 1);
                assert!(
                    matches!(&conditions[0].test, Test::ContainsSecret { secret, .. } if secret == "std::secrets::aws")
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // All parts share one base id and are numbered in order.
    let base = from_aws[0]
        .id
        .0
        .rsplit_once('/')
        .unwrap()
        .1
        .split('.')
        .next()
        .unwrap()
        .to_string();
    for (n, r) in from_aws.iter().enumerate() {
        assert!(r.id.0.ends_with(&format!("{base}.{n}")), "{}", r.id);
    }
    assert!(from_aws[1].id.0.starts_with("alice/env/"));
    assert!(from_aws[2].id.0.starts_with("alice/tool/"));
}

const CONDITIONS: &str = r#"
tool fetch(u: url) -> untrusted
tool pay(amount: int, to: string, note: string, urgent: bool)
tool open(p: path)
param owner: string
param limit: int
set payees = { "alice", "bob" }

agent a {
  home "/home/a"
  tool fetch {
    allow when u.scheme == "https" and u.host in { "*.github.com", "api.example.com", 140.82.112.0/20 }
    deny when u.host == "evil.example" or u.port != 443
  }
  tool pay {
    allow when amount <= param limit and to in payees and not tainted(to)
    ask when not (amount < 100 or to == param owner)
    deny when note not like "invoice *" and urgent != false
  }
  tool open {
    allow when p in { "~/work/**", "/tmp/*.txt" }
    deny when p not in { "~/work/**" }
  }
}
"#;

#[test]
fn conditions_ir() {
    let p = clean(CONDITIONS);
    insta::assert_json_snapshot!("conditions", p.agents);
}

fn tool_rules<'p>(p: &'p Policy, tool: &str) -> Vec<&'p agentpol_core::ir::Rule> {
    p.agent("a")
        .unwrap()
        .rules
        .iter()
        .filter(|r| matches!(&r.matcher, Matcher::Tool { tool: Some(t), .. } if t == tool))
        .collect()
}

fn conds(r: &agentpol_core::ir::Rule) -> &[agentpol_core::ir::Atom] {
    match &r.matcher {
        Matcher::Tool { conditions, .. } => conditions,
        _ => &[],
    }
}

#[test]
fn negation_is_pushed_to_atoms_and_or_splits_rules() {
    let p = clean(CONDITIONS);
    let fetch = tool_rules(&p, "fetch");
    assert_eq!(fetch.len(), 3, "allow (1 disjunct) + deny (2 disjuncts)");
    assert!(matches!(&conds(fetch[0])[1].test, Test::HostIn { hosts, .. } if hosts.len() == 3));
    // `u.port != 443` is a negated Eq on the port field.
    let port = &conds(fetch[2])[0];
    assert!(port.negated);
    assert!(
        matches!(&port.test, Test::Eq { lhs, rhs: Scalar::Lit(Value::Int(443)) } if lhs.field == Some(UrlField::Port))
    );
    assert!(fetch[1].id.0.ends_with(".0") && fetch[2].id.0.ends_with(".1"));

    let pay = tool_rules(&p, "pay");
    // `not (amount < 100 or to == param owner)` -> one conjunction of two negated atoms.
    let ask = pay.iter().find(|r| r.effect == Effect::Ask).unwrap();
    let c = conds(ask);
    assert_eq!(c.len(), 2);
    assert!(c.iter().all(|a| a.negated));
    assert!(matches!(&c[0].test, Test::Cmp { .. }));
    assert!(matches!(&c[1].test, Test::Eq { rhs: Scalar::Param(n), .. } if n == "owner"));
    // `not like` and `!= false` are negated atoms.
    let deny = pay.iter().find(|r| r.effect == Effect::Deny).unwrap();
    assert!(conds(deny).iter().all(|a| a.negated));
    // `to in payees` expands the named set.
    let allow = pay.iter().find(|r| r.effect == Effect::Allow).unwrap();
    assert!(
        matches!(&conds(allow)[1].test, Test::In { set: SetOperand::Lit(s), .. } if s.len() == 2)
    );
    assert!(conds(allow)[2].negated);

    let open = tool_rules(&p, "open");
    match &conds(open[0])[0].test {
        Test::PathIn { globs, .. } => {
            assert_eq!(globs[0].pattern, "/home/a/work/**");
            assert_eq!(globs[1].pattern, "/tmp/*.txt");
        }
        other => panic!("{other:?}"),
    }
    assert!(conds(open[1])[0].negated);
}

const ASSERTS_AND_TESTS: &str = r#"
import std::secrets
tool send(to: string, n: int, ok: bool) -> untrusted
tool put(p: path)
param contacts: set<string>

agent a {
  home "/home/a"
  secrets { deny read secrets::ssh }
  fs { allow read "~/**" }
  exec { allow "/usr/bin/git" args ["status", ..] }
  net { allow connect tcp "*.example.com" port 443 }
  tool send { allow when to in param contacts }
  tool put { allow when p in { "~/out/**" } }
  skill s { fs { allow read "~/docs/**" } }
}
agent b {
  home "/home/b"
}

assert never * fs read "~/.ssh/**"
assert never allow * tool send when tainted(to) or n > 10
assert never a.s net connect any
assert never b env "AWS_SECRET_ACCESS_KEY"

test "all kinds" {
  expect deny a fs read "~/.ssh/id_ed25519"
  expect allow a.s fs read "/home/a/docs/x"
  expect allow a exec "/usr/bin/git" args ["status", "-s"]
  expect allow a net connect "api.example.com" port 443
  expect deny a net sendto udp "2001:db8::1" port 53
  expect deny a net connect tcp 192.0.2.1 port 80
  expect allow a tool send { to: "x@example.com", n: 3, ok: true } with { contacts: { "x@example.com" } } tainted(to)
  expect allow a tool put { p: "~/out/report.pdf" }
  expect deny a env "SSH_AUTH_SOCK"
}
"#;

#[test]
fn assertions_and_tests_ir() {
    let p = clean(ASSERTS_AND_TESTS);
    insta::assert_json_snapshot!("assertions", p.assertions);
    insta::assert_json_snapshot!("tests", p.tests);
}

#[test]
fn assertions_lower_as_specified() {
    let p = clean(ASSERTS_AND_TESTS);
    // `*` with `~` becomes one assertion per agent, each with its home.
    let tilde: Vec<_> = p.assertions.iter().filter(|a| a.src.line == 21).collect();
    assert_eq!(tilde.len(), 2);
    assert_eq!(tilde[0].target, AssertTarget::Agent { agent: "a".into() });
    assert_eq!(globs(&tilde[1].matcher), ["/home/b/.ssh/**"]);
    assert_eq!(tilde[0].forbidden, [Effect::Allow, Effect::Ask]);
    // `never allow` forbids only allow; an `or` makes one assertion per disjunct.
    let tool: Vec<_> = p.assertions.iter().filter(|a| a.src.line == 22).collect();
    assert_eq!(tool.len(), 2);
    assert!(tool
        .iter()
        .all(|a| a.forbidden == [Effect::Allow] && a.target == AssertTarget::All));
    let skill = p.assertions.iter().find(|a| a.src.line == 23).unwrap();
    assert_eq!(
        skill.target,
        AssertTarget::Skill {
            agent: "a".into(),
            skill: "s".into()
        }
    );
    assert_eq!(skill.actions, [Action::Connect]);
}

#[test]
fn read_assertions_lower_to_cross_layer_fs_reads() {
    let p = clean(
        r#"agent a { home "/home/a" }
assert never * read "~/.ssh/**"
assert never allow a read { "/etc/shadow", "/root/**" }
assert never a fs read "/x"
"#,
    );
    let cross: Vec<_> = p.assertions.iter().filter(|a| a.src.line == 2).collect();
    assert_eq!(cross.len(), 1);
    assert_eq!(cross[0].layers, AssertLayers::Cross);
    assert_eq!(cross[0].actions, [Action::Read]);
    // `~` expands per agent, as for `fs read`.
    assert_eq!(cross[0].target, AssertTarget::Agent { agent: "a".into() });
    assert_eq!(globs(&cross[0].matcher), ["/home/a/.ssh/**"]);
    let allow = p.assertions.iter().find(|a| a.src.line == 3).unwrap();
    assert_eq!(allow.layers, AssertLayers::Cross);
    assert_eq!(allow.forbidden, [Effect::Allow]);
    assert_eq!(globs(&allow.matcher), ["/etc/shadow", "/root/**"]);
    let kind = p.assertions.iter().find(|a| a.src.line == 4).unwrap();
    assert_eq!(kind.layers, AssertLayers::Kind);
    // The JSON of the kind form has no `layers` (it reads as in IR version 1).
    let json = |a: &agentpol_core::ir::Assertion| serde_json::to_value(a).unwrap();
    assert_eq!(json(allow)["layers"], "cross");
    assert!(json(kind).get("layers").is_none(), "{}", json(kind));
    let back: agentpol_core::ir::Assertion = serde_json::from_value(json(kind)).unwrap();
    assert_eq!(&back, kind);
}

#[test]
fn tests_become_concrete_requests() {
    let p = clean(ASSERTS_AND_TESTS);
    let e = &p.tests[0].expects;
    assert!(
        matches!(&e[0].request.resource, Resource::Fs { path, .. } if path == "/home/a/.ssh/id_ed25519")
    );
    assert_eq!(e[1].request.skill.as_deref(), Some("s"));
    match &e[3].request.resource {
        Resource::Net {
            proto,
            addr,
            domain,
            port,
            ..
        } => {
            assert_eq!(*proto, Proto::Tcp, "tcp is the default");
            assert!(addr.is_none());
            assert_eq!(domain.as_deref(), Some("api.example.com"));
            assert_eq!(*port, 443);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&e[4].request.resource, Resource::Net { addr: Some(a), domain: None, .. } if a.to_string() == "2001:db8::1")
    );
    match &e[6].request.resource {
        Resource::Tool {
            args,
            params,
            tainted,
            ..
        } => {
            assert_eq!(args["n"], serde_json::json!(3));
            assert_eq!(args["ok"], serde_json::json!(true));
            assert_eq!(params["contacts"], serde_json::json!(["x@example.com"]));
            assert_eq!(tainted, &["to".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&e[7].request.resource, Resource::Tool { args, .. } if args["p"] == "/home/a/out/report.pdf")
    );
}

#[test]
fn unknown_names_in_tests_are_errors() {
    let base = "tool send(to: string)\nagent a { tool send { allow } skill s { } }\n";
    for (case, code) in [
        ("expect allow z tool send { to: \"x\" }", "AP0111"),
        ("expect allow a.t tool send { to: \"x\" }", "AP0111"),
        ("expect allow a tool sned { to: \"x\" }", "AP0206"),
        (
            "expect allow a tool send { to: \"x\", cc: \"y\" }",
            "AP0203",
        ),
        (
            "expect allow a tool send { to: \"x\" } with { nobody: 1 }",
            "AP0101",
        ),
        (
            "expect allow a tool send { to: \"x\" } tainted(cc)",
            "AP0203",
        ),
        ("expect allow a fs read \"relative\"", "AP0409"),
        ("expect allow a fs read \"~/x\"", "AP0310"),
        ("expect allow a net connect tcp 10.0.0.0/8 port 1", "AP0302"),
        (
            "expect allow a net connect tcp \"*.example.com\" port 1",
            "AP0308",
        ),
        (
            "expect allow a net connect tcp \"x.example\" port 70000",
            "AP0409",
        ),
    ] {
        let c = compile_fixture(&format!("{base}test \"t\" {{\n  {case}\n}}\n"));
        assert!(codes(&c).contains(&code), "{case}: {:?}", codes(&c));
        assert!(c.policy.is_none(), "{case}");
    }
}

#[test]
fn definitions_and_partial_ir_survive_errors() {
    // An editor navigates a file while it has errors: the definitions table
    // and the IR built so far are kept (issue 9, point 6).
    let text = "version 1\nconst W = \"/srv\"\ntool send(to: string)\nprofile p { fs { allow read \"/usr/**\" } }\nagent a {\n  home \"/home/a\"\n  include p\n  fs { allow read \"${W}/**\" }\n  fs { allow read nope }\n}\n";
    let c = support::check::compile_fixture(text);
    assert!(c.has_errors(), "`nope` is undefined");
    assert!(c.policy.is_none());
    let partial = c.partial_policy.as_ref().expect("partial IR kept");
    let a = partial.agent("a").expect("agent a in the partial IR");
    assert!(
        a.rules
            .iter()
            .any(|r| matches!(&r.matcher, Matcher::Fs { globs } if globs[0].pattern == "/srv/**")),
        "{:#?}",
        a.rules
    );
    assert!(std::ptr::eq(c.navigable_policy().unwrap(), partial));
    let defs: Vec<(DefinitionKind, &str, &str)> = c
        .definitions
        .iter()
        .map(|d| (d.kind, d.name.as_str(), &text[d.name_span.range()]))
        .collect();
    assert_eq!(
        defs,
        [
            (DefinitionKind::Const, "W", "W"),
            (DefinitionKind::Profile, "p", "p"),
            (DefinitionKind::Agent, "a", "a"),
            (DefinitionKind::Tool, "send", "send"),
        ]
    );
    let agent = c.definitions.iter().find(|d| d.name == "a").unwrap();
    assert!(text[agent.item_span.range()].starts_with("agent a {"));

    // Without errors: the policy, and no second copy.
    let ok = support::check::compile_fixture(&text.replace("  fs { allow read nope }\n", ""));
    assert!(ok.policy.is_some() && ok.partial_policy.is_none());
    assert_eq!(ok.definitions.len(), 4);
}
