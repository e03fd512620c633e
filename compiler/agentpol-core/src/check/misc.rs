//! Small literal validators: `like` patterns, environment variables, URL
//! parts, cgroup paths and Kubernetes selectors.

use super::lit::LitError;
use crate::diag::codes;
use crate::ir::{LikePattern, LikePiece};

/// Parses a Cedar `like` pattern: `*` any run of characters, `\*` a literal
/// star, `\\` a literal backslash; any other escape is an error.
pub fn parse_like(text: &str) -> Result<LikePattern, LitError> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('*' | '\\')) => lit.push(n),
                other => {
                    let shown = other
                        .map(|c| format!("`\\{c}`"))
                        .unwrap_or_else(|| "a trailing `\\`".into());
                    return Err(LitError::new(
                        &codes::INVALID_LIKE_PATTERN,
                        format!("{shown} in the pattern {text:?} is not an escape `like` knows"),
                        "in `like` patterns only `\\*` (a literal star) and `\\\\` (a literal backslash) are escapes",
                    ));
                }
            },
            '*' => {
                if !lit.is_empty() {
                    pieces.push(LikePiece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(LikePiece::Star);
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        pieces.push(LikePiece::Lit(lit));
    }
    Ok(LikePattern {
        pattern: text.to_string(),
        pieces,
    })
}

/// Validates an environment variable name.
pub fn check_env_var(name: &str) -> Result<(), LitError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(LitError::new(
            &codes::INVALID_ENV_VAR,
            format!("{name:?} is not a valid environment variable name"),
            "use letters, digits and `_`, not starting with a digit, e.g. `AWS_SECRET_ACCESS_KEY`",
        ))
    }
}

/// Validates a URL scheme value (`https`).
pub fn check_scheme(value: &str) -> Result<(), LitError> {
    let mut chars = value.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if ok {
        Ok(())
    } else {
        let help = if value.chars().any(|c| c.is_ascii_uppercase()) {
            format!(
                "schemes are compared in lower case: write {:?}",
                value.to_ascii_lowercase()
            )
        } else {
            "a scheme is a lower-case name without `:`, e.g. `https`".to_string()
        };
        Err(LitError::new(
            &codes::INVALID_URL_PART,
            format!("{value:?} can never be a URL's scheme"),
            help,
        ))
    }
}

/// Validates a URL path value (`/v1/x`).
pub fn check_url_path(value: &str) -> Result<(), LitError> {
    if value.starts_with('/') {
        Ok(())
    } else {
        Err(LitError::new(
            &codes::INVALID_URL_PART,
            format!("{value:?} can never be a URL's path"),
            format!(
                "parsed URL paths start with `/`: write {:?}",
                format!("/{value}")
            ),
        ))
    }
}

/// Validates a URL port value (0-65535).
pub fn check_url_port(value: u64) -> Result<(), LitError> {
    if value <= 65535 {
        Ok(())
    } else {
        Err(LitError::new(
            &codes::INVALID_URL_PART,
            format!("{value} can never be a URL's port"),
            "ports are 0-65535",
        ))
    }
}

/// Validates and normalises a cgroup path (leading and trailing `/` dropped).
pub fn check_cgroup_path(value: &str) -> Result<String, LitError> {
    let trimmed = value.trim_matches('/');
    let bad = |why: &str| {
        LitError::new(
            &codes::INVALID_CGROUP_PATH,
            format!("{value:?} is not a valid cgroup path: {why}"),
            "write a path relative to the cgroup2 mount, e.g. `agentpol/openclaw`",
        )
    };
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    for seg in trimmed.split('/') {
        if seg.is_empty() {
            return Err(bad("it has an empty segment"));
        }
        if seg == "." || seg == ".." {
            return Err(bad("`.` and `..` segments are not allowed"));
        }
        if let Some(c) = seg
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "*?[]{}\\\"".contains(*c))
        {
            return Err(bad(&format!("{c:?} is not allowed")));
        }
    }
    Ok(trimmed.to_string())
}

fn selector_err(message: String) -> LitError {
    LitError::new(
        &codes::INVALID_SELECTOR,
        message,
        "namespaces are DNS labels (`agents`); label keys are `[prefix/]name` and values at most 63 characters of letters, digits, `-`, `_`, `.`",
    )
}

/// A DNS-1123 label: lower-case alphanumerics and `-`, at most 63, alphanumeric at both ends.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes qualified name part / label value: at most 63 of `[A-Za-z0-9-_.]`, alphanumeric at both ends.
fn is_k8s_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Validates a Kubernetes namespace.
pub fn check_namespace(ns: &str) -> Result<(), LitError> {
    if is_dns_label(ns) {
        Ok(())
    } else {
        Err(selector_err(format!(
            "{ns:?} is not a valid Kubernetes namespace"
        )))
    }
}

/// Validates a Kubernetes label key and value.
pub fn check_label(key: &str, value: &str) -> Result<(), LitError> {
    let key_ok = match key.split_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253
                && !prefix.is_empty()
                && prefix.split('.').all(is_dns_label)
                && is_k8s_name(name)
        }
        None => is_k8s_name(key),
    };
    if !key_ok {
        return Err(selector_err(format!(
            "{key:?} is not a valid Kubernetes label key"
        )));
    }
    if !value.is_empty() && !is_k8s_name(value) {
        return Err(selector_err(format!(
            "{value:?} is not a valid Kubernetes label value"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let p = parse_like("invoice-*.pdf").unwrap();
        assert_eq!(
            p.pieces,
            vec![
                LikePiece::Lit("invoice-".into()),
                LikePiece::Star,
                LikePiece::Lit(".pdf".into())
            ]
        );
        assert_eq!(p.pattern, "invoice-*.pdf");
        let p = parse_like("a\\*b\\\\").unwrap();
        assert_eq!(p.pieces, vec![LikePiece::Lit("a*b\\".into())]);
        assert_eq!(p.pattern, "a\\*b\\\\");
        assert_eq!(
            parse_like("**").unwrap().pieces,
            vec![LikePiece::Star, LikePiece::Star]
        );
        assert!(parse_like("").unwrap().pieces.is_empty());
        assert_eq!(parse_like("a\\n").unwrap_err().code.code, "AP0313");
        assert_eq!(parse_like("a\\").unwrap_err().code.code, "AP0313");
    }

    #[test]
    fn env_vars() {
        assert!(check_env_var("AWS_SECRET_ACCESS_KEY").is_ok());
        assert!(check_env_var("_x1").is_ok());
        assert_eq!(check_env_var("1X").unwrap_err().code.code, "AP0315");
        assert_eq!(check_env_var("").unwrap_err().code.code, "AP0315");
        assert_eq!(check_env_var("A-B").unwrap_err().code.code, "AP0315");
    }

    #[test]
    fn url_parts() {
        assert!(check_scheme("https").is_ok());
        assert!(check_scheme("git+ssh").is_ok());
        let e = check_scheme("HTTPS").unwrap_err();
        assert_eq!(e.code.code, "AP0318");
        assert!(e.help.contains("\"https\""));
        assert!(check_scheme("https:").is_err());
        assert!(check_url_path("/v1").is_ok());
        assert!(check_url_path("v1").is_err());
        assert!(check_url_port(0).is_ok());
        assert!(check_url_port(65536).is_err());
    }

    #[test]
    fn cgroups() {
        assert_eq!(check_cgroup_path("/agentpol/x/").unwrap(), "agentpol/x");
        assert!(check_cgroup_path("").is_err());
        assert!(check_cgroup_path("a//b").is_err());
        assert!(check_cgroup_path("a/../b").is_err());
        assert!(check_cgroup_path("a b").is_err());
    }

    #[test]
    fn selectors() {
        assert!(check_namespace("agents").is_ok());
        assert!(check_namespace("Agents").is_err());
        assert!(check_label("app", "openclaw").is_ok());
        assert!(check_label("app.kubernetes.io/name", "x").is_ok());
        assert!(check_label("app", "").is_ok());
        assert!(check_label("-app", "x").is_err());
        assert!(check_label("app", "a b").is_err());
    }
}
