//! [`Ctx`]: what a transform sees of one file (the text, the tree, the
//! file's style), and the lookups it shares between transforms, each made on
//! first use and cached: the resolver, fresh names, query captures, the
//! assignments of a scope.

use std::cell::{OnceCell, RefCell};

use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

use super::hints::Focus;
use super::{Spec, queries};
use crate::pipeline::source::Indent;
use crate::python::bindings::Resolver;
use crate::python::names::Names;
use crate::python::parse::KindFast;

/// Every (capture index, node) of one query run.
type Captures<'a> = Vec<(u32, Node<'a>)>;

/// What a transform sees of one file. The resolver and the name table are
/// built on first use: most files have no candidate and never need them.
///
/// Transforms read the file only through it: [`Ctx::text`] for a node,
/// [`Ctx::whole_file`] for facts about the whole file (its style, a word it
/// spells anywhere), [`Ctx::find_spelled`] to go from a word to the nodes
/// spelling it. Whether the tree covers the whole file or a partial parse
/// (see `crate::partial`) is this type's business, not theirs.
pub struct Ctx<'a> {
    /// The text the tree was parsed from: the whole file, or after a partial
    /// parse the reduced text (same offsets, blanked bodies are spaces).
    src: &'a str,
    /// The whole file (equal to `src` unless the file was partially parsed).
    original: &'a str,
    tree: &'a Tree,
    /// The file's indentation unit (found on first use) and line ending,
    /// for rendering new lines.
    indent: &'a Indent<'a>,
    eol: &'a str,
    /// The quote style of the whole file, found on first use (most files
    /// never render anything): see [`Ctx::quote`].
    quote: OnceCell<char>,
    /// The project's line length, if known: see [`Ctx::line_limit`].
    line_limit: Option<usize>,
    resolver: OnceCell<Resolver<'a, 'a>>,
    /// Names (ranges of `original`) the module binds in blocks the partial
    /// parse dropped; empty for a whole parse.
    module_names: &'a [std::ops::Range<usize>],
    /// The (name, target) pairs of top-level imports the partial parse left
    /// out; empty for a whole parse.
    module_imports: &'a [(String, String)],
    /// The ranges of `src` the parser unparsed (blanks); empty for a whole parse.
    unparsed: &'a [std::ops::Range<usize>],
    names: OnceCell<RefCell<Names<'a>>>,
    /// Known to match no transform's unfocus regex (the partial parse
    /// checked the whole file before reducing it): see [`Ctx::captures`].
    no_unfocus: bool,
    /// Whether the query may look only where the hints say candidates can
    /// be (off in the reference mode: see [`Ctx::without_focus`]).
    focus: bool,
    /// Per transform spec (keyed by address): every (capture index, node).
    query_cache: RefCell<Vec<(usize, Captures<'a>)>>,
    /// Per scope (keyed by node id): its assignments, see [`Ctx::assignments`].
    assignments: RefCell<std::collections::HashMap<usize, std::rc::Rc<[Assignment<'a>]>>>,
    /// The subtrees walked so far: see [`Ctx::walk`].
    walks: crate::python::flat::Walks<'a>,
}

/// An `assignment` node's target and value.
#[derive(Clone, Copy)]
pub struct Assignment<'a> {
    pub left: Node<'a>,
    pub right: Node<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(src: &'a str, tree: &'a Tree, indent: &'a Indent<'a>, eol: &'a str) -> Self {
        Ctx::partial(src, src, tree, indent, eol)
    }

    /// A context over a partially parsed file: `src` is the reduced text the
    /// tree was parsed from (same offsets as `original`, see `crate::partial`);
    /// style and fresh names come from the whole `original`.
    pub fn partial(src: &'a str, original: &'a str, tree: &'a Tree, indent: &'a Indent<'a>, eol: &'a str) -> Self {
        Ctx {
            src,
            original,
            tree,
            indent,
            eol,
            quote: OnceCell::new(),
            line_limit: None,
            resolver: OnceCell::new(),
            module_names: &[],
            module_imports: &[],
            unparsed: &[],
            names: OnceCell::new(),
            no_unfocus: false,
            focus: true,
            query_cache: RefCell::default(),
            assignments: RefCell::default(),
            walks: crate::python::flat::Walks::default(),
        }
    }

    /// Records that the whole file matches no active transform's unfocus
    /// regex, so [`Ctx::captures`] need not search the text again.
    pub fn without_unfocus_matches(mut self) -> Self {
        self.no_unfocus = true;
        self
    }

    /// Runs every query on the whole tree, whatever the hints say (the
    /// reference mode, `--no-shortcuts`).
    pub fn without_focus(mut self) -> Self {
        self.focus = false;
        self
    }

    /// Adds the names of top-level blocks the partial parse dropped (see
    /// [`crate::partial::Reduced::bound`]) to the module scope.
    pub fn with_module_names(mut self, names: &'a [std::ops::Range<usize>]) -> Self {
        self.module_names = names;
        self
    }

    /// Adds what the top-level imports the partial parse left out bind (see
    /// [`crate::partial::Reduced::imports`]) to the module scope.
    pub fn with_module_imports(mut self, imports: &'a [(String, String)]) -> Self {
        self.module_imports = imports;
        self
    }

    /// Records the ranges of `src` the partial parse unparsed (see
    /// [`crate::python::parse::parsed_segments`]): searches of the text leave them out.
    pub fn with_unparsed(mut self, unparsed: &'a [std::ops::Range<usize>]) -> Self {
        self.unparsed = unparsed;
        self
    }

    /// The matches of `re` in the text the parser read, in order.
    fn find_parsed(&self, re: &regex::bytes::Regex) -> Vec<std::ops::Range<usize>> {
        let bytes = self.src.as_bytes();
        let found: Vec<std::ops::Range<usize>> = crate::python::parse::parsed_segments(bytes.len(), self.unparsed)
            .flat_map(|seg| re.find_iter(&bytes[seg.clone()]).map(move |m| seg.start + m.start()..seg.start + m.end()))
            .collect();
        // Where assertions run (the test suite): exactly the matches in the whole text.
        debug_assert_eq!(found, re.find_iter(bytes).map(|m| m.range()).collect::<Vec<_>>());
        found
    }

    /// The assignments (`x = ...`, with both sides) in `scope` (a function,
    /// the module, or any subtree such as a loop body), not in nested scopes,
    /// in order. Walked once per node: an analysis asks for the assignments
    /// of many names.
    pub fn assignments(&self, scope: Node<'a>) -> std::rc::Rc<[Assignment<'a>]> {
        if let Some(known) = self.assignments.borrow().get(&scope.id()) {
            return known.clone();
        }
        let mut found = Vec::new();
        self.walk(
            scope,
            |n| n.id() == scope.id() || !crate::python::is_scope(n.kind_fast()),
            |n| {
                if n.kind_fast() == "assignment"
                    && let (Some(left), Some(right)) = (n.child_by_field_name("left"), n.child_by_field_name("right"))
                {
                    found.push(Assignment { left, right });
                }
            },
        );
        let found: std::rc::Rc<[Assignment<'a>]> = found.into();
        self.assignments.borrow_mut().insert(scope.id(), found.clone());
        found
    }

    /// [`crate::python::parse::walk`] (the same nodes, in the same order), over the
    /// subtree kept from an earlier walk when `node` is in one: the analyses
    /// walk the same loop bodies and functions many times.
    pub fn walk(&self, node: Node<'a>, descend: impl FnMut(Node<'a>) -> bool, visit: impl FnMut(Node<'a>)) {
        self.walks.walk(node, descend, visit);
    }

    /// The whole file, for facts about it (style, spellings anywhere).
    /// Offsets are those of the tree's nodes.
    pub fn whole_file(&self) -> &'a str {
        self.original
    }

    /// The text the tree was parsed from (for the engine's suppression
    /// comments; transforms use [`Ctx::text`] and [`Ctx::whole_file`]).
    pub(crate) fn tree_text(&self) -> &'a str {
        self.src
    }

    pub(crate) fn tree(&self) -> &'a Tree {
        self.tree
    }

    /// The file's line ending, for new lines.
    pub fn eol(&self) -> &'a str {
        self.eol
    }

    /// Where `word` is spelled in the parsed part of the file, in order:
    /// each offset is inside a node of the tree.
    pub fn find_spelled(&self, word: &str) -> Vec<usize> {
        // Blanked bodies are spaces, so the reduced text spells a word
        // exactly where the parsed part of the whole file does.
        memchr::memmem::find_iter(self.src.as_bytes(), word.as_bytes()).collect()
    }

    /// The dotted name of the definitions around `node` (`Class.method`).
    pub fn qualified_name(&self, node: Node<'_>) -> String {
        crate::python::qualified_name_in(self.root(), node, self.src)
    }

    /// One level of the file's indentation.
    pub fn indent(&self) -> &'a str {
        self.indent.get()
    }

    /// The quote character the file prefers for new string literals.
    pub fn quote(&self) -> char {
        *self.quote.get_or_init(|| preferred_quote(self.original))
    }

    /// The longest line the file's project accepts (its flake8, ruff or
    /// black configuration, or tame's `line-length`: see
    /// `crate::app::line_length`), else PEP 8's 79. Every line a rewrite
    /// writes must fit it.
    pub fn line_limit(&self) -> usize {
        self.line_limit.unwrap_or(crate::app::line_length::DEFAULT)
    }

    /// Sets the line length the file's project accepts.
    pub fn with_line_limit(mut self, limit: Option<usize>) -> Self {
        self.line_limit = limit;
        self
    }

    pub fn root(&self) -> Node<'a> {
        self.tree.root_node()
    }

    pub fn resolver(&self) -> &Resolver<'a, 'a> {
        self.resolver.get_or_init(|| {
            let names = self.module_names.iter().map(|r| &self.original[r.clone()]);
            Resolver::with_module_bindings(self.tree.root_node(), self.src, names, self.module_imports, self.unparsed)
        })
    }

    pub fn names(&self) -> std::cell::RefMut<'_, Names<'a>> {
        self.names.get_or_init(|| RefCell::new(Names::of_file(self.original))).borrow_mut()
    }

    pub fn text(&self, node: Node<'_>) -> &'a str {
        crate::python::parse::text(node, self.src)
    }

    /// Runs `query` and returns, for each match, the node of capture `name`.
    /// For each match of `re`: the innermost function around it, else the
    /// match itself. Merged, in order.
    fn focus_ranges(&self, re: &regex::bytes::Regex) -> Vec<std::ops::Range<usize>> {
        let mut ranges: Vec<std::ops::Range<usize>> = self
            .find_parsed(re)
            .into_iter()
            .map(|m| {
                let root = self.tree.root_node();
                let node = root.descendant_for_byte_range(m.start, m.end);
                // The node, then its ancestors innermost first: one descent
                // (`parent()` descends from the root at every step).
                node.and_then(|n| {
                    std::iter::once(n)
                        .chain(crate::python::parse::ancestors(root, n).into_iter().rev())
                        .find(|n| n.kind_fast() == "function_definition")
                })
                .map_or(m, |f| f.byte_range())
            })
            .collect();
        ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }

    /// The query runs once per file and transform; each capture name is then
    /// a filter over the cached (capture index, node) pairs.
    pub fn captures(&self, spec: &Spec, name: &str) -> Vec<Node<'a>> {
        // The combined query of the embedded specs (one compilation), keeping
        // the matches of this spec's patterns; else the spec's own query.
        let (query, patterns) = match queries::QuerySet::get().and_then(|set| Some((set, set.patterns(spec)?))) {
            Some((set, patterns)) => (&set.query, patterns),
            None => (spec.query(), 0..usize::MAX),
        };
        // The spec load checked that the query defines every capture the
        // transform declares (`Entry::captures`): asking for another is a bug.
        assert!(spec.captures.contains(&name), "{}: capture `@{name}` is not in the transform's CAPTURES", spec.id);
        let idx = query
            .capture_index_for_name(name)
            .unwrap_or_else(|| panic!("{}: the query does not define `@{name}`", spec.id));
        let mut cache = self.query_cache.borrow_mut();
        let key = spec as *const Spec as usize;
        let all = match cache.iter().position(|(k, _)| *k == key) {
            Some(i) => &cache[i].1,
            None => {
                let mut cursor = QueryCursor::new();
                let mut pairs = Vec::new();
                // The hints say where candidates can be (checked in the
                // reference mode and debug builds: `Hints::check_site`).
                let focus =
                    if self.focus { spec.hints.focus(self.src.as_bytes(), self.no_unfocus) } else { Focus::Everywhere };
                let ranges: Vec<std::ops::Range<usize>> = match focus {
                    Focus::Functions(re) => self.focus_ranges(re),
                    Focus::Matches(re) => self.find_parsed(re),
                    Focus::Everywhere => std::iter::once(0..self.src.len()).collect(),
                };
                for range in ranges {
                    cursor.set_byte_range(range);
                    let mut matches = cursor.matches(query, self.tree.root_node(), self.src.as_bytes());
                    while let Some(m) = matches.next() {
                        if patterns.contains(&m.pattern_index) {
                            pairs.extend(m.captures().iter().map(|c| (c.index, c.node)));
                        }
                    }
                }
                cache.push((key, pairs));
                &cache.last().expect("just pushed").1
            }
        };
        let mut out: Vec<Node<'a>> = all.iter().filter(|(i, _)| *i == idx).map(|(_, n)| *n).collect();
        out.sort_by_key(|n| n.start_byte());
        out.dedup_by_key(|n| n.id());
        out
    }
}

/// `'` if the file writes more single-quoted than double-quoted strings.
fn preferred_quote(src: &str) -> char {
    let single = memchr::memchr_iter(b'\'', src.as_bytes()).count();
    let double = memchr::memchr_iter(b'"', src.as_bytes()).count();
    if single > double { '\'' } else { '"' }
}
