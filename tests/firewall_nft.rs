//! nft and iptables accept every emitted file, and the ruleset nft loads
//! decides every probe packet as the reference evaluator decides the requests
//! it stands for (translation validation). Kernel tests: opt in with
//! AGENTPOL_PRIVILEGED_TESTS=1.

mod firewall_support;

use agentpol_core::ir::{Action, Effect, Policy, Proto, Scope};
use agentpol_firewall::lower::{lower, Layer};
use agentpol_firewall::validate::{expected, probes, Layout, Ruleset};
use agentpol_firewall::{emit_iptables, emit_nft, Options, Resolution};
use agentpol_testkit::net_fixture::{self, cgroup, net, random_policy, Fixture, Rng};
use firewall_support::*;

fn options(cgroup_root: &str) -> Options {
    let mut o = Options {
        cgroup_root: cgroup_root.into(),
        log_prefix: Some("agentpol: ".into()),
        ..Options::default()
    };
    o.resolutions.insert(
        "api.example.com".into(),
        Resolution {
            addrs: vec![
                "198.51.100.77".parse().unwrap(),
                "2001:db8:5::7".parse().unwrap(),
            ],
            resolver: "192.0.2.53".into(),
            ttl_secs: 300,
            at: None,
        },
    );
    o
}

/// Checks one policy end to end in `ns`; returns the number of probes.
fn validate_policy(
    ns: &Netns,
    tmp: &TempDir,
    policy: &Policy,
    opts: &Options,
    what: &str,
) -> usize {
    let out = emit_nft(policy, opts);
    assert!(
        out.diagnostics.iter().all(|d| !d.is_error()),
        "{what}: {:?}",
        out.diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    let script = String::from_utf8(out.artifacts[0].contents.clone()).unwrap();
    let file = tmp.write("agentpol.nft", &script);
    let check = ns.cmd("nft", &["-c", "-f", &file]).output().unwrap();
    assert!(
        check.status.success(),
        "{what}: nft -c refused:\n{}\n{script}",
        String::from_utf8_lossy(&check.stderr)
    );
    let load = nft_load(ns, &file);
    assert!(
        load.status.success(),
        "{what}: nft -f refused:\n{}",
        String::from_utf8_lossy(&load.stderr)
    );

    let json = nft_list_json(ns);
    let rs = Ruleset::from_json(&json, &opts.cgroup_root)
        .unwrap_or_else(|e| panic!("{what}: cannot interpret the listing: {e}"));
    let want = Layout::of_script(&script).unwrap();
    let diff = want.diff(&Layout::of(&rs));
    assert!(
        diff.is_empty(),
        "{what}: listing differs from the script: {diff:#?}"
    );

    // The JSON listing of nft 1.0.6 omits `level`: check it in the text listing.
    for line in nft_list_text(ns)
        .lines()
        .filter(|l| l.contains("socket cgroupv2"))
    {
        let level: usize = line
            .split("level ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("level");
        let path = line.split('"').nth(1).expect("path");
        let depth = path.split('/').count()
            - opts
                .cgroup_root
                .split('/')
                .filter(|c| !c.is_empty())
                .count();
        assert_eq!(level, depth, "{what}: {line}");
    }

    let lowered = lower(policy, opts, Layer::Nft);
    let oracle = |p: &Policy, r: &agentpol_core::request::Request| net_fixture::decide(p, r);
    let ps = probes(&lowered);
    let mut mismatches = Vec::new();
    for p in &ps {
        let got = rs
            .verdict(p)
            .unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
        let want = expected(&lowered, p, &oracle);
        if got != want {
            mismatches.push(format!("{p:?}: ruleset {got:?}, evaluator {want:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{what}: {} of {} probes differ, first: {:#?}",
        mismatches.len(),
        ps.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    ps.len()
}

#[test]
fn translation_validation() {
    if !privileged("translation_validation") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("tv");
    let tmp = TempDir::new("tv");
    let ns = Netns::new(&tag("tv"));
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);

    // The sample-like hand-written policy, then generated ones.
    let mut total = 0;
    let mut rng = Rng(0x5eed_0001);
    for n in 0..12 {
        let f = random_policy(&mut rng, &base, n);
        for a in &f.policy.agents {
            if let Scope::Cgroup { path } = &a.scope {
                cgroups.add(&mount.mount_point, path);
            }
        }
        total += validate_policy(
            &ns,
            &tmp,
            &f.policy,
            &options(&mount.nft_root),
            &format!("generated policy {n}"),
        );
    }
    eprintln!(
        "translation validation: 12 policies, {total} probes, oracle agentpol_core::eval::decide"
    );
    assert!(total > 10_000, "only {total} probes");

    // The check must be able to fail: rulesets with one port moved, a deny
    // missing, or the sendto stage skipped are each caught.
    let path = format!("{base}/mut");
    cgroups.add(&mount.mount_point, &path);
    let mut f = Fixture::new("agent a {}");
    let rules = vec![
        net(
            &f,
            "a",
            "dns",
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            &["192.0.2.0/24"],
            &[(53, 53)],
            "agent a",
        ),
        net(
            &f,
            "a",
            "deny",
            Effect::Deny,
            Action::Connect,
            Proto::Tcp,
            &["192.0.2.128/25"],
            &[],
            "agent a",
        ),
        net(
            &f,
            "a",
            "udp",
            Effect::Allow,
            Action::Connect,
            Proto::Udp,
            &["198.51.100.0/24"],
            &[],
            "agent a",
        ),
    ];
    f.agent("a", cgroup(&path), "agent a").rules = rules;
    let o = options(&mount.nft_root);
    let lowered = lower(&f.policy, &o, Layer::Nft);
    let oracle = |p: &Policy, r: &agentpol_core::request::Request| net_fixture::decide(p, r);
    let good = String::from_utf8(emit_nft(&f.policy, &o).artifacts[0].contents.clone()).unwrap();
    let mutants = [
        good.replacen("elements = { 53 }", "elements = { 54 }", 1),
        good.lines()
            .filter(|l| !l.contains("comment \"a/net/deny\""))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
        good.replacen("goto a_out_udp_sendto", "return", 1),
    ];
    for (i, m) in mutants.iter().enumerate() {
        assert_ne!(*m, good, "mutant {i} changed nothing");
        let file = tmp.write("mutant.nft", m);
        run(&mut ns.cmd("nft", &["-f", &file]));
        let rs = Ruleset::from_json(&nft_list_json(&ns), &o.cgroup_root).unwrap();
        let wrong = probes(&lowered)
            .iter()
            .filter(|p| rs.verdict(p).unwrap() != expected(&lowered, p, &oracle))
            .count();
        eprintln!("mutant {i}: {wrong} probes differ");
        assert!(wrong > 0, "mutant {i} was not detected");
    }
    drop(cgroups);
}

#[test]
fn iptables_restore_accepts_both_files() {
    if !privileged("iptables_restore_accepts_both_files") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("ipt");
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    let tmp = TempDir::new("ipt");
    let mut rng = Rng(0x5eed_0002);
    for n in 0..6 {
        let ns = Netns::new(&tag(&format!("ipt{n}")));
        let f = random_policy(&mut rng, &base, n);
        for a in &f.policy.agents {
            if let Scope::Cgroup { path } = &a.scope {
                cgroups.add(&mount.mount_point, path);
            }
        }
        let out = emit_iptables(&f.policy, &options(&mount.nft_root));
        for (file, tool) in [
            ("agentpol.v4.rules", "iptables-restore"),
            ("agentpol.v6.rules", "ip6tables-restore"),
        ] {
            let text = String::from_utf8(
                out.artifacts
                    .iter()
                    .find(|a| a.path == file)
                    .unwrap()
                    .contents
                    .clone(),
            )
            .unwrap();
            let path = tmp.write(file, &text);
            run(&mut ns.cmd(tool, &["--test", "--noflush", &path]));
            // --test does not resolve cgroup paths; loading does.
            run(&mut ns.cmd(tool, &["--noflush", &path]));
            let remove = if file.contains("v4") {
                "remove.v4.rules"
            } else {
                "remove.v6.rules"
            };
            let rtext = String::from_utf8(
                out.artifacts
                    .iter()
                    .find(|a| a.path == remove)
                    .unwrap()
                    .contents
                    .clone(),
            )
            .unwrap();
            let rpath = tmp.write(remove, &rtext);
            run(&mut ns.cmd(tool, &["--noflush", &rpath]));
            let save = if tool.starts_with("ip6") {
                "ip6tables-save"
            } else {
                "iptables-save"
            };
            let after = String::from_utf8(run(&mut ns.cmd(save, &[])).stdout).unwrap();
            assert!(
                !after.contains("AGENTPOL") && !after.contains("AP0_"),
                "{file}: removal left {after}"
            );
        }
    }
}

/// Replacing is atomic: a script nft refuses leaves the previous table as it
/// was, a second script replaces the first entirely, and remove.nft removes
/// only table inet agentpol, also when run twice.
#[test]
fn replace_and_remove_are_atomic() {
    if !privileged("replace_and_remove_are_atomic") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("atom");
    let _cg = Cgroup::new(&mount.mount_point, &format!("{base}/a"));
    let tmp = TempDir::new("atom");
    let ns = Netns::new(&tag("atom"));
    // Someone else's table must survive everything below.
    let other = tmp.write("other.nft", "table inet other {\n chain c {\n  type filter hook output priority 10; policy accept;\n }\n}\n");
    run(&mut ns.cmd("nft", &["-f", &other]));

    let mk = |port: u16, path: &str| {
        let mut f = Fixture::new("agent a {}");
        let r = net(
            &f,
            "a",
            "r",
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            &["192.0.2.0/24"],
            &[(port, port)],
            "agent a",
        );
        f.agent("a", cgroup(path), "agent a").rules = vec![r];
        String::from_utf8(
            emit_nft(&f.policy, &options(&mount.nft_root)).artifacts[0]
                .contents
                .clone(),
        )
        .unwrap()
    };
    let first = mk(80, &format!("{base}/a"));
    let f1 = tmp.write("1.nft", &first);
    run(&mut ns.cmd("nft", &["-f", &f1]));
    let listed1 = nft_list_json(&ns);

    // The cgroup of this one does not exist: nft refuses the whole file.
    let bad = tmp.write("bad.nft", &mk(443, &format!("{base}/missing")));
    let out = nft_load(&ns, &bad);
    assert!(!out.status.success(), "nft accepted a missing cgroup");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cgroupv2 path fails"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rs_before = Ruleset::from_json(&listed1, &mount.nft_root).unwrap();
    let rs_after = Ruleset::from_json(&nft_list_json(&ns), &mount.nft_root).unwrap();
    assert_eq!(
        Layout::of(&rs_before),
        Layout::of(&rs_after),
        "a refused script changed the table"
    );

    let second = mk(8080, &format!("{base}/a"));
    let f2 = tmp.write("2.nft", &second);
    run(&mut ns.cmd("nft", &["-f", &f2]));
    let rs2 = Ruleset::from_json(&nft_list_json(&ns), &mount.nft_root).unwrap();
    assert!(
        Layout::of_script(&second)
            .unwrap()
            .diff(&Layout::of(&rs2))
            .is_empty(),
        "second script did not replace the first"
    );

    let remove = tmp.write("remove.nft", &agentpol_firewall::nft::remove_script());
    run(&mut ns.cmd("nft", &["-f", &remove]));
    run(&mut ns.cmd("nft", &["-f", &remove]));
    let tables = String::from_utf8(run(&mut ns.cmd("nft", &["list", "tables"])).stdout).unwrap();
    assert_eq!(tables.trim(), "table inet other", "{tables}");
}

const BIN: &str = env!("CARGO_BIN_EXE_agentpolc");
const OPENCLAW: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/openclaw/openclaw.agentpol"
);

/// A policy the iptables target can build: std::net's `no_internal` (in the
/// examples) denies host names, which iptables cannot express (AP0708).
const IPTABLES_POLICY: &str = "version 1\n\nagent a {\n  scope cgroup \"agentpol/a\"\n  resolvers { 192.0.2.53 }\n  net {\n    allow connect tcp port 443\n    deny all { 198.51.100.0/24, \"localhost\", \"*.localhost\" }\n  }\n}\n";

/// Runs `prefix... agentpolc build OPENCLAW --target nft -o DIR/nft-build` and
/// `... build <IPTABLES_POLICY> --target iptables -o DIR/ipt-build`; returns
/// the nft file, the iptables v4 file and OpenClaw's IR.
fn build_firewall_files(prefix: &[&str], dir: &std::path::Path) -> (String, String, Policy) {
    // One path for every build: the file name is in the generated header.
    let src = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ipt-purity.agentpol");
    std::fs::write(&src, IPTABLES_POLICY).unwrap();
    let build = |input: &str, target: &str, out: &std::path::Path| {
        let mut cmd = match prefix.split_first() {
            Some((p, rest)) => {
                let mut c = std::process::Command::new(p);
                c.args(rest).arg(BIN);
                c
            }
            None => std::process::Command::new(BIN),
        };
        let o = cmd
            .args(["build", input, "--target", target, "-o"])
            .arg(out)
            .output()
            .expect("run agentpolc build");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let (nft_dir, ipt_dir) = (dir.join("nft-build"), dir.join("ipt-build"));
    build(OPENCLAW, "nft", &nft_dir);
    build(&src.to_string_lossy(), "iptables", &ipt_dir);
    let read = |p: std::path::PathBuf| {
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let ir: Policy = serde_json::from_str(&read(nft_dir.join("ir/policy.json"))).expect("IR");
    (
        read(nft_dir.join("nft/agentpol.nft")),
        read(ipt_dir.join("iptables/agentpol.v4.rules")),
        ir,
    )
}

#[test]
fn build_output_does_not_depend_on_the_build_host() {
    let tmp = TempDir::new("pure");
    let (nft, ipt, ir) = build_firewall_files(&[], &tmp.0);
    let want = emit_nft(&ir, &Options::default());
    let want_nft = want
        .artifacts
        .iter()
        .find(|a| a.path == "agentpol.nft")
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
        .expect("nft artifact");
    assert_eq!(nft, want_nft);
    assert!(!nft.contains("\"unified/"), "{nft}");
    let ipt_ir: Policy = serde_json::from_str(
        &std::fs::read_to_string(tmp.0.join("ipt-build/ir/policy.json")).unwrap(),
    )
    .unwrap();
    let want = emit_iptables(&ipt_ir, &Options::default());
    let want_ipt = want
        .artifacts
        .iter()
        .find(|a| a.path == "agentpol.v4.rules")
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
        .expect("iptables artifact");
    assert_eq!(ipt, want_ipt);
}

/// The same build with the cgroup2 mount hidden (unmounted in a private mount
/// namespace, so /proc/self/mountinfo has no cgroup2) writes byte-identical
/// files. Fails on the old code on a hybrid host like CI's.
#[test]
fn build_output_is_the_same_without_a_cgroup2_mount() {
    if !privileged("build_output_is_the_same_without_a_cgroup2_mount") {
        return;
    }
    let a = TempDir::new("pure-a");
    let b = TempDir::new("pure-b");
    let (nft_a, ipt_a, _) = build_firewall_files(&[], &a.0);
    // Lazily unmount every cgroup2 mount, in this namespace only.
    let hidden = "for m in $(awk '/ - cgroup2 / {print $5}' /proc/self/mountinfo); do umount -l \"$m\" || exit 1; done; \
                  ! grep -q ' - cgroup2 ' /proc/self/mountinfo && exec \"$0\" \"$@\"";
    let (nft_b, ipt_b, _) = build_firewall_files(
        &[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            hidden,
        ],
        &b.0,
    );
    assert_eq!(nft_a, nft_b);
    assert_eq!(ipt_a, ipt_b);
}

/// Issue 11.2: a deny naming a host is a load-time set. The built file (no
/// resolutions) refuses to load until the set is filled; filled by hand with
/// `nft -D`, it loads the same sets as `apply`'s emission with the name
/// resolved, and decides as the reference evaluator on that resolution.
#[test]
fn unfilled_deny_set_refuses_to_load() {
    if !privileged("unfilled_deny_set_refuses_to_load") {
        return;
    }
    let mount = cgroup_mount();
    let base = tag("fill");
    let tmp = TempDir::new("fill");
    let ns = Netns::new(&tag("fill"));
    let mut cgroups = Cgroups::default();
    cgroups.add(&mount.mount_point, &base);
    let mut f = Fixture::new("agent a {}");
    let rules = vec![
        net(
            &f,
            "a",
            "no-blocked",
            Effect::Deny,
            Action::Connect,
            Proto::Tcp,
            &["blocked.example", "192.0.2.9"],
            &[],
            "agent a",
        ),
        net(
            &f,
            "a",
            "https",
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            &[],
            &[(443, 443)],
            "agent a",
        ),
    ];
    f.agent("a", cgroup(&base), "agent a").rules = rules;
    let built_opts = Options {
        cgroup_root: mount.nft_root.clone(),
        ..Options::default()
    };
    let built = emit_nft(&f.policy, &built_opts);
    assert!(!built.diagnostics.iter().any(|d| d.is_error()));
    let script = String::from_utf8(built.artifacts[0].contents.clone()).unwrap();
    // No rule matches only the protocol: the deny is not widened to all TCP.
    assert!(
        !script
            .lines()
            .any(|l| l.trim().starts_with("meta l4proto tcp counter reject")),
        "{script}"
    );
    let file = tmp.write("built.nft", &script);
    let check = ns.cmd("nft", &["-c", "-f", &file]).output().unwrap();
    assert!(!check.status.success(), "an unfilled deny set loaded");
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("unknown identifier 'agentpol_fill_a_r0_v4'"),
        "{err}"
    );

    // Filled by hand: the same sets as apply's emission with the resolution.
    let load = ns
        .cmd(
            "nft",
            &[
                "-D",
                "agentpol_fill_a_r0_v4={ 198.51.100.7 }",
                "-D",
                "agentpol_fill_a_r0_v6={ 2001:db8::7 }",
                "-f",
                &file,
            ],
        )
        .output()
        .unwrap();
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let mut applied_opts = built_opts.clone();
    applied_opts.resolutions.insert(
        "blocked.example".into(),
        Resolution {
            addrs: vec![
                "198.51.100.7".parse().unwrap(),
                "2001:db8::7".parse().unwrap(),
            ],
            resolver: "192.0.2.53".into(),
            ttl_secs: 60,
            at: None,
        },
    );
    let applied = String::from_utf8(
        emit_nft(&f.policy, &applied_opts).artifacts[0]
            .contents
            .clone(),
    )
    .unwrap();
    assert!(!applied.contains("$agentpol_fill"), "{applied}");
    let rs = Ruleset::from_json(&nft_list_json(&ns), &mount.nft_root).unwrap();
    let diff = Layout::of_script(&applied).unwrap().diff(&Layout::of(&rs));
    assert!(diff.is_empty(), "{diff:#?}");
    // And the loaded table decides as the evaluator on the resolved policy.
    let n = validate_policy(&ns, &tmp, &f.policy, &applied_opts, "resolved deny");
    assert!(n > 100, "{n} probes");
    drop(cgroups);
}
