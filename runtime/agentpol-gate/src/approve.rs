//! Approvers: who says yes to an `ask` decision.
//!
//! No approver, a refusal, a timeout or an approver that fails all mean deny.
//! Approvals are asked one at a time; the gate waits for the answer (bounded
//! by the timeout) before it reads the next message.

use serde_json::Value;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How an approval ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A human (or the approver program) said yes.
    Approved,
    /// Said no.
    Refused,
    /// No answer within the timeout.
    TimedOut,
    /// No approver configured, or it could not be asked.
    Unavailable,
}

impl Outcome {
    /// The word in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Refused => "refused",
            Outcome::TimedOut => "timeout",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// Asks for approvals.
pub trait Approver {
    /// Asks about `request` (the request and the decision, as JSON).
    fn ask(&mut self, request: &Value, timeout: Duration) -> Outcome;
}

/// No approver: every `ask` is denied.
#[derive(Debug, Default)]
pub struct NoApprover;

impl Approver for NoApprover {
    fn ask(&mut self, _: &Value, _: Duration) -> Outcome {
        Outcome::Unavailable
    }
}

/// `cmd:PROG`: runs `PROG` with `/bin/sh -c`, writes the request and decision
/// as one JSON document to its stdin; exit status 0 approves, anything else
/// refuses; killed at the timeout.
#[derive(Debug)]
pub struct CommandApprover {
    /// The shell command.
    pub program: String,
}

impl Approver for CommandApprover {
    fn ask(&mut self, request: &Value, timeout: Duration) -> Outcome {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.program)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let Ok(mut child) = child else {
            return Outcome::Unavailable;
        };
        if let Some(mut stdin) = child.stdin.take() {
            // An approver that does not read its input still gets to answer.
            let _ = stdin.write_all(request.to_string().as_bytes());
        }
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    return if status.success() {
                        Outcome::Approved
                    } else {
                        Outcome::Refused
                    }
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Outcome::TimedOut;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => return Outcome::Unavailable,
            }
        }
    }
}

/// `tty`: asks on `/dev/tty` (not stdin/stdout, which carry the protocol).
#[derive(Debug, Default)]
pub struct TtyApprover;

impl Approver for TtyApprover {
    fn ask(&mut self, request: &Value, timeout: Duration) -> Outcome {
        let Ok(mut tty) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        else {
            return Outcome::Unavailable;
        };
        let pretty = serde_json::to_string_pretty(request).unwrap_or_default();
        if writeln!(
            tty,
            "agentpol gate: approve this call? [y/N] (within {} s)\n{pretty}",
            timeout.as_secs()
        )
        .is_err()
        {
            return Outcome::Unavailable;
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let ok = std::io::BufReader::new(tty).read_line(&mut line).is_ok();
            let _ = tx.send(ok && matches!(line.trim(), "y" | "Y" | "yes"));
        });
        match rx.recv_timeout(timeout) {
            Ok(true) => Outcome::Approved,
            Ok(false) => Outcome::Refused,
            Err(_) => Outcome::TimedOut,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn command_approver_answers_by_exit_status_and_reads_the_request() {
        let req = json!({"request": {"tool": "pay"}});
        let mut yes = CommandApprover {
            program: "grep -q '\"tool\":\"pay\"'".into(),
        };
        assert_eq!(yes.ask(&req, Duration::from_secs(10)), Outcome::Approved);
        let mut no = CommandApprover {
            program: "grep -q '\"tool\":\"other\"'".into(),
        };
        assert_eq!(no.ask(&req, Duration::from_secs(10)), Outcome::Refused);
        let mut slow = CommandApprover {
            program: "sleep 5".into(),
        };
        let t = Instant::now();
        assert_eq!(
            slow.ask(&req, Duration::from_millis(200)),
            Outcome::TimedOut
        );
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "killed at the timeout"
        );
    }
}
