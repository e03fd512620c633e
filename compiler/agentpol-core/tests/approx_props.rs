//! `approx`: glob approximations for enforcers, checked against the
//! reference evaluator's glob matcher. For random globs and random paths:
//! an allow approximation never holds a path the glob does not match, a deny
//! approximation holds every path the glob matches, and one that says it is
//! exact agrees with the glob on every path.

use agentpol_core::approx::{approximate, loss_entry, Direction, Holds, PathShape};
use agentpol_core::check::glob::parse_glob;
use agentpol_core::eval::matching::glob_matches;
use agentpol_core::ir::{RuleId, SourceRef};
use proptest::prelude::*;

/// Segments of random globs: literals, wildcard segments, `**`.
fn glob_segment() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("ab"),
        Just("*"),
        Just("**"),
        Just("a*"),
        Just("*b"),
        Just("?"),
        Just("[ab]"),
        Just(".*"),
    ]
}

/// Segments of random paths (overlapping the globs' literals).
fn path_segment() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("ab"),
        Just("ba"),
        Just(".a"),
        Just("c")
    ]
}

fn join(segs: &[&str]) -> String {
    format!("/{}", segs.join("/"))
}

const TARGETS: [Holds; 3] = [Holds::LANDLOCK, Holds::BPF, Holds::KUBEARMOR];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn sound_in_both_directions(
        g in proptest::collection::vec(glob_segment(), 0..5),
        paths in proptest::collection::vec(proptest::collection::vec(path_segment(), 0..6), 1..24),
    ) {
        let text = join(&g);
        let Ok(glob) = parse_glob(&text) else {
            // `/**/**` and the like are refused by the checker; nothing to test.
            return Ok(());
        };
        for holds in TARGETS {
            let allow = approximate(&glob, Direction::Allow, holds);
            let deny = approximate(&glob, Direction::Deny, holds);
            for p in &paths {
                let path = join(p);
                let truth = glob_matches(&glob, &path);
                prop_assert!(!allow.matches(&path) || truth,
                    "allow of {} ({:?}) holds {} which the glob does not match", text, allow, path);
                prop_assert!(deny.matches(&path) || !truth,
                    "deny of {} ({:?}) misses {} which the glob matches", text, deny, path);
                for a in [&allow, &deny] {
                    if a.is_exact() {
                        prop_assert_eq!(a.matches(&path), truth, "exact {} {:?} on {}", text, a, path);
                    }
                }
            }
        }
    }
}

#[test]
fn exact_shapes_and_losses() {
    let g = |t: &str| parse_glob(t).unwrap();
    let cases: [(&str, Holds, Direction, Vec<PathShape>, bool); 8] = [
        (
            "/etc/hosts",
            Holds::LANDLOCK,
            Direction::Allow,
            vec![PathShape::Exact("/etc/hosts".into())],
            true,
        ),
        (
            "/srv/**",
            Holds::BPF,
            Direction::Allow,
            vec![PathShape::Tree("/srv".into())],
            true,
        ),
        (
            "/**",
            Holds::LANDLOCK,
            Direction::Deny,
            vec![PathShape::Tree("/".into())],
            true,
        ),
        (
            "/tmp/*",
            Holds::KUBEARMOR,
            Direction::Allow,
            vec![PathShape::Children("/tmp".into())],
            true,
        ),
        (
            "/tmp/*",
            Holds::LANDLOCK,
            Direction::Deny,
            vec![PathShape::Tree("/tmp".into())],
            false,
        ),
        ("/tmp/*", Holds::LANDLOCK, Direction::Allow, vec![], false),
        (
            "/w/**/*.rs",
            Holds::KUBEARMOR,
            Direction::Deny,
            vec![PathShape::Tree("/w".into())],
            false,
        ),
        (
            "/w/**/*.rs",
            Holds::KUBEARMOR,
            Direction::Allow,
            vec![],
            false,
        ),
    ];
    for (text, holds, dir, shapes, exact) in cases {
        let a = approximate(&g(text), dir, holds);
        assert_eq!(
            (&a.shapes, a.is_exact()),
            (&shapes, exact),
            "{text} {dir:?} {holds:?}"
        );
    }
    // Shapes themselves.
    assert!(PathShape::Tree("/srv".into()).matches("/srv"));
    assert!(PathShape::Tree("/srv".into()).matches("/srv/a/b"));
    assert!(!PathShape::Tree("/srv".into()).matches("/srvx"));
    assert!(PathShape::Children("/".into()).matches("/a"));
    assert!(!PathShape::Children("/".into()).matches("/"));
    assert!(!PathShape::Children("/tmp".into()).matches("/tmp/a/b"));
}

#[test]
fn loss_entries_say_what_is_lost() {
    let glob = parse_glob("/w/**/*.rs").unwrap();
    let rule = RuleId("a/fs/0123456789ab".into());
    let src = SourceRef {
        span: agentpol_core::span::Span::default(),
        line: 1,
        col: 1,
    };
    let deny = approximate(&glob, Direction::Deny, Holds::LANDLOCK);
    let e = loss_entry("landlock", &rule, &src, Direction::Deny, &deny).unwrap();
    assert_eq!(
        e.approximation,
        agentpol_core::backend::Approximation::DenyWidened
    );
    assert_eq!(e.rule, rule);
    assert!(
        e.reason.contains("`/w/**/*.rs`") && e.reason.contains("`/w`"),
        "{}",
        e.reason
    );
    let allow = approximate(&glob, Direction::Allow, Holds::LANDLOCK);
    let e = loss_entry("landlock", &rule, &src, Direction::Allow, &allow).unwrap();
    assert_eq!(
        e.approximation,
        agentpol_core::backend::Approximation::AllowNarrowed
    );
    let exact = approximate(
        &parse_glob("/srv/**").unwrap(),
        Direction::Allow,
        Holds::BPF,
    );
    assert_eq!(
        loss_entry("bpf", &rule, &src, Direction::Allow, &exact),
        None
    );
}
