//! Suppression comments tame cannot honour as written: a near-miss of the
//! marker (`# tame:ignore`, `# Tame: ignore`, `# tame: noqa`), an unknown
//! transform id (`# tame: ignore[bounded_retry]`), an id list that is empty
//! or never closed, or an `ignore-file` too far down to count.
//!
//! Like Ruff's warnings about unknown rule codes: a typo in a suppression
//! is otherwise silently inert (or, worse, suppresses every transform), and
//! nobody notices until the site it was meant for is rewritten.
//!
//! What counts as an attempt is spelled with case variants of `tame` the
//! prefilter's one-pass gate also scans for ([`GATE_LITERALS`]), so a file
//! the gate rules out can hold no attempt: the shortcuts cannot change what
//! is reported.

use std::sync::OnceLock;

use regex::bytes::Regex;
use tree_sitter::Tree;

use crate::pipeline::suppress::{FILE_IGNORE_LINES, MARKER};
use crate::python::parse::KindFast;

/// The spellings of `tame` an attempt starts with; the prefilter's gate
/// scans for them (a file without one holds no suppression comment).
pub(crate) const GATE_LITERALS: [&str; 3] = ["tame", "Tame", "TAME"];

/// Something that reads like a suppression comment: `tame`, an optional
/// separator, then a word for "ignore".
fn attempt() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u)\b(?:tame|Tame|TAME)\b[ \t]*[:=_-]?[ \t]*[-_]?(?i:ignore|noqa|skip|disable)")
            .expect("valid regex")
    })
}

/// Whether `bytes` may hold a suppression comment, well-formed or not: the
/// files whose comments must be read.
pub(crate) fn may_hold(bytes: &[u8]) -> bool {
    attempt().is_match(bytes)
}

/// One comment tame cannot honour as written.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The byte range of the comment.
    pub range: std::ops::Range<usize>,
    pub message: String,
}

/// Every suppression comment of `text` that tame cannot honour as written.
/// `known`: every transform id tame has (not only those running).
pub(crate) fn invalid(text: &str, tree: &Tree, known: &[&str]) -> Vec<Invalid> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for m in attempt().find_iter(bytes) {
        let Some(node) = tree.root_node().descendant_for_byte_range(m.start(), m.start()) else { continue };
        if node.kind_fast() != "comment" {
            continue;
        }
        let comment = text[node.start_byte()..node.end_byte()].trim_end();
        let range = node.start_byte()..node.end_byte();
        let message = if bytes[m.start()..].starts_with(MARKER.as_bytes()) {
            let rest = &text[m.start() + MARKER.len()..node.end_byte()];
            let line = text[..m.start()].matches('\n').count();
            judge_rest(rest, line, known)
        } else {
            let fixed = if text[m.end()..].starts_with(['-', '_', ' ']) && text[m.end() + 1..].starts_with("file") {
                "# tame: ignore-file"
            } else {
                "# tame: ignore"
            };
            Some(format!("is not a suppression comment: did you mean `{fixed}`?"))
        };
        if let Some(message) = message {
            out.push(Invalid { range, message: format!("`{comment}` {message}") });
        }
    }
    out
}

/// What is wrong with the text after a well-spelled `tame: ignore`, if
/// anything (said of the comment, which the caller names first). `line`:
/// the comment's 0-based line.
fn judge_rest(rest: &str, line: usize, known: &[&str]) -> Option<String> {
    if rest.starts_with("-file") {
        return (line >= FILE_IGNORE_LINES)
            .then(|| format!("only counts in the first {FILE_IGNORE_LINES} lines of a file: it ignores nothing here"));
    }
    if rest.starts_with(['_', 'f']) || rest.starts_with(" file") {
        return Some("is a line suppression: did you mean `# tame: ignore-file`?".into());
    }
    if let Some(inner) = rest.strip_prefix('[') {
        let Some((ids, _)) = inner.split_once(']') else {
            return Some("has no closing `]`: it ignores every transform on this line".into());
        };
        let ids: Vec<&str> = ids.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if ids.is_empty() {
            return Some("names no transform: it ignores nothing".into());
        }
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !known.contains(id))
            .map(|id| match closest(id, known) {
                Some(k) => format!("`{id}` (did you mean `{k}`?)"),
                None => format!("`{id}`"),
            })
            .collect();
        return (!unknown.is_empty()).then(|| {
            let what = if unknown.len() == 1 { "an unknown transform" } else { "unknown transforms" };
            format!("names {what} {}", unknown.join(", "))
        });
    }
    // `ignore(bounded-retry)`, `ignore: bounded-retry`, `ignore bounded-retry`:
    // the ids are not read, and the comment ignores every transform.
    let word = rest.trim_start_matches([' ', '\t', '(', ':', '=', '{']).split([',', ')', '}', ' ', '\t']).next()?;
    let names_id = !word.is_empty() && (known.contains(&word) || closest(word, known).is_some());
    let glued = rest.starts_with(['(', ':', '=', '{']) || rest.chars().next().is_some_and(char::is_alphanumeric);
    (names_id || glued)
        .then(|| "ignores every transform on this line: write the ids in brackets, `# tame: ignore[ID]`".into())
}

/// The known id `id` most likely misspells: the same once `_` reads as `-`
/// and case is ignored, or at most two edits away.
fn closest<'k>(id: &str, known: &[&'k str]) -> Option<&'k str> {
    let norm = id.to_ascii_lowercase().replace('_', "-");
    known.iter().map(|k| (edit_distance(&norm, k), *k)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

/// Levenshtein distance over bytes (ids are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 3] = ["bounded-retry", "driver-load-error", "monotonic-deadline"];

    fn messages(text: &str) -> Vec<String> {
        let tree = crate::python::parse::parse(text).unwrap();
        invalid(text, &tree, &KNOWN).into_iter().map(|i| i.message).collect()
    }

    #[test]
    fn well_formed_comments_are_not_reported() {
        for ok in [
            "x = 1  # tame: ignore\n",
            "x = 1  # tame: ignore[bounded-retry]\n",
            "x = 1  # tame: ignore[bounded-retry, monotonic-deadline]\n",
            "x = 1  # tame: ignore  the deadline is the caller's\n",
            "# tame: ignore-file\nx = 1\n",
            "x = 1  # noqa: E501  # tame: ignore\n",
            "s = '# tame:ignore'  # a string, not a comment\n",
            "x = 1  # this tames the loop; ignore it\n",
        ] {
            assert_eq!(messages(ok), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn near_misses_of_the_marker_are_reported_with_the_spelling_meant() {
        let cases = [
            ("x = 1  # tame:ignore\n", "`# tame:ignore` is not a suppression comment: did you mean `# tame: ignore`?"),
            (
                "x = 1  # Tame: ignore\n",
                "`# Tame: ignore` is not a suppression comment: did you mean `# tame: ignore`?",
            ),
            ("x = 1  # tame noqa\n", "`# tame noqa` is not a suppression comment: did you mean `# tame: ignore`?"),
            (
                "# tame:ignore-file\nx = 1\n",
                "`# tame:ignore-file` is not a suppression comment: did you mean `# tame: ignore-file`?",
            ),
            (
                "x = 1  # tame: ignorefile\n",
                "`# tame: ignorefile` is a line suppression: did you mean `# tame: ignore-file`?",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(messages(text), vec![want.to_owned()], "{text}");
        }
    }

    #[test]
    fn unknown_empty_and_unclosed_id_lists_are_reported() {
        assert_eq!(
            messages("x = 1  # tame: ignore[bounded_retry]\n"),
            vec![
                "`# tame: ignore[bounded_retry]` names an unknown transform `bounded_retry` (did you mean \
                 `bounded-retry`?)"
                    .to_owned()
            ]
        );
        assert_eq!(
            messages("x = 1  # tame: ignore[bounded-retry, nope]\n"),
            vec!["`# tame: ignore[bounded-retry, nope]` names an unknown transform `nope`".to_owned()]
        );
        assert_eq!(
            messages("x = 1  # tame: ignore[]\n"),
            vec!["`# tame: ignore[]` names no transform: it ignores nothing"]
        );
        assert_eq!(
            messages("x = 1  # tame: ignore[bounded-retry\n"),
            vec!["`# tame: ignore[bounded-retry` has no closing `]`: it ignores every transform on this line"]
        );
        assert_eq!(
            messages("x = 1  # tame: ignore(bounded-retry)\n"),
            vec![
                "`# tame: ignore(bounded-retry)` ignores every transform on this line: write the ids in brackets, \
                 `# tame: ignore[ID]`"
            ]
        );
    }

    #[test]
    fn a_late_ignore_file_is_reported() {
        let late = format!("{}# tame: ignore-file\n", "x = 1\n".repeat(FILE_IGNORE_LINES));
        assert_eq!(
            messages(&late),
            vec!["`# tame: ignore-file` only counts in the first 20 lines of a file: it ignores nothing here"]
        );
    }

    #[test]
    fn every_attempt_spells_a_gate_literal() {
        for text in ["# tame:ignore", "# Tame ignore", "# TAME: IGNORE", "# tame-skip"] {
            assert!(may_hold(text.as_bytes()), "{text}");
            assert!(GATE_LITERALS.iter().any(|l| text.contains(l)), "{text}");
        }
        assert!(!may_hold(b"# untamed: ignore\n"));
        assert_eq!(edit_distance("bounded_retry", "bounded-retry"), 1);
        assert_eq!(closest("Bounded_Retry", &KNOWN), Some("bounded-retry"));
        assert_eq!(closest("zzz", &KNOWN), None);
    }
}
