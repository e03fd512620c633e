//! Everything that touches the host at run time: probing the kernel (cgroup v2
//! mount, Landlock ABI, BPF support), resolving domains, managing cgroups and
//! loading firewall rules. Build output never depends on it: host facts are
//! looked up at `apply`/`run` time only.

pub mod enforcer_plan;
pub mod landlock;
pub mod landlock_plan;
pub mod supervisor;
