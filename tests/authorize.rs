//! `agentpolc authorize` against the real binary, on a build directory
//! assembled from a hand-built IR (the checker is not needed).

use agentpol_core::ir::*;
use agentpol_testkit::build_dir::{self, Target};
use agentpol_testkit::policy_gen::*;
use std::path::Path;
use std::process::{Command, Stdio};

fn fixture() -> Policy {
    let mut b = PolicyBuilder::new("openclaw.agentpol");
    b.param("contacts", ParamType::SetString);
    b.agent("openclaw");
    b.skill("openclaw", "pdf");
    b.tool(
        "send_email",
        &[("to", ArgType::String), ("body", ArgType::String)],
    );
    let oc = Who::Agent("openclaw");
    b.rule(
        oc,
        Effect::Allow,
        Action::Read,
        fs(&["/home/agent/work/**"]),
    );
    b.rule(oc, Effect::Deny, Action::Read, fs(&["/home/agent/.ssh/**"]));
    let contacts = Test::In {
        lhs: arg("to"),
        set: SetOperand::Param("contacts".into()),
    };
    b.rule(
        oc,
        Effect::Allow,
        Action::Call,
        tool("send_email", vec![atom(false, contacts.clone())]),
    );
    b.rule(
        oc,
        Effect::Ask,
        Action::Call,
        tool("send_email", vec![atom(true, contacts)]),
    );
    b.rule(
        Who::Skill("openclaw", "pdf"),
        Effect::Allow,
        Action::Read,
        fs(&["/home/agent/work/docs/**"]),
    );
    b.build()
}

/// Writes what `agentpolc build --target cedar -o DIR` writes.
fn build_dir(dir: &Path, with_cedar: bool) {
    let policy = fixture();
    let mut targets = Vec::new();
    if with_cedar {
        let out = agentpol_cedar::emit(&policy);
        targets.push(Target {
            name: "cedar".into(),
            files: out
                .artifacts
                .iter()
                .map(|a| (a.path.clone(), a.contents.clone()))
                .collect(),
            loss: serde_json::to_value(&out.loss).unwrap(),
        });
    }
    build_dir::write(dir, &policy, &targets);
}

fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    run_bytes(args, stdin.map(str::as_bytes))
}

fn run_bytes(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agentpolc"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SEND_OK: &str = r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a@x","body":"hi"},"params":{"contacts":["a@x"]}}"#;
const SEND_ASK: &str = r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"b@x","body":"hi"},"params":{"contacts":["a@x"]}}"#;
const SSH: &str = r#"{"agent":"openclaw","skill":"pdf","kind":"fs","action":"read","path":"/home/agent/.ssh/id"}"#;
const BAD: &str = r#"{"agent":"openclaw","kind":"tool","tool":"send_email","args":{"to":"a@x"},"params":{"contacts":[]}}"#;

#[test]
fn every_engine_decides_and_exit_codes_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    build_dir(&dir, true);
    let req = tmp.path().join("req.json");
    let d = dir.to_str().unwrap();
    let r = req.to_str().unwrap();
    for engine in ["cedar", "index", "eval"] {
        std::fs::write(&req, SEND_OK).unwrap();
        let (code, out, err) = run(
            &[
                "authorize",
                "--policy",
                d,
                "--request",
                r,
                "--engine",
                engine,
            ],
            None,
        );
        assert_eq!(code, 0, "{engine}: {out}{err}");
        assert!(out.starts_with("allow\n"), "{engine}: {out}");
        assert!(out.contains(&format!("engine {engine}")), "{out}");

        std::fs::write(&req, SEND_ASK).unwrap();
        let (code, out, _) = run(
            &[
                "authorize",
                "--policy",
                d,
                "--request",
                r,
                "--engine",
                engine,
            ],
            None,
        );
        assert_eq!((code, out.lines().next()), (0, Some("ask")), "{engine}");
        let (code, _, _) = run(
            &[
                "authorize",
                "--policy",
                d,
                "--request",
                r,
                "--engine",
                engine,
                "--fail-on-deny",
            ],
            None,
        );
        assert_eq!(code, 1, "{engine}: ask fails with --fail-on-deny");

        std::fs::write(&req, SSH).unwrap();
        let (code, out, _) = run(
            &[
                "authorize",
                "--policy",
                d,
                "--request",
                r,
                "--engine",
                engine,
                "--format",
                "json",
            ],
            None,
        );
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["effect"], "deny", "{engine}: {v}");
        assert_eq!(v["engine"], engine);
        assert_eq!(v["deciding"][0]["id"], "openclaw/fs/r6", "{v}");

        std::fs::write(&req, BAD).unwrap();
        let (code, out, err) = run(
            &[
                "authorize",
                "--policy",
                d,
                "--request",
                r,
                "--engine",
                engine,
            ],
            None,
        );
        assert_eq!(code, 2, "{engine}: a malformed request is bad input");
        assert!(out.starts_with("deny\n"), "{out}");
        assert!(err.contains("AP0805"), "{err}");
    }
}

#[test]
fn stdin_batches_decide_every_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    build_dir(&dir, true);
    let input = format!("{SEND_OK}\n{SEND_ASK}\n\n{BAD}\n{SSH}\nnot json\n");
    let (code, out, _) = run(
        &[
            "authorize",
            "--policy",
            dir.to_str().unwrap(),
            "--stdin",
            "--format",
            "json",
        ],
        Some(&input),
    );
    assert_eq!(code, 2, "a bad line makes the batch exit 2");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let effects: Vec<&str> = lines
        .iter()
        .map(|v| v["effect"].as_str().unwrap())
        .collect();
    assert_eq!(effects, ["allow", "ask", "deny", "deny", "deny"]);
    assert_eq!(lines[2]["error"]["code"], "AP0805");
    assert_eq!(lines[4]["error"]["code"], "AP0801");
    assert_eq!(lines[1]["input"], "<stdin>:2");

    let good = format!("{SEND_OK}\n{SEND_OK}\n");
    let (code, out, _) = run(
        &["authorize", "--policy", dir.to_str().unwrap(), "--stdin"],
        Some(&good),
    );
    assert_eq!(
        (code, out.matches("allow").count() >= 2),
        (0, true),
        "{out}"
    );
    let mixed = format!("{SEND_OK}\n{SSH}\n");
    let (code, _, _) = run(
        &[
            "authorize",
            "--policy",
            dir.to_str().unwrap(),
            "--stdin",
            "--fail-on-deny",
        ],
        Some(&mixed),
    );
    assert_eq!(code, 1);
}

/// Regression: a line that is not UTF-8 used to end the batch (later lines got
/// no decision); an over-long line must be refused without being kept.
#[test]
fn stdin_bad_bytes_and_huge_lines_are_denied_and_the_batch_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    build_dir(&dir, true);
    let mut input = Vec::new();
    input.extend_from_slice(SEND_OK.as_bytes());
    input.extend_from_slice(b"\n{\"agent\":\"open\xffclaw\"}\n");
    input.extend_from_slice(format!("{SSH}\n").as_bytes());
    input.extend_from_slice(&vec![b' '; (1 << 20) + 10]);
    input.extend_from_slice(format!("\n{SEND_OK}\n").as_bytes());
    let (code, out, _) = run_bytes(
        &[
            "authorize",
            "--policy",
            dir.to_str().unwrap(),
            "--stdin",
            "--format",
            "json",
        ],
        Some(&input),
    );
    assert_eq!(code, 2, "bad lines make the batch exit 2: {out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let effects: Vec<&str> = lines
        .iter()
        .map(|v| v["effect"].as_str().unwrap())
        .collect();
    assert_eq!(effects, ["allow", "deny", "deny", "deny", "allow"], "{out}");
    assert_eq!(lines[1]["error"]["code"], "AP0801");
    assert_eq!(lines[1]["input"], "<stdin>:2");
    assert!(
        lines[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offset 14"),
        "{out}"
    );
    assert_eq!(lines[3]["error"]["code"], "AP0816");
    assert_eq!(lines[4]["input"], "<stdin>:5");
}

#[test]
fn bad_policy_inputs_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    build_dir(&dir, false);
    let req = tmp.path().join("req.json");
    std::fs::write(&req, SEND_OK).unwrap();
    let (d, r) = (dir.to_str().unwrap(), req.to_str().unwrap());
    let (code, _, err) = run(&["authorize", "--policy", d, "--request", r], None);
    assert_eq!(code, 2);
    assert!(err.contains("no cedar target"), "{err}");
    // The index does not need the Cedar files.
    let (code, out, _) = run(
        &[
            "authorize",
            "--policy",
            d,
            "--request",
            r,
            "--engine",
            "index",
        ],
        None,
    );
    assert_eq!((code, out.lines().next()), (0, Some("allow")));

    build_dir(&dir, true);
    let pol = dir.join("cedar/policies.cedar");
    let text = std::fs::read_to_string(&pol).unwrap();
    std::fs::write(&pol, text.replacen("@id(", "@nid(", 1)).unwrap();
    // An artefact edited after the build is refused before it is parsed.
    let (code, _, err) = run(&["authorize", "--policy", d, "--request", r], None);
    assert_eq!(code, 2);
    assert!(err.contains("AP0904"), "{err}");
    // Hashed as if built that way, the broken Cedar text is a parse error.
    build_dir::rehash(&dir);
    let (code, _, err) = run(&["authorize", "--policy", d, "--request", r], None);
    assert_eq!(code, 2);
    assert!(err.contains("AP0604"), "{err}");

    let (code, _, err) = run(
        &[
            "authorize",
            "--policy",
            tmp.path().join("nope").to_str().unwrap(),
            "--request",
            r,
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
}
