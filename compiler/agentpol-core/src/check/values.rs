//! Interpreting values where they are used: rule targets as path globs, net
//! hosts or ports. Named sets are interpreted once per context and cached,
//! so a set used by many rules costs (and reports) once.

use super::ctx::{Checker, ConstVal, DefId, DefKind, Elem, Interp, SetCtx};
use super::glob::{parse_path_pattern, PathPat};
use super::lit::LitError;
use super::net::{parse_cidr, parse_host, port_range};
use crate::diag::{codes, Diag};
use crate::ir::{Host, PortRange};
use crate::span::Span;
use crate::syntax::ast::{Expr, QualName};
use std::rc::Rc;

impl Checker<'_> {
    pub(super) fn mismatch(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: &str,
        help: &str,
    ) {
        self.diags.push(
            Diag::error(&codes::TYPE_MISMATCH, span, message)
                .label(label)
                .help(help),
        );
    }

    fn secret_in_secret(&mut self, span: Span, def: DefId) {
        self.wrong_kind(
            span,
            def,
            "a path or a set of paths",
            "a secret's files are paths; list the files rather than another secret",
        );
    }

    /// Parses a path pattern written at `span`, reporting errors and warnings there.
    pub fn paths_from_text(&mut self, text: &str, span: Span) -> Option<Vec<PathPat>> {
        match parse_path_pattern(text) {
            Ok(parsed) => {
                for w in parsed.warnings {
                    self.diags.push(w.warning_at(span));
                }
                Some(parsed.pats)
            }
            Err(e) => {
                self.diags.push(e.error_at(span));
                None
            }
        }
    }

    fn paths_from_elems(&mut self, elems: &[Elem]) -> Option<Vec<PathPat>> {
        let mut out = Vec::with_capacity(elems.len());
        let mut ok = true;
        for e in elems {
            match e {
                Elem::Str(t, span) => match self.paths_from_text(t, *span) {
                    Some(p) => out.extend(p),
                    None => ok = false,
                },
                Elem::Secret(d, span) => {
                    if self.in_secret_decl {
                        self.secret_in_secret(*span, *d);
                        ok = false;
                    } else if let Some(s) = self.secrets.get(d) {
                        out.extend(s.files.iter().cloned());
                    }
                }
                other => {
                    self.mismatch(
                        other.span(),
                        "a path glob must be a string",
                        "not a string",
                        "write paths as strings: \"/etc/passwd\", \"~/work/**\"",
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A named set (or const) interpreted in `ctx`, cached.
    fn interp_named(&mut self, def: DefId, ctx: SetCtx) -> Option<Interp> {
        if let Some(c) = self.set_cache.get(&(def, ctx)) {
            return c.clone();
        }
        let result = match self.kind(def) {
            Some(DefKind::Set) => {
                let elems = self.set_elems(def);
                match elems {
                    None => None,
                    Some(elems) => match ctx {
                        SetCtx::Paths => self
                            .paths_from_elems(&elems)
                            .map(|p| Interp::Paths(Rc::new(p))),
                        SetCtx::Hosts => self
                            .hosts_from_elems(&elems)
                            .map(|h| Interp::Hosts(Rc::new(h))),
                        SetCtx::Ports => self
                            .ports_from_elems(&elems)
                            .map(|p| Interp::Ports(Rc::new(p))),
                        SetCtx::Strings | SetCtx::Ints => self
                            .values_from_elems(&elems, ctx == SetCtx::Ints)
                            .map(|v| Interp::Values(Rc::new(v))),
                    },
                }
            }
            Some(DefKind::Const) => {
                let span = self.defs.get(def).map(|d| d.name_span).unwrap_or_default();
                match self.const_value(def) {
                    None => None,
                    Some(v) => {
                        let elem = match v {
                            ConstVal::Str(s) => Elem::Str(s, span),
                            ConstVal::Int(n) => Elem::Int(n, span),
                        };
                        let elems = [elem];
                        match ctx {
                            SetCtx::Paths => self
                                .paths_from_elems(&elems)
                                .map(|p| Interp::Paths(Rc::new(p))),
                            SetCtx::Hosts => self
                                .hosts_from_elems(&elems)
                                .map(|h| Interp::Hosts(Rc::new(h))),
                            SetCtx::Ports => self
                                .ports_from_elems(&elems)
                                .map(|p| Interp::Ports(Rc::new(p))),
                            SetCtx::Strings | SetCtx::Ints => self
                                .values_from_elems(&elems, ctx == SetCtx::Ints)
                                .map(|v| Interp::Values(Rc::new(v))),
                        }
                    }
                }
            }
            Some(DefKind::Secret) if ctx == SetCtx::Paths => self
                .secrets
                .get(&def)
                .map(|s| Interp::Paths(Rc::new(s.files.clone()))),
            _ => None,
        };
        self.set_cache.insert((def, ctx), result.clone());
        result
    }

    /// Targets of an `fs` or `exec` rule (or pattern): path globs.
    pub fn path_targets(&mut self, module: usize, expr: &Expr) -> Option<Vec<PathPat>> {
        match expr {
            Expr::Str(lit) => {
                let text = self.interpolate(module, lit)?;
                self.paths_from_text(&text, lit.span)
            }
            Expr::Name(q) => {
                let def =
                    self.resolve(module, q, &[DefKind::Const, DefKind::Set, DefKind::Secret])?;
                match self.kind(def) {
                    Some(DefKind::Secret) if self.in_secret_decl => {
                        self.secret_in_secret(q.span, def);
                        None
                    }
                    Some(DefKind::Const | DefKind::Set | DefKind::Secret) => {
                        match self.interp_named(def, SetCtx::Paths)? {
                            Interp::Paths(p) => Some(p.as_ref().clone()),
                            _ => None,
                        }
                    }
                    _ => {
                        self.wrong_kind(q.span, def, "a path, a set of paths or a secret", "");
                        None
                    }
                }
            }
            Expr::Set(lit) => {
                let elems = self.flatten_set(module, lit)?;
                self.paths_from_elems(&elems)
            }
            Expr::Any(span) => self.paths_from_text("/**", *span),
            other => {
                self.mismatch(
                    other.span(),
                    "expected a path glob",
                    "not a path",
                    "write paths as strings: \"/etc/passwd\", \"~/work/**\", or a set of them",
                );
                None
            }
        }
    }

    fn host_from_elem(&mut self, e: &Elem) -> Option<Host> {
        let r = match e {
            Elem::Str(t, _) => parse_host(t),
            Elem::Ip(t, _) => parse_cidr(t).map(Host::Cidr),
            other => {
                self.mismatch(
                    other.span(),
                    "a net target must be an address, a CIDR or a domain",
                    "not a host",
                    "write IPv4 bare (10.0.0.0/8), IPv6 and domains as strings (\"fc00::/7\", \"api.github.com\")",
                );
                return None;
            }
        };
        self.reported(r, e.span())
    }

    /// The `const` or `set` named by `q`, read in `ctx`; a name of another
    /// kind is reported (`what`: what the place wants, e.g. "a port or a set of ports").
    fn named(&mut self, module: usize, q: &QualName, ctx: SetCtx, what: &str) -> Option<Interp> {
        let def = self.resolve(module, q, &[DefKind::Const, DefKind::Set])?;
        match self.kind(def) {
            Some(DefKind::Const | DefKind::Set) => self.interp_named(def, ctx),
            _ => {
                self.wrong_kind(q.span, def, what, "");
                None
            }
        }
    }

    fn hosts_from_elems(&mut self, elems: &[Elem]) -> Option<Vec<Host>> {
        self.all_of(elems, Self::host_from_elem)
    }

    /// The value, or the error reported at `span` and `None`.
    fn reported<T>(&mut self, r: Result<T, LitError>, span: Span) -> Option<T> {
        r.map_err(|err| self.diags.push(err.error_at(span))).ok()
    }

    /// Every element converted by `one`, or `None` when one fails (each is
    /// tried, so every bad element is reported).
    fn all_of<T>(
        &mut self,
        elems: &[Elem],
        one: fn(&mut Self, &Elem) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut out = Vec::with_capacity(elems.len());
        let mut ok = true;
        for e in elems {
            match one(self, e) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Targets of a `net` rule: `None` = any address.
    pub fn host_targets(&mut self, module: usize, expr: &Expr) -> Option<Option<Vec<Host>>> {
        match expr {
            Expr::Any(_) => Some(None),
            Expr::Str(lit) => {
                let text = self.interpolate(module, lit)?;
                self.host_from_elem(&Elem::Str(text, lit.span))
                    .map(|h| Some(vec![h]))
            }
            Expr::Ip(ip) => self
                .host_from_elem(&Elem::Ip(ip.node.clone(), ip.span))
                .map(|h| Some(vec![h])),
            Expr::Name(q) => {
                match self.named(module, q, SetCtx::Hosts, "a host or a set of hosts")? {
                    Interp::Hosts(h) => Some(Some(h.as_ref().clone())),
                    _ => None,
                }
            }
            Expr::Set(lit) => {
                let elems = self.flatten_set(module, lit)?;
                self.hosts_from_elems(&elems).map(Some)
            }
            other => {
                self.mismatch(
                    other.span(),
                    "expected an address, a CIDR or a domain",
                    "not a host",
                    "write IPv4 bare (10.0.0.0/8), IPv6 and domains as strings (\"fc00::/7\", \"api.github.com\")",
                );
                None
            }
        }
    }

    fn port_from_elem(&mut self, e: &Elem) -> Option<PortRange> {
        let r = match e {
            Elem::Int(n, _) => port_range(*n, *n),
            Elem::Range(lo, hi, _) => port_range(*lo, *hi),
            other => {
                self.mismatch(
                    other.span(),
                    "a port must be a number or a range",
                    "not a port",
                    "write `port 443`, `port 8000..8080` or `port { 80, 443 }`",
                );
                return None;
            }
        };
        self.reported(r, e.span())
    }

    fn ports_from_elems(&mut self, elems: &[Elem]) -> Option<Vec<PortRange>> {
        self.all_of(elems, Self::port_from_elem)
    }

    /// `port ...` of a `net` rule: `None` = any port.
    pub fn port_targets(&mut self, module: usize, expr: &Expr) -> Option<Option<Vec<PortRange>>> {
        match expr {
            Expr::Any(_) => Some(None),
            Expr::Int(n) => self
                .port_from_elem(&Elem::Int(n.node, n.span))
                .map(|p| Some(vec![p])),
            Expr::Range(lo, hi, span) => self
                .port_from_elem(&Elem::Range(lo.node, hi.node, *span))
                .map(|p| Some(vec![p])),
            Expr::Name(q) => {
                match self.named(module, q, SetCtx::Ports, "a port or a set of ports")? {
                    Interp::Ports(p) => Some(Some(p.as_ref().clone())),
                    _ => None,
                }
            }
            Expr::Set(lit) => {
                let elems = self.flatten_set(module, lit)?;
                self.ports_from_elems(&elems).map(Some)
            }
            other => {
                self.mismatch(
                    other.span(),
                    "expected a port",
                    "not a port",
                    "write `port 443`, `port 8000..8080`, `port { 80, 443 }` or `port any`",
                );
                None
            }
        }
    }

    /// Literal values of an `in` set in a condition: all strings or all ints.
    pub(super) fn values_from_elems(
        &mut self,
        elems: &[Elem],
        ints: bool,
    ) -> Option<Vec<crate::ir::Value>> {
        use crate::ir::Value;
        let mut out = Vec::with_capacity(elems.len());
        let mut ok = true;
        for e in elems {
            match (e, ints) {
                (Elem::Str(s, _), false) => out.push(Value::Str(s.clone())),
                (Elem::Int(n, span), true) => match i64::try_from(*n) {
                    Ok(v) => out.push(Value::Int(v)),
                    Err(_) => {
                        self.diags.push(
                            Diag::error(
                                &codes::VALUE_OUT_OF_RANGE,
                                *span,
                                format!("{n} does not fit in a 64-bit signed integer"),
                            )
                            .label("too large")
                            .help("tool `int` values are at most 9223372036854775807"),
                        );
                        ok = false;
                    }
                },
                (Elem::Range(..), true) => {
                    self.mismatch(
                        e.span(),
                        "ranges cannot be used in an `in` set",
                        "a range",
                        "compare with `>=` and `<=` instead: `n >= 1 and n <= 10`",
                    );
                    ok = false;
                }
                (other, _) => {
                    let want = if ints { "an integer" } else { "a string" };
                    self.mismatch(
                        other.span(),
                        format!("this set element is not {want}"),
                        "wrong type",
                        &format!(
                            "the operand is {}, so every element must be {want}",
                            if ints { "an int" } else { "a string" }
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A named set's values in a condition (cached).
    pub(super) fn named_values(
        &mut self,
        def: DefId,
        ints: bool,
    ) -> Option<Rc<Vec<crate::ir::Value>>> {
        match self.interp_named(def, if ints { SetCtx::Ints } else { SetCtx::Strings })? {
            Interp::Values(v) => Some(v),
            _ => None,
        }
    }

    /// A named set's hosts (cached).
    pub(super) fn named_hosts(&mut self, def: DefId) -> Option<Rc<Vec<Host>>> {
        match self.interp_named(def, SetCtx::Hosts)? {
            Interp::Hosts(h) => Some(h),
            _ => None,
        }
    }

    /// A named set's path globs (cached).
    pub(super) fn named_paths(&mut self, def: DefId) -> Option<Rc<Vec<PathPat>>> {
        match self.interp_named(def, SetCtx::Paths)? {
            Interp::Paths(p) => Some(p),
            _ => None,
        }
    }

    /// Hosts from flattened literal elements.
    pub(super) fn hosts_of(&mut self, elems: &[Elem]) -> Option<Vec<Host>> {
        self.hosts_from_elems(elems)
    }

    /// Paths from flattened literal elements.
    pub(super) fn paths_of(&mut self, elems: &[Elem]) -> Option<Vec<PathPat>> {
        self.paths_from_elems(elems)
    }
}
