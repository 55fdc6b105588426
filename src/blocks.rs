//! Top-level blocks, found without parsing, for partial parsing.
//!
//! A file that passes the prefilter is often large while the code a transform
//! looks at is one function. [`reduce`] blanks the bodies of top-level `def` and
//! `class` blocks that cannot hold a candidate (no match of the transforms'
//! block regex): every byte becomes a space except line endings, and a `0`
//! keeps the body a valid statement. Offsets do not move, so the reduced tree's
//! nodes, and the edits built from them, line up with the original text.
//!
//! The scanner is a small Python lexer: it tracks strings (including triple
//! quotes and escapes), comments, brackets and backslash continuations, so a
//! statement starts only at column 0 outside all of them. When it is unsure
//! (an unterminated string, a body that would swallow another top-level
//! `def`), [`reduce`] returns `None` and the caller parses the whole file.

use std::ops::Range;

use regex::bytes::Regex;

/// Bytes the scanner must look at; everything else is skipped in a tight loop.
const INTERESTING: [bool; 256] = {
    let mut t = [false; 256];
    let bytes = b"\n\r#\\()[]{}'\"";
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
};

/// Byte ranges of top-level statements, in order.
fn statements(text: &[u8]) -> Option<Vec<Range<usize>>> {
    statements_in(text, 0..text.len(), b"")
}

/// Byte ranges of the statements in `range` that start at indentation
/// `indent` exactly (a class body's members), in order. Each range starts at
/// the statement's first character, after the indentation.
fn statements_in(text: &[u8], range: Range<usize>, indent: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut starts = Vec::new();
    let end = range.end;
    let text = &text[..end];
    let (mut i, mut depth, mut line_start, mut continued) = (range.start, 0usize, true, false);
    while i < text.len() {
        if !line_start {
            while i < text.len() && !INTERESTING[text[i] as usize] {
                i += 1;
            }
            if i == text.len() {
                break;
            }
        }
        if line_start {
            line_start = false;
            // (A byte loop: `starts_with` would call `memcmp` on every line.)
            let starts_here = depth == 0
                && !continued
                && text.len() - i >= indent.len()
                && indent.iter().zip(&text[i..]).all(|(a, b)| a == b)
                && text
                    .get(i + indent.len())
                    .is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'#' | b'\x0c'));
            if starts_here {
                starts.push(i + indent.len());
            }
            continued = false;
        }
        let c = text[i];
        match c {
            b'\n' | b'\r' => line_start = true,
            b'#' => {
                i += memchr::memchr2(b'\n', b'\r', &text[i..]).unwrap_or(text.len() - i);
                continue;
            }
            b'\\' => {
                // A continuation joins the next line to this statement.
                if matches!(text.get(i + 1), Some(b'\n' | b'\r')) {
                    continued = true;
                }
                i += 1;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\'' | b'"' => {
                i = skip_string(text, i)?;
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

/// Returns the index just past the string literal starting at `i`.
fn skip_string(text: &[u8], i: usize) -> Option<usize> {
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

/// The body of a top-level `def`/`class` statement (after the header line),
/// if it has one on following lines.
fn body(text: &[u8], stmt: &Range<usize>) -> Option<Range<usize>> {
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

/// Whether the line starting at `line` opens a statement a body indented
/// deeper than `indent` cannot hold: a `def`, `class`, `async def` or
/// decorator at column 0 or at `indent`. (Called on every line of every
/// blanked body, so it looks at the first byte before comparing words.)
fn swallows_a_statement(line: &[u8], indent: &[u8]) -> bool {
    let opens = |l: &[u8]| match l.first() {
        Some(b'd') => l.starts_with(b"def "),
        Some(b'c') => l.starts_with(b"class "),
        Some(b'a') => l.starts_with(b"async def "),
        Some(b'@') => true,
        _ => false,
    };
    opens(line)
        || (!indent.is_empty()
            && line.get(indent.len()).is_some_and(|c| matches!(c, b'd' | b'c' | b'a' | b'@'))
            && line.strip_prefix(indent).is_some_and(opens))
}

/// A reduced text and the byte ranges the parser may skip entirely: each
/// blanked body after its placeholder (only spaces and line endings).
pub struct Reduced {
    /// `None` when nothing could be blanked.
    pub text: Option<String>,
    pub skip: Vec<Range<usize>>,
    /// Every blanked body, in the original text's offsets.
    pub blanked: Vec<Range<usize>>,
    /// Whether any statement left unblanked (a top-level statement, a kept
    /// block, a member of a kept class) matches one of the `keep` sets. If
    /// none does, no transform can find anything in the file.
    pub matched: bool,
}

/// The text with every top-level `def`/`class` body that matches none of the
/// `keep` sets (a set matches if each of its regexes does) blanked, or `None`
/// if the scanner cannot split the file safely. In a kept class, the bodies
/// of members that match no set are blanked too.
pub fn reduce(text: &str, keep: &[&[Regex]]) -> Option<Reduced> {
    let bytes = text.as_bytes();
    let kept = |r: &Range<usize>| keep.iter().any(|set| set.iter().all(|re| re.is_match(&bytes[r.clone()])));
    let mut out: Option<Vec<u8>> = None;
    let mut skip = Vec::new();
    let mut blanked = Vec::new();
    let mut matched = false;
    for stmt in &statements(bytes)? {
        let is_kept = kept(stmt);
        let Some(b) = body(bytes, stmt) else {
            matched |= is_kept;
            continue;
        };
        if !is_kept {
            blanked.push(b.clone());
            blank(bytes, b, b"", &mut out, &mut skip)?;
            continue;
        }
        // A kept class: blank the bodies of its members that cannot hold a
        // candidate. The class matched as a whole; it is a match only if one
        // of its members is, on its own.
        let head = &bytes[stmt.clone()];
        let indent = if head.starts_with(b"class ") { body_indent(bytes, &b) } else { None };
        let Some(indent) = indent else {
            matched = true;
            continue;
        };
        for member in &statements_in(bytes, b.clone(), indent)? {
            if kept(member) {
                matched = true;
            } else if let Some(mb) = body(bytes, member) {
                blanked.push(mb.clone());
                blank(bytes, mb, indent, &mut out, &mut skip)?;
            }
        }
    }
    // Only ASCII bytes were written, over whole bodies: the text stays UTF-8.
    Some(Reduced {
        text: out.map(|o| String::from_utf8(o).expect("blanking replaces whole bodies with ASCII")),
        skip,
        blanked,
        matched,
    })
}

/// The indentation of the first code line of `body`.
fn body_indent<'b>(bytes: &'b [u8], body: &Range<usize>) -> Option<&'b [u8]> {
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

/// Blanks one body (see the module docs) into `out`, recording the part the
/// parser may skip. `None` if the body seems to swallow a statement at
/// `indent` or column 0 (the scanner lost track of a string).
fn blank(
    bytes: &[u8],
    b: Range<usize>,
    indent: &[u8],
    out: &mut Option<Vec<u8>>,
    skip: &mut Vec<Range<usize>>,
) -> Option<()> {
    let out = out.get_or_insert_with(|| bytes.to_vec());
    let mut placed: Option<usize> = None;
    let mut at = b.start;
    // Line by line: the first character that is not a space or tab becomes
    // the placeholder; every later character but a line ending, a space.
    while at < b.end {
        if swallows_a_statement(&bytes[at..b.end], indent) {
            return None;
        }
        let line_end = memchr::memchr2(b'\n', b'\r', &bytes[at..b.end]).map_or(b.end, |p| at + p);
        let line = &mut out[at..line_end];
        match placed {
            Some(_) => line.fill(b' '),
            None => {
                if let Some(k) = line.iter().position(|c| !matches!(c, b' ' | b'\t')) {
                    line[k] = b'0';
                    line[k + 1..].fill(b' ');
                    placed = Some(at + k);
                }
            }
        }
        at = line_end;
        while at < b.end && matches!(bytes[at], b'\n' | b'\r') {
            at += 1;
        }
    }
    // After the placeholder, the body is only blanks: skippable, all but its
    // last line ending, which the parser must see to end the placeholder's
    // line and read the next statement's indentation.
    if let Some(zero) = placed {
        let from = zero + 1;
        let body = &bytes[b.clone()];
        let to = if body.ends_with(b"\r\n") {
            b.end - 2
        } else if body.ends_with(b"\n") || body.ends_with(b"\r") {
            b.end - 1
        } else {
            b.end
        };
        if from < to {
            skip.push(from..to);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    #[test]
    fn blanks_only_bodies_without_a_match() {
        let src = "import time\n\ndef a():\n    x = '''\n  def fake():\n'''\n    return x\n\n\ndef b():\n    while True:\n        time.sleep(1)\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        assert!(reduced.matched);
        let out = reduced.text.unwrap();
        assert_eq!(out.len(), src.len());
        assert!(reduced.skip.iter().all(|r| out[r.clone()].trim().is_empty()), "only blanks are skipped");
        let tree = crate::parse::parse_skipping(&out, &reduced.skip).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        assert!(out.contains("def a():\n    0"), "{out}");
        assert!(!out.contains("fake"), "{out}");
        assert!(out.contains("def b():\n    while True:\n        time.sleep(1)\n"), "{out}");
        let tree = crate::parse::parse(&out).unwrap();
        assert!(!tree.root_node().has_error(), "{out}");
    }

    #[test]
    fn methods_of_a_kept_class_are_blanked_too() {
        let src = "class A:\n    x = 1\n\n    def a(self):\n        return [\n1]\n\n    @property\n    def b(self):\n        while True:\n            pass\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        let out = reduced.text.unwrap();
        assert!(out.contains("    def a(self):\n        0"), "{out}");
        assert!(out.contains("    x = 1\n"), "{out}");
        assert!(out.contains("    def b(self):\n        while True:\n            pass\n"), "{out}");
        let tree = crate::parse::parse_skipping(&out, &reduced.skip).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
    }

    #[test]
    fn a_set_matches_only_if_one_statement_matches_all_of_it() {
        let set = [re(r"while\s+True"), re("sleep")];
        // The class holds both, but no single member does: nothing to parse.
        let src =
            "class A:\n    def a(self):\n        while True:\n            pass\n\n    def b(self):\n        sleep(1)\n";
        let r = reduce(src, &[&set]).unwrap();
        assert!(!r.matched);
        assert_eq!(r.blanked.len(), 2);
        let src = "def a():\n    while True:\n        sleep(1)\n\n\ndef b():\n    pass\n";
        let r = reduce(src, &[&set]).unwrap();
        assert!(r.matched);
        assert_eq!(r.blanked.len(), 1);
        assert!(reduce("while True:\n    sleep(1)\n", &[&set]).unwrap().matched, "a module-level loop");
        assert!(!reduce("x = 'sleep'\n", &[&set]).unwrap().matched);
    }

    #[test]
    fn statements_ignore_brackets_strings_and_continuations() {
        let src = "x = (1,\n2)\ny = \"a#b\" \\\n  + 'c'\n# comment\nz = 1\n";
        let s = statements(src.as_bytes()).unwrap();
        let texts: Vec<&str> = s.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(texts, ["x = (1,\n2)\n", "y = \"a#b\" \\\n  + 'c'\n# comment\n", "z = 1\n"]);
    }

    #[test]
    fn unsure_means_none() {
        assert!(reduce("def a():\n    s = 'open\n", &[]).is_none());
        assert!(reduce("x = (\n", &[]).is_none());
        assert!(reduce("x = 1\n", &[]).unwrap().text.is_none(), "nothing to blank");
        // A string the scanner cannot follow must not hide the next function.
        assert!(reduce("def a():\n    s = '''x\ndef b():\n    pass\n'''\n", &[]).is_none());
    }

    #[test]
    fn crlf_and_multibyte_bodies() {
        let src = "def a():\r\n    s = 'é'\r\n    return s\r\n";
        let out = reduce(src, &[]).unwrap().text.unwrap();
        assert_eq!(out.len(), src.len());
        assert!(out.starts_with("def a():\r\n    0"), "{out:?}");
        assert_eq!(out.matches("\r\n").count(), 3);
    }
}
