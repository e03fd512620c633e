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
//!
//! Where the grammar differs from the EBNF of `lang-spec/grammar.md` (all
//! forced by the example there or by LR(1)), `grammar.lalrpop` says so at the
//! top: keywords next to `::` are name parts, `not` cannot start a condition
//! operand, `any` right after net actions is the protocol, `args [..]` is
//! accepted.
//!
//! # Tests
//!
//! `cargo test -p agentpol-core` runs, under `compiler/agentpol-core/tests/`:
//! `syntax_parse` (every construct, span snapshots), `syntax_diagnostics`
//! (a rendered snapshot per `AP00xx` code), `syntax_robustness` (deep nesting,
//! megabyte inputs, random input never panics), `syntax_corpus` (the seed
//! corpus in `tests/fuzz/corpus/` and mutations of it), `format_snapshots` and
//! `format_roundtrip` (generated trees: parse ∘ print = id, idempotence,
//! comments kept). Throughput: `cargo bench -p agentpol-core --bench parse`.
//!
//! Deep fuzzing is local only (nightly): from `compiler/agentpol-core/`, run
//! `cargo +nightly fuzz run parse ../../tests/fuzz/corpus -- -max_total_time=300`
//! (needs `cargo install cargo-fuzz`; see `compiler/agentpol-core/fuzz/`).

pub mod ast;
pub mod lexer;
mod nesting;
mod recover;
mod spans;

pub use nesting::MAX_NESTING;
pub use spans::{erase_spans, same_modulo_spans};

use crate::diag::Diag;
use crate::span::{FileId, Span};
use std::cell::Cell;
use std::rc::Rc;

// Generated code. Its `panic!`/`unwrap` calls guard the parser tables' own
// invariants ("invalid action code", "symbol type mismatch"), not input.
lalrpop_util::lalrpop_mod!(
    #[allow(
        missing_docs,
        unused_qualifications,
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )]
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
    parse_impl(file, text, false).0
}

/// Start and end of each token the parser saw, and whether it is a `{`.
pub(crate) type TokenSpans = Vec<(usize, usize, bool)>;

/// [`parse`], also returning the token positions (for the formatter).
pub(crate) fn parse_with_tokens(file: FileId, text: &str) -> (ParsedFile, TokenSpans) {
    parse_impl(file, text, true)
}

fn parse_impl(file: FileId, text: &str, want_tokens: bool) -> (ParsedFile, TokenSpans) {
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
    let spans: TokenSpans = if want_tokens {
        limited
            .tokens
            .iter()
            .map(|(s, t, e)| (*s, *e, matches!(t, lexer::Tok::LBrace)))
            .collect()
    } else {
        Vec::new()
    };
    let starts: Vec<(usize, usize)> = limited.tokens.iter().map(|(s, _, e)| (*s, *e)).collect();
    let errors = Rc::new(Cell::new(0));
    let mut recovery = recover::Recovery::new(file, Rc::clone(&errors));
    let feed_errors = Rc::clone(&errors);
    let feed = limited
        .tokens
        .into_iter()
        .take_while(move |_| feed_errors.get() < recover::MAX_PARSE_ERRORS)
        .map(Ok::<_, lexer::Never>);
    let result = grammar::FileParser::new().parse(file, &mut recovery, feed);
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
    let stopped = errors.get() >= recover::MAX_PARSE_ERRORS;
    let (parse_diags, parse_dropped) = recovery.into_diags(
        text,
        &starts,
        &limited.braces,
        &lexical,
        lexed.unterminated_string,
    );
    diagnostics.extend(parse_diags);
    dropped += parse_dropped;
    if stopped {
        dropped = dropped.max(1);
    }
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
        diagnostics.push(recover::too_many(file, at, dropped, stopped));
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
