//! Cedar source text: string and pattern literals, attribute access, and a
//! tiny boolean expression tree that folds constants and prints with the
//! parentheses Cedar needs.
//!
//! Everything user-controlled (names, paths, domains, values) reaches Cedar
//! text only through [`string_lit`], [`like_lit`] and [`attr`], so a name
//! with a quote, a backslash or a star cannot change a policy's meaning.

use agentpol_core::ir::{LikePattern, LikePiece};

/// A Cedar string literal for `s`, quotes included.
pub(crate) fn string_lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    push_escaped(&mut out, s, false);
    out.push('"');
    out
}

/// Appends `s` with Cedar's (Rust's) string escapes; with `star`, a `*` is
/// written `\*` (a literal star inside a `like` pattern).
fn push_escaped(out: &mut String, s: &str, star: bool) {
    for c in s.chars() {
        match c {
            '*' if star => out.push_str("\\*"),
            // `escape_debug` would write `\'`, which is valid but noisy.
            '\'' => out.push('\''),
            c => out.extend(c.escape_debug()),
        }
    }
}

/// One element of a `like` pattern being built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pat {
    /// Literal text (stars in it are literal).
    Lit(String),
    /// A Cedar wildcard: any run of characters, `/` included.
    Star,
}

/// A Cedar `like` pattern literal (quotes included) from pattern elements.
pub(crate) fn like_lit(pat: &[Pat]) -> String {
    let mut out = String::from("\"");
    let mut last_star = false;
    for p in pat {
        match p {
            Pat::Lit(s) => {
                push_escaped(&mut out, s, true);
                last_star = false;
            }
            // `**` in a Cedar pattern means the same as `*`; print one.
            Pat::Star if last_star => {}
            Pat::Star => {
                out.push('*');
                last_star = true;
            }
        }
    }
    out.push('"');
    out
}

/// The elements of an IR `like` pattern (which has Cedar semantics already).
pub(crate) fn like_pattern(p: &LikePattern) -> Vec<Pat> {
    p.pieces
        .iter()
        .map(|piece| match piece {
            LikePiece::Lit(s) => Pat::Lit(s.clone()),
            LikePiece::Star => Pat::Star,
        })
        .collect()
}

/// True when every element is literal (the pattern is an equality test).
pub(crate) fn pat_literal(pat: &[Pat]) -> Option<String> {
    let mut out = String::new();
    for p in pat {
        match p {
            Pat::Lit(s) => out.push_str(s),
            Pat::Star => return None,
        }
    }
    Some(out)
}

/// Words that cannot follow a `.` in Cedar (or read badly there).
const RESERVED: &[&str] = &[
    "principal",
    "action",
    "resource",
    "context",
    "permit",
    "forbid",
    "when",
    "unless",
    "in",
    "has",
    "like",
    "is",
    "if",
    "then",
    "else",
    "true",
    "false",
];

/// True when `name` can be written after a `.` or `has` unquoted.
pub(crate) fn plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__cedar")
        && !RESERVED.contains(&name)
}

/// `base.name`, or `base["name"]` when `name` is not a plain identifier.
pub(crate) fn attr(base: &str, name: &str) -> String {
    if plain_ident(name) {
        format!("{base}.{name}")
    } else {
        format!("{base}[{}]", string_lit(name))
    }
}

/// `base has name` (quoted when needed).
pub(crate) fn has(base: &str, name: &str) -> String {
    if plain_ident(name) {
        format!("{base} has {name}")
    } else {
        format!("{base} has {}", string_lit(name))
    }
}

/// An attribute name in a `.cedarschema` record type (always quoted: any
/// string is allowed there when quoted).
pub(crate) fn schema_attr(name: &str) -> String {
    string_lit(name)
}

/// A Cedar integer literal (`i64::MIN` has no literal of its own).
pub(crate) fn long_lit(v: i64) -> String {
    if v == i64::MIN {
        "(-9223372036854775807 - 1)".to_string()
    } else {
        v.to_string()
    }
}

/// A boolean Cedar expression under construction. Constants fold away, so
/// an approximated-to-nothing part disappears from the printed policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Expr {
    /// `true`.
    True,
    /// `false`.
    False,
    /// A relation or call, printed as is (`a == b`, `x like "p"`, `s.contains(v)`).
    Atom(String),
    /// `!(e)`.
    Not(Box<Expr>),
    /// Conjunction (at least two items after folding).
    And(Vec<Expr>),
    /// Disjunction (at least two items after folding).
    Or(Vec<Expr>),
}

/// Disjunctions and conjunctions longer than this are printed as a balanced
/// tree of parenthesised groups, keeping Cedar's parse, evaluation and drop
/// depth logarithmic in the number of operands: a gate can OR thousands of
/// rules, and one rule can AND thousands of conditions (Cedar builds `a && b
/// && c` as a left-deep tree and walks it recursively: 20,000 conjuncts
/// overflowed a 1 MiB stack when it dropped the parsed policy).
const CHUNK: usize = 16;

impl Expr {
    /// An atomic expression.
    pub(crate) fn atom(s: impl Into<String>) -> Expr {
        Expr::Atom(s.into())
    }

    /// The conjunction, folded.
    pub(crate) fn and(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::fold(items, true)
    }

    /// The disjunction, folded.
    pub(crate) fn or(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::fold(items, false)
    }

    /// `&&` (`conj`) or `||` of `items`: the identity constant drops out, the
    /// absorbing one decides, nested chains of the same operator flatten, and
    /// repeats go (through a set: `Vec::contains` made 20,000 conjuncts
    /// quadratic).
    fn fold(items: impl IntoIterator<Item = Expr>, conj: bool) -> Expr {
        let (identity, absorbing) = if conj {
            (Expr::True, Expr::False)
        } else {
            (Expr::False, Expr::True)
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut add = |e: Expr, out: &mut Vec<Expr>| {
            if seen.insert(e.clone()) {
                out.push(e)
            }
        };
        for e in items {
            match e {
                e if e == identity => {}
                e if e == absorbing => return absorbing,
                Expr::And(inner) if conj => inner.into_iter().for_each(|e| add(e, &mut out)),
                Expr::Or(inner) if !conj => inner.into_iter().for_each(|e| add(e, &mut out)),
                e => add(e, &mut out),
            }
        }
        match out.len() {
            0 => identity,
            1 => out.pop().unwrap_or(identity),
            _ if conj => Expr::And(out),
            _ => Expr::Or(out),
        }
    }

    /// The negation, folded.
    pub(crate) fn not(e: Expr) -> Expr {
        match e {
            Expr::True => Expr::False,
            Expr::False => Expr::True,
            Expr::Not(inner) => *inner,
            e => Expr::Not(Box::new(e)),
        }
    }

    /// Cedar text on one line.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Expr::True => out.push_str("true"),
            Expr::False => out.push_str("false"),
            Expr::Atom(s) => out.push_str(s),
            Expr::Not(e) => {
                out.push_str("!(");
                e.write(out);
                out.push(')');
            }
            Expr::And(items) => write_chain(items, " && ", out),
            Expr::Or(items) => write_chain(items, " || ", out),
        }
    }

    /// Writes `self` as an operand of `&&`/`||`: compound operands get parentheses.
    fn write_operand(&self, out: &mut String) {
        match self {
            Expr::And(_) | Expr::Or(_) => {
                out.push('(');
                self.write(out);
                out.push(')');
            }
            e => e.write(out),
        }
    }

    /// Cedar text for the body of a `when { ... }`: a long top-level
    /// disjunction or conjunction gets one operand per line.
    pub(crate) fn render_block(&self, indent: &str) -> String {
        let flat = self.render();
        if flat.len() <= 80 {
            return format!(" {flat} ");
        }
        let (items, op) = match self {
            Expr::Or(items) if items.len() <= CHUNK => (items, "|| "),
            Expr::And(items) if items.len() <= CHUNK => (items, "&& "),
            _ => return format!("\n{indent}{flat}\n"),
        };
        let mut out = String::from("\n");
        for (i, e) in items.iter().enumerate() {
            out.push_str(indent);
            if i > 0 {
                out.push_str(op);
            }
            let mut s = String::new();
            e.write_operand(&mut s);
            out.push_str(&s);
            out.push('\n');
        }
        out
    }
}

/// Writes `items` joined by `op` (` && ` or ` || `, both associative, and
/// grouping keeps Cedar's left-to-right short-circuit order), as a balanced
/// tree of at most [`CHUNK`] groups per level. The recursion here is as deep
/// as the tree, logarithmic in `items.len()`.
fn write_chain(items: &[Expr], op: &str, out: &mut String) {
    if items.len() <= CHUNK {
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(op);
            }
            e.write_operand(out);
        }
        return;
    }
    let group = items.len().div_ceil(CHUNK);
    for (i, chunk) in items.chunks(group).enumerate() {
        if i > 0 {
            out.push_str(op);
        }
        if chunk.len() == 1 {
            if let Some(e) = chunk.first() {
                e.write_operand(out);
            }
        } else {
            out.push('(');
            write_chain(chunk, op, out);
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string_lit(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string_lit("x\ny"), r#""x\ny""#);
        assert_eq!(string_lit("it's"), r#""it's""#);
        assert_eq!(
            like_lit(&[
                Pat::Lit("a*".into()),
                Pat::Star,
                Pat::Star,
                Pat::Lit("\\".into())
            ]),
            r#""a\**\\""#
        );
    }

    #[test]
    fn attribute_access_quotes_odd_names() {
        assert_eq!(attr("context.args", "to"), "context.args.to");
        assert_eq!(
            attr("context.args", "send-to"),
            r#"context.args["send-to"]"#
        );
        assert_eq!(attr("context.args", "in"), r#"context.args["in"]"#);
        assert_eq!(has("context.args", "if"), r#"context.args has "if""#);
    }

    #[test]
    fn constants_fold() {
        let a = Expr::atom("a");
        assert_eq!(Expr::and([Expr::True, a.clone()]), a);
        assert_eq!(Expr::and([Expr::False, a.clone()]), Expr::False);
        assert_eq!(Expr::or([Expr::False, a.clone()]), a);
        assert_eq!(Expr::or([Expr::True, a.clone()]), Expr::True);
        assert_eq!(Expr::not(Expr::not(a.clone())), a);
        assert_eq!(
            Expr::and([
                Expr::or([a.clone(), Expr::atom("b")]),
                Expr::not(Expr::atom("c"))
            ])
            .render(),
            "(a || b) && !(c)"
        );
    }

    /// The deepest parenthesis nesting in `text`.
    fn paren_depth(text: &str) -> usize {
        let mut depth = 0usize;
        let mut max = 0usize;
        for c in text.chars() {
            match c {
                '(' => {
                    depth += 1;
                    max = max.max(depth)
                }
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        max
    }

    #[test]
    fn long_disjunctions_are_balanced() {
        let items: Vec<Expr> = (0..1000).map(|i| Expr::atom(format!("x{i}"))).collect();
        let text = Expr::or(items).render();
        let max = paren_depth(&text);
        assert!(max <= 3, "nesting {max}");
        assert_eq!(text.matches("||").count(), 999);
    }

    #[test]
    fn long_conjunctions_are_balanced() {
        // 20,000 conjuncts printed flat overflowed Cedar's recursive drop.
        let items: Vec<Expr> = (0..20_000).map(|i| Expr::atom(format!("x{i}"))).collect();
        let text = Expr::and(items).render();
        let max = paren_depth(&text);
        assert!(max <= 4, "nesting {max}");
        assert_eq!(text.matches("&&").count(), 19_999);
        // Cedar reads it, with the conjuncts in their order.
        let policy = format!(
            "permit(principal, action, resource) when {{ {} }};",
            text.replace('x', "context.x")
        );
        let set: cedar_policy::PolicySet = policy.parse().expect("Cedar parses the balanced form");
        assert_eq!(set.policies().count(), 1);
        let order: Vec<usize> = text
            .split("&&")
            .map(|t| {
                t.trim_matches(|c: char| c == '(' || c == ')' || c == ' ')
                    .trim_start_matches('x')
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(order, (0..20_000).collect::<Vec<_>>());
    }
}
