use agentpol_verify::gen::{generate, GenConfig};
use agentpol_verify::{verify, Options};
use std::time::Instant;
fn main() {
    let (p, _) = generate(GenConfig {
        rules: 10000,
        agents: 10,
        planted: 100,
        seed: 42,
    });
    let mut q = p.clone();
    for a in &mut q.agents {
        a.rules
            .retain(|r| matches!(r.matcher, agentpol::ir::Matcher::Net { .. }));
        for s in &mut a.skills {
            s.rules.clear();
        }
    }
    let t = Instant::now();
    let rep = verify(
        &q,
        &Options {
            threads: 1,
            ..Options::default()
        },
    );
    println!(
        "net all agents: {:.2}s {:?}",
        t.elapsed().as_secs_f64(),
        rep.stats
    );
}
