use super::*;
use crate::source::NoFiles;

const SRC: &str = r#"version 1

import std::secrets

const REPO = "/home/dev/src"

tool push(branch: string)

profile base {
  include secrets::deny_all
}

agent coder {
  home "/home/dev"
  include base
  fs {
    allow read "${REPO}/**"
  }
  tool push { allow }
  skill git {
    tool push { allow when branch == "main" }
  }
}
"#;

fn at(text: &str, needle: &str, nth: usize) -> u32 {
    let mut from = 0;
    for _ in 0..nth {
        from = text[from..].find(needle).unwrap() + from + 1;
    }
    (text[from..].find(needle).unwrap() + from) as u32
}

fn comp() -> Compilation {
    crate::compile("main.agentpol", SRC, &NoFiles)
}

#[test]
fn definition_of_a_use_and_of_a_definition() {
    let c = comp();
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let use_at = at(SRC, "REPO}", 0) + 1;
    let def = definition_at(&c, c.root, use_at).unwrap();
    assert_eq!(&SRC[def.range()], "REPO");
    assert_eq!(def.start, at(SRC, "REPO =", 0));
    // On the definition itself: the same span.
    assert_eq!(definition_at(&c, c.root, def.start), Some(def));
    // Whitespace: nothing.
    assert_eq!(definition_at(&c, c.root, 0), None);
}

#[test]
fn definition_into_std() {
    let c = comp();
    let off = at(SRC, "deny_all", 0);
    let def = definition_at(&c, c.root, off).unwrap();
    let file = c.sources.get(def.file).unwrap();
    assert_eq!(file.name, "std/secrets.agentpol");
    assert_eq!(file.slice(def), "deny_all");
}

#[test]
fn references_list_every_use() {
    let c = comp();
    let refs = references(&c, c.root, at(SRC, "base", 0), true);
    let texts: Vec<&str> = refs.iter().map(|s| &SRC[s.range()]).collect();
    assert_eq!(texts, ["base", "base"]);
    assert_eq!(refs[0].start, at(SRC, "base {", 0));
    assert_eq!(refs[1].start, at(SRC, "base\n", 0));
    assert_eq!(references(&c, c.root, at(SRC, "base", 0), false).len(), 1);
}

#[test]
fn hover_on_name_and_rule() {
    let c = comp();
    let h = hover(&c, c.root, at(SRC, "REPO}", 0)).unwrap();
    assert_eq!(h.signature, r#"const REPO = "/home/dev/src""#);
    assert_eq!(
        h.facts,
        ["const `REPO`", "defined at main.agentpol:5", "1 use(s)"]
    );
    let h = hover(&c, c.root, at(SRC, "allow read", 0) + 2).unwrap();
    assert_eq!(h.signature, r#"allow read "${REPO}/**""#);
    assert_eq!(h.facts[0], "fs rule in agent `coder`");
    assert!(h.facts[1].starts_with("rule id(s): "), "{:?}", h.facts);
    let h = hover(&c, c.root, at(SRC, "allow when", 0)).unwrap();
    assert_eq!(h.facts[0], "tool rule in agent `coder`, skill `git`");
}

#[test]
fn outline_nests_skills_and_rule_blocks() {
    let c = comp();
    let syms = symbols(&c.parsed[0].ast);
    let names: Vec<(&str, SymbolKind)> = syms.iter().map(|s| (s.name.as_str(), s.kind)).collect();
    assert_eq!(
        names,
        [
            ("std::secrets", SymbolKind::Import),
            ("REPO", SymbolKind::Const),
            ("push", SymbolKind::Tool),
            ("base", SymbolKind::Profile),
            ("coder", SymbolKind::Agent)
        ]
    );
    let coder: Vec<&str> = syms[4].children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(coder, ["fs", "tool push", "git"]);
    assert_eq!(syms[4].children[2].children[0].name, "tool push");
}

#[test]
fn completion_after_module_path_and_elsewhere() {
    let text = SRC.replace("include base\n", "include secrets::\n");
    let c = crate::compile("main.agentpol", &text, &NoFiles);
    let off = at(&text, "secrets::\n", 0) + "secrets::".len() as u32;
    let labels: Vec<String> = completions(&c, c.root, off)
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(labels.contains(&"deny_all".to_string()), "{labels:?}");
    assert!(!labels.contains(&"agent".to_string()));
    let std_off = at(&text, "std::", 0) + 5;
    let labels: Vec<String> = completions(&c, c.root, std_off)
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(labels.contains(&"secrets".to_string()) && labels.contains(&"net".to_string()));
    let labels: Vec<String> = completions(&c, c.root, at(&text, "fs {", 0))
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(
        labels.contains(&"agent".to_string())
            && labels.contains(&"REPO".to_string())
            && labels.contains(&"base".to_string())
    );
}

#[test]
fn queries_survive_errors() {
    let text = SRC
        .replace("include base", "include bsae")
        .replace("fs {", "fs { allow read");
    let c = crate::compile("main.agentpol", &text, &NoFiles);
    assert!(c.has_errors());
    // The outline and names still answer on a broken file.
    assert!(!symbols(&c.parsed[0].ast).is_empty());
    let def = definition_at(&c, c.root, at(&text, "deny_all", 0));
    assert!(def.is_some());
    for off in 0..text.len() as u32 + 2 {
        let _ = hover(&c, c.root, off);
        let _ = completions(&c, c.root, off);
        let _ = references(&c, c.root, off, true);
    }
}
