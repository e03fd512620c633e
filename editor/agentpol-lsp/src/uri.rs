//! `file:` URIs ↔ paths, and the read-only `agentpol-std:` documents.

use std::str::FromStr;

/// Scheme of the standard library's virtual documents (`agentpol-std:/secrets.agentpol`).
pub const STD_SCHEME: &str = "agentpol-std";

/// The file path of a `file://` URI, or `None` for other schemes and
/// malformed escapes.
pub fn to_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path` is not a local file.
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = rest.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The `file://` URI of an absolute path.
pub fn from_path(path: &str) -> Option<lsp_types::Uri> {
    let mut s = String::from("file://");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    lsp_types::Uri::from_str(&s).ok()
}

/// The virtual document of std module file `std/NAME.agentpol`.
pub fn std_uri(display: &str) -> Option<lsp_types::Uri> {
    let name = display.strip_prefix("std/")?;
    lsp_types::Uri::from_str(&format!("{STD_SCHEME}:/{name}")).ok()
}

/// The std display name (`std/secrets.agentpol`) and text of a virtual document URI.
pub fn std_source(uri: &str) -> Option<(&'static str, &'static str)> {
    let name = uri.strip_prefix(STD_SCHEME)?.strip_prefix(":/")?;
    agentpol_core::stdlib::MODULES
        .iter()
        .find(|(_, display, _)| display.strip_prefix("std/") == Some(name))
        .map(|(_, display, text)| (*display, *text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_with_escapes() {
        let uri = from_path("/tmp/a b/ü.agentpol").unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%BC.agentpol");
        assert_eq!(
            to_path(uri.as_str()).as_deref(),
            Some("/tmp/a b/ü.agentpol")
        );
        assert_eq!(to_path("file:///x%2"), None);
        assert_eq!(to_path("untitled:1"), None);
        assert_eq!(to_path("file://host/x"), None);
    }

    #[test]
    fn std_documents() {
        let uri = std_uri("std/secrets.agentpol").unwrap();
        assert_eq!(uri.as_str(), "agentpol-std:/secrets.agentpol");
        assert_eq!(std_source(uri.as_str()).unwrap().0, "std/secrets.agentpol");
        assert!(std_source("agentpol-std:/nope.agentpol").is_none());
    }
}
