//! `agentpolc gate` with real MCP software: the official Python SDK's client
//! (tests/mcp/agent.py) drives the gate in front of a server written with the
//! Python SDK (tests/mcp/mail_server.py) and in front of the reference
//! `@modelcontextprotocol/server-filesystem` from npm.
//!
//! Opt-in: `AGENTPOL_MCP_TESTS=1` (CI sets it after installing the SDKs:
//! `python3 -m venv target/mcp-venv && target/mcp-venv/bin/pip install -r
//! tests/mcp/requirements.txt`, `npm ci --prefix tests/mcp`). Asked for, a
//! missing SDK fails the test; not asked for, the test says why it skipped.
//! `AGENTPOL_MCP_PYTHON` overrides the Python with `mcp` installed.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with the MCP SDK, or None (with the reason printed) when the
/// tests were not asked for.
fn python() -> Option<PathBuf> {
    if std::env::var("AGENTPOL_MCP_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set AGENTPOL_MCP_TESTS=1 (and install tests/mcp's SDKs) to run the gate against real MCP software");
        return None;
    }
    let py = std::env::var_os("AGENTPOL_MCP_PYTHON")
        .map_or_else(|| root().join("target/mcp-venv/bin/python"), PathBuf::from);
    let ok = Command::new(&py)
        .args(["-c", "import mcp.client.stdio, mcp.server.fastmcp"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "AGENTPOL_MCP_TESTS=1 but {} cannot import the MCP SDK (mcp 1.x)",
        py.display()
    );
    Some(py)
}

fn agentpolc() -> &'static str {
    env!("CARGO_BIN_EXE_agentpolc")
}

fn run_agent(py: &Path, args: &[&str], gate: &[String], env: &[(&str, &Path)]) -> Value {
    let mut cmd = Command::new(py);
    cmd.arg(root().join("tests/mcp/agent.py"))
        .args(args)
        .arg("--")
        .args(gate);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run agent.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "agent.py failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn decisions(path: &Path) -> Vec<Value> {
    log_lines(path)
        .into_iter()
        .filter(|l| l["event"] == "decision")
        .collect()
}

fn mail_gate(py: &Path, dir: &Path, log: &Path) -> Vec<String> {
    let params = dir.join("params.json");
    std::fs::write(&params, r#"{"contacts": ["alice@example.com"]}"#).unwrap();
    vec![
        agentpolc().into(),
        "gate".into(),
        "--policy".into(),
        root().join("tests/mcp/mail.agentpol").display().to_string(),
        "--agent".into(),
        "assistant".into(),
        "--params".into(),
        params.display().to_string(),
        "--log".into(),
        log.display().to_string(),
        "--".into(),
        py.display().to_string(),
        root()
            .join("tests/mcp/mail_server.py")
            .display()
            .to_string(),
    ]
}

#[test]
fn an_injected_instruction_to_mail_a_secret_is_denied_and_logged() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let sent = dir.path().join("sent.jsonl");
    let gate = mail_gate(&py, dir.path(), &log);
    let out = run_agent(&py, &["attack"], &gate, &[("MAIL_SENT_LOG", &sent)]);

    assert_eq!(
        out["tools"],
        serde_json::json!(["read_email", "send_email"]),
        "denied-only tools are hidden"
    );
    assert_eq!(out["read"]["error"], false);
    assert_eq!(out["send"]["to"], "audit-desk@evil.example");
    assert_eq!(out["send"]["error"], true, "{out}");
    assert!(
        out["send"]["text"]
            .as_str()
            .unwrap()
            .contains("agentpol gate"),
        "{out}"
    );
    assert!(
        out["resource"].as_str().unwrap().starts_with("error"),
        "resources/read is denied: {out}"
    );
    assert!(!sent.exists(), "nothing reached the server's send_email");

    let d = decisions(&log);
    let send = d
        .iter()
        .find(|l| l["tool"] == "send_email")
        .expect("a send decision");
    assert_eq!(send["decision"], "deny");
    assert_eq!(send["forwarded"], false);
    assert_eq!(send["taint"][0]["arg"], "to");
    assert_eq!(send["taint"][0]["tool"], "read_email");
    let res = d
        .iter()
        .find(|l| l["method"] == "resources/read")
        .expect("a resources/read decision");
    assert_eq!(res["tool"], "mcp_resources_read");
    assert_eq!(res["decision"], "deny");
}

#[test]
fn the_same_script_with_a_legitimate_recipient_passes() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let sent = dir.path().join("sent.jsonl");
    let gate = mail_gate(&py, dir.path(), &log);
    let out = run_agent(&py, &["benign"], &gate, &[("MAIL_SENT_LOG", &sent)]);
    assert_eq!(out["send"]["error"], false, "{out}");
    let sent = std::fs::read_to_string(&sent).unwrap();
    assert!(sent.contains("alice@example.com"), "{sent}");
    let d = decisions(&log);
    let send = d.iter().find(|l| l["tool"] == "send_email").unwrap();
    assert_eq!(send["decision"], "allow");
    assert_eq!(send["params_version"], 1);
}

#[test]
fn the_reference_filesystem_server_behind_the_gate() {
    let Some(py) = python() else { return };
    let server =
        root().join("tests/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    assert!(
        server.exists(),
        "AGENTPOL_MCP_TESTS=1 but {} is missing: run `npm ci --prefix tests/mcp`",
        server.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let work = std::fs::canonicalize(dir.path()).unwrap();
    for f in ["notes.txt", "a.txt", "c.txt"] {
        std::fs::write(work.join(f), format!("content of {f}")).unwrap();
    }
    let log = work.join("decisions.jsonl");
    // The approver approves the move of a.txt and refuses every other.
    let approver = "cmd:grep -q '\"source\":\"[^\"]*/a.txt\"'";
    let gate: Vec<String> = vec![
        agentpolc().into(),
        "gate".into(),
        "--policy".into(),
        root().join("tests/mcp/mail.agentpol").display().to_string(),
        "--agent".into(),
        "assistant".into(),
        "--approve".into(),
        approver.into(),
        "--log".into(),
        log.display().to_string(),
        "--".into(),
        "node".into(),
        server.display().to_string(),
        work.display().to_string(),
    ];
    let root_arg = work.display().to_string();
    let out = run_agent(&py, &["fs", &root_arg], &gate, &[]);
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"read_text_file") && tools.contains(&"move_file"),
        "{tools:?}"
    );
    assert!(
        !tools.contains(&"write_file"),
        "write_file is only ever denied: hidden ({tools:?})"
    );
    assert!(
        !tools.contains(&"directory_tree"),
        "undeclared tools are hidden ({tools:?})"
    );
    assert_eq!(out["read"]["error"], false, "{out}");
    assert!(out["read"]["text"]
        .as_str()
        .unwrap()
        .contains("content of notes.txt"));
    assert_eq!(out["write"]["error"], true);
    assert_eq!(
        std::fs::read_to_string(work.join("notes.txt")).unwrap(),
        "content of notes.txt"
    );
    assert_eq!(out["move_approved"]["error"], false, "{out}");
    assert!(work.join("b.txt").exists());
    assert_eq!(out["move_refused"]["error"], true, "{out}");
    assert!(work.join("c.txt").exists() && !work.join("d.txt").exists());

    let approvals: Vec<Value> = decisions(&log)
        .into_iter()
        .filter(|l| l["tool"] == "move_file")
        .map(|l| l["approver"].clone())
        .collect();
    assert_eq!(
        approvals,
        [serde_json::json!("approved"), serde_json::json!("refused")]
    );
}
