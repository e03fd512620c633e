//! Checks and wording shared by every engine that validates requests: the
//! reference evaluator here, and the Cedar crate's engines, which must refuse
//! the same requests with the same code, field and words (their differential
//! tests compare them).

use super::matching::{normalize_domain, normalize_request_path};
use super::RequestError;
use crate::diag::codes;
use crate::ir::{Action, ArgType, Kind, ParamType, ToolSig, Value};
use std::collections::BTreeSet;

/// A typed param binding.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// A string, int or bool param.
    Scalar(Value),
    /// A `set<string>` or `set<int>` param.
    Set(BTreeSet<Value>),
}

/// AP0812: `action` does not belong to the request's kind; `allowed` lists the kind's actions.
pub fn wrong_action(action: Action, kind: &str, allowed: &str) -> RequestError {
    let its_kind = kind_name(action.kind());
    RequestError::new(
        &codes::REQUEST_WRONG_ACTION,
        "/action",
        format!(
            "action `{}` is {} {its_kind} action, not {} {kind} action",
            action.as_str(),
            article(its_kind),
            article(kind)
        ),
        format!(
            "{} {kind} request's action is one of {allowed}",
            article(kind)
        ),
    )
}

/// "a" or "an" before a kind's name, as it is read aloud ("an fs request").
pub fn article(kind: &str) -> &'static str {
    match kind {
        "fs" | "exec" | "env" => "an",
        _ => "a",
    }
}

/// A kind as written in requests (`fs`, `exec`, ...).
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Fs => "fs",
        Kind::Exec => "exec",
        Kind::Net => "net",
        Kind::Tool => "tool",
        Kind::Env => "env",
    }
}

/// A request path, absolute and normalised (one trailing `/` removed), or an
/// AP08xx error at `field`; `what` names it in the message ("the fs request's path").
pub fn check_path<'a>(path: &'a str, field: &str, what: &str) -> Result<&'a str, RequestError> {
    normalize_request_path(path).map_err(|why| {
        RequestError::new(
            &codes::REQUEST_BAD_PATH,
            field,
            format!("{what} {path:?} is not usable: {why}"),
            "give the absolute, normalised path the kernel reports (symlinks resolved, no `//`, `.` or `..`)",
        )
    })
}

/// A request's domain, normalised as rules match it (lower case, no trailing
/// dot), or an error saying why it cannot be matched.
pub fn check_domain(domain: &str) -> Result<String, RequestError> {
    let bad = |why: &str| {
        RequestError::new(
            &codes::REQUEST_BAD_DOMAIN,
            "/domain",
            format!("the net request's domain {domain:?} is not usable: {why}"),
            "give the ASCII DNS name the agent asked for (internationalised names in punycode, `xn--...`), or leave `domain` out",
        )
    };
    if !domain.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad("it contains a non-ASCII, space or control character"));
    }
    let normal = normalize_domain(domain);
    if normal.is_empty() {
        return Err(bad("it is empty"));
    }
    if normal.split('.').any(str::is_empty) {
        return Err(bad("it has an empty label"));
    }
    Ok(normal)
}

/// A JSON number that is an integer in the 64-bit signed range.
pub fn json_int(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The JSON value as a binding of a param of type `ty`, if it has that type.
pub fn param_value(ty: ParamType, v: &serde_json::Value) -> Option<ParamValue> {
    let scalar = |v: &serde_json::Value, ty: ParamType| -> Option<Value> {
        match (ty, v) {
            (ParamType::String, serde_json::Value::String(s)) => Some(Value::Str(s.clone())),
            (ParamType::Bool, serde_json::Value::Bool(b)) => Some(Value::Bool(*b)),
            (ParamType::Int, v) => json_int(v).map(Value::Int),
            _ => None,
        }
    };
    match ty {
        ParamType::String | ParamType::Int | ParamType::Bool => {
            scalar(v, ty).map(ParamValue::Scalar)
        }
        ParamType::SetString | ParamType::SetInt => {
            let elem = if ty == ParamType::SetString {
                ParamType::String
            } else {
                ParamType::Int
            };
            let items = v.as_array()?;
            let mut set = BTreeSet::new();
            for item in items {
                set.insert(scalar(item, elem)?);
            }
            Some(ParamValue::Set(set))
        }
    }
}

/// An argument type with its article, for messages ("a url (...)").
pub fn arg_type_name(ty: ArgType) -> &'static str {
    match ty {
        ArgType::String => "a string",
        ArgType::Int => "an int",
        ArgType::Bool => "a bool",
        ArgType::Url => "a url (a string holding an absolute URL)",
        ArgType::Path => "a path (a string holding an absolute path)",
    }
}

/// An argument type as written in a signature.
pub fn arg_type_word(ty: ArgType) -> &'static str {
    match ty {
        ArgType::String => "string",
        ArgType::Int => "int",
        ArgType::Bool => "bool",
        ArgType::Url => "url",
        ArgType::Path => "path",
    }
}

/// A tool's argument list as written in its declaration.
pub fn signature(sig: &ToolSig) -> String {
    let args: Vec<String> = sig
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, arg_type_word(a.ty)))
        .collect();
    args.join(", ")
}

/// A param type as written in its declaration.
pub fn param_type_name(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "string",
        ParamType::Int => "int",
        ParamType::Bool => "bool",
        ParamType::SetString => "set<string>",
        ParamType::SetInt => "set<int>",
    }
}

/// The JSON a param of type `ty` is bound with, for help lines.
pub fn param_type_json(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "a JSON string",
        ParamType::Int => "a JSON integer in the 64-bit signed range",
        ParamType::Bool => "true or false",
        ParamType::SetString => "a JSON array of strings",
        ParamType::SetInt => "a JSON array of integers in the 64-bit signed range",
    }
}

/// What a JSON value is, for messages ("an array").
pub fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(n) if n.as_i64().is_some() => "an integer",
        serde_json::Value::Number(n) if n.is_u64() => "an integer out of the 64-bit signed range",
        serde_json::Value::Number(_) => "a number written with a fraction or an exponent",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// "did you mean `x`?" when a candidate is close, else the list of candidates.
pub fn suggestion_help<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
    what: &str,
) -> String {
    let all: Vec<&str> = candidates.collect();
    let limit = (name.chars().count() / 3).max(2);
    let best = all
        .iter()
        .map(|c| (strsim::levenshtein(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min();
    match best {
        Some((_, c)) => format!("did you mean `{c}`?"),
        None if all.is_empty() => format!("the policy declares no {what} here"),
        None => {
            let shown: Vec<String> = all.iter().take(12).map(|c| format!("`{c}`")).collect();
            let more = if all.len() > 12 { ", ..." } else { "" };
            format!("the declared {what} are {}{more}", shown.join(", "))
        }
    }
}
