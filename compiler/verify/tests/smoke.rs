use agentpol::diag::Severity;
use agentpol::ir::{Action, Effect};
use agentpol_verify::build::*;
use agentpol_verify::{verify, FindingKind, Options};

#[test]
fn smoke() {
    let a = agent(
        "a",
        vec![
            rule(
                "a/fs/1",
                Effect::Allow,
                Action::Read,
                fs(&["/work/docs/**"]),
                2,
            ),
            rule("a/fs/2", Effect::Deny, Action::Read, fs(&["/work/**"]), 3),
            rule("a/fs/3", Effect::Allow, Action::Read, fs(&["/srv/**"]), 4),
            rule(
                "a/fs/4",
                Effect::Allow,
                Action::Read,
                fs(&["/srv/www/*"]),
                5,
            ),
            rule(
                "a/fs/5",
                Effect::Deny,
                Action::Read,
                fs(&["/srv/www/.env"]),
                6,
            ),
        ],
        vec![skill(
            "s",
            vec![rule(
                "a.s/fs/1",
                Effect::Allow,
                Action::Read,
                fs(&["/etc/*"]),
                8,
            )],
        )],
    );
    let p = policy(vec![a], vec![], vec![]);
    let opts = Options {
        level: Severity::Info,
        ..Options::default()
    };
    let r = verify(&p, &opts);
    for f in &r.findings {
        eprintln!(
            "{:?} {} {:?} {:?} {:?}",
            f.kind,
            f.message,
            f.related
                .iter()
                .map(|x| x.id.to_string())
                .collect::<Vec<_>>(),
            f.witness.as_ref().map(agentpol_verify::request_json),
            f.reason
        );
    }
    eprintln!("{:?}", r.stats);
    let kinds: Vec<FindingKind> = r.findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FindingKind::Overridden));
    assert!(kinds.contains(&FindingKind::Redundant));
    assert!(kinds.contains(&FindingKind::SkillEscalation));
    assert!(kinds.contains(&FindingKind::PartialOverlap));
}
