//! `agentpolc test FILE`: run the policy's `test` blocks through the reference evaluator.

use crate::exit;
use crate::output::{self, Format, Level};
use std::path::PathBuf;

/// Arguments of `test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The policy file.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs `test`: exit 0 if every expectation holds, 1 otherwise (or if the policy has errors).
pub fn run(args: Args) -> u8 {
    let comp = match super::compile_or_exit(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(policy) = comp.policy.as_ref() else {
        output::emit(
            &comp.diagnostics,
            &comp.sources,
            args.format,
            Level::Warning,
            Default::default(),
        );
        return exit::FAILED;
    };
    let outcomes = agentpol_core::eval::tests::run_tests(policy);
    let failures: Vec<_> = outcomes.iter().filter_map(|o| o.diag(policy)).collect();
    let passed = outcomes.iter().filter(|o| o.passed).count();
    match args.format {
        Format::Human => {
            let mut current = None;
            for o in &outcomes {
                if current != Some(&o.test) {
                    println!("test {:?}", o.test);
                    current = Some(&o.test);
                }
                let mark = if o.passed { "ok  " } else { "FAIL" };
                println!(
                    "  {mark} {}  expect {}, got {}",
                    agentpol_core::eval::location(policy, &o.src),
                    o.expected,
                    o.actual_text()
                );
            }
            output::print_human(&failures, &comp.sources, Level::Info);
            println!(
                "{passed} of {} expectation(s) passed in {} test(s)",
                outcomes.len(),
                policy.tests.len()
            );
        }
        _ => {
            let results: Vec<serde_json::Value> = outcomes
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "test": o.test,
                        "line": o.src.line,
                        "expected": o.expected,
                        "actual": o.actual_text(),
                        "passed": o.passed,
                    })
                })
                .collect();
            let mut extra = serde_json::Map::new();
            extra.insert("results".into(), results.into());
            extra.insert("passed".into(), passed.into());
            extra.insert("total".into(), outcomes.len().into());
            output::emit(&failures, &comp.sources, args.format, Level::Info, extra);
        }
    }
    if failures.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}
