//! The programs' ring-buffer records and their JSON-lines form (schema in
//! `lang-spec/events.md`, version [`EVENT_VERSION`]), and the reader thread
//! of the supervisor.

use crate::compile::{Op, RULE_NONE};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Version of the event log's JSON schema (`"v"` in every line).
pub const EVENT_VERSION: u32 = 1;

/// Size of `struct event` in net.bpf.c.
pub const EVENT_SIZE: usize = 64;

/// One decision as the program recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// CLOCK_MONOTONIC nanoseconds.
    pub ts_ns: u64,
    /// The caller's cgroup id (the cgroup directory's inode number).
    pub cgroup_id: u64,
    /// The caller's process id.
    pub pid: u32,
    /// The operation; None for a socket no rule can name (raw, ICMP, SCTP…).
    pub op: Option<Op>,
    /// The peer (connect, sendto) or local (listen) address.
    pub addr: IpAddr,
    /// The port.
    pub port: u16,
    /// Allowed or denied.
    pub allowed: bool,
    /// The deciding rule's index, None = no rule matched (default deny).
    pub rule: Option<u32>,
    /// The caller's command name (up to 15 bytes).
    pub comm: String,
}

impl Event {
    /// Decodes a record; None when it is not one (wrong size).
    pub fn parse(b: &[u8]) -> Option<Event> {
        if b.len() < EVENT_SIZE {
            return None;
        }
        let u64_at = |i: usize| u64::from_ne_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_ne_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let addr = if b[25] == 4 {
            IpAddr::V4(Ipv4Addr::new(b[32], b[33], b[34], b[35]))
        } else {
            let a: [u8; 16] = b[32..48].try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(a))
        };
        let comm = &b[48..64];
        let end = comm.iter().position(|c| *c == 0).unwrap_or(comm.len());
        let rule = u32_at(20) & RULE_NONE;
        Some(Event {
            ts_ns: u64_at(0),
            cgroup_id: u64_at(8),
            pid: u32_at(16),
            op: Op::from_code(b[24]),
            allowed: b[26] != 0,
            port: u16::from_ne_bytes([b[28], b[29]]),
            addr,
            rule: (rule != RULE_NONE).then_some(rule),
            comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
        })
    }

    /// The JSON line (events.md, v1). `rules[i]` describes rule index i;
    /// `mono_to_unix_ns` converts the monotonic timestamp to Unix time.
    pub fn to_json(&self, rules: &[RuleInfo], mono_to_unix_ns: i128) -> serde_json::Value {
        let unix = i128::from(self.ts_ns) + mono_to_unix_ns;
        let rule = self.rule.and_then(|i| rules.get(i as usize));
        let (action, proto) = match self.op {
            Some(op) => (op.action().as_str(), proto_str(op.proto())),
            None => ("unknown", "other"),
        };
        serde_json::json!({
            "v": EVENT_VERSION,
            "time": rfc3339(unix),
            "pid": self.pid,
            "comm": self.comm,
            "cgroup_id": self.cgroup_id,
            "kind": "net",
            "action": action,
            "proto": proto,
            "addr": self.addr.to_string(),
            "port": self.port,
            "decision": if self.allowed { "allow" } else { "deny" },
            "rule": rule.map(|r| r.id.clone()),
            "layer": rule.map(|r| r.layer.clone()),
            "at": rule.map(|r| r.at.clone()),
        })
    }
}

fn proto_str(p: agentpol_core::ir::Proto) -> &'static str {
    match p {
        agentpol_core::ir::Proto::Tcp => "tcp",
        agentpol_core::ir::Proto::Udp => "udp",
        agentpol_core::ir::Proto::Any => "any",
    }
}

/// What the log says about a rule index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule id.
    pub id: String,
    /// `agent` or `agent.skill`.
    pub layer: String,
    /// `file:line:col`.
    pub at: String,
}

/// Unix nanoseconds as RFC 3339 UTC with nanoseconds.
pub fn rfc3339(unix_ns: i128) -> String {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nanos = unix_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i128::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Unix time minus CLOCK_MONOTONIC, now, in nanoseconds.
pub fn mono_to_unix_ns() -> i128 {
    let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    unix - (i128::from(mono.tv_sec) * 1_000_000_000 + i128::from(mono.tv_nsec))
}

/// Counts over one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Denials read.
    pub denials: u64,
    /// Allows read (only with `--audit`).
    pub allows: u64,
    /// Lines that could not be written to the log.
    pub write_errors: u64,
}

/// The reader thread: ring buffer → JSON lines.
pub struct Reader {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Stats>,
}

/// Starts reading `rb` into `out`. The ring buffer is polled every 10 ms
/// (a denial is logged at most that late); records left when the run ends
/// are drained by [`Reader::finish`].
pub fn spawn_reader(
    mut rb: aya::maps::RingBuf<aya::maps::MapData>,
    out: std::fs::File,
    rules: Vec<RuleInfo>,
) -> Reader {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        let offset = mono_to_unix_ns();
        let mut out = std::io::BufWriter::new(out);
        let mut stats = Stats::default();
        loop {
            // Read the flag before draining, so the last drain sees every
            // record written before `finish` was called.
            let last = flag.load(Ordering::Acquire);
            while let Some(item) = rb.next() {
                let Some(ev) = Event::parse(&item) else {
                    continue;
                };
                if ev.allowed {
                    stats.allows += 1;
                } else {
                    stats.denials += 1;
                }
                let line = ev.to_json(&rules, offset).to_string();
                if writeln!(out, "{line}").is_err() {
                    stats.write_errors += 1;
                }
            }
            if out.flush().is_err() {
                stats.write_errors += 1;
            }
            if last {
                return stats;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    Reader { stop, handle }
}

impl Reader {
    /// Drains what is left, stops the thread and returns the counts.
    pub fn finish(self) -> Stats {
        self.stop.store(true, Ordering::Release);
        self.handle.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Vec<u8> {
        let mut b = vec![0u8; EVENT_SIZE];
        b[0..8].copy_from_slice(&5_000_000_000u64.to_ne_bytes());
        b[8..16].copy_from_slice(&77u64.to_ne_bytes());
        b[16..20].copy_from_slice(&1234u32.to_ne_bytes());
        b[20..24].copy_from_slice(&1u32.to_ne_bytes());
        b[24] = Op::SendtoUdp as u8;
        b[25] = 4;
        b[26] = 0;
        b[28..30].copy_from_slice(&53u16.to_ne_bytes());
        b[32..36].copy_from_slice(&[192, 0, 2, 9]);
        b[48..52].copy_from_slice(b"curl");
        b
    }

    #[test]
    fn a_record_becomes_a_v1_json_line_with_the_rule_id_and_location() {
        let ev = Event::parse(&record()).unwrap();
        assert_eq!(ev.addr, "192.0.2.9".parse::<IpAddr>().unwrap());
        let rules = vec![
            RuleInfo {
                id: "a/net/x".into(),
                layer: "a".into(),
                at: "p.agentpol:1:1".into(),
            },
            RuleInfo {
                id: "a/net/y".into(),
                layer: "a".into(),
                at: "p.agentpol:3:5".into(),
            },
        ];
        let j = ev.to_json(&rules, 1_700_000_000_000_000_000);
        assert_eq!(j["v"], 1);
        assert_eq!(j["time"], "2023-11-14T22:13:25.000000000Z");
        assert_eq!(j["action"], "sendto");
        assert_eq!(j["proto"], "udp");
        assert_eq!(j["port"], 53);
        assert_eq!(j["decision"], "deny");
        assert_eq!(j["rule"], "a/net/y");
        assert_eq!(j["at"], "p.agentpol:3:5");
        assert_eq!(j["comm"], "curl");
        // Default deny: no rule.
        let mut b = record();
        b[20..24].copy_from_slice(&RULE_NONE.to_ne_bytes());
        let j = Event::parse(&b).unwrap().to_json(&rules, 0);
        assert!(j["rule"].is_null() && j["at"].is_null());
        assert_eq!(j["time"], "1970-01-01T00:00:05.000000000Z");
        assert!(Event::parse(&b[..10]).is_none());
    }

    #[test]
    fn rfc3339_handles_leap_years() {
        assert_eq!(
            rfc3339(951_782_400 * 1_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
