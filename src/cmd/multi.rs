//! `check`, `test` and `verify` over several files and directories, as CI
//! runs them (`agentpolc check policies/`): each file is run on its own, the
//! exit code is the worst of them, and machine formats stay one document on
//! stdout — JSON wraps the per-file documents in `files`, SARIF merges every
//! file's results into one run, JUnit puts every file's suites in one report.
//! A single file argument prints exactly what it always did.

use crate::exit;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The stdout format of the command being run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// For people: each file's output in turn, with a header on stderr.
    Human,
    /// One JSON document.
    Json,
    /// One SARIF log.
    Sarif,
    /// One JUnit XML report.
    Junit,
}

/// The files named, each directory replaced by the `*.agentpol` files under
/// it — except a build directory (it holds `manifest.json`), which `verify`
/// reads as one policy when `build_dirs` is set.
pub fn expand(paths: &[PathBuf], build_dirs: bool) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() && !(build_dirs && p.join("manifest.json").is_file()) {
            let found = super::fmt::expand(std::slice::from_ref(p))?;
            if found.is_empty() {
                return Err(format!("no *.agentpol files under {}", p.display()));
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Runs `one` on every file of `paths` and merges what they print.
pub fn run(paths: &[PathBuf], build_dirs: bool, shape: Shape, one: impl Fn(&Path) -> u8) -> u8 {
    let files = match expand(paths, build_dirs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if paths.len() == 1 && files.len() == 1 && files[0] == paths[0] {
        return one(&files[0]);
    }
    let mut worst = exit::OK;
    let mut docs = Vec::new();
    for f in &files {
        if shape == Shape::Human {
            eprintln!("== {}", f.display());
            worst = worst.max(one(f));
        } else {
            let (code, text) = crate::out::capture(|| one(f));
            worst = worst.max(code);
            docs.push((f.clone(), code, text));
        }
    }
    match shape {
        Shape::Human => {
            eprintln!("{} file(s); worst exit code {worst}", files.len());
        }
        Shape::Json => println!("{}", merge_json(&docs, worst)),
        Shape::Sarif => println!("{}", merge_sarif(&docs)),
        Shape::Junit => print!("{}", merge_junit(&docs)),
    }
    worst
}

type Doc = (PathBuf, u8, String);

fn merge_json(docs: &[Doc], worst: u8) -> Value {
    let files: Vec<Value> = docs
        .iter()
        .map(|(f, code, text)| {
            let mut entry = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => Value::Object(m),
                // Nothing printed: the file could not be read (the reason is on stderr).
                _ => json!({ "error": "no result; see stderr" }),
            };
            entry["file"] = json!(f.to_string_lossy());
            entry["exit_code"] = json!(code);
            entry
        })
        .collect();
    json!({
        "format_version": crate::output::JSON_FORMAT_VERSION,
        "files": files,
        "exit_code": worst,
    })
}

/// One log, one run: the per-file runs' results, with rule and artifact
/// indexes renumbered into the merged tables.
fn merge_sarif(docs: &[Doc]) -> Value {
    let mut merged: Option<Value> = None;
    for (_, _, text) in docs {
        let Ok(log) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let run = &log["runs"][0];
        let Some(base) = merged.as_mut() else {
            merged = Some(log.clone());
            continue;
        };
        let target = &mut base["runs"][0];
        let mut rule_map = Vec::new();
        for r in run["tool"]["driver"]["rules"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let rules = target["tool"]["driver"]["rules"].as_array_mut();
            let Some(rules) = rules else { continue };
            let i = match rules.iter().position(|x| x["id"] == r["id"]) {
                Some(i) => i,
                None => {
                    rules.push(r.clone());
                    rules.len() - 1
                }
            };
            rule_map.push(i);
        }
        let mut art_map = Vec::new();
        for a in run["artifacts"].as_array().into_iter().flatten() {
            let Some(arts) = target["artifacts"].as_array_mut() else {
                continue;
            };
            let i = match arts.iter().position(|x| x["location"] == a["location"]) {
                Some(i) => i,
                None => {
                    arts.push(a.clone());
                    arts.len() - 1
                }
            };
            art_map.push(i);
        }
        if let Some(ids) = run["originalUriBaseIds"].as_object() {
            for (k, v) in ids {
                if target["originalUriBaseIds"].get(k).is_none() {
                    target["originalUriBaseIds"][k] = v.clone();
                }
            }
        }
        for r in run["results"].as_array().into_iter().flatten() {
            let mut r = r.clone();
            if let Some(i) = r["ruleIndex"]
                .as_u64()
                .and_then(|i| rule_map.get(i as usize))
            {
                r["ruleIndex"] = json!(i);
            }
            for key in ["locations", "relatedLocations"] {
                for l in r[key].as_array_mut().into_iter().flatten() {
                    let a = &mut l["physicalLocation"]["artifactLocation"];
                    if let Some(i) = a["index"].as_u64().and_then(|i| art_map.get(i as usize)) {
                        a["index"] = json!(i);
                    }
                }
            }
            if let Some(results) = target["results"].as_array_mut() {
                results.push(r);
            }
        }
    }
    merged.unwrap_or_else(|| crate::sarif::log(&[], &agentpol_core::source::SourceMap::new()))
}

/// One `<testsuites>` holding every file's suites, with summed counts.
fn merge_junit(docs: &[Doc]) -> String {
    let attr = |line: &str, name: &str| -> usize {
        let key = format!(" {name}=\"");
        line.find(&key)
            .and_then(|i| {
                let rest = &line[i + key.len()..];
                rest[..rest.find('"')?].parse().ok()
            })
            .unwrap_or(0)
    };
    let (mut tests, mut failures, mut body) = (0, 0, String::new());
    for (_, _, text) in docs {
        for line in text.lines() {
            if line.starts_with("<testsuites") {
                tests += attr(line, "tests");
                failures += attr(line, "failures");
            } else if line.starts_with("  ") {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"agentpol\" tests=\"{tests}\" failures=\"{failures}\">\n{body}</testsuites>\n"
    )
}
