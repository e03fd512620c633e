//! Host facts looked up at `apply`/`run` time, never at build time: where the
//! cgroup v2 hierarchy is mounted (read from `/proc/self/mountinfo`; it is
//! `/sys/fs/cgroup` on pure v2 hosts and `/sys/fs/cgroup/unified` on hybrid
//! ones, so it is never assumed). The parsing is pure and tested on texts;
//! [`probe_cgroup_mount`] reads the real file.

use crate::codes;
use agentpol_core::diag::Diag;
use agentpol_core::span::Span;
use agentpol_firewall::plan::check_cgroup_path;

/// Where cgroup2 is mounted, as found in `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMount {
    /// The mount point, e.g. `/sys/fs/cgroup/unified`.
    pub mount_point: String,
    /// The mount point relative to `/sys/fs/cgroup`, where nft resolves
    /// `socket cgroupv2` paths (`agentpol_firewall::Options::cgroup_root`).
    pub nft_root: String,
}

/// Where nft resolves `socket cgroupv2` paths.
pub const NFT_CGROUP_BASE: &str = "/sys/fs/cgroup";

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

/// Reads `/proc/self/mountinfo` and finds the cgroup2 mount (see
/// [`cgroup_root_from_mountinfo`]).
pub fn probe_cgroup_mount() -> Result<CgroupMount, Box<Diag>> {
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => cgroup_root_from_mountinfo(&text),
        Err(e) => Err(Box::new(
            Diag::error(
                &codes::CGROUP2_NOT_FOUND,
                Span::default(),
                format!("cannot read /proc/self/mountinfo: {e}"),
            )
            .help("run agentpolc on Linux with /proc mounted"),
        )),
    }
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
}
