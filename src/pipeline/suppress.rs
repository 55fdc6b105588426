//! Suppression comments: `# tame: ignore`, `# tame: ignore[ID,...]` on a
//! site's first line, and `# tame: ignore-file` near the top of a file.
//!
//! Like Ruff's `noqa`, a comment that suppresses nothing is reported (by
//! `check --explain`), so stale suppressions do not pile up.

use crate::python::parse::KindFast;
use tree_sitter::Tree;

use crate::transforms::{Finding, FindingKind};

/// How many lines from the top an `ignore-file` comment may sit.
pub const FILE_IGNORE_LINES: usize = 20;

/// The spelling every suppression comment contains.
pub(crate) const MARKER: &str = "tame: ignore";

/// Whether the file opts out as a whole.
pub fn file_ignored(text: &str) -> Option<usize> {
    text.lines().take(FILE_IGNORE_LINES).position(|l| {
        let t = l.trim_start();
        t.starts_with('#') && t.contains("tame: ignore-file")
    })
}

/// One `# tame: ignore` comment.
#[derive(Debug)]
struct Ignore {
    /// 0-based line.
    line: usize,
    /// `None`: every transform.
    ids: Option<Vec<String>>,
    start: usize,
    end: usize,
    used: bool,
}

fn parse_comments(text: &str, tree: &Tree) -> Vec<Ignore> {
    let mut out = Vec::new();
    for pos in memchr::memmem::find_iter(text.as_bytes(), MARKER.as_bytes()) {
        let Some(node) = tree.root_node().descendant_for_byte_range(pos, pos) else { continue };
        if node.kind_fast() != "comment" {
            continue;
        }
        // The comment's own text: an id list never runs on into the code below.
        let rest = &text[pos + MARKER.len()..node.end_byte()];
        if rest.starts_with("-file") {
            continue;
        }
        let ids = rest.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(inner, _)| {
            inner.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>()
        });
        out.push(Ignore {
            line: node.start_position().row,
            ids,
            start: node.start_byte(),
            end: node.end_byte(),
            used: false,
        });
    }
    out
}

/// Turns sites under a matching comment into `suppressed` skips. With
/// `report` (the first round), appends an `invalid-ignore` finding per
/// comment tame cannot honour as written (see [`crate::pipeline::directive`])
/// and an `unused-ignore` finding per other comment that suppressed no site
/// of the active transforms.
pub fn apply(text: &str, tree: &Tree, findings: &mut Vec<Finding>, active: &[&str], report: bool) {
    if !crate::pipeline::directive::may_hold(text.as_bytes()) {
        return;
    }
    let invalid = if report {
        let known: Vec<&str> = crate::transforms::specs().iter().map(|s| s.id.as_str()).collect();
        crate::pipeline::directive::invalid(text, tree, &known)
    } else {
        Vec::new()
    };
    for bad in &invalid {
        findings.push(Finding {
            transform: "tame",
            range: bad.range.clone(),
            message: "suppression comment not understood".into(),
            kind: FindingKind::LeftAlone { class: INVALID.into(), evidence: bad.message.clone() },
        });
    }
    let mut ignores = parse_comments(text, tree);
    if ignores.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        if !matches!(f.kind, FindingKind::Site(_)) {
            continue;
        }
        let line = text[..f.range.start].matches('\n').count();
        if let Some(ig) = ignores
            .iter_mut()
            .find(|ig| ig.line == line && ig.ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == f.transform)))
        {
            ig.used = true;
            f.kind = FindingKind::LeftAlone {
                class: "suppressed".into(),
                evidence: format!("`{}` at line {}", text[ig.start..ig.end].trim(), ig.line + 1),
            };
        }
    }
    if report {
        // A comment reported as not understood is not reported again as unused.
        let reported = |ig: &&Ignore| invalid.iter().any(|bad| bad.range.start == ig.start);
        for ig in ignores.iter().filter(|ig| !ig.used).filter(|ig| !reported(ig)) {
            // A comment naming only transforms that are not running cannot be judged.
            if ig.ids.as_ref().is_some_and(|ids| !ids.iter().any(|i| active.contains(&i.as_str()))) {
                continue;
            }
            findings.push(Finding {
                transform: "tame",
                range: ig.start..ig.end,
                message: "unused suppression comment".into(),
                kind: FindingKind::LeftAlone {
                    class: "unused-ignore".into(),
                    evidence: format!("`{}` suppresses nothing on this line", text[ig.start..ig.end].trim()),
                },
            });
        }
    }
}

/// The class of the finding for a suppression comment tame cannot honour
/// as written: shown by `--explain`, and a warning on stderr.
pub(crate) const INVALID: &str = "invalid-ignore";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ignore_only_near_the_top_and_in_comments() {
        assert_eq!(file_ignored("# tame: ignore-file\nx = 1\n"), Some(0));
        assert_eq!(file_ignored("x = '# tame: ignore-file'\n"), None);
        let late = format!("{}# tame: ignore-file\n", "x = 1\n".repeat(FILE_IGNORE_LINES));
        assert_eq!(file_ignored(&late), None);
    }

    #[test]
    fn comments_in_strings_do_not_count() {
        let text = "s = '# tame: ignore'\nwhile True:  # tame: ignore[bounded-retry]\n    pass\n";
        let tree = crate::python::parse::parse(text).unwrap();
        let found = parse_comments(text, &tree);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 1);
        assert_eq!(found[0].ids, Some(vec!["bounded-retry".to_owned()]));
    }

    #[test]
    fn an_unclosed_id_list_ends_with_its_comment() {
        // It ignores every transform (and `directive` warns about it), whatever
        // `]` comes later in the file.
        let text = "while True:  # tame: ignore[bounded-retry\n    x = [1]\n";
        let tree = crate::python::parse::parse(text).unwrap();
        assert_eq!(parse_comments(text, &tree)[0].ids, None);
    }
}
