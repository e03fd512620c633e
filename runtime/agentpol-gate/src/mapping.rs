//! How MCP messages become policy requests, and what a tool listing may show.
//!
//! * `tools/call {name, arguments}` is a `tool` request for `name` with
//!   `arguments` as its arguments.
//! * Every other method that can move data is a `tool` request for a
//!   **method tool**: `mcp_` followed by the method with `/` and every other
//!   non-alphanumeric character replaced by `_`, lower-cased
//!   (`resources/read` → `mcp_resources_read`, `sampling/createMessage` →
//!   `mcp_sampling_createmessage`), with the arguments [`method_args`] lists.
//!   A policy that does not declare and allow the method tool denies the
//!   method (default deny), so nothing reaches the server unpoliced.
//! * Lifecycle methods ([`PASS_THROUGH`]) and `tools/list` pass unchanged.

use agentpol_core::ir::{ArgType, Effect, Kind, Matcher, Policy, ToolSig};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Requests and notifications that carry no user data and pass unpoliced.
pub const PASS_THROUGH: &[&str] = &[
    "initialize",
    "ping",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// The method tool's name for `method`.
pub fn method_tool(method: &str) -> String {
    let mut name = String::from("mcp_");
    for c in method.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else {
            name.push('_');
        }
    }
    name
}

/// The arguments of a method tool, taken from the request's `params`: the
/// fields that say what data moves. Each is a string; a missing one is absent
/// (and the request then fails validation if the policy declares it: deny).
pub fn method_args(method: &str, params: &Value) -> Map<String, Value> {
    let fields: &[(&str, &str)] = match method {
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => &[("uri", "/uri")],
        "prompts/get" => &[("name", "/name")],
        "completion/complete" => &[
            ("ref", "/ref/uri"),
            ("ref", "/ref/name"),
            ("argument", "/argument/name"),
        ],
        "logging/setLevel" => &[("level", "/level")],
        "elicitation/create" => &[("message", "/message")],
        _ => &[],
    };
    let mut args = Map::new();
    for (name, pointer) in fields {
        if args.contains_key(*name) {
            continue;
        }
        if let Some(v) = params.pointer(pointer) {
            args.insert((*name).to_string(), v.clone());
        }
    }
    args
}

/// The tools some allow or ask rule of this agent (and, with a skill, of the
/// skill too) names: a tool outside this set can never be allowed, so the
/// gate hides it from `tools/list`.
pub fn possibly_allowed(policy: &Policy, agent: &str, skill: Option<&str>) -> BTreeSet<String> {
    let Some(a) = policy.agents.iter().find(|a| a.name == agent) else {
        return BTreeSet::new();
    };
    let named = |rules: &[agentpol_core::ir::Rule]| -> BTreeSet<String> {
        rules
            .iter()
            .filter(|r| r.kind() == Kind::Tool && r.effect != Effect::Deny)
            .filter_map(|r| match &r.matcher {
                Matcher::Tool { tool: Some(t), .. } => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    let mine = named(&a.rules);
    match skill {
        None => mine,
        Some(s) => match a.skills.iter().find(|k| k.name == s) {
            Some(k) => mine.intersection(&named(&k.rules)).cloned().collect(),
            None => BTreeSet::new(),
        },
    }
}

/// Why a server's tool does not fit the policy's declaration of it, if it
/// does not: every declared argument must be a property of the input schema
/// with a compatible JSON type, and every property the schema requires must be
/// declared. Properties the schema leaves optional and the policy does not
/// declare may exist: a call that uses one is refused by request validation.
pub fn schema_mismatch(sig: &ToolSig, tool: &Value) -> Option<String> {
    let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
    let props = schema.get("properties").and_then(Value::as_object);
    let empty = Map::new();
    let props = props.unwrap_or(&empty);
    let mut problems = Vec::new();
    for arg in &sig.args {
        match props.get(&arg.name) {
            None => problems.push(format!("`{}` is not in the server's schema", arg.name)),
            Some(p) => {
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
                let ok = match arg.ty {
                    ArgType::String | ArgType::Url | ArgType::Path => ty == "string",
                    ArgType::Int => ty == "integer",
                    ArgType::Bool => ty == "boolean",
                };
                if !ok {
                    problems.push(format!(
                        "`{}` is `{}` in the policy but `{}` in the server's schema",
                        arg.name,
                        type_name(arg.ty),
                        if ty.is_empty() { "untyped" } else { ty }
                    ));
                }
            }
        }
    }
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if sig.arg(r).is_none() {
                problems.push(format!(
                    "the server requires `{r}`, which the policy does not declare"
                ));
            }
        }
    }
    if problems.is_empty() {
        None
    } else {
        Some(problems.join("; "))
    }
}

fn type_name(t: ArgType) -> &'static str {
    match t {
        ArgType::String => "string",
        ArgType::Int => "int",
        ArgType::Bool => "bool",
        ArgType::Url => "url",
        ArgType::Path => "path",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn method_tools_are_named_predictably() {
        assert_eq!(method_tool("resources/read"), "mcp_resources_read");
        assert_eq!(
            method_tool("sampling/createMessage"),
            "mcp_sampling_createmessage"
        );
        assert_eq!(method_tool("x-y/../z"), "mcp_x_y____z");
    }

    #[test]
    fn method_args_pick_the_data_fields() {
        let a = method_args(
            "resources/read",
            &json!({"uri": "file:///etc/passwd", "other": 1}),
        );
        assert_eq!(Value::Object(a), json!({"uri": "file:///etc/passwd"}));
        let a = method_args(
            "completion/complete",
            &json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "x", "value": "y"}}),
        );
        assert_eq!(Value::Object(a), json!({"ref": "p", "argument": "x"}));
        assert!(method_args("resources/list", &json!({})).is_empty());
    }
}
