//! Source files and how modules are found.
//!
//! Architecture invariant: the compiler does no IO. The caller hands it a
//! [`Loader`] that maps import requests to text; the `agentpolc` binary
//! implements it over the file system, tests implement it over a map. The
//! standard library (`stdlib-policies/`) is compiled into this crate, so `std::`
//! imports resolve identically everywhere.

use crate::span::{FileId, Span};
use sha2::{Digest, Sha256};

mod line_index;
pub use line_index::{LineCol, LineIndex, PositionError};

/// One loaded source file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Its id in the [`SourceMap`].
    pub id: FileId,
    /// Display name: a path as the user wrote it, or `std/secrets.agentpol`.
    pub name: String,
    /// The full text (not to be changed once added: [`Self::lines`] indexes it).
    pub text: String,
    /// Its line index, built once when the file is added.
    lines: LineIndex,
}

impl SourceFile {
    /// A file with its line index.
    pub fn new(id: FileId, name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        SourceFile {
            id,
            name: name.into(),
            lines: LineIndex::new(&text),
            text,
        }
    }

    /// 1-based line and column (in characters) of a byte offset, as
    /// diagnostics and the IR show them. O(log n): see [`LineIndex`].
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        self.lines.display_line_col(offset)
    }

    /// The file's line index (all three column units, and editor positions
    /// back to offsets).
    pub fn lines(&self) -> &LineIndex {
        &self.lines
    }

    /// Hex SHA-256 of the text (recorded in the IR and the build manifest).
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(self.text.as_bytes()))
    }

    /// The text a span covers (empty if out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// All files loaded during one compilation, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile::new(id, name, text));
        id
    }

    /// The file with this id, if any.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// All files in load order.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The file already loaded under `name`, if any.
    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files.iter().find(|f| f.name == name).map(|f| f.id)
    }
}

/// Supplies module text to the compiler.
pub trait Loader {
    /// Loads a relative file import. Returns `(display name, text)` or an
    /// error message for the diagnostic.
    fn load_file(&self, from: &str, path: &str) -> Result<(String, String), String>;
}

/// A loader that refuses every file import (only `std::` modules resolve).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFiles;

impl Loader for NoFiles {
    fn load_file(&self, _from: &str, path: &str) -> Result<(String, String), String> {
        Err(format!(
            "file imports are not available here (asked for {path:?})"
        ))
    }
}

/// A loader over an in-memory map of `name -> text`, for tests and the LSP.
#[derive(Clone, Debug, Default)]
pub struct MemoryLoader {
    /// Files by display name; a relative import `p` from `dir/x.agentpol` looks up `dir/p`.
    pub files: std::collections::BTreeMap<String, String>,
}

impl Loader for MemoryLoader {
    fn load_file(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let dir = from.rfind('/').map(|i| &from[..=i]).unwrap_or("");
        let name = format!("{dir}{path}");
        self.files
            .get(&name)
            .map(|t| (name.clone(), t.clone()))
            .ok_or_else(|| format!("no such file: {name}"))
    }
}
