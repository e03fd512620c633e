//! Emitted files and loss reports for the sample policy, as snapshots, plus
//! properties of the lowering that need no kernel.

mod common;

use agentpol_core::backend::Approximation;
use agentpol_core::ir::{Action, Effect, Proto};
use agentpol_firewall::lower::{lower, Layer};
use agentpol_firewall::validate::{expected, probes, Ct, Hook, Packet, SocketCtx, Verdict};
use agentpol_firewall::{emit_iptables, emit_nft};
use agentpol_testkit::net_fixture::decide;

fn artifact(out: &agentpol_core::backend::TargetOutput, path: &str) -> String {
    let a = out
        .artifacts
        .iter()
        .find(|a| a.path == path)
        .expect("artifact present");
    String::from_utf8(a.contents.clone()).expect("utf-8")
}

#[test]
fn nft_script() {
    let f = common::sample();
    let out = emit_nft(&f.policy, &common::options());
    assert_eq!(out.target, "nft");
    insta::assert_snapshot!("nft_script", artifact(&out, "agentpol.nft"));
    insta::assert_snapshot!("nft_remove", artifact(&out, "remove.nft"));
}

#[test]
fn iptables_files() {
    let f = common::sample();
    let out = emit_iptables(&f.policy, &common::options());
    assert_eq!(out.target, "iptables");
    // iptables allows a 29-byte log prefix: the sample's fits.
    assert!(out.diagnostics.iter().all(|d| d.code.code != "AP0707"));
    insta::assert_snapshot!("iptables_v4", artifact(&out, "agentpol.v4.rules"));
    insta::assert_snapshot!("iptables_v6", artifact(&out, "agentpol.v6.rules"));
    insta::assert_snapshot!("iptables_remove", artifact(&out, "remove.v4.rules"));
    insta::assert_snapshot!("iptables_ipset", artifact(&out, "agentpol.ipset"));
    insta::assert_snapshot!("iptables_remove_ipset", artifact(&out, "remove.ipset"));
}

#[test]
fn loss_reports() {
    let f = common::sample();
    let nft = emit_nft(&f.policy, &common::options());
    insta::assert_json_snapshot!("nft_loss", nft.loss);
    let ipt = emit_iptables(&f.policy, &common::options());
    // iptables loses everything nft loses, plus listen on cgroup agents; a
    // name nft keeps as a load-time set is an allow narrowed to nothing there.
    for e in &nft.loss {
        assert!(
            ipt.loss.iter().any(|i| i.rule == e.rule
                && (i.approximation == e.approximation
                    || (e.reason.contains("load-time set")
                        && i.approximation == Approximation::AllowNarrowed))),
            "iptables report lacks {e:?}"
        );
    }
    assert!(ipt
        .loss
        .iter()
        .any(|e| e.rule.0 == "openclaw/net/no-udp-listen"
            && e.approximation == Approximation::EnforcedElsewhere));
    let codes: Vec<&str> = nft.diagnostics.iter().map(|d| d.code.code).collect();
    assert_eq!(codes, ["AP0703", "AP0708", "AP0705", "AP0706"], "{codes:?}");
}

#[test]
fn long_sets_wrap_and_parse_back() {
    let mut f = agentpol_testkit::net_fixture::Fixture::new("agent a {}");
    let hosts: Vec<String> = (0..20).map(|i| format!("192.0.2.{}", i * 2)).collect();
    let refs: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let r = agentpol_testkit::net_fixture::net(
        &f,
        "a",
        "many",
        Effect::Allow,
        Action::Connect,
        Proto::Tcp,
        &refs,
        &[],
        "agent a",
    );
    f.agent(
        "a",
        agentpol_testkit::net_fixture::cgroup("agentpol/a"),
        "agent a",
    )
    .rules = vec![r];
    let script = artifact(&emit_nft(&f.policy, &common::options()), "agentpol.nft");
    assert!(script.contains(",\n\t\t\t     192.0.2.16"), "{script}");
    let layout = agentpol_firewall::validate::Layout::of_script(&script).unwrap();
    assert_eq!(
        layout.sets.get("a_r0_v4").map(Vec::len),
        Some(20),
        "{layout:?}"
    );
    assert_eq!(layout.chains.get("a_out_tcp").map(Vec::len), Some(2));
}

#[test]
fn every_loss_entry_names_a_real_rule_and_target() {
    let f = common::sample();
    for out in [
        emit_nft(&f.policy, &common::options()),
        emit_iptables(&f.policy, &common::options()),
    ] {
        for e in &out.loss {
            assert_eq!(e.target, out.target);
            let known = f.policy.all_rules().any(|(_, r)| r.id == e.rule)
                || e.rule.0.ends_with("/net/default-deny");
            assert!(known, "loss entry for unknown rule {}", e.rule);
            assert_eq!(
                e.enforced_by.is_some(),
                e.approximation == Approximation::EnforcedElsewhere,
                "{e:?}"
            );
        }
    }
}

fn pkt(hook: Hook, proto: Proto, addr: &str, port: u16, cgroup: &str, uid: u32) -> Packet {
    Packet {
        hook,
        proto,
        daddr: addr.parse().unwrap(),
        dport: port,
        ct: Ct::New,
        socket: SocketCtx {
            cgroup: Some(cgroup.into()),
            uid,
        },
    }
}

/// Hand-picked packets and what the packet model says about them.
#[test]
fn packet_model_cases() {
    let f = common::sample();
    let l = lower(&f.policy, &common::options(), Layer::Nft);
    let oc = "agentpol/openclaw";
    let d = |p: &Packet| expected(&l, p, &decide);
    use Hook::*;
    use Proto::*;
    let cases: &[(Packet, Verdict, &str)] = &[
        (
            pkt(Output, Tcp, "140.82.112.3", 443, oc, 0),
            Verdict::Accept,
            "resolved domain and CIDR",
        ),
        (
            pkt(Output, Tcp, "140.82.127.255", 443, oc, 0),
            Verdict::Accept,
            "last address of /20",
        ),
        (
            pkt(Output, Tcp, "140.82.128.0", 443, oc, 0),
            Verdict::Deny,
            "one past the /20",
        ),
        (
            pkt(Output, Tcp, "2001:db8:1::3", 443, oc, 0),
            Verdict::Accept,
            "AAAA answer",
        ),
        (
            pkt(Output, Tcp, "192.0.2.127", 8085, oc, 0),
            Verdict::Accept,
            "merged port ranges",
        ),
        (
            pkt(Output, Tcp, "192.0.2.128", 8085, oc, 0),
            Verdict::Deny,
            "deny wins",
        ),
        (
            pkt(Output, Udp, "192.0.2.53", 53, oc, 0),
            Verdict::Accept,
            "DNS to the resolver",
        ),
        (
            pkt(Output, Udp, "192.0.2.54", 53, oc, 0),
            Verdict::Deny,
            "DNS elsewhere: guard",
        ),
        (
            pkt(Output, Tcp, "192.0.2.54", 53, oc, 0),
            Verdict::Deny,
            "TCP DNS elsewhere: guard",
        ),
        (
            pkt(Output, Udp, "198.51.100.1", 5000, oc, 0),
            Verdict::Deny,
            "connect-only UDP",
        ),
        (
            pkt(Output, Tcp, "198.51.100.7", 22, oc, 0),
            Verdict::Accept,
            "mapped network as IPv4",
        ),
        (
            pkt(Output, Tcp, "198.51.100.7", 22, &format!("{oc}/sub"), 0),
            Verdict::Accept,
            "child cgroup",
        ),
        (
            pkt(Output, Tcp, "198.51.100.7", 22, "agentpol/openclaw2", 0),
            Verdict::Accept,
            "not the agent (prefix of name)",
        ),
        (
            pkt(Output, Tcp, "198.51.100.8", 22, "agentpol/openclaw2", 0),
            Verdict::Accept,
            "outside: untouched",
        ),
        (
            pkt(Output, Tcp, "198.51.100.8", 22, oc, 0),
            Verdict::Deny,
            "default deny",
        ),
        (
            pkt(Input, Tcp, "127.0.0.1", 8080, oc, 0),
            Verdict::Accept,
            "listen allowed",
        ),
        (
            pkt(Input, Tcp, "127.0.0.1", 8081, oc, 0),
            Verdict::Deny,
            "listen default deny",
        ),
        (
            pkt(Input, Udp, "127.0.0.1", 8080, oc, 0),
            Verdict::Deny,
            "udp listen denied",
        ),
        (
            pkt(Output, Tcp, "203.0.113.1", 443, "x", 1001),
            Verdict::Accept,
            "batch https",
        ),
        (
            pkt(Output, Tcp, "203.0.113.1", 25, "x", 1001),
            Verdict::Deny,
            "wildcard deny widened",
        ),
        (
            pkt(Output, Tcp, "192.0.2.10", 443, "x", 1001),
            Verdict::Deny,
            "deny sendto tcp widened to connect",
        ),
        (
            pkt(Output, Tcp, "192.0.2.9", 80, "x", 1001),
            Verdict::Deny,
            "allow sendto tcp grants nothing",
        ),
        (
            pkt(Input, Tcp, "192.0.2.1", 22, "x", 1001),
            Verdict::Accept,
            "uid agent: incoming not filtered",
        ),
    ];
    for (p, want, what) in cases {
        assert_eq!(d(p), *want, "{what}: {p:?}");
    }
    let mut established = pkt(Output, Tcp, "198.51.100.8", 22, oc, 0);
    established.ct = Ct::Established;
    assert_eq!(d(&established), Verdict::Accept);
}

/// Soundness of the lowering: on every probe, whatever the lowered policy lets
/// through, the source policy allows too, unless a loss entry says the rule is
/// enforced elsewhere (resolved domains) or incoming traffic is not filtered.
#[test]
fn lowering_is_sound_on_probes() {
    let f = common::sample();
    for layer in [Layer::Nft, Layer::Iptables] {
        let l = lower(&f.policy, &common::options(), layer);
        let ps = probes(&l);
        assert!(ps.len() > 1000, "only {} probes", ps.len());
        let mut checked = 0;
        for p in &ps {
            if expected(&l, p, &decide) == Verdict::Deny {
                continue;
            }
            for (agent, info) in l.policy.agents.iter().zip(&l.agents) {
                if !agentpol_firewall::validate::in_scope(&agent.scope, p)
                    || (p.hook == Hook::Input && !info.filter_incoming)
                {
                    continue;
                }
                if p.ct != Ct::New {
                    continue;
                }
                for r in agentpol_firewall::validate::requests(&agent.name, p) {
                    checked += 1;
                    if decide(&f.policy, &r) == Effect::Allow {
                        continue;
                    }
                    // Allowed only by a resolved domain: explained by its loss entry.
                    let explained = l.loss.iter().any(|e| {
                        e.approximation == Approximation::EnforcedElsewhere
                            && e.reason.contains("resolved when applied")
                    }) && r.resource_is_resolved_address();
                    assert!(
                        explained,
                        "{layer:?}: lowered allows {r:?} which the source denies"
                    );
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }
}

trait ResolvedAddr {
    fn resource_is_resolved_address(&self) -> bool;
}

impl ResolvedAddr for agentpol_core::request::Request {
    fn resource_is_resolved_address(&self) -> bool {
        let opts = common::options();
        match &self.resource {
            agentpol_core::request::Resource::Net { addr: Some(a), .. } => {
                opts.resolutions.values().any(|r| r.addrs.contains(a))
            }
            _ => false,
        }
    }
}
