//! Cheap, sound pre-filters: which rules *may* match a common request.
//!
//! Only pairs that pass these filters reach the solver. Every filter answers
//! "maybe" whenever it is not certain, so pruning never hides a finding: the
//! solver decides every pair that survives. Indexes (a path-prefix trie for
//! globs, interval lists for ports and address ranges, buckets for tool
//! arguments and env names) find the candidates of a rule without comparing
//! it with every other rule of its partition.

use crate::strings::CharPattern;
use agentpol_core::ir::{
    Atom, CmpOp, Glob, Host, Matcher, Piece, Proto, Scalar, Segment, SetOperand, Test, Value,
};
use ipnet::IpNet;
use std::collections::{BTreeSet, HashMap};

/// May the two matchers (same partition) match one request?
pub(crate) fn may_overlap(a: &Matcher, b: &Matcher) -> bool {
    match (a, b) {
        (Matcher::Fs { globs: x }, Matcher::Fs { globs: y }) => globs_may_overlap(x, y),
        (
            Matcher::Exec {
                binaries: x,
                args: ax,
            },
            Matcher::Exec {
                binaries: y,
                args: ay,
            },
        ) => {
            globs_may_overlap(x, y)
                && match (ax, ay) {
                    (Some(p), Some(q)) => {
                        let count_ok = match (p.rest, q.rest) {
                            (false, false) => p.items.len() == q.items.len(),
                            (true, false) => q.items.len() >= p.items.len(),
                            (false, true) => p.items.len() >= q.items.len(),
                            (true, true) => true,
                        };
                        count_ok
                            && p.items.iter().zip(&q.items).all(|(i, j)| {
                                like_may_overlap(
                                    &CharPattern::like(&i.pieces),
                                    &CharPattern::like(&j.pieces),
                                )
                            })
                    }
                    _ => true,
                }
        }
        (
            Matcher::Net {
                proto: p1,
                hosts: h1,
                ports: r1,
            },
            Matcher::Net {
                proto: p2,
                hosts: h2,
                ports: r2,
            },
        ) => {
            let proto = !matches!(
                (p1, p2),
                (Proto::Tcp, Proto::Udp) | (Proto::Udp, Proto::Tcp)
            );
            let ports = match (r1, r2) {
                (Some(x), Some(y)) => x
                    .iter()
                    .any(|a| y.iter().any(|b| a.lo <= b.hi && b.lo <= a.hi)),
                _ => true,
            };
            proto && ports && hosts_may_overlap(h1.as_deref(), h2.as_deref())
        }
        (
            Matcher::Tool {
                tool: t1,
                conditions: c1,
            },
            Matcher::Tool {
                tool: t2,
                conditions: c2,
            },
        ) => {
            let tools = match (t1, t2) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            tools && conditions_may_overlap(c1, c2)
        }
        (Matcher::Env { vars: x }, Matcher::Env { vars: y }) => x.iter().any(|v| y.contains(v)),
        _ => false,
    }
}

fn hosts_may_overlap(a: Option<&[Host]>, b: Option<&[Host]>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return true;
    };
    let has = |hs: &[Host], cidr: bool| hs.iter().any(|h| matches!(h, Host::Cidr(_)) == cidr);
    // A request carries both an address and a domain, so a CIDR rule and a
    // domain rule can match the same request.
    if (has(a, true) && has(b, false)) || (has(a, false) && has(b, true)) {
        return true;
    }
    a.iter().any(|x| {
        b.iter().any(|y| match (x, y) {
            (Host::Cidr(n), Host::Cidr(m)) => cidr_overlap(n, m),
            (Host::Domain(d), Host::Domain(e)) => {
                let p = CharPattern::domain(&d.name, d.wildcard);
                let q = CharPattern::domain(&e.name, e.wildcard);
                match (d.wildcard, e.wildcard) {
                    (false, false) => d.name == e.name,
                    (true, false) => p.matches(&e.name),
                    (false, true) => q.matches(&d.name),
                    (true, true) => {
                        d.name == e.name
                            || d.name.ends_with(&format!(".{}", e.name))
                            || e.name.ends_with(&format!(".{}", d.name))
                    }
                }
            }
            _ => true,
        })
    })
}

/// The inclusive address range of a network (IPv4 in its own space).
pub(crate) fn net_range(n: &IpNet) -> (bool, u128, u128) {
    let n = crate::formula::canonical_net(n);
    match n {
        IpNet::V4(v) => (
            true,
            u128::from(u32::from(v.network())),
            u128::from(u32::from(v.broadcast())),
        ),
        IpNet::V6(v) => (false, u128::from(v.network()), u128::from(v.broadcast())),
    }
}

fn cidr_overlap(a: &IpNet, b: &IpNet) -> bool {
    let (f1, lo1, hi1) = net_range(a);
    let (f2, lo2, hi2) = net_range(b);
    f1 == f2 && lo1 <= hi2 && lo2 <= hi1
}

fn globs_may_overlap(a: &[Glob], b: &[Glob]) -> bool {
    a.iter().any(|x| b.iter().any(|y| glob_may_overlap(x, y)))
}

/// May two globs match a common path? Compares the rigid parts before the
/// first and after the last `**`, segment by segment.
pub(crate) fn glob_may_overlap(a: &Glob, b: &Glob) -> bool {
    let any_a = a.segments.contains(&Segment::Any);
    let any_b = b.segments.contains(&Segment::Any);
    let fixed = |g: &Glob| g.segments.iter().filter(|s| **s != Segment::Any).count();
    if !any_a && !any_b && a.segments.len() != b.segments.len() {
        return false;
    }
    if !any_a && a.segments.len() < fixed(b) {
        return false;
    }
    if !any_b && b.segments.len() < fixed(a) {
        return false;
    }
    let head = |g: &Glob| -> Vec<Segment> {
        g.segments
            .iter()
            .take_while(|s| **s != Segment::Any)
            .cloned()
            .collect()
    };
    let tail = |g: &Glob| -> Vec<Segment> {
        let mut t: Vec<Segment> = g
            .segments
            .iter()
            .rev()
            .take_while(|s| **s != Segment::Any)
            .cloned()
            .collect();
        t.reverse();
        t
    };
    let (ha, hb) = (head(a), head(b));
    if !ha.iter().zip(&hb).all(|(x, y)| seg_may_overlap(x, y)) {
        return false;
    }
    let (ta, tb) = (tail(a), tail(b));
    ta.iter()
        .rev()
        .zip(tb.iter().rev())
        .all(|(x, y)| seg_may_overlap(x, y))
}

fn seg_may_overlap(a: &Segment, b: &Segment) -> bool {
    match (a, b) {
        (Segment::Lit(x), Segment::Lit(y)) => x == y,
        (Segment::Lit(x), Segment::Wild(p)) | (Segment::Wild(p), Segment::Lit(x)) => {
            CharPattern::glob_segment(p).matches(x)
        }
        (Segment::Wild(p), Segment::Wild(q)) => pieces_may_overlap(p, q),
        _ => true,
    }
}

fn pieces_may_overlap(p: &[Piece], q: &[Piece]) -> bool {
    let lead = |ps: &[Piece]| match ps.first() {
        Some(Piece::Lit(s)) => s.clone(),
        _ => String::new(),
    };
    let trail = |ps: &[Piece]| match ps.last() {
        Some(Piece::Lit(s)) => s.clone(),
        _ => String::new(),
    };
    let (a, b) = (lead(p), lead(q));
    let prefix_ok = a.starts_with(&b) || b.starts_with(&a);
    let (c, d) = (trail(p), trail(q));
    let suffix_ok = c.ends_with(&d) || d.ends_with(&c);
    prefix_ok && suffix_ok
}

fn like_may_overlap(p: &CharPattern, q: &CharPattern) -> bool {
    // Literal heads and tails must agree; anything finer is the solver's job.
    let lead = |x: &CharPattern| -> Vec<u32> {
        x.0.iter()
            .map_while(|i| match i {
                crate::strings::CItem::One(s) => single(s),
                crate::strings::CItem::Star(_) => None,
            })
            .collect()
    };
    let trail = |x: &CharPattern| -> Vec<u32> {
        let mut v: Vec<u32> =
            x.0.iter()
                .rev()
                .map_while(|i| match i {
                    crate::strings::CItem::One(s) => single(s),
                    crate::strings::CItem::Star(_) => None,
                })
                .collect();
        v.reverse();
        v
    };
    let has_star = |x: &CharPattern| {
        x.0.iter()
            .any(|i| matches!(i, crate::strings::CItem::Star(_)))
    };
    let (a, b) = (lead(p), lead(q));
    if !(a.starts_with(&b) || b.starts_with(&a)) {
        return false;
    }
    if !has_star(p) && !has_star(q) {
        return a == b;
    }
    let (c, d) = (trail(p), trail(q));
    c.ends_with(&d) || d.ends_with(&c)
}

fn single(s: &crate::strings::CharSet) -> Option<u32> {
    match s.as_ranges() {
        [(a, b)] if a == b => Some(*a),
        _ => None,
    }
}

/// What the positive literal tests of a conjunction pin down, per operand.
#[derive(Default)]
struct Facts {
    /// Operand = one of these values (intersection of positive `==`/`in` literals).
    values: HashMap<(String, Option<agentpol_core::ir::UrlField>), BTreeSet<Value>>,
    /// Integer bounds per operand.
    bounds: HashMap<(String, Option<agentpol_core::ir::UrlField>), (i128, i128)>,
}

fn facts(cs: &[Atom]) -> Facts {
    let mut f = Facts::default();
    for a in cs.iter().filter(|a| !a.negated) {
        match &a.test {
            Test::Eq {
                lhs,
                rhs: Scalar::Lit(v),
            } => {
                let key = (lhs.arg.clone(), lhs.field);
                let set: BTreeSet<Value> = [v.clone()].into();
                narrow(&mut f.values, key, set);
            }
            Test::In {
                lhs,
                set: SetOperand::Lit(items),
            } => {
                let key = (lhs.arg.clone(), lhs.field);
                narrow(&mut f.values, key, items.clone());
            }
            Test::Cmp {
                lhs,
                op,
                rhs: Scalar::Lit(Value::Int(v)),
            } => {
                let key = (lhs.arg.clone(), lhs.field);
                let v = i128::from(*v);
                let e = f.bounds.entry(key).or_insert((i128::MIN, i128::MAX));
                match op {
                    CmpOp::Lt => e.1 = e.1.min(v - 1),
                    CmpOp::Le => e.1 = e.1.min(v),
                    CmpOp::Gt => e.0 = e.0.max(v + 1),
                    CmpOp::Ge => e.0 = e.0.max(v),
                }
            }
            _ => {}
        }
    }
    f
}

fn narrow(
    m: &mut HashMap<(String, Option<agentpol_core::ir::UrlField>), BTreeSet<Value>>,
    key: (String, Option<agentpol_core::ir::UrlField>),
    set: BTreeSet<Value>,
) {
    match m.get_mut(&key) {
        Some(old) => {
            let both: BTreeSet<Value> = old.intersection(&set).cloned().collect();
            *old = both;
        }
        None => {
            m.insert(key, set);
        }
    }
}

fn conditions_may_overlap(a: &[Atom], b: &[Atom]) -> bool {
    // The same test positive on one side and negated on the other.
    if a.iter()
        .any(|x| b.iter().any(|y| x.test == y.test && x.negated != y.negated))
    {
        return false;
    }
    let (fa, fb) = (facts(a), facts(b));
    for f in [&fa, &fb] {
        if f.values.values().any(BTreeSet::is_empty) {
            return false;
        }
        if f.bounds.values().any(|(lo, hi)| lo > hi) {
            return false;
        }
    }
    for (k, va) in &fa.values {
        if let Some(vb) = fb.values.get(k) {
            if va.is_disjoint(vb) {
                return false;
            }
        }
    }
    for (f, g) in [(&fa, &fb), (&fb, &fa)] {
        for (k, vs) in &f.values {
            if let Some((lo, hi)) = g.bounds.get(k) {
                let inside = vs.iter().any(|v| match v {
                    Value::Int(i) => (*lo..=*hi).contains(&i128::from(*i)),
                    _ => true,
                });
                if !inside {
                    return false;
                }
            }
        }
    }
    for (k, (lo1, hi1)) in &fa.bounds {
        if let Some((lo2, hi2)) = fb.bounds.get(k) {
            if lo1.max(lo2) > hi1.min(hi2) {
                return false;
            }
        }
    }
    // Positive `like` patterns (and literal values) on the same operand must agree.
    let likes = |cs: &[Atom]| -> Vec<((String, Option<agentpol_core::ir::UrlField>), CharPattern)> {
        cs.iter()
            .filter(|x| !x.negated)
            .filter_map(|x| match &x.test {
                Test::Like { lhs, pattern } => Some((
                    (lhs.arg.clone(), lhs.field),
                    CharPattern::like(&pattern.pieces),
                )),
                _ => None,
            })
            .collect()
    };
    let (la, lb) = (likes(a), likes(b));
    for (k, p) in &la {
        for (k2, q) in &lb {
            if k == k2 && !like_may_overlap(p, q) {
                return false;
            }
        }
    }
    for (f, ls) in [(&fa, &lb), (&fb, &la)] {
        for (k, p) in ls {
            if let Some(vs) = f.values.get(k) {
                let any = vs.iter().any(|v| match v {
                    Value::Str(s) => p.matches(s),
                    _ => true,
                });
                if !any {
                    return false;
                }
            }
        }
    }
    // A positive literal value on one side that the other side negates.
    for (f, other) in [(&fa, b), (&fb, a)] {
        for (k, vs) in &f.values {
            let excluded: BTreeSet<Value> = other
                .iter()
                .filter(|x| x.negated)
                .filter_map(|x| match &x.test {
                    Test::Eq {
                        lhs,
                        rhs: Scalar::Lit(v),
                    } if (lhs.arg.clone(), lhs.field) == *k => Some([v.clone()].into()),
                    Test::In {
                        lhs,
                        set: SetOperand::Lit(items),
                    } if (lhs.arg.clone(), lhs.field) == *k => Some(items.clone()),
                    _ => None,
                })
                .fold(BTreeSet::new(), |mut acc: BTreeSet<Value>, s| {
                    acc.extend(s);
                    acc
                });
            if !vs.is_empty() && vs.iter().all(|v| excluded.contains(v)) {
                return false;
            }
        }
    }
    true
}

/// Is the matcher certainly non-empty? (Answers false when unsure.)
pub(crate) fn surely_satisfiable(m: &Matcher) -> bool {
    let glob_ok = |g: &Glob| {
        g.segments.iter().all(|s| match s {
            Segment::Any => true,
            Segment::Lit(l) => !l.is_empty() && l != "." && l != ".." && !l.contains('/'),
            Segment::Wild(p) => {
                let cp = CharPattern::glob_segment(p);
                // A witness: each `One` takes the first character of its set.
                // A concrete valid segment the pattern matches, checked by matching it.
                cp.satisfiable()
                    && [cp.shortest(), cp.shortest_with_star()]
                        .into_iter()
                        .flatten()
                        .any(|w| !w.is_empty() && w != "." && w != ".." && cp.matches(&w))
            }
        })
    };
    match m {
        Matcher::Fs { globs } => globs.iter().any(glob_ok),
        Matcher::Exec { binaries, .. } => binaries.iter().any(glob_ok),
        Matcher::Net { hosts, ports, .. } => {
            hosts.as_ref().is_none_or(|h| !h.is_empty())
                && ports
                    .as_ref()
                    .is_none_or(|p| p.iter().any(|r| 1 <= r.lo && r.lo <= r.hi))
                && hosts.as_ref().is_none_or(|hs| {
                    hs.iter().any(|h| match h {
                        Host::Cidr(_) => true,
                        Host::Domain(d) => !d.name.is_empty() && !d.name.contains(".."),
                    })
                })
        }
        Matcher::Tool { conditions, .. } => conditions_surely_satisfiable(conditions),
        Matcher::Env { vars } => !vars.is_empty(),
    }
}

/// Finds the candidates of a rule among a partition's rules.
pub(crate) struct Index {
    kind: IndexKind,
}

enum IndexKind {
    /// fs and exec: a trie over the glob's literal prefix segments.
    Paths(Trie),
    /// net: interval lists on ports and address ranges.
    Net {
        ports: Intervals,
        no_ports: Vec<usize>,
        addrs: Intervals,
        no_addrs: Vec<usize>,
    },
    /// tool: buckets by the value an argument is pinned to.
    Tool {
        arg: Option<String>,
        buckets: HashMap<Value, Vec<usize>>,
        open: Vec<usize>,
    },
    /// env: buckets by variable name.
    Env(HashMap<String, Vec<usize>>),
    /// No rules.
    Empty,
}

#[derive(Default)]
struct Trie {
    here: Vec<usize>,
    kids: HashMap<String, Trie>,
}

// Loops, not recursion: a glob's literal prefix can have tens of thousands
// of segments, and the depth of this tree is the input's to choose.
impl Trie {
    fn insert(&mut self, path: &[String], id: usize) {
        let mut node = self;
        for s in path {
            node = node.kids.entry(s.clone()).or_default();
        }
        if node.here.last() != Some(&id) {
            node.here.push(id);
        }
    }
    fn collect_below(&self, out: &mut Vec<usize>) {
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.extend(&node.here);
            stack.extend(node.kids.values());
        }
    }
    fn query(&self, path: &[String], out: &mut Vec<usize>) {
        let mut node = self;
        for s in path {
            out.extend(&node.here);
            match node.kids.get(s) {
                Some(k) => node = k,
                None => return,
            }
        }
        node.collect_below(out);
    }
}

impl Drop for Trie {
    // The derived drop would recurse once per level.
    fn drop(&mut self) {
        let mut stack: Vec<Trie> = self.kids.drain().map(|(_, t)| t).collect();
        while let Some(mut t) = stack.pop() {
            stack.extend(t.kids.drain().map(|(_, k)| k));
        }
    }
}

fn literal_prefix(g: &Glob) -> Vec<String> {
    g.segments
        .iter()
        .map_while(|s| match s {
            Segment::Lit(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

/// Intervals sorted by start, in blocks with the largest end of each block,
/// so a stabbing query skips whole blocks that end too early.
#[derive(Default)]
struct Intervals {
    items: Vec<(u128, u128, usize)>,
    block_max: Vec<u128>,
}

const BLOCK: usize = 32;

impl Intervals {
    fn build(mut items: Vec<(u128, u128, usize)>) -> Intervals {
        items.sort_unstable();
        let block_max = items
            .chunks(BLOCK)
            .map(|c| c.iter().map(|x| x.1).max().unwrap_or(0))
            .collect();
        Intervals { items, block_max }
    }
    fn query(&self, lo: u128, hi: u128, out: &mut Vec<usize>) {
        let end = self.items.partition_point(|x| x.0 <= hi);
        for (b, chunk) in self.items.chunks(BLOCK).enumerate() {
            if b * BLOCK >= end {
                break;
            }
            if self.block_max.get(b).is_some_and(|m| *m < lo) {
                continue;
            }
            for (i, x) in chunk.iter().enumerate() {
                if b * BLOCK + i < end && x.1 >= lo {
                    out.push(x.2);
                }
            }
        }
    }
}

/// The address intervals of a rule's hosts, or None when it is not restricted
/// to addresses only (no hosts, or some domain).
fn addr_intervals(m: &Matcher) -> Option<Vec<(u128, u128)>> {
    let Matcher::Net {
        hosts: Some(hosts), ..
    } = m
    else {
        return None;
    };
    let mut out = Vec::new();
    for h in hosts {
        match h {
            Host::Cidr(n) => {
                let (v4, lo, hi) = net_range(n);
                // IPv4 and IPv6 in disjoint parts of one line.
                let base = if v4 { 0 } else { 1u128 << 127 };
                let (lo, hi) = if v4 {
                    (lo, hi)
                } else {
                    (base | (lo >> 1), base | (hi >> 1))
                };
                out.push((lo, hi));
            }
            Host::Domain(_) => return None,
        }
    }
    Some(out)
}

fn port_intervals(m: &Matcher) -> Option<Vec<(u128, u128)>> {
    match m {
        Matcher::Net {
            ports: Some(ps), ..
        } => Some(
            ps.iter()
                .map(|r| (u128::from(r.lo), u128::from(r.hi)))
                .collect(),
        ),
        _ => None,
    }
}

fn pinned(cs: &[Atom]) -> Vec<(String, Value)> {
    cs.iter()
        .filter(|a| !a.negated)
        .filter_map(|a| match &a.test {
            Test::Eq {
                lhs,
                rhs: Scalar::Lit(v),
            } if lhs.field.is_none() => Some((lhs.arg.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

impl Index {
    /// Indexes `rules` (matchers of one partition).
    pub(crate) fn new(rules: &[&Matcher]) -> Index {
        let first = rules.first();
        let kind = match first {
            Some(Matcher::Fs { .. }) | Some(Matcher::Exec { .. }) => {
                let mut t = Trie::default();
                for (i, m) in rules.iter().enumerate() {
                    let globs = match m {
                        Matcher::Fs { globs } => globs,
                        Matcher::Exec { binaries, .. } => binaries,
                        _ => continue,
                    };
                    for g in globs {
                        t.insert(&literal_prefix(g), i);
                    }
                }
                IndexKind::Paths(t)
            }
            Some(Matcher::Net { .. }) => {
                let (mut ports, mut no_ports, mut addrs, mut no_addrs) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for (i, m) in rules.iter().enumerate() {
                    match port_intervals(m) {
                        Some(v) => ports.extend(v.into_iter().map(|(a, b)| (a, b, i))),
                        None => no_ports.push(i),
                    }
                    match addr_intervals(m) {
                        Some(v) => addrs.extend(v.into_iter().map(|(a, b)| (a, b, i))),
                        None => no_addrs.push(i),
                    }
                }
                IndexKind::Net {
                    ports: Intervals::build(ports),
                    no_ports,
                    addrs: Intervals::build(addrs),
                    no_addrs,
                }
            }
            Some(Matcher::Tool { .. }) => {
                // The argument most often pinned to a literal discriminates best.
                let mut counts: HashMap<String, usize> = HashMap::new();
                for m in rules {
                    if let Matcher::Tool { conditions, .. } = m {
                        let mut seen = BTreeSet::new();
                        for (a, _) in pinned(conditions) {
                            if seen.insert(a.clone()) {
                                *counts.entry(a).or_default() += 1;
                            }
                        }
                    }
                }
                let arg = counts
                    .into_iter()
                    .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)))
                    .map(|(a, _)| a);
                let mut buckets: HashMap<Value, Vec<usize>> = HashMap::new();
                let mut open = Vec::new();
                for (i, m) in rules.iter().enumerate() {
                    let v = match (m, &arg) {
                        (Matcher::Tool { conditions, .. }, Some(arg)) => pinned(conditions)
                            .into_iter()
                            .find(|(a, _)| a == arg)
                            .map(|(_, v)| v),
                        _ => None,
                    };
                    match v {
                        Some(v) => buckets.entry(v).or_default().push(i),
                        None => open.push(i),
                    }
                }
                IndexKind::Tool { arg, buckets, open }
            }
            Some(Matcher::Env { .. }) => {
                let mut m: HashMap<String, Vec<usize>> = HashMap::new();
                for (i, r) in rules.iter().enumerate() {
                    if let Matcher::Env { vars } = r {
                        for v in vars {
                            m.entry(v.clone()).or_default().push(i);
                        }
                    }
                }
                IndexKind::Env(m)
            }
            None => IndexKind::Empty,
        };
        Index { kind }
    }

    /// Indices of rules that may overlap `m` (a superset; `may_overlap` filters further).
    pub(crate) fn candidates(&self, m: &Matcher) -> Vec<usize> {
        let mut out = Vec::new();
        match (&self.kind, m) {
            (IndexKind::Paths(t), Matcher::Fs { globs })
            | (
                IndexKind::Paths(t),
                Matcher::Exec {
                    binaries: globs, ..
                },
            ) => {
                for g in globs {
                    t.query(&literal_prefix(g), &mut out);
                }
            }
            (
                IndexKind::Net {
                    ports,
                    no_ports,
                    addrs,
                    no_addrs,
                },
                m,
            ) => {
                let mut by_port = no_ports.clone();
                match port_intervals(m) {
                    Some(v) => {
                        for (lo, hi) in v {
                            ports.query(lo, hi, &mut by_port);
                        }
                    }
                    None => {
                        ports.query(0, u128::MAX, &mut by_port);
                    }
                }
                let mut by_addr = no_addrs.clone();
                match addr_intervals(m) {
                    Some(v) => {
                        for (lo, hi) in v {
                            addrs.query(lo, hi, &mut by_addr);
                        }
                    }
                    None => addrs.query(0, u128::MAX, &mut by_addr),
                }
                let a: BTreeSet<usize> = by_addr.into_iter().collect();
                out = by_port.into_iter().filter(|i| a.contains(i)).collect();
            }
            (IndexKind::Tool { arg, buckets, open }, Matcher::Tool { conditions, .. }) => {
                out.extend(open);
                let v = arg.as_ref().and_then(|arg| {
                    pinned(conditions)
                        .into_iter()
                        .find(|(a, _)| a == arg)
                        .map(|(_, v)| v)
                });
                match v {
                    Some(v) => out.extend(buckets.get(&v).into_iter().flatten()),
                    None => out.extend(buckets.values().flatten()),
                }
            }
            (IndexKind::Env(map), Matcher::Env { vars }) => {
                for v in vars {
                    out.extend(map.get(v).into_iter().flatten());
                }
            }
            (IndexKind::Empty, _) => {}
            _ => {}
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A conjunction whose atoms each read a different operand, and each of
/// which alone can hold, can hold: the operands are independent values.
/// Anything else (shared operands, URL parts, negated path tests) is left to
/// the solver.
fn conditions_surely_satisfiable(cs: &[Atom]) -> bool {
    let mut seen: BTreeSet<(String, bool)> = BTreeSet::new();
    for a in cs {
        let (operand, alone_ok) = match &a.test {
            Test::Eq { lhs, rhs } => (lhs, lhs.field.is_none() && !matches!(rhs, Scalar::Param(_))),
            Test::In { lhs, set } => (
                lhs,
                lhs.field.is_none()
                    && match set {
                        SetOperand::Lit(items) => a.negated || !items.is_empty(),
                        SetOperand::Param(_) => false,
                    },
            ),
            Test::Cmp {
                lhs,
                op,
                rhs: Scalar::Lit(Value::Int(v)),
            } => {
                // `x < i64::MIN` and `x > i64::MAX` cannot hold (nor their negations' duals).
                let impossible = match (op, a.negated) {
                    (CmpOp::Lt, false) | (CmpOp::Ge, true) => *v == i64::MIN,
                    (CmpOp::Gt, false) | (CmpOp::Le, true) => *v == i64::MAX,
                    _ => false,
                };
                (lhs, lhs.field.is_none() && !impossible)
            }
            Test::Like { lhs, pattern } => {
                let all_stars = pattern
                    .pieces
                    .iter()
                    .all(|p| matches!(p, agentpol_core::ir::LikePiece::Star));
                (lhs, lhs.field.is_none() && !(a.negated && all_stars))
            }
            Test::Tainted { arg } => {
                if !seen.insert((format!("tainted:{arg}"), true)) {
                    return false;
                }
                continue;
            }
            _ => return false,
        };
        if !alone_ok || !seen.insert((operand.arg.clone(), false)) {
            return false;
        }
    }
    true
}

/// Does `outer` surely match every request `inner` matches? (False when unsure.)
pub(crate) fn surely_contains(outer: &Matcher, inner: &Matcher) -> bool {
    match (outer, inner) {
        (Matcher::Fs { globs: o }, Matcher::Fs { globs: i }) => i
            .iter()
            .all(|g| o.iter().any(|h| glob_surely_contains(h, g))),
        (
            Matcher::Exec {
                binaries: o,
                args: None,
            },
            Matcher::Exec { binaries: i, .. },
        ) => i
            .iter()
            .all(|g| o.iter().any(|h| glob_surely_contains(h, g))),
        (
            Matcher::Tool {
                tool: to,
                conditions: co,
            },
            Matcher::Tool {
                tool: ti,
                conditions: ci,
            },
        ) => (to.is_none() || to == ti) && co.iter().all(|a| ci.contains(a)),
        (Matcher::Env { vars: o }, Matcher::Env { vars: i }) => i.iter().all(|v| o.contains(v)),
        _ => false,
    }
}

/// `outer` is `L/**` (literal segments, then one trailing `**`) and `inner`
/// starts with the same literal segments; or they are equal.
fn glob_surely_contains(outer: &Glob, inner: &Glob) -> bool {
    if outer == inner {
        return true;
    }
    match outer.segments.split_last() {
        Some((Segment::Any, lits)) => {
            lits.iter().all(|s| matches!(s, Segment::Lit(_)))
                && inner.segments.len() >= lits.len()
                && lits.iter().zip(&inner.segments).all(|(a, b)| a == b)
        }
        _ => false,
    }
}

/// Is `inner` surely *not* contained in `outer`? (False when unsure.) A
/// dimension that `outer` restricts and `inner` leaves open (or restricts
/// to requests `outer` cannot match) proves it.
pub(crate) fn surely_not_contained(inner: &Matcher, outer: &Matcher) -> bool {
    // `outer` needs a taint or a secret that `inner` never mentions: the
    // requests of `inner` without it escape `outer`.
    if !required_free_dims(outer, inner).is_empty() {
        return true;
    }
    match (inner, outer) {
        (
            Matcher::Net {
                proto: pi,
                hosts: hi,
                ports: ri,
            },
            Matcher::Net {
                proto: po,
                hosts: ho,
                ports: ro,
            },
        ) => {
            let proto = *po != Proto::Any && pi != po;
            let ports = ro.is_some() && ri.is_none();
            let hosts = match (hi, ho) {
                (None, Some(_)) => true,
                (Some(i), Some(o)) => {
                    let cidr = |h: &Host| matches!(h, Host::Cidr(_));
                    // A domain-only request (no address) escapes an address-only
                    // outer rule, and the reverse.
                    (i.iter().any(|h| !cidr(h)) && o.iter().all(cidr))
                        || (i.iter().any(cidr) && o.iter().all(|h| !cidr(h)))
                }
                _ => false,
            };
            proto || ports || hosts
        }
        _ => false,
    }
}

/// Keys of the "free" dimensions a tool matcher tests (`tainted(x)`,
/// `ContainsSecret(v)`), with whether some test of it is positive. Both can
/// always be made false in a request (not tainted; variable absent), without
/// changing anything else.
fn free_tests(m: &Matcher) -> Vec<(String, bool)> {
    let Matcher::Tool { conditions, .. } = m else {
        return Vec::new();
    };
    conditions
        .iter()
        .filter_map(|a| match &a.test {
            Test::Tainted { arg } => Some((format!("taint:{arg}"), !a.negated)),
            Test::ContainsSecret { var, .. } => Some((format!("secret:{var}"), !a.negated)),
            _ => None,
        })
        .collect()
}

/// The free dimensions `outer` requires (positively) that `inner` never tests.
pub(crate) fn required_free_dims(outer: &Matcher, inner: &Matcher) -> BTreeSet<String> {
    let mentioned: BTreeSet<String> = free_tests(inner).into_iter().map(|(k, _)| k).collect();
    free_tests(outer)
        .into_iter()
        .filter(|(k, pos)| *pos && !mentioned.contains(k))
        .map(|(k, _)| k)
        .collect()
}

/// Does the matcher test any of these free dimensions?
pub(crate) fn mentions_free_dims(m: &Matcher, dims: &BTreeSet<String>) -> bool {
    free_tests(m).iter().any(|(k, _)| dims.contains(k))
}
