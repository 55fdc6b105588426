//! Subtrees in document order, for the walks the analyses repeat.
//!
//! An analysis walks the same loop body or function many times (its
//! sleeps, its exits, its counters, its clocks). tree-sitter's cursor pays
//! for every step (hidden nodes, aliases, positions); a walk over a slice of
//! nodes pays for none of that. [`Walks`] keeps a [`Flat`] for each of the
//! latest subtrees walked, and a walk of any node inside one reuses it.

use std::cell::RefCell;
use std::rc::Rc;

use tree_sitter::Node;

/// A subtree's nodes in document order (what [`crate::python::parse::walk`] visits
/// when it descends everywhere).
pub struct Flat<'t> {
    nodes: Vec<Node<'t>>,
    /// Each node's start byte, for finding a node: document order never
    /// decreases them, and a node's first descendants share its start.
    starts: Vec<usize>,
    /// The index just past each node's subtree.
    ends: Vec<usize>,
}

impl<'t> Flat<'t> {
    pub fn of(root: Node<'t>) -> Flat<'t> {
        let (mut nodes, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        // The nodes whose subtree is still open.
        let mut open: Vec<usize> = Vec::new();
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            let at = nodes.len();
            nodes.push(node);
            starts.push(node.start_byte());
            ends.push(at + 1);
            if cursor.goto_first_child() {
                open.push(at);
                continue;
            }
            loop {
                if open.is_empty() {
                    break 'walk;
                }
                if cursor.goto_next_sibling() {
                    continue 'walk;
                }
                cursor.goto_parent();
                let closed = open.pop().expect("not empty");
                ends[closed] = nodes.len();
            }
        }
        Flat { nodes, starts, ends }
    }

    /// Where `node` is, if it is in this subtree.
    fn index(&self, node: Node<'_>) -> Option<usize> {
        let start = node.start_byte();
        let mut i = self.starts.partition_point(|&s| s < start);
        while self.starts.get(i) == Some(&start) {
            if self.nodes[i].id() == node.id() {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// [`crate::python::parse::walk`] from the node at `i`.
    fn walk_from(&self, i: usize, mut descend: impl FnMut(Node<'t>) -> bool, mut visit: impl FnMut(Node<'t>)) {
        let end = self.ends[i];
        let mut k = i;
        while k < end {
            let node = self.nodes[k];
            visit(node);
            k = if descend(node) { k + 1 } else { self.ends[k] };
        }
    }
}

/// How many subtrees [`Walks`] keeps (the latest).
const KEPT: usize = 16;

/// The latest subtrees walked in one tree.
#[derive(Default)]
pub struct Walks<'t> {
    flats: RefCell<Vec<Rc<Flat<'t>>>>,
}

impl<'t> Walks<'t> {
    /// [`crate::python::parse::walk`], over a subtree walked before if `node` is in
    /// one (else this one, kept for the next walks).
    pub fn walk(&self, node: Node<'t>, descend: impl FnMut(Node<'t>) -> bool, visit: impl FnMut(Node<'t>)) {
        // The latest subtrees first: an analysis walks one loop or function
        // many times in a row. (Released before walking: a visit may walk too.)
        let known = self.flats.borrow().iter().rev().find_map(|f| f.index(node).map(|i| (f.clone(), i)));
        let (flat, i) = known.unwrap_or_else(|| {
            let flat = Rc::new(Flat::of(node));
            let mut flats = self.flats.borrow_mut();
            // A file with a thousand loops must not search a thousand subtrees per walk.
            if flats.len() == KEPT {
                flats.remove(0);
            }
            flats.push(flat.clone());
            (flat, 0)
        });
        flat.walk_from(i, descend, visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::parse::{KindFast, parse, walk};

    const SRC: &str = "import time\n\n\nclass A(object):\n    # a comment\n    def f(self, x=(1, 2)):\n        while True:\n            if x:\n                return [y for y in x]\n            time.sleep(1)\n\n\ndef g():\n    def h(): pass\n    return lambda: h()\n";

    fn ids(mut f: impl FnMut(&mut dyn FnMut(Node<'_>))) -> Vec<(usize, &'static str)> {
        let mut out = Vec::new();
        f(&mut |n| out.push((n.id(), n.kind_fast())));
        out
    }

    /// Every node as a walk's root, with and without pruning, on a fresh
    /// cache and on one holding the whole tree or an earlier subtree: the
    /// same nodes in the same order as the cursor walk.
    #[test]
    fn walks_visit_what_the_cursor_walk_visits() {
        let tree = parse(SRC).unwrap();
        let mut all = Vec::new();
        walk(tree.root_node(), |_| true, |n| all.push(n));
        assert!(all.len() > 50);
        let prune = |n: Node<'_>| !matches!(n.kind_fast(), "function_definition" | "lambda" | "argument_list");
        let whole = Walks::default();
        whole.walk(tree.root_node(), |_| true, |_| {});
        for &node in &all {
            let expected = ids(|v| walk(node, prune, &mut *v));
            for walks in [&whole, &Walks::default()] {
                assert_eq!(ids(|v| walks.walk(node, prune, &mut *v)), expected, "{}", node.kind_fast());
                assert_eq!(ids(|v| walks.walk(node, |_| true, &mut *v)), ids(|v| walk(node, |_| true, &mut *v)));
            }
        }
        // A fresh cache keeps the subtrees it walked, and finds nodes inside them.
        let walks = Walks::default();
        let class = all.iter().find(|n| n.kind_fast() == "class_definition").unwrap();
        walks.walk(*class, |_| true, |_| {});
        let call = all.iter().find(|n| n.kind_fast() == "call").unwrap();
        walks.walk(*call, |_| true, |_| {});
        assert_eq!(walks.flats.borrow().len(), 1, "the call is inside the class");
    }

    /// One cache for many walks, leaves first (each a new subtree): it keeps
    /// the latest [`KEPT`] and still walks every node right.
    #[test]
    fn walks_keep_the_latest_subtrees() {
        let tree = parse(SRC).unwrap();
        let mut all = Vec::new();
        walk(tree.root_node(), |_| true, |n| all.push(n));
        let walks = Walks::default();
        for &node in all.iter().rev() {
            assert_eq!(ids(|v| walks.walk(node, |_| true, &mut *v)), ids(|v| walk(node, |_| true, &mut *v)));
        }
        assert_eq!(walks.flats.borrow().len(), KEPT);
    }

    /// A visit may walk again (the cache is not borrowed during a walk).
    #[test]
    fn walks_nest() {
        let tree = parse(SRC).unwrap();
        let walks = Walks::default();
        let mut inner = 0;
        walks.walk(
            tree.root_node(),
            |_| true,
            |n| {
                if n.kind_fast() == "while_statement" {
                    walks.walk(n, |_| true, |_| inner += 1);
                }
            },
        );
        assert!(inner > 10, "{inner}");
    }
}
