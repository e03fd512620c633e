//! `agentpolc test FILE`: run the policy's `test` blocks through the reference evaluator.

use crate::exit;
use crate::output::{self, Format, Level};
use agentpol_core::eval::tests::TestOutcome;
use agentpol_core::ir::Policy;
use std::path::PathBuf;

/// Output formats of `test`: the shared ones, and JUnit XML for CI systems
/// that show test reports (GitLab, Jenkins, GitHub actions that read JUnit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum TestFormat {
    /// Rendered reports for people.
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
    /// A SARIF 2.1.0 log of the failures on stdout.
    Sarif,
    /// A JUnit XML report on stdout: one test case per expectation.
    Junit,
}

/// Arguments of `test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Policy files, or directories searched for `*.agentpol`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TestFormat,
    /// Run only the `test` blocks whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
}

/// Runs `test`: exit 0 if every expectation holds, 1 otherwise (or if the policy has errors).
pub fn run(args: Args) -> u8 {
    let shape = match args.format {
        TestFormat::Human => super::multi::Shape::Human,
        TestFormat::Json => super::multi::Shape::Json,
        TestFormat::Sarif => super::multi::Shape::Sarif,
        TestFormat::Junit => super::multi::Shape::Junit,
    };
    super::multi::run(&args.files, false, shape, |f| run_file(&args, f))
}

fn run_file(args: &Args, file: &std::path::Path) -> u8 {
    let comp = match super::compile_or_exit(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let format = match args.format {
        TestFormat::Human => Format::Human,
        TestFormat::Json | TestFormat::Junit => Format::Json,
        TestFormat::Sarif => Format::Sarif,
    };
    let Some(policy) = comp.policy.as_ref() else {
        output::emit(
            &comp.diagnostics,
            &comp.sources,
            format,
            Level::Warning,
            Default::default(),
        );
        return exit::FAILED;
    };
    let mut outcomes = agentpol_core::eval::tests::run_tests(policy);
    let blocks = match &args.filter {
        Some(f) => {
            outcomes.retain(|o| o.test.contains(f.as_str()));
            let n = policy
                .tests
                .iter()
                .filter(|t| t.name.contains(f.as_str()))
                .count();
            if n == 0 {
                eprintln!("error: no `test` block's name contains {f:?}");
                return exit::USAGE;
            }
            n
        }
        None => policy.tests.len(),
    };
    let failures: Vec<_> = outcomes.iter().filter_map(|o| o.diag(policy)).collect();
    let passed = outcomes.iter().filter(|o| o.passed).count();
    match args.format {
        TestFormat::Junit => print!("{}", junit(policy, &outcomes)),
        TestFormat::Human => {
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
                "{passed} of {} expectation(s) passed in {blocks} test(s)",
                outcomes.len(),
            );
        }
        TestFormat::Json | TestFormat::Sarif => {
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
            output::emit(&failures, &comp.sources, format, Level::Info, extra);
        }
    }
    if failures.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// A JUnit XML report: one `<testsuite>` per `test` block, one `<testcase>`
/// per expectation (named by its line), a `<failure>` saying what was decided.
fn junit(policy: &Policy, outcomes: &[TestOutcome]) -> String {
    let mut suites: Vec<(&str, Vec<&TestOutcome>)> = Vec::new();
    for o in outcomes {
        match suites.last_mut() {
            Some((name, list)) if *name == o.test => list.push(o),
            _ => suites.push((&o.test, vec![o])),
        }
    }
    let failures = outcomes.iter().filter(|o| !o.passed).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites name=\"agentpol\" tests=\"{}\" failures=\"{failures}\">\n",
        outcomes.len()
    ));
    for (name, list) in suites {
        let failed = list.iter().filter(|o| !o.passed).count();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
            xml(name),
            list.len()
        ));
        for o in list {
            let at = agentpol_core::eval::location(policy, &o.src);
            x.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}: expect {}\"",
                xml(name),
                xml(&at),
                o.expected
            ));
            if o.passed {
                x.push_str("/>\n");
            } else {
                x.push_str(&format!(
                    ">\n      <failure message=\"expected {}, got {}\"/>\n    </testcase>\n",
                    o.expected,
                    xml(&o.actual_text())
                ));
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Escapes text for an XML attribute: test names and paths are the policy
/// author's strings.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab are not allowed in XML 1.0,
            // not even as references: shown as `\xNN` text instead.
            c if (c as u32) < 0x20 && c != '\t' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
