//! Exit codes shared by every subcommand.

/// Success: the policy is fine, the request was decided, the tests passed.
pub const OK: u8 = 0;
/// The policy has errors, a check or test failed, or (with `--fail-on-*`) a decision was refused.
pub const FAILED: u8 = 1;
/// Bad usage or input/output error (unreadable file, malformed request).
pub const USAGE: u8 = 2;
/// The verifier could not decide a query (solver `unknown`/timeout).
pub const UNKNOWN: u8 = 3;
/// An internal error (a bug in agentpolc).
pub const INTERNAL: u8 = 4;

/// Shown at the end of `--help`.
pub const HELP: &str = "Exit codes: 0 ok, 1 policy errors or failed checks, 2 usage or IO error, \
3 verifier unknown, 4 internal error.";
