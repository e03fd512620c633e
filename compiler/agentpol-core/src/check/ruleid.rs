//! Stable rule ids (semantics.md §9) and source positions.
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

/// The token sequence of `text`, separated by single spaces: strings kept
/// verbatim, `#` comments dropped, runs of `[A-Za-z0-9_-]` as one token, every
/// other non-space character its own token.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let sep = |out: &mut String| {
        if !out.is_empty() {
            out.push(' ');
        }
    };
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '#' {
            for n in chars.by_ref() {
                if n == '\n' {
                    break;
                }
            }
            continue;
        }
        sep(&mut out);
        if c == '"' {
            out.push(c);
            while let Some(n) = chars.next() {
                out.push(n);
                if n == '\\' {
                    if let Some(e) = chars.next() {
                        out.push(e);
                    }
                } else if n == '"' {
                    break;
                }
            }
        } else if is_word(c) {
            out.push(c);
            while let Some(&n) = chars.peek() {
                if !is_word(n) {
                    break;
                }
                out.push(n);
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
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

/// Line starts of a file, for 1-based line/column without rescanning the text.
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0u32];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
            }
        }
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of byte `offset` of `text`.
    pub fn line_col(&self, text: &str, offset: u32) -> (u32, u32) {
        let offset = offset.min(u32::try_from(text.len()).unwrap_or(u32::MAX));
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let col = text
            .get(start as usize..offset as usize)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col + 1).unwrap_or(u32::MAX),
        )
    }
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

    #[test]
    fn line_index() {
        let text = "ab\ncdé\n\nx";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 2), (1, 3));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        assert_eq!(idx.line_col(text, 7), (2, 4));
        assert_eq!(idx.line_col(text, 9), (4, 1));
        assert_eq!(idx.line_col(text, 999), (4, 2));
    }
}
