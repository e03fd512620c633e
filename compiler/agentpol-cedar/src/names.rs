//! The names of the Cedar encoding: namespace, entity types, actions, and
//! the attributes the caller supplies at decision time. `README.md` in this
//! crate documents the same table for people.

use crate::text::string_lit;
use agentpol_core::ir::Action;

/// The Cedar namespace of everything emitted.
pub const NAMESPACE: &str = "agentpol";

/// How many leading (and, separately, trailing) path segments a request
/// exposes as `seg.s0..` / `rseg.s0..`. Globs whose wildcard segments sit
/// deeper are approximated (and listed in the loss report).
pub const MAX_SEGMENTS: usize = 16;

/// How many leading exec arguments a request exposes as `argv.a0..`.
pub const MAX_ARGS: usize = 16;

/// Entity type of agents (principals).
pub const AGENT: &str = "Agent";
/// Entity type of skills (principals; each is a child of its agent).
pub const SKILL: &str = "Skill";
/// Entity type of fs paths and exec binaries (resources).
pub const PATH: &str = "Path";
/// Entity type of network endpoints (resources).
pub const ENDPOINT: &str = "Endpoint";
/// Entity type of environment variables (resources).
pub const ENV_VAR: &str = "EnvVar";
/// Entity type of tools (resources).
pub const TOOL: &str = "Tool";

/// `agentpol_core::Type`.
pub fn qualified(ty: &str) -> String {
    format!("{NAMESPACE}::{ty}")
}

/// `agentpol_core::Type::"id"`.
pub fn uid(ty: &str, id: &str) -> String {
    format!("{NAMESPACE}::{ty}::{}", string_lit(id))
}

/// The id of a skill entity: `agent.skill` (names cannot contain `.`).
pub fn skill_id(agent: &str, skill: &str) -> String {
    format!("{agent}.{skill}")
}

/// The Cedar action name of an IR action (for tools: of a call to `tool`).
pub fn action_name(action: Action, tool: Option<&str>) -> String {
    match action {
        Action::Call => format!("tool::{}", tool.unwrap_or("")),
        Action::ReadEnv => "env::read".to_string(),
        Action::Exec => "exec::exec".to_string(),
        a => format!("{}::{}", kind_word(a), a.as_str()),
    }
}

fn kind_word(a: Action) -> &'static str {
    match a.kind() {
        agentpol_core::ir::Kind::Fs => "fs",
        agentpol_core::ir::Kind::Exec => "exec",
        agentpol_core::ir::Kind::Net => "net",
        agentpol_core::ir::Kind::Tool => "tool",
        agentpol_core::ir::Kind::Env => "env",
    }
}

/// `agentpol_core::Action::"name"`.
pub fn action_uid(name: &str) -> String {
    uid("Action", name)
}

/// Every non-tool action, in a fixed order.
pub const BASE_ACTIONS: [Action; 12] = [
    Action::Read,
    Action::Write,
    Action::Create,
    Action::Delete,
    Action::Rename,
    Action::Link,
    Action::Mkdir,
    Action::Exec,
    Action::Connect,
    Action::Listen,
    Action::Sendto,
    Action::ReadEnv,
];
