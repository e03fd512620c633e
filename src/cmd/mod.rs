//! One module per subcommand: clap arguments and a `run` returning the exit code.

pub mod apply;
pub mod authorize;
pub mod bench;
pub mod build;
pub mod check;
pub mod cleanup;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod gate;
pub mod lsp;
pub mod multi;
pub mod run;
pub mod status;
pub mod test;
pub mod verify;

use crate::exit;
use std::path::Path;

/// Compiles `file`, printing a read error (and returning exit code 2) if it cannot be read.
pub fn compile_or_exit(file: &Path) -> Result<agentpol_core::Compilation, u8> {
    crate::loader::compile_file(file).map_err(|err| {
        crate::loader::report(&err);
        exit::USAGE
    })
}
