//! Every syntax diagnostic code, rendered as users see it (insta snapshots).

mod support;

use agentpol_core::diag::codes::SYNTAX_CODES;
use support::syntax::{codes, render_diags};

/// `(snapshot name, code the case must produce, source)`.
const CASES: &[(&str, &str, &str)] = &[
    (
        "AP0001_semicolon",
        "AP0001",
        "agent a {\n  home \"/home/a\";\n}\n",
    ),
    (
        "AP0001_single_quotes",
        "AP0001",
        "agent a {\n  home '/home/a'\n}\n",
    ),
    (
        "AP0001_bad_char_then_code",
        "AP0001",
        "agent a {\n  fs { allow read /tmp/x }\n}\n",
    ),
    (
        "AP0002_unterminated_string",
        "AP0002",
        "agent a {\n  home \"/home/agent\n}\n",
    ),
    (
        "AP0003_misspelled_action",
        "AP0003",
        "agent a {\n  fs { allow raed \"/tmp/**\" }\n}\n",
    ),
    (
        "AP0003_reserved_word",
        "AP0003",
        "const file = \"/etc/passwd\"\n",
    ),
    (
        "AP0003_missing_brace",
        "AP0003",
        "agent a {\n  fs { allow read \"/tmp/**\"\n}\nagent b {}\n",
    ),
    (
        "AP0003_bad_member",
        "AP0003",
        "agent a {\n  files { allow read \"/tmp\" }\n}\n",
    ),
    (
        "AP0003_bad_condition",
        "AP0003",
        "agent a {\n  tool t(x: int) { allow when x = 1 }\n}\n",
    ),
    ("AP0003_bad_item", "AP0003", "version 1\nrule a {}\n"),
    (
        "AP0004_unexpected_eof",
        "AP0004",
        "agent a {\n  fs { allow read \"/tmp/**\" }\n",
    ),
    ("AP0004_eof_in_rule", "AP0004", "agent a { fs { allow read"),
    ("AP0005_nesting_not", "AP0005", ""),
    ("AP0005_nesting_parens", "AP0005", ""),
    (
        "AP0006_invalid_escape",
        "AP0006",
        "agent a {\n  home \"C:\\data\"\n}\n",
    ),
    (
        "AP0007_integer_too_large",
        "AP0007",
        "agent a {\n  scope uid 99999999999999999999\n}\n",
    ),
    (
        "AP0007_version_too_large",
        "AP0007",
        "version 99999999999\n",
    ),
    (
        "AP0008_unterminated_interpolation",
        "AP0008",
        "const W = \"/w\"\nagent a {\n  fs { allow read \"${W/**\" }\n}\n",
    ),
    (
        "AP0009_invalid_interpolation",
        "AP0009",
        "agent a {\n  home \"${ HOME }\"\n}\n",
    ),
    (
        "AP0009_empty_interpolation",
        "AP0009",
        "agent a {\n  home \"/x/${}\"\n}\n",
    ),
    (
        "AP0010_duplicate_namespace",
        "AP0010",
        "agent a {\n  selector {\n    namespace \"a\"\n    namespace \"b\"\n  }\n}\n",
    ),
    ("AP0011_too_many_errors", "AP0011", ""),
];

fn source(name: &str, given: &str) -> String {
    match name {
        "AP0005_nesting_not" => format!(
            "tool t(x: int)\nagent a {{\n  tool t {{\n    allow when {}x == 1\n    deny when x == 2\n  }}\n}}\n",
            "not ".repeat(70)
        ),
        "AP0005_nesting_parens" => format!(
            "agent a {{\n  tool t {{\n    allow when {}x == 1{}\n  }}\n}}\n",
            "(".repeat(65),
            ")".repeat(65)
        ),
        "AP0011_too_many_errors" => "agent a { ; }\n".repeat(120),
        _ => given.to_string(),
    }
}

#[test]
fn every_syntax_code_has_a_case() {
    for info in SYNTAX_CODES {
        assert!(
            CASES.iter().any(|(_, code, _)| *code == info.code),
            "{} has no snapshot case",
            info.code
        );
        assert!(
            info.explanation.len() > 150 && info.explanation.contains("xample")
                || info.code == "AP0011",
            "{} needs a long explanation with an example",
            info.code
        );
    }
}

#[test]
fn diagnostics_render() {
    for (name, code, given) in CASES {
        let src = source(name, given);
        let found = codes(&src);
        assert!(
            found.contains(code),
            "{name}: expected {code}, got {found:?}"
        );
        let mut rendered = render_diags(&src);
        if *name == "AP0011_too_many_errors" {
            // The hundred errors before it are all alike; keep the summary.
            let at = rendered.rfind("AP0011").expect("summary rendered");
            rendered = rendered[at..].to_string();
        }
        insta::assert_snapshot!(format!("diag_{name}"), rendered);
    }
}

#[test]
fn cases_produce_only_what_is_expected() {
    // The single-error cases must not produce follow-up noise.
    let single = [
        "AP0001_semicolon",
        "AP0002_unterminated_string",
        "AP0003_misspelled_action",
        "AP0003_reserved_word",
        "AP0003_missing_brace",
        "AP0003_bad_member",
        "AP0004_unexpected_eof",
        "AP0005_nesting_not",
        "AP0005_nesting_parens",
        "AP0006_invalid_escape",
        "AP0007_version_too_large",
        "AP0008_unterminated_interpolation",
        "AP0009_invalid_interpolation",
        "AP0010_duplicate_namespace",
    ];
    for (name, code, given) in CASES {
        if single.contains(name) {
            assert_eq!(codes(&source(name, given)), vec![*code], "{name}");
        }
    }
}

#[test]
fn too_many_errors_are_capped() {
    let src = source("AP0011_too_many_errors", "");
    let found = codes(&src);
    assert_eq!(found.len(), 101);
    assert_eq!(found.last(), Some(&"AP0011"));
}
