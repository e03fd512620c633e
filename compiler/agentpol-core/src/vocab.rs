//! The words the IR and requests share: what an agent can do ([`Kind`],
//! [`Action`], [`Proto`]), what a rule says about it ([`Effect`]), and how a
//! decision names the rule that made it ([`RuleId`], [`SourceRef`]).
//!
//! Its own module so that [`crate::request`] can use them without depending
//! on [`crate::ir`], which holds test expectations as requests: the arrows go
//! `ir → request → vocab` and `ir → vocab`, never back. [`crate::ir`]
//! re-exports every item, so `ir::Action` remains the usual path.

use crate::span::Span;
use serde::{Deserialize, Serialize};

/// Where a rule or declaration was written, with line and column so that a
/// consumer without the source text can point at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The byte span (its `file` indexes [`crate::ir::Policy::files`]).
    #[serde(flatten)]
    pub span: Span,
    /// 1-based line of `span.start`.
    pub line: u32,
    /// 1-based column of `span.start`.
    pub col: u32,
}

/// A stable rule id: `<agent>[.<skill>]/<kind>/<hash>[.<n>]`.
///
/// The hash covers the owner, the rule's own normalised source text and its
/// position among textually identical rules, so it survives edits elsewhere in
/// the file. A source rule that lowers to several IR rules (several actions, a
/// disjunction, brace alternatives) gives each a `.<n>` suffix in a fixed
/// order. Backends use it verbatim (Cedar `@id`, log fields) or hash it
/// ([`RuleId::num`]) where they need a number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(pub String);

impl RuleId {
    /// A stable 32-bit number for the id (FNV-1a), for BPF maps and log records.
    pub fn num(&self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for b in self.0.bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The effect of a rule, ordered by precedence: `Allow < Ask < Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Permit.
    Allow,
    /// Permit only with a human's approval (tool layer only).
    Ask,
    /// Refuse.
    Deny,
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Effect::Allow => "allow",
            Effect::Ask => "ask",
            Effect::Deny => "deny",
        })
    }
}

/// The five resource kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Files.
    Fs,
    /// Program execution.
    Exec,
    /// Sockets.
    Net,
    /// Tool calls.
    Tool,
    /// Environment-variable secrets (read by `run` to scrub the environment).
    Env,
}

/// An action; each belongs to exactly one [`Kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// fs: open for reading, list a directory.
    Read,
    /// fs: open for writing, truncate, change attributes.
    Write,
    /// fs: create a file.
    Create,
    /// fs: unlink a file or remove a directory.
    Delete,
    /// fs: rename (checked on source and destination).
    Rename,
    /// fs: create a hard or symbolic link at the path.
    Link,
    /// fs: create a directory.
    Mkdir,
    /// exec: execute the binary.
    Exec,
    /// net: outgoing connection (TCP connect, UDP connect).
    Connect,
    /// net: bind and listen / receive.
    Listen,
    /// net: unconnected datagram send.
    Sendto,
    /// tool: call the tool.
    Call,
    /// env: receive the variable in the agent's environment.
    ReadEnv,
}

impl Action {
    /// The kind this action belongs to.
    pub fn kind(self) -> Kind {
        match self {
            Action::Read
            | Action::Write
            | Action::Create
            | Action::Delete
            | Action::Rename
            | Action::Link
            | Action::Mkdir => Kind::Fs,
            Action::Exec => Kind::Exec,
            Action::Connect | Action::Listen | Action::Sendto => Kind::Net,
            Action::Call => Kind::Tool,
            Action::ReadEnv => Kind::Env,
        }
    }

    /// All fs actions, in a fixed order (what `all` expands to).
    pub const FS: [Action; 7] = [
        Action::Read,
        Action::Write,
        Action::Create,
        Action::Delete,
        Action::Rename,
        Action::Link,
        Action::Mkdir,
    ];

    /// All net actions, in a fixed order.
    pub const NET: [Action; 3] = [Action::Connect, Action::Listen, Action::Sendto];

    /// The keyword as written in the language.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Create => "create",
            Action::Delete => "delete",
            Action::Rename => "rename",
            Action::Link => "link",
            Action::Mkdir => "mkdir",
            Action::Exec => "exec",
            Action::Connect => "connect",
            Action::Listen => "listen",
            Action::Sendto => "sendto",
            Action::Call => "call",
            Action::ReadEnv => "readenv",
        }
    }
}

/// Transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
    /// Either.
    Any,
}
