//! The iptables emitter: an `iptables-restore --noflush` / `ip6tables-restore
//! --noflush` pair that adds agentpol's own chains and one jump from `OUTPUT`,
//! and an `ipset restore` file with the address sets of rules that name domains.
//!
//! iptables cannot own a table the way nft does, so the files only create,
//! flush and fill chains named `AGENTPOL_*` / `APn_*` and insert `-j
//! AGENTPOL_OUTPUT` at the top of `OUTPUT`. Nothing in them ever `ACCEPT`s:
//! an ACCEPT would end the built-in chain and skip the host's own OUTPUT rules,
//! so allowed and unrelated traffic `RETURN`s and only denials are terminal.
//! Loading twice adds the jump twice: load `remove.v4.rules` first
//! (`agentpolc apply --target iptables` leaves the jump out when it is there).
//!
//! **Domains** are load-time sets, as at the nft target: a rule naming exact
//! domains matches, besides its addresses (`-d`), one ipset set per family
//! (`-m set --match-set NAME dst`, `hash:net family inet`/`inet6`) that holds
//! the addresses the names resolve to when the ruleset is applied. The built
//! `agentpol.ipset` creates an **allow**'s sets empty (an empty allow set
//! allows nothing: narrower, sound) and does **not** create a **deny**'s sets,
//! so `iptables-restore` refuses the rules (`Set NAME doesn't exist`) until
//! someone creates and fills them: an unfilled deny never loads. With
//! resolutions in [`Options::resolutions`] (at `apply`) every set is created
//! and filled; a deny's sets only when every name of the rule resolved. The
//! rules files are the same either way. Set names ([`set_name`]) are a pure
//! function of the agent, the rule id, the family and the names, so a set
//! keeps its meaning across re-applies and builds.
//!
//! Differences from the nft target (see [`crate::lower`]): each interval
//! becomes CIDR prefixes or `-m iprange` ranges, ports go through `-m
//! multiport` in chunks of at most 15, no incoming filtering (AP0706), and
//! cgroup paths are relative to the cgroup2 root (`-m cgroup --path` does not
//! go through /sys/fs/cgroup).

use crate::codes;
use crate::interval::{unmap_addr, v4_addr, v6_addr, IntervalSet};
use crate::lower::{self, Layer, Lowered};
use crate::plan::{self, AgentPlan, ChainKind, EntryVerdict, RuleSets, ScopeRef};
use crate::{DenyAction, Options};
use agentpol_core::backend::{Artifact, TargetOutput};
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Policy, RuleId};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The IPv4 ruleset file.
pub const V4_FILE: &str = "agentpol.v4.rules";
/// The IPv6 ruleset file.
pub const V6_FILE: &str = "agentpol.v6.rules";
/// Removal file for IPv4.
pub const REMOVE_V4_FILE: &str = "remove.v4.rules";
/// Removal file for IPv6.
pub const REMOVE_V6_FILE: &str = "remove.v6.rules";
/// The `ipset restore` file with the domains' address sets.
pub const IPSET_FILE: &str = "agentpol.ipset";
/// The `ipset restore` file that destroys them (after the rules are removed:
/// a set in use cannot be destroyed).
pub const REMOVE_IPSET_FILE: &str = "remove.ipset";
/// The LOG target's prefix limit.
pub const LOG_PREFIX_MAX: usize = 29;
/// The chain `OUTPUT` jumps to.
pub const BASE_CHAIN: &str = "AGENTPOL_OUTPUT";
/// The line of a rules file that hooks agentpol into `OUTPUT`.
pub const OUTPUT_JUMP: &str = "-I OUTPUT 1 -j AGENTPOL_OUTPUT";
/// Every set agentpol creates starts with this: cleanup recognises its own
/// sets by it and never touches another.
pub const SET_PREFIX: &str = "agentpol_";
/// ipset's limit on a set name (`IPSET_MAXNAMELEN` is 32 with the NUL).
pub const SET_NAME_MAX: usize = 31;
/// How much of an agent's identifier a set name shows (for people reading
/// `ipset list`; the hash makes the name unique).
const SET_NAME_AGENT_CHARS: usize = 8;

/// Address family of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// iptables.
    V4,
    /// ip6tables.
    V6,
}

impl Family {
    /// ipset's name for the family (`hash:net family inet`).
    pub fn ipset_family(self) -> &'static str {
        match self {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        }
    }

    /// The restore program for this family.
    pub fn restore_program(self) -> &'static str {
        match self {
            Family::V4 => "iptables-restore",
            Family::V6 => "ip6tables-restore",
        }
    }

    fn of(a: IpAddr) -> Family {
        match a {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// One ipset set: the addresses of one rule's domains in one family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpSet {
    /// Its name ([`set_name`]).
    pub name: String,
    /// `inet` or `inet6`.
    pub family: Family,
    /// The agent whose rule matches it.
    pub agent: String,
    /// The rule.
    pub rule: RuleId,
    /// The rule is a deny: an unfilled set must not load.
    pub deny: bool,
    /// The names whose addresses it holds.
    pub domains: Vec<String>,
    /// The addresses to fill in, when the set is created: an allow's set is
    /// always created (with the addresses of the names that resolved, none
    /// at `build`); a deny's only when every one of its names resolved
    /// (`None`: not created, so the rules referring to it do not load).
    pub fill: Option<Vec<IpAddr>>,
}

/// The name of the set holding `rule`'s domains for `fam`:
/// `agentpol_<agent, ≤8 chars>_<10 hex digits>_<4|6>`, at most 30 characters
/// (so a temporary `…t` twin used to swap contents in fits ipset's 31). The
/// digits are the start of SHA-256 over the agent's name, the rule id, the
/// family and the names: the same set always means the same names, whatever
/// else changed in the policy, so re-filling it in place is a DNS refresh and
/// never gives an old rule another rule's addresses.
pub fn set_name(agent: &AgentPlan, rule: &RuleSets, fam: Family) -> String {
    let mut h = Sha256::new();
    for part in [agent.name.as_str(), rule.id.0.as_str()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(match fam {
        Family::V4 => b"4",
        Family::V6 => b"6",
    });
    for d in &rule.domains {
        h.update([0]);
        h.update(d.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    // The plan's identifier is ASCII letters, digits and `_` only.
    let short: String = agent.ident.chars().take(SET_NAME_AGENT_CHARS).collect();
    let fam = match fam {
        Family::V4 => '4',
        Family::V6 => '6',
    };
    format!("{SET_PREFIX}{short}_{hex}_{fam}")
}

/// The temporary twin of a set, filled and then swapped with it so that the
/// set is never seen half filled.
pub fn temp_set_name(name: &str) -> String {
    format!("{name}t")
}

/// True for a set name agentpol made (its sets and their temporary twins).
pub fn is_agentpol_set(name: &str) -> bool {
    name.starts_with(SET_PREFIX)
}

/// Whether rule `idx` of `agent` is placed in a chain.
fn is_used(agent: &AgentPlan, idx: usize) -> bool {
    agent
        .chains
        .iter()
        .any(|(_, es)| es.iter().any(|e| e.rule == idx))
}

fn is_deny(agent: &AgentPlan, idx: usize) -> bool {
    agent.chains.iter().any(|(_, es)| {
        es.iter()
            .any(|e| e.rule == idx && e.verdict == EntryVerdict::Deny)
    })
}

/// The sets of every rule that names domains, with what to fill in from
/// `opts.resolutions` (see [`IpSet::fill`]).
pub fn ip_sets(plans: &[AgentPlan], opts: &Options) -> Vec<IpSet> {
    let mut out = Vec::new();
    for agent in plans {
        for (idx, r) in agent.rules.iter().enumerate() {
            if r.domains.is_empty() || !is_used(agent, idx) || r.matches_nothing() {
                continue;
            }
            let deny = is_deny(agent, idx);
            for fam in [Family::V4, Family::V6] {
                let restricted = match fam {
                    Family::V4 => r.v4.is_some(),
                    Family::V6 => r.v6.is_some(),
                };
                if !restricted {
                    continue;
                }
                let mut addrs = BTreeSet::new();
                let mut all = true;
                for d in &r.domains {
                    match opts.resolutions.get(d) {
                        Some(res) => addrs.extend(
                            res.addrs
                                .iter()
                                .map(|a| unmap_addr(*a))
                                .filter(|a| Family::of(*a) == fam),
                        ),
                        None => all = false,
                    }
                }
                out.push(IpSet {
                    name: set_name(agent, r, fam),
                    family: fam,
                    agent: agent.name.clone(),
                    rule: r.id.clone(),
                    deny,
                    domains: r.domains.clone(),
                    fill: (!deny || all).then(|| addrs.into_iter().collect()),
                });
            }
        }
    }
    out
}

/// What the rules files are rendered from: the policy lowered **without**
/// resolutions, so that names stay load-time sets whatever `opts` resolved
/// (the sets, not the rules, carry the addresses; see the module docs).
pub fn shape(policy: &Policy, opts: &Options) -> Lowered {
    let bare = Options {
        resolutions: Default::default(),
        ..opts.clone()
    };
    lower::lower(policy, &bare, Layer::Iptables)
}

/// The sets `policy` needs under `opts` (for `apply`, which creates and fills them).
pub fn sets_of(policy: &Policy, opts: &Options) -> Vec<IpSet> {
    let (plans, _) = plan::plan(&shape(policy, opts));
    ip_sets(&plans, opts)
}

/// Builds the target output. `meaning` is the policy lowered with `opts`'
/// resolutions (its loss report and diagnostics are the output's); `shape`
/// the same without them ([`shape`]), from which the files are rendered.
pub fn output(meaning: &Lowered, shape: &Lowered, opts: &Options) -> TargetOutput {
    let mut diags = meaning.diagnostics.clone();
    let (plans, plan_diags) = plan::plan(shape);
    diags.extend(plan_diags);
    if let Some(p) = &opts.log_prefix {
        if let Err(why) = plan::check_log_prefix(p, LOG_PREFIX_MAX) {
            let span = meaning
                .policy
                .agents
                .first()
                .map(|a| a.src.span)
                .unwrap_or_default();
            diags.push(
                Diag::error(
                    &codes::BAD_LOG_PREFIX,
                    span,
                    format!("the log prefix {p:?} cannot be used: {why}"),
                )
                .help("use a prefix of at most 29 printable bytes, such as `agentpol drop: `"),
            );
        }
    }
    let files: Vec<&str> = meaning
        .policy
        .files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let sets = ip_sets(&plans, opts);
    let art = |path: &str, text: String| Artifact {
        path: path.into(),
        contents: text.into_bytes(),
    };
    TargetOutput {
        target: "iptables".into(),
        artifacts: vec![
            art(V4_FILE, render(&plans, opts, Family::V4, &files)),
            art(V6_FILE, render(&plans, opts, Family::V6, &files)),
            art(IPSET_FILE, render_ipset(&sets, opts, &files)),
            art(REMOVE_V4_FILE, render_remove(&plans)),
            art(REMOVE_V6_FILE, render_remove(&plans)),
            art(REMOVE_IPSET_FILE, render_remove_ipset(&sets)),
        ],
        loss: meaning.loss.clone(),
        diagnostics: diags,
    }
}

/// Name of an agent chain (at most 28 characters, as iptables requires).
pub fn chain(index: usize, kind: Option<ChainKind>) -> String {
    let suffix = match kind {
        None => "OUT",
        Some(ChainKind::OutTcp) => "OUT_TCP",
        Some(ChainKind::OutUdp) => "OUT_UDP",
        Some(ChainKind::OutUdpSendto) => "OUT_UDPS",
        Some(ChainKind::InTcp) => "IN_TCP",
        Some(ChainKind::InUdp) => "IN_UDP",
    };
    format!("AP{index}_{suffix}")
}

/// True for a chain name of the form [`chain`] makes, or [`BASE_CHAIN`]:
/// what cleanup may flush and delete.
pub fn is_agentpol_chain(name: &str) -> bool {
    if name == BASE_CHAIN {
        return true;
    }
    let Some(rest) = name.strip_prefix("AP") else {
        return false;
    };
    let Some((n, suffix)) = rest.split_once('_') else {
        return false;
    };
    !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && ["OUT", "OUT_TCP", "OUT_UDP", "OUT_UDPS", "IN_TCP", "IN_UDP"].contains(&suffix)
}

fn out_kinds(a: &AgentPlan) -> impl Iterator<Item = ChainKind> + '_ {
    a.chains.iter().map(|(k, _)| *k).filter(|k| {
        matches!(
            k,
            ChainKind::OutTcp | ChainKind::OutUdp | ChainKind::OutUdpSendto
        )
    })
}

/// Renders one restore file.
pub fn render(plans: &[AgentPlan], opts: &Options, fam: Family, files: &[&str]) -> String {
    let (tool, reject) = match fam {
        Family::V4 => ("iptables", "REJECT --reject-with icmp-admin-prohibited"),
        Family::V6 => ("ip6tables", "REJECT --reject-with icmp6-adm-prohibited"),
    };
    let deny = match opts.deny {
        DenyAction::Reject => reject,
        DenyAction::Drop => "DROP",
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# agentpol egress firewall ({tool}), generated by agentpolc from {}; do not edit.",
        files.join(", ")
    );
    let _ = writeln!(s, "# Load with `{tool}-restore --noflush {}`; it only touches AGENTPOL_* / AP*_ chains and one jump in OUTPUT.",
        if fam == Family::V4 { V4_FILE } else { V6_FILE });
    let _ = writeln!(s, "# To reload, first run `{tool}-restore --noflush {}` (the OUTPUT jump would be added twice).",
        if fam == Family::V4 { REMOVE_V4_FILE } else { REMOVE_V6_FILE });
    let _ = writeln!(
        s,
        "# Create the agents' cgroups first: -m cgroup resolves --path when the rule is added."
    );
    let _ = writeln!(s, "# Rules naming domains match ipset sets: create them first (`ipset restore -exist < {IPSET_FILE}`; a deny's sets must also be filled, see that file).");
    let _ = writeln!(
        s,
        "# `agentpolc apply --target iptables` does all of this, resolving the names."
    );
    let _ = writeln!(s, "# Incoming traffic is not filtered by this target (AP0706); see the nft target for `listen`.");
    s.push_str("*filter\n");
    let _ = writeln!(s, ":{BASE_CHAIN} - [0:0]");
    for (i, a) in plans.iter().enumerate() {
        let _ = writeln!(s, ":{} - [0:0]", chain(i, None));
        for k in out_kinds(a) {
            let _ = writeln!(s, ":{} - [0:0]", chain(i, Some(k)));
        }
    }
    let _ = writeln!(s, "{OUTPUT_JUMP}");
    let _ = writeln!(s, "-A {BASE_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment \"replies and related traffic\" -j RETURN");
    for (i, a) in plans.iter().enumerate() {
        let scope = match &a.scope {
            ScopeRef::Cgroup { path, .. } => format!("-m cgroup --path {path}"),
            ScopeRef::Uid(uid) => format!("-m owner --uid-owner {uid}"),
        };
        let _ = writeln!(
            s,
            "-A {BASE_CHAIN} {scope} -m comment --comment \"agent {}\" -j {}",
            plan::comment_text(&a.name),
            chain(i, None)
        );
    }
    let log = |s: &mut String, ch: &str| {
        if let Some(p) = &opts.log_prefix {
            let _ = writeln!(
                s,
                "-A {ch} -j LOG --log-prefix \"{}\"",
                plan::comment_text(p)
            );
        }
    };
    for (i, a) in plans.iter().enumerate() {
        let name = plan::comment_text(&a.name);
        let out = chain(i, None);
        let _ = writeln!(
            s,
            "-A {out} -p tcp -g {}",
            chain(i, Some(ChainKind::OutTcp))
        );
        let _ = writeln!(
            s,
            "-A {out} -p udp -g {}",
            chain(i, Some(ChainKind::OutUdp))
        );
        log(&mut s, &out);
        let _ = writeln!(
            s,
            "-A {out} -m comment --comment \"{name}: default deny (not TCP or UDP)\" -j {deny}"
        );
        for (kind, entries) in a
            .chains
            .iter()
            .filter(|(k, _)| out_kinds(a).any(|o| o == *k))
        {
            let ch = chain(i, Some(*kind));
            let proto = if kind.is_tcp() { "tcp" } else { "udp" };
            for e in entries {
                let Some(r) = a.rules.get(e.rule) else {
                    continue;
                };
                let jump = match e.verdict {
                    EntryVerdict::Deny => format!("-j {deny}"),
                    EntryVerdict::Allow => "-j RETURN".to_string(),
                    EntryVerdict::ToSendto => {
                        format!("-g {}", chain(i, Some(ChainKind::OutUdpSendto)))
                    }
                };
                for m in rule_matches(a, r, fam, proto) {
                    let _ = writeln!(
                        s,
                        "-A {ch} {m}-m comment --comment \"{}\" {jump}",
                        plan::comment_text(&r.id.0)
                    );
                }
            }
            log(&mut s, &ch);
            let _ = writeln!(
                s,
                "-A {ch} -m comment --comment \"{name}: default deny\" -j {deny}"
            );
        }
    }
    s.push_str("COMMIT\n");
    s
}

/// Renders the removal file (the same for both families).
pub fn render_remove(plans: &[AgentPlan]) -> String {
    let mut chains = vec![BASE_CHAIN.to_string()];
    for (i, a) in plans.iter().enumerate() {
        chains.push(chain(i, None));
        chains.extend(out_kinds(a).map(|k| chain(i, Some(k))));
    }
    removal_script(1, &chains)
}

/// A restore file that deletes `jumps` jumps from `OUTPUT` to
/// [`BASE_CHAIN`], then flushes and deletes `chains` (flushing all first:
/// agent chains jump to each other).
pub fn removal_script(jumps: usize, chains: &[String]) -> String {
    let mut s = String::from("# Removes the agentpol chains and the OUTPUT jump; load with *-restore --noflush, then `ipset restore -exist < remove.ipset`.\n*filter\n");
    for _ in 0..jumps {
        let _ = writeln!(s, "-D OUTPUT -j {BASE_CHAIN}");
    }
    for c in chains {
        let _ = writeln!(s, "-F {c}");
    }
    for c in chains {
        let _ = writeln!(s, "-X {c}");
    }
    s.push_str("COMMIT\n");
    s
}

/// The `ipset restore` file: every set an allow matches, created (and filled
/// when `opts` has resolutions), and every deny's set that can be filled.
/// A deny's set without a resolution for each of its names is left out, and
/// comments say how to create it by hand.
pub fn render_ipset(sets: &[IpSet], opts: &Options, files: &[&str]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# agentpol address sets (ipset) for the iptables target, generated by agentpolc from {}; do not edit.",
        files.join(", ")
    );
    s.push_str(
        "# Each set holds the addresses one rule's domain names resolve to, for one family.\n\
         # `agentpolc apply --target iptables` resolves the names, creates and fills the sets and loads the rules.\n\
         # By hand: `ipset restore -exist < agentpol.ipset`, then `iptables-restore --noflush agentpol.v4.rules`\n\
         # and `ip6tables-restore --noflush agentpol.v6.rules` (after creating the agents' cgroups).\n\
         # An allow's set is created here; until addresses are added (`ipset add NAME ADDRESS`) the allow grants nothing for its names.\n\
         # A deny's set is created only when its names were resolved: otherwise iptables-restore refuses the rules\n\
         # (\"Set NAME doesn't exist\") until it is created and filled by hand, for example\n\
         #   ipset create NAME hash:net family inet && ipset add NAME 203.0.113.7\n\
         # with one `ipset add` per address the names resolve to (none when they resolve to no address).\n\
         # Re-resolve and re-fill when DNS changes.\n",
    );
    if sets.is_empty() {
        s.push_str("# (no rule names a domain: no set)\n");
    }
    let mut last_agent: Option<&str> = None;
    for set in sets {
        if last_agent != Some(set.agent.as_str()) {
            let _ = writeln!(s, "#\n# agent {}", plan::comment_text(&set.agent));
            last_agent = Some(&set.agent);
        }
        let resolved: Vec<String> = set
            .domains
            .iter()
            .map(|d| match opts.resolutions.get(d) {
                Some(r) => format!(
                    "{} (resolver {}, TTL {}s)",
                    plan::comment_text(d),
                    plan::comment_text(&r.resolver),
                    r.ttl_secs
                ),
                None => plan::comment_text(d),
            })
            .collect();
        let _ = writeln!(
            s,
            "#   {} set of rule {} ({}): {}",
            match set.family {
                Family::V4 => "IPv4",
                Family::V6 => "IPv6",
            },
            plan::comment_text(&set.rule.0),
            if set.deny { "deny" } else { "allow" },
            resolved.join(", ")
        );
        let create = format!(
            "create {} hash:net family {}",
            set.name,
            set.family.ipset_family()
        );
        match &set.fill {
            Some(addrs) => {
                let _ = writeln!(s, "{create}");
                for a in addrs {
                    let _ = writeln!(s, "add {} {a}", set.name);
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "#   not created until filled (the rules refuse to load without it): {create}"
                );
            }
        }
    }
    s
}

/// The `ipset restore -exist` file that destroys every set of the ruleset
/// (deny sets too, when created by hand). Run it after the rules are removed.
pub fn render_remove_ipset(sets: &[IpSet]) -> String {
    let mut s = String::from("# Destroys the agentpol address sets; run after remove.v4.rules and remove.v6.rules: `ipset restore -exist < remove.ipset`.\n");
    for set in sets {
        let _ = writeln!(s, "destroy {}", set.name);
    }
    s
}

/// The `ipset restore` script `apply` runs: each set is created if missing,
/// its temporary twin filled and swapped in (so a set in use is never seen
/// half filled or empty), and the twin destroyed. Sets without a fill (a
/// deny with an unresolved name) are not in it: `apply` refuses those first.
pub fn fill_script(sets: &[IpSet]) -> String {
    let mut s = String::new();
    for set in sets {
        let Some(addrs) = &set.fill else { continue };
        let fam = set.family.ipset_family();
        let tmp = temp_set_name(&set.name);
        let _ = writeln!(s, "create {} hash:net family {fam} -exist", set.name);
        let _ = writeln!(s, "create {tmp} hash:net family {fam} -exist");
        let _ = writeln!(s, "flush {tmp}");
        for a in addrs {
            let _ = writeln!(s, "add {tmp} {a}");
        }
        let _ = writeln!(s, "swap {tmp} {}", set.name);
        let _ = writeln!(s, "destroy {tmp}");
    }
    s
}

/// A rules file without its [`OUTPUT_JUMP`] line, for reloading over a
/// loaded ruleset: the `:CHAIN` lines flush and refill agentpol's chains in
/// one transaction, and the jump is already there.
pub fn without_output_jump(rules: &str) -> String {
    rules
        .lines()
        .filter(|l| l.trim() != OUTPUT_JUMP)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The match parts (each ending in a space) for one rule in one family.
fn rule_matches(agent: &AgentPlan, r: &RuleSets, fam: Family, proto: &str) -> Vec<String> {
    if r.matches_nothing() {
        return Vec::new();
    }
    let mut addrs: Vec<String> = match (fam, &r.v4, &r.v6) {
        (_, None, None) => vec![String::new()],
        (Family::V4, Some(v4), _) => prefixes(v4, fam),
        (Family::V6, _, Some(v6)) => prefixes(v6, fam),
        // One family unrestricted and the other not cannot come out of the lowering.
        _ => Vec::new(),
    };
    let restricted = match fam {
        Family::V4 => r.v4.is_some(),
        Family::V6 => r.v6.is_some(),
    };
    if !r.domains.is_empty() && restricted {
        addrs.push(format!(
            "-m set --match-set {} dst ",
            set_name(agent, r, fam)
        ));
    }
    let ports: Vec<String> = match &r.ports {
        None => vec![format!("-p {proto} ")],
        Some(p) => port_chunks(p)
            .into_iter()
            .map(|c| format!("-p {proto} -m multiport --dports {c} "))
            .collect(),
    };
    let mut out = Vec::new();
    for a in &addrs {
        for p in &ports {
            out.push(format!("{a}{p}"));
        }
    }
    out
}

/// One match per canonical range: `-d` for a range that is a prefix, else
/// `-m iprange --dst-range` (a complement such as "every address but the
/// resolver" stays two matches instead of dozens of prefixes).
fn prefixes(set: &IntervalSet, fam: Family) -> Vec<String> {
    let show = |v: u128| match fam {
        Family::V4 => v4_addr(v).to_string(),
        Family::V6 => v6_addr(v).to_string(),
    };
    let mut out = Vec::new();
    for &(lo, hi) in set.ranges() {
        let one = IntervalSet::from_ranges(set.bits(), [(lo, hi)]);
        match one.prefixes().as_slice() {
            [(net, len)] => out.push(format!("-d {}/{len} ", show(*net))),
            _ => out.push(format!("-m iprange --dst-range {}-{} ", show(lo), show(hi))),
        }
    }
    out
}

/// `-m multiport` takes at most 15 ports, a range counting as two.
fn port_chunks(set: &IntervalSet) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut weight = 0;
    for &(lo, hi) in set.ranges() {
        let (item, w) = if lo == hi {
            (lo.to_string(), 1)
        } else {
            (format!("{lo}:{hi}"), 2)
        };
        if weight + w > 15 {
            out.push(cur.join(","));
            cur.clear();
            weight = 0;
        }
        cur.push(item);
        weight += w;
    }
    if !cur.is_empty() {
        out.push(cur.join(","));
    }
    out
}
