//! Namespaces, name resolution, consts, string interpolation and set
//! flattening.
//!
//! Const and set evaluation are iterative DFSs (an explicit stack), so a long
//! chain of definitions cannot overflow the call stack.

use super::ctx::{Checker, ConstVal, Def, DefId, DefKind, Elem, ModNs, Pending, SetDef, State};
use super::load::import_alias;
use crate::diag::{codes, Diag};
use crate::span::Span;
use crate::syntax::ast::{ConstDecl, Expr, Item, QualName, SetLit, StrLit, StrPart};
use std::collections::HashSet;
use std::rc::Rc;

/// Most elements a set may have after splicing named sets into it.
pub const MAX_SET_ELEMS: usize = 65_536;

impl<'a> Checker<'a> {
    /// Builds every module's namespace (items and import aliases).
    pub fn declare(&mut self) {
        for (mi, m) in self.modules.iter().enumerate() {
            let mut ns = ModNs::default();
            if let Some(v) = &m.parsed.ast.version {
                if v.node != 1 {
                    self.diags.push(
                        Diag::error(
                            &codes::UNSUPPORTED_VERSION,
                            v.span,
                            format!("language version {} is not supported", v.node),
                        )
                        .label("this compiler understands version 1")
                        .help("write `version 1`, or leave the line out"),
                    );
                }
            }
            for &(item, target) in &m.imports {
                let Some(Item::Import(imp)) = m.parsed.ast.items.get(item) else {
                    continue;
                };
                let Some(target) = target else { continue };
                let Some(alias) =
                    import_alias(&imp.target, imp.alias.as_ref().map(|a| a.name.as_str()))
                else {
                    continue;
                };
                let alias_span = imp.alias.as_ref().map(|a| a.span).unwrap_or(imp.span);
                match ns.modules.get(&alias) {
                    Some(&t) if t == target => {}
                    Some(_) => {
                        let first = ns.alias_spans.get(&alias).copied().unwrap_or(alias_span);
                        self.diags.push(
                            Diag::error(
                                &codes::DUPLICATE_DEFINITION,
                                alias_span,
                                format!("the import alias `{alias}` is already used"),
                            )
                            .label("second import with this alias")
                            .with_label(first, "first import")
                            .help(format!("give one of them another alias: `as {alias}2`")),
                        );
                    }
                    None => {
                        ns.modules.insert(alias.clone(), target);
                        ns.alias_spans.insert(alias, alias_span);
                    }
                }
            }
            // Canonical paths (`std::secrets`) also name imported modules, after aliases.
            for &(_, target) in &m.imports {
                if let Some(t) = target {
                    if let Some(tm) = self.modules.get(t) {
                        if !tm.path.is_empty() {
                            ns.modules.entry(tm.path.clone()).or_insert(t);
                        }
                    }
                }
            }
            for (ii, item) in m.parsed.ast.items.iter().enumerate() {
                let (kind, ident) = match item {
                    Item::Const(c) => (DefKind::Const, &c.name),
                    Item::Set(s) => (DefKind::Set, &s.name),
                    Item::Param(p) => (DefKind::Param, &p.name),
                    Item::Secret(s) => (DefKind::Secret, &s.name),
                    Item::Profile(b) => (DefKind::Profile, &b.name),
                    Item::Agent(b) => (DefKind::Agent, &b.name),
                    _ => continue,
                };
                if let Some(&prev) = ns.items.get(&ident.name) {
                    let (pk, ps) = self
                        .defs
                        .get(prev)
                        .map(|d| (d.kind, d.name_span))
                        .unwrap_or((kind, ident.span));
                    self.diags.push(
                        Diag::error(
                            &codes::DUPLICATE_DEFINITION,
                            ident.span,
                            format!("`{}` is defined twice", ident.name),
                        )
                        .label(format!("{} named `{}` again", kind.article(), ident.name))
                        .with_label(ps, format!("first defined here as {}", pk.article()))
                        .help("names in a file must be unique; rename one of them"),
                    );
                    continue;
                }
                self.defs.push(Def {
                    kind,
                    module: mi,
                    item: ii,
                    name: ident.name.clone(),
                    name_span: ident.span,
                });
                ns.items.insert(ident.name.clone(), self.defs.len() - 1);
            }
            self.ns.push(ns);
        }
        self.consts = vec![State::Unvisited; self.defs.len()];
        self.sets = vec![State::Unvisited; self.defs.len()];
        self.set_defs = vec![None; self.defs.len()];
        self.set_bad = vec![false; self.defs.len()];
    }

    /// Resolves `q` as used in `module`. Reports AP0101 (with a suggestion
    /// among definitions of the `want`ed kinds) when it is not defined.
    /// Records the reference on success.
    pub fn resolve(&mut self, module: usize, q: &QualName, want: &[DefKind]) -> Option<DefId> {
        let (last, prefix) = q.parts.split_last()?;
        let target = if prefix.is_empty() {
            module
        } else {
            let prefix_text = prefix
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join("::");
            match self
                .ns
                .get(module)
                .and_then(|ns| ns.modules.get(&prefix_text))
                .copied()
            {
                Some(t) => t,
                None => {
                    let help = if crate::stdlib::module(std::slice::from_ref(&prefix_text))
                        .is_some()
                    {
                        format!("add `import std::{prefix_text}` at the top of the file")
                    } else {
                        let aliases: Vec<String> = self
                            .ns
                            .get(module)
                            .map(|ns| ns.modules.keys().cloned().collect())
                            .unwrap_or_default();
                        match self.suggest(&prefix_text, aliases.iter().map(String::as_str)) {
                            Some(s) => format!("did you mean `{s}::{}`?", last.name),
                            None => "import the module first (`import std::NAME` or `import \"file.agentpol\" as NAME`)"
                                .to_string(),
                        }
                    };
                    self.diags.push(
                        Diag::error(
                            &codes::UNDEFINED_NAME,
                            q.span,
                            format!("no imported module `{prefix_text}`"),
                        )
                        .label("unknown module")
                        .help(help),
                    );
                    return None;
                }
            }
        };
        if let Some(&def) = self.ns.get(target).and_then(|ns| ns.items.get(&last.name)) {
            if let Some(d) = self.defs.get(def) {
                let span = d.name_span;
                self.reference(q.span, span, q.text());
            }
            return Some(def);
        }
        let candidates: Vec<String> = match self.ns.get(target) {
            Some(ns) => {
                let mut all: Vec<&String> = ns
                    .items
                    .iter()
                    .filter(|(_, d)| {
                        want.is_empty()
                            || self.defs.get(**d).is_some_and(|d| want.contains(&d.kind))
                    })
                    .map(|(n, _)| n)
                    .collect();
                all.sort();
                all.into_iter().cloned().collect()
            }
            None => Vec::new(),
        };
        let suggestion = self.suggest(&last.name, candidates.iter().map(String::as_str));
        let prefix_text = if prefix.is_empty() {
            String::new()
        } else {
            format!(
                "{}::",
                prefix
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join("::")
            )
        };
        let what = match want {
            [k] => k.word(),
            _ => "name",
        };
        let help = match suggestion {
            Some(s) => format!("did you mean `{prefix_text}{s}`?"),
            None if prefix.is_empty() => format!(
                "define `{}` in this file, or import the module that defines it",
                last.name
            ),
            None => format!(
                "the module `{}` does not define `{}`",
                prefix_text.trim_end_matches(':'),
                last.name
            ),
        };
        self.diags.push(
            Diag::error(
                &codes::UNDEFINED_NAME,
                q.span,
                format!("undefined {what} `{}`", q.text()),
            )
            .label("not defined")
            .help(help),
        );
        None
    }

    /// Reports a defined name of the wrong kind. `wanted` is e.g. "a const".
    pub fn wrong_kind(&mut self, span: Span, def: DefId, wanted: &str, help: &str) {
        let Some(d) = self.defs.get(def).cloned() else {
            return;
        };
        if d.kind == DefKind::Param {
            self.diags.push(
                Diag::error(
                    &codes::PARAM_WITHOUT_KEYWORD,
                    span,
                    format!("`{}` is a param, used here without `param`", d.name),
                )
                .label(format!("{wanted} is needed here"))
                .with_label(d.name_span, "declared as a param here")
                .help(if help.is_empty() {
                    "params are bound at decision time: they can be read only in tool conditions, as `param NAME`".to_string()
                } else {
                    help.to_string()
                }),
            );
            return;
        }
        self.diags.push(
            Diag::error(
                &codes::WRONG_KIND,
                span,
                format!(
                    "`{}` is {}, but {wanted} is needed here",
                    d.name,
                    d.kind.article()
                ),
            )
            .label(format!("{} used as {wanted}", d.kind.article()))
            .with_label(d.name_span, format!("defined as {} here", d.kind.article()))
            .help(if help.is_empty() {
                format!("use {wanted} here")
            } else {
                help.to_string()
            }),
        );
    }

    /// Resolves `q` and requires a const; returns its value.
    pub fn const_by_name(&mut self, module: usize, q: &QualName, help: &str) -> Option<ConstVal> {
        let def = self.resolve(module, q, &[DefKind::Const])?;
        if self.kind(def) != Some(DefKind::Const) {
            self.wrong_kind(q.span, def, "a const", help);
            return None;
        }
        self.const_value(def)
    }

    /// Interpolates `${NAME}` parts of a string literal.
    pub fn interpolate(&mut self, module: usize, lit: &StrLit) -> Option<String> {
        if let [StrPart::Text(t, _)] = lit.parts.as_slice() {
            return Some(t.clone());
        }
        let mut out = String::new();
        let mut ok = true;
        for part in &lit.parts {
            match part {
                StrPart::Text(t, _) => out.push_str(t),
                StrPart::Interp(q) => {
                    match self.const_by_name(
                        module,
                        q,
                        "only consts can be interpolated with `${...}`; params are bound at decision time",
                    ) {
                        Some(ConstVal::Str(s)) => out.push_str(&s),
                        Some(ConstVal::Int(n)) => out.push_str(&n.to_string()),
                        None => ok = false,
                    }
                }
            }
        }
        ok.then_some(out)
    }

    /// Evaluates every const and checks every set once, so errors in unused
    /// ones are reported too.
    pub fn eval_all_consts(&mut self) {
        for def in 0..self.defs.len() {
            if self.kind(def) == Some(DefKind::Const) {
                self.const_value(def);
            }
        }
        self.check_sets();
    }

    fn const_decl(&self, def: DefId) -> Option<&'a ConstDecl> {
        match self.item(def)? {
            Item::Const(c) => Some(c),
            _ => None,
        }
    }

    /// The names a const's value refers to, resolved (and reported) once.
    fn const_deps_of(&mut self, def: DefId) -> Vec<(Span, Option<DefId>)> {
        let Some(decl) = self.const_decl(def) else {
            return Vec::new();
        };
        let module = self.defs.get(def).map(|d| d.module).unwrap_or(0);
        let names: Vec<&QualName> = match &decl.value {
            Expr::Str(lit) => lit
                .parts
                .iter()
                .filter_map(|p| match p {
                    StrPart::Interp(q) => Some(q),
                    StrPart::Text(..) => None,
                })
                .collect(),
            Expr::Name(q) => vec![q],
            _ => Vec::new(),
        };
        if let Some(cached) = self.const_deps.get(&def) {
            return names
                .iter()
                .map(|q| q.span)
                .zip(cached.iter().copied())
                .collect();
        }
        let mut resolved = Vec::new();
        for q in &names {
            let r = self.resolve(module, q, &[DefKind::Const]);
            let r = match r {
                Some(d) if self.kind(d) == Some(DefKind::Const) => Some(d),
                Some(d) => {
                    self.wrong_kind(
                        q.span,
                        d,
                        "a const",
                        "a const's value is a string, an integer or another const",
                    );
                    None
                }
                None => None,
            };
            resolved.push(r);
        }
        self.const_deps.insert(def, resolved.clone());
        names.iter().map(|q| q.span).zip(resolved).collect()
    }

    /// The value of a const (None if it is invalid; reported once).
    pub fn const_value(&mut self, def: DefId) -> Option<ConstVal> {
        let mut stack: Vec<DefId> = vec![def];
        while let Some(&top) = stack.last() {
            match self.consts.get(top) {
                Some(State::Done(_)) | None => {
                    stack.pop();
                    continue;
                }
                Some(State::Unvisited) => {
                    if let Some(s) = self.consts.get_mut(top) {
                        *s = State::InProgress;
                    }
                }
                Some(State::InProgress) => {}
            }
            let deps = self.const_deps_of(top);
            let mut descended = false;
            let mut failed = false;
            for (use_span, dep) in &deps {
                let Some(d) = dep else {
                    failed = true;
                    continue;
                };
                match self.consts.get(*d) {
                    Some(State::Unvisited) => {
                        stack.push(*d);
                        descended = true;
                        break;
                    }
                    Some(State::InProgress) => {
                        let from = stack.iter().position(|x| x == d).unwrap_or(0);
                        let cycle: Vec<DefId> = stack.get(from..).unwrap_or(&[]).to_vec();
                        self.report_cycle("const", &cycle, *d, *use_span);
                        for c in cycle {
                            if let Some(s) = self.consts.get_mut(c) {
                                *s = State::Done(None);
                            }
                        }
                        descended = true;
                        break;
                    }
                    Some(State::Done(None)) | None => failed = true,
                    Some(State::Done(Some(_))) => {}
                }
            }
            if descended {
                continue;
            }
            let value = if failed {
                None
            } else {
                self.compute_const(top, &deps)
            };
            if let Some(s) = self.consts.get_mut(top) {
                *s = State::Done(value);
            }
            stack.pop();
        }
        match self.consts.get(def) {
            Some(State::Done(v)) => v.clone(),
            _ => None,
        }
    }

    fn dep_value(&self, dep: Option<DefId>) -> Option<ConstVal> {
        match self.consts.get(dep?) {
            Some(State::Done(v)) => v.clone(),
            _ => None,
        }
    }

    fn compute_const(&mut self, def: DefId, deps: &[(Span, Option<DefId>)]) -> Option<ConstVal> {
        let decl = self.const_decl(def)?;
        match &decl.value {
            Expr::Str(lit) => {
                let mut out = String::new();
                let mut next = deps.iter();
                for p in &lit.parts {
                    match p {
                        StrPart::Text(t, _) => out.push_str(t),
                        StrPart::Interp(_) => match self.dep_value(next.next().and_then(|d| d.1)) {
                            Some(ConstVal::Str(s)) => out.push_str(&s),
                            Some(ConstVal::Int(n)) => out.push_str(&n.to_string()),
                            None => return None,
                        },
                    }
                }
                Some(ConstVal::Str(out))
            }
            Expr::Int(n) => Some(ConstVal::Int(n.node)),
            Expr::Name(_) => self.dep_value(deps.first().and_then(|d| d.1)),
            other => {
                let span = other.span();
                self.diags.push(
                    Diag::error(&codes::TYPE_MISMATCH, span, "a const must be a string or an integer")
                        .label("not a string or an integer")
                        .help("write `const NAME = \"text\"` or `const NAME = 42`; use `set NAME = { ... }` for several values"),
                );
                None
            }
        }
    }

    fn report_cycle(&mut self, what: &str, cycle: &[DefId], back_to: DefId, span: Span) {
        let mut names: Vec<String> = cycle
            .iter()
            .filter_map(|d| self.defs.get(*d).map(|d| d.name.clone()))
            .collect();
        if let Some(d) = self.defs.get(back_to) {
            names.push(d.name.clone());
        }
        let first = cycle
            .first()
            .and_then(|d| self.defs.get(*d))
            .map(|d| d.name_span);
        let mut diag = Diag::error(
            &codes::CYCLIC_DEFINITION,
            span,
            format!(
                "the {what} `{}` is defined in terms of itself: {}",
                names.first().cloned().unwrap_or_default(),
                names.join(" -> ")
            ),
        )
        .label("this use closes the cycle")
        .help("break the cycle by writing one of the values out");
        if let Some(f) = first {
            if f != span {
                diag = diag.with_label(
                    f,
                    format!(
                        "`{}` is defined here",
                        names.first().cloned().unwrap_or_default()
                    ),
                );
            }
        }
        self.diags.push(diag);
    }

    /// Flattens a set literal written in `module`: consts become values,
    /// named sets are spliced in (deduplicated, at most [`MAX_SET_ELEMS`]).
    pub fn flatten_set(&mut self, module: usize, lit: &SetLit) -> Option<Vec<Elem>> {
        let (items, ok) = self.pending_elems(module, lit);
        if !ok {
            return None;
        }
        // A short literal without splices is kept exactly as written.
        if items.len() <= 16 && items.iter().all(|p| matches!(p, Pending::Ready(_))) {
            return Some(
                items
                    .into_iter()
                    .filter_map(|p| match p {
                        Pending::Ready(e) => Some(e),
                        Pending::Splice(..) => None,
                    })
                    .collect(),
            );
        }
        let brace = Span {
            end: lit.span.start.saturating_add(1),
            ..lit.span
        };
        self.materialize(Rc::new(SetDef { items, ok }), brace)
    }

    fn too_large(&mut self, span: Span) {
        self.diags.push(
            Diag::error(
                &codes::SET_TOO_LARGE,
                span,
                format!("this set has more than {MAX_SET_ELEMS} distinct elements, counting the sets spliced into it"),
            )
            .label("too large")
            .help("use wildcards, CIDRs or ranges instead of listing every value"),
        );
    }

    fn pending_elems(&mut self, module: usize, lit: &SetLit) -> (Vec<Pending>, bool) {
        let mut out = Vec::with_capacity(lit.elems.len());
        let mut ok = true;
        for e in &lit.elems {
            match e {
                Expr::Str(s) => match self.interpolate(module, s) {
                    Some(t) => out.push(Pending::Ready(Elem::Str(t, s.span))),
                    None => ok = false,
                },
                Expr::Int(n) => out.push(Pending::Ready(Elem::Int(n.node, n.span))),
                Expr::Ip(ip) => out.push(Pending::Ready(Elem::Ip(ip.node.clone(), ip.span))),
                Expr::Range(lo, hi, span) => {
                    out.push(Pending::Ready(Elem::Range(lo.node, hi.node, *span)))
                }
                Expr::Bool(b) => out.push(Pending::Ready(Elem::Bool(b.node, b.span))),
                Expr::Name(q) => {
                    match self.resolve(module, q, &[DefKind::Const, DefKind::Set, DefKind::Secret])
                    {
                        Some(d) => match self.kind(d) {
                            Some(DefKind::Const) => match self.const_value(d) {
                                Some(ConstVal::Str(s)) => {
                                    out.push(Pending::Ready(Elem::Str(s, q.span)))
                                }
                                Some(ConstVal::Int(n)) => {
                                    out.push(Pending::Ready(Elem::Int(n, q.span)))
                                }
                                None => ok = false,
                            },
                            Some(DefKind::Set) => out.push(Pending::Splice(d, q.span)),
                            Some(DefKind::Secret) => {
                                out.push(Pending::Ready(Elem::Secret(d, q.span)))
                            }
                            _ => {
                                self.wrong_kind(
                                    q.span,
                                    d,
                                    "a const, set or secret",
                                    "set elements are values, consts, or sets and secrets (spliced in)",
                                );
                                ok = false;
                            }
                        },
                        None => ok = false,
                    }
                }
                Expr::Param(_, span) => {
                    self.diags.push(
                        Diag::error(&codes::TYPE_MISMATCH, *span, "a set literal cannot contain a param")
                            .label("bound only at decision time")
                            .help("compare against the param directly: `x in param NAME` or `x == param NAME`"),
                    );
                    ok = false;
                }
                Expr::Set(inner) => {
                    self.diags.push(
                        Diag::error(&codes::TYPE_MISMATCH, inner.span, "sets do not nest")
                            .label("a set inside a set")
                            .help("write the elements directly, or name the inner set and splice it by name"),
                    );
                    ok = false;
                }
                Expr::Any(span) => {
                    self.diags.push(
                        Diag::error(
                            &codes::TYPE_MISMATCH,
                            *span,
                            "`any` cannot be a set element",
                        )
                        .label("here")
                        .help("write `any` instead of the whole set, or leave the targets out"),
                    );
                    ok = false;
                }
            }
        }
        (out, ok)
    }

    /// A named set's elements before splicing, computed (and reported) once.
    fn set_def(&mut self, def: DefId) -> Rc<SetDef> {
        if let Some(Some(d)) = self.set_defs.get(def) {
            return d.clone();
        }
        let module = self.defs.get(def).map(|d| d.module).unwrap_or(0);
        let (items, ok) = match self.item(def) {
            Some(Item::Set(decl)) => self.pending_elems(module, &decl.value),
            _ => (Vec::new(), false),
        };
        let d = Rc::new(SetDef { items, ok });
        if let Some(slot) = self.set_defs.get_mut(def) {
            *slot = Some(d.clone());
        }
        d
    }

    /// Checks every named set once: its elements, and cycles among sets
    /// (AP0104, iterative DFS). Sets are not expanded here: a set is
    /// materialised only where it is used.
    pub fn check_sets(&mut self) {
        #[derive(Clone, Copy, PartialEq)]
        enum Color {
            White,
            Grey,
            Black,
        }
        let n = self.defs.len();
        let mut color = vec![Color::White; n];
        for start in 0..n {
            if self.kind(start) != Some(DefKind::Set) || color.get(start) != Some(&Color::White) {
                continue;
            }
            let mut stack: Vec<(DefId, usize)> = vec![(start, 0)];
            if let Some(c) = color.get_mut(start) {
                *c = Color::Grey;
            }
            while let Some(&mut (set, ref mut pos)) = stack.last_mut() {
                let def = self.set_def(set);
                let next = def
                    .items
                    .get(*pos..)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                    .find_map(|(i, p)| match p {
                        Pending::Splice(d, span) => Some((i, *d, *span)),
                        Pending::Ready(_) => None,
                    });
                match next {
                    None => {
                        if let Some(c) = color.get_mut(set) {
                            *c = Color::Black;
                        }
                        stack.pop();
                    }
                    Some((i, target, span)) => {
                        *pos += i + 1;
                        match color.get(target) {
                            Some(Color::White) => {
                                if let Some(c) = color.get_mut(target) {
                                    *c = Color::Grey;
                                }
                                stack.push((target, 0));
                            }
                            Some(Color::Grey) => {
                                let from =
                                    stack.iter().position(|(x, _)| *x == target).unwrap_or(0);
                                let cycle: Vec<DefId> = stack
                                    .get(from..)
                                    .unwrap_or(&[])
                                    .iter()
                                    .map(|(x, _)| *x)
                                    .collect();
                                self.report_cycle("set", &cycle, target, span);
                                for c in cycle {
                                    if let Some(b) = self.set_bad.get_mut(c) {
                                        *b = true;
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    /// The elements of a named set, spliced and deduplicated (cached).
    pub fn set_elems(&mut self, def: DefId) -> Option<Rc<Vec<Elem>>> {
        if let Some(State::Done(v)) = self.sets.get(def) {
            return v.clone();
        }
        let span = match self.item(def) {
            Some(Item::Set(decl)) => decl.name.span,
            _ => Span::default(),
        };
        let top = self.set_def(def);
        let result = if self.set_bad.get(def).copied().unwrap_or(true) {
            None
        } else {
            self.materialize(top, span).map(Rc::new)
        };
        if let Some(s) = self.sets.get_mut(def) {
            *s = State::Done(result.clone());
        }
        result
    }

    /// Expands splices depth first, in written order, visiting each named
    /// set at most once (a repeated set adds nothing after deduplication),
    /// so the cost is linear in the sets reached and their elements.
    fn materialize(&mut self, top: Rc<SetDef>, span: Span) -> Option<Vec<Elem>> {
        let mut out: Vec<Elem> = Vec::new();
        let mut seen: HashSet<Key> = HashSet::new();
        let mut visited: HashSet<DefId> = HashSet::new();
        let mut stack: Vec<(Rc<SetDef>, usize)> = vec![(top, 0)];
        while let Some((def, pos)) = stack.last_mut() {
            if !def.ok {
                return None;
            }
            let Some(item) = def.items.get(*pos) else {
                stack.pop();
                continue;
            };
            *pos += 1;
            match item {
                Pending::Ready(e) => {
                    if seen.insert(Key::of(e)) {
                        out.push(e.clone());
                        if out.len() > MAX_SET_ELEMS {
                            self.too_large(span);
                            return None;
                        }
                    }
                }
                Pending::Splice(d, _) => {
                    let d = *d;
                    if self.set_bad.get(d).copied().unwrap_or(true) {
                        return None;
                    }
                    if visited.insert(d) {
                        let next = self.set_def(d);
                        stack.push((next, 0));
                    }
                }
            }
        }
        Some(out)
    }
}

/// What makes two set elements the same value.
#[derive(Hash, PartialEq, Eq)]
enum Key {
    Str(String),
    Int(u64),
    Ip(String),
    Range(u64, u64),
    Bool(bool),
    Secret(DefId),
}

impl Key {
    fn of(e: &Elem) -> Key {
        match e {
            Elem::Str(s, _) => Key::Str(s.clone()),
            Elem::Int(n, _) => Key::Int(*n),
            Elem::Ip(s, _) => Key::Ip(s.clone()),
            Elem::Range(a, b, _) => Key::Range(*a, *b),
            Elem::Bool(b, _) => Key::Bool(*b),
            Elem::Secret(d, _) => Key::Secret(*d),
        }
    }
}
