//! Name bindings of a scope and import resolution.
//!
//! [`Scope::collect`] lists what a module or function binds and how: an
//! import binds a name to a dotted module path; anything else (assignment,
//! `def`, parameter, `for` target, `except ... as`) binds it locally.
//! [`Resolver::resolve`] turns an expression such as `_time.sleep`, `nap` or
//! `greenthread.sleep` into the canonical dotted path it refers to
//! (`time.sleep`, `eventlet.greenthread.sleep`), or `None` when a local
//! binding makes the answer unknowable. Unbound names resolve to
//! `builtins.<name>`. tame never guesses: an ambiguous name resolves to `None`.

use crate::python::parse::KindFast;
use std::cell::RefCell;
use std::collections::HashMap;

use tree_sitter::Node;

use crate::python::parse::{text, walk};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// `import a.b as x` binds `x` to `a.b`; `import a.b` binds `a` to `a`.
    Import(String),
    /// Anything that is not an import.
    Local,
    /// `global x` inside a function: look `x` up in the module.
    Global,
}

/// The names one scope binds.
#[derive(Debug, Default)]
pub struct Scope {
    names: HashMap<String, Vec<Binding>>,
}

impl Scope {
    /// Bindings made directly in `node` (a `module` or a `function_definition`),
    /// not in nested functions, classes, lambdas or comprehensions.
    pub fn collect(node: Node<'_>, src: &str) -> Scope {
        Scope::collect_around(node, src, &[])
    }

    /// [`Scope::collect`] over a partial parse that unparsed `unparsed` (see
    /// [`crate::python::parse::parsed_segments`]).
    pub fn collect_around(node: Node<'_>, src: &str, unparsed: &[std::ops::Range<usize>]) -> Scope {
        let mut scope = Scope::default();
        let body = if node.kind_fast() == "function_definition" {
            if let Some(params) = node.child_by_field_name("parameters") {
                scope.parameters(params, src);
            }
            match node.child_by_field_name("body") {
                Some(b) => b,
                None => return scope,
            }
        } else {
            node
        };
        // Without `:=` an expression binds nothing: its subtree (often most
        // of the nodes, in calls, literals and strings) need not be walked.
        let bytes = &src.as_bytes()[..body.end_byte()];
        let walrus = crate::python::parse::parsed_segments(bytes.len(), unparsed)
            .filter_map(|r| (r.end > body.start_byte()).then(|| r.start.max(body.start_byte())..r.end))
            .any(|r| memchr::memmem::find(&bytes[r], b":=").is_some());
        walk(
            body,
            |n| {
                let kind = n.kind_fast();
                // `visit` reads an import's names from the statement itself.
                n.id() == body.id()
                    || !(super::is_scope(kind)
                        || is_comprehension(kind)
                        || matches!(kind, "import_statement" | "import_from_statement")
                        || (!walrus && binds_nothing(kind)))
            },
            |n| scope.visit(n, src),
        );
        scope
    }

    fn bind(&mut self, name: &str, b: Binding) {
        self.names.entry(name.to_owned()).or_default().push(b);
    }

    /// Binds the names in an assignment, `for`, `except ... as` or `as`
    /// pattern target. `a.b = 1` and `a[0] = 1` bind nothing: the walk never
    /// enters an attribute or subscript, so every identifier it visits is a
    /// bound name (no `parent()` check, which costs a descent from the root).
    fn bind_targets(&mut self, target: Node<'_>, src: &str) {
        walk(
            target,
            |n| !matches!(n.kind_fast(), "attribute" | "subscript"),
            |n| {
                if n.kind_fast() == "identifier" {
                    self.bind(text(n, src), Binding::Local);
                }
            },
        );
    }

    fn parameters(&mut self, params: Node<'_>, src: &str) {
        let mut cursor = params.walk();
        for p in params.named_children(&mut cursor) {
            let name = match p.kind_fast() {
                "identifier" => Some(p),
                "default_parameter" | "typed_default_parameter" => p.child_by_field_name("name"),
                _ => p
                    .named_child(0)
                    .filter(|c| c.kind_fast() == "identifier")
                    .or_else(|| p.named_child(0).and_then(|c| c.named_child(0))),
            };
            if let Some(n) = name.filter(|n| n.kind_fast() == "identifier") {
                self.bind(text(n, src), Binding::Local);
            }
        }
    }

    fn visit(&mut self, n: Node<'_>, src: &str) {
        match n.kind_fast() {
            "import_statement" => {
                let mut c = n.walk();
                for name in n.children_by_field_name("name", &mut c) {
                    match name.kind_fast() {
                        "dotted_name" => {
                            let full = text(name, src);
                            let first = full.split('.').next().unwrap_or(full).trim();
                            self.bind(first, Binding::Import(first.to_owned()));
                        }
                        "aliased_import" => {
                            if let (Some(path), Some(alias)) =
                                (name.child_by_field_name("name"), name.child_by_field_name("alias"))
                            {
                                self.bind(text(alias, src), Binding::Import(dotted(path, src)));
                            }
                        }
                        _ => {}
                    }
                }
            }
            "import_from_statement" => {
                let module = n.child_by_field_name("module_name").map(|m| dotted(m, src)).unwrap_or_default();
                let mut c = n.walk();
                for name in n.children_by_field_name("name", &mut c) {
                    let (path, alias) = match name.kind_fast() {
                        "aliased_import" => (name.child_by_field_name("name"), name.child_by_field_name("alias")),
                        _ => (Some(name), Some(name)),
                    };
                    if let (Some(path), Some(alias)) = (path, alias) {
                        self.bind(text(alias, src), Binding::Import(format!("{module}.{}", dotted(path, src))));
                    }
                }
            }
            "function_definition" | "class_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.bind(text(name, src), Binding::Local);
                }
            }
            "assignment" | "augmented_assignment" | "for_statement" => {
                if let Some(left) = n.child_by_field_name("left") {
                    self.bind_targets(left, src);
                }
            }
            "named_expression" => {
                if let Some(name) = n.child_by_field_name("name") {
                    self.bind(text(name, src), Binding::Local);
                }
            }
            "as_pattern_target" => self.bind_targets(n, src),
            "except_clause" => {
                if let Some(alias) = n.child_by_field_name("alias") {
                    self.bind_targets(alias, src);
                }
            }
            "global_statement" | "nonlocal_statement" => {
                let mut c = n.walk();
                for id in n.named_children(&mut c) {
                    self.bind(text(id, src), Binding::Global);
                }
            }
            _ => {}
        }
    }

    /// How `name` is bound here: `Some(Ok(path))` for an unambiguous import,
    /// `Some(Err(()))` for a local or ambiguous binding, `None` if unbound.
    pub fn lookup(&self, name: &str) -> Option<Result<&str, ()>> {
        let bindings = self.names.get(name)?;
        if bindings.iter().all(|b| *b == Binding::Global) {
            return None;
        }
        let mut target: Option<&str> = None;
        for b in bindings {
            match b {
                Binding::Import(path) if target.is_none_or(|t| t == path) => target = Some(path),
                Binding::Global => {}
                _ => return Some(Err(())),
            }
        }
        target.map(Ok)
    }

    pub fn binds(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The names bound to the module `path` by a plain import (`import time`,
    /// `import time as _time`), sorted for determinism.
    pub fn module_aliases(&self, path: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .names
            .iter()
            .filter(|(name, _)| self.lookup(name) == Some(Ok(path)))
            .map(|(name, _)| name.as_str())
            .collect();
        out.sort_unstable();
        out
    }

    /// Every (name, target) an import binds here, in no particular order.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().flat_map(|(name, bindings)| {
            bindings.iter().filter_map(move |b| match b {
                Binding::Import(target) => Some((name.as_str(), target.as_str())),
                _ => None,
            })
        })
    }
}

/// Expressions that hold no binding but a walrus (`:=`): no statement, `as`
/// target or `for` target can be inside them.
fn binds_nothing(kind: &str) -> bool {
    matches!(
        kind,
        "call"
            | "argument_list"
            | "string"
            | "concatenated_string"
            | "dictionary"
            | "list"
            | "set"
            | "binary_operator"
            | "boolean_operator"
            | "comparison_operator"
            | "attribute"
            | "subscript"
            | "conditional_expression"
            | "unary_operator"
            | "not_operator"
            | "await"
            | "keyword_argument"
            | "pair"
    )
}

fn is_comprehension(kind: &str) -> bool {
    matches!(kind, "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression")
}

fn dotted(node: Node<'_>, src: &str) -> String {
    text(node, src).split('.').map(str::trim).collect::<Vec<_>>().join(".")
}

/// Resolves names as seen from a point in a module, caching function scopes.
pub struct Resolver<'t, 's> {
    src: &'s str,
    module: Scope,
    functions: RefCell<HashMap<usize, Scope>>,
    root: Node<'t>,
    imports: std::cell::OnceCell<Vec<(String, String)>>,
    /// The (name, target) pairs of top-level imports left out of a partial parse.
    left_out: Vec<(String, String)>,
    /// The ranges a partial parse unparsed (blanks).
    unparsed: Vec<std::ops::Range<usize>>,
}

impl<'t, 's> Resolver<'t, 's> {
    pub fn new(root: Node<'t>, src: &'s str) -> Self {
        Resolver::with_module_names(root, src, std::iter::empty())
    }

    /// A resolver whose module scope also binds `names` locally: the
    /// top-level blocks a partial parse dropped (see `crate::partial`).
    pub fn with_module_names<'n>(root: Node<'t>, src: &'s str, names: impl IntoIterator<Item = &'n str>) -> Self {
        Resolver::with_module_bindings(root, src, names, &[], &[])
    }

    /// A resolver for a partial parse: `names` are bound by blocks left out
    /// of the parse, and `imports` (name, target) by top-level imports left
    /// out of it (see `blocks::simple`).
    pub fn with_module_bindings<'n>(
        root: Node<'t>,
        src: &'s str,
        names: impl IntoIterator<Item = &'n str>,
        imports: &[(String, String)],
        unparsed: &[std::ops::Range<usize>],
    ) -> Self {
        let mut module = Scope::collect_around(root, src, unparsed);
        for name in names {
            module.bind(name, Binding::Local);
        }
        for (name, target) in imports {
            module.bind(name, Binding::Import(target.clone()));
        }
        Resolver {
            src,
            module,
            functions: RefCell::default(),
            root,
            imports: std::cell::OnceCell::new(),
            left_out: imports.to_vec(),
            unparsed: unparsed.to_vec(),
        }
    }

    pub fn module(&self) -> &Scope {
        &self.module
    }

    /// The binding of `name` seen from `at`: `Some(path)` for an import or
    /// `builtins.<name>` when unbound; `None` when locally bound or ambiguous.
    pub fn resolve_name(&self, name: &str, at: Node<'_>) -> Option<String> {
        // Innermost scope first; `ancestors` descends once instead of paying
        // a root-to-node search per `parent()` (quadratic on deep nesting).
        for n in crate::python::parse::ancestors(self.root, at).into_iter().rev() {
            if n.kind_fast() == "function_definition" {
                let mut cache = self.functions.borrow_mut();
                let scope = cache.entry(n.id()).or_insert_with(|| Scope::collect(n, self.src));
                match scope.lookup(name) {
                    Some(Ok(path)) => return Some(path.to_owned()),
                    Some(Err(())) => return None,
                    None => {}
                }
            }
        }
        match self.module.lookup(name) {
            Some(Ok(path)) => Some(path.to_owned()),
            Some(Err(())) => None,
            None => Some(format!("builtins.{name}")),
        }
    }

    /// Whether the file binds `name` by an import anywhere (module or function
    /// scope): a quick filter before [`Resolver::resolve`]. Computed once.
    pub fn imports_anywhere(&self, name: &str) -> bool {
        self.imports().iter().any(|(n, _)| n == name)
    }

    /// Names some import in the file binds to `sys.exit` (`from sys import
    /// exit as die`), sorted.
    pub fn exit_aliases(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.imports().iter().filter(|(_, target)| target == "sys.exit").map(|(name, _)| name.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every (name, target) an import statement anywhere in the file binds.
    /// Found from the spellings of `import`, not by walking every node.
    fn imports(&self) -> &[(String, String)] {
        self.imports.get_or_init(|| {
            let mut out = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let bytes = self.src.as_bytes();
            let spelled = crate::python::parse::parsed_segments(bytes.len(), &self.unparsed)
                .flat_map(|r| memchr::memmem::find_iter(&bytes[r.clone()], b"import").map(move |p| r.start + p));
            for pos in spelled {
                let Some(mut n) = self.root.descendant_for_byte_range(pos, pos + 6) else { continue };
                while !matches!(n.kind_fast(), "import_statement" | "import_from_statement" | "module") {
                    match n.parent() {
                        Some(p) => n = p,
                        None => break,
                    }
                }
                if n.kind_fast() != "module" && seen.insert(n.id()) {
                    let mut one = Scope::default();
                    one.visit(n, self.src);
                    out.extend(one.imports().map(|(name, target)| (name.to_owned(), target.to_owned())));
                }
            }
            // The imports left out of the parse are in the file too.
            out.extend(self.left_out.iter().cloned());
            out
        })
    }

    /// Whether `name` is bound anywhere between `at` and the module (inclusive).
    pub fn is_bound(&self, name: &str, at: Node<'_>) -> bool {
        self.resolve_name(name, at).is_none_or(|p| !p.starts_with("builtins."))
    }

    /// The canonical dotted path of an identifier or attribute chain.
    pub fn resolve(&self, expr: Node<'_>) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = expr;
        loop {
            match cur.kind_fast() {
                "attribute" => {
                    parts.push(text(cur.child_by_field_name("attribute")?, self.src));
                    cur = cur.child_by_field_name("object")?;
                }
                "identifier" => break,
                _ => return None,
            }
        }
        let mut path = self.resolve_name(text(cur, self.src), cur)?;
        for p in parts.iter().rev() {
            path.push('.');
            path.push_str(p);
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_calls(src: &str) -> Vec<Option<String>> {
        let tree = crate::python::parse::parse(src).unwrap();
        let r = Resolver::new(tree.root_node(), src);
        let mut out = Vec::new();
        walk(
            tree.root_node(),
            |_| true,
            |n| {
                if n.kind_fast() == "call" {
                    out.push(r.resolve(n.child_by_field_name("function").unwrap()));
                }
            },
        );
        out
    }

    #[test]
    fn resolves_aliases() {
        let src = "import time as _time\nfrom time import sleep as nap\nfrom eventlet import greenthread\nimport eventlet.greenthread\n\
                   _time.sleep(1)\nnap(1)\ngreenthread.sleep(1)\neventlet.greenthread.sleep(1)\nexit(1)\n";
        let got = resolve_calls(src);
        let want =
            ["time.sleep", "time.sleep", "eventlet.greenthread.sleep", "eventlet.greenthread.sleep", "builtins.exit"];
        assert_eq!(got, want.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn local_bindings_shadow() {
        let src = "from time import sleep\ndef f(sleep):\n    sleep(1)\ndef g():\n    sleep(1)\n\
                   def h():\n    def sleep(x):\n        pass\n    sleep(1)\n";
        assert_eq!(resolve_calls(src), [None, Some("time.sleep".into()), None]);
    }

    #[test]
    fn bindings_inside_expressions_and_blocks() {
        // A walrus deep in a call binds; so do targets under `if`/`with`/`try`.
        let src = "from time import sleep\nprint(len([1]), (sleep := 2))\nsleep(1)\n";
        assert_eq!(resolve_calls(src)[2], None);
        let src = "from time import sleep, time\nif x:\n    with f(g(1)) as sleep:\n        pass\ntry:\n    pass\nexcept E as time:\n    pass\nsleep(1)\ntime()\n";
        assert_eq!(resolve_calls(src)[2..], [None, None]);
    }

    #[test]
    fn module_level_redefinition_is_ambiguous() {
        let src = "from time import sleep\ndef sleep(x):\n    pass\nsleep(1)\n";
        assert_eq!(resolve_calls(src), [None]);
    }
}
