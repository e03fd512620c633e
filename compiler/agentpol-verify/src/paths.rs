//! Path universes: the exact finite abstraction of a family of path globs.
//!
//! Two levels, both explored exactly (see [`crate::automata`]):
//!
//! 1. **Segments.** Every literal and wildcard segment of the family's globs
//!    is a character pattern. Exploring them together with the segment sort
//!    (non-empty, no `/`, not `.`/`..`) gives the *segment letters*: every
//!    realisable combination of segment-pattern matches, each with a witness
//!    segment. Interned literal segments are just literal patterns here.
//! 2. **Paths.** Each glob becomes a pattern over segment letters (`Lit`/`Wild`
//!    = one letter from the set of letters that match it, `**` = a star over
//!    every letter). Exploring the globs together gives every realisable
//!    combination of glob matches, each with a witness path.
//!
//! Nothing is bounded by a depth: the product automaton is finite and the
//! search visits all of it (or reports that it stopped at the state limit).

use crate::automata::{explore, Explored, Item, LetterSet, Pattern};
use crate::strings::{universe, CharPattern, Sort, StrUniverse};
use agentpol_core::ir::{Glob, Segment};
use std::collections::HashMap;

/// The exploration of a family of globs.
#[derive(Debug)]
pub(crate) struct PathUniverse {
    /// Segment-level universe (segment tokens, then the segment sort's patterns).
    seg: StrUniverse,
    /// Valid segment classes, in letter order: letter `i` is class `seg_letters[i]`.
    seg_letters: Vec<usize>,
    /// Path-level exploration over the globs, in the caller's order.
    pub(crate) explored: Explored,
}

impl PathUniverse {
    /// Did both levels finish?
    pub(crate) fn complete(&self) -> bool {
        self.seg.explored.complete && self.explored.complete
    }

    /// Number of path classes.
    pub(crate) fn len(&self) -> usize {
        self.explored.classes.len()
    }

    /// Does path class `c` match glob `g`?
    pub(crate) fn accepts(&self, c: usize, g: usize) -> bool {
        self.explored
            .classes
            .get(c)
            .is_some_and(|cl| cl.accepts.get(g))
    }

    /// A shortest path of class `c`.
    pub(crate) fn witness(&self, c: usize) -> String {
        let Some(cl) = self.explored.classes.get(c) else {
            return "/".into();
        };
        if cl.witness.is_empty() {
            return "/".into();
        }
        let mut out = String::new();
        for &l in &cl.witness {
            out.push('/');
            let class = self.seg_letters.get(l as usize).copied().unwrap_or(0);
            out.push_str(&self.seg.witness(class));
        }
        out
    }

    /// States visited at both levels.
    pub(crate) fn states(&self) -> usize {
        self.seg.explored.states + self.explored.states
    }
}

/// Explores `globs` (in order; path class bits follow it).
pub(crate) fn path_universe(globs: &[&Glob], max_states: usize) -> PathUniverse {
    // Distinct segment tokens, interned.
    let mut tokens: Vec<CharPattern> = Vec::new();
    let mut index: HashMap<CharPattern, usize> = HashMap::new();
    let mut glob_tokens: Vec<Vec<Option<usize>>> = Vec::new();
    for g in globs {
        let mut ts = Vec::new();
        for s in &g.segments {
            let pat = match s {
                Segment::Any => {
                    ts.push(None);
                    continue;
                }
                Segment::Lit(l) => CharPattern::segment_literal(l),
                Segment::Wild(pieces) => CharPattern::glob_segment(pieces),
            };
            let next = tokens.len();
            let id = *index.entry(pat.clone()).or_insert(next);
            if id == next {
                tokens.push(pat);
            }
            ts.push(Some(id));
        }
        glob_tokens.push(ts);
    }
    let n_tokens = tokens.len();
    let mut family = tokens;
    family.extend(Sort::Segment.patterns());
    let seg = universe(family, max_states, false);

    let seg_letters: Vec<usize> = (0..seg.len())
        .filter(|&c| {
            let bits: Vec<bool> = (0..3).map(|k| seg.accepts(c, n_tokens + k)).collect();
            Sort::Segment.valid(&bits)
        })
        .collect();
    let n = seg_letters.len();
    let patterns: Vec<Pattern> = glob_tokens
        .iter()
        .map(|ts| Pattern {
            items: ts
                .iter()
                .map(|t| match t {
                    None => Item {
                        star: true,
                        set: LetterSet::full(n),
                    },
                    Some(tok) => {
                        let mut set = LetterSet::empty(n);
                        for (i, &c) in seg_letters.iter().enumerate() {
                            if seg.accepts(c, *tok) {
                                set.insert(i);
                            }
                        }
                        Item { star: false, set }
                    }
                })
                .collect(),
        })
        .collect();
    let explored = explore(&patterns, n, max_states, false);
    PathUniverse {
        seg,
        seg_letters,
        explored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentpol_core::check::glob::parse_glob;
    use agentpol_core::eval::matching::glob_matches;

    fn glob(pattern: &str) -> Glob {
        parse_glob(pattern).unwrap_or_else(|e| panic!("bad test glob {pattern:?}: {}", e.message))
    }

    fn check(globs: &[&str]) -> PathUniverse {
        let gs: Vec<Glob> = globs.iter().map(|g| glob(g)).collect();
        let refs: Vec<&Glob> = gs.iter().collect();
        let u = path_universe(&refs, 100_000);
        assert!(u.complete());
        // Every witness is a real path with exactly its class's matches.
        for c in 0..u.len() {
            let w = u.witness(c);
            for (i, g) in gs.iter().enumerate() {
                assert_eq!(glob_matches(g, &w), u.accepts(c, i), "{w} vs {}", g.pattern);
            }
        }
        u
    }

    fn possible(u: &PathUniverse, want: &[Option<bool>]) -> bool {
        (0..u.len()).any(|c| {
            want.iter()
                .enumerate()
                .all(|(i, w)| w.is_none_or(|w| u.accepts(c, i) == w))
        })
    }

    #[test]
    fn ssh_vs_alice_is_disjoint() {
        // The pair PLATFORM.md saw time out in Z3's regex theory.
        let u = check(&["/home/*/.ssh/*", "/home/alice/*"]);
        assert!(!possible(&u, &[Some(true), Some(true)]));
    }

    #[test]
    fn pem_under_w_is_contained() {
        let u = check(&["/w/**/*.pem", "/w/**"]);
        assert!(!possible(&u, &[Some(true), Some(false)]));
    }

    #[test]
    fn union_cover() {
        // /srv/** is covered by /srv ∪ /srv/* ∪ /srv/*/**, not by the last two.
        let u = check(&["/srv/**", "/srv/*", "/srv/*/**", "/srv"]);
        assert!(!possible(
            &u,
            &[Some(true), Some(false), Some(false), Some(false)]
        ));
        assert!(possible(&u, &[Some(true), Some(false), Some(false), None]));
    }

    #[test]
    fn middle_blocks_and_multi_star() {
        let u = check(&[
            "/**/node_modules/.bin/**",
            "/**/*.bin/**",
            "/a/*x*y*/b",
            "/a/*y*x*/**",
        ]);
        assert!(!possible(&u, &[Some(true), Some(false), None, None]));
        assert!(possible(&u, &[None, None, Some(true), Some(true)]));
    }
}
