//! Stable rule ids (semantics.md §9).
//!
//! An id is `<owner>/<kind>/<hash>[.<n>]` where the hash covers the owner,
//! the rule's normalised text and its index among textually identical rules
//! of that owner. The normalised text is the token sequence of the rule
//! (comments and layout dropped), prefixed by its block keyword and, for tool
//! rules, the tool's name, so `allow` in two tool blocks are different texts.
//! Running the formatter, adding comments or blank lines, or editing other
//! rules leaves an id unchanged.

use crate::ir::{Kind, RuleId};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Hex digits of the hash in an id (48 bits: collisions among 100k rules of
/// one owner have probability ~2e-5). A colliding id is lengthened, see
/// [`IdGen::next_base`].
const HASH_HEX: usize = 12;

/// The meaning-bearing token sequence of `text`, separated by single
/// spaces: `#` comments and layout dropped, runs of `[A-Za-z0-9_-]` as one
/// token, every other non-space character its own token, and everything the
/// formatter may rewrite without changing the meaning put in the form the
/// formatter prints (issue 10, point 12: `fmt` must never change an id):
///
/// * a `,` directly before `}`, `]` or `)` (a trailing comma) is dropped;
/// * strings are re-escaped as `fmt` writes them (`\$` only before `{`, a
///   raw newline or tab as `\n`/`\t`);
/// * integers lose leading zeros.
///
/// Text already in the formatter's layout normalises exactly as before
/// these rules existed, so ids of formatted policies did not change.
pub fn normalise(text: &str) -> String {
    let tokens = tokens(text);
    let mut out = String::with_capacity(text.len());
    let mut iter = tokens.iter().peekable();
    while let Some(t) = iter.next() {
        if *t == "," && iter.peek().is_none_or(|n| matches!(**n, "}" | "]" | ")")) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if t.starts_with('"') {
            canonical_string(t, &mut out);
        } else if t.bytes().all(|b| b.is_ascii_digit()) {
            let digits = t.trim_start_matches('0');
            out.push_str(if digits.is_empty() { "0" } else { digits });
        } else {
            out.push_str(t);
        }
    }
    out
}

/// The raw tokens of `text` (strings verbatim with their quotes), as
/// slices of it.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '#' {
            for (_, n) in chars.by_ref() {
                if n == '\n' {
                    break;
                }
            }
            continue;
        }
        let mut end = start + c.len_utf8();
        if c == '"' {
            while let Some((i, n)) = chars.next() {
                end = i + n.len_utf8();
                if n == '\\' {
                    if let Some((j, e)) = chars.next() {
                        end = j + e.len_utf8();
                    }
                } else if n == '"' {
                    break;
                }
            }
        } else if is_word(c) {
            while let Some(&(i, n)) = chars.peek() {
                if !is_word(n) {
                    break;
                }
                end = i + n.len_utf8();
                chars.next();
            }
        }
        out.push(text.get(start..end).unwrap_or(""));
    }
    out
}

/// One piece of a string literal's content.
enum Piece {
    /// A character, escapes decoded.
    Char(char),
    /// An unknown escape (an error elsewhere), kept as written.
    Raw(char),
    /// `${...}`, kept as written (the lexer allows no spaces in it).
    Interp(String),
}

/// Appends the string token `tok` (with quotes) as the formatter prints it.
fn canonical_string(tok: &str, out: &mut String) {
    let inner = tok.strip_prefix('"').unwrap_or(tok);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut pieces = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => pieces.push(Piece::Char('\\')),
                Some('"') => pieces.push(Piece::Char('"')),
                Some('n') => pieces.push(Piece::Char('\n')),
                Some('t') => pieces.push(Piece::Char('\t')),
                Some('$') => pieces.push(Piece::Char('$')),
                Some(e) => pieces.push(Piece::Raw(e)),
                None => pieces.push(Piece::Char('\\')),
            },
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                let mut name = String::new();
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                    name.push(n);
                }
                pieces.push(Piece::Interp(name));
            }
            c => pieces.push(Piece::Char(c)),
        }
    }
    out.push('"');
    for (i, p) in pieces.iter().enumerate() {
        match p {
            Piece::Char('\\') => out.push_str("\\\\"),
            Piece::Char('"') => out.push_str("\\\""),
            Piece::Char('\n') => out.push_str("\\n"),
            Piece::Char('\t') => out.push_str("\\t"),
            Piece::Char('$') if matches!(pieces.get(i + 1), Some(Piece::Char('{'))) => {
                out.push_str("\\$")
            }
            Piece::Char(c) => out.push(*c),
            Piece::Raw(e) => {
                out.push('\\');
                out.push(*e);
            }
            Piece::Interp(name) => {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            }
        }
    }
    out.push('"');
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The digest of a rule's normalised text (with its context prefix).
pub type TextKey = [u8; 16];

/// Digest of a rule's context (block keyword, tool name) and normalised
/// text, used for occurrence counting and ids.
pub fn text_key(context: &str, normalised: &str) -> TextKey {
    let mut h = Sha256::new();
    h.update(context.as_bytes());
    h.update([0u8]);
    h.update(normalised.as_bytes());
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(d.get(..16).unwrap_or(&[0u8; 16]));
    k
}

/// Numbers textually identical rules of one owner and builds their ids.
#[derive(Default)]
pub struct IdGen {
    seen: HashMap<TextKey, u32>,
    issued: HashSet<String>,
}

impl IdGen {
    /// A fresh generator for one owner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The base hash for the next rule with text `key` of `owner`.
    pub fn next_base(&mut self, owner: &str, key: &TextKey) -> String {
        let n = self.seen.entry(*key).or_insert(0);
        let occurrence = *n;
        *n += 1;
        let mut h = Sha256::new();
        h.update(owner.as_bytes());
        h.update([0u8]);
        h.update(key);
        h.update(occurrence.to_le_bytes());
        let d = h.finalize();
        // On a (practically impossible) collision with an id already issued to
        // this owner, the later rule gets more digits, so ids stay unique
        // without a separate pass.
        let mut len = HASH_HEX;
        loop {
            let s = hex(d.get(..len / 2).unwrap_or(&d));
            if len >= 64 || !self.issued.contains(&s) {
                self.issued.insert(s.clone());
                return s;
            }
            len += 4;
        }
    }

    /// Marks `base` as issued (tests use it to force a collision).
    #[cfg(test)]
    pub fn reserve(&mut self, base: &str) {
        self.issued.insert(base.to_string());
    }
}

/// Lower-case hex, without a `format!` per byte (ids are made per rule).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// `owner/kind/base[.n]`; `n` is given only when the source rule lowers to
/// more than one IR rule.
pub fn make_id(owner: &str, kind: Kind, base: &str, n: Option<usize>) -> RuleId {
    let kind = match kind {
        Kind::Fs => "fs",
        Kind::Exec => "exec",
        Kind::Net => "net",
        Kind::Tool => "tool",
        Kind::Env => "env",
    };
    let mut id = String::with_capacity(owner.len() + kind.len() + base.len() + 8);
    id.push_str(owner);
    id.push('/');
    id.push_str(kind);
    id.push('/');
    id.push_str(base);
    if let Some(n) = n {
        id.push('.');
        id.push_str(&n.to_string());
    }
    RuleId(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_ignores_layout_and_comments() {
        let a = normalise("allow read, write {\"a\",\"b  c\"}   # hi\n");
        let b = normalise("allow  read ,\n  write { \"a\" , # x\n \"b  c\" }");
        assert_eq!(a, b);
        assert_eq!(a, "allow read , write { \"a\" , \"b  c\" }");
        assert_ne!(
            normalise("allow read \"a b\""),
            normalise("allow read \"a  b\"")
        );
        assert_ne!(normalise("send-email"), normalise("send - email"));
        assert_eq!(normalise("\"a\\\"#b\" x"), "\"a\\\"#b\" x");
        assert_eq!(normalise("8000..8080"), normalise("8000 .. 8080"));
    }

    #[test]
    fn normalise_ignores_what_fmt_rewrites() {
        // Trailing commas (fmt adds them when it wraps a set, and drops them
        // on one line): the bug of issue 10, point 12.
        assert_eq!(
            normalise("allow read { \"/a\", \"/b\", }"),
            normalise("allow read { \"/a\", \"/b\" }")
        );
        assert_eq!(
            normalise("args [\"a\", ..,]"),
            normalise("args [\"a\", ..]")
        );
        assert_eq!(normalise("f(a, b,)"), "f ( a , b )");
        // A comma between elements still counts.
        assert_ne!(normalise("{ \"a\", \"b\" }"), normalise("{ \"a\" \"b\" }"));
        // Escapes as fmt prints them.
        assert_eq!(normalise("\"a\\$b\""), normalise("\"a$b\""));
        assert_eq!(normalise("\"a\\${b}\""), "\"a\\${b}\"");
        assert_ne!(normalise("\"a\\${b}\""), normalise("\"a${b}\""));
        assert_eq!(normalise("\"a\tb\""), normalise("\"a\\tb\""));
        assert_eq!(normalise("\"a\nb\""), normalise("\"a\\nb\""));
        assert_ne!(normalise("\"a\\\\nb\""), normalise("\"a\\nb\""));
        // Integers by value.
        assert_eq!(normalise("port 0443"), normalise("port 443"));
        assert_eq!(normalise("port 000"), "port 0");
        assert_ne!(normalise("port 443"), normalise("port 4430"));
    }

    #[test]
    fn ids_count_occurrences() {
        let mut g = IdGen::new();
        let k = text_key("fs", "allow read \"/a\"");
        let a = g.next_base("agent", &k);
        let b = g.next_base("agent", &k);
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        let mut g2 = IdGen::new();
        assert_eq!(g2.next_base("agent", &k), a);
        let mut g3 = IdGen::new();
        assert_ne!(g3.next_base("other", &k), a);
        assert_eq!(
            make_id("a.s", Kind::Fs, &a, Some(2)).0,
            format!("a.s/fs/{a}.2")
        );
        assert_eq!(make_id("a", Kind::Tool, &a, None).0, format!("a/tool/{a}"));
    }
}
