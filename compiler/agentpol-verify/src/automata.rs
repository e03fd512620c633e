//! Exact finite abstraction of pattern families by product exploration.
//!
//! A *pattern* is a sequence of items over a finite alphabet of letters: an
//! item either consumes exactly one letter from a set, or (a *star*) any number
//! of letters from a set. Globs over path segments (`**` = star over every
//! segment letter) and wildcard segments or `like` patterns over characters
//! (letters = character intervals) are both patterns of this shape.
//!
//! [`explore`] runs all patterns of a family in lock-step from the empty word
//! (a product of their position automata) and records, for every reachable
//! product state, which patterns accept there. The set of those *accept
//! vectors* is exactly the set of ways a word can relate to the family: a
//! vector is in it iff some word matches exactly those patterns. That is what
//! the solver needs: a word variable becomes "one of these vectors", and each
//! pattern atom becomes "the vector has this bit". No depth bound is involved:
//! the product is finite, and the search is exhaustive unless it hits the
//! state limit, in which case the result says so (`complete == false`) and no
//! "impossible" claim may rest on it.

use std::collections::HashMap;

/// A set of letters (indices into the family's alphabet), as a bitset.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LetterSet(Vec<u64>);

impl LetterSet {
    /// The empty set over `n` letters.
    pub(crate) fn empty(n: usize) -> LetterSet {
        LetterSet(vec![0; n.div_ceil(64).max(1)])
    }

    /// Every letter of `n`.
    pub(crate) fn full(n: usize) -> LetterSet {
        let mut s = LetterSet::empty(n);
        for i in 0..n {
            s.insert(i);
        }
        s
    }

    /// Adds letter `i`.
    pub(crate) fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    /// Is letter `i` in the set?
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// One item of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Item {
    /// Zero or more letters (true) or exactly one (false).
    pub(crate) star: bool,
    /// The letters it accepts.
    pub(crate) set: LetterSet,
}

/// A pattern: items matched left to right; it accepts a word that the items
/// consume entirely.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Pattern {
    /// Items in order.
    pub(crate) items: Vec<Item>,
}

/// A bit per pattern of a family.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Bits(pub(crate) Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64).max(1)])
    }
    fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    /// Bit `i`.
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// One realisable accept vector and the shortest word (first in letter order)
/// that realises it; `others` are further product states with the same
/// vector, each reached by a different word.
#[derive(Clone, Debug)]
pub(crate) struct Class {
    /// Which patterns accept.
    pub(crate) accepts: Bits,
    /// A shortest word with exactly these acceptances.
    pub(crate) witness: Vec<u32>,
    /// Words reaching other states with the same vector (at most a few).
    pub(crate) others: Vec<Vec<u32>>,
}

/// The result of exploring a family.
#[derive(Clone, Debug)]
pub(crate) struct Explored {
    /// Realisable accept vectors, in discovery order (shortest words first).
    pub(crate) classes: Vec<Class>,
    /// False when the state limit stopped the search: `classes` is then only
    /// a subset of the realisable vectors.
    pub(crate) complete: bool,
    /// Product states visited.
    pub(crate) states: usize,
}

/// How many extra words per class are kept (for distinct values of equal class).
const OTHERS_PER_CLASS: usize = 3;

/// Explores the product of `patterns` over an alphabet of `letters` letters,
/// trying letters in index order (so callers order letters by preference).
/// Stops after `max_states` product states.
pub(crate) fn explore(
    patterns: &[Pattern],
    letters: usize,
    max_states: usize,
    want_others: bool,
) -> Explored {
    // Each pattern's state is a bitset of positions 0..=len in `words[p]` u64s.
    let words: Vec<usize> = patterns
        .iter()
        .map(|p| (p.items.len() + 1).div_ceil(64))
        .collect();
    let offsets: Vec<usize> = words
        .iter()
        .scan(0usize, |acc, w| {
            let o = *acc;
            *acc += w;
            Some(o)
        })
        .collect();
    let total: usize = words.iter().sum();

    let mut start = vec![0u64; total];
    for (p, pat) in patterns.iter().enumerate() {
        let o = offsets.get(p).copied().unwrap_or(0);
        set_bit(&mut start, o, 0);
        close(pat, &mut start, o);
    }

    let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
    // (parent state, letter) per state; the start has no parent.
    let mut parent: Vec<Option<(usize, u32)>> = Vec::new();
    let mut queue: Vec<Vec<u64>> = Vec::new();
    let mut by_vector: HashMap<Bits, usize> = HashMap::new();
    let mut classes: Vec<Class> = Vec::new();

    index.insert(start.clone(), 0);
    parent.push(None);
    queue.push(start);
    let mut head = 0;
    let mut complete = true;
    let mut next = vec![0u64; total];
    while head < queue.len() {
        let state = queue.get(head).cloned().unwrap_or_default();
        let id = head;
        head += 1;

        let acc = accepts(patterns, &offsets, &state);
        match by_vector.get(&acc) {
            None => {
                by_vector.insert(acc.clone(), classes.len());
                classes.push(Class {
                    accepts: acc,
                    witness: word(&parent, id),
                    others: Vec::new(),
                });
            }
            Some(&c) => {
                if let Some(class) = classes.get_mut(c) {
                    if class.others.len() < OTHERS_PER_CLASS {
                        class.others.push(word(&parent, id));
                    }
                }
            }
        }

        // Active positions of this state, per pattern: only they can move.
        let mut active: Vec<(usize, usize, usize)> = Vec::new();
        for (p, pat) in patterns.iter().enumerate() {
            let o = offsets.get(p).copied().unwrap_or(0);
            let w = words.get(p).copied().unwrap_or(0);
            for k in 0..w {
                let mut bits = state.get(o + k).copied().unwrap_or(0);
                while bits != 0 {
                    let i = k * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if i < pat.items.len() {
                        active.push((p, o, i));
                    }
                }
            }
        }
        for letter in 0..letters {
            next.iter_mut().for_each(|w| *w = 0);
            let mut touched: Vec<usize> = Vec::new();
            for &(p, o, i) in &active {
                let Some(item) = patterns.get(p).and_then(|pat| pat.items.get(i)) else {
                    continue;
                };
                if item.set.contains(letter) {
                    set_bit(&mut next, o, if item.star { i } else { i + 1 });
                    if touched.last() != Some(&p) {
                        touched.push(p);
                    }
                }
            }
            for &p in &touched {
                if let Some(pat) = patterns.get(p) {
                    close(pat, &mut next, offsets.get(p).copied().unwrap_or(0));
                }
            }
            // All-dead states still count: the word matches no pattern, which
            // is a vector like any other (and is usually realisable).
            if index.contains_key(&next) {
                // A second way into a known state is another word of its class.
                if want_others {
                    let acc = accepts(patterns, &offsets, &next);
                    if let Some(class) = by_vector.get(&acc).and_then(|&c| classes.get_mut(c)) {
                        if class.others.len() < OTHERS_PER_CLASS {
                            let mut w = word(&parent, id);
                            w.push(letter as u32);
                            class.others.push(w);
                        }
                    }
                }
                continue;
            }
            if index.len() >= max_states {
                complete = false;
                break;
            }
            index.insert(next.clone(), queue.len());
            parent.push(Some((id, letter as u32)));
            queue.push(next.clone());
        }
        if !complete {
            break;
        }
    }
    Explored {
        classes,
        complete,
        states: index.len(),
    }
}

fn accepts(patterns: &[Pattern], offsets: &[usize], state: &[u64]) -> Bits {
    let mut acc = Bits::new(patterns.len());
    for (p, pat) in patterns.iter().enumerate() {
        let o = offsets.get(p).copied().unwrap_or(0);
        if get_bit(state, o, pat.items.len()) {
            acc.set(p);
        }
    }
    acc
}

fn word(parent: &[Option<(usize, u32)>], mut id: usize) -> Vec<u32> {
    let mut out = Vec::new();
    while let Some(Some((p, l))) = parent.get(id) {
        out.push(*l);
        id = *p;
    }
    out.reverse();
    out
}

fn set_bit(v: &mut [u64], offset: usize, i: usize) {
    if let Some(w) = v.get_mut(offset + i / 64) {
        *w |= 1 << (i % 64);
    }
}

fn get_bit(v: &[u64], offset: usize, i: usize) -> bool {
    v.get(offset + i / 64)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Epsilon closure: a star may match zero letters, so reaching position `i`
/// of a star item also reaches `i + 1`. Closure only moves forward, so one
/// ascending pass suffices.
fn close(pat: &Pattern, v: &mut [u64], offset: usize) {
    for (i, item) in pat.items.iter().enumerate() {
        if item.star && get_bit(v, offset, i) {
            set_bit(v, offset, i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(n: usize, l: usize) -> Item {
        let mut s = LetterSet::empty(n);
        s.insert(l);
        Item {
            star: false,
            set: s,
        }
    }
    fn star(n: usize) -> Item {
        Item {
            star: true,
            set: LetterSet::full(n),
        }
    }

    #[test]
    fn contains_patterns_give_all_subsets() {
        // Over {a, b, c}: "*a*" and "*b*" realise all four vectors.
        let n = 3;
        let a = Pattern {
            items: vec![star(n), lit(n, 0), star(n)],
        };
        let b = Pattern {
            items: vec![star(n), lit(n, 1), star(n)],
        };
        let e = explore(&[a, b], n, 1000, false);
        assert!(e.complete);
        let mut v: Vec<(bool, bool)> = e
            .classes
            .iter()
            .map(|c| (c.accepts.get(0), c.accepts.get(1)))
            .collect();
        v.sort();
        assert_eq!(
            v,
            vec![(false, false), (false, true), (true, false), (true, true)]
        );
        // The witness for "both" is a shortest word: "ab".
        let both = e
            .classes
            .iter()
            .find(|c| c.accepts.get(0) && c.accepts.get(1))
            .map(|c| c.witness.clone());
        assert_eq!(both, Some(vec![0, 1]));
    }

    #[test]
    fn contained_pattern_never_alone() {
        // "a" implies "a*": the vector (a, not a*) is not realisable.
        let n = 2;
        let a = Pattern {
            items: vec![lit(n, 0)],
        };
        let a_star = Pattern {
            items: vec![lit(n, 0), star(n)],
        };
        let e = explore(&[a, a_star], n, 1000, false);
        assert!(e.complete);
        assert!(!e
            .classes
            .iter()
            .any(|c| c.accepts.get(0) && !c.accepts.get(1)));
        assert!(e
            .classes
            .iter()
            .any(|c| c.accepts.get(0) && c.accepts.get(1)));
    }

    #[test]
    fn state_limit_is_reported() {
        let n = 2;
        let pats: Vec<Pattern> = (0..6)
            .map(|k| Pattern {
                items: std::iter::repeat_n(star(n), 1)
                    .chain(std::iter::repeat_n(lit(n, 0), k + 1))
                    .collect(),
            })
            .collect();
        let e = explore(&pats, n, 3, false);
        assert!(!e.complete);
    }
}
