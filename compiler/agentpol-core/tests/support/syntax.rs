//! Helpers shared by the syntax and formatter tests: parse one file, render
//! its diagnostics, dump its tree with spans.
#![allow(dead_code)]

use agentpol_core::diag::render_human;
use agentpol_core::source::SourceMap;
use agentpol_core::span::FileId;
use agentpol_core::syntax::{parse, ParsedFile};

/// Parses `text` as file 0 of a fresh source map.
pub fn parse0(text: &str) -> (SourceMap, ParsedFile) {
    let mut sources = SourceMap::new();
    let id = sources.add("test.agentpol", text);
    assert_eq!(id, FileId(0));
    (sources, parse(id, text))
}

/// Every diagnostic of `text`, rendered as the CLI would (no colour, width 100).
pub fn render_diags(text: &str) -> String {
    let (sources, parsed) = parse0(text);
    let mut out = String::new();
    for d in &parsed.diagnostics {
        out.push_str(&render_human(d, &sources, false, 100));
        out.push('\n');
    }
    out
}

/// The codes of the diagnostics of `text`, in order.
pub fn codes(text: &str) -> Vec<&'static str> {
    parse0(text)
        .1
        .diagnostics
        .iter()
        .map(|d| d.code.code)
        .collect()
}

/// The pretty `Debug` form of the tree, with every span replaced by
/// `@start..end "source text"` so a snapshot shows what each node covers.
pub fn dump(text: &str) -> String {
    let (_, parsed) = parse0(text);
    assert!(
        parsed.diagnostics.is_empty(),
        "unexpected diagnostics: {:#?}",
        parsed.diagnostics
    );
    replace_spans(&format!("{:#?}", parsed.ast), text)
}

fn replace_spans(debug: &str, text: &str) -> String {
    let mut out = String::new();
    let mut rest = debug;
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(close) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        let body = &after[..close];
        let num = |key: &str| -> usize {
            let k = body.find(key).expect("span field");
            body[k + key.len()..]
                .trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .expect("span number")
        };
        let (s, e) = (num("start:"), num("end:"));
        assert!(s <= e && e <= text.len(), "span {s}..{e} out of bounds");
        out.push_str(&format!("@{s}..{e} {:?}", &text[s..e]));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}
