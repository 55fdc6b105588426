//! Where module-level additions go: after the docstring, `from __future__`
//! imports and the module's leading import block.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use super::next_line_start;

/// Byte offset at which new imports (and, after them, new definitions) are
/// inserted: the start of the line after the last statement of the leading
/// docstring/import block, or after the leading comments of a module with
/// neither.
pub fn insertion_point(root: Node<'_>, src: &str) -> usize {
    let mut point: Option<usize> = None;
    let mut first_statement = true;
    let mut leading_comment_end = 0;
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        match child.kind_fast() {
            "comment" => {
                if point.is_none() && first_statement {
                    leading_comment_end = next_line_start(src, child.end_byte());
                }
                continue;
            }
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                point = Some(next_line_start(src, child.end_byte()));
            }
            "expression_statement"
                if first_statement && child.named_child(0).is_some_and(|s| s.kind_fast() == "string") =>
            {
                point = Some(next_line_start(src, child.end_byte()));
            }
            _ => break,
        }
        first_statement = false;
    }
    point.unwrap_or(leading_comment_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(src: &str) -> usize {
        insertion_point(crate::python::parse::parse(src).unwrap().root_node(), src)
    }

    #[test]
    fn after_docstring_future_and_imports() {
        let src = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport os\n\nx = 1\nimport late\n";
        assert_eq!(&src[point(src)..], "\nx = 1\nimport late\n");
    }

    #[test]
    fn after_leading_comments_without_imports() {
        let src = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nx = 1\n";
        assert_eq!(&src[point(src)..], "x = 1\n");
        assert_eq!(point("x = 1\n"), 0);
    }
}
