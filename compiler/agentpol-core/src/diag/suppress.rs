//! Suppressing a warning in the source: a comment `#[allow(AP0502)]` (or
//! `#[allow(AP0502, AP0705)]`) on its own line silences those codes on the
//! item that follows it — a top-level item, an agent member (a rule block,
//! an include) or one rule — and nowhere else.
//!
//! The form is a comment so that a compiler which does not know it still
//! reads the file, and so the formatter keeps it where it was written.
//! Errors cannot be allowed: a policy the compiler rejects stays rejected.
//! A pragma that silences nothing in a run that could have produced its code
//! is itself a warning (AP0411), so stale suppressions do not pile up; a
//! malformed one, or one that names an unknown code or is followed by no
//! item, is AP0412.

use super::codes::{INVALID_ALLOW, UNUSED_ALLOW};
use super::{Diag, Severity};
use crate::span::Span;
use crate::syntax::ast::{File, Item, Member};
use crate::syntax::ParsedFile;

/// One `#[allow(…)]` comment and what it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pragma {
    /// The comment.
    pub span: Span,
    /// The codes named, upper-cased, each with its place in the comment.
    pub codes: Vec<(String, Span)>,
    /// The item it applies to.
    pub target: Span,
}

/// The pragmas of one parsed file, and AP0412 for malformed ones.
pub fn pragmas(parsed: &ParsedFile) -> (Vec<Pragma>, Vec<Diag>) {
    let items = item_spans(&parsed.ast);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for c in &parsed.comments {
        let Some(body) = c.text.strip_prefix("#[allow") else {
            continue;
        };
        let codes = match parse_codes(body) {
            Some(codes) if !codes.is_empty() => codes,
            _ => {
                diags.push(
                    Diag::warning(&INVALID_ALLOW, c.span, "this `#[allow` comment is not a suppression")
                        .label("not of the form `#[allow(CODE, …)]`")
                        .help("write `#[allow(AP0502)]` alone on the line before the rule, or drop the `[` to make it a plain comment"),
                );
                continue;
            }
        };
        let base = c.span.start as usize + "#[allow(".len();
        let codes = codes
            .into_iter()
            .map(|(code, at, len)| {
                let start = base + at;
                (
                    code.to_ascii_uppercase(),
                    Span::new(c.span.file, start, start + len),
                )
            })
            .collect();
        // The item that starts first after the comment; of several starting
        // there (an agent and nothing smaller), the widest.
        let target = items
            .iter()
            .filter(|s| s.file == c.span.file && s.start >= c.span.end)
            .min_by_key(|s| (s.start, u32::MAX - s.end));
        match target {
            Some(t) => out.push(Pragma {
                span: c.span,
                codes,
                target: *t,
            }),
            None => diags.push(
                Diag::warning(
                    &INVALID_ALLOW,
                    c.span,
                    "this `#[allow(…)]` is followed by no item",
                )
                .label("applies to nothing")
                .help("put it on the line before the rule or block whose warning it silences"),
            ),
        }
    }
    (out, diags)
}

/// `(CODE, CODE)]` after `#[allow`: the codes with their byte offset and
/// length relative to the text after `(`; `None` when malformed.
fn parse_codes(body: &str) -> Option<Vec<(String, usize, usize)>> {
    let inner = body.strip_prefix('(')?;
    let close = inner.find(")]")?;
    if !inner[close + 2..].trim().is_empty() && !inner[close + 2..].trim_start().starts_with('#') {
        return None;
    }
    let mut codes = Vec::new();
    let mut at = 0;
    for part in inner[..close].split(',') {
        let lead = part.len() - part.trim_start().len();
        let code = part.trim();
        let ok = code.len() == 6
            && code[..2].eq_ignore_ascii_case("AP")
            && code[2..].bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return None;
        }
        codes.push((code.to_owned(), at + lead, code.len()));
        at += part.len() + 1;
    }
    Some(codes)
}

/// Spans a pragma can attach to: items, agent/profile/skill members, rules.
fn item_spans(file: &File) -> Vec<Span> {
    let mut out = Vec::new();
    for item in &file.items {
        out.push(item.span());
        if let Item::Agent(b) | Item::Profile(b) = item {
            members(&b.members, &mut out);
        }
    }
    out
}

fn members(ms: &[Member], out: &mut Vec<Span>) {
    for m in ms {
        match m {
            Member::Home(_, s)
            | Member::Resolvers(_, s)
            | Member::Include(_, s)
            | Member::Error(s) => out.push(*s),
            Member::Scope(d) => out.push(d.span),
            Member::Selector(d) => out.push(d.span),
            Member::Fs(b) => {
                out.push(b.span);
                out.extend(b.rules.iter().map(|r| r.span));
            }
            Member::Exec(b) => {
                out.push(b.span);
                out.extend(b.rules.iter().map(|r| r.span));
            }
            Member::Net(b) => {
                out.push(b.span);
                out.extend(b.rules.iter().map(|r| r.span));
            }
            Member::Secrets(b) => {
                out.push(b.span);
                out.extend(b.rules.iter().map(|r| r.span));
            }
            Member::Tool(t) => {
                out.push(t.span);
                out.extend(t.rules.iter().map(|r| r.span));
            }
            Member::Skill(b) => {
                out.push(b.span);
                members(&b.members, out);
            }
        }
    }
}

/// Drops the warnings and infos the pragmas cover and adds AP0411 for each
/// code a pragma names that silenced nothing, and AP0412 for a code that is
/// not registered or names an error. `known(code)` says whether a code is
/// registered; `ran(code)` whether this run could have produced it (a `check`
/// never sees the verifier's findings, so it must not call their pragmas
/// unused).
pub fn apply(
    diags: Vec<Diag>,
    pragmas: &[Pragma],
    known: &dyn Fn(&str) -> bool,
    ran: &dyn Fn(&str) -> bool,
) -> Vec<Diag> {
    let covers = |p: &Pragma, d: &Diag| {
        let s = d.primary.span;
        s.file == p.target.file && s.start >= p.target.start && s.end <= p.target.end
    };
    let mut used = vec![Vec::new(); pragmas.len()];
    let mut kept = Vec::with_capacity(diags.len());
    for d in diags {
        let mut silenced = false;
        if d.severity != Severity::Error {
            for (i, p) in pragmas.iter().enumerate() {
                if covers(p, &d) && p.codes.iter().any(|(c, _)| c == d.code.code) {
                    used[i].push(d.code.code);
                    silenced = true;
                }
            }
        }
        if !silenced {
            kept.push(d);
        }
    }
    for (p, used) in pragmas.iter().zip(used) {
        for (code, span) in &p.codes {
            if !known(code) {
                kept.push(
                    Diag::warning(
                        &INVALID_ALLOW,
                        *span,
                        format!("{code} is not a diagnostic code"),
                    )
                    .label("unknown code")
                    .help("`agentpolc explain --list` lists the codes"),
                );
            } else if kept
                .iter()
                .any(|d| d.code.code == code && d.severity == Severity::Error && covers(p, d))
            {
                kept.push(
                    Diag::warning(
                        &INVALID_ALLOW,
                        *span,
                        format!("{code} is an error here and cannot be allowed"),
                    )
                    .label("errors cannot be silenced")
                    .help("fix the error; only warnings and infos can be allowed"),
                );
            } else if ran(code) && !used.iter().any(|u| u == code) {
                kept.push(
                    Diag::warning(
                        &UNUSED_ALLOW,
                        *span,
                        format!("`#[allow({code})]` silences nothing"),
                    )
                    .label("no such warning on the item below")
                    .help("remove it (the warning it was written for is gone)"),
                );
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::codes::DUPLICATE_ACTION;
    use crate::span::FileId;

    const SRC: &str = "agent a {\n  fs {\n    #[allow(AP0410)]\n    allow read, read \"/usr/**\"\n    allow read, read \"/opt/**\"\n  }\n}\n";

    fn at(text: &str) -> Span {
        let start = SRC.find(text).unwrap();
        Span::new(FileId::default(), start, start + text.len())
    }

    fn warn(span: Span) -> Diag {
        Diag::warning(&DUPLICATE_ACTION, span, "dup")
    }

    fn run(diags: Vec<Diag>) -> Vec<(String, String)> {
        let parsed = crate::syntax::parse(FileId::default(), SRC);
        let (ps, bad) = pragmas(&parsed);
        assert!(bad.is_empty());
        apply(diags, &ps, &|c| crate::diag::lookup(c).is_some(), &|_| true)
            .into_iter()
            .map(|d| {
                (
                    d.code.code.to_owned(),
                    SRC[d.primary.span.start as usize..d.primary.span.end as usize].to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_pragma_covers_the_next_rule_only() {
        let first = at("allow read, read \"/usr/**\"");
        let second = at("allow read, read \"/opt/**\"");
        assert_eq!(
            run(vec![warn(first), warn(second)]),
            [(
                "AP0410".to_owned(),
                SRC[second.start as usize..second.end as usize].to_owned()
            )]
        );
    }

    #[test]
    fn an_unused_pragma_and_an_error_are_reported() {
        let second = at("allow read, read \"/opt/**\"");
        let got = run(vec![warn(second)]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], ("AP0411".to_owned(), "AP0410".to_owned()));
        // An error with the allowed code stays, and the pragma says it cannot silence it.
        let first = at("allow read, read \"/usr/**\"");
        let got = run(vec![Diag::error(&DUPLICATE_ACTION, first, "dup")]);
        let codes: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, ["AP0410", "AP0412"]);
    }

    #[test]
    fn codes_parse_with_their_offsets() {
        assert_eq!(
            parse_codes("(AP0502, ap0705)]"),
            Some(vec![("AP0502".into(), 0, 6), ("ap0705".into(), 8, 6)])
        );
        assert_eq!(
            parse_codes("(AP0502)] # why"),
            Some(vec![("AP0502".into(), 0, 6)])
        );
        for bad in ["AP0502)]", "(AP05)]", "(AP0502", "(AP0502)] more", "(foo)]"] {
            assert_eq!(parse_codes(bad), None, "{bad}");
        }
    }
}
