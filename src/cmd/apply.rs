//! `agentpolc apply --target nft --policy DIR|FILE`: load the egress firewall;
//! `agentpolc apply --remove`: remove it (only `table inet agentpol`).
//!
//! Order, and why: (1) check `nft --version`; (2) find the cgroup2 mount;
//! (3) resolve the policy's domains (the resolver and TTL go into the ruleset's
//! comments and the report: DNS changes need a re-apply); (4) emit the script
//! from the IR (the pure `agentpol_firewall`); refuse a lossy ruleset unless
//! `--accept-loss`; (5) create the agents' cgroup directories, because nft
//! resolves `socket cgroupv2` paths to cgroup ids when it loads and refuses
//! paths that do not exist; (6) `nft -c -f` (check only), then `nft -f` (one
//! transaction: the old table is replaced whole or not at all); (7) list the
//! table back as JSON and compare it with the script; on a mismatch remove it
//! again. A failure before (6) changes nothing.

use crate::exit;
use crate::output::{self, Level};
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Host, Matcher, Policy};
use agentpol_core::source::SourceMap;
use agentpol_firewall::dns::{self, QType};
use agentpol_firewall::host::{self, CgroupMount};
use agentpol_firewall::validate::{Layout, Ruleset};
use agentpol_firewall::{nft, Options, Resolution};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// Arguments of `apply`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The target to load (only `nft`; iptables files are loaded with iptables-restore).
    #[arg(long, default_value = "nft", value_parser = ["nft"])]
    pub target: String,
    /// A build directory (with manifest.json) or a policy source file.
    #[arg(long, required_unless_present = "remove")]
    pub policy: Option<PathBuf>,
    /// Remove table inet agentpol (and nothing else) instead of loading.
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
    /// Print the ruleset and the report, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The nft program to run.
    #[arg(long, default_value = "nft")]
    pub nft: String,
}

/// Options for `build --target nft|iptables`: the cgroup2 mount of the build
/// host, no domain resolution (names fail closed until `apply` resolves them).
pub fn build_options() -> Options {
    let root = std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|t| host::cgroup_root_from_mountinfo(&t).ok())
        .map(|m| m.nft_root)
        .unwrap_or_default();
    Options {
        cgroup_root: root,
        ..Options::default()
    }
}

fn print(diags: &[Diag]) {
    output::print_human(diags, &SourceMap::new(), Level::Warning);
}

fn fail(d: Diag) -> u8 {
    print(&[d]);
    exit::FAILED
}

fn run_nft(nft: &str, args: &[String]) -> Result<Output, Box<Diag>> {
    Command::new(nft)
        .args(args)
        .output()
        .map_err(|e| Box::new(host::nft_missing(&format!("{nft}: {e}"))))
}

fn refused(stage: &str, out: &Output) -> Diag {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Operation not permitted") {
        host::not_privileged(&format!("nft ({stage}): {}", stderr.trim()))
    } else {
        host::nft_rejected(stage, &stderr)
    }
}

fn temp_file(name: &str, text: &str) -> Result<PathBuf, String> {
    let p = std::env::temp_dir().join(format!("agentpol-{}-{name}", std::process::id()));
    std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    Ok(p)
}

/// Runs `apply`.
pub fn run(args: Args) -> u8 {
    // (1) nft itself, before anything changes (a dry run needs none).
    if !args.dry_run {
        match run_nft(&args.nft, &["--version".into()]) {
            Err(d) => return fail(*d),
            Ok(out) => {
                if let Err(d) = host::check_nft_version(&String::from_utf8_lossy(&out.stdout)) {
                    return fail(*d);
                }
            }
        }
    }
    if args.remove {
        return remove(&args.nft);
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

    // (2) Where nft finds cgroups.
    let mount = match std::fs::read_to_string("/proc/self/mountinfo") {
        Err(e) => {
            eprintln!("error: cannot read /proc/self/mountinfo: {e}");
            return exit::USAGE;
        }
        Ok(text) => match host::cgroup_root_from_mountinfo(&text) {
            Ok(m) => m,
            // Only uid-scoped agents: no cgroup path is written.
            Err(_) if !has_cgroup_agents(&policy) => CgroupMount {
                mount_point: host::NFT_CGROUP_BASE.into(),
                nft_root: String::new(),
            },
            Err(d) => return fail(*d),
        },
    };

    // (3) Domains.
    let (resolutions, mut diags) = resolve_domains(&policy);
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

    // (4) Emit.
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
    let out = agentpol_firewall::emit_nft(&policy, &opts);
    diags.extend(out.diagnostics.iter().cloned());
    print(&diags);
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
    let Some(script) = out
        .artifacts
        .iter()
        .find(|a| a.path == nft::RULESET_FILE)
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
    else {
        eprintln!("internal error: the nft backend produced no ruleset");
        return exit::INTERNAL;
    };
    if args.dry_run {
        print!("{script}");
        return exit::OK;
    }
    if !out.loss.is_empty() && !args.accept_loss {
        eprintln!(
            "error: the nft ruleset approximates {} rule(s) (listed above); pass --accept-loss to load it anyway. Nothing was changed.",
            out.loss.len()
        );
        return exit::FAILED;
    }

    // (5) cgroups first: nft resolves the paths when it loads.
    for dir in host::cgroup_dirs(&policy, &mount) {
        if !std::path::Path::new(&dir).exists() {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                let d = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    host::not_privileged(&format!("mkdir {dir}: {e}"))
                } else {
                    host::nft_rejected("create cgroup", &format!("mkdir {dir}: {e}"))
                };
                return fail(d);
            }
            println!("created cgroup {dir}");
        }
    }

    // (6) Check, then load, as one transaction each.
    let file = match temp_file("agentpol.nft", &script) {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    let file_s = file.to_string_lossy().into_owned();
    let code = load_and_verify(&args.nft, &file_s, &script, &mount.nft_root);
    let _ = std::fs::remove_file(&file);
    if code == exit::OK {
        println!(
            "loaded table inet agentpol: {} agent(s); remove it with `agentpolc apply --remove`",
            policy.agents.len()
        );
    }
    code
}

fn load_and_verify(nft_bin: &str, file: &str, script: &str, cgroup_root: &str) -> u8 {
    for (stage, args) in [
        ("check", host::nft_check_args(file)),
        ("load", host::nft_load_args(file)),
    ] {
        match run_nft(nft_bin, &args) {
            Err(d) => return fail(*d),
            Ok(out) if !out.status.success() => return fail(refused(stage, &out)),
            Ok(_) => {}
        }
    }
    // (7) Read back and compare; never leave a table that differs.
    let listed = run_nft(nft_bin, &host::nft_list_args());
    let detail = match &listed {
        Err(d) => Some(d.message.clone()),
        Ok(out) if !out.status.success() => {
            Some(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
        Ok(out) => {
            let want = Layout::of_script(script);
            let got = Ruleset::from_json(&String::from_utf8_lossy(&out.stdout), cgroup_root);
            match (want, got) {
                (Ok(w), Ok(g)) => {
                    let diff = w.diff(&Layout::of(&g));
                    (!diff.is_empty()).then(|| diff.join("; "))
                }
                (Err(e), _) | (_, Err(e)) => Some(e),
            }
        }
    };
    match detail {
        None => exit::OK,
        Some(detail) => {
            let removed = remove_quietly(nft_bin);
            fail(host::verify_failed(&detail, removed))
        }
    }
}

fn remove_quietly(nft_bin: &str) -> bool {
    temp_file("remove.nft", &nft::remove_script())
        .ok()
        .map(|f| {
            let ok = run_nft(nft_bin, &host::nft_load_args(&f.to_string_lossy()))
                .is_ok_and(|o| o.status.success());
            let _ = std::fs::remove_file(&f);
            ok
        })
        .unwrap_or(false)
}

fn remove(nft_bin: &str) -> u8 {
    let file = match temp_file("remove.nft", &nft::remove_script()) {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    let res = run_nft(nft_bin, &host::nft_load_args(&file.to_string_lossy()));
    let _ = std::fs::remove_file(&file);
    match res {
        Err(d) => fail(*d),
        Ok(out) if !out.status.success() => fail(refused("remove", &out)),
        Ok(_) => {
            println!("removed table inet agentpol (no other table was touched)");
            exit::OK
        }
    }
}

fn has_cgroup_agents(policy: &Policy) -> bool {
    policy
        .agents
        .iter()
        .any(|a| matches!(a.scope, agentpol_core::ir::Scope::Cgroup { .. }))
}

/// Resolves every exact domain of the agents' net rules through the first
/// resolver of an agent that names it (else the host's resolv.conf).
fn resolve_domains(policy: &Policy) -> (BTreeMap<String, Resolution>, Vec<Diag>) {
    let system = std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|t| dns::resolv_conf_nameserver(&t));
    let mut wanted: BTreeMap<String, Option<IpAddr>> = BTreeMap::new();
    for agent in &policy.agents {
        for rule in &agent.rules {
            if let Matcher::Net {
                hosts: Some(hosts), ..
            } = &rule.matcher
            {
                for h in hosts {
                    if let Host::Domain(d) = h {
                        if !d.wildcard {
                            wanted
                                .entry(d.name.clone())
                                .or_insert_with(|| agent.resolvers.first().copied().or(system));
                        }
                    }
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut diags = Vec::new();
    for (id, (name, resolver)) in wanted.into_iter().enumerate() {
        let Some(resolver) = resolver else {
            diags.push(host::resolve_failed(
                &name,
                "no resolver: the agent names none and /etc/resolv.conf has no nameserver",
            ));
            continue;
        };
        let mut addrs = Vec::new();
        let mut ttl = u32::MAX;
        let mut error = None;
        for (k, qtype) in [QType::A, QType::Aaaa].into_iter().enumerate() {
            let qid = (std::process::id() as u16) ^ ((id as u16) << 1) ^ k as u16;
            match query(resolver, &name, qid, qtype) {
                Ok(answers) => {
                    for (a, t) in answers {
                        addrs.push(a);
                        ttl = ttl.min(t);
                    }
                }
                Err(e) => error = Some(e),
            }
        }
        match error {
            // Half an answer is not an answer: fail closed for the name.
            Some(e) => diags.push(host::resolve_failed(
                &name,
                &format!("{e} (asking {resolver})"),
            )),
            None => {
                out.insert(
                    name,
                    Resolution {
                        addrs,
                        resolver: resolver.to_string(),
                        ttl_secs: if ttl == u32::MAX { 0 } else { ttl },
                        at: None,
                    },
                );
            }
        }
    }
    (out, diags)
}

fn query(
    resolver: IpAddr,
    name: &str,
    id: u16,
    qtype: QType,
) -> Result<Vec<(IpAddr, u32)>, String> {
    let msg = dns::encode_query(id, name, qtype)?;
    let bind: SocketAddr = match resolver {
        IpAddr::V4(_) => "0.0.0.0:0".parse().map_err(|_| "bind address")?,
        IpAddr::V6(_) => "[::]:0".parse().map_err(|_| "bind address")?,
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("socket: {e}"))?;
    sock.connect(SocketAddr::new(resolver, 53))
        .map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let mut last = String::from("no answer");
    for _ in 0..2 {
        sock.send(&msg).map_err(|e| format!("send: {e}"))?;
        match sock.recv(&mut buf) {
            Ok(n) => return dns::parse_response(buf.get(..n).unwrap_or(&[]), id, qtype),
            Err(e) => last = format!("timed out ({e})"),
        }
    }
    Err(last)
}
