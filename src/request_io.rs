//! Reading requests from files or stdin, and reporting bad requests as diagnostics.

use agentpol_core::diag::{CodeInfo, Diag};
use agentpol_core::eval::RequestError;
use agentpol_core::request::Request;
use agentpol_core::source::SourceMap;
use agentpol_core::span::Span;

/// A request error as a diagnostic over the request's own text: the span is the
/// offending field's key (found by its JSON pointer), or the whole text.
pub fn request_error_diag(err: &RequestError, name: &str, text: &str) -> (Diag, SourceMap) {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    let key = err.field.rsplit('/').next().unwrap_or("");
    let span = if key.is_empty() {
        Span::new(file, 0, text.len())
    } else {
        let needle = format!("\"{key}\"");
        match text.find(&needle) {
            Some(i) => Span::new(file, i, i + needle.len()),
            None => Span::new(file, 0, text.len()),
        }
    };
    let code: &'static CodeInfo = err.code;
    let field = if err.field.is_empty() {
        "/"
    } else {
        err.field.as_str()
    };
    let diag = Diag::error(code, span, err.message.clone())
        .label(format!("field {field}"))
        .help(err.help.clone())
        .note("the decision for a request that cannot be read is deny (fail closed)");
    (diag, sources)
}

/// Parses one request from JSON text.
pub fn parse(text: &str) -> Result<Request, RequestError> {
    agentpol_core::eval::parse_request(text)
}
