//! The lexer: text to tokens, comments and lexical diagnostics.
//!
//! Tokens are exactly those of `lang-spec/grammar.md`. The lexer never fails:
//! a bad character is reported (AP0001) and skipped, an unterminated string
//! (AP0002) runs to the end of the file, a bad escape (AP0006), an integer that
//! does not fit in 64 bits (AP0007) or a malformed interpolation (AP0008,
//! AP0009) is reported and the token is still produced, so the parser sees a
//! plausible stream and reports only real syntax errors.
//!
//! String literals are decoded here, into [`StrPart`]s with source spans: the
//! parser receives a finished [`StrLit`].

use super::ast::{Ident, QualName, StrLit, StrPart};
use super::Comment;
use crate::diag::{codes, Diag};
use crate::span::{FileId, Span};
use logos::Logos;

/// An uninhabited error type: the token stream handed to the parser never
/// contains lexer errors (they are diagnostics already).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Never {}

/// State the lexer carries from token to token.
#[derive(Debug)]
pub struct Extras {
    file: FileId,
    sink: DiagSink,
    comments: Vec<Comment>,
    unterminated_string: bool,
}

/// Collects diagnostics up to a cap, so that a megabyte of garbage costs
/// bounded memory; the number of dropped diagnostics is kept for a summary.
#[derive(Debug, Default)]
pub(crate) struct DiagSink {
    pub(crate) diags: Vec<Diag>,
    pub(crate) dropped: usize,
}

impl DiagSink {
    /// How many diagnostics one phase keeps.
    pub(crate) const CAP: usize = 100;

    pub(crate) fn push(&mut self, d: Diag) {
        if self.diags.len() < Self::CAP {
            self.diags.push(d);
        } else {
            self.dropped += 1;
        }
    }
}

macro_rules! tokens {
    (
        keywords { $($kw:tt => $kv:ident,)* }
        punct { $($p:tt => $pv:ident,)* }
    ) => {
        /// A token of the agentpol language.
        ///
        /// Keywords are `Kw*` variants, punctuation is named after its shape.
        #[derive(Logos, Clone, Debug, PartialEq)]
        #[logos(extras = Extras)]
        #[logos(skip r"[ \t\r\n]+")]
        pub enum Tok {
            $(
                #[doc = concat!("The keyword `", $kw, "`.")]
                #[token($kw)]
                $kv,
            )*
            $(
                #[doc = concat!("`", $p, "`.")]
                #[token($p)]
                $pv,
            )*
            /// An identifier: `[A-Za-z_][A-Za-z0-9_-]*`, not a keyword.
            #[regex(r"[A-Za-z_][A-Za-z0-9_-]*", |lex| lex.slice().to_string())]
            Ident(String),
            /// A decimal integer (AP0007 and `u64::MAX` if it does not fit).
            #[regex(r"[0-9]+", lex_int)]
            Int(u64),
            /// A bare IPv4 address or CIDR, kept verbatim (the checker validates it).
            #[regex(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(/[0-9]+)?", |lex| lex.slice().to_string())]
            Ip(String),
            /// A decoded string literal.
            #[token("\"", lex_string)]
            /// A single-quoted string is reported (AP0001) and read as if
            /// double-quoted, so that one mistake gives one diagnostic.
            #[regex(r"'[^'\n]*'", lex_single_quoted)]
            Str(StrLit),
            /// A `#` comment; collected into the extras, never returned.
            #[regex(r"#[^\r\n]*", lex_comment, allow_greedy = true)]
            Comment,
            /// Stands for input that was already reported and cut out (nesting
            /// beyond the limit). The grammar accepts it nowhere, so the parser
            /// recovers around it; the diagnostic it would cause is suppressed.
            Error,
        }

        /// Every keyword, in the order of grammar.md.
        pub const KEYWORDS: &[&str] = &[$($kw),*];

        impl Tok {
            /// The fixed text of a keyword or punctuation token.
            pub fn fixed_text(&self) -> Option<&'static str> {
                match self {
                    $(Tok::$kv => Some($kw),)*
                    $(Tok::$pv => Some($p),)*
                    _ => None,
                }
            }

            /// True for keywords.
            pub fn is_keyword(&self) -> bool {
                matches!(self, $(Tok::$kv)|*)
            }
        }
    };
}

tokens! {
    keywords {
        "version" => KwVersion,
        "import" => KwImport,
        "as" => KwAs,
        "const" => KwConst,
        "set" => KwSet,
        "param" => KwParam,
        "secret" => KwSecret,
        "file" => KwFile,
        "env" => KwEnv,
        "tool" => KwTool,
        "profile" => KwProfile,
        "agent" => KwAgent,
        "skill" => KwSkill,
        "include" => KwInclude,
        "home" => KwHome,
        "scope" => KwScope,
        "cgroup" => KwCgroup,
        "uid" => KwUid,
        "resolvers" => KwResolvers,
        "selector" => KwSelector,
        "namespace" => KwNamespace,
        "labels" => KwLabels,
        "fs" => KwFs,
        "exec" => KwExec,
        "net" => KwNet,
        "secrets" => KwSecrets,
        "allow" => KwAllow,
        "deny" => KwDeny,
        "ask" => KwAsk,
        "all" => KwAll,
        "read" => KwRead,
        "write" => KwWrite,
        "create" => KwCreate,
        "delete" => KwDelete,
        "rename" => KwRename,
        "link" => KwLink,
        "mkdir" => KwMkdir,
        "connect" => KwConnect,
        "listen" => KwListen,
        "sendto" => KwSendto,
        "tcp" => KwTcp,
        "udp" => KwUdp,
        "any" => KwAny,
        "port" => KwPort,
        "args" => KwArgs,
        "when" => KwWhen,
        "and" => KwAnd,
        "or" => KwOr,
        "not" => KwNot,
        "in" => KwIn,
        "like" => KwLike,
        "tainted" => KwTainted,
        "true" => KwTrue,
        "false" => KwFalse,
        "assert" => KwAssert,
        "never" => KwNever,
        "test" => KwTest,
        "expect" => KwExpect,
        "with" => KwWith,
        "string" => KwString,
        "int" => KwInt,
        "bool" => KwBool,
        "url" => KwUrl,
        "path" => KwPath,
    }
    punct {
        "{" => LBrace,
        "}" => RBrace,
        "(" => LParen,
        ")" => RParen,
        "[" => LBracket,
        "]" => RBracket,
        "<" => Lt,
        ">" => Gt,
        "," => Comma,
        ":" => Colon,
        "::" => ColonColon,
        "." => Dot,
        ".." => DotDot,
        "->" => Arrow,
        "==" => EqEq,
        "!=" => Ne,
        "<=" => Le,
        ">=" => Ge,
        "*" => Star,
        "=" => Assign,
    }
}

impl Tok {
    /// How the token is named in a diagnostic: "`agent`", "name `foo`", "a string".
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("name `{}`", shorten(name, 40)),
            Tok::Int(n) => format!("number `{n}`"),
            Tok::Ip(ip) => format!("address `{}`", shorten(ip, 40)),
            Tok::Str(_) => "a string".to_string(),
            Tok::Comment => "a comment".to_string(),
            Tok::Error => "input cut out after an earlier error".to_string(),
            other => match other.fixed_text() {
                Some(t) if other.is_keyword() => format!("keyword `{t}`"),
                Some(t) => format!("`{t}`"),
                None => "a token".to_string(),
            },
        }
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn span_of(lex: &logos::Lexer<'_, Tok>, start: usize, end: usize) -> Span {
    Span::new(lex.extras.file, start, end)
}

fn lex_int(lex: &mut logos::Lexer<'_, Tok>) -> u64 {
    match lex.slice().parse::<u64>() {
        Ok(n) => n,
        Err(_) => {
            let r = lex.span();
            let d = Diag::error(
                &codes::INTEGER_OUT_OF_RANGE,
                span_of(lex, r.start, r.end),
                "integer too large",
            )
            .label("this does not fit in 64 bits")
            .help(format!("integers are at most {}", u64::MAX));
            lex.extras.sink.push(d);
            u64::MAX
        }
    }
}

fn lex_single_quoted(lex: &mut logos::Lexer<'_, Tok>) -> StrLit {
    let r = lex.span();
    let span = span_of(lex, r.start, r.end);
    let inner = lex
        .slice()
        .get(1..lex.slice().len().saturating_sub(1))
        .unwrap_or("");
    let d = Diag::error(&codes::UNEXPECTED_CHAR, span, "single-quoted string")
        .label("strings use double quotes")
        .help(format!("write \"{inner}\""));
    lex.extras.sink.push(d);
    let parts = if inner.is_empty() {
        Vec::new()
    } else {
        vec![StrPart::Text(
            inner.to_string(),
            span_of(lex, r.start + 1, r.end - 1),
        )]
    };
    StrLit { parts, span }
}

fn lex_comment(lex: &mut logos::Lexer<'_, Tok>) -> logos::Skip {
    let r = lex.span();
    let c = Comment {
        span: span_of(lex, r.start, r.end),
        text: lex.slice().to_string(),
    };
    lex.extras.comments.push(c);
    logos::Skip
}

/// Scans a string literal whose opening quote was just matched, decoding
/// escapes and interpolations; bumps the lexer past the closing quote.
fn lex_string(lex: &mut logos::Lexer<'_, Tok>) -> StrLit {
    let open = lex.span().start;
    let base = lex.span().end;
    let rest = lex.remainder();
    let file = lex.extras.file;
    let mut scan = StrScan {
        file,
        rest,
        base,
        pos: 0,
        parts: Vec::new(),
        text: String::new(),
        text_start: None,
        diags: Vec::new(),
    };
    let closed = scan.run();
    let consumed = scan.pos;
    let parts = std::mem::take(&mut scan.parts);
    for d in scan.diags {
        lex.extras.sink.push(d);
    }
    if !closed {
        lex.extras.unterminated_string = true;
        let line_end = rest
            .find('\n')
            .map(|i| base + i)
            .unwrap_or(base + rest.len());
        let d = Diag::error(
            &codes::UNTERMINATED_STRING,
            Span::new(file, open, line_end),
            "unterminated string",
        )
        .label("this string is never closed")
        .help("add a closing `\"`; inside a string, write `\\\"` for a quote");
        lex.extras.sink.push(d);
    }
    lex.bump(consumed);
    StrLit {
        parts,
        span: Span::new(file, open, base + consumed),
    }
}

/// The state of decoding one string literal.
struct StrScan<'a> {
    file: FileId,
    /// The text after the opening quote.
    rest: &'a str,
    /// Offset of `rest` in the file.
    base: usize,
    /// Position in `rest`.
    pos: usize,
    parts: Vec<StrPart>,
    /// Decoded text since the last interpolation.
    text: String,
    /// Where `text` started in `rest`.
    text_start: Option<usize>,
    diags: Vec<Diag>,
}

impl StrScan<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.rest.as_bytes().get(i).copied()
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.rest.get(i..).and_then(|s| s.chars().next())
    }

    fn flush_text(&mut self, end: usize) {
        if let Some(start) = self.text_start.take() {
            let text = std::mem::take(&mut self.text);
            let span = self.span(start, end);
            self.parts.push(StrPart::Text(text, span));
        }
    }

    fn push_char(&mut self, c: char, at: usize) {
        if self.text_start.is_none() {
            self.text_start = Some(at);
        }
        self.text.push(c);
    }

    /// Returns whether the closing quote was found; `pos` ends after it (or at
    /// the end of the input).
    fn run(&mut self) -> bool {
        loop {
            let i = self.pos;
            let Some(b) = self.byte(i) else {
                self.flush_text(i);
                return false;
            };
            match b {
                b'"' => {
                    self.flush_text(i);
                    self.pos = i + 1;
                    return true;
                }
                b'\\' => self.escape(i),
                b'$' if self.byte(i + 1) == Some(b'{') => {
                    self.flush_text(i);
                    self.interpolation(i);
                }
                _ => {
                    let c = self.char_at(i).unwrap_or('\u{fffd}');
                    self.push_char(c, i);
                    self.pos = i + c.len_utf8().max(1);
                }
            }
        }
    }

    fn escape(&mut self, i: usize) {
        let decoded = match self.byte(i + 1) {
            Some(b'\\') => Some('\\'),
            Some(b'"') => Some('"'),
            Some(b'n') => Some('\n'),
            Some(b't') => Some('\t'),
            Some(b'$') => Some('$'),
            // End of input: the caller reports the unterminated string.
            None => {
                self.pos = i + 1;
                return;
            }
            Some(_) => None,
        };
        match decoded {
            Some(c) => {
                self.push_char(c, i);
                self.pos = i + 2;
            }
            None => {
                let c = self.char_at(i + 1).unwrap_or('\u{fffd}');
                let end = i + 1 + c.len_utf8();
                let shown = if c.is_control() {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                };
                self.diags.push(
                    Diag::error(
                        &codes::INVALID_ESCAPE,
                        self.span(i, end),
                        format!("unknown escape `\\{shown}`"),
                    )
                    .label("not an escape")
                    .help("the escapes are `\\\\`, `\\\"`, `\\n`, `\\t` and `\\$`; write `\\\\` for a backslash"),
                );
                // Keep the character so the rest of the string still decodes.
                self.push_char(c, i);
                self.pos = end;
            }
        }
    }

    /// Parses `${NAME}` / `${a::b}` starting at `i` (the `$`).
    fn interpolation(&mut self, i: usize) {
        let mut j = i + 2;
        let mut parts = Vec::new();
        let mut ok = true;
        loop {
            match self.ident_at(j) {
                Some(end) => {
                    let name = self.rest.get(j..end).unwrap_or("").to_string();
                    parts.push(Ident {
                        name,
                        span: self.span(j, end),
                    });
                    j = end;
                }
                None => {
                    ok = false;
                    break;
                }
            }
            if self.byte(j) == Some(b':') && self.byte(j + 1) == Some(b':') {
                j += 2;
                continue;
            }
            break;
        }
        if ok && self.byte(j) == Some(b'}') {
            let span = self.span(i + 2, j);
            self.parts.push(StrPart::Interp(QualName { parts, span }));
            self.pos = j + 1;
            return;
        }
        // Malformed: find where it ends, without leaving the string.
        let mut k = i + 2;
        while let Some(b) = self.byte(k) {
            if b == b'}' || b == b'"' {
                break;
            }
            k += 1;
        }
        while !self.rest.is_char_boundary(k) {
            k += 1;
        }
        if self.byte(k) == Some(b'}') {
            let inner = self.rest.get(i + 2..k).unwrap_or("");
            let message = if inner.is_empty() {
                "empty interpolation `${}`".to_string()
            } else {
                format!("`{}` is not a name", shorten(inner, 40))
            };
            self.diags.push(
                Diag::error(&codes::INVALID_INTERPOLATION, self.span(i, k + 1), message)
                    .label("expected a const name like `WORK` or `std::paths::HOME`")
                    .help("write `${NAME}` with the name of a const, or `\\${` for a literal `${`"),
            );
            self.pos = k + 1;
        } else {
            self.diags.push(
                Diag::error(
                    &codes::UNTERMINATED_INTERPOLATION,
                    self.span(i, k),
                    "unterminated interpolation",
                )
                .label("this `${` is never closed with `}`")
                .help("close the interpolation with `}`, or write `\\${` for a literal `${`"),
            );
            self.pos = k;
        }
    }

    /// The end of an identifier starting at `j`, if one starts there.
    fn ident_at(&self, j: usize) -> Option<usize> {
        let first = self.byte(j)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut k = j + 1;
        while let Some(b) = self.byte(k) {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                k += 1;
            } else {
                break;
            }
        }
        Some(k)
    }
}

/// The output of [`lex`].
#[derive(Debug)]
pub struct Lexed {
    /// Tokens with byte offsets `(start, token, end)`, comments excluded.
    pub tokens: Vec<(usize, Tok, usize)>,
    /// Comments in source order.
    pub comments: Vec<Comment>,
    /// Lexical diagnostics (at most [`DiagSink::CAP`]).
    pub diagnostics: Vec<Diag>,
    /// How many lexical diagnostics were dropped beyond the cap.
    pub dropped: usize,
    /// True if a string ran to the end of the file.
    pub unterminated_string: bool,
}

/// Splits `text` into tokens. Never fails; see the module docs.
pub fn lex(file: FileId, text: &str) -> Lexed {
    let extras = Extras {
        file,
        sink: DiagSink::default(),
        comments: Vec::new(),
        unterminated_string: false,
    };
    let mut lexer = Tok::lexer_with_extras(text, extras);
    let mut tokens = Vec::new();
    // A run of adjacent bad characters is reported once.
    let mut bad: Option<(usize, usize)> = None;
    while let Some(result) = lexer.next() {
        let r = lexer.span();
        match result {
            Ok(tok) => {
                if let Some((s, e)) = bad.take() {
                    report_bad_chars(&mut lexer.extras, text, s, e);
                }
                tokens.push((r.start, tok, r.end));
            }
            Err(()) => match bad {
                Some((s, e)) if e == r.start => bad = Some((s, r.end)),
                _ => {
                    if let Some((s, e)) = bad.take() {
                        report_bad_chars(&mut lexer.extras, text, s, e);
                    }
                    bad = Some((r.start, r.end));
                }
            },
        }
    }
    if let Some((s, e)) = bad.take() {
        report_bad_chars(&mut lexer.extras, text, s, e);
    }
    names_next_to_paths(&mut tokens);
    let extras = lexer.extras;
    Lexed {
        tokens,
        comments: extras.comments,
        diagnostics: extras.sink.diags,
        dropped: extras.sink.dropped,
        unterminated_string: extras.unterminated_string,
    }
}

/// A keyword right before or after `::` is a part of a qualified name
/// (`std::secrets`, `secrets::ssh_keys`): `::` appears nowhere else, and the
/// parser could not tell `net { allow connect }` followed by `agent::x` apart
/// with one token of lookahead.
fn names_next_to_paths(tokens: &mut [(usize, Tok, usize)]) {
    let mut prev_path = false;
    for i in 0..tokens.len() {
        let next_path = matches!(tokens.get(i + 1), Some((_, Tok::ColonColon, _)));
        if let Some((_, tok, _)) = tokens.get_mut(i) {
            let is_path = matches!(tok, Tok::ColonColon);
            if (prev_path || next_path) && tok.is_keyword() {
                if let Some(text) = tok.fixed_text() {
                    *tok = Tok::Ident(text.to_string());
                }
            }
            prev_path = is_path;
        }
    }
}

fn report_bad_chars(extras: &mut Extras, text: &str, start: usize, end: usize) {
    let slice = text.get(start..end).unwrap_or("");
    let first = slice.chars().next().unwrap_or('\u{fffd}');
    let shown: String = if slice.chars().all(|c| !c.is_control()) {
        shorten(slice, 20)
    } else {
        slice
            .chars()
            .take(8)
            .map(|c| c.escape_default().to_string())
            .collect()
    };
    let (message, label) = if slice.chars().count() == 1 {
        (
            format!("unexpected character `{shown}`"),
            "not part of any token",
        )
    } else {
        (
            format!("unexpected characters `{shown}`"),
            "not part of any token",
        )
    };
    let help = match first {
        '\'' => "strings are written in double quotes: \"...\"".to_string(),
        ';' => "rules and items need no separator; remove the `;`".to_string(),
        '&' => "write `and` to combine conditions".to_string(),
        '|' => "write `or` to combine conditions".to_string(),
        '!' => "write `not` to negate a condition, or `!=` to compare".to_string(),
        '/' | '~' => "paths and globs are strings: write them in double quotes".to_string(),
        '-' => "`-` may only appear inside a name (`send-email`) or in `->`".to_string(),
        '$' => "`${NAME}` interpolation only works inside a string".to_string(),
        _ => "remove it; comments start with `#` and strings are written in double quotes"
            .to_string(),
    };
    extras.sink.push(
        Diag::error(
            &codes::UNEXPECTED_CHAR,
            Span::new(extras.file, start, end),
            message,
        )
        .label(label)
        .help(help),
    );
}
