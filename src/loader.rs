//! Reading files from disk for the (IO-free) compiler, with a size cap.
//!
//! Every file agentpolc reads goes through [`read_bytes`]: only regular files
//! (or stdin for `-`), at most a documented number of bytes, so `/dev/zero`, a
//! FIFO or a huge file is a coded error instead of unbounded memory or a hang.

use crate::codes;
use agentpol_core::diag::{CodeInfo, Diag};
use agentpol_core::source::{Loader, SourceMap};
use agentpol_core::span::Span;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest policy source or imported file read (8 MiB).
pub const MAX_SOURCE_BYTES: u64 = 8 << 20;
/// Largest request read from a file or stdin (1 MiB).
pub const MAX_REQUEST_BYTES: u64 = 1 << 20;
/// Largest build artefact read back (`manifest.json`, `ir/policy.json`, targets: 64 MiB).
pub const MAX_ARTIFACT_BYTES: u64 = 64 << 20;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The OS refused (missing file, permissions, ...).
    Io(String),
    /// A directory, device, FIFO or socket.
    NotRegular(String),
    /// More than `limit` bytes.
    TooLarge {
        /// The file.
        name: String,
        /// The cap that was exceeded.
        limit: u64,
    },
    /// Not UTF-8; `offset` is the first bad byte, `lossy` the text with replacements.
    Utf8 {
        /// The file.
        name: String,
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// The text with U+FFFD for invalid sequences (same offsets up to `offset`).
        lossy: String,
    },
}

impl ReadError {
    /// The registered code, if this error has one (plain IO errors do not).
    pub fn code(&self) -> Option<&'static CodeInfo> {
        match self {
            ReadError::Io(_) => None,
            ReadError::NotRegular(_) => Some(&codes::NOT_A_REGULAR_FILE),
            ReadError::TooLarge { .. } => Some(&codes::FILE_TOO_LARGE),
            ReadError::Utf8 { .. } => Some(&codes::INVALID_UTF8),
        }
    }

    /// The error as a diagnostic with its own source map (for rendering), or
    /// `None` for a plain IO error.
    pub fn diag(&self) -> Option<(Diag, SourceMap)> {
        let code = self.code()?;
        let mut sources = SourceMap::new();
        let diag = match self {
            ReadError::Utf8 {
                name,
                offset,
                lossy,
            } => {
                let file = sources.add(name.clone(), lossy.clone());
                let end = lossy[*offset..]
                    .chars()
                    .next()
                    .map_or(*offset, |c| *offset + c.len_utf8());
                Diag::error(code, Span::new(file, *offset, end), self.to_string())
                    .label(format!("byte {offset} is not valid UTF-8"))
                    .help("re-encode the file as UTF-8")
            }
            _ => {
                let file = sources.add(self.name().to_string(), String::new());
                Diag::error(code, Span::new(file, 0, 0), self.to_string()).help(match self {
                    ReadError::TooLarge { .. } => {
                        "split the policy into several files, or check the path"
                    }
                    _ => "name a regular file (use `-` to read stdin)",
                })
            }
        };
        Some((diag, sources))
    }

    fn name(&self) -> &str {
        match self {
            ReadError::Io(msg) => msg,
            ReadError::NotRegular(name) => name,
            ReadError::TooLarge { name, .. } | ReadError::Utf8 { name, .. } => name,
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(msg) => write!(f, "{msg}"),
            ReadError::NotRegular(name) => write!(
                f,
                "[AP0902] cannot read {name}: not a regular file (a directory, device, FIFO or socket)"
            ),
            ReadError::TooLarge { name, limit } => write!(
                f,
                "[AP0901] cannot read {name}: larger than the {limit}-byte limit"
            ),
            ReadError::Utf8 { name, offset, .. } => {
                write!(f, "[AP0903] {name} is not valid UTF-8 (byte {offset})")
            }
        }
    }
}

/// Reads at most `limit` bytes of a regular file, or of stdin for `-`.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let io = |e: std::io::Error| ReadError::Io(format!("cannot read {name}: {e}"));
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(io)?;
    } else {
        // Checked before opening: opening a FIFO for reading blocks until a
        // writer appears. Checked again on the handle in case the path changed.
        if !std::fs::metadata(path).map_err(io)?.is_file() {
            return Err(ReadError::NotRegular(name));
        }
        let file = std::fs::File::open(path).map_err(io)?;
        if !file.metadata().map_err(io)?.is_file() {
            return Err(ReadError::NotRegular(name));
        }
        file.take(limit + 1).read_to_end(&mut buf).map_err(io)?;
    }
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { name, limit });
    }
    Ok(buf)
}

/// Reads a UTF-8 text file (or stdin for `-`) of at most `limit` bytes; a
/// leading byte-order mark is dropped.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bytes(path, limit)?;
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        ReadError::Utf8 {
            name: path.display().to_string(),
            offset,
            lossy: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    })
}

/// Resolves `import "x.agentpol"` relative to the importing file's directory.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load_file(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let full: PathBuf = base.join(path);
        let name = full.to_string_lossy().into_owned();
        read_text(&full, MAX_SOURCE_BYTES)
            .map(|text| (name, text))
            .map_err(|e| e.to_string())
    }
}

/// Reads a policy source file (capped at [`MAX_SOURCE_BYTES`]).
pub fn read_source(path: &Path) -> Result<String, ReadError> {
    read_text(path, MAX_SOURCE_BYTES)
}

/// Compiles the policy at `path`.
pub fn compile_file(path: &Path) -> Result<agentpol_core::Compilation, ReadError> {
    let text = read_source(path)?;
    Ok(agentpol_core::compile(
        &path.to_string_lossy(),
        &text,
        &FsLoader,
    ))
}

/// Prints a read error to stderr: a coded diagnostic when it has a code, else
/// the OS message.
pub fn report(err: &ReadError) {
    match err.diag() {
        Some((diag, sources)) => {
            crate::output::print_human(&[diag], &sources, crate::output::Level::Error)
        }
        None => eprintln!("error: {err}"),
    }
}
