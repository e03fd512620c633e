//! A minimal DNS message codec for resolving a policy's domains when a
//! ruleset is applied: one question (A or AAAA) out, the answers' addresses
//! and TTLs back. Pure: the `agentpolc` binary sends and receives the bytes.
//!
//! Only what `apply` needs: no EDNS, no TCP fallback (a truncated answer is an
//! error, and the name then fails closed), CNAME chains are followed only as
//! far as the resolver already flattened them into the answer section.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
    /// Skips a possibly compressed name.
    fn skip_name(&mut self) -> Result<(), String> {
        for _ in 0..128 {
            let len = self.u8()?;
            match len {
                0 => return Ok(()),
                l if l & 0xC0 == 0xC0 => {
                    self.u8()?;
                    return Ok(());
                }
                l if l & 0xC0 == 0 => {
                    self.bytes(usize::from(l))?;
                }
                _ => return Err("bad label in answer".into()),
            }
        }
        Err("name too long in answer".into())
    }
}

/// The addresses (with TTLs) of type `qtype` in a response to query `id`.
/// NXDOMAIN and an empty answer give an empty list; other errors are `Err`.
pub fn parse_response(msg: &[u8], id: u16, qtype: QType) -> Result<Vec<(IpAddr, u32)>, String> {
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
    match flags & 0x000F {
        0 => {}
        3 => return Ok(Vec::new()),
        2 => return Err("server failure (SERVFAIL)".into()),
        5 => return Err("query refused (REFUSED)".into()),
        c => return Err(format!("error code {c}")),
    }
    let qd = r.u16()?;
    let an = r.u16()?;
    r.u16()?;
    r.u16()?;
    for _ in 0..qd {
        r.skip_name()?;
        r.bytes(4)?;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        r.skip_name()?;
        let ty = r.u16()?;
        let class = r.u16()?;
        let ttl = r.u32()?;
        let len = usize::from(r.u16()?);
        let data = r.bytes(len)?;
        if class != 1 || ty != qtype.code() {
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
        out.push((addr, ttl));
    }
    Ok(out)
}

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
            parse_response(&r, 0x1234, QType::A).unwrap(),
            vec![
                ("192.0.2.1".parse().unwrap(), 60),
                ("192.0.2.2".parse().unwrap(), 10)
            ]
        );
        assert_eq!(
            parse_response(&r, 0x1234, QType::Aaaa).unwrap(),
            vec![("2001:db8::1".parse().unwrap(), 30)]
        );
        assert!(parse_response(&r, 0x4321, QType::A).is_err());
        assert_eq!(
            parse_response(&encode_response(&q, &[], 3), 0x1234, QType::A).unwrap(),
            vec![]
        );
        assert!(
            parse_response(&encode_response(&q, &[], 2), 0x1234, QType::A)
                .unwrap_err()
                .contains("SERVFAIL")
        );
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
            let _ = parse_response(&bytes, id, QType::A);
            let _ = parse_response(&bytes, id, QType::Aaaa);
        }
    }
}
