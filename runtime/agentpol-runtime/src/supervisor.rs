//! Host state of one `agentpolc run`: the cgroup v2 mount, the per-run cgroup
//! and state directory, the user to drop to. Everything created here is
//! recorded in the state directory so `agentpolc cleanup` can remove what a
//! killed supervisor left behind.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where runs keep their state (one 0700 directory per run).
pub const STATE_ROOT: &str = "/run/agentpol/runs";

/// The cgroup v2 mount point, from `/proc/self/mountinfo` text (field 5 is the
/// mount point; the filesystem type follows the ` - ` separator).
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        if post.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        pre.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// A user to drop to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Looks `name` (or a numeric uid) up in passwd-format `text`.
pub fn find_user(text: &str, name: &str) -> Option<User> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let (n, uid, gid) = (f.first()?, f.get(2)?, f.get(3)?);
        (*n == name || *uid == name).then(|| {
            Some(User {
                name: (*n).to_owned(),
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
            })
        })?
    })
}

/// A run id: the agent, the supervisor's pid and the start time, so two
/// runs of one agent never collide.
pub fn run_id(principal: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{}-{}-{}",
        principal.replace('.', "_"),
        std::process::id(),
        secs
    )
}

/// What one run created, written to `STATE_ROOT/<id>/run.json`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// Run id.
    pub id: String,
    /// `agent[.skill]`.
    pub principal: String,
    /// The supervisor's pid.
    pub supervisor_pid: u32,
    /// The run's cgroup directory.
    pub cgroup: PathBuf,
    /// The event log.
    pub log: PathBuf,
    /// The bpffs directory pinning the network enforcer's links (they stay
    /// attached, and the agent filtered, until it is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_pins: Option<PathBuf>,
}

/// Creates the run's state directory (mode 0700) under `root`.
pub fn create_state_dir(root: &Path, id: &str) -> std::io::Result<PathBuf> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)?;
    let dir = root.join(id);
    fs::DirBuilder::new().mode(0o700).create(&dir)?;
    // The umask may have narrowed it further; never wider.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

/// Writes `state` into its directory.
pub fn save_state(dir: &Path, state: &RunState) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    fs::write(dir.join("run.json"), text)
}

/// The runs recorded under `root`, with whether their supervisor still lives.
pub fn list_runs(root: &Path) -> Vec<(RunState, bool)> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(text) = fs::read_to_string(e.path().join("run.json")) else {
            continue;
        };
        if let Ok(s) = serde_json::from_str::<RunState>(&text) {
            let alive = Path::new(&format!("/proc/{}", s.supervisor_pid)).exists();
            out.push((s, alive));
        }
    }
    out.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    out
}

/// Kills every process left in `cgroup` (`cgroup.kill`, kernel ≥ 5.14) and
/// removes it, waiting up to `timeout` for it to empty.
pub fn remove_cgroup(cgroup: &Path, timeout: Duration) -> std::io::Result<()> {
    if !cgroup.exists() {
        return Ok(());
    }
    let _ = fs::write(cgroup.join("cgroup.kill"), "1");
    let start = Instant::now();
    loop {
        match fs::remove_dir(cgroup) {
            Ok(()) => return Ok(()),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// True while any process is in `cgroup` (its `cgroup.events` says `populated 1`).
pub fn populated(cgroup: &Path) -> bool {
    fs::read_to_string(cgroup.join("cgroup.events"))
        .map(|t| t.lines().any(|l| l.trim() == "populated 1"))
        .unwrap_or(false)
}

/// Removes one run's cgroup, then its BPF pins (only once no process is
/// left that they filter), then its state directory.
pub fn cleanup(root: &Path, state: &RunState) -> std::io::Result<()> {
    remove_cgroup(&state.cgroup, Duration::from_secs(5))?;
    if let Some(pins) = &state.bpf_pins {
        if pins.exists() {
            fs::remove_dir_all(pins)?;
        }
    }
    let dir = root.join(&state.id);
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_whatever_its_path() {
        let mi = "24 30 0:22 / /sys rw - sysfs sysfs rw\n\
                  35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n\
                  36 25 0:31 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(
            cgroup2_mount(mi),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount("24 30 0:22 / /sys rw - sysfs sysfs rw\n"),
            None
        );
    }

    #[test]
    fn users_by_name_or_uid() {
        let pw =
            "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n";
        let n = find_user(pw, "nobody").map(|u| (u.uid, u.gid));
        assert_eq!(n, Some((65534, 65534)));
        assert_eq!(find_user(pw, "0").map(|u| u.name), Some("root".into()));
        assert_eq!(find_user(pw, "mallory"), None);
    }

    #[test]
    fn state_dirs_are_private() {
        let root = std::env::temp_dir().join(format!("agentpol-state-test-{}", std::process::id()));
        let d = create_state_dir(&root, "a-1-2").map_err(|e| e.to_string());
        let mode = d
            .as_ref()
            .ok()
            .and_then(|d| fs::metadata(d).ok())
            .map(|m| m.permissions().mode() & 0o777);
        let _ = fs::remove_dir_all(&root);
        assert_eq!(mode, Some(0o700));
    }
}
