//! Matching primitives: globs, `like` patterns, domains, hosts, CIDRs, ports,
//! protocols, exec argument lists and URL parts.
//!
//! These are the normative meanings of `lang-spec/semantics.md` §3–§6 as plain
//! functions. Backends that re-implement a primitive (the Cedar gate, the
//! firewall's domain handling) test against these. Globs and `like` patterns
//! go through [`super::wildcard`]: linear in the input, no recursion, so a
//! model-chosen argument cannot make a decision slow.

pub use super::wildcard::Steps;
use super::wildcard::{star_match, Token};
use crate::ir::{ArgsPattern, DomainPattern, Glob, Host, LikePattern, LikePiece, Piece, PortRange};
use crate::ir::{Proto, Segment, UrlField, Value};
use ipnet::IpNet;
use std::net::IpAddr;

/// Checks that a request path is absolute and normalised, and returns it with
/// one trailing `/` removed (`/a/b/` is `/a/b`; `/` stays `/`).
///
/// Errors (with the reason) for a relative path, an empty segment (`//`), a
/// `.` or `..` segment, or a NUL byte: such a path is not what the kernel
/// reports, so matching it against globs would be guesswork.
pub fn normalize_request_path(path: &str) -> Result<&str, &'static str> {
    if !path.starts_with('/') {
        return Err("it is not absolute (it must start with `/`)");
    }
    if path.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if path == "/" {
        return Ok(path);
    }
    // One trailing `/` is ignored; `//` at the end leaves an empty segment.
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    for segment in trimmed.split('/').skip(1) {
        match segment {
            "" => return Err("it contains an empty segment (`//`)"),
            "." => return Err("it contains a `.` segment"),
            ".." => return Err("it contains a `..` segment"),
            _ => {}
        }
    }
    Ok(trimmed)
}

/// The segments of an absolute, normalised path: `/` has none, `/a/b` has `a`, `b`.
fn path_segments(path: &str) -> Vec<&str> {
    if path == "/" {
        Vec::new()
    } else {
        path.split('/').skip(1).collect()
    }
}

/// Does `glob` match `path` (semantics.md §3)?
///
/// `path` should be absolute and normalised (see [`normalize_request_path`]);
/// a relative path matches nothing. `**` matches zero or more whole segments,
/// so `/a/**` matches `/a`; `*`, `?` and classes stay inside one segment and
/// `*` matches a leading `.`. Linear in the path for any glob (see
/// [`super::wildcard`]).
pub fn glob_matches(glob: &Glob, path: &str) -> bool {
    glob_matches_counted(glob, path, &mut Steps::default())
}

/// [`glob_matches`], counting its elementary tests into `steps` (for tests
/// that check the linear bound without timing anything).
pub fn glob_matches_counted(glob: &Glob, path: &str, steps: &mut Steps) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    segments_match_counted(&glob.segments, &path_segments(path), steps)
}

/// Do a glob's segments match a path already split into its segments (`/`
/// has none)? For engines that split the request path once.
pub fn segments_match(pattern: &[Segment], path: &[&str]) -> bool {
    segments_match_counted(pattern, path, &mut Steps::default())
}

fn segments_match_counted(pattern: &[Segment], path: &[&str], steps: &mut Steps) -> bool {
    let tokens: Vec<Token<&Segment>> = pattern
        .iter()
        .map(|s| match s {
            Segment::Any => Token::Star,
            other => Token::Atom(other),
        })
        .collect();
    // The inner matcher's steps are added after the fact: the closure cannot
    // borrow `steps` while `star_match` holds it.
    let inner = std::cell::Cell::new(0u64);
    let ok = star_match(
        &tokens,
        path,
        |seg, text| match seg {
            Segment::Lit(lit) => lit == text,
            Segment::Wild(pieces) => {
                let mut s = Steps::default();
                let ok = pieces_match(pieces, text, &mut s);
                inner.set(inner.get().saturating_add(s.0));
                ok
            }
            Segment::Any => false,
        },
        |seg| match seg {
            Segment::Lit(lit) => Some(lit.as_str()),
            _ => None,
        },
        steps,
    );
    steps.0 = steps.0.saturating_add(inner.get());
    ok
}

/// One character-level atom of a wildcard segment.
enum CharAtom<'p> {
    Char(char),
    Any,
    Class(bool, &'p [(char, char)]),
}

fn pieces_match(pieces: &[Piece], text: &str, steps: &mut Steps) -> bool {
    let mut tokens = Vec::new();
    for p in pieces {
        match p {
            Piece::Lit(lit) => tokens.extend(lit.chars().map(|c| Token::Atom(CharAtom::Char(c)))),
            Piece::Star => tokens.push(Token::Star),
            Piece::Any => tokens.push(Token::Atom(CharAtom::Any)),
            Piece::Class { negated, ranges } => {
                tokens.push(Token::Atom(CharAtom::Class(*negated, ranges)))
            }
        }
    }
    let chars: Vec<char> = text.chars().collect();
    star_match(
        &tokens,
        &chars,
        |atom, c| match atom {
            CharAtom::Char(want) => *want == c,
            CharAtom::Any => c != '/',
            CharAtom::Class(negated, ranges) => {
                let in_set = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                c != '/' && in_set != *negated
            }
        },
        |atom| match atom {
            CharAtom::Char(c) => Some(*c),
            _ => None,
        },
        steps,
    )
}

/// Does the whole of `value` match the Cedar `like` pattern? `*` matches any
/// run of characters, including `/`. Linear in the value for any pattern.
pub fn like_matches(pattern: &LikePattern, value: &str) -> bool {
    like_matches_counted(pattern, value, &mut Steps::default())
}

/// [`like_matches`], counting its elementary tests into `steps`.
pub fn like_matches_counted(pattern: &LikePattern, value: &str, steps: &mut Steps) -> bool {
    like_pieces_counted(&pattern.pieces, value, steps)
}

/// [`like_matches`] on a pattern's pieces alone.
pub fn like_pieces_match(pieces: &[LikePiece], value: &str) -> bool {
    like_pieces_counted(pieces, value, &mut Steps::default())
}

fn like_pieces_counted(pieces: &[LikePiece], value: &str, steps: &mut Steps) -> bool {
    let mut tokens = Vec::new();
    for p in pieces {
        match p {
            LikePiece::Lit(lit) => tokens.extend(lit.chars().map(Token::Atom)),
            LikePiece::Star => tokens.push(Token::Star),
        }
    }
    let chars: Vec<char> = value.chars().collect();
    star_match(&tokens, &chars, |want, c| *want == c, |c| Some(*c), steps)
}

/// Does argv[1..] match an exec rule's argument patterns (semantics.md §4)?
/// Position by position; the counts must be equal unless `rest` allows more.
pub fn args_match(pattern: &ArgsPattern, args: &[String]) -> bool {
    let count_ok = if pattern.rest {
        args.len() >= pattern.items.len()
    } else {
        args.len() == pattern.items.len()
    };
    count_ok
        && pattern
            .items
            .iter()
            .zip(args)
            .all(|(item, arg)| like_matches(item, arg))
}

/// A DNS name as matched: ASCII lower-case, one trailing `.` removed.
pub fn normalize_domain(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.strip_suffix('.') {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

/// Does the requested name match a domain pattern (semantics.md §5)?
///
/// The name is normalised first ([`normalize_domain`]). `*.example.com`
/// matches names with one or more labels in front of `.example.com` and never
/// `example.com` itself.
pub fn domain_matches(pattern: &DomainPattern, name: &str) -> bool {
    let name = normalize_domain(name);
    // The IR stores patterns normalised; normalising again costs nothing and
    // keeps a hand-built pattern from silently failing to match.
    let pat = normalize_domain(&pattern.name);
    if name.is_empty() || pat.is_empty() {
        return false;
    }
    if pattern.wildcard {
        match name
            .strip_suffix(&pat)
            .and_then(|front| front.strip_suffix('.'))
        {
            Some(labels) => !labels.is_empty(),
            None => false,
        }
    } else {
        name == pat
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as its IPv4 address;
/// every other address unchanged. IPv4-compatible addresses (`::192.0.2.1`)
/// are deprecated and stay IPv6.
pub fn canonical_addr(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A network inside `::ffff:0:0/96` as the IPv4 network it maps; every other
/// network unchanged.
pub fn canonical_net(net: &IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let (Some(v4), Some(len)) = (
            v6.network().to_ipv4_mapped(),
            v6.prefix_len().checked_sub(96),
        ) {
            if let Ok(n) = ipnet::Ipv4Net::new(v4, len) {
                return IpNet::V4(n);
            }
        }
    }
    *net
}

/// Does the CIDR contain the address, with IPv4-mapped IPv6 addresses (on
/// either side) treated as IPv4?
pub fn cidr_contains(net: &IpNet, addr: IpAddr) -> bool {
    canonical_net(net).contains(&canonical_addr(addr))
}

/// Does a host pattern match a peer? A CIDR matches only through `addr`, a
/// domain pattern only through `domain` (the name the agent asked for).
pub fn host_matches(host: &Host, addr: Option<IpAddr>, domain: Option<&str>) -> bool {
    match host {
        Host::Cidr(net) => addr.is_some_and(|a| cidr_contains(net, a)),
        Host::Domain(pattern) => domain.is_some_and(|d| domain_matches(pattern, d)),
    }
}

/// Does a request's port lie in one of the ranges? Port 0 never does: it is
/// matched only by rules without a port restriction.
pub fn port_matches(ranges: &[PortRange], port: u16) -> bool {
    port != 0 && ranges.iter().any(|r| r.lo <= port && port <= r.hi)
}

/// Does a rule's protocol match a request's? `any` in the rule matches both;
/// a request's protocol must be concrete (`any` in a request matches nothing).
pub fn proto_matches(rule: Proto, request: Proto) -> bool {
    match (rule, request) {
        (_, Proto::Any) => false,
        (Proto::Any, _) => true,
        (r, q) => r == q,
    }
}

/// The host of a URL, as the `url` crate (WHATWG) parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlHost {
    /// An IP literal (for `http://[::1]/`, the address without brackets;
    /// IPv4-mapped IPv6 literals as IPv4).
    Ip(IpAddr),
    /// A domain, normalised as in [`normalize_domain`].
    Domain(String),
}

impl UrlHost {
    /// The host as a string, as `url.host` compares with `==`, `in` and `like`:
    /// the normalised domain, or the address (IPv6 without brackets).
    pub fn as_string(&self) -> String {
        match self {
            UrlHost::Ip(ip) => ip.to_string(),
            UrlHost::Domain(d) => d.clone(),
        }
    }
}

/// The URL's host: never the userinfo (`https://good@evil/` has host `evil`);
/// an IPv4-mapped IPv6 literal is its IPv4 address. None when the URL has no host or an empty one (`mailto:`, `file:///x`).
pub fn url_host(url: &url::Url) -> Option<UrlHost> {
    match url.host()? {
        url::Host::Ipv4(a) => Some(UrlHost::Ip(IpAddr::V4(a))),
        // `http://[::ffff:192.0.2.1]/` is the IPv4 host 192.0.2.1 (semantics.md §5).
        url::Host::Ipv6(a) => Some(UrlHost::Ip(canonical_addr(IpAddr::V6(a)))),
        url::Host::Domain(d) => {
            let d = normalize_domain(d);
            (!d.is_empty()).then_some(UrlHost::Domain(d))
        }
    }
}

/// Does a URL's host match a host pattern? An IP host matches CIDRs, a domain
/// host matches domain patterns; no host matches nothing.
pub fn url_host_matches(host: &Host, url: &url::Url) -> bool {
    match url_host(url) {
        Some(UrlHost::Ip(ip)) => host_matches(host, Some(ip), None),
        Some(UrlHost::Domain(d)) => host_matches(host, None, Some(&d)),
        None => false,
    }
}

/// A part of a URL as a typed value: scheme, host and path are strings, the
/// port an int (`port_or_known_default`). None when the URL has no such part
/// (no host; no explicit port and no known default).
pub fn url_field(url: &url::Url, field: UrlField) -> Option<Value> {
    match field {
        UrlField::Scheme => Some(Value::Str(url.scheme().to_string())),
        UrlField::Host => url_host(url).map(|h| Value::Str(h.as_string())),
        UrlField::Port => url
            .port_or_known_default()
            .map(|p| Value::Int(i64::from(p))),
        UrlField::Path => Some(Value::Str(url.path().to_string())),
    }
}

/// Parses a URL argument: WHATWG rules, absolute only.
pub fn parse_url(text: &str) -> Result<url::Url, url::ParseError> {
    url::Url::parse(text)
}
