//! Parse and format every file of `tests/fuzz/corpus/` (repo root) and a few
//! thousand deterministic mutations of them: no panic, and wherever a text
//! parses cleanly, formatting round-trips and is idempotent.

use agentpol_core::format::format_source;
use agentpol_core::span::FileId;
use agentpol_core::syntax::{parse, same_modulo_spans};
use std::path::PathBuf;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fuzz/corpus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("readable"))
        })
        .filter(|(n, _)| n.ends_with(".agentpol"))
        .collect();
    files.sort();
    files
}

/// Checks the invariants on one text; returns whether it parsed cleanly.
fn check(label: &str, text: &str) -> bool {
    let p = parse(FileId(0), text);
    for d in &p.diagnostics {
        assert!(
            d.primary.span.start <= d.primary.span.end && d.primary.span.end as usize <= text.len(),
            "{label}: diagnostic span out of range"
        );
    }
    assert!(p.diagnostics.len() <= 101, "{label}: too many diagnostics");
    match format_source(FileId(0), text) {
        Ok(out) => {
            assert!(
                p.diagnostics.is_empty(),
                "{label}: formatted despite errors"
            );
            let again = parse(FileId(0), &out);
            assert!(
                again.diagnostics.is_empty(),
                "{label}: output does not parse:\n{out}"
            );
            assert!(
                same_modulo_spans(&p.ast, &again.ast),
                "{label}: tree changed:\n{out}"
            );
            assert_eq!(
                again.comments.len(),
                p.comments.len(),
                "{label}: comments lost"
            );
            let twice = format_source(FileId(0), &out).ok();
            assert_eq!(
                twice.as_deref(),
                Some(out.as_str()),
                "{label}: not idempotent"
            );
            true
        }
        Err(d) => {
            assert!(!d.is_empty(), "{label}: refused without a diagnostic");
            false
        }
    }
}

#[test]
fn corpus_files() {
    let files = corpus();
    assert!(files.len() >= 30, "corpus missing? {} files", files.len());
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        let clean = check(name, &text);
        if name.starts_with("valid_") {
            assert!(clean, "{name} must parse without diagnostics");
        }
        if name.starts_with("garbage_") {
            assert!(!clean, "{name} must be rejected");
        }
    }
}

/// xorshift64*: deterministic, so a failure is reproducible from its label.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SNIPPETS: &[&[u8]] = &[
    b"{",
    b"}",
    b"(",
    b")",
    b"\"",
    b"not ",
    b" and ",
    b" or ",
    b"${",
    b"\\",
    b"#",
    b"\n",
    b"allow ",
    b"deny ",
    b"agent x {",
    b"skill s {",
    b"..",
    b"::",
    b"1.2.3.4/8",
    b"99999999999999999999",
    b"tool t(a: int) ",
    b"when ",
    b" in ",
    b"port ",
    b"any ",
    b",",
    b"@",
    b"'",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = v.len();
        let at = rng.below(len + 1);
        match rng.below(5) {
            0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                v.drain(at.min(end)..end);
            }
            1 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                v.splice(at..at, s.iter().copied());
            }
            2 => {
                let end = (at + 1 + rng.below(32)).min(len);
                let chunk: Vec<u8> = v[at.min(end)..end].to_vec();
                v.splice(at..at, chunk);
            }
            3 => v.truncate(at),
            _ => {
                if at < len {
                    v[at] = (rng.next() & 0x7f) as u8;
                }
            }
        }
    }
    v
}

#[test]
fn corpus_mutations() {
    let files = corpus();
    let per_file = 3000 / files.len().max(1);
    let mut clean = 0;
    let mut total = 0;
    for (name, bytes) in &files {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ bytes.len() as u64 ^ (name.len() as u64) << 32);
        for i in 0..per_file {
            let m = mutate(&mut rng, bytes);
            let text = String::from_utf8_lossy(&m);
            if check(&format!("{name} mutation {i}"), &text) {
                clean += 1;
            }
            total += 1;
        }
    }
    assert!(total >= 2900);
    // Some mutations (of comments, strings, whitespace) keep files valid, so
    // the formatter half of the check is exercised too.
    assert!(
        clean > 100,
        "only {clean} of {total} mutations parsed cleanly"
    );
}

/// Every policy in the repository, and every example block of the grammar,
/// parses without diagnostics and formats round-trip.
#[test]
fn repository_policies_parse_and_format() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut texts: Vec<(String, String)> = Vec::new();
    for dir in ["examples", "stdlib-policies"] {
        for path in walk(&root.join(dir)) {
            if path.extension().is_some_and(|x| x == "agentpol") {
                let text = std::fs::read_to_string(&path).expect("readable");
                texts.push((path.display().to_string(), text));
            }
        }
    }
    let grammar = std::fs::read_to_string(root.join("lang-spec/grammar.md")).expect("grammar.md");
    for (i, block) in grammar.split("```agentpol\n").skip(1).enumerate() {
        let body = block.split("```").next().unwrap_or("");
        texts.push((format!("grammar.md block {i}"), body.to_string()));
    }
    assert!(texts.len() >= 5, "policies missing? {}", texts.len());
    for (name, text) in &texts {
        let p = parse(FileId(0), text);
        assert!(
            p.diagnostics.is_empty(),
            "{name}: {} {}",
            p.diagnostics[0].code.code,
            p.diagnostics[0].message
        );
        assert!(check(name, text));
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
