//! Tool conditions: type checking against the tool's signature
//! (semantics.md §6) and rewriting to disjunctive normal form with negation
//! pushed to the atoms.
//!
//! The rewrite recurses over the condition tree; the parser bounds nesting
//! (parentheses and `not`, 64 deep) and `and`/`or` chains are flat vectors,
//! but the checker keeps its own depth guard ([`MAX_DEPTH`]) so that no input
//! can overflow the stack here.

use super::ctx::{closest, Checker, ConstVal, DefKind};
use super::glob::PathPat;
use super::misc::{check_scheme, check_url_path, check_url_port, parse_like};
use super::net::{parse_cidr, parse_host};
use crate::diag::{codes, Diag};
use crate::ir::{self, Atom, CmpOp, Host, Operand, Scalar, SetOperand, Test, UrlField, Value};
use crate::span::Span;
use crate::syntax::ast::{self, CmpOpKw, Cond, Expr};
use std::collections::BTreeSet;
use std::rc::Rc;

/// Most disjuncts a condition may have in DNF.
pub const MAX_DISJUNCTS: usize = 64;

/// Deepest condition tree the checker walks.
pub const MAX_DEPTH: usize = 200;

/// An atom of the elaborated form (see `blocks.rs`): final, or a path test
/// whose globs may still hold `~`.
#[derive(Clone, Debug)]
pub enum ElabAtom {
    /// Final.
    Ready(Atom),
    /// `p in { globs }`, expanded per agent.
    PathIn {
        /// `not`.
        negated: bool,
        /// The path argument.
        lhs: Operand,
        /// The globs.
        globs: Rc<Vec<PathPat>>,
    },
}

impl ElabAtom {
    /// True if a glob needs the agent's home.
    pub fn needs_home(&self) -> bool {
        match self {
            ElabAtom::Ready(_) => false,
            ElabAtom::PathIn { globs, .. } => globs.iter().any(|g| g.tilde),
        }
    }
}

/// Why the rewrite stopped.
enum Stop {
    /// An error was reported.
    Reported,
    /// The DNF would exceed [`MAX_DISJUNCTS`].
    TooComplex(usize),
}

/// What an operand reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpTy {
    Str,
    Int,
    Bool,
    Path,
    Url,
    Field(UrlField),
}

impl OpTy {
    fn describe(self) -> &'static str {
        match self {
            OpTy::Str => "a string argument",
            OpTy::Int => "an int argument",
            OpTy::Bool => "a bool argument",
            OpTy::Path => "a path argument",
            OpTy::Url => "a url argument",
            OpTy::Field(UrlField::Scheme) => "a url's scheme (a string)",
            OpTy::Field(UrlField::Host) => "a url's host",
            OpTy::Field(UrlField::Port) => "a url's port (an int)",
            OpTy::Field(UrlField::Path) => "a url's path (a string)",
        }
    }
}

/// Scalar types a right-hand side can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValTy {
    Str,
    Int,
    Bool,
}

impl ValTy {
    fn article(self) -> &'static str {
        match self {
            ValTy::Str => "a string",
            ValTy::Int => "an integer",
            ValTy::Bool => "a boolean",
        }
    }
}

type Dnf = Vec<Vec<ElabAtom>>;

impl Checker<'_> {
    /// Type-checks `cond` against tool `tool` and rewrites it to DNF: a list of
    /// conjunctions. `None` if it has errors (reported).
    pub fn cond_dnf(&mut self, module: usize, tool: usize, cond: &Cond) -> Option<Dnf> {
        match self.dnf(module, tool, cond, false, 0) {
            Ok(d) => Some(d),
            Err(Stop::Reported) => None,
            Err(Stop::TooComplex(n)) => {
                let shown = if n == usize::MAX {
                    "too many".to_string()
                } else {
                    n.to_string()
                };
                self.diags.push(
                    Diag::error(
                        &codes::CONDITION_TOO_COMPLEX,
                        cond.span(),
                        format!("this condition has {shown} disjuncts in disjunctive normal form (at most {MAX_DISJUNCTS})"),
                    )
                    .label("too many alternatives")
                    .help("use sets (`x in { \"a\", \"b\" }`) instead of chains of `or`, or split the rule into several rules"),
                );
                None
            }
        }
    }

    fn dnf(
        &mut self,
        module: usize,
        tool: usize,
        cond: &Cond,
        neg: bool,
        depth: usize,
    ) -> Result<Dnf, Stop> {
        if depth > MAX_DEPTH {
            self.diags.push(
                Diag::error(&codes::NESTING_TOO_DEEP, cond.span(), "this condition is nested too deeply")
                    .label("too deep")
                    .help("flatten the condition: `and`/`or` chains of any length are fine, nesting is limited"),
            );
            return Err(Stop::Reported);
        }
        let mut c = cond;
        let mut neg = neg;
        loop {
            match c {
                Cond::Paren(inner, _) => c = inner,
                Cond::Not(inner, _) => {
                    neg = !neg;
                    c = inner;
                }
                _ => break,
            }
        }
        match c {
            Cond::Atom(a) => Ok(vec![vec![self.atom(module, tool, a, neg)?]]),
            Cond::Or(children, _) | Cond::And(children, _) => {
                let is_or = matches!(c, Cond::Or(..)) != neg;
                let mut failed: Option<Stop> = None;
                let mut acc: Dnf = if is_or { Vec::new() } else { vec![Vec::new()] };
                for child in children {
                    let d = match self.dnf(module, tool, child, neg, depth + 1) {
                        Ok(d) => d,
                        Err(Stop::TooComplex(n)) => return Err(Stop::TooComplex(n)),
                        Err(e) => {
                            failed = Some(e);
                            continue;
                        }
                    };
                    if failed.is_some() {
                        continue;
                    }
                    if is_or {
                        acc.extend(d);
                        if acc.len() > MAX_DISJUNCTS {
                            return Err(Stop::TooComplex(acc.len()));
                        }
                    } else if let [only] = d.as_slice() {
                        // One disjunct: extend every conjunction in place.
                        for conj in &mut acc {
                            conj.extend(only.iter().cloned());
                        }
                    } else {
                        let size = acc.len().saturating_mul(d.len());
                        if size > MAX_DISJUNCTS {
                            return Err(Stop::TooComplex(size));
                        }
                        let mut next = Vec::with_capacity(size);
                        for left in &acc {
                            for right in &d {
                                let mut conj = left.clone();
                                conj.extend(right.iter().cloned());
                                next.push(conj);
                            }
                        }
                        acc = next;
                    }
                }
                match failed {
                    Some(e) => Err(e),
                    None => Ok(acc),
                }
            }
            Cond::Paren(..) | Cond::Not(..) => Err(Stop::Reported),
        }
    }

    /// Resolves an operand against the tool's signature.
    fn operand(&mut self, tool: usize, op: &ast::Operand) -> Option<(Operand, OpTy)> {
        let info = self.tools.get(tool)?;
        let pos = info.sig.args.iter().position(|a| a.name == op.arg.name);
        let Some(pos) = pos else {
            self.unknown_arg(tool, &op.arg);
            return None;
        };
        let (ty, def_span) = match (info.sig.args.get(pos), info.arg_spans.get(pos)) {
            (Some(a), Some(s)) => (a.ty, *s),
            _ => return None,
        };
        self.reference(op.arg.span, def_span, op.arg.name.clone());
        let base = match ty {
            ir::ArgType::String => OpTy::Str,
            ir::ArgType::Int => OpTy::Int,
            ir::ArgType::Bool => OpTy::Bool,
            ir::ArgType::Url => OpTy::Url,
            ir::ArgType::Path => OpTy::Path,
        };
        let Some(field) = &op.field else {
            return Some((
                Operand {
                    arg: op.arg.name.clone(),
                    field: None,
                },
                base,
            ));
        };
        if base != OpTy::Url {
            self.diags.push(
                Diag::error(
                    &codes::INVALID_URL_FIELD,
                    field.span,
                    format!(
                        "`{}` is {}; only url arguments have fields",
                        op.arg.name,
                        base.describe()
                    ),
                )
                .label("no such field")
                .help(format!("compare `{}` itself", op.arg.name)),
            );
            return None;
        }
        let f = match field.name.as_str() {
            "scheme" => UrlField::Scheme,
            "host" => UrlField::Host,
            "port" => UrlField::Port,
            "path" => UrlField::Path,
            other => {
                let tool_name = self
                    .tools
                    .get(tool)
                    .map(|t| t.sig.name.clone())
                    .unwrap_or_default();
                let help = match closest(other, ["scheme", "host", "port", "path"].into_iter()) {
                    Some(s) => format!("did you mean `{}.{s}`?", op.arg.name),
                    None => "url fields are `scheme`, `host`, `port` and `path`".to_string(),
                };
                self.diags.push(
                    Diag::error(
                        &codes::INVALID_URL_FIELD,
                        field.span,
                        format!("a url has no field `{other}` (in tool `{tool_name}`)"),
                    )
                    .label("unknown field")
                    .help(help),
                );
                return None;
            }
        };
        Some((
            Operand {
                arg: op.arg.name.clone(),
                field: Some(f),
            },
            OpTy::Field(f),
        ))
    }

    /// Reports an argument the tool does not declare.
    pub fn unknown_arg(&mut self, tool: usize, arg: &ast::Ident) {
        let Some(info) = self.tools.get(tool) else {
            return;
        };
        let names: Vec<String> = info.sig.args.iter().map(|a| a.name.clone()).collect();
        let tool_name = info.sig.name.clone();
        let decl = info.name_span;
        let help = match closest(&arg.name, names.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => format!("`{tool_name}` has no arguments"),
            None => format!(
                "`{tool_name}` has the arguments {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.diags.push(
            Diag::error(
                &codes::UNKNOWN_ARGUMENT,
                arg.span,
                format!("the tool `{tool_name}` has no argument `{}`", arg.name),
            )
            .label("not an argument")
            .with_label(decl, "the tool is declared here")
            .help(help),
        );
    }

    fn bad_operator(&mut self, span: Span, what: &str, ty: OpTy, help: &str) -> Stop {
        if ty == OpTy::Url {
            self.diags.push(
                Diag::error(&codes::URL_NEEDS_FIELD, span, "a url argument is compared only through its parts")
                    .label("a whole url")
                    .help("use `.scheme`, `.host`, `.port` or `.path`, e.g. `u.host == \"api.github.com\"`"),
            );
        } else {
            self.diags.push(
                Diag::error(
                    &codes::INVALID_OPERATOR,
                    span,
                    format!("{what} cannot be used on {}", ty.describe()),
                )
                .label("not supported for this type")
                .help(help.to_string()),
            );
        }
        Stop::Reported
    }

    fn atom(
        &mut self,
        module: usize,
        tool: usize,
        atom: &ast::Atom,
        neg: bool,
    ) -> Result<ElabAtom, Stop> {
        match atom {
            ast::Atom::Tainted { arg, .. } => {
                let info = self.tools.get(tool).ok_or(Stop::Reported)?;
                match info.sig.args.iter().position(|a| a.name == arg.name) {
                    Some(pos) => {
                        if let Some(s) = info.arg_spans.get(pos).copied() {
                            self.reference(arg.span, s, arg.name.clone());
                        }
                        Ok(ElabAtom::Ready(Atom {
                            negated: neg,
                            test: Test::Tainted {
                                arg: arg.name.clone(),
                            },
                        }))
                    }
                    None => {
                        self.unknown_arg(tool, arg);
                        Err(Stop::Reported)
                    }
                }
            }
            ast::Atom::Compare { lhs, op, rhs, .. } => {
                let (operand, ty) = self.operand(tool, lhs).ok_or(Stop::Reported)?;
                let opword = match op.node {
                    CmpOpKw::Eq => "`==`",
                    CmpOpKw::Ne => "`!=`",
                    CmpOpKw::Lt => "`<`",
                    CmpOpKw::Le => "`<=`",
                    CmpOpKw::Gt => "`>`",
                    CmpOpKw::Ge => "`>=`",
                };
                match ty {
                    OpTy::Url => return Err(self.bad_operator(lhs.span, opword, ty, "")),
                    OpTy::Path => {
                        return Err(self.bad_operator(
                            op.span,
                            opword,
                            ty,
                            "path arguments are matched with globs: `p in { \"/tmp/x\" }`",
                        ))
                    }
                    _ => {}
                }
                match op.node {
                    CmpOpKw::Eq | CmpOpKw::Ne => {
                        let negated = neg ^ (op.node == CmpOpKw::Ne);
                        if ty == OpTy::Field(UrlField::Host) {
                            return self.host_eq(module, operand, rhs, negated);
                        }
                        let want = match ty {
                            OpTy::Int | OpTy::Field(UrlField::Port) => ValTy::Int,
                            OpTy::Bool => ValTy::Bool,
                            _ => ValTy::Str,
                        };
                        let value = self.scalar(module, rhs, want, ty)?;
                        Ok(ElabAtom::Ready(Atom {
                            negated,
                            test: Test::Eq {
                                lhs: operand,
                                rhs: value,
                            },
                        }))
                    }
                    _ => {
                        if !matches!(ty, OpTy::Int | OpTy::Field(UrlField::Port)) {
                            return Err(self.bad_operator(
                                op.span,
                                opword,
                                ty,
                                "ordering works on ints (and `url.port`); use `==`, `in` or `like` for strings",
                            ));
                        }
                        let value = self.scalar(module, rhs, ValTy::Int, ty)?;
                        let cmp = match op.node {
                            CmpOpKw::Lt => CmpOp::Lt,
                            CmpOpKw::Le => CmpOp::Le,
                            CmpOpKw::Gt => CmpOp::Gt,
                            _ => CmpOp::Ge,
                        };
                        Ok(ElabAtom::Ready(Atom {
                            negated: neg,
                            test: Test::Cmp {
                                lhs: operand,
                                op: cmp,
                                rhs: value,
                            },
                        }))
                    }
                }
            }
            ast::Atom::In {
                lhs,
                negated,
                set,
                span,
            } => {
                let (operand, ty) = self.operand(tool, lhs).ok_or(Stop::Reported)?;
                let negated = neg ^ *negated;
                match ty {
                    OpTy::Url => Err(self.bad_operator(lhs.span, "`in`", ty, "")),
                    OpTy::Bool => {
                        Err(self.bad_operator(*span, "`in`", ty, "compare bools with `==`"))
                    }
                    OpTy::Path => {
                        let globs = self.glob_set(module, set)?;
                        Ok(ElabAtom::PathIn {
                            negated,
                            lhs: operand,
                            globs,
                        })
                    }
                    OpTy::Field(UrlField::Host) => {
                        if let Expr::Param(..) = set {
                            let s = self.set_operand(module, set, false, ty)?;
                            return Ok(ElabAtom::Ready(Atom {
                                negated,
                                test: Test::In {
                                    lhs: operand,
                                    set: s,
                                },
                            }));
                        }
                        let hosts = self.host_set(module, set)?;
                        Ok(ElabAtom::Ready(Atom {
                            negated,
                            test: Test::HostIn {
                                lhs: operand,
                                hosts,
                            },
                        }))
                    }
                    _ => {
                        let ints = matches!(ty, OpTy::Int | OpTy::Field(UrlField::Port));
                        let s = self.set_operand(module, set, ints, ty)?;
                        Ok(ElabAtom::Ready(Atom {
                            negated,
                            test: Test::In {
                                lhs: operand,
                                set: s,
                            },
                        }))
                    }
                }
            }
            ast::Atom::Like {
                lhs,
                negated,
                pattern,
                span,
            } => {
                let (operand, ty) = self.operand(tool, lhs).ok_or(Stop::Reported)?;
                match ty {
                    OpTy::Str | OpTy::Field(UrlField::Scheme | UrlField::Host | UrlField::Path) => {
                    }
                    OpTy::Url => return Err(self.bad_operator(lhs.span, "`like`", ty, "")),
                    OpTy::Path => {
                        return Err(self.bad_operator(
                            *span,
                            "`like`",
                            ty,
                            "path arguments are matched with globs: `p in { \"/tmp/*.txt\" }`",
                        ))
                    }
                    _ => {
                        return Err(self.bad_operator(
                            *span,
                            "`like`",
                            ty,
                            "`like` matches strings; compare ints and bools with `==`",
                        ))
                    }
                }
                let text = self.interpolate(module, pattern).ok_or(Stop::Reported)?;
                match parse_like(&text) {
                    Ok(p) => Ok(ElabAtom::Ready(Atom {
                        negated: neg ^ *negated,
                        test: Test::Like {
                            lhs: operand,
                            pattern: p,
                        },
                    })),
                    Err(e) => {
                        self.diags.push(e.error_at(pattern.span));
                        Err(Stop::Reported)
                    }
                }
            }
        }
    }

    /// Validates a literal value against the url part it is compared with.
    fn check_part(&mut self, ty: OpTy, value: &Value, span: Span) -> Result<(), Stop> {
        let r = match (ty, value) {
            (OpTy::Field(UrlField::Scheme), Value::Str(s)) => check_scheme(s),
            (OpTy::Field(UrlField::Path), Value::Str(s)) => check_url_path(s),
            (OpTy::Field(UrlField::Port), Value::Int(n)) => {
                check_url_port(u64::try_from(*n).unwrap_or(u64::MAX))
            }
            _ => Ok(()),
        };
        r.map_err(|e| {
            self.diags.push(e.error_at(span));
            Stop::Reported
        })
    }

    fn int_value(&mut self, n: u64, span: Span) -> Result<Value, Stop> {
        match i64::try_from(n) {
            Ok(v) => Ok(Value::Int(v)),
            Err(_) => {
                self.diags.push(
                    Diag::error(
                        &codes::VALUE_OUT_OF_RANGE,
                        span,
                        format!("{n} does not fit in a 64-bit signed integer"),
                    )
                    .label("too large")
                    .help("tool `int` values are at most 9223372036854775807"),
                );
                Err(Stop::Reported)
            }
        }
    }

    fn type_error(&mut self, span: Span, want: ValTy, found: &str, ty: OpTy) -> Stop {
        self.diags.push(
            Diag::error(
                &codes::TYPE_MISMATCH,
                span,
                format!("expected {}, found {found}", want.article()),
            )
            .label(found.to_string())
            .help(format!(
                "the left side is {}, so the value must be {}",
                ty.describe(),
                want.article()
            )),
        );
        Stop::Reported
    }

    /// A scalar right-hand side of `==`, `!=` or an ordering.
    fn scalar(
        &mut self,
        module: usize,
        expr: &Expr,
        want: ValTy,
        ty: OpTy,
    ) -> Result<Scalar, Stop> {
        let (value, span) = match expr {
            Expr::Str(lit) => {
                let t = self.interpolate(module, lit).ok_or(Stop::Reported)?;
                if want != ValTy::Str {
                    return Err(self.type_error(lit.span, want, "a string", ty));
                }
                (Value::Str(t), lit.span)
            }
            Expr::Int(n) => {
                if want != ValTy::Int {
                    return Err(self.type_error(n.span, want, "an integer", ty));
                }
                (self.int_value(n.node, n.span)?, n.span)
            }
            Expr::Bool(b) => {
                if want != ValTy::Bool {
                    return Err(self.type_error(b.span, want, "a boolean", ty));
                }
                (Value::Bool(b.node), b.span)
            }
            Expr::Name(q) => {
                let def = self
                    .resolve(module, q, &[DefKind::Const])
                    .ok_or(Stop::Reported)?;
                if self.kind(def) != Some(DefKind::Const) {
                    let help = if self.kind(def) == Some(DefKind::Set) {
                        format!("to test membership write `in {}`", q.text())
                    } else if self.kind(def) == Some(DefKind::Param) {
                        format!("write `param {}`", q.text())
                    } else {
                        String::new()
                    };
                    self.wrong_kind(q.span, def, "a const", &help);
                    return Err(Stop::Reported);
                }
                let v = self.const_value(def).ok_or(Stop::Reported)?;
                match (v, want) {
                    (ConstVal::Str(s), ValTy::Str) => (Value::Str(s), q.span),
                    (ConstVal::Int(n), ValTy::Int) => (self.int_value(n, q.span)?, q.span),
                    (ConstVal::Str(_), _) => {
                        return Err(self.type_error(q.span, want, "a string const", ty))
                    }
                    (ConstVal::Int(_), _) => {
                        return Err(self.type_error(q.span, want, "an integer const", ty))
                    }
                }
            }
            Expr::Param(q, span) => {
                let def = self
                    .resolve(module, q, &[DefKind::Param])
                    .ok_or(Stop::Reported)?;
                let Some(pty) = self.param_type(def, q.span, *span)? else {
                    return Err(Stop::Reported);
                };
                let ok = matches!(
                    (pty, want),
                    (ir::ParamType::String, ValTy::Str)
                        | (ir::ParamType::Int, ValTy::Int)
                        | (ir::ParamType::Bool, ValTy::Bool)
                );
                if !ok {
                    let found = param_type_word(pty);
                    let help = if matches!(pty, ir::ParamType::SetString | ir::ParamType::SetInt) {
                        format!(
                            "`{}` is a set: test membership with `in param {}`",
                            q.text(),
                            q.text()
                        )
                    } else {
                        format!(
                            "the left side is {}, so the param must be {}",
                            ty.describe(),
                            want.article()
                        )
                    };
                    self.diags.push(
                        Diag::error(
                            &codes::TYPE_MISMATCH,
                            *span,
                            format!("expected {}, found a {found} param", want.article()),
                        )
                        .label(format!("a {found}"))
                        .help(help),
                    );
                    return Err(Stop::Reported);
                }
                return Ok(Scalar::Param(self.qualified(def)));
            }
            other => {
                return Err(self.type_error(other.span(), want, "a value of another kind", ty));
            }
        };
        self.check_part(ty, &value, span)?;
        Ok(Scalar::Lit(value))
    }

    /// The type of param `def`, or an error if it is not a param. `Ok(None)`
    /// when the param's own type was invalid (already reported).
    fn param_type(
        &mut self,
        def: usize,
        name_span: Span,
        span: Span,
    ) -> Result<Option<ir::ParamType>, Stop> {
        if self.kind(def) != Some(DefKind::Param) {
            let Some(d) = self.defs.get(def).cloned() else {
                return Err(Stop::Reported);
            };
            self.diags.push(
                Diag::error(
                    &codes::NOT_A_PARAM,
                    span,
                    format!("`{}` is {}, not a param", d.name, d.kind.article()),
                )
                .label("not a param")
                .with_label(d.name_span, format!("defined as {} here", d.kind.article()))
                .help(format!(
                    "drop `param` to use {} `{}`, or declare `param {}: TYPE`",
                    d.kind.word(),
                    d.name,
                    d.name
                )),
            );
            let _ = name_span;
            return Err(Stop::Reported);
        }
        Ok(self.params.get(&def).copied())
    }

    /// `url.host == "x"`: a one-host `HostIn`, or string equality with a param.
    fn host_eq(
        &mut self,
        module: usize,
        lhs: Operand,
        rhs: &Expr,
        negated: bool,
    ) -> Result<ElabAtom, Stop> {
        if let Expr::Param(..) = rhs {
            let value = self.scalar(module, rhs, ValTy::Str, OpTy::Field(UrlField::Host))?;
            return Ok(ElabAtom::Ready(Atom {
                negated,
                test: Test::Eq { lhs, rhs: value },
            }));
        }
        let host = match rhs {
            Expr::Str(lit) => {
                let t = self.interpolate(module, lit).ok_or(Stop::Reported)?;
                parse_host(&t).map_err(|e| (e, lit.span))
            }
            Expr::Ip(ip) => parse_cidr(&ip.node)
                .map(Host::Cidr)
                .map_err(|e| (e, ip.span)),
            Expr::Name(q) => {
                let def = self
                    .resolve(module, q, &[DefKind::Const])
                    .ok_or(Stop::Reported)?;
                if self.kind(def) != Some(DefKind::Const) {
                    let help = if self.kind(def) == Some(DefKind::Set) {
                        format!("to test membership write `in {}`", q.text())
                    } else {
                        String::new()
                    };
                    self.wrong_kind(q.span, def, "a const", &help);
                    return Err(Stop::Reported);
                }
                match self.const_value(def).ok_or(Stop::Reported)? {
                    ConstVal::Str(s) => parse_host(&s).map_err(|e| (e, q.span)),
                    ConstVal::Int(_) => {
                        return Err(self.type_error(
                            q.span,
                            ValTy::Str,
                            "an integer const",
                            OpTy::Field(UrlField::Host),
                        ))
                    }
                }
            }
            other => {
                return Err(self.type_error(
                    other.span(),
                    ValTy::Str,
                    "a value of another kind",
                    OpTy::Field(UrlField::Host),
                ))
            }
        };
        match host {
            Ok(h) => Ok(ElabAtom::Ready(Atom {
                negated,
                test: Test::HostIn {
                    lhs,
                    hosts: vec![h],
                },
            })),
            Err((e, span)) => {
                self.diags.push(e.error_at(span));
                Err(Stop::Reported)
            }
        }
    }

    /// The set of an `in` atom over strings or ints.
    fn set_operand(
        &mut self,
        module: usize,
        expr: &Expr,
        ints: bool,
        ty: OpTy,
    ) -> Result<SetOperand, Stop> {
        let (values, span): (Vec<Value>, Span) = match expr {
            Expr::Set(lit) => {
                let elems = self.flatten_set(module, lit).ok_or(Stop::Reported)?;
                (
                    self.values_from_elems(&elems, ints).ok_or(Stop::Reported)?,
                    lit.span,
                )
            }
            Expr::Name(q) => {
                let def = self
                    .resolve(module, q, &[DefKind::Set])
                    .ok_or(Stop::Reported)?;
                if self.kind(def) != Some(DefKind::Set) {
                    let help = match self.kind(def) {
                        Some(DefKind::Const) => format!(
                            "`{}` is a single value: write `== {}` or `in {{ {} }}`",
                            q.text(),
                            q.text(),
                            q.text()
                        ),
                        Some(DefKind::Param) => format!("write `in param {}`", q.text()),
                        _ => String::new(),
                    };
                    self.wrong_kind(q.span, def, "a set", &help);
                    return Err(Stop::Reported);
                }
                let v = self.named_values(def, ints).ok_or(Stop::Reported)?;
                (v.as_ref().clone(), q.span)
            }
            Expr::Param(q, span) => {
                let def = self
                    .resolve(module, q, &[DefKind::Param])
                    .ok_or(Stop::Reported)?;
                let Some(pty) = self.param_type(def, q.span, *span)? else {
                    return Err(Stop::Reported);
                };
                let ok = matches!(
                    (pty, ints),
                    (ir::ParamType::SetString, false) | (ir::ParamType::SetInt, true)
                );
                if !ok {
                    let found = param_type_word(pty);
                    let want = if ints { "set<int>" } else { "set<string>" };
                    let help = if matches!(
                        pty,
                        ir::ParamType::String | ir::ParamType::Int | ir::ParamType::Bool
                    ) {
                        format!(
                            "`{}` is a single value: write `== param {}`",
                            q.text(),
                            q.text()
                        )
                    } else {
                        format!(
                            "the left side is {}, so the param must be a {want}",
                            ty.describe()
                        )
                    };
                    self.diags.push(
                        Diag::error(
                            &codes::TYPE_MISMATCH,
                            *span,
                            format!("expected a {want} param, found a {found} param"),
                        )
                        .label(format!("a {found}"))
                        .help(help),
                    );
                    return Err(Stop::Reported);
                }
                return Ok(SetOperand::Param(self.qualified(def)));
            }
            other => {
                self.diags.push(
                    Diag::error(&codes::TYPE_MISMATCH, other.span(), "expected a set")
                        .label("not a set")
                        .help("write a set literal `{ ... }`, a set's name or `param NAME`"),
                );
                return Err(Stop::Reported);
            }
        };
        let mut ok = true;
        for v in &values {
            if self.check_part(ty, v, span).is_err() {
                ok = false;
            }
        }
        if !ok {
            return Err(Stop::Reported);
        }
        Ok(SetOperand::Lit(values.into_iter().collect::<BTreeSet<_>>()))
    }

    /// The hosts of `url.host in ...`.
    fn host_set(&mut self, module: usize, expr: &Expr) -> Result<Vec<Host>, Stop> {
        match expr {
            Expr::Set(lit) => {
                let elems = self.flatten_set(module, lit).ok_or(Stop::Reported)?;
                self.hosts_of(&elems).ok_or(Stop::Reported)
            }
            Expr::Name(q) => {
                let def = self
                    .resolve(module, q, &[DefKind::Set])
                    .ok_or(Stop::Reported)?;
                if self.kind(def) != Some(DefKind::Set) {
                    let help = match self.kind(def) {
                        Some(DefKind::Const) => {
                            format!("`{}` is a single value: write `== {}`", q.text(), q.text())
                        }
                        Some(DefKind::Param) => format!("write `in param {}`", q.text()),
                        _ => String::new(),
                    };
                    self.wrong_kind(q.span, def, "a set of hosts", &help);
                    return Err(Stop::Reported);
                }
                Ok(self
                    .named_hosts(def)
                    .ok_or(Stop::Reported)?
                    .as_ref()
                    .clone())
            }
            other => {
                self.diags.push(
                    Diag::error(
                        &codes::TYPE_MISMATCH,
                        other.span(),
                        "expected a set of hosts",
                    )
                    .label("not a set")
                    .help(
                        "write `u.host in { \"api.github.com\", \"*.example.com\", 10.0.0.0/8 }`",
                    ),
                );
                Err(Stop::Reported)
            }
        }
    }

    /// The globs of `p in ...` for a path argument.
    fn glob_set(&mut self, module: usize, expr: &Expr) -> Result<Rc<Vec<PathPat>>, Stop> {
        match expr {
            Expr::Set(lit) => {
                let elems = self.flatten_set(module, lit).ok_or(Stop::Reported)?;
                Ok(Rc::new(self.paths_of(&elems).ok_or(Stop::Reported)?))
            }
            Expr::Name(q) => {
                let def = self
                    .resolve(module, q, &[DefKind::Set, DefKind::Secret])
                    .ok_or(Stop::Reported)?;
                if !matches!(self.kind(def), Some(DefKind::Set | DefKind::Secret)) {
                    self.wrong_kind(q.span, def, "a set of paths", "");
                    return Err(Stop::Reported);
                }
                self.named_paths(def).ok_or(Stop::Reported)
            }
            Expr::Param(_, span) => {
                self.diags.push(
                    Diag::error(&codes::INVALID_OPERATOR, *span, "path arguments cannot be matched against a param")
                        .label("a param")
                        .help("path arguments are matched with path globs written in the policy: `p in { \"~/work/**\" }`"),
                );
                Err(Stop::Reported)
            }
            other => {
                self.diags.push(
                    Diag::error(
                        &codes::TYPE_MISMATCH,
                        other.span(),
                        "expected a set of path globs",
                    )
                    .label("not a set")
                    .help("write `p in { \"~/work/**\" }`"),
                );
                Err(Stop::Reported)
            }
        }
    }
}

/// The written form of a param type.
fn param_type_word(t: ir::ParamType) -> &'static str {
    match t {
        ir::ParamType::String => "string",
        ir::ParamType::Int => "int",
        ir::ParamType::Bool => "bool",
        ir::ParamType::SetString => "set<string>",
        ir::ParamType::SetInt => "set<int>",
    }
}
