//! Checks and wording shared by every engine that validates requests: the
//! reference evaluator here, and the Cedar crate's engines, which must refuse
//! the same requests with the same code, field and words (their differential
//! tests compare them).

use super::matching::{canonical_addr, normalize_domain, normalize_request_path};
use super::RequestError;
use crate::diag::codes;
use crate::ir::{Action, ArgType, Kind, ParamType, ToolSig, Value};
use std::collections::BTreeSet;
use std::net::IpAddr;

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

/// The peer of a net request as rules match it: an IP literal in `domain` is
/// an address (so `"domain": "169.254.169.254"` meets the CIDR rules, not
/// only the name rules), a name that ends in a number but is no address is
/// refused (resolvers read `127.1` or `0x7f.1` as an address), and the
/// domain is otherwise checked by [`check_domain`].
pub fn check_net_peer(
    addr: Option<IpAddr>,
    domain: Option<&str>,
) -> Result<(Option<IpAddr>, Option<String>), RequestError> {
    let Some(domain) = domain else {
        return Ok((addr, None));
    };
    let ambiguous = |why: String| {
        RequestError::new(
            &codes::REQUEST_AMBIGUOUS_HOST,
            "/domain",
            format!("the net request's domain {domain:?} is ambiguous: {why}"),
            "give the DNS name the agent asked for in `domain` and the address in `addr`",
        )
    };
    let bare = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .unwrap_or(domain);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match addr {
            Some(a) if canonical_addr(a) != canonical_addr(ip) => Err(ambiguous(format!(
                "it is the address {ip}, but `addr` is {a}"
            ))),
            Some(a) => Ok((Some(a), None)),
            None => Ok((Some(ip), None)),
        };
    }
    let normal = check_domain(domain)?;
    if ends_in_number(&normal) {
        return Err(ambiguous(
            "it ends in a number, so resolvers read it as an IPv4 address, but it is not one in plain dotted-decimal form".into(),
        ));
    }
    Ok((addr, Some(normal)))
}

/// Does the host's last label look like a number (the WHATWG "ends in a
/// number" test: decimal digits, or `0x` and hex digits)? Such a host is an
/// IPv4 address to most resolvers, in some radix.
fn ends_in_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    match last.strip_prefix("0x").or_else(|| last.strip_prefix("0X")) {
        Some(hex) => hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => false,
    }
}

/// Why a `url` argument is refused before parsing, if it is: a URL whose
/// host one common parser (WHATWG, curl, Python's urllib) reads differently
/// from another. Rules match the WHATWG reading, so any disagreement could
/// let the tool reach a host no rule allowed (lang-spec/requests.md, "URLs").
pub fn ambiguous_url(raw: &str) -> Option<&'static str> {
    if raw.contains('\\') {
        return Some("it contains a backslash, which some parsers read as `/` and others as a character of the host or user name");
    }
    if raw.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Some("it contains a space or control character, which some parsers remove and others keep or stop at");
    }
    let colon = raw.find(':')?;
    let (scheme, rest) = (&raw[..colon], &raw[colon + 1..]);
    let Some(after) = rest.strip_prefix("//") else {
        // `https:evil.example` and `https:/evil.example` are `https://evil.example/`
        // to a WHATWG parser and a relative or hostless URL to others.
        let special = ["http", "https", "ws", "wss", "ftp"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s));
        return special.then_some(
            "it lacks the `//` before the host, which parsers repair in different ways",
        );
    };
    let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    if authority.contains('@') {
        return Some("it has a user name or password (`user@host`); parsers disagree on where the host begins");
    }
    if authority.contains('%') {
        return Some(
            "its host contains percent-encoded bytes, which some parsers decode and others do not",
        );
    }
    if !authority.is_ascii() {
        return Some(
            "its host contains non-ASCII characters, which parsers map to DNS names differently",
        );
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let Some(end) = v6.find(']') else {
            return Some("its IPv6 host has no closing `]`");
        };
        if v6[..end].parse::<std::net::Ipv6Addr>().is_err() {
            return Some("its bracketed host is not a plain IPv6 address");
        }
        return None;
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if host.is_empty() && !scheme.eq_ignore_ascii_case("file") {
        return Some(
            "it has no host, and parsers take the host from what follows in different ways",
        );
    }
    if host.ends_with('.') {
        return Some("its host ends in a dot, which some parsers keep and others remove");
    }
    if ends_in_number(host) && host.parse::<std::net::Ipv4Addr>().is_err() {
        return Some("its host ends in a number but is not an IPv4 address in plain dotted-decimal form (e.g. `0x7f.1`, `127.1`, `017.0.0.1`), which parsers read in different radixes");
    }
    None
}

/// Bounds on a request (lang-spec/requests.md, "Limits"): beyond them a
/// request is refused with [`codes::REQUEST_TOO_LARGE`] before it is decided.
pub mod limits {
    /// The request's JSON text, in bytes.
    pub const MAX_REQUEST_BYTES: usize = 1 << 20;
    /// One string (a key or a value), in bytes.
    pub const MAX_STRING_BYTES: usize = 256 << 10;
    /// Elements of one array.
    pub const MAX_ARRAY_LEN: usize = 4096;
    /// Keys of one object.
    pub const MAX_OBJECT_LEN: usize = 4096;
    /// Nesting of arrays and objects (the request object is depth 1).
    pub const MAX_DEPTH: usize = 32;
}
