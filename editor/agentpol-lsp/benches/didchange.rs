//! `didChange` → published diagnostics on a 5,000-line file (parse + check
//! path; the verifier is off), through the real server loop over an
//! in-memory connection. Criterion reports the mean; the median and p99 of
//! all measured round trips are printed at the end.

use criterion::{criterion_group, criterion_main, Criterion};
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::json;
use std::time::{Duration, Instant};

/// About 5,000 lines: 500 agents of 10 lines, each using a const.
fn policy() -> String {
    let mut s = String::from("version 1\n\nconst ROOT = \"/data\"\n\n");
    for i in 0..500 {
        s.push_str(&format!(
            "agent a{i} {{\n  home \"/home/a{i}\"\n  fs {{\n    allow read \"${{ROOT}}/{i}/**\"\n    deny write \"${{ROOT}}/{i}/secret/**\"\n  }}\n  exec {{\n    allow \"/usr/bin/git\"\n  }}\n}}\n"
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let (server, client) = Connection::memory();
    let config = agentpol_lsp::Config {
        verify: false,
        ..Default::default()
    };
    let thread = std::thread::spawn(move || agentpol_lsp::serve(&server, config));
    let init = Request::new(
        RequestId::from(1),
        "initialize".into(),
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    client.sender.send(init.into()).unwrap();
    let _ = client.receiver.recv().unwrap();
    client
        .sender
        .send(Notification::new("initialized".into(), json!({})).into())
        .unwrap();
    let uri = "file:///bench/main.agentpol";
    let text = policy();
    assert!(text.lines().count() >= 5000);
    let open =
        json!({"textDocument": {"uri": uri, "languageId": "agentpol", "version": 0, "text": text}});
    client
        .sender
        .send(Notification::new("textDocument/didOpen".into(), open).into())
        .unwrap();
    let wait = |version: i64| loop {
        if let Ok(Message::Notification(n)) = client.receiver.recv() {
            if n.method == "textDocument/publishDiagnostics" && n.params["version"] == version {
                return n.params["diagnostics"].as_array().map(Vec::len);
            }
        }
    };
    assert_eq!(wait(0), Some(0));
    let mut version = 0i64;
    let mut samples: Vec<Duration> = Vec::new();
    c.bench_function("didChange_5000_lines_parse_check", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                // Alternate a planted error and its fix, as typing does.
                let t = if version % 2 == 1 {
                    text.replacen("${ROOT}/7/", "${ROOTT}/7/", 1)
                } else {
                    text.clone()
                };
                let change = json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": t}]});
                let start = Instant::now();
                client
                    .sender
                    .send(Notification::new("textDocument/didChange".into(), change).into())
                    .unwrap();
                let n = wait(version);
                let d = start.elapsed();
                assert_eq!(n, Some((version % 2) as usize));
                samples.push(d);
                total += d;
            }
            total
        })
    });
    samples.sort();
    if !samples.is_empty() {
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        println!(
            "didChange → diagnostics, 5,000 lines: {} samples, median {:?}, p99 {:?}",
            samples.len(),
            at(0.5),
            at(0.99)
        );
    }
    client
        .sender
        .send(Request::new(RequestId::from(2), "shutdown".into(), json!(null)).into())
        .unwrap();
    client
        .sender
        .send(Notification::new("exit".into(), json!(null)).into())
        .unwrap();
    drop(client);
    let _ = thread.join();
}

criterion_group!(benches, bench);
criterion_main!(benches);
