//! Translation validation of the iptables target without a kernel: the
//! emitted rules files and ipset file, run by the interpreter of
//! `validate_iptables`, decide every probe packet as the reference evaluator
//! decides the requests it stands for (on the policy lowered with the same
//! resolutions). The kernel tests (`tests/firewall_nft.rs` at the workspace
//! root) run the same check on what `iptables-save` and `ipset save` list back.

mod common;

use agentpol_core::backend::TargetOutput;
use agentpol_core::ir::{Action, Effect, Proto};
use agentpol_firewall::iptables::{fill_script, set_name, sets_of, Family, SET_NAME_MAX};
use agentpol_firewall::lower::{lower, Layer};
use agentpol_firewall::plan;
use agentpol_firewall::validate::{expected, probes, Packet, Verdict};
use agentpol_firewall::validate_iptables::{verdict, IpSets, IptRuleset};
use agentpol_firewall::{emit_iptables, Options, Resolution};
use agentpol_testkit::net_fixture::{cgroup, decide, net, random_policy, Fixture, Rng};

fn artifact(out: &TargetOutput, path: &str) -> String {
    out.artifacts
        .iter()
        .find(|a| a.path == path)
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
        .unwrap_or_else(|| panic!("no {path}"))
}

fn resolution(addrs: &[&str]) -> Resolution {
    Resolution {
        addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
        resolver: "192.0.2.53".into(),
        ttl_secs: 60,
        at: None,
    }
}

/// The options `apply` would use: every name the generator uses but
/// `unresolved.example` resolves.
fn applied() -> Options {
    let mut o = common::options();
    o.resolutions.insert(
        "api.example.com".into(),
        resolution(&["198.51.100.77", "2001:db8:5::7", "::ffff:192.0.2.200"]),
    );
    o
}

/// The loaded state: both rules files and the sets of the ipset file.
struct Loaded {
    v4: IptRuleset,
    v6: IptRuleset,
    sets: IpSets,
}

impl Loaded {
    fn of(v4: &str, v6: &str, ipset: &str) -> Result<Loaded, String> {
        Ok(Loaded {
            v4: IptRuleset::parse(v4, Family::V4)?,
            v6: IptRuleset::parse(v6, Family::V6)?,
            sets: IpSets::parse(ipset)?,
        })
    }

    fn emitted(out: &TargetOutput) -> Loaded {
        Loaded::of(
            &artifact(out, "agentpol.v4.rules"),
            &artifact(out, "agentpol.v6.rules"),
            &artifact(out, "agentpol.ipset"),
        )
        .unwrap_or_else(|e| panic!("cannot read the emitted files: {e}"))
    }

    fn verdict(&self, p: &Packet) -> Result<Verdict, String> {
        verdict(&self.v4, &self.v6, &self.sets, p)
    }
}

/// The probes on which `loaded` and the evaluator (on `policy` lowered with
/// `opts`) differ, and how many probes there were.
fn mismatches(
    loaded: &Loaded,
    policy: &agentpol_core::ir::Policy,
    opts: &Options,
) -> (Vec<String>, usize) {
    let lowered = lower(policy, opts, Layer::Iptables);
    let ps = probes(&lowered);
    let mut bad = Vec::new();
    for p in &ps {
        let want = expected(&lowered, p, &decide);
        match loaded.verdict(p) {
            Ok(got) if got == want => {}
            Ok(got) => bad.push(format!("{p:?}: rules {got:?}, evaluator {want:?}")),
            Err(e) => bad.push(format!("{p:?}: {e}")),
        }
    }
    (bad, ps.len())
}

#[test]
fn emitted_files_with_filled_sets_decide_as_the_evaluator() {
    let mut total = 0;
    let f = common::sample();
    let out = emit_iptables(&f.policy, &applied());
    let (bad, n) = mismatches(&Loaded::emitted(&out), &f.policy, &applied());
    assert!(
        bad.is_empty(),
        "sample: {} of {n}: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    total += n;
    let mut rng = Rng(0x5eed_1717);
    let mut with_sets = 0;
    for i in 0..24 {
        let f = random_policy(&mut rng, "agentpol/t", i);
        let out = emit_iptables(&f.policy, &applied());
        assert!(
            !out.diagnostics.iter().any(|d| d.is_error()),
            "policy {i}: {:?}",
            out.diagnostics
                .iter()
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        );
        if artifact(&out, "agentpol.ipset").contains("\nadd ") {
            with_sets += 1;
        }
        let (bad, n) = mismatches(&Loaded::emitted(&out), &f.policy, &applied());
        assert!(
            bad.is_empty(),
            "policy {i}: {} of {n} probes differ: {:#?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        total += n;
    }
    eprintln!("iptables model: 25 policies ({with_sets} with filled sets), {total} probes");
    assert!(with_sets >= 6, "only {with_sets} policies had a filled set");
    assert!(total > 50_000, "only {total} probes");
}

/// A deny and an allow naming domains, besides addresses.
fn domains_policy() -> Fixture {
    let mut f = Fixture::new("agent a {}");
    let rules = vec![
        net(
            &f,
            "a",
            "no-blocked",
            Effect::Deny,
            Action::Connect,
            Proto::Any,
            &["blocked.example", "192.0.2.9"],
            &[],
            "agent a",
        ),
        net(
            &f,
            "a",
            "api",
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            &["api.example.com", "198.51.100.0/28"],
            &[(443, 443)],
            "agent a",
        ),
        net(
            &f,
            "a",
            "wide",
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            &["198.51.100.0/24", "2001:db8::/32"],
            &[],
            "agent a",
        ),
    ];
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = rules;
    f
}

fn domains_opts() -> Options {
    let mut o = Options::default();
    o.resolutions.insert(
        "blocked.example".into(),
        resolution(&["198.51.100.7", "2001:db8::7"]),
    );
    o.resolutions.insert(
        "api.example.com".into(),
        resolution(&["203.0.113.5", "2001:db8:5::5"]),
    );
    o
}

/// The check can fail: a set missing an address, a set match left out, a deny
/// set loaded empty, or an allow set filled with a deny's addresses are each
/// caught on some probe.
#[test]
fn mutants_are_caught() {
    let f = domains_policy();
    let opts = domains_opts();
    let out = emit_iptables(&f.policy, &opts);
    let (v4, v6, ipset) = (
        artifact(&out, "agentpol.v4.rules"),
        artifact(&out, "agentpol.v6.rules"),
        artifact(&out, "agentpol.ipset"),
    );
    let (bad, _) = mismatches(&Loaded::of(&v4, &v6, &ipset).unwrap(), &f.policy, &opts);
    assert!(bad.is_empty(), "{bad:#?}");
    let deny_set = ipset
        .lines()
        .find(|l| l.starts_with("add ") && l.ends_with(" 198.51.100.7"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("the deny's IPv4 set is filled")
        .to_string();
    let mutants = [
        (
            "address dropped",
            v4.clone(),
            v6.clone(),
            ipset
                .replace("add ", "# add ")
                .replacen("# add ", "add ", 1),
        ),
        (
            "set match dropped",
            v4.lines()
                .filter(|l| !l.contains(&format!("--match-set {deny_set} ")))
                .map(|l| format!("{l}\n"))
                .collect(),
            v6.clone(),
            ipset.clone(),
        ),
        (
            "deny set empty",
            v4.clone(),
            v6.clone(),
            ipset.replace(&format!("add {deny_set} 198.51.100.7"), ""),
        ),
        (
            "allow set holds the deny's address",
            v4.clone(),
            v6.clone(),
            ipset.replace(" 203.0.113.5", " 198.51.100.7"),
        ),
    ];
    for (what, v4m, v6m, setm) in mutants {
        assert!(v4m != v4 || setm != ipset, "{what}: changed nothing");
        let loaded = Loaded::of(&v4m, &v6m, &setm).unwrap();
        let (bad, n) = mismatches(&loaded, &f.policy, &opts);
        eprintln!("mutant {what:?}: {} of {n} probes differ", bad.len());
        assert!(!bad.is_empty(), "mutant {what:?} was not caught");
    }
}

/// Issue 11.2 at the iptables target: the built files (no resolutions) mean
/// what the source means. No rule matches all TCP; the deny's sets are not
/// created, so the rules have no verdict (iptables-restore refuses them) until
/// they are filled; filled by hand as the ipset file's comments say, the
/// result decides as the evaluator on that resolution, and `apply`'s fill
/// script on top of the built sets gives the same sets.
#[test]
fn built_files_refuse_until_the_deny_sets_are_filled() {
    let f = domains_policy();
    let built = emit_iptables(&f.policy, &Options::default());
    assert!(
        !built.diagnostics.iter().any(|d| d.is_error()),
        "{:?}",
        built.diagnostics
    );
    let (v4, v6, ipset) = (
        artifact(&built, "agentpol.v4.rules"),
        artifact(&built, "agentpol.v6.rules"),
        artifact(&built, "agentpol.ipset"),
    );
    assert!(
        !v4.lines()
            .any(|l| l
                .starts_with("-A AP0_OUT_TCP -p tcp -m comment --comment \"a/net/no-blocked\"")),
        "the deny was widened to all TCP:\n{v4}"
    );
    // The rules file and sets of the built output and of apply's are the same rules.
    let applied = emit_iptables(&f.policy, &domains_opts());
    assert_eq!(v4, artifact(&applied, "agentpol.v4.rules"));
    assert_eq!(v6, artifact(&applied, "agentpol.v6.rules"));

    let loaded = Loaded::of(&v4, &v6, &ipset).unwrap();
    let (bad, _) = mismatches(&loaded, &f.policy, &domains_opts());
    assert!(
        bad.iter().any(|b| b.contains("doesn't exist")),
        "the unfilled built files decided packets: {bad:#?}"
    );
    // Filled by hand, following the file's comment for each deny set.
    let mut by_hand = ipset.clone();
    for line in ipset.lines() {
        if let Some(create) = line
            .split(": ")
            .nth(1)
            .filter(|_| line.contains("not created until filled"))
        {
            let name = create.split(' ').nth(1).unwrap();
            let addr = if create.ends_with("inet6") {
                "2001:db8::7"
            } else {
                "198.51.100.7"
            };
            by_hand.push_str(&format!("{create}\nadd {name} {addr}\n"));
        }
    }
    let by_hand = Loaded::of(&v4, &v6, &by_hand).unwrap();
    // The allow's set is empty by hand (no one added api.example.com's
    // addresses): the evaluator must be run without that resolution.
    let mut deny_only = domains_opts();
    deny_only.resolutions.remove("api.example.com");
    let (bad, n) = mismatches(&by_hand, &f.policy, &deny_only);
    assert!(bad.is_empty(), "{} of {n}: {bad:#?}", bad.len());

    // apply: the fill script run over the built sets.
    let mut state = IpSets::parse(&ipset).unwrap();
    state
        .apply(&fill_script(&sets_of(&f.policy, &domains_opts())))
        .unwrap();
    assert_eq!(
        state,
        IpSets::parse(&artifact(&applied, "agentpol.ipset")).unwrap()
    );
    let (bad, _) = mismatches(
        &Loaded {
            v4: loaded.v4,
            v6: loaded.v6,
            sets: state,
        },
        &f.policy,
        &domains_opts(),
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

/// A deny whose names did not all resolve gets no set even at apply (so the
/// rules cannot load); an allow gets the addresses of the names that did.
#[test]
fn sets_are_filled_only_when_sound() {
    let mut f = Fixture::new("agent a {}");
    let rules = vec![
        net(
            &f,
            "a",
            "d",
            Effect::Deny,
            Action::Connect,
            Proto::Tcp,
            &["x.example", "y.example"],
            &[],
            "agent a",
        ),
        net(
            &f,
            "a",
            "al",
            Effect::Allow,
            Action::Connect,
            Proto::Tcp,
            &["x.example", "y.example"],
            &[(443, 443)],
            "agent a",
        ),
    ];
    f.agent("a", cgroup("agentpol/a"), "agent a").rules = rules;
    let mut o = Options::default();
    o.resolutions.insert(
        "x.example".into(),
        resolution(&["192.0.2.1", "2001:db8::1"]),
    );
    let sets = sets_of(&f.policy, &o);
    assert_eq!(sets.len(), 4, "{sets:#?}");
    for s in &sets {
        if s.deny {
            assert_eq!(s.fill, None, "{s:?}");
        } else {
            let want = if s.family == Family::V4 {
                "192.0.2.1"
            } else {
                "2001:db8::1"
            };
            assert_eq!(s.fill, Some(vec![want.parse().unwrap()]), "{s:?}");
        }
    }
    let ipset = artifact(&emit_iptables(&f.policy, &o), "agentpol.ipset");
    assert_eq!(
        ipset.lines().filter(|l| l.starts_with("create ")).count(),
        2,
        "{ipset}"
    );
}

/// Set names: at most 30 characters (31 with the swap twin's `t`) whatever the
/// agent is called, deterministic, distinct per rule and family, and changed
/// when the rule's names change (so a set never changes meaning).
#[test]
fn set_names_fit_ipset_and_follow_the_names() {
    let mut seen = std::collections::BTreeSet::new();
    for (i, agent) in [
        "a",
        "openclaw",
        "an_agent_with_a_very_long_name_indeed_yes",
        &"x".repeat(300),
        "a-b.c",
    ]
    .iter()
    .enumerate()
    {
        let mut f = Fixture::new(&format!("agent {agent} {{}}"));
        let rules: Vec<_> = (0..50)
            .map(|k| {
                net(
                    &f,
                    agent,
                    &format!("r{k}"),
                    Effect::Allow,
                    Action::Connect,
                    Proto::Tcp,
                    &["api.example.com"],
                    &[],
                    &format!("agent {agent}"),
                )
            })
            .collect();
        f.agent(
            agent,
            cgroup(&format!("agentpol/t{i}")),
            &format!("agent {agent}"),
        )
        .rules = rules;
        let lowered = lower(&f.policy, &Options::default(), Layer::Iptables);
        let (plans, _) = plan::plan(&lowered);
        for p in &plans {
            for r in &p.rules {
                for fam in [Family::V4, Family::V6] {
                    let n = set_name(p, r, fam);
                    assert!(n.len() < SET_NAME_MAX, "{n} is {} long", n.len());
                    assert!(
                        n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                        "{n}"
                    );
                    assert_eq!(n, set_name(p, r, fam));
                    assert!(seen.insert(n.clone()), "{n} twice");
                }
                let mut other = r.clone();
                other.domains = vec!["other.example".into()];
                assert_ne!(set_name(p, r, Family::V4), set_name(p, &other, Family::V4));
            }
        }
    }
    assert_eq!(seen.len(), 5 * 50 * 2);
}
