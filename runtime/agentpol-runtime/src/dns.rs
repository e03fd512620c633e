//! Resolving a policy's domains when a ruleset is applied: one question (A or
//! AAAA) out, the answers' addresses and TTLs back (the TTLs are recorded:
//! DNS changes need a re-apply).
//!
//! Only what `apply` needs: no EDNS, no TCP fallback (a truncated answer is an
//! error, and the name then fails closed), CNAME chains are followed only as
//! far as the resolver already flattened them into the answer section.

use crate::codes;
use agentpol_core::diag::Diag;
use agentpol_core::ir::{Host, Matcher, Policy};
use agentpol_core::span::Span;
use agentpol_firewall::Resolution;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// The record type asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
}

impl QType {
    fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Aaaa => 28,
        }
    }
}

/// A query for `name` with transaction id `id` (recursion desired).
pub fn encode_query(id: u16, name: &str, qtype: QType) -> Result<Vec<u8>, String> {
    let mut m = Vec::with_capacity(32 + name.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(&mut m, name)?;
    m.extend_from_slice(&qtype.code().to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    Ok(m)
}

fn encode_name(m: &mut Vec<u8>, name: &str) -> Result<(), String> {
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return Err(format!("{name:?} is not a valid domain name"));
    }
    for label in name.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!("{name:?} has an invalid label {label:?}"));
        }
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        let v = *self.b.get(self.pos).ok_or("answer too short")?;
        self.pos += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).ok_or("answer too short")?;
        let s = self.b.get(self.pos..end).ok_or("answer too short")?;
        self.pos = end;
        Ok(s)
    }
    /// Reads a possibly compressed name, lower-cased, without the final dot.
    /// Pointers must point backwards and at most 128 labels are read, so a
    /// hostile message cannot loop.
    fn name(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut pos = self.pos;
        let mut jumped = false;
        for _ in 0..128 {
            let len = *self.b.get(pos).ok_or("answer too short")?;
            match len {
                0 => {
                    if !jumped {
                        self.pos = pos + 1;
                    }
                    return Ok(out);
                }
                l if l & 0xC0 == 0xC0 => {
                    let lo = *self.b.get(pos + 1).ok_or("answer too short")?;
                    let target = usize::from(l & 0x3F) << 8 | usize::from(lo);
                    if target >= pos {
                        return Err("forward compression pointer in answer".into());
                    }
                    if !jumped {
                        self.pos = pos + 2;
                    }
                    jumped = true;
                    pos = target;
                }
                l if l & 0xC0 == 0 => {
                    let end = pos + 1 + usize::from(l);
                    let label = self.b.get(pos + 1..end).ok_or("answer too short")?;
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
                    pos = end;
                }
                _ => return Err("bad label in answer".into()),
            }
        }
        Err("name too long in answer".into())
    }
}

/// The addresses (with TTLs) of type `qtype` owned by `name` in a response to
/// query `id` for `name`, following CNAME records from `name`. Records owned
/// by any other name (an attacker's or a confused resolver's extra A record)
/// are ignored; a response whose question is not the one asked is refused.
/// NXDOMAIN and an empty answer give an empty list; other errors are `Err`.
pub fn parse_response(
    msg: &[u8],
    id: u16,
    name: &str,
    qtype: QType,
) -> Result<Vec<(IpAddr, u32)>, String> {
    let asked = name.trim_end_matches('.').to_ascii_lowercase();
    let mut r = Reader { b: msg, pos: 0 };
    if r.u16()? != id {
        return Err("answer to another query".into());
    }
    let flags = r.u16()?;
    if flags & 0x8000 == 0 {
        return Err("not a response".into());
    }
    if flags & 0x0200 != 0 {
        return Err("truncated answer (DNS over TCP is not supported)".into());
    }
    let rcode = flags & 0x000F;
    let qd = r.u16()?;
    let an = r.u16()?;
    r.u16()?;
    r.u16()?;
    if qd != 1 {
        return Err(format!("{qd} questions in the answer, expected 1"));
    }
    let qname = r.name()?;
    let (qt, qc) = (r.u16()?, r.u16()?);
    if qname != asked || qt != qtype.code() || qc != 1 {
        return Err(format!("answer to another question ({qname:?}, type {qt})"));
    }
    match rcode {
        0 => {}
        3 => return Ok(Vec::new()),
        2 => return Err("server failure (SERVFAIL)".into()),
        5 => return Err("query refused (REFUSED)".into()),
        c => return Err(format!("error code {c}")),
    }
    // (owner, type, ttl, data or CNAME target)
    let mut records = Vec::new();
    for _ in 0..an {
        let owner = r.name()?;
        let ty = r.u16()?;
        let class = r.u16()?;
        let ttl = r.u32()?;
        let len = usize::from(r.u16()?);
        let start = r.pos;
        let data = r.bytes(len)?.to_vec();
        if class != 1 {
            continue;
        }
        let target = if ty == CNAME {
            let mut t = Reader { b: msg, pos: start };
            Some(t.name()?)
        } else {
            None
        };
        records.push((owner, ty, ttl, data, target));
    }
    // Follow the chain from the asked name; each step must be a CNAME owned by
    // the current name, and a chain never revisits a name.
    let mut current = asked;
    let mut seen = vec![current.clone()];
    let mut out = Vec::new();
    loop {
        for (owner, ty, ttl, data, _) in &records {
            if *owner != current || *ty != qtype.code() {
                continue;
            }
            let addr = match (qtype, data.len()) {
                (QType::A, 4) => IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
                (QType::Aaaa, 16) => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(data);
                    IpAddr::V6(Ipv6Addr::from(a))
                }
                _ => return Err("malformed address record".into()),
            };
            out.push((addr, *ttl));
        }
        if !out.is_empty() {
            return Ok(out);
        }
        let next = records
            .iter()
            .find(|(owner, ty, ..)| *owner == current && *ty == CNAME)
            .and_then(|(.., target)| target.clone());
        match next {
            Some(t) if !seen.contains(&t) => {
                seen.push(t.clone());
                current = t;
            }
            Some(_) => return Err("CNAME loop in answer".into()),
            None => return Ok(out),
        }
    }
}

/// The CNAME record type.
const CNAME: u16 = 5;

/// The first `nameserver` of a resolv.conf text.
pub fn resolv_conf_nameserver(text: &str) -> Option<IpAddr> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("nameserver"))
            .then(|| w.next())
            .flatten()
            .and_then(|a| a.split('%').next()?.parse().ok())
    })
}

/// Builds a response (for tests and the test resolver): every answer as a
/// record of the question's name via a compression pointer.
pub fn encode_response(query: &[u8], answers: &[(IpAddr, u32)], rcode: u8) -> Vec<u8> {
    let mut m = Vec::new();
    let id = query.get(0..2).unwrap_or(&[0, 0]);
    m.extend_from_slice(id);
    m.extend_from_slice(&[0x81, 0x80 | (rcode & 0x0F), 0, 1]);
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(query.get(12..).unwrap_or(&[]));
    for (a, ttl) in answers {
        m.extend_from_slice(&[0xC0, 12]);
        let (ty, data): (u16, Vec<u8>) = match a {
            IpAddr::V4(v) => (1, v.octets().to_vec()),
            IpAddr::V6(v) => (28, v.octets().to_vec()),
        };
        m.extend_from_slice(&ty.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
    }
    m
}

/// A domain could not be resolved while applying.
pub fn resolve_failed(name: &str, why: &str) -> Diag {
    Diag::warning(
        &codes::RESOLVE_FAILED,
        Span::default(),
        format!("cannot resolve {name}: {why}"),
    )
    .help("check the agent's resolvers and the name, then apply again")
    .note("an allow for this name allows nothing (fail closed); a deny for it cannot be filled and apply refuses to load (AP0717)")
}

/// A deny rule's domain has no resolution: its load-time set cannot be filled.
pub fn deny_set_unfilled(name: &str, rule: &str, span: Span) -> Diag {
    Diag::error(
        &codes::DENY_SET_UNFILLED,
        span,
        format!("the deny rule {rule} names {name}, which could not be resolved: its set cannot be filled"),
    )
    .label("this rule")
    .help("make the resolver reachable and apply again, or deny the name's addresses")
    .note("nothing was loaded: an unfilled deny would deny nothing, and one widened to every address is not the policy")
}

/// Resolves every exact domain of the agents' net rules through the first
/// resolver of an agent that names it (else the host's resolv.conf). A name
/// that fails gets a warning (AP0715) and no entry: it fails closed.
pub fn resolve_domains(policy: &Policy) -> (BTreeMap<String, Resolution>, Vec<Diag>) {
    let system = std::fs::read_to_string("/etc/resolv.conf")
        .ok()
        .and_then(|t| resolv_conf_nameserver(&t));
    let mut out = BTreeMap::new();
    let mut diags = Vec::new();
    for (name, resolver) in wanted_names(policy, system) {
        let Some(resolver) = resolver else {
            diags.push(resolve_failed(
                &name,
                "no resolver: the agent names none and /etc/resolv.conf has no nameserver",
            ));
            continue;
        };
        match resolve(resolver, &name) {
            Ok(r) => {
                out.insert(name, r);
            }
            Err(e) => diags.push(resolve_failed(&name, &format!("{e} (asking {resolver})"))),
        }
    }
    (out, diags)
}

/// The exact domains the agents' net rules name, each with the resolver to ask.
pub fn wanted_names(policy: &Policy, system: Option<IpAddr>) -> BTreeMap<String, Option<IpAddr>> {
    let mut wanted = BTreeMap::new();
    for agent in &policy.agents {
        for rule in &agent.rules {
            if let Matcher::Net {
                hosts: Some(hosts), ..
            } = &rule.matcher
            {
                for h in hosts {
                    if let Host::Domain(d) = h {
                        if !d.wildcard && agentpol_firewall::lower::reserved_name(&d.name).is_none()
                        {
                            wanted
                                .entry(d.name.clone())
                                .or_insert_with(|| agent.resolvers.first().copied().or(system));
                        }
                    }
                }
            }
        }
    }
    wanted
}

/// A and AAAA for `name` from `resolver`. Half an answer is not an answer:
/// either query failing fails the name.
pub fn resolve(resolver: IpAddr, name: &str) -> Result<Resolution, String> {
    let mut addrs = Vec::new();
    let mut ttl = u32::MAX;
    for qtype in [QType::A, QType::Aaaa] {
        for (a, t) in query(resolver, name, qtype)? {
            addrs.push(a);
            ttl = ttl.min(t);
        }
    }
    Ok(Resolution {
        addrs,
        resolver: resolver.to_string(),
        ttl_secs: if ttl == u32::MAX { 0 } else { ttl },
        at: None,
    })
}

fn query(resolver: IpAddr, name: &str, qtype: QType) -> Result<Vec<(IpAddr, u32)>, String> {
    let id = random_id();
    let msg = encode_query(id, name, qtype)?;
    let bind: SocketAddr = match resolver {
        IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
        IpAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("socket: {e}"))?;
    sock.connect(SocketAddr::new(resolver, 53))
        .map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let mut last = String::from("no answer");
    for _ in 0..2 {
        sock.send(&msg).map_err(|e| format!("send: {e}"))?;
        match sock.recv(&mut buf) {
            Ok(n) => return parse_response(buf.get(..n).unwrap_or(&[]), id, name, qtype),
            Err(e) => last = format!("timed out ({e})"),
        }
    }
    Err(last)
}

/// A query id an off-path attacker cannot predict (std's per-process random
/// hash keys, fresh for each hasher).
fn random_id() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    h.finish() as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let q = encode_query(0x1234, "api.example.com.", QType::A).unwrap();
        assert_eq!(&q[12..16], b"\x03api");
        let ans = [
            ("192.0.2.1".parse().unwrap(), 60),
            ("2001:db8::1".parse().unwrap(), 30),
            ("192.0.2.2".parse().unwrap(), 10),
        ];
        let r = encode_response(&q, &ans, 0);
        assert_eq!(
            parse_response(&r, 0x1234, "api.example.com", QType::A).unwrap(),
            vec![
                ("192.0.2.1".parse().unwrap(), 60),
                ("192.0.2.2".parse().unwrap(), 10)
            ]
        );
        let q6 = encode_query(0x1234, "api.example.com", QType::Aaaa).unwrap();
        assert_eq!(
            parse_response(
                &encode_response(&q6, &ans, 0),
                0x1234,
                "API.example.com.",
                QType::Aaaa
            )
            .unwrap(),
            vec![("2001:db8::1".parse().unwrap(), 30)]
        );
        assert!(parse_response(&r, 0x4321, "api.example.com", QType::A).is_err());
        assert_eq!(
            parse_response(
                &encode_response(&q, &[], 3),
                0x1234,
                "api.example.com",
                QType::A
            )
            .unwrap(),
            vec![]
        );
        assert!(parse_response(
            &encode_response(&q, &[], 2),
            0x1234,
            "api.example.com",
            QType::A
        )
        .unwrap_err()
        .contains("SERVFAIL"));
    }

    fn wire_name(name: &str) -> Vec<u8> {
        let mut m = Vec::new();
        encode_name(&mut m, name).unwrap();
        m
    }

    /// A response to `q` with records (owner, type, data) written out in full.
    fn response(q: &[u8], records: &[(&str, u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = q[..2].to_vec();
        m.extend_from_slice(&[0x81, 0x80, 0, 1]);
        m.extend_from_slice(&(records.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&q[12..]);
        for (owner, ty, data) in records {
            m.extend_from_slice(&wire_name(owner));
            m.extend_from_slice(&ty.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 30]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }

    /// Issue 10.15: an A record owned by another name in the answer for
    /// `allowed.test` was accepted, and its address allowed.
    #[test]
    fn records_of_other_names_are_ignored() {
        let q = encode_query(7, "allowed.test", QType::A).unwrap();
        let r = response(
            &q,
            &[
                ("other.test", 1, vec![198, 51, 100, 9]),
                ("allowed.test", 1, vec![192, 0, 2, 1]),
            ],
        );
        assert_eq!(
            parse_response(&r, 7, "allowed.test", QType::A).unwrap(),
            vec![("192.0.2.1".parse().unwrap(), 30)]
        );
        let only_foreign = response(&q, &[("other.test", 1, vec![198, 51, 100, 9])]);
        assert_eq!(
            parse_response(&only_foreign, 7, "allowed.test", QType::A).unwrap(),
            vec![]
        );
    }

    #[test]
    fn cname_chains_are_followed_from_the_asked_name_only() {
        let q = encode_query(9, "www.allowed.test", QType::A).unwrap();
        let r = response(
            &q,
            &[
                ("edge.cdn.test", 1, vec![192, 0, 2, 7]),
                ("www.allowed.test", 5, wire_name("edge.cdn.test")),
                ("unrelated.test", 1, vec![198, 51, 100, 1]),
            ],
        );
        assert_eq!(
            parse_response(&r, 9, "www.allowed.test", QType::A).unwrap(),
            vec![("192.0.2.7".parse().unwrap(), 30)]
        );
        // A CNAME owned by another name does not start a chain.
        let r = response(
            &q,
            &[
                ("other.test", 5, wire_name("edge.cdn.test")),
                ("edge.cdn.test", 1, vec![192, 0, 2, 7]),
            ],
        );
        assert_eq!(
            parse_response(&r, 9, "www.allowed.test", QType::A).unwrap(),
            vec![]
        );
        let looped = response(
            &q,
            &[
                ("www.allowed.test", 5, wire_name("a.test")),
                ("a.test", 5, wire_name("www.allowed.test")),
            ],
        );
        assert!(parse_response(&looped, 9, "www.allowed.test", QType::A)
            .unwrap_err()
            .contains("loop"));
    }

    #[test]
    fn answers_to_another_question_are_refused() {
        let other = encode_query(5, "other.test", QType::A).unwrap();
        let r = encode_response(&other, &[("192.0.2.1".parse().unwrap(), 30)], 0);
        assert!(parse_response(&r, 5, "allowed.test", QType::A)
            .unwrap_err()
            .contains("another question"));
        let mut truncated =
            encode_response(&encode_query(5, "allowed.test", QType::A).unwrap(), &[], 0);
        truncated[2] |= 0x02;
        assert!(parse_response(&truncated, 5, "allowed.test", QType::A)
            .unwrap_err()
            .contains("truncated"));
    }

    #[test]
    fn query_ids_are_not_sequential() {
        let ids: std::collections::BTreeSet<u16> = (0..64).map(|_| random_id()).collect();
        // 64 draws from 65536 values: all equal or a run would mean no randomness.
        assert!(ids.len() > 32, "{ids:?}");
    }

    #[test]
    fn bad_names() {
        assert!(encode_query(1, "", QType::A).is_err());
        assert!(encode_query(1, "a..b", QType::A).is_err());
        assert!(encode_query(1, &"x".repeat(64), QType::A).is_err());
        assert!(encode_query(1, "a b.example", QType::A).is_err());
    }

    #[test]
    fn resolv_conf() {
        assert_eq!(
            resolv_conf_nameserver("# x\nsearch a\nnameserver 192.0.2.53\nnameserver ::1\n"),
            Some("192.0.2.53".parse().unwrap())
        );
        assert_eq!(
            resolv_conf_nameserver("nameserver fe80::1%eth0\n"),
            Some("fe80::1".parse().unwrap())
        );
        assert_eq!(resolv_conf_nameserver(""), None);
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), id in any::<u16>()) {
            let _ = parse_response(&bytes, id, "a.test", QType::A);
            let _ = parse_response(&bytes, id, "a.test", QType::Aaaa);
        }
    }
}
