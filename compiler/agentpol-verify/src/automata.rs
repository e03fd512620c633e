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

    /// Adds every letter of `other`.
    fn union_with(&mut self, other: &LetterSet) {
        for (w, o) in self.0.iter_mut().zip(&other.0) {
            *w |= o;
        }
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

/// Live positions the product states may hold in all, besides the state
/// count: a pattern like `*a*a*…` with k stars has k states of up to 2k live
/// positions each, so a state limit alone still allowed quadratic time and
/// memory (20,000 stars: 290 s). Past this the result is incomplete, which
/// the verifier reports as undecided, never as a proof. 4 Mi positions are
/// 16 MiB.
const MAX_POSITIONS: usize = 1 << 22;

/// Explores the product of `patterns` over an alphabet of `letters` letters,
/// trying letters in index order (so callers order letters by preference).
/// Stops after `max_states` product states.
pub(crate) fn explore(
    patterns: &[Pattern],
    letters: usize,
    max_states: usize,
    want_others: bool,
) -> Explored {
    // A product state is the sorted set of live positions, numbered globally:
    // pattern `p`'s position `i` (0..=len) is `offsets[p] + i`. Sparse on
    // purpose: a long pattern (a 60,000-segment glob) has a position per
    // item but only a few live at once, and a dense bitset per state made
    // both time and memory quadratic in its length.
    let mut offsets: Vec<u32> = Vec::with_capacity(patterns.len());
    let mut owner: Vec<(usize, usize)> = Vec::new();
    for (p, pat) in patterns.iter().enumerate() {
        offsets.push(u32::try_from(owner.len()).unwrap_or(u32::MAX));
        owner.extend((0..=pat.items.len()).map(|i| (p, i)));
    }
    let item = |x: u32| -> Option<&Item> {
        let &(p, i) = owner.get(x as usize)?;
        patterns.get(p)?.items.get(i)
    };

    let start = close(offsets.clone(), &item);

    let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
    // (parent state, letter) per state; the start has no parent.
    let mut parent: Vec<Option<(usize, u32)>> = Vec::new();
    let mut queue: Vec<Vec<u32>> = Vec::new();
    let mut by_vector: HashMap<Bits, usize> = HashMap::new();
    let mut classes: Vec<Class> = Vec::new();
    let accepts = |state: &[u32]| -> Bits {
        let mut acc = Bits::new(patterns.len());
        for &x in state {
            if let Some(&(p, i)) = owner.get(x as usize) {
                if patterns.get(p).is_some_and(|pat| pat.items.len() == i) {
                    acc.set(p);
                }
            }
        }
        acc
    };

    index.insert(start.clone(), 0);
    parent.push(None);
    queue.push(start);
    let mut head = 0;
    let mut complete = true;
    let mut held = 0usize;
    while head < queue.len() {
        let state = queue.get(head).cloned().unwrap_or_default();
        let id = head;
        head += 1;

        let acc = accepts(&state);
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

        // Live positions that have an item to consume: only they can move.
        let active: Vec<(u32, &Item)> = state
            .iter()
            .filter_map(|&x| item(x).map(|it| (x, it)))
            .collect();
        for letter in letters_to_try(&active, letters) {
            let next: Vec<u32> = active
                .iter()
                .filter(|(_, it)| it.set.contains(letter))
                .map(|&(x, it)| if it.star { x } else { x + 1 })
                .collect();
            let next = close(next, &item);
            // All-dead states still count: the word matches no pattern, which
            // is a vector like any other (and is usually realisable).
            if index.contains_key(&next) {
                // A second way into a known state is another word of its class.
                if want_others {
                    let acc = accepts(&next);
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
            held += next.len();
            if index.len() >= max_states || held > MAX_POSITIONS {
                complete = false;
                break;
            }
            index.insert(next.clone(), queue.len());
            parent.push(Some((id, letter as u32)));
            queue.push(next);
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

/// The letters worth trying from a state, ascending: every letter some live
/// item accepts, and the first few that none accepts. Those all lead to the
/// same all-dead state, so after the first (which finds or makes it) and the
/// next [`OTHERS_PER_CLASS`] (which may add other words to its class), the
/// rest change nothing. Skipping them makes a state's cost follow its live
/// items, not the alphabet: with a set of N literal paths the alphabet has N
/// letters, and trying each from each of the N states was quadratic.
fn letters_to_try(active: &[(u32, &Item)], letters: usize) -> Vec<usize> {
    let mut accepted = LetterSet::empty(letters);
    for (_, it) in active {
        accepted.union_with(&it.set);
    }
    let mut out = Vec::new();
    let mut dead_left = 1 + OTHERS_PER_CLASS;
    for (k, &w) in accepted.0.iter().enumerate() {
        if w == 0 && dead_left == 0 {
            continue;
        }
        for b in 0..64 {
            let letter = k * 64 + b;
            if letter >= letters {
                break;
            }
            if w & (1 << b) != 0 {
                out.push(letter);
            } else if dead_left > 0 {
                dead_left -= 1;
                out.push(letter);
            }
        }
    }
    out
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

/// Epsilon closure of a set of live positions, returned sorted and without
/// duplicates: a star may match zero letters, so reaching position `x` of a
/// star item also reaches `x + 1` (the same pattern's next position: a star
/// is never a pattern's end position). Closure only moves forward by one, so
/// one ascending merge of the input with the one pending successor suffices:
/// linear in the positions reached, whatever the patterns' lengths.
fn close<'a>(mut live: Vec<u32>, item: &impl Fn(u32) -> Option<&'a Item>) -> Vec<u32> {
    live.sort_unstable();
    live.dedup();
    let mut out = Vec::with_capacity(live.len());
    let mut input = live.into_iter().peekable();
    let mut carry: Option<u32> = None;
    loop {
        let x = match carry.take() {
            Some(c) => {
                if input.peek() == Some(&c) {
                    input.next();
                }
                c
            }
            None => match input.next() {
                Some(x) => x,
                None => break,
            },
        };
        out.push(x);
        if item(x).is_some_and(|it| it.star) {
            carry = Some(x + 1);
        }
    }
    out
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
    fn position_budget_stops_star_chains() {
        // `*a*a*…a*` with 20,000 stars: 20,000 states of up to 40,000 live
        // positions. Within the state limit, but past the position budget:
        // reported incomplete instead of exploring for minutes.
        let n = 2;
        let mut items = vec![star(n)];
        for _ in 0..20_000 {
            items.push(lit(n, 0));
            items.push(star(n));
        }
        let e = explore(&[Pattern { items }], n, 1_000_000, false);
        assert!(!e.complete);
        assert!(e.states < 20_000, "{} states", e.states);
        // A short chain of the same shape is explored completely.
        let mut items = vec![star(n)];
        for _ in 0..50 {
            items.push(lit(n, 0));
            items.push(star(n));
        }
        let e = explore(&[Pattern { items }], n, 1_000_000, false);
        assert!(e.complete);
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
