//! A scripted DNS server for tests of the resolver (issue 10.15): it listens
//! on UDP and TCP port 53 of one address, optionally inside a network
//! namespace, and answers each question as its [`Script`] says, including
//! the hostile replies a resolver must not believe: records owned by other
//! names, replies with another transaction id or question, and truncated UDP
//! replies whose full answer only TCP carries. Messages are encoded with
//! `hickory-proto`; every question received is logged ([`Server::seen`]) so
//! tests can check query ids, source ports and transports.
//!
//! Dev-only (this crate is never a production dependency). Binding port 53
//! and entering a namespace need root: only the privileged tests use it.

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The record types a script answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qtype {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
}

impl Qtype {
    fn of(t: RecordType) -> Option<Qtype> {
        match t {
            RecordType::A => Some(Qtype::A),
            RecordType::AAAA => Some(Qtype::Aaaa),
            _ => None,
        }
    }
}

/// One answer record.
#[derive(Clone, Debug)]
pub struct Rr {
    /// The owner name (no trailing dot needed).
    pub owner: String,
    /// Its TTL in seconds.
    pub ttl: u32,
    /// Its data.
    pub data: Data,
}

/// A record's data.
#[derive(Clone, Debug)]
pub enum Data {
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
    /// A CNAME record pointing at this name.
    Cname(String),
}

/// An A record of `owner`. Panics on a bad address (test input).
pub fn a(owner: &str, ttl: u32, ip: &str) -> Rr {
    Rr {
        owner: owner.into(),
        ttl,
        data: Data::A(ip.parse().expect("IPv4 address")),
    }
}

/// An AAAA record of `owner`. Panics on a bad address (test input).
pub fn aaaa(owner: &str, ttl: u32, ip: &str) -> Rr {
    Rr {
        owner: owner.into(),
        ttl,
        data: Data::Aaaa(ip.parse().expect("IPv6 address")),
    }
}

/// A CNAME record `owner → target`.
pub fn cname(owner: &str, ttl: u32, target: &str) -> Rr {
    Rr {
        owner: owner.into(),
        ttl,
        data: Data::Cname(target.into()),
    }
}

/// How the server replies to one question.
#[derive(Clone, Debug)]
pub enum Reply {
    /// NOERROR with these answer records (none: "no data").
    Answer(Vec<Rr>),
    /// NXDOMAIN.
    NxDomain,
    /// SERVFAIL.
    ServFail,
    /// First a reply with another transaction id, then one with the right id
    /// but another question (`forged.invalid`), both carrying `forged`; then,
    /// if given, the real answer. Over TCP, only the real answer (or none).
    Forged {
        /// The records of the two forged replies.
        forged: Vec<Rr>,
        /// The real answer sent after them, if any.
        then: Option<Vec<Rr>>,
    },
    /// Over UDP: the TC bit and only the first record; over TCP: all.
    Truncated(Vec<Rr>),
    /// No reply at all.
    Silent,
}

/// What the server answers: per (name, type), in order; a name the script
/// does not know is NXDOMAIN, a known name asked for another type is "no
/// data" (NOERROR, empty).
#[derive(Clone, Debug, Default)]
pub struct Script(Vec<(String, Qtype, Reply)>);

impl Script {
    /// An empty script (everything NXDOMAIN).
    pub fn new() -> Script {
        Script::default()
    }

    /// Adds the reply to questions for `name` of type `qtype`.
    pub fn on(mut self, name: &str, qtype: Qtype, reply: Reply) -> Script {
        self.0.push((name.into(), qtype, reply));
        self
    }

    fn reply(&self, name: &Name, qtype: RecordType) -> Reply {
        let mut known = false;
        for (n, t, r) in &self.0 {
            if fqdn(n).as_ref() == Some(name) {
                known = true;
                if Qtype::of(qtype) == Some(*t) {
                    return r.clone();
                }
            }
        }
        if known {
            Reply::Answer(Vec::new())
        } else {
            Reply::NxDomain
        }
    }
}

/// One question the server received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The name asked, lower case, without the trailing dot.
    pub name: String,
    /// The type asked (A, AAAA, or another code).
    pub qtype: RecordType,
    /// Whether it came over TCP.
    pub tcp: bool,
    /// The query's transaction id.
    pub id: u16,
    /// Where it came from.
    pub src: SocketAddr,
}

fn fqdn(name: &str) -> Option<Name> {
    Name::from_str(&format!("{}.", name.trim_end_matches('.'))).ok()
}

fn record(rr: &Rr) -> Option<Record> {
    let data = match &rr.data {
        Data::A(ip) => RData::A(A(*ip)),
        Data::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        Data::Cname(t) => RData::CNAME(CNAME(fqdn(t)?)),
    };
    Some(Record::from_rdata(fqdn(&rr.owner)?, rr.ttl, data))
}

/// A reply to `query` with id `id`, question `question`, code and records.
fn message(query: &Message, id: u16, question: &Query, code: ResponseCode, rrs: &[Rr]) -> Vec<u8> {
    let mut m = Message::response(id, OpCode::Query);
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.metadata.response_code = code;
    m.add_query(question.clone());
    m.add_answers(rrs.iter().filter_map(record));
    m.to_vec().unwrap_or_default()
}

/// The messages to send back for one query, in order.
fn answer(
    script: &Script,
    buf: &[u8],
    tcp: bool,
    src: SocketAddr,
    seen: &Mutex<Vec<Seen>>,
) -> Vec<Vec<u8>> {
    let Ok(query) = Message::from_vec(buf) else {
        return Vec::new();
    };
    let Some(q) = query.queries.first() else {
        return Vec::new();
    };
    let id = query.metadata.id;
    if let Ok(mut s) = seen.lock() {
        s.push(Seen {
            name: q
                .name()
                .to_lowercase()
                .to_ascii()
                .trim_end_matches('.')
                .to_owned(),
            qtype: q.query_type(),
            tcp,
            id,
            src,
        });
    }
    let ok = ResponseCode::NoError;
    match script.reply(q.name(), q.query_type()) {
        Reply::Answer(rrs) => vec![message(&query, id, q, ok, &rrs)],
        Reply::NxDomain => vec![message(&query, id, q, ResponseCode::NXDomain, &[])],
        Reply::ServFail => vec![message(&query, id, q, ResponseCode::ServFail, &[])],
        Reply::Silent => Vec::new(),
        Reply::Forged { forged, then } => {
            let mut out = Vec::new();
            if !tcp {
                out.push(message(&query, id.wrapping_add(1), q, ok, &forged));
                let other =
                    Query::query(fqdn("forged.invalid").unwrap_or_default(), q.query_type());
                out.push(message(&query, id, &other, ok, &forged));
            }
            if let Some(rrs) = then {
                out.push(message(&query, id, q, ok, &rrs));
            }
            out
        }
        Reply::Truncated(rrs) => {
            if tcp {
                vec![message(&query, id, q, ok, &rrs)]
            } else {
                let mut m = Message::response(id, OpCode::Query);
                m.metadata.recursion_desired = query.metadata.recursion_desired;
                m.metadata.recursion_available = true;
                m.metadata.truncation = true;
                m.add_query(q.clone());
                m.add_answers(rrs.iter().take(1).filter_map(record));
                vec![m.to_vec().unwrap_or_default()]
            }
        }
    }
}

/// Runs `f` on a thread that first enters the network namespace at `netns`
/// (e.g. `/run/netns/NAME`); sockets it creates live there.
pub fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = std::fs::File::open(netns)?;
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("thread panicked")))
    })
}

/// A running scripted server; stops when dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Listens on `addr` port 53 (UDP and TCP), inside `netns` if given, and
    /// answers per `script` until dropped.
    pub fn start(addr: IpAddr, netns: Option<&Path>, script: Script) -> std::io::Result<Server> {
        let at = SocketAddr::new(addr, 53);
        let bind = || -> std::io::Result<(UdpSocket, TcpListener)> {
            Ok((UdpSocket::bind(at)?, TcpListener::bind(at)?))
        };
        let (udp, tcp) = match netns {
            Some(ns) => in_netns(ns, bind)??,
            None => bind()?,
        };
        // Short timeouts so the threads notice `stop`.
        udp.set_read_timeout(Some(Duration::from_millis(50)))?;
        tcp.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let mut threads = Vec::new();
        {
            let (stop, seen, script) = (stop.clone(), seen.clone(), script.clone());
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, src)) = udp.recv_from(&mut buf) else {
                        continue;
                    };
                    for m in answer(&script, buf.get(..n).unwrap_or(&[]), false, src, &seen) {
                        let _ = udp.send_to(&m, src);
                    }
                }
            }));
        }
        {
            let (stop, seen, script) = (stop.clone(), seen.clone(), script.clone());
            threads.push(std::thread::spawn(move || {
                // One thread per connection: a resolver may keep one open
                // while it opens another.
                let mut conns = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match tcp.accept() {
                        Ok((conn, src)) => {
                            let (stop, seen, script) = (stop.clone(), seen.clone(), script.clone());
                            conns.push(std::thread::spawn(move || {
                                serve_tcp(conn, src, &script, &seen, &stop)
                            }));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                for c in conns {
                    let _ = c.join();
                }
            }));
        }
        Ok(Server {
            stop,
            seen,
            threads,
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Answers length-prefixed queries on one connection until it closes (or
/// the server stops: the first byte of each frame is awaited in short steps).
fn serve_tcp(
    mut conn: TcpStream,
    src: SocketAddr,
    script: &Script,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
) {
    let _ = conn.set_nonblocking(false);
    while !stop.load(Ordering::Relaxed) {
        let mut len = [0u8; 2];
        let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
        match conn.read(&mut len[..1]) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return,
        }
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        if conn.read_exact(&mut len[1..]).is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if conn.read_exact(&mut buf).is_err() {
            return;
        }
        for m in answer(script, &buf, true, src, seen) {
            let Ok(n) = u16::try_from(m.len()) else {
                continue;
            };
            let _ = conn.write_all(&n.to_be_bytes());
            let _ = conn.write_all(&m);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 0x4242;
        m.add_query(Query::query(fqdn(name).unwrap(), t));
        m.to_vec().unwrap()
    }

    fn replies(script: &Script, name: &str, t: RecordType, tcp: bool) -> Vec<Message> {
        let seen = Mutex::new(Vec::new());
        let src = SocketAddr::from(([127, 0, 0, 1], 5353));
        let out = answer(script, &query(name, t), tcp, src, &seen);
        assert_eq!(seen.lock().unwrap().len(), 1);
        out.iter().map(|m| Message::from_vec(m).unwrap()).collect()
    }

    #[test]
    fn script_replies_as_written() {
        let s = Script::new()
            .on(
                "allowed.test",
                Qtype::A,
                Reply::Answer(vec![a("other.test", 30, "198.51.100.66")]),
            )
            .on(
                "forged.test",
                Qtype::A,
                Reply::Forged {
                    forged: vec![a("forged.test", 30, "198.51.100.77")],
                    then: Some(vec![a("forged.test", 30, "192.0.2.13")]),
                },
            )
            .on(
                "big.test",
                Qtype::A,
                Reply::Truncated(vec![
                    a("big.test", 30, "192.0.2.21"),
                    a("big.test", 30, "192.0.2.22"),
                ]),
            );
        let r = replies(&s, "ALLOWED.test", RecordType::A, false);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].answers[0].name, fqdn("other.test").unwrap());
        assert_eq!(r[0].metadata.id, 0x4242);
        // Known name, other type: no data; unknown name: NXDOMAIN.
        let r = replies(&s, "allowed.test", RecordType::AAAA, false);
        assert_eq!(
            (r[0].metadata.response_code, r[0].answers.len()),
            (ResponseCode::NoError, 0)
        );
        let r = replies(&s, "nowhere.test", RecordType::A, false);
        assert_eq!(r[0].metadata.response_code, ResponseCode::NXDomain);

        let r = replies(&s, "forged.test", RecordType::A, false);
        assert_eq!(r.len(), 3);
        assert_ne!(r[0].metadata.id, 0x4242);
        assert_eq!(r[1].queries[0].name(), &fqdn("forged.invalid").unwrap());
        assert_eq!(r[2].answers[0].data, RData::A(A::new(192, 0, 2, 13)));
        assert_eq!(replies(&s, "forged.test", RecordType::A, true).len(), 1);

        let udp = replies(&s, "big.test", RecordType::A, false);
        assert!(udp[0].metadata.truncation);
        assert_eq!(udp[0].answers.len(), 1);
        let tcp = replies(&s, "big.test", RecordType::A, true);
        assert!(!tcp[0].metadata.truncation);
        assert_eq!(tcp[0].answers.len(), 2);
    }
}
