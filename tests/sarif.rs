//! Every SARIF log agentpolc writes, validated against the official SARIF
//! 2.1.0 schema (vendored in `tests/sarif/`, see its README), plus what a
//! code-scanning service relies on: fingerprints that survive an edit above
//! the finding, the witness as data, paths relative to `%SRCROOT%`, and the
//! standard library's text embedded (it is not in the user's checkout).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn agentpolc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentpolc"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run agentpolc")
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("tests/sarif/sarif-schema-2.1.0.json"))
        .expect("vendored schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

/// The log on stdout, after checking it against the schema.
fn valid_log(o: &Output) -> Value {
    let log: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let v = validator();
    // The validator must be able to say no (a wrong version, a bad URI).
    assert!(!v.is_valid(&serde_json::json!({ "version": "2.0.0", "runs": [] })));
    assert!(
        !v.is_valid(&serde_json::json!({ "version": "2.1.0", "runs": [{
        "tool": { "driver": { "name": "x" } },
        "artifacts": [{ "location": { "uri": "a b" } }]
    }] }))
    );
    let errors: Vec<String> = v
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
    log
}

const USER: &str = "import std::openclaw\nagent a {\n  home \"/home/a\"\n  include openclaw::baseline\n  fs {\n    allow read \"/home/a/**\"\n    allow read \"/srv/**\"\n    allow read \"/srv/www/*\"\n  }\n  net { allow connect tcp \"*.example.com\" port 443 }\n}\n";

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

#[test]
fn every_command_writes_schema_valid_sarif() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.agentpol"), USER).unwrap();
    std::fs::write(
        dir.path().join("bad.agentpol"),
        "agent a {\n  fs { allow reed \"/x\" }\n}\n",
    )
    .unwrap();
    let runs: [&[&str]; 5] = [
        &["check", "bad.agentpol", "--format", "sarif"],
        &["check", "p.agentpol", "--format", "sarif"],
        &["verify", "p.agentpol", "--format", "sarif"],
        &[
            "build",
            "p.agentpol",
            "--target",
            "all",
            "--format",
            "sarif",
        ],
        &["test", "p.agentpol", "--format", "sarif"],
    ];
    for args in runs {
        let o = agentpolc(dir.path(), args);
        let log = valid_log(&o);
        assert_eq!(log["version"], "2.1.0", "{args:?}");
    }
    // Several files: one log, one run, every file's results.
    let o = agentpolc(
        dir.path(),
        &["check", "p.agentpol", "bad.agentpol", "--format", "sarif"],
    );
    let log = valid_log(&o);
    assert_eq!(log["runs"].as_array().map(Vec::len), Some(1));
    let uris: Vec<&str> = results(&log)
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(uris.contains(&"bad.agentpol"), "{uris:?}");
    // The build log carries verifier findings and firewall warnings at once.
    let log = valid_log(&agentpolc(dir.path(), runs[3]));
    let ids: Vec<&str> = results(&log)
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert!(
        ids.contains(&"AP0502") && ids.contains(&"AP0705"),
        "{ids:?}"
    );
}

#[test]
fn findings_carry_witness_fingerprint_and_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.agentpol"), USER).unwrap();
    let log = valid_log(&agentpolc(
        dir.path(),
        &["verify", "p.agentpol", "--format", "sarif"],
    ));
    let run = &log["runs"][0];
    let redundant: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r["ruleId"] == "AP0502")
        .collect();
    assert!(!redundant.is_empty());
    for r in &redundant {
        // The witness as data, replayable with `agentpolc eval`.
        assert_eq!(r["properties"]["witness"]["agent"], "a", "{r}");
        assert!(r["properties"]["witness"]["path"].is_string(), "{r}");
        let loc = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uri"], "p.agentpol", "{r}");
        assert_eq!(loc["uriBaseId"], "%SRCROOT%", "{r}");
    }
    // Every std location points into an embedded artifact holding std's text.
    let artifacts = run["artifacts"].as_array().expect("artifacts");
    let mut std_refs = 0;
    for r in results(&log) {
        for l in r["relatedLocations"].as_array().into_iter().flatten() {
            let a = &l["physicalLocation"]["artifactLocation"];
            if a["uriBaseId"] == "AGENTPOL_STD" {
                std_refs += 1;
                let i = a["index"].as_u64().expect("index") as usize;
                let name = a["uri"].as_str().unwrap();
                let (_, _, text) = agentpol_core::stdlib::MODULES
                    .iter()
                    .find(|(_, n, _)| *n == name)
                    .expect("a std module");
                assert_eq!(artifacts[i]["contents"]["text"], *text);
            }
        }
    }
    assert!(std_refs > 0, "{log}");

    // Two lines inserted above: every location moves, no fingerprint changes.
    let prints = |log: &Value| -> Vec<String> {
        let mut v: Vec<String> = results(log)
            .iter()
            .map(|r| {
                r["partialFingerprints"]["agentpolFinding/v1"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        v.sort();
        v
    };
    let before = prints(&log);
    let moved = USER.replace("agent a {", "# a comment\n# another\nagent a {");
    std::fs::write(dir.path().join("p.agentpol"), moved).unwrap();
    let after_log = valid_log(&agentpolc(
        dir.path(),
        &["verify", "p.agentpol", "--format", "sarif"],
    ));
    assert_eq!(before, prints(&after_log));
    let line = |log: &Value| {
        results(log)[0]["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64()
    };
    assert_eq!(line(&after_log).map(|l| l - 2), line(&log));
    // Distinct findings have distinct fingerprints.
    let mut uniq = before.clone();
    uniq.dedup();
    assert_eq!(uniq.len(), before.len(), "{before:?}");
}
