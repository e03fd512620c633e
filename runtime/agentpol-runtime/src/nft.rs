//! Loading an agentpol nftables ruleset with verify and rollback, and the
//! diagnostics of each failure.
//!
//! Order: the caller checks the version ([`Nft::version`]) and creates the
//! agents' cgroups ([`crate::cgroup`]) first; then [`Nft::load_verified`] checks
//! the script (`nft -c -f`), loads it (`nft -f`, one transaction: the old
//! table is replaced whole or not at all), lists `table inet agentpol` back as
//! JSON and compares it with the script
//! ([`agentpol_firewall::validate::Layout`]). On a mismatch the table is
//! removed again (fail closed: never a half-understood ruleset). A failure
//! before the load changes nothing.

use crate::codes;
use agentpol_core::diag::Diag;
use agentpol_core::span::Span;
use agentpol_firewall::nft::remove_script;
use agentpol_firewall::validate::{Layout, Ruleset};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The `nft` program agentpol drives (it never talks netlink itself).
#[derive(Clone, Debug)]
pub struct Nft {
    /// The program to run (`nft`, or a path).
    pub program: String,
}

impl Nft {
    /// Drives `program`.
    pub fn new(program: impl Into<String>) -> Nft {
        Nft {
            program: program.into(),
        }
    }

    fn run(&self, args: &[String]) -> Result<Output, Box<Diag>> {
        Command::new(&self.program)
            .args(args)
            .output()
            .map_err(|e| Box::new(nft_missing(&format!("{}: {e}", self.program))))
    }

    /// Runs `nft --version` and refuses versions older than [`MIN_NFT`].
    pub fn version(&self) -> Result<(u32, u32, u32), Box<Diag>> {
        let out = self.run(&["--version".into()])?;
        check_nft_version(&String::from_utf8_lossy(&out.stdout))
    }

    /// Checks, loads and verifies `script`; `cgroup_root` is the nft-relative
    /// cgroup2 root the script was emitted for. On a verification failure the
    /// table is removed again and the diagnostic says whether that worked.
    pub fn load_verified(&self, script: &str, cgroup_root: &str) -> Result<(), Box<Diag>> {
        let file = TempFile::new("agentpol.nft", script)?;
        for (stage, args) in [
            ("check", nft_check_args(&file.arg())),
            ("load", nft_load_args(&file.arg())),
        ] {
            let out = self.run(&args)?;
            if !out.status.success() {
                return Err(Box::new(refused(stage, &out)));
            }
        }
        match self.differs(script, cgroup_root) {
            None => Ok(()),
            Some(detail) => {
                let removed = self.remove().is_ok();
                Err(Box::new(verify_failed(&detail, removed)))
            }
        }
    }

    /// What differs between the loaded table and `script` (`None`: nothing).
    fn differs(&self, script: &str, cgroup_root: &str) -> Option<String> {
        match self.run(&nft_list_args()) {
            Err(d) => Some(d.message.clone()),
            Ok(out) if !out.status.success() => {
                Some(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
            Ok(out) => {
                let want = Layout::of_script(script);
                let got = Ruleset::from_json(&String::from_utf8_lossy(&out.stdout), cgroup_root);
                match (want, got) {
                    (Ok(w), Ok(g)) => {
                        let diff = w.diff(&Layout::of(&g));
                        (!diff.is_empty()).then(|| diff.join("; "))
                    }
                    (Err(e), _) | (_, Err(e)) => Some(e),
                }
            }
        }
    }

    /// Removes `table inet agentpol` and nothing else.
    pub fn remove(&self) -> Result<(), Box<Diag>> {
        let file = TempFile::new("remove.nft", &remove_script())?;
        let out = self.run(&nft_load_args(&file.arg()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Box::new(refused("remove", &out)))
        }
    }
}

/// A script file for nft, removed on drop (also on an early return).
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Result<TempFile, Box<Diag>> {
        let p = std::env::temp_dir().join(format!("agentpol-{}-{name}", std::process::id()));
        std::fs::write(&p, text).map_err(|e| {
            Box::new(nft_rejected(
                "write",
                &format!("cannot write {}: {e}", p.display()),
            ))
        })?;
        Ok(TempFile(p))
    }

    fn arg(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn refused(stage: &str, out: &Output) -> Diag {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Operation not permitted") {
        not_privileged(&format!("nft ({stage}): {}", stderr.trim()))
    } else {
        nft_rejected(stage, &stderr)
    }
}

/// The oldest nftables with `socket cgroupv2 level`.
pub const MIN_NFT: (u32, u32, u32) = (0, 9, 9);

/// Parses `nft --version` output and refuses versions older than [`MIN_NFT`].
pub fn check_nft_version(output: &str) -> Result<(u32, u32, u32), Box<Diag>> {
    let version = output
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))
        .and_then(|v| {
            let mut it = v.split('.').map(|p| p.parse::<u32>());
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
                (Some(Ok(a)), Some(Ok(b)), None) => Some((a, b, 0)),
                _ => None,
            }
        });
    match version {
        Some(v) if v >= MIN_NFT => Ok(v),
        Some((a, b, c)) => Err(Box::new(
            Diag::error(
                &codes::NFT_TOO_OLD,
                Span::default(),
                format!("nft {a}.{b}.{c} is too old: agent scoping needs nftables 0.9.9 or later"),
            )
            .help("upgrade nftables, or build the iptables target instead (`--target iptables`)")
            .note("nothing was changed"),
        )),
        None => Err(Box::new(
            Diag::error(
                &codes::NFT_TOO_OLD,
                Span::default(),
                format!(
                    "cannot read a version from `nft --version`: {:?}",
                    output.trim()
                ),
            )
            .help("install nftables 0.9.9 or later from your distribution")
            .note("nothing was changed"),
        )),
    }
}

/// `nft` could not be started.
pub fn nft_missing(error: &str) -> Diag {
    Diag::error(
        &codes::NFT_MISSING,
        Span::default(),
        format!("cannot run nft: {error}"),
    )
    .help("install nftables (`apt-get install nftables`) and run agentpolc as root")
    .note("nothing was changed")
}

/// nft refused the script at `stage` (`check`, `load`, `remove`).
pub fn nft_rejected(stage: &str, stderr: &str) -> Diag {
    let mut d = Diag::error(
        &codes::NFT_REJECTED,
        Span::default(),
        format!("nft refused the ruleset ({stage})"),
    )
    .help("read nft's message below; create the agents' cgroups and run as root");
    for line in stderr.lines().filter(|l| !l.trim().is_empty()).take(12) {
        d = d.note(format!("nft: {line}"));
    }
    d.note("the file is one transaction: nothing was changed")
}

/// The table listed back differs from what was loaded.
pub fn verify_failed(detail: &str, removed: bool) -> Diag {
    Diag::error(
        &codes::APPLY_VERIFY_FAILED,
        Span::default(),
        format!("the loaded table inet agentpol differs from the emitted ruleset: {detail}"),
    )
    .help("make sure no other tool manages table inet agentpol, then apply again")
    .note(if removed {
        "the table was removed again: agentpol does not filter any traffic now"
    } else {
        "removing the table failed too: inspect it with `nft list table inet agentpol`"
    })
}

/// Not allowed to change the packet filter.
pub fn not_privileged(what: &str) -> Diag {
    Diag::error(
        &codes::NOT_PRIVILEGED,
        Span::default(),
        format!("not permitted: {what}"),
    )
    .help("run `sudo agentpolc apply --target nft --policy DIR`")
    .note("nothing was changed")
}

/// `nft` arguments to check a file without loading it.
pub fn nft_check_args(file: &str) -> Vec<String> {
    vec!["-c".into(), "-f".into(), file.into()]
}

/// `nft` arguments to load a file.
pub fn nft_load_args(file: &str) -> Vec<String> {
    vec!["-f".into(), file.into()]
}

/// `nft` arguments to list the table as JSON.
pub fn nft_list_args() -> Vec<String> {
    vec![
        "-j".into(),
        "list".into(),
        "table".into(),
        "inet".into(),
        agentpol_firewall::nft::TABLE.into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_versions() {
        assert_eq!(
            check_nft_version("nftables v1.0.6 (Lester Gooch #5)\n").unwrap(),
            (1, 0, 6)
        );
        assert_eq!(
            check_nft_version("nftables v0.9.9 (Prudence Pimpleton)").unwrap(),
            (0, 9, 9)
        );
        assert!(check_nft_version("nftables v0.9.8 (E.D.S.)")
            .unwrap_err()
            .message
            .contains("0.9.8 is too old"));
        assert!(check_nft_version("garbage")
            .unwrap_err()
            .message
            .contains("cannot read a version"));
    }

    #[test]
    fn missing_program_is_ap0711_and_changes_nothing() {
        let d = Nft::new("/nonexistent/nft").version().unwrap_err();
        assert_eq!(d.code.code, "AP0711");
        assert!(d.message.contains("/nonexistent/nft"), "{}", d.message);
    }
}
