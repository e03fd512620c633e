//! Name resolution, modules, references, skill escalation and other checker
//! rules, each checked on a small fixture.

mod support;

use agentpol_core::ir::{Host, Matcher};
use support::check::{clean, codes, compile_fixture, rendered};

#[test]
fn references_point_at_definitions() {
    let text = "import std::secrets\nconst W = \"/w\"\ntool send(to: string)\nprofile p { }\n\
agent a {\n  home \"/home/a\"\n  include p\n  fs { allow read \"${W}/**\" }\n  secrets { deny read secrets::aws }\n  tool send { allow when to == \"x\" }\n}\nassert never a fs read \"/etc/shadow\"\n";
    let c = compile_fixture(text);
    assert!(c.policy.is_some(), "{}", rendered(&c));
    let root = c.root;
    let def_text = |use_text: &str, nth: usize| -> (String, String) {
        let start = text.match_indices(use_text).nth(nth).unwrap().0 as u32;
        let r = c
            .definition_at(root, start)
            .unwrap_or_else(|| panic!("no reference at {use_text}"));
        let file = c.sources.get(r.def_span.file).unwrap();
        (file.name.clone(), file.slice(r.def_span).to_string())
    };
    assert_eq!(def_text("W}", 0), ("root.agentpol".into(), "W".into()));
    let keyword = text.find("include p").unwrap() as u32;
    assert!(
        c.definition_at(root, keyword).is_none(),
        "the keyword is not a reference"
    );
    assert_eq!(def_text("p\n  fs", 0).1, "p");
    assert_eq!(
        def_text("secrets::aws", 0),
        ("std/secrets.agentpol".into(), "aws".into())
    );
    assert_eq!(def_text("send {", 0).1, "send");
    assert_eq!(def_text("to ==", 0).1, "to");
    assert_eq!(def_text("a fs read", 0).1, "a");
}

#[test]
fn imports_resolve_by_alias_and_by_path_but_are_not_reexported() {
    let fixture = "//- root.agentpol\nimport std::openclaw as oc\nimport \"lib.agentpol\" as lib\n\
agent a {\n  home \"/home/a\"\n  tool send_email { allow when to in param std::openclaw::contacts }\n  tool shell { allow when command in param oc::contacts }\n  fs { allow read lib::paths }\n}\n\
//- lib.agentpol\nimport std::system\nset paths = { \"/srv/**\" }\n";
    let p = clean(fixture);
    assert_eq!(p.agents[0].rules.len(), 3);
    let reexport = "//- root.agentpol\nimport \"lib.agentpol\" as lib\nagent a { fs { allow read lib::system::readonly } }\n//- lib.agentpol\nimport std::system\n";
    let c = compile_fixture(reexport);
    assert_eq!(codes(&c), ["AP0101"], "{}", rendered(&c));
}

#[test]
fn file_modules_are_qualified_by_their_first_alias() {
    let fixture = "//- root.agentpol\nimport \"a/common.agentpol\" as common\nimport \"b/common.agentpol\" as shared\n\
//- a/common.agentpol\nimport \"../b/common.agentpol\" as common\nparam p: string\n//- b/common.agentpol\nparam p: int\n";
    // MemoryLoader joins paths textually, so give the nested import its own file name.
    let fixture =
        fixture.replace("../b/common.agentpol", "x.agentpol") + "//- a/x.agentpol\nparam q: bool\n";
    let p = clean(&fixture);
    let names: Vec<&str> = p.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["common::p", "shared::p", "common_2::q"]);
}

#[test]
fn duplicate_import_aliases_are_errors() {
    let c = compile_fixture("import std::net as x\nimport std::system as x\n");
    assert_eq!(codes(&c), ["AP0102"]);
    // Importing the same module twice under one alias is harmless.
    clean("import std::net\nimport std::net\n");
}

#[test]
fn diagnostics_are_sorted_by_file_and_position() {
    let fixture = "//- root.agentpol\nimport \"lib.agentpol\" as lib\nagent a {\n  fs { allow read \"rel\" }\n  net { allow connect tcp 10.0.0.1/8 }\n}\nconst X = Y\n//- lib.agentpol\nconst Z = W\n";
    let c = compile_fixture(fixture);
    let keys: Vec<(u32, u32)> = c
        .diagnostics
        .iter()
        .map(|d| (d.primary.span.file.0, d.primary.span.start))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(codes(&c), ["AP0305", "AP0301", "AP0101", "AP0101"]);
}

#[test]
fn skill_escalation_is_checked_per_action_and_tool() {
    let ok = "tool t(x: int)\ntool u(x: int)\nagent a {\n  fs { allow read \"/srv/**\" }\n  net { allow connect tcp port 443 }\n  tool t { ask }\n  skill s {\n    fs { allow read \"/srv/docs/**\" }\n    net { allow connect tcp \"x.example\" port 443 }\n    tool t { allow when x < 3 }\n    tool u { deny }\n    exec { deny \"/usr/bin/*\" }\n  }\n}\n";
    clean(ok);
    for (skill_rule, what) in [
        ("fs { allow write \"/srv/**\" }", "fs `write`"),
        ("tool u { allow }", "calls to `u`"),
        ("exec { allow \"/usr/bin/git\" }", "exec"),
        ("net { allow sendto udp port 53 }", "net `sendto`"),
    ] {
        let text = ok.replace("    tool u { deny }\n", &format!("    {skill_rule}\n"));
        let c = compile_fixture(&text);
        assert_eq!(codes(&c), ["AP0401"], "{skill_rule}");
        assert!(
            c.diagnostics[0].message.contains(what),
            "{}",
            c.diagnostics[0].message
        );
    }
    // A grant that reaches the agent through a profile counts.
    let via_profile = "profile p { fs { allow write \"/srv/**\" } }\nagent a {\n  include p\n  skill s { fs { allow write \"/srv/x/**\" } }\n}\n";
    clean(via_profile);
}

#[test]
fn double_includes_are_included_once() {
    let text = "profile base { fs { allow read \"/usr/**\" } }\nprofile p { include base }\nagent a {\n  include base\n  include p\n}\n";
    let c = compile_fixture(text);
    assert_eq!(codes(&c), ["AP0406"]);
    assert_eq!(c.policy.unwrap().agents[0].rules.len(), 1);
}

#[test]
fn include_cycles_terminate_with_an_error() {
    let c = compile_fixture("profile a { include b fs { allow read \"/x\" } }\nprofile b { include a }\nagent x { include a }\n");
    assert_eq!(codes(&c), ["AP0107"]);
    assert!(c.policy.is_none());
}

#[test]
fn unused_profiles_are_checked_but_need_no_home() {
    clean("profile p { fs { allow read \"~/x\" } }\n");
    let c = compile_fixture("profile p { fs { allow read \"x\" } }\n");
    assert_eq!(codes(&c), ["AP0305"]);
}

#[test]
fn kinds_of_names_are_enforced() {
    for (text, code) in [
        ("param p: string\nagent a { fs { allow read p } }\n", "AP0105"),
        ("profile p { }\nagent a { fs { allow read p } }\n", "AP0103"),
        ("const C = \"/x\"\nagent a { include C }\n", "AP0103"),
        ("set S = { \"/x\" }\nagent a { secrets { deny read S } }\n", "AP0103"),
        ("param p: string\nagent a { fs { allow read \"${p}/x\" } }\n", "AP0105"),
        ("secret s { env \"X\" }\nagent a { net { allow connect tcp s } }\n", "AP0103"),
        ("secret s { file s }\n", "AP0103"),
        ("set S = { S }\n", "AP0104"),
        ("agent a { secrets { ask read nothing } }\n", "AP0202"),
        ("const N = 5\nagent a { fs { allow read N } }\n", "AP0201"),
        ("tool t(x: bool)\nagent a { tool t { allow when x in { 1 } } }\n", "AP0204"),
        ("tool t(x: string)\nagent a { tool t { allow when x < 3 } }\n", "AP0204"),
        ("tool t(x: int)\nagent a { tool t { allow when x like \"1*\" } }\n", "AP0204"),
        ("tool t(x: int)\nagent a { tool t { allow when x.host == \"a\" } }\n", "AP0211"),
        ("tool t(x: int)\nagent a { tool t { allow when tainted(y) } }\n", "AP0203"),
        ("param s: set<string>\ntool t(x: int)\nagent a { tool t { allow when x in param s } }\n", "AP0201"),
        ("param s: string\ntool t(x: string)\nagent a { tool t { allow when x in param s } }\n", "AP0201"),
        ("tool t(x: string)\nagent a { tool t { allow when x in { 1, \"a\" } } }\n", "AP0201"),
        ("tool t(p: path)\nparam g: set<string>\nagent a { tool t { allow when p in param g } }\n", "AP0204"),
        ("tool t(u: url)\nagent a { tool t { allow when u.path == \"v1\" } }\n", "AP0318"),
        ("tool t(x: set<string>)\n", "AP0210"),
        ("agent a { home \"/a\" }\nagent a { }\n", "AP0102"),
        ("agent a { skill s { } skill s { } }\n", "AP0102"),
        ("agent a { resolvers { \"dns.example\" } }\n", "AP0302"),
        ("agent a { scope uid 4294967296 }\n", "AP0314"),
        ("agent a { selector { labels { app: \"x\", app: \"y\" } } }\n", "AP0404"),
    ] {
        let c = compile_fixture(text);
        assert!(codes(&c).contains(&code), "{text}: {:?}\n{}", codes(&c), rendered(&c));
        assert!(c.policy.is_none(), "{text}");
    }
}

#[test]
fn literals_are_normalised_in_the_ir() {
    let p = clean(
        "const PORT = 8443\nagent a {\n  resolvers { 1.1.1.1, \"::ffff:9.9.9.9\" }\n  net {\n    allow connect tcp { \"API.Example.COM.\", \"::ffff:192.0.2.0/120\", \"*.cdn.example\" } port PORT\n  }\n  selector { namespace \"agents\" labels { tier: \"b\", app: \"a\" } }\n}\n",
    );
    let a = &p.agents[0];
    assert_eq!(
        a.resolvers
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>(),
        ["1.1.1.1", "9.9.9.9"]
    );
    let sel = a.selector.as_ref().unwrap();
    assert_eq!(
        sel.labels,
        [
            ("app".to_string(), "a".to_string()),
            ("tier".to_string(), "b".to_string())
        ]
    );
    match &a.rules[0].matcher {
        Matcher::Net {
            hosts: Some(h),
            ports: Some(ports),
            ..
        } => {
            assert!(matches!(&h[0], Host::Domain(d) if d.name == "api.example.com"));
            assert!(matches!(&h[1], Host::Cidr(c) if c.to_string() == "192.0.2.0/24"));
            assert!(matches!(&h[2], Host::Domain(d) if d.name == "cdn.example" && d.wildcard));
            assert_eq!((ports[0].lo, ports[0].hi), (8443, 8443));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn int_consts_interpolate_and_exec_args_are_like_patterns() {
    let p = clean("const N = 7\nagent a {\n  exec { allow \"/opt/v${N}/bin/*\" args [\"-n${N}\", \"*\", ..] }\n}\n");
    match &p.agents[0].rules[0].matcher {
        Matcher::Exec {
            binaries,
            args: Some(args),
        } => {
            assert_eq!(binaries[0].pattern, "/opt/v7/bin/*");
            assert_eq!(args.items[0].pattern, "-n7");
            assert_eq!(args.items[1].pieces, [agentpol_core::ir::LikePiece::Star]);
            assert!(args.rest);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tool_signatures_may_be_repeated_identically() {
    let p = clean("tool t(x: int)\nprofile p { tool t(x: int) { allow } }\nagent a { include p tool t(x: int) { deny when x > 3 } }\n");
    assert_eq!(p.tools.len(), 1);
    assert_eq!(p.tools[0].src.line, 1);
    let c = compile_fixture("tool t(x: int)\nagent a { tool t(x: string) { allow } }\n");
    assert_eq!(codes(&c), ["AP0205"]);
    let c = compile_fixture("tool t(x: int) -> untrusted\nagent a { tool t(x: int) { allow } }\n");
    assert_eq!(codes(&c), ["AP0205"], "labels are part of the signature");
}

#[test]
fn policy_is_none_only_for_errors() {
    let c = compile_fixture("agent a { fs { allow read \"/srv//x\" } }\n");
    assert_eq!(codes(&c), ["AP0307"]);
    let p = c.policy.unwrap();
    assert!(
        matches!(&p.agents[0].rules[0].matcher, Matcher::Fs { globs } if globs[0].pattern == "/srv/x")
    );
    // Syntax errors take the policy away too.
    let c = compile_fixture("agent a { fs { allow raed \"/x\" } }\n");
    assert!(c.policy.is_none());
    assert!(
        codes(&c).iter().all(|c| c.starts_with("AP00")),
        "{:?}",
        codes(&c)
    );
}
