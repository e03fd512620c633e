//! The agentpol language server: LSP over stdio, started as `agentpolc lsp`.
//!
//! A thin protocol layer: every answer comes from `agentpol_core::analysis`
//! (definitions, references, hover facts, outline, completions), the checker's
//! diagnostics, the core formatter and the verifier. Only this crate knows
//! LSP/JSON-RPC (`lsp-server` for framing and the initialize handshake,
//! `lsp-types` for messages).
//!
//! Architecture invariant: no request may panic or hang the server. Bad
//! input (unknown documents, invalid positions, malformed params) becomes an
//! LSP error response.

mod diagnostics;
mod docs;
mod handlers;
mod position;
mod uri;

use crossbeam_channel::select;
use diagnostics::{Done, Findings, Job};
use docs::Docs;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _,
};
use std::time::Duration;

pub use uri::STD_SCHEME;

/// Server settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Quiet time after the last edit before the verifier runs.
    pub debounce: Duration,
    /// Run the verifier at all.
    pub verify: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            debounce: Duration::from_millis(300),
            verify: true,
        }
    }
}

/// Serves one client over stdin/stdout until `exit`.
pub fn run_stdio(config: Config) -> Result<(), String> {
    let (conn, io) = Connection::stdio();
    serve(&conn, config)?;
    drop(conn);
    io.join().map_err(|e| e.to_string())
}

/// Serves one client on `conn` until `exit` (or the client hangs up).
pub fn serve(conn: &Connection, config: Config) -> Result<(), String> {
    let caps = serde_json::to_value(handlers::capabilities()).map_err(|e| e.to_string())?;
    conn.initialize(caps).map_err(|e| e.to_string())?;
    let findings: Findings = Default::default();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    let jobs = config
        .verify
        .then(|| diagnostics::spawn_verifier(config.debounce, findings.clone(), done_tx));
    let mut server = Server {
        docs: Docs::default(),
        findings,
        jobs,
        out: conn.sender.clone(),
    };
    loop {
        select! {
            recv(conn.receiver) -> msg => {
                let Ok(msg) = msg else { return Ok(()) };
                match msg {
                    Message::Request(req) => {
                        if conn.handle_shutdown(&req).map_err(|e| e.to_string())? {
                            return Ok(());
                        }
                        server.request(req);
                    }
                    Message::Notification(n) => server.notification(n),
                    Message::Response(_) => {}
                }
            }
            recv(done_rx) -> done => {
                if let Ok(done) = done {
                    server.verified(done);
                }
            }
        }
    }
}

/// The server's state; owned by the main loop.
pub(crate) struct Server {
    pub(crate) docs: Docs,
    pub(crate) findings: Findings,
    jobs: Option<crossbeam_channel::Sender<Job>>,
    out: crossbeam_channel::Sender<Message>,
}

impl Server {
    fn send(&self, m: Message) {
        // The client hung up: the main loop notices on its next receive.
        let _ = self.out.send(m);
    }

    fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let resp = match handlers::dispatch(self, &req.method, req.params) {
            Ok(v) => Response::new_ok(id, v),
            Err(handlers::Error::Method) => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("unsupported request: {}", req.method),
            ),
            Err(handlers::Error::Params(m)) => {
                Response::new_err(id, ErrorCode::InvalidParams as i32, m)
            }
            Err(handlers::Error::Failed(m)) => {
                Response::new_err(id, ErrorCode::RequestFailed as i32, m)
            }
        };
        self.send(resp.into());
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                {
                    let d = p.text_document;
                    self.changed(d.uri, d.text, d.version);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                {
                    // Full sync: the last change holds the whole text.
                    if let Some(c) = p.content_changes.into_iter().last() {
                        self.changed(p.text_document.uri, c.text, p.text_document.version);
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(n.params)
                {
                    let key = p.text_document.uri.as_str().to_string();
                    let current = self
                        .docs
                        .open
                        .get(&key)
                        .map(|d| (d.text.clone(), d.version));
                    if let Some((text, version)) = current {
                        // Imports may have changed on disk: recompile.
                        self.changed(p.text_document.uri, p.text.unwrap_or(text), version);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                {
                    let key = p.text_document.uri.as_str().to_string();
                    if let Some(doc) = self.docs.open.remove(&key) {
                        self.send(diagnostics::publish(&doc, Vec::new()));
                    }
                    if let Ok(mut f) = self.findings.lock() {
                        f.remove(&key);
                    }
                }
            }
            _ => {}
        }
    }

    /// A document's text changed: recompile, publish the checker's
    /// diagnostics now, and queue the verifier if the policy checked.
    fn changed(&mut self, uri: lsp_types::Uri, text: String, version: i32) {
        let key = uri.as_str().to_string();
        self.docs.set(uri, text, version);
        let Some(doc) = self.docs.open.get(&key) else {
            return;
        };
        if doc.read_only {
            return;
        }
        if let Ok(mut f) = self.findings.lock() {
            f.remove(&key);
        }
        let diags = diagnostics::to_lsp(doc, doc.comp.diagnostics.clone(), false);
        let msg = diagnostics::publish(doc, diags);
        let job = doc.comp.policy.clone().map(|policy| Job {
            uri: key,
            version,
            policy,
        });
        self.send(msg);
        if let (Some(jobs), Some(job)) = (&self.jobs, job) {
            let _ = jobs.send(job);
        }
    }

    /// The verifier finished a document: publish checker + verifier
    /// diagnostics, unless the document changed since.
    fn verified(&mut self, done: Done) {
        let Some(doc) = self.docs.open.get(&done.uri) else {
            return;
        };
        if doc.version != done.version {
            return;
        }
        let extra = self
            .findings
            .lock()
            .ok()
            .and_then(|f| f.get(&done.uri).map(|(_, d)| d.clone()))
            .unwrap_or_default();
        let mut all = doc.comp.diagnostics.clone();
        all.extend(extra);
        let diags = diagnostics::to_lsp(doc, all, true);
        let msg = diagnostics::publish(doc, diags);
        self.send(msg);
    }
}
