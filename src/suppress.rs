//! `--allow CODE` and `--deny CODE`: silencing a warning code, or making it an
//! error, for one run. Errors cannot be allowed: a policy the compiler rejects
//! stays rejected.

use agentpol_core::diag::{Diag, Severity};

/// The `--allow`/`--deny` flags shared by `check` and `build`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct Flags {
    /// Do not report warnings or infos with this code (repeatable, e.g. `--allow AP0704`).
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

    /// Applies the flags: drops allowed non-errors, raises denied warnings.
    pub fn apply(&self, diags: Vec<Diag>) -> Vec<Diag> {
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
}
