//! Diagnostic codes of the firewall backend (`AP07xx`).
//!
//! They come from emission and point into the policy source. The codes of
//! applying a ruleset on a host (`AP0710`–`AP0716`) live in `agentpol-runtime`.

agentpol_core::diagnostic_codes! {
    list FIREWALL_CODES;

    BAD_CGROUP_PATH = "AP0701", "bad-cgroup-path",
        "an agent's cgroup path cannot be written into a firewall rule",
        "An agent scoped by cgroup (`scope cgroup \"agentpol/openclaw\"`) is matched in \
nftables by `socket cgroupv2 level N \"<path>\"` and in iptables by `-m cgroup --path`. \
The path must be relative to the cgroup2 mount, made of non-empty components without \
`.` or `..`, and contain only printable ASCII other than `\"`, `\\` and `/` inside a \
component (the rule text is quoted, and a quote would let the path break out of it). \
nftables also limits the depth the `level` keyword can reach.\n\n\
Why it is an error: a rule that cannot name the agent's cgroup cannot scope the \
agent's traffic, and the firewall must not guess another cgroup.\n\n\
How to fix: use a plain path such as\n\n    agent openclaw { scope cgroup \"agentpol/openclaw\" }\n\n\
or leave the scope out to get the default `agentpol/<agent>`.";

    BAD_PORT_RANGE = "AP0702", "firewall-bad-port-range",
        "a port range in the IR is empty or contains port 0",
        "Ports in rules are 1..=65535 and a range `lo..hi` needs `lo <= hi`; the checker \
rejects anything else (AP0303), so this diagnostic means the IR given to the firewall \
backend was not produced by the checker or was edited by hand.\n\n\
What the backend does: it fails closed. An `allow` with a bad range is left out (it \
allows nothing); a `deny` with a bad range is widened to every port. The build fails \
because this is an error.\n\n\
How to fix: rebuild the IR from the source with `agentpolc build`, and write ports as\n\n    \
net { allow connect tcp 192.0.2.10 port 8000..8080 }";

    MAPPED_V4_IN_V6 = "AP0703", "ipv4-mapped-network",
        "an IPv4-mapped IPv6 network is treated as its IPv4 network",
        "The semantics match an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as its IPv4 \
address, in rules and in requests. On the wire a dual-stack socket that connects to \
`::ffff:192.0.2.1` sends an IPv4 packet to 192.0.2.1, so the firewall can only ever see \
the IPv4 form. The checker stores such networks as IPv4; this warning means the IR held \
one in IPv6 form (a `/96` or longer inside `::ffff:0:0/96`).\n\n\
What the backend does: it puts the network in the rule's IPv4 set, exactly as the \
semantics say, and nothing in the IPv6 set.\n\n\
How to fix: write the IPv4 address directly:\n\n    net { allow connect tcp 192.0.2.1 port 443 }";

    UNRESOLVED_DOMAIN = "AP0704", "unresolved-domain",
        "(retired) a domain rule had no resolution, so a firewall target failed closed for it",
        "No longer emitted; the number is kept so that it is never reused.\n\n\
What it said: a firewall sees addresses, not names. Before the iptables target had \
load-time sets, an exact domain (`\"api.github.com\"`) without a resolution at `build` \
could not be held there: an `allow` for it allowed nothing (fail closed) and this \
warning said so. Now both firewall targets keep every exact name as a load-time set \
that `agentpolc apply` fills when it loads the ruleset (nft sets; ipset sets matched by \
`-m set` for iptables), and the loss report lists each one. A name that fails to resolve \
when applying is AP0715; a deny whose set cannot be filled makes `apply` refuse \
(AP0717).\n\n\
How to fix: nothing to fix. An `--allow AP0704` option that silenced it can be dropped.";

    WILDCARD_DOMAIN = "AP0705", "wildcard-domain-at-l3",
        "a wildcard domain cannot be enforced by a firewall",
        "`*.example.com` matches every name under example.com; the set of addresses those \
names resolve to is unknowable when the ruleset is loaded, so no address set expresses \
it.\n\n\
What the backend does (fail closed): an `allow` with a wildcard domain allows nothing \
at this layer (listed in the loss report). A `deny` would be widened to every address, \
which is error AP0708. `*.localhost` is the exception: RFC 6761 fixes those names to \
the loopback addresses. Another layer that sees names (the tool \
gate's URL checks) can enforce the name itself.\n\n\
How to fix: list the exact names the agent needs,\n\n    \
net { allow connect tcp { \"api.example.com\", \"cdn.example.com\" } port 443 }\n\n\
or accept the loss report for this target.";

    INCOMING_NOT_FILTERED = "AP0706", "incoming-not-filtered",
        "this target cannot attribute incoming traffic to the agent, so `listen` is not enforced here",
        "`listen` rules are enforced by the nftables target in its `input` chain, where \
`socket cgroupv2` looks up the receiving socket and so finds the agent's listeners. Two \
cases cannot do that: agents scoped by uid (`meta skuid` and `-m owner` only work on \
locally generated packets), and the iptables target (`-m cgroup` in INPUT only sees \
sockets found by early demultiplexing, never a listener). There, incoming connections \
to the agent's sockets are not filtered at all: the default deny of `listen` does not \
hold at this layer, and `deny listen` rules are listed in the loss report as enforced by \
the kernel backend (its bind hook).\n\n\
How to fix: scope the agent by cgroup and use the `nft` target,\n\n    \
agent openclaw { scope cgroup \"agentpol/openclaw\" }\n\n\
or rely on the kernel backend for `listen`.";

    BAD_LOG_PREFIX = "AP0707", "bad-log-prefix",
        "the log prefix is too long or contains characters a ruleset cannot quote",
        "The final drop of each agent chain can log with a prefix (`--log-prefix`). \
nftables accepts at most 127 bytes and iptables' LOG target at most 29; both print the \
prefix verbatim into the kernel log, so it must be printable ASCII without `\"` or `\\`.\n\n\
How to fix: use a short prefix such as `agentpol drop: `.";

    DENY_WIDENED_TO_ALL = "AP0708", "deny-widened-to-everything",
        "a deny rule's target cannot be expressed by this firewall target and would deny every address",
        "A firewall matches addresses. A deny whose target it cannot express is \
approximated the sound way, by denying more; when the only wider set is *every* \
address, the built ruleset would refuse all of the rule's protocol and ports, and no \
longer mean what the policy says. That is an error, not a line in the loss report.\n\n\
It happens for a wildcard domain (`*.example.com`): the addresses of every name under it \
are unknowable. `*.localhost` is the exception, it is the loopback addresses by \
RFC 6761. Exact names are not affected: both targets keep them as load-time sets that \
`agentpolc apply` fills when it loads the ruleset (nft sets, ipset sets for iptables).\n\n\
How to fix: list exact names instead of a wildcard, or deny the addresses:\n\n    \
net { deny all { 169.254.169.254, \"metadata.google.internal\" } }";
}
