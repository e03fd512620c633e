//! `assert never WHO read "GLOB"`, the cross-layer read assertion (issue 10
//! point 8), on policies written as source: it covers fs reads and every
//! tool argument that names a file, where `assert never WHO fs read` covers
//! fs requests only.
#![allow(missing_docs)]

use agentpol_core::diag::{render_human, Severity};
use agentpol_core::eval::reads::reads;
use agentpol_core::eval::{evaluate, matching::glob_matches};
use agentpol_core::ir::{Effect, Policy};
use agentpol_core::request::{Request, Resource};
use agentpol_core::source::NoFiles;
use agentpol_verify::{verify, Finding, FindingKind, Options};

fn compile(text: &str) -> Policy {
    let c = agentpol_core::compile("policy.agentpol", text, &NoFiles);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| render_human(d, &c.sources, false, 100))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join(""));
    c.policy.expect("a policy")
}

fn info() -> Options {
    Options {
        level: Severity::Info,
        threads: 1,
        ..Options::default()
    }
}

/// The assertion findings about the assertion on `line`.
fn about(findings: &[Finding], line: u32) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.src.line == line)
        .filter(|f| {
            matches!(
                f.kind,
                FindingKind::AssertionViolated
                    | FindingKind::AssertionProved
                    | FindingKind::Unknown
                    | FindingKind::Internal
            )
        })
        .collect()
}

fn kinds(findings: &[&Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// The witness, checked again here: the evaluator decides it with a
/// forbidden effect, and it reads a file under `/home/claw/.ssh`.
fn witness_reads_ssh(p: &Policy, f: &Finding, forbidden: &[Effect]) -> Request {
    let w = f.witness.clone().expect("a witness");
    let d = evaluate(p, &w).expect("a valid request");
    assert!(forbidden.contains(&d.effect), "{d:?}");
    let g = agentpol_testkit::verify_build::glob("/home/claw/.ssh/**");
    assert!(
        reads(p, &w).iter().any(|r| glob_matches(&g, &r.path)),
        "{w:?} reads {:?}",
        reads(p, &w)
    );
    w
}

/// The issue's reproduction: fs denies reading the keys, a tool reads them.
fn repro(tool_rule: &str) -> String {
    format!(
        r#"tool read_file(path: path)
agent claw {{
  home "/home/claw"
  fs {{
    allow read "/home/claw/**"
    deny read "/home/claw/.ssh/**"
  }}
  tool read_file {{ {tool_rule} }}
}}
assert never * fs read "/home/claw/.ssh/**"
assert never * read "/home/claw/.ssh/**"
"#
    )
}

#[test]
fn a_tool_reading_what_fs_denies_breaks_the_read_assertion_only() {
    let repro_text = repro(r#"allow when path in { "/home/claw/.ssh/**" }"#);
    let p = compile(&repro_text);
    let rep = verify(&p, &info());
    // `fs read` is about fs requests: it still holds.
    assert_eq!(
        kinds(&about(&rep.findings, 10)),
        [FindingKind::AssertionProved]
    );
    // `read` covers the tool: violated, with the tool call as witness.
    let bad = about(&rep.findings, 11);
    assert_eq!(kinds(&bad), [FindingKind::AssertionViolated], "{bad:#?}");
    let w = witness_reads_ssh(&p, bad[0], &[Effect::Allow, Effect::Ask]);
    assert!(matches!(&w.resource, Resource::Tool { tool, .. } if tool == "read_file"));
    assert_eq!(bad[0].part, "tool read_file");
    assert!(
        bad[0]
            .message
            .contains("tool `read_file` whose path argument `path`"),
        "{}",
        bad[0].message
    );
    assert_eq!(
        bad[0].related.iter().map(|r| r.effect).collect::<Vec<_>>(),
        [Effect::Allow]
    );
    insta::assert_snapshot!("AP0508_read_through_a_tool", render(&repro_text, bad[0]));
}

fn render(text: &str, f: &Finding) -> String {
    let mut sources = agentpol_core::source::SourceMap::new();
    sources.add("policy.agentpol", text);
    render_human(&f.to_diag(), &sources, false, 100)
}

#[test]
fn narrowing_the_tool_rule_proves_the_read_assertion() {
    let p = compile(&repro(
        r#"allow when path in { "/home/claw/**" }
    deny when path in { "/home/claw/.ssh/**" }"#,
    ));
    let rep = verify(&p, &info());
    assert_eq!(
        kinds(&about(&rep.findings, 12)),
        [FindingKind::AssertionProved]
    );
    let proved = about(&rep.findings, 12);
    assert_eq!(proved[0].part, "read (fs and tool arguments)");
}

#[test]
fn an_fs_only_leak_is_found_by_the_read_assertion() {
    let p = compile(
        r#"tool read_file(path: path)
agent claw {
  home "/home/claw"
  fs { allow read "/home/claw/**" }
  tool read_file { allow when path in { "/home/claw/docs/**" } }
}
assert never * read "/home/claw/.ssh/**"
"#,
    );
    let rep = verify(&p, &info());
    let bad = about(&rep.findings, 7);
    assert_eq!(kinds(&bad), [FindingKind::AssertionViolated], "{bad:#?}");
    let w = witness_reads_ssh(&p, bad[0], &[Effect::Allow, Effect::Ask]);
    assert!(matches!(w.resource, Resource::Fs { .. }), "{w:?}");
    assert!(
        bad[0].message.contains("an fs read of"),
        "{}",
        bad[0].message
    );
}

#[test]
fn never_allow_accepts_a_tool_that_asks() {
    let p = compile(
        r#"tool read_file(path: path)
agent claw {
  home "/home/claw"
  fs { deny read "/home/claw/.ssh/**" }
  skill s {
    tool read_file { ask when path in { "/home/claw/**" } }
  }
  tool read_file { allow when path in { "/home/claw/**" } }
}
assert never allow claw.s read "/home/claw/.ssh/**"
assert never claw.s read "/home/claw/.ssh/**"
assert never allow claw read "/home/claw/.ssh/**"
"#,
    );
    let rep = verify(&p, &info());
    assert_eq!(
        kinds(&about(&rep.findings, 10)),
        [FindingKind::AssertionProved]
    );
    let ask = about(&rep.findings, 11);
    assert_eq!(kinds(&ask), [FindingKind::AssertionViolated], "{ask:#?}");
    let w = witness_reads_ssh(&p, ask[0], &[Effect::Ask]);
    assert_eq!(w.skill.as_deref(), Some("s"));
    assert_eq!(
        kinds(&about(&rep.findings, 12)),
        [FindingKind::AssertionViolated]
    );
}

/// A tool with a `url` argument, allowed on `rule`.
fn fetch(rule: &str) -> Policy {
    compile(&format!(
        r#"tool fetch(url: url)
agent claw {{
  home "/home/claw"
  tool fetch {{ {rule} }}
}}
assert never * read "/home/claw/.ssh/**"
"#
    ))
}

fn url_of(w: &Request) -> String {
    match &w.resource {
        Resource::Tool { args, .. } => args["url"].as_str().unwrap_or("").to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn file_urls_are_reads() {
    // Any `file:` URL allowed: a URL naming a key is a counterexample.
    let p = fetch(r#"allow when url.scheme == "file""#);
    let rep = verify(&p, &info());
    let bad = about(&rep.findings, 6);
    assert_eq!(kinds(&bad), [FindingKind::AssertionViolated], "{bad:#?}");
    let w = witness_reads_ssh(&p, bad[0], &[Effect::Allow]);
    assert!(url_of(&w).starts_with("file:"), "{w:?}");
    assert!(
        bad[0].message.contains("`file:` URL naming"),
        "{}",
        bad[0].message
    );
    // Only https: no file is read through the tool.
    let p = fetch(r#"allow when url.scheme == "https""#);
    let rep = verify(&p, &info());
    assert_eq!(
        kinds(&about(&rep.findings, 6)),
        [FindingKind::AssertionProved]
    );
}

#[test]
fn a_url_path_prefix_is_no_fence_for_file_urls() {
    // The rule wants the URL's path under /pub; `..%2F` is kept by URL
    // parsing and climbs out once decoded.
    let p = fetch(r#"allow when url.scheme == "file" and url.path like "/pub/*""#);
    let rep = verify(&p, &info());
    let bad = about(&rep.findings, 6);
    assert_eq!(kinds(&bad), [FindingKind::AssertionViolated], "{bad:#?}");
    let w = witness_reads_ssh(&p, bad[0], &[Effect::Allow]);
    assert!(url_of(&w).contains("/pub/"), "{w:?}");
    assert!(url_of(&w).contains("%2F"), "{w:?}");
}

#[test]
fn url_path_rules_that_defeat_every_candidate_are_undecided_not_proved() {
    // `file:///..%2Fhome%2Fclaw%2F.ssh%2Fk.txt` is allowed and reads a key,
    // but the verifier does not search URL paths for one: it must say so.
    let p = fetch(r#"allow when url.scheme == "file" and url.path like "*.txt""#);
    let rep = verify(&p, &info());
    let open = about(&rep.findings, 6);
    assert_eq!(kinds(&open), [FindingKind::Unknown], "{open:#?}");
    assert!(
        open[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("url.path")),
        "{:?}",
        open[0].reason
    );
    // The counterexample the verifier cannot find is real.
    let req = Request {
        agent: "claw".into(),
        skill: None,
        resource: Resource::Tool {
            tool: "fetch".into(),
            args: [(
                "url".to_string(),
                serde_json::json!("file:///..%2Fhome%2Fclaw%2F.ssh%2Fk.txt"),
            )]
            .into(),
            params: Default::default(),
            tainted: Vec::new(),
            secrets: Default::default(),
        },
    };
    assert_eq!(evaluate(&p, &req).map(|d| d.effect), Ok(Effect::Allow));
    assert_eq!(reads(&p, &req)[0].path, "/home/claw/.ssh/k.txt");
}

#[test]
fn tools_without_file_arguments_are_not_reads() {
    // A string argument may well be a shell command that reads the key:
    // the assertion does not claim to cover that (semantics.md §8).
    let p = compile(
        r#"tool shell(command: string)
agent claw {
  home "/home/claw"
  fs { deny read "/home/claw/.ssh/**" }
  tool shell { allow }
}
assert never * read "/home/claw/.ssh/**"
"#,
    );
    let rep = verify(&p, &info());
    assert_eq!(
        kinds(&about(&rep.findings, 7)),
        [FindingKind::AssertionProved]
    );
}
