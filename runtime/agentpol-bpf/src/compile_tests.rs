//! Map compilation against the reference evaluator: the lookup the BPF
//! programs do ([`Maps::lookup`], same trie and table walk) must decide every
//! request as `agentpol_core::eval::evaluate` does on the lowered rules.

use super::*;
use agentpol_core::eval::evaluate;
use agentpol_core::ir::Policy;
use agentpol_core::request::{Request, Resource};
use proptest::prelude::*;

const SRC: &str = "agent a {\n  net { allow connect tcp 127.0.0.1 port 1 }\n  \
                   skill s { net { allow connect tcp 127.0.0.1 port 1 } }\n}\n";

fn base() -> Policy {
    let c = agentpol_core::compile("t.agentpol", SRC, &agentpol_core::source::NoFiles);
    c.policy.expect("the base policy compiles")
}

fn rule(
    i: usize,
    effect: Effect,
    action: Action,
    proto: Proto,
    hosts: Option<Vec<Host>>,
    ports: Option<Vec<PortRange>>,
) -> Rule {
    let b = base();
    let mut r = b.agents[0].rules[0].clone();
    r.id = RuleId(format!("a/net/r{i}"));
    r.effect = effect;
    r.action = action;
    r.matcher = Matcher::Net {
        proto,
        hosts,
        ports,
    };
    r
}

fn policy_with(agent: Vec<Rule>, skill: Option<Vec<Rule>>) -> Policy {
    let mut p = base();
    p.agents[0].rules = agent;
    match skill {
        Some(s) => p.agents[0].skills[0].rules = s,
        None => p.agents[0].skills.clear(),
    }
    p
}

/// Checks one request against the evaluator; returns a message on mismatch.
fn check(
    p: &Policy,
    maps: &Maps,
    skill: bool,
    op: Op,
    addr: IpAddr,
    port: u16,
) -> Result<(), String> {
    let req = Request {
        agent: "a".into(),
        skill: skill.then(|| "s".into()),
        resource: Resource::Net {
            action: op.action(),
            proto: op.proto(),
            addr: Some(addr),
            domain: None,
            port,
        },
    };
    let want = evaluate(p, &req).map_err(|e| e.to_string())?;
    let info = maps.lookup(op, addr, port);
    let allow = info & SEG_ALLOW != 0;
    if allow != (want.effect == Effect::Allow) {
        return Err(format!(
            "{op:?} {addr} {port}: maps say allow={allow}, evaluate {:?}",
            want.effect
        ));
    }
    let idx = info & RULE_NONE;
    if idx == RULE_NONE {
        if !want.deciding.is_empty() {
            return Err(format!(
                "{op:?} {addr} {port}: maps say default deny, evaluate {:?}",
                want.deciding
            ));
        }
    } else {
        let id = &maps.rules[idx as usize].id;
        if !want.deciding.iter().any(|m| &m.id == id) {
            return Err(format!(
                "{op:?} {addr} {port}: maps name {id:?}, evaluate {:?}",
                want.deciding
            ));
        }
    }
    Ok(())
}

fn v4(s: &str) -> Host {
    Host::Cidr(s.parse().unwrap())
}

#[test]
fn nested_cidrs_deny_wins_and_ports_split() {
    let rules = vec![
        rule(
            0,
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            Some(vec![v4("192.0.2.0/24")]),
            None,
        ),
        rule(
            1,
            Effect::Deny,
            Action::Connect,
            Proto::Any,
            Some(vec![v4("192.0.2.128/25")]),
            Some(vec![PortRange { lo: 22, hi: 22 }]),
        ),
        rule(
            2,
            Effect::Allow,
            Action::Sendto,
            Proto::Udp,
            None,
            Some(vec![PortRange { lo: 53, hi: 53 }]),
        ),
    ];
    let p = policy_with(rules.clone(), None);
    let maps = compile(&[&rules]).unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        maps.lookup(Op::ConnectTcp, ip("192.0.2.1"), 22) & SEG_ALLOW,
        SEG_ALLOW
    );
    assert_eq!(maps.lookup(Op::ConnectTcp, ip("192.0.2.200"), 22), 1);
    assert_eq!(
        maps.lookup(Op::ConnectTcp, ip("192.0.2.200"), 23),
        SEG_ALLOW
    );
    assert_eq!(maps.lookup(Op::ConnectUdp, ip("192.0.2.1"), 22), RULE_NONE);
    assert_eq!(
        maps.lookup(Op::SendtoUdp, ip("2001:db8::1"), 53),
        SEG_ALLOW | 2
    );
    // Port 0 only through rules without ports.
    assert_eq!(maps.lookup(Op::SendtoUdp, ip("2001:db8::1"), 0), RULE_NONE);
    // IPv4-mapped IPv6 is decided as IPv4.
    assert_eq!(maps.lookup(Op::ConnectTcp, ip("::ffff:192.0.2.200"), 22), 1);
    for (op, a, port) in [
        (Op::ConnectTcp, "192.0.2.1", 22),
        (Op::ConnectTcp, "192.0.2.200", 22),
        (Op::ConnectTcp, "::ffff:192.0.2.200", 22),
        (Op::SendtoUdp, "198.51.100.1", 53),
        (Op::ListenTcp, "192.0.2.1", 22),
    ] {
        check(&p, &maps, false, op, ip(a), port).unwrap();
    }
    // One trie entry per (op, CIDR), deduplicated tables.
    assert!(maps.tables.len() <= maps.v4.len() + maps.v6.len());
}

#[test]
fn wildcard_allow_is_a_loss_and_wildcard_deny_an_error() {
    let dom = |n: &str, w: bool| {
        Host::Domain(DomainPattern {
            name: n.into(),
            wildcard: w,
        })
    };
    let rules = vec![
        rule(
            0,
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            Some(vec![dom("x.example", true), dom("api.example", false)]),
            None,
        ),
        rule(
            1,
            Effect::Deny,
            Action::Connect,
            Proto::Tcp,
            Some(vec![dom("evil.example", true)]),
            None,
        ),
        rule(
            2,
            Effect::Deny,
            Action::Connect,
            Proto::Tcp,
            Some(vec![dom("gone.example", false)]),
            None,
        ),
    ];
    let src = rules[0].src;
    let mut names = Names::new();
    names.insert("api.example".into(), vec!["192.0.2.7/32".parse().unwrap()]);
    let l = lower("a", &rules, &[], src, Some(&names));
    assert_eq!(l.errors.len(), 2, "{:?}", l.errors);
    assert!(l.errors[0].message.contains("*.evil.example"));
    assert!(l.errors[1].message.contains("could not be resolved"));
    assert_eq!(l.losses.len(), 2, "{:?}", l.losses);
    assert!(l.losses[0].message.contains("not granted"));
    assert!(l.losses[1].message.contains("192.0.2.7"));
    let Matcher::Net { hosts, .. } = &l.rules[0].matcher else {
        panic!()
    };
    assert_eq!(hosts.as_deref(), Some(&[v4("192.0.2.7/32")][..]));
    // Without resolution (explain-plan): no error for the exact name.
    let l = lower("a", &rules, &[], src, None);
    assert_eq!(l.errors.len(), 1);
}

#[test]
fn ask_is_held_as_deny_with_a_loss() {
    let rules = vec![
        rule(0, Effect::Allow, Action::Connect, Proto::Tcp, None, None),
        rule(
            1,
            Effect::Ask,
            Action::Connect,
            Proto::Tcp,
            Some(vec![v4("192.0.2.0/24")]),
            None,
        ),
    ];
    let l = lower("a", &rules, &[], rules[0].src, None);
    assert_eq!(l.losses.len(), 1);
    assert!(l.losses[0].message.contains("held as deny"));
    let maps = compile(&[&l.rules]).unwrap();
    assert_eq!(
        maps.lookup(Op::ConnectTcp, "192.0.2.9".parse().unwrap(), 443),
        1
    );
    assert_ne!(
        maps.lookup(Op::ConnectTcp, "198.51.100.9".parse().unwrap(), 443) & SEG_ALLOW,
        0
    );
}

#[test]
fn resolvers_allow_dns_to_them_and_deny_it_elsewhere() {
    let rules = vec![rule(
        0,
        Effect::Allow,
        Action::Sendto,
        Proto::Udp,
        None,
        None,
    )];
    let src = rules[0].src;
    let l = lower(
        "a",
        &rules,
        &["192.0.2.53".parse().unwrap()],
        src,
        Some(&Names::new()),
    );
    let maps = compile(&[&l.rules]).unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_ne!(
        maps.lookup(Op::SendtoUdp, ip("192.0.2.53"), 53) & SEG_ALLOW,
        0
    );
    assert_eq!(
        maps.lookup(Op::SendtoUdp, ip("192.0.2.54"), 53) & SEG_ALLOW,
        0
    );
    assert_eq!(
        maps.lookup(Op::SendtoUdp, ip("2001:db8::53"), 53) & SEG_ALLOW,
        0
    );
    assert_ne!(
        maps.lookup(Op::SendtoUdp, ip("192.0.2.54"), 54) & SEG_ALLOW,
        0
    );
    // TCP DNS to the resolver is allowed by the synthetic rule.
    assert_ne!(
        maps.lookup(Op::ConnectTcp, ip("192.0.2.53"), 53) & SEG_ALLOW,
        0
    );
    let p = policy_with(l.rules.clone(), None);
    for a in [
        "192.0.2.53",
        "192.0.2.54",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8::53",
    ] {
        for port in [0, 53, 54] {
            for op in Op::ALL {
                check(&p, &maps, false, op, ip(a), port).unwrap();
            }
        }
    }
}

#[test]
fn too_many_port_ranges_under_one_prefix_is_an_error() {
    let ports: Vec<PortRange> = (0..200u16)
        .map(|i| PortRange {
            lo: 10 + 3 * i,
            hi: 10 + 3 * i,
        })
        .collect();
    let rules = vec![rule(
        0,
        Effect::Allow,
        Action::Connect,
        Proto::Tcp,
        None,
        Some(ports),
    )];
    let e = compile(&[&rules]).unwrap_err();
    assert!(e.segments > MAX_SEGS);
}

#[test]
fn ten_thousand_rules_compile_to_bounded_tables() {
    let rules: Vec<Rule> = (0..10_000u32)
        .map(|i| {
            let a = std::net::Ipv4Addr::from(0xC000_0000u32 + i * 256);
            rule(
                i as usize,
                if i % 7 == 0 {
                    Effect::Deny
                } else {
                    Effect::Allow
                },
                Action::Connect,
                Proto::Tcp,
                Some(vec![Host::Cidr(IpNet::V4(Ipv4Net::new(a, 24).unwrap()))]),
                Some(vec![PortRange { lo: 443, hi: 443 }]),
            )
        })
        .collect();
    let maps = compile(&[&rules]).unwrap();
    assert_eq!(maps.v4.len(), 10_000);
    assert!(maps.tables.len() <= 10_000 && maps.tables.iter().all(|t| t.len() <= 3));
}

/// A small address universe so random CIDRs nest and collide often.
fn arb_v4() -> impl Strategy<Value = (u32, u8)> {
    (
        0u32..16,
        prop_oneof![Just(0u8), Just(28), Just(30), Just(31), Just(32)],
    )
        .prop_map(|(host, len)| {
            let a = 0xC000_0200u32 | host; // 192.0.2.0..15
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (a & mask, len)
        })
}

fn arb_host() -> impl Strategy<Value = Host> {
    prop_oneof![
        arb_v4().prop_map(|(a, l)| Host::Cidr(IpNet::V4(Ipv4Net::new(a.into(), l).unwrap()))),
        (0u128..4, prop_oneof![Just(126u8), Just(127), Just(128)]).prop_map(|(h, l)| {
            let a = (0x2001_0db8u128 << 96) | h;
            let mask = u128::MAX << (128 - l);
            Host::Cidr(IpNet::V6(Ipv6Net::new((a & mask).into(), l).unwrap()))
        }),
        // IPv4-mapped IPv6 networks, as a hand-built IR could hold them.
        arb_v4().prop_map(|(a, l)| {
            let m = std::net::Ipv4Addr::from(a).to_ipv6_mapped();
            Host::Cidr(IpNet::V6(Ipv6Net::new(m, 96 + l).unwrap()))
        }),
    ]
}

fn arb_rule(i: usize) -> impl Strategy<Value = Rule> {
    (
        prop_oneof![Just(Effect::Allow), Just(Effect::Deny)],
        prop_oneof![
            Just(Action::Connect),
            Just(Action::Sendto),
            Just(Action::Listen)
        ],
        prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Any)],
        proptest::option::weighted(0.8, proptest::collection::vec(arb_host(), 1..3)),
        proptest::option::weighted(0.7, proptest::collection::vec((1u16..8, 0u16..4), 1..3)),
    )
        .prop_map(move |(e, a, p, h, ports)| {
            let ports = ports.map(|v| {
                v.into_iter()
                    .map(|(lo, w)| PortRange { lo, hi: lo + w })
                    .collect()
            });
            rule(i, e, a, p, h, ports)
        })
}

fn arb_rules(max: usize) -> impl Strategy<Value = Vec<Rule>> {
    (0..=max).prop_flat_map(|n| (0..n).map(arb_rule).collect::<Vec<_>>())
}

fn arb_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u32..20).prop_map(|h| IpAddr::V4((0xC000_0200u32 + h).into())),
        (0u32..20).prop_map(|h| IpAddr::V6(
            std::net::Ipv4Addr::from(0xC000_0200u32 + h).to_ipv6_mapped()
        )),
        (0u128..6).prop_map(|h| IpAddr::V6(((0x2001_0db8u128 << 96) | h).into())),
        Just(IpAddr::V4([127, 0, 0, 1].into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn maps_decide_like_the_evaluator(
        agent in arb_rules(8),
        skill in proptest::option::of(arb_rules(5)),
        reqs in proptest::collection::vec((arb_addr(), 0u16..12, 0usize..5), 40),
    ) {
        // Rule ids must be unique across layers for the index check.
        let skill = skill.map(|s| s.into_iter().map(|mut r| { r.id = RuleId(format!("a.s/{}", r.id.0)); r }).collect::<Vec<_>>());
        let p = policy_with(agent.clone(), skill.clone());
        let layers: Vec<&[Rule]> = std::iter::once(agent.as_slice()).chain(skill.as_deref()).collect();
        let maps = compile(&layers).unwrap();
        for (addr, port, op) in reqs {
            if let Err(m) = check(&p, &maps, skill.is_some(), Op::ALL[op], addr, port) {
                return Err(TestCaseError::fail(m));
            }
        }
    }
}
