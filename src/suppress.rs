//! What a run reports: `#[allow(CODE)]` comments in the source, then
//! `--allow CODE` and `--deny CODE` (silencing a warning code, or making it
//! an error, for one run), and `--deny-warnings`. Errors cannot be allowed: a
//! policy the compiler rejects stays rejected.

use agentpol_core::diag::{suppress, Diag, Severity};

/// Which stages produced diagnostics in this run, so a `#[allow(CODE)]` for a
/// stage that did not run is not called unused.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ran {
    /// The verifier ran (AP05xx).
    pub verify: bool,
    /// The policy's tests ran (AP08xx).
    pub tests: bool,
    /// The Cedar target was built (AP06xx).
    pub cedar: bool,
    /// Both firewall targets were built (AP07xx: some codes belong to one of them only).
    pub firewall: bool,
}

impl Ran {
    /// True when this run could have produced `code`. The front end (AP00xx-AP04xx) always runs.
    pub fn could_produce(&self, code: &str) -> bool {
        match code.get(..4) {
            Some("AP05") => self.verify,
            Some("AP06") => self.cedar,
            Some("AP07") => self.firewall,
            Some("AP08") => self.tests,
            Some("AP09") => false,
            _ => true,
        }
    }
}

/// The `--allow`/`--deny`/`--deny-warnings` flags shared by `check`, `verify` and `build`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Flags {
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    pub deny_warnings: bool,
    /// Do not report warnings or infos with this code (repeatable, e.g. `--allow AP0705`).
    #[arg(long = "allow", value_name = "CODE")]
    pub allow: Vec<String>,
    /// Report warnings with this code as errors (repeatable).
    #[arg(long = "deny", value_name = "CODE")]
    pub deny: Vec<String>,
}

impl Flags {
    /// Checks that every code named is registered; the message is for exit 2.
    pub fn validate(&self) -> Result<(), String> {
        let known = crate::targets::all_codes();
        for c in self.allow.iter().chain(&self.deny) {
            if !known.iter().any(|k| k.code.eq_ignore_ascii_case(c)) {
                return Err(format!(
                    "unknown diagnostic code {c:?} in --allow/--deny; `agentpolc explain --list` lists them"
                ));
            }
        }
        Ok(())
    }

    /// Applies the source's `#[allow]` comments, then the flags: drops
    /// allowed non-errors, raises denied warnings.
    pub fn apply(&self, diags: Vec<Diag>, pragmas: &[suppress::Pragma], ran: Ran) -> Vec<Diag> {
        let known = crate::targets::all_codes();
        let diags = suppress::apply(
            diags,
            pragmas,
            &|c| known.iter().any(|k| k.code == c),
            &|c| ran.could_produce(c),
        );
        let named = |list: &[String], code: &str| list.iter().any(|c| c.eq_ignore_ascii_case(code));
        diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error || !named(&self.allow, d.code.code))
            .map(|mut d| {
                if named(&self.deny, d.code.code) && d.severity == Severity::Warning {
                    d.severity = Severity::Error;
                    d.notes
                        .push(format!("an error because of `--deny {}`", d.code.code));
                }
                d
            })
            .collect()
    }

    /// True when these diagnostics fail the run (errors, or warnings under `--deny-warnings`).
    pub fn fails(&self, counts: &crate::output::Counts) -> bool {
        counts.errors > 0 || (self.deny_warnings && counts.warnings > 0)
    }
}
