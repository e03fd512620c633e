//! Byte offset ↔ line/column conversion, built once per file.
//!
//! Three column units are in use: bytes (UTF-8 code units, what spans hold),
//! UTF-16 code units (what the Language Server Protocol counts by default)
//! and characters (what diagnostics and the IR show people). Counting
//! characters from the line start on every query made a policy written on
//! one long line quadratic (issue 10, point 10), so the index records every
//! non-ASCII character once, with running totals, and answers each query
//! with two binary searches: O(log n) whatever the line length.
//!
//! Positions from an editor are untrusted: a line or column past the end,
//! or a UTF-16 column that falls inside a surrogate pair, is either clamped
//! ([`LineIndex::offset_utf16_clamped`]) or reported
//! ([`LineIndex::offset_utf16`]) — never a panic.

/// A position in a file: 0-based line and 0-based columns in three units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    /// 0-based line.
    pub line: u32,
    /// 0-based column in bytes (UTF-8 code units) from the line start.
    pub utf8: u32,
    /// 0-based column in UTF-16 code units (the LSP's default unit).
    pub utf16: u32,
    /// 0-based column in characters (Unicode scalar values).
    pub chars: u32,
}

/// Why an editor position does not name a character boundary of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    /// The line is past the last line.
    #[error("line {line} is past the last line ({last})")]
    LineOutOfRange {
        /// The line asked for (0-based).
        line: u32,
        /// The last line of the file (0-based).
        last: u32,
    },
    /// The column is past the end of its line.
    #[error("column {col} is past the end of line {line} ({len} code units)")]
    ColumnOutOfRange {
        /// The line (0-based).
        line: u32,
        /// The column asked for.
        col: u32,
        /// The line's length in the same unit (without its line break).
        len: u32,
    },
    /// The UTF-16 column falls between the two halves of a surrogate pair.
    #[error("column {col} of line {line} is inside a character")]
    InsideCharacter {
        /// The line (0-based).
        line: u32,
        /// The column asked for.
        col: u32,
    },
}

/// One character that is not ASCII, with running totals of what the
/// characters before it (and it) save against counting bytes.
#[derive(Clone, Copy, Debug)]
struct Wide {
    /// Byte offset of its first byte.
    start: u32,
    /// Its length in bytes (2..=4).
    len8: u8,
    /// Its length in UTF-16 code units (1 or 2).
    len16: u8,
    /// Σ (len8 − 1) over the wide characters up to and including this one:
    /// bytes minus characters.
    saved_chars: u64,
    /// Σ (len8 − len16) over the same: bytes minus UTF-16 units.
    saved_utf16: u64,
}

/// Line starts and non-ASCII characters of one text.
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset of the start of each line; `starts[0] == 0`.
    starts: Vec<u32>,
    /// Whether each line but the last ends in `\r\n` (the `\r` is part of
    /// the break, not of the line, for editor positions).
    crlf: Vec<bool>,
    /// Every non-ASCII character, in order.
    wide: Vec<Wide>,
    /// Length of the text in bytes (saturated to `u32::MAX`).
    len: u32,
}

impl LineIndex {
    /// Indexes `text` (one pass; lines end at `\n`).
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0u32];
        let mut crlf = Vec::new();
        let mut prev = '\0';
        let mut wide = Vec::new();
        let (mut saved_chars, mut saved_utf16) = (0u64, 0u64);
        for (i, c) in text.char_indices() {
            let at = u32::try_from(i).unwrap_or(u32::MAX);
            if c == '\n' {
                starts.push(at.saturating_add(1));
                crlf.push(prev == '\r');
            } else if !c.is_ascii() {
                let (len8, len16) = (c.len_utf8(), c.len_utf16());
                saved_chars += len8 as u64 - 1;
                saved_utf16 += (len8 - len16) as u64;
                wide.push(Wide {
                    start: at,
                    len8: len8 as u8,
                    len16: len16 as u8,
                    saved_chars,
                    saved_utf16,
                });
            }
            prev = c;
        }
        LineIndex {
            starts,
            crlf,
            wide,
            len: u32::try_from(text.len()).unwrap_or(u32::MAX),
        }
    }

    /// Number of lines (a text ending in `\n` has an empty last line).
    pub fn line_count(&self) -> u32 {
        u32::try_from(self.starts.len()).unwrap_or(u32::MAX)
    }

    /// Length of the indexed text in bytes.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True if the indexed text is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The position of byte `offset`. An offset past the end is clamped to
    /// the end; one inside a multi-byte character to that character's start.
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = self.char_boundary(offset.min(self.len));
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts.get(line).copied().unwrap_or(0);
        let utf8 = offset - start;
        let (c0, u0) = self.saved_before(start);
        let (c1, u1) = self.saved_before(offset);
        LineCol {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            utf8,
            utf16: sub(utf8, u1 - u0),
            chars: sub(utf8, c1 - c0),
        }
    }

    /// 1-based line and 1-based character column of byte `offset`, as
    /// diagnostics and the IR show them.
    pub fn display_line_col(&self, offset: u32) -> (u32, u32) {
        let p = self.line_col(offset);
        (p.line.saturating_add(1), p.chars.saturating_add(1))
    }

    /// The byte offset of 0-based `line` and UTF-16 column `col`, or why
    /// that is not a character boundary of the text.
    pub fn offset_utf16(&self, line: u32, col: u32) -> Result<u32, PositionError> {
        let (start, end) = self.line_range(line)?;
        let (_, u0) = self.saved_before(start);
        let len16 = sub(end - start, self.saved_before(end).1 - u0);
        if col > len16 {
            return Err(PositionError::ColumnOutOfRange {
                line,
                col,
                len: len16,
            });
        }
        let (offset, exact) = self.utf16_to_offset(start, end, col);
        if exact {
            Ok(offset)
        } else {
            Err(PositionError::InsideCharacter { line, col })
        }
    }

    /// Like [`offset_utf16`](Self::offset_utf16), but a position that is not
    /// a boundary is moved to the nearest one before it: a line past the end
    /// is the end of the text, a column past the line's end is the line's
    /// end, a column inside a surrogate pair is that character's start.
    pub fn offset_utf16_clamped(&self, line: u32, col: u32) -> u32 {
        let Ok((start, end)) = self.line_range(line) else {
            return self.len;
        };
        self.utf16_to_offset(start, end, col).0
    }

    /// The byte offset of 0-based `line` and byte column `col`, or why that
    /// is not a character boundary of the text.
    pub fn offset_utf8(&self, line: u32, col: u32) -> Result<u32, PositionError> {
        let (start, end) = self.line_range(line)?;
        let len = end - start;
        if col > len {
            return Err(PositionError::ColumnOutOfRange { line, col, len });
        }
        let offset = start + col;
        if self.char_boundary(offset) == offset {
            Ok(offset)
        } else {
            Err(PositionError::InsideCharacter { line, col })
        }
    }

    /// Byte range of `line`'s content, without its `\n` (or `\r\n`).
    fn line_range(&self, line: u32) -> Result<(u32, u32), PositionError> {
        let idx = line as usize;
        let Some(&start) = self.starts.get(idx) else {
            return Err(PositionError::LineOutOfRange {
                line,
                last: self.line_count().saturating_sub(1),
            });
        };
        let end = match self.starts.get(idx + 1) {
            Some(&next) => {
                let cr = self.crlf.get(idx).copied().unwrap_or(false);
                next - 1 - u32::from(cr)
            }
            None => self.len,
        };
        Ok((start, end))
    }

    /// Bytes minus characters and bytes minus UTF-16 units of all wide
    /// characters that start before `offset`.
    fn saved_before(&self, offset: u32) -> (u64, u64) {
        let i = self.wide.partition_point(|w| w.start < offset);
        match i.checked_sub(1).and_then(|j| self.wide.get(j)) {
            Some(w) => (w.saved_chars, w.saved_utf16),
            None => (0, 0),
        }
    }

    /// `offset` moved back to the start of the character it falls in.
    fn char_boundary(&self, offset: u32) -> u32 {
        let i = self.wide.partition_point(|w| w.start <= offset);
        match i.checked_sub(1).and_then(|j| self.wide.get(j)) {
            Some(w) if offset < w.start + u32::from(w.len8) => w.start,
            _ => offset,
        }
    }

    /// The byte offset `col` UTF-16 units after `start`, not past `end`, and
    /// whether `col` fell exactly on a character boundary within the line.
    fn utf16_to_offset(&self, start: u32, end: u32, col: u32) -> (u32, bool) {
        let first = self.wide.partition_point(|w| w.start < start);
        let last = self.wide.partition_point(|w| w.start < end);
        let line_wide = self.wide.get(first..last).unwrap_or(&[]);
        let (_, u0) = self.saved_before(start);
        // UTF-16 units from `start` to the start of `w` (increasing along
        // the line, so the wide characters before `col` are a prefix).
        let units_before = |w: &Wide| -> u64 {
            let saved = w.saved_utf16 - u64::from(w.len8 - w.len16) - u0;
            u64::from(w.start - start) - saved
        };
        let col = u64::from(col);
        let k = line_wide.partition_point(|w| units_before(w) < col);
        let (base, base_units) = match k.checked_sub(1).and_then(|j| line_wide.get(j)) {
            Some(w) => {
                let after = units_before(w) + u64::from(w.len16);
                if col < after {
                    // Between the halves of a surrogate pair.
                    return (w.start, false);
                }
                (u64::from(w.start) + u64::from(w.len8), after)
            }
            None => (u64::from(start), 0),
        };
        let offset = base + (col - base_units);
        let clamped = offset.min(u64::from(end));
        (
            u32::try_from(clamped).unwrap_or(u32::MAX),
            clamped == offset,
        )
    }
}

/// `a - b` for a column, saturating (the totals are consistent by
/// construction; saturation only guards against a broken invariant).
fn sub(a: u32, b: u64) -> u32 {
    u32::try_from(u64::from(a).saturating_sub(b)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The position of `offset` counted the slow, obvious way.
    fn naive(text: &str, offset: usize) -> LineCol {
        let before = &text[..offset];
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = &before[start..];
        LineCol {
            line: before.matches('\n').count() as u32,
            utf8: col.len() as u32,
            utf16: col.encode_utf16().count() as u32,
            chars: col.chars().count() as u32,
        }
    }

    #[test]
    fn positions_in_three_units() {
        let text = "ab\ncdé\n\nx😀y\r\nz";
        let idx = LineIndex::new(text);
        assert_eq!(idx.display_line_col(0), (1, 1));
        assert_eq!(idx.display_line_col(2), (1, 3));
        assert_eq!(idx.display_line_col(3), (2, 1));
        assert_eq!(idx.display_line_col(7), (2, 4));
        assert_eq!(idx.display_line_col(9), (4, 1));
        // After the emoji: 5 bytes, 3 UTF-16 units, 2 characters.
        let y = text.find('y').unwrap() as u32;
        let p = idx.line_col(y);
        assert_eq!((p.line, p.utf8, p.utf16, p.chars), (3, 5, 3, 2));
        // Inside the emoji: its start.
        assert_eq!(idx.line_col(y - 2), idx.line_col(y - 4));
        // Past the end: the end.
        assert_eq!(idx.line_col(999), naive(text, text.len()));
        assert_eq!(idx.line_count(), 5);
    }

    #[test]
    fn editor_positions_are_checked() {
        let text = "x😀y\r\nz";
        let idx = LineIndex::new(text);
        assert_eq!(idx.offset_utf16(0, 0), Ok(0));
        assert_eq!(idx.offset_utf16(0, 1), Ok(1));
        assert_eq!(
            idx.offset_utf16(0, 2),
            Err(PositionError::InsideCharacter { line: 0, col: 2 })
        );
        assert_eq!(idx.offset_utf16(0, 3), Ok(5));
        // The line is `x😀y`: 4 units; `\r\n` is the break.
        assert_eq!(idx.offset_utf16(0, 4), Ok(6));
        assert_eq!(
            idx.offset_utf16(0, 5),
            Err(PositionError::ColumnOutOfRange {
                line: 0,
                col: 5,
                len: 4
            })
        );
        assert_eq!(idx.offset_utf16(1, 1), Ok(9));
        assert_eq!(
            idx.offset_utf16(2, 0),
            Err(PositionError::LineOutOfRange { line: 2, last: 1 })
        );
        assert_eq!(idx.offset_utf16_clamped(0, 2), 1);
        assert_eq!(idx.offset_utf16_clamped(0, 99), 6);
        assert_eq!(idx.offset_utf16_clamped(7, 0), 9);
        assert_eq!(idx.offset_utf16_clamped(u32::MAX, u32::MAX), 9);
        assert_eq!(idx.offset_utf16_clamped(1, u32::MAX), 9);
        assert_eq!(idx.offset_utf8(0, 5), Ok(5));
        assert_eq!(
            idx.offset_utf8(0, 3),
            Err(PositionError::InsideCharacter { line: 0, col: 3 })
        );
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('a'),
                Just('\n'),
                Just('\r'),
                Just('é'),
                Just('€'),
                Just('😀'),
            ],
            0..40,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn agrees_with_counting(text in text_strategy(), pick in 0usize..64) {
            let idx = LineIndex::new(&text);
            let offset = pick.min(text.len());
            let boundary = (0..=offset).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let p = idx.line_col(offset as u32);
            prop_assert_eq!(p, naive(&text, boundary));
            // Round trip through both editor units at every boundary
            // (except between the `\r` and `\n` of a break, which editors
            // cannot address: the `\r` belongs to the break).
            let bytes = text.as_bytes();
            let in_crlf = offset > 0
                && bytes.get(offset - 1) == Some(&b'\r')
                && bytes.get(offset) == Some(&b'\n');
            if text.is_char_boundary(offset) && !in_crlf {
                prop_assert_eq!(idx.offset_utf16(p.line, p.utf16), Ok(offset as u32));
                prop_assert_eq!(idx.offset_utf8(p.line, p.utf8), Ok(offset as u32));
                prop_assert_eq!(idx.offset_utf16_clamped(p.line, p.utf16), offset as u32);
            }
        }

        #[test]
        fn any_editor_position_is_safe(text in text_strategy(), line in 0u32..12, col in 0u32..50) {
            let idx = LineIndex::new(&text);
            let clamped = idx.offset_utf16_clamped(line, col) as usize;
            prop_assert!(clamped <= text.len() && text.is_char_boundary(clamped));
            if let Ok(o) = idx.offset_utf16(line, col) {
                prop_assert_eq!(o as usize, clamped);
                let p = idx.line_col(o);
                prop_assert_eq!((p.line, p.utf16), (line, col));
            }
        }
    }
}
