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

/// Why the enforcer is missing from a build without clang.
pub const NOT_BUILT: &str =
    "agentpol-bpf was built without clang: apt-get install clang libbpf-dev, then rebuild";
