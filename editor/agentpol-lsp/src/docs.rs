//! Open documents and their compilations.
//!
//! Each change recompiles the whole file (parse + check of a 5,000-line file
//! is a few milliseconds; see the `didchange` bench), so there is no
//! incremental state to keep consistent.

use crate::position;
use agentpol_core::source::LineIndex;
use agentpol_core::source::Loader;
use agentpol_core::span::{FileId, Span};
use agentpol_core::Compilation;
use lsp_types::{Location, Range, Uri};
use std::collections::HashMap;

/// One open document.
pub struct Doc {
    /// Its URI.
    pub uri: Uri,
    /// The root name passed to the compiler (the file path, or the URI for
    /// documents that are not files).
    pub name: String,
    /// The text as the client last sent it.
    pub text: String,
    /// The client's version.
    pub version: i32,
    /// Read-only (a std module).
    pub read_only: bool,
    /// The compilation of `text`.
    pub comp: Compilation,
}

/// All open documents by URI string.
#[derive(Default)]
pub struct Docs {
    /// Documents by `Uri::as_str()`.
    pub open: HashMap<String, Doc>,
}

/// Imports resolved against open documents first, then the file system
/// (the editor's unsaved text wins).
struct EditorLoader<'a> {
    open: &'a HashMap<String, Doc>,
}

impl Loader for EditorLoader<'_> {
    fn load_file(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let base = std::path::Path::new(from)
            .parent()
            .unwrap_or(std::path::Path::new(""));
        let full = base.join(path);
        let name = full.to_string_lossy().into_owned();
        if let Some(d) = self.open.values().find(|d| d.name == name) {
            return Ok((name, d.text.clone()));
        }
        std::fs::read_to_string(&full)
            .map(|t| (name.clone(), t))
            .map_err(|e| format!("cannot read {name}: {e}"))
    }
}

impl Docs {
    /// Compiles `text` as the document `name`.
    pub fn compile(&self, name: &str, text: &str) -> Compilation {
        agentpol_core::compile(name, text, &EditorLoader { open: &self.open })
    }

    /// Opens or replaces a document and compiles it.
    pub fn set(&mut self, uri: Uri, text: String, version: i32) {
        let (name, read_only) = match crate::uri::to_path(uri.as_str()) {
            Some(p) => (p, false),
            None => match crate::uri::std_source(uri.as_str()) {
                Some((display, _)) => (display.to_string(), true),
                None => (uri.as_str().to_string(), false),
            },
        };
        let comp = self.compile(&name, &text);
        self.open.insert(
            uri.as_str().to_string(),
            Doc {
                uri,
                name,
                text,
                version,
                read_only,
                comp,
            },
        );
    }

    /// The document at `uri`: an open one, or a std module opened on demand
    /// (read-only). Errors say why there is none.
    pub fn get(&mut self, uri: &Uri) -> Result<&Doc, String> {
        if !self.open.contains_key(uri.as_str()) {
            let Some((_, text)) = crate::uri::std_source(uri.as_str()) else {
                return Err(format!("document not open: {}", uri.as_str()));
            };
            self.set(uri.clone(), text.to_string(), 0);
        }
        self.open
            .get(uri.as_str())
            .ok_or_else(|| format!("document not open: {}", uri.as_str()))
    }
}

impl Doc {
    /// The byte offset of an LSP position in this document.
    pub fn offset(&self, pos: lsp_types::Position) -> Result<u32, String> {
        match self.comp.sources.get(self.comp.root) {
            Some(f) if f.text == self.text => position::offset(f.lines(), pos),
            _ => position::offset(&LineIndex::new(&self.text), pos),
        }
    }

    /// The URI of a file of this compilation: the document itself, a std
    /// virtual document, or an imported file.
    pub fn file_uri(&self, file: FileId) -> Option<Uri> {
        if file == self.comp.root {
            return Some(self.uri.clone());
        }
        let name = &self.comp.sources.get(file)?.name;
        crate::uri::std_uri(name).or_else(|| crate::uri::from_path(name))
    }

    /// The LSP range of a span in any file of this compilation.
    pub fn range(&self, span: Span) -> Range {
        match self.comp.sources.get(span.file) {
            Some(f) => Range::new(
                position::position(f.lines(), span.start),
                position::position(f.lines(), span.end),
            ),
            None => Range::default(),
        }
    }

    /// The LSP location of a span.
    pub fn location(&self, span: Span) -> Option<Location> {
        Some(Location::new(self.file_uri(span.file)?, self.range(span)))
    }
}
