//! The formatter behind `agentpolc fmt`: canonical layout, comments kept.
//!
//! [`format_source`] parses the file and prints the tree back:
//!
//! * two-space indentation; every item, member, rule, secret source and
//!   `expect` on its own line; blocks always open on the header line and close
//!   on their own line (an empty block is `{}`);
//! * one space around operators and after commas, sets as `{ a, b }`;
//! * blank lines between lines are kept, at most one in a row; none right
//!   after a `{` or before a `}`;
//! * strings are re-escaped canonically (`\\`, `\"`, `\n`, `\t`, and `\$` only
//!   before `{`), integers printed in decimal.
//!
//! Comments: every comment survives. A comment on its own line stays above the
//! item, member, rule or `expect` it precedes (at that line's indentation); a
//! comment after code on the same line stays at the end of that line. A
//! comment *inside* a line-level construct (in the middle of a multi-line
//! condition, set, signature or selector) moves to its own line directly above
//! that construct, since the construct is printed on one line.
//!
//! Properties, tested in `tests/format_*.rs`: the output parses to the same
//! tree as the input (ignoring spans, see
//! [`same_modulo_spans`](crate::syntax::same_modulo_spans)); formatting is
//! idempotent; the multiset of comments is unchanged. A file with syntax errors
//! is refused, so formatting never loses text.

use crate::diag::Diag;
use crate::span::{FileId, Span};
use crate::syntax::ast::*;
use crate::syntax::Comment;

/// Formats `text` (the contents of `file`). Refuses (returns the syntax
/// Lines longer than this (with indentation) get their long sets broken up.
const WIDTH: usize = 100;

/// A set literal shorter than this stays on one line even in a long line.
const WRAP_SET_AT: usize = 40;

/// diagnostics) when the file does not parse, so formatting never loses text.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diag>> {
    let (parsed, tokens) = crate::syntax::parse_with_tokens(file, text);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    let src = Src {
        text,
        comments: &parsed.comments,
        tokens: &tokens,
    };
    let mut p = Printer::new(Some(src));
    p.file(&parsed.ast);
    Ok(p.finish())
}

/// Prints a tree in canonical layout, without comments or blank lines.
///
/// For a tree the parser produced, `parse(print_file(t))` equals `t` up to
/// spans. Parentheses are added where a hand-built condition needs them to
/// keep its meaning; [`Item::Error`] and [`Member::Error`] nodes print nothing.
pub fn print_file(file: &File) -> String {
    let mut p = Printer::new(None);
    p.file(file);
    p.finish()
}

/// The source a tree came from, for comments and blank lines.
struct Src<'a> {
    text: &'a str,
    comments: &'a [Comment],
    /// `(start, end, is '{')` of every token, in order.
    tokens: &'a [(usize, usize, bool)],
}

impl Src<'_> {
    /// True if a line between `a` and `b` is blank.
    fn blank_between(&self, a: usize, b: usize) -> bool {
        b > a
            && self
                .text
                .get(a..b)
                .is_some_and(|s| s.bytes().filter(|&c| c == b'\n').count() >= 2)
    }

    fn same_line(&self, a: usize, b: usize) -> bool {
        b >= a && self.text.get(a..b).is_some_and(|s| !s.contains('\n'))
    }

    fn first_token_at(&self, pos: usize) -> usize {
        self.tokens.partition_point(|&(s, _, _)| s < pos)
    }

    fn token_between(&self, a: usize, b: usize) -> bool {
        self.tokens
            .get(self.first_token_at(a))
            .is_some_and(|&(s, _, _)| s < b)
    }

    /// The position of the first `{` at or after `pos`.
    fn brace_after(&self, pos: usize) -> Option<usize> {
        self.tokens
            .get(self.first_token_at(pos)..)
            .and_then(|rest| rest.iter().find(|t| t.2))
            .map(|t| t.0)
    }

    /// The start of the token just before the one starting at `pos`.
    fn token_before(&self, pos: usize) -> Option<usize> {
        self.first_token_at(pos)
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map(|t| t.0)
    }
}

struct Printer<'a> {
    out: String,
    indent: usize,
    src: Option<Src<'a>>,
    next_comment: usize,
    /// Source end of the last thing printed.
    last_end: usize,
    /// Nothing printed yet in the current block (or file): no blank line here.
    block_start: bool,
}

impl<'a> Printer<'a> {
    fn new(src: Option<Src<'a>>) -> Printer<'a> {
        Printer {
            out: String::new(),
            indent: 0,
            src,
            next_comment: 0,
            last_end: 0,
            block_start: true,
        }
    }

    fn finish(mut self) -> String {
        self.comments_before(usize::MAX);
        self.out
    }

    fn pending(&self) -> Option<&'a Comment> {
        self.src
            .as_ref()
            .and_then(|s| s.comments.get(self.next_comment))
    }

    /// Begins a line for a thing written at `start` in the source.
    fn start_line(&mut self, start: usize) {
        let blank = !self.block_start
            && self
                .src
                .as_ref()
                .is_some_and(|s| s.blank_between(self.last_end, start));
        if blank {
            self.out.push('\n');
        }
        self.block_start = false;
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    /// Ends a line whose source ends at `end`, keeping a trailing comment.
    fn end_line(&mut self, end: usize) {
        self.last_end = self.last_end.max(end);
        if let (Some(c), Some(src)) = (self.pending(), self.src.as_ref()) {
            let start = c.span.start as usize;
            if start >= end && src.same_line(end, start) && !src.token_between(end, start) {
                self.out.push(' ');
                self.out.push_str(c.text.trim_end());
                self.next_comment += 1;
                self.last_end = self.last_end.max(c.span.end as usize);
            }
        }
        self.out.push('\n');
    }

    /// Prints, each on its own line, the comments that start before `pos`.
    fn comments_before(&mut self, pos: usize) {
        while let Some(c) = self.pending() {
            let start = c.span.start as usize;
            if start >= pos {
                break;
            }
            self.start_line(start);
            self.out.push_str(c.text.trim_end());
            self.out.push('\n');
            self.next_comment += 1;
            self.last_end = self.last_end.max(c.span.end as usize);
        }
    }

    /// A construct printed as one line (or as fixed lines, for `selector`).
    fn leaf(&mut self, span: Span, lines: &[String]) {
        let (start, end) = (span.start as usize, span.end as usize);
        // Comments inside the construct move above it.
        self.comments_before(end);
        self.start_line(start);
        let mut first = true;
        for line in lines {
            if !first {
                self.out.push('\n');
                for _ in 0..self.indent {
                    self.out.push_str("  ");
                }
            }
            first = false;
            self.out.push_str(line);
        }
        self.end_line(end);
    }

    /// A one-line construct rendered by `render(None)`; if that line would be
    /// wider than [`WIDTH`], rendered again with long sets broken over lines.
    fn leaf_fit(&mut self, span: Span, render: impl Fn(Option<usize>) -> String) {
        let narrow = render(None);
        let text = if self.indent * 2 + narrow.chars().count() > WIDTH {
            render(Some(self.indent))
        } else {
            narrow
        };
        self.leaf(span, &[text]);
    }

    /// Opens a block whose header starts at `start` and whose body ends with
    /// the `}` that ends `span`. Returns false if it was printed as `{}`.
    fn open(&mut self, span: Span, header_from: usize, header: &str, empty: bool) -> bool {
        let (start, end) = (span.start as usize, span.end as usize);
        let close = end.saturating_sub(1);
        let brace = self
            .src
            .as_ref()
            .and_then(|s| s.brace_after(header_from))
            .unwrap_or(start);
        // Comments inside the header (in a signature, say) move above it.
        self.comments_before(brace);
        self.start_line(start);
        self.out.push_str(header);
        let comment_inside = self
            .pending()
            .is_some_and(|c| (c.span.start as usize) < close);
        if empty && !comment_inside {
            self.out.push_str(" {}");
            self.end_line(end);
            return false;
        }
        self.out.push_str(" {");
        self.end_line(brace + 1);
        self.indent += 1;
        self.block_start = true;
        true
    }

    fn close(&mut self, span: Span) {
        let end = span.end as usize;
        self.comments_before(end.saturating_sub(1));
        self.indent = self.indent.saturating_sub(1);
        self.block_start = true;
        self.start_line(end);
        self.out.push('}');
        self.end_line(end);
    }

    // ------------------------------------------------------------ items

    fn file(&mut self, f: &File) {
        if let Some(v) = &f.version {
            self.leaf(v.span, &[format!("version {}", v.node)]);
        }
        for item in &f.items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                let mut s = String::from("import ");
                match &i.target {
                    ImportTarget::Module(q) => s.push_str(&qual(q)),
                    ImportTarget::File(f) => s.push_str(&str_lit(f)),
                }
                if let Some(a) = &i.alias {
                    s.push_str(" as ");
                    s.push_str(&a.name);
                }
                self.leaf(i.span, &[s]);
            }
            Item::Const(c) => {
                self.leaf(
                    c.span,
                    &[format!("const {} = {}", c.name.name, expr(&c.value))],
                );
            }
            Item::Set(s) => {
                self.leaf_fit(s.span, |w| {
                    format!("set {} = {}", s.name.name, set_lit_w(&s.value, w))
                });
            }
            Item::Param(p) => {
                self.leaf(p.span, &[format!("param {}: {}", p.name.name, ty(&p.ty))]);
            }
            Item::Secret(s) => {
                let header = format!("secret {}", s.name.name);
                if self.open(
                    s.span,
                    s.name.span.end as usize,
                    &header,
                    s.sources.is_empty(),
                ) {
                    for src in &s.sources {
                        self.secret_source(src);
                    }
                    self.close(s.span);
                }
            }
            Item::Tool(t) => {
                self.leaf(t.span, &[format!("tool {}{}", t.name.name, sig(&t.sig))]);
            }
            Item::Profile(b) | Item::Agent(b) => self.block(b),
            Item::Assert(a) => {
                let mut s = String::from("assert never ");
                if a.only_allow.is_some() {
                    s.push_str("allow ");
                }
                s.push_str(&agent_ref(&a.target));
                s.push(' ');
                s.push_str(&pattern(&a.pattern));
                self.leaf(a.span, &[s]);
            }
            Item::Test(t) => {
                let header = format!("test {}", str_lit(&t.name));
                if self.open(
                    t.span,
                    t.name.span.end as usize,
                    &header,
                    t.expects.is_empty(),
                ) {
                    for e in &t.expects {
                        let s = format!(
                            "expect {} {} {}",
                            effect(e.effect.node),
                            agent_ref(&e.target),
                            concrete(&e.request)
                        );
                        self.leaf(e.span, &[s]);
                    }
                    self.close(t.span);
                }
            }
            Item::Error(_) => {}
        }
    }

    fn secret_source(&mut self, src: &SecretSource) {
        let (span, text) = match src {
            SecretSource::File(e) => (e.span(), String::new()),
            SecretSource::Env(vars) => {
                let span = match (vars.first(), vars.last()) {
                    (Some(f), Some(l)) => f.span.to(l.span),
                    _ => Span::default(),
                };
                let list: Vec<String> = vars.iter().map(str_lit).collect();
                (span, format!("env {}", list.join(", ")))
            }
        };
        // The keyword is not in the tree; start at the token before the value.
        let start = self
            .src
            .as_ref()
            .and_then(|s| s.token_before(span.start as usize))
            .unwrap_or(span.start as usize);
        let span = Span {
            start: start as u32,
            ..span
        };
        match src {
            SecretSource::File(e) => self.leaf_fit(span, |w| format!("file {}", expr_w(e, w))),
            SecretSource::Env(_) => self.leaf(span, &[text]),
        }
    }

    fn block(&mut self, b: &Block) {
        let kw = match b.kind {
            BlockKind::Agent => "agent",
            BlockKind::Profile => "profile",
            BlockKind::Skill => "skill",
        };
        let header = format!("{kw} {}", b.name.name);
        if self.open(
            b.span,
            b.name.span.end as usize,
            &header,
            b.members.is_empty(),
        ) {
            for m in &b.members {
                self.member(m);
            }
            self.close(b.span);
        }
    }

    fn member(&mut self, m: &Member) {
        match m {
            Member::Home(s, span) => self.leaf(*span, &[format!("home {}", str_lit(s))]),
            Member::Scope(s) => {
                let text = match &s.kind {
                    ScopeKind::Cgroup(None) => "scope cgroup".to_string(),
                    ScopeKind::Cgroup(Some(p)) => format!("scope cgroup {}", str_lit(p)),
                    ScopeKind::Uid(n) => format!("scope uid {}", n.node),
                };
                self.leaf(s.span, &[text]);
            }
            Member::Resolvers(e, span) => {
                self.leaf_fit(*span, |w| format!("resolvers {}", expr_w(e, w)))
            }
            Member::Selector(s) => {
                let mut lines = Vec::new();
                if s.namespace.is_none() && s.labels.is_empty() {
                    lines.push("selector {}".to_string());
                } else {
                    lines.push("selector {".to_string());
                    if let Some(ns) = &s.namespace {
                        lines.push(format!("  namespace {}", str_lit(ns)));
                    }
                    if !s.labels.is_empty() {
                        let ls: Vec<String> = s
                            .labels
                            .iter()
                            .map(|(k, v)| format!("{}: {}", k.name, str_lit(v)))
                            .collect();
                        lines.push(format!("  labels {{ {} }}", ls.join(", ")));
                    }
                    lines.push("}".to_string());
                }
                self.leaf(s.span, &lines);
            }
            Member::Include(q, span) => self.leaf(*span, &[format!("include {}", qual(q))]),
            Member::Fs(b) => self.rule_block("fs", b, |r, w| {
                (
                    r.span,
                    format!("{} {}", effect(r.effect.node), fs_match(&r.body, w)),
                )
            }),
            Member::Exec(b) => self.rule_block("exec", b, |r, w| {
                (
                    r.span,
                    format!("{} {}", effect(r.effect.node), exec_match(&r.body, w)),
                )
            }),
            Member::Net(b) => self.rule_block("net", b, |r, w| {
                (
                    r.span,
                    format!("{} {}", effect(r.effect.node), net_match(&r.body, w)),
                )
            }),
            Member::Secrets(b) => self.rule_block("secrets", b, |r, _| {
                let names: Vec<String> = r.names.iter().map(qual).collect();
                (
                    r.span,
                    format!("{} read {}", effect(r.effect.node), names.join(", ")),
                )
            }),
            Member::Tool(t) => {
                let mut header = format!("tool {}", t.name.name);
                let mut from = t.name.span.end as usize;
                if let Some(s) = &t.sig {
                    header.push_str(&sig(s));
                    from = s.span.end as usize;
                }
                if self.open(t.span, from, &header, t.rules.is_empty()) {
                    for r in &t.rules {
                        self.leaf(r.span, &[tool_rule(r)]);
                    }
                    self.close(t.span);
                }
            }
            Member::Skill(b) => self.block(b),
            Member::Error(_) => {}
        }
    }

    fn rule_block<R>(
        &mut self,
        kw: &str,
        b: &RuleBlock<R>,
        line: impl Fn(&R, Option<usize>) -> (Span, String),
    ) {
        if self.open(b.span, b.span.start as usize, kw, b.rules.is_empty()) {
            for r in &b.rules {
                let span = line(r, None).0;
                self.leaf_fit(span, |w| line(r, w).1);
            }
            self.close(b.span);
        }
    }
}

// ---------------------------------------------------------------- text of constructs

fn qual(q: &QualName) -> String {
    q.text()
}

fn str_lit(s: &StrLit) -> String {
    let mut out = String::with_capacity(s.span.len() + 2);
    out.push('"');
    for part in &s.parts {
        match part {
            StrPart::Text(t, _) => {
                let mut chars = t.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
                        c => out.push(c),
                    }
                }
            }
            StrPart::Interp(q) => {
                out.push_str("${");
                out.push_str(&q.text());
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

fn set_lit(s: &SetLit) -> String {
    set_lit_w(s, None)
}

/// A set literal; with `wrap: Some(indent)`, a long one is broken into one
/// element per line (elements at `indent + 1`, the `}` at `indent`).
fn set_lit_w(s: &SetLit, wrap: Option<usize>) -> String {
    if s.elems.is_empty() {
        return "{}".to_string();
    }
    let elems: Vec<String> = s.elems.iter().map(expr).collect();
    let inline = format!("{{ {} }}", elems.join(", "));
    match wrap {
        Some(indent) if elems.len() > 1 && inline.chars().count() > WRAP_SET_AT => {
            let inner = "  ".repeat(indent + 1);
            let mut out = String::from("{\n");
            for e in &elems {
                out.push_str(&inner);
                out.push_str(e);
                out.push_str(",\n");
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
            out
        }
        _ => inline,
    }
}

/// `expr`, wrapping a long set literal (see [`set_lit_w`]).
fn expr_w(e: &Expr, wrap: Option<usize>) -> String {
    match e {
        Expr::Set(s) => set_lit_w(s, wrap),
        _ => expr(e),
    }
}

fn expr(e: &Expr) -> String {
    match e {
        Expr::Str(s) => str_lit(s),
        Expr::Int(n) => n.node.to_string(),
        Expr::Bool(b) => b.node.to_string(),
        Expr::Ip(ip) => ip.node.clone(),
        Expr::Range(a, b, _) => format!("{}..{}", a.node, b.node),
        Expr::Name(q) => qual(q),
        Expr::Param(q, _) => format!("param {}", qual(q)),
        Expr::Set(s) => set_lit(s),
        Expr::Any(_) => "any".to_string(),
    }
}

fn ty(t: &TypeExpr) -> String {
    match &t.kind {
        TypeKind::String => "string".to_string(),
        TypeKind::Int => "int".to_string(),
        TypeKind::Bool => "bool".to_string(),
        TypeKind::Url => "url".to_string(),
        TypeKind::Path => "path".to_string(),
        TypeKind::Set(inner) => format!("set<{}>", ty(inner)),
    }
}

fn sig(s: &ToolSig) -> String {
    let args: Vec<String> = s
        .args
        .iter()
        .map(|a| {
            let secret = if a.secret.is_some() { "secret " } else { "" };
            format!("{}: {secret}{}", a.name.name, ty(&a.ty))
        })
        .collect();
    let mut out = format!("({})", args.join(", "));
    if !s.labels.is_empty() {
        let labels: Vec<&str> = s.labels.iter().map(|l| l.name.as_str()).collect();
        out.push_str(" -> ");
        out.push_str(&labels.join(", "));
    }
    out
}

fn effect(e: EffectKw) -> &'static str {
    match e {
        EffectKw::Allow => "allow",
        EffectKw::Deny => "deny",
        EffectKw::Ask => "ask",
    }
}

fn fs_action(a: FsActionKw) -> &'static str {
    match a {
        FsActionKw::Read => "read",
        FsActionKw::Write => "write",
        FsActionKw::Create => "create",
        FsActionKw::Delete => "delete",
        FsActionKw::Rename => "rename",
        FsActionKw::Link => "link",
        FsActionKw::Mkdir => "mkdir",
    }
}

fn net_action(a: NetActionKw) -> &'static str {
    match a {
        NetActionKw::Connect => "connect",
        NetActionKw::Listen => "listen",
        NetActionKw::Sendto => "sendto",
    }
}

fn proto(p: ProtoKw) -> &'static str {
    match p {
        ProtoKw::Tcp => "tcp",
        ProtoKw::Udp => "udp",
        ProtoKw::Any => "any",
    }
}

fn actions<A: Copy>(a: &Actions<A>, name: fn(A) -> &'static str) -> String {
    match a {
        Actions::All(_) => "all".to_string(),
        Actions::List(v) => v
            .iter()
            .map(|x| name(x.node))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn fs_match(m: &FsMatch, wrap: Option<usize>) -> String {
    format!(
        "{} {}",
        actions(&m.actions, fs_action),
        expr_w(&m.targets, wrap)
    )
}

fn exec_match(m: &ExecMatch, wrap: Option<usize>) -> String {
    let mut out = expr_w(&m.binaries, wrap);
    if let Some(a) = &m.args {
        let mut items: Vec<String> = a.items.iter().map(str_lit).collect();
        if a.rest.is_some() {
            items.push("..".to_string());
        }
        out.push_str(&format!(" args [{}]", items.join(", ")));
    }
    out
}

fn net_match(m: &NetMatch, wrap: Option<usize>) -> String {
    let mut out = actions(&m.actions, net_action);
    if let Some(p) = &m.proto {
        out.push(' ');
        out.push_str(proto(p.node));
    }
    if let Some(t) = &m.targets {
        out.push(' ');
        out.push_str(&expr_w(t, wrap));
    }
    if let Some(p) = &m.ports {
        out.push_str(" port ");
        out.push_str(&expr(p));
    }
    out
}

fn tool_rule(r: &ToolRule) -> String {
    match &r.cond {
        Some(c) => format!("{} when {}", effect(r.effect.node), cond(c)),
        None => effect(r.effect.node).to_string(),
    }
}

/// How tightly a condition binds: `or` < `and` < `not`, atoms and parentheses.
fn level(c: &Cond) -> u8 {
    match c {
        Cond::Or(..) => 0,
        Cond::And(..) => 1,
        Cond::Not(..) | Cond::Paren(..) | Cond::Atom(_) => 2,
    }
}

/// Prints `c` where a condition binding at least as tightly as `min` is
/// expected, adding parentheses a hand-built tree may need.
fn cond_at(c: &Cond, min: u8, out: &mut String) {
    if level(c) < min {
        out.push('(');
        cond_at(c, 0, out);
        out.push(')');
        return;
    }
    match c {
        Cond::Or(v, _) => join_conds(v, " or ", 1, out),
        Cond::And(v, _) => join_conds(v, " and ", 2, out),
        Cond::Not(inner, _) => {
            out.push_str("not ");
            cond_at(inner, 2, out);
        }
        Cond::Paren(inner, _) => {
            out.push('(');
            cond_at(inner, 0, out);
            out.push(')');
        }
        Cond::Atom(a) => out.push_str(&atom(a)),
    }
}

fn join_conds(v: &[Cond], sep: &str, min: u8, out: &mut String) {
    for (i, c) in v.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        cond_at(c, min, out);
    }
}

fn cond(c: &Cond) -> String {
    let mut out = String::new();
    cond_at(c, 0, &mut out);
    out
}

fn operand(o: &Operand) -> String {
    match &o.field {
        Some(f) => format!("{}.{}", o.arg.name, f.name),
        None => o.arg.name.clone(),
    }
}

fn atom(a: &Atom) -> String {
    match a {
        Atom::Compare { lhs, op, rhs, .. } => {
            let op = match op.node {
                CmpOpKw::Eq => "==",
                CmpOpKw::Ne => "!=",
                CmpOpKw::Lt => "<",
                CmpOpKw::Le => "<=",
                CmpOpKw::Gt => ">",
                CmpOpKw::Ge => ">=",
            };
            format!("{} {op} {}", operand(lhs), expr(rhs))
        }
        Atom::In {
            lhs, negated, set, ..
        } => {
            let not = if *negated { "not " } else { "" };
            format!("{} {not}in {}", operand(lhs), expr(set))
        }
        Atom::Like {
            lhs,
            negated,
            pattern,
            ..
        } => {
            let not = if *negated { "not " } else { "" };
            format!("{} {not}like {}", operand(lhs), str_lit(pattern))
        }
        Atom::Tainted { arg, .. } => format!("tainted({})", arg.name),
    }
}

fn agent_ref(r: &AgentRef) -> String {
    match r {
        AgentRef::All(_) => "*".to_string(),
        AgentRef::Agent(a) => a.name.clone(),
        AgentRef::Skill(a, s) => format!("{}.{}", a.name, s.name),
    }
}

fn pattern(p: &RequestPattern) -> String {
    match p {
        RequestPattern::Fs(m, _) => format!("fs {}", fs_match(m, None)),
        RequestPattern::Exec(m, _) => format!("exec {}", exec_match(m, None)),
        RequestPattern::Net(m, _) => format!("net {}", net_match(m, None)),
        RequestPattern::Tool(name, c, _) => match c {
            Some(c) => format!("tool {} when {}", name.name, cond(c)),
            None => format!("tool {}", name.name),
        },
        RequestPattern::Env(v, _) => format!("env {}", str_lit(v)),
        RequestPattern::Read(t, _) => format!("read {}", expr_w(t, None)),
    }
}

fn record(fields: &[Field]) -> String {
    if fields.is_empty() {
        return "{}".to_string();
    }
    let fs: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", qual(&f.name), expr(&f.value)))
        .collect();
    format!("{{ {} }}", fs.join(", "))
}

fn concrete(c: &ConcreteRequest) -> String {
    match c {
        ConcreteRequest::Fs { action, path } => {
            format!("fs {} {}", fs_action(action.node), str_lit(path))
        }
        ConcreteRequest::Exec { path, args } => {
            if args.is_empty() {
                format!("exec {}", str_lit(path))
            } else {
                let a: Vec<String> = args.iter().map(str_lit).collect();
                format!("exec {} args [{}]", str_lit(path), a.join(", "))
            }
        }
        ConcreteRequest::Net {
            action,
            proto: p,
            addr,
            port,
        } => {
            let mut out = format!("net {}", net_action(action.node));
            if let Some(p) = p {
                out.push(' ');
                out.push_str(proto(p.node));
            }
            out.push_str(&format!(" {} port {}", expr(addr), port.node));
            out
        }
        ConcreteRequest::Tool {
            name,
            args,
            params,
            tainted,
        } => {
            let mut out = format!("tool {} {}", name.name, record(args));
            if !params.is_empty() {
                out.push_str(" with ");
                out.push_str(&record(params));
            }
            if !tainted.is_empty() {
                let t: Vec<&str> = tainted.iter().map(|i| i.name.as_str()).collect();
                out.push_str(&format!(" tainted({})", t.join(", ")));
            }
            out
        }
        ConcreteRequest::Env { var } => format!("env {}", str_lit(var)),
    }
}
