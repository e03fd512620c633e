//! Lexer, parser and AST.
//!
//! [`parse`] turns text into an [`ast::File`] plus comments and diagnostics. It
//! never fails and never panics: syntax errors become `Error` nodes and
//! diagnostics (codes `AP00xx`).
//!
//! ```text
//! text ──lexer (logos)──▶ tokens ──nesting limit──▶ tokens ──grammar (lalrpop)──▶ AST
//!          │ comments, AP0001/2/6/7/8/9     │ AP0005                 │ AP0003/4/10, Error nodes
//! ```
//!
//! Architecture invariants:
//! * parsing never fails: a syntax error skips to the next rule, member or
//!   item ([`ast::Item::Error`], [`ast::Member::Error`]; a bad rule inside a
//!   rule block is dropped) and is reported;
//! * no tree is deeper than [`MAX_NESTING`] conditions or blocks, so every
//!   recursive walk over the AST is bounded ([`nesting`] checks this on the
//!   tokens, before the tree exists);
//! * `and`/`or` chains, rule lists and sets are flat vectors, and the parser
//!   is an LR automaton with its stack on the heap: time and memory are
//!   linear in the input.
//!
//! [`same_modulo_spans`] compares two trees ignoring positions; the formatter
//! tests use it to check that printing and re-parsing gives back the same tree.

pub mod ast;
pub mod lexer;
mod nesting;
mod recover;
mod spans;

pub use nesting::MAX_NESTING;
pub use spans::{erase_spans, same_modulo_spans};

use crate::diag::Diag;
use crate::span::{FileId, Span};

lalrpop_util::lalrpop_mod!(
    #[allow(missing_docs, unused_qualifications, clippy::all, clippy::pedantic)]
    grammar,
    "/syntax/grammar.rs"
);

/// A `#` comment, kept for the formatter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Where it is, from `#` to the end of the line (newline excluded).
    pub span: Span,
    /// Its text including the `#`.
    pub text: String,
}

/// The result of parsing one file.
#[derive(Clone, Debug)]
pub struct ParsedFile {
    /// The tree (with `Error` nodes where text was skipped).
    pub ast: ast::File,
    /// Comments in source order.
    pub comments: Vec<Comment>,
    /// Syntax diagnostics.
    pub diagnostics: Vec<Diag>,
}

/// Parses `text`, the contents of `file`.
pub fn parse(file: FileId, text: &str) -> ParsedFile {
    parse_with_tokens(file, text).0
}

/// Start and end of each token the parser saw, and whether it is a `{`.
pub(crate) type TokenSpans = Vec<(usize, usize, bool)>;

/// [`parse`], also returning the token positions (for the formatter).
pub(crate) fn parse_with_tokens(file: FileId, text: &str) -> (ParsedFile, TokenSpans) {
    let lexed = lexer::lex(file, text);
    let lexical: Vec<usize> = lexed
        .diagnostics
        .iter()
        .map(|d| d.primary.span.start as usize)
        .collect();
    let mut diagnostics = lexed.diagnostics;
    let mut dropped = lexed.dropped;
    let limited = nesting::limit(file, lexed.tokens);
    diagnostics.extend(limited.diagnostics);
    let spans: TokenSpans = limited
        .tokens
        .iter()
        .map(|(s, t, e)| (*s, *e, matches!(t, lexer::Tok::LBrace)))
        .collect();
    let mut recovery = recover::Recovery::new(file);
    let result = grammar::FileParser::new().parse(
        file,
        &mut recovery,
        limited.tokens.into_iter().map(Ok::<_, lexer::Never>),
    );
    let mut tree = match result {
        Ok(tree) => tree,
        Err(e) => {
            // Recovery at item level accepts anything, so this is not expected;
            // if it happens, the whole file becomes one error node.
            recovery.fatal(e);
            ast::File {
                version: None,
                items: vec![ast::Item::Error(Span::new(file, 0, text.len()))],
                span: Span::new(file, 0, text.len()),
            }
        }
    };
    tree.span = Span::new(file, 0, text.len());
    let starts: Vec<(usize, usize)> = spans.iter().map(|&(s, e, _)| (s, e)).collect();
    let (parse_diags, parse_dropped) = recovery.into_diags(
        text,
        &starts,
        &limited.braces,
        &lexical,
        lexed.unterminated_string,
    );
    diagnostics.extend(parse_diags);
    dropped += parse_dropped;
    diagnostics.sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    if diagnostics.len() > lexer::DiagSink::CAP {
        dropped += diagnostics.len() - lexer::DiagSink::CAP;
        diagnostics.truncate(lexer::DiagSink::CAP);
    }
    if dropped > 0 {
        let at = diagnostics
            .last()
            .map(|d| d.primary.span)
            .unwrap_or(Span::new(file, 0, 0));
        diagnostics.push(recover::too_many(file, at, dropped));
    }
    (
        ParsedFile {
            ast: tree,
            comments: lexed.comments,
            diagnostics,
        },
        spans,
    )
}
