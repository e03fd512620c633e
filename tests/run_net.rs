//! `agentpolc run`'s network enforcer (cgroup sock_addr BPF) with real
//! sockets, inside network namespaces these tests create (documentation
//! ranges and loopback only; addresses without a route never leave the
//! namespace: the hooks run before routing, so an allowed connect to them
//! fails with ENETUNREACH and a denied one with EPERM).
//!
//! * per-address allow/deny of TCP connect and UDP sendto, v4, v6 and
//!   IPv4-mapped v6, for a process in the run's cgroup vs one outside it;
//! * the event log names the denying rule (id and file:line:col);
//! * a differential test: the loaded maps of every bundled example agent and
//!   skill decide generated requests exactly as `evaluate` does;
//! * a deny that cannot be held refuses to start (AP0718), creating nothing;
//! * a `kill -9`ed supervisor leaves the agent filtered (pinned links) until
//!   `agentpolc cleanup`; SIGTERM to the supervisor reaches the agent.
//!
//! Privileged (root, netns, cgroup v2, clang-built BPF object): they run when
//! `AGENTPOL_PRIVILEGED_TESTS=1` and fail, never skip, when it is set.

mod firewall_support;

use agentpol_bpf::compile::{self, Names, Op};
use agentpol_core::ir::{Effect, Host, Matcher, Policy};
use agentpol_core::request::{Request, Resource};
use firewall_support::{privileged, run, tag, Netns};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs one operation per stdin line (`op family addr port`) and prints
/// `EPERM` or the outcome. It first moves itself into the cgroup given as
/// argv[1] (empty: stays where it is).
const PROBE: &str = r#"
import socket, sys, os
if len(sys.argv) > 1 and sys.argv[1]:
    open(os.path.join(sys.argv[1], "cgroup.procs"), "w").write(str(os.getpid()))
for line in sys.stdin:
    op, fam, addr, port = line.split()
    port = int(port)
    af = socket.AF_INET if fam == "4" else socket.AF_INET6
    dest = (addr, port) if fam == "4" else (addr, port, 0, 0)
    kind = socket.SOCK_STREAM if op in ("connect_tcp", "listen_tcp") else socket.SOCK_DGRAM
    s = socket.socket(af, kind)
    s.settimeout(1)
    try:
        if op.startswith("connect"):
            s.connect(dest)
        elif op == "sendto_udp":
            s.sendto(b"x", dest)
        else:
            s.bind(dest)
        print("ok", flush=True)
    except OSError as e:
        print("EPERM" if e.errno == 1 else "errno%s" % e.errno, flush=True)
    finally:
        s.close()
"#;

fn op_name(op: Op) -> &'static str {
    match op {
        Op::ConnectTcp => "connect_tcp",
        Op::ConnectUdp => "connect_udp",
        Op::SendtoUdp => "sendto_udp",
        Op::ListenTcp => "listen_tcp",
        Op::ListenUdp => "listen_udp",
    }
}

fn family(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "4"
    } else {
        "6"
    }
}

/// Feeds requests to PROBE inside `ns` (in `cgroup` if given); one answer each.
fn probe(ns: &Netns, cgroup: Option<&Path>, reqs: &[(Op, IpAddr, u16)]) -> Vec<String> {
    let cg = cgroup.map(|p| p.display().to_string()).unwrap_or_default();
    let mut child = ns
        .cmd("/usr/bin/python3", &["-c", PROBE, &cg])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the probe");
    let mut input = String::new();
    for (op, a, p) in reqs {
        input.push_str(&format!("{} {} {a} {p}\n", op_name(*op), family(a)));
    }
    if let Some(mut i) = child.stdin.take() {
        i.write_all(input.as_bytes()).expect("write requests");
    }
    let out = child.wait_with_output().expect("probe output");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(
        lines.len(),
        reqs.len(),
        "probe answered {} of {} requests; stderr: {}",
        lines.len(),
        reqs.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

/// A namespace with an interface holding documentation addresses.
fn doc_netns(t: &str) -> Netns {
    let ns = Netns::new(&tag(t));
    // A veth pair with both ends in the namespace (this kernel has no dummy
    // driver); the addresses on d0 are local, so connects stay inside.
    run(&mut ns.cmd(
        "ip",
        &["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
    ));
    run(&mut ns.cmd("ip", &["link", "set", "d1", "up"]));
    for a in ["192.0.2.1/24", "192.0.2.2/24", "198.51.100.1/24"] {
        run(&mut ns.cmd("ip", &["addr", "add", a, "dev", "d0"]));
    }
    run(&mut ns.cmd(
        "ip",
        &["-6", "addr", "add", "2001:db8::1/64", "dev", "d0", "nodad"],
    ));
    run(&mut ns.cmd("ip", &["link", "set", "d0", "up"]));
    ns
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

const POLICY: &str = "version 1
agent t {
  fs {
    allow read { \"/usr/**\", \"/etc/**\", \"/proc/**\" }
    allow read, write \"/dev/null\"
  }
  exec { allow \"/usr/**\" }
  net {
    allow connect tcp { 192.0.2.0/24, \"2001:db8::/64\" } port 8080
    deny connect tcp 192.0.2.1 port 8080
    allow sendto udp 198.51.100.0/24 port 9999
  }
}
";

#[test]
fn net_rules_hold_per_address_for_the_run_cgroup_only() {
    if !privileged("net_rules_hold_per_address_for_the_run_cgroup_only") {
        return;
    }
    let ns = doc_netns("n1");
    // A dual-stack listener on 8080 so allowed connects really connect.
    let mut listener = ns
        .cmd(
            "/usr/bin/python3",
            &[
                "-c",
                "import socket,time\n\
                 s=socket.socket(socket.AF_INET6);s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n\
                 s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('::',8080));s.listen(64)\n\
                 print('up',flush=True)\n\
                 while True:\n  c,_=s.accept();c.close()",
            ],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("listener");
    {
        use std::io::BufRead;
        let mut line = String::new();
        let out = listener.stdout.take().expect("listener stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("listener up");
        assert_eq!(line.trim(), "up");
    }
    let dir = PathBuf::from(format!("/tmp/agentpol-runnet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("mkdir");
    let policy = dir.join("t.agentpol");
    std::fs::write(&policy, POLICY).expect("write policy");
    let log = dir.join("events.jsonl");
    let cases: Vec<(Op, IpAddr, u16, &str)> = vec![
        (Op::ConnectTcp, ip("192.0.2.2"), 8080, "ok"),
        (Op::ConnectTcp, ip("192.0.2.1"), 8080, "EPERM"), // the deny rule
        (Op::ConnectTcp, ip("198.51.100.1"), 8080, "EPERM"), // default deny
        (Op::ConnectTcp, ip("192.0.2.2"), 8081, "EPERM"),
        (Op::ConnectTcp, ip("2001:db8::1"), 8080, "ok"),
        (Op::ConnectTcp, ip("2001:db8:1::1"), 8080, "EPERM"),
        (Op::ConnectTcp, ip("::ffff:192.0.2.2"), 8080, "ok"),
        (Op::ConnectTcp, ip("::ffff:192.0.2.1"), 8080, "EPERM"),
        (Op::SendtoUdp, ip("198.51.100.7"), 9999, "ok"),
        (Op::SendtoUdp, ip("::ffff:198.51.100.7"), 9999, "ok"),
        (Op::SendtoUdp, ip("192.0.2.2"), 9999, "EPERM"),
        (Op::SendtoUdp, ip("2001:db8::1"), 9999, "EPERM"),
        (Op::ConnectUdp, ip("198.51.100.7"), 9999, "EPERM"), // only sendto is allowed
        (Op::ConnectTcp, ip("127.0.0.1"), 8080, "EPERM"),    // loopback: no implicit allow
    ];
    let mut input = String::new();
    for (op, a, p, _) in &cases {
        input.push_str(&format!("{} {} {a} {p}\n", op_name(*op), family(a)));
    }
    let me = env!("CARGO_BIN_EXE_agentpolc");
    let out = ns.cmd_stdin(
        "env",
        &[
            &format!("AGENTPOL_STATE_ROOT={}", dir.join("state").display()),
            me,
            "run",
            "--policy",
            &policy.display().to_string(),
            "--agent",
            "t",
            "--log",
            &log.display().to_string(),
            "--",
            "/usr/bin/python3",
            "-c",
            PROBE,
        ],
        &input,
    );
    let _ = listener.kill();
    let _ = listener.wait();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let got: Vec<&str> = stdout.lines().collect();
    let want: Vec<&str> = cases.iter().map(|c| c.3).collect();
    assert_eq!(got, want, "in the run's cgroup; stderr: {stderr}");
    assert!(stderr.contains("net denials: 9"), "{stderr}");
    // Outside the run's cgroup (same namespace, no run): nothing is denied.
    let reqs: Vec<(Op, IpAddr, u16)> = cases.iter().map(|c| (c.0, c.1, c.2)).collect();
    let outside = probe(&ns, None, &reqs);
    assert!(outside.iter().all(|r| r != "EPERM"), "outside: {outside:?}");
    // The log: one v1 line per denial, naming the deny rule and its line.
    let text = std::fs::read_to_string(&log).expect("event log");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(events.len(), 9, "{text}");
    assert!(events
        .iter()
        .all(|e| e["v"] == 1 && e["decision"] == "deny" && e["kind"] == "net"));
    let c = agentpol_core::compile("t.agentpol", POLICY, &agentpol_core::source::NoFiles);
    let ir = c.policy.expect("policy compiles");
    let deny = ir.agents[0]
        .rules
        .iter()
        .find(|r| r.effect == Effect::Deny)
        .expect("the deny rule");
    let hit = events
        .iter()
        .find(|e| e["addr"] == "192.0.2.1" && e["port"] == 8080)
        .expect("the denial of 192.0.2.1:8080 is logged");
    assert_eq!(hit["rule"], deny.id.0.as_str(), "{hit}");
    assert_eq!(hit["at"], format!("{}:10:5", policy.display()), "{hit}");
    assert_eq!(hit["action"], "connect");
    assert_eq!(hit["proto"], "tcp");
    let default = events
        .iter()
        .find(|e| e["addr"] == "198.51.100.1")
        .expect("the default deny is logged");
    assert!(default["rule"].is_null(), "{default}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Requests around every CIDR and port range of the lowered rules, plus fixed
/// documentation, loopback and public addresses; deterministic.
fn requests(rules: &[&[agentpol_core::ir::Rule]], n: usize) -> Vec<(Op, IpAddr, u16)> {
    let mut addrs: Vec<IpAddr> = [
        "127.0.0.1",
        "192.0.2.1",
        "203.0.113.1",
        "203.0.113.200",
        "1.1.1.1",
        "9.9.9.9",
        "8.8.8.8",
        "10.0.0.5",
        "169.254.169.254",
        "::1",
        "2001:db8::1",
        "2606:4700:4700::1111",
        "::ffff:10.0.0.5",
    ]
    .iter()
    .map(|s| ip(s))
    .collect();
    let mut ports: Vec<u16> = vec![0, 1, 22, 53, 80, 443, 993, 3000, 3011, 65535];
    for r in rules.iter().flat_map(|l| l.iter()) {
        let Matcher::Net {
            hosts, ports: ps, ..
        } = &r.matcher
        else {
            continue;
        };
        for h in hosts.iter().flatten() {
            if let Host::Cidr(n) = h {
                match n {
                    ipnet::IpNet::V4(n) => {
                        let lo = u32::from(n.network());
                        let hi = u32::from(n.broadcast());
                        for a in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)] {
                            addrs.push(IpAddr::V4(a.into()));
                        }
                    }
                    ipnet::IpNet::V6(n) => {
                        let lo = u128::from(n.network());
                        let hi = u128::from(n.broadcast());
                        for a in [lo, lo.wrapping_add(1), hi, hi.wrapping_add(1)] {
                            addrs.push(IpAddr::V6(a.into()));
                        }
                    }
                }
            }
        }
        for p in ps.iter().flatten() {
            ports.extend([p.lo, p.hi, p.lo.saturating_sub(1), p.hi.saturating_add(1)]);
        }
    }
    // Link-local IPv6 needs a scope id: the kernel refuses such a request
    // (EINVAL) before any hook runs, so it says nothing about the maps.
    addrs.retain(|a| !matches!(a, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80));
    addrs.sort();
    addrs.dedup();
    ports.sort();
    ports.dedup();
    // A linear congruential sequence: the same requests on every run.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: usize| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize % m
    };
    (0..n)
        .map(|_| {
            let mut a = addrs[next(addrs.len())];
            if let (IpAddr::V4(v4), 0) = (a, next(4)) {
                a = IpAddr::V6(v4.to_ipv6_mapped());
            }
            (Op::ALL[next(5)], a, ports[next(ports.len())])
        })
        // A UDP send to port 0 is refused (EINVAL) before the hook runs.
        .filter(|(op, _, port)| !(*op == Op::SendtoUdp && *port == 0))
        .collect()
}

/// A cgroup for the differential test, removed (after killing) on drop.
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ =
            agentpol_runtime::supervisor::remove_cgroup(&self.0, std::time::Duration::from_secs(5));
    }
}

fn examples() -> Vec<(String, Policy)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir("examples").expect("examples/") {
        let dir = dir.expect("entry").path();
        for f in std::fs::read_dir(&dir).expect("example dir") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e == "agentpol") {
                let name = f.display().to_string();
                let text = std::fs::read_to_string(&f).expect("read example");
                let c = agentpol_core::compile(&name, &text, &agentpol_core::source::NoFiles);
                out.push((name, c.policy.expect("example compiles")));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    // And one with many port ranges under one prefix, so every step of the
    // programs' binary search over a port table is exercised.
    let ports: Vec<String> = (0..120).map(|i| (1000 + 7 * i).to_string()).collect();
    let text = format!(
        "version 1\nagent many {{\n  net {{\n    allow connect, sendto, listen any {{ 127.0.0.0/8, \"::1\" }} port {{ {} }}\n    deny connect tcp 127.0.0.1 port 1200..1400\n  }}\n}}\n",
        ports.join(", ")
    );
    let c = agentpol_core::compile("many.agentpol", &text, &agentpol_core::source::NoFiles);
    out.push((
        "many.agentpol".into(),
        c.policy.expect("the many-ports policy compiles"),
    ));
    out
}

#[test]
fn loaded_maps_decide_like_evaluate_for_every_example_agent() {
    if !privileged("loaded_maps_decide_like_evaluate_for_every_example_agent") {
        return;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mount = agentpol_runtime::supervisor::cgroup2_mount(&mountinfo).expect("cgroup2 mount");
    let ns = Netns::new(&tag("diff"));
    let bpffs =
        agentpol_bpf::bpffs_mount(&mountinfo).expect("bpffs mounted (run mounts it; so does CI)");
    let mut total = 0;
    for (file, policy) in examples() {
        for agent in &policy.agents {
            let skills: Vec<Option<&agentpol_core::ir::Skill>> = std::iter::once(None)
                .chain(agent.skills.iter().map(Some))
                .collect();
            for skill in skills {
                // Every exact name "resolves" to its own documentation address,
                // so domain rules are exercised too.
                let mut names = Names::new();
                let all = agent
                    .rules
                    .iter()
                    .chain(skill.iter().flat_map(|s| s.rules.iter()));
                for r in all {
                    if let Matcher::Net {
                        hosts: Some(hs), ..
                    } = &r.matcher
                    {
                        for h in hs {
                            if let Host::Domain(d) = h {
                                let n = names.len() as u32 + 10;
                                names.entry(d.name.clone()).or_insert_with(|| {
                                    vec![format!("203.0.113.{n}/32").parse().expect("net")]
                                });
                            }
                        }
                    }
                }
                let agent_l = compile::lower(
                    &agent.name,
                    &agent.rules,
                    &agent.resolvers,
                    agent.src,
                    Some(&names),
                );
                let skill_l = skill.map(|s| {
                    compile::lower(
                        &format!("{}.{}", agent.name, s.name),
                        &s.rules,
                        &[],
                        agent.src,
                        Some(&names),
                    )
                });
                let layers: Vec<&[agentpol_core::ir::Rule]> =
                    std::iter::once(agent_l.rules.as_slice())
                        .chain(skill_l.as_ref().map(|l| l.rules.as_slice()))
                        .collect();
                let maps = compile::compile(&layers).expect("example compiles to maps");
                // The oracle: the evaluator on the same lowered rules.
                let mut oracle = policy.clone();
                let a = oracle
                    .agents
                    .iter_mut()
                    .find(|a| a.name == agent.name)
                    .expect("agent");
                a.rules = agent_l.rules.clone();
                if let (Some(s), Some(l)) = (skill, &skill_l) {
                    let os = a
                        .skills
                        .iter_mut()
                        .find(|k| k.name == s.name)
                        .expect("skill");
                    os.rules = l.rules.clone();
                }
                let cg =
                    TestCgroup(mount.join(format!("agentpol-diff-{}-{total}", std::process::id())));
                std::fs::create_dir_all(&cg.0).expect("cgroup");
                let mut enforcer =
                    agentpol_bpf::loader::Enforcer::load(&maps, false).expect("load");
                let pins = bpffs.join(format!("agentpol-diff-{}-{total}", std::process::id()));
                enforcer.attach(&cg.0, &pins).expect("attach");
                let reqs = requests(&layers, 300);
                let got = probe(&ns, Some(&cg.0), &reqs);
                for ((op, addr, port), answer) in reqs.iter().zip(&got) {
                    let req = Request {
                        agent: agent.name.clone(),
                        skill: skill.map(|s| s.name.clone()),
                        resource: Resource::Net {
                            action: op.action(),
                            proto: op.proto(),
                            addr: Some(*addr),
                            domain: None,
                            port: *port,
                        },
                    };
                    let want = agentpol_core::eval::evaluate(&oracle, &req).expect("evaluate");
                    let kernel_denied = answer == "EPERM";
                    assert_eq!(
                        kernel_denied,
                        want.effect != Effect::Allow,
                        "{file} {}{}: {} {addr} port {port}: kernel said {answer}, evaluate {:?} ({})",
                        agent.name,
                        skill.map(|s| format!(".{}", s.name)).unwrap_or_default(),
                        op_name(*op),
                        want.effect,
                        want.reason
                    );
                    // And the maps (what the kernel read) agree rule for rule.
                    let info = maps.lookup(*op, *addr, *port);
                    assert_eq!(info & compile::SEG_ALLOW != 0, !kernel_denied);
                }
                total += 1;
                enforcer.detach().expect("unpin");
                drop(enforcer);
                std::fs::remove_dir(&pins).expect("remove the pin directory");
            }
        }
    }
    assert!(total >= 6, "only {total} principals checked");
    eprintln!("differential: {total} principals × 300 requests agree with evaluate");
}

#[test]
fn a_wildcard_deny_refuses_to_start_and_creates_nothing() {
    let dir = PathBuf::from(format!("/tmp/agentpol-runnet-wild-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("mkdir");
    let policy = dir.join("w.agentpol");
    std::fs::write(
        &policy,
        "version 1\nagent w {\n  net {\n    allow connect tcp port 443\n    deny connect tcp \"*.evil.example\"\n  }\n}\n",
    )
    .expect("write");
    let me = env!("CARGO_BIN_EXE_agentpolc");
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let plan = Command::new(me)
        .args(["run", "--explain-plan", "--policy"])
        .arg(&policy)
        .args(["--agent", "w", "--", "/bin/true"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&plan.stdout).into_owned();
    if root {
        assert!(text.contains("net   → cgroup BPF (sock_addr)"), "{text}");
        assert!(
            text.contains("REFUSED: ") && text.contains("*.evil.example"),
            "{text}"
        );
    } else {
        // Without root nothing can be probed: the plan says so.
        assert!(text.contains("not root"), "{text}");
    }
    if !privileged("a_wildcard_deny_refuses_to_start_and_creates_nothing") {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let out = Command::new(me)
        .args(["run", "--accept-loss", "--policy"])
        .arg(&policy)
        .args(["--agent", "w", "--", "/bin/true"])
        .env("AGENTPOL_STATE_ROOT", dir.join("state"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("AP0718"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.join("state"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits up to 20 s for `cond`.
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// The run's state file, once the supervisor wrote it.
fn run_state(state: &Path) -> Option<serde_json::Value> {
    let entry = std::fs::read_dir(state).ok()?.flatten().next()?;
    let text = std::fs::read_to_string(entry.path().join("run.json")).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn a_killed_supervisor_leaves_the_agent_filtered_until_cleanup() {
    if !privileged("a_killed_supervisor_leaves_the_agent_filtered_until_cleanup") {
        return;
    }
    let dir = PathBuf::from(format!("/tmp/agentpol-runnet-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("mkdir");
    std::fs::write(dir.join("go"), "").expect("write");
    let policy = dir.join("t.agentpol");
    let out = dir.join("out.txt");
    // The agent waits until the supervisor is dead (the test removes `go`),
    // then tries a connect the policy denies (loopback: no implicit allow).
    let script = format!(
        "import os,time,socket\n\
         while os.path.exists('{go}'): time.sleep(0.05)\n\
         s=socket.socket()\n\
         try:\n  s.connect(('127.0.0.1',9)); r='connected'\n\
         except OSError as e: r='EPERM' if e.errno==1 else 'errno%s'%e.errno\n\
         open('{out}','w').write(r)\n",
        go = dir.join("go").display(),
        out = out.display()
    );
    let policy_text = POLICY.replace(
        "allow read, write \"/dev/null\"",
        &format!(
            "allow read, write \"/dev/null\"\n    allow read, write, create, delete \"{}/**\"",
            dir.display()
        ),
    );
    assert_ne!(policy_text, POLICY);
    std::fs::write(&policy, policy_text).expect("write policy");
    Command::new("chmod")
        .arg("-R")
        .arg("a+rwX")
        .arg(&dir)
        .status()
        .expect("chmod");
    let mut sup = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--agent", "t", "--", "/usr/bin/python3", "-c", &script])
        .env("AGENTPOL_STATE_ROOT", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start run");
    let state = dir.join("state");
    wait_for("the run's state", || run_state(&state).is_some());
    let st = run_state(&state).expect("state");
    let pins = PathBuf::from(st["bpf_pins"].as_str().expect("bpf_pins in run.json"));
    let cgroup = PathBuf::from(st["cgroup"].as_str().expect("cgroup"));
    wait_for("the pinned links", || {
        std::fs::read_dir(&pins).map(|d| d.count()).unwrap_or(0) == 6
    });
    wait_for("the agent in the cgroup", || {
        std::fs::read_to_string(cgroup.join("cgroup.procs")).is_ok_and(|t| !t.trim().is_empty())
    });
    sup.kill().expect("kill -9 the supervisor");
    let _ = sup.wait();
    std::fs::remove_file(dir.join("go")).expect("release the agent");
    wait_for("the agent's answer", || out.exists());
    let answer = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(
        answer, "EPERM",
        "the agent outlived its supervisor unfiltered"
    );
    let c = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .arg("cleanup")
        .env("AGENTPOL_STATE_ROOT", &state)
        .output()
        .expect("cleanup");
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    assert!(!pins.exists(), "cleanup left the pins");
    assert!(!cgroup.exists(), "cleanup left the cgroup");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn signals_to_the_supervisor_reach_the_agent() {
    if !privileged("signals_to_the_supervisor_reach_the_agent") {
        return;
    }
    let dir = PathBuf::from(format!("/tmp/agentpol-runnet-sig-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("mkdir");
    let policy = dir.join("t.agentpol");
    std::fs::write(&policy, POLICY).expect("write policy");
    let mut sup = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--agent", "t", "--", "/usr/bin/python3", "-c"])
        .arg("import signal,sys,time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\nprint('ready',flush=True)\ntime.sleep(30)\n")
        .env("AGENTPOL_STATE_ROOT", dir.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start run");
    {
        use std::io::BufRead;
        let mut line = String::new();
        let out = sup.stdout.take().expect("stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("agent ready");
        assert_eq!(line.trim(), "ready");
    }
    let started = std::time::Instant::now();
    run(Command::new("kill").args(["-TERM", &sup.id().to_string()]));
    let status = sup.wait().expect("wait");
    // The agent's handler ran (exit 42), the supervisor passed it on.
    assert_eq!(status.code(), Some(42));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
}
