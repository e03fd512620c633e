//! One rendered snapshot per diagnostic code of the runtime, and a check that
//! every registered code has one and a real explanation.

use agentpol_core::diag::{render_human, Diag};
use agentpol_core::source::SourceMap;
use agentpol_runtime::{dns, host, iptables, nft, RUNTIME_CODES};
use std::collections::BTreeSet;

fn check(code: &'static str, d: &Diag, sources: &SourceMap) {
    assert_eq!(d.code.code, code);
    assert!(!d.help.is_empty(), "{code} has no help");
    insta::assert_snapshot!(code, render_human(d, sources, false, 100));
}

#[test]
fn ap0710_cgroup2_not_found() {
    let d = host::cgroup_root_from_mountinfo("30 23 0:26 / /mnt/cg rw - cgroup2 none rw\n")
        .unwrap_err();
    check("AP0710", &d, &SourceMap::new());
}

#[test]
fn ap0711_nft_missing() {
    check(
        "AP0711",
        &nft::nft_missing("No such file or directory (os error 2)"),
        &SourceMap::new(),
    );
}

#[test]
fn ap0712_nft_too_old() {
    let d = nft::check_nft_version("nftables v0.9.8 (E.D.S.)").unwrap_err();
    check("AP0712", &d, &SourceMap::new());
}

#[test]
fn ap0713_nft_rejected() {
    let stderr = "Error: cgroupv2 path fails: No such file or directory\nsocket cgroupv2 level 2 \"unified/agentpol/a\" jump a_out\n                       ^^^^^^^^^^^^^^^^^^^^\n";
    check(
        "AP0713",
        &nft::nft_rejected("check", stderr),
        &SourceMap::new(),
    );
}

#[test]
fn ap0714_apply_verify_failed() {
    check(
        "AP0714",
        &nft::verify_failed("chain a_out_tcp missing", true),
        &SourceMap::new(),
    );
}

#[test]
fn ap0715_resolve_failed() {
    check(
        "AP0715",
        &dns::resolve_failed("api.example.com", "timed out after 2 s asking 192.0.2.53"),
        &SourceMap::new(),
    );
}

#[test]
fn ap0716_not_privileged() {
    check(
        "AP0716",
        &nft::not_privileged("nft: Operation not permitted"),
        &SourceMap::new(),
    );
}

#[test]
fn ap0717_deny_set_unfilled() {
    check(
        "AP0717",
        &dns::deny_set_unfilled(
            "metadata.google.internal",
            "assistant/net/56de62b437c6.0",
            agentpol_core::span::Span::default(),
        ),
        &SourceMap::new(),
    );
}

#[test]
fn ap0718_run_net_unholdable() {
    let loss = agentpol_runtime::landlock_plan::Loss {
        rule: Some(agentpol_core::ir::RuleId("w/net/1b2c3d4e5f60".into())),
        src: None,
        message: "deny of `*.evil.example` cannot be held by a kernel that sees only addresses"
            .into(),
    };
    check(
        "AP0718",
        &agentpol_runtime::enforcer_plan::refused_diag(&loss),
        &SourceMap::new(),
    );
}

#[test]
fn ap0714_apply_verify_failed_iptables() {
    let d = iptables::verify_failed("set agentpol_a_0123456789_4: elements differ", true);
    assert_eq!(d.code.code, "AP0714");
    assert!(d.notes.iter().any(|n| n.contains("removed again")), "{d:?}");
}

#[test]
fn ap0719_iptables_tools_missing() {
    let d = iptables::check_iptables_version("iptables-restore", "iptables-restore v1.4.21")
        .unwrap_err();
    check("AP0719", &d, &SourceMap::new());
}

#[test]
fn ap0720_iptables_rejected() {
    let stderr = "iptables-restore v1.8.9 (nf_tables): Set agentpol_a_009f72f739_4 doesn't exist.\n\nError occurred at line: 20\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n";
    check(
        "AP0720",
        &iptables::rejected(
            "iptables-restore --test",
            stderr,
            iptables::Changed::Nothing,
        ),
        &SourceMap::new(),
    );
}

/// Tests may run in any order, so this checks the registry against the test
/// functions in this file rather than against what ran.
#[test]
fn every_code_has_a_test_and_an_explanation() {
    let tested: BTreeSet<&str> = [
        "AP0710", "AP0711", "AP0712", "AP0713", "AP0714", "AP0715", "AP0716", "AP0717", "AP0718",
        "AP0719", "AP0720",
    ]
    .into_iter()
    .collect();
    let registered: BTreeSet<&str> = RUNTIME_CODES.iter().map(|c| c.code).collect();
    assert_eq!(tested, registered);
    let src = include_str!("diagnostics.rs");
    for c in RUNTIME_CODES {
        assert!(
            ("AP0710"..="AP0729").contains(&c.code),
            "{} outside AP0710-AP0729",
            c.code
        );
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
