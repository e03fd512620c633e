//! Compiler and verifier diagnostics as LSP diagnostics, and the background
//! verifier.
//!
//! The verifier (Z3) can take seconds, so it runs on one worker thread after
//! a debounce. It cannot be interrupted mid-query; "cancelled by a newer
//! edit" means: jobs queued during the debounce are replaced by the newest
//! one, and a result whose document version is no longer current is dropped
//! instead of published.

use crate::docs::Doc;
use agentpol_core::diag::{Diag, Severity};
use agentpol_core::ir::Policy;
use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Message, Notification};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, NumberOrString, PublishDiagnosticsParams,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The LSP diagnostics for the root file of `doc`: `diags` (the compiler's,
/// plus the verifier's once `verified`) whose primary span is in the root
/// file, after the source's `#[allow(…)]` comments. Backend codes (AP06xx,
/// AP07xx, AP09xx) are not registered in this crate, so a pragma naming one
/// is taken as known and never judged unused here.
pub fn to_lsp(doc: &Doc, diags: Vec<Diag>, verified: bool) -> Vec<lsp_types::Diagnostic> {
    let known = |c: &str| {
        agentpol_core::diag::lookup(c).is_some()
            || agentpol_verify::codes::VERIFY_CODES
                .iter()
                .any(|k| k.code == c)
            || ["AP06", "AP07", "AP09"].iter().any(|p| c.starts_with(p))
    };
    let ran = |c: &str| match c.get(..4) {
        Some("AP05") => verified,
        Some("AP06" | "AP07" | "AP08" | "AP09") => false,
        _ => true,
    };
    agentpol_core::diag::suppress::apply(diags, &doc.comp.pragmas, &known, &ran)
        .iter()
        .filter(|d| d.primary.span.file == doc.comp.root)
        .map(|d| convert(doc, d))
        .collect()
}

fn convert(doc: &Doc, d: &Diag) -> lsp_types::Diagnostic {
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        _ => DiagnosticSeverity::INFORMATION,
    };
    let mut message = d.message.clone();
    if !d.primary.message.is_empty() {
        message.push_str(&format!("\n{}", d.primary.message));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    if !d.help.is_empty() {
        message.push_str(&format!("\nhelp: {}", d.help));
    }
    let related = d
        .secondary
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: doc.location(l.span)?,
                message: l.message.clone(),
            })
        })
        .collect::<Vec<_>>();
    lsp_types::Diagnostic {
        range: doc.range(d.primary.span),
        severity: Some(severity),
        code: Some(NumberOrString::String(d.code.code.to_string())),
        source: Some("agentpol".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// The publishDiagnostics notification for `doc`.
pub fn publish(doc: &Doc, diagnostics: Vec<lsp_types::Diagnostic>) -> Message {
    Notification::new(
        "textDocument/publishDiagnostics".into(),
        PublishDiagnosticsParams {
            uri: doc.uri.clone(),
            diagnostics,
            version: Some(doc.version),
        },
    )
    .into()
}

/// One verifier run to do.
pub struct Job {
    /// The document (`Uri::as_str()`).
    pub uri: String,
    /// Its version when the job was made.
    pub version: i32,
    /// The checked policy.
    pub policy: Policy,
}

/// Verifier results per document, with the version they are for.
pub type Findings = Arc<Mutex<HashMap<String, (i32, Vec<Diag>)>>>;

/// What the worker reports back to the main loop (which owns the documents
/// and drops the result if the document's version moved on).
pub struct Done {
    /// The document.
    pub uri: String,
    /// The version verified.
    pub version: i32,
}

/// Starts the verifier thread. Jobs go in on the returned sender; each
/// finished job stores its diagnostics in `findings` and sends a [`Done`]
/// through `done`.
pub fn spawn_verifier(debounce: Duration, findings: Findings, done: Sender<Done>) -> Sender<Job> {
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    std::thread::spawn(move || verifier_loop(rx, debounce, findings, done));
    tx
}

fn verifier_loop(rx: Receiver<Job>, debounce: Duration, findings: Findings, done: Sender<Done>) {
    while let Ok(first) = rx.recv() {
        let mut latest: HashMap<String, Job> = HashMap::new();
        latest.insert(first.uri.clone(), first);
        // Debounce: keep taking newer jobs until the editor is quiet.
        while let Ok(j) = rx.recv_timeout(debounce) {
            latest.insert(j.uri.clone(), j);
        }
        for (_, job) in latest {
            let opts = agentpol_verify::Options {
                threads: 1,
                ..Default::default()
            };
            let report = agentpol_verify::verify(&job.policy, &opts);
            if let Ok(mut f) = findings.lock() {
                f.insert(job.uri.clone(), (job.version, report.diagnostics()));
            }
            if done
                .send(Done {
                    uri: job.uri,
                    version: job.version,
                })
                .is_err()
            {
                return;
            }
        }
    }
}
