//! Diagnostics as a SARIF 2.1.0 log, for code-scanning services.
//!
//! What a service needs beyond the text: a fingerprint that follows a finding
//! across commits (`partialFingerprints`, from rule ids and the code at the
//! span, never from line numbers), locations relative to the checkout
//! (`uriBaseId` `%SRCROOT%`), the verifier's witness request as data (the
//! result's property bag), and the standard library's sources, which are
//! not in the user's repository, embedded as artifact contents (`uriBaseId`
//! `AGENTPOL_STD`). `tests/cli.rs` validates every log against the official
//! schema vendored in `tests/sarif/`.

use agentpol_core::diag::{self, Diag, Severity};
use agentpol_core::source::SourceMap;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The base id of paths relative to the directory agentpolc ran in.
const SRCROOT: &str = "%SRCROOT%";
/// The base id of the compiled-in standard library.
const STD: &str = "AGENTPOL_STD";

/// A SARIF 2.1.0 log with one run of agentpolc over the diagnostics `shown`.
pub fn log(shown: &[&Diag], sources: &SourceMap) -> Value {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut rules: Vec<&'static diag::CodeInfo> = Vec::new();
    for d in shown {
        if !rules.iter().any(|r| r.code == d.code.code) {
            rules.push(d.code);
        }
    }
    let rule_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.explanation },
                "helpUri": format!("https://github.com/agentpol/agentpol/blob/main/lang-spec/diagnostics.md#{}", r.code.to_lowercase()),
            })
        })
        .collect();
    let mut artifacts = Artifacts::default();
    let mut seen_prints: HashMap<String, usize> = HashMap::new();
    let results: Vec<Value> = shown
        .iter()
        .map(|d| {
            let rule_index = rules
                .iter()
                .position(|r| r.code == d.code.code)
                .unwrap_or(0);
            let mut text = format!("{}\nhelp: {}", d.message, d.help);
            for n in &d.notes {
                text.push_str(&format!("\nnote: {n}"));
            }
            let print = fingerprint(d, sources);
            let n = seen_prints.entry(print.clone()).or_insert(0);
            *n += 1;
            // Two findings with the same identity (two identical rules) stay apart.
            let print = if *n == 1 {
                print
            } else {
                format!("{print}:{n}")
            };
            let mut result = json!({
                "ruleId": d.code.code,
                "ruleIndex": rule_index,
                "level": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "note",
                },
                "message": { "text": text },
                "locations": [location(&d.primary, sources, &cwd, &mut artifacts)],
                "relatedLocations": d
                    .secondary
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let mut loc = location(l, sources, &cwd, &mut artifacts);
                        loc["id"] = json!(i);
                        loc
                    })
                    .collect::<Vec<_>>(),
                "partialFingerprints": { "agentpolFinding/v1": print },
            });
            if !d.properties.is_empty() {
                result["properties"] = json!(d.properties);
            }
            result
        })
        .collect();
    let mut base_ids = serde_json::Map::new();
    base_ids.insert(
        SRCROOT.into(),
        json!({
            "uri": file_uri(&cwd, true),
            "description": { "text": "the directory agentpolc ran in" },
        }),
    );
    if !artifacts.list.is_empty() {
        base_ids.insert(
            STD.into(),
            json!({ "description": { "text": "the agentpol standard library, compiled into agentpolc; its text is in run.artifacts" } }),
        );
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "agentpolc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/agentpol/agentpol",
                "rules": rule_json,
            }},
            // Columns count characters, as everywhere else in agentpolc
            // (SARIF's default would be UTF-16 code units).
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": base_ids,
            "artifacts": artifacts.list,
            "results": results,
        }]
    })
}

/// The std files a log points into, with their text.
#[derive(Default)]
struct Artifacts {
    index: BTreeMap<u32, usize>,
    list: Vec<Value>,
}

fn location(label: &diag::Label, sources: &SourceMap, cwd: &Path, arts: &mut Artifacts) -> Value {
    let j = diag::json_location(sources, label);
    let file = sources.get(label.span.file);
    let artifact = match file {
        Some(f) if is_std(&f.name) => {
            let next = arts.list.len();
            let index = *arts.index.entry(label.span.file.0).or_insert_with(|| {
                arts.list.push(json!({
                    "location": { "uri": encode(&f.name), "uriBaseId": STD },
                    "contents": { "text": f.text },
                    "sourceLanguage": "agentpol",
                }));
                next
            });
            json!({ "uri": encode(&f.name), "uriBaseId": STD, "index": index })
        }
        Some(f) => {
            let path = PathBuf::from(&f.name);
            let absolute = if path.is_absolute() {
                path
            } else {
                cwd.join(path)
            };
            match absolute.strip_prefix(cwd) {
                Ok(rel) => json!({ "uri": encode(&rel.to_string_lossy()), "uriBaseId": SRCROOT }),
                Err(_) => json!({ "uri": file_uri(&absolute, false) }),
            }
        }
        None => json!({ "uri": "unknown" }),
    };
    json!({
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {
                "startLine": j.line.max(1),
                "startColumn": j.column.max(1),
                "endLine": j.end_line.max(1),
                "endColumn": j.end_column.max(1),
            }
        },
        "message": { "text": if label.message.is_empty() { "here".to_string() } else { label.message.clone() } }
    })
}

fn is_std(name: &str) -> bool {
    agentpol_core::stdlib::MODULES
        .iter()
        .any(|(_, shown, _)| *shown == name)
}

/// A stable identity for a result: the code, and the rule ids when the
/// diagnostic is about rules (ids are content hashes, so they survive edits
/// elsewhere in the file); otherwise the file and the text at the span.
/// Line numbers are left out on purpose: inserting a line above a finding
/// must not make it look new.
fn fingerprint(d: &Diag, sources: &SourceMap) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(d.code.code.as_bytes());
    match d.properties.get("rule") {
        Some(rule) => {
            h.update(rule.to_string().as_bytes());
            if let Some(r) = d.properties.get("related_rules") {
                h.update(r.to_string().as_bytes());
            }
        }
        None => {
            let f = sources.get(d.primary.span.file);
            h.update(f.map_or("", |f| f.name.as_str()).as_bytes());
            let text = f
                .and_then(|f| {
                    f.text
                        .get(d.primary.span.start as usize..d.primary.span.end as usize)
                })
                .unwrap_or("");
            h.update(
                text.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .as_bytes(),
            );
            h.update(d.message.as_bytes());
        }
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn file_uri(path: &Path, dir: bool) -> String {
    let mut s = encode(&path.to_string_lossy());
    if dir && !s.ends_with('/') {
        s.push('/');
    }
    format!("file://{s}")
}

/// Percent-encodes what a URI path may not hold (RFC 3986 `pchar` and `/`).
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode("a b/ü.agentpol"), "a%20b/%C3%BC.agentpol");
        assert_eq!(encode("std/net.agentpol"), "std/net.agentpol");
    }
}
