//! The `agentpolc` binary as a user meets it: exit codes, output formats and
//! the files `build` writes. Each test runs the real binary in a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn agentpolc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run agentpolc")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p.to_string_lossy().into_owned()
}

const OPENCLAW: &str = "examples/openclaw/openclaw.agentpol";

const BROKEN: &str = r#"
agent a {
  home "/home/a"
  fs { allow read "~/work/**" }
  tool nope { allow }
  net { allow connect tcp 10.0.0.1/8 port 443 }
}
"#;

#[test]
fn check_accepts_the_examples_and_rejects_errors_with_exit_1() {
    let ok = agentpolc(&["check", OPENCLAW]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    assert!(stderr(&ok).contains("check ok"), "{}", stderr(&ok));

    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.agentpol", BROKEN);
    let o = agentpolc(&["check", &bad]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    // An unknown tool and a CIDR with host bits set, each with its code and help.
    assert!(err.contains("AP0"), "{err}");
    assert!(err.contains("10.0.0.1/8"), "{err}");
    assert!(err.contains("help"), "{err}");
}

#[test]
fn missing_files_and_bad_usage_exit_2() {
    let o = agentpolc(&["check", "no/such/file.agentpol"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
    assert_eq!(code(&agentpolc(&["check"])), 2);
    assert_eq!(code(&agentpolc(&["frobnicate"])), 2);
    let o = agentpolc(&["build", OPENCLAW, "--target", "nosuch"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown target"), "{}", stderr(&o));
}

#[test]
fn json_and_sarif_diagnostics_are_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.agentpol", BROKEN);

    let o = agentpolc(&["check", &bad, "--format", "json"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let diags = v["diagnostics"].as_array().expect("array");
    assert!(v["errors"].as_u64().unwrap() >= 2, "{v}");
    for d in diags {
        assert!(d["code"].as_str().unwrap().starts_with("AP"), "{d}");
        assert!(!d["help"].as_str().unwrap().is_empty(), "{d}");
        assert!(d["location"]["line"].as_u64().unwrap() >= 2, "{d}");
        assert!(d["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("bad.agentpol"));
    }

    let o = agentpolc(&["check", &bad, "--format", "sarif"]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    let log: serde_sarif::sarif::Sarif = serde_json::from_str(&text).expect("valid SARIF 2.1.0");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), diags.len());
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 2
        );
    }
    drop(log);
}

#[test]
fn build_writes_manifest_and_ir_that_reload() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = agentpolc(&["build", OPENCLAW, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("agent      assistant"),
        "{}",
        stdout(&o)
    );

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["manifest_version"], 2);
    assert_eq!(manifest["source"]["root"], OPENCLAW);
    let files = manifest["source"]["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["name"] == "std/openclaw.agentpol"));
    assert_eq!(manifest["tests"]["failed"], 0);
    let ir_text = std::fs::read_to_string(out.join(manifest["ir"].as_str().unwrap())).unwrap();
    let ir: agentpol_core::ir::Policy = serde_json::from_str(&ir_text).expect("IR reloads");
    assert_eq!(ir.ir_version, agentpol_core::ir::IR_VERSION);
    assert_eq!(ir.agents[0].name, "assistant");

    // --emit ir prints the same IR.
    let o = agentpolc(&["build", OPENCLAW, "--emit", "ir"]);
    assert_eq!(code(&o), 0);
    let printed: agentpol_core::ir::Policy = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(printed, ir);
}

#[test]
fn build_all_targets_reports_each_finding_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = agentpolc(&[
        "build",
        OPENCLAW,
        "--target",
        "all",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    // std::net's metadata deny names hosts: load-time sets at both firewall
    // targets (ipset sets for iptables), so no deny is widened (issue 11.2).
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let diags = report["diagnostics"].as_array().unwrap();
    assert!(
        !diags
            .iter()
            .any(|d| d["code"] == "AP0708" || d["code"] == "AP0704"),
        "{diags:#?}"
    );
    let mut keys: Vec<String> = diags
        .iter()
        .map(|d| format!("{} {} {}", d["code"], d["message"], d["location"]))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate diagnostics: {diags:#?}");

    let o = agentpolc(&[
        "build",
        OPENCLAW,
        "--target",
        "ir,cedar,nft",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    for t in ["ir", "cedar", "nft"] {
        assert!(out.join(t).is_dir(), "no {t} output");
    }
}

/// Issue 11.2: the built nft file means what the source means. std::net's
/// metadata set holds host names; they become load-time sets, not a deny of
/// all TCP, and the file refuses to load until `apply` fills them.
#[test]
fn openclaw_nft_file_denies_no_more_than_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = agentpolc(&[
        "build",
        OPENCLAW,
        "--target",
        "nft",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let script = std::fs::read_to_string(out.join("nft/agentpol.nft")).unwrap();
    let mut chain = String::new();
    for line in script.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix("chain ") {
            chain = c.trim_end_matches('{').trim().to_string();
            continue;
        }
        // A rule that matches only the protocol and refuses: every packet of
        // that protocol. Only the chains' final default deny may do that.
        let unconditional = t.starts_with("meta l4proto")
            && !t.contains("goto")
            && (t.contains(" reject") || t.contains(" drop"));
        assert!(!unconditional, "chain {chain}: {t}\n{script}");
    }
    for name in ["metadata.google.internal", "metadata.azure.com"] {
        assert!(
            script.contains(&format!(
                "load-time set: `agentpolc apply` adds the addresses of {name}"
            )) || script.contains(&format!("addresses of metadata.google.internal, {name}")),
            "{name}\n{script}"
        );
    }
    // Each deny's load-time set names a variable only `apply` (or `nft -D`) defines.
    assert!(script.contains("$agentpol_fill_assistant_"), "{script}");
    // The resolvers' DNS is allowed.
    assert!(
        script.contains("comment \"assistant/net/dns-resolvers.1\""),
        "{script}"
    );
}

/// Issue 11.2 regression: `build --target all` succeeds for every bundled
/// example (each includes `std::net::no_internal`, whose deny names hosts;
/// the iptables target refused them with AP0708 before it had ipset sets),
/// and the manifest lists and hashes the iptables target's ipset files.
#[test]
fn issue_11_every_example_builds_with_target_all() {
    let mut examples: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(repo().join("examples")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "agentpol") {
                examples.push(p);
            }
        }
    }
    examples.sort();
    assert_eq!(examples.len(), 3, "{examples:?}");
    for ex in &examples {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let o = agentpolc(&[
            "build",
            ex.to_str().unwrap(),
            "--target",
            "all",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            code(&o),
            0,
            "{}: {}{}",
            ex.display(),
            stdout(&o),
            stderr(&o)
        );
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        for file in ["iptables/agentpol.ipset", "iptables/remove.ipset"] {
            let listed = manifest["artifacts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["path"] == file)
                .unwrap_or_else(|| panic!("{}: {file} not in the manifest", ex.display()));
            let bytes = std::fs::read(out.join(file)).unwrap();
            assert_eq!(listed["bytes"], bytes.len(), "{file}");
            assert_eq!(listed["sha256"].as_str().unwrap().len(), 64, "{file}");
        }
        let ipt = manifest["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "iptables")
            .expect("iptables target");
        assert!(
            ipt["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "agentpol.ipset"),
            "{ipt:#?}"
        );
    }
}

/// The iptables target's files for the OpenClaw example (the rules that
/// match sets, and the ipset file), as snapshots: std::net's metadata deny
/// becomes a deny set the built ipset file does not create, the mail allow
/// an empty allow set.
#[test]
fn openclaw_iptables_and_ipset_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = agentpolc(&[
        "build",
        OPENCLAW,
        "--target",
        "iptables",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let read = |f: &str| std::fs::read_to_string(out.join("iptables").join(f)).unwrap();
    let v4 = read("agentpol.v4.rules");
    // No deny matches only the protocol: the metadata deny is not widened.
    for line in v4.lines().filter(|l| l.contains("REJECT")) {
        assert!(
            line.contains("default deny")
                || line.contains(" -d ")
                || line.contains("--match-set")
                || line.contains("--dst-range"),
            "{line}"
        );
    }
    insta::assert_snapshot!("openclaw_iptables_v4", v4);
    insta::assert_snapshot!("openclaw_iptables_v6", read("agentpol.v6.rules"));
    insta::assert_snapshot!("openclaw_ipset", read("agentpol.ipset"));
    insta::assert_snapshot!("openclaw_remove_ipset", read("remove.ipset"));
}

#[test]
fn eval_decides_and_fails_closed_on_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let req = write(
        dir.path(),
        "r.json",
        r#"{"agent": "assistant", "kind": "fs", "action": "read", "path": "/home/claw/.ssh/id_ed25519"}"#,
    );
    let o = agentpolc(&["eval", OPENCLAW, "--request", &req, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(d["effect"], "deny");
    assert!(d["deciding"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("assistant/fs/"));

    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"agent": "assistant", "kind": "tool", "tool": "send_email", "args": {"to": 5}}"#,
    );
    let o = agentpolc(&["eval", OPENCLAW, "--request", &bad, "--format", "json"]);
    assert_eq!(code(&o), 2);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["effect"], "deny");
    assert!(v["diagnostics"][0]["code"]
        .as_str()
        .unwrap()
        .starts_with("AP08"));

    let garbage = write(dir.path(), "g.json", "{ not json");
    let o = agentpolc(&["eval", OPENCLAW, "--request", &garbage]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("AP0801"), "{}", stderr(&o));
}

#[test]
fn test_command_reports_failures_with_exit_1() {
    let o = agentpolc(&["test", OPENCLAW]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("36 of 36"), "{}", stdout(&o));

    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "t.agentpol",
        "agent a {\n  home \"/home/a\"\n  fs { allow read \"~/**\" }\n}\ntest \"wrong\" {\n  expect deny a fs read \"/home/a/x\"\n}\n",
    );
    let o = agentpolc(&["test", &f]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("FAIL"), "{}", stdout(&o));
    assert!(stderr(&o).contains("AP0850"), "{}", stderr(&o));
}

#[test]
fn fmt_check_and_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "f.agentpol",
        "agent a {home \"/home/a\"   # the home\n fs {allow read \"~/**\"}}\n",
    );
    assert_eq!(code(&agentpolc(&["fmt", "--check", &f])), 1);
    assert_eq!(code(&agentpolc(&["fmt", &f])), 0);
    let formatted = std::fs::read_to_string(&f).unwrap();
    assert!(formatted.contains("# the home"), "{formatted}");
    assert_eq!(code(&agentpolc(&["fmt", "--check", &f])), 0);
    for example in [
        OPENCLAW,
        "examples/coding-agent/coding-agent.agentpol",
        "examples/third-party-skill/travel-assistant.agentpol",
    ] {
        let o = agentpolc(&["fmt", "--check", example]);
        assert_eq!(code(&o), 0, "{example} is not formatted: {}", stderr(&o));
    }
}

#[test]
fn explain_prints_codes_and_rejects_unknown_ones() {
    let o = agentpolc(&["explain", "AP0101"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).starts_with("AP0101"), "{}", stdout(&o));
    let o = agentpolc(&["explain", "ap0101"]);
    assert_eq!(code(&o), 0);
    assert_eq!(code(&agentpolc(&["explain", "AP9999"])), 2);
}

#[test]
fn diagnostics_reference_matches_the_registry() {
    let o = agentpolc(&["explain", "--list", "--markdown"]);
    assert_eq!(code(&o), 0);
    let path = repo().join("lang-spec/diagnostics.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, stdout(&o)).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == stdout(&o),
        "lang-spec/diagnostics.md is stale: run `UPDATE_DOCS=1 cargo test --test cli diagnostics_reference`"
    );
    // Every code of every crate is listed once.
    let mut seen = std::collections::BTreeSet::new();
    for line in stdout(&o).lines().filter(|l| l.starts_with("## AP")) {
        assert!(seen.insert(line.to_string()), "duplicate {line}");
    }
    assert!(seen.len() > 50, "{}", seen.len());
}
