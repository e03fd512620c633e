//! Printing diagnostics: human (miette), JSON and SARIF 2.1.0.

use agentpol_core::diag::{self, Diag, Severity};
use agentpol_core::source::SourceMap;
use serde_json::{json, Value};
use std::io::IsTerminal;

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

/// A SARIF 2.1.0 log with one run of agentpolc.
pub fn sarif(diags: &[Diag], sources: &SourceMap, level: Level) -> Value {
    let shown: Vec<&Diag> = diags.iter().filter(|d| level.shows(d.severity)).collect();
    let mut rules: Vec<&'static diag::CodeInfo> = Vec::new();
    for d in &shown {
        if !rules.iter().any(|r| r.code == d.code.code) {
            rules.push(d.code);
        }
    }
    let rule_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.explanation },
                "helpUri": format!("https://github.com/agentpol/agentpol/blob/main/lang-spec/diagnostics.md#{}", r.code.to_lowercase()),
            })
        })
        .collect();
    let location = |label: &diag::Label| {
        let j = diag::json_location(sources, label);
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": j.file },
                "region": {
                    "startLine": j.line.max(1),
                    "startColumn": j.column.max(1),
                    "endLine": j.end_line.max(1),
                    "endColumn": j.end_column.max(1),
                }
            },
            "message": { "text": if label.message.is_empty() { "here".to_string() } else { label.message.clone() } }
        })
    };
    let results: Vec<Value> = shown
        .iter()
        .map(|d| {
            let rule_index = rules
                .iter()
                .position(|r| r.code == d.code.code)
                .unwrap_or(0);
            json!({
                "ruleId": d.code.code,
                "ruleIndex": rule_index,
                "level": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "note",
                },
                "message": { "text": format!("{}\nhelp: {}", d.message, d.help) },
                "locations": [location(&d.primary)],
                "relatedLocations": d.secondary.iter().map(location).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "agentpolc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/agentpol/agentpol",
                "rules": rule_json,
            }},
            "results": results,
        }]
    })
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
