//! Partial parsing: the text tree-sitter parses for a file that passes the
//! prefilter.
//!
//! Such a file is often large while the code a transform looks at is one
//! function. [`reduce`] keeps the top-level statements, and the `def` and
//! `class` blocks (or, in a kept class, the members) that match a
//! transform's block regexes; every other block becomes a stub that binds
//! the same name (`0;  name=0`) or, where its header must stay (a decorator,
//! `class A:`), keeps its header over a `0` placeholder body. At the top
//! level only the first stub stays in the text; later ones are dropped from
//! the parse and their names listed in [`Reduced::bound`]. Plain top-level
//! imports are read here ([`simple`]) and dropped too, all but the last of
//! each run, their bindings listed in [`Reduced::imports`]; so are simple
//! assignments (`NAME = value`) once the import header has ended, unless a
//! candidate sits at module level, their names in `bound`. Every other
//! byte becomes a space except line endings, and the parser skips those runs
//! (tree-sitter included ranges). Offsets and line numbers do not move, so
//! the reduced tree's nodes, and the edits built from them, line up with the
//! original text. The statements come from [`scan`], a small lexer; when it
//! is unsure (an unterminated string, a body that would swallow another
//! top-level `def`), [`reduce`] returns `None` and the caller parses the
//! whole file.

mod blank;
mod keep;
mod scan;
mod simple;

use std::ops::Range;

use blank::Blanker;
use keep::Keep;
pub use keep::KeepSet;
pub(crate) use keep::is_definition;
use scan::{body, body_indent, statements, statements_in};

/// A reduced text and the byte ranges the parser may skip entirely: each
/// blanked body after its placeholder (only spaces and line endings).
pub struct Reduced {
    /// `None` when nothing could be blanked.
    pub text: Option<String>,
    pub unparsed: Vec<Range<usize>>,
    /// Every blanked body, in the original text's offsets.
    pub blanked: Vec<Range<usize>>,
    /// The names (byte ranges) of top-level blocks and assignments dropped
    /// from the parse altogether: the module binds them, but the reduced text
    /// does not spell them (see [`Blanker::stub`], [`simple::assigned_name`]).
    pub bound: Vec<Range<usize>>,
    /// What the top-level imports left out of the parse bind, as (name,
    /// target) pairs (see [`simple`]).
    pub imports: Vec<(String, String)>,
    /// Whether any statement left unblanked (a top-level statement, a kept
    /// block, a member of a kept class) matches one of the `keep` sets. If
    /// none does, no transform can find anything in the file.
    pub matched: bool,
}

/// The text with every top-level `def`/`class` body that matches none of the
/// `keep` sets (a set matches if each of its regexes does) blanked, or `None`
/// if the scanner cannot split the file safely. In a kept class, the bodies
/// of members that match no set are blanked too. (For the unit tests; the
/// engine asks more of definitions: [`reduce_with`].)
#[cfg(test)]
pub fn reduce(text: &str, keep: &[&[regex::bytes::Regex]]) -> Option<Reduced> {
    let sets: Vec<KeepSet<'_>> = keep.iter().map(|&all| KeepSet { all, in_definitions: None }).collect();
    reduce_with(text, &sets, &[])
}

/// [`reduce`], where a set may ask more of definitions, and the top-level
/// statements intersecting a range of `whole` are kept with every member.
pub fn reduce_with(text: &str, keep: &[KeepSet<'_>], whole: &[Range<usize>]) -> Option<Reduced> {
    let bytes = text.as_bytes();
    let keeps = Keep::new(bytes, keep);
    let in_whole = |r: &Range<usize>| whole.iter().any(|w| w.start < r.end && r.start < w.end.max(w.start + 1));
    let kept = |r: &Range<usize>| in_whole(r) || keeps.keeps(r);
    let mut blanker = Blanker::new(bytes);
    let mut blanked = Vec::new();
    // The first top-level stub stays in the text: it ends the import header
    // (see `python::header::insertion_point`) as the `def` did. Later ones
    // bind their names outside the parse (`bound`).
    let mut bound: Option<Vec<Range<usize>>> = None;
    let statements = statements(bytes)?;
    // Code before the first statement at column 0 (an indented first line,
    // which tree-sitter accepts) belongs to no statement, and is kept as is.
    let prologue = 0..statements.first().map_or(bytes.len(), |s| s.start);
    let mut matched = !prologue.is_empty() && kept(&prologue);
    let bodies: Vec<Option<Range<usize>>> = statements.iter().map(|s| body(bytes, s)).collect();
    let kept_flags: Vec<bool> = statements.iter().map(&kept).collect();
    // A candidate outside every block (a loop at module level) may look at
    // the module's statements before it: then no assignment leaves the parse.
    let module_level = matched || bodies.iter().zip(&kept_flags).any(|(b, &k)| b.is_none() && k);
    // Whether a statement that stays in the parse has ended the import
    // header: only after that may assignments leave it (the header must end
    // where it did).
    let mut header_ended = false;
    // The decorator statements right before the current one.
    let mut decorators: Vec<Range<usize>> = Vec::new();
    let (mut imported, mut assigned) = (Vec::new(), Vec::new());
    for (k, ((stmt, b), is_kept)) in statements.iter().zip(bodies).zip(kept_flags).enumerate() {
        let Some(b) = b else {
            matched |= is_kept;
            let text = &bytes[stmt.clone()];
            // An import leaves the parse if one follows it: the last of a
            // run stays, so the import header still ends where it did
            // (`python::header::insertion_point`).
            if !is_kept
                && statements.get(k + 1).is_some_and(|next| is_import(&bytes[next.clone()]))
                && let Some(binds) = simple::import_bindings(text)
            {
                blanker.drop_statement(stmt);
                imported.extend(binds);
            } else if !is_kept
                && header_ended
                && !module_level
                && let Some(name) = simple::assigned_name(text)
            {
                blanker.drop_statement(stmt);
                // Its text is gone from the parse: a caller listed by
                // `check --explain` could hide there (see `engine::partial`).
                blanked.push(stmt.clone());
                assigned.push(stmt.start..stmt.start + name.len());
            } else if text[0] != b'@' {
                header_ended |= simple::ends_header(text);
            }
            if bytes[stmt.start] == b'@' {
                decorators.push(stmt.clone());
            } else {
                decorators.clear();
            }
            continue;
        };
        let decorated = std::mem::take(&mut decorators);
        // A block ends the header whether it stays or, after the first stub
        // (which stays), leaves the parse.
        header_ended = true;
        if !is_kept {
            if blank_block(&mut blanker, &kept, &decorated, stmt, b, b"", bound.as_mut(), &mut blanked)?
                == Blanked::Stub
            {
                bound.get_or_insert_with(Vec::new);
            }
            continue;
        }
        // A kept class: blank the bodies of its members that cannot hold a
        // candidate. The class matched as a whole; it is a match only if one
        // of its members is, on its own.
        let head = &bytes[stmt.clone()];
        let indent = if head.starts_with(b"class ") && !in_whole(stmt) { body_indent(bytes, &b) } else { None };
        let Some(indent) = indent else {
            matched = true;
            continue;
        };
        let mut decorators: Vec<Range<usize>> = Vec::new();
        // As at the top level, only the first stub stays in the text (a class
        // body cannot be empty); nothing resolves names in a class scope, so
        // the names of the others are not kept.
        let mut dropped: Option<Vec<Range<usize>>> = None;
        for member in &statements_in(bytes, b.clone(), indent)? {
            let decorated = if bytes[member.start] == b'@' {
                decorators.push(member.clone());
                None
            } else {
                Some(std::mem::take(&mut decorators))
            };
            if kept(member) {
                matched = true;
            } else if let (Some(decorated), Some(mb)) = (decorated, body(bytes, member))
                && blank_block(&mut blanker, &kept, &decorated, member, mb, indent, dropped.as_mut(), &mut blanked)?
                    == Blanked::Stub
            {
                dropped.get_or_insert_with(Vec::new);
            }
        }
    }
    let (out, skip) = blanker.finish();
    // Only ASCII bytes were written, over whole bodies: the text stays UTF-8.
    Some(Reduced {
        text: out.map(|o| String::from_utf8(o).expect("blanking replaces whole bodies with ASCII")),
        unparsed: merge_skips(bytes, skip),
        blanked,
        bound: bound.unwrap_or_default().into_iter().chain(assigned).collect(),
        imports: imported,
        matched,
    })
}

/// Whether a statement is an import (of any form, read or not).
pub(super) fn is_import(stmt: &[u8]) -> bool {
    let word = |w: &[u8]| stmt.starts_with(w) && stmt.get(w.len()).is_some_and(|c| matches!(c, b' ' | b'\t' | b'.'));
    word(b"import") || word(b"from")
}

/// What [`blank_block`] made of a block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blanked {
    /// A stub binding the same name (see `Blanker::stub`).
    Stub,
    /// Its body, behind its kept header.
    Body,
}

/// Blanks block `stmt` (body `b`, at `indent`), which matches no keep set:
/// a stub if it can be one, its decorators blanked too when none matches or
/// could bind a name (a decorated test method is mostly decorators), else
/// its body behind its kept header. Returns what it became, or `None` if
/// the reduced text must be given up.
#[allow(clippy::too_many_arguments)]
fn blank_block(
    blanker: &mut Blanker<'_>,
    kept: &impl Fn(&Range<usize>) -> bool,
    decorators: &[Range<usize>],
    stmt: &Range<usize>,
    b: Range<usize>,
    indent: &[u8],
    bound: Option<&mut Vec<Range<usize>>>,
    blanked: &mut Vec<Range<usize>>,
) -> Option<Blanked> {
    let droppable = decorators.iter().all(|d| !kept(d) && blanker.can_drop_decorator(d, indent));
    if droppable {
        match blanker.stub(stmt, &b, indent, bound) {
            blank::Stub::Blanked(stubbed) => {
                blanked.push(stubbed);
                if let Some(first) = decorators.first() {
                    blanker.drop_decorators(first.start..stmt.start);
                    blanked.push(first.start..stmt.start);
                }
                return Some(Blanked::Stub);
            }
            blank::Stub::Swallows => return None,
            blank::Stub::Unfit => {}
        }
    }
    blanked.push(b.clone());
    blanker.blank(b, indent)?;
    Some(Blanked::Body)
}

/// Joins skippable ranges separated only by blanks (the line ending a
/// blanked body keeps, a member's indentation): each included range costs
/// the parser a switch, and dropped stubs leave runs of them.
fn merge_skips(bytes: &[u8], skip: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(skip.len());
    for r in skip {
        match merged.last_mut() {
            Some(last) if bytes[last.end..r.start].iter().all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) => {
                last.end = r.end;
            }
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex;

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    #[test]
    fn blanks_only_bodies_without_a_match() {
        let src = "import time\n\ndef a():\n    x = '''\n  def fake():\n'''\n    return x\n\n\ndef b():\n    while True:\n        time.sleep(1)\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        assert!(reduced.matched);
        let out = reduced.text.unwrap();
        assert_eq!(out.len(), src.len());
        assert!(reduced.unparsed.iter().all(|r| out[r.clone()].trim().is_empty()), "only blanks are skipped");
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        assert!(out.starts_with("import time\n\n0;  a=0 "), "a stub binds `a`: {out}");
        assert!(!out.contains("fake"), "{out}");
        let module = crate::python::bindings::Scope::collect(tree.root_node(), &out);
        assert!(module.binds("a") && module.binds("b") && module.binds("time"));
        assert!(out.contains("def b():\n    while True:\n        time.sleep(1)\n"), "{out}");
        let tree = crate::python::parse::parse(&out).unwrap();
        assert!(!tree.root_node().has_error(), "{out}");
    }

    #[test]
    fn methods_of_a_kept_class_are_blanked_too() {
        let src = "class A:\n    x = 1\n\n    def a(self):\n        return [\n1]\n\n    @property\n    def b(self):\n        while True:\n            pass\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        let out = reduced.text.unwrap();
        assert!(out.contains("    0;  a=0 "), "{out}");
        assert!(out.contains("    x = 1\n"), "{out}");
        assert!(out.contains("    def b(self):\n        while True:\n            pass\n"), "{out}");
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
    }

    #[test]
    fn a_set_matches_only_if_one_statement_matches_all_of_it() {
        let set = [re(r"while\s+True"), re("sleep")];
        // The class holds both, but no single member does: nothing to parse.
        let src =
            "class A:\n    def a(self):\n        while True:\n            pass\n\n    def b(self):\n        sleep(1)\n";
        let r = reduce(src, &[&set]).unwrap();
        assert!(!r.matched);
        assert_eq!(r.blanked.len(), 2);
        let src = "def a():\n    while True:\n        sleep(1)\n\n\ndef b():\n    pass\n";
        let r = reduce(src, &[&set]).unwrap();
        assert!(r.matched);
        assert_eq!(r.blanked.len(), 1);
        assert!(reduce("while True:\n    sleep(1)\n", &[&set]).unwrap().matched, "a module-level loop");
        assert!(!reduce("x = 'sleep'\n", &[&set]).unwrap().matched);
    }

    #[test]
    fn code_before_the_first_statement_can_match() {
        // Found by the fuzzer: an indented first line is no statement of the
        // scanner's, but tree-sitter parses it, so its exits count.
        let set = [re(r"exit\s*\(")];
        let src = "# comment\n    if x:\n        sys.exit(1)\n\n\ndef f():\n    pass\n";
        assert!(reduce(src, &[&set]).unwrap().matched);
        assert!(reduce("    sys.exit(1)\n", &[&set]).unwrap().matched);
    }

    #[test]
    fn stubs_fall_back_to_blanked_bodies_when_a_header_matters() {
        let src = "@register(m := load())\ndef a(x):\n    return x\n\n\nclass B:\n    y = 1\n\n\ndef c(x=(n := 2)):\n    return x\n\n\nclass D(object):\n    pass\n";
        let reduced = reduce(src, &[]).unwrap();
        let out = reduced.text.unwrap();
        // A decorator binding a name needs its `def`; `class B:` leaves no
        // room for `=0`; a walrus in a default binds a name of its own.
        assert!(out.starts_with("@register(m := load())\ndef a(x):\n    0"), "{out}");
        assert!(out.contains("\nclass B:\n    0"), "{out}");
        assert!(out.contains("\ndef c(x=(n := 2)):\n    0"), "{out}");
        assert!(out.contains("\n0;    D=0 "), "{out}");
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        let module = crate::python::bindings::Scope::collect(tree.root_node(), &out);
        assert!(["a", "B", "c", "D"].iter().all(|name| module.binds(name)));
        // The parameters, decorator arguments and bases of a stub count as blanked.
        assert!(reduced.blanked.iter().any(|r| src[r.clone()].starts_with("(object):")));
    }

    #[test]
    fn decorators_go_with_their_stub() {
        let src = "import mock\n\n\n@mock.patch('a.b',\n            new=1)\n@other\ndef a():\n    return 1\n\n\nclass T(object):\n    @mock.patch('x')\n    def test_one(self, m):\n        pass\n\n    @staticmethod\n    def wait():\n        while True:\n            sleep(1)\n";
        let keep = [re(r"while\s+True"), re("sleep")];
        let reduced = reduce(src, &[&keep]).unwrap();
        let out = reduced.text.unwrap();
        assert!(!out.contains("mock.patch"), "{out}");
        assert!(out.contains("\n0;  a=0 ") && out.contains("\n    0;  test_one=0 "), "{out}");
        assert!(out.contains("    @staticmethod\n    def wait():"), "a kept member keeps its decorator: {out}");
        assert!(reduced.blanked.iter().any(|r| src[r.clone()].starts_with("@mock.patch('a.b',")));
        assert!(reduced.unparsed.iter().all(|r| out[r.clone()].trim().is_empty()));
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        // A decorator line that opens a definition at column 0 inside its
        // brackets means the scanner is lost: the decorators stay.
        let lost = "@deco('''\ndef b():\n''')\ndef a():\n    return 1\n";
        let out = reduce(lost, &[]).unwrap().text.unwrap();
        assert!(out.starts_with("@deco('''\ndef b():\n''')\ndef a():\n    0"), "{out}");
    }

    #[test]
    fn a_kept_class_keeps_one_member_stub() {
        let src = "class T(object):\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n\n    def wait(self):\n        while True:\n            sleep(1)\n";
        let keep = [re(r"while\s+True"), re("sleep")];
        let reduced = reduce(src, &[&keep]).unwrap();
        let out = reduced.text.unwrap();
        assert!(out.contains("\n    0;  a=0 ") && !out.contains("b=0"), "{out}");
        assert!(reduced.bound.is_empty(), "class members bind nothing in the module");
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
    }

    #[test]
    fn stubs_after_the_first_leave_the_parse() {
        let src = "import time\n\n\ndef a():\n    return 1\n\n\ndef sleep(x):\n    pass\n\n\nclass C(object):\n    y = 2\n\n\ndef b():\n    while True:\n        sleep(1)\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        let out = reduced.text.unwrap();
        assert!(out.contains("\n0;  a=0 "), "the first stub stays: {out}");
        assert!(!out.contains("sleep=") && !out.contains("C=") && !out.contains("class"), "{out}");
        let names: Vec<&str> = reduced.bound.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(names, ["sleep", "C"]);
        // `a`'s body and the two dropped blocks are one skipped range.
        assert_eq!(reduced.unparsed.len(), 1, "{:?}", reduced.unparsed);
        assert!(reduced.unparsed.iter().all(|r| out[r.clone()].trim().is_empty()));
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        assert_eq!(tree.root_node().named_child_count(), 4, "import, stub (2 statements), b");
        // The module scope binds the dropped names: `sleep` is no longer `time.sleep`.
        let names = reduced.bound.iter().map(|r| &src[r.clone()]);
        let r = crate::python::bindings::Resolver::with_module_names(tree.root_node(), &out, names);
        assert!(r.module().binds("sleep") && r.module().binds("C") && r.module().binds("a"));
        assert_eq!(r.module().lookup("sleep"), Some(Err(())));
    }

    #[test]
    fn imports_leave_the_parse_but_the_last_of_a_run() {
        let src = "\"\"\"Doc.\"\"\"\nimport os\nfrom time import sleep as nap  # why\n\nimport sys\nx = 1\nimport json\nimport re\n\n\ndef b():\n    while True:\n        nap(1)\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        let out = reduced.text.unwrap();
        // `sys` ends the header and `re` its run: they stay; the others are blanks.
        assert!(out.contains("\nimport sys\nx = 1\n") && out.contains("\nimport re\n"), "{out}");
        assert!(!out.contains("import os") && !out.contains("nap ") && !out.contains("json"), "{out}");
        assert_eq!(out.len(), src.len());
        let mut imports = reduced.imports.clone();
        imports.sort();
        let expected = [("json", "json"), ("nap", "time.sleep"), ("os", "os")];
        assert_eq!(imports, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        // New imports still go after the header's last import.
        let whole = crate::python::parse::parse(src).unwrap();
        let at = crate::python::header::insertion_point(whole.root_node(), src);
        assert_eq!(crate::python::header::insertion_point(tree.root_node(), &out), at);
        // The module scope sees the left-out imports as imports.
        let r = crate::python::bindings::Resolver::with_module_bindings(
            tree.root_node(),
            &out,
            [],
            &reduced.imports,
            &reduced.unparsed,
        );
        assert_eq!(r.module().lookup("nap"), Some(Ok("time.sleep")));
        assert_eq!(r.module().lookup("sys"), Some(Ok("sys")));
        assert!(r.imports_anywhere("os"));
    }

    #[test]
    fn assignments_leave_the_parse_after_the_header() {
        let src = "import time\nX = 1\nY = f(2)\nfrom os import path\nZ = 3\n\n\ndef b():\n    while True:\n        sleep(1)\n";
        let keep = re(r"while\s+True");
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        let out = reduced.text.unwrap();
        // `X` ends the header and stays; `Y` and `Z` leave the parse, their
        // names bound outside it.
        assert!(out.contains("X = 1\n") && !out.contains("Y =") && !out.contains("Z ="), "{out}");
        assert!(out.contains("from os import path"), "the last import of its run stays: {out}");
        let names: Vec<&str> = reduced.bound.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(names, ["Y", "Z"]);
        let tree = crate::python::parse::parse_around(&out, &reduced.unparsed).unwrap();
        let whole = crate::python::parse::parse(src).unwrap();
        let at = crate::python::header::insertion_point(whole.root_node(), src);
        assert_eq!(crate::python::header::insertion_point(tree.root_node(), &out), at);
        // A candidate at module level may read the statements before it: all stay.
        let src = "import time\nX = 1\nt = Timeout(5)\nwhile True:\n    time.sleep(1)\n";
        let reduced = reduce(src, &[std::slice::from_ref(&keep)]).unwrap();
        assert!(reduced.text.is_none() && reduced.bound.is_empty());
    }

    #[test]
    fn unsure_means_none() {
        assert!(reduce("def a():\n    s = 'open\n", &[]).is_none());
        assert!(reduce("x = (\n", &[]).is_none());
        assert!(reduce("x = 1\n", &[]).unwrap().text.is_none(), "nothing to blank");
        // A string the scanner cannot follow must not hide the next function.
        assert!(reduce("def a():\n    s = '''x\ndef b():\n    pass\n'''\n", &[]).is_none());
    }

    #[test]
    fn crlf_and_multibyte_bodies() {
        let src = "def a():\r\n    s = 'é'\r\n    return s\r\n";
        let out = reduce(src, &[]).unwrap().text.unwrap();
        assert_eq!(out.len(), src.len());
        assert!(out.starts_with("0;  a=0 \r\n"), "{out:?}");
        assert_eq!(out.matches("\r\n").count(), 3);
    }
}
