//! What the `agentpolc` binary needs to apply a ruleset, as pure functions:
//! finding the cgroup2 mount, judging `nft --version`, the command lines, and
//! the diagnostics for each failure. The binary runs the programs.
//!
//! Apply order (see the crate docs): create the agents' cgroup directories,
//! check the script (`nft -c -f`), load it (`nft -f`, one transaction), list
//! the table back and compare it with the script ([`crate::validate::Layout`]);
//! on a mismatch, remove the table again (fail closed: never a half-understood
//! ruleset).

use crate::codes;
use crate::plan::check_cgroup_path;
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Policy, Scope};
use agentpol_core::span::Span;

/// Where cgroup2 is mounted, as found in `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// The mount point, e.g. `/sys/fs/cgroup/unified`.
    pub mount_point: String,
    /// The mount point relative to `/sys/fs/cgroup` ([`crate::Options::cgroup_root`]).
    pub nft_root: String,
}

/// Where nft resolves `socket cgroupv2` paths.
pub const NFT_CGROUP_BASE: &str = "/sys/fs/cgroup";

/// The oldest nftables with `socket cgroupv2 level`.
pub const MIN_NFT: (u32, u32, u32) = (0, 9, 9);

fn unescape_mountinfo(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the cgroup2 mount nft can see in the text of `/proc/self/mountinfo`.
pub fn cgroup_root_from_mountinfo(text: &str) -> Result<CgroupMount, Box<Diag>> {
    let mut seen = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        if post.split_whitespace().next() != Some("cgroup2") {
            continue;
        }
        let f: Vec<&str> = pre.split_whitespace().collect();
        let (Some(root), Some(mp)) = (f.get(3), f.get(4)) else {
            continue;
        };
        let mp = unescape_mountinfo(mp);
        if *root != "/" {
            seen.push(format!(
                "{mp} (a sub-tree {root} of the hierarchy: nft levels would be wrong)"
            ));
            continue;
        }
        if mp == NFT_CGROUP_BASE {
            return Ok(CgroupMount {
                mount_point: mp,
                nft_root: String::new(),
            });
        }
        if let Some(rest) = mp.strip_prefix("/sys/fs/cgroup/") {
            if check_cgroup_path(rest).is_ok() {
                return Ok(CgroupMount {
                    nft_root: rest.to_string(),
                    mount_point: mp,
                });
            }
        }
        seen.push(mp);
    }
    let mut d = Diag::error(
        &codes::CGROUP2_NOT_FOUND,
        Span::default(),
        if seen.is_empty() {
            "no cgroup2 file system is mounted".to_string()
        } else {
            format!("cgroup2 is mounted only where nft cannot resolve paths: {}", seen.join(", "))
        },
    )
    .help("mount cgroup2 at /sys/fs/cgroup (or /sys/fs/cgroup/unified on a hybrid host), or scope agents by uid");
    d = d.note(
        "nft resolves `socket cgroupv2` paths relative to /sys/fs/cgroup when it loads a ruleset",
    );
    Err(Box::new(d))
}

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

/// A domain could not be resolved while applying.
pub fn resolve_failed(name: &str, why: &str) -> Diag {
    Diag::warning(
        &codes::RESOLVE_FAILED,
        Span::default(),
        format!("cannot resolve {name}: {why}"),
    )
    .help("check the agent's resolvers and the name, then apply again")
    .note("fail closed: an allow for this name allows nothing, a deny is widened to every address")
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

/// Absolute cgroup directories of the cgroup-scoped agents, to create before loading.
pub fn cgroup_dirs(policy: &Policy, mount: &CgroupMount) -> Vec<String> {
    let mut out: Vec<String> = policy
        .agents
        .iter()
        .filter_map(|a| match &a.scope {
            Scope::Cgroup { path } if check_cgroup_path(path).is_ok() => Some(format!(
                "{}/{}",
                mount.mount_point.trim_end_matches('/'),
                path
            )),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
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
        crate::nft::TABLE.into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "24 29 0:22 / /sys rw,nosuid - sysfs sysfs rw\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
        42 31 0:39 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";

    #[test]
    fn finds_hybrid_mount() {
        let m = cgroup_root_from_mountinfo(HYBRID).unwrap();
        assert_eq!(m.nft_root, "unified");
        assert_eq!(m.mount_point, "/sys/fs/cgroup/unified");
    }

    #[test]
    fn finds_pure_v2_mount() {
        let m = cgroup_root_from_mountinfo(
            "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
        )
        .unwrap();
        assert_eq!(m.nft_root, "");
    }

    #[test]
    fn refuses_mount_outside_sysfs_and_subtrees() {
        let e = cgroup_root_from_mountinfo("30 23 0:26 / /mnt/cg\\040x rw - cgroup2 none rw\n")
            .unwrap_err();
        assert!(e.message.contains("/mnt/cg x"), "{}", e.message);
        let e = cgroup_root_from_mountinfo(
            "30 23 0:26 /user.slice /sys/fs/cgroup rw - cgroup2 none rw\n",
        )
        .unwrap_err();
        assert!(e.message.contains("sub-tree /user.slice"), "{}", e.message);
        let e = cgroup_root_from_mountinfo("").unwrap_err();
        assert_eq!(e.message, "no cgroup2 file system is mounted");
    }

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
}
