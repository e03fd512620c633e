//! `print!`/`println!`/`eprint!`/`eprintln!` that never panic.
//!
//! The std macros panic when a write fails, so `agentpolc verify X | head -1`
//! died with exit 101 once `head` closed the pipe. These macros shadow the std
//! ones for the whole crate (this module is declared first in `main.rs`, so
//! textual macro scoping makes every later module use them): a failed write
//! marks the stream closed and later writes to it are skipped, so the command
//! finishes its work and exits with its own code.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// While set, stdout writes go here instead (see [`capture`]).
    static CAPTURE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with its stdout collected instead of printed: a command over
/// several files merges each file's JSON, SARIF or JUnit document into one.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
    CAPTURE.with(|c| *c.borrow_mut() = Some(String::new()));
    let out = f();
    let text = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, text)
}

/// Writes to stdout (or stderr), ignoring a closed pipe.
pub fn write(to_stderr: bool, args: std::fmt::Arguments<'_>) {
    if !to_stderr {
        let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
            Some(buf) => {
                use std::fmt::Write as _;
                let _ = buf.write_fmt(args);
                true
            }
            None => false,
        });
        if captured {
            return;
        }
    }
    let closed = if to_stderr {
        &STDERR_CLOSED
    } else {
        &STDOUT_CLOSED
    };
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let result = if to_stderr {
        std::io::stderr().lock().write_fmt(args)
    } else {
        let mut out = std::io::stdout().lock();
        // Flushed per write so a closed pipe is noticed here, not at exit.
        out.write_fmt(args).and_then(|()| out.flush())
    };
    if result.is_err() {
        closed.store(true, Ordering::Relaxed);
    }
}

/// `print!` that ignores a closed stdout.
macro_rules! print {
    ($($arg:tt)*) => { $crate::out::write(false, format_args!($($arg)*)) };
}

/// `println!` that ignores a closed stdout.
macro_rules! println {
    () => { $crate::out::write(false, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(false, format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that ignores a closed stderr.
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::out::write(true, format_args!($($arg)*)) };
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! eprintln {
    () => { $crate::out::write(true, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out::write(true, format_args!("{}\n", format_args!($($arg)*))) };
}
