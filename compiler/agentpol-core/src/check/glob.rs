//! Path patterns: validation, brace expansion, normalisation and `~`
//! (semantics.md §3).
//!
//! A pattern is validated once where it is written ([`parse_path_pattern`]),
//! giving [`PathPat`]s whose `~` is still pending; it is placed into an agent
//! with [`PathPat::expand`], which prepends the agent's home. That way a
//! profile or a module-level set is checked once but expanded per agent.

use super::lit::LitError;
use crate::diag::codes;
use crate::ir::{Glob, Piece, Segment};

/// Brace expansion limit per pattern (semantics.md §3).
pub const MAX_ALTERNATIVES: usize = 256;

/// One validated path glob, `~` not yet expanded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathPat {
    /// Written with a leading `~`: the agent's home goes in front of `segments`.
    pub tilde: bool,
    /// Segments after `/` (or after the home, for `~` patterns).
    pub segments: Vec<Segment>,
    /// [`render`] of `segments`, kept so expansion is a concatenation.
    pub rendered: String,
}

/// A validated `home`: a literal absolute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    /// Canonical text, e.g. `/home/agent`.
    pub text: String,
    /// Its segments (all literal).
    pub segments: Vec<Segment>,
}

impl PathPat {
    /// The glob placed in an agent with `home`; `None` if it needs a home and
    /// there is none.
    pub fn expand(&self, home: Option<&Home>) -> Option<Glob> {
        if !self.tilde {
            return Some(Glob {
                pattern: self.rendered.clone(),
                segments: self.segments.clone(),
            });
        }
        let home = home?;
        let mut segments = Vec::with_capacity(home.segments.len() + self.segments.len());
        segments.extend(home.segments.iter().cloned());
        segments.extend(self.segments.iter().cloned());
        let pattern = if self.segments.is_empty() {
            home.text.clone()
        } else if home.segments.is_empty() {
            self.rendered.clone()
        } else {
            format!("{}{}", home.text, self.rendered)
        };
        Some(Glob { pattern, segments })
    }

    /// [`PathPat::expand`], reusing this pattern's allocations.
    pub fn into_glob(self, home: Option<&Home>) -> Option<Glob> {
        if self.tilde {
            self.expand(home)
        } else {
            Some(Glob {
                pattern: self.rendered,
                segments: self.segments,
            })
        }
    }

    fn new(tilde: bool, segments: Vec<Segment>) -> Self {
        let rendered = render(&segments);
        PathPat {
            tilde,
            segments,
            rendered,
        }
    }

    /// The pattern as written after normalisation, `~` kept (for `SecretInfo::files`).
    pub fn display(&self) -> String {
        if self.tilde {
            if self.segments.is_empty() {
                "~".to_string()
            } else {
                format!("~{}", self.rendered)
            }
        } else {
            self.rendered.clone()
        }
    }
}

/// Validated alternatives of one pattern, plus warnings (not-normalised).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// One per brace alternative, duplicates removed, in expansion order.
    pub pats: Vec<PathPat>,
    /// Warnings (AP0307).
    pub warnings: Vec<LitError>,
}

/// Validates a path pattern (after `${}` interpolation) and expands its braces.
pub fn parse_path_pattern(text: &str) -> Result<Parsed, LitError> {
    if !text.contains(['{', '}']) {
        let (pat, warn) = parse_one(text, text)?;
        return Ok(Parsed {
            pats: vec![pat],
            warnings: warn.into_iter().collect(),
        });
    }
    let alternatives = expand_braces(text)?;
    let mut out = Parsed::default();
    let mut seen = std::collections::HashSet::new();
    let mut warned = false;
    for alt in alternatives {
        let (pat, warn) = parse_one(&alt, text)?;
        if let Some(w) = warn {
            if !warned {
                warned = true;
                out.warnings.push(w);
            }
        }
        if seen.insert(pat.clone()) {
            out.pats.push(pat);
        }
    }
    Ok(out)
}

/// The IR glob of one absolute pattern without braces or `~`, exactly as the
/// checker builds it: for code that builds IR by hand (tests, generators,
/// benchmarks), so that it cannot build a glob the language could not.
pub fn parse_glob(text: &str) -> Result<Glob, LitError> {
    let parsed = parse_path_pattern(text)?;
    match parsed.pats.as_slice() {
        [one] if !one.tilde => Ok(Glob {
            pattern: one.rendered.clone(),
            segments: one.segments.clone(),
        }),
        _ => Err(glob_err(
            format!("`{text}` is not one absolute glob"),
            "give an absolute pattern without `~` or `{a,b}`",
        )),
    }
}

/// Validates a `home` path: absolute, normalised (with a warning), no wildcards.
pub fn parse_home(text: &str) -> Result<(Home, Option<LitError>), LitError> {
    if text.starts_with('~') {
        return Err(LitError::new(
            &codes::INVALID_HOME,
            format!("`home` cannot start with `~`: {text:?}"),
            "`~` is what `home` defines; write the absolute path, e.g. `home \"/home/agent\"`",
        ));
    }
    if let Some(c) = text.chars().find(|c| "*?[]{}\\".contains(*c)) {
        return Err(LitError::new(
            &codes::INVALID_HOME,
            format!("`home` contains `{c}`: {text:?}"),
            "`home` is a plain directory path, without wildcards, braces or escapes",
        ));
    }
    let (pat, warn) = parse_one(text, text).map_err(|e| {
        if e.code == &codes::RELATIVE_PATH {
            LitError::new(
                &codes::INVALID_HOME,
                format!("`home` must be an absolute path: {text:?}"),
                "write an absolute path, e.g. `home \"/home/agent\"`",
            )
        } else {
            e
        }
    })?;
    Ok((
        Home {
            text: pat.rendered,
            segments: pat.segments,
        },
        warn,
    ))
}

/// Canonical text of a segment list: `/` for none.
pub fn render(segments: &[Segment]) -> String {
    if segments.is_empty() {
        return "/".to_string();
    }
    let mut out = String::new();
    for s in segments {
        out.push('/');
        match s {
            Segment::Lit(l) => escape_into(&mut out, l),
            Segment::Any => out.push_str("**"),
            Segment::Wild(pieces) => {
                for p in pieces {
                    match p {
                        Piece::Lit(l) => escape_into(&mut out, l),
                        Piece::Star => out.push('*'),
                        Piece::Any => out.push('?'),
                        Piece::Class { negated, ranges } => {
                            out.push('[');
                            if *negated {
                                out.push('!');
                            }
                            for (lo, hi) in ranges {
                                class_char_into(&mut out, *lo);
                                if lo != hi {
                                    out.push('-');
                                    class_char_into(&mut out, *hi);
                                }
                            }
                            out.push(']');
                        }
                    }
                }
            }
        }
    }
    out
}

fn escape_into(out: &mut String, lit: &str) {
    for c in lit.chars() {
        if "*?[]{}\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
}

fn class_char_into(out: &mut String, c: char) {
    if "]\\-!^[{}".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

fn glob_err(message: impl Into<String>, help: impl Into<String>) -> LitError {
    LitError::new(&codes::INVALID_GLOB, message, help)
}

/// Finds the end of a class starting at `chars[start] == '['`; returns the
/// index of its closing `]`. `]` right after `[` (or `[!`, `[^`) is literal.
fn class_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if matches!(chars.get(i), Some('!' | '^')) {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => i += 2,
            ']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Expands `{a,b}` alternatives (no nesting, no `/` inside), escapes and
/// classes left in place for [`parse_one`].
fn expand_braces(text: &str) -> Result<Vec<String>, LitError> {
    enum Part {
        Text(String),
        Alt(Vec<String>),
    }
    let chars: Vec<char> = text.chars().collect();
    let mut parts: Vec<Part> = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    cur.push(n);
                }
                i += 2;
            }
            '[' => {
                let end = class_end(&chars, i).ok_or_else(|| {
                    glob_err(
                        format!("unclosed `[` in {text:?}"),
                        "close the class with `]`, or write `\\\\[` for a literal bracket",
                    )
                })?;
                cur.extend(chars.get(i..=end).unwrap_or(&[]));
                i = end + 1;
            }
            '}' => {
                return Err(glob_err(
                    format!("`}}` without `{{` in {text:?}"),
                    "write `\\\\}` for a literal brace",
                ))
            }
            '{' => {
                parts.push(Part::Text(std::mem::take(&mut cur)));
                let mut alts = Vec::new();
                let mut alt = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(glob_err(
                                format!("unclosed `{{` in {text:?}"),
                                "close the alternatives with `}`, or write `\\\\{` for a literal brace",
                            ))
                        }
                        Some('\\') => {
                            alt.push('\\');
                            if let Some(&n) = chars.get(j + 1) {
                                alt.push(n);
                            }
                            j += 2;
                        }
                        Some('[') => {
                            let end = class_end(&chars, j).ok_or_else(|| {
                                glob_err(
                                    format!("unclosed `[` in {text:?}"),
                                    "close the class with `]`, or write `\\\\[` for a literal bracket",
                                )
                            })?;
                            alt.extend(chars.get(j..=end).unwrap_or(&[]));
                            j = end + 1;
                        }
                        Some('{') => {
                            return Err(glob_err(
                                format!("nested braces in {text:?}"),
                                "braces do not nest; write the alternatives out: `{a,b,c}`",
                            ))
                        }
                        Some('/') => {
                            return Err(glob_err(
                                format!("an alternative contains `/` in {text:?}"),
                                "alternatives match within one segment; write separate patterns in a set: `{ \"/a/b\", \"/c\" }`",
                            ))
                        }
                        Some(',') => {
                            alts.push(std::mem::take(&mut alt));
                            j += 1;
                        }
                        Some('}') => {
                            alts.push(std::mem::take(&mut alt));
                            j += 1;
                            break;
                        }
                        Some(&c) => {
                            alt.push(c);
                            j += 1;
                        }
                    }
                }
                parts.push(Part::Alt(alts));
                i = j;
            }
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
    parts.push(Part::Text(cur));
    let mut count: usize = 1;
    for p in &parts {
        if let Part::Alt(a) = p {
            count = count.saturating_mul(a.len().max(1));
        }
    }
    if count > MAX_ALTERNATIVES {
        return Err(LitError::new(
            &codes::TOO_MANY_ALTERNATIVES,
            format!("{text:?} expands to {count} alternatives (at most {MAX_ALTERNATIVES})"),
            "use `*`, `?` or a class like `[0-9]` instead of long alternative lists, or split the pattern",
        ));
    }
    let mut out = vec![String::new()];
    for p in parts {
        match p {
            Part::Text(t) => {
                for o in &mut out {
                    o.push_str(&t);
                }
            }
            Part::Alt(alts) => {
                let mut next = Vec::with_capacity(out.len() * alts.len());
                for o in &out {
                    for a in &alts {
                        next.push(format!("{o}{a}"));
                    }
                }
                out = next;
            }
        }
    }
    Ok(out)
}

/// Parses one brace-free pattern. `whole` is the pattern as written, for messages.
fn parse_one(text: &str, whole: &str) -> Result<(PathPat, Option<LitError>), LitError> {
    let (tilde, rest) = match text.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => (true, r),
        _ => (false, text),
    };
    if !tilde && !rest.starts_with('/') {
        let help = if text.starts_with('~') {
            "`~` expands only alone or before `/` (`~/x`); `~user` is not supported: write the absolute path"
                .to_string()
        } else if text.is_empty() {
            "write an absolute path".to_string()
        } else {
            format!("write an absolute path, or `~/{text}` for a path under the agent's home")
        };
        return Err(LitError::new(
            &codes::RELATIVE_PATH,
            format!("the path {whole:?} is not absolute"),
            help,
        ));
    }
    let raw_segments = split_segments(rest, whole)?;
    let mut segments = Vec::with_capacity(raw_segments.len());
    let mut not_normal = false;
    for (idx, raw) in raw_segments.into_iter().enumerate() {
        if raw.is_empty() {
            // The leading `/` (or a lone `~`) gives an empty first segment, and
            // the root `/` an empty second one; both are expected.
            if idx != 0 && (tilde || rest != "/") {
                not_normal = true;
            }
            continue;
        }
        let seg = parse_segment(raw, whole)?;
        if let Segment::Lit(l) = &seg {
            if l == ".." {
                return Err(LitError::new(
                    &codes::DOTDOT_SEGMENT,
                    format!("the path {whole:?} contains a `..` segment"),
                    "`..` cannot be resolved without the file system; write the path without it",
                ));
            }
            if l == "." {
                not_normal = true;
                continue;
            }
        }
        segments.push(seg);
    }
    let warn = not_normal.then(|| {
        let pat = PathPat::new(tilde, segments.clone());
        LitError::new(
            &codes::PATH_NOT_NORMALISED,
            format!("the path {whole:?} is not normalised"),
            format!(
                "it is read as {:?}; write that to silence this warning",
                pat.display()
            ),
        )
    });
    Ok((PathPat::new(tilde, segments), warn))
}

/// Splits at unescaped `/` outside classes into raw segments (slices of
/// `text`, escapes kept). The delimiters are ASCII, so scanning bytes is
/// safe on UTF-8.
fn split_segments<'t>(text: &'t str, whole: &str) -> Result<Vec<&'t str>, LitError> {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|b| *b == b'\\' || *b == b'[') {
        return Ok(text.split('/').collect());
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => match bytes.get(i + 1) {
                None => {
                    return Err(glob_err(
                        format!("trailing backslash in {whole:?}"),
                        "a backslash escapes the next character; write `\\\\\\\\` for a literal backslash",
                    ))
                }
                Some(b'/') => {
                    return Err(glob_err(
                        format!("escaped `/` in {whole:?}"),
                        "a path segment cannot contain `/`",
                    ))
                }
                // Skip the escaped character whole (it may be multi-byte).
                Some(_) => {
                    i += 1 + text.get(i + 1..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8);
                }
            },
            b'[' => {
                let chars: Vec<char> = text.get(i..).unwrap_or("").chars().collect();
                let end = class_end(&chars, 0).ok_or_else(|| {
                    glob_err(
                        format!("unclosed `[` in {whole:?}"),
                        "close the class with `]`, or write `\\\\[` for a literal bracket",
                    )
                })?;
                let class: String = chars.get(..=end).unwrap_or(&[]).iter().collect();
                if class.contains('/') {
                    return Err(glob_err(
                        format!("a class contains `/` in {whole:?}"),
                        "nothing matches across `/`; a class matches one character within a segment",
                    ));
                }
                i += class.len();
            }
            b'/' => {
                out.push(text.get(start..i).unwrap_or(""));
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push(text.get(start..).unwrap_or(""));
    Ok(out)
}

/// Parses one raw segment (escapes and classes still in it).
fn parse_segment(raw: &str, whole: &str) -> Result<Segment, LitError> {
    if raw == "**" {
        return Ok(Segment::Any);
    }
    if !raw.bytes().any(|b| matches!(b, b'\\' | b'*' | b'?' | b'[')) {
        return Ok(Segment::Lit(raw.to_string()));
    }
    let chars: Vec<char> = raw.chars().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut lit = String::new();
    let flush = |lit: &mut String, pieces: &mut Vec<Piece>| {
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(lit)));
        }
    };
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                // split_segments guarantees an escaped character follows.
                if let Some(&n) = chars.get(i + 1) {
                    lit.push(n);
                }
                i += 2;
            }
            '*' => {
                if chars.get(i + 1) == Some(&'*') {
                    return Err(glob_err(
                        format!("`**` inside the segment {raw:?} of {whole:?}"),
                        "`**` matches whole segments and must stand alone between `/`s; within a segment write `*`",
                    ));
                }
                flush(&mut lit, &mut pieces);
                pieces.push(Piece::Star);
                i += 1;
            }
            '?' => {
                flush(&mut lit, &mut pieces);
                pieces.push(Piece::Any);
                i += 1;
            }
            '[' => {
                let end = class_end(&chars, i).ok_or_else(|| {
                    glob_err(
                        format!("unclosed `[` in {whole:?}"),
                        "close the class with `]`, or write `\\\\[` for a literal bracket",
                    )
                })?;
                flush(&mut lit, &mut pieces);
                pieces.push(parse_class(chars.get(i + 1..end).unwrap_or(&[]), whole)?);
                i = end + 1;
            }
            _ => {
                lit.push(c);
                i += 1;
            }
        }
    }
    flush(&mut lit, &mut pieces);
    match pieces.as_slice() {
        [] => Ok(Segment::Lit(String::new())),
        [Piece::Lit(l)] => Ok(Segment::Lit(l.clone())),
        _ => Ok(Segment::Wild(pieces)),
    }
}

/// Parses the inside of `[...]`.
fn parse_class(inner: &[char], whole: &str) -> Result<Piece, LitError> {
    let mut i = 0;
    let negated = matches!(inner.first(), Some('!' | '^'));
    if negated {
        i = 1;
    }
    // Decode escapes first, remembering which characters were escaped (an
    // escaped `-` is a literal, never a range operator).
    let mut items: Vec<(char, bool)> = Vec::new();
    while let Some(&c) = inner.get(i) {
        if c == '\\' {
            match inner.get(i + 1) {
                Some(&n) => items.push((n, true)),
                None => {
                    return Err(glob_err(
                        format!("trailing backslash in a class in {whole:?}"),
                        "write `\\\\]` for a literal bracket inside a class",
                    ))
                }
            }
            i += 2;
        } else {
            items.push((c, false));
            i += 1;
        }
    }
    let mut ranges = Vec::new();
    let mut k = 0;
    while let Some(&(c, _)) = items.get(k) {
        match (items.get(k + 1), items.get(k + 2)) {
            (Some(&('-', false)), Some(&(hi, _))) => {
                if hi < c {
                    return Err(glob_err(
                        format!("the class range `{c}-{hi}` in {whole:?} is empty"),
                        format!("write the range low to high: `{hi}-{c}`"),
                    ));
                }
                ranges.push((c, hi));
                k += 3;
            }
            _ => {
                ranges.push((c, c));
                k += 1;
            }
        }
    }
    if ranges.is_empty() {
        return Err(glob_err(
            format!("an empty class in {whole:?}"),
            "a class needs at least one character: `[abc]`",
        ));
    }
    Ok(Piece::Class { negated, ranges })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<String> {
        match parse_path_pattern(text) {
            Ok(p) => p.pats.iter().map(PathPat::display).collect(),
            Err(e) => panic!("{text:?}: {e:?}"),
        }
    }

    fn err(text: &str) -> (&'static str, String) {
        match parse_path_pattern(text) {
            Ok(p) => panic!("{text:?} should fail, got {p:?}"),
            Err(e) => (e.code.code, e.message),
        }
    }

    fn warns(text: &str) -> Vec<&'static str> {
        parse_path_pattern(text)
            .map(|p| p.warnings.iter().map(|w| w.code.code).collect())
            .unwrap_or_default()
    }

    #[test]
    fn plain_paths() {
        assert_eq!(ok("/etc/passwd"), ["/etc/passwd"]);
        assert_eq!(ok("/"), ["/"]);
        assert_eq!(ok("/**"), ["/**"]);
        assert_eq!(ok("~"), ["~"]);
        assert_eq!(ok("~/"), ["~"]);
        assert_eq!(ok("~/.ssh/id_*"), ["~/.ssh/id_*"]);
    }

    #[test]
    fn segments_parse() {
        let p = parse_path_pattern("/a/**/b*.[!0-9x]?").unwrap();
        assert_eq!(
            p.pats[0].segments,
            vec![
                Segment::Lit("a".into()),
                Segment::Any,
                Segment::Wild(vec![
                    Piece::Lit("b".into()),
                    Piece::Star,
                    Piece::Lit(".".into()),
                    Piece::Class {
                        negated: true,
                        ranges: vec![('0', '9'), ('x', 'x')]
                    },
                    Piece::Any
                ])
            ]
        );
    }

    #[test]
    fn dotfiles_are_plain_segments() {
        // `~/*` must be able to match `.ssh`: the glob keeps `*` as a plain star.
        let p = parse_path_pattern("~/*").unwrap();
        assert_eq!(p.pats[0].segments, vec![Segment::Wild(vec![Piece::Star])]);
        let p = parse_path_pattern("/home/.config").unwrap();
        assert_eq!(
            p.pats[0].segments,
            vec![Segment::Lit("home".into()), Segment::Lit(".config".into())]
        );
    }

    #[test]
    fn double_star_alone_matches_zero_segments_shape() {
        // `/a/**` is `a` then Any, so the matcher can match `/a` itself.
        let p = parse_path_pattern("/a/**").unwrap();
        assert_eq!(
            p.pats[0].segments,
            vec![Segment::Lit("a".into()), Segment::Any]
        );
    }

    #[test]
    fn braces_expand() {
        assert_eq!(ok("/etc/{passwd,group}"), ["/etc/passwd", "/etc/group"]);
        assert_eq!(ok("/{a,b}{c,d}"), ["/ac", "/ad", "/bc", "/bd"]);
        assert_eq!(ok("/x{,.bak}"), ["/x", "/x.bak"]);
        assert_eq!(ok("/{a,a}"), ["/a"]);
        assert_eq!(ok("/\\{a,b\\}"), ["/\\{a,b\\}"]);
        assert_eq!(ok("/[{]x"), ["/[\\{]x"]);
    }

    #[test]
    fn brace_errors() {
        assert_eq!(err("/{a,b/c}").0, "AP0304");
        assert_eq!(err("/{a,{b,c}}").0, "AP0304");
        assert_eq!(err("/{a,b").0, "AP0304");
        assert_eq!(err("/a}").0, "AP0304");
        let many = "/{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b}";
        assert_eq!(err(many).0, "AP0311");
        assert_eq!(ok("/{a,b,c,d}{a,b,c,d}{a,b,c,d}{a,b,c,d}").len(), 256);
    }

    #[test]
    fn star_star_inside_segment_is_error() {
        assert_eq!(err("/a**").0, "AP0304");
        assert_eq!(err("/a/***").0, "AP0304");
        assert_eq!(err("/**x/b").0, "AP0304");
        // Escaped stars are literal.
        assert_eq!(ok("/a\\*\\*"), ["/a\\*\\*"]);
    }

    #[test]
    fn classes() {
        assert_eq!(ok("/[]a]"), ["/[\\]a]"]);
        assert_eq!(ok("/[^a-c]"), ["/[!a-c]"]);
        assert_eq!(ok("/[a\\-c]"), ["/[a\\-c]"]);
        assert_eq!(ok("/[a-]"), ["/[a\\-]"]);
        assert_eq!(err("/[abc").0, "AP0304");
        assert_eq!(err("/[a/b]").0, "AP0304");
        assert_eq!(err("/[z-a]").0, "AP0304");
    }

    #[test]
    fn relative_and_dotdot() {
        assert_eq!(err("work/**").0, "AP0305");
        assert_eq!(err("").0, "AP0305");
        assert_eq!(err("~user/x").0, "AP0305");
        assert_eq!(err("./x").0, "AP0305");
        assert_eq!(err("/a/../b").0, "AP0306");
        assert_eq!(err("~/..").0, "AP0306");
        assert_eq!(err("/a/\\.\\.").0, "AP0306");
    }

    #[test]
    fn normalisation_warns() {
        assert_eq!(ok("/a//b/"), ["/a/b"]);
        assert_eq!(warns("/a//b/"), ["AP0307"]);
        assert_eq!(ok("/a/./b"), ["/a/b"]);
        assert_eq!(warns("/a/./b"), ["AP0307"]);
        assert_eq!(warns("~/"), ["AP0307"]);
        assert!(warns("/a/b").is_empty());
        assert!(warns("/").is_empty());
        assert_eq!(warns("//"), ["AP0307"]);
    }

    #[test]
    fn escapes() {
        assert_eq!(err("/a\\").0, "AP0304");
        assert_eq!(err("/a\\/b").0, "AP0304");
        let p = parse_path_pattern("/a\\?b").unwrap();
        assert_eq!(p.pats[0].segments, vec![Segment::Lit("a?b".into())]);
    }

    #[test]
    fn tilde_expansion() {
        let (home, w) = parse_home("/home/agent").unwrap();
        assert!(w.is_none());
        let p = parse_path_pattern("~/.ssh/**").unwrap();
        let g = p.pats[0].expand(Some(&home)).unwrap();
        assert_eq!(g.pattern, "/home/agent/.ssh/**");
        assert_eq!(g.segments.len(), 4);
        assert!(p.pats[0].expand(None).is_none());
        let abs = parse_path_pattern("/etc/**").unwrap();
        assert_eq!(abs.pats[0].expand(None).unwrap().pattern, "/etc/**");
        let tilde = parse_path_pattern("~").unwrap();
        assert_eq!(
            tilde.pats[0].expand(Some(&home)).unwrap().pattern,
            "/home/agent"
        );
        let (root, _) = parse_home("/").unwrap();
        assert_eq!(p.pats[0].expand(Some(&root)).unwrap().pattern, "/.ssh/**");
        assert_eq!(tilde.pats[0].expand(Some(&root)).unwrap().pattern, "/");
    }

    #[test]
    fn home_validation() {
        assert_eq!(parse_home("/home/a/").unwrap().0.text, "/home/a");
        assert!(parse_home("/home/a/").unwrap().1.is_some());
        assert_eq!(parse_home("~/x").unwrap_err().code.code, "AP0316");
        assert_eq!(parse_home("home").unwrap_err().code.code, "AP0316");
        assert_eq!(parse_home("/home/*").unwrap_err().code.code, "AP0316");
        assert_eq!(parse_home("/a/../b").unwrap_err().code.code, "AP0306");
    }

    #[test]
    fn render_round_trips() {
        for t in ["/a/b", "/a/**/c", "/x/[!a-z]?\\*", "/[\\]\\-]"] {
            let p = parse_path_pattern(t).unwrap();
            let shown = p.pats[0].display();
            let again = parse_path_pattern(&shown).unwrap();
            assert_eq!(p.pats, again.pats, "{t}");
        }
    }
}
