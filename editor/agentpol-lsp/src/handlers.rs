//! Request handlers: LSP params in, `analysis` queries, LSP results out.

use crate::docs::Doc;
use crate::Server;
use agentpol_core::analysis::{self, CompletionKind, SymbolKind};
use agentpol_core::span::Span;
use lsp_types::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

/// Why a request failed.
pub enum Error {
    /// Not a request this server answers.
    Method,
    /// Malformed params, unknown document or invalid position.
    Params(String),
    /// Well-formed but not possible (e.g. renaming into `std`).
    Failed(String),
}

impl From<String> for Error {
    fn from(m: String) -> Self {
        Error::Params(m)
    }
}

type R = Result<Value, Error>;

/// What the server supports.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".into()]),
            ..Default::default()
        }),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: SemanticTokensLegend {
                    token_types: TOKEN_TYPES.to_vec(),
                    token_modifiers: Vec::new(),
                },
                full: Some(SemanticTokensFullOptions::Bool(true)),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn params<P: DeserializeOwned>(v: Value) -> Result<P, Error> {
    serde_json::from_value(v).map_err(|e| Error::Params(format!("bad params: {e}")))
}

fn ok<T: serde::Serialize>(v: T) -> R {
    serde_json::to_value(v).map_err(|e| Error::Failed(e.to_string()))
}

/// Answers one request.
pub fn dispatch(s: &mut Server, method: &str, p: Value) -> R {
    match method {
        "textDocument/hover" => hover(s, params(p)?),
        "textDocument/definition" => definition(s, params(p)?),
        "textDocument/references" => references(s, params(p)?),
        "textDocument/rename" => rename(s, params(p)?),
        "textDocument/documentSymbol" => document_symbols(s, params(p)?),
        "textDocument/formatting" => formatting(s, params(p)?),
        "textDocument/foldingRange" => folding(s, params(p)?),
        "textDocument/completion" => completion(s, params(p)?),
        "textDocument/codeAction" => code_action(s, params(p)?),
        "textDocument/semanticTokens/full" => semantic_tokens(s, params(p)?),
        "agentpol/stdSource" => std_source(params(p)?),
        _ => Err(Error::Method),
    }
}

/// The document and byte offset of a position.
fn at<'a>(s: &'a mut Server, p: &TextDocumentPositionParams) -> Result<(&'a Doc, u32), Error> {
    let doc = s.docs.get(&p.text_document.uri)?;
    let off = doc.offset(p.position)?;
    Ok((doc, off))
}

fn hover(s: &mut Server, p: HoverParams) -> R {
    let (doc, off) = at(s, &p.text_document_position_params)?;
    let mut parts = Vec::new();
    let mut range = None;
    if let Some(h) = analysis::hover(&doc.comp, doc.comp.root, off) {
        parts.push(format!("```agentpol\n{}\n```", h.signature));
        parts.push(h.facts.join("  \n"));
        range = Some(doc.range(h.span));
    }
    // On a diagnostic: what its code means (the `agentpolc explain` text).
    for d in &doc.comp.diagnostics {
        let sp = d.primary.span;
        if sp.file == doc.comp.root && sp.start <= off && off <= sp.end {
            parts.push(format!(
                "**{}** ({}): {}",
                d.code.code, d.code.name, d.code.explanation
            ));
        }
    }
    if parts.is_empty() {
        return Ok(Value::Null);
    }
    ok(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: parts.join("\n\n---\n\n"),
        }),
        range,
    })
}

fn definition(s: &mut Server, p: GotoDefinitionParams) -> R {
    let (doc, off) = at(s, &p.text_document_position_params)?;
    match analysis::definition_at(&doc.comp, doc.comp.root, off).and_then(|d| doc.location(d)) {
        Some(loc) => ok(GotoDefinitionResponse::Scalar(loc)),
        None => Ok(Value::Null),
    }
}

fn references(s: &mut Server, p: ReferenceParams) -> R {
    let (doc, off) = at(s, &p.text_document_position)?;
    let spans = analysis::references(&doc.comp, doc.comp.root, off, p.context.include_declaration);
    ok(spans
        .into_iter()
        .filter_map(|sp| doc.location(sp))
        .collect::<Vec<_>>())
}

/// `[A-Za-z_][A-Za-z0-9_-]*` and not a keyword (the lexer's identifier rule).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !agentpol_core::syntax::lexer::KEYWORDS.contains(&name)
}

// lsp-types keys `WorkspaceEdit::changes` by `Uri`, whose cached parse
// clippy counts as interior mutability; the keys are never mutated here.
#[allow(clippy::mutable_key_type)]
fn rename(s: &mut Server, p: RenameParams) -> R {
    if !is_identifier(&p.new_name) {
        return Err(Error::Params(format!(
            "`{}` is not a valid name (letters, digits, `_`, `-`; not a keyword)",
            p.new_name
        )));
    }
    let (doc, off) = at(s, &p.text_document_position)?;
    let spans = analysis::references(&doc.comp, doc.comp.root, off, true);
    if spans.is_empty() {
        return Err(Error::Failed("no name to rename here".into()));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for sp in spans {
        let name = doc
            .comp
            .sources
            .get(sp.file)
            .map(|f| f.name.as_str())
            .unwrap_or("");
        if name.starts_with("std/") || doc.read_only {
            return Err(Error::Failed(format!(
                "cannot rename: it is defined or used in the read-only standard library ({name})"
            )));
        }
        let Some(loc) = doc.location(sp) else {
            return Err(Error::Failed(format!("cannot rename in {name}")));
        };
        changes
            .entry(loc.uri)
            .or_default()
            .push(TextEdit::new(loc.range, p.new_name.clone()));
    }
    ok(WorkspaceEdit::new(changes))
}

fn symbol_kind(k: SymbolKind) -> lsp_types::SymbolKind {
    use lsp_types::SymbolKind as K;
    match k {
        SymbolKind::Import => K::MODULE,
        SymbolKind::Const => K::CONSTANT,
        SymbolKind::Set => K::ARRAY,
        SymbolKind::Param => K::VARIABLE,
        SymbolKind::Secret => K::KEY,
        SymbolKind::Tool => K::FUNCTION,
        SymbolKind::Profile => K::INTERFACE,
        SymbolKind::Agent => K::CLASS,
        SymbolKind::Skill => K::METHOD,
        SymbolKind::Rules => K::NAMESPACE,
        SymbolKind::Assert | SymbolKind::Test => K::EVENT,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` has to be spelt out.
fn to_document_symbol(doc: &Doc, s: &analysis::Symbol) -> DocumentSymbol {
    DocumentSymbol {
        name: s.name.clone(),
        detail: Some(s.kind.keyword().into()),
        kind: symbol_kind(s.kind),
        tags: None,
        deprecated: None,
        range: doc.range(s.span),
        selection_range: doc.range(s.name_span),
        children: Some(
            s.children
                .iter()
                .map(|c| to_document_symbol(doc, c))
                .collect(),
        ),
    }
}

fn document_symbols(s: &mut Server, p: DocumentSymbolParams) -> R {
    let doc = s.docs.get(&p.text_document.uri)?;
    let parsed = doc.comp.parsed.get(doc.comp.root.0 as usize);
    let syms = parsed
        .map(|p| analysis::symbols(&p.ast))
        .unwrap_or_default();
    ok(DocumentSymbolResponse::Nested(
        syms.iter().map(|s| to_document_symbol(doc, s)).collect(),
    ))
}

fn folding(s: &mut Server, p: FoldingRangeParams) -> R {
    let doc = s.docs.get(&p.text_document.uri)?;
    let parsed = doc.comp.parsed.get(doc.comp.root.0 as usize);
    let syms = parsed
        .map(|p| analysis::symbols(&p.ast))
        .unwrap_or_default();
    let ranges: Vec<FoldingRange> = analysis::flatten(&syms)
        .into_iter()
        .map(|s| doc.range(s.span))
        .filter(|r| r.end.line > r.start.line)
        .map(|r| FoldingRange {
            start_line: r.start.line,
            end_line: r.end.line,
            ..Default::default()
        })
        .collect();
    ok(ranges)
}

/// The legend: indexes are [`token_type`]'s answers.
const TOKEN_TYPES: [SemanticTokenType; 6] = [
    SemanticTokenType::KEYWORD,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::OPERATOR,
];

fn token_type(c: analysis::TokenClass) -> u32 {
    use analysis::TokenClass::*;
    match c {
        Keyword => 0,
        Name => 1,
        String => 2,
        Number => 3,
        Comment => 4,
        Operator => 5,
    }
}

/// Highlighting from the lexer, in the protocol's relative encoding (line
/// and UTF-16 column deltas). A token spanning lines is left out: clients
/// are not required to support those.
fn semantic_tokens(s: &mut Server, p: SemanticTokensParams) -> R {
    let doc = s.docs.get(&p.text_document.uri)?;
    let (mut line, mut col) = (0, 0);
    let mut data = Vec::new();
    for (start, end, class) in analysis::semantic_tokens(&doc.text) {
        let r = doc.range(Span::new(doc.comp.root, start as usize, end as usize));
        if r.start.line != r.end.line || r.end.character == r.start.character {
            continue;
        }
        let delta_line = r.start.line - line;
        let delta_start = if delta_line == 0 {
            r.start.character - col
        } else {
            r.start.character
        };
        data.push(SemanticToken {
            delta_line,
            delta_start,
            length: r.end.character - r.start.character,
            token_type: token_type(class),
            token_modifiers_bitset: 0,
        });
        (line, col) = (r.start.line, r.start.character);
    }
    ok(SemanticTokens {
        result_id: None,
        data,
    })
}

fn formatting(s: &mut Server, p: DocumentFormattingParams) -> R {
    let doc = s.docs.get(&p.text_document.uri)?;
    if doc.read_only {
        return ok(Vec::<TextEdit>::new());
    }
    match agentpol_core::format::format_source(doc.comp.root, &doc.text) {
        Ok(formatted) if formatted == doc.text => ok(Vec::<TextEdit>::new()),
        Ok(formatted) => {
            let whole = doc.range(Span::new(doc.comp.root, 0, doc.text.len()));
            ok(vec![TextEdit::new(whole, formatted)])
        }
        Err(diags) => Err(Error::Failed(format!(
            "not formatted: the file has {} syntax error(s)",
            diags.len()
        ))),
    }
}

fn completion(s: &mut Server, p: CompletionParams) -> R {
    let (doc, off) = at(s, &p.text_document_position)?;
    let items: Vec<CompletionItem> = analysis::completions(&doc.comp, doc.comp.root, off)
        .into_iter()
        .map(|c| {
            let (kind, detail) = match c.kind {
                CompletionKind::Keyword => (CompletionItemKind::KEYWORD, "keyword"),
                CompletionKind::Module => (CompletionItemKind::MODULE, "module"),
                CompletionKind::Name(k) => (CompletionItemKind::VALUE, k.keyword()),
            };
            CompletionItem {
                label: c.label,
                kind: Some(kind),
                detail: Some(detail.into()),
                ..Default::default()
            }
        })
        .collect();
    ok(CompletionResponse::Array(items))
}

/// The name in a checker help line `did you mean `NAME`?...`.
fn suggestion(help: &str) -> Option<&str> {
    let rest = help.strip_prefix("did you mean `")?;
    let end = rest.find('`')?;
    rest.get(..end)
}

fn code_action(s: &mut Server, p: CodeActionParams) -> R {
    let findings = s
        .findings
        .lock()
        .ok()
        .and_then(|f| f.get(p.text_document.uri.as_str()).map(|(_, d)| d.clone()))
        .unwrap_or_default();
    let doc = s.docs.get(&p.text_document.uri)?;
    let start = doc.offset(p.range.start)?;
    let end = doc.offset(p.range.end)?;
    let touches = |sp: Span| sp.file == doc.comp.root && sp.start <= end && start <= sp.end;
    let mut actions = Vec::new();
    for d in doc
        .comp
        .diagnostics
        .iter()
        .filter(|d| touches(d.primary.span))
    {
        let Some(name) = suggestion(&d.help) else {
            continue;
        };
        let edit = TextEdit::new(doc.range(d.primary.span), name.to_string());
        actions.push(action(doc, format!("Replace with `{name}`"), edit));
    }
    let removable = [
        agentpol_verify::FindingKind::Redundant.code().code,
        agentpol_verify::FindingKind::Overridden.code().code,
        agentpol_verify::FindingKind::Vacuous.code().code,
    ];
    for d in findings.iter().filter(|d| touches(d.primary.span)) {
        if !removable.contains(&d.code.code) {
            continue;
        }
        let edit = TextEdit::new(whole_lines(doc, d.primary.span), String::new());
        actions.push(action(
            doc,
            format!("Remove this rule ({})", d.code.code),
            edit,
        ));
    }
    ok(actions)
}

/// The lines `span` covers, with their line break, so removing them leaves
/// no blank line behind.
fn whole_lines(doc: &Doc, span: Span) -> Range {
    let r = doc.range(span);
    Range::new(
        Position::new(r.start.line, 0),
        Position::new(r.end.line + 1, 0),
    )
}

// lsp-types keys `WorkspaceEdit::changes` by `Uri`, whose cached parse
// clippy counts as interior mutability; the keys are never mutated here.
#[allow(clippy::mutable_key_type)]
fn action(doc: &Doc, title: String, edit: TextEdit) -> CodeActionOrCommand {
    let mut changes = HashMap::new();
    changes.insert(doc.uri.clone(), vec![edit]);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        edit: Some(WorkspaceEdit::new(changes)),
        ..Default::default()
    })
}

/// `agentpol/stdSource {uri}`: the text of a read-only std document, for
/// clients that cannot open `agentpol-std:` URIs by themselves.
fn std_source(p: TextDocumentIdentifier) -> R {
    match crate::uri::std_source(p.uri.as_str()) {
        Some((_, text)) => ok(text),
        None => Err(Error::Params(format!(
            "not a std document: {}",
            p.uri.as_str()
        ))),
    }
}
