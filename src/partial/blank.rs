//! Blanking for partial parsing: a block that cannot hold a candidate
//! becomes a stub (`0;  name=0`, or nothing at all) or keeps its header over
//! a `0` placeholder body, in a copy of the text of the same length (see
//! the parent module). Also the safety check that a blanked body does not
//! swallow a statement the scanner missed.

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::packed;

/// Blanks bodies into a copy of the text and records what the parser may skip.
pub(super) struct Blanker<'b> {
    bytes: &'b [u8],
    /// The reduced text, copied from `bytes` on the first write.
    out: Option<Vec<u8>>,
    skip: Vec<Range<usize>>,
    /// Line starts that open a `def`, `class`, `async def` or decorator at
    /// column 0 (or after a form feed, which resets the indentation), in
    /// order: none may fall inside a blanked top-level body. In such a
    /// body, these lines can only sit in a string or in brackets.
    openers: Vec<usize>,
}

impl<'b> Blanker<'b> {
    pub(super) fn new(bytes: &'b [u8]) -> Self {
        Blanker { bytes, out: None, skip: Vec::new(), openers: openers(bytes) }
    }

    /// The reduced text (`None` if nothing was blanked) and the skippable ranges, in order.
    pub(super) fn finish(mut self) -> (Option<Vec<u8>>, Vec<Range<usize>>) {
        // Decorators are dropped after their block's stub.
        self.skip.sort_unstable_by_key(|r| r.start);
        (self.out, self.skip)
    }

    /// Whether decorator statement `d` (at `indent`) may be blanked with the
    /// block it decorates: it binds no name (no `:=`), and its later lines
    /// (inside brackets) do not swallow a statement, as for a body.
    pub(super) fn can_drop_decorator(&self, d: &Range<usize>, indent: &[u8]) -> bool {
        let line = &self.bytes[d.clone()];
        if memchr::memmem::find(line, b":=").is_some() {
            return false;
        }
        let mut rest = memchr::memchr2(b'\n', b'\r', line).map_or(d.end, |p| d.start + p);
        while rest < d.end && matches!(self.bytes[rest], b'\n' | b'\r') {
            rest += 1;
        }
        !self.swallows(&(rest..d.end), indent)
    }

    /// Blanks the decorators `range` (from the first decorator to the start of
    /// the block they decorate, now a stub), all but their last line ending.
    pub(super) fn drop_decorators(&mut self, range: Range<usize>) {
        let bytes = self.bytes;
        let out = self.out.get_or_insert_with(|| bytes.to_vec());
        // The block's line keeps the line ending before it and its
        // indentation as written (a tab turned into a space would be a
        // shallower indentation, and end a class there).
        let mut to = memchr::memrchr2(b'\n', b'\r', &bytes[range.clone()]).map_or(range.end, |p| range.start + p);
        if bytes[to] == b'\n' && to > range.start && bytes[to - 1] == b'\r' {
            to -= 1;
        }
        fill_blanks(&mut out[range.start..to]);
        if range.start < to {
            self.skip.push(range.start..to);
        }
    }

    /// Leaves top-level statement `stmt` out of the parse altogether (an
    /// import or assignment read by `blocks::simple`): blanked and skipped, all but its
    /// last line ending.
    pub(super) fn drop_statement(&mut self, stmt: &Range<usize>) {
        let bytes = self.bytes;
        let out = self.out.get_or_insert_with(|| bytes.to_vec());
        fill_blanks(&mut out[stmt.clone()]);
        skip_blanks(bytes, stmt.start, stmt, &mut self.skip);
    }

    /// Whether body `b`, indented by `indent`, holds a line that opens a
    /// statement it cannot hold (see [`swallows_a_statement`]): the scanner
    /// lost track of a string, and the caller gives up on the reduced text.
    fn swallows(&self, b: &Range<usize>, indent: &[u8]) -> bool {
        if indent.is_empty() {
            let i = self.openers.partition_point(|&p| p < b.start);
            return self.openers.get(i).is_some_and(|&p| p < b.end);
        }
        let bytes = self.bytes;
        let mut at = b.start;
        while at < b.end {
            if swallows_a_statement(&bytes[at..b.end], indent) {
                return true;
            }
            at = memchr::memchr2(b'\n', b'\r', &bytes[at..b.end]).map_or(b.end, |p| at + p);
            while at < b.end && matches!(bytes[at], b'\n' | b'\r') {
                at += 1;
            }
        }
        false
    }

    /// Replaces an undecorated `def`/`class` statement whose body cannot hold a
    /// candidate with a stub that binds the same name, at the same offset:
    /// `def name(a, b=1):` becomes `0;  name=0`, `class Name(Base):` becomes
    /// `0;    Name=0`, and everything after, header and body, turns to blanks the
    /// parser skips (all but the last line ending). Name resolution sees the
    /// same module (or class) binding, and the parser reads a few bytes instead
    /// of a header and a placeholder body. Returns the blanked range (from the
    /// end of the name), [`Stub::Swallows`] if the body swallows a statement
    /// (see [`Blanker::blank`]), or [`Stub::Unfit`] to fall back to
    /// [`Blanker::blank`]: a header that could bind a name itself (`:=` in a
    /// default or a base), or leaves no room for `=0` on its first line
    /// (`class A:`).
    ///
    /// With `bound` (a top-level block after the first stub), nothing is left
    /// to parse: the whole statement is blanked and skipped, and the name's
    /// range goes to `bound` for the module scope. A stub costs the parser
    /// about as much as 40 bytes of ordinary code, and large files have
    /// hundreds of them.
    pub(super) fn stub(
        &mut self,
        stmt: &Range<usize>,
        b: &Range<usize>,
        indent: &[u8],
        bound: Option<&mut Vec<Range<usize>>>,
    ) -> Stub {
        let bytes = self.bytes;
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
        let blank_run = |mut i: usize| {
            while i < b.start && matches!(bytes[i], b' ' | b'\t') {
                i += 1;
            }
            i
        };
        let mut i = stmt.start;
        if bytes[i..].starts_with(b"async") {
            i = blank_run(i + 5);
        }
        i += if bytes[i..].starts_with(b"def") { 3 } else { 5 }; // `def` or `class` (see `body`)
        let name_start = blank_run(i);
        let name_end = name_start + bytes[name_start..b.start].iter().take_while(|&&c| word(c)).count();
        let header = &bytes[name_end..b.start];
        if name_start == i
            || name_end == name_start
            || header.len() < 2
            || header[..2].iter().any(|c| matches!(c, b'\n' | b'\r'))
            || memchr::memmem::find(header, b":=").is_some()
        {
            return Stub::Unfit;
        }
        // The body must not swallow a statement, exactly as for `blank`.
        if self.swallows(b, indent) {
            return Stub::Swallows;
        }
        let out = self.out.get_or_insert_with(|| bytes.to_vec());
        // Where the text the parser sees ends (it skips the rest).
        let kept_end = match &bound {
            Some(_) => stmt.start,
            None => {
                out[stmt.start] = b'0';
                out[stmt.start + 1] = b';';
                out[stmt.start + 2..name_start].fill(b' ');
                out[name_end] = b'=';
                out[name_end + 1] = b'0';
                name_end + 2
            }
        };
        fill_blanks(&mut out[kept_end..b.end]);
        skip_blanks(bytes, kept_end, b, &mut self.skip);
        if let Some(bound) = bound {
            bound.push(name_start..name_end);
        }
        Stub::Blanked(name_end..b.end)
    }

    /// Blanks one body (see the module docs), recording the part the parser
    /// may skip. `None` if the body seems to swallow a statement at `indent`
    /// or column 0 (the scanner lost track of a string).
    pub(super) fn blank(&mut self, b: Range<usize>, indent: &[u8]) -> Option<()> {
        if self.swallows(&b, indent) {
            return None;
        }
        let bytes = self.bytes;
        let out = self.out.get_or_insert_with(|| bytes.to_vec());
        // The first character that is not a space, tab or line ending becomes
        // the placeholder, behind its line's indentation as written (tabs
        // stay tabs: as spaces they would be a shallower indentation); every
        // other character but a line ending, a space.
        let placed =
            bytes[b.clone()].iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r')).map(|k| b.start + k);
        fill_blanks(&mut out[b.clone()]);
        // After the placeholder, the body is only blanks.
        if let Some(zero) = placed {
            let line_start = memchr::memrchr2(b'\n', b'\r', &bytes[b.start..zero]).map_or(b.start, |p| b.start + p + 1);
            out[line_start..zero].copy_from_slice(&bytes[line_start..zero]);
            out[zero] = b'0';
            skip_blanks(bytes, zero + 1, &b, &mut self.skip);
        }
        Some(())
    }
}

/// Turns every byte but a line ending into a space. (A select rather than
/// a conditional store, so that the compiler vectorizes it.)
fn fill_blanks(text: &mut [u8]) {
    for c in text {
        *c = if matches!(*c, b'\n' | b'\r') { *c } else { b' ' };
    }
}

/// The line starts (after a line ending) whose line opens a `def`, `class`,
/// `async def` or decorator with no indentation, or after a form feed: the
/// lines [`swallows_a_statement`] rejects in a top-level body. Found from
/// their spellings after a line ending, which are rare (a search for `def `
/// alone stops at every method), in one SIMD pass; then the rarer lines
/// whose indentation holds a form feed.
fn openers(bytes: &[u8]) -> Vec<usize> {
    static SPELLINGS: OnceLock<Option<packed::Searcher>> = OnceLock::new();
    let spellings = SPELLINGS.get_or_init(|| {
        let words = ["def ", "class ", "async def ", "@"];
        // The packed (Teddy) searcher itself: the general one would pick a
        // prefilter on the first bytes, here every line ending. The patterns
        // cannot overlap but at a `\r\n`, where each finds its own line.
        let mut builder = packed::Config::new().match_kind(packed::MatchKind::LeftmostFirst).builder();
        for eol in ["\n", "\r"] {
            for w in words {
                builder.add(format!("{eol}{w}"));
            }
        }
        builder.build()
    });
    let mut out: Vec<usize> = match spellings {
        Some(searcher) => searcher.find_iter(bytes).map(|m| m.start() + 1).collect(),
        // No SIMD searcher on this machine: the line endings one by one.
        None => after_line_endings(bytes),
    };
    let blank = |c: u8| matches!(c, b' ' | b'\t' | b'\x0c');
    let mut after_feed = Vec::new();
    for f in memchr::memchr_iter(b'\x0c', bytes) {
        let start = bytes[..f].iter().rposition(|&c| !blank(c)).map_or(0, |p| p + 1);
        if start == 0 || !matches!(bytes[start - 1], b'\n' | b'\r') {
            continue;
        }
        let word = bytes[f..].iter().position(|&c| !blank(c)).map_or(bytes.len(), |p| f + p);
        if opens(&bytes[word..]) {
            after_feed.push(start);
        }
    }
    if !after_feed.is_empty() {
        out.extend(after_feed);
        out.sort_unstable();
        out.dedup();
    }
    out
}

/// Whether a line whose indentation ends at `rest` opens a `def`, `class`,
/// `async def` or decorator. The first byte decides before any comparison:
/// this runs on every line of every blanked member body.
fn opens(rest: &[u8]) -> bool {
    match rest.first() {
        Some(b'd') => rest.starts_with(b"def "),
        Some(b'c') => rest.starts_with(b"class "),
        Some(b'a') => rest.starts_with(b"async def "),
        Some(b'@') => true,
        _ => false,
    }
}

/// The line starts after a line ending whose line opens with no indentation.
fn after_line_endings(bytes: &[u8]) -> Vec<usize> {
    memchr::memchr2_iter(b'\n', b'\r', bytes).map(|p| p + 1).filter(|&p| opens(&bytes[p..])).collect()
}

/// Whether the line starting at `line` opens a statement a body indented
/// deeper than `indent` cannot hold: a `def`, `class`, `async def` or
/// decorator that is not indented deeper than `indent` (including a
/// different mix of tabs and spaces, or a form feed, which resets the
/// indentation). Called on every line of every blanked member body, so it
/// looks at the first word's first byte before anything else ([`opens`]). (For
/// top-level bodies, `indent` is empty and [`openers`] finds the
/// same lines in one pass.)
fn swallows_a_statement(line: &[u8], indent: &[u8]) -> bool {
    let lead = line.iter().take_while(|&&c| matches!(c, b' ' | b'\t' | b'\x0c')).count();
    let opens = opens(&line[lead..]);
    // (A byte loop: `starts_with` would call `memcmp` on every line.)
    let deeper =
        lead > indent.len() && indent.iter().zip(line).all(|(a, b)| a == b) && !line[..lead].contains(&b'\x0c');
    opens && !deeper
}

/// Records `from..` the end of body `b` (now only blanks) as skippable, all
/// but the body's last line ending: the parser must see it to end the line
/// before and read the next statement's indentation.
fn skip_blanks(bytes: &[u8], from: usize, b: &Range<usize>, skip: &mut Vec<Range<usize>>) {
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

/// What [`Blanker::stub`] made of a definition.
pub(super) enum Stub {
    /// A stub; this range (from the end of the name) was blanked.
    Blanked(Range<usize>),
    /// The body seems to swallow a statement: give the reduced text up.
    Swallows,
    /// The header cannot become a stub: blank the body instead.
    Unfit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_must_not_swallow_a_shallower_definition() {
        assert!(swallows_a_statement(b"def f():", b""));
        assert!(swallows_a_statement(b"    @property", b"    "));
        assert!(swallows_a_statement(b"\tdef b(self):", b"    "), "another mix of tabs and spaces");
        assert!(swallows_a_statement(b"  def b(self):", b"    "), "shallower");
        assert!(swallows_a_statement(b"        \x0cdef b():", b"    "), "a form feed resets the indentation");
        assert!(!swallows_a_statement(b"        def inner():", b"    "), "a nested function");
        assert!(!swallows_a_statement(b"    return x", b""));
        // A shallow definition inside a member: the scanner gives up.
        let src = "class A:\n    def a(self):\n        x = 1\n\tdef b(self):\n        pass\n\n    def c(self):\n        while True: pass\n";
        assert!(super::super::reduce(src, &[&[regex::bytes::Regex::new(r"while\s+True").unwrap()]]).is_none());
    }

    /// The first version of [`openers`]: every `def `, `class ` and `@`,
    /// checked back to its line start. The reference for the SIMD pass.
    fn openers_by_words(bytes: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut check = |word: usize| {
            let mut start = word;
            while start > 0 && matches!(bytes[start - 1], b' ' | b'\t' | b'\x0c') {
                start -= 1;
            }
            if start > 0
                && matches!(bytes[start - 1], b'\n' | b'\r')
                && (start == word || bytes[start..word].contains(&b'\x0c'))
            {
                out.push(start);
            }
        };
        for p in memchr::memmem::find_iter(bytes, b"def ") {
            check(p);
            if p >= 6 && &bytes[p - 6..p] == b"async " {
                check(p - 6);
            }
        }
        for p in memchr::memmem::find_iter(bytes, b"class ") {
            check(p);
        }
        for p in memchr::memchr_iter(b'@', bytes) {
            check(p);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    proptest::proptest! {
        #[test]
        fn openers_are_found_as_word_by_word(
            lines in proptest::collection::vec(
                ("[ \t\x0c]{0,3}", "(|x|async |async\x0c|@)", "(def |def|class |async def |@|x|# def )", "(\n|\r\n|\r|\x0c)"),
                0..20,
            )
        ) {
            let text: String = lines.iter().map(|(lead, pre, word, end)| format!("{lead}{pre}{word}{end}")).collect();
            let reference = openers_by_words(text.as_bytes());
            proptest::prop_assert_eq!(&openers(text.as_bytes()), &reference);
            // The fallback without SIMD, and the lines after a form feed.
            let feeds = text.as_bytes().contains(&b'\x0c');
            let plain = after_line_endings(text.as_bytes());
            proptest::prop_assert!(plain.iter().all(|p| reference.contains(p)));
            proptest::prop_assert!(feeds || plain == reference);
        }

        /// For top-level bodies, the `openers` regex finds exactly the lines
        /// `swallows_a_statement` rejects with an empty indentation.
        #[test]
        fn openers_are_the_lines_a_top_level_body_cannot_hold(
            lines in proptest::collection::vec(
                ("[ \t\x0c]{0,3}", "(|x|x |async |async\x0c|a @)", "(def |def|class |async def |async  def |@|x|d|# def )", "(\n|\r\n|\r)"),
                1..20,
            )
        ) {
            let body: String = lines.iter().map(|(lead, pre, word, end)| format!("{lead}{pre}{word}{end}")).collect();
            let text = format!("def f():\n{body}");
            let b = 9..text.len();
            let blanker = Blanker::new(text.as_bytes());
            let by_lines = {
                let bytes = text.as_bytes();
                let mut at = b.start;
                let mut found = false;
                while at < b.end && !found {
                    found = swallows_a_statement(&bytes[at..b.end], b"");
                    at = memchr::memchr2(b'\n', b'\r', &bytes[at..b.end]).map_or(b.end, |p| at + p);
                    while at < b.end && matches!(bytes[at], b'\n' | b'\r') {
                        at += 1;
                    }
                }
                found
            };
            proptest::prop_assert_eq!(blanker.swallows(&b, b""), by_lines);
        }
    }
}
