//! Turning parser errors into diagnostics.
//!
//! The grammar hands every recovered error to a [`Recovery`] as it goes; after
//! the parse, [`Recovery::into_diags`] turns them into AP0003/AP0004
//! diagnostics with readable "expected" lists, dropping the ones that are only
//! a consequence of an earlier error or of input already reported (cut by the
//! nesting limit, swallowed by an unterminated string).

use super::ast::{Ident, QualName, SelectorDecl, StrLit};
use super::lexer::{DiagSink, Never, Tok};
use super::nesting::Braces;
use crate::diag::{codes, Diag};
use crate::span::{FileId, Span, Spanned};
use lalrpop_util::{ErrorRecovery, ParseError};
use std::cell::Cell;
use std::rc::Rc;

/// One entry of a `selector { ... }` body, before the entries are merged.
#[derive(Clone, Debug)]
pub enum SelectorEntry {
    /// `namespace "x"` and the span of the whole entry.
    Namespace(StrLit, Span),
    /// `labels { k: "v", ... }`.
    Labels(Vec<(Ident, StrLit)>),
}

/// What the parser reported, kept small.
#[derive(Debug)]
enum Found {
    Token { start: usize, end: usize, tok: Tok },
    Eof { at: usize },
}

#[derive(Debug)]
struct Recorded {
    found: Found,
    expected: Vec<String>,
    /// First and last byte of the tokens dropped while recovering.
    dropped: Option<(usize, usize)>,
}

/// Collects errors and diagnostics while the grammar runs.
#[derive(Debug)]
pub struct Recovery {
    file: FileId,
    errors: Vec<Recorded>,
    /// Errors beyond the storage cap: only counted.
    errors_dropped: usize,
    /// Diagnostics from grammar actions (version range, selectors).
    pub(crate) sink: DiagSink,
    /// Errors seen so far, shared with the token feed so that it can stop
    /// after [`MAX_PARSE_ERRORS`].
    count: Rc<Cell<usize>>,
}

/// After this many syntax errors the parser is fed no more tokens: the file is
/// not a policy, and each error costs the parser a scan of its tables.
pub(crate) const MAX_PARSE_ERRORS: usize = 1000;

/// Parser errors kept for conversion; more are only counted. Most are cascades
/// or beyond the diagnostic cap anyway.
const MAX_RECORDED: usize = 1000;

impl Recovery {
    pub(crate) fn new(file: FileId, count: Rc<Cell<usize>>) -> Recovery {
        Recovery {
            file,
            errors: Vec::new(),
            errors_dropped: 0,
            sink: DiagSink::default(),
            count,
        }
    }

    /// Called by the grammar for every `!` it reduces.
    pub fn recovered(&mut self, e: ErrorRecovery<usize, Tok, Never>) {
        let dropped = match (e.dropped_tokens.first(), e.dropped_tokens.last()) {
            (Some(f), Some(l)) => Some((f.0, l.2)),
            _ => None,
        };
        self.record(e.error, dropped);
    }

    /// Records an error the parser could not recover from.
    pub(crate) fn fatal(&mut self, e: ParseError<usize, Tok, Never>) {
        self.record(e, None);
    }

    fn record(&mut self, error: ParseError<usize, Tok, Never>, dropped: Option<(usize, usize)>) {
        self.count.set(self.count.get() + 1);
        if self.errors.len() >= MAX_RECORDED {
            self.errors_dropped += 1;
            return;
        }
        let (found, expected) = match error {
            ParseError::UnrecognizedToken {
                token: (start, tok, end),
                expected,
            } => (Found::Token { start, end, tok }, expected),
            ParseError::ExtraToken {
                token: (start, tok, end),
            } => (Found::Token { start, end, tok }, Vec::new()),
            ParseError::UnrecognizedEof { location, expected } => {
                (Found::Eof { at: location }, expected)
            }
            ParseError::InvalidToken { location } => (Found::Eof { at: location }, Vec::new()),
            ParseError::User { error } => match error {},
        };
        self.errors.push(Recorded {
            found,
            expected,
            dropped,
        });
    }

    /// Checks that a `version` fits in 32 bits.
    pub fn version(&mut self, n: Spanned<u64>) -> u32 {
        match u32::try_from(n.node) {
            Ok(v) => v,
            Err(_) => {
                self.sink.push(
                    Diag::error(
                        &codes::INTEGER_OUT_OF_RANGE,
                        n.span,
                        "version number too large",
                    )
                    .label("a version must fit in 32 bits")
                    .help("write `version 1`, the language version this file is written for"),
                );
                u32::MAX
            }
        }
    }

    /// Merges selector entries; a second `namespace` is an error (AP0010).
    pub fn selector(&mut self, entries: Vec<SelectorEntry>, span: Span) -> SelectorDecl {
        let mut namespace: Option<(StrLit, Span)> = None;
        let mut labels = Vec::new();
        for entry in entries {
            match entry {
                SelectorEntry::Namespace(s, at) => {
                    if let Some((_, first)) = &namespace {
                        self.sink.push(
                            Diag::error(
                                &codes::DUPLICATE_NAMESPACE,
                                at,
                                "a selector has at most one `namespace`",
                            )
                            .label("second namespace")
                            .with_label(*first, "first namespace")
                            .help("keep one `namespace` line; a pod lives in one namespace"),
                        );
                    } else {
                        namespace = Some((s, at));
                    }
                }
                SelectorEntry::Labels(ls) => labels.extend(ls),
            }
        }
        SelectorDecl {
            namespace: namespace.map(|(s, _)| s),
            labels,
            span,
        }
    }

    /// Converts the recorded errors into diagnostics (see the module docs).
    pub(crate) fn into_diags(
        mut self,
        text: &str,
        tokens: &[(usize, usize)],
        braces: &Braces,
        lexical: &[usize],
        unterminated_string: bool,
    ) -> (Vec<Diag>, usize) {
        self.errors.sort_by_key(|r| match r.found {
            Found::Token { start, .. } => start,
            Found::Eof { at } => at,
        });
        let mut out = DiagSink::default();
        // Token index and window after which errors are taken as echoes of the
        // previous one (see below).
        let mut cascade_from: Option<(usize, usize)> = None;
        let mut last_reported: Option<usize> = None;
        let file = self.file;
        for rec in &self.errors {
            let pos = match &rec.found {
                Found::Token { start, .. } => *start,
                Found::Eof { at } => *at,
            };
            let index = token_index(tokens, pos);
            let mut suppress = match &rec.found {
                Found::Token {
                    tok: Tok::Error, ..
                } => true,
                Found::Eof { .. } => unterminated_string,
                Found::Token { .. } => false,
            };
            if let Some((from, window)) = cascade_from {
                if index <= from + window {
                    suppress = true;
                }
            }
            if last_reported == Some(pos) {
                suppress = true;
            }
            // A bad character earlier on the same line was cut out of the
            // token stream; what the parser then trips over is its echo.
            let before = lexical.partition_point(|&q| q <= pos);
            if let Some(&q) = before.checked_sub(1).and_then(|i| lexical.get(i)) {
                if text.get(q..pos).is_some_and(|s| !s.contains('\n')) {
                    suppress = true;
                }
            }
            // Where did this recovery resume? If it closed a block opened in
            // the skipped text, the parser is out of step with the braces; if
            // it skipped nothing, the token it tripped over was read again in
            // another role (`include secrets` reads `secrets` as a member).
            // Either way the next error close by is most likely an echo.
            cascade_from = match rec.dropped {
                Some((_, last_end)) => {
                    let resume = token_index(tokens, last_end);
                    match tokens.get(resume) {
                        Some(&(s, _)) => match braces.opener_of(s) {
                            Some(open) if open >= pos => Some((resume, 3)),
                            _ => None,
                        },
                        None => None,
                    }
                }
                None => Some((index, 2)),
            };
            if suppress {
                continue;
            }
            last_reported = Some(pos);
            let expected = Expected::new(&rec.expected);
            let d = match &rec.found {
                Found::Token { start, end, tok } => {
                    unexpected_token(file, *start, *end, tok, &expected)
                }
                Found::Eof { at } => {
                    // Point at the last token: an empty span at the very end
                    // of a file may not be drawn at all.
                    let (span, label) = match tokens.last() {
                        Some(&(s, e)) => (
                            Span::new(file, s, e),
                            format!(
                                "the file ends after this; expected {} next",
                                expected.phrase()
                            ),
                        ),
                        None => (
                            Span::new(file, *at, *at),
                            format!("expected {} here", expected.phrase()),
                        ),
                    };
                    let mut d = Diag::error(&codes::UNEXPECTED_EOF, span, "unexpected end of file")
                        .label(label);
                    if let Some(open) = braces.unclosed_innermost() {
                        d = d
                            .with_label(Span::new(file, open, open + 1), "this `{` is never closed")
                            .help("add the missing `}`");
                    } else {
                        d = d.help("the file ends before this construct is complete; finish it or remove it");
                    }
                    d
                }
            };
            out.push(d);
        }
        let dropped = out.dropped + self.errors_dropped + self.sink.dropped;
        let mut diags = out.diags;
        diags.extend(self.sink.diags);
        (diags, dropped)
    }
}

/// The index of the first token starting at or after `pos`.
fn token_index(tokens: &[(usize, usize)], pos: usize) -> usize {
    tokens.partition_point(|&(s, _)| s < pos)
}

fn unexpected_token(file: FileId, start: usize, end: usize, tok: &Tok, exp: &Expected) -> Diag {
    let found = tok.describe();
    let help = help_for(tok, exp);
    Diag::error(
        &codes::UNEXPECTED_TOKEN,
        Span::new(file, start, end),
        format!("unexpected {found}"),
    )
    .label(format!("expected {} here", exp.phrase()))
    .help(help)
}

const ITEM_KEYWORDS: &[&str] = &[
    "import", "const", "set", "param", "secret", "tool", "profile", "agent", "assert", "test",
];

fn help_for(tok: &Tok, exp: &Expected) -> String {
    let kw = if tok.is_keyword() {
        tok.fixed_text()
    } else {
        None
    };
    if let Some(kw) = kw {
        if exp.has("IDENT") && !exp.word && !exp.has_kw(kw) {
            return format!(
                "`{kw}` is a reserved word and cannot be used as a name here; choose another name"
            );
        }
        if exp.has_kw("}") && ITEM_KEYWORDS.contains(&kw) && !exp.has_kw(kw) {
            return "a `}` may be missing before this".to_string();
        }
    }
    if exp.has_kw("fs") && exp.has_kw("skill") {
        return "a body holds `home`, `scope`, `resolvers`, `selector`, `include`, `fs`, `exec`, `net`, `tool`, `secrets` and `skill`".to_string();
    }
    if exp.has_kw("agent") && exp.has_kw("import") {
        return "a file holds `import`, `const`, `set`, `param`, `secret`, `tool`, `profile`, `agent`, `assert` and `test` items".to_string();
    }
    if exp.has_kw("allow") && exp.has_kw("deny") && exp.has_kw("}") {
        return "a rule starts with `allow`, `deny` or `ask`".to_string();
    }
    if exp.has_kw("read") && exp.has_kw("mkdir") {
        return "file actions are `all` or a list of `read`, `write`, `create`, `delete`, `rename`, `link`, `mkdir`".to_string();
    }
    if exp.has_kw("connect") && exp.has_kw("sendto") {
        return "network actions are `all` or a list of `connect`, `listen`, `sendto`".to_string();
    }
    if exp.has_kw("==") && exp.has_kw("in") {
        return "a condition compares an argument: `x == v`, `x < 10`, `x in S`, `x like \"p*\"`, `tainted(x)`".to_string();
    }
    if matches!(tok, Tok::Ident(_)) && exp.has("STRING") && !exp.has("IDENT") {
        return "write the value as a string, in double quotes".to_string();
    }
    "remove this token or add what is missing before it".to_string()
}

/// An "expected" list from the parser, in readable words.
struct Expected {
    items: Vec<String>,
    raw: Vec<String>,
    /// True when any keyword would do (a `Word` position).
    word: bool,
}

impl Expected {
    fn new(raw: &[String]) -> Expected {
        let keywords = raw
            .iter()
            .filter(|t| {
                let inner = t.trim_matches('"');
                inner.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            })
            .count();
        let word = raw.iter().any(|t| t == "IDENT") && keywords >= 30;
        let mut items = Vec::new();
        let mut push = |s: String| {
            if !items.contains(&s) {
                items.push(s);
            }
        };
        for t in raw {
            match t.as_str() {
                "IDENT" => push("a name".to_string()),
                "STRING" => push("a string".to_string()),
                "INT" => push("a number".to_string()),
                "IPV4" => push("an IPv4 address".to_string()),
                "CUT" => {}
                other => {
                    let inner = other.trim_matches('"');
                    let is_kw = inner.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                    if word && is_kw {
                        push("a name".to_string());
                    } else {
                        push(format!("`{inner}`"));
                    }
                }
            }
        }
        // Categories first: they are what people mean most often.
        items.sort_by_key(|s| !s.starts_with('a'));
        Expected {
            items,
            raw: raw.to_vec(),
            word,
        }
    }

    fn has(&self, terminal: &str) -> bool {
        self.raw.iter().any(|t| t == terminal)
    }

    fn has_kw(&self, kw: &str) -> bool {
        self.raw
            .iter()
            .any(|t| t.len() == kw.len() + 2 && t.trim_matches('"') == kw)
    }

    fn phrase(&self) -> String {
        const SHOWN: usize = 10;
        match self.items.as_slice() {
            [] => "something else".to_string(),
            [one] => one.clone(),
            [a, b] => format!("{a} or {b}"),
            all if all.len() <= SHOWN => format!("one of {}", all.join(", ")),
            all => format!(
                "one of {}, … ({} in all)",
                all.iter()
                    .take(SHOWN - 1)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                all.len()
            ),
        }
    }
}

/// Opens the boxes the grammar builds (see grammar.lalrpop).
pub fn unbox<T>(v: Vec<Box<T>>) -> Vec<T> {
    v.into_iter().map(|b| *b).collect()
}

/// Opens the boxes of the elements that survived error recovery.
pub fn unbox_some<T>(v: Vec<Option<Box<T>>>) -> Vec<T> {
    v.into_iter().flatten().map(|b| *b).collect()
}

/// Builds a qualified name from its first part and the rest.
pub fn qual(file: FileId, l: usize, r: usize, first: Ident, rest: Vec<Ident>) -> QualName {
    let mut parts = Vec::with_capacity(1 + rest.len());
    parts.push(first);
    parts.extend(rest);
    QualName {
        parts,
        span: Span::new(file, l, r),
    }
}

/// Builds the AP0011 summary for diagnostics beyond the cap.
pub(crate) fn too_many(file: FileId, at: Span, dropped: usize, stopped: bool) -> Diag {
    let d = Diag::error(
        &codes::TOO_MANY_ERRORS,
        Span::new(file, at.start as usize, at.end as usize),
        format!("{dropped} more syntax errors not shown"),
    )
    .label("the last error shown")
    .help("fix the errors above first; later ones are often consequences of early ones")
    .note(format!("found more than {} syntax errors", DiagSink::CAP));
    if stopped {
        d.note(format!(
            "parsing stopped after {MAX_PARSE_ERRORS} errors; the rest of the file was not read"
        ))
    } else {
        d
    }
}
