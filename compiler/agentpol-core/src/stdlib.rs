//! The standard library (`stdlib-policies/`), compiled into the crate so that
//! `import std::...` resolves the same way in the CLI, the LSP and tests.

/// `(module path under std, display name, text)` for every std module.
pub static MODULES: &[(&str, &str, &str)] = &[
    (
        "secrets",
        "std/secrets.agentpol",
        include_str!("../../../stdlib-policies/secrets.agentpol"),
    ),
    (
        "net",
        "std/net.agentpol",
        include_str!("../../../stdlib-policies/net.agentpol"),
    ),
    (
        "system",
        "std/system.agentpol",
        include_str!("../../../stdlib-policies/system.agentpol"),
    ),
    (
        "openclaw",
        "std/openclaw.agentpol",
        include_str!("../../../stdlib-policies/openclaw.agentpol"),
    ),
];

/// The std module at `path` (e.g. `["secrets"]`), as `(display name, text)`.
pub fn module(path: &[String]) -> Option<(&'static str, &'static str)> {
    let joined = path.join("::");
    MODULES
        .iter()
        .find(|(p, _, _)| *p == joined)
        .map(|(_, name, text)| (*name, *text))
}
