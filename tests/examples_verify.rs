//! The bundled examples verify clean, or with exactly the findings listed here
//! (each one a real inconsistency in the example, reported to its authors).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_agentpolc");

/// (example, expected exit code, expected finding codes in order). All
/// verify clean: the findings the verifier first reported on them (four
/// AP0506 on the coding agent's web_fetch hosts, one AP0505 on the travel
/// skill's over-budget bookings) were real mistakes and are fixed.
const EXPECTED: &[(&str, i32, &[&str])] = &[
    ("examples/coding-agent/coding-agent.agentpol", 0, &[]),
    ("examples/openclaw/openclaw.agentpol", 0, &[]),
    (
        "examples/third-party-skill/travel-assistant.agentpol",
        0,
        &[],
    ),
];

#[test]
fn bundled_examples_verify_with_their_listed_findings() {
    for (file, code, findings) in EXPECTED {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let o = Command::new(BIN)
            .args(["verify", "--format", "json", &path])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{file}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
        let codes: Vec<&str> = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"].as_str().is_some_and(|c| c.starts_with("AP05")))
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert_eq!(&codes, findings, "{file}");
        assert_eq!(o.status.code(), Some(*code), "{file}");
    }
}
