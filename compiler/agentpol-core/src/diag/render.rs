//! Rendering [`Diag`]s: miette reports for people, JSON for tools.

use super::{Diag, Severity};
use crate::source::SourceMap;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use std::fmt;

/// Labels spanning this many lines or more are shown by their first line only.
const MAX_LABEL_LINES: usize = 6;

/// A [`Diag`] bound to its primary file's text, as miette wants it.
struct View<'a> {
    diag: &'a Diag,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    help: String,
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View").field("diag", self.diag).finish()
    }
}

impl fmt::Display for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for View<'_> {}

impl Diagnostic for View<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.help))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn view<'a>(diag: &'a Diag, sources: &SourceMap) -> View<'a> {
    let file = sources.get(diag.primary.span.file);
    let (name, text) = file
        .map(|f| (f.name.clone(), f.text.clone()))
        .unwrap_or_else(|| ("<unknown>".into(), String::new()));
    let clamp = |s: crate::span::Span| {
        let start = (s.start as usize).min(text.len());
        let mut end = (s.end as usize).clamp(start, text.len());
        // A label over a whole block (an agent, a skill) would print the
        // block; its first line says which one. JSON and SARIF keep the range.
        let body = text.get(start..end).unwrap_or("");
        if body.matches('\n').count() >= MAX_LABEL_LINES {
            end = start + body.find('\n').unwrap_or(body.len());
        }
        (start, end - start)
    };
    let mut labels = Vec::new();
    let (o, l) = clamp(diag.primary.span);
    let msg = (!diag.primary.message.is_empty()).then(|| diag.primary.message.clone());
    labels.push(LabeledSpan::new_primary_with_span(msg, (o, l)));
    // Labels in other files cannot share this snippet; they become notes below the help.
    let mut elsewhere = Vec::new();
    for label in &diag.secondary {
        if label.span.file == diag.primary.span.file {
            let (o, l) = clamp(label.span);
            labels.push(LabeledSpan::new_with_span(
                Some(label.message.clone()),
                (o, l),
            ));
        } else if let Some(f) = sources.get(label.span.file) {
            let (line, col) = f.line_col(label.span.start);
            elsewhere.push(format!("{}:{line}:{col}: {}", f.name, label.message));
        }
    }
    let mut help = diag.help.clone();
    for note in diag.notes.iter().chain(&elsewhere) {
        help.push_str("\nnote: ");
        help.push_str(note);
    }
    View {
        diag,
        source: NamedSource::new(name, text),
        labels,
        help,
    }
}

/// Renders a diagnostic as a miette report. `color` picks the ANSI theme;
/// snapshot tests use `false` and a fixed `width`.
pub fn render_human(diag: &Diag, sources: &SourceMap, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut out = String::new();
    let v = view(diag, sources);
    if handler.render_report(&mut out, &v).is_err() {
        out = format!("{}: {}\n", diag.code.code, diag.message);
    }
    out
}

/// A position in a file, 1-based.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct JsonLocation {
    /// File display name.
    pub file: String,
    /// Start line (1-based).
    pub line: u32,
    /// Start column in characters (1-based).
    pub column: u32,
    /// End line.
    pub end_line: u32,
    /// End column (exclusive).
    pub end_column: u32,
    /// Byte offsets `[start, end)`.
    pub bytes: [u32; 2],
    /// The label's message (may be empty).
    pub message: String,
}

/// The JSON form of a diagnostic (`--format json`), stable across releases.
#[derive(Clone, Debug, Serialize)]
pub struct JsonDiagnostic {
    /// `AP0101`.
    pub code: &'static str,
    /// `undefined-name`.
    pub name: &'static str,
    /// error, warning or info.
    pub severity: Severity,
    /// Headline.
    pub message: String,
    /// Primary location.
    pub location: JsonLocation,
    /// Secondary locations.
    pub related: Vec<JsonLocation>,
    /// Help line.
    pub help: String,
    /// Notes.
    pub notes: Vec<String>,
    /// Machine-readable facts (see [`Diag::properties`]); omitted when empty.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub properties: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The JSON location of a label.
pub fn json_location(sources: &SourceMap, label: &super::Label) -> JsonLocation {
    let (file, (line, column), (end_line, end_column)) = match sources.get(label.span.file) {
        Some(f) => (
            f.name.clone(),
            f.line_col(label.span.start),
            f.line_col(label.span.end),
        ),
        None => ("<unknown>".into(), (0, 0), (0, 0)),
    };
    JsonLocation {
        file,
        line,
        column,
        end_line,
        end_column,
        bytes: [label.span.start, label.span.end],
        message: label.message.clone(),
    }
}

/// Converts a diagnostic to its JSON form.
pub fn to_json(diag: &Diag, sources: &SourceMap) -> JsonDiagnostic {
    JsonDiagnostic {
        code: diag.code.code,
        name: diag.code.name,
        severity: diag.severity,
        message: diag.message.clone(),
        location: json_location(sources, &diag.primary),
        related: diag
            .secondary
            .iter()
            .map(|l| json_location(sources, l))
            .collect(),
        help: diag.help.clone(),
        notes: diag.notes.clone(),
        properties: diag.properties.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::codes::UNDEFINED_NAME;
    use crate::span::Span;

    #[test]
    fn a_label_over_a_long_block_shows_its_first_line() {
        let text: String = (0..10).map(|i| format!("line {i}\n")).collect();
        let mut sources = SourceMap::new();
        let file = sources.add("f.agentpol", text.clone());
        let whole = Span::new(file, 0, text.len() - 1);
        let d = Diag::warning(&UNDEFINED_NAME, whole, "m").label("this block");
        let out = render_human(&d, &sources, false, 100);
        assert!(out.contains("line 0"), "{out}");
        assert!(!out.contains("line 7"), "{out}");
        let short = Span::new(file, 0, "line 0\nline 1\nline 2".len());
        let d = Diag::warning(&UNDEFINED_NAME, short, "m").label("three lines");
        assert!(render_human(&d, &sources, false, 100).contains("line 2"));
    }
}
