//! `agentpolc verify` and `agentpolc diff` against the real binary, on build
//! directories holding hand-built IR (the front end is tested elsewhere) whose
//! source files exist, so diagnostics point at real text.

use agentpol_core::ir::{
    Action, ArgType, Atom, Effect, Matcher, Operand, Policy, Scalar, Test, Value,
};
use agentpol_testkit::verify_build::{agent, fs, policy, rule, skill, tool};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_agentpolc");

/// Writes `text` as the policy's source and `p` (pointing at it) as a build directory.
fn build_dir(root: &Path, name: &str, text: &str, mut p: Policy) -> PathBuf {
    let dir = root.join(name);
    let src = root.join(format!("{name}.agentpol"));
    std::fs::write(&src, text).unwrap();
    let mut map = agentpol_core::source::SourceMap::new();
    let id = map.add(src.to_string_lossy(), text);
    p.files[0].name = src.to_string_lossy().into_owned();
    p.files[0].sha256 = map.get(id).unwrap().sha256();
    agentpol_testkit::build_dir::write(&dir, &p, &[]);
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const SRC: &str =
    "agent a {\n  fs {\n    deny read \"/work/**\"\n    allow read \"/work/docs/**\"\n  }\n}\n";

/// The builder gives rules synthetic spans (10 bytes per line): the tests check messages, not carets.
fn overridden() -> Policy {
    policy(
        vec![agent(
            "a",
            vec![
                rule("a/fs/w", Effect::Deny, Action::Read, fs(&["/work/**"]), 3),
                rule(
                    "a/fs/docs",
                    Effect::Allow,
                    Action::Read,
                    fs(&["/work/docs/**"]),
                    4,
                ),
            ],
            vec![],
        )],
        vec![],
        vec![],
    )
}

#[test]
fn verify_reports_an_overridden_rule_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build_dir(tmp.path(), "p", SRC, overridden());
    let o = run(&["verify", dir.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("AP0501"), "{err}");
    assert!(err.contains("a/fs/docs never takes effect"), "{err}");
    assert!(err.contains("verify warnings"), "{err}");
    // The same through --naive.
    let n = run(&["verify", "--naive", dir.to_str().unwrap()]);
    assert!(text(&n).1.contains("a/fs/docs never takes effect"));
}

#[test]
fn verify_json_and_sarif() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = build_dir(tmp.path(), "p", SRC, overridden());
    let o = run(&["verify", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "AP0501");
    assert_eq!(v["verifier"]["status"], "warnings");
    assert_eq!(v["verifier"]["findings"][0]["kind"], "overridden");
    assert_eq!(
        v["verifier"]["findings"][0]["witness"]["path"],
        "/work/docs"
    );
    let s = run(&["verify", "--format", "sarif", dir.to_str().unwrap()]);
    let log: serde_sarif::sarif::Sarif = serde_json::from_slice(&s.stdout).unwrap();
    let results = log.runs[0].results.as_ref().unwrap();
    assert_eq!(results[0].rule_id.as_deref(), Some("AP0501"));
    // The covering rule is a related location.
    assert_eq!(
        results[0].related_locations.as_ref().map(|r| r.len()),
        Some(1)
    );
}

#[test]
fn verify_exits_1_on_errors_and_3_on_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    // A skill reading what its agent does not grant: an error.
    let esc = policy(
        vec![agent(
            "a",
            vec![rule(
                "a/fs/1",
                Effect::Allow,
                Action::Read,
                fs(&["/w/**"]),
                2,
            )],
            vec![skill(
                "s",
                vec![rule(
                    "a.s/fs/1",
                    Effect::Allow,
                    Action::Read,
                    fs(&["/etc/*"]),
                    3,
                )],
            )],
        )],
        vec![],
        vec![],
    );
    let dir = build_dir(
        tmp.path(),
        "esc",
        "agent a {\n  fs { allow read \"/w/**\" }\n  skill s { fs { allow read \"/etc/*\" } }\n}\n",
        esc,
    );
    let o = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o).1);
    assert!(text(&o).1.contains("AP0505"));
    // A construct the verifier does not model: undecided, exit 3, never "clean".
    let unk = policy(
        vec![agent(
            "a",
            vec![rule(
                "a/tool/1",
                Effect::Allow,
                Action::Call,
                Matcher::Tool {
                    tool: Some("f".into()),
                    conditions: vec![Atom {
                        negated: false,
                        test: Test::Eq {
                            lhs: Operand {
                                arg: "u".into(),
                                field: None,
                            },
                            rhs: Scalar::Lit(Value::Str("x".into())),
                        },
                    }],
                },
                2,
            )],
            vec![],
        )],
        vec![tool("f", &[("u", ArgType::Url)])],
        vec![],
    );
    let dir = build_dir(
        tmp.path(),
        "unk",
        "agent a {\n  tool f { allow when u == \"x\" }\n}\n",
        unk,
    );
    let o = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o).1);
    assert!(text(&o).1.contains("AP0510"));
}

#[test]
fn diff_widening_fails_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let old = build_dir(tmp.path(), "old", SRC, overridden());
    let mut p = overridden();
    p.agents[0].rules.remove(0);
    let new_src = "agent a {\n  fs {\n\n    allow read \"/work/docs/**\"\n  }\n}\n";
    let new = build_dir(tmp.path(), "new", new_src, p);
    let o = run(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("AP0512"), "{err}");
    assert!(err.contains("1 widening(s), 0 narrowing(s)"), "{err}");
    let f = run(&[
        "diff",
        "--fail-on-widen",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(f.status.code(), Some(1));
    let j = run(&[
        "diff",
        "--format",
        "json",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["diff"]["widened"], 1);
    assert_eq!(v["diff"]["changes"][0]["old"], "deny");
    assert_eq!(v["diff"]["changes"][0]["new"], "allow");
    assert_eq!(v["diff"]["changes"][0]["witness"]["path"], "/work/docs");
    // The reverse narrows, and its diagnostic points into the old (here: first) policy's file.
    let r = run(&[
        "diff",
        "--format",
        "json",
        new.to_str().unwrap(),
        old.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["diff"]["narrowed"], 1);
    let file = v["diagnostics"][0]["location"]["file"].as_str().unwrap();
    assert!(file.ends_with("new.agentpol (old)"), "{file}");
    // Identical policies: nothing.
    let same = run(&["diff", old.to_str().unwrap(), old.to_str().unwrap()]);
    assert!(text(&same).1.contains("0 widening(s), 0 narrowing(s)"));
}

#[test]
fn explain_knows_the_verifier_codes() {
    let o = run(&["explain", "AP0501"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("overridden-rule"));
}

/// Issue 10.8: a file tool allowed on `~/.ssh` while `secrets::deny_all`
/// denies reading it in fs. `verify` used to be clean on such a policy.
#[test]
fn a_tool_reading_what_fs_denies_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let leaky_text = "import std::secrets\n\
        tool read_file(path: path)\n\
        agent claw {\n\
          home \"/home/claw\"\n\
          include secrets::deny_all\n\
          fs { allow read \"~/**\" }\n\
          tool read_file { allow when path in { \"/home/claw/.ssh/**\" } }\n\
        }\n";
    let leaky = dir.path().join("leaky.agentpol");
    std::fs::write(&leaky, leaky_text).unwrap();
    let o = run(&["verify", leaky.to_str().unwrap()]);
    let out = text_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("AP0514"), "{out}");
    assert!(out.contains("/home/claw/.ssh"), "{out}");
    // The std set of credential files closes it.
    let fixed = dir.path().join("fixed.agentpol");
    std::fs::write(
        &fixed,
        leaky_text.replace("} }\n}", "}\n deny when path in secrets::files }\n}"),
    )
    .unwrap();
    let o = run(&["verify", fixed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text_of(&o));
    // The OpenClaw example with the same rule added: std::openclaw's file
    // tools deny `secrets::files`, so there is no AP0514 and the key itself
    // stays denied; but the rest of ~/.ssh (known_hosts, authorized_keys) is
    // readable through the tool, and the example's `assert never * read
    // "/home/claw/.ssh/**"` reports it (AP0508), where the `fs read` form
    // it had before was proved.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/openclaw/openclaw.agentpol")).unwrap();
    let added = text.replacen(
        "agent assistant {\n",
        "agent assistant {\n  tool read_file { allow when path in { \"/home/claw/.ssh/**\" } }\n",
        1,
    );
    assert_ne!(added, text);
    let ex = dir.path().join("openclaw.agentpol");
    std::fs::write(&ex, added).unwrap();
    let o = run(&["verify", "--format", "json", ex.to_str().unwrap()]);
    let out = text_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("AP0508") && !out.contains("AP0514"), "{out}");
    assert!(out.contains("tool `read_file`"), "{out}");
    let authorize = |file: &str| {
        let req = dir.path().join("req.json");
        std::fs::write(
            &req,
            format!(
                r#"{{"agent":"assistant","kind":"tool","tool":"read_file","args":{{"path":"/home/claw/.ssh/{file}"}},"params":{{"std::openclaw::contacts":[]}}}}"#
            ),
        )
        .unwrap();
        let o = run(&[
            "authorize",
            "--policy",
            ex.to_str().unwrap(),
            "--request",
            req.to_str().unwrap(),
            "--engine",
            "eval",
        ]);
        text_of(&o)
    };
    assert!(authorize("id_ed25519").starts_with("deny"));
    assert!(authorize("known_hosts").starts_with("allow"));
}

/// Issue 10.8: `assert never * read` (no `fs`) covers the tools' path
/// arguments; `assert never * fs read` stays about fs requests.
#[test]
fn the_read_assertion_covers_tools() {
    let dir = tempfile::tempdir().unwrap();
    let verify_text = |name: &str, text: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        // JSON: messages unwrapped.
        let o = run(&["verify", "--format", "json", f.to_str().unwrap()]);
        (o.status.code(), text_of(&o))
    };
    let repro = "tool read_file(path: path)\n\
        agent claw {\n\
          home \"/home/claw\"\n\
          fs { deny read \"/home/claw/.ssh/**\" }\n\
          tool read_file { allow when path in { \"/home/claw/.ssh/**\" } }\n\
        }\n\
        assert never * read \"/home/claw/.ssh/**\"\n";
    let (code, out) = verify_text("repro.agentpol", repro);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("AP0508"), "{out}");
    assert!(
        out.contains("tool `read_file` whose path argument `path`"),
        "{out}"
    );
    assert!(
        out.contains(r#""witness":{"agent":"claw","kind":"tool""#),
        "{out}"
    );
    let fixed = repro.replace(
        "allow when path in { \"/home/claw/.ssh/**\" } }",
        "allow when path in { \"/home/claw/**\" }\n deny when path in { \"/home/claw/.ssh/**\" } }",
    );
    assert_ne!(fixed, repro);
    let (code, out) = verify_text("fixed.agentpol", &fixed);
    assert_eq!(code, Some(0), "{out}");
    // Without an explicit fs deny there is no AP0514 to catch the tool: the
    // `fs read` form is proved (exit 0), the `read` form is not.
    let quiet = "tool read_file(path: path)\n\
        agent claw {\n\
          home \"/home/claw\"\n\
          fs { allow read \"/home/claw/docs/**\" }\n\
          tool read_file { allow when path in { \"/home/claw/**\" } }\n\
        }\n\
        assert never * fs read \"/home/claw/.ssh/**\"\n";
    let (code, out) = verify_text("fs_only.agentpol", quiet);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = verify_text(
        "cross.agentpol",
        &quiet.replace("never * fs read", "never * read"),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("AP0508") && !out.contains("AP0514"), "{out}");
}

fn text_of(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
