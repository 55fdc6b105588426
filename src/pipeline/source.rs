//! Reading a file into a [`Source`]: decoding, and the facts about its style.
//!
//! tame must write back exactly the bytes it read wherever it did not edit, so a
//! `Source` remembers how the file was encoded (UTF-8 with or without a BOM, or a
//! PEP 263 Latin-1 cookie), its dominant line ending and its indentation unit.
//! Transforms render new lines with those, never with hard-coded `\n` or spaces.

use std::borrow::Cow;
use std::cell::OnceCell;
use thiserror::Error;

/// Why a file could not be turned into a `Source`.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("binary file (NUL byte at offset {0})")]
    Binary(usize),
    #[error("not valid UTF-8 (byte {0}) and no PEP 263 coding cookie declares another encoding")]
    InvalidUtf8(usize),
    #[error("invalid {encoding} (byte {offset}) although the coding cookie declares it")]
    InvalidDeclared { encoding: String, offset: usize },
    #[error("unsupported encoding '{0}' declared by a PEP 263 coding cookie (tame handles utf-8 and latin-1)")]
    UnsupportedEncoding(String),
}

/// How the file's bytes map to text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// ISO-8859-1 (and its aliases), declared by a coding cookie. Each byte is one char.
    Latin1,
}

/// The file's dominant line ending, used for every line tame adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
}

/// A decoded source file and its style.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The text, always UTF-8, without the BOM: borrowed from the bytes
    /// when they are UTF-8 already (no copy of a large file), else decoded.
    pub text: Cow<'a, str>,
    pub bom: bool,
    pub encoding: Encoding,
    pub line_ending: LineEnding,
}

/// One level of indentation as a file writes it (`"    "`, `"  "`, `"\t"`),
/// found on first use: only a file with something to render needs it, and
/// finding it reads up to 5,000 lines.
pub struct Indent<'a> {
    text: &'a str,
    unit: OnceCell<String>,
}

impl<'a> Indent<'a> {
    /// The indentation `text` uses.
    pub fn of(text: &'a str) -> Self {
        Indent { text, unit: OnceCell::new() }
    }

    /// A known indentation unit (for tests and callers that know it).
    pub fn known(unit: &str) -> Indent<'static> {
        Indent { text: "", unit: OnceCell::from(unit.to_owned()) }
    }

    pub fn get(&self) -> &str {
        self.unit.get_or_init(|| detect_indent(self.text))
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// UTF-8 validation with SIMD (it runs on every file, prefiltered or not),
/// with the standard library's error offset.
fn utf8(bytes: &[u8]) -> Result<&str, simdutf8::compat::Utf8Error> {
    simdutf8::compat::from_utf8(bytes)
}

/// The checks and facts `decode` and `validate` share: no NUL byte, the BOM,
/// the body after it, and the encoding a PEP 263 cookie declares.
fn prelude(bytes: &[u8]) -> Result<(bool, &[u8], Option<String>), SourceError> {
    if let Some(pos) = memchr::memchr(0, bytes) {
        return Err(SourceError::Binary(pos));
    }
    let (bom, body) = match bytes.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let declared = if bom { None } else { coding_cookie(body) };
    Ok((bom, body, declared))
}

impl<'a> Source<'a> {
    /// Decodes `bytes`. Never panics, whatever the input.
    pub fn decode(bytes: &'a [u8]) -> Result<Source<'a>, SourceError> {
        let (bom, body, declared) = prelude(bytes)?;
        let (text, encoding) = match declared.as_deref() {
            None | Some("utf-8") | Some("utf8") | Some("utf_8") => match utf8(body) {
                Ok(t) => (Cow::Borrowed(t), Encoding::Utf8),
                Err(e) if declared.is_some() => {
                    return Err(SourceError::InvalidDeclared { encoding: "utf-8".into(), offset: e.valid_up_to() });
                }
                Err(e) => return Err(SourceError::InvalidUtf8(e.valid_up_to())),
            },
            Some("latin-1" | "latin1" | "latin_1" | "iso-8859-1" | "iso8859-1" | "iso_8859_1" | "l1") => {
                (Cow::Owned(body.iter().map(|&b| b as char).collect::<String>()), Encoding::Latin1)
            }
            Some("ascii" | "us-ascii") => match body.iter().position(|b| !b.is_ascii()) {
                None => (String::from_utf8_lossy(body), Encoding::Utf8),
                Some(offset) => {
                    return Err(SourceError::InvalidDeclared { encoding: "ascii".into(), offset });
                }
            },
            Some(other) => return Err(SourceError::UnsupportedEncoding(other.to_owned())),
        };
        let line_ending = detect_line_ending(&text);
        Ok(Source { text, bom, encoding, line_ending })
    }

    /// Checks that `bytes` would decode, without building a `Source` (for
    /// files the prefilter rules out: their errors must still be reported).
    pub fn validate(bytes: &[u8]) -> Result<(), SourceError> {
        let (_, body, declared) = prelude(bytes)?;
        match declared.as_deref() {
            None => utf8(body).map(|_| ()).map_err(|e| SourceError::InvalidUtf8(e.valid_up_to())),
            Some(_) => Source::decode(bytes).map(|_| ()),
        }
    }

    /// Encodes `text` back the way this file was encoded (BOM, cookie encoding).
    /// Returns `None` if the text holds a char the encoding cannot represent.
    pub fn encode(&self, text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(text.len() + 3);
        if self.bom {
            out.extend_from_slice(BOM);
        }
        match self.encoding {
            Encoding::Utf8 => out.extend_from_slice(text.as_bytes()),
            Encoding::Latin1 => {
                for c in text.chars() {
                    out.push(u8::try_from(u32::from(c)).ok()?);
                }
            }
        }
        Some(out)
    }
}

/// The PEP 263 cookie on line 1 or 2, lowercased, if any.
fn coding_cookie(bytes: &[u8]) -> Option<String> {
    for (i, line) in bytes.split(|&b| b == b'\n').take(2).enumerate() {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            // PEP 263: line 2 only counts if line 1 is a comment (or blank).
            if i == 0 && !trimmed.is_empty() {
                return None;
            }
            continue;
        }
        // Most files have no cookie: the regex (which needs the word) is not
        // even compiled for them.
        if !trimmed.contains("coding") {
            continue;
        }
        if let Some(c) = cookie_regex().captures(trimmed) {
            return Some(c[1].to_ascii_lowercase());
        }
    }
    None
}

fn cookie_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^#.*?coding[:=][ \t]*([-\w.]+)").expect("valid regex"))
}

fn detect_line_ending(text: &str) -> LineEnding {
    let bytes = text.as_bytes();
    if memchr::memchr(b'\r', bytes).is_none() {
        return LineEnding::Lf;
    }
    let (mut lf, mut crlf, mut cr) = (0usize, 0usize, 0usize);
    for pos in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        match bytes[pos] {
            b'\n' if pos > 0 && bytes[pos - 1] == b'\r' => crlf += 1,
            b'\n' => lf += 1,
            _ if bytes.get(pos + 1) == Some(&b'\n') => {}
            _ => cr += 1,
        }
    }
    // A bare CR is a line ending only in a file with no other kind: next to
    // LF or CRLF endings it is almost surely inside a string (a docstring
    // pasted from an old Mac file), and lines rendered with it would mix
    // endings in the code, which tree-sitter does not parse (found by the
    // fuzzer: a docstring with 55 CRs in a 12-line LF file).
    if lf == 0 && crlf == 0 && cr > 0 {
        LineEnding::Cr
    } else if crlf > lf {
        LineEnding::CrLf
    } else {
        LineEnding::Lf
    }
}

/// The indentation unit: the most common positive step between a line that
/// ends in `:` and the next non-blank line. Tabs win if the first step uses them.
fn detect_indent(text: &str) -> String {
    let mut counts = [0usize; 9];
    let mut prev: Option<(usize, bool)> = None;
    // Bytes, not `str::lines`: this runs on every file with something to
    // render. Lines split at `\n`, a `\r` before it dropped, as `lines` does.
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut ends = newlines(bytes).chain(std::iter::once(bytes.len()));
    for _ in 0..5000 {
        if start >= bytes.len() {
            break;
        }
        let end = ends.next().unwrap_or(bytes.len());
        // Only `\r\n` is a line ending to `lines`: a final bare `\r` stays.
        let line_end = if end < bytes.len() && end > start && bytes[end - 1] == b'\r' { end - 1 } else { end };
        let (line, line_start) = (&bytes[start..line_end], start);
        start = end + 1;
        let mut width = 0;
        // Most indentation is spaces: eight at a time first.
        while line.get(width..width + 8).is_some_and(|w| w == b"        ") {
            width += 8;
        }
        width += line[width..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
        let (lead, trimmed) = line.split_at(width);
        if trimmed.is_empty() || trimmed[0] == b'#' {
            continue;
        }
        if let Some((prev_width, true)) = prev {
            if lead.first() == Some(&b'\t') && prev_width == 0 {
                return "\t".into();
            }
            if width > prev_width && width - prev_width <= 8 && !lead.contains(&b'\t') {
                counts[width - prev_width] += 1;
            }
        }
        let ends_block = match trimmed.last() {
            // The common case: the line ends in a visible ASCII character.
            Some(&c) if c.is_ascii_graphic() => c == b':',
            // Cut at ASCII bytes, so a `str` slice; `trim_end` trims Unicode spaces too.
            _ => text[line_start + width..line_end].trim_end().ends_with(':'),
        };
        prev = Some((width, ends_block));
    }
    let best = (1..=8).max_by_key(|&w| (counts[w], w == 4)).unwrap_or(4);
    if counts[best] == 0 { "    ".into() } else { " ".repeat(best) }
}

/// The positions of the `\n` bytes in `bytes`, in order.
///
/// Each 64-byte block becomes a bit mask in a branch-free pass the compiler
/// vectorises, and each line ending is then a `trailing_zeros` away: a short
/// line costs a few instructions, where a `memchr` call per line pays its
/// setup every time (whole-file line passes, such as the line length and
/// indentation a rewrite follows, run over files of megabytes).
pub fn newlines(bytes: &[u8]) -> Newlines<'_> {
    Newlines { bytes, block: 0, mask: newline_mask(bytes, 0) }
}

pub struct Newlines<'a> {
    bytes: &'a [u8],
    /// Where the current block starts, and its line endings not yet returned.
    block: usize,
    mask: u64,
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.block += 64;
            if self.block >= self.bytes.len() {
                return None;
            }
            self.mask = newline_mask(self.bytes, self.block);
        }
        let at = self.block + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Bit `k` is set if `bytes[at + k]` is `\n` (bytes past the end are not).
fn newline_mask(bytes: &[u8], at: usize) -> u64 {
    let mut chunk = [0u8; 64];
    let chunk: &[u8; 64] = match bytes.get(at..at + 64) {
        Some(full) => full.try_into().expect("64 bytes"),
        None => {
            let rest = &bytes[at.min(bytes.len())..];
            chunk[..rest.len()].copy_from_slice(rest);
            &chunk
        }
    };
    let mut m = 0u64;
    for (g, eight) in chunk.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        // A byte of `w ^ 0x0a..` is zero exactly where `w` holds `\n`: the
        // usual zero-byte test, exact when no byte's high bit is set...
        let x = w ^ 0x0a0a_0a0a_0a0a_0a0a;
        let zero = !(((x & 0x7f7f_7f7f_7f7f_7f7f) + 0x7f7f_7f7f_7f7f_7f7f) | x | 0x7f7f_7f7f_7f7f_7f7f);
        // ...then bit 7 of each byte moved to bit 56 + k by one multiplication.
        m |= (((zero >> 7) & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * g);
    }
    m
}

/// The 1-based line and column (column counted in chars) of each of
/// `offsets` (in any order), in one pass over the text rather than one per
/// offset: a file's findings and their edits need dozens, and large files
/// reach here.
pub fn line_cols(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let bytes = text.as_bytes();
    let mut out = vec![(0, 0); offsets.len()];
    let (mut pos, mut line) = (0, 1);
    for i in order {
        let offset = offsets[i].min(text.len());
        line += memchr::memchr_iter(b'\n', &bytes[pos..offset]).count();
        pos = offset;
        let line_start = memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |p| p + 1);
        let col = text.get(line_start..offset).map_or(offset - line_start, |s| s.chars().count()) + 1;
        out[i] = (line, col);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One offset at a time: the reference for [`line_cols`].
    fn line_col(text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
        let col = text.get(line_start..offset).map_or(offset - line_start, |s| s.chars().count()) + 1;
        (line, col)
    }

    proptest::proptest! {
        #[test]
        fn line_cols_is_line_col_of_each(text in "(a|é|\n|\r\n|\r){0,40}", offsets in proptest::collection::vec(0usize..100, 0..12)) {
            let expected: Vec<(usize, usize)> = offsets.iter().map(|&o| line_col(&text, o)).collect();
            proptest::prop_assert_eq!(line_cols(&text, &offsets), expected);
        }
    }

    proptest::proptest! {
        #[test]
        fn newlines_are_where_memchr_finds_them(
            bytes in proptest::collection::vec(proptest::sample::select(vec![b'\n', b'\n' ^ 0x80, b'\r', b'a', 0x0b, 0xff, 0]), 0..300)
        ) {
            let expected: Vec<usize> = memchr::memchr_iter(b'\n', &bytes).collect();
            proptest::prop_assert_eq!(newlines(&bytes).collect::<Vec<_>>(), expected);
        }
    }

    /// The straightforward `str::lines` version `detect_indent` must agree with.
    fn detect_indent_reference(text: &str) -> String {
        let mut counts = [0usize; 9];
        let mut prev: Option<(usize, bool)> = None;
        for line in text.lines().take(5000) {
            let trimmed = line.trim_start_matches([' ', '\t']);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let lead = &line[..line.len() - trimmed.len()];
            if let Some((prev_width, true)) = prev {
                if lead.starts_with('\t') && prev_width == 0 {
                    return "\t".into();
                }
                let width = lead.len();
                if width > prev_width && width - prev_width <= 8 && !lead.contains('\t') {
                    counts[width - prev_width] += 1;
                }
            }
            prev = Some((lead.len(), trimmed.trim_end().ends_with(':')));
        }
        let best = (1..=8).max_by_key(|&w| (counts[w], w == 4)).unwrap_or(4);
        if counts[best] == 0 { "    ".into() } else { " ".repeat(best) }
    }

    proptest::proptest! {
        #[test]
        fn detect_indent_agrees_with_the_reference(
            lines in proptest::collection::vec(("[ \t]{0,20}", "(#|x|if a:|a: |é:|:\u{3000}| |)", "(\n|\r\n|\r)"), 0..40)
        ) {
            let text: String = lines.iter().map(|(a, b, c)| format!("{a}{b}{c}")).collect();
            proptest::prop_assert_eq!(detect_indent(&text), detect_indent_reference(&text));
            proptest::prop_assert_eq!(detect_line_ending(&text), {
                let crlf = text.matches("\r\n").count();
                let lf = text.matches('\n').count() - crlf;
                let cr = text.matches('\r').count() - crlf;
                if lf + crlf == 0 && cr > 0 { LineEnding::Cr } else if crlf > lf { LineEnding::CrLf } else { LineEnding::Lf }
            });
        }
    }

    #[test]
    fn bare_crs_beside_other_line_endings_sit_in_strings() {
        let doc = format!("\"\"\"Doc{}.\"\"\"\n", "\r".repeat(20));
        let lf = format!("{doc}x = 1\ny = 2\n");
        assert_eq!(Source::decode(lf.as_bytes()).unwrap().line_ending, LineEnding::Lf);
        let crlf = format!("{doc}x = 1\r\ny = 2\r\n");
        assert_eq!(Source::decode(crlf.as_bytes()).unwrap().line_ending, LineEnding::CrLf);
        let s = Source::decode(b"x = 1\ry = 2\r").unwrap();
        assert_eq!(s.line_ending, LineEnding::Cr);
    }

    #[test]
    fn detects_style() {
        let s = Source::decode(b"def f():\r\n\tif x:\r\n\t\treturn 1\r\n").unwrap();
        assert_eq!(s.line_ending, LineEnding::CrLf);
        assert_eq!(Indent::of(&s.text).get(), "\t");
        let s = Source::decode(b"class A:\n  def f(self):\n    pass\n").unwrap();
        assert_eq!(Indent::of(&s.text).get(), "  ");
        assert_eq!(s.line_ending, LineEnding::Lf);
    }

    #[test]
    fn round_trips_bom_and_latin1() {
        let bytes = b"\xEF\xBB\xBFx = 1\n";
        let s = Source::decode(bytes).unwrap();
        assert!(s.bom);
        assert_eq!(s.encode(&s.text).unwrap(), bytes);
        let latin = b"# -*- coding: latin-1 -*-\nname = '\xE9t\xE9'\n";
        let s = Source::decode(latin).unwrap();
        assert_eq!(s.encoding, Encoding::Latin1);
        assert!(s.text.contains("'été'"));
        assert_eq!(s.encode(&s.text).unwrap(), latin);
    }

    #[test]
    fn rejects_bad_bytes_with_reasons() {
        assert_eq!(Source::decode(b"x = 1\0").unwrap_err(), SourceError::Binary(5));
        assert_eq!(Source::decode(b"x = '\xff'\n").unwrap_err(), SourceError::InvalidUtf8(5));
        assert!(matches!(
            Source::decode(b"# coding: shift_jis\nx = 1\n").unwrap_err(),
            SourceError::UnsupportedEncoding(e) if e == "shift_jis"
        ));
    }

    #[test]
    fn validate_agrees_with_decode() {
        let cases: [&[u8]; 6] = [
            b"x = 1\n",
            b"\xEF\xBB\xBFx = 1\n",
            b"x = '\xff'\n",
            b"# coding: latin-1\nx = '\xff'\n",
            b"# coding: shift_jis\nx = 1\n",
            b"x\0",
        ];
        for bytes in cases {
            assert_eq!(Source::validate(bytes), Source::decode(bytes).map(|_| ()), "{bytes:?}");
        }
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\néx", 5), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
