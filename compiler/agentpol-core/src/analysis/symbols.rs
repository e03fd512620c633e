//! The outline of one file: declarations, agents → skills → rule blocks.

use crate::span::Span;
use crate::syntax::ast::{Block, File, Item, Member};

/// What a [`Symbol`] declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// `import ...` (named by its alias).
    Import,
    /// `const`.
    Const,
    /// `set`.
    Set,
    /// `param`.
    Param,
    /// `secret`.
    Secret,
    /// `tool` declaration (global signature).
    Tool,
    /// `profile`.
    Profile,
    /// `agent`.
    Agent,
    /// `skill` inside an agent or profile.
    Skill,
    /// A rule block (`fs`, `exec`, `net`, `secrets`, or a `tool NAME` block).
    Rules,
    /// `assert`.
    Assert,
    /// `test`.
    Test,
}

impl SymbolKind {
    /// The keyword that introduces it, for hover text.
    pub fn keyword(self) -> &'static str {
        match self {
            SymbolKind::Import => "import",
            SymbolKind::Const => "const",
            SymbolKind::Set => "set",
            SymbolKind::Param => "param",
            SymbolKind::Secret => "secret",
            SymbolKind::Tool => "tool",
            SymbolKind::Profile => "profile",
            SymbolKind::Agent => "agent",
            SymbolKind::Skill => "skill",
            SymbolKind::Rules => "rules",
            SymbolKind::Assert => "assert",
            SymbolKind::Test => "test",
        }
    }
}

/// One entry of the outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Display name.
    pub name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// The name (or keyword, for unnamed items) to select.
    pub name_span: Span,
    /// Nested symbols (skills and rule blocks of a block).
    pub children: Vec<Symbol>,
}

/// The outline of `file`, in source order. Error nodes are left out.
pub fn symbols(file: &File) -> Vec<Symbol> {
    file.items.iter().filter_map(item_symbol).collect()
}

fn leaf(name: String, kind: SymbolKind, span: Span, name_span: Span) -> Symbol {
    Symbol {
        name,
        kind,
        span,
        name_span,
        children: Vec::new(),
    }
}

fn item_symbol(item: &Item) -> Option<Symbol> {
    let s = match item {
        Item::Import(i) => {
            let name = match (&i.alias, &i.target) {
                (Some(a), _) => a.name.clone(),
                (None, crate::syntax::ast::ImportTarget::Module(q)) => q.text(),
                (None, crate::syntax::ast::ImportTarget::File(s)) => s.as_plain()?,
            };
            let name_span = i.alias.as_ref().map(|a| a.span).unwrap_or(i.span);
            leaf(name, SymbolKind::Import, i.span, name_span)
        }
        Item::Const(c) => leaf(c.name.name.clone(), SymbolKind::Const, c.span, c.name.span),
        Item::Set(c) => leaf(c.name.name.clone(), SymbolKind::Set, c.span, c.name.span),
        Item::Param(c) => leaf(c.name.name.clone(), SymbolKind::Param, c.span, c.name.span),
        Item::Secret(c) => leaf(c.name.name.clone(), SymbolKind::Secret, c.span, c.name.span),
        Item::Tool(c) => leaf(c.name.name.clone(), SymbolKind::Tool, c.span, c.name.span),
        Item::Profile(b) => block_symbol(b, SymbolKind::Profile),
        Item::Agent(b) => block_symbol(b, SymbolKind::Agent),
        Item::Assert(a) => leaf("assert".into(), SymbolKind::Assert, a.span, a.span),
        Item::Test(t) => leaf(
            t.name.as_plain().unwrap_or_else(|| "test".into()),
            SymbolKind::Test,
            t.span,
            t.name.span,
        ),
        Item::Error(_) => return None,
    };
    Some(s)
}

fn block_symbol(b: &Block, kind: SymbolKind) -> Symbol {
    let children = b
        .members
        .iter()
        .filter_map(|m| {
            let (name, span) = match m {
                Member::Skill(s) => return Some(block_symbol(s, SymbolKind::Skill)),
                Member::Fs(r) => ("fs".to_string(), r.span),
                Member::Exec(r) => ("exec".to_string(), r.span),
                Member::Net(r) => ("net".to_string(), r.span),
                Member::Secrets(r) => ("secrets".to_string(), r.span),
                Member::Tool(t) => (format!("tool {}", t.name.name), t.span),
                _ => return None,
            };
            Some(leaf(name, SymbolKind::Rules, span, span))
        })
        .collect();
    Symbol {
        name: b.name.name.clone(),
        kind,
        span: b.span,
        name_span: b.name.span,
        children,
    }
}

/// Every symbol of `symbols`, depth first.
pub fn flatten(symbols: &[Symbol]) -> Vec<&Symbol> {
    let mut out = Vec::new();
    let mut stack: Vec<&Symbol> = symbols.iter().rev().collect();
    while let Some(s) = stack.pop() {
        out.push(s);
        stack.extend(s.children.iter().rev());
    }
    out
}
