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

/// One line of a `--stdin` batch.
pub enum Line {
    /// The line's text (without the newline).
    Text(String),
    /// A line that cannot be a request: not UTF-8, or longer than the
    /// request limit (then not kept in memory). Decided as a deny.
    Bad(RequestError),
}

/// Reads the next line of at most `max` bytes from `input`; `None` at the
/// end. Reads bytes, not `String` lines: one line that is not UTF-8 (or too
/// long) must become a deny for that line, not end the batch.
pub fn next_line(input: &mut impl std::io::BufRead, max: usize) -> std::io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let mut len = 0usize;
    let mut seen = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        seen = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        len = len.saturating_add(part.len());
        // Past the limit the bytes are counted and dropped, never stored.
        if len <= max {
            buf.extend_from_slice(part);
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !seen {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') && len <= max {
        buf.pop();
    }
    if len > max {
        return Ok(Some(Line::Bad(RequestError::new(
            &agentpol_core::diag::codes::REQUEST_TOO_LARGE,
            "",
            format!(
                "the request is too large: a line of {len} bytes, more than the limit of {max} bytes"
            ),
            "see lang-spec/requests.md, \"Limits\"; pass large data by reference (a path), not inline",
        ))));
    }
    Ok(Some(match String::from_utf8(buf) {
        Ok(s) => Line::Text(s),
        Err(e) => Line::Bad(RequestError::new(
            &agentpol_core::diag::codes::BAD_REQUEST,
            "",
            format!(
                "the request is not UTF-8: invalid byte at offset {}",
                e.utf8_error().valid_up_to()
            ),
            "send each request as one line of UTF-8 JSON",
        )),
    }))
}
