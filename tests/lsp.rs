//! Drives `agentpolc lsp` over stdio with real JSON-RPC framing, as an
//! editor does.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications seen while waiting for responses.
    notes: Vec<Value>,
}

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse::<usize>().ok();
        }
    }
    let mut buf = vec![0; len?];
    r.read_exact(&mut buf).ok()?;
    serde_json::from_slice(&buf).ok()
}

impl Client {
    fn start(extra: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentpolc"))
            .arg("lsp")
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(m) = read_message(&mut r) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
            notes: Vec::new(),
        }
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_string(&v).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        self.rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server answered within 60 s")
    }

    /// Sends a request and returns its whole response (result or error).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.recv();
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return m;
            }
            self.notes.push(m);
        }
    }

    fn result(&mut self, method: &str, params: Value) -> Value {
        let r = self.request(method, params);
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next publishDiagnostics for `uri` with document version `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let matches = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
        };
        if let Some(i) = self.notes.iter().position(matches) {
            let m = self.notes.remove(i);
            return m["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let m = self.recv();
            if matches(&m) {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.notes.push(m);
        }
    }

    fn initialize(&mut self) -> Value {
        let r = self.result(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        self.notify("initialized", json!({}));
        r
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "agentpol", "version": 1, "text": text}}),
        );
    }

    fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

const URI: &str = "file:///tmp/agentpol-lsp-test/main.agentpol";

const GOOD: &str = r#"version 1

import std::secrets

const REPO = "/home/dev/src"

profile base {
  include secrets::deny_all
}

agent coder {
  home "/home/dev"
  include base
  fs {
    allow read "${REPO}/**"
  }
}
"#;

fn pos(text: &str, needle: &str) -> Value {
    let off = text.find(needle).unwrap();
    let before = &text[..off];
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().unwrap().encode_utf16().count();
    json!({"line": line, "character": col})
}

fn doc_pos(text: &str, needle: &str) -> Value {
    json!({"textDocument": {"uri": URI}, "position": pos(text, needle)})
}

#[test]
fn session_over_stdio() {
    let mut c = Client::start(&["--no-verify"]);
    let init = c.initialize();
    assert_eq!(init["capabilities"]["definitionProvider"], true);

    // A misspelt profile: one error with the checker's code and a quick fix.
    let bad = GOOD.replace("include base", "include bsae");
    c.open(URI, &bad);
    let diags = c.diagnostics(URI, 1);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["severity"], 1);
    assert!(diags[0]["code"].as_str().unwrap().starts_with("AP"));
    assert_eq!(diags[0]["range"]["start"], pos(&bad, "bsae"));
    let actions = c.result(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": diags[0]["range"], "context": {"diagnostics": diags}}),
    );
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "base", "{actions}");
    assert_eq!(edit["range"], diags[0]["range"]);

    // Fixing it clears the diagnostics.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": GOOD}]}),
    );
    assert_eq!(c.diagnostics(URI, 2), Vec::<Value>::new());

    // Hover on a const use.
    let h = c.result("textDocument/hover", doc_pos(GOOD, "REPO}"));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains(r#"const REPO = "/home/dev/src""#), "{text}");
    assert!(text.contains("main.agentpol:5"), "{text}");

    // Definition into std: a read-only virtual document, whose text the
    // server hands out.
    let d = c.result("textDocument/definition", doc_pos(GOOD, "deny_all"));
    assert_eq!(d["uri"], "agentpol-std:/secrets.agentpol");
    let std_text = c.result(
        "agentpol/stdSource",
        json!({"uri": "agentpol-std:/secrets.agentpol"}),
    );
    let std_text = std_text.as_str().unwrap();
    // The name in `profile deny_all`, not the mention in a comment above it.
    let mut at = pos(std_text, "profile deny_all");
    at["character"] = json!(at["character"].as_u64().unwrap() + "profile ".len() as u64);
    assert_eq!(d["range"]["start"], at);

    // References of `base`: its definition and its use.
    let mut p = doc_pos(GOOD, "base {");
    p["context"] = json!({"includeDeclaration": true});
    let refs = c.result("textDocument/references", p);
    let starts: Vec<&Value> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["range"]["start"])
        .collect();
    assert_eq!(starts, [&pos(GOOD, "base {"), &pos(GOOD, "base\n")]);

    // Rename `REPO` to `ROOT`: both places; into std is refused.
    let mut p = doc_pos(GOOD, "REPO =");
    p["newName"] = json!("ROOT");
    let edit = c.result("textDocument/rename", p);
    let edits = edit["changes"][URI].as_array().unwrap();
    assert_eq!(edits.len(), 2);
    assert!(edits.iter().all(|e| e["newText"] == "ROOT"));
    let mut p = doc_pos(GOOD, "deny_all");
    p["newName"] = json!("x");
    let r = c.request("textDocument/rename", p);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("read-only"),
        "{r}"
    );
    let mut p = doc_pos(GOOD, "REPO =");
    p["newName"] = json!("agent");
    assert_eq!(c.request("textDocument/rename", p)["error"]["code"], -32602);

    // Completion after `secrets::` offers the module's profiles.
    let partial = GOOD.replace("include secrets::deny_all", "include secrets::");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": partial}]}),
    );
    let _ = c.diagnostics(URI, 3);
    let items = c.result("textDocument/completion", doc_pos(&partial, "\n}\n\nagent"));
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"deny_all"), "{labels:?}");

    // Formatting: the core formatter's output as one edit.
    let messy = GOOD.replace("const REPO = ", "const   REPO   =   ");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 4}, "contentChanges": [{"text": messy}]}),
    );
    let _ = c.diagnostics(URI, 4);
    let edits = c.result(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits[0]["newText"], GOOD);

    // Outline.
    let syms = c.result(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    let names: Vec<&str> = syms
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["std::secrets", "REPO", "base", "coder"]);

    // Semantic tokens, decoded back to (line, column, length, type) and
    // checked against the text: the first token is the keyword `version`.
    let toks = c.result(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": URI}}),
    );
    let data: Vec<u64> = toks["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(data.len() % 5, 0);
    let lines: Vec<&str> = messy.lines().collect();
    let (mut line, mut col) = (0u64, 0u64);
    let mut decoded = Vec::new();
    for t in data.chunks(5) {
        col = if t[0] == 0 { col + t[1] } else { t[1] };
        line += t[0];
        let text = &lines[line as usize][col as usize..(col + t[2]) as usize];
        decoded.push((text.to_owned(), t[3]));
    }
    assert_eq!(decoded[0], ("version".to_owned(), 0), "{decoded:?}");
    assert!(
        decoded.iter().any(|(t, ty)| t == "REPO" && *ty == 1),
        "{decoded:?}"
    );
    assert!(
        decoded.iter().any(|(t, ty)| t.starts_with('"') && *ty == 2),
        "{decoded:?}"
    );

    c.shutdown();
}

#[test]
fn bad_requests_get_errors_not_crashes() {
    let mut c = Client::start(&["--no-verify"]);
    // Before initialize: ServerNotInitialized.
    let r = c.request("textDocument/hover", doc_pos(GOOD, "REPO"));
    assert_eq!(r["error"]["code"], -32002, "{r}");
    c.initialize();
    // A document that is not open.
    let r = c.request("textDocument/hover", doc_pos(GOOD, "REPO"));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    c.open(URI, "agent a { fs { allow read \"😀\" } }\n");
    let _ = c.diagnostics(URI, 1);
    // Inside the surrogate pair of 😀, and past the last line.
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 28}}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inside a character"),
        "{r}"
    );
    let r = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": {"line": 50, "character": 0}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // Malformed params and a bad URI.
    let r = c.request("textDocument/hover", json!({"nope": 1}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = c.request("agentpol/stdSource", json!({"uri": "agentpol-std:/../etc"}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // Unknown method.
    assert_eq!(c.request("x/y", json!({}))["error"]["code"], -32601);
    // Half-typed input at every position never crashes the server.
    let half = "version 1\nagent a {\n  fs { allow read \"${X\n  tool t { allow when a.";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": half}]}),
    );
    assert!(!c.diagnostics(URI, 2).is_empty());
    for (line, l) in half.lines().enumerate() {
        for ch in 0..=l.len() {
            let p =
                json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": ch}});
            for m in [
                "textDocument/hover",
                "textDocument/completion",
                "textDocument/definition",
            ] {
                let r = c.request(m, p.clone());
                assert!(r.get("error").is_none(), "{m} {p}: {r}");
            }
        }
    }
    c.shutdown();
}

#[test]
fn verifier_findings_arrive_after_the_checker() {
    let mut c = Client::start(&["--debounce-ms", "50"]);
    c.initialize();
    let text = r#"version 1

agent a {
  fs {
    allow read "/data/**"
    allow read "/data/x/**"
  }
}
"#;
    c.open(URI, text);
    // First the checker's diagnostics (none), then the verifier's.
    assert_eq!(c.diagnostics(URI, 1), Vec::<Value>::new());
    let diags = loop {
        let m = c.recv();
        if m["method"] == "textDocument/publishDiagnostics" {
            break m["params"]["diagnostics"].as_array().unwrap().clone();
        }
    };
    assert!(!diags.is_empty());
    let redundant = diags
        .iter()
        .find(|d| d["range"]["start"] == pos(text, "allow read \"/data/x"))
        .unwrap_or_else(|| panic!("{diags:?}"));
    assert!(
        redundant["relatedInformation"][0]["location"]["range"]["start"]
            == pos(text, "allow read \"/data/**"),
        "{redundant}"
    );
    let actions = c.result(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": redundant["range"], "context": {"diagnostics": [redundant]}}),
    );
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "");
    assert_eq!(edit["range"]["start"], json!({"line": 5, "character": 0}));
    assert_eq!(edit["range"]["end"], json!({"line": 6, "character": 0}));
    c.shutdown();
}
