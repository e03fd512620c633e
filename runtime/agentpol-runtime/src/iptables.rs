//! Loading an agentpol iptables ruleset and its ipset sets with check, verify
//! and rollback, and removing them again.
//!
//! Order, and why: the caller checks the programs ([`Iptables::version`]),
//! creates the agents' cgroups (`-m cgroup --path` is resolved when a rule is
//! added) and refuses a deny whose set cannot be filled (AP0717); then
//! [`Iptables::load_verified`]
//! 1. creates and fills the sets (`ipset restore`): each set's temporary twin
//!    is filled and swapped in, so a set already in use by loaded rules is
//!    never seen empty or half filled. A set's name fixes its meaning (the
//!    names of one rule, [`agentpol_firewall::iptables::set_name`]), so
//!    re-filling one in use is a DNS refresh, never another rule's addresses;
//! 2. checks both rules files (`iptables-restore --test --noflush`, and
//!    `ip6tables-restore`): a refusal changes no rule;
//! 3. loads them; each file is one transaction whose `:CHAIN` lines flush and
//!    refill agentpol's chains, so a re-apply replaces the old rules of each
//!    family in one step (the `OUTPUT` jump is left out when it is there);
//! 4. deletes agentpol chains of an older, larger ruleset and destroys
//!    agentpol sets no loaded rule uses;
//! 5. lists everything back (`iptables-save`, `ip6tables-save`, `ipset save`)
//!    and compares it with what was emitted; on a mismatch, or a load that
//!    failed half way, it removes agentpol's chains and sets (fail closed:
//!    never a half-understood ruleset).
//!
//! agentpol recognises its own chains (`AGENTPOL_OUTPUT`, `AP<n>_OUT…`) and
//! sets (`agentpol_…`) by name and touches nothing else.

use crate::codes;
use crate::nft::not_privileged;
use agentpol_core::diag::Diag;
use agentpol_core::span::Span;
use agentpol_firewall::iptables::{
    fill_script, is_agentpol_chain, is_agentpol_set, removal_script, Family, IpSet, BASE_CHAIN,
    OUTPUT_JUMP,
};
use agentpol_firewall::validate_iptables::{layout, IpSets, IptRuleset};
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

/// The programs agentpol drives for the iptables target (it never talks
/// netlink itself).
#[derive(Clone, Debug)]
pub struct Iptables {
    /// `ipset`.
    pub ipset: String,
    /// `iptables-restore` and `ip6tables-restore`.
    pub restore: [String; 2],
    /// `iptables-save` and `ip6tables-save`.
    pub save: [String; 2],
}

/// What [`Iptables::load_verified`] changed besides loading the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Sets created or re-filled.
    pub sets: usize,
    /// Chains of an older ruleset that were deleted.
    pub stale_chains: Vec<String>,
    /// Sets no loaded rule used any more, destroyed.
    pub stale_sets: Vec<String>,
}

/// What [`Iptables::remove`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Chains deleted, both families together.
    pub chains: usize,
    /// `OUTPUT` jumps deleted.
    pub jumps: usize,
    /// Sets destroyed.
    pub sets: usize,
}

fn fam_index(fam: Family) -> usize {
    match fam {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

const FAMILIES: [Family; 2] = [Family::V4, Family::V6];

impl Iptables {
    /// Drives `ipset` and the iptables programs found on PATH.
    pub fn new(ipset: impl Into<String>) -> Iptables {
        Iptables {
            ipset: ipset.into(),
            restore: ["iptables-restore".into(), "ip6tables-restore".into()],
            save: ["iptables-save".into(), "ip6tables-save".into()],
        }
    }

    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<Output, Box<Diag>> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd
            .spawn()
            .map_err(|e| Box::new(tools_missing(&format!("cannot run {program}: {e}"))))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A program that exits early closes the pipe; its status says why.
            let _ = pipe.write_all(text.as_bytes());
        }
        child
            .wait_with_output()
            .map_err(|e| Box::new(tools_missing(&format!("{program}: {e}"))))
    }

    /// Runs each program with `--version` and refuses missing or old ones
    /// (AP0719): iptables 1.6.1 (`-m cgroup --path`), ipset 6.0.
    pub fn version(&self) -> Result<(), Box<Diag>> {
        for p in self.restore.iter().chain(&self.save) {
            let out = self.run(p, &["--version"], None)?;
            check_iptables_version(p, &String::from_utf8_lossy(&out.stdout))?;
        }
        let out = self.run(&self.ipset, &["--version"], None)?;
        check_ipset_version(&String::from_utf8_lossy(&out.stdout))?;
        Ok(())
    }

    /// The filter table of `fam` as `*-save` lists it, agentpol's part only.
    fn listed(&self, fam: Family) -> Result<IptRuleset, Box<Diag>> {
        let out = self.run(&self.save[fam_index(fam)], &["-t", "filter"], None)?;
        if !out.status.success() {
            return Err(Box::new(refused(
                &format!("{} -t filter", self.save[fam_index(fam)]),
                &out,
                Changed::Nothing,
            )));
        }
        IptRuleset::parse(&agentpol_part(&String::from_utf8_lossy(&out.stdout)), fam).map_err(|e| {
            Box::new(rejected(
                "list",
                &format!("cannot read agentpol's chains: {e}"),
                Changed::Nothing,
            ))
        })
    }

    fn sets_listed(&self) -> Result<IpSets, Box<Diag>> {
        let out = self.run(&self.ipset, &["save"], None)?;
        if !out.status.success() {
            return Err(Box::new(refused("ipset save", &out, Changed::Nothing)));
        }
        IpSets::parse(&agentpol_sets_part(&String::from_utf8_lossy(&out.stdout))).map_err(|e| {
            Box::new(rejected(
                "list",
                &format!("cannot read agentpol's sets: {e}"),
                Changed::Nothing,
            ))
        })
    }

    fn set_names(&self) -> Result<Vec<String>, Box<Diag>> {
        let out = self.run(&self.ipset, &["list", "-n"], None)?;
        if !out.status.success() {
            return Err(Box::new(refused("ipset list -n", &out, Changed::Nothing)));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|n| is_agentpol_set(n))
            .map(str::to_string)
            .collect())
    }

    /// Destroys agentpol's sets that are not in `keep`; a set some rule still
    /// uses cannot be destroyed and stays (the kernel refuses). Returns the
    /// sets destroyed.
    fn destroy_unused_sets(&self, keep: &[&str]) -> Vec<String> {
        let mut gone = Vec::new();
        for name in self.set_names().unwrap_or_default() {
            if keep.contains(&name.as_str()) {
                continue;
            }
            if self
                .run(&self.ipset, &["destroy", &name], None)
                .is_ok_and(|o| o.status.success())
            {
                gone.push(name);
            }
        }
        gone
    }

    /// Creates and fills `sets`, checks, loads and verifies the rules files
    /// `rules` (IPv4, IPv6) as emitted by `agentpol_firewall::emit_iptables`
    /// with the same options. See the module docs for the steps and what a
    /// failure at each leaves behind.
    pub fn load_verified(&self, rules: [&str; 2], sets: &[IpSet]) -> Result<Loaded, Box<Diag>> {
        if let Some(s) = sets.iter().find(|s| s.fill.is_none()) {
            return Err(Box::new(crate::dns::deny_set_unfilled(
                &s.domains.join(", "),
                &s.rule.0,
                Span::default(),
            )));
        }
        let before = [self.listed(Family::V4)?, self.listed(Family::V6)?];
        let keep: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();

        // (1) Sets.
        let out = self.run(&self.ipset, &["restore"], Some(&fill_script(sets)))?;
        if !out.status.success() {
            self.destroy_unused_sets(&[]);
            return Err(Box::new(refused("ipset restore", &out, Changed::Nothing)));
        }
        // (2) Check, (3) load.
        let texts: Vec<String> = FAMILIES
            .iter()
            .map(|f| reload_text(rules[fam_index(*f)], before[fam_index(*f)].output_jumps()))
            .collect();
        for (fam, text) in FAMILIES.iter().zip(&texts) {
            let prog = &self.restore[fam_index(*fam)];
            let out = self.run(prog, &["--test", "--noflush"], Some(text))?;
            if !out.status.success() {
                self.destroy_unused_sets(&[]);
                return Err(Box::new(refused(
                    &format!("{prog} --test"),
                    &out,
                    Changed::Nothing,
                )));
            }
        }
        for (fam, text) in FAMILIES.iter().zip(&texts) {
            let prog = &self.restore[fam_index(*fam)];
            let out = self.run(prog, &["--noflush"], Some(text))?;
            if !out.status.success() {
                return Err(self.refused_midway(prog, &out));
            }
        }
        // (4) Leftovers of an older ruleset.
        let mut stale_chains = Vec::new();
        for fam in FAMILIES {
            let want = IptRuleset::parse(rules[fam_index(fam)], fam)
                .map(|r| r.agentpol_chains())
                .unwrap_or_default();
            let now = self.listed(fam)?;
            let stale: Vec<String> = now
                .agentpol_chains()
                .into_iter()
                .filter(|c| !want.contains(c))
                .collect();
            if !stale.is_empty() {
                let prog = &self.restore[fam_index(fam)];
                let out = self.run(prog, &["--noflush"], Some(&removal_script(0, &stale)))?;
                if !out.status.success() {
                    return Err(self.refused_midway(prog, &out));
                }
                stale_chains.extend(stale);
            }
        }
        let stale_sets = self.destroy_unused_sets(&keep);
        // (5) Verify.
        if let Some(detail) = self.differs(rules, sets) {
            let removed = self.remove().is_ok();
            return Err(Box::new(verify_failed(&detail, removed)));
        }
        Ok(Loaded {
            sets: sets.len(),
            stale_chains,
            stale_sets,
        })
    }

    /// A program refused after part of the ruleset was loaded: remove all of
    /// it (a half-loaded ruleset means neither the old nor the new policy)
    /// and say whether that worked.
    fn refused_midway(&self, prog: &str, out: &Output) -> Box<Diag> {
        let changed = if self.remove().is_ok() {
            Changed::RemovedAll
        } else {
            Changed::Unknown
        };
        Box::new(refused(prog, out, changed))
    }

    /// What differs between what is loaded and `rules` + `sets` (`None`: nothing).
    fn differs(&self, rules: [&str; 2], sets: &[IpSet]) -> Option<String> {
        let want = (|| -> Result<_, String> {
            let v4 = IptRuleset::parse(rules[0], Family::V4)?;
            let v6 = IptRuleset::parse(rules[1], Family::V6)?;
            let s = IpSets::parse(&fill_script(sets))?;
            Ok(layout(&v4, &v6, &s))
        })();
        let got = (|| -> Result<_, Box<Diag>> {
            let v4 = self.listed(Family::V4)?;
            let v6 = self.listed(Family::V6)?;
            let s = self.sets_listed()?;
            Ok(layout(&v4, &v6, &s))
        })();
        match (want, got) {
            (Ok(w), Ok(g)) => {
                let diff = w.diff(&g);
                (!diff.is_empty()).then(|| diff.join("; "))
            }
            (Err(e), _) => Some(e),
            (_, Err(d)) => Some(d.message.clone()),
        }
    }

    /// Removes agentpol's chains and `OUTPUT` jumps (both families) and then
    /// its sets, and nothing else; removing nothing is fine.
    pub fn remove(&self) -> Result<Removed, Box<Diag>> {
        let mut removed = Removed::default();
        for fam in FAMILIES {
            let now = self.listed(fam)?;
            let chains = now.agentpol_chains();
            let jumps = now.output_jumps();
            if chains.is_empty() && jumps == 0 {
                continue;
            }
            let prog = &self.restore[fam_index(fam)];
            let out = self.run(prog, &["--noflush"], Some(&removal_script(jumps, &chains)))?;
            if !out.status.success() {
                return Err(Box::new(refused(
                    &format!("{prog} (remove)"),
                    &out,
                    Changed::Unknown,
                )));
            }
            removed.chains += chains.len();
            removed.jumps += jumps;
        }
        for name in self.set_names()? {
            let out = self.run(&self.ipset, &["destroy", &name], None)?;
            if !out.status.success() {
                return Err(Box::new(refused(
                    &format!("ipset destroy {name}"),
                    &out,
                    Changed::Unknown,
                )));
            }
            removed.sets += 1;
        }
        Ok(removed)
    }
}

/// The rules file to load over what is loaded now: with `jumps` jumps from
/// `OUTPUT` already there, the file's own jump is left out and extra ones
/// (a file loaded twice by hand) are deleted, in the same transaction.
pub fn reload_text(rules: &str, jumps: usize) -> String {
    if jumps == 0 {
        return rules.to_string();
    }
    let mut out = String::new();
    for line in rules.lines() {
        if line.trim() == OUTPUT_JUMP {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if line.trim() == "*filter" {
            for _ in 1..jumps {
                out.push_str(&format!("-D OUTPUT -j {BASE_CHAIN}\n"));
            }
        }
    }
    out
}

/// The lines of `*-save` output about agentpol: its chains' declarations and
/// rules and the `OUTPUT` jumps to it, in a `*filter` table (other rules of
/// the host are not read, so options agentpol never writes cannot upset it).
pub fn agentpol_part(save: &str) -> String {
    let mut out = String::from("*filter\n");
    for line in save.lines() {
        let t = line.trim();
        let ours = if let Some(rest) = t.strip_prefix(':') {
            rest.split_whitespace()
                .next()
                .is_some_and(is_agentpol_chain)
        } else if let Some(rest) = t.strip_prefix("-A ") {
            rest.split_whitespace()
                .next()
                .is_some_and(is_agentpol_chain)
                || t == format!("-A OUTPUT -j {BASE_CHAIN}")
        } else {
            false
        };
        if ours {
            out.push_str(t);
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
    out
}

/// The lines of `ipset save` output about agentpol's sets.
pub fn agentpol_sets_part(save: &str) -> String {
    save.lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            matches!(w.next(), Some("create" | "add")) && w.next().is_some_and(is_agentpol_set)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What a failure left behind, for the diagnostic's note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// No rule changed (sets no rule uses were destroyed again).
    Nothing,
    /// agentpol's chains and sets were removed.
    RemovedAll,
    /// Removing them failed too.
    Unknown,
}

fn refused(stage: &str, out: &Output, changed: Changed) -> Diag {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Operation not permitted") || stderr.contains("Permission denied") {
        not_privileged(&format!("{stage}: {}", stderr.trim()))
            .help("run `sudo agentpolc apply --target iptables --policy DIR`")
    } else {
        rejected(stage, &stderr, changed)
    }
}

/// What was loaded differs from what was emitted.
pub fn verify_failed(detail: &str, removed: bool) -> Diag {
    Diag::error(
        &codes::APPLY_VERIFY_FAILED,
        Span::default(),
        format!("the loaded iptables rules or ipset sets differ from the emitted ruleset: {detail}"),
    )
    .help("make sure no other tool manages the AGENTPOL_OUTPUT/APn_* chains or the agentpol_* sets, then apply again")
    .note(if removed {
        "agentpol's chains and sets were removed again: agentpol does not filter any traffic now"
    } else {
        "removing them failed too: inspect them with `iptables-save`, `ip6tables-save` and `ipset list`"
    })
}

/// A program refused a file or a command at `stage` (AP0720), with its
/// message and what that left behind.
pub fn rejected(stage: &str, stderr: &str, changed: Changed) -> Diag {
    let mut d = Diag::error(
        &codes::IPTABLES_REJECTED,
        Span::default(),
        format!("{stage} refused the ruleset"),
    )
    .help("read the message below; create the agents' cgroups, load xt_set/ip_set/xt_cgroup and run as root");
    for line in stderr.lines().filter(|l| !l.trim().is_empty()).take(12) {
        d = d.note(format!("{stage}: {line}"));
    }
    d.note(match changed {
        Changed::Nothing => "no rule was changed (sets no loaded rule uses were destroyed again)",
        Changed::RemovedAll => {
            "agentpol's chains and sets were removed: agentpol does not filter any traffic now"
        }
        Changed::Unknown => {
            "removing agentpol's chains and sets failed too: inspect them with `iptables-save`, `ip6tables-save` and `ipset list`"
        }
    })
}

/// A program is missing or too old.
pub fn tools_missing(why: &str) -> Diag {
    Diag::error(&codes::IPTABLES_TOOLS_MISSING, Span::default(), why.to_string())
        .help("install iptables 1.6.1 or later and ipset 6.0 or later (`apt-get install iptables ipset`) and run agentpolc as root")
        .note("nothing was changed")
}

/// The oldest iptables with `-m cgroup --path` (cgroup v2).
pub const MIN_IPTABLES: (u32, u32, u32) = (1, 6, 1);
/// The oldest ipset with `hash:net family inet6` and `swap` as used here.
pub const MIN_IPSET: (u32, u32, u32) = (6, 0, 0);

fn version_after_v(output: &str) -> Option<(u32, u32, u32)> {
    let v = output
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))?
        .trim_end_matches(',');
    let mut it = v.split('.').map(|p| p.parse::<u32>());
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
        (Some(Ok(a)), Some(Ok(b)), None) => Some((a, b, 0)),
        _ => None,
    }
}

fn check_min(
    program: &str,
    output: &str,
    min: (u32, u32, u32),
) -> Result<(u32, u32, u32), Box<Diag>> {
    match version_after_v(output) {
        Some(v) if v >= min => Ok(v),
        Some((a, b, c)) => Err(Box::new(tools_missing(&format!(
            "{program} {a}.{b}.{c} is too old: agentpol needs {}.{}.{} or later",
            min.0, min.1, min.2
        )))),
        None => Err(Box::new(tools_missing(&format!(
            "cannot read a version from `{program} --version`: {:?}",
            output.trim()
        )))),
    }
}

/// Parses `iptables-restore --version` (and the others') output.
pub fn check_iptables_version(program: &str, output: &str) -> Result<(u32, u32, u32), Box<Diag>> {
    check_min(program, output, MIN_IPTABLES)
}

/// Parses `ipset --version` output.
pub fn check_ipset_version(output: &str) -> Result<(u32, u32, u32), Box<Diag>> {
    check_min("ipset", output, MIN_IPSET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            check_iptables_version("iptables-restore", "iptables-restore v1.8.9 (nf_tables)\n")
                .unwrap(),
            (1, 8, 9)
        );
        assert_eq!(
            check_ipset_version("ipset v7.17, protocol version: 7\n").unwrap(),
            (7, 17, 0)
        );
        let old = check_iptables_version("iptables-save", "iptables-save v1.6.0").unwrap_err();
        assert_eq!(old.code.code, "AP0719");
        assert!(old.message.contains("1.6.0 is too old"), "{}", old.message);
        assert!(check_ipset_version("ipset v5.4")
            .unwrap_err()
            .message
            .contains("too old"));
        assert!(check_ipset_version("garbage")
            .unwrap_err()
            .message
            .contains("cannot read a version"));
    }

    #[test]
    fn missing_program_is_ap0719_and_changes_nothing() {
        let d = Iptables::new("/nonexistent/ipset")
            .run("/nonexistent/ipset", &["--version"], None)
            .unwrap_err();
        assert_eq!(d.code.code, "AP0719");
        assert!(d.message.contains("/nonexistent/ipset"), "{}", d.message);
    }

    #[test]
    fn reload_leaves_out_the_jump_and_deletes_extra_ones() {
        let file = "# x\n*filter\n:AGENTPOL_OUTPUT - [0:0]\n-I OUTPUT 1 -j AGENTPOL_OUTPUT\n-A AGENTPOL_OUTPUT -j RETURN\nCOMMIT\n";
        assert_eq!(reload_text(file, 0), file);
        let once = reload_text(file, 1);
        assert!(!once.contains("-I OUTPUT"), "{once}");
        assert!(!once.contains("-D OUTPUT"), "{once}");
        let twice = reload_text(file, 2);
        assert_eq!(
            twice.matches("-D OUTPUT -j AGENTPOL_OUTPUT").count(),
            1,
            "{twice}"
        );
    }

    #[test]
    fn only_agentpol_lines_are_read_back() {
        let save = "# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:AP0_OUT - [0:0]\n:APPLE - [0:0]\n-A INPUT -i lo -m state --state NEW -j ACCEPT\n-A OUTPUT -j AGENTPOL_OUTPUT\n-A OUTPUT -j APPLE\n-A AP0_OUT -p tcp -j RETURN\n-A APPLE -j DROP\nCOMMIT\n";
        let part = agentpol_part(save);
        assert_eq!(
            part,
            "*filter\n:AP0_OUT - [0:0]\n-A OUTPUT -j AGENTPOL_OUTPUT\n-A AP0_OUT -p tcp -j RETURN\nCOMMIT\n"
        );
        let sets = "create other hash:ip family inet\nadd other 192.0.2.1\ncreate agentpol_a_0123456789_4 hash:net family inet hashsize 1024\nadd agentpol_a_0123456789_4 192.0.2.7\n";
        assert_eq!(
            agentpol_sets_part(sets),
            "create agentpol_a_0123456789_4 hash:net family inet hashsize 1024\nadd agentpol_a_0123456789_4 192.0.2.7\n"
        );
    }
}
