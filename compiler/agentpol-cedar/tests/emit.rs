//! Emitted Cedar: snapshots of representative fixtures, and Cedar's strict
//! validator (called here directly, not through the crate) on fixtures and on
//! random policies.

mod common;

use agentpol_cedar::{emit, emit_files, files, CedarFiles};
use agentpol_core::ir::Policy;
use cedar_policy::{Entities, PolicySet, Schema, ValidationMode, Validator};
use std::str::FromStr;

fn text(out: &agentpol_core::backend::TargetOutput, name: &str) -> String {
    out.artifacts
        .iter()
        .find(|a| a.path == name)
        .map(|a| String::from_utf8_lossy(&a.contents).into_owned())
        .unwrap_or_else(|| panic!("no artifact {name}"))
}

/// Parses and validates with cedar-policy directly; returns the policy count
/// and the warnings as (`@rule` of the policy, message).
fn strict_validate(f: &CedarFiles) -> (usize, Vec<(String, String)>) {
    let (schema, warnings) = Schema::from_cedarschema_str(&f.schema).expect("schema parses");
    assert_eq!(warnings.count(), 0, "schema warnings");
    let policies = PolicySet::from_str(&f.policies).expect("policies parse");
    let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
    let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "strict validation failed: {errors:#?}\n{}",
        f.policies
    );
    let warnings = result
        .validation_warnings()
        .map(|w| {
            let text = w.to_string();
            let pid = text.split('`').nth(1).unwrap_or("");
            let rule = policies
                .policy(&cedar_policy::PolicyId::new(pid))
                .and_then(|p| p.annotation("rule"))
                .unwrap_or("")
                .to_string();
            (rule, text)
        })
        .collect();
    Entities::from_json_str(&f.entities, Some(&schema)).expect("entities conform");
    // Every policy has a unique @id (the Cedar CLI renames policies by it).
    let mut ids = std::collections::HashSet::new();
    for p in policies.policies() {
        let id = p.annotation("id").expect("every policy has an @id");
        assert!(ids.insert(id.to_string()), "duplicate @id {id}");
    }
    (policies.num_of_policies(), warnings)
}

fn snapshot_all(name: &str, policy: &Policy) {
    let out = emit(policy);
    assert!(
        out.diagnostics.iter().all(|d| !d.is_error()),
        "errors: {:?}",
        out.diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    insta::assert_snapshot!(format!("{name}_schema"), text(&out, files::SCHEMA));
    insta::assert_snapshot!(format!("{name}_policies"), text(&out, files::POLICIES));
    insta::assert_snapshot!(format!("{name}_entities"), text(&out, files::ENTITIES));
    insta::assert_json_snapshot!(format!("{name}_loss"), out.loss);
    let f = CedarFiles::from_artifacts(&out.artifacts).expect("four files");
    let (count, warnings) = strict_validate(&f);
    assert!(count > 0);
    // Cedar warns only about permits narrowed to nothing (`when { false }`),
    // and those are in the loss report.
    for (rule, text) in warnings {
        assert!(
            text.contains("impossible") && out.loss.iter().any(|l| l.rule.0 == rule),
            "unexpected validation warning for {rule:?}: {text}"
        );
    }
}

#[test]
fn openclaw_fixture() {
    let (policy, _) = common::openclaw();
    snapshot_all("openclaw", &policy);
}

#[test]
fn glob_shapes_fixture() {
    let policy = common::globs();
    snapshot_all("globs", &policy);
    // Exactly the shapes Cedar cannot express are in the loss report, each
    // with an allow narrowed and a deny widened.
    let out = emit(&policy);
    let mut lossy: Vec<String> = out
        .loss
        .iter()
        .filter_map(|l| {
            policy.agents[0]
                .rules
                .iter()
                .find(|r| r.id == l.rule)
                .and_then(|r| match &r.matcher {
                    agentpol_core::ir::Matcher::Fs { globs } => {
                        Some(format!("{} {:?}", globs[0].pattern, l.approximation))
                    }
                    _ => None,
                })
        })
        .collect();
    lossy.sort();
    assert_eq!(
        lossy,
        [
            "/a/**/x*/**/b AllowNarrowed",
            "/a/**/x*/**/b DenyWidened",
            "/d/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/*.deep/** AllowNarrowed",
            "/d/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/*.deep/** DenyWidened",
            "/data/report-?.csv AllowNarrowed",
            "/data/report-?.csv DenyWidened",
            "/x/[!a]* AllowNarrowed",
            "/x/[!a]* DenyWidened",
        ]
    );
}

#[test]
fn tools_fixture() {
    snapshot_all("tools", &common::tools());
}

#[test]
fn random_policies_pass_strict_validation() {
    for seed in 0..60u64 {
        let policy = agentpol_testkit::policy_gen::random_policy(seed, (seed as usize * 13) % 90);
        let (f, _, diags) = emit_files(&policy);
        let f = f.unwrap_or_else(|| {
            panic!(
                "seed {seed}: {:?}",
                diags.iter().map(|d| &d.message).collect::<Vec<_>>()
            )
        });
        strict_validate(&f);
    }
}

#[test]
fn empty_policy_is_valid_cedar() {
    let policy = agentpol_testkit::policy_gen::PolicyBuilder::new("empty.agentpol").build();
    let (f, loss, diags) = emit_files(&policy);
    assert!(diags.is_empty() && loss.is_empty());
    assert_eq!(strict_validate(&f.expect("files")).0, 0);
}
