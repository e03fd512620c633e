// The network enforcer of `agentpolc run`: cgroup sock_addr programs that
// decide connect / sendto / bind of the processes in the run's cgroup from an
// agent's (and its skill's) `net` rules, compiled by the loader into maps.
//
// Nothing about a policy is compiled in here: every address, port, protocol
// and rule index comes from the maps below, filled by src/loader.rs from
// src/compile.rs (a pure function of the IR). See ../README.md for the layout.
//
// Only UAPI types are used: a sock_addr program's context is `struct
// bpf_sock_addr` from <linux/bpf.h>, a stable ABI the kernel rewrites field
// accesses for, so neither vmlinux.h nor CO-RE relocations are needed and
// the object loads on any kernel with these hooks (connect/sendmsg ≥ 4.17/4.18).

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// From <sys/socket.h> and <netinet/in.h>, which are libc headers and not
// usable with -target bpf; these values are part of the Linux ABI.
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

// Operations: (action, protocol) pairs the hooks can see. Must match
// `Op` in src/compile.rs.
#define OP_CONNECT_TCP 0
#define OP_CONNECT_UDP 1
#define OP_SENDTO_UDP 2
#define OP_LISTEN_TCP 3
#define OP_LISTEN_UDP 4
// A socket no rule can name (raw, ICMP, SCTP, MPTCP...): denied, not looked up.
#define OP_OTHER 255

// A port table's segment: ports [lo, next segment's lo) share one verdict.
// info = SEG_ALLOW bit | rule index (RULE_NONE: no rule matched, default deny).
#define MAX_SEGS 256
#define SEG_ALLOW 0x80000000u
#define RULE_NONE 0x7fffffffu

// LPM keys: layer (0 = agent, 1 = skill), op, two zero bytes, then the
// address in network order. Entries have prefixlen = 32 + CIDR length, so a
// lookup never crosses a layer or an op. Data sizes are multiples of 4 so the
// C struct has no tail padding (the loader writes the same bytes).
struct key4 {
	__u32 prefixlen;
	__u8 data[8];
};

struct key6 {
	__u32 prefixlen;
	__u8 data[20];
};

struct seg {
	__u32 lo;
	__u32 info;
};

struct table {
	__u32 n;
	__u32 pad;
	struct seg segs[MAX_SEGS];
};

struct config {
	__u32 layers; // 1 = agent only, 2 = agent and skill
	__u32 audit;  // 1 = an event for every decision, 0 = denials only
};

// Must match `Event` in src/event.rs (64 bytes).
struct event {
	__u64 ts_ns; // bpf_ktime_get_ns (CLOCK_MONOTONIC)
	__u64 cgroup_id;
	__u32 pid; // thread group id
	__u32 rule;
	__u8 op;
	__u8 family; // 4 or 6 (an IPv4-mapped address is reported as 4)
	__u8 allowed;
	__u8 pad;
	__u16 port; // host order
	__u16 pad2;
	__u8 addr[16]; // IPv4 in the first 4 bytes
	char comm[16];
};

// Sizes are placeholders: the loader sets max_entries from the compiled maps.
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct key4);
	__type(value, __u32);
	__uint(max_entries, 1);
} trie4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct key6);
	__type(value, __u32);
	__uint(max_entries, 1);
} trie6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct table);
	__uint(max_entries, 1);
} tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct config);
	__uint(max_entries, 1);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

// Records the ring buffer had no room for (the reader was too slow).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} lost SEC(".maps");

// The verdict of one port table: the last segment whose lo <= port (segment 0
// always starts at port 0; the loader fills unused segments with lo =
// 0xffffffff, above every port). A branch-free binary search over the 256
// slots: 8 fixed halvings, each adding the step when the probed segment
// starts at or below the port. Branch-free matters: with a data-dependent
// branch per halving the verifier walks every path (2^8 of them, ~260k
// instructions and seconds of load time per program); this way it walks one.
// A global (non-inlined) function, so it is verified once per program.
__noinline __u32 table_lookup(__u32 idx, __u32 port)
{
	struct table *t = bpf_map_lookup_elem(&tables, &idx);
	if (!t)
		return RULE_NONE;
	__u64 at = 0;
#pragma unroll
	for (__u32 step = MAX_SEGS / 2; step > 0; step /= 2) {
		__u64 lo = t->segs[(at + step) & (MAX_SEGS - 1)].lo;
		// 1 when lo <= port, computed without a comparison: both are below
		// 2^32, so the 64-bit difference's sign bit says which is larger.
		__u64 le = (((__u64)port - lo) >> 63) ^ 1;
		at += step * le;
	}
	return t->segs[at & (MAX_SEGS - 1)].info;
}

static __always_inline __u32 layer_v4(__u8 layer, __u8 op, __u32 addr_be, __u16 port)
{
	struct key4 k = {};
	k.prefixlen = 64;
	k.data[0] = layer;
	k.data[1] = op;
	__builtin_memcpy(&k.data[4], &addr_be, 4);
	__u32 *t = bpf_map_lookup_elem(&trie4, &k);
	// No prefix covers the address: no rule matches, default deny.
	return t ? table_lookup(*t, port) : RULE_NONE;
}

static __always_inline __u32 layer_v6(__u8 layer, __u8 op, const __u32 *addr_be, __u16 port)
{
	struct key6 k = {};
	k.prefixlen = 160;
	k.data[0] = layer;
	k.data[1] = op;
	__builtin_memcpy(&k.data[4], addr_be, 16);
	__u32 *t = bpf_map_lookup_elem(&trie6, &k);
	return t ? table_lookup(*t, port) : RULE_NONE;
}

static __always_inline void emit(__u8 op, int v4, __u32 a4, const __u32 *a6, __u16 port,
				 __u32 info)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1; // per-CPU: no other writer
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->rule = info & RULE_NONE;
	e->op = op;
	e->family = v4 ? 4 : 6;
	e->allowed = (info & SEG_ALLOW) ? 1 : 0;
	e->pad = 0;
	e->port = port;
	e->pad2 = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (v4)
		__builtin_memcpy(e->addr, &a4, 4);
	else
		__builtin_memcpy(e->addr, a6, 16);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

// Decides one request: the agent layer, then (when present and the agent
// allowed) the skill layer; both must allow (semantics.md §1). Returns 1
// (allow) or 0 (deny: the syscall fails with EPERM).
static __always_inline int decide(__u8 op, int v4, __u32 a4, const __u32 *a6, __u16 port)
{
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return 0;
	__u32 info = RULE_NONE;
	if (op != OP_OTHER) {
		info = v4 ? layer_v4(0, op, a4, port) : layer_v6(0, op, a6, port);
		int agent_allow = (info & SEG_ALLOW) != 0;
		int agent_none = (info & RULE_NONE) == RULE_NONE;
		// The skill is asked when the agent allows (it must allow too) or
		// denies by default (a skill's explicit deny is then the rule to
		// report); an agent's explicit deny decides alone.
		if (cfg->layers > 1 && (agent_allow || agent_none)) {
			__u32 s = v4 ? layer_v4(1, op, a4, port) : layer_v6(1, op, a6, port);
			int s_deny_rule = !(s & SEG_ALLOW) && (s & RULE_NONE) != RULE_NONE;
			if (agent_allow || s_deny_rule)
				info = s;
		}
	}
	int allow = (info & SEG_ALLOW) != 0;
	if (!allow || cfg->audit)
		emit(op, v4, a4, a6, port, info);
	return allow;
}

static __always_inline __u8 op_of(struct bpf_sock_addr *ctx, int hook)
{
	__u32 type = ctx->type, proto = ctx->protocol;
	int tcp = type == SOCK_STREAM && proto == IPPROTO_TCP;
	int udp = type == SOCK_DGRAM && proto == IPPROTO_UDP;
	switch (hook) {
	case 0: // connect
		return tcp ? OP_CONNECT_TCP : udp ? OP_CONNECT_UDP : OP_OTHER;
	case 1: // sendmsg (unconnected UDP only: the kernel runs it for nothing else)
		return udp ? OP_SENDTO_UDP : OP_OTHER;
	default: // bind
		return tcp ? OP_LISTEN_TCP : udp ? OP_LISTEN_UDP : OP_OTHER;
	}
}

static __always_inline int hook4(struct bpf_sock_addr *ctx, int hook)
{
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	return decide(op_of(ctx, hook), 1, ctx->user_ip4, 0, port);
}

static __always_inline int hook6(struct bpf_sock_addr *ctx, int hook)
{
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u32 a[4];
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	// ::ffff:a.b.c.d is decided as a.b.c.d (semantics.md §5).
	if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff))
		return decide(op_of(ctx, hook), 1, a[3], 0, port);
	return decide(op_of(ctx, hook), 0, 0, a, port);
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx) { return hook4(ctx, 0); }

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx) { return hook6(ctx, 0); }

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx) { return hook4(ctx, 1); }

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx) { return hook6(ctx, 1); }

SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx) { return hook4(ctx, 2); }

SEC("cgroup/bind6")
int bind6(struct bpf_sock_addr *ctx) { return hook6(ctx, 2); }

// Only helpers that are not GPL-only are used; the kernel accepts this
// string as non-GPL.
char _license[] SEC("license") = "Apache-2.0";
