//! The network side of `run`: names resolved at start, the BPF enforcer and
//! its event reader, coded refusals, and forwarding signals to the child.

use agentpol_bpf::compile::{Maps, Names};
use agentpol_bpf::event::{self, Reader, RuleInfo, Stats};
use agentpol_bpf::loader::Enforcer;
use agentpol_core::ir::{Agent, Host, Matcher, Policy};
use agentpol_runtime::dns;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Resolves the exact domains of the run's net rules (agent and skill),
/// through the agent's resolvers, else the host's (`dns::Servers`).
/// `localhost` names are the loopback networks (RFC 6761), never asked. A
/// name that fails is left out: its allow grants nothing, its deny refuses
/// the start (AP0718).
pub fn resolve_names(agent: &Agent, skill: Option<&str>, quiet: bool) -> Names {
    let skill_rules = skill
        .and_then(|s| agent.skills.iter().find(|k| k.name == s))
        .map(|k| k.rules.as_slice())
        .unwrap_or(&[]);
    let mut wanted = BTreeSet::new();
    for r in agent.rules.iter().chain(skill_rules) {
        if let Matcher::Net {
            hosts: Some(hs), ..
        } = &r.matcher
        {
            for h in hs {
                if let Host::Domain(d) = h {
                    if !d.wildcard {
                        wanted.insert(d.name.clone());
                    }
                }
            }
        }
    }
    let mut names = Names::new();
    let servers = dns::Servers::of(agent);
    let mut asked = Vec::new();
    for name in wanted {
        match agentpol_firewall::lower::reserved_name(&name) {
            Some(nets) => {
                names.insert(name, nets);
            }
            None => asked.push((name, servers.clone())),
        }
    }
    for (name, result) in dns::resolve_all(&asked) {
        match result {
            Ok(r) => {
                if !quiet {
                    let shown: Vec<String> = r.addrs.iter().map(ToString::to_string).collect();
                    eprintln!(
                        "agentpol: resolved {name} at start -> {} (resolver {}, TTL {}s); \
                         held until the run ends: restart to re-resolve",
                        if shown.is_empty() {
                            "no address".to_owned()
                        } else {
                            shown.join(", ")
                        },
                        r.resolver,
                        r.ttl_secs
                    );
                }
                names.insert(
                    name,
                    r.addrs.iter().map(|a| ipnet::IpNet::from(*a)).collect(),
                );
            }
            Err(e) => eprintln!("warning: cannot resolve {name}: {e}"),
        }
    }
    names
}

/// The attached enforcer and its reader thread.
pub struct Running {
    enforcer: Enforcer,
    reader: Reader,
}

impl Running {
    /// Reads the last events, then detaches (drops) the programs; returns
    /// the counts and the records lost to a full ring buffer.
    pub fn finish(mut self) -> (Stats, u64) {
        let stats = self.reader.finish();
        let lost = self.enforcer.lost();
        if let Err(e) = self.enforcer.detach() {
            eprintln!("warning: {e} (`agentpolc cleanup` removes what is left)");
        }
        drop(self.enforcer);
        (stats, lost)
    }
}

/// The bpffs mount (mounted at /sys/fs/bpf when there is none), where the
/// links are pinned so that a killed supervisor does not unfilter the agent.
pub fn bpffs() -> Result<PathBuf, String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if let Some(p) = agentpol_bpf::bpffs_mount(&mountinfo) {
        return Ok(p);
    }
    let out = Command::new("mount")
        .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
        .output()
        .map_err(|e| format!("no bpffs mounted and `mount` failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "no bpffs mounted and `mount -t bpf bpf /sys/fs/bpf` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from("/sys/fs/bpf"))
}

/// Loads the programs with `maps`, attaches them to `cgroup` with their
/// links pinned under `pins`, and starts writing events to `log` (created
/// 0600 if new, appended to otherwise).
pub fn start(
    maps: &Maps,
    audit: bool,
    cgroup: &Path,
    pins: &Path,
    log: &Path,
    policy: &Policy,
) -> Result<Running, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let out = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(log)
        .map_err(|e| format!("cannot open the event log {}: {e}", log.display()))?;
    let mut enforcer = Enforcer::load(maps, audit)
        .map_err(|e| format!("cannot load the network enforcer: {e}"))?;
    enforcer
        .attach(cgroup, pins)
        .map_err(|e| format!("cannot attach the network enforcer: {e}"))?;
    let rb = enforcer
        .take_events()
        .ok_or("the network enforcer has no event ring buffer")?;
    let rules = maps
        .rules
        .iter()
        .map(|r| RuleInfo {
            id: r.id.0.clone(),
            layer: if r.layer == 0 { "agent" } else { "skill" }.into(),
            at: agentpol_core::eval::location(policy, &r.src),
        })
        .collect();
    Ok(Running {
        enforcer,
        reader: event::spawn_reader(rb, out, rules),
    })
}

/// Starts `c` and waits for it, forwarding SIGINT, SIGTERM and SIGHUP sent to
/// the supervisor to the child (which then decides how to end; the
/// supervisor stays to wait, read the last events and clean up). The
/// handlers are installed before the child exists, so no signal is missed;
/// the child starts with default dispositions (exec resets caught signals).
pub fn spawn_forwarding_signals(c: &mut Command) -> std::io::Result<ExitStatus> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => {
            handle.close();
            return Err(e);
        }
    };
    let pid = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            if let (Some(pid), Some(s)) = (pid, rustix::process::Signal::from_named_raw(sig)) {
                let _ = rustix::process::kill_process(pid, s);
            }
        }
    });
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    status
}
