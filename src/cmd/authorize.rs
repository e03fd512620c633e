//! `agentpolc authorize --policy DIR|FILE --request req.json`: decide tool,
//! fs, exec, net and env requests with the Cedar engine (default), the
//! compiled decision index, or the reference evaluator.
//!
//! Exit codes: 0 when every request was decided (whatever the decision), 2
//! for bad input (unreadable policy or request, malformed request: the
//! decision printed for it is deny), and with `--fail-on-deny` 1 when some
//! decision is deny or ask. In `--stdin` mode every line is decided (a bad line
//! does not stop the batch) and the exit code covers the whole batch.

use crate::exit;
use crate::output::{self, Format, Level};
use crate::request_io;
use agentpol_cedar::{CedarEngine, CedarFiles};
use agentpol_core::eval::request_check::limits::MAX_REQUEST_BYTES;
use agentpol_core::eval::RequestError;
use agentpol_core::ir::Effect;
use agentpol_core::request::Decision;
use agentpol_decide::{DecisionEngine, EvalEngine, IndexEngine};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which engine decides.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// Cedar's authorizer on the emitted Cedar policies.
    #[default]
    Cedar,
    /// The reference evaluator on the IR.
    Eval,
    /// The compiled decision index (same answers as `eval`, fast).
    Index,
}

/// Arguments of `authorize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A build directory (`agentpolc build -o DIR`, with `--target cedar` for the
    /// Cedar engine) or a policy source file.
    #[arg(long)]
    pub policy: PathBuf,
    /// The request as JSON (`-` for stdin); see lang-spec/requests.md.
    #[arg(long, required_unless_present = "stdin", conflicts_with = "stdin")]
    pub request: Option<PathBuf>,
    /// Read one JSON request per line from stdin and print one decision per line.
    #[arg(long)]
    pub stdin: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Exit with 1 when a decision is deny or ask.
    #[arg(long)]
    pub fail_on_deny: bool,
    /// The decision engine.
    #[arg(long, value_enum, default_value_t)]
    pub engine: Engine,
}

/// Runs `authorize`.
pub fn run(args: Args) -> u8 {
    let (engine, files) = match load_engine(&args.policy, args.engine) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    let mut refused = false;
    let mut bad_input = false;
    if args.stdin {
        let stdin = std::io::stdin();
        let mut out = std::io::stdout().lock();
        let mut input = stdin.lock();
        let mut n = 0usize;
        loop {
            let line = match request_io::next_line(&mut input, MAX_REQUEST_BYTES) {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("error: cannot read stdin: {e}");
                    return exit::USAGE;
                }
            };
            n += 1;
            let name = format!("<stdin>:{n}");
            let (effect, ok) = match line {
                request_io::Line::Text(line) if line.trim().is_empty() => continue,
                request_io::Line::Text(line) => decide_one(
                    engine.as_ref(),
                    &files,
                    &name,
                    &line,
                    args.format,
                    true,
                    &mut out,
                ),
                request_io::Line::Bad(err) => {
                    print_error(engine.name(), &err, &name, "", args.format, true, &mut out);
                    (Effect::Deny, false)
                }
            };
            refused |= effect != Effect::Allow;
            bad_input |= !ok;
        }
    } else {
        let path = args.request.as_deref().unwrap_or(Path::new("-"));
        let (name, text) = match super::eval::read_request(path) {
            Ok(x) => x,
            Err(msg) => {
                eprintln!("error: {msg}");
                return exit::USAGE;
            }
        };
        let mut out = std::io::stdout().lock();
        let (effect, ok) = decide_one(
            engine.as_ref(),
            &files,
            &name,
            &text,
            args.format,
            false,
            &mut out,
        );
        refused = effect != Effect::Allow;
        bad_input = !ok;
    }
    if bad_input {
        exit::USAGE
    } else if args.fail_on_deny && refused {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// Builds the engine from a build directory or a source file, with the policy's
/// source file names (the rules' spans index them).
fn load_engine(
    path: &Path,
    engine: Engine,
) -> Result<(Box<dyn DecisionEngine>, Vec<String>), String> {
    let loaded = crate::manifest::load_policy(path)?;
    let files = loaded.policy.files.iter().map(|f| f.name.clone()).collect();
    let engine: Box<dyn DecisionEngine> = match engine {
        Engine::Eval => Box::new(EvalEngine::new(loaded.policy)),
        Engine::Index => Box::new(
            IndexEngine::new(&loaded.policy)
                .map_err(|e| format!("cannot build the decision index: {}", e.message))?,
        ),
        Engine::Cedar => match (&loaded.dir, &loaded.manifest) {
            (Some(dir), Some(manifest)) => {
                let target = manifest
                    .targets
                    .iter()
                    .find(|t| t.name == agentpol_cedar::TARGET)
                    .ok_or_else(|| {
                        format!(
                            "{} has no cedar target: rebuild with `agentpolc build --target cedar -o {}`, or use `--engine index`",
                            dir.display(),
                            dir.display()
                        )
                    })?;
                let read = |name: &str| {
                    let p = dir.join(&target.dir).join(name);
                    std::fs::read_to_string(&p)
                        .map_err(|e| format!("cannot read {}: {e}", p.display()))
                };
                let files = CedarFiles {
                    schema: read(agentpol_cedar::files::SCHEMA)?,
                    policies: read(agentpol_cedar::files::POLICIES)?,
                    entities: read(agentpol_cedar::files::ENTITIES)?,
                    meta: read(agentpol_cedar::files::META)?,
                };
                Box::new(CedarEngine::from_files(&files).map_err(|e| e.to_string())?)
            }
            _ => Box::new(CedarEngine::from_policy(&loaded.policy).map_err(|diags| {
                let msgs: Vec<String> = diags
                    .iter()
                    .map(|d| format!("[{}] {}", d.code.code, d.message))
                    .collect();
                format!("cannot emit Cedar for this policy: {}", msgs.join("; "))
            })?),
        },
    };
    Ok((engine, files))
}

/// Decides one request text and prints the result; returns the effect and
/// whether the request could be read and interpreted.
fn decide_one(
    engine: &dyn DecisionEngine,
    files: &[String],
    name: &str,
    text: &str,
    format: Format,
    line_mode: bool,
    out: &mut impl Write,
) -> (Effect, bool) {
    let result = crate::request_io::parse(text).and_then(|req| engine.decide(&req));
    match result {
        Ok(d) => {
            print_decision(engine.name(), files, &d, format, line_mode, name, out);
            (d.effect, true)
        }
        Err(err) => {
            print_error(engine.name(), &err, name, text, format, line_mode, out);
            (Effect::Deny, false)
        }
    }
}

fn print_decision(
    engine: &str,
    files: &[String],
    d: &Decision,
    format: Format,
    line_mode: bool,
    name: &str,
    out: &mut impl Write,
) {
    match format {
        Format::Human => {
            let prefix = if line_mode {
                format!("{name}: ")
            } else {
                String::new()
            };
            let _ = writeln!(out, "{prefix}{}", d.effect);
            let _ = writeln!(out, "  {}", d.reason);
            for m in &d.deciding {
                let _ = writeln!(
                    out,
                    "  deciding {} {} ({}:{}:{})",
                    m.effect,
                    m.id,
                    files
                        .get(m.src.span.file.0 as usize)
                        .map_or("?", String::as_str),
                    m.src.line,
                    m.src.col
                );
            }
            if !line_mode {
                let _ = writeln!(out, "  engine {engine}");
            }
        }
        Format::Json | Format::Sarif => {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("engine".into(), engine.into());
                if line_mode {
                    obj.insert("input".into(), name.into());
                }
            }
            let _ = writeln!(out, "{v}");
        }
    }
}

fn print_error(
    engine: &str,
    err: &RequestError,
    name: &str,
    text: &str,
    format: Format,
    line_mode: bool,
    out: &mut impl Write,
) {
    let denied = agentpol_decide::error_decision(err);
    match format {
        Format::Human => {
            let (diag, sources) = crate::request_io::request_error_diag(err, name, text);
            output::print_human(&[diag], &sources, Level::Info);
            let prefix = if line_mode {
                format!("{name}: ")
            } else {
                String::new()
            };
            let _ = writeln!(out, "{prefix}deny\n  {}", denied.reason);
        }
        Format::Json | Format::Sarif => {
            let mut v = serde_json::to_value(&denied).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("engine".into(), engine.into());
                obj.insert(
                    "error".into(),
                    serde_json::json!({"code": err.code.code, "field": err.field, "message": err.message, "help": err.help}),
                );
                if line_mode {
                    obj.insert("input".into(), name.into());
                }
            }
            let _ = writeln!(out, "{v}");
        }
    }
}
