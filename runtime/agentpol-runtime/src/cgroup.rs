//! Cgroup management for agents scoped by cgroup: the directories an agent's
//! processes live in. nft resolves `socket cgroupv2` paths to cgroup ids when a
//! ruleset is loaded and refuses paths that do not exist, so `apply` creates
//! them first; `run` places the agent's processes in them. A cgroup deleted and
//! re-created later gets a new id and needs a re-apply.

use crate::host::CgroupMount;
use crate::nft::{nft_rejected, not_privileged};
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Policy, Scope};
use agentpol_firewall::plan::check_cgroup_path;
use std::path::Path;

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

/// True when some agent is scoped by cgroup (so the cgroup2 mount is needed).
pub fn has_cgroup_agents(policy: &Policy) -> bool {
    policy
        .agents
        .iter()
        .any(|a| matches!(a.scope, Scope::Cgroup { .. }))
}

/// Creates each directory that does not exist yet; returns the ones created.
/// Stops at the first failure (a permission error is AP0716, others AP0713:
/// nft could not resolve the path either).
pub fn ensure_dirs(dirs: &[String]) -> Result<Vec<String>, Box<Diag>> {
    let mut created = Vec::new();
    for dir in dirs {
        if Path::new(dir).exists() {
            continue;
        }
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(Box::new(
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    not_privileged(&format!("mkdir {dir}: {e}"))
                } else {
                    nft_rejected("create cgroup", &format!("mkdir {dir}: {e}"))
                },
            ));
        }
        created.push(dir.clone());
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_dirs_creates_and_reports_only_new_ones() {
        let base = std::env::temp_dir().join(format!("agentpol-cg-{}", std::process::id()));
        let a = base.join("a").to_string_lossy().into_owned();
        let b = base.join("b/c").to_string_lossy().into_owned();
        std::fs::create_dir_all(&a).unwrap();
        let created = ensure_dirs(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(created, vec![b.clone()]);
        assert!(Path::new(&b).is_dir());
        let _ = std::fs::remove_dir_all(&base);
    }
}
