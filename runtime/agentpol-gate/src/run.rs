//! The gate's IO: the server process, the two pipes, timers, the control
//! file and SIGHUP, around the [`Gate`] state machine.

use crate::gate::{Gate, Loaded, Out};
use crate::jsonrpc::{self, code, Line, LineReader};
use serde_json::{Map, Value};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

/// Largest control file read, in bytes.
pub const MAX_CONTROL_BYTES: u64 = 1 << 20;

/// How `run` is set up.
#[derive(Debug)]
pub struct Options {
    /// The server command and its arguments.
    pub server: Vec<String>,
    /// Largest message accepted from either side, in bytes.
    pub max_message: usize,
    /// A JSON file `{"params": {...}}` watched for changes.
    pub control: Option<PathBuf>,
}

enum Event {
    Client(std::io::Result<Line>),
    Server(std::io::Result<Line>),
}

/// Runs the gate until the client closes its input. Returns the exit code:
/// 0 after a clean end, 1 when the server exited before the client did.
pub fn run(
    mut gate: Gate,
    opts: &Options,
    mut reload: impl FnMut() -> Result<Loaded, String>,
) -> Result<u8, String> {
    let (program, args) = opts.server.split_first().ok_or("no server command given")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the MCP server `{program}`: {e}"))?;
    let mut server_in = child.stdin.take();
    let server_out = child.stdout.take().ok_or("the server has no stdout")?;

    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(|e| format!("cannot watch SIGHUP: {e}"))?;

    let (tx, rx) = mpsc::channel();
    let max = opts.max_message;
    let ctx = tx.clone();
    std::thread::spawn(move || {
        let mut r = LineReader::new(BufReader::new(std::io::stdin()), max);
        loop {
            let line = r.next_line();
            let end = !matches!(line, Ok(Line::Text(_) | Line::TooLong(_)));
            if ctx.send(Event::Client(line)).is_err() || end {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let mut r = LineReader::new(BufReader::new(server_out), max);
        loop {
            let line = r.next_line();
            let end = !matches!(line, Ok(Line::Text(_) | Line::TooLong(_)));
            if tx.send(Event::Server(line)).is_err() || end {
                break;
            }
        }
    });

    let mut control = opts
        .control
        .as_ref()
        .map(|p| (p.clone(), None::<(SystemTime, u64)>));
    let mut stdout = std::io::stdout().lock();
    let mut server_exited = false;
    loop {
        let mut outs = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Client(Ok(Line::Text(b)))) => gate.from_client(&b),
            Ok(Event::Client(Ok(Line::TooLong(n)))) => vec![Out::Client(jsonrpc::error(
                None,
                code::TOO_LARGE,
                &format!("message of {n} bytes refused: the limit is {max} bytes"),
            ))],
            Ok(Event::Client(Ok(Line::Eof) | Err(_))) => break,
            Ok(Event::Server(Ok(Line::Text(b)))) => gate.from_server(&b),
            Ok(Event::Server(Ok(Line::TooLong(n)))) => {
                eprintln!(
                    "agentpol gate: dropped a {n}-byte message from the server (limit {max} bytes)"
                );
                Vec::new()
            }
            Ok(Event::Server(Ok(Line::Eof) | Err(_))) => {
                server_exited = true;
                server_in = None;
                gate.server_exited()
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        outs.extend(gate.expire(Instant::now()));
        if let Some((path, last)) = &mut control {
            poll_control(&mut gate, path, last);
        }
        if hup.swap(false, Ordering::Relaxed) {
            match reload().and_then(|l| gate.reload(l)) {
                Ok(()) => eprintln!("agentpol gate: policy reloaded"),
                Err(e) => eprintln!("agentpol gate: reload failed, keeping the old policy: {e}"),
            }
        }
        for out in outs {
            match out {
                Out::Client(v) => {
                    if writeln!(stdout, "{v}")
                        .and_then(|_| stdout.flush())
                        .is_err()
                    {
                        // The client is gone: nothing left to serve.
                        stop(&mut child, server_in.take());
                        return Ok(0);
                    }
                }
                Out::Server(v) => {
                    if let Some(w) = server_in.as_mut() {
                        // A failed write means the server died; its EOF follows.
                        let _ = writeln!(w, "{v}").and_then(|_| w.flush());
                    }
                }
            }
        }
    }
    stop(&mut child, server_in.take());
    Ok(u8::from(server_exited))
}

/// Closes the server's stdin (MCP's shutdown), then waits up to 2 s, then kills.
fn stop(child: &mut Child, stdin: Option<ChildStdin>) {
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads the control file when its modification time or size changed.
fn poll_control(gate: &mut Gate, path: &PathBuf, last: &mut Option<(SystemTime, u64)>) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let stamp = (
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        meta.len(),
    );
    if *last == Some(stamp) {
        return;
    }
    *last = Some(stamp);
    match read_params_file(path) {
        Ok(p) => gate.set_params(p, &path.display().to_string()),
        Err(e) => eprintln!("agentpol gate: control file ignored, params unchanged: {e}"),
    }
}

/// Reads a params file: a JSON object `{"params": {NAME: VALUE, …}}` or,
/// for `--params`, the bare object `{NAME: VALUE, …}`.
pub fn read_params_file(path: &PathBuf) -> Result<Map<String, Value>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > MAX_CONTROL_BYTES {
        return Err(format!(
            "{} is larger than {MAX_CONTROL_BYTES} bytes",
            path.display()
        ));
    }
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let obj = match v {
        Value::Object(mut o) if o.len() == 1 && o.contains_key("params") => {
            o.remove("params").unwrap_or_default()
        }
        other => other,
    };
    match obj {
        Value::Object(o) => Ok(o),
        _ => Err(format!("{}: params must be a JSON object", path.display())),
    }
}
