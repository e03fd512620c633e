//! Completions at a cursor: module members after `::`, otherwise keywords
//! and the names in scope of the file.

use super::symbols::{symbols, SymbolKind};
use crate::check::Compilation;
use crate::span::FileId;
use crate::syntax::ast::{ImportTarget, Item};
use crate::syntax::lexer::KEYWORDS;

/// What a [`Completion`] inserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    /// A language keyword.
    Keyword,
    /// A declared name (its kind).
    Name(SymbolKind),
    /// A module (import alias or std module).
    Module,
}

/// One completion candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The text to insert.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
}

/// Candidates at byte `offset` of `file`. After `x::` only the members of
/// module `x` (an import alias of the file, or `std`) are offered; elsewhere
/// keywords, the file's own names and its import aliases. The editor
/// filters by the typed prefix.
pub fn completions(comp: &Compilation, file: FileId, offset: u32) -> Vec<Completion> {
    let Some(src) = comp.sources.get(file) else {
        return Vec::new();
    };
    let before = src
        .text
        .get(..(offset as usize).min(src.text.len()))
        .unwrap_or("");
    // The word being typed, then what precedes it.
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let head = before.get(..word_start).unwrap_or("");
    if let Some(path) = head.strip_suffix("::") {
        let alias_start = path
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .map(|i| i + 1)
            .unwrap_or(0);
        return members(comp, file, path.get(alias_start..).unwrap_or(""));
    }
    let mut out: Vec<Completion> = KEYWORDS
        .iter()
        .map(|k| Completion {
            label: (*k).to_string(),
            kind: CompletionKind::Keyword,
        })
        .collect();
    if let Some(parsed) = comp.parsed.get(file.0 as usize) {
        for s in symbols(&parsed.ast) {
            let kind = match s.kind {
                SymbolKind::Import => CompletionKind::Module,
                SymbolKind::Assert | SymbolKind::Test | SymbolKind::Rules => continue,
                k => CompletionKind::Name(k),
            };
            out.push(Completion {
                label: s.name,
                kind,
            });
        }
    }
    out.push(Completion {
        label: "std".into(),
        kind: CompletionKind::Module,
    });
    out
}

/// The public names of module `alias` as seen from `file`.
fn members(comp: &Compilation, file: FileId, alias: &str) -> Vec<Completion> {
    if alias == "std" {
        return crate::stdlib::MODULES
            .iter()
            .map(|(p, _, _)| Completion {
                label: (*p).to_string(),
                kind: CompletionKind::Module,
            })
            .collect();
    }
    let Some(module_file) = imported_file(comp, file, alias) else {
        return Vec::new();
    };
    let Some(parsed) = comp.parsed.get(module_file.0 as usize) else {
        return Vec::new();
    };
    symbols(&parsed.ast)
        .into_iter()
        .filter_map(|s| match s.kind {
            SymbolKind::Import
            | SymbolKind::Assert
            | SymbolKind::Test
            | SymbolKind::Rules
            | SymbolKind::Agent => None,
            k => Some(Completion {
                label: s.name,
                kind: CompletionKind::Name(k),
            }),
        })
        .collect()
}

/// The file that import alias `alias` of `file` loaded.
fn imported_file(comp: &Compilation, file: FileId, alias: &str) -> Option<FileId> {
    let parsed = comp.parsed.get(file.0 as usize)?;
    parsed.ast.items.iter().find_map(|item| {
        let Item::Import(imp) = item else { return None };
        let written = imp.alias.as_ref().map(|a| a.name.as_str());
        let name = crate::check::import_alias(&imp.target, written)?;
        if name != alias {
            return None;
        }
        match &imp.target {
            ImportTarget::Module(q) => {
                let parts: Vec<String> = q.parts.iter().skip(1).map(|p| p.name.clone()).collect();
                let (display, _) = crate::stdlib::module(&parts)?;
                comp.sources.find(display)
            }
            ImportTarget::File(s) => {
                let path = s.as_plain()?;
                comp.sources
                    .files()
                    .iter()
                    .find(|f| f.id != file && f.name.ends_with(&path))
                    .map(|f| f.id)
            }
        }
    })
}
