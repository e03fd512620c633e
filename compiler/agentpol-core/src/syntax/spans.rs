//! Comparing trees while ignoring where they were written.
//!
//! "parse ∘ print = id" holds modulo spans: reformatting moves everything.
//! [`erase_spans`] sets every span in a tree to the default, so two erased
//! trees compare with `==`. The walk recurses into conditions and skills,
//! whose depth the parser bounds (see [`super::MAX_NESTING`]).

use super::ast::*;
use crate::span::{Span, Spanned};

/// A copy of `file` with every span set to `Span::default()`.
pub fn erase_spans(file: &File) -> File {
    let mut f = file.clone();
    f.erase();
    f
}

/// True if `a` and `b` are the same tree apart from spans.
pub fn same_modulo_spans(a: &File, b: &File) -> bool {
    erase_spans(a) == erase_spans(b)
}

trait Erase {
    fn erase(&mut self);
}

impl Erase for Span {
    fn erase(&mut self) {
        *self = Span::default();
    }
}

impl<T> Erase for Spanned<T> {
    fn erase(&mut self) {
        self.span = Span::default();
    }
}

impl<T: Erase> Erase for Option<T> {
    fn erase(&mut self) {
        if let Some(t) = self {
            t.erase();
        }
    }
}

impl<T: Erase> Erase for Vec<T> {
    fn erase(&mut self) {
        for t in self {
            t.erase();
        }
    }
}

impl<T: Erase> Erase for Box<T> {
    fn erase(&mut self) {
        (**self).erase();
    }
}

impl<A: Erase, B: Erase> Erase for (A, B) {
    fn erase(&mut self) {
        self.0.erase();
        self.1.erase();
    }
}

impl Erase for File {
    fn erase(&mut self) {
        self.version.erase();
        self.items.erase();
        self.span.erase();
    }
}

impl Erase for Ident {
    fn erase(&mut self) {
        self.span.erase();
    }
}

impl Erase for QualName {
    fn erase(&mut self) {
        self.parts.erase();
        self.span.erase();
    }
}

impl Erase for Item {
    fn erase(&mut self) {
        match self {
            Item::Import(i) => {
                match &mut i.target {
                    ImportTarget::Module(q) => q.erase(),
                    ImportTarget::File(s) => s.erase(),
                }
                i.alias.erase();
                i.span.erase();
            }
            Item::Const(c) => {
                c.name.erase();
                c.value.erase();
                c.span.erase();
            }
            Item::Set(s) => {
                s.name.erase();
                s.value.erase();
                s.span.erase();
            }
            Item::Param(p) => {
                p.name.erase();
                p.ty.erase();
                p.span.erase();
            }
            Item::Secret(s) => {
                s.name.erase();
                for src in &mut s.sources {
                    match src {
                        SecretSource::File(e) => e.erase(),
                        SecretSource::Env(v) => v.erase(),
                    }
                }
                s.span.erase();
            }
            Item::Tool(t) => {
                t.name.erase();
                t.sig.erase();
                t.span.erase();
            }
            Item::Profile(b) | Item::Agent(b) => b.erase(),
            Item::Assert(a) => {
                a.only_allow.erase();
                a.target.erase();
                a.pattern.erase();
                a.span.erase();
            }
            Item::Test(t) => {
                t.name.erase();
                t.expects.erase();
                t.span.erase();
            }
            Item::Error(s) => s.erase(),
        }
    }
}

impl Erase for TypeExpr {
    fn erase(&mut self) {
        if let TypeKind::Set(inner) = &mut self.kind {
            inner.erase();
        }
        self.span.erase();
    }
}

impl Erase for ToolSig {
    fn erase(&mut self) {
        self.args.erase();
        self.labels.erase();
        self.span.erase();
    }
}

impl Erase for ArgDecl {
    fn erase(&mut self) {
        self.name.erase();
        self.ty.erase();
        self.secret.erase();
        self.span.erase();
    }
}

impl Erase for Block {
    fn erase(&mut self) {
        self.name.erase();
        self.members.erase();
        self.span.erase();
    }
}

impl Erase for Member {
    fn erase(&mut self) {
        match self {
            Member::Home(s, sp) => {
                s.erase();
                sp.erase();
            }
            Member::Scope(s) => {
                match &mut s.kind {
                    ScopeKind::Cgroup(p) => p.erase(),
                    ScopeKind::Uid(n) => n.erase(),
                }
                s.span.erase();
            }
            Member::Resolvers(e, sp) => {
                e.erase();
                sp.erase();
            }
            Member::Selector(s) => {
                s.namespace.erase();
                s.labels.erase();
                s.span.erase();
            }
            Member::Include(q, sp) => {
                q.erase();
                sp.erase();
            }
            Member::Fs(b) => b.erase(),
            Member::Exec(b) => b.erase(),
            Member::Net(b) => b.erase(),
            Member::Tool(t) => {
                t.name.erase();
                t.sig.erase();
                t.rules.erase();
                t.span.erase();
            }
            Member::Secrets(b) => b.erase(),
            Member::Skill(b) => b.erase(),
            Member::Error(sp) => sp.erase(),
        }
    }
}

impl<R: Erase> Erase for RuleBlock<R> {
    fn erase(&mut self) {
        self.rules.erase();
        self.span.erase();
    }
}

impl<A> Erase for Actions<A> {
    fn erase(&mut self) {
        match self {
            Actions::All(s) => s.erase(),
            Actions::List(v) => v.erase(),
        }
    }
}

impl Erase for FsMatch {
    fn erase(&mut self) {
        self.actions.erase();
        self.targets.erase();
    }
}

impl Erase for FsRule {
    fn erase(&mut self) {
        self.effect.erase();
        self.body.erase();
        self.span.erase();
    }
}

impl Erase for ArgsPattern {
    fn erase(&mut self) {
        self.items.erase();
        self.rest.erase();
        self.span.erase();
    }
}

impl Erase for ExecMatch {
    fn erase(&mut self) {
        self.binaries.erase();
        self.args.erase();
    }
}

impl Erase for ExecRule {
    fn erase(&mut self) {
        self.effect.erase();
        self.body.erase();
        self.span.erase();
    }
}

impl Erase for NetMatch {
    fn erase(&mut self) {
        self.actions.erase();
        self.proto.erase();
        self.targets.erase();
        self.ports.erase();
    }
}

impl Erase for NetRule {
    fn erase(&mut self) {
        self.effect.erase();
        self.body.erase();
        self.span.erase();
    }
}

impl Erase for ToolRule {
    fn erase(&mut self) {
        self.effect.erase();
        self.cond.erase();
        self.span.erase();
    }
}

impl Erase for SecretRule {
    fn erase(&mut self) {
        self.effect.erase();
        self.names.erase();
        self.span.erase();
    }
}

impl Erase for Cond {
    fn erase(&mut self) {
        match self {
            Cond::Or(v, s) | Cond::And(v, s) => {
                v.erase();
                s.erase();
            }
            Cond::Not(c, s) | Cond::Paren(c, s) => {
                c.erase();
                s.erase();
            }
            Cond::Atom(a) => a.erase(),
        }
    }
}

impl Erase for Operand {
    fn erase(&mut self) {
        self.arg.erase();
        self.field.erase();
        self.span.erase();
    }
}

impl Erase for Atom {
    fn erase(&mut self) {
        match self {
            Atom::Compare { lhs, op, rhs, span } => {
                lhs.erase();
                op.erase();
                rhs.erase();
                span.erase();
            }
            Atom::In { lhs, set, span, .. } => {
                lhs.erase();
                set.erase();
                span.erase();
            }
            Atom::Like {
                lhs, pattern, span, ..
            } => {
                lhs.erase();
                pattern.erase();
                span.erase();
            }
            Atom::Tainted { arg, span } => {
                arg.erase();
                span.erase();
            }
        }
    }
}

impl Erase for Expr {
    fn erase(&mut self) {
        match self {
            Expr::Str(s) => s.erase(),
            Expr::Int(i) => i.erase(),
            Expr::Bool(b) => b.erase(),
            Expr::Ip(i) => i.erase(),
            Expr::Range(a, b, s) => {
                a.erase();
                b.erase();
                s.erase();
            }
            Expr::Name(q) => q.erase(),
            Expr::Param(q, s) => {
                q.erase();
                s.erase();
            }
            Expr::Set(s) => s.erase(),
            Expr::Any(s) => s.erase(),
        }
    }
}

impl Erase for SetLit {
    fn erase(&mut self) {
        self.elems.erase();
        self.span.erase();
    }
}

impl Erase for StrLit {
    fn erase(&mut self) {
        for p in &mut self.parts {
            match p {
                StrPart::Text(_, s) => s.erase(),
                StrPart::Interp(q) => q.erase(),
            }
        }
        self.span.erase();
    }
}

impl Erase for AgentRef {
    fn erase(&mut self) {
        match self {
            AgentRef::All(s) => s.erase(),
            AgentRef::Agent(a) => a.erase(),
            AgentRef::Skill(a, b) => {
                a.erase();
                b.erase();
            }
        }
    }
}

impl Erase for RequestPattern {
    fn erase(&mut self) {
        match self {
            RequestPattern::Fs(m, s) => {
                m.erase();
                s.erase();
            }
            RequestPattern::Exec(m, s) => {
                m.erase();
                s.erase();
            }
            RequestPattern::Net(m, s) => {
                m.erase();
                s.erase();
            }
            RequestPattern::Tool(n, c, s) => {
                n.erase();
                c.erase();
                s.erase();
            }
            RequestPattern::Env(v, s) => {
                v.erase();
                s.erase();
            }
            RequestPattern::Read(t, s) => {
                t.erase();
                s.erase();
            }
        }
    }
}

impl Erase for Expect {
    fn erase(&mut self) {
        self.effect.erase();
        self.target.erase();
        self.request.erase();
        self.span.erase();
    }
}

impl Erase for ConcreteRequest {
    fn erase(&mut self) {
        match self {
            ConcreteRequest::Fs { action, path } => {
                action.erase();
                path.erase();
            }
            ConcreteRequest::Exec { path, args } => {
                path.erase();
                args.erase();
            }
            ConcreteRequest::Net {
                action,
                proto,
                addr,
                port,
            } => {
                action.erase();
                proto.erase();
                addr.erase();
                port.erase();
            }
            ConcreteRequest::Tool {
                name,
                args,
                params,
                tainted,
            } => {
                name.erase();
                args.erase();
                params.erase();
                tainted.erase();
            }
            ConcreteRequest::Env { var } => var.erase(),
        }
    }
}

impl Erase for Field {
    fn erase(&mut self) {
        self.name.erase();
        self.value.erase();
    }
}
