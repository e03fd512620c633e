//! The glob and `like` matchers are linear in the input (issue 10.1): they
//! agree with the old backtracking matcher (kept here as the reference for
//! small inputs), and on 100 KB inputs with up to 20 stars their counted
//! elementary tests stay within a fixed ratio of the input length. Steps are
//! counted, not timed, so the bound is exact and machine-independent.

use agentpol_core::eval::matching::{
    glob_matches, glob_matches_counted, like_matches, like_matches_counted, Steps,
};
use agentpol_core::ir::{Glob, LikePattern, LikePiece, Piece, Segment};
use agentpol_testkit::ir_build::{glob, like};
use proptest::prelude::*;

// ---- the old backtracking matcher, the reference on small inputs ----

fn old_segments(pattern: &[Segment], path: &[&str]) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return path.is_empty();
    };
    match first {
        Segment::Any => (0..=path.len()).any(|k| old_segments(rest, &path[k..])),
        Segment::Lit(l) => path
            .split_first()
            .is_some_and(|(s, tail)| s == l && old_segments(rest, tail)),
        Segment::Wild(p) => path.split_first().is_some_and(|(s, tail)| {
            let chars: Vec<char> = s.chars().collect();
            old_pieces(p, &chars) && old_segments(rest, tail)
        }),
    }
}

fn old_pieces(pieces: &[Piece], text: &[char]) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    match first {
        Piece::Lit(l) => {
            let l: Vec<char> = l.chars().collect();
            text.starts_with(&l) && old_pieces(rest, &text[l.len()..])
        }
        Piece::Star => (0..=text.len()).any(|k| old_pieces(rest, &text[k..])),
        Piece::Any => text
            .split_first()
            .is_some_and(|(c, t)| *c != '/' && old_pieces(rest, t)),
        Piece::Class { negated, ranges } => text.split_first().is_some_and(|(c, t)| {
            let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
            *c != '/' && inside != *negated && old_pieces(rest, t)
        }),
    }
}

fn old_glob(g: &Glob, path: &str) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    let segs: Vec<&str> = if path == "/" {
        Vec::new()
    } else {
        path.split('/').skip(1).collect()
    };
    old_segments(&g.segments, &segs)
}

fn old_like(pieces: &[LikePiece], text: &[char]) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    match first {
        LikePiece::Lit(l) => {
            let l: Vec<char> = l.chars().collect();
            text.starts_with(&l) && old_like(rest, &text[l.len()..])
        }
        LikePiece::Star => (0..=text.len()).any(|k| old_like(rest, &text[k..])),
    }
}

// ---- strategies ----

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[ab]{1,3}".prop_map(Piece::Lit),
        Just(Piece::Star),
        Just(Piece::Any),
        (any::<bool>(), Just(vec![('a', 'a')]))
            .prop_map(|(negated, ranges)| Piece::Class { negated, ranges }),
    ]
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        1 => Just(Segment::Any),
        2 => "[ab]{1,2}".prop_map(Segment::Lit),
        3 => prop::collection::vec(piece(), 1..5).prop_map(Segment::Wild),
    ]
}

fn any_glob() -> impl Strategy<Value = Glob> {
    prop::collection::vec(segment(), 0..6).prop_map(|segments| Glob {
        pattern: "<generated>".into(),
        segments,
    })
}

fn like_pieces(max: usize) -> impl Strategy<Value = Vec<LikePiece>> {
    prop::collection::vec(
        prop_oneof!["[ab/]{1,3}".prop_map(LikePiece::Lit), Just(LikePiece::Star)],
        0..max,
    )
}

fn like_of(pieces: Vec<LikePiece>) -> LikePattern {
    LikePattern {
        pattern: "<generated>".into(),
        pieces,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_agrees_with_the_old_matcher(
        g in any_glob(),
        segs in prop::collection::vec("[ab]{1,5}", 0..7),
    ) {
        let path = format!("/{}", segs.join("/"));
        let path = if segs.is_empty() { "/".to_string() } else { path };
        prop_assert_eq!(glob_matches(&g, &path), old_glob(&g, &path), "{:?} on {}", g.segments, path);
    }

    #[test]
    fn like_agrees_with_the_old_matcher(pieces in like_pieces(8), value in "[ab/]{0,12}") {
        let chars: Vec<char> = value.chars().collect();
        let expected = old_like(&pieces, &chars);
        prop_assert_eq!(like_matches(&like_of(pieces.clone()), &value), expected, "{:?} on {}", pieces, value);
    }
}

/// The elementary tests for `n` input characters must stay within this many
/// per character (plus the pattern's own size): a linear scan is 1 per
/// character; backtracking on these inputs would be millions per character.
const RATIO: u64 = 4;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn like_is_linear_on_100_kb(
        pieces in prop::collection::vec(
            prop_oneof!["a{1,6}b?".prop_map(LikePiece::Lit), Just(LikePiece::Star)], 1..41)
            .prop_filter("at most 20 stars", |p| p.iter().filter(|x| matches!(x, LikePiece::Star)).count() <= 20),
        unit in "a{1,8}b?",
    ) {
        let value = unit.repeat(100_000 / unit.len());
        let pattern = like_of(pieces);
        let m: u64 = pattern.pieces.iter().map(|p| match p {
            LikePiece::Lit(l) => l.chars().count() as u64,
            LikePiece::Star => 1,
        }).sum();
        let mut steps = Steps::default();
        like_matches_counted(&pattern, &value, &mut steps);
        let n = value.len() as u64;
        prop_assert!(steps.0 <= RATIO * (n + m + 1), "{} steps for n = {}", steps.0, n);
    }

    #[test]
    fn glob_segment_is_linear_on_100_kb(
        pieces in prop::collection::vec(prop_oneof![
            "a{1,3}".prop_map(Piece::Lit),
            Just(Piece::Star),
            Just(Piece::Any),
            Just(Piece::Class { negated: true, ranges: vec![('b', 'b')] }),
        ], 1..41)
            .prop_filter("at most 20 stars", |p| p.iter().filter(|x| matches!(x, Piece::Star)).count() <= 20),
        unit in "a{1,8}b?",
    ) {
        let seg = unit.repeat(100_000 / unit.len());
        // Atoms per group bound the cost of one start position.
        let atoms: u64 = pieces.iter().map(|p| match p {
            Piece::Lit(l) => l.len() as u64,
            Piece::Star => 0,
            _ => 1,
        }).sum();
        let g = Glob { pattern: "<generated>".into(), segments: vec![Segment::Lit("x".into()), Segment::Wild(pieces)] };
        let mut steps = Steps::default();
        glob_matches_counted(&g, &format!("/x/{seg}"), &mut steps);
        let n = seg.len() as u64;
        prop_assert!(steps.0 <= RATIO * (n + 1) * (atoms + 1), "{} steps for n = {}", steps.0, n);
    }
}

#[test]
fn the_two_reproductions_are_linear() {
    // `deny when cmd like "*curl*| sh*"` against a 100 KB argument: 4–28 s before.
    let arg = "curl ".repeat(20_000) + "| s";
    let mut steps = Steps::default();
    assert!(!like_matches_counted(
        &like("*curl*| sh*"),
        &arg,
        &mut steps
    ));
    assert!(steps.0 <= RATIO * arg.len() as u64, "{} steps", steps.0);
    assert!(like_matches(&like("*curl*| sh*"), &(arg + "h -c x")));

    // 13 stars against 40 characters: past 60 s before.
    let pattern = like(&"*a".repeat(13));
    let value = "a".repeat(39) + "b";
    let mut steps = Steps::default();
    assert!(!like_matches_counted(
        &like(&format!("{}*b*c", "*a".repeat(13))),
        &value,
        &mut steps
    ));
    assert!(steps.0 <= RATIO * 60, "{} steps", steps.0);
    assert!(like_matches(&pattern, &value.replace('b', "a")));
}

#[test]
fn sixty_thousand_segments_match_without_recursion() {
    let path: String = (0..60_000).map(|i| format!("/s{}", i % 10)).collect();
    let g = glob(&format!("/**{path}"));
    assert!(glob_matches(&g, &format!("/top{path}")));
    assert!(!glob_matches(&g, &format!("/top{path}x")));
    // On a thread with a small stack, as a runtime might give a worker.
    let t = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || glob_matches(&g, &path))
        .unwrap();
    assert!(t.join().unwrap());
}
