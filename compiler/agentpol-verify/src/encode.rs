//! From formulas to Z3: one [`Encoder`] per query neighbourhood.
//!
//! The encoder collects every slot and pattern the formulas mention, explores
//! the pattern families exactly (paths: [`crate::paths`], strings:
//! [`crate::strings`]), and gives each path or string slot an integer *class*
//! variable ranging over the realisable classes; a glob or pattern atom is
//! then "the class is one of those that match". Ints are Z3 integers, IPs a
//! 128-bit vector plus a family flag, sets of params Z3 arrays. No string or
//! regex theory is used at all (PLATFORM.md: 4.8.12 times out there).
//!
//! Soundness bookkeeping: the string domains of a few slots over-approximate
//! what a real request can hold (a URL host that is an IP literal has a free
//! host string), so a model may fail to replay; the caller replays every
//! witness in the reference evaluator. An `unsat` is conclusive only when
//! every exploration finished ([`Encoder::exact`]).

use crate::formula::{Atom, IntTerm, Schema, Slot, F, HOST_DOMAIN, HOST_NONE, HOST_V4, HOST_V6};
use crate::paths::{path_universe, PathUniverse};
use crate::strings::{universe, CharPattern, Sort, StrUniverse};
use agentpol_core::ir::{ArgType, CmpOp, Glob, LikePiece, ParamType, Value};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use z3::ast::{Array, Bool, Int};
use z3::{Model, Params, SatResult, Solver, Sort as ZSort};

/// "At least one character", for the secret-containment model.
fn nonempty() -> CharPattern {
    CharPattern::non_empty()
}

/// A solver for one worker thread, with the timeout set.
pub(crate) fn thread_solver(timeout_ms: u32) -> Rc<Solver> {
    let solver = Solver::new();
    let mut params = Params::new();
    params.set_u32("timeout", timeout_ms);
    solver.set_params(&params);
    Rc::new(solver)
}

impl Drop for Encoder<'_> {
    fn drop(&mut self) {
        self.solver.pop(1);
    }
}

/// Tunables of the encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Product states per exploration.
    pub(crate) max_states: usize,
}

/// Schemes whose URLs always have a host and a known default port.
const SPECIAL: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// Per-thread caches of explorations, keyed by the pattern family.
#[derive(Default)]
pub(crate) struct Cache {
    paths: HashMap<Vec<Glob>, Rc<PathUniverse>>,
    strs: HashMap<(Vec<CharPattern>, bool), Rc<StrUniverse>>,
    /// Explorations computed (cache misses).
    pub(crate) explorations: usize,
    /// Explorations served from the cache.
    pub(crate) hits: usize,
}

impl Cache {
    fn path(&mut self, globs: Vec<Glob>, limits: Limits) -> Rc<PathUniverse> {
        if let Some(u) = self.paths.get(&globs) {
            self.hits += 1;
            return u.clone();
        }
        self.explorations += 1;
        let refs: Vec<&Glob> = globs.iter().collect();
        let u = Rc::new(path_universe(&refs, limits.max_states));
        if self.paths.len() > 4096 {
            self.paths.clear();
        }
        self.paths.insert(globs, u.clone());
        u
    }

    fn str(&mut self, pats: Vec<CharPattern>, others: bool, limits: Limits) -> Rc<StrUniverse> {
        let key = (pats, others);
        if let Some(u) = self.strs.get(&key) {
            self.hits += 1;
            return u.clone();
        }
        self.explorations += 1;
        let u = Rc::new(universe(key.0.clone(), limits.max_states, others));
        if self.strs.len() > 4096 {
            self.strs.clear();
        }
        self.strs.insert(key, u.clone());
        u
    }
}

struct PathVar {
    uni: Rc<PathUniverse>,
    index: HashMap<Glob, usize>,
    cls: Int,
}

struct StrVar {
    group: usize,
    cls: Int,
    copy: Option<Int>,
}

struct StrGroup {
    uni: Rc<StrUniverse>,
    index: HashMap<CharPattern, usize>,
    members: usize,
}

struct AddrVar {
    v4: Bool,
    num: Int,
}

/// A concrete value of a slot in a model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Addr(IpAddr),
}

/// The values of a model, by slot; set params by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Values {
    pub(crate) slots: BTreeMap<Slot, Val>,
    pub(crate) sets: BTreeMap<String, BTreeSet<Value>>,
}

impl Values {
    pub(crate) fn str(&self, s: &Slot) -> Option<&str> {
        match self.slots.get(s) {
            Some(Val::Str(v)) => Some(v),
            _ => None,
        }
    }
    pub(crate) fn int(&self, s: &Slot) -> Option<i64> {
        match self.slots.get(s) {
            Some(Val::Int(v)) => Some(*v),
            _ => None,
        }
    }
    pub(crate) fn bool(&self, s: &Slot) -> Option<bool> {
        match self.slots.get(s) {
            Some(Val::Bool(v)) => Some(*v),
            _ => None,
        }
    }
    pub(crate) fn addr(&self, s: &Slot) -> Option<IpAddr> {
        match self.slots.get(s) {
            Some(Val::Addr(v)) => Some(*v),
            _ => None,
        }
    }
}

/// The answer to one check.
pub(crate) enum Outcome {
    /// Satisfiable, with the model's values.
    Sat(Values),
    /// Unsatisfiable; `conclusive` is false when an exploration was cut short.
    Unsat { conclusive: bool },
    /// The solver gave up (timeout or incompleteness), with its reason.
    Unknown(String),
}

/// Slots and patterns gathered from the formulas before anything is built.
#[derive(Default)]
struct Gathered {
    globs: BTreeMap<Slot, Vec<Glob>>,
    pats: BTreeMap<Slot, Vec<CharPattern>>,
    /// Union-find parent among string slots (by index in `str_slots`).
    str_slots: Vec<Slot>,
    parent: Vec<usize>,
    bools: BTreeSet<Slot>,
    ints: BTreeSet<Slot>,
    addrs: BTreeSet<Slot>,
    int_sets: BTreeSet<String>,
    str_sets: BTreeMap<String, usize>,
    set_terms: BTreeMap<String, Vec<Slot>>,
    urls: BTreeSet<String>,
    argc_max: i64,
}

impl Gathered {
    fn str_id(&mut self, s: &Slot) -> usize {
        if let Some(i) = self.str_slots.iter().position(|x| x == s) {
            return i;
        }
        self.str_slots.push(s.clone());
        self.parent.push(self.parent.len());
        self.parent.len() - 1
    }
    fn find(&mut self, mut i: usize) -> usize {
        while let Some(&p) = self.parent.get(i) {
            if p == i {
                break;
            }
            i = p;
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            if let Some(p) = self.parent.get_mut(rb) {
                *p = ra;
            }
        }
    }
    fn url(&mut self, s: &Slot) {
        match s {
            Slot::UrlScheme(a)
            | Slot::UrlHostKind(a)
            | Slot::UrlHost(a)
            | Slot::UrlIp(a)
            | Slot::UrlPortKnown(a)
            | Slot::UrlPort(a)
            | Slot::UrlPath(a) => {
                self.urls.insert(a.clone());
            }
            _ => {}
        }
    }
    fn int(&mut self, s: &Slot) {
        self.url(s);
        self.ints.insert(s.clone());
    }
    fn term(&mut self, t: &IntTerm) {
        if let IntTerm::Slot(s) = t {
            self.int(s);
        }
    }
    fn add(&mut self, a: &Atom) {
        match a {
            Atom::Glob(s, g) => {
                let v = self.globs.entry(s.clone()).or_default();
                if !v.contains(g) {
                    v.push(g.clone());
                }
            }
            Atom::Pat(s, p) => {
                self.url(s);
                self.str_id(s);
                let v = self.pats.entry(s.clone()).or_default();
                if !v.contains(p) {
                    v.push(p.clone());
                }
            }
            Atom::Bool(s) => {
                self.url(s);
                self.bools.insert(s.clone());
            }
            Atom::BoolEq(a, b) => {
                self.bools.insert(a.clone());
                self.bools.insert(b.clone());
            }
            Atom::IntCmp(s, _, t) | Atom::IntEq(s, t) => {
                self.int(s);
                self.term(t);
                if *s == Slot::ExecArgc {
                    if let IntTerm::Lit(n) = t {
                        self.argc_max = self.argc_max.max(*n);
                    }
                }
            }
            Atom::StrEq(a, b) => {
                self.url(a);
                let (i, j) = (self.str_id(a), self.str_id(b));
                self.union(i, j);
            }
            Atom::InIntParam(s, p) => {
                self.int(s);
                self.int_sets.insert(p.clone());
                let v = self.set_terms.entry(p.clone()).or_default();
                if !v.contains(s) {
                    v.push(s.clone());
                }
            }
            Atom::InStrParam(s, p) => {
                self.url(s);
                let i = self.str_id(s);
                match self.str_sets.get(p) {
                    Some(&j) => self.union(j, i),
                    None => {
                        self.str_sets.insert(p.clone(), i);
                    }
                }
                let v = self.set_terms.entry(p.clone()).or_default();
                if !v.contains(s) {
                    v.push(s.clone());
                }
            }
            Atom::Cidr(s, _) => {
                self.url(s);
                self.addrs.insert(s.clone());
            }
            Atom::HostKind(s, _) => self.int(s),
        }
    }
}

/// The Z3 side of one query neighbourhood.
pub(crate) struct Encoder<'s> {
    schema: Schema<'s>,
    solver: Rc<Solver>,
    paths: BTreeMap<Slot, PathVar>,
    strs: BTreeMap<Slot, StrVar>,
    groups: Vec<StrGroup>,
    ints: BTreeMap<Slot, Int>,
    bools: BTreeMap<Slot, Bool>,
    addrs: BTreeMap<Slot, AddrVar>,
    int_sets: BTreeMap<String, Array>,
    str_sets: BTreeMap<String, Array>,
    set_terms: BTreeMap<String, Vec<Slot>>,
    prefs: Vec<Bool>,
    /// Every exploration finished and every class has enough distinct strings:
    /// an `unsat` answer is a proof.
    pub(crate) exact: bool,
    /// Some slot's domain over-approximates real requests (URL parts,
    /// secrets): a model may fail to replay without any bug.
    pub(crate) approx: bool,
    /// Solver checks made.
    pub(crate) checks: usize,
    /// Product states explored for this encoder (cache misses included only once).
    pub(crate) states: usize,
}

fn sort_of(slot: &Slot, schema: &Schema<'_>) -> Sort {
    match slot {
        Slot::UrlScheme(_) => Sort::Scheme,
        Slot::UrlHost(_) => Sort::UrlHost,
        Slot::NetDomain => Sort::Domain,
        _ => {
            let _ = schema;
            Sort::Any
        }
    }
}

fn lit_i(v: i64) -> Int {
    Int::from_i64(v)
}

impl<'s> Encoder<'s> {
    /// Builds the encoding of every slot the formulas mention.
    pub(crate) fn new(
        solver: Rc<Solver>,
        schema: Schema<'s>,
        formulas: &[&F],
        limits: Limits,
        cache: &mut Cache,
    ) -> Self {
        let mut g = Gathered::default();
        for f in formulas {
            let mut atoms = Vec::new();
            f.atoms(&mut atoms);
            for a in atoms {
                g.add(a);
            }
        }
        // A secret can only be contained in a non-empty string argument (the
        // evaluator ignores empty values); url and path arguments never are empty.
        if g.bools.iter().any(|b| matches!(b, Slot::Secret(_))) {
            for a in schema.tool.map(|t| t.args.as_slice()).unwrap_or(&[]) {
                if a.ty == ArgType::String {
                    let slot = Slot::Arg(a.name.clone());
                    g.str_id(&slot);
                    let pats = g.pats.entry(slot).or_default();
                    let p = nonempty();
                    if !pats.contains(&p) {
                        pats.push(p);
                    }
                }
            }
        }
        // Every URL used gets all its parts, tied by the URL structure below.
        for u in g.urls.clone() {
            let scheme = Slot::UrlScheme(u.clone());
            g.str_id(&scheme);
            let pats = g.pats.entry(scheme).or_default();
            for s in SPECIAL.iter().chain(["file"].iter()) {
                let p = CharPattern::literal(s);
                if !pats.contains(&p) {
                    pats.push(p);
                }
            }
            let path = Slot::UrlPath(u.clone());
            g.str_id(&path);
            let p = CharPattern::like(&slash_star());
            let pats = g.pats.entry(path).or_default();
            if !pats.contains(&p) {
                pats.push(p);
            }
            g.str_id(&Slot::UrlHost(u.clone()));
            g.ints.insert(Slot::UrlHostKind(u.clone()));
            g.ints.insert(Slot::UrlPort(u.clone()));
            g.bools.insert(Slot::UrlPortKnown(u.clone()));
            g.addrs.insert(Slot::UrlIp(u.clone()));
        }

        // The thread's solver, in a scope of its own (popped on drop): the
        // incremental solver is set up once per thread, not once per query.
        solver.push();
        let mut enc = Encoder {
            schema,
            solver,
            paths: BTreeMap::new(),
            strs: BTreeMap::new(),
            groups: Vec::new(),
            ints: BTreeMap::new(),
            bools: BTreeMap::new(),
            addrs: BTreeMap::new(),
            int_sets: BTreeMap::new(),
            str_sets: BTreeMap::new(),
            set_terms: g.set_terms.clone(),
            prefs: Vec::new(),
            exact: true,
            approx: !g.urls.is_empty(),
            checks: 0,
            states: 0,
        };

        for (slot, globs) in &g.globs {
            let uni = cache.path(globs.clone(), limits);
            enc.exact &= uni.complete();
            enc.states += uni.states();
            let cls = Int::fresh_const("path");
            enc.solver.assert(cls.ge(0));
            enc.solver.assert(cls.lt(lit_i(uni.len() as i64)));
            let index = globs
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, g)| (g, i))
                .collect();
            enc.paths.insert(slot.clone(), PathVar { uni, index, cls });
        }

        // String groups: slots compared with each other share one universe.
        let mut roots: BTreeMap<usize, Vec<Slot>> = BTreeMap::new();
        for i in 0..g.str_slots.len() {
            let r = g.find(i);
            if let Some(s) = g.str_slots.get(i) {
                roots.entry(r).or_default().push(s.clone());
            }
        }
        for members in roots.values() {
            let mut family: Vec<CharPattern> = Vec::new();
            for m in members {
                for p in g.pats.get(m).into_iter().flatten() {
                    if !family.contains(p) {
                        family.push(p.clone());
                    }
                }
            }
            let sorts: BTreeSet<Sort> = members.iter().map(|m| sort_of(m, &schema)).collect();
            let mut sort_at: BTreeMap<Sort, usize> = BTreeMap::new();
            for s in &sorts {
                sort_at.insert(*s, family.len());
                family.extend(s.patterns());
            }
            let many = members.len() > 1;
            let uni = cache.str(family.clone(), many, limits);
            enc.exact &= uni.explored.complete;
            enc.states += uni.explored.states;
            let index: HashMap<CharPattern, usize> = family
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, p)| (p, i))
                .collect();
            let gi = enc.groups.len();
            let n = uni.len() as i64;
            for m in members {
                let cls = Int::fresh_const("str");
                enc.solver.assert(cls.ge(0));
                enc.solver.assert(cls.lt(lit_i(n)));
                let sort = sort_of(m, &schema);
                let at = sort_at.get(&sort).copied().unwrap_or(0);
                let k = sort.patterns().len();
                for c in 0..uni.len() {
                    let bits: Vec<bool> = (0..k).map(|j| uni.accepts(c, at + j)).collect();
                    if !sort.valid(&bits) {
                        enc.solver.assert(cls.eq(lit_i(c as i64)).not());
                    }
                }
                let copy = if many {
                    let copy = Int::fresh_const("copy");
                    enc.solver.assert(copy.ge(0));
                    for c in 0..uni.len() {
                        let avail = uni.alternatives(c, members.len()).len().max(1);
                        if avail < members.len() && !uni.singleton(c) {
                            // Fewer distinct strings found than may be needed.
                            enc.exact = false;
                        }
                        enc.solver.assert(
                            cls.eq(lit_i(c as i64))
                                .implies(copy.lt(lit_i(avail as i64))),
                        );
                    }
                    Some(copy)
                } else {
                    None
                };
                enc.strs.insert(
                    m.clone(),
                    StrVar {
                        group: gi,
                        cls,
                        copy,
                    },
                );
            }
            enc.groups.push(StrGroup {
                uni,
                index,
                members: members.len(),
            });
        }

        for s in &g.bools {
            enc.bools.insert(s.clone(), Bool::fresh_const("b"));
        }
        for s in &g.ints {
            let v = Int::fresh_const("i");
            match s {
                Slot::NetPort | Slot::UrlPort(_) => {
                    enc.solver.assert(v.ge(0));
                    enc.solver.assert(v.le(65535));
                }
                Slot::UrlHostKind(_) => {
                    enc.solver.assert(v.ge(HOST_NONE));
                    enc.solver.assert(v.le(HOST_V6));
                }
                Slot::ExecArgc => {
                    // Counts above the largest one any rule names behave alike.
                    enc.solver.assert(v.ge(0));
                    enc.solver.assert(v.le(lit_i(g.argc_max.saturating_add(1))));
                }
                _ => {
                    enc.solver.assert(v.ge(lit_i(i64::MIN)));
                    enc.solver.assert(v.le(lit_i(i64::MAX)));
                }
            }
            enc.ints.insert(s.clone(), v);
        }
        for s in &g.addrs {
            let v4 = Bool::fresh_const("v4");
            let num = Int::fresh_const("ip");
            // Canonical forms: an IPv4 address is a 32-bit number; an IPv6
            // address is never IPv4-mapped (the evaluator maps those to IPv4).
            enc.solver.assert(num.ge(0));
            enc.solver
                .assert(v4.implies(num.lt(Int::from_u64(1 << 32))));
            enc.solver.assert(num.le(Int::from_u128(u128::MAX)));
            let (mlo, mhi) = (0xffff_u128 << 32, (0xffff_u128 << 32) | 0xffff_ffff);
            let mapped = Bool::and(&[num.ge(Int::from_u128(mlo)), num.le(Int::from_u128(mhi))]);
            enc.solver.assert(v4.not().implies(mapped.not()));
            enc.addrs.insert(s.clone(), AddrVar { v4, num });
        }
        let int_sort = ZSort::int();
        let bool_sort = ZSort::bool();
        for p in &g.int_sets {
            enc.int_sets
                .insert(p.clone(), Array::fresh_const("set", &int_sort, &bool_sort));
        }
        for p in g.str_sets.keys() {
            enc.str_sets
                .insert(p.clone(), Array::fresh_const("sset", &int_sort, &bool_sort));
        }
        for u in &g.urls {
            enc.url_structure(u);
        }
        enc.secret_constraints(&g);
        enc
    }

    /// The WHATWG URL structure, as far as it ties the parts together.
    fn url_structure(&mut self, u: &str) {
        let scheme_is = |enc: &Encoder<'_>, s: &str| {
            enc.pat_bool(&Slot::UrlScheme(u.into()), &CharPattern::literal(s))
        };
        let special = Bool::or(
            &SPECIAL
                .iter()
                .map(|s| scheme_is(self, s))
                .collect::<Vec<_>>(),
        );
        let file = scheme_is(self, "file");
        let kind = self
            .ints
            .get(&Slot::UrlHostKind(u.into()))
            .cloned()
            .unwrap_or_else(|| lit_i(HOST_DOMAIN));
        let known = self
            .bools
            .get(&Slot::UrlPortKnown(u.into()))
            .cloned()
            .unwrap_or_else(|| Bool::from_bool(true));
        let slash = self.pat_bool(&Slot::UrlPath(u.into()), &CharPattern::like(&slash_star()));
        let has_host = kind.eq(lit_i(HOST_NONE)).not();
        if let Some(ip) = self.addrs.get(&Slot::UrlIp(u.into())) {
            self.solver.assert(kind.eq(lit_i(HOST_V4)).implies(&ip.v4));
            self.solver
                .assert(kind.eq(lit_i(HOST_V6)).implies(ip.v4.not()));
        }
        self.solver.assert(special.implies(Bool::and(&[
            has_host.clone(),
            known.clone(),
            slash.clone(),
        ])));
        self.solver
            .assert(file.implies(Bool::and(&[known.not(), slash.clone()])));
        self.solver.assert(known.implies(has_host.clone()));
        // Preferred (not required): a domain host and a path starting with `/`,
        // which make witnesses that read well and replay exactly.
        self.prefs.push(kind.eq(lit_i(HOST_DOMAIN)));
        self.prefs.push(scheme_is(self, "https"));
        self.prefs.push(slash);
    }

    fn secret_constraints(&mut self, g: &Gathered) {
        let args = self.schema.tool.map(|t| t.args.as_slice()).unwrap_or(&[]);
        let always = args
            .iter()
            .any(|a| matches!(a.ty, ArgType::Url | ArgType::Path));
        let mut some_nonempty: Vec<Bool> = args
            .iter()
            .filter(|a| a.ty == ArgType::String)
            .map(|a| self.pat_bool(&Slot::Arg(a.name.clone()), &nonempty()))
            .collect();
        if always {
            some_nonempty.push(Bool::from_bool(true));
        }
        let possible = Bool::or(&some_nonempty);
        for s in &g.bools {
            if let (Slot::Secret(_), Some(b)) = (s, self.bools.get(s)) {
                self.solver.assert(b.implies(&possible));
            }
        }
    }

    fn pat_bool(&self, slot: &Slot, p: &CharPattern) -> Bool {
        let (Some(var), Some(_)) = (self.strs.get(slot), Some(())) else {
            return Bool::from_bool(false);
        };
        let Some(group) = self.groups.get(var.group) else {
            return Bool::from_bool(false);
        };
        let Some(&pi) = group.index.get(p) else {
            return Bool::from_bool(false);
        };
        let cases: Vec<Bool> = (0..group.uni.len())
            .filter(|&c| group.uni.accepts(c, pi))
            .map(|c| var.cls.eq(lit_i(c as i64)))
            .collect();
        Bool::or(&cases)
    }

    fn glob_bool(&self, slot: &Slot, g: &Glob) -> Bool {
        let Some(var) = self.paths.get(slot) else {
            return Bool::from_bool(false);
        };
        let Some(&gi) = var.index.get(g) else {
            return Bool::from_bool(false);
        };
        let cases: Vec<Bool> = (0..var.uni.len())
            .filter(|&c| var.uni.accepts(c, gi))
            .map(|c| var.cls.eq(lit_i(c as i64)))
            .collect();
        Bool::or(&cases)
    }

    fn int(&self, s: &Slot) -> Int {
        self.ints.get(s).cloned().unwrap_or_else(|| lit_i(0))
    }

    fn term(&self, t: &IntTerm) -> Int {
        match t {
            IntTerm::Lit(v) => lit_i(*v),
            IntTerm::Slot(s) => self.int(s),
        }
    }

    fn str_key(&self, s: &Slot) -> Int {
        match self.strs.get(s) {
            Some(v) => {
                let m = self
                    .groups
                    .get(v.group)
                    .map(|g| g.members as i64)
                    .unwrap_or(1)
                    .max(1);
                match &v.copy {
                    Some(c) => Int::add(&[&Int::mul(&[&v.cls, &lit_i(m)]), c]),
                    None => Int::mul(&[&v.cls, &lit_i(m)]),
                }
            }
            None => lit_i(-1),
        }
    }

    /// The Z3 term of a formula.
    pub(crate) fn lower(&self, f: &F) -> Bool {
        match f {
            F::Const(b) => Bool::from_bool(*b),
            F::And(fs) => Bool::and(&fs.iter().map(|f| self.lower(f)).collect::<Vec<_>>()),
            F::Or(fs) => Bool::or(&fs.iter().map(|f| self.lower(f)).collect::<Vec<_>>()),
            F::Not(f) => self.lower(f).not(),
            F::A(a) => self.lower_atom(a),
        }
    }

    fn lower_atom(&self, a: &Atom) -> Bool {
        match a {
            Atom::Glob(s, g) => self.glob_bool(s, g),
            Atom::Pat(s, p) => self.pat_bool(s, p),
            Atom::Bool(s) => self
                .bools
                .get(s)
                .cloned()
                .unwrap_or_else(|| Bool::from_bool(false)),
            Atom::BoolEq(a, b) => match (self.bools.get(a), self.bools.get(b)) {
                (Some(x), Some(y)) => x.iff(y),
                _ => Bool::from_bool(false),
            },
            Atom::IntCmp(s, op, t) => {
                let (x, y) = (self.int(s), self.term(t));
                match op {
                    CmpOp::Lt => x.lt(&y),
                    CmpOp::Le => x.le(&y),
                    CmpOp::Gt => x.gt(&y),
                    CmpOp::Ge => x.ge(&y),
                }
            }
            Atom::IntEq(s, t) => self.int(s).eq(self.term(t)),
            Atom::StrEq(a, b) => match (self.strs.get(a), self.strs.get(b)) {
                (Some(x), Some(y)) => {
                    let same_copy = match (&x.copy, &y.copy) {
                        (Some(p), Some(q)) => p.eq(q),
                        _ => Bool::from_bool(true),
                    };
                    Bool::and(&[x.cls.eq(&y.cls), same_copy])
                }
                _ => Bool::from_bool(false),
            },
            Atom::InIntParam(s, p) => match self.int_sets.get(p) {
                Some(arr) => arr
                    .select(&self.int(s))
                    .as_bool()
                    .unwrap_or_else(|| Bool::from_bool(false)),
                None => Bool::from_bool(false),
            },
            Atom::InStrParam(s, p) => match self.str_sets.get(p) {
                Some(arr) => arr
                    .select(&self.str_key(s))
                    .as_bool()
                    .unwrap_or_else(|| Bool::from_bool(false)),
                None => Bool::from_bool(false),
            },
            Atom::Cidr(s, net) => match self.addrs.get(s) {
                Some(v) => cidr_bool(v, net),
                None => Bool::from_bool(false),
            },
            Atom::HostKind(s, k) => self.int(s).eq(lit_i(*k)),
        }
    }

    /// A fresh literal `l` with `l <-> f` asserted, for use as an assumption.
    pub(crate) fn define(&self, f: &Bool) -> Bool {
        let l = Bool::fresh_const("m");
        self.solver.assert(l.iff(f));
        l
    }

    /// Checks the assertions under `assumptions` (literals), trying the
    /// witness preferences first.
    pub(crate) fn check(&mut self, assumptions: &[Bool]) -> Outcome {
        if !self.prefs.is_empty() {
            let mut with: Vec<Bool> = assumptions.to_vec();
            let prefs: Vec<Bool> = self.prefs.iter().map(|p| self.define(p)).collect();
            with.extend(prefs);
            self.checks += 1;
            if self.solver.check_assumptions(&with) == SatResult::Sat {
                return self.sat();
            }
        }
        self.checks += 1;
        match self.solver.check_assumptions(assumptions) {
            SatResult::Sat => self.sat(),
            SatResult::Unsat => Outcome::Unsat {
                conclusive: self.exact,
            },
            SatResult::Unknown => Outcome::Unknown(
                self.solver
                    .get_reason_unknown()
                    .unwrap_or_else(|| "unknown".into()),
            ),
        }
    }

    fn sat(&self) -> Outcome {
        match self.solver.get_model() {
            Some(m) => Outcome::Sat(self.values(&m)),
            None => Outcome::Unknown("the solver returned no model".into()),
        }
    }

    fn values(&self, m: &Model) -> Values {
        let mut out = Values::default();
        let int = |x: &Int| m.eval(x, true).and_then(|v| v.as_i64()).unwrap_or(0);
        for (s, v) in &self.paths {
            let c = usize::try_from(int(&v.cls)).unwrap_or(0);
            out.slots.insert(s.clone(), Val::Str(v.uni.witness(c)));
        }
        for (s, v) in &self.strs {
            let Some(group) = self.groups.get(v.group) else {
                continue;
            };
            let c = usize::try_from(int(&v.cls)).unwrap_or(0);
            let k = v
                .copy
                .as_ref()
                .map(|x| usize::try_from(int(x)).unwrap_or(0))
                .unwrap_or(0);
            let alts = group.uni.alternatives(c, group.members.max(1));
            let text = alts.get(k).cloned().unwrap_or_else(|| group.uni.witness(c));
            out.slots.insert(s.clone(), Val::Str(text));
        }
        for (s, v) in &self.ints {
            out.slots.insert(s.clone(), Val::Int(int(v)));
        }
        for (s, v) in &self.bools {
            let b = m.eval(v, true).and_then(|b| b.as_bool()).unwrap_or(false);
            out.slots.insert(s.clone(), Val::Bool(b));
        }
        for (s, v) in &self.addrs {
            let v4 = m
                .eval(&v.v4, true)
                .and_then(|b| b.as_bool())
                .unwrap_or(false);
            let num = m.eval(&v.num, true).and_then(|x| x.as_u128()).unwrap_or(0);
            let bits = num;
            let addr = if v4 {
                IpAddr::V4(Ipv4Addr::from(
                    u32::try_from(bits & 0xffff_ffff).unwrap_or(0),
                ))
            } else {
                IpAddr::V6(Ipv6Addr::from(bits))
            };
            out.slots.insert(s.clone(), Val::Addr(addr));
        }
        for (p, terms) in &self.set_terms {
            let mut set = BTreeSet::new();
            for t in terms {
                if let Some(arr) = self.int_sets.get(p) {
                    let member = arr.select(&self.int(t)).as_bool();
                    let yes = member
                        .and_then(|b| m.eval(&b, true))
                        .and_then(|b| b.as_bool())
                        .unwrap_or(false);
                    if yes {
                        if let Some(Val::Int(v)) = out.slots.get(t) {
                            set.insert(Value::Int(*v));
                        }
                    }
                } else if let Some(arr) = self.str_sets.get(p) {
                    let member = arr.select(&self.str_key(t)).as_bool();
                    let yes = member
                        .and_then(|b| m.eval(&b, true))
                        .and_then(|b| b.as_bool())
                        .unwrap_or(false);
                    if yes {
                        if let Some(Val::Str(v)) = out.slots.get(t) {
                            set.insert(Value::Str(v.clone()));
                        }
                    }
                }
            }
            out.sets.insert(p.clone(), set);
        }
        out
    }
}

fn cidr_bool(v: &AddrVar, net: &IpNet) -> Bool {
    let (v4, lo, hi) = crate::prune::net_range(net);
    let fam = if v4 { v.v4.clone() } else { v.v4.not() };
    Bool::and(&[
        fam,
        v.num.ge(Int::from_u128(lo)),
        v.num.le(Int::from_u128(hi)),
    ])
}

/// The default value of a param or argument type, for slots no formula reads.
pub(crate) fn default_param(ty: ParamType) -> serde_json::Value {
    match ty {
        ParamType::String => serde_json::Value::String(String::new()),
        ParamType::Int => serde_json::Value::from(0),
        ParamType::Bool => serde_json::Value::Bool(false),
        ParamType::SetString | ParamType::SetInt => serde_json::Value::Array(Vec::new()),
    }
}

/// The `like` pattern `/*`: a URL path (any path starting with a slash).
fn slash_star() -> [LikePiece; 2] {
    [LikePiece::Lit("/".into()), LikePiece::Star]
}
