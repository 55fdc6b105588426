//! Imports a rewrite made unused: `import sys` after the last `sys.exit`
//! became a `raise`. The project's lint gate (pyflakes F401) fails on them,
//! so they go, but only those the rewrite emptied: an import that was
//! already unused stays (it may be a re-export, or the author's business),
//! and nothing is removed from a package's `__init__.py` or that `__all__`
//! names.

use tree_sitter::Node;

use crate::pipeline::edits::Edit;
use crate::python::parse::KindFast;
use crate::python::{line_start, next_line_start};

/// The edits that remove the top-level imports of `after` whose name the
/// input used and `after` no longer does. `before` parses the input whole;
/// it is only asked for when some import of `after` is unused (rarely).
pub(crate) fn made_unused(
    before_src: &str,
    before: impl FnOnce() -> Option<tree_sitter::Tree>,
    after: Node<'_>,
    after_src: &str,
) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut cursor = after.walk();
    let used_after = uses(after, after_src);
    let unused: Vec<(Node<'_>, &str)> = after
        .named_children(&mut cursor)
        .filter_map(|s| Some((s, single_binding(s, after_src)?)))
        .filter(|(_, name)| !used_after.contains_key(name))
        .collect();
    // An import already unused in the input (the common case) spells its
    // name on import lines only: no need to parse the input to know.
    let unused: Vec<(Node<'_>, &str)> =
        unused.into_iter().filter(|(_, name)| spelled_off_import_lines(before_src, name)).collect();
    if unused.is_empty() {
        return edits;
    }
    let Some(before) = before() else { return edits };
    let used_before = uses(before.root_node(), before_src);
    for (stmt, name) in unused {
        let exported = after_src.contains("__all__")
            && (after_src.contains(&format!("'{name}'")) || after_src.contains(&format!("\"{name}\"")));
        if exported || !used_before.contains_key(name) {
            continue;
        }
        let (start, mut end) = (line_start(after_src, stmt.start_byte()), next_line_start(after_src, stmt.end_byte()));
        // Only a statement alone on its lines (a trailing comment goes with it).
        let rest = after_src[stmt.end_byte()..end].trim_start();
        if !after_src[start..stmt.start_byte()].trim().is_empty() || !(rest.is_empty() || rest.starts_with('#')) {
            continue;
        }
        // Between two blank lines, one of them goes too (no third blank line).
        let blank_before = start == 0 || after_src[line_start(after_src, start - 1)..start].trim().is_empty();
        let next_end = next_line_start(after_src, end);
        if blank_before && end < after_src.len() && after_src[end..next_end].trim().is_empty() {
            end = next_end;
        }
        edits.push(Edit::replace(start..end, ""));
    }
    edits
}

/// Whether `name` is spelled as a word on some line of `src` that is not an
/// import line (a cheap superset of "used").
fn spelled_off_import_lines(src: &str, name: &str) -> bool {
    let bytes = src.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    memchr::memmem::find_iter(bytes, name.as_bytes()).any(|at| {
        let end = at + name.len();
        if at.checked_sub(1).is_some_and(|i| word(bytes[i])) || bytes.get(end).copied().is_some_and(word) {
            return false;
        }
        let line = src[line_start(src, at)..].trim_start();
        !(line.starts_with("import ") || line.starts_with("from "))
    })
}

/// The one name an import statement binds (`import sys`, `import os.path`
/// binds `os`, `from sys import exit`, `... as alias`); `None` for several
/// names, a star or a `__future__` import.
fn single_binding<'s>(stmt: Node<'_>, src: &'s str) -> Option<&'s str> {
    let mut cursor = stmt.walk();
    let names: Vec<Node<'_>> = stmt.children_by_field_name("name", &mut cursor).collect();
    let [item] = names.as_slice() else { return None };
    let text = |n: Node<'_>| &src[n.byte_range()];
    let bound = match item.kind_fast() {
        "aliased_import" => text(item.child_by_field_name("alias")?),
        "dotted_name" => text(*item).split('.').next()?,
        _ => return None,
    };
    match stmt.kind_fast() {
        "import_statement" => Some(bound),
        "import_from_statement" if !text(stmt).contains('*') => Some(bound),
        _ => None,
    }
}

/// The names used in the tree (not bound by an import, not an attribute's
/// or a keyword's name), with how often.
fn uses<'s>(root: Node<'_>, src: &'s str) -> std::collections::HashMap<&'s str, usize> {
    let mut counts = std::collections::HashMap::new();
    // Names that are no uses, found from their parents (visited first):
    // cheaper than asking each identifier for its parent.
    let mut not_uses = std::collections::HashSet::new();
    crate::python::parse::walk(
        root,
        |node| !matches!(node.kind_fast(), "import_statement" | "import_from_statement" | "future_import_statement"),
        |node| match node.kind_fast() {
            "attribute" => {
                not_uses.extend(node.child_by_field_name("attribute").map(|a| a.id()));
            }
            "keyword_argument" => {
                not_uses.extend(node.child_by_field_name("name").map(|n| n.id()));
            }
            "identifier" if !not_uses.contains(&node.id()) => {
                *counts.entry(&src[node.byte_range()]).or_insert(0) += 1;
            }
            _ => {}
        },
    );
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(before: &str, after: &str) -> String {
        let a = crate::python::parse::parse(after).unwrap();
        let mut out = after.to_owned();
        let b = || Some(crate::python::parse::parse(before).unwrap());
        for e in made_unused(before, b, a.root_node(), after).iter().rev() {
            out.replace_range(e.range.clone(), &e.text);
        }
        out
    }

    #[test]
    fn only_imports_the_rewrite_emptied_go() {
        let before = "import os\nimport sys\n\nimport six\n\n\ndef f():\n    sys.exit(1)\n";
        let after = "import os\nimport sys\n\nimport six\n\n\ndef f():\n    raise E(1)\n";
        // `os` and `six` were unused already: they stay.
        assert_eq!(removed(before, after), "import os\n\nimport six\n\n\ndef f():\n    raise E(1)\n");
        let still = "import sys\n\n\ndef f():\n    raise E(1)\n\n\ndef g():\n    return sys.argv\n";
        assert_eq!(removed(before, still), still, "still used");
        let exported = "import sys\n__all__ = ['sys']\n\n\ndef f():\n    raise E(1)\n";
        assert_eq!(removed(before, exported), exported, "re-exported");
    }

    #[test]
    fn a_lone_import_between_blank_lines_leaves_one_of_them() {
        let before = "\"\"\"Doc.\"\"\"\n\nimport sys\n\nimport six\n\nsys.exit(six)\n";
        let after = "\"\"\"Doc.\"\"\"\n\nimport sys\n\nimport six\n\nraise E(six)\n";
        assert_eq!(removed(before, after), "\"\"\"Doc.\"\"\"\n\nimport six\n\nraise E(six)\n");
        let from = "from sys import exit\nimport six\n\nexit(six)\n";
        assert_eq!(removed(from, "from sys import exit\nimport six\n\nraise E(six)\n"), "import six\n\nraise E(six)\n");
    }
}
