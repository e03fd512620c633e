//! Reading a request from JSON, strictly and within bounds.
//!
//! Stricter than `serde_json::from_str::<Request>`: unknown fields, duplicate
//! keys, `null` fields and anything past the limits of
//! [`request_check::limits`] are errors. The limits are enforced while the
//! JSON is read, so an oversized request is refused before it is built.

use super::request_check::{self, limits};
use super::{pointer, RequestError};
use crate::diag::{codes, CodeInfo};
use crate::request::Request;
use std::cell::RefCell;
use std::fmt;

/// Keys a request may have, besides `agent`, `skill` and `kind`.
fn kind_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "fs" => &["action", "path"],
        "exec" => &["path", "args"],
        "net" => &["action", "proto", "addr", "domain", "port"],
        "tool" => &["tool", "args", "params", "tainted", "secrets"],
        "env" => &["var"],
        _ => return None,
    })
}

/// A limit the JSON broke: what, and the JSON pointer of where (built from
/// the inside out as the error travels up).
#[derive(Default)]
struct Breach {
    what: String,
    at: Vec<String>,
}

/// A JSON value read with duplicate object keys refused (`{"to": "a", "to": "b"}`
/// means different things to different parsers, and the gate and the
/// evaluator must not disagree about what was asked) and every size bounded.
struct StrictJson<'s> {
    depth: usize,
    breach: &'s RefCell<Option<Breach>>,
}

impl StrictJson<'_> {
    fn fail<E: serde::de::Error>(&self, what: String) -> E {
        *self.breach.borrow_mut() = Some(Breach {
            what: what.clone(),
            at: Vec::new(),
        });
        E::custom(what)
    }

    fn child(&self) -> StrictJson<'_> {
        StrictJson {
            depth: self.depth + 1,
            breach: self.breach,
        }
    }

    /// Notes that the breach (if any) happened under `key`.
    fn under(&self, key: String) {
        if let Some(b) = self.breach.borrow_mut().as_mut() {
            b.at.push(key);
        }
    }

    fn string<E: serde::de::Error>(&self, v: &str) -> Result<serde_json::Value, E> {
        if v.len() > limits::MAX_STRING_BYTES {
            return Err(self.fail(format!(
                "a string of {} bytes is longer than the limit of {} bytes",
                v.len(),
                limits::MAX_STRING_BYTES
            )));
        }
        Ok(v.into())
    }

    fn nested<E: serde::de::Error>(&self) -> Result<(), E> {
        if self.depth >= limits::MAX_DEPTH {
            return Err(self.fail(format!(
                "arrays and objects are nested deeper than the limit of {}",
                limits::MAX_DEPTH
            )));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictJson<'_> {
    type Value = serde_json::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictJson<'_> {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map_or(serde_json::Value::Null, serde_json::Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.string(v)
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.string(&v)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.nested()?;
        let mut items = Vec::new();
        loop {
            let i = items.len();
            let next = seq
                .next_element_seed(self.child())
                .inspect_err(|_| self.under(i.to_string()))?;
            let Some(v) = next else { break };
            if items.len() == limits::MAX_ARRAY_LEN {
                self.fail::<A::Error>(format!(
                    "an array has more than the limit of {} elements",
                    limits::MAX_ARRAY_LEN
                ));
                return Err(serde::de::Error::custom("array too long"));
            }
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.nested()?;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.string::<A::Error>(&key)?;
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            if out.len() == limits::MAX_OBJECT_LEN {
                return Err(self.fail(format!(
                    "an object has more than the limit of {} keys",
                    limits::MAX_OBJECT_LEN
                )));
            }
            let value = map
                .next_value_seed(self.child())
                .inspect_err(|_| self.under(pointer(&key)))?;
            out.insert(key, value);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// Reads a request from JSON (the format of `agentpolc eval --request` and
/// `authorize`; lang-spec/requests.md).
///
/// Unknown fields, duplicate keys and `null` fields are errors (`AP0801`):
/// a misspelt or null `skill` must not be read as "no skill", which would
/// decide with the agent's wider rights. A request over the limits is
/// `AP0816`. Errors carry serde's line and column.
pub fn parse_request(json: &str) -> Result<Request, RequestError> {
    let err = |code: &'static CodeInfo, field: String, message: String| {
        RequestError::new(
            code,
            field,
            message,
            "see `agentpolc explain AP0801` for the request format, e.g. \
             {\"agent\": \"a\", \"kind\": \"fs\", \"action\": \"read\", \"path\": \"/x\"}",
        )
    };
    let too_large = |field: String, what: String| {
        RequestError::new(
            &codes::REQUEST_TOO_LARGE,
            field,
            format!("the request is too large: {what}"),
            "see lang-spec/requests.md, \"Limits\"; pass large data by reference (a path), not inline",
        )
    };
    if json.len() > limits::MAX_REQUEST_BYTES {
        return Err(too_large(
            String::new(),
            format!(
                "{} bytes of JSON, more than the limit of {} bytes",
                json.len(),
                limits::MAX_REQUEST_BYTES
            ),
        ));
    }
    let breach = RefCell::new(None);
    let seed = StrictJson {
        depth: 0,
        breach: &breach,
    };
    let mut de = serde_json::Deserializer::from_str(json);
    let value =
        serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| de.end().map(|()| v));
    let value = match (value, breach.into_inner()) {
        (_, Some(b)) => {
            let at: String = b.at.iter().rev().map(|k| format!("/{k}")).collect();
            return Err(too_large(at, b.what));
        }
        (Err(e), None) => {
            return Err(err(
                &codes::BAD_REQUEST,
                String::new(),
                format!("the request is not readable JSON: {e}"),
            ))
        }
        (Ok(v), None) => v,
    };
    // `null` is no value: `"skill": null` read as "no skill" would widen the
    // request to the agent's rights, and a null `addr` or `domain` hides
    // what the socket does. Leave a field out to say it is unknown.
    if let Some(obj) = value.as_object() {
        for (key, v) in obj {
            if v.is_null() {
                return Err(err(
                    &codes::BAD_REQUEST,
                    format!("/{}", pointer(key)),
                    format!(
                        "the request's `{key}` is null; leave the field out if it has no value"
                    ),
                ));
            }
        }
        if obj.get("skill").and_then(|s| s.as_str()) == Some("") {
            return Err(err(
                &codes::BAD_REQUEST,
                "/skill".into(),
                "the request's `skill` is empty; leave the field out for a request by the agent itself".into(),
            ));
        }
    }
    let request: Request = serde_json::from_str(json).map_err(|e| {
        err(
            &codes::BAD_REQUEST,
            String::new(),
            format!("the request cannot be read: {e}"),
        )
    })?;
    // The typed read succeeded, so `value` is an object with a known `kind`.
    if let Some(obj) = value.as_object() {
        let kind = obj.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let allowed = kind_fields(kind).unwrap_or(&[]);
        for key in obj.keys() {
            let common = matches!(key.as_str(), "agent" | "skill" | "kind");
            if !common && !allowed.contains(&key.as_str()) {
                return Err(err(
                    &codes::BAD_REQUEST,
                    format!("/{}", pointer(key)),
                    format!(
                        "{} {kind} request has no field `{key}` (it has: agent, skill, kind, {})",
                        request_check::article(kind),
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(request)
}
