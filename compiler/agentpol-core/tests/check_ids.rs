//! Rule ids are stable (semantics.md §9): they depend on the owner, the
//! rule's own normalised text and its index among identical rules, and on
//! nothing else in the file.

mod support;

use std::collections::BTreeSet;
use support::check::clean;

const BASE: &str = r#"const W = "/srv/w"
tool send(to: string, n: int)
profile p {
  fs { deny all "~/.ssh/**" }
}
agent a {
  home "/home/a"
  include p
  fs {
    allow read, write "${W}/**"
    allow read "/usr/**"
  }
  net { allow connect tcp "api.example.com" port 443 }
  tool send {
    allow when to == "x" or n < 3
    deny when n > 100
  }
  skill s {
    fs { allow read "/usr/**" }
  }
}
"#;

fn ids(text: &str) -> BTreeSet<String> {
    let p = clean(text);
    p.all_rules().map(|(_, r)| r.id.0.clone()).collect()
}

fn ids_of_line(text: &str, needle: &str) -> BTreeSet<String> {
    let p = clean(text);
    p.all_rules()
        .filter(|(_, r)| {
            text.get(r.src.span.start as usize..r.src.span.end as usize)
                .is_some_and(|t| t.contains(needle))
        })
        .map(|(_, r)| r.id.0.clone())
        .collect()
}

#[test]
fn ids_are_unique_and_well_formed() {
    let p = clean(BASE);
    let all: Vec<String> = p.all_rules().map(|(_, r)| r.id.0.clone()).collect();
    let set: BTreeSet<&String> = all.iter().collect();
    assert_eq!(set.len(), all.len(), "{all:#?}");
    for id in &all {
        let (owner, rest) = id.split_once('/').unwrap();
        assert!(owner == "a" || owner == "a.s", "{id}");
        let (kind, hash) = rest.split_once('/').unwrap();
        assert!(["fs", "exec", "net", "tool", "env"].contains(&kind), "{id}");
        let base = hash.split('.').next().unwrap();
        assert_eq!(base.len(), 12, "{id}");
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
    // The skill's rule has the same text as one of the agent's, but another owner.
    assert_eq!(ids_of_line(BASE, "\"/usr/**\"").len(), 2);
}

#[test]
fn layout_and_comments_do_not_change_ids() {
    let edited = BASE
        .replace("include p\n", "\n\n  # a comment\n  include p   # why\n\n")
        .replace(
            "allow read \"/usr/**\"\n  }",
            "allow   read\n      \"/usr/**\"   # system\n  }",
        )
        .replace("const W", "# header\n\nconst W");
    assert_ne!(edited, BASE);
    assert_eq!(ids(&edited), ids(BASE));
}

#[test]
fn formatting_does_not_change_ids() {
    let messy = BASE.replace(
        "allow read, write \"${W}/**\"",
        "allow   read ,write   \"${W}/**\"",
    );
    let formatted = agentpol_core::format::format_source(agentpol_core::span::FileId(0), &messy)
        .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(ids(&formatted), ids(BASE));
}

#[test]
fn editing_or_adding_other_rules_keeps_ids() {
    let before = ids(BASE);
    let net_before = ids_of_line(BASE, "api.example.com");
    // Edit one rule: only its ids change.
    let edited = BASE.replace("api.example.com", "api.example.org");
    let after = ids(&edited);
    let net_after = ids_of_line(&edited, "api.example.org");
    assert_ne!(net_before, net_after);
    let unchanged_before: BTreeSet<_> = before.difference(&net_before).cloned().collect();
    let unchanged_after: BTreeSet<_> = after.difference(&net_after).cloned().collect();
    assert_eq!(unchanged_before, unchanged_after);
    // Add rules (and a new block, and a new agent) elsewhere.
    let grown = BASE
        .replace("  net {", "  exec { allow \"/usr/bin/git\" }\n  net {")
        .replace(
            "deny when n > 100",
            "deny when n > 100\n    ask when to == \"boss\"",
        )
        .replace(
            "agent a {",
            "agent z {\n  fs { allow read \"/usr/**\" }\n}\nagent a {",
        );
    let grown_ids = ids(&grown);
    assert!(before.is_subset(&grown_ids), "{before:#?}\n{grown_ids:#?}");
    assert_eq!(grown_ids.len(), before.len() + 3);
}

#[test]
fn moving_a_rule_keeps_its_id() {
    let moved = BASE
        .replace(
            "  net { allow connect tcp \"api.example.com\" port 443 }\n",
            "",
        )
        .replace(
            "  include p\n",
            "  include p\n  net { allow connect tcp \"api.example.com\" port 443 }\n",
        );
    assert_ne!(moved, BASE);
    assert_eq!(ids(&moved), ids(BASE));
}

#[test]
fn identical_rules_are_numbered_by_occurrence() {
    let twice = BASE.replace(
        "allow read \"/usr/**\"\n  }\n  net",
        "allow read \"/usr/**\"\n  }\n  fs { allow read \"/usr/**\" }\n  net",
    );
    let usr = ids_of_line(&twice, "\"/usr/**\"");
    assert_eq!(usr.len(), 3, "two in the agent, one in the skill: {usr:?}");
    // The first occurrence keeps the id it had alone.
    assert!(ids_of_line(BASE, "\"/usr/**\"").is_subset(&usr));
}

#[test]
fn the_rule_text_and_owner_are_in_the_hash() {
    let renamed_agent = BASE.replace("agent a {", "agent b {");
    let a: BTreeSet<String> = ids(BASE)
        .iter()
        .map(|i| i.split_once('/').unwrap().1.to_string())
        .collect();
    let b: BTreeSet<String> = ids(&renamed_agent)
        .iter()
        .map(|i| i.split_once('/').unwrap().1.to_string())
        .collect();
    assert!(a.is_disjoint(&b), "the owner is part of the hash");
    let other_tool_name = BASE.replace("tool send", "tool post");
    let send = ids_of_line(BASE, "n > 100");
    let post = ids_of_line(&other_tool_name, "n > 100");
    assert_ne!(
        send, post,
        "`deny when n > 100` in another tool block is another rule"
    );
}

#[test]
fn profile_rules_get_ids_of_the_including_owner() {
    let p = clean(BASE);
    let a = p.agent("a").unwrap();
    let from_profile: Vec<_> = a
        .rules
        .iter()
        .filter(|r| !r.origin.via.is_empty())
        .collect();
    assert_eq!(from_profile.len(), 7);
    assert!(from_profile.iter().all(|r| r.id.0.starts_with("a/fs/")));
    let suffixes: Vec<String> = from_profile
        .iter()
        .map(|r| r.id.0.rsplit('.').next().unwrap().to_string())
        .collect();
    assert_eq!(suffixes, ["0", "1", "2", "3", "4", "5", "6"]);
}

// ---------------------------------------------------------------- `fmt` never changes an id (issue 10, point 12)

/// Ids of every rule, in IR order, of a compilation that must be clean.
fn ids_in_order(root: &str, files: &[(String, String)]) -> Vec<String> {
    let mut loader = agentpol_core::source::MemoryLoader::default();
    for (name, text) in files {
        loader.files.insert(name.clone(), text.clone());
    }
    let c = agentpol_core::compile("root.agentpol", root, &loader);
    let p = c
        .policy
        .as_ref()
        .unwrap_or_else(|| panic!("{}\n{root}", support::check::rendered(&c)));
    p.all_rules().map(|(_, r)| r.id.0.clone()).collect()
}

fn fmt(text: &str) -> String {
    agentpol_core::format::format_source(agentpol_core::span::FileId(0), text)
        .unwrap_or_else(|d| panic!("{d:?}\n{text}"))
}

#[test]
fn trailing_comma_does_not_change_ids() {
    // The reproduction of issue 10, point 12: `fmt` drops the trailing comma
    // of a set on one line, which changed the rule's id.
    let with = BASE.replace("\"/usr/**\"\n  }", "{ \"/usr/**\", \"/opt/**\", }\n  }");
    let without = fmt(&with);
    assert!(
        without.contains("{ \"/usr/**\", \"/opt/**\" }"),
        "{without}"
    );
    assert_eq!(ids(&with), ids(&without));
}

/// The files of an example directory, by name.
fn example_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "agentpol") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// Every std module: (name, text), from `stdlib-policies/`.
fn std_modules() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stdlib-policies");
    example_files(&dir)
        .into_iter()
        .filter_map(|(name, _)| {
            let module = name.strip_suffix(".agentpol")?.to_string();
            let (_, text) = agentpol_core::stdlib::module(std::slice::from_ref(&module))?;
            Some((module, text.to_string()))
        })
        .collect()
}

#[test]
fn fmt_keeps_ids_of_examples_and_std() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut checked = 0;
    for dir in [
        "examples/coding-agent",
        "examples/openclaw",
        "examples/third-party-skill",
    ] {
        let files = example_files(&root.join(dir));
        let formatted: Vec<(String, String)> =
            files.iter().map(|(n, t)| (n.clone(), fmt(t))).collect();
        // Each file as the root (examples are one file each, plus std).
        for (name, text) in &files {
            let before = ids_in_order(text, &files);
            let after = ids_in_order(&fmt(text), &formatted);
            assert!(!before.is_empty(), "{dir}/{name} has no rules");
            assert_eq!(before, after, "{dir}/{name}");
            checked += 1;
        }
    }
    // Every std module as an imported file included by one agent.
    for (module, text) in std_modules() {
        let parsed = agentpol_core::syntax::parse(agentpol_core::span::FileId(0), &text);
        let profiles: Vec<String> = parsed
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                agentpol_core::syntax::ast::Item::Profile(b) => Some(b.name.name.clone()),
                _ => None,
            })
            .collect();
        if profiles.is_empty() {
            continue;
        }
        let includes: String = profiles
            .iter()
            .map(|p| format!("  include lib::{p}\n"))
            .collect();
        let root = format!("version 1\nimport \"lib.agentpol\" as lib\nagent a {{\n  home \"/home/a\"\n{includes}}}\n");
        let before = ids_in_order(&root, &[("lib.agentpol".into(), text.clone())]);
        let after = ids_in_order(&root, &[("lib.agentpol".into(), fmt(&text))]);
        assert!(!before.is_empty(), "std::{module} has no rules");
        assert_eq!(before, after, "std::{module}");
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} files checked");
}

mod random_edits {
    use super::*;
    use proptest::prelude::*;

    fn compiles(text: &str) -> bool {
        agentpol_core::compile("root.agentpol", text, &agentpol_core::source::NoFiles)
            .policy
            .is_some()
    }

    /// Meaning-preserving edits of `text`, chosen by `choices`: a trailing
    /// comma before a `}`, a leading zero on a port, a line break after a
    /// `,`, extra spaces. An edit that does not leave the policy valid is
    /// skipped (a comma before a block's `}`, say).
    fn edit(text: &str, choices: &[u8]) -> String {
        let mut bits = choices.iter().copied().cycle();
        let mut cur = text.to_string();
        for (needle, insert, at_end) in [("}", ",", false), ("port ", "0", true)] {
            let mut from = 0;
            while let Some(off) = cur.get(from..).and_then(|r| r.find(needle)) {
                let at = from + off + if at_end { needle.len() } else { 0 };
                from = from + off + needle.len();
                if bits.next().unwrap_or(0) % 3 != 0 {
                    continue;
                }
                let candidate = format!("{}{insert}{}", &cur[..at], &cur[at..]);
                if compiles(&candidate) {
                    cur = candidate;
                    from += insert.len();
                }
            }
        }
        let mut out = String::with_capacity(cur.len() * 2);
        let mut in_str = false;
        let mut prev = ' ';
        for c in cur.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            out.push(c);
            let b = bits.next().unwrap_or(0);
            if !in_str && c == ',' && b % 4 == 1 {
                out.push_str("\n        ");
            } else if !in_str && c == ' ' && b % 5 == 2 {
                out.push_str("  ");
            }
            prev = c;
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn fmt_never_changes_an_id(choices in proptest::collection::vec(any::<u8>(), 1..64)) {
            let base = agentpol_core::check::testgen::generate_policy(40);
            let edited = edit(&base, &choices);
            prop_assert!(compiles(&edited), "{}", edited);
            let before = ids_in_order(&edited, &[]);
            let after = ids_in_order(&fmt(&edited), &[]);
            prop_assert_eq!(before, after);
        }
    }
}
