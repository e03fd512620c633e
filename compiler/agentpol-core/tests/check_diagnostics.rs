//! Every checker diagnostic code, rendered as users see it (insta snapshots),
//! one small source per code.

mod support;

use agentpol_core::diag::codes::CHECK_CODES;
use agentpol_core::diag::Severity;
use support::check::{codes, compile_fixture, rendered};

/// `(snapshot name, code the case must produce, fixture)`. A fixture may hold
/// several files separated by `//- NAME` lines; the first is the root.
const CASES: &[(&str, &str, &str)] = &[
    (
        "AP0101_undefined_name",
        "AP0101",
        "const WORK = \"/srv/work\"\nagent a {\n  fs { allow read \"${WROK}/**\" }\n}\n",
    ),
    (
        "AP0101_no_module",
        "AP0101",
        "agent a {\n  secrets { deny read secrets::ssh }\n}\n",
    ),
    (
        "AP0102_duplicate_definition",
        "AP0102",
        "const WORK = \"/srv/work\"\nset WORK = { \"/tmp\" }\n",
    ),
    (
        "AP0103_wrong_kind",
        "AP0103",
        "set hosts = { \"a.example\" }\ntool t(to: string)\nagent a {\n  tool t { allow when to == hosts }\n}\n",
    ),
    (
        "AP0104_cyclic_definition",
        "AP0104",
        "const A = \"${B}/x\"\nconst B = \"${A}/y\"\n",
    ),
    (
        "AP0105_param_without_keyword",
        "AP0105",
        "param contacts: set<string>\ntool send(to: string)\nagent a {\n  tool send { allow when to in contacts }\n}\n",
    ),
    (
        "AP0106_not_a_param",
        "AP0106",
        "const OWNER = \"me@example.com\"\ntool send(to: string)\nagent a {\n  tool send { allow when to == param OWNER }\n}\n",
    ),
    (
        "AP0107_include_cycle",
        "AP0107",
        "profile p { include q }\nprofile q { include p }\nagent a { include p }\n",
    ),
    (
        "AP0108_import_cycle",
        "AP0108",
        "//- root.agentpol\nimport \"lib.agentpol\" as lib\n//- lib.agentpol\nimport \"root.agentpol\" as root\n",
    ),
    ("AP0109_unknown_module", "AP0109", "import std::secret\n"),
    (
        "AP0109_missing_file",
        "AP0109",
        "import \"common.agentpol\" as common\n",
    ),
    ("AP0110_unsupported_version", "AP0110", "version 2\n"),
    (
        "AP0111_unknown_agent",
        "AP0111",
        "agent openclaw { }\nassert never openclow fs read \"/etc/shadow\"\n",
    ),
    (
        "AP0111_unknown_skill",
        "AP0111",
        "agent a {\n  skill pdf { }\n}\nassert never a.pfd fs read \"/etc/shadow\"\n",
    ),
    (
        "AP0201_type_mismatch",
        "AP0201",
        "tool pay(amount: int)\nagent a {\n  tool pay { allow when amount <= \"100\" }\n}\n",
    ),
    (
        "AP0202_ask_outside_tool",
        "AP0202",
        "agent a {\n  home \"/home/a\"\n  fs { ask write \"~/notes/**\" }\n}\n",
    ),
    (
        "AP0203_unknown_argument",
        "AP0203",
        "tool send(to: string)\nagent a {\n  tool send { allow when recipient == \"a@b\" }\n}\n",
    ),
    (
        "AP0204_invalid_operator",
        "AP0204",
        "tool open(p: path)\nagent a {\n  tool open { allow when p == \"/tmp/x\" }\n}\n",
    ),
    (
        "AP0205_conflicting_tool_signature",
        "AP0205",
        "tool send(to: string)\nagent a {\n  tool send(to: string, body: string) { allow }\n}\n",
    ),
    (
        "AP0206_unknown_tool",
        "AP0206",
        "tool send_mail(to: string)\nagent a {\n  tool send_email { allow }\n}\n",
    ),
    (
        "AP0207_condition_too_complex",
        "AP0207",
        "tool t(a: int)\nagent x {\n  tool t {\n    allow when (a == 1 or a == 2) and (a == 3 or a == 4) and (a == 5 or a == 6) and (a == 7 or a == 8)\n      and (a == 9 or a == 10) and (a == 11 or a == 12) and (a == 13 or a == 14)\n  }\n}\n",
    ),
    (
        "AP0208_unknown_label",
        "AP0208",
        "tool fetch(u: url) -> dangerous\n",
    ),
    (
        "AP0209_duplicate_argument",
        "AP0209",
        "tool send(to: string, to: string)\n",
    ),
    ("AP0210_invalid_type", "AP0210", "param site: url\n"),
    (
        "AP0211_invalid_url_field",
        "AP0211",
        "tool fetch(u: url)\nagent a {\n  tool fetch { allow when u.hots == \"x.example\" }\n}\n",
    ),
    (
        "AP0212_url_needs_field",
        "AP0212",
        "tool fetch(u: url)\nagent a {\n  tool fetch { allow when u like \"https://api.github.com/*\" }\n}\n",
    ),
    (
        "AP0301_cidr_host_bits",
        "AP0301",
        "agent a {\n  net { allow connect tcp 10.0.0.1/8 port 443 }\n}\n",
    ),
    (
        "AP0302_invalid_address",
        "AP0302",
        "agent a {\n  net { allow connect tcp 10.0.0.256 port 443 }\n}\n",
    ),
    (
        "AP0303_invalid_port",
        "AP0303",
        "agent a {\n  net { allow connect tcp port 8080..8000 }\n}\n",
    ),
    (
        "AP0304_invalid_glob",
        "AP0304",
        "agent a {\n  fs { allow read \"/srv/{a,b/c}\" }\n}\n",
    ),
    (
        "AP0304_double_star_in_segment",
        "AP0304",
        "agent a {\n  fs { allow read \"/srv/a**\" }\n}\n",
    ),
    (
        "AP0305_relative_path",
        "AP0305",
        "agent a {\n  fs { allow read \"work/**\" }\n}\n",
    ),
    (
        "AP0306_dotdot_segment",
        "AP0306",
        "agent a {\n  fs { allow read \"/srv/app/../data\" }\n}\n",
    ),
    (
        "AP0307_path_not_normalised",
        "AP0307",
        "agent a {\n  fs { allow read \"/srv//data/\" }\n}\n",
    ),
    (
        "AP0308_domain_wildcard",
        "AP0308",
        "agent a {\n  net { allow connect tcp \"api.*.com\" port 443 }\n}\n",
    ),
    (
        "AP0309_non_ascii_domain",
        "AP0309",
        "agent a {\n  net { allow connect tcp \"bücher.example\" port 443 }\n}\n",
    ),
    (
        "AP0310_tilde_without_home",
        "AP0310",
        "agent a {\n  fs { allow read \"~/work/**\" }\n}\n",
    ),
    (
        "AP0310_through_profile",
        "AP0310",
        "profile base {\n  fs { deny all \"~/.ssh/**\" }\n}\nagent a {\n  include base\n}\n",
    ),
    (
        "AP0311_too_many_alternatives",
        "AP0311",
        "agent a {\n  fs { allow read \"/d/{0,1,2,3}{0,1,2,3}{0,1,2,3}{0,1,2,3}{0,1,2,3}\" }\n}\n",
    ),
    (
        "AP0312_invalid_domain",
        "AP0312",
        "agent a {\n  net { allow connect tcp \"-bad-.example.com\" port 443 }\n}\n",
    ),
    (
        "AP0313_invalid_like_pattern",
        "AP0313",
        "tool t(note: string)\nagent a {\n  tool t { allow when note like \"a\\\\q\" }\n}\n",
    ),
    (
        "AP0314_value_out_of_range",
        "AP0314",
        "tool pay(amount: int)\nagent a {\n  tool pay { allow when amount < 9223372036854775808 }\n}\n",
    ),
    (
        "AP0315_invalid_env_var",
        "AP0315",
        "secret s { env \"1PASSWORD\" }\n",
    ),
    (
        "AP0316_invalid_home",
        "AP0316",
        "agent a {\n  home \"/home/*\"\n}\n",
    ),
    (
        "AP0317_invalid_cgroup_path",
        "AP0317",
        "agent a {\n  scope cgroup \"agents/../x\"\n}\n",
    ),
    (
        "AP0318_invalid_url_part",
        "AP0318",
        "tool fetch(u: url)\nagent a {\n  tool fetch { allow when u.scheme == \"HTTPS\" }\n}\n",
    ),
    (
        "AP0319_empty_targets",
        "AP0319",
        "agent a {\n  fs { allow read {} }\n}\n",
    ),
    (
        "AP0320_invalid_selector",
        "AP0320",
        "agent a {\n  selector { namespace \"Agents\" }\n}\n",
    ),
    ("AP0321_set_too_large", "AP0321", ""),
    (
        "AP0401_skill_escalation",
        "AP0401",
        "agent a {\n  net { allow connect tcp \"api.example.com\" port 443 }\n  skill s {\n    net { allow listen tcp port 8080 }\n  }\n}\n",
    ),
    (
        "AP0402_agent_in_module",
        "AP0402",
        "//- root.agentpol\nimport \"lib.agentpol\" as lib\n//- lib.agentpol\nagent helper { }\n",
    ),
    (
        "AP0403_misplaced_member",
        "AP0403",
        "profile p {\n  home \"/home/x\"\n}\n",
    ),
    (
        "AP0403_nested_skill",
        "AP0403",
        "agent a {\n  skill s {\n    skill t { }\n  }\n}\n",
    ),
    (
        "AP0404_duplicate_member",
        "AP0404",
        "agent a {\n  home \"/home/a\"\n  home \"/home/b\"\n}\n",
    ),
    (
        "AP0405_include_not_profile",
        "AP0405",
        "agent a { }\nagent b {\n  include a\n}\n",
    ),
    (
        "AP0406_double_include",
        "AP0406",
        "profile base {\n  fs { allow read \"/usr/**\" }\n}\nagent a {\n  include base\n  include base\n}\n",
    ),
    (
        "AP0407_ignored_in_module",
        "AP0407",
        "//- root.agentpol\nimport \"lib.agentpol\" as lib\n//- lib.agentpol\ntest \"lib\" {\n}\n",
    ),
    (
        "AP0408_test_request_rejected",
        "AP0408",
        "tool send(to: string, body: string)\nagent a {\n  tool send { allow }\n}\ntest \"t\" {\n  expect allow a tool send { to: \"x@example.com\" }\n}\n",
    ),
    (
        "AP0409_invalid_test_request",
        "AP0409",
        "agent a { }\ntest \"t\" {\n  expect deny a net connect any \"example.com\" port 443\n}\n",
    ),
    (
        "AP0410_duplicate_action",
        "AP0410",
        "agent a {\n  fs { allow read, read \"/usr/**\" }\n}\n",
    ),
    (
        "AP0411_unused_allow",
        "AP0411",
        "agent a {\n  fs {\n    #[allow(AP0410)]\n    allow read \"/usr/**\"\n  }\n}\n",
    ),
    (
        "AP0412_invalid_allow",
        "AP0412",
        "#[allow(AP410)]\nagent a { }\n",
    ),
];

/// The diagnostics as a front-end-only run shows them: after the source's
/// `#[allow(…)]` comments (AP0411 and AP0412 come from applying them).
fn shown(c: &agentpol_core::Compilation) -> agentpol_core::Compilation {
    let mut c = c.clone();
    c.diagnostics = agentpol_core::diag::suppress::apply(
        c.diagnostics,
        &c.pragmas,
        &|code| agentpol_core::diag::lookup(code).is_some(),
        &|code| !code.starts_with("AP05"),
    );
    c
}

fn fixture(name: &str, given: &str) -> String {
    match name {
        // More distinct elements than a set may hold, on one line each.
        "AP0321_set_too_large" => {
            let mut s = String::from("set big = {\n");
            for i in 0..=agentpol_core::check::MAX_SET_ELEMS {
                s.push_str(&format!("  \"h{i}.example\",\n"));
            }
            s.push_str("}\nagent a {\n  net { allow connect tcp big port 443 }\n}\n");
            s
        }
        _ => given.to_string(),
    }
}

#[test]
fn every_check_code_has_a_case_and_an_explanation() {
    for info in CHECK_CODES {
        assert!(
            CASES.iter().any(|(_, code, _)| *code == info.code),
            "{} has no snapshot case",
            info.code
        );
        assert!(
            info.explanation.len() > 150 && info.explanation.contains("xample"),
            "{} needs a longer explanation with an example",
            info.code
        );
        assert!(info
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-'));
    }
    for (name, code, _) in CASES {
        assert!(name.starts_with(code), "{name} is not named after {code}");
        assert!(
            CHECK_CODES.iter().any(|c| c.code == *code),
            "{code} is not a checker code"
        );
    }
}

#[test]
fn codes_are_unique_and_in_range() {
    let mut seen = std::collections::HashSet::new();
    for info in agentpol_core::diag::codes::all() {
        assert!(seen.insert(info.code), "{} registered twice", info.code);
    }
    let mut names = std::collections::HashSet::new();
    for info in agentpol_core::diag::codes::all() {
        assert!(
            names.insert(info.name),
            "name {} registered twice",
            info.name
        );
    }
    for info in CHECK_CODES {
        let n: u32 = info.code[2..].parse().unwrap();
        assert!(
            (100..500).contains(&n),
            "{} outside AP0100-AP0499",
            info.code
        );
    }
}

#[test]
fn each_case_renders_its_code() {
    for (name, code, given) in CASES {
        let text = fixture(name, given);
        let c = shown(&compile_fixture(&text));
        let found = codes(&c);
        assert!(
            found.contains(code),
            "{name}: expected {code}, got {found:?}\n{}",
            rendered(&c)
        );
        // Errors, and only errors, take the policy away.
        let has_error = c.diagnostics.iter().any(|d| d.severity == Severity::Error);
        assert_eq!(c.policy.is_none(), has_error, "{name}");
        let out = if *name == "AP0321_set_too_large" {
            // The source is huge; keep the snapshot to the diagnostic of interest.
            c.diagnostics
                .iter()
                .filter(|d| d.code.code == *code)
                .map(|d| agentpol_core::diag::render_human(d, &c.sources, false, 100))
                .collect::<String>()
        } else {
            rendered(&c)
        };
        insta::assert_snapshot!(*name, out);
    }
}

#[test]
fn warnings_keep_the_policy() {
    for code in ["AP0307", "AP0319", "AP0406", "AP0407", "AP0408", "AP0410"] {
        let (name, _, given) = CASES.iter().find(|(_, c, _)| *c == code).unwrap();
        let c = compile_fixture(&fixture(name, given));
        assert!(
            c.policy.is_some(),
            "{code} should only warn:\n{}",
            rendered(&c)
        );
        assert!(c
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning));
    }
}
