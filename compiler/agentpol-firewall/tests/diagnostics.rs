//! One rendered snapshot per diagnostic code of the firewall backend, and a
//! check that every registered code has one and a real explanation.

use agentpol_core::diag::{render_human, Diag};
use agentpol_core::ir::{Action::*, Effect::*, Proto::*, Scope};
use agentpol_core::source::SourceMap;
use agentpol_firewall::{emit_iptables, emit_nft, Options, FIREWALL_CODES};
use agentpol_testkit::net_fixture::{cgroup, net, Fixture};
use std::collections::BTreeSet;

fn first(diags: &[Diag], code: &'static str) -> Diag {
    diags
        .iter()
        .find(|d| d.code.code == code)
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no {code} in {:?}",
                diags.iter().map(|d| d.code.code).collect::<Vec<_>>()
            )
        })
}

fn check(code: &'static str, d: &Diag, sources: &SourceMap) {
    assert_eq!(d.code.code, code);
    assert!(!d.help.is_empty(), "{code} has no help");
    insta::assert_snapshot!(code, render_human(d, sources, false, 100));
}

fn one_agent(text: &str, scope: Scope, rules: &[(&str, agentpol_core::ir::Rule)]) -> Fixture {
    let mut f = Fixture::new(text);
    let rules: Vec<_> = rules.iter().map(|(_, r)| r.clone()).collect();
    let a = f.agent("a", scope, "agent a");
    a.rules = rules;
    f
}

fn opts() -> Options {
    Options {
        cgroup_root: "unified".into(),
        ..Options::default()
    }
}

#[test]
fn ap0701_bad_cgroup_path() {
    let text = "agent a {\n  scope cgroup \"agentpol//a\"\n}\n";
    let f = one_agent(text, cgroup("agentpol//a"), &[]);
    let out = emit_nft(&f.policy, &opts());
    check("AP0701", &first(&out.diagnostics, "AP0701"), &f.sources());
    // A quote would break out of the rule's string.
    let f = one_agent(text, cgroup("agentpol/a\" accept"), &[]);
    let d = first(&emit_nft(&f.policy, &opts()).diagnostics, "AP0701");
    assert!(d.message.contains("'\"'"), "{}", d.message);
}

#[test]
fn ap0702_bad_port_range() {
    let text = "agent a {\n  net { allow connect tcp 192.0.2.1 port 0 }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "p0",
        Allow,
        Connect,
        Tcp,
        &["192.0.2.1"],
        &[(0, 0)],
        "allow connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    let out = emit_nft(&f.policy, &opts());
    check("AP0702", &first(&out.diagnostics, "AP0702"), &f.sources());
    // Fail closed: the allow is gone from the script.
    let script = String::from_utf8(out.artifacts[0].contents.clone()).unwrap();
    assert!(!script.contains("a/net/p0"), "{script}");
    // A bad deny is widened to every port instead.
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "d",
        Deny,
        Connect,
        Tcp,
        &["192.0.2.1"],
        &[(9, 1)],
        "allow connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    let script =
        String::from_utf8(emit_nft(&f.policy, &opts()).artifacts[0].contents.clone()).unwrap();
    assert!(
        script.contains("ip daddr @a_r0_v4 meta l4proto tcp counter reject"),
        "{script}"
    );
}

#[test]
fn ap0703_mapped_network() {
    let text = "agent a {\n  net { allow connect tcp \"::ffff:192.0.2.0/120\" }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "m",
        Allow,
        Connect,
        Tcp,
        &["::ffff:192.0.2.0/120"],
        &[],
        "allow connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    let out = emit_nft(&f.policy, &opts());
    check("AP0703", &first(&out.diagnostics, "AP0703"), &f.sources());
    let script = String::from_utf8(out.artifacts[0].contents.clone()).unwrap();
    assert!(script.contains("elements = { 192.0.2.0/24 }"), "{script}");
    assert!(!script.contains("ipv6_addr"), "{script}");
}

/// AP0704 is retired: exact names are load-time sets at both targets (nft
/// sets, ipset sets for iptables), so neither says a name has no resolution.
#[test]
fn ap0704_is_retired_names_are_load_time_sets_at_both_targets() {
    let text = "agent a {\n  net { allow connect tcp \"api.example.com\" port 443 }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "d",
        Allow,
        Connect,
        Tcp,
        &["api.example.com"],
        &[(443, 443)],
        "allow connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    let ipt = emit_iptables(&f.policy, &opts());
    let nft = emit_nft(&f.policy, &opts());
    for out in [&ipt, &nft] {
        assert!(
            out.diagnostics.iter().all(|d| d.code.code != "AP0704"),
            "{}: {:?}",
            out.target,
            out.diagnostics
        );
    }
    // The iptables rule matches the name's set, which the ipset file creates.
    let rules = artifact(&ipt, "agentpol.v4.rules");
    let sets = artifact(&ipt, "agentpol.ipset");
    let line = rules
        .lines()
        .find(|l| l.contains("a/net/d"))
        .expect("the rule");
    let name = line
        .split("--match-set ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .expect("a set match");
    assert!(
        sets.lines()
            .any(|l| l == format!("create {name} hash:net family inet")),
        "{sets}"
    );
    let code = FIREWALL_CODES
        .iter()
        .find(|c| c.code == "AP0704")
        .expect("registered");
    assert!(code.explanation.starts_with("No longer emitted"));
}

fn artifact(out: &agentpol_core::backend::TargetOutput, path: &str) -> String {
    out.artifacts
        .iter()
        .find(|a| a.path == path)
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
        .unwrap_or_else(|| panic!("no {path}"))
}

/// Regression: one warning per name buried the rest of the output (12 of 15
/// warnings for the OpenClaw example under iptables). The names of one rule
/// come as one warning that lists them all.
#[test]
fn ap0705_is_one_warning_per_rule_naming_every_wildcard() {
    let text = "agent a {\n  net { allow connect tcp { \"*.a.example\", \"*.b.example\", \"*.c.example\" } port 443 }\n}\n";
    let mut f = Fixture::new(text);
    let names = ["*.a.example", "*.b.example", "*.c.example"];
    let r = net(
        &f,
        "a",
        "d",
        Allow,
        Connect,
        Tcp,
        &names,
        &[(443, 443)],
        "allow connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    let diags = emit_iptables(&f.policy, &opts()).diagnostics;
    let warnings: Vec<&str> = diags
        .iter()
        .filter(|d| d.code.code == "AP0705")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        warnings,
        ["3 wildcard domains cannot be enforced by the iptables target: *.a.example, *.b.example, *.c.example"]
    );
}

#[test]
fn ap0705_wildcard_domain() {
    let text = "agent a {\n  net { allow connect tcp \"*.cdn.example\" port 443 }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "w",
        Allow,
        Connect,
        Tcp,
        &["*.cdn.example"],
        &[(443, 443)],
        "allow connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    check(
        "AP0705",
        &first(&emit_nft(&f.policy, &opts()).diagnostics, "AP0705"),
        &f.sources(),
    );
}

#[test]
fn ap0708_deny_widened_to_all() {
    let text = "agent a {\n  net { deny connect tcp \"*.evil.example\" }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "w",
        Deny,
        Connect,
        Tcp,
        &["*.evil.example"],
        &[],
        "deny connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    let d = first(&emit_nft(&f.policy, &opts()).diagnostics, "AP0708");
    assert!(d.is_error());
    check("AP0708", &d, &f.sources());
    // An exact name: a load-time set at both targets, no error (issue 11.2).
    let text = "agent a {\n  net { deny connect tcp \"evil.example\" }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "e",
        Deny,
        Connect,
        Tcp,
        &["evil.example"],
        &[],
        "deny connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    assert!(!emit_nft(&f.policy, &opts())
        .diagnostics
        .iter()
        .any(Diag::is_error));
    let ipt = emit_iptables(&f.policy, &opts());
    assert!(
        !ipt.diagnostics.iter().any(Diag::is_error),
        "{:?}",
        ipt.diagnostics
    );
    // The deny matches its set, which the built ipset file does not create.
    let rules = artifact(&ipt, "agentpol.v4.rules");
    assert!(
        rules.lines().any(|l| l.contains("--match-set agentpol_a_")
            && l.contains("a/net/e")
            && l.contains("REJECT")),
        "{rules}"
    );
    assert!(
        !artifact(&ipt, "agentpol.ipset")
            .lines()
            .any(|l| l.starts_with("create ")),
        "a deny's set was created unfilled"
    );
    // localhost names are the loopback addresses (RFC 6761): no error.
    let text = "agent a {\n  net { deny connect tcp \"*.localhost\" }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "l",
        Deny,
        Connect,
        Tcp,
        &["*.localhost"],
        &[],
        "deny connect",
    );
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = vec![r];
    assert!(emit_iptables(&f.policy, &opts())
        .diagnostics
        .iter()
        .all(|d| d.code.code != "AP0708"));
}

#[test]
fn ap0706_incoming_not_filtered() {
    let text = "agent a {\n  scope uid 1001\n  net { allow listen tcp port 8080 }\n}\n";
    let mut f = Fixture::new(text);
    let r = net(
        &f,
        "a",
        "l",
        Allow,
        Listen,
        Tcp,
        &[],
        &[(8080, 8080)],
        "allow listen",
    );
    f.agent("a", Scope::Uid { uid: 1001 }, "agent a").rules = vec![r];
    check(
        "AP0706",
        &first(&emit_nft(&f.policy, &opts()).diagnostics, "AP0706"),
        &f.sources(),
    );
    // The iptables target says so for cgroup agents too, even without listen rules.
    let f2 = one_agent(text, cgroup("agentpol/a"), &[]);
    first(&emit_iptables(&f2.policy, &opts()).diagnostics, "AP0706");
    // nft with a cgroup agent filters incoming traffic: no warning.
    assert!(emit_nft(&f2.policy, &opts()).diagnostics.is_empty());
}

#[test]
fn ap0707_bad_log_prefix() {
    let text = "agent a {\n}\n";
    let f = one_agent(text, cgroup("agentpol/a"), &[]);
    let o = Options {
        log_prefix: Some("agentpol: this prefix is longer than 29 bytes".into()),
        ..opts()
    };
    let d = first(&emit_iptables(&f.policy, &o).diagnostics, "AP0707");
    check("AP0707", &d, &f.sources());
    // nft allows 127 bytes.
    assert!(emit_nft(&f.policy, &o).diagnostics.is_empty());
    let o = Options {
        log_prefix: Some("quote\"".into()),
        ..opts()
    };
    first(&emit_nft(&f.policy, &o).diagnostics, "AP0707");
}

/// Tests may run in any order, so this checks the registry against the test
/// functions in this file rather than against what ran.
#[test]
fn every_code_has_a_test_and_an_explanation() {
    let tested: BTreeSet<&str> = [
        "AP0701", "AP0702", "AP0703", "AP0704", "AP0705", "AP0706", "AP0707", "AP0708",
    ]
    .into_iter()
    .collect();
    let registered: BTreeSet<&str> = FIREWALL_CODES.iter().map(|c| c.code).collect();
    assert_eq!(tested, registered);
    let src = include_str!("diagnostics.rs");
    for c in FIREWALL_CODES {
        assert!(c.code.starts_with("AP07"), "{} outside AP07xx", c.code);
        assert!(
            src.contains(&format!("fn {}_", c.code.to_lowercase())),
            "no test fn for {}",
            c.code
        );
        assert!(
            c.explanation.len() > 300,
            "{} has a short explanation",
            c.code
        );
        assert!(
            c.explanation.contains("fix"),
            "{} explanation says no fix",
            c.code
        );
        assert!(
            agentpol_core::diag::lookup(c.code).is_none(),
            "{} collides with a core code",
            c.code
        );
    }
}
