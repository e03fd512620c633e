//! `agentpolc eval FILE --request req.json`: one decision by the reference evaluator.

use crate::exit;
use crate::output::{self, Format, Level};
use std::path::PathBuf;

/// Arguments of `eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The policy file.
    pub file: PathBuf,
    /// The request as JSON (`-` for stdin); see lang-spec/requests.md.
    #[arg(long)]
    pub request: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `eval`. Exit 0 when a decision was made (whatever it is), 1 if the
/// policy has errors, 2 for an unreadable or invalid request.
pub fn run(args: Args) -> u8 {
    if args.format == Format::Sarif {
        // A decision is not a code-scanning result; printing JSON under the
        // name SARIF would mislead a CI upload step.
        eprintln!("error: `eval` has no SARIF output; use `--format json`");
        return exit::USAGE;
    }
    let comp = match super::compile_or_exit(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(policy) = comp.policy.as_ref() else {
        output::print_human(&comp.diagnostics, &comp.sources, Level::Error);
        return exit::FAILED;
    };
    let (name, text) = match read_request(&args.request) {
        Ok(x) => x,
        Err(err) => {
            crate::loader::report(&err);
            return exit::USAGE;
        }
    };
    let result =
        crate::request_io::parse(&text).and_then(|req| agentpol_core::eval::evaluate(policy, &req));
    match result {
        Ok(decision) => {
            match args.format {
                Format::Human => {
                    println!("{}", decision.effect);
                    println!("  {}", decision.reason);
                    for m in &decision.matched {
                        println!(
                            "  matched {} {} ({})",
                            m.effect,
                            m.id,
                            agentpol_core::eval::location(policy, &m.src)
                        );
                    }
                }
                Format::Json | Format::Sarif => {
                    let mut doc = serde_json::to_value(&decision).unwrap_or_default();
                    if let Some(obj) = doc.as_object_mut() {
                        obj.insert("format_version".into(), output::JSON_FORMAT_VERSION.into());
                    }
                    println!("{doc}")
                }
            }
            exit::OK
        }
        Err(err) => {
            let (diag, sources) = crate::request_io::request_error_diag(&err, &name, &text);
            output::emit(
                &[diag],
                &sources,
                args.format,
                Level::Info,
                serde_json::Map::from_iter([("effect".to_string(), "deny".into())]),
            );
            exit::USAGE
        }
    }
}

/// Reads a request file, or stdin for `-` (capped at
/// [`crate::loader::MAX_REQUEST_BYTES`]).
pub fn read_request(path: &std::path::Path) -> Result<(String, String), crate::loader::ReadError> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string_lossy().into_owned()
    };
    crate::loader::read_text(path, crate::loader::MAX_REQUEST_BYTES).map(|t| (name, t))
}
