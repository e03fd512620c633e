//! Real traffic through a loaded ruleset: two network namespaces joined by a
//! veth pair (documentation addresses only), listeners on the peer side, and
//! clients run inside and outside the agent's cgroup. Allowed connections
//! must succeed and denied ones fail, TCP and UDP, IPv4 and IPv6; the same
//! for incoming connections to a listener in the agent's cgroup. Each case's
//! expectation is written by hand and must also equal the packet model's
//! (reference evaluator on the lowered policy). One more applies an iptables
//! policy naming domains with `agentpolc apply` (names resolved by a DNS
//! server in the namespace, held in ipset sets). Kernel test: opt in with
//! AGENTPOL_PRIVILEGED_TESTS=1.

mod firewall_support;

use agentpol_core::ir::{Action::*, Effect::*, Proto, Scope};
use agentpol_firewall::lower::{lower, Layer};
use agentpol_firewall::validate::{expected, Ct, Hook, Packet, SocketCtx, Verdict};
use agentpol_firewall::{emit_iptables, emit_nft, Options};
use agentpol_testkit::net_fixture::{self, cgroup, net, Fixture};
use firewall_support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

const SERVER: &str = r#"
import socket, selectors, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    fam, proto, addr, port = spec.split(",")
    f = socket.AF_INET6 if fam == "6" else socket.AF_INET
    s = socket.socket(f, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if f == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    sel.register(s, selectors.EVENT_READ, proto)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if key.data == "tcp":
            c, _ = s.accept()
            c.settimeout(2)
            try:
                c.sendall(b"pong")
            except OSError:
                pass
            c.close()
        else:
            data, peer = s.recvfrom(100)
            s.sendto(b"pong", peer)
"#;

const CLIENT: &str = r#"
import errno, socket, sys
proto, mode, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
f = socket.AF_INET6 if ":" in addr else socket.AF_INET
try:
    s = socket.socket(f, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(2)
    if proto == "tcp":
        s.connect((addr, port))
        r = s.recv(10)
    elif mode == "connect":
        s.connect((addr, port))
        s.send(b"ping")
        r = s.recv(10)
    else:
        s.sendto(b"ping", (addr, port))
        r, _ = s.recvfrom(10)
    print("ok" if r == b"pong" else "bad-reply")
except socket.timeout:
    print("err timeout")
except OSError as e:
    print("err " + errno.errorcode.get(e.errno, str(e.errno)))
"#;

struct Case {
    proto: Proto,
    mode: &'static str,
    addr: &'static str,
    port: u16,
    allowed: bool,
}

fn case(proto: Proto, mode: &'static str, addr: &'static str, port: u16, allowed: bool) -> Case {
    Case {
        proto,
        mode,
        addr,
        port,
        allowed,
    }
}

fn spawn_ready(mut cmd: Command, what: &str) -> Proc {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let _ = BufReader::new(out).read_line(&mut line);
    let p = Proc(child);
    assert_eq!(line.trim(), "ready", "{what} did not start");
    p
}

fn proto_name(p: Proto) -> &'static str {
    if p == Proto::Udp {
        "udp"
    } else {
        "tcp"
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Nft,
    Iptables,
}

#[test]
fn real_traffic_nft() {
    if privileged("real_traffic_nft") {
        real_traffic(Target::Nft);
    }
}

#[test]
fn real_traffic_iptables() {
    if privileged("real_traffic_iptables") {
        real_traffic(Target::Iptables);
    }
}

/// Who runs a client: a process in the agent's cgroup, one in another cgroup,
/// or one in another cgroup as the uid-scoped agent's uid.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Agent,
    Outside,
    Uid,
}

const UID: u32 = 1001;

/// Two namespaces joined by a veth pair: `a` (192.0.2.1, 2001:db8::1) holds
/// the agents and the ruleset, `b` the peers (192.0.2.2, 198.51.100.2,
/// 198.51.100.3, 2001:db8::2, 2001:db8:1::2), with routes from `a` to the
/// second networks through `b`.
fn two_namespaces(t: &str) -> (Netns, Netns) {
    let a = Netns::new(&tag(&format!("rt{t}a")));
    let b = Netns::new(&tag(&format!("rt{t}b")));
    let (va, vb) = (tag(&format!("{t}a")), tag(&format!("{t}b")));
    run(Command::new("ip").args([
        "link", "add", &va, "netns", &a.name, "type", "veth", "peer", "name", &vb, "netns", &b.name,
    ]));
    for (ns, dev, addrs) in [
        (&a, &va, vec!["192.0.2.1/24", "2001:db8::1/64"]),
        (
            &b,
            &vb,
            vec![
                "192.0.2.2/24",
                "198.51.100.2/24",
                "198.51.100.3/24",
                "2001:db8::2/64",
                "2001:db8:1::2/64",
            ],
        ),
    ] {
        for ad in addrs {
            let mut args = vec!["addr", "add", ad, "dev", dev.as_str()];
            if ad.contains(':') {
                args.push("nodad");
            }
            run(&mut ns.cmd("ip", &args));
        }
        run(&mut ns.cmd("ip", &["link", "set", dev, "up"]));
    }
    run(&mut a.cmd(
        "ip",
        &["route", "add", "198.51.100.0/24", "via", "192.0.2.2"],
    ));
    run(&mut a.cmd(
        "ip",
        &[
            "-6",
            "route",
            "add",
            "2001:db8:1::/64",
            "via",
            "2001:db8::2",
        ],
    ));
    (a, b)
}

fn real_traffic(target: Target) {
    let t = if target == Target::Nft { "n" } else { "i" };
    let mount = cgroup_mount();
    let base = tag(&format!("rt{t}"));
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &format!("{base}/agent"));
    cgroups.add(&mount.mount_point, &format!("{base}/agent/worker"));
    cgroups.add(&mount.mount_point, &format!("{base}/other"));
    let agent_rel = format!("{base}/agent/worker");
    let other_rel = format!("{base}/other");
    let tmp = TempDir::new(&format!("rt{t}"));
    let server_py = tmp.write("server.py", SERVER);
    let client_py = tmp.write("client.py", CLIENT);

    let (a, b) = two_namespaces(t);
    let mut f = Fixture::new("agent agent {}\nagent batch {}");
    let ag = "agent";
    let rules = vec![
        net(
            &f,
            ag,
            "web",
            Allow,
            Connect,
            Proto::Tcp,
            &["192.0.2.2", "2001:db8::2"],
            &[(80, 80)],
            "agent",
        ),
        net(
            &f,
            ag,
            "https",
            Allow,
            Connect,
            Proto::Tcp,
            &[],
            &[(443, 443)],
            "agent",
        ),
        net(
            &f,
            ag,
            "no-net2",
            Deny,
            Connect,
            Proto::Tcp,
            &["198.51.100.0/24", "2001:db8:1::/64"],
            &[],
            "agent",
        ),
        net(
            &f,
            ag,
            "udp.1",
            Allow,
            Connect,
            Proto::Udp,
            &["192.0.2.2", "2001:db8::2"],
            &[(5000, 5000)],
            "agent",
        ),
        net(
            &f,
            ag,
            "udp.2",
            Allow,
            Sendto,
            Proto::Udp,
            &["192.0.2.2", "2001:db8::2"],
            &[(5000, 5000)],
            "agent",
        ),
        net(
            &f,
            ag,
            "udp-connect-only",
            Allow,
            Connect,
            Proto::Udp,
            &["192.0.2.2"],
            &[(5001, 5001)],
            "agent",
        ),
        net(
            &f,
            ag,
            "listen",
            Allow,
            Listen,
            Proto::Tcp,
            &["192.0.2.1", "2001:db8::1"],
            &[(7000, 7000)],
            "agent",
        ),
    ];
    {
        let a = f.agent(ag, cgroup(&format!("{base}/agent")), "agent agent");
        a.rules = rules;
        // Naming a resolver allows DNS to it, TCP and UDP (and refuses DNS elsewhere).
        a.resolvers = vec!["192.0.2.2".parse().unwrap()];
    }
    let batch = vec![net(
        &f,
        "batch",
        "web",
        Allow,
        Connect,
        Proto::Tcp,
        &["192.0.2.0/24"],
        &[(80, 80)],
        "agent batch",
    )];
    f.agent("batch", Scope::Uid { uid: UID }, "agent batch")
        .rules = batch;
    let opts = Options {
        cgroup_root: mount.nft_root.clone(),
        ..Options::default()
    };
    // Order: the cgroups exist (created above), then the rules are loaded.
    let layer = match target {
        Target::Nft => {
            let out = emit_nft(&f.policy, &opts);
            let file = tmp.write(
                "agentpol.nft",
                &String::from_utf8(out.artifacts[0].contents.clone()).unwrap(),
            );
            run(&mut a.cmd("nft", &["-f", &file]));
            Layer::Nft
        }
        Target::Iptables => {
            let out = emit_iptables(&f.policy, &opts);
            for (name, tool) in [
                ("agentpol.v4.rules", "iptables-restore"),
                ("agentpol.v6.rules", "ip6tables-restore"),
            ] {
                let art = out.artifacts.iter().find(|x| x.path == name).unwrap();
                let file = tmp.write(name, &String::from_utf8(art.contents.clone()).unwrap());
                run(&mut a.cmd(tool, &["--noflush", &file]));
            }
            Layer::Iptables
        }
    };

    let mut specs = Vec::new();
    // Bound per address: a UDP reply from a wildcard socket would come from
    // the primary address, which a connected client socket ignores.
    for port in ["53", "80", "443", "8080", "5000", "5001"] {
        for (fam, addr) in [
            ("4", "192.0.2.2"),
            ("4", "198.51.100.2"),
            ("6", "2001:db8::2"),
            ("6", "2001:db8:1::2"),
        ] {
            for proto in ["tcp", "udp"] {
                specs.push(format!("{fam},{proto},{addr},{port}"));
            }
        }
    }
    let mut server = b.cmd("/usr/bin/python3", &[&server_py]);
    server.args(&specs);
    let _server = spawn_ready(server, "peer server");

    let lowered = lower(&f.policy, &opts, layer);
    let oracle = |p: &agentpol_core::ir::Policy, r: &agentpol_core::request::Request| {
        net_fixture::decide(p, r)
    };
    let model = |c: &Case, hook: Hook, cg: &str, uid: u32| {
        let daddr: std::net::IpAddr = c.addr.parse().unwrap();
        let p = Packet {
            hook,
            proto: c.proto,
            daddr: agentpol_firewall::interval::unmap_addr(daddr),
            dport: c.port,
            ct: Ct::New,
            socket: SocketCtx {
                cgroup: Some(cg.to_string()),
                uid,
            },
        };
        expected(&lowered, &p, &oracle) == Verdict::Accept
    };

    use Proto::{Tcp, Udp};
    // (case, allowed for the uid agent)
    let outgoing = [
        (case(Tcp, "connect", "192.0.2.2", 80, true), true),
        (case(Tcp, "connect", "2001:db8::2", 80, true), false),
        (case(Tcp, "connect", "192.0.2.2", 8080, false), false),
        (case(Tcp, "connect", "2001:db8::2", 8080, false), false),
        (case(Tcp, "connect", "192.0.2.2", 443, true), false),
        (case(Tcp, "connect", "2001:db8::2", 443, true), false),
        (case(Tcp, "connect", "198.51.100.2", 443, false), false),
        (case(Tcp, "connect", "2001:db8:1::2", 443, false), false),
        // A dual-stack socket to a mapped address sends IPv4: decided by the v4 rules.
        (case(Tcp, "connect", "::ffff:192.0.2.2", 80, true), true),
        (
            case(Tcp, "connect", "::ffff:198.51.100.2", 443, false),
            false,
        ),
        (case(Udp, "connect", "192.0.2.2", 5000, true), false),
        (case(Udp, "sendto", "192.0.2.2", 5000, true), false),
        (case(Udp, "connect", "2001:db8::2", 5000, true), false),
        (case(Udp, "sendto", "2001:db8::2", 5000, true), false),
        (case(Udp, "connect", "192.0.2.2", 5001, false), false),
        (case(Udp, "sendto", "192.0.2.2", 5001, false), false),
        (case(Udp, "connect", "198.51.100.2", 5000, false), false),
        (case(Udp, "sendto", "2001:db8::2", 8080, false), false),
        // DNS: to the named resolver, UDP (both ways of sending) and TCP;
        // not to another address, and not over IPv6 to the same peer.
        (case(Udp, "sendto", "192.0.2.2", 53, true), false),
        (case(Udp, "connect", "192.0.2.2", 53, true), false),
        (case(Tcp, "connect", "192.0.2.2", 53, true), false),
        (case(Udp, "sendto", "198.51.100.2", 53, false), false),
        (case(Tcp, "connect", "198.51.100.2", 53, false), false),
        (case(Udp, "sendto", "2001:db8::2", 53, false), false),
    ];
    let mut failures = Vec::new();
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    let t0 = Instant::now();
    for (c, uid_ok) in &outgoing {
        for who in [Who::Agent, Who::Outside, Who::Uid] {
            let (rel, uid, want_ok) = match who {
                Who::Agent => (&agent_rel, 0, c.allowed),
                Who::Outside => (&other_rel, 0, true),
                Who::Uid => (&other_rel, UID, *uid_ok),
            };
            assert_eq!(
                model(c, Hook::Output, rel, uid),
                want_ok,
                "hand-written expectation disagrees with the model: {who:?} {} {} {}",
                c.mode,
                c.addr,
                c.port
            );
            let setpriv = if uid == 0 {
                String::new()
            } else {
                format!("setpriv --reuid={uid} --regid={uid} --clear-groups ")
            };
            let script = format!(
                "echo $$ > {}/{rel}/cgroup.procs && exec nsenter --net={} {setpriv}/usr/bin/python3 {client_py} {} {} {} {}",
                mount.mount_point, a.path(), proto_name(c.proto), c.mode, c.addr, c.port
            );
            let out = run(Command::new("sh").args(["-c", &script]));
            let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if (got == "ok") != want_ok {
                failures.push(format!(
                    "{} {} {} port {} ({who:?}): got {got:?}",
                    proto_name(c.proto),
                    c.mode,
                    c.addr,
                    c.port
                ));
            }
            if got != "ok" {
                *errors
                    .entry(format!("{} {}", proto_name(c.proto), got))
                    .or_default() += 1;
            }
        }
    }

    // Incoming: listeners in the agent's cgroup on 7000 (allowed) and 7001 (not),
    // TCP and UDP, and one outside the agent on 7002. The iptables target does
    // not filter incoming traffic (AP0706): there all succeed.
    let listen_specs: Vec<String> = ["7000", "7001"]
        .iter()
        .flat_map(|p| {
            [
                format!("4,tcp,0.0.0.0,{p}"),
                format!("6,tcp,::,{p}"),
                format!("4,udp,0.0.0.0,{p}"),
            ]
        })
        .collect();
    let mut inside = Command::new("sh");
    inside.args(["-c", &format!("echo $$ > {}/{agent_rel}/cgroup.procs && exec nsenter --net={} /usr/bin/python3 {server_py} {}", mount.mount_point, a.path(), listen_specs.join(" "))]);
    let _listener = spawn_ready(inside, "agent listener");
    let mut outside = Command::new("sh");
    outside.args(["-c", &format!("echo $$ > {}/{other_rel}/cgroup.procs && exec nsenter --net={} /usr/bin/python3 {server_py} 4,tcp,0.0.0.0,7002", mount.mount_point, a.path())]);
    let _other = spawn_ready(outside, "outside listener");
    let filtered = target == Target::Nft;
    let incoming = [
        (case(Tcp, "connect", "192.0.2.1", 7000, true), true),
        (case(Tcp, "connect", "2001:db8::1", 7000, true), true),
        (case(Tcp, "connect", "192.0.2.1", 7001, !filtered), true),
        (case(Tcp, "connect", "2001:db8::1", 7001, !filtered), true),
        (case(Udp, "sendto", "192.0.2.1", 7000, !filtered), true),
        (case(Tcp, "connect", "192.0.2.1", 7002, true), false),
    ];
    for (c, agents) in &incoming {
        let rel = if *agents { &agent_rel } else { &other_rel };
        assert_eq!(
            model(c, Hook::Input, rel, 0),
            c.allowed,
            "hand-written expectation disagrees with the model: listen {} {}",
            c.addr,
            c.port
        );
        let out = run(&mut b.cmd(
            "/usr/bin/python3",
            &[
                &client_py,
                proto_name(c.proto),
                c.mode,
                c.addr,
                &c.port.to_string(),
            ],
        ));
        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if (got == "ok") != c.allowed {
            failures.push(format!(
                "incoming {} {} port {}: got {got:?}",
                proto_name(c.proto),
                c.addr,
                c.port
            ));
        }
        if got != "ok" {
            *errors
                .entry(format!("incoming {} {}", proto_name(c.proto), got))
                .or_default() += 1;
        }
    }
    eprintln!(
        "real traffic ({target:?}): {} outgoing cases x 3 clients + {} incoming in {:.1?}; refusals seen: {errors:?}",
        outgoing.len(), incoming.len(), t0.elapsed()
    );
    let counters = match target {
        Target::Nft => nft_list_text(&a),
        Target::Iptables => {
            String::from_utf8(run(&mut a.cmd("iptables-save", &["-c"])).stdout).unwrap()
        }
    };
    assert!(failures.is_empty(), "{failures:#?}\n{counters}");
    // Counters prove the rules, not some other path, decided.
    let hit = |needle: &str| {
        counters
            .lines()
            .any(|l| l.contains(needle) && !l.contains("packets 0 ") && !l.starts_with("[0:0]"))
    };
    assert!(
        hit("agent/net/web")
            && hit("agent/net/no-net2")
            && hit("batch/net/web")
            && hit("agent/net/dns-resolvers.1")
            && hit("agent/net/dns-resolvers.2"),
        "{counters}"
    );
}

/// A DNS server for the traffic test, on 127.0.0.1:53 of the agents'
/// namespace: `allowed.*` is 192.0.2.2 / 2001:db8::2, `denied.*` is
/// 198.51.100.2 / 2001:db8:1::2, anything else NXDOMAIN.
const NAMES_DNS: &str = r#"
import socket, struct
ANS = {b"allowed": ("192.0.2.2", "2001:db8::2"), b"denied": ("198.51.100.2", "2001:db8:1::2")}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    qd = q[12:]
    end = qd.index(b"\0")
    qtype = struct.unpack("!H", qd[end + 1:end + 3])[0]
    a = ANS.get(qd[1:1 + qd[0]])
    if a is None:
        s.sendto(q[:2] + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + qd[:end + 5], peer)
        continue
    data = socket.inet_pton(socket.AF_INET, a[0]) if qtype == 1 else socket.inet_pton(socket.AF_INET6, a[1])
    ans = b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 30, len(data)) + data
    s.sendto(q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + qd[:end + 5] + ans, peer)
"#;

/// Issue 11.2: `agentpolc apply --target iptables` on a policy with a domain
/// allow and a domain deny, the names resolved through the agent's resolver
/// (a DNS server in the namespace). Real connections: the allowed name's
/// addresses connect, the denied name's are refused although a CIDR allow
/// covers them, and a neighbour in that CIDR the deny does not name still
/// connects (the deny is not widened). After `apply --remove` the denied
/// address connects again: the ipset rules, nothing else, refused it.
#[test]
fn real_traffic_iptables_domains() {
    if !privileged("real_traffic_iptables_domains") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("rtd");
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    cgroups.add(&mount.mount_point, &format!("{base}/other"));
    let agent_rel = format!("{base}/agent");
    let other_rel = format!("{base}/other");
    let tmp = TempDir::new("rtd");
    let server_py = tmp.write("server.py", SERVER);
    let client_py = tmp.write("client.py", CLIENT);
    let dns_py = tmp.write("dns.py", NAMES_DNS);
    let (a, b) = two_namespaces("d");
    let _dns = spawn_ready(a.cmd("/usr/bin/python3", &[&dns_py]), "DNS server");

    let mut f = Fixture::new("agent agent {}");
    let rules = vec![
        net(
            &f,
            "agent",
            "allowed",
            Allow,
            Connect,
            Proto::Tcp,
            &["allowed.test.example"],
            &[(80, 80)],
            "agent",
        ),
        net(
            &f,
            "agent",
            "net2",
            Allow,
            Connect,
            Proto::Tcp,
            &["198.51.100.0/24", "2001:db8:1::/64"],
            &[(80, 80)],
            "agent",
        ),
        net(
            &f,
            "agent",
            "denied",
            Deny,
            Connect,
            Proto::Tcp,
            &["denied.test.example"],
            &[],
            "agent",
        ),
    ];
    {
        let ag = f.agent("agent", cgroup(&agent_rel), "agent");
        ag.rules = rules;
        ag.resolvers = vec!["127.0.0.1".parse().unwrap()];
    }
    let dir = tmp.0.join("build");
    agentpol_testkit::build_dir::write(&dir, &f.policy, &[]);
    let dir = dir.to_string_lossy().into_owned();
    let bin = env!("CARGO_BIN_EXE_agentpolc");
    let out = run(&mut a.cmd(
        bin,
        &[
            "apply",
            "--target",
            "iptables",
            "--policy",
            &dir,
            "--accept-loss",
        ],
    ));
    cgroups.adopt(&mount.mount_point, &agent_rel);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("resolved allowed.test.example -> 192.0.2.2, 2001:db8::2")
            && stdout.contains("resolved denied.test.example -> 198.51.100.2, 2001:db8:1::2")
            && stdout.contains("4 ipset set(s) filled"),
        "{stdout}"
    );

    let mut specs = Vec::new();
    for (fam, addr, port) in [
        ("4", "192.0.2.2", "80"),
        ("4", "192.0.2.2", "8080"),
        ("4", "198.51.100.2", "80"),
        ("4", "198.51.100.3", "80"),
        ("6", "2001:db8::2", "80"),
        ("6", "2001:db8:1::2", "80"),
    ] {
        specs.push(format!("{fam},tcp,{addr},{port}"));
    }
    let mut server = b.cmd("/usr/bin/python3", &[&server_py]);
    server.args(&specs);
    let _server = spawn_ready(server, "peer server");

    // The packet model on the policy lowered with the names as apply resolved them.
    let mut opts = Options {
        cgroup_root: mount.nft_root.clone(),
        ..Options::default()
    };
    for (name, v4, v6) in [
        ("allowed.test.example", "192.0.2.2", "2001:db8::2"),
        ("denied.test.example", "198.51.100.2", "2001:db8:1::2"),
    ] {
        opts.resolutions.insert(
            name.into(),
            agentpol_firewall::Resolution {
                addrs: vec![v4.parse().unwrap(), v6.parse().unwrap()],
                resolver: "127.0.0.1".into(),
                ttl_secs: 30,
                at: None,
            },
        );
    }
    let lowered = lower(&f.policy, &opts, Layer::Iptables);
    let connect = |rel: &str, addr: &str, port: u16| -> String {
        let script = format!(
            "echo $$ > {}/{rel}/cgroup.procs && exec nsenter --net={} /usr/bin/python3 {client_py} tcp connect {addr} {port}",
            mount.mount_point,
            a.path()
        );
        let out = run(Command::new("sh").args(["-c", &script]));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let cases: [(&str, &str, u16, bool, &str); 7] = [
        (&agent_rel, "192.0.2.2", 80, true, "allowed name, IPv4"),
        (&agent_rel, "2001:db8::2", 80, true, "allowed name, IPv6"),
        (
            &agent_rel,
            "192.0.2.2",
            8080,
            false,
            "allowed name, other port",
        ),
        (
            &agent_rel,
            "198.51.100.2",
            80,
            false,
            "denied name inside the allowed CIDR",
        ),
        (&agent_rel, "2001:db8:1::2", 80, false, "denied name, IPv6"),
        (
            &agent_rel,
            "198.51.100.3",
            80,
            true,
            "the CIDR's neighbour: the deny is not widened",
        ),
        (&other_rel, "198.51.100.2", 80, true, "outside the agent"),
    ];
    let mut failures = Vec::new();
    for (rel, addr, port, allowed, what) in cases {
        let p = Packet {
            hook: Hook::Output,
            proto: Proto::Tcp,
            daddr: addr.parse().unwrap(),
            dport: port,
            ct: Ct::New,
            socket: SocketCtx {
                cgroup: Some(rel.to_string()),
                uid: 0,
            },
        };
        assert_eq!(
            expected(&lowered, &p, &net_fixture::decide) == Verdict::Accept,
            allowed,
            "hand-written expectation disagrees with the model: {what}"
        );
        let got = connect(rel, addr, port);
        if (got == "ok") != allowed {
            failures.push(format!("{what}: {addr} port {port}: got {got:?}"));
        }
    }
    let counters = String::from_utf8(run(&mut a.cmd("iptables-save", &["-c"])).stdout).unwrap()
        + &String::from_utf8(run(&mut a.cmd("ip6tables-save", &["-c"])).stdout).unwrap();
    assert!(failures.is_empty(), "{failures:#?}\n{counters}");
    // Counters prove the set rules decided (allow and deny, both families).
    let hits = counters
        .lines()
        .filter(|l| l.contains("--match-set agentpol_agent_") && !l.starts_with("[0:0]"))
        .count();
    assert_eq!(hits, 4, "{counters}");

    run(&mut a.cmd(bin, &["apply", "--target", "iptables", "--remove"]));
    assert_eq!(
        connect(&agent_rel, "198.51.100.2", 80),
        "ok",
        "still refused after removal"
    );
}
