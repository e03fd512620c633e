//! Property tests: on small random policies, the verifier's findings and the
//! semantic diff equal what brute-force enumeration of a finite request
//! universe through the reference evaluator gives.
//!
//! Each universe is complete for the rule shapes generated, so brute force
//! is the ground truth:
//! * fs: globs have a rigid prefix and suffix of at most one segment around
//!   an optional `**`, or are rigid with at most two segments. A path's
//!   matches then depend only on its first and last segment and on its length
//!   up to 3, so paths of up to 3 segments (middle segment fixed) cover every
//!   case. Segments are every string over {a, b, c, d} of length 1 to 3,
//!   deduplicated by which segment patterns they match.
//! * net: addresses on both sides of every CIDR boundary, every domain the
//!   patterns distinguish, ports on both sides of every range boundary.
//! * tool: string values that separate every literal and `like` pattern, ints
//!   on both sides of every constant, every param value that matters.
#![allow(missing_docs)]

use agentpol_core::eval::evaluate;
use agentpol_core::eval::matching::glob_matches;
use agentpol_core::ir::{
    Action, ArgType, Atom, CmpOp, DomainPattern, Effect, Host, Matcher, Operand, ParamType, Policy,
    PortRange, Proto, Rule, Scalar, SetOperand, Test, Value,
};
use agentpol_core::request::{Request, Resource};
use agentpol_testkit::verify_build::*;
use agentpol_verify::{diff, verify, Direction, FindingKind, Options};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

// ---------------------------------------------------------------- generators

const LITS: [&str; 3] = ["a", "b", "c"];
const WILDS: [&str; 6] = ["*", "a*", "*b", "?", "[ab]", "*a*"];

fn seg_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(LITS.to_vec()).prop_map(str::to_string),
        prop::sample::select(WILDS.to_vec()).prop_map(str::to_string),
    ]
}

/// `/P`, `/P/Q`, `/**`, `/P/**`, `/**/S`, `/P/**/S`.
fn glob_text() -> impl Strategy<Value = String> {
    (0usize..6, seg_token(), seg_token()).prop_map(|(shape, p, q)| match shape {
        0 => format!("/{p}"),
        1 => format!("/{p}/{q}"),
        2 => "/**".to_string(),
        3 => format!("/{p}/**"),
        4 => format!("/**/{q}"),
        _ => format!("/{p}/**/{q}"),
    })
}

fn effect(with_ask: bool) -> impl Strategy<Value = Effect> {
    if with_ask {
        prop::sample::select(vec![
            Effect::Allow,
            Effect::Allow,
            Effect::Ask,
            Effect::Deny,
        ])
        .boxed()
    } else {
        prop::sample::select(vec![Effect::Allow, Effect::Allow, Effect::Deny]).boxed()
    }
}

fn fs_matcher() -> impl Strategy<Value = Matcher> {
    prop::collection::vec(glob_text(), 1..3).prop_map(|gs| {
        let refs: Vec<&str> = gs.iter().map(String::as_str).collect();
        fs(&refs)
    })
}

const NETS: [&str; 6] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.3/32",
    "0.0.0.0/0",
    "2001:db8::/32",
    "::/0",
];
const DOMAINS: [(&str, bool); 5] = [
    ("a.com", false),
    ("a.com", true),
    ("x.a.com", false),
    ("x.a.com", true),
    ("b.com", false),
];
const PORTS: [(u16, u16); 5] = [(80, 80), (1, 1024), (443, 443), (1000, 2000), (8000, 8080)];

fn net_matcher() -> impl Strategy<Value = Matcher> {
    let host = prop_oneof![
        prop::sample::select(NETS.to_vec())
            .prop_map(|n| Host::Cidr(n.parse().unwrap_or_else(|_| unreachable!()))),
        prop::sample::select(DOMAINS.to_vec()).prop_map(|(n, w)| Host::Domain(DomainPattern {
            name: n.into(),
            wildcard: w
        })),
    ];
    (
        prop::sample::select(vec![Proto::Tcp, Proto::Udp, Proto::Any]),
        prop::option::weighted(0.7, prop::collection::vec(host, 1..3)),
        prop::option::weighted(
            0.7,
            prop::collection::vec(prop::sample::select(PORTS.to_vec()), 1..3),
        ),
    )
        .prop_map(|(proto, hosts, ports)| Matcher::Net {
            proto,
            hosts,
            ports: ports.map(|v| v.into_iter().map(|(lo, hi)| PortRange { lo, hi }).collect()),
        })
}

fn op(arg: &str) -> Operand {
    Operand {
        arg: arg.into(),
        field: None,
    }
}

const STR_LITS: [&str; 2] = ["a", "b"];
const LIKES: [&str; 3] = ["a*", "*b", "*"];
const INTS: [i64; 3] = [0, 5, 10];

fn tool_atom() -> impl Strategy<Value = Atom> {
    let test = prop_oneof![
        prop::sample::select(STR_LITS.to_vec()).prop_map(|v| Test::Eq {
            lhs: op("s"),
            rhs: Scalar::Lit(Value::Str(v.into()))
        }),
        Just(Test::In {
            lhs: op("s"),
            set: SetOperand::Lit([Value::Str("a".into()), Value::Str("ab".into())].into())
        }),
        prop::sample::select(LIKES.to_vec()).prop_map(|p| Test::Like {
            lhs: op("s"),
            pattern: like(p)
        }),
        Just(Test::In {
            lhs: op("s"),
            set: SetOperand::Param("S".into())
        }),
        (
            prop::sample::select(vec![CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]),
            prop::sample::select(INTS.to_vec())
        )
            .prop_map(|(o, v)| Test::Cmp {
                lhs: op("n"),
                op: o,
                rhs: Scalar::Lit(Value::Int(v))
            }),
        prop::sample::select(INTS.to_vec()).prop_map(|v| Test::Eq {
            lhs: op("n"),
            rhs: Scalar::Lit(Value::Int(v))
        }),
        Just(Test::Cmp {
            lhs: op("n"),
            op: CmpOp::Lt,
            rhs: Scalar::Param("p".into())
        }),
        any::<bool>().prop_map(|b| Test::Eq {
            lhs: op("f"),
            rhs: Scalar::Lit(Value::Bool(b))
        }),
        Just(Test::Tainted { arg: "s".into() }),
        Just(Test::ContainsSecret {
            secret: "k".into(),
            var: "K".into()
        }),
    ];
    (test, prop::bool::weighted(0.25)).prop_map(|(test, negated)| Atom { negated, test })
}

fn tool_matcher() -> impl Strategy<Value = Matcher> {
    prop::collection::vec(tool_atom(), 0..3).prop_map(|conditions| Matcher::Tool {
        tool: Some("t".into()),
        conditions,
    })
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Fs,
    Net,
    Tool,
}

fn rules_of(
    kind: Kind,
    prefix: &'static str,
    n: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<Rule>> {
    let m: BoxedStrategy<Matcher> = match kind {
        Kind::Fs => fs_matcher().boxed(),
        Kind::Net => net_matcher().boxed(),
        Kind::Tool => tool_matcher().boxed(),
    };
    let action = match kind {
        Kind::Fs => Action::Read,
        Kind::Net => Action::Connect,
        Kind::Tool => Action::Call,
    };
    prop::collection::vec((effect(matches!(kind, Kind::Tool)), m), n)
        .prop_map(move |v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (e, m))| rule(&format!("{prefix}/{i}"), e, action, m, i as u32 + 2))
                .collect()
        })
        .boxed()
}

fn make_policy(kind: Kind, agent_rules: Vec<Rule>, skill_rules: Vec<Rule>) -> Policy {
    policy(
        vec![agent("a", agent_rules, vec![skill("s", skill_rules)])],
        vec![tool(
            "t",
            &[
                ("s", ArgType::String),
                ("n", ArgType::Int),
                ("f", ArgType::Bool),
            ],
        )],
        match kind {
            Kind::Tool => vec![param("p", ParamType::Int), param("S", ParamType::SetString)],
            _ => Vec::new(),
        },
    )
}

fn policy_strategy(kind: Kind) -> impl Strategy<Value = Policy> {
    (rules_of(kind, "a", 1..6), rules_of(kind, "a.s", 0..4))
        .prop_map(move |(a, s)| make_policy(kind, a, s))
}

// ---------------------------------------------------------------- universes

fn segment_reps() -> Vec<String> {
    let alphabet = ['a', 'b', 'c', 'd'];
    let mut strings: Vec<String> = Vec::new();
    for len in 1..=3u32 {
        for k in 0..4usize.pow(len) {
            let mut s = String::new();
            let mut x = k;
            for _ in 0..len {
                s.push(alphabet[x % 4]);
                x /= 4;
            }
            strings.push(s);
        }
    }
    let tokens: Vec<agentpol_core::ir::Glob> = LITS
        .iter()
        .chain(WILDS.iter())
        .map(|t| glob(&format!("/{t}")))
        .collect();
    let mut seen = BTreeSet::new();
    let mut reps = Vec::new();
    for s in strings {
        let v: Vec<bool> = tokens
            .iter()
            .map(|g| glob_matches(g, &format!("/{s}")))
            .collect();
        if seen.insert(v) {
            reps.push(s);
        }
    }
    reps
}

fn paths() -> Vec<String> {
    let reps = segment_reps();
    let mut out = vec!["/".to_string()];
    for a in &reps {
        out.push(format!("/{a}"));
        for b in &reps {
            out.push(format!("/{a}/{b}"));
            out.push(format!("/{a}/d/{b}"));
        }
    }
    out
}

fn net_universe() -> Vec<Resource> {
    let mut addrs: Vec<Option<IpAddr>> = vec![None];
    for n in NETS {
        let net: ipnet::IpNet = n.parse().unwrap_or_else(|_| unreachable!());
        for a in [net.network(), net.broadcast()] {
            addrs.push(Some(a));
            match a {
                IpAddr::V4(v) => {
                    let x = u32::from(v);
                    addrs.push(Some(IpAddr::V4(x.wrapping_sub(1).into())));
                    addrs.push(Some(IpAddr::V4(x.wrapping_add(1).into())));
                }
                IpAddr::V6(v) => {
                    let x = u128::from(v);
                    addrs.push(Some(IpAddr::V6(x.wrapping_sub(1).into())));
                    addrs.push(Some(IpAddr::V6(x.wrapping_add(1).into())));
                }
            }
        }
    }
    addrs.sort();
    addrs.dedup();
    let domains: Vec<Option<&str>> = vec![
        None,
        Some("a.com"),
        Some("x.a.com"),
        Some("y.x.a.com"),
        Some("z.a.com"),
        Some("b.com"),
        Some("c.com"),
    ];
    let mut ports: BTreeSet<u16> = [0, 1, 65535].into();
    for (lo, hi) in PORTS {
        for p in [lo.saturating_sub(1), lo, hi, hi.saturating_add(1)] {
            ports.insert(p);
        }
    }
    let mut out = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp] {
        for a in &addrs {
            for d in &domains {
                for p in &ports {
                    out.push(Resource::Net {
                        action: Action::Connect,
                        proto,
                        addr: *a,
                        domain: d.map(str::to_string),
                        port: *p,
                    });
                }
            }
        }
    }
    out
}

fn tool_universe() -> Vec<Resource> {
    // Every combination of the literals {a, b, ab} and the patterns {a*, *b, *}
    // that a string can realise, plus strings matching none.
    let strings = ["", "a", "b", "ab", "ba", "c", "aa", "bb", "aab"];
    let ints = [-1i64, 0, 4, 5, 6, 10, 11];

    let params_p = [-1i64, 0, 5, 6, 10, 12];
    // Membership patterns of the six strings that matter: none, some, all.
    let sets: [&[&str]; 3] = [&[], &["a", "ab"], &["a", "b", "ab", "ba", "c", ""]];
    let mut out = Vec::new();
    for s in strings {
        for n in ints {
            for f in [false, true] {
                for taint in [false, true] {
                    for p in params_p {
                        for set in sets {
                            // `K` absent (never contained) or equal to `s` (contained
                            // exactly when `s` is non-empty): the only two cases.
                            for secret in [None, Some(s)] {
                                let mut args = BTreeMap::new();
                                args.insert("s".to_string(), serde_json::json!(s));
                                args.insert("n".to_string(), serde_json::json!(n));
                                args.insert("f".to_string(), serde_json::json!(f));
                                let mut params = BTreeMap::new();
                                params.insert("p".to_string(), serde_json::json!(p));
                                params.insert("S".to_string(), serde_json::json!(set));
                                out.push(Resource::Tool {
                                    tool: "t".into(),
                                    args,
                                    params,
                                    tainted: if taint { vec!["s".into()] } else { vec![] },
                                    secrets: secret
                                        .map(|v| [("K".to_string(), v.to_string())].into())
                                        .unwrap_or_default(),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn universe(kind: Kind) -> Vec<Resource> {
    match kind {
        Kind::Fs => paths()
            .into_iter()
            .map(|path| Resource::Fs {
                action: Action::Read,
                path,
            })
            .collect(),
        Kind::Net => net_universe(),
        Kind::Tool => tool_universe(),
    }
}

// ---------------------------------------------------------------- brute force

/// For one principal: per request, the ids of its own matching rules, its
/// own side's decision, and the agent's decision for the same resource.
struct Table {
    rows: Vec<Row>,
}

struct Row {
    own: BTreeSet<String>,
    own_dec: Effect,
    combined: Effect,
    agent_dec: Effect,
    /// The loosest effect among the agent's matching rules (None: none match).
    agent_min: Option<Effect>,
}

fn table(p: &Policy, skill: Option<&str>, universe: &[Resource]) -> Table {
    let owner = match skill {
        Some(s) => format!("a.{s}"),
        None => "a".to_string(),
    };
    let rows = universe
        .iter()
        .map(|res| {
            let req = Request {
                agent: "a".into(),
                skill: skill.map(str::to_string),
                resource: res.clone(),
            };
            let d = evaluate(p, &req).unwrap_or_else(|e| panic!("universe request rejected: {e}"));
            let own: BTreeSet<String> = d
                .matched
                .iter()
                .filter(|m| m.owner == owner)
                .map(|m| m.id.to_string())
                .collect();
            let own_dec = d
                .matched
                .iter()
                .filter(|m| m.owner == owner)
                .map(|m| m.effect)
                .max()
                .unwrap_or(Effect::Deny);
            let agent_req = Request {
                skill: None,
                ..req.clone()
            };
            let ad = evaluate(p, &agent_req)
                .unwrap_or_else(|e| panic!("universe request rejected: {e}"));
            Row {
                own,
                own_dec,
                combined: d.effect,
                agent_dec: ad.effect,
                agent_min: ad.matched.iter().map(|m| m.effect).min(),
            }
        })
        .collect();
    Table { rows }
}

type Key = (FindingKind, String, Vec<String>);

fn brute_findings(rules: &[Rule], t: &Table, is_skill: bool) -> BTreeSet<Key> {
    let mut out = BTreeSet::new();
    let region = |id: &str| -> Vec<usize> {
        t.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.own.contains(id))
            .map(|(i, _)| i)
            .collect()
    };
    for (i, r) in rules.iter().enumerate() {
        let id = r.id.to_string();
        let reg = region(&id);
        if reg.is_empty() {
            out.insert((FindingKind::Vacuous, id, vec![]));
            continue;
        }
        let higher: Vec<&Rule> = rules.iter().filter(|x| x.effect > r.effect).collect();
        let covered = |set: &[&Rule]| {
            reg.iter().all(|&k| {
                set.iter().any(|h| {
                    t.rows
                        .get(k)
                        .is_some_and(|row| row.own.contains(&h.id.to_string()))
                })
            })
        };
        if r.effect < Effect::Deny && !higher.is_empty() && covered(&higher) {
            let mut keep: Vec<&Rule> = higher.clone();
            let mut k = 0;
            while k < keep.len() {
                let mut without = keep.clone();
                without.remove(k);
                if covered(&without) {
                    keep = without;
                } else {
                    k += 1;
                }
            }
            let mut ids: Vec<String> = keep.iter().map(|x| x.id.to_string()).collect();
            ids.sort();
            out.insert((FindingKind::Overridden, id, ids));
            continue;
        }
        if r.effect < Effect::Deny {
            for h in &higher {
                if reg.iter().any(|&k| {
                    t.rows
                        .get(k)
                        .is_some_and(|row| row.own.contains(&h.id.to_string()))
                }) {
                    out.insert((
                        FindingKind::PartialOverlap,
                        id.clone(),
                        vec![h.id.to_string()],
                    ));
                }
            }
        }
        for (j, s) in rules.iter().enumerate() {
            if j == i || s.effect != r.effect {
                continue;
            }
            let sid = s.id.to_string();
            let inside = reg
                .iter()
                .all(|&k| t.rows.get(k).is_some_and(|row| row.own.contains(&sid)));
            if !inside {
                continue;
            }
            let sreg = region(&sid);
            let equal = sreg.iter().all(|k| reg.contains(k));
            if equal && j > i {
                continue;
            }
            out.insert((FindingKind::Redundant, id.clone(), vec![sid]));
            break;
        }
        if is_skill && r.effect < Effect::Deny {
            let esc = reg.iter().any(|&k| {
                t.rows.get(k).is_some_and(|row| {
                    row.own_dec == r.effect
                        && row.agent_dec > r.effect
                        && row.combined > r.effect
                        && row.agent_min.is_none_or(|m| m > r.effect)
                })
            });
            if esc {
                out.insert((FindingKind::SkillEscalation, id.clone(), vec![]));
            }
        }
    }
    out
}

fn verifier_findings(p: &Policy, opts: &Options) -> (BTreeSet<Key>, BTreeSet<Key>) {
    let report = verify(p, opts);
    let (mut agent, mut skill) = (BTreeSet::new(), BTreeSet::new());
    for f in &report.findings {
        assert!(
            !matches!(f.kind, FindingKind::Unknown | FindingKind::Internal),
            "{:?}: {} {:?}",
            f.kind,
            f.message,
            f.reason
        );
        let Some(r) = &f.rule else { continue };
        let mut related: Vec<String> = f.related.iter().map(|x| x.id.to_string()).collect();
        related.sort();
        if f.kind == FindingKind::SkillEscalation {
            related.clear();
        }
        let key = (f.kind, r.id.to_string(), related);
        if f.owner == "a" {
            agent.insert(key);
        } else {
            skill.insert(key);
        }
    }
    (agent, skill)
}

fn opts(naive: bool) -> Options {
    Options {
        level: agentpol_core::diag::Severity::Info,
        naive,
        threads: 1,
        ..Options::default()
    }
}

fn check_findings(kind: Kind, p: &Policy) -> Result<(), TestCaseError> {
    let u = universe(kind);
    let agent = p.agents.first().cloned().unwrap_or_else(|| unreachable!());
    let skill_rules = agent
        .skills
        .first()
        .map(|s| s.rules.clone())
        .unwrap_or_default();
    let ta = table(p, None, &u);
    let ts = table(p, Some("s"), &u);
    let want_a = brute_findings(&agent.rules, &ta, false);
    let want_s = brute_findings(&skill_rules, &ts, true);
    for naive in [false, true] {
        let (got_a, got_s) = verifier_findings(p, &opts(naive));
        prop_assert_eq!(&got_a, &want_a, "agent findings (naive: {})", naive);
        prop_assert_eq!(&got_s, &want_s, "skill findings (naive: {})", naive);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn fs_findings_match_brute_force(p in policy_strategy(Kind::Fs)) {
        check_findings(Kind::Fs, &p)?;
    }

    #[test]
    fn net_findings_match_brute_force(p in policy_strategy(Kind::Net)) {
        check_findings(Kind::Net, &p)?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn tool_findings_match_brute_force(p in policy_strategy(Kind::Tool)) {
        check_findings(Kind::Tool, &p)?;
    }
}

// ---------------------------------------------------------------- diff

fn brute_diff(old: &Policy, new: &Policy, u: &[Resource]) -> BTreeSet<(Direction, String)> {
    let mut out = BTreeSet::new();
    for (focus, other, dir) in [
        (new, old, Direction::Widened),
        (old, new, Direction::Narrowed),
    ] {
        for skill in [None, Some("s")] {
            let t = table(focus, skill, u);
            let owner = skill
                .map(|s| format!("a.{s}"))
                .unwrap_or_else(|| "a".into());
            let rules: Vec<Rule> = focus
                .agents
                .iter()
                .flat_map(|a| {
                    let mut v: Vec<Rule> = if skill.is_none() {
                        a.rules.clone()
                    } else {
                        vec![]
                    };
                    if skill.is_some() {
                        v.extend(a.skills.iter().flat_map(|s| s.rules.clone()));
                    }
                    v
                })
                .collect();
            for r in rules.iter().filter(|r| r.effect < Effect::Deny) {
                let id = r.id.to_string();
                let hit = u.iter().zip(&t.rows).any(|(res, row)| {
                    if !row.own.contains(&id) || row.own_dec != r.effect || row.combined != r.effect
                    {
                        return false;
                    }
                    let req = Request {
                        agent: "a".into(),
                        skill: skill.map(str::to_string),
                        resource: res.clone(),
                    };
                    let o = evaluate(other, &req)
                        .map(|d| d.effect)
                        .unwrap_or(Effect::Deny);
                    o > r.effect
                });
                let _ = &owner;
                if hit {
                    out.insert((dir, id));
                }
            }
        }
    }
    out
}

fn mutate(p: &Policy, drop: usize, flip: usize, extra: Vec<Rule>) -> Policy {
    let mut q = p.clone();
    if let Some(a) = q.agents.first_mut() {
        if !a.rules.is_empty() {
            let n = a.rules.len();
            a.rules.remove(drop % n);
        }
        if let Some(r) = a.rules.get_mut(flip % n_or_1(p)) {
            r.effect = match r.effect {
                Effect::Allow => Effect::Deny,
                Effect::Deny => Effect::Allow,
                Effect::Ask => Effect::Allow,
            };
        }
        for (i, mut r) in extra.into_iter().enumerate() {
            r.id = agentpol_core::ir::RuleId(format!("a/new/{i}"));
            a.rules.push(r);
        }
    }
    q
}

fn n_or_1(p: &Policy) -> usize {
    p.agents.first().map(|a| a.rules.len().max(1)).unwrap_or(1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn fs_diff_matches_brute_force(
        p in policy_strategy(Kind::Fs),
        drop in 0usize..8, flip in 0usize..8,
        extra in rules_of(Kind::Fs, "a/x", 0..2),
    ) {
        let q = mutate(&p, drop, flip, extra);
        let u = universe(Kind::Fs);
        let want = brute_diff(&p, &q, &u);
        for naive in [false, true] {
            let d = diff(&p, &q, &opts(naive));
            for (_, k) in &d.unknown {
                prop_assert!(false, "unknown in diff: {} {:?}", k.message, k.reason);
            }
            let got: BTreeSet<(Direction, String)> =
                d.changes.iter().map(|c| (c.direction, c.rule.id.to_string())).collect();
            prop_assert_eq!(&got, &want, "naive: {}", naive);
        }
    }

    #[test]
    fn tool_diff_matches_brute_force(
        p in policy_strategy(Kind::Tool),
        drop in 0usize..8, flip in 0usize..8,
        extra in rules_of(Kind::Tool, "a/x", 0..2),
    ) {
        let q = mutate(&p, drop, flip, extra);
        let u = universe(Kind::Tool);
        let want = brute_diff(&p, &q, &u);
        let d = diff(&p, &q, &opts(false));
        prop_assert!(d.unknown.is_empty(), "unknown in diff: {:?}", d.unknown.iter().map(|(_, k)| &k.reason).collect::<Vec<_>>());
        let got: BTreeSet<(Direction, String)> =
            d.changes.iter().map(|c| (c.direction, c.rule.id.to_string())).collect();
        prop_assert_eq!(&got, &want);
    }
}

// ---------------------------------------------------------------- assertions

/// A read-tool rule: `PathIn` on the tool's path argument (or no condition).
fn read_tool_matcher() -> impl Strategy<Value = Matcher> {
    prop::option::weighted(
        0.85,
        (prop::collection::vec(glob_text(), 1..3), any::<bool>()),
    )
    .prop_map(|c| Matcher::Tool {
        tool: Some("r".into()),
        conditions: c
            .map(|(gs, negated)| {
                vec![Atom {
                    negated,
                    test: Test::PathIn {
                        lhs: op("p"),
                        globs: gs.iter().map(|g| glob(g)).collect(),
                    },
                }]
            })
            .unwrap_or_default(),
    })
}

/// fs read rules and `r(p: path)` rules for the agent and its skill, and an
/// assertion of either form about either of them.
fn assertion_case() -> impl Strategy<Value = Policy> {
    let rules = |prefix: &'static str, n: std::ops::Range<usize>| {
        (
            rules_of(Kind::Fs, prefix, n.clone()),
            prop::collection::vec((effect(true), read_tool_matcher()), n),
        )
            .prop_map(move |(mut fs_rules, tools)| {
                let base = fs_rules.len();
                fs_rules.extend(tools.into_iter().enumerate().map(|(i, (e, m))| {
                    rule(
                        &format!("{prefix}/r{i}"),
                        e,
                        Action::Call,
                        m,
                        (base + i) as u32 + 2,
                    )
                }));
                fs_rules
            })
    };
    (
        rules("a", 1..5),
        rules("a.s", 0..3),
        glob_text(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(a, s, g, cross, only_allow, of_skill)| {
            let mut p = policy(
                vec![agent("a", a, vec![skill("s", s)])],
                vec![tool("r", &[("p", ArgType::Path)])],
                vec![],
            );
            p.assertions.push(agentpol_core::ir::Assertion {
                target: if of_skill {
                    agentpol_core::ir::AssertTarget::Skill {
                        agent: "a".into(),
                        skill: "s".into(),
                    }
                } else {
                    agentpol_core::ir::AssertTarget::All
                },
                forbidden: if only_allow {
                    vec![Effect::Allow]
                } else {
                    vec![Effect::Allow, Effect::Ask]
                },
                actions: vec![Action::Read],
                matcher: fs(&[g.as_str()]),
                layers: if cross {
                    agentpol_core::ir::AssertLayers::Cross
                } else {
                    agentpol_core::ir::AssertLayers::Kind
                },
                src: src(1),
            });
            p
        })
}

/// Does some path of the universe, read by fs or (cross form) by the tool,
/// get a forbidden decision for the assertion's principal?
fn brute_violated(p: &Policy) -> bool {
    let Some(a) = p.assertions.first() else {
        return false;
    };
    let skill = match &a.target {
        agentpol_core::ir::AssertTarget::Skill { skill, .. } => Some(skill.clone()),
        _ => None,
    };
    let Matcher::Fs { globs } = &a.matcher else {
        return false;
    };
    let cross = a.layers == agentpol_core::ir::AssertLayers::Cross;
    paths()
        .into_iter()
        .filter(|path| globs.iter().any(|g| glob_matches(g, path)))
        .any(|path| {
            let mut ways = vec![Resource::Fs {
                action: Action::Read,
                path: path.clone(),
            }];
            if cross {
                ways.push(Resource::Tool {
                    tool: "r".into(),
                    args: [("p".to_string(), serde_json::json!(path))].into(),
                    params: BTreeMap::new(),
                    tainted: Vec::new(),
                    secrets: BTreeMap::new(),
                });
            }
            ways.into_iter().any(|resource| {
                let req = Request {
                    agent: "a".into(),
                    skill: skill.clone(),
                    resource,
                };
                let d =
                    evaluate(p, &req).unwrap_or_else(|e| panic!("universe request rejected: {e}"));
                a.forbidden.contains(&d.effect)
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 200, ..ProptestConfig::default() })]

    /// Both assertion forms against brute force: violated exactly when some
    /// request of the universe is a counterexample (each witness is replayed
    /// by the verifier itself; an unknown or internal finding fails).
    #[test]
    fn assertions_match_brute_force(p in assertion_case()) {
        let want = brute_violated(&p);
        for naive in [false, true] {
            let rep = verify(&p, &opts(naive));
            let mut violated = false;
            let mut proved = false;
            for f in &rep.findings {
                prop_assert!(
                    !matches!(f.kind, FindingKind::Unknown | FindingKind::Internal),
                    "{:?}: {} {:?}", f.kind, f.message, f.reason
                );
                violated |= f.kind == FindingKind::AssertionViolated;
                proved |= f.kind == FindingKind::AssertionProved;
            }
            prop_assert_eq!(violated, want, "naive: {}", naive);
            prop_assert_eq!(proved, !want, "naive: {}", naive);
        }
    }
}
