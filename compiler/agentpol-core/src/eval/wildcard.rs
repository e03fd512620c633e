//! Linear-time matching of star patterns: the one algorithm behind globs
//! (at both levels: segments of a path, characters of a segment) and Cedar
//! `like` patterns.
//!
//! A star pattern is a sequence of tokens, each either a star (any run of
//! elements, possibly empty) or an atom that matches exactly one element.
//! Split at the stars, it is `G0 * G1 * … * Gk`, where every group `Gi` is a
//! run of atoms and so matches exactly `|Gi|` elements.
//!
//! # The algorithm (and why it is right)
//!
//! * No star: the text matches iff it has `|G0|` elements and `G0` matches them.
//! * Otherwise `G0` must match a prefix and `Gk` a suffix; each middle group
//!   is placed at its leftmost match at or after the end of the previous one.
//!
//! Correctness, by exchange: take any successful placement `p1 < … < p(k-1)`
//! of the middle groups (each `pi ≥ end(i-1)`, and `Gk`'s suffix starting at
//! or after `end(k-1)`). The greedy `g1` is the leftmost match at or after
//! `|G0|`, so `g1 ≤ p1`, hence `g1 + |G1| ≤ p1 + |G1|`: `p2` is still a match
//! at or after the greedy end, so the greedy `g2 ≤ p2`, and so on. The greedy
//! end of `G(k-1)` is therefore never later than any successful one, so if the
//! suffix fits after some placement, it fits after the greedy one. Groups have
//! fixed lengths, which is what makes "leftmost" also "ends earliest"; the
//! argument would fail for groups of variable length, and we have none.
//!
//! Cost: the searches of consecutive middle groups start at disjoint
//! positions (each begins after the previous match), and each start position
//! costs at most `|Gi|` atom tests, so a match is at most `(n + 1)·m` atom
//! tests for `n` elements and `m` atoms — linear in the input for any fixed
//! pattern, with no backtracking and no recursion. Literal-only groups are
//! searched with Knuth–Morris–Pratt, which is `O(n + m)` in total.
//! [`Steps`] counts the atom tests so tests can check that bound exactly.

/// One token of a star pattern: a star, or an atom matching one element.
pub(crate) enum Token<A> {
    /// Any run of elements, possibly empty.
    Star,
    /// Exactly one element the atom accepts.
    Atom(A),
}

/// A counter of elementary tests (one atom against one element), so the
/// linear bound can be checked by tests without timing anything.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Steps(pub u64);

impl Steps {
    fn tick(&mut self) {
        self.0 = self.0.saturating_add(1);
    }
}

/// Does the whole of `text` match `tokens`? `test(atom, element)` says whether
/// an atom accepts an element; `literal(atom)` returns the element an atom
/// stands for when it is a plain literal, so literal-only groups can use KMP.
pub(crate) fn star_match<A, E: PartialEq + Copy>(
    tokens: &[Token<A>],
    text: &[E],
    test: impl Fn(&A, E) -> bool,
    literal: impl Fn(&A) -> Option<E>,
    steps: &mut Steps,
) -> bool {
    let mut groups = tokens.split(|t| matches!(t, Token::Star)).map(|g| {
        g.iter().filter_map(|t| match t {
            Token::Atom(a) => Some(a),
            Token::Star => None,
        })
    });
    let group_count = tokens.iter().filter(|t| matches!(t, Token::Star)).count() + 1;
    let first: Vec<&A> = groups.next().map(|g| g.collect()).unwrap_or_default();
    if group_count == 1 {
        return first.len() == text.len() && window(&first, text, &test, steps);
    }
    let Some(head) = text.get(..first.len()) else {
        return false;
    };
    if !window(&first, head, &test, steps) {
        return false;
    }
    let mut pos = first.len();
    for (i, group) in groups.enumerate() {
        let group: Vec<&A> = group.collect();
        let rest = text.get(pos..).unwrap_or(&[]);
        if i + 2 == group_count {
            // The last group: anchored at the end, after everything placed so far.
            let Some(start) = rest.len().checked_sub(group.len()) else {
                return false;
            };
            return window(&group, rest.get(start..).unwrap_or(&[]), &test, steps);
        }
        match leftmost(&group, rest, &test, &literal, steps) {
            Some(at) => pos += at + group.len(),
            None => return false,
        }
    }
    // Unreachable in practice: the loop returns at the last group.
    false
}

/// Does `group` match `text` (of the same length) element by element?
fn window<A, E: Copy>(
    group: &[&A],
    text: &[E],
    test: &impl Fn(&A, E) -> bool,
    steps: &mut Steps,
) -> bool {
    group.len() == text.len()
        && group.iter().zip(text).all(|(a, e)| {
            steps.tick();
            test(a, *e)
        })
}

/// The leftmost position where `group` matches inside `text`.
fn leftmost<A, E: PartialEq + Copy>(
    group: &[&A],
    text: &[E],
    test: &impl Fn(&A, E) -> bool,
    literal: &impl Fn(&A) -> Option<E>,
    steps: &mut Steps,
) -> Option<usize> {
    if group.is_empty() {
        return Some(0);
    }
    let lits: Option<Vec<E>> = group.iter().map(|a| literal(a)).collect();
    if let Some(lits) = lits {
        return kmp(&lits, text, steps);
    }
    let last = text.len().checked_sub(group.len())?;
    (0..=last).find(|&at| {
        text.get(at..at + group.len())
            .is_some_and(|w| window(group, w, test, steps))
    })
}

/// Knuth–Morris–Pratt: the leftmost occurrence of `needle` in `hay`, in at
/// most `2·(|needle| + |hay|)` comparisons.
fn kmp<E: PartialEq>(needle: &[E], hay: &[E], steps: &mut Steps) -> Option<usize> {
    // fail[i]: length of the longest proper border of needle[..=i].
    let mut fail = vec![0usize; needle.len()];
    let mut k = 0;
    for i in 1..needle.len() {
        loop {
            steps.tick();
            if needle[i] == needle[k] {
                k += 1;
                break;
            }
            if k == 0 {
                break;
            }
            k = fail[k - 1];
        }
        fail[i] = k;
    }
    let mut k = 0;
    for (i, e) in hay.iter().enumerate() {
        loop {
            steps.tick();
            if needle[k] == *e {
                k += 1;
                break;
            }
            if k == 0 {
                break;
            }
            k = fail[k - 1];
        }
        if k == needle.len() {
            return Some(i + 1 - k);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Vec<Token<char>> {
        s.chars()
            .map(|c| {
                if c == '*' {
                    Token::Star
                } else {
                    Token::Atom(c)
                }
            })
            .collect()
    }

    fn run(p: &str, t: &str) -> (bool, u64) {
        let text: Vec<char> = t.chars().collect();
        let mut steps = Steps::default();
        let ok = star_match(
            &pat(p),
            &text,
            |a, e| *a == e || *a == '?',
            |a| (*a != '?').then_some(*a),
            &mut steps,
        );
        (ok, steps.0)
    }

    #[test]
    fn greedy_placement_cases() {
        assert!(run("*a*a*", "banana").0);
        assert!(!run("*a*a*a*a*", "banana").0);
        assert!(run("a*", "a").0);
        assert!(!run("ab*ba", "aba").0, "prefix and suffix must not overlap");
        assert!(run("ab*ba", "abba").0);
        assert!(run("*", "").0);
        assert!(!run("", "x").0);
        assert!(run("*?b*", "xab").0);
        assert!(run("*aab*", "aaab").0, "KMP must fall back correctly");
        assert!(run("*abab?c*", "ababababxc").0);
    }

    #[test]
    fn kmp_cost_is_linear() {
        let hay = "a".repeat(10_000);
        let (ok, steps) = run(&format!("*{}b*", "a".repeat(500)), &hay);
        assert!(!ok);
        assert!(steps <= 2 * (10_000 + 501), "{steps} steps");
    }
}
