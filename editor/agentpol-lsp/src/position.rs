//! Byte offsets ↔ LSP positions (0-based line, UTF-16 code units).
//!
//! Behind [`Encoder`] so the protocol code does not care how lines are found:
//! this implementation rescans the text per call (as `SourceFile::line_col`
//! does today); core's planned `LineIndex` (issue 9.6) replaces it without
//! touching the handlers.

use lsp_types::Position;

/// Converts between byte offsets and LSP positions in one text.
pub trait Encoder {
    /// The position of byte `offset` (clamped to the text, floored to a char boundary).
    fn position(&self, offset: u32) -> Position;
    /// The byte offset of `pos`, or why it is not a position in the text.
    fn offset(&self, pos: Position) -> Result<u32, String>;
}

/// An [`Encoder`] that scans the text on each call.
pub struct Scan<'a>(pub &'a str);

impl Encoder for Scan<'_> {
    fn position(&self, offset: u32) -> Position {
        let text = self.0;
        let mut off = (offset as usize).min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        let before = text.get(..off).unwrap_or("");
        let line = before.bytes().filter(|b| *b == b'\n').count();
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before
            .get(line_start..)
            .unwrap_or("")
            .encode_utf16()
            .count();
        Position::new(
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }

    fn offset(&self, pos: Position) -> Result<u32, String> {
        let text = self.0;
        let mut line_start = 0usize;
        for _ in 0..pos.line {
            match text.get(line_start..).and_then(|t| t.find('\n')) {
                Some(i) => line_start += i + 1,
                None => return Err(format!("line {} is past the end of the document", pos.line)),
            }
        }
        let line = text.get(line_start..).unwrap_or("");
        let line = line.split('\n').next().unwrap_or("");
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            if units == pos.character {
                return to_u32(line_start + i);
            }
            units += c.len_utf16() as u32;
            if units > pos.character {
                return Err(format!(
                    "character {} of line {} is inside a surrogate pair",
                    pos.character, pos.line
                ));
            }
        }
        // Past the end of the line: the spec says to use the line's end.
        to_u32(line_start + line.len())
    }
}

fn to_u32(n: usize) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| "document too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "ab\n😀x\né\n";
        let s = Scan(text);
        // 😀 is 4 bytes and 2 UTF-16 units.
        assert_eq!(s.position(7), Position::new(1, 2));
        assert_eq!(s.offset(Position::new(1, 2)), Ok(7));
        assert_eq!(s.offset(Position::new(2, 1)), Ok(11));
        assert!(s.offset(Position::new(1, 1)).is_err());
        assert_eq!(s.offset(Position::new(0, 99)), Ok(2));
        assert!(s.offset(Position::new(9, 0)).is_err());
        assert_eq!(s.position(1000), Position::new(4, 0));
        // Inside a multi-byte char: floored.
        assert_eq!(s.position(5), Position::new(1, 0));
    }
}
