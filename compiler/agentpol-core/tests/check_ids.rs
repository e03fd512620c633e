//! Rule ids are stable (semantics.md §9): they depend on the owner, the
//! rule's own normalised text and its index among identical rules, and on
//! nothing else in the file.

mod check_support;

use check_support::clean;
use std::collections::BTreeSet;

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
