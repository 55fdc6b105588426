//! The rewrite of one unbounded wait loop:
//!
//! ```python
//! _attempts, _deadline = 0, time.monotonic() + 300.0      # inserted
//! while _attempts < 1000 and time.monotonic() < _deadline:  # was: while True:
//!     _attempts += 1                                       # inserted
//!     ...                                                  # body untouched,
//!     eventlet.sleep(max(0.0, min(wait, _deadline - time.monotonic())))  # but sleeps clamped
//! else:                                                    # inserted: runs only
//!     raise TimeoutError("f: gave up ...")                 # when the budget is spent
//! ```
//!
//! Only insertions and in-place replacements: the body is never re-indented,
//! so comments and formatting survive byte for byte. An existing `else:` of
//! a `while True:` loop never ran; the `raise` becomes its first statement,
//! so it still never runs.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use super::{BoundedRetry, Candidate, LoopNames};
use crate::pipeline::edits::{Applicability, Edit, Fix, HeaderItem};
use crate::python::{line_indent, line_start, next_line_start, width};
use crate::transforms::Ctx;

pub fn fmt_seconds(s: f64) -> String {
    if s.fract() == 0.0 { format!("{s:.0}") } else { format!("{s}") }
}

fn float_literal(s: f64) -> String {
    if s.fract() == 0.0 { format!("{s:.1}") } else { format!("{s}") }
}

/// The first statement of a block that is not a comment.
fn first_statement(block: Node<'_>) -> Option<Node<'_>> {
    let mut c = block.walk();
    block.named_children(&mut c).find(|n| n.kind_fast() != "comment")
}

impl BoundedRetry {
    pub(super) fn render(
        &self,
        ctx: &Ctx<'_>,
        c: &Candidate<'_>,
        (time, time_import): &(String, Option<HeaderItem>),
        names: &mut LoopNames,
    ) -> Result<Fix, String> {
        let (src, lp, eol) = (ctx.whole_file(), c.lp, ctx.eol());
        let body = lp.child_by_field_name("body").ok_or("the loop has no body")?;
        let first = first_statement(body).ok_or("the loop body is empty")?;
        if first.start_position().row == lp.start_position().row {
            return Err("the body is on the header's line; rewrite it by hand".into());
        }
        let old_else = lp.child_by_field_name("alternative");
        if old_else.is_some() && !self.raise {
            return Err(
                "the loop has an `else:` clause, which would start running when the budget is spent; rewrite it by hand"
                    .into(),
            );
        }
        let mut header: Vec<HeaderItem> = time_import.iter().cloned().collect();
        let exc_name = if self.raise { Some(self.exception.name_at(ctx, lp, &mut header)?) } else { None };
        for s in &c.sleeps {
            let arg = s.arg.ok_or("a sleep without a duration")?;
            if matches!(arg.kind_fast(), "list_splat" | "dictionary_splat" | "keyword_argument") {
                return Err(format!("cannot clamp the sleep argument `{}`", ctx.text(arg)));
            }
        }
        let indent = line_indent(src, lp.start_byte());
        let body_indent = line_indent(src, first.start_byte());
        let [attempts, deadline] = names.fresh(ctx, lp, ["_attempts", "_deadline"]);
        let now = format!("{time}.monotonic()");
        // PEP 8's 79 columns at most: a project's linter may hold it to that
        // even where some of its lines are longer (the file's own limit is
        // a guess from its lines).
        let limit = ctx.line_limit().min(79);
        let raise = exc_name.map(|exc| {
            let q = ctx.quote();
            let message = format!(
                "{}: gave up waiting after {} attempts or {} s",
                ctx.qualified_name(lp),
                self.max_attempts,
                fmt_seconds(self.deadline)
            )
            .replace('\\', "\\\\")
            .replace(q, &format!("\\{q}"));
            (exc, q, message)
        });
        let raise_at = |at_indent: &str| -> String {
            match &raise {
                Some((exc, q, message)) => raise_lines(at_indent, ctx.indent(), eol, exc, *q, message, limit),
                None => format!("{at_indent}break"),
            }
        };
        let setup = format!("{indent}{attempts}, {deadline} = 0, {now} + {}", float_literal(self.deadline));
        let setup = if width(&setup) > limit {
            format!("{indent}{attempts} = 0{eol}{indent}{deadline} = {now} + {}", float_literal(self.deadline))
        } else {
            setup
        };
        let mut edits = vec![Edit::insert(line_start(src, lp.start_byte()), format!("{setup}{eol}"))];
        if c.forever {
            let cond = format!("{attempts} < {} and {now} < {deadline}", self.max_attempts);
            // The rest of the header's line (`:  # poll until ready`) stays on it.
            let header_line_end = next_line_start(src, header_end(lp));
            let rest = src[c.cond.end_byte()..header_line_end].trim_end_matches(['\n', '\r']);
            let cond = if width(indent) + "while ".len() + cond.len() + width(rest) > limit {
                let pad = " ".repeat(indent.len() + "while (".len());
                format!("({attempts} < {}{eol}{pad}and {now} < {deadline})", self.max_attempts)
            } else {
                cond
            };
            edits.push(Edit::replace(c.cond.byte_range(), cond));
            edits
                .push(Edit::insert(next_line_start(src, header_end(lp)), format!("{body_indent}{attempts} += 1{eol}")));
        } else {
            // The loop's own condition stays; the budget is checked first
            // thing in each pass, so the normal path runs as before.
            let test = format!("{attempts} > {} or {now} >= {deadline}", self.max_attempts);
            let test = if width(body_indent) + "if :".len() + test.len() > limit {
                let pad = " ".repeat(body_indent.len() + "if (".len());
                format!("({attempts} > {}{eol}{pad}or {now} >= {deadline})", self.max_attempts)
            } else {
                test
            };
            let inner = format!("{body_indent}{}", ctx.indent());
            edits.push(Edit::insert(
                next_line_start(src, header_end(lp)),
                format!("{body_indent}{attempts} += 1{eol}{body_indent}if {test}:{eol}{}{eol}", raise_at(&inner)),
            ));
        }
        for s in &c.sleeps {
            let arg = s.arg.expect("checked above");
            let line_begin = line_start(src, arg.start_byte());
            let line_end = next_line_start(src, arg.end_byte());
            let line_len = width(src[line_begin..line_end].trim_end_matches(['\n', '\r']));
            let added = format!("max(0.0, min(, {deadline} - {now}))").len();
            let text = ctx.text(arg);
            let clamp = if line_len + added > limit && !text.contains('\n') {
                let col = width(&src[line_begin..arg.start_byte()]) + "max(0.0, min(".len();
                let after = line_len - width(&src[line_begin..arg.end_byte()]);
                let rest = format!("{deadline} - {now}))");
                if col + width(&rest) + after <= limit {
                    format!("max(0.0, min({text},{eol}{}{rest}", " ".repeat(col))
                } else {
                    // A hanging indent, two steps in from the statement's line.
                    let hang = format!("{}{}{}", line_indent(src, line_begin), ctx.indent(), ctx.indent());
                    format!("max(0.0, min({eol}{hang}{text}, {rest}")
                }
            } else {
                format!("max(0.0, min({text}, {deadline} - {now}))")
            };
            edits.push(Edit::replace(arg.byte_range(), clamp));
        }
        if c.forever && raise.is_some() {
            let raise_stmt = |at: &str| raise_at(at);
            match old_else {
                Some(alt) => {
                    let alt_body = alt.child_by_field_name("body").ok_or("the `else:` clause has no body")?;
                    let alt_first = first_statement(alt_body).ok_or("the `else:` clause is empty")?;
                    if alt_first.start_position().row == alt.start_position().row {
                        return Err("the `else:` body is on its header's line; rewrite it by hand".into());
                    }
                    let alt_indent = line_indent(src, alt_first.start_byte());
                    edits.push(Edit::insert(
                        next_line_start(src, header_end(alt)),
                        format!("{}{eol}", raise_stmt(alt_indent)),
                    ));
                }
                None => {
                    let at = loop_end(src, lp.end_byte(), indent.len());
                    let lead = if at == src.len() && !src.ends_with(['\n', '\r']) { eol } else { "" };
                    // A file that ended without a line ending gains one:
                    // the new last line is complete (pycodestyle W292).
                    let tail = eol;
                    edits.push(Edit::insert(at, format!("{lead}{indent}else:{eol}{}{tail}", raise_stmt(body_indent))));
                }
            }
        }
        Ok(Fix { edits, header, applicability: Applicability::Review })
    }
}

/// `raise Exc("message")` at `indent`, split over lines (the message in
/// implicitly joined pieces) when one line would pass the file's limit.
fn raise_lines(indent: &str, unit: &str, eol: &str, exc: &str, q: char, message: &str, limit: usize) -> String {
    let one = format!("{indent}raise {exc}({q}{message}{q})");
    if width(&one) <= limit {
        return one;
    }
    let inner = format!("{indent}{unit}");
    let room = limit.saturating_sub(width(&inner) + 3).max(20);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    // Words, and a word too long for a line in pieces (never right after a
    // backslash, which escapes the next character).
    let mut words: Vec<String> = Vec::new();
    for word in message.split_inclusive(' ') {
        let mut piece = String::new();
        for ch in word.chars() {
            if width(&piece) >= room && !piece.ends_with('\\') {
                words.push(std::mem::take(&mut piece));
            }
            piece.push(ch);
        }
        words.push(piece);
    }
    for word in words {
        if !cur.is_empty() && width(&cur) + width(&word) > room {
            lines.push(std::mem::take(&mut cur));
        }
        cur.push_str(&word);
    }
    lines.push(cur);
    // No stub of a word or two alone on the last line: move a word down.
    let n = lines.len();
    if n >= 2 && width(&lines[n - 1]) < 12 {
        let prev = lines[n - 2].trim_end_matches(' ').to_owned();
        if let Some(cut) = prev.rfind(' ') {
            let moved = format!("{} ", &prev[cut + 1..]);
            lines[n - 2] = prev[..cut + 1].to_owned();
            lines[n - 1] = format!("{moved}{}", lines[n - 1]);
        }
    }
    let body: Vec<String> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| format!("{inner}{q}{l}{q}{}", if i + 1 == n { ")" } else { "" }))
        .collect();
    format!("{indent}raise {exc}({eol}{}", body.join(eol))
}

/// End of the header of a `while` loop or an `else:` clause (its colon).
pub(super) fn header_end(n: Node<'_>) -> usize {
    let mut c = n.walk();
    let colon = n.children(&mut c).find(|n| n.kind_fast() == ":").map(|n| n.end_byte());
    colon.unwrap_or(n.start_byte())
}

/// Where an `else:` clause goes: after the loop's last line (the loop ends
/// at `loop_end_byte`), and after any comment lines indented deeper than the
/// loop (they read as part of its body).
fn loop_end(src: &str, loop_end_byte: usize, indent_width: usize) -> usize {
    let bytes = src.as_bytes();
    let mut at = next_line_start(src, loop_end_byte);
    let mut probe = at;
    // Blank lines are skipped in one loop: after a partial parse, the
    // text after a loop can be megabytes of blanked bodies.
    let blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    loop {
        // Blanked bodies are lines of spaces: whole 64-byte blocks of them
        // first (a branch-free test per block, which the compiler vectorises).
        let mut from = probe;
        while let Some(block) = bytes.get(from..from + 64)
            && !block.iter().fold(false, |other, &c| other | !matches!(c, b' ' | b'\n' | b'\r'))
        {
            from += 64;
        }
        let Some(p) = bytes[from..].iter().position(|c| !blank(c)).map(|k| from + k) else { return at };
        if bytes[p] >= 0x80 {
            // Perhaps a Unicode space (`trim` would skip it): line by line below.
            break;
        }
        let line_start =
            bytes[probe..p].iter().rposition(|&c| c == b'\n' || c == b'\r').map_or(probe, |k| probe + k + 1);
        let lead = &bytes[line_start..p];
        if bytes[p] == b'#' && lead.len() > indent_width && lead.iter().all(|&c| c == b' ' || c == b'\t') {
            at = next_line_start(src, p);
            probe = at;
        } else {
            return at;
        }
    }
    while probe < src.len() {
        let next = next_line_start(src, probe);
        let line = &src[probe..next];
        let trimmed = line.trim_start_matches([' ', '\t']);
        let width = line.len() - trimmed.len();
        if trimmed.starts_with('#') && width > indent_width {
            at = next;
        } else if !trimmed.trim().is_empty() {
            break;
        }
        probe = next;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `loop_end` as it was, line by line: the reference for the fast path.
    fn loop_end_by_lines(src: &str, loop_end_byte: usize, indent_width: usize) -> usize {
        let mut at = next_line_start(src, loop_end_byte);
        let mut probe = at;
        while probe < src.len() {
            let next = next_line_start(src, probe);
            let line = &src[probe..next];
            let trimmed = line.trim_start_matches([' ', '\t']);
            if trimmed.starts_with('#') && line.len() - trimmed.len() > indent_width {
                at = next;
            } else if !trimmed.trim().is_empty() {
                break;
            }
            probe = next;
        }
        at
    }

    proptest::proptest! {
        #[test]
        fn loop_end_skips_blank_lines_as_lines_did(
            lines in proptest::collection::vec(("[ \t\x0b\x0c]{0,6}| {8,20}| {60,70}", "(#|x|\u{a0}|\u{3000}|# é|)", "(\n|\r\n|\r)"), 0..30),
            indent in 0usize..5,
        ) {
            let text: String = std::iter::once("    f()\n".to_owned())
                .chain(lines.iter().map(|(lead, body, end)| format!("{lead}{body}{end}")))
                .collect();
            proptest::prop_assert_eq!(loop_end(&text, 7, indent), loop_end_by_lines(&text, 7, indent));
        }
    }

    #[test]
    fn number_rendering() {
        assert_eq!(float_literal(300.0), "300.0");
        assert_eq!(float_literal(2.5), "2.5");
        assert_eq!(fmt_seconds(300.0), "300");
        assert_eq!(fmt_seconds(0.5), "0.5");
    }
}
