//! Module loading, name resolution, type checking and lowering to the IR.
//!
//! Architecture invariant: this is the only place that builds [`ir::Policy`]
//! values; everything downstream reads them.

use crate::diag::Diag;
use crate::ir;
use crate::source::{Loader, SourceMap};
use crate::span::{FileId, Span};

/// A use of a name and the definition it resolved to (for the LSP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Where the name is used.
    pub use_span: Span,
    /// Where it is defined.
    pub def_span: Span,
    /// The name as written.
    pub name: String,
}

/// Everything one compilation produced.
#[derive(Clone, Debug)]
pub struct Compilation {
    /// Every file loaded (the root first, then imports).
    pub sources: SourceMap,
    /// The root file.
    pub root: FileId,
    /// The checked IR; `None` when there are errors.
    pub policy: Option<ir::Policy>,
    /// All diagnostics, errors and warnings, in a stable order.
    pub diagnostics: Vec<Diag>,
    /// Name uses and their definitions.
    pub references: Vec<Reference>,
}

impl Compilation {
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diag::is_error)
    }
}

/// Compiles the root file `root_name` with text `root_text`; imports go through `loader`.
pub fn compile(root_name: &str, root_text: &str, loader: &dyn Loader) -> Compilation {
    let _ = loader;
    let mut sources = SourceMap::new();
    let root = sources.add(root_name, root_text);
    Compilation {
        sources,
        root,
        policy: None,
        diagnostics: Vec::new(),
        references: Vec::new(),
    }
}
