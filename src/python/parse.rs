//! tree-sitter setup: one parser per thread, and the scan for error regions.
//!
//! tree-sitter-python always produces a tree, marking what it could not parse
//! with ERROR and MISSING nodes. tame never edits inside such a region, and
//! `verify` rejects any output with more of them than its input had.

use std::cell::RefCell;
use std::ops::Range;

use thiserror::Error;
use tree_sitter::{Language, Node, Parser, Tree};

#[derive(Debug, Error)]
pub enum ParseError {
    #[error("tree-sitter could not parse the file (timeout or cancellation)")]
    Failed,
}

/// The Python grammar.
pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

/// `Node::kind` from a table: the binding's `kind` measures and validates
/// the C string on every call, and the analysis asks for kinds constantly.
pub trait KindFast {
    fn kind_fast(&self) -> &'static str;
}

impl KindFast for Node<'_> {
    fn kind_fast(&self) -> &'static str {
        static KINDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let kinds = KINDS.get_or_init(|| {
            let lang = language();
            (0..lang.node_kind_count() as u16).map(|id| lang.node_kind_for_id(id).unwrap_or("").to_owned()).collect()
        });
        kinds.get(self.kind_id() as usize).map_or("", String::as_str)
    }
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut p = Parser::new();
        p.set_language(&language()).expect("tree-sitter-python matches the tree-sitter ABI");
        p
    });
}

/// Parses Python text with this thread's parser.
pub fn parse(text: &str) -> Result<Tree, ParseError> {
    PARSER.with(|p| p.borrow_mut().parse(text, None)).ok_or(ParseError::Failed)
}

/// Parses `text` without reading the byte ranges in `skip` (sorted, disjoint;
/// they must hold only blanks, see [`crate::partial`]). Nodes keep the
/// document's offsets.
pub fn parse_around(text: &str, skip: &[Range<usize>]) -> Result<Tree, ParseError> {
    if skip.is_empty() {
        return parse(text);
    }
    let mut bounds = Vec::with_capacity(skip.len() * 2 + 2);
    bounds.push(0);
    for r in skip {
        bounds.push(r.start);
        bounds.push(r.end);
    }
    bounds.push(text.len());
    let points = points_at(text, &bounds);
    let ranges: Vec<tree_sitter::Range> = bounds
        .chunks(2)
        .zip(points.chunks(2))
        .filter(|(b, _)| b[0] < b[1])
        .map(|(b, p)| tree_sitter::Range { start_byte: b[0], end_byte: b[1], start_point: p[0], end_point: p[1] })
        .collect();
    PARSER
        .with(|p| {
            let mut p = p.borrow_mut();
            if p.set_included_ranges(&ranges).is_err() {
                return None;
            }
            let tree = p.parse(text, None);
            // Back to whole documents for the next caller on this thread.
            let _ = p.set_included_ranges(&[]);
            tree
        })
        .ok_or(ParseError::Failed)
}

/// The byte ranges of a text of `len` bytes that lie outside `unparsed`
/// (sorted, disjoint): what [`parse_around`] read. Unparsed ranges hold only
/// blanks, so a literal (or a block or focus regex, whose matches start and
/// end with code) is found in these ranges exactly where a search of the
/// whole text finds it, without reading the megabytes of spaces a partial
/// parse leaves.
pub fn parsed_segments(len: usize, unparsed: &[Range<usize>]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = 0;
    unparsed
        .iter()
        .map(Some)
        .chain(std::iter::once(None))
        .map(move |r| {
            let (start, end) = match r {
                Some(r) => (at, r.start),
                None => (at, len),
            };
            at = r.map_or(len, |r| r.end);
            start..end
        })
        .filter(|r| r.start < r.end)
}

/// Row/column points of sorted byte offsets, in one pass.
fn points_at(text: &str, offsets: &[usize]) -> Vec<tree_sitter::Point> {
    let bytes = text.as_bytes();
    let (mut row, mut line_start, mut pos) = (0usize, 0usize, 0usize);
    offsets
        .iter()
        .map(|&o| {
            // Counting is a SIMD pass; only the last line ending is looked up.
            let between = &bytes[pos..o];
            row += memchr::memchr_iter(b'\n', between).count();
            if let Some(nl) = memchr::memrchr(b'\n', between) {
                line_start = pos + nl + 1;
            }
            pos = o;
            tree_sitter::Point { row, column: o - line_start }
        })
        .collect()
}

/// Byte ranges of ERROR and MISSING nodes, outermost only. Iterative, so a
/// tree nested 20,000 levels deep cannot overflow the stack.
pub fn error_ranges(tree: &Tree) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if !tree.root_node().has_error() {
        return out;
    }
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        let is_error = node.is_error() || node.is_missing();
        if is_error {
            out.push(node.start_byte()..node.end_byte().max(node.start_byte() + 1));
        }
        // Only descend where an error is hiding.
        if !is_error && node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// Visits `node` and its descendants in document order, without recursion.
/// `descend` decides whether to enter a node's children (the node itself is
/// always visited).
pub fn walk<'t>(node: Node<'t>, mut descend: impl FnMut(Node<'t>) -> bool, mut visit: impl FnMut(Node<'t>)) {
    let mut cursor = node.walk();
    let root_id = node.id();
    'walk: loop {
        let current = cursor.node();
        visit(current);
        if descend(current) && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == root_id {
                break 'walk;
            }
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
}

/// The ancestors of `node`, outermost (`root`) first, without `node` itself;
/// empty if `node` is not in `root`'s tree.
///
/// Use this instead of chains of `Node::parent()`: tree-sitter finds a parent
/// by descending from the root, so each `parent()` call costs the node's
/// depth, and walking up from a node 20,000 levels deep that way takes
/// hundreds of millions of steps. This descends once.
pub fn ancestors<'t>(root: Node<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut cur = root;
    while cur.id() != node.id() {
        out.push(cur);
        match cur.child_with_descendant(node) {
            Some(next) => cur = next,
            None => return Vec::new(),
        }
    }
    out
}

/// The text of a node.
pub fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_segments_is_the_complement() {
        let parts = |len, unparsed: &[(usize, usize)]| {
            let unparsed: Vec<Range<usize>> = unparsed.iter().map(|&(a, b)| a..b).collect();
            parsed_segments(len, &unparsed).map(|r| (r.start, r.end)).collect::<Vec<_>>()
        };
        assert_eq!(parts(10, &[(2, 4), (6, 7)]), [(0, 2), (4, 6), (7, 10)]);
        assert_eq!(parts(10, &[(0, 3), (8, 10)]), [(3, 8)]);
        assert_eq!(parts(10, &[]), [(0, 10)]);
        assert!(parts(0, &[]).is_empty());
        assert!(parts(5, &[(0, 5)]).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn points_at_counts_rows_and_byte_columns(text in "(a|é|\n|\r\n){0,40}", mut offsets in proptest::collection::vec(0usize..80, 0..10)) {
            offsets.iter_mut().for_each(|o| *o = (*o).min(text.len()));
            offsets.sort_unstable();
            let expected: Vec<tree_sitter::Point> = offsets
                .iter()
                .map(|&o| {
                    let before = &text.as_bytes()[..o];
                    let row = before.iter().filter(|&&b| b == b'\n').count();
                    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                    tree_sitter::Point { row, column: o - line_start }
                })
                .collect();
            proptest::prop_assert_eq!(points_at(&text, &offsets), expected);
        }
    }

    #[test]
    fn kind_fast_is_kind() {
        let src = "import os\nfrom a import (b as c)\n@d\nasync def f(x, *a, **k) -> int:\n    while True:\n        await g(x := 1)\n        print >>f, 'x'\n    return [i for i in x if i] or {1: 2}\nclass C(B):\n    match x:\n        case [1, *r]: pass\n";
        let tree = parse(src).unwrap();
        let mut seen = 0;
        walk(
            tree.root_node(),
            |_| true,
            |n| {
                assert_eq!(n.kind_fast(), n.kind());
                seen += 1;
            },
        );
        assert!(seen > 100, "{seen}");
    }

    #[test]
    fn finds_error_regions() {
        let tree = parse("def f(:\n    pass\nx = 1\n").unwrap();
        assert!(!error_ranges(&tree).is_empty());
        let tree = parse("x = 1\n").unwrap();
        assert!(error_ranges(&tree).is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 20_000;
        let src = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        let tree = parse(&src).unwrap();
        let mut count = 0usize;
        walk(tree.root_node(), |_| true, |_| count += 1);
        assert!(count > depth);
        let _ = error_ranges(&tree);
        let mut deepest = tree.root_node();
        walk(
            tree.root_node(),
            |_| true,
            |n| {
                if n.kind_fast() == "integer" {
                    deepest = n
                }
            },
        );
        let chain = ancestors(tree.root_node(), deepest);
        assert!(chain.len() > depth, "{}", chain.len());
        assert_eq!(chain[0].id(), tree.root_node().id());
        assert_eq!(chain.last().unwrap().id(), deepest.parent().unwrap().id());
        // Each is a child of the one before (checked cheaply: parent() itself costs the depth).
        assert!(chain.windows(2).all(|w| w[0].child_with_descendant(w[1]).is_some_and(|c| c.id() == w[1].id())));
    }

    #[test]
    fn walk_stays_inside_the_node() {
        let src = "if a:\n    b = 1\nc = 2\n";
        let tree = parse(src).unwrap();
        let if_node = tree.root_node().child(0).unwrap();
        let mut names = Vec::new();
        walk(
            if_node,
            |_| true,
            |n| {
                if n.kind_fast() == "identifier" {
                    names.push(text(n, src).to_owned());
                }
            },
        );
        assert_eq!(names, ["a", "b"]);
    }
}
