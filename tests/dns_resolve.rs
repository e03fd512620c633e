//! Issue 10.15: the resolver used by `apply` and `run` believes only the
//! asked name's records. A scripted DNS server (agentpol_testkit::dns_script)
//! listens on 192.0.2.53 port 53 (UDP and TCP) inside a scratch network
//! namespace and sends correct, foreign, forged and truncated replies and
//! CNAME chains; the resolver module is called from a thread inside that
//! namespace, and `agentpolc apply --dry-run` is run there through nsenter.
//! Kernel test: opt in with AGENTPOL_PRIVILEGED_TESTS=1 (root).

mod firewall_support;

use agentpol_firewall::Resolution;
use agentpol_runtime::dns::{self, Servers, NAME_DEADLINE};
use agentpol_testkit::dns_script::{a, aaaa, cname, in_netns, Qtype, Reply, Script, Seen, Server};
use firewall_support::*;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_agentpolc");
const SERVER: &str = "192.0.2.53";
/// The address only foreign records carry: it must never be accepted.
const FOREIGN: &str = "198.51.100.66";
/// The address only forged replies carry.
const FORGED: &str = "198.51.100.77";

fn script() -> Script {
    use Qtype::{Aaaa, A};
    Script::new()
        // (a) a correct answer, both families.
        .on(
            "good.test",
            A,
            Reply::Answer(vec![a("good.test", 30, "192.0.2.10")]),
        )
        .on(
            "good.test",
            Aaaa,
            Reply::Answer(vec![aaaa("good.test", 60, "2001:db8::10")]),
        )
        // (b) an A record owned by other.test in the answer for allowed.test,
        // beside allowed.test's own; and one with only the foreign record.
        .on(
            "allowed.test",
            A,
            Reply::Answer(vec![
                a("other.test", 300, FOREIGN),
                a("allowed.test", 30, "192.0.2.11"),
            ]),
        )
        .on(
            "hijacked.test",
            A,
            Reply::Answer(vec![a("other.test", 300, FOREIGN)]),
        )
        // (c) replies with another id and another question first, then the
        // right one; and only forged replies.
        .on(
            "forged.test",
            A,
            Reply::Forged {
                forged: vec![a("forged.test", 300, FORGED)],
                then: Some(vec![a("forged.test", 30, "192.0.2.13")]),
            },
        )
        .on(
            "forged-only.test",
            A,
            Reply::Forged {
                forged: vec![a("forged-only.test", 300, FORGED)],
                then: None,
            },
        )
        // (d) truncated over UDP (first record only), all three over TCP.
        .on(
            "big.test",
            A,
            Reply::Truncated(vec![
                a("big.test", 30, "192.0.2.21"),
                a("big.test", 30, "192.0.2.22"),
                a("big.test", 30, "192.0.2.23"),
            ]),
        )
        // (e) alias.test → real.test → A in one answer; alias2.test's answer
        // has the CNAME only (the resolver must ask for real.test itself).
        .on(
            "alias.test",
            A,
            Reply::Answer(vec![
                cname("alias.test", 20, "real.test"),
                a("real.test", 40, "192.0.2.30"),
            ]),
        )
        .on(
            "alias2.test",
            A,
            Reply::Answer(vec![cname("alias2.test", 40, "real.test")]),
        )
        .on(
            "real.test",
            A,
            Reply::Answer(vec![a("real.test", 40, "192.0.2.30")]),
        )
        // (f) a CNAME to elsewhere.test whose answer carries an A record of
        // other.test, a name not in the chain; elsewhere.test's own answer
        // (asked separately) is 192.0.2.40. And a chain to a name that does
        // not exist, with the same foreign record.
        .on(
            "chain-foreign.test",
            A,
            Reply::Answer(vec![
                cname("chain-foreign.test", 30, "elsewhere.test"),
                a("other.test", 300, FOREIGN),
            ]),
        )
        .on(
            "elsewhere.test",
            A,
            Reply::Answer(vec![a("elsewhere.test", 30, "192.0.2.40")]),
        )
        .on(
            "chain-nx.test",
            A,
            Reply::Answer(vec![
                cname("chain-nx.test", 30, "gone.test"),
                a("other.test", 300, FOREIGN),
            ]),
        )
        .on("servfail.test", A, Reply::ServFail)
        .on("silent.test", A, Reply::Silent)
}

/// A namespace with the server's address on its loopback, and the server.
fn setup(t: &str) -> (Netns, Server) {
    let ns = Netns::new(&tag(t));
    run(&mut ns.cmd("ip", &["addr", "add", &format!("{SERVER}/32"), "dev", "lo"]));
    let server = Server::start(
        SERVER.parse().unwrap(),
        Some(Path::new(&ns.path())),
        script(),
    )
    .unwrap_or_else(|e| panic!("cannot start the scripted DNS server: {e}"));
    (ns, server)
}

fn ips(v: &[&str]) -> Vec<IpAddr> {
    v.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn resolver_believes_only_the_asked_names_records() {
    if !privileged("resolver_believes_only_the_asked_names_records") {
        return;
    }
    let (ns, server) = setup("dnsr");
    let servers = Servers::Declared(ips(&[SERVER]));
    let names = [
        "good.test",
        "allowed.test",
        "hijacked.test",
        "forged.test",
        "forged-only.test",
        "big.test",
        "alias.test",
        "alias2.test",
        "chain-foreign.test",
        "chain-nx.test",
        "nx.test",
        "servfail.test",
        "silent.test",
    ];
    let asked: Vec<(String, Servers)> = names
        .iter()
        .map(|n| (n.to_string(), servers.clone()))
        .collect();
    let start = Instant::now();
    let results = in_netns(Path::new(&ns.path()), || dns::resolve_all(&asked)).unwrap();
    let took = start.elapsed();
    let by_name: std::collections::BTreeMap<&str, &Result<Resolution, String>> =
        results.iter().map(|(n, r)| (n.as_str(), r)).collect();
    let ok = |name: &str| -> &Resolution {
        match by_name.get(name) {
            Some(Ok(r)) => r,
            other => panic!("{name}: {other:?}"),
        }
    };
    let err = |name: &str| -> &String {
        match by_name.get(name) {
            Some(Err(e)) => e,
            other => panic!("{name} should fail: {other:?}"),
        }
    };

    // (a)
    let good = ok("good.test");
    assert_eq!(good.addrs, ips(&["192.0.2.10", "2001:db8::10"]));
    assert_eq!((good.ttl_secs, good.resolver.as_str()), (30, SERVER));
    // (b) the foreign record is not accepted, the name's own is.
    assert_eq!(ok("allowed.test").addrs, ips(&["192.0.2.11"]));
    assert_eq!(ok("allowed.test").ttl_secs, 30);
    assert_eq!(ok("hijacked.test").addrs, ips(&[]));
    // (c) forged replies ignored; the right one accepted; only forged ones: no answer, an error.
    assert_eq!(ok("forged.test").addrs, ips(&["192.0.2.13"]));
    assert!(!err("forged-only.test").is_empty());
    // (d) the full answer over TCP.
    assert_eq!(
        ok("big.test").addrs,
        ips(&["192.0.2.21", "192.0.2.22", "192.0.2.23"])
    );
    // (e) chains followed, in one answer or by asking again; TTL = smallest link.
    assert_eq!(ok("alias.test").addrs, ips(&["192.0.2.30"]));
    assert_eq!(ok("alias.test").ttl_secs, 20);
    assert_eq!(ok("alias2.test").addrs, ips(&["192.0.2.30"]));
    // (f) the foreign record in a chain is rejected; the chain's end is asked.
    assert_eq!(ok("chain-foreign.test").addrs, ips(&["192.0.2.40"]));
    assert_eq!(ok("chain-nx.test").addrs, ips(&[]));
    // NXDOMAIN is "no addresses"; SERVFAIL and silence are failures.
    assert_eq!(ok("nx.test").addrs, ips(&[]));
    assert_eq!(ok("nx.test").ttl_secs, 0);
    assert!(!err("servfail.test").is_empty());
    assert!(
        err("silent.test").contains(SERVER),
        "{}",
        err("silent.test")
    );
    for (name, r) in &results {
        if let Ok(r) = r {
            for bad in [FOREIGN, FORGED] {
                assert!(!r.addrs.contains(&bad.parse().unwrap()), "{name}: {r:?}");
            }
        }
    }
    // Bounded: the names run in parallel, a silent server costs one deadline.
    assert!(
        took < NAME_DEADLINE * 2 + Duration::from_secs(2),
        "took {took:?}"
    );

    let seen = server.seen();
    // (d) big.test came back over TCP, after a UDP try.
    assert!(
        seen.iter().any(|s| s.name == "big.test" && s.tcp),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.name == "big.test" && !s.tcp),
        "{seen:?}"
    );
    // (e) alias2.test's target was asked for by name.
    assert!(seen.iter().any(|s| s.name == "real.test"), "{seen:?}");
    // Random ids and source ports: not one counter, not one socket. Only the
    // first UDP query of each question counts (retransmissions of one query
    // keep its id, as they must).
    let mut firsts = Vec::new();
    for s in seen.iter().filter(|s| !s.tcp) {
        if !firsts
            .iter()
            .any(|f: &&Seen| f.name == s.name && f.qtype == s.qtype)
        {
            firsts.push(s);
        }
    }
    let udp = firsts;
    assert!(udp.len() >= 20, "{seen:?}");
    let ids: BTreeSet<u16> = udp.iter().map(|s| s.id).collect();
    let ports: BTreeSet<u16> = udp.iter().map(|s| s.src.port()).collect();
    // 20+ random 16-bit values collide rarely; a counter or one socket would
    // fail by far.
    assert!(
        ids.len() * 10 >= udp.len() * 9,
        "ids {ids:?} of {}",
        udp.len()
    );
    assert!(
        ports.len() * 10 >= udp.len() * 9,
        "ports {ports:?} of {}",
        udp.len()
    );
    let sequential = udp
        .windows(2)
        .filter(|w| w[1].id == w[0].id.wrapping_add(1))
        .count();
    assert!(
        sequential * 4 < udp.len(),
        "{sequential} sequential ids: {udp:?}"
    );
}

const POLICY: &str = r#"version 1

agent a {
  scope uid 4242
  resolvers { 192.0.2.53 }
  net {
    allow connect tcp "allowed.test" port 443
    allow connect tcp "big.test" port 443
    allow connect tcp "alias.test" port 443
    allow connect tcp "chain-foreign.test" port 443
    allow connect tcp "hijacked.test" port 443
    allow connect tcp "forged.test" port 443
    deny connect tcp "nx.test"
  }
}
"#;

const UNFILLED: &str = r#"version 1

agent a {
  scope uid 4242
  resolvers { 192.0.2.53 }
  net {
    allow connect tcp port 443
    deny connect tcp "servfail.test"
  }
}
"#;

/// The same through `agentpolc apply --dry-run`: what it prints it would
/// load. `big.test` (truncated over UDP) failed to resolve before hickory.
#[test]
fn apply_fills_sets_with_the_asked_names_records_only() {
    if !privileged("apply_fills_sets_with_the_asked_names_records_only") {
        return;
    }
    let (ns, _server) = setup("dnsa");
    let tmp = TempDir::new("dnsa");
    let file = tmp.write("p.agentpol", POLICY);
    let out = ns
        .cmd(
            BIN,
            &["apply", "--policy", &file, "--dry-run", "--accept-loss"],
        )
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for line in [
        "resolved allowed.test -> 192.0.2.11 (resolver 192.0.2.53, TTL 30s)",
        "resolved big.test -> 192.0.2.21, 192.0.2.22, 192.0.2.23 (resolver 192.0.2.53, TTL 30s)",
        "resolved alias.test -> 192.0.2.30 (resolver 192.0.2.53, TTL 20s)",
        "resolved chain-foreign.test -> 192.0.2.40 (resolver 192.0.2.53, TTL 30s)",
        "resolved hijacked.test -> no address (resolver 192.0.2.53, TTL 0s)",
        "resolved forged.test -> 192.0.2.13 (resolver 192.0.2.53, TTL 30s)",
        // NXDOMAIN for a deny: nothing to deny, not a failure.
        "resolved nx.test -> no address (resolver 192.0.2.53, TTL 0s)",
    ] {
        assert!(
            stdout.contains(line),
            "missing {line:?} in\n{stdout}\n{stderr}"
        );
    }
    assert!(!stderr.contains("AP0715"), "{stderr}");
    for bad in [FOREIGN, FORGED] {
        assert!(!stdout.contains(bad), "{bad} in\n{stdout}");
    }
    assert!(stdout.contains("192.0.2.23"), "{stdout}");

    // A deny whose name fails (SERVFAIL) still refuses to load (AP0717).
    let file = tmp.write("u.agentpol", UNFILLED);
    let out = ns
        .cmd(
            BIN,
            &["apply", "--policy", &file, "--dry-run", "--accept-loss"],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("AP0715") && stderr.contains("AP0717"),
        "{stderr}"
    );
    assert!(stderr.contains("servfail.test"), "{stderr}");
}

const RUN_POLICY: &str = r#"version 1

agent r {
  resolvers { 192.0.2.53 }
  fs {
    allow read { "/usr/**", "/etc/**" }
  }
  exec { allow "/usr/**" }
  net {
    allow connect tcp "allowed.test" port 443
    allow connect tcp "big.test" port 443
  }
}
"#;

/// `agentpolc run` resolves its names at start through the same module.
#[test]
fn run_resolves_at_start_with_the_asked_names_records_only() {
    if !privileged("run_resolves_at_start_with_the_asked_names_records_only") {
        return;
    }
    let (ns, _server) = setup("dnsrun");
    let tmp = TempDir::new("dnsrun");
    let file = tmp.write("r.agentpol", RUN_POLICY);
    let state = tmp.0.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let out = ns
        .cmd(
            BIN,
            &[
                "run",
                "--accept-loss",
                "--policy",
                &file,
                "--agent",
                "r",
                "--",
                "/bin/true",
            ],
        )
        .env("AGENTPOL_STATE_ROOT", &state)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for line in [
        "agentpol: resolved allowed.test at start -> 192.0.2.11 (resolver 192.0.2.53, TTL 30s)",
        "agentpol: resolved big.test at start -> 192.0.2.21, 192.0.2.22, 192.0.2.23 (resolver 192.0.2.53, TTL 30s)",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in\n{stderr}");
    }
    assert!(!stderr.contains(FOREIGN), "{stderr}");
}
