//! JSON-RPC 2.0 as MCP's stdio transport carries it: one message per line.
//!
//! The gate reads attacker-influenced bytes from both sides, so reading is
//! bounded ([`LineReader`]) and every message is classified before anything
//! looks inside it ([`classify`]). Batches are refused: MCP's current revision
//! has none, and a batch would let one line smuggle several calls past a
//! per-message check.

use serde_json::{json, Value};
use std::io::BufRead;

/// JSON-RPC error codes the gate answers with.
pub mod code {
    /// The line is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid JSON-RPC 2.0 request (wrong version, batch, bad id, reused id).
    pub const INVALID_REQUEST: i64 = -32600;
    /// The message is larger than the gate's limit.
    pub const TOO_LARGE: i64 = -32001;
    /// The server did not answer in time, or exited.
    pub const SERVER_UNAVAILABLE: i64 = -32002;
    /// The policy denies the method (methods other than `tools/call`).
    pub const DENIED: i64 = -32003;
    /// The server's tool listing contradicts the policy's tool declarations.
    pub const SCHEMA_MISMATCH: i64 = -32004;
    /// Too many requests in flight.
    pub const BUSY: i64 = -32005;
}

/// A request id: JSON-RPC allows strings and numbers; the gate accepts strings
/// and integers (a fractional or null id is refused, so two spellings of one
/// id cannot collide).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// A string id.
    Str(String),
    /// An integer id.
    Int(i64),
}

impl Id {
    /// The id from its JSON value, if it is a string or an integer.
    pub fn from_json(v: &Value) -> Option<Id> {
        match v {
            Value::String(s) => Some(Id::Str(s.clone())),
            Value::Number(n) => n.as_i64().map(Id::Int),
            _ => None,
        }
    }

    /// The id as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Id::Str(s) => Value::String(s.clone()),
            Id::Int(i) => json!(i),
        }
    }
}

/// What one line is.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// A request: it expects a response with the same id.
    Request {
        /// Its id.
        id: Id,
        /// Its method.
        method: String,
        /// The whole message.
        msg: Value,
    },
    /// A notification: no response.
    Notification {
        /// Its method.
        method: String,
        /// The whole message.
        msg: Value,
    },
    /// A response (result or error) to a request of the other side.
    Response {
        /// Its id.
        id: Id,
        /// The whole message.
        msg: Value,
    },
    /// Not a message the gate will pass on; the error to answer with (its id
    /// is the message's id when it had a usable one, else null).
    Invalid {
        /// The id to answer to, if any.
        id: Option<Id>,
        /// A JSON-RPC error code.
        code: i64,
        /// Why.
        message: String,
    },
}

/// Classifies one line (without its newline).
pub fn classify(line: &[u8]) -> Message {
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => return invalid(None, code::PARSE_ERROR, format!("not JSON: {e}")),
    };
    let obj =
        match value {
            Value::Object(o) => o,
            Value::Array(_) => return invalid(
                None,
                code::INVALID_REQUEST,
                "JSON-RPC batches are not accepted by the gate (MCP sends one message per line)"
                    .into(),
            ),
            _ => {
                return invalid(
                    None,
                    code::INVALID_REQUEST,
                    "a message must be a JSON object".into(),
                )
            }
        };
    let raw_id = obj.get("id");
    let id = raw_id.and_then(Id::from_json);
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return invalid(
            id,
            code::INVALID_REQUEST,
            "\"jsonrpc\" must be \"2.0\"".into(),
        );
    }
    if raw_id.is_some() && id.is_none() {
        return invalid(
            None,
            code::INVALID_REQUEST,
            "an id must be a string or an integer".into(),
        );
    }
    let method = obj.get("method").cloned();
    let msg = Value::Object(obj);
    match (method, id) {
        (Some(Value::String(method)), Some(id)) => Message::Request { id, method, msg },
        (Some(Value::String(method)), None) => Message::Notification { method, msg },
        (Some(_), id) => invalid(
            id,
            code::INVALID_REQUEST,
            "\"method\" must be a string".into(),
        ),
        (None, Some(id)) => {
            let has_result = msg.get("result").is_some();
            let has_error = msg.get("error").is_some();
            if has_result == has_error {
                return invalid(
                    Some(id),
                    code::INVALID_REQUEST,
                    "a response has exactly one of \"result\" and \"error\"".into(),
                );
            }
            Message::Response { id, msg }
        }
        (None, None) => invalid(
            None,
            code::INVALID_REQUEST,
            "neither a request, a notification nor a response".into(),
        ),
    }
}

fn invalid(id: Option<Id>, code: i64, message: String) -> Message {
    Message::Invalid { id, code, message }
}

/// An error response.
pub fn error(id: Option<&Id>, code: i64, message: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.map_or(Value::Null, Id::to_json),
        "error": {"code": code, "message": message},
    })
}

/// A successful response.
pub fn result(id: &Id, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id.to_json(), "result": result})
}

/// One line read by [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line, without its newline (and without a trailing `\r`).
    Text(Vec<u8>),
    /// A line longer than the limit; its bytes were discarded.
    TooLong(usize),
    /// End of input.
    Eof,
}

/// Reads newline-delimited messages, never holding more than `max` bytes of
/// one line: an oversized line is skipped to its end and reported, so a
/// 100 MB message costs the gate `max` bytes of memory, not 100 MB.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    max: usize,
}

impl<R: BufRead> LineReader<R> {
    /// A reader with a per-line limit of `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader { inner, max }
    }

    /// The next line.
    pub fn next_line(&mut self) -> std::io::Result<Line> {
        let mut buf = Vec::new();
        let mut len = 0usize;
        let mut too_long = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if len == 0 {
                    return Ok(Line::Eof);
                }
                break;
            }
            let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            len += part.len();
            if !too_long {
                if len > self.max {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(part);
                }
            }
            let consumed = done.unwrap_or(chunk.len());
            self.inner.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if too_long {
            return Ok(Line::TooLong(len));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Line::Text(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_requests_notifications_responses() {
        let m = classify(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
        assert!(
            matches!(m, Message::Request { id: Id::Int(1), ref method, .. } if method == "ping")
        );
        let m = classify(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(m, Message::Notification { .. }));
        let m = classify(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#);
        assert!(matches!(m, Message::Response { id: Id::Str(ref s), .. } if s == "a"));
    }

    #[test]
    fn refuses_what_it_cannot_read_unambiguously() {
        let cases: &[(&[u8], i64)] = &[
            (b"not json", code::PARSE_ERROR),
            (
                br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                code::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
                code::INVALID_REQUEST,
            ),
            (br#"{"id":1,"method":"ping"}"#, code::INVALID_REQUEST),
            (
                br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
                code::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                code::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":7}"#,
                code::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
                code::INVALID_REQUEST,
            ),
            (br#""just a string""#, code::INVALID_REQUEST),
        ];
        for (line, want) in cases {
            match classify(line) {
                Message::Invalid { code, .. } => {
                    assert_eq!(code, *want, "{}", String::from_utf8_lossy(line))
                }
                other => panic!("{} accepted as {other:?}", String::from_utf8_lossy(line)),
            }
        }
    }

    #[test]
    fn line_reader_skips_oversized_lines_and_goes_on() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nshort\r\nlast");
        let mut r = LineReader::new(std::io::BufReader::with_capacity(16, &input[..]), 100);
        assert_eq!(r.next_line().unwrap(), Line::TooLong(1000));
        assert_eq!(r.next_line().unwrap(), Line::Text(b"short".to_vec()));
        assert_eq!(r.next_line().unwrap(), Line::Text(b"last".to_vec()));
        assert_eq!(r.next_line().unwrap(), Line::Eof);
    }
}
