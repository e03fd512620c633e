//! Byte offsets ↔ LSP positions (0-based line, UTF-16 code units), answered
//! by core's [`LineIndex`], which every source file already carries: O(log n)
//! per query, so a policy on one long line stays fast in the editor too.

use agentpol_core::source::{LineIndex, PositionError};
use lsp_types::Position;

/// The position of byte `offset` (clamped to the text, floored to a char boundary).
pub fn position(lines: &LineIndex, offset: u32) -> Position {
    let p = lines.line_col(offset);
    Position::new(p.line, p.utf16)
}

/// The byte offset of `pos`, or why it is not a position in the text. A
/// column past the line's end means the line's end, as the LSP specifies.
pub fn offset(lines: &LineIndex, pos: Position) -> Result<u32, String> {
    match lines.offset_utf16(pos.line, pos.character) {
        Ok(off) => Ok(off),
        Err(PositionError::ColumnOutOfRange { .. }) => {
            Ok(lines.offset_utf16_clamped(pos.line, pos.character))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_round_trip() {
        let text = "ab\n😀x\né\n";
        let l = LineIndex::new(text);
        // 😀 is 4 bytes and 2 UTF-16 units.
        assert_eq!(position(&l, 7), Position::new(1, 2));
        assert_eq!(offset(&l, Position::new(1, 2)), Ok(7));
        assert_eq!(offset(&l, Position::new(2, 1)), Ok(11));
        assert!(offset(&l, Position::new(1, 1)).is_err());
        assert_eq!(offset(&l, Position::new(0, 99)), Ok(2));
        assert!(offset(&l, Position::new(9, 0)).is_err());
        // Three line breaks: the end of the text is line 3.
        assert_eq!(position(&l, 1000), Position::new(3, 0));
        // Inside a multi-byte char: floored.
        assert_eq!(position(&l, 5), Position::new(1, 0));
    }
}
