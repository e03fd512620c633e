//! Printing diagnostics: human (miette), JSON and SARIF 2.1.0.

use agentpol_core::diag::{self, Diag, Severity};
use agentpol_core::source::SourceMap;
use serde_json::Value;
use std::io::IsTerminal;

impl From<Format> for crate::cmd::multi::Shape {
    fn from(f: Format) -> Self {
        match f {
            Format::Human => Self::Human,
            Format::Json => Self::Json,
            Format::Sarif => Self::Sarif,
        }
    }
}

/// Version of every JSON document agentpolc prints (`format_version` field);
/// raised when a field changes meaning or disappears.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// How diagnostics and results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Rendered reports for people (colour on a terminal).
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
    /// A SARIF 2.1.0 log on stdout (for code-scanning tools).
    Sarif,
}

/// The lowest severity to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Level {
    /// Everything, including informational findings.
    Info,
    /// Warnings and errors.
    #[default]
    Warning,
    /// Errors only.
    Error,
}

impl Level {
    /// True if a diagnostic of `severity` is shown at this level.
    pub fn shows(self, severity: Severity) -> bool {
        match self {
            Level::Info => true,
            Level::Warning => severity >= Severity::Warning,
            Level::Error => severity >= Severity::Error,
        }
    }
}

/// Counts of shown diagnostics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Infos.
    pub infos: usize,
}

/// Counts diagnostics by severity.
pub fn count(diags: &[Diag]) -> Counts {
    let mut c = Counts::default();
    for d in diags {
        match d.severity {
            Severity::Error => c.errors += 1,
            Severity::Warning => c.warnings += 1,
            Severity::Info => c.infos += 1,
        }
    }
    c
}

/// Renders diagnostics for people to stderr.
pub fn print_human(diags: &[Diag], sources: &SourceMap, level: Level) {
    let color = std::io::stderr().is_terminal();
    for d in diags.iter().filter(|d| level.shows(d.severity)) {
        eprint!("{}", diag::render_human(d, sources, color, 100));
    }
}

/// The JSON array of diagnostics.
pub fn json_diagnostics(diags: &[Diag], sources: &SourceMap, level: Level) -> Value {
    Value::Array(
        diags
            .iter()
            .filter(|d| level.shows(d.severity))
            .filter_map(|d| serde_json::to_value(diag::to_json(d, sources)).ok())
            .collect(),
    )
}

/// A SARIF 2.1.0 log with one run of agentpolc (see [`crate::sarif`]).
pub fn sarif(diags: &[Diag], sources: &SourceMap, level: Level) -> Value {
    let shown: Vec<&Diag> = diags.iter().filter(|d| level.shows(d.severity)).collect();
    crate::sarif::log(&shown, sources)
}

/// Prints diagnostics in `format`; for JSON, `extra` fields are merged into the document.
pub fn emit(
    diags: &[Diag],
    sources: &SourceMap,
    format: Format,
    level: Level,
    extra: serde_json::Map<String, Value>,
) {
    match format {
        Format::Human => print_human(diags, sources, level),
        Format::Json => {
            let c = count(diags);
            let mut doc = serde_json::Map::new();
            doc.insert("format_version".into(), JSON_FORMAT_VERSION.into());
            doc.insert(
                "diagnostics".into(),
                json_diagnostics(diags, sources, level),
            );
            doc.insert("errors".into(), c.errors.into());
            doc.insert("warnings".into(), c.warnings.into());
            doc.extend(extra);
            println!("{}", Value::Object(doc));
        }
        Format::Sarif => println!("{}", sarif(diags, sources, level)),
    }
}
