//! `agentpolc cleanup [RUN]`: remove what runs whose supervisor is gone left
//! behind (their cgroup, after killing what is still in it, and their state).

use crate::exit;
use agentpol_runtime::supervisor;

/// Arguments of `cleanup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One run id; without it, every run whose supervisor is gone.
    pub run: Option<String>,
}

/// Runs `cleanup`.
pub fn run(args: Args) -> u8 {
    let root = super::status::state_root();
    let runs = supervisor::list_runs(&root);
    if let Some(id) = &args.run {
        if !runs.iter().any(|(s, _)| &s.id == id) {
            eprintln!("error: no run `{id}` (see `agentpolc status`)");
            return exit::USAGE;
        }
    }
    let mut code = exit::OK;
    for (s, alive) in runs {
        if args.run.as_ref().is_some_and(|id| id != &s.id) {
            continue;
        }
        if alive {
            eprintln!(
                "{}: its supervisor (pid {}) is still running; not removed",
                s.id, s.supervisor_pid
            );
            code = exit::FAILED;
            continue;
        }
        match supervisor::cleanup(&root, &s) {
            Ok(()) => println!("removed {}", s.id),
            Err(e) => {
                eprintln!("error: {}: {e}", s.id);
                code = exit::FAILED;
            }
        }
    }
    code
}
