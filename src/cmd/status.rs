//! `agentpolc status`: runs recorded in the state directory, and whether their
//! supervisor is still alive (a dead one left its cgroup behind).

use crate::exit;
use agentpol_runtime::supervisor;
use std::path::PathBuf;

/// Arguments of `status`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// The state root (`AGENTPOL_STATE_ROOT` overrides it, for tests).
pub fn state_root() -> PathBuf {
    std::env::var_os("AGENTPOL_STATE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(supervisor::STATE_ROOT))
}

/// Runs `status`.
pub fn run(_args: Args) -> u8 {
    let runs = supervisor::list_runs(&state_root());
    if runs.is_empty() {
        println!("no runs");
    }
    for (s, alive) in runs {
        println!(
            "{}  {}  supervisor {} {}  cgroup {}",
            s.id,
            s.principal,
            s.supervisor_pid,
            if alive {
                "running"
            } else {
                "gone (leftover: `agentpolc cleanup`)"
            },
            s.cgroup.display()
        );
    }
    exit::OK
}
