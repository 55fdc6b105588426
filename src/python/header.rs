//! Where module-level additions go: a definition after the docstring,
//! `from __future__` imports and the module's leading import block; an
//! import where isort and OpenStack's hacking (H306) put it: a standard
//! library module in the standard library group, any other module in the
//! last group, each in alphabetical position.

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

/// Where module-level additions go in one version of a file.
pub struct HeaderPlan {
    /// Where definitions go: [`insertion_point`].
    pub at: usize,
    imports: Vec<ImportLine>,
}

/// One plain import statement of the leading block.
struct ImportLine {
    /// Its first line's start, and the start of the line after it.
    start: usize,
    end: usize,
    key: String,
    stdlib: bool,
    /// Imports separated by a blank line are in different groups.
    group: usize,
}

impl HeaderPlan {
    /// The plan for `src`, parsed whole into `root`.
    pub fn of(root: Node<'_>, src: &str) -> HeaderPlan {
        let mut imports: Vec<ImportLine> = Vec::new();
        let mut cursor = root.walk();
        for child in root.named_children(&mut cursor) {
            match child.kind_fast() {
                "comment" | "future_import_statement" => continue,
                "expression_statement" if imports.is_empty() => continue,
                "import_statement" | "import_from_statement" => {
                    let start = super::line_start(src, child.start_byte());
                    let end = next_line_start(src, child.end_byte());
                    let key = import_key(&src[child.byte_range()]);
                    // Lines between two imports (blank, or comments) start a new group;
                    // two on one line (a broken file) share theirs.
                    let group = match imports.last() {
                        Some(prev) if start <= prev.end => prev.group,
                        Some(prev) => prev.group + 1,
                        None => 0,
                    };
                    let stdlib = is_stdlib(&key);
                    imports.push(ImportLine { start, end, key, stdlib, group });
                }
                _ => break,
            }
        }
        HeaderPlan { at: insertion_point(root, src), imports }
    }

    /// [`HeaderPlan::of`], parsing only the module's header: the text before
    /// the first top-level `def`, `class` or decorator (the leading imports
    /// are all before it). A large file's body is not parsed again for this;
    /// if the cut leaves an error region (a docstring spelling `\ndef `),
    /// the whole text is parsed.
    pub fn of_header(src: &str) -> Result<HeaderPlan, super::parse::ParseError> {
        let bytes = src.as_bytes();
        let mut cut = src.len();
        let mut at = 0;
        while at < bytes.len() {
            let line = &bytes[at..];
            if line.starts_with(b"def ")
                || line.starts_with(b"class ")
                || line.starts_with(b"async ")
                || line.starts_with(b"@")
            {
                cut = at;
                break;
            }
            at = next_line_start(src, at);
        }
        let tree = super::parse::parse(&src[..cut])?;
        if cut < src.len() && tree.root_node().has_error() {
            return Ok(HeaderPlan::of(super::parse::parse(src)?.root_node(), src));
        }
        Ok(HeaderPlan::of(tree.root_node(), &src[..cut]))
    }

    /// A plan that puts everything at `at` (a file without imports).
    pub fn at(at: usize) -> HeaderPlan {
        HeaderPlan { at, imports: Vec::new() }
    }

    /// Where a new import `statement` goes, and whether a blank line must
    /// follow it (it starts a group of its own).
    pub fn import_slot(&self, statement: &str) -> (usize, bool) {
        let key = import_key(statement);
        let stdlib = is_stdlib(&key);
        let group = if stdlib {
            match self.imports.iter().find(|i| i.stdlib) {
                Some(first) => Some(first.group),
                // No standard library group yet: a new one, first.
                None => return self.imports.first().map_or((self.at, false), |first| (first.start, true)),
            }
        } else {
            self.imports.last().map(|last| last.group)
        };
        let Some(group) = group else { return (self.at, false) };
        let members: Vec<&ImportLine> = self.imports.iter().filter(|i| i.group == group).collect();
        match members.iter().find(|i| i.key > key) {
            Some(next) => (next.start, false),
            None => (members.last().map_or(self.at, |l| l.end), false),
        }
    }
}

/// The module an import names, as hacking compares them: `import a.b` is
/// `a.b`, `from a import b` is `a.b`, lowercased.
fn import_key(statement: &str) -> String {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let key = match words.as_slice() {
        ["from", module, "import", name, ..] => format!("{module}.{}", name.trim_matches(['(', ',', ')'])),
        ["import", module, ..] => module.trim_end_matches(',').to_owned(),
        _ => statement.to_owned(),
    };
    key.to_ascii_lowercase()
}

/// Whether an import key's top-level module is in CPython's standard library.
fn is_stdlib(key: &str) -> bool {
    let top = key.split('.').next().unwrap_or(key);
    STDLIB.binary_search(&top).is_ok()
}

/// `sys.stdlib_module_names` of CPython 3.11 (public names, sorted).
const STDLIB: &[&str] = &[
    "abc",
    "aifc",
    "antigravity",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

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

    fn slot(src: &str, statement: &str) -> (String, bool) {
        let tree = crate::python::parse::parse(src).unwrap();
        let (at, blank) = HeaderPlan::of(tree.root_node(), src).import_slot(statement);
        (src[at..].lines().next().unwrap_or("").to_owned(), blank)
    }

    #[test]
    fn imports_go_to_their_group_in_alphabetical_order() {
        let hacking = "\"\"\"Doc.\"\"\"\nimport os\nimport sys\n\nimport eventlet\nfrom oslo_log import log\n\nfrom neutron import x\n\nLOG = 1\n";
        // Between `os` and `sys`, never in the third-party group.
        assert_eq!(slot(hacking, "import time"), ("".into(), false), "after sys: the line after it is blank");
        assert_eq!(slot(hacking, "import re"), ("import sys".into(), false));
        assert_eq!(slot(hacking, "import abc"), ("import os".into(), false));
        // A project's module: the last group, in order.
        assert_eq!(slot(hacking, "from neutron.common import exceptions"), ("from neutron import x".into(), false));
        assert_eq!(slot(hacking, "from zebra import errors"), ("".into(), false));
        // No standard library import yet: a group of its own, first.
        let third = "import eventlet\n\n\ndef f():\n    pass\n";
        assert_eq!(slot(third, "import time"), ("import eventlet".into(), true));
        // Never among `__future__` imports or above the docstring.
        let future = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport sys\n";
        assert_eq!(slot(future, "import time"), ("".into(), false));
        assert_eq!(slot(future, "import abc"), ("import sys".into(), false));
        assert_eq!(slot("\"\"\"Doc.\"\"\"\nx = 1\n", "import time"), ("x = 1".into(), false));
        assert!(STDLIB.windows(2).all(|w| w[0] < w[1]), "sorted for the binary search");
    }

    #[test]
    fn after_leading_comments_without_imports() {
        let src = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nx = 1\n";
        assert_eq!(&src[point(src)..], "x = 1\n");
        assert_eq!(point("x = 1\n"), 0);
    }
}
