//! Plain-data queries over a [`Compilation`] for editors: definition at an
//! offset, references, hover facts, the outline and completions in scope.
//!
//! Architecture invariant: nothing here knows the LSP. Offsets are bytes
//! into a file of the compilation and answers are [`Span`]s and strings, so
//! the language server (`editor/agentpol-lsp`) only converts positions and
//! shapes JSON. Every query works on a compilation with errors: it reads the
//! parse trees and the name references the checker recorded, never the IR.

mod complete;
mod symbols;
mod tokens;

pub use complete::{completions, Completion, CompletionKind};
pub use symbols::{flatten, symbols, Symbol, SymbolKind};
pub use tokens::{semantic_tokens, TokenClass};

use crate::check::Compilation;
use crate::span::{FileId, Span};
use crate::syntax::ast::{Item, Member};

/// The definition of the name at byte `offset` of `file`: the definition a
/// use resolves to, or the definition itself when `offset` is on its name.
pub fn definition_at(comp: &Compilation, file: FileId, offset: u32) -> Option<Span> {
    if let Some(r) = comp.definition_at(file, offset) {
        return Some(r.def_span);
    }
    defined_name_at(comp, file, offset).map(|s| s.name_span)
}

/// The declaration whose name covers `offset`, if any.
fn defined_name_at(comp: &Compilation, file: FileId, offset: u32) -> Option<Symbol> {
    let parsed = comp.parsed.get(file.0 as usize)?;
    let all = symbols(&parsed.ast);
    let found = flatten(&all)
        .into_iter()
        .filter(|s| s.kind != SymbolKind::Rules && s.kind != SymbolKind::Assert)
        .find(|s| s.name_span.start <= offset && offset < s.name_span.end)
        .cloned();
    found
}

/// Every place the name at `offset` refers to the same definition, uses in
/// source order across all files of the compilation, with the definition
/// itself first when `include_declaration`.
pub fn references(
    comp: &Compilation,
    file: FileId,
    offset: u32,
    include_declaration: bool,
) -> Vec<Span> {
    let Some(def) = definition_at(comp, file, offset) else {
        return Vec::new();
    };
    let mut uses: Vec<Span> = comp
        .references
        .iter()
        .filter(|r| r.def_span == def)
        .map(|r| r.use_span)
        .collect();
    uses.sort();
    uses.dedup();
    if include_declaration {
        uses.insert(0, def);
    }
    uses
}

/// What to show when hovering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoverFacts {
    /// The range the facts are about.
    pub span: Span,
    /// A one-line signature in policy syntax (the declaration's first line).
    pub signature: String,
    /// Plain sentences: kind, where it is defined, which block it is in.
    pub facts: Vec<String>,
}

/// Hover facts at `offset`: for a name, its declaration and where it is
/// defined; on a rule, the rule and the block it belongs to.
pub fn hover(comp: &Compilation, file: FileId, offset: u32) -> Option<HoverFacts> {
    let (span, def) = match comp.definition_at(file, offset) {
        Some(r) => (r.use_span, Some(r.def_span)),
        None => match defined_name_at(comp, file, offset) {
            Some(s) => (s.name_span, Some(s.name_span)),
            None => (Span::default(), None),
        },
    };
    if let Some(def) = def {
        return Some(name_hover(comp, span, def));
    }
    rule_hover(comp, file, offset)
}

fn name_hover(comp: &Compilation, span: Span, def: Span) -> HoverFacts {
    let decl = comp.parsed.get(def.file.0 as usize).and_then(|p| {
        let all = symbols(&p.ast);
        let found = flatten(&all)
            .into_iter()
            .find(|s| s.name_span == def)
            .cloned();
        found
    });
    let file = comp.sources.get(def.file);
    let (line, _) = file.map(|f| f.line_col(def.start)).unwrap_or((0, 0));
    let fname = file.map(|f| f.name.as_str()).unwrap_or("?");
    let mut facts = Vec::new();
    let signature = match &decl {
        Some(s) => {
            facts.push(format!("{} `{}`", s.kind.keyword(), s.name));
            first_line(comp, s.span)
        }
        // Tool arguments and other names without an outline entry.
        None => first_line(comp, def),
    };
    facts.push(format!("defined at {fname}:{line}"));
    let uses = comp.references.iter().filter(|r| r.def_span == def).count();
    facts.push(format!("{uses} use(s)"));
    HoverFacts {
        span,
        signature,
        facts,
    }
}

/// The first line of the text `span` covers, trimmed.
fn first_line(comp: &Compilation, span: Span) -> String {
    let text = comp
        .sources
        .get(span.file)
        .map(|f| f.slice(span))
        .unwrap_or("");
    text.lines().next().unwrap_or("").trim().to_string()
}

fn rule_hover(comp: &Compilation, file: FileId, offset: u32) -> Option<HoverFacts> {
    let parsed = comp.parsed.get(file.0 as usize)?;
    let inside = |s: Span| s.start <= offset && offset < s.end;
    for item in &parsed.ast.items {
        let (Item::Agent(b) | Item::Profile(b)) = item else {
            continue;
        };
        if !inside(b.span) {
            continue;
        }
        let mut owner = vec![format!("{} `{}`", kind_word(item), b.name.name)];
        let mut members = &b.members;
        // Descend into at most one skill: skills do not nest further.
        if let Some(skill) = members.iter().find_map(|m| match m {
            Member::Skill(s) if inside(s.span) => Some(s),
            _ => None,
        }) {
            owner.push(format!("skill `{}`", skill.name.name));
            members = &skill.members;
        }
        let (layer, rule) = members.iter().find_map(|m| rule_at(m, offset))?;
        let mut facts = vec![format!("{layer} rule in {}", owner.join(", "))];
        let ids = rule_ids(comp, rule);
        if !ids.is_empty() {
            facts.push(format!("rule id(s): {}", ids.join(", ")));
        }
        return Some(HoverFacts {
            span: rule,
            signature: first_line(comp, rule),
            facts,
        });
    }
    None
}

fn kind_word(item: &Item) -> &'static str {
    match item {
        Item::Agent(_) => "agent",
        _ => "profile",
    }
}

/// The layer and span of the rule at `offset` in member `m`.
fn rule_at(m: &Member, offset: u32) -> Option<(&'static str, Span)> {
    let inside = |s: &Span| s.start <= offset && offset < s.end;
    match m {
        Member::Fs(b) => b
            .rules
            .iter()
            .map(|r| r.span)
            .find(inside)
            .map(|s| ("fs", s)),
        Member::Exec(b) => b
            .rules
            .iter()
            .map(|r| r.span)
            .find(inside)
            .map(|s| ("exec", s)),
        Member::Net(b) => b
            .rules
            .iter()
            .map(|r| r.span)
            .find(inside)
            .map(|s| ("net", s)),
        Member::Secrets(b) => b
            .rules
            .iter()
            .map(|r| r.span)
            .find(inside)
            .map(|s| ("secrets", s)),
        Member::Tool(b) => b
            .rules
            .iter()
            .map(|r| r.span)
            .find(inside)
            .map(|s| ("tool", s)),
        _ => None,
    }
}

/// The IR rule ids (one per agent the rule lands in, through includes) of
/// the rule written at `span`; only when the policy checked.
fn rule_ids(comp: &Compilation, span: Span) -> Vec<String> {
    let Some(policy) = comp.policy.as_ref() else {
        return Vec::new();
    };
    let mut ids: Vec<String> = policy
        .agents
        .iter()
        .flat_map(|a| {
            a.rules
                .iter()
                .chain(a.skills.iter().flat_map(|s| s.rules.iter()))
        })
        .filter(|r| r.src.span == span)
        .map(|r| r.id.0.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests;
