//! The checker never panics: random edits of real policies (token deletions,
//! duplications and swaps) compile to a policy or to diagnostics, and the
//! policy is present exactly when there is no error.

use agentpol_core::source::NoFiles;
use proptest::prelude::*;

fn corpus() -> Vec<String> {
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for p in [
        "examples/coding-agent/coding-agent.agentpol",
        "examples/openclaw/openclaw.agentpol",
        "examples/third-party-skill/travel-assistant.agentpol",
        "stdlib-policies/openclaw.agentpol",
        "stdlib-policies/secrets.agentpol",
    ] {
        out.push(std::fs::read_to_string(format!("{root}/{p}")).unwrap());
    }
    out
}

/// Splits into whitespace-separated words (keeping the separators) so edits
/// produce plausible, mostly-lexable text.
fn words(text: &str) -> Vec<&str> {
    text.split_inclusive(char::is_whitespace).collect()
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Replace(usize, &'static str),
}

const INSERTS: &[&str] = &[
    "~ ",
    "\"~/x\" ",
    "ask ",
    "deny ",
    "{ ",
    "} ",
    "\"a**\" ",
    "10.0.0.1/8 ",
    "port 0 ",
    "include ",
    "skill s { } ",
    "param ",
    "not ",
    "or ",
    "\"${X}\" ",
    "secrets::aws ",
    "\"*.x.*\" ",
    "home \"/h\" ",
    "1..0 ",
    ", ",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), 0..INSERTS.len()).prop_map(|(a, i)| Edit::Replace(a, INSERTS[i])),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut w: Vec<String> = words(text).into_iter().map(String::from).collect();
    for e in edits {
        if w.is_empty() {
            break;
        }
        let n = w.len();
        match e {
            Edit::Delete(i) => {
                w.remove(i % n);
            }
            Edit::Duplicate(i) => {
                let x = w[i % n].clone();
                w.insert(i % n, x);
            }
            Edit::Swap(a, b) => w.swap(a % n, b % n),
            Edit::Replace(i, s) => w[i % n] = (*s).to_string(),
        }
    }
    w.concat()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn edited_policies_never_panic(which in 0usize..5, edits in proptest::collection::vec(edit(), 1..6)) {
        let corpus = corpus();
        let text = apply(&corpus[which], &edits);
        let c = agentpol_core::compile("root.agentpol", &text, &NoFiles);
        let errors = c.diagnostics.iter().any(|d| d.is_error());
        prop_assert_eq!(c.policy.is_some(), !errors);
        for d in &c.diagnostics {
            prop_assert!(!d.help.is_empty(), "{} has no help", d.code.code);
            let _ = agentpol_core::diag::render_human(d, &c.sources, false, 100);
        }
    }
}
