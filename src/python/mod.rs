//! Small facts about Python code that transforms share.
//!
//! - [`bindings`]: which names a scope binds, and to what (imports resolved to
//!   dotted module paths), so `nap(1)` after `from time import sleep as nap`
//!   is known to be `time.sleep`, and a local `def sleep` is not.
//! - [`header`]: where module-level additions (imports, a class) go.
//! - [`names`]: fresh names that collide with nothing in the file.
//! - [`parse`]: the tree-sitter parser and tree helpers; [`flat`]: subtrees
//!   kept as flat node slices for repeated walks.
//!
//! Everything here walks trees iteratively (see [`crate::python::parse::walk`]).

use crate::python::parse::KindFast;
pub(crate) mod bindings;
pub(crate) mod flat;
pub(crate) mod header;
pub(crate) mod names;
pub mod parse;

use tree_sitter::Node;

/// [`enclosing_function`], found from one descent from `root` (the root of
/// `node`'s tree) instead of a chain of `parent()` calls, each of which
/// tree-sitter answers by descending from the root.
pub fn enclosing_function_in<'t>(root: Node<'t>, node: Node<'t>) -> Option<Node<'t>> {
    crate::python::parse::ancestors(root, node).into_iter().rev().find(|n| n.kind_fast() == "function_definition")
}

/// [`qualified_name`], from one descent from `root` (see [`enclosing_function_in`]).
pub fn qualified_name_in(root: Node<'_>, node: Node<'_>, src: &str) -> String {
    let chain = crate::python::parse::ancestors(root, node);
    let parts: Vec<&str> = chain
        .iter()
        .chain(std::iter::once(&node))
        .filter(|n| matches!(n.kind_fast(), "function_definition" | "class_definition"))
        .filter_map(|n| n.child_by_field_name("name"))
        .map(|name| crate::python::parse::text(name, src))
        .collect();
    if parts.is_empty() { "<module>".to_owned() } else { parts.join(".") }
}

/// The nearest enclosing `function_definition` of `node` (not `node` itself).
pub fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut cur = node.parent();
    while let Some(n) = cur {
        if n.kind_fast() == "function_definition" {
            return Some(n);
        }
        cur = n.parent();
    }
    None
}

/// Nodes that open a new scope: names bound inside belong to them.
pub fn is_scope(kind: &str) -> bool {
    matches!(kind, "function_definition" | "class_definition" | "lambda")
}

/// `Class.method` or `function` or `<module>` for messages.
pub fn qualified_name(node: Node<'_>, src: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        if matches!(n.kind_fast(), "function_definition" | "class_definition")
            && let Some(name) = n.child_by_field_name("name")
        {
            parts.push(crate::python::parse::text(name, src).to_owned());
        }
        cur = n.parent();
    }
    if parts.is_empty() {
        return "<module>".to_owned();
    }
    parts.reverse();
    parts.join(".")
}

/// Whether the function containing `node` is `async def`.
pub fn in_async_function(node: Node<'_>, src: &str) -> bool {
    enclosing_function(node).is_some_and(|f| crate::python::parse::text(f, src).starts_with("async"))
}

/// The leading whitespace of the line that holds byte `at`.
/// How wide a lint gate counts `s`: a tab as 4 columns (ruff's default
/// indent width; pycodestyle counts 1, so this is never too lenient).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

pub fn line_indent(src: &str, at: usize) -> &str {
    let start = src[..at].rfind(['\n', '\r']).map_or(0, |p| p + 1);
    let line = &src[start..];
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..width]
}

/// Byte offset of the start of the line holding `at`.
pub fn line_start(src: &str, at: usize) -> usize {
    src[..at].rfind(['\n', '\r']).map_or(0, |p| p + 1)
}

/// Byte offset just after the line ending of the line holding `at` (or the
/// end of the text).
pub fn next_line_start(src: &str, at: usize) -> usize {
    match src[at..].find(['\n', '\r']) {
        None => src.len(),
        Some(p) => {
            let p = at + p;
            if src[p..].starts_with("\r\n") { p + 2 } else { p + 1 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_descent_finds_what_the_parent_chains_find() {
        let src = "x = 1\nclass A:\n    def f(self):\n        def g():\n            while True:\n                return [y for y in z]\n        return g\n    y = lambda: 2\nasync def h():\n    await k()\n";
        let tree = crate::python::parse::parse(src).unwrap();
        let root = tree.root_node();
        let mut checked = 0;
        crate::python::parse::walk(
            root,
            |_| true,
            |n| {
                assert_eq!(enclosing_function_in(root, n), enclosing_function(n), "{}", n.kind());
                assert_eq!(qualified_name_in(root, n, src), qualified_name(n, src), "{}", n.kind());
                checked += 1;
            },
        );
        assert!(checked > 50, "{checked}");
        let g = root.descendant_for_byte_range(src.find("while").unwrap(), src.find("while").unwrap() + 5).unwrap();
        assert_eq!(qualified_name_in(root, g, src), "A.f.g");
    }
}
