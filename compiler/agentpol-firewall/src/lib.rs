//! agentpol firewall backend: agent-scoped egress as nftables and iptables rules.
//!
//! ```text
//! IR ──lower──▶ firewall model (an IR Policy + loss report) ──nft::render──▶ table inet agentpol
//!                                                            └─iptables::render──▶ iptables-restore pair + ipset file
//! ```
//!
//! Architecture invariant: pure. Nothing here runs a program, touches a file or
//! reads a host fact: the output is a function of the IR and [`Options`] only.
//! Applying a ruleset on a host (cgroup2 mount, DNS, `nft` with verify and
//! rollback) is `agentpol-runtime`'s job. API boundary: reads only
//! [`agentpol_core::ir`].
//!
//! # The packet model
//! A firewall sees packets, not system calls. Each packet of a socket in an
//! agent's scope is decided as the requests it can stand for (normative for
//! this backend; [`validate::expected`] implements it):
//!
//! | packet | requests | verdict |
//! |---|---|---|
//! | reply or related (conntrack `established`, `related`) | none | accept |
//! | outgoing TCP, new | `connect tcp <dst> port <dport>` | its decision |
//! | outgoing UDP, new | `connect udp ...` **and** `sendto udp ...` | allow only if both allow |
//! | outgoing other protocol (ICMP, SCTP, raw) | none exists in the language | deny |
//! | incoming TCP/UDP to the agent's socket, new | `listen <proto> <dst> port <dport>` (dst = local address) | its decision |
//!
//! * **Scope.** An agent's sockets are those created by processes in its cgroup
//!   (or below it: `socket cgroupv2 level N` compares the ancestor at the
//!   agent's depth) or with its uid. A socket in the scope of several agents
//!   must be allowed by each (agent chains `return` on allow and reject on deny).
//!   Traffic of other sockets is never touched: base chains have policy accept.
//! * **Loopback.** No exemption: `127.0.0.0/8` and `::1` are decided by the rules
//!   like any address, so `allow connect tcp 127.0.0.1 port 8080` is needed to
//!   reach a local service. An agent talking to itself over loopback needs both
//!   the `connect` and the `listen`.
//! * **DNS.** When an agent names `resolvers`, DNS (port 53, TCP and UDP) to
//!   them is allowed (unless a deny rule says otherwise) and DNS to any other
//!   address is refused.
//! * **listen.** Enforced on incoming packets (a denied listener receives
//!   nothing), not on `bind` itself; uid-scoped agents and the iptables target
//!   cannot attribute incoming packets and do not filter them (AP0706).
//! * **Domains** are resolved when the ruleset is applied, from
//!   [`Options::resolutions`]. Without a resolution (at `build`), rules keep
//!   them as load-time sets that `apply` fills (nft sets; ipset sets for
//!   iptables); see [`lower`] for every approximation and the loss report it
//!   produces.
//!
//! # Loading
//! nft resolves `socket cgroupv2` paths to cgroup ids **when the ruleset is
//! loaded**, and refuses a path that does not exist. So the cgroups are created
//! first, then the ruleset is loaded; a cgroup deleted and re-created later
//! gets a new id and needs a re-apply. `agentpol_runtime::nft` does the steps.
//! iptables' `-m cgroup --path` is resolved the same way, when a rule is
//! added, and its rules need their ipset sets to exist first;
//! `agentpol_runtime::iptables` does those steps.

pub mod codes;
pub mod interval;
pub mod iptables;
pub mod lower;
pub mod nft;
pub mod plan;
pub mod validate;
pub mod validate_iptables;

pub use codes::FIREWALL_CODES;

use agentpol_core::backend::TargetOutput;
use agentpol_core::ir::Policy;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// How a denied packet is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DenyAction {
    /// Answer with ICMP administratively prohibited: `connect` fails at once
    /// with `EHOSTUNREACH` instead of timing out.
    #[default]
    Reject,
    /// Drop silently.
    Drop,
}

/// Options of the firewall emitters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// Where the cgroup2 hierarchy is, relative to `/sys/fs/cgroup` (where nft
    /// resolves `socket cgroupv2` paths): `""` when cgroup2 is mounted at
    /// `/sys/fs/cgroup`, `"unified"` on hybrid hosts. `build` always writes
    /// `""` (its output never depends on the build host); `apply` detects the
    /// real one with `agentpol_runtime::host`. Only nft uses it
    /// (iptables' `--path` is relative to the cgroup2 root itself).
    pub cgroup_root: String,
    /// Domain name → how it resolved when applied. Names missing here fail
    /// closed (see [`lower`]).
    pub resolutions: BTreeMap<String, Resolution>,
    /// Log denied packets at each agent's final deny with this prefix.
    pub log_prefix: Option<String>,
    /// Reject or drop.
    pub deny: DenyAction,
}

/// The addresses a domain resolved to when the ruleset was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// A and AAAA answers (may be empty: the name did not resolve).
    pub addrs: Vec<IpAddr>,
    /// The address of the resolver that answered (`1.1.1.1`), a declared
    /// one or the host's.
    pub resolver: String,
    /// The smallest TTL of the answers, in seconds.
    pub ttl_secs: u32,
    /// When it was resolved (RFC 3339), if known.
    pub at: Option<String>,
}

/// Emits `agentpol.nft`: one nftables script that atomically replaces `table
/// inet agentpol` (and nothing else), and `remove.nft`, which deletes it.
pub fn emit_nft(policy: &Policy, opts: &Options) -> TargetOutput {
    let lowered = lower::lower(policy, opts, lower::Layer::Nft);
    nft::output(&lowered, opts)
}

/// Emits `agentpol.v4.rules` / `agentpol.v6.rules` for `iptables-restore
/// --noflush` / `ip6tables-restore --noflush`, `agentpol.ipset` for `ipset
/// restore` (the domains' load-time sets), and the matching `remove.*` files.
pub fn emit_iptables(policy: &Policy, opts: &Options) -> TargetOutput {
    let meaning = lower::lower(policy, opts, lower::Layer::Iptables);
    let shape = if opts.resolutions.is_empty() {
        meaning.clone()
    } else {
        iptables::shape(policy, opts)
    };
    iptables::output(&meaning, &shape, opts)
}
