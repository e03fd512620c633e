//! The kernel network enforcer of `agentpolc run`: cgroup `sock_addr` BPF
//! programs (`bpf/net.bpf.c`: connect4/6, sendmsg4/6, bind4/6) that decide
//! every connect, unconnected UDP send and bind of the processes in the run's
//! cgroup from maps compiled out of the agent's (and skill's) `net` rules.
//!
//! * [`compile`]: rules (+ names resolved at start) → map contents. Pure.
//! * [`loader`]: load the object with aya, fill the maps, probe, attach.
//! * [`event`]: the ring-buffer records, as `lang-spec/events.md` JSON lines.
//!
//! Depends on `agentpol-core` only: DNS results come in as data
//! ([`compile::Names`]), resolved by the caller (`agentpol-runtime`).

pub mod compile;
pub mod event;
pub mod loader;

/// The compiled BPF object, or None when the crate was built without clang.
pub fn object() -> Option<&'static [u8]> {
    #[cfg(agentpol_bpf_object)]
    {
        static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/net.bpf.o"));
        Some(OBJECT)
    }
    #[cfg(not(agentpol_bpf_object))]
    {
        None
    }
}

/// The bpffs mount point, from `/proc/self/mountinfo` text.
pub fn bpffs_mount(mountinfo: &str) -> Option<std::path::PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        (post.split_whitespace().next()? == "bpf")
            .then(|| pre.split_whitespace().nth(4).map(std::path::PathBuf::from))?
    })
}

/// Why the enforcer is missing from a build without clang.
pub const NOT_BUILT: &str =
    "agentpol-bpf was built without clang: apt-get install clang libbpf-dev, then rebuild";

#[cfg(test)]
mod tests {
    #[test]
    fn finds_bpffs_wherever_it_is_mounted() {
        let mi = "24 30 0:22 / /sys rw - sysfs sysfs rw\n\
                  40 24 0:33 / /sys/fs/bpf rw,nosuid - bpf bpf rw,mode=700\n";
        assert_eq!(super::bpffs_mount(mi), Some("/sys/fs/bpf".into()));
        assert_eq!(
            super::bpffs_mount("24 30 0:22 / /sys rw - sysfs sysfs rw\n"),
            None
        );
    }
}
