//! The sample policy the emitter tests share, built by hand (with a source
//! text the spans point into).
#![allow(dead_code)]

use agentpol_core::ir::{Action::*, Effect::*, Proto::*, Scope, Skill};
use agentpol_firewall::{Options, Resolution};
use agentpol_testkit::net_fixture::{cgroup, net, Fixture};

pub const SAMPLE: &str = r#"agent openclaw {
  scope cgroup "agentpol/openclaw"
  resolvers { 192.0.2.53 }
  net {
    allow connect tcp { "api.github.com", 140.82.112.0/20 } port 443
    allow connect, sendto udp 192.0.2.53 port 53
    deny connect any 192.0.2.128/25
    allow connect tcp { 192.0.2.0/24, 192.0.2.0/25, "2001:db8::/48" } port { 80, 8000..8080, 8080..8090 }
    allow connect udp 198.51.100.0/24 port 5000..5010
    allow connect tcp "::ffff:198.51.100.7" port 22
    allow connect any port 53
    allow listen tcp 127.0.0.1 port 8080
    deny listen udp
  }
}
agent batch {
  scope uid 1001
  net {
    allow connect tcp port 443
    allow sendto tcp 192.0.2.9
    deny sendto tcp 192.0.2.10
    deny connect tcp "*.evil.example" port 25
    allow connect tcp "*.good.example" port 443
    allow connect tcp "unresolved.example" port 443
    deny listen tcp port 22
  }
  skill fetch { net { deny connect tcp port 443 } }
}
"#;

pub fn sample() -> Fixture {
    let mut f = Fixture::new(SAMPLE);
    let o = "openclaw";
    let rules = vec![
        net(
            &f,
            o,
            "gh",
            Allow,
            Connect,
            Tcp,
            &["api.github.com", "140.82.112.0/20"],
            &[(443, 443)],
            "allow connect tcp { \"api",
        ),
        net(
            &f,
            o,
            "dns.1",
            Allow,
            Connect,
            Udp,
            &["192.0.2.53"],
            &[(53, 53)],
            "allow connect, sendto udp",
        ),
        net(
            &f,
            o,
            "dns.2",
            Allow,
            Sendto,
            Udp,
            &["192.0.2.53"],
            &[(53, 53)],
            "allow connect, sendto udp",
        ),
        net(
            &f,
            o,
            "deny-hi",
            Deny,
            Connect,
            Any,
            &["192.0.2.128/25"],
            &[],
            "deny connect any 192.0.2.128/25",
        ),
        net(
            &f,
            o,
            "web",
            Allow,
            Connect,
            Tcp,
            &["192.0.2.0/24", "192.0.2.0/25", "2001:db8::/48"],
            &[(80, 80), (8000, 8080), (8080, 8090)],
            "allow connect tcp { 192.0.2.0/24",
        ),
        net(
            &f,
            o,
            "udp-connect-only",
            Allow,
            Connect,
            Udp,
            &["198.51.100.0/24"],
            &[(5000, 5010)],
            "allow connect udp 198.51.100.0/24",
        ),
        net(
            &f,
            o,
            "mapped",
            Allow,
            Connect,
            Tcp,
            &["::ffff:198.51.100.7/128"],
            &[(22, 22)],
            "allow connect tcp \"::ffff",
        ),
        net(
            &f,
            o,
            "any-dns",
            Allow,
            Connect,
            Any,
            &[],
            &[(53, 53)],
            "allow connect any port 53",
        ),
        net(
            &f,
            o,
            "listen",
            Allow,
            Listen,
            Tcp,
            &["127.0.0.1"],
            &[(8080, 8080)],
            "allow listen tcp 127.0.0.1",
        ),
        net(
            &f,
            o,
            "no-udp-listen",
            Deny,
            Listen,
            Udp,
            &[],
            &[],
            "deny listen udp",
        ),
    ];
    let b = "batch";
    let brules = vec![
        net(
            &f,
            b,
            "https",
            Allow,
            Connect,
            Tcp,
            &[],
            &[(443, 443)],
            "allow connect tcp port 443",
        ),
        net(
            &f,
            b,
            "tfo",
            Allow,
            Sendto,
            Tcp,
            &["192.0.2.9"],
            &[],
            "allow sendto tcp 192.0.2.9",
        ),
        net(
            &f,
            b,
            "no-tfo",
            Deny,
            Sendto,
            Tcp,
            &["192.0.2.10"],
            &[],
            "deny sendto tcp 192.0.2.10",
        ),
        net(
            &f,
            b,
            "evil",
            Deny,
            Connect,
            Tcp,
            &["*.evil.example"],
            &[(25, 25)],
            "deny connect tcp \"*.evil",
        ),
        net(
            &f,
            b,
            "good",
            Allow,
            Connect,
            Tcp,
            &["*.good.example"],
            &[(443, 443)],
            "allow connect tcp \"*.good",
        ),
        net(
            &f,
            b,
            "unresolved",
            Allow,
            Connect,
            Tcp,
            &["unresolved.example"],
            &[(443, 443)],
            "allow connect tcp \"unresolved",
        ),
        net(
            &f,
            b,
            "no-ssh",
            Deny,
            Listen,
            Tcp,
            &[],
            &[(22, 22)],
            "deny listen tcp port 22",
        ),
    ];
    let skill_rule = net(
        &f,
        b,
        "fetch-no-https",
        Deny,
        Connect,
        Tcp,
        &[],
        &[(443, 443)],
        "skill fetch",
    );
    let skill_src = f.at("skill fetch");
    let a = f.agent(o, cgroup("agentpol/openclaw"), "agent openclaw");
    a.resolvers = vec!["192.0.2.53".parse().unwrap()];
    a.rules = rules;
    let a = f.agent(b, Scope::Uid { uid: 1001 }, "agent batch");
    a.rules = brules;
    a.skills.push(Skill {
        name: "fetch".into(),
        rules: vec![skill_rule],
        src: skill_src,
    });
    f
}

pub fn options() -> Options {
    let mut o = Options {
        cgroup_root: "unified".into(),
        log_prefix: Some("agentpol drop: ".into()),
        ..Options::default()
    };
    o.resolutions.insert(
        "api.github.com".into(),
        Resolution {
            addrs: vec![
                "140.82.112.3".parse().unwrap(),
                "140.82.112.3".parse().unwrap(),
                "2001:db8:1::3".parse().unwrap(),
            ],
            resolver: "192.0.2.53".into(),
            ttl_secs: 60,
            at: Some("2026-01-01T00:00:00Z".into()),
        },
    );
    o
}
