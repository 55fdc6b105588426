//! Regions tree-sitter could not parse that could hold a candidate: tame
//! neither rewrites nor judges code it does not understand, and says so
//! (`--explain` lists each region, `-v` names it on stderr, the summary
//! counts the files that have one) instead of passing over it in silence.
//!
//! The errors are those of the text partial parsing would parse (in every
//! mode: see [`regions`]). A region is reported when the statement around it could hold a
//! candidate of an active transform: the top-level statement, or the member
//! of a class, that partial parsing keeps or sets aside as one block, tested
//! with the same hints the prefilter and partial parsing apply to files and
//! blocks. A block they set aside fails that test, so the shortcuts cannot
//! change what is reported. A syntax error in code that could never hold a
//! candidate (no `while` and no sleep, say) is not tame's business.

use std::ops::Range;

use tree_sitter::{Node, Tree};

use crate::python::parse::KindFast;
use crate::transforms::{Finding, FindingKind, Transform};

/// The class of the finding for a region tame could not parse.
pub(crate) const CLASS: &str = "unparsed";

/// One finding per run of error regions on adjacent lines, if the block
/// around one of them ([`block_around`]) could hold a candidate of an
/// `active` transform. `errors`: the error regions of `tree`, a whole parse
/// of `text` (the caller's; when partial parsing would set some of the text
/// aside, the errors are those of the text it would parse). `show_left_alone`: whether candidates left alone are shown
/// (else the block must also be able to hold a site, as the partial parse's
/// keep set requires: `Transform::site_context`).
pub(crate) fn regions<'a>(
    text: &str,
    tree: &Tree,
    errors: &[Range<usize>],
    active: &[&'a dyn Transform],
    show_left_alone: bool,
) -> Vec<Finding> {
    let bytes = text.as_bytes();
    let line_of = |offset: usize| bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count();
    fn context<'t>(t: &'t dyn Transform, bytes: &[u8], show_left_alone: bool) -> Option<&'t regex::bytes::Regex> {
        if show_left_alone { None } else { t.site_context(bytes) }
    }
    let site_context = |t: &&'a dyn Transform| context(*t, bytes, show_left_alone);
    // The errors are those of the text partial parsing would parse (the same
    // reduction as the engine's), whichever mode this is: an error in a body
    // it sets aside cannot hide a candidate, and a whole parse's recovery can
    // spread such an error over the code around it. Both modes make this
    // same parse, so they report the same regions.
    let keep: Option<Vec<crate::partial::KeepSet<'_>>> =
        active.iter().map(|t| t.spec().hints.keep_set(bytes, site_context(t))).collect();
    let reduced = match keep.map(|keep| crate::partial::reduce_with(text, &keep, &[])) {
        // No statement can hold a candidate: partial parsing parses nothing.
        Some(Some(r)) if !r.matched => return Vec::new(),
        Some(Some(crate::partial::Reduced { text: Some(reduced), unparsed, .. })) => {
            crate::python::parse::parse_around(&reduced, &unparsed).ok()
        }
        // Nothing to set aside, a transform needs the whole file, or the
        // scanner cannot split it: the whole parse is the one.
        _ => None,
    };
    let reduced_errors = reduced.as_ref().map(crate::python::parse::error_ranges);
    let (tree, errors) = match (&reduced, &reduced_errors) {
        (Some(t), Some(e)) => (t, e.as_slice()),
        _ => (tree, errors),
    };
    let may_hold = |e: &Range<usize>| {
        let block = block_around(tree, e.clone());
        let block = &bytes[block.start.min(bytes.len())..block.end.min(bytes.len())];
        active.iter().any(|t| t.spec().hints.may_match(block) && site_context(t).is_none_or(|re| re.is_match(block)))
    };
    // (range, lines, whether a block around it could hold a candidate)
    let mut merged: Vec<(Range<usize>, Range<usize>, bool)> = Vec::new();
    for e in errors {
        let lines = line_of(e.start)..line_of(e.end.saturating_sub(1).max(e.start));
        let hold = may_hold(e);
        match merged.last_mut() {
            Some((range, last, held)) if lines.start <= last.end + 1 => {
                range.end = range.end.max(e.end);
                last.end = last.end.max(lines.end);
                *held |= hold;
            }
            _ => merged.push((e.clone(), lines, hold)),
        }
    }
    merged
        .into_iter()
        .filter(|(_, _, hold)| *hold)
        .map(|(range, lines, _)| {
            let (first, last) = (lines.start + 1, lines.end + 1);
            let spelled = if first == last { format!("line {first}") } else { format!("lines {first}-{last}") };
            Finding {
                transform: "tame",
                range,
                message: format!("could not parse {spelled}"),
                kind: FindingKind::LeftAlone {
                    class: CLASS.into(),
                    evidence: format!(
                        "{spelled} could not be parsed (a syntax error): no candidate there was examined"
                    ),
                },
            }
        })
        .collect()
}

/// The block around `range` whose text the hints judge: the top-level
/// statement holding it or, in a class, the member holding it.
fn block_around(tree: &Tree, range: Range<usize>) -> Range<usize> {
    let root = tree.root_node();
    let last = range.end.max(range.start + 1) - 1;
    let Some(mut node) = root.descendant_for_byte_range(range.start, last) else { return range };
    // Climb to the top-level statement, remembering the last class member passed.
    let mut member: Option<Node<'_>> = None;
    while let Some(parent) = node.parent() {
        if parent.kind_fast() == "block" && parent.parent().is_some_and(|c| c.kind_fast() == "class_definition") {
            member = Some(node);
        }
        if parent == root {
            break;
        }
        node = parent;
    }
    let block = member.unwrap_or(node);
    block.start_byte().min(range.start)..block.end_byte().max(range.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, show_left_alone: bool) -> Vec<String> {
        let built: Vec<Box<dyn Transform>> = crate::transforms::specs()
            .iter()
            .map(|s| crate::transforms::build(&s.id, &s.defaults()).unwrap().unwrap())
            .collect();
        let active: Vec<&dyn Transform> = built.iter().map(|t| t.as_ref()).collect();
        let tree = crate::python::parse::parse(text).unwrap();
        let errors = crate::python::parse::error_ranges(&tree);
        regions(text, &tree, &errors, &active, show_left_alone)
            .into_iter()
            .map(|f| match f.kind {
                FindingKind::LeftAlone { evidence, .. } => evidence,
                FindingKind::Site(_) => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn a_region_that_could_hold_a_candidate_is_reported_with_its_lines() {
        let text = "import time\n\nwhile True: time.sleep( ((( ]]]\n\n\ndef f():\n    return 1\n";
        assert_eq!(
            found(text, true),
            vec!["lines 3-6 could not be parsed (a syntax error): no candidate there was examined"]
        );
    }

    #[test]
    fn a_region_that_cannot_hold_one_is_not() {
        let text = "def f(:\n    return 1\n\n\nx = [1, 2\n";
        assert_eq!(found(text, true), Vec::<String>::new());
        // Well-formed code has no region at all.
        assert_eq!(found("import time\n\nwhile True:\n    time.sleep(1)\n", true), Vec::<String>::new());
    }

    #[test]
    fn regions_on_adjacent_lines_are_one() {
        // Error regions given by hand on a tree that parses: the merging and
        // the block test, apart from what tree-sitter makes of broken code.
        // (No definition: nothing to set aside, so the errors given are used.)
        let text = "import time\n\nwhile ready():\n    time.sleep(1)\n\n\nreturned = 1\n";
        let tree = crate::python::parse::parse(text).unwrap();
        let at = |s: &str| text.find(s).unwrap();
        let errors = [at("ready")..at("ready") + 5, at("sleep")..at("sleep") + 5, at("return")..at("return") + 6];
        let spec = crate::transforms::specs().iter().find(|s| s.id == "bounded-retry").unwrap();
        let Some(Ok(t)) = crate::transforms::build(&spec.id, &spec.defaults()) else { panic!("bounded-retry builds") };
        let found = regions(text, &tree, &errors, &[t.as_ref()], true);
        // Lines 3 and 4 are one region; line 7's statement holds no loop.
        assert_eq!(found.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(), ["could not parse lines 3-4"]);
        assert_eq!(found[0].range, errors[0].start..errors[1].end);
    }

    #[test]
    fn in_a_class_the_member_around_the_error_is_judged() {
        // The class holds `while` and `sleep`, but not the method that does not parse.
        let text = "import time\n\n\nclass A:\n    def f(self):\n        while self.x:\n            time.sleep(1)\n\n    def g(self:\n        return 1\n";
        assert_eq!(found(text, true), Vec::<String>::new());
        let text = text.replace("return 1", "while True: time.sleep(1)");
        assert_eq!(found(&text, true).len(), 1, "{text}");
    }
}
