//! Diagnostics: every user-facing message of the compiler.
//!
//! A [`Diag`] is plain data (code, severity, message, labelled spans, help), so
//! the same value renders as a miette report, JSON, SARIF or an LSP diagnostic.
//! Each kind of diagnostic has a stable code (`AP0101`) registered in a
//! [`CodeInfo`] table; `agentpolc explain AP0101` prints its long form and
//! `lang-spec/diagnostics.md` lists them all. Codes are never reused.
//!
//! Code ranges: `AP00xx` syntax, `AP01xx` names and modules, `AP02xx` types and
//! effects, `AP03xx` literals (paths, globs, addresses, ports, domains, URLs),
//! `AP04xx` policy structure (skills, rules, tests), `AP05xx` verifier,
//! `AP06xx` Cedar backend, `AP07xx` firewall backend, `AP08xx` requests and
//! decisions, `AP09xx` CLI, IO and internal errors.

mod codes_check;
mod codes_eval;
mod codes_syntax;
mod render;
pub mod suppress;

pub use render::{json_location, render_human, to_json, JsonDiagnostic, JsonLocation};

use crate::span::Span;
use serde::Serialize;

/// The registry entry of one diagnostic code.
#[derive(Debug, PartialEq, Eq)]
pub struct CodeInfo {
    /// The stable code, e.g. `AP0101`.
    pub code: &'static str,
    /// A short kebab-case name, e.g. `undefined-name`.
    pub name: &'static str,
    /// One line saying what went wrong.
    pub summary: &'static str,
    /// The long form printed by `agentpolc explain`: why it is an error and how to fix it,
    /// with an example.
    pub explanation: &'static str,
}

/// Declares diagnostic codes as `pub static` [`CodeInfo`] items plus a list of them
/// (`list NAME;` first), so other crates can register their own ranges.
#[macro_export]
macro_rules! diagnostic_codes {
    (list $all:ident; $( $ident:ident = $code:literal, $name:literal, $summary:literal, $explanation:expr; )*) => {
        $(
            #[doc = $summary]
            pub static $ident: $crate::diag::CodeInfo = $crate::diag::CodeInfo {
                code: $code,
                name: $name,
                summary: $summary,
                explanation: $explanation,
            };
        )*
        /// Every code declared in this module, in declaration order.
        pub static $all: &[&$crate::diag::CodeInfo] = &[$(&$ident),*];
    };
}

/// Codes of the language core, by area.
pub mod codes {
    pub use super::codes_check::*;
    pub use super::codes_eval::*;
    pub use super::codes_syntax::*;

    /// Every code the language core can emit.
    pub fn all() -> impl Iterator<Item = &'static super::CodeInfo> {
        super::codes_syntax::SYNTAX_CODES
            .iter()
            .chain(super::codes_check::CHECK_CODES)
            .chain(super::codes_eval::EVAL_CODES)
            .copied()
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Shown only when asked for (`--level info`).
    Info,
    /// Worth fixing; does not fail `check` or `build`.
    Warning,
    /// The policy is rejected.
    Error,
}

/// A span with a message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What about it.
    pub message: String,
}

/// One diagnostic.
#[derive(Clone, Debug)]
pub struct Diag {
    /// The registered code.
    pub code: &'static CodeInfo,
    /// Error, warning or info.
    pub severity: Severity,
    /// The headline, specific to this occurrence.
    pub message: String,
    /// The main labelled span.
    pub primary: Label,
    /// Further labelled spans (possibly in other files).
    pub secondary: Vec<Label>,
    /// What to do about it. Every diagnostic has one.
    pub help: String,
    /// Extra free-form notes.
    pub notes: Vec<String>,
    /// Structured facts for machines (the verifier's witness request, the
    /// rule ids): shown in JSON and as SARIF property bags, never rendered
    /// for people (the notes say the same in words).
    pub properties: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Diag {
    fn new(
        code: &'static CodeInfo,
        severity: Severity,
        span: Span,
        message: impl Into<String>,
    ) -> Diag {
        Diag {
            code,
            severity,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: code.summary.to_string(),
            notes: Vec::new(),
            properties: Default::default(),
        }
    }

    /// An error at `span`. Set a label and a help line with the builder methods.
    pub fn error(code: &'static CodeInfo, span: Span, message: impl Into<String>) -> Diag {
        Diag::new(code, Severity::Error, span, message)
    }

    /// A warning at `span`.
    pub fn warning(code: &'static CodeInfo, span: Span, message: impl Into<String>) -> Diag {
        Diag::new(code, Severity::Warning, span, message)
    }

    /// An informational finding at `span`.
    pub fn info(code: &'static CodeInfo, span: Span, message: impl Into<String>) -> Diag {
        Diag::new(code, Severity::Info, span, message)
    }

    /// Sets the primary label's message.
    pub fn label(mut self, message: impl Into<String>) -> Diag {
        self.primary.message = message.into();
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diag {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = help.into();
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Diag {
        self.notes.push(note.into());
        self
    }

    /// Sets a machine-readable property.
    pub fn property(mut self, key: &str, value: serde_json::Value) -> Diag {
        self.properties.insert(key.to_owned(), value);
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Looks a code up in the core registry (`AP0101` or `ap0101`).
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    codes::all().find(|c| c.code.eq_ignore_ascii_case(code))
}
