//! Character-level patterns and string universes.
//!
//! Every string-valued test the IR has is a pattern over characters: a
//! literal, a wildcard glob segment (`*`, `?`, classes, any number of stars),
//! a Cedar `like` pattern, a domain pattern. A [`CharPattern`] is a sequence of
//! "one character from a set" and "any run of characters from a set" items.
//! [`universe`] partitions the characters into intervals on which every
//! pattern of a family behaves alike (the letters), and explores the family
//! exactly (see [`crate::automata`]): the result lists every realisable
//! combination of pattern matches, each with a concrete witness string.

use crate::automata::{explore, Explored, Item, LetterSet, Pattern};
use agentpol_core::ir::{LikePiece, Piece};
use std::collections::BTreeSet;

/// Highest Unicode scalar value.
const MAX_CHAR: u32 = 0x10_FFFF;

/// A set of characters as sorted, disjoint, inclusive ranges of scalar values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CharSet(Vec<(u32, u32)>);

impl CharSet {
    /// Every character.
    pub(crate) fn all() -> CharSet {
        CharSet(vec![(0, MAX_CHAR)])
    }

    /// One character.
    pub(crate) fn one(c: char) -> CharSet {
        CharSet(vec![(c as u32, c as u32)])
    }

    /// The union of inclusive ranges (normalised).
    pub(crate) fn ranges(rs: impl IntoIterator<Item = (u32, u32)>) -> CharSet {
        let mut v: Vec<(u32, u32)> = rs.into_iter().filter(|(a, b)| a <= b).collect();
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (a, b) in v {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        CharSet(out)
    }

    /// Every character not in `self`.
    pub(crate) fn complement(&self) -> CharSet {
        let mut out = Vec::new();
        let mut next = 0u32;
        for &(a, b) in &self.0 {
            if a > next {
                out.push((next, a - 1));
            }
            next = b.saturating_add(1);
        }
        if next <= MAX_CHAR {
            out.push((next, MAX_CHAR));
        }
        CharSet(out)
    }

    /// `self` without the characters of `other`.
    pub(crate) fn minus(&self, other: &CharSet) -> CharSet {
        self.intersect(&other.complement())
    }

    /// Characters in both.
    pub(crate) fn intersect(&self, other: &CharSet) -> CharSet {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            for &(c, d) in &other.0 {
                let lo = a.max(c);
                let hi = b.min(d);
                if lo <= hi {
                    out.push((lo, hi));
                }
            }
        }
        CharSet::ranges(out)
    }

    /// Is `c` in the set?
    pub(crate) fn contains(&self, c: u32) -> bool {
        self.0.iter().any(|&(a, b)| a <= c && c <= b)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges.
    pub(crate) fn as_ranges(&self) -> &[(u32, u32)] {
        &self.0
    }

    /// The most readable character of the set.
    fn pick(&self) -> Option<char> {
        let mut best: Option<char> = None;
        for &(lo, hi) in &self.0 {
            if let Some(&c) = candidates(lo, hi).first() {
                if best.is_none_or(|b| rank(c) < rank(b)) {
                    best = Some(c);
                }
            }
        }
        best
    }
}

/// An item of a character pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum CItem {
    /// Exactly one character from the set.
    One(CharSet),
    /// Zero or more characters from the set.
    Star(CharSet),
}

/// A pattern over characters that must consume the whole string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CharPattern(pub(crate) Vec<CItem>);

fn no_slash() -> CharSet {
    // NUL never occurs in a request path either (the evaluator refuses it).
    CharSet::ranges([(1, u32::from(b'/') - 1), (u32::from(b'/') + 1, MAX_CHAR)])
}

impl CharPattern {
    /// Exactly the string `s`.
    pub(crate) fn literal(s: &str) -> CharPattern {
        CharPattern(s.chars().map(|c| CItem::One(CharSet::one(c))).collect())
    }

    /// A wildcard glob segment (semantics.md §3): nothing crosses `/`.
    pub(crate) fn glob_segment(pieces: &[Piece]) -> CharPattern {
        let ns = no_slash();
        let mut items = Vec::new();
        for p in pieces {
            match p {
                Piece::Lit(s) => items.extend(s.chars().map(|c| CItem::One(CharSet::one(c)))),
                Piece::Star => items.push(CItem::Star(ns.clone())),
                Piece::Any => items.push(CItem::One(ns.clone())),
                Piece::Class { negated, ranges } => {
                    let set = CharSet::ranges(ranges.iter().map(|(a, b)| (*a as u32, *b as u32)));
                    let set = if *negated { set.complement() } else { set };
                    items.push(CItem::One(set.intersect(&ns)));
                }
            }
        }
        CharPattern(items)
    }

    /// A glob segment that is a plain literal.
    pub(crate) fn segment_literal(s: &str) -> CharPattern {
        CharPattern::literal(s)
    }

    /// A Cedar `like` pattern: `*` is any run of any characters.
    pub(crate) fn like(pieces: &[LikePiece]) -> CharPattern {
        let mut items = Vec::new();
        for p in pieces {
            match p {
                LikePiece::Lit(s) => items.extend(s.chars().map(|c| CItem::One(CharSet::one(c)))),
                LikePiece::Star => items.push(CItem::Star(CharSet::all())),
            }
        }
        CharPattern(items)
    }

    /// A domain pattern on a normalised name: `name` exactly, or (wildcard)
    /// one or more characters, a dot and `name` (what `domain_matches` does on a
    /// normalised name).
    pub(crate) fn domain(name: &str, wildcard: bool) -> CharPattern {
        let name = name.to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name).to_string();
        if wildcard {
            let mut items = vec![CItem::One(CharSet::all()), CItem::Star(CharSet::all())];
            items.push(CItem::One(CharSet::one('.')));
            items.extend(name.chars().map(|c| CItem::One(CharSet::one(c))));
            CharPattern(items)
        } else {
            CharPattern::literal(&name)
        }
    }

    /// Is any string matched? (Some item may have an empty set.)
    pub(crate) fn satisfiable(&self) -> bool {
        self.0.iter().all(|i| match i {
            CItem::One(s) => !s.is_empty(),
            CItem::Star(_) => true,
        })
    }

    /// "One character, then anything": the non-empty strings.
    pub(crate) fn non_empty() -> CharPattern {
        CharPattern(vec![
            CItem::One(CharSet::all()),
            CItem::Star(CharSet::all()),
        ])
    }

    /// The shortest string the pattern matches (stars empty), if any.
    pub(crate) fn shortest(&self) -> Option<String> {
        let mut out = String::new();
        for i in &self.0 {
            if let CItem::One(s) = i {
                out.push(s.pick()?);
            }
        }
        Some(out)
    }

    /// The shortest string with the first star taking one character (if the
    /// star's set has a readable one).
    pub(crate) fn shortest_with_star(&self) -> Option<String> {
        let mut out = String::new();
        let mut starred = false;
        for i in &self.0 {
            match i {
                CItem::One(s) => out.push(s.pick()?),
                CItem::Star(s) if !starred => {
                    out.push(s.pick()?);
                    starred = true;
                }
                CItem::Star(_) => {}
            }
        }
        starred.then_some(out)
    }

    /// Does the pattern match `s`? (Direct backtracking; for tests and cheap checks.)
    pub(crate) fn matches(&self, s: &str) -> bool {
        let chars: Vec<u32> = s.chars().map(|c| c as u32).collect();
        // Position-set simulation: linear, no backtracking blow-up.
        let n = self.0.len();
        let mut cur = vec![false; n + 1];
        cur[0] = true;
        close(&self.0, &mut cur);
        for &c in &chars {
            let mut next = vec![false; n + 1];
            for (i, item) in self.0.iter().enumerate() {
                if !cur[i] {
                    continue;
                }
                match item {
                    CItem::One(set) if set.contains(c) => next[i + 1] = true,
                    CItem::Star(set) if set.contains(c) => next[i] = true,
                    _ => {}
                }
            }
            close(&self.0, &mut next);
            cur = next;
        }
        cur[n]
    }
}

#[allow(clippy::indexing_slicing)] // `v` has `items.len() + 1` entries by construction.
fn close(items: &[CItem], v: &mut [bool]) {
    for (i, item) in items.iter().enumerate() {
        if matches!(item, CItem::Star(_)) && v[i] {
            v[i + 1] = true;
        }
    }
}

/// Which strings a variable may hold at all, as patterns plus a rule over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Sort {
    /// Any string (tool string arguments, exec arguments, env names, params).
    Any,
    /// One path segment: non-empty, no `/` or NUL, not `.` or `..`.
    Segment,
    /// A normalised DNS name as the evaluator accepts it for a net request:
    /// ASCII graphic, lower-case, non-empty labels, no trailing dot.
    Domain,
    /// A URL's host string: non-empty, no upper-case ASCII, no trailing dot
    /// (an over-approximation; witnesses are replayed).
    UrlHost,
    /// A URL scheme: a letter, then letters, digits, `+`, `-`, `.`.
    Scheme,
}

impl Sort {
    /// The patterns that define the sort; [`Sort::valid`] combines their bits.
    pub(crate) fn patterns(self) -> Vec<CharPattern> {
        let upper = CharSet::ranges([(u32::from(b'A'), u32::from(b'Z'))]);
        let dot = CItem::One(CharSet::one('.'));
        let any = CItem::Star(CharSet::all());
        match self {
            Sort::Any => Vec::new(),
            Sort::Segment => {
                let ns = no_slash();
                vec![
                    CharPattern(vec![CItem::One(ns.clone()), CItem::Star(ns)]),
                    CharPattern::literal("."),
                    CharPattern::literal(".."),
                ]
            }
            Sort::Domain => {
                let g = CharSet::ranges([(0x21, 0x7e)]).minus(&upper);
                vec![
                    CharPattern(vec![CItem::One(g.clone()), CItem::Star(g)]),
                    CharPattern(vec![dot.clone(), any.clone()]),
                    CharPattern(vec![any.clone(), dot.clone()]),
                    CharPattern(vec![any.clone(), dot.clone(), dot, any]),
                ]
            }
            Sort::UrlHost => {
                let g = CharSet::all().minus(&upper);
                vec![
                    CharPattern(vec![CItem::One(g.clone()), CItem::Star(g)]),
                    CharPattern(vec![any, dot]),
                ]
            }
            Sort::Scheme => {
                let first = CharSet::ranges([(u32::from(b'a'), u32::from(b'z'))]);
                let rest = CharSet::ranges([
                    (u32::from(b'a'), u32::from(b'z')),
                    (u32::from(b'0'), u32::from(b'9')),
                    (u32::from(b'+'), u32::from(b'+')),
                    (u32::from(b'-'), u32::from(b'.')),
                ]);
                vec![CharPattern(vec![CItem::One(first), CItem::Star(rest)])]
            }
        }
    }

    /// Given the bits of [`Sort::patterns`] (in order), is the string valid?
    pub(crate) fn valid(self, bits: &[bool]) -> bool {
        let b = |i: usize| bits.get(i).copied().unwrap_or(false);
        match self {
            Sort::Any => true,
            Sort::Segment => b(0) && !b(1) && !b(2),
            Sort::Domain => b(0) && !b(1) && !b(2) && !b(3),
            Sort::UrlHost => b(0) && !b(1),
            Sort::Scheme => b(0),
        }
    }
}

/// The result of exploring a family of character patterns.
#[derive(Debug)]
pub(crate) struct StrUniverse {
    /// The family, in the order the caller gave.
    pub(crate) patterns: Vec<CharPattern>,
    /// The exploration over letters.
    pub(crate) explored: Explored,
    /// Each letter's character interval, inclusive.
    intervals: Vec<(u32, u32)>,
    /// Each letter's preferred character.
    reps: Vec<char>,
}

impl StrUniverse {
    /// Does class `c` match pattern `p`?
    pub(crate) fn accepts(&self, c: usize, p: usize) -> bool {
        self.explored
            .classes
            .get(c)
            .is_some_and(|cl| cl.accepts.get(p))
    }

    /// Number of classes.
    pub(crate) fn len(&self) -> usize {
        self.explored.classes.len()
    }

    fn spell(&self, word: &[u32]) -> String {
        word.iter()
            .map(|&l| self.reps.get(l as usize).copied().unwrap_or('a'))
            .collect()
    }

    /// A shortest string of class `c`.
    pub(crate) fn witness(&self, c: usize) -> String {
        self.explored
            .classes
            .get(c)
            .map(|cl| self.spell(&cl.witness))
            .unwrap_or_default()
    }

    /// Up to `k` distinct strings of class `c`, the witness first. Fewer are
    /// returned when fewer were found (a singleton class has one).
    pub(crate) fn alternatives(&self, c: usize, k: usize) -> Vec<String> {
        let Some(cl) = self.explored.classes.get(c) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        let push = |s: String, out: &mut Vec<String>| {
            if out.len() < k && !out.contains(&s) {
                out.push(s);
            }
        };
        for w in std::iter::once(&cl.witness).chain(cl.others.iter()) {
            push(self.spell(w), &mut out);
        }
        // Same path through the product, other characters of the same intervals.
        for w in std::iter::once(&cl.witness).chain(cl.others.iter()) {
            for (pos, &l) in w.iter().enumerate() {
                let Some(&(lo, hi)) = self.intervals.get(l as usize) else {
                    continue;
                };
                for c in candidates(lo, hi).into_iter().take(k + 1) {
                    let mut chars: Vec<char> = self.spell(w).chars().collect();
                    if let Some(slot) = chars.get_mut(pos) {
                        *slot = c;
                    }
                    push(chars.into_iter().collect(), &mut out);
                }
                if out.len() >= k {
                    return out;
                }
            }
        }
        out
    }

    /// True when the class provably holds a single string: it matches a
    /// pattern that is a plain literal.
    pub(crate) fn singleton(&self, c: usize) -> bool {
        self.patterns.iter().enumerate().any(|(p, pat)| {
            self.accepts(c, p)
                && pat
                    .0
                    .iter()
                    .all(|i| matches!(i, CItem::One(s) if s.0.len() == 1 && s.0.first().is_some_and(|(a, b)| a == b)))
        })
    }
}

/// Characters of `lo..=hi` in order of preference, for witnesses people can read.
fn candidates(lo: u32, hi: u32) -> Vec<char> {
    let mut out = Vec::new();
    let ranked = ('a'..='z')
        .chain('0'..='9')
        .chain(['_', '-', '.'])
        .chain('A'..='Z')
        .chain((0x21u8..=0x7e).map(char::from));
    for c in ranked {
        if (lo..=hi).contains(&(c as u32)) && !out.contains(&c) {
            out.push(c);
        }
        if out.len() >= 8 {
            return out;
        }
    }
    let mut x = lo;
    while x <= hi && out.len() < 8 {
        if let Some(c) = char::from_u32(x) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        x += 1;
    }
    out
}

/// The most readable character of `lo..=hi` (what `candidates` puts first).
fn first_candidate(lo: u32, hi: u32) -> Option<char> {
    const RANKED: &[(u32, u32)] = &[
        (b'a' as u32, b'z' as u32),
        (b'0' as u32, b'9' as u32),
        (b'_' as u32, b'_' as u32),
        (b'-' as u32, b'-' as u32),
        (b'.' as u32, b'.' as u32),
        (b'A' as u32, b'Z' as u32),
        (0x21, 0x7e),
    ];
    for &(a, b) in RANKED {
        let x = a.max(lo);
        if x <= b.min(hi) {
            return char::from_u32(x);
        }
    }
    (lo..=hi).find_map(char::from_u32)
}

/// Rank of a character for witness readability (lower is better).
fn rank(c: char) -> u32 {
    match c {
        'a'..='z' => c as u32 - 'a' as u32,
        '0'..='9' => 30 + c as u32 - '0' as u32,
        '_' | '-' | '.' => 50,
        'A'..='Z' => 60 + c as u32 - 'A' as u32,
        '!'..='~' => 100 + c as u32,
        ' ' => 300,
        _ => 1000 + (c as u32).min(1_000_000),
    }
}

/// Explores a family of character patterns. `max_states` bounds the product.
pub(crate) fn universe(
    patterns: Vec<CharPattern>,
    max_states: usize,
    want_others: bool,
) -> StrUniverse {
    // Interval boundaries: every range start and every range end + 1.
    let mut cuts: BTreeSet<u32> = BTreeSet::new();
    cuts.insert(0);
    cuts.insert(MAX_CHAR + 1);
    // Surrogates are not characters; keep them in intervals of their own and skip those.
    cuts.insert(0xD800);
    cuts.insert(0xE000);
    for p in &patterns {
        for item in &p.0 {
            let (CItem::One(s) | CItem::Star(s)) = item;
            for &(a, b) in &s.0 {
                cuts.insert(a);
                cuts.insert(b + 1);
            }
        }
    }
    let cuts: Vec<u32> = cuts.into_iter().collect();
    let mut letters: Vec<((u32, u32), char)> = Vec::new();
    for w in cuts.windows(2) {
        let (lo, hi) = match w {
            [a, b] => (*a, b.saturating_sub(1)),
            _ => continue,
        };
        if lo > hi || (0xD800..0xE000).contains(&lo) {
            continue;
        }
        if let Some(c) = first_candidate(lo, hi) {
            letters.push(((lo, hi), c));
        }
    }
    letters.sort_by_key(|(_, c)| rank(*c));
    let n = letters.len();
    let pats: Vec<Pattern> = patterns
        .iter()
        .map(|p| Pattern {
            items: p
                .0
                .iter()
                .map(|item| {
                    let (star, set) = match item {
                        CItem::One(s) => (false, s),
                        CItem::Star(s) => (true, s),
                    };
                    let mut ls = LetterSet::empty(n);
                    for (i, ((lo, _), _)) in letters.iter().enumerate() {
                        // Intervals never straddle a range boundary, so one probe decides.
                        if set.contains(*lo) {
                            ls.insert(i);
                        }
                    }
                    Item { star, set: ls }
                })
                .collect(),
        })
        .collect();
    let explored = explore(&pats, n, max_states, want_others);
    StrUniverse {
        patterns,
        explored,
        intervals: letters.iter().map(|(r, _)| *r).collect(),
        reps: letters.iter().map(|(_, c)| *c).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &str) -> CharPattern {
        // A tiny glob-segment parser for tests: `*`, `?`, literal.
        let mut pieces = Vec::new();
        for c in s.chars() {
            match c {
                '*' => pieces.push(Piece::Star),
                '?' => pieces.push(Piece::Any),
                c => pieces.push(Piece::Lit(c.to_string())),
            }
        }
        CharPattern::glob_segment(&pieces)
    }

    #[test]
    fn two_star_segments_intersect_and_differ() {
        // `*a*b*` vs `*b*a*`: all four combinations are possible.
        let u = universe(vec![seg("*a*b*"), seg("*b*a*")], 10_000, true);
        assert!(u.explored.complete);
        let mut combos: Vec<(bool, bool)> = (0..u.len())
            .map(|c| (u.accepts(c, 0), u.accepts(c, 1)))
            .collect();
        combos.sort();
        combos.dedup();
        assert_eq!(combos.len(), 4);
        for c in 0..u.len() {
            let w = u.witness(c);
            assert_eq!(seg("*a*b*").matches(&w), u.accepts(c, 0), "{w}");
            assert_eq!(seg("*b*a*").matches(&w), u.accepts(c, 1), "{w}");
        }
    }

    #[test]
    fn suffix_containment() {
        // Every `*.tar.gz` ends in `.gz`: no class matches the first alone.
        let u = universe(vec![seg("*.tar.gz"), seg("*.gz")], 10_000, true);
        assert!(u.explored.complete);
        assert!(!(0..u.len()).any(|c| u.accepts(c, 0) && !u.accepts(c, 1)));
    }

    #[test]
    fn segment_sort_excludes_dots() {
        let mut pats = Sort::Segment.patterns();
        pats.push(seg(".*"));
        let u = universe(pats, 10_000, true);
        let valid: Vec<String> = (0..u.len())
            .filter(|&c| Sort::Segment.valid(&[u.accepts(c, 0), u.accepts(c, 1), u.accepts(c, 2)]))
            .filter(|&c| u.accepts(c, 3))
            .map(|c| u.witness(c))
            .collect();
        assert!(!valid.is_empty());
        assert!(valid
            .iter()
            .all(|w| w != "." && w != ".." && w.starts_with('.')));
    }

    #[test]
    fn alternatives_are_distinct_members() {
        let u = universe(vec![seg("a*")], 1000, true);
        let c = (0..u.len()).find(|&c| u.accepts(c, 0)).unwrap_or(0);
        let alts = u.alternatives(c, 3);
        assert_eq!(alts.len(), 3);
        assert!(alts.iter().all(|s| s.starts_with('a')));
        let lit = universe(vec![CharPattern::literal("abc")], 1000, true);
        let c = (0..lit.len()).find(|&c| lit.accepts(c, 0)).unwrap_or(0);
        assert!(lit.singleton(c));
        assert_eq!(lit.alternatives(c, 3), vec!["abc".to_string()]);
    }
}
