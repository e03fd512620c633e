//! Differential tests: the Cedar engine, the decision index and the
//! reference evaluator must give the same answers on generated requests.
//!
//! Where the loss report says the Cedar encoding of a rule is approximate,
//! requests that rule could apply to are checked in the sound direction
//! only: Cedar may be stricter than the source, never laxer.
//!
//! Case counts: `AGENTPOL_DIFF_CASES` (requests per policy, default 10,000)
//! and `AGENTPOL_DIFF_POLICIES` (random policies: 6 in debug builds, i.e. in
//! `cargo test`; 40 with `--release`).

mod common;

use agentpol_testkit::policy_gen::{random_policy, random_requests};
use common::diff::{check, env_or};

#[test]
fn random_policies_cedar_index_eval_agree() {
    let policies = env_or("AGENTPOL_DIFF_POLICIES", 40, 6);
    let cases = env_or("AGENTPOL_DIFF_CASES", 10_000, 10_000);
    let (mut decided, mut errors, mut one_way) = (0, 0, 0);
    for seed in 0..policies as u64 {
        let rules = 5 + (seed as usize * 7) % 60;
        let policy = random_policy(seed, rules);
        let reqs = random_requests(&policy, seed ^ 0xabcd, cases);
        let (d, e, o) = check(&policy, &reqs);
        decided += d;
        errors += e;
        one_way += o;
    }
    eprintln!("decided {decided}, refused {errors}, checked one way {one_way}");
    // The generators must exercise both paths, or the test proves little.
    assert!(
        decided > errors * 2,
        "too few decided requests: {decided} vs {errors}"
    );
    assert!(errors > 0);
}
