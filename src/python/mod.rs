//! Small facts about Python code that transforms share.
//!
//! - [`bindings`]: which names a scope binds, and to what (imports resolved to
//!   dotted module paths), so `nap(1)` after `from time import sleep as nap`
//!   is known to be `time.sleep`, and a local `def sleep` is not.
//! - [`header`]: where module-level additions (imports, a class) go.
//! - [`names`]: fresh names that collide with nothing in the file.
//!
//! Everything here walks trees iteratively (see [`crate::parse::walk`]).

use crate::parse::KindFast;
pub mod bindings;
pub mod header;
pub mod names;

use tree_sitter::Node;

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
            parts.push(crate::parse::text(name, src).to_owned());
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
    enclosing_function(node).is_some_and(|f| crate::parse::text(f, src).starts_with("async"))
}

/// The leading whitespace of the line that holds byte `at`.
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
