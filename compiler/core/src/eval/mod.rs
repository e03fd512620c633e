//! The reference evaluator: the IR's meaning, written to be obviously right.
//!
//! Every backend is differentially tested against [`evaluate`]; keep it
//! simple, direct and slow rather than clever.

use crate::diag::CodeInfo;
use crate::ir::Policy;
use crate::request::{Decision, Request};

/// Why a request could not be decided (the decision is then deny).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// The registered code (`AP08xx`).
    pub code: &'static CodeInfo,
    /// The offending field as a JSON pointer, e.g. `/args/amount`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Decides `request` under `policy`.
pub fn evaluate(policy: &Policy, request: &Request) -> Result<Decision, RequestError> {
    let _ = (policy, request);
    Err(RequestError {
        code: &crate::diag::codes::BAD_REQUEST,
        field: String::new(),
        message: "not implemented".into(),
        help: String::new(),
    })
}

/// Parses a request from JSON text.
pub fn parse_request(text: &str) -> Result<Request, RequestError> {
    serde_json::from_str(text).map_err(|e| RequestError {
        code: &crate::diag::codes::BAD_REQUEST,
        field: String::new(),
        message: format!("malformed request: {e}"),
        help: "see lang-spec/requests.md for the request format".into(),
    })
}
