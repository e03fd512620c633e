//! What a request reads: the files `assert never WHO read PATTERN` is about
//! (semantics.md §8).
//!
//! A file can be read through more than the fs layer: a tool's server reads
//! with its own rights, so a tool call whose argument names a file is a way
//! to read it. This module is the one definition of "names a file", shared
//! by the verifier (which replays every counterexample of a cross-layer
//! assertion through it) and by anything else that needs it:
//!
//! * an fs `read` request reads its path;
//! * a tool call reads the value of each `path`-typed argument (any tool:
//!   the policy cannot know what a tool does with a path, so every path
//!   argument counts);
//! * a tool call reads the file a `url`-typed argument with scheme `file`
//!   names: the URL's path, percent-decoded and then resolved lexically
//!   (empty and `.` segments dropped, `..` removing the segment before it).
//!   Decoding matters: `file:///srv/pub/..%2F..%2Fhome/a/.ssh/id` keeps its
//!   `%2F` through URL parsing, and a reader that decodes it opens
//!   `/home/a/.ssh/id`. The host is ignored (`file://localhost/x` is the
//!   local `/x`; taking any other host's path as the same path only makes
//!   the assertion stricter).
//!
//! Other arguments (a shell command string, a URL with another scheme) are
//! not reads here, even if the tool behind them reads files.

use super::matching::{glob_matches, normalize_request_path, parse_url};
use crate::ir::{Action, ArgType, Glob, Policy};
use crate::request::{Request, Resource};

/// Through what a request reads a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadVia {
    /// An fs `read` request.
    Fs,
    /// A tool call's `path`-typed argument.
    PathArg {
        /// The tool.
        tool: String,
        /// The argument.
        arg: String,
    },
    /// A tool call's `url`-typed argument whose scheme is `file`.
    FileUrl {
        /// The tool.
        tool: String,
        /// The argument.
        arg: String,
    },
}

/// A file a request reads, absolute and normalised, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadPath {
    /// The file.
    pub path: String,
    /// Through what.
    pub via: ReadVia,
}

/// Every file `req` reads (see the module docs). A value that is not a
/// usable path (the evaluator refuses such a request) names no file; tools
/// not declared in `policy` read nothing.
pub fn reads(policy: &Policy, req: &Request) -> Vec<ReadPath> {
    match &req.resource {
        Resource::Fs {
            action: Action::Read,
            path,
        } => normalize_request_path(path)
            .map(|p| {
                vec![ReadPath {
                    path: p.to_string(),
                    via: ReadVia::Fs,
                }]
            })
            .unwrap_or_default(),
        Resource::Tool { tool, args, .. } => {
            let Some(sig) = policy.tool(tool) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for a in &sig.args {
                let Some(text) = args.get(&a.name).and_then(|v| v.as_str()) else {
                    continue;
                };
                let (path, via) = match a.ty {
                    ArgType::Path => match normalize_request_path(text) {
                        Ok(p) => (
                            p.to_string(),
                            ReadVia::PathArg {
                                tool: tool.clone(),
                                arg: a.name.clone(),
                            },
                        ),
                        Err(_) => continue,
                    },
                    ArgType::Url => match parse_url(text).ok().and_then(|u| file_url_path(&u)) {
                        Some(p) => (
                            p,
                            ReadVia::FileUrl {
                                tool: tool.clone(),
                                arg: a.name.clone(),
                            },
                        ),
                        None => continue,
                    },
                    _ => continue,
                };
                out.push(ReadPath { path, via });
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The first file `req` reads that matches one of `globs`.
pub fn reads_matching(policy: &Policy, req: &Request, globs: &[Glob]) -> Option<ReadPath> {
    reads(policy, req)
        .into_iter()
        .find(|r| globs.iter().any(|g| glob_matches(g, &r.path)))
}

/// The file a `file:` URL names: its path percent-decoded (invalid UTF-8
/// replaced, cut at a NUL byte as the kernel would), then resolved
/// lexically. `None` for another scheme.
pub fn file_url_path(url: &url::Url) -> Option<String> {
    if url.scheme() != "file" {
        return None;
    }
    let bytes = percent_decode(url.path());
    let text = String::from_utf8_lossy(&bytes);
    let text = text.split('\0').next().unwrap_or("");
    let mut segs: Vec<&str> = Vec::new();
    for s in text.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    Some(format!("/{}", segs.join("/")))
}

/// `%XX` (two hex digits) becomes the byte; anything else stays as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| b.get(j).and_then(|&h| (h as char).to_digit(16));
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make at most 0xff.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(u8::MAX));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The `file:` URL that names `path` (absolute, normalised): the inverse of
/// [`file_url_path`] on normalised paths, for tools that build requests.
pub fn file_url(path: &str) -> String {
    format!("file://{}", url_path_of(path))
}

/// The URL path (after the host) that names `path`: each segment
/// percent-encoded where the URL syntax needs it (`/`, `%`, `?`, `#`, spaces,
/// non-ASCII...), so that URL parsing keeps it and decoding gives it back.
pub fn url_path_of(path: &str) -> String {
    if path == "/" {
        return "/".into();
    }
    let mut out = String::new();
    for seg in path.split('/').skip(1) {
        out.push('/');
        for b in seg.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod unit {
    use super::*;

    fn url(s: &str) -> Option<String> {
        file_url_path(&parse_url(s).ok()?)
    }

    #[test]
    fn file_urls_name_their_decoded_resolved_path() {
        assert_eq!(
            url("file:///home/a/.ssh/id").as_deref(),
            Some("/home/a/.ssh/id")
        );
        assert_eq!(url("file:/home/a/x").as_deref(), Some("/home/a/x"));
        assert_eq!(
            url("file://localhost/etc/passwd").as_deref(),
            Some("/etc/passwd")
        );
        assert_eq!(
            url("file://server/etc/passwd").as_deref(),
            Some("/etc/passwd")
        );
        // `%2F` survives URL parsing; decoded, it climbs out of /srv/pub.
        assert_eq!(
            url("file:///srv/pub/..%2F..%2Fhome/a/%2essh/id").as_deref(),
            Some("/home/a/.ssh/id")
        );
        assert_eq!(url("file:///a//b/./c/").as_deref(), Some("/a/b/c"));
        assert_eq!(url("file:///a/b%00c").as_deref(), Some("/a/b"));
        assert_eq!(url("file:///%zz").as_deref(), Some("/%zz"));
        assert_eq!(url("file:///../..").as_deref(), Some("/"));
        assert_eq!(url("https://example.com/etc/passwd"), None);
    }

    #[test]
    fn file_url_round_trips_normalised_paths() {
        for p in [
            "/",
            "/a",
            "/home/a/.ssh/id_rsa",
            "/x y/%41/?#/é",
            "/a/b:c@d",
        ] {
            assert_eq!(url(&file_url(p)).as_deref(), Some(p), "{}", file_url(p));
        }
    }
}
