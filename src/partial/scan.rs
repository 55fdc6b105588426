//! The scanner behind partial parsing: top-level statements and class
//! members found without parsing.
//!
//! It is a small Python lexer: it tracks strings (including triple quotes
//! and escapes), comments, brackets and backslash continuations, so a
//! statement starts only at its indentation outside all of them. When it is
//! unsure (an unterminated string, unbalanced brackets) it returns `None`.

use std::ops::Range;

/// The positions of the bytes the scanner must look at (line endings, `#`,
/// backslashes, brackets, quotes, form feeds; see [`mask`]), 64 bytes at a time.
///
/// About one byte in 18 of Python code is interesting, so a byte loop that
/// stops at each one spends its time on the loop and on mispredicted exits.
/// Here each 64-byte block becomes a bit mask in a branch-free pass that the
/// compiler vectorises (the comparisons written so that each is one `pcmpeqb`,
/// the flags gathered eight at a time by a multiplication), and the next
/// interesting byte is a `trailing_zeros` away.
struct Events<'a> {
    text: &'a [u8],
    /// Where the current block starts, and its bits not yet consumed.
    block: usize,
    mask: u64,
}

impl<'a> Events<'a> {
    fn new(text: &'a [u8], from: usize) -> Self {
        let mut ev = Events { text, block: from, mask: 0 };
        ev.load(from);
        ev
    }

    fn load(&mut self, at: usize) {
        self.block = at;
        self.mask = match self.text.get(at..at + 64) {
            Some(chunk) => mask(chunk.try_into().expect("64 bytes")),
            None => {
                // The tail, padded with zeros (not interesting).
                let mut chunk = [0u8; 64];
                let rest = &self.text[at.min(self.text.len())..];
                chunk[..rest.len()].copy_from_slice(rest);
                mask(&chunk)
            }
        };
    }

    /// The first interesting byte at or after `i`.
    fn next(&mut self, i: usize) -> Option<usize> {
        if i < self.block || i >= self.block + 64 {
            self.load(i);
        } else {
            // Drop the bits before `i`.
            self.mask &= u64::MAX << (i - self.block);
        }
        loop {
            if self.mask != 0 {
                return Some(self.block + self.mask.trailing_zeros() as usize);
            }
            if self.block + 64 >= self.text.len() {
                return None;
            }
            self.load(self.block + 64);
        }
    }
}

/// Bit `k` is set if `chunk[k]` is a byte the scanner must look at:
/// `\n \r # \\ ( ) [ ] { } ' "` and the form feed.
fn mask(chunk: &[u8; 64]) -> u64 {
    let mut flags = [0u8; 64];
    for (f, &b) in flags.iter_mut().zip(chunk) {
        let folded = b | 0x20; // `[` and `{`, `]` and `}`
        let hit = ((b & 0xfe) == b'(')
            | (folded == b'{')
            | (folded == b'}')
            | (b == b'"')
            | (b == b'\'')
            | (b == b'#')
            | (b == b'\\')
            | (b == b'\n')
            | (b == b'\r')
            | (b == b'\x0c');
        *f = hit as u8;
    }
    let mut m = 0u64;
    for (g, eight) in flags.chunks_exact(8).enumerate() {
        // Each byte is 0 or 1: the multiplication moves byte k's bit to bit
        // 56 + k, with no carries between them.
        let w = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        m |= (w.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * g);
    }
    m
}

/// Byte ranges of top-level statements, in order.
pub(super) fn statements(text: &[u8]) -> Option<Vec<Range<usize>>> {
    statements_in(text, 0..text.len(), b"")
}

/// Byte ranges of the statements in `range` that start at indentation
/// `indent` exactly (a class body's members), in order. Each range starts at
/// the statement's first character, after the indentation.
///
/// Only the interesting bytes are visited ([`Events`]): a line is judged by
/// the bytes right after its line ending, not by walking its indentation, and
/// a form feed (an event too) is judged where it stands.
pub(super) fn statements_in(text: &[u8], range: Range<usize>, indent: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut starts = Vec::new();
    let end = range.end;
    let text = &text[..end];
    // Whether a statement at `indent` starts at `at`: the indentation, then
    // neither a blank, a comment nor a line ending.
    let starts_at = |at: usize| {
        // (A byte loop: slice equality calls `memcmp`, at every line.)
        text.get(at..).is_some_and(|rest| rest.len() >= indent.len() && indent.iter().zip(rest).all(|(a, b)| a == b))
            && text.get(at + indent.len()).is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'#' | b'\x0c'))
    };
    // Where the current line begins, and the bracket depth.
    let (mut line, mut depth) = (range.start, 0usize);
    if starts_at(line) {
        starts.push(line + indent.len());
    }
    let mut events = Events::new(text, range.start);
    let mut i = range.start;
    while let Some(at) = events.next(i) {
        i = at;
        match text[i] {
            b'\n' | b'\r' => {
                line = i + 1;
                if depth == 0 && starts_at(line) {
                    starts.push(line + indent.len());
                }
            }
            // A form feed in the leading whitespace resets the indentation
            // (CPython's tokenizer and tree-sitter's scanner alike).
            b'\x0c'
                if depth == 0
                    && text[line..i].iter().all(|c| matches!(c, b' ' | b'\t' | b'\x0c'))
                    && starts_at(i + 1) =>
            {
                starts.push(i + 1 + indent.len());
            }
            b'#' => {
                i += memchr::memchr2(b'\n', b'\r', &text[i..]).unwrap_or(text.len() - i);
                continue;
            }
            b'\\' => {
                // A continuation joins the next line to this statement: its
                // line ending is not a line start (any other escaped byte is
                // skipped as well).
                i += if text.get(i + 1..i + 3) == Some(b"\r\n") { 3 } else { 2 };
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\'' | b'"' => {
                i = skip_string_with(&mut events, text, i)?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        // A statement runs to the start of the next one's line (its indentation included).
        let next = starts.get(k + 1).map_or(end, |&n| n - indent.len());
        out.push(s..next);
    }
    Some(out)
}

/// [`skip_string`], with a one-line string's quotes, backslashes and line
/// endings found through `events` (all are interesting bytes).
fn skip_string_with(events: &mut Events<'_>, text: &[u8], i: usize) -> Option<usize> {
    let q = text[i];
    if text.get(i + 1) == Some(&q) && text.get(i + 2) == Some(&q) {
        return skip_string(text, i);
    }
    let mut j = i + 1;
    loop {
        let k = events.next(j)?;
        match text[k] {
            b'\\' => j = k + 2,
            c if c == q => return Some(k + 1),
            b'\n' | b'\r' => return None,
            _ => j = k + 1,
        }
    }
}

/// Returns the index just past the string literal starting at `i`.
fn skip_string(text: &[u8], i: usize) -> Option<usize> {
    let q = text[i];
    let triple = text.get(i + 1) == Some(&q) && text.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    if triple {
        // Only the quote and backslashes matter: jump between them (long
        // docstrings are a good part of many files).
        while j < text.len() {
            j += memchr::memchr2(q, b'\\', &text[j..])?;
            if text[j] == b'\\' {
                j += 2;
            } else if text.get(j + 1) == Some(&q) && text.get(j + 2) == Some(&q) {
                return Some(j + 3);
            } else {
                j += 1;
            }
        }
        return None;
    }
    // A one-quote string ends at its quote, or (unterminated) at a line end.
    while j < text.len() {
        match text[j] {
            b'\\' => j += 2,
            c if c == q => return Some(j + 1),
            b'\n' | b'\r' => return None,
            _ => j += 1,
        }
    }
    None
}

/// The body of a top-level `def`/`class` statement (after the header line),
/// if it has one on following lines.
pub(super) fn body(text: &[u8], stmt: &Range<usize>) -> Option<Range<usize>> {
    let s = &text[stmt.clone()];
    if !matches!(s.first(), Some(b'a' | b'd' | b'c')) {
        return None;
    }
    let head = s.strip_prefix(b"async ").unwrap_or(s);
    if !(head.starts_with(b"def ") || head.starts_with(b"class ")) {
        return None;
    }
    // The header ends at the first line ending outside brackets and strings.
    let (mut i, mut depth) = (stmt.start, 0usize);
    while i < stmt.end {
        match text[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\'' | b'"' => {
                i = skip_string(text, i)?;
                continue;
            }
            b'#' => {
                while i < stmt.end && !matches!(text[i], b'\n' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'\n' | b'\r' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let header = &text[stmt.start..i];
    let trimmed = header.iter().rposition(|b| !matches!(b, b' ' | b'\t'))?;
    if header[trimmed] != b':' {
        return None; // `def f(): return 1`: nothing to blank.
    }
    while i < stmt.end && matches!(text[i], b'\n' | b'\r') {
        i += 1;
    }
    (i < stmt.end).then_some(i..stmt.end)
}

/// The indentation of the first code line of `body`.
pub(super) fn body_indent<'b>(bytes: &'b [u8], body: &Range<usize>) -> Option<&'b [u8]> {
    let mut at = body.start;
    while at < body.end {
        let line_end = memchr::memchr2(b'\n', b'\r', &bytes[at..body.end]).map_or(body.end, |p| at + p);
        let line = &bytes[at..line_end];
        let width = line.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
        if width < line.len() && line[width] != b'#' {
            return (width > 0).then_some(&line[..width]);
        }
        at = line_end + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`mask`] computes, one byte at a time.
    fn interesting(b: u8) -> bool {
        matches!(b, b'\n' | b'\r' | b'#' | b'\\' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'\'' | b'"' | b'\x0c')
    }

    /// `skip_string` as a plain byte loop: the reference for the jumps.
    fn skip_string_by_bytes(text: &[u8], i: usize) -> Option<usize> {
        let q = text[i];
        let triple = text.get(i + 1) == Some(&q) && text.get(i + 2) == Some(&q);
        let mut j = if triple { i + 3 } else { i + 1 };
        while j < text.len() {
            match text[j] {
                b'\\' => j += 2,
                c if c == q => {
                    if !triple {
                        return Some(j + 1);
                    }
                    if text.get(j + 1) == Some(&q) && text.get(j + 2) == Some(&q) {
                        return Some(j + 3);
                    }
                    j += 1;
                }
                b'\n' | b'\r' if !triple => return None,
                _ => j += 1,
            }
        }
        None
    }

    /// [`statements_in`] as a byte loop that walks each line's indentation:
    /// the reference for the event-driven version.
    fn statements_by_bytes(text: &[u8], range: Range<usize>, indent: &[u8]) -> Option<Vec<Range<usize>>> {
        let end = range.end;
        let text = &text[..end];
        let mut starts = Vec::new();
        let (mut i, mut depth, mut line_start) = (range.start, 0usize, true);
        while i < text.len() {
            if line_start {
                line_start = false;
                let (mut at, mut j) = (i, i);
                while j < text.len() && matches!(text[j], b' ' | b'\t' | b'\x0c') {
                    if text[j] == b'\x0c' {
                        at = j + 1;
                    }
                    j += 1;
                }
                let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'#' | b'\x0c');
                if depth == 0
                    && text[at..].starts_with(indent)
                    && text.get(at + indent.len()).is_some_and(|c| !blank(c))
                {
                    starts.push(at + indent.len());
                }
                i = j;
                if i == text.len() {
                    break;
                }
            }
            match text[i] {
                b'\n' | b'\r' => line_start = true,
                b'#' => {
                    while i < text.len() && !matches!(text[i], b'\n' | b'\r') {
                        i += 1;
                    }
                    continue;
                }
                b'\\' => {
                    i += if text.get(i + 1..i + 3) == Some(b"\r\n") { 3 } else { 2 };
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b'\'' | b'"' => {
                    i = skip_string_by_bytes(text, i)?;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        if depth != 0 {
            return None;
        }
        let next = |k: usize| starts.get(k + 1).map_or(end, |&n: &usize| n - indent.len());
        Some(starts.iter().enumerate().map(|(k, &s)| s..next(k)).collect())
    }

    proptest::proptest! {
        #[test]
        fn statements_are_those_of_the_byte_loop(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "def f():", "class A:", "x = 1", "    ", "\t", "\x0c", "\n", "\r\n", "\r", "\\", "(", ")", "[", "}",
                "'", "\"", "'''", "#", " ", "y", "@d", "f(\n", ")\n", "'s'", "\"s\"", "\"\"\"doc\n\"\"\"",
            ]), 0..60),
            indent in proptest::sample::select(vec!["", "    ", "\t"]),
            from in 0usize..8,
        ) {
            let text = parts.concat();
            let from = from.min(text.len());
            let range = from..text.len();
            proptest::prop_assert_eq!(
                statements_in(text.as_bytes(), range.clone(), indent.as_bytes()),
                statements_by_bytes(text.as_bytes(), range, indent.as_bytes())
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn skip_string_jumps_as_the_byte_loop_steps(body in "('|\"|\\\\|x|\n|\r|#|\\(){0,24}", quote in "('|\"|'''|\"\"\")") {
            let text = format!("{quote}{body}");
            proptest::prop_assert_eq!(skip_string(text.as_bytes(), 0), skip_string_by_bytes(text.as_bytes(), 0));
            let mut events = Events::new(text.as_bytes(), 0);
            proptest::prop_assert_eq!(skip_string_with(&mut events, text.as_bytes(), 0), skip_string_by_bytes(text.as_bytes(), 0));
        }
    }

    proptest::proptest! {
        #[test]
        fn events_are_the_interesting_bytes(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), from in 0usize..320) {
            let from = from.min(text.len());
            let expected: Vec<usize> = (from..text.len()).filter(|&k| interesting(text[k])).collect();
            let mut events = Events::new(&text, from);
            let mut found = Vec::new();
            let mut at = from;
            while let Some(k) = events.next(at) {
                found.push(k);
                at = k + 1;
            }
            proptest::prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn every_byte_value_is_classified_as_the_table_says() {
        for b in 0..=255u8 {
            let mut chunk = [b'x'; 64];
            chunk[37] = b;
            let expected = if interesting(b) { 1u64 << 37 } else { 0 };
            assert_eq!(mask(&chunk), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn a_form_feed_resets_the_indentation() {
        let src = "def a():\n    return 1\n\x0cdef b():\n    pass\n  \x0cc = 1\n";
        let s = statements(src.as_bytes()).unwrap();
        let texts: Vec<&str> = s.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(texts, ["def a():\n    return 1\n\x0c", "def b():\n    pass\n  \x0c", "c = 1\n"]);
    }

    #[test]
    fn statements_ignore_brackets_strings_and_continuations() {
        let src = "x = (1,\n2)\ny = \"a#b\" \\\n  + 'c'\n# comment\nz = 1\n";
        let s = statements(src.as_bytes()).unwrap();
        let texts: Vec<&str> = s.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(texts, ["x = (1,\n2)\n", "y = \"a#b\" \\\n  + 'c'\n# comment\n", "z = 1\n"]);
        // The line after a continued one starts a statement (it used to be
        // merged into the continued one, and kept a `def` from being blanked).
        for eol in ["\n", "\r\n", "\r"] {
            let src = format!("y = a \\{eol}    + b{eol}def f():{eol}    pass{eol}");
            let s = statements(src.as_bytes()).unwrap();
            let texts: Vec<&str> = s.iter().map(|r| &src[r.clone()]).collect();
            assert_eq!(texts, [format!("y = a \\{eol}    + b{eol}"), format!("def f():{eol}    pass{eol}")], "{eol:?}");
        }
    }
}
