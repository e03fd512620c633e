//! Everything that touches the host at run time: probing the kernel (cgroup v2
//! mount), resolving domains, managing cgroups and loading firewall rules.
//! Build output never depends on it: host facts are looked up at `apply`/`run`
//! time only, and `build` stays a pure function of the source and its flags.
//!
//! * [`host`]: host facts (the cgroup2 mount, from `/proc/self/mountinfo`).
//! * [`cgroup`]: the agents' cgroup directories (created before nft loads).
//! * [`dns`]: resolving the policy's domains when a ruleset is applied.
//! * [`nft`]: loading `table inet agentpol` with check, verify and rollback.
//! * [`iptables`]: loading the iptables rules and their ipset sets the same
//!   way, and removing them.
//! * [`codes`]: the diagnostics of all of these (`AP0710`–`AP0720`).
//! * [`landlock_plan`], [`landlock`]: the agent's fs/exec rules as a Landlock
//!   ruleset (sound expansion, losses) and applying it to the current process.
//! * [`enforcer_plan`]: which enforcer takes each rule kind on this host
//!   (`net`: the cgroup BPF programs of `agentpol-bpf` when they load here).
//! * [`supervisor`]: run ids, state directories and the per-run cgroup of `run`.
//!
//! Depends on `agentpol-core`, on `agentpol-firewall` (whose pure emitter
//! and translation validator it drives) and on `agentpol-bpf` (whose map
//! compiler the plan uses); nothing here is needed to build.

pub mod cgroup;
pub mod codes;
pub mod dns;
pub mod host;
pub mod iptables;
pub mod nft;

pub mod enforcer_plan;
pub mod landlock;
pub mod landlock_plan;
pub mod supervisor;

pub use codes::RUNTIME_CODES;
