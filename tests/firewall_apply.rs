//! `agentpolc apply`: refuses without nft (or ipset) or with an old one (no
//! root needed), and, as root in a scratch namespace, resolves domains through
//! the agent's resolver, creates the cgroup before loading, refuses a lossy
//! ruleset unless accepted, verifies what it loaded (removing a table, or
//! iptables chains and ipset sets, that do not match), and removes only its
//! own table or chains and sets. Both targets: nft and iptables (+ ipset).

mod firewall_support;

use agentpol_core::ir::{Action::*, Effect::*, Proto};
use agentpol_testkit::dns_script::{a, aaaa, Qtype, Reply, Script, Server};
use agentpol_testkit::net_fixture::{cgroup, net, Fixture};
use firewall_support::*;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_agentpolc");

/// Writes a build directory (manifest + IR) for `f` under `tmp`.
fn build_dir(tmp: &TempDir, f: &Fixture) -> String {
    let dir = tmp.0.join("build");
    agentpol_testkit::build_dir::write(&dir, &f.policy, &[]);
    dir.to_string_lossy().into_owned()
}

fn sample(path: &str) -> Fixture {
    let mut f = Fixture::new("agent agent {}");
    let rules = vec![
        net(
            &f,
            "agent",
            "svc",
            Allow,
            Connect,
            Proto::Tcp,
            &["svc.test.example"],
            &[(443, 443)],
            "agent",
        ),
        net(
            &f,
            "agent",
            "web",
            Allow,
            Connect,
            Proto::Tcp,
            &["192.0.2.0/24"],
            &[(80, 80)],
            "agent",
        ),
    ];
    let a = f.agent("agent", cgroup(path), "agent");
    a.rules = rules;
    a.resolvers = vec!["127.0.0.1".parse().unwrap()];
    f
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn refuses_missing_or_old_nft_without_changing_anything() {
    let tmp = TempDir::new("nftv");
    let dir = build_dir(&tmp, &sample("agentpol-test/never-created"));
    let out = Command::new(BIN)
        .args([
            "apply",
            "--target",
            "nft",
            "--policy",
            &dir,
            "--nft",
            "/nonexistent/nft",
        ])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AP0711") && err.contains("cannot run nft"),
        "{err}"
    );

    let old = tmp.write("old-nft", "#!/bin/sh\necho 'nftables v0.9.8 (E.D.S.)'\n");
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(BIN)
        .args(["apply", "--policy", &dir, "--nft", &old])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AP0712") && err.contains("0.9.8 is too old"),
        "{err}"
    );
    assert!(!std::path::Path::new("/sys/fs/cgroup/unified/agentpol-test").exists());
}

#[test]
fn dry_run_refuses_what_the_real_run_refuses_and_prints_with_accept_loss() {
    let tmp = TempDir::new("dry");
    let dir = build_dir(&tmp, &sample("agentpol-test/dry"));
    // No resolver answers on 127.0.0.1 here: the name fails closed, so the
    // ruleset approximates a rule, which a real run refuses without
    // --accept-loss. A dry run used to exit 0 here (issue 11.4).
    let out = Command::new(BIN)
        .args(["apply", "--policy", &dir, "--dry-run"])
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pass --accept-loss"), "{err}");
    assert!(!stdout.contains("table inet agentpol {"), "{stdout}");
    assert!(stdout.contains("loss: agent/net/svc"), "{stdout}");
    assert!(err.contains("AP0715"), "{err}");

    let out = Command::new(BIN)
        .args(["apply", "--policy", &dir, "--dry-run", "--accept-loss"])
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(stdout.contains("table inet agentpol {"), "{stdout}");
    assert!(err.contains("dry run: nothing was changed"), "{err}");
    assert!(!std::path::Path::new("/sys/fs/cgroup/unified/agentpol-test/dry").exists());
}

/// A policy source whose only net rule names a wildcard domain: the firewall
/// cannot express it (warning AP0705 with a span into the file, and a loss).
const WILDCARD_POLICY: &str = "version 1\n\nagent w {\n  scope uid 4242\n  net {\n    allow connect tcp \"*.example.com\" port 443\n  }\n}\n";

#[test]
fn dry_run_decides_as_the_real_run_with_real_spans() {
    let tmp = TempDir::new("dryspan");
    let file = tmp.write("wild.agentpol", WILDCARD_POLICY);
    for target in ["nft", "iptables"] {
        let run = |extra: &[&str]| {
            let mut args = vec!["apply", "--target", target, "--policy", file.as_str()];
            args.extend_from_slice(extra);
            let out = Command::new(BIN).args(&args).output().unwrap();
            let (stdout, err) = text(&out);
            (out.status.code(), stdout, err)
        };
        let (dry_code, dry_out, dry_err) = run(&["--dry-run"]);
        // The real run stops at the same refusal, before anything is loaded.
        let (real_code, real_out, real_err) = run(&[]);
        assert_eq!(dry_code, Some(1), "{target}: {dry_err}");
        assert_eq!(
            dry_code, real_code,
            "{target} dry: {dry_err}\nreal: {real_err}"
        );
        assert_eq!(dry_err, real_err, "{target}");
        assert_eq!(dry_out, real_out, "{target}");
        assert!(dry_err.contains("AP0705"), "{target}: {dry_err}");
        assert!(dry_err.contains("wild.agentpol:6:"), "{target}: {dry_err}");
        assert!(!dry_err.contains("<unknown>"), "{target}: {dry_err}");
    }
}

#[test]
fn iptables_refuses_missing_ipset_without_changing_anything() {
    let tmp = TempDir::new("ipsetv");
    let dir = build_dir(&tmp, &sample("agentpol-test/never-created-ipt"));
    for args in [
        vec!["apply", "--target", "iptables", "--policy", &dir],
        vec!["apply", "--target", "iptables", "--remove"],
    ] {
        let mut args = args.clone();
        args.extend(["--ipset", "/nonexistent/ipset"]);
        let out = Command::new(BIN).args(&args).output().unwrap();
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("AP0719") && err.contains("/nonexistent/ipset"),
            "{err}"
        );
    }
    assert!(
        !std::path::Path::new("/sys/fs/cgroup/unified/agentpol-test/never-created-ipt").exists()
    );
}

#[test]
fn applies_verifies_and_removes() {
    if !privileged("applies_verifies_and_removes") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("apply");
    let tmp = TempDir::new("apply");
    let ns = Netns::new(&tag("apply"));
    // The parent exists (and is removed by the guard); the agent's cgroup is apply's to create.
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    let agent_dir = format!("{}/{base}/agent", mount.mount_point);
    let dir = build_dir(&tmp, &sample(&format!("{base}/agent")));
    let other = tmp.write("other.nft", "table inet other {\n chain c {\n  type filter hook output priority 10; policy accept;\n }\n}\n");
    run(&mut ns.cmd("nft", &["-f", &other]));
    // (The Python server this replaced copied the query's EDNS record, which
    // hickory sends, into the answer section.)
    let _dns = svc_dns(&ns);
    let tables = |ns: &Netns| {
        String::from_utf8(run(&mut ns.cmd("nft", &["list", "tables"])).stdout).unwrap()
    };

    // Lossy (a resolved domain) and not accepted: refused, nothing loaded, no cgroup made.
    let out = ns
        .cmd(BIN, &["apply", "--target", "nft", "--policy", &dir])
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
    assert!(err.contains("--accept-loss"), "{err}");
    assert_eq!(tables(&ns).trim(), "table inet other");
    assert!(!std::path::Path::new(&agent_dir).exists());

    let out = ns
        .cmd(
            BIN,
            &[
                "apply",
                "--target",
                "nft",
                "--policy",
                &dir,
                "--accept-loss",
            ],
        )
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{err}");
    assert!(
        stdout.contains("resolved svc.test.example -> 192.0.2.44, 2001:db8::44 (resolver 127.0.0.1, TTL 30s); DNS changes need a re-apply"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("created cgroup {agent_dir}")),
        "{stdout}"
    );
    assert!(std::path::Path::new(&agent_dir).exists());
    // apply created it; the guard removes it before its parent.
    cgroups.adopt(&mount.mount_point, &format!("{base}/agent"));
    let listing = nft_list_text(&ns);
    assert!(
        listing.contains("elements = { 192.0.2.44 }") && listing.contains("2001:db8::44"),
        "{listing}"
    );
    assert!(
        listing.contains(&format!(
            "socket cgroupv2 level 2 \"{}\"",
            agentpol_firewall::nft::nft_cgroup_path(&mount.nft_root, &format!("{base}/agent"))
        )),
        "{listing}"
    );

    // A listing that does not match what was loaded: apply removes the table again.
    let liar = tmp.write("liar-nft", "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = list ] && { echo '{\"nftables\": []}'; exit 0; }; done\nexec nft \"$@\"\n");
    std::fs::set_permissions(&liar, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = ns
        .cmd(
            BIN,
            &["apply", "--policy", &dir, "--accept-loss", "--nft", &liar],
        )
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
    assert!(
        err.contains("AP0714") && err.contains("the table was removed again"),
        "{err}"
    );
    assert_eq!(tables(&ns).trim(), "table inet other");

    run(&mut ns.cmd(BIN, &["apply", "--policy", &dir, "--accept-loss"]));
    for _ in 0..2 {
        let out = ns.cmd(BIN, &["apply", "--remove"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        assert_eq!(tables(&ns).trim(), "table inet other");
    }
}

/// Issue 11.2: a deny naming a host whose resolution fails cannot fill its
/// load-time set, so apply refuses (AP0717) before changing anything, dry run
/// or not; it does not widen the deny to every address, nor load it empty.
#[test]
fn refuses_a_deny_whose_set_cannot_be_filled() {
    if !privileged("refuses_a_deny_whose_set_cannot_be_filled") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("unfill");
    let tmp = TempDir::new("unfill");
    // No DNS server in this namespace: asking 127.0.0.1 fails at once.
    let ns = Netns::new(&tag("unfill"));
    run(&mut ns.cmd("ip", &["link", "set", "lo", "up"]));
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    let mut f = Fixture::new("agent agent {}");
    let rules = vec![
        net(
            &f,
            "agent",
            "no-blocked",
            Deny,
            Connect,
            Proto::Tcp,
            &["blocked.test.example"],
            &[],
            "agent",
        ),
        net(
            &f,
            "agent",
            "https",
            Allow,
            Connect,
            Proto::Tcp,
            &[],
            &[(443, 443)],
            "agent",
        ),
    ];
    let a = f.agent("agent", cgroup(&format!("{base}/agent")), "agent");
    a.rules = rules;
    a.resolvers = vec!["127.0.0.1".parse().unwrap()];
    let dir = build_dir(&tmp, &f);
    for extra in [&["--dry-run"][..], &[][..]] {
        let mut args = vec!["apply", "--policy", dir.as_str(), "--accept-loss"];
        args.extend_from_slice(extra);
        let out = ns.cmd(BIN, &args).output().unwrap();
        let (stdout, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{extra:?}\n{stdout}\n{err}");
        assert!(err.contains("AP0717"), "{err}");
        assert!(err.contains("blocked.test.example"), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(!stdout.contains("loaded table"), "{stdout}");
    }
    let listed = ns
        .cmd("nft", &["list", "table", "inet", "agentpol"])
        .output()
        .unwrap();
    assert!(!listed.status.success(), "a table was loaded");
    assert!(!std::path::Path::new(&format!("{}/{base}/agent", mount.mount_point)).exists());
    drop(cgroups);
}

/// The agent's resolver, 127.0.0.1 in `ns`: the scripted server answering
/// `svc.test.example` with 192.0.2.44 and 2001:db8::44 (TTL 30 s).
fn svc_dns(ns: &Netns) -> Server {
    Server::start(
        "127.0.0.1".parse().unwrap(),
        Some(std::path::Path::new(&ns.path())),
        Script::new()
            .on(
                "svc.test.example",
                Qtype::A,
                Reply::Answer(vec![a("svc.test.example", 30, "192.0.2.44")]),
            )
            .on(
                "svc.test.example",
                Qtype::Aaaa,
                Reply::Answer(vec![aaaa("svc.test.example", 30, "2001:db8::44")]),
            ),
    )
    .unwrap_or_else(|e| panic!("cannot start the scripted DNS server: {e}"))
}

/// `iptables-save` (or `ip6tables-save`) output in `ns`.
fn saved(ns: &Netns, prog: &str) -> String {
    String::from_utf8(run(&mut ns.cmd(prog, &[])).stdout).unwrap()
}

/// The names of the ipset sets in `ns`.
fn set_names(ns: &Netns) -> Vec<String> {
    String::from_utf8(run(&mut ns.cmd("ipset", &["list", "-n"])).stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `apply --target iptables`: resolves the name through the agent's resolver,
/// creates and fills its ipset sets, creates the cgroup, loads both families,
/// verifies; a re-apply replaces the rules (one OUTPUT jump); a listing that
/// does not match makes apply remove what it loaded; `--remove` removes only
/// agentpol's chains and sets, also when run twice.
#[test]
fn iptables_applies_verifies_and_removes() {
    if !privileged("iptables_applies_verifies_and_removes") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("iapply");
    let tmp = TempDir::new("iapply");
    let ns = Netns::new(&tag("iapply"));
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    let agent_dir = format!("{}/{base}/agent", mount.mount_point);
    let dir = build_dir(&tmp, &sample(&format!("{base}/agent")));
    // Someone else's chain and set must survive everything below.
    run(&mut ns.cmd("iptables", &["-N", "OTHER"]));
    run(&mut ns.cmd("iptables", &["-A", "OUTPUT", "-j", "OTHER"]));
    run(&mut ns.cmd("ipset", &["create", "other", "hash:ip"]));
    let _dns = svc_dns(&ns);
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--target", "iptables", "--policy", dir.as_str()];
        args.extend_from_slice(extra);
        let out = ns.cmd(BIN, &args).output().unwrap();
        let (stdout, err) = text(&out);
        (out.status.code(), stdout, err)
    };

    // Lossy (a resolved domain) and not accepted: refused, nothing loaded, no cgroup made.
    let (code, stdout, err) = apply(&[]);
    assert_eq!(code, Some(1), "{stdout}{err}");
    assert!(err.contains("--accept-loss"), "{err}");
    assert!(!saved(&ns, "iptables-save").contains("AGENTPOL"));
    assert_eq!(set_names(&ns), ["other"]);
    assert!(!std::path::Path::new(&agent_dir).exists());

    let (code, stdout, err) = apply(&["--accept-loss"]);
    assert_eq!(code, Some(0), "{stdout}{err}");
    cgroups.adopt(&mount.mount_point, &format!("{base}/agent"));
    assert!(
        stdout.contains(
            "resolved svc.test.example -> 192.0.2.44, 2001:db8::44 (resolver 127.0.0.1, TTL 30s)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("created cgroup {agent_dir}")),
        "{stdout}"
    );
    assert!(stdout.contains("2 ipset set(s) filled"), "{stdout}");
    let sets = String::from_utf8(run(&mut ns.cmd("ipset", &["save"])).stdout).unwrap();
    assert!(
        sets.lines()
            .any(|l| l.starts_with("add agentpol_agent_") && l.ends_with(" 192.0.2.44")),
        "{sets}"
    );
    assert!(
        sets.lines()
            .any(|l| l.starts_with("add agentpol_agent_") && l.ends_with(" 2001:db8::44")),
        "{sets}"
    );
    for prog in ["iptables-save", "ip6tables-save"] {
        let s = saved(&ns, prog);
        assert_eq!(s.matches("-A OUTPUT -j AGENTPOL_OUTPUT").count(), 1, "{s}");
        // iptables-save quotes some paths.
        assert!(
            s.contains(&format!("-m cgroup --path {base}/agent "))
                || s.contains(&format!("-m cgroup --path \"{base}/agent\"")),
            "{s}"
        );
        assert!(s.contains("--match-set agentpol_agent_"), "{s}");
    }

    // Re-apply: the rules are replaced, still one OUTPUT jump per family.
    let (code, stdout, err) = apply(&["--accept-loss"]);
    assert_eq!(code, Some(0), "{stdout}{err}");
    for prog in ["iptables-save", "ip6tables-save"] {
        let s = saved(&ns, prog);
        assert_eq!(s.matches("-A OUTPUT -j AGENTPOL_OUTPUT").count(), 1, "{s}");
    }

    // An `ipset save` that does not match what was loaded: apply removes it all again.
    let liar = tmp.write(
        "liar-ipset",
        "#!/bin/sh\n[ \"$1\" = save ] && { ipset save | sed 's/192.0.2.44/192.0.2.45/'; exit 0; }\nexec ipset \"$@\"\n",
    );
    std::fs::set_permissions(&liar, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, stdout, err) = apply(&["--accept-loss", "--ipset", &liar]);
    assert_eq!(code, Some(1), "{stdout}{err}");
    assert!(
        err.contains("AP0714") && err.contains("were removed again"),
        "{err}"
    );
    assert!(!saved(&ns, "iptables-save").contains("AGENTPOL"));
    assert!(!saved(&ns, "ip6tables-save").contains("AGENTPOL"));
    assert_eq!(set_names(&ns), ["other"]);

    let (code, stdout, err) = apply(&["--accept-loss"]);
    assert_eq!(code, Some(0), "{stdout}{err}");
    for _ in 0..2 {
        let out = ns
            .cmd(BIN, &["apply", "--target", "iptables", "--remove"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        for prog in ["iptables-save", "ip6tables-save"] {
            let s = saved(&ns, prog);
            assert!(!s.contains("AGENTPOL") && !s.contains("AP0_"), "{s}");
        }
        assert!(saved(&ns, "iptables-save").contains("-A OUTPUT -j OTHER"));
        assert_eq!(set_names(&ns), ["other"]);
    }
}

/// Issue 11.2 at the iptables target: a deny naming a host whose resolution
/// fails cannot fill its set, so apply refuses (AP0717) before changing
/// anything, dry run or not: no rule, no set, no cgroup.
#[test]
fn iptables_refuses_a_deny_whose_set_cannot_be_filled() {
    if !privileged("iptables_refuses_a_deny_whose_set_cannot_be_filled") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("iunfill");
    let tmp = TempDir::new("iunfill");
    // No DNS server in this namespace: asking 127.0.0.1 fails at once.
    let ns = Netns::new(&tag("iunfill"));
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    let mut f = Fixture::new("agent agent {}");
    let rules = vec![
        net(
            &f,
            "agent",
            "no-blocked",
            Deny,
            Connect,
            Proto::Tcp,
            &["blocked.test.example"],
            &[],
            "agent",
        ),
        net(
            &f,
            "agent",
            "https",
            Allow,
            Connect,
            Proto::Tcp,
            &[],
            &[(443, 443)],
            "agent",
        ),
    ];
    let a = f.agent("agent", cgroup(&format!("{base}/agent")), "agent");
    a.rules = rules;
    a.resolvers = vec!["127.0.0.1".parse().unwrap()];
    let dir = build_dir(&tmp, &f);
    for extra in [&["--dry-run"][..], &[][..]] {
        let mut args = vec![
            "apply",
            "--target",
            "iptables",
            "--policy",
            dir.as_str(),
            "--accept-loss",
        ];
        args.extend_from_slice(extra);
        let out = ns.cmd(BIN, &args).output().unwrap();
        let (stdout, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{extra:?}\n{stdout}\n{err}");
        assert!(err.contains("AP0717"), "{err}");
        assert!(err.contains("blocked.test.example"), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(!stdout.contains("loaded agentpol"), "{stdout}");
    }
    assert!(!saved(&ns, "iptables-save").contains("AGENTPOL"));
    assert!(!saved(&ns, "ip6tables-save").contains("AGENTPOL"));
    assert!(set_names(&ns).is_empty());
    assert!(!std::path::Path::new(&format!("{}/{base}/agent", mount.mount_point)).exists());
    drop(cgroups);
}
