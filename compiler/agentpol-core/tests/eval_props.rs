//! Properties of the evaluator that could fail: differential tests of the
//! matchers against an independent regex translation, and algebraic laws of
//! decisions (deny monotonicity, skill intersection, order independence).

use agentpol_core::eval::evaluate;
use agentpol_core::eval::matching::{domain_matches, glob_matches, host_matches, like_matches};
use agentpol_core::ir::*;
use agentpol_core::request::Request;
use agentpol_testkit::ir_build::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

// ---- globs vs a regex translation ----

fn lit_text() -> impl Strategy<Value = String> {
    "[ab.]{1,3}"
}

fn piece() -> impl Strategy<Value = Piece> {
    let ranges = prop::collection::vec(
        prop_oneof![
            Just(('a', 'a')),
            Just(('b', 'b')),
            Just(('.', '.')),
            Just(('a', 'b')),
            Just(('-', 'a'))
        ],
        1..3,
    );
    prop_oneof![
        lit_text().prop_map(Piece::Lit),
        Just(Piece::Star),
        Just(Piece::Any),
        (any::<bool>(), ranges).prop_map(|(negated, ranges)| Piece::Class { negated, ranges }),
    ]
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        1 => Just(Segment::Any),
        2 => lit_text().prop_map(Segment::Lit),
        3 => prop::collection::vec(piece(), 1..4).prop_map(Segment::Wild),
    ]
}

fn any_glob() -> impl Strategy<Value = Glob> {
    prop::collection::vec(segment(), 0..5).prop_map(|segments| Glob {
        pattern: "<generated>".into(),
        segments,
    })
}

/// Absolute, normalised paths over `a`, `b`, `.` (no `.` or `..` segments).
fn any_path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        "[ab.]{1,4}".prop_filter("not . or ..", |s| s != "." && s != ".."),
        0..6,
    )
    .prop_map(|segs| {
        if segs.is_empty() {
            "/".to_string()
        } else {
            segs.iter().map(|s| format!("/{s}")).collect()
        }
    })
}

fn class_regex(negated: bool, ranges: &[(char, char)]) -> String {
    let mut set = String::new();
    for (lo, hi) in ranges {
        set.push_str(&format!("\\x{{{:x}}}-\\x{{{:x}}}", *lo as u32, *hi as u32));
    }
    // Never `/`, even when a range spans it (`[--a]` holds `/`): intersect.
    if negated {
        format!("[^/{set}]")
    } else {
        format!("[[{set}]&&[^/]]")
    }
}

/// The glob as an anchored regex over the path text, written from the
/// semantics (not from the evaluator): `**` is `(/seg)*`, `*` is `[^/]*`.
fn glob_regex(g: &Glob) -> regex::Regex {
    let mut re = String::from("^");
    for seg in &g.segments {
        match seg {
            Segment::Any => re.push_str("(?:/[^/]+)*"),
            Segment::Lit(l) => {
                re.push('/');
                re.push_str(&regex::escape(l));
            }
            Segment::Wild(pieces) => {
                re.push('/');
                for p in pieces {
                    match p {
                        Piece::Lit(l) => re.push_str(&regex::escape(l)),
                        Piece::Star => re.push_str("[^/]*"),
                        Piece::Any => re.push_str("[^/]"),
                        Piece::Class { negated, ranges } => {
                            re.push_str(&class_regex(*negated, ranges))
                        }
                    }
                }
            }
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("generated regex")
}

fn regex_glob_matches(g: &Glob, path: &str) -> bool {
    // The root is the path with no segments: the empty string for the regex.
    glob_regex(g).is_match(if path == "/" { "" } else { path })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_agrees_with_regex(g in any_glob(), path in any_path()) {
        prop_assert_eq!(glob_matches(&g, &path), regex_glob_matches(&g, &path), "glob {:?} path {}", g.segments, path);
    }

    /// Paths built to match (each segment chosen to fit) must match, so the
    /// differential test above is not only comparing "no" with "no".
    #[test]
    fn glob_matches_its_instances(segs in prop::collection::vec(prop_oneof![lit_text().prop_map(Segment::Lit), Just(Segment::Any), Just(Segment::Wild(vec![Piece::Star]))], 0..5), fill in "[ab]{1,3}") {
        let mut path = String::new();
        for s in &segs {
            match s {
                Segment::Lit(l) => { path.push('/'); path.push_str(l); }
                Segment::Any => { path.push('/'); path.push_str(&fill); path.push('/'); path.push_str(&fill); }
                _ => { path.push('/'); path.push_str(&fill); }
            }
        }
        if path.is_empty() { path.push('/'); }
        // Literal `.` or `..` segments would not be normalised paths.
        prop_assume!(!path.split('/').any(|s| s == "." || s == ".."));
        let g = Glob { pattern: "<generated>".into(), segments: segs };
        prop_assert!(glob_matches(&g, &path), "{:?} should match {}", g.segments, path);
        prop_assert!(regex_glob_matches(&g, &path));
    }

    #[test]
    fn like_agrees_with_regex(pieces in prop::collection::vec(prop_oneof![ "[ab/*]{1,3}".prop_map(LikePiece::Lit), Just(LikePiece::Star)], 0..5), value in "[ab/*]{0,8}") {
        let mut re = String::from("^");
        for p in &pieces {
            match p {
                LikePiece::Lit(l) => re.push_str(&regex::escape(l)),
                LikePiece::Star => re.push_str("(?s:.*)"),
            }
        }
        re.push('$');
        let expected = regex::Regex::new(&re).unwrap().is_match(&value);
        let pat = LikePattern { pattern: "<generated>".into(), pieces };
        prop_assert_eq!(like_matches(&pat, &value), expected);
    }

    #[test]
    fn wildcard_domain_agrees_with_label_definition(
        suffix in prop::collection::vec("[ab]{1,2}", 1..3),
        name in prop::collection::vec("[ab]{1,2}", 0..5),
        upper in any::<bool>(),
        dot in any::<bool>(),
    ) {
        let pat = DomainPattern { name: suffix.join("."), wildcard: true };
        let exact = DomainPattern { name: suffix.join("."), wildcard: false };
        let mut text = name.join(".");
        // Label-wise: more labels than the suffix, ending with the suffix's labels.
        let expected = name.len() > suffix.len() && name[name.len() - suffix.len()..] == suffix[..];
        let expected_exact = name == suffix;
        if upper { text = text.to_uppercase(); }
        if dot { text.push('.'); }
        prop_assert_eq!(domain_matches(&pat, &text), expected, "{} vs *.{}", text, pat.name);
        prop_assert_eq!(domain_matches(&exact, &text), expected_exact && !name.is_empty());
    }

    #[test]
    fn ipv4_mapped_addresses_match_as_ipv4(addr in any::<u32>(), net in any::<u32>(), len in 0u8..=32, mapped_rule in any::<bool>()) {
        let v4 = Ipv4Addr::from(addr);
        let net4 = ipnet::Ipv4Net::new(Ipv4Addr::from(net), len).unwrap().trunc();
        let rule = if mapped_rule {
            let v6 = ipnet::Ipv6Net::new(net4.network().to_ipv6_mapped(), len + 96).unwrap();
            Host::Cidr(ipnet::IpNet::V6(v6))
        } else {
            Host::Cidr(ipnet::IpNet::V4(net4))
        };
        let expected = net4.contains(&v4);
        prop_assert_eq!(host_matches(&rule, Some(IpAddr::V4(v4)), None), expected);
        prop_assert_eq!(host_matches(&rule, Some(IpAddr::V6(v4.to_ipv6_mapped())), None), expected);
    }
}

// ---- laws of decisions, on random fs policies ----

const GLOBS: &[&str] = &[
    "/**", "/a/**", "/a/*", "/a/b", "/b/**", "/a/*/c", "/*", "/c",
];
const PATHS: &[&str] = &["/", "/a", "/a/b", "/a/b/c", "/a/x/c", "/b", "/b/a", "/c"];

fn effect_s() -> impl Strategy<Value = Effect> {
    prop_oneof![Just(Effect::Allow), Just(Effect::Ask), Just(Effect::Deny)]
}

fn action_s() -> impl Strategy<Value = Action> {
    prop_oneof![Just(Action::Read), Just(Action::Write)]
}

fn rules_s(prefix: &'static str) -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        (
            effect_s(),
            action_s(),
            prop::collection::vec(prop::sample::select(GLOBS), 1..3),
        ),
        0..7,
    )
    .prop_map(move |rs| {
        rs.into_iter()
            .enumerate()
            .map(|(i, (e, a, gs))| fs(&format!("{prefix}/{i}"), e, a, &gs))
            .collect()
    })
}

fn request_s() -> impl Strategy<Value = Request> {
    (action_s(), prop::sample::select(PATHS)).prop_map(|(a, p)| fs_req("a", a, p))
}

fn sorted_ids(v: &[agentpol_core::request::MatchedRule]) -> Vec<String> {
    let mut ids: Vec<String> = v.iter().map(|m| format!("{}:{}", m.owner, m.id)).collect();
    ids.sort();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn decision_is_max_of_matching_effects_or_default_deny(rules in rules_s("a"), req in request_s()) {
        let p = one_agent(rules);
        let d = evaluate(&p, &req).unwrap();
        prop_assert!(d.deciding.iter().all(|m| m.effect == d.effect));
        prop_assert!(d.deciding.iter().all(|m| d.matched.contains(m)));
        prop_assert!(d.matched.iter().all(|m| m.effect <= d.effect));
        if d.matched.is_empty() {
            prop_assert_eq!(d.effect, Effect::Deny);
            prop_assert!(d.reason.starts_with("default deny"));
        } else {
            prop_assert!(!d.deciding.is_empty());
        }
    }

    #[test]
    fn adding_a_deny_rule_never_lowers_the_decision(rules in rules_s("a"), extra in (action_s(), prop::sample::select(GLOBS)), at in any::<prop::sample::Index>(), req in request_s()) {
        let before = effect(&one_agent(rules.clone()), &req);
        let mut more = rules;
        let pos = at.index(more.len() + 1);
        more.insert(pos, fs("a/new", Effect::Deny, extra.0, &[extra.1]));
        let after = effect(&one_agent(more), &req);
        prop_assert!(after >= before, "{:?} -> {:?}", before, after);
        if before == Effect::Deny {
            prop_assert_eq!(after, Effect::Deny);
        }
    }

    #[test]
    fn rule_order_does_not_matter(rules in rules_s("a"), seed in any::<u64>(), req in request_s()) {
        let p = one_agent(rules.clone());
        let mut shuffled = rules;
        // A deterministic permutation from the seed (Fisher-Yates with an LCG).
        let mut x = seed;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        let q = one_agent(shuffled);
        let (d1, d2) = (evaluate(&p, &req).unwrap(), evaluate(&q, &req).unwrap());
        prop_assert_eq!(d1.effect, d2.effect);
        prop_assert_eq!(sorted_ids(&d1.deciding), sorted_ids(&d2.deciding));
        prop_assert_eq!(sorted_ids(&d1.matched), sorted_ids(&d2.matched));
    }

    #[test]
    fn skill_decision_is_the_max_of_both_sides(agent_rules in rules_s("a"), skill_rules in rules_s("s"), req in request_s()) {
        let p = policy(vec![agent("a", agent_rules.clone(), vec![skill("s", skill_rules.clone())])]);
        let by_agent = effect(&p, &req);
        let by_skill = effect(&p, &skill_req(req.clone(), "s"));
        // Never wider than the agent.
        prop_assert!(by_skill >= by_agent);
        // Exactly the higher of the two one-sided decisions.
        let skill_alone = effect(&one_agent(skill_rules), &req);
        prop_assert_eq!(by_skill, by_agent.max(skill_alone));
        // An allow for the skill needs an allow from both.
        if by_skill == Effect::Allow {
            prop_assert_eq!(by_agent, Effect::Allow);
            prop_assert_eq!(skill_alone, Effect::Allow);
        }
    }
}
