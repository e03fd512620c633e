//! `agentpolc gate --policy DIR|FILE --agent NAME[.SKILL] -- SERVER_CMD ARGS…`:
//! an MCP stdio proxy that decides every tool call by the policy (see
//! `lang-spec/gate.md`).
//!
//! Exit codes: 0 when the client closed its side, 1 when the server exited
//! first, 2 for bad arguments or a policy that cannot be loaded (nothing is
//! started then).

use crate::exit;
use agentpol_decide::IndexEngine;
use agentpol_gate::approve::{Approver, CommandApprover, NoApprover, TtyApprover};
use agentpol_gate::{run, Config, Gate, Loaded};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `gate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A build directory (`agentpolc build -o DIR`) or a policy source file.
    #[arg(long)]
    pub policy: PathBuf,
    /// The agent, or `agent.skill`, whose tool calls pass through the gate.
    #[arg(long)]
    pub agent: String,
    /// A JSON object binding the policy's params (`{"contacts": [...]}`).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// A JSON file `{"params": {...}}` watched for changes while running.
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Who approves `ask` decisions: `tty` (on /dev/tty) or `cmd:PROG`
    /// (request + decision as JSON on stdin; exit 0 approves). None: deny.
    #[arg(long)]
    pub approve: Option<String>,
    /// Seconds an approver may take before the call is denied.
    #[arg(long, default_value_t = 60)]
    pub approve_timeout: u64,
    /// Seconds the server may take to answer a request.
    #[arg(long, default_value_t = 300)]
    pub server_timeout: u64,
    /// Append one JSON line per decision here (default: stderr).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Decide and log, but forward everything (for rollout).
    #[arg(long)]
    pub monitor: bool,
    /// Largest message accepted from either side, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_message_bytes: usize,
    /// The MCP server command and its arguments.
    #[arg(last = true, required = true)]
    pub server: Vec<String>,
}

/// Runs `gate`.
pub fn run(args: Args) -> u8 {
    match start(args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            exit::USAGE
        }
    }
}

fn start(args: Args) -> Result<u8, String> {
    let (agent, skill) = match args.agent.split_once('.') {
        Some((a, s)) if !a.is_empty() && !s.is_empty() => (a.to_string(), Some(s.to_string())),
        Some(_) => {
            return Err(format!(
                "--agent `{}` is not NAME or NAME.SKILL",
                args.agent
            ))
        }
        None => (args.agent.clone(), None),
    };
    let approver: Box<dyn Approver> = match args.approve.as_deref() {
        None => Box::new(NoApprover),
        Some("tty") => Box::new(TtyApprover),
        Some(a) => match a.strip_prefix("cmd:") {
            Some(p) if !p.trim().is_empty() => Box::new(CommandApprover {
                program: p.to_string(),
            }),
            _ => return Err(format!("--approve `{a}`: expected `tty` or `cmd:PROG`")),
        },
    };
    let log: Box<dyn std::io::Write> = match &args.log {
        Some(p) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("cannot open the log {}: {e}", p.display()))?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let loaded = load(&args.policy)?;
    let secrets = env_secrets(&loaded.policy);
    let cfg = Config {
        agent,
        skill,
        monitor: args.monitor,
        approve_timeout: Duration::from_secs(args.approve_timeout),
        server_timeout: Duration::from_secs(args.server_timeout),
        max_in_flight: 1024,
    };
    let mut gate = Gate::new(cfg, loaded, approver, log, secrets)?;
    if let Some(p) = &args.params {
        let params = run::read_params_file(p)?;
        gate.set_params(params, &p.display().to_string());
    }
    if let Some(c) = &args.control {
        if let Ok(params) = run::read_params_file(c) {
            gate.set_params(params, &c.display().to_string());
        }
    }
    let opts = run::Options {
        server: args.server.clone(),
        max_message: args.max_message_bytes,
        control: args.control.clone(),
    };
    let policy_path = args.policy.clone();
    run::run(gate, &opts, move || load(&policy_path))
}

/// The policy and its decision index (the same answers as Cedar and the
/// evaluator; the differential tests hold it to that).
fn load(path: &Path) -> Result<Loaded, String> {
    let loaded = crate::manifest::load_policy(path)?;
    let engine = IndexEngine::new(&loaded.policy)
        .map_err(|e| format!("cannot build the decision index: {}", e.message))?;
    Ok(Loaded {
        policy: loaded.policy,
        engine: Box::new(engine),
    })
}

/// The values of the policy's secret environment variables present here.
fn env_secrets(policy: &agentpol_core::ir::Policy) -> BTreeMap<String, String> {
    policy
        .secrets
        .iter()
        .flat_map(|s| s.env.iter())
        .filter_map(|var| std::env::var(var).ok().map(|v| (var.clone(), v)))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}
