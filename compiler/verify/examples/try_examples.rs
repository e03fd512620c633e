fn main() {
    for f in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&f).unwrap();
        let comp = agentpol::compile(&f, &text, &agentpol::source::NoFiles);
        let Some(p) = comp.policy.as_ref() else {
            for d in &comp.diagnostics {
                eprint!(
                    "{}",
                    agentpol::diag::render_human(d, &comp.sources, false, 100)
                );
            }
            println!("{f}: no policy ({} diagnostics)", comp.diagnostics.len());
            continue;
        };
        let t = std::time::Instant::now();
        let rep = agentpol_verify::verify(
            p,
            &agentpol_verify::Options {
                level: agentpol::diag::Severity::Info,
                ..Default::default()
            },
        );
        println!(
            "{f}: {} rules, {} findings in {:?}",
            p.all_rules().count(),
            rep.findings.len(),
            t.elapsed()
        );
        for fi in &rep.findings {
            if fi.severity >= agentpol::diag::Severity::Warning
                || matches!(fi.kind, agentpol_verify::FindingKind::AssertionProved)
            {
                eprint!(
                    "{}",
                    agentpol::diag::render_human(&fi.to_diag(), &comp.sources, false, 110)
                );
            }
        }
        let counts: std::collections::BTreeMap<String, usize> =
            rep.findings.iter().fold(Default::default(), |mut m, f| {
                *m.entry(format!("{:?}", f.kind)).or_default() += 1;
                m
            });
        println!("  {counts:?}");
    }
}
