//! Network literals: addresses, CIDRs, domains and ports (semantics.md §5).

use super::lit::LitError;
use crate::diag::codes;
use crate::ir::{DomainPattern, Host, PortRange};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::IpAddr;

/// True if `text` must be read as an address rather than a domain: it
/// contains `:` (IPv6) or consists only of digits, dots and `/` (IPv4).
pub fn looks_like_ip(text: &str) -> bool {
    text.contains(':')
        || (!text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '/'))
}

/// Parses an address or CIDR: `10.0.0.0/8`, `1.1.1.1`, `2001:db8::/32`.
/// Host bits must be zero; a single address becomes a /32 or /128; an
/// IPv4-mapped IPv6 network with prefix >= 96 becomes its IPv4 network.
pub fn parse_cidr(text: &str) -> Result<IpNet, LitError> {
    let bad = |why: &str| {
        LitError::new(
            &codes::INVALID_ADDRESS,
            format!("{text:?} is not a valid IP address or CIDR: {why}"),
            "write IPv4 bare (`192.0.2.0/24`) and IPv6 as a string (`\"2001:db8::/32\"`)",
        )
    };
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| bad("the address does not parse"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = match prefix_text {
        None => max,
        Some(p) => {
            if p.is_empty()
                || !p.chars().all(|c| c.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return Err(bad("the prefix length is not a number"));
            }
            match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(bad(&format!("the prefix length is more than {max}"))),
            }
        }
    };
    let net = match addr {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new(a, prefix).map_err(|_| bad("bad prefix"))?),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new(a, prefix).map_err(|_| bad("bad prefix"))?),
    };
    let trunc = net.trunc();
    if trunc != net {
        return Err(LitError::new(
            &codes::CIDR_HOST_BITS,
            format!("{text:?} has host bits set"),
            format!("the network is `{trunc}`; write that, or the single address `{addr}`"),
        ));
    }
    Ok(unmap(net))
}

/// An IPv4-mapped IPv6 network (`::ffff:0:0/96` and inside it) as IPv4.
fn unmap(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if n.prefix_len() >= 96 {
            if let Some(v4) = n.addr().to_ipv4_mapped() {
                if let Ok(v4net) = Ipv4Net::new(v4, n.prefix_len() - 96) {
                    return IpNet::V4(v4net);
                }
            }
        }
    }
    net
}

/// Parses a single address (no prefix), for resolvers and test requests.
pub fn parse_addr(text: &str) -> Result<IpAddr, LitError> {
    if text.contains('/') {
        return Err(LitError::new(
            &codes::INVALID_ADDRESS,
            format!("{text:?} is a network; a single address is needed here"),
            "write one address without `/prefix`",
        ));
    }
    text.parse::<IpAddr>().map_err(|_| {
        LitError::new(
            &codes::INVALID_ADDRESS,
            format!("{text:?} is not a valid IP address"),
            "write IPv4 bare (`192.0.2.1`) and IPv6 as a string (`\"2001:db8::1\"`)",
        )
    })
}

/// A net target written as a string: an address or CIDR if it looks like
/// one, else a domain pattern.
pub fn parse_host(text: &str) -> Result<Host, LitError> {
    if looks_like_ip(text) {
        parse_cidr(text).map(Host::Cidr)
    } else {
        parse_domain(text, true).map(Host::Domain)
    }
}

/// Validates a domain (pattern). `*.` is allowed as a whole first label when
/// `allow_wildcard`. Lower-cases and strips one trailing dot.
pub fn parse_domain(text: &str, allow_wildcard: bool) -> Result<DomainPattern, LitError> {
    if !text.is_ascii() {
        return Err(LitError::new(
            &codes::NON_ASCII_DOMAIN,
            format!("the domain {text:?} is not ASCII"),
            "write internationalised names in punycode, e.g. `xn--bcher-kva.example` for `bücher.example`",
        ));
    }
    let invalid = |why: String| {
        LitError::new(
            &codes::INVALID_DOMAIN,
            format!("{text:?} is not a valid domain: {why}"),
            "domains are dot-separated labels of letters, digits, `-` and `_`, e.g. `api.github.com`",
        )
    };
    let lower = text.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    let (wildcard, name) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if name.contains('*') || (wildcard && !allow_wildcard) {
        let help = if allow_wildcard {
            "a `*` is allowed only as the whole first label (`*.example.com`); to match any address, leave the targets out"
        } else {
            "a concrete domain is needed here, without `*`"
        };
        return Err(LitError::new(
            &codes::DOMAIN_WILDCARD,
            format!("misplaced `*` in the domain {text:?}"),
            help,
        ));
    }
    if name.is_empty() {
        return Err(invalid("it is empty".into()));
    }
    if name.len() > 253 {
        return Err(invalid("it is longer than 253 characters".into()));
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err(invalid("it has an empty label".into()));
        }
        if label.len() > 63 {
            return Err(invalid(format!(
                "the label `{label}` is longer than 63 characters"
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(invalid(format!("`{c}` is not allowed in a label")));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(format!(
                "the label `{label}` starts or ends with `-`"
            )));
        }
        last = label;
    }
    if last.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            "the last label is all digits (is it a mistyped address?)".into(),
        ));
    }
    Ok(DomainPattern {
        name: name.to_string(),
        wildcard,
    })
}

/// Validates a port range `lo..=hi` (a single port is `lo == hi`).
pub fn port_range(lo: u64, hi: u64) -> Result<PortRange, LitError> {
    let check = |p: u64| -> Result<u16, LitError> {
        match u16::try_from(p) {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(LitError::new(
                &codes::INVALID_PORT,
                format!("port {p} is outside 1..65535"),
                "ports are 1-65535; for any port leave `port` out or write `port any`",
            )),
        }
    };
    let (l, h) = (check(lo)?, check(hi)?);
    if l > h {
        return Err(LitError::new(
            &codes::INVALID_PORT,
            format!("the port range {lo}..{hi} is empty"),
            format!("write it low to high: `{hi}..{lo}`"),
        ));
    }
    Ok(PortRange { lo: l, hi: h })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: std::fmt::Debug>(r: Result<T, LitError>) -> &'static str {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e.code.code,
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("1.1.1.1").unwrap().to_string(), "1.1.1.1/32");
        assert_eq!(
            parse_cidr("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
    }

    #[test]
    fn host_bits() {
        let e = parse_cidr("10.0.0.1/8").unwrap_err();
        assert_eq!(e.code.code, "AP0301");
        assert!(e.help.contains("10.0.0.0/8"), "{}", e.help);
        assert_eq!(code(parse_cidr("2001:db8::1/32")), "AP0301");
    }

    #[test]
    fn bad_addresses() {
        assert_eq!(code(parse_cidr("10.0.0.256")), "AP0302");
        assert_eq!(code(parse_cidr("10.0.0.0/33")), "AP0302");
        assert_eq!(code(parse_cidr("10.0.0.0/")), "AP0302");
        assert_eq!(code(parse_cidr("10.0.0.0/08")), "AP0302");
        assert_eq!(code(parse_cidr("010.0.0.1")), "AP0302");
        assert_eq!(code(parse_cidr("2001:db8::/129")), "AP0302");
        assert_eq!(code(parse_cidr("1.2.3")), "AP0302");
        assert_eq!(code(parse_addr("10.0.0.0/8")), "AP0302");
        assert_eq!(parse_addr("192.0.2.1").unwrap().to_string(), "192.0.2.1");
    }

    #[test]
    fn v4_mapped_becomes_v4() {
        assert_eq!(
            parse_cidr("::ffff:192.0.2.1").unwrap().to_string(),
            "192.0.2.1/32"
        );
        assert_eq!(
            parse_cidr("::ffff:192.0.2.0/120").unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            parse_cidr("::ffff:0:0/96").unwrap().to_string(),
            "0.0.0.0/0"
        );
        // A shorter prefix covers more than the mapped range: stays IPv6.
        assert!(matches!(parse_cidr("::/80").unwrap(), IpNet::V6(_)));
    }

    #[test]
    fn hosts_choose_ip_or_domain() {
        assert!(matches!(
            parse_host("140.82.112.0/20").unwrap(),
            Host::Cidr(_)
        ));
        assert!(matches!(parse_host("fc00::/7").unwrap(), Host::Cidr(_)));
        assert!(matches!(
            parse_host("api.github.com").unwrap(),
            Host::Domain(_)
        ));
        // Looks like an address, so it is one (and invalid), not a domain.
        assert_eq!(code(parse_host("1.2.3.400")), "AP0302");
        assert_eq!(code(parse_host("fe80::zz")), "AP0302");
    }

    #[test]
    fn domains() {
        let d = parse_domain("API.GitHub.com.", true).unwrap();
        assert_eq!(
            d,
            DomainPattern {
                name: "api.github.com".into(),
                wildcard: false
            }
        );
        let w = parse_domain("*.example.com", true).unwrap();
        assert_eq!(
            w,
            DomainPattern {
                name: "example.com".into(),
                wildcard: true
            }
        );
        assert!(parse_domain("localhost", true).is_ok());
        assert!(parse_domain("_dmarc.example.com", true).is_ok());
        assert!(parse_domain("xn--bcher-kva.example", true).is_ok());
    }

    #[test]
    fn domain_errors() {
        assert_eq!(code(parse_domain("a*.example.com", true)), "AP0308");
        assert_eq!(code(parse_domain("api.*.com", true)), "AP0308");
        assert_eq!(code(parse_domain("*", true)), "AP0308");
        assert_eq!(code(parse_domain("*.*.com", true)), "AP0308");
        assert_eq!(code(parse_domain("*.example.com", false)), "AP0308");
        assert_eq!(code(parse_domain("bücher.example", true)), "AP0309");
        assert_eq!(code(parse_domain("", true)), "AP0312");
        assert_eq!(code(parse_domain("a..b", true)), "AP0312");
        assert_eq!(code(parse_domain("-a.com", true)), "AP0312");
        assert_eq!(code(parse_domain("a b.com", true)), "AP0312");
        assert_eq!(
            code(parse_domain(&format!("{}.com", "a".repeat(64)), true)),
            "AP0312"
        );
        assert_eq!(code(parse_domain("example.123", true)), "AP0312");
        assert_eq!(code(parse_domain("*.", true)), "AP0308");
    }

    #[test]
    fn ports() {
        assert_eq!(
            port_range(443, 443).unwrap(),
            PortRange { lo: 443, hi: 443 }
        );
        assert_eq!(
            port_range(1, 65535).unwrap(),
            PortRange { lo: 1, hi: 65535 }
        );
        assert_eq!(code(port_range(0, 0)), "AP0303");
        assert_eq!(code(port_range(65536, 65536)), "AP0303");
        assert_eq!(code(port_range(9, 1)), "AP0303");
        assert_eq!(code(port_range(u64::MAX, u64::MAX)), "AP0303");
    }
}
