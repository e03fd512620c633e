//! The result type shared by the literal validators.
//!
//! Validators are plain functions over text so that they can be unit-tested
//! without the parser; the caller turns a [`LitError`] into a [`Diag`] at the
//! literal's span.

use crate::diag::{CodeInfo, Diag};
use crate::span::Span;

/// Why a literal is invalid (or, for warnings, questionable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LitError {
    /// The diagnostic code.
    pub code: &'static CodeInfo,
    /// The headline.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl LitError {
    /// A finding with `code`.
    pub fn new(
        code: &'static CodeInfo,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        LitError {
            code,
            message: message.into(),
            help: help.into(),
        }
    }

    /// The error as a diagnostic at `span`.
    pub fn error_at(self, span: Span) -> Diag {
        Diag::error(self.code, span, self.message)
            .label("here")
            .help(self.help)
    }

    /// The finding as a warning at `span`.
    pub fn warning_at(self, span: Span) -> Diag {
        Diag::warning(self.code, span, self.message)
            .label("here")
            .help(self.help)
    }
}
