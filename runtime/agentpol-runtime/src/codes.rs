//! Diagnostic codes of the runtime (`AP0710`–`AP0729`; `AP0720` is the last used): what goes wrong on the
//! host when a ruleset is applied or a run starts. Most carry no source span
//! (host facts have none); AP0717 and AP0718 point at the rule concerned.

agentpol_core::diagnostic_codes! {
    list RUNTIME_CODES;

    CGROUP2_NOT_FOUND = "AP0710", "cgroup2-not-mounted",
        "no cgroup2 file system is mounted where nftables can see it",
        "nftables resolves `socket cgroupv2` paths relative to `/sys/fs/cgroup` when the \
ruleset is loaded. agentpolc reads `/proc/self/mountinfo` to find the cgroup2 mount and \
writes paths relative to `/sys/fs/cgroup` (on hybrid hosts the cgroup2 mount is \
`/sys/fs/cgroup/unified`, so paths start with `unified/`). When no cgroup2 mount exists, \
or it is mounted outside `/sys/fs/cgroup`, agents scoped by cgroup cannot be matched.\n\n\
How to fix: mount cgroup2 (`mount -t cgroup2 none /sys/fs/cgroup`, or the `unified` \
directory on a hybrid host), or scope the agents by uid:\n\n    agent openclaw { scope uid 1001 }";

    NFT_MISSING = "AP0711", "nft-missing",
        "the nft program was not found or could not be run",
        "`agentpolc apply --target nft` loads the ruleset with the `nft` program (nftables): \
it checks the file with `nft -c -f`, loads it with `nft -f` and lists it back with \
`nft -j list table inet agentpol`. agentpolc does not talk to the kernel's netlink \
interface itself, so without the program nothing can be loaded. Nothing was changed: \
the previous `table inet agentpol`, if any, is still loaded as it was.\n\n\
How to fix: install nftables and make sure `nft` is on PATH for the user running \
agentpolc (root, or a user with CAP_NET_ADMIN), for example\n\n    \
apt-get install nftables\n    sudo agentpolc apply --target nft --policy build/";

    NFT_TOO_OLD = "AP0712", "nft-too-old",
        "the installed nft is too old for agent-scoped rules",
        "Agent scoping uses `socket cgroupv2 level N`, which nftables understands from \
version 0.9.9 on (with Linux 5.13 or later); older versions reject the ruleset or, \
worse, parse it differently. agentpolc reads the version from `nft --version` and \
refuses anything older or unreadable. Nothing was changed.\n\n\
How to fix: upgrade nftables, or build the iptables target instead (`--target iptables`).";

    NFT_REJECTED = "AP0713", "nft-rejected",
        "nft refused the ruleset",
        "Before loading, agentpolc runs `nft -c -f FILE` (check only); the whole file is one \
transaction, so a refusal changes nothing. Common causes: an agent's cgroup directory \
does not exist (nft resolves cgroup paths when loading; `apply` creates them first, so \
this means it could not), a kernel without nf_tables or the socket expression, or \
missing privileges. nft's own message is shown below.\n\n\
How to fix: read nft's message; run as root; create the cgroup directories; then apply \
again.";

    APPLY_VERIFY_FAILED = "AP0714", "apply-verify-failed",
        "the loaded ruleset does not match what was emitted",
        "After loading, agentpolc lists the ruleset back and compares its chains, sets and \
rule comments with what it emitted: for nft, `table inet agentpol` as JSON; for \
iptables, agentpol's chains in `iptables-save` and `ip6tables-save` (and the one jump \
from `OUTPUT`) and agentpol's sets in `ipset save`. A mismatch means something changed \
the ruleset concurrently or the tool translated it differently. agentpolc removes what \
it loaded again, so no half-understood ruleset stays loaded (the agent's traffic is \
then not filtered by agentpol at all, which the message says).\n\n\
How to fix: make sure no other tool manages `table inet agentpol` (nft) or the \
`AGENTPOL_OUTPUT`/`APn_*` chains and `agentpol_*` sets (iptables), then apply again.";

    RESOLVE_FAILED = "AP0715", "domain-resolution-failed",
        "a domain in the policy could not be resolved when applying",
        "Domain targets are resolved when the ruleset is applied. A name that did not \
resolve (no answer, timeout, no resolver reachable) leaves its load-time set without \
its addresses: an `allow` for it allows nothing (fail closed, in the loss report), and \
a `deny` for it cannot be enforced, so `apply` refuses to load (AP0717).\n\n\
How to fix: check the agent's `resolvers` and the name, then apply again. DNS \
changes always need a re-apply.";

    NOT_PRIVILEGED = "AP0716", "apply-needs-privileges",
        "loading a firewall ruleset needs root or CAP_NET_ADMIN",
        "`agentpolc apply` changes the kernel's packet filter and creates cgroup \
directories; both need root (or CAP_NET_ADMIN and write access to the cgroup2 mount). \
agentpolc stops at the first step that was refused, before loading anything, so \
nothing was changed and the previous ruleset (if any) stays loaded. Running the \
agent without its firewall is the caller's decision, not agentpolc's.\n\n\
How to fix: run apply as root, for example\n\n    \
sudo agentpolc apply --target nft --policy build/\n\n\
or grant CAP_NET_ADMIN and write access to the agents' cgroup directories.";

    DENY_SET_UNFILLED = "AP0717", "deny-set-unfilled",
        "a deny rule's domain could not be resolved, so its load-time set cannot be filled",
        "The firewall rulesets keep each domain of a rule as a load-time set that `agentpolc \
apply` fills with the addresses the name resolves to: for nft in the same transaction \
that loads the table, for iptables as ipset sets created and filled before the rules \
are loaded. For a `deny`, an unfilled set would deny nothing (not what the policy \
says), and widening it to every address would deny far more; so `apply` refuses to load \
and changes nothing. A name that resolves to no address (NXDOMAIN, no records) is \
filled with nothing, which is exact: there is no address to deny. Only a failed \
resolution (timeout, SERVFAIL, no resolver) refuses.\n\n\
How to fix: make the agent's resolvers (or the host's) reachable and apply again, or \
deny the name's addresses instead of the name.";

    RUN_NET_UNHOLDABLE = "AP0718", "run-net-unholdable",
        "a net rule cannot be held soundly by the kernel's per-address enforcer",
        "`agentpolc run` enforces `net` rules with cgroup sock_addr BPF programs, which see \
a socket's address and port, never the name the agent looked up. Domain targets are \
therefore resolved when the run starts and held by their addresses. Two kinds of rule \
cannot be held that way: a `deny` of a wildcard domain (`*.example.com`: the names under \
it are unknown until someone asks, and denying every address on the rule's ports would \
deny far more than the policy says), and a `deny` of a name that could not be resolved \
at start (its addresses are unknown). An `allow` of either is simply not granted (a loss \
entry, narrower), but dropping a deny would widen the policy, so `run` refuses to start \
and creates nothing. The same refusal happens when the rules covering one address range \
split the ports into more ranges than the kernel's table holds (256).\n\n\
How to fix: deny exact names or their addresses (`deny connect any 203.0.113.0/24`), \
make the resolver reachable, or merge port ranges; then run again.";

    IPTABLES_TOOLS_MISSING = "AP0719", "iptables-tools-missing",
        "iptables-restore, iptables-save (IPv4 or IPv6) or ipset is missing or too old",
        "`agentpolc apply --target iptables` loads the ruleset with the programs of \
iptables and ipset: `ipset restore` creates and fills the domains' address sets, \
`iptables-restore --noflush` and `ip6tables-restore --noflush` load the rules (checked \
first with `--test`), `iptables-save`/`ip6tables-save` and `ipset save` list them back \
for the comparison with what was emitted. agentpolc checks that each program runs and \
reads its version first: iptables 1.6.1 or later (`-m cgroup --path`, cgroup v2) and \
ipset 6.0 or later (`hash:net family inet6`). Nothing was changed.\n\n\
How to fix: install them, for example\n\n    \
apt-get install iptables ipset\n\n\
and make sure they are on PATH for the user running agentpolc (root), or pass `--ipset PATH`.";

    IPTABLES_REJECTED = "AP0720", "iptables-rejected",
        "iptables-restore or ipset refused the ruleset",
        "`agentpolc apply --target iptables` creates and fills the address sets with `ipset \
restore`, checks both rules files with `iptables-restore --test --noflush` (and \
`ip6tables-restore`), and only then loads them; each file is one transaction. The \
tool's own message is shown below, and the note says what was changed: a refusal \
before the rules are loaded leaves the previously loaded rules as they were (sets that \
no loaded rule uses are destroyed again); a refusal while loading removes agentpol's \
chains and sets, so that no half-loaded ruleset stays (the agents' traffic is then not \
filtered by agentpol). Common causes: an agent's cgroup directory does not exist \
(`-m cgroup --path` is resolved when the rule is added; `apply` creates the \
directories first), a kernel without the `xt_cgroup`, `xt_set` or `ip_set` modules, \
or missing privileges.\n\n\
How to fix: read the tool's message; run as root; load the kernel modules (`modprobe \
xt_set ip_set_hash_net xt_cgroup`); then apply again.";
}
