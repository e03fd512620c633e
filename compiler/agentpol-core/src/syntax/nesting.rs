//! The nesting limit, enforced on tokens before any tree is built.
//!
//! An LR parser keeps its stack on the heap, so deep input cannot overflow
//! the parser itself; but the tree it would build (a `Cond::Not` inside a
//! `Cond::Paren` inside ...) would be dropped, cloned, compared and walked
//! recursively by every later stage. So the depth is bounded here, over the
//! flat token list: parentheses plus `not` in conditions at most
//! [`MAX_NESTING`] deep, braces and `set<...>` types likewise. The tokens from
//! the first one over the limit to the end of its construct are replaced by a
//! single [`Tok::Error`] and reported once (AP0005); the parser recovers
//! around that token without a second diagnostic.
//!
//! The depth of `not` is tracked conservatively: a `not` counts until the
//! next `and`, `or`, `when`, rule keyword or the end of its enclosing
//! bracket, which is never shorter than its real scope. So every tree that
//! passes has depth at most the limit.

use super::lexer::Tok;
use crate::diag::{codes, Diag};
use crate::span::{FileId, Span};

/// How deep parentheses and `not`, braces, or `set<...>` may nest.
pub const MAX_NESTING: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Root,
    Paren,
    Brace,
    Bracket,
}

#[derive(Debug)]
struct Frame {
    kind: Kind,
    nots: usize,
}

/// Which `{` each `}` closes, and which `{` are never closed.
#[derive(Debug, Default)]
pub(crate) struct Braces {
    /// `(position of '}', position of its '{')`, sorted by the first.
    pairs: Vec<(usize, usize)>,
    /// Positions of `{` never closed, outermost first.
    unclosed: Vec<usize>,
}

impl Braces {
    fn compute(tokens: &[(usize, Tok, usize)]) -> Braces {
        let mut stack = Vec::new();
        let mut pairs = Vec::new();
        for (s, t, _) in tokens {
            match t {
                Tok::LBrace => stack.push(*s),
                Tok::RBrace => {
                    if let Some(open) = stack.pop() {
                        pairs.push((*s, open));
                    }
                }
                _ => {}
            }
        }
        Braces {
            pairs,
            unclosed: stack,
        }
    }

    /// The position of the `{` that the `}` at `close` matches.
    pub(crate) fn opener_of(&self, close: usize) -> Option<usize> {
        self.pairs
            .binary_search_by_key(&close, |&(c, _)| c)
            .ok()
            .and_then(|i| self.pairs.get(i))
            .map(|&(_, o)| o)
    }

    /// The innermost `{` still open at the end of the file.
    pub(crate) fn unclosed_innermost(&self) -> Option<usize> {
        self.unclosed.last().copied()
    }
}

/// The tokens with over-deep regions cut out, plus what was found.
pub(crate) struct Limited {
    pub(crate) tokens: Vec<(usize, Tok, usize)>,
    pub(crate) diagnostics: Vec<Diag>,
    pub(crate) braces: Braces,
}

struct Walker {
    stack: Vec<Frame>,
    parens: usize,
    braces: usize,
    nots: usize,
    set_run: usize,
}

impl Walker {
    fn cond_depth(&self) -> usize {
        self.parens + self.nots
    }

    fn push(&mut self, kind: Kind) {
        match kind {
            Kind::Paren => self.parens += 1,
            Kind::Brace => self.braces += 1,
            _ => {}
        }
        self.stack.push(Frame { kind, nots: 0 });
    }

    /// Pops frames up to and including the innermost one of `kind`, if any.
    fn close(&mut self, kind: Kind) {
        if !self.stack.iter().any(|f| f.kind == kind) {
            return;
        }
        while let Some(f) = self.stack.pop() {
            self.nots -= f.nots;
            match f.kind {
                Kind::Paren => self.parens -= 1,
                Kind::Brace => self.braces -= 1,
                Kind::Root => {
                    // Never popped: put it back.
                    self.stack.push(f);
                    return;
                }
                Kind::Bracket => {}
            }
            if f.kind == kind {
                return;
            }
        }
    }

    fn reset_nots(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            self.nots -= top.nots;
            top.nots = 0;
        }
    }

    fn add_not(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            top.nots += 1;
            self.nots += 1;
        }
    }
}

fn tok_at(tokens: &[(usize, Tok, usize)], i: usize) -> Option<&Tok> {
    tokens.get(i).map(|(_, t, _)| t)
}

/// True if the `not` at `i` is the negation operator (not `not in`, `not
/// like`, nor a `not` used as a name).
fn is_not_operator(tokens: &[(usize, Tok, usize)], i: usize) -> bool {
    let next = tok_at(tokens, i + 1);
    let prev = i.checked_sub(1).and_then(|p| tok_at(tokens, p));
    let name_next = matches!(
        next,
        Some(
            Tok::KwIn
                | Tok::KwLike
                | Tok::Colon
                | Tok::ColonColon
                | Tok::Comma
                | Tok::RParen
                | Tok::LBrace
        )
    );
    let name_prev = matches!(prev, Some(Tok::Dot | Tok::KwTool | Tok::ColonColon));
    !(name_next || name_prev)
}

/// Applies the nesting limit to `tokens` (see the module docs).
pub(crate) fn limit(file: FileId, tokens: Vec<(usize, Tok, usize)>) -> Limited {
    let mut w = Walker {
        stack: vec![Frame {
            kind: Kind::Root,
            nots: 0,
        }],
        parens: 0,
        braces: 0,
        nots: 0,
        set_run: 0,
    };
    let mut diagnostics = Vec::new();
    // Start indices of cut regions and their (exclusive) ends.
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some((start_pos, tok, tok_end)) = tokens.get(i) {
        let (start_pos, tok_end) = (*start_pos, *tok_end);
        let over = match tok {
            Tok::LParen => {
                if w.cond_depth() + 1 > MAX_NESTING {
                    Some(Kind::Paren)
                } else {
                    w.push(Kind::Paren);
                    None
                }
            }
            Tok::LBrace => {
                if w.braces + 1 > MAX_NESTING {
                    Some(Kind::Brace)
                } else {
                    w.push(Kind::Brace);
                    None
                }
            }
            Tok::LBracket => {
                w.push(Kind::Bracket);
                None
            }
            Tok::RParen => {
                w.close(Kind::Paren);
                None
            }
            Tok::RBrace => {
                w.close(Kind::Brace);
                None
            }
            Tok::RBracket => {
                w.close(Kind::Bracket);
                None
            }
            Tok::KwNot if is_not_operator(&tokens, i) => {
                if w.cond_depth() + 1 > MAX_NESTING {
                    Some(Kind::Root)
                } else {
                    w.add_not();
                    None
                }
            }
            Tok::KwAnd | Tok::KwOr | Tok::KwWhen | Tok::KwAllow | Tok::KwDeny | Tok::KwAsk => {
                w.reset_nots();
                None
            }
            _ => None,
        };
        // `set<set<...>>` runs, counted at each `set` followed by `<`.
        let mut over = over;
        match tok {
            Tok::KwSet if matches!(tok_at(&tokens, i + 1), Some(Tok::Lt)) => {
                w.set_run += 1;
                if w.set_run > MAX_NESTING && over.is_none() {
                    over = Some(Kind::Bracket);
                }
            }
            Tok::Lt => {}
            _ => w.set_run = 0,
        }
        let Some(kind) = over else {
            i += 1;
            continue;
        };
        let end = cut_end(&tokens, i, kind);
        let what = match kind {
            Kind::Paren => "parentheses and `not` nest",
            Kind::Root => "`not` and parentheses nest",
            Kind::Brace => "braces nest",
            Kind::Bracket => "`set<...>` types nest",
        };
        let help = match kind {
            Kind::Paren | Kind::Root => {
                "flatten the condition: `and`/`or` chains need no parentheses, and `not not x` is `x`; or split it into several rules"
            }
            Kind::Brace => "close the blocks that are open; skills cannot nest",
            Kind::Bracket => "a param type is `set<T>` with a simple `T`",
        };
        diagnostics.push(
            Diag::error(
                &codes::NESTING_TOO_DEEP,
                Span::new(file, start_pos, tok_end),
                format!("{what} more than {MAX_NESTING} deep"),
            )
            .label(format!("this is level {}", MAX_NESTING + 1))
            .help(help)
            .note(match kind {
                Kind::Paren => "everything up to the matching `)` was skipped",
                Kind::Brace => "everything up to the matching `}` was skipped",
                Kind::Root => "the rest of this condition was skipped",
                Kind::Bracket => "the rest of this type was skipped",
            }),
        );
        cuts.push((i, end.max(i + 1)));
        w.set_run = 0;
        i = end.max(i + 1);
    }
    let tokens = if cuts.is_empty() {
        tokens
    } else {
        apply_cuts(tokens, &cuts)
    };
    let braces = Braces::compute(&tokens);
    Limited {
        tokens,
        diagnostics,
        braces,
    }
}

/// The exclusive end index of the construct over the limit starting at `i`.
fn cut_end(tokens: &[(usize, Tok, usize)], i: usize, kind: Kind) -> usize {
    match kind {
        Kind::Paren | Kind::Brace => {
            let (open, close) = if kind == Kind::Paren {
                (Tok::LParen, Tok::RParen)
            } else {
                (Tok::LBrace, Tok::RBrace)
            };
            let mut depth = 0usize;
            let mut k = i;
            while let Some(t) = tok_at(tokens, k) {
                if *t == open {
                    depth += 1;
                } else if *t == close {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return k + 1;
                    }
                }
                k += 1;
            }
            k
        }
        Kind::Root => {
            // A `not` chain: up to the end of the enclosing bracket or the next rule.
            let mut depth = 0usize;
            let mut k = i;
            while let Some(t) = tok_at(tokens, k) {
                match t {
                    Tok::LParen | Tok::LBrace | Tok::LBracket => depth += 1,
                    Tok::RParen | Tok::RBrace | Tok::RBracket => {
                        if depth == 0 {
                            return k;
                        }
                        depth -= 1;
                    }
                    Tok::KwAllow | Tok::KwDeny | Tok::KwAsk | Tok::KwExpect if depth == 0 => {
                        return k
                    }
                    _ => {}
                }
                k += 1;
            }
            k
        }
        Kind::Bracket => {
            // A `set<` run: skip it, the type inside, and its `>`s.
            let mut k = i;
            let mut open = 0usize;
            while let Some(t) = tok_at(tokens, k) {
                match t {
                    Tok::KwSet => {}
                    Tok::Lt => open += 1,
                    _ => break,
                }
                k += 1;
            }
            if matches!(
                tok_at(tokens, k),
                Some(
                    Tok::KwString
                        | Tok::KwInt
                        | Tok::KwBool
                        | Tok::KwUrl
                        | Tok::KwPath
                        | Tok::Ident(_)
                )
            ) {
                k += 1;
            }
            while open > 0 && matches!(tok_at(tokens, k), Some(Tok::Gt)) {
                open -= 1;
                k += 1;
            }
            k
        }
    }
}

fn apply_cuts(
    tokens: Vec<(usize, Tok, usize)>,
    cuts: &[(usize, usize)],
) -> Vec<(usize, Tok, usize)> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut cut_iter = cuts.iter().peekable();
    let mut cut_start = 0usize;
    let mut cut_until: Option<usize> = None;
    for (idx, tok) in tokens.into_iter().enumerate() {
        if let Some(until) = cut_until {
            if idx < until {
                if idx + 1 == until {
                    out.push((cut_start, Tok::Error, tok.2));
                    cut_until = None;
                }
                continue;
            }
            cut_until = None;
        }
        if let Some(&&(s, e)) = cut_iter.peek() {
            if idx == s {
                cut_iter.next();
                if e == s + 1 {
                    out.push((tok.0, Tok::Error, tok.2));
                } else {
                    cut_start = tok.0;
                    cut_until = Some(e);
                }
                continue;
            }
        }
        out.push(tok);
    }
    out
}
