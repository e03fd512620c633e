//! `agentpolc apply --target nft|iptables --policy DIR|FILE`: load the egress
//! firewall; `agentpolc apply --remove [--target …]`: remove it (only `table
//! inet agentpol`, or only agentpol's iptables chains and ipset sets).
//!
//! CLI glue over `agentpol_runtime`. Order, and why: (1) check the programs
//! (`nft --version`; for iptables `iptables-restore`, `ip6tables-restore`,
//! their `-save` twins and `ipset`); (2) find the cgroup2 mount on this host;
//! (3) resolve the policy's domains (the resolver and TTL go into the
//! ruleset's comments and the report: DNS changes need a re-apply); (4) emit
//! the ruleset from the IR (the pure `agentpol_firewall`) with the addresses
//! in the domains' load-time sets (nft sets, or ipset sets for iptables),
//! refuse when a deny's name did not resolve (AP0717: its set cannot be
//! filled), and refuse a lossy ruleset unless `--accept-loss`; (5) create the
//! agents' cgroup directories (nft resolves `socket cgroupv2` paths, iptables
//! `-m cgroup --path`, when loading); (6) load, list back and compare,
//! removing what was loaded again on a mismatch (nft: check, load in one
//! transaction; iptables: fill the sets, check both files, load, see
//! `agentpol_runtime::iptables`). `--dry-run` runs (1)–(4) exactly as a real
//! run, so it refuses what the real run refuses with the same exit code, and
//! then prints the ruleset instead of changing anything.

use crate::exit;
use crate::output::{self, Level};
use agentpol_core::backend::TargetOutput;
use agentpol_core::diag::Diag;
use agentpol_core::ir::Policy;
use agentpol_core::source::SourceMap;
use agentpol_firewall::lower::Layer;
use agentpol_firewall::{iptables, nft, Options};
use agentpol_runtime::host::{self, CgroupMount};
use agentpol_runtime::iptables::Iptables;
use agentpol_runtime::nft::Nft;
use agentpol_runtime::{cgroup, dns};
use std::path::{Path, PathBuf};

/// Arguments of `apply`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The target to load (or remove): `nft` (table inet agentpol) or
    /// `iptables` (iptables/ip6tables chains and ipset sets).
    #[arg(long, default_value = "nft", value_parser = ["nft", "iptables"])]
    pub target: String,
    /// A build directory (with manifest.json) or a policy source file.
    #[arg(long, required_unless_present = "remove")]
    pub policy: Option<PathBuf>,
    /// Remove what apply loads for `--target` (and nothing else) instead of loading.
    #[arg(long, conflicts_with = "policy")]
    pub remove: bool,
    /// Load even when the ruleset approximates rules (listed in the loss report).
    #[arg(long)]
    pub accept_loss: bool,
    /// Log packets refused by an agent's default deny with this prefix.
    #[arg(long)]
    pub log_prefix: Option<String>,
    /// Drop refused packets silently instead of rejecting them.
    #[arg(long)]
    pub drop: bool,
    /// Decide exactly as a real run (same refusals and exit codes), then print
    /// the ruleset instead of creating cgroups and loading it.
    #[arg(long)]
    pub dry_run: bool,
    /// The nft program to run.
    #[arg(long, default_value = "nft")]
    pub nft: String,
    /// The ipset program to run (`--target iptables`).
    #[arg(long, default_value = "ipset")]
    pub ipset: String,
}

fn fail(d: Diag, sources: &SourceMap) -> u8 {
    output::print_human(&[d], sources, Level::Warning);
    exit::FAILED
}

/// The sources the IR's spans point into, so diagnostics show real locations:
/// the policy file itself, or a build directory's root source when it still
/// compiles to files with the hashes recorded in the IR (otherwise no source:
/// a stale text would show wrong lines).
pub(crate) fn sources_of(path: &Path, root: Option<&str>, policy: &Policy) -> SourceMap {
    let file = if path.is_dir() {
        match root {
            Some(r) => PathBuf::from(r),
            None => return SourceMap::new(),
        }
    } else {
        path.to_path_buf()
    };
    match crate::loader::compile_file(&file) {
        Ok(comp) => {
            let same = comp.policy.as_ref().is_some_and(|p| {
                p.files.len() == policy.files.len()
                    && p.files
                        .iter()
                        .zip(&policy.files)
                        .all(|(a, b)| a.sha256 == b.sha256)
            });
            if same {
                comp.sources
            } else {
                SourceMap::new()
            }
        }
        Err(_) => SourceMap::new(),
    }
}

/// The programs of one target.
enum Loader {
    Nft(Nft),
    Iptables(Iptables),
}

impl Loader {
    fn of(args: &Args) -> Loader {
        if args.target == "iptables" {
            Loader::Iptables(Iptables::new(&args.ipset))
        } else {
            Loader::Nft(Nft::new(&args.nft))
        }
    }

    fn check_programs(&self) -> Result<(), Box<Diag>> {
        match self {
            Loader::Nft(n) => n.version().map(|_| ()),
            Loader::Iptables(i) => i.version(),
        }
    }

    fn layer(&self) -> Layer {
        match self {
            Loader::Nft(_) => Layer::Nft,
            Loader::Iptables(_) => Layer::Iptables,
        }
    }

    fn remove(&self) -> Result<String, Box<Diag>> {
        match self {
            Loader::Nft(n) => n
                .remove()
                .map(|()| "removed table inet agentpol (no other table was touched)".into()),
            Loader::Iptables(i) => i.remove().map(|r| {
                format!(
                    "removed agentpol's iptables rules: {} chain(s) and {} OUTPUT jump(s) (IPv4 and IPv6), and {} ipset set(s); nothing else was touched",
                    r.chains, r.jumps, r.sets
                )
            }),
        }
    }
}

fn artifact(out: &TargetOutput, path: &str) -> Option<String> {
    out.artifacts
        .iter()
        .find(|a| a.path == path)
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
}

/// Runs `apply`.
pub fn run(args: Args) -> u8 {
    let loader = Loader::of(&args);
    let none = SourceMap::new();
    // (1) The programs, before anything changes.
    if let Err(d) = loader.check_programs() {
        return fail(*d, &none);
    }
    if args.remove {
        return match loader.remove() {
            Err(d) => fail(*d, &none),
            Ok(msg) => {
                println!("{msg}");
                exit::OK
            }
        };
    }
    let Some(path) = args.policy.as_ref() else {
        eprintln!("error: --policy DIR|FILE is required");
        return exit::USAGE;
    };
    let loaded = match crate::manifest::load_policy(path) {
        Ok(l) => l,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    if let (Some(m), Some(dir)) = (&loaded.manifest, &loaded.dir) {
        println!(
            "policy: {} (built by agentpolc {} from {}, sources {})",
            dir.display(),
            m.agentpolc_version,
            m.source.root,
            m.source.sha256.get(..12).unwrap_or(&m.source.sha256)
        );
    }
    let policy = loaded.policy;
    let root = loaded.manifest.as_ref().map(|m| m.source.root.as_str());
    let sources = sources_of(path, root, &policy);

    // (2) Where cgroups are on this host.
    let mount = match host::probe_cgroup_mount() {
        Ok(m) => m,
        // Only uid-scoped agents: no cgroup path is written.
        Err(_) if !cgroup::has_cgroup_agents(&policy) => CgroupMount {
            mount_point: host::NFT_CGROUP_BASE.into(),
            nft_root: String::new(),
        },
        Err(d) => return fail(*d, &none),
    };

    // (3) Domains.
    let (resolutions, mut diags) = dns::resolve_domains(&policy);
    for (name, r) in &resolutions {
        let addrs: Vec<String> = r.addrs.iter().map(ToString::to_string).collect();
        println!(
            "resolved {name} -> {} (resolver {}, TTL {}s); DNS changes need a re-apply",
            if addrs.is_empty() {
                "no address".to_string()
            } else {
                addrs.join(", ")
            },
            r.resolver,
            r.ttl_secs
        );
    }

    // (4) Emit, and refuse what the real run refuses (also in a dry run).
    let opts = Options {
        cgroup_root: mount.nft_root.clone(),
        resolutions,
        log_prefix: args.log_prefix.clone(),
        deny: if args.drop {
            agentpol_firewall::DenyAction::Drop
        } else {
            agentpol_firewall::DenyAction::Reject
        },
    };
    let out = match &loader {
        Loader::Nft(_) => agentpol_firewall::emit_nft(&policy, &opts),
        Loader::Iptables(_) => agentpol_firewall::emit_iptables(&policy, &opts),
    };
    diags.extend(out.diagnostics.iter().cloned());
    // A deny's load-time set that cannot be filled: refuse (AP0717).
    let lowered = agentpol_firewall::lower::lower(&policy, &opts, loader.layer());
    for d in lowered.agents.iter().flat_map(|a| &a.domains) {
        if d.deny && !d.wildcard && d.resolution.is_none() {
            let span = policy
                .agents
                .iter()
                .flat_map(|a| &a.rules)
                .find(|r| r.id == d.rule)
                .map(|r| r.src.span)
                .unwrap_or_default();
            diags.push(dns::deny_set_unfilled(&d.name, &d.rule.0, span));
        }
    }
    output::print_human(&diags, &sources, Level::Warning);
    if diags.iter().any(Diag::is_error) {
        eprintln!("error: the ruleset has errors; nothing was changed");
        return exit::FAILED;
    }
    for e in &out.loss {
        println!(
            "loss: {} ({}:{}) {:?}{}: {}",
            e.rule,
            policy
                .files
                .get(e.src.span.file.0 as usize)
                .map_or("?", |f| f.name.as_str()),
            e.src.line,
            e.approximation,
            e.enforced_by
                .as_ref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default(),
            e.reason
        );
    }
    if !out.loss.is_empty() && !args.accept_loss {
        eprintln!(
            "error: the {} ruleset approximates {} rule(s) (listed above); pass --accept-loss to load it anyway. Nothing was changed.",
            args.target,
            out.loss.len()
        );
        return exit::FAILED;
    }
    match &loader {
        Loader::Nft(n) => apply_nft(n, &args, &out, &policy, &mount),
        Loader::Iptables(i) => apply_iptables(i, &args, &out, &policy, &mount, &opts),
    }
}

/// (5) cgroups first: nft and iptables resolve the paths when they load.
fn make_cgroups(policy: &Policy, mount: &CgroupMount) -> Result<(), u8> {
    match cgroup::ensure_dirs(&cgroup::cgroup_dirs(policy, mount)) {
        Err(d) => Err(fail(*d, &SourceMap::new())),
        Ok(created) => {
            for dir in created {
                println!("created cgroup {dir}");
            }
            Ok(())
        }
    }
}

fn apply_nft(
    nft_prog: &Nft,
    args: &Args,
    out: &TargetOutput,
    policy: &Policy,
    mount: &CgroupMount,
) -> u8 {
    let Some(script) = artifact(out, nft::RULESET_FILE) else {
        eprintln!("internal error: the nft backend produced no ruleset");
        return exit::INTERNAL;
    };
    if args.dry_run {
        print!("{script}");
        eprintln!("dry run: nothing was changed");
        return exit::OK;
    }
    if let Err(code) = make_cgroups(policy, mount) {
        return code;
    }
    // (6) Check, load, verify (rolled back on a mismatch).
    match nft_prog.load_verified(&script, &mount.nft_root) {
        Err(d) => fail(*d, &SourceMap::new()),
        Ok(()) => {
            println!(
                "loaded table inet agentpol: {} agent(s); remove it with `agentpolc apply --remove`",
                policy.agents.len()
            );
            exit::OK
        }
    }
}

fn apply_iptables(
    prog: &Iptables,
    args: &Args,
    out: &TargetOutput,
    policy: &Policy,
    mount: &CgroupMount,
    opts: &Options,
) -> u8 {
    let (Some(v4), Some(v6), Some(ipset)) = (
        artifact(out, iptables::V4_FILE),
        artifact(out, iptables::V6_FILE),
        artifact(out, iptables::IPSET_FILE),
    ) else {
        eprintln!("internal error: the iptables backend produced no ruleset");
        return exit::INTERNAL;
    };
    let sets = iptables::sets_of(policy, opts);
    if args.dry_run {
        for (name, text) in [
            (iptables::IPSET_FILE, &ipset),
            (iptables::V4_FILE, &v4),
            (iptables::V6_FILE, &v6),
        ] {
            println!("# ==> {name} <==");
            print!("{text}");
        }
        eprintln!("dry run: nothing was changed");
        return exit::OK;
    }
    if let Err(code) = make_cgroups(policy, mount) {
        return code;
    }
    // (6) Fill the sets, check, load, verify (removed again on a mismatch).
    match prog.load_verified([&v4, &v6], &sets) {
        Err(d) => fail(*d, &SourceMap::new()),
        Ok(loaded) => {
            for c in &loaded.stale_chains {
                println!("deleted chain {c} of the previously loaded ruleset");
            }
            for s in &loaded.stale_sets {
                println!("destroyed set {s}, which no loaded rule uses");
            }
            println!(
                "loaded agentpol's iptables and ip6tables rules: {} agent(s), {} ipset set(s) filled; remove them with `agentpolc apply --remove --target iptables`",
                policy.agents.len(),
                loaded.sets
            );
            exit::OK
        }
    }
}
