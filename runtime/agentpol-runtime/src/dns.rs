//! Resolving a policy's domains when a ruleset is applied (`apply`) or an
//! agent is started (`run`): A and AAAA for each exact name, the addresses
//! and TTLs back (the TTLs are recorded: DNS changes need a re-apply).
//!
//! The DNS client is `hickory-resolver` (a maintained resolver: random query
//! ids and random source ports, replies checked against the query's id,
//! source and question before they are parsed, TCP when a UDP reply is
//! truncated). This module only chooses whom to ask, bounds the time, and
//! decides which records of a reply count:
//!
//! * **Whom.** The agent's `resolvers { … }` when it declares any, in order,
//!   else the `nameserver`s of `/etc/resolv.conf`. The next server is asked
//!   only when one fails (timeout, SERVFAIL, REFUSED, …); an answer,
//!   NXDOMAIN included, is final. Port 53, UDP then TCP.
//! * **Which records.** Only the asked name's own records, following CNAME
//!   records from it: an address owned by any other name in the reply (an
//!   attacker's or a confused resolver's extra record) is ignored, and so is
//!   an address owned by a name inside the chain rather than at its end. The
//!   resolver asks again for a CNAME target the reply did not answer
//!   (at most 8 steps); a looping chain is an error. hickory's own lookup
//!   does not do this filtering (it hands back every address record of a
//!   reply that also answers the name: seen in `tests/dns_resolve.rs`), so
//!   [`chain_addrs`] does it on what the lookup returns.
//! * **What it means.** NXDOMAIN and an empty answer are "no addresses" (a
//!   deny then has nothing to deny, an allow allows nothing); any other failure
//!   is an error, and the callers fail closed (AP0715 for an allow, AP0717
//!   refusing a deny). Half an answer is not an answer: A and AAAA must both
//!   succeed at the same server. The TTL recorded is the smallest of the
//!   records used, CNAME links included (capped at one day by the resolver);
//!   0 when there is no address.
//! * **Names as written.** Every name is asked as a fully qualified name: no
//!   `search` domains or `ndots` from resolv.conf, so `api.example.com` never
//!   becomes `api.example.com.corp.example`. `/etc/hosts` is **not** read:
//!   a policy's name means what DNS says, not what one host's file says
//!   (`localhost` and `*.localhost` are pinned to loopback by
//!   `agentpol_firewall::lower::reserved_name` before anything is asked, and
//!   the resolver answers `*.invalid` and `*.onion` with NXDOMAIN without
//!   asking, RFC 6761 and 7686).
//! * **Bounds.** One exchange (UDP with hickory's retransmissions inside it,
//!   or TCP) times out after [`QUERY_TIMEOUT`] (2 s) and is tried
//!   [`ATTEMPTS`] (2) times; one name at one server, A and AAAA in parallel
//!   and CNAME follow-ups included, is cut at [`NAME_DEADLINE`] (5 s). So an
//!   unreachable server costs at most 5 s per name, and a name costs at most
//!   5 s per server asked. Up to [`PARALLEL_NAMES`] (8) names are resolved at
//!   once.
//! * **No cache across calls.** Each [`resolve_all`] call (one `apply`, one
//!   `run` start) builds its resolvers afresh and drops them, cache included.
//!
//! The public functions are synchronous: each call runs a current-thread
//! tokio runtime of its own for its lookups.

use crate::codes;
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Agent, Host, Matcher, Policy};
use agentpol_core::span::Span;
use agentpol_firewall::Resolution;
use futures_util::stream::{self, StreamExt};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_resolver::TokioResolver;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// How long one exchange with a server (one UDP query with its
/// retransmissions, or one TCP query) may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times an exchange is tried before the server counts as failed.
pub const ATTEMPTS: usize = 2;

/// The hard bound for one name at one server (A and AAAA in parallel, CNAME
/// follow-ups included), whatever the resolver does inside it.
pub const NAME_DEADLINE: Duration = Duration::from_secs(5);

/// How many names are resolved at once.
pub const PARALLEL_NAMES: usize = 8;

/// The longest CNAME chain read out of one answer; a longer one is an error.
const MAX_CHAIN: usize = 16;

/// The host's resolver configuration.
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Which servers a name is asked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Servers {
    /// The agent's `resolvers { … }`, asked in order.
    Declared(Vec<IpAddr>),
    /// The `nameserver`s of `/etc/resolv.conf`, asked in order.
    System,
}

impl Servers {
    /// The agent's declared resolvers, else the system's.
    pub fn of(agent: &Agent) -> Servers {
        if agent.resolvers.is_empty() {
            Servers::System
        } else {
            Servers::Declared(agent.resolvers.clone())
        }
    }
}

/// The `nameserver` addresses of a resolv.conf text, in order (the options,
/// `search` and `domain` lines are not used: see the module doc).
pub fn resolv_conf_nameservers(text: &str) -> Vec<IpAddr> {
    hickory_resolver::system_conf::parse_resolv_conf(text)
        .map(|(config, _)| config.name_servers().iter().map(|s| s.ip).collect())
        .unwrap_or_default()
}

/// The addresses to ask for `servers`, or why there are none.
fn server_addrs(servers: &Servers) -> Result<Vec<IpAddr>, String> {
    let addrs = match servers {
        Servers::Declared(a) => a.clone(),
        Servers::System => std::fs::read_to_string(RESOLV_CONF)
            .map(|t| resolv_conf_nameservers(&t))
            .unwrap_or_default(),
    };
    if addrs.is_empty() {
        return Err(format!(
            "no resolver: the agent names none and {RESOLV_CONF} has no nameserver"
        ));
    }
    Ok(addrs)
}

/// The resolver's options: the bounds of the module doc, no hosts file, the
/// CNAME records kept in the answer (the chain is checked here).
fn options() -> ResolverOpts {
    let mut o = ResolverOpts::default();
    o.timeout = QUERY_TIMEOUT;
    // hickory counts the tries after the first.
    o.attempts = ATTEMPTS - 1;
    o.use_hosts_file = ResolveHosts::Never;
    o.preserve_intermediates = true;
    o.ndots = 0;
    o
}

/// A resolver asking `server` only (port 53, UDP then TCP).
fn resolver_for(server: IpAddr) -> Result<TokioResolver, String> {
    let config = ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(server)]);
    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options())
        .build()
        .map_err(|e| format!("cannot set up a resolver for {server}: {e}"))
}

/// The addresses of type `rtype` that `records` give `asked`: follow CNAME
/// records owned by the current name from `asked`, then take the address
/// records owned by the chain's last name. Every other record is ignored.
/// Returns the addresses with the smallest TTL of the records used (None
/// without addresses); a looping or overlong chain is an error.
pub fn chain_addrs(
    asked: &Name,
    rtype: RecordType,
    records: &[Record],
) -> Result<(Vec<IpAddr>, Option<u32>), String> {
    let owned_by = |name: &Name, r: &Record| r.dns_class == DNSClass::IN && r.name == *name;
    let mut current = asked.clone();
    let mut chain = vec![current.clone()];
    let mut ttl: Option<u32> = None;
    loop {
        let next = records.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if owned_by(&current, r) => Some((target.0.clone(), r.ttl)),
            _ => None,
        });
        let Some((target, link_ttl)) = next else {
            break;
        };
        if chain.contains(&target) {
            return Err(format!("CNAME loop in the answer for {asked}"));
        }
        if chain.len() > MAX_CHAIN {
            return Err(format!(
                "CNAME chain longer than {MAX_CHAIN} in the answer for {asked}"
            ));
        }
        ttl = Some(ttl.map_or(link_ttl, |t| t.min(link_ttl)));
        chain.push(target.clone());
        current = target;
    }
    let mut addrs = Vec::new();
    let mut addr_ttl: Option<u32> = None;
    for r in records {
        if !owned_by(&current, r) || r.record_type() != rtype {
            continue;
        }
        if let Some(a) = r.data.ip_addr() {
            if !addrs.contains(&a) {
                addrs.push(a);
            }
            addr_ttl = Some(addr_ttl.map_or(r.ttl, |t| t.min(r.ttl)));
        }
    }
    let ttl = addr_ttl.map(|a| ttl.map_or(a, |c| c.min(a)));
    Ok((addrs, ttl))
}

/// One record type of `name` at one server: NXDOMAIN and "no records" are an
/// empty answer, anything else that is not an answer is an error.
async fn lookup(
    resolver: &TokioResolver,
    name: &Name,
    rtype: RecordType,
) -> Result<(Vec<IpAddr>, Option<u32>), String> {
    match resolver.lookup(name.clone(), rtype).await {
        Ok(l) => chain_addrs(name, rtype, l.answers()),
        Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Ok((Vec::new(), None)),
        Err(e) => Err(e.to_string()),
    }
}

/// A and AAAA of `name` at `server`, within [`NAME_DEADLINE`].
async fn at_server(
    resolver: &TokioResolver,
    server: IpAddr,
    name: &Name,
) -> Result<Resolution, String> {
    let both = futures_util::future::join(
        lookup(resolver, name, RecordType::A),
        lookup(resolver, name, RecordType::AAAA),
    );
    let (v4, v6) = tokio::time::timeout(NAME_DEADLINE, both)
        .await
        .map_err(|_| format!("no answer within {} s", NAME_DEADLINE.as_secs()))?;
    let (mut addrs, ttl4) = v4?;
    let (more, ttl6) = v6?;
    addrs.extend(more);
    let ttl = match (ttl4, ttl6) {
        (Some(a), Some(b)) => a.min(b),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => 0,
    };
    Ok(Resolution {
        addrs,
        resolver: server.to_string(),
        ttl_secs: ttl,
        at: None,
    })
}

/// `name` as asked: fully qualified, so no search domain is ever appended.
fn fqdn(name: &str) -> Result<Name, String> {
    let name = name.trim_end_matches('.');
    Name::from_ascii(format!("{name}."))
        .ok()
        .filter(|n| !n.is_root())
        .ok_or_else(|| format!("{name:?} is not a valid domain name"))
}

/// Resolves each name through its servers, in order until one answers.
/// Synchronous: runs a runtime of its own, and keeps nothing afterwards.
/// The results come back in the order of `names`.
pub fn resolve_all(names: &[(String, Servers)]) -> Vec<(String, Result<Resolution, String>)> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let why = format!("cannot start the DNS runtime: {e}");
            return names
                .iter()
                .map(|(n, _)| (n.clone(), Err(why.clone())))
                .collect();
        }
    };
    rt.block_on(async {
        // One resolver per server for the whole call (built inside the
        // runtime, which hickory's tokio provider needs).
        let mut resolvers: BTreeMap<IpAddr, Result<TokioResolver, String>> = BTreeMap::new();
        for (_, servers) in names {
            if let Ok(addrs) = server_addrs(servers) {
                for a in addrs {
                    resolvers.entry(a).or_insert_with(|| resolver_for(a));
                }
            }
        }
        let resolvers = &resolvers;
        stream::iter(names.iter().cloned())
            .map(|(name, servers)| async move {
                let result = resolve_one(resolvers, &name, &servers).await;
                (name, result)
            })
            .buffered(PARALLEL_NAMES)
            .collect()
            .await
    })
}

async fn resolve_one(
    resolvers: &BTreeMap<IpAddr, Result<TokioResolver, String>>,
    name: &str,
    servers: &Servers,
) -> Result<Resolution, String> {
    let asked = fqdn(name)?;
    let mut failures = Vec::new();
    for server in server_addrs(servers)? {
        let result = match resolvers.get(&server) {
            Some(Ok(r)) => at_server(r, server, &asked).await,
            Some(Err(e)) => Err(e.clone()),
            None => Err("no resolver was set up".to_owned()),
        };
        match result {
            Ok(r) => return Ok(r),
            Err(e) => failures.push(format!("{e} (asking {server})")),
        }
    }
    Err(failures.join("; "))
}

/// A and AAAA of one name through `servers` (see [`resolve_all`]).
pub fn resolve(servers: &Servers, name: &str) -> Result<Resolution, String> {
    resolve_all(&[(name.to_owned(), servers.clone())])
        .pop()
        .map_or_else(|| Err("no result".to_owned()), |(_, r)| r)
}

/// A domain could not be resolved while applying.
pub fn resolve_failed(name: &str, why: &str) -> Diag {
    Diag::warning(
        &codes::RESOLVE_FAILED,
        Span::default(),
        format!("cannot resolve {name}: {why}"),
    )
    .help("check the agent's resolvers and the name, then apply again")
    .note("an allow for this name allows nothing (fail closed); a deny for it cannot be filled and apply refuses to load (AP0717)")
}

/// A deny rule's domain has no resolution: its load-time set cannot be filled.
pub fn deny_set_unfilled(name: &str, rule: &str, span: Span) -> Diag {
    Diag::error(
        &codes::DENY_SET_UNFILLED,
        span,
        format!("the deny rule {rule} names {name}, which could not be resolved: its set cannot be filled"),
    )
    .label("this rule")
    .help("make the resolver reachable and apply again, or deny the name's addresses")
    .note("nothing was loaded: an unfilled deny would deny nothing, and one widened to every address is not the policy")
}

/// Resolves every exact domain of the agents' net rules through the
/// resolvers of the first agent that names it (else the host's). A name that
/// fails gets a warning (AP0715) and no entry: it fails closed.
pub fn resolve_domains(policy: &Policy) -> (BTreeMap<String, Resolution>, Vec<Diag>) {
    let wanted: Vec<(String, Servers)> = wanted_names(policy).into_iter().collect();
    let mut out = BTreeMap::new();
    let mut diags = Vec::new();
    for (name, result) in resolve_all(&wanted) {
        match result {
            Ok(r) => {
                out.insert(name, r);
            }
            Err(e) => diags.push(resolve_failed(&name, &e)),
        }
    }
    (out, diags)
}

/// The exact domains the agents' net rules name (not the RFC 6761 loopback
/// names, which nothing asks), each with the servers to ask.
pub fn wanted_names(policy: &Policy) -> BTreeMap<String, Servers> {
    let mut wanted = BTreeMap::new();
    for agent in &policy.agents {
        for rule in &agent.rules {
            if let Matcher::Net {
                hosts: Some(hosts), ..
            } = &rule.matcher
            {
                for h in hosts {
                    if let Host::Domain(d) = h {
                        if !d.wildcard && agentpol_firewall::lower::reserved_name(&d.name).is_none()
                        {
                            wanted
                                .entry(d.name.clone())
                                .or_insert_with(|| Servers::of(agent));
                        }
                    }
                }
            }
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME};
    use std::str::FromStr;

    fn n(s: &str) -> Name {
        Name::from_str(&format!("{s}.")).unwrap()
    }

    fn a(owner: &str, ttl: u32, ip: [u8; 4]) -> Record {
        Record::from_rdata(n(owner), ttl, RData::A(A(std::net::Ipv4Addr::from(ip))))
    }

    fn cname(owner: &str, ttl: u32, target: &str) -> Record {
        Record::from_rdata(n(owner), ttl, RData::CNAME(CNAME(n(target))))
    }

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// Issue 10.15: an A record owned by another name in the answer for
    /// `allowed.test` was accepted, and its address allowed.
    #[test]
    fn records_of_other_names_are_ignored() {
        let recs = [
            a("other.test", 30, [198, 51, 100, 9]),
            a("allowed.test", 40, [192, 0, 2, 1]),
        ];
        assert_eq!(
            chain_addrs(&n("allowed.test"), RecordType::A, &recs).unwrap(),
            (ips(&["192.0.2.1"]), Some(40))
        );
        assert_eq!(
            chain_addrs(&n("allowed.test"), RecordType::A, &recs[..1]).unwrap(),
            (vec![], None)
        );
        // Names compare without case, as DNS does.
        assert_eq!(
            chain_addrs(&n("ALLOWED.test"), RecordType::A, &recs)
                .unwrap()
                .0,
            ips(&["192.0.2.1"])
        );
        // The type asked for only.
        assert_eq!(
            chain_addrs(&n("allowed.test"), RecordType::AAAA, &recs).unwrap(),
            (vec![], None)
        );
    }

    #[test]
    fn cname_chains_are_followed_from_the_asked_name_only() {
        let recs = [
            a("real.test", 50, [192, 0, 2, 7]),
            cname("mid.test", 20, "real.test"),
            cname("alias.test", 60, "mid.test"),
            a("unrelated.test", 5, [198, 51, 100, 1]),
            // Owned by a name inside the chain, not at its end.
            a("mid.test", 5, [198, 51, 100, 2]),
        ];
        assert_eq!(
            chain_addrs(&n("alias.test"), RecordType::A, &recs).unwrap(),
            (ips(&["192.0.2.7"]), Some(20))
        );
        // A CNAME owned by another name does not start a chain.
        let recs = [
            cname("other.test", 30, "real.test"),
            a("real.test", 30, [192, 0, 2, 7]),
        ];
        assert_eq!(
            chain_addrs(&n("www.test"), RecordType::A, &recs).unwrap(),
            (vec![], None)
        );
        // A chain to a name the answer has no address for: none.
        let recs = [
            cname("alias.test", 30, "away.test"),
            a("other.test", 30, [198, 51, 100, 3]),
        ];
        assert_eq!(
            chain_addrs(&n("alias.test"), RecordType::A, &recs).unwrap(),
            (vec![], None)
        );
        let looped = [cname("a.test", 30, "b.test"), cname("b.test", 30, "a.test")];
        assert!(chain_addrs(&n("a.test"), RecordType::A, &looped)
            .unwrap_err()
            .contains("loop"));
        let long: Vec<Record> = (0..40)
            .map(|i| cname(&format!("c{i}.test"), 30, &format!("c{}.test", i + 1)))
            .collect();
        assert!(chain_addrs(&n("c0.test"), RecordType::A, &long)
            .unwrap_err()
            .contains("longer"));
    }

    #[test]
    fn aaaa_and_duplicates() {
        let v6 = Record::from_rdata(
            n("v6.test"),
            30,
            RData::AAAA(AAAA("2001:db8::1".parse().unwrap())),
        );
        let recs = [v6.clone(), v6, a("v6.test", 10, [192, 0, 2, 1])];
        assert_eq!(
            chain_addrs(&n("v6.test"), RecordType::AAAA, &recs).unwrap(),
            (ips(&["2001:db8::1"]), Some(30))
        );
    }

    #[test]
    fn names_are_asked_fully_qualified() {
        assert!(fqdn("api.example.com").unwrap().is_fqdn());
        assert_eq!(fqdn("api.example.com.").unwrap(), n("api.example.com"));
        assert!(fqdn("").is_err());
        assert!(fqdn("a..b").is_err());
        assert!(fqdn(&"x".repeat(64)).is_err());
    }

    #[test]
    fn resolv_conf() {
        assert_eq!(
            resolv_conf_nameservers(
                "# x\nsearch a\noptions ndots:5 timeout:30\nnameserver 192.0.2.53\nnameserver ::1\n"
            ),
            ips(&["192.0.2.53", "::1"])
        );
        assert_eq!(resolv_conf_nameservers(""), Vec::<IpAddr>::new());
        assert_eq!(
            resolv_conf_nameservers("search a.example\n"),
            Vec::<IpAddr>::new()
        );
    }

    #[test]
    fn no_servers_is_an_error_not_a_hang() {
        let r = resolve(&Servers::Declared(vec![]), "api.example.com");
        assert!(r.unwrap_err().contains("no resolver"));
        assert!(resolve(&Servers::Declared(ips(&["192.0.2.53"])), "a..b")
            .unwrap_err()
            .contains("not a valid domain name"));
    }

    proptest::proptest! {
        /// Whatever a reply holds, only addresses of A records owned by the
        /// asked name or a CNAME target come out, and without a CNAME owned
        /// by the asked name exactly its own A records do.
        #[test]
        fn only_chain_records_count(
            recs in proptest::collection::vec((0u8..5, 0u8..5, proptest::bool::ANY), 0..12),
        ) {
            let names = ["q.test", "b.test", "c.test", "d.test", "e.test"];
            let records: Vec<Record> = recs
                .iter()
                .map(|(o, x, is_cname)| {
                    let owner = names[usize::from(*o)];
                    if *is_cname {
                        cname(owner, 30, names[usize::from(*x)])
                    } else {
                        a(owner, 30, [192, 0, 2, *x])
                    }
                })
                .collect();
            let asked = n("q.test");
            if let Ok((addrs, _)) = chain_addrs(&asked, RecordType::A, &records) {
                for ip in &addrs {
                    let from = records.iter().find(|r| r.data.ip_addr() == Some(*ip));
                    proptest::prop_assert!(from.is_some());
                }
                let has_cname = records
                    .iter()
                    .any(|r| r.name == asked && r.record_type() == RecordType::CNAME);
                if !has_cname {
                    let mut own: Vec<IpAddr> = Vec::new();
                    for r in &records {
                        if let (true, Some(ip)) = (r.name == asked, r.data.ip_addr()) {
                            if !own.contains(&ip) {
                                own.push(ip);
                            }
                        }
                    }
                    proptest::prop_assert_eq!(addrs, own);
                }
            }
        }
    }

    #[test]
    fn options_are_bounded() {
        let o = options();
        assert_eq!(o.timeout, QUERY_TIMEOUT);
        assert_eq!(o.attempts + 1, ATTEMPTS);
        assert_eq!(o.use_hosts_file, ResolveHosts::Never);
        assert!(o.preserve_intermediates);
    }
}
