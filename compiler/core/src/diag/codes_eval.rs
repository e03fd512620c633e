//! Codes of requests and decisions (`AP08xx`).

crate::diagnostic_codes! {
    list EVAL_CODES;
    BAD_REQUEST = "AP0801", "malformed-request",
        "a request that is not valid JSON or lacks a required field",
        "The request could not be read. The decision is deny (fail closed).";
}
