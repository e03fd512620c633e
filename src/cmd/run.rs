//! `agentpolc run --policy DIR|FILE --agent NAME[.SKILL] [--user U] [--audit]
//! [--log events.jsonl] [--accept-loss] [--explain-plan] [--format human|json]
//! -- CMD ARGS…`: start an agent confined by the kernel, and stay alive as its
//! supervisor.
//!
//! Order, and why: every input is checked (policy, agent, command, user, log
//! path, privileges) before anything is created, so bad input leaves nothing
//! behind (exit 2). Then the host is probed and the enforcer plan made; a kind
//! without an enforcer, or an approximation the user did not accept, stops here
//! (exit 1). Only then the state directory (0700) and the run's cgroup are
//! created, the network enforcer (cgroup sock_addr BPF, `agentpol-bpf`) is
//! loaded and attached to that cgroup with its event reader started, and the
//! child started. The child is this binary again (`agentpolc confine`,
//! hidden), with the environment already scrubbed (and inside an empty network
//! namespace via `unshare --net` only when BPF is unavailable): it joins the
//! cgroup, sets `no_new_privs`, stacks the Landlock layers, drops to the user
//! and execs the command. Doing that in a fresh process instead of between
//! fork and exec keeps the workspace free of `unsafe`. SIGINT, SIGTERM and
//! SIGHUP sent to the supervisor are forwarded to the child.

use crate::exit;

#[path = "run_net.rs"]
mod net;
use agentpol_core::ir::Policy;
use agentpol_runtime::enforcer_plan::{self, HostCaps, Plan};
use agentpol_runtime::landlock_plan::{LandlockPlan, RealFs};
use agentpol_runtime::supervisor::{self, RunState, User};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A build directory (with manifest.json) or a policy source file.
    #[arg(long)]
    pub policy: PathBuf,
    /// The agent, or `agent.skill`, to run as.
    #[arg(long)]
    pub agent: String,
    /// The user to run the command as (default `nobody`; `root` only when named).
    #[arg(long)]
    pub user: Option<String>,
    /// Where to write the event log (JSON lines, lang-spec/events.md;
    /// default: events.jsonl in the run's state directory).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Log every network decision, not only denials.
    #[arg(long)]
    pub audit: bool,
    /// Start even though the plan approximates some rules (narrower).
    #[arg(long)]
    pub accept_loss: bool,
    /// Print the enforcer plan and exit without starting anything.
    #[arg(long)]
    pub explain_plan: bool,
    /// Output format of the plan and the summary.
    #[arg(long, default_value = "human", value_parser = ["human", "json"])]
    pub format: String,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub cmd: Vec<String>,
}

/// Arguments of the hidden `confine` stage (the child side of `run`).
#[derive(clap::Args, Debug)]
pub struct ConfineArgs {
    /// The plan file written by the supervisor.
    #[arg(long)]
    pub plan: PathBuf,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub cmd: Vec<String>,
}

/// What the supervisor hands to the child stage.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildPlan {
    cgroup: PathBuf,
    landlock_abi: u32,
    landlock: Vec<LandlockPlanWire>,
    user: User,
    program: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LandlockPlanWire {
    grants: Vec<(String, Vec<agentpol_runtime::landlock_plan::Right>)>,
}

fn usage(msg: &str) -> u8 {
    eprintln!("error: {msg}");
    exit::USAGE
}

/// Finds `name` like execvp would (a name with a `/` is taken as a path).
fn find_program(name: &str) -> Option<PathBuf> {
    let is_exe = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_exe(&p).then(|| std::fs::canonicalize(&p).ok()).flatten();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_exe(p))
        .and_then(|p| std::fs::canonicalize(p).ok())
}

fn find_agent<'p>(
    policy: &'p Policy,
    spec: &str,
) -> Result<(&'p agentpol_core::ir::Agent, Option<String>), String> {
    let (name, skill) = match spec.split_once('.') {
        Some((a, s)) => (a, Some(s.to_owned())),
        None => (spec, None),
    };
    let agent = policy
        .agents
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = policy.agents.iter().map(|a| a.name.as_str()).collect();
            format!(
                "the policy has no agent `{name}` (agents: {})",
                names.join(", ")
            )
        })?;
    if let Some(s) = &skill {
        if !agent.skills.iter().any(|k| &k.name == s) {
            return Err(format!("agent `{name}` has no skill `{s}`"));
        }
    }
    Ok((agent, skill))
}

fn print_plan(policy: &Policy, plan: &Plan, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(plan).unwrap_or_default());
        return;
    }
    println!("enforcer plan for {}:", plan.principal);
    for k in &plan.kinds {
        let how = match (&k.enforcer, k.losses.is_empty()) {
            (None, _) => "NO ENFORCER".to_owned(),
            // `run` starts no gate: saying "exact" here would claim it does.
            (Some(e), true) if k.kind == agentpol_core::ir::Kind::Tool => {
                format!("not enforced by run; {e}")
            }
            (Some(e), true) => format!("{e}: exact"),
            (Some(e), false) => format!("{e}: approximated ({} loss entries)", k.losses.len()),
        };
        println!("  {:<5} → {how}", format!("{:?}", k.kind).to_lowercase());
        if let Some(m) = &k.missing {
            println!("          needs {m}");
        }
        let lines = k.losses.iter().map(|l| ("loss", l));
        for (what, l) in lines.chain(k.refused.iter().map(|l| ("REFUSED", l))) {
            let at = l
                .src
                .as_ref()
                .map(|s| format!("{}: ", agentpol_core::eval::location(policy, s)))
                .unwrap_or_default();
            let id = l
                .rule
                .as_ref()
                .map(|r| format!("[{r}] "))
                .unwrap_or_default();
            println!("          {what}: {at}{id}{}", l.message);
        }
    }
    for (i, l) in plan.landlock.iter().enumerate() {
        println!(
            "  landlock layer {}: {} grants, {} paths visited while expanding{}",
            i + 1,
            l.grants.len(),
            l.expanded_entries,
            if l.truncated {
                " (expansion truncated)"
            } else {
                ""
            }
        );
    }
    let env: Vec<&str> = plan.env_removed.iter().map(String::as_str).collect();
    println!(
        "  env removed: {}",
        if env.is_empty() {
            "(none)".to_owned()
        } else {
            env.join(", ")
        }
    );
}

fn wire(p: &LandlockPlan) -> LandlockPlanWire {
    LandlockPlanWire {
        grants: p
            .grants
            .iter()
            .map(|g| (g.path.clone(), g.rights.clone()))
            .collect(),
    }
}

/// Runs `run`.
pub fn run(args: Args) -> u8 {
    // (1) Inputs, before anything is created.
    let loaded = match crate::manifest::load_policy(&args.policy) {
        Ok(l) => l,
        Err(m) => return usage(&m),
    };
    let policy = loaded.policy;
    let (agent, skill) = match find_agent(&policy, &args.agent) {
        Ok(x) => x,
        Err(m) => return usage(&m),
    };
    let Some(cmd0) = args.cmd.first() else {
        return usage("no command given after `--`");
    };
    let Some(program) = find_program(cmd0) else {
        return usage(&format!("command `{cmd0}` not found (or not executable)"));
    };
    let user_name = args.user.clone().unwrap_or_else(|| "nobody".into());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let Some(user) = supervisor::find_user(&passwd, &user_name) else {
        return usage(&format!("user `{user_name}` does not exist"));
    };
    if let Some(log) = &args.log {
        let existed = log.exists();
        match std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log)
        {
            Ok(_) if !existed => {
                let _ = std::fs::remove_file(log);
            }
            Ok(_) => {}
            Err(e) => return usage(&format!("cannot write the log {}: {e}", log.display())),
        }
    }
    // (2) Host probe, names, plan.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let is_root = rustix::process::geteuid().is_root();
    let bpf = if !is_root {
        Err("not root: loading BPF programs needs root (not probed)".to_owned())
    } else {
        agentpol_bpf::loader::probe()
    };
    let caps = HostCaps {
        landlock_abi: agentpol_runtime::landlock::probe_abi(),
        netns: find_program("unshare").is_some(),
        bpf_net: bpf.is_ok(),
        bpf_net_error: bpf.err(),
    };
    let json = args.format == "json";
    // Names are resolved only for a real start: the plan shown by
    // --explain-plan says they will be (and stays the same offline).
    let names = if args.explain_plan || !caps.bpf_net {
        None
    } else {
        Some(net::resolve_names(agent, skill.as_deref(), json))
    };
    let secret_vars = policy
        .secrets
        .iter()
        .flat_map(|s| s.env.iter().cloned())
        .collect();
    let plan = match enforcer_plan::plan(
        agent,
        skill.as_deref(),
        &secret_vars,
        caps,
        &RealFs,
        names.as_ref(),
    ) {
        Ok(p) => p,
        Err(m) => return usage(&m),
    };
    if args.explain_plan {
        print_plan(&policy, &plan, json);
        return exit::OK;
    }
    if !is_root {
        return usage("`run` needs root (it creates a cgroup and changes user); run it with sudo");
    }
    let Some(mount) = supervisor::cgroup2_mount(&mountinfo) else {
        return usage("no cgroup v2 mount in /proc/self/mountinfo");
    };
    let missing = plan.missing();
    if !missing.is_empty() {
        print_plan(&policy, &plan, false);
        for k in missing {
            eprintln!(
                "error: no enforcer for `{:?}` rules on this host; needs {}",
                k.kind,
                k.missing.as_deref().unwrap_or("an enforcer")
            );
        }
        return exit::FAILED;
    }
    if plan.refused().next().is_some() {
        let root = loaded.manifest.as_ref().map(|m| m.source.root.as_str());
        let sources = crate::cmd::apply::sources_of(&args.policy, root, &policy);
        let diags: Vec<_> = plan.refused().map(enforcer_plan::refused_diag).collect();
        crate::output::print_human(&diags, &sources, crate::output::Level::Warning);
        eprintln!("error: some net rules cannot be held by the kernel; nothing was started");
        return exit::FAILED;
    }
    if !plan.exact() && !args.accept_loss {
        print_plan(&policy, &plan, false);
        eprintln!(
            "error: the plan approximates some rules (listed above, all narrower than the \
             policy); pass --accept-loss to start anyway"
        );
        return exit::FAILED;
    }
    if user.uid == 0 {
        eprintln!("warning: running the agent as root, as asked with --user");
    }
    // (3) Create, start, wait, remove.
    let state_root = std::env::var_os("AGENTPOL_STATE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(supervisor::STATE_ROOT));
    let id = supervisor::run_id(&plan.principal);
    let dir = match supervisor::create_state_dir(&state_root, &id) {
        Ok(d) => d,
        Err(e) => return usage(&format!("cannot create the state directory: {e}")),
    };
    let cgroup = mount.join("agentpol-runs").join(&id);
    let bpf_pins = match &plan.net_maps {
        Some(_) => match net::bpffs() {
            Ok(fs) => Some(fs.join("agentpol").join(&id)),
            Err(m) => {
                let _ = std::fs::remove_dir_all(&dir);
                eprintln!("error: {m}");
                return exit::FAILED;
            }
        },
        None => None,
    };
    let log = args.log.clone().unwrap_or_else(|| dir.join("events.jsonl"));
    let state = RunState {
        id: id.clone(),
        principal: plan.principal.clone(),
        supervisor_pid: std::process::id(),
        cgroup: cgroup.clone(),
        log: log.clone(),
        bpf_pins: bpf_pins.clone(),
    };
    let undo = |msg: String| {
        let _ = supervisor::cleanup(&state_root, &state);
        eprintln!("error: {msg}");
        exit::FAILED
    };
    if let Err(e) = supervisor::save_state(&dir, &state) {
        return undo(format!("cannot write the run state: {e}"));
    }
    if let Err(e) = std::fs::create_dir_all(&cgroup) {
        return undo(format!(
            "cannot create the cgroup {}: {e}",
            cgroup.display()
        ));
    }
    // The network enforcer is attached before the child can join the cgroup.
    let enforcer = match (&plan.net_maps, &bpf_pins) {
        (Some(maps), Some(pins)) => {
            match net::start(maps, args.audit, &cgroup, pins, &log, &policy) {
                Ok(n) => Some(n),
                Err(m) => return undo(m),
            }
        }
        _ => None,
    };
    if enforcer.is_some() && !json {
        eprintln!("agentpol: event log {}", log.display());
    }
    let child = ChildPlan {
        cgroup: cgroup.clone(),
        landlock_abi: plan.host.landlock_abi,
        landlock: plan.landlock.iter().map(wire).collect(),
        user,
        program: program.clone(),
    };
    let plan_file = dir.join("plan.json");
    if let Err(e) = std::fs::write(&plan_file, serde_json::to_vec(&child).unwrap_or_default()) {
        return undo(format!("cannot write {}: {e}", plan_file.display()));
    }
    let me = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return undo(format!("cannot find this program: {e}")),
    };
    let mut c = if plan.empty_netns {
        let mut c = Command::new("unshare");
        c.arg("--net").arg("--").arg(&me);
        c
    } else {
        Command::new(&me)
    };
    c.arg("confine").arg("--plan").arg(&plan_file);
    c.arg("--").args(&args.cmd);
    c.env_clear();
    for (k, v) in std::env::vars_os() {
        // A name that is not UTF-8 cannot be checked against the policy: dropped.
        if k.to_str().is_some_and(|k| !plan.env_removed.contains(k)) {
            c.env(k, v);
        }
    }
    let status = match net::spawn_forwarding_signals(&mut c) {
        Ok(s) => s,
        Err(e) => return undo(format!("cannot start the agent: {e}")),
    };
    // Grandchildren (double fork, setsid) are still in the cgroup: wait for them.
    while supervisor::populated(&cgroup) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = status
        .code()
        .map(|c| c.clamp(0, 255) as u8)
        .unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128u8.saturating_add(status.signal().unwrap_or(0).clamp(0, 127) as u8)
        });
    // Every process of the cgroup is gone: read the last events, then
    // detach the programs (dropping the enforcer closes its link fds).
    let net_stats = enforcer.map(net::Running::finish);
    let removed = supervisor::remove_cgroup(&cgroup, Duration::from_secs(5));
    if let Some(p) = &bpf_pins {
        let _ = std::fs::remove_dir(p);
    }
    // The run is over: its state goes, the default log (inside the state
    let _ = std::fs::remove_file(dir.join("run.json"));
    let _ = std::fs::remove_file(&plan_file);
    // directory) stays where the path printed at start says, unless it is
    // empty (nothing was denied): then nothing of the run is left behind.
    let log_empty = std::fs::metadata(&log).map_or(true, |m| m.len() == 0);
    if !log.starts_with(&dir) || log_empty {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (denials, lost) = match &net_stats {
        Some((s, lost)) => (serde_json::json!(s.denials), *lost),
        None => (serde_json::Value::Null, 0),
    };
    let summary = serde_json::json!({
        "run": id,
        "agent": plan.principal,
        "exit": code,
        "denials": { "net": denials, "fs": null, "exec": null },
        "denials_note": "fs and exec denials are not observable: Landlock reports no per-access events (lang-spec/events.md)",
        "events_lost": lost,
        "log": net_stats.as_ref().map(|_| log.display().to_string()),
        "cleanup": removed.is_ok(),
    });
    if json {
        eprintln!("{summary}");
    } else {
        let net_part = match &net_stats {
            Some((s, lost)) => format!(
                "net denials: {}{}; events in {}{}",
                s.denials,
                if args.audit {
                    format!(" (allows: {})", s.allows)
                } else {
                    String::new()
                },
                log.display(),
                if *lost > 0 || s.write_errors > 0 {
                    format!(
                        " ({lost} events LOST: ring buffer full; {} not written)",
                        s.write_errors
                    )
                } else {
                    String::new()
                }
            ),
            None => "net: no network (no BPF enforcer), no events".to_owned(),
        };
        eprintln!(
            "agentpol: run {id} ({}) exited with {code}; {net_part}; fs/exec denials are not \
             counted (Landlock reports no per-access events){}",
            plan.principal,
            if removed.is_ok() {
                ""
            } else {
                "; the cgroup could not be removed (see `agentpolc status`)"
            }
        );
    }
    code
}

/// Runs the hidden child stage: join the cgroup, confine, drop, exec.
pub fn confine(args: ConfineArgs) -> u8 {
    let fail = |m: String| {
        eprintln!("agentpol confine: {m}; the command was not started");
        127
    };
    let text = match std::fs::read(&args.plan) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", args.plan.display())),
    };
    let plan: ChildPlan = match serde_json::from_slice(&text) {
        Ok(p) => p,
        Err(e) => return fail(format!("bad plan file: {e}")),
    };
    if let Err(e) = std::fs::write(plan.cgroup.join("cgroup.procs"), "0") {
        return fail(format!("cannot join {}: {e}", plan.cgroup.display()));
    }
    if let Err(e) = rustix::thread::set_no_new_privs(true) {
        return fail(format!("no_new_privs: {e}"));
    }
    for layer in &plan.landlock {
        let lp = LandlockPlan {
            grants: layer
                .grants
                .iter()
                .map(|(p, r)| agentpol_runtime::landlock_plan::Grant {
                    path: p.clone(),
                    rights: r.clone(),
                    rules: Vec::new(),
                })
                .collect(),
            ..LandlockPlan::default()
        };
        if let Err(e) = agentpol_runtime::landlock::restrict_self(&lp, plan.landlock_abi) {
            return fail(format!("Landlock: {e}"));
        }
    }
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(&plan.program);
    c.args(args.cmd.iter().skip(1));
    if let Some(a0) = args.cmd.first() {
        c.arg0(a0);
    }
    c.uid(plan.user.uid).gid(plan.user.gid);
    let e = c.exec();
    fail(format!("cannot exec {}: {e}", plan.program.display()))
}
