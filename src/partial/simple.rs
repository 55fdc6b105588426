//! Simple top-level statements that can leave the parse, read here:
//! - a plain `import` or `from ... import` gives the module scope the
//!   bindings `python::bindings` would read from its tree ([`import_bindings`]);
//! - `NAME = value` binds `NAME` as a local of the module ([`assigned_name`]).
//!
//! Imports are about a quarter of the text a partial parse keeps, and the
//! parser pays for every dotted name. The readers are strict: anything they
//! are not sure of (a comment or line ending inside an import's brackets, a
//! backslash, a semicolon, a keyword or non-ASCII name, a star, `__future__`,
//! a space inside a dotted name, a second `=`) keeps the statement in the parse.

/// What `stmt` (a top-level statement, from its first byte to the next
/// statement) binds, as (name, target) pairs in the form
/// `python::bindings::Binding::Import` holds them, or `None` if it is not an
/// import this reader accepts. After the statement's line only blank and
/// comment lines may follow (the scanner ends a statement at the next one).
pub(super) fn import_bindings(stmt: &[u8]) -> Option<Vec<(String, String)>> {
    let mut r = Reader { bytes: stmt, at: 0 };
    let mut out = Vec::new();
    if r.keyword(b"import") && r.blanks() {
        loop {
            r.blanks();
            let parts = r.dotted()?;
            r.blanks();
            if r.keyword(b"as") {
                r.blanks();
                let alias = r.identifier()?;
                out.push((alias.to_owned(), parts.join(".")));
                r.blanks();
            } else {
                out.push((parts[0].to_owned(), parts[0].to_owned()));
            }
            if !r.eat(b',') {
                break;
            }
        }
    } else if r.keyword(b"from") && r.blanks() {
        let dots = r.bytes[r.at..].iter().take_while(|&&c| c == b'.').count();
        r.at += dots;
        let module = match r.peek().is_some_and(is_start) {
            true => r.dotted()?.join("."),
            false if dots > 0 => String::new(),
            false => return None,
        };
        let module = format!("{}{module}", ".".repeat(dots));
        if module == "__future__" {
            return None;
        }
        r.blanks();
        if !(r.keyword(b"import") && r.blanks()) {
            return None;
        }
        let parenthesized = r.eat(b'(');
        loop {
            r.skip(parenthesized);
            if parenthesized && r.eat(b')') {
                break;
            }
            let name = r.identifier()?;
            r.skip(parenthesized);
            let alias = if r.keyword(b"as") {
                r.skip(parenthesized);
                r.identifier()?
            } else {
                name
            };
            out.push((alias.to_owned(), format!("{module}.{name}")));
            r.skip(parenthesized);
            if r.eat(b',') {
                continue;
            }
            if parenthesized && !r.eat(b')') {
                return None;
            }
            break;
        }
        // `from m import ()` is not Python.
        if out.is_empty() {
            return None;
        }
    } else {
        return None;
    }
    r.blanks();
    r.rest_is_blank().then_some(out)
}

/// The name `stmt` assigns if it is `NAME = value` with one `=` in all its
/// text (no chained, annotated, augmented or walrus assignment, no keyword
/// argument or comparison on the right, no `=` in a string or comment):
/// such a statement binds `NAME`, a local of the module, and nothing else.
pub(super) fn assigned_name(stmt: &[u8]) -> Option<&str> {
    let mut r = Reader { bytes: stmt, at: 0 };
    let name = r.identifier()?;
    r.blanks();
    let one_eq = memchr::memchr_iter(b'=', stmt).count() == 1;
    (r.eat(b'=') && one_eq).then_some(name)
}

/// Whether a top-level statement that stays in the parse ends the module's
/// import header (`python::header::insertion_point`): anything but an import
/// or what may be a string (a docstring).
pub(super) fn ends_header(stmt: &[u8]) -> bool {
    let letters = stmt.iter().take(4).take_while(|c| c.is_ascii_alphabetic()).count();
    let string = letters < 4 && matches!(stmt.get(letters), Some(b'\'' | b'"'));
    !string && !super::is_import(stmt)
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }

    /// Spaces and tabs; whether there were any.
    fn blanks(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
        self.at > start
    }

    /// Spaces and tabs, and inside brackets line endings too.
    fn skip(&mut self, line_endings: bool) {
        while matches!(self.peek(), Some(b' ' | b'\t')) || (line_endings && matches!(self.peek(), Some(b'\n' | b'\r')))
        {
            self.at += 1;
        }
    }

    /// `word` as a whole word.
    fn keyword(&mut self, word: &[u8]) -> bool {
        let end = self.at + word.len();
        let hit = self.bytes[self.at..].starts_with(word) && !self.bytes.get(end).copied().is_some_and(is_continue);
        if hit {
            self.at = end;
        }
        hit
    }

    /// An ASCII identifier that no version of the grammar reads as a keyword.
    fn identifier(&mut self) -> Option<&'b str> {
        let start = self.at;
        if !self.peek().is_some_and(is_start) {
            return None;
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            self.at += 1;
        }
        if self.peek().is_some_and(|c| c >= 0x80) {
            return None;
        }
        let word = std::str::from_utf8(&self.bytes[start..self.at]).expect("ASCII");
        (!KEYWORDS.contains(&word)).then_some(word)
    }

    /// `a.b.c`, with no space around the dots.
    fn dotted(&mut self) -> Option<Vec<&'b str>> {
        let mut parts = vec![self.identifier()?];
        while self.eat(b'.') {
            parts.push(self.identifier()?);
        }
        Some(parts)
    }

    /// The statement's line ends here (after an optional comment), and only
    /// blank and comment lines follow.
    fn rest_is_blank(&self) -> bool {
        self.bytes[self.at..].split(|&c| c == b'\n' || c == b'\r').all(|line| {
            let text = line.iter().position(|&c| !matches!(c, b' ' | b'\t'));
            text.is_none_or(|k| line[k] == b'#')
        })
    }
}

fn is_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Python's keywords, its soft keywords and the Python 2 statements the
/// grammar still knows: as a name in an import, each is an error or a
/// different reading to tree-sitter, so such a statement stays in the parse.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "case", "class", "continue", "def",
    "del", "elif", "else", "except", "exec", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "match", "nonlocal", "not", "or", "pass", "print", "raise", "return", "try", "type", "while", "with", "yield",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::bindings::Scope;

    fn read(stmt: &str) -> Option<Vec<(String, String)>> {
        import_bindings(stmt.as_bytes()).map(|mut b| {
            b.sort();
            b
        })
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    /// What tree-sitter and `Scope` make of the same statement: `None` if it
    /// does not parse cleanly.
    fn from_tree(stmt: &str) -> Option<Vec<(String, String)>> {
        let tree = crate::python::parse::parse(stmt).unwrap();
        if tree.root_node().has_error() {
            return None;
        }
        let scope = Scope::collect(tree.root_node(), stmt);
        let mut out: Vec<(String, String)> = scope.imports().map(|(n, t)| (n.to_owned(), t.to_owned())).collect();
        out.sort();
        Some(out)
    }

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(read("import os\n"), pairs(&[("os", "os")]));
        assert_eq!(read("import os.path, sys as _sys  # noqa\n\n# next\n"), pairs(&[("_sys", "sys"), ("os", "os")]));
        assert_eq!(read("from a.b import c as d, e\r\n"), pairs(&[("d", "a.b.c"), ("e", "a.b.e")]));
        assert_eq!(read("from . import x\n"), pairs(&[("x", "..x")]));
        assert_eq!(read("from ..m import (\n    x,\n    y as z,\n)\n"), pairs(&[("x", "..m.x"), ("z", "..m.y")]));
        assert_eq!(read("import time"), pairs(&[("time", "time")]));
    }

    #[test]
    fn leaves_anything_unusual_to_the_parser() {
        for stmt in [
            "from __future__ import annotations\n",
            "from os import *\n",
            "from os import (path,  # why\n    sep)\n",
            "import os; import sys\n",
            "import os \\\n    , sys\n",
            "import os . path\n",
            "from os import print\n",
            "import café\n",
            "from os import ()\n",
            "from os import path,\n",
            "import os\n    x = 1\n",
            "import\tos\n\x0c\n",
            "x = 1\n",
            "importer = 1\n",
            "from .import x\n",
        ] {
            assert_eq!(read(stmt), None, "{stmt:?}");
        }
    }

    #[test]
    fn reads_simple_assignments_only() {
        assert_eq!(assigned_name(b"LOG = logging.getLogger(__name__)\n\n# c\n"), Some("LOG"));
        assert_eq!(assigned_name(b"_x=1"), Some("_x"));
        for stmt in [
            "a = b = 1\n",
            "a: int = 1\n",
            "a += 1\n",
            "a == 1\n",
            "a = f(x=1)\n",
            "a = (b := 1)\n",
            "a = 1 if b >= 2 else 3\n",
            "a, b = 1, 2\n",
            "a.b = 1\n",
            "a[0] = 1\n",
            "print = 1\n",
            "caf\u{e9} = 1\n",
            "f(1)\n",
        ] {
            assert_eq!(assigned_name(stmt.as_bytes()), None, "{stmt:?}");
        }
        assert!(ends_header(b"x = 1\n") && ends_header(b"if x:\n    pass\n") && ends_header(b"print('x')\n"));
        assert!(!ends_header(b"import os\n") && !ends_header(b"from . import x\n"));
        assert!(!ends_header(b"'''Doc.'''\n") && !ends_header(b"rb\"x\"\n") && !ends_header(b"\"x\"\n"));
    }

    /// What `assigned_name` accepts binds exactly that name in the module
    /// scope the tree gives, and nothing else.
    #[test]
    fn accepted_assignments_bind_their_name_only() {
        for stmt in ["X = 1\n", "LOG = logging.getLogger(__name__)\n", "ALL = [a for a in b]\n", "F = lambda y: y\n"] {
            let name = assigned_name(stmt.as_bytes()).unwrap();
            let tree = crate::python::parse::parse(stmt).unwrap();
            assert!(!tree.root_node().has_error());
            let scope = Scope::collect(tree.root_node(), stmt);
            assert!(scope.binds(name) && scope.lookup(name) == Some(Err(())), "{stmt}");
            for other in ["a", "y", "b", "logging"] {
                assert!(!scope.binds(other), "{stmt}: {other}");
            }
        }
    }

    proptest::proptest! {
        /// Whatever the reader accepts, tree-sitter parses cleanly, and the
        /// module scope binds exactly the same names to the same targets.
        #[test]
        fn accepted_imports_bind_what_the_tree_binds(
            from in proptest::bool::ANY,
            dots in 0usize..3,
            module in proptest::sample::select(vec!["os", "a.b", "x_1.y2.z", "", "print", "__future__", "a .b"]),
            names in proptest::collection::vec(
                (proptest::sample::select(vec!["a", "b.c", "_x", "as", "print", "y"]), proptest::option::of(proptest::sample::select(vec!["al", "b", "None"]))),
                0..4,
            ),
            parens in proptest::bool::ANY,
            sep in proptest::sample::select(vec![", ", ",", " , ", ",\n    ", ",\r\n"]),
            tail in proptest::sample::select(vec!["\n", "  # c\n", "\n\n# later\n", ",\n", "\n    y = 1\n", "", ";\n"]),
        ) {
            let list: Vec<String> = names.iter().map(|(n, a)| match a { Some(a) => format!("{n} as {a}"), None => n.to_string() }).collect();
            let list = list.join(sep);
            let stmt = if from {
                let list = if parens { format!("({list})") } else { list };
                format!("from {}{module} import {list}{tail}", ".".repeat(dots))
            } else {
                format!("import {list}{tail}")
            };
            if let Some(read) = read(&stmt) {
                proptest::prop_assert_eq!(Some(read), from_tree(&stmt), "{:?}", stmt);
            }
        }
    }
}
