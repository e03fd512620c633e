//! Path globs as Cedar conditions over a path record.
//!
//! A path (the resource of `fs::*` and `exec::exec`, or a `path` tool
//! argument) is given to Cedar as a record:
//!
//! | attribute | value for `/home/agent/.ssh/id_rsa` |
//! |---|---|
//! | `path` | `"/home/agent/.ssh/id_rsa"` |
//! | `depth` | `4` (number of segments; `/` has 0) |
//! | `seg` | `{s0: "home", s1: "agent", s2: ".ssh", s3: "id_rsa"}` (first [`MAX_SEGMENTS`]) |
//! | `rseg` | `{s0: "id_rsa", s1: ".ssh", s2: "agent", s3: "home"}` (last [`MAX_SEGMENTS`], from the end) |
//!
//! Cedar's `like` `*` crosses `/`, a glob's `*` does not, so a glob is not
//! simply a `like` pattern. The encoding (proofs of exactness in README.md):
//!
//! * no `**`, only literal text and `*`: `depth == n && path like "..."`;
//!   with exactly `n` slashes in both, no `*` can swallow one;
//! * one `**` (`A/**/C`): `depth >= |A|+|C|`, a literal leading run of `A` as
//!   a `path like "/lit/*"` prefix, a literal trailing run of `C` as a
//!   `path like "*/lit"` suffix, and every other segment pinned by index,
//!   `seg.sI` counted from the start for `A`, `rseg.sJ` from the end for `C`;
//!   inside one segment `*` cannot cross `/` because the value has none;
//! * several `**` with only literal segments: every `**` is either zero
//!   segments or `/*/` (one or more whole segments), a `like` per choice.
//!
//! Character classes are expanded into alternatives when there are at most
//! [`MAX_CLASS_ALTERNATIVES`]. What remains (`?`, negated or large classes,
//! several `**` around wildcard segments, segments deeper than
//! [`MAX_SEGMENTS`]) is approximated in the direction the caller asks for and
//! reported as inexact.

use crate::names::MAX_SEGMENTS;
use crate::text::{attr, has, like_lit, long_lit, pat_literal, string_lit, Expr, Pat};
use agentpol_core::ir::{Glob, Piece, Segment};

/// Most alternatives a segment's character classes expand into.
pub const MAX_CLASS_ALTERNATIVES: usize = 64;

/// Most `**` expanded exactly in an all-literal glob (2^n `like` patterns).
const MAX_BRANCH_ANYS: usize = 6;

/// Which way an inexact encoding may err.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Match a subset of what the source matches (for permits).
    Lower,
    /// Match a superset (for forbids).
    Upper,
}

impl Bound {
    /// The other direction (under `not`).
    pub(crate) fn flip(self) -> Bound {
        match self {
            Bound::Lower => Bound::Upper,
            Bound::Upper => Bound::Lower,
        }
    }
}

/// A Cedar condition and whether it means exactly what the source said.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Enc {
    /// The condition.
    pub(crate) expr: Expr,
    /// Why it is not exact (empty: exact).
    pub(crate) losses: Vec<String>,
}

impl Enc {
    /// An exact condition.
    pub(crate) fn exact(expr: Expr) -> Enc {
        Enc {
            expr,
            losses: Vec::new(),
        }
    }

    /// An approximated condition.
    pub(crate) fn lossy(expr: Expr, why: impl Into<String>) -> Enc {
        Enc {
            expr,
            losses: vec![why.into()],
        }
    }

    /// Conjunction.
    pub(crate) fn and(items: impl IntoIterator<Item = Enc>) -> Enc {
        let mut losses = Vec::new();
        let mut exprs = Vec::new();
        for e in items {
            merge(&mut losses, e.losses);
            exprs.push(e.expr);
        }
        Enc {
            expr: Expr::and(exprs),
            losses,
        }
    }

    /// Disjunction.
    pub(crate) fn or(items: impl IntoIterator<Item = Enc>) -> Enc {
        let mut losses = Vec::new();
        let mut exprs = Vec::new();
        for e in items {
            merge(&mut losses, e.losses);
            exprs.push(e.expr);
        }
        Enc {
            expr: Expr::or(exprs),
            losses,
        }
    }

    /// Negation (the caller encoded the operand with the flipped bound).
    pub(crate) fn not(self) -> Enc {
        Enc {
            expr: Expr::not(self.expr),
            losses: self.losses,
        }
    }
}

fn merge(into: &mut Vec<String>, from: Vec<String>) {
    for l in from {
        if !into.contains(&l) {
            into.push(l);
        }
    }
}

/// Accessors of a path record (`resource`, or `context.args.p`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathRec<'a> {
    /// The record expression.
    pub(crate) base: &'a str,
}

impl PathRec<'_> {
    fn path(&self) -> String {
        attr(self.base, "path")
    }
    fn depth(&self) -> String {
        attr(self.base, "depth")
    }
    fn seg(&self, pos: Pos) -> (String, String) {
        let (rec, i) = match pos {
            Pos::Start(i) => (attr(self.base, "seg"), i),
            Pos::End(i) => (attr(self.base, "rseg"), i),
        };
        let name = format!("s{i}");
        (has(&rec, &name), attr(&rec, &name))
    }
}

/// A segment position: from the start (0 = first) or from the end (0 = last).
#[derive(Clone, Copy, Debug)]
enum Pos {
    Start(usize),
    End(usize),
}

impl Pos {
    fn index(self) -> usize {
        match self {
            Pos::Start(i) | Pos::End(i) => i,
        }
    }
}

/// A segment after folding wildcard-free `Wild`s into `Lit`s.
#[derive(Clone, Debug)]
enum Seg<'g> {
    Lit(String),
    Any,
    Wild(&'g [Piece]),
}

impl Seg<'_> {
    fn literal(&self) -> Option<&str> {
        match self {
            Seg::Lit(s) => Some(s),
            _ => None,
        }
    }
}

fn segments(g: &Glob) -> Vec<Seg<'_>> {
    g.segments
        .iter()
        .map(|s| match s {
            Segment::Lit(l) => Seg::Lit(l.clone()),
            Segment::Any => Seg::Any,
            Segment::Wild(pieces) => {
                let mut lit = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => lit.push_str(l),
                        _ => return Seg::Wild(pieces),
                    }
                }
                Seg::Lit(lit)
            }
        })
        .collect()
}

/// The Cedar condition for "the path record `rec` matches `glob`".
pub(crate) fn encode(glob: &Glob, rec: PathRec<'_>, bound: Bound) -> Enc {
    let segs = segments(glob);
    let anys: Vec<usize> = segs
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Seg::Any))
        .map(|(i, _)| i)
        .collect();
    match anys.as_slice() {
        [] => fixed(&segs, rec, bound),
        [i] => one(
            segs.get(..*i).unwrap_or(&[]),
            segs.get(i + 1..).unwrap_or(&[]),
            rec,
            bound,
        ),
        _ => {
            let all_literal = segs.iter().all(|s| !matches!(s, Seg::Wild(_)));
            if all_literal && anys.len() <= MAX_BRANCH_ANYS {
                return branches(&segs, rec);
            }
            several(&segs, &anys, rec, bound, glob)
        }
    }
}

/// `/` followed by the literal segments joined by `/`.
fn join(lits: &[&str]) -> String {
    let mut s = String::new();
    for l in lits {
        s.push('/');
        s.push_str(l);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

fn like_atom(subject: &str, pat: &[Pat]) -> Expr {
    match pat_literal(pat) {
        Some(lit) => Expr::atom(format!("{subject} == {}", string_lit(&lit))),
        None => Expr::atom(format!("{subject} like {}", like_lit(pat))),
    }
}

/// No `**`: exactly `n` segments.
fn fixed(segs: &[Seg<'_>], rec: PathRec<'_>, bound: Bound) -> Enc {
    let n = segs.len();
    let lits: Option<Vec<&str>> = segs.iter().map(Seg::literal).collect();
    if let Some(lits) = lits {
        return Enc::exact(Expr::atom(format!(
            "{} == {}",
            rec.path(),
            string_lit(&join(&lits))
        )));
    }
    let depth = Expr::atom(format!("{} == {}", rec.depth(), long_lit(n as i64)));
    // Only literal text and stars: one `like` with the depth pinned is exact.
    let mut pat = Vec::new();
    let mut simple = true;
    for s in segs {
        pat.push(Pat::Lit("/".into()));
        match s {
            Seg::Lit(l) => pat.push(Pat::Lit(l.clone())),
            Seg::Wild(pieces) => {
                for p in pieces.iter() {
                    match p {
                        Piece::Lit(l) => pat.push(Pat::Lit(l.clone())),
                        Piece::Star => pat.push(Pat::Star),
                        _ => simple = false,
                    }
                }
            }
            Seg::Any => simple = false,
        }
    }
    if simple {
        return Enc::exact(Expr::and([depth, like_atom(&rec.path(), &pat)]));
    }
    let lead = segs.iter().take_while(|s| s.literal().is_some()).count();
    let mut parts = vec![Enc::exact(depth)];
    if lead > 0 {
        parts.push(prefix(segs.get(..lead).unwrap_or(&[]), rec));
    }
    for (i, s) in segs.iter().enumerate().skip(lead) {
        parts.push(pin(s, Pos::Start(i), rec, bound));
    }
    Enc::and(parts)
}

/// `path like "/l1/l2/*"` for a literal leading run.
fn prefix(lits: &[Seg<'_>], rec: PathRec<'_>) -> Enc {
    let names: Vec<&str> = lits.iter().filter_map(Seg::literal).collect();
    let mut pat = vec![Pat::Lit(join(&names)), Pat::Lit("/".into()), Pat::Star];
    if names.is_empty() {
        pat.remove(0);
    }
    Enc::exact(like_atom(&rec.path(), &pat))
}

/// `path like "*/l1/l2"` for a literal trailing run.
fn suffix(lits: &[Seg<'_>], rec: PathRec<'_>) -> Enc {
    let names: Vec<&str> = lits.iter().filter_map(Seg::literal).collect();
    let pat = vec![Pat::Star, Pat::Lit(join(&names))];
    Enc::exact(like_atom(&rec.path(), &pat))
}

/// One `**` between fixed prefix `a` and fixed suffix `c`.
fn one(a: &[Seg<'_>], c: &[Seg<'_>], rec: PathRec<'_>, bound: Bound) -> Enc {
    let (p, q) = (a.len(), c.len());
    let mut parts = Vec::new();
    let lead = a.iter().take_while(|s| s.literal().is_some()).count();
    // `/lit/**` needs no depth: `path == "/lit" || path like "/lit/*"` says it all.
    if p + q > 0 && !(lead == p && q == 0) {
        parts.push(Enc::exact(Expr::atom(format!(
            "{} >= {}",
            rec.depth(),
            long_lit((p + q) as i64)
        ))));
    }
    if lead == p && p > 0 {
        let names: Vec<&str> = a.iter().filter_map(Seg::literal).collect();
        let below = prefix(a, rec);
        if q == 0 {
            // `/a/**` matches `/a` itself as well as everything below it.
            let itself = Expr::atom(format!("{} == {}", rec.path(), string_lit(&join(&names))));
            parts.push(Enc::or([Enc::exact(itself), below]));
        } else {
            parts.push(below);
        }
    } else {
        if lead > 0 {
            parts.push(prefix(a.get(..lead).unwrap_or(&[]), rec));
        }
        for (i, s) in a.iter().enumerate().skip(lead) {
            parts.push(pin(s, Pos::Start(i), rec, bound));
        }
    }
    let trail = c.iter().rev().take_while(|s| s.literal().is_some()).count();
    if trail > 0 {
        parts.push(suffix(c.get(q - trail..).unwrap_or(&[]), rec));
    }
    for (j, s) in c.iter().enumerate().take(q - trail) {
        parts.push(pin(s, Pos::End(q - 1 - j), rec, bound));
    }
    Enc::and(parts)
}

/// Several `**`, every other segment literal: one `like` per choice of
/// "zero segments" or "one or more" for each `**` (exact; see README.md).
fn branches(segs: &[Seg<'_>], rec: PathRec<'_>) -> Enc {
    let mut pats: Vec<Vec<Pat>> = vec![Vec::new()];
    for s in segs {
        match s {
            Seg::Lit(l) => {
                for p in &mut pats {
                    p.push(Pat::Lit(format!("/{l}")));
                }
            }
            Seg::Any => {
                let more: Vec<Vec<Pat>> = pats
                    .iter()
                    .map(|p| {
                        let mut p = p.clone();
                        p.push(Pat::Lit("/".into()));
                        p.push(Pat::Star);
                        p
                    })
                    .collect();
                pats.extend(more);
            }
            Seg::Wild(_) => {}
        }
    }
    let path = rec.path();
    Enc::or(pats.into_iter().map(|p| {
        let p = if p.is_empty() {
            vec![Pat::Lit("/".into())]
        } else {
            p
        };
        Enc::exact(like_atom(&path, &p))
    }))
}

/// Several `**` around wildcard segments: no exact encoding.
fn several(segs: &[Seg<'_>], anys: &[usize], rec: PathRec<'_>, bound: Bound, glob: &Glob) -> Enc {
    let why = format!(
        "glob `{}` has several `**` around wildcard segments, which index-pinned segments cannot express",
        glob.pattern
    );
    let first = anys.first().copied().unwrap_or(0);
    let last = anys.last().copied().unwrap_or(0);
    match bound {
        Bound::Upper => {
            // Keep what is fixed at both ends; let the middle float freely.
            let a = segs.get(..first).unwrap_or(&[]);
            let c = segs.get(last + 1..).unwrap_or(&[]);
            let middle = segs
                .get(first..=last)
                .unwrap_or(&[])
                .iter()
                .filter(|s| !matches!(s, Seg::Any))
                .count();
            let mut e = one(a, c, rec, bound);
            let min = a.len() + c.len() + middle;
            e = Enc::and([
                e,
                Enc::exact(Expr::atom(format!(
                    "{} >= {}",
                    rec.depth(),
                    long_lit(min as i64)
                ))),
            ]);
            e.losses.push(why);
            e
        }
        Bound::Lower => {
            // The union of the globs that keep one `**` and collapse the
            // others to zero segments: each matches a subset of the source.
            let mut alts = Vec::new();
            for keep in anys {
                let a: Vec<Seg<'_>> = segs
                    .get(..*keep)
                    .unwrap_or(&[])
                    .iter()
                    .filter(|s| !matches!(s, Seg::Any))
                    .cloned()
                    .collect();
                let c: Vec<Seg<'_>> = segs
                    .get(keep + 1..)
                    .unwrap_or(&[])
                    .iter()
                    .filter(|s| !matches!(s, Seg::Any))
                    .cloned()
                    .collect();
                alts.push(one(&a, &c, rec, bound));
            }
            let mut e = Enc::or(alts);
            e.losses.push(why);
            e
        }
    }
}

/// One fixed segment at a known position.
fn pin(seg: &Seg<'_>, pos: Pos, rec: PathRec<'_>, bound: Bound) -> Enc {
    let pieces = match seg {
        Seg::Wild(p) => Some(*p),
        _ => None,
    };
    // A segment that is only stars matches any segment, and `depth` already
    // says the segment exists.
    if let Some(p) = pieces {
        if p.iter().all(|x| matches!(x, Piece::Star)) {
            return Enc::exact(Expr::True);
        }
    }
    if pos.index() >= MAX_SEGMENTS {
        let why = format!(
            "a glob segment lies deeper than the {MAX_SEGMENTS} segments a request exposes"
        );
        return match bound {
            Bound::Upper => Enc::lossy(Expr::True, why),
            Bound::Lower => Enc::lossy(Expr::False, why),
        };
    }
    let (has_seg, seg_attr) = rec.seg(pos);
    let test = match (seg, pieces) {
        (Seg::Lit(l), _) => Enc::exact(Expr::atom(format!("{seg_attr} == {}", string_lit(l)))),
        (_, Some(pieces)) => match expand(pieces) {
            Ok(alts) => Enc::exact(Expr::or(alts.iter().map(|p| like_atom(&seg_attr, p)))),
            Err(why) => match bound {
                Bound::Upper => {
                    let widened: Vec<Pat> = pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Lit(l) => Pat::Lit(l.clone()),
                            _ => Pat::Star,
                        })
                        .collect();
                    Enc::lossy(like_atom(&seg_attr, &widened), why)
                }
                Bound::Lower => Enc::lossy(Expr::False, why),
            },
        },
        _ => Enc::exact(Expr::True),
    };
    Enc::and([Enc::exact(Expr::atom(has_seg)), test])
}

/// The `like` patterns a segment's pieces stand for, or why there is none.
fn expand(pieces: &[Piece]) -> Result<Vec<Vec<Pat>>, String> {
    let mut alts: Vec<Vec<Pat>> = vec![Vec::new()];
    for p in pieces {
        match p {
            Piece::Lit(l) => alts.iter_mut().for_each(|a| a.push(Pat::Lit(l.clone()))),
            Piece::Star => alts.iter_mut().for_each(|a| a.push(Pat::Star)),
            Piece::Any => {
                return Err("`?` (exactly one character) has no Cedar counterpart".to_string())
            }
            Piece::Class { negated: true, .. } => {
                return Err("a negated character class has no Cedar counterpart".to_string())
            }
            Piece::Class {
                negated: false,
                ranges,
            } => {
                let mut chars: Vec<char> = Vec::new();
                for (lo, hi) in ranges {
                    for c in *lo..=*hi {
                        if !chars.contains(&c) {
                            chars.push(c);
                        }
                        if chars.len() * alts.len() > MAX_CLASS_ALTERNATIVES {
                            return Err(format!(
                                "character classes expand to more than {MAX_CLASS_ALTERNATIVES} alternatives"
                            ));
                        }
                    }
                }
                let mut next = Vec::with_capacity(alts.len() * chars.len());
                for a in &alts {
                    for c in &chars {
                        let mut a = a.clone();
                        a.push(Pat::Lit(c.to_string()));
                        next.push(a);
                    }
                }
                alts = next;
            }
        }
    }
    Ok(alts)
}
