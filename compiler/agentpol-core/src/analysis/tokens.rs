//! Token classes for editor highlighting (LSP semantic tokens): what the
//! lexer saw, so highlighting agrees with the parser even where a TextMate
//! grammar guesses (an `allow` used as a name, a keyword inside a string).

use crate::span::FileId;
use crate::syntax::lexer::{lex, Tok};

/// What a stretch of text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenClass {
    /// A keyword (`agent`, `allow`, `when`, ...).
    Keyword,
    /// A name (const, set, profile, argument, ...).
    Name,
    /// A string literal.
    String,
    /// An integer, or a bare IP address or CIDR.
    Number,
    /// A `#` comment (an `#[allow(…)]` pragma included).
    Comment,
    /// Punctuation and operators.
    Operator,
}

/// Every token and comment of `text`, in source order, as byte ranges with
/// their class. Linear in the text (one lexer pass, then a merge).
pub fn semantic_tokens(text: &str) -> Vec<(u32, u32, TokenClass)> {
    let lexed = lex(FileId::default(), text);
    let mut out: Vec<(u32, u32, TokenClass)> = lexed
        .tokens
        .iter()
        .filter_map(|(s, t, e)| {
            let class = match t {
                Tok::Ident(_) => TokenClass::Name,
                Tok::Str(_) => TokenClass::String,
                Tok::Int(_) | Tok::Ip(_) => TokenClass::Number,
                Tok::Comment | Tok::Error => return None,
                t if t.is_keyword() => TokenClass::Keyword,
                _ => TokenClass::Operator,
            };
            Some((*s as u32, *e as u32, class))
        })
        .collect();
    out.extend(
        lexed
            .comments
            .iter()
            .map(|c| (c.span.start, c.span.end, TokenClass::Comment)),
    );
    out.sort_by_key(|t| t.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_lexer() {
        let text = "agent a { # hi\n  fs { allow read \"/x\" }\n}\n";
        let got: Vec<(&str, TokenClass)> = semantic_tokens(text)
            .into_iter()
            .map(|(s, e, c)| (&text[s as usize..e as usize], c))
            .collect();
        use TokenClass::*;
        assert_eq!(
            got,
            [
                ("agent", Keyword),
                ("a", Name),
                ("{", Operator),
                ("# hi", Comment),
                ("fs", Keyword),
                ("{", Operator),
                ("allow", Keyword),
                ("read", Keyword),
                ("\"/x\"", String),
                ("}", Operator),
                ("}", Operator),
            ]
        );
    }
}
