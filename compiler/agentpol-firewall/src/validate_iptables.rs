//! Translation validation for the iptables target: an interpreter for
//! iptables restore/save text (agentpol's emitted files, or what
//! `iptables-save` lists back) together with ipset restore/save text, deciding
//! probe packets from [`crate::validate::probes`] so that they can be compared
//! with [`crate::validate::expected`] (the reference evaluator on the lowered
//! policy).
//!
//! Like the nft interpreter it is strict: an option, target or set it does not
//! know is an error, never a silent match. A `--match-set` naming a set that
//! does not exist is an error too, as it is for `iptables-restore` ("Set NAME
//! doesn't exist"): a rules file whose deny sets were never created has no
//! verdict at all.

use crate::interval::{addr_num, IntervalSet};
use crate::iptables::{is_agentpol_chain, is_agentpol_set, Family, BASE_CHAIN};
use crate::validate::{Ct, Hook, Layout, Packet, Verdict};
use agentpol_core::ir::Proto;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One match of a rule.
#[derive(Clone, Debug, PartialEq)]
enum Match {
    Proto(Proto),
    /// `-d` or `-m iprange --dst-range`.
    Dst(IntervalSet),
    /// `-m multiport --dports`.
    Dports(IntervalSet),
    /// `-m set --match-set NAME dst`.
    Set(String),
    /// `-m cgroup --path P`.
    Cgroup(String),
    /// `-m owner --uid-owner N`.
    Uid(u32),
    /// `-m conntrack --ctstate A,B`.
    CtState(Vec<String>),
}

/// What a matching rule does.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Return,
    Accept,
    Deny,
    /// `LOG`: not terminal.
    Log,
    Jump(String),
    Goto(String),
}

/// One rule as written or listed.
#[derive(Clone, Debug, PartialEq)]
pub struct IptRule {
    /// Its `--comment`, if any.
    pub comment: Option<String>,
    matches: Vec<Match>,
    target: Target,
}

/// The filter table of one family: chains with their rules, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IptRuleset {
    /// Chain name → rules.
    pub chains: BTreeMap<String, Vec<IptRule>>,
    /// Built-in chain → policy accept.
    policies: BTreeMap<String, bool>,
    bits: u32,
}

/// ipset sets by name: family and elements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpSets {
    /// Name → (family, addresses).
    pub sets: BTreeMap<String, (Family, IntervalSet)>,
}

fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut had = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                had = true;
            }
            '\\' if in_quotes => match chars.next() {
                Some(n) => cur.push(n),
                None => return Err(format!("dangling escape in {line:?}")),
            },
            c if c.is_whitespace() && !in_quotes => {
                if had || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    had = false;
                }
            }
            c => cur.push(c),
        }
    }
    if in_quotes {
        return Err(format!("unterminated quote in {line:?}"));
    }
    if had || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn parse_net(s: &str, bits: u32) -> Result<(u128, u128), String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().map_err(|_| format!("bad address {s:?}"))?;
    let fam_bits = if addr.is_ipv4() { 32 } else { 128 };
    if fam_bits != bits {
        return Err(format!("address {s} of the other family"));
    }
    let len: u32 = match len {
        Some(l) => l
            .parse()
            .map_err(|_| format!("bad prefix length in {s:?}"))?,
        None => bits,
    };
    if len > bits {
        return Err(format!("prefix length too long in {s:?}"));
    }
    let host = bits - len;
    let mask = if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    let lo = addr_num(addr) & !mask;
    let max = if bits == 32 {
        u128::from(u32::MAX)
    } else {
        u128::MAX
    };
    Ok((lo, (lo | mask) & max))
}

fn parse_ports(s: &str) -> Result<IntervalSet, String> {
    let mut ranges = Vec::new();
    for part in s.split(',') {
        let (lo, hi) = match part.split_once(':') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let p = |x: &str| x.parse::<u16>().map_err(|_| format!("bad port {x:?}"));
        ranges.push((u128::from(p(lo)?), u128::from(p(hi)?)));
    }
    Ok(IntervalSet::from_ranges(16, ranges))
}

impl IptRuleset {
    /// Parses the `*filter` table of restore or save text for `fam` (other
    /// tables and comments are skipped). `-A`, `-I CHAIN [N]` and `:CHAIN`
    /// lines are understood; anything else in the filter table is an error.
    pub fn parse(text: &str, fam: Family) -> Result<IptRuleset, String> {
        let mut rs = IptRuleset {
            bits: if fam == Family::V4 { 32 } else { 128 },
            ..IptRuleset::default()
        };
        for b in ["INPUT", "OUTPUT", "FORWARD"] {
            rs.chains.insert(b.into(), Vec::new());
            rs.policies.insert(b.into(), true);
        }
        let mut in_filter = false;
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let at = |m: String| format!("line {}: {m}", n + 1);
            if let Some(table) = t.strip_prefix('*') {
                in_filter = table == "filter";
                continue;
            }
            if t == "COMMIT" {
                in_filter = false;
                continue;
            }
            if !in_filter {
                continue;
            }
            if let Some(rest) = t.strip_prefix(':') {
                let mut it = rest.split_whitespace();
                let name = it.next().ok_or_else(|| at("chain without name".into()))?;
                let policy = it.next().unwrap_or("-");
                // `:CHAIN` creates a chain, or flushes it when it exists.
                rs.chains.insert(name.to_string(), Vec::new());
                if policy != "-" {
                    rs.policies.insert(name.to_string(), policy == "ACCEPT");
                }
                continue;
            }
            let toks = tokens(t).map_err(at)?;
            let (cmd, chain, rest) = match toks.as_slice() {
                [cmd, chain, rest @ ..] => (cmd.as_str(), chain.clone(), rest),
                _ => return Err(at(format!("cannot read {t:?}"))),
            };
            let (pos, rest) = match (cmd, rest) {
                ("-A", _) => (None, rest),
                ("-I", [n, more @ ..]) if n.parse::<usize>().is_ok() => {
                    (n.parse::<usize>().ok().map(|n| n.saturating_sub(1)), more)
                }
                ("-I", _) => (Some(0), rest),
                _ => return Err(at(format!("unsupported command {cmd}"))),
            };
            let rule = rs.parse_rule(rest).map_err(at)?;
            let rules = rs
                .chains
                .get_mut(&chain)
                .ok_or_else(|| at(format!("rule in unknown chain {chain}")))?;
            match pos {
                None => rules.push(rule),
                Some(i) if i <= rules.len() => rules.insert(i, rule),
                Some(i) => return Err(at(format!("insert at {} past the end", i + 1))),
            }
        }
        Ok(rs)
    }

    fn parse_rule(&self, toks: &[String]) -> Result<IptRule, String> {
        let mut matches = Vec::new();
        let mut comment = None;
        let mut target = None;
        let mut i = 0;
        let arg = |i: usize| -> Result<&str, String> {
            toks.get(i)
                .map(String::as_str)
                .ok_or_else(|| format!("{} without a value", toks.get(i - 1).map_or("", |s| s)))
        };
        while i < toks.len() {
            let t = toks[i].as_str();
            match t {
                "-p" => {
                    matches.push(Match::Proto(match arg(i + 1)? {
                        "tcp" => Proto::Tcp,
                        "udp" => Proto::Udp,
                        p => return Err(format!("unknown protocol {p}")),
                    }));
                    i += 2;
                }
                "-d" => {
                    let r = parse_net(arg(i + 1)?, self.bits)?;
                    matches.push(Match::Dst(IntervalSet::from_ranges(self.bits, [r])));
                    i += 2;
                }
                "-m" => {
                    // The options that follow belong to this module.
                    let m = arg(i + 1)?;
                    if ![
                        "comment",
                        "set",
                        "cgroup",
                        "owner",
                        "conntrack",
                        "multiport",
                        "iprange",
                    ]
                    .contains(&m)
                    {
                        return Err(format!("unknown match module {m}"));
                    }
                    i += 2;
                }
                "--dst-range" => {
                    let v = arg(i + 1)?;
                    let (a, b) = v
                        .split_once('-')
                        .ok_or_else(|| format!("bad range {v:?}"))?;
                    let (lo, _) = parse_net(a, self.bits)?;
                    let (hi, _) = parse_net(b, self.bits)?;
                    matches.push(Match::Dst(IntervalSet::from_ranges(self.bits, [(lo, hi)])));
                    i += 2;
                }
                "--dports" => {
                    matches.push(Match::Dports(parse_ports(arg(i + 1)?)?));
                    i += 2;
                }
                "--match-set" => {
                    let name = arg(i + 1)?.to_string();
                    if arg(i + 2)? != "dst" {
                        return Err(format!("set {name} matched on {:?}", arg(i + 2)?));
                    }
                    matches.push(Match::Set(name));
                    i += 3;
                }
                "--path" => {
                    matches.push(Match::Cgroup(arg(i + 1)?.to_string()));
                    i += 2;
                }
                "--uid-owner" => {
                    let v = arg(i + 1)?;
                    matches.push(Match::Uid(v.parse().map_err(|_| format!("bad uid {v:?}"))?));
                    i += 2;
                }
                "--ctstate" => {
                    matches.push(Match::CtState(
                        arg(i + 1)?.split(',').map(str::to_string).collect(),
                    ));
                    i += 2;
                }
                "--comment" => {
                    comment = Some(arg(i + 1)?.to_string());
                    i += 2;
                }
                "-j" | "-g" => {
                    let v = arg(i + 1)?;
                    target = Some(match (t, v) {
                        ("-g", c) => Target::Goto(c.to_string()),
                        (_, "RETURN") => Target::Return,
                        (_, "ACCEPT") => Target::Accept,
                        (_, "DROP" | "REJECT") => Target::Deny,
                        (_, "LOG") => Target::Log,
                        (_, c) => Target::Jump(c.to_string()),
                    });
                    i += 2;
                }
                "--reject-with" | "--log-prefix" => i += 2,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(IptRule {
            comment,
            matches,
            target: target.ok_or("rule without a target")?,
        })
    }

    fn matches(&self, m: &Match, sets: &IpSets, p: &Packet) -> Result<bool, String> {
        Ok(match m {
            Match::Proto(proto) => *proto == p.proto,
            Match::Dst(s) => s.contains(addr_num(p.daddr)),
            Match::Dports(s) => s.contains(u128::from(p.dport)),
            Match::Set(name) => {
                let (fam, elems) = sets
                    .sets
                    .get(name)
                    .ok_or_else(|| format!("Set {name} doesn't exist"))?;
                let bits = if *fam == Family::V4 { 32 } else { 128 };
                if bits != self.bits {
                    return Err(format!("set {name} is of the other family"));
                }
                elems.contains(addr_num(p.daddr))
            }
            // xt_cgroup v2 compares the socket's cgroup or an ancestor; on
            // input only early-demuxed sockets are seen, never a listener.
            Match::Cgroup(path) => {
                p.hook == Hook::Output
                    && p.socket
                        .cgroup
                        .as_ref()
                        .is_some_and(|c| c == path || c.starts_with(&format!("{path}/")))
            }
            // The owner match only works on locally generated packets.
            Match::Uid(uid) => {
                p.hook == Hook::Output && p.socket.cgroup.is_some() && p.socket.uid == *uid
            }
            Match::CtState(states) => {
                let st = match p.ct {
                    Ct::New => "NEW",
                    Ct::Established => "ESTABLISHED",
                    Ct::Related => "RELATED",
                };
                states.iter().any(|s| s == st)
            }
        })
    }

    /// The verdict of this family's filter table for `p` (whose address must
    /// be of this family).
    pub fn verdict(&self, sets: &IpSets, p: &Packet) -> Result<Verdict, String> {
        let bits = if p.daddr.is_ipv4() { 32 } else { 128 };
        if bits != self.bits {
            return Err(format!("packet to {} in the other family", p.daddr));
        }
        let base = match p.hook {
            Hook::Output => "OUTPUT",
            Hook::Input => "INPUT",
        };
        let mut stack: Vec<(String, usize)> = vec![(base.to_string(), 0)];
        let mut steps = 0usize;
        'outer: while let Some((chain, start)) = stack.pop() {
            let rules = self
                .chains
                .get(&chain)
                .ok_or_else(|| format!("jump to unknown chain {chain}"))?;
            for (i, r) in rules.iter().enumerate().skip(start) {
                steps += 1;
                if steps > 100_000 {
                    return Err("too many steps (a loop?)".into());
                }
                let mut all = true;
                for m in &r.matches {
                    if !self.matches(m, sets, p)? {
                        all = false;
                        break;
                    }
                }
                if !all {
                    continue;
                }
                match &r.target {
                    Target::Log => {}
                    Target::Accept => return Ok(Verdict::Accept),
                    Target::Deny => return Ok(Verdict::Deny),
                    Target::Return => continue 'outer,
                    Target::Jump(t) => {
                        stack.push((chain.clone(), i + 1));
                        stack.push((t.clone(), 0));
                        continue 'outer;
                    }
                    Target::Goto(t) => {
                        stack.push((t.clone(), 0));
                        continue 'outer;
                    }
                }
            }
            // Off the end of a user chain: back to the caller; of a built-in
            // chain: its policy.
            if stack.is_empty() {
                break;
            }
        }
        Ok(if self.policies.get(base).copied().unwrap_or(true) {
            Verdict::Accept
        } else {
            Verdict::Deny
        })
    }

    /// agentpol's chains (and the `OUTPUT` jumps to [`BASE_CHAIN`], as the
    /// pseudo-chain `OUTPUT->AGENTPOL_OUTPUT`, one entry per jump) with the
    /// comments of their rules, keyed `<prefix>CHAIN`.
    pub fn layout_chains(&self, prefix: &str) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for (name, rules) in &self.chains {
            if is_agentpol_chain(name) {
                out.insert(
                    format!("{prefix}{name}"),
                    rules
                        .iter()
                        .map(|r| r.comment.clone().unwrap_or_default())
                        .collect(),
                );
            }
        }
        out.insert(
            format!("{prefix}OUTPUT->{BASE_CHAIN}"),
            vec![String::new(); self.output_jumps()],
        );
        out
    }

    /// Number of jumps from `OUTPUT` to [`BASE_CHAIN`].
    pub fn output_jumps(&self) -> usize {
        self.chains
            .get("OUTPUT")
            .map(|rules| {
                rules
                    .iter()
                    .filter(|r| r.target == Target::Jump(BASE_CHAIN.into()))
                    .count()
            })
            .unwrap_or(0)
    }

    /// agentpol's chains in this table.
    pub fn agentpol_chains(&self) -> Vec<String> {
        self.chains
            .keys()
            .filter(|n| is_agentpol_chain(n))
            .cloned()
            .collect()
    }
}

impl IpSets {
    /// Runs `ipset restore`/`ipset save` text against these sets: `create`
    /// (with `-exist`, or an existing set of the same family, a no-op),
    /// `add`, `flush`, `swap`, `destroy`. Only `hash:net` sets are understood.
    pub fn apply(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let at = |m: String| format!("ipset line {}: {m}", n + 1);
            let w: Vec<&str> = t.split_whitespace().collect();
            let exist = w.contains(&"-exist");
            match w.as_slice() {
                ["create", name, "hash:net", "family", fam, ..] => {
                    let (fam, bits) = match *fam {
                        "inet" => (Family::V4, 32),
                        "inet6" => (Family::V6, 128),
                        f => return Err(at(format!("unknown family {f}"))),
                    };
                    match self.sets.get(*name) {
                        Some(_) if exist => {}
                        Some(_) => return Err(at(format!("set {name} already exists"))),
                        None => {
                            self.sets
                                .insert(name.to_string(), (fam, IntervalSet::empty(bits)));
                        }
                    }
                }
                ["create", name, ty, ..] => {
                    return Err(at(format!("set {name}: unsupported type {ty}")))
                }
                ["add", name, elem, ..] => {
                    let (fam, set) = self
                        .sets
                        .get_mut(*name)
                        .ok_or_else(|| at(format!("add to missing set {name}")))?;
                    let bits = if *fam == Family::V4 { 32 } else { 128 };
                    let r = parse_net(elem, bits).map_err(&at)?;
                    *set = set.union(&IntervalSet::from_ranges(bits, [r]));
                }
                ["flush", name] => {
                    let (fam, set) = self
                        .sets
                        .get_mut(*name)
                        .ok_or_else(|| at(format!("flush of missing set {name}")))?;
                    *set = IntervalSet::empty(if *fam == Family::V4 { 32 } else { 128 });
                }
                ["swap", a, b] => {
                    let x = self
                        .sets
                        .remove(*a)
                        .ok_or_else(|| at(format!("swap of missing set {a}")))?;
                    let y = self
                        .sets
                        .remove(*b)
                        .ok_or_else(|| at(format!("swap of missing set {b}")))?;
                    if x.0 != y.0 {
                        return Err(at(format!("swap of {a} and {b}: different families")));
                    }
                    self.sets.insert(a.to_string(), y);
                    self.sets.insert(b.to_string(), x);
                }
                ["destroy", name, ..] => {
                    if self.sets.remove(*name).is_none() && !exist {
                        return Err(at(format!("destroy of missing set {name}")));
                    }
                }
                _ => return Err(at(format!("cannot read {t:?}"))),
            }
        }
        Ok(())
    }

    /// Sets from `ipset restore`/`save` text.
    pub fn parse(text: &str) -> Result<IpSets, String> {
        let mut s = IpSets::default();
        s.apply(text)?;
        Ok(s)
    }

    /// agentpol's sets as canonical ranges.
    pub fn layout(&self) -> BTreeMap<String, Vec<(u128, u128)>> {
        self.sets
            .iter()
            .filter(|(n, _)| is_agentpol_set(n))
            .map(|(n, (_, s))| (n.clone(), s.ranges().to_vec()))
            .collect()
    }
}

/// The verdict of a loaded iptables target for `p`: the table of its family.
pub fn verdict(
    v4: &IptRuleset,
    v6: &IptRuleset,
    sets: &IpSets,
    p: &Packet,
) -> Result<Verdict, String> {
    match p.daddr {
        IpAddr::V4(_) => v4.verdict(sets, p),
        IpAddr::V6(_) => v6.verdict(sets, p),
    }
}

/// The layout of a loaded (or emitted) iptables target: agentpol's chains of
/// both families (keyed `ip4 ` / `ip6 `) and agentpol's sets.
pub fn layout(v4: &IptRuleset, v6: &IptRuleset, sets: &IpSets) -> Layout {
    let mut chains = v4.layout_chains("ip4 ");
    chains.extend(v6.layout_chains("ip6 "));
    Layout {
        chains,
        sets: sets.layout(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_quoted_text() {
        assert_eq!(
            tokens(r#"-A X -m comment --comment "a b\"c" -j RETURN"#).unwrap(),
            [
                "-A",
                "X",
                "-m",
                "comment",
                "--comment",
                "a b\"c",
                "-j",
                "RETURN"
            ]
        );
        assert!(tokens("-A \"open").is_err());
    }

    #[test]
    fn nets_and_ports() {
        assert_eq!(
            parse_net("192.0.2.0/24", 32).unwrap(),
            (0xc000_0200, 0xc000_02ff)
        );
        assert_eq!(
            parse_net("192.0.2.7", 32).unwrap(),
            (0xc000_0207, 0xc000_0207)
        );
        assert!(parse_net("2001:db8::1", 32).is_err());
        assert!(parse_net("192.0.2.0/33", 32).is_err());
        let p = parse_ports("80,8000:8080").unwrap();
        assert!(p.contains(80) && p.contains(8080) && !p.contains(81));
    }

    #[test]
    fn ipset_scripts_run_in_order() {
        let mut s = IpSets::parse(
            "create agentpol_a_1_4 hash:net family inet\nadd agentpol_a_1_4 192.0.2.1\n",
        )
        .unwrap();
        s.apply("create agentpol_a_1_4 hash:net family inet -exist\ncreate agentpol_a_1_4t hash:net family inet -exist\nflush agentpol_a_1_4t\nadd agentpol_a_1_4t 198.51.100.7\nswap agentpol_a_1_4t agentpol_a_1_4\ndestroy agentpol_a_1_4t\n").unwrap();
        let (_, set) = &s.sets["agentpol_a_1_4"];
        assert_eq!(set.ranges(), &[(0xc633_6407, 0xc633_6407)]);
        assert_eq!(s.sets.len(), 1);
        assert!(s.apply("add nosuch 192.0.2.1").is_err());
        assert!(s.apply("create x hash:ip family inet").is_err());
        assert!(s.apply("add agentpol_a_1_4 2001:db8::1").is_err());
    }
}
