//! Fuzz target: parse, check and format arbitrary input.
//!
//! Checks what the stable tests check, on inputs libFuzzer evolves: parsing
//! and checking never panic or overflow the stack; the checker yields a policy
//! exactly when it reports no error, and every diagnostic has a help line and
//! renders; a text that parses cleanly formats to a text with the same tree
//! (ignoring spans) and the same number of comments, and formatting that again
//! changes nothing.
//!
//! Run from `compiler/agentpol-core/` (needs a nightly toolchain and `cargo install cargo-fuzz`):
//!
//! ```sh
//! cargo +nightly fuzz run parse ../../tests/fuzz/corpus -- -max_total_time=300 -max_len=4096
//! ```
//!
//! libFuzzer writes new inputs into the corpus directory given first; keep
//! only the interesting ones (crashers) and name them `crash_*.agentpol`.
#![no_main]

use agentpol_core::format::format_source;
use agentpol_core::source::NoFiles;
use agentpol_core::span::FileId;
use agentpol_core::syntax::{parse, same_modulo_spans};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse(FileId(0), &text);
    for d in &parsed.diagnostics {
        assert!(d.primary.span.end as usize <= text.len());
    }
    let c = agentpol_core::compile("fuzz.agentpol", &text, &NoFiles);
    let errors = c.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(c.policy.is_some(), !errors);
    for d in &c.diagnostics {
        assert!(!d.help.is_empty(), "{} has no help", d.code.code);
        let _ = agentpol_core::diag::render_human(d, &c.sources, false, 100);
    }
    if let Ok(out) = format_source(FileId(0), &text) {
        assert!(parsed.diagnostics.is_empty());
        let again = parse(FileId(0), &out);
        assert!(again.diagnostics.is_empty(), "formatted text does not parse");
        assert!(same_modulo_spans(&parsed.ast, &again.ast), "tree changed");
        assert_eq!(again.comments.len(), parsed.comments.len(), "comments lost");
        let twice = format_source(FileId(0), &out).ok();
        assert_eq!(twice.as_deref(), Some(out.as_str()), "not idempotent");
    }
});
